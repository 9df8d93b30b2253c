/* Attach: a LUN opened from a spec. The caller's environment and backend copied in (their size
 * prefix checked), every path opened and asked its identity (VPD 0x83) with the synchronous
 * probes, the first good path filling the LUN's INQUIRY, VPD and capacity caches (with the
 * gateway's own target port in them when it is one of several), the paths' ALUA states read,
 * the groups made. Also rdp_device_wwid(): one device's identity alone. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <scsi/sg_lib.h>

#include "be.h"

#include "config.h"
#include "lun-internal.h"

static uint64_t monotonic_ns(void)
{
	return (uint64_t)g_get_monotonic_time() * 1000;
}

/* ---- attach ---- */

/* The synchronous probes of attach (rdp_lun_open), the only SG_IO left on the event loop. Each
 * waits at most min(cmd_timeout, 10 s); after a path error on a path (a timeout included) that
 * path gets no more probes. docs/engine.md "Attach" gives the whole bound. */
static int probe(struct rdp_lun *lun, struct rdp_path *p, const uint8_t *cdb, uint8_t cdb_len,
		 uint8_t *buf, size_t len, size_t *got)
{
	struct rdp_req r = {0};
	struct iovec iov = {.iov_base = buf, .iov_len = len};

	r.cdb = cdb;
	r.cdb_len = cdb_len;
	r.dir = RDP_DIR_FROM_DEV;
	r.iov = &iov;
	r.iov_cnt = 1;
	r.xfer_len = len;
	r.timeout_ms = MIN(lun->cmd_timeout_ms, RDP_PROBE_TIMEOUT_MS);
	memset(buf, 0, len);
	if (p->probe_dead)
		return -EIO;
	/* a unit attention left from a reset or a path change is not an answer: ask again */
	for (int attempt = 0; attempt < 4; attempt++) {
		int rc = lun->env.backend->exec_sync(p->bctx, &r);
		if (rc < 0) {
			p->probe_dead = true;
			return rc;
		}
		struct rdp_classification c = rdp_classify_completion(&r.res, r.sense, r.res.sense_len);
		if (c.verdict == RDP_V_COMPLETE) {
			*got = len - (size_t)CLAMP(r.res.resid, 0, (int32_t)len);
			return 0;
		}
		if (c.verdict == RDP_V_PATH_ERROR) {
			p->probe_dead = true;
			return -EIO;
		}
		if (c.verdict == RDP_V_TARGET_ERROR)
			return -EOPNOTSUPP;
	}
	return -EAGAIN;
}

static int probe_inquiry(struct rdp_lun *lun, struct rdp_path *p, int page, uint8_t *buf,
			 size_t len, size_t *got)
{
	uint8_t cdb[6] = {0x12, page >= 0 ? 0x01 : 0x00, page >= 0 ? (uint8_t)page : 0, 0, 0, 0};
	rdp_put_be16((uint16_t)len, cdb + 3);
	return probe(lun, p, cdb, sizeof(cdb), buf, len, got);
}

static void page_set(struct rdp_page *pg, const uint8_t *data, size_t len)
{
	g_free(pg->data);
	pg->data = g_memdup2(data, len);
	pg->len = len;
}

