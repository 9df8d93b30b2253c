/* The path checker: asynchronous TEST UNIT READY on every path, on the event loop. Healthy paths
 * are tested at checker_interval, backing off to max_checker_interval while they stay healthy
 * (multipathd's polling_interval/max_polling_interval); a path that just failed is tested again
 * within a second, then at checker_interval. A path only joins or rejoins after TUR succeeds AND
 * its VPD 0x83 identity is the LUN's (then, with checker=read, a READ of block 0; with ALUA, its
 * RTPG answer). A path added live is proven the same way, at once. */
#include <errno.h>
#include <string.h>

#include <scsi/sg_lib.h>
#include "be.h"

#include "lun-internal.h"

/* The stages of one check, in this order; each but TUR runs only when it applies. */
enum check_stage {
	CHECK_TUR,
	CHECK_IDENTITY, /* a path that is not active: proven before it is sent anything else */
	CHECK_READ,	/* checker = read */
	CHECK_ALUA,	/* grouping alua: REPORT TARGET PORT GROUPS, its ALUA state and priority */
};

#define CHECK_TIMEOUT_MS 10000
#define CHECK_RETRIES 4

static void check_submit(struct rdp_path *p);

void rdp_checker_init_path(struct rdp_path *p)
{
	struct rdp_lun *lun = p->lun;

	p->check_buf_len = MAX(1024u, lun->cap.block_size);
	p->check_buf = g_malloc0(p->check_buf_len);
	p->check_interval_ms = lun->checker_interval_ms;
	p->next_check_ns = rdp_now(lun) + rdp_ms_ns(lun->checker_interval_ms);
}

static void schedule(struct rdp_path *p, unsigned int ms)
{
	p->next_check_ns = rdp_now(p->lun) + rdp_ms_ns(ms);
}

static void stage_start(struct rdp_path *p, enum check_stage stage)
{
	struct rdp_lun *lun = p->lun;
	struct rdp_req *r = &p->check_req;

	p->check_stage = stage;
	p->check_attempts = 0;
	memset(p->check_cdb, 0, sizeof(p->check_cdb));
	switch (stage) {
	case CHECK_TUR:
		p->check_identity_ok = false;
		r->cdb_len = 6;
		r->dir = RDP_DIR_NONE;
		r->xfer_len = 0;
		break;
	case CHECK_READ:
		p->check_cdb[0] = 0x28; /* READ(10) of LBA 0, one block */
		rdp_put_be16(1, p->check_cdb + 7);
		r->cdb_len = 10;
		r->dir = RDP_DIR_FROM_DEV;
		r->xfer_len = lun->cap.block_size;
		break;
	case CHECK_IDENTITY:
		p->check_cdb[0] = 0x12;
		p->check_cdb[1] = 0x01;
		p->check_cdb[2] = 0x83;
		rdp_put_be16(1024, p->check_cdb + 3);
		r->cdb_len = 6;
		r->dir = RDP_DIR_FROM_DEV;
		r->xfer_len = 1024;
		break;
	case CHECK_ALUA:
		rdp_alua_rtpg_cdb(p->check_cdb, (uint32_t)p->check_buf_len, false);
		r->cdb_len = RDP_ALUA_RTPG_CDB_LEN;
		r->dir = RDP_DIR_FROM_DEV;
		r->xfer_len = p->check_buf_len;
		break;
	}
	check_submit(p);
}

/* ALUA standby or unavailable: the port answers but will not do I/O. */
static bool sense_is_standby(const struct rdp_req *req)
{
	struct sg_scsi_sense_hdr sh;

	if (req->res.status != RDP_SAM_CHECK_CONDITION ||
	    !sg_scsi_normalize_sense(req->sense, req->res.sense_len, &sh))
		return false;
	return sh.sense_key == 0x02 && sh.asc == 0x04 && (sh.ascq == 0x0b || sh.ascq == 0x0c);
}

static void check_failed(struct rdp_path *p, const struct rdp_req *req, const char *reason)
{
	struct rdp_lun *lun = p->lun;

	if (sense_is_standby(req)) {
		rdp_path_set_state(p, RDP_PATH_STANDBY, "ALUA standby/unavailable (NOT READY 04/0B-0C)");
		p->check_interval_ms = lun->checker_interval_ms;
		schedule(p, p->check_interval_ms);
		return;
	}
	if (p->state == RDP_PATH_ACTIVE) {
		g_autofree char *why = g_strdup_printf("checker: %s", reason);
		rdp_path_error(p, why);
		return;
	}
	if (p->state == RDP_PATH_CHECKING || p->state == RDP_PATH_STANDBY)
		rdp_path_set_state(p, RDP_PATH_FAILED, reason);
	p->check_interval_ms = lun->checker_interval_ms;
	schedule(p, p->check_interval_ms);
}

