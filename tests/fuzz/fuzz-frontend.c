/* libFuzzer target for the gateway's own answers (lib/frontend.c): any CDB with any data-out
 * buffer, against any cached INQUIRY/VPD/RC16 data and backstore size. Checks memory safety and
 * the data-safety rule: nothing addressed past the backstore's end is passed through. */
#include <errno.h>

#include "fuzz-input.h"
#include "be.h"
#include "lun-internal.h"

/*
 * Input: byte 0 - bit 0: fe_blocks as a raw u64 (else a u16), bit 1: the backing LUN larger by
 * a u16 (else the same size), bit 2: the gateway is target port 1 of 1 + (bits 7:3) (else the
 * only port); fe_blocks; block size 512 << (u8 % 4); standard INQUIRY (u8 % 97
 * bytes); a byte saying which of VPD 00h/80h/83h/B0h/B1h/B2h and RC16 are cached, each then a
 * length byte and its bytes; the CDB (8 bytes, then the rest of the length its opcode gives);
 * the iovec count (u8 % 5), each a u16 length (% 4097) and its data-out bytes.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IOV 4
#define VARLEN_CDB 0x7f

static const uint8_t cached_vpd[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};

static struct rdp_lun lun;

/* The kernel's scsi_command_size(): the CDB length the ring entry carries. */
static unsigned int kernel_cdb_len(const uint8_t *cdb)
{
	static const uint8_t by_group[8] = {6, 10, 10, 12, 16, 12, 10, 10};

	return cdb[0] == VARLEN_CDB ? 8u + cdb[7] : by_group[cdb[0] >> 5];
}

static void page_from(struct fz_in *in, struct rdp_page *pg, size_t len)
{
	pg->data = malloc(len ? len : 1);
	FZ_CHECK(pg->data);
	pg->len = fz_bytes(in, pg->data, len);
}

static void page_free(struct rdp_page *pg)
{
	free(pg->data);
	pg->data = NULL;
	pg->len = 0;
}

/* LBA and block count of a command that addresses blocks, decoded here from SBC-4 rather than
 * from frontend.c's table. to_end: WRITE SAME with 0 blocks (up to the backing LUN's end). */
static bool sbc_range(const uint8_t *cdb, unsigned int cdb_len, uint64_t *lba, uint64_t *n,
		      bool *to_end)
{
	*to_end = false;
	switch (cdb[0]) {
	case 0x08: /* READ(6), WRITE(6) */
	case 0x0a:
		*lba = rdp_get_be24(cdb + 1) & 0x1fffff;
		*n = cdb[4] ? cdb[4] : 256;
		return true;
	case 0x28: /* READ, WRITE, WRITE AND VERIFY, VERIFY, PRE-FETCH, SYNC CACHE, WS (10) */
	case 0x2a:
	case 0x2e:
	case 0x2f:
	case 0x34:
	case 0x35:
	case 0x41:
		*lba = rdp_get_be32(cdb + 2);
		*n = rdp_get_be16(cdb + 7);
		*to_end = cdb[0] == 0x41 && !*n;
		return true;
	case 0xa8: /* (12) */
	case 0xaa:
	case 0xae:
	case 0xaf:
		*lba = rdp_get_be32(cdb + 2);
		*n = rdp_get_be32(cdb + 6);
		return true;
	case 0x88: /* (16), ORWRITE(16) */
	case 0x8a:
	case 0x8b:
	case 0x8e:
	case 0x8f:
	case 0x90:
	case 0x91:
	case 0x93:
		*lba = rdp_get_be64(cdb + 2);
		*n = rdp_get_be32(cdb + 10);
		*to_end = cdb[0] == 0x93 && !*n;
		return true;
	case 0x89: /* COMPARE AND WRITE */
		*lba = rdp_get_be64(cdb + 2);
		*n = cdb[13];
		return true;
	case 0x9a: /* WRITE STREAM(16), WRITE ATOMIC(16) */
	case 0x9c:
		*lba = rdp_get_be64(cdb + 2);
		*n = rdp_get_be16(cdb + 12);
		return true;
	case 0x3e: /* READ LONG(10), WRITE LONG(10): one block */
	case 0x3f:
		*lba = rdp_get_be32(cdb + 2);
		*n = 1;
		return true;
	case 0x9e: /* READ LONG(16), GET LBA STATUS: one block */
		if ((cdb[1] & 0x1f) != 0x11 && (cdb[1] & 0x1f) != 0x12)
			return false;
		*lba = rdp_get_be64(cdb + 2);
		*n = 1;
		return true;
	case 0x9f: /* WRITE LONG(16) */
		if ((cdb[1] & 0x1f) != 0x11)
			return false;
		*lba = rdp_get_be64(cdb + 2);
		*n = 1;
		return true;
	case 0x94: /* ZBC OUT, ZBC IN: the zone's first LBA */
	case 0x95:
		*lba = rdp_get_be64(cdb + 2);
		*n = 1;
		return true;
	case VARLEN_CDB: /* READ, VERIFY, WRITE, WRITE AND VERIFY, WRITE SAME, ORWRITE (32) */
		if (cdb_len < 32 || rdp_get_be16(cdb + 8) < 0x0009 ||
		    rdp_get_be16(cdb + 8) > 0x000e)
			return false;
		*lba = rdp_get_be64(cdb + 12);
		*n = rdp_get_be32(cdb + 28);
		*to_end = rdp_get_be16(cdb + 8) == 0x000d && !*n;
		return true;
	}
	return false;
}

