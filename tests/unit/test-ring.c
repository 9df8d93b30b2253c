/* Unit tests for the TCMU ring walker (handler/ring.c). A small model of the kernel side queues
 * entries and reaps completions the way drivers/target/target_core_user.c does, so every test
 * checks what the kernel would see, on a 4 KiB map with a 3968-byte ring that wraps often. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "ring.h"

#define MB_CMDR_SIZE 4096 /* mailbox + ring; the kernel's is 8 MiB, so the data area is aligned */
#define CMDR_OFF 128
#define CMDR_SIZE (MB_CMDR_SIZE - CMDR_OFF)
#define BLOCK 4096
#define DATA_BLOCKS 16
#define MAP_SIZE (MB_CMDR_SIZE + DATA_BLOCKS * BLOCK)
#define ALL_CAPS 0xf /* OOOC, READ_LEN, TMR, KEEP_BUF: what Debian's 6.1 kernel advertises */
#define OP_UNKNOWN 5
#define MAX_DONE 4096

#define STAT_GOOD 0x00
#define STAT_CHECK 0x02
#define STAT_BUSY 0x08

/* One completion as the kernel's completion handler found it. */
struct kdone {
	uint32_t slot; /* ring offset of the slot it was read from */
	uint16_t cmd_id;
	uint8_t status;
	uint8_t uflags;
	uint32_t read_len;
	uint8_t sense[TCMU_SENSE_BUFFERSIZE];
};

/* The kernel side: owns cmd_head, reads cmd_tail, tracks which ids are in flight. */
struct kmodel {
	uint8_t *map;
	struct tcmu_mailbox *mb;
	uint8_t *cmdr;
	uint32_t last_cleaned;
	uint32_t slot_of[65536];
	bool busy[65536];
	unsigned int next_block;
	unsigned int pads;
	bool broken; /* a completion named an id not in flight: the kernel's "ring is broken" */
	unsigned int n_done;
	struct kdone done[MAX_DONE];
};

struct fx {
	struct kmodel k;
	struct rdp_ring r;
	struct rdp_ring_cmd c;
};

/* The header's length and opcode word; tcmu_hdr_set_*() take a pointer the compiler rejects
 * for a packed member. Lengths are multiples of 8, the opcode sits in the low bits. */
static uint32_t len_op(enum tcmu_opcode op, uint32_t len)
{
	g_assert_cmpuint(len % TCMU_OP_ALIGN_SIZE, ==, 0);
	return len | op;
}

static void mb_setup(uint8_t *map, uint16_t version, uint16_t flags, uint32_t cmdr_off,
		     uint32_t cmdr_size)
{
	struct tcmu_mailbox *mb = (struct tcmu_mailbox *)map;

	mb->version = version;
	mb->flags = flags;
	mb->cmdr_off = cmdr_off;
	mb->cmdr_size = cmdr_size;
}

static struct fx *fx_new(uint16_t flags)
{
	struct fx *f = g_new0(struct fx, 1);

	f->k.map = aligned_alloc(BLOCK, MAP_SIZE);
	g_assert_nonnull(f->k.map);
	memset(f->k.map, 0, MAP_SIZE);
	mb_setup(f->k.map, TCMU_MAILBOX_VERSION, flags, CMDR_OFF, CMDR_SIZE);
	f->k.mb = (struct tcmu_mailbox *)f->k.map;
	f->k.cmdr = f->k.map + CMDR_OFF;
	g_assert_cmpint(rdp_ring_init(&f->r, f->k.map, MAP_SIZE), ==, 0);
	return f;
}

static void fx_free(struct fx *f)
{
	free(f->k.map);
	g_free(f);
}

/* Room for size bytes at cmd_head, padding to the ring end first when the entry does not fit
 * there; one byte always stays free. Returns the ring offset, or -1 when the ring is full. */
static int64_t k_reserve(struct kmodel *k, uint32_t size)
{
	uint32_t head = k->mb->cmd_head % CMDR_SIZE;
	uint32_t to_end = CMDR_SIZE - head;
	uint32_t needed = to_end >= size ? size : size + to_end;
	uint32_t used =
	    head >= k->last_cleaned ? head - k->last_cleaned : CMDR_SIZE - k->last_cleaned + head;

	if (CMDR_SIZE - used - 1 < needed)
		return -1;
	if (to_end < size) {
		struct tcmu_cmd_entry_hdr *pad = (struct tcmu_cmd_entry_hdr *)(k->cmdr + head);

		memset(pad, 0, sizeof(*pad));
		pad->len_op = len_op(TCMU_OP_PAD, to_end);
		rdp_tcmu_mb_set_head(k->mb, 0);
		k->pads++;
		head = 0;
	}
	return head;
}

static uint16_t k_alloc_id(struct kmodel *k)
{
	for (uint32_t id = 1; id < 65536; id++)
		if (!k->busy[id])
			return id;
	g_assert_not_reached();
}

static void k_publish(struct kmodel *k, uint32_t off, uint32_t size)
{
	rdp_tcmu_mb_set_head(k->mb, (off + size) % CMDR_SIZE);
}