/* Read the identity of a path; the first good path also fills the LUN's caches. */
int rdp_path_identify(struct rdp_lun *lun, struct rdp_path *p, bool fill, char *wwid,
		      GError **err)
{
	uint8_t buf[4096];
	size_t got = 0;
	int rc = probe_inquiry(lun, p, 0x83, buf, 1024, &got);
	if (rc < 0) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO,
			    "%s: INQUIRY VPD 0x83 failed: %s", p->dev, g_strerror(-rc));
		return rc;
	}
	if (rdp_wwid_from_vpd83(buf, got, wwid, RDP_WWID_MAX) < 0) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IDENTITY,
			    "%s: VPD 0x83 has no logical-unit designator; cannot prove its identity",
			    p->dev);
		return -ENODATA;
	}
	/* which target port this path goes through: its ALUA group */
	if (rdp_alua_port_from_vpd83(buf, got, &p->port) < 0)
		memset(&p->port, 0, sizeof(p->port));
	if (!fill)
		return 0;

	got = rdp_vpd83_lu_only(buf, got);
	/* as one of several gateways: this gateway's port and group, never the path's */
	if (lun->target_port && got)
		got = rdp_alua_vpd83_add_port(buf, got, sizeof(buf), (uint16_t)lun->target_port);
	if (!got) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IDENTITY,
			    "%s: VPD 0x83 cannot be served: its designators do not fit one page",
			    p->dev);
		return -EINVAL;
	}
	page_set(&lun->vpd[0x83], buf, got);

	if (probe_inquiry(lun, p, -1, buf, 96, &got) < 0 || got < 36) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO, "%s: standard INQUIRY failed",
			    p->dev);
		return -EIO;
	}
	lun->tpgs = (buf[5] & 0x30) != 0;
	/* TPGS: the backing ports' ALUA stays behind the gateway; the initiator sees the
	 * gateway's own, implicit ALUA when it is one of several ports, none when it is the only */
	buf[5] &= ~0x30;
	if (lun->target_port)
		buf[5] |= RDP_ALUA_TPGS_IMPLICIT << 4;
	buf[5] &= ~0x08; /* 3PC: EXTENDED COPY is refused (frontend.c), so not claimed */
	page_set(&lun->inq_std, buf, got);

	/* VPD pages whose content belongs to the LU; 0x00 lists exactly what we serve */
	static const uint8_t cached[] = {0x80, 0xb0, 0xb1, 0xb2};
	for (size_t i = 0; i < sizeof(cached); i++)
		if (probe_inquiry(lun, p, cached[i], buf, 512, &got) == 0 && got >= 4 &&
		    buf[1] == cached[i])
			page_set(&lun->vpd[cached[i]], buf, got);
	uint8_t p00[4 + 8] = {0};
	size_t np = 0;
	for (int pg = 0; pg < 256; pg++)
		if (pg == 0x00 || lun->vpd[pg].data)
			p00[4 + np++] = (uint8_t)pg;
	rdp_put_be16((uint16_t)np, p00 + 2);
	page_set(&lun->vpd[0x00], p00, 4 + np);
	/* every page carries the peripheral qualifier/type of the standard INQUIRY */
	for (int pg = 0; pg < 256; pg++)
		if (lun->vpd[pg].data)
			lun->vpd[pg].data[0] = lun->inq_std.data[0];

	/* capacity: READ CAPACITY(16), READ CAPACITY(10) when the LUN does not know it */
	uint8_t rc16[16] = {0x9e, 0x10};
	rdp_put_be32(32, rc16 + 10);
	if (probe(lun, p, rc16, sizeof(rc16), buf, 32, &got) == 0 && got >= 12) {
		lun->cap.blocks = rdp_get_be64(buf) + 1;
		lun->cap.block_size = rdp_get_be32(buf + 8);
		page_set(&lun->rc16, buf, got);
	} else {
		uint8_t rc10[10] = {0x25};
		if (probe(lun, p, rc10, sizeof(rc10), buf, 8, &got) < 0 || got < 8) {
			g_set_error(err, RDP_ERROR, RDP_ERROR_IO, "%s: READ CAPACITY failed",
				    p->dev);
			return -EIO;
		}
		lun->cap.blocks = (uint64_t)rdp_get_be32(buf) + 1;
		lun->cap.block_size = rdp_get_be32(buf + 4);
	}
	if (lun->cap.block_size < 512 || lun->cap.block_size > 65536 ||
	    (lun->cap.block_size & (lun->cap.block_size - 1))) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "%s: backing block size %u is not supported", p->dev, lun->cap.block_size);
		return -EINVAL;
	}
	lun->fe_blocks = lun->cap.blocks;
	lun->fe_block_size = lun->cap.block_size;
	return 0;
}

#define RDP_STRUCT_SIZE_MAX 4096 /* as openat2() refuses a struct larger than a page */
#define SIZE_THROUGH(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

/* Copy a caller's size-prefixed struct (rdp.h: "Caller-filled structs") into our own full-size
 * dst: what the caller's size does not cover stays zero; a larger struct is refused unless its
 * tail beyond ours is zero. min is the size of the struct's first version. */
