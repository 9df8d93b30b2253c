/* Unit tests for completion classification (lib/classify.c). The file is included so the static
 * rule tables can be walked: every row is reached through rdp_classify_completion(), so a new row
 * is tested as soon as it is added. Hand-written cases with literal byte values pin the verdicts.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "classify.c"

#define SENSE_FIXED false
#define SENSE_DESC true

static struct rdp_classification run(uint16_t host, uint16_t driver, uint8_t status,
				     const uint8_t *sense, size_t sense_len)
{
	struct rdp_io_result res = {
	    .status = status,
	    .host_status = host,
	    .driver_status = driver,
	    .sense_len = (uint8_t)sense_len,
	};
	return rdp_classify_completion(&res, sense, sense_len);
}

/* CHECK CONDITION carrying key/asc/ascq in the given format */
static struct rdp_classification run_sense(bool desc, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t sense[RDP_SENSE_MAX] = {0};

	sg_build_sense_buffer(desc, sense, key, asc, ascq);
	return run(0, RDP_DRIVER_SENSE, RDP_SAM_CHECK_CONDITION, sense, desc ? 8 : 18);
}

static void assert_class(struct rdp_classification got, enum rdp_verdict v, const char *reason)
{
	g_assert_nonnull(got.reason);
	g_assert_cmpstr(got.reason, ==, reason);
	g_assert_cmpstr(rdp_verdict_name(got.verdict), ==, rdp_verdict_name(v));
}

static bool verdict_valid(enum rdp_verdict v)
{
	return v == RDP_V_COMPLETE || v == RDP_V_TARGET_ERROR || v == RDP_V_PATH_ERROR ||
	       v == RDP_V_RETRY || v == RDP_V_CAPACITY_CHANGED;
}

/* ---- every table row ---- */

static void test_errno_rows(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_errno_rules); i++) {
		const struct rdp_errno_rule *r = &rdp_errno_rules[i];
		struct rdp_io_result res = {.error = -r->err};

		g_assert_true(verdict_valid(r->verdict));
		/* a request that never reached the device must not complete or exhaust retries
		 * with an empty answer */
		g_assert_cmpint(r->verdict, ==, RDP_V_PATH_ERROR);
		assert_class(rdp_classify_completion(&res, NULL, 0), r->verdict, r->reason);
		/* the host and status bytes are meaningless beside an errno */
		res.status = RDP_SAM_GOOD;
		res.host_status = RDP_DID_OK;
		assert_class(rdp_classify_completion(&res, NULL, 0), r->verdict, r->reason);
	}
}

/* first host row a (host, status) pair reaches, as the tables are meant to be read */
static const struct rdp_host_rule *host_first(uint16_t host, uint8_t status)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_host_rules); i++)
		if (rdp_host_rules[i].host == host && match(rdp_host_rules[i].status, status))
			return &rdp_host_rules[i];
	return NULL;
}

static void test_host_rows(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_host_rules); i++) {
		const struct rdp_host_rule *r = &rdp_host_rules[i];
		int status = -1;

		g_assert_true(verdict_valid(r->verdict));
		/* an input that reaches this row: a row no input reaches is dead */
		for (int s = 0; s < 256 && status < 0; s++)
			if (host_first(r->host, (uint8_t)s) == r)
				status = s;
		g_assert_cmpint(status, >=, 0);

		struct rdp_classification got = run(r->host, 0, (uint8_t)status, NULL, 0);
		if (r->pass) {
			/* decided later, exactly as for DID_OK */
			struct rdp_classification ok = run(RDP_DID_OK, 0, (uint8_t)status, NULL, 0);
			assert_class(got, ok.verdict, ok.reason);
		} else {
			assert_class(got, r->verdict, r->reason);
		}
	}
}

