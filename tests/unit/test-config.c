/* Unit tests of the configuration model (lib/config.c) and of the pure helpers of discovery
 * (lib/discover.c). Test files go to a fresh temporary directory per test. The example config
 * and docs/configuration.md are read from the source tree: run with G_TEST_SRCDIR set to the
 * tree's tests/unit directory (meson: env G_TEST_SRCDIR=meson.current_source_dir()). */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* Bogus identity: no device reports it, so discovery comes back empty. */
#define NO_SUCH_WWID "naa.00000000deadbeef0000000000000000"

struct fixture {
	char *dir;
	unsigned int files;
};

static void fixture_setup(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) err = NULL;

	f->dir = g_dir_make_tmp("rdp-test-config-XXXXXX", &err);
	g_assert_no_error(err);
	f->files = 0;
}

static void fixture_teardown(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename(f->dir, name, NULL);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			g_assert_cmpint(g_rmdir(path), ==, 0);
		else
			g_assert_cmpint(g_unlink(path), ==, 0);
	}
	g_assert_cmpint(g_rmdir(f->dir), ==, 0);
	g_free(f->dir);
}

/* Write len bytes of text (-1: up to the NUL) to a new file of the fixture; returns its path. */
static char *write_file_len(struct fixture *f, const char *text, gssize len)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *name = g_strdup_printf("t%u.conf", f->files++);
	char *path = g_build_filename(f->dir, name, NULL);

	g_file_set_contents(path, text, len, &err);
	g_assert_no_error(err);
	return path;
}

static char *write_file(struct fixture *f, const char *text)
{
	return write_file_len(f, text, -1);
}

/* expected with every "@F@" replaced by file */
static char *expand(const char *expected, const char *file)
{
	g_auto(GStrv) parts = g_strsplit(expected, "@F@", -1);
	return g_strjoinv(file, parts);
}

static struct rdp_config *load_ok(struct fixture *f, const char *text)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *path = write_file(f, text);
	struct rdp_config *cfg = rdp_config_load(path, false, &err);

	g_assert_no_error(err);
	g_assert_nonnull(cfg);
	g_assert_cmpstr(rdp_config_file(cfg), ==, path);
	return cfg;
}

static void check_load_error_len(struct fixture *f, const char *text, gssize len, int code,
				 const char *expected)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *path = write_file_len(f, text, len);
	g_autoptr(rdp_config) cfg = rdp_config_load(path, false, &err);
	g_autofree char *want = expand(expected, path);

	g_assert_null(cfg);
	g_assert_error(err, RDP_CONFIG_ERROR, code);
	g_assert_cmpstr(err->message, ==, want);
}

static void check_load_error(struct fixture *f, const char *text, int code, const char *expected)
{
	check_load_error_len(f, text, -1, code, expected);
}

static struct rdp_lun_spec *lookup_ok(const struct rdp_config *cfg, const char *cfgstring)
{
	g_autoptr(GError) err = NULL;
	struct rdp_lun_spec *spec = rdp_lun_spec_lookup(cfg, cfgstring, &err);

	g_assert_no_error(err);
	g_assert_nonnull(spec);
	return spec;
}

static void check_resolve_error(const struct rdp_config *cfg, const char *cfgstring, int code,
				const char *expected)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_resolve(cfg, cfgstring, &err);
	g_autofree char *want = expand(expected, cfg ? rdp_config_file(cfg) : "");

	g_assert_null(spec);
	g_assert_error(err, RDP_CONFIG_ERROR, code);
	g_assert_cmpstr(err->message, ==, want);
}

static void check_spec(const struct rdp_lun_spec *spec, unsigned int timeout_ms,
		       unsigned int interval_ms, unsigned int retries,
		       enum rdp_selector_kind selector)
{
	g_assert_cmpuint(spec->cmd_timeout_ms, ==, timeout_ms);
	g_assert_cmpuint(spec->checker_interval_ms, ==, interval_ms);
	g_assert_cmpuint(spec->max_retries, ==, retries);
	g_assert_cmpint(spec->selector, ==, selector);
}

/* The path-group, no-path, checker and marginal settings of a spec. */
struct policy {
	enum rdp_grouping grouping;
	enum rdp_failback failback;
	unsigned int failback_delay_ms;
	unsigned int no_path_retry;
	unsigned int max_checker_interval_ms;
	bool read_checker;
	unsigned int marginal_err_count;
	unsigned int marginal_window_ms;
	unsigned int marginal_recovery_ms;
};

/* With the built-in checker_interval of 5 s */
static const struct policy default_policy = {
    .grouping = RDP_GROUP_AUTO,
    .failback = RDP_FAILBACK_IMMEDIATE,
    .failback_delay_ms = 0,
    .no_path_retry = RDP_NO_PATH_QUEUE,
    .max_checker_interval_ms = 20000,
    .read_checker = false,
    .marginal_err_count = 0,
    .marginal_window_ms = 60000,
    .marginal_recovery_ms = 300000,
};

static void check_policy(const struct rdp_lun_spec *spec, const struct policy *want)
{
	g_assert_cmpint(spec->grouping, ==, want->grouping);
	g_assert_cmpint(spec->failback, ==, want->failback);
	g_assert_cmpuint(spec->failback_delay_ms, ==, want->failback_delay_ms);
	g_assert_cmpuint(spec->no_path_retry, ==, want->no_path_retry);
	g_assert_cmpuint(spec->max_checker_interval_ms, ==, want->max_checker_interval_ms);
	g_assert_cmpint(spec->read_checker, ==, want->read_checker);
	g_assert_cmpuint(spec->marginal_err_count, ==, want->marginal_err_count);
	g_assert_cmpuint(spec->marginal_window_ms, ==, want->marginal_window_ms);
	g_assert_cmpuint(spec->marginal_recovery_ms, ==, want->marginal_recovery_ms);
}

/* Every setting at its built-in value, no per-path values. */
static void check_default_spec(const struct rdp_lun_spec *spec)
{
	check_spec(spec, 13000, 5000, 5, RDP_SEL_ROUND_ROBIN);
	check_policy(spec, &default_policy);
	g_assert_null(spec->priorities);
	g_assert_null(spec->weights);
	/* the only port: no ALUA claimed */
	g_assert_cmpuint(spec->target_port, ==, 0);
	g_assert_cmpuint(spec->target_ports, ==, 1);
}

static void check_values(const unsigned int *got, const unsigned int *want, size_t n)
{
	g_assert_nonnull(got);
	for (size_t i = 0; i < n; i++)
		g_assert_cmpuint(got[i], ==, want[i]);
}

/* The spec of LUN [l], given as "[l]\npaths = /dev/sg1\n" followed by lines. */
static struct rdp_lun_spec *lookup_lines(struct fixture *f, const char *lines)
{
	g_autofree char *text = g_strdup_printf("[l]\npaths = /dev/sg1\n%s", lines);
	g_autoptr(rdp_config) cfg = load_ok(f, text);
	return lookup_ok(cfg, "l");
}

/* "<key> = <value>" on line 3 of LUN [l] fails with "@F@:3: [l] <key>: <problem>". */
struct bad_value {
	const char *key;
	const char *value;
	const char *problem;
};

static void check_bad_values(struct fixture *f, const struct bad_value *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		g_autofree char *text = g_strdup_printf("[l]\npaths = /dev/sg1\n%s = %s\n",
							cases[i].key, cases[i].value);
		g_autofree char *want =
		    g_strdup_printf("@F@:3: [l] %s: %s", cases[i].key, cases[i].problem);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
	}
}

/* ---- good files ---- */

static void test_load_paths(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "# a comment\n"
					       "[defaults]\n"
					       "cmd_timeout = 20\n"
					       "max_retries = 3\n"
					       "\n"
					       "[db]\n"
					       "  paths = /dev/sg1; /dev/sg2 ;/dev//sg10;\n"
					       "selector = queue-length\n"
					       "checker_interval = 2500ms\n"
					       "[plain]\n"
					       "paths=/dev/sg3\n"
					       "cmd_timeout = 7s\n");
	g_auto(GStrv) names = rdp_config_lun_names(cfg);
	const char *const want_names[] = {"db", "plain", NULL};
	g_assert_true(g_strv_equal((const char *const *)names, want_names));

	g_autoptr(rdp_lun_spec) db = lookup_ok(cfg, "db");
	const char *const want_paths[] = {"/dev/sg1", "/dev/sg2", "/dev/sg10", NULL};
	g_assert_cmpstr(db->name, ==, "db");
	g_assert_null(db->wwid);
	g_assert_true(g_strv_equal((const char *const *)db->paths, want_paths));
	check_spec(db, 20000, 2500, 3, RDP_SEL_QUEUE_LENGTH);

	g_autoptr(rdp_lun_spec) plain = lookup_ok(cfg, "plain");
	g_assert_cmpstr(plain->paths[0], ==, "/dev/sg3");
	g_assert_null(plain->paths[1]);
	check_spec(plain, 7000, 5000, 3, RDP_SEL_ROUND_ROBIN);
}

