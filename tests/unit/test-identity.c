/* Unit tests for LUN identity (lib/identity.c): the wwid string must be the one Linux puts in sysfs
 * for the same VPD 0x83 page, a damaged page must be refused without reading past it, and the
 * LU-only rewrite must drop every port-dependent designator and leave a consistent page. */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include "be.h"

#include <librdp/rdp.h>

/* code set, association, designator type */
#define CS_BIN 0x1
#define CS_ASCII 0x2
#define CS_UTF8 0x3
#define AS_LU 0x0
#define AS_PORT 0x1
#define AS_TARGET 0x2

struct page {
	uint8_t b[1024];
	size_t len;
};

static void page_init(struct page *p)
{
	memset(p, 0, sizeof(*p));
	p->b[0] = 0x00; /* disk */
	p->b[1] = 0x83;
	p->len = 4;
}

/* proto: SAS (6) with PIV for port descriptors, as scsi_debug sets them; 0 for LU ones */
static void page_add(struct page *p, uint8_t proto, uint8_t code_set, uint8_t assoc, uint8_t type,
		     const void *data, uint8_t dlen)
{
	uint8_t *d = p->b + p->len;

	g_assert_cmpuint(p->len + 4 + dlen, <=, sizeof(p->b));
	d[0] = (uint8_t)(proto << 4 | code_set);
	d[1] = (uint8_t)((proto ? 0x80 : 0) | assoc << 4 | type);
	d[2] = 0;
	d[3] = dlen;
	memcpy(d + 4, data, dlen);
	p->len += 4 + dlen;
	rdp_put_be16((uint16_t)(p->len - 4), p->b + 2);
}

static void page_add_be64(struct page *p, uint8_t proto, uint8_t assoc, uint64_t v)
{
	uint8_t b[8];

	rdp_put_be64(v, b);
	page_add(p, proto, CS_BIN, assoc, 0x3, b, sizeof(b));
}

/* What scsi_debug answers for host 0, target 0, LUN 0 with vpd_use_hostno=0 */
static void page_scsi_debug(struct page *p)
{
	const char t10[] = "Linux   scsi_debug      2000";
	const uint8_t relport[4] = {0, 0, 0, 1};
	const uint8_t tpg[4] = {0, 0, 0x01, 0x00};
	const char name[24] = "naa.32222220000007CD"; /* NUL padded to 24 */

	page_init(p);
	page_add(p, 0, CS_ASCII, AS_LU, 0x1, t10, sizeof(t10) - 1);
	page_add_be64(p, 0, AS_LU, 0x3333333000000000ULL + 2000);
	page_add(p, 6, CS_BIN, AS_PORT, 0x4, relport, sizeof(relport));
	page_add_be64(p, 6, AS_PORT, 0x3222222000000000ULL + 1998);
	page_add(p, 6, CS_BIN, AS_PORT, 0x5, tpg, sizeof(tpg));
	page_add_be64(p, 6, AS_TARGET, 0x3222222000000000ULL + 1997);
	page_add(p, 6, CS_UTF8, AS_TARGET, 0x8, name, sizeof(name));
}

/* the page on the heap at exactly len bytes, so any read past it shows under ASan/valgrind */
static int wwid_exact(const uint8_t *b, size_t len, char *out, size_t out_len)
{
	g_autofree uint8_t *copy = g_memdup2(b, len ? len : 1);
	return rdp_wwid_from_vpd83(copy, len, out, out_len);
}

static void assert_wwid(const struct page *p, const char *want)
{
	char out[RDP_WWID_MAX];

	memset(out, 'x', sizeof(out));
	g_assert_cmpint(wwid_exact(p->b, p->len, out, sizeof(out)), ==, 0);
	g_assert_cmpstr(out, ==, want);
}

static void assert_wwid_rc(const struct page *p, int rc)
{
	char out[RDP_WWID_MAX];

	g_assert_cmpint(wwid_exact(p->b, p->len, out, sizeof(out)), ==, rc);
	g_assert_cmpstr(out, ==, ""); /* nothing half-written on failure */
}

static void test_scsi_debug(void)
{
	struct page p;

	page_scsi_debug(&p);
	assert_wwid(&p, "naa.33333330000007d0");
	/* a buffer longer than the page (the allocation length) changes nothing */
	p.len += 100;
	assert_wwid(&p, "naa.33333330000007d0");
}

