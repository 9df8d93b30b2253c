/* Path priority: the number that decides a path's group, from the configuration (priority=,
 * failover order) or from ALUA (the path's REPORT TARGET PORT GROUPS answer, read at attach and
 * by the checker's ALUA stage, which regroups the LUN when it changes). No I/O here. */
#include "alua.h"
#include "lun-internal.h"

/* A path's priority decides its group: static from the configuration (spec_idx: its position in
 * spec->paths, -1 when it is not there), one per path for failover, all equal for multibus, and
 * for ALUA from the path's last REPORT TARGET PORT GROUPS answer (read at attach, and by the
 * checker's ALUA stage, which also regroups when it changes). No I/O here: it runs on live LUNs. */
void rdp_lun_assign_priority(struct rdp_lun *lun, struct rdp_path *p,
			     const struct rdp_lun_spec *spec, int spec_idx)
{
	if (lun->grouping == RDP_GROUP_AUTO)
		lun->grouping = lun->tpgs ? RDP_GROUP_ALUA : RDP_GROUP_MULTIBUS;
	p->load.weight = spec && spec->weights && spec_idx >= 0 ? MAX(spec->weights[spec_idx], 1u) : 1;
	switch (lun->grouping) {
	case RDP_GROUP_PRIORITY:
		p->prio = spec && spec->priorities && spec_idx >= 0 ? spec->priorities[spec_idx] : 1;
		break;
	case RDP_GROUP_FAILOVER:
		/* configuration order first (a wwid LUN: the order found); a path the
		 * configuration does not name ranks after those, by its stable id */
		p->prio = spec_idx >= 0 ? 2 * RDP_MAX_PATHS - (unsigned int)MIN(spec_idx, RDP_MAX_PATHS - 1)
					: RDP_MAX_PATHS - p->id;
		break;
	case RDP_GROUP_ALUA:
		p->prio = p->alua_state >= 0
				  ? (unsigned int)rdp_alua_priority(p->alua_state, p->alua_pref)
				  : 1;
		break;
	case RDP_GROUP_MULTIBUS:
	case RDP_GROUP_AUTO:
		p->prio = 1;
		break;
	}
}

int rdp_lun_alua_update(struct rdp_path *p, const uint8_t *buf, size_t len)
{
	struct rdp_lun *lun = p->lun;
	g_auto(rdp_alua_rtpg) rtpg = {0};
	size_t needed = 0;

	int rc = rdp_alua_parse_rtpg(buf, len, &rtpg, &needed);
	if (rc < 0)
		return rc;
	const struct rdp_alua_group *g = rdp_alua_find_group(&rtpg, &p->port);
	if (!g)
		return -ENOENT;
	unsigned int prio = (unsigned int)rdp_alua_priority(g->state, g->pref);
	if (p->alua_state != (int)g->state)
		g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", lun->name, "RDP_PATH",
				 p->dev, "MESSAGE", "lun %s: path %s ALUA %s%s (priority %u)",
				 lun->name, p->dev, rdp_alua_state_name(g->state),
				 g->pref ? ", preferred" : "", prio);
	p->alua_state = (int)g->state;
	p->alua_pref = g->pref;
	if (lun->grouping == RDP_GROUP_ALUA && prio != p->prio) {
		p->prio = prio;
		rdp_group_assign(lun);
	}
	return (int)g->state;
}

