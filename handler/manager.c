/* org.tcmu_rdp.Manager1 for rdpctl: ListLuns renders the engine's view (LUNs, groups, paths,
 * counters) as JSON; the changing methods check the caller's uid with the bus first, then call
 * the engine's admin entry points. Nothing here blocks: the main loop keeps serving the rings. */
#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "tcmu-rdp"
#endif
#ifndef G_LOG_USE_STRUCTURED
#define G_LOG_USE_STRUCTURED 1
#endif

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "manager.h"
#include <librdp/rdp.h>

#define UID_LOOKUP_TIMEOUT_MS 10000

static const char introspection_xml[] = "<node>"
					"  <interface name='" RDP_MANAGER_IFACE "'>"
					"    <property name='Version' type='s' access='read'/>"
					"    <method name='ListLuns'>"
					"      <arg name='json' type='s' direction='out'/>"
					"    </method>"
					"    <method name='FailPath'>"
					"      <arg name='dev' type='s' direction='in'/>"
					"    </method>"
					"    <method name='ReinstatePath'>"
					"      <arg name='dev' type='s' direction='in'/>"
					"    </method>"
					"    <method name='SwitchGroup'>"
					"      <arg name='lun' type='s' direction='in'/>"
					"      <arg name='group' type='u' direction='in'/>"
					"    </method>"
					"    <method name='Reload'>"
					"      <arg name='message' type='s' direction='out'/>"
					"    </method>"
					"  </interface>"
					"</node>";

struct rdp_manager {
	GDBusConnection *conn;
	struct rdp_manager_ops ops;
	void *ud;
	GDBusNodeInfo *node;
	guint reg_id;
	guint own_id;
	bool owned;
	GCancellable *cancel; /* cancelled by stop: uid look-ups still in flight */
};

/* A changing call waiting for the bus to tell who sent it. */
struct auth {
	struct rdp_manager *m; /* only valid while cancel is not cancelled */
	GCancellable *cancel;
	GDBusMethodInvocation *inv;
	const struct action *act;
	uid_t uid;
};

struct action {
	const char *method;
	const char *what; /* completes "only root may ..." */
	void (*run)(struct rdp_manager *m, struct auth *a);
};

bool rdp_manager_owns_name(const struct rdp_manager *m)
{
	return m->owned;
}

G_GNUC_PRINTF(3, 4)
static void reply_error(GDBusMethodInvocation *inv, const char *name, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	g_autofree char *valid = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* Device and LUN names come from configuration files: D-Bus strings must be UTF-8. */
	valid = g_utf8_make_valid(msg, -1);
	g_dbus_method_invocation_return_dbus_error(inv, name, valid);
}

/* "sg1" and "/dev/sg1" name the same device, whichever way the configuration spelled it. */
static const char *short_dev(const char *dev)
{
	return g_str_has_prefix(dev, "/dev/") ? dev + strlen("/dev/") : dev;
}

/* ---- ListLuns: the JSON document (schema in docs/rdpctl.md) ---- */

static void add_str(JsonBuilder *b, const char *key, const char *v)
{
	json_builder_set_member_name(b, key);
	if (!v) {
		json_builder_add_null_value(b);
	} else if (g_utf8_validate(v, -1, NULL)) {
		json_builder_add_string_value(b, v);
	} else {
		g_autofree char *valid = g_utf8_make_valid(v, -1);

		json_builder_add_string_value(b, valid);
	}
}

static void add_u64(JsonBuilder *b, const char *key, uint64_t v)
{
	/* JSON readers (and json-glib) hold integers as int64; no counter gets that far. */
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, v > G_MAXINT64 ? G_MAXINT64 : (gint64)v);
}

static uint64_t mean(uint64_t sum, uint64_t n)
{
	return n ? sum / n : 0;
}

