/* Simulation tests of the engine: a LUN over fake paths with a fake clock. Failover, ordering
 * safety, the path checker, the no-path bound, front-end answers. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "be.h"

#include "fake-backend.h"
#include "lun-internal.h"
#include <librdp/rdp.h>

#define WWID "naa.33333330000007d0"

static const struct rdp_env env = {
    .size = sizeof(struct rdp_env), .backend = &fake_backend, .now_ns = fake_clock};

struct tcmd {
	struct rdp_cmd c;
	uint8_t buf[4096];
	struct iovec iov;
	bool done;
	unsigned int order;
};

static unsigned int done_seq;

static void tcmd_done(struct rdp_cmd *c)
{
	struct tcmd *t = (struct tcmd *)c;
	g_assert_false(t->done);
	t->done = true;
	t->order = ++done_seq;
}

static void tcmd_init(struct tcmd *t, uint8_t op, uint64_t lba, uint32_t nblocks)
{
	memset(t, 0, sizeof(*t));
	t->c.cdb[0] = op;
	t->c.cdb_len = 10;
	rdp_put_be32((uint32_t)lba, t->c.cdb + 2);
	rdp_put_be16((uint16_t)nblocks, t->c.cdb + 7);
	t->iov.iov_base = t->buf;
	t->iov.iov_len = MIN(sizeof(t->buf), nblocks * 512u);
	t->c.iov = &t->iov;
	t->c.iov_cnt = t->iov.iov_len ? 1 : 0;
	t->c.xfer_len = t->iov.iov_len;
	t->c.done = tcmd_done;
}

static struct rdp_lun *open_lun_policy(const char *const *paths, unsigned int no_path_retry)
{
	struct rdp_lun_spec spec = {
		.name = "lun0",
		.paths = (char **)paths,
		.cmd_timeout_ms = 30000,
		.checker_interval_ms = 5000,
		.max_retries = 3,
		.no_path_retry = no_path_retry,
	};
	g_autoptr(GError) err = NULL;
	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);
	g_assert_no_error(err);
	g_assert_nonnull(lun);
	return lun;
}

static struct rdp_lun *open_lun(const char *const *paths)
{
	return open_lun_policy(paths, RDP_NO_PATH_QUEUE);
}

static void setup_two(struct fake_dev **a, struct fake_dev **b);

/* A LUN over two fresh fake paths sg0 (a) and sg1 (b), queueing when no path is usable. */
static struct rdp_lun *open_two(struct fake_dev **a, struct fake_dev **b)
{
	static const char *const paths[] = {"sg0", "sg1", NULL};
	setup_two(a, b);
	return open_lun(paths);
}

static void setup_two(struct fake_dev **a, struct fake_dev **b)
{
	fake_reset();
	done_seq = 0;
	struct fake_dev *sg0 = fake_dev_add("sg0", WWID);
	struct fake_dev *sg1 = fake_dev_add("sg1", WWID);
	if (a)
		*a = sg0;
	if (b)
		*b = sg1;
}

static void test_round_robin(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t[10];

	g_assert_cmpstr(rdp_lun_wwid(lun), ==, WWID);
	for (int i = 0; i < 10; i++) {
		tcmd_init(&t[i], 0x28, i * 8, 8);
		rdp_lun_submit(lun, &t[i].c);
	}
	g_assert_cmpuint(a->submitted, ==, 5);
	g_assert_cmpuint(b->submitted, ==, 5);
	g_assert_cmpuint(fake_complete_all(), ==, 10);
	for (int i = 0; i < 10; i++) {
		g_assert_true(t[i].done);
		g_assert_cmpuint(t[i].c.status, ==, RDP_SAM_GOOD);
		g_assert_cmpuint(t[i].buf[0], ==, 0xa5);
		g_assert_cmpint(t[i].c.dir, ==, RDP_DIR_FROM_DEV);
	}
	g_assert_cmpuint(rdp_lun_inflight(lun), ==, 0);
	fake_lun_close(lun);
}

static void test_identity_mismatch(void)
{
	fake_reset();
	fake_dev_add("sg0", WWID);
	fake_dev_add("sg1", "naa.6000000000000001");
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun_spec spec = {.name = "lun0", .paths = (char **)paths};
	g_autoptr(GError) err = NULL;

	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);
	g_assert_null(lun);
	g_assert_error(err, RDP_ERROR, RDP_ERROR_IDENTITY);
	g_assert_nonnull(strstr(err->message, "sg1 has identity naa.6000000000000001"));

	/* and a wwid= spec refuses a path that is not that LUN */
	g_clear_error(&err);
	static const char *const one[] = {"sg1", NULL};
	spec.paths = (char **)one;
	spec.wwid = WWID;
	g_assert_null(rdp_lun_open(&spec, &env, &err));
	g_assert_error(err, RDP_ERROR, RDP_ERROR_IDENTITY);
}

static void test_failover_after_return(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	a->mode = FAKE_NO_CONNECT;
	tcmd_init(&t, 0x2a, 0, 8);
	rdp_lun_submit(lun, &t.c);
	/* it went to sg0 and nowhere else while sg0 still holds it */
	g_assert_cmpuint(fake_pending_count(), ==, 1);
	g_assert_true(fake_pending_dev(0) == a);
	g_assert_cmpuint(b->submitted, ==, 0);
	/* sg0 returns it with a transport error: now, and only now, it goes to sg1 */
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_false(t.done);
	g_assert_cmpuint(fake_pending_count(), ==, 1);
	g_assert_true(fake_pending_dev(0) == b);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	g_assert_cmpint(t.c.dir, ==, RDP_DIR_TO_DEV);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_FAILED);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(rdp_lun_stats(lun)->failovers, ==, 1);
	g_assert_cmpuint(rdp_lun_stats(lun)->errors_returned, ==, 0);

	/* later commands avoid the failed path */
	for (int i = 0; i < 4; i++) {
		tcmd_init(&t, 0x28, 0, 1);
		rdp_lun_submit(lun, &t.c);
		g_assert_true(fake_pending_dev(0) == b);
		fake_complete_all();
		g_assert_true(t.done);
	}
	fake_lun_close(lun);
}

static void test_target_error_unchanged(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	a->mode = FAKE_MEDIUM_ERROR;
	tcmd_init(&t, 0x28, 0, 8);
	rdp_lun_submit(lun, &t.c);
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_cmpuint(t.c.sense[2] & 0xf, ==, 0x03);
	g_assert_cmpuint(t.c.sense[12], ==, 0x11);
	g_assert_cmpuint(b->submitted, ==, 0); /* not retried elsewhere */
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

/* Both paths time out together (one stopped answering for a moment): the first keeps the usual
 * one-second delay before its check, but once the last one has failed too, the next tick tests
 * both, and the waiting command goes out on the first that answers. */
static void test_last_path_failed_checks_at_once(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t0, t1;

	a->mode = FAKE_HANG;
	b->mode = FAKE_HANG;
	tcmd_init(&t0, 0x28, 0, 1);
	rdp_lun_submit(lun, &t0.c);
	tcmd_init(&t1, 0x28, 8, 1);
	rdp_lun_submit(lun, &t1.c);
	g_assert_cmpuint(a->pending + b->pending, ==, 2);

	/* the hang is over; the held commands time out, path 0 first */
	a->mode = FAKE_OK;
	b->mode = FAKE_OK;
	fake_now += 5ull * 1000000000;
	struct fake_dev *first = a->pending ? a : b, *second = a->pending ? b : a;
	g_assert_cmpuint(fake_timeout_dev(first), ==, 1);
	/* one path left: its command moved there */
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, first == a ? 0 : 1)), ==, RDP_PATH_FAILED);
	g_assert_cmpuint(first->pending, ==, 0);
	g_assert_cmpuint(fake_timeout_dev(second), ==, 2);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_FAILED);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_FAILED);
	g_assert_false(t0.done);
	g_assert_false(t1.done);

	/* no time passes: the next tick tests both at once */
	rdp_lun_tick(lun);
	g_assert_cmpuint(a->pending, >=, 1);
	g_assert_cmpuint(b->pending, >=, 1);
	for (int i = 0; i < 6 && !(t0.done && t1.done); i++)
		fake_complete_all();
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	g_assert_true(t0.done && t1.done);
	g_assert_cmpint(t0.c.status, ==, 0);
	g_assert_cmpint(t1.c.status, ==, 0);
	fake_lun_close(lun);
}

/* Path 0 (device a) stops answering (DID_NO_CONNECT): a READ fails over, the path is failed. */
static struct rdp_path *fail_path0(struct rdp_lun *lun, struct fake_dev *a)
{
	struct rdp_path *p0 = rdp_lun_path(lun, 0);
	struct tcmd t;

	a->mode = FAKE_NO_CONNECT;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	fake_complete_all();
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED);
	return p0;
}

static void test_checker_reinstates(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct rdp_path *p0 = fail_path0(lun, a);
	struct tcmd t;

	/* still broken: the TUR fails and it stays failed */
	fake_now += 6ull * 1000000000;
	rdp_lun_tick(lun);
	g_assert_cmpuint(a->pending, ==, 1);
	fake_complete_all();
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED);
	/* not checked again before the interval */
	rdp_lun_tick(lun);
	g_assert_cmpuint(a->pending, ==, 0);

	/* healed, but a unit attention first: absorbed, then TUR, INQUIRY 0x83, rejoin */
	a->mode = FAKE_UA_RESET;
	fake_now += 6ull * 1000000000;
	rdp_lun_tick(lun);
	for (int i = 0; i < 4 && fake_pending_count(); i++)
		fake_complete_all();
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(rdp_lun_stats(lun)->path_recoveries, ==, 1);

	/* and it carries I/O again */
	unsigned int before = a->by_opcode[0x28];
	for (int i = 0; i < 2; i++) {
		tcmd_init(&t, 0x28, 0, 1);
		rdp_lun_submit(lun, &t.c);
		fake_complete_all();
	}
	g_assert_cmpuint(a->by_opcode[0x28], ==, before + 1);
	fake_lun_close(lun);
}

static void test_checker_identity_changed(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct rdp_path *p0 = rdp_lun_path(lun, 0);
	struct tcmd t;

	a->mode = FAKE_NO_CONNECT;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	fake_complete_all();
	fake_complete_all();
	/* the device behind sg0 is now another LUN */
	a->mode = FAKE_OK;
	g_strlcpy(a->wwid, "naa.6000000000000002", sizeof(a->wwid));
	fake_now += 6ull * 1000000000;
	rdp_lun_tick(lun);
	fake_complete_all(); /* TUR */
	fake_complete_all(); /* INQUIRY */
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED);
	fake_lun_close(lun);
}

