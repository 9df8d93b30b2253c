/* A TCMU device: /dev/uioN mapped whole, its command ring read on every wake-up, each command
 * handed to the LUN's engine with its iovecs pointing into the data area (no bounce copy), each
 * completion written back to the ring, and the kernel kicked once per loop iteration. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "device.h"
#include <librdp/rdp.h>
#include "ring.h"
#include "tcmu-name.h"

#define DEV_CMD_INLINE_IOV 32
#define DEV_CMD_CHUNK 64
#define DEV_TICK_MS 100
#define STALL_MIN_MS 2000
#define STALL_MAX_MS 10000
#define RDP_RUN_DIR "/run/tcmu-rdp" /* without systemd's RUNTIME_DIRECTORY */

struct dev_cmd {
	struct rdp_cmd c;
	struct rdp_dev *dev;
	uint16_t cmd_id;
	struct iovec iov_inline[DEV_CMD_INLINE_IOV];
	struct iovec *iov_heap; /* only for commands with more iovecs than inline */
	struct dev_cmd *next_free;
	bool inuse; /* read from the ring, not completed yet */
};

struct rdp_dev {
	char *uio_name;
	char *cfgstring;
	char *name; /* backstore name */
	char *cfgdir;
	uint32_t minor;
	int fd;
	uint8_t *map;
	size_t map_size;
	struct rdp_ring ring;
	struct rdp_ring_cmd scratch;
	struct rdp_lun *lun;
	guint uio_source;
	guint tick_source;
	unsigned int ticks;
	guint kick_source;		  /* removed: the last kick, then free */
	struct rdp_deferred *kick_soon;	  /* the kick of an iteration's completions */
	struct rdp_file_read *timeout_read; /* cmd_time_out being re-read, off the loop */
	uint32_t block_size;		    /* hw_block_size, read at attach (read-only after) */
	bool removed;
	bool stopping;		  /* the daemon stops: the ring is no longer read */
	bool timeout_known;	  /* cmd_time_out was read from configfs */
	/* the last ring walk that found the ring empty began at or after this (engine clock): a
	 * command still unread when the daemon stops was queued after it */
	uint64_t empty_seen_ns;
	uint64_t arrival_floor_ns; /* resumed ring: the earliest its unread commands can date from */
	unsigned int inflight;
	/* the watchdog: the ring has work but nothing completes */
	uint64_t progress_ns; /* last completion, or when work arrived on an idle ring */
	bool stall_logged;
	struct dev_cmd *free_cmds;
	GPtrArray *chunks;
	uint64_t kicks;
};

static void dev_free(struct rdp_dev *dev);

static bool read_sysfs(const char *path, char **out, GError **err)
{
	g_autofree char *s = NULL;
	if (!g_file_get_contents(path, &s, NULL, err))
		return false;
	*out = g_strstrip(g_steal_pointer(&s));
	return true;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end = NULL;
	errno = 0;
	*v = g_ascii_strtoull(s, &end, 0); /* uio map sizes are hex, configfs decimal */
	return !errno && end != s && !*end;
}

static bool read_sysfs_u64(const char *path, uint64_t *v, GError **err)
{
	g_autofree char *s = NULL;
	if (!read_sysfs(path, &s, err))
		return false;
	if (!parse_u64(s, v)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a number: '%s'", path, s);
		return false;
	}
	return true;
}

/* ---- completions and kicks ---- */

/* Returns false when a kick was due and failed. */
static bool dev_kick(struct rdp_dev *dev)
{
	uint32_t one = 1;
	bool ok = true;

	if (rdp_ring_needs_kick(&dev->ring)) {
		if (write(dev->fd, &one, sizeof(one)) != sizeof(one)) {
			g_warning("%s: kick failed: %s", dev->name, g_strerror(errno));
			ok = false;
		}
		rdp_ring_kicked(&dev->ring);
		dev->kicks++;
	}
	return ok;
}

static void dev_kick_now(void *data)
{
	dev_kick(data);
}

/* A removed device: the last kick, then it is freed (from an idle: never inside the
 * completion that finished its last command, whose caller still uses it). */
static gboolean dev_kick_and_free(gpointer data)
{
	struct rdp_dev *dev = data;

	dev->kick_source = 0;
	dev_kick_now(dev);
	if (dev->removed && dev->inflight == 0)
		dev_free(dev);
	return G_SOURCE_REMOVE;
}

/* Completions of one loop iteration share a kick, made before the loop next waits: at the
 * start of the next iteration, which costs no iteration of its own (lib/loop.c). */
