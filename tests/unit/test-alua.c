/* Unit tests for ALUA decoding (lib/alua.c): answers shaped exactly like Linux scsi_debug's (two
 * hosts, vpd_use_hostno=0) must place host 0's path in an active/optimized group and host 1's in
 * an active/non-optimized one; damaged or cut answers must be refused without reading past them. */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <scsi/sg_unaligned.h>

#include "alua.h"

/*
 * What scsi_debug (drivers/scsi/scsi_debug.c, Linux 6.1) answers with vpd_use_hostno=0 for
 * channel 0, target 0, LUN 0 of host H:
 * - standard INQUIRY byte 5 = 0x10: TPGS 01b, implicit ALUA only;
 * - VPD 0x83: relative target port 1 and target port group ((H + 1) << 8) | channel, i.e.
 *   0x0100 for host 0 and 0x0200 for host 1 (the group is computed before vpd_use_hostno=0 sets
 *   the host number to 0 for the LU and target device names, so those are the same for both);
 * - REPORT TARGET PORT GROUPS, length-only header, two groups of one port each: group A =
 *   ((H + 1) << 8) | channel in state H % 3, all of AO/ANO/S/U supported (0x0f), relative port 1;
 *   group B = group A + 0x80, unavailable, only unavailable supported (0x08), relative port 2.
 *   Its return data length is 24; an allocation length below 28 cuts the answer but not the
 *   length field.
 */
static const uint8_t sdebug_inquiry[8] = {0x00, 0x00, 0x07, 0x02, 91, 0x10, 0x10, 0x0a};

static const uint8_t sdebug_rtpg_host0[28] = {
    0x00, 0x00, 0x00, 0x18,			    /* return data length */
    0x00, 0x0f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, /* AO, tpg 0x0100, 1 port */
    0x00, 0x00, 0x00, 0x01,			    /* relative port 1 */
    0x03, 0x08, 0x01, 0x80, 0x00, 0x00, 0x00, 0x01, /* unavailable, tpg 0x0180 */
    0x00, 0x00, 0x00, 0x02,			    /* relative port 2 */
};

static const uint8_t sdebug_rtpg_host1[28] = {
    0x00, 0x00, 0x00, 0x18, 0x01, 0x0f,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* ANO, tpg 0x0200 */
    0x00, 0x00, 0x00, 0x01, 0x03, 0x08,
    0x02, 0x80, 0x00, 0x00, 0x00, 0x01, /* unavailable, tpg 0x0280 */
    0x00, 0x00, 0x00, 0x02,
};

struct page {
	uint8_t b[512];
	size_t len;
};

static void page_init(struct page *p)
{
	memset(p, 0, sizeof(*p));
	p->b[1] = 0x83;
	p->len = 4;
}

static void page_add(struct page *p, uint8_t b0, uint8_t b1, const void *data, uint8_t dlen)
{
	uint8_t *d = p->b + p->len;

	g_assert_cmpuint(p->len + 4 + dlen, <=, sizeof(p->b));
	d[0] = b0;
	d[1] = b1;
	d[2] = 0;
	d[3] = dlen;
	memcpy(d + 4, data, dlen);
	p->len += 4 + dlen;
	sg_put_unaligned_be16((uint16_t)(p->len - 4), p->b + 2);
}

static void page_add_be64(struct page *p, uint8_t b0, uint8_t b1, uint64_t v)
{
	uint8_t b[8];

	sg_put_unaligned_be64(v, b);
	page_add(p, b0, b1, b, sizeof(b));
}

/* scsi_debug's logical-unit designators: T10 vendor id and NAA-3, the same for every host */
static void page_lu_part(struct page *p)
{
	const char t10[] = "Linux   scsi_debug      2000";

	page_init(p);
	page_add(p, 0x02, 0x01, t10, sizeof(t10) - 1);
	page_add_be64(p, 0x01, 0x03, 0x3333333000000000ULL + 2000);
}

/* The whole VPD 0x83 page scsi_debug returns for host host_no, byte for byte */
static void page_scsi_debug(struct page *p, unsigned int host_no)
{
	const uint8_t relport[4] = {0, 0, 0, 1};
	const uint8_t tpg[4] = {0, 0, (uint8_t)(host_no + 1), 0x00};
	const char name[24] = "naa.32222220000007CD"; /* NUL padded to 24 */

	page_lu_part(p);
	page_add(p, 0x61, 0x94, relport, sizeof(relport));	    /* PIV, target port, rel port */
	page_add_be64(p, 0x61, 0x93, 0x3222222000000000ULL + 1998); /* target port NAA */
	page_add(p, 0x61, 0x95, tpg, sizeof(tpg));		    /* PIV, target port, TPG */
	page_add_be64(p, 0x61, 0xa3, 0x3222222000000000ULL + 1997); /* target device NAA */
	page_add(p, 0x63, 0xa8, name, sizeof(name));		    /* target device name */
}

