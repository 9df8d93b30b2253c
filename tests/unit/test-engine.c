/* Simulation tests of the engine's policies over fake paths and a fake clock: path groups and
 * failback, no_path_retry, marginal paths, the checker's back-off and read check, ALUA standby
 * sense, admin fail/reinstate/switch-group, weighted selection, counters. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "be.h"

#include "fake-backend.h"
#include <librdp/rdp.h>

#define WWID "naa.33333330000007d0"
#define SEC 1000000000ull

static const struct rdp_env env = {
    .size = sizeof(struct rdp_env), .backend = &fake_backend, .now_ns = fake_clock};

struct tcmd {
	struct rdp_cmd c;
	uint8_t buf[512];
	struct iovec iov;
	bool done;
};

static void tcmd_done(struct rdp_cmd *c)
{
	struct tcmd *t = (struct tcmd *)c;
	g_assert_false(t->done);
	t->done = true;
}

static void tcmd_read(struct tcmd *t)
{
	memset(t, 0, sizeof(*t));
	t->c.cdb[0] = 0x28;
	t->c.cdb_len = 10;
	rdp_put_be16(1, t->c.cdb + 7);
	t->iov.iov_base = t->buf;
	t->iov.iov_len = 512;
	t->c.iov = &t->iov;
	t->c.iov_cnt = 1;
	t->c.xfer_len = 512;
	t->c.done = tcmd_done;
}

static struct fake_dev *A, *B;

static struct rdp_lun_spec base_spec(void)
{
	static const char *const paths[] = {"sg0", "sg1", NULL};
	struct rdp_lun_spec spec = {
		.name = "lun0",
		.paths = (char **)paths,
		.cmd_timeout_ms = 30000,
		.checker_interval_ms = 5000,
		.max_checker_interval_ms = 20000,
		.max_retries = 3,
		.no_path_retry = RDP_NO_PATH_QUEUE,
	};
	fake_reset();
	A = fake_dev_add("sg0", WWID);
	B = fake_dev_add("sg1", WWID);
	return spec;
}

static struct rdp_lun *open_spec(const struct rdp_lun_spec *spec)
{
	g_autoptr(GError) err = NULL;
	struct rdp_lun *lun = rdp_lun_open(spec, &env, &err);
	g_assert_no_error(err);
	return lun;
}

/* One READ; returns the device it was sent to (completing everything). */
static struct fake_dev *one_read(struct rdp_lun *lun)
{
	struct tcmd t;
	unsigned int a = A->by_opcode[0x28], b = B->by_opcode[0x28];
	tcmd_read(&t);
	rdp_lun_submit(lun, &t.c);
	while (!t.done && fake_complete_all())
		;
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	return A->by_opcode[0x28] > a ? A : B->by_opcode[0x28] > b ? B : NULL;
}

/* Let the clock run, ticking every 100 ms and answering what the paths hold. */
static void run_for(struct rdp_lun *lun, uint64_t ns)
{
	for (uint64_t t = 0; t < ns; t += SEC / 10) {
		fake_now += SEC / 10;
		rdp_lun_tick(lun);
		while (fake_complete_all())
			;
	}
}

static void fail_path_a(struct rdp_lun *lun)
{
	A->mode = FAKE_NO_CONNECT;
	for (int i = 0; i < 4; i++)
		one_read(lun);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), !=, RDP_PATH_ACTIVE);
}

static struct rdp_lun *priority_lun(enum rdp_failback fb, unsigned int delay_ms)
{
	static unsigned int prio[] = {10, 5};
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_PRIORITY;
	spec.priorities = prio;
	spec.failback = fb;
	spec.failback_delay_ms = delay_ms;
	return open_spec(&spec);
}

static void test_groups_priority(void)
{
	struct rdp_lun *lun = priority_lun(RDP_FAILBACK_IMMEDIATE, 0);

	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 2);
	g_assert_cmpuint(rdp_path_group(rdp_lun_path(lun, 0)), ==, 0);
	g_assert_cmpuint(rdp_path_group(rdp_lun_path(lun, 1)), ==, 1);
	for (int i = 0; i < 6; i++)
		g_assert_true(one_read(lun) == A); /* the better group only */

	fail_path_a(lun);
	g_assert_cmpuint(rdp_lun_current_group(lun), ==, 1);
	g_assert_true(one_read(lun) == B);

	A->mode = FAKE_OK;
	run_for(lun, 6 * SEC);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	g_assert_true(one_read(lun) == A); /* immediate failback */
	g_assert_cmpuint(rdp_lun_current_group(lun), ==, 0);
	fake_lun_close(lun);
}

