/* The fake path backend of tests/unit/fake-backend.h. */
#include <errno.h>
#include <string.h>

#include "be.h"

#include "fake-backend.h"

#define FAKE_MAX_DEVS 8

static struct fake_dev devs[FAKE_MAX_DEVS];
static unsigned int ndevs;
static GQueue pending = G_QUEUE_INIT;
uint64_t fake_now = 1000000000ull;

/* One open of a device, as an sg backend's open files are: the engine's promise is that it
 * closes one only when nothing it sent on it is pending. A close from inside a completion on
 * it is freed once that completion returns, as the sg backend does. */
struct fake_ctx {
	struct fake_dev *dev;
	unsigned int pending;
	bool completing;
	bool closed;
};

static unsigned int open_ctxs;

struct fake_pending {
	struct fake_dev *dev;
	struct fake_ctx *ctx;
	struct rdp_req *req;
};

uint64_t fake_clock(void)
{
	return fake_now;
}

void fake_reset(void)
{
	struct fake_pending *fp;
	/* a test that leaves requests out ends with its LUNs still holding their contexts */
	while ((fp = g_queue_pop_head(&pending)))
		g_free(fp);
	open_ctxs = 0;
	memset(devs, 0, sizeof(devs));
	ndevs = 0;
	fake_now = 1000000000ull;
}

struct fake_dev *fake_dev_add(const char *name, const char *wwid)
{
	g_assert_cmpuint(ndevs, <, FAKE_MAX_DEVS);
	struct fake_dev *d = &devs[ndevs++];
	g_strlcpy(d->name, name, sizeof(d->name));
	g_strlcpy(d->wwid, wwid, sizeof(d->wwid));
	d->tpg = (uint16_t)ndevs;
	d->blocks = 524288;
	d->block_size = 512;
	return d;
}

