/* org.kernel.TCMUService1 for the "rdp" subtype: a small state machine (own the name, or register
 * with its owner through HandlerManager1, or take the name over when the owner leaves) around
 * one interface, ConfigDesc + CheckConfig, exported with a hand-written skeleton so the build
 * needs no gdbus-codegen step. */
#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "tcmu-rdp"
#endif
#ifndef G_LOG_USE_STRUCTURED
#define G_LOG_USE_STRUCTURED 1
#endif

#include <stdarg.h>
#include <string.h>
#include <gio/gio.h>

#include "dbus.h"

#define SUBTYPE_PREFIX "rdp/"
#define REGISTER_TIMEOUT_MS 30000

#define DEFAULT_CONFIG_DESC                                                                        \
	"wwid=<WWID> - every SG path with that VPD 0x83 identity; or <section> - a LUN section "   \
	"of /etc/tcmu-rdp/tcmu-rdp.conf"

/* The interface as tcmu-runner defines it (tcmu-handler.xml); targetcli reads ConfigDesc from
 * GetManagedObjects and calls CheckConfig("<subtype>/<cfgstring>") before creating a device. */
static const char introspection_xml[] = "<node>"
					"  <interface name='" RDP_DBUS_IFACE "'>"
					"    <property name='ConfigDesc' type='s' access='read'/>"
					"    <method name='CheckConfig'>"
					"      <arg name='configstr' type='s' direction='in'/>"
					"      <arg name='is_valid' type='b' direction='out'/>"
					"      <arg name='message' type='s' direction='out'/>"
					"    </method>"
					"  </interface>"
					"</node>";

struct rdp_dbus;

/* ---- a generic interface skeleton: introspection info + vtable, no codegen ---- */

struct _RdpDbusSkel {
	GDBusInterfaceSkeleton parent_instance;
	GDBusInterfaceInfo *info;
	GDBusInterfaceVTable *vtable;
	struct rdp_dbus *db; /* NULL once the service stops: late calls are refused */
};

G_DECLARE_FINAL_TYPE(RdpDbusSkel, rdp_dbus_skel, RDP, DBUS_SKEL, GDBusInterfaceSkeleton)
G_DEFINE_TYPE(RdpDbusSkel, rdp_dbus_skel, G_TYPE_DBUS_INTERFACE_SKELETON)

static GDBusInterfaceInfo *skel_get_info(GDBusInterfaceSkeleton *skel)
{
	return RDP_DBUS_SKEL(skel)->info;
}

static GDBusInterfaceVTable *skel_get_vtable(GDBusInterfaceSkeleton *skel)
{
	return RDP_DBUS_SKEL(skel)->vtable;
}

/* GetManagedObjects and GetAll read every property through this. */
static GVariant *skel_get_properties(GDBusInterfaceSkeleton *skel)
{
	RdpDbusSkel *self = RDP_DBUS_SKEL(skel);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	for (GDBusPropertyInfo **p = self->info->properties; p && *p; p++) {
		GVariant *v;

		if (!((*p)->flags & G_DBUS_PROPERTY_INFO_FLAGS_READABLE))
			continue;
		v = self->vtable->get_property(g_dbus_interface_skeleton_get_connection(skel), NULL,
					       g_dbus_interface_skeleton_get_object_path(skel),
					       self->info->name, (*p)->name, NULL, self);
		if (v)
			g_variant_builder_add(&b, "{sv}", (*p)->name, v);
	}
	return g_variant_builder_end(&b);
}

static void skel_flush(GDBusInterfaceSkeleton *skel)
{
	/* Properties never change while exported: nothing to emit. */
	(void)skel;
}

static void skel_finalize(GObject *obj)
{
	RdpDbusSkel *self = RDP_DBUS_SKEL(obj);

	g_dbus_interface_info_unref(self->info);
	G_OBJECT_CLASS(rdp_dbus_skel_parent_class)->finalize(obj);
}

static void rdp_dbus_skel_class_init(RdpDbusSkelClass *klass)
{
	GDBusInterfaceSkeletonClass *skel = G_DBUS_INTERFACE_SKELETON_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = skel_finalize;
	skel->get_info = skel_get_info;
	skel->get_vtable = skel_get_vtable;
	skel->get_properties = skel_get_properties;
	skel->flush = skel_flush;
}

static void rdp_dbus_skel_init(RdpDbusSkel *self)
{
	(void)self;
}

