/* Unit tests for lib/loop.c: the clock (one reading per main-loop iteration inside dispatches, a
 * fresh reading for every call outside them, a new reading in the next iteration) and the fd
 * watch (called when readable, may recurse so GLib does not block it while it dispatches). */
#include <stdint.h>
#include <unistd.h>

#include <glib.h>

#include "rdp.h"

struct seen {
	uint64_t a, b;
	int runs;
};

/* two readings 2 ms apart inside one dispatch */
static gboolean two_readings(gpointer data)
{
	struct seen *s = data;
	s->a = rdp_loop_clock_ns();
	g_usleep(2000);
	s->b = rdp_loop_clock_ns();
	s->runs++;
	return G_SOURCE_REMOVE;
}

static void iterate_once(struct seen *s)
{
	s->runs = 0;
	g_idle_add(two_readings, s);
	while (s->runs == 0)
		g_main_context_iteration(NULL, TRUE);
}

static void test_outside_dispatch(void)
{
	rdp_loop_clock_attach(NULL);
	uint64_t a = rdp_loop_clock_ns();
	g_usleep(2000);
	uint64_t b = rdp_loop_clock_ns();
	g_assert_cmpuint(b - a, >=, 2000000);
	rdp_loop_clock_detach();
}

static void test_one_reading_per_iteration(void)
{
	struct seen first, second;

	rdp_loop_clock_attach(NULL);
	rdp_loop_clock_attach(NULL); /* twice: still one source */
	iterate_once(&first);
	g_assert_cmpuint(first.a, ==, first.b);
	iterate_once(&second);
	g_assert_cmpuint(second.a, ==, second.b);
	/* the 2 ms slept in the first dispatch lie between the two iterations' readings */
	g_assert_cmpuint(second.a - first.a, >=, 2000000);
	rdp_loop_clock_detach();
	rdp_loop_clock_detach();
}

static void test_detached_reads_every_time(void)
{
	struct seen s;
	iterate_once(&s);
	g_assert_cmpuint(s.b - s.a, >=, 2000000);
}

struct watch {
	int fd;
	int calls;
	char got;
};

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct watch *w = data;
	g_assert_cmpint(fd, ==, w->fd);
	g_assert_true(cond & G_IO_IN);
	g_assert_cmpint(read(fd, &w->got, 1), ==, 1);
	w->calls++;
	return G_SOURCE_CONTINUE;
}

static void test_fd_watch(void)
{
	int p[2];
	g_assert_no_errno(pipe(p));
	struct watch w = {.fd = p[0]};
	guint id = rdp_loop_fd_add(p[0], on_readable, &w);
	g_assert_cmpuint(id, >, 0);
	GSource *s = g_main_context_find_source_by_id(NULL, id);
	g_assert_nonnull(s);
	g_assert_true(g_source_get_can_recurse(s));

	/* nothing to read: nothing dispatched */
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(w.calls, ==, 0);
	g_assert_cmpint(write(p[1], "x", 1), ==, 1);
	while (w.calls == 0)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpint(w.calls, ==, 1);
	g_assert_cmpint(w.got, ==, 'x');
	g_assert_cmpint(write(p[1], "y", 1), ==, 1);
	while (w.calls == 1)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpint(w.got, ==, 'y');

	g_source_remove(id);
	g_assert_cmpint(write(p[1], "z", 1), ==, 1);
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(w.calls, ==, 2);
	close(p[0]);
	close(p[1]);
}

static gboolean count_ticks(gpointer data)
{
	int *n = data;
	return ++*n < 3 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void test_tick(void)
{
	int n = 0;
	guint id = rdp_loop_tick_add(5, count_ticks, &n);
	g_assert_cmpuint(id, >, 0);
	g_assert_true(g_source_get_can_recurse(g_main_context_find_source_by_id(NULL, id)));
	while (n < 3)
		g_main_context_iteration(NULL, TRUE);
	/* it removed itself on the third call */
	g_assert_null(g_main_context_find_source_by_id(NULL, id));
	g_assert_cmpint(n, ==, 3);

	/* removed from outside, before it fired */
	n = 0;
	id = rdp_loop_tick_add(1000, count_ticks, &n);
	g_source_remove(id);
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(n, ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/loop-clock/outside-dispatch", test_outside_dispatch);
	g_test_add_func("/loop-clock/one-reading-per-iteration", test_one_reading_per_iteration);
	g_test_add_func("/loop-clock/detached", test_detached_reads_every_time);
	g_test_add_func("/loop/fd-watch", test_fd_watch);
	g_test_add_func("/loop/tick", test_tick);
	return g_test_run();
}