/* Copies on the heap at exactly len bytes, so any read past them shows under ASan/valgrind. */
static int parse_exact(const uint8_t *b, size_t len, struct rdp_alua_rtpg *out, size_t *needed)
{
	g_autofree uint8_t *copy = g_memdup2(b, len ? len : 1);
	return rdp_alua_parse_rtpg(copy, len, out, needed);
}

static int port_exact(const uint8_t *b, size_t len, struct rdp_alua_port *out)
{
	g_autofree uint8_t *copy = g_memdup2(b, len ? len : 1);
	return rdp_alua_port_from_vpd83(copy, len, out);
}

static void test_state_names(void)
{
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_AO), ==, "active/optimized");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_ANO), ==, "active/non-optimized");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_STANDBY), ==, "standby");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_UNAVAILABLE), ==, "unavailable");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_LBA_DEPENDENT), ==, "lba-dependent");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_OFFLINE), ==, "offline");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_TRANSITIONING), ==, "transitioning");
	g_assert_cmpstr(rdp_alua_state_name(RDP_ALUA_UNKNOWN), ==, "unknown");
	g_assert_cmpstr(rdp_alua_state_name((enum rdp_alua_state)7), ==, "unknown");

	g_assert_cmpint(rdp_alua_state_from_code(0x0), ==, RDP_ALUA_AO);
	g_assert_cmpint(rdp_alua_state_from_code(0x4), ==, RDP_ALUA_LBA_DEPENDENT);
	g_assert_cmpint(rdp_alua_state_from_code(0xe), ==, RDP_ALUA_OFFLINE);
	g_assert_cmpint(rdp_alua_state_from_code(0xf), ==, RDP_ALUA_TRANSITIONING);
	for (uint8_t c = 0x5; c <= 0xd; c++)
		g_assert_cmpint(rdp_alua_state_from_code(c), ==, RDP_ALUA_UNKNOWN);
}

static void test_tpgs(void)
{
	uint8_t inq[8];

	g_assert_cmpint(rdp_alua_tpgs(sdebug_inquiry, sizeof(sdebug_inquiry)), ==,
			RDP_ALUA_TPGS_IMPLICIT);
	memcpy(inq, sdebug_inquiry, sizeof(inq));
	inq[5] = 0x01; /* PROTECT only */
	g_assert_cmpint(rdp_alua_tpgs(inq, sizeof(inq)), ==, RDP_ALUA_TPGS_NONE);
	inq[5] = 0x20 | 0x08; /* explicit, plus 3PC which is not TPGS */
	g_assert_cmpint(rdp_alua_tpgs(inq, sizeof(inq)), ==, RDP_ALUA_TPGS_EXPLICIT);
	inq[5] = 0xff;
	g_assert_cmpint(rdp_alua_tpgs(inq, sizeof(inq)), ==, RDP_ALUA_TPGS_BOTH);
	g_assert_cmpint(rdp_alua_tpgs(inq, 5), ==, -EINVAL);
	g_assert_cmpint(rdp_alua_tpgs(NULL, 8), ==, -EINVAL);
}

static void test_cdb(void)
{
	static const uint8_t want_plain[12] = {0xa3, 0x0a, 0,	 0,    0, 0,
					       0x00, 0x00, 0x00, 0x80, 0, 0};
	static const uint8_t want_ext[12] = {0xa3, 0x2a, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0};
	uint8_t cdb[RDP_ALUA_RTPG_CDB_LEN];

	memset(cdb, 0xee, sizeof(cdb));
	rdp_alua_rtpg_cdb(cdb, RDP_ALUA_RTPG_INITIAL_LEN, false);
	g_assert_cmpmem(cdb, sizeof(cdb), want_plain, sizeof(want_plain));
	memset(cdb, 0xee, sizeof(cdb));
	rdp_alua_rtpg_cdb(cdb, 0x12345678, true);
	g_assert_cmpmem(cdb, sizeof(cdb), want_ext, sizeof(want_ext));
}