static bool copy_sized(void *dst, size_t dst_size, const void *src, size_t min, const char *what,
		       GError **err)
{
	size_t size = *(const size_t *)src;

	memset(dst, 0, dst_size);
	if (size > RDP_STRUCT_SIZE_MAX) { /* never set, most likely: do not scan that far */
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "struct %s has size %zu, more than any librdp will have (%d): set .size "
			    "= sizeof(struct %s)",
			    what, size, RDP_STRUCT_SIZE_MAX, what);
		return false;
	}
	if (size < min) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "struct %s has size %zu, less than its first version's %zu: set .size "
			    "= sizeof(struct %s)",
			    what, size, min, what);
		return false;
	}
	for (size_t i = dst_size; i < size; i++) {
		if (((const uint8_t *)src)[i]) {
			g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
				    "struct %s of %zu bytes sets members this librdp (%zu bytes) does "
				    "not know: the program was built against a newer librdp",
				    what, size, dst_size);
			return false;
		}
	}
	memcpy(dst, src, MIN(size, dst_size));
	*(size_t *)dst = dst_size;
	return true;
}

/* The caller's environment and backend, as lun->env and lun->ops. */
static bool lun_take_env(struct rdp_lun *lun, const struct rdp_env *env, GError **err)
{
	if (!copy_sized(&lun->env, sizeof(lun->env), env, SIZE_THROUGH(struct rdp_env, now_ns),
			"rdp_env", err))
		return false;
	if (!lun->env.backend) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID, "rdp_env has no backend");
		return false;
	}
	if (!copy_sized(&lun->ops, sizeof(lun->ops), lun->env.backend,
			SIZE_THROUGH(struct rdp_backend_ops, max_transfer), "rdp_backend_ops", err))
		return false;
	if (!lun->ops.open || !lun->ops.close || !lun->ops.submit || !lun->ops.exec_sync) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "backend %s lacks one of open, close, submit and exec_sync",
			    lun->ops.name ? lun->ops.name : "(unnamed)");
		return false;
	}
	lun->env.backend = &lun->ops;
	if (!lun->env.now_ns)
		lun->env.now_ns = monotonic_ns;
	return true;
}

int rdp_device_wwid(const struct rdp_env *env, const char *dev, char *wwid, size_t len,
		    GError **err)
{
	g_autofree struct rdp_lun *lun = g_new0(struct rdp_lun, 1);
	if (!lun_take_env(lun, env, err))
		return -EINVAL;
	lun->name = (char *)dev;
	lun->cmd_timeout_ms = RDP_PROBE_TIMEOUT_MS;
	struct rdp_path p = {.lun = lun, .dev = (char *)dev, .alua_state = -1};
	int rc = lun->ops.open(dev, &p.bctx);
	if (rc < 0) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO, "%s: cannot be opened: %s", dev,
			    g_strerror(-rc));
		return rc;
	}
	char id[RDP_WWID_MAX];
	rc = rdp_path_identify(lun, &p, false, id, err);
	lun->ops.close(p.bctx);
	if (rc < 0)
		return rc;
	if (g_strlcpy(wwid, id, len) >= len) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID, "%s: identity %s is longer than %zu",
			    dev, id, len);
		return -ENOSPC;
	}
	return 0;
}

/* The configuration's rule (config.c), for a spec a program filled itself. */
static bool target_port_ok(const struct rdp_lun_spec *spec, GError **err)
{
	const char *problem = rdp_target_port_problem(spec->target_port, spec->target_ports);

	if (!problem)
		return true;
	g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
		    "LUN %s: target_port %u of target_ports %u: %s; give each gateway its port, "
		    "1 to target_ports, or 0 and target_ports 1 for a single gateway",
		    spec->name, spec->target_port, spec->target_ports, problem);
	return false;
}

