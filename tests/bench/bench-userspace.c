/* Userspace cost of one command, without a VM: an in-memory TCMU map laid out like the kernel's, a
 * model of the kernel that queues READ(10)/WRITE(10) and reaps completions, and between them what
 * handler/device.c does per command (ring walker -> engine -> null path backend -> completion ->
 * ring -> one kick per batch), minus uio, syscalls and the GLib main loop.
 * tests/bench/run-userspace builds it, runs it, and counts instructions per command under
 * callgrind. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <glib.h>

#include "be.h"
#include <librdp/rdp.h>
#include "ring.h"

/* ---- the kernel side (drivers/target/target_core_user.c, as of Linux 6.1) ---- */

#define K_MB_CMDR_SIZE (8u << 20) /* MB_CMDR_SIZE_DEF: mailbox + command ring */
#define K_BLOCK 4096u		  /* one data block per page */
#define K_DATA_MB_DEF 1024u	  /* max_data_area_mb default (256 Ki pages) */
#define K_QD_DEF 128u		  /* hw_queue_depth the kernel sets for a TCMU device */
#define K_MAX_BLK 32u		  /* 128 KiB */
#define K_CDB_LEN 10u
/* what Debian's 6.1 kernel advertises */
#define K_MB_FLAGS                                                                                 \
	(TCMU_MAILBOX_FLAG_CAP_OOOC | TCMU_MAILBOX_FLAG_CAP_READ_LEN | TCMU_MAILBOX_FLAG_CAP_TMR | \
	 TCMU_MAILBOX_FLAG_CAP_KEEP_BUF)

/* A function the profile must see whole and under its own name (callgrind toggles on some). */
#if defined(__clang__)
#define BENCH_KEEP __attribute__((noinline))
#else
#define BENCH_KEEP __attribute__((noipa))
#endif

#define LUN_BLOCK_SIZE 512u
#define LUN_BLOCKS (UINT64_C(1) << 31) /* 1 TiB */

/* One command the kernel has in the ring: what it must free and check when it comes back. */
struct kslot {
	uint16_t id;
	uint8_t opcode;
	uint8_t nblk;
	uint32_t blk[K_MAX_BLK];
};

struct kmodel {
	uint8_t *map;
	size_t map_size;
	struct tcmu_mailbox *mb;
	uint8_t *cmdr;
	uint32_t cmdr_off;
	uint32_t cmdr_size;
	uint32_t head;
	uint32_t last_cleaned;

	/* data area: a bitmap, lowest free block first (find_first_zero_bit) */
	uint32_t nblocks;
	uint64_t *bitmap;
	uint32_t blocks_used, blocks_peak;

	/* command ids, allocated cyclically from 1 (xa_alloc_cyclic) */
	uint16_t id_next;
	uint16_t slot_of[65536]; /* 0: free; else slot index + 1 */
	struct kslot *slots;
	unsigned int *free_slots;
	unsigned int nfree, qd;

	/* the load */
	unsigned int big_every; /* one command in big_every is 128 KiB */
	unsigned int read_pct;
	bool scatter; /* one iovec per block, as from a fragmented data area */
	uint64_t rng;

	/* what happened */
	uint64_t queued, reaped, pads, iovs, bad;
	const char *bad_why;
};

static uint64_t k_rand(struct kmodel *k)
{
	/* xorshift64: cheap, deterministic, no libc state */
	k->rng ^= k->rng << 13;
	k->rng ^= k->rng >> 7;
	k->rng ^= k->rng << 17;
	return k->rng;
}

static void k_bad(struct kmodel *k, const char *why)
{
	if (!k->bad++)
		k->bad_why = why;
}