static void dev_schedule_kick(struct rdp_dev *dev)
{
	if (dev->removed) {
		if (!dev->kick_source)
			dev->kick_source = g_idle_add_full(G_PRIORITY_DEFAULT, dev_kick_and_free, dev,
							   NULL);
		return;
	}
	if (!dev->kick_soon)
		dev->kick_soon = rdp_loop_deferred_new(dev_kick_now, dev);
	rdp_loop_deferred_arm(dev->kick_soon);
}

/* A completion: the watchdog's clock restarts, and a stall it reported is over. */
static void dev_progress(struct rdp_dev *dev)
{
	uint64_t now = rdp_loop_clock_ns();
	if (dev->stall_logged)
		g_message("lun %s: commands complete again, after %.1f s without", dev->name,
			  (double)(now - dev->progress_ns) / 1e9);
	dev->stall_logged = false;
	dev->progress_ns = now;
}

static void dev_cmd_done(struct rdp_cmd *c)
{
	struct dev_cmd *dc = (struct dev_cmd *)c;
	struct rdp_dev *dev = dc->dev;
	uint32_t read_len = RDP_RING_NO_READ_LEN;

	if (c->dir == RDP_DIR_FROM_DEV && c->resid > 0 && (size_t)c->resid < c->xfer_len)
		read_len = (uint32_t)(c->xfer_len - (size_t)c->resid);
	int rc = rdp_ring_complete(&dev->ring, dc->cmd_id, c->status, c->sense, c->sense_len,
				   read_len);
	if (rc < 0)
		g_warning("%s: completing cmd %u: %s", dev->name, dc->cmd_id, g_strerror(-rc));
	g_free(dc->iov_heap);
	dc->iov_heap = NULL;
	dc->next_free = dev->free_cmds;
	dev->free_cmds = dc;
	dc->inuse = false;
	dev->inflight--;
	dev_progress(dev);
	dev_schedule_kick(dev);
}

static struct dev_cmd *dev_cmd_get(struct rdp_dev *dev)
{
	if (!dev->free_cmds) {
		/* grow in chunks and keep them: steady state allocates nothing */
		struct dev_cmd *chunk = g_new0(struct dev_cmd, DEV_CMD_CHUNK);
		g_ptr_array_add(dev->chunks, chunk);
		for (int i = 0; i < DEV_CMD_CHUNK; i++) {
			chunk[i].dev = dev;
			chunk[i].next_free = dev->free_cmds;
			dev->free_cmds = &chunk[i];
		}
	}
	struct dev_cmd *dc = dev->free_cmds;
	dev->free_cmds = dc->next_free;
	return dc;
}

/* ---- the ring ---- */

static void dev_run_ring(struct rdp_dev *dev)
{
	struct rdp_ring_cmd *rc = &dev->scratch;
	/* read before the ring's head is: never later than the moment it was seen empty */
	uint64_t walk_ns = rdp_loop_clock_ns();

	for (;;) {
		int r = rdp_ring_next(&dev->ring, rc);
		if (r == RDP_RING_EMPTY) {
			dev->empty_seen_ns = walk_ns;
			break;
		}
		if (r < 0) {
			g_critical("%s: command ring broken (%s); no longer serving it", dev->name,
				   dev->ring.broken ? dev->ring.broken : g_strerror(-r));
			g_source_remove(dev->uio_source);
			dev->uio_source = 0;
			break;
		}
		if (r == RDP_RING_REJECTED) {
			g_warning("%s: rejected ring entry cmd %u: %s", dev->name, rc->cmd_id,
				  rc->reject);
			dev_schedule_kick(dev);
			continue;
		}
		struct dev_cmd *dc = dev_cmd_get(dev);
		struct rdp_cmd *c = &dc->c;
		dc->cmd_id = rc->cmd_id;
		memcpy(c->cdb, rc->cdb, rc->cdb_len);
		c->cdb_len = rc->cdb_len;
		c->iov_cnt = rc->iov_cnt;
		c->xfer_len = rc->xfer_len;
		c->iov = dc->iov_inline;
		if (rc->iov_cnt > DEV_CMD_INLINE_IOV)
			c->iov = dc->iov_heap = g_new(struct iovec, rc->iov_cnt);
		memcpy(c->iov, rc->iov, rc->iov_cnt * sizeof(struct iovec));
		c->done = dev_cmd_done;
		c->priv = dc;
		c->arrival_ns = dev->arrival_floor_ns;
		if (!dev->inflight)
			dev->progress_ns = rdp_loop_clock_ns(); /* an idle ring is not a stalled one */
		dc->inuse = true;
		dev->inflight++;
		if (rc->xfer == RDP_RING_XFER_BIDI) {
			/* no bidirectional command is passed through: XDWRITEREAD is obsolete */
			rdp_lun_submit_error(dev->lun, c, 0x05, 0x20, 0x00);
			continue;
		}
		rdp_lun_submit(dev->lun, c);
	}
}