static void test_failback_manual_and_followover(void)
{
	enum rdp_failback pol[] = {RDP_FAILBACK_MANUAL, RDP_FAILBACK_FOLLOWOVER};
	for (int k = 0; k < 2; k++) {
		struct rdp_lun *lun = priority_lun(pol[k], 0);
		fail_path_a(lun);
		A->mode = FAKE_OK;
		run_for(lun, 6 * SEC);
		g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
		for (int i = 0; i < 4; i++)
			g_assert_true(one_read(lun) == B); /* stays on the group that works */
		if (pol[k] == RDP_FAILBACK_MANUAL) {
			g_assert_cmpint(rdp_lun_switch_group(lun, 0), ==, 0);
			g_assert_true(one_read(lun) == A);
		} else {
			/* followover: moves back only when the current group loses its paths */
			B->mode = FAKE_NO_CONNECT;
			one_read(lun);
			g_assert_true(one_read(lun) == A);
		}
		g_assert_cmpint(rdp_lun_switch_group(lun, 7), ==, -EINVAL);
		fake_lun_close(lun);
	}
}

static void test_failback_deferred(void)
{
	struct rdp_lun *lun = priority_lun(RDP_FAILBACK_DEFERRED, 10000);
	fail_path_a(lun);
	A->mode = FAKE_OK;
	run_for(lun, 6 * SEC);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_ACTIVE);
	g_assert_true(one_read(lun) == B); /* not yet */
	run_for(lun, 5 * SEC);
	g_assert_true(one_read(lun) == B); /* ~5 s since it came back */
	run_for(lun, 6 * SEC);
	g_assert_true(one_read(lun) == A); /* delay passed */
	fake_lun_close(lun);
}

static void test_grouping_failover(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_FAILOVER;
	struct rdp_lun *lun = open_spec(&spec);
	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 2);
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == A);
	fake_lun_close(lun);

	/* multibus (and auto without TPGS... the fake reports TPGS, so auto means ALUA) */
	spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	lun = open_spec(&spec);
	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 1);
	g_assert_true(one_read(lun) != one_read(lun));
	fake_lun_close(lun);
}

static void test_no_path_retry_fail_and_n(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.no_path_retry = RDP_NO_PATH_FAIL;
	struct rdp_lun *lun = open_spec(&spec);
	struct tcmd t;

	A->mode = B->mode = FAKE_NO_CONNECT;
	tcmd_read(&t);
	rdp_lun_submit(lun, &t.c);
	while (!t.done && fake_complete_all())
		;
	g_assert_true(t.done); /* failed at once, not held */
	g_assert_cmpuint(t.c.sense[2], ==, 0x02);
	g_assert_cmpuint(t.c.sense[12], ==, 0x08);
	g_assert_cmpuint(rdp_lun_stats(lun)->no_path_failed, ==, 1);
	fake_lun_close(lun);

	spec = base_spec();
	spec.no_path_retry = 2; /* two checker intervals: 10 s */
	lun = open_spec(&spec);
	rdp_lun_set_no_path_timeout(lun, 27000);
	A->mode = B->mode = FAKE_NO_CONNECT;
	tcmd_read(&t);
	rdp_lun_submit(lun, &t.c);
	while (fake_complete_all())
		;
	g_assert_false(t.done);
	run_for(lun, 9 * SEC);
	g_assert_false(t.done);
	run_for(lun, 2 * SEC);
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.sense[12], ==, 0x08);
	g_assert_cmpuint(rdp_lun_stats(lun)->queued, ==, 1);
	g_assert_cmpuint(rdp_lun_stats(lun)->queue_time_us, >=, 10000000);
	fake_lun_close(lun);
}

static void test_marginal(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.marginal_err_count = 2;
	spec.marginal_window_ms = 60000;
	spec.marginal_recovery_ms = 30000;
	struct rdp_lun *lun = open_spec(&spec);
	struct rdp_path *p0 = rdp_lun_path(lun, 0);

	fail_path_a(lun); /* first failure */
	A->mode = FAKE_OK;
	run_for(lun, 2 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	fail_path_a(lun); /* second within the window: marginal */
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_MARGINAL);
	A->mode = FAKE_OK;
	run_for(lun, 20 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_MARGINAL); /* answers, but held out */
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == B);
	run_for(lun, 12 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

static void test_checker_backoff_and_read(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.read_checker = true;
	spec.grouping = RDP_GROUP_MULTIBUS; /* no RTPG in the checks counted here */
	struct rdp_lun *lun = open_spec(&spec);

	/* healthy paths: checked at 5 s, then 10 s, then 20 s (max), each TUR + READ */
	run_for(lun, 5 * SEC + SEC / 5);
	g_assert_cmpuint(A->by_opcode[0x00], ==, 1);
	g_assert_cmpuint(A->by_opcode[0x28], ==, 1);
	run_for(lun, 10 * SEC);
	g_assert_cmpuint(A->by_opcode[0x00], ==, 2);
	run_for(lun, 20 * SEC);
	g_assert_cmpuint(A->by_opcode[0x00], ==, 3);
	run_for(lun, 20 * SEC);
	g_assert_cmpuint(A->by_opcode[0x00], ==, 4);
	g_assert_cmpuint(rdp_path_stats(rdp_lun_path(lun, 0))->checks, ==, 8);

	/* a healthy path whose check fails is failed by the checker, without any I/O */
	B->mode = FAKE_NO_CONNECT;
	run_for(lun, 21 * SEC);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_FAILED);
	fake_lun_close(lun);
}

