/* The RDP engine for one LUN: attach-time identity checks, path choice, completion handling and
 * failover, the path checker that brings failed paths back. One command's life reads straight down:
 * rdp_lun_submit -> dispatch -> backend submit -> req_done -> classify -> finish or dispatch again.
 * A command is only ever re-issued from req_done, i.e. after the path it was on returned it. */
#include <errno.h>
#include <string.h>

#include <scsi/sg_unaligned.h>

#include "config.h"
#include "lun-internal.h"

#define RDP_PROBE_TIMEOUT_MS 10000
#define RDP_RETRY_DELAY_MS 100

G_DEFINE_QUARK(rdp-error-quark, rdp_error)

static uint64_t monotonic_ns(void)
{
	return (uint64_t)g_get_monotonic_time() * 1000;
}

static uint64_t now_ns(const struct rdp_lun *lun)
{
	return lun->env.now_ns();
}

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

/* ---- queues ---- */

static void q_push(struct rdp_cmd_queue *q, struct rdp_cmd *c)
{
	c->next = NULL;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->len++;
}

/* Keep the waiting queue in arrival order: a command that comes back from a failed path goes
 * before those that arrived after it. Only on the no-path path, so O(n) is fine. */
static void q_insert_by_arrival(struct rdp_cmd_queue *q, struct rdp_cmd *c)
{
	struct rdp_cmd **pp = &q->head;
	while (*pp && (*pp)->seq < c->seq)
		pp = &(*pp)->next;
	c->next = *pp;
	*pp = c;
	if (!c->next)
		q->tail = c;
	q->len++;
}

static struct rdp_cmd *q_pop(struct rdp_cmd_queue *q)
{
	struct rdp_cmd *c = q->head;
	if (c) {
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		c->next = NULL;
	}
	return c;
}

/* ---- path state: one transition function, every change logged once with its reason ---- */

static void path_set_state(struct rdp_path *p, enum rdp_path_state to, const char *reason)
{
	struct rdp_lun *lun = p->lun;
	enum rdp_path_state from = p->state;

	if (from == to)
		return;
	p->state = to;
	g_free(p->last_reason);
	p->last_reason = g_strdup(reason);
	if (to == RDP_PATH_FAILED && from == RDP_PATH_ACTIVE) {
		lun->st.path_failures++;
		p->next_check_ns = now_ns(lun) + (uint64_t)lun->checker_interval_ms * 1000000 / 4;
	}
	if (to == RDP_PATH_ACTIVE && from != RDP_PATH_ACTIVE)
		lun->st.path_recoveries++;
	g_log_structured(G_LOG_DOMAIN, to == RDP_PATH_FAILED ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE,
			 "RDP_LUN", lun->name, "RDP_PATH", p->dev, "MESSAGE",
			 "lun %s: path %s %s -> %s (%s)", lun->name, p->dev, rdp_path_state_name(from),
			 rdp_path_state_name(to), reason);
}

/* ---- selection ---- */

static struct rdp_path *select_path(struct rdp_lun *lun)
{
	/* round robin over active paths; O(paths), no allocation */
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[(lun->rr_next + i) % lun->npaths];
		if (p->state == RDP_PATH_ACTIVE && p->bctx) {
			lun->rr_next = (p->idx + 1) % lun->npaths;
			return p;
		}
	}
	return NULL;
}

/* ---- command life ---- */

static void finish(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	uint64_t lat_us = (now_ns(lun) - cmd->start_ns) / 1000;

	if (cmd->status != RDP_SAM_GOOD)
		lun->st.errors_returned++;
	if (lat_us > lun->st.lat_max_us)
		lun->st.lat_max_us = lat_us > UINT32_MAX ? UINT32_MAX : (uint32_t)lat_us;
	lun->inflight--;
	cmd->path = NULL;
	cmd->done(cmd);
}

static void req_done(struct rdp_req *req);
static void dispatch(struct rdp_lun *lun, struct rdp_cmd *cmd);