static void test_all_paths_down(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t[3];

	rdp_lun_set_no_path_timeout(lun, 10000);
	a->mode = b->mode = FAKE_NO_CONNECT;
	for (int i = 0; i < 3; i++) {
		tcmd_init(&t[i], 0x2a, i, 1);
		rdp_lun_submit(lun, &t[i].c);
	}
	while (fake_complete_all())
		;
	for (int i = 0; i < 3; i++)
		g_assert_false(t[i].done); /* held, not failed */

	/* a path returns within the bound: they resume in order */
	a->mode = FAKE_OK;
	fake_now += 6ull * 1000000000;
	rdp_lun_tick(lun);
	while (fake_complete_all())
		rdp_lun_tick(lun);
	for (int i = 0; i < 3; i++) {
		g_assert_true(t[i].done);
		g_assert_cmpuint(t[i].c.status, ==, RDP_SAM_GOOD);
		g_assert_cmpuint(t[i].order, ==, i + 1);
	}

	/* down longer than the bound: NOT READY, LOGICAL UNIT COMMUNICATION FAILURE */
	a->mode = FAKE_NO_CONNECT;
	tcmd_init(&t[0], 0x28, 0, 1);
	rdp_lun_submit(lun, &t[0].c);
	fake_complete_all();
	g_assert_false(t[0].done);
	fake_now += 11ull * 1000000000;
	rdp_lun_tick(lun);
	fake_complete_all();
	g_assert_true(t[0].done);
	g_assert_cmpuint(t[0].c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_cmpuint(t[0].c.sense[2], ==, 0x02);
	g_assert_cmpuint(t[0].c.sense[12], ==, 0x08);
	g_assert_cmpuint(rdp_lun_inflight(lun), ==, 0);
	fake_lun_close(lun);
}

static void test_busy_retry_bounded(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	a->mode = b->mode = FAKE_BUSY;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	for (int i = 0; i < 10 && !t.done; i++) {
		fake_complete_all();
		fake_now += 200000000;
		rdp_lun_tick(lun);
	}
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_BUSY); /* handed back after max_retries */
	g_assert_cmpuint(a->submitted + b->submitted, ==, 4);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

#define SEC 1000000000ull

/* Issue 10: a WRITE that hangs on its path past the kernel's cmd_time_out. The kernel has
 * failed it to the initiator, which may have written the blocks again: when the hung path
 * finally returns it (DID_TIME_OUT), it must not go out again on the other path. */
static void test_deadline_hung_write_not_reissued(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	rdp_lun_set_kernel_timeout(lun, 30000);
	a->mode = FAKE_HANG;
	tcmd_init(&t, 0x2a, 0, 8);
	rdp_lun_submit(lun, &t.c);
	g_assert_true(fake_pending_dev(0) == a);
	/* deadline 30 - 3 s; the first attempt leaves half of it for the other path */
	g_assert_cmpuint(cmd_priv(&t.c)->req.timeout_ms, ==, 13500);
	/* the hung path's error handling ends long after the kernel gave up */
	fake_now += 40 * SEC;
	g_assert_cmpuint(fake_timeout_dev(a), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(b->by_opcode[0x2a], ==, 0);
	g_assert_cmpuint(fake_pending_count(), ==, 0);
	g_assert_cmpuint(rdp_lun_stats(lun)->expired, ==, 1);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_cmpuint(rdp_lun_inflight(lun), ==, 0);
	/* nor later, from a tick */
	fake_now += 10 * SEC;
	rdp_lun_tick(lun);
	g_assert_cmpuint(b->by_opcode[0x2a], ==, 0);
	fake_lun_close(lun);
}

/* A command that hangs on one path completes on the other inside the kernel's bound, and the
 * second attempt's timeout ends at the deadline. */
static void test_deadline_hang_completes_on_other_path(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	rdp_lun_set_kernel_timeout(lun, 30000);
	a->mode = FAKE_HANG;
	tcmd_init(&t, 0x2a, 0, 8);
	rdp_lun_submit(lun, &t.c);
	fake_now += 13500ull * 1000000;
	g_assert_cmpuint(fake_timeout_dev(a), ==, 1);
	g_assert_false(t.done);
	g_assert_true(fake_pending_dev(0) == b);
	g_assert_cmpuint(cmd_priv(&t.c)->req.timeout_ms, ==, 13500); /* 27 s - 13.5 s */
	fake_now += 1 * SEC;
	g_assert_cmpuint(fake_complete_dev(b, 1), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	g_assert_cmpuint(rdp_lun_stats(lun)->expired, ==, 0);
	g_assert_cmpuint(rdp_lun_stats(lun)->errors_returned, ==, 0);
	fake_lun_close(lun);
}

/* A command that waited in the ring while no daemon ran (arrival_ns earlier than now): its
 * deadline counts from then. Past it, it is never sent; within it, the attempt gets only what
 * is left. */
static void test_deadline_from_arrival(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	rdp_lun_set_kernel_timeout(lun, 30000);
	fake_now += 60 * SEC;
	tcmd_init(&t, 0x2a, 0, 8);
	t.c.arrival_ns = fake_now - 26500ull * 1000000; /* 0.5 s of the 27 s budget left */
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(a->by_opcode[0x2a] + b->by_opcode[0x2a], ==, 0);
	g_assert_cmpuint(rdp_lun_stats(lun)->expired, ==, 1);

	tcmd_init(&t, 0x2a, 0, 8);
	t.c.arrival_ns = fake_now - 20000ull * 1000000; /* 7 s left: half for the first try */
	rdp_lun_submit(lun, &t.c);
	g_assert_false(t.done);
	g_assert_cmpuint(cmd_priv(&t.c)->req.timeout_ms, ==, 3500);
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	fake_lun_close(lun);
}

/* What the watchdog logs about a command that does not complete: where it is, how long. */
static void test_describe(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t, u;

	rdp_lun_set_kernel_timeout(lun, 30000);
	a->mode = b->mode = FAKE_HANG;
	tcmd_init(&t, 0x2a, 200, 8);
	rdp_lun_submit(lun, &t.c);
	fake_now += 5 * SEC;
	g_autofree char *d = rdp_cmd_describe(lun, &t.c);
	g_assert_nonnull(strstr(d, "opcode 0x2a, CDB 2a 00 00 00 00 c8 00 00 08 00, 4096 bytes"));
	g_assert_nonnull(strstr(d, "5.0 s since arrival, attempt 1 on sg0 (active) for 5.0 s, "
				   "timeout 13500 ms, deadline in 22.0 s"));
	g_autofree char *l = rdp_lun_describe(lun);
	g_assert_nonnull(strstr(l, "1 in flight, waiting for a path 0"));
	g_assert_nonnull(strstr(l, "sg0 active (identity checked at attach) 1 out;"));
	/* both paths time out: the next command waits for one */
	fake_timeout_dev(a);
	fake_timeout_dev(b);
	tcmd_init(&u, 0x28, 0, 1);
	rdp_lun_submit(lun, &u.c);
	g_autofree char *w = rdp_cmd_describe(lun, &u.c);
	g_assert_nonnull(strstr(w, ", waiting for a usable path"));
	a->mode = b->mode = FAKE_OK;
	fake_lun_close(lun);
	g_assert_true(t.done);
	g_assert_true(u.done);
}

/* A delayed retry (BUSY) whose deadline passes before its turn is not sent again; a command
 * waiting for a path is not either. With cmd_time_out 0 there is no deadline at all. */
static void test_deadline_queues(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t, w;

	rdp_lun_set_kernel_timeout(lun, 10000); /* deadline 7.5 s */
	a->mode = b->mode = FAKE_BUSY;
	tcmd_init(&t, 0x2a, 0, 8);
	rdp_lun_submit(lun, &t.c);
	fake_now += 7 * SEC;
	g_assert_cmpuint(fake_complete_all(), ==, 1); /* BUSY: a retry in 100 ms */
	g_assert_false(t.done);
	fake_now += 1 * SEC;
	rdp_lun_tick(lun);
	g_assert_true(t.done);
	g_assert_cmpuint(a->by_opcode[0x2a] + b->by_opcode[0x2a], ==, 1);
	g_assert_cmpuint(rdp_lun_stats(lun)->expired, ==, 1);

	/* waiting for a path: the no-path bound is set longer here, so the deadline decides */
	a->mode = b->mode = FAKE_NO_CONNECT;
	rdp_lun_set_no_path_timeout(lun, 60000);
	tcmd_init(&w, 0x2a, 0, 8);
	rdp_lun_submit(lun, &w.c);
	fake_complete_all();
	fake_complete_all();
	g_assert_false(w.done);
	unsigned int sent = a->by_opcode[0x2a] + b->by_opcode[0x2a];
	fake_now += 8 * SEC;
	a->mode = b->mode = FAKE_OK;
	rdp_lun_tick(lun);
	g_assert_true(w.done);
	g_assert_cmpuint(rdp_lun_stats(lun)->expired, ==, 2);
	g_assert_cmpuint(rdp_lun_stats(lun)->no_path_failed, ==, 0);
	fake_complete_all(); /* the checker's probes */
	g_assert_cmpuint(a->by_opcode[0x2a] + b->by_opcode[0x2a], ==, sent);

	rdp_lun_set_kernel_timeout(lun, 0);
	a->mode = b->mode = FAKE_OK;
	for (int i = 0; i < 10; i++) {
		fake_now += 6 * SEC;
		rdp_lun_tick(lun);
		fake_complete_all();
	}
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(cmd_priv(&t.c)->req.timeout_ms, ==, 30000); /* cmd_timeout, uncut */
	fake_now += 100 * SEC;
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	fake_lun_close(lun);
}

static void test_queue_full_waits(void)
{
	struct fake_dev *a;
	fake_reset();
	done_seq = 0;
	a = fake_dev_add("sg0", WWID);
	static const char *const paths[] = {"sg0", NULL};
	struct rdp_lun *lun = open_lun(paths);
	struct tcmd t[4];

	a->queue_limit = 2;
	for (int i = 0; i < 4; i++) {
		tcmd_init(&t[i], 0x28, i, 1);
		rdp_lun_submit(lun, &t[i].c);
	}
	g_assert_cmpuint(fake_pending_count(), ==, 2);
	while (fake_complete_all())
		;
	for (int i = 0; i < 4; i++) {
		g_assert_true(t[i].done);
		g_assert_cmpuint(t[i].order, ==, i + 1);
	}
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

/* Issue 10: a full queue is not a missing path. Under no_path_retry = fail, commands that find
 * every queue full wait for room (never failed with 02/08/00 while every path is fine), a full
 * path sends the command to another usable one first, and each waiting command is tried once
 * per completion, not once per waiting command. */
static void test_queue_full_is_not_no_path(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun_policy(paths, RDP_NO_PATH_FAIL);
	struct tcmd t[6];

	/* sg0 takes one, sg1 any number: the third goes to sg1 though the selector chose sg0 */
	a->queue_limit = 1;
	for (int i = 0; i < 3; i++) {
		tcmd_init(&t[i], 0x28, i, 1);
		rdp_lun_submit(lun, &t[i].c);
	}
	g_assert_cmpuint(fake_pending_count(), ==, 3);
	g_assert_cmpuint(b->pending, ==, 2);
	while (fake_complete_all())
		;
	/* both full: the rest wait for room, and a tick under the fail policy does not fail them */
	b->queue_limit = 1;
	for (int i = 0; i < 6; i++) {
		tcmd_init(&t[i], 0x28, i, 1);
		rdp_lun_submit(lun, &t[i].c);
	}
	g_assert_cmpuint(fake_pending_count(), ==, 2);
	fake_now += 1 * SEC;
	rdp_lun_tick(lun);
	fake_now += 1 * SEC;
	rdp_lun_tick(lun);
	for (int i = 0; i < 6; i++)
		g_assert_false(t[i].done && t[i].c.status != RDP_SAM_GOOD);
	g_assert_cmpuint(rdp_lun_stats(lun)->no_path_failed, ==, 0);
	unsigned int subs = a->submitted + b->submitted;
	while (fake_complete_all())
		;
	for (int i = 0; i < 6; i++) {
		g_assert_true(t[i].done);
		g_assert_cmpuint(t[i].c.status, ==, RDP_SAM_GOOD);
		g_assert_cmpuint(t[i].order, ==, 3 + i + 1); /* arrival order kept */
	}
	/* each of the 4 waiting went out once, plus at most one refused try per completion */
	g_assert_cmpuint(a->submitted + b->submitted - subs, <=, 4 + 6);
	g_assert_cmpuint(rdp_lun_stats(lun)->no_path_failed, ==, 0);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

/* Issue 10: closing a LUN while its checker and its capacity re-read are out on a hung path.
 * Their buffers are the LUN's and the device may still fill them (with sg direct I/O, straight
 * into our heap): the LUN must outlive them. The fake's close() refuses a context with
 * requests still pending, as freeing under them would be. */
static void test_close_while_requests_out(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);

	g_assert_cmpuint(fake_open_count(), ==, 2);
	/* a's check says CAPACITY DATA HAS CHANGED: the LUN reads it again at the next tick */
	a->mode = FAKE_UA_CAPACITY;
	fake_now += 6 * SEC;
	rdp_lun_tick(lun);
	g_assert_cmpuint(fake_pending_count(), ==, 2); /* one TUR per path */
	fake_complete_all();
	/* both paths stop answering: the check's retry on a and the re-read hang */
	a->mode = FAKE_HANG;
	b->mode = FAKE_HANG;
	rdp_lun_tick(lun);
	g_assert_cmpuint(a->by_opcode[0x9e] + b->by_opcode[0x9e], ==, 1);
	unsigned int out = fake_pending_count();
	g_assert_cmpuint(out, >=, 2);

	rdp_lun_close(lun);
	/* nothing was closed under them, nothing more was sent */
	g_assert_cmpuint(fake_open_count(), ==, 2);
	g_assert_cmpuint(fake_pending_count(), ==, out);
	/* they come back late, one path at a time: the LUN goes with the last one */
	fake_now += 20 * SEC;
	unsigned int on_a = a->pending, on_b = b->pending;
	g_assert_cmpuint(on_a, >=, 1);
	g_assert_cmpuint(on_b, >=, 1);
	g_assert_cmpuint(fake_timeout_dev(a), ==, on_a);
	g_assert_cmpuint(fake_pending_count(), ==, on_b); /* nothing re-sent from a closing LUN */
	g_assert_cmpuint(fake_open_count(), ==, 2);
	g_assert_cmpuint(fake_timeout_dev(b), ==, on_b);
	g_assert_cmpuint(fake_pending_count(), ==, 0);
	g_assert_cmpuint(fake_open_count(), ==, 0);
}

/* The checker finds the device gone (submit: ENODEV) from inside the completion of its own
 * previous stage: the context is closed there, and the backend must not free what is still
 * delivering; the path is reopened by a later check once the device is back. */
static void test_device_gone_inside_completion(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	/* a fails: its checker's next round is TUR, then the identity it must prove again */
	struct rdp_path *p0 = fail_path0(lun, a);
	a->mode = FAKE_OK;
	fake_now += 6 * SEC;
	rdp_lun_tick(lun);
	g_assert_cmpuint(a->pending, ==, 1);
	/* the TUR answers; the INQUIRY that follows finds the device gone */
	a->submit_error = -ENODEV;
	g_assert_cmpuint(fake_complete_dev(a, 1), ==, 1);
	g_assert_cmpuint(fake_open_count(), ==, 1); /* closed, from inside that completion */
	g_assert_cmpint(rdp_path_state(p0), !=, RDP_PATH_ACTIVE);
	/* the device comes back: opened again and proven before it carries I/O */
	a->submit_error = 0;
	fake_now += 6 * SEC;
	rdp_lun_tick(lun);
	for (int i = 0; i < 4 && fake_pending_count(); i++)
		fake_complete_all();
	g_assert_cmpuint(fake_open_count(), ==, 2);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
	g_assert_cmpuint(fake_open_count(), ==, 0);
}

static void assert_paths_active(struct rdp_lun *lun)
{
	for (unsigned int i = 0; i < rdp_lun_path_count(lun); i++)
		g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, i)), ==, RDP_PATH_ACTIVE);
}

/* A command that a path's queue cannot take (sg's write() says EINVAL: more data than its
 * queue maps; ENOMEM: no memory for it now) says nothing about the path. One such legal
 * command from an initiator used to fail every path in turn, and the LUN with them. */
static void test_submit_refused_keeps_paths(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	/* too large for one path: carried by the other, the first stays in use */
	a->max_xfer = 2048;
	tcmd_init(&t, 0x28, 0, 8);
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(b->pending, ==, 1);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	assert_paths_active(lun);

	/* too large for both: ILLEGAL REQUEST, INVALID FIELD IN CDB (SBC: a transfer length
	 * over the maximum), at once; both paths still in use and the next command goes out */
	b->max_xfer = 2048;
	unsigned int sent = a->submitted + b->submitted;
	tcmd_init(&t, 0x28, 0, 8);
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_cmpuint(t.c.sense[2] & 0x0f, ==, 0x05);
	g_assert_cmpuint(t.c.sense[12], ==, 0x24);
	g_assert_cmpuint(a->submitted + b->submitted, ==, sent);
	assert_paths_active(lun);
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);

	/* no memory on either path while one has a command out: the command waits, as for a
	 * full queue, and goes out when that completion makes room; no path failed meanwhile */
	struct tcmd first;
	tcmd_init(&first, 0x28, 0, 1);
	rdp_lun_submit(lun, &first.c);
	g_assert_cmpuint(fake_pending_count(), ==, 1);
	a->submit_error = b->submit_error = -ENOMEM;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	g_assert_false(t.done);
	assert_paths_active(lun);
	a->submit_error = b->submit_error = 0;
	g_assert_cmpuint(fake_complete_all(), ==, 1); /* first's completion sends t */
	g_assert_true(first.done);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);

	/* no memory with nothing out: no completion will make room, and sg allocates with
	 * GFP_ATOMIC, so it is a passing shortage: retried after a delay, the paths kept */
	a->submit_error = b->submit_error = -ENOMEM;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	g_assert_false(t.done);
	assert_paths_active(lun);
	a->submit_error = b->submit_error = 0;
	fake_now += SEC / 5;
	rdp_lun_tick(lun);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);

	/* a shortage that lasts: bounded (max_retries + paths tries), then BUSY, which the
	 * initiator retries; never ILLEGAL REQUEST, never a failed path */
	a->submit_error = b->submit_error = -ENOMEM;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	for (int i = 0; i < 20 && !t.done; i++) {
		fake_now += SEC / 5;
		rdp_lun_tick(lun);
	}
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_BUSY);
	g_assert_cmpint(t.c.resid, ==, 512);
	assert_paths_active(lun);
	a->submit_error = b->submit_error = 0;

	/* too large for one path while the other is full: it waits for room on the other,
	 * and goes there when it has some */
	a->max_xfer = 2048;
	b->max_xfer = 0;
	b->queue_limit = 1;
	a->submit_error = -EBUSY; /* first goes to b and fills it */
	tcmd_init(&first, 0x28, 0, 1);
	rdp_lun_submit(lun, &first.c);
	a->submit_error = 0;
	g_assert_cmpuint(b->pending, ==, 1);
	tcmd_init(&t, 0x28, 0, 8);
	rdp_lun_submit(lun, &t.c);
	g_assert_false(t.done);
	g_assert_cmpuint(fake_complete_dev(b, 1), ==, 1); /* room on b: t goes there */
	g_assert_cmpuint(b->pending, ==, 1);
	while (fake_complete_all())
		;
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	b->queue_limit = 0;
	a->max_xfer = 0;
	fake_lun_close(lun);
}

