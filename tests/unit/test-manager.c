/* Tests of handler/manager.c (org.tcmu_rdp.Manager1) on a private bus (GTestDBus), over the real
 * engine with fake paths: the ListLuns JSON, the changing methods and their errors, the uid
 * check, an answer while a path holds a command; then rdpctl itself (env RDPCTL) on that bus. */
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <scsi/sg_unaligned.h>

#include "fake-backend.h"
#include <librdp/rdp.h>
#include "../../handler/manager.h"
#include "loop-util.h"

#define WWID_A "naa.33333330000007d0"
#define WWID_B "naa.33333330000007d1"
/* A LUN name that JSON must escape (quote, backslash, control character) and non-ASCII. */
#define ODD_NAME "odd \"lun\"\\\t\xc3\xa9"

static const struct rdp_env env = {
    .size = sizeof(struct rdp_env), .backend = &fake_backend, .now_ns = fake_clock};

static GVariant *call_on(GDBusConnection *c, const char *iface, const char *method,
			 GVariant *params, const char *reply_type, GError **err)
{
	struct call_result r = {0};

	g_dbus_connection_call(c, RDP_MANAGER_NAME, RDP_MANAGER_PATH, iface, method, params,
			       reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
			       G_DBUS_CALL_FLAGS_NONE, WAIT_S * 1000, NULL, call_done, &r);
	WAIT_UNTIL(r.done);
	if (r.err)
		g_propagate_error(err, r.err);
	return r.reply;
}

/* ---- fixture: two LUNs over three fake paths, a private bus, the manager ---- */

struct fixture {
	GTestDBus *bus;
	GDBusConnection *server, *client;
	GPtrArray *luns; /* struct rdp_lun *, closed at tear-down */
	struct rdp_lun *lun0;
	struct rdp_manager *m;
	struct rdp_manager_ops ops;
	/* what the daemon's callbacks saw / answer */
	gboolean allow;
	int seen_uid;
	unsigned int reloads;
	gboolean reload_fails;
};

static GPtrArray *get_luns(void *ud)
{
	struct fixture *f = ud;

	return g_ptr_array_ref(f->luns);
}

static gboolean do_reload(void *ud, char **message, GError **err)
{
	struct fixture *f = ud;

	f->reloads++;
	if (f->reload_fails) {
		g_set_error(
		    err, RDP_ERROR, RDP_ERROR_INVALID,
		    "/etc/tcmu-rdp/tcmu-rdp.conf: [lun0] selector: unknown value 'fastest'");
		return FALSE;
	}
	*message = g_strdup("configuration reloaded: 2 LUNs, nothing changed");
	return TRUE;
}

static gboolean caller_allowed(void *ud, uid_t uid)
{
	struct fixture *f = ud;

	f->seen_uid = (int)uid;
	return f->allow;
}

static GDBusConnection *connect_bus(struct fixture *f)
{
	g_autoptr(GError) err = NULL;
	GDBusConnection *c = g_dbus_connection_new_for_address_sync(
	    g_test_dbus_get_bus_address(f->bus),
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &err);

	g_assert_no_error(err);
	return c;
}

static struct rdp_lun *open_lun(const char *name, const char *const *paths,
				unsigned int *priorities)
{
	struct rdp_lun_spec spec = {
	    .name = (char *)name,
	    .paths = (char **)paths,
	    .cmd_timeout_ms = 30000,
	    .checker_interval_ms = 1000,
	    .max_retries = 3,
	    .grouping = RDP_GROUP_PRIORITY,
	    .failback = RDP_FAILBACK_MANUAL,
	    .priorities = priorities,
	};
	g_autoptr(GError) err = NULL;
	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);

	g_assert_no_error(err);
	g_assert_nonnull(lun);
	return lun;
}

static void start_manager(struct fixture *f)
{
	g_autoptr(GError) err = NULL;

	f->m = rdp_manager_start(f->server, &f->ops, f, &err);
	g_assert_no_error(err);
	g_assert_nonnull(f->m);
	WAIT_UNTIL(rdp_manager_owns_name(f->m));
}