static void fail_no_path(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	/* NOT READY, LOGICAL UNIT COMMUNICATION FAILURE: documented in docs/commands.md */
	rdp_cmd_set_sense(cmd, 0x02, 0x08, 0x00);
	finish(lun, cmd);
}

static void path_fail(struct rdp_path *p, const char *reason)
{
	path_set_state(p, RDP_PATH_FAILED, reason);
}

static void dispatch(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	for (;;) {
		struct rdp_path *p = select_path(lun);
		if (!p) {
			if (!cmd->not_before_ns)
				cmd->not_before_ns = now_ns(lun);
			q_insert_by_arrival(&lun->waiting, cmd);
			return;
		}
		struct rdp_req *req = &cmd->req;
		memset(&req->res, 0, sizeof(req->res));
		req->cdb = cmd->cdb;
		req->cdb_len = cmd->cdb_len;
		req->dir = cmd->dir;
		req->iov = cmd->iov;
		req->iov_cnt = cmd->iov_cnt;
		req->xfer_len = cmd->xfer_len;
		req->timeout_ms = lun->cmd_timeout_ms;
		req->complete = req_done;
		req->owner = cmd;
		cmd->path = p;
		int rc = lun->env.backend->submit(p->bctx, req);
		if (rc == 0) {
			p->st.inflight++;
			p->st.cmds++;
			return;
		}
		cmd->path = NULL;
		if (rc == -EBUSY) {
			/* every queue of this path is full: wait for a completion */
			if (!cmd->not_before_ns)
				cmd->not_before_ns = now_ns(lun);
			q_push(&lun->waiting, cmd);
			return;
		}
		/* never reached the device (offline, removed): safe to move at once */
		p->st.path_errors++;
		path_fail(p, g_strerror(-rc));
	}
}

/* Commands held for lack of a path (or of queue room) go out again in arrival order. */
static void run_waiting(struct rdp_lun *lun)
{
	unsigned int n = lun->waiting.len;
	while (n-- && lun->waiting.head) {
		struct rdp_cmd *cmd = q_pop(&lun->waiting);
		dispatch(lun, cmd);
		if (lun->waiting.tail == cmd)
			break; /* it went straight back: no room anywhere yet */
	}
}

/* The path's answer becomes the initiator's. A status byte of GOOD beside a host, driver or
 * errno failure means the command did not run: never report that as success. */
static void take_result(struct rdp_cmd *cmd, const struct rdp_req *req)
{
	const struct rdp_io_result *r = &req->res;

	cmd->resid = r->resid;
	if (r->status == RDP_SAM_GOOD && (r->error || r->host_status || (r->driver_status & 0x7))) {
		/* ABORTED COMMAND: the initiator retries it */
		rdp_cmd_set_sense(cmd, 0x0b, 0x00, 0x00);
		return;
	}
	cmd->status = r->status;
	cmd->sense_len = r->sense_len;
	memcpy(cmd->sense, req->sense, cmd->sense_len);
}

static void req_done(struct rdp_req *req)
{
	struct rdp_cmd *cmd = req->owner;
	struct rdp_path *p = cmd->path;
	struct rdp_lun *lun = p->lun;
	uint64_t lat_us = (uint64_t)req->res.duration_ms * 1000;

	p->st.inflight--;
	p->st.lat_sum_us += lat_us;
	if (lat_us > p->st.lat_max_us)
		p->st.lat_max_us = (uint32_t)MIN(lat_us, UINT32_MAX);

	struct rdp_classification c = rdp_classify_completion(&req->res, req->sense, req->res.sense_len);
	switch (c.verdict) {
	case RDP_V_COMPLETE:
	case RDP_V_TARGET_ERROR:
		if (c.verdict == RDP_V_TARGET_ERROR)
			p->st.target_errors++;
		p->st.bytes += cmd->xfer_len;
		take_result(cmd, req);
		finish(lun, cmd);
		break;
	case RDP_V_PATH_ERROR:
		p->st.path_errors++;
		p->st.failovers++;
		lun->st.failovers++;
		path_fail(p, c.reason);
		cmd->path = NULL;
		if (++cmd->attempts > lun->max_retries + lun->npaths) {
			fail_no_path(lun, cmd);
			break;
		}
		dispatch(lun, cmd);
		break;
	case RDP_V_RETRY:
	case RDP_V_CAPACITY_CHANGED:
		p->st.retries++;
		cmd->path = NULL;
		if (++cmd->attempts > lun->max_retries) {
			/* bounded: hand the last answer to the initiator, which has its own retries */
			take_result(cmd, req);
			finish(lun, cmd);
			break;
		}
		cmd->not_before_ns = now_ns(lun) + (uint64_t)RDP_RETRY_DELAY_MS * 1000000;
		q_push(&lun->delayed, cmd);
		break;
	}
	if (lun->waiting.head)
		run_waiting(lun);
}

