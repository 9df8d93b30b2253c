/* See loop-util.h. */
#include <string.h>

#include "loop-util.h"

GPtrArray *warnings;

GLogWriterOutput capture(GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
	(void)data;
	if (level & G_LOG_LEVEL_WARNING) {
		for (gsize i = 0; i < n; i++)
			if (strcmp(fields[i].key, "MESSAGE") == 0)
				g_ptr_array_add(warnings, g_strdup(fields[i].value));
	}
	return g_log_writer_default(level, fields, n, NULL);
}

void assert_warned(const char *pattern)
{
	g_assert_cmpuint(warnings->len, ==, 1);
	if (!g_pattern_match_simple(pattern, g_ptr_array_index(warnings, 0)))
		g_error("warning \"%s\" does not match \"%s\"",
			(char *)g_ptr_array_index(warnings, 0), pattern);
	g_ptr_array_set_size(warnings, 0);
}

gboolean set_flag(gpointer p)
{
	*(gboolean *)p = TRUE;
	return G_SOURCE_REMOVE;
}

void call_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct call_result *r = data;

	r->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &r->err);
	r->done = TRUE;
}
