/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libringfan internals shared by producer.c, consumer.c and common.c. Not
 * exported from the shared library (hidden visibility, version script);
 * the unit tests reach them through the static archive.
 */
#ifndef RINGFAN_LIB_INTERNAL_H
#define RINGFAN_LIB_INTERNAL_H

#include <limits.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <ringfan/ringfan.h>

#include "queue_abi.h"

/* How often an idle consumer checks that its producer still lives. */
#define RF_LIVENESS_NS (100ull * 1000 * 1000)
/* How long an emptied consumer polls before it goes to sleep. */
#ifndef RF_SPIN_NS
#define RF_SPIN_NS (20ull * 1000)
#endif

#define rf_likely(x)   __builtin_expect(!!(x), 1)
#define rf_unlikely(x) __builtin_expect(!!(x), 0)

/* The two file names of a queue, in its directory. */
struct rf_paths {
	uint32_t cluster, queue;
	char ring[PATH_MAX];
	char cons[PATH_MAX];
	char dir[PATH_MAX];
};

/* Resolve a queue name and directory (NULL: $RINGFAN_DIR, else the default). */
int rf_paths_init(struct rf_paths *p, const char *name, const char *dir);

/* Copy a caller's sz-first options struct into *dst (zeroed first). -EINVAL on a bad sz. */
int rf_opts_copy(void *dst, size_t dst_sz, const void *src);

/* Whole-file OFD write lock: 0, -EBUSY if someone holds it, or -errno. */
int rf_lock_file(int fd);
/* 1 if some open file description holds a lock on fd's file, 0 if not, or -errno. */
int rf_lock_held(int fd);

/* Check an identity header read from a .ring file of file_size bytes. 0 or -EPROTO. */
int rf_ring_hdr_check(const struct rf_ring_hdr *h, uint64_t file_size, const struct rf_paths *p);

/* Open flags that every queue file descriptor gets. */
#define RF_O_FLAGS (O_CLOEXEC | O_NOFOLLOW)

/* futex(2) on a word of a shared mapping. */
int rf_futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t timeout_ns);
void rf_futex_wake(_Atomic uint32_t *word);

uint64_t rf_mono_ns(void);

/*
 * Protect the producer from a consumer that truncates its page file: a
 * SIGBUS in a registered page replaces it with a page of 0xff bytes (a
 * nonsense cursor). 0, -EMFILE (no free slot) or -errno.
 */
int rf_guard_add(const void *page);
void rf_guard_remove(const void *page);

/* 8-byte aligned record length for a packet of caplen bytes. */
static inline uint64_t rf_rec_len(uint32_t caplen)
{
	return ((uint64_t)RF_REC_HDR_LEN + caplen + RF_REC_ALIGN - 1) &
	       ~(uint64_t)(RF_REC_ALIGN - 1);
}

/* Largest record in a ring of ring_size bytes. */
static inline uint32_t rf_max_record(uint64_t ring_size)
{
	uint64_t m = ring_size >> RF_REC_MAX_SHIFT;

	return m > RF_REC_MAX_LEN_CAP ? RF_REC_MAX_LEN_CAP : (uint32_t)m;
}

/* rf_ring_read_record() results */
#define RF_REC_PACKET 1
#define RF_REC_FILLER 0

/*
 * Read and check the record at index pos of a data area of size bytes
 * (power of two) whose published end is head. Nothing in the data area is
 * trusted: the header is copied once, then checked against the area's end
 * and against head. Returns RF_REC_PACKET (*ret_pkt filled, data pointing
 * into the area), RF_REC_FILLER (a pad record: skip it) or -EBADMSG; on
 * success *ret_len is the record's length (> 0, multiple of 8).
 */
int rf_ring_read_record(const void *data, uint64_t size, uint64_t pos, uint64_t head,
			struct rf_packet *ret_pkt, uint32_t *ret_len);
/* The rest of rf_ring_read_record(): RF_REC_FILLER or -EBADMSG. */
int rf_ring_read_slow(const uint8_t *base, uint64_t size, uint64_t pos, uint64_t head,
		      uint32_t *ret_len);

/*
 * A plain load the compiler may neither repeat nor tear (the kernel's
 * READ_ONCE): a value read from shared memory is checked and used as the
 * same value, whatever the other side writes meanwhile.
 */
#define RF_READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/*
 * rf_ring_read_record()'s fast path, for the consumer's loop. The caller
 * guarantees what holds for every record of a burst: pos is 8-byte aligned,
 * pos < head and head - pos <= size. A good packet record fills *ret_pkt and
 * returns its length (> 0); anything else (a filler, a bad record) returns
 * 0 and is rf_ring_read_slow()'s to judge.
 */
static inline uint32_t rf_ring_read_fast(const uint8_t *base, uint64_t size, uint64_t pos,
					 uint64_t head, struct rf_packet *ret_pkt)
{
	uint64_t off = pos & (size - 1), to_end = size - off, avail = head - pos;
	const struct rf_rec_hdr *h = (const struct rf_rec_hdr *)(base + off);
	uint32_t len, caplen, wirelen;
	uint16_t flags, hdr_len;

	if (rf_unlikely(to_end < sizeof(*h))) /* only a filler fits there */
		return 0;
	len = RF_READ_ONCE(h->len);
	flags = RF_READ_ONCE(h->flags);
	hdr_len = RF_READ_ONCE(h->hdr_len);
	caplen = RF_READ_ONCE(h->caplen);
	wirelen = RF_READ_ONCE(h->wirelen);
	/*
	 * One branch for every check (a filler and a bad record both leave the
	 * fast path). hdr_len >= RF_REC_HDR_LEN and hdr_len + caplen <= len imply
	 * len >= RF_REC_HDR_LEN; the 64-bit sum cannot overflow.
	 */
	if (rf_unlikely((len > avail) | (len > to_end) |
			(((len | hdr_len) & (RF_REC_ALIGN - 1)) != 0) |
			((flags & RF_REC_PAD) != 0) | (hdr_len < RF_REC_HDR_LEN) |
			((uint64_t)hdr_len + caplen > len) | (wirelen < caplen)))
		return 0;
	ret_pkt->data = base + off + hdr_len;
	ret_pkt->ts_ns = h->ts_ns;
	ret_pkt->caplen = caplen;
	ret_pkt->wirelen = wirelen;
	ret_pkt->ifindex = h->ifindex;
	ret_pkt->hash = h->hash;
	ret_pkt->flags = (uint16_t)(flags & RF_REC_PUBLIC_MASK);
	return len;
}

/*
 * Check a consumer cursor against the producer's view: aligned, not behind
 * prev (cursors only move forward), not past head, at most size behind it.
 */
static inline bool rf_cursor_sane(uint64_t tail, uint64_t prev, uint64_t head, uint64_t size)
{
	return (tail & (RF_REC_ALIGN - 1)) == 0 && tail >= prev && tail <= head &&
	       head - tail <= size;
}

#endif