static void test_load_wwid(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	/* [defaults] after the LUN still applies; NAA hex is lower-cased like the kernel's */
	g_autoptr(rdp_config) cfg = load_ok(f, "[arch:1]\r\n"
					       "wwid = NAA.6001405ABCDEF\r\n"
					       "cmd_timeout = 45s\r\n"
					       "[defaults]\r\n"
					       "checker_interval = 60\r\n"
					       "selector = queue-length\r\n");
	g_autoptr(rdp_lun_spec) spec = lookup_ok(cfg, "arch:1");

	g_assert_cmpstr(spec->name, ==, "arch:1");
	g_assert_cmpstr(spec->wwid, ==, "naa.6001405abcdef");
	g_assert_nonnull(spec->paths);
	g_assert_null(spec->paths[0]);
	check_spec(spec, 45000, 60000, 5, RDP_SEL_QUEUE_LENGTH);

	/* a wwid= cfgstring takes [defaults] only; text designators keep their case */
	g_autoptr(rdp_lun_spec) by_id = lookup_ok(cfg, "wwid=t10.ATA  QEMU HARDDISK");
	g_assert_cmpstr(by_id->name, ==, "wwid=t10.ATA  QEMU HARDDISK");
	g_assert_cmpstr(by_id->wwid, ==, "t10.ATA  QEMU HARDDISK");
	g_assert_null(by_id->paths[0]);
	check_spec(by_id, 13000, 60000, 5, RDP_SEL_QUEUE_LENGTH);
}

static void test_load_builtin_defaults(void)
{
	g_autoptr(rdp_lun_spec) spec = lookup_ok(NULL, "wwid=eui.00A0B1");

	g_assert_cmpstr(spec->wwid, ==, "eui.00a0b1");
	check_default_spec(spec);
}

static void test_load_bounds(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "[low]\n"
					       "paths = /dev/sg1\n"
					       "cmd_timeout = 1\n"
					       "checker_interval = 1000ms\n"
					       "max_retries = 0\n"
					       "[high]\n"
					       "paths = /dev/sg2\n"
					       "cmd_timeout = 3600s\n"
					       "checker_interval = 3600000ms\n"
					       "max_retries = 100\n");
	g_autoptr(rdp_lun_spec) low = lookup_ok(cfg, "low");
	g_autoptr(rdp_lun_spec) high = lookup_ok(cfg, "high");

	check_spec(low, 1000, 1000, 0, RDP_SEL_ROUND_ROBIN);
	check_spec(high, 3600000, 3600000, 100, RDP_SEL_ROUND_ROBIN);
}

static void test_load_empty(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	const char *texts[] = {"", "\n\n", "# only a comment\n   # and another\n"};

	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_autoptr(rdp_config) cfg = load_ok(f, texts[i]);
		g_auto(GStrv) names = rdp_config_lun_names(cfg);
		g_assert_cmpuint(g_strv_length(names), ==, 0);
		check_resolve_error(cfg, "db", RDP_CONFIG_ERROR_NO_LUN,
				    "no LUN section [db] in @F@; it defines no LUN");
	}
}

static void test_load_missing(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *path = g_build_filename(f->dir, "absent.conf", NULL);
	g_autoptr(GError) err = NULL;

	g_autoptr(rdp_config) cfg = rdp_config_load(path, true, &err);
	g_assert_no_error(err);
	g_assert_nonnull(cfg);
	g_auto(GStrv) names = rdp_config_lun_names(cfg);
	g_assert_cmpuint(g_strv_length(names), ==, 0);
	check_resolve_error(cfg, "db", RDP_CONFIG_ERROR_NO_LUN,
			    "no LUN section [db] in @F@; the file does not exist");

	g_autoptr(rdp_config) strict = rdp_config_load(path, false, &err);
	g_assert_null(strict);
	g_assert_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ);
	g_autofree char *want =
	    g_strdup_printf("%s: cannot open the configuration file: %s", path, g_strerror(ENOENT));
	g_assert_cmpstr(err->message, ==, want);
}

static void test_load_not_regular(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(GError) err = NULL;

	/* missing_ok covers absence only, not a path that is something else */
	g_autoptr(rdp_config) cfg = rdp_config_load(f->dir, true, &err);
	g_assert_null(cfg);
	g_assert_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ);
	g_autofree char *want = g_strdup_printf(
	    "%s: not a regular file; give the path of the configuration file", f->dir);
	g_assert_cmpstr(err->message, ==, want);
}

/* ---- bad files ---- */

#define DEFAULTS_KEYS                                                                              \
	"cmd_timeout, checker_interval, max_retries, selector, grouping, failback, "               \
	"no_path_retry, max_checker_interval, checker, marginal_err_count, marginal_window, "      \
	"marginal_recovery, target_port, target_ports"
#define LUN_KEYS "paths, wwid, " DEFAULTS_KEYS ", priorities, weights"

static void test_bad_keys(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	check_load_error(f, "[l]\npaths = /dev/sg1\ntimeout = 3\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:3: [l] timeout: unknown key; known keys here: " LUN_KEYS);
	check_load_error(f, "[defaults]\nfoo = 1\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:2: [defaults] foo: unknown key; known keys here: " DEFAULTS_KEYS);
	/* GKeyFile would take this as a translation of paths */
	check_load_error(f, "[l]\npaths[de] = /dev/sg1\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:2: [l] paths[de]: unknown key; known keys here: " LUN_KEYS);
	/* words are lower case like keys, and keys are not words */
	check_load_error(
	    f, "[defaults]\nGrouping = alua\n", RDP_CONFIG_ERROR_KEY,
	    "@F@:2: [defaults] Grouping: unknown key; known keys here: " DEFAULTS_KEYS);
	check_load_error(f, "[defaults]\npaths = /dev/sg1\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:2: [defaults] paths: only allowed in a LUN section; each LUN names "
			 "its own devices");
	check_load_error(f, "[defaults]\n\nwwid = naa.1\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:3: [defaults] wwid: only allowed in a LUN section; each LUN names "
			 "its own devices");
	check_load_error(f, "[l]\npaths = /dev/sg1\npaths = /dev/sg2\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:3: [l] paths: given twice in this section (first at line 2)");
	check_load_error(f, "[l]\npaths = /dev/sg1\n[m]\npaths = /dev/sg2\n[l]\nmax_retries = 1\n",
			 RDP_CONFIG_ERROR_KEY,
			 "@F@:5: [l]: section given twice (first at line 1); merge the two");
}

static void test_bad_selector(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	check_load_error(f, "[l]\npaths = /dev/sg1\nselector = fifo\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:3: [l] selector: \"fifo\" is not a path selector; use round-robin, "
			 "queue-length, service-time or weighted");
	check_load_error(f, "[defaults]\nselector = Round-Robin\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [defaults] selector: \"Round-Robin\" is not a path selector; use "
			 "round-robin, queue-length, service-time or weighted");
	check_load_error(f, "[defaults]\nselector =\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [defaults] selector: \"\" is not a path selector; use "
			 "round-robin, queue-length, service-time or weighted");
}

static void test_bad_range(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *line;
		const char *problem;
	} cases[] = {
	    {"cmd_timeout = 0", "cmd_timeout: 0 is out of range; allowed: 1 to 3600 seconds"},
	    {"cmd_timeout = 3601", "cmd_timeout: 3601 is out of range; allowed: 1 to 3600 seconds"},
	    {"cmd_timeout = 999ms",
	     "cmd_timeout: 999ms is out of range; allowed: 1 to 3600 seconds"},
	    {"checker_interval = 3600001ms",
	     "checker_interval: 3600001ms is out of range; allowed: 1 to 3600 seconds"},
	    {"checker_interval = 99999999999999999999",
	     "checker_interval: 99999999999999999999 is out of range; allowed: 1 to 3600 "
	     "seconds"},
	    {"max_retries = 101", "max_retries: 101 is out of range; allowed: 0 to 100"},
	    {"max_checker_interval = 0",
	     "max_checker_interval: 0 is out of range; allowed: 1 to 14400 seconds"},
	    {"max_checker_interval = 14401",
	     "max_checker_interval: 14401 is out of range; allowed: 1 to 14400 seconds"},
	    {"marginal_err_count = 1001",
	     "marginal_err_count: 1001 is out of range; allowed: 0 to 1000"},
	    {"marginal_window = 0",
	     "marginal_window: 0 is out of range; allowed: 1 to 3600 seconds"},
	    {"marginal_window = 3601s",
	     "marginal_window: 3601s is out of range; allowed: 1 to 3600 seconds"},
	    {"marginal_recovery = 999ms",
	     "marginal_recovery: 999ms is out of range; allowed: 1 to 86400 seconds"},
	    {"marginal_recovery = 86401",
	     "marginal_recovery: 86401 is out of range; allowed: 1 to 86400 seconds"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text =
		    g_strdup_printf("[l]\npaths = /dev/sg1\n%s\n", cases[i].line);
		g_autofree char *want = g_strdup_printf("@F@:3: [l] %s", cases[i].problem);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
	}
}

static void test_bad_number(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const char *const durations[] = {"abc", "1.5", "-1", "+3", "30min", "s", "0x10", ""};
	static const char *const counts[] = {"three", "-1", "1e2", "5s", ""};

	static const char *const duration_keys[] = {"cmd_timeout", "checker_interval",
						    "max_checker_interval", "marginal_window",
						    "marginal_recovery"};
	static const char *const count_keys[] = {"max_retries", "marginal_err_count"};

	for (size_t k = 0; k < G_N_ELEMENTS(duration_keys); k++) {
		for (size_t i = 0; i < G_N_ELEMENTS(durations); i++) {
			g_autofree char *text = g_strdup_printf("[defaults]\n%s = %s\n",
								duration_keys[k], durations[i]);
			g_autofree char *want = g_strdup_printf(
			    "@F@:2: [defaults] %s: \"%s\" is not a duration; write whole seconds "
			    "(30) or milliseconds (1500ms)",
			    duration_keys[k], durations[i]);
			check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
		}
	}
	for (size_t k = 0; k < G_N_ELEMENTS(count_keys); k++) {
		for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
			g_autofree char *text =
			    g_strdup_printf("[defaults]\n%s = %s\n", count_keys[k], counts[i]);
			g_autofree char *want =
			    g_strdup_printf("@F@:2: [defaults] %s: \"%s\" is not a whole number",
					    count_keys[k], counts[i]);
			check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
		}
	}
	check_load_error(f, "[defaults]\ncmd_timeout = 30 # seconds\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [defaults] cmd_timeout: a # comment must be on a line of its own");
}