static void cmd_start(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	cmd->attempts = 0;
	cmd->path = NULL;
	cmd->next = NULL;
	cmd->not_before_ns = 0;
	cmd->start_ns = now_ns(lun);
	cmd->seq = lun->next_seq++;
	cmd->status = RDP_SAM_GOOD;
	cmd->sense_len = 0;
	cmd->resid = 0;
	lun->inflight++;
	lun->st.cmds++;
}

void rdp_lun_submit_error(struct rdp_lun *lun, struct rdp_cmd *cmd, uint8_t key, uint8_t asc,
			  uint8_t ascq)
{
	cmd_start(lun, cmd);
	rdp_cmd_set_sense(cmd, key, asc, ascq);
	finish(lun, cmd);
}

void rdp_lun_submit(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	cmd_start(lun, cmd);
	if (rdp_frontend_emulate(lun, cmd)) {
		finish(lun, cmd);
		return;
	}
	if (lun->waiting.head) {
		/* keep arrival order behind commands already waiting */
		cmd->not_before_ns = now_ns(lun);
		q_push(&lun->waiting, cmd);
		return;
	}
	dispatch(lun, cmd);
}

/* ---- path checker ---- */

static void check_submit(struct rdp_path *p);

static void check_done(struct rdp_req *req)
{
	struct rdp_path *p = req->owner;
	struct rdp_lun *lun = p->lun;
	struct rdp_classification c = rdp_classify_completion(&req->res, req->sense, req->res.sense_len);

	p->check_busy = false;
	if (c.verdict == RDP_V_RETRY || c.verdict == RDP_V_CAPACITY_CHANGED) {
		/* a unit attention after the path came back: it is talking, ask again now */
		if (p->check_stage++ < 4) {
			check_submit(p);
			return;
		}
	}
	if (c.verdict != RDP_V_COMPLETE) {
		p->next_check_ns = now_ns(lun) + (uint64_t)lun->checker_interval_ms * 1000000;
		if (p->state == RDP_PATH_CHECKING)
			path_set_state(p, RDP_PATH_FAILED, c.reason);
		return;
	}
	if (req->cdb[0] == 0x00) {
		/* TUR answered: now make sure it is still the same LUN */
		p->check_stage = 0;
		path_set_state(p, RDP_PATH_CHECKING, "TEST UNIT READY answered");
		memset(p->check_cdb, 0, sizeof(p->check_cdb));
		p->check_cdb[0] = 0x12;
		p->check_cdb[1] = 0x01;
		p->check_cdb[2] = 0x83;
		sg_put_unaligned_be16(sizeof(p->check_buf), p->check_cdb + 3);
		p->check_req.cdb_len = 6;
		p->check_req.dir = RDP_DIR_FROM_DEV;
		p->check_req.xfer_len = sizeof(p->check_buf);
		check_submit(p);
		return;
	}
	char wwid[RDP_WWID_MAX];
	size_t got = sizeof(p->check_buf) - (size_t)MAX(req->res.resid, 0);
	if (rdp_wwid_from_vpd83(p->check_buf, got, wwid, sizeof(wwid)) < 0 ||
	    strcmp(wwid, lun->wwid) != 0) {
		g_autofree char *why = g_strdup_printf("identity changed: VPD 0x83 says %s, LUN is %s",
						       got ? wwid : "nothing", lun->wwid);
		p->next_check_ns = now_ns(lun) + (uint64_t)lun->checker_interval_ms * 1000000;
		path_set_state(p, RDP_PATH_FAILED, why);
		return;
	}
	path_set_state(p, RDP_PATH_ACTIVE, "answered TEST UNIT READY with the same identity");
	if (lun->waiting.head)
		run_waiting(lun);
}

