/* Configuration model: parse tcmu-rdp.conf (ini syntax read with GKeyFile: an optional [defaults]
 * section and one section per LUN) and turn a backstore cfgstring into a struct rdp_lun_spec.
 * A file is checked whole and strictly at load, with line numbers, so that a typo is reported
 * when the daemon starts rather than when some LUN is opened later. */

#include "config.h"
#include "alua.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

GQuark rdp_config_error_quark(void)
{
	return g_quark_from_static_string("rdp-config-error-quark");
}

#define SG_MAJOR 21 /* SCSI_GENERIC_MAJOR in <linux/major.h> */
/* Far above any real file: a larger one is a wrong path, not a configuration. */
#define CONFIG_MAX_BYTES (1024 * 1024)
/* TCMU keeps "rdp/<cfgstring>" in 256 bytes; leave room for the prefix and for growth. */
#define LUN_NAME_MAX 128
#define DEFAULTS_GROUP "defaults"
#define WWID_PREFIX "wwid="
#define WWID_SOURCE "/sys/class/scsi_generic/sgN/device/wwid"
#define LUN_NAME_CHARS "letters, digits and . _ - : @ +"

#define CMD_TIMEOUT_DEFAULT 13 /* twice inside the kernel's default cmd_time_out (30 s) less its margin */
#define CMD_TIMEOUT_MIN 1
#define CMD_TIMEOUT_MAX 3600
#define CHECKER_INTERVAL_DEFAULT 5
#define CHECKER_INTERVAL_MIN 1
#define CHECKER_INTERVAL_MAX 3600
#define MAX_RETRIES_DEFAULT 5
#define MAX_RETRIES_MIN 0
#define MAX_RETRIES_MAX 100
/* Without max_checker_interval, healthy paths back off to this many checker intervals: rare
 * enough to cost nothing, frequent enough that a dead standby path is noticed within a minute
 * at the default checker_interval. The range holds the derived value of the longest interval. */
#define MAX_CHECKER_FACTOR 4
#define MAX_CHECKER_INTERVAL_MIN 1
#define MAX_CHECKER_INTERVAL_MAX 14400 /* a literal, for G_STRINGIFY in the key table */
G_STATIC_ASSERT(MAX_CHECKER_INTERVAL_MAX == MAX_CHECKER_FACTOR * CHECKER_INTERVAL_MAX);
#define FAILBACK_DELAY_MIN 1
#define FAILBACK_DELAY_MAX 3600
#define NO_PATH_RETRY_MIN 1
#define NO_PATH_RETRY_MAX 10000
#define MARGINAL_ERR_COUNT_DEFAULT 0
#define MARGINAL_ERR_COUNT_MIN 0
#define MARGINAL_ERR_COUNT_MAX 1000
#define MARGINAL_WINDOW_DEFAULT 60
#define MARGINAL_WINDOW_MIN 1
#define MARGINAL_WINDOW_MAX 3600
#define MARGINAL_RECOVERY_DEFAULT 300
#define MARGINAL_RECOVERY_MIN 1
#define MARGINAL_RECOVERY_MAX 86400
#define PATH_VALUE_MIN 1
#define PATH_VALUE_MAX 1000
#define TARGET_PORT_DEFAULT 0 /* the gateway is the LUN's only port */
#define TARGET_PORT_MIN 0
#define TARGET_PORTS_DEFAULT 1
#define TARGET_PORTS_MIN 1
#define TARGET_PORTS_MAX 32 /* a literal, for G_STRINGIFY in the key table */
G_STATIC_ASSERT(TARGET_PORTS_MAX == RDP_TARGET_PORTS_MAX);

enum key_id {
	KEY_PATHS,
	KEY_WWID,
	KEY_CMD_TIMEOUT,
	KEY_CHECKER_INTERVAL,
	KEY_MAX_RETRIES,
	KEY_SELECTOR,
	KEY_GROUPING,
	KEY_FAILBACK,
	KEY_NO_PATH_RETRY,
	KEY_MAX_CHECKER_INTERVAL,
	KEY_CHECKER,
	KEY_MARGINAL_ERR_COUNT,
	KEY_MARGINAL_WINDOW,
	KEY_MARGINAL_RECOVERY,
	KEY_TARGET_PORT,
	KEY_TARGET_PORTS,
	KEY_PRIORITIES,
	KEY_WEIGHTS,
	KEY_COUNT
};

#define DURATION_RANGE(min, max) G_STRINGIFY(min) ".." G_STRINGIFY(max) " s"
#define COUNT_RANGE(min, max) G_STRINGIFY(min) ".." G_STRINGIFY(max)

/* The word lists below are indexed by the value they stand for. */
static const char *const selector_names[] = {
    [RDP_SEL_ROUND_ROBIN] = "round-robin",
    [RDP_SEL_QUEUE_LENGTH] = "queue-length",
    [RDP_SEL_SERVICE_TIME] = "service-time",
    [RDP_SEL_WEIGHTED] = "weighted",
};

static const char *const grouping_names[] = {
    [RDP_GROUP_AUTO] = "auto",	       [RDP_GROUP_ALUA] = "alua",
    [RDP_GROUP_PRIORITY] = "priority", [RDP_GROUP_MULTIBUS] = "multibus",
    [RDP_GROUP_FAILOVER] = "failover",
};

/* failback's words; a duration instead means RDP_FAILBACK_DEFERRED */
static const char *const failback_names[] = {
    [RDP_FAILBACK_IMMEDIATE] = "immediate",
    [RDP_FAILBACK_MANUAL] = "manual",
    [RDP_FAILBACK_FOLLOWOVER] = "followover",
};

/* no_path_retry's words; a count instead means that many checker intervals */
enum no_path_word { NO_PATH_WORD_FAIL, NO_PATH_WORD_QUEUE };
static const char *const no_path_names[] = {
    [NO_PATH_WORD_FAIL] = "fail",
    [NO_PATH_WORD_QUEUE] = "queue",
};

enum checker_kind { CHECKER_TUR, CHECKER_READ };
static const char *const checker_names[] = {
    [CHECKER_TUR] = "tur",
    [CHECKER_READ] = "read",
};

/* Defaults and ranges are spelled from the same macros the parser uses, so the documentation
 * test compares docs/configuration.md with the values actually in force. */