/* Host 0: its own group 0x0100 is active/optimized, the fake port B's group unavailable. */
static void test_scsi_debug_host0(void)
{
	g_auto(rdp_alua_rtpg) r = {0};
	struct rdp_alua_port port;
	struct page p;
	const struct rdp_alua_group *g;
	size_t needed = 99;

	g_assert_cmpint(rdp_alua_tpgs(sdebug_inquiry, sizeof(sdebug_inquiry)), >, 0);
	g_assert_cmpint(parse_exact(sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0), &r, &needed), ==,
			0);
	g_assert_cmpuint(needed, ==, 0);
	g_assert_false(r.extended);
	g_assert_cmpuint(r.n_groups, ==, 2);

	g_assert_cmpuint(r.groups[0].tpg_id, ==, 0x0100);
	g_assert_cmpint(r.groups[0].state, ==, RDP_ALUA_AO);
	g_assert_false(r.groups[0].pref);
	g_assert_cmpuint(r.groups[0].supported, ==,
			 RDP_ALUA_SUP_AO | RDP_ALUA_SUP_ANO | RDP_ALUA_SUP_STANDBY |
			     RDP_ALUA_SUP_UNAVAILABLE);
	g_assert_cmpuint(r.groups[0].n_ports, ==, 1);
	g_assert_cmpuint(r.groups[0].ports[0], ==, 1);

	g_assert_cmpuint(r.groups[1].tpg_id, ==, 0x0180);
	g_assert_cmpint(r.groups[1].state, ==, RDP_ALUA_UNAVAILABLE);
	g_assert_cmpuint(r.groups[1].supported, ==, RDP_ALUA_SUP_UNAVAILABLE);
	g_assert_cmpuint(r.groups[1].n_ports, ==, 1);
	g_assert_cmpuint(r.groups[1].ports[0], ==, 2);

	page_scsi_debug(&p, 0);
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, 0);
	g_assert_true(port.has_tpg);
	g_assert_cmpuint(port.tpg_id, ==, 0x0100);
	g_assert_true(port.has_rel_port);
	g_assert_cmpuint(port.rel_port, ==, 1);

	g = rdp_alua_find_group(&r, &port);
	g_assert_true(g == &r.groups[0]);
	g_assert_cmpint(rdp_alua_path_state(&r, &port), ==, RDP_ALUA_AO);
	g_assert_cmpint(rdp_alua_priority(g->state, g->pref), ==, RDP_ALUA_PRIO_AO);
}

/* Host 1: same relative port 1, but group 0x0200, active/non-optimized. */
static void test_scsi_debug_host1(void)
{
	g_auto(rdp_alua_rtpg) r0 = {0};
	g_auto(rdp_alua_rtpg) r1 = {0};
	struct rdp_alua_port port;
	struct page p;

	g_assert_cmpint(parse_exact(sdebug_rtpg_host1, sizeof(sdebug_rtpg_host1), &r1, NULL), ==,
			0);
	g_assert_cmpuint(r1.n_groups, ==, 2);
	g_assert_cmpuint(r1.groups[0].tpg_id, ==, 0x0200);
	g_assert_cmpint(r1.groups[0].state, ==, RDP_ALUA_ANO);
	g_assert_cmpuint(r1.groups[1].tpg_id, ==, 0x0280);
	g_assert_cmpint(r1.groups[1].state, ==, RDP_ALUA_UNAVAILABLE);

	page_scsi_debug(&p, 1);
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, 0);
	g_assert_cmpuint(port.tpg_id, ==, 0x0200);
	g_assert_cmpuint(port.rel_port, ==, 1);
	g_assert_cmpint(rdp_alua_path_state(&r1, &port), ==, RDP_ALUA_ANO);
	g_assert_cmpint(rdp_alua_priority(rdp_alua_path_state(&r1, &port), false), ==,
			RDP_ALUA_PRIO_ANO);

	/* Host 1's port looked up in host 0's answer: relative port 1 is there too, in group
	 * 0x0100, but the path said it is in 0x0200, so it must not borrow 0x0100's state. */
	g_assert_cmpint(parse_exact(sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0), &r0, NULL), ==,
			0);
	g_assert_null(rdp_alua_find_group(&r0, &port));
	g_assert_cmpint(rdp_alua_path_state(&r0, &port), ==, RDP_ALUA_UNKNOWN);
}

