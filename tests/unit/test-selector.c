/* Unit tests for the path selectors (lib/selector*.c): the share each policy gives over many
 * picks, what happens when the usable set changes mid-stream, the load book-keeping and the
 * throughput estimate. Built from lib/selector*.c alone; no engine, no clock. */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "selector.h"

/* A LUN's worth of paths as the engine would hand them to a selector: load kept per stable id,
 * ids[0..n-1] the usable ones. */
struct bench {
	struct rdp_selector_state st;
	struct rdp_path_load load[RDP_MAX_PATHS];
	unsigned int ids[RDP_MAX_PATHS];
	unsigned int n;
};

static void bench_init(struct bench *b, const unsigned int *ids, unsigned int n)
{
	memset(b, 0, sizeof(*b));
	for (unsigned int i = 0; i < RDP_MAX_PATHS; i++)
		b->load[i].weight = 1;
	memcpy(b->ids, ids, n * sizeof(*ids));
	b->n = n;
}

static void bench_usable(struct bench *b, const unsigned int *ids, unsigned int n)
{
	memcpy(b->ids, ids, n * sizeof(*ids));
	b->n = n;
}

/* One selection; returns the chosen path's id. */
static unsigned int pick(const struct rdp_selector_ops *ops, struct bench *b, size_t bytes)
{
	const struct rdp_path_load *lp[RDP_MAX_PATHS];
	unsigned int pos;

	for (unsigned int i = 0; i < b->n; i++)
		lp[i] = &b->load[b->ids[i]];
	pos = ops->select(&b->st, b->ids, lp, b->n, bytes);
	g_assert_cmpuint(pos, <, b->n);
	return b->ids[pos];
}

static const struct rdp_selector_ops *const all_ops[] = {
    &rdp_selector_round_robin,
    &rdp_selector_queue_length,
    &rdp_selector_service_time,
    &rdp_selector_weighted,
};

/* ---- registry ---- */