static void test_bad_source(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	check_load_error(f, "[l]\npaths = /dev/sg1\nwwid = naa.1\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:3: [l] wwid: cannot be combined with paths (line 2); a LUN is given "
			 "by paths or by wwid, not both");
	check_load_error(f, "[l]\nwwid = naa.1\nmax_retries = 1\npaths = /dev/sg1\n",
			 RDP_CONFIG_ERROR_KEY,
			 "@F@:4: [l] paths: cannot be combined with wwid (line 2); a LUN is given "
			 "by paths or by wwid, not both");
	check_load_error(f, "[defaults]\n[l]\ncmd_timeout = 3\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:2: [l]: gives neither paths nor wwid; add paths = /dev/sgA;/dev/sgB "
			 "or wwid = <id>");
	check_load_error(f, "[l]\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:1: [l]: gives neither paths nor wwid; add paths = /dev/sgA;/dev/sgB "
			 "or wwid = <id>");
	check_load_error(f, "[l]\nwwid = naa.1/2\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [l] wwid: \"naa.1/2\" contains '/'; copy the identity from "
			 "/sys/class/scsi_generic/sgN/device/wwid");
	check_load_error(f, "[l]\nwwid =\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [l] wwid: \"\" is empty; copy the identity from "
			 "/sys/class/scsi_generic/sgN/device/wwid");
	check_load_error(f, "[a]\nwwid = naa.AB\n[b]\nwwid = naa.ab\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:4: [b] wwid: naa.ab is already used by [a] (line 2); a device can "
			 "back one LUN only");
}

static void test_bad_paths(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *value;
		const char *problem;
	} cases[] = {
	    {"sg1", "sg1: not an absolute path; name the device as /dev/sgN"},
	    {"/dev/sg1;dev/sg2", "dev/sg2: not an absolute path; name the device as /dev/sgN"},
	    {"/dev/../tmp/sg1", "/dev/../tmp/sg1: has a '..' component; name the device as "
				"/dev/sgN"},
	    {"/dev/sg1/..", "/dev/sg1/..: has a '..' component; name the device as /dev/sgN"},
	    {"/tmp/sg1", "/tmp/sg1: not under /dev/; name the SCSI generic device as /dev/sgN"},
	    {"/dev", "/dev: not under /dev/; name the SCSI generic device as /dev/sgN"},
	    {"/dev/sg1 /dev/sg2", "/dev/sg1 /dev/sg2: contains a blank; separate devices with ';'"},
	    {"/dev/sg1;/dev/sg2;/dev//sg1", "/dev/sg1 is listed twice; list each device once"},
	    {";", "no device given; list the SCSI generic devices, e.g. paths = /dev/sg1;/dev/sg2"},
	    {"", "no device given; list the SCSI generic devices, e.g. paths = /dev/sg1;/dev/sg2"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strdup_printf("[l]\npaths = %s\n", cases[i].value);
		g_autofree char *want = g_strdup_printf("@F@:2: [l] paths: %s", cases[i].problem);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
	}
	check_load_error(f, "[a]\npaths = /dev/sg1;/dev/sg2\n\n[b]\npaths = /dev/sg3;/dev/./sg2\n",
			 RDP_CONFIG_ERROR_VALUE,
			 "@F@:5: [b] paths: /dev/sg2 is already used by [a] (line 2); a device "
			 "can back one LUN only");
}

static void test_bad_sections(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *name;
		const char *problem;
	} cases[] = {
	    {"a b", "contains ' '"},
	    {"x/y", "contains '/'"},
	    {"a..b", "contains '..'"},
	    {"wwid=naa.1", "contains '='"},
	    {"lün", "contains a non-ASCII character"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strdup_printf("[%s]\npaths = /dev/sg1\n", cases[i].name);
		g_autofree char *name = g_strescape(cases[i].name, NULL);
		g_autofree char *want = g_strdup_printf(
		    "@F@:1: [%s]: cannot be a LUN name: it %s; use letters, digits and . _ - : "
		    "@ +",
		    name, cases[i].problem);
		check_load_error(f, text, RDP_CONFIG_ERROR_KEY, want);
	}
	check_load_error(f, "[Defaults]\ncmd_timeout = 3\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:1: [Defaults]: section names are case-sensitive; the defaults "
			 "section is [defaults]");
}

static void test_bad_syntax(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	check_load_error(f, "[l]\npaths = /dev/sg1\nnot a key value\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:3: syntax error: \"not a key value\" is not a [section] header, a "
			 "key = value line or a # comment");
	check_load_error(f, "[l\npaths = /dev/sg1\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:1: syntax error: a section header is one name in brackets, like "
			 "[lun0]");
	check_load_error(f, "[l]]\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:1: syntax error: a section header is one name in brackets, like "
			 "[lun0]");
	check_load_error(f, "\n[]\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:2: syntax error: empty section name []");
	check_load_error(f, "[l]\n = 3\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:2: syntax error: '=' without a key");
	check_load_error(f, "# c\ncmd_timeout = 3\n[l]\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:2: cmd_timeout: outside any section; put it under [defaults] or "
			 "under a LUN section");
	static const char nul[] = "[l]\npaths = /dev/sg1\0\n";
	check_load_error_len(f, nul, sizeof(nul) - 1, RDP_CONFIG_ERROR_SYNTAX,
			     "@F@:2: contains a NUL byte; is this a text file?");
	check_load_error(f, "[l]\npaths = /dev/sg1\n# \xff\n", RDP_CONFIG_ERROR_SYNTAX,
			 "@F@:3: not valid UTF-8 text");
}

/* ---- path groups, failback, no-path policy, checker, marginal paths ---- */

static void test_key_selector(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *value;
		enum rdp_selector_kind want;
	} cases[] = {
	    {"round-robin", RDP_SEL_ROUND_ROBIN},
	    {"queue-length", RDP_SEL_QUEUE_LENGTH},
	    {" service-time ", RDP_SEL_SERVICE_TIME},
	    {"weighted", RDP_SEL_WEIGHTED},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *lines = g_strdup_printf("selector = %s\n", cases[i].value);
		g_autoptr(rdp_lun_spec) spec = lookup_lines(f, lines);
		g_assert_cmpint(spec->selector, ==, cases[i].want);
	}
}

static void test_key_grouping(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *value;
		enum rdp_grouping want;
	} cases[] = {
	    {"auto", RDP_GROUP_AUTO},	      {"alua", RDP_GROUP_ALUA},
	    {"priority", RDP_GROUP_PRIORITY}, {"multibus", RDP_GROUP_MULTIBUS},
	    {"failover", RDP_GROUP_FAILOVER},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *lines = g_strdup_printf("grouping = %s\n", cases[i].value);
		g_autoptr(rdp_lun_spec) spec = lookup_lines(f, lines);
		g_assert_cmpint(spec->grouping, ==, cases[i].want);
	}
	g_autoptr(rdp_lun_spec) spec = lookup_lines(f, "");
	g_assert_cmpint(spec->grouping, ==, RDP_GROUP_AUTO);

	static const struct bad_value bad[] = {
	    {"grouping", "ALUA",
	     "\"ALUA\" is not a path grouping; use auto, alua, priority, multibus or failover"},
	    {"grouping", "group_by_prio",
	     "\"group_by_prio\" is not a path grouping; use auto, alua, priority, multibus or "
	     "failover"},
	    {"grouping", "",
	     "\"\" is not a path grouping; use auto, alua, priority, multibus or "
	     "failover"},
	};
	check_bad_values(f, bad, G_N_ELEMENTS(bad));
}