static void stop_manager(struct fixture *f)
{
	rdp_manager_stop(f->m);
	f->m = NULL;
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void fixture_set_up(struct fixture *f, gconstpointer data)
{
	static const char *const paths0[] = {"sg0", "sg1", NULL};
	static const char *const paths1[] = {"/dev/sg2", NULL};
	static unsigned int prio0[] = {50, 10};
	static unsigned int prio1[] = {1};

	(void)data;
	memset(f, 0, sizeof(*f));
	fake_reset();
	fake_dev_add("sg0", WWID_A);
	fake_dev_add("sg1", WWID_A);
	fake_dev_add("/dev/sg2", WWID_B)->blocks = 1u << 21;
	f->luns = g_ptr_array_new();
	f->lun0 = open_lun("lun0", paths0, prio0);
	g_ptr_array_add(f->luns, f->lun0);
	g_ptr_array_add(f->luns, open_lun(ODD_NAME, paths1, prio1));

	f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(f->bus);
	f->server = connect_bus(f);
	f->client = connect_bus(f);
	f->ops.luns = get_luns;
	f->ops.reload = do_reload;
	f->allow = TRUE;
	f->seen_uid = -1;
	start_manager(f);
}

static void close_conn(GDBusConnection *c)
{
	g_dbus_connection_close_sync(c, NULL, NULL);
	g_object_unref(c);
}

static void fixture_tear_down(struct fixture *f, gconstpointer data)
{
	(void)data;
	if (f->m)
		stop_manager(f);
	close_conn(f->client);
	close_conn(f->server);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_test_dbus_down(f->bus);
	g_object_unref(f->bus);
	while (fake_complete_all())
		;
	for (guint i = 0; i < f->luns->len; i++) {
		g_assert_cmpuint(rdp_lun_inflight(g_ptr_array_index(f->luns, i)), ==, 0);
		rdp_lun_close(g_ptr_array_index(f->luns, i));
	}
	g_ptr_array_unref(f->luns);
	fake_reset();
}

/* ---- reading ListLuns ---- */

static JsonParser *list_luns(struct fixture *f, JsonObject **root)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply =
	    call_on(f->client, RDP_MANAGER_IFACE, "ListLuns", NULL, "(s)", &err);
	JsonParser *parser = json_parser_new();
	const char *text;

	g_assert_no_error(err);
	g_variant_get(reply, "(&s)", &text);
	json_parser_load_from_data(parser, text, -1, &err);
	g_assert_no_error(err);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	*root = json_node_get_object(json_parser_get_root(parser));
	return parser;
}

static JsonObject *find_lun(JsonObject *root, const char *name)
{
	JsonArray *luns = json_object_get_array_member(root, "luns");

	for (guint i = 0; i < json_array_get_length(luns); i++) {
		JsonObject *lun = json_array_get_object_element(luns, i);

		if (strcmp(json_object_get_string_member(lun, "name"), name) == 0)
			return lun;
	}
	g_error("LUN %s not in ListLuns", name);
}

static JsonObject *find_path(JsonObject *lun, const char *dev)
{
	JsonArray *paths = json_object_get_array_member(lun, "paths");

	for (guint i = 0; i < json_array_get_length(paths); i++) {
		JsonObject *p = json_array_get_object_element(paths, i);

		if (strcmp(json_object_get_string_member(p, "dev"), dev) == 0)
			return p;
	}
	g_error("path %s not in ListLuns", dev);
}

static const char *path_state(struct fixture *f, const char *dev)
{
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *root;

	parser = list_luns(f, &root);
	/* interned: the parser goes away with this frame */
	return g_intern_string(
	    json_object_get_string_member(find_path(find_lun(root, "lun0"), dev), "state"));
}

static struct rdp_path *engine_path(struct rdp_lun *lun, const char *dev)
{
	for (unsigned int i = 0; i < rdp_lun_path_count(lun); i++)
		if (strcmp(rdp_path_dev(rdp_lun_path(lun, i)), dev) == 0)
			return rdp_lun_path(lun, i);
	g_error("no engine path %s", dev);
}

/* ---- commands through the engine, so the counters are not all zero ---- */

struct tcmd {
	struct rdp_cmd c;
	uint8_t buf[4096];
	struct iovec iov;
	bool done;
};

