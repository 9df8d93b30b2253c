/* Path backend over the Linux SCSI generic driver, SG v3 asynchronous interface: a request is
 * written to /dev/sgN as an sg_io_hdr, the fd polls readable when one has finished, and a read
 * returns it. The sg driver queues at most SG_MAX_QUEUE (16) requests per open file, so every
 * path opens several files to carry a useful queue depth; all of them live on the GLib loop. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <scsi/sg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include <librdp/rdp.h>

#ifndef SG_FLAG_Q_AT_TAIL
#define SG_FLAG_Q_AT_TAIL 0x10 /* the kernel's <scsi/sg.h>; glibc's copy predates it */
#endif

#define SG_FDS_PER_PATH 8 /* x 16 per fd = queue depth 128 per path */
#define SG_QUEUE_PER_FD 16
#define SG_REAP_MS 20

struct sg_path;

struct sg_fd {
	struct sg_path *path;
	int fd;
	unsigned int inflight;
	guint source;
	guint timer; /* reaping by timer once poll() said the device is going away */
};

/* Its lifetime: the owner closes it (sg_close) when it has nothing in flight, possibly from a
 * completion it is being handed; it is freed only once no file holds a request and no
 * completion walk is under way, since that walk is still reading it. */
struct sg_path {
	char *dev;
	bool direct; /* sg's allow_dio was on when the path was opened */
	bool closing;
	unsigned int walking; /* sg_readable() calls under way on its files */
	struct sg_fd f[SG_FDS_PER_PATH];
};

static bool sg_direct_io_allowed(void)
{
	g_autofree char *v = NULL;
	return g_file_get_contents("/sys/module/sg/parameters/allow_dio", &v, NULL, NULL) &&
	       g_strstrip(v)[0] == '1';
}

static void sg_fill_hdr(sg_io_hdr_t *h, struct rdp_req *req)
{
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	switch (req->dir) {
	case RDP_DIR_TO_DEV:
		h->dxfer_direction = SG_DXFER_TO_DEV;
		break;
	case RDP_DIR_FROM_DEV:
		h->dxfer_direction = SG_DXFER_FROM_DEV;
		break;
	default:
		h->dxfer_direction = SG_DXFER_NONE;
		break;
	}
	h->cmd_len = req->cdb_len;
	h->cmdp = (unsigned char *)req->cdb;
	h->mx_sb_len = sizeof(req->sense);
	h->sbp = req->sense;
	if (req->dir != RDP_DIR_NONE && req->xfer_len) {
		h->dxfer_len = req->xfer_len;
		if (req->iov_cnt == 1) {
			h->dxferp = req->iov[0].iov_base;
			/* The device moves the data straight to or from the TCMU data area, no copy
			 * through a buffer of the sg driver. sg honours it only when its module
			 * parameter allow_dio is 1 (and never for an iovec list); else it copies. The
			 * buffer stays the kernel's until the ring entry completes, which is after
			 * sg returned the request: the pages cannot be reused under the device. */
			h->flags = SG_FLAG_DIRECT_IO;
		} else {
			/* struct iovec and sg_iovec_t have the same layout */
			h->iovec_count = req->iov_cnt;
			h->dxferp = req->iov;
		}
	}
	h->timeout = req->timeout_ms ? req->timeout_ms : 30000;
	h->usr_ptr = req;
	/* sg v3 puts a request at the head of the device's queue unless told otherwise: behind a
	 * device that is busy (its queue_depth reached) the newest command would go first and the
	 * oldest wait, seconds at times. The initiator's commands keep their order, as dm's do. */
	h->flags |= SG_FLAG_Q_AT_TAIL;
}

static void sg_fill_result(struct rdp_req *req, const sg_io_hdr_t *h)
{
	req->res.error = 0;
	req->res.status = h->status;
	req->res.host_status = h->host_status;
	req->res.driver_status = h->driver_status;
	req->res.sense_len = h->sb_len_wr > sizeof(req->sense) ? sizeof(req->sense) : h->sb_len_wr;
	req->res.resid = h->resid;
	req->res.duration_ms = h->duration;
}