static const struct rdp_config_key config_keys[KEY_COUNT] = {
    [KEY_PATHS] = {.name = "paths",
		   .type = "string list",
		   .default_value = "",
		   .range = "",
		   .lun_only = true},
    [KEY_WWID] =
	{.name = "wwid", .type = "string", .default_value = "", .range = "", .lun_only = true},
    [KEY_CMD_TIMEOUT] = {.name = "cmd_timeout",
			 .type = "duration",
			 .default_value = G_STRINGIFY(CMD_TIMEOUT_DEFAULT),
			 .range = DURATION_RANGE(CMD_TIMEOUT_MIN, CMD_TIMEOUT_MAX)},
    [KEY_CHECKER_INTERVAL] = {.name = "checker_interval",
			      .type = "duration",
			      .default_value = G_STRINGIFY(CHECKER_INTERVAL_DEFAULT),
			      .range = DURATION_RANGE(CHECKER_INTERVAL_MIN, CHECKER_INTERVAL_MAX)},
    [KEY_MAX_RETRIES] = {.name = "max_retries",
			 .type = "integer",
			 .default_value = G_STRINGIFY(MAX_RETRIES_DEFAULT),
			 .range = COUNT_RANGE(MAX_RETRIES_MIN, MAX_RETRIES_MAX)},
    [KEY_SELECTOR] = {.name = "selector",
		      .type = "enum",
		      .default_value = "round-robin",
		      .range = "round-robin, queue-length, service-time, weighted"},
    [KEY_GROUPING] = {.name = "grouping",
		      .type = "enum",
		      .default_value = "auto",
		      .range = "auto, alua, priority, multibus, failover"},
    [KEY_FAILBACK] = {.name = "failback",
		      .type = "enum or duration",
		      .default_value = "immediate",
		      .range = "immediate, manual, followover, " DURATION_RANGE(
			  FAILBACK_DELAY_MIN, FAILBACK_DELAY_MAX)},
    [KEY_NO_PATH_RETRY] = {.name = "no_path_retry",
			   .type = "enum or integer",
			   .default_value = "queue",
			   .range =
			       "fail, queue, " COUNT_RANGE(NO_PATH_RETRY_MIN, NO_PATH_RETRY_MAX)},
    [KEY_MAX_CHECKER_INTERVAL] = {.name = "max_checker_interval",
				  .type = "duration",
				  .default_value =
				      G_STRINGIFY(MAX_CHECKER_FACTOR) " × checker_interval",
				  .default_is_rule = true,
				  .range = DURATION_RANGE(MAX_CHECKER_INTERVAL_MIN,
							  MAX_CHECKER_INTERVAL_MAX)},
    [KEY_CHECKER] = {.name = "checker",
		     .type = "enum",
		     .default_value = "tur",
		     .range = "tur, read"},
    [KEY_MARGINAL_ERR_COUNT] = {.name = "marginal_err_count",
				.type = "integer",
				.default_value = G_STRINGIFY(MARGINAL_ERR_COUNT_DEFAULT),
				.range =
				    COUNT_RANGE(MARGINAL_ERR_COUNT_MIN, MARGINAL_ERR_COUNT_MAX)},
    [KEY_MARGINAL_WINDOW] = {.name = "marginal_window",
			     .type = "duration",
			     .default_value = G_STRINGIFY(MARGINAL_WINDOW_DEFAULT),
			     .range = DURATION_RANGE(MARGINAL_WINDOW_MIN, MARGINAL_WINDOW_MAX)},
    [KEY_MARGINAL_RECOVERY] = {.name = "marginal_recovery",
			       .type = "duration",
			       .default_value = G_STRINGIFY(MARGINAL_RECOVERY_DEFAULT),
			       .range =
				   DURATION_RANGE(MARGINAL_RECOVERY_MIN, MARGINAL_RECOVERY_MAX)},
    [KEY_TARGET_PORT] = {.name = "target_port",
			 .type = "integer",
			 .default_value = G_STRINGIFY(TARGET_PORT_DEFAULT),
			 .range = COUNT_RANGE(TARGET_PORT_MIN, TARGET_PORTS_MAX)},
    [KEY_TARGET_PORTS] = {.name = "target_ports",
			  .type = "integer",
			  .default_value = G_STRINGIFY(TARGET_PORTS_DEFAULT),
			  .range = COUNT_RANGE(TARGET_PORTS_MIN, TARGET_PORTS_MAX)},
    [KEY_PRIORITIES] = {.name = "priorities",
			.type = "integer list",
			.default_value = "",
			.range = COUNT_RANGE(PATH_VALUE_MIN, PATH_VALUE_MAX),
			.lun_only = true},
    [KEY_WEIGHTS] = {.name = "weights",
		     .type = "integer list",
		     .default_value = "",
		     .range = COUNT_RANGE(PATH_VALUE_MIN, PATH_VALUE_MAX),
		     .lun_only = true},
};

/* The settings a LUN inherits from [defaults] and may override. */
struct settings {
	unsigned int cmd_timeout_ms;
	unsigned int checker_interval_ms;
	unsigned int max_retries;
	enum rdp_selector_kind selector;
	enum rdp_grouping grouping;
	enum rdp_failback failback;
	unsigned int failback_delay_ms;
	unsigned int no_path_retry;
	unsigned int max_checker_interval_ms; /* 0: MAX_CHECKER_FACTOR x checker_interval */
	bool read_checker;
	unsigned int marginal_err_count;
	unsigned int marginal_window_ms;
	unsigned int marginal_recovery_ms;
	unsigned int target_port; /* 0: the only port */
	unsigned int target_ports;
	/* Lines in [defaults] of the two checker intervals (0: built in), for the message when
	 * a LUN section sets one so that it conflicts with the other; likewise of the two target
	 * port keys. */
	unsigned int checker_interval_line;
	unsigned int max_checker_interval_line;
	unsigned int target_port_line;
	unsigned int target_ports_line;
};

static const struct settings builtin_defaults = {
    .cmd_timeout_ms = CMD_TIMEOUT_DEFAULT * 1000,
    .checker_interval_ms = CHECKER_INTERVAL_DEFAULT * 1000,
    .max_retries = MAX_RETRIES_DEFAULT,
    .selector = RDP_SEL_ROUND_ROBIN,
    .grouping = RDP_GROUP_AUTO,
    .failback = RDP_FAILBACK_IMMEDIATE,
    .failback_delay_ms = 0,
    .no_path_retry = RDP_NO_PATH_QUEUE,
    .max_checker_interval_ms = 0,
    .read_checker = false,
    .marginal_err_count = MARGINAL_ERR_COUNT_DEFAULT,
    .marginal_window_ms = MARGINAL_WINDOW_DEFAULT * 1000,
    .marginal_recovery_ms = MARGINAL_RECOVERY_DEFAULT * 1000,
    .target_port = TARGET_PORT_DEFAULT,
    .target_ports = TARGET_PORTS_DEFAULT,
};

/* One value per device of paths=, in the same order (priorities=, weights=). */
struct path_values {
	unsigned int *v; /* NULL: not given */
	unsigned int n;
	unsigned int line;
};

struct lun_section {
	char *name;
	unsigned int line;	/* of the [name] header */
	const char *source_key; /* "paths" or "wwid": the key that gives the devices */
	unsigned int source_line;
	char **paths; /* canonical, NULL when given by wwid */
	char *wwid;   /* canonical, NULL when given by paths */
	struct settings set;
	struct path_values priorities;
	struct path_values weights;
};

struct rdp_config {
	char *file;
	bool missing; /* loaded with missing_ok from a file that does not exist */
	struct settings defaults;
	GPtrArray *luns; /* struct lun_section, in file order */
};

/* Where a problem is, for the "<file>:<line>: [<group>] <key>: <problem>" message form. */
struct where {
	const char *file;
	unsigned int line; /* 0: unknown */
	const char *group; /* NULL: the file as a whole */
	const char *key;   /* NULL: the group as a whole */
};

const struct rdp_config_key *rdp_config_keys(size_t *n)
{
	if (n)
		*n = G_N_ELEMENTS(config_keys);
	return config_keys;
}

static char *where_prefix(const struct where *w)
{
	GString *s = g_string_new(w->file);

	if (w->line)
		g_string_append_printf(s, ":%u", w->line);
	g_string_append(s, ": ");
	if (w->group) {
		g_autofree char *group = g_strescape(w->group, NULL);
		g_string_append_printf(s, "[%s]", group);
		if (w->key) {
			g_autofree char *key = g_strescape(w->key, NULL);
			g_string_append_printf(s, " %s", key);
		}
		g_string_append(s, ": ");
	}
	return g_string_free(s, FALSE);
}

static void G_GNUC_PRINTF(4, 5)
    where_error(GError **err, int code, const struct where *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_autofree char *problem = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_autofree char *prefix = where_prefix(w);
	g_set_error(err, RDP_CONFIG_ERROR, code, "%s%s", prefix, problem);
}

