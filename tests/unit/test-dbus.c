/* Unit tests for handler/dbus.c on a private bus (GTestDBus): what targetcli sees when we own
 * org.kernel.TCMUService1 (GetManagedObjects, ConfigDesc, CheckConfig), and the path through a
 * stand-in tcmu-runner's HandlerManager1 when the name is taken, including its forwarded
 * CheckConfig and our take-over when it leaves. */
#include <string.h>
#include <gio/gio.h>

#include "../../handler/dbus.h"
#include "loop-util.h"


static GVariant *call(GDBusConnection *c, const char *dest, const char *path, const char *iface,
		      const char *method, GVariant *params, const char *reply_type, GError **err)
{
	struct call_result r = {0};

	g_dbus_connection_call(c, dest, path, iface, method, params,
			       reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
			       G_DBUS_CALL_FLAGS_NONE, WAIT_S * 1000, NULL, call_done, &r);
	WAIT_UNTIL(r.done);
	if (r.err)
		g_propagate_error(err, r.err);
	return r.reply;
}

/* CheckConfig as targetcli calls it; returns is_valid and stores the message. */
static gboolean check_config(GDBusConnection *c, const char *dest, const char *path,
			     const char *cfg, char **message)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply = call(c, dest, path, RDP_DBUS_IFACE, "CheckConfig",
					 g_variant_new("(s)", cfg), "(bs)", &err);
	gboolean ok;

	g_assert_no_error(err);
	g_variant_get(reply, "(bs)", &ok, message);
	return ok;
}

/* ConfigDesc of /org/kernel/TCMUService1/rdp as GetManagedObjects lists it (what targetcli's
 * _user_backstores() reads); NULL when the object or the property is missing. */
static char *managed_config_desc(GDBusConnection *c, unsigned int *n_objects)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply = NULL, objects = NULL, ifaces = NULL, props = NULL;
	g_autoptr(GVariant) desc = NULL;

	reply = call(c, RDP_DBUS_NAME, RDP_DBUS_ROOT, "org.freedesktop.DBus.ObjectManager",
		     "GetManagedObjects", NULL, "(a{oa{sa{sv}}})", &err);
	g_assert_no_error(err);
	objects = g_variant_get_child_value(reply, 0);
	*n_objects = (unsigned int)g_variant_n_children(objects);
	ifaces =
	    g_variant_lookup_value(objects, RDP_DBUS_HANDLER_PATH, G_VARIANT_TYPE("a{sa{sv}}"));
	if (!ifaces)
		return NULL;
	props = g_variant_lookup_value(ifaces, RDP_DBUS_IFACE, G_VARIANT_TYPE("a{sv}"));
	if (!props)
		return NULL;
	desc = g_variant_lookup_value(props, "ConfigDesc", G_VARIANT_TYPE_STRING);
	return desc ? g_variant_dup_string(desc, NULL) : NULL;
}

/* ---- fixture: a private bus, a server connection, a client connection ---- */

struct fixture {
	GTestDBus *bus;
	GDBusConnection *server, *client;
	/* what the daemon's callbacks saw */
	unsigned int checks;
	char *last_cfg;
	gboolean answer;
	const char *refusal;
	GArray *states; /* enum rdp_dbus_state */
};

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

static gboolean on_check(void *ud, const char *cfg, char **reason)
{
	struct fixture *f = ud;

	f->checks++;
	g_free(f->last_cfg);
	f->last_cfg = g_strdup(cfg);
	if (!f->answer)
		*reason = g_strdup(f->refusal);
	return f->answer;
}

static void on_state(void *ud, enum rdp_dbus_state s, const char *reason)
{
	struct fixture *f = ud;

	g_assert_nonnull(reason);
	g_array_append_val(f->states, s);
}

static const struct rdp_dbus_ops ops = {
    .check = on_check,
    .state_changed = on_state,
};

static void fixture_set_up(struct fixture *f, gconstpointer data)
{
	(void)data;
	memset(f, 0, sizeof(*f));
	f->states = g_array_new(FALSE, FALSE, sizeof(enum rdp_dbus_state));
	f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(f->bus);
	f->server = connect_bus(f);
	f->client = connect_bus(f);
}

static void close_conn(GDBusConnection *c)
{
	g_dbus_connection_close_sync(c, NULL, NULL);
	g_object_unref(c);
}

