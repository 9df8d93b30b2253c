/* The gateway's own answers: what the initiator sees of the LUN must not change when the serving
 * path changes, and it must never reach past the size the backstore was created with. Identity and
 * capacity are answered from data read once at attach; block-addressed commands are range-checked;
 * everything else is passed through. docs/commands.md has the per-opcode table. */
#include <string.h>

#include "be.h"

#include "lun-internal.h"

enum {
	SK_NOT_READY = 0x02,
	SK_ILLEGAL_REQUEST = 0x05,
};

void rdp_cmd_set_sense(struct rdp_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
	/* the gateway's own error: no data moved (finish() clears a data-in buffer) */
	cmd->resid = (int32_t)MIN(cmd->xfer_len, (size_t)INT32_MAX);
	/* fixed format, current error */
	memset(cmd->sense, 0, 18);
	cmd->sense[0] = 0x70;
	cmd->sense[2] = key;
	cmd->sense[7] = 10;
	cmd->sense[12] = asc;
	cmd->sense[13] = ascq;
	cmd->sense_len = 18;
	cmd->status = RDP_SAM_CHECK_CONDITION;
}

size_t rdp_iov_copy_to(const struct iovec *iov, unsigned int cnt, const void *src, size_t len)
{
	size_t done = 0;
	for (unsigned int i = 0; i < cnt && done < len; i++) {
		size_t n = MIN(iov[i].iov_len, len - done);
		memcpy(iov[i].iov_base, (const uint8_t *)src + done, n);
		done += n;
	}
	return done;
}

/* len bytes between buf and offset off of the iovec list, into the list when to_iov; returns
 * how many there were room for. */
static size_t iov_copy(const struct iovec *iov, unsigned int cnt, size_t off, void *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;
	for (unsigned int i = 0; i < cnt && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = MIN(iov[i].iov_len - off, len - done);
		uint8_t *at = (uint8_t *)iov[i].iov_base + off, *b = (uint8_t *)buf + done;
		memcpy(to_iov ? at : b, to_iov ? b : at, n);
		done += n;
		off = 0;
	}
	return done;
}

static size_t iov_copy_at(void *dst, size_t off, size_t len, const struct iovec *iov,
			  unsigned int cnt)
{
	return iov_copy(iov, cnt, off, dst, len, false);
}

static size_t iov_copy_to_at(const struct iovec *iov, unsigned int cnt, size_t off, const void *src,
			     size_t len)
{
	return iov_copy(iov, cnt, off, (void *)src, len, true);
}

static size_t iov_copy_from(void *dst, size_t len, const struct iovec *iov, unsigned int cnt)
{
	return iov_copy_at(dst, 0, len, iov, cnt);
}

/* Data direction by opcode (SPC-4/SBC-3). Commands not listed may still pass when they carry no
 * data; with data we would have to guess the direction, and a wrong guess corrupts, so no. */