/* ---- reading the file ---- */

static bool read_fd(int fd, const char *file, GString *buf, GError **err)
{
	struct stat st;
	char chunk[4096];

	if (fstat(fd, &st) < 0) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ,
			    "%s: cannot examine the configuration file: %s", file,
			    g_strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ,
			    "%s: not a regular file; give the path of the configuration file",
			    file);
		return false;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ,
				    "%s: cannot read the configuration file: %s", file,
				    g_strerror(errno));
			return false;
		}
		if (n == 0)
			return true;
		g_string_append_len(buf, chunk, n);
		if (buf->len > CONFIG_MAX_BYTES) {
			g_set_error(
			    err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ,
			    "%s: larger than %d bytes; is this a tcmu-rdp configuration file?",
			    file, CONFIG_MAX_BYTES);
			return false;
		}
	}
}

/* The file's text, or "" with *missing set when it does not exist and that is allowed. */
static char *read_text(const char *file, bool missing_ok, gsize *len, bool *missing, GError **err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && missing_ok) {
			*missing = true;
			*len = 0;
			return g_strdup("");
		}
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_READ,
			    "%s: cannot open the configuration file: %s", file, g_strerror(e));
		return NULL;
	}
	g_autoptr(GString) buf = g_string_new(NULL);
	bool ok = read_fd(fd, file, buf, err);
	close(fd);
	if (!ok)
		return NULL;
	*len = buf->len;
	return g_string_free(g_steal_pointer(&buf), FALSE);
}

static unsigned int line_of_offset(const char *text, size_t off)
{
	unsigned int line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* GKeyFile would stop at a NUL or reject bad UTF-8 without saying where. */
static bool check_text(const char *file, const char *text, gsize len, GError **err)
{
	const char *nul = memchr(text, '\0', len);
	const char *bad;

	if (nul) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_SYNTAX,
			    "%s:%u: contains a NUL byte; is this a text file?", file,
			    line_of_offset(text, nul - text));
		return false;
	}
	if (!g_utf8_validate(text, len, &bad)) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_SYNTAX,
			    "%s:%u: not valid UTF-8 text", file, line_of_offset(text, bad - text));
		return false;
	}
	return true;
}

/* ---- scanning lines ---- */

struct scan_key {
	char *name;
	unsigned int line;
};

struct scan_group {
	char *name;
	unsigned int line;
	GPtrArray *keys; /* struct scan_key, in file order */
};

static void scan_key_free(void *p)
{
	struct scan_key *k = p;

	g_free(k->name);
	g_free(k);
}

static void scan_group_free(void *p)
{
	struct scan_group *g = p;

	g_free(g->name);
	g_ptr_array_unref(g->keys);
	g_free(g);
}

static bool scan_header(const char *file, unsigned int line, const char *row, GPtrArray *groups,
			GHashTable *seen, GError **err)
{
	size_t n = strlen(row);
	struct where w = {file, line, NULL, NULL};

	if (n < 2 || row[n - 1] != ']' || memchr(row + 1, '[', n - 2) ||
	    memchr(row + 1, ']', n - 2)) {
		where_error(err, RDP_CONFIG_ERROR_SYNTAX, &w,
			    "syntax error: a section header is one name in brackets, like [lun0]");
		return false;
	}
	g_autofree char *name = g_strndup(row + 1, n - 2);
	if (!*name) {
		where_error(err, RDP_CONFIG_ERROR_SYNTAX, &w,
			    "syntax error: empty section name []");
		return false;
	}
	unsigned int first = GPOINTER_TO_UINT(g_hash_table_lookup(seen, name));
	if (first) {
		w.group = name;
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "section given twice (first at line %u); merge the two", first);
		return false;
	}
	struct scan_group *g = g_new0(struct scan_group, 1);
	g->name = g_steal_pointer(&name);
	g->line = line;
	g->keys = g_ptr_array_new_with_free_func(scan_key_free);
	g_ptr_array_add(groups, g);
	g_hash_table_insert(seen, g_strdup(g->name), GUINT_TO_POINTER(line));
	return true;
}

static bool scan_key_line(const char *file, unsigned int line, char *row, GPtrArray *groups,
			  GHashTable *seen, GError **err)
{
	struct where w = {file, line, NULL, NULL};
	char *eq = strchr(row, '=');

	if (!eq) {
		g_autofree char *text = g_strescape(row, NULL);
		where_error(err, RDP_CONFIG_ERROR_SYNTAX, &w,
			    "syntax error: \"%.60s\" is not a [section] header, a key = value line "
			    "or a # comment",
			    text);
		return false;
	}
	*eq = '\0';
	const char *key = g_strstrip(row);
	if (!*key) {
		where_error(err, RDP_CONFIG_ERROR_SYNTAX, &w, "syntax error: '=' without a key");
		return false;
	}
	if (!groups->len) {
		g_autofree char *k = g_strescape(key, NULL);
		where_error(err, RDP_CONFIG_ERROR_SYNTAX, &w,
			    "%s: outside any section; put it under [" DEFAULTS_GROUP
			    "] or under a LUN section",
			    k);
		return false;
	}
	struct scan_group *g = g_ptr_array_index(groups, groups->len - 1);
	g_autofree char *id = g_strdup_printf("%s\n%s", g->name, key);
	unsigned int first = GPOINTER_TO_UINT(g_hash_table_lookup(seen, id));
	if (first) {
		w.group = g->name;
		w.key = key;
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "given twice in this section (first at line %u)", first);
		return false;
	}
	g_hash_table_insert(seen, g_steal_pointer(&id), GUINT_TO_POINTER(line));

	struct scan_key *k = g_new0(struct scan_key, 1);
	k->name = g_strdup(key);
	k->line = line;
	g_ptr_array_add(g->keys, k);
	return true;
}

/* Walk the lines as GKeyFile does, to learn the line of every section and key, and to refuse
 * what GKeyFile accepts silently: a repeated section is merged there and a repeated key lets
 * the last one win, which hides mistakes. Returns struct scan_group in file order. */
static GPtrArray *scan_text(const char *file, const char *text, GError **err)
{
	g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func(scan_group_free);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_auto(GStrv) rows = g_strsplit(text, "\n", -1);

	for (unsigned int i = 0; rows[i]; i++) {
		char *row = g_strstrip(rows[i]);
		bool ok = true;

		if (!*row || *row == '#')
			continue;
		if (*row == '[')
			ok = scan_header(file, i + 1, row, groups, seen, err);
		else
			ok = scan_key_line(file, i + 1, row, groups, seen, err);
		if (!ok)
			return NULL;
	}
	return g_steal_pointer(&groups);
}

/* ---- checking values ---- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* NULL when name can be a LUN name (and so a cfgstring), else what is wrong with it. */
static char *lun_name_problem(const char *name)
{
	if (!*name)
		return g_strdup("is empty");
	if (strlen(name) > LUN_NAME_MAX)
		return g_strdup_printf("is longer than %d characters", LUN_NAME_MAX);
	if (has_control(name))
		return g_strdup("contains a control character");
	if (strchr(name, '/'))
		return g_strdup("contains '/'");
	if (strstr(name, ".."))
		return g_strdup("contains '..'");
	for (const char *p = name; *p; p++) {
		if (g_ascii_isalnum(*p) || strchr("._-:@+", *p))
			continue;
		if ((unsigned char)*p >= 0x80)
			return g_strdup("contains a non-ASCII character");
		return g_strdup_printf("contains '%c'", *p);
	}
	return NULL;
}