static void check_submit(struct rdp_path *p)
{
	struct rdp_lun *lun = p->lun;
	struct rdp_req *r = &p->check_req;

	memset(&r->res, 0, sizeof(r->res));
	r->cdb = p->check_cdb;
	r->iov = &p->check_iov;
	p->check_iov.iov_base = p->check_buf;
	p->check_iov.iov_len = r->xfer_len;
	r->iov_cnt = r->xfer_len ? 1 : 0;
	r->timeout_ms = MIN(lun->cmd_timeout_ms, RDP_PROBE_TIMEOUT_MS);
	r->complete = check_done;
	r->owner = p;

	if (!p->bctx) {
		int rc = lun->env.backend->open(p->dev, &p->bctx);
		if (rc < 0) {
			p->bctx = NULL;
			p->next_check_ns = now_ns(lun) + (uint64_t)lun->checker_interval_ms * 1000000;
			return;
		}
	}
	int rc = lun->env.backend->submit(p->bctx, r);
	if (rc == -ENODEV) {
		/* the device went away under its open files: reopen next time */
		lun->env.backend->close(p->bctx);
		p->bctx = NULL;
	}
	if (rc < 0) {
		p->next_check_ns = now_ns(lun) + (uint64_t)lun->checker_interval_ms * 1000000;
		return;
	}
	p->check_busy = true;
}

static void check_start(struct rdp_path *p)
{
	memset(p->check_cdb, 0, sizeof(p->check_cdb)); /* TEST UNIT READY */
	p->check_req.cdb_len = 6;
	p->check_req.dir = RDP_DIR_NONE;
	p->check_req.xfer_len = 0;
	p->check_stage = 0;
	check_submit(p);
}

void rdp_lun_tick(struct rdp_lun *lun)
{
	uint64_t now = now_ns(lun);

	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		if (p->state != RDP_PATH_ACTIVE && !p->check_busy && now >= p->next_check_ns &&
		    p->st.inflight == 0)
			check_start(p);
	}

	/* delayed retries whose time has come, in order */
	unsigned int n = lun->delayed.len;
	while (n--) {
		struct rdp_cmd *cmd = q_pop(&lun->delayed);
		if (cmd->not_before_ns > now) {
			q_push(&lun->delayed, cmd);
			continue;
		}
		cmd->not_before_ns = 0;
		dispatch(lun, cmd);
	}

	/* commands that waited for a path longer than the bound fail with a clear sense */
	while (lun->waiting.head &&
	       now - lun->waiting.head->not_before_ns >= (uint64_t)lun->no_path_timeout_ms * 1000000) {
		struct rdp_cmd *cmd = q_pop(&lun->waiting);
		fail_no_path(lun, cmd);
	}
	if (lun->waiting.head)
		run_waiting(lun);
}

/* ---- attach ---- */

