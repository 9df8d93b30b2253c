/* Big-endian field access for CDBs and SCSI data. libsgutils2's sg_get_unaligned_be32() shifts a
 * promoted int by 24, which is undefined for bytes >= 0x80 (UBSan says so); these do not. */
#pragma once

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t rdp_get_be16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t rdp_get_be24(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static inline uint32_t rdp_get_be32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline uint64_t rdp_get_be64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static inline void rdp_put_be16(uint16_t v, void *p)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void rdp_put_be32(uint32_t v, void *p)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void rdp_put_be64(uint64_t v, void *p)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}