static int k_init(struct kmodel *k, unsigned int data_mb, unsigned int qd)
{
	struct tcmu_mailbox *mb;

	k->map_size = (size_t)K_MB_CMDR_SIZE + ((size_t)data_mb << 20);
	/* pages of the data area exist only once touched, as with the kernel's map */
	k->map = mmap(NULL, k->map_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (k->map == MAP_FAILED)
		return -errno;
	mb = (struct tcmu_mailbox *)k->map;
	mb->version = TCMU_MAILBOX_VERSION;
	mb->flags = K_MB_FLAGS;
	mb->cmdr_off = sizeof(struct tcmu_mailbox);
	mb->cmdr_size = K_MB_CMDR_SIZE - sizeof(struct tcmu_mailbox);
	k->mb = mb;
	k->cmdr_off = mb->cmdr_off;
	k->cmdr_size = mb->cmdr_size;
	k->cmdr = k->map + k->cmdr_off;
	k->nblocks = (uint32_t)(((size_t)data_mb << 20) / K_BLOCK);
	k->bitmap = g_new0(uint64_t, (k->nblocks + 63) / 64);
	k->id_next = 1;
	k->qd = qd;
	k->slots = g_new0(struct kslot, qd);
	k->free_slots = g_new(unsigned int, qd);
	for (unsigned int i = 0; i < qd; i++)
		k->free_slots[i] = qd - 1 - i;
	k->nfree = qd;
	k->rng = 0x9e3779b97f4a7c15ull;
	return 0;
}

static void k_free(struct kmodel *k)
{
	munmap(k->map, k->map_size);
	g_free(k->bitmap);
	g_free(k->slots);
	g_free(k->free_slots);
}

static uint32_t k_alloc_block(struct kmodel *k)
{
	for (uint32_t w = 0; w < (k->nblocks + 63) / 64; w++) {
		if (k->bitmap[w] == UINT64_MAX)
			continue;
		uint32_t b = w * 64 + (uint32_t)__builtin_ctzll(~k->bitmap[w]);
		k->bitmap[w] |= UINT64_C(1) << (b % 64);
		if (++k->blocks_used > k->blocks_peak)
			k->blocks_peak = k->blocks_used;
		return b;
	}
	return UINT32_MAX;
}

static void k_free_block(struct kmodel *k, uint32_t b)
{
	k->bitmap[b / 64] &= ~(UINT64_C(1) << (b % 64));
	k->blocks_used--;
}

static uint16_t k_alloc_id(struct kmodel *k)
{
	while (!k->id_next || k->slot_of[k->id_next])
		k->id_next++;
	return k->id_next++;
}

/* Bytes of a CMD entry with n iovecs: never shorter than a whole entry (the response overlays
 * it), then the CDB, padded to TCMU_OP_ALIGN_SIZE (tcmu_cmd_get_base_cmd_size/_cmd_size). */
static uint32_t k_entry_size(unsigned int niov)
{
	size_t base = offsetof(struct tcmu_cmd_entry, req.iov) + niov * sizeof(struct iovec);

	if (base < sizeof(struct tcmu_cmd_entry))
		base = sizeof(struct tcmu_cmd_entry);
	return (uint32_t)((base + K_CDB_LEN + TCMU_OP_ALIGN_SIZE - 1) & ~(TCMU_OP_ALIGN_SIZE - 1));
}

static uint32_t k_ring_used(const struct kmodel *k)
{
	return k->head >= k->last_cleaned ? k->head - k->last_cleaned
					  : k->cmdr_size - k->last_cleaned + k->head;
}

/* Queue one command (queue_cmd_ring): false when the queue depth, the data area or the ring is
 * full. Every command is READ(10) or WRITE(10); the payload is not copied (nobody reads it). */
static bool k_queue_one(struct kmodel *k)
{
	const bool big = k->big_every && k->queued % k->big_every == k->big_every - 1;
	const unsigned int nblk = big ? K_MAX_BLK : 1;
	const bool read = k_rand(k) % 100 < k->read_pct;
	uint32_t size = k_entry_size(nblk), to_end, off;
	struct tcmu_cmd_entry *e;
	struct kslot *s;

	if (!k->nfree || k->blocks_used + nblk > k->nblocks)
		return false;
	/* one byte always stays free; an entry that does not fit before the end pads to it */
	to_end = k->cmdr_size - k->head;
	if (k_ring_used(k) + (to_end < size ? to_end + size : size) >= k->cmdr_size)
		return false;
	if (to_end < size) {
		struct tcmu_cmd_entry_hdr *pad = (struct tcmu_cmd_entry_hdr *)(k->cmdr + k->head);

		memset(pad, 0, sizeof(*pad));
		pad->len_op = to_end | TCMU_OP_PAD;
		k->head = 0;
		rdp_tcmu_mb_set_head(k->mb, 0);
		k->pads++;
	}
	off = k->head;

	s = &k->slots[k->free_slots[--k->nfree]];
	s->id = k_alloc_id(k);
	s->opcode = read ? 0x28 : 0x2a;
	s->nblk = (uint8_t)nblk;
	k->slot_of[s->id] = (uint16_t)(s - k->slots + 1);

	e = (struct tcmu_cmd_entry *)(k->cmdr + off);
	memset(e, 0, size);
	e->hdr.len_op = TCMU_OP_CMD;
	e->hdr.cmd_id = s->id;

	/* adjacent blocks share an iovec (new_block_to_iov) */
	unsigned int niov = 0;
	struct iovec v = {0};
	for (unsigned int i = 0; i < nblk; i++) {
		uint32_t b = k_alloc_block(k);
		uint64_t at = K_MB_CMDR_SIZE + (uint64_t)b * K_BLOCK;

		s->blk[i] = b;
		if (niov && !k->scatter && (uintptr_t)v.iov_base + v.iov_len == at) {
			v.iov_len += K_BLOCK;
			continue;
		}
		if (niov)
			memcpy(&e->req.iov[niov - 1], &v, sizeof(v));
		v.iov_base = (void *)(uintptr_t)at;
		v.iov_len = K_BLOCK;
		niov++;
	}
	memcpy(&e->req.iov[niov - 1], &v, sizeof(v));
	e->req.iov_cnt = niov;
	k->iovs += niov;

	/* sized by the iovecs actually used, as the kernel recomputes it */
	size = k_entry_size(niov);
	e->hdr.len_op = size | TCMU_OP_CMD;
	size_t base = size - ((K_CDB_LEN + TCMU_OP_ALIGN_SIZE - 1) & ~(TCMU_OP_ALIGN_SIZE - 1));
	e->req.cdb_off = k->cmdr_off + off + base;

	uint8_t *cdb = k->map + e->req.cdb_off;
	uint64_t lba = (k_rand(k) % (LUN_BLOCKS - 256)) & ~UINT64_C(7);
	cdb[0] = s->opcode;
	rdp_put_be32((uint32_t)lba, cdb + 2);
	rdp_put_be16((uint16_t)(nblk * K_BLOCK / LUN_BLOCK_SIZE), cdb + 7);

	k->head = (off + size) % k->cmdr_size;
	rdp_tcmu_mb_set_head(k->mb, k->head);
	k->queued++;
	return true;
}

/* Fill the queue up to its depth; at most `budget` commands. Returns how many went in. */
static uint64_t k_produce(struct kmodel *k, uint64_t budget)
{
	uint64_t n = 0;

	while (n < budget && k_queue_one(k))
		n++;
	return n;
}

/* The kick (tcmu_handle_completions): from last_cleaned up to cmd_tail, skip PAD and TMR, take
 * every other entry as the completion of its hdr.cmd_id, free its data blocks and its id. */
static void k_reap(struct kmodel *k)
{
	uint32_t tail = rdp_tcmu_mb_tail(k->mb);

	while (k->last_cleaned != tail) {
		struct tcmu_cmd_entry *e = (struct tcmu_cmd_entry *)(k->cmdr + k->last_cleaned);
		uint32_t len = tcmu_hdr_get_len(e->hdr.len_op);

		if (!len || k->last_cleaned + len > k->cmdr_size) {
			k_bad(k, "completion entry of a bad length");
			return;
		}
		if (tcmu_hdr_get_op(e->hdr.len_op) == TCMU_OP_CMD) {
			uint16_t slot = k->slot_of[e->hdr.cmd_id];
			if (!slot) {
				k_bad(k, "completion for a cmd_id not in flight");
				return;
			}
			struct kslot *s = &k->slots[slot - 1];
			if (e->rsp.scsi_status != RDP_SAM_GOOD || e->hdr.uflags)
				k_bad(k, "a command completed other than GOOD");
			for (unsigned int i = 0; i < s->nblk; i++)
				k_free_block(k, s->blk[i]);
			k->slot_of[s->id] = 0;
			k->free_slots[k->nfree++] = (unsigned int)(s - k->slots);
			k->reaped++;
		} else if (tcmu_hdr_get_op(e->hdr.len_op) != TCMU_OP_PAD) {
			k_bad(k, "unexpected entry between last_cleaned and cmd_tail");
		}
		k->last_cleaned = (k->last_cleaned + len) % k->cmdr_size;
	}
}

/* ---- the null path backend: answers the attach probes, completes every request GOOD ---- */

struct null_path {
	uint64_t submitted;
};

/* Requests submitted and not yet completed: the bench's stand-in for the sg fds polling
 * readable. A ring buffer, so steady state allocates nothing. */
static struct {
	struct rdp_req **q;
	size_t cap, head, len;
} pending;

static const uint8_t null_naa[8] = {0x50, 0x01, 0x40, 0x50, 0xbe, 0x9c, 0x00, 0x01};

static int null_open(const char *dev, void **ctx)
{
	*ctx = g_new0(struct null_path, 1);
	return 0;
}

static void null_close(void *ctx)
{
	g_free(ctx);
}

static void pending_grow(size_t cap)
{
	struct rdp_req **q = g_new(struct rdp_req *, cap);

	for (size_t i = 0; i < pending.len; i++)
		q[i] = pending.q[(pending.head + i) % pending.cap];
	g_free(pending.q);
	pending.q = q;
	pending.cap = cap;
	pending.head = 0;
}

static int null_submit(void *ctx, struct rdp_req *req)
{
	struct null_path *p = ctx;

	if (pending.len == pending.cap)
		pending_grow(pending.cap ? pending.cap * 2 : 1024);
	pending.q[(pending.head + pending.len++) % pending.cap] = req;
	p->submitted++;
	return 0;
}

/* The event loop's part: every request that was pending when called completes, GOOD, nothing
 * transferred that anybody checks (a null device). Returns how many. Not inlined, so that the
 * profile keeps the null backend apart from the daemon's glue. */
static BENCH_KEEP size_t null_poll(void)
{
	size_t n = pending.len;

	for (size_t i = 0; i < n; i++) {
		struct rdp_req *req = pending.q[pending.head];
		pending.head = (pending.head + 1) % pending.cap;
		pending.len--;
		memset(&req->res, 0, sizeof(req->res));
		req->complete(req);
	}
	return n;
}

static void null_reply(struct rdp_req *req, const uint8_t *data, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < req->iov_cnt && done < len; i++) {
		size_t n = MIN(req->iov[i].iov_len, len - done);
		memcpy(req->iov[i].iov_base, data + done, n);
		done += n;
	}
	req->res.resid = (int32_t)(req->xfer_len - done);
}