/* Without a group designator the relative port decides, and only when it is in one group. */
static void test_find_by_rel_port(void)
{
	g_auto(rdp_alua_rtpg) r = {0};
	g_auto(rdp_alua_rtpg) twice = {0};
	struct rdp_alua_port port = {.has_rel_port = true, .rel_port = 2};
	uint8_t b[sizeof(sdebug_rtpg_host0)];

	g_assert_cmpint(parse_exact(sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0), &r, NULL), ==, 0);
	g_assert_cmpint(rdp_alua_path_state(&r, &port), ==, RDP_ALUA_UNAVAILABLE);
	port.rel_port = 1;
	g_assert_cmpint(rdp_alua_path_state(&r, &port), ==, RDP_ALUA_AO);
	port.rel_port = 3;
	g_assert_null(rdp_alua_find_group(&r, &port));
	port.has_rel_port = false;
	g_assert_null(rdp_alua_find_group(&r, &port));
	g_assert_null(rdp_alua_find_group(NULL, &port));

	/* group B claims relative port 1 as well */
	memcpy(b, sdebug_rtpg_host0, sizeof(b));
	b[27] = 0x01;
	g_assert_cmpint(parse_exact(b, sizeof(b), &twice, NULL), ==, 0);
	port = (struct rdp_alua_port){.has_rel_port = true, .rel_port = 1};
	g_assert_null(rdp_alua_find_group(&twice, &port));
	g_assert_cmpint(rdp_alua_path_state(&twice, &port), ==, RDP_ALUA_UNKNOWN);
}

static void test_extended_header(void)
{
	/* return data length counts the extended header's bytes 4-7 */
	static const uint8_t ext[] = {
	    0x00, 0x00, 0x00, 0x1c,			    /* 4 + 8 + 16 */
	    0x10, 0x3c, 0x00, 0x00,			    /* format 001b, 60 s transition */
	    0x82, 0x07, 0x00, 0x11, 0x00, 0x02, 0x00, 0x00, /* PREF standby, tpg 0x11 */
	    0x01, 0x8f, 0x00, 0x22, 0x00, 0x01, 0x00, 0x02, /* ANO, tpg 0x22, 2 ports */
	    0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x06, /* ports 5, 0x106 */
	};
	g_auto(rdp_alua_rtpg) r = {0};
	struct rdp_alua_rtpg bad = {0};
	struct rdp_alua_port port = {.has_tpg = true, .tpg_id = 0x22};
	uint8_t b[sizeof(ext)];

	g_assert_cmpint(parse_exact(ext, sizeof(ext), &r, NULL), ==, 0);
	g_assert_true(r.extended);
	g_assert_cmpuint(r.transition_time, ==, 60);
	g_assert_cmpuint(r.n_groups, ==, 2);
	g_assert_cmpuint(r.groups[0].tpg_id, ==, 0x11);
	g_assert_cmpint(r.groups[0].state, ==, RDP_ALUA_STANDBY);
	g_assert_true(r.groups[0].pref);
	g_assert_cmpuint(r.groups[0].status, ==, 2);
	g_assert_cmpuint(r.groups[0].n_ports, ==, 0);
	g_assert_cmpuint(r.groups[1].tpg_id, ==, 0x22);
	g_assert_false(r.groups[1].pref);
	g_assert_cmpuint(r.groups[1].supported, ==, 0x8f);
	g_assert_cmpuint(r.groups[1].status, ==, 1);
	g_assert_cmpuint(r.groups[1].n_ports, ==, 2);
	g_assert_cmpuint(r.groups[1].ports[0], ==, 5);
	g_assert_cmpuint(r.groups[1].ports[1], ==, 0x106);
	g_assert_cmpint(rdp_alua_path_state(&r, &port), ==, RDP_ALUA_ANO);
	port = (struct rdp_alua_port){.has_rel_port = true, .rel_port = 0x106};
	g_assert_cmpint(rdp_alua_path_state(&r, &port), ==, RDP_ALUA_ANO);

	/* an extended header with no descriptors */
	g_assert_cmpint(parse_exact(ext, 8, &bad, NULL), ==, -EMSGSIZE);
	memcpy(b, ext, sizeof(b));
	b[3] = 4;
	g_assert_cmpint(parse_exact(b, 8, &bad, NULL), ==, 0);
	g_assert_true(bad.extended);
	g_assert_cmpuint(bad.n_groups, ==, 0);
	rdp_alua_rtpg_clear(&bad);

	/* extended format, but the length ends inside its header */
	b[3] = 2;
	g_assert_cmpint(parse_exact(b, sizeof(b), &bad, NULL), ==, -EINVAL);
	/* a format type SPC does not define */
	memcpy(b, ext, sizeof(b));
	b[4] = 0x20;
	g_assert_cmpint(parse_exact(b, sizeof(b), &bad, NULL), ==, -EINVAL);
	g_assert_cmpuint(bad.n_groups, ==, 0);
	g_assert_null(bad.groups);
}

