/* LUN identity from the Device Identification VPD page (0x83). The string is the one Linux shows
 * in /sys/class/scsi_device/H:C:T:L/device/wwid (scsi_vpd_lun_id()), so a configured wwid=, what
 * discovery reads from sysfs and what each path answers can be compared byte for byte. Also the
 * logical-unit-only copy of the page that the front end serves whatever path is in use. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <scsi/sg_lib.h>
#include "be.h"

#include <librdp/rdp.h>

#define VPD83_PAGE 0x83
#define VPD83_HDR 4 /* byte 1 page code, bytes 2-3 page length */
#define DESC_HDR 4  /* byte 1 association/type, byte 3 designator length */

/* designator types (SPC-4 table "Designator type") */
enum {
	DESIG_T10 = 0x1,
	DESIG_EUI64 = 0x2,
	DESIG_NAA = 0x3,
	DESIG_NAME = 0x8,
};

static unsigned int desc_assoc(const uint8_t *d)
{
	return (d[1] >> 4) & 0x3;
}

static unsigned int desc_type(const uint8_t *d)
{
	return d[1] & 0xf;
}

/* The descriptor area of a page, or -EINVAL when the buffer is not a VPD 0x83 page or holds less
 * than its header promises: the missing part could hold the designator Linux would have chosen. */
static int vpd83_body(const uint8_t *page, size_t len, const uint8_t **body, int *body_len)
{
	size_t plen;

	if (!page || len < VPD83_HDR || page[1] != VPD83_PAGE)
		return -EINVAL;
	plen = rdp_get_be16(page + 2);
	if (plen > len - VPD83_HDR)
		return -EINVAL;
	*body = page + VPD83_HDR;
	*body_len = (int)plen;
	return 0;
}

/* Next descriptor at *off (start with -1): 1, 0 at the clean end, -EINVAL when a descriptor runs
 * past the page. sg_vpd_dev_id_iter() checks that a descriptor header fits, not its body. */
static int vpd83_next(const uint8_t *body, int body_len, int *off)
{
	int rc;

	if (body_len == 0)
		return 0; /* the iterator calls an empty page abnormal */
	rc = sg_vpd_dev_id_iter(body, body_len, off, -1, -1, -1);
	if (rc == -1)
		return 0;
	if (rc < 0)
		return -EINVAL;
	if (*off + DESC_HDR + body[*off + 3] > body_len)
		return -EINVAL;
	return 1;
}

/* Preference among logical-unit designators, exactly as the kernel's designator_prio(): longer
 * designators clash less. Quirks kept on purpose so we pick what sysfs shows: NAA type 2 (IEEE
 * extended) is not used at all, type 4 is, and locally assigned NAA ties with a T10 vendor id. */
static unsigned int desig_prio(const uint8_t *d)
{
	if (desc_assoc(d) != 0 || d[3] == 0)
		return 0;
	switch (desc_type(d)) {
	case DESIG_NAME:
		return 9;
	case DESIG_NAA:
		switch (d[4] >> 4) {
		case 6:
			return 8; /* IEEE registered extended */
		case 5:
			return 5; /* IEEE registered */
		case 4:
			return 4;
		case 3:
			return 1; /* locally assigned */
		}
		return 0;
	case DESIG_EUI64:
		switch (d[3]) {
		case 16:
			return 7;
		case 12:
			return 6;
		case 8:
			return 3;
		}
		return 0;
	case DESIG_T10:
		return 1;
	}
	return 0;
}

/* The kernel's isprint(): Latin-1, so 0xa0-0xff count as printable. */
static bool kernel_isprint(uint8_t c)
{
	return (c >= 0x20 && c < 0x7f) || c >= 0xa0;
}

/* A T10 vendor id as "%*pE" prints it (ESCAPE_ANY_NP): printable bytes as they are, the usual C
 * escapes for white space, BEL, ESC and NUL, octal for the rest. out needs 4 * n + 1 bytes. */
static void escape_t10(const uint8_t *s, size_t n, char *out)
{
	static const char esc_from[] = "\f\n\r\t\v\a\x1b";
	static const char esc_to[] = "fnrtvae";

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		const char *e = c ? memchr(esc_from, c, sizeof(esc_from) - 1) : NULL;

		if (kernel_isprint(c)) {
			*out++ = (char)c;
		} else if (e) {
			*out++ = '\\';
			*out++ = esc_to[e - esc_from];
		} else if (!c) {
			*out++ = '\\';
			*out++ = '0';
		} else {
			out += sprintf(out, "\\%03o", (unsigned int)c);
		}
	}
	*out = '\0';
}