static void check_healthy(struct rdp_path *p)
{
	struct rdp_lun *lun = p->lun;

	p->check_interval_ms = MIN(p->check_interval_ms * 2, lun->max_checker_interval_ms);
	schedule(p, p->check_interval_ms);
}

static void path_usable_again(struct rdp_path *p, const char *why)
{
	struct rdp_lun *lun = p->lun;

	p->check_interval_ms = lun->checker_interval_ms;
	schedule(p, p->check_interval_ms);
	rdp_path_set_state(p, RDP_PATH_ACTIVE, why);
	if (lun->waiting.head)
		rdp_lun_run_waiting(lun);
}

static bool stage_applies(const struct rdp_path *p, enum check_stage s)
{
	const struct rdp_lun *lun = p->lun;

	switch (s) {
	case CHECK_TUR:
		return false;
	case CHECK_IDENTITY:
		return p->state != RDP_PATH_ACTIVE && !p->check_identity_ok;
	case CHECK_READ:
		return lun->read_checker;
	case CHECK_ALUA:
		return lun->grouping == RDP_GROUP_ALUA;
	}
	return false;
}

/* Stage done went well: start the next one that applies, or end the check. A path that is not
 * active ends it only with its identity proven in this round, even when it fell out of use
 * after the round began. */
static void check_next(struct rdp_path *p, enum check_stage done)
{
	for (int s = done + 1; s <= CHECK_ALUA; s++) {
		if (stage_applies(p, (enum check_stage)s)) {
			stage_start(p, (enum check_stage)s);
			return;
		}
	}
	if (p->state == RDP_PATH_ACTIVE)
		check_healthy(p);
	else if (!p->check_identity_ok)
		stage_start(p, CHECK_IDENTITY);
	else
		path_usable_again(p, p->lun->grouping == RDP_GROUP_ALUA
					     ? "answered the checker with the LUN's identity and a "
					       "usable ALUA state"
					     : "answered the checker with the LUN's identity");
}

static void check_alua_done(struct rdp_path *p, const struct rdp_req *req)
{
	size_t got = req->xfer_len - (size_t)CLAMP(req->res.resid, 0, (int32_t)req->xfer_len);
	int st = rdp_lun_alua_update(p, p->check_buf, got);

	switch (st) {
	case RDP_ALUA_STANDBY:
	case RDP_ALUA_UNAVAILABLE:
	case RDP_ALUA_OFFLINE:
		rdp_path_set_state(p, RDP_PATH_STANDBY, "ALUA state is not usable for I/O");
		p->check_interval_ms = p->lun->checker_interval_ms;
		schedule(p, p->check_interval_ms);
		return;
	case RDP_ALUA_TRANSITIONING:
		schedule(p, 1000);
		return;
	default:
		/* AO, ANO, LBA dependent; or no answer we can read, which is no reason to stop */
		break;
	}
	check_next(p, CHECK_ALUA);
}

static void check_identity_done(struct rdp_path *p, const struct rdp_req *req)
{
	struct rdp_lun *lun = p->lun;
	char wwid[RDP_WWID_MAX] = "nothing";
	size_t got = req->xfer_len - (size_t)CLAMP(req->res.resid, 0, (int32_t)req->xfer_len);

	if (rdp_wwid_from_vpd83(p->check_buf, got, wwid, sizeof(wwid)) < 0 ||
	    strcmp(wwid, lun->wwid) != 0) {
		if (p->joining) {
			/* never proven: a device of another LUN, not a path of this one that
			 * changed. Keeping it would hold the device from the LUN it belongs to. */
			g_autofree char *why = g_strdup_printf(
				"new path's VPD 0x83 identity is %s, the LUN is %s: another LUN's "
				"device, never used; dropped from this LUN",
				wwid, lun->wwid);
			rdp_path_set_state(p, RDP_PATH_FAILED, why);
			p->removed = true; /* freed by the next tick */
			return;
		}
		g_autofree char *why = g_strdup_printf(
			"identity changed: VPD 0x83 says %s, the LUN is %s; not used", wwid,
			lun->wwid);
		if (p->state == RDP_PATH_ACTIVE)
			rdp_path_error(p, why);
		else
			rdp_path_set_state(p, RDP_PATH_FAILED, why);
		schedule(p, lun->checker_interval_ms);
		return;
	}
	p->joining = false;
	p->check_identity_ok = true;
	/* which target port this path goes through: its ALUA group */
	if (rdp_alua_port_from_vpd83(p->check_buf, got, &p->port) < 0)
		memset(&p->port, 0, sizeof(p->port));
	check_next(p, CHECK_IDENTITY);
}