static gboolean dev_uio_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct rdp_dev *dev = data;
	uint32_t events;

	if (cond & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
		g_warning("%s: uio device went away", dev->name);
		dev->uio_source = 0;
		return G_SOURCE_REMOVE;
	}
	/* acknowledge the interrupt count; the ring says what is new */
	if (read(fd, &events, sizeof(events)) < 0 && errno != EAGAIN)
		g_warning("%s: uio read: %s", dev->name, g_strerror(errno));
	dev_run_ring(dev);
	return G_SOURCE_CONTINUE;
}

/* The kernel's cmd_time_out, read at attach and every second after: targetcli may set it after
 * the backstore is created, before it is exported (the kernel refuses changes once exported). A
 * file that cannot be read keeps the last value. */
static void dev_set_kernel_timeout(struct rdp_dev *dev, uint64_t s)
{
	if (s <= UINT32_MAX / 1000) {
		rdp_lun_set_kernel_timeout(dev->lun, (unsigned int)s * 1000);
		dev->timeout_known = true;
	}
}

static void dev_kernel_timeout_read(const char *text, const GError *err, void *data)
{
	struct rdp_dev *dev = data;
	uint64_t s;
	dev->timeout_read = NULL;
	if (text && parse_u64(text, &s))
		dev_set_kernel_timeout(dev, s);
}

/* The same, from the tick: never on the loop. Deleting the backstore (rmdir of its configfs
 * directory) holds that directory locked while the kernel waits for this loop's netlink reply,
 * and an open() of one of its attributes waits for the lock: read on the loop, the two waited
 * for each other for good (the profile VM run of 2026-12-03 hung so in a teardown). */
static void dev_reread_kernel_timeout(struct rdp_dev *dev)
{
	if (dev->timeout_read || dev->removed || dev->stopping)
		return;
	g_autofree char *path = g_build_filename(dev->cfgdir, "attrib", "cmd_time_out", NULL);
	dev->timeout_read = rdp_loop_read_file(path, dev_kernel_timeout_read, dev);
}

/* How long the ring may have work and no completion before the watchdog says so: well under
 * the kernel's cmd_time_out (a third of it, 2 to 10 s), so the log names the command before the
 * kernel fails it to the initiator. */
static uint64_t stall_bound_ns(const struct rdp_dev *dev)
{
	unsigned int ms = rdp_lun_kernel_timeout(dev->lun) / 3;
	return (uint64_t)CLAMP(ms ? ms : STALL_MAX_MS, STALL_MIN_MS, STALL_MAX_MS) * 1000000;
}

/* The watchdog (issue 11: one command once stopped a LUN, and the log said nothing): commands
 * out and none completing for the bound. Names the oldest command and the LUN's state, once
 * per stall; the LUN is not touched, and the other LUNs are served on as before. */
static void dev_watchdog(struct rdp_dev *dev)
{
	uint64_t now = rdp_loop_clock_ns();
	if (!dev->inflight || dev->stall_logged || now - dev->progress_ns < stall_bound_ns(dev))
		return;
	const struct dev_cmd *oldest = NULL;
	for (guint i = 0; i < dev->chunks->len; i++) {
		const struct dev_cmd *chunk = g_ptr_array_index(dev->chunks, i);
		for (int j = 0; j < DEV_CMD_CHUNK; j++)
			if (chunk[j].inuse && (!oldest ||
					     rdp_cmd_start_ns(&chunk[j].c) < rdp_cmd_start_ns(&oldest->c)))
				oldest = &chunk[j];
	}
	g_autofree char *what = oldest ? rdp_cmd_describe(dev->lun, &oldest->c) : g_strdup("?");
	g_autofree char *state = rdp_lun_describe(dev->lun);
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "RDP_LUN", dev->name, "MESSAGE",
			 "lun %s: no command completed for %.1f s with %u in flight; oldest: cmd %u, "
			 "%s; lun: %s",
			 dev->name, (double)(now - dev->progress_ns) / 1e9, dev->inflight,
			 oldest ? oldest->cmd_id : 0, what, state);
	dev->stall_logged = true;
}

static gboolean dev_tick(gpointer data)
{
	struct rdp_dev *dev = data;
	if (++dev->ticks % (1000 / DEV_TICK_MS) == 0) /* once a second is soon enough */
		dev_reread_kernel_timeout(dev);
	dev_watchdog(dev);
	rdp_lun_tick(dev->lun);
	return G_SOURCE_CONTINUE;
}


