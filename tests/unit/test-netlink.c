/* Unit tests for handler/netlink.c without a kernel: events are built the way
 * target_core_user.c builds them (genl header v2, DEVICE string, MINOR and DEVICE_ID u32, the
 * reconfig attributes) and fed to the parser and to a dispatcher whose replies are captured. */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "../../handler/netlink.h"
#include "../../handler/tcmu-abi.h"
#include "loop-util.h"

#define FAMILY 0x1d
#define OURS "tcm-user/0/lun0/rdp/wwid=naa.33333330000007d0"
#define THEIRS "tcm-user/1/vol/rbd/pool/image"


/* ---- building what the kernel sends ---- */

static struct nl_msg *event(int family, int cmd, const char *dev, const uint32_t *minor,
			    const uint32_t *dev_id)
{
	struct nl_msg *msg = nlmsg_alloc();

	g_assert_nonnull(msg);
	g_assert_nonnull(genlmsg_put(msg, 0, 0, family, 0, 0, (uint8_t)cmd, 2));
	if (dev)
		g_assert_cmpint(nla_put_string(msg, TCMU_ATTR_DEVICE, dev), ==, 0);
	if (minor)
		g_assert_cmpint(nla_put_u32(msg, TCMU_ATTR_MINOR, *minor), ==, 0);
	if (dev_id)
		g_assert_cmpint(nla_put_u32(msg, TCMU_ATTR_DEVICE_ID, *dev_id), ==, 0);
	return msg;
}

static struct nl_msg *full_event(int cmd, const char *dev, uint32_t minor, uint32_t dev_id)
{
	return event(FAMILY, cmd, dev, &minor, &dev_id);
}

/* ---- a reply as the kernel's done handler reads it ---- */

struct sent {
	uint16_t type;
	uint16_t flags;
	uint8_t cmd;
	uint8_t version;
	bool has_status, has_dev_id;
	int32_t status;
	uint32_t dev_id;
};

static void decode_reply(struct nl_msg *msg, struct sent *out)
{
	static const struct nla_policy policy[TCMU_ATTR_MAX + 1] = {
	    [TCMU_ATTR_CMD_STATUS] = {.type = NLA_S32, .minlen = sizeof(int32_t)},
	    [TCMU_ATTR_DEVICE_ID] = {.type = NLA_U32},
	    [TCMU_ATTR_SUPP_KERN_CMD_REPLY] = {.type = NLA_U8},
	};
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[TCMU_ATTR_MAX + 1];

	memset(out, 0, sizeof(*out));
	g_assert_true(genlmsg_valid_hdr(nlh, 0));
	g_assert_cmpint(genlmsg_parse(nlh, 0, tb, TCMU_ATTR_MAX, policy), ==, 0);
	out->type = nlh->nlmsg_type;
	out->flags = nlh->nlmsg_flags;
	out->cmd = genlmsg_hdr(nlh)->cmd;
	out->version = genlmsg_hdr(nlh)->version;
	if (tb[TCMU_ATTR_CMD_STATUS]) {
		out->has_status = true;
		out->status = nla_get_s32(tb[TCMU_ATTR_CMD_STATUS]);
	}
	if (tb[TCMU_ATTR_DEVICE_ID]) {
		out->has_dev_id = true;
		out->dev_id = nla_get_u32(tb[TCMU_ATTR_DEVICE_ID]);
	}
}

/* ---- parser ---- */

static void test_parse_added(void)
{
	struct nl_msg *msg = full_event(TCMU_CMD_ADDED_DEVICE, OURS, 3, 42);
	struct rdp_nl_event ev;

	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, 0);
	g_assert_cmpuint(ev.cmd, ==, TCMU_CMD_ADDED_DEVICE);
	g_assert_cmpuint(ev.version, ==, 2);
	g_assert_cmpstr(ev.uio_name, ==, OURS);
	g_assert_cmpuint(ev.minor, ==, 3);
	g_assert_true(ev.has_dev_id);
	g_assert_cmpuint(ev.dev_id, ==, 42);
	g_assert_false(ev.rc.has_dev_cfg || ev.rc.has_dev_size || ev.rc.has_writecache);
	nlmsg_free(msg);
}

