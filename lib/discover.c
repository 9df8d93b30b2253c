/* Device discovery: find the /dev/sgN nodes of every SCSI device whose sysfs "wwid" is a given
 * identity. libudev only reads sysfs here, so no udevd is needed. The string handling is kept in
 * pure functions that the unit tests reach without devices. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <libudev.h>

/* libudev types have no typedef names of their own, which g_autoptr() needs */
typedef struct udev rdp_udev;
typedef struct udev_enumerate rdp_udev_enumerate;
typedef struct udev_device rdp_udev_device;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rdp_udev, udev_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rdp_udev_enumerate, udev_enumerate_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rdp_udev_device, udev_device_unref)

static bool is_hex_designator(const char *s)
{
	return g_ascii_strncasecmp(s, "naa.", 4) == 0 || g_ascii_strncasecmp(s, "eui.", 4) == 0;
}

bool rdp_wwid_matches(const char *sysfs_value, const char *wwid)
{
	if (!sysfs_value || !wwid)
		return false;

	/* The kernel ends the attribute with a newline, and T10 vendor identifiers are padded
	 * with blanks (in sysfs and in our own reading of VPD 0x83 alike); neither is part of the
	 * identity, on either side. */
	g_autofree char *v = g_strstrip(g_strdup(sysfs_value));
	g_autofree char *w = g_strstrip(g_strdup(wwid));
	if (!*v)
		return false;
	if (is_hex_designator(v) && is_hex_designator(w))
		return g_ascii_strcasecmp(v, w) == 0;
	return strcmp(v, w) == 0;
}

bool rdp_wwid_same(const char *a, const char *b)
{
	return rdp_wwid_matches(a, b);
}

int rdp_natural_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p && *q) {
		if (!g_ascii_isdigit(*p) || !g_ascii_isdigit(*q)) {
			if (*p != *q)
				return *p < *q ? -1 : 1;
			p++;
			q++;
			continue;
		}
		/* Two digit runs: skip leading zeros, then the longer run is the larger number
		 * and runs of equal length compare digit by digit. */
		while (*p == '0')
			p++;
		while (*q == '0')
			q++;
		size_t np = 0, nq = 0;
		while (g_ascii_isdigit(p[np]))
			np++;
		while (g_ascii_isdigit(q[nq]))
			nq++;
		if (np != nq)
			return np < nq ? -1 : 1;
		int c = memcmp(p, q, np);
		if (c)
			return c < 0 ? -1 : 1;
		p += np;
		q += nq;
	}
	if (*p || *q)
		return *p ? 1 : -1;
	/* "sg01" and "sg1" are equal by value; strcmp keeps the order total. */
	int c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}

static int natural_qsort_cmp(const void *a, const void *b)
{
	return rdp_natural_cmp(*(char *const *)a, *(char *const *)b);
}

void rdp_natural_sort(char **list)
{
	if (list)
		qsort(list, g_strv_length(list), sizeof(*list), natural_qsort_cmp);
}

/* The wwid attribute of the SCSI device an sg node belongs to, or NULL (no such parent, or a
 * device without an identity, e.g. one that has no VPD page 0x83). Owned by dev. */
/* The wwid attribute of the sg device's SCSI device, read through the "device" link. Not via
 * udev_device_get_parent_with_subsystem_devtype(): finding a parent by devtype reads the
 * parent's uevent file, and the kernel holds that device's lock while sd probes it. When the
 * device being probed is our own LUN (a tcm_loop disk appearing), its probe waits for commands
 * this daemon must answer: reading its uevent from here would deadlock until they time out. */
static const char *sg_device_wwid(struct udev_device *dev)
{
	return udev_device_get_sysattr_value(dev, "device/wwid");
}

const char *rdp_sysfs_local_export(const char *syspath)
{
	g_autofree char *real = realpath(syspath, NULL);
	if (!real)
		return NULL;
	g_auto(GStrv) parts = g_strsplit(real, "/", -1);
	for (char **p = parts; *p; p++) {
		unsigned int n;
		char tail;
		if (sscanf(*p, "host%u%c", &n, &tail) == 1) {
			g_autofree char *pn_path = g_strdup_printf("/sys/class/scsi_host/host%u/proc_name", n);
			g_autofree char *pn = NULL;
			if (g_file_get_contents(pn_path, &pn, NULL, NULL) &&
			    !strcmp(g_strstrip(pn), "tcm_loopback"))
				return "tcm_loop";
		} else if (sscanf(*p, "session%u%c", &n, &tail) == 1) {
			g_autofree char *tn_path =
				g_strdup_printf("/sys/class/iscsi_session/session%u/targetname", n);
			g_autofree char *tn = NULL;
			if (!g_file_get_contents(tn_path, &tn, NULL, NULL))
				continue;
			g_autofree char *local = g_build_filename("/sys/kernel/config/target/iscsi",
								  g_strstrip(tn), NULL);
			if (g_file_test(local, G_FILE_TEST_IS_DIR))
				return "iSCSI session to a local target";
		}
	}
	return NULL;
}

