/* tcmu-rdpd: start-up and wiring only. Reads the configuration, owns the D-Bus name targetcli
 * asks for, listens for TCMU device events, adopts rdp devices that already exist, and runs
 * the GLib main loop until SIGTERM/SIGINT. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "dbus.h"
#include "device.h"
#include "hotplug.h"
#include "manager.h"
#include "netlink.h"
#include <librdp/rdp.h>
#include "tcmu-name.h"

struct daemon {
	GMainLoop *loop;
	char *config_file;
	bool config_missing_ok;
	struct rdp_config *cfg;
	GHashTable *devs; /* minor -> struct rdp_dev */
	GHashTable *attaching; /* minor -> struct attach: paths being probed */
	struct rdp_nl *nl;
	struct rdp_dbus *dbus;
	struct rdp_manager *manager;
	struct rdp_hotplug *hotplug;
	GDBusConnection *bus;
	bool stopping;
	gint64 stop_by_us; /* the drain's bound */
};

static GLogLevelFlags max_level = G_LOG_LEVEL_MESSAGE;

static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				   gpointer data)
{
	if ((level & G_LOG_LEVEL_MASK) > max_level)
		return G_LOG_WRITER_HANDLED;
	/* under systemd this lands in the journal with our fields; else on stderr */
	if (g_log_writer_is_journald(fileno(stderr)))
		return g_log_writer_journald(level, fields, n, data);
	GLogWriterOutput r = G_LOG_WRITER_UNHANDLED;
	g_autofree char *line = g_log_writer_format_fields(level, fields, n, FALSE);
	if (line) {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
		r = G_LOG_WRITER_HANDLED;
	}
	return r;
}

static bool parse_level(const char *s)
{
	static const struct {
		const char *name;
		GLogLevelFlags level;
	} levels[] = {
		{"error", G_LOG_LEVEL_CRITICAL}, {"warning", G_LOG_LEVEL_WARNING},
		{"info", G_LOG_LEVEL_MESSAGE},	 {"debug", G_LOG_LEVEL_DEBUG},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++)
		if (!strcmp(s, levels[i].name)) {
			max_level = levels[i].level;
			return true;
		}
	return false;
}

/* ---- device events ---- */

/* The LUNs served now, except the one of dev (NULL: all), as borrowed struct rdp_lun *. */
static GPtrArray *luns_except(struct daemon *d, const struct rdp_dev *dev)
{
	GPtrArray *a = g_ptr_array_new();
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, d->devs);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (v != dev)
			g_ptr_array_add(a, rdp_dev_lun(v));
	return a;
}

/* A device being attached: its paths are probed off the loop (rdp_dev_open_async). */
struct attach {
	struct daemon *d;
	uint32_t minor;
	char *uio_name;
	struct rdp_dev_attach *a;
	struct rdp_nl_later *later; /* the kernel's ADDED_DEVICE, answered at the end; or none */
	guint overdue_source;	    /* the bound on that answer */
	unsigned int bound_s;	    /* its length */
	bool given_up;		    /* answered with an error before the probes were done */
};

/* --attach-timeout: the kernel's enable waits for our answer to ADDED_DEVICE, and nothing
 * bounds that wait but us. 0: the attach's own bound (rdp_dev_attach_bound_s). */
static unsigned int attach_timeout_s;

static GPtrArray *attach_luns(void *ud)
{
	return luns_except(((struct attach *)ud)->d, NULL);
}

static void attach_ready(struct rdp_dev *dev, const GError *err, void *ud)
{
	struct attach *at = ud;
	struct daemon *d = at->d;

	g_hash_table_remove(d->attaching, GUINT_TO_POINTER(at->minor));
	if (at->overdue_source)
		g_source_remove(at->overdue_source);
	if (dev)
		g_hash_table_insert(d->devs, GUINT_TO_POINTER(at->minor), dev);
	else if (at->given_up)
		g_message("%s: the probes of the attach given up are done: %s", at->uio_name,
			  err->message);
	else
		g_warning("refusing %s: %s", at->uio_name, err->message);
	if (at->later)
		rdp_nl_answer(d->nl, at->later, dev ? 0 : -EINVAL);
	g_free(at->uio_name);
	g_free(at);
}

