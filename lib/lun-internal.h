/* The LUN and path structures shared by the engine's files: lun.c (a command's life, queues,
 * the tick), attach.c (a LUN opened: probes, identity), capacity.c, priority.c, path.c (path
 * states), luns.c (which LUN a device serves), group.c (path groups, failback), checker.c
 * (path checker), reconfig.c (live changes), limits.c, frontend.c (the gateway's own answers). Only lib/ includes this, and the
 * unit tests, which link the engine's objects as a static archive to reach its internals;
 * nothing built against librdp.so.0 can. */
#pragma once

#include <sys/types.h>

#include "alua.h"
#include <librdp/rdp.h>
#include "selector.h"

/* The engine's state of one command, kept in the opaque internal words of struct rdp_cmd (its
 * size is ABI, this layout is not). may_alias: it is read and written through those words. */
struct __attribute__((may_alias)) rdp_cmd_priv {
	struct rdp_req req;
	struct rdp_path *path;
	unsigned int attempts;
	uint64_t seq; /* arrival order */
	uint64_t start_ns;
	uint64_t sent_ns; /* when the current attempt went to its path */
	uint64_t not_before_ns;
	/* after this the kernel may have failed the command to the initiator (its cmd_time_out):
	 * never sent to a path again; 0 = no deadline */
	uint64_t deadline_ns;
	struct rdp_cmd *next;
};
_Static_assert(sizeof(struct rdp_cmd_priv) <= sizeof(((struct rdp_cmd *)0)->internal),
	       "struct rdp_cmd_priv outgrew RDP_CMD_INTERNAL_WORDS (an ABI change)");
_Static_assert(_Alignof(struct rdp_cmd_priv) <= _Alignof(__typeof__(((struct rdp_cmd *)0)->internal)),
	       "struct rdp_cmd_priv needs an alignment the internal words do not give");

/* const in, mutable out: the describers read a const command through the same accessor */
static inline struct rdp_cmd_priv *cmd_priv(const struct rdp_cmd *cmd)
{
	return (struct rdp_cmd_priv *)(uintptr_t)cmd->internal.opaque;
}

struct rdp_path {
	struct rdp_lun *lun;
	/* stable id, 0..RDP_MAX_PATHS-1: the lowest free one when the path was made, never
	 * changed (the array position is, when the reaper compacts): selector state and the
	 * failover order hang off it */
	unsigned int id;
	char *dev;
	dev_t rdev; /* the device dev named when the path was made; 0 when it named none */
	void *bctx; /* backend context; NULL while the device cannot be opened */
	enum rdp_path_state state;
	char *last_reason;
	struct rdp_path_stats st;
	struct rdp_path_load load;

	/* grouping */
	unsigned int prio;  /* higher is better */
	unsigned int group; /* 0 = best */
	int alua_state;		  /* enum rdp_alua_state, or -1 when not known */
	bool alua_pref;		  /* its group is preferred (PREF bit of the RTPG answer) */
	struct rdp_alua_port port; /* its target port group / relative port (VPD 0x83) */

	/* admin and marginal holds: the checker does not bring the path back while set */
	bool admin_failed;
	bool removed; /* the device is gone or no longer configured: freed once idle */
	/* added live (hotplug, reload) and its identity not proven yet: if the checker finds it
	 * is another LUN's device, it is dropped from this LUN rather than kept failed */
	bool joining;
	/* attach: a probe of this path ended in a path error (a hung device's timeout among
	 * them); it gets no further synchronous probe, so a hung path costs one timeout */
	bool probe_dead;
	uint64_t marginal_until_ns;
	uint64_t err_window_start_ns;
	unsigned int err_window_count;

	/* path checker (checker.c) */
	uint64_t next_check_ns;
	unsigned int check_interval_ms; /* current interval; backs off while healthy */
	bool check_busy;
	int check_stage;
	unsigned int check_attempts;
	bool check_identity_ok; /* this round's VPD 0x83 answer was the LUN's */
	uint8_t check_cdb[16];
	struct iovec check_iov;
	uint8_t *check_buf;
	size_t check_buf_len;
	struct rdp_req check_req;
};

/* A cached answer of the backing LUN, served by the gateway whatever path is in use. */
struct rdp_page {
	uint8_t *data;
	size_t len;
};

struct rdp_cmd_queue {
	struct rdp_cmd *head, *tail;
	unsigned int len;
};