static void fixture_tear_down(struct fixture *f, gconstpointer data)
{
	(void)data;
	/* Let GLib drop what it keeps for released names and finished calls. */
	while (g_main_context_iteration(NULL, FALSE))
		;
	close_conn(f->client);
	close_conn(f->server);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_test_dbus_down(f->bus);
	g_object_unref(f->bus);
	g_array_unref(f->states);
	g_free(f->last_cfg);
	g_assert_cmpuint(warnings->len, ==, 0); /* none unexpected */
}

static struct rdp_dbus *start(struct fixture *f, GDBusConnection *c)
{
	g_autoptr(GError) err = NULL;
	struct rdp_dbus *db = rdp_dbus_start(c, &ops, f, &err);

	g_assert_no_error(err);
	g_assert_nonnull(db);
	return db;
}

static void wait_state(struct rdp_dbus *db, enum rdp_dbus_state s)
{
	WAIT_UNTIL(rdp_dbus_get_state(db) == s || rdp_dbus_get_state(db) == RDP_DBUS_FAILED);
	if (rdp_dbus_get_state(db) != s)
		g_error("state %s (%s), wanted %s", rdp_dbus_state_name(rdp_dbus_get_state(db)),
			rdp_dbus_get_reason(db), rdp_dbus_state_name(s));
}

/* ---- owning the name ---- */

static void test_owner_managed_objects(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) prop = NULL, value = NULL, xml = NULL;
	g_autofree char *desc = NULL;
	struct rdp_dbus *db = start(f, f->server);
	unsigned int n_objects;
	const char *s;

	(void)data;
	g_assert_cmpint(rdp_dbus_get_state(db), ==, RDP_DBUS_STARTING);
	wait_state(db, RDP_DBUS_OWNER);
	g_assert_cmpuint(f->states->len, ==, 1);
	g_assert_cmpint(g_array_index(f->states, enum rdp_dbus_state, 0), ==, RDP_DBUS_OWNER);

	desc = managed_config_desc(f->client, &n_objects);
	g_assert_cmpuint(n_objects, ==, 1);
	g_assert_nonnull(desc);
	g_assert_nonnull(strstr(desc, "wwid=<WWID>"));
	g_assert_nonnull(strstr(desc, "/etc/tcmu-rdp/tcmu-rdp.conf"));

	/* What a Gio.DBusProxy on the object reads. */
	prop =
	    call(f->client, RDP_DBUS_NAME, RDP_DBUS_HANDLER_PATH, "org.freedesktop.DBus.Properties",
		 "Get", g_variant_new("(ss)", RDP_DBUS_IFACE, "ConfigDesc"), "(v)", &err);
	g_assert_no_error(err);
	g_variant_get(prop, "(v)", &value);
	g_assert_cmpstr(g_variant_get_string(value, NULL), ==, desc);

	xml = call(f->client, RDP_DBUS_NAME, RDP_DBUS_HANDLER_PATH,
		   "org.freedesktop.DBus.Introspectable", "Introspect", NULL, "(s)", &err);
	g_assert_no_error(err);
	g_variant_get(xml, "(&s)", &s);
	g_assert_nonnull(strstr(s, "CheckConfig"));
	g_assert_nonnull(strstr(s, "ConfigDesc"));

	rdp_dbus_stop(db);
}

static void test_owner_config_desc_override(struct fixture *f, gconstpointer data)
{
	struct rdp_dbus_ops custom = ops;
	g_autoptr(GError) err = NULL;
	g_autofree char *desc = NULL;
	struct rdp_dbus *db;
	unsigned int n_objects;

	(void)data;
	custom.config_desc = "wwid=<WWID>, or a section of /etc/other.conf";
	db = rdp_dbus_start(f->server, &custom, f, &err);
	g_assert_no_error(err);
	wait_state(db, RDP_DBUS_OWNER);
	desc = managed_config_desc(f->client, &n_objects);
	g_assert_cmpstr(desc, ==, custom.config_desc);
	rdp_dbus_stop(db);
}