/* Queues a CMD entry laid out as queue_cmd_ring() does: iovecs (offsets into the map) right
 * after the fixed part, the CDB after them at an 8-byte aligned length. Returns its cmd_id, or
 * 0 when the ring is full. id forces a cmd_id when nonzero. */
static uint16_t k_queue_cmd_iov(struct kmodel *k, const uint8_t *cdb, size_t cdb_len,
				const uint64_t *iov_off, const size_t *iov_len, unsigned int n,
				unsigned int bidi_n, uint16_t id)
{
	uint32_t size = rdp_tcmu_cmd_size(n, cdb_len);
	struct tcmu_cmd_entry *e;
	int64_t off;

	off = k_reserve(k, size);
	if (off < 0)
		return 0;
	if (!id)
		id = k_alloc_id(k);
	e = (struct tcmu_cmd_entry *)(k->cmdr + off);
	memset(e, 0, size);
	e->hdr.len_op = len_op(TCMU_OP_CMD, size);
	e->hdr.cmd_id = id;
	e->req.iov_cnt = n - bidi_n;
	e->req.iov_bidi_cnt = bidi_n;
	for (unsigned int i = 0; i < n; i++) {
		struct iovec v = {.iov_base = (void *)(uintptr_t)iov_off[i], .iov_len = iov_len[i]};

		memcpy((uint8_t *)e + offsetof(struct tcmu_cmd_entry, req.iov) + i * sizeof(v), &v,
		       sizeof(v));
	}
	e->req.cdb_off = CMDR_OFF + off + rdp_tcmu_cmd_base_size(n);
	memcpy(k->map + e->req.cdb_off, cdb, cdb_len);
	k->busy[id] = true;
	k->slot_of[id] = off;
	k_publish(k, off, size);
	return id;
}

/* A command with data_len bytes in 4 KiB blocks, each its own iovec (blocks are never
 * adjacent, so the kernel would not merge them). */
static uint16_t k_queue_cmd(struct kmodel *k, const uint8_t *cdb, size_t cdb_len, size_t data_len)
{
	uint64_t off[DATA_BLOCKS];
	size_t len[DATA_BLOCKS];
	unsigned int n = 0;

	while (data_len) {
		g_assert_cmpuint(n, <, DATA_BLOCKS);
		off[n] = MB_CMDR_SIZE + (uint64_t)(k->next_block % DATA_BLOCKS) * BLOCK;
		len[n] = data_len < BLOCK ? data_len : BLOCK;
		data_len -= len[n];
		k->next_block += 2;
		n++;
	}
	return k_queue_cmd_iov(k, cdb, cdb_len, off, len, n, 0, 0);
}

static void k_queue_tmr(struct kmodel *k, uint8_t type, const uint16_t *ids, unsigned int n)
{
	uint32_t size = (sizeof(struct tcmu_tmr_entry) + n * sizeof(uint16_t) + 7) & ~7u;
	struct tcmu_tmr_entry *t;
	int64_t off = k_reserve(k, size);

	g_assert_cmpint(off, >=, 0);
	t = (struct tcmu_tmr_entry *)(k->cmdr + off);
	memset(t, 0, size);
	t->hdr.len_op = len_op(TCMU_OP_TMR, size);
	t->tmr_type = type;
	t->cmd_cnt = n;
	if (n)
		memcpy((uint8_t *)t + offsetof(struct tcmu_tmr_entry, cmd_ids), ids,
		       n * sizeof(uint16_t));
	k_publish(k, off, size);
}

/* An entry with an opcode this ABI does not define, carrying a cmd_id like a CMD. */
static uint16_t k_queue_unknown(struct kmodel *k)
{
	uint32_t size = sizeof(struct tcmu_cmd_entry);
	struct tcmu_cmd_entry_hdr *h;
	uint16_t id = k_alloc_id(k);
	int64_t off = k_reserve(k, size);

	g_assert_cmpint(off, >=, 0);
	h = (struct tcmu_cmd_entry_hdr *)(k->cmdr + off);
	memset(h, 0, size);
	h->len_op = len_op((enum tcmu_opcode)OP_UNKNOWN, size);
	h->cmd_id = id;
	k->busy[id] = true;
	k->slot_of[id] = off;
	k_publish(k, off, size);
	return id;
}

static struct tcmu_cmd_entry *k_entry(struct kmodel *k, uint16_t id)
{
	return (struct tcmu_cmd_entry *)(k->cmdr + k->slot_of[id]);
}

/* tcmu_handle_completions(): from the last cleaned offset up to cmd_tail, skip PAD and TMR,
 * take anything else as the completion of its hdr.cmd_id. */
