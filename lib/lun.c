/* The RDP engine for one LUN, its command path: path choice, completion handling and failover,
 * the queues of commands that wait (for a path, for room, for a retry) and the periodic tick;
 * attach.c opens a LUN, checker.c brings failed paths back. One command's life reads straight down:
 * rdp_lun_submit -> dispatch -> backend submit -> req_done -> classify -> finish or dispatch again.
 * A command is only ever re-issued from req_done, i.e. after the path it was on returned it. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <scsi/sg_lib.h>

#include "be.h"

#include "config.h"
#include "lun-internal.h"

#define RDP_RETRY_DELAY_MS 100
#define RDP_MIN_ATTEMPT_MS 1000    /* no attempt is sent with less time than this left: a
				       * shorter timeout would fail healthy paths */
#define RDP_DEADLINE_MARGIN_MS 3000 /* see rdp_deadline_margin_ms() */
#define RDP_EXPIRED_LOG_MS 10000    /* one "expired" message per LUN per 10 s */

G_DEFINE_QUARK(rdp-error-quark, rdp_error)

/* ---- queues ---- */

static void q_push(struct rdp_cmd_queue *q, struct rdp_cmd *c)
{
	cmd_priv(c)->next = NULL;
	if (q->tail)
		cmd_priv(q->tail)->next = c;
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
	while (*pp && cmd_priv(*pp)->seq < cmd_priv(c)->seq)
		pp = &cmd_priv(*pp)->next;
	cmd_priv(c)->next = *pp;
	*pp = c;
	if (!cmd_priv(c)->next)
		q->tail = c;
	q->len++;
}

static struct rdp_cmd *q_pop(struct rdp_cmd_queue *q)
{
	struct rdp_cmd *c = q->head;
	if (c) {
		q->head = cmd_priv(c)->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		cmd_priv(c)->next = NULL;
	}
	return c;
}

/* ---- command life ---- */

uint64_t rdp_cmd_start_ns(const struct rdp_cmd *cmd)
{
	return cmd_priv(cmd)->start_ns;
}

/* The bytes of a data-in buffer that no answer filled are zeroed: the buffer lies in memory the
 * kernel reuses for every command, and it may hand the initiator more than was read (it cannot
 * be told "0 bytes"), which would be some earlier command's data. */
static void clear_unfilled(struct rdp_cmd *cmd)
{
	size_t filled, off = 0;

	if (cmd->dir != RDP_DIR_FROM_DEV || cmd->resid <= 0)
		return;
	filled = (size_t)cmd->resid >= cmd->xfer_len ? 0 : cmd->xfer_len - (size_t)cmd->resid;
	for (unsigned int i = 0; i < cmd->iov_cnt; i++) {
		size_t len = cmd->iov[i].iov_len;

		if (off + len > filled) {
			size_t skip = filled > off ? filled - off : 0;
			memset((uint8_t *)cmd->iov[i].iov_base + skip, 0, len - skip);
		}
		off += len;
	}
}

/* The clock is read once per step of a command's life and handed down: a reading costs more
 * than the rest of the step (docs/performance.md). */
static void finish_at(struct rdp_lun *lun, struct rdp_cmd *cmd, uint64_t now)
{
	uint64_t lat_us = (now - cmd_priv(cmd)->start_ns) / 1000;

	clear_unfilled(cmd);
	if (cmd->status != RDP_SAM_GOOD)
		lun->st.errors_returned++;
	lun->st.completed++;
	lun->st.lat_sum_us += lat_us;
	if (lat_us > lun->st.lat_max_us)
		lun->st.lat_max_us = (uint32_t)MIN(lat_us, UINT32_MAX);
	lun->inflight--;
	cmd_priv(cmd)->path = NULL;
	cmd->done(cmd);
}

static void finish(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	finish_at(lun, cmd, rdp_now(lun));
}

static void req_done(struct rdp_req *req);