struct rdp_lun {
	char *name;
	char wwid[RDP_WWID_MAX];
	struct rdp_env env; /* the caller's, with backend = &ops */
	struct rdp_backend_ops ops;
	unsigned int cmd_timeout_ms;
	unsigned int checker_interval_ms;
	unsigned int max_checker_interval_ms;
	bool read_checker;
	unsigned int max_retries;
	unsigned int no_path_retry;
	unsigned int no_path_timeout_ms; /* the kernel's bound: cmd_time_out minus a margin */
	unsigned int kernel_timeout_ms;	 /* TCMU cmd_time_out; 0: the kernel never gives up */
	uint64_t expired_logged_ns;	 /* rate limit of the "expired" message */
	uint64_t expired_unlogged;	 /* expiries since that message */
	uint64_t uncarriable;		 /* commands no path's queue could take (logged 1, 2, 4…) */
	uint64_t nomem_busy;		 /* answered BUSY: no memory on any path (logged 1, 2, 4…) */
	/* one of several gateways refused by the backing LUN (RESERVATION CONFLICT: fenced) */
	uint64_t fenced_ns;   /* the last conflict; 0: none */
	uint64_t conflicts;   /* logged 1, 2, 4… */
	unsigned int marginal_err_count;
	unsigned int marginal_window_ms;
	unsigned int marginal_recovery_ms;
	enum rdp_grouping grouping; /* as resolved at attach: never AUTO */
	enum rdp_failback failback;
	unsigned int failback_delay_ms;

	struct rdp_path **paths;
	unsigned int npaths;

	/* groups: paths with equal prio share a group; group 0 has the highest prio */
	unsigned int ngroups;
	unsigned int cur_group;
	bool regroup;		 /* a path changed state: look at the groups again */
	uint64_t better_since_ns; /* deferred failback: a better group usable since */

	const struct rdp_selector_ops *selector;
	struct rdp_selector_state sel;

	struct rdp_capacity cap; /* backing LUN */
	uint64_t fe_blocks;	 /* front end: what the initiator may address */
	uint32_t fe_block_size;
	bool capacity_changed;	 /* a path reported 2A/09: read it again */
	/* the re-read: one asynchronous READ CAPACITY at a time, on a usable path */
	struct rdp_path *cap_path; /* where it is outstanding; NULL when none is */
	unsigned int cap_next;	   /* the path to try first next time (rotates) */
	unsigned int cap_failures; /* re-reads in a row that told nothing */
	bool cap_rc10;		   /* READ CAPACITY(16) was refused: use (10) */
	struct rdp_req cap_req;
	uint8_t cap_cdb[16];
	uint8_t cap_buf[32];
	struct iovec cap_iov;
	bool tpgs;		 /* the LUN reports ALUA */
	/* the gateway's own port, as attach found it in the spec and never changed after: what
	 * the initiator was told (TPGS, VPD 0x83, RTPG) must hold while it is served. 0: the only
	 * port, no ALUA claimed; N: port and group N of target_ports (alua.h) */
	unsigned int target_port;
	unsigned int target_ports;

	struct rdp_page inq_std;
	struct rdp_page vpd[256]; /* VPD pages served from cache; [0x83] is LU-only */
	struct rdp_page rc16;

	struct rdp_cmd_queue waiting; /* no usable path: bounded by no_path_retry */
	/* every usable path's queue full: waits for a completion, whatever no_path_retry says
	 * (a resource wait, not a path wait: SPDK's nomem_io); bounded by the deadline only */
	struct rdp_cmd_queue busy;
	struct rdp_cmd_queue delayed; /* retry after not_before_ns */
	unsigned int inflight;
	/* rdp_lun_close() was called while something was still out on a path: the LUN sends
	 * nothing more and frees itself when the last of it comes back (rdp_lun_release()) */
	bool closing;
	uint64_t next_seq;
	struct rdp_lun_stats st;
};

static inline uint64_t rdp_now(const struct rdp_lun *lun)
{
	return lun->env.now_ns();
}

static inline uint64_t rdp_ms_ns(unsigned int ms)
{
	return (uint64_t)ms * 1000000;
}

/* path.c */
void rdp_path_set_state(struct rdp_path *p, enum rdp_path_state to, const char *reason);
/* A path error on p: fail it, count it towards the marginal threshold, check it soon. */
void rdp_path_error(struct rdp_path *p, const char *reason);
/* The rule for freeing a path, or closing its backend context: nothing sent on it is still out
 * (a command, a check, a capacity read), so no device can still write into a buffer of ours
 * and no completion will name it. A close may come from inside a completion of the context
 * being closed (the last request back frees a closing LUN): the backend frees its own state
 * only after it has finished delivering (rdp_backend_ops.close). */
bool rdp_path_idle(const struct rdp_path *p);
/* Close and free an idle path. */
void rdp_path_free(struct rdp_path *p);
static inline bool rdp_path_usable(const struct rdp_path *p)
{
	return p->state == RDP_PATH_ACTIVE && p->bctx;
}
/* Whether any path of lun could take a command now (whatever group it is in). */
static inline bool rdp_lun_any_usable(const struct rdp_lun *lun)
{
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (rdp_path_usable(lun->paths[i]))
			return true;
	return false;
}
/* How long after the last RESERVATION CONFLICT one of several gateways calls its port
 * unavailable: the host's multipath stops choosing it meanwhile, then tries it again. */
