/* Event-loop glue for the data path, both about what one main-loop iteration costs
 * (docs/performance.md):
 * - the engine's clock in the daemon: one reading of the monotonic clock per iteration, shared by
 *   everything that iteration dispatches (ring walk, sg completions, kicks). Where the
 *   clocksource has no vDSO (HPET, as in a TCG guest) every reading is a system call and an
 *   emulated device access. A reading taken after poll() returned is what "now" means for
 *   everything that poll() reported, so statistics lose nothing that was measurable.
 * - fd watches that do not wake the loop they run in: see rdp_loop_fd_add();
 * - a periodic tick on a timerfd: a GLib timeout makes every iteration read the clock twice
 *   (prepare and check), whether or not it is due; a timerfd is one more fd in poll();
 * - work deferred to the end of an iteration (the ring's kick, shared by all the completions
 *   of the iteration) without an iteration of its own: see rdp_loop_deferred_new();
 * - reads of configfs attributes that never block the loop: see rdp_loop_read_file(). */
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include <librdp/rdp.h>

struct loop_clock {
	GSource s;
};

static uint64_t cached_us;
static bool fresh;
static GSource *clock_source;

static gboolean lc_prepare(GSource *s, gint *timeout)
{
	*timeout = -1;
	fresh = false;
	return FALSE;
}

/* called after every poll, before any dispatch of the iteration */
static gboolean lc_check(GSource *s)
{
	fresh = false;
	return FALSE;
}

static GSourceFuncs lc_funcs = {
	.prepare = lc_prepare,
	.check = lc_check,
};

void rdp_loop_clock_attach(GMainContext *ctx)
{
	if (clock_source)
		return;
	clock_source = g_source_new(&lc_funcs, sizeof(struct loop_clock));
	g_source_set_name(clock_source, "rdp-loop-clock");
	/* before every other source: its check must run ahead of their dispatches */
	g_source_set_priority(clock_source, G_PRIORITY_HIGH);
	g_source_attach(clock_source, ctx);
}

void rdp_loop_clock_detach(void)
{
	if (!clock_source)
		return;
	g_source_destroy(clock_source);
	g_source_unref(clock_source);
	clock_source = NULL;
	fresh = false;
}

void rdp_loop_clock_invalidate(void)
{
	/* from the loop's own dispatches only: an attach probes from a worker thread, whose
	 * readings never use the cache (rdp_loop_clock_ns() outside a dispatch) */
	if (g_main_current_source())
		fresh = false;
}

uint64_t rdp_loop_clock_ns(void)
{
	/* outside a dispatch (start-up, a probe loop) time must move between two calls */
	if (!clock_source || !g_main_current_source())
		return (uint64_t)g_get_monotonic_time() * 1000;
	if (!fresh) {
		cached_us = (uint64_t)g_get_monotonic_time();
		fresh = true;
	}
	return cached_us * 1000;
}

/* GLib (2.74) blocks a source while it dispatches unless it may recurse, which takes its fds out
 * of the poll set and puts them back, and each of the two signals the context's wakeup eventfd:
 * two write()s per dispatch, and the next poll() returns at once for the eventfd, one more idle
 * iteration. Nothing here runs a nested main loop from these callbacks, so they may recurse. */
guint rdp_loop_fd_add(int fd, GUnixFDSourceFunc fn, gpointer data)
{
	GSource *s = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_can_recurse(s, TRUE);
	g_source_set_callback(s, (GSourceFunc)(void (*)(void))fn, data, NULL);
	guint id = g_source_attach(s, NULL);
	g_source_unref(s);
	return id;
}

struct tick_source {
	GSource s;
	int fd;
};

