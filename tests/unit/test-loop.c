/* Unit tests for lib/loop.c: the clock (one reading per main-loop iteration inside dispatches, a
 * fresh reading for every call outside them, a new reading in the next iteration) and the fd
 * watch (called when readable, may recurse so GLib does not block it while it dispatches). */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include <librdp/rdp.h>

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

static void count_call(void *data)
{
	++*(int *)data;
}

static gboolean arm_it(gpointer data)
{
	rdp_loop_deferred_arm(data);
	rdp_loop_deferred_arm(data); /* twice in one iteration: one call */
	return G_SOURCE_REMOVE;
}

/* Armed in a dispatch, it runs before the next poll() of the loop: the iteration that follows
 * finds nothing to dispatch (an idle source would be dispatched there: one more iteration with
 * a poll() that returns at once). */
static void test_deferred(void)
{
	int n = 0;
	struct rdp_deferred *d = rdp_loop_deferred_new(count_call, &n);
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(n, ==, 0); /* not armed: not called */

	g_idle_add(arm_it, d);
	g_assert_true(g_main_context_iteration(NULL, FALSE)); /* dispatches the idle: arms */
	g_assert_cmpint(n, ==, 0);
	g_assert_true(rdp_loop_deferred_armed(d));
	g_assert_false(g_main_context_iteration(NULL, FALSE)); /* runs in prepare; no dispatch */
	g_assert_cmpint(n, ==, 1);
	g_assert_false(rdp_loop_deferred_armed(d));
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(n, ==, 1);

	/* freed while armed: never called */
	rdp_loop_deferred_arm(d);
	rdp_loop_deferred_free(d);
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(n, ==, 1);
}

struct file_read_state {
	int calls;
	char text[32];
	bool failed;
};

static void on_file_read(const char *text, const GError *err, void *data)
{
	struct file_read_state *st = data;
	st->calls++;
	st->failed = text == NULL;
	g_assert_true((text == NULL) == (err != NULL));
	if (text)
		g_strlcpy(st->text, text, sizeof(st->text));
}

static gboolean set_flag(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

/* the loop turns for ms while whatever is pending goes on */
static void turn_for(unsigned int ms)
{
	bool done = false;
	g_timeout_add(ms, set_flag, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
}

/* A file whose open() blocks (a FIFO with no writer, as an attribute of a configfs directory
 * being removed): the loop goes on turning, and the text arrives once the file can be read. A
 * read cancelled meanwhile never calls back. */
static void test_read_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("rdp-read-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_autofree char *fifo = g_build_filename(dir, "cmd_time_out", NULL);
	g_autofree char *fifo2 = g_build_filename(dir, "other", NULL);
	g_assert_no_errno(mkfifo(fifo, 0600));
	g_assert_no_errno(mkfifo(fifo2, 0600));

	struct file_read_state st = {0}, st2 = {0};
	struct rdp_file_read *r = rdp_loop_read_file(fifo, on_file_read, &st);
	g_assert_nonnull(r);
	struct rdp_file_read *r2 = rdp_loop_read_file(fifo2, on_file_read, &st2);
	turn_for(100); /* the open is blocked: the loop turned all the same */
	g_assert_cmpint(st.calls, ==, 0);
	rdp_loop_read_cancel(r2);

	int fd = open(fifo, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "30\n", 3), ==, 3);
	close(fd);
	fd = open(fifo2, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "45\n", 3), ==, 3);
	close(fd);
	for (int i = 0; i < 100 && st.calls == 0; i++)
		turn_for(10);
	g_assert_cmpint(st.calls, ==, 1);
	g_assert_cmpstr(st.text, ==, "30");
	turn_for(200); /* the cancelled one has come back by now, silently */
	g_assert_cmpint(st2.calls, ==, 0);

	/* a file that is not there: called back with an error */
	memset(&st, 0, sizeof(st));
	g_autofree char *none = g_build_filename(dir, "gone", NULL);
	rdp_loop_read_file(none, on_file_read, &st);
	for (int i = 0; i < 100 && st.calls == 0; i++)
		turn_for(10);
	g_assert_cmpint(st.calls, ==, 1);
	g_assert_true(st.failed);

	g_assert_no_errno(unlink(fifo));
	g_assert_no_errno(unlink(fifo2));
	g_assert_no_errno(rmdir(dir));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/loop-clock/outside-dispatch", test_outside_dispatch);
	g_test_add_func("/loop-clock/one-reading-per-iteration", test_one_reading_per_iteration);
	g_test_add_func("/loop-clock/detached", test_detached_reads_every_time);
	g_test_add_func("/loop/fd-watch", test_fd_watch);
	g_test_add_func("/loop/tick", test_tick);
	g_test_add_func("/loop/deferred", test_deferred);
	g_test_add_func("/loop/read-file", test_read_file);
	return g_test_run();
}