static void tcmd_done(struct rdp_cmd *c)
{
	((struct tcmd *)c)->done = true;
}

static void submit_read(struct rdp_lun *lun, struct tcmd *t)
{
	memset(t, 0, sizeof(*t));
	t->c.cdb[0] = 0x28; /* READ(10) of 8 blocks at LBA 0 */
	t->c.cdb_len = 10;
	sg_put_unaligned_be16(8, t->c.cdb + 7);
	t->iov.iov_base = t->buf;
	t->iov.iov_len = sizeof(t->buf);
	t->c.iov = &t->iov;
	t->c.iov_cnt = 1;
	t->c.xfer_len = sizeof(t->buf);
	t->c.done = tcmd_done;
	rdp_lun_submit(lun, &t->c);
}

static void assert_dbus_error(GError *err, const char *name, const char *pattern)
{
	g_autofree char *remote = NULL;

	g_assert_nonnull(err);
	remote = g_dbus_error_get_remote_error(err);
	g_assert_cmpstr(remote, ==, name);
	g_dbus_error_strip_remote_error(err);
	if (!g_pattern_match_simple(pattern, err->message))
		g_error("error \"%s\" does not match \"%s\"", err->message, pattern);
}

/* ---- the interface ---- */

static void test_list(struct fixture *f, gconstpointer data)
{
	g_autoptr(JsonParser) parser = NULL;
	struct tcmd t[4];
	JsonObject *root, *lun, *cap, *st, *p, *ps, *g;
	JsonArray *groups;
	const struct rdp_lun_stats *ls;
	const struct rdp_path_stats *s0;

	(void)data;
	for (int i = 0; i < 4; i++)
		submit_read(f->lun0, &t[i]);
	while (fake_complete_all())
		;
	for (int i = 0; i < 4; i++)
		g_assert_true(t[i].done);

	parser = list_luns(f, &root);
	g_assert_cmpstr(json_object_get_string_member(root, "version"), ==, RDP_VERSION);
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(root, "luns")), ==, 2);

	lun = find_lun(root, "lun0");
	g_assert_cmpstr(json_object_get_string_member(lun, "wwid"), ==, WWID_A);
	cap = json_object_get_object_member(lun, "capacity");
	g_assert_cmpint(json_object_get_int_member(cap, "blocks"), ==, 524288);
	g_assert_cmpint(json_object_get_int_member(cap, "block_size"), ==, 512);
	g_assert_cmpint(json_object_get_int_member(cap, "bytes"), ==, 256 << 20);
	g_assert_cmpint(json_object_get_int_member(lun, "current_group"), ==, 0);
	g_assert_cmpint(json_object_get_int_member(lun, "inflight"), ==, 0);

	ls = rdp_lun_stats(f->lun0);
	st = json_object_get_object_member(lun, "stats");
	g_assert_cmpint(ls->cmds, >=, 4);
	g_assert_cmpint(json_object_get_int_member(st, "cmds"), ==, ls->cmds);
	g_assert_cmpint(json_object_get_int_member(st, "completed"), ==, ls->completed);
	g_assert_cmpint(json_object_get_int_member(st, "failovers"), ==, ls->failovers);
	g_assert_cmpint(json_object_get_int_member(st, "lat_mean_us"), ==,
			ls->completed ? ls->lat_sum_us / ls->completed : 0);
	g_assert_true(json_object_has_member(st, "no_path_failed"));

	/* priorities 50 and 10: two groups, the better one in use */
	groups = json_object_get_array_member(lun, "groups");
	g_assert_cmpuint(json_array_get_length(groups), ==, 2);
	g = json_array_get_object_element(groups, 0);
	g_assert_cmpint(json_object_get_int_member(g, "group"), ==, 0);
	g_assert_cmpint(json_object_get_int_member(g, "priority"), ==, 50);
	g_assert_cmpstr(json_object_get_string_member(g, "state"), ==, "active");
	g_assert_cmpint(json_object_get_int_member(g, "usable_paths"), ==, 1);
	g = json_array_get_object_element(groups, 1);
	g_assert_cmpint(json_object_get_int_member(g, "priority"), ==, 10);
	g_assert_cmpstr(json_object_get_string_member(g, "state"), ==, "enabled");

	p = find_path(lun, "sg0");
	s0 = rdp_path_stats(engine_path(f->lun0, "sg0"));
	g_assert_cmpstr(json_object_get_string_member(p, "state"), ==, "active");
	g_assert_cmpstr(json_object_get_string_member(p, "reason"), ==,
			rdp_path_reason(engine_path(f->lun0, "sg0")));
	g_assert_cmpint(json_object_get_int_member(p, "group"), ==, 0);
	g_assert_cmpint(json_object_get_int_member(p, "priority"), ==, 50);
	g_assert_cmpint(json_object_get_int_member(p, "inflight"), ==, 0);
	ps = json_object_get_object_member(p, "stats");
	g_assert_cmpint(s0->cmds, >=, 4); /* group 0 has one path: it carried every READ */
	g_assert_cmpint(json_object_get_int_member(ps, "cmds"), ==, s0->cmds);
	g_assert_cmpint(json_object_get_int_member(ps, "bytes"), ==, s0->bytes);
	g_assert_cmpint(json_object_get_int_member(ps, "lat_mean_us"), ==,
			s0->cmds > s0->inflight ? s0->lat_sum_us / (s0->cmds - s0->inflight) : 0);
	g_assert_cmpint(json_object_get_int_member(ps, "checks"), ==, s0->checks);
	p = find_path(lun, "sg1");
	g_assert_cmpint(json_object_get_int_member(p, "group"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(p, "priority"), ==, 10);

	/* the escaped name comes back byte for byte */
	lun = find_lun(root, ODD_NAME);
	g_assert_cmpstr(json_object_get_string_member(lun, "wwid"), ==, WWID_B);
	g_assert_cmpint(
	    json_object_get_int_member(json_object_get_object_member(lun, "capacity"), "blocks"),
	    ==, 1 << 21);
	g_assert_cmpstr(json_object_get_string_member(find_path(lun, "/dev/sg2"), "state"), ==,
			"active");
}

