/* The LUN and path structures shared by the engine (lun.c) and the front-end emulation
 * (frontend.c). Nothing outside lib/ includes this. */
#pragma once

#include "rdp.h"

#define RDP_CHECK_BUF 1024

struct rdp_path {
	struct rdp_lun *lun;
	unsigned int idx;
	char *dev;
	void *bctx; /* backend context; NULL while the device cannot be opened */
	enum rdp_path_state state;
	char *last_reason;
	struct rdp_path_stats st;

	/* path checker: TEST UNIT READY, then INQUIRY VPD 0x83 to re-check identity */
	uint64_t next_check_ns;
	bool check_busy;
	int check_stage;
	uint8_t check_cdb[16];
	struct iovec check_iov;
	uint8_t check_buf[RDP_CHECK_BUF];
	struct rdp_req check_req;
};

/* A cached answer of the backing LUN, served by the gateway whatever path is in use. */
struct rdp_page {
	uint8_t *data;
	size_t len;
};

struct rdp_cmd_queue {
	struct rdp_cmd *head, *tail;
	unsigned int len;
};

struct rdp_lun {
	char *name;
	char wwid[RDP_WWID_MAX];
	struct rdp_env env;
	unsigned int cmd_timeout_ms;
	unsigned int checker_interval_ms;
	unsigned int max_retries;
	unsigned int no_path_timeout_ms;

	struct rdp_path **paths;
	unsigned int npaths;
	unsigned int rr_next;

	struct rdp_capacity cap;      /* backing LUN */
	uint64_t fe_blocks;	      /* front end: what the initiator may address */
	uint32_t fe_block_size;

	struct rdp_page inq_std;
	struct rdp_page vpd[256]; /* VPD pages served from cache; [0x83] is LU-only */
	struct rdp_page rc16;

	struct rdp_cmd_queue waiting; /* no usable path, or every path's queue full */
	struct rdp_cmd_queue delayed; /* retry after not_before_ns */
	unsigned int inflight;
	uint64_t next_seq;
	struct rdp_lun_stats st;
};

/* frontend.c: answer the commands whose reply must not depend on the serving path.
 * Returns true when cmd was completed (status/sense filled; caller finishes it). */
bool rdp_frontend_emulate(struct rdp_lun *lun, struct rdp_cmd *cmd);
/* The data direction of a pass-through CDB; -1 for an opcode we do not know to carry data. */
int rdp_cdb_dir(const uint8_t *cdb);
void rdp_cmd_set_sense(struct rdp_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq);
size_t rdp_iov_copy_to(const struct iovec *iov, unsigned int cnt, const void *src, size_t len);
