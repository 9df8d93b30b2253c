/* Changing a live LUN: paths that appear (hotplug, reload) join as `checking` and are proven by
 * the asynchronous checker (TUR, VPD 0x83 identity, ALUA) before they carry I/O; paths that go away are failed at once and freed only when nothing of theirs is in
 * flight; policies (selector, timeouts, checker, groups) are swapped between two commands. The
 * LUN's identity never changes: a reload that asks for that is refused whole. Nor does the
 * gateway's own target port: a reload that changes it applies the rest and says so. */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "lun-internal.h"

static int find_path(const struct rdp_lun *lun, const char *dev)
{
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (!lun->paths[i]->removed && !strcmp(lun->paths[i]->dev, dev))
			return (int)i;
	return -1;
}

static int spec_index(const struct rdp_lun_spec *spec, const char *dev)
{
	for (int i = 0; spec && spec->paths && spec->paths[i]; i++)
		if (!strcmp(spec->paths[i], dev))
			return i;
	return -1;
}

_Static_assert(RDP_MAX_PATHS <= 32, "path ids must fit a 32-bit mask");

/* The lowest id no path of the LUN has (the caller checked there are fewer than RDP_MAX_PATHS). */
static unsigned int free_id(const struct rdp_lun *lun)
{
	unsigned int used = 0;
	for (unsigned int i = 0; i < lun->npaths; i++)
		used |= 1u << lun->paths[i]->id;
	return (unsigned int)__builtin_ctz(~used);
}

int rdp_lun_add_path(struct rdp_lun *lun, const char *dev, const struct rdp_lun_spec *spec,
		     GError **err)
{
	if (find_path(lun, dev) >= 0)
		return 0;
	if (lun->npaths >= RDP_MAX_PATHS) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID, "lun %s: %s: already %d paths",
			    lun->name, dev, RDP_MAX_PATHS);
		return -ENOSPC;
	}
	void *bctx = NULL;
	int rc = lun->env.backend->open(dev, &bctx);
	if (rc < 0) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO, "lun %s: %s: %s", lun->name, dev,
			    g_strerror(-rc));
		return rc;
	}
	/* No SCSI command here: this runs on the loop that carries every LUN's I/O, and a new
	 * device may hang. The checker proves it asynchronously; until then it is `checking`
	 * and carries nothing. */
	struct rdp_path *p = g_new0(struct rdp_path, 1);
	p->lun = lun;
	p->id = free_id(lun);
	p->dev = g_strdup(dev);
	p->rdev = rdp_char_dev_number(dev);
	p->bctx = bctx;
	p->state = RDP_PATH_CHECKING;
	p->last_reason = g_strdup("new path: identity being checked");
	p->alua_state = -1;
	p->joining = true;
	lun->paths = g_renew(struct rdp_path *, lun->paths, lun->npaths + 1);
	lun->paths[lun->npaths++] = p;
	rdp_checker_init_path(p);
	rdp_lun_assign_priority(lun, p, spec, spec_index(spec, dev));
	rdp_group_assign(lun);
	rdp_lun_limit_transfer_path(lun, p);
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", lun->name, "RDP_PATH", dev,
			 "RDP_PATH_STATE", "checking", "MESSAGE",
			 "lun %s: path %s added, checking: TEST UNIT READY, VPD 0x83 identity%s "
			 "before it carries I/O",
			 lun->name, dev, lun->grouping == RDP_GROUP_ALUA ? ", ALUA state" : "");
	rdp_checker_check_now(p);
	return 0;
}

int rdp_lun_remove_path(struct rdp_lun *lun, const char *dev, const char *why)
{
	int i = find_path(lun, dev);
	if (i < 0)
		return -ENOENT;
	struct rdp_path *p = lun->paths[i];
	p->removed = true;
	rdp_path_set_state(p, RDP_PATH_FAILED, why);
	rdp_lun_reap_paths(lun);
	return 0;
}

void rdp_lun_reap_paths(struct rdp_lun *lun)
{
	unsigned int j = 0;
	bool changed = false;

	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		if (p->removed && rdp_path_idle(p)) {
			g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", lun->name,
					 "RDP_PATH", p->dev, "MESSAGE", "lun %s: path %s removed",
					 lun->name, p->dev);
			rdp_path_free(p);
			changed = true;
			continue;
		}
		lun->paths[j++] = p;
	}
	lun->npaths = j;
	if (changed)
		rdp_group_assign(lun);
}

bool rdp_lun_reconfigure(struct rdp_lun *lun, const struct rdp_lun_spec *spec, GString *report,
			 GError **err)
{
	/* what cannot change live, first: nothing is applied when one of these is asked */
	if (spec->wwid && !rdp_wwid_matches(spec->wwid, lun->wwid)) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IDENTITY,
			    "lun %s: the new configuration names WWID %s but the LUN is %s; an "
			    "identity cannot change under a live LUN: keeping the old settings",
			    lun->name, spec->wwid, lun->wwid);
		return false;
	}
	if (g_strv_length(spec->paths) > RDP_MAX_PATHS) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "lun %s: %u paths, at most %d: keeping the old settings", lun->name,
			    g_strv_length(spec->paths), RDP_MAX_PATHS);
		return false;
	}

	/* The gateway's port is what the initiator was told at login (TPGS, VPD 0x83, RTPG): a
	 * change now would move the LUN to another port under a live session. The rest of the
	 * reload applies; the port waits for the next attach. */
	unsigned int want_ports = MAX(spec->target_ports, 1u);
	if (spec->target_port != lun->target_port || want_ports != lun->target_ports)
		g_string_append_printf(report,
				       "lun %s: still target_port %u of %u (asked: %u of %u): "
				       "target_port change takes effect when the backstore is "
				       "re-created; ",
				       lun->name, lun->target_port, lun->target_ports,
				       spec->target_port, want_ports);

	enum rdp_grouping old_grouping = lun->grouping;
	rdp_lun_set_policies(lun, spec);
	if (lun->grouping == RDP_GROUP_AUTO)
		lun->grouping = lun->tpgs ? RDP_GROUP_ALUA : RDP_GROUP_MULTIBUS;
	if (lun->grouping != old_grouping)
		g_string_append_printf(report, "lun %s: grouping changed; ", lun->name);

	/* paths no longer configured go; new ones come, checked before they carry I/O */
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		if (!p->removed && spec_index(spec, p->dev) < 0) {
			g_string_append_printf(report, "lun %s: path %s removed; ", lun->name, p->dev);
			rdp_lun_remove_path(lun, p->dev, "no longer in the configuration");
			i = (unsigned int)-1; /* the array may have been compacted: start over */
		}
	}
	for (unsigned int i = 0; spec->paths[i]; i++) {
		if (find_path(lun, spec->paths[i]) >= 0)
			continue;
		g_autoptr(GError) perr = NULL;
		if (rdp_lun_add_path(lun, spec->paths[i], spec, &perr) < 0)
			g_string_append_printf(report, "%s; ", perr->message);
		else
			g_string_append_printf(report,
					       "lun %s: path %s added, checking its identity before it "
					       "carries I/O; ",
					       lun->name, spec->paths[i]);
	}
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (!lun->paths[i]->removed)
			rdp_lun_assign_priority(lun, lun->paths[i], spec,
						spec_index(spec, lun->paths[i]->dev));
	rdp_group_assign(lun);
	/* newly ALUA: priorities come from each path's RTPG, read by the checker's next round */
	if (lun->grouping == RDP_GROUP_ALUA && old_grouping != RDP_GROUP_ALUA)
		rdp_checker_check_all_soon(lun);
	return true;
}