static void test_key_failback(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *value;
		enum rdp_failback want;
		unsigned int delay_ms;
	} cases[] = {
	    {"immediate", RDP_FAILBACK_IMMEDIATE, 0},	{"manual", RDP_FAILBACK_MANUAL, 0},
	    {"followover", RDP_FAILBACK_FOLLOWOVER, 0}, {"30", RDP_FAILBACK_DEFERRED, 30000},
	    {"1", RDP_FAILBACK_DEFERRED, 1000},		{"3600s", RDP_FAILBACK_DEFERRED, 3600000},
	    {"1500ms", RDP_FAILBACK_DEFERRED, 1500},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *lines = g_strdup_printf("failback = %s\n", cases[i].value);
		g_autoptr(rdp_lun_spec) spec = lookup_lines(f, lines);
		g_assert_cmpint(spec->failback, ==, cases[i].want);
		g_assert_cmpuint(spec->failback_delay_ms, ==, cases[i].delay_ms);
	}
	g_autoptr(rdp_lun_spec) spec = lookup_lines(f, "");
	g_assert_cmpint(spec->failback, ==, RDP_FAILBACK_IMMEDIATE);
	g_assert_cmpuint(spec->failback_delay_ms, ==, 0);

	/* a word in the LUN drops the delay inherited from [defaults] */
	g_autoptr(rdp_config) cfg =
	    load_ok(f, "[defaults]\nfailback = 20\n[l]\npaths = /dev/sg1\nfailback = manual\n"
		       "[m]\npaths = /dev/sg2\n");
	g_autoptr(rdp_lun_spec) l = lookup_ok(cfg, "l");
	g_assert_cmpint(l->failback, ==, RDP_FAILBACK_MANUAL);
	g_assert_cmpuint(l->failback_delay_ms, ==, 0);
	g_autoptr(rdp_lun_spec) m = lookup_ok(cfg, "m");
	g_assert_cmpint(m->failback, ==, RDP_FAILBACK_DEFERRED);
	g_assert_cmpuint(m->failback_delay_ms, ==, 20000);

	static const struct bad_value bad[] = {
	    {"failback", "never",
	     "\"never\" is not a failback policy; use immediate, manual or followover, or a delay "
	     "in seconds (30)"},
	    {"failback", "Immediate",
	     "\"Immediate\" is not a failback policy; use immediate, manual or followover, or a "
	     "delay in seconds (30)"},
	    {"failback", "-5",
	     "\"-5\" is not a failback policy; use immediate, manual or followover, or a delay in "
	     "seconds (30)"},
	    {"failback", "",
	     "\"\" is not a failback policy; use immediate, manual or followover, "
	     "or a delay in seconds (30)"},
	    {"failback", "0",
	     "0 is out of range; allowed: 1 to 3600 seconds, or immediate, manual or followover"},
	    {"failback", "3601",
	     "3601 is out of range; allowed: 1 to 3600 seconds, or immediate, manual or "
	     "followover"},
	    {"failback", "500ms",
	     "500ms is out of range; allowed: 1 to 3600 seconds, or immediate, manual or "
	     "followover"},
	    {"failback", "30min",
	     "\"30min\" is not a duration; write whole seconds (30) or milliseconds (1500ms)"},
	    {"failback", "1.5",
	     "\"1.5\" is not a duration; write whole seconds (30) or milliseconds (1500ms)"},
	};
	check_bad_values(f, bad, G_N_ELEMENTS(bad));
}

static void test_key_no_path_retry(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct {
		const char *value;
		unsigned int want;
	} cases[] = {
	    {"fail", RDP_NO_PATH_FAIL}, {"queue", RDP_NO_PATH_QUEUE}, {"1", 1}, {"12", 12},
	    {"10000", 10000},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *lines = g_strdup_printf("no_path_retry = %s\n", cases[i].value);
		g_autoptr(rdp_lun_spec) spec = lookup_lines(f, lines);
		g_assert_cmpuint(spec->no_path_retry, ==, cases[i].want);
	}
	g_autoptr(rdp_lun_spec) spec = lookup_lines(f, "");
	g_assert_cmpuint(spec->no_path_retry, ==, RDP_NO_PATH_QUEUE);

	static const struct bad_value bad[] = {
	    {"no_path_retry", "forever",
	     "\"forever\" is not a no-path policy; use fail or queue, or a number of checker "
	     "intervals (1 to 10000)"},
	    {"no_path_retry", "Queue",
	     "\"Queue\" is not a no-path policy; use fail or queue, or a number of checker "
	     "intervals (1 to 10000)"},
	    {"no_path_retry", "",
	     "\"\" is not a no-path policy; use fail or queue, or a number of checker intervals "
	     "(1 to 10000)"},
	    {"no_path_retry", "0", "0 is out of range; allowed: 1 to 10000, or fail or queue"},
	    {"no_path_retry", "10001",
	     "10001 is out of range; allowed: 1 to 10000, or fail or queue"},
	    {"no_path_retry", "99999999999999999999",
	     "99999999999999999999 is out of range; allowed: 1 to 10000, or fail or queue"},
	    {"no_path_retry", "5s", "\"5s\" is not a whole number"},
	};
	check_bad_values(f, bad, G_N_ELEMENTS(bad));
}

static void test_key_checker(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_lun_spec) tur = lookup_lines(f, "checker = tur\n");
	g_assert_false(tur->read_checker);
	g_autoptr(rdp_lun_spec) read = lookup_lines(f, "checker = read\n");
	g_assert_true(read->read_checker);
	g_autoptr(rdp_lun_spec) dflt = lookup_lines(f, "");
	g_assert_false(dflt->read_checker);

	static const struct bad_value bad[] = {
	    {"checker", "readsector0", "\"readsector0\" is not a path checker; use tur or read"},
	    {"checker", "TUR", "\"TUR\" is not a path checker; use tur or read"},
	};
	check_bad_values(f, bad, G_N_ELEMENTS(bad));
}

static void test_key_marginal(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_lun_spec) dflt = lookup_lines(f, "");
	g_assert_cmpuint(dflt->marginal_err_count, ==, 0);
	g_assert_cmpuint(dflt->marginal_window_ms, ==, 60000);
	g_assert_cmpuint(dflt->marginal_recovery_ms, ==, 300000);

	g_autoptr(rdp_lun_spec) low = lookup_lines(f, "marginal_err_count = 0\n"
						      "marginal_window = 1\n"
						      "marginal_recovery = 1000ms\n");
	g_assert_cmpuint(low->marginal_err_count, ==, 0);
	g_assert_cmpuint(low->marginal_window_ms, ==, 1000);
	g_assert_cmpuint(low->marginal_recovery_ms, ==, 1000);

	g_autoptr(rdp_lun_spec) high = lookup_lines(f, "marginal_err_count = 1000\n"
						       "marginal_window = 3600s\n"
						       "marginal_recovery = 86400\n");
	g_assert_cmpuint(high->marginal_err_count, ==, 1000);
	g_assert_cmpuint(high->marginal_window_ms, ==, 3600000);
	g_assert_cmpuint(high->marginal_recovery_ms, ==, 86400000);
}

static void test_max_checker_interval(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	/* derived from the checker_interval in force, wherever that was set */
	g_autoptr(rdp_config) cfg = load_ok(f, "[defaults]\n"
					       "checker_interval = 10\n"
					       "[inherit]\n"
					       "paths = /dev/sg1\n"
					       "[own]\n"
					       "paths = /dev/sg2\n"
					       "checker_interval = 1500ms\n"
					       "[set]\n"
					       "paths = /dev/sg3\n"
					       "max_checker_interval = 10\n"
					       "[top]\n"
					       "paths = /dev/sg4\n"
					       "checker_interval = 3600\n");
	g_autoptr(rdp_lun_spec) inherit = lookup_ok(cfg, "inherit");
	g_assert_cmpuint(inherit->max_checker_interval_ms, ==, 40000);
	g_autoptr(rdp_lun_spec) own = lookup_ok(cfg, "own");
	g_assert_cmpuint(own->max_checker_interval_ms, ==, 6000);
	/* equal to checker_interval is allowed: no back-off */
	g_autoptr(rdp_lun_spec) set = lookup_ok(cfg, "set");
	g_assert_cmpuint(set->max_checker_interval_ms, ==, 10000);
	g_autoptr(rdp_lun_spec) top = lookup_ok(cfg, "top");
	g_assert_cmpuint(top->max_checker_interval_ms, ==, 14400000);
	g_autoptr(rdp_lun_spec) by_id = lookup_ok(cfg, "wwid=naa.1");
	g_assert_cmpuint(by_id->max_checker_interval_ms, ==, 40000);
	g_autoptr(rdp_lun_spec) builtin = lookup_ok(NULL, "wwid=naa.1");
	g_assert_cmpuint(builtin->max_checker_interval_ms, ==, 20000);

	/* an explicit value in [defaults] holds for every LUN, whatever its checker_interval */
	g_autoptr(rdp_config) fixed = load_ok(f, "[defaults]\n"
						 "max_checker_interval = 60\n"
						 "[l]\n"
						 "paths = /dev/sg1\n"
						 "checker_interval = 30\n"
						 "[m]\n"
						 "paths = /dev/sg2\n"
						 "max_checker_interval = 90s\n");
	g_autoptr(rdp_lun_spec) l = lookup_ok(fixed, "l");
	g_assert_cmpuint(l->checker_interval_ms, ==, 30000);
	g_assert_cmpuint(l->max_checker_interval_ms, ==, 60000);
	g_autoptr(rdp_lun_spec) m = lookup_ok(fixed, "m");
	g_assert_cmpuint(m->max_checker_interval_ms, ==, 90000);
}

static void check_port(const struct rdp_lun_spec *spec, unsigned int port, unsigned int ports)
{
	g_assert_cmpuint(spec->target_port, ==, port);
	g_assert_cmpuint(spec->target_ports, ==, ports);
}

/* Two gateways: each file sets target_port (in [defaults], so that wwid= backstores have it
 * too), a LUN section may override either key. */
static void test_target_port(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "[defaults]\n"
					       "target_ports = 2\n"
					       "target_port = 2\n"
					       "[inherit]\n"
					       "paths = /dev/sg1\n"
					       "[own]\n"
					       "paths = /dev/sg2\n"
					       "target_port = 1\n"
					       "[three]\n"
					       "paths = /dev/sg3\n"
					       "target_ports = 3\n"
					       "[alone]\n"
					       "paths = /dev/sg4\n"
					       "target_port = 0\n"
					       "target_ports = 1\n"
					       "[top]\n"
					       "paths = /dev/sg5\n"
					       "target_ports = 32\n"
					       "target_port = 32\n");
	g_autoptr(rdp_lun_spec) inherit = lookup_ok(cfg, "inherit");
	check_port(inherit, 2, 2);
	g_autoptr(rdp_lun_spec) own = lookup_ok(cfg, "own");
	check_port(own, 1, 2);
	g_autoptr(rdp_lun_spec) three = lookup_ok(cfg, "three");
	check_port(three, 2, 3);
	g_autoptr(rdp_lun_spec) alone = lookup_ok(cfg, "alone");
	check_port(alone, 0, 1);
	g_autoptr(rdp_lun_spec) top = lookup_ok(cfg, "top");
	check_port(top, 32, 32);
	g_autoptr(rdp_lun_spec) by_id = lookup_ok(cfg, "wwid=naa.1");
	check_port(by_id, 2, 2);

	/* without the keys: today's single port, in a file and without one */
	g_autoptr(rdp_config) none = load_ok(f, "[l]\npaths = /dev/sg1\n");
	g_autoptr(rdp_lun_spec) l = lookup_ok(none, "l");
	check_port(l, 0, 1);
	g_autoptr(rdp_lun_spec) builtin = lookup_ok(NULL, "wwid=naa.1");
	check_port(builtin, 0, 1);
	/* port 1 of 1 is allowed: one gateway that claims ALUA */
	g_autoptr(rdp_lun_spec) one = lookup_lines(f, "target_port = 1\n");
	check_port(one, 1, 1);
}

