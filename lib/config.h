/* Configuration internals beyond librdp/rdp.h: the key table (exported so the unit
 * tests can hold docs/configuration.md and config/tcmu-rdp.conf to the code), lookup without
 * device checks, and the pure helpers of sysfs discovery. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <glib.h>

#include <librdp/rdp.h>

/* One configuration key as docs/configuration.md documents it. Strings are "" when the
 * column does not apply (no default, no range). */
struct rdp_config_key {
	const char *name;
	const char *type;
	const char *default_value;
	/* default_value says how the default is derived from other keys ("4 × checker_interval")
	 * rather than being a value one could write */
	bool default_is_rule;
	const char *range;
	bool lun_only; /* refused in [defaults] */
};

/* Every key the parser accepts, in documentation order. */
const struct rdp_config_key *rdp_config_keys(size_t *n);

/* The file cfg was loaded from. */
const char *rdp_config_file(const struct rdp_config *cfg);
/* The LUN section names in file order; free with g_strfreev(). */
char **rdp_config_lun_names(const struct rdp_config *cfg);

/* What cfgstring denotes according to cfg (which may be NULL: built-in defaults, no sections),
 * without discovery and without looking at the devices: paths is empty for a LUN given by
 * wwid. For listings and tests; rdp_lun_spec_resolve() is what a LUN is opened from. */
struct rdp_lun_spec *rdp_lun_spec_lookup(const struct rdp_config *cfg, const char *cfgstring,
					 GError **err);


/* Is the SCSI device at this sysfs path (any path that resolves below its scsi host) a LUN that
 * this machine's own LIO target exports, seen through tcm_loop or an iSCSI session to a local
 * target? Returns the fabric's name when so, NULL otherwise. Such a device must never be a path:
 * commands sent to it come back to the gateway itself. */
const char *rdp_sysfs_local_export(const char *syspath);

/* ---- pure helpers of discover.c ---- */
/* One device as sysfs describes it: wwid NULL when it has none, type -1 when unknown. */
struct rdp_sysfs_facts {
	const char *dev;
	const char *wwid;
	int type;
};
/* The decision of rdp_lun_spec_check_sysfs() over n devices' facts. */
bool rdp_sysfs_facts_check(const struct rdp_sysfs_facts *f, unsigned int n, const char *want,
			   char **wwid, GError **err);
/* Does the sysfs "wwid" attribute value (maybe padded, newline-terminated, or NULL) denote
 * wwid (maybe padded too)? Blanks around either are ignored; hex designators (naa., eui.)
 * compare case-insensitively, others exactly. */
bool rdp_wwid_matches(const char *sysfs_value, const char *wwid);
/* strcmp() that orders digit runs by value: "sg2" < "sg10". */
int rdp_natural_cmp(const char *a, const char *b);
/* Sort a NULL-terminated string list in place with rdp_natural_cmp(). */
void rdp_natural_sort(char **list);