/* configfs attributes take one write() in place (no temp file and rename) */
static bool write_action(struct rdp_dev *dev, const char *action, const char *val)
{
	g_autofree char *path = g_build_filename(dev->cfgdir, "action", action, NULL);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;
	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	if (n < 0) {
		g_warning("%s: writing %s to %s: %s", dev->name, val, path, g_strerror(errno));
		return false;
	}
	return true;
}

/* ---- a clean stop, and the start after it ----
 * A daemon that stops with every command it read answered leaves a marker: the ring's tail and
 * when it stopped reading. Whatever the kernel queued since was never read, so the next daemon
 * takes the ring as it is (no reset, no BUSY to the initiator), giving those commands deadlines
 * from the moment of the stop: the kernel's cmd_time_out has been running on them. The marker
 * lives in the runtime directory (systemd's RUNTIME_DIRECTORY, kept across restarts by the
 * unit), is read once and removed, and a kill or crash leaves none: the ring is reset then. */
#define RESUME_GROUP "resume"

/* The runtime directory's file for device uio<minor>, of this kind ("resume", "served") */
static char *runtime_path(uint32_t minor, const char *kind)
{
	const char *dir = g_getenv("RUNTIME_DIRECTORY");
	g_autofree char *file = g_strdup_printf("uio%u.%s", minor, kind);
	/* systemd may list several directories, colon-separated: the first is ours */
	g_auto(GStrv) dirs = g_strsplit(dir && *dir ? dir : RDP_RUN_DIR, ":", 2);
	return g_build_filename(dirs[0], file, NULL);
}

static char *resume_path(const struct rdp_dev *dev)
{
	return runtime_path(dev->minor, RESUME_GROUP);
}

static bool save_keyfile(GKeyFile *kf, const char *path, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", dir,
			    g_strerror(errno));
		return false;
	}
	return g_key_file_save_to_file(kf, path, err);
}

/* ---- what the initiator was told, across daemon restarts ----
 * The target port a device is served as (TPGS, VPD 0x83, RTPG) is what its initiators logged in
 * to: like a reload (librdp's rdp_lun_reconfigure), a restart must not move a live device to
 * another port. The first daemon to serve a device records its port in the runtime directory;
 * a later daemon adopting the same device keeps that port, whatever its configuration says,
 * until the kernel removes the device. */
#define SERVED_GROUP "served"

/* Keep the port recorded for uio_name on minor, if there is one, in spec. */
static void served_keep_port(uint32_t minor, const char *uio_name, struct rdp_lun_spec *spec)
{
	g_autofree char *path = runtime_path(minor, SERVED_GROUP);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) err = NULL;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
		/* none: never served by a daemon since boot (or since its removal) */
		if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_warning("%s: cannot read %s (%s): serving it as configured, which may "
				  "not be the target port its initiators know",
				  uio_name, path, err->message);
		return;
	}
	g_autofree char *name = g_key_file_get_string(kf, SERVED_GROUP, "uio_name", NULL);
	guint64 port = g_key_file_get_uint64(kf, SERVED_GROUP, "target_port", &err);
	guint64 ports = err ? 0 : g_key_file_get_uint64(kf, SERVED_GROUP, "target_ports", &err);
	if (!name || strcmp(name, uio_name) != 0)
		return; /* another device that had this minor: overwritten at attach */
	if (err || port > G_MAXUINT || ports > G_MAXUINT ||
	    rdp_target_port_problem((unsigned int)port, (unsigned int)ports)) {
		g_warning("%s: ignoring %s: unreadable; serving it as configured", uio_name, path);
		return;
	}
	unsigned int want_ports = MAX(spec->target_ports, 1u);
	if (port == spec->target_port && ports == want_ports)
		return;
	g_warning("lun %s: still target_port %u of %u, as served before this daemon started "
		  "(configured: %u of %u): target_port change takes effect when the backstore is "
		  "re-created",
		  spec->name, (unsigned int)port, (unsigned int)ports, spec->target_port,
		  want_ports);
	spec->target_port = (unsigned int)port;
	spec->target_ports = (unsigned int)ports;
}

/* Record the port a device is now served as. */
static void served_record(const struct rdp_dev *dev, const struct rdp_lun_spec *spec)
{
	g_autofree char *path = runtime_path(dev->minor, SERVED_GROUP);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) err = NULL;

	g_key_file_set_string(kf, SERVED_GROUP, "uio_name", dev->uio_name);
	g_key_file_set_uint64(kf, SERVED_GROUP, "target_port", spec->target_port);
	g_key_file_set_uint64(kf, SERVED_GROUP, "target_ports", MAX(spec->target_ports, 1u));
	if (!save_keyfile(kf, path, &err))
		g_warning("%s: cannot record its target port in %s (%s): a restarted daemon serves "
			  "it as then configured",
			  dev->name, path, err->message);
}