size_t fake_vpd83(const struct fake_dev *d, uint8_t *buf, size_t len)
{
	uint8_t p[4 + 12 + 8 + 8] = {0x00, 0x83, 0, 28};
	/* NAA, binary, association LU */
	p[4] = 0x01;
	p[5] = 0x03;
	p[7] = 8;
	g_assert_true(g_str_has_prefix(d->wwid, "naa.") && strlen(d->wwid) == 20);
	for (int i = 0; i < 8; i++) {
		char hex[3] = {d->wwid[4 + 2 * i], d->wwid[5 + 2 * i], 0};
		p[8 + i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	/* relative target port: association target port, PIV, type 4 */
	p[16] = 0x61;
	p[17] = 0x94;
	p[19] = 4;
	rdp_put_be16(d->tpg, p + 22);
	/* target port group: association target port, PIV, type 5 */
	p[24] = 0x61;
	p[25] = 0x95;
	p[27] = 4;
	rdp_put_be16(d->tpg, p + 30);
	size_t n = MIN(len, sizeof(p));
	memcpy(buf, p, n);
	return sizeof(p);
}

/* REPORT TARGET PORT GROUPS: every fake device is one group with one port */
static size_t fake_rtpg(uint8_t *buf, size_t len)
{
	uint8_t p[4 + 12 * FAKE_MAX_DEVS] = {0};
	size_t n = 4;
	for (unsigned int i = 0; i < ndevs; i++) {
		uint8_t *g = p + n;
		g[0] = devs[i].alua;
		g[1] = 0x0f;
		rdp_put_be16(devs[i].tpg, g + 2);
		g[7] = 1;
		rdp_put_be16(devs[i].tpg, g + 10);
		n += 12;
	}
	rdp_put_be32((uint32_t)(n - 4), p);
	memcpy(buf, p, MIN(len, n));
	return n;
}

static struct fake_dev *find(const char *name)
{
	for (unsigned int i = 0; i < ndevs; i++)
		if (!strcmp(devs[i].name, name))
			return &devs[i];
	return NULL;
}

static int fake_open(const char *dev, void **ctx)
{
	struct fake_dev *d = find(dev);
	if (!d)
		return -ENOENT;
	if (d->mode == FAKE_OPEN_FAILS)
		return -ENXIO;
	struct fake_ctx *c = g_new0(struct fake_ctx, 1);
	c->dev = d;
	*ctx = c;
	open_ctxs++;
	return 0;
}

static void fake_close(void *ctx)
{
	struct fake_ctx *c = ctx;

	g_assert_cmpuint(c->pending, ==, 0);
	g_assert_false(c->closed);
	g_assert_cmpuint(open_ctxs, >, 0);
	open_ctxs--;
	c->closed = true;
	if (!c->completing)
		g_free(c);
}

unsigned int fake_open_count(void)
{
	return open_ctxs;
}

static void set_sense(struct rdp_req *req, uint8_t key, uint8_t asc, uint8_t ascq)
{
	memset(req->sense, 0, 18);
	req->sense[0] = 0x70;
	req->sense[2] = key;
	req->sense[7] = 10;
	req->sense[12] = asc;
	req->sense[13] = ascq;
	req->res.sense_len = 18;
	req->res.status = RDP_SAM_CHECK_CONDITION;
}

static void copy_out(struct rdp_req *req, const uint8_t *data, size_t len)
{
	size_t done = 0;
	for (unsigned int i = 0; i < req->iov_cnt && done < len; i++) {
		size_t n = MIN(req->iov[i].iov_len, len - done);
		memcpy(req->iov[i].iov_base, data + done, n);
		done += n;
	}
	req->res.resid = (int32_t)(req->xfer_len - done);
}

/* A read fills 0xa5 for as many blocks as its CDB asks, at most the buffer, and reports the
 * rest as residual, as a disk does; other data-in commands fill the whole buffer. */
static void fill_read(const struct fake_dev *d, struct rdp_req *req)
{
	const uint8_t *c = req->cdb;
	uint64_t want = req->xfer_len, done = 0;

	switch (c[0]) {
	case 0x08:
		want = (uint64_t)(c[4] ? c[4] : 256) * d->block_size;
		break;
	case 0x28:
		want = (uint64_t)rdp_get_be16(c + 7) * d->block_size;
		break;
	case 0xa8:
		want = (uint64_t)rdp_get_be32(c + 6) * d->block_size;
		break;
	case 0x88:
		want = (uint64_t)rdp_get_be32(c + 10) * d->block_size;
		break;
	}
	for (unsigned int i = 0; i < req->iov_cnt && done < want; i++) {
		size_t n = (size_t)MIN(req->iov[i].iov_len, want - done);
		memset(req->iov[i].iov_base, 0xa5, n);
		done += n;
	}
	req->res.resid = (int32_t)(req->xfer_len - done);
}

/* Answer one request as the device's mode says. */
static void answer(struct fake_dev *d, struct rdp_req *req)
{
	memset(&req->res, 0, sizeof(req->res));
	switch (d->mode) {
	case FAKE_NO_CONNECT:
	case FAKE_OPEN_FAILS:
		req->res.host_status = 0x01; /* DID_NO_CONNECT */
		return;
	case FAKE_MEDIUM_ERROR:
		if (req->cdb[0] == 0x28 || req->cdb[0] == 0x2a) {
			set_sense(req, 0x03, 0x11, 0x00);
			return;
		}
		break;
	case FAKE_BUSY:
		req->res.status = RDP_SAM_BUSY;
		return;
	case FAKE_FENCED:
		if (req->cdb[0] == 0x2a) {
			req->res.status = RDP_SAM_RESERVATION_CONFLICT;
			return;
		}
		break;
	case FAKE_STANDBY:
		set_sense(req, 0x02, 0x04, 0x0b);
		return;
	case FAKE_HANG:
		req->res.host_status = 0x03; /* DID_TIME_OUT */
		return;
	case FAKE_UA_RESET:
		d->mode = FAKE_OK; /* a unit attention is reported once */
		set_sense(req, 0x06, 0x29, 0x00);
		return;
	case FAKE_UA_CAPACITY:
		d->mode = FAKE_OK;
		set_sense(req, 0x06, 0x2a, 0x09);
		return;
	case FAKE_OK:
		break;
	}
	uint8_t buf[64] = {0};
	switch (req->cdb[0]) {
	case 0x12:
		if (req->cdb[1] & 1) {
			if (req->cdb[2] == 0x83) {
				size_t n = fake_vpd83(d, buf, sizeof(buf));
				copy_out(req, buf, n);
			} else if (req->cdb[2] == 0xb0 && d->has_b0) {
				uint8_t b0[64] = {0, 0xb0, 0, 0x3c};
				rdp_put_be32(d->b0_max_blocks, b0 + 8); /* MAXIMUM TRANSFER */
				rdp_put_be32(d->b0_opt_blocks ? d->b0_opt_blocks : d->b0_max_blocks,
					     b0 + 12); /* OPTIMAL TRANSFER */
				copy_out(req, b0, sizeof(b0));
			} else if (req->cdb[2] == 0x80) {
				uint8_t p[] = {0, 0x80, 0, 4, 'S', 'N', '0', '1'};
				copy_out(req, p, sizeof(p));
			} else {
				set_sense(req, 0x05, 0x24, 0x00);
			}
		} else {
			buf[0] = 0x00;
			buf[2] = 0x06;
			buf[4] = 31;
			buf[5] = 0x18; /* TPGS implicit, 3PC */
			memcpy(buf + 8, "FAKE    fake-lun        0001", 28);
			copy_out(req, buf, 36);
		}
		break;
	case 0x1a: { /* MODE SENSE(6): header, one short block descriptor, no page */
		uint8_t ms[12] = {11, 0, 0, 8};
		rdp_put_be32((uint32_t)d->blocks, ms + 4);
		rdp_put_be32(d->block_size, ms + 8);
		copy_out(req, ms, sizeof(ms));
		break;
	}
	case 0x9e:
		if ((req->cdb[1] & 0x1f) == 0x12) {
			/* GET LBA STATUS: the whole device in three extents, the last two past
			 * its first half */
			uint8_t st[8 + 3 * 16] = {0};
			uint64_t half = d->blocks / 2;
			rdp_put_be32(sizeof(st) - 4, st);
			rdp_put_be64(0, st + 8);
			rdp_put_be32((uint32_t)(half - 10), st + 16);
			rdp_put_be64(half - 10, st + 24);
			rdp_put_be32(20, st + 32);
			st[36] = 1; /* deallocated */
			rdp_put_be64(half + 10, st + 40);
			rdp_put_be32((uint32_t)(d->blocks - half - 10), st + 48);
			copy_out(req, st, sizeof(st));
			break;
		}
		rdp_put_be64(d->blocks - 1, buf);
		rdp_put_be32(d->block_size, buf + 8);
		copy_out(req, buf, 32);
		break;
	case 0xa3:
		if ((req->cdb[1] & 0x1f) == 0x0c) {
			/* REPORT SUPPORTED OPERATION CODES */
			uint8_t rs[4 + 8 * 5 + 20] = {0};
			if (req->cdb[2] & 0x07) { /* one command: supported, 16-byte CDB */
				rs[1] = 0x03;
				rdp_put_be16(16, rs + 2);
				copy_out(req, rs, 4 + 16);
				break;
			}
			static const uint8_t ops[][3] = {{0x28, 0, 0}, {0x83, 0, 0}, {0x85, 0, 0},
							 {0x9e, 0x10, 1}, {0x9e, 0x13, 1}, {0x2a, 0, 0}};
			size_t off = 4;
			for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
				rs[off] = ops[k][0];
				rdp_put_be16(ops[k][1], rs + off + 2);
				rs[off + 5] = ops[k][2] | (ops[k][0] == 0x83 ? 0x02 : 0);
				rdp_put_be16(16, rs + off + 6);
				off += ops[k][0] == 0x83 ? 20 : 8;
			}
			rdp_put_be32((uint32_t)(off - 4), rs);
			copy_out(req, rs, off);
			break;
		}
		{
		uint8_t rt[4 + 12 * FAKE_MAX_DEVS];
		size_t n = fake_rtpg(rt, sizeof(rt));
		copy_out(req, rt, n);
		break;
	}
	case 0x25:
		rdp_put_be32((uint32_t)(d->blocks - 1), buf);
		rdp_put_be32(d->block_size, buf + 4);
		copy_out(req, buf, 8);
		break;
	default:
		if (req->dir == RDP_DIR_FROM_DEV)
			fill_read(d, req);
		break;
	}
}

static int fake_submit(void *ctx, struct rdp_req *req)
{
	struct fake_ctx *c = ctx;
	struct fake_dev *d = c->dev;
	g_assert_false(c->closed);
	if (d->mode == FAKE_OPEN_FAILS)
		return -ENXIO;
	if (d->submit_error)
		return d->submit_error;
	if (d->queue_limit && d->pending >= d->queue_limit)
		return -EBUSY;
	if (d->max_xfer && req->xfer_len > d->max_xfer)
		return -EINVAL;
	/* the engine's promise: a request is never sent again while some path still holds it */
	for (GList *l = pending.head; l; l = l->next)
		g_assert_true(((struct fake_pending *)l->data)->req != req);
	struct fake_pending *fp = g_new(struct fake_pending, 1);
	fp->dev = d;
	fp->ctx = c;
	fp->req = req;
	c->pending++;
	d->submitted++;
	d->pending++;
	d->by_opcode[req->cdb[0]]++;
	g_queue_push_tail(&pending, fp);
	return 0;
}

static size_t fake_max_transfer(void *ctx)
{
	return ((struct fake_ctx *)ctx)->dev->max_xfer;
}

static int fake_exec_sync(void *ctx, struct rdp_req *req)
{
	struct fake_dev *d = ((struct fake_ctx *)ctx)->dev;

	if (++d->sync_calls > d->hang_after_sync && d->hang_after_sync) {
		memset(&req->res, 0, sizeof(req->res));
		req->res.host_status = 0x03; /* DID_TIME_OUT, after the whole timeout */
		d->sync_timeouts++;
		return 0;
	}
	if (d->mode == FAKE_HANG)
		d->sync_timeouts++;
	answer(d, req);
	return 0;
}

static void complete_one(struct fake_pending *fp)
{
	struct fake_ctx *c = fp->ctx;
	struct rdp_req *req = fp->req;

	fp->dev->pending--;
	c->pending--;
	answer(fp->dev, req);
	g_free(fp);
	c->completing = true;
	req->complete(req);
	c->completing = false;
	if (c->closed)
		g_free(c);
}

unsigned int fake_complete_dev(struct fake_dev *d, unsigned int max)
{
	unsigned int done = 0, len = g_queue_get_length(&pending);
	GList *l = pending.head;
	/* only what was pending at the call: requests queued by completions wait */
	for (unsigned int i = 0; i < len && l && done < max; i++) {
		GList *next = l->next;
		struct fake_pending *fp = l->data;
		if (fp->dev == d && d->mode != FAKE_HANG) {
			g_queue_delete_link(&pending, l);
			complete_one(fp);
			done++;
		}
		l = next;
	}
	return done;
}

unsigned int fake_timeout_dev(struct fake_dev *d)
{
	enum fake_mode mode = d->mode;
	unsigned int n = 0;

	d->mode = FAKE_HANG;
	GList *l = pending.head;
	unsigned int len = g_queue_get_length(&pending);
	for (unsigned int i = 0; i < len && l; i++) {
		GList *next = l->next;
		struct fake_pending *fp = l->data;
		if (fp->dev == d) {
			g_queue_delete_link(&pending, l);
			complete_one(fp);
			n++;
		}
		l = next;
	}
	d->mode = mode;
	return n;
}

void fake_lun_close(struct rdp_lun *lun)
{
	rdp_lun_close(lun);
	/* what is still out comes back late, as a hung device's requests do at their timeout */
	for (unsigned int i = 0; i < ndevs; i++)
		fake_timeout_dev(&devs[i]);
	g_assert_cmpuint(fake_pending_count(), ==, 0);
}

unsigned int fake_complete_all(void)
{
	unsigned int n = g_queue_get_length(&pending), done = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct fake_pending *fp = g_queue_pop_head(&pending);
		if (fp->dev->mode == FAKE_HANG) {
			g_queue_push_tail(&pending, fp); /* a hung path keeps what it has */
			continue;
		}
		done++;
		complete_one(fp);
	}
	return done;
}

struct fake_dev *fake_pending_dev(unsigned int i)
{
	struct fake_pending *fp = g_queue_peek_nth(&pending, i);
	return fp ? fp->dev : NULL;
}

unsigned int fake_pending_count(void)
{
	return g_queue_get_length(&pending);
}

const struct rdp_backend_ops fake_backend = {
	.size = sizeof(struct rdp_backend_ops),
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.submit = fake_submit,
	.exec_sync = fake_exec_sync,
	.max_transfer = fake_max_transfer,
};