static void test_find(void)
{
	static const struct {
		enum rdp_selector_kind kind;
		const struct rdp_selector_ops *ops;
		const char *name;
	} want[] = {
	    {RDP_SEL_ROUND_ROBIN, &rdp_selector_round_robin, "round-robin"},
	    {RDP_SEL_QUEUE_LENGTH, &rdp_selector_queue_length, "queue-length"},
	    {RDP_SEL_SERVICE_TIME, &rdp_selector_service_time, "service-time"},
	    {RDP_SEL_WEIGHTED, &rdp_selector_weighted, "weighted"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		const struct rdp_selector_ops *ops = rdp_selector_find(want[i].kind);

		g_assert_true(ops == want[i].ops);
		g_assert_cmpstr(ops->name, ==, want[i].name);
		g_assert_nonnull(ops->select);
	}
	g_assert_null(rdp_selector_find((enum rdp_selector_kind)99));
}

/* ---- every selector ---- */

static void test_single_path(void)
{
	static const unsigned int only[] = {7};

	for (size_t s = 0; s < G_N_ELEMENTS(all_ops); s++) {
		struct bench b;

		bench_init(&b, only, 1);
		b.load[7] = (struct rdp_path_load){
		    .inflight = 1000, .inflight_bytes = UINT64_MAX, .tput = 0, .weight = 5};
		for (unsigned int i = 0; i < 100; i++) {
			g_assert_cmpuint(pick(all_ops[s], &b, i % 2 ? SIZE_MAX : 0), ==, 7);
			b.load[7].tput = i % 3 ? 1 : UINT64_MAX;
		}
	}
}

/* ---- round-robin ---- */

static void test_rr_share(void)
{
	static const unsigned int four[] = {0, 1, 2, 3};
	static const unsigned int sparse[] = {9, 2, 30}; /* unsorted, with gaps */
	static const unsigned int sparse_order[] = {2, 9, 30};
	unsigned int count[RDP_MAX_PATHS] = {0};
	unsigned int last = RDP_MAX_PATHS;
	struct bench b;

	bench_init(&b, four, 4);
	b.load[0].inflight = 50; /* round-robin ignores load */
	for (unsigned int i = 0; i < 1000; i++) {
		unsigned int id = pick(&rdp_selector_round_robin, &b, 4096);

		g_assert_cmpuint(id, !=, last);
		g_assert_cmpuint(id, ==, four[i % 4]);
		count[id]++;
		last = id;
	}
	for (unsigned int id = 0; id < 4; id++)
		g_assert_cmpuint(count[id], ==, 250);

	/* the rotation follows the ids, not the order of the list */
	bench_init(&b, sparse, 3);
	for (unsigned int i = 0; i < 99; i++)
		g_assert_cmpuint(pick(&rdp_selector_round_robin, &b, 512), ==, sparse_order[i % 3]);
}

static void expect_rr(struct bench *b, const unsigned int *seq, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		g_assert_cmpuint(pick(&rdp_selector_round_robin, b, 4096), ==, seq[i]);
}

static void test_rr_set_change(void)
{
	static const unsigned int all[] = {0, 1, 2, 3}, no2[] = {0, 1, 3}, no1[] = {0, 2, 3};
	static const unsigned int seq1[] = {0, 1};
	static const unsigned int seq2[] = {3, 0, 1, 3};    /* 2 was due: its turn passes to 3 */
	static const unsigned int seq3[] = {0, 1, 2, 3, 0}; /* 2 back at its place */
	unsigned int count[4] = {0};
	unsigned int last = RDP_MAX_PATHS;
	struct bench b;

	bench_init(&b, all, 4);
	expect_rr(&b, seq1, G_N_ELEMENTS(seq1));
	bench_usable(&b, no2, 3);
	expect_rr(&b, seq2, G_N_ELEMENTS(seq2));
	bench_usable(&b, all, 4);
	expect_rr(&b, seq3, G_N_ELEMENTS(seq3));

	/* Path 1 away for 200 of 1000 picks: nobody is skipped or served twice in a row, and the
	 * shares are those of each phase (75 + 0 + 125 for path 1, 75 + 66.7 + 125 for others). */
	bench_init(&b, all, 4);
	for (unsigned int i = 0; i < 1000; i++) {
		unsigned int id;

		if (i == 300)
			bench_usable(&b, no1, 3);
		if (i == 500)
			bench_usable(&b, all, 4);
		id = pick(&rdp_selector_round_robin, &b, 4096);
		g_assert_cmpuint(id, !=, last);
		count[id]++;
		last = id;
	}
	g_assert_cmpuint(count[1], >=, 199);
	g_assert_cmpuint(count[1], <=, 201);
	for (unsigned int id = 0; id < 4; id += id == 0 ? 2 : 1) {
		g_assert_cmpuint(count[id], >=, 265);
		g_assert_cmpuint(count[id], <=, 268);
	}
}

/* ---- queue-length ---- */

static void test_ql_share(void)
{
	static const unsigned int four[] = {0, 1, 2, 3};
	unsigned int count[4] = {0};
	unsigned int fifo[8], head = 0, len = 0;
	struct bench b;

	/* completed at once: all idle at every pick, so the tie-break alone shares */
	bench_init(&b, four, 4);
	for (unsigned int i = 0; i < 1000; i++) {
		unsigned int id = pick(&rdp_selector_queue_length, &b, 4096);

		rdp_path_load_start(&b.load[id], 4096);
		rdp_path_load_done(&b.load[id], 4096, 100);
		count[id]++;
	}
	for (unsigned int id = 0; id < 4; id++)
		g_assert_cmpuint(count[id], ==, 250);

	/* 8 in flight, oldest completes first: still an equal share */
	memset(count, 0, sizeof(count));
	bench_init(&b, four, 4);
	for (unsigned int i = 0; i < 1000; i++) {
		unsigned int id = pick(&rdp_selector_queue_length, &b, 4096);

		rdp_path_load_start(&b.load[id], 4096);
		fifo[(head + len++) % 8] = id;
		count[id]++;
		if (len == 8) {
			rdp_path_load_done(&b.load[fifo[head]], 4096, 100);
			head = (head + 1) % 8;
			len--;
		}
		for (unsigned int p = 0; p < 4; p++)
			g_assert_cmpuint(b.load[p].inflight, <=, 3);
	}
	for (unsigned int id = 0; id < 4; id++) {
		g_assert_cmpuint(count[id], >=, 249);
		g_assert_cmpuint(count[id], <=, 251);
	}
}

static void test_ql_least(void)
{
	static const unsigned int four[] = {0, 1, 2, 3}, two[] = {0, 1};
	unsigned int count[2] = {0};
	struct bench b;

	bench_init(&b, four, 4);
	b.load[0].inflight = 5;
	b.load[1].inflight = 2;
	b.load[2].inflight = 5;
	b.load[3].inflight = 2;
	for (unsigned int i = 0; i < 10; i++)
		g_assert_cmpuint(pick(&rdp_selector_queue_length, &b, 0), ==, i % 2 ? 3 : 1);

	/* path 1 completes a quarter as often as path 0: it gets fewer commands */
	bench_init(&b, two, 2);
	for (unsigned int t = 0; count[0] + count[1] < 1000; t++) {
		for (unsigned int k = 0; k < 3; k++) {
			unsigned int id = pick(&rdp_selector_queue_length, &b, 4096);

			rdp_path_load_start(&b.load[id], 4096);
			count[id]++;
		}
		for (unsigned int k = 0; k < 2 && b.load[0].inflight; k++)
			rdp_path_load_done(&b.load[0], 4096, 100);
		if (t % 2 && b.load[1].inflight)
			rdp_path_load_done(&b.load[1], 4096, 200);
	}
	g_assert_cmpuint(count[0], >, count[1] * 3 / 2);
}

static void test_ql_set_change(void)
{
	static const unsigned int all[] = {0, 1, 2}, no1[] = {0, 2};
	unsigned int count[3] = {0};
	struct bench b;

	bench_init(&b, all, 3);
	for (unsigned int i = 0; i < 900; i++) {
		unsigned int id;

		if (i == 300)
			bench_usable(&b, no1, 2);
		if (i == 600)
			bench_usable(&b, all, 3);
		id = pick(&rdp_selector_queue_length, &b, 4096);
		rdp_path_load_start(&b.load[id], 4096);
		rdp_path_load_done(&b.load[id], 4096, 100);
		count[id]++;
	}
	g_assert_cmpuint(count[1], >=, 199);
	g_assert_cmpuint(count[1], <=, 201);
	g_assert_cmpuint(count[0], >=, 349);
	g_assert_cmpuint(count[0], <=, 351);
	g_assert_cmpuint(count[2], >=, 349);
	g_assert_cmpuint(count[2], <=, 351);
}

/* ---- service-time ---- */

static void test_st_equal(void)
{
	static const unsigned int four[] = {0, 1, 2, 3};
	unsigned int count[4] = {0};
	struct bench b;

	/* identical paths, each completion measured the same: the tie-break shares exactly */
	bench_init(&b, four, 4);
	for (unsigned int i = 0; i < 1000; i++) {
		unsigned int id = pick(&rdp_selector_service_time, &b, 65536);

		rdp_path_load_start(&b.load[id], 65536);
		rdp_path_load_done(&b.load[id], 65536, 1000);
		count[id]++;
	}
	for (unsigned int id = 0; id < 4; id++) {
		g_assert_cmpuint(count[id], ==, 250);
		g_assert_cmpuint(b.load[id].tput, ==, 65536000);
	}
}

/* A tiny first transfer (one of sd's probes: 2 bytes in 11 ms) must not seed a path's estimate:
 * it would read as 180 B/s and service-time would never send that path a command again. */
static void test_st_tiny_seed(void)
{
	static const unsigned int two[] = {0, 1};
	unsigned int count[2] = {0};
	struct bench b;

	bench_init(&b, two, 2);
	rdp_path_load_start(&b.load[0], 2);
	rdp_path_load_done(&b.load[0], 2, 11000);
	g_assert_cmpuint(b.load[0].tput, ==, 0); /* still unmeasured */
	rdp_path_load_start(&b.load[1], 4096);
	rdp_path_load_done(&b.load[1], 4096, 10000);
	g_assert_cmpuint(b.load[1].tput, >, 0);
	for (unsigned int i = 0; i < 100; i++) {
		unsigned int id = pick(&rdp_selector_service_time, &b, 4096);

		rdp_path_load_start(&b.load[id], 4096);
		rdp_path_load_done(&b.load[id], 4096, 10000);
		count[id]++;
	}
	g_assert_cmpuint(count[0], >=, 40);
	g_assert_cmpuint(count[1], >=, 40);
}

static void test_st_faster(void)
{
	static const unsigned int two[] = {0, 1};
	const size_t sz = 65536;
	unsigned int count[2] = {0};
	double ratio;
	struct bench b;

	/* measure: path 0 moves 64 KiB in 500 us, path 1 in 1000 us */
	bench_init(&b, two, 2);
	for (unsigned int i = 0; i < 20; i++) {
		rdp_path_load_start(&b.load[0], sz);
		rdp_path_load_done(&b.load[0], sz, 500);
		rdp_path_load_start(&b.load[1], sz);
		rdp_path_load_done(&b.load[1], sz, 1000);
	}
	g_assert_cmpuint(b.load[0].tput, ==, 2 * b.load[1].tput);

	/* loaded: ten queued on each, three arrive per tick, path 0 completes two per tick and
	 * path 1 one; the selector must follow the measured 2:1 */
	for (unsigned int i = 0; i < 10; i++) {
		rdp_path_load_start(&b.load[0], sz);
		rdp_path_load_start(&b.load[1], sz);
	}
	while (count[0] + count[1] < 1000) {
		for (unsigned int k = 0; k < 3; k++) {
			unsigned int id = pick(&rdp_selector_service_time, &b, sz);

			rdp_path_load_start(&b.load[id], sz);
			count[id]++;
		}
		for (unsigned int k = 0; k < 2 && b.load[0].inflight; k++)
			rdp_path_load_done(&b.load[0], sz, 500);
		if (b.load[1].inflight)
			rdp_path_load_done(&b.load[1], sz, 1000);
	}
	ratio = (double)count[0] / count[1];
	g_assert_cmpfloat(ratio, >, 1.8);
	g_assert_cmpfloat(ratio, <, 2.2);
	/* and neither queue ran away */
	g_assert_cmpuint(b.load[0].inflight, <, 40);
	g_assert_cmpuint(b.load[1].inflight, <, 40);
}

static void test_st_unknown(void)
{
	static const unsigned int three[] = {0, 1, 2}, two[] = {0, 1};
	struct bench b;

	/* Path 2 is unmeasured and would win only if counted at the best known rate (200):
	 * cost 0: (0 + 1000) / 100 = 10; 1: (10000 + 1000) / 200 = 55; 2: (500 + 1000) / 200 = 7.5
	 * (15 if it counted at path 0's rate). */
	bench_init(&b, three, 3);
	b.load[0].tput = 100;
	b.load[1] = (struct rdp_path_load){.inflight_bytes = 10000, .tput = 200, .weight = 1};
	b.load[2] = (struct rdp_path_load){.inflight_bytes = 500, .tput = 0, .weight = 1};
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 1000), ==, 2);

	/* idle, unmeasured path beside a measured one: they tie and take turns */
	bench_init(&b, two, 2);
	b.load[0].tput = 100000000;
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 0);
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 1);
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 0);

	/* nothing measured: bytes in flight decide */
	bench_init(&b, two, 2);
	b.load[0].inflight_bytes = 8192;
	b.load[1].inflight = 3; /* commands do not count, bytes do */
	b.load[1].inflight_bytes = 4096;
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 1);
	b.load[1].inflight_bytes = 8192;
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 0);
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 1);
}