static void test_alua_groups(void)
{
	struct rdp_lun_spec spec = base_spec(); /* grouping auto: the fake reports TPGS */
	B->alua = 1;				 /* active/non-optimized */
	struct rdp_lun *lun = open_spec(&spec);
	struct rdp_path *p0 = rdp_lun_path(lun, 0), *p1 = rdp_lun_path(lun, 1);

	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 2);
	g_assert_cmpuint(rdp_path_priority(p0), ==, 50);
	g_assert_cmpuint(rdp_path_priority(p1), ==, 10);
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == A);

	/* A's port goes standby: the checker's RTPG sees it; I/O moves to B */
	A->alua = 2;
	run_for(lun, 6 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_STANDBY);
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == B);

	/* and back to active/optimized: rejoins (identity checked) and I/O fails back */
	A->alua = 0;
	run_for(lun, 6 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	g_assert_true(one_read(lun) == A);
	fake_lun_close(lun);
}

static void test_standby_sense(void)
{
	struct rdp_lun_spec spec = base_spec();
	struct rdp_lun *lun = open_spec(&spec);

	B->mode = FAKE_STANDBY;
	for (int i = 0; i < 4; i++)
		one_read(lun); /* the command on B comes back 04/0B and goes to A */
	run_for(lun, 2 * SEC);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_STANDBY);
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == A);
	B->mode = FAKE_OK; /* the port became active */
	run_for(lun, 6 * SEC);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

static void test_admin(void)
{
	struct rdp_lun_spec spec = base_spec();
	struct rdp_lun *lun = open_spec(&spec);
	struct rdp_path *p0 = rdp_lun_path(lun, 0);

	g_assert_cmpint(rdp_path_admin_fail(p0), ==, 0);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED);
	g_assert_nonnull(strstr(rdp_path_reason(p0), "administrator"));
	run_for(lun, 30 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED); /* the checker leaves it */
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == B);
	g_assert_cmpint(rdp_path_admin_reinstate(p0), ==, 0);
	run_for(lun, SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

/* An admin fail while the path's check is out: the check's good answer must not bring it back
 * (seen in the VM: a reload had asked for a check of every path just before rdpctl fail path). */
static void test_admin_fail_during_check(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	struct rdp_lun *lun = open_spec(&spec);
	struct rdp_path *p0 = rdp_lun_path(lun, 0);
	unsigned int turs = A->by_opcode[0x00];

	fake_now += 5 * SEC + SEC / 5;
	rdp_lun_tick(lun); /* the check goes out and stays out */
	g_assert_cmpuint(A->by_opcode[0x00], ==, turs + 1);
	g_assert_cmpuint(fake_pending_count(), >=, 1);
	g_assert_cmpint(rdp_path_admin_fail(p0), ==, 0);
	while (fake_complete_all())
		;
	run_for(lun, 10 * SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_FAILED);
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == B);
	g_assert_cmpint(rdp_path_admin_reinstate(p0), ==, 0);
	run_for(lun, SEC);
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_ACTIVE);
	fake_lun_close(lun);
}

static void test_weighted(void)
{
	static unsigned int w[] = {3, 1};
	struct rdp_lun_spec spec = base_spec();
	spec.selector = RDP_SEL_WEIGHTED;
	spec.grouping = RDP_GROUP_MULTIBUS;
	spec.weights = w;
	struct rdp_lun *lun = open_spec(&spec);
	unsigned int on_a = 0;
	for (int i = 0; i < 40; i++)
		on_a += one_read(lun) == A;
	g_assert_cmpuint(on_a, ==, 30);
	fake_lun_close(lun);
}

static void test_counters(void)
{
	struct rdp_lun_spec spec = base_spec();
	struct rdp_lun *lun = open_spec(&spec);
	for (int i = 0; i < 10; i++)
		one_read(lun);
	const struct rdp_lun_stats *s = rdp_lun_stats(lun);
	g_assert_cmpuint(s->cmds, ==, 10);
	g_assert_cmpuint(s->completed, ==, 10);
	g_assert_cmpuint(s->errors_returned, ==, 0);
	const struct rdp_path_stats *a = rdp_path_stats(rdp_lun_path(lun, 0));
	const struct rdp_path_stats *b = rdp_path_stats(rdp_lun_path(lun, 1));
	g_assert_cmpuint(a->cmds + b->cmds, ==, 10);
	g_assert_cmpuint(a->bytes + b->bytes, ==, 10 * 512);
	g_assert_cmpuint(a->inflight + b->inflight, ==, 0);
	fake_lun_close(lun);
}

/* Keep qd reads outstanding for `steps` milliseconds; A completes up to rate_a and B up to
 * rate_b requests per millisecond. Every command must complete GOOD. */
