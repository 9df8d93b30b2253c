/* TCM-USER generic netlink listener: kernel events about TCMU devices in, *_DONE replies out.
 * The message layer (parse an event, build a reply, dispatch one message) has no socket and is
 * unit-tested; the socket layer below it only joins the group, negotiates replies and feeds
 * received messages to the dispatcher from the GLib main loop. */
#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "tcmu-rdp"
#endif
#ifndef G_LOG_USE_STRUCTURED
#define G_LOG_USE_STRUCTURED 1
#endif

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "netlink.h"
#include "tcmu-abi.h" /* the TCMU_CMD_* and TCMU_ATTR_* enums */
#include "tcmu-name.h"

#define TCMU_NL_FAMILY "TCM-USER" /* TCMU_GENL_NAME; the UAPI header does not carry it */
#define TCMU_NL_GROUP "config"
#define TCMU_NL_VERSION 2
#define FEATURES_TIMEOUT_US (5 * G_USEC_PER_SEC)
/* Events are rare, but losing one can leave configfs blocked: keep room for a burst. */
#define RX_BUFFER_BYTES (256 * 1024)

struct rdp_nl {
	struct rdp_nl_ops ops;
	void *ud;
	int family;
	enum rdp_nl_replies replies;
	rdp_nl_send_fn send;
	void *send_ctx;

	/* socket layer; unused by a detached dispatcher */
	struct nl_sock *sock;
	guint watch;
	guint idle;
	bool negotiating;
	bool features_answered;
	int features_err;
	uint32_t features_seq;
	GQueue deferred;       /* struct nl_msg *, received while negotiating */
	const struct rdp_nl_event *current; /* the event an op is being called for */
	struct rdp_nl_later *later;	    /* rdp_nl_later() taken during that call */
	GHashTable *in_flight; /* reply seq -> description, until the kernel acks it */
};

/* The kernel's policy, plus the attributes it only sends (libnl has no length for NLA_S32). */
static const struct nla_policy tcmu_policy[TCMU_ATTR_MAX + 1] = {
    [TCMU_ATTR_DEVICE] = {.type = NLA_STRING},
    [TCMU_ATTR_MINOR] = {.type = NLA_U32},
    [TCMU_ATTR_DEV_CFG] = {.type = NLA_STRING},
    [TCMU_ATTR_DEV_SIZE] = {.type = NLA_U64},
    [TCMU_ATTR_WRITECACHE] = {.type = NLA_U8},
    [TCMU_ATTR_CMD_STATUS] = {.type = NLA_S32, .minlen = sizeof(int32_t)},
    [TCMU_ATTR_DEVICE_ID] = {.type = NLA_U32},
    [TCMU_ATTR_SUPP_KERN_CMD_REPLY] = {.type = NLA_U8},
};

/* ---- message layer ---- */

const char *rdp_nl_cmd_name(int cmd)
{
	switch (cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		return "ADDED_DEVICE";
	case TCMU_CMD_REMOVED_DEVICE:
		return "REMOVED_DEVICE";
	case TCMU_CMD_RECONFIG_DEVICE:
		return "RECONFIG_DEVICE";
	case TCMU_CMD_ADDED_DEVICE_DONE:
		return "ADDED_DEVICE_DONE";
	case TCMU_CMD_REMOVED_DEVICE_DONE:
		return "REMOVED_DEVICE_DONE";
	case TCMU_CMD_RECONFIG_DEVICE_DONE:
		return "RECONFIG_DEVICE_DONE";
	case TCMU_CMD_SET_FEATURES:
		return "SET_FEATURES";
	default:
		return "unknown";
	}
}

const char *rdp_nl_replies_name(enum rdp_nl_replies r)
{
	switch (r) {
	case RDP_NL_REPLIES_UNKNOWN:
		return "unknown";
	case RDP_NL_REPLIES_ON:
		return "on";
	case RDP_NL_REPLIES_OFF:
		return "off";
	}
	return "invalid";
}