static void test_st_tie_faster(void)
{
	static const unsigned int two[] = {0, 1};
	struct bench b;

	/* equal estimates, (0 + 4096) / 100 on path 0 and (4096 + 4096) / 200 on path 1: the
	 * faster one drains its queue sooner, so it wins though round-robin would say path 0 */
	bench_init(&b, two, 2);
	b.load[0].tput = 100;
	b.load[1] = (struct rdp_path_load){.inflight_bytes = 4096, .tput = 200, .weight = 1};
	for (unsigned int i = 0; i < 4; i++)
		g_assert_cmpuint(pick(&rdp_selector_service_time, &b, 4096), ==, 1);
}

static void test_st_extremes(void)
{
	static const unsigned int two[] = {0, 1};
	struct bench b;

	/* full 64-bit figures: path 0 is loaded to the limit but infinitely fast (cost ~2),
	 * path 1 idle at 1 byte/s (cost ~2^64) */
	bench_init(&b, two, 2);
	b.load[0] = (struct rdp_path_load){.inflight_bytes = UINT64_MAX, .tput = UINT64_MAX};
	b.load[1] = (struct rdp_path_load){.inflight_bytes = 0, .tput = 1};
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, SIZE_MAX), ==, 0);
	b.load[0].tput = 0; /* unknown: counts at the best known, 1 */
	g_assert_cmpuint(pick(&rdp_selector_service_time, &b, SIZE_MAX), ==, 1);
}