static void test_driver_rows(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_driver_rules); i++) {
		const struct rdp_driver_rule *r = &rdp_driver_rules[i];

		g_assert_true(verdict_valid(r->verdict));
		g_assert_cmpuint(r->driver & ~RDP_DRIVER_MASK, ==, 0);
		/* with and without a SUGGEST_* nibble, which must not matter */
		for (uint16_t suggest = 0; suggest <= 0x10; suggest += 0x10) {
			struct rdp_classification got = run(0, r->driver | suggest, 0, NULL, 0);
			if (r->pass)
				assert_class(got, RDP_V_COMPLETE, "GOOD");
			else
				assert_class(got, r->verdict, r->reason);
		}
	}
	/* all 16 driver bytes are either listed or fall to the unknown row */
	for (uint16_t drv = 0; drv <= RDP_DRIVER_MASK; drv++) {
		struct rdp_classification got = run(0, drv, 0, NULL, 0);
		g_assert_true(drv == RDP_DRIVER_OK || drv == RDP_DRIVER_SENSE ||
			      got.verdict == RDP_V_PATH_ERROR);
	}
}

static void test_status_rows(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_status_rules); i++) {
		const struct rdp_status_rule *r = &rdp_status_rules[i];
		struct rdp_classification got = run(0, 0, r->status, NULL, 0);

		g_assert_true(verdict_valid(r->verdict));
		for (size_t j = 0; j < i; j++)
			g_assert_cmpuint(rdp_status_rules[j].status, !=, r->status);
		if (r->pass)
			assert_class(got, rdp_sense_missing.verdict, rdp_sense_missing.reason);
		else
			assert_class(got, r->verdict, r->reason);
	}
}

static const struct rdp_sense_rule *sense_first(uint8_t key, uint8_t asc, uint8_t ascq)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_sense_rules); i++) {
		const struct rdp_sense_rule *r = &rdp_sense_rules[i];
		if (r->key == key && match(r->asc, asc) && match(r->ascq, ascq))
			return r;
	}
	return NULL;
}

static void test_sense_rows(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_sense_rules); i++) {
		const struct rdp_sense_rule *r = &rdp_sense_rules[i];
		int asc = -1, ascq = -1;

		g_assert_true(verdict_valid(r->verdict));
		g_assert_cmpuint(r->key, <=, 0xf);
		for (int a = 0; a < 256 && asc < 0; a++) {
			if (!match(r->asc, a))
				continue;
			for (int q = 0; q < 256 && asc < 0; q++)
				if (sense_first(r->key, (uint8_t)a, (uint8_t)q) == r) {
					asc = a;
					ascq = q;
				}
		}
		g_assert_cmpint(asc, >=, 0); /* a row no sense reaches is dead */
		assert_class(run_sense(SENSE_FIXED, r->key, (uint8_t)asc, (uint8_t)ascq),
			     r->verdict, r->reason);
		assert_class(run_sense(SENSE_DESC, r->key, (uint8_t)asc, (uint8_t)ascq), r->verdict,
			     r->reason);
	}
}

/* every sense key ends in a catch-all: no sense falls off the table */
static void test_sense_total(void)
{
	static const uint8_t ascqs[] = {0x00, 0x01, 0x09, 0x0e, 0xff};

	for (uint8_t key = 0; key <= 0xf; key++)
		for (int asc = 0; asc < 256; asc++)
			for (size_t q = 0; q < G_N_ELEMENTS(ascqs); q++) {
				struct rdp_classification got =
				    run_sense(SENSE_DESC, key, (uint8_t)asc, ascqs[q]);
				g_assert_cmpstr(got.reason, !=, rdp_sense_other.reason);
			}
}

/* a reason names one rule: logs and counters stay unambiguous */
static void test_reasons_unique(void)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	const char *fallbacks[] = {rdp_errno_other.reason,   rdp_host_other.reason,
				   rdp_driver_other.reason,  rdp_status_other.reason,
				   rdp_sense_missing.reason, rdp_sense_deferred.reason,
				   rdp_sense_other.reason};