/* scsi_debug cuts the answer at the allocation length but keeps the full length in the header. */
static void test_truncated(void)
{
	struct rdp_alua_rtpg r = {0};
	size_t needed;

	for (size_t len = 4; len < sizeof(sdebug_rtpg_host0); len++) {
		needed = 0;
		g_assert_cmpint(parse_exact(sdebug_rtpg_host0, len, &r, &needed), ==, -EMSGSIZE);
		g_assert_cmpuint(needed, ==, sizeof(sdebug_rtpg_host0));
		g_assert_cmpuint(r.n_groups, ==, 0);
		g_assert_null(r.groups);
	}
	/* the caller retries with what it was told */
	g_assert_cmpint(parse_exact(sdebug_rtpg_host0, needed, &r, &needed), ==, 0);
	g_assert_cmpuint(r.n_groups, ==, 2);
	rdp_alua_rtpg_clear(&r);
	g_assert_cmpuint(r.n_groups, ==, 0);

	/* less than the length field itself */
	for (size_t len = 0; len < 4; len++)
		g_assert_cmpint(parse_exact(sdebug_rtpg_host0, len, &r, &needed), ==, -EINVAL);
	g_assert_cmpint(rdp_alua_parse_rtpg(NULL, 28, &r, NULL), ==, -EINVAL);
	g_assert_cmpint(rdp_alua_parse_rtpg(sdebug_rtpg_host0, 28, NULL, NULL), ==, -EINVAL);

	/* a buffer larger than the answer: bytes after it are not descriptors */
	{
		uint8_t big[64];

		memset(big, 0xff, sizeof(big));
		memcpy(big, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
		g_assert_cmpint(parse_exact(big, sizeof(big), &r, NULL), ==, 0);
		g_assert_cmpuint(r.n_groups, ==, 2);
		rdp_alua_rtpg_clear(&r);
	}
}

static void test_bogus_counts(void)
{
	struct rdp_alua_rtpg r = {0};
	uint8_t b[sizeof(sdebug_rtpg_host0) + 4];
	size_t needed;

	memset(b, 0, sizeof(b));
	/* group B claims 255 ports; one is there */
	memcpy(b, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
	b[23] = 0xff;
	g_assert_cmpint(parse_exact(b, 28, &r, NULL), ==, -EINVAL);
	g_assert_null(r.groups);

	/* group A claims 2 ports: its second port is group B's header, which then runs out */
	memcpy(b, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
	b[11] = 2;
	g_assert_cmpint(parse_exact(b, 28, &r, NULL), ==, -EINVAL);

	/* the length stops inside group B's port list */
	memcpy(b, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
	b[3] = 0x14;
	g_assert_cmpint(parse_exact(b, 28, &r, NULL), ==, -EINVAL);

	/* three stray bytes after the last descriptor */
	memcpy(b, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
	b[3] = 0x1b;
	g_assert_cmpint(parse_exact(b, 31, &r, NULL), ==, -EINVAL);

	/* the same group twice */
	memcpy(b, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
	b[19] = 0x00;
	g_assert_cmpint(parse_exact(b, 28, &r, NULL), ==, -EINVAL);
	g_assert_cmpuint(r.n_groups, ==, 0);

	/* a length no allocation would be granted for: malformed, not "retry" */
	memcpy(b, sdebug_rtpg_host0, sizeof(sdebug_rtpg_host0));
	sg_put_unaligned_be32(0xfffffff0, b);
	needed = 1;
	g_assert_cmpint(parse_exact(b, 28, &r, &needed), ==, -EINVAL);
	g_assert_cmpuint(needed, ==, 0);
	sg_put_unaligned_be32(RDP_ALUA_RTPG_MAX_LEN - 4, b);
	g_assert_cmpint(parse_exact(b, 28, &r, &needed), ==, -EMSGSIZE);
	g_assert_cmpuint(needed, ==, RDP_ALUA_RTPG_MAX_LEN);

	/* no groups at all: valid, and no path can be placed */
	memset(b, 0, 4);
	g_assert_cmpint(parse_exact(b, 4, &r, NULL), ==, 0);
	g_assert_cmpuint(r.n_groups, ==, 0);
	{
		struct rdp_alua_port port = {.has_tpg = true, .tpg_id = 0};

		g_assert_cmpint(rdp_alua_path_state(&r, &port), ==, RDP_ALUA_UNKNOWN);
	}
	rdp_alua_rtpg_clear(&r);
}

/* Random answers: whatever comes back, the parser stays inside the buffer (ASan, valgrind) and
 * what it returns is consistent. */
static void test_random_answers(void)
{
	unsigned int seen[3] = {0}; /* parsed, malformed, cut */
	uint8_t b[96];

	for (unsigned int i = 0; i < 20000; i++) {
		g_auto(rdp_alua_rtpg) r = {0};
		size_t len = (size_t)g_test_rand_int_range(0, sizeof(b) + 1), needed;
		size_t ports = 0;
		int rc;

		for (size_t k = 0; k < sizeof(b); k++)
			b[k] = (uint8_t)g_test_rand_int_range(0, 256);
		/* keep lengths plausible often enough to reach the descriptors */
		sg_put_unaligned_be32((uint32_t)g_test_rand_int_range(0, 100), b);
		if (i % 2)
			b[4] &= 0x8f; /* length-only format */
		rc = parse_exact(b, len, &r, &needed);
		g_assert_true(rc == 0 || rc == -EINVAL || rc == -EMSGSIZE);
		seen[rc == 0 ? 0 : rc == -EINVAL ? 1 : 2]++;
		if (rc == -EMSGSIZE)
			g_assert_cmpuint(needed, >, len);
		if (rc != 0) {
			g_assert_cmpuint(r.n_groups, ==, 0);
			continue;
		}
		for (unsigned int g = 0; g < r.n_groups; g++) {
			if (r.groups[g].n_ports)
				g_assert_true(r.groups[g].ports == r.port_store + ports);
			else
				g_assert_null(r.groups[g].ports);
			ports += r.groups[g].n_ports;
		}
		g_assert_cmpuint(4 + (r.extended ? 4 : 0) + 8 * r.n_groups + 4 * ports, ==,
				 4 + sg_get_unaligned_be32(b));
	}
	/* the inputs reached all three outcomes, so the checks above ran on each */
	for (size_t k = 0; k < G_N_ELEMENTS(seen); k++)
		g_assert_cmpuint(seen[k], >, 0);
}

static void test_vpd_without_port(void)
{
	struct rdp_alua_port port;
	struct page p;

	/* only logical-unit designators, as a target without ALUA reports them */
	page_lu_part(&p);
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -ENOENT);
	g_assert_false(port.has_tpg);
	g_assert_false(port.has_rel_port);

	/* type 4 and 5, but associated with the LU and the target device: not this port */
	{
		const uint8_t v[4] = {0, 0, 0, 1};

		page_add(&p, 0x01, 0x04, v, sizeof(v));
		page_add(&p, 0x01, 0x25, v, sizeof(v));
		g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -ENOENT);
	}

	/* an empty page */
	page_init(&p);
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -ENOENT);
}

static void test_vpd_group_only(void)
{
	const uint8_t tpg[4] = {0, 0, 0x12, 0x34};
	struct rdp_alua_port port;
	struct page p;

	page_lu_part(&p);
	page_add(&p, 0x61, 0x95, tpg, sizeof(tpg));
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, 0);
	g_assert_true(port.has_tpg);
	g_assert_cmpuint(port.tpg_id, ==, 0x1234);
	g_assert_false(port.has_rel_port);
}

static void test_vpd_malformed(void)
{
	struct rdp_alua_port port;
	struct page p;

	page_scsi_debug(&p, 0);
	/* cut: every prefix is refused (or, shorter than the header, not a page) */
	for (size_t len = 0; len < p.len; len++)
		g_assert_cmpint(port_exact(p.b, len, &port), ==, -EINVAL);
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, 0);

	/* another page */
	p.b[1] = 0x80;
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -EINVAL);
	g_assert_false(port.has_tpg);

	/* the last designator claims more bytes than the page has */
	page_scsi_debug(&p, 0);
	p.b[p.len - 24 - 1] = 30;
	g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -EINVAL);

	/* the page ends inside the group designator's id: its header fits, its body does not */
	{
		const uint8_t tpg[4] = {0, 0, 0x01, 0x00};

		page_lu_part(&p);
		page_add(&p, 0x61, 0x95, tpg, sizeof(tpg));
		p.len -= 2;
		sg_put_unaligned_be16((uint16_t)(p.len - 4), p.b + 2);
		g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -EINVAL);
	}

	/* a group designator of the wrong size */
	{
		const uint8_t tpg6[6] = {0, 0, 0, 0, 0x01, 0x00};

		page_lu_part(&p);
		page_add(&p, 0x61, 0x95, tpg6, sizeof(tpg6));
		g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -EINVAL);
	}

	/* two different groups for one port; the same group twice is fine */
	{
		const uint8_t a[4] = {0, 0, 0x01, 0x00}, b[4] = {0, 0, 0x02, 0x00};

		page_lu_part(&p);
		page_add(&p, 0x61, 0x95, a, sizeof(a));
		page_add(&p, 0x61, 0x95, a, sizeof(a));
		g_assert_cmpint(port_exact(p.b, p.len, &port), ==, 0);
		page_add(&p, 0x61, 0x95, b, sizeof(b));
		g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -EINVAL);
		g_assert_false(port.has_tpg);
	}

	/* two different relative ports */
	{
		const uint8_t a[4] = {0, 0, 0, 1}, b[4] = {0, 0, 0, 2};

		page_lu_part(&p);
		page_add(&p, 0x61, 0x94, a, sizeof(a));
		page_add(&p, 0x61, 0x94, b, sizeof(b));
		g_assert_cmpint(port_exact(p.b, p.len, &port), ==, -EINVAL);
	}
	g_assert_cmpint(rdp_alua_port_from_vpd83(NULL, 8, &port), ==, -EINVAL);
}