static void test_owner_check_config(struct fixture *f, gconstpointer data)
{
	struct rdp_dbus *db = start(f, f->server);
	g_autofree char *msg = NULL;

	(void)data;
	wait_state(db, RDP_DBUS_OWNER);

	f->answer = TRUE;
	g_assert_true(
	    check_config(f->client, RDP_DBUS_NAME, RDP_DBUS_HANDLER_PATH, "rdp/wwid=x", &msg));
	g_assert_cmpuint(f->checks, ==, 1);
	g_assert_cmpstr(f->last_cfg, ==, "wwid=x"); /* prefix stripped */
	g_assert_cmpstr(msg, ==, "OK");
	g_clear_pointer(&msg, g_free);

	f->answer = FALSE;
	f->refusal = "no SG path reports wwid x";
	g_assert_false(
	    check_config(f->client, RDP_DBUS_NAME, RDP_DBUS_HANDLER_PATH, "rdp/wwid=x", &msg));
	g_assert_cmpuint(f->checks, ==, 2);
	g_assert_cmpstr(msg, ==, "no SG path reports wwid x");
	g_clear_pointer(&msg, g_free);

	/* Without the prefix (a direct caller) the string passes unchanged. */
	f->answer = TRUE;
	g_assert_true(check_config(f->client, RDP_DBUS_NAME, RDP_DBUS_HANDLER_PATH, "lun-a", &msg));
	g_assert_cmpstr(f->last_cfg, ==, "lun-a");

	rdp_dbus_stop(db);
}

static void test_owner_read_only(struct fixture *f, gconstpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply = NULL;
	struct rdp_dbus *db = start(f, f->server);

	(void)data;
	wait_state(db, RDP_DBUS_OWNER);
	reply = call(
	    f->client, RDP_DBUS_NAME, RDP_DBUS_HANDLER_PATH, "org.freedesktop.DBus.Properties",
	    "Set", g_variant_new("(ssv)", RDP_DBUS_IFACE, "ConfigDesc", g_variant_new_string("x")),
	    NULL, &err);
	g_assert_null(reply);
	g_assert_nonnull(err);
	rdp_dbus_stop(db);
}

/* ---- a stand-in tcmu-runner: owns the name, serves HandlerManager1.RegisterHandler and, like
 * tcmu-runner, calls the registering handler's CheckConfig on its per-handler name ---- */

static const char hm_xml[] = "<node>"
			     "  <interface name='" RDP_DBUS_HM_IFACE "'>"
			     "    <method name='RegisterHandler'>"
			     "      <arg name='subtype' type='s' direction='in'/>"
			     "      <arg name='cfgstr_desc' type='s' direction='in'/>"
			     "      <arg name='succeeded' type='b' direction='out'/>"
			     "      <arg name='message' type='s' direction='out'/>"
			     "    </method>"
			     "  </interface>"
			     "</node>";

struct fake_runner {
	GDBusConnection *conn;
	GDBusNodeInfo *node;
	guint reg_id, own_id;
	gboolean owned;
	enum { FAKE_ACCEPT, FAKE_REFUSE, FAKE_HOLD } mode;
	unsigned int registrations;
	char *subtype, *desc;
	GDBusMethodInvocation *pending;
	gboolean forwarded_ok;
	char *forwarded_msg;
};

static void fake_forwarded(GObject *src, GAsyncResult *res, gpointer data)
{
	struct fake_runner *r = data;
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &err);

	g_assert_no_error(err);
	g_variant_get(reply, "(bs)", &r->forwarded_ok, &r->forwarded_msg);
	g_dbus_method_invocation_return_value(r->pending, g_variant_new("(bs)", TRUE, "succeeded"));
	r->pending = NULL;
}

static void fake_method(GDBusConnection *conn, const char *sender, const char *path,
			const char *iface, const char *method, GVariant *params,
			GDBusMethodInvocation *inv, gpointer data)
{
	struct fake_runner *r = data;

	(void)sender;
	(void)path;
	(void)iface;
	g_assert_cmpstr(method, ==, "RegisterHandler");
	r->registrations++;
	g_free(r->subtype);
	g_free(r->desc);
	g_variant_get(params, "(ss)", &r->subtype, &r->desc);
	if (r->mode == FAKE_REFUSE) {
		g_dbus_method_invocation_return_value(
		    inv, g_variant_new("(bs)", FALSE, "handler rdp already registered"));
		return;
	}
	r->pending = inv;
	if (r->mode == FAKE_HOLD)
		return; /* answered later by the test */
	g_dbus_connection_call(conn, RDP_DBUS_HM_HANDLER_NAME, RDP_DBUS_HM_HANDLER_PATH,
			       RDP_DBUS_IFACE, "CheckConfig", g_variant_new("(s)", "rdp/wwid=fwd"),
			       G_VARIANT_TYPE("(bs)"), G_DBUS_CALL_FLAGS_NONE, WAIT_S * 1000, NULL,
			       fake_forwarded, r);
}

static const GDBusInterfaceVTable fake_vtable = {.method_call = fake_method};