#define RDP_FENCED_HOLD_MS 10000
/* Whether one of several gateways can serve the LUN: a usable path, and no RESERVATION
 * CONFLICT in the last RDP_FENCED_HOLD_MS (lun.c, fenced). Its RTPG says so (frontend.c). */
static inline bool rdp_lun_port_available(const struct rdp_lun *lun)
{
	return rdp_lun_any_usable(lun) &&
	       (!lun->fenced_ns || rdp_now(lun) - lun->fenced_ns >= rdp_ms_ns(RDP_FENCED_HOLD_MS));
}

/* luns.c: the number of the character device dev names (through symlinks); 0 when it names
 * none. */
dev_t rdp_char_dev_number(const char *dev);

/* priority.c */
/* The ALUA state and priority of p from its own RTPG answer. Returns the state, or -errno.
 * Changes p->prio (and regroups) when it moved. */
int rdp_lun_alua_update(struct rdp_path *p, const uint8_t *rtpg, size_t len);
void rdp_lun_assign_priority(struct rdp_lun *lun, struct rdp_path *p,
			     const struct rdp_lun_spec *spec, int spec_idx);

/* group.c */
/* Put paths into groups by the LUN's grouping policy (after attach and when priorities
 * change). */
void rdp_group_assign(struct rdp_lun *lun);
/* Pick a usable path for a command of `bytes` from the current group (moving to another group
 * when the policies say so); NULL when no path is usable. */
struct rdp_path *rdp_group_select(struct rdp_lun *lun, size_t bytes);
/* Periodic: deferred failback. */
void rdp_group_tick(struct rdp_lun *lun);

/* checker.c */
void rdp_checker_tick(struct rdp_lun *lun);
/* Something changed behind every path (ALUA states changed): check them all now. */
void rdp_checker_check_all_soon(struct rdp_lun *lun);
/* Give a path its checker state; its first check comes after checker_interval. */
void rdp_checker_init_path(struct rdp_path *p);
/* Check p now (a new path): TUR, identity, ALUA, all asynchronous. */
void rdp_checker_check_now(struct rdp_path *p);

/* lun.c */
void rdp_lun_run_waiting(struct rdp_lun *lun);
void rdp_lun_set_policies(struct rdp_lun *lun, const struct rdp_lun_spec *spec);

/* attach.c */
#define RDP_PROBE_TIMEOUT_MS 10000 /* a synchronous probe's, and a capacity re-read's, bound */
/* Probe a path's identity (VPD 0x83) synchronously, at attach only; fill = also fill the LUN's
 * caches. */
int rdp_path_identify(struct rdp_lun *lun, struct rdp_path *p, bool fill, char *wwid,
		      GError **err);
/* The path's ALUA state from its own REPORT TARGET PORT GROUPS, synchronously (attach). */
void rdp_lun_alua_probe(struct rdp_lun *lun, struct rdp_path *p);

/* capacity.c: after a CAPACITY DATA HAS CHANGED, one asynchronous READ CAPACITY on a usable
 * path (called from the tick while lun->capacity_changed is set). */
void rdp_lun_reread_capacity(struct rdp_lun *lun);
/* A completion of a LUN that is closing: free it if that was the last thing out. Returns true
 * when the LUN is closing (the caller stops there: lun may be gone). */
bool rdp_lun_release(struct rdp_lun *lun);
/* limits.c: VPD B0h's MAXIMUM TRANSFER LENGTH lowered to what the smallest path queue
 * carries (the backend's max_transfer), at attach; and when a path joins later. */
void rdp_lun_limit_transfer(struct rdp_lun *lun);
void rdp_lun_limit_transfer_path(struct rdp_lun *lun, const struct rdp_path *p);
/* reconfig.c: free paths that were removed once nothing of theirs is in flight. */
void rdp_lun_reap_paths(struct rdp_lun *lun);

/* frontend.c: answer the commands whose reply must not depend on the serving path.
 * Returns true when cmd was completed (status/sense filled; caller finishes it). */
bool rdp_frontend_emulate(struct rdp_lun *lun, struct rdp_cmd *cmd);
/* A path's good answer, before the initiator sees it: what it says of blocks past a partial
 * backstore is cut off (GET LBA STATUS descriptors). */
void rdp_frontend_answer(const struct rdp_lun *lun, struct rdp_cmd *cmd);
/* The data direction of a pass-through CDB; -1 for an opcode we do not know to carry data. */
int rdp_cdb_dir(const uint8_t *cdb);
void rdp_cmd_set_sense(struct rdp_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq);
size_t rdp_iov_copy_to(const struct iovec *iov, unsigned int cnt, const void *src, size_t len);