/* INQUIRY VPD B0h as the initiator gets it: MAXIMUM and OPTIMAL TRANSFER LENGTH, in blocks. */
static void served_b0(struct rdp_lun *lun, uint32_t *max, uint32_t *opt)
{
	struct tcmd t;
	tcmd_init(&t, 0x12, 0, 0);
	memset(t.c.cdb, 0, sizeof(t.c.cdb));
	t.c.cdb[0] = 0x12;
	t.c.cdb[1] = 0x01;
	t.c.cdb[2] = 0xb0;
	t.c.cdb[4] = 64;
	t.c.cdb_len = 6;
	t.iov.iov_len = 64;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 64;
	rdp_lun_submit(lun, &t.c);
	while (!t.done && fake_complete_all())
		;
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	g_assert_cmpuint(t.buf[1], ==, 0xb0);
	*max = rdp_get_be32(t.buf + 8);
	*opt = rdp_get_be32(t.buf + 12);
}

/* The initiator is told the largest command every path carries: the backing LUN's own limit
 * (2 MiB here) lowered to the smallest path queue's (64 KiB), so that a conforming initiator
 * never sends a command that /lun/submit-refused-keeps-paths would have to refuse. */
static void test_max_transfer_from_paths(void)
{
	struct fake_dev *a, *b;
	static const char *const paths[] = {"sg0", "sg1", NULL};
	static const struct {
		const char *what;
		uint32_t lun_max, lun_opt, block_size;
		size_t xfer_a, xfer_b;
		uint32_t want_max, want_opt;
	} cases[] = {
	    {"the smallest path's (64 KiB of 512-byte blocks)", 4096, 0, 512, 128 << 10, 64 << 10, 128, 128},
	    {"the LUN's own limit below the paths': kept", 64, 0, 512, 128 << 10, 128 << 10, 64, 64},
	    {"the LUN says 0xffffffff: the paths'", 0xffffffff, 0, 512, 256 << 10, 256 << 10, 512, 512},
	    {"the LUN says 0 (no limit), OPTIMAL below: the paths', OPTIMAL kept, in 4 KiB blocks",
	     0, 8, 4096, 256 << 10, 256 << 10, 64, 8},
	};
	uint32_t max, opt;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s", cases[i].what);
		setup_two(&a, &b);
		a->has_b0 = b->has_b0 = true;
		a->b0_max_blocks = b->b0_max_blocks = cases[i].lun_max;
		a->b0_opt_blocks = b->b0_opt_blocks = cases[i].lun_opt;
		a->block_size = b->block_size = cases[i].block_size;
		a->max_xfer = cases[i].xfer_a;
		b->max_xfer = cases[i].xfer_b;
		struct rdp_lun *lun = open_lun(paths);
		served_b0(lun, &max, &opt);
		g_assert_cmpuint(max, ==, cases[i].want_max);
		g_assert_cmpuint(opt, ==, cases[i].want_opt);
		fake_lun_close(lun);
	}

	/* a path that joins later with a smaller queue lowers it */
	setup_two(&a, &b);
	a->has_b0 = b->has_b0 = true;
	a->b0_max_blocks = b->b0_max_blocks = 4096;
	a->max_xfer = b->max_xfer = 128 * 1024;
	struct fake_dev *c = fake_dev_add("sg2", WWID);
	c->max_xfer = 32 * 1024;
	struct rdp_lun *lun = open_lun(paths);
	served_b0(lun, &max, &opt);
	g_assert_cmpuint(max, ==, 256);
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(rdp_lun_add_path(lun, "sg2", NULL, &err), ==, 0);
	g_assert_no_error(err);
	served_b0(lun, &max, &opt);
	g_assert_cmpuint(max, ==, 64);
	g_assert_cmpuint(opt, ==, 64);
	fake_lun_close(lun);
}

/* UNMAP with one descriptor per block, 256 of them (libiscsi's Unmap.Simple; scsi_debug takes
 * 256): every descriptor is range-checked, across the iovecs of the data area, and the command
 * goes to the path; one descriptor past the end, anywhere in the list, refuses it. */
static void test_unmap_many_descriptors(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	static uint8_t list[8 + 16 * 256];
	struct tcmd t;

	for (int bad = -1; bad < 256; bad += 200) {
		memset(list, 0, sizeof(list));
		rdp_put_be16(sizeof(list) - 2, list);
		rdp_put_be16(16 * 256, list + 2);
		for (int i = 0; i < 256; i++) {
			rdp_put_be64(i == bad ? 524288 : (uint64_t)i, list + 8 + 16 * i);
			rdp_put_be32(1, list + 8 + 16 * i + 8);
		}
		tcmd_init(&t, 0x42, 0, 0);
		memset(t.c.cdb, 0, sizeof(t.c.cdb));
		t.c.cdb[0] = 0x42;
		rdp_put_be16(sizeof(list), t.c.cdb + 7);
		struct iovec iov[2] = {{list, 1000}, {list + 1000, sizeof(list) - 1000}};
		t.c.iov = iov;
		t.c.iov_cnt = 2;
		t.c.xfer_len = sizeof(list);
		unsigned int before = a->by_opcode[0x42] + b->by_opcode[0x42];
		rdp_lun_submit(lun, &t.c);
		fake_complete_all();
		g_assert_true(t.done);
		if (bad < 0) {
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
			g_assert_cmpuint(a->by_opcode[0x42] + b->by_opcode[0x42], ==, before + 1);
		} else {
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
			g_assert_cmpuint(t.c.sense[12], ==, 0x21);
			g_assert_cmpuint(a->by_opcode[0x42] + b->by_opcode[0x42], ==, before);
		}
	}
	fake_lun_close(lun);
}

/* GET LBA STATUS on a backstore of half the backing LUN: the backing LUN's answer describes
 * blocks past the backstore's end; the initiator gets only what lies inside it. */
