/* librdp public interface: one LUN reached over several backing SCSI paths.
 * The engine knows nothing of TCMU, uio or D-Bus: a submitter hands it SCSI commands
 * (struct rdp_cmd), a backend (struct rdp_backend_ops) carries them on a path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <glib.h>
#include <glib-unix.h>

#define RDP_CDB_MAX 32
#define RDP_SENSE_MAX 96 /* TCMU_SENSE_BUFFERSIZE */
/* Room for the engine's private state in struct rdp_cmd, in 64-bit words (ABI). */
#define RDP_CMD_INTERNAL_WORDS 64

/* SCSI status bytes used across the tree */
#define RDP_SAM_GOOD 0x00
#define RDP_SAM_CHECK_CONDITION 0x02
#define RDP_SAM_BUSY 0x08
#define RDP_SAM_RESERVATION_CONFLICT 0x18
#define RDP_SAM_TASK_SET_FULL 0x28

enum rdp_dir {
	RDP_DIR_NONE = 0,
	RDP_DIR_TO_DEV,	 /* initiator writes */
	RDP_DIR_FROM_DEV /* initiator reads */
};

/* Error domain of every GError librdp sets. */
#define RDP_ERROR (rdp_error_quark())
GQuark rdp_error_quark(void);
enum rdp_error_code {
	RDP_ERROR_FAILED,
	RDP_ERROR_NOT_FOUND, /* no such device, section or path */
	RDP_ERROR_IDENTITY,  /* a path answers for another LUN, or cannot prove which */
	RDP_ERROR_IO,	     /* a probe command failed */
	RDP_ERROR_INVALID,   /* a request the backing LUN cannot serve */
	RDP_ERROR_IN_USE,    /* a device already serves another LUN */
};

struct rdp_req;
struct rdp_path;
struct rdp_lun;

/* What a path returned for one request (SG v3 semantics). */
struct rdp_io_result {
	int error;	      /* -errno when the request never reached the device (e.g. -ENXIO) */
	uint8_t status;	      /* SCSI status byte */
	uint16_t host_status; /* DID_* */
	uint16_t driver_status;
	uint8_t sense_len; /* valid bytes in rdp_req.sense */
	int32_t resid;
	uint32_t duration_ms;
};

/* One request on one path. The engine owns it; the backend fills sense and res and then calls
 * complete() exactly once, from the event loop, never from inside submit(). */
struct rdp_req {
	const uint8_t *cdb;
	uint8_t cdb_len;
	enum rdp_dir dir;
	struct iovec *iov;
	unsigned int iov_cnt;
	size_t xfer_len;
	unsigned int timeout_ms;
	uint8_t sense[RDP_SENSE_MAX];
	struct rdp_io_result res;
	void (*complete)(struct rdp_req *req);
	void *owner;
};

/* Caller-filled structs (rdp_backend_ops, rdp_env) begin with their own size, which the caller
 * sets to sizeof() of the struct as its header declares it. A later librdp only appends members,
 * so it can tell what an older caller knew: members past the caller's size count as zero (an
 * optional hook absent). One larger than this library's is accepted only when what lies beyond
 * is zero, as the kernel's copy_struct_from_user() does for openat2(); else rdp_lun_open()
 * fails with RDP_ERROR_INVALID. */

/* A path backend: real SG devices (backend-sg.c) or a fake in tests. */
struct rdp_backend_ops {
	size_t size; /* sizeof(struct rdp_backend_ops) */
	const char *name;
	/* Open the device named dev; store a backend context in *ctx. -errno on failure. */
	int (*open)(const char *dev, void **ctx);
	/* Called only when no request submitted on ctx is still out; may be called from inside
	 * a completion delivered from ctx, so the backend must not free what that delivery is
	 * still using until it returns. */
	void (*close)(void *ctx);
	/* Start req asynchronously. 0: complete() will be called later. -errno: it was not
	 * started and no completion will come. */
	int (*submit)(void *ctx, struct rdp_req *req);
	/* Run req synchronously (attach-time probing); fills req->res and req->sense. */
	int (*exec_sync)(void *ctx, struct rdp_req *req);
	/* Optional: the most data in bytes one request on ctx can carry (the device queue's
	 * limit); 0 when it is not known. A larger request is refused by submit(). */
	size_t (*max_transfer)(void *ctx);
};