static RdpDbusSkel *skel_new(GDBusInterfaceInfo *info, GDBusInterfaceVTable *vtable,
			     struct rdp_dbus *db)
{
	RdpDbusSkel *self = g_object_new(rdp_dbus_skel_get_type(), NULL);

	self->info = g_dbus_interface_info_ref(info);
	self->vtable = vtable;
	self->db = db;
	return self;
}

/* ---- the service ---- */

struct rdp_dbus {
	GDBusConnection *conn;
	struct rdp_dbus_ops ops;
	void *ud;
	char *config_desc;
	GDBusNodeInfo *node;
	enum rdp_dbus_state state;
	char *reason;

	/* owning org.kernel.TCMUService1 */
	guint own_id;
	guint fallback_id;
	GDBusObjectManagerServer *manager;
	RdpDbusSkel *service_iface;

	/* registered with the owner */
	guint handler_own_id;
	guint owner_watch_id;
	RdpDbusSkel *handler_iface;
	GCancellable *register_cancel;
};

const char *rdp_dbus_state_name(enum rdp_dbus_state s)
{
	switch (s) {
	case RDP_DBUS_STARTING:
		return "starting";
	case RDP_DBUS_OWNER:
		return "owner";
	case RDP_DBUS_REGISTERING:
		return "registering";
	case RDP_DBUS_REGISTERED:
		return "registered";
	case RDP_DBUS_FAILED:
		return "failed";
	}
	return "invalid";
}

enum rdp_dbus_state rdp_dbus_get_state(const struct rdp_dbus *db)
{
	return db->state;
}

const char *rdp_dbus_get_reason(const struct rdp_dbus *db)
{
	return db->reason;
}

G_GNUC_PRINTF(3, 4)
static void set_state(struct rdp_dbus *db, enum rdp_dbus_state to, const char *fmt, ...)
{
	enum rdp_dbus_state from = db->state;
	va_list ap;

	va_start(ap, fmt);
	g_free(db->reason);
	db->reason = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	db->state = to;

	if (to == RDP_DBUS_FAILED)
		g_warning("dbus: %s -> %s: %s", rdp_dbus_state_name(from), rdp_dbus_state_name(to),
			  db->reason);
	else
		g_message("dbus: %s -> %s: %s", rdp_dbus_state_name(from), rdp_dbus_state_name(to),
			  db->reason);
	if (db->ops.state_changed)
		db->ops.state_changed(db->ud, to, db->reason);
}

static void on_method_call(GDBusConnection *conn, const char *sender, const char *path,
			   const char *iface, const char *method, GVariant *params,
			   GDBusMethodInvocation *inv, gpointer user_data)
{
	struct rdp_dbus *db = RDP_DBUS_SKEL(user_data)->db;
	g_autofree char *reason = NULL;
	g_autofree char *message = NULL;
	const char *cfg, *stripped;
	gboolean ok;

	(void)conn;
	(void)path;
	(void)iface;
	if (strcmp(method, "CheckConfig") != 0) {
		g_dbus_method_invocation_return_error(
		    inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD, "no method %s", method);
		return;
	}
	g_variant_get(params, "(&s)", &cfg);
	if (!db) {
		g_dbus_method_invocation_return_value(
		    inv, g_variant_new("(bs)", FALSE, "tcmu-rdpd is shutting down"));
		return;
	}

	/* targetcli sends "rdp/<cfgstring>", as does tcmu-runner when it forwards. */
	stripped = g_str_has_prefix(cfg, SUBTYPE_PREFIX) ? cfg + strlen(SUBTYPE_PREFIX) : cfg;
	if (db->ops.check) {
		ok = db->ops.check(db->ud, stripped, &reason);
	} else {
		ok = FALSE;
		reason = g_strdup("tcmu-rdpd has no configuration checker");
	}
	/* The reason may quote user input or file names; D-Bus strings must be UTF-8. */
	message = g_utf8_make_valid(reason ? reason : (ok ? "OK" : "invalid cfgstring"), -1);
	g_message("dbus: CheckConfig(\"%s\") from %s: %s%s%s", cfg, sender ? sender : "?",
		  ok ? "valid" : "invalid", ok ? "" : ": ", ok ? "" : message);
	g_dbus_method_invocation_return_value(inv, g_variant_new("(bs)", ok, message));
}