/* The attach has outlasted its bound while the kernel's enable waits. The worker may be stuck
 * for good (an open() under the backstore's configfs directory waits for its removal, which
 * waits for this enable), so the kernel is answered now, with an error, and whatever the probes
 * bring back is dropped (the LUN they opened is closed). */
static gboolean attach_overdue(gpointer data)
{
	struct attach *at = data;

	at->overdue_source = 0;
	g_warning("refusing %s: its paths have been probed for %u s (paths that hang, or a "
		  "deletion of the backstore under way); the kernel's enable is answered with "
		  "ETIMEDOUT and the probes' result will be dropped",
		  at->uio_name, at->bound_s);
	at->given_up = true;
	rdp_dev_attach_cancel(at->a);
	if (at->later) {
		rdp_nl_answer(at->d->nl, at->later, -ETIMEDOUT);
		at->later = NULL;
	}
	return G_SOURCE_REMOVE;
}

/* Starts attaching. RDP_NL_LATER when the kernel's event is answered at the end (answer_later),
 * 0 when under way otherwise or nothing to do, -errno when refused at once. */
static int attach_start(struct daemon *d, const char *uio_name, uint32_t minor, bool answer_later)
{
	g_autoptr(GError) err = NULL;

	if (d->stopping) {
		/* it would hold the drain up; the next daemon adopts it */
		g_message("stopping: %s (uio%u) left to the next start", uio_name, minor);
		return 0;
	}
	struct attach *busy = g_hash_table_lookup(d->attaching, GUINT_TO_POINTER(minor));
	if (busy && busy->given_up) {
		/* the device number is back while the earlier attach's probes still run */
		g_warning("refusing %s (uio%u): the probes of an earlier attach of uio%u, given up, "
			  "are not back yet; enable it again later",
			  uio_name, minor, minor);
		return -EBUSY;
	}
	if (busy || g_hash_table_contains(d->devs, GUINT_TO_POINTER(minor))) {
		g_message("uio%u (%s) is already served", minor, uio_name);
		return 0;
	}
	struct attach *at = g_new0(struct attach, 1);
	at->d = d;
	at->minor = minor;
	at->uio_name = g_strdup(uio_name);
	/* the kernel announces a new device (answered later); the start's scan finds live ones */
	bool adopting = !answer_later;
	at->a = rdp_dev_open_async(uio_name, minor, adopting, d->cfg, attach_luns, attach_ready, at,
				   &err);
	if (!at->a) {
		g_warning("refusing %s: %s", uio_name, err->message);
		g_free(at->uio_name);
		g_free(at);
		return -EINVAL;
	}
	g_hash_table_insert(d->attaching, GUINT_TO_POINTER(minor), at);
	if (answer_later)
		at->later = rdp_nl_later(d->nl);
	if (at->later) {
		at->bound_s = attach_timeout_s ? attach_timeout_s : rdp_dev_attach_bound_s(at->a);
		at->overdue_source = g_timeout_add_seconds(at->bound_s, attach_overdue, at);
	}
	return at->later ? RDP_NL_LATER : 0;
}

static int dev_added(void *ud, const char *uio_name, uint32_t minor, uint32_t dev_id)
{
	return attach_start(ud, uio_name, minor, true);
}

static int dev_removed(void *ud, const char *uio_name, uint32_t minor, uint32_t dev_id)
{
	struct daemon *d = ud;
	struct rdp_dev *dev = g_hash_table_lookup(d->devs, GUINT_TO_POINTER(minor));
	struct attach *at = g_hash_table_lookup(d->attaching, GUINT_TO_POINTER(minor));

	if (at) {
		g_message("%s: removed by the kernel while its paths are probed", uio_name);
		rdp_dev_attach_cancel(at->a);
		return 0;
	}
	if (!dev)
		return 0; /* refused at ADDED: nothing to release */
	g_hash_table_remove(d->devs, GUINT_TO_POINTER(minor));
	g_message("lun %s: removed by the kernel (%s)", rdp_dev_name(dev), uio_name);
	rdp_dev_remove(dev);
	return 0;
}