/* NULL when wwid can be an identity as the kernel prints it in sysfs, else what is wrong. */
static const char *wwid_problem(const char *wwid)
{
	size_t n = strlen(wwid);

	if (!n)
		return "is empty";
	if (n >= RDP_WWID_MAX)
		return "is longer than " G_STRINGIFY(RDP_WWID_MAX) " characters";
	for (const char *p = wwid; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return "contains a character that is not printable ASCII";
		if (*p == '/')
			return "contains '/'";
	}
	if (wwid[0] == ' ' || wwid[n - 1] == ' ')
		return "begins or ends with a blank";
	return NULL;
}

/* The kernel prints NAA and EUI-64 designators in lower-case hex; spell them the same way so
 * that the identity read back from the device compares equal. */
static char *wwid_canonical(const char *wwid)
{
	if (g_ascii_strncasecmp(wwid, "naa.", 4) == 0 || g_ascii_strncasecmp(wwid, "eui.", 4) == 0)
		return g_ascii_strdown(wwid, -1);
	return g_strdup(wwid);
}

static bool has_dotdot_component(const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);

	for (unsigned int i = 0; parts[i]; i++)
		if (strcmp(parts[i], "..") == 0)
			return true;
	return false;
}

/* NULL when path may name a backing device, else what is wrong. Existence and type are
 * checked only at resolve time: a device may appear after the daemon has started. */
static const char *path_problem(const char *path)
{
	if (has_control(path))
		return "contains a control character";
	for (const char *p = path; *p; p++)
		if (g_ascii_isspace(*p))
			return "contains a blank; separate devices with ';'";
	if (path[0] != '/')
		return "not an absolute path; name the device as /dev/sgN";
	if (has_dotdot_component(path))
		return "has a '..' component; name the device as /dev/sgN";
	g_autofree char *canon = g_canonicalize_filename(path, "/");
	if (!g_str_has_prefix(canon, "/dev/"))
		return "not under /dev/; name the SCSI generic device as /dev/sgN";
	return NULL;
}

/* The digits at the start of v as a number, saturated far above any range. Returns the first
 * character after them. */
static const char *leading_number(const char *v, uint64_t *n)
{
	*n = 0;
	for (; g_ascii_isdigit(*v); v++)
		if (*n < UINT32_MAX)
			*n = *n * 10 + (uint64_t)(*v - '0');
	return v;
}

/* ", or <also>" after a range, when the key also takes words */
static const char *or_also(const char *also)
{
	return also ? ", or " : "";
}

/* Whole seconds ("30", "30s") or milliseconds ("1500ms"). A fraction is refused rather than
 * rounded, so that the value written is the value used. also names the words the key takes
 * besides a duration, for the range message; NULL when there are none. */
static bool parse_duration(const struct where *w, const char *raw, unsigned int min_s,
			   unsigned int max_s, const char *also, unsigned int *ms, GError **err)
{
	g_autofree char *v = g_strstrip(g_strdup(raw));
	g_autofree char *q = g_strescape(v, NULL);
	uint64_t n;
	const char *p = leading_number(v, &n);

	if (p == v || (*p && strcmp(p, "s") != 0 && strcmp(p, "ms") != 0)) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "\"%s\" is not a duration; write whole seconds (30) or milliseconds "
			    "(1500ms)",
			    q);
		return false;
	}
	uint64_t scale = strcmp(p, "ms") == 0 ? 1 : 1000;
	if (n * scale < (uint64_t)min_s * 1000 || n * scale > (uint64_t)max_s * 1000) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "%s is out of range; allowed: %u to %u seconds%s%s", q, min_s, max_s,
			    or_also(also), also ? also : "");
		return false;
	}
	*ms = (unsigned int)(n * scale);
	return true;
}

/* A whole number; also as for parse_duration(). */
static bool parse_count(const struct where *w, const char *raw, unsigned int min, unsigned int max,
			const char *also, unsigned int *out, GError **err)
{
	g_autofree char *v = g_strstrip(g_strdup(raw));
	g_autofree char *q = g_strescape(v, NULL);
	uint64_t n;
	const char *p = leading_number(v, &n);

	if (p == v || *p) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w, "\"%s\" is not a whole number", q);
		return false;
	}
	if (n < min || n > max) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "%s is out of range; allowed: %u to %u%s%s", q, min, max, or_also(also),
			    also ? also : "");
		return false;
	}
	*out = (unsigned int)n;
	return true;
}

/* "a, b or c" */
static char *word_list(const char *const *names, size_t n)
{
	GString *s = g_string_new(names[0]);

	for (size_t i = 1; i < n; i++)
		g_string_append_printf(s, "%s%s", i + 1 < n ? ", " : " or ", names[i]);
	return g_string_free(s, FALSE);
}

/* The index of v in names, or -1. Words are case-sensitive like keys. */
static int word_index(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return (int)i;
	return -1;
}

/* One of the words of names, stored as its index; what names the kind of value for the
 * message ("a path selector"). */
static bool parse_word(const struct where *w, const char *raw, const char *const *names, size_t n,
		       const char *what, int *out, GError **err)
{
	g_autofree char *v = g_strstrip(g_strdup(raw));
	int i = word_index(v, names, n);

	if (i >= 0) {
		*out = i;
		return true;
	}
	g_autofree char *q = g_strescape(v, NULL);
	g_autofree char *words = word_list(names, n);
	where_error(err, RDP_CONFIG_ERROR_VALUE, w, "\"%s\" is not %s; use %s", q, what, words);
	return false;
}

#define PARSE_WORD(w, raw, names, what, out, err)                                                  \
	parse_word(w, raw, names, G_N_ELEMENTS(names), what, out, err)

/* immediate | manual | followover | a delay: a number is read as a duration so that its
 * mistakes get the duration's messages; anything else gets the list of words. */
static bool parse_failback(const struct where *w, const char *raw, struct settings *set,
			   GError **err)
{
	g_autofree char *v = g_strstrip(g_strdup(raw));
	g_autofree char *words = word_list(failback_names, G_N_ELEMENTS(failback_names));
	int i = word_index(v, failback_names, G_N_ELEMENTS(failback_names));

	if (i >= 0) {
		set->failback = (enum rdp_failback)i;
		set->failback_delay_ms = 0;
		return true;
	}
	if (!g_ascii_isdigit(*v)) {
		g_autofree char *q = g_strescape(v, NULL);
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "\"%s\" is not a failback policy; use %s, or a delay in seconds "
			    "(30)",
			    q, words);
		return false;
	}
	if (!parse_duration(w, v, FAILBACK_DELAY_MIN, FAILBACK_DELAY_MAX, words,
			    &set->failback_delay_ms, err))
		return false;
	set->failback = RDP_FAILBACK_DEFERRED;
	return true;
}

/* fail | queue | a number of checker intervals */
static bool parse_no_path_retry(const struct where *w, const char *raw, unsigned int *out,
				GError **err)
{
	g_autofree char *v = g_strstrip(g_strdup(raw));
	g_autofree char *words = word_list(no_path_names, G_N_ELEMENTS(no_path_names));
	int i = word_index(v, no_path_names, G_N_ELEMENTS(no_path_names));

	if (i >= 0) {
		*out = i == NO_PATH_WORD_FAIL ? RDP_NO_PATH_FAIL : RDP_NO_PATH_QUEUE;
		return true;
	}
	if (!g_ascii_isdigit(*v)) {
		g_autofree char *q = g_strescape(v, NULL);
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "\"%s\" is not a no-path policy; use %s, or a number of checker "
			    "intervals (%d to %d)",
			    q, words, NO_PATH_RETRY_MIN, NO_PATH_RETRY_MAX);
		return false;
	}
	return parse_count(w, v, NO_PATH_RETRY_MIN, NO_PATH_RETRY_MAX, words, out, err);
}