/* The backend of real SCSI generic devices (/dev/sgN). A function, not an exported object: a
 * program that read an exported struct directly would get a copy of it sized as its own header
 * said (a copy relocation), and the struct could never grow. */
const struct rdp_backend_ops *rdp_backend_sg(void);

/* A command from the initiator. The submitter fills the first block and done(); the engine
 * fills the result and calls done() exactly once. */
struct rdp_cmd {
	uint8_t cdb[RDP_CDB_MAX];
	uint8_t cdb_len;
	enum rdp_dir dir; /* set by the engine from the CDB */
	struct iovec *iov;
	unsigned int iov_cnt;
	size_t xfer_len;
	void (*done)(struct rdp_cmd *cmd);
	void *priv;
	/* When the kernel queued it, on the engine's clock, if earlier than now (a command a
	 * previous process left unread in the ring: its cmd_time_out has been running since);
	 * 0: it arrived now. Its deadline counts from here. */
	uint64_t arrival_ns;

	/* result */
	uint8_t status;
	uint8_t sense_len;
	uint8_t sense[RDP_SENSE_MAX];
	int32_t resid;

	/* The engine's own state of the command while it holds it. Opaque: never read or written
	 * outside librdp. Its size is part of the ABI and its content is not, so the engine can
	 * gain fields without breaking programs built against an older librdp. */
	union {
		uint64_t opaque[RDP_CMD_INTERNAL_WORDS];
		void *align_ptr;
	} internal;
};
/* When the engine took the command (rdp_lun_submit, or its arrival_ns), on the engine's
 * clock: the oldest command of a stalled LUN is the one a watchdog should name. */
uint64_t rdp_cmd_start_ns(const struct rdp_cmd *cmd);

/* ---- completion classification (classify.c) ---- */
enum rdp_verdict {
	RDP_V_COMPLETE,		/* good, or a result that belongs to the initiator as it is */
	RDP_V_TARGET_ERROR,	/* the LUN answered with an error: return it unchanged */
	RDP_V_PATH_ERROR,	/* the path failed: mark it failed, re-issue elsewhere */
	RDP_V_RETRY,		/* transient (BUSY, unit attention ...): retry after a delay */
	RDP_V_CAPACITY_CHANGED, /* 2A/09: re-read the capacity, retry */
};

struct rdp_classification {
	enum rdp_verdict verdict;
	const char *reason; /* static string naming the rule that matched */
};

struct rdp_classification rdp_classify_completion(const struct rdp_io_result *res,
						  const uint8_t *sense, size_t sense_len);
const char *rdp_verdict_name(enum rdp_verdict v);

/* ---- identity (identity.c) ---- */
#define RDP_WWID_MAX 256
/* Derive the LUN's identity string from a VPD 0x83 page ("naa.<hex>", "eui.<hex>", "t10.<text>",
 * or the SCSI name string). Returns 0, or -ENODATA when the page has no LU designator. */
int rdp_wwid_from_vpd83(const uint8_t *page, size_t len, char *out, size_t out_len);
/* Are a and b the same LUN identity, as the engine compares them: blanks around either (a T10
 * vendor field's padding, the newline of a sysfs attribute) are not part of it, and hex
 * designators (naa., eui.) compare case-insensitively. */
bool rdp_wwid_same(const char *a, const char *b);
/* Rewrite a VPD 0x83 page in place keeping only the logical-unit designators (the ones that
 * do not depend on the target port a path goes through). Returns the new page length. */
size_t rdp_vpd83_lu_only(uint8_t *page, size_t len);

/* ---- configuration (config.c) ---- */
#define RDP_MAX_PATHS 32

enum rdp_selector_kind {
	RDP_SEL_ROUND_ROBIN = 0,
	RDP_SEL_QUEUE_LENGTH,
	RDP_SEL_SERVICE_TIME,
	RDP_SEL_WEIGHTED,
};

