/* libFuzzer target for the TCMU ring walker (handler/ring.c): a model of the kernel queues CMD,
 * TMR, PAD and unknown entries (well-formed or bent by the input) into a heap-allocated mailbox,
 * command ring and data area, the walker reads and completes them, and the model reaps the
 * completions the way target_core_user.c does. The input may also scribble on the ring. */
#include <errno.h>

#include "fuzz-input.h"
#include "ring.h"

/*
 * The map: mailbox and command ring in the first 4 KiB (the ring is the kernel's 8 MiB one in
 * miniature, so it wraps often), then a small data area. One malloc() of exactly MAP_SIZE bytes:
 * ASan's redzones around it catch any access outside the map.
 */
#define MB_CMDR_SIZE 4096
#define DATA_SIZE (4 * 4096)
#define MAP_SIZE (MB_CMDR_SIZE + DATA_SIZE)
#define STD_CMDR_OFF 128
#define MAX_OPS 256
#define MAX_NEXT 4096 /* rdp_ring_next() calls per drain; far above what a 4 KiB ring holds */
#define MAX_OUT 65536 /* cmd_ids are 16 bits and the walker hands out each once */
#define VARLEN_CDB 0x7f
#define CDB_BUF (8 + 255)
#define ENT_BUF (offsetof(struct tcmu_cmd_entry, req.iov) + 1100 * sizeof(struct iovec) + 1024)
#define STAT_CHECK 0x02

/*
 * Input: a setup part, then operations until the input runs out.
 * Setup: byte 0 - bit 0: raw mailbox version (u16 follows), bit 1: no CAP_OOOC forced, bit 2:
 * raw layout (cmdr_off as u8 * 8, cmdr_size as u16 * 8), bit 3: raw cmd_head/cmd_tail (two
 * u32); else cmdr_off 128, cmdr_size 3968 - 8 * (u8 % 64), head = tail = 8 * u16 within the
 * ring. byte 1: mailbox flags (caps).
 * Each operation: one byte, the low 3 bits the operation, the upper bits its flags.
 */
enum op {
	OP_QUEUE_CMD,
	OP_QUEUE_CMD2, /* twice as likely as the others */
	OP_QUEUE_OTHER,
	OP_NEXT,
	OP_COMPLETE,
	OP_KICK,
	OP_RAW_WRITE,
	OP_RAW_HEAD,
};

#define F_RAW_ID 0x08	/* queue: cmd_id from the input */
#define F_BIG 0x10	/* queue: many iovecs */
#define F_BENT 0x20	/* queue: CDB offset, entry length or DIF count bent */
#define F_UNKNOWN 0x40	/* queue other: an unknown opcode rather than TMR */
#define F_BOGUS 0x08	/* complete: an id from the input, maybe not outstanding */
#define F_READ_LEN 0x10 /* complete: a read_len */
#define F_NO_SENSE 0x20 /* complete: a sense length without a sense buffer */

/* What the kernel model queued under one cmd_id, valid for the generation of one input. */
struct expect {
	uint32_t gen;
	bool busy;	   /* queued, not reaped */
	bool valid;	   /* an entry the kernel could have queued: the walker must return it */
	bool unknown_op;   /* an entry of an unknown opcode: answered in place */
	int status;	   /* completion status expected in the slot; -1: any */
	uint32_t read_len; /* expected with TCMU_UFLAG_READ_LEN; UINT32_MAX: flag must be clear */
	uint8_t cdb_len;
	uint8_t cdb[RDP_RING_CDB_MAX];
	unsigned int iov_cnt, bidi_cnt;
	uint64_t iov_hash;
};

struct kmodel {
	uint8_t *map;
	struct tcmu_mailbox *mb;
	uint8_t *cmdr;
	uint32_t cmdr_off, cmdr_size;
	size_t data_off;
	uint32_t last_cleaned;
	unsigned int busy_n;
	/* An entry too short for its response was queued: the walker may give up on the ring. */
	bool may_break;
	/* The input wrote over the ring or the mailbox, or queued what the kernel never would:
	 * only memory safety and the walker's own promises are checked from then on. */
	bool hostile;
};