/* ---- loading ---- */

struct loader {
	const char *file;
	GKeyFile *kf;
	GHashTable *devices; /* canonical path -> struct lun_section that lists it */
	GHashTable *wwids;   /* canonical wwid -> struct lun_section that gives it */
};

static void lun_section_free(void *p)
{
	struct lun_section *lun = p;

	g_free(lun->name);
	g_strfreev(lun->paths);
	g_free(lun->wwid);
	g_free(lun->priorities.v);
	g_free(lun->weights.v);
	g_free(lun);
}

static bool load_paths(struct loader *ld, const struct where *w, struct lun_section *lun,
		       GError **err)
{
	g_autoptr(GError) e = NULL;
	g_auto(GStrv) items = g_key_file_get_string_list(ld->kf, w->group, w->key, NULL, &e);
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

	if (!items) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w, "%s", e->message);
		return false;
	}
	for (unsigned int i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		/* "a;;b" or a trailing "; " harm nothing: skip empty entries */
		if (!*item)
			continue;
		const char *problem = path_problem(item);
		if (problem) {
			g_autofree char *q = g_strescape(item, NULL);
			where_error(err, RDP_CONFIG_ERROR_VALUE, w, "%s: %s", q, problem);
			return false;
		}
		g_autofree char *canon = g_canonicalize_filename(item, "/");
		for (unsigned int j = 0; j < list->len; j++) {
			if (strcmp(g_ptr_array_index(list, j), canon) == 0) {
				where_error(err, RDP_CONFIG_ERROR_VALUE, w,
					    "%s is listed twice; list each device once", canon);
				return false;
			}
		}
		const struct lun_section *other = g_hash_table_lookup(ld->devices, canon);
		if (other) {
			where_error(err, RDP_CONFIG_ERROR_VALUE, w,
				    "%s is already used by [%s] (line %u); a device can back one "
				    "LUN only",
				    canon, other->name, other->source_line);
			return false;
		}
		g_ptr_array_add(list, g_steal_pointer(&canon));
	}
	if (!list->len) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "no device given; list the SCSI generic devices, e.g. "
			    "paths = /dev/sg1;/dev/sg2");
		return false;
	}
	g_ptr_array_add(list, NULL);
	lun->paths = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
	for (unsigned int i = 0; lun->paths[i]; i++)
		g_hash_table_insert(ld->devices, lun->paths[i], lun);
	return true;
}

static bool load_wwid(struct loader *ld, const struct where *w, struct lun_section *lun,
		      GError **err)
{
	g_autoptr(GError) e = NULL;
	g_autofree char *value = g_key_file_get_string(ld->kf, w->group, w->key, &e);

	if (!value) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w, "%s", e->message);
		return false;
	}
	const char *id = g_strstrip(value);
	const char *problem = wwid_problem(id);
	if (problem) {
		g_autofree char *q = g_strescape(id, NULL);
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "\"%s\" %s; copy the identity from " WWID_SOURCE, q, problem);
		return false;
	}
	g_autofree char *canon = wwid_canonical(id);
	const struct lun_section *other = g_hash_table_lookup(ld->wwids, canon);
	if (other) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "%s is already used by [%s] (line %u); a device can back one LUN only",
			    canon, other->name, other->source_line);
		return false;
	}
	lun->wwid = g_steal_pointer(&canon);
	g_hash_table_insert(ld->wwids, lun->wwid, lun);
	return true;
}

/* priorities= or weights=: numbers separated by ';'. How many there must be is known only at
 * the end of the section, since paths may come after them (check_path_values()). */
static bool load_path_values(struct loader *ld, const struct where *w, struct path_values *out,
			     GError **err)
{
	g_autoptr(GError) e = NULL;
	g_auto(GStrv) items = g_key_file_get_string_list(ld->kf, w->group, w->key, NULL, &e);
	g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(unsigned int));

	if (!items) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w, "%s", e->message);
		return false;
	}
	for (unsigned int i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		/* skipped as paths= skips them, so that the two lists line up alike */
		if (!*item)
			continue;
		g_autofree char *q = g_strescape(item, NULL);
		uint64_t n;
		const char *p = leading_number(item, &n);
		if (p == item || *p) {
			where_error(err, RDP_CONFIG_ERROR_VALUE, w,
				    "\"%s\" is not a whole number; give one number per device of "
				    "paths, separated by ';'",
				    q);
			return false;
		}
		if (n < PATH_VALUE_MIN || n > PATH_VALUE_MAX) {
			where_error(err, RDP_CONFIG_ERROR_VALUE, w,
				    "%s is out of range; allowed: %d to %d", q, PATH_VALUE_MIN,
				    PATH_VALUE_MAX);
			return false;
		}
		unsigned int v = (unsigned int)n;
		g_array_append_val(list, v);
	}
	if (!list->len) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, w,
			    "no value given; give one number per device of paths, e.g. %s = 2;1",
			    w->key);
		return false;
	}
	out->n = list->len;
	out->line = w->line;
	out->v = (unsigned int *)(void *)g_array_free(g_steal_pointer(&list), FALSE);
	return true;
}

/* Per-path values name devices by their place in paths=, which a wwid= LUN does not have. */
static bool check_path_values(const struct loader *ld, const struct scan_group *g,
			      const struct lun_section *lun, int id, const struct path_values *pv,
			      GError **err)
{
	struct where w = {ld->file, pv->line, g->name, config_keys[id].name};

	if (!pv->v)
		return true;
	if (!lun->paths) {
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "not possible with wwid (line %u): such a LUN's devices are discovered "
			    "when the backstore is enabled, in no fixed order; list the devices "
			    "with paths = to give each one a value",
			    lun->source_line);
		return false;
	}
	unsigned int npaths = g_strv_length(lun->paths);
	if (pv->n != npaths) {
		where_error(err, RDP_CONFIG_ERROR_VALUE, &w,
			    "%u value%s for %u device%s in paths (line %u); give one value per "
			    "device, in the order of paths",
			    pv->n, pv->n == 1 ? "" : "s", npaths, npaths == 1 ? "" : "s",
			    lun->source_line);
		return false;
	}
	return true;
}

static char *duration_text(unsigned int ms)
{
	if (ms % 1000 == 0)
		return g_strdup_printf("%u s", ms / 1000);
	return g_strdup_printf("%u ms", ms);
}

/* Where a setting in force in a section came from: line is this section's line of it (0: not
 * set here), defaults_line the line in [defaults] (0: built in). */
static char *origin_text(unsigned int line, unsigned int defaults_line)
{
	if (line)
		return g_strdup_printf("line %u", line);
	if (defaults_line)
		return g_strdup_printf("[" DEFAULTS_GROUP "] line %u", defaults_line);
	return g_strdup("built-in default");
}

/* Healthy paths back off from checker_interval up to max_checker_interval, so the second may
 * not be the shorter. Checked on the values in force once a section is read, since the two
 * may be set in different sections. ci_line and mci_line are this section's lines of them. */