static void add_path_stats(JsonBuilder *b, const struct rdp_path_stats *s)
{
	uint64_t done = s->cmds > s->inflight ? s->cmds - s->inflight : 0;

	json_builder_set_member_name(b, "stats");
	json_builder_begin_object(b);
	add_u64(b, "cmds", s->cmds);
	add_u64(b, "bytes", s->bytes);
	add_u64(b, "path_errors", s->path_errors);
	add_u64(b, "target_errors", s->target_errors);
	add_u64(b, "retries", s->retries);
	add_u64(b, "failovers", s->failovers);
	add_u64(b, "lat_mean_us", mean(s->lat_sum_us, done));
	add_u64(b, "lat_max_us", s->lat_max_us);
	add_u64(b, "transitions", s->transitions);
	add_u64(b, "checks", s->checks);
	json_builder_end_object(b);
}

static void add_lun_stats(JsonBuilder *b, const struct rdp_lun_stats *s)
{
	json_builder_set_member_name(b, "stats");
	json_builder_begin_object(b);
	add_u64(b, "cmds", s->cmds);
	add_u64(b, "completed", s->completed);
	add_u64(b, "errors_returned", s->errors_returned);
	add_u64(b, "target_errors", s->target_errors);
	add_u64(b, "failovers", s->failovers);
	add_u64(b, "path_failures", s->path_failures);
	add_u64(b, "path_recoveries", s->path_recoveries);
	add_u64(b, "retries", s->retries);
	add_u64(b, "queued", s->queued);
	add_u64(b, "queue_time_us", s->queue_time_us);
	add_u64(b, "no_path_failed", s->no_path_failed);
	add_u64(b, "expired", s->expired);
	add_u64(b, "lat_mean_us", mean(s->lat_sum_us, s->completed));
	add_u64(b, "lat_max_us", s->lat_max_us);
	json_builder_end_object(b);
}

/* Groups as multipath shows them: the one in use is "active", one that could take I/O is
 * "enabled", one without a usable path "failed". A group's priority is its best path's. */
