/* What the unit tests of GLib-loop code share (test-dbus, test-manager, test-netlink): warnings
 * caught from structured logging, which g_test_expect_message() does not see in GLib 2.74, and
 * waiting on the main loop for an asynchronous call, since server and client share one thread. */
#pragma once

#include <gio/gio.h>

#define WAIT_S 20 /* a wait that fails the test after this long */

/* Messages of level WARNING since the last check (char *); set by capture(). */
extern GPtrArray *warnings;
/* A log writer for g_log_set_writer_func(): warnings into `warnings`, all to GLib's default. */
GLogWriterOutput capture(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data);
/* Exactly one warning was logged since the last check, and it matches pattern. */
void assert_warned(const char *pattern);

gboolean set_flag(gpointer p);
/* Iterate the default main context until cond holds; fails the test after WAIT_S. */
#define WAIT_UNTIL(cond)                                                                           \
	do {                                                                                       \
		gboolean timed_out_ = FALSE;                                                       \
		guint t_ = g_timeout_add_seconds(WAIT_S, set_flag, &timed_out_);                   \
		while (!(cond) && !timed_out_)                                                     \
			g_main_context_iteration(NULL, TRUE);                                      \
		if (!timed_out_)                                                                   \
			g_source_remove(t_);                                                       \
		g_assert_true(cond);                                                               \
	} while (0)

/* The result of an asynchronous g_dbus_connection_call() whose callback is call_done. */
struct call_result {
	gboolean done;
	GVariant *reply;
	GError *err;
};
void call_done(GObject *src, GAsyncResult *res, gpointer data);
