/* One TCMU device served by the daemon: its uio file and command ring on one side, its librdp
 * LUN on the other. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct rdp_config;
struct rdp_dev;

/* The LUNs served now (struct rdp_lun *, borrowed; the caller unrefs the array). */
typedef GPtrArray *(*rdp_dev_luns_fn)(void *ud);
/* The end of an attach, on the loop: dev serving, or NULL and why (err, borrowed). */
typedef void (*rdp_dev_ready_fn)(struct rdp_dev *dev, const GError *err, void *ud);
struct rdp_dev_attach;

/* Attach to the TCMU device whose uio name is uio_name (tcm-user/<hba>/<name>/rdp/<cfg>) at
 * /dev/uio<minor>: resolve the cfgstring and refuse it when one of its devices is a path of a
 * LUN served already (luns(ud)), here; then, in a worker thread, open and probe the backing
 * paths; then, back on the loop, check again that no other LUN took a device meanwhile, check
 * the backstore size, map the ring and start serving it, and call ready. NULL (and err) when
 * it is refused before the probes; ready is not called then. adopting: the device was live
 * before this daemon started (found at start, not announced by the kernel), so it keeps the
 * target port it was served as, when recorded; a new one is served as configured. */
struct rdp_dev_attach *rdp_dev_open_async(const char *uio_name, uint32_t minor, bool adopting,
					  const struct rdp_config *cfg, rdp_dev_luns_fn luns,
					  rdp_dev_ready_fn ready, void *ud, GError **err);
/* The device went away while it was being attached: ready gets NULL and an error. */
void rdp_dev_attach_cancel(struct rdp_dev_attach *a);
/* How long the attach may take at the most when nothing but its probes hold it up: one probe
 * timeout per path (a hung path gets no second probe) and two to spare, in seconds. */
unsigned int rdp_dev_attach_bound_s(const struct rdp_dev_attach *a);
/* Stop taking commands; the device is freed once its commands in flight have come back. */
void rdp_dev_remove(struct rdp_dev *dev);
/* Apply a reloaded configuration to the live LUN (see rdp_lun_reconfigure); report gets what
 * changed. Devices that are paths of the other LUNs (struct rdp_lun *) are left to them, with a
 * line in report. False with err when it was refused and the old settings stay. */
bool rdp_dev_reload(struct rdp_dev *dev, const struct rdp_config *cfg, GPtrArray *others,
		    GString *report, GError **err);
/* An sg device appeared: it becomes a path when the device's cfgstring resolves to it (a
 * wwid= LUN whose WWID it has, or a section that names it), after its identity check. */
void rdp_dev_hotplug_add(struct rdp_dev *dev, const struct rdp_config *cfg, const char *devnode);
/* An sg device went away: if it is one of our paths, it fails now and is removed. */
void rdp_dev_hotplug_remove(struct rdp_dev *dev, const char *devnode);
/* A size change from the kernel (RECONFIG_DEVICE). */
int rdp_dev_resize(struct rdp_dev *dev, uint64_t dev_size, GError **err);
uint32_t rdp_dev_minor(const struct rdp_dev *dev);
const char *rdp_dev_name(const struct rdp_dev *dev);
struct rdp_lun *rdp_dev_lun(const struct rdp_dev *dev);
/* One readable line per LUN and per path: counters for the log and the demo. */
void rdp_dev_log_summary(const struct rdp_dev *dev);
/* Stopping: read no more commands from the ring (what is in flight goes on). */
void rdp_dev_stop_intake(struct rdp_dev *dev);
/* Ring commands read and not yet completed. */
unsigned int rdp_dev_inflight(const struct rdp_dev *dev);
/* After rdp_dev_stop_intake() and once nothing is in flight: kick the kernel and leave the
 * marker that lets the next daemon take the ring without a reset. false when it cannot. */
bool rdp_dev_save_resume(struct rdp_dev *dev);