static void test_introspect_and_version(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) xml = NULL, prop = NULL, value = NULL;
	const char *s;

	(void)data;
	xml = call_on(f->client, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, "(s)",
		      &err);
	g_assert_no_error(err);
	g_variant_get(xml, "(&s)", &s);
	for (const char *m = "ListLuns\0FailPath\0ReinstatePath\0SwitchGroup\0Reload\0"; *m;
	     m += strlen(m) + 1)
		g_assert_nonnull(strstr(s, m));
	prop = call_on(f->client, "org.freedesktop.DBus.Properties", "Get",
		       g_variant_new("(ss)", RDP_MANAGER_IFACE, "Version"), "(v)", &err);
	g_assert_no_error(err);
	g_variant_get(prop, "(v)", &value);
	g_assert_cmpstr(g_variant_get_string(value, NULL), ==, RDP_VERSION);
}

/* A path that holds a command (a hung device) must not hold up the answer. */
static void test_list_while_path_hangs(struct fixture *f, gconstpointer data)
{
	g_autoptr(JsonParser) parser = NULL;
	struct tcmd t;
	JsonObject *root, *lun;

	(void)data;
	submit_read(f->lun0, &t);
	g_assert_cmpuint(fake_pending_count(), ==, 1);
	parser = list_luns(f, &root);
	lun = find_lun(root, "lun0");
	g_assert_cmpint(json_object_get_int_member(lun, "inflight"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(find_path(lun, "sg0"), "inflight"), ==, 1);
	g_assert_false(t.done);
	fake_complete_all();
	g_assert_true(t.done);
}

static void test_fail_reinstate(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r1 = NULL, r2 = NULL;
	g_autoptr(JsonParser) parser = NULL;
	struct rdp_path *sg1 = engine_path(f->lun0, "sg1");
	JsonObject *root, *p;

	(void)data;
	r1 = call_on(f->client, RDP_MANAGER_IFACE, "FailPath", g_variant_new("(s)", "sg1"), "()",
		     &err);
	g_assert_no_error(err);
	g_assert_cmpint(rdp_path_state(sg1), ==, RDP_PATH_FAILED);
	parser = list_luns(f, &root);
	p = find_path(find_lun(root, "lun0"), "sg1");
	g_assert_cmpstr(json_object_get_string_member(p, "state"), ==, "failed");
	g_assert_cmpstr(json_object_get_string_member(p, "reason"), ==, rdp_path_reason(sg1));
	g_assert_cmpstr(path_state(f, "sg0"), ==, "active");

	/* "/dev/sg1" names the same device as the configuration's "sg1" */
	r2 = call_on(f->client, RDP_MANAGER_IFACE, "ReinstatePath",
		     g_variant_new("(s)", "/dev/sg1"), "()", &err);
	g_assert_no_error(err);
	/* the checker proves the path before it carries I/O again */
	for (int i = 0; i < 100 && rdp_path_state(sg1) != RDP_PATH_ACTIVE; i++) {
		fake_now += 200 * 1000000ull;
		rdp_lun_tick(f->lun0);
		while (fake_complete_all())
			;
	}
	g_assert_cmpstr(path_state(f, "sg1"), ==, "active");
}

static void test_not_found(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
	g_autoptr(GVariant) r1 = NULL, r2 = NULL, r3 = NULL;

	(void)data;
	r1 = call_on(f->client, RDP_MANAGER_IFACE, "FailPath", g_variant_new("(s)", "sg9"), "()",
		     &e1);
	g_assert_null(r1);
	assert_dbus_error(e1, RDP_MANAGER_ERROR_NOT_FOUND,
			  "no path sg9; the paths are: sg0 (LUN lun0), sg1 (LUN lun0), /dev/sg2 "
			  "(LUN " ODD_NAME ")");

	r2 = call_on(f->client, RDP_MANAGER_IFACE, "SwitchGroup", g_variant_new("(su)", "lun9", 0),
		     "()", &e2);
	g_assert_null(r2);
	assert_dbus_error(e2, RDP_MANAGER_ERROR_NOT_FOUND,
			  "no LUN lun9; the LUNs are: lun0, " ODD_NAME);

	r3 = call_on(f->client, RDP_MANAGER_IFACE, "SwitchGroup", g_variant_new("(su)", "lun0", 7),
		     "()", &e3);
	g_assert_null(r3);
	assert_dbus_error(e3, "org.freedesktop.DBus.Error.InvalidArgs",
			  "LUN lun0 has 2 path groups*no group 7");
	g_assert_cmpstr(path_state(f, "sg0"), ==, "active");
}

static void test_switch_group(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL, e2 = NULL;
	g_autoptr(GVariant) r1 = NULL, r2 = NULL, r3 = NULL;
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *root, *lun;
	JsonArray *groups;

	(void)data;
	r1 = call_on(f->client, RDP_MANAGER_IFACE, "SwitchGroup", g_variant_new("(su)", "lun0", 1),
		     "()", &err);
	g_assert_no_error(err);
	g_assert_cmpuint(rdp_lun_current_group(f->lun0), ==, 1);
	parser = list_luns(f, &root);
	lun = find_lun(root, "lun0");
	g_assert_cmpint(json_object_get_int_member(lun, "current_group"), ==, 1);
	groups = json_object_get_array_member(lun, "groups");
	g_assert_cmpstr(
	    json_object_get_string_member(json_array_get_object_element(groups, 0), "state"), ==,
	    "enabled");
	g_assert_cmpstr(
	    json_object_get_string_member(json_array_get_object_element(groups, 1), "state"), ==,
	    "active");

	/* back to 0, fail its only path, and ask for it again: refused with the reason */
	r2 = call_on(f->client, RDP_MANAGER_IFACE, "SwitchGroup", g_variant_new("(su)", "lun0", 0),
		     "()", &err);
	g_assert_no_error(err);
	g_assert_cmpint(rdp_path_admin_fail(engine_path(f->lun0, "sg1")), ==, 0);
	r3 = call_on(f->client, RDP_MANAGER_IFACE, "SwitchGroup", g_variant_new("(su)", "lun0", 1),
		     "()", &e2);
	g_assert_null(r3);
	assert_dbus_error(e2, RDP_MANAGER_ERROR_FAILED, "*group 1 has no usable path*");
}

static void test_reload(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
	g_autoptr(GVariant) r1 = NULL, r2 = NULL, r3 = NULL;
	const char *msg;

	(void)data;
	r1 = call_on(f->client, RDP_MANAGER_IFACE, "Reload", NULL, "(s)", &e1);
	g_assert_no_error(e1);
	g_variant_get(r1, "(&s)", &msg);
	g_assert_cmpstr(msg, ==, "configuration reloaded: 2 LUNs, nothing changed");
	g_assert_cmpuint(f->reloads, ==, 1);

	f->reload_fails = TRUE;
	r2 = call_on(f->client, RDP_MANAGER_IFACE, "Reload", NULL, "(s)", &e2);
	g_assert_null(r2);
	assert_dbus_error(e2, RDP_MANAGER_ERROR_FAILED, "reload failed: *unknown value 'fastest'");

	/* a daemon without a reload callback says so */
	stop_manager(f);
	f->ops.reload = NULL;
	start_manager(f);
	r3 = call_on(f->client, RDP_MANAGER_IFACE, "Reload", NULL, "(s)", &e3);
	g_assert_null(r3);
	assert_dbus_error(e3, "org.freedesktop.DBus.Error.NotSupported", "*restart it*");
	g_assert_cmpuint(f->reloads, ==, 2);
}

/* The uid comes from the bus; a caller the check refuses gets AccessDenied and changes
 * nothing, while reading stays open. */
static void test_access_denied(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
	g_autoptr(GVariant) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL;

	(void)data;
	stop_manager(f);
	f->ops.caller_allowed = caller_allowed;
	f->allow = FALSE;
	start_manager(f);

	r1 = call_on(f->client, RDP_MANAGER_IFACE, "FailPath", g_variant_new("(s)", "sg1"), "()",
		     &e1);
	g_assert_null(r1);
	assert_dbus_error(e1, "org.freedesktop.DBus.Error.AccessDenied",
			  "only root may fail paths (the caller is uid *)");
	g_assert_cmpint(f->seen_uid, ==, (int)getuid());
	g_assert_cmpint(rdp_path_state(engine_path(f->lun0, "sg1")), ==, RDP_PATH_ACTIVE);

	r2 = call_on(f->client, RDP_MANAGER_IFACE, "ReinstatePath", g_variant_new("(s)", "sg1"),
		     "()", &e2);
	assert_dbus_error(e2, "org.freedesktop.DBus.Error.AccessDenied",
			  "only root may reinstate paths*");
	r3 = call_on(f->client, RDP_MANAGER_IFACE, "SwitchGroup", g_variant_new("(su)", "lun0", 1),
		     "()", &e3);
	assert_dbus_error(e3, "org.freedesktop.DBus.Error.AccessDenied",
			  "only root may switch path groups*");
	g_assert_cmpuint(rdp_lun_current_group(f->lun0), ==, 0);
	r4 = call_on(f->client, RDP_MANAGER_IFACE, "Reload", NULL, "(s)", &e4);
	assert_dbus_error(e4, "org.freedesktop.DBus.Error.AccessDenied",
			  "only root may reload the configuration*");
	g_assert_cmpuint(f->reloads, ==, 0);
	g_assert_cmpstr(path_state(f, "sg1"), ==, "active");

	/* the same caller, allowed: the hook is what decided */
	f->allow = TRUE;
	g_clear_pointer(&r1, g_variant_unref);
	g_clear_error(&e1);
	r1 = call_on(f->client, RDP_MANAGER_IFACE, "FailPath", g_variant_new("(s)", "sg1"), "()",
		     &e1);
	g_assert_no_error(e1);
	g_assert_cmpstr(path_state(f, "sg1"), ==, "failed");
}

/* Without the hook, only uid 0 is allowed; this test runs as root or as a user. */
static void test_default_uid_check(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply = NULL;

	(void)data;
	reply = call_on(f->client, RDP_MANAGER_IFACE, "FailPath", g_variant_new("(s)", "sg1"), "()",
			&err);
	if (getuid() == 0) {
		g_assert_no_error(err);
		g_assert_cmpstr(path_state(f, "sg1"), ==, "failed");
	} else {
		assert_dbus_error(err, "org.freedesktop.DBus.Error.AccessDenied",
				  "only root may fail paths*");
	}
}

/* Stop while a changing call waits for the caller's uid: the call gets an answer, the freed
 * manager is not touched. */
static gboolean stop_on_filter(gpointer data)
{
	struct fixture *f = data;

	stop_manager(f);
	return G_SOURCE_REMOVE;
}

static GDBusMessage *watch_uid_lookup(GDBusConnection *c, GDBusMessage *msg, gboolean incoming,
				      gpointer data)
{
	(void)c;
	/* The manager's GetConnectionUnixUser is on its way out: stop before the answer. This
	 * runs in GDBus's worker thread; the high priority puts the stop ahead of the reply's
	 * dispatch in the main context. */
	if (!incoming && g_strcmp0(g_dbus_message_get_member(msg), "GetConnectionUnixUser") == 0)
		g_idle_add_full(G_PRIORITY_HIGH, stop_on_filter, data, NULL);
	return msg;
}

static void test_stop_while_authorizing(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply = NULL;
	guint filter;

	(void)data;
	filter = g_dbus_connection_add_filter(f->server, watch_uid_lookup, f, NULL);
	reply = call_on(f->client, RDP_MANAGER_IFACE, "FailPath", g_variant_new("(s)", "sg1"), "()",
			&err);
	g_dbus_connection_remove_filter(f->server, filter);
	g_assert_null(f->m);
	g_assert_null(reply);
	assert_dbus_error(err, RDP_MANAGER_ERROR_FAILED, "tcmu-rdpd is shutting down; FailPath*");
	g_assert_cmpint(rdp_path_state(engine_path(f->lun0, "sg1")), ==, RDP_PATH_ACTIVE);
}

/* ---- rdpctl, the real binary, on the same private bus ---- */

struct run_result {
	gboolean communicated, exited;
	char *out, *errout;
	int status;
};

static void run_communicated(GObject *src, GAsyncResult *res, gpointer data)
{
	struct run_result *r = data;
	g_autoptr(GError) err = NULL;

	g_subprocess_communicate_utf8_finish(G_SUBPROCESS(src), res, &r->out, &r->errout, &err);
	g_assert_no_error(err);
	r->communicated = TRUE;
}

static void run_exited(GObject *src, GAsyncResult *res, gpointer data)
{
	struct run_result *r = data;
	g_autoptr(GError) err = NULL;

	g_subprocess_wait_finish(G_SUBPROCESS(src), res, &err);
	g_assert_no_error(err);
	r->exited = TRUE;
}

/* Run rdpctl with args (NULL-terminated) while this thread keeps serving the bus. */
static int rdpctl(struct fixture *f, char **out, char **errout, ...)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) err = NULL;
	struct run_result r = {0};
	const char *arg;
	va_list ap;

	g_ptr_array_add(argv, (char *)g_getenv("RDPCTL"));
	va_start(ap, errout);
	while ((arg = va_arg(ap, const char *)))
		g_ptr_array_add(argv, (char *)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);

	g_subprocess_launcher_setenv(launcher, "RDPCTL_BUS", "session", TRUE);
	g_subprocess_launcher_setenv(launcher, "DBUS_SESSION_BUS_ADDRESS",
				     g_test_dbus_get_bus_address(f->bus), TRUE);
	proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &err);
	g_assert_no_error(err);
	g_subprocess_communicate_utf8_async(proc, NULL, NULL, run_communicated, &r);
	g_subprocess_wait_async(proc, NULL, run_exited, &r);
	WAIT_UNTIL(r.communicated && r.exited);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_test_message("rdpctl exit %d\nstdout:\n%s\nstderr:\n%s",
		       g_subprocess_get_exit_status(proc), r.out, r.errout);
	*out = r.out;
	*errout = r.errout;
	return g_subprocess_get_exit_status(proc);
}