static void test_st_set_change(void)
{
	static const unsigned int all[] = {0, 1, 2}, no1[] = {0, 2};
	unsigned int count[3] = {0};
	struct bench b;

	bench_init(&b, all, 3);
	for (unsigned int i = 0; i < 900; i++) {
		unsigned int id;

		if (i == 300)
			bench_usable(&b, no1, 2);
		if (i == 600)
			bench_usable(&b, all, 3);
		id = pick(&rdp_selector_service_time, &b, 4096);
		g_assert_true(i < 300 || i >= 600 || id != 1);
		rdp_path_load_start(&b.load[id], 4096);
		rdp_path_load_done(&b.load[id], 4096, 100);
		count[id]++;
	}
	g_assert_cmpuint(count[1], >=, 199);
	g_assert_cmpuint(count[1], <=, 201);
	g_assert_cmpuint(count[0] + count[2], ==, 700);
	g_assert_cmpuint(count[0], >=, 349);
	g_assert_cmpuint(count[0], <=, 351);
}

/* ---- weighted ---- */

/* Every window of sum(weights) consecutive picks from `from` on holds each path exactly its
 * weight times. */
static void assert_windows(const unsigned int *seq, unsigned int from, unsigned int len,
			   const unsigned int *weight, unsigned int total)
{
	for (unsigned int s = from; s + total <= len; s++) {
		unsigned int count[RDP_MAX_PATHS] = {0};

		for (unsigned int k = 0; k < total; k++)
			count[seq[s + k]]++;
		for (unsigned int id = 0; id < RDP_MAX_PATHS; id++)
			g_assert_cmpuint(count[id], ==, weight[id]);
	}
}