static struct expect expect[65536];
static uint32_t gen;
static struct rdp_ring ring;
static struct rdp_ring_cmd cmd;
static uint16_t out_ids[MAX_OUT];
static unsigned int n_out;
static uint8_t ent[ENT_BUF];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct expect *ex(uint16_t id)
{
	struct expect *e = &expect[id];

	if (e->gen != gen) {
		memset(e, 0, sizeof(*e));
		e->gen = gen;
	}
	return e;
}

static uint32_t dist(const struct kmodel *k, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : k->cmdr_size - from + to;
}

static uint64_t iov_hash(uint64_t h, uint64_t base, uint64_t len)
{
	h = (h ^ base) * 0x100000001b3ull;
	return (h ^ len) * 0x100000001b3ull;
}

/* The kernel's scsi_command_size(). */
static unsigned int kernel_cdb_len(const uint8_t *cdb)
{
	static const uint8_t by_group[8] = {6, 10, 10, 12, 16, 12, 10, 10};

	return cdb[0] == VARLEN_CDB ? 8u + cdb[7] : by_group[cdb[0] >> 5];
}

/* Room for size bytes at cmd_head as queue_cmd_ring() finds it, padding to the ring end first
 * when the entry does not fit there; one byte stays free. -1 when the ring is full. */
static int64_t k_reserve(struct kmodel *k, uint32_t size)
{
	uint32_t head = rdp_tcmu_mb_head(k->mb);
	uint32_t to_end, needed, used;

	if (head >= k->cmdr_size || head % TCMU_OP_ALIGN_SIZE)
		return -1; /* the input moved cmd_head somewhere the kernel never puts it */
	to_end = k->cmdr_size - head;
	needed = to_end >= size ? size : size + to_end;
	used = dist(k, k->last_cleaned, head);
	if (size > k->cmdr_size || k->cmdr_size - used - 1 < needed)
		return -1;
	if (to_end < size) {
		struct tcmu_cmd_entry_hdr pad = {.len_op = to_end | TCMU_OP_PAD};

		memcpy(k->cmdr + head, &pad, sizeof(pad));
		rdp_tcmu_mb_set_head(k->mb, 0);
		head = 0;
	}
	return head;
}

static void k_publish(struct kmodel *k, uint32_t off, uint32_t size)
{
	uint32_t head = off + size;

	rdp_tcmu_mb_set_head(k->mb, head == k->cmdr_size ? 0 : head);
}

/* A fresh cmd_id as the kernel's xarray hands them out, or one from the input. */
static uint16_t k_id(struct kmodel *k, struct fz_in *in, bool raw)
{
	uint16_t id;

	if (raw) {
		id = fz_u16(in);
		if (!id || ex(id)->busy)
			k->hostile = true;
		return id;
	}
	for (id = 1; id; id++)
		if (!ex(id)->busy)
			return id;
	k->hostile = true;
	return 0;
}

static void k_mark_busy(struct kmodel *k, uint16_t id)
{
	struct expect *e = ex(id);

	if (id && !e->busy) {
		e->busy = true;
		e->status = -1;
		e->read_len = UINT32_MAX;
		k->busy_n++;
	}
}

/* One iovec: inside the data area, or (bit 0 of the mode byte clear) raw from the input. */
static bool k_iov(struct kmodel *k, struct fz_in *in, struct iovec *v)
{
	size_t data_size = MAP_SIZE - k->data_off;
	uint64_t base, len;

	if (!(fz_u8(in) & 1)) {
		base = fz_u64(in);
		len = fz_u64(in);
	} else if (!data_size) {
		base = k->data_off;
		len = 0;
	} else {
		base = k->data_off + fz_u16(in) % data_size;
		len = fz_u16(in) % (MAP_SIZE - base + 1);
	}
	v->iov_base = (void *)(uintptr_t)base;
	v->iov_len = len;
	return base >= k->data_off && base <= MAP_SIZE && len <= MAP_SIZE - base;
}

