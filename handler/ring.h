/* The TCMU command ring: copies the SCSI commands the kernel queues in the uio mmap out of the
 * ring and writes their completions back. Memory work only: the caller owns the uio fd and the
 * mmap, acknowledges wake-ups (4-byte read) and kicks the kernel (4-byte write). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcmu-abi.h"

/*
 * Most iovecs one command may carry (data-out/in plus bidi). The sg driver refuses more than
 * UIO_MAXIOV (1024) iovecs in one SG v3 request, so a command with more could not be passed on
 * anyway. With the kernel's defaults (4 KiB data blocks, hw_max_sectors 128) a command needs at
 * most a few dozen. An entry with more is completed with CHECK CONDITION, INVALID FIELD IN CDB.
 */
#define RDP_RING_MAX_IOV 1024
#define RDP_RING_CDB_MAX 32
/* read_len argument of rdp_ring_complete(): the whole buffer is valid (or not a read) */
#define RDP_RING_NO_READ_LEN UINT32_MAX

/* rdp_ring_next() results; negative errno when the ring is broken. */
enum rdp_ring_next_result {
	RDP_RING_EMPTY = 0,   /* nothing new up to cmd_head */
	RDP_RING_CMD = 1,     /* a command was copied out: execute it, then rdp_ring_complete() */
	RDP_RING_REJECTED = 2 /* an entry was answered in the ring itself; cmd_id and reject say
			       * which and why. Nothing to execute or complete; kick later. */
};

/*
 * The ring does not say which way data flows: for a plain command the kernel always hands out
 * the data buffer the same way (iov_cnt iovecs, already filled for a write), whatever the
 * direction. The CDB decides it, so the caller does; xfer says only what the iovecs hold.
 */
enum rdp_ring_xfer {
	RDP_RING_XFER_NONE, /* no data buffer */
	RDP_RING_XFER_DATA, /* one buffer, xfer_len bytes: direction from the CDB */
	RDP_RING_XFER_BIDI  /* data-out iov[0..iov_cnt), then data-in iov[iov_cnt..+iov_bidi_cnt) */
};

/* A request copied out of the ring; the slot itself is reused for some completion, so nothing
 * here points into the command ring. The iovec bases point into the data area of the mmap and
 * stay valid until the command is completed: after that the kernel frees and reuses them. */
struct rdp_ring_cmd {
	uint16_t cmd_id;
	uint8_t cdb_len;
	uint8_t cdb[RDP_RING_CDB_MAX];
	enum rdp_ring_xfer xfer;
	unsigned int iov_cnt;	   /* data iovecs: iov[0..iov_cnt) */
	unsigned int iov_bidi_cnt; /* bidi data-in iovecs after them */
	size_t xfer_len;	   /* bytes in iov[0..iov_cnt) */
	size_t bidi_len;	   /* bytes in the bidi iovecs */
	const char *reject;	   /* RDP_RING_REJECTED: why, a static string; else NULL */
	struct iovec iov[RDP_RING_MAX_IOV];
};

/* One device's ring. All fields are read-only for the caller. */
struct rdp_ring {
	uint8_t *map;
	size_t map_size;
	struct tcmu_mailbox *mb;
	uint8_t *cmdr;	   /* start of the command ring in the map */
	uint32_t cmdr_off; /* of the command ring in the map */
	uint32_t cmdr_size;
	size_t data_off; /* the data area: [data_off, map_size) */

	/* Offsets in the command ring. next: the first entry not yet read. tail: our copy of
	 * mb->cmd_tail, the slot the next completion goes into; [tail, next) holds one CMD slot
	 * per command read and not yet completed, plus entries that need no answer. */
	uint32_t next;
	uint32_t tail;

	bool cap_read_len; /* TCMU_UFLAG_READ_LEN is understood */
	bool cap_tmr;	   /* the kernel may queue TMR entries (when tmr_notification=1) */

