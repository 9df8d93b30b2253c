/* Round-robin selector: each usable path in turn, in the order of their stable ids. The position
 * is an id, not an index into the usable list, so a path leaving or rejoining the list shifts
 * nobody else's turn: the rotation goes on from the id after the last one served. */
#include "selector.h"

static unsigned int rr_select(struct rdp_selector_state *st, const unsigned int *ids,
			      const struct rdp_path_load *const *load, unsigned int n, size_t bytes)
{
	unsigned int best = 0;
	unsigned int best_dist = RDP_MAX_PATHS;

	(void)load;
	(void)bytes;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int dist = rdp_rr_distance(st->rr_next, ids[i]);

		if (dist < best_dist) {
			best_dist = dist;
			best = i;
		}
	}
	if (n)
		st->rr_next = (ids[best] + 1) % RDP_MAX_PATHS;
	return best;
}

const struct rdp_selector_ops rdp_selector_round_robin = {
    .name = "round-robin",
    .select = rr_select,
};
