/* rdp-probe: what tcmu-rdpd would make of some backing devices, before `targetcli create`.
 * Given devices, a WWID or a backstore cfgstring, it runs the checks and probes of the daemon's
 * attach with librdp (the device checks, each device's VPD 0x83 identity, then the LUN opened as
 * the daemon opens it: INQUIRY, capacity, REPORT TARGET PORT GROUPS) and says which devices are
 * paths of one LUN, which would be kept failed, and why any is refused. A second consumer of
 * librdp's public API: it includes nothing but <librdp/rdp.h>. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>
#include <librdp/rdp.h>

enum { EXIT_ALL_PATHS = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct probe {
	char *dev;
	dev_t rdev;
	char *wwid;    /* its identity, when it answered */
	char *refused; /* why the daemon never uses it; NULL: it is a path of the LUN */
	char *silent;  /* why it gave no identity (the daemon keeps such a path failed) */
};

/* What the daemon would make of the devices. */
struct verdict {
	GPtrArray *probes;
	char *wwid;	     /* the LUN's identity */
	char *set_refused;   /* why the daemon would refuse these devices as given */
	struct rdp_lun *lun; /* the devices not refused, opened together */
	char *lun_error;     /* why they could not be */
};

static gboolean opt_json, opt_verbose;
static char *opt_wwid, *opt_cfgstring, *opt_config;

static const GOptionEntry entries[] = {
    {"wwid", 'w', 0, G_OPTION_ARG_STRING, &opt_wwid,
     "every sg device that reports this WWID in sysfs, as cfgstring wwid=<id> finds them", "ID"},
    {"cfgstring", 'c', 0, G_OPTION_ARG_STRING, &opt_cfgstring,
     "the devices of this backstore cfgstring (wwid=<id> or a section of the config file)", "S"},
    {"config", 'f', 0, G_OPTION_ARG_FILENAME, &opt_config,
     "configuration file for --wwid and --cfgstring (default " RDP_DEFAULT_CONFIG ")", "FILE"},
    {"json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "print one JSON object", NULL},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "show librdp's log on stderr", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* librdp logs with g_message(); GLib's default writer puts those on stdout, which is ours. */
static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				   gpointer data G_GNUC_UNUSED)
{
	if (!opt_verbose && !(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)))
		return G_LOG_WRITER_HANDLED;
	g_autofree char *line = g_log_writer_format_fields(level, fields, n, FALSE);
	fprintf(stderr, "%s\n", line);
	return G_LOG_WRITER_HANDLED;
}

static struct rdp_env probe_env(void)
{
	return (struct rdp_env){.size = sizeof(struct rdp_env), .backend = rdp_backend_sg()};
}

static void probe_free(void *data)
{
	struct probe *p = data;
	g_free(p->dev);
	g_free(p->wwid);
	g_free(p->refused);
	g_free(p->silent);
	g_free(p);
}

/* What the daemon checks of one device before it sends a command, then its identity: the one
 * command attach sends every path. */
static void probe_one(struct probe *p, const GPtrArray *earlier)
{
	g_autoptr(GError) err = NULL;
	if (!rdp_sg_device_check(p->dev, &p->rdev, &err)) {
		p->refused = g_strdup(err->message);
		return;
	}
	for (unsigned int j = 0; j < earlier->len; j++) {
		const struct probe *q = g_ptr_array_index(earlier, j);
		if (q->rdev == p->rdev) {
			p->refused = g_strdup_printf("%s: the same device as %s; list each device once",
						     p->dev, q->dev);
			return;
		}
	}
	const char *const one[] = {p->dev, NULL};
	g_autoptr(rdp_lun_spec) alone = rdp_lun_spec_new(p->dev, one);
	if (!rdp_lun_spec_check_sysfs(alone, NULL, &err)) {
		p->refused = g_strdup(err->message);
		return;
	}
	char id[RDP_WWID_MAX];
	const struct rdp_env env = probe_env();
	if (rdp_device_wwid(&env, p->dev, id, sizeof(id), &err) < 0)
		p->silent = g_strdup(err->message);
	else
		p->wwid = g_strdup(id);
}

/* The LUN is the identity asked for, else the first device's answer; another is refused. */
static void judge(struct verdict *v, const struct rdp_lun_spec *spec)
{
	for (unsigned int i = 0; i < v->probes->len && !v->wwid; i++) {
		const struct probe *p = g_ptr_array_index(v->probes, i);
		if (spec->wwid)
			v->wwid = g_strdup(spec->wwid);
		else if (!p->refused && p->wwid)
			v->wwid = g_strdup(p->wwid);
	}
	for (unsigned int i = 0; i < v->probes->len; i++) {
		struct probe *p = g_ptr_array_index(v->probes, i);
		if (!p->refused && p->wwid && !rdp_wwid_same(p->wwid, v->wwid))
			p->refused = g_strdup_printf(
			    "%s: answers for LUN %s, not %s: a path whose identity (VPD 0x83) is "
			    "another LUN's is never used",
			    p->dev, p->wwid, v->wwid);
		if (p->refused && !v->set_refused)
			v->set_refused = g_strdup(p->refused);
	}
}