static void op_queue_cmd(struct kmodel *k, struct fz_in *in, uint8_t flags)
{
	const size_t iov_at = offsetof(struct tcmu_cmd_entry, req.iov);
	uint8_t cdb[CDB_BUF] = {0};
	struct tcmu_cmd_entry *e = (struct tcmu_cmd_entry *)ent;
	unsigned int niov, nbidi, cdb_len, dif = 0;
	size_t cdb_pos, esize;
	uint64_t h = 0;
	bool valid = true;
	int64_t off;
	uint16_t id;

	niov = (flags & F_BIG) ? fz_u16(in) % 1100 : fz_u8(in) % 5;
	nbidi = niov ? fz_u8(in) % (niov + 1) : 0;
	fz_bytes(in, cdb, 8);
	cdb_len = kernel_cdb_len(cdb);
	if (cdb_len > 8)
		fz_bytes(in, cdb + 8, cdb_len - 8);
	id = k_id(k, in, flags & F_RAW_ID);

	memset(ent, 0, sizeof(ent));
	for (unsigned int i = 0; i < niov; i++) {
		struct iovec v;

		valid &= k_iov(k, in, &v);
		memcpy(ent + iov_at + i * sizeof(v), &v, sizeof(v));
		h = iov_hash(h, (uintptr_t)v.iov_base, v.iov_len);
	}
	cdb_pos = rdp_tcmu_cmd_base_size(niov);
	esize = rdp_tcmu_cmd_size(niov, cdb_len);
	if (flags & F_BENT) {
		uint8_t how = fz_u8(in);
		int shift = (int8_t)fz_u8(in);

		if ((how & 1) && (int64_t)cdb_pos + shift >= 0)
			cdb_pos += shift; /* any byte, not only 8-aligned ones */
		if (how & 2)
			esize += 8 * (size_t)(fz_u8(in) % 8);
		if (how & 4) {
			size_t cut = 8 * (size_t)(fz_u8(in) % 32);

			esize = cut < esize ? esize - cut : 8;
		}
		if (how & 8)
			dif = fz_u8(in) | 1;
		valid = false;
	}
	if (cdb_pos + cdb_len > ENT_BUF || esize > ENT_BUF)
		return;
	/* what the walker promises to pass on; anything else it must refuse */
	valid = valid && niov <= RDP_RING_MAX_IOV && cdb_len <= RDP_RING_CDB_MAX && !k->hostile;

	off = k_reserve(k, (uint32_t)esize);
	if (off < 0)
		return;
	if (esize < sizeof(struct tcmu_cmd_entry))
		k->may_break = true;
	memcpy(ent + cdb_pos, cdb, cdb_len);
	e->hdr.len_op = (uint32_t)esize | TCMU_OP_CMD;
	e->hdr.cmd_id = id;
	e->hdr.kflags = 0;
	e->hdr.uflags = 0;
	e->req.iov_cnt = niov - nbidi;
	e->req.iov_bidi_cnt = nbidi;
	e->req.iov_dif_cnt = dif;
	e->req.cdb_off = k->cmdr_off + (uint64_t)off + cdb_pos;
	memcpy(k->cmdr + off, ent, esize);

	if (!k->hostile) {
		struct expect *x = ex(id);

		k_mark_busy(k, id);
		x->valid = valid;
		x->unknown_op = false;
		x->cdb_len = (uint8_t)(cdb_len <= RDP_RING_CDB_MAX ? cdb_len : 0);
		memcpy(x->cdb, cdb, RDP_RING_CDB_MAX);
		x->iov_cnt = niov - nbidi;
		x->bidi_cnt = nbidi;
		x->iov_hash = h;
	}
	k_publish(k, (uint32_t)off, (uint32_t)esize);
}