static void test_parse_reconfig(void)
{
	struct nl_msg *msg = full_event(TCMU_CMD_RECONFIG_DEVICE, OURS, 0, 1);
	struct rdp_nl_event ev;

	/* The kernel aligns the u64 with a PAD attribute (nla_put_u64_64bit). */
	g_assert_cmpint(nla_put(msg, TCMU_ATTR_PAD, 0, NULL), ==, 0);
	g_assert_cmpint(nla_put_u64(msg, TCMU_ATTR_DEV_SIZE, 1ULL << 40), ==, 0);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, 0);
	g_assert_true(ev.rc.has_dev_size);
	g_assert_cmpuint(ev.rc.dev_size, ==, 1ULL << 40);
	g_assert_false(ev.rc.has_dev_cfg);
	g_assert_false(ev.rc.has_writecache);
	nlmsg_free(msg);

	msg = full_event(TCMU_CMD_RECONFIG_DEVICE, OURS, 0, 1);
	g_assert_cmpint(nla_put_string(msg, TCMU_ATTR_DEV_CFG, "rdp/section-b"), ==, 0);
	g_assert_cmpint(nla_put_u8(msg, TCMU_ATTR_WRITECACHE, 1), ==, 0);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, 0);
	g_assert_true(ev.rc.has_dev_cfg);
	g_assert_cmpstr(ev.rc.dev_cfg, ==, "rdp/section-b");
	g_assert_true(ev.rc.has_writecache);
	g_assert_cmpuint(ev.rc.writecache, ==, 1);
	nlmsg_free(msg);
}

static void test_parse_rejects(void)
{
	uint32_t one = 1;
	struct rdp_nl_event ev;
	struct nl_msg *msg;

	/* Another generic netlink family. */
	msg = event(FAMILY + 1, TCMU_CMD_ADDED_DEVICE, OURS, &one, &one);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EINVAL);
	nlmsg_free(msg);

	/* Missing DEVICE or MINOR. */
	msg = event(FAMILY, TCMU_CMD_ADDED_DEVICE, NULL, &one, &one);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EINVAL);
	nlmsg_free(msg);
	msg = event(FAMILY, TCMU_CMD_ADDED_DEVICE, OURS, NULL, &one);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EINVAL);
	nlmsg_free(msg);

	/* DEVICE without its NUL. */
	msg = event(FAMILY, TCMU_CMD_ADDED_DEVICE, NULL, &one, &one);
	g_assert_cmpint(nla_put(msg, TCMU_ATTR_DEVICE, 3, "abc"), ==, 0);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EINVAL);
	nlmsg_free(msg);

	/* MINOR too short for a u32. */
	msg = event(FAMILY, TCMU_CMD_ADDED_DEVICE, OURS, NULL, &one);
	g_assert_cmpint(nla_put_u16(msg, TCMU_ATTR_MINOR, 1), ==, 0);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EINVAL);
	nlmsg_free(msg);

	/* Not an event: commands only user space sends. */
	msg = event(FAMILY, TCMU_CMD_SET_FEATURES, OURS, &one, &one);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EOPNOTSUPP);
	nlmsg_free(msg);
	msg = event(FAMILY, TCMU_CMD_ADDED_DEVICE_DONE, OURS, &one, &one);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EOPNOTSUPP);
	nlmsg_free(msg);

	/* A header too short for genl. */
	msg = nlmsg_alloc_simple(FAMILY, 0);
	g_assert_cmpint(rdp_nl_parse_event(msg, FAMILY, &ev), ==, -EINVAL);
	nlmsg_free(msg);
}

/* ---- builders ---- */

static void test_done_cmd(void)
{
	g_assert_cmpint(rdp_nl_done_cmd(TCMU_CMD_ADDED_DEVICE), ==, TCMU_CMD_ADDED_DEVICE_DONE);
	g_assert_cmpint(rdp_nl_done_cmd(TCMU_CMD_REMOVED_DEVICE), ==, TCMU_CMD_REMOVED_DEVICE_DONE);
	g_assert_cmpint(rdp_nl_done_cmd(TCMU_CMD_RECONFIG_DEVICE), ==,
			TCMU_CMD_RECONFIG_DEVICE_DONE);
	g_assert_cmpint(rdp_nl_done_cmd(TCMU_CMD_SET_FEATURES), ==, -EINVAL);
	g_assert_cmpint(rdp_nl_done_cmd(TCMU_CMD_UNSPEC), ==, -EINVAL);
	g_assert_cmpstr(rdp_nl_cmd_name(TCMU_CMD_REMOVED_DEVICE_DONE), ==, "REMOVED_DEVICE_DONE");
}