#define ADD(s)                                                                                     \
	do {                                                                                       \
		g_assert_nonnull(s);                                                               \
		g_assert_cmpuint(strlen(s), >, 0);                                                 \
		g_assert_false(g_hash_table_contains(seen, s));                                    \
		g_hash_table_add(seen, (gpointer)(s));                                             \
	} while (0)
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_errno_rules); i++)
		ADD(rdp_errno_rules[i].reason);
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_host_rules); i++)
		ADD(rdp_host_rules[i].reason);
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_driver_rules); i++)
		ADD(rdp_driver_rules[i].reason);
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_status_rules); i++)
		ADD(rdp_status_rules[i].reason);
	for (size_t i = 0; i < G_N_ELEMENTS(rdp_sense_rules); i++)
		ADD(rdp_sense_rules[i].reason);
	for (size_t i = 0; i < G_N_ELEMENTS(fallbacks); i++)
		ADD(fallbacks[i]);
#undef ADD
}

/* ---- explicit cases, with the kernel's byte values written out ---- */

static void test_errno(void)
{
	struct rdp_io_result res = {.error = -ENXIO, .host_status = 0x00, .status = 0x00};

	assert_class(rdp_classify_completion(&res, NULL, 0), RDP_V_PATH_ERROR,
		     "ENXIO: device offline or gone");
	res.error = -ENODEV;
	assert_class(rdp_classify_completion(&res, NULL, 0), RDP_V_PATH_ERROR,
		     "ENODEV: device removed");
	res.error = -EXDEV; /* not listed */
	assert_class(rdp_classify_completion(&res, NULL, 0), RDP_V_PATH_ERROR,
		     "errno: request never reached the device");
}

static void test_host_bytes(void)
{
	static const struct {
		uint16_t host;
		enum rdp_verdict v;
		const char *reason;
	} cases[] = {
	    {0x01, RDP_V_PATH_ERROR, "DID_NO_CONNECT"},
	    {0x02, RDP_V_PATH_ERROR, "DID_BUS_BUSY"},
	    {0x03, RDP_V_PATH_ERROR, "DID_TIME_OUT"},
	    {0x04, RDP_V_PATH_ERROR, "DID_BAD_TARGET"},
	    {0x05, RDP_V_PATH_ERROR, "DID_ABORT"},
	    {0x06, RDP_V_PATH_ERROR, "DID_PARITY"},
	    {0x07, RDP_V_PATH_ERROR, "DID_ERROR"},
	    {0x08, RDP_V_RETRY, "DID_RESET"},
	    {0x09, RDP_V_PATH_ERROR, "DID_BAD_INTR"},
	    {0x0a, RDP_V_COMPLETE, "GOOD"}, /* DID_PASSTHROUGH reads as DID_OK */
	    {0x0b, RDP_V_RETRY, "DID_SOFT_ERROR"},
	    {0x0c, RDP_V_RETRY, "DID_IMM_RETRY"},
	    {0x0d, RDP_V_RETRY, "DID_REQUEUE"},
	    {0x0e, RDP_V_PATH_ERROR, "DID_TRANSPORT_DISRUPTED"},
	    {0x0f, RDP_V_PATH_ERROR, "DID_TRANSPORT_FAILFAST"},
	    {0x10, RDP_V_TARGET_ERROR, "DID_TARGET_FAILURE"},
	    {0x11, RDP_V_TARGET_ERROR, "DID_NEXUS_FAILURE"},
	    {0x12, RDP_V_TARGET_ERROR, "DID_ALLOC_FAILURE"},
	    {0x13, RDP_V_TARGET_ERROR, "DID_MEDIUM_ERROR"},
	    {0x14, RDP_V_PATH_ERROR, "DID_TRANSPORT_MARGINAL"},
	    {0x15, RDP_V_PATH_ERROR, "host status unknown"},
	    {0xff, RDP_V_PATH_ERROR, "host status unknown"},
	};
	uint8_t ua[18];

	sg_build_sense_buffer(false, ua, 0x06, 0x29, 0x00);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_class(run(cases[i].host, 0, 0x00, NULL, 0), cases[i].v, cases[i].reason);
		/* a host byte that decides outranks whatever sense came along */
		if (cases[i].host != 0x0a)
			assert_class(run(cases[i].host, 0x08, 0x02, ua, sizeof(ua)), cases[i].v,
				     cases[i].reason);
	}
	assert_class(run(0x00, 0, 0x00, NULL, 0), RDP_V_COMPLETE, "GOOD");
	/* a reservation conflict under DID_ERROR is judged by its status */
	assert_class(run(0x07, 0, 0x18, NULL, 0), RDP_V_TARGET_ERROR, "RESERVATION CONFLICT");
	assert_class(run(0x07, 0, 0x08, NULL, 0), RDP_V_PATH_ERROR, "DID_ERROR");
}

