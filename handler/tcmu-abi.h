/* The one include point for the TCMU kernel ABI, <linux/target_core_user.h>. That header pulls in
 * <linux/uio.h>, whose struct iovec collides with glibc's <sys/uio.h>; here glibc's definition
 * wins and the kernel's is skipped, so a file can use readv() and the ring entries together. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Defining <linux/uio.h>'s include guard makes the kernel header skip it: glibc already gave us
 * struct iovec, with the same layout (checked below). The guard stays defined on purpose: a later
 * <linux/uio.h> would only redefine struct iovec and fail. UIO_MAXIOV is lost with it. Never
 * include <linux/target_core_user.h> or <linux/uio.h> directly; include this file instead. */
#ifndef __LINUX_UIO_H
#define __LINUX_UIO_H
#endif
#include <linux/target_core_user.h>

/* The kernel writes struct iovec with its own layout into the ring; we read it with glibc's. */
_Static_assert(sizeof(struct iovec) == sizeof(void *) + sizeof(size_t) &&
		   offsetof(struct iovec, iov_len) == sizeof(void *),
	       "glibc and kernel struct iovec differ");
/* A CMD entry is never shorter than the fixed part, so a response always fits in its slot. */
_Static_assert(sizeof(struct tcmu_cmd_entry) >= offsetof(struct tcmu_cmd_entry, req.iov) &&
		   sizeof(struct tcmu_cmd_entry) ==
		       offsetof(struct tcmu_cmd_entry, rsp.sense_buffer) + TCMU_SENSE_BUFFERSIZE,
	       "unexpected struct tcmu_cmd_entry layout");

/*
 * The mailbox is a packed struct, so the compiler refuses plain pointers to its members; the
 * mmap is page-aligned and the fields naturally aligned, so word pointers are safe. The kernel
 * publishes cmd_head with a release store after writing an entry, and reads cmd_tail after our
 * write() to the uio fd: acquire on head, release on tail pair with it.
 */
static inline uint32_t *rdp_tcmu_mb_word(struct tcmu_mailbox *mb, size_t off)
{
	return (uint32_t *)((char *)mb + off);
}

static inline uint32_t rdp_tcmu_mb_head(struct tcmu_mailbox *mb)
{
	return __atomic_load_n(rdp_tcmu_mb_word(mb, offsetof(struct tcmu_mailbox, cmd_head)),
			       __ATOMIC_ACQUIRE);
}

static inline void rdp_tcmu_mb_set_head(struct tcmu_mailbox *mb, uint32_t head)
{
	__atomic_store_n(rdp_tcmu_mb_word(mb, offsetof(struct tcmu_mailbox, cmd_head)), head,
			 __ATOMIC_RELEASE);
}

static inline uint32_t rdp_tcmu_mb_tail(struct tcmu_mailbox *mb)
{
	return __atomic_load_n(rdp_tcmu_mb_word(mb, offsetof(struct tcmu_mailbox, cmd_tail)),
			       __ATOMIC_ACQUIRE);
}

static inline void rdp_tcmu_mb_set_tail(struct tcmu_mailbox *mb, uint32_t tail)
{
	__atomic_store_n(rdp_tcmu_mb_word(mb, offsetof(struct tcmu_mailbox, cmd_tail)), tail,
			 __ATOMIC_RELEASE);
}

/* Bytes the kernel gives a CMD entry before its CDB: the iovec array, but never less than a
 * whole struct tcmu_cmd_entry, so the response overlay fits. */
static inline size_t rdp_tcmu_cmd_base_size(size_t iov_cnt)
{
	size_t n = offsetof(struct tcmu_cmd_entry, req.iov) + iov_cnt * sizeof(struct iovec);

	return n > sizeof(struct tcmu_cmd_entry) ? n : sizeof(struct tcmu_cmd_entry);
}

/* Whole CMD entry length as the kernel computes it: base, then the CDB padded to 8 bytes. */
static inline size_t rdp_tcmu_cmd_size(size_t iov_cnt, size_t cdb_len)
{
	return rdp_tcmu_cmd_base_size(iov_cnt) +
	       ((cdb_len + TCMU_OP_ALIGN_SIZE - 1) & ~(TCMU_OP_ALIGN_SIZE - 1));
}