static void fake_acquired(GDBusConnection *c, const char *name, gpointer data)
{
	(void)c;
	(void)name;
	((struct fake_runner *)data)->owned = TRUE;
}

static void fake_lost(GDBusConnection *c, const char *name, gpointer data)
{
	(void)c;
	(void)name;
	((struct fake_runner *)data)->owned = FALSE;
}

static void fake_start(struct fake_runner *r, struct fixture *f, int mode)
{
	g_autoptr(GError) err = NULL;

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->conn = connect_bus(f);
	r->node = g_dbus_node_info_new_for_xml(hm_xml, &err);
	g_assert_no_error(err);
	r->reg_id = g_dbus_connection_register_object(
	    r->conn, RDP_DBUS_HM_PATH, r->node->interfaces[0], &fake_vtable, r, NULL, &err);
	g_assert_no_error(err);
	r->own_id = g_bus_own_name_on_connection(
	    r->conn, RDP_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE, fake_acquired, fake_lost, r, NULL);
	WAIT_UNTIL(r->owned);
}

/* Release the name, as tcmu-runner exiting would. */
static void fake_leave(struct fake_runner *r)
{
	if (r->own_id)
		g_bus_unown_name(r->own_id);
	r->own_id = 0;
}

static void fake_stop(struct fake_runner *r)
{
	fake_leave(r);
	g_dbus_connection_unregister_object(r->conn, r->reg_id);
	close_conn(r->conn);
	g_dbus_node_info_unref(r->node);
	g_free(r->subtype);
	g_free(r->desc);
	g_free(r->forwarded_msg);
}

static void test_taken_register(struct fixture *f, gconstpointer data)
{
	struct fake_runner runner;
	struct rdp_dbus *db;
	g_autofree char *msg = NULL, *desc = NULL;
	unsigned int n_objects;

	(void)data;
	fake_start(&runner, f, FAKE_ACCEPT);
	f->answer = TRUE;
	db = start(f, f->server);
	wait_state(db, RDP_DBUS_REGISTERED);
	g_assert_nonnull(strstr(rdp_dbus_get_reason(db), "nl_reply_supported=-1"));

	g_assert_cmpuint(runner.registrations, ==, 1);
	g_assert_cmpstr(runner.subtype, ==, "rdp");
	g_assert_nonnull(strstr(runner.desc, "wwid=<WWID>"));
	/* The owner reached our CheckConfig under the per-handler name before it answered. */
	g_assert_true(runner.forwarded_ok);
	g_assert_cmpstr(runner.forwarded_msg, ==, "OK");
	g_assert_cmpstr(f->last_cfg, ==, "wwid=fwd");

	/* A direct call on the per-handler object works too, with refusals passed through. */
	f->answer = FALSE;
	f->refusal = "section lun-b not found in /etc/tcmu-rdp/tcmu-rdp.conf";
	g_assert_false(check_config(f->client, RDP_DBUS_HM_HANDLER_NAME, RDP_DBUS_HM_HANDLER_PATH,
				    "rdp/lun-b", &msg));
	g_assert_cmpstr(msg, ==, f->refusal);
	g_assert_cmpstr(f->last_cfg, ==, "lun-b");

	/* tcmu-runner goes away: we take the name and serve targetcli ourselves. */
	fake_leave(&runner);
	wait_state(db, RDP_DBUS_OWNER);
	desc = managed_config_desc(f->client, &n_objects);
	g_assert_nonnull(desc);

	/* Every step after the initial STARTING reported once. */
	g_assert_cmpuint(f->states->len, ==, 4);
	g_assert_cmpint(g_array_index(f->states, enum rdp_dbus_state, 0), ==, RDP_DBUS_REGISTERING);
	g_assert_cmpint(g_array_index(f->states, enum rdp_dbus_state, 1), ==, RDP_DBUS_REGISTERED);
	g_assert_cmpint(g_array_index(f->states, enum rdp_dbus_state, 2), ==, RDP_DBUS_STARTING);
	g_assert_cmpint(g_array_index(f->states, enum rdp_dbus_state, 3), ==, RDP_DBUS_OWNER);

	rdp_dbus_stop(db);
	fake_stop(&runner);
}

