/* Shared by the libFuzzer targets in tests/fuzz/: reads typed fields off the front of a fuzz
 * input, zero once it runs out, so a short input is a valid input and every target can say how
 * it splits the bytes without bounds checks of its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_empty(const struct fz_in *in)
{
	return in->n == 0;
}

/* Copies up to len bytes to dst, zero-fills the rest; returns how many came from the input. */
static inline size_t fz_bytes(struct fz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	if (k)
		memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
	return k;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

/* Little-endian, whatever the host: a seed file reads the same everywhere. */
static inline uint16_t fz_u16(struct fz_in *in)
{
	uint8_t b[2];

	fz_bytes(in, b, sizeof(b));
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

/* An invariant of the code under test failed: say which and abort, so libFuzzer records the
 * input as a crash (assert() would vanish under -DNDEBUG). */
#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