static GVariant *on_get_property(GDBusConnection *conn, const char *sender, const char *path,
				 const char *iface, const char *prop, GError **err,
				 gpointer user_data)
{
	struct rdp_dbus *db = RDP_DBUS_SKEL(user_data)->db;

	(void)conn;
	(void)sender;
	(void)path;
	(void)iface;
	if (db && strcmp(prop, "ConfigDesc") == 0)
		return g_variant_new_string(db->config_desc);
	g_set_error(err, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", prop);
	return NULL;
}

static GDBusInterfaceVTable service_vtable = {
    .method_call = on_method_call,
    .get_property = on_get_property,
};

static RdpDbusSkel *service_skel_new(struct rdp_dbus *db)
{
	return skel_new(g_dbus_node_info_lookup_interface(db->node, RDP_DBUS_IFACE),
			&service_vtable, db);
}

static void begin_owning(struct rdp_dbus *db);
static void begin_registering(struct rdp_dbus *db);

static void end_owning(struct rdp_dbus *db)
{
	if (db->fallback_id) {
		g_source_remove(db->fallback_id);
		db->fallback_id = 0;
	}
	if (db->own_id) {
		g_bus_unown_name(db->own_id);
		db->own_id = 0;
	}
	if (db->manager) {
		g_dbus_object_manager_server_set_connection(db->manager, NULL);
		g_clear_object(&db->manager);
	}
	if (db->service_iface) {
		db->service_iface->db = NULL;
		g_clear_object(&db->service_iface);
	}
}

static void end_registering(struct rdp_dbus *db)
{
	if (db->register_cancel) {
		g_cancellable_cancel(db->register_cancel);
		g_clear_object(&db->register_cancel);
	}
	if (db->owner_watch_id) {
		g_bus_unwatch_name(db->owner_watch_id);
		db->owner_watch_id = 0;
	}
	if (db->handler_own_id) {
		g_bus_unown_name(db->handler_own_id);
		db->handler_own_id = 0;
	}
	if (db->handler_iface) {
		db->handler_iface->db = NULL;
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(db->handler_iface));
		g_clear_object(&db->handler_iface);
	}
}

static void on_name_acquired(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_dbus *db = data;

	(void)conn;
	set_state(db, RDP_DBUS_OWNER, "owns %s; targetcli offers /backstores/user:rdp", name);
}

static gboolean fall_back_to_registering(gpointer data)
{
	struct rdp_dbus *db = data;

	db->fallback_id = 0;
	end_owning(db);
	begin_registering(db);
	return G_SOURCE_REMOVE;
}

static void on_name_lost(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_dbus *db = data;

	if (db->state == RDP_DBUS_STARTING && !g_dbus_connection_is_closed(conn)) {
		/* Taken (DO_NOT_QUEUE): most likely tcmu-runner. GLib calls us before it has
		 * noted that there is nothing to release, so unowning here would make it try. */
		if (!db->fallback_id)
			db->fallback_id = g_idle_add(fall_back_to_registering, db);
		return;
	}
	end_owning(db);
	set_state(db, RDP_DBUS_FAILED,
		  "lost %s (bus connection %s); targetcli cannot see user:rdp until tcmu-rdpd "
		  "restarts",
		  name, g_dbus_connection_is_closed(conn) ? "closed" : "still open");
}

/* Export the object tree first: a client that sees the name must find the objects. */
static void begin_owning(struct rdp_dbus *db)
{
	g_autoptr(GDBusObjectSkeleton) obj = g_dbus_object_skeleton_new(RDP_DBUS_HANDLER_PATH);

	if (db->state != RDP_DBUS_STARTING)
		set_state(db, RDP_DBUS_STARTING, "requesting %s", RDP_DBUS_NAME);
	db->manager = g_dbus_object_manager_server_new(RDP_DBUS_ROOT);
	db->service_iface = service_skel_new(db);
	g_dbus_object_skeleton_add_interface(obj, G_DBUS_INTERFACE_SKELETON(db->service_iface));
	g_dbus_object_manager_server_export(db->manager, obj);
	g_dbus_object_manager_server_set_connection(db->manager, db->conn);

	db->own_id = g_bus_own_name_on_connection(db->conn, RDP_DBUS_NAME,
						  G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
						  on_name_acquired, on_name_lost, db, NULL);
}

