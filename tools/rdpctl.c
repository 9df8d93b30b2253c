/* rdpctl: the admin's command line for tcmu-rdpd, over its D-Bus interface org.tcmu_rdp.Manager1.
 * Every verb is one row of the table below; the show verbs render the daemon's ListLuns JSON
 * (or print it with --json), the others call one changing method and say what happened. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "manager-iface.h"

#define CALL_TIMEOUT_MS 10000

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

struct ctl {
	GDBusConnection *bus;
	const char *bus_name; /* "system" or "session", for messages */
	gboolean json;
};

struct verb {
	const char *words; /* what the admin types, e.g. "fail path" */
	const char *args;  /* the arguments that follow, space-separated; NULL for none */
	int (*run)(struct ctl *c, const struct verb *v, char **args);
	const char *help;
	const char *denied; /* completes "only root may ..."; NULL for the read-only verbs */
};

/* Output goes through stdio, not g_print(): names are UTF-8 and JSON must reach a pipe byte for
 * byte, whatever the locale's charset. */

/* ---- talking to the daemon ---- */

static const char *short_remote_message(GError *err)
{
	/* "GDBus.Error:org.tcmu_rdp.Error.NotFound: no path sg9; ..." -> "no path sg9; ..." */
	g_dbus_error_strip_remote_error(err);
	return err->message;
}