	const char *broken; /* set once the ring cannot be trusted: why. Every call then fails. */
	unsigned int outstanding;
	unsigned int unkicked; /* tail moves since rdp_ring_kicked() */

	uint64_t n_cmds, n_rejected, n_tmr, n_completed; /* for statistics */

	uint64_t busy_ids[65536 / 64]; /* cmd_ids read and not yet completed */
};

/*
 * Checks the mailbox of a freshly mapped device and starts reading at its cmd_tail. map and
 * map_size are the whole uio map 0. Returns 0; -EINVAL when the layout does not fit in the map;
 * -EPROTONOSUPPORT for a mailbox version other than 2 or without CAP_OOOC (completions go in
 * the order the paths finish); -EBUSY when cmd_head != cmd_tail: the
 * ring still holds commands of an earlier process whose state is unknown; reset it in configfs
 * (action/block_dev 1, action/reset_ring 1, action/block_dev 0) and call this again. Call it
 * again too after any reset_ring, which zeroes cmd_head and cmd_tail.
 */
int rdp_ring_init(struct rdp_ring *r, void *map, size_t map_size);

/*
 * As rdp_ring_init(), but a ring whose cmd_tail is `tail` is taken with what it holds: the
 * previous process stopped cleanly there (every entry it had read answered, its tail at
 * `tail`), so every CMD entry from the tail on was never read by anyone. Still -EBUSY when the
 * tail differs (the marker is stale). The caller gives those entries a deadline from the moment
 * that process stopped reading: the kernel's cmd_time_out has been running on them since.
 */
int rdp_ring_resume(struct rdp_ring *r, void *map, size_t map_size, uint32_t tail);
/* Our cmd_tail: where a clean stop leaves the ring (rdp_ring_outstanding() == 0). */
uint32_t rdp_ring_tail(const struct rdp_ring *r);

/*
 * Reads the next entry. PAD and TMR entries are passed over. An entry the walker cannot use is
 * answered in place and reported as RDP_RING_REJECTED: a CMD entry whose iovecs leave the data
 * area, whose CDB is outside its entry or longer than 32 bytes, or with too many iovecs is
 * completed with CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00); an entry of an
 * unknown opcode gets TCMU_UFLAG_UNKNOWN_OP, which the kernel turns into CHECK CONDITION. Returns
 * enum rdp_ring_next_result, or -EIO when the ring structure itself is broken (see r->broken).
 */
int rdp_ring_next(struct rdp_ring *r, struct rdp_ring_cmd *out);

/*
 * Writes the response of cmd_id into the ring and advances mb->cmd_tail (release). sense is
 * copied up to TCMU_SENSE_BUFFERSIZE bytes (the kernel reads it only with CHECK CONDITION).
 * read_len: bytes of a read actually transferred, or RDP_RING_NO_READ_LEN. It reaches the kernel
 * only when the mailbox has CAP_READ_LEN; the kernel uses it only for data-in commands, ignores
 * 0 (so "nothing transferred" cannot be said) and clamps it to the command's length. With
 * CHECK CONDITION a valid read_len makes the kernel return that much data along with the sense.
 * Any order of completion is fine. Does not kick. Returns 0; -ENOENT when cmd_id is not
 * outstanding (nothing is written: a completion for an unknown id would break the kernel's
 * ring); -EINVAL for sense_len without sense; -EIO when broken.
 */
int rdp_ring_complete(struct rdp_ring *r, uint16_t cmd_id, uint8_t scsi_status,
		      const uint8_t *sense, size_t sense_len, uint32_t read_len);

/* Commands read and not yet completed. */
unsigned int rdp_ring_outstanding(const struct rdp_ring *r);

/* True when mb->cmd_tail moved since the last kick: write 4 bytes to the uio fd, then call
 * rdp_ring_kicked(). One kick covers any number of completions. */
bool rdp_ring_needs_kick(const struct rdp_ring *r);
void rdp_ring_kicked(struct rdp_ring *r);
