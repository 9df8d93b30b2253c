/* ALUA decoding for path grouping: builds the REPORT TARGET PORT GROUPS CDB, parses its answer
 * and the port designators of VPD 0x83, and turns a path's group into a state and a priority.
 * Also the gateway's own side, the port designators and RTPG answer it serves as one of several
 * ports. Pure functions: every buffer comes from a path through the engine, so every length is
 * checked. */
#include <errno.h>
#include <string.h>

#include <scsi/sg_lib.h>
#include <scsi/sg_unaligned.h>

#include "alua.h"

#define MAINTENANCE_IN 0xa3
#define SA_REPORT_TPGS 0x0a
#define PDF_EXTENDED 0x20 /* CDB byte 1 bits 7:5: parameter data format 001b */

#define RTPG_HDR 4	    /* bytes 0-3: return data length */
#define RTPG_EXT_HDR 8	    /* plus format type, implicit transition time, 2 reserved */
#define RTPG_FMT_LEN_ONLY 0 /* byte 4 bits 6:4 */
#define RTPG_FMT_EXTENDED 1
#define TPG_DESC_HDR 8 /* state, supported, tpg id, reserved, status, vendor, reserved, count */
#define TPG_PORT_LEN 4 /* 2 reserved, relative target port id */

#define VPD83_PAGE 0x83
#define VPD83_HDR 4
#define DESC_HDR 4
#define ASSOC_TARGET_PORT 1
#define DESIG_REL_PORT 0x4
#define DESIG_TPG 0x5
#define DESIG_PORT_LEN 4 /* 2 reserved, 16-bit id */

/* sg_get_unaligned_be32() shifts a promoted int by 24, undefined for a first byte >= 0x80, and a
 * target chooses that byte here. */
static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *rdp_alua_state_name(enum rdp_alua_state state)
{
	switch (state) {
	case RDP_ALUA_AO:
		return "active/optimized";
	case RDP_ALUA_ANO:
		return "active/non-optimized";
	case RDP_ALUA_STANDBY:
		return "standby";
	case RDP_ALUA_UNAVAILABLE:
		return "unavailable";
	case RDP_ALUA_LBA_DEPENDENT:
		return "lba-dependent";
	case RDP_ALUA_OFFLINE:
		return "offline";
	case RDP_ALUA_TRANSITIONING:
		return "transitioning";
	case RDP_ALUA_UNKNOWN:
		break;
	}
	return "unknown";
}

enum rdp_alua_state rdp_alua_state_from_code(uint8_t code)
{
	switch (code) {
	case RDP_ALUA_AO:
	case RDP_ALUA_ANO:
	case RDP_ALUA_STANDBY:
	case RDP_ALUA_UNAVAILABLE:
	case RDP_ALUA_LBA_DEPENDENT:
	case RDP_ALUA_OFFLINE:
	case RDP_ALUA_TRANSITIONING:
		return (enum rdp_alua_state)code;
	}
	return RDP_ALUA_UNKNOWN;
}

int rdp_alua_tpgs(const uint8_t *inq, size_t len)
{
	if (!inq || len < 6)
		return -EINVAL;
	return (inq[5] >> 4) & 0x3;
}

void rdp_alua_rtpg_cdb(uint8_t cdb[RDP_ALUA_RTPG_CDB_LEN], uint32_t alloc_len, bool extended)
{
	memset(cdb, 0, RDP_ALUA_RTPG_CDB_LEN);
	cdb[0] = MAINTENANCE_IN;
	cdb[1] = SA_REPORT_TPGS | (extended ? PDF_EXTENDED : 0);
	sg_put_unaligned_be32(alloc_len, cdb + 6);
}

void rdp_alua_rtpg_clear(struct rdp_alua_rtpg *rtpg)
{
	if (!rtpg)
		return;
	g_free(rtpg->groups);
	g_free(rtpg->port_store);
	memset(rtpg, 0, sizeof(*rtpg));
}