static void add_groups(JsonBuilder *b, const struct rdp_lun *lun)
{
	unsigned int ngroups = rdp_lun_group_count(lun);
	unsigned int current = rdp_lun_current_group(lun);

	json_builder_set_member_name(b, "groups");
	json_builder_begin_array(b);
	for (unsigned int g = 0; g < ngroups; g++) {
		unsigned int prio = 0, npaths = 0, usable = 0;

		for (unsigned int i = 0; i < rdp_lun_path_count(lun); i++) {
			const struct rdp_path *p = rdp_lun_path(lun, i);

			if (rdp_path_group(p) != g)
				continue;
			npaths++;
			usable += rdp_path_state(p) == RDP_PATH_ACTIVE;
			prio = MAX(prio, rdp_path_priority(p));
		}
		json_builder_begin_object(b);
		add_u64(b, "group", g);
		add_u64(b, "priority", prio);
		add_str(b, "state", g == current ? "active" : usable ? "enabled" : "failed");
		add_u64(b, "paths", npaths);
		add_u64(b, "usable_paths", usable);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static void add_path(JsonBuilder *b, const struct rdp_path *p)
{
	const struct rdp_path_stats *s = rdp_path_stats(p);

	json_builder_begin_object(b);
	add_str(b, "dev", rdp_path_dev(p));
	add_str(b, "state", rdp_path_state_name(rdp_path_state(p)));
	add_str(b, "reason", rdp_path_reason(p));
	add_u64(b, "group", rdp_path_group(p));
	add_u64(b, "priority", rdp_path_priority(p));
	add_u64(b, "inflight", s->inflight);
	add_path_stats(b, s);
	json_builder_end_object(b);
}

static void add_lun(JsonBuilder *b, const struct rdp_lun *lun)
{
	struct rdp_capacity cap = rdp_lun_capacity(lun);

	json_builder_begin_object(b);
	add_str(b, "name", rdp_lun_name(lun));
	add_str(b, "wwid", rdp_lun_wwid(lun));
	json_builder_set_member_name(b, "capacity");
	json_builder_begin_object(b);
	add_u64(b, "blocks", cap.blocks);
	add_u64(b, "block_size", cap.block_size);
	add_u64(b, "bytes", cap.blocks * cap.block_size);
	json_builder_end_object(b);
	add_u64(b, "current_group", rdp_lun_current_group(lun));
	add_u64(b, "inflight", rdp_lun_inflight(lun));
	add_lun_stats(b, rdp_lun_stats(lun));
	add_groups(b, lun);
	json_builder_set_member_name(b, "paths");
	json_builder_begin_array(b);
	for (unsigned int i = 0; i < rdp_lun_path_count(lun); i++)
		add_path(b, rdp_lun_path(lun, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(rdp_lun_name(*(struct rdp_lun *const *)a),
		      rdp_lun_name(*(struct rdp_lun *const *)b));
}

/* The daemon's LUNs sorted by name, so that rdpctl shows them in the same order every time
 * (the daemon keeps them in a hash table). A copy: the caller's array may be its own. */
static GPtrArray *get_luns(struct rdp_manager *m)
{
	g_autoptr(GPtrArray) luns = m->ops.luns(m->ud);
	GPtrArray *sorted = luns ? g_ptr_array_copy(luns, NULL, NULL) : g_ptr_array_new();

	g_ptr_array_sort(sorted, by_name);
	return sorted;
}

static char *luns_json(struct rdp_manager *m)
{
	g_autoptr(GPtrArray) luns = get_luns(m);
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	add_str(b, "version", RDP_VERSION);
	json_builder_set_member_name(b, "luns");
	json_builder_begin_array(b);
	for (guint i = 0; i < luns->len; i++)
		add_lun(b, g_ptr_array_index(luns, i));
	json_builder_end_array(b);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

/* ---- lookups: unknown names are answered with the names that exist ---- */

static void reply_no_path(GDBusMethodInvocation *inv, GPtrArray *luns, const char *dev)
{
	g_autoptr(GString) known = g_string_new(NULL);

	for (guint i = 0; i < luns->len; i++) {
		const struct rdp_lun *lun = g_ptr_array_index(luns, i);

		for (unsigned int j = 0; j < rdp_lun_path_count(lun); j++)
			g_string_append_printf(known, "%s%s (LUN %s)", known->len ? ", " : "",
					       rdp_path_dev(rdp_lun_path(lun, j)),
					       rdp_lun_name(lun));
	}
	if (known->len)
		reply_error(inv, RDP_MANAGER_ERROR_NOT_FOUND, "no path %s; the paths are: %s", dev,
			    known->str);
	else
		reply_error(inv, RDP_MANAGER_ERROR_NOT_FOUND,
			    "no path %s: tcmu-rdpd serves no LUN at the moment", dev);
}

/* Every path on device dev. The daemon gives a device to one LUN only; should two ever hold it
 * (a LUN adopted from an older daemon), failing the device fails it for both. */
static GPtrArray *find_paths(GPtrArray *luns, const char *dev)
{
	GPtrArray *found = g_ptr_array_new();

	for (guint i = 0; i < luns->len; i++) {
		const struct rdp_lun *lun = g_ptr_array_index(luns, i);

		for (unsigned int j = 0; j < rdp_lun_path_count(lun); j++) {
			struct rdp_path *p = rdp_lun_path(lun, j);

			if (strcmp(short_dev(rdp_path_dev(p)), short_dev(dev)) == 0)
				g_ptr_array_add(found, p);
		}
	}
	return found;
}

static struct rdp_lun *find_lun(GPtrArray *luns, const char *name)
{
	for (guint i = 0; i < luns->len; i++) {
		struct rdp_lun *lun = g_ptr_array_index(luns, i);

		if (strcmp(rdp_lun_name(lun), name) == 0)
			return lun;
	}
	return NULL;
}

static void reply_no_lun(GDBusMethodInvocation *inv, GPtrArray *luns, const char *name)
{
	g_autoptr(GString) known = g_string_new(NULL);

	for (guint i = 0; i < luns->len; i++)
		g_string_append_printf(known, "%s%s", known->len ? ", " : "",
				       rdp_lun_name(g_ptr_array_index(luns, i)));
	if (known->len)
		reply_error(inv, RDP_MANAGER_ERROR_NOT_FOUND, "no LUN %s; the LUNs are: %s", name,
			    known->str);
	else
		reply_error(inv, RDP_MANAGER_ERROR_NOT_FOUND,
			    "no LUN %s: tcmu-rdpd serves no LUN at the moment", name);
}

/* ---- the changing methods (run once the caller is known to be allowed) ---- */

static void change_paths(struct rdp_manager *m, struct auth *a, bool fail)
{
	g_autoptr(GPtrArray) luns = get_luns(m);
	g_autoptr(GPtrArray) paths = NULL;
	const char *dev;

	g_variant_get(g_dbus_method_invocation_get_parameters(a->inv), "(&s)", &dev);
	paths = find_paths(luns, dev);
	if (paths->len == 0) {
		reply_no_path(a->inv, luns, dev);
		return;
	}
	for (guint i = 0; i < paths->len; i++) {
		struct rdp_path *p = g_ptr_array_index(paths, i);
		int rc = fail ? rdp_path_admin_fail(p) : rdp_path_admin_reinstate(p);

		if (rc < 0) {
			reply_error(a->inv, RDP_MANAGER_ERROR_FAILED, "cannot %s path %s: %s",
				    fail ? "fail" : "reinstate", rdp_path_dev(p), g_strerror(-rc));
			return;
		}
		g_message("manager: path %s %s by uid %u (%s)", rdp_path_dev(p),
			  fail ? "failed" : "reinstated", (unsigned int)a->uid,
			  g_dbus_method_invocation_get_sender(a->inv));
	}
	g_dbus_method_invocation_return_value(a->inv, NULL);
}

static void do_fail_path(struct rdp_manager *m, struct auth *a)
{
	change_paths(m, a, true);
}

static void do_reinstate_path(struct rdp_manager *m, struct auth *a)
{
	change_paths(m, a, false);
}

static void do_switch_group(struct rdp_manager *m, struct auth *a)
{
	g_autoptr(GPtrArray) luns = get_luns(m);
	struct rdp_lun *lun;
	const char *name;
	guint32 group;
	unsigned int ngroups;
	int rc;

	g_variant_get(g_dbus_method_invocation_get_parameters(a->inv), "(&su)", &name, &group);
	lun = find_lun(luns, name);
	if (!lun) {
		reply_no_lun(a->inv, luns, name);
		return;
	}
	ngroups = rdp_lun_group_count(lun);
	if (group >= ngroups) {
		reply_error(a->inv, "org.freedesktop.DBus.Error.InvalidArgs",
			    "LUN %s has %u path group%s (numbered from 0, the best); there is no "
			    "group %u",
			    name, ngroups, ngroups == 1 ? "" : "s", group);
		return;
	}
	rc = rdp_lun_switch_group(lun, group);
	if (rc == -ENOENT) {
		reply_error(a->inv, RDP_MANAGER_ERROR_FAILED,
			    "LUN %s: path group %u has no usable path (see rdpctl show topology); "
			    "reinstate one of its paths first",
			    name, group);
		return;
	}
	if (rc < 0) {
		reply_error(a->inv, RDP_MANAGER_ERROR_FAILED,
			    "LUN %s cannot switch to path group %u: %s", name, group,
			    g_strerror(-rc));
		return;
	}
	g_message("manager: lun %s switched to path group %u by uid %u (%s)", name, group,
		  (unsigned int)a->uid, g_dbus_method_invocation_get_sender(a->inv));
	g_dbus_method_invocation_return_value(a->inv, NULL);
}

static void do_reload(struct rdp_manager *m, struct auth *a)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *message = NULL;
	g_autofree char *valid = NULL;

	if (!m->ops.reload) {
		reply_error(a->inv, "org.freedesktop.DBus.Error.NotSupported",
			    "this tcmu-rdpd cannot reload its configuration; restart it");
		return;
	}
	if (!m->ops.reload(m->ud, &message, &err)) {
		reply_error(a->inv, RDP_MANAGER_ERROR_FAILED, "reload failed: %s",
			    err ? err->message : "no reason given");
		return;
	}
	valid = g_utf8_make_valid(message ? message : "configuration reloaded", -1);
	g_message("manager: reload by uid %u (%s): %s", (unsigned int)a->uid,
		  g_dbus_method_invocation_get_sender(a->inv), valid);
	g_dbus_method_invocation_return_value(a->inv, g_variant_new("(s)", valid));
}

static const struct action actions[] = {
    {"FailPath", "fail paths", do_fail_path},
    {"ReinstatePath", "reinstate paths", do_reinstate_path},
    {"SwitchGroup", "switch path groups", do_switch_group},
    {"Reload", "reload the configuration", do_reload},
};

/* ---- authorization: the bus policy already keeps non-root callers out; this check holds
 * even if the policy file is missing or too wide ---- */

static void auth_free(struct auth *a)
{
	g_object_unref(a->cancel);
	g_free(a);
}

static void on_caller_uid(GObject *src, GAsyncResult *res, gpointer data)
{
	struct auth *a = data;
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &err);
	struct rdp_manager *m;
	guint32 uid;
	gboolean allowed;

	/* Checked on the cancellable, not the error: a look-up that finished just before stop
	 * must not reach the manager either. */
	if (g_cancellable_is_cancelled(a->cancel)) {
		reply_error(a->inv, RDP_MANAGER_ERROR_FAILED,
			    "tcmu-rdpd is shutting down; %s was not done",
			    g_dbus_method_invocation_get_method_name(a->inv));
		auth_free(a);
		return;
	}
	m = a->m;
	if (!reply) {
		reply_error(a->inv, "org.freedesktop.DBus.Error.AccessDenied",
			    "cannot tell which user called (%s); refusing", err->message);
		auth_free(a);
		return;
	}
	g_variant_get(reply, "(u)", &uid);
	a->uid = uid;
	allowed = m->ops.caller_allowed ? m->ops.caller_allowed(m->ud, a->uid) : a->uid == 0;
	if (!allowed) {
		g_message("manager: refused %s from uid %u (%s)",
			  g_dbus_method_invocation_get_method_name(a->inv), uid,
			  g_dbus_method_invocation_get_sender(a->inv));
		reply_error(a->inv, "org.freedesktop.DBus.Error.AccessDenied",
			    "only root may %s (the caller is uid %u)", a->act->what, uid);
		auth_free(a);
		return;
	}
	a->act->run(m, a);
	auth_free(a);
}

static void authorize(struct rdp_manager *m, const struct action *act, GDBusMethodInvocation *inv)
{
	const char *sender = g_dbus_method_invocation_get_sender(inv);
	struct auth *a;

	if (!sender) {
		reply_error(inv, "org.freedesktop.DBus.Error.AccessDenied",
			    "%s needs a caller on a message bus; refusing a peer connection",
			    act->method);
		return;
	}
	a = g_new0(struct auth, 1);
	a->m = m;
	a->cancel = g_object_ref(m->cancel);
	a->inv = inv;
	a->act = act;
	g_dbus_connection_call(
	    m->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	    "GetConnectionUnixUser", g_variant_new("(s)", sender), G_VARIANT_TYPE("(u)"),
	    G_DBUS_CALL_FLAGS_NONE, UID_LOOKUP_TIMEOUT_MS, m->cancel, on_caller_uid, a);
}

/* ---- the object ---- */

static void on_method_call(GDBusConnection *conn, const char *sender, const char *path,
			   const char *iface, const char *method, GVariant *params,
			   GDBusMethodInvocation *inv, gpointer user_data)
{
	struct rdp_manager *m = user_data;

	(void)conn;
	(void)sender;
	(void)path;
	(void)iface;
	(void)params;
	if (strcmp(method, "ListLuns") == 0) {
		g_autofree char *json = luns_json(m);

		g_dbus_method_invocation_return_value(inv, g_variant_new("(s)", json));
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(actions); i++) {
		if (strcmp(method, actions[i].method) == 0) {
			authorize(m, &actions[i], inv);
			return;
		}
	}
	reply_error(inv, "org.freedesktop.DBus.Error.UnknownMethod", "no method %s on %s", method,
		    RDP_MANAGER_IFACE);
}

static GVariant *on_get_property(GDBusConnection *conn, const char *sender, const char *path,
				 const char *iface, const char *prop, GError **err,
				 gpointer user_data)
{
	(void)conn;
	(void)sender;
	(void)path;
	(void)iface;
	(void)user_data;
	if (strcmp(prop, "Version") == 0)
		return g_variant_new_string(RDP_VERSION);
	g_set_error(err, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", prop);
	return NULL;
}

static const GDBusInterfaceVTable vtable = {
    .method_call = on_method_call,
    .get_property = on_get_property,
};

static void on_name_acquired(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_manager *m = data;

	(void)conn;
	m->owned = true;
	g_message("manager: owns %s; rdpctl can reach tcmu-rdpd", name);
}

static void on_name_lost(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_manager *m = data;

	if (g_dbus_connection_is_closed(conn))
		g_warning("manager: lost %s with the bus connection; rdpctl cannot reach "
			  "tcmu-rdpd until it restarts",
			  name);
	else
		g_warning("manager: %s is owned by another process (a second tcmu-rdpd?); "
			  "rdpctl talks to that one until it leaves",
			  name);
	m->owned = false;
}

struct rdp_manager *rdp_manager_start(GDBusConnection *conn, const struct rdp_manager_ops *ops,
				      void *ud, GError **err)
{
	g_autoptr(GDBusNodeInfo) node = NULL;
	struct rdp_manager *m;

	g_return_val_if_fail(G_IS_DBUS_CONNECTION(conn), NULL);
	g_return_val_if_fail(ops != NULL && ops->luns != NULL, NULL);

	node = g_dbus_node_info_new_for_xml(introspection_xml, err);
	if (!node)
		return NULL;
	m = g_new0(struct rdp_manager, 1);
	m->conn = g_object_ref(conn);
	m->ops = *ops;
	m->ud = ud;
	m->cancel = g_cancellable_new();
	m->reg_id = g_dbus_connection_register_object(conn, RDP_MANAGER_PATH, node->interfaces[0],
						      &vtable, m, NULL, err);
	if (!m->reg_id) {
		g_prefix_error(err, "cannot export %s: ", RDP_MANAGER_PATH);
		rdp_manager_stop(m);
		return NULL;
	}
	m->node = g_steal_pointer(&node);
	/* Exported before the name is requested: whoever sees the name finds the object. */
	m->own_id =
	    g_bus_own_name_on_connection(conn, RDP_MANAGER_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
					 on_name_acquired, on_name_lost, m, NULL);
	return m;
}

void rdp_manager_stop(struct rdp_manager *m)
{
	if (!m)
		return;
	g_cancellable_cancel(m->cancel);
	g_clear_object(&m->cancel);
	if (m->own_id)
		g_bus_unown_name(m->own_id);
	if (m->reg_id)
		g_dbus_connection_unregister_object(m->conn, m->reg_id);
	g_clear_pointer(&m->node, g_dbus_node_info_unref);
	g_object_unref(m->conn);
	g_free(m);
}