int rdp_cdb_dir(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case 0x03: /* REQUEST SENSE */
	case 0x08: /* READ(6) */
	case 0x12: /* INQUIRY */
	case 0x1a: /* MODE SENSE(6) */
	case 0x1c: /* RECEIVE DIAGNOSTIC RESULTS */
	case 0x25: /* READ CAPACITY(10) */
	case 0x28: /* READ(10) */
	case 0x37: /* READ DEFECT DATA(10) */
	case 0x3c: /* READ BUFFER */
	case 0x3e: /* READ LONG(10) */
	case 0x4d: /* LOG SENSE */
	case 0x5a: /* MODE SENSE(10) */
	case 0x5e: /* PERSISTENT RESERVE IN */
	case 0x84: /* RECEIVE COPY RESULTS */
	case 0x86: /* ACCESS CONTROL IN */
	case 0x88: /* READ(16) */
	case 0x8c: /* READ ATTRIBUTE */
	case 0x9e: /* SERVICE ACTION IN(16): READ CAPACITY(16), GET LBA STATUS */
	case 0xa0: /* REPORT LUNS */
	case 0xa3: /* MAINTENANCE IN: REPORT SUPPORTED OPCODES ... */
	case 0xa8: /* READ(12) */
	case 0xb7: /* READ DEFECT DATA(12) */
		return RDP_DIR_FROM_DEV;
	case 0x04: /* FORMAT UNIT */
	case 0x0a: /* WRITE(6) */
	case 0x15: /* MODE SELECT(6) */
	case 0x1d: /* SEND DIAGNOSTIC */
	case 0x2a: /* WRITE(10) */
	case 0x2e: /* WRITE AND VERIFY(10) */
	case 0x2f: /* VERIFY(10) with BYTCHK */
	case 0x3b: /* WRITE BUFFER */
	case 0x3f: /* WRITE LONG(10) */
	case 0x41: /* WRITE SAME(10) */
	case 0x42: /* UNMAP */
	case 0x4c: /* LOG SELECT */
	case 0x55: /* MODE SELECT(10) */
	case 0x5f: /* PERSISTENT RESERVE OUT */
	case 0x83: /* EXTENDED COPY */
	case 0x89: /* COMPARE AND WRITE */
	case 0x8a: /* WRITE(16) */
	case 0x8e: /* WRITE AND VERIFY(16) */
	case 0x8f: /* VERIFY(16) with BYTCHK */
	case 0x93: /* WRITE SAME(16) */
	case 0xa4: /* MAINTENANCE OUT */
	case 0xaa: /* WRITE(12) */
	case 0xae: /* WRITE AND VERIFY(12) */
	case 0xaf: /* VERIFY(12) with BYTCHK */
		return RDP_DIR_TO_DEV;
	case 0x7f: /* 32-byte CDBs: READ(32) reads, the others carry data out */
		return rdp_get_be16(cdb + 8) == 0x0009 ? RDP_DIR_FROM_DEV : RDP_DIR_TO_DEV;
	default:
		return -1;
	}
}

/* LBA and block count of a block-addressed command; false when the opcode has none. */
static bool cdb_lba_range(const uint8_t *cdb, uint64_t *lba, uint64_t *nblocks)
{
	switch (cdb[0]) {
	case 0x08: /* READ(6), WRITE(6): 0 blocks means 256 */
	case 0x0a:
		*lba = rdp_get_be24(cdb + 1) & 0x1fffff;
		*nblocks = cdb[4] ? cdb[4] : 256;
		return true;
	case 0x28: case 0x2a: case 0x2e: case 0x2f: case 0x34: case 0x35: case 0x41:
		*lba = rdp_get_be32(cdb + 2);
		*nblocks = rdp_get_be16(cdb + 7);
		return true;
	case 0xa8: case 0xaa: case 0xae: case 0xaf:
		*lba = rdp_get_be32(cdb + 2);
		*nblocks = rdp_get_be32(cdb + 6);
		return true;
	case 0x88: case 0x8a: case 0x8e: case 0x8f: case 0x90: case 0x91: case 0x93:
		*lba = rdp_get_be64(cdb + 2);
		*nblocks = rdp_get_be32(cdb + 10);
		return true;
	case 0x89: /* COMPARE AND WRITE */
		*lba = rdp_get_be64(cdb + 2);
		*nblocks = cdb[13];
		return true;
	case 0x8b: /* ORWRITE(16) */
		*lba = rdp_get_be64(cdb + 2);
		*nblocks = rdp_get_be32(cdb + 10);
		return true;
	case 0x9a: case 0x9c: /* WRITE STREAM(16), WRITE ATOMIC(16): a 16-bit length at 12 */
		*lba = rdp_get_be64(cdb + 2);
		*nblocks = rdp_get_be16(cdb + 12);
		return true;
	case 0x7f: /* variable length: READ/VERIFY/WRITE/WRITE SAME(32) */
		*lba = rdp_get_be64(cdb + 12);
		*nblocks = rdp_get_be32(cdb + 28);
		return true;
	/* One LBA and no block count: the block the command names must exist. Their data
	 * length (a byte count, or none) moves no other block. */
	case 0x3e: case 0x3f: /* READ LONG(10), WRITE LONG(10) */
		*lba = rdp_get_be32(cdb + 2);
		*nblocks = 1;
		return true;
	case 0x9e: /* READ LONG(16), GET LBA STATUS(16) */
	case 0x9f: /* WRITE LONG(16) */
		if ((cdb[1] & 0x1f) != 0x11 && (cdb[1] & 0x1f) != 0x12)
			return false;
		if (cdb[0] == 0x9f && (cdb[1] & 0x1f) != 0x11)
			return false;
		*lba = rdp_get_be64(cdb + 2);
		*nblocks = 1;
		return true;
	case 0x94: case 0x95: /* ZBC OUT, ZBC IN: the zone's first LBA */
		*lba = rdp_get_be64(cdb + 2);
		*nblocks = 1;
		return true;
	default:
		return false;
	}
}