static void k_reap(struct kmodel *k)
{
	uint32_t tail = rdp_tcmu_mb_tail(k->mb);

	g_assert_cmpuint(tail, <, CMDR_SIZE);
	while (k->last_cleaned != tail) {
		struct tcmu_cmd_entry *e = (struct tcmu_cmd_entry *)(k->cmdr + k->last_cleaned);
		uint32_t len = tcmu_hdr_get_len(e->hdr.len_op);
		enum tcmu_opcode op = tcmu_hdr_get_op(e->hdr.len_op);
		struct kdone *d;

		g_assert_cmpuint(len, >, 0);
		g_assert_cmpuint(k->last_cleaned + len, <=, CMDR_SIZE);
		if (op != TCMU_OP_PAD && op != TCMU_OP_TMR) {
			if (!k->busy[e->hdr.cmd_id]) {
				k->broken = true;
				return;
			}
			g_assert_cmpuint(k->n_done, <, MAX_DONE);
			d = &k->done[k->n_done++];
			d->slot = k->last_cleaned;
			d->cmd_id = e->hdr.cmd_id;
			d->status = e->rsp.scsi_status;
			d->uflags = e->hdr.uflags;
			d->read_len = e->rsp.read_len;
			memcpy(d->sense, e->rsp.sense_buffer, sizeof(d->sense));
			k->busy[e->hdr.cmd_id] = false;
		}
		k->last_cleaned = (k->last_cleaned + len) % CMDR_SIZE;
	}
}

/* The caller's kick: one write to the uio fd makes the kernel reap. */
static void kick(struct fx *f)
{
	g_assert_true(rdp_ring_needs_kick(&f->r));
	rdp_ring_kicked(&f->r);
	g_assert_false(rdp_ring_needs_kick(&f->r));
	k_reap(&f->k);
	g_assert_false(f->k.broken);
}

static void complete_good(struct fx *f, uint16_t id)
{
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==,
			0);
}

static void read10(uint8_t *cdb, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = 0x28;
	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	cdb[7] = blocks >> 8;
	cdb[8] = blocks;
}

static uint32_t read10_lba(const uint8_t *cdb)
{
	return (uint32_t)cdb[2] << 24 | (uint32_t)cdb[3] << 16 | (uint32_t)cdb[4] << 8 | cdb[5];
}

static void assert_ring_idle(struct fx *f)
{
	g_assert_cmpuint(rdp_ring_outstanding(&f->r), ==, 0);
	g_assert_cmpuint(rdp_tcmu_mb_tail(f->k.mb), ==, rdp_tcmu_mb_head(f->k.mb));
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_EMPTY);
}

static void test_init(void)
{
	struct fx *f = fx_new(ALL_CAPS);

	g_assert_true(f->r.cap_read_len);
	g_assert_true(f->r.cap_tmr);
	g_assert_cmpuint(f->r.cmdr_size, ==, CMDR_SIZE);
	g_assert_cmpuint(f->r.data_off, ==, MB_CMDR_SIZE);
	g_assert_null(f->r.broken);
	g_assert_false(rdp_ring_needs_kick(&f->r));
	assert_ring_idle(f);
	fx_free(f);
}

static void test_init_rejects(void)
{
	uint8_t *map = aligned_alloc(BLOCK, MAP_SIZE);
	struct rdp_ring *r = g_new0(struct rdp_ring, 1);
	struct rdp_ring_cmd *c = g_new0(struct rdp_ring_cmd, 1);
	struct tcmu_mailbox *mb = (struct tcmu_mailbox *)map;

	memset(map, 0, MAP_SIZE);
	mb_setup(map, 1, ALL_CAPS, CMDR_OFF, CMDR_SIZE);
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EPROTONOSUPPORT);
	mb_setup(map, 3, ALL_CAPS, CMDR_OFF, CMDR_SIZE);
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EPROTONOSUPPORT);
	/* a failed init leaves a ring every call refuses */
	g_assert_cmpint(rdp_ring_next(r, c), ==, -EIO);
	g_assert_cmpint(rdp_ring_complete(r, 1, 0, NULL, 0, RDP_RING_NO_READ_LEN), ==, -EIO);

	mb_setup(map, 2, ALL_CAPS & ~TCMU_MAILBOX_FLAG_CAP_OOOC, CMDR_OFF, CMDR_SIZE);
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EPROTONOSUPPORT);
	mb_setup(map, 2, ALL_CAPS, 64, CMDR_SIZE); /* ring over the mailbox */
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EINVAL);
	mb_setup(map, 2, ALL_CAPS, CMDR_OFF, MAP_SIZE); /* ring past the map */
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EINVAL);
	mb_setup(map, 2, ALL_CAPS, CMDR_OFF, CMDR_SIZE - 4); /* not 8-byte aligned */
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EINVAL);
	mb_setup(map, 2, ALL_CAPS, CMDR_OFF, 64); /* smaller than one entry */
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EINVAL);
	mb_setup(map, 2, ALL_CAPS, CMDR_OFF, CMDR_SIZE);
	g_assert_cmpint(rdp_ring_init(r, map, 100), ==, -EINVAL);
	g_assert_cmpint(rdp_ring_init(r, NULL, MAP_SIZE), ==, -EINVAL);
	rdp_tcmu_mb_set_head(mb, CMDR_SIZE); /* head outside the ring */
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EINVAL);
	rdp_tcmu_mb_set_head(mb, 256); /* leftovers of an earlier process */
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, -EBUSY);
	rdp_tcmu_mb_set_tail(mb, 256);
	g_assert_cmpint(rdp_ring_init(r, map, MAP_SIZE), ==, 0);
	g_assert_cmpuint(r->next, ==, 256);

	g_free(c);
	g_free(r);
	free(map);
}