static void check_done(struct rdp_req *req)
{
	struct rdp_path *p = req->owner;
	struct rdp_lun *lun = p->lun;
	struct rdp_classification c = rdp_classify_completion(&req->res, req->sense, req->res.sense_len);

	p->check_busy = false;
	if (rdp_lun_release(lun))
		return; /* the LUN is closing: nothing more is sent, it may be gone now */
	if (c.verdict == RDP_V_CAPACITY_CHANGED)
		lun->capacity_changed = true;
	/* failed by the administrator, or going away, while this check was out: its answer changes
	 * nothing (only rdpctl reinstate brings an admin-failed path back) */
	if (p->admin_failed || p->removed)
		return;
	if ((c.verdict == RDP_V_RETRY || c.verdict == RDP_V_CAPACITY_CHANGED) &&
	    ++p->check_attempts < CHECK_RETRIES) {
		/* a unit attention after a reset or a path change: it talks, ask again */
		check_submit(p);
		return;
	}
	if (c.verdict != RDP_V_COMPLETE) {
		check_failed(p, req, c.reason);
		return;
	}
	switch ((enum check_stage)p->check_stage) {
	case CHECK_TUR:
		/* a standby port stays standby until its ALUA state says otherwise */
		if (p->state != RDP_PATH_ACTIVE && p->state != RDP_PATH_CHECKING &&
		    p->state != RDP_PATH_STANDBY)
			rdp_path_set_state(p, RDP_PATH_CHECKING, "answered TEST UNIT READY");
		check_next(p, CHECK_TUR);
		break;
	case CHECK_READ:
		check_next(p, CHECK_READ);
		break;
	case CHECK_IDENTITY:
		check_identity_done(p, req);
		break;
	case CHECK_ALUA:
		check_alua_done(p, req);
		break;
	}
}

static void check_submit(struct rdp_path *p)
{
	struct rdp_lun *lun = p->lun;
	struct rdp_req *r = &p->check_req;

	memset(&r->res, 0, sizeof(r->res));
	r->cdb = p->check_cdb;
	p->check_iov.iov_base = p->check_buf;
	p->check_iov.iov_len = r->xfer_len;
	r->iov = &p->check_iov;
	r->iov_cnt = r->xfer_len ? 1 : 0;
	r->timeout_ms = MIN(lun->cmd_timeout_ms, CHECK_TIMEOUT_MS);
	r->complete = check_done;
	r->owner = p;

	if (!p->bctx) {
		int rc = lun->env.backend->open(p->dev, &p->bctx);
		if (rc < 0) {
			p->bctx = NULL;
			schedule(p, lun->checker_interval_ms);
			return;
		}
		/* reopened, maybe behind another adapter: the LUN's served limit must cover it */
		rdp_lun_limit_transfer_path(lun, p);
	}
	int rc = lun->env.backend->submit(p->bctx, r);
	if (rc == 0) {
		p->check_busy = true;
		p->st.checks++;
		return;
	}
	if (rc == -ENODEV && rdp_path_idle(p)) {
		/* the device went away under its open files: reopen it next time (this may run
		 * inside a completion from that context: the backend frees it after its walk) */
		lun->env.backend->close(p->bctx);
		p->bctx = NULL;
	}
	if (rc != -EBUSY && p->state == RDP_PATH_ACTIVE) {
		g_autofree char *why = g_strdup_printf("checker: %s", g_strerror(-rc));
		rdp_path_error(p, why);
		return;
	}
	schedule(p, rc == -EBUSY ? 100 : lun->checker_interval_ms);
}

void rdp_checker_check_now(struct rdp_path *p)
{
	p->check_interval_ms = p->lun->checker_interval_ms;
	p->next_check_ns = rdp_now(p->lun);
	if (!p->check_busy && !p->admin_failed && !p->removed)
		stage_start(p, CHECK_TUR);
}

void rdp_checker_check_all_soon(struct rdp_lun *lun)
{
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		p->check_interval_ms = lun->checker_interval_ms;
		p->next_check_ns = rdp_now(lun);
	}
}

void rdp_checker_tick(struct rdp_lun *lun)
{
	uint64_t now = rdp_now(lun);

	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		if (p->check_busy || now < p->next_check_ns || p->admin_failed || p->removed)
			continue;
		if (p->state == RDP_PATH_MARGINAL && now < p->marginal_until_ns)
			continue;
		/* a path rejoins only once everything it was given has come back */
		if (p->state != RDP_PATH_ACTIVE && p->st.inflight)
			continue;
		stage_start(p, CHECK_TUR);
	}
}