/* Variable-length CDBs (7Fh) we know the LBA fields of; any other service action is refused: it
 * could address the backing LUN beyond the backstore without our knowing. */
static bool cdb32_known(const uint8_t *cdb)
{
	switch (rdp_get_be16(cdb + 8)) {
	case 0x0009: /* READ(32) */
	case 0x000a: /* VERIFY(32) */
	case 0x000b: /* WRITE(32) */
	case 0x000c: /* WRITE AND VERIFY(32) */
	case 0x000d: /* WRITE SAME(32) */
		return true;
	default:
		return false;
	}
}

/*
 * Bytes of data a block-addressed command moves by its CDB, for n blocks of bs bytes; false when
 * the opcode has no such rule (BYTCHK 10b is reserved: the LUN answers it). The kernel hands us
 * the buffer the initiator gave, not the length the CDB asks for, and passes a mismatch on: a
 * path would then move more or fewer bytes than the buffer holds, and an HBA may report the
 * overrun as a transport error, which would fail a healthy path.
 */
static bool cdb_data_len(const uint8_t *cdb, uint64_t n, uint32_t bs, uint64_t *len)
{
	uint8_t op = cdb[0];
	uint8_t flags = cdb[1];

	if (op == 0x7f) {
		/* the 32-byte forms, as their 16-byte twins; their flags are in byte 10 */
		static const uint8_t twin[] = {
		    [0x9] = 0x88, [0xa] = 0x8f, [0xb] = 0x8a, [0xc] = 0x8e, [0xd] = 0x93};
		uint16_t sa = rdp_get_be16(cdb + 8);
		if (sa >= G_N_ELEMENTS(twin) || !twin[sa])
			return false;
		op = twin[sa];
		flags = cdb[10];
	}
	switch (op) {
	case 0x08: case 0x28: case 0xa8: case 0x88: /* READ */
	case 0x0a: case 0x2a: case 0xaa: case 0x8a: /* WRITE */
	case 0x2e: case 0xae: case 0x8e:	    /* WRITE AND VERIFY */
		*len = n * bs;
		return true;
	case 0x89: /* COMPARE AND WRITE: the compare data, then the write data */
		*len = 2 * n * bs;
		return true;
	case 0x2f: case 0xaf: case 0x8f: /* VERIFY: BYTCHK says what is sent */
		switch ((flags >> 1) & 3) {
		case 0:
			*len = 0;
			return true;
		case 1:
			*len = n * bs;
			return true;
		case 3:
			*len = bs;
			return true;
		default:
			return false;
		}
	case 0x41: /* WRITE SAME(10): one block */
		*len = bs;
		return true;
	case 0x93: /* WRITE SAME(16/32): one block, none with NDOB */
		*len = flags & 0x01 ? 0 : bs;
		return true;
	default:
		return false;
	}
}

/* A read may come with a larger buffer than it fills (the residual says how much was read);
 * data sent must be exactly what the CDB announces. */
static bool data_len_ok(const struct rdp_lun *lun, const struct rdp_cmd *cmd, uint64_t n)
{
	uint64_t want;

	if (!cdb_data_len(cmd->cdb, n, lun->fe_block_size, &want))
		return true;
	if (rdp_cdb_dir(cmd->cdb) == RDP_DIR_FROM_DEV)
		return cmd->xfer_len >= want;
	return cmd->xfer_len == want;
}

/* RDPROTECT/WRPROTECT/VRPROTECT (byte 1, bits 7:5) asks for protection information, which a
 * LUN without it enabled must refuse (SBC-4 4.22.2: ILLEGAL REQUEST, INVALID FIELD IN CDB). Some
 * backing LUNs ignore the field and move plain data instead (scsi_debug with dif=0); the
 * gateway answers for them from the LUN's own READ CAPACITY(16) PROT_EN bit. */
