/* org.tcmu_rdp.Manager1: the management interface rdpctl talks to. Lists every LUN with its
 * paths, groups and counters as JSON, and lets root fail/reinstate a path, switch a LUN's path
 * group and reload the configuration. Shares the daemon's system-bus connection. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <gio/gio.h>

#include "manager-iface.h"

struct rdp_manager;

struct rdp_manager_ops {
	/* Every LUN the daemon serves now: a new array (the manager unrefs it) of borrowed
	 * struct rdp_lun pointers, valid until the main loop runs again. Required. */
	GPtrArray *(*luns)(void *ud);
	/* Re-read the configuration. On success *message may be set to a g_malloc'd sentence
	 * for the admin; on failure set err. NULL: Reload answers NotSupported. */
	gboolean (*reload)(void *ud, char **message, GError **err);
	/* May the caller with this uid use the changing methods (FailPath, ReinstatePath,
	 * SwitchGroup, Reload)? NULL: only uid 0. Tests use it to play a non-root caller. */
	gboolean (*caller_allowed)(void *ud, uid_t uid);
};

/* Export the interface on conn and request the name org.tcmu_rdp (queued behind another
 * owner, e.g. a second tcmu-rdpd, and taken when it leaves). Never blocks: the caller's uid
 * is asked from the bus asynchronously. NULL with err set only on a programming error. */
struct rdp_manager *rdp_manager_start(GDBusConnection *conn, const struct rdp_manager_ops *ops,
				      void *ud, GError **err);
/* Release the name and unexport. Calls still waiting for the caller's uid are answered with
 * an error. NULL is fine. */
void rdp_manager_stop(struct rdp_manager *m);
/* Whether org.tcmu_rdp is ours now (rdpctl can reach us). */
bool rdp_manager_owns_name(const struct rdp_manager *m);