/* A clean stop (every entry read answered) leaves entries queued after it unread: the next
 * process resumes at the tail it was told and reads each exactly once; the kernel sees one
 * completion per id and no broken ring. A stale tail (the ring moved since) is refused. */
static void test_resume_after_clean_stop(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t cdb[10];
	uint16_t ids[4];

	for (int round = 0; round < 3; round++) { /* move the tail off 0, across a wrap */
		read10(cdb, 1, 8);
		uint16_t id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 4096);
		g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
		complete_good(f, id);
		kick(f);
	}
	g_assert_cmpuint(rdp_ring_outstanding(&f->r), ==, 0);
	uint32_t tail = rdp_ring_tail(&f->r);
	g_assert_cmpuint(tail, ==, rdp_tcmu_mb_tail(f->k.mb));
	/* the process stops reading; the kernel queues two more */
	for (int i = 0; i < 2; i++) {
		read10(cdb, 100 + (uint32_t)i, 1);
		ids[i] = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	}
	struct rdp_ring *r2 = g_new0(struct rdp_ring, 1);
	g_assert_cmpint(rdp_ring_init(r2, f->k.map, MAP_SIZE), ==, -EBUSY);
	g_assert_cmpint(rdp_ring_resume(r2, f->k.map, MAP_SIZE, tail + 8), ==, -EBUSY);
	g_assert_cmpint(rdp_ring_resume(r2, f->k.map, MAP_SIZE, tail), ==, 0);
	for (int i = 0; i < 2; i++) {
		g_assert_cmpint(rdp_ring_next(r2, &f->c), ==, RDP_RING_CMD);
		g_assert_cmpuint(f->c.cmd_id, ==, ids[i]);
		g_assert_cmpuint(read10_lba(f->c.cdb), ==, 100 + (uint32_t)i);
	}
	g_assert_cmpint(rdp_ring_next(r2, &f->c), ==, RDP_RING_EMPTY);
	unsigned int before = f->k.n_done;
	for (int i = 1; i >= 0; i--) /* out of order, as paths finish */
		g_assert_cmpint(rdp_ring_complete(r2, ids[i], STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==, 0);
	rdp_ring_kicked(r2);
	k_reap(&f->k);
	g_assert_false(f->k.broken);
	g_assert_cmpuint(f->k.n_done, ==, before + 2);
	g_assert_cmpuint(rdp_tcmu_mb_tail(f->k.mb), ==, rdp_tcmu_mb_head(f->k.mb));
	g_free(r2);
	fx_free(f);
}

static void test_single_good(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t cdb[10];
	uint16_t id;

	read10(cdb, 0x12345678, 16);
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 8192);
	g_assert_cmpuint(id, !=, 0);

	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cmd_id, ==, id);
	g_assert_cmpuint(f->c.cdb_len, ==, 10);
	g_assert_cmpmem(f->c.cdb, 10, cdb, 10);
	g_assert_null(f->c.reject);
	g_assert_cmpint(f->c.xfer, ==, RDP_RING_XFER_DATA);
	g_assert_cmpuint(f->c.iov_cnt, ==, 2);
	g_assert_cmpuint(f->c.iov_bidi_cnt, ==, 0);
	g_assert_cmpuint(f->c.xfer_len, ==, 8192);
	/* iovec bases are translated from map offsets to pointers into the map */
	g_assert_true(f->c.iov[0].iov_base == f->k.map + MB_CMDR_SIZE);
	g_assert_true(f->c.iov[1].iov_base == f->k.map + MB_CMDR_SIZE + 2 * BLOCK);
	g_assert_cmpuint(f->c.iov[1].iov_len, ==, BLOCK);
	memset(f->c.iov[1].iov_base, 0xa5, BLOCK);
	g_assert_cmpuint(f->k.map[MB_CMDR_SIZE + 2 * BLOCK + 17], ==, 0xa5);

	g_assert_cmpuint(rdp_ring_outstanding(&f->r), ==, 1);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_EMPTY);
	g_assert_false(rdp_ring_needs_kick(&f->r));
	complete_good(f, id);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 1);
	g_assert_cmpuint(f->k.done[0].cmd_id, ==, id);
	g_assert_cmpuint(f->k.done[0].status, ==, STAT_GOOD);
	g_assert_cmpuint(f->k.done[0].uflags, ==, 0);
	g_assert_cmpuint(f->r.n_cmds, ==, 1);
	g_assert_cmpuint(f->r.n_completed, ==, 1);
	assert_ring_idle(f);
	fx_free(f);
}