static bool protect_refused(const struct rdp_lun *lun, const uint8_t *cdb)
{
	switch (cdb[0]) {
	case 0x28: case 0xa8: case 0x88: case 0x2a: case 0xaa: case 0x8a: case 0x2e: case 0xae:
	case 0x8e: case 0x2f: case 0xaf: case 0x8f: case 0x41: case 0x93: case 0x89: case 0x8b:
		break;
	default:
		return false;
	}
	bool prot_en = lun->rc16.data && lun->rc16.len > 12 && (lun->rc16.data[12] & 0x01);
	return (cdb[1] & 0xe0) && !prot_en;
}

static bool range_ok(const struct rdp_lun *lun, uint64_t lba, uint64_t n)
{
	return lba <= lun->fe_blocks && n <= lun->fe_blocks - lba;
}

/* UNMAP names its ranges in the data-out buffer; each must lie inside the backstore. Every
 * descriptor the list holds is checked, however many (the parameter list length is 16 bits:
 * at most 4095); how many the LUN accepts is the backing LUN's to say (VPD B0). A list that
 * says it holds more than it does is refused: the backing LUN might read past it. */
static bool unmap_ok(const struct rdp_lun *lun, const struct rdp_cmd *cmd)
{
	uint8_t hdr[8], d[16];
	size_t n = iov_copy_from(hdr, MIN(sizeof(hdr), cmd->xfer_len), cmd->iov, cmd->iov_cnt);
	if (n < 8)
		return n == 0;
	size_t dlen = rdp_get_be16(hdr + 2);
	if (dlen > cmd->xfer_len - 8)
		return false;
	for (size_t off = 8; off + 16 <= 8 + dlen; off += 16) {
		if (iov_copy_at(d, off, sizeof(d), cmd->iov, cmd->iov_cnt) < sizeof(d))
			return false;
		if (!range_ok(lun, rdp_get_be64(d), rdp_get_be32(d + 8)))
			return false;
	}
	return true;
}

static void reply_data(struct rdp_cmd *cmd, const void *data, size_t len, size_t alloc_len)
{
	size_t n = rdp_iov_copy_to(cmd->iov, cmd->iov_cnt, data, MIN(len, alloc_len));
	cmd->status = RDP_SAM_GOOD;
	cmd->sense_len = 0;
	cmd->resid = (int32_t)(cmd->xfer_len - n);
}

static void emulate_inquiry(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	size_t alloc = rdp_get_be16(cdb + 3);

	if (!(cdb[1] & 0x01)) {
		if (cdb[2]) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return;
		}
		reply_data(cmd, lun->inq_std.data, lun->inq_std.len, alloc);
		return;
	}
	const struct rdp_page *pg = &lun->vpd[cdb[2]];
	if (!pg->data) {
		rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	reply_data(cmd, pg->data, pg->len, alloc);
}

static void emulate_read_capacity10(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	uint8_t d[8];
	uint64_t last = lun->fe_blocks ? lun->fe_blocks - 1 : 0;
	rdp_put_be32(last > 0xffffffffULL ? 0xffffffffU : (uint32_t)last, d);
	rdp_put_be32(lun->fe_block_size, d + 4);
	reply_data(cmd, d, sizeof(d), sizeof(d));
}

static void emulate_read_capacity16(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	uint8_t d[32] = {0};
	if (lun->rc16.data)
		memcpy(d, lun->rc16.data, MIN(sizeof(d), lun->rc16.len));
	rdp_put_be64(lun->fe_blocks ? lun->fe_blocks - 1 : 0, d);
	rdp_put_be32(lun->fe_block_size, d + 8);
	reply_data(cmd, d, sizeof(d), rdp_get_be32(cmd->cdb + 10));
}

/* REPORT TARGET PORT GROUPS of a gateway that is one of several ports (alua.h): its own group
 * unavailable while no path to the LUN is usable or the LUN refuses it (fenced), as the sense
 * of the commands it fails then (lun.c, fail_no_path and fenced); never sent to a path, whose ports are not the initiator's. The
 * allocation length cuts the data, not its RETURN DATA LENGTH. */