static void simulate(struct rdp_lun *lun, unsigned int qd, unsigned int steps, unsigned int rate_a,
		     unsigned int rate_b)
{
	struct tcmd *t = g_new0(struct tcmd, qd);
	for (unsigned int i = 0; i < qd; i++) {
		tcmd_read(&t[i]);
		rdp_lun_submit(lun, &t[i].c);
	}
	for (unsigned int s = 0; s < steps; s++) {
		fake_now += 1000000;
		fake_complete_dev(A, rate_a);
		fake_complete_dev(B, rate_b);
		if (s % 100 == 0)
			rdp_lun_tick(lun);
		for (unsigned int i = 0; i < qd; i++)
			if (t[i].done) {
				g_assert_cmpuint(t[i].c.status, ==, RDP_SAM_GOOD);
				tcmd_read(&t[i]);
				rdp_lun_submit(lun, &t[i].c);
			}
	}
	while (fake_complete_all())
		;
	for (unsigned int i = 0; i < qd; i++)
		g_assert_true(t[i].done);
	g_free(t);
}

static struct rdp_lun *multibus_lun(enum rdp_selector_kind sel, unsigned int *weights)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	spec.selector = sel;
	spec.weights = weights;
	spec.checker_interval_ms = 60000; /* keep checker commands out of the counts */
	spec.max_checker_interval_ms = 60000;
	return open_spec(&spec);
}

static void test_selectors_under_load(void)
{
	/* round-robin: equal paths share within 1% over 10k commands */
	struct rdp_lun *lun = multibus_lun(RDP_SEL_ROUND_ROBIN, NULL);
	struct tcmd t;
	for (int i = 0; i < 10000; i++) {
		tcmd_read(&t);
		rdp_lun_submit(lun, &t.c);
		fake_complete_all();
	}
	double share = A->by_opcode[0x28] / 10000.0;
	g_test_message("round-robin share of A: %.4f", share);
	g_assert_cmpfloat(fabs(share - 0.5), <=, 0.01);
	fake_lun_close(lun);

	/* queue-length and service-time: a path twice as fast gets at least twice the load */
	enum rdp_selector_kind kinds[] = {RDP_SEL_QUEUE_LENGTH, RDP_SEL_SERVICE_TIME};
	for (int k = 0; k < 2; k++) {
		lun = multibus_lun(kinds[k], NULL);
		simulate(lun, 16, 20000, 2, 1);
		double ratio = (double)A->by_opcode[0x28] / B->by_opcode[0x28];
		g_test_message("%s: A %u, B %u, ratio %.2f", k ? "service-time" : "queue-length",
			       A->by_opcode[0x28], B->by_opcode[0x28], ratio);
		g_assert_cmpfloat(ratio, >=, 2.0 * 0.98);
		fake_lun_close(lun);
	}

	/* weighted: 3:1 within 2% */
	static unsigned int w[] = {3, 1};
	lun = multibus_lun(RDP_SEL_WEIGHTED, w);
	simulate(lun, 8, 5000, 4, 4);
	share = (double)A->by_opcode[0x28] / (A->by_opcode[0x28] + B->by_opcode[0x28]);
	g_test_message("weighted share of A: %.4f", share);
	g_assert_cmpfloat(fabs(share - 0.75), <=, 0.02);
	fake_lun_close(lun);
}

static void test_hung_path(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	struct rdp_lun *lun = open_spec(&spec);
	struct tcmd t[4];

	A->mode = FAKE_HANG;
	for (int i = 0; i < 4; i++) {
		tcmd_read(&t[i]);
		rdp_lun_submit(lun, &t[i].c);
	}
	while (fake_complete_all())
		; /* B's finish; A's are held */
	unsigned int held = A->pending;
	g_assert_cmpuint(held, ==, 2);
	for (int i = 0; i < 4; i++)
		if (!t[i].done)
			g_assert_cmpuint(B->by_opcode[0x28], ==, 2); /* not re-issued while held */
	/* the per-command timeout expires: sg returns them with DID_TIME_OUT, now they move */
	g_assert_cmpuint(fake_timeout_dev(A), ==, held);
	while (fake_complete_all())
		;
	for (int i = 0; i < 4; i++) {
		g_assert_true(t[i].done);
		g_assert_cmpuint(t[i].c.status, ==, RDP_SAM_GOOD);
	}
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_FAILED);
	g_assert_cmpuint(rdp_lun_stats(lun)->errors_returned, ==, 0);
	fake_lun_close(lun);
}

static void test_flapping_path(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	spec.marginal_err_count = 3;
	spec.marginal_window_ms = 60000;
	spec.marginal_recovery_ms = 120000;
	struct rdp_lun *lun = open_spec(&spec);
	struct rdp_path *p0 = rdp_lun_path(lun, 0);

	for (int flap = 0; flap < 3; flap++) {
		A->mode = FAKE_NO_CONNECT;
		simulate(lun, 4, 200, 4, 4);
		A->mode = FAKE_OK;
		simulate(lun, 4, 3000, 4, 4); /* long enough for the checker to bring it back */
	}
	g_assert_cmpint(rdp_path_state(p0), ==, RDP_PATH_MARGINAL);
	g_assert_cmpuint(rdp_lun_stats(lun)->errors_returned, ==, 0);
	fake_lun_close(lun);
}