static void test_cdb_shapes_and_bidi(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t tur[6] = {0x00};
	uint8_t r16[16] = {0x88, [13] = 8};
	uint8_t v32[32] = {0x7f, [7] = 0x18, [9] = 0x09}; /* READ(32): 8 + 0x18 bytes */
	uint8_t xdwr[10] = {0x53, [8] = 1};
	uint64_t off[2] = {MB_CMDR_SIZE, MB_CMDR_SIZE + 4 * BLOCK};
	size_t len[2] = {512, 512};
	uint16_t id;

	id = k_queue_cmd(&f->k, tur, sizeof(tur), 0);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cmd_id, ==, id);
	g_assert_cmpuint(f->c.cdb_len, ==, 6);
	g_assert_cmpint(f->c.xfer, ==, RDP_RING_XFER_NONE);
	g_assert_cmpuint(f->c.iov_cnt, ==, 0);
	complete_good(f, id);

	id = k_queue_cmd(&f->k, r16, sizeof(r16), 4096);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cdb_len, ==, 16);
	g_assert_cmpmem(f->c.cdb, 16, r16, 16);
	complete_good(f, id);

	id = k_queue_cmd(&f->k, v32, sizeof(v32), 4096);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cdb_len, ==, 32);
	g_assert_cmpmem(f->c.cdb, 32, v32, 32);
	complete_good(f, id);

	id = k_queue_cmd_iov(&f->k, xdwr, sizeof(xdwr), off, len, 2, 1, 0);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(f->c.xfer, ==, RDP_RING_XFER_BIDI);
	g_assert_cmpuint(f->c.iov_cnt, ==, 1);
	g_assert_cmpuint(f->c.iov_bidi_cnt, ==, 1);
	g_assert_cmpuint(f->c.xfer_len, ==, 512);
	g_assert_cmpuint(f->c.bidi_len, ==, 512);
	g_assert_true(f->c.iov[1].iov_base == f->k.map + MB_CMDR_SIZE + 4 * BLOCK);
	complete_good(f, id);

	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 4);
	assert_ring_idle(f);
	fx_free(f);
}

/* Many commands of varied sizes through a small ring: reads, completions in random order and
 * batched kicks interleave, the ring wraps with PAD entries many times, ids get reused. */
static void test_wraparound(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	GRand *rnd = g_rand_new_with_seed(20240601);
	static uint32_t lba_of[65536];
	static uint8_t status_of[65536];
	uint16_t inflight[256];
	unsigned int n_inflight = 0, queued = 0, completed = 0, reaped = 0;
	const unsigned int total = 1000;

	while (completed < total) {
		uint8_t cdb[10];
		int ret;

		/* the kernel queues what fits */
		while (queued < total) {
			uint16_t id;

			read10(cdb, queued, 8);
			/* 0 to 8 iovecs: entries of 128 to 192 bytes, so the end of the ring
			 * is seldom an exact fit */
			id = k_queue_cmd(&f->k, cdb, sizeof(cdb),
					 (size_t)g_rand_int_range(rnd, 0, 8) * BLOCK +
					     (size_t)g_rand_int_range(rnd, 0, 2) * 512);
			if (!id)
				break;
			lba_of[id] = queued++;
		}
		/* the daemon reads some of it */
		for (int n = g_rand_int_range(rnd, 1, 8); n > 0; n--) {
			ret = rdp_ring_next(&f->r, &f->c);
			g_assert_cmpint(ret, >=, 0);
			if (ret == RDP_RING_EMPTY)
				break;
			g_assert_cmpint(ret, ==, RDP_RING_CMD);
			g_assert_cmpuint(read10_lba(f->c.cdb), ==, lba_of[f->c.cmd_id]);
			g_assert_cmpuint(n_inflight, <, G_N_ELEMENTS(inflight));
			inflight[n_inflight++] = f->c.cmd_id;
		}
		/* and completes a random subset in random order, then kicks once */
		for (int n = g_rand_int_range(rnd, 0, n_inflight + 1); n > 0; n--) {
			unsigned int i = g_rand_int_range(rnd, 0, n_inflight);
			uint16_t id = inflight[i];

			inflight[i] = inflight[--n_inflight];
			status_of[id] = lba_of[id] % 5 ? STAT_GOOD : STAT_BUSY;
			g_assert_cmpint(rdp_ring_complete(&f->r, id, status_of[id], NULL, 0,
							  RDP_RING_NO_READ_LEN),
					==, 0);
			completed++;
		}
		g_assert_cmpuint(rdp_ring_outstanding(&f->r), ==, n_inflight);
		if (rdp_ring_needs_kick(&f->r))
			kick(f);
		for (; reaped < f->k.n_done; reaped++) {
			struct kdone *d = &f->k.done[reaped];

			g_assert_cmpuint(d->status, ==, status_of[d->cmd_id]);
			g_assert_cmpuint(d->uflags, ==, 0);
		}
		g_assert_cmpuint(f->k.n_done, ==, completed);
	}
	g_assert_cmpuint(queued, ==, total);
	g_assert_cmpuint(f->k.pads, >, 10);
	g_assert_cmpuint(f->r.n_cmds, ==, total);
	assert_ring_idle(f);
	g_rand_free(rnd);
	fx_free(f);
}