char **rdp_discover_wwid(const char *wwid, GError **err)
{
	g_return_val_if_fail(wwid != NULL, NULL);

	g_autoptr(rdp_udev) udev = udev_new();
	if (!udev) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DISCOVER,
			    "cannot list SCSI generic devices: libudev failed to start: %s",
			    g_strerror(errno));
		return NULL;
	}
	g_autoptr(rdp_udev_enumerate) en = udev_enumerate_new(udev);
	if (!en) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DISCOVER,
			    "cannot list SCSI generic devices: %s", g_strerror(errno));
		return NULL;
	}
	int r = udev_enumerate_add_match_subsystem(en, "scsi_generic");
	if (r >= 0)
		r = udev_enumerate_scan_devices(en);
	if (r < 0) {
		g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DISCOVER,
			    "cannot list SCSI generic devices in /sys/class/scsi_generic: %s "
			    "(is sysfs mounted?)",
			    g_strerror(-r));
		return NULL;
	}

	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	struct udev_list_entry *entry;
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(en))
	{
		/* A device that vanished since the scan is simply not a path any more. */
		g_autoptr(rdp_udev_device) dev =
		    udev_device_new_from_syspath(udev, udev_list_entry_get_name(entry));
		if (!dev)
			continue;
		/* local exports first: they are skipped without touching anything of theirs */
		const char *fabric = rdp_sysfs_local_export(udev_device_get_syspath(dev));
		if (fabric) {
			g_debug("%s is exported by this machine (%s): never a path",
				udev_device_get_sysname(dev), fabric);
			continue;
		}
		if (!rdp_wwid_matches(sg_device_wwid(dev), wwid))
			continue;
		g_ptr_array_add(found,
					g_strdup_printf("/dev/%s", udev_device_get_sysname(dev)));
	}
	g_ptr_array_add(found, NULL);

	char **list = (char **)g_ptr_array_free(g_steal_pointer(&found), FALSE);
	rdp_natural_sort(list);
	return list;
}

/* ---- CheckConfig: the facts sysfs has, no SCSI command ---- */

/* Peripheral device types whose LUNs are addressed in blocks with READ CAPACITY (SPC-4 table
 * "peripheral device type"); the others (tape, printer, processor, changer, array controller,
 * enclosure, ...) cannot back a block backstore. */
static bool type_has_blocks(int type)
{
	return type < 0 || type == 0x00 || type == 0x04 || type == 0x05 || type == 0x07 ||
	       type == 0x0e || type == 0x14;
}

bool rdp_sysfs_facts_check(const struct rdp_sysfs_facts *f, unsigned int n, const char *want,
			   char **wwid, GError **err)
{
	const char *first_dev = NULL;
	g_autofree char *first = NULL; /* stripped */

	for (unsigned int i = 0; i < n; i++) {
		if (!type_has_blocks(f[i].type)) {
			g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
				    "%s is a SCSI device of peripheral type 0x%02x, not a disk: it "
				    "cannot back a LUN",
				    f[i].dev, (unsigned int)f[i].type);
			return false;
		}
		if (!f[i].wwid)
			continue; /* its VPD 0x83 is read at enable */
		g_autofree char *id = g_strstrip(g_strdup(f[i].wwid));
		if (want && !rdp_wwid_matches(id, want)) {
			g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
				    "%s has identity %s (sysfs), not %s", f[i].dev, id, want);
			return false;
		}
		if (!first) {
			first = g_steal_pointer(&id);
			first_dev = f[i].dev;
		} else if (!rdp_wwid_matches(id, first)) {
			g_set_error(err, RDP_CONFIG_ERROR, RDP_CONFIG_ERROR_DEVICE,
				    "%s has identity %s but %s has %s (sysfs): refusing paths to "
				    "different LUNs",
				    f[i].dev, id, first_dev, first);
			return false;
		}
	}
	if (wwid)
		*wwid = g_steal_pointer(&first);
	return true;
}

/* A sysfs attribute of the SCSI device behind an sg node, stripped; NULL when unreadable or
 * empty (the kernel fails the read of wwid for a device without a VPD 0x83 designator). */
static char *sg_attr(dev_t rdev, const char *name)
{
	g_autofree char *path =
	    g_strdup_printf("/sys/dev/char/%u:%u/device/%s", major(rdev), minor(rdev), name);
	g_autofree char *v = NULL;

	if (!g_file_get_contents(path, &v, NULL, NULL))
		return NULL;
	g_strstrip(v);
	return *v ? g_steal_pointer(&v) : NULL;
}

bool rdp_lun_spec_check_sysfs(const struct rdp_lun_spec *spec, char **wwid, GError **err)
{
	unsigned int n = spec->paths ? g_strv_length(spec->paths) : 0;
	g_autofree struct rdp_sysfs_facts *f = g_new0(struct rdp_sysfs_facts, n + 1);
	g_autoptr(GPtrArray) strs = g_ptr_array_new_with_free_func(g_free);

	for (unsigned int i = 0; i < n; i++) {
		struct stat st;

		f[i].dev = spec->paths[i];
		f[i].type = -1;
		/* resolution checked that each is an sg node and not one of our own exports */
		if (stat(spec->paths[i], &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		char *w = sg_attr(st.st_rdev, "wwid");
		g_autofree char *type = sg_attr(st.st_rdev, "type");
		guint64 t;

		if (w)
			g_ptr_array_add(strs, w);
		f[i].wwid = w;
		if (type && g_ascii_string_to_unsigned(type, 10, 0, 0x1f, &t, NULL))
			f[i].type = (int)t;
	}
	return rdp_sysfs_facts_check(f, n, spec->wwid, wwid, err);
}