/* How paths are put into priority groups; I/O uses the best group with a usable path. */
enum rdp_grouping {
	RDP_GROUP_AUTO = 0, /* alua when the LUN reports TPGS, multibus otherwise */
	RDP_GROUP_ALUA,	    /* by ALUA state: active/optimized > active/non-optimized > standby */
	RDP_GROUP_PRIORITY, /* by the static priority= of each path */
	RDP_GROUP_MULTIBUS, /* all paths in one group */
	RDP_GROUP_FAILOVER, /* one path per group */
};

enum rdp_failback {
	RDP_FAILBACK_IMMEDIATE = 0, /* back to a better group as soon as it has a usable path */
	RDP_FAILBACK_MANUAL,	    /* only by an admin (switch-group) */
	RDP_FAILBACK_FOLLOWOVER,    /* only when the current group has no usable path left */
	RDP_FAILBACK_DEFERRED,	    /* after failback_delay_ms of the better group being usable */
};

/* no_path_retry: what happens to commands when no path is usable */
#define RDP_NO_PATH_FAIL 0u	     /* fail them at once (02/08/00, docs/commands.md) */
#define RDP_NO_PATH_QUEUE UINT32_MAX /* hold them up to the kernel's cmd_time_out bound */
/* any other value N: hold them for N checker intervals (still capped by cmd_time_out) */

/* What a LUN is made of. Specs are allocated by librdp only (rdp_lun_spec_new(),
 * rdp_lun_spec_resolve()) and freed with rdp_lun_spec_free(), so a later librdp can append
 * members, with their defaults, under older callers: sizeof(struct rdp_lun_spec) is not part of
 * the ABI and a spec is never declared by a caller. A caller may change its members; the
 * strings and arrays belong to the spec (g_malloc'd: rdp_lun_spec_free() and
 * rdp_lun_spec_drop_used() g_free them), and priorities and weights, when set, have one entry
 * per device of paths (the engine reads them by a path's position). */
struct rdp_lun_spec {
	char *name;   /* config section, or the cfgstring for wwid= */
	char *wwid;   /* when the LUN is given by identity; NULL otherwise */
	char **paths; /* NULL-terminated device list (from paths= or from discovery) */
	unsigned int cmd_timeout_ms;	  /* per-command timeout on a path */
	unsigned int checker_interval_ms; /* how often a failed path is tested */
	unsigned int max_retries;	  /* bound on re-issues of one command */
	enum rdp_selector_kind selector;

	/* path groups, failback, no-path policy */
	enum rdp_grouping grouping;
	enum rdp_failback failback;
	unsigned int failback_delay_ms; /* RDP_FAILBACK_DEFERRED */
	unsigned int no_path_retry;	/* RDP_NO_PATH_FAIL, RDP_NO_PATH_QUEUE or N */
	/* path checker */
	unsigned int max_checker_interval_ms; /* healthy paths back off up to this */
	bool read_checker;		      /* check with READ(10) of block 0, not only TUR */
	/* marginal paths (multipath-tools' san_path_err_* model): a path that fails
	 * marginal_err_count times within marginal_window_ms is held out for
	 * marginal_recovery_ms even if it answers. marginal_err_count 0 disables. */
	unsigned int marginal_err_count;
	unsigned int marginal_window_ms;
	unsigned int marginal_recovery_ms;
	/* per path, aligned with paths[]; NULL when not configured */
	unsigned int *priorities; /* grouping=priority: higher is better */
	unsigned int *weights;	  /* selector=weighted: relative share, >= 1 */
	/* the gateway's own target port, for two or more gateways in front of one LUN: port
	 * target_port (1..target_ports) of target_ports, each its own target port group, all
	 * active/optimized. 0: the gateway is the LUN's only port and claims no ALUA (TPGS 0).
	 * Read at attach only: a reload does not change what the initiator was told.
	 * Since librdp 0.1 (LIBRDP_0.1): check them with rdp_target_port_problem(), which also
	 * keeps the program from loading with an older librdp.so.0, whose specs end before them. */
	unsigned int target_port;
	unsigned int target_ports;
};