static void test_weighted_share(void)
{
	static const unsigned int two[] = {0, 1}, three[] = {0, 1, 2};
	unsigned int w31[RDP_MAX_PATHS] = {3, 1}, w531[RDP_MAX_PATHS] = {5, 3, 1};
	unsigned int seq[1000], count[2] = {0};
	struct bench b;

	bench_init(&b, two, 2);
	b.load[0].weight = 3;
	b.load[1].weight = 1;
	for (unsigned int i = 0; i < 1000; i++) {
		seq[i] = pick(&rdp_selector_weighted, &b, 4096);
		count[seq[i]]++;
	}
	g_assert_cmpuint(count[0], ==, 750);
	g_assert_cmpuint(count[1], ==, 250);
	assert_windows(seq, 0, 1000, w31, 4);

	bench_init(&b, three, 3);
	b.load[0].weight = 5;
	b.load[1].weight = 3;
	b.load[2].weight = 1;
	for (unsigned int i = 0; i < 900; i++)
		seq[i] = pick(&rdp_selector_weighted, &b, 4096);
	assert_windows(seq, 0, 900, w531, 9);
	/* smooth: the heavy path never runs more than twice in a row at 5:3:1 */
	for (unsigned int i = 2; i < 900; i++)
		g_assert_false(seq[i] == 0 && seq[i - 1] == 0 && seq[i - 2] == 0);
}

static void test_weighted_set_change(void)
{
	static const unsigned int all[] = {0, 1, 2}, no1[] = {0, 2};
	unsigned int w_all[RDP_MAX_PATHS] = {3, 1, 2}, w_no1[RDP_MAX_PATHS] = {3, 0, 2};
	unsigned int seq[1000];
	struct bench b;

	bench_init(&b, all, 3);
	b.load[0].weight = 3;
	b.load[1].weight = 1;
	b.load[2].weight = 2;
	for (unsigned int i = 0; i < 1000; i++) {
		if (i == 301) /* mid-cycle */
			bench_usable(&b, no1, 2);
		if (i == 603)
			bench_usable(&b, all, 3);
		seq[i] = pick(&rdp_selector_weighted, &b, 4096);
	}
	/* exact from the first pick after each change */
	assert_windows(seq, 0, 301, w_all, 6);
	assert_windows(seq, 301, 603, w_no1, 5);
	for (unsigned int i = 301; i < 603; i++)
		g_assert_cmpuint(seq[i], !=, 1);
	assert_windows(seq, 603, 1000, w_all, 6);
}

/* Every removal and return within the first cycles, at 3:1:2 and 5:3:1: credits carried over
 * from the other set would give uneven windows in some of these (e.g. 3:1:2 with path 0 away
 * for one pick after the fifth). */