static gboolean have_rdpctl(void)
{
	if (g_getenv("RDPCTL"))
		return TRUE;
	g_test_skip("RDPCTL (the path of the rdpctl binary) is not set");
	return FALSE;
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		g_error("\"%s\" not in:\n%s", part, text);
}

static void test_rdpctl_show(struct fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *errout = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) err = NULL;
	JsonObject *root;

	(void)data;
	if (!have_rdpctl())
		return;
	g_assert_cmpint(rdp_path_admin_fail(engine_path(f->lun0, "sg1")), ==, 0);

	g_assert_cmpint(rdpctl(f, &out, &errout, "show", "topology", NULL), ==, 0);
	assert_contains(out, "lun0 (" WWID_A ") size=256M blocks=524288 block_size=512");
	assert_contains(out, "|-+- group 0 prio=50 status=active");
	assert_contains(out, "| `- sg0 active   ready");
	assert_contains(out, "`-+- group 1 prio=10 status=failed");
	assert_contains(out, "  `- sg1 failed   faulty");
	assert_contains(out, "(failed by the administrator)");
	assert_contains(out, ODD_NAME " (" WWID_B ") size=1G");
	g_assert_cmpstr(errout, ==, "");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "show", "luns", "--json", NULL), ==, 0);
	json_parser_load_from_data(parser, out, -1, &err);
	g_assert_no_error(err);
	root = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(find_lun(root, "lun0"), "wwid"), ==, WWID_A);
	g_assert_cmpstr(
	    json_object_get_string_member(find_path(find_lun(root, "lun0"), "sg1"), "state"), ==,
	    "failed");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "show", "luns", NULL), ==, 0);
	assert_contains(out, "NAME");
	assert_contains(out, "1/2 usable");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "show", "paths", NULL), ==, 0);
	assert_contains(out, "failed by the administrator");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "show", "stats", NULL), ==, 0);
	assert_contains(out, "TRANSITIONS");
}