static int probe(struct rdp_lun *lun, struct rdp_path *p, const uint8_t *cdb, uint8_t cdb_len,
		 uint8_t *buf, size_t len, size_t *got)
{
	struct rdp_req r = {0};
	struct iovec iov = {.iov_base = buf, .iov_len = len};

	r.cdb = cdb;
	r.cdb_len = cdb_len;
	r.dir = RDP_DIR_FROM_DEV;
	r.iov = &iov;
	r.iov_cnt = 1;
	r.xfer_len = len;
	r.timeout_ms = MIN(lun->cmd_timeout_ms, RDP_PROBE_TIMEOUT_MS);
	memset(buf, 0, len);
	/* a unit attention left from a reset or a path change is not an answer: ask again */
	for (int attempt = 0; attempt < 4; attempt++) {
		int rc = lun->env.backend->exec_sync(p->bctx, &r);
		if (rc < 0)
			return rc;
		struct rdp_classification c = rdp_classify_completion(&r.res, r.sense, r.res.sense_len);
		if (c.verdict == RDP_V_COMPLETE) {
			*got = len - (size_t)CLAMP(r.res.resid, 0, (int32_t)len);
			return 0;
		}
		if (c.verdict == RDP_V_PATH_ERROR)
			return -EIO;
		if (c.verdict == RDP_V_TARGET_ERROR)
			return -EOPNOTSUPP;
	}
	return -EAGAIN;
}

static int probe_inquiry(struct rdp_lun *lun, struct rdp_path *p, int page, uint8_t *buf,
			 size_t len, size_t *got)
{
	uint8_t cdb[6] = {0x12, page >= 0 ? 0x01 : 0x00, page >= 0 ? (uint8_t)page : 0, 0, 0, 0};
	sg_put_unaligned_be16((uint16_t)len, cdb + 3);
	return probe(lun, p, cdb, sizeof(cdb), buf, len, got);
}

static void page_set(struct rdp_page *pg, const uint8_t *data, size_t len)
{
	g_free(pg->data);
	pg->data = g_memdup2(data, len);
	pg->len = len;
}

/* Read the identity of a path; the first good path also fills the LUN's caches. */
static int path_identify(struct rdp_lun *lun, struct rdp_path *p, bool fill, char *wwid,
			 GError **err)
{
	uint8_t buf[4096];
	size_t got = 0;
	int rc = probe_inquiry(lun, p, 0x83, buf, 1024, &got);
	if (rc < 0) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO,
			    "%s: INQUIRY VPD 0x83 failed: %s", p->dev, g_strerror(-rc));
		return rc;
	}
	if (rdp_wwid_from_vpd83(buf, got, wwid, RDP_WWID_MAX) < 0) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IDENTITY,
			    "%s: VPD 0x83 has no logical-unit designator; cannot prove its identity",
			    p->dev);
		return -ENODATA;
	}
	if (!fill)
		return 0;

	got = rdp_vpd83_lu_only(buf, got);
	page_set(&lun->vpd[0x83], buf, got);

	if (probe_inquiry(lun, p, -1, buf, 96, &got) < 0 || got < 36) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO, "%s: standard INQUIRY failed",
			    p->dev);
		return -EIO;
	}
	buf[5] &= ~0x30; /* TPGS: the gateway is a single port, ALUA stays behind it */
	page_set(&lun->inq_std, buf, got);

	/* VPD pages whose content belongs to the LU; 0x00 lists exactly what we serve */
	static const uint8_t cached[] = {0x80, 0xb0, 0xb1, 0xb2};
	for (size_t i = 0; i < sizeof(cached); i++)
		if (probe_inquiry(lun, p, cached[i], buf, 512, &got) == 0 && got >= 4 &&
		    buf[1] == cached[i])
			page_set(&lun->vpd[cached[i]], buf, got);
	uint8_t p00[4 + 8] = {0};
	size_t np = 0;
	for (int pg = 0; pg < 256; pg++)
		if (pg == 0x00 || lun->vpd[pg].data)
			p00[4 + np++] = (uint8_t)pg;
	sg_put_unaligned_be16((uint16_t)np, p00 + 2);
	page_set(&lun->vpd[0x00], p00, 4 + np);
	/* every page carries the peripheral qualifier/type of the standard INQUIRY */
	for (int pg = 0; pg < 256; pg++)
		if (lun->vpd[pg].data)
			lun->vpd[pg].data[0] = lun->inq_std.data[0];

	/* capacity: READ CAPACITY(16), READ CAPACITY(10) when the LUN does not know it */
	uint8_t rc16[16] = {0x9e, 0x10};
	sg_put_unaligned_be32(32, rc16 + 10);
	if (probe(lun, p, rc16, sizeof(rc16), buf, 32, &got) == 0 && got >= 12) {
		lun->cap.blocks = sg_get_unaligned_be64(buf) + 1;
		lun->cap.block_size = sg_get_unaligned_be32(buf + 8);
		page_set(&lun->rc16, buf, got);
	} else {
		uint8_t rc10[10] = {0x25};
		if (probe(lun, p, rc10, sizeof(rc10), buf, 8, &got) < 0 || got < 8) {
			g_set_error(err, RDP_ERROR, RDP_ERROR_IO, "%s: READ CAPACITY failed",
				    p->dev);
			return -EIO;
		}
		lun->cap.blocks = (uint64_t)sg_get_unaligned_be32(buf) + 1;
		lun->cap.block_size = sg_get_unaligned_be32(buf + 4);
	}
	if (lun->cap.block_size < 512 || lun->cap.block_size > 65536 ||
	    (lun->cap.block_size & (lun->cap.block_size - 1))) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "%s: backing block size %u is not supported", p->dev, lun->cap.block_size);
		return -EINVAL;
	}
	lun->fe_blocks = lun->cap.blocks;
	lun->fe_block_size = lun->cap.block_size;
	return 0;
}