/* A TMR entry listing some cmd_ids, or an entry of an opcode the ABI does not define. */
static void op_queue_other(struct kmodel *k, struct fz_in *in, uint8_t flags)
{
	uint8_t buf[sizeof(struct tcmu_tmr_entry) + 64 * sizeof(uint16_t)] = {0};
	struct tcmu_cmd_entry_hdr h = {0};
	uint32_t esize;
	int64_t off;

	if (flags & F_UNKNOWN) {
		uint8_t op = fz_u8(in) % 5 + 3; /* 3..7: after PAD, CMD and TMR */

		esize = sizeof(struct tcmu_cmd_entry) + 8 * (fz_u8(in) % 4);
		h.len_op = esize | op;
		h.cmd_id = k_id(k, in, flags & F_RAW_ID);
	} else {
		struct tcmu_tmr_entry t = {0};
		unsigned int n = fz_u8(in) % 64;

		esize = (sizeof(t) + n * sizeof(uint16_t) + 7) & ~7u;
		fz_bytes(in, buf + sizeof(t), n * sizeof(uint16_t));
		t.tmr_type = fz_u8(in);
		t.cmd_cnt = n;
		memcpy(buf, &t, sizeof(t));
		h.len_op = esize | TCMU_OP_TMR;
	}
	memcpy(buf, &h, sizeof(h));
	off = k_reserve(k, esize);
	if (off < 0)
		return;
	memset(k->cmdr + off, 0, esize);
	memcpy(k->cmdr + off, buf, esize < sizeof(buf) ? esize : sizeof(buf));
	if ((flags & F_UNKNOWN) && !k->hostile) {
		k_mark_busy(k, h.cmd_id);
		ex(h.cmd_id)->valid = false;
		ex(h.cmd_id)->unknown_op = true;
	}
	k_publish(k, (uint32_t)off, esize);
}

/* What the walker keeps true whatever the ring holds. */
static void check_ring(const struct kmodel *k)
{
	uint32_t tail = rdp_tcmu_mb_tail(k->mb);

	if (ring.broken)
		return;
	FZ_CHECK(ring.next < ring.cmdr_size && ring.next % TCMU_OP_ALIGN_SIZE == 0);
	FZ_CHECK(ring.tail < ring.cmdr_size && ring.tail % TCMU_OP_ALIGN_SIZE == 0);
	if (!k->hostile)
		FZ_CHECK(tail < k->cmdr_size && tail % TCMU_OP_ALIGN_SIZE == 0);
}

/* A command handed out: every byte it names is in the data area, and (unless the input bent
 * things) it is exactly what the kernel queued. */
static void check_cmd(const struct kmodel *k)
{
	const uint8_t *lo = k->map + k->data_off, *hi = k->map + MAP_SIZE;
	size_t xfer = 0, bidi = 0;
	uint64_t h = 0;

	FZ_CHECK(cmd.cmd_id != 0);
	FZ_CHECK(!cmd.reject);
	FZ_CHECK(cmd.cdb_len >= 6 && cmd.cdb_len <= RDP_RING_CDB_MAX);
	FZ_CHECK((uint64_t)cmd.iov_cnt + cmd.iov_bidi_cnt <= RDP_RING_MAX_IOV);
	for (unsigned int i = 0; i < cmd.iov_cnt + cmd.iov_bidi_cnt; i++) {
		uint8_t *b = cmd.iov[i].iov_base;
		size_t n = cmd.iov[i].iov_len;

		FZ_CHECK(b >= lo && b <= hi && n <= (size_t)(hi - b));
		if (n) { /* the caller reads and writes these bytes: so do we */
			b[0] ^= 0x5a;
			b[n - 1] ^= 0xa5;
		}
		if (i < cmd.iov_cnt)
			xfer += n;
		else
			bidi += n;
		h = iov_hash(h, (uint64_t)(b - k->map), n);
	}
	FZ_CHECK(xfer == cmd.xfer_len && bidi == cmd.bidi_len);
	if (cmd.iov_bidi_cnt)
		FZ_CHECK(cmd.xfer == RDP_RING_XFER_BIDI);
	else
		FZ_CHECK(cmd.xfer == (cmd.xfer_len ? RDP_RING_XFER_DATA : RDP_RING_XFER_NONE));
	if (k->hostile)
		return;
	const struct expect *x = ex(cmd.cmd_id);
	FZ_CHECK(x->busy);
	if (!x->valid)
		return;
	FZ_CHECK(cmd.cdb_len == x->cdb_len && memcmp(cmd.cdb, x->cdb, cmd.cdb_len) == 0);
	FZ_CHECK(cmd.iov_cnt == x->iov_cnt && cmd.iov_bidi_cnt == x->bidi_cnt);
	FZ_CHECK(h == x->iov_hash);
}