static void null_sense(struct rdp_req *req, uint8_t key, uint8_t asc)
{
	memset(req->sense, 0, 18);
	req->sense[0] = 0x70;
	req->sense[2] = key;
	req->sense[7] = 10;
	req->sense[12] = asc;
	req->res.sense_len = 18;
	req->res.status = RDP_SAM_CHECK_CONDITION;
}

/* What rdp_lun_open() asks: standard INQUIRY, VPD 0x83 (one NAA designator), READ CAPACITY(16).
 * Other VPD pages are refused, which the engine takes as "not cached". */
static int null_exec_sync(void *ctx, struct rdp_req *req)
{
	uint8_t buf[36] = {0};

	memset(&req->res, 0, sizeof(req->res));
	switch (req->cdb[0]) {
	case 0x12:
		if (!(req->cdb[1] & 1)) {
			buf[2] = 0x06; /* SPC-4 */
			buf[3] = 0x02;
			buf[4] = 31;
			memcpy(buf + 8, "NULL    bench-lun       0001", 28);
			null_reply(req, buf, 36);
		} else if (req->cdb[2] == 0x83) {
			uint8_t p[4 + 4 + 8] = {0x00, 0x83, 0x00, 12, 0x01, 0x03, 0x00, 8};
			memcpy(p + 8, null_naa, sizeof(null_naa));
			null_reply(req, p, sizeof(p));
		} else {
			null_sense(req, 0x05, 0x24);
		}
		break;
	case 0x9e:
		rdp_put_be64(LUN_BLOCKS - 1, buf);
		rdp_put_be32(LUN_BLOCK_SIZE, buf + 8);
		null_reply(req, buf, 32);
		break;
	default:
		break;
	}
	return 0;
}