/* Walk the descriptors in buf[off, end) once without storing anything: every descriptor must fit
 * whole, and the totals size the two arrays so the second walk cannot overflow them. */
static int rtpg_count(const uint8_t *buf, size_t off, size_t end, unsigned int *n_groups,
		      size_t *n_ports)
{
	*n_groups = 0;
	*n_ports = 0;
	while (off < end) {
		size_t dlen;

		if (end - off < TPG_DESC_HDR)
			return -EINVAL; /* a partial descriptor: some length is wrong */
		dlen = TPG_DESC_HDR + (size_t)buf[off + 7] * TPG_PORT_LEN;
		if (dlen > end - off)
			return -EINVAL; /* the port count claims ports that are not there */
		(*n_groups)++;
		*n_ports += buf[off + 7];
		off += dlen;
	}
	return 0;
}

static bool tpg_listed(const struct rdp_alua_group *groups, unsigned int n, uint16_t id)
{
	for (unsigned int i = 0; i < n; i++)
		if (groups[i].tpg_id == id)
			return true;
	return false;
}

int rdp_alua_parse_rtpg(const uint8_t *buf, size_t len, struct rdp_alua_rtpg *out, size_t *needed)
{
	struct rdp_alua_rtpg r = {0};
	size_t total, off = RTPG_HDR, n_ports, p = 0;
	unsigned int n_groups;
	uint32_t rlen;
	int rc;

	if (needed)
		*needed = 0;
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf || len < RTPG_HDR)
		return -EINVAL;

	/* the cap comes first, so 4 + length cannot wrap a 32-bit size_t */
	rlen = get_be32(buf);
	if (rlen > RDP_ALUA_RTPG_MAX_LEN - RTPG_HDR)
		return -EINVAL;
	total = RTPG_HDR + (size_t)rlen;
	if (total > len) {
		if (needed)
			*needed = total;
		return -EMSGSIZE;
	}

	/* Byte 4 is the format type only when there is a byte 4; in the length-only format it is
	 * the first descriptor's state byte, whose bits 6:4 are reserved and so read as 0. */
	if (total > RTPG_HDR) {
		switch ((buf[4] >> 4) & 0x7) {
		case RTPG_FMT_LEN_ONLY:
			break;
		case RTPG_FMT_EXTENDED:
			if (total < RTPG_EXT_HDR)
				return -EINVAL;
			r.extended = true;
			r.transition_time = buf[5];
			off = RTPG_EXT_HDR;
			break;
		default:
			return -EINVAL;
		}
	}

	rc = rtpg_count(buf, off, total, &n_groups, &n_ports);
	if (rc < 0)
		return rc;
	r.groups = g_new0(struct rdp_alua_group, n_groups);
	r.port_store = g_new0(uint16_t, n_ports);

	while (off < total) {
		const uint8_t *d = buf + off;
		struct rdp_alua_group *g = &r.groups[r.n_groups];

		g->tpg_id = sg_get_unaligned_be16(d + 2);
		/* two descriptors for one group could disagree on its state; believe neither */
		if (tpg_listed(r.groups, r.n_groups, g->tpg_id)) {
			rdp_alua_rtpg_clear(&r);
			return -EINVAL;
		}
		g->state_code = d[0] & 0x0f;
		g->state = rdp_alua_state_from_code(g->state_code);
		g->pref = d[0] & 0x80;
		g->supported = d[1];
		g->status = d[5];
		g->n_ports = d[7];
		g->ports =
		    g->n_ports ? r.port_store + p : NULL; /* no store when no group has ports */
		for (unsigned int i = 0; i < g->n_ports; i++)
			r.port_store[p++] =
			    sg_get_unaligned_be16(d + TPG_DESC_HDR + i * TPG_PORT_LEN + 2);
		r.n_groups++;
		off += TPG_DESC_HDR + (size_t)g->n_ports * TPG_PORT_LEN;
	}
	*out = r;
	return 0;
}

