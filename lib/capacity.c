/* Capacity: the re-read after a path reported CAPACITY DATA HAS CHANGED, and the check that the
 * backing LUN can serve the front end's size and block size. */
#include <scsi/sg_lib.h>

#include "be.h"

#include "lun-internal.h"

/* A path said CAPACITY DATA HAS CHANGED. The backstore keeps the size it was created with (the
 * kernel's dev_size); what matters is that the backing LUN still holds it. The re-read is one
 * asynchronous READ CAPACITY on a usable path, counted in that path's in-flight commands (a
 * removed path is freed only after it is back); its answer is applied when it completes. */
#define RDP_CAPACITY_TRIES 8

static void capacity_apply(struct rdp_lun *lun, struct rdp_capacity cap)
{
	if (cap.blocks == lun->cap.blocks && cap.block_size == lun->cap.block_size)
		return;
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "RDP_LUN", lun->name, "MESSAGE",
			 "lun %s: backing capacity changed from %" G_GUINT64_FORMAT
			 " to %" G_GUINT64_FORMAT " blocks of %u bytes; the backstore stays at "
			 "%" G_GUINT64_FORMAT " blocks%s",
			 lun->name, lun->cap.blocks, cap.blocks, cap.block_size, lun->fe_blocks,
			 cap.blocks * cap.block_size < lun->fe_blocks * lun->fe_block_size
				 ? ": THE BACKING LUN IS NOW SMALLER THAN THE BACKSTORE"
				 : "");
	lun->cap = cap;
}

static void capacity_done(struct rdp_req *req)
{
	struct rdp_path *p = req->owner;
	struct rdp_lun *lun = p->lun;
	struct rdp_classification c = rdp_classify_completion(&req->res, req->sense, req->res.sense_len);
	size_t got = req->xfer_len - (size_t)CLAMP(req->res.resid, 0, (int32_t)req->xfer_len);
	const uint8_t *b = lun->cap_buf;

	lun->cap_path = NULL;
	p->st.inflight--;
	if (rdp_lun_release(lun))
		return;
	if (c.verdict == RDP_V_COMPLETE && !lun->cap_rc10 && got >= 12) {
		capacity_apply(lun, (struct rdp_capacity){rdp_get_be64(b) + 1, rdp_get_be32(b + 8)});
		lun->cap_failures = 0;
		return;
	}
	if (c.verdict == RDP_V_COMPLETE && lun->cap_rc10 && got >= 8 &&
	    rdp_get_be32(b) != UINT32_MAX) {
		capacity_apply(lun,
			       (struct rdp_capacity){(uint64_t)rdp_get_be32(b) + 1, rdp_get_be32(b + 4)});
		lun->cap_failures = 0;
		return;
	}
	if (c.verdict == RDP_V_TARGET_ERROR && !lun->cap_rc10)
		lun->cap_rc10 = true; /* the LUN does not know (16) */
	/* no answer from here (a unit attention, a path error, a short answer): another try on
	 * the next tick, on the next usable path; the path's own state is the checker's business */
	if (++lun->cap_failures < RDP_CAPACITY_TRIES) {
		lun->capacity_changed = true;
		return;
	}
	lun->cap_failures = 0;
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "RDP_LUN", lun->name, "MESSAGE",
			 "lun %s: the backing LUN reported a capacity change, but %d READ CAPACITY "
			 "tries told nothing (last: %s); keeping %" G_GUINT64_FORMAT " blocks",
			 lun->name, RDP_CAPACITY_TRIES, c.reason, lun->cap.blocks);
}

void rdp_lun_reread_capacity(struct rdp_lun *lun)
{
	struct rdp_req *r = &lun->cap_req;

	if (lun->cap_path)
		return; /* one outstanding at a time; a 2A/09 meanwhile is answered by it */
	memset(r, 0, sizeof(*r));
	memset(lun->cap_cdb, 0, sizeof(lun->cap_cdb));
	if (lun->cap_rc10) {
		lun->cap_cdb[0] = 0x25;
		r->cdb_len = 10;
		r->xfer_len = 8;
	} else {
		lun->cap_cdb[0] = 0x9e;
		lun->cap_cdb[1] = 0x10;
		rdp_put_be32(sizeof(lun->cap_buf), lun->cap_cdb + 10);
		r->cdb_len = 16;
		r->xfer_len = sizeof(lun->cap_buf);
	}
	memset(lun->cap_buf, 0, sizeof(lun->cap_buf));
	lun->cap_iov.iov_base = lun->cap_buf;
	lun->cap_iov.iov_len = r->xfer_len;
	r->cdb = lun->cap_cdb;
	r->dir = RDP_DIR_FROM_DEV;
	r->iov = &lun->cap_iov;
	r->iov_cnt = 1;
	r->timeout_ms = MIN(lun->cmd_timeout_ms, RDP_PROBE_TIMEOUT_MS);
	r->complete = capacity_done;
	for (unsigned int k = 0; k < lun->npaths; k++) {
		unsigned int i = (lun->cap_next + k) % lun->npaths;
		struct rdp_path *p = lun->paths[i];

		if (!rdp_path_usable(p))
			continue;
		r->owner = p;
		if (lun->env.backend->submit(p->bctx, r) < 0)
			continue;
		p->st.inflight++;
		lun->cap_path = p;
		lun->cap_next = (i + 1) % lun->npaths;
		lun->capacity_changed = false;
		return;
	}
	/* no usable path took it: capacity_changed stays set, the next tick tries again */
}

bool rdp_lun_check_frontend(struct rdp_lun *lun, uint64_t dev_size, uint32_t block_size,
			    GError **err)
{
	if (block_size != lun->cap.block_size) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "LUN %s: backstore block size %u differs from the backing LUN's %u; set "
			    "the backstore's hw_block_size to %u",
			    lun->name, block_size, lun->cap.block_size, lun->cap.block_size);
		return false;
	}
	uint64_t backing = lun->cap.blocks * lun->cap.block_size;
	if (dev_size > backing || dev_size % block_size) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "LUN %s: backstore size %" G_GUINT64_FORMAT
			    " bytes is larger than the backing LUN (%" G_GUINT64_FORMAT
			    " bytes) or not a multiple of the block size",
			    lun->name, dev_size, backing);
		return false;
	}
	lun->fe_blocks = dev_size / block_size;
	lun->fe_block_size = block_size;
	return true;
}