static gboolean tick_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
	struct tick_source *t = (struct tick_source *)s;
	uint64_t expirations;

	/* ticks missed while the loop was busy are not made up for: the callback looks at the clock */
	if (read(t->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		g_warning("tick timerfd: %s", g_strerror(errno));
	return cb ? cb(data) : G_SOURCE_REMOVE;
}

static void tick_finalize(GSource *s)
{
	close(((struct tick_source *)s)->fd);
}

static GSourceFuncs tick_funcs = {
	.dispatch = tick_dispatch,
	.finalize = tick_finalize,
};

guint rdp_loop_tick_add(unsigned int ms, GSourceFunc fn, gpointer data)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		g_warning("timerfd_create: %s; using a GLib timeout", g_strerror(errno));
		return g_timeout_add(ms, fn, data);
	}
	struct timespec every = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	struct itimerspec its = {.it_interval = every, .it_value = every};
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		g_warning("timerfd_settime: %s; using a GLib timeout", g_strerror(errno));
		close(fd);
		return g_timeout_add(ms, fn, data);
	}
	GSource *s = g_source_new(&tick_funcs, sizeof(struct tick_source));
	((struct tick_source *)s)->fd = fd;
	g_source_set_name(s, "rdp-tick");
	g_source_add_unix_fd(s, fd, G_IO_IN);
	g_source_set_can_recurse(s, TRUE);
	g_source_set_callback(s, fn, data, NULL);
	guint id = g_source_attach(s, NULL);
	g_source_unref(s);
	return id;
}

/* The next iteration's prepare phase runs right after this one's dispatches and before its
 * poll(): that is where deferred work goes. At G_PRIORITY_HIGH it is prepared ahead of every
 * source of ours and GLib's defaults (GLib stops preparing lower priorities once a higher one
 * is ready). Never ready itself: it is never dispatched. */
struct rdp_deferred {
	GSource s;
	bool armed;
	void (*fn)(void *data);
	void *data;
};

static gboolean deferred_prepare(GSource *s, gint *timeout)
{
	struct rdp_deferred *d = (struct rdp_deferred *)s;
	*timeout = -1;
	if (d->armed) {
		d->armed = false;
		d->fn(d->data);
	}
	return FALSE;
}

static gboolean deferred_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs deferred_funcs = {
	.prepare = deferred_prepare,
	.dispatch = deferred_dispatch,
};

struct rdp_deferred *rdp_loop_deferred_new(void (*fn)(void *data), void *data)
{
	GSource *s = g_source_new(&deferred_funcs, sizeof(struct rdp_deferred));
	struct rdp_deferred *d = (struct rdp_deferred *)s;
	d->fn = fn;
	d->data = data;
	g_source_set_name(s, "rdp-deferred");
	g_source_set_priority(s, G_PRIORITY_HIGH);
	g_source_attach(s, NULL);
	return d;
}

void rdp_loop_deferred_arm(struct rdp_deferred *d)
{
	d->armed = true;
}

bool rdp_loop_deferred_armed(const struct rdp_deferred *d)
{
	return d->armed;
}

void rdp_loop_deferred_free(struct rdp_deferred *d)
{
	if (!d)
		return;
	g_source_destroy(&d->s);
	g_source_unref(&d->s);
}

struct rdp_file_read {
	char *path;
	rdp_file_read_fn fn;
	void *data;
	bool cancelled;
};

static void read_file_thread(GTask *task, gpointer source, gpointer data, GCancellable *c)
{
	struct rdp_file_read *r = data;
	char *text = NULL;
	GError *err = NULL;
	if (g_file_get_contents(r->path, &text, NULL, &err))
		g_task_return_pointer(task, g_strstrip(text), g_free);
	else
		g_task_return_error(task, err);
}

/* on the loop, where cancel runs too: no lock needed for the flag */
static void read_file_done(GObject *source, GAsyncResult *res, gpointer data)
{
	struct rdp_file_read *r = data;
	GError *err = NULL;
	char *text = g_task_propagate_pointer(G_TASK(res), &err);
	if (!r->cancelled)
		r->fn(text, err, r->data);
	g_free(text);
	g_clear_error(&err);
	g_free(r->path);
	g_free(r);
}

struct rdp_file_read *rdp_loop_read_file(const char *path, rdp_file_read_fn fn, void *data)
{
	struct rdp_file_read *r = g_new0(struct rdp_file_read, 1);
	r->path = g_strdup(path);
	r->fn = fn;
	r->data = data;
	GTask *t = g_task_new(NULL, NULL, read_file_done, r);
	g_task_set_task_data(t, r, NULL);
	g_task_run_in_thread(t, read_file_thread);
	g_object_unref(t);
	return r;
}

void rdp_loop_read_cancel(struct rdp_file_read *r)
{
	if (r)
		r->cancelled = true;
}