static void op_next(struct kmodel *k)
{
	for (unsigned int i = 0; i < MAX_NEXT; i++) {
		bool was_broken = ring.broken;
		int rc = rdp_ring_next(&ring, &cmd);

		FZ_CHECK(rc == RDP_RING_EMPTY || rc == RDP_RING_CMD || rc == RDP_RING_REJECTED ||
			 rc == -EIO);
		FZ_CHECK(rc != -EIO || ring.broken);
		FZ_CHECK(rc == -EIO || rc == RDP_RING_REJECTED || !ring.broken);
		/* Answering an entry in place moves the tail, and a slot it passes may have been
		 * rewritten since it was read: then the ring breaks only after this entry was
		 * answered, and the next call says so. */
		FZ_CHECK(rc != RDP_RING_REJECTED || !ring.broken || k->hostile);
		/* a ring the kernel filled by the rules never breaks */
		FZ_CHECK(rc != -EIO || was_broken || k->hostile || k->may_break);
		check_ring(k);
		if (rc <= 0)
			return;
		if (rc == RDP_RING_CMD) {
			check_cmd(k);
			if (n_out < MAX_OUT)
				out_ids[n_out++] = cmd.cmd_id;
			continue;
		}
		FZ_CHECK(cmd.reject && cmd.iov_cnt == 0 && cmd.iov_bidi_cnt == 0 &&
			 cmd.xfer == RDP_RING_XFER_NONE);
		if (!k->hostile) {
			struct expect *x = ex(cmd.cmd_id);

			FZ_CHECK(x->busy && !x->valid);
			if (!x->unknown_op)
				x->status = STAT_CHECK;
		}
	}
}

static int out_find(uint16_t id)
{
	for (unsigned int i = 0; i < n_out; i++)
		if (out_ids[i] == id)
			return (int)i;
	return -1;
}

static void op_complete(struct kmodel *k, struct fz_in *in, uint8_t flags)
{
	const uint32_t tail = rdp_tcmu_mb_tail(k->mb);
	const bool was_broken = ring.broken;
	uint8_t status = fz_u8(in);
	size_t sense_len = fz_u8(in) % 120;
	uint32_t read_len = (flags & F_READ_LEN) ? fz_u32(in) : RDP_RING_NO_READ_LEN;
	bool no_sense = (flags & F_NO_SENSE) && sense_len;
	uint8_t *sense = NULL;
	uint16_t id;
	int rc, i;

	if (!no_sense && sense_len) {
		sense = malloc(sense_len); /* exact size: ASan sees an overread */
		FZ_CHECK(sense);
		fz_bytes(in, sense, sense_len);
	}
	id = n_out && !(flags & F_BOGUS) ? out_ids[fz_u8(in) % n_out] : fz_u16(in);
	i = out_find(id);

	rc = rdp_ring_complete(&ring, id, status, sense, sense_len, read_len);
	if (was_broken) {
		FZ_CHECK(rc == -EIO);
	} else if (no_sense || i < 0) {
		FZ_CHECK(rc == (no_sense ? -EINVAL : -ENOENT));
		FZ_CHECK(rdp_tcmu_mb_tail(k->mb) == tail); /* nothing written */
	} else if (!k->hostile) {
		FZ_CHECK(rc == 0);
		ex(id)->status = status;
		ex(id)->read_len =
		    read_len != RDP_RING_NO_READ_LEN && ring.cap_read_len ? read_len : UINT32_MAX;
	} else {
		FZ_CHECK(rc == 0 || (rc == -EIO && ring.broken));
	}
	if (i >= 0 && !no_sense)
		out_ids[i] = out_ids[--n_out];
	check_ring(k);
	free(sense);
}