static void emulate_rtpg(const struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	uint8_t d[RDP_ALUA_GATEWAY_RTPG_MAX];
	bool extended = cmd->cdb[1] & 0x20; /* PARAMETER DATA FORMAT 001b */
	size_t len = rdp_alua_gateway_rtpg(lun->target_ports, lun->target_port,
					   rdp_lun_port_available(lun), extended, d);

	reply_data(cmd, d, len, rdp_get_be32(cmd->cdb + 6));
}

/* The commands the gateway refuses whatever their fields and data, by operation code and
 * service action (sa: 0 for opcodes without one): the additional sense code of the refusal
 * (05/asc/00), 0 when the command may go on. The one list for refusing (rdp_frontend_emulate)
 * and for not offering (REPORT SUPPORTED OPERATION CODES, rdp_frontend_answer). */
static uint8_t refusal(const struct rdp_lun *lun, uint8_t op, uint16_t sa)
{
	bool partial = lun->fe_blocks != lun->cap.blocks;

	switch (op) {
	case 0x83: /* EXTENDED COPY */
	case 0x84: /* RECEIVE COPY RESULTS */
		/* Their target and segment descriptors name LUNs by identity and LBA ranges the
		 * backing array would resolve itself: the backing LUN's own identity (which the
		 * gateway shows), other LUNs of that array, blocks past a partial backstore. The
		 * copy would run inside the array, out of the gateway's sight. Refused; the
		 * standard INQUIRY does not claim 3PC, so initiators copy by READ and WRITE. */
		return 0x20;
	case 0x85: /* ATA PASS-THROUGH(16) */
	case 0xa1: /* ATA PASS-THROUGH(12) */
		/* its LBA lies in ATA registers we do not range-check: it could reach any block
		 * of the backing LUN. Refused, data or none. */
		return 0x20;
	case 0x9e:
		/* REPORT REFERRALS names an LBA, REMOVE ELEMENT AND TRUNCATE and RESTORE ELEMENTS
		 * AND REBUILD change the backing LUN's capacity: none is for a pass-through */
		return sa >= 0x10 && sa <= 0x12 ? 0 : 0x24;
	case 0x9f: /* WRITE SCATTERED: its LBA ranges lie in the data-out buffer */
		return sa == 0x12 ? 0x20 : 0;
	case 0xa3: /* REPORT TARGET PORT GROUPS: answered by the gateway when it is one of
		    * several ports (emulate_rtpg()); a single port does not claim TPGS */
		return sa == 0x0a && !lun->target_port ? 0x24 : 0;
	case 0xa4: /* SET TARGET PORT GROUPS: TPGS is implicit at most, every group is AO */
		return sa == 0x0a ? 0x24 : 0;
	case 0x94: /* ZBC OUT: ALL, a zone count, a zone straddling the end, or service actions
		    * on the whole device reach past a partial backstore */
		return partial ? 0x24 : 0;
	case 0x04: /* FORMAT UNIT */
	case 0x48: /* SANITIZE */
		/* they act on the whole backing LUN: only when the backstore is all of it */
		return partial ? 0x20 : 0;
	}
	return 0;
}

/* GET LBA STATUS on a backstore smaller than the backing LUN: the backing LUN describes its own
 * blocks, maybe past the backstore's end, which the initiator must not learn of. Descriptors
 * (16 bytes after an 8-byte header: LBA, count, status) that start past the end go, the one
 * that crosses it is cut to it, and the header's length says what is left. */
static void lba_status_answer(const struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	if (lun->fe_blocks == lun->cap.blocks)
		return;
	size_t got = cmd->xfer_len - (size_t)CLAMP(cmd->resid, 0, (int32_t)cmd->xfer_len);
	uint8_t buf[8 + 16 * 256];
	size_t n = iov_copy_from(buf, MIN(got, sizeof(buf)), cmd->iov, cmd->iov_cnt);
	if (n < 8)
		return;
	size_t keep = 8;
	for (size_t off = 8; off + 16 <= n; off += 16) {
		uint64_t lba = rdp_get_be64(buf + off);
		uint32_t cnt = rdp_get_be32(buf + off + 8);
		if (lba >= lun->fe_blocks)
			break; /* descriptors come in LBA order */
		if (cnt > lun->fe_blocks - lba)
			rdp_put_be32((uint32_t)(lun->fe_blocks - lba), buf + off + 8);
		keep = off + 16;
	}
	rdp_put_be32((uint32_t)(keep - 4), buf);
	memset(buf + keep, 0, n - keep);
	rdp_iov_copy_to(cmd->iov, cmd->iov_cnt, buf, n);
	cmd->resid = (int32_t)(cmd->xfer_len - keep);
}