static void test_priority(void)
{
	const enum rdp_alua_state zero[] = {RDP_ALUA_UNAVAILABLE, RDP_ALUA_OFFLINE,
					    RDP_ALUA_TRANSITIONING, RDP_ALUA_UNKNOWN};

	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_AO, false), ==, 50);
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_ANO, false), ==, 10);
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_LBA_DEPENDENT, false), ==, 5);
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_STANDBY, false), ==, 1);

	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_AO, false), >,
			rdp_alua_priority(RDP_ALUA_ANO, false));
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_ANO, false), >,
			rdp_alua_priority(RDP_ALUA_STANDBY, false));
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_STANDBY, false), >,
			rdp_alua_priority(RDP_ALUA_UNAVAILABLE, false));
	for (size_t i = 0; i < G_N_ELEMENTS(zero); i++) {
		g_assert_cmpint(rdp_alua_priority(zero[i], false), ==, 0);
		/* a preferred group that carries no I/O stays at the bottom */
		g_assert_cmpint(rdp_alua_priority(zero[i], true), ==, 0);
	}

	/* PREF: preferred non-optimized ahead of optimized, optimized not split, standby not
	 * lifted above a path that works */
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_ANO, true), ==, 90);
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_ANO, true), >,
			rdp_alua_priority(RDP_ALUA_AO, false));
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_LBA_DEPENDENT, true), ==, 85);
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_AO, true), ==,
			rdp_alua_priority(RDP_ALUA_AO, false));
	g_assert_cmpint(rdp_alua_priority(RDP_ALUA_STANDBY, true), <,
			rdp_alua_priority(RDP_ALUA_ANO, false));
}