/* Completions land in ring order whatever command they answer; the kernel goes by cmd_id. */
static void test_out_of_order(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	const uint8_t sense[18] = {0x70, 0, 0x03, [7] = 10, [12] = 0x11};
	uint16_t id[3];
	uint8_t cdb[10];

	for (int i = 0; i < 3; i++) {
		read10(cdb, 100 + i, 1);
		id[i] = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	}
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
		g_assert_cmpuint(f->c.cmd_id, ==, id[i]);
		g_assert_cmpuint(read10_lba(f->c.cdb), ==, 100 + i);
	}
	complete_good(f, id[2]);
	g_assert_cmpint(
	    rdp_ring_complete(&f->r, id[0], STAT_CHECK, sense, sizeof(sense), RDP_RING_NO_READ_LEN),
	    ==, 0);
	g_assert_cmpint(rdp_ring_complete(&f->r, id[1], STAT_BUSY, NULL, 0, RDP_RING_NO_READ_LEN),
			==, 0);
	kick(f);

	g_assert_cmpuint(f->k.n_done, ==, 3);
	g_assert_cmpuint(f->k.done[0].cmd_id, ==, id[2]);
	g_assert_cmpuint(f->k.done[0].slot, ==, f->k.slot_of[id[0]]);
	g_assert_cmpuint(f->k.done[0].status, ==, STAT_GOOD);
	g_assert_cmpuint(f->k.done[1].cmd_id, ==, id[0]);
	g_assert_cmpuint(f->k.done[1].slot, ==, f->k.slot_of[id[1]]);
	g_assert_cmpuint(f->k.done[1].status, ==, STAT_CHECK);
	g_assert_cmpmem(f->k.done[1].sense, sizeof(sense), sense, sizeof(sense));
	g_assert_cmpuint(f->k.done[2].cmd_id, ==, id[1]);
	g_assert_cmpuint(f->k.done[2].status, ==, STAT_BUSY);
	assert_ring_idle(f);
	fx_free(f);
}

static void test_sense(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	const uint8_t zero[TCMU_SENSE_BUFFERSIZE] = {0};
	uint8_t sense[200];
	uint8_t cdb[10];
	uint16_t id;

	for (unsigned int i = 0; i < sizeof(sense); i++)
		sense[i] = i + 1;
	read10(cdb, 7, 1);

	/* 18 bytes of sense, the rest of the kernel's buffer cleared */
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_CHECK, sense, 18, RDP_RING_NO_READ_LEN),
			==, 0);
	kick(f);
	g_assert_cmpuint(f->k.done[0].status, ==, STAT_CHECK);
	g_assert_cmpmem(f->k.done[0].sense, 18, sense, 18);
	g_assert_cmpmem(f->k.done[0].sense + 18, TCMU_SENSE_BUFFERSIZE - 18, zero,
			TCMU_SENSE_BUFFERSIZE - 18);

	/* more than the kernel's buffer is cut at 96 bytes */
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_CHECK, NULL, 18, RDP_RING_NO_READ_LEN),
			==, -EINVAL);
	g_assert_cmpint(
	    rdp_ring_complete(&f->r, id, STAT_CHECK, sense, sizeof(sense), RDP_RING_NO_READ_LEN),
	    ==, 0);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 2);
	g_assert_cmpmem(f->k.done[1].sense, TCMU_SENSE_BUFFERSIZE, sense, TCMU_SENSE_BUFFERSIZE);
	assert_ring_idle(f);
	fx_free(f);
}

static void test_read_len(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t cdb[10];
	uint16_t id;

	read10(cdb, 0, 8);
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 4096);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_GOOD, NULL, 0, 512), ==, 0);
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 4096);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	complete_good(f, id);
	kick(f);
	g_assert_cmpuint(f->k.done[0].uflags, ==, TCMU_UFLAG_READ_LEN);
	g_assert_cmpuint(f->k.done[0].read_len, ==, 512);
	g_assert_cmpuint(f->k.done[1].uflags, ==, 0);
	g_assert_cmpuint(f->k.done[1].read_len, ==, 0);
	fx_free(f);

	/* a kernel without CAP_READ_LEN never sees the flag */
	f = fx_new(ALL_CAPS & ~TCMU_MAILBOX_FLAG_CAP_READ_LEN);
	g_assert_false(f->r.cap_read_len);
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 4096);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_GOOD, NULL, 0, 512), ==, 0);
	kick(f);
	g_assert_cmpuint(f->k.done[0].uflags, ==, 0);
	fx_free(f);
}

enum corruption {
	BAD_IOV_IN_RING,
	BAD_IOV_IN_MAILBOX,
	BAD_IOV_PAST_MAP,
	BAD_IOV_HUGE_LEN,
	BAD_CDB_PAST_MAP,
	BAD_CDB_IN_MAILBOX,
	BAD_CDB_ON_IOVECS,
	BAD_IOV_CNT_PAST_ENTRY,
	BAD_IOV_CNT_TOO_MANY,
	BAD_DIF,
	BAD_VARLEN_CDB_TOO_LONG,
	N_CORRUPTIONS
};

/* Entries the kernel would never write are answered with CHECK CONDITION 24/00 and the ring
 * carries on. */