static void test_naa(void)
{
	struct page p;
	uint8_t naa6[16] = {0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12,
			    0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01};

	page_init(&p);
	page_add_be64(&p, 0, AS_LU, 0x5000c500a1b2c3d4ULL);
	assert_wwid(&p, "naa.5000c500a1b2c3d4");

	page_init(&p);
	page_add(&p, 0, CS_BIN, AS_LU, 0x3, naa6, sizeof(naa6));
	assert_wwid(&p, "naa.6001405abcdef0123456789abcdef001");
}

static void test_eui64(void)
{
	struct page p;
	const uint8_t eui8[8] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	const uint8_t eui12[12] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 1, 2, 3, 4, 5};
	const uint8_t eui16[16] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
	const uint8_t eui10[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

	page_init(&p);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui8, sizeof(eui8));
	assert_wwid(&p, "eui.0011223344556677");

	page_init(&p);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui12, sizeof(eui12));
	assert_wwid(&p, "eui.aabbccddeeff000102030405");

	page_init(&p);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui16, sizeof(eui16));
	assert_wwid(&p, "eui.deadbeef000000000000000000000042");

	/* an EUI-64 of another length is not a designator Linux uses */
	page_init(&p);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui10, sizeof(eui10));
	assert_wwid_rc(&p, -ENODATA);
}

static void test_t10(void)
{
	struct page p;
	const char qemu[] = "ATA     QEMU HARDDISK                           QM00001 ";
	/* tab, NUL, DEL, a C1 control byte, and Latin-1 'é' which the kernel prints as is */
	const uint8_t odd[] = {'A', '\t', 'B', 0x00, 'C', 0x7f, 'D', 0x85, 0xe9, '\\', 0x1b};

	page_init(&p);
	page_add(&p, 0, CS_ASCII, AS_LU, 0x1, qemu, sizeof(qemu) - 1);
	assert_wwid(&p, "t10.ATA     QEMU HARDDISK                           QM00001 ");

	page_init(&p);
	page_add(&p, 0, CS_ASCII, AS_LU, 0x1, odd, sizeof(odd));
	assert_wwid(&p, "t10.A\\tB\\0C\\177D\\205\xe9\\\\e");
}

static void test_name_string(void)
{
	struct page p;
	const char iqn[32] = "iqn.2003-01.org.example:disk1"; /* NUL padded to 32 */
	const char nuls[4] = {0};

	page_init(&p);
	page_add_be64(&p, 0, AS_LU, 0x6001405000000001ULL); /* NAA 6 in 8 bytes: prio 8 */
	page_add(&p, 0, CS_UTF8, AS_LU, 0x8, iqn, sizeof(iqn));
	assert_wwid(&p, "iqn.2003-01.org.example:disk1");

	/* all padding and no name: nothing to call the LU by */
	page_init(&p);
	page_add(&p, 0, CS_UTF8, AS_LU, 0x8, nuls, sizeof(nuls));
	assert_wwid_rc(&p, -ENODATA);
}

/* the kernel's order: name string > NAA 6 > EUI-16 > EUI-12 > NAA 5 > NAA 4 > EUI-8 >
 * NAA 3 = T10; at equal rank the later one wins, text ones only if not shorter */