static void fail_no_path(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	lun->st.no_path_failed++;
	/* documented in docs/commands.md. The only port, or a path left but the retries spent:
	 * NOT READY, LOGICAL UNIT COMMUNICATION FAILURE. One of several gateways without a usable
	 * path: NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE, as its
	 * RTPG says then (frontend.c): the host's multipath takes it for this port's failure and
	 * re-issues the command through another gateway. */
	if (lun->target_port && !rdp_lun_port_available(lun))
		rdp_cmd_set_sense(cmd, 0x02, 0x04, 0x0c);
	else
		rdp_cmd_set_sense(cmd, 0x02, 0x08, 0x00);
	finish(lun, cmd);
}

/* How long a command may wait for a usable path: no_path_retry, always within the kernel's
 * bound (the initiator must get our sense, not a kernel timeout). */
static uint64_t no_path_hold_ns(const struct rdp_lun *lun)
{
	uint64_t bound = rdp_ms_ns(lun->no_path_timeout_ms);
	if (lun->no_path_retry == RDP_NO_PATH_QUEUE)
		return bound;
	return MIN(bound, (uint64_t)lun->no_path_retry * rdp_ms_ns(lun->checker_interval_ms));
}

/* Past its deadline the kernel may already have failed the command to the initiator, which
 * may have written those blocks again since: sending the old command now could land old data
 * last. It is completed to the ring (the kernel drops a completion it no longer waits for, or
 * takes ours if it comes first) and never sent again. */
static bool expired(const struct rdp_cmd *cmd, uint64_t now)
{
	return cmd_priv(cmd)->deadline_ns && now + rdp_ms_ns(RDP_MIN_ATTEMPT_MS) > cmd_priv(cmd)->deadline_ns;
}

static void expire(struct rdp_lun *lun, struct rdp_cmd *cmd, uint64_t now)
{
	lun->st.expired++;
	lun->expired_unlogged++;
	if (!lun->expired_logged_ns || now - lun->expired_logged_ns >= rdp_ms_ns(RDP_EXPIRED_LOG_MS)) {
		g_warning("lun %s: %" PRIu64 " command(s) reached the kernel's cmd_time_out (%u ms) "
			  "before a path answered (last: opcode 0x%02x, %u attempts, %" PRIu64
			  " ms since arrival); not sent again: the kernel fails them to the initiator",
			  lun->name, lun->expired_unlogged, lun->kernel_timeout_ms, cmd->cdb[0],
			  cmd_priv(cmd)->attempts, (now - cmd_priv(cmd)->start_ns) / 1000000);
		lun->expired_logged_ns = now;
		lun->expired_unlogged = 0;
	}
	rdp_cmd_set_sense(cmd, 0x02, 0x08, 0x00);
	finish_at(lun, cmd, now);
}

/* One attempt's timeout: never past the deadline, and the first attempt takes at most half of
 * what is left, so a command stuck on a hung path still has time to complete on another. */
static unsigned int attempt_timeout_ms(const struct rdp_lun *lun, const struct rdp_cmd *cmd,
				       const struct rdp_path *p, uint64_t now)
{
	if (!cmd_priv(cmd)->deadline_ns)
		return lun->cmd_timeout_ms;
	uint64_t left = (cmd_priv(cmd)->deadline_ns - now) / 1000000;
	bool other = false;
	for (unsigned int i = 0; i < lun->npaths && !other; i++)
		other = lun->paths[i] != p && rdp_path_usable(lun->paths[i]);
	if (cmd_priv(cmd)->attempts == 0 && other)
		left = MAX(left / 2, (uint64_t)RDP_MIN_ATTEMPT_MS);
	return (unsigned int)MIN(left, (uint64_t)lun->cmd_timeout_ms);
}

static void hold(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	if (!cmd_priv(cmd)->not_before_ns) {
		cmd_priv(cmd)->not_before_ns = rdp_now(lun);
		lun->st.queued++;
	}
	q_insert_by_arrival(&lun->waiting, cmd);
}

/* What dispatch() did with a command. */
enum dispatched {
	SENT,	/* on a path */
	WAITING, /* back in a queue: no path, or no room on any */
	ENDED,	 /* finished (no path under the fail policy, or past its deadline) */
};

