/* Unit tests for handler/tcmu-name.c: splitting the kernel's TCMU device names, well-formed and
 * malformed, and the configfs directory derived from them. */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "../../handler/tcmu-name.h"

static void test_parse_basic(void)
{
	struct rdp_tcmu_name n;

	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/0/lun0/rdp/wwid=naa.33333330000007d0", &n),
			==, 0);
	g_assert_cmpuint(n.hba, ==, 0);
	g_assert_cmpstr(n.dev_name, ==, "lun0");
	g_assert_cmpstr(n.subtype, ==, "rdp");
	g_assert_cmpstr(n.cfgstring, ==, "wwid=naa.33333330000007d0");
}

static void test_parse_cfgstring_with_slashes(void)
{
	struct rdp_tcmu_name n;

	/* Everything after the fourth slash belongs to the cfgstring. */
	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/12/disk-a/rbd/pool/image@snap=1", &n), ==, 0);
	g_assert_cmpuint(n.hba, ==, 12);
	g_assert_cmpstr(n.dev_name, ==, "disk-a");
	g_assert_cmpstr(n.subtype, ==, "rbd");
	g_assert_cmpstr(n.cfgstring, ==, "pool/image@snap=1");
}

static void test_parse_empty_cfgstring(void)
{
	struct rdp_tcmu_name n;

	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/1/lun0/rdp/", &n), ==, 0);
	g_assert_cmpstr(n.subtype, ==, "rdp");
	g_assert_cmpstr(n.cfgstring, ==, "");

	/* dev_config without '/': still our subtype, with nothing to configure. */
	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/1/lun0/rdp", &n), ==, 0);
	g_assert_cmpstr(n.subtype, ==, "rdp");
	g_assert_cmpstr(n.cfgstring, ==, "");
}

static void test_parse_hba_limits(void)
{
	struct rdp_tcmu_name n;

	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/4294967295/d/rdp/x", &n), ==, 0);
	g_assert_cmpuint(n.hba, ==, 4294967295u);
	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/4294967296/d/rdp/x", &n), ==, -EINVAL);
	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/99999999999999999999999/d/rdp/x", &n), ==,
			-EINVAL);
}

static void test_parse_malformed(void)
{
	static const char *const bad[] = {
	    "",
	    "tcm-user",
	    "tcm-user/",
	    "tcm-user/0",
	    "tcm-user/0/",
	    "tcm-user/0/lun0",	     /* no dev_config: no subtype */
	    "tcm-user/0/lun0/",	     /* empty subtype */
	    "tcm-user/0/lun0//cfg",  /* empty subtype */
	    "tcm-user//lun0/rdp/x",  /* empty hba */
	    "tcm-user/x/lun0/rdp/x", /* hba not a number */
	    "tcm-user/-1/lun0/rdp/x",
	    "tcm-user/+1/lun0/rdp/x",
	    "tcm-user/ 1/lun0/rdp/x",
	    "tcm-user/0x1/lun0/rdp/x",
	    "tcm-user/0//rdp/x", /* empty device name */
	    "tcm-user0/lun0/rdp/x",
	    "TCM-USER/0/lun0/rdp/x",
	    "uio0",
	    "/tcm-user/0/lun0/rdp/x",
	};
	struct rdp_tcmu_name n;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		memset(&n, 0x5a, sizeof(n));
		if (rdp_tcmu_name_parse(bad[i], &n) != -EINVAL)
			g_error("accepted malformed name \"%s\"", bad[i]);
		/* A failed parse leaves nothing half-filled behind. */
		g_assert_cmpuint(n.hba, ==, 0);
		g_assert_cmpstr(n.dev_name, ==, "");
		g_assert_cmpstr(n.subtype, ==, "");
		g_assert_cmpstr(n.cfgstring, ==, "");
	}
	g_assert_cmpint(rdp_tcmu_name_parse(NULL, &n), ==, -EINVAL);
}

static void test_parse_too_long(void)
{
	struct rdp_tcmu_name n;
	g_autofree char *long_part = g_strnfill(RDP_TCMU_NAME_MAX, 'a');
	g_autofree char *fits = g_strnfill(RDP_TCMU_NAME_MAX - 1, 'b');
	g_autofree char *long_dev = g_strdup_printf("tcm-user/0/%s/rdp/x", long_part);
	g_autofree char *long_sub = g_strdup_printf("tcm-user/0/d/%s/x", long_part);
	g_autofree char *long_cfg = g_strdup_printf("tcm-user/0/d/rdp/%s", long_part);
	g_autofree char *max_cfg = g_strdup_printf("tcm-user/0/d/rdp/%s", fits);

	g_assert_cmpint(rdp_tcmu_name_parse(long_dev, &n), ==, -EINVAL);
	g_assert_cmpint(rdp_tcmu_name_parse(long_sub, &n), ==, -EINVAL);
	g_assert_cmpint(rdp_tcmu_name_parse(long_cfg, &n), ==, -EINVAL);
	g_assert_cmpint(rdp_tcmu_name_parse(max_cfg, &n), ==, 0);
	g_assert_cmpuint(strlen(n.cfgstring), ==, RDP_TCMU_NAME_MAX - 1);
}

static void test_is_ours(void)
{
	g_assert_true(rdp_tcmu_name_is_ours("tcm-user/0/lun0/rdp/wwid=naa.1"));
	g_assert_true(rdp_tcmu_name_is_ours("tcm-user/0/lun0/rdp"));
	g_assert_false(rdp_tcmu_name_is_ours("tcm-user/0/lun0/rbd/pool/img"));
	g_assert_false(rdp_tcmu_name_is_ours("tcm-user/0/lun0/rdpx/cfg"));
	g_assert_false(rdp_tcmu_name_is_ours("tcm-user/0/lun0/rd/cfg"));
	g_assert_false(rdp_tcmu_name_is_ours("tcm-user/0/lun0/RDP/cfg"));
	g_assert_false(rdp_tcmu_name_is_ours("tcm-user/0/lun0"));
	g_assert_false(rdp_tcmu_name_is_ours("garbage"));
	g_assert_false(rdp_tcmu_name_is_ours(NULL));
}

static void test_configfs_dir(void)
{
	struct rdp_tcmu_name n;
	g_autofree char *dir = NULL;

	g_assert_cmpint(rdp_tcmu_name_parse("tcm-user/3/lun0/rdp/wwid=naa.1", &n), ==, 0);
	dir = rdp_tcmu_name_configfs_dir(&n);
	g_assert_cmpstr(dir, ==, "/sys/kernel/config/target/core/user_3/lun0");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tcmu-name/parse/basic", test_parse_basic);
	g_test_add_func("/tcmu-name/parse/cfgstring-with-slashes",
			test_parse_cfgstring_with_slashes);
	g_test_add_func("/tcmu-name/parse/empty-cfgstring", test_parse_empty_cfgstring);
	g_test_add_func("/tcmu-name/parse/hba-limits", test_parse_hba_limits);
	g_test_add_func("/tcmu-name/parse/malformed", test_parse_malformed);
	g_test_add_func("/tcmu-name/parse/too-long", test_parse_too_long);
	g_test_add_func("/tcmu-name/is-ours", test_is_ours);
	g_test_add_func("/tcmu-name/configfs-dir", test_configfs_dir);
	return g_test_run();
}
