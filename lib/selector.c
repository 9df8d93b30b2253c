/* Selector registry and the per-path load book-keeping every selector reads: commands and bytes
 * in flight, and a throughput estimate measured from completions. The policies themselves live in
 * selector-*.c, one file each. */
#include <stddef.h>
#include <stdint.h>

#include "selector.h"

/*
 * Throughput estimate: the ratio of bytes moved to command time over a sliding window of about
 * RDP_TPUT_WINDOW_US of command time (the sum of latencies, so at queue depth Q it spans
 * 1/Q of that in wall time). As a recurrence, with T the estimate, b the bytes and d the latency
 * of one completion:
 *
 *	T' = (T * W + b * 1e6) / (W + d)
 *
 * which is the EWMA T' = T + a * (b * 1e6 / d - T) with smoothing factor a = d / (W + d). The
 * factor follows the sample's duration instead of being fixed, because a fixed factor lets every
 * command pull equally: a 4 KiB cache hit in 1 us reads as 4 GB/s and a 512-byte command that is
 * all fixed overhead reads as a few MB/s, and a stream mixing them with large transfers would
 * swing the estimate by orders of magnitude. Weighted by duration, a sample counts for the time
 * it occupied the path: a 1 ms command moves the estimate about 2 %, a 10 us one 0.02 %, and the
 * result tracks total bytes over total time. On steady input (b, d constant) the fixed point is
 * exactly b * 1e6 / d.
 *
 * The recurrence never divides by d, so a completion measured as 0 us (below the clock's
 * resolution) is well defined: it adds its bytes to the window without adding time, at most
 * b * 1e6 / W bytes/s (82 KB/s for 4 KiB). With a coarse clock (SG's duration is in
 * milliseconds) most fast commands read 0 and the rest a whole tick; bytes over time still
 * comes out at the true rate, where clamping 0 to some floor would not. Such a completion
 * cannot seed an unknown estimate, since it says nothing about the rate; nor can a transfer
 * under RDP_TPUT_SEED_MIN. The first timed completion of at least that size seeds it with its
 * own rate: starting from 0 the window would need many samples to
 * climb, and meanwhile service-time would treat a healthy path as the slowest one. Commands
 * without data (TEST UNIT READY, SYNCHRONIZE CACHE) are left out entirely: their latency is not
 * a transfer and would drag the estimate down.
 *
 * 50 ms: long enough that one slow command among hundreds does not move the estimate much, short
 * enough that a path which degrades is seen within a fraction of a second of I/O. Arithmetic is
 * in double: T * W and b * 1e6 exceed 64 bits for large values, and 128-bit integers are not
 * available on every Debian architecture.
 */
#define RDP_TPUT_WINDOW_US 50000.0
/* The smallest transfer that may seed an estimate: below a page, a command's time is its fixed
 * overhead, not a rate. Seeded from the 2-byte answer of one of sd's probes (11 ms: 180 B/s), a
 * path looked so slow that service-time never sent it a command again, so it was never measured
 * again either (tests/vm/test-aggregate.sh saw 2 commands on one path, 1,139 on the other). */
#define RDP_TPUT_SEED_MIN 4096
#define RDP_US_PER_S 1e6
#define RDP_U64_LIMIT 18446744073709551616.0 /* 2^64, the first double above UINT64_MAX */

const struct rdp_selector_ops *rdp_selector_find(enum rdp_selector_kind kind)
{
	switch (kind) {
	case RDP_SEL_ROUND_ROBIN:
		return &rdp_selector_round_robin;
	case RDP_SEL_QUEUE_LENGTH:
		return &rdp_selector_queue_length;
	case RDP_SEL_SERVICE_TIME:
		return &rdp_selector_service_time;
	case RDP_SEL_WEIGHTED:
		return &rdp_selector_weighted;
	}
	return NULL;
}

/* The counters saturate rather than wrap: a wrapped count would make the path look idle (or
 * endlessly busy) to every selector until the LUN is reopened. */
void rdp_path_load_start(struct rdp_path_load *l, size_t bytes)
{
	if (l->inflight < UINT32_MAX)
		l->inflight++;
	if (bytes > UINT64_MAX - l->inflight_bytes)
		l->inflight_bytes = UINT64_MAX;
	else
		l->inflight_bytes += bytes;
}

/* 0 stays "unknown" for the selectors, so a measured rate is at least 1 byte/s. */
static uint64_t tput_from_double(double t)
{
	if (t >= RDP_U64_LIMIT)
		return UINT64_MAX;
	if (t < 1.0)
		return 1;
	return (uint64_t)(t + 0.5);
}

void rdp_path_load_done(struct rdp_path_load *l, size_t bytes, uint64_t latency_us)
{
	double b = (double)bytes * RDP_US_PER_S;
	double d = (double)latency_us;

	/* A done without its start (an engine bug) must not wrap to a huge load. */
	if (l->inflight)
		l->inflight--;
	l->inflight_bytes -= bytes < l->inflight_bytes ? bytes : l->inflight_bytes;

	if (!bytes)
		return;
	if (!l->tput) {
		if (latency_us && bytes >= RDP_TPUT_SEED_MIN)
			l->tput = tput_from_double(b / d);
		return;
	}
	l->tput =
	    tput_from_double(((double)l->tput * RDP_TPUT_WINDOW_US + b) / (RDP_TPUT_WINDOW_US + d));
}