static void test_priority(void)
{
	struct page p;
	const char t10[] = "VENDOR  PRODUCT         SERIAL0001";
	const char t10_short[] = "V";
	const uint8_t eui8[8] = {0xee, 1, 2, 3, 4, 5, 6, 7};
	const uint8_t eui16[16] = {0xee, 0x16};
	const uint8_t naa2[8] = {0x20, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};

	page_init(&p);
	page_add(&p, 0, CS_ASCII, AS_LU, 0x1, t10, sizeof(t10) - 1);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui8, sizeof(eui8));
	page_add_be64(&p, 0, AS_LU, 0x5000000000000abcULL);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui16, sizeof(eui16));
	assert_wwid(&p, "eui.ee160000000000000000000000000000");

	/* NAA 5 beats EUI-8 wherever it stands */
	page_init(&p);
	page_add_be64(&p, 0, AS_LU, 0x5000000000000abcULL);
	page_add(&p, 0, CS_BIN, AS_LU, 0x2, eui8, sizeof(eui8));
	assert_wwid(&p, "naa.5000000000000abc");

	/* NAA 3 and T10 tie: the later wins when it is no shorter */
	page_init(&p);
	page_add_be64(&p, 0, AS_LU, 0x3333333000000001ULL);
	page_add(&p, 0, CS_ASCII, AS_LU, 0x1, t10, sizeof(t10) - 1);
	assert_wwid(&p, "t10.VENDOR  PRODUCT         SERIAL0001");
	page_init(&p);
	page_add_be64(&p, 0, AS_LU, 0x3333333000000001ULL);
	page_add(&p, 0, CS_ASCII, AS_LU, 0x1, t10_short, sizeof(t10_short) - 1);
	assert_wwid(&p, "naa.3333333000000001");

	/* NAA 2 (IEEE extended) is ignored by Linux, so by us */
	page_init(&p);
	page_add(&p, 0, CS_BIN, AS_LU, 0x3, naa2, sizeof(naa2));
	assert_wwid_rc(&p, -ENODATA);
	page_add(&p, 0, CS_ASCII, AS_LU, 0x1, t10_short, sizeof(t10_short) - 1);
	assert_wwid(&p, "t10.V");
}

static void test_port_descriptors_ignored(void)
{
	struct page p;
	const char name[24] = "naa.32222220000007CD";

	/* only port and target-device designators: no identity for the LU */
	page_init(&p);
	page_add_be64(&p, 6, AS_PORT, 0x6222222000000001ULL);
	page_add(&p, 6, CS_UTF8, AS_TARGET, 0x8, name, sizeof(name));
	page_add_be64(&p, 6, AS_TARGET, 0x6222222000000002ULL);
	assert_wwid_rc(&p, -ENODATA);

	/* a stronger designator type on a port does not outrank the LU's own */
	page_add_be64(&p, 0, AS_LU, 0x3333333000000042ULL);
	assert_wwid(&p, "naa.3333333000000042");
}

static void test_malformed(void)
{
	struct page p;
	char out[RDP_WWID_MAX];

	page_scsi_debug(&p);
	/* every cut short of the header's length: refused */
	for (size_t n = 0; n < p.len; n++)
		g_assert_cmpint(wwid_exact(p.b, n, out, sizeof(out)), ==, -EINVAL);

	/* a header that admits the cut: fine at a descriptor boundary, refused inside one */
	for (size_t n = 4; n < p.len; n++) {
		struct page q = p;
		rdp_put_be16((uint16_t)(n - 4), q.b + 2);
		int rc = wwid_exact(q.b, n, out, sizeof(out));
		g_assert_true(rc == 0 || rc == -ENODATA || rc == -EINVAL);
		if (n < 4 + 4 + 28) /* inside the first (T10) descriptor */
			g_assert_cmpint(rc, ==, n == 4 ? -ENODATA : -EINVAL);
		if (n == 4 + 4 + 28)
			g_assert_cmpstr(out, ==, "t10.Linux   scsi_debug      2000");
		if (n > 4 + 32 + 12 && rc == 0)
			g_assert_cmpstr(out, ==, "naa.33333330000007d0");
	}

	/* a descriptor length byte that points past the end */
	page_scsi_debug(&p);
	p.b[p.len - 24 - 1] = 200;
	assert_wwid_rc(&p, -EINVAL);

	/* not a device identification page */
	page_scsi_debug(&p);
	p.b[1] = 0x80;
	assert_wwid_rc(&p, -EINVAL);
	g_assert_cmpint(rdp_wwid_from_vpd83(NULL, 100, out, sizeof(out)), ==, -EINVAL);

	/* an empty page is well formed and names nothing */
	page_init(&p);
	assert_wwid_rc(&p, -ENODATA);
}

static void test_out_buffer(void)
{
	struct page p;
	char out[21];

	page_scsi_debug(&p);
	/* "naa.33333330000007d0" is 20 characters */
	g_assert_cmpint(wwid_exact(p.b, p.len, out, 21), ==, 0);
	g_assert_cmpstr(out, ==, "naa.33333330000007d0");
	g_assert_cmpint(wwid_exact(p.b, p.len, out, 20), ==, -ERANGE);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpint(wwid_exact(p.b, p.len, out, 0), ==, -EINVAL);
	g_assert_cmpint(wwid_exact(p.b, p.len, NULL, 21), ==, -EINVAL);
}