static void test_build_done(void)
{
	struct nl_msg *msg =
	    rdp_nl_build_done(FAMILY, TCMU_CMD_ADDED_DEVICE_DONE, 4000000000u, -ENODEV);
	struct sent s;

	g_assert_nonnull(msg);
	decode_reply(msg, &s);
	g_assert_cmpuint(s.type, ==, FAMILY);
	g_assert_cmpuint(s.cmd, ==, TCMU_CMD_ADDED_DEVICE_DONE);
	g_assert_cmpuint(s.version, ==, 2);
	g_assert_true(s.flags & NLM_F_ACK);
	g_assert_true(s.has_status);
	g_assert_cmpint(s.status, ==, -ENODEV);
	g_assert_true(s.has_dev_id);
	g_assert_cmpuint(s.dev_id, ==, 4000000000u);
	nlmsg_free(msg);
}

static void test_build_set_features(void)
{
	static const struct nla_policy policy[TCMU_ATTR_MAX + 1] = {
	    [TCMU_ATTR_SUPP_KERN_CMD_REPLY] = {.type = NLA_U8},
	};
	struct nlattr *tb[TCMU_ATTR_MAX + 1];

	for (int on = 0; on <= 1; on++) {
		struct nl_msg *msg = rdp_nl_build_set_features(FAMILY, on);
		struct nlmsghdr *nlh = nlmsg_hdr(msg);

		g_assert_cmpuint(nlh->nlmsg_type, ==, FAMILY);
		g_assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		g_assert_cmpuint(genlmsg_hdr(nlh)->cmd, ==, TCMU_CMD_SET_FEATURES);
		g_assert_cmpint(genlmsg_parse(nlh, 0, tb, TCMU_ATTR_MAX, policy), ==, 0);
		g_assert_nonnull(tb[TCMU_ATTR_SUPP_KERN_CMD_REPLY]);
		g_assert_cmpuint(nla_get_u8(tb[TCMU_ATTR_SUPP_KERN_CMD_REPLY]), ==, on);
		g_assert_null(tb[TCMU_ATTR_CMD_STATUS]);
		nlmsg_free(msg);
	}
}

/* ---- dispatcher ---- */

struct fixture {
	struct rdp_nl *nl;
	GArray *sent; /* struct sent */
	int send_ret;
	int op_ret;
	unsigned int calls;
	int last_cmd;
	char *last_name;
	uint32_t last_minor, last_dev_id;
	struct rdp_nl_reconfig last_rc;
	char *last_dev_cfg;
	bool defer; /* op_added answers later */
	struct rdp_nl_later *later;
};

static int fake_send(void *ctx, struct nl_msg *msg)
{
	struct fixture *f = ctx;
	struct sent s;

	if (f->send_ret)
		return f->send_ret;
	decode_reply(msg, &s);
	g_array_append_val(f->sent, s);
	return 0;
}

static void record(struct fixture *f, int cmd, const char *name, uint32_t minor, uint32_t dev_id)
{
	f->calls++;
	f->last_cmd = cmd;
	g_free(f->last_name);
	f->last_name = g_strdup(name);
	f->last_minor = minor;
	f->last_dev_id = dev_id;
}

static int op_added(void *ud, const char *name, uint32_t minor, uint32_t dev_id)
{
	struct fixture *f = ud;

	record(f, TCMU_CMD_ADDED_DEVICE, name, minor, dev_id);
	if (f->defer) {
		f->later = rdp_nl_later(f->nl);
		return RDP_NL_LATER;
	}
	return f->op_ret;
}

static int op_reconfig(void *ud, const char *name, uint32_t minor, uint32_t dev_id,
		       const struct rdp_nl_reconfig *rc)
{
	struct fixture *f = ud;

	record(f, TCMU_CMD_RECONFIG_DEVICE, name, minor, dev_id);
	f->last_rc = *rc;
	g_free(f->last_dev_cfg);
	f->last_dev_cfg = g_strdup(rc->dev_cfg);
	f->last_rc.dev_cfg = f->last_dev_cfg;
	return f->op_ret;
}

/* No .removed: a missing op must still be answered. */
static const struct rdp_nl_ops test_ops = {
    .added = op_added,
    .reconfig = op_reconfig,
};

static void fixture_set_up(struct fixture *f, gconstpointer data)
{
	enum rdp_nl_replies replies = GPOINTER_TO_INT(data);

	memset(f, 0, sizeof(*f));
	f->sent = g_array_new(FALSE, TRUE, sizeof(struct sent));
	f->nl = rdp_nl_new_detached(&test_ops, f, FAMILY, replies, fake_send, f);
	g_assert_cmpint(rdp_nl_get_replies(f->nl), ==, replies);
}

