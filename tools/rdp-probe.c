/* rdp-probe: what tcmu-rdpd would make of some backing devices, before `targetcli create`.
 * Given devices, a WWID or a backstore cfgstring, it opens them with librdp as the daemon does
 * (the same device checks, the same probes: INQUIRY, VPD 0x83 identity, capacity, REPORT TARGET
 * PORT GROUPS) and says which are paths of one LUN, and why any other is refused. A second
 * consumer of librdp's public API: it includes nothing but <librdp/rdp.h>. */
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
	char *wwid;   /* its identity, when it answered */
	char *reason; /* why it is refused; NULL: it is a path of the LUN */
	struct rdp_capacity cap;
};

static gboolean opt_json, opt_verbose;
static char *opt_wwid, *opt_cfgstring, *opt_config;

static const GOptionEntry entries[] = {
    {"wwid", 'w', 0, G_OPTION_ARG_STRING, &opt_wwid,
     "every sg device that reports this WWID in sysfs, as cfgstring wwid=<id> finds them", "ID"},
    {"cfgstring", 'c', 0, G_OPTION_ARG_STRING, &opt_cfgstring,
     "the devices of this backstore cfgstring (wwid=<id> or a section of the config file)", "S"},
    {"config", 'f', 0, G_OPTION_ARG_FILENAME, &opt_config,
     "configuration file for --cfgstring and the settings (default " RDP_DEFAULT_CONFIG ")",
     "FILE"},
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

static const struct rdp_env env = {.size = sizeof(struct rdp_env), .backend = &rdp_backend_sg};

static void probe_free(void *data)
{
	struct probe *p = data;
	g_free(p->dev);
	g_free(p->wwid);
	g_free(p->reason);
	g_free(p);
}

/* A spec for dev alone, with base's settings and no identity to match: what it answers for. */
static struct rdp_lun_spec *spec_alone(const struct rdp_lun_spec *base, const char *dev)
{
	const char *const paths[] = {dev, NULL};
	struct rdp_lun_spec *s = rdp_lun_spec_new(dev, paths);
	s->cmd_timeout_ms = base->cmd_timeout_ms;
	s->checker_interval_ms = base->checker_interval_ms;
	s->max_retries = base->max_retries;
	s->grouping = base->grouping;
	return s;
}

/* Everything about one device that does not depend on the others. */
static void probe_one(struct probe *p, const struct rdp_lun_spec *base)
{
	g_autoptr(GError) err = NULL;
	if (!rdp_sg_device_check(p->dev, &p->rdev, &err)) {
		p->reason = g_strdup(err->message);
		return;
	}
	g_autoptr(rdp_lun_spec) alone = spec_alone(base, p->dev);
	if (!rdp_lun_spec_check_sysfs(alone, NULL, &err)) {
		p->reason = g_strdup(err->message);
		return;
	}
	struct rdp_lun *lun = rdp_lun_open(alone, &env, &err);
	if (!lun) {
		p->reason = g_strdup(err->message);
		return;
	}
	p->wwid = g_strdup(rdp_lun_wwid(lun));
	p->cap = rdp_lun_capacity(lun);
	rdp_lun_close(lun);
}

/* The identity the devices must share: the one asked for, else the first device's answer. */
static const char *lun_identity(const struct rdp_lun_spec *base, GPtrArray *probes)
{
	if (base->wwid)
		return base->wwid;
	for (unsigned int i = 0; i < probes->len; i++) {
		const struct probe *p = g_ptr_array_index(probes, i);
		if (p->wwid)
			return p->wwid;
	}
	return NULL;
}

static void judge(GPtrArray *probes, const char *wwid)
{
	for (unsigned int i = 0; i < probes->len; i++) {
		struct probe *p = g_ptr_array_index(probes, i);
		if (p->reason)
			continue;
		for (unsigned int j = 0; j < i && !p->reason; j++) {
			const struct probe *q = g_ptr_array_index(probes, j);
			if (q->rdev && q->rdev == p->rdev)
				p->reason = g_strdup_printf("%s: the same device as %s; list each "
							    "device once",
							    p->dev, q->dev);
		}
		if (!p->reason && g_strcmp0(p->wwid, wwid) != 0)
			p->reason = g_strdup_printf(
			    "%s: answers for LUN %s, not %s: a path whose identity (VPD 0x83) is "
			    "another LUN's is never used",
			    p->dev, p->wwid, wwid);
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

static void print_json(GPtrArray *probes, const char *wwid, struct rdp_lun *lun,
		       const char *lun_error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "wwid");
	if (wwid)
		json_builder_add_string_value(b, wwid);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "paths");
	json_builder_add_int_value(b, lun ? rdp_lun_path_count(lun) : 0);
	if (lun) {
		struct rdp_capacity c = rdp_lun_capacity(lun);
		json_builder_set_member_name(b, "blocks");
		json_builder_add_int_value(b, (gint64)c.blocks);
		json_builder_set_member_name(b, "block_size");
		json_builder_add_int_value(b, c.block_size);
		json_builder_set_member_name(b, "groups");
		json_builder_add_int_value(b, rdp_lun_group_count(lun));
	}
	json_builder_set_member_name(b, "error");
	if (lun_error)
		json_builder_add_string_value(b, lun_error);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	for (unsigned int i = 0; i < probes->len; i++) {
		const struct probe *p = g_ptr_array_index(probes, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "device");
		json_builder_add_string_value(b, p->dev);
		json_builder_set_member_name(b, "verdict");
		json_builder_add_string_value(b, p->reason ? "refused" : "path");
		json_builder_set_member_name(b, "wwid");
		if (p->wwid)
			json_builder_add_string_value(b, p->wwid);
		else
			json_builder_add_null_value(b);
		const struct rdp_path *path = lun && !p->reason ? rdp_lun_find_device(lun, p->dev)
								: NULL;
		if (path) {
			add_path_json(b, path);
		} else {
			json_builder_set_member_name(b, "reason");
			if (p->reason)
				json_builder_add_string_value(b, p->reason);
			else
				json_builder_add_null_value(b);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autofree char *text = json_to_string(root, TRUE);
	printf("%s\n", text);
}

static void print_text(GPtrArray *probes, const char *wwid, struct rdp_lun *lun,
		       const char *lun_error)
{
	for (unsigned int i = 0; i < probes->len; i++) {
		const struct probe *p = g_ptr_array_index(probes, i);
		const struct rdp_path *path = lun && !p->reason ? rdp_lun_find_device(lun, p->dev)
								: NULL;
		if (!path) {
			printf("%-12s refused  %s\n", p->dev,
			       p->reason ? p->reason : "not opened with the others");
			continue;
		}
		const char *alua = rdp_path_alua_state(path);
		printf("%-12s path     %s, group %u, priority %u", p->dev,
		       rdp_path_state_name(rdp_path_state(path)), rdp_path_group(path),
		       rdp_path_priority(path));
		if (alua)
			printf(", ALUA %s (target port group %d, port %d)", alua,
			       rdp_path_target_port_group(path), rdp_path_relative_port(path));
		printf("\n");
	}
	if (lun) {
		struct rdp_capacity c = rdp_lun_capacity(lun);
		g_autofree char *size = g_format_size_full(c.blocks * c.block_size, G_FORMAT_SIZE_IEC_UNITS);
		printf("LUN %s: %u path(s) in %u group(s); %" G_GUINT64_FORMAT " blocks of %u bytes "
		       "(%s)\n",
		       wwid, rdp_lun_path_count(lun), rdp_lun_group_count(lun), c.blocks,
		       c.block_size, size);
	} else {
		printf("no LUN: %s\n", lun_error);
	}
}

/* Take the refused devices out of spec, with their priorities and weights; how many. */
static unsigned int keep_paths(struct rdp_lun_spec *spec, GPtrArray *probes)
{
	unsigned int n = 0, refused = 0;
	for (unsigned int i = 0; i < probes->len; i++) {
		const struct probe *p = g_ptr_array_index(probes, i);
		if (p->reason) {
			g_free(spec->paths[i]);
			refused++;
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
	return refused;
}

/* The devices to probe, and the spec whose settings (and identity, if any) they are opened with. */
static struct rdp_lun_spec *gather(int argc, char **argv, GError **err)
{
	if (!!opt_wwid + !!opt_cfgstring + (argc > 1) != 1) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "give exactly one of: devices, --wwid ID, --cfgstring S");
		return NULL;
	}
	g_autoptr(rdp_config) cfg =
	    rdp_config_load(opt_config ? opt_config : RDP_DEFAULT_CONFIG, !opt_config, err);
	if (!cfg)
		return NULL;
	if (opt_cfgstring || opt_wwid) {
		g_autofree char *cfgstring =
		    opt_cfgstring ? g_strdup(opt_cfgstring) : g_strconcat("wwid=", opt_wwid, NULL);
		return rdp_lun_spec_resolve(cfg, cfgstring, err);
	}
	/* devices given by hand: the settings of an empty section */
	struct rdp_lun_spec *spec = rdp_lun_spec_new("rdp-probe", (const char *const *)argv + 1);
	return spec;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	g_log_set_writer_func(log_writer, NULL, NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(GOptionContext) ctx = g_option_context_new("[DEVICE...]");
	g_option_context_set_summary(
	    ctx, "Open backing devices with librdp as tcmu-rdpd would and say which are paths of "
		 "one LUN.\nExit status: 0 every device is a path of the LUN; 1 some device is "
		 "refused, or no LUN can be made; 2 usage.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "rdp-probe: %s\n", err->message);
		return EXIT_USAGE;
	}
	g_autoptr(rdp_lun_spec) spec = gather(argc, argv, &err);
	if (!spec) {
		fprintf(stderr, "rdp-probe: %s\n", err->message);
		return g_error_matches(err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED) ? EXIT_USAGE
										    : EXIT_REFUSED;
	}

	g_autoptr(GPtrArray) probes = g_ptr_array_new_with_free_func(probe_free);
	for (char **d = spec->paths; *d; d++) {
		struct probe *p = g_new0(struct probe, 1);
		p->dev = g_strdup(*d);
		probe_one(p, spec);
		g_ptr_array_add(probes, p);
	}
	const char *id = lun_identity(spec, probes);
	g_autofree char *wwid = g_strdup(id);
	judge(probes, wwid);

	/* The accepted devices opened together, as the daemon's attach opens a LUN. */
	unsigned int refused = keep_paths(spec, probes);
	g_free(spec->wwid);
	spec->wwid = g_strdup(wwid);
	struct rdp_lun *lun = NULL;
	g_autofree char *lun_error = NULL;
	g_autoptr(GError) e = NULL;
	if (!spec->paths[0])
		lun_error = g_strdup(probes->len ? "no device is a usable path" : "no device to probe");
	else if (!rdp_lun_spec_check_sysfs(spec, NULL, &e) || !(lun = rdp_lun_open(spec, &env, &e)))
		lun_error = g_strdup(e->message);
	if (opt_json)
		print_json(probes, wwid, lun, lun_error);
	else
		print_text(probes, wwid, lun, lun_error);
	int rc = lun && !refused ? EXIT_ALL_PATHS : EXIT_REFUSED;
	if (lun)
		rdp_lun_close(lun);
	return rc;
}