static bool in_range(uint64_t lba, uint64_t n)
{
	return lba <= lun.fe_blocks && n <= lun.fe_blocks - lba;
}

/* UNMAP passed through: every descriptor the device will read lies inside the backstore. */
static void check_unmap(const struct rdp_cmd *cmd)
{
	uint8_t buf[8 + 16 * 64];
	size_t n = 0, dlen;

	for (unsigned int i = 0; i < cmd->iov_cnt && n < sizeof(buf); i++) {
		size_t k = MIN(cmd->iov[i].iov_len, sizeof(buf) - n);

		memcpy(buf + n, cmd->iov[i].iov_base, k);
		n += k;
	}
	if (n < 8)
		return;
	dlen = MIN((size_t)rdp_get_be16(buf + 2), n - 8);
	for (size_t off = 8; off + 16 <= 8 + dlen; off += 16)
		FZ_CHECK(in_range(rdp_get_be64(buf + off), rdp_get_be32(buf + off + 8)));
}

struct run {
	bool done;
	struct rdp_cmd cmd;
	uint8_t *buf[MAX_IOV];
	struct iovec iov[MAX_IOV];
};

/* One call on a fresh copy of the command; fill goes into the CDB bytes past its length. */
static void run_once(struct run *r, const uint8_t *cdb, unsigned int cdb_len,
		     const struct iovec *iov, unsigned int iov_cnt, uint8_t fill)
{
	memset(&r->cmd, 0, sizeof(r->cmd));
	memset(r->cmd.cdb, fill, sizeof(r->cmd.cdb));
	memcpy(r->cmd.cdb, cdb, cdb_len);
	r->cmd.cdb_len = (uint8_t)cdb_len;
	r->cmd.status = 0xff;
	r->cmd.dir = (enum rdp_dir)0x7f;
	for (unsigned int i = 0; i < iov_cnt; i++) {
		/* exact size: ASan sees a write past a buffer the ring handed out */
		r->buf[i] = malloc(iov[i].iov_len ? iov[i].iov_len : 1);
		FZ_CHECK(r->buf[i]);
		memcpy(r->buf[i], iov[i].iov_base, iov[i].iov_len);
		r->iov[i].iov_base = r->buf[i];
		r->iov[i].iov_len = iov[i].iov_len;
		r->cmd.xfer_len += iov[i].iov_len;
	}
	r->cmd.iov = iov_cnt ? r->iov : NULL;
	r->cmd.iov_cnt = iov_cnt;
	r->done = rdp_frontend_emulate(&lun, &r->cmd);
}