static void served_forget(uint32_t minor, const char *name)
{
	g_autofree char *path = runtime_path(minor, SERVED_GROUP);
	if (unlink(path) < 0 && errno != ENOENT)
		g_warning("%s: cannot remove %s: %s", name, path, g_strerror(errno));
}

/* The marker for this device, removed as it is read. false when there is none that fits. */
static bool resume_take(struct rdp_dev *dev, uint32_t *tail, uint64_t *stopped_ns)
{
	g_autofree char *path = resume_path(dev);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) err = NULL;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err))
		return false;
	if (unlink(path) < 0 && errno != ENOENT) {
		/* a marker that stays could be taken again after a crash, over answered entries */
		g_warning("%s: cannot remove %s (%s): not resuming from it", dev->name, path,
			  g_strerror(errno));
		return false;
	}
	g_autofree char *cfg = g_key_file_get_string(kf, RESUME_GROUP, "uio_name", NULL);
	guint64 t = g_key_file_get_uint64(kf, RESUME_GROUP, "tail", &err);
	guint64 at = err ? 0 : g_key_file_get_uint64(kf, RESUME_GROUP, "stopped_ns", &err);
	if (err || !cfg || strcmp(cfg, dev->uio_name) != 0 || t > UINT32_MAX || !at ||
	    at > rdp_loop_clock_ns()) {
		g_warning("%s: ignoring %s: not this device's, or unreadable", dev->name, path);
		return false;
	}
	*tail = (uint32_t)t;
	*stopped_ns = at;
	return true;
}

void rdp_dev_stop_intake(struct rdp_dev *dev)
{
	if (dev->stopping)
		return;
	dev->stopping = true;
	if (dev->uio_source) {
		g_source_remove(dev->uio_source);
		dev->uio_source = 0;
	}
}

unsigned int rdp_dev_inflight(const struct rdp_dev *dev)
{
	return dev->inflight;
}

bool rdp_dev_save_resume(struct rdp_dev *dev)
{
	/* the completions written since the last kick reach the kernel now, whatever follows: the
	 * loop has stopped, and the kick of its last iteration was still to come */
	bool kicked = dev->map && !dev->ring.broken && dev_kick(dev);
	if (!kicked || !dev->stopping || dev->inflight || !dev->empty_seen_ns)
		return false;
	g_autofree char *path = resume_path(dev);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) err = NULL;
	g_key_file_set_string(kf, RESUME_GROUP, "uio_name", dev->uio_name);
	g_key_file_set_uint64(kf, RESUME_GROUP, "tail", rdp_ring_tail(&dev->ring));
	/* not the time of the stop: a command may have waited unread in the ring since the last
	 * walk that found it empty (a loop busy elsewhere), and its cmd_time_out runs from then */
	g_key_file_set_uint64(kf, RESUME_GROUP, "stopped_ns", dev->empty_seen_ns);
	if (!save_keyfile(kf, path, &err)) {
		g_warning("%s: cannot leave the clean-stop marker %s (%s): the next start resets "
			  "the ring",
			  dev->name, path, err->message);
		return false;
	}
	return true;
}

static bool dev_map(struct rdp_dev *dev, GError **err)
{
	g_autofree char *devpath = g_strdup_printf("/dev/uio%u", dev->minor);
	g_autofree char *sizepath = g_strdup_printf("/sys/class/uio/uio%u/maps/map0/size",
						    dev->minor);
	uint64_t size;

	if (!read_sysfs_u64(sizepath, &size, err))
		return false;
	dev->fd = open(devpath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (dev->fd < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s%s", devpath,
			    g_strerror(errno),
			    errno == EBUSY ? " (another process serves this device)" : "");
		return false;
	}
	dev->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd, 0);
	if (dev->map == MAP_FAILED) {
		dev->map = NULL;
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "mmap %s: %s",
			    devpath, g_strerror(errno));
		return false;
	}
	dev->map_size = size;
	uint32_t tail = 0;
	uint64_t stopped_ns = 0;
	bool resume = resume_take(dev, &tail, &stopped_ns);
	int rc = rdp_ring_init(&dev->ring, dev->map, dev->map_size);
	/* resumed commands need their deadlines: only when the kernel's bound is known */
	if (rc == -EBUSY && resume && dev->timeout_known &&
	    rdp_ring_resume(&dev->ring, dev->map, dev->map_size, tail) == 0) {
		rc = 0;
		dev->arrival_floor_ns = stopped_ns;
		g_message("%s: the previous daemon stopped cleanly %.1f s ago: serving the commands "
			  "it left unread, with deadlines from then (no ring reset)",
			  dev->name, (double)(rdp_loop_clock_ns() - stopped_ns) / 1e9);
	}
	if (rc == -EBUSY) {
		/* Commands left from before we started (an earlier daemon, or none yet): we
		 * cannot know which were answered, so the kernel fails them all with BUSY, which
		 * the initiator retries, and the ring starts empty. */
		g_message("%s: ring holds commands from before this daemon; resetting it (they "
			  "complete with BUSY and are retried by the initiator)",
			  dev->name);
		if (write_action(dev, "block_dev", "1") && write_action(dev, "reset_ring", "1"))
			rc = rdp_ring_init(&dev->ring, dev->map, dev->map_size);
		write_action(dev, "block_dev", "0");
	}
	if (rc < 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: command ring: %s", devpath,
			    rc == -EBUSY ? "holds commands of an earlier process" : g_strerror(-rc));
		return false;
	}
	return true;
}