static int dev_reconfig(void *ud, const char *uio_name, uint32_t minor, uint32_t dev_id,
			const struct rdp_nl_reconfig *rc)
{
	struct daemon *d = ud;
	struct rdp_dev *dev = g_hash_table_lookup(d->devs, GUINT_TO_POINTER(minor));
	g_autoptr(GError) err = NULL;

	if (!dev)
		return -ENODEV;
	if (rc->has_dev_cfg) {
		g_warning("lun %s: changing the cfgstring of a live device is not supported; "
			  "remove and re-create the backstore",
			  rdp_dev_name(dev));
		return -EOPNOTSUPP;
	}
	if (rc->has_dev_size && rdp_dev_resize(dev, rc->dev_size, &err) < 0) {
		g_warning("lun %s: resize refused: %s", rdp_dev_name(dev), err->message);
		return -EINVAL;
	}
	if (rc->has_writecache) {
		g_warning("lun %s: write cache is the backing LUN's; not changed", rdp_dev_name(dev));
		return -EOPNOTSUPP;
	}
	return 0;
}

static const struct rdp_nl_ops nl_ops = {
	.added = dev_added,
	.removed = dev_removed,
	.reconfig = dev_reconfig,
};

/* A daemon started after the backstore, or restarted, serves what already exists. */
static void adopt_existing(struct daemon *d)
{
	g_autoptr(GDir) dir = g_dir_open("/sys/class/uio", 0, NULL);
	const char *ent;

	if (!dir)
		return;
	while ((ent = g_dir_read_name(dir))) {
		guint64 minor;
		if (!g_str_has_prefix(ent, "uio") ||
		    !g_ascii_string_to_unsigned(ent + 3, 10, 0, UINT32_MAX, &minor, NULL))
			continue;
		g_autofree char *path = g_strdup_printf("/sys/class/uio/%s/name", ent);
		g_autofree char *name = NULL;
		if (!g_file_get_contents(path, &name, NULL, NULL))
			continue;
		g_strstrip(name);
		if (!rdp_tcmu_name_is_ours(name))
			continue;
		g_message("adopting existing device %s (%s)", ent, name);
		attach_start(d, name, (uint32_t)minor, false);
	}
}

/* sg moves data straight between the device and the TCMU data area only when its module
 * parameter allows it; else every command's data is copied once more. The daemon itself only
 * reports the kernel-wide setting; the systemd unit sets it (docs/operations.md). */
static void log_sg_direct_io(void)
{
	g_autofree char *v = NULL;
	if (!g_file_get_contents("/sys/module/sg/parameters/allow_dio", &v, NULL, NULL))
		return;
	if (g_strstrip(v)[0] == '0')
		g_message("sg direct I/O is off (/sys/module/sg/parameters/allow_dio is 0): each "
			  "command's data is copied once more in the kernel; 'options sg allow_dio=1' "
			  "turns it on");
	else
		g_message("sg direct I/O is on");
}

/* ---- D-Bus: CheckConfig answers from the configuration and sysfs, so targetcli shows why a
 * create fails. It sends no SCSI command: any bus user may call it, and a probe of a hung
 * device would stop every LUN's I/O on this loop. The enable that follows probes the paths. */

static gboolean check_config(void *ud, const char *cfgstring, char **reason)
{
	struct daemon *d = ud;
	g_autoptr(GError) err = NULL;
	g_autofree char *wwid = NULL;

	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_resolve(d->cfg, cfgstring, &err);
	g_autoptr(GPtrArray) luns = luns_except(d, NULL);
	if (!spec || !rdp_lun_spec_check_unused(spec, luns, &err) ||
	    !rdp_lun_spec_check_sysfs(spec, &wwid, &err)) {
		*reason = g_strdup(err->message);
		return FALSE;
	}
	if (wwid)
		*reason = g_strdup_printf("WWID %s over %u paths", wwid,
					  g_strv_length(spec->paths));
	else
		*reason = g_strdup_printf("%u paths; sysfs knows no identity for them, it is read "
					  "when the device is enabled",
					  g_strv_length(spec->paths));
	return TRUE;
}

static const struct rdp_dbus_ops dbus_ops = {
	.check = check_config,
};

/* ---- reload (SIGHUP, rdpctl reload) and hotplug ---- */