struct rdp_lun *rdp_lun_open(const struct rdp_lun_spec *spec, const struct rdp_env *env,
			     GError **err)
{
	if (!spec->paths || !spec->paths[0]) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_NOT_FOUND, "LUN %s has no backing path",
			    spec->name);
		return NULL;
	}
	struct rdp_lun *lun = g_new0(struct rdp_lun, 1);
	lun->name = g_strdup(spec->name);
	lun->env = *env;
	if (!lun->env.now_ns)
		lun->env.now_ns = monotonic_ns;
	lun->cmd_timeout_ms = spec->cmd_timeout_ms ? spec->cmd_timeout_ms : 30000;
	lun->checker_interval_ms = spec->checker_interval_ms ? spec->checker_interval_ms : 5000;
	lun->max_retries = spec->max_retries;
	lun->no_path_timeout_ms = 20000;
	lun->npaths = g_strv_length(spec->paths);
	lun->paths = g_new0(struct rdp_path *, lun->npaths);

	bool have_identity = false;
	GString *down = g_string_new(NULL);
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = g_new0(struct rdp_path, 1);
		p->lun = lun;
		p->idx = i;
		p->dev = g_strdup(spec->paths[i]);
		p->state = RDP_PATH_CHECKING;
		lun->paths[i] = p;

		int rc = env->backend->open(p->dev, &p->bctx);
		if (rc < 0) {
			p->bctx = NULL;
			g_string_append_printf(down, "%s%s: %s", down->len ? "; " : "", p->dev,
					       g_strerror(-rc));
			path_set_state(p, RDP_PATH_FAILED, "cannot be opened at attach");
			continue;
		}
		char wwid[RDP_WWID_MAX];
		g_autoptr(GError) perr = NULL;
		if (path_identify(lun, p, !have_identity, wwid, &perr) < 0) {
			/* a path that cannot answer now is kept failed; the checker proves its
			 * identity before it carries a command */
			g_string_append_printf(down, "%s%s", down->len ? "; " : "", perr->message);
			path_set_state(p, RDP_PATH_FAILED, "no identity at attach");
			continue;
		}
		const char *want = have_identity ? lun->wwid : spec->wwid;
		if (want && !rdp_wwid_matches(want, wwid)) {
			g_set_error(err, RDP_ERROR, RDP_ERROR_IDENTITY,
				    "LUN %s: path %s has identity %s but %s has %s: refusing paths "
				    "to different LUNs",
				    spec->name, p->dev, wwid, have_identity ? lun->paths[0]->dev : "wwid=",
				    want);
			g_string_free(down, TRUE);
			rdp_lun_close(lun);
			return NULL;
		}
		if (!have_identity)
			g_strlcpy(lun->wwid, wwid, sizeof(lun->wwid));
		have_identity = true;
		path_set_state(p, RDP_PATH_ACTIVE, "identity checked at attach");
	}
	if (!have_identity) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO,
			    "LUN %s: no backing path answered (%s)", spec->name, down->str);
		g_string_free(down, TRUE);
		rdp_lun_close(lun);
		return NULL;
	}
	if (down->len)
		g_warning("lun %s: paths not usable at attach, will be checked: %s", lun->name,
			  down->str);
	g_string_free(down, TRUE);
	lun->st.path_failures = 0;
	lun->st.path_recoveries = 0;
	return lun;
}