static void add_path_json(JsonBuilder *b, const struct rdp_path *path)
{
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, rdp_path_state_name(rdp_path_state(path)));
	json_builder_set_member_name(b, "group");
	json_builder_add_int_value(b, rdp_path_group(path));
	json_builder_set_member_name(b, "priority");
	json_builder_add_int_value(b, rdp_path_priority(path));
	json_builder_set_member_name(b, "alua");
	if (rdp_path_alua_state(path))
		json_builder_add_string_value(b, rdp_path_alua_state(path));
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "target_port_group");
	json_builder_add_int_value(b, rdp_path_target_port_group(path));
	json_builder_set_member_name(b, "relative_port");
	json_builder_add_int_value(b, rdp_path_relative_port(path));
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, rdp_path_reason(path));
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

/* A device's place in the LUN: its path there, or NULL with why not in *why. */
static const struct rdp_path *device_path(const struct verdict *v, const struct probe *p,
					  const char **why)
{
	const struct rdp_path *path = v->lun && !p->refused ? rdp_lun_find_device(v->lun, p->dev)
							    : NULL;
	*why = p->refused ? p->refused : v->lun_error ? v->lun_error : "not opened with the others";
	return path;
}

static bool attaches(const struct verdict *v)
{
	return v->lun && !v->set_refused;
}

static void print_json(const struct verdict *v, const char *early_error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "attach");
	json_builder_add_boolean_value(b, !early_error && attaches(v));
	add_string(b, "error", early_error     ? early_error
			       : v->set_refused ? v->set_refused
						: v->lun_error);
	if (early_error)
		goto out;
	add_string(b, "wwid", v->wwid);
	json_builder_set_member_name(b, "paths");
	json_builder_add_int_value(b, v->lun ? rdp_lun_path_count(v->lun) : 0);
	if (v->lun) {
		struct rdp_capacity c = rdp_lun_capacity(v->lun);
		json_builder_set_member_name(b, "blocks");
		json_builder_add_int_value(b, (gint64)c.blocks);
		json_builder_set_member_name(b, "block_size");
		json_builder_add_int_value(b, c.block_size);
		json_builder_set_member_name(b, "groups");
		json_builder_add_int_value(b, rdp_lun_group_count(v->lun));
	}
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	for (unsigned int i = 0; i < v->probes->len; i++) {
		const struct probe *p = g_ptr_array_index(v->probes, i);
		const char *why;
		const struct rdp_path *path = device_path(v, p, &why);
		json_builder_begin_object(b);
		add_string(b, "device", p->dev);
		add_string(b, "verdict",
			   !path ? "refused"
			   : rdp_path_state(path) == RDP_PATH_FAILED ? "failed"
								      : "path");
		add_string(b, "wwid", p->wwid);
		if (path)
			add_path_json(b, path);
		else
			add_string(b, "reason", why);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
out:
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autofree char *text = json_to_string(root, TRUE);
	printf("%s\n", text);
}

static void print_text(const struct verdict *v)
{
	for (unsigned int i = 0; i < v->probes->len; i++) {
		const struct probe *p = g_ptr_array_index(v->probes, i);
		const char *why;
		const struct rdp_path *path = device_path(v, p, &why);
		if (!path) {
			printf("%-12s refused  %s\n", p->dev, why);
			continue;
		}
		bool failed = rdp_path_state(path) == RDP_PATH_FAILED;
		printf("%-12s %s %s, group %u, priority %u", p->dev, failed ? "failed  " : "path    ",
		       rdp_path_state_name(rdp_path_state(path)), rdp_path_group(path),
		       rdp_path_priority(path));
		const char *alua = rdp_path_alua_state(path);
		if (alua)
			printf(", ALUA %s (target port group %d, port %d)", alua,
			       rdp_path_target_port_group(path), rdp_path_relative_port(path));
		if (failed)
			printf(": %s; the daemon keeps it failed and checks it",
			       p->silent ? p->silent : rdp_path_reason(path));
		printf("\n");
	}
	if (v->set_refused)
		printf("tcmu-rdpd would refuse these devices as given: %s\n", v->set_refused);
	if (!v->lun) {
		printf("no LUN: %s\n", v->lun_error);
		return;
	}
	struct rdp_capacity c = rdp_lun_capacity(v->lun);
	g_autofree char *size =
	    g_format_size_full(c.blocks * c.block_size, G_FORMAT_SIZE_IEC_UNITS);
	printf("LUN %s%s: %u path(s) in %u group(s); %" G_GUINT64_FORMAT " blocks of %u bytes "
	       "(%s)\n",
	       v->wwid, v->set_refused ? ", without the refused devices" : "",
	       rdp_lun_path_count(v->lun), rdp_lun_group_count(v->lun), c.blocks, c.block_size,
	       size);
}