/* The gateway's own port designators: appended to an LU-only page, read back by the parser the
 * paths' pages go through; refused where they would not make a whole page. */
static void test_gateway_vpd83(void)
{
	struct page p;
	page_init(&p);
	page_lu_part(&p);
	size_t lu_len = p.len;
	uint8_t lu[sizeof(p.b)];
	memcpy(lu, p.b, sizeof(lu));

	size_t n = rdp_alua_vpd83_add_port(p.b, p.len, sizeof(p.b), 7);
	g_assert_cmpuint(n, ==, lu_len + RDP_ALUA_VPD83_PORT_LEN);
	g_assert_cmpuint(sg_get_unaligned_be16(p.b + 2), ==, n - 4);
	g_assert_cmpmem(p.b + 4, lu_len - 4, lu + 4, lu_len - 4);
	struct rdp_alua_port port;
	g_assert_cmpint(rdp_alua_port_from_vpd83(p.b, n, &port), ==, 0);
	g_assert_true(port.has_tpg && port.has_rel_port);
	g_assert_cmpuint(port.tpg_id, ==, 7);
	g_assert_cmpuint(port.rel_port, ==, 7);

	/* port 0, no room, a page whose length is not what it holds, not VPD 0x83 */
	memcpy(p.b, lu, sizeof(lu));
	g_assert_cmpuint(rdp_alua_vpd83_add_port(p.b, lu_len, sizeof(p.b), 0), ==, 0);
	g_assert_cmpuint(rdp_alua_vpd83_add_port(p.b, lu_len, lu_len + 15, 1), ==, 0);
	g_assert_cmpuint(rdp_alua_vpd83_add_port(p.b, lu_len - 1, sizeof(p.b), 1), ==, 0);
	g_assert_cmpuint(rdp_alua_vpd83_add_port(p.b, 3, sizeof(p.b), 1), ==, 0);
	g_assert_cmpuint(rdp_alua_vpd83_add_port(NULL, lu_len, sizeof(p.b), 1), ==, 0);
	p.b[1] = 0x80;
	g_assert_cmpuint(rdp_alua_vpd83_add_port(p.b, lu_len, sizeof(p.b), 1), ==, 0);
	p.b[1] = 0x83;
	g_assert_cmpmem(p.b, sizeof(lu), lu, sizeof(lu)); /* nothing written by a refusal */
	g_assert_cmpuint(rdp_alua_vpd83_add_port(p.b, lu_len, lu_len + 16, 1), ==, lu_len + 16);
}

