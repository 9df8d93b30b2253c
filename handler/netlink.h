/* TCM-USER generic netlink: the kernel announces TCMU devices being added, removed and
 * reconfigured on the multicast group "config"; events for subtype "rdp" go to the daemon and
 * are answered, because the kernel may hold a configfs "enable" or "rmdir" until it is.
 *
 * Replies. tcmu-rdpd sends TCMU_CMD_SET_FEATURES(SUPP_KERN_CMD_REPLY=1) at start. That sets a
 * module-wide flag which outlives the daemon; every device configured while it is set waits, with
 * no timeout, for a *_DONE reply to each of its add/remove/reconfig events. Devices of other
 * subtypes are never answered here (another daemon owns them). A device created with
 * `control=nl_reply_supported=-1` (targetcli: `create ... control=nl_reply_supported=-1`) never
 * waits; the reply sent for it anyway is refused by the kernel with -ENODEV and logged at debug
 * level. A stuck enable/rmdir can be released with: echo 1 > /sys/module/target_core_user/
 * parameters/block_netlink; echo 1 > .../reset_netlink; echo 0 > .../block_netlink. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct nl_msg;
struct rdp_nl;

/* The optional attributes of a RECONFIG_DEVICE event; the kernel sends exactly one of them. */
struct rdp_nl_reconfig {
	bool has_dev_cfg;
	const char *dev_cfg; /* new dev_config, "<subtype>/<cfgstring>"; valid during the call */
	bool has_dev_size;
	uint64_t dev_size; /* bytes */
	bool has_writecache;
	uint8_t writecache;
};

/* Called from the GLib main loop for devices of subtype "rdp". Each returns 0 or -errno; the
 * value goes back to the kernel as the command's status: a failed add makes `echo 1 > enable`
 * (and so targetcli's create) fail with that errno, a failed reconfig fails the configfs write,
 * and the status of a remove is ignored by the kernel. The reply is sent when the op returns, so
 * an op must finish its work (e.g. open /dev/uio<minor>) before returning. A NULL op answers
 * -EOPNOTSUPP. uio_name is "tcm-user/<hba>/<dev>/rdp/<cfgstring>" (see tcmu-name.h); minor is
 * N of /dev/uioN; dev_id is the kernel's se_device index (the same as configfs
 * statistics/scsi_dev/indx). */
/* An op's return value: it called rdp_nl_later() and answers with rdp_nl_answer(). The kernel
 * waits meanwhile (configfs enable blocks); the rest of the loop does not. */
#define RDP_NL_LATER 1
struct rdp_nl_later;
/* Only from inside an op: a handle for answering this event later. */
struct rdp_nl_later *rdp_nl_later(struct rdp_nl *nl);
/* Answer (0 or -errno) an event taken with rdp_nl_later(); frees l. */
void rdp_nl_answer(struct rdp_nl *nl, struct rdp_nl_later *l, int status);

struct rdp_nl_ops {
	int (*added)(void *ud, const char *uio_name, uint32_t minor, uint32_t dev_id);
	int (*removed)(void *ud, const char *uio_name, uint32_t minor, uint32_t dev_id);
	int (*reconfig)(void *ud, const char *uio_name, uint32_t minor, uint32_t dev_id,
			const struct rdp_nl_reconfig *rc);
};

/* What is known of the kernel's reply support. Replies are sent unless it is OFF: a reply the
 * kernel did not wait for is refused harmlessly, a missing one blocks configfs forever. */
enum rdp_nl_replies {
	RDP_NL_REPLIES_UNKNOWN, /* SET_FEATURES not answered (yet) */
	RDP_NL_REPLIES_ON,	/* kernel accepted SET_FEATURES: it waits for *_DONE */
	RDP_NL_REPLIES_OFF,	/* kernel predates SET_FEATURES (-EOPNOTSUPP): never reply */
};

/* Open the socket, join TCM-USER "config", negotiate replies (waits up to a few seconds for the
 * kernel's answer) and watch the socket from the thread-default GMainContext. Needs root
 * (CAP_NET_ADMIN) and target_core_user loaded. Devices that existed before the call produced no
 * event here: the caller must scan /sys/class/uio itself. Events that arrive during the
 * negotiation are dispatched from an idle callback right after, never from inside this call. */
struct rdp_nl *rdp_nl_start(const struct rdp_nl_ops *ops, void *ud, GError **err);
/* Stop listening and free. Does not touch the kernel's module-wide reply flag. NULL is fine. */
void rdp_nl_stop(struct rdp_nl *nl);
enum rdp_nl_replies rdp_nl_get_replies(const struct rdp_nl *nl);
const char *rdp_nl_replies_name(enum rdp_nl_replies r);

/* ---- message layer: no socket, unit-tested ---- */

/* One event from the kernel. Strings point into the message they were parsed from. */
struct rdp_nl_event {
	uint8_t cmd;	 /* TCMU_CMD_ADDED_DEVICE, _REMOVED_DEVICE or _RECONFIG_DEVICE */
	uint8_t version; /* genl header version; the kernel sends 2 */
	const char *uio_name;
	uint32_t minor;
	bool has_dev_id; /* always set by kernels that support replies */
	uint32_t dev_id;
	struct rdp_nl_reconfig rc;
};

/* Parse a TCM-USER event of generic netlink family `family`. 0; -EOPNOTSUPP for a command
 * that is not one of the three events; -EINVAL for another family, a bad header, attributes
 * failing the policy, or a missing TCMU_ATTR_DEVICE / TCMU_ATTR_MINOR. */
int rdp_nl_parse_event(struct nl_msg *msg, int family, struct rdp_nl_event *ev);
/* The *_DONE command answering an event command, or -EINVAL. */
int rdp_nl_done_cmd(int event_cmd);
const char *rdp_nl_cmd_name(int cmd);
/* The reply the kernel's done handlers expect: TCMU_ATTR_CMD_STATUS (s32) and
 * TCMU_ATTR_DEVICE_ID (u32). NULL when out of memory. Free with nlmsg_free(). */
struct nl_msg *rdp_nl_build_done(int family, int done_cmd, uint32_t dev_id, int32_t status);
/* SET_FEATURES with TCMU_ATTR_SUPP_KERN_CMD_REPLY, asking for an ACK. */
struct nl_msg *rdp_nl_build_set_features(int family, bool kern_cmd_reply);

/* A dispatcher with no socket: each reply goes to send(), which does not take the message. The
 * daemon uses rdp_nl_start(); this is the same logic with the I/O injected, for tests. */
typedef int (*rdp_nl_send_fn)(void *send_ctx, struct nl_msg *msg);
struct rdp_nl *rdp_nl_new_detached(const struct rdp_nl_ops *ops, void *ud, int family,
				   enum rdp_nl_replies replies, rdp_nl_send_fn send,
				   void *send_ctx);
/* Handle one received message: parse, filter on subtype "rdp", call the op, reply. 0 when it was
 * handled or deliberately ignored (another subtype, not an event); -errno when it was dropped as
 * malformed or the reply could not be sent. */
int rdp_nl_handle_msg(struct rdp_nl *nl, struct nl_msg *msg);