/* The path of lun on device dev, or NULL. */
static struct rdp_path *path_of(struct rdp_lun *lun, const char *dev)
{
	for (unsigned int i = 0; i < rdp_lun_path_count(lun); i++)
		if (!strcmp(rdp_path_dev(rdp_lun_path(lun, i)), dev))
			return rdp_lun_path(lun, i);
	return NULL;
}

static void test_live_paths(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	struct rdp_lun *lun = open_spec(&spec);
	struct fake_dev *c = fake_dev_add("sg2", WWID);
	g_autoptr(GError) err = NULL;

	/* a new path with the LUN's identity joins as checking, is proven by the asynchronous
	 * checker at once (no synchronous probe), then carries I/O */
	g_assert_cmpint(rdp_lun_add_path(lun, "sg2", NULL, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 3);
	struct rdp_path *p2 = path_of(lun, "sg2");
	g_assert_cmpint(rdp_path_state(p2), ==, RDP_PATH_CHECKING);
	g_assert_cmpuint(c->by_opcode[0x00], ==, 1); /* its TUR went out now, not in 5 s */
	while (fake_complete_all())
		;
	g_assert_cmpint(rdp_path_state(p2), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(c->by_opcode[0x12], ==, 1); /* VPD 0x83 */
	g_assert_cmpuint(c->sync_calls, ==, 0);
	for (int i = 0; i < 6; i++)
		one_read(lun);
	g_assert_cmpuint(c->by_opcode[0x28], ==, 2);

	/* removing a path with a command on it: failed now, freed when the command is back */
	struct tcmd t;
	tcmd_read(&t);
	rdp_lun_submit(lun, &t.c);
	struct fake_dev *holder = fake_pending_dev(0);
	g_assert_nonnull(holder);
	g_assert_cmpint(rdp_lun_remove_path(lun, holder->name, "device removed"), ==, 0);
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 3);
	while (fake_complete_all())
		;
	g_assert_true(t.done);
	g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	rdp_lun_tick(lun);
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 2);
	for (unsigned int i = 0; i < rdp_lun_path_count(lun); i++)
		g_assert_cmpstr(rdp_path_dev(rdp_lun_path(lun, i)), !=, holder->name);
	fake_lun_close(lun);
}

/* Issue 10: path ids stay stable when the reaper compacts the path array. Under failover
 * grouping every path is a group of its own; with ids taken from array positions, a path
 * added after another was removed took the position-derived priority of a survivor, and the
 * two shared a group (I/O on both at once, on an array that wants one port in use). */
static void test_failover_ids_stable(void)
{
	static const char *const paths[] = {"sg0", "sg1", "sg2", NULL};
	struct rdp_lun_spec spec = base_spec();
	struct fake_dev *c = fake_dev_add("sg2", WWID);
	struct fake_dev *d = fake_dev_add("sg3", WWID);
	g_autoptr(GError) err = NULL;

	spec.paths = (char **)paths;
	spec.grouping = RDP_GROUP_FAILOVER;
	struct rdp_lun *lun = open_spec(&spec);
	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 3);
	g_assert_cmpint(rdp_lun_remove_path(lun, "sg1", "device removed"), ==, 0);
	rdp_lun_tick(lun);
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 2);
	g_assert_cmpint(rdp_lun_add_path(lun, "sg3", NULL, &err), ==, 0);
	g_assert_no_error(err);
	while (fake_complete_all())
		;
	g_assert_cmpint(rdp_path_state(path_of(lun, "sg3")), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 3);
	g_assert_cmpuint(rdp_path_group(path_of(lun, "sg2")), !=, rdp_path_group(path_of(lun, "sg3")));
	/* the first path keeps the LUN's I/O; then sg2, which the configuration names, before
	 * sg3, which it does not */
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == A);
	A->mode = FAKE_NO_CONNECT;
	struct tcmd t;
	for (int i = 0; i < 4; i++) {
		tcmd_read(&t);
		rdp_lun_submit(lun, &t.c);
		while (!t.done && fake_complete_all())
			;
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	}
	g_assert_cmpuint(c->by_opcode[0x28], ==, 4);
	g_assert_cmpuint(d->by_opcode[0x28], ==, 0);
	fake_lun_close(lun);
}

/* A device of another LUN added live: proven wrong by the checker, never sent anything but the
 * check, dropped from the LUN (so that it stays free for the LUN it belongs to). */