int rdp_alua_port_from_vpd83(const uint8_t *page, size_t len, struct rdp_alua_port *out)
{
	const uint8_t *body;
	int body_len, off = -1, rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!page || len < VPD83_HDR || page[1] != VPD83_PAGE)
		return -EINVAL;
	body_len = sg_get_unaligned_be16(page + 2);
	if ((size_t)body_len > len - VPD83_HDR)
		return -EINVAL; /* cut short: the missing part may hold the port designators */
	body = page + VPD83_HDR;
	if (body_len == 0)
		return -ENOENT; /* the iterator calls an empty page abnormal */

	/* Every descriptor is visited, not only the matching ones, so that one running past the
	 * page is caught: sg_vpd_dev_id_iter() checks that a header fits, not its body. */
	while ((rc = sg_vpd_dev_id_iter(body, body_len, &off, -1, -1, -1)) == 0) {
		const uint8_t *d = body + off;
		unsigned int assoc = (d[1] >> 4) & 0x3, type = d[1] & 0xf;
		uint16_t id;

		if (off + DESC_HDR + d[3] > body_len)
			goto invalid;
		if (assoc != ASSOC_TARGET_PORT || (type != DESIG_REL_PORT && type != DESIG_TPG))
			continue;
		if (d[3] != DESIG_PORT_LEN)
			goto invalid;
		id = sg_get_unaligned_be16(d + DESC_HDR + 2);
		if (type == DESIG_TPG) {
			/* one path is one port in one group: two cannot place it */
			if (out->has_tpg && out->tpg_id != id)
				goto invalid;
			out->has_tpg = true;
			out->tpg_id = id;
		} else {
			if (out->has_rel_port && out->rel_port != id)
				goto invalid;
			out->has_rel_port = true;
			out->rel_port = id;
		}
	}
	if (rc != -1)
		goto invalid;
	if (!out->has_tpg && !out->has_rel_port)
		return -ENOENT;
	return 0;

invalid:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

static bool group_has_port(const struct rdp_alua_group *g, uint16_t rel_port)
{
	for (unsigned int i = 0; i < g->n_ports; i++)
		if (g->ports[i] == rel_port)
			return true;
	return false;
}

const struct rdp_alua_group *rdp_alua_find_group(const struct rdp_alua_rtpg *rtpg,
						 const struct rdp_alua_port *port)
{
	const struct rdp_alua_group *found = NULL;

	if (!rtpg || !port)
		return NULL;
	/* The group id is what the target says this port belongs to; a relative port found in
	 * another group of the answer would contradict it, so it is not consulted. */
	if (port->has_tpg) {
		for (unsigned int i = 0; i < rtpg->n_groups; i++)
			if (rtpg->groups[i].tpg_id == port->tpg_id)
				return &rtpg->groups[i];
		return NULL;
	}
	if (!port->has_rel_port)
		return NULL;
	for (unsigned int i = 0; i < rtpg->n_groups; i++) {
		if (!group_has_port(&rtpg->groups[i], port->rel_port))
			continue;
		if (found)
			return NULL; /* in two groups: which state applies is anyone's guess */
		found = &rtpg->groups[i];
	}
	return found;
}

enum rdp_alua_state rdp_alua_path_state(const struct rdp_alua_rtpg *rtpg,
					const struct rdp_alua_port *port)
{
	const struct rdp_alua_group *g = rdp_alua_find_group(rtpg, port);

	return g ? g->state : RDP_ALUA_UNKNOWN;
}

/* ---- the gateway's own ports ---- */

#define CODE_SET_BINARY 0x1

static void port_designator(uint8_t *d, unsigned int type, uint16_t id)
{
	memset(d, 0, DESC_HDR + DESIG_PORT_LEN);
	d[0] = CODE_SET_BINARY; /* protocol identifier 0: PIV 0 says it is not meaningful */
	d[1] = (uint8_t)(ASSOC_TARGET_PORT << 4 | type);
	d[3] = DESIG_PORT_LEN;
	sg_put_unaligned_be16(id, d + DESC_HDR + 2);
}