static int submit_on(struct rdp_lun *lun, struct rdp_cmd *cmd, struct rdp_path *p, uint64_t now)
{
	struct rdp_req *req = &cmd_priv(cmd)->req;
	memset(&req->res, 0, sizeof(req->res));
	req->cdb = cmd->cdb;
	req->cdb_len = cmd->cdb_len;
	req->dir = cmd->dir;
	req->iov = cmd->iov;
	req->iov_cnt = cmd->iov_cnt;
	req->xfer_len = cmd->xfer_len;
	req->timeout_ms = attempt_timeout_ms(lun, cmd, p, now);
	req->complete = req_done;
	req->owner = cmd;
	cmd_priv(cmd)->path = p;
	cmd_priv(cmd)->sent_ns = now;
	int rc = lun->env.backend->submit(p->bctx, req);
	if (rc == 0) {
		p->st.inflight++;
		p->st.cmds++;
		rdp_path_load_start(&p->load, cmd->xfer_len);
		return 0;
	}
	cmd_priv(cmd)->path = NULL;
	return rc;
}

/* What a backend's refusal to start a request on p says. Only a device that cannot be reached
 * fails the path. A full queue is waited out (dm-multipath requeues on BLK_STS_RESOURCE the
 * same way), and so is a lack of memory while p has commands out, whose completions free some
 * and retry the wait. A lack of memory with nothing out is retried after a delay, a bounded
 * number of times, then answered BUSY, which initiators retry: sg builds a command's buffer
 * with GFP_ATOMIC, so ENOMEM is usually a passing shortage, not a property of the command.
 * Data that p's queue cannot map (sg: EINVAL, more than its max_hw_sectors or segments), or
 * an address it cannot use (EFAULT), belongs to this command, not to the path: it may fit
 * another path, and no other command is affected. Nothing waits without bound: a command waits
 * for room only while a completion will make some, and every wait ends at its deadline. */
enum refusal {
	REFUSED_NO_ROOM,
	REFUSED_NO_MEMORY,
	REFUSED_COMMAND,
	REFUSED_PATH,
};

static enum refusal refusal_of(int rc, const struct rdp_path *p)
{
	switch (rc) {
	case -EBUSY:
	case -EAGAIN:
		return REFUSED_NO_ROOM;
	case -ENOMEM:
	case -ENOBUFS:
		return p->st.inflight ? REFUSED_NO_ROOM : REFUSED_NO_MEMORY;
	case -EINVAL:
	case -E2BIG:
	case -EOVERFLOW:
	case -EMSGSIZE:
	case -EFAULT:
		return REFUSED_COMMAND;
	default:
		return REFUSED_PATH;
	}
}

static void refused_by_path(struct rdp_path *p, int rc)
{
	g_autofree char *why = g_strdup_printf("submit: %s", g_strerror(-rc));
	rdp_path_error(p, why);
}

/* cmd goes out again after RDP_RETRY_DELAY_MS, from the tick. */
static void retry_later(struct rdp_lun *lun, struct rdp_cmd *cmd, uint64_t now)
{
	cmd_priv(cmd)->not_before_ns = now + rdp_ms_ns(RDP_RETRY_DELAY_MS);
	q_push(&lun->delayed, cmd);
}

/* Counts one more; true on the 1st, 2nd, 4th, 8th… so that a flood logs a few lines. */
static bool count_sparsely(uint64_t *count)
{
	++*count;
	return !(*count & (*count - 1));
}

/* The backing LUN refused cmd with RESERVATION CONFLICT. The gateway takes no reservation of
 * its own for the initiator (LIO emulates or refuses those before they reach the daemon), so
 * the reservation is someone else's, on the backing LUN: on a gateway that is one of several
 * ports, the cluster's fencing (fence_scsi removed this gateway's key). The command did not
 * run, and this gateway's other paths share the key, so nothing is re-sent here; the host is
 * told this port is unavailable (02/04/0C, as RTPG says for RDP_FENCED_HOLD_MS) and re-issues
 * it through another gateway. A Linux host would take RESERVATION CONFLICT itself for the I/O's
 * own error and fail it. The only port passes the conflict on: it is the LUN's answer. */
static void fenced(struct rdp_lun *lun, struct rdp_cmd *cmd, uint64_t now)
{
	lun->fenced_ns = now;
	if (count_sparsely(&lun->conflicts))
		g_warning("lun %s: the backing LUN refuses this gateway (RESERVATION CONFLICT to "
			  "opcode 0x%02x): fenced? answering 02/04/0C, target port %u unavailable "
			  "for %u s after each; %" G_GUINT64_FORMAT " so far",
			  lun->name, cmd->cdb[0], lun->target_port, RDP_FENCED_HOLD_MS / 1000,
			  lun->conflicts);
	rdp_cmd_set_sense(cmd, 0x02, 0x04, 0x0c);
}