/* The gateway's RTPG answer for 1, 2 and 32 ports, both formats, read back by the parser: every
 * group active/optimized with one port of its own id, but the gateway's own group unavailable
 * when it has no usable path; AO and U supported everywhere; out of range, nothing. */
static void test_gateway_rtpg(void)
{
	uint8_t buf[RDP_ALUA_GATEWAY_RTPG_MAX];
	static const unsigned int counts[] = {1, 2, RDP_ALUA_GATEWAY_PORTS_MAX};

	for (size_t c = 0; c < G_N_ELEMENTS(counts); c++) {
		for (int variant = 0; variant < 4; variant++) {
			bool extended = variant & 1, usable = variant & 2;
			unsigned int ports = counts[c], own = ports > 1 ? 2 : 1;
			size_t n = rdp_alua_gateway_rtpg(ports, own, usable, extended, buf);
			g_assert_cmpuint(n, ==, (extended ? 8 : 4) + 12 * ports);
			g_auto(rdp_alua_rtpg) r = {0};
			g_assert_cmpint(rdp_alua_parse_rtpg(buf, n, &r, NULL), ==, 0);
			g_assert_cmpint(r.extended, ==, extended);
			g_assert_cmpuint(r.transition_time, ==, 0);
			g_assert_cmpuint(r.n_groups, ==, ports);
			for (unsigned int i = 0; i < ports; i++) {
				const struct rdp_alua_group *g = &r.groups[i];
				g_assert_cmpuint(g->tpg_id, ==, i + 1);
				g_assert_cmpint(g->state, ==,
						i + 1 == own && !usable ? RDP_ALUA_UNAVAILABLE
									: RDP_ALUA_AO);
				g_assert_false(g->pref);
				g_assert_cmpuint(g->supported, ==,
						 RDP_ALUA_SUP_AO | RDP_ALUA_SUP_UNAVAILABLE);
				g_assert_cmpuint(g->status, ==, 0);
				g_assert_cmpuint(g->n_ports, ==, 1);
				g_assert_cmpuint(g->ports[0], ==, i + 1);
				/* found by either designator, as an initiator would look it up */
				struct rdp_alua_port by_rel = {.has_rel_port = true,
							       .rel_port = (uint16_t)(i + 1)};
				g_assert_true(rdp_alua_find_group(&r, &by_rel) == g);
			}
		}
	}
	g_assert_cmpuint(rdp_alua_gateway_rtpg(0, 0, true, false, buf), ==, 0);
	g_assert_cmpuint(rdp_alua_gateway_rtpg(RDP_ALUA_GATEWAY_PORTS_MAX + 1, 1, true, true, buf),
			 ==, 0);
	g_assert_cmpuint(rdp_alua_gateway_rtpg(2, 3, true, false, buf), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/alua/state-names", test_state_names);
	g_test_add_func("/alua/tpgs", test_tpgs);
	g_test_add_func("/alua/cdb", test_cdb);
	g_test_add_func("/alua/scsi-debug-host0", test_scsi_debug_host0);
	g_test_add_func("/alua/scsi-debug-host1", test_scsi_debug_host1);
	g_test_add_func("/alua/find-by-rel-port", test_find_by_rel_port);
	g_test_add_func("/alua/extended-header", test_extended_header);
	g_test_add_func("/alua/truncated", test_truncated);
	g_test_add_func("/alua/bogus-counts", test_bogus_counts);
	g_test_add_func("/alua/random-answers", test_random_answers);
	g_test_add_func("/alua/vpd-without-port", test_vpd_without_port);
	g_test_add_func("/alua/vpd-group-only", test_vpd_group_only);
	g_test_add_func("/alua/vpd-malformed", test_vpd_malformed);
	g_test_add_func("/alua/priority", test_priority);
	g_test_add_func("/alua/gateway-vpd83", test_gateway_vpd83);
	g_test_add_func("/alua/gateway-rtpg", test_gateway_rtpg);
	return g_test_run();
}