static gboolean reload(void *ud, char **message, GError **err)
{
	struct daemon *d = ud;
	g_autoptr(rdp_config) cfg = rdp_config_load(d->config_file, d->config_missing_ok, err);
	if (!cfg) {
		g_prefix_error(err, "reload refused, the running configuration stays: ");
		return FALSE;
	}
	g_autoptr(GString) report = g_string_new(NULL);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, d->devs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_autoptr(GError) e = NULL;
		g_autoptr(GPtrArray) others = luns_except(d, v);
		if (!rdp_dev_reload(v, cfg, others, report, &e))
			g_string_append_printf(report, "%s; ", e->message);
	}
	rdp_config_free(d->cfg);
	d->cfg = g_steal_pointer(&cfg);
	if (!report->len)
		g_string_append(report, "no change to the paths");
	g_message("configuration %s reloaded: %s", d->config_file, report->str);
	if (message)
		*message = g_strdup(report->str);
	return TRUE;
}

static gboolean on_hup(gpointer data)
{
	g_autoptr(GError) err = NULL;
	if (!reload(data, NULL, &err))
		g_warning("%s", err->message);
	return G_SOURCE_CONTINUE;
}

/* A path of some LUN on devnode's device, or NULL. */
static struct rdp_path *find_device(struct daemon *d, const char *devnode)
{
	g_autoptr(GPtrArray) luns = luns_except(d, NULL);

	return rdp_luns_find_device(luns, devnode);
}

static void on_hotplug(void *ud, enum rdp_hotplug_action action, const char *devnode)
{
	struct daemon *d = ud;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, d->devs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (action == RDP_HOTPLUG_REMOVE) {
			rdp_dev_hotplug_remove(v, devnode);
			continue;
		}
		/* a device serves one LUN: the first that takes it keeps it */
		if (find_device(d, devnode))
			break;
		rdp_dev_hotplug_add(v, d->cfg, devnode);
	}
}

static GPtrArray *list_luns(void *ud)
{
	return luns_except(ud, NULL);
}

static const struct rdp_manager_ops manager_ops = {
	.luns = list_luns,
	.reload = reload,
};

/* ---- stopping: drain, then leave the rings for the next daemon ---- */

#define DRAIN_POLL_MS 100
#define DRAIN_SLACK_S 5	   /* beyond the longest cmd_time_out: sg's error handling */
#define DRAIN_NO_DEADLINE_S 30 /* with cmd_time_out 0 nothing bounds a command */
#define DRAIN_MAX_S 55	       /* under the unit's TimeoutStopSec (60 s), which kills */

static unsigned int inflight_total(struct daemon *d)
{
	GHashTableIter it;
	gpointer k, v;
	unsigned int n = 0;
	g_hash_table_iter_init(&it, d->devs);
	while (g_hash_table_iter_next(&it, &k, &v))
		n += rdp_dev_inflight(v);
	return n;
}

static gboolean drain_poll(gpointer data)
{
	struct daemon *d = data;
	unsigned int n = inflight_total(d);

	if (n && g_get_monotonic_time() < d->stop_by_us)
		return G_SOURCE_CONTINUE;
	if (n)
		g_warning("stopping with %u command(s) still out after the drain bound: the next "
			  "start resets their rings (the kernel fails them with BUSY)",
			  n);
	g_main_loop_quit(d->loop);
	return G_SOURCE_REMOVE;
}

/* SIGTERM: no new command is read; those in flight finish, each within its deadline (the
 * kernel's cmd_time_out: no drain needs longer), then the daemon exits. A second signal exits
 * at once. */
static gboolean on_signal(gpointer data)
{
	struct daemon *d = data;
	if (d->stopping) {
		g_message("second signal: stopping now, with %u command(s) in flight",
			  inflight_total(d));
		g_main_loop_quit(d->loop);
		return G_SOURCE_REMOVE;
	}
	d->stopping = true;
	unsigned int bound_s = 0;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, d->devs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		unsigned int kt = rdp_lun_kernel_timeout(rdp_dev_lun(v));
		rdp_dev_stop_intake(v);
		bound_s = MAX(bound_s, kt ? kt / 1000 + DRAIN_SLACK_S : DRAIN_NO_DEADLINE_S);
	}
	bound_s = MIN(bound_s, DRAIN_MAX_S);
	d->stop_by_us = g_get_monotonic_time() + (gint64)bound_s * G_USEC_PER_SEC;
	g_message("signal received, stopping: no new commands; waiting up to %u s for %u in flight",
		  bound_s, inflight_total(d));
	g_timeout_add(DRAIN_POLL_MS, drain_poll, d);
	return G_SOURCE_CONTINUE;
}