static void test_live_path_other_lun(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	spec.read_checker = true; /* the READ comes after the identity, so never on this one */
	struct rdp_lun *lun = open_spec(&spec);
	struct fake_dev *other = fake_dev_add("sg3", "naa.6000000000000003");
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(rdp_lun_add_path(lun, "sg3", NULL, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(rdp_path_state(path_of(lun, "sg3")), ==, RDP_PATH_CHECKING);
	for (int i = 0; i < 8; i++)
		one_read(lun); /* completes the checks too */
	g_assert_nonnull(path_of(lun, "sg3"));
	g_assert_cmpint(rdp_path_state(path_of(lun, "sg3")), ==, RDP_PATH_FAILED);
	g_assert_nonnull(strstr(rdp_path_reason(path_of(lun, "sg3")), "naa.6000000000000003"));
	g_assert_nonnull(strstr(rdp_path_reason(path_of(lun, "sg3")), WWID));
	rdp_lun_tick(lun);
	g_assert_null(path_of(lun, "sg3"));
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 2);
	g_assert_cmpuint(other->by_opcode[0x28], ==, 0);
	g_assert_cmpuint(other->submitted, ==, 2); /* TUR, INQUIRY VPD 0x83: nothing else */
	g_assert_cmpuint(other->sync_calls, ==, 0);
	/* it may be added again (a later hotplug or reload): checked again */
	g_assert_cmpint(rdp_lun_add_path(lun, "sg3", NULL, &err), ==, 0);
	run_for(lun, SEC);
	g_assert_null(path_of(lun, "sg3"));
	fake_lun_close(lun);
}

/* A new path that hangs: the add returns at once and the loop goes on carrying the other
 * paths' commands; the hung checker command times out (as sg would), the path stays failed and
 * joins when it heals, after the checker proved it. */
static void test_live_path_hangs(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	struct rdp_lun *lun = open_spec(&spec);
	struct fake_dev *c = fake_dev_add("sg2", WWID);
	g_autoptr(GError) err = NULL;

	c->mode = FAKE_HANG;
	g_assert_cmpint(rdp_lun_add_path(lun, "sg2", NULL, &err), ==, 0);
	g_assert_cmpuint(c->sync_calls, ==, 0);
	g_assert_cmpuint(c->pending, ==, 1); /* its TUR, held */
	struct rdp_path *p2 = path_of(lun, "sg2");
	unsigned int a = A->by_opcode[0x28], b = B->by_opcode[0x28];
	for (int i = 0; i < 20; i++) {
		struct tcmd t;
		tcmd_read(&t);
		rdp_lun_submit(lun, &t.c);
		fake_now += SEC / 10;
		rdp_lun_tick(lun);
		while (fake_complete_all())
			;
		g_assert_true(t.done);
		g_assert_cmpuint(t.c.status, ==, RDP_SAM_GOOD);
	}
	g_assert_cmpuint(A->by_opcode[0x28] + B->by_opcode[0x28] - a - b, ==, 20);
	g_assert_cmpuint(c->by_opcode[0x28], ==, 0);
	g_assert_cmpint(rdp_path_state(p2), ==, RDP_PATH_CHECKING);
	g_assert_cmpuint(fake_timeout_dev(c), ==, 1);
	g_assert_cmpint(rdp_path_state(p2), ==, RDP_PATH_FAILED);
	c->mode = FAKE_OK;
	run_for(lun, 6 * SEC);
	g_assert_cmpint(rdp_path_state(p2), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(c->sync_calls, ==, 0);
	fake_lun_close(lun);
}

/* ALUA: a new path's priority comes from its own RTPG answer, read by the checker's ALUA stage
 * before it becomes active; a standby one joins as standby. */
static void test_live_path_alua(void)
{
	struct rdp_lun_spec spec = base_spec(); /* grouping auto: alua */
	B->alua = 1;
	struct rdp_lun *lun = open_spec(&spec);
	struct fake_dev *c = fake_dev_add("sg2", WWID), *d = fake_dev_add("sg3", WWID);
	g_autoptr(GError) err = NULL;

	c->alua = 1; /* active/non-optimized: B's group */
	d->alua = 2; /* standby */
	g_assert_cmpint(rdp_lun_add_path(lun, "sg2", NULL, &err), ==, 0);
	g_assert_cmpint(rdp_lun_add_path(lun, "sg3", NULL, &err), ==, 0);
	struct rdp_path *p2 = path_of(lun, "sg2"), *p3 = path_of(lun, "sg3");
	while (fake_complete_all())
		;
	g_assert_cmpuint(c->by_opcode[0xa3], ==, 1);
	g_assert_cmpuint(c->sync_calls + d->sync_calls, ==, 0);
	g_assert_cmpint(rdp_path_state(p2), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(rdp_path_priority(p2), ==, 10);
	g_assert_cmpuint(rdp_path_group(p2), ==, rdp_path_group(rdp_lun_path(lun, 1)));
	g_assert_cmpint(rdp_path_state(p3), ==, RDP_PATH_STANDBY);
	g_assert_cmpuint(rdp_path_priority(p3), ==, 1);
	/* I/O stays on the optimized path A */
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == A);
	/* A fails: the non-optimized group (B and the new C) takes over, never the standby D */
	A->mode = FAKE_NO_CONNECT;
	unsigned int cr = c->by_opcode[0x28];
	for (int i = 0; i < 8; i++)
		one_read(lun);
	g_assert_cmpuint(c->by_opcode[0x28], >, cr);
	g_assert_cmpuint(d->by_opcode[0x28], ==, 0);
	fake_lun_close(lun);
}

static void test_reconfigure(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	struct rdp_lun *lun = open_spec(&spec);
	fake_dev_add("sg2", WWID);
	g_autoptr(GString) report = g_string_new(NULL);
	g_autoptr(GError) err = NULL;

	/* paths sg1+sg2 instead of sg0+sg1, weighted 1:3 */
	static const char *const paths[] = {"sg1", "sg2", NULL};
	static unsigned int w[] = {1, 3};
	struct rdp_lun_spec next = spec;
	next.paths = (char **)paths;
	next.selector = RDP_SEL_WEIGHTED;
	next.weights = w;
	g_assert_true(rdp_lun_reconfigure(lun, &next, report, &err));
	g_assert_no_error(err);
	g_test_message("%s", report->str);
	g_assert_nonnull(strstr(report->str, "path sg0 removed"));
	g_assert_nonnull(strstr(report->str, "path sg2 added, checking its identity"));
	g_assert_cmpint(rdp_path_state(path_of(lun, "sg2")), ==, RDP_PATH_CHECKING);
	while (fake_complete_all())
		; /* its check */
	g_assert_cmpint(rdp_path_state(path_of(lun, "sg2")), ==, RDP_PATH_ACTIVE);
	rdp_lun_tick(lun);
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 2);
	unsigned int before = B->by_opcode[0x28];
	for (int i = 0; i < 40; i++)
		g_assert_true(one_read(lun) != A);
	g_assert_cmpuint(B->by_opcode[0x28] - before, ==, 10);

	/* another identity: refused whole, nothing changed */
	next.wwid = "naa.6000000000000009";
	g_assert_false(rdp_lun_reconfigure(lun, &next, report, &err));
	g_assert_error(err, RDP_ERROR, RDP_ERROR_IDENTITY);
	g_assert_cmpuint(rdp_lun_path_count(lun), ==, 2);
	fake_lun_close(lun);
}

/* A reload that makes grouping alua: no synchronous RTPG; the checker's next round reads each
 * path's state and the groups follow. */
static void test_reconfigure_to_alua(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	B->alua = 1;
	struct rdp_lun *lun = open_spec(&spec);
	g_autoptr(GString) report = g_string_new(NULL);
	g_autoptr(GError) err = NULL;
	unsigned int sync_a = A->sync_calls, sync_b = B->sync_calls;

	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 1);
	struct rdp_lun_spec next = spec;
	next.grouping = RDP_GROUP_AUTO; /* the fake reports TPGS */
	g_assert_true(rdp_lun_reconfigure(lun, &next, report, &err));
	g_assert_nonnull(strstr(report->str, "grouping changed"));
	g_assert_cmpuint(A->sync_calls, ==, sync_a);
	g_assert_cmpuint(B->sync_calls, ==, sync_b);
	run_for(lun, SEC / 5);
	g_assert_cmpuint(A->by_opcode[0xa3], ==, 1);
	g_assert_cmpuint(rdp_lun_group_count(lun), ==, 2);
	g_assert_cmpuint(rdp_path_priority(rdp_lun_path(lun, 0)), ==, 50);
	g_assert_cmpuint(rdp_path_priority(rdp_lun_path(lun, 1)), ==, 10);
	for (int i = 0; i < 4; i++)
		g_assert_true(one_read(lun) == A);
	/* reloading the same settings again keeps the priorities, still without a probe */
	g_assert_true(rdp_lun_reconfigure(lun, &next, report, &err));
	g_assert_cmpuint(rdp_path_priority(rdp_lun_path(lun, 1)), ==, 10);
	g_assert_cmpuint(A->sync_calls + B->sync_calls, ==, sync_a + sync_b);
	fake_lun_close(lun);
}