static const struct rdp_backend_ops null_backend = {
    .size = sizeof(struct rdp_backend_ops),
    .name = "null",
    .open = null_open,
    .close = null_close,
    .submit = null_submit,
    .exec_sync = null_exec_sync,
};

/* ---- the daemon's part (what handler/device.c does per command, without uio) ---- */

#define DEV_CMD_INLINE_IOV 32
#define DEV_CMD_CHUNK 64

struct bench_cmd {
	struct rdp_cmd c;
	struct bench_dev *dev;
	uint16_t cmd_id;
	struct iovec iov_inline[DEV_CMD_INLINE_IOV];
	struct iovec *iov_heap;
	struct bench_cmd *next_free;
};

struct bench_dev {
	struct rdp_ring ring;
	struct rdp_ring_cmd scratch;
	struct rdp_lun *lun;
	unsigned int inflight;
	struct bench_cmd *free_cmds;
	GPtrArray *chunks;
	bool kick_scheduled;
	uint64_t kicks, rejected, complete_errors;
};

static void dev_cmd_done(struct rdp_cmd *c)
{
	struct bench_cmd *bc = (struct bench_cmd *)c;
	struct bench_dev *dev = bc->dev;
	uint32_t read_len = RDP_RING_NO_READ_LEN;

	if (c->dir == RDP_DIR_FROM_DEV && c->resid > 0 && (size_t)c->resid < c->xfer_len)
		read_len = (uint32_t)(c->xfer_len - (size_t)c->resid);
	int rc =
	    rdp_ring_complete(&dev->ring, bc->cmd_id, c->status, c->sense, c->sense_len, read_len);
	if (rc < 0)
		dev->complete_errors++;
	g_free(bc->iov_heap);
	bc->iov_heap = NULL;
	bc->next_free = dev->free_cmds;
	dev->free_cmds = bc;
	dev->inflight--;
	dev->kick_scheduled = true; /* the daemon's g_idle_add, once per loop iteration */
}