int rdp_nl_done_cmd(int event_cmd)
{
	switch (event_cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		return TCMU_CMD_ADDED_DEVICE_DONE;
	case TCMU_CMD_REMOVED_DEVICE:
		return TCMU_CMD_REMOVED_DEVICE_DONE;
	case TCMU_CMD_RECONFIG_DEVICE:
		return TCMU_CMD_RECONFIG_DEVICE_DONE;
	default:
		return -EINVAL;
	}
}

int rdp_nl_parse_event(struct nl_msg *msg, int family, struct rdp_nl_event *ev)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[TCMU_ATTR_MAX + 1];
	struct genlmsghdr *gh;

	memset(ev, 0, sizeof(*ev));
	if (nlh->nlmsg_type != family || !genlmsg_valid_hdr(nlh, 0))
		return -EINVAL;
	gh = genlmsg_hdr(nlh);
	if (rdp_nl_done_cmd(gh->cmd) < 0)
		return -EOPNOTSUPP;
	if (genlmsg_parse(nlh, 0, tb, TCMU_ATTR_MAX, tcmu_policy) < 0)
		return -EINVAL;
	if (!tb[TCMU_ATTR_DEVICE] || !tb[TCMU_ATTR_MINOR])
		return -EINVAL;

	ev->cmd = gh->cmd;
	ev->version = gh->version;
	ev->uio_name = nla_get_string(tb[TCMU_ATTR_DEVICE]);
	ev->minor = nla_get_u32(tb[TCMU_ATTR_MINOR]);
	if (tb[TCMU_ATTR_DEVICE_ID]) {
		ev->has_dev_id = true;
		ev->dev_id = nla_get_u32(tb[TCMU_ATTR_DEVICE_ID]);
	}
	if (tb[TCMU_ATTR_DEV_CFG]) {
		ev->rc.has_dev_cfg = true;
		ev->rc.dev_cfg = nla_get_string(tb[TCMU_ATTR_DEV_CFG]);
	}
	if (tb[TCMU_ATTR_DEV_SIZE]) {
		ev->rc.has_dev_size = true;
		ev->rc.dev_size = nla_get_u64(tb[TCMU_ATTR_DEV_SIZE]);
	}
	if (tb[TCMU_ATTR_WRITECACHE]) {
		ev->rc.has_writecache = true;
		ev->rc.writecache = nla_get_u8(tb[TCMU_ATTR_WRITECACHE]);
	}
	return 0;
}