static void test_driver_bytes(void)
{
	uint8_t ua[18];

	sg_build_sense_buffer(false, ua, 0x06, 0x2a, 0x09);
	assert_class(run(0, 0x06, 0x00, NULL, 0), RDP_V_PATH_ERROR, "DRIVER_TIMEOUT");
	assert_class(run(0, 0x16, 0x00, NULL, 0), RDP_V_PATH_ERROR, "DRIVER_TIMEOUT");
	assert_class(run(0, 0x04, 0x00, NULL, 0), RDP_V_PATH_ERROR, "DRIVER_ERROR");
	assert_class(run(0, 0x01, 0x00, NULL, 0), RDP_V_PATH_ERROR, "DRIVER_BUSY");
	assert_class(run(0, 0x0f, 0x00, NULL, 0), RDP_V_PATH_ERROR, "driver status unknown");
	/* DRIVER_SENSE alone only says the sense is valid */
	assert_class(run(0, 0x08, 0x00, NULL, 0), RDP_V_COMPLETE, "GOOD");
	assert_class(run(0, 0x08, 0x02, ua, sizeof(ua)), RDP_V_CAPACITY_CHANGED,
		     "UA 2A/09 capacity data changed");
	assert_class(run(0, 0x18, 0x02, ua, sizeof(ua)), RDP_V_CAPACITY_CHANGED,
		     "UA 2A/09 capacity data changed");
}

static void test_status_bytes(void)
{
	assert_class(run(0, 0, 0x00, NULL, 0), RDP_V_COMPLETE, "GOOD");
	assert_class(run(0, 0, 0x04, NULL, 0), RDP_V_COMPLETE, "CONDITION MET");
	assert_class(run(0, 0, 0x08, NULL, 0), RDP_V_RETRY, "BUSY");
	assert_class(run(0, 0, 0x28, NULL, 0), RDP_V_RETRY, "TASK SET FULL");
	assert_class(run(0, 0, 0x18, NULL, 0), RDP_V_TARGET_ERROR, "RESERVATION CONFLICT");
	assert_class(run(0, 0, 0x40, NULL, 0), RDP_V_RETRY, "TASK ABORTED");
	assert_class(run(0, 0, 0x30, NULL, 0), RDP_V_TARGET_ERROR, "ACA ACTIVE");
	assert_class(run(0, 0, 0x7e, NULL, 0), RDP_V_PATH_ERROR, "SCSI status unknown");
	/* GOOD stays GOOD even when sense came with it */
	uint8_t s[18];
	sg_build_sense_buffer(false, s, 0x03, 0x11, 0x00);
	assert_class(run(0, 0x08, 0x00, s, sizeof(s)), RDP_V_COMPLETE, "GOOD");
}

