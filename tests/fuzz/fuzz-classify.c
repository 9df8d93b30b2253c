/* libFuzzer target for completion classification (lib/classify.c): any SG v3 result and any
 * sense bytes a path can hand back must give a valid verdict with a named rule, and never read
 * past the sense the backend filled. */
#include <errno.h>

#include "fuzz-input.h"
#include <librdp/rdp.h>

/*
 * Input: byte 0 picks how error is given (bit 0: zero; bit 1: a raw int32, else an errno
 * 1..255), then status (1 byte), host_status (2), driver_status (2); every byte after them is
 * sense data, passed with its exact length in a buffer of that size so ASan sees an overread.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool verdict_valid(enum rdp_verdict v)
{
	switch (v) {
	case RDP_V_COMPLETE:
	case RDP_V_TARGET_ERROR:
	case RDP_V_PATH_ERROR:
	case RDP_V_RETRY:
	case RDP_V_CAPACITY_CHANGED:
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct rdp_io_result res = {0};
	struct rdp_classification c, again;
	uint8_t how = fz_u8(&in);
	uint8_t *sense = NULL;
	size_t sense_len;

	if ((how & 1) && (how & 2)) {
		res.error = (int32_t)fz_u32(&in); /* INT_MIN too, which has no negation */
	} else if (how & 1) {
		uint8_t e = fz_u8(&in);

		res.error = e ? -(int)e : -EIO;
	}
	res.status = fz_u8(&in);
	res.host_status = fz_u16(&in);
	res.driver_status = fz_u16(&in);
	sense_len = in.n;
	if (sense_len) {
		sense = malloc(sense_len);
		FZ_CHECK(sense);
		fz_bytes(&in, sense, sense_len);
	}
	res.sense_len = sense_len > 255 ? 255 : (uint8_t)sense_len;

	c = rdp_classify_completion(&res, sense, sense_len);
	FZ_CHECK(verdict_valid(c.verdict));
	FZ_CHECK(c.reason && c.reason[0]);
	FZ_CHECK(strcmp(rdp_verdict_name(c.verdict), "unknown") != 0);
	/* a request that never reached the device has no status to complete with (classify.c) */
	if (res.error)
		FZ_CHECK(c.verdict == RDP_V_PATH_ERROR);
	/* a pure function: the same result twice gives the same rule */
	again = rdp_classify_completion(&res, sense, sense_len);
	FZ_CHECK(again.verdict == c.verdict && again.reason == c.reason);

	free(sense);
	return 0;
}