static void fixture_tear_down(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpuint(warnings->len, ==, 0); /* none unexpected */
	rdp_nl_stop(f->nl);
	g_array_unref(f->sent);
	g_free(f->last_name);
	g_free(f->last_dev_cfg);
}

static struct sent *sent_at(struct fixture *f, guint i)
{
	return &g_array_index(f->sent, struct sent, i);
}

static int handle(struct fixture *f, struct nl_msg *msg)
{
	int ret = rdp_nl_handle_msg(f->nl, msg);

	nlmsg_free(msg);
	return ret;
}

static void test_dispatch_added(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->op_ret = -ENOENT;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 5, 77)), ==, 0);
	g_assert_cmpuint(f->calls, ==, 1);
	g_assert_cmpint(f->last_cmd, ==, TCMU_CMD_ADDED_DEVICE);
	g_assert_cmpstr(f->last_name, ==, OURS);
	g_assert_cmpuint(f->last_minor, ==, 5);
	g_assert_cmpuint(f->last_dev_id, ==, 77);

	g_assert_cmpuint(f->sent->len, ==, 1);
	g_assert_cmpuint(sent_at(f, 0)->type, ==, FAMILY);
	g_assert_cmpuint(sent_at(f, 0)->cmd, ==, TCMU_CMD_ADDED_DEVICE_DONE);
	g_assert_cmpint(sent_at(f, 0)->status, ==, -ENOENT);
	g_assert_cmpuint(sent_at(f, 0)->dev_id, ==, 77);

	f->op_ret = 0;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 6, 78)), ==, 0);
	g_assert_cmpuint(f->sent->len, ==, 2);
	g_assert_true(sent_at(f, 1)->has_status);
	g_assert_cmpint(sent_at(f, 1)->status, ==, 0);
	g_assert_cmpuint(sent_at(f, 1)->dev_id, ==, 78);
}

static void test_dispatch_not_ours(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, THEIRS, 1, 2)), ==, 0);
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_REMOVED_DEVICE, THEIRS, 1, 2)), ==, 0);
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, "tcm-user/0/lun9", 1, 2)), ==,
			0);
	g_assert_cmpuint(f->calls, ==, 0);
	g_assert_cmpuint(f->sent->len, ==, 0);
}

static void test_dispatch_missing_op(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_REMOVED_DEVICE, OURS, 1, 9)), ==, 0);
	g_assert_cmpuint(f->calls, ==, 0);
	g_assert_cmpuint(f->sent->len, ==, 1);
	g_assert_cmpuint(sent_at(f, 0)->cmd, ==, TCMU_CMD_REMOVED_DEVICE_DONE);
	g_assert_cmpint(sent_at(f, 0)->status, ==, -EOPNOTSUPP);
	g_assert_cmpuint(sent_at(f, 0)->dev_id, ==, 9);
}

static void test_dispatch_reconfig(struct fixture *f, gconstpointer data)
{
	struct nl_msg *msg = full_event(TCMU_CMD_RECONFIG_DEVICE, OURS, 2, 11);

	(void)data;
	g_assert_cmpint(nla_put_string(msg, TCMU_ATTR_DEV_CFG, "rdp/other"), ==, 0);
	f->op_ret = -EINVAL;
	g_assert_cmpint(handle(f, msg), ==, 0);
	g_assert_cmpuint(f->calls, ==, 1);
	g_assert_cmpint(f->last_cmd, ==, TCMU_CMD_RECONFIG_DEVICE);
	g_assert_true(f->last_rc.has_dev_cfg);
	g_assert_cmpstr(f->last_rc.dev_cfg, ==, "rdp/other");
	g_assert_false(f->last_rc.has_dev_size);
	g_assert_cmpuint(f->sent->len, ==, 1);
	g_assert_cmpuint(sent_at(f, 0)->cmd, ==, TCMU_CMD_RECONFIG_DEVICE_DONE);
	g_assert_cmpint(sent_at(f, 0)->status, ==, -EINVAL);
}

static void test_dispatch_replies_off(struct fixture *f, gconstpointer data)
{
	(void)data;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 1, 1)), ==, 0);
	g_assert_cmpuint(f->calls, ==, 1);
	g_assert_cmpuint(f->sent->len, ==, 0);
}

static void test_dispatch_no_dev_id(struct fixture *f, gconstpointer data)
{
	uint32_t minor = 4;

	(void)data;
	g_assert_cmpint(handle(f, event(FAMILY, TCMU_CMD_ADDED_DEVICE, OURS, &minor, NULL)), ==, 0);
	g_assert_cmpuint(f->calls, ==, 1);
	g_assert_cmpuint(f->last_minor, ==, 4);
	g_assert_cmpuint(f->sent->len, ==, 0);
}