static struct bench_cmd *dev_cmd_get(struct bench_dev *dev)
{
	if (!dev->free_cmds) {
		struct bench_cmd *chunk = g_new0(struct bench_cmd, DEV_CMD_CHUNK);
		g_ptr_array_add(dev->chunks, chunk);
		for (int i = 0; i < DEV_CMD_CHUNK; i++) {
			chunk[i].dev = dev;
			chunk[i].next_free = dev->free_cmds;
			dev->free_cmds = &chunk[i];
		}
	}
	struct bench_cmd *bc = dev->free_cmds;
	dev->free_cmds = bc->next_free;
	return bc;
}

static BENCH_KEEP void dev_run_ring(struct bench_dev *dev)
{
	struct rdp_ring_cmd *rc = &dev->scratch;

	for (;;) {
		int r = rdp_ring_next(&dev->ring, rc);
		if (r == RDP_RING_EMPTY || r < 0)
			break;
		if (r == RDP_RING_REJECTED) {
			dev->rejected++;
			dev->kick_scheduled = true;
			continue;
		}
		struct bench_cmd *bc = dev_cmd_get(dev);
		struct rdp_cmd *c = &bc->c;
		bc->cmd_id = rc->cmd_id;
		memcpy(c->cdb, rc->cdb, rc->cdb_len);
		c->cdb_len = rc->cdb_len;
		c->iov_cnt = rc->iov_cnt;
		c->xfer_len = rc->xfer_len;
		c->iov = bc->iov_inline;
		if (rc->iov_cnt > DEV_CMD_INLINE_IOV)
			c->iov = bc->iov_heap = g_new(struct iovec, rc->iov_cnt);
		memcpy(c->iov, rc->iov, rc->iov_cnt * sizeof(struct iovec));
		c->done = dev_cmd_done;
		c->priv = bc;
		dev->inflight++;
		if (rc->xfer == RDP_RING_XFER_BIDI) {
			rdp_lun_submit_error(dev->lun, c, 0x05, 0x20, 0x00);
			continue;
		}
		rdp_lun_submit(dev->lun, c);
	}
}

static void dev_kick(struct bench_dev *dev)
{
	if (!dev->kick_scheduled)
		return;
	dev->kick_scheduled = false;
	if (rdp_ring_needs_kick(&dev->ring)) {
		rdp_ring_kicked(&dev->ring);
		dev->kicks++;
	}
}

/* The daemon's clock (lib/loop.c, rdp_loop_clock_ns): one reading per main-loop iteration,
 * shared by all its dispatches. Here a batch counts as two iterations (the uio wake-up, then the
 * sg wake-up), which is fewer commands per reading than the daemon gets when busy. */
static uint64_t loop_now_ns;
static bool loop_fresh;

static uint64_t loop_clock(void)
{
	if (!loop_fresh) {
		loop_now_ns = (uint64_t)g_get_monotonic_time() * 1000;
		loop_fresh = true;
	}
	return loop_now_ns;
}

/* One main-loop round of the daemon: the uio fd was readable (read every new command and submit
 * it), the paths' fds were readable (complete what finished), then the idle kick. The kernel's
 * reap that the kick would start is not part of it. */