/* REPORT SUPPORTED OPERATION CODES is the backing LUN's list; the gateway refuses some of what
 * it names (refusal()). All commands (reporting options 0): their descriptors (8 bytes, 20 with
 * a timeouts descriptor) go. One command (1-3): it is reported as not supported. */
static void rsoc_answer(const struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	size_t got = cmd->xfer_len - (size_t)CLAMP(cmd->resid, 0, (int32_t)cmd->xfer_len);
	g_autofree uint8_t *buf = g_malloc(MAX(got, 4));
	size_t n = iov_copy_from(buf, got, cmd->iov, cmd->iov_cnt);
	size_t keep;
	unsigned int options = cdb[2] & 0x07;

	if (n < 4)
		return;
	if (options == 0) {
		uint32_t total = rdp_get_be32(buf);
		size_t end = MIN(n, 4 + (size_t)total), dropped = 0;
		keep = 4;
		for (size_t off = 4; off + 8 <= end;) {
			size_t len = 8 + (buf[off + 5] & 0x02 ? 12 : 0);
			if (off + len > end)
				break;
			uint16_t sa = buf[off + 5] & 0x01 ? rdp_get_be16(buf + off + 2) : 0;
			if (!refusal(lun, buf[off], sa)) {
				memmove(buf + keep, buf + off, len);
				keep += len;
			} else {
				dropped += len;
			}
			off += len;
		}
		/* the whole list's length, less what went: a list cut by the allocation length
		 * still says how long it is */
		rdp_put_be32((uint32_t)(total - MIN(dropped, total)), buf);
		keep = MIN(keep, n);
	} else {
		uint16_t sa = options >= 2 ? rdp_get_be16(cdb + 4) : 0;
		if (!refusal(lun, cdb[3], sa))
			return;
		buf[1] = (uint8_t)((buf[1] & ~0x07) | 0x01); /* SUPPORT 001b: not supported */
		rdp_put_be16(0, buf + 2);
		keep = 4;
	}
	memset(buf + keep, 0, n - keep);
	rdp_iov_copy_to(cmd->iov, cmd->iov_cnt, buf, n);
	cmd->resid = (int32_t)(cmd->xfer_len - keep);
}

/* MODE SENSE's block descriptors give the backing LUN's block count; on a backstore smaller
 * than the backing LUN they say the backstore's, as READ CAPACITY does. Short descriptors
 * (8 bytes: 4-byte count, 0xFFFFFFFF when it does not fit) and long ones (MODE SENSE(10) with
 * LONGLBA: 16 bytes, 8-byte count). */
static void mode_sense_answer(const struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	bool ten = cmd->cdb[0] == 0x5a;
	size_t got = cmd->xfer_len - (size_t)CLAMP(cmd->resid, 0, (int32_t)cmd->xfer_len);
	uint8_t hdr[8];
	size_t hlen = ten ? 8 : 4;

	if (lun->fe_blocks == lun->cap.blocks ||
	    iov_copy_from(hdr, MIN(got, hlen), cmd->iov, cmd->iov_cnt) < hlen)
		return;
	bool longlba = ten && (hdr[4] & 0x01);
	size_t dlen = ten ? rdp_get_be16(hdr + 6) : hdr[3];
	size_t each = longlba ? 16 : 8;
	for (size_t off = hlen; off + each <= MIN(got, hlen + dlen); off += each) {
		uint8_t d[8];
		if (longlba) {
			rdp_put_be64(lun->fe_blocks, d);
			iov_copy_to_at(cmd->iov, cmd->iov_cnt, off, d, 8);
		} else {
			rdp_put_be32(lun->fe_blocks > 0xfffffffeULL ? 0xffffffffU
								    : (uint32_t)lun->fe_blocks,
				     d);
			iov_copy_to_at(cmd->iov, cmd->iov_cnt, off, d, 4);
		}
	}
}