static void test_weighted_set_change_all(void)
{
	static const unsigned int full[] = {0, 1, 2};
	static const unsigned int weights[2][3] = {{3, 1, 2}, {5, 3, 1}};

	for (unsigned int k = 0; k < 2; k++) {
		unsigned int total = weights[k][0] + weights[k][1] + weights[k][2];

		for (unsigned int gone = 0; gone < 3; gone++) {
			unsigned int w_full[RDP_MAX_PATHS] = {0}, w_less[RDP_MAX_PATHS] = {0};
			unsigned int less[2], nl = 0;

			for (unsigned int id = 0; id < 3; id++) {
				w_full[id] = weights[k][id];
				if (id != gone) {
					less[nl++] = id;
					w_less[id] = weights[k][id];
				}
			}
			for (unsigned int out = 1; out < 12; out++) {
				for (unsigned int back = out + 1; back < out + 12; back++) {
					unsigned int seq[100];
					struct bench b;

					bench_init(&b, full, 3);
					for (unsigned int id = 0; id < 3; id++)
						b.load[id].weight = weights[k][id];
					for (unsigned int i = 0; i < 100; i++) {
						if (i == out)
							bench_usable(&b, less, 2);
						if (i == back)
							bench_usable(&b, full, 3);
						seq[i] = pick(&rdp_selector_weighted, &b, 4096);
					}
					assert_windows(seq, 0, out, w_full, total);
					assert_windows(seq, out, back, w_less,
						       total - weights[k][gone]);
					assert_windows(seq, back, 100, w_full, total);
				}
			}
		}
	}
}

static void test_weighted_extremes(void)
{
	static const unsigned int two[] = {0, 1};
	unsigned int ids[RDP_MAX_PATHS], count[RDP_MAX_PATHS] = {0};
	struct bench b;

	/* a weight of 0 (refused by the configuration) counts as 1, not as never */
	bench_init(&b, two, 2);
	b.load[0].weight = 0;
	for (unsigned int i = 0; i < 10; i++)
		g_assert_cmpuint(pick(&rdp_selector_weighted, &b, 0), ==, i % 2);

	/* the engine's order of the list does not change the sequence */
	for (unsigned int w = 1; w <= 3; w++) {
		static const unsigned int rev[] = {1, 0};
		struct bench c;

		bench_init(&b, two, 2);
		bench_init(&c, rev, 2);
		b.load[0].weight = c.load[0].weight = w;
		for (unsigned int i = 0; i < 20; i++)
			g_assert_cmpuint(pick(&rdp_selector_weighted, &b, 0), ==,
					 pick(&rdp_selector_weighted, &c, 0));
	}

	/* 32 paths at the largest weight: no overflow, each once per 32 picks */
	for (unsigned int i = 0; i < RDP_MAX_PATHS; i++)
		ids[i] = RDP_MAX_PATHS - 1 - i;
	bench_init(&b, ids, RDP_MAX_PATHS);
	for (unsigned int i = 0; i < RDP_MAX_PATHS; i++)
		b.load[i].weight = UINT32_MAX;
	for (unsigned int r = 0; r < 10; r++) {
		memset(count, 0, sizeof(count));
		for (unsigned int i = 0; i < RDP_MAX_PATHS; i++)
			count[pick(&rdp_selector_weighted, &b, 4096)]++;
		for (unsigned int id = 0; id < RDP_MAX_PATHS; id++)
			g_assert_cmpuint(count[id], ==, 1);
	}

	/* nearly equal huge weights: nearly equal shares */
	memset(count, 0, sizeof(count));
	bench_init(&b, two, 2);
	b.load[0].weight = UINT32_MAX;
	b.load[1].weight = UINT32_MAX - 1;
	for (unsigned int i = 0; i < 1000; i++)
		count[pick(&rdp_selector_weighted, &b, 4096)]++;
	g_assert_cmpuint(count[0], ==, 500);
	g_assert_cmpuint(count[1], ==, 500);
}

/* ---- load book-keeping ---- */