static void test_bad_target_port(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const struct bad_value ranges[] = {
	    {"target_port", "33", "33 is out of range; allowed: 0 to 32"},
	    {"target_ports", "0", "0 is out of range; allowed: 1 to 32"},
	    {"target_ports", "33", "33 is out of range; allowed: 1 to 32"},
	    {"target_port", "-1", "\"-1\" is not a whole number"},
	    {"target_ports", "two", "\"two\" is not a whole number"},
	};
	check_bad_values(f, ranges, G_N_ELEMENTS(ranges));

	/* a port beyond the count, against the built-in target_ports */
	check_load_error(f, "[l]\npaths = /dev/sg1\ntarget_port = 2\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:3: [l] target_port: target_port (2, line 3) is more than "
			 "target_ports (1, built-in default); the gateways in front of a LUN are "
			 "ports 1 to target_ports, so give this one a port in that range or raise "
			 "target_ports on every gateway");
	/* both in one section, the count after the port */
	check_load_error(f, "[l]\ntarget_port = 3\npaths = /dev/sg1\ntarget_ports = 2\n",
			 RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [l] target_port: target_port (3, line 2) is more than "
			 "target_ports (2, line 4); the gateways in front of a LUN are ports 1 to "
			 "target_ports, so give this one a port in that range or raise "
			 "target_ports on every gateway");
	/* a LUN's count below the port of [defaults] */
	check_load_error(f,
			 "[defaults]\ntarget_ports = 3\ntarget_port = 3\n[l]\npaths = /dev/sg1\n"
			 "target_ports = 2\n",
			 RDP_CONFIG_ERROR_VALUE,
			 "@F@:6: [l] target_ports: target_port (3, [defaults] line 3) is more than "
			 "target_ports (2, line 6); the gateways in front of a LUN are ports 1 to "
			 "target_ports, so give this one a port in that range or raise "
			 "target_ports on every gateway");
	/* several gateways, this one's port not named: in a LUN section ... */
	check_load_error(f, "[l]\npaths = /dev/sg1\ntarget_ports = 2\n", RDP_CONFIG_ERROR_KEY,
			 "@F@:3: [l] target_ports: target_ports (2, line 3) with target_port 0 "
			 "(built-in default); name this gateway's port: target_port = 1 to 2, a "
			 "different one on each gateway");
	/* ... in [defaults], which wwid= backstores take as they are ... */
	check_load_error(f, "[defaults]\ntarget_ports = 2\n[l]\nwwid = naa.1\ntarget_port = 1\n",
			 RDP_CONFIG_ERROR_KEY,
			 "@F@:2: [defaults] target_ports: target_ports (2, line 2) with "
			 "target_port 0 (built-in default); name this gateway's port: target_port "
			 "= 1 to 2, a different one on each gateway");
	/* ... and a LUN that sets 0 under the count of [defaults] */
	check_load_error(f,
			 "[defaults]\ntarget_ports = 4\ntarget_port = 1\n\n[l]\npaths = /dev/sg1\n"
			 "target_port = 0\n",
			 RDP_CONFIG_ERROR_KEY,
			 "@F@:7: [l] target_port: target_ports (4, [defaults] line 2) with "
			 "target_port 0 (line 7); name this gateway's port: target_port = 1 to 4, "
			 "a different one on each gateway");
	/* a port beyond the count in [defaults] is reported there */
	check_load_error(f, "[defaults]\ntarget_port = 5\n", RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [defaults] target_port: target_port (5, line 2) is more than "
			 "target_ports (1, built-in default); the gateways in front of a LUN are "
			 "ports 1 to target_ports, so give this one a port in that range or raise "
			 "target_ports on every gateway");
}

static void test_bad_max_checker_interval(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	check_load_error(f, "[l]\npaths = /dev/sg1\nmax_checker_interval = 2\n",
			 RDP_CONFIG_ERROR_VALUE,
			 "@F@:3: [l] max_checker_interval: max_checker_interval (2 s, line 3) is "
			 "shorter than checker_interval (5 s, built-in default); healthy paths are "
			 "checked every checker_interval at first and back off up to "
			 "max_checker_interval, so make it at least checker_interval");
	check_load_error(f,
			 "[l]\nmax_checker_interval = 10\npaths = /dev/sg1\n"
			 "checker_interval = 10001ms\n",
			 RDP_CONFIG_ERROR_VALUE,
			 "@F@:2: [l] max_checker_interval: max_checker_interval (10 s, line 2) is "
			 "shorter than checker_interval (10001 ms, line 4); healthy paths are "
			 "checked every checker_interval at first and back off up to "
			 "max_checker_interval, so make it at least checker_interval");
	/* in [defaults], against the built-in checker_interval */
	check_load_error(
	    f, "[defaults]\nmax_checker_interval = 4999ms\n[l]\nwwid = naa.1\n",
	    RDP_CONFIG_ERROR_VALUE,
	    "@F@:2: [defaults] max_checker_interval: max_checker_interval (4999 ms, "
	    "line 2) is shorter than checker_interval (5 s, built-in default); healthy "
	    "paths are checked every checker_interval at first and back off up to "
	    "max_checker_interval, so make it at least checker_interval");
	/* a LUN's checker_interval against the max of [defaults] */
	check_load_error(f,
			 "[defaults]\nmax_checker_interval = 30\n\n[l]\npaths = /dev/sg1\n"
			 "checker_interval = 31\n",
			 RDP_CONFIG_ERROR_VALUE,
			 "@F@:6: [l] checker_interval: max_checker_interval (30 s, [defaults] line "
			 "2) is shorter than checker_interval (31 s, line 6); healthy paths are "
			 "checked every checker_interval at first and back off up to "
			 "max_checker_interval, so make it at least checker_interval");
	/* a LUN's max against the checker_interval of [defaults], wherever that stands */
	check_load_error(
	    f,
	    "[l]\nwwid = naa.1\nmax_checker_interval = 8\n[defaults]\n"
	    "checker_interval = 9\n",
	    RDP_CONFIG_ERROR_VALUE,
	    "@F@:3: [l] max_checker_interval: max_checker_interval (8 s, line 3) is "
	    "shorter than checker_interval (9 s, [defaults] line 5); healthy paths are "
	    "checked every checker_interval at first and back off up to "
	    "max_checker_interval, so make it at least checker_interval");
}

/* ---- per-path values ---- */

static void test_path_values(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	/* before or after paths, with blanks and a trailing ';' as paths allows */
	g_autoptr(rdp_config) cfg = load_ok(f, "[db]\n"
					       "priorities = 10; 5 ;1000;\n"
					       "paths = /dev/sg1;/dev/sg2;/dev/sg3\n"
					       "weights = 1;1000;3\n"
					       "[one]\n"
					       "paths = /dev/sg4\n"
					       "weights = 7\n"
					       "[none]\n"
					       "paths = /dev/sg5;/dev/sg6\n");
	g_autoptr(rdp_lun_spec) db = lookup_ok(cfg, "db");
	static const unsigned int db_prio[] = {10, 5, 1000};
	static const unsigned int db_weights[] = {1, 1000, 3};
	check_values(db->priorities, db_prio, G_N_ELEMENTS(db_prio));
	check_values(db->weights, db_weights, G_N_ELEMENTS(db_weights));

	g_autoptr(rdp_lun_spec) one = lookup_ok(cfg, "one");
	static const unsigned int one_weights[] = {7};
	g_assert_null(one->priorities);
	check_values(one->weights, one_weights, 1);

	g_autoptr(rdp_lun_spec) none = lookup_ok(cfg, "none");
	g_assert_null(none->priorities);
	g_assert_null(none->weights);

	/* each lookup gets its own copy */
	g_autoptr(rdp_lun_spec) again = lookup_ok(cfg, "db");
	g_assert_true(again->priorities != db->priorities);
	check_values(again->priorities, db_prio, G_N_ELEMENTS(db_prio));
}

