/* A path backend for tests: named fake devices that answer probes synchronously and hold every
 * asynchronous request until the test completes it, with a fault mode per device. */
#pragma once

#include <librdp/rdp.h>

enum fake_mode {
	FAKE_OK,
	FAKE_NO_CONNECT,   /* host status DID_NO_CONNECT */
	FAKE_MEDIUM_ERROR, /* CHECK CONDITION 03/11/00 */
	FAKE_BUSY,	   /* SCSI status BUSY */
	FAKE_UA_RESET,	   /* CHECK CONDITION 06/29/00 */
	FAKE_UA_CAPACITY,  /* CHECK CONDITION 06/2A/09 (capacity data has changed), once */
	FAKE_OPEN_FAILS,   /* open() and submit() say ENXIO */
	FAKE_STANDBY,	   /* CHECK CONDITION 02/04/0B (ALUA standby) to everything async */
	FAKE_HANG,	   /* holds requests: only fake_timeout_dev() returns them (DID_TIME_OUT) */
	FAKE_FENCED,	   /* RESERVATION CONFLICT to WRITE(10), as a LUN whose write-exclusive
			    * reservation no longer lists this initiator (fence_scsi); reads work */
};

struct fake_dev {
	char name[64];
	char wwid[64]; /* naa.<16 hex> */
	uint64_t blocks;
	uint32_t block_size;
	enum fake_mode mode;
	int submit_error;	  /* nonzero: submit() says this (-ENODEV: the device went away) */
	unsigned int queue_limit; /* submit says -EBUSY beyond this many pending; 0: no limit */
	/* nonzero: the largest transfer its queue takes, as the sg driver's limit (BLKSECTGET);
	 * submit says -EINVAL beyond it, as sg's write() does when the data does not map */
	size_t max_xfer;
	bool has_b0;		/* it has a Block Limits page (VPD B0h) saying: */
	uint32_t b0_max_blocks; /* MAXIMUM TRANSFER LENGTH */
	uint32_t b0_opt_blocks; /* OPTIMAL TRANSFER LENGTH; 0: the same as the maximum */
	unsigned int submitted;
	unsigned int pending;
	unsigned int by_opcode[256]; /* asynchronous submissions per CDB opcode */
	/* synchronous probes (exec_sync): each would block the event loop on a real device,
	 * up to its timeout when the device hangs */
	unsigned int sync_calls;
	unsigned int hang_after_sync; /* nonzero: synchronous probes after this many hang */
	unsigned int sync_timeouts;   /* synchronous probes that hung until their timeout */
	uint8_t alua;		     /* ALUA state of its port group: 0 AO, 1 ANO, 2 standby */
	uint16_t tpg;		     /* its target port group (= relative port), from 1 */
};

extern const struct rdp_backend_ops fake_backend;
extern uint64_t fake_now;
uint64_t fake_clock(void);

struct fake_dev *fake_dev_add(const char *name, const char *wwid);
void fake_reset(void);
/* Complete every pending request (in submission order) as each device's mode says. Returns how
 * many were completed. Requests submitted from inside completions wait for the next call. */
unsigned int fake_complete_all(void);
/* The device a pending request at position i (0 = oldest) sits on, or NULL. */
struct fake_dev *fake_pending_dev(unsigned int i);
/* Complete up to max pending requests of one device (oldest first); returns how many. */
unsigned int fake_complete_dev(struct fake_dev *d, unsigned int max);
/* Return every request a hung device holds with host status DID_TIME_OUT, as the sg driver
 * does when a command's timeout expires. */
unsigned int fake_timeout_dev(struct fake_dev *d);
unsigned int fake_pending_count(void);
/* rdp_lun_close(), then every request still out returned with DID_TIME_OUT (late, as from a
 * hung device): a LUN that had some out is freed by the last of them. */
void fake_lun_close(struct rdp_lun *lun);
/* Contexts opened and not closed yet, over all devices. */
unsigned int fake_open_count(void);
/* Build the VPD 0x83 page the fake returns for d (one NAA designator, then its relative target
 * port and target port group designators). Returns its length. */
size_t fake_vpd83(const struct fake_dev *d, uint8_t *buf, size_t len);