static void hex_lower(const uint8_t *s, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[s[i] >> 4];
		*out++ = digits[s[i] & 0xf];
	}
	*out = '\0';
}

int rdp_wwid_from_vpd83(const uint8_t *page, size_t len, char *out, size_t out_len)
{
	/* "t10." and a 255-byte id with every byte escaped to four characters */
	char id[4 + 255 * 4 + 1];
	const uint8_t *body, *best = NULL;
	unsigned int best_prio = 0, best_len = 0;
	int body_len, off = -1, rc;

	if (!out || !out_len)
		return -EINVAL;
	out[0] = '\0';
	rc = vpd83_body(page, len, &body, &body_len);
	if (rc < 0)
		return rc;

	/* Same walk as scsi_vpd_lun_id(): a later designator of equal preference replaces an
	 * earlier one; text designators (T10, name string) only when not shorter. */
	while ((rc = vpd83_next(body, body_len, &off)) > 0) {
		const uint8_t *d = body + off;
		unsigned int prio = desig_prio(d);

		if (!prio || best_prio > prio)
			continue;
		switch (desc_type(d)) {
		case DESIG_T10:
		case DESIG_NAME:
			/* (the kernel demotes a name string longer than its buffer; sysfs passes a
			 * page, so that never happens and is not copied here) */
			if (best_len > d[3])
				break;
			best = d;
			best_prio = prio;
			best_len = d[3];
			break;
		case DESIG_NAA:
			/* the kernel takes the preference of an NAA of odd length but prints
			 * nothing for it, so the id chosen before stays: keep that quirk */
			if (d[3] == 8 || d[3] == 16)
				best = d;
			best_prio = prio;
			best_len = d[3];
			break;
		default: /* EUI-64: prio is only non-zero for 8, 12 and 16 bytes */
			best = d;
			best_prio = prio;
			best_len = d[3];
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (!best)
		return -ENODATA;

	switch (desc_type(best)) {
	case DESIG_T10:
		memcpy(id, "t10.", 4);
		escape_t10(best + DESC_HDR, best[3], id + 4);
		break;
	case DESIG_EUI64:
		memcpy(id, "eui.", 4);
		hex_lower(best + DESC_HDR, best[3], id + 4);
		break;
	case DESIG_NAA:
		memcpy(id, "naa.", 4);
		hex_lower(best + DESC_HDR, best[3], id + 4);
		break;
	default:
		/* SCSI name string: UTF-8, NUL-terminated and padded to a multiple of four. The
		 * kernel copies all of it, padding included; the id is the text up to the NUL. */
		memcpy(id, best + DESC_HDR, best[3]);
		id[best[3]] = '\0';
		break;
	}
	if (!id[0])
		return -ENODATA; /* a name string of NULs names nothing */
	if (strlen(id) >= out_len)
		return -ERANGE;
	strcpy(out, id);
	return 0;
}

size_t rdp_vpd83_lu_only(uint8_t *page, size_t len)
{
	size_t end, rd = VPD83_HDR, wr = VPD83_HDR;

	if (!page || len < VPD83_HDR || page[1] != VPD83_PAGE)
		return 0;
	end = VPD83_HDR + rdp_get_be16(page + 2);
	if (end > len)
		end = len; /* a page cut short by the allocation length: keep what is whole */

	/* A plain walk rather than sg_vpd_dev_id_iter(): the iterator re-reads the length byte of
	 * the descriptor it returned last, which the compaction below may already have overwritten.
	 */
	while (rd + DESC_HDR <= end) {
		size_t dlen = DESC_HDR + page[rd + 3];

		if (rd + dlen > end)
			break;
		if (desc_assoc(page + rd) == 0) {
			memmove(page + wr, page + rd, dlen);
			wr += dlen;
		}
		rd += dlen;
	}
	/* do not leave port names behind the new end for a caller that sends the whole buffer */
	memset(page + wr, 0, end - wr);
	rdp_put_be16((uint16_t)(wr - VPD83_HDR), page + 2);
	return wr;
}
