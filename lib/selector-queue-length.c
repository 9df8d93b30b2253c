/* Queue-length selector (dm-queue-length's policy): the path with the fewest commands in flight.
 * Paths that tie are taken in round-robin order of their ids, so equally loaded paths share the
 * work instead of the first one in the list taking every command that finds them all idle. */
#include "selector.h"

static unsigned int ql_select(struct rdp_selector_state *st, const unsigned int *ids,
			      const struct rdp_path_load *const *load, unsigned int n, size_t bytes)
{
	unsigned int best = 0;

	(void)bytes;
	for (unsigned int i = 1; i < n; i++) {
		uint32_t q = load[i]->inflight, bq = load[best]->inflight;

		if (q < bq || (q == bq && rdp_rr_distance(st->rr_next, ids[i]) <
					      rdp_rr_distance(st->rr_next, ids[best])))
			best = i;
	}
	if (n)
		st->rr_next = (ids[best] + 1) % RDP_MAX_PATHS;
	return best;
}

const struct rdp_selector_ops rdp_selector_queue_length = {
    .name = "queue-length",
    .select = ql_select,
};