static struct nl_msg *new_request(int family, int flags, int cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, (uint8_t)cmd,
			 TCMU_NL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct nl_msg *rdp_nl_build_done(int family, int done_cmd, uint32_t dev_id, int32_t status)
{
	/* The ACK lets the socket layer report a refused reply against the device it was for. */
	struct nl_msg *msg = new_request(family, NLM_F_ACK, done_cmd);

	if (!msg)
		return NULL;
	if (nla_put_s32(msg, TCMU_ATTR_CMD_STATUS, status) < 0 ||
	    nla_put_u32(msg, TCMU_ATTR_DEVICE_ID, dev_id) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct nl_msg *rdp_nl_build_set_features(int family, bool kern_cmd_reply)
{
	struct nl_msg *msg = new_request(family, NLM_F_ACK, TCMU_CMD_SET_FEATURES);

	if (!msg)
		return NULL;
	if (nla_put_u8(msg, TCMU_ATTR_SUPP_KERN_CMD_REPLY, kern_cmd_reply ? 1 : 0) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* ---- dispatcher ---- */

struct rdp_nl *rdp_nl_new_detached(const struct rdp_nl_ops *ops, void *ud, int family,
				   enum rdp_nl_replies replies, rdp_nl_send_fn send, void *send_ctx)
{
	struct rdp_nl *nl = g_new0(struct rdp_nl, 1);

	nl->ops = *ops;
	nl->ud = ud;
	nl->family = family;
	nl->replies = replies;
	nl->send = send;
	nl->send_ctx = send_ctx;
	g_queue_init(&nl->deferred);
	return nl;
}

enum rdp_nl_replies rdp_nl_get_replies(const struct rdp_nl *nl)
{
	return nl->replies;
}

static int call_op(struct rdp_nl *nl, const struct rdp_nl_event *ev)
{
	int (*op)(void *, const char *, uint32_t, uint32_t) = NULL;

	switch (ev->cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		op = nl->ops.added;
		break;
	case TCMU_CMD_REMOVED_DEVICE:
		op = nl->ops.removed;
		break;
	case TCMU_CMD_RECONFIG_DEVICE:
		if (!nl->ops.reconfig)
			return -EOPNOTSUPP;
		return nl->ops.reconfig(nl->ud, ev->uio_name, ev->minor, ev->dev_id, &ev->rc);
	}
	if (!op)
		return -EOPNOTSUPP;
	return op(nl->ud, ev->uio_name, ev->minor, ev->dev_id);
}

static int reply(struct rdp_nl *nl, const struct rdp_nl_event *ev, int status)
{
	struct nl_msg *msg;
	int done = rdp_nl_done_cmd(ev->cmd);
	int ret;

	if (nl->replies == RDP_NL_REPLIES_OFF)
		return 0;
	if (!ev->has_dev_id) {
		/* Only kernels without reply support omit it, and they wait for nothing. */
		g_debug("netlink: %s for %s carries no device id; not answering",
			rdp_nl_cmd_name(ev->cmd), ev->uio_name);
		return 0;
	}
	msg = rdp_nl_build_done(nl->family, done, ev->dev_id, status);
	if (!msg) {
		ret = -ENOMEM;
	} else {
		ret = nl->send(nl->send_ctx, msg);
		nlmsg_free(msg);
	}
	if (ret < 0)
		g_warning(
		    "netlink: could not send %s for %s (dev id %u): %s. The kernel may now "
		    "block configfs enable/rmdir of this device; release it with "
		    "block_netlink/reset_netlink under /sys/module/target_core_user/parameters",
		    rdp_nl_cmd_name(done), ev->uio_name, ev->dev_id, g_strerror(-ret));
	return ret;
}

/* An event whose answer waits: what reply() needs, copied out of the message. */
struct rdp_nl_later {
	struct rdp_nl_event ev;
	char *uio_name;
};

struct rdp_nl_later *rdp_nl_later(struct rdp_nl *nl)
{
	g_return_val_if_fail(nl->current && !nl->later, NULL);
	struct rdp_nl_later *l = g_new0(struct rdp_nl_later, 1);
	l->ev = *nl->current;
	l->uio_name = g_strdup(nl->current->uio_name);
	l->ev.uio_name = l->uio_name;
	l->ev.rc.dev_cfg = NULL;
	nl->later = l;
	return l;
}

static int answer(struct rdp_nl *nl, const struct rdp_nl_event *ev, int status)
{
	g_message("netlink: %s %s (uio%u, dev id %u): %s", rdp_nl_cmd_name(ev->cmd), ev->uio_name,
		  ev->minor, ev->dev_id, status ? g_strerror(-status) : "ok");
	return reply(nl, ev, status);
}

void rdp_nl_answer(struct rdp_nl *nl, struct rdp_nl_later *l, int status)
{
	if (status > 0)
		status = -EIO;
	answer(nl, &l->ev, status);
	g_free(l->uio_name);
	g_free(l);
}

int rdp_nl_handle_msg(struct rdp_nl *nl, struct nl_msg *msg)
{
	struct rdp_nl_event ev;
	int ret, status;

	ret = rdp_nl_parse_event(msg, nl->family, &ev);
	if (ret == -EOPNOTSUPP) {
		g_debug("netlink: ignoring TCM-USER command %u", genlmsg_hdr(nlmsg_hdr(msg))->cmd);
		return 0;
	}
	if (ret < 0) {
		g_warning("netlink: dropped a malformed TCM-USER message (type %u, %u bytes)",
			  nlmsg_hdr(msg)->nlmsg_type, nlmsg_hdr(msg)->nlmsg_len);
		return ret;
	}
	/* Another handler's device: its daemon answers, a reply from us would race with it. */
	if (!rdp_tcmu_name_is_ours(ev.uio_name)) {
		g_debug("netlink: %s for %s is not ours", rdp_nl_cmd_name(ev.cmd), ev.uio_name);
		return 0;
	}

	nl->current = &ev;
	nl->later = NULL;
	status = call_op(nl, &ev);
	nl->current = NULL;
	if (nl->later) {
		if (status == RDP_NL_LATER) {
			nl->later = NULL;
			return 0; /* the op answers through rdp_nl_answer() */
		}
		g_warning("netlink: handler took a later answer for %s but returned %d; answering now",
			  ev.uio_name, status);
		g_free(nl->later->uio_name);
		g_free(nl->later);
		nl->later = NULL;
	}
	if (status > 0) {
		g_warning("netlink: handler returned %d for %s, not 0 or -errno; answering -EIO",
			  status, ev.uio_name);
		status = -EIO;
	}
	return answer(nl, &ev, status);
}


/* ---- socket layer ---- */

static int nlerr_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_PERM:
		return EPERM;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_AGAIN:
		return EAGAIN;
	default:
		return EIO;
	}
}

static int sock_send(void *send_ctx, struct nl_msg *msg)
{
	struct rdp_nl *nl = send_ctx;
	struct genlmsghdr *gh = genlmsg_hdr(nlmsg_hdr(msg));
	int ret;

	/* Unicast to the kernel (port 0): its doit handlers run inside this send. */
	ret = nl_send_auto(nl->sock, msg);
	if (ret < 0)
		return -nlerr_to_errno(ret);
	g_hash_table_insert(nl->in_flight, GUINT_TO_POINTER(nlmsg_hdr(msg)->nlmsg_seq),
			    g_strdup(rdp_nl_cmd_name(gh->cmd)));
	return 0;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct rdp_nl *nl = arg;
	struct sockaddr_nl *src = nlmsg_get_src(msg);

	/* Any local process may unicast to our port; only the kernel speaks for TCMU. */
	if (src->nl_pid != 0) {
		g_warning("netlink: ignored a message from user-space port %u posing as the kernel",
			  src->nl_pid);
		return NL_SKIP;
	}
	if (nl->negotiating) {
		nlmsg_get(msg);
		g_queue_push_tail(&nl->deferred, msg);
		return NL_OK;
	}
	rdp_nl_handle_msg(nl, msg);
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct rdp_nl *nl = arg;
	uint32_t seq = nlmsg_hdr(msg)->nlmsg_seq;

	if (nl->negotiating && seq == nl->features_seq) {
		nl->features_answered = true;
		nl->features_err = 0;
	}
	g_hash_table_remove(nl->in_flight, GUINT_TO_POINTER(seq));
	return NL_OK;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct rdp_nl *nl = arg;
	uint32_t seq = e->msg.nlmsg_seq;
	const char *what;

	(void)who;
	if (nl->negotiating && seq == nl->features_seq) {
		nl->features_answered = true;
		nl->features_err = e->error;
		return NL_SKIP;
	}
	what = g_hash_table_lookup(nl->in_flight, GUINT_TO_POINTER(seq));
	if (e->error == -ENODEV)
		/* No waiter: nl_reply_supported <= 0, or configured before the flag was set. */
		g_debug("netlink: kernel was not waiting for %s (seq %u)", what ? what : "reply",
			seq);
	else
		g_warning("netlink: kernel refused %s (seq %u): %s", what ? what : "a message", seq,
			  g_strerror(-e->error));
	g_hash_table_remove(nl->in_flight, GUINT_TO_POINTER(seq));
	return NL_SKIP;
}

static void receive(struct rdp_nl *nl)
{
	int ret = nl_recvmsgs_default(nl->sock);

	if (ret >= 0 || ret == -NLE_AGAIN)
		return;
	if (ret == -NLE_NOMEM)
		/* ENOBUFS: the socket overflowed and the kernel dropped events. */
		g_warning("netlink: TCM-USER events were lost (receive buffer overrun); a device "
			  "added or removed meanwhile may be unserved or blocking configfs: "
			  "check /sys/class/uio and dmesg");
	else
		g_warning("netlink: receive failed: %s", nl_geterror(ret));
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct rdp_nl *nl = data;

	(void)fd;
	if (cond & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
		g_warning("netlink: TCM-USER socket failed (condition 0x%x); no more device events "
			  "will be seen: restart tcmu-rdpd",
			  (unsigned int)cond);
		nl->watch = 0;
		return G_SOURCE_REMOVE;
	}
	receive(nl);
	return G_SOURCE_CONTINUE;
}

static gboolean flush_deferred(gpointer data)
{
	struct rdp_nl *nl = data;
	struct nl_msg *msg;

	nl->idle = 0;
	while ((msg = g_queue_pop_head(&nl->deferred))) {
		rdp_nl_handle_msg(nl, msg);
		nlmsg_free(msg);
	}
	return G_SOURCE_REMOVE;
}

/* Ask for replies and wait for the kernel's verdict. The group is joined first so that no
 * device added in between can wait for a reply we never saw the event for; events arriving
 * meanwhile are queued and dispatched once the verdict is known. */
static int negotiate(struct rdp_nl *nl, GError **err)
{
	struct nl_msg *msg = rdp_nl_build_set_features(nl->family, true);
	gint64 deadline = g_get_monotonic_time() + FEATURES_TIMEOUT_US;
	int ret;

	if (!msg) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "TCM-USER: out of memory building SET_FEATURES");
		return -ENOMEM;
	}
	nl->negotiating = true;
	ret = nl_send_auto(nl->sock, msg);
	nl->features_seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (ret < 0) {
		nl->negotiating = false;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "TCM-USER: could not send SET_FEATURES to the kernel: %s",
			    nl_geterror(ret));
		return -nlerr_to_errno(ret);
	}

	while (!nl->features_answered) {
		struct pollfd pfd = {.fd = nl_socket_get_fd(nl->sock), .events = POLLIN};
		gint64 left = deadline - g_get_monotonic_time();

		if (left <= 0)
			break;
		ret = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (ret < 0 && errno != EINTR) {
			ret = -errno;
			nl->negotiating = false;
			g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-ret),
				    "TCM-USER: poll on the netlink socket failed: %s",
				    g_strerror(-ret));
			return ret;
		}
		if (ret > 0)
			receive(nl);
	}
	nl->negotiating = false;

	if (!nl->features_answered) {
		nl->replies = RDP_NL_REPLIES_UNKNOWN;
		g_warning(
		    "netlink: the kernel did not answer SET_FEATURES within %d s; replying to "
		    "every event anyway",
		    (int)(FEATURES_TIMEOUT_US / G_USEC_PER_SEC));
	} else if (nl->features_err == 0) {
		nl->replies = RDP_NL_REPLIES_ON;
	} else if (nl->features_err == -EOPNOTSUPP) {
		nl->replies = RDP_NL_REPLIES_OFF;
		g_message("netlink: this kernel predates netlink replies (SET_FEATURES: %s); "
			  "devices will not wait for tcmu-rdpd",
			  g_strerror(-nl->features_err));
	} else {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-nl->features_err),
			    "TCM-USER: the kernel refused SET_FEATURES: %s%s",
			    g_strerror(-nl->features_err),
			    nl->features_err == -EPERM
				? " (tcmu-rdpd needs CAP_NET_ADMIN: run it as root)"
				: "");
		return nl->features_err;
	}
	return 0;
}