static void test_bad_path_values(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	static const char *const keys[] = {"priorities", "weights"};

	for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
		const char *key = keys[k];
		const struct bad_value bad[] = {
		    {key, "0", "0 is out of range; allowed: 1 to 1000"},
		    {key, "1001", "1001 is out of range; allowed: 1 to 1000"},
		    {key, "99999999999999999999",
		     "99999999999999999999 is out of range; allowed: 1 to 1000"},
		    {key, "high",
		     "\"high\" is not a whole number; give one number per device of paths, "
		     "separated by ';'"},
		    {key, "10,5",
		     "\"10,5\" is not a whole number; give one number per device of paths, "
		     "separated by ';'"},
		    {key, "-1",
		     "\"-1\" is not a whole number; give one number per device of paths, "
		     "separated by ';'"},
		};
		check_bad_values(f, bad, G_N_ELEMENTS(bad));

		g_autofree char *text = NULL;
		g_autofree char *want = NULL;

		text = g_strdup_printf("[l]\npaths = /dev/sg1\n%s = ;\n", key);
		want = g_strdup_printf("@F@:3: [l] %s: no value given; give one number per device "
				       "of paths, e.g. %s = 2;1",
				       key, key);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
		g_free(text);
		g_free(want);

		/* counts that differ from paths, named both ways */
		text = g_strdup_printf("[l]\npaths = /dev/sg1;/dev/sg2\n%s = 1;2;3\n", key);
		want = g_strdup_printf("@F@:3: [l] %s: 3 values for 2 devices in paths (line 2); "
				       "give one value per device, in the order of paths",
				       key);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
		g_free(text);
		g_free(want);

		text = g_strdup_printf("[l]\n%s = 4\n\npaths = /dev/sg1;;/dev/sg2;\n", key);
		want = g_strdup_printf("@F@:2: [l] %s: 1 value for 2 devices in paths (line 4); "
				       "give one value per device, in the order of paths",
				       key);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
		g_free(text);
		g_free(want);

		text = g_strdup_printf("[l]\npaths = /dev/sg1\n%s = 4;5\n", key);
		want = g_strdup_printf("@F@:3: [l] %s: 2 values for 1 device in paths (line 2); "
				       "give one value per device, in the order of paths",
				       key);
		check_load_error(f, text, RDP_CONFIG_ERROR_VALUE, want);
		g_free(text);
		g_free(want);

		/* a LUN given by wwid has no order of devices to align with */
		text = g_strdup_printf("[l]\nwwid = naa.1\n%s = 4;5\n", key);
		want = g_strdup_printf(
		    "@F@:3: [l] %s: not possible with wwid (line 2): such a LUN's devices are "
		    "discovered when the backstore is enabled, in no fixed order; list the "
		    "devices with paths = to give each one a value",
		    key);
		check_load_error(f, text, RDP_CONFIG_ERROR_KEY, want);
		g_free(text);
		g_free(want);

		text = g_strdup_printf("[defaults]\n%s = 4;5\n", key);
		want = g_strdup_printf("@F@:2: [defaults] %s: only allowed in a LUN section; it "
				       "gives one value per device of the LUN's paths",
				       key);
		check_load_error(f, text, RDP_CONFIG_ERROR_KEY, want);
	}
}

/* ---- [defaults] inheritance of every key ---- */

static void test_inheritance(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "[defaults]\n"
					       "cmd_timeout = 10\n"
					       "checker_interval = 2\n"
					       "max_retries = 7\n"
					       "selector = service-time\n"
					       "grouping = failover\n"
					       "failback = 45\n"
					       "no_path_retry = 3\n"
					       "max_checker_interval = 20\n"
					       "checker = read\n"
					       "marginal_err_count = 4\n"
					       "marginal_window = 30\n"
					       "marginal_recovery = 120\n"
					       "[inherit]\n"
					       "paths = /dev/sg1;/dev/sg2\n"
					       "[override]\n"
					       "paths = /dev/sg3;/dev/sg4\n"
					       "cmd_timeout = 11\n"
					       "checker_interval = 3\n"
					       "max_retries = 0\n"
					       "selector = weighted\n"
					       "grouping = priority\n"
					       "failback = followover\n"
					       "no_path_retry = fail\n"
					       "max_checker_interval = 3\n"
					       "checker = tur\n"
					       "marginal_err_count = 0\n"
					       "marginal_window = 1\n"
					       "marginal_recovery = 2\n"
					       "priorities = 2;1\n"
					       "weights = 1;2\n");
	static const struct policy inherited = {
	    .grouping = RDP_GROUP_FAILOVER,
	    .failback = RDP_FAILBACK_DEFERRED,
	    .failback_delay_ms = 45000,
	    .no_path_retry = 3,
	    .max_checker_interval_ms = 20000,
	    .read_checker = true,
	    .marginal_err_count = 4,
	    .marginal_window_ms = 30000,
	    .marginal_recovery_ms = 120000,
	};
	static const struct policy overridden = {
	    .grouping = RDP_GROUP_PRIORITY,
	    .failback = RDP_FAILBACK_FOLLOWOVER,
	    .failback_delay_ms = 0,
	    .no_path_retry = RDP_NO_PATH_FAIL,
	    .max_checker_interval_ms = 3000,
	    .read_checker = false,
	    .marginal_err_count = 0,
	    .marginal_window_ms = 1000,
	    .marginal_recovery_ms = 2000,
	};

	g_autoptr(rdp_lun_spec) inherit = lookup_ok(cfg, "inherit");
	check_spec(inherit, 10000, 2000, 7, RDP_SEL_SERVICE_TIME);
	check_policy(inherit, &inherited);
	g_assert_null(inherit->priorities);
	g_assert_null(inherit->weights);

	g_autoptr(rdp_lun_spec) by_id = lookup_ok(cfg, "wwid=naa.1");
	check_spec(by_id, 10000, 2000, 7, RDP_SEL_SERVICE_TIME);
	check_policy(by_id, &inherited);

	g_autoptr(rdp_lun_spec) over = lookup_ok(cfg, "override");
	check_spec(over, 11000, 3000, 0, RDP_SEL_WEIGHTED);
	check_policy(over, &overridden);
	static const unsigned int prio[] = {2, 1}, weights[] = {1, 2};
	check_values(over->priorities, prio, 2);
	check_values(over->weights, weights, 2);

	/* an empty file and no file give the built-in values */
	g_autoptr(rdp_config) empty = load_ok(f, "[l]\nwwid = naa.1\n");
	g_autoptr(rdp_lun_spec) dflt = lookup_ok(empty, "l");
	check_default_spec(dflt);
	g_autoptr(rdp_lun_spec) no_file = lookup_ok(NULL, "wwid=naa.1");
	check_default_spec(no_file);
}

/* ---- resolving ---- */

static void test_resolve_unknown(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "[a]\npaths = /dev/sg1\n[b]\nwwid = naa.2\n");

	check_resolve_error(cfg, "c", RDP_CONFIG_ERROR_NO_LUN,
			    "no LUN section [c] in @F@; known LUN sections: [a], [b]");
	/* names are case-sensitive */
	check_resolve_error(cfg, "A", RDP_CONFIG_ERROR_NO_LUN,
			    "no LUN section [A] in @F@; known LUN sections: [a], [b]");
	check_resolve_error(NULL, "c", RDP_CONFIG_ERROR_NO_LUN,
			    "no LUN section [c]: no configuration file is loaded; give wwid=<id> "
			    "instead");
}

static void test_resolve_bad_cfgstring(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "[a]\npaths = /dev/sg1\n");
	static const struct {
		const char *cfgstring;
		const char *message;
	} cases[] = {
	    {"a/b", "backstore cfgstring \"a/b\": cannot be a LUN name: it contains '/'"},
	    {"../a", "backstore cfgstring \"../a\": cannot be a LUN name: it contains '/'"},
	    {"..", "backstore cfgstring \"..\": cannot be a LUN name: it contains '..'"},
	    {"a\tb", "backstore cfgstring \"a\\tb\": cannot be a LUN name: it contains a "
		     "control character"},
	    {"", "backstore cfgstring \"\": cannot be a LUN name: it is empty"},
	    {"WWID=naa.1", "backstore cfgstring \"WWID=naa.1\": cannot be a LUN name: it "
			   "contains '='"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *want = g_strdup_printf(
		    "%s; give wwid=<id> or the name of a section of @F@", cases[i].message);
		check_resolve_error(cfg, cases[i].cfgstring, RDP_CONFIG_ERROR_NO_LUN, want);
	}

	static const struct {
		const char *cfgstring;
		const char *message;
	} wwids[] = {
	    {"wwid=", "backstore cfgstring \"wwid=\": the WWID is empty"},
	    {"wwid=../x", "backstore cfgstring \"wwid=../x\": the WWID contains '/'"},
	    {"wwid=naa.1\n", "backstore cfgstring \"wwid=naa.1\\n\": the WWID contains a "
			     "character that is not printable ASCII"},
	    {"wwid= naa.1", "backstore cfgstring \"wwid= naa.1\": the WWID begins or ends "
			    "with a blank"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(wwids); i++) {
		g_autofree char *want = g_strdup_printf(
		    "%s; copy it from /sys/class/scsi_generic/sgN/device/wwid", wwids[i].message);
		check_resolve_error(cfg, wwids[i].cfgstring, RDP_CONFIG_ERROR_NO_LUN, want);
	}

	g_autofree char *long_name = g_strnfill(129, 'a');
	check_resolve_error(
	    cfg, long_name, RDP_CONFIG_ERROR_NO_LUN,
	    "backstore cfgstring \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaa\": cannot be a LUN name: it is longer than 128 characters; give "
	    "wwid=<id> or the name of a section of @F@");
}

/* Discovery needs sysfs; a sandbox without it cannot say what this test asserts. */
static bool sysfs_enumerable(void)
{
	g_autoptr(GError) err = NULL;
	g_auto(GStrv) list = rdp_discover_wwid(NO_SUCH_WWID, &err);

	if (!list) {
		g_test_skip_printf("cannot enumerate sysfs here: %s", err->message);
		return false;
	}
	return true;
}

static void test_resolve_wwid_absent(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	if (!sysfs_enumerable())
		return;

	g_autoptr(rdp_config) cfg = load_ok(f, "[l]\nwwid = " NO_SUCH_WWID "\n");
	check_resolve_error(cfg, "wwid=" NO_SUCH_WWID, RDP_CONFIG_ERROR_DEVICE,
			    "no SCSI generic device reports WWID " NO_SUCH_WWID "; compare with "
			    "/sys/class/scsi_generic/sgN/device/wwid and check that the sg driver "
			    "is loaded");
	check_resolve_error(cfg, "l", RDP_CONFIG_ERROR_DEVICE,
			    "@F@:2: [l] wwid: no SCSI generic device reports WWID " NO_SUCH_WWID
			    "; compare with /sys/class/scsi_generic/sgN/device/wwid and check that "
			    "the sg driver is loaded");
	check_resolve_error(NULL, "wwid=" NO_SUCH_WWID, RDP_CONFIG_ERROR_DEVICE,
			    "no SCSI generic device reports WWID " NO_SUCH_WWID "; compare with "
			    "/sys/class/scsi_generic/sgN/device/wwid and check that the sg driver "
			    "is loaded");
}

static void test_resolve_devices(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autoptr(rdp_config) cfg = load_ok(f, "[null]\n"
					       "paths = /dev/null\n"
					       "[gone]\n"
					       "paths = /dev/rdp-test-no-such-sg\n");

	check_resolve_error(cfg, "null", RDP_CONFIG_ERROR_DEVICE,
			    "@F@:2: [null] paths: /dev/null: not an SCSI generic (sg) character "
			    "device (it is character device 1:3; sg devices have major 21)");
	check_resolve_error(
	    cfg, "gone", RDP_CONFIG_ERROR_DEVICE,
	    "@F@:4: [gone] paths: /dev/rdp-test-no-such-sg: does not exist; is the "
	    "disk attached and the sg driver loaded? lsscsi -g lists the sg devices");
}

static char *find_block_device(void)
{
	g_autoptr(GDir) dir = g_dir_open("/dev", 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename("/dev", name, NULL);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISBLK(st.st_mode))
			return g_steal_pointer(&path);
	}
	return NULL;
}