static BENCH_KEEP void bench_userspace_batch(struct bench_dev *dev)
{
	loop_fresh = false;
	dev_run_ring(dev);
	loop_fresh = false;
	null_poll();
	dev_kick(dev);
}

/* The same, for the measured phase only: run-userspace has callgrind count inside this. */
static BENCH_KEEP void bench_measured_batch(struct bench_dev *dev)
{
	bench_userspace_batch(dev);
	__asm__ volatile("" ::: "memory"); /* a real call, not a tail jump: a plain toggle */
}

/* ---- driver ---- */

struct opts {
	uint64_t cmds, warmup;
	unsigned int qd, big_every, read_pct, data_mb, repeat;
	bool fake_clock, call_clock, scatter, verbose;
};

static uint64_t fake_ns = 1000000000ull;

/* A clock that costs nothing: shows how much of the per-command time is clock reads. */
static uint64_t fake_clock(void)
{
	return fake_ns += 250;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Heap bytes in use. glibc counts chunks parked in its per-thread cache (tcache) as in use, so
 * the figures are exact only with GLIBC_TUNABLES=glibc.malloc.tcache_count=0 (run-userspace sets
 * it; the measured loop allocates nothing, so it costs no speed). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static unsigned int log_warnings;
static bool log_verbose;

static GLogWriterOutput quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				     gpointer data)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		log_warnings++;
	else if (!log_verbose)
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_standard_streams(level, fields, n, data);
}

/* Run `cmds` commands through; ticks the engine every 100 ms of wall time like the daemon's
 * timer (outside the measured batches). Returns the ns spent inside the batches. */
static uint64_t run_phase(struct kmodel *k, struct bench_dev *dev, uint64_t cmds, bool measured,
			  uint64_t *batches, uint64_t *last_tick)
{
	uint64_t left = cmds, user_ns = 0;

	while (left || k->reaped < k->queued) {
		left -= k_produce(k, left);
		uint64_t t0 = wall_ns();
		if (measured)
			bench_measured_batch(dev);
		else
			bench_userspace_batch(dev);
		uint64_t t1 = wall_ns();
		user_ns += t1 - t0;
		(*batches)++;
		k_reap(k);
		if (k->bad)
			break;
		if (t1 - *last_tick >= 100000000ull) {
			rdp_lun_tick(dev->lun);
			*last_tick = t1;
		}
	}
	return user_ns;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--cmds N] [--warmup N] [--qd N] [--big-every N] [--read-pct P]\n"
		"          [--data-mb MB] [--repeat R] [--fake-clock] [--clock-per-call] [--scatter]\n"
		"          [--verbose]\n"
		"  --fake-clock  the engine's clock costs nothing (shows what clock reads cost)\n"
		"  --clock-per-call  a clock reading at every engine call (the daemon before the loop clock)\n"
		"  --scatter     one iovec per 4 KiB block, as from a fragmented data area\n",
		argv0);
}

static bool parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.cmds = 2000000,
			   .warmup = 200000,
			   .qd = K_QD_DEF,
			   .big_every = 16,
			   .read_pct = 50,
			   .data_mb = K_DATA_MB_DEF,
			   .repeat = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end = NULL;
		unsigned long long v = 0;

		if (!strcmp(a, "--fake-clock")) {
			o->fake_clock = true;
			continue;
		}
		if (!strcmp(a, "--clock-per-call")) {
			o->call_clock = true;
			continue;
		}
		if (!strcmp(a, "--scatter")) {
			o->scatter = true;
			continue;
		}
		if (!strcmp(a, "--verbose")) {
			o->verbose = true;
			continue;
		}
		if (i + 1 >= argc)
			return false;
		v = strtoull(argv[++i], &end, 10);
		if (!end || *end)
			return false;
		if (!strcmp(a, "--cmds"))
			o->cmds = v;
		else if (!strcmp(a, "--warmup"))
			o->warmup = v;
		else if (!strcmp(a, "--qd"))
			o->qd = (unsigned int)v;
		else if (!strcmp(a, "--big-every"))
			o->big_every = (unsigned int)v;
		else if (!strcmp(a, "--read-pct"))
			o->read_pct = (unsigned int)v;
		else if (!strcmp(a, "--data-mb"))
			o->data_mb = (unsigned int)v;
		else if (!strcmp(a, "--repeat"))
			o->repeat = (unsigned int)v;
		else
			return false;
	}
	return o->cmds && o->qd && o->qd <= 65535 && o->read_pct <= 100 && o->repeat &&
	       o->data_mb >= 1 && o->data_mb <= 65536 &&
	       (uint64_t)o->qd * K_MAX_BLK * K_BLOCK <= ((uint64_t)o->data_mb << 20);
}