static void test_load_accounting(void)
{
	struct rdp_path_load l = {.weight = 1};

	rdp_path_load_start(&l, 4096);
	rdp_path_load_start(&l, 0);
	rdp_path_load_start(&l, 1 << 20);
	g_assert_cmpuint(l.inflight, ==, 3);
	g_assert_cmpuint(l.inflight_bytes, ==, 4096 + (1 << 20));

	rdp_path_load_done(&l, 1 << 20, 2000);
	g_assert_cmpuint(l.inflight, ==, 2);
	g_assert_cmpuint(l.inflight_bytes, ==, 4096);
	rdp_path_load_done(&l, 0, 10);
	rdp_path_load_done(&l, 4096, 100);
	g_assert_cmpuint(l.inflight, ==, 0);
	g_assert_cmpuint(l.inflight_bytes, ==, 0);
	g_assert_cmpuint(l.weight, ==, 1);

	/* a completion without its start does not wrap the counters */
	rdp_path_load_done(&l, 512, 10);
	g_assert_cmpuint(l.inflight, ==, 0);
	g_assert_cmpuint(l.inflight_bytes, ==, 0);

	/* nor does a byte count at the 64-bit limit */
	l.inflight_bytes = UINT64_MAX - 10;
	rdp_path_load_start(&l, 4096);
	g_assert_cmpuint(l.inflight_bytes, ==, UINT64_MAX);
	l.inflight = UINT32_MAX;
	rdp_path_load_start(&l, 0);
	g_assert_cmpuint(l.inflight, ==, UINT32_MAX);
}

/* One command of `bytes` that took `us`. */
static void complete_one(struct rdp_path_load *l, size_t bytes, uint64_t us)
{
	rdp_path_load_start(l, bytes);
	rdp_path_load_done(l, bytes, us);
}

static void assert_near(uint64_t got, double want, double rel)
{
	g_assert_cmpfloat((double)got, >=, want * (1 - rel));
	g_assert_cmpfloat((double)got, <=, want * (1 + rel));
}

static void test_tput_converges(void)
{
	struct rdp_path_load l = {.weight = 1};
	uint64_t prev;

	g_assert_cmpuint(l.tput, ==, 0);
	/* the first timed completion gives the rate at once */
	complete_one(&l, 65536, 1000);
	g_assert_cmpuint(l.tput, ==, 65536000);
	for (unsigned int i = 0; i < 100; i++)
		complete_one(&l, 65536, 1000);
	g_assert_cmpuint(l.tput, ==, 65536000);

	/* the path doubles its speed: the estimate climbs steadily to the new rate */
	prev = l.tput;
	for (unsigned int i = 0; i < 2000; i++) {
		complete_one(&l, 65536, 500);
		g_assert_cmpuint(l.tput, >=, prev);
		prev = l.tput;
	}
	assert_near(l.tput, 131072000.0, 0.001);

	/* and from a wildly wrong estimate it still converges */
	l.tput = 10 * 131072000ull;
	for (unsigned int i = 0; i < 2000; i++)
		complete_one(&l, 65536, 500);
	assert_near(l.tput, 131072000.0, 0.001);
	g_assert_cmpuint(l.inflight, ==, 0);
	g_assert_cmpuint(l.inflight_bytes, ==, 0);
}

static void test_tput_zero_bytes(void)
{
	struct rdp_path_load l = {.weight = 1};

	/* TEST UNIT READY and friends: no transfer, no throughput sample */
	complete_one(&l, 0, 5000);
	g_assert_cmpuint(l.tput, ==, 0);
	complete_one(&l, 65536, 1000);
	for (unsigned int i = 0; i < 1000; i++)
		complete_one(&l, 0, 10000);
	g_assert_cmpuint(l.tput, ==, 65536000);
	complete_one(&l, 0, 0);
	g_assert_cmpuint(l.tput, ==, 65536000);
	g_assert_cmpuint(l.inflight, ==, 0);
}

static void test_tput_zero_latency(void)
{
	struct rdp_path_load l = {.weight = 1};
	uint64_t before;

	/* no timing: the rate stays unknown rather than infinite or guessed */
	complete_one(&l, 4096, 0);
	g_assert_cmpuint(l.tput, ==, 0);
	g_assert_cmpuint(l.inflight, ==, 0);

	/* once known, a 0 us completion nudges it up by at most bytes / window */
	complete_one(&l, 65536, 1000);
	before = l.tput;
	complete_one(&l, 4096, 0);
	g_assert_cmpuint(l.tput, >, before);
	assert_near(l.tput, (double)before, 0.002);

	/* a burst of them adds exactly their bytes over the 50 ms window: 1000 x 4 KiB, 82 MB/s */
	before = l.tput;
	for (unsigned int i = 0; i < 1000; i++)
		complete_one(&l, 4096, 0);
	assert_near(l.tput, (double)before + 1000 * 4096 * 1e6 / 50000, 0.001);

	/* extremes: a measured rate never reads as unknown, and saturates instead of wrapping */
	complete_one(&l, 1, UINT64_MAX);
	g_assert_cmpuint(l.tput, >=, 1);
	l.tput = 0;
	complete_one(&l, SIZE_MAX, 1);
	g_assert_cmpuint(l.tput, ==, UINT64_MAX);
	complete_one(&l, SIZE_MAX, 0);
	g_assert_cmpuint(l.tput, ==, UINT64_MAX);
	l.tput = 0;
	complete_one(&l, 4096, UINT64_MAX / 2); /* a seed far below 1 B/s reads as 1, not unknown */
	g_assert_cmpuint(l.tput, ==, 1);
}