static void test_lba_status_cut_to_backstore(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	g_autoptr(GError) err = NULL;
	struct tcmd t;
	uint64_t half = a->blocks / 2;

	g_assert_true(rdp_lun_check_frontend(lun, half * 512, 512, &err));
	tcmd_init(&t, 0x9e, 0, 0);
	memset(t.c.cdb, 0, sizeof(t.c.cdb));
	t.c.cdb[0] = 0x9e;
	t.c.cdb[1] = 0x12;
	t.c.cdb_len = 16;
	rdp_put_be32(4096, t.c.cdb + 10);
	t.iov.iov_len = 4096;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 4096;
	memset(t.buf, 0xee, sizeof(t.buf));
	rdp_lun_submit(lun, &t.c);
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	/* two descriptors left, the second cut at the end: [0, half-10) and [half-10, half) */
	g_assert_cmpuint(rdp_get_be32(t.buf), ==, 4 + 2 * 16);
	g_assert_cmpuint(rdp_get_be64(t.buf + 8), ==, 0);
	g_assert_cmpuint(rdp_get_be64(t.buf + 24), ==, half - 10);
	g_assert_cmpuint(rdp_get_be32(t.buf + 32), ==, 10);
	g_assert_cmpint(t.c.resid, ==, 4096 - 40);
	for (size_t i = 40; i < sizeof(t.buf); i++)
		g_assert_cmpuint(t.buf[i], ==, 0);
	fake_lun_close(lun);
}

/* EXTENDED COPY and RECEIVE COPY RESULTS are never forwarded: their descriptors name LUNs and
 * ranges the backing array would resolve itself. The standard INQUIRY does not claim 3PC. */
static void test_xcopy_refused(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	for (uint8_t op = 0x83; op <= 0x84; op++) {
		tcmd_init(&t, op, 0, 1);
		memset(t.c.cdb, 0, sizeof(t.c.cdb));
		t.c.cdb[0] = op;
		t.c.cdb_len = 16;
		rdp_put_be32(512, t.c.cdb + 10);
		rdp_lun_submit(lun, &t.c);
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
		g_assert_cmpuint(t.c.sense[2] & 0x0f, ==, 0x05);
		g_assert_cmpuint(t.c.sense[12], ==, 0x20);
		g_assert_cmpuint(a->by_opcode[op] + b->by_opcode[op], ==, 0);
	}
	tcmd_init(&t, 0x12, 0, 0);
	memset(t.c.cdb, 0, sizeof(t.c.cdb));
	t.c.cdb[0] = 0x12;
	t.c.cdb[4] = 36;
	t.c.cdb_len = 6;
	t.iov.iov_len = 36;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 36;
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	g_assert_cmpuint(t.buf[5] & 0x08, ==, 0);
	fake_lun_close(lun);
}

/* REPORT SUPPORTED OPERATION CODES is the backing LUN's list: what the gateway refuses is not
 * offered (EXTENDED COPY with its timeouts descriptor, ATA PASS-THROUGH, a SERVICE ACTION IN
 * the gateway does not pass), and one such command asked for alone is "not supported". */
static void test_rsoc_lists_what_is_served(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	for (int one = 0; one < 2; one++) {
		tcmd_init(&t, 0xa3, 0, 0);
		memset(t.c.cdb, 0, sizeof(t.c.cdb));
		t.c.cdb[0] = 0xa3;
		t.c.cdb[1] = 0x0c;
		t.c.cdb[2] = one ? 0x01 : 0x00;
		t.c.cdb[3] = one ? 0x83 : 0x00;
		t.c.cdb_len = 12;
		rdp_put_be32(512, t.c.cdb + 6);
		t.iov.iov_len = 512;
		t.c.iov_cnt = 1;
		t.c.xfer_len = 512;
		memset(t.buf, 0xee, sizeof(t.buf));
		rdp_lun_submit(lun, &t.c);
		fake_complete_all();
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		if (one) {
			g_assert_cmpuint(t.buf[1] & 0x07, ==, 0x01);
			g_assert_cmpint(t.c.resid, ==, 512 - 4);
			continue;
		}
		/* 0x28, 0x9e/10h, 0x2a left of six; 20 + 8 + 8 bytes went */
		g_assert_cmpuint(rdp_get_be32(t.buf), ==, 3 * 8);
		g_assert_cmpuint(t.buf[4], ==, 0x28);
		g_assert_cmpuint(t.buf[12], ==, 0x9e);
		g_assert_cmpuint(rdp_get_be16(t.buf + 14), ==, 0x10);
		g_assert_cmpuint(t.buf[20], ==, 0x2a);
		g_assert_cmpint(t.c.resid, ==, 512 - 28);
		g_assert_cmpuint(t.buf[28], ==, 0);
	}
	fake_lun_close(lun);
}

/* ---- the gateway as one of several target ports (target_port, target_ports) ---- */

/* A LUN over fresh sg0 (a) and sg1 (b) whose gateway is target port `port` of `ports` (0: the
 * only port). Multibus, so that attach sends the paths no RTPG of its own. */
static struct rdp_lun *open_two_port(struct fake_dev **a, struct fake_dev **b, unsigned int port,
				     unsigned int ports)
{
	static const char *const paths[] = {"sg0", "sg1", NULL};
	setup_two(a, b);
	struct rdp_lun_spec spec = {
		.name = "lun0",
		.paths = (char **)paths,
		.cmd_timeout_ms = 30000,
		.checker_interval_ms = 5000,
		.max_retries = 3,
		.grouping = RDP_GROUP_MULTIBUS,
		.target_port = port,
		.target_ports = ports,
	};
	g_autoptr(GError) err = NULL;
	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);
	g_assert_no_error(err);
	g_assert_nonnull(lun);
	return lun;
}

/* A command of cdb_len bytes whose first bytes are cdb, into a data-in buffer of xfer bytes
 * (0xee before the command). */
static void tcmd_in(struct tcmd *t, const uint8_t *cdb, uint8_t cdb_len, size_t xfer)
{
	tcmd_init(t, cdb[0], 0, 0);
	memset(t->c.cdb, 0, sizeof(t->c.cdb));
	memcpy(t->c.cdb, cdb, cdb_len);
	t->c.cdb_len = cdb_len;
	t->iov.iov_len = xfer;
	t->c.iov_cnt = 1;
	t->c.xfer_len = xfer;
	memset(t->buf, 0xee, sizeof(t->buf));
}

/* REPORT TARGET PORT GROUPS with PARAMETER DATA FORMAT extended or not and allocation length
 * alloc, into xfer bytes. */
static void tcmd_rtpg(struct tcmd *t, bool extended, uint32_t alloc, size_t xfer)
{
	uint8_t cdb[12] = {0xa3, (uint8_t)(0x0a | (extended ? 0x20 : 0))};
	rdp_put_be32(alloc, cdb + 6);
	tcmd_in(t, cdb, sizeof(cdb), xfer);
}

/* What the paths were sent: every command, synchronous or not, and RTPGs in particular */
static unsigned int sent(const struct fake_dev *a, const struct fake_dev *b)
{
	return a->submitted + b->submitted + a->sync_calls + b->sync_calls;
}

static void submit_here(struct rdp_lun *lun, struct tcmd *t)
{
	rdp_lun_submit(lun, &t->c);
	g_assert_true(t->done); /* answered by the gateway, nothing pending */
}

/* Standard INQUIRY: TPGS 01b (implicit ALUA) as port N, 00b as the only port, whatever the
 * backing LUN says (the fake claims implicit ALUA and 3PC); the rest as the backing LUN's. */
static void test_target_port_inquiry(void)
{
	for (unsigned int port = 0; port <= 2; port++) {
		struct fake_dev *a, *b;
		struct rdp_lun *lun = open_two_port(&a, &b, port, port ? 2 : 1);
		struct tcmd t;
		uint8_t cdb[6] = {0x12, 0, 0, 0, 96, 0};

		unsigned int before = sent(a, b);
		tcmd_in(&t, cdb, sizeof(cdb), 96);
		submit_here(lun, &t);
		g_assert_cmpuint(sent(a, b), ==, before);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		g_assert_cmpuint(t.buf[5] & 0x30, ==, port ? 0x10 : 0x00);
		g_assert_cmpint(rdp_alua_tpgs(t.buf, 36), ==,
				port ? RDP_ALUA_TPGS_IMPLICIT : RDP_ALUA_TPGS_NONE);
		g_assert_cmpuint(t.buf[5] & 0x08, ==, 0); /* 3PC still not claimed */
		g_assert_cmpmem(t.buf + 8, 28, "FAKE    fake-lun        0001", 28);
		g_assert_cmpint(t.c.resid, ==, 96 - 36);
		fake_lun_close(lun);
	}
}

/* VPD 0x83: the LU designator as the only port has it, then this gateway's relative target
 * port and target port group (both N), whatever the path's own (sg0's are 1, sg1's 2). */
static void test_target_port_vpd83(void)
{
	uint8_t lu_only[16];
	for (unsigned int port = 0; port <= 3; port += 3) {
		struct fake_dev *a, *b;
		struct rdp_lun *lun = open_two_port(&a, &b, port, port ? 4 : 1);
		struct tcmd t;
		uint8_t cdb[6] = {0x12, 0x01, 0x83, 0x01, 0x00, 0};

		unsigned int before = sent(a, b);
		tcmd_in(&t, cdb, sizeof(cdb), 256);
		submit_here(lun, &t);
		g_assert_cmpuint(sent(a, b), ==, before);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		char wwid[RDP_WWID_MAX];
		size_t got = 256 - (size_t)t.c.resid;
		g_assert_cmpint(rdp_wwid_from_vpd83(t.buf, got, wwid, sizeof(wwid)), ==, 0);
		g_assert_cmpstr(wwid, ==, WWID);
		struct rdp_alua_port p;
		if (!port) {
			g_assert_cmpuint(rdp_get_be16(t.buf + 2), ==, 12);
			g_assert_cmpint(t.c.resid, ==, 256 - 16);
			g_assert_cmpint(rdp_alua_port_from_vpd83(t.buf, 16, &p), ==, -ENOENT);
			memcpy(lu_only, t.buf, sizeof(lu_only));
			fake_lun_close(lun);
			continue;
		}
		g_assert_cmpuint(rdp_get_be16(t.buf + 2), ==, 12 + 16);
		g_assert_cmpint(t.c.resid, ==, 256 - 32);
		/* the LU designator unchanged, the page length aside */
		g_assert_cmpmem(t.buf + 4, 12, lu_only + 4, 12);
		g_assert_cmpmem(t.buf, 2, lu_only, 2);
		/* binary, PIV 0, association target port, type 4 then 5, 2 reserved bytes, N */
		static const uint8_t rel[8] = {0x01, 0x14, 0, 4, 0, 0, 0, 3};
		static const uint8_t tpg[8] = {0x01, 0x15, 0, 4, 0, 0, 0, 3};
		g_assert_cmpmem(t.buf + 16, 8, rel, 8);
		g_assert_cmpmem(t.buf + 24, 8, tpg, 8);
		g_assert_cmpint(rdp_alua_port_from_vpd83(t.buf, 32, &p), ==, 0);
		g_assert_true(p.has_tpg && p.has_rel_port);
		g_assert_cmpuint(p.tpg_id, ==, 3);
		g_assert_cmpuint(p.rel_port, ==, 3);
		fake_lun_close(lun);
	}
}

/* REPORT TARGET PORT GROUPS answered by the gateway (port 2 of 3): groups 1, 2, 3, each
 * active/optimized with its one port, in both header formats; a short allocation length cuts
 * the data, not the RETURN DATA LENGTH. No path ever sees an RTPG. */
