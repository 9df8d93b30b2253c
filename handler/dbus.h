/* The D-Bus face of tcmu-rdpd: the org.kernel.TCMUService1 service through which targetcli
 * lists the "user:rdp" backstore (ConfigDesc) and checks a cfgstring before it creates a device
 * (CheckConfig). Owned directly; or, when tcmu-runner already owns the name, registered with it
 * through HandlerManager1.RegisterHandler so that it forwards CheckConfig for "rdp" to us. */
#pragma once

#include <stdbool.h>
#include <gio/gio.h>

#define RDP_DBUS_NAME "org.kernel.TCMUService1"
#define RDP_DBUS_ROOT "/org/kernel/TCMUService1"
#define RDP_DBUS_IFACE "org.kernel.TCMUService1"
/* tcmu-runner's registration interface, and the name/path a registered handler serves on. */
#define RDP_DBUS_HM_PATH RDP_DBUS_ROOT "/HandlerManager1"
#define RDP_DBUS_HM_IFACE "org.kernel.TCMUService1.HandlerManager1"
#define RDP_DBUS_HM_HANDLER_NAME "org.kernel.TCMUService1.HandlerManager1.rdp"
#define RDP_DBUS_HM_HANDLER_PATH RDP_DBUS_HM_PATH "/rdp"
#define RDP_DBUS_HANDLER_PATH RDP_DBUS_ROOT "/rdp"

enum rdp_dbus_state {
	RDP_DBUS_STARTING,    /* asking the bus for org.kernel.TCMUService1 */
	RDP_DBUS_OWNER,	      /* we own it; targetcli talks to us */
	RDP_DBUS_REGISTERING, /* another process owns it; registering with its HandlerManager1 */
	RDP_DBUS_REGISTERED,  /* tcmu-runner forwards CheckConfig for "rdp" to us */
	RDP_DBUS_FAILED,      /* neither: targetcli will not offer user:rdp (reason says why) */
};

struct rdp_dbus_ops {
	/* Is cfgstring (without the "rdp/" prefix) a LUN we can serve? On FALSE, set *reason to a
	 * g_malloc'd sentence for the user (targetcli prints "cfgstring invalid: <reason>"); it is
	 * g_free'd here. Runs in the main loop: it must not block (no SCSI I/O). */
	gboolean (*check)(void *ud, const char *cfgstring, char **reason);
	/* Optional: every state change, with a human-readable reason. */
	void (*state_changed)(void *ud, enum rdp_dbus_state state, const char *reason);
	/* Optional: ConfigDesc text; NULL gives the default (wwid= or a config file section). */
	const char *config_desc;
};

/* Start serving on conn (the system bus in production). Name acquisition is asynchronous: the
 * state starts at STARTING and moves on from the thread-default GMainContext. If tcmu-runner
 * owns the name, devices must be created with control=nl_reply_supported=-1 (it answers
 * netlink events for every subtype; see netlink.h). If the owner goes away later, we take the
 * name over. NULL with err set only on a programming error. */
struct rdp_dbus *rdp_dbus_start(GDBusConnection *conn, const struct rdp_dbus_ops *ops, void *ud,
				GError **err);
/* Release the names and unexport everything. NULL is fine. GLib may still hold small
 * bookkeeping for the released names until the main context is iterated again. */
void rdp_dbus_stop(struct rdp_dbus *db);
enum rdp_dbus_state rdp_dbus_get_state(const struct rdp_dbus *db);
/* Why the current state was entered; valid until the next state change. */
const char *rdp_dbus_get_reason(const struct rdp_dbus *db);
const char *rdp_dbus_state_name(enum rdp_dbus_state s);

/* Room for later: a daemon-specific management interface (e.g. org.tcmu_rdp.Manager1 for
 * rdpctl: paths, states, statistics) would be a second interface exported on its own object
 * with the same generic skeleton used in dbus.c; nothing here depends on it yet. */
