/* Path groups and failback. Paths of equal priority form a group; I/O goes to the current group,
 * which is the best group with a usable path unless the failback policy says to stay. Within the
 * group the LUN's selector picks the path. Re-evaluated only when a path changes state (and on
 * the tick for deferred failback), so a command costs O(paths) and no allocation. */
#include <errno.h>

#include "lun-internal.h"

static const char *failback_name(enum rdp_failback f)
{
	switch (f) {
	case RDP_FAILBACK_IMMEDIATE:
		return "immediate";
	case RDP_FAILBACK_MANUAL:
		return "manual";
	case RDP_FAILBACK_FOLLOWOVER:
		return "followover";
	case RDP_FAILBACK_DEFERRED:
		return "deferred";
	}
	return "?";
}

void rdp_group_assign(struct rdp_lun *lun)
{
	unsigned int prios[RDP_MAX_PATHS];
	unsigned int n = 0;

	/* distinct priorities, highest first (insertion sort: at most RDP_MAX_PATHS) */
	for (unsigned int i = 0; i < lun->npaths; i++) {
		unsigned int pr = lun->paths[i]->prio, j;
		for (j = 0; j < n && prios[j] != pr; j++)
			;
		if (j < n)
			continue;
		for (j = n++; j > 0 && prios[j - 1] < pr; j--)
			prios[j] = prios[j - 1];
		prios[j] = pr;
	}
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		for (unsigned int g = 0; g < n; g++)
			if (prios[g] == p->prio)
				p->group = g;
	}
	lun->ngroups = n ? n : 1;
	if (lun->cur_group >= lun->ngroups)
		lun->cur_group = 0;
	lun->regroup = true;
}

static void switch_to(struct rdp_lun *lun, unsigned int g, const char *why)
{
	if (g == lun->cur_group)
		return;
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", lun->name, "MESSAGE",
			 "lun %s: path group %u -> %u (%s)", lun->name, lun->cur_group, g, why);
	lun->cur_group = g;
	lun->better_since_ns = 0;
}

/* Where I/O should go now. Called when a path changed state, or the current group has no
 * usable path. */
static void regroup(struct rdp_lun *lun)
{
	bool usable[RDP_MAX_PATHS] = {false};
	int best = -1;

	lun->regroup = false;
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (rdp_path_usable(lun->paths[i]))
			usable[lun->paths[i]->group] = true;
	for (unsigned int g = 0; g < lun->ngroups; g++)
		if (usable[g]) {
			best = (int)g;
			break;
		}
	if (best < 0)
		return; /* nothing usable anywhere: the caller holds the command */
	if (!usable[lun->cur_group]) {
		/* failover: always, whatever the failback policy */
		switch_to(lun, (unsigned int)best, "current group has no usable path");
		return;
	}
	if ((unsigned int)best >= lun->cur_group)
		return;
	switch (lun->failback) {
	case RDP_FAILBACK_IMMEDIATE:
		switch_to(lun, (unsigned int)best, "failback: immediate");
		break;
	case RDP_FAILBACK_DEFERRED:
		if (!lun->better_since_ns)
			lun->better_since_ns = rdp_now(lun);
		break;
	case RDP_FAILBACK_MANUAL:
	case RDP_FAILBACK_FOLLOWOVER:
		break;
	}
}

void rdp_group_tick(struct rdp_lun *lun)
{
	if (lun->failback != RDP_FAILBACK_DEFERRED || !lun->better_since_ns)
		return;
	/* still better? */
	lun->regroup = true;
	regroup(lun);
	if (!lun->better_since_ns)
		return;
	for (unsigned int g = 0; g < lun->cur_group; g++) {
		for (unsigned int i = 0; i < lun->npaths; i++) {
			struct rdp_path *p = lun->paths[i];
			if (p->group == g && rdp_path_usable(p)) {
				if (rdp_now(lun) - lun->better_since_ns >=
				    rdp_ms_ns(lun->failback_delay_ms))
					switch_to(lun, g, "failback: deferred delay passed");
				return;
			}
		}
	}
	lun->better_since_ns = 0; /* the better group went away again */
}

struct rdp_path *rdp_group_select(struct rdp_lun *lun, size_t bytes)
{
	unsigned int ids[RDP_MAX_PATHS], pos[RDP_MAX_PATHS];
	const struct rdp_path_load *load[RDP_MAX_PATHS];
	unsigned int n = 0;

	if (lun->regroup)
		regroup(lun);
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		for (unsigned int i = 0; i < lun->npaths; i++) {
			struct rdp_path *p = lun->paths[i];
			if (p->group == lun->cur_group && rdp_path_usable(p)) {
				ids[n] = p->id;
				pos[n] = i;
				load[n++] = &p->load;
			}
		}
		if (n == 0 && pass == 0)
			regroup(lun); /* the current group just lost its last path */
	}
	if (n == 0)
		return NULL;
	return lun->paths[pos[lun->selector->select(&lun->sel, ids, load, n, bytes)]];
}

int rdp_lun_switch_group(struct rdp_lun *lun, unsigned int n)
{
	if (n >= lun->ngroups)
		return -EINVAL;
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (lun->paths[i]->group == n && rdp_path_usable(lun->paths[i])) {
			g_autofree char *why = g_strdup_printf(
				"switched by the administrator; failback %s",
				failback_name(lun->failback));
			switch_to(lun, n, why);
			return 0;
		}
	return -ENOENT; /* no usable path in that group */
}

unsigned int rdp_lun_group_count(const struct rdp_lun *lun)
{
	return lun->ngroups;
}

unsigned int rdp_lun_current_group(const struct rdp_lun *lun)
{
	return lun->cur_group;
}