static void test_malformed(void)
{
	for (int bad = 0; bad < N_CORRUPTIONS; bad++) {
		struct fx *f = fx_new(ALL_CAPS);
		uint64_t off[1] = {MB_CMDR_SIZE + BLOCK};
		size_t len[1] = {BLOCK};
		uint8_t cdb[48] = {0};
		size_t cdb_len = 10;
		struct tcmu_cmd_entry *e;
		uint16_t id;

		read10(cdb, 1, 8);
		switch (bad) {
		case BAD_IOV_IN_RING:
			off[0] = CMDR_OFF + 16;
			break;
		case BAD_IOV_IN_MAILBOX:
			off[0] = 0;
			break;
		case BAD_IOV_PAST_MAP:
			off[0] = MAP_SIZE - 100;
			break;
		case BAD_IOV_HUGE_LEN:
			len[0] = SIZE_MAX - 10;
			break;
		case BAD_VARLEN_CDB_TOO_LONG:
			cdb[0] = 0x7f;
			cdb[7] = 32; /* 40 bytes: more than a CDB we carry */
			cdb_len = 40;
			break;
		}
		id = k_queue_cmd_iov(&f->k, cdb, cdb_len, off, len, 1, 0, 0);
		g_assert_cmpuint(id, !=, 0);
		e = k_entry(&f->k, id);
		switch (bad) {
		case BAD_CDB_PAST_MAP:
			e->req.cdb_off = (uint64_t)MAP_SIZE + 5;
			break;
		case BAD_CDB_IN_MAILBOX:
			e->req.cdb_off = 8;
			break;
		case BAD_CDB_ON_IOVECS:
			e->req.cdb_off =
			    CMDR_OFF + f->k.slot_of[id] + offsetof(struct tcmu_cmd_entry, req.iov);
			break;
		case BAD_IOV_CNT_PAST_ENTRY:
			e->req.iov_cnt = 100;
			break;
		case BAD_IOV_CNT_TOO_MANY:
			e->req.iov_cnt = 0xfffffff0;
			e->req.iov_bidi_cnt = 0x20;
			break;
		case BAD_DIF:
			e->req.iov_dif_cnt = 1;
			break;
		}

		g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_REJECTED);
		g_assert_cmpuint(f->c.cmd_id, ==, id);
		g_assert_nonnull(f->c.reject);
		g_assert_cmpuint(f->c.iov_cnt, ==, 0);
		g_assert_cmpuint(f->r.n_rejected, ==, 1);
		g_assert_cmpuint(rdp_ring_outstanding(&f->r), ==, 0);
		/* answered already: completing it again is refused */
		g_assert_cmpint(
		    rdp_ring_complete(&f->r, id, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==,
		    -ENOENT);
		kick(f);
		g_assert_cmpuint(f->k.n_done, ==, 1);
		g_assert_cmpuint(f->k.done[0].cmd_id, ==, id);
		g_assert_cmpuint(f->k.done[0].status, ==, STAT_CHECK);
		g_assert_cmpuint(f->k.done[0].sense[0], ==, 0x70);
		g_assert_cmpuint(f->k.done[0].sense[2], ==, 0x05);
		g_assert_cmpuint(f->k.done[0].sense[12], ==, 0x24);
		g_assert_cmpuint(f->k.done[0].sense[13], ==, 0x00);

		/* the ring still works */
		read10(cdb, 2, 1);
		id = k_queue_cmd(&f->k, cdb, 10, 512);
		g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
		g_assert_cmpuint(f->c.cmd_id, ==, id);
		complete_good(f, id);
		kick(f);
		assert_ring_idle(f);
		fx_free(f);
	}
}

static void test_unknown_op(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t cdb[10];
	uint16_t a, u, b;

	/* alone: flagged in place and passed at once */
	u = k_queue_unknown(&f->k);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_REJECTED);
	g_assert_cmpuint(f->c.cmd_id, ==, u);
	g_assert_nonnull(f->c.reject);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 1);
	g_assert_cmpuint(f->k.done[0].cmd_id, ==, u);
	g_assert_cmpuint(f->k.done[0].uflags & TCMU_UFLAG_UNKNOWN_OP, !=, 0);

	/* behind an outstanding command: the tail waits at that command's slot */
	read10(cdb, 1, 1);
	a = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	u = k_queue_unknown(&f->k);
	b = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_REJECTED);
	g_assert_cmpuint(f->c.cmd_id, ==, u);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cmd_id, ==, b);
	g_assert_false(rdp_ring_needs_kick(&f->r));
	g_assert_cmpuint(rdp_tcmu_mb_tail(f->k.mb), ==, f->k.slot_of[a]);

	/* b's answer goes into a's slot, then the tail passes the flagged entry */
	complete_good(f, b);
	g_assert_cmpuint(rdp_tcmu_mb_tail(f->k.mb), ==, f->k.slot_of[b]);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 3);
	g_assert_cmpuint(f->k.done[1].cmd_id, ==, b);
	g_assert_cmpuint(f->k.done[1].slot, ==, f->k.slot_of[a]);
	g_assert_cmpuint(f->k.done[2].cmd_id, ==, u);
	g_assert_cmpuint(f->k.done[2].uflags & TCMU_UFLAG_UNKNOWN_OP, !=, 0);
	complete_good(f, a);
	kick(f);
	g_assert_cmpuint(f->k.done[3].cmd_id, ==, a);
	assert_ring_idle(f);
	fx_free(f);
}