/* The most gateways (target ports) in front of one LUN. */
#define RDP_TARGET_PORTS_MAX 32
/* Whether target_port port of target_ports ports names a gateway: ports at most
 * RDP_TARGET_PORTS_MAX, and port 1..ports, or 0 (the LUN's only port) with ports 0 or 1. NULL
 * when it does, else the rule it breaks, in words (a static string). rdp_lun_open() and the
 * configuration apply the same rule. Since LIBRDP_0.1. */
const char *rdp_target_port_problem(unsigned int port, unsigned int ports);

struct rdp_config; /* a parsed configuration file */

/* Error domain of rdp_config_load() and rdp_lun_spec_resolve(). */
#define RDP_CONFIG_ERROR (rdp_config_error_quark())
GQuark rdp_config_error_quark(void);

enum rdp_config_error {
	RDP_CONFIG_ERROR_READ,	 /* the file cannot be read */
	RDP_CONFIG_ERROR_SYNTAX, /* not an ini file of the expected shape */
	RDP_CONFIG_ERROR_KEY,	 /* a key or section is unknown, repeated, missing or in conflict */
	RDP_CONFIG_ERROR_VALUE,	 /* a value is malformed or out of range */
	RDP_CONFIG_ERROR_NO_LUN, /* the cfgstring names no LUN */
	RDP_CONFIG_ERROR_DEVICE, /* a backing device is missing or is not an sg device */
	RDP_CONFIG_ERROR_DISCOVER /* sysfs could not be enumerated */
};

#define RDP_DEFAULT_CONFIG "/etc/tcmu-rdp/tcmu-rdp.conf"

/* Load a configuration file. A missing default file is an empty config; every other problem is
 * an error naming the file, group and key. */
struct rdp_config *rdp_config_load(const char *file, bool missing_ok, GError **err);
void rdp_config_free(struct rdp_config *cfg);
/* Resolve a cfgstring ("wwid=<id>" or a section name) into a spec. For wwid= the device list is
 * found with rdp_discover_wwid(). */
struct rdp_lun_spec *rdp_lun_spec_resolve(const struct rdp_config *cfg, const char *cfgstring,
					  GError **err);
/* A spec for the LUN named name on the devices paths (NULL-terminated, copied; NULL: none yet),
 * with the built-in defaults of every setting (those of a configuration file that sets none). */
struct rdp_lun_spec *rdp_lun_spec_new(const char *name, const char *const *paths);
void rdp_lun_spec_free(struct rdp_lun_spec *spec);
typedef struct rdp_lun_spec rdp_lun_spec;
typedef struct rdp_config rdp_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rdp_lun_spec, rdp_lun_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rdp_config, rdp_config_free)
/* What sysfs says of a resolved spec's devices, without sending them a single command (so it
 * cannot block on a hung device): each one's SCSI peripheral type must be one with blocks, and
 * the identities the kernel read at scan time (device/wwid) must agree with each other and with
 * spec->wwid. On success *wwid (may be NULL) gets the common identity, g_malloc'd, or NULL when
 * sysfs knows none. The paths' own VPD 0x83 answers are still read when a LUN opens, and those
 * decide. */
bool rdp_lun_spec_check_sysfs(const struct rdp_lun_spec *spec, char **wwid, GError **err);

/* What resolution checks of every backing device: it exists, is an SCSI generic (sg)
 * character device, and is not a disk that this machine's own target exports (a path through
 * it would loop back into the gateway). On success *rdev (may be NULL) gets its device number.
 * Errors (RDP_CONFIG_ERROR_DEVICE) start with "<dev>: " and say what to give instead. */
bool rdp_sg_device_check(const char *dev, dev_t *rdev, GError **err);

/* ---- discovery (discover.c) ---- */
/* Every /dev/sgN whose SCSI device reports this wwid in sysfs. NULL-terminated, maybe empty. */
char **rdp_discover_wwid(const char *wwid, GError **err);

/* ---- engine (lun.c) ---- */
struct rdp_env {
	size_t size; /* sizeof(struct rdp_env) */
	const struct rdp_backend_ops *backend; /* read once, by rdp_lun_open() */
	uint64_t (*now_ns)(void); /* injected clock; NULL: the monotonic clock */
};