/* ---- attach: the probes off the loop ----
 * Opening a LUN probes every path with synchronous SCSI commands (identity, caches, ALUA), up to
 * RDP_PROBE_TIMEOUT_MS each on a path that hangs. That runs in a worker thread, so the loop
 * that serves every other LUN never waits for it; the kernel's ADDED_DEVICE is answered when it
 * is done (the configfs enable waits for that, nothing else does). The LUN is private to the
 * worker until it is handed back: no request is out on it, its sg files are watched from the
 * loop but have nothing to say. What touches the daemon's state (which devices are in use, the
 * ring) runs on the loop, before and after. */
struct rdp_dev_attach {
	struct rdp_dev *dev;
	rdp_lun_spec *spec;
	rdp_dev_luns_fn luns;
	rdp_dev_ready_fn ready;
	void *ud;
	bool cancelled;
	/* the backstore's attributes, read by the worker with the probes: an open() under its
	 * configfs directory waits for a deletion of it, which the loop must be free to answer */
	char *cfgdir;
	uint64_t dev_size, block_size, timeout_s;
	bool timeout_read;
};

static void attach_thread(GTask *task, gpointer source, gpointer data, GCancellable *c)
{
	struct rdp_dev_attach *a = data;
	GError *err = NULL;
	g_autofree char *size_path = g_build_filename(a->cfgdir, "attrib", "dev_size", NULL);
	g_autofree char *bs_path = g_build_filename(a->cfgdir, "attrib", "hw_block_size", NULL);
	g_autofree char *to_path = g_build_filename(a->cfgdir, "attrib", "cmd_time_out", NULL);
	if (!read_sysfs_u64(size_path, &a->dev_size, &err) ||
	    !read_sysfs_u64(bs_path, &a->block_size, &err)) {
		g_task_return_error(task, err);
		return;
	}
	a->timeout_read = read_sysfs_u64(to_path, &a->timeout_s, NULL);
	const struct rdp_env env = {
	    .size = sizeof(env), .backend = rdp_backend_sg(), .now_ns = rdp_loop_clock_ns};
	struct rdp_lun *lun = rdp_lun_open(a->spec, &env, &err);
	if (lun)
		g_task_return_pointer(task, lun, NULL);
	else
		g_task_return_error(task, err);
}

/* Back on the loop: everything after the probes, in the order a user would fix it. */
static bool attach_finish(struct rdp_dev_attach *a, GError **err)
{
	struct rdp_dev *dev = a->dev;
	g_autoptr(GPtrArray) others = a->luns(a->ud);
	/* another LUN may have taken one of the devices while these were probed */
	if (!rdp_lun_spec_check_unused(a->spec, others, err))
		return false;
	if (a->block_size > UINT32_MAX) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "hw_block_size %" PRIu64
			    " is not a block size", a->block_size);
		return false;
	}
	if (!rdp_lun_check_frontend(dev->lun, a->dev_size, (uint32_t)a->block_size, err))
		return false;
	dev->block_size = (uint32_t)a->block_size;
	/* no command outlives the kernel's wait for it */
	if (a->timeout_read)
		dev_set_kernel_timeout(dev, a->timeout_s);
	if (!dev_map(dev, err))
		return false;
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", dev->name, "MESSAGE",
			 "lun %s: serving /dev/uio%u, %" PRIu64 " bytes, WWID %s, %u paths",
			 dev->name, dev->minor, a->dev_size, rdp_lun_wwid(dev->lun),
			 rdp_lun_path_count(dev->lun));
	served_record(dev, a->spec);
	dev->uio_source = rdp_loop_fd_add(dev->fd, dev_uio_readable, dev);
	dev->tick_source = rdp_loop_tick_add(DEV_TICK_MS, dev_tick, dev);
	/* commands may have arrived before we mapped the ring */
	dev_run_ring(dev);
	dev->arrival_floor_ns = 0; /* what comes from now on arrives as we read it */
	dev_schedule_kick(dev);
	return true;
}