static int open_socket(struct rdp_nl *nl, GError **err)
{
	int ret, group;

	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "TCM-USER: out of memory allocating a netlink socket");
		return -ENOMEM;
	}
	ret = genl_connect(nl->sock);
	if (ret < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "TCM-USER: cannot open a generic netlink socket: %s", nl_geterror(ret));
		return -nlerr_to_errno(ret);
	}

	/* Resolve with libnl's default callbacks: its controller queries rely on them. */
	nl->family = genl_ctrl_resolve(nl->sock, TCMU_NL_FAMILY);
	group = nl->family < 0 ? nl->family
			       : genl_ctrl_resolve_grp(nl->sock, TCMU_NL_FAMILY, TCMU_NL_GROUP);
	if (nl->family < 0 || group < 0) {
		ret = nl->family < 0 ? nl->family : group;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "TCM-USER: the kernel has no generic netlink family \"%s\" with group "
			    "\"%s\" (%s): load the module with `modprobe target_core_user`",
			    TCMU_NL_FAMILY, TCMU_NL_GROUP, nl_geterror(ret));
		return -ENOENT;
	}

	/* Multicast events carry seq 0 and replies are matched by hand (in_flight), so libnl's
	 * strict ordering and automatic ACKs would only get in the way. */
	nl_socket_disable_seq_check(nl->sock);
	nl_socket_disable_auto_ack(nl->sock);
	nl_socket_modify_cb(nl->sock, NL_CB_VALID, NL_CB_CUSTOM, on_valid, nl);
	nl_socket_modify_cb(nl->sock, NL_CB_ACK, NL_CB_CUSTOM, on_ack, nl);
	nl_socket_modify_err_cb(nl->sock, NL_CB_CUSTOM, on_error, nl);

	ret = nl_socket_set_buffer_size(nl->sock, RX_BUFFER_BYTES, 0);
	if (ret < 0)
		g_warning("netlink: could not enlarge the receive buffer: %s", nl_geterror(ret));
	ret = nl_socket_set_nonblocking(nl->sock);
	if (ret < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "TCM-USER: cannot make the netlink socket non-blocking: %s",
			    nl_geterror(ret));
		return -nlerr_to_errno(ret);
	}
	ret = nl_socket_add_membership(nl->sock, group);
	if (ret < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "TCM-USER: cannot join multicast group \"%s\": %s", TCMU_NL_GROUP,
			    nl_geterror(ret));
		return -nlerr_to_errno(ret);
	}
	return 0;
}