/* every designator left is the LU's and the header length matches what is left */
static void assert_lu_only(const uint8_t *b, size_t len)
{
	g_assert_cmpuint(len, >=, 4);
	g_assert_cmpuint(b[1], ==, 0x83);
	g_assert_cmpuint(rdp_get_be16(b + 2), ==, len - 4);
	for (size_t k = 4; k < len; k += 4 + b[k + 3]) {
		g_assert_cmpuint(k + 4 + b[k + 3], <=, len);
		g_assert_cmpuint((b[k + 1] >> 4) & 0x3, ==, AS_LU);
	}
}

static void test_lu_only(void)
{
	struct page p, orig;
	char out[RDP_WWID_MAX];

	page_scsi_debug(&p);
	orig = p;
	size_t n = rdp_vpd83_lu_only(p.b, p.len);
	/* T10 (4 + 28) and NAA (4 + 8) stay, in their order */
	g_assert_cmpuint(n, ==, 4 + 32 + 12);
	assert_lu_only(p.b, n);
	g_assert_cmpmem(p.b + 4, 32 + 12, orig.b + 4, 32 + 12);
	g_assert_cmpint(rdp_wwid_from_vpd83(p.b, n, out, sizeof(out)), ==, 0);
	g_assert_cmpstr(out, ==, "naa.33333330000007d0");
	/* no port name left behind the new end */
	for (size_t i = n; i < orig.len; i++)
		g_assert_cmpuint(p.b[i], ==, 0);
	/* idempotent */
	g_assert_cmpuint(rdp_vpd83_lu_only(p.b, n), ==, n);
	g_assert_cmpmem(p.b + 4, n - 4, orig.b + 4, n - 4);

	/* LU designators after port ones move up */
	page_init(&p);
	page_add_be64(&p, 6, AS_PORT, 0x6222222000000001ULL);
	page_add_be64(&p, 0, AS_LU, 0x6000000000000001ULL);
	page_add_be64(&p, 6, AS_TARGET, 0x6222222000000002ULL);
	page_add_be64(&p, 0, AS_LU, 0x5000000000000002ULL);
	n = rdp_vpd83_lu_only(p.b, p.len);
	g_assert_cmpuint(n, ==, 4 + 2 * 12);
	assert_lu_only(p.b, n);
	g_assert_cmpuint(rdp_get_be64(p.b + 8), ==, 0x6000000000000001ULL);
	g_assert_cmpuint(rdp_get_be64(p.b + 20), ==, 0x5000000000000002ULL);

	/* only port designators: an empty page */
	page_init(&p);
	page_add_be64(&p, 6, AS_PORT, 0x6222222000000001ULL);
	n = rdp_vpd83_lu_only(p.b, p.len);
	g_assert_cmpuint(n, ==, 4);
	assert_lu_only(p.b, n);

	/* cut by the allocation length: whole LU descriptors kept, length fixed up */
	page_scsi_debug(&p);
	g_autofree uint8_t *cut = g_memdup2(p.b, 4 + 32 + 6);
	n = rdp_vpd83_lu_only(cut, 4 + 32 + 6);
	g_assert_cmpuint(n, ==, 4 + 32);
	assert_lu_only(cut, n);

	/* not a VPD 0x83 page: nothing to serve */
	page_scsi_debug(&p);
	p.b[1] = 0x80;
	g_assert_cmpuint(rdp_vpd83_lu_only(p.b, p.len), ==, 0);
	g_assert_cmpuint(rdp_vpd83_lu_only(p.b, 3), ==, 0);
	g_assert_cmpuint(rdp_vpd83_lu_only(NULL, 100), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/identity/wwid/scsi-debug", test_scsi_debug);
	g_test_add_func("/identity/wwid/naa", test_naa);
	g_test_add_func("/identity/wwid/eui64", test_eui64);
	g_test_add_func("/identity/wwid/t10", test_t10);
	g_test_add_func("/identity/wwid/name-string", test_name_string);
	g_test_add_func("/identity/wwid/priority", test_priority);
	g_test_add_func("/identity/wwid/port-descriptors-ignored", test_port_descriptors_ignored);
	g_test_add_func("/identity/wwid/malformed", test_malformed);
	g_test_add_func("/identity/wwid/out-buffer", test_out_buffer);
	g_test_add_func("/identity/lu-only", test_lu_only);
	return g_test_run();
}