static void test_target_port_rtpg(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two_port(&a, &b, 2, 3);
	struct tcmd t;
	unsigned int before = sent(a, b), rtpg = a->by_opcode[0xa3] + b->by_opcode[0xa3];

	for (int extended = 0; extended < 2; extended++) {
		size_t hdr = extended ? 8 : 4, total = hdr + 3 * 12;
		tcmd_rtpg(&t, extended, 512, 512);
		submit_here(lun, &t);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		g_assert_cmpint(t.c.resid, ==, 512 - (int)total);
		g_assert_cmpuint(rdp_get_be32(t.buf), ==, total - 4);
		if (extended) {
			g_assert_cmpuint(t.buf[4], ==, 0x10); /* format type 1 */
			g_assert_cmpuint(t.buf[5], ==, 0);    /* implicit transition time */
			g_assert_cmpuint(rdp_get_be16(t.buf + 6), ==, 0);
		}
		for (unsigned int g = 0; g < 3; g++) {
			const uint8_t *d = t.buf + hdr + 12 * g;
			const uint8_t want[12] = {0x00, 0x09, 0, (uint8_t)(g + 1), 0, 0, 0, 1,
						  0,	0,    0, (uint8_t)(g + 1)};
			g_assert_cmpmem(d, 12, want, 12);
		}
		/* the engine's own parser reads it as the initiator would */
		g_auto(rdp_alua_rtpg) r = {0};
		g_assert_cmpint(rdp_alua_parse_rtpg(t.buf, total, &r, NULL), ==, 0);
		g_assert_cmpint(r.extended, ==, extended);
		g_assert_cmpuint(r.n_groups, ==, 3);
		struct rdp_alua_port mine = {.has_tpg = true, .tpg_id = 2};
		g_assert_cmpint(rdp_alua_path_state(&r, &mine), ==, RDP_ALUA_AO);
	}

	/* allocation lengths of 4 and 10 (the kernel's buffer as long as that): what fits */
	for (int extended = 0; extended < 2; extended++) {
		for (uint32_t alloc = 4; alloc <= 10; alloc += 6) {
			tcmd_rtpg(&t, extended, alloc, alloc);
			submit_here(lun, &t);
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
			g_assert_cmpint(t.c.resid, ==, 0);
			g_assert_cmpuint(rdp_get_be32(t.buf), ==, (extended ? 8 : 4) + 36 - 4);
			g_assert_cmpuint(t.buf[alloc], ==, 0xee); /* past the buffer: untouched */
			size_t needed = 0;
			g_auto(rdp_alua_rtpg) r = {0};
			g_assert_cmpint(rdp_alua_parse_rtpg(t.buf, alloc, &r, &needed), ==,
					-EMSGSIZE);
			g_assert_cmpuint(needed, ==, (extended ? 8 : 4) + 36);
		}
	}
	/* a larger buffer than the allocation length: the residual says what came */
	tcmd_rtpg(&t, true, 10, 512);
	submit_here(lun, &t);
	g_assert_cmpint(t.c.resid, ==, 512 - 10);
	g_assert_cmpuint(t.buf[8], ==, 0x00); /* group 1: AO */
	g_assert_cmpuint(t.buf[9], ==, 0x09); /* AO_SUP and U_SUP */
	g_assert_cmpuint(t.buf[10], ==, 0);   /* cut here: not filled */
	/* allocation length 0: nothing, and no error */
	tcmd_rtpg(&t, false, 0, 0);
	submit_here(lun, &t);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);

	/* SET TARGET PORT GROUPS stays refused: TPGS says implicit only */
	uint8_t stpg[12] = {0xa4, 0x0a};
	rdp_put_be32(8, stpg + 6);
	tcmd_in(&t, stpg, sizeof(stpg), 8);
	submit_here(lun, &t);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_cmpuint(t.c.sense[2] & 0x0f, ==, 0x05);
	g_assert_cmpuint(t.c.sense[12], ==, 0x24);

	g_assert_cmpuint(sent(a, b), ==, before);
	g_assert_cmpuint(a->by_opcode[0xa3] + b->by_opcode[0xa3], ==, rtpg);
	g_assert_cmpuint(a->by_opcode[0xa4] + b->by_opcode[0xa4], ==, 0);
	fake_lun_close(lun);
}

/* As the only port, RTPG is refused (05/24/00) and reaches no path; REPORT SUPPORTED
 * OPERATION CODES for it alone says "not supported" then, and passes the backing LUN's answer
 * as one of several ports. */
static void test_target_port_rtpg_single(void)
{
	for (unsigned int port = 0; port <= 1; port++) {
		struct fake_dev *a, *b;
		struct rdp_lun *lun = open_two_port(&a, &b, port, port ? 2 : 1);
		struct tcmd t;
		unsigned int before = sent(a, b);

		if (!port) {
			for (int extended = 0; extended < 2; extended++) {
				tcmd_rtpg(&t, extended, 512, 512);
				submit_here(lun, &t);
				g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
				g_assert_cmpuint(t.c.sense[2] & 0x0f, ==, 0x05);
				g_assert_cmpuint(t.c.sense[12], ==, 0x24);
				g_assert_cmpuint(t.c.sense[13], ==, 0x00);
			}
			g_assert_cmpuint(sent(a, b), ==, before);
		}
		/* RSOC, reporting options 2: A3h service action 0Ah alone */
		uint8_t rsoc[12] = {0xa3, 0x0c, 0x02, 0xa3, 0x00, 0x0a};
		rdp_put_be32(512, rsoc + 6);
		tcmd_in(&t, rsoc, sizeof(rsoc), 512);
		rdp_lun_submit(lun, &t.c);
		fake_complete_all();
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		g_assert_cmpuint(t.buf[1] & 0x07, ==, port ? 0x03 : 0x01);
		fake_lun_close(lun);
	}
}

/* One of several gateways that has lost every path to the LUN says so, so that the host moves
 * to another gateway at once rather than after a timeout: its own group is unavailable in RTPG
 * (the others stay active/optimized; every group lists AO and U as supported), a command fails
 * with 02/04/0C (target port in unavailable state) rather than 02/08/00, and the group is
 * active/optimized again once a path is back. As the only port, the sense stays 02/08/00. */
static void test_target_port_no_path(void)
{
	for (unsigned int port = 0; port <= 2; port += 2) {
		struct fake_dev *a, *b;
		struct rdp_lun *lun = open_two_port(&a, &b, port, port ? 2 : 1); /* fail */
		struct tcmd t;

		a->mode = b->mode = FAKE_NO_CONNECT;
		tcmd_init(&t, 0x2a, 0, 8);
		rdp_lun_submit(lun, &t.c);
		while (fake_complete_all())
			; /* sg0 fails it, then sg1 */
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
		g_assert_cmpuint(t.c.sense[2] & 0x0f, ==, 0x02);
		g_assert_cmpuint(t.c.sense[12], ==, port ? 0x04 : 0x08);
		g_assert_cmpuint(t.c.sense[13], ==, port ? 0x0c : 0x00);
		g_assert_cmpuint(rdp_lun_stats(lun)->no_path_failed, ==, 1);
		if (!port) {
			fake_lun_close(lun);
			continue;
		}
		for (int healed = 0; healed < 2; healed++) {
			tcmd_rtpg(&t, false, 512, 512);
			submit_here(lun, &t);
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
			g_assert_cmpint(t.c.resid, ==, 512 - (4 + 2 * 12));
			const uint8_t *g1 = t.buf + 4, *g2 = t.buf + 16;
			g_assert_cmpuint(g1[0], ==, RDP_ALUA_AO); /* not ours to judge */
			g_assert_cmpuint(g2[0], ==, healed ? RDP_ALUA_AO : RDP_ALUA_UNAVAILABLE);
			g_assert_cmpuint(g1[1], ==, RDP_ALUA_SUP_AO | RDP_ALUA_SUP_UNAVAILABLE);
			g_assert_cmpuint(g2[1], ==, RDP_ALUA_SUP_AO | RDP_ALUA_SUP_UNAVAILABLE);
			g_assert_cmpuint(rdp_get_be16(g2 + 2), ==, 2);
			/* the paths heal and the checker finds them */
			a->mode = b->mode = FAKE_OK;
			for (int i = 0; i < 3; i++) {
				fake_now += 6 * SEC;
				rdp_lun_tick(lun);
				fake_complete_all();
			}
		}
		tcmd_init(&t, 0x2a, 0, 8);
		rdp_lun_submit(lun, &t.c);
		fake_complete_all();
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		fake_lun_close(lun);
	}
}

/* Fenced (fence_scsi removed this gateway's key from the backing LUN): its WRITEs end in
 * RESERVATION CONFLICT on every path. The only port passes that on, as the LUN's answer, and
 * reads go on. One of several gateways answers 02/04/0C instead, so that the host's multipath
 * sends the write through another gateway rather than failing it (a Linux host takes a conflict
 * for the I/O's own error, not the path's), and for 10 s after the last conflict shows its group
 * unavailable and fails what an unavailable port fails (TEST UNIT READY, reads) with 02/04/0C
 * without sending it, so the host's checker does not bring the path back meanwhile; INQUIRY
 * and RTPG are still answered. Either way the write is not re-sent on the other path (the LUN
 * refused it; it did not run) and no path is failed. */
static void test_target_port_fenced(void)
{
	for (unsigned int port = 0; port <= 2; port += 2) {
		struct fake_dev *a, *b;
		struct rdp_lun *lun = open_two_port(&a, &b, port, port ? 2 : 1);
		struct tcmd t;

		a->mode = b->mode = FAKE_FENCED;
		tcmd_init(&t, 0x2a, 0, 8);
		rdp_lun_submit(lun, &t.c);
		while (fake_complete_all())
			;
		g_assert_true(t.done);
		g_assert_cmpuint(a->by_opcode[0x2a] + b->by_opcode[0x2a], ==, 1);
		if (port) {
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
			g_assert_cmpuint(t.c.sense[2] & 0x0f, ==, 0x02);
			g_assert_cmpuint(t.c.sense[12], ==, 0x04);
			g_assert_cmpuint(t.c.sense[13], ==, 0x0c);
		} else {
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_RESERVATION_CONFLICT);
		}
		g_assert_cmpuint(rdp_lun_stats(lun)->failovers, ==, 0);
		for (int later = 0; later < 3; later++) {
			bool held = port && later < 2;
			unsigned int reads = a->by_opcode[0x28] + b->by_opcode[0x28];
			unsigned int turs = a->by_opcode[0x00] + b->by_opcode[0x00];
			tcmd_init(&t, 0x28, 0, 8);
			rdp_lun_submit(lun, &t.c);
			fake_complete_all();
			g_assert_true(t.done);
			struct tcmd u;
			tcmd_init(&u, 0x00, 0, 0);
			u.c.cdb_len = 6;
			memset(u.c.cdb + 1, 0, 5);
			rdp_lun_submit(lun, &u.c);
			fake_complete_all();
			g_assert_true(u.done);
			for (struct tcmd *c = &t; c; c = c == &t ? &u : NULL) {
				if (!held) {
					g_assert_cmpuint(c->c.status, ==, RDP_SAM_GOOD);
					continue;
				}
				g_assert_cmpuint(c->c.status, ==, RDP_SAM_CHECK_CONDITION);
				g_assert_cmpuint(c->c.sense[2] & 0x0f, ==, 0x02);
				g_assert_cmpuint(c->c.sense[12], ==, 0x04);
				g_assert_cmpuint(c->c.sense[13], ==, 0x0c);
			}
			g_assert_cmpuint(a->by_opcode[0x28] + b->by_opcode[0x28], ==,
					 reads + (held ? 0 : 1));
			g_assert_cmpuint(a->by_opcode[0x00] + b->by_opcode[0x00], >=,
					 turs + (held ? 0 : 1));
			if (port) {
				tcmd_rtpg(&t, false, 512, 512);
				submit_here(lun, &t);
				g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
				g_assert_cmpuint(t.buf[4], ==, RDP_ALUA_AO);
				g_assert_cmpuint(t.buf[16], ==,
						 held ? RDP_ALUA_UNAVAILABLE : RDP_ALUA_AO);
			}
			fake_now += 6 * SEC; /* 6 s, 12 s after the conflict */
			rdp_lun_tick(lun);
			fake_complete_all();
		}
		fake_lun_close(lun);
	}
}