static gboolean on_usr1(gpointer data)
{
	struct daemon *d = data;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, d->devs);
	while (g_hash_table_iter_next(&it, &k, &v))
		rdp_dev_log_summary(v);
	return G_SOURCE_CONTINUE;
}

/* The data path lives on this one loop: anything that blocks it (a synchronous probe, a slow
 * file system, a system call the kernel never returns from) stalls every LUN. Say so when a
 * tick comes a second or more late; and, from a thread of its own, while it is still blocked:
 * a thread stuck in the kernel never gets to say anything itself (issue 11: a command that
 * oopsed the kernel inside our write() left a silent daemon). */
#define STALL_TICK_MS 250
#define LOOP_STUCK_S 5

static _Atomic gint64 loop_heartbeat_us;
static _Atomic bool loop_watch_stop;

static gboolean on_stall_tick(gpointer data)
{
	gint64 *last = data, now = g_get_monotonic_time();
	gint64 late_ms = (now - *last) / 1000 - STALL_TICK_MS;

	if (late_ms >= 1000)
		g_warning("event loop blocked for %" G_GINT64_FORMAT " ms", late_ms);
	*last = now;
	loop_heartbeat_us = now;
	return G_SOURCE_CONTINUE;
}

/* One line of /proc/self/task/<tid>/<what>, or why not. */
static char *task_file(pid_t tid, const char *what)
{
	g_autofree char *path = g_strdup_printf("/proc/self/task/%d/%s", (int)tid, what);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("unreadable");
	g_strstrip(text);
	return g_strdelimit(g_steal_pointer(&text), "\n", '|');
}