void rdp_frontend_answer(const struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	if (cdb[0] == 0x1a || cdb[0] == 0x5a)
		mode_sense_answer(lun, cmd);
	if (cdb[0] == 0x9e && (cdb[1] & 0x1f) == 0x12)
		lba_status_answer(lun, cmd);
	else if (cdb[0] == 0xa3 && (cdb[1] & 0x1f) == 0x0c)
		rsoc_answer(lun, cmd);
}

static uint16_t cdb_service_action(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case 0x9e: case 0x9f: case 0xa3: case 0xa4: case 0x94: case 0x48:
		return cdb[1] & 0x1f;
	}
	return 0;
}

bool rdp_frontend_emulate(struct rdp_lun *lun, struct rdp_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint64_t lba, n;
	/* known before any answer: finish() clears what a data-in command did not fill */
	int dir = cmd->xfer_len ? rdp_cdb_dir(cdb) : RDP_DIR_NONE;

	cmd->dir = dir < 0 ? RDP_DIR_NONE : (enum rdp_dir)dir;

	uint8_t asc = refusal(lun, cdb[0], cdb_service_action(cdb));
	if (asc) {
		rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, asc, 0x00);
		return true;
	}
	switch (cdb[0]) {
	case 0x12:
		emulate_inquiry(lun, cmd);
		return true;
	case 0x25:
		emulate_read_capacity10(lun, cmd);
		return true;
	case 0xa3:
		/* RTPG got past refusal(): this gateway is one of several ports */
		if ((cdb[1] & 0x1f) == 0x0a) {
			emulate_rtpg(lun, cmd);
			return true;
		}
		break;
	case 0x9e:
		switch (cdb[1] & 0x1f) {
		case 0x10:
			emulate_read_capacity16(lun, cmd);
			return true;
		case 0x11: /* READ LONG(16); PBLOCK (byte 14 bit 1) as for READ LONG(10) */
			if ((cdb[14] & 0x02) && lun->fe_blocks != lun->cap.blocks)
				break;
			goto sa_ok;
		case 0x12: /* GET LBA STATUS */
			goto sa_ok;
		default:
			break;
		}
		/* the other service actions: refusal() */
		break;
	sa_ok:
		break;
	case 0x42:
		if (!unmap_ok(lun, cmd)) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x21, 0x00);
			return true;
		}
		break;
	case 0x7f:
		if (cmd->cdb_len < 32 || !cdb32_known(cdb)) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x20, 0x00);
			return true;
		}
		break;
	case 0x9f:
		if ((cdb[1] & 0x1f) == 0x11 && (cdb[1] & 0x20) && lun->fe_blocks != lun->cap.blocks) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return true; /* WRITE LONG(16) with PBLOCK */
		}
		break;
	case 0x3e: /* READ LONG(10), WRITE LONG(10) with PBLOCK: the whole physical block, */
	case 0x3f: /* which may reach past a partial backstore */
		if ((cdb[1] & (cdb[0] == 0x3e ? 0x04 : 0x20)) && lun->fe_blocks != lun->cap.blocks) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return true;
		}
		break;
	default:
		break;
	}

	if (cdb_lba_range(cdb, &lba, &n)) {
		/* WRITE SAME with 0 blocks means "to the end of the backing LUN" */
		bool ws_to_end = (cdb[0] == 0x41 || cdb[0] == 0x93 ||
				  (cdb[0] == 0x7f && rdp_get_be16(cdb + 8) == 0x000d)) &&
				 n == 0;
		if (ws_to_end && lun->fe_blocks != lun->cap.blocks) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return true;
		}
		if (!range_ok(lun, lba, n)) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x21, 0x00);
			return true;
		}
		if (protect_refused(lun, cdb)) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return true;
		}
		if (!data_len_ok(lun, cmd, n)) {
			rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
			return true;
		}
	}

	if (dir < 0) {
		/* data of an opcode we do not know: we would have to guess its direction. Nothing
		 * goes to a path; as a read, finish() clears what the kernel may hand back. */
		rdp_cmd_set_sense(cmd, SK_ILLEGAL_REQUEST, 0x20, 0x00);
		cmd->dir = RDP_DIR_FROM_DEV;
		return true;
	}
	return false;
}