static void on_registered(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) reply = NULL;
	struct rdp_dbus *db;
	gboolean ok;
	const char *msg;

	reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &err);
	/* Cancelled means the service moved on or stopped: db may be gone. */
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	db = data;
	g_clear_object(&db->register_cancel);
	if (!reply) {
		set_state(db, RDP_DBUS_FAILED,
			  "the owner of %s does not take handler registrations (%s); stop it, or "
			  "stop the other tcmu-rdpd, and restart tcmu-rdpd",
			  RDP_DBUS_NAME, err->message);
		return;
	}
	g_variant_get(reply, "(b&s)", &ok, &msg);
	if (!ok) {
		set_state(db, RDP_DBUS_FAILED, "%s refused to register subtype rdp: %s",
			  RDP_DBUS_NAME, msg);
		return;
	}
	set_state(db, RDP_DBUS_REGISTERED,
		  "registered with the owner of %s (%s); it answers netlink events for rdp devices "
		  "too, so create them with control=nl_reply_supported=-1",
		  RDP_DBUS_NAME, msg);
}

static void on_handler_name_acquired(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_dbus *db = data;

	(void)name;
	db->register_cancel = g_cancellable_new();
	g_dbus_connection_call(conn, RDP_DBUS_NAME, RDP_DBUS_HM_PATH, RDP_DBUS_HM_IFACE,
			       "RegisterHandler", g_variant_new("(ss)", "rdp", db->config_desc),
			       G_VARIANT_TYPE("(bs)"), G_DBUS_CALL_FLAGS_NONE, REGISTER_TIMEOUT_MS,
			       db->register_cancel, on_registered, db);
}

static void on_handler_name_lost(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_dbus *db = data;

	(void)conn;
	if (db->register_cancel) {
		g_cancellable_cancel(db->register_cancel);
		g_clear_object(&db->register_cancel);
	}
	set_state(db, RDP_DBUS_FAILED,
		  "cannot own %s: another process (a second tcmu-rdpd?) serves subtype rdp", name);
}

/* The owner left: the name is free, serve it ourselves. */
static void on_owner_vanished(GDBusConnection *conn, const char *name, gpointer data)
{
	struct rdp_dbus *db = data;

	(void)conn;
	g_message("dbus: %s has no owner any more; taking it over", name);
	end_registering(db);
	begin_owning(db);
}

static void begin_registering(struct rdp_dbus *db)
{
	g_autoptr(GError) err = NULL;

	set_state(db, RDP_DBUS_REGISTERING,
		  "%s is owned by another process (tcmu-runner?); registering subtype rdp through "
		  "%s",
		  RDP_DBUS_NAME, RDP_DBUS_HM_IFACE);

	/* The owner forwards CheckConfig to this object under our per-handler name. */
	db->handler_iface = service_skel_new(db);
	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(db->handler_iface),
					      db->conn, RDP_DBUS_HM_HANDLER_PATH, &err)) {
		end_registering(db);
		set_state(db, RDP_DBUS_FAILED, "cannot export %s: %s", RDP_DBUS_HM_HANDLER_PATH,
			  err->message);
		return;
	}
	db->handler_own_id = g_bus_own_name_on_connection(
	    db->conn, RDP_DBUS_HM_HANDLER_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
	    on_handler_name_acquired, on_handler_name_lost, db, NULL);
	db->owner_watch_id =
	    g_bus_watch_name_on_connection(db->conn, RDP_DBUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
					   NULL, on_owner_vanished, db, NULL);
}

struct rdp_dbus *rdp_dbus_start(GDBusConnection *conn, const struct rdp_dbus_ops *ops, void *ud,
				GError **err)
{
	struct rdp_dbus *db;
	GDBusNodeInfo *node;

	g_return_val_if_fail(G_IS_DBUS_CONNECTION(conn), NULL);
	g_return_val_if_fail(ops != NULL, NULL);

	node = g_dbus_node_info_new_for_xml(introspection_xml, err);
	if (!node)
		return NULL;
	db = g_new0(struct rdp_dbus, 1);
	db->conn = g_object_ref(conn);
	db->ops = *ops;
	db->ud = ud;
	db->config_desc = g_strdup(ops->config_desc ? ops->config_desc : DEFAULT_CONFIG_DESC);
	db->node = node;
	db->state = RDP_DBUS_STARTING;
	db->reason = g_strdup("requesting " RDP_DBUS_NAME);
	g_message("dbus: %s", db->reason);
	begin_owning(db);
	return db;
}

void rdp_dbus_stop(struct rdp_dbus *db)
{
	if (!db)
		return;
	end_registering(db);
	end_owning(db);
	g_dbus_node_info_unref(db->node);
	g_object_unref(db->conn);
	g_free(db->config_desc);
	g_free(db->reason);
	g_free(db);
}