static void test_sense_both_formats(void)
{
	static const struct {
		uint8_t key, asc, ascq;
		enum rdp_verdict v;
		const char *reason;
	} cases[] = {
	    {0x03, 0x11, 0x00, RDP_V_TARGET_ERROR, "MEDIUM ERROR"},
	    {0x05, 0x24, 0x00, RDP_V_TARGET_ERROR, "ILLEGAL REQUEST"},
	    {0x06, 0x29, 0x00, RDP_V_RETRY, "UA 29/xx power-on/reset"},
	    {0x06, 0x29, 0x02, RDP_V_RETRY, "UA 29/xx power-on/reset"},
	    {0x06, 0x2a, 0x09, RDP_V_CAPACITY_CHANGED, "UA 2A/09 capacity data changed"},
	    {0x06, 0x2a, 0x06, RDP_V_RETRY, "UA 2A/06 ALUA state changed"},
	    {0x06, 0x2a, 0x01, RDP_V_RETRY, "UA 2A/xx parameters changed"},
	    {0x06, 0x3f, 0x0e, RDP_V_RETRY, "UA 3F/0E reported LUNs data changed"},
	    {0x06, 0x3f, 0x03, RDP_V_RETRY, "UA 3F/xx target conditions changed"},
	    {0x06, 0x28, 0x00, RDP_V_RETRY, "UA other"},
	    {0x02, 0x04, 0x0a, RDP_V_RETRY, "NOT READY 04/0A ALUA transitioning"},
	    {0x02, 0x04, 0x0b, RDP_V_PATH_ERROR, "NOT READY 04/0B ALUA standby"},
	    {0x02, 0x04, 0x0c, RDP_V_PATH_ERROR, "NOT READY 04/0C ALUA unavailable"},
	    {0x02, 0x04, 0x01, RDP_V_RETRY, "NOT READY 04/01 becoming ready"},
	    {0x02, 0x04, 0x02, RDP_V_TARGET_ERROR, "NOT READY"},
	    {0x02, 0x3a, 0x00, RDP_V_TARGET_ERROR, "NOT READY"},
	    {0x0b, 0x10, 0x01, RDP_V_TARGET_ERROR, "ABORTED COMMAND 10/xx protection information"},
	    {0x0b, 0x4b, 0x00, RDP_V_PATH_ERROR, "ABORTED COMMAND 4B/xx data phase/ACK-NAK"},
	    {0x0b, 0x47, 0x03, RDP_V_PATH_ERROR, "ABORTED COMMAND 47/xx transport CRC/parity"},
	    {0x0b, 0x00, 0x00, RDP_V_RETRY, "ABORTED COMMAND"},
	    {0x0b, 0x44, 0x00, RDP_V_RETRY, "ABORTED COMMAND"},
	    {0x05, 0x25, 0x00, RDP_V_PATH_ERROR,
	     "ILLEGAL REQUEST 25/00 LU not supported on this port"},
	    {0x05, 0x20, 0x00, RDP_V_TARGET_ERROR, "ILLEGAL REQUEST"},
	    {0x04, 0x44, 0x00, RDP_V_TARGET_ERROR, "HARDWARE ERROR"},
	    {0x07, 0x27, 0x00, RDP_V_TARGET_ERROR, "DATA PROTECT"},
	    {0x0e, 0x1d, 0x00, RDP_V_TARGET_ERROR, "MISCOMPARE"},
	    {0x08, 0x00, 0x05, RDP_V_TARGET_ERROR, "BLANK CHECK"},
	    {0x0a, 0x0d, 0x00, RDP_V_TARGET_ERROR, "COPY ABORTED"},
	    {0x0d, 0x00, 0x02, RDP_V_TARGET_ERROR, "VOLUME OVERFLOW"},
	    {0x01, 0x18, 0x00, RDP_V_COMPLETE, "RECOVERED ERROR"},
	    {0x00, 0x00, 0x00, RDP_V_COMPLETE, "NO SENSE"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_class(run_sense(SENSE_FIXED, cases[i].key, cases[i].asc, cases[i].ascq),
			     cases[i].v, cases[i].reason);
		assert_class(run_sense(SENSE_DESC, cases[i].key, cases[i].asc, cases[i].ascq),
			     cases[i].v, cases[i].reason);
	}
}

/* sense built by hand, byte by byte, so the formats are not only what sg_lib builds */
static void test_sense_raw(void)
{
	/* fixed, current: MEDIUM ERROR 11/00 with an LBA in the information field */
	const uint8_t fixed[18] = {0xf0, 0, 0x03, 0, 0, 0x12, 0x34, 0x0a, 0, 0, 0, 0, 0x11, 0x00};
	/* descriptor, current: UA 2A/09 */
	const uint8_t desc[8] = {0x72, 0x06, 0x2a, 0x09, 0, 0, 0, 0};

	assert_class(run(0, 0x08, 0x02, fixed, sizeof(fixed)), RDP_V_TARGET_ERROR, "MEDIUM ERROR");
	assert_class(run(0, 0x08, 0x02, desc, sizeof(desc)), RDP_V_CAPACITY_CHANGED,
		     "UA 2A/09 capacity data changed");
	/* a 4-byte descriptor sense still carries key/asc/ascq; on the heap at its exact size so
	 * a read past it shows under ASan/valgrind */
	g_autofree uint8_t *shortd = g_memdup2(desc, 4);
	assert_class(run(0, 0x08, 0x02, shortd, 4), RDP_V_CAPACITY_CHANGED,
		     "UA 2A/09 capacity data changed");
}

static void test_sense_unusable(void)
{
	const uint8_t zero[18] = {0};
	const uint8_t vendor[18] = {0x7f, 0, 0x06, 0, 0, 0, 0, 0x0a};
	const uint8_t keyless_fixed[2] = {0x70, 0};
	const uint8_t keyless_desc[1] = {0x72};
	uint8_t deferred[18];

	/* CHECK CONDITION without sense: ask again */
	assert_class(run(0, 0, 0x02, NULL, 0), RDP_V_RETRY, "CHECK CONDITION without sense");
	assert_class(run(0, 0x08, 0x02, NULL, 18), RDP_V_RETRY, "CHECK CONDITION without sense");
	assert_class(run(0, 0x08, 0x02, zero, sizeof(zero)), RDP_V_RETRY,
		     "CHECK CONDITION without sense");
	assert_class(run(0, 0x08, 0x02, vendor, sizeof(vendor)), RDP_V_RETRY,
		     "CHECK CONDITION without sense");
	assert_class(run(0, 0x08, 0x02, keyless_fixed, sizeof(keyless_fixed)), RDP_V_RETRY,
		     "CHECK CONDITION without sense");
	assert_class(run(0, 0x08, 0x02, keyless_desc, sizeof(keyless_desc)), RDP_V_RETRY,
		     "CHECK CONDITION without sense");

	/* deferred (0x71 fixed, 0x73 descriptor): handed back, whatever the key */
	sg_build_sense_buffer(false, deferred, 0x03, 0x0c, 0x00);
	deferred[0] = (deferred[0] & 0x80) | 0x71;
	assert_class(run(0, 0x08, 0x02, deferred, sizeof(deferred)), RDP_V_TARGET_ERROR,
		     "deferred error");
	sg_build_sense_buffer(true, deferred, 0x06, 0x29, 0x00);
	deferred[0] = 0x73;
	assert_class(run(0, 0x08, 0x02, deferred, 8), RDP_V_TARGET_ERROR, "deferred error");
}

static void test_verdict_names(void)
{
	g_assert_cmpstr(rdp_verdict_name(RDP_V_COMPLETE), ==, "complete");
	g_assert_cmpstr(rdp_verdict_name(RDP_V_TARGET_ERROR), ==, "target-error");
	g_assert_cmpstr(rdp_verdict_name(RDP_V_PATH_ERROR), ==, "path-error");
	g_assert_cmpstr(rdp_verdict_name(RDP_V_RETRY), ==, "retry");
	g_assert_cmpstr(rdp_verdict_name(RDP_V_CAPACITY_CHANGED), ==, "capacity-changed");
	g_assert_cmpstr(rdp_verdict_name((enum rdp_verdict)42), ==, "unknown");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/classify/table/errno", test_errno_rows);
	g_test_add_func("/classify/table/host", test_host_rows);
	g_test_add_func("/classify/table/driver", test_driver_rows);
	g_test_add_func("/classify/table/status", test_status_rows);
	g_test_add_func("/classify/table/sense", test_sense_rows);
	g_test_add_func("/classify/table/sense-total", test_sense_total);
	g_test_add_func("/classify/table/reasons-unique", test_reasons_unique);
	g_test_add_func("/classify/errno", test_errno);
	g_test_add_func("/classify/host", test_host_bytes);
	g_test_add_func("/classify/driver", test_driver_bytes);
	g_test_add_func("/classify/status", test_status_bytes);
	g_test_add_func("/classify/sense/formats", test_sense_both_formats);
	g_test_add_func("/classify/sense/raw", test_sense_raw);
	g_test_add_func("/classify/sense/unusable", test_sense_unusable);
	g_test_add_func("/classify/verdict-names", test_verdict_names);
	return g_test_run();
}