static unsigned int sg_inflight(const struct sg_path *p)
{
	unsigned int n = 0;
	for (int i = 0; i < SG_FDS_PER_PATH; i++)
		n += p->f[i].inflight;
	return n;
}

static void sg_free(struct sg_path *p)
{
	for (int i = 0; i < SG_FDS_PER_PATH; i++) {
		if (p->f[i].source)
			g_source_remove(p->f[i].source);
		if (p->f[i].timer)
			g_source_remove(p->f[i].timer);
		if (p->f[i].fd >= 0)
			close(p->f[i].fd);
	}
	g_free(p->dev);
	g_free(p);
}

/* Reads everything that has finished on f: one wake-up, many completions. A completion may
 * close this path (sg_close), which then only marks it: it is freed here, after the walk.
 * Returns true when the path was freed. */
static bool sg_drain(struct sg_fd *f)
{
	struct sg_path *p = f->path;
	sg_io_hdr_t h;

	p->walking++;
	while (f->inflight) {
		memset(&h, 0, sizeof(h));
		h.interface_id = 'S';
		ssize_t n = read(f->fd, &h, sizeof(h));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				g_warning("read on sg fd %d: %s", f->fd, g_strerror(errno));
			break;
		}
		struct rdp_req *req = h.usr_ptr;
		f->inflight--;
		if (p->closing)
			continue; /* its owner gave it up (see sg_close): nobody to tell */
		sg_fill_result(req, &h);
		req->complete(req);
	}
	p->walking--;
	if (p->closing && !p->walking && !sg_inflight(p)) {
		sg_free(p); /* removes f's source and timer too */
		return true;
	}
	return false;
}

static gboolean sg_reap_timer(gpointer data)
{
	struct sg_fd *f = data;
	if (sg_drain(f))
		return G_SOURCE_REMOVE;
	if (f->inflight)
		return G_SOURCE_CONTINUE;
	f->timer = 0;
	return G_SOURCE_REMOVE;
}

/* A device being removed: poll() reports POLLHUP on its files at once, forever, which would
 * spin the loop. The file is watched no more; what is still out on it is read on a timer. */
static void sg_watch_by_timer(struct sg_fd *f)
{
	if (f->inflight && !f->timer)
		f->timer = g_timeout_add(SG_REAP_MS, sg_reap_timer, f);
}