/* One measured run. cpu/total below 1 means the process was preempted (a loaded machine): its
 * times are then upper bounds. */
struct run {
	uint64_t user_ns;  /* inside the batches: the userspace cost */
	uint64_t total_ns; /* the whole phase, kernel model included */
	uint64_t cpu_ns;   /* process CPU time over the phase */
};

static int cmp_run(const void *a, const void *b)
{
	uint64_t x = ((const struct run *)a)->user_ns, y = ((const struct run *)b)->user_ns;
	return x < y ? -1 : x > y;
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "bench-userspace: %s: %s\n", what, why);
	return 1;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct kmodel *k;
	GError *err = NULL;

	if (!parse_opts(argc, argv, &o)) {
		usage(argv[0]);
		return 2;
	}
	log_verbose = o.verbose;
	g_log_set_writer_func(quiet_writer, NULL, NULL);

	/* the bench's own furniture first, so the heap deltas below are the LUN's */
	k = g_new0(struct kmodel, 1);
	int rc = k_init(k, o.data_mb, o.qd);
	if (rc < 0)
		return fail("mapping the ring", g_strerror(-rc));
	k->big_every = o.big_every;
	k->read_pct = o.read_pct;
	k->scatter = o.scatter;
	pending_grow(2 * o.qd + 64); /* queue depth plus checker commands: never grows later */

	char *paths[] = {"null0", "null1", NULL};
	struct rdp_lun_spec spec = {
	    .name = "bench",
	    .paths = paths,
	    .selector = RDP_SEL_ROUND_ROBIN,
	    .grouping = RDP_GROUP_MULTIBUS,
	    .no_path_retry = RDP_NO_PATH_QUEUE,
	};
	struct rdp_env env = {.size = sizeof(struct rdp_env),
			      .backend = &null_backend,
			      .now_ns = o.fake_clock ? fake_clock : o.call_clock ? NULL : loop_clock};

	/* GLib's one-time allocations (log, quarks, error strings) belong to the process: open and
	 * close a LUN once before counting */
	struct rdp_lun *lun = rdp_lun_open(&spec, &env, &err);
	if (!lun)
		return fail("rdp_lun_open", err->message);
	rdp_lun_close(lun);

	size_t heap0 = heap_in_use();
	lun = rdp_lun_open(&spec, &env, &err);
	if (!lun)
		return fail("rdp_lun_open", err->message);
	if (!rdp_lun_check_frontend(lun, LUN_BLOCKS * LUN_BLOCK_SIZE, LUN_BLOCK_SIZE, &err))
		return fail("rdp_lun_check_frontend", err->message);
	rdp_lun_set_no_path_timeout(lun, 27000);
	size_t heap_lun = heap_in_use();

	struct bench_dev *dev = g_new0(struct bench_dev, 1);
	dev->lun = lun;
	dev->chunks = g_ptr_array_new_with_free_func(g_free);
	rc = rdp_ring_init(&dev->ring, k->map, k->map_size);
	if (rc < 0)
		return fail("rdp_ring_init", g_strerror(-rc));
	size_t heap_dev = heap_in_use();

	uint64_t batches = 0, last_tick = wall_ns();
	run_phase(k, dev, o.warmup, false, &batches, &last_tick);
	struct run *runs = g_new0(struct run, o.repeat);
	uint64_t m_batches = 0;
	for (unsigned int r = 0; r < o.repeat && !k->bad; r++) {
		uint64_t t0 = wall_ns(), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		m_batches = 0;
		runs[r].user_ns = run_phase(k, dev, o.cmds, true, &m_batches, &last_tick);
		runs[r].total_ns = wall_ns() - t0;
		runs[r].cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	size_t heap_run = heap_in_use();

	/* everything that went in came back, GOOD, through the ring */
	const struct rdp_lun_stats *st = rdp_lun_stats(lun);
	uint64_t expect = o.warmup + o.cmds * o.repeat;
	if (k->bad)
		return fail("kernel model", k->bad_why);
	if (k->queued != expect || k->reaped != expect || st->completed != expect ||
	    st->errors_returned || st->failovers || dev->rejected || dev->complete_errors ||
	    dev->inflight || log_warnings)
		return fail("check",
			    "not every command completed GOOD exactly once (see counters)");

	uint64_t path_cmds[2];
	for (unsigned int i = 0; i < 2; i++)
		path_cmds[i] = rdp_path_stats(rdp_lun_path(lun, i))->cmds;
	uint64_t kicks = dev->kicks;

	g_ptr_array_unref(dev->chunks);
	g_free(dev);
	rdp_lun_close(lun);
	size_t heap_closed = heap_in_use();

	qsort(runs, o.repeat, sizeof(*runs), cmp_run);
	double best_user = (double)runs[0].user_ns, med_user = (double)runs[o.repeat / 2].user_ns;
	double best_total = (double)runs[0].total_ns;
	double cps = (double)o.cmds / (best_user / 1e9);
	size_t per_lun = heap_run - heap0;
	const char *tunables = getenv("GLIBC_TUNABLES");
	bool exact = tunables && strstr(tunables, "glibc.malloc.tcache_count=0");

	printf("tcmu-rdp userspace benchmark: 1 LUN, 2 null paths, round-robin, multibus\n");
	printf("  load          READ(10)/WRITE(10) %u%% reads, 4 KiB; 1 in %u is 128 KiB; QD %u; "
	       "%.2f iovecs/cmd%s\n",
	       o.read_pct, o.big_every, o.qd, (double)k->iovs / (double)k->queued,
	       o.scatter ? " (scattered data blocks)" : "");
	printf("  clock         %s\n",
	       o.fake_clock   ? "fake (free)"
	       : o.call_clock ? "CLOCK_MONOTONIC at every engine call"
			      : "CLOCK_MONOTONIC once per loop iteration (as the daemon)");
	printf("  commands      %" PRIu64 " measured x %u run(s), after %" PRIu64
	       " warm-up; %" PRIu64 " batches/run, %" PRIu64 " kicks and %" PRIu64
	       " ring wraps in all\n",
	       o.cmds, o.repeat, o.warmup, m_batches, kicks, k->pads);
	printf("  paths         null0 %" PRIu64 ", null1 %" PRIu64 " commands\n", path_cmds[0],
	       path_cmds[1]);
	printf("  userspace     %.3f s best, %.3f s median -> %.0f cmds/s, %.0f ns/cmd\n",
	       best_user / 1e9, med_user / 1e9, cps, best_user / (double)o.cmds);
	printf("  with kernel   %.3f s (the kernel model's share included) -> %.0f cmds/s; the "
	       "process had the CPU %.0f%% of that time\n",
	       best_total / 1e9, (double)o.cmds / (best_total / 1e9),
	       100.0 * (double)runs[0].cpu_ns / best_total);
	if (!heap_run)
		printf("  heap per LUN  unknown: mallinfo2() says 0 (under memcheck or ASan?)\n");
	else
		printf("  heap per LUN  %.1f KiB: engine (rdp_lun_open) %.1f KiB, device %.1f KiB, "
		       "command pool %.1f KiB; after close %+lld B\n",
		       per_lun / 1024.0, (heap_lun - heap0) / 1024.0,
		       (heap_dev - heap_lun) / 1024.0, (heap_run - heap_dev) / 1024.0,
		       (long long)heap_closed - (long long)heap0);
	if (heap_run && !exact)
		printf("  (approximate: set GLIBC_TUNABLES=glibc.malloc.tcache_count=0)\n");
	printf("  kernel map    %zu MiB (8 MiB mailbox+ring, %u MiB data area), not ours: data "
	       "blocks in use at most %u (%.0f KiB)\n",
	       k->map_size >> 20, o.data_mb, k->blocks_peak, k->blocks_peak * (K_BLOCK / 1024.0));
	printf("RESULT cmds=%" PRIu64 " user_ns=%" PRIu64 " cmds_per_s=%.0f heap_per_lun=%zu "
	       "heap_engine=%zu heap_device=%zu heap_pool=%zu map_bytes=%zu data_blocks_peak=%u\n",
	       o.cmds, runs[0].user_ns, cps, per_lun, heap_lun - heap0, heap_dev - heap_lun,
	       heap_run - heap_dev, k->map_size, k->blocks_peak);

	g_free(runs);
	k_free(k);
	g_free(k);
	g_free(pending.q);
	return 0;
}
