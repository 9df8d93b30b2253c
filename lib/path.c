/* Path states: one transition function, every change logged once with its reason and counted.
 * Also the holds that keep a path out even when it answers: an admin's fail, and the marginal
 * hold of a path that failed too often lately (multipath-tools' san_path_err_* idea). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "lun-internal.h"

const char *rdp_path_state_name(enum rdp_path_state s)
{
	switch (s) {
	case RDP_PATH_ACTIVE:
		return "active";
	case RDP_PATH_FAILED:
		return "failed";
	case RDP_PATH_CHECKING:
		return "checking";
	case RDP_PATH_STANDBY:
		return "standby";
	case RDP_PATH_MARGINAL:
		return "marginal";
	}
	return "?";
}

void rdp_path_set_state(struct rdp_path *p, enum rdp_path_state to, const char *reason)
{
	struct rdp_lun *lun = p->lun;
	enum rdp_path_state from = p->state;

	if (from == to)
		return;
	p->state = to;
	p->st.transitions++;
	g_free(p->last_reason);
	p->last_reason = g_strdup(reason);
	if (from == RDP_PATH_ACTIVE)
		lun->st.path_failures++;
	else if (to == RDP_PATH_ACTIVE)
		lun->st.path_recoveries++;
	lun->regroup = true;
	GLogLevelFlags level = to == RDP_PATH_FAILED || to == RDP_PATH_MARGINAL
				       ? G_LOG_LEVEL_WARNING
				       : G_LOG_LEVEL_MESSAGE;
	g_log_structured(G_LOG_DOMAIN, level, "RDP_LUN", lun->name, "RDP_PATH", p->dev,
			 "RDP_PATH_STATE", rdp_path_state_name(to), "MESSAGE",
			 "lun %s: path %s %s -> %s (%s)", lun->name, p->dev,
			 rdp_path_state_name(from), rdp_path_state_name(to), reason);
}

void rdp_path_error(struct rdp_path *p, const char *reason)
{
	struct rdp_lun *lun = p->lun;
	uint64_t now = rdp_now(lun);

	p->st.path_errors++;
	if (p->state != RDP_PATH_ACTIVE)
		return; /* already out; commands still coming back from it count only once */

	if (lun->marginal_err_count) {
		if (now - p->err_window_start_ns > rdp_ms_ns(lun->marginal_window_ms)) {
			p->err_window_start_ns = now;
			p->err_window_count = 0;
		}
		if (++p->err_window_count >= lun->marginal_err_count) {
			p->marginal_until_ns = now + rdp_ms_ns(lun->marginal_recovery_ms);
			g_autofree char *why = g_strdup_printf(
				"%s; %u failures within %u s: held out for %u s", reason,
				p->err_window_count, lun->marginal_window_ms / 1000,
				lun->marginal_recovery_ms / 1000);
			p->err_window_count = 0;
			rdp_path_set_state(p, RDP_PATH_MARGINAL, why);
			return;
		}
	}
	rdp_path_set_state(p, RDP_PATH_FAILED, reason);
	/* look at it again soon: a short blip rejoins quickly, a dead path is tested at the
	 * checker interval afterwards */
	p->check_interval_ms = lun->checker_interval_ms;
	p->next_check_ns = now + rdp_ms_ns(MIN(1000u, lun->checker_interval_ms));
	/* That was the last usable path: commands now wait for one to come back, so every path is
	 * tested at the next tick instead (two paths that time out together, say, are not both
	 * held out for a second when one answers again at once). */
	if (!rdp_lun_any_usable(lun))
		rdp_checker_check_all_soon(lun);
}

int rdp_path_admin_fail(struct rdp_path *p)
{
	p->admin_failed = true;
	rdp_path_set_state(p, RDP_PATH_FAILED, "failed by the administrator");
	return 0;
}

int rdp_path_admin_reinstate(struct rdp_path *p)
{
	if (!p->admin_failed && p->state == RDP_PATH_ACTIVE)
		return 0;
	p->admin_failed = false;
	p->marginal_until_ns = 0;
	p->err_window_count = 0;
	/* proven by the checker (TUR and identity) before it carries I/O */
	p->next_check_ns = rdp_now(p->lun);
	p->check_interval_ms = p->lun->checker_interval_ms;
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", p->lun->name, "RDP_PATH",
			 p->dev, "MESSAGE", "lun %s: path %s reinstated by the administrator",
			 p->lun->name, p->dev);
	return 0;
}

bool rdp_path_idle(const struct rdp_path *p)
{
	/* st.inflight counts commands and the LUN's capacity re-read; the checker has its own */
	return p->st.inflight == 0 && !p->check_busy;
}

void rdp_path_free(struct rdp_path *p)
{
	g_assert(rdp_path_idle(p));
	if (p->bctx)
		p->lun->env.backend->close(p->bctx);
	g_free(p->dev);
	g_free(p->last_reason);
	g_free(p->check_buf);
	g_free(p);
}

const char *rdp_path_dev(const struct rdp_path *p)
{
	return p->dev;
}

enum rdp_path_state rdp_path_state(const struct rdp_path *p)
{
	return p->state;
}

const char *rdp_path_reason(const struct rdp_path *p)
{
	return p->last_reason ? p->last_reason : "";
}

const struct rdp_path_stats *rdp_path_stats(const struct rdp_path *p)
{
	return &p->st;
}

unsigned int rdp_path_group(const struct rdp_path *p)
{
	return p->group;
}

unsigned int rdp_path_priority(const struct rdp_path *p)
{
	return p->prio;
}

const char *rdp_path_alua_state(const struct rdp_path *p)
{
	static const char *const pref[] = {
	    [RDP_ALUA_AO] = "active/optimized (preferred)",
	    [RDP_ALUA_ANO] = "active/non-optimized (preferred)",
	    [RDP_ALUA_STANDBY] = "standby (preferred)",
	    [RDP_ALUA_UNAVAILABLE] = "unavailable (preferred)",
	    [RDP_ALUA_LBA_DEPENDENT] = "lba-dependent (preferred)",
	    [RDP_ALUA_OFFLINE] = "offline (preferred)",
	    [RDP_ALUA_TRANSITIONING] = "transitioning (preferred)",
	    [RDP_ALUA_UNKNOWN] = "unknown (preferred)",
	};
	if (p->alua_state < 0)
		return NULL;
	enum rdp_alua_state st = (enum rdp_alua_state)p->alua_state;
	if (p->alua_pref && (unsigned int)st < G_N_ELEMENTS(pref) && pref[st])
		return pref[st];
	return rdp_alua_state_name(st);
}

int rdp_path_target_port_group(const struct rdp_path *p)
{
	return p->port.has_tpg ? p->port.tpg_id : -1;
}

int rdp_path_relative_port(const struct rdp_path *p)
{
	return p->port.has_rel_port ? p->port.rel_port : -1;
}