/* ---- event-loop glue (loop.c) ---- */
/* A clock for rdp_env.now_ns that reads the monotonic clock once per iteration of the main loop
 * of ctx (NULL: the default context) and hands that reading to every call made from a dispatch
 * of the same iteration; outside a dispatch it reads the clock every time. One thread only. */
void rdp_loop_clock_attach(GMainContext *ctx);
void rdp_loop_clock_detach(void);
uint64_t rdp_loop_clock_ns(void);
/* The next reading is fresh: after a call that blocked (a synchronous probe), the time cached
 * for this dispatch is stale, and a deadline checked against it would pass too late. */
void rdp_loop_clock_invalidate(void);
/* g_unix_fd_add(fd, G_IO_IN, ...) on the default context for a data-path fd, without the two
 * wakeups of the loop per dispatch that GLib's blocking of a dispatching source costs. The
 * callback must not iterate the main loop. Remove with g_source_remove(). */
guint rdp_loop_fd_add(int fd, GUnixFDSourceFunc fn, gpointer data);
/* g_timeout_add(ms, ...) on a timerfd, so iterations that it is not due in read no clock; same
 * recursion rule. Remove with g_source_remove() (closes the timerfd). */
guint rdp_loop_tick_add(unsigned int ms, GSourceFunc fn, gpointer data);
/* Read a small file (a configfs or sysfs attribute) in a worker thread and hand its text,
 * stripped, to fn on the calling thread's default context (the daemon's loop). From the loop
 * itself such a read can hang for good: an open() under a configfs directory that is being
 * removed waits for the removal, and the removal of a TCMU device waits for this loop's
 * netlink reply. text is NULL when the file
 * could not be read (err says why). After rdp_loop_read_cancel() fn is not called; the
 * worker's result is dropped whenever it comes. */
typedef void (*rdp_file_read_fn)(const char *text, const GError *err, void *data);
struct rdp_file_read;
struct rdp_file_read *rdp_loop_read_file(const char *path, rdp_file_read_fn fn, void *data);
void rdp_loop_read_cancel(struct rdp_file_read *r);
/* Work put off to the end of the current iteration of the default context: once armed, fn
 * runs at the start of the next iteration, before its poll(), however many times it was armed
 * meanwhile. Unlike an idle source it costs no iteration of its own (an idle makes the next
 * poll() return at once for it). fn must not destroy its own source. */
struct rdp_deferred;
struct rdp_deferred *rdp_loop_deferred_new(void (*fn)(void *data), void *data);
void rdp_loop_deferred_arm(struct rdp_deferred *d);
bool rdp_loop_deferred_armed(const struct rdp_deferred *d);
void rdp_loop_deferred_free(struct rdp_deferred *d);

struct rdp_capacity {
	uint64_t blocks;
	uint32_t block_size;
};

enum rdp_path_state {
	RDP_PATH_ACTIVE,   /* usable */
	RDP_PATH_FAILED,   /* a path error, or an admin's fail; the checker tests it */
	RDP_PATH_CHECKING, /* answered the checker; identity being proven before use */
	RDP_PATH_STANDBY,  /* ALUA standby/unavailable: answers, but not for I/O */
	RDP_PATH_MARGINAL, /* failed too often lately: held out for a recovery time */
};

struct rdp_path_stats {
	uint64_t cmds;
	uint64_t bytes;
	uint64_t path_errors;
	uint64_t target_errors;
	uint64_t retries;
	uint64_t failovers; /* commands moved off this path */
	uint32_t inflight;
	uint64_t lat_sum_us; /* mean = lat_sum_us / (cmds - inflight) */
	uint32_t lat_max_us;
	uint64_t transitions; /* state changes */
	uint64_t checks;      /* checker commands sent */
};