const char *rdp_target_port_problem(unsigned int port, unsigned int ports)
{
	if (ports > RDP_TARGET_PORTS_MAX)
		return "more target ports than " G_STRINGIFY(RDP_TARGET_PORTS_MAX);
	if (port > ports)
		return "target_port is not one of the target_ports";
	if (!port && ports > 1)
		return "target_ports > 1 needs this gateway's target_port";
	return NULL;
}

size_t rdp_alua_vpd83_add_port(uint8_t *page, size_t len, size_t size, uint16_t port)
{
	size_t end;

	if (!page || !port || len < VPD83_HDR || page[1] != VPD83_PAGE)
		return 0;
	end = VPD83_HDR + sg_get_unaligned_be16(page + 2);
	if (end != len || end + RDP_ALUA_VPD83_PORT_LEN > size ||
	    end + RDP_ALUA_VPD83_PORT_LEN - VPD83_HDR > 0xffff)
		return 0;
	port_designator(page + end, DESIG_REL_PORT, port);
	port_designator(page + end + DESC_HDR + DESIG_PORT_LEN, DESIG_TPG, port);
	end += RDP_ALUA_VPD83_PORT_LEN;
	sg_put_unaligned_be16((uint16_t)(end - VPD83_HDR), page + 2);
	return end;
}

size_t rdp_alua_gateway_rtpg(unsigned int ports, unsigned int own, bool own_usable,
			     bool extended, uint8_t buf[RDP_ALUA_GATEWAY_RTPG_MAX])
{
	size_t off = extended ? RTPG_EXT_HDR : RTPG_HDR;

	if (!ports || ports > RDP_ALUA_GATEWAY_PORTS_MAX || own > ports)
		return 0;
	memset(buf, 0, RDP_ALUA_GATEWAY_RTPG_MAX);
	if (extended)
		buf[4] = RTPG_FMT_EXTENDED << 4; /* implicit transition time (byte 5) 0 */
	for (unsigned int id = 1; id <= ports; id++) {
		uint8_t *d = buf + off;

		/* PREF 0: no gateway is better than another */
		d[0] = id == own && !own_usable ? RDP_ALUA_UNAVAILABLE : RDP_ALUA_AO;
		d[1] = RDP_ALUA_SUP_AO | RDP_ALUA_SUP_UNAVAILABLE;
		sg_put_unaligned_be16((uint16_t)id, d + 2);
		d[7] = 1;
		sg_put_unaligned_be16((uint16_t)id, d + TPG_DESC_HDR + 2);
		off += TPG_DESC_HDR + TPG_PORT_LEN;
	}
	sg_put_unaligned_be32((uint32_t)(off - RTPG_HDR), buf);
	return off;
}

int rdp_alua_priority(enum rdp_alua_state state, bool pref)
{
	switch (state) {
	case RDP_ALUA_AO:
		return RDP_ALUA_PRIO_AO;
	case RDP_ALUA_ANO:
		return RDP_ALUA_PRIO_ANO + (pref ? RDP_ALUA_PRIO_PREF_BONUS : 0);
	case RDP_ALUA_LBA_DEPENDENT:
		return RDP_ALUA_PRIO_LBA_DEPENDENT + (pref ? RDP_ALUA_PRIO_PREF_BONUS : 0);
	case RDP_ALUA_STANDBY:
		return RDP_ALUA_PRIO_STANDBY;
	case RDP_ALUA_UNAVAILABLE:
	case RDP_ALUA_OFFLINE:
	case RDP_ALUA_TRANSITIONING:
	case RDP_ALUA_UNKNOWN:
		break;
	}
	return RDP_ALUA_PRIO_NONE;
}
