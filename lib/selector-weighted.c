/* Weighted selector: static per-path weights from the configuration, spread by smooth weighted
 * round-robin (nginx's scheme), so a 3:1 weighting gives A A B A rather than A A A B: every
 * window of sum(weights) consecutive picks holds each path exactly weight times. */
#include <assert.h>

#include "selector.h"

/*
 * Each pick adds every usable path's weight to its credit, takes the path with the most credit
 * and charges it the total weight. From all-zero credits the sequence repeats every
 * sum(weights) picks with exact shares. Credits are signed in the scheme but unsigned in
 * struct rdp_selector_state, so they are stored offset by 2^63: they stay within
 * +-sum(weights) < 2^38 of it, and unsigned comparison orders them like the signed values.
 *
 * After the usable set changes, the credits left over belong to another set's cycle; carried on,
 * they would give an uneven transient until the sequence settles. So the credits restart from
 * zero whenever the set differs from the last call's, kept as a bit mask of ids in
 * st->usable_mask.
 */
#define CREDIT_ZERO ((uint64_t)1 << 63)

_Static_assert(RDP_MAX_PATHS <= sizeof(unsigned int) * 8, "usable-set mask must fit usable_mask");

/* The configuration guarantees >= 1; a 0 would make a path unreachable and the total 0. */
static uint64_t path_weight(const struct rdp_path_load *l)
{
	return l->weight ? l->weight : 1;
}

static unsigned int wrr_select(struct rdp_selector_state *st, const unsigned int *ids,
			       const struct rdp_path_load *const *load, unsigned int n,
			       size_t bytes)
{
	unsigned int members = 0, best = 0;
	uint64_t total = 0;

	(void)bytes;
	for (unsigned int i = 0; i < n; i++) {
		assert(ids[i] < RDP_MAX_PATHS);
		members |= 1u << ids[i];
	}
	if (members != st->usable_mask) {
		for (unsigned int i = 0; i < n; i++)
			st->credit[ids[i]] = CREDIT_ZERO;
		st->usable_mask = members;
	}

	for (unsigned int i = 0; i < n; i++) {
		uint64_t *c = &st->credit[ids[i]];
		uint64_t bc;

		*c += path_weight(load[i]);
		total += path_weight(load[i]);
		bc = st->credit[ids[best]];
		/* ties go to the lower id, whatever order the engine lists the paths in */
		if (*c > bc || (*c == bc && ids[i] < ids[best]))
			best = i;
	}
	if (n)
		st->credit[ids[best]] -= total;
	return best;
}

const struct rdp_selector_ops rdp_selector_weighted = {
    .name = "weighted",
    .select = wrr_select,
};