static void attach_done(GObject *source, GAsyncResult *res, gpointer data)
{
	struct rdp_dev_attach *a = data;
	struct rdp_dev *dev = a->dev;
	GError *err = NULL;

	dev->lun = g_task_propagate_pointer(G_TASK(res), &err);
	if (dev->lun && a->cancelled)
		g_set_error(&err, G_IO_ERROR, G_IO_ERROR_CANCELLED,
			    "given up while its paths were being probed (removed, or past its "
			    "bound)");
	if (!err)
		attach_finish(a, &err);
	if (err) {
		g_prefix_error(&err, "%s: ", dev->name);
		dev_free(dev); /* closes the LUN, if it was opened */
		dev = NULL;
	}
	a->ready(dev, err, a->ud);
	g_clear_error(&err);
	rdp_lun_spec_free(a->spec);
	g_free(a->cfgdir);
	g_free(a);
}

struct rdp_dev_attach *rdp_dev_open_async(const char *uio_name, uint32_t minor, bool adopting,
					  const struct rdp_config *cfg, rdp_dev_luns_fn luns,
					  rdp_dev_ready_fn ready, void *ud, GError **err)
{
	struct rdp_tcmu_name nm;
	if (rdp_tcmu_name_parse(uio_name, &nm) < 0 || strcmp(nm.subtype, RDP_TCMU_SUBTYPE) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "not an rdp device: %s",
			    uio_name);
		return NULL;
	}
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_resolve(cfg, nm.cfgstring, err);
	g_autoptr(GPtrArray) others = spec ? luns(ud) : NULL;
	if (!spec || !rdp_lun_spec_check_unused(spec, others, err)) {
		g_prefix_error(err, "%s: ", nm.dev_name);
		return NULL;
	}
	g_free(spec->name);
	spec->name = g_strdup(nm.dev_name);
	if (adopting)
		served_keep_port(minor, uio_name, spec);
	else /* a new device: a record of this minor is of one removed out of our sight */
		served_forget(minor, uio_name);

	struct rdp_dev *dev = g_new0(struct rdp_dev, 1);
	dev->fd = -1;
	dev->uio_name = g_strdup(uio_name);
	dev->name = g_strdup(nm.dev_name);
	dev->cfgdir = rdp_tcmu_name_configfs_dir(&nm);
	dev->cfgstring = g_strdup(nm.cfgstring);
	dev->minor = minor;
	dev->chunks = g_ptr_array_new_with_free_func(g_free);

	struct rdp_dev_attach *a = g_new0(struct rdp_dev_attach, 1);
	a->dev = dev;
	a->spec = g_steal_pointer(&spec);
	a->luns = luns;
	a->ready = ready;
	a->ud = ud;
	a->cfgdir = g_strdup(dev->cfgdir);
	g_message("lun %s: probing its paths (off the event loop)", dev->name);
	g_autoptr(GTask) task = g_task_new(NULL, NULL, attach_done, a);
	g_task_set_task_data(task, a, NULL);
	g_task_run_in_thread(task, attach_thread);
	return a;
}

void rdp_dev_attach_cancel(struct rdp_dev_attach *a)
{
	a->cancelled = true;
}

#define DEV_PROBE_TIMEOUT_S 10 /* librdp's bound on one synchronous probe (docs/engine.md) */

unsigned int rdp_dev_attach_bound_s(const struct rdp_dev_attach *a)
{
	return DEV_PROBE_TIMEOUT_S * (g_strv_length(a->spec->paths) + 2);
}

static void dev_free(struct rdp_dev *dev)
{
	/* first: closing the LUN completes what it still holds, which schedules a kick */
	if (dev->lun)
		rdp_lun_close(dev->lun);
	if (dev->uio_source)
		g_source_remove(dev->uio_source);
	if (dev->tick_source)
		g_source_remove(dev->tick_source);
	if (dev->kick_source)
		g_source_remove(dev->kick_source);
	if (dev->map && !dev->ring.broken)
		dev_kick_now(dev); /* what completed (also in rdp_lun_close above) reaches the kernel */
	rdp_loop_deferred_free(dev->kick_soon);
	rdp_loop_read_cancel(dev->timeout_read);
	if (dev->map)
		munmap(dev->map, dev->map_size);
	if (dev->fd >= 0)
		close(dev->fd);
	g_ptr_array_unref(dev->chunks);
	g_free(dev->uio_name);
	g_free(dev->cfgstring);
	g_free(dev->name);
	g_free(dev->cfgdir);
	g_free(dev);
}