/* No path of the group can take cmd now or ever: ILLEGAL REQUEST, INVALID FIELD IN CDB, what
 * SBC answers for a transfer length over the LUN's maximum (docs/commands.md). */
static void refuse_uncarriable(struct rdp_lun *lun, struct rdp_cmd *cmd, uint64_t now)
{
	if (count_sparsely(&lun->uncarriable))
		g_warning("lun %s: no path can carry a command of %zu bytes (opcode 0x%02x), "
			  "refused with 05/24/00; %" G_GUINT64_FORMAT " so far",
			  lun->name, cmd->xfer_len, cmd->cdb[0], lun->uncarriable);
	rdp_cmd_set_sense(cmd, 0x05, 0x24, 0x00);
	finish_at(lun, cmd, now);
}

static enum dispatched dispatch(struct rdp_lun *lun, struct rdp_cmd *cmd, uint64_t now)
{
	for (;;) {
		if (expired(cmd, now)) {
			expire(lun, cmd, now);
			return ENDED;
		}
		struct rdp_path *p = rdp_group_select(lun, cmd->xfer_len);
		if (!p) {
			if (lun->no_path_retry == RDP_NO_PATH_FAIL) {
				fail_no_path(lun, cmd);
				return ENDED;
			}
			hold(lun, cmd);
			return WAITING;
		}
		int rc = submit_on(lun, cmd, p, now);
		if (rc == 0)
			return SENT;
		enum refusal why = refusal_of(rc, p);
		if (why == REFUSED_PATH) {
			/* never reached the device (offline, removed): safe to move at once */
			refused_by_path(p, rc);
			continue;
		}
		/* p is fine but did not take it: any other usable path of the group; else the
		 * mildest refusal decides: wait for room, retry for memory, or refuse the command */
		enum refusal mildest = why;
		for (unsigned int i = 0; i < lun->npaths; i++) {
			struct rdp_path *q = lun->paths[i];
			if (q == p || q->group != p->group || !rdp_path_usable(q))
				continue;
			rc = submit_on(lun, cmd, q, now);
			if (rc == 0)
				return SENT;
			why = refusal_of(rc, q);
			if (why == REFUSED_PATH)
				refused_by_path(q, rc);
			else if (why < mildest)
				mildest = why;
		}
		switch (mildest) {
		case REFUSED_NO_ROOM:
			q_insert_by_arrival(&lun->busy, cmd);
			return WAITING;
		case REFUSED_NO_MEMORY:
			if (++cmd_priv(cmd)->attempts > lun->max_retries + lun->npaths) {
				if (count_sparsely(&lun->nomem_busy))
					g_warning("lun %s: no memory on any path for a command of %zu "
						  "bytes after %u tries: answered BUSY; %" G_GUINT64_FORMAT
						  " so far",
						  lun->name, cmd->xfer_len, cmd_priv(cmd)->attempts - 1,
						  lun->nomem_busy);
				cmd->status = RDP_SAM_BUSY;
				cmd->resid = (int32_t)MIN(cmd->xfer_len, (size_t)INT32_MAX);
				finish_at(lun, cmd, now);
				return ENDED;
			}
			lun->st.retries++;
			retry_later(lun, cmd, now);
			return WAITING;
		default:
			refuse_uncarriable(lun, cmd, now);
			return ENDED;
		}
	}
}

/* Commands held for lack of room go out again in arrival order, until one finds none. */
static void run_busy(struct rdp_lun *lun, uint64_t now)
{
	unsigned int n = lun->busy.len;
	while (n-- && lun->busy.head)
		if (dispatch(lun, q_pop(&lun->busy), now) == WAITING)
			break;
}

