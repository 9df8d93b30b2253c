/* libFuzzer target for what a path says about itself (lib/identity.c, lib/alua.c): a VPD 0x83
 * page and a REPORT TARGET PORT GROUPS answer go through the same calls as when a path is
 * attached (lun.c: rdp_path_identify(), rdp_lun_alua_update()). */
#include <errno.h>

#include "fuzz-input.h"
#include "alua.h"
#include <librdp/rdp.h>

/*
 * Input: byte 0 - bit 0: force byte 1 of the page to 83h, bits 1-7: the output buffer size for
 * the identity (0: RDP_WWID_MAX); bytes 1-2: the VPD page's length (little-endian, capped by
 * what is left); the page; every byte after it is the RTPG answer. Each buffer is its own
 * allocation of exactly its length, so ASan sees a read past it.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *dup_exact(struct fz_in *in, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	FZ_CHECK(p);
	fz_bytes(in, p, len);
	return p;
}

/* The identity and the logical-unit-only copy the front end serves must agree: an initiator
 * reading the served page derives the same wwid as the gateway did from the path's page. */
static void check_identity(uint8_t *page, size_t len, size_t out_len)
{
	char wwid[RDP_WWID_MAX], again[RDP_WWID_MAX];
	char *small = malloc(out_len);
	uint8_t *lu = malloc(len ? len : 1);
	struct rdp_alua_port port;
	size_t lu_len;
	int rc, rc2;

	FZ_CHECK(small && lu);
	rc = rdp_wwid_from_vpd83(page, len, wwid, sizeof(wwid));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENODATA || rc == -ERANGE);
	if (rc == 0) {
		size_t n = strlen(wwid);

		/* (a SCSI name string may itself begin "naa." or "eui.", so no more is known) */
		FZ_CHECK(n > 0 && n < sizeof(wwid));
	}
	/* a short buffer gives the same answer or -ERANGE, and is never overrun */
	rc2 = rdp_wwid_from_vpd83(page, len, small, out_len);
	if (rc == 0 && strlen(wwid) < out_len)
		FZ_CHECK(rc2 == 0 && strcmp(small, wwid) == 0);
	else if (rc == 0)
		FZ_CHECK(rc2 == -ERANGE);
	else
		FZ_CHECK(rc2 == rc);

	if (len)
		memcpy(lu, page, len);
	lu_len = rdp_vpd83_lu_only(lu, len);
	FZ_CHECK(lu_len <= len);
	if (lu_len) {
		FZ_CHECK(lu_len >= 4 && lu[1] == 0x83);
		FZ_CHECK((size_t)(lu[2] << 8 | lu[3]) == lu_len - 4);
		for (size_t off = 4; off < lu_len; off += 4u + lu[off + 3]) {
			FZ_CHECK(off + 4 <= lu_len && off + 4 + lu[off + 3] <= lu_len);
			FZ_CHECK(((lu[off + 1] >> 4) & 3) == 0); /* association: logical unit */
		}
		/* no port designators survive, so the served page places no path */
		FZ_CHECK(rdp_alua_port_from_vpd83(lu, lu_len, &port) < 0);
	}
	if (rc == 0) {
		FZ_CHECK(rdp_wwid_from_vpd83(lu, lu_len, again, sizeof(again)) == 0);
		FZ_CHECK(strcmp(again, wwid) == 0);
	}
	free(lu);
	free(small);
}

static void check_rtpg(const uint8_t *buf, size_t len, const struct rdp_alua_port *port)
{
	g_auto(rdp_alua_rtpg) rtpg = {0};
	const struct rdp_alua_group *g;
	size_t needed = 1, ports = 0;
	int rc;

	rc = rdp_alua_parse_rtpg(buf, len, &rtpg, &needed);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EMSGSIZE);
	if (rc == -EMSGSIZE)
		FZ_CHECK(needed > len && needed <= RDP_ALUA_RTPG_MAX_LEN);
	else
		FZ_CHECK(needed == 0);
	if (rc < 0) {
		FZ_CHECK(rtpg.n_groups == 0 && !rtpg.groups && !rtpg.port_store);
		return;
	}
	for (unsigned int i = 0; i < rtpg.n_groups; i++) {
		const struct rdp_alua_group *gi = &rtpg.groups[i];
		int prio = rdp_alua_priority(gi->state, gi->pref);

		FZ_CHECK(rdp_alua_state_name(gi->state) != NULL);
		FZ_CHECK(gi->state == rdp_alua_state_from_code(gi->state_code));
		FZ_CHECK(prio >= 0 && prio <= RDP_ALUA_PRIO_AO + RDP_ALUA_PRIO_PREF_BONUS);
		FZ_CHECK(!gi->n_ports == !gi->ports);
		if (gi->n_ports)
			FZ_CHECK(gi->ports == rtpg.port_store + ports);
		ports += gi->n_ports;
		for (unsigned int j = 0; j < i; j++)
			FZ_CHECK(rtpg.groups[j].tpg_id != gi->tpg_id);
	}
	g = rdp_alua_find_group(&rtpg, port);
	if (g) {
		FZ_CHECK(g >= rtpg.groups && g < rtpg.groups + rtpg.n_groups);
		FZ_CHECK(rdp_alua_path_state(&rtpg, port) == g->state);
		if (port->has_tpg)
			FZ_CHECK(g->tpg_id == port->tpg_id);
	} else {
		FZ_CHECK(rdp_alua_path_state(&rtpg, port) == RDP_ALUA_UNKNOWN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t how = fz_u8(&in);
	size_t out_len = how >> 1 ? how >> 1 : RDP_WWID_MAX;
	size_t page_len = fz_u16(&in);
	struct rdp_alua_port port;
	uint8_t *page, *rtpg;
	size_t rtpg_len;
	int rc;

	if (page_len > in.n)
		page_len = in.n;
	page = dup_exact(&in, page_len);
	if ((how & 1) && page_len >= 2)
		page[1] = 0x83;
	rtpg_len = in.n;
	rtpg = dup_exact(&in, rtpg_len);

	check_identity(page, page_len, out_len);
	rc = rdp_alua_port_from_vpd83(page, page_len, &port);
	FZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	if (rc == 0)
		FZ_CHECK(port.has_tpg || port.has_rel_port);
	else
		FZ_CHECK(!port.has_tpg && !port.has_rel_port);
	check_rtpg(rtpg, rtpg_len, &port);
	/* standard INQUIRY: only byte 5 is read */
	rc = rdp_alua_tpgs(page, page_len);
	FZ_CHECK(page_len < 6 ? rc == -EINVAL : rc >= 0 && rc <= 3);

	free(rtpg);
	free(page);
	return 0;
}