static void test_dispatch_malformed(struct fixture *f, gconstpointer data)
{
	uint32_t one = 1;

	(void)data;
	g_assert_cmpint(handle(f, event(FAMILY, TCMU_CMD_ADDED_DEVICE, OURS, NULL, &one)), ==,
			-EINVAL);
	assert_warned("*malformed*");
	g_assert_cmpuint(f->calls, ==, 0);
	g_assert_cmpuint(f->sent->len, ==, 0);

	/* Not an event: ignored without a word. */
	g_assert_cmpint(handle(f, event(FAMILY, TCMU_CMD_SET_FEATURES, NULL, NULL, NULL)), ==, 0);
	g_assert_cmpuint(f->calls, ==, 0);
}

static void test_dispatch_send_fails(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->send_ret = -ECONNREFUSED;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 1, 3)), ==,
			-ECONNREFUSED);
	assert_warned("*could not send ADDED_DEVICE_DONE*");
	g_assert_cmpuint(f->calls, ==, 1);
}

static void test_dispatch_positive_status(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->op_ret = 5;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 1, 3)), ==, 0);
	assert_warned("*not 0 or -errno*");
	g_assert_cmpuint(f->sent->len, ==, 1);
	g_assert_cmpint(sent_at(f, 0)->status, ==, -EIO);
}

/* An add answered later (attach probes run off the loop): nothing is sent when the op returns,
 * the answer goes out with the event's own device id and command when it is given. */
static void test_dispatch_later(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->defer = true;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 5, 77)), ==, 0);
	g_assert_nonnull(f->later);
	g_assert_cmpuint(f->sent->len, ==, 0);
	/* another event meanwhile is answered at once */
	f->defer = false;
	f->op_ret = 0;
	g_assert_cmpint(handle(f, full_event(TCMU_CMD_ADDED_DEVICE, OURS, 6, 78)), ==, 0);
	g_assert_cmpuint(f->sent->len, ==, 1);
	g_assert_cmpuint(sent_at(f, 0)->dev_id, ==, 78);
	rdp_nl_answer(f->nl, f->later, -ENXIO);
	g_assert_cmpuint(f->sent->len, ==, 2);
	g_assert_cmpuint(sent_at(f, 1)->cmd, ==, TCMU_CMD_ADDED_DEVICE_DONE);
	g_assert_cmpuint(sent_at(f, 1)->dev_id, ==, 77);
	g_assert_cmpint(sent_at(f, 1)->status, ==, -ENXIO);
}

#define ADD_DISPATCH(path, fn, replies)                                                            \
	g_test_add("/netlink/dispatch/" path, struct fixture, GINT_TO_POINTER(replies),            \
		   fixture_set_up, fn, fixture_tear_down)

int main(int argc, char **argv)
{
	int ret;

	g_test_init(&argc, &argv, NULL);
	/* Warnings are asserted by the tests, not fatal; criticals still abort. */
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	g_log_set_writer_func(capture, NULL, NULL);

	g_test_add_func("/netlink/parse/added", test_parse_added);
	g_test_add_func("/netlink/parse/reconfig", test_parse_reconfig);
	g_test_add_func("/netlink/parse/rejects", test_parse_rejects);
	g_test_add_func("/netlink/build/done-cmd", test_done_cmd);
	g_test_add_func("/netlink/build/done", test_build_done);
	g_test_add_func("/netlink/build/set-features", test_build_set_features);
	ADD_DISPATCH("added", test_dispatch_added, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("later", test_dispatch_later, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("added-replies-unknown", test_dispatch_added, RDP_NL_REPLIES_UNKNOWN);
	ADD_DISPATCH("not-ours", test_dispatch_not_ours, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("missing-op", test_dispatch_missing_op, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("reconfig", test_dispatch_reconfig, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("replies-off", test_dispatch_replies_off, RDP_NL_REPLIES_OFF);
	ADD_DISPATCH("no-dev-id", test_dispatch_no_dev_id, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("malformed", test_dispatch_malformed, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("send-fails", test_dispatch_send_fails, RDP_NL_REPLIES_ON);
	ADD_DISPATCH("positive-status", test_dispatch_positive_status, RDP_NL_REPLIES_ON);
	ret = g_test_run();
	g_ptr_array_unref(warnings);
	return ret;
}