static void report_call_error(struct ctl *c, const struct verb *v, const char *method, GError *err)
{
	g_autofree char *name = g_dbus_error_get_remote_error(err);

	if (g_strcmp0(name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
	    g_strcmp0(name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0) {
		fprintf(stderr, "rdpctl: tcmu-rdpd is not running (no %s on the %s bus)\n",
			RDP_MANAGER_NAME, c->bus_name);
	} else if (g_strcmp0(name, "org.freedesktop.DBus.Error.AccessDenied") == 0) {
		if (v->denied)
			fprintf(stderr, "rdpctl: only root may %s (run rdpctl as root)\n",
				v->denied);
		else
			fprintf(stderr,
				"rdpctl: %s was refused: %s\n(is the D-Bus policy "
				"org.tcmu_rdp.Manager1.conf installed?)\n",
				method, short_remote_message(err));
	} else if (g_strcmp0(name, "org.freedesktop.DBus.Error.UnknownMethod") == 0 ||
		   g_strcmp0(name, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
		   g_strcmp0(name, "org.freedesktop.DBus.Error.UnknownInterface") == 0) {
		fprintf(stderr,
			"rdpctl: the owner of %s does not offer %s.%s (an older tcmu-rdpd?): %s\n",
			RDP_MANAGER_NAME, RDP_MANAGER_IFACE, method, short_remote_message(err));
	} else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
		   g_strcmp0(name, "org.freedesktop.DBus.Error.NoReply") == 0) {
		fprintf(stderr,
			"rdpctl: tcmu-rdpd did not answer %s within %d s; is it stuck? "
			"(journalctl -u tcmu-rdpd)\n",
			method, CALL_TIMEOUT_MS / 1000);
	} else {
		/* NotFound and the engine's refusals already name what exists or what failed. */
		fprintf(stderr, "rdpctl: %s: %s\n", v->words, short_remote_message(err));
	}
}

static GVariant *call(struct ctl *c, const struct verb *v, const char *method, GVariant *params,
		      const char *reply_type)
{
	g_autoptr(GError) err = NULL;
	GVariant *reply;

	/* No auto-start: rdpctl must not spawn a daemon just to ask it something. */
	reply = g_dbus_connection_call_sync(
	    c->bus, RDP_MANAGER_NAME, RDP_MANAGER_PATH, RDP_MANAGER_IFACE, method, params,
	    G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MS, NULL,
	    &err);
	if (!reply)
		report_call_error(c, v, method, err);
	return reply;
}

/* ---- reading the JSON document; every accessor tolerates a missing member so that an older or
 * newer daemon still shows what it has ---- */

static JsonObject *obj_member(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *array_member(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static guint array_len(JsonArray *a)
{
	return a ? json_array_get_length(a) : 0;
}

static JsonObject *array_obj(JsonArray *a, guint i)
{
	JsonNode *n = json_array_get_element(a, i);

	return JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static gint64 num(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64
		   ? json_node_get_int(n)
		   : 0;
}

static const char *str(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
		   ? json_node_get_string(n)
		   : "-";
}

/* ListLuns, parsed. Returns the root object (owned by *parser) or NULL after an error. */
static JsonObject *list_luns(struct ctl *c, const struct verb *v, JsonParser **parser)
{
	g_autoptr(GVariant) reply = call(c, v, "ListLuns", NULL, "(s)");
	g_autoptr(GError) err = NULL;
	const char *text;
	JsonNode *root;

	if (!reply)
		return NULL;
	*parser = json_parser_new();
	g_variant_get(reply, "(&s)", &text);
	if (!json_parser_load_from_data(*parser, text, -1, &err)) {
		fprintf(stderr,
			"rdpctl: tcmu-rdpd sent ListLuns data that is not JSON (%s); report "
			"this as a bug with the output of --json\n",
			err->message);
		return NULL;
	}
	root = json_parser_get_root(*parser);
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		fprintf(stderr, "rdpctl: tcmu-rdpd's ListLuns is not a JSON object\n");
		return NULL;
	}
	return json_node_get_object(root);
}

/* ---- formatting ---- */

static char *fmt_size(gint64 bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (v == (double)(gint64)v)
		return g_strdup_printf("%" G_GINT64_FORMAT "%c", (gint64)v, units[u]);
	return g_strdup_printf("%.1f%c", v, units[u]);
}

static char *fmt_us(gint64 us)
{
	if (us < 1000)
		return g_strdup_printf("%" G_GINT64_FORMAT "us", us);
	if (us < 1000000)
		return g_strdup_printf("%.1fms", (double)us / 1e3);
	return g_strdup_printf("%.1fs", (double)us / 1e6);
}

/* The checker's view of a path in multipath's words: ready answers and carries I/O, faulty
 * does not answer, testing answered and is proving its identity, ghost answers but is ALUA
 * standby, held failed too often lately and is kept out for a while. */
static const char *checker_word(const char *state)
{
	static const struct {
		const char *state, *word;
	} map[] = {
	    {"active", "ready"},  {"failed", "faulty"}, {"checking", "testing"},
	    {"standby", "ghost"}, {"marginal", "held"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
		if (strcmp(state, map[i].state) == 0)
			return map[i].word;
	return "?";
}

/* A table printed with each column as wide as its widest cell. */
struct table {
	guint ncols;
	GPtrArray *cells; /* row-major, g_free'd */
};

static void table_init(struct table *t, guint ncols)
{
	t->ncols = ncols;
	t->cells = g_ptr_array_new_with_free_func(g_free);
}

/* Append one row: ncols strings (taken, g_malloc'd). */
static void table_row(struct table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	for (guint i = 0; i < t->ncols; i++)
		g_ptr_array_add(t->cells, va_arg(ap, char *));
	va_end(ap);
}

static void table_print(struct table *t, const char *indent)
{
	g_autofree guint *width = g_new0(guint, t->ncols);

	for (guint i = 0; i < t->cells->len; i++)
		width[i % t->ncols] =
		    MAX(width[i % t->ncols], g_utf8_strlen(g_ptr_array_index(t->cells, i), -1));
	for (guint i = 0; i < t->cells->len; i++) {
		const char *cell = g_ptr_array_index(t->cells, i);
		guint col = i % t->ncols;

		if (col == 0)
			printf("%s", indent);
		if (col + 1 == t->ncols) {
			printf("%s\n", cell);
		} else {
			printf("%s", cell);
			for (guint pad = g_utf8_strlen(cell, -1); pad < width[col] + 2; pad++)
				printf(" ");
		}
	}
	g_ptr_array_unref(t->cells);
	t->cells = NULL;
}

static char *i64(gint64 v)
{
	return g_strdup_printf("%" G_GINT64_FORMAT, v);
}

static guint usable_paths(JsonArray *paths)
{
	guint n = 0;

	for (guint i = 0; i < array_len(paths); i++)
		n += strcmp(str(array_obj(paths, i), "state"), "active") == 0;
	return n;
}

/* ---- the verbs ---- */

static int print_json(JsonObject *root)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), root);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree char *text = NULL;

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, TRUE);
	json_generator_set_indent(gen, 2);
	text = json_generator_to_data(gen, NULL);
	printf("%s\n", text);
	return EXIT_OK;
}

/* The show verbs: the daemon's ListLuns, as JSON with --json, else drawn by render (told when
 * there is no LUN, unless it draws its own header anyway). */
static int show_with(struct ctl *c, const struct verb *v, bool say_none,
		     void (*render)(JsonArray *luns))
{
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *root = list_luns(c, v, &parser);

	if (!root)
		return EXIT_ERROR;
	if (c->json)
		return print_json(root);
	JsonArray *luns = array_member(root, "luns");
	if (say_none && !array_len(luns)) {
		printf("no LUNs (create one with targetcli /backstores/user:rdp create ...)\n");
		return EXIT_OK;
	}
	render(luns);
	return EXIT_OK;
}

static void render_luns(JsonArray *luns)
{
	struct table t;

	table_init(&t, 9);
	table_row(&t, g_strdup("NAME"), g_strdup("WWID"), g_strdup("SIZE"), g_strdup("BLOCKS"),
		  g_strdup("PATHS"), g_strdup("GROUP"), g_strdup("INFLIGHT"), g_strdup("CMDS"),
		  g_strdup("FAILOVERS"));
	for (guint i = 0; i < array_len(luns); i++) {
		JsonObject *lun = array_obj(luns, i);
		JsonObject *cap = obj_member(lun, "capacity");
		JsonObject *st = obj_member(lun, "stats");
		JsonArray *paths = array_member(lun, "paths");

		table_row(&t, g_strdup(str(lun, "name")), g_strdup(str(lun, "wwid")),
			  fmt_size(num(cap, "bytes")),
			  g_strdup_printf("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
					  num(cap, "blocks"), num(cap, "block_size")),
			  g_strdup_printf("%u/%u usable", usable_paths(paths), array_len(paths)),
			  g_strdup_printf("%" G_GINT64_FORMAT " of %u", num(lun, "current_group"),
					  array_len(array_member(lun, "groups"))),
			  i64(num(lun, "inflight")), i64(num(st, "cmds")),
			  i64(num(st, "failovers")));
	}
	table_print(&t, "");
}

static void render_paths(JsonArray *luns)
{
	struct table t;

	table_init(&t, 11);
	table_row(&t, g_strdup("LUN"), g_strdup("DEV"), g_strdup("STATE"), g_strdup("CHECKER"),
		  g_strdup("GROUP"), g_strdup("PRIO"), g_strdup("INFLIGHT"), g_strdup("CMDS"),
		  g_strdup("PATH_ERRS"), g_strdup("LAT_MEAN"), g_strdup("REASON"));
	for (guint i = 0; i < array_len(luns); i++) {
		JsonObject *lun = array_obj(luns, i);
		JsonArray *paths = array_member(lun, "paths");

		for (guint j = 0; j < array_len(paths); j++) {
			JsonObject *p = array_obj(paths, j);
			JsonObject *st = obj_member(p, "stats");

			table_row(&t, g_strdup(str(lun, "name")), g_strdup(str(p, "dev")),
				  g_strdup(str(p, "state")),
				  g_strdup(checker_word(str(p, "state"))), i64(num(p, "group")),
				  i64(num(p, "priority")), i64(num(p, "inflight")),
				  i64(num(st, "cmds")), i64(num(st, "path_errors")),
				  fmt_us(num(st, "lat_mean_us")), g_strdup(str(p, "reason")));
		}
	}
	table_print(&t, "");
}

static void print_path_line(JsonObject *p, const char *lead, guint dev_width)
{
	JsonObject *st = obj_member(p, "stats");
	const char *state = str(p, "state");
	g_autofree char *mean = fmt_us(num(st, "lat_mean_us"));

	printf("%s %-*s %-8s %-7s inflight=%" G_GINT64_FORMAT " cmds=%" G_GINT64_FORMAT
	       " path_errors=%" G_GINT64_FORMAT " failovers=%" G_GINT64_FORMAT " lat=%s",
	       lead, (int)dev_width, str(p, "dev"), state, checker_word(state), num(p, "inflight"),
	       num(st, "cmds"), num(st, "path_errors"), num(st, "failovers"), mean);
	/* Why a path is not carrying I/O is what the admin looks for; an active path's reason
	 * ("identity checked at attach") is noise here and stays in show paths. */
	if (strcmp(state, "active") != 0)
		printf(" (%s)", str(p, "reason"));
	printf("\n");
}

/* One LUN drawn like `multipath -ll`: the LUN, then each path group, then its paths. */
static void print_topology(JsonObject *lun)
{
	JsonObject *cap = obj_member(lun, "capacity");
	JsonArray *groups = array_member(lun, "groups");
	JsonArray *paths = array_member(lun, "paths");
	g_autofree char *size = fmt_size(num(cap, "bytes"));
	guint dev_width = 0, ngroups = array_len(groups);

	printf("%s (%s) size=%s blocks=%" G_GINT64_FORMAT " block_size=%" G_GINT64_FORMAT
	       " inflight=%" G_GINT64_FORMAT "\n",
	       str(lun, "name"), str(lun, "wwid"), size, num(cap, "blocks"), num(cap, "block_size"),
	       num(lun, "inflight"));
	for (guint i = 0; i < array_len(paths); i++)
		dev_width = MAX(dev_width, (guint)strlen(str(array_obj(paths, i), "dev")));

	if (ngroups == 0) {
		/* No groups reported: the paths hang off the LUN directly. */
		for (guint i = 0; i < array_len(paths); i++)
			print_path_line(array_obj(paths, i),
					i + 1 == array_len(paths) ? "`-" : "|-", dev_width);
		return;
	}
	for (guint g = 0; g < ngroups; g++) {
		JsonObject *grp = array_obj(groups, g);
		gboolean last_group = g + 1 == ngroups;
		gint64 id = num(grp, "group");
		guint in_group = 0, shown = 0;

		printf("%s group %" G_GINT64_FORMAT " prio=%" G_GINT64_FORMAT " status=%s\n",
		       last_group ? "`-+-" : "|-+-", id, num(grp, "priority"), str(grp, "state"));
		for (guint i = 0; i < array_len(paths); i++)
			in_group += num(array_obj(paths, i), "group") == id;
		for (guint i = 0; i < array_len(paths); i++) {
			JsonObject *p = array_obj(paths, i);
			g_autofree char *lead = NULL;

			if (num(p, "group") != id)
				continue;
			shown++;
			lead = g_strdup_printf("%s %s", last_group ? " " : "|",
					       shown == in_group ? "`-" : "|-");
			print_path_line(p, lead, dev_width);
		}
	}
}

static void render_topology(JsonArray *luns)
{
	for (guint i = 0; i < array_len(luns); i++)
		print_topology(array_obj(luns, i));
}

static void print_lun_stats(JsonObject *lun)
{
	JsonObject *st = obj_member(lun, "stats");
	JsonArray *paths = array_member(lun, "paths");
	g_autofree char *mean = fmt_us(num(st, "lat_mean_us"));
	g_autofree char *max = fmt_us(num(st, "lat_max_us"));
	g_autofree char *waited = fmt_us(num(st, "queue_time_us"));
	struct table t;

	printf("%s (%s)\n", str(lun, "name"), str(lun, "wwid"));
	printf("  commands   %" G_GINT64_FORMAT " received, %" G_GINT64_FORMAT
	       " completed, %" G_GINT64_FORMAT " in flight; latency mean %s, max %s\n",
	       num(st, "cmds"), num(st, "completed"), num(lun, "inflight"), mean, max);
	printf("  errors     %" G_GINT64_FORMAT " returned to the initiator (%" G_GINT64_FORMAT
	       " target errors), %" G_GINT64_FORMAT " failed for want of a path, %" G_GINT64_FORMAT
	       " past the kernel's cmd_time_out\n",
	       num(st, "errors_returned"), num(st, "target_errors"), num(st, "no_path_failed"),
	       num(st, "expired"));
	printf("  paths      %" G_GINT64_FORMAT " failures, %" G_GINT64_FORMAT
	       " recoveries, %" G_GINT64_FORMAT " commands failed over, %" G_GINT64_FORMAT
	       " retries\n",
	       num(st, "path_failures"), num(st, "path_recoveries"), num(st, "failovers"),
	       num(st, "retries"));
	printf("  queued     %" G_GINT64_FORMAT " commands waited for a path, %s in all\n",
	       num(st, "queued"), waited);

	table_init(&t, 12);
	table_row(&t, g_strdup("DEV"), g_strdup("CMDS"), g_strdup("BYTES"), g_strdup("INFLIGHT"),
		  g_strdup("PATH_ERRS"), g_strdup("TGT_ERRS"), g_strdup("RETRIES"),
		  g_strdup("FAILOVERS"), g_strdup("LAT_MEAN"), g_strdup("LAT_MAX"),
		  g_strdup("CHECKS"), g_strdup("TRANSITIONS"));
	for (guint i = 0; i < array_len(paths); i++) {
		JsonObject *p = array_obj(paths, i);
		JsonObject *ps = obj_member(p, "stats");

		table_row(&t, g_strdup(str(p, "dev")), i64(num(ps, "cmds")),
			  fmt_size(num(ps, "bytes")), i64(num(p, "inflight")),
			  i64(num(ps, "path_errors")), i64(num(ps, "target_errors")),
			  i64(num(ps, "retries")), i64(num(ps, "failovers")),
			  fmt_us(num(ps, "lat_mean_us")), fmt_us(num(ps, "lat_max_us")),
			  i64(num(ps, "checks")), i64(num(ps, "transitions")));
	}
	table_print(&t, "  ");
}

static void render_stats(JsonArray *luns)
{
	for (guint i = 0; i < array_len(luns); i++) {
		if (i)
			printf("\n");
		print_lun_stats(array_obj(luns, i));
	}
}

static int show_luns(struct ctl *c, const struct verb *v, char **args)
{
	(void)args;
	return show_with(c, v, true, render_luns);
}

static int show_paths(struct ctl *c, const struct verb *v, char **args)
{
	(void)args;
	return show_with(c, v, false, render_paths);
}

static int show_topology(struct ctl *c, const struct verb *v, char **args)
{
	(void)args;
	return show_with(c, v, true, render_topology);
}

static int show_stats(struct ctl *c, const struct verb *v, char **args)
{
	(void)args;
	return show_with(c, v, true, render_stats);
}

static int fail_path(struct ctl *c, const struct verb *v, char **args)
{
	g_autoptr(GVariant) reply = call(c, v, "FailPath", g_variant_new("(s)", args[0]), "()");

	if (!reply)
		return EXIT_ERROR;
	printf("path %s: failed; it carries no I/O until 'rdpctl reinstate path %s'\n", args[0],
	       args[0]);
	return EXIT_OK;
}

static int reinstate_path(struct ctl *c, const struct verb *v, char **args)
{
	g_autoptr(GVariant) reply =
	    call(c, v, "ReinstatePath", g_variant_new("(s)", args[0]), "()");

	if (!reply)
		return EXIT_ERROR;
	printf("path %s: reinstated; it carries I/O again once the checker has seen it answer "
	       "with the LUN's identity\n",
	       args[0]);
	return EXIT_OK;
}

static int switch_group(struct ctl *c, const struct verb *v, char **args)
{
	g_autoptr(GVariant) reply = NULL;
	guint64 group;

	if (!g_ascii_string_to_unsigned(args[1], 10, 0, G_MAXUINT32, &group, NULL)) {
		fprintf(stderr,
			"rdpctl: switch-group: the group is a number (0 is the best group, see "
			"'rdpctl show topology'), not '%s'\n",
			args[1]);
		return EXIT_USAGE;
	}
	reply = call(c, v, "SwitchGroup", g_variant_new("(su)", args[0], (guint32)group), "()");
	if (!reply)
		return EXIT_ERROR;
	printf("LUN %s: switched to path group %" G_GUINT64_FORMAT "\n", args[0], group);
	return EXIT_OK;
}

static int reload(struct ctl *c, const struct verb *v, char **args)
{
	g_autoptr(GVariant) reply = call(c, v, "Reload", NULL, "(s)");
	const char *msg;

	(void)args;
	if (!reply)
		return EXIT_ERROR;
	g_variant_get(reply, "(&s)", &msg);
	printf("%s\n", msg);
	return EXIT_OK;
}

static const struct verb verbs[] = {
    {"show luns", NULL, show_luns, "each LUN: identity, size, usable paths, group in use", NULL},
    {"show paths", NULL, show_paths, "each path: state, group, priority, load, last reason", NULL},
    {"show topology", NULL, show_topology, "LUNs, path groups and paths as a tree", NULL},
    {"show stats", NULL, show_stats, "every counter of each LUN and path", NULL},
    {"fail path", "PATH", fail_path, "take a path out of use until reinstated (root)",
     "fail paths"},
    {"reinstate path", "PATH", reinstate_path, "let a failed path back once it checks out (root)",
     "reinstate paths"},
    {"switch-group", "LUN GROUP", switch_group, "send a LUN's I/O to another path group (root)",
     "switch path groups"},
    {"reload", NULL, reload, "re-read the configuration file (root)", "reload the configuration"},
};
static const size_t n_verbs = G_N_ELEMENTS(verbs);

/* ---- command line ---- */

static char *verb_synopsis(const struct verb *v)
{
	return g_strdup_printf("%s%s%s", v->words, v->args ? " " : "", v->args ? v->args : "");
}

static char *commands_help(void)
{
	GString *s = g_string_new("Commands:\n");

	for (size_t i = 0; i < n_verbs; i++) {
		g_autofree char *syn = verb_synopsis(&verbs[i]);

		g_string_append_printf(s, "  %-26s %s\n", syn, verbs[i].help);
	}
	g_string_append(s, "\nPATH is a device as the LUN lists it (sg1 or /dev/sg1). GROUP 0 is "
			   "the best group.\n--json makes every show command print the daemon's "
			   "JSON document.\nExit status: 0 done, 1 error, 2 usage.\n");
	return g_string_free(s, FALSE);
}

G_GNUC_PRINTF(1, 2)
static int usage_error(const char *fmt, ...)
{
	g_autofree char *help = commands_help();
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "rdpctl: %s", msg);
	fprintf(stderr, "\n\nUsage: rdpctl [--json] [--bus system|session] COMMAND\n\n%s", help);
	return EXIT_USAGE;
}

/* The verb whose words start argv, or NULL; *nwords says how many words it took. */
static const struct verb *find_verb(int argc, char **argv, int *nwords)
{
	for (size_t i = 0; i < n_verbs; i++) {
		g_auto(GStrv) words = g_strsplit(verbs[i].words, " ", -1);
		int n = (int)g_strv_length(words), k;

		if (n > argc)
			continue;
		for (k = 0; k < n && strcmp(words[k], argv[k]) == 0; k++)
			;
		if (k == n) {
			*nwords = n;
			return &verbs[i];
		}
	}
	return NULL;
}

static int count_args(const struct verb *v)
{
	g_auto(GStrv) args = v->args ? g_strsplit(v->args, " ", -1) : NULL;

	return args ? (int)g_strv_length(args) : 0;
}

int main(int argc, char **argv)
{
	g_autofree char *bus_opt = NULL;
	g_autofree char *help = commands_help();
	g_autoptr(GOptionContext) ctx = g_option_context_new("COMMAND [ARG...]");
	g_autoptr(GError) err = NULL;
	struct ctl c = {0};
	GOptionEntry entries[] = {
	    {"json", 'j', 0, G_OPTION_ARG_NONE, &c.json,
	     "show commands print the daemon's JSON document", NULL},
	    {"bus", 0, 0, G_OPTION_ARG_STRING, &bus_opt,
	     "system (default) or session (tests); also RDPCTL_BUS", "BUS"},
	    G_OPTION_ENTRY_NULL,
	};
	const struct verb *v;
	GBusType type;
	int nwords, nargs, rc;

	g_option_context_set_summary(ctx,
				     "Show and steer tcmu-rdpd, the Redundant Data Path "
				     "gateway, through its D-Bus interface " RDP_MANAGER_IFACE ".");
	g_option_context_set_description(ctx, help);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err))
		return usage_error("%s", err->message);
	if (argc < 2)
		return usage_error("%s", "no command given");

	v = find_verb(argc - 1, argv + 1, &nwords);
	if (!v) {
		g_autofree char *typed = g_strjoinv(" ", argv + 1);

		return usage_error("unknown command '%s'", typed);
	}
	nargs = argc - 1 - nwords;
	if (nargs != count_args(v)) {
		g_autofree char *syn = verb_synopsis(v);

		return usage_error("%s takes %s; usage: rdpctl %s", v->words,
				   v->args ? v->args : "no argument", syn);
	}

	if (!bus_opt && g_getenv("RDPCTL_BUS"))
		bus_opt = g_strdup(g_getenv("RDPCTL_BUS"));
	if (!bus_opt || strcmp(bus_opt, "system") == 0) {
		type = G_BUS_TYPE_SYSTEM;
		c.bus_name = "system";
	} else if (strcmp(bus_opt, "session") == 0) {
		type = G_BUS_TYPE_SESSION;
		c.bus_name = "session";
	} else {
		return usage_error("--bus (or RDPCTL_BUS) is system or session, not '%s'", bus_opt);
	}
	c.bus = g_bus_get_sync(type, NULL, &err);
	if (!c.bus) {
		fprintf(stderr, "rdpctl: cannot connect to the %s bus: %s\n(is dbus running?)\n",
			c.bus_name, err->message);
		return EXIT_ERROR;
	}
	rc = v->run(&c, v, argv + 1 + nwords);
	g_object_unref(c.bus);
	return rc;
}