static void test_resolve_block_device(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *blk = find_block_device();

	if (!blk) {
		g_test_skip("no block device in /dev");
		return;
	}
	g_autofree char *text = g_strdup_printf("[l]\npaths = %s\n", blk);
	g_autoptr(rdp_config) cfg = load_ok(f, text);
	g_autofree char *want = g_strdup_printf(
	    "@F@:2: [l] paths: %s: not an SCSI generic (sg) character device (it is a block "
	    "device; give the sg node of the same disk, lsscsi -g shows it)",
	    blk);
	check_resolve_error(cfg, "l", RDP_CONFIG_ERROR_DEVICE, want);
}

static void check_device_error(const char *dev, const char *expected)
{
	g_autoptr(GError) err = NULL;
	dev_t rdev = 0;
	g_autofree char *want = g_strdup_printf("%s: %s", dev, expected);

	g_assert_false(rdp_sg_device_check(dev, &rdev, &err));
	g_assert_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE);
	g_assert_cmpstr(err->message, ==, want);
}

static void test_device_check(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	g_autofree char *file = write_file(f, "not a device\n");

	check_device_error(file,
			   "not an SCSI generic (sg) character device (it is a regular file)");
	check_device_error(f->dir, "not an SCSI generic (sg) character device (it is a directory)");
	check_device_error("/dev/zero", "not an SCSI generic (sg) character device (it is "
					"character device 1:5; sg devices have major 21)");

	/* The accepting side needs a node of major 21, which only a privileged user can make. */
	g_autofree char *node = g_build_filename(f->dir, "sg7", NULL);
	if (mknod(node, S_IFCHR | 0600, makedev(21, 7)) < 0) {
		g_test_message("mknod %s: %s; not testing acceptance", node, g_strerror(errno));
		return;
	}
	g_autoptr(GError) err = NULL;
	dev_t rdev = 0;
	g_assert_true(rdp_sg_device_check(node, &rdev, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(major(rdev), ==, 21);
	g_assert_cmpuint(minor(rdev), ==, 7);
}

/* ---- discovery helpers ---- */

static void test_wwid_matches(void)
{
	g_assert_true(rdp_wwid_matches("naa.33333330000007d0\n", "naa.33333330000007d0"));
	g_assert_true(rdp_wwid_matches("naa.33333330000007D0", "naa.33333330000007d0"));
	g_assert_true(rdp_wwid_matches("EUI.00a0b1\n", "eui.00A0B1"));
	g_assert_true(rdp_wwid_matches("t10.ATA     QEMU HARDDISK   QM00001   \n",
				       "t10.ATA     QEMU HARDDISK   QM00001"));
	g_assert_true(
	    rdp_wwid_matches("  iqn.2003-01.org.example:t1\n", "iqn.2003-01.org.example:t1"));
	/* A T10 identity read from VPD 0x83 keeps the vendor field's trailing blanks (as the
	 * kernel's "%*pE" does); attach compares two such reads, and a configured wwid= (typed
	 * without them) with one, in either order. */
	g_assert_true(rdp_wwid_matches("t10.ATA     QEMU HARDDISK   QM00001   ",
				       "t10.ATA     QEMU HARDDISK   QM00001   "));
	g_assert_true(rdp_wwid_matches("t10.ATA     QEMU HARDDISK   QM00001",
				       "t10.ATA     QEMU HARDDISK   QM00001   "));
	g_assert_false(rdp_wwid_matches("t10.ata qemu\n", "t10.ATA QEMU"));
	g_assert_false(rdp_wwid_matches("naa.33333330000007d0\n", "naa.33333330000007d"));
	g_assert_false(rdp_wwid_matches("naa.33333330000007d\n", "naa.33333330000007d0"));
	g_assert_false(rdp_wwid_matches("naa.1234\n", "eui.1234"));
	g_assert_false(rdp_wwid_matches("\n", ""));
	g_assert_false(rdp_wwid_matches(NULL, "naa.1"));
	/* the public form rdp-probe uses is the same comparison */
	g_assert_true(rdp_wwid_same("t10.ATA     QEMU HARDDISK   QM00001   ",
				    "t10.ATA     QEMU HARDDISK   QM00001"));
	g_assert_true(rdp_wwid_same("naa.33333330000007D0", "naa.33333330000007d0"));
	g_assert_false(rdp_wwid_same("naa.1234", "eui.1234"));
	g_assert_false(rdp_wwid_same(NULL, NULL));
}

static void test_natural_cmp(void)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
	    {"/dev/sg2", "/dev/sg10", -1},
	    {"/dev/sg10", "/dev/sg2", 1},
	    {"/dev/sg9", "/dev/sg9", 0},
	    {"sg01", "sg1", -1},
	    {"sg1", "sg01", 1},
	    {"sg", "sg0", -1},
	    {"sg1a", "sg1b", -1},
	    {"a10b2", "a10b10", -1},
	    {"", "a", -1},
	    {"sg100", "sg99", 1},
	    {"sg007", "sg8", -1},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int got = rdp_natural_cmp(cases[i].a, cases[i].b);
		g_assert_cmpint(got < 0 ? -1 : got > 0, ==, cases[i].want);
	}
}

static void test_natural_sort(void)
{
	char *list[] = {g_strdup("/dev/sg10"),
			g_strdup("/dev/sg2"),
			g_strdup("/dev/sg100"),
			g_strdup("/dev/sg0"),
			g_strdup("/dev/sg1"),
			g_strdup("/dev/sg11"),
			NULL};
	const char *const want[] = {"/dev/sg0",	 "/dev/sg1",   "/dev/sg2", "/dev/sg10",
				    "/dev/sg11", "/dev/sg100", NULL};

	rdp_natural_sort(list);
	g_assert_true(g_strv_equal((const char *const *)list, want));
	for (size_t i = 0; list[i]; i++)
		g_free(list[i]);

	char *empty[] = {NULL};
	rdp_natural_sort(empty);
	g_assert_null(empty[0]);
}

static void test_discover_absent(void)
{
	g_autoptr(GError) err = NULL;
	g_auto(GStrv) list = rdp_discover_wwid(NO_SUCH_WWID, &err);

	if (!list) {
		g_test_skip_printf("cannot enumerate sysfs here: %s", err->message);
		return;
	}
	g_assert_no_error(err);
	g_assert_cmpuint(g_strv_length(list), ==, 0);
}

/* ---- the example file and the documentation ---- */

static char *source_file(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* A file of the source tree, from G_TEST_SRCDIR (tests/unit of the tree) or, without it, from
 * beside the test program. NULL, with the test failed, when it is not there. */
static char *source_file(const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	g_autofree char *rel = g_build_filename_valist(first, &ap);
	va_end(ap);
	char *path = g_test_build_filename(G_TEST_DIST, "..", "..", rel, NULL);
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_test_fail_printf(
		    "%s not found: set G_TEST_SRCDIR to the source tree's tests/unit "
		    "directory",
		    path);
		g_free(path);
		return NULL;
	}
	return path;
}