/* CAPACITY DATA HAS CHANGED: one asynchronous READ CAPACITY(16), here on a path that hangs; the
 * other path's commands complete meanwhile, and the answer is applied when one comes. */
static void test_capacity_reread_async(void)
{
	struct rdp_lun_spec spec = base_spec();
	spec.grouping = RDP_GROUP_MULTIBUS;
	struct rdp_lun *lun = open_spec(&spec);
	unsigned int sync_a = A->sync_calls, sync_b = B->sync_calls;

	/* B says 2A/09 to a read; the read is retried, the re-read goes out on the next tick */
	A->blocks = B->blocks = 1048576;
	B->mode = FAKE_UA_CAPACITY;
	struct tcmd first;
	for (int i = 0; i < 2; i++) {
		tcmd_read(&first);
		rdp_lun_submit(lun, &first.c);
		while (fake_complete_all())
			;
		if (!first.done)
			break; /* B's: waits for its retry */
	}
	g_assert_false(first.done);
	A->mode = FAKE_HANG;
	fake_now += SEC / 5;
	rdp_lun_tick(lun);
	while (fake_complete_all())
		;
	g_assert_cmpuint(A->by_opcode[0x9e], ==, 1);
	g_assert_cmpuint(A->pending, >=, 1);
	g_assert_cmpuint(rdp_lun_capacity(lun).blocks, ==, 524288);
	/* a second 2A/09 meanwhile does not send a second one; commands on B complete while A
	 * holds the re-read (and the reads the selector gave it) */
	static struct tcmd t[16];
	unsigned int b = B->by_opcode[0x28];
	B->mode = FAKE_UA_CAPACITY;
	for (int i = 0; i < 16; i++) {
		tcmd_read(&t[i]);
		rdp_lun_submit(lun, &t[i].c);
		fake_now += SEC / 5;
		rdp_lun_tick(lun);
		while (fake_complete_all())
			;
	}
	g_assert_cmpuint(A->by_opcode[0x9e] + B->by_opcode[0x9e], ==, 1);
	unsigned int done = first.done;
	for (int i = 0; i < 16; i++)
		done += t[i].done;
	g_assert_cmpuint(done + A->pending - 1, ==, 17); /* every read not held by A is done */
	g_assert_cmpuint(done, >=, 7);
	g_assert_cmpuint(B->by_opcode[0x28], >, b);
	g_assert_cmpuint(A->sync_calls, ==, sync_a);
	g_assert_cmpuint(B->sync_calls, ==, sync_b);
	/* sg returns A's commands (DID_TIME_OUT): A fails, the re-read goes to B and is applied */
	fake_timeout_dev(A);
	run_for(lun, SEC);
	g_assert_cmpuint(B->by_opcode[0x9e], ==, 1);
	g_assert_cmpuint(rdp_lun_capacity(lun).blocks, ==, 1048576);
	g_assert_true(first.done);
	for (int i = 0; i < 16; i++)
		g_assert_true(t[i].done);
	g_assert_cmpuint(rdp_lun_stats(lun)->errors_returned, ==, 0);
	g_assert_cmpuint(A->sync_calls + B->sync_calls, ==, sync_a + sync_b);
	fake_lun_close(lun);
}