static void test_tput_coarse_clock(void)
{
	struct rdp_path_load l = {.weight = 1};
	const uint64_t tick = 1000, lat = 300; /* a 1 ms clock timing 300 us commands */
	uint64_t now = 0;

	/* back to back, most read 0 us and every third or fourth a whole tick; bytes over time
	 * still comes out at the true rate, 64 KiB / 300 us = 218 MB/s */
	for (unsigned int i = 0; i < 5000; i++) {
		uint64_t start = now / tick * tick;

		now += lat;
		complete_one(&l, 65536, now / tick * tick - start);
		if (i > 1000)
			assert_near(l.tput, 65536 * 1e6 / lat, 0.05);
	}
}

static void test_tput_small_commands(void)
{
	struct rdp_path_load l = {.weight = 1};
	const double large = 1048576.0 * 1e6 / 2000; /* 1 MiB in 2 ms: 524 MB/s */

	for (unsigned int i = 0; i < 100; i++)
		complete_one(&l, 1 << 20, 2000);
	assert_near(l.tput, large, 0.0001);

	/* Mixed in: cache hits (4 KiB in 1 us, 4 GB/s taken alone) and overhead-bound commands
	 * (512 B in 50 us, 10 MB/s alone). Each counts for the time it took, so the estimate stays
	 * at bytes over time (513.9 MB/s) instead of swinging with the last command. */
	for (unsigned int i = 0; i < 1000; i++) {
		complete_one(&l, 1 << 20, 2000);
		assert_near(l.tput, large, 0.05);
		complete_one(&l, 4096, 1);
		assert_near(l.tput, large, 0.05);
		complete_one(&l, 512, 50);
		assert_near(l.tput, large, 0.05);
	}
	assert_near(l.tput, (1048576.0 + 4096 + 512) * 1e6 / 2051, 0.005);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/selector/find", test_find);
	g_test_add_func("/selector/single-path", test_single_path);
	g_test_add_func("/selector/round-robin/share", test_rr_share);
	g_test_add_func("/selector/round-robin/set-change", test_rr_set_change);
	g_test_add_func("/selector/queue-length/share", test_ql_share);
	g_test_add_func("/selector/queue-length/least", test_ql_least);
	g_test_add_func("/selector/queue-length/set-change", test_ql_set_change);
	g_test_add_func("/selector/service-time/tiny-seed", test_st_tiny_seed);
	g_test_add_func("/selector/service-time/equal", test_st_equal);
	g_test_add_func("/selector/service-time/faster", test_st_faster);
	g_test_add_func("/selector/service-time/unknown", test_st_unknown);
	g_test_add_func("/selector/service-time/tie-faster", test_st_tie_faster);
	g_test_add_func("/selector/service-time/extremes", test_st_extremes);
	g_test_add_func("/selector/service-time/set-change", test_st_set_change);
	g_test_add_func("/selector/weighted/share", test_weighted_share);
	g_test_add_func("/selector/weighted/set-change", test_weighted_set_change);
	g_test_add_func("/selector/weighted/set-change-all", test_weighted_set_change_all);
	g_test_add_func("/selector/weighted/extremes", test_weighted_extremes);
	g_test_add_func("/selector/load/accounting", test_load_accounting);
	g_test_add_func("/selector/tput/converges", test_tput_converges);
	g_test_add_func("/selector/tput/zero-bytes", test_tput_zero_bytes);
	g_test_add_func("/selector/tput/zero-latency", test_tput_zero_latency);
	g_test_add_func("/selector/tput/coarse-clock", test_tput_coarse_clock);
	g_test_add_func("/selector/tput/small-commands", test_tput_small_commands);
	return g_test_run();
}