static void test_example_config(void)
{
	g_autofree char *path = source_file("config", "tcmu-rdp.conf", NULL);
	if (!path)
		return;

	g_autoptr(GError) err = NULL;
	g_autoptr(rdp_config) cfg = rdp_config_load(path, false, &err);
	g_assert_no_error(err);
	g_assert_nonnull(cfg);

	g_auto(GStrv) names = rdp_config_lun_names(cfg);
	g_assert_cmpuint(g_strv_length(names), >=, 2);
	bool by_paths = false, by_wwid = false;
	for (size_t i = 0; names[i]; i++) {
		g_autoptr(rdp_lun_spec) spec = lookup_ok(cfg, names[i]);
		by_paths |= spec->paths[0] != NULL;
		by_wwid |= spec->wwid != NULL;
	}
	/* the example shows both ways of giving a LUN ... */
	g_assert_true(by_paths);
	g_assert_true(by_wwid);

	/* ... and sets every key at least once, so each has a worked example */
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	size_t n;
	const struct rdp_config_key *keys = rdp_config_keys(&n);
	for (size_t i = 0; i < n; i++) {
		g_autofree char *pattern = g_strdup_printf("(?m)^%s\\s*=", keys[i].name);
		if (!g_regex_match_simple(pattern, text, 0, 0))
			g_test_fail_printf("%s never sets %s", path, keys[i].name);
	}
}

/* The rows of the first table after the "| Key | Type | Default | Range |" header, with
 * backquotes dropped and "—" read as an empty cell: key -> GStrv of the cells. */
static GHashTable *docs_key_rows(const char *text)
{
	GHashTable *rows =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_strfreev);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	bool in_table = false;

	for (size_t i = 0; lines[i]; i++) {
		const char *line = lines[i];
		if (!in_table) {
			in_table = g_str_has_prefix(line, "| Key | Type | Default | Range |");
			continue;
		}
		if (g_str_has_prefix(line, "|--"))
			continue;
		if (!g_str_has_prefix(line, "|"))
			break;
		g_auto(GStrv) cells = g_strsplit(line, "|", -1);
		GPtrArray *clean = g_ptr_array_new();
		for (size_t c = 1; cells[c] && cells[c + 1]; c++) {
			g_auto(GStrv) parts = g_strsplit(cells[c], "`", -1);
			g_autofree char *joined = g_strjoinv("", parts);
			char *cell = g_strdup(g_strstrip(joined));
			if (strcmp(cell, "—") == 0)
				cell[0] = '\0';
			g_ptr_array_add(clean, cell);
		}
		g_ptr_array_add(clean, NULL);
		char **row = (char **)g_ptr_array_free(clean, FALSE);
		g_assert_cmpuint(g_strv_length(row), ==, 5);
		g_assert_false(g_hash_table_contains(rows, row[0]));
		g_hash_table_insert(rows, g_strdup(row[0]), row);
	}
	return rows;
}

static void test_docs_keys(void)
{
	g_autofree char *path = source_file("docs", "configuration.md", NULL);
	if (!path)
		return;

	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_autoptr(GHashTable) rows = docs_key_rows(text);
	size_t n;
	const struct rdp_config_key *keys = rdp_config_keys(&n);

	g_assert_cmpuint(n, >, 0);
	for (size_t i = 0; i < n; i++) {
		char **row = g_hash_table_lookup(rows, keys[i].name);
		if (!row) {
			g_test_fail_printf("%s: key %s is not documented", path, keys[i].name);
			continue;
		}
		g_assert_cmpstr(row[1], ==, keys[i].type);
		g_assert_cmpstr(row[2], ==, keys[i].default_value);
		g_assert_cmpstr(row[3], ==, keys[i].range);
		g_assert_cmpstr(row[4], !=, "");
	}
	GHashTableIter it;
	gpointer name;
	g_hash_table_iter_init(&it, rows);
	while (g_hash_table_iter_next(&it, &name, NULL)) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= strcmp(keys[i].name, name) == 0;
		if (!known)
			g_test_fail_printf("%s documents %s, which the parser does not know", path,
					   (const char *)name);
	}
	g_assert_cmpuint(g_hash_table_size(rows), ==, n);
}

/* Writing a key's documented default must change nothing. */
static void test_defaults_match_table(struct fixture *f, gconstpointer data G_GNUC_UNUSED)
{
	size_t n;
	const struct rdp_config_key *keys = rdp_config_keys(&n);

	for (size_t i = 0; i < n; i++) {
		if (!*keys[i].default_value) {
			g_assert_true(keys[i].lun_only);
			continue;
		}
		/* a rule such as "4 × checker_interval" is tested with its key */
		if (keys[i].default_is_rule)
			continue;
		g_autofree char *text = g_strdup_printf("[defaults]\n%s = %s\n[l]\nwwid = naa.1\n",
							keys[i].name, keys[i].default_value);
		g_autoptr(rdp_config) cfg = load_ok(f, text);
		g_autoptr(rdp_lun_spec) spec = lookup_ok(cfg, "l");
		check_default_spec(spec);
	}
}

/* CheckConfig's decision from sysfs facts: no SCSI command, same refusals as the probes. */
static void test_sysfs_facts(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *wwid = NULL;
	struct rdp_sysfs_facts two[] = {
		{"/dev/sg0", "naa.33333330000007d0\n", 0},
		{"/dev/sg1", "NAA.33333330000007D0", 0},
	};

	g_assert_true(rdp_sysfs_facts_check(two, 2, NULL, &wwid, &err));
	g_assert_no_error(err);
	g_assert_cmpstr(wwid, ==, "naa.33333330000007d0");
	g_clear_pointer(&wwid, g_free);
	g_assert_true(rdp_sysfs_facts_check(two, 2, "naa.33333330000007d0", &wwid, &err));
	g_clear_pointer(&wwid, g_free);

	/* the spec names another identity */
	g_assert_false(rdp_sysfs_facts_check(two, 2, "naa.6000000000000001", &wwid, &err));
	g_assert_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE);
	g_assert_nonnull(strstr(err->message, "/dev/sg0 has identity naa.33333330000007d0"));
	g_clear_error(&err);

	/* two LUNs */
	two[1].wwid = "naa.6000000000000001";
	g_assert_false(rdp_sysfs_facts_check(two, 2, NULL, &wwid, &err));
	g_assert_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE);
	g_assert_nonnull(strstr(err->message, "/dev/sg1 has identity naa.6000000000000001 but "
					      "/dev/sg0 has"));
	g_clear_error(&err);

	/* a device sysfs knows no identity for is left to the probes at enable */
	two[1].wwid = NULL;
	g_assert_true(rdp_sysfs_facts_check(two, 2, NULL, &wwid, &err));
	g_assert_cmpstr(wwid, ==, "naa.33333330000007d0");
	g_clear_pointer(&wwid, g_free);
	two[0].wwid = NULL;
	g_assert_true(rdp_sysfs_facts_check(two, 2, NULL, &wwid, &err));
	g_assert_null(wwid);

	/* an enclosure or a tape cannot back a LUN; disks, zoned disks, optical can */
	two[1].type = 0x0d;
	g_assert_false(rdp_sysfs_facts_check(two, 2, NULL, NULL, &err));
	g_assert_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE);
	g_assert_nonnull(strstr(err->message, "/dev/sg1 is a SCSI device of peripheral type 0x0d"));
	g_clear_error(&err);
	two[1].type = 0x14;
	g_assert_true(rdp_sysfs_facts_check(two, 2, NULL, NULL, &err));
	two[1].type = -1;
	g_assert_true(rdp_sysfs_facts_check(two, 2, NULL, NULL, &err));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/config/load/paths", test_load_paths);
	ADD("/config/load/wwid", test_load_wwid);
	ADD("/config/load/bounds", test_load_bounds);
	ADD("/config/load/empty", test_load_empty);
	ADD("/config/load/missing", test_load_missing);
	ADD("/config/load/not-regular", test_load_not_regular);
	ADD("/config/bad/keys", test_bad_keys);
	ADD("/config/bad/selector", test_bad_selector);
	ADD("/config/bad/range", test_bad_range);
	ADD("/config/bad/number", test_bad_number);
	ADD("/config/bad/source", test_bad_source);
	ADD("/config/bad/paths", test_bad_paths);
	ADD("/config/bad/sections", test_bad_sections);
	ADD("/config/bad/syntax", test_bad_syntax);
	ADD("/config/key/selector", test_key_selector);
	ADD("/config/key/grouping", test_key_grouping);
	ADD("/config/key/failback", test_key_failback);
	ADD("/config/key/no-path-retry", test_key_no_path_retry);
	ADD("/config/key/checker", test_key_checker);
	ADD("/config/key/marginal", test_key_marginal);
	ADD("/config/key/max-checker-interval", test_max_checker_interval);
	ADD("/config/bad/max-checker-interval", test_bad_max_checker_interval);
	ADD("/config/key/target-port", test_target_port);
	ADD("/config/bad/target-port", test_bad_target_port);
	ADD("/config/key/path-values", test_path_values);
	ADD("/config/bad/path-values", test_bad_path_values);
	ADD("/config/load/inheritance", test_inheritance);
	ADD("/config/resolve/unknown", test_resolve_unknown);
	ADD("/config/resolve/bad-cfgstring", test_resolve_bad_cfgstring);
	ADD("/config/resolve/wwid-absent", test_resolve_wwid_absent);
	ADD("/config/resolve/devices", test_resolve_devices);
	ADD("/config/resolve/block-device", test_resolve_block_device);
	ADD("/config/resolve/device-check", test_device_check);
	ADD("/config/defaults-match-table", test_defaults_match_table);
#undef ADD
	g_test_add_func("/config/load/builtin-defaults", test_load_builtin_defaults);
	g_test_add_func("/discover/wwid-matches", test_wwid_matches);
	g_test_add_func("/discover/natural-cmp", test_natural_cmp);
	g_test_add_func("/discover/natural-sort", test_natural_sort);
	g_test_add_func("/discover/absent", test_discover_absent);
	g_test_add_func("/discover/sysfs-facts", test_sysfs_facts);
	g_test_add_func("/config/example", test_example_config);
	g_test_add_func("/config/docs-keys", test_docs_keys);
	return g_test_run();
}