/* tcmu_handle_completions(): from the last cleaned offset up to cmd_tail, skip PAD and TMR,
 * take anything else as the completion of its hdr.cmd_id, which must be in flight. */
static void k_reap(struct kmodel *k)
{
	uint32_t tail = rdp_tcmu_mb_tail(k->mb), head = rdp_tcmu_mb_head(k->mb);

	if (k->hostile) {
		if (tail < k->cmdr_size && tail % TCMU_OP_ALIGN_SIZE == 0)
			k->last_cleaned = tail;
		return;
	}
	FZ_CHECK(tail < k->cmdr_size && tail % TCMU_OP_ALIGN_SIZE == 0);
	/* the tail never passes what the kernel published */
	FZ_CHECK(dist(k, k->last_cleaned, tail) <= dist(k, k->last_cleaned, head));
	while (k->last_cleaned != tail) {
		struct tcmu_cmd_entry e;
		uint32_t len;
		struct expect *x;

		size_t room = k->cmdr_size - k->last_cleaned;

		memset(&e, 0, sizeof(e));
		memcpy(&e, k->cmdr + k->last_cleaned, room < sizeof(e) ? room : sizeof(e));
		len = tcmu_hdr_get_len(e.hdr.len_op);
		FZ_CHECK(len > 0 && len <= dist(k, k->last_cleaned, tail) &&
			 k->last_cleaned + len <= k->cmdr_size);
		switch (tcmu_hdr_get_op(e.hdr.len_op)) {
		case TCMU_OP_PAD:
		case TCMU_OP_TMR:
			break;
		default:
			x = ex(e.hdr.cmd_id);
			FZ_CHECK(x->busy); /* else "cmd_id not found, ring is broken" */
			FZ_CHECK(!(e.hdr.uflags & TCMU_UFLAG_KEEP_BUF));
			if (x->unknown_op) {
				FZ_CHECK(e.hdr.uflags & TCMU_UFLAG_UNKNOWN_OP);
			} else {
				FZ_CHECK(tcmu_hdr_get_op(e.hdr.len_op) == TCMU_OP_CMD);
				FZ_CHECK(x->status < 0 || e.rsp.scsi_status == x->status);
				if (x->read_len == UINT32_MAX)
					FZ_CHECK(!(e.hdr.uflags & TCMU_UFLAG_READ_LEN));
				else
					FZ_CHECK((e.hdr.uflags & TCMU_UFLAG_READ_LEN) &&
						 e.rsp.read_len == x->read_len);
			}
			x->busy = false;
			k->busy_n--;
			break;
		}
		k->last_cleaned = (k->last_cleaned + len) % k->cmdr_size;
	}
}

static void op_kick(struct kmodel *k)
{
	if (rdp_ring_needs_kick(&ring))
		rdp_ring_kicked(&ring);
	FZ_CHECK(!rdp_ring_needs_kick(&ring));
	k_reap(k);
}

/* A kernel bug or a stray writer: bytes anywhere in the mailbox or the ring. */
static void op_raw_write(struct kmodel *k, struct fz_in *in)
{
	uint32_t end = k->cmdr_off + k->cmdr_size;
	uint32_t at = fz_u16(in) % end;
	size_t n = fz_u8(in) % 8 + 1;

	if (n > end - at)
		n = end - at;
	fz_bytes(in, k->map + at, n);
	k->hostile = true;
}