struct rdp_lun_stats {
	uint64_t cmds;
	uint64_t errors_returned; /* commands completed to the initiator with non-GOOD status */
	uint64_t failovers;
	uint64_t path_failures;
	uint64_t path_recoveries;
	uint64_t retries;	 /* re-issues after a transient condition */
	uint64_t target_errors;	 /* LUN errors returned unchanged */
	uint64_t queued;	 /* commands that waited for a usable path */
	uint64_t queue_time_us;	 /* total time they waited */
	uint64_t no_path_failed; /* commands failed because no path came back in time */
	uint64_t expired;	 /* past their deadline: completed to the ring, never re-sent */
	uint64_t lat_sum_us;	 /* mean = lat_sum_us / completed */
	uint64_t completed;
	uint32_t lat_max_us;
};

/* Create a LUN: open every path of spec, check each answers INQUIRY with the same identity
 * (and spec->wwid when given), read the capacity. Fails with a readable error otherwise. */
struct rdp_lun *rdp_lun_open(const struct rdp_lun_spec *spec, const struct rdp_env *env,
			     GError **err);
/* The identity (RDP_WWID_MAX at most) that device dev answers with over env's backend: the
 * INQUIRY VPD 0x83 that rdp_lun_open() sends every path, and no other command, synchronously.
 * 0, or -errno with err set (the device cannot be opened, does not answer, or names no
 * logical unit). */
int rdp_device_wwid(const struct rdp_env *env, const char *dev, char *wwid, size_t len,
		    GError **err);
/* Refuse a front-end size/block size that the backing LUN cannot serve. */
bool rdp_lun_check_frontend(struct rdp_lun *lun, uint64_t dev_size, uint32_t block_size,
			    GError **err);
/* Admin actions (rdpctl). A path failed by the admin stays failed until reinstated; a
 * reinstated path is checked (TUR + identity) before it carries I/O. switch_group makes group
 * n (0 = best) current until the failback policy moves it. -EINVAL/-ENOENT on a bad argument. */
int rdp_path_admin_fail(struct rdp_path *p);
int rdp_path_admin_reinstate(struct rdp_path *p);
int rdp_lun_switch_group(struct rdp_lun *lun, unsigned int n);
unsigned int rdp_lun_group_count(const struct rdp_lun *lun);
unsigned int rdp_lun_current_group(const struct rdp_lun *lun);
/* The group a path is in (0 = best) and its priority. */
unsigned int rdp_path_group(const struct rdp_path *p);
unsigned int rdp_path_priority(const struct rdp_path *p);
/* Why the path is in its state (the last transition's reason). */
const char *rdp_path_reason(const struct rdp_path *p);
/* The ALUA access state of the path's target port group as last read from REPORT TARGET PORT
 * GROUPS ("active/optimized", "active/non-optimized", "standby", ...), with " (preferred)"
 * when the target prefers that group; NULL when the LUN reports no ALUA or the path's state
 * was never read. */
const char *rdp_path_alua_state(const struct rdp_path *p);
/* The path's target port group and relative target port (VPD 0x83); -1 when its identity page
 * names none. */
int rdp_path_target_port_group(const struct rdp_path *p);
int rdp_path_relative_port(const struct rdp_path *p);

/* Live changes (hotplug, reload), none of which sends a SCSI command synchronously. add_path
 * opens the device and adds it in state `checking`; the asynchronous checker starts at once and
 * makes it `active` only after TUR, its VPD 0x83 identity (the LUN's) and, with ALUA, its RTPG
 * answer (which gives its priority). One whose identity is another LUN's is dropped again. It
 * fails only when the device cannot be opened or the LUN is full. spec gives its
 * priority/weight (may be NULL). remove_path
 * fails the path at once and frees it when its commands have come back. reconfigure applies a
 * new spec: policies swapped, paths added and removed; a change that cannot be made live (the
 * LUN's identity) is refused whole with the old settings kept; target_port and target_ports keep
 * their attach-time values, the rest applies. report gets one line per change. */
int rdp_lun_add_path(struct rdp_lun *lun, const char *dev, const struct rdp_lun_spec *spec,
		     GError **err);
int rdp_lun_remove_path(struct rdp_lun *lun, const char *dev, const char *why);
bool rdp_lun_reconfigure(struct rdp_lun *lun, const struct rdp_lun_spec *spec, GString *report,
			 GError **err);