bool rdp_lun_check_frontend(struct rdp_lun *lun, uint64_t dev_size, uint32_t block_size,
			    GError **err)
{
	if (block_size != lun->cap.block_size) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "LUN %s: backstore block size %u differs from the backing LUN's %u; set "
			    "the backstore's hw_block_size to %u",
			    lun->name, block_size, lun->cap.block_size, lun->cap.block_size);
		return false;
	}
	uint64_t backing = lun->cap.blocks * lun->cap.block_size;
	if (dev_size > backing || dev_size % block_size) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "LUN %s: backstore size %" G_GUINT64_FORMAT
			    " bytes is larger than the backing LUN (%" G_GUINT64_FORMAT
			    " bytes) or not a multiple of the block size",
			    lun->name, dev_size, backing);
		return false;
	}
	lun->fe_blocks = dev_size / block_size;
	lun->fe_block_size = block_size;
	return true;
}

void rdp_lun_set_no_path_timeout(struct rdp_lun *lun, unsigned int ms)
{
	lun->no_path_timeout_ms = ms;
}

unsigned int rdp_lun_inflight(const struct rdp_lun *lun)
{
	return lun->inflight;
}

void rdp_lun_close(struct rdp_lun *lun)
{
	if (!lun)
		return;
	/* the caller waits for rdp_lun_inflight() == 0; fail what never left the gateway */
	struct rdp_cmd *cmd;
	while ((cmd = q_pop(&lun->waiting)) || (cmd = q_pop(&lun->delayed)))
		fail_no_path(lun, cmd);
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];
		if (!p)
			continue;
		if (p->bctx)
			lun->env.backend->close(p->bctx);
		g_free(p->dev);
		g_free(p->last_reason);
		g_free(p);
	}
	g_free(lun->paths);
	g_free(lun->inq_std.data);
	g_free(lun->rc16.data);
	for (int i = 0; i < 256; i++)
		g_free(lun->vpd[i].data);
	g_free(lun->name);
	g_free(lun);
}

const char *rdp_lun_name(const struct rdp_lun *lun)
{
	return lun->name;
}

const char *rdp_lun_wwid(const struct rdp_lun *lun)
{
	return lun->wwid;
}

struct rdp_capacity rdp_lun_capacity(const struct rdp_lun *lun)
{
	return lun->cap;
}

const struct rdp_lun_stats *rdp_lun_stats(const struct rdp_lun *lun)
{
	return &lun->st;
}

unsigned int rdp_lun_path_count(const struct rdp_lun *lun)
{
	return lun->npaths;
}

struct rdp_path *rdp_lun_path(const struct rdp_lun *lun, unsigned int i)
{
	return i < lun->npaths ? lun->paths[i] : NULL;
}

const char *rdp_path_dev(const struct rdp_path *p)
{
	return p->dev;
}

enum rdp_path_state rdp_path_state(const struct rdp_path *p)
{
	return p->state;
}

const struct rdp_path_stats *rdp_path_stats(const struct rdp_path *p)
{
	return &p->st;
}