static void test_tmr_skipped(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t cdb[10];
	uint16_t a, b;

	/* a TMR alone is passed and handed back to the kernel */
	k_queue_tmr(&f->k, TCMU_TMR_LUN_RESET, NULL, 0);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_EMPTY);
	g_assert_cmpuint(f->r.n_tmr, ==, 1);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 0);

	read10(cdb, 1, 1);
	a = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	k_queue_tmr(&f->k, TCMU_TMR_ABORT_TASK, &a, 1);
	b = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cmd_id, ==, a);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpuint(f->c.cmd_id, ==, b);
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_EMPTY);
	g_assert_cmpuint(f->r.n_tmr, ==, 2);
	complete_good(f, b);
	complete_good(f, a);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 2);
	g_assert_cmpuint(f->k.done[0].cmd_id, ==, b);
	g_assert_cmpuint(f->k.done[1].cmd_id, ==, a);
	/* a's answer skipped the TMR entry between the two slots */
	g_assert_cmpuint(f->k.done[1].slot, ==, f->k.slot_of[b]);
	assert_ring_idle(f);
	fx_free(f);
}

static void test_bad_completion(void)
{
	struct fx *f = fx_new(ALL_CAPS);
	uint8_t cdb[10];
	uint16_t id;

	read10(cdb, 1, 1);
	id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==,
			-ENOENT); /* not read yet */
	g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
	g_assert_cmpint(rdp_ring_complete(&f->r, 0, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==,
			-ENOENT);
	g_assert_cmpint(rdp_ring_complete(&f->r, id + 1, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN),
			==, -ENOENT);
	g_assert_false(rdp_ring_needs_kick(&f->r));
	g_assert_cmpuint(rdp_tcmu_mb_tail(f->k.mb), ==, 0);
	complete_good(f, id);
	g_assert_cmpint(rdp_ring_complete(&f->r, id, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==,
			-ENOENT);
	kick(f);
	g_assert_cmpuint(f->k.n_done, ==, 1);
	assert_ring_idle(f);
	fx_free(f);
}

/* Structure the walker cannot step over stops the ring for good: -EIO and a reason. */
static void test_broken_ring(void)
{
	for (int bad = 0; bad < 5; bad++) {
		struct fx *f = fx_new(ALL_CAPS);
		struct tcmu_cmd_entry_hdr *h = (struct tcmu_cmd_entry_hdr *)f->k.cmdr;
		uint8_t cdb[10];
		uint16_t id;

		read10(cdb, 1, 1);
		switch (bad) {
		case 0: /* zero-length entry */
			memset(h, 0, sizeof(*h));
			h->len_op = len_op(TCMU_OP_CMD, 0);
			rdp_tcmu_mb_set_head(f->k.mb, 8);
			break;
		case 1: /* entry longer than what cmd_head published */
			id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
			h->len_op = len_op(TCMU_OP_CMD, 256);
			break;
		case 2: /* cmd_head not on an entry boundary */
			rdp_tcmu_mb_set_head(f->k.mb, 12);
			break;
		case 3: /* CMD entry too short to hold its response */
			memset(h, 0, 16);
			h->len_op = len_op(TCMU_OP_CMD, 16);
			h->cmd_id = 1;
			rdp_tcmu_mb_set_head(f->k.mb, 16);
			break;
		case 4: /* a cmd_id that is still in flight */
			id = k_queue_cmd(&f->k, cdb, sizeof(cdb), 512);
			g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, RDP_RING_CMD);
			k_queue_cmd_iov(&f->k, cdb, sizeof(cdb), NULL, NULL, 0, 0, id);
			break;
		}
		g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, -EIO);
		g_assert_nonnull(f->r.broken);
		g_assert_cmpint(rdp_ring_next(&f->r, &f->c), ==, -EIO);
		g_assert_cmpint(
		    rdp_ring_complete(&f->r, 1, STAT_GOOD, NULL, 0, RDP_RING_NO_READ_LEN), ==,
		    -EIO);
		fx_free(f);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ring/init", test_init);
	g_test_add_func("/ring/init-rejects", test_init_rejects);
	g_test_add_func("/ring/single-good", test_single_good);
	g_test_add_func("/ring/resume-after-clean-stop", test_resume_after_clean_stop);
	g_test_add_func("/ring/cdb-shapes-and-bidi", test_cdb_shapes_and_bidi);
	g_test_add_func("/ring/wraparound", test_wraparound);
	g_test_add_func("/ring/out-of-order", test_out_of_order);
	g_test_add_func("/ring/sense", test_sense);
	g_test_add_func("/ring/read-len", test_read_len);
	g_test_add_func("/ring/malformed", test_malformed);
	g_test_add_func("/ring/unknown-op", test_unknown_op);
	g_test_add_func("/ring/tmr-skipped", test_tmr_skipped);
	g_test_add_func("/ring/bad-completion", test_bad_completion);
	g_test_add_func("/ring/broken-ring", test_broken_ring);
	return g_test_run();
}