/* Attach is still synchronous, but a path that hangs costs it one probe timeout: here the first
 * path answers VPD 0x83 and the standard INQUIRY, then hangs; it gets no further probe, is kept
 * failed, and the second path fills the LUN's caches. */
static void test_attach_hang_bound(void)
{
	struct rdp_lun_spec spec = base_spec();
	A->hang_after_sync = 2;
	struct rdp_lun *lun = open_spec(&spec);

	g_assert_cmpuint(A->sync_timeouts, ==, 1);
	g_assert_cmpuint(A->sync_calls, ==, 3);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 0)), ==, RDP_PATH_FAILED);
	g_assert_cmpint(rdp_path_state(rdp_lun_path(lun, 1)), ==, RDP_PATH_ACTIVE);
	g_assert_cmpuint(rdp_lun_capacity(lun).blocks, ==, 524288);
	g_assert_cmpstr(rdp_lun_wwid(lun), ==, WWID);
	fake_lun_close(lun);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/engine/groups-priority", test_groups_priority);
	g_test_add_func("/engine/failback-manual-followover", test_failback_manual_and_followover);
	g_test_add_func("/engine/failback-deferred", test_failback_deferred);
	g_test_add_func("/engine/grouping-failover-multibus", test_grouping_failover);
	g_test_add_func("/engine/no-path-retry", test_no_path_retry_fail_and_n);
	g_test_add_func("/engine/marginal", test_marginal);
	g_test_add_func("/engine/checker-backoff-read", test_checker_backoff_and_read);
	g_test_add_func("/engine/standby-sense", test_standby_sense);
	g_test_add_func("/engine/alua-groups", test_alua_groups);
	g_test_add_func("/engine/admin", test_admin);
	g_test_add_func("/engine/admin-fail-during-check", test_admin_fail_during_check);
	g_test_add_func("/engine/weighted", test_weighted);
	g_test_add_func("/engine/counters", test_counters);
	g_test_add_func("/engine/selectors-under-load", test_selectors_under_load);
	g_test_add_func("/engine/hung-path", test_hung_path);
	g_test_add_func("/engine/flapping-path", test_flapping_path);
	g_test_add_func("/engine/live-paths", test_live_paths);
	g_test_add_func("/engine/failover-ids-stable", test_failover_ids_stable);
	g_test_add_func("/engine/live-path-other-lun", test_live_path_other_lun);
	g_test_add_func("/engine/live-path-hangs", test_live_path_hangs);
	g_test_add_func("/engine/live-path-alua", test_live_path_alua);
	g_test_add_func("/engine/reconfigure", test_reconfigure);
	g_test_add_func("/engine/reconfigure-to-alua", test_reconfigure_to_alua);
	g_test_add_func("/engine/capacity-reread-async", test_capacity_reread_async);
	g_test_add_func("/engine/attach-hang-bound", test_attach_hang_bound);
	int rc = g_test_run();
	fake_reset();
	return rc;
}
