/* TCMU command ring walker: reads entries between our read pointer and cmd_head, copies CMD
 * requests out, and writes completions into the slots at cmd_tail in ring order, the way the
 * kernel's completion handler expects them. No syscalls and no allocation. */
#include <errno.h>
#include <string.h>

#include "ring.h"

#define SAM_STAT_CHECK_CONDITION 0x02
#define SCSI_VARLEN_CDB 0x7f

/* Fixed-format sense: ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00). */
static const uint8_t sense_invalid_cdb[18] = {
    [0] = 0x70, [2] = 0x05, [7] = 10, [12] = 0x24, [13] = 0x00,
};

static int ring_fail(struct rdp_ring *r, const char *why)
{
	r->broken = why;
	return -EIO;
}

static bool id_busy(const struct rdp_ring *r, uint16_t id)
{
	return r->busy_ids[id / 64] & (UINT64_C(1) << (id % 64));
}

static void id_set(struct rdp_ring *r, uint16_t id, bool busy)
{
	if (busy)
		r->busy_ids[id / 64] |= UINT64_C(1) << (id % 64);
	else
		r->busy_ids[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

/* Bytes from one ring offset forward to another. The ring size need not be a power of two:
 * the kernel makes it 8 MiB minus the mailbox. */
static uint32_t ring_dist(const struct rdp_ring *r, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : r->cmdr_size - from + to;
}

/* Entries never wrap (the kernel pads to the end instead), so len never passes the end. */
static uint32_t ring_advance(const struct rdp_ring *r, uint32_t off, uint32_t len)
{
	off += len;
	return off == r->cmdr_size ? 0 : off;
}

static void hdr_read(const struct rdp_ring *r, uint32_t off, struct tcmu_cmd_entry_hdr *h)
{
	memcpy(h, r->cmdr + off, sizeof(*h));
}

/*
 * Moves our tail over the entries at it that need no answer: PAD, TMR, and unknown-op entries
 * (already flagged in place), stopping at the first CMD slot or at the read pointer. The kernel
 * skips PAD and TMR itself; passing them early hands ring space back sooner.
 */
static void ring_skip(struct rdp_ring *r)
{
	while (r->tail != r->next) {
		struct tcmu_cmd_entry_hdr h;
		uint32_t len;

		hdr_read(r, r->tail, &h);
		if (tcmu_hdr_get_op(h.len_op) == TCMU_OP_CMD)
			break;
		/* checked when read; guards the loop if the slot was overwritten since */
		len = tcmu_hdr_get_len(h.len_op);
		if (!len || len > ring_dist(r, r->tail, r->next)) {
			ring_fail(r, "entry between cmd_tail and the read pointer changed");
			break;
		}
		r->tail = ring_advance(r, r->tail, len);
	}
}

/* One release store per call: every slot the tail passed is written before the kernel may
 * look at it. */
static void ring_publish(struct rdp_ring *r, uint32_t old_tail)
{
	if (r->tail == old_tail)
		return;
	rdp_tcmu_mb_set_tail(r->mb, r->tail);
	r->unkicked++;
}

static int ring_init(struct rdp_ring *r, void *map, size_t map_size, const uint32_t *resume_tail)
{
	struct tcmu_mailbox mb;
	uint32_t head, tail;

	memset(r, 0, sizeof(*r));
	r->broken = "not initialised";
	if (!map || map_size < sizeof(mb))
		return -EINVAL;

	memcpy(&mb, map, sizeof(mb));
	if (mb.version != TCMU_MAILBOX_VERSION)
		return -EPROTONOSUPPORT;
	/* Completions are written in the order the paths finish; a kernel that does not
	 * advertise out-of-order completion may pair them with the wrong requests. */
	if (!(mb.flags & TCMU_MAILBOX_FLAG_CAP_OOOC))
		return -EPROTONOSUPPORT;
	/* The ring must not overlap the mailbox, and entries are 8-byte aligned. */
	if (mb.cmdr_off < sizeof(mb) || mb.cmdr_off % TCMU_OP_ALIGN_SIZE)
		return -EINVAL;
	if (mb.cmdr_size < sizeof(struct tcmu_cmd_entry) || mb.cmdr_size % TCMU_OP_ALIGN_SIZE)
		return -EINVAL;
	if ((uint64_t)mb.cmdr_off + mb.cmdr_size > map_size)
		return -EINVAL;

	r->map = map;
	r->map_size = map_size;
	r->mb = map;
	r->cmdr_off = mb.cmdr_off;
	r->cmdr_size = mb.cmdr_size;
	r->cmdr = r->map + mb.cmdr_off;
	r->data_off = (size_t)mb.cmdr_off + mb.cmdr_size;
	r->cap_read_len = mb.flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN;
	r->cap_tmr = mb.flags & TCMU_MAILBOX_FLAG_CAP_TMR;

	head = rdp_tcmu_mb_head(r->mb);
	tail = rdp_tcmu_mb_tail(r->mb);
	if (head >= r->cmdr_size || tail >= r->cmdr_size || head % TCMU_OP_ALIGN_SIZE ||
	    tail % TCMU_OP_ALIGN_SIZE)
		return -EINVAL;
	/* Re-reading another process's leftovers is unsafe: with out-of-order completion some
	 * requests still in the ring were already answered, and answering again breaks the ring
	 * on the kernel side. Unless that process said, as it stopped, that it had answered
	 * everything it read and where its tail was then: what lies beyond was never read. */
	if (head != tail && (!resume_tail || *resume_tail != tail))
		return -EBUSY;

	r->next = tail;
	r->tail = tail;
	r->broken = NULL;
	return 0;
}

int rdp_ring_init(struct rdp_ring *r, void *map, size_t map_size)
{
	return ring_init(r, map, map_size, NULL);
}

int rdp_ring_resume(struct rdp_ring *r, void *map, size_t map_size, uint32_t tail)
{
	return ring_init(r, map, map_size, &tail);
}

uint32_t rdp_ring_tail(const struct rdp_ring *r)
{
	return r->tail;
}

/* Length of a CDB from its operation code, as the kernel sized it; 0 when byte 7 of a
 * variable-length CDB is not within room. */
static unsigned int cdb_length(const uint8_t *cdb, size_t room)
{
	static const uint8_t by_group[8] = {6, 10, 10, 12, 16, 12, 10, 10};

	if (cdb[0] == SCSI_VARLEN_CDB)
		return room >= 8 ? 8u + cdb[7] : 0;
	return by_group[cdb[0] >> 5];
}

/* Copies the CMD entry of len bytes at off into out. NULL when it is usable, else why not. */
static const char *ring_parse_cmd(const struct rdp_ring *r, uint32_t off, uint32_t len,
				  struct rdp_ring_cmd *out)
{
	const uint8_t *ent = r->cmdr + off;
	/* cdb_off and iovec bases count from the start of the map */
	const uint64_t ent_abs = (uint64_t)r->cmdr_off + off;
	struct tcmu_cmd_entry e;
	uint64_t niov, cdb_off;
	size_t iov_end, room;
	unsigned int cdb_len;

	memcpy(&e, ent, sizeof(e)); /* len >= sizeof(e) was checked */
	niov = (uint64_t)e.req.iov_cnt + e.req.iov_bidi_cnt;
	if (e.req.iov_dif_cnt)
		return "entry has DIF iovecs";
	if (niov > RDP_RING_MAX_IOV)
		return "entry has more iovecs than RDP_RING_MAX_IOV";
	iov_end = offsetof(struct tcmu_cmd_entry, req.iov) + niov * sizeof(struct iovec);
	if (iov_end > len)
		return "iovec array runs past the entry";

	/* The kernel puts the CDB in the entry, after the iovecs. Elsewhere it could be
	 * overwritten under us: the rest of the ring belongs to other commands. */
	cdb_off = e.req.cdb_off;
	if (cdb_off < ent_abs + iov_end || cdb_off >= ent_abs + len)
		return "CDB offset outside its entry";
	room = ent_abs + len - cdb_off;
	cdb_len = cdb_length(ent + (cdb_off - ent_abs), room);
	if (!cdb_len || cdb_len > room)
		return "CDB runs past its entry";
	if (cdb_len > RDP_RING_CDB_MAX)
		return "CDB longer than 32 bytes";

	out->xfer_len = 0;
	out->bidi_len = 0;
	for (unsigned int i = 0; i < niov; i++) {
		struct iovec v;
		uint64_t base;

		memcpy(&v, ent + offsetof(struct tcmu_cmd_entry, req.iov) + i * sizeof(v),
		       sizeof(v));
		base = (uintptr_t)v.iov_base;
		if (base < r->data_off || base > r->map_size || v.iov_len > r->map_size - base)
			return "iovec outside the data area";
		out->iov[i].iov_base = r->map + base;
		out->iov[i].iov_len = v.iov_len;
		if (i < e.req.iov_cnt)
			out->xfer_len += v.iov_len;
		else
			out->bidi_len += v.iov_len;
	}

	memcpy(out->cdb, ent + (cdb_off - ent_abs), cdb_len);
	out->cdb_len = cdb_len;
	out->iov_cnt = e.req.iov_cnt;
	out->iov_bidi_cnt = e.req.iov_bidi_cnt;
	if (out->iov_bidi_cnt)
		out->xfer = RDP_RING_XFER_BIDI;
	else if (out->xfer_len)
		out->xfer = RDP_RING_XFER_DATA;
	else
		out->xfer = RDP_RING_XFER_NONE;
	return NULL;
}

/*
 * The kernel reads completions from its last cleaned offset up to cmd_tail, in ring order,
 * skipping PAD and TMR, and finds the command by the slot's hdr.cmd_id, not by which request
 * the slot held. So a completion goes into the first CMD slot at our tail whatever command it
 * answers; len_op stays as the kernel wrote it so both sides step over the slot alike.
 */
static int ring_put_completion(struct rdp_ring *r, uint16_t cmd_id, uint8_t uflags,
			       uint8_t scsi_status, uint32_t read_len, const uint8_t *sense,
			       size_t sense_len)
{
	const uint32_t old_tail = r->tail;
	struct tcmu_cmd_entry *e;
	struct tcmu_cmd_entry_hdr h;

	if (!id_busy(r, cmd_id))
		return -ENOENT;
	/* Every move of next or tail ends with ring_skip(), so the tail rests on a CMD slot
	 * whenever a command is outstanding. */
	hdr_read(r, r->tail, &h);
	if (r->tail == r->next || tcmu_hdr_get_op(h.len_op) != TCMU_OP_CMD)
		return ring_fail(r, "no CMD slot at cmd_tail for an outstanding command");
	/* The slot's length is read again from shared memory: the kernel never changes a slot it
	 * handed over, but if something did, the tail must not leave [tail, next) (fuzzing found
	 * that it could, and then writes landed outside the map). */
	uint32_t len = tcmu_hdr_get_len(h.len_op);
	if (len < offsetof(struct tcmu_cmd_entry, rsp) + sizeof(e->rsp) ||
	    len > ring_dist(r, r->tail, r->next))
		return ring_fail(r, "the CMD slot at cmd_tail changed since it was read");

	if (sense_len > TCMU_SENSE_BUFFERSIZE)
		sense_len = TCMU_SENSE_BUFFERSIZE;
	e = (struct tcmu_cmd_entry *)(r->cmdr + r->tail);
	e->hdr.cmd_id = cmd_id;
	/* Replaces what the kernel wrote; never KEEP_BUF, which would keep the data buffer
	 * allocated until we free it through configfs. */
	e->hdr.uflags = uflags;
	e->rsp.scsi_status = scsi_status;
	e->rsp.__pad1 = 0;
	e->rsp.__pad2 = 0;
	e->rsp.read_len = read_len;
	if (sense_len)
		memcpy(e->rsp.sense_buffer, sense, sense_len);
	memset(e->rsp.sense_buffer + sense_len, 0, TCMU_SENSE_BUFFERSIZE - sense_len);

	r->tail = ring_advance(r, r->tail, len);
	ring_skip(r);
	ring_publish(r, old_tail);

	id_set(r, cmd_id, false);
	r->outstanding--;
	r->n_completed++;
	return 0;
}

static int ring_take_cmd(struct rdp_ring *r, uint32_t off, uint32_t len,
			 const struct tcmu_cmd_entry_hdr *h, struct rdp_ring_cmd *out)
{
	const char *why;
	int ret;

	if (len < sizeof(struct tcmu_cmd_entry))
		return ring_fail(r, "CMD entry too short to hold a response");
	/* The kernel hands out ids 1..65535 and reuses one only after seeing its completion. */
	if (!h->cmd_id || id_busy(r, h->cmd_id))
		return ring_fail(r, "CMD entry with a cmd_id that is 0 or still in use");

	out->cmd_id = h->cmd_id;
	out->reject = NULL;
	why = ring_parse_cmd(r, off, len, out);

	r->next = ring_advance(r, off, len);
	id_set(r, h->cmd_id, true);
	r->outstanding++;
	if (!why) {
		r->n_cmds++;
		return RDP_RING_CMD;
	}

	out->reject = why;
	out->cdb_len = 0;
	out->iov_cnt = 0;
	out->iov_bidi_cnt = 0;
	out->xfer = RDP_RING_XFER_NONE;
	out->xfer_len = 0;
	out->bidi_len = 0;
	r->n_rejected++;
	ret = ring_put_completion(r, h->cmd_id, 0, SAM_STAT_CHECK_CONDITION, 0, sense_invalid_cdb,
				  sizeof(sense_invalid_cdb));
	return ret < 0 ? ret : RDP_RING_REJECTED;
}

/* Unknown opcodes: the kernel's completion handler treats any entry that is not PAD or TMR as
 * a completion of its hdr.cmd_id, and answers UNKNOWN_OP with CHECK CONDITION. So the entry is
 * its own answer: flag it and let the tail pass it like a PAD. */
static int ring_reject_unknown(struct rdp_ring *r, uint32_t off, uint32_t len,
			       const struct tcmu_cmd_entry_hdr *h, struct rdp_ring_cmd *out)
{
	struct tcmu_cmd_entry_hdr *slot = (struct tcmu_cmd_entry_hdr *)(r->cmdr + off);
	const uint32_t old_tail = r->tail;

	slot->uflags |= TCMU_UFLAG_UNKNOWN_OP;
	r->next = ring_advance(r, off, len);
	r->n_rejected++;
	ring_skip(r);
	ring_publish(r, old_tail);

	out->cmd_id = h->cmd_id;
	out->reject = "unknown TCMU opcode";
	out->cdb_len = 0;
	out->iov_cnt = 0;
	out->iov_bidi_cnt = 0;
	out->xfer = RDP_RING_XFER_NONE;
	out->xfer_len = 0;
	out->bidi_len = 0;
	return r->broken ? -EIO : RDP_RING_REJECTED;
}

int rdp_ring_next(struct rdp_ring *r, struct rdp_ring_cmd *out)
{
	for (;;) {
		struct tcmu_cmd_entry_hdr h;
		uint32_t head, len, off, old_tail;

		if (r->broken)
			return -EIO;
		head = rdp_tcmu_mb_head(r->mb);
		if (head >= r->cmdr_size || head % TCMU_OP_ALIGN_SIZE)
			return ring_fail(r, "cmd_head outside the command ring");
		if (r->next == head)
			return RDP_RING_EMPTY;

		off = r->next;
		hdr_read(r, off, &h);
		len = tcmu_hdr_get_len(h.len_op);
		if (!len || len > ring_dist(r, off, head) || len > r->cmdr_size - off)
			return ring_fail(r, "entry length runs past cmd_head or the ring end");

		switch (tcmu_hdr_get_op(h.len_op)) {
		case TCMU_OP_PAD:
		case TCMU_OP_TMR:
			/* TMR: aborts and resets. SG v3 cannot abort a queued request and the
			 * commands named still get their completions, so it needs no action. */
			if (tcmu_hdr_get_op(h.len_op) == TCMU_OP_TMR)
				r->n_tmr++;
			old_tail = r->tail;
			r->next = ring_advance(r, off, len);
			ring_skip(r);
			ring_publish(r, old_tail);
			break;
		case TCMU_OP_CMD:
			return ring_take_cmd(r, off, len, &h, out);
		default:
			return ring_reject_unknown(r, off, len, &h, out);
		}
	}
}

int rdp_ring_complete(struct rdp_ring *r, uint16_t cmd_id, uint8_t scsi_status,
		      const uint8_t *sense, size_t sense_len, uint32_t read_len)
{
	uint8_t uflags = 0;
	uint32_t rlen = 0;

	if (r->broken)
		return -EIO;
	if (sense_len && !sense)
		return -EINVAL;
	if (read_len != RDP_RING_NO_READ_LEN && r->cap_read_len) {
		uflags |= TCMU_UFLAG_READ_LEN;
		rlen = read_len;
	}
	return ring_put_completion(r, cmd_id, uflags, scsi_status, rlen, sense, sense_len);
}

unsigned int rdp_ring_outstanding(const struct rdp_ring *r)
{
	return r->outstanding;
}

bool rdp_ring_needs_kick(const struct rdp_ring *r)
{
	return r->unkicked > 0;
}

void rdp_ring_kicked(struct rdp_ring *r)
{
	r->unkicked = 0;
}