struct rdp_nl *rdp_nl_start(const struct rdp_nl_ops *ops, void *ud, GError **err)
{
	struct rdp_nl *nl =
	    rdp_nl_new_detached(ops, ud, -1, RDP_NL_REPLIES_UNKNOWN, sock_send, NULL);

	nl->send_ctx = nl;
	nl->in_flight = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	if (open_socket(nl, err) < 0 || negotiate(nl, err) < 0) {
		rdp_nl_stop(nl);
		return NULL;
	}
	nl->watch = g_unix_fd_add(nl_socket_get_fd(nl->sock), G_IO_IN, on_readable, nl);
	if (!g_queue_is_empty(&nl->deferred))
		nl->idle = g_idle_add(flush_deferred, nl);
	g_message("netlink: listening on %s/%s (family %d), kernel replies: %s", TCMU_NL_FAMILY,
		  TCMU_NL_GROUP, nl->family, rdp_nl_replies_name(nl->replies));
	return nl;
}

void rdp_nl_stop(struct rdp_nl *nl)
{
	struct nl_msg *msg;

	if (!nl)
		return;
	if (nl->watch)
		g_source_remove(nl->watch);
	if (nl->idle)
		g_source_remove(nl->idle);
	while ((msg = g_queue_pop_head(&nl->deferred)))
		nlmsg_free(msg);
	if (nl->in_flight)
		g_hash_table_destroy(nl->in_flight);
	nl_socket_free(nl->sock);
	g_free(nl);
}