static gpointer loop_watch(gpointer data)
{
	pid_t tid = (pid_t)GPOINTER_TO_INT(data);
	bool said = false;

	while (!loop_watch_stop) {
		g_usleep(G_USEC_PER_SEC);
		gint64 age = g_get_monotonic_time() - loop_heartbeat_us;
		if (age < LOOP_STUCK_S * G_USEC_PER_SEC) {
			said = false;
			continue;
		}
		if (said)
			continue;
		said = true;
		g_autofree char *sc = task_file(tid, "syscall");
		g_autofree char *wchan = task_file(tid, "wchan");
		g_autofree char *stack = task_file(tid, "stack");
		g_warning("event loop has not turned for %.1f s: every LUN waits. Its thread is in "
			  "system call [%s], waiting in %s; kernel stack: %s",
			  (double)age / G_USEC_PER_SEC, sc, wchan, stack);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	g_autofree char *config = NULL;
	g_autofree char *level = NULL;
	g_autofree char *check = NULL;
	gboolean no_dbus = FALSE, version = FALSE;
	gint attach_timeout = 0;
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
		 "Configuration file (default " RDP_DEFAULT_CONFIG ")", "FILE"},
		{"log-level", 'l', 0, G_OPTION_ARG_STRING, &level,
		 "error, warning, info (default) or debug", "LEVEL"},
		{"check-config", 0, 0, G_OPTION_ARG_FILENAME, &check,
		 "Validate a configuration file and exit", "FILE"},
		{"no-dbus", 0, 0, G_OPTION_ARG_NONE, &no_dbus,
		 "Do not own org.kernel.TCMUService1 (devices still served)", NULL},
		{"attach-timeout", 0, 0, G_OPTION_ARG_INT, &attach_timeout,
		 "Answer the kernel's enable with an error when a backstore's paths are still "
		 "being probed after this long (default: 10 s per path and 20 s more)", "SECONDS"},
		{"version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;

	g_option_context_set_summary(
		ctx, "Redundant Data Path gateway: serves TCMU backstores of subtype 'rdp'\n"
		     "(targetcli /backstores/user:rdp) over several SCSI paths to one LUN.\n\n"
		     "Runs in the foreground and logs to stderr (to the journal under systemd).\n"
		     "SIGUSR1 logs per-LUN and per-path counters; SIGHUP re-reads the\n"
		     "configuration and applies it to running LUNs; SIGTERM stops.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "tcmu-rdpd: %s (try --help)\n", err->message);
		return 2;
	}
	if (version) {
		printf("tcmu-rdpd %s\n", RDP_VERSION);
		return 0;
	}
	if (attach_timeout < 0 || attach_timeout > 3600) {
		fprintf(stderr, "tcmu-rdpd: --attach-timeout %d: give 1 to 3600 seconds (0: the "
				"default)\n", attach_timeout);
		return 2;
	}
	attach_timeout_s = (unsigned int)attach_timeout;
	if (level && !parse_level(level)) {
		fprintf(stderr, "tcmu-rdpd: unknown log level '%s': use error, warning, info or debug\n",
			level);
		return 2;
	}
	g_log_set_writer_func(log_writer, NULL, NULL);

	if (check) {
		g_autoptr(rdp_config) cfg = rdp_config_load(check, false, &err);
		if (!cfg) {
			fprintf(stderr, "%s\n", err->message);
			return 1;
		}
		printf("%s: OK\n", check);
		return 0;
	}

	d.config_file = config ? config : RDP_DEFAULT_CONFIG;
	d.config_missing_ok = config == NULL;
	d.cfg = rdp_config_load(d.config_file, d.config_missing_ok, &err);
	if (!d.cfg) {
		fprintf(stderr, "tcmu-rdpd: %s\n", err->message);
		return 1;
	}
	d.devs = g_hash_table_new(g_direct_hash, g_direct_equal);
	d.attaching = g_hash_table_new(g_direct_hash, g_direct_equal);
	d.loop = g_main_loop_new(NULL, FALSE);
	rdp_loop_clock_attach(NULL);
	g_unix_signal_add(SIGTERM, on_signal, &d);
	g_unix_signal_add(SIGINT, on_signal, &d);
	g_unix_signal_add(SIGUSR1, on_usr1, &d);
	g_unix_signal_add(SIGHUP, on_hup, &d);

	if (!no_dbus) {
		d.bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &err);
		if (!d.bus) {
			fprintf(stderr,
				"tcmu-rdpd: cannot reach the system bus: %s\n(targetcli needs it; "
				"start dbus, or run with --no-dbus)\n",
				err->message);
			return 1;
		}
		d.dbus = rdp_dbus_start(d.bus, &dbus_ops, &d, &err);
		if (!d.dbus) {
			fprintf(stderr, "tcmu-rdpd: D-Bus: %s\n", err->message);
			return 1;
		}
		d.manager = rdp_manager_start(d.bus, &manager_ops, &d, &err);
		if (!d.manager) {
			/* rdpctl will not work, the data path does: say so and go on */
			g_warning("rdpctl interface unavailable: %s", err->message);
			g_clear_error(&err);
		}
	}
	d.nl = rdp_nl_start(&nl_ops, &d, &err);
	if (!d.nl) {
		fprintf(stderr,
			"tcmu-rdpd: TCMU netlink: %s\n(is target_core_user loaded? modprobe "
			"target_core_user)\n",
			err->message);
		return 1;
	}
	adopt_existing(&d);
	d.hotplug = rdp_hotplug_start(on_hotplug, &d, &err);
	if (!d.hotplug) {
		g_warning("%s", err->message);
		g_clear_error(&err);
	}
	log_sg_direct_io();
	g_message("tcmu-rdpd %s ready (config %s)", RDP_VERSION, d.config_file);
	rdp_loop_tick_add(STALL_TICK_MS, on_stall_tick, &(gint64){g_get_monotonic_time()});
	loop_heartbeat_us = g_get_monotonic_time();
	GThread *watch = g_thread_new("loop-watch", loop_watch, GINT_TO_POINTER(gettid()));
	g_main_loop_run(d.loop);
	loop_watch_stop = true;
	g_thread_join(watch);

	GHashTableIter it;
	gpointer k, v;
	unsigned int resumable = 0;
	g_hash_table_iter_init(&it, d.devs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		rdp_dev_log_summary(v);
		resumable += rdp_dev_save_resume(v);
	}
	if (d.stopping)
		g_message("stopped cleanly: %u of %u device(s) can be taken by the next start "
			  "without a ring reset",
			  resumable, g_hash_table_size(d.devs));
	rdp_hotplug_stop(d.hotplug);
	rdp_nl_stop(d.nl);
	if (d.manager)
		rdp_manager_stop(d.manager);
	if (d.dbus)
		rdp_dbus_stop(d.dbus);
	g_clear_object(&d.bus);
	g_hash_table_unref(d.devs);
	g_hash_table_unref(d.attaching); /* an attach still probing is abandoned with the process */
	rdp_loop_clock_detach();
	g_main_loop_unref(d.loop);
	rdp_config_free(d.cfg);
	return 0;
}