static bool check_checker_intervals(const struct loader *ld, const struct scan_group *g,
				    const struct settings *set, unsigned int ci_line,
				    unsigned int mci_line, GError **err)
{
	if (!set->max_checker_interval_ms ||
	    set->max_checker_interval_ms >= set->checker_interval_ms)
		return true;
	/* a conflict of two inherited values was reported at [defaults] already */
	g_assert(mci_line || ci_line);
	struct where w = {ld->file, mci_line ? mci_line : ci_line, g->name,
			  mci_line ? "max_checker_interval" : "checker_interval"};
	g_autofree char *mci = duration_text(set->max_checker_interval_ms);
	g_autofree char *ci = duration_text(set->checker_interval_ms);
	g_autofree char *mci_from = origin_text(mci_line, set->max_checker_interval_line);
	g_autofree char *ci_from = origin_text(ci_line, set->checker_interval_line);
	where_error(err, RDP_CONFIG_ERROR_VALUE, &w,
		    "max_checker_interval (%s, %s) is shorter than checker_interval (%s, %s); "
		    "healthy paths are checked every checker_interval at first and back off up "
		    "to max_checker_interval, so make it at least checker_interval",
		    mci, mci_from, ci, ci_from);
	return false;
}

/* target_port names this gateway among target_ports gateways, so it lies in 1..target_ports,
 * and several gateways need it named. Checked on the values in force once a section is read,
 * like the checker intervals above; tp_line and tps_line are this section's lines of them. */
static bool check_target_ports(const struct loader *ld, const struct scan_group *g,
			       const struct settings *set, unsigned int tp_line,
			       unsigned int tps_line, GError **err)
{
	if (!rdp_target_port_problem(set->target_port, set->target_ports))
		return true;
	/* the key's range keeps target_ports in 1..RDP_TARGET_PORTS_MAX: one of two rules left */
	bool beyond = set->target_port > set->target_ports;
	/* a conflict of two inherited values was reported at [defaults] already */
	g_assert(tp_line || tps_line);
	struct where w = {ld->file, tp_line ? tp_line : tps_line, g->name,
			  tp_line ? "target_port" : "target_ports"};
	g_autofree char *tp_from = origin_text(tp_line, set->target_port_line);
	g_autofree char *tps_from = origin_text(tps_line, set->target_ports_line);
	if (beyond)
		where_error(err, RDP_CONFIG_ERROR_VALUE, &w,
			    "target_port (%u, %s) is more than target_ports (%u, %s); the gateways "
			    "in front of a LUN are ports 1 to target_ports, so give this one a "
			    "port in that range or raise target_ports on every gateway",
			    set->target_port, tp_from, set->target_ports, tps_from);
	else
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "target_ports (%u, %s) with target_port 0 (%s); name this gateway's "
			    "port: target_port = 1 to %u, a different one on each gateway",
			    set->target_ports, tps_from, tp_from, set->target_ports);
	return false;
}

static int key_lookup(const char *name)
{
	for (int i = 0; i < KEY_COUNT; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return i;
	return -1;
}

static char *known_keys(bool in_lun)
{
	GString *s = g_string_new(NULL);

	for (int i = 0; i < KEY_COUNT; i++) {
		if (!in_lun && config_keys[i].lun_only)
			continue;
		g_string_append_printf(s, "%s%s", s->len ? ", " : "", config_keys[i].name);
	}
	return g_string_free(s, FALSE);
}

/* The devices of a LUN come from exactly one of paths= and wwid=. */
static bool load_source(struct loader *ld, const struct where *w, int id, struct lun_section *lun,
			GError **err)
{
	if (lun->source_key) {
		where_error(err, RDP_CONFIG_ERROR_KEY, w,
			    "cannot be combined with %s (line %u); a LUN is given by paths or by "
			    "wwid, not both",
			    lun->source_key, lun->source_line);
		return false;
	}
	lun->source_key = config_keys[id].name;
	lun->source_line = w->line;
	return id == KEY_PATHS ? load_paths(ld, w, lun, err) : load_wwid(ld, w, lun, err);
}

/* Parse the value of one key into set, or into lun for the keys only a LUN has. */
static bool load_value(struct loader *ld, const struct where *w, int id, const char *raw,
		       struct settings *set, struct lun_section *lun, GError **err)
{
	bool ok = false;
	int word = 0;

	switch ((enum key_id)id) {
	case KEY_PATHS:
	case KEY_WWID:
		ok = load_source(ld, w, id, lun, err);
		break;
	case KEY_CMD_TIMEOUT:
		ok = parse_duration(w, raw, CMD_TIMEOUT_MIN, CMD_TIMEOUT_MAX, NULL,
				    &set->cmd_timeout_ms, err);
		break;
	case KEY_CHECKER_INTERVAL:
		ok = parse_duration(w, raw, CHECKER_INTERVAL_MIN, CHECKER_INTERVAL_MAX, NULL,
				    &set->checker_interval_ms, err);
		break;
	case KEY_MAX_RETRIES:
		ok = parse_count(w, raw, MAX_RETRIES_MIN, MAX_RETRIES_MAX, NULL, &set->max_retries,
				 err);
		break;
	case KEY_SELECTOR:
		ok = PARSE_WORD(w, raw, selector_names, "a path selector", &word, err);
		if (ok)
			set->selector = (enum rdp_selector_kind)word;
		break;
	case KEY_GROUPING:
		ok = PARSE_WORD(w, raw, grouping_names, "a path grouping", &word, err);
		if (ok)
			set->grouping = (enum rdp_grouping)word;
		break;
	case KEY_FAILBACK:
		ok = parse_failback(w, raw, set, err);
		break;
	case KEY_NO_PATH_RETRY:
		ok = parse_no_path_retry(w, raw, &set->no_path_retry, err);
		break;
	case KEY_MAX_CHECKER_INTERVAL:
		ok = parse_duration(w, raw, MAX_CHECKER_INTERVAL_MIN, MAX_CHECKER_INTERVAL_MAX,
				    NULL, &set->max_checker_interval_ms, err);
		break;
	case KEY_CHECKER:
		ok = PARSE_WORD(w, raw, checker_names, "a path checker", &word, err);
		if (ok)
			set->read_checker = word == CHECKER_READ;
		break;
	case KEY_MARGINAL_ERR_COUNT:
		ok = parse_count(w, raw, MARGINAL_ERR_COUNT_MIN, MARGINAL_ERR_COUNT_MAX, NULL,
				 &set->marginal_err_count, err);
		break;
	case KEY_MARGINAL_WINDOW:
		ok = parse_duration(w, raw, MARGINAL_WINDOW_MIN, MARGINAL_WINDOW_MAX, NULL,
				    &set->marginal_window_ms, err);
		break;
	case KEY_MARGINAL_RECOVERY:
		ok = parse_duration(w, raw, MARGINAL_RECOVERY_MIN, MARGINAL_RECOVERY_MAX, NULL,
				    &set->marginal_recovery_ms, err);
		break;
	case KEY_TARGET_PORT:
		ok = parse_count(w, raw, TARGET_PORT_MIN, TARGET_PORTS_MAX, NULL, &set->target_port,
				 err);
		break;
	case KEY_TARGET_PORTS:
		ok = parse_count(w, raw, TARGET_PORTS_MIN, TARGET_PORTS_MAX, NULL,
				 &set->target_ports, err);
		break;
	case KEY_PRIORITIES:
		ok = load_path_values(ld, w, &lun->priorities, err);
		break;
	case KEY_WEIGHTS:
		ok = load_path_values(ld, w, &lun->weights, err);
		break;
	case KEY_COUNT:
		g_assert_not_reached();
	}
	return ok;
}

/* Load the keys of one group into set; lun is NULL for [defaults]. */
static bool load_group(struct loader *ld, const struct scan_group *g, struct settings *set,
		       struct lun_section *lun, GError **err)
{
	unsigned int ci_line = 0;  /* this section's line of checker_interval */
	unsigned int mci_line = 0; /* and of max_checker_interval */
	unsigned int tp_line = 0, tps_line = 0; /* of target_port and target_ports */

	for (unsigned int i = 0; i < g->keys->len; i++) {
		const struct scan_key *k = g_ptr_array_index(g->keys, i);
		struct where w = {ld->file, k->line, g->name, k->name};
		int id = key_lookup(k->name);

		if (id < 0) {
			g_autofree char *known = known_keys(lun != NULL);
			where_error(err, RDP_CONFIG_ERROR_KEY, &w,
				    "unknown key; known keys here: %s", known);
			return false;
		}
		if (!lun && config_keys[id].lun_only) {
			where_error(err, RDP_CONFIG_ERROR_KEY, &w,
				    "only allowed in a LUN section; %s",
				    id == KEY_PATHS || id == KEY_WWID
					? "each LUN names its own devices"
					: "it gives one value per device of the LUN's paths");
			return false;
		}

		g_autoptr(GError) e = NULL;
		g_autofree char *raw = g_key_file_get_value(ld->kf, g->name, k->name, &e);
		if (!raw) {
			where_error(err, RDP_CONFIG_ERROR_VALUE, &w, "%s", e->message);
			return false;
		}
		/* GKeyFile has no trailing comments: "30 # seconds" would be the value. */
		if (strstr(raw, " #") || strstr(raw, "\t#")) {
			where_error(err, RDP_CONFIG_ERROR_VALUE, &w,
				    "a # comment must be on a line of its own");
			return false;
		}

		if (!load_value(ld, &w, id, raw, set, lun, err))
			return false;
		if (id == KEY_CHECKER_INTERVAL)
			ci_line = k->line;
		else if (id == KEY_MAX_CHECKER_INTERVAL)
			mci_line = k->line;
		else if (id == KEY_TARGET_PORT)
			tp_line = k->line;
		else if (id == KEY_TARGET_PORTS)
			tps_line = k->line;
	}
	if (lun && !lun->source_key) {
		struct where w = {ld->file, g->line, g->name, NULL};
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "gives neither paths nor wwid; add paths = /dev/sgA;/dev/sgB or "
			    "wwid = <id>");
		return false;
	}
	if (lun && (!check_path_values(ld, g, lun, KEY_PRIORITIES, &lun->priorities, err) ||
		    !check_path_values(ld, g, lun, KEY_WEIGHTS, &lun->weights, err)))
		return false;
	if (!check_checker_intervals(ld, g, set, ci_line, mci_line, err) ||
	    !check_target_ports(ld, g, set, tp_line, tps_line, err))
		return false;
	if (!lun) {
		set->checker_interval_line = ci_line;
		set->max_checker_interval_line = mci_line;
		set->target_port_line = tp_line;
		set->target_ports_line = tps_line;
	}
	return true;
}

