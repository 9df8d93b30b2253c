/* The largest command the initiator is told it may send (VPD B0h MAXIMUM TRANSFER LENGTH),
 * kept within what every path's queue carries.
 *
 * The page is the backing LUN's, served from cache (lun.c). The LUN's own limit is not the
 * whole story: each path's host adapter has one too (the block queue's max_sectors, which the
 * sg driver reports with BLKSECTGET, in bytes), and a request larger than it never reaches the
 * device (sg's write() says EINVAL). dm-multipath stacks the same limits of its paths into the
 * map's. The target core does not help: for a pass-through backstore (passthrough_parse_cdb)
 * it checks no hw_max_sectors, so what the initiator sends is what reaches us. The engine
 * refuses a command that no path can take (lun.c, 05/24/00); this page keeps a conforming
 * initiator from sending one. */
#include <inttypes.h>

#include "be.h"
#include "lun-internal.h"

static size_t path_max_transfer(const struct rdp_lun *lun, const struct rdp_path *p)
{
	if (!p->bctx || !lun->env.backend->max_transfer)
		return 0;
	return lun->env.backend->max_transfer(p->bctx);
}

/* The bytes of B0h the initiator sees: the page's own PAGE LENGTH, within what was read. */
static size_t b0_len(const struct rdp_page *b0)
{
	if (!b0->data || b0->len < 4)
		return 0;
	return MIN(b0->len, 4 + (size_t)rdp_get_be16(b0->data + 2));
}

static void clamp_field(uint8_t *f, uint64_t blocks)
{
	if (rdp_get_be32(f) > blocks)
		rdp_put_be32((uint32_t)MIN(blocks, UINT32_MAX), f);
}

/* Lower B0h's MAXIMUM TRANSFER LENGTH to bytes, and with it the fields SBC-4 bounds by it:
 * OPTIMAL TRANSFER LENGTH, MAXIMUM ATOMIC TRANSFER LENGTH, and MAXIMUM COMPARE AND WRITE
 * LENGTH, whose command carries twice its blocks. Returns true when it lowered it. */
static bool clamp_b0(struct rdp_lun *lun, size_t bytes, const char *dev)
{
	struct rdp_page *b0 = &lun->vpd[0xb0];
	uint32_t bs = lun->cap.block_size;
	uint64_t blocks = bs ? bytes / bs : 0;
	if (!blocks)
		return false;
	size_t len = b0_len(b0);
	if (len < 16) {
		g_warning("lun %s: the backing LUN has no Block Limits page (VPD B0h): the "
			  "initiator is told no transfer limit, and a command over %zu bytes (path "
			  "%s) is refused with 05/24/00",
			  lun->name, bytes, dev);
		return false;
	}
	uint32_t max = rdp_get_be32(b0->data + 8);
	if (max && max <= blocks)
		return false;
	rdp_put_be32((uint32_t)MIN(blocks, UINT32_MAX), b0->data + 8);
	clamp_field(b0->data + 12, blocks);
	if (len >= 48)
		clamp_field(b0->data + 44, blocks);
	if (b0->data[5] > blocks / 2)
		b0->data[5] = (uint8_t)(blocks / 2);
	g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RDP_LUN", lun->name, "MESSAGE",
			 "lun %s: MAXIMUM TRANSFER LENGTH served as %" PRIu64
			 " blocks (%zu bytes: path %s takes no more; the backing LUN says %s%" PRIu32
			 ")",
			 lun->name, blocks, bytes, dev, max ? "" : "no limit, ", max);
	return true;
}

void rdp_lun_limit_transfer(struct rdp_lun *lun)
{
	size_t least = 0;
	const char *dev = NULL;
	for (unsigned int i = 0; i < lun->npaths; i++) {
		size_t n = path_max_transfer(lun, lun->paths[i]);
		if (n && (!least || n < least)) {
			least = n;
			dev = lun->paths[i]->dev;
		}
	}
	if (least)
		clamp_b0(lun, least, dev);
}

void rdp_lun_limit_transfer_path(struct rdp_lun *lun, const struct rdp_path *p)
{
	size_t n = path_max_transfer(lun, p);
	if (!n || b0_len(&lun->vpd[0xb0]) < 16)
		return; /* nothing known, or no page to lower (warned at attach) */
	/* The initiator read the page when it found the LUN, so it may still send up to the old
	 * limit: such a command goes to the other paths, or is refused if none takes it. */
	if (clamp_b0(lun, n, p->dev))
		g_warning("lun %s: path %s takes at most %zu bytes per command, less than the LUN "
			  "advertised: larger commands go to its other paths; the initiator sees the "
			  "new limit when it rescans the LUN",
			  lun->name, p->dev, n);
}
