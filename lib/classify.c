/* Completion classification: what a path returned for one request (errno, host byte, driver byte,
 * SCSI status, sense) decides whether the command is done, failed on the LU, failed on the path,
 * or should be tried again. The rules are tables read top to bottom, first match wins; each row
 * says why, measured against what the Linux SCSI midlayer and dm-multipath do with the same result.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <scsi/sg_lib.h>

#include <librdp/rdp.h>

#define RDP_ANY (-1) /* wildcard in a status, ASC or ASCQ column */

/* Linux host byte values (include/scsi/scsi_status.h). The userspace headers carry only part of
 * them, so they are spelt out here under our own prefix. */
enum {
	RDP_DID_OK = 0x00,
	RDP_DID_NO_CONNECT = 0x01,
	RDP_DID_BUS_BUSY = 0x02,
	RDP_DID_TIME_OUT = 0x03,
	RDP_DID_BAD_TARGET = 0x04,
	RDP_DID_ABORT = 0x05,
	RDP_DID_PARITY = 0x06,
	RDP_DID_ERROR = 0x07,
	RDP_DID_RESET = 0x08,
	RDP_DID_BAD_INTR = 0x09,
	RDP_DID_PASSTHROUGH = 0x0a,
	RDP_DID_SOFT_ERROR = 0x0b,
	RDP_DID_IMM_RETRY = 0x0c,
	RDP_DID_REQUEUE = 0x0d,
	RDP_DID_TRANSPORT_DISRUPTED = 0x0e,
	RDP_DID_TRANSPORT_FAILFAST = 0x0f,
	RDP_DID_TARGET_FAILURE = 0x10,
	RDP_DID_NEXUS_FAILURE = 0x11,
	RDP_DID_ALLOC_FAILURE = 0x12,
	RDP_DID_MEDIUM_ERROR = 0x13,
	RDP_DID_TRANSPORT_MARGINAL = 0x14,
};

/* SG v3 driver_status: a driver byte in the low nibble; the high nibble held the SUGGEST_* hints,
 * long unused by Linux, and is ignored. Kernels since 5.14 report only DRIVER_SENSE (or 0). */
enum {
	RDP_DRIVER_OK = 0x00,
	RDP_DRIVER_BUSY = 0x01,
	RDP_DRIVER_SOFT = 0x02,
	RDP_DRIVER_MEDIA = 0x03,
	RDP_DRIVER_ERROR = 0x04,
	RDP_DRIVER_INVALID = 0x05,
	RDP_DRIVER_TIMEOUT = 0x06,
	RDP_DRIVER_HARD = 0x07,
	RDP_DRIVER_SENSE = 0x08,
};
#define RDP_DRIVER_MASK 0x0f

/* A request that never reached the device has no SCSI answer, so it must not complete to the
 * initiator from this result (status byte would read GOOD) nor end a retry budget with it: the
 * only verdict whose dead end hands back no status is PATH_ERROR. A host-side ENOMEM thus costs
 * the path one checker interval, which is the lesser harm. The rows exist to name the cause. */
struct rdp_errno_rule {
	int err; /* positive errno */
	enum rdp_verdict verdict;
	const char *reason;
};

static const struct rdp_errno_rule rdp_errno_rules[] = {
    /* sg answers ENXIO/ENODEV once the SCSI device is offline or being deleted */
    {ENXIO, RDP_V_PATH_ERROR, "ENXIO: device offline or gone"},
    {ENODEV, RDP_V_PATH_ERROR, "ENODEV: device removed"},
    {EIO, RDP_V_PATH_ERROR, "EIO: request failed in the host"},
    {ETIMEDOUT, RDP_V_PATH_ERROR, "ETIMEDOUT: request timed out in the host"},
    {EBADF, RDP_V_PATH_ERROR, "EBADF: path file closed"},
    /* transient on the host, yet see above: never worth completing the command with */
    {ENOMEM, RDP_V_PATH_ERROR, "ENOMEM: host out of memory"},
    {EAGAIN, RDP_V_PATH_ERROR, "EAGAIN: host queue full"},
    {EBUSY, RDP_V_PATH_ERROR, "EBUSY: host queue full"},
    {EDOM, RDP_V_PATH_ERROR, "EDOM: sg queue full"},
    /* the host refused the request as built; another path refuses it the same way, but there
     * is still no status to hand back, and the bounded re-issue ends in no-path handling */
    {EINVAL, RDP_V_PATH_ERROR, "EINVAL: request refused by the host"},
    {EPERM, RDP_V_PATH_ERROR, "EPERM: command not permitted on this path"},
    {EACCES, RDP_V_PATH_ERROR, "EACCES: command not permitted on this path"},
};
static const struct rdp_classification rdp_errno_other = {
    RDP_V_PATH_ERROR, "errno: request never reached the device"};