/* Take the refused devices out of spec, with their priorities and weights. */
static void keep_paths(struct rdp_lun_spec *spec, GPtrArray *probes)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < probes->len; i++) {
		const struct probe *p = g_ptr_array_index(probes, i);
		if (p->refused) {
			g_free(spec->paths[i]);
			continue;
		}
		spec->paths[n] = spec->paths[i];
		if (spec->priorities)
			spec->priorities[n] = spec->priorities[i];
		if (spec->weights)
			spec->weights[n] = spec->weights[i];
		n++;
	}
	spec->paths[n] = NULL;
}

#define USAGE_ERROR g_quark_from_static_string("rdp-probe-usage")

/* The devices to probe, and the spec whose settings (and identity, if any) they are opened
 * with: a cfgstring's resolved as the daemon resolves it; devices by hand with the built-in
 * settings. */
static struct rdp_lun_spec *gather(int argc, char **argv, GError **err)
{
	if (!!opt_wwid + !!opt_cfgstring + (argc > 1) != 1) {
		g_set_error(err, USAGE_ERROR, 0,
			    "give exactly one of: devices, --wwid ID, --cfgstring S");
		return NULL;
	}
	if (argc > 1) {
		if (opt_config) {
			g_set_error(err, USAGE_ERROR, 0,
				    "--config applies to --wwid and --cfgstring; devices given by "
				    "hand are probed with the built-in settings");
			return NULL;
		}
		return rdp_lun_spec_new("rdp-probe", (const char *const *)argv + 1);
	}
	g_autoptr(rdp_config) cfg =
	    rdp_config_load(opt_config ? opt_config : RDP_DEFAULT_CONFIG, !opt_config, err);
	if (!cfg)
		return NULL;
	g_autofree char *cfgstring =
	    opt_cfgstring ? g_strdup(opt_cfgstring) : g_strconcat("wwid=", opt_wwid, NULL);
	return rdp_lun_spec_resolve(cfg, cfgstring, err);
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	g_log_set_writer_func(log_writer, NULL, NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(GOptionContext) ctx = g_option_context_new("[DEVICE...]");
	g_option_context_set_summary(
	    ctx, "Run tcmu-rdpd's attach checks on backing devices and say which are paths of one "
		 "LUN.\nExit status: 0 the daemon would attach them and every one is a usable path; "
		 "1 it would refuse them, or some path does not answer; 2 usage.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "rdp-probe: %s\n", err->message);
		return EXIT_USAGE;
	}
	g_autoptr(rdp_lun_spec) spec = gather(argc, argv, &err);
	if (!spec) {
		/* a malformed cfgstring or WWID, or a section that is not there, is the caller's */
		bool usage = err->domain == USAGE_ERROR ||
			     g_error_matches(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_NO_LUN);
		if (opt_json)
			print_json(NULL, err->message);
		fprintf(stderr, "rdp-probe: %s\n", err->message);
		return usage ? EXIT_USAGE : EXIT_REFUSED;
	}

	struct verdict v = {.probes = g_ptr_array_new_with_free_func(probe_free)};
	for (char **d = spec->paths; *d; d++) {
		struct probe *p = g_new0(struct probe, 1);
		p->dev = g_strdup(*d);
		probe_one(p, v.probes);
		g_ptr_array_add(v.probes, p);
	}
	judge(&v, spec);

	/* The devices not refused opened together, as the daemon's attach opens a LUN (those that
	 * gave no identity included: it keeps them failed while another path answers). */
	keep_paths(spec, v.probes);
	g_free(spec->wwid);
	spec->wwid = g_strdup(v.wwid);
	g_autoptr(GError) e = NULL;
	const struct rdp_env env = probe_env();
	if (!spec->paths[0])
		v.lun_error = g_strdup(v.probes->len ? "no device is a usable path"
						     : "no device to probe");
	else if (!(v.lun = rdp_lun_open(spec, &env, &e)))
		v.lun_error = g_strdup(e->message);

	bool all_usable = attaches(&v);
	for (unsigned int i = 0; v.lun && i < rdp_lun_path_count(v.lun); i++)
		if (rdp_path_state(rdp_lun_path(v.lun, i)) == RDP_PATH_FAILED)
			all_usable = false;
	if (opt_json)
		print_json(&v, NULL);
	else
		print_text(&v);
	if (v.lun)
		rdp_lun_close(v.lun);
	g_ptr_array_unref(v.probes);
	g_free(v.wwid);
	g_free(v.set_refused);
	g_free(v.lun_error);
	return all_usable ? EXIT_ALL_PATHS : EXIT_REFUSED;
}
