/* Parsing of TCMU device names as target_core_user builds them: "tcm-user/%u/%s/%s" with the
 * hba id, the configfs device name and the dev_config ("<subtype>/<cfgstring>"). Kept apart from
 * netlink and the ring so that both use one, tested, reading of the name. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "tcmu-name.h"

#define TCMU_NAME_PREFIX "tcm-user/"

/* Copy [s, s + len) into dst; a part that is empty or does not fit is malformed. */
static int copy_part(char *dst, const char *s, size_t len)
{
	if (len == 0 || len >= RDP_TCMU_NAME_MAX)
		return -EINVAL;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* Digits only: strtoul() would also take spaces, signs and overflow quietly. */
static int parse_hba(const char *s, size_t len, unsigned int *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!g_ascii_isdigit(s[i]))
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse(const char *uio_name, struct rdp_tcmu_name *out)
{
	const char *p, *slash;
	size_t len;
	int ret;

	if (!uio_name || !g_str_has_prefix(uio_name, TCMU_NAME_PREFIX))
		return -EINVAL;
	p = uio_name + strlen(TCMU_NAME_PREFIX);

	slash = strchr(p, '/');
	if (!slash)
		return -EINVAL;
	ret = parse_hba(p, (size_t)(slash - p), &out->hba);
	if (ret)
		return ret;
	p = slash + 1;

	/* No dev_config at all ("tcm-user/0/lun0") means no subtype: not a name we can place. */
	slash = strchr(p, '/');
	if (!slash)
		return -EINVAL;
	ret = copy_part(out->dev_name, p, (size_t)(slash - p));
	if (ret)
		return ret;
	p = slash + 1;

	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	ret = copy_part(out->subtype, p, len);
	if (ret)
		return ret;
	if (!slash)
		return 0; /* cfgstring stays empty */

	/* The cfgstring is the rest, '/' and '=' included. */
	p = slash + 1;
	len = strlen(p);
	if (len >= RDP_TCMU_NAME_MAX)
		return -EINVAL;
	memcpy(out->cfgstring, p, len + 1);
	return 0;
}

int rdp_tcmu_name_parse(const char *uio_name, struct rdp_tcmu_name *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse(uio_name, out);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

bool rdp_tcmu_name_is_ours(const char *uio_name)
{
	struct rdp_tcmu_name n;

	return rdp_tcmu_name_parse(uio_name, &n) == 0 && strcmp(n.subtype, RDP_TCMU_SUBTYPE) == 0;
}

char *rdp_tcmu_name_configfs_dir(const struct rdp_tcmu_name *name)
{
	return g_strdup_printf(RDP_CONFIGFS_CORE "/user_%u/%s", name->hba, name->dev_name);
}