/* Host byte. `pass` means the row does not decide: go on to the driver byte and SCSI status.
 * Verdicts follow blk_path_error(): everything is a path error except what the midlayer maps to
 * BLK_STS_TARGET / NEXUS (now RESV_CONFLICT) / NOSPC / MEDIUM / PROTECTION; a retry is what
 * scsi_decide_disposition() requeues regardless of REQ_FAILFAST_TRANSPORT, which dm-mpath sets. */
struct rdp_host_rule {
	uint16_t host;
	int16_t status; /* SCSI status that must come with it, or RDP_ANY */
	bool pass;
	enum rdp_verdict verdict;
	const char *reason;
};

static const struct rdp_host_rule rdp_host_rules[] = {
    {RDP_DID_OK, RDP_ANY, true, RDP_V_COMPLETE, "DID_OK"},
    /* the midlayer passes these straight up; BLK_STS_IOERR, so dm-mpath fails the path */
    {RDP_DID_NO_CONNECT, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_NO_CONNECT"},
    /* retried only without REQ_FAILFAST_TRANSPORT: multipath fails the path at once */
    {RDP_DID_BUS_BUSY, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_BUS_BUSY"},
    /* the command timed out on this path: dm-mpath fails the path */
    {RDP_DID_TIME_OUT, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_TIME_OUT"},
    {RDP_DID_BAD_TARGET, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_BAD_TARGET"},
    /* aborted by the host (after a timeout the midlayer turns it into DID_TIME_OUT) */
    {RDP_DID_ABORT, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_ABORT"},
    {RDP_DID_PARITY, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_PARITY"},
    /* some HBAs report RESERVATION CONFLICT under DID_ERROR; the midlayer then judges by the
     * status byte, and so do we (a conflict is the LU's answer, not the path's fault) */
    {RDP_DID_ERROR, RDP_SAM_RESERVATION_CONFLICT, true, RDP_V_COMPLETE,
     "DID_ERROR + RESERVATION CONFLICT"},
    {RDP_DID_ERROR, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_ERROR"},
    /* a bus/target reset hit the command: the midlayer just retries it */
    {RDP_DID_RESET, RDP_ANY, false, RDP_V_RETRY, "DID_RESET"},
    {RDP_DID_BAD_INTR, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_BAD_INTR"},
    /* the midlayer strips it and treats the result as DID_OK */
    {RDP_DID_PASSTHROUGH, RDP_ANY, true, RDP_V_COMPLETE, "DID_PASSTHROUGH"},
    /* the LLD asks for a retry */
    {RDP_DID_SOFT_ERROR, RDP_ANY, false, RDP_V_RETRY, "DID_SOFT_ERROR"},
    {RDP_DID_IMM_RETRY, RDP_ANY, false, RDP_V_RETRY, "DID_IMM_RETRY"},
    {RDP_DID_REQUEUE, RDP_ANY, false, RDP_V_RETRY, "DID_REQUEUE"},
    /* the transport class blocked the remote port; for pass-through (no midlayer retries) it
     * reaches us, and the port may stay blocked up to fast_io_fail_tmo: move elsewhere, the
     * checker brings the path back once the port is unblocked */
    {RDP_DID_TRANSPORT_DISRUPTED, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_TRANSPORT_DISRUPTED"},
    /* fast_io_fail_tmo fired: BLK_STS_TRANSPORT */
    {RDP_DID_TRANSPORT_FAILFAST, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_TRANSPORT_FAILFAST"},
    /* BLK_STS_TARGET: "permanent target failure, do not retry on other paths" */
    {RDP_DID_TARGET_FAILURE, RDP_ANY, false, RDP_V_TARGET_ERROR, "DID_TARGET_FAILURE"},
    /* BLK_STS_NEXUS, set for reservation conflicts: not a path error per blk_path_error() */
    {RDP_DID_NEXUS_FAILURE, RDP_ANY, false, RDP_V_TARGET_ERROR, "DID_NEXUS_FAILURE"},
    /* BLK_STS_NOSPC: thin-provisioning space exhausted on the LU */
    {RDP_DID_ALLOC_FAILURE, RDP_ANY, false, RDP_V_TARGET_ERROR, "DID_ALLOC_FAILURE"},
    /* BLK_STS_MEDIUM */
    {RDP_DID_MEDIUM_ERROR, RDP_ANY, false, RDP_V_TARGET_ERROR, "DID_MEDIUM_ERROR"},
    /* FC marginal path (BLK_STS_TRANSPORT): the point is to move I/O off it */
    {RDP_DID_TRANSPORT_MARGINAL, RDP_ANY, false, RDP_V_PATH_ERROR, "DID_TRANSPORT_MARGINAL"},
};
/* an unknown host byte is something the HBA driver could not deliver: a path error, like the
 * midlayer's FAILED -> error handler -> BLK_STS_IOERR */
static const struct rdp_classification rdp_host_other = {RDP_V_PATH_ERROR, "host status unknown"};

/* Driver byte (low nibble). Only "nothing" and "sense is valid" let the SCSI status decide;
 * the others were set by the midlayer when it could not finish the command on this path. */
struct rdp_driver_rule {
	uint8_t driver;
	bool pass;
	enum rdp_verdict verdict;
	const char *reason;
};

static const struct rdp_driver_rule rdp_driver_rules[] = {
    {RDP_DRIVER_OK, true, RDP_V_COMPLETE, "DRIVER_OK"},
    {RDP_DRIVER_SENSE, true, RDP_V_COMPLETE, "DRIVER_SENSE"},
    {RDP_DRIVER_BUSY, false, RDP_V_PATH_ERROR, "DRIVER_BUSY"},
    {RDP_DRIVER_SOFT, false, RDP_V_PATH_ERROR, "DRIVER_SOFT"},
    {RDP_DRIVER_MEDIA, false, RDP_V_PATH_ERROR, "DRIVER_MEDIA"},
    {RDP_DRIVER_ERROR, false, RDP_V_PATH_ERROR, "DRIVER_ERROR"},
    {RDP_DRIVER_INVALID, false, RDP_V_PATH_ERROR, "DRIVER_INVALID"},
    {RDP_DRIVER_TIMEOUT, false, RDP_V_PATH_ERROR, "DRIVER_TIMEOUT"},
    {RDP_DRIVER_HARD, false, RDP_V_PATH_ERROR, "DRIVER_HARD"},
};
static const struct rdp_classification rdp_driver_other = {RDP_V_PATH_ERROR,
							   "driver status unknown"};

/* SCSI status byte. `pass` sends CHECK CONDITION on to the sense table. */
struct rdp_status_rule {
	uint8_t status;
	bool pass;
	enum rdp_verdict verdict;
	const char *reason;
};

static const struct rdp_status_rule rdp_status_rules[] = {
    {SAM_STAT_GOOD, false, RDP_V_COMPLETE, "GOOD"},
    {SAM_STAT_CHECK_CONDITION, true, RDP_V_COMPLETE, "CHECK CONDITION"},
    /* PRE-FETCH found room in the cache; scsi_status_is_good() counts it (and the obsolete
     * intermediate statuses) as good */
    {SAM_STAT_CONDITION_MET, false, RDP_V_COMPLETE, "CONDITION MET"},
    {SAM_STAT_INTERMEDIATE, false, RDP_V_COMPLETE, "INTERMEDIATE"},
    {SAM_STAT_INTERMEDIATE_CONDITION_MET, false, RDP_V_COMPLETE, "INTERMEDIATE-CONDITION MET"},
    /* the LU is busy or its task set is full: it is there, ask again later */
    {SAM_STAT_BUSY, false, RDP_V_RETRY, "BUSY"},
    {SAM_STAT_TASK_SET_FULL, false, RDP_V_RETRY, "TASK SET FULL"},
    /* another initiator holds a reservation: every path gets the same answer, and the
     * initiator must see it (BLK_STS_RESV_CONFLICT is not a path error) */
    {SAM_STAT_RESERVATION_CONFLICT, false, RDP_V_TARGET_ERROR, "RESERVATION CONFLICT"},
    /* obsolete (SAM-3); the midlayer passes it up as it is */
    {SAM_STAT_COMMAND_TERMINATED, false, RDP_V_TARGET_ERROR, "COMMAND TERMINATED"},
    /* ACA belongs to the initiator that asked for NACA; pass it back */
    {SAM_STAT_ACA_ACTIVE, false, RDP_V_TARGET_ERROR, "ACA ACTIVE"},
    /* another I_T nexus' task management aborted it (TAS=1): the midlayer retries */
    {SAM_STAT_TASK_ABORTED, false, RDP_V_RETRY, "TASK ABORTED"},
};
/* a status byte SAM does not define means a garbled answer: the midlayer's FAILED, and in the
 * end BLK_STS_IOERR, which dm-mpath counts against the path */
static const struct rdp_classification rdp_status_other = {RDP_V_PATH_ERROR, "SCSI status unknown"};

/* CHECK CONDITION with no sense we can decode: the kernel returns FAILED and lets the error
 * handler fetch sense; with autosense that means the sense was lost on the way. The status did
 * arrive, so the path works: ask again, a bounded number of times. */
static const struct rdp_classification rdp_sense_missing = {RDP_V_RETRY,
							    "CHECK CONDITION without sense"};
/* A deferred error reports an earlier command's failure (e.g. a cached write that never reached
 * the medium); the current command was not processed. The kernel retries it quietly; through a
 * gateway the initiator is the one who must learn of the lost write, so hand it back unchanged
 * (its own midlayer then retries the current command). */
static const struct rdp_classification rdp_sense_deferred = {RDP_V_TARGET_ERROR, "deferred error"};

/* Sense key / ASC / ASCQ. Every key ends in a catch-all row, so the table is total; specific
 * rows come before the catch-all of their key. */
struct rdp_sense_rule {
	uint8_t key;
	int16_t asc;  /* RDP_ANY or 0x00-0xff */
	int16_t ascq; /* RDP_ANY or 0x00-0xff */
	enum rdp_verdict verdict;
	const char *reason;
};

static const struct rdp_sense_rule rdp_sense_rules[] = {
    /* the command completed; the sense is information for the initiator */
    {SPC_SK_NO_SENSE, RDP_ANY, RDP_ANY, RDP_V_COMPLETE, "NO SENSE"},
    {SPC_SK_RECOVERED_ERROR, RDP_ANY, RDP_ANY, RDP_V_COMPLETE, "RECOVERED ERROR"},

    /* short waits the midlayer sits out with a delayed retry */
    {SPC_SK_NOT_READY, 0x04, 0x01, RDP_V_RETRY, "NOT READY 04/01 becoming ready"},
    {SPC_SK_NOT_READY, 0x04, 0x07, RDP_V_RETRY, "NOT READY 04/07 operation in progress"},
    /* ALUA transition: the port will settle; scsi_dh_alua and scsi-ml retry */
    {SPC_SK_NOT_READY, 0x04, 0x0a, RDP_V_RETRY, "NOT READY 04/0A ALUA transitioning"},
    /* ALUA standby / unavailable describe this target port, not the LU: another port serves */
    {SPC_SK_NOT_READY, 0x04, 0x0b, RDP_V_PATH_ERROR, "NOT READY 04/0B ALUA standby"},
    {SPC_SK_NOT_READY, 0x04, 0x0c, RDP_V_PATH_ERROR, "NOT READY 04/0C ALUA unavailable"},
    {SPC_SK_NOT_READY, 0x04, 0x14, RDP_V_RETRY, "NOT READY 04/14 space allocation in progress"},
    {SPC_SK_NOT_READY, 0x04, 0x1a, RDP_V_RETRY, "NOT READY 04/1A start/stop in progress"},
    /* needs START UNIT, manual intervention, a long format or sanitize, a medium: the LU's
     * state, the same on every path; the initiator decides */
    {SPC_SK_NOT_READY, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "NOT READY"},

    /* the LU's media or hardware failed: BLK_STS_MEDIUM / TARGET, not path errors */
    {SPC_SK_MEDIUM_ERROR, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "MEDIUM ERROR"},
    {SPC_SK_HARDWARE_ERROR, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "HARDWARE ERROR"},

    /* the LUN is not mapped behind this target port (LUN masking per port, unmapped on one
     * controller): the midlayer gives BLK_STS_IOERR and dm-mpath fails the path */
    {SPC_SK_ILLEGAL_REQUEST, 0x25, 0x00, RDP_V_PATH_ERROR,
     "ILLEGAL REQUEST 25/00 LU not supported on this port"},
    /* the command itself is wrong: every path says the same */
    {SPC_SK_ILLEGAL_REQUEST, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "ILLEGAL REQUEST"},

    /* A unit attention reports an event and the command was not executed. Each path is its
     * own I_T nexus with its own UAs, so passing them up would leak path events (and the same
     * event once per path) to the initiator; absorb and re-issue, as the midlayer does for
     * non-removable devices. Capacity change is the one the engine must act upon. */
    {SPC_SK_UNIT_ATTENTION, 0x2a, 0x09, RDP_V_CAPACITY_CHANGED, "UA 2A/09 capacity data changed"},
    {SPC_SK_UNIT_ATTENTION, 0x2a, 0x06, RDP_V_RETRY, "UA 2A/06 ALUA state changed"},
    {SPC_SK_UNIT_ATTENTION, 0x2a, RDP_ANY, RDP_V_RETRY, "UA 2A/xx parameters changed"},
    {SPC_SK_UNIT_ATTENTION, 0x29, RDP_ANY, RDP_V_RETRY, "UA 29/xx power-on/reset"},
    {SPC_SK_UNIT_ATTENTION, 0x3f, 0x0e, RDP_V_RETRY, "UA 3F/0E reported LUNs data changed"},
    {SPC_SK_UNIT_ATTENTION, 0x3f, RDP_ANY, RDP_V_RETRY, "UA 3F/xx target conditions changed"},
    {SPC_SK_UNIT_ATTENTION, RDP_ANY, RDP_ANY, RDP_V_RETRY, "UA other"},

    {SPC_SK_DATA_PROTECT, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "DATA PROTECT"},
    {SPC_SK_BLANK_CHECK, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "BLANK CHECK"},
    {SPC_SK_VENDOR_SPECIFIC, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "VENDOR SPECIFIC"},
    {SPC_SK_COPY_ABORTED, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "COPY ABORTED"},

    /* protection information check failed: BLK_STS_PROTECTION, the data is wrong on every path */
    {SPC_SK_ABORTED_COMMAND, 0x10, RDP_ANY, RDP_V_TARGET_ERROR,
     "ABORTED COMMAND 10/xx protection information"},
    /* command duration limit exceeded: the initiator asked for the limit, never retried */
    {SPC_SK_ABORTED_COMMAND, 0x2e, RDP_ANY, RDP_V_TARGET_ERROR,
     "ABORTED COMMAND 2E/xx command timeout"},
    /* CRC/parity errors and data-phase, ACK/NAK, initiator-response failures are faults of
     * this I_T nexus' link. The midlayer would retry on the same path and dm-mpath fail it once
     * retries run out; we cannot aim a retry at one path, and a link corrupting frames should
     * not carry more data: fail over, the checker reinstates a path whose fault was a blip */
    {SPC_SK_ABORTED_COMMAND, 0x47, RDP_ANY, RDP_V_PATH_ERROR,
     "ABORTED COMMAND 47/xx transport CRC/parity"},
    {SPC_SK_ABORTED_COMMAND, 0x4b, RDP_ANY, RDP_V_PATH_ERROR,
     "ABORTED COMMAND 4B/xx data phase/ACK-NAK"},
    /* anything else the target aborted: the midlayer retries (NEEDS_RETRY) */
    {SPC_SK_ABORTED_COMMAND, RDP_ANY, RDP_ANY, RDP_V_RETRY, "ABORTED COMMAND"},

    {SPC_SK_RESERVED, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "sense key 0Ch"},
    {SPC_SK_VOLUME_OVERFLOW, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "VOLUME OVERFLOW"},
    {SPC_SK_MISCOMPARE, RDP_ANY, RDP_ANY, RDP_V_TARGET_ERROR, "MISCOMPARE"},
    /* COMPLETED: the command completed, sense carries information */
    {SPC_SK_COMPLETED, RDP_ANY, RDP_ANY, RDP_V_COMPLETE, "COMPLETED"},
};
/* unreachable while every key has a catch-all row; kept so a table edit cannot fall off */
static const struct rdp_classification rdp_sense_other = {RDP_V_TARGET_ERROR, "sense unknown"};

static struct rdp_classification verdict(enum rdp_verdict v, const char *reason)
{
	return (struct rdp_classification){.verdict = v, .reason = reason};
}

static struct rdp_classification classify_errno(int error)
{
	/* -INT_MIN does not exist: such a value is no errno anyway, and falls to the default */
	int err = error == INT_MIN ? 0 : error < 0 ? -error : error;

	for (size_t i = 0; i < G_N_ELEMENTS(rdp_errno_rules); i++)
		if (rdp_errno_rules[i].err == err)
			return verdict(rdp_errno_rules[i].verdict, rdp_errno_rules[i].reason);
	return rdp_errno_other;
}

static bool match(int16_t want, int have)
{
	return want == RDP_ANY || want == have;
}

static struct rdp_classification classify_sense(const uint8_t *sense, size_t sense_len)
{
	/* sg_scsi_normalize_sense() reads byte 4 of descriptor sense whatever the length: hand it a
	 * zero-padded copy so a short buffer is never read past its end */
	uint8_t buf[RDP_SENSE_MAX] = {0};
	struct sg_scsi_sense_hdr ssh;
	size_t n = sense_len < sizeof(buf) ? sense_len : sizeof(buf);

	if (!sense || !n)
		return rdp_sense_missing;
	memcpy(buf, sense, n);
	if (!sg_scsi_normalize_sense(buf, (int)n, &ssh))
		return rdp_sense_missing;
	/* the sense key must be there (byte 2 fixed, byte 1 descriptor); a missing ASC/ASCQ reads
	 * as 00/00, as in the kernel's scsi_normalize_sense() */
	if (n < (ssh.response_code >= 0x72 ? 2u : 3u))
		return rdp_sense_missing;
	if (ssh.response_code == 0x71 || ssh.response_code == 0x73)
		return rdp_sense_deferred;

	for (size_t i = 0; i < G_N_ELEMENTS(rdp_sense_rules); i++) {
		const struct rdp_sense_rule *r = &rdp_sense_rules[i];

		if (r->key == ssh.sense_key && match(r->asc, ssh.asc) && match(r->ascq, ssh.ascq))
			return verdict(r->verdict, r->reason);
	}
	return rdp_sense_other;
}

/* Order: errno, host byte, driver byte, status byte, sense. Each later stage is only meaningful
 * when the earlier one says the command reached the LU and came back intact. The residual count
 * plays no part: a short transfer with GOOD status is legal and the initiator reads resid. */
struct rdp_classification rdp_classify_completion(const struct rdp_io_result *res,
						  const uint8_t *sense, size_t sense_len)
{
	const struct rdp_host_rule *h = NULL;
	const struct rdp_driver_rule *d = NULL;
	const struct rdp_status_rule *s = NULL;

	if (res->error)
		return classify_errno(res->error);

	for (size_t i = 0; i < G_N_ELEMENTS(rdp_host_rules) && !h; i++)
		if (rdp_host_rules[i].host == res->host_status &&
		    match(rdp_host_rules[i].status, res->status))
			h = &rdp_host_rules[i];
	if (!h)
		return rdp_host_other;
	if (!h->pass)
		return verdict(h->verdict, h->reason);

	for (size_t i = 0; i < G_N_ELEMENTS(rdp_driver_rules) && !d; i++)
		if (rdp_driver_rules[i].driver == (res->driver_status & RDP_DRIVER_MASK))
			d = &rdp_driver_rules[i];
	if (!d)
		return rdp_driver_other;
	if (!d->pass)
		return verdict(d->verdict, d->reason);

	for (size_t i = 0; i < G_N_ELEMENTS(rdp_status_rules) && !s; i++)
		if (rdp_status_rules[i].status == res->status)
			s = &rdp_status_rules[i];
	if (!s)
		return rdp_status_other;
	if (!s->pass)
		return verdict(s->verdict, s->reason);

	return classify_sense(sense, sense_len);
}

const char *rdp_verdict_name(enum rdp_verdict v)
{
	switch (v) {
	case RDP_V_COMPLETE:
		return "complete";
	case RDP_V_TARGET_ERROR:
		return "target-error";
	case RDP_V_PATH_ERROR:
		return "path-error";
	case RDP_V_RETRY:
		return "retry";
	case RDP_V_CAPACITY_CHANGED:
		return "capacity-changed";
	}
	return "unknown";
}