void rdp_dev_remove(struct rdp_dev *dev)
{
	rdp_dev_log_summary(dev);
	dev->removed = true;
	served_forget(dev->minor, dev->name); /* a re-created device is served as configured */
	if (dev->uio_source) {
		g_source_remove(dev->uio_source);
		dev->uio_source = 0;
	}
	/* keep the mapping while commands are out: their buffers live in it */
	if (dev->inflight == 0)
		dev_free(dev);
	else
		g_message("%s: removed with %u commands in flight; freeing when they return",
			  dev->name, dev->inflight);
}

bool rdp_dev_reload(struct rdp_dev *dev, const struct rdp_config *cfg, GPtrArray *others,
		    GString *report, GError **err)
{
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_resolve(cfg, dev->cfgstring, err);
	if (!spec) {
		g_prefix_error(err, "lun %s: keeping the old settings: ", dev->name);
		return false;
	}
	g_free(spec->name);
	spec->name = g_strdup(dev->name);
	rdp_lun_spec_drop_used(spec, others, report);
	return rdp_lun_reconfigure(dev->lun, spec, report, err);
}

void rdp_dev_hotplug_add(struct rdp_dev *dev, const struct rdp_config *cfg, const char *devnode)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_resolve(cfg, dev->cfgstring, &err);
	if (!spec || !g_strv_contains((const char *const *)spec->paths, devnode))
		return;
	if (rdp_lun_add_path(dev->lun, devnode, spec, &err) < 0)
		g_warning("lun %s: new device %s not used: %s", dev->name, devnode, err->message);
	else
		g_message("lun %s: new path %s (hotplug): checking its identity before it carries "
			  "I/O",
			  dev->name, devnode);
}

void rdp_dev_hotplug_remove(struct rdp_dev *dev, const char *devnode)
{
	if (rdp_lun_remove_path(dev->lun, devnode, "device removed") == 0)
		g_message("lun %s: path %s removed (hotplug)", dev->name, devnode);
}

/* Inside the kernel's RECONFIG wait: no configfs read here (a backstore deletion queued
 * behind the dev_size store would make it wait for that wait). hw_block_size is read-only
 * once the device is configured: the value read at attach is the value. */
int rdp_dev_resize(struct rdp_dev *dev, uint64_t dev_size, GError **err)
{
	return rdp_lun_check_frontend(dev->lun, dev_size, dev->block_size, err) ? 0 : -EINVAL;
}

uint32_t rdp_dev_minor(const struct rdp_dev *dev)
{
	return dev->minor;
}

const char *rdp_dev_name(const struct rdp_dev *dev)
{
	return dev->name;
}

struct rdp_lun *rdp_dev_lun(const struct rdp_dev *dev)
{
	return dev->lun;
}

void rdp_dev_log_summary(const struct rdp_dev *dev)
{
	const struct rdp_lun_stats *s = rdp_lun_stats(dev->lun);
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", dev->name, "MESSAGE",
			 "summary lun=%s cmds=%" PRIu64 " errors_returned=%" PRIu64
			 " failovers=%" PRIu64 " path_failures=%" PRIu64 " path_recoveries=%" PRIu64
			 " expired=%" PRIu64 " max_latency_ms=%.1f kicks=%" PRIu64,
			 dev->name, s->cmds, s->errors_returned, s->failovers, s->path_failures,
			 s->path_recoveries, s->expired, s->lat_max_us / 1000.0, dev->kicks);
	for (unsigned int i = 0; i < rdp_lun_path_count(dev->lun); i++) {
		const struct rdp_path *p = rdp_lun_path(dev->lun, i);
		const struct rdp_path_stats *ps = rdp_path_stats(p);
		g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", dev->name, "RDP_PATH",
				 rdp_path_dev(p), "MESSAGE",
				 "summary path=%s state=%s cmds=%" PRIu64 " bytes=%" PRIu64
				 " path_errors=%" PRIu64 " target_errors=%" PRIu64
				 " retries=%" PRIu64 " max_latency_ms=%.1f",
				 rdp_path_dev(p), rdp_path_state_name(rdp_path_state(p)), ps->cmds,
				 ps->bytes, ps->path_errors, ps->target_errors, ps->retries,
				 ps->lat_max_us / 1000.0);
	}
}