/* Lays out the mailbox; false when rdp_ring_init() refuses it (which is then checked). */
static bool setup(struct kmodel *k, struct fz_in *in)
{
	uint8_t how = fz_u8(in);
	struct tcmu_mailbox mb = {0};
	int rc;

	mb.flags = fz_u8(in);
	if (!(how & 2))
		mb.flags |= TCMU_MAILBOX_FLAG_CAP_OOOC;
	mb.version = (how & 1) ? fz_u16(in) : TCMU_MAILBOX_VERSION;
	if (how & 4) {
		mb.cmdr_off = 8 * (uint32_t)fz_u8(in);
		mb.cmdr_size = 8 * (uint32_t)fz_u16(in);
	} else {
		mb.cmdr_off = STD_CMDR_OFF;
		mb.cmdr_size = MB_CMDR_SIZE - STD_CMDR_OFF - 8 * (fz_u8(in) % 64);
	}
	if (how & 8) {
		mb.cmd_head = fz_u32(in);
		mb.cmd_tail = fz_u32(in);
	} else if (mb.cmdr_size) {
		mb.cmd_head = 8 * (uint32_t)fz_u16(in) % mb.cmdr_size;
		mb.cmd_tail = mb.cmd_head;
	}
	memcpy(k->map, &mb, sizeof(mb));

	rc = rdp_ring_init(&ring, k->map, MAP_SIZE);
	if (rc < 0) {
		FZ_CHECK(rc == -EINVAL || rc == -EPROTONOSUPPORT || rc == -EBUSY);
		FZ_CHECK(ring.broken);
		FZ_CHECK(rdp_ring_next(&ring, &cmd) == -EIO);
		FZ_CHECK(rdp_ring_complete(&ring, 1, 0, NULL, 0, RDP_RING_NO_READ_LEN) == -EIO);
		return false;
	}
	FZ_CHECK(ring.cmdr_off == mb.cmdr_off && ring.cmdr_size == mb.cmdr_size);
	FZ_CHECK(ring.data_off <= MAP_SIZE && ring.data_off >= sizeof(mb));
	k->mb = (struct tcmu_mailbox *)k->map;
	k->cmdr_off = mb.cmdr_off;
	k->cmdr_size = mb.cmdr_size;
	k->cmdr = k->map + mb.cmdr_off;
	k->data_off = ring.data_off;
	k->last_cleaned = mb.cmd_tail;
	return true;
}

/* Reads what is left, completes everything, reaps: a well-formed ring ends empty. */
static void drain(struct kmodel *k)
{
	const bool was_broken = ring.broken;

	op_next(k);
	while (n_out) {
		uint16_t id = out_ids[--n_out];
		int rc = rdp_ring_complete(&ring, id, 0, NULL, 0, RDP_RING_NO_READ_LEN);

		FZ_CHECK(rc == 0 || (rc == -EIO && ring.broken));
		if (rc == 0 && !k->hostile)
			ex(id)->status = 0;
	}
	op_kick(k);
	if (k->hostile || was_broken || ring.broken)
		return;
	FZ_CHECK(rdp_ring_outstanding(&ring) == 0);
	FZ_CHECK(rdp_tcmu_mb_tail(k->mb) == rdp_tcmu_mb_head(k->mb));
	FZ_CHECK(k->busy_n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct kmodel k = {0};

	gen++;
	n_out = 0;
	k.map = calloc(1, MAP_SIZE);
	FZ_CHECK(k.map);
	if (!setup(&k, &in))
		goto out;

	for (unsigned int i = 0; i < MAX_OPS && !fz_empty(&in); i++) {
		uint8_t op = fz_u8(&in);

		switch ((enum op)(op & 7)) {
		case OP_QUEUE_CMD:
		case OP_QUEUE_CMD2:
			op_queue_cmd(&k, &in, op);
			break;
		case OP_QUEUE_OTHER:
			op_queue_other(&k, &in, op);
			break;
		case OP_NEXT:
			op_next(&k);
			break;
		case OP_COMPLETE:
			op_complete(&k, &in, op);
			break;
		case OP_KICK:
			op_kick(&k);
			break;
		case OP_RAW_WRITE:
			op_raw_write(&k, &in);
			break;
		case OP_RAW_HEAD:
			rdp_tcmu_mb_set_head(k.mb, fz_u32(&in));
			k.hostile = true;
			break;
		}
	}
	drain(&k);
out:
	free(k.map);
	return 0;
}