/* Commands held for lack of a path go out again in arrival order. */
void rdp_lun_run_waiting(struct rdp_lun *lun)
{
	unsigned int n = lun->waiting.len;
	uint64_t now = rdp_now(lun);

	while (n-- && lun->waiting.head) {
		struct rdp_cmd *cmd = q_pop(&lun->waiting);
		uint64_t waited = now - cmd_priv(cmd)->not_before_ns;
		if (dispatch(lun, cmd, now) == WAITING)
			break; /* it went straight back: no path yet (or no room) */
		lun->st.queue_time_us += waited / 1000;
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

static bool sense_is(const struct rdp_req *req, uint8_t key, uint8_t asc, uint8_t ascq)
{
	struct sg_scsi_sense_hdr sh;
	return req->res.status == RDP_SAM_CHECK_CONDITION &&
	       sg_scsi_normalize_sense(req->sense, req->res.sense_len, &sh) && sh.sense_key == key &&
	       sh.asc == asc && sh.ascq == ascq;
}

static void req_done(struct rdp_req *req)
{
	struct rdp_cmd *cmd = req->owner;
	struct rdp_path *p = cmd_priv(cmd)->path;
	struct rdp_lun *lun = p->lun;
	/* our clock, not the sg driver's whole milliseconds; one reading for this whole step */
	uint64_t now = rdp_now(lun);
	uint64_t lat_us = (now - cmd_priv(cmd)->sent_ns) / 1000;

	p->st.inflight--;
	p->st.lat_sum_us += lat_us;
	if (lat_us > p->st.lat_max_us)
		p->st.lat_max_us = (uint32_t)MIN(lat_us, UINT32_MAX);
	rdp_path_load_done(&p->load, cmd->xfer_len, lat_us);

	struct rdp_classification c = rdp_classify_completion(&req->res, req->sense, req->res.sense_len);
	if (lun->closing) {
		/* nothing is sent again: the answer it has, or no path */
		if (c.verdict == RDP_V_COMPLETE || c.verdict == RDP_V_TARGET_ERROR)
			take_result(cmd, req);
		else
			rdp_cmd_set_sense(cmd, 0x02, 0x08, 0x00);
		finish_at(lun, cmd, now);
		rdp_lun_release(lun);
		return;
	}
	switch (c.verdict) {
	case RDP_V_TARGET_ERROR:
		p->st.target_errors++;
		lun->st.target_errors++;
		/* fall through */
	case RDP_V_COMPLETE:
		p->st.bytes += cmd->xfer_len;
		take_result(cmd, req);
		if (cmd->status == RDP_SAM_GOOD)
			rdp_frontend_answer(lun, cmd);
		else if (cmd->status == RDP_SAM_RESERVATION_CONFLICT && lun->target_port)
			fenced(lun, cmd, now);
		finish_at(lun, cmd, now);
		break;
	case RDP_V_PATH_ERROR:
		p->st.failovers++;
		lun->st.failovers++;
		rdp_path_error(p, c.reason);
		cmd_priv(cmd)->path = NULL;
		if (++cmd_priv(cmd)->attempts > lun->max_retries + lun->npaths) {
			fail_no_path(lun, cmd);
			break;
		}
		dispatch(lun, cmd, now); /* it has come back from p: now it may go elsewhere */
		break;
	case RDP_V_CAPACITY_CHANGED:
		lun->capacity_changed = true;
		/* fall through */
	case RDP_V_RETRY:
		if (sense_is(req, 0x06, 0x2a, 0x06))
			rdp_checker_check_all_soon(lun); /* ASYMMETRIC ACCESS STATE CHANGED */
		p->st.retries++;
		lun->st.retries++;
		cmd_priv(cmd)->path = NULL;
		if (++cmd_priv(cmd)->attempts > lun->max_retries) {
			/* bounded: hand the last answer to the initiator, which has its own retries */
			take_result(cmd, req);
			finish_at(lun, cmd, now);
			break;
		}
		retry_later(lun, cmd, now);
		break;
	}
	if (lun->busy.head)
		run_busy(lun, now); /* p has room again */
	if (lun->waiting.head)
		rdp_lun_run_waiting(lun);
}

/* How long after arrival a command must be answered: the kernel's bound less the margin. */
static unsigned int deadline_budget_ms(const struct rdp_lun *lun)
{
	return lun->kernel_timeout_ms - rdp_deadline_margin_ms(lun->kernel_timeout_ms);
}

/* Returns now, the reading the rest of the submission step uses. */
static uint64_t cmd_start(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	uint64_t now = rdp_now(lun);

	cmd_priv(cmd)->attempts = 0;
	cmd_priv(cmd)->path = NULL;
	cmd_priv(cmd)->next = NULL;
	cmd_priv(cmd)->not_before_ns = 0;
	cmd_priv(cmd)->start_ns = now;
	if (cmd->arrival_ns && cmd->arrival_ns < now)
		cmd_priv(cmd)->start_ns = cmd->arrival_ns;
	cmd_priv(cmd)->deadline_ns = 0;
	if (lun->kernel_timeout_ms)
		cmd_priv(cmd)->deadline_ns = cmd_priv(cmd)->start_ns + rdp_ms_ns(deadline_budget_ms(lun));
	cmd_priv(cmd)->seq = lun->next_seq++;
	cmd->dir = RDP_DIR_NONE;
	cmd->status = RDP_SAM_GOOD;
	cmd->sense_len = 0;
	cmd->resid = 0;
	lun->inflight++;
	lun->st.cmds++;
	return now;
}

void rdp_lun_submit_error(struct rdp_lun *lun, struct rdp_cmd *cmd, uint8_t key, uint8_t asc,
			  uint8_t ascq)
{
	uint64_t now = cmd_start(lun, cmd);
	rdp_cmd_set_sense(cmd, key, asc, ascq);
	finish_at(lun, cmd, now);
}

void rdp_lun_submit(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	uint64_t now = cmd_start(lun, cmd);
	if (rdp_frontend_emulate(lun, cmd)) {
		finish_at(lun, cmd, now);
		return;
	}
	if (lun->target_port && lun->fenced_ns &&
	    now - lun->fenced_ns < rdp_ms_ns(RDP_FENCED_HOLD_MS)) {
		/* fenced, as RTPG says: an unavailable port fails TEST UNIT READY and media
		 * commands (SPC-4 5.15.2.4.5), so the host's path checker keeps the path down
		 * until the hold ends, rather than reinstating it for writes to fail again */
		rdp_cmd_set_sense(cmd, 0x02, 0x04, 0x0c);
		finish_at(lun, cmd, now);
		return;
	}
	if (lun->busy.head) {
		/* keep arrival order behind commands waiting for room */
		q_insert_by_arrival(&lun->busy, cmd);
		return;
	}
	if (lun->waiting.head) {
		/* keep arrival order behind commands already waiting */
		hold(lun, cmd);
		return;
	}
	dispatch(lun, cmd, now);
}

void rdp_lun_tick(struct rdp_lun *lun)
{
	uint64_t now = rdp_now(lun);

	rdp_checker_tick(lun);
	rdp_group_tick(lun);
	rdp_lun_reap_paths(lun);
	if (lun->capacity_changed)
		rdp_lun_reread_capacity(lun);

	/* delayed retries whose time has come, in order */
	unsigned int n = lun->delayed.len;
	while (n--) {
		struct rdp_cmd *cmd = q_pop(&lun->delayed);
		if (cmd_priv(cmd)->not_before_ns > now) {
			q_push(&lun->delayed, cmd);
			continue;
		}
		cmd_priv(cmd)->not_before_ns = 0;
		dispatch(lun, cmd, now);
	}

	/* commands waiting for room: only their deadline ends the wait (dispatch expires them) */
	if (lun->busy.head)
		run_busy(lun, now);

	/* commands that waited for a path longer than the policy allows fail with a clear sense */
	uint64_t bound = no_path_hold_ns(lun);
	while (lun->waiting.head && (now - cmd_priv(lun->waiting.head)->not_before_ns >= bound ||
				     expired(lun->waiting.head, now))) {
		struct rdp_cmd *cmd = q_pop(&lun->waiting);
		lun->st.queue_time_us += (now - cmd_priv(cmd)->not_before_ns) / 1000;
		if (expired(cmd, now))
			expire(lun, cmd, now);
		else
			fail_no_path(lun, cmd);
	}
	if (lun->waiting.head)
		rdp_lun_run_waiting(lun);
}

void rdp_lun_set_policies(struct rdp_lun *lun, const struct rdp_lun_spec *spec)
{
	lun->cmd_timeout_ms = spec->cmd_timeout_ms ? spec->cmd_timeout_ms : 13000;
	lun->checker_interval_ms = spec->checker_interval_ms ? spec->checker_interval_ms : 5000;
	lun->max_checker_interval_ms = MAX(spec->max_checker_interval_ms, lun->checker_interval_ms);
	lun->read_checker = spec->read_checker;
	lun->max_retries = spec->max_retries;
	lun->no_path_retry = spec->no_path_retry;
	if (lun->target_port && lun->no_path_retry != RDP_NO_PATH_FAIL)
		g_warning("lun %s: gateway %u of %u with no_path_retry other than fail: while it has "
			  "no usable path, commands wait here (up to the kernel's cmd_time_out) "
			  "instead of going at once to another gateway; set no_path_retry = fail "
			  "(docs/ha.md)",
			  lun->name, lun->target_port, lun->target_ports);
	lun->no_path_timeout_ms = 20000;
	if (lun->kernel_timeout_ms) /* a reload keeps the kernel's bound */
		lun->no_path_timeout_ms = deadline_budget_ms(lun);
	lun->marginal_err_count = spec->marginal_err_count;
	lun->marginal_window_ms = spec->marginal_window_ms;
	lun->marginal_recovery_ms = spec->marginal_recovery_ms;
	lun->failback = spec->failback;
	lun->failback_delay_ms = spec->failback_delay_ms;
	lun->grouping = spec->grouping;
	const struct rdp_selector_ops *sel = rdp_selector_find(spec->selector);
	if (!sel)
		sel = &rdp_selector_round_robin;
	if (sel != lun->selector) /* another policy's state means nothing to this one */
		memset(&lun->sel, 0, sizeof(lun->sel));
	lun->selector = sel;
}

void rdp_lun_set_no_path_timeout(struct rdp_lun *lun, unsigned int ms)
{
	lun->no_path_timeout_ms = ms;
}

unsigned int rdp_deadline_margin_ms(unsigned int ms)
{
	return MIN(ms / 4, RDP_DEADLINE_MARGIN_MS);
}

void rdp_lun_set_kernel_timeout(struct rdp_lun *lun, unsigned int ms)
{
	if (ms == lun->kernel_timeout_ms)
		return;
	lun->kernel_timeout_ms = ms;
	if (!ms) {
		lun->no_path_timeout_ms = 20000;
		g_message("lun %s: the kernel's cmd_time_out is 0 (never): commands have no deadline",
			  lun->name);
		return;
	}
	unsigned int budget = deadline_budget_ms(lun);
	lun->no_path_timeout_ms = budget;
	g_message("lun %s: kernel cmd_time_out %u ms: every command must be answered within %u ms "
		  "of arrival; a first attempt gets at most %u ms, later ones what is left",
		  lun->name, ms, budget, MIN(lun->cmd_timeout_ms, budget / 2));
	if (lun->cmd_timeout_ms > budget / 2)
		g_warning("lun %s: cmd_timeout %u ms does not fit twice in the kernel's cmd_time_out "
			  "%u ms minus %u ms margin: attempts are cut to the command's deadline "
			  "(docs/configuration.md, cmd_timeout)",
			  lun->name, lun->cmd_timeout_ms, ms, ms - budget);
}

static bool q_holds(const struct rdp_cmd_queue *q, const struct rdp_cmd *cmd)
{
	for (const struct rdp_cmd *c = q->head; c; c = cmd_priv(c)->next)
		if (c == cmd)
			return true;
	return false;
}

char *rdp_cmd_describe(const struct rdp_lun *lun, const struct rdp_cmd *cmd)
{
	uint64_t now = rdp_now(lun);
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "opcode 0x%02x, CDB", cmd->cdb[0]);
	for (unsigned int i = 0; i < cmd->cdb_len && i < RDP_CDB_MAX; i++)
		g_string_append_printf(s, " %02x", cmd->cdb[i]);
	g_string_append_printf(s, ", %u bytes, %.1f s since arrival", (unsigned int)cmd->xfer_len,
			       (double)(now - cmd_priv(cmd)->start_ns) / 1e9);
	if (cmd_priv(cmd)->path)
		g_string_append_printf(s, ", attempt %u on %s (%s) for %.1f s, timeout %u ms",
				       cmd_priv(cmd)->attempts + 1, cmd_priv(cmd)->path->dev,
				       rdp_path_state_name(cmd_priv(cmd)->path->state),
				       (double)(now - cmd_priv(cmd)->sent_ns) / 1e9, cmd_priv(cmd)->req.timeout_ms);
	else if (q_holds(&lun->waiting, cmd))
		g_string_append(s, ", waiting for a usable path");
	else if (q_holds(&lun->busy, cmd))
		g_string_append(s, ", waiting for room on a path (queues full)");
	else if (q_holds(&lun->delayed, cmd))
		g_string_append_printf(s, ", waiting to be retried (attempt %u)", cmd_priv(cmd)->attempts + 1);
	else
		g_string_append(s, ", in no queue of the engine");
	if (cmd_priv(cmd)->deadline_ns)
		g_string_append_printf(s, ", deadline in %.1f s",
				       ((double)cmd_priv(cmd)->deadline_ns - (double)now) / 1e9);
	return g_string_free(s, FALSE);
}

char *rdp_lun_describe(const struct rdp_lun *lun)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "%u in flight, waiting for a path %u, for room %u, for a retry %u;",
			       lun->inflight, lun->waiting.len, lun->busy.len, lun->delayed.len);
	for (unsigned int i = 0; i < lun->npaths; i++) {
		const struct rdp_path *p = lun->paths[i];
		g_string_append_printf(s, " %s %s%s (%s) %u out%s%s;", p->dev,
				       rdp_path_state_name(p->state), p->bctx ? "" : ", not open",
				       p->last_reason ? p->last_reason : "", p->st.inflight,
				       p->check_busy ? ", a check out" : "",
				       lun->cap_path == p ? ", a capacity read out" : "");
	}
	return g_string_free(s, FALSE);
}

