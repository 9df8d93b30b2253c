/* Path selectors: which usable path of the current group carries the next command. One vtable,
 * one small file per policy (selector-*.c). The engine keeps the load figures of every path
 * (struct rdp_path_load) and hands a selector only the usable paths of the best group. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <librdp/rdp.h>

/* What the engine tracks per path for the selectors. Updated by rdp_path_load_start() and
 * rdp_path_load_done(); selectors only read it. */
struct rdp_path_load {
	uint32_t inflight;	 /* commands on the path now */
	uint64_t inflight_bytes; /* their transfer lengths */
	uint64_t tput;		 /* measured throughput, bytes per second (EWMA); 0 until known */
	uint32_t weight;	 /* static weight from the configuration, >= 1 */
};

/* Per-LUN selector state, owned by the engine; zeroed at start. */
struct rdp_selector_state {
	unsigned int rr_next; /* round-robin position: the id whose turn is next (tie-breaks too) */
	unsigned int usable_mask;	/* weighted: the usable ids of the last pick, as bits */
	uint64_t credit[RDP_MAX_PATHS]; /* weighted: smooth-weighted-round-robin credits */
};

/* Distance from the rotation point next to id, going up and wrapping at RDP_MAX_PATHS: the
 * round-robin order, and the tie-break of the load-based selectors. */
static inline unsigned int rdp_rr_distance(unsigned int next, unsigned int id)
{
	return (id % RDP_MAX_PATHS + RDP_MAX_PATHS - next % RDP_MAX_PATHS) % RDP_MAX_PATHS;
}

struct rdp_selector_ops {
	const char *name;
	/* Choose one of n usable paths (n >= 1) for a command of `bytes`; returns its position
	 * 0..n-1. ids[i] is the path's stable index in the LUN (0..RDP_MAX_PATHS-1, for state kept
	 * per path), load[i] its load. O(n) at worst, no allocation. */
	unsigned int (*select)(struct rdp_selector_state *st, const unsigned int *ids,
			       const struct rdp_path_load *const *load, unsigned int n, size_t bytes);
};

extern const struct rdp_selector_ops rdp_selector_round_robin;
extern const struct rdp_selector_ops rdp_selector_queue_length;
extern const struct rdp_selector_ops rdp_selector_service_time;
extern const struct rdp_selector_ops rdp_selector_weighted;

/* The selector for a configuration value, or NULL. */
const struct rdp_selector_ops *rdp_selector_find(enum rdp_selector_kind kind);

/* Book-keeping the engine does around every command on a path. */
void rdp_path_load_start(struct rdp_path_load *l, size_t bytes);
void rdp_path_load_done(struct rdp_path_load *l, size_t bytes, uint64_t latency_us);