/* A spec a program fills itself is held to the configuration's rules. */
static void test_target_port_bad_spec(void)
{
	static const struct {
		unsigned int port, ports;
	} bad[] = {{3, 2}, {1, 0}, {0, 2}, {33, 33}};
	static const char *const paths[] = {"sg0", "sg1", NULL};

	setup_two(NULL, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct rdp_lun_spec spec = {.name = "lun0",
					    .paths = (char **)paths,
					    .target_port = bad[i].port,
					    .target_ports = bad[i].ports};
		g_autoptr(GError) err = NULL;
		g_assert_null(rdp_lun_open(&spec, &env, &err));
		g_assert_error(err, RDP_ERROR, RDP_ERROR_INVALID);
		g_autofree char *what =
		    g_strdup_printf("LUN lun0: target_port %u of target_ports %u: ", bad[i].port,
				    bad[i].ports);
		g_assert_true(g_str_has_prefix(err->message, what));
		g_assert_true(g_str_has_suffix(err->message, "for a single gateway"));
		g_assert_nonnull(strstr(err->message,
					rdp_target_port_problem(bad[i].port, bad[i].ports)));
	}
	g_assert_cmpuint(fake_open_count(), ==, 0);
	/* the rule alone, as a program checks its own spec with it */
	static const unsigned int good[][2] = {{0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 2}, {32, 32}};
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
		g_assert_null(rdp_target_port_problem(good[i][0], good[i][1]));
	g_assert_cmpstr(rdp_target_port_problem(1, 0), ==,
			"target_port is not one of the target_ports");
	g_assert_cmpstr(rdp_target_port_problem(0, 2), ==,
			"target_ports > 1 needs this gateway's target_port");
	g_assert_cmpstr(rdp_target_port_problem(1, 33), ==, "more target ports than 32");
}

/* A reload never moves a served LUN to another port: the rest applies, the port stays, and the
 * report says when it would change. */
static void test_target_port_reload_keeps(void)
{
	static const char *const paths[] = {"sg0", "sg1", NULL};
	setup_two(NULL, NULL);
	struct rdp_lun_spec spec = {.name = "lun0",
				    .paths = (char **)paths,
				    .cmd_timeout_ms = 30000,
				    .checker_interval_ms = 5000,
				    .grouping = RDP_GROUP_MULTIBUS,
				    .target_port = 2,
				    .target_ports = 2};
	g_autoptr(GError) err = NULL;
	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);
	g_assert_no_error(err);
	g_autoptr(GString) report = g_string_new(NULL);

	/* the same port: nothing to say */
	g_assert_true(rdp_lun_reconfigure(lun, &spec, report, &err));
	g_assert_null(strstr(report->str, "target_port"));

	struct rdp_lun_spec next = spec;
	next.target_port = 1;
	next.max_retries = 7;
	g_assert_true(rdp_lun_reconfigure(lun, &next, report, &err));
	g_assert_no_error(err);
	g_assert_nonnull(strstr(report->str,
				"lun lun0: still target_port 2 of 2 (asked: 1 of 2): target_port "
				"change takes effect when the backstore is re-created"));
	g_assert_cmpuint(lun->max_retries, ==, 7); /* the rest was applied */

	/* what the initiator sees is still port 2 */
	struct tcmd t;
	uint8_t cdb[6] = {0x12, 0x01, 0x83, 0x01, 0x00, 0};
	tcmd_in(&t, cdb, sizeof(cdb), 256);
	submit_here(lun, &t);
	struct rdp_alua_port p;
	g_assert_cmpint(rdp_alua_port_from_vpd83(t.buf, 256 - t.c.resid, &p), ==, 0);
	g_assert_cmpuint(p.tpg_id, ==, 2);
	tcmd_rtpg(&t, false, 512, 512);
	submit_here(lun, &t);
	g_assert_cmpuint(rdp_get_be32(t.buf), ==, 2 * 12);

	/* and back to the single port: the same */
	g_string_truncate(report, 0);
	next.target_port = 0;
	next.target_ports = 1;
	g_assert_true(rdp_lun_reconfigure(lun, &next, report, &err));
	g_assert_nonnull(strstr(report->str, "still target_port 2 of 2 (asked: 0 of 1)"));
	fake_lun_close(lun);
}

/* MODE SENSE's block descriptor on a backstore of half the backing LUN says the backstore's
 * block count, as READ CAPACITY does. */
static void test_mode_sense_block_count(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	g_autoptr(GError) err = NULL;
	struct tcmd t;

	g_assert_true(rdp_lun_check_frontend(lun, a->blocks / 2 * 512, 512, &err));
	tcmd_init(&t, 0x1a, 0, 0);
	memset(t.c.cdb, 0, sizeof(t.c.cdb));
	t.c.cdb[0] = 0x1a;
	t.c.cdb[2] = 0x3f;
	t.c.cdb[4] = 255;
	t.c.cdb_len = 6;
	t.iov.iov_len = 255;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 255;
	rdp_lun_submit(lun, &t.c);
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	g_assert_cmpuint(t.buf[3], ==, 8);
	g_assert_cmpuint(rdp_get_be32(t.buf + 4), ==, a->blocks / 2);
	g_assert_cmpuint(rdp_get_be32(t.buf + 8), ==, 512);
	fake_lun_close(lun);
}

static void test_frontend_answers(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;
	g_autoptr(GError) err = NULL;

	/* a backstore larger than the LUN, or with another block size, is refused */
	g_assert_false(rdp_lun_check_frontend(lun, 524289ull * 512, 512, &err));
	g_assert_error(err, RDP_ERROR, RDP_ERROR_INVALID);
	g_clear_error(&err);
	g_assert_false(rdp_lun_check_frontend(lun, 1024 * 4096, 4096, &err));
	g_clear_error(&err);
	g_assert_true(rdp_lun_check_frontend(lun, 1000 * 512, 512, &err));

	/* VPD 0x83 from the gateway: LU designator only, no backend command */
	unsigned int sub = a->submitted + b->submitted;
	memset(&t, 0, sizeof(t));
	uint8_t inq[6] = {0x12, 0x01, 0x83, 0x01, 0x00, 0};
	memcpy(t.c.cdb, inq, 6);
	t.c.cdb_len = 6;
	t.iov.iov_base = t.buf;
	t.iov.iov_len = 256;
	t.c.iov = &t.iov;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 256;
	t.c.done = tcmd_done;
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(a->submitted + b->submitted, ==, sub);
	g_assert_cmpuint(t.buf[1], ==, 0x83);
	g_assert_cmpuint(rdp_get_be16(t.buf + 2), ==, 12); /* port designator dropped */
	char wwid[RDP_WWID_MAX];
	g_assert_cmpint(rdp_wwid_from_vpd83(t.buf, 16, wwid, sizeof(wwid)), ==, 0);
	g_assert_cmpstr(wwid, ==, WWID);
	g_assert_cmpint(t.c.resid, ==, 256 - 16);

	/* READ CAPACITY(10) says the backstore's size */
	tcmd_init(&t, 0x25, 0, 0);
	t.iov.iov_len = 8;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 8;
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(rdp_get_be32(t.buf), ==, 999);
	g_assert_cmpuint(rdp_get_be32(t.buf + 4), ==, 512);

	/* a read past the backstore's end never reaches a path */
	tcmd_init(&t, 0x28, 996, 8);
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_cmpuint(t.c.sense[12], ==, 0x21);
	g_assert_cmpuint(a->submitted + b->submitted, ==, sub);

	/* 32-byte CDBs are range-checked too (WRITE SAME(32) without data, past the end) */
	memset(&t, 0, sizeof(t));
	t.c.cdb[0] = 0x7f;
	t.c.cdb[7] = 0x18;
	t.c.cdb[9] = 0x0d; /* WRITE SAME(32) */
	rdp_put_be64(996, t.c.cdb + 12);
	rdp_put_be32(8, t.c.cdb + 28);
	t.c.cdb_len = 32;
	t.c.done = tcmd_done;
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.sense[12], ==, 0x21);
	t.done = false;
	t.c.cdb[9] = 0x42; /* a service action we do not know the fields of */
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.sense[12], ==, 0x20);
	/* FORMAT UNIT and SANITIZE act on the whole LUN: refused while the backstore is smaller */
	for (int k = 0; k < 2; k++) {
		memset(&t, 0, sizeof(t));
		t.c.cdb[0] = k ? 0x48 : 0x04;
		t.c.cdb_len = k ? 10 : 6;
		t.c.done = tcmd_done;
		rdp_lun_submit(lun, &t.c);
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.sense[12], ==, 0x20);
	}
	g_assert_cmpuint(a->submitted + b->submitted, ==, sub);

	/* an unknown opcode with data: we will not guess its direction */
	tcmd_init(&t, 0xc5, 0, 1);
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.sense[2], ==, 0x05);
	g_assert_cmpuint(t.c.sense[12], ==, 0x20);

	/* standard INQUIRY: TPGS bits cleared */
	tcmd_init(&t, 0x12, 0, 0);
	memset(t.c.cdb, 0, 10);
	t.c.cdb[0] = 0x12;
	t.c.cdb[4] = 96;
	t.c.cdb_len = 6;
	t.iov.iov_len = 96;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 96;
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpuint(t.buf[5] & 0x30, ==, 0);
	g_assert_cmpmem(t.buf + 8, 4, "FAKE", 4);
	g_assert_cmpuint(rdp_lun_inflight(lun), ==, 0);
	fake_lun_close(lun);
}

/* One CDB against one buffer: whether it reached a path, and the sense key/ASC it got. */
struct xfer_case {
	const char *what;
	uint8_t cdb[32];
	uint8_t cdb_len;
	size_t buf_len;
	bool passed; /* sent to a path; else refused with ILLEGAL REQUEST and asc */
	uint8_t asc;
};

/* The data buffer the kernel hands over must fit what the CDB announces: a read may get a
 * larger buffer, data sent must be exactly what the CDB says. Anything else is refused before
 * it reaches a path (sg_raw -r 512 with READ(10) of 8 blocks reaches us just like that). */