static void test_rdpctl_change(struct fixture *f, gconstpointer data)
{
	g_autofree char *out = NULL, *errout = NULL;

	(void)data;
	if (!have_rdpctl())
		return;
	g_assert_cmpint(rdpctl(f, &out, &errout, "fail", "path", "sg1", NULL), ==, 0);
	assert_contains(out, "path sg1: failed");
	g_assert_cmpint(rdp_path_state(engine_path(f->lun0, "sg1")), ==, RDP_PATH_FAILED);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "fail", "path", "sg9", NULL), ==, 1);
	assert_contains(errout, "no path sg9; the paths are: sg0 (LUN lun0)");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "reload", NULL), ==, 0);
	assert_contains(out, "configuration reloaded");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "switch-group", "lun0", "one", NULL), ==, 2);
	assert_contains(errout, "not 'one'");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	g_assert_cmpint(rdpctl(f, &out, &errout, "frobnicate", "path", NULL), ==, 2);
	assert_contains(errout, "unknown command 'frobnicate path'");
	assert_contains(errout, "show topology");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	/* a caller the daemon refuses */
	stop_manager(f);
	f->ops.caller_allowed = caller_allowed;
	f->allow = FALSE;
	start_manager(f);
	g_assert_cmpint(rdpctl(f, &out, &errout, "reinstate", "path", "sg1", NULL), ==, 1);
	assert_contains(errout, "only root may reinstate paths");
	g_assert_cmpint(rdp_path_state(engine_path(f->lun0, "sg1")), ==, RDP_PATH_FAILED);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&errout, g_free);

	/* no daemon on the bus */
	stop_manager(f);
	g_assert_cmpint(rdpctl(f, &out, &errout, "show", "luns", NULL), ==, 1);
	assert_contains(errout, "tcmu-rdpd is not running (no org.tcmu_rdp on the session bus)");
}

#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_set_up, fn, fixture_tear_down)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* path failures are logged as warnings by the engine; they are expected here */
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);

	ADD("/manager/list", test_list);
	ADD("/manager/introspect", test_introspect_and_version);
	ADD("/manager/list-while-path-hangs", test_list_while_path_hangs);
	ADD("/manager/fail-reinstate", test_fail_reinstate);
	ADD("/manager/not-found", test_not_found);
	ADD("/manager/switch-group", test_switch_group);
	ADD("/manager/reload", test_reload);
	ADD("/manager/access-denied", test_access_denied);
	ADD("/manager/default-uid-check", test_default_uid_check);
	ADD("/manager/stop-while-authorizing", test_stop_while_authorizing);
	ADD("/rdpctl/show", test_rdpctl_show);
	ADD("/rdpctl/change", test_rdpctl_change);
	return g_test_run();
}
