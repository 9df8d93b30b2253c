/* Simulation tests of the engine: a LUN over fake paths with a fake clock. Failover, ordering
 * safety, the path checker, the no-path bound, front-end answers. */
#include <string.h>

#include "be.h"

#include "fake-backend.h"
#include "rdp.h"

#define WWID "naa.33333330000007d0"

static const struct rdp_env env = {.backend = &fake_backend, .now_ns = fake_clock};

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

static struct rdp_lun *open_lun(const char *const *paths)
{
	struct rdp_lun_spec spec = {
		.name = "lun0",
		.paths = (char **)paths,
		.cmd_timeout_ms = 30000,
		.checker_interval_ms = 5000,
		.max_retries = 3,
		.no_path_retry = RDP_NO_PATH_QUEUE,
	};
	g_autoptr(GError) err = NULL;
	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);
	g_assert_no_error(err);
	g_assert_nonnull(lun);
	return lun;
}

static void setup_two(struct fake_dev **a, struct fake_dev **b)
{
	fake_reset();
	done_seq = 0;
	*a = fake_dev_add("sg0", WWID);
	*b = fake_dev_add("sg1", WWID);
}

static void test_round_robin(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
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
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
}

static void test_target_error_unchanged(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
}

/* Both paths time out together (one stopped answering for a moment): the first keeps the usual
 * one-second delay before its check, but once the last one has failed too, the next tick tests
 * both, and the waiting command goes out on the first that answers. */
static void test_last_path_failed_checks_at_once(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
}

static void test_checker_reinstates(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
	struct rdp_path *p0 = rdp_lun_path(lun, 0);
	struct tcmd t;

	a->mode = FAKE_NO_CONNECT;
	tcmd_init(&t, 0x28, 0, 1);
	rdp_lun_submit(lun, &t.c);
	fake_complete_all();
	fake_complete_all();
	g_assert_true(t.done);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED);

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
	rdp_lun_close(lun);
}

static void test_checker_identity_changed(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
}

static void test_all_paths_down(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
}

static void test_busy_retry_bounded(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
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
	rdp_lun_close(lun);
}

static void test_frontend_answers(void)
{
	struct fake_dev *a, *b;
	setup_two(&a, &b);
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun *lun = open_lun(paths);
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
	rdp_lun_close(lun);
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
	rdp_lun_close(lun);

	/* no path answers at all: a clear error */
	fake_reset();
	fake_dev_add("sg0", WWID)->mode = FAKE_OPEN_FAILS;
	static const char *const one[] = {"sg0", NULL};
	struct rdp_lun_spec spec = {.name = "lun0", .paths = (char **)one};
	g_autoptr(GError) err = NULL;
	g_assert_null(rdp_lun_open(&spec, &env, &err));
	g_assert_nonnull(strstr(err->message, "no backing path answered"));
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
	g_test_add_func("/lun/frontend-answers", test_frontend_answers);
	g_test_add_func("/lun/open-with-dead-path", test_open_with_dead_path);
	int rc = g_test_run();
	fake_reset();
	return rc;
}