struct rdp_lun *rdp_lun_open(const struct rdp_lun_spec *spec, const struct rdp_env *env,
			     GError **err)
{
	if (!spec->paths || !spec->paths[0]) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_NOT_FOUND, "LUN %s has no backing path",
			    spec->name);
		return NULL;
	}
	if (!target_port_ok(spec, err))
		return NULL;
	struct rdp_lun *lun = g_new0(struct rdp_lun, 1);
	if (!lun_take_env(lun, env, err)) {
		g_free(lun);
		return NULL;
	}
	lun->name = g_strdup(spec->name);
	lun->npaths = g_strv_length(spec->paths);
	if (lun->npaths > RDP_MAX_PATHS) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_INVALID,
			    "LUN %s has %u paths; at most %d are supported", spec->name, lun->npaths,
			    RDP_MAX_PATHS);
		g_free(lun->name);
		g_free(lun);
		return NULL;
	}
	/* not a policy: what the first path's identity fills in below, kept for the LUN's life */
	lun->target_port = spec->target_port;
	lun->target_ports = MAX(spec->target_ports, 1u);
	rdp_lun_set_policies(lun, spec);
	lun->paths = g_new0(struct rdp_path *, lun->npaths);

	bool have_identity = false;
	GString *down = g_string_new(NULL);
	for (unsigned int i = 0; i < lun->npaths; i++) {
		struct rdp_path *p = g_new0(struct rdp_path, 1);
		p->lun = lun;
		p->id = i;
		p->dev = g_strdup(spec->paths[i]);
		p->rdev = rdp_char_dev_number(p->dev);
		p->state = RDP_PATH_CHECKING;
		p->alua_state = -1;
		lun->paths[i] = p;

		int rc = lun->ops.open(p->dev, &p->bctx);
		if (rc < 0) {
			p->bctx = NULL;
			g_string_append_printf(down, "%s%s: %s", down->len ? "; " : "", p->dev,
					       g_strerror(-rc));
			rdp_path_set_state(p, RDP_PATH_FAILED, "cannot be opened at attach");
			continue;
		}
		char wwid[RDP_WWID_MAX];
		g_autoptr(GError) perr = NULL;
		if (rdp_path_identify(lun, p, !have_identity, wwid, &perr) < 0) {
			/* a path that cannot answer now is kept failed; the checker proves its
			 * identity before it carries a command */
			g_string_append_printf(down, "%s%s", down->len ? "; " : "", perr->message);
			rdp_path_set_state(p, RDP_PATH_FAILED, "no identity at attach");
			continue;
		}
		const char *want = have_identity ? lun->wwid : spec->wwid;
		if (want && !rdp_wwid_matches(want, wwid)) {
			g_set_error(err, RDP_ERROR, RDP_ERROR_IDENTITY,
				    "LUN %s: path %s has identity %s but %s has %s: refusing paths "
				    "to different LUNs",
				    spec->name, p->dev, wwid, have_identity ? lun->paths[0]->dev : "wwid=",
				    want);
			g_string_free(down, TRUE);
			rdp_lun_close(lun);
			return NULL;
		}
		if (!have_identity)
			g_strlcpy(lun->wwid, wwid, sizeof(lun->wwid));
		have_identity = true;
		rdp_path_set_state(p, RDP_PATH_ACTIVE, "identity checked at attach");
	}
	if (!have_identity) {
		g_set_error(err, RDP_ERROR, RDP_ERROR_IO,
			    "LUN %s: no backing path answered (%s)", spec->name, down->str);
		g_string_free(down, TRUE);
		rdp_lun_close(lun);
		return NULL;
	}
	if (down->len)
		g_warning("lun %s: paths not usable at attach, will be checked: %s", lun->name,
			  down->str);
	g_string_free(down, TRUE);
	for (unsigned int i = 0; i < lun->npaths; i++)
		rdp_checker_init_path(lun->paths[i]);
	for (unsigned int i = 0; i < lun->npaths; i++)
		rdp_lun_assign_priority(lun, lun->paths[i], spec, (int)i);
	if (lun->grouping == RDP_GROUP_ALUA)
		for (unsigned int i = 0; i < lun->npaths; i++)
			if (lun->paths[i]->bctx && lun->paths[i]->state != RDP_PATH_FAILED)
				rdp_lun_alua_probe(lun, lun->paths[i]);
	rdp_group_assign(lun);
	rdp_lun_limit_transfer(lun);
	lun->st.path_failures = 0;
	lun->st.path_recoveries = 0;
	return lun;
}

/* At attach: the path's ALUA state from its own REPORT TARGET PORT GROUPS. */
void rdp_lun_alua_probe(struct rdp_lun *lun, struct rdp_path *p)
{
	uint8_t cdb[RDP_ALUA_RTPG_CDB_LEN], buf[4096];
	size_t got = 0;

	rdp_alua_rtpg_cdb(cdb, sizeof(buf), false);
	if (probe(lun, p, cdb, sizeof(cdb), buf, sizeof(buf), &got) < 0) {
		g_warning("lun %s: path %s: REPORT TARGET PORT GROUPS failed; priority unknown",
			  lun->name, p->dev);
		return;
	}
	int st = rdp_lun_alua_update(p, buf, got);
	if (st < 0)
		g_warning("lun %s: path %s: no ALUA state for its port (%s)", lun->name, p->dev,
			  g_strerror(-st));
	else if (st == RDP_ALUA_STANDBY || st == RDP_ALUA_UNAVAILABLE || st == RDP_ALUA_OFFLINE)
		rdp_path_set_state(p, RDP_PATH_STANDBY, "ALUA state at attach");
}