static void test_transfer_length(void)
{
	static const struct xfer_case cases[] = {
	    {"READ(10) 8 blocks, 4 KiB", {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 4096, true, 0},
	    {"READ(10) 8 blocks, 512 B", {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 512, false, 0x24},
	    {"READ(10) 8 blocks, no buffer", {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 0, false, 0x24},
	    {"READ(10) 1 block, 4 KiB", {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 4096, true, 0},
	    {"READ(10) 0 blocks, 512 B", {0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 512, true, 0},
	    {"READ(6) 0 = 256 blocks, 4 KiB", {0x08, 0, 0, 0, 0, 0}, 6, 4096, false, 0x24},
	    {"READ(16) 2 blocks, 1 KiB", {0x88, [13] = 2}, 16, 1024, true, 0},
	    {"READ(16) 2 blocks, 1 KiB - 1", {0x88, [13] = 2}, 16, 1023, false, 0x24},
	    {"WRITE(10) 8 blocks, 4 KiB", {0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 4096, true, 0},
	    {"WRITE(10) 8 blocks, 512 B", {0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 512, false, 0x24},
	    {"WRITE(10) 1 block, 4 KiB", {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 4096, false, 0x24},
	    {"WRITE(10) 1 block, no data", {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 0, false, 0x24},
	    {"WRITE(12) 2 blocks, 1 KiB", {0xaa, [9] = 2}, 12, 1024, true, 0},
	    {"WRITE AND VERIFY(16) 1 block, 1 KiB", {0x8e, [13] = 1}, 16, 1024, false, 0x24},
	    {"COMPARE AND WRITE 1 block, 1 KiB", {0x89, [13] = 1}, 16, 1024, true, 0},
	    {"COMPARE AND WRITE 1 block, 512 B", {0x89, [13] = 1}, 16, 512, false, 0x24},
	    {"VERIFY(10) BYTCHK 0, no data", {0x2f, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 0, true, 0},
	    {"VERIFY(10) BYTCHK 1", {0x2f, 0x02, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 512, false, 0x24},
	    {"VERIFY(10) BYTCHK 3, 512 B", {0x2f, 0x06, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 512, true, 0},
	    {"WRITE SAME(10) 8 blocks, 512 B", {0x41, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 512, true, 0},
	    {"WRITE SAME(10) 8, 4 KiB", {0x41, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 10, 4096, false, 0x24},
	    {"WRITE SAME(16) NDOB, no data", {0x93, 0x01, [13] = 8}, 16, 0, true, 0},
	    {"WRITE SAME(16) NDOB, 512 B", {0x93, 0x01, [13] = 8}, 16, 512, false, 0x24},
	    {"READ(32) 1, 256", {0x7f, [7] = 0x18, [9] = 0x09, [31] = 1}, 32, 256, false, 0x24},
	    {"READ(32) 1, 512", {0x7f, [7] = 0x18, [9] = 0x09, [31] = 1}, 32, 512, true, 0},
	    /* the range check comes first: past the end is 21/00 whatever the buffer */
	    {"READ(10) past end", {0x28, 0, 0, 0, 0x03, 0xe7, 0, 0, 8, 0}, 10, 512, false, 0x21},
	    /* an LBA and no block count (libiscsi's GetLBAStatus.BeyondEol hung the gateway:
	     * LBA 2^64-1 reached the backing LUN) */
	    {"GET LBA STATUS last block", {0x9e, 0x12, [8] = 0x03, [9] = 0xe7, [13] = 24}, 16, 24, true, 0},
	    {"GET LBA STATUS end", {0x9e, 0x12, [8] = 0x03, [9] = 0xe8, [13] = 24}, 16, 24, false, 0x21},
	    {"GET LBA STATUS 2^63", {0x9e, 0x12, 0x80, [13] = 24}, 16, 24, false, 0x21},
	    {"GET LBA STATUS 2^64-1", {0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, [13] = 24}, 16, 24, false, 0x21},
	    {"WRITE LONG(10) past end, no data", {0x3f, 0xc0, 0, 0, 0x03, 0xe8}, 10, 0, false, 0x21},
	    {"WRITE LONG(10) last block, no data", {0x3f, 0xc0, 0, 0, 0x03, 0xe7}, 10, 0, true, 0},
	    {"WRITE LONG(16) past end, no data", {0x9f, 0xd1, [8] = 0x03, [9] = 0xe8}, 16, 0, false, 0x21},
	    {"READ LONG(16) past end", {0x9e, 0x11, [8] = 0x10, [13] = 4}, 16, 0, false, 0x21},
	    {"ZBC OUT, backstore smaller", {0x94, 0x04, [8] = 0x01}, 16, 0, false, 0x24},
	    {"ZBC IN past end", {0x95, 0x00, [8] = 0x10}, 16, 0, false, 0x21},
	    {"REPORT REFERRALS", {0x9e, 0x13, [13] = 24}, 16, 24, false, 0x24},
	    {"WRITE LONG(10) PBLOCK, backstore smaller", {0x3f, 0x20, 0, 0, 0x03, 0xe7}, 10, 0, false, 0x24},
	    {"ZBC OUT ALL, backstore smaller", {0x94, 0x04, [14] = 1}, 16, 0, false, 0x24},
	    {"ORWRITE(16) past end, no data", {0x8b, [8] = 0x03, [9] = 0xe7, [13] = 2}, 16, 0, false, 0x21},
	    {"ATA PASS-THROUGH(16), no data", {0x85, 0x06, [12] = 0x10}, 16, 0, false, 0x20},
	    {"ATA PASS-THROUGH(12), no data", {0xa1, 0x06}, 12, 0, false, 0x20},
	    {"WRITE SCATTERED", {0x9f, 0x12}, 16, 0, false, 0x20},
	    /* protection information asked of a LUN without it (libiscsi ReadProtect etc.) */
	    {"READ(10) RDPROTECT 1", {0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 512, false, 0x24},
	    {"WRITE(16) WRPROTECT 7", {0x8a, 0xe0, [13] = 1}, 16, 512, false, 0x24},
	};
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	g_autoptr(GError) err = NULL;
	g_assert_true(rdp_lun_check_frontend(lun, 1000 * 512, 512, &err));

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct xfer_case *x = &cases[i];
		unsigned int sent = a->submitted + b->submitted;
		struct tcmd t;

		g_test_message("%s", x->what);
		memset(&t, 0, sizeof(t));
		memcpy(t.c.cdb, x->cdb, sizeof(x->cdb));
		t.c.cdb_len = x->cdb_len;
		t.iov.iov_base = t.buf;
		t.iov.iov_len = x->buf_len;
		t.c.iov = &t.iov;
		t.c.iov_cnt = x->buf_len ? 1 : 0;
		t.c.xfer_len = x->buf_len;
		t.c.done = tcmd_done;
		rdp_lun_submit(lun, &t.c);
		if (x->passed) {
			g_assert_cmpuint(a->submitted + b->submitted, ==, sent + 1);
			g_assert_cmpuint(fake_complete_all(), ==, 1);
			g_assert_true(t.done);
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
		} else {
			g_assert_true(t.done);
			g_assert_cmpuint(a->submitted + b->submitted, ==, sent);
			g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
			g_assert_cmpuint(t.c.sense[2], ==, 0x05);
			g_assert_cmpuint(t.c.sense[12], ==, x->asc);
			g_assert_cmpuint(t.c.sense[13], ==, 0x00);
		}
	}
	/* refusals are the initiator's errors, not path failures */
	g_assert_cmpuint(rdp_lun_stats(lun)->path_failures, ==, 0);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(rdp_lun_inflight(lun), ==, 0);
	fake_lun_close(lun);
}

/* A device serves one LUN: a second LUN naming it, under its own name or another one (a
 * symlink), is refused; a reload or a new device leaves it to the LUN that has it. */
static void test_device_in_use(void)
{
	setup_two(NULL, NULL);
	fake_dev_add("sg2", WWID);
	/* a fake named like a real character device, so that a symlink to it is the same device */
	fake_dev_add("/dev/null", WWID);
	static const char *const paths[] = {"sg0", "/dev/null", NULL};
	struct rdp_lun *lun = open_lun(paths);
	g_autoptr(GPtrArray) luns = g_ptr_array_new();
	g_ptr_array_add(luns, lun);
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("rdp-test-lun-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *alias = g_build_filename(dir, "alias", NULL);
	g_assert_cmpint(symlink("/dev/null", alias), ==, 0);

	g_assert_true(rdp_lun_find_device(lun, "sg0") == rdp_lun_path(lun, 0));
	g_assert_true(rdp_lun_find_device(lun, alias) == rdp_lun_path(lun, 1));
	g_assert_null(rdp_lun_find_device(lun, "sg1"));

	/* free devices pass; no LUNs at all too */
	const char *free_paths[] = {"sg1", "sg2", NULL};
	struct rdp_lun_spec spec = {.name = "lun1", .paths = (char **)free_paths};
	g_assert_true(rdp_lun_spec_check_unused(&spec, luns, &err));
	g_assert_true(rdp_lun_spec_check_unused(&spec, NULL, &err));
	g_assert_no_error(err);

	/* the same name */
	const char *same[] = {"sg1", "sg0", NULL};
	spec.paths = (char **)same;
	g_assert_false(rdp_lun_spec_check_unused(&spec, luns, &err));
	g_assert_error(err, RDP_ERROR, RDP_ERROR_IN_USE);
	g_assert_cmpstr(
	    err->message, ==,
	    "sg0 is already a path of LUN lun0; a device can serve one LUN only: delete "
	    "backstore lun0 first, or give this LUN other devices");
	g_clear_error(&err);

	/* another name of the same device */
	const char *other_name[] = {alias, NULL};
	spec.paths = (char **)other_name;
	g_assert_false(rdp_lun_spec_check_unused(&spec, luns, &err));
	g_assert_error(err, RDP_ERROR, RDP_ERROR_IN_USE);
	g_autofree char *want =
	    g_strdup_printf("%s is /dev/null, already a path of LUN lun0;", alias);
	g_assert_true(g_str_has_prefix(err->message, want));
	g_clear_error(&err);

	/* reload and hotplug: the used devices leave the spec with their per-path values */
	g_autoptr(rdp_lun_spec) next = g_new0(struct rdp_lun_spec, 1);
	next->name = g_strdup("lun1");
	const char *mixed[] = {"sg0", "sg1", alias, "sg2", NULL};
	next->paths = g_strdupv((char **)mixed);
	unsigned int prio[] = {1, 2, 3, 4}, weight[] = {5, 6, 7, 8};
	next->priorities = g_memdup2(prio, sizeof(prio));
	next->weights = g_memdup2(weight, sizeof(weight));
	g_autoptr(GString) report = g_string_new(NULL);
	rdp_lun_spec_drop_used(next, luns, report);
	g_assert_cmpuint(g_strv_length(next->paths), ==, 2);
	g_assert_cmpstr(next->paths[0], ==, "sg1");
	g_assert_cmpstr(next->paths[1], ==, "sg2");
	g_assert_cmpuint(next->priorities[0], ==, 2);
	g_assert_cmpuint(next->priorities[1], ==, 4);
	g_assert_cmpuint(next->weights[0], ==, 6);
	g_assert_cmpuint(next->weights[1], ==, 8);
	g_assert_nonnull(
	    strstr(report->str, "lun lun1: sg0 not used: sg0 is already a path of LUN lun0"));
	g_assert_nonnull(strstr(report->str, "is /dev/null, already a path of LUN lun0"));

	/* a path being removed (its device went away) no longer holds its device */
	g_assert_cmpint(rdp_lun_remove_path(lun, "sg0", "device removed"), ==, 0);
	spec.paths = (char **)same;
	g_assert_true(rdp_lun_spec_check_unused(&spec, luns, &err));
	g_assert_no_error(err);

	g_assert_cmpint(g_unlink(alias), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
	fake_lun_close(lun);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* A data-in buffer lies in the kernel's data area, reused by every command; what an answer
 * did not fill must not reach the initiator as some earlier command's data. The kernel cannot
 * be told "0 bytes read", so the gateway clears it: for a read of 0 blocks, a short read, an
 * emulated answer shorter than the buffer, and every error the gateway makes itself. */
static void test_no_stale_data(void)
{
	struct fake_dev *a, *b;
	struct rdp_lun *lun = open_two(&a, &b);
	struct tcmd t;

	/* READ(10) of 0 blocks with a 512-byte buffer: passed on, nothing read, all cleared */
	tcmd_init(&t, 0x28, 0, 0);
	t.iov.iov_len = 512;
	t.c.iov_cnt = 1;
	t.c.xfer_len = 512;
	memset(t.buf, 0x5a, sizeof(t.buf));
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	g_assert_cmpint(t.c.resid, ==, 512);
	g_assert_true(all_bytes(t.buf, 512, 0));

	/* a 1-block read into 4 KiB: the block, then zeros */
	tcmd_init(&t, 0x28, 0, 1);
	t.iov.iov_len = 4096;
	t.c.xfer_len = 4096;
	memset(t.buf, 0x5a, sizeof(t.buf));
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_cmpint(t.c.resid, ==, 4096 - 512);
	g_assert_true(all_bytes(t.buf, 512, 0xa5));
	g_assert_true(all_bytes(t.buf + 512, 4096 - 512, 0));

	/* the same over two iovecs, split inside the block */
	struct iovec two[2] = {{t.buf, 300}, {t.buf + 300, 724}};
	tcmd_init(&t, 0x28, 0, 1);
	t.c.iov = two;
	t.c.iov_cnt = 2;
	t.c.xfer_len = 1024;
	memset(t.buf, 0x5a, sizeof(t.buf));
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_true(all_bytes(t.buf, 512, 0xa5));
	g_assert_true(all_bytes(t.buf + 512, 512, 0));
	g_assert_true(all_bytes(t.buf + 1024, 64, 0x5a)); /* not ours: untouched */

	/* refused by the gateway: the whole buffer, also for an opcode of unknown direction */
	static const uint8_t refused[][10] = {
	    {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0},	     /* 8 blocks into 512 bytes */
	    {0x28, 0, 0, 0, 0x03, 0xe7, 0, 0, 1, 0}, /* past the end (999 blocks) */
	    {0xc5, 0, 0, 0, 0, 0, 0, 0, 1, 0},	     /* unknown opcode with data */
	};
	g_autoptr(GError) err = NULL;
	g_assert_true(rdp_lun_check_frontend(lun, 999 * 512, 512, &err));
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		tcmd_init(&t, 0, 0, 1);
		memcpy(t.c.cdb, refused[i], 10);
		memset(t.buf, 0x5a, sizeof(t.buf));
		rdp_lun_submit(lun, &t.c);
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
		g_assert_cmpint(t.c.resid, ==, 512);
		g_assert_true(all_bytes(t.buf, 512, 0));
	}

	/* an emulated answer in a command struct last used for a write: still a read */
	tcmd_init(&t, 0x2a, 0, 1);
	rdp_lun_submit(lun, &t.c);
	g_assert_cmpuint(fake_complete_all(), ==, 1);
	g_assert_cmpint(t.c.dir, ==, RDP_DIR_TO_DEV);
	t.done = false;
	memset(t.c.cdb, 0, sizeof(t.c.cdb));
	t.c.cdb[0] = 0x12;
	t.c.cdb[3] = 0x01; /* allocation length 256 */
	t.c.cdb_len = 6;
	t.iov.iov_len = 256;
	t.c.xfer_len = 256;
	memset(t.buf, 0x5a, sizeof(t.buf));
	rdp_lun_submit(lun, &t.c);
	g_assert_true(t.done);
	g_assert_cmpint(t.c.dir, ==, RDP_DIR_FROM_DEV);
	g_assert_cmpint(t.c.resid, ==, 256 - 36);
	g_assert_true(all_bytes(t.buf + 36, 256 - 36, 0));

	/* no path: failed by the gateway, cleared */
	a->mode = FAKE_NO_CONNECT;
	b->mode = FAKE_NO_CONNECT;
	tcmd_init(&t, 0x28, 0, 1);
	memset(t.buf, 0x5a, sizeof(t.buf));
	rdp_lun_submit(lun, &t.c);
	while (fake_complete_all())
		;
	if (!t.done) {
		/* held for a path: the bound fails it */
		fake_now += 60ull * 1000000000;
		rdp_lun_tick(lun);
	}
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_CHECK_CONDITION);
	g_assert_true(all_bytes(t.buf, 512, 0));
	g_assert_cmpuint(rdp_lun_inflight(lun), ==, 0);
	fake_lun_close(lun);
}

static void test_open_with_dead_path(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	a->mode = FAKE_OPEN_FAILS;
	struct rdp_lun *lun = open_lun(paths);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_FAILED);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_ACTIVE);
	/* it heals: proven by TUR + identity before use */
	a->mode = FAKE_OK;
	fake_now += 6ull * 1000000000;
	rdp_lun_tick(lun);
	while (fake_complete_all())
		;
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);

	/* no path answers at all: a clear error */
	fake_reset();
	fake_dev_add("sg0", WWID)->mode = FAKE_OPEN_FAILS;
	static const char *const one[] = {"sg0", NULL};
	struct rdp_lun_spec spec = {.name = "lun0", .paths = (char **)one};
	g_autoptr(GError) err = NULL;
	g_assert_null(rdp_lun_open(&spec, &env, &err));
	g_assert_nonnull(strstr(err->message, "no backing path answered"));
}

/* The caller-filled structs carry their size (rdp.h): one that is too small (below the first
 * version's), one never set (past any size a librdp will have), one from a newer librdp that
 * asks for what this one lacks, and a backend without a required hook are refused with a
 * reason; a newer one whose extra members are zero is taken. */
static void test_sized_structs(void)
{
	static const char *const paths[] = {"sg0", NULL};
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_new("lun0", paths);
	struct {
		struct rdp_env env;
		uint64_t newer; /* a member a later librdp would have */
	} big = {.env = env};
	struct {
		struct rdp_backend_ops ops;
		void *newer_hook;
	} ops = {.ops = fake_backend};
	const struct {
		size_t env_size, ops_size;
		uint64_t newer;
		bool no_submit;
		const char *want; /* NULL: opens */
	} cases[] = {
	    {0, sizeof(struct rdp_backend_ops), 0, false, "struct rdp_env has size 0"},
	    {sizeof(size_t), sizeof(struct rdp_backend_ops), 0, false, "set .size = sizeof"},
	    {sizeof(big), sizeof(struct rdp_backend_ops), 0, false, NULL},
	    {sizeof(big), sizeof(struct rdp_backend_ops), 1, false, "built against a newer librdp"},
	    {sizeof(struct rdp_env), 0, 0, false, "struct rdp_backend_ops has size 0"},
	    {sizeof(struct rdp_env), offsetof(struct rdp_backend_ops, max_transfer), 0, false,
	     "less than its first version"},
	    {sizeof(struct rdp_env), sizeof(ops), 0, false, NULL},
	    {(size_t)-1, sizeof(struct rdp_backend_ops), 0, false, "more than any librdp"},
	    {sizeof(struct rdp_env), 1u << 20, 0, false, "more than any librdp"},
	    {sizeof(struct rdp_env), sizeof(struct rdp_backend_ops), 0, true,
	     "lacks one of open, close, submit and exec_sync"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		fake_reset();
		fake_dev_add("sg0", WWID);
		big.env.size = cases[i].env_size;
		big.env.backend = &ops.ops;
		big.newer = cases[i].newer;
		ops.ops = fake_backend;
		ops.ops.size = cases[i].ops_size;
		ops.newer_hook = NULL;
		if (cases[i].no_submit)
			ops.ops.submit = NULL;
		g_autoptr(GError) err = NULL;
		struct rdp_lun *lun = rdp_lun_open(spec, &big.env, &err);
		if (!cases[i].want) {
			g_assert_no_error(err);
			g_assert_nonnull(lun);
			g_assert_cmpstr(rdp_lun_wwid(lun), ==, WWID);
			rdp_lun_close(lun);
			continue;
		}
		g_assert_null(lun);
		g_assert_error(err, RDP_ERROR, RDP_ERROR_INVALID);
		if (!strstr(err->message, cases[i].want))
			g_error("case %zu: \"%s\" does not say \"%s\"", i, err->message,
				cases[i].want);
	}
}

/* rdp_device_wwid() asks a device its identity with one command (VPD 0x83) and nothing else,
 * so a standby port that would refuse READ CAPACITY still answers; a device that cannot be
 * opened, or a buffer too short, is an error with a reason. */
static void test_device_wwid(void)
{
	fake_reset();
	struct fake_dev *d = fake_dev_add("sg0", WWID);
	struct fake_dev *gone = fake_dev_add("sg1", WWID);
	gone->mode = FAKE_OPEN_FAILS;
	char id[RDP_WWID_MAX];
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(rdp_device_wwid(&env, "sg0", id, sizeof(id), &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(id, ==, WWID);
	g_assert_cmpuint(d->sync_calls, ==, 1);
	g_assert_cmpint(rdp_device_wwid(&env, "sg1", id, sizeof(id), &err), <, 0);
	g_assert_error(err, RDP_ERROR, RDP_ERROR_IO);
	g_assert_nonnull(strstr(err->message, "sg1: cannot be opened"));
	g_clear_error(&err);
	char small[8];
	g_assert_cmpint(rdp_device_wwid(&env, "sg0", small, sizeof(small), &err), <, 0);
	g_assert_error(err, RDP_ERROR, RDP_ERROR_INVALID);
}

/* A spec from rdp_lun_spec_new() has a configuration file's defaults and owns a copy of the
 * device list. */
static void test_spec_new(void)
{
	char *paths[] = {g_strdup("sg0"), g_strdup("sg1"), NULL};
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_new("lun0", (const char *const *)paths);
	g_free(paths[0]);
	g_free(paths[1]);
	g_assert_cmpstr(spec->name, ==, "lun0");
	g_assert_null(spec->wwid);
	g_assert_cmpuint(g_strv_length(spec->paths), ==, 2);
	g_assert_cmpstr(spec->paths[1], ==, "sg1");
	g_assert_cmpuint(spec->cmd_timeout_ms, >, 0);
	g_assert_cmpuint(spec->checker_interval_ms, >, 0);
	g_assert_cmpuint(spec->max_checker_interval_ms, >=, spec->checker_interval_ms);
	g_assert_cmpuint(spec->target_port, ==, 0); /* the only port */
	g_assert_cmpuint(spec->target_ports, ==, 1);
	g_autoptr(rdp_lun_spec) none = rdp_lun_spec_new("lun1", NULL);
	g_assert_nonnull(none->paths);
	g_assert_null(none->paths[0]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* path failures are logged as warnings on purpose */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/lun/round-robin", test_round_robin);
	g_test_add_func("/lun/identity-mismatch", test_identity_mismatch);
	g_test_add_func("/lun/failover-after-return", test_failover_after_return);
	g_test_add_func("/lun/target-error-unchanged", test_target_error_unchanged);
	g_test_add_func("/lun/checker-reinstates", test_checker_reinstates);
	g_test_add_func("/lun/last-path-failed-checks-at-once", test_last_path_failed_checks_at_once);
	g_test_add_func("/lun/checker-identity-changed", test_checker_identity_changed);
	g_test_add_func("/lun/all-paths-down", test_all_paths_down);
	g_test_add_func("/lun/busy-retry-bounded", test_busy_retry_bounded);
	g_test_add_func("/lun/queue-full-waits", test_queue_full_waits);
	g_test_add_func("/lun/deadline-hung-write-not-reissued", test_deadline_hung_write_not_reissued);
	g_test_add_func("/lun/deadline-hang-completes-on-other-path",
			test_deadline_hang_completes_on_other_path);
	g_test_add_func("/lun/deadline-queues", test_deadline_queues);
	g_test_add_func("/lun/deadline-from-arrival", test_deadline_from_arrival);
	g_test_add_func("/lun/describe", test_describe);
	g_test_add_func("/lun/queue-full-is-not-no-path", test_queue_full_is_not_no_path);
	g_test_add_func("/lun/close-while-requests-out", test_close_while_requests_out);
	g_test_add_func("/lun/device-gone-inside-completion", test_device_gone_inside_completion);
	g_test_add_func("/lun/frontend-answers", test_frontend_answers);
	g_test_add_func("/lun/mode-sense-block-count", test_mode_sense_block_count);
	g_test_add_func("/lun/rsoc-lists-what-is-served", test_rsoc_lists_what_is_served);
	g_test_add_func("/lun/target-port/inquiry", test_target_port_inquiry);
	g_test_add_func("/lun/target-port/vpd83", test_target_port_vpd83);
	g_test_add_func("/lun/target-port/rtpg", test_target_port_rtpg);
	g_test_add_func("/lun/target-port/rtpg-single-port", test_target_port_rtpg_single);
	g_test_add_func("/lun/target-port/no-path", test_target_port_no_path);
	g_test_add_func("/lun/target-port/fenced", test_target_port_fenced);
	g_test_add_func("/lun/target-port/bad-spec", test_target_port_bad_spec);
	g_test_add_func("/lun/target-port/reload-keeps", test_target_port_reload_keeps);
	g_test_add_func("/lun/xcopy-refused", test_xcopy_refused);
	g_test_add_func("/lun/lba-status-cut-to-backstore", test_lba_status_cut_to_backstore);
	g_test_add_func("/lun/unmap-many-descriptors", test_unmap_many_descriptors);
	g_test_add_func("/lun/open-with-dead-path", test_open_with_dead_path);
	g_test_add_func("/lun/transfer-length", test_transfer_length);
	g_test_add_func("/lun/device-in-use", test_device_in_use);
	g_test_add_func("/lun/no-stale-data", test_no_stale_data);
	g_test_add_func("/lun/submit-refused-keeps-paths", test_submit_refused_keeps_paths);
	g_test_add_func("/lun/max-transfer-from-paths", test_max_transfer_from_paths);
	g_test_add_func("/lun/sized-structs", test_sized_structs);
	g_test_add_func("/lun/spec-new", test_spec_new);
	g_test_add_func("/lun/device-wwid", test_device_wwid);
	int rc = g_test_run();
	fake_reset();
	return rc;
}