static gboolean sg_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct sg_fd *f = data;

	if (sg_drain(f))
		return G_SOURCE_REMOVE;
	if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) {
		f->source = 0;
		sg_watch_by_timer(f);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static int sg_open(const char *dev, void **ctx)
{
	struct stat st;
	if (stat(dev, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;

	struct sg_path *p = g_new0(struct sg_path, 1);
	p->dev = g_strdup(dev);
	p->direct = sg_direct_io_allowed();
	for (int i = 0; i < SG_FDS_PER_PATH; i++) {
		p->f[i].fd = -1;
		p->f[i].path = p;
	}
	for (int i = 0; i < SG_FDS_PER_PATH; i++) {
		int fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			int err = -errno;
			sg_free(p);
			return err;
		}
		int ver = 0;
		if (i == 0 && (ioctl(fd, SG_GET_VERSION_NUM, &ver) < 0 || ver < 30000)) {
			close(fd);
			sg_free(p);
			return -ENOTTY;
		}
		p->f[i].fd = fd;
		p->f[i].source = rdp_loop_fd_add(fd, sg_readable, &p->f[i]);
	}
	*ctx = p;
	return 0;
}

/* The engine closes a path only when nothing of its is in flight (rdp_path_idle()). Should a
 * request still be out, its files stay open until it is back (the device may still be moving
 * its data), and it is dropped without a completion: its owner has given it up. */
static void sg_close(void *ctx)
{
	struct sg_path *p = ctx;
	if (!p)
		return;
	unsigned int n = sg_inflight(p);
	if (n)
		g_warning("%s: closed with %u requests in flight: its files stay open until they "
			  "are back",
			  p->dev, n);
	p->closing = true;
	if (!n && !p->walking)
		sg_free(p);
}

static int sg_submit(void *ctx, struct rdp_req *req)
{
	struct sg_path *p = ctx;
	struct sg_fd *best = NULL;

	/* With direct I/O, the first file with room: completions gather on few files, so one
	 * wake-up drains several with one read each, and the read that finds nothing (EAGAIN) is
	 * paid per wake-up instead of per command. Without it, the least loaded: each file has one
	 * reserve buffer that sg uses for one request at a time, and every other request allocates,
	 * zeroes and frees its own pages; spreading requests keeps the reserve buffers busy. */
	for (int i = 0; i < SG_FDS_PER_PATH; i++) {
		struct sg_fd *f = &p->f[i];
		if (f->inflight >= SG_QUEUE_PER_FD)
			continue;
		if (p->direct) {
			best = f;
			break;
		}
		if (!best || f->inflight < best->inflight)
			best = f;
	}
	if (!best)
		return -EBUSY;

	sg_io_hdr_t h;
	sg_fill_hdr(&h, req);
	for (;;) {
		if (write(best->fd, &h, sizeof(h)) == (ssize_t)sizeof(h))
			break;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL && p->direct && (h.flags & SG_FLAG_DIRECT_IO)) {
			/* Direct I/O maps the data area page by page, one segment each: more pages
			 * than the queue's max_segments do not map (EINVAL), while sg's own buffer,
			 * built of larger elements, still carries them. Copy this one. */
			h.flags &= ~SG_FLAG_DIRECT_IO;
			continue;
		}
		/* sg answers EDOM when the file's queue is full */
		return errno == EDOM || errno == EAGAIN ? -EBUSY : -errno;
	}
	best->inflight++;
	if (!best->source)
		sg_watch_by_timer(best);
	return 0;
}

static int sg_exec_sync(void *ctx, struct rdp_req *req)
{
	struct sg_path *p = ctx;
	sg_io_hdr_t h;

	sg_fill_hdr(&h, req);
	int rc = ioctl(p->f[0].fd, SG_IO, &h);
	rdp_loop_clock_invalidate(); /* it may have blocked up to its timeout */
	if (rc < 0) {
		req->res.error = -errno;
		return -errno;
	}
	sg_fill_result(req, &h);
	return 0;
}

/* sg answers BLKSECTGET with the queue's max_sectors in bytes (not in sectors, as a block
 * device does): max_sectors_kb, at most max_hw_sectors_kb, of the path's device. With direct
 * I/O each page of the data area is a segment of its own, so the queue's segment count
 * (SG_GET_SG_TABLESIZE) bounds it too: a larger command would be mapped, refused (EINVAL) and
 * copied instead (sg_submit), every time. */
static size_t sg_max_transfer(void *ctx)
{
	struct sg_path *p = ctx;
	int n = 0, segs = 0;
	if (ioctl(p->f[0].fd, BLKSECTGET, &n) < 0 || n <= 0)
		return 0;
	size_t max = (size_t)n;
	long page = sysconf(_SC_PAGESIZE);
	if (p->direct && page > 0 && ioctl(p->f[0].fd, SG_GET_SG_TABLESIZE, &segs) == 0 && segs > 0)
		max = MIN(max, (size_t)segs * (size_t)page);
	return max;
}

static const struct rdp_backend_ops sg_ops = {
	.size = sizeof(struct rdp_backend_ops),
	.name = "sg",
	.open = sg_open,
	.close = sg_close,
	.submit = sg_submit,
	.exec_sync = sg_exec_sync,
	.max_transfer = sg_max_transfer,
};

const struct rdp_backend_ops *rdp_backend_sg(void)
{
	return &sg_ops;
}
