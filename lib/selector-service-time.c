/* Service-time selector (dm-service-time's policy): the path that would finish the new command
 * soonest, estimated as (bytes in flight + the command's bytes) / the path's throughput. Unlike
 * dm-service-time the throughput is measured (rdp_path_load_done), not configured. */
#include "selector.h"

/*
 * A path whose throughput is not measured yet (tput 0: new, or nothing completed on it) counts
 * as fast as the fastest measured path. Counting it slow would keep commands away from it, and
 * since only completions measure a path it would never be measured; counting it at the best
 * rate lets it take its share at once, and its queue still limits that share like any other's.
 * When no path is measured, all count the same and the choice is by bytes in flight alone.
 *
 * The estimate is computed in double: bytes in flight plus the command can exceed 64 bits, and
 * the cross-multiplication dm-service-time uses to avoid the division needs 128. Every divisor
 * is at least 1.
 */
static unsigned int st_select(struct rdp_selector_state *st, const unsigned int *ids,
			      const struct rdp_path_load *const *load, unsigned int n, size_t bytes)
{
	uint64_t best_known = 0;
	unsigned int best = 0;
	double best_cost = 0, best_tput = 0;

	for (unsigned int i = 0; i < n; i++)
		if (load[i]->tput > best_known)
			best_known = load[i]->tput;
	if (!best_known)
		best_known = 1;

	for (unsigned int i = 0; i < n; i++) {
		double tput = (double)(load[i]->tput ? load[i]->tput : best_known);
		double cost = ((double)load[i]->inflight_bytes + (double)bytes) / tput;

		/* equal estimates: the faster path (its queue drains sooner, as dm-service-time
		 * prefers), then round-robin order so equal paths share */
		if (i == 0 || cost < best_cost ||
		    (cost == best_cost &&
		     (tput > best_tput ||
		      (tput == best_tput &&
		       rdp_rr_distance(st->rr_next, ids[i]) < rdp_rr_distance(st->rr_next, ids[best]))))) {
			best = i;
			best_cost = cost;
			best_tput = tput;
		}
	}
	if (n)
		st->rr_next = (ids[best] + 1) % RDP_MAX_PATHS;
	return best;
}

const struct rdp_selector_ops rdp_selector_service_time = {
    .name = "service-time",
    .select = st_select,
};