static void check_run(const struct run *r)
{
	const struct rdp_cmd *c = &r->cmd;
	uint64_t lba, n;
	bool to_end;

	if (r->done) {
		FZ_CHECK(c->status == RDP_SAM_GOOD || c->status == RDP_SAM_CHECK_CONDITION);
		if (c->status == RDP_SAM_GOOD) {
			FZ_CHECK(c->sense_len == 0);
			FZ_CHECK(c->resid >= 0 && (size_t)c->resid <= c->xfer_len);
		} else {
			FZ_CHECK(c->sense_len == 18 && c->sense[0] == 0x70);
			FZ_CHECK(c->sense[2] == 0x02 || c->sense[2] == 0x05);
		}
		return;
	}
	FZ_CHECK(c->status == 0xff); /* not answered: left for the path */
	FZ_CHECK(c->dir == RDP_DIR_NONE || c->dir == RDP_DIR_TO_DEV || c->dir == RDP_DIR_FROM_DEV);
	FZ_CHECK((c->dir == RDP_DIR_NONE) == (c->xfer_len == 0));
	/* The general rule, data or none (WRITE LONG, WRITE SAME with NDOB, GET LBA STATUS reach
	 * blocks without a buffer): nothing addressed past the backstore's end goes to a path. */
	if (sbc_range(c->cdb, c->cdb_len, &lba, &n, &to_end)) {
		if (to_end)
			FZ_CHECK(lun.fe_blocks == lun.cap.blocks && lba <= lun.fe_blocks);
		else
			FZ_CHECK(in_range(lba, n));
	}
	if (c->cdb[0] == 0x42)
		check_unmap(c);
	/* ATA PASS-THROUGH: its LBA is in ATA registers, never range-checked, never passed */
	FZ_CHECK(c->cdb[0] != 0x85 && c->cdb[0] != 0xa1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t how = fz_u8(&in), have;
	uint8_t cdb[8 + 255] = {0}, *bufs[MAX_IOV] = {0};
	struct iovec iov[MAX_IOV];
	unsigned int cdb_len, iov_cnt;
	struct run a, b;

	lun.fe_blocks = (how & 1) ? fz_u64(&in) : fz_u16(&in);
	lun.cap.blocks = lun.fe_blocks;
	if (how & 2) {
		uint16_t more = fz_u16(&in);

		lun.cap.blocks =
		    lun.fe_blocks + more >= lun.fe_blocks ? lun.fe_blocks + more : UINT64_MAX;
	}
	lun.target_port = how & 4 ? 1 : 0;
	lun.target_ports = how & 4 ? 1u + (how >> 3) : 1;
	lun.fe_block_size = 512u << (fz_u8(&in) % 4);
	lun.cap.block_size = lun.fe_block_size;
	page_from(&in, &lun.inq_std, fz_u8(&in) % 97);
	have = fz_u8(&in);
	for (unsigned int i = 0; i < G_N_ELEMENTS(cached_vpd); i++)
		if (have & (1u << i))
			page_from(&in, &lun.vpd[cached_vpd[i]], fz_u8(&in));
	if (have & 0x40)
		page_from(&in, &lun.rc16, fz_u8(&in) % 33);

	fz_bytes(&in, cdb, 8);
	cdb_len = kernel_cdb_len(cdb);
	if (cdb_len > 8)
		fz_bytes(&in, cdb + 8, cdb_len - 8);
	if (cdb_len > RDP_CDB_MAX)
		goto out; /* the ring refuses it before the engine sees it */

	iov_cnt = fz_u8(&in) % (MAX_IOV + 1);
	for (unsigned int i = 0; i < iov_cnt; i++) {
		iov[i].iov_len = fz_u16(&in) % 4097;
		bufs[i] = malloc(iov[i].iov_len ? iov[i].iov_len : 1);
		FZ_CHECK(bufs[i]);
		fz_bytes(&in, bufs[i], iov[i].iov_len);
		iov[i].iov_base = bufs[i];
	}

	/* twice, with different bytes past the CDB's length: they must not matter */
	run_once(&a, cdb, cdb_len, iov, iov_cnt, 0x00);
	run_once(&b, cdb, cdb_len, iov, iov_cnt, 0xff);
	check_run(&a);
	FZ_CHECK(a.done == b.done && a.cmd.status == b.cmd.status && a.cmd.dir == b.cmd.dir);
	FZ_CHECK(a.cmd.sense_len == b.cmd.sense_len && a.cmd.resid == b.cmd.resid);
	FZ_CHECK(memcmp(a.cmd.sense, b.cmd.sense, a.cmd.sense_len) == 0);
	for (unsigned int i = 0; i < iov_cnt; i++) {
		FZ_CHECK(memcmp(a.buf[i], b.buf[i], iov[i].iov_len) == 0);
		free(a.buf[i]);
		free(b.buf[i]);
	}
out:
	for (unsigned int i = 0; i < MAX_IOV; i++)
		free(bufs[i]);
	page_free(&lun.inq_std);
	for (unsigned int i = 0; i < G_N_ELEMENTS(cached_vpd); i++)
		page_free(&lun.vpd[cached_vpd[i]]);
	page_free(&lun.rc16);
	return 0;
}