static bool load_lun(struct loader *ld, struct rdp_config *cfg, const struct scan_group *g,
		     GError **err)
{
	struct where w = {ld->file, g->line, g->name, NULL};

	if (g_ascii_strcasecmp(g->name, DEFAULTS_GROUP) == 0) {
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "section names are case-sensitive; the defaults section is "
			    "[" DEFAULTS_GROUP "]");
		return false;
	}
	g_autofree char *problem = lun_name_problem(g->name);
	if (problem) {
		where_error(err, RDP_CONFIG_ERROR_KEY, &w,
			    "cannot be a LUN name: it %s; use " LUN_NAME_CHARS, problem);
		return false;
	}

	struct lun_section *lun = g_new0(struct lun_section, 1);
	lun->name = g_strdup(g->name);
	lun->line = g->line;
	lun->set = cfg->defaults;
	/* owned by cfg from here on, so an error below frees it with cfg */
	g_ptr_array_add(cfg->luns, lun);
	return load_group(ld, g, &lun->set, lun, err);
}

static struct rdp_config *config_new(const char *file)
{
	struct rdp_config *cfg = g_new0(struct rdp_config, 1);

	cfg->file = g_strdup(file);
	cfg->defaults = builtin_defaults;
	cfg->luns = g_ptr_array_new_with_free_func(lun_section_free);
	return cfg;
}

struct rdp_config *rdp_config_load(const char *file, bool missing_ok, GError **err)
{
	g_return_val_if_fail(file != NULL, NULL);

	g_autoptr(rdp_config) cfg = config_new(file);
	gsize len = 0;
	g_autofree char *text = read_text(file, missing_ok, &len, &cfg->missing, err);
	if (!text || !check_text(file, text, len, err))
		return NULL;
	g_autoptr(GPtrArray) groups = scan_text(file, text, err);
	if (!groups)
		return NULL;

	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) e = NULL;
	if (len && !g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &e)) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_SYNTAX, "%s: %s", file,
			    e->message);
		return NULL;
	}

	g_autoptr(GHashTable) devices = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) wwids = g_hash_table_new(g_str_hash, g_str_equal);
	struct loader ld = {file, kf, devices, wwids};

	/* [defaults] first, wherever it is in the file, since every LUN inherits it */
	for (unsigned int i = 0; i < groups->len; i++) {
		const struct scan_group *g = g_ptr_array_index(groups, i);
		if (strcmp(g->name, DEFAULTS_GROUP) == 0 &&
		    !load_group(&ld, g, &cfg->defaults, NULL, err))
			return NULL;
	}
	for (unsigned int i = 0; i < groups->len; i++) {
		const struct scan_group *g = g_ptr_array_index(groups, i);
		if (strcmp(g->name, DEFAULTS_GROUP) != 0 && !load_lun(&ld, cfg, g, err))
			return NULL;
	}
	return g_steal_pointer(&cfg);
}

void rdp_config_free(struct rdp_config *cfg)
{
	if (!cfg)
		return;
	g_free(cfg->file);
	g_ptr_array_unref(cfg->luns);
	g_free(cfg);
}

const char *rdp_config_file(const struct rdp_config *cfg)
{
	return cfg ? cfg->file : NULL;
}

char **rdp_config_lun_names(const struct rdp_config *cfg)
{
	GPtrArray *names = g_ptr_array_new();

	for (unsigned int i = 0; cfg && i < cfg->luns->len; i++) {
		const struct lun_section *lun = g_ptr_array_index(cfg->luns, i);
		g_ptr_array_add(names, g_strdup(lun->name));
	}
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(names, FALSE);
}

/* ---- resolving a cfgstring ---- */

static const struct lun_section *find_lun(const struct rdp_config *cfg, const char *name)
{
	for (unsigned int i = 0; cfg && i < cfg->luns->len; i++) {
		const struct lun_section *lun = g_ptr_array_index(cfg->luns, i);
		if (strcmp(lun->name, name) == 0)
			return lun;
	}
	return NULL;
}

static void set_no_lun_error(const struct rdp_config *cfg, const char *name, GError **err)
{
	if (!cfg) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_NO_LUN,
			    "no LUN section [%s]: no configuration file is loaded; give "
			    "wwid=<id> instead",
			    name);
		return;
	}
	g_autoptr(GString) why = g_string_new(NULL);
	if (cfg->missing) {
		g_string_append(why, "the file does not exist");
	} else if (!cfg->luns->len) {
		g_string_append(why, "it defines no LUN");
	} else {
		g_string_append(why, "known LUN sections:");
		for (unsigned int i = 0; i < cfg->luns->len; i++) {
			const struct lun_section *lun = g_ptr_array_index(cfg->luns, i);
			g_string_append_printf(why, "%s [%s]", i ? "," : "", lun->name);
		}
	}
	g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_NO_LUN, "no LUN section [%s] in %s; %s",
		    name, cfg->file, why->str);
}

