/* Which LUN a device serves. A device is a path of one LUN only: two LUNs on one device would be
 * two caches of the same blocks that know nothing of each other. Finding a device among the
 * LUNs (by device number, whatever name either was given by), and refusing or dropping a spec's
 * devices that another LUN already has. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "lun-internal.h"

dev_t rdp_char_dev_number(const char *dev)
{
	struct stat st;

	return stat(dev, &st) == 0 && S_ISCHR(st.st_mode) ? st.st_rdev : 0;
}

struct rdp_path *rdp_lun_find_device(const struct rdp_lun *lun, const char *dev)
{
	dev_t rdev = rdp_char_dev_number(dev);

	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = lun->paths[i];

		if (p->removed)
			continue;
		if ((rdev && p->rdev == rdev) || strcmp(p->dev, dev) == 0)
			return p;
	}
	return NULL;
}

struct rdp_path *rdp_luns_find_device(GPtrArray *luns, const char *dev)
{
	struct rdp_path *p = NULL;

	for (guint i = 0; !p && luns && i < luns->len; i++)
		p = rdp_lun_find_device(g_ptr_array_index(luns, i), dev);
	return p;
}

/* "<dev> is already a path of LUN x", or "<dev> is <name>, already ..." for another name. */
static char *in_use_text(const char *dev, const struct rdp_path *p)
{
	if (strcmp(dev, p->dev) == 0)
		return g_strdup_printf("%s is already a path of LUN %s", dev, p->lun->name);
	return g_strdup_printf("%s is %s, already a path of LUN %s", dev, p->dev, p->lun->name);
}

bool rdp_lun_spec_check_unused(const struct rdp_lun_spec *spec, GPtrArray *luns, GError **err)
{
	for (unsigned int i = 0; spec->paths && spec->paths[i]; i++) {
		struct rdp_path *p = rdp_luns_find_device(luns, spec->paths[i]);

		if (!p)
			continue;
		g_autofree char *what = in_use_text(spec->paths[i], p);
		g_set_error(
		    err, RDP_ERROR, RDP_ERROR_IN_USE,
		    "%s; a device can serve one LUN only: delete backstore %s first, or give "
		    "this LUN other devices",
		    what, p->lun->name);
		return false;
	}
	return true;
}

/* Removes entry i of a per-path value list of n entries (NULL: none configured). */
static void drop_value(unsigned int *v, unsigned int n, unsigned int i)
{
	if (v)
		memmove(v + i, v + i + 1, (n - i - 1) * sizeof(*v));
}

void rdp_lun_spec_drop_used(struct rdp_lun_spec *spec, GPtrArray *luns, GString *report)
{
	unsigned int n = spec->paths ? g_strv_length(spec->paths) : 0;

	for (unsigned int i = 0; i < n;) {
		struct rdp_path *p = rdp_luns_find_device(luns, spec->paths[i]);

		if (!p) {
			i++;
			continue;
		}
		g_autofree char *what = in_use_text(spec->paths[i], p);
		if (report)
			g_string_append_printf(report, "lun %s: %s not used: %s; ", spec->name,
					       spec->paths[i], what);
		g_free(spec->paths[i]);
		memmove(spec->paths + i, spec->paths + i + 1, (n - i) * sizeof(*spec->paths));
		drop_value(spec->priorities, n, i);
		drop_value(spec->weights, n, i);
		n--;
	}
}