static void test_taken_refused(struct fixture *f, gconstpointer data)
{
	struct fake_runner runner;
	struct rdp_dbus *db;

	(void)data;
	fake_start(&runner, f, FAKE_REFUSE);
	db = start(f, f->server);
	wait_state(db, RDP_DBUS_FAILED);
	g_assert_nonnull(strstr(rdp_dbus_get_reason(db), "handler rdp already registered"));
	assert_warned("*refused to register subtype rdp*");
	g_assert_cmpuint(runner.registrations, ==, 1);
	rdp_dbus_stop(db);
	fake_stop(&runner);
}

/* Stopping while RegisterHandler is in flight: the late answer must find nothing to touch. */
static void test_taken_stop_while_registering(struct fixture *f, gconstpointer data)
{
	struct fake_runner runner;
	struct rdp_dbus *db;

	(void)data;
	fake_start(&runner, f, FAKE_HOLD);
	db = start(f, f->server);
	WAIT_UNTIL(runner.pending != NULL);
	g_assert_cmpint(rdp_dbus_get_state(db), ==, RDP_DBUS_REGISTERING);
	rdp_dbus_stop(db);
	g_dbus_method_invocation_return_value(runner.pending,
					      g_variant_new("(bs)", TRUE, "succeeded"));
	runner.pending = NULL;
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpuint(f->states->len, ==, 1); /* REGISTERING, nothing after the stop */
	fake_stop(&runner);
}

/* Another process already serves subtype rdp under the per-handler name. */
static void test_taken_handler_name(struct fixture *f, gconstpointer data)
{
	struct fake_runner runner, other;
	struct rdp_dbus *db;
	guint id;

	(void)data;
	fake_start(&runner, f, FAKE_ACCEPT);
	memset(&other, 0, sizeof(other));
	id = g_bus_own_name_on_connection(runner.conn, RDP_DBUS_HM_HANDLER_NAME,
					  G_BUS_NAME_OWNER_FLAGS_NONE, fake_acquired, fake_lost,
					  &other, NULL);
	WAIT_UNTIL(other.owned);

	db = start(f, f->server);
	wait_state(db, RDP_DBUS_FAILED);
	g_assert_nonnull(strstr(rdp_dbus_get_reason(db), "cannot own " RDP_DBUS_HM_HANDLER_NAME));
	assert_warned("*cannot own*");
	g_assert_cmpuint(runner.registrations, ==, 0);

	rdp_dbus_stop(db);
	g_bus_unown_name(id);
	fake_stop(&runner);
}

/* The owner is another tcmu-rdpd: it has no HandlerManager1. */
static void test_taken_by_peer(struct fixture *f, gconstpointer data)
{
	GDBusConnection *second = connect_bus(f);
	struct rdp_dbus *first, *db;

	(void)data;
	first = start(f, f->server);
	wait_state(first, RDP_DBUS_OWNER);
	db = start(f, second);
	wait_state(db, RDP_DBUS_FAILED);
	g_assert_nonnull(strstr(rdp_dbus_get_reason(db), "does not take handler registrations"));
	assert_warned("*does not take handler registrations*");
	g_assert_cmpint(rdp_dbus_get_state(first), ==, RDP_DBUS_OWNER);

	rdp_dbus_stop(db);
	rdp_dbus_stop(first);
	while (g_main_context_iteration(NULL, FALSE))
		;
	close_conn(second);
}

static void test_stop_while_starting(struct fixture *f, gconstpointer data)
{
	struct rdp_dbus *db = start(f, f->server);

	(void)data;
	g_assert_cmpint(rdp_dbus_get_state(db), ==, RDP_DBUS_STARTING);
	rdp_dbus_stop(db);
	rdp_dbus_stop(NULL);
	g_assert_cmpuint(f->states->len, ==, 0);
}

#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_set_up, fn, fixture_tear_down)

int main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	g_log_set_writer_func(capture, NULL, NULL);

	ADD("/dbus/owner/managed-objects", test_owner_managed_objects);
	ADD("/dbus/owner/config-desc-override", test_owner_config_desc_override);
	ADD("/dbus/owner/check-config", test_owner_check_config);
	ADD("/dbus/owner/read-only", test_owner_read_only);
	ADD("/dbus/taken/register", test_taken_register);
	ADD("/dbus/taken/refused", test_taken_refused);
	ADD("/dbus/taken/stop-while-registering", test_taken_stop_while_registering);
	ADD("/dbus/taken/by-peer", test_taken_by_peer);
	ADD("/dbus/taken/handler-name", test_taken_handler_name);
	ADD("/dbus/stop-while-starting", test_stop_while_starting);
	ret = g_test_run();
	g_ptr_array_unref(warnings);
	return ret;
}