static struct rdp_lun_spec *spec_new(const char *name, const struct settings *set)
{
	struct rdp_lun_spec *spec = g_new0(struct rdp_lun_spec, 1);

	spec->name = g_strdup(name);
	spec->cmd_timeout_ms = set->cmd_timeout_ms;
	spec->checker_interval_ms = set->checker_interval_ms;
	spec->max_retries = set->max_retries;
	spec->selector = set->selector;
	spec->grouping = set->grouping;
	spec->failback = set->failback;
	spec->failback_delay_ms = set->failback_delay_ms;
	spec->no_path_retry = set->no_path_retry;
	spec->max_checker_interval_ms = set->max_checker_interval_ms
					    ? set->max_checker_interval_ms
					    : MAX_CHECKER_FACTOR * set->checker_interval_ms;
	spec->read_checker = set->read_checker;
	spec->marginal_err_count = set->marginal_err_count;
	spec->marginal_window_ms = set->marginal_window_ms;
	spec->marginal_recovery_ms = set->marginal_recovery_ms;
	spec->target_port = set->target_port;
	spec->target_ports = set->target_ports;
	return spec;
}

struct rdp_lun_spec *rdp_lun_spec_new(const char *name, const char *const *paths)
{
	g_return_val_if_fail(name != NULL, NULL);
	struct rdp_lun_spec *spec = spec_new(name, &builtin_defaults);
	spec->paths = paths ? g_strdupv((char **)paths) : g_new0(char *, 1);
	return spec;
}

static unsigned int *path_values_dup(const struct path_values *pv)
{
	return pv->v ? g_memdup2(pv->v, pv->n * sizeof(*pv->v)) : NULL;
}

struct rdp_lun_spec *rdp_lun_spec_lookup(const struct rdp_config *cfg, const char *cfgstring,
					 GError **err)
{
	g_return_val_if_fail(cfgstring != NULL, NULL);

	if (g_str_has_prefix(cfgstring, WWID_PREFIX)) {
		const char *id = cfgstring + strlen(WWID_PREFIX);
		const char *problem = wwid_problem(id);
		if (problem) {
			g_autofree char *q = g_strescape(cfgstring, NULL);
			g_set_error(
			    err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_NO_LUN,
			    "backstore cfgstring \"%s\": the WWID %s; copy it from " WWID_SOURCE, q,
			    problem);
			return NULL;
		}
		struct rdp_lun_spec *spec =
		    spec_new(cfgstring, cfg ? &cfg->defaults : &builtin_defaults);
		spec->wwid = wwid_canonical(id);
		spec->paths = g_new0(char *, 1);
		return spec;
	}

	g_autofree char *problem = lun_name_problem(cfgstring);
	if (problem) {
		g_autofree char *q = g_strescape(cfgstring, NULL);
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_NO_LUN,
			    "backstore cfgstring \"%s\": cannot be a LUN name: it %s; give "
			    "wwid=<id> or the name of a section of %s",
			    q, problem, cfg ? cfg->file : RDP_DEFAULT_CONFIG);
		return NULL;
	}
	const struct lun_section *lun = find_lun(cfg, cfgstring);
	if (!lun) {
		set_no_lun_error(cfg, cfgstring, err);
		return NULL;
	}
	struct rdp_lun_spec *spec = spec_new(lun->name, &lun->set);
	spec->wwid = g_strdup(lun->wwid);
	spec->paths = lun->paths ? g_strdupv(lun->paths) : g_new0(char *, 1);
	spec->priorities = path_values_dup(&lun->priorities);
	spec->weights = path_values_dup(&lun->weights);
	return spec;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISBLK(mode))
		return "a block device; give the sg node of the same disk, lsscsi -g shows it";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a device";
}

bool rdp_sg_device_check(const char *dev, dev_t *rdev, GError **err)
{
	struct stat st;

	if (stat(dev, &st) < 0) {
		int e = errno;
		if (e == ENOENT)
			g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
				    "%s: does not exist; is the disk attached and the sg driver "
				    "loaded? lsscsi -g lists the sg devices",
				    dev);
		else
			g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
				    "%s: cannot be examined: %s", dev, g_strerror(e));
		return false;
	}
	if (!S_ISCHR(st.st_mode)) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
			    "%s: not an SCSI generic (sg) character device (it is %s)", dev,
			    file_kind(st.st_mode));
		return false;
	}
	if (major(st.st_rdev) != SG_MAJOR) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
			    "%s: not an SCSI generic (sg) character device (it is character device "
			    "%u:%u; sg devices have major %d)",
			    dev, major(st.st_rdev), minor(st.st_rdev), SG_MAJOR);
		return false;
	}
	g_autofree char *sys =
	    g_strdup_printf("/sys/dev/char/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	const char *fabric = rdp_sysfs_local_export(sys);
	if (fabric) {
		g_set_error(
		    err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
		    "%s: is a LUN this machine's own target exports (%s): a path through it "
		    "would loop back into the gateway",
		    dev, fabric);
		return false;
	}
	if (rdev)
		*rdev = st.st_rdev;
	return true;
}

/* Every device must exist now and be sg; two names (say a udev symlink and /dev/sgN) for one
 * device would make one path look like two. */
static bool check_devices(char **paths, const char *where, GError **err)
{
	guint n = g_strv_length(paths);
	g_autofree dev_t *rdev = g_new0(dev_t, n);

	for (guint i = 0; i < n; i++) {
		g_autoptr(GError) e = NULL;
		if (!rdp_sg_device_check(paths[i], &rdev[i], &e)) {
			g_propagate_prefixed_error(err, g_steal_pointer(&e), "%s", where);
			return false;
		}
		for (guint j = 0; j < i; j++) {
			if (rdev[j] == rdev[i]) {
				g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
					    "%s%s and %s are the same device (%u:%u); list each "
					    "device once",
					    where, paths[j], paths[i], major(rdev[i]),
					    minor(rdev[i]));
				return false;
			}
		}
	}
	return true;
}

struct rdp_lun_spec *rdp_lun_spec_resolve(const struct rdp_config *cfg, const char *cfgstring,
					  GError **err)
{
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_lookup(cfg, cfgstring, err);
	if (!spec)
		return NULL;

	/* Errors name the section and key the devices came from, when there is one. */
	const struct lun_section *lun =
	    g_str_has_prefix(cfgstring, WWID_PREFIX) ? NULL : find_lun(cfg, cfgstring);
	g_autofree char *where = NULL;
	if (lun) {
		struct where w = {cfg->file, lun->source_line, lun->name, lun->source_key};
		where = where_prefix(&w);
	} else {
		where = g_strdup("");
	}

	if (spec->wwid) {
		g_autoptr(GError) e = NULL;
		g_auto(GStrv) found = rdp_discover_wwid(spec->wwid, &e);
		if (!found) {
			g_propagate_prefixed_error(err, g_steal_pointer(&e), "%s", where);
			return NULL;
		}
		if (!found[0]) {
			g_set_error(
			    err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
			    "%sno SCSI generic device reports WWID %s; compare with " WWID_SOURCE
			    " and check that the sg driver is loaded",
			    where, spec->wwid);
			return NULL;
		}
		g_strfreev(spec->paths);
		spec->paths = g_steal_pointer(&found);
	}
	if (!check_devices(spec->paths, where, err))
		return NULL;
	return g_steal_pointer(&spec);
}

void rdp_lun_spec_free(struct rdp_lun_spec *spec)
{
	if (!spec)
		return;
	g_free(spec->name);
	g_free(spec->wwid);
	g_strfreev(spec->paths);
	g_free(spec->priorities);
	g_free(spec->weights);
	g_free(spec);
}