unsigned int rdp_lun_kernel_timeout(const struct rdp_lun *lun)
{
	return lun->kernel_timeout_ms;
}

unsigned int rdp_lun_inflight(const struct rdp_lun *lun)
{
	return lun->inflight;
}

static bool lun_idle(const struct rdp_lun *lun)
{
	if (lun->inflight)
		return false;
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (lun->paths[i] && !rdp_path_idle(lun->paths[i]))
			return false;
	return true;
}

static void lun_free(struct rdp_lun *lun)
{
	for (unsigned int i = 0; i < lun->npaths; i++)
		if (lun->paths[i])
			rdp_path_free(lun->paths[i]);
	g_free(lun->paths);
	g_free(lun->inq_std.data);
	g_free(lun->rc16.data);
	for (int i = 0; i < 256; i++)
		g_free(lun->vpd[i].data);
	g_free(lun->name);
	g_free(lun);
}

bool rdp_lun_release(struct rdp_lun *lun)
{
	if (!lun->closing)
		return false;
	if (lun_idle(lun)) {
		g_message("lun %s: the last request out on its paths is back: closed", lun->name);
		lun_free(lun);
	}
	return true;
}

void rdp_lun_close(struct rdp_lun *lun)
{
	if (!lun)
		return;
	/* the caller waits for rdp_lun_inflight() == 0; fail what never left the gateway */
	lun->closing = true;
	struct rdp_cmd *cmd;
	while ((cmd = q_pop(&lun->waiting)) || (cmd = q_pop(&lun->delayed)) ||
	       (cmd = q_pop(&lun->busy)))
		fail_no_path(lun, cmd);
	if (lun_idle(lun)) {
		lun_free(lun);
		return;
	}
	/* A check or a capacity read (or, should the caller not have waited, a command) is still
	 * on a path, maybe a hung one: its buffer is ours and the device may still fill it. The
	 * LUN stays allocated, sends nothing more, and goes when the last one is back. */
	unsigned int checks = 0, out = 0;
	for (unsigned int i = 0; i < lun->npaths; i++) {
		checks += lun->paths[i]->check_busy;
		out += lun->paths[i]->st.inflight;
	}
	g_message("lun %s: closed with %u check(s), %u other request(s) still out on its paths: "
		  "freed when they are back",
		  lun->name, checks, out);
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