/* A device serves one LUN only: two LUNs on one device would be two caches of the same blocks
 * that know nothing of each other. find_device is the LUN's path on device dev, whatever name
 * either was given by (a udev symlink and /dev/sgN are one device; names are compared when dev
 * names no device), or NULL. check_unused refuses a spec one of whose devices is a path of one of
 * luns (struct rdp_lun *), with an error naming the device, that LUN and what to do.
 * drop_used takes such devices out of spec (with their priorities and weights), one sentence
 * per device in report: a reload or a new device never moves a path from one LUN to another. */
struct rdp_path *rdp_lun_find_device(const struct rdp_lun *lun, const char *dev);
/* The same over several LUNs (struct rdp_lun *): the first path found; its LUN is p->lun. */
struct rdp_path *rdp_luns_find_device(GPtrArray *luns, const char *dev);
bool rdp_lun_spec_check_unused(const struct rdp_lun_spec *spec, GPtrArray *luns, GError **err);
void rdp_lun_spec_drop_used(struct rdp_lun_spec *spec, GPtrArray *luns, GString *report);

/* Commands held with no usable path fail after this long (keep it under the kernel's
 * cmd_time_out so the initiator gets our sense, not a timeout). */
void rdp_lun_set_no_path_timeout(struct rdp_lun *lun, unsigned int ms);
/* The kernel's per-command bound (TCMU attrib/cmd_time_out, in ms; 0 = none). Every command
 * gets the deadline arrival + ms - margin: no attempt's timeout runs past it, the first one
 * leaves room for a second path, and after it nothing is re-sent. Also bounds the no-path
 * hold. Call again whenever the value may have changed; later commands use the new value. */
void rdp_lun_set_kernel_timeout(struct rdp_lun *lun, unsigned int ms);
/* For a watchdog's log: where a command of this LUN is and for how long ("opcode 0x2a, CDB
 * ..., 8.1 s since arrival, attempt 1 on /dev/sg1 (failed) for 8.0 s, timeout 3750 ms", or the
 * queue it waits in), and the LUN's state (its paths, their states and commands in flight, the
 * queues). Free with g_free(). */
char *rdp_cmd_describe(const struct rdp_lun *lun, const struct rdp_cmd *cmd);
char *rdp_lun_describe(const struct rdp_lun *lun);
/* The kernel's cmd_time_out last set, in ms; 0: none. */
unsigned int rdp_lun_kernel_timeout(const struct rdp_lun *lun);
/* The deadline's margin under a kernel timeout of ms: the kernel's clock starts when it
 * queues the command, a little before we read it, and our completion must reach it first. */
unsigned int rdp_deadline_margin_ms(unsigned int ms);
/* Take a command. The engine decides cmd->dir from the CDB and calls cmd->done() exactly once. */
void rdp_lun_submit(struct rdp_lun *lun, struct rdp_cmd *cmd);
/* Take a command the submitter cannot pass on, and complete it with CHECK CONDITION and this
 * sense (counted like every other command). */
void rdp_lun_submit_error(struct rdp_lun *lun, struct rdp_cmd *cmd, uint8_t key, uint8_t asc,
			  uint8_t ascq);
/* Periodic work: path checker, delayed retries. Call every ~100 ms. */
void rdp_lun_tick(struct rdp_lun *lun);
unsigned int rdp_lun_inflight(const struct rdp_lun *lun);
void rdp_lun_close(struct rdp_lun *lun);

const char *rdp_lun_name(const struct rdp_lun *lun);
const char *rdp_lun_wwid(const struct rdp_lun *lun);
struct rdp_capacity rdp_lun_capacity(const struct rdp_lun *lun);
const struct rdp_lun_stats *rdp_lun_stats(const struct rdp_lun *lun);
unsigned int rdp_lun_path_count(const struct rdp_lun *lun);
struct rdp_path *rdp_lun_path(const struct rdp_lun *lun, unsigned int i);
const char *rdp_path_dev(const struct rdp_path *p);
enum rdp_path_state rdp_path_state(const struct rdp_path *p);
const char *rdp_path_state_name(enum rdp_path_state s);
const struct rdp_path_stats *rdp_path_stats(const struct rdp_path *p);
