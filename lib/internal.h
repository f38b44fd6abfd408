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

/* How often a consumer waiting for a queue or a producer looks again. */
#define RF_ATTACH_POLL_NS (20ull * 1000 * 1000)
/* The directory-wide lock producers hold while they create or take over a queue. */
#define RF_CREATE_LOCK ".lock"

/* A queue's directory and the names of its files in it. */
struct rf_paths {
	uint32_t cluster, queue;
	char ring[32]; /* "CLUSTER@QUEUE.ring" */
	char cons[32];
	char dir[PATH_MAX];
	bool dir_named;	     /* the caller named the directory (not RF_DEFAULT_DIR) */
	uint32_t ring_index; /* producer ring (0: CLUSTER@QUEUE.ring; i: CLUSTER@QUEUE.pI.ring) */
};

/* Point p at producer ring `index` of its queue (0: the queue's own files). */
void rf_paths_set_ring(struct rf_paths *p, uint32_t index);

/* The rings a ring header says serve its queue (1 without RF_FEAT_RINGS). */
uint32_t rf_hdr_rings(const struct rf_ring_hdr *h);

/* Resolve a queue name and directory (NULL: $RINGFAN_DIR, else the default). */
int rf_paths_init(struct rf_paths *p, const char *name, const char *dir);

/* The directory path for dir (NULL: $RINGFAN_DIR, else RF_DEFAULT_DIR); *ret_named as above. */
const char *rf_dir_resolve(const char *dir, bool *ret_named);

/*
 * Open the directory (O_DIRECTORY | O_NOFOLLOW) and check it: for a
 * consumer, rf_queue_dir_check()'s rules; for a producer (producer = true)
 * also that it is owned by root or the caller. Returns the descriptor, or
 * -ENOENT, -ENOTDIR, -EPERM, -errno. *ret_st (may be NULL) gets its stat.
 */
int rf_dir_open(const struct rf_paths *p, bool producer, struct stat *ret_st);

/* A queue file as a consumer may trust it: 0 or -EPERM (see rf_consumer_open()). */
int rf_file_trusted(const struct stat *st, const struct stat *dir_st);

/* Copy a caller's sz-first options struct into *dst (zeroed first). -EINVAL on a bad sz. */
int rf_opts_copy(void *dst, size_t dst_sz, const void *src);

/* Whole-file OFD write lock: 0, -EBUSY if someone holds a lock, or -errno. */
int rf_lock_file(int fd);
/*
 * 1 if some open file description holds a *write* lock on fd's file, 0 if
 * not, or -errno. Read locks are not seen: anyone who may read a file may
 * take one, while a write lock needs a descriptor open for writing (the
 * producer on its ring, the consumer on its page), so a reader cannot fake
 * a live producer or consumer this way.
 */
int rf_write_locked(int fd);

/* Check an identity header read from a .ring file of file_size bytes. 0 or -EPROTO. */
int rf_ring_hdr_check(const struct rf_ring_hdr *h, uint64_t file_size, const struct rf_paths *p);

/* The run fields of a header (zero in a version-1 header without them) as rf_queue_info. */
void rf_info_from_hdr(const struct rf_ring_hdr *h, struct rf_queue_info *qi);

/* Packets not yet released, from the producer's count and the consumer's (untrusted) one. */
void rf_set_backlog_packets(struct rf_queue_info *qi);
/* Copy an info struct to a caller's, of sz bytes (older callers have a shorter one). */
void rf_copy_info(const struct rf_queue_info *qi, struct rf_queue_info *ret_info, size_t sz);

/* Read the ring header of an open .ring file and check it. 0, -ENOENT (empty), -EPROTO. */
int rf_ring_hdr_read(int fd, const struct rf_paths *p, struct rf_ring_hdr *ret_hdr,
		     struct stat *ret_st);

/*
 * RF_PRODUCER_PREFAULT / RF_CONSUMER_PREFAULT: access every page of a ring's
 * data area once through this mapping (write: store a zero, for a new ring
 * that is all zeros; else read). MAP_POPULATE fills the page table, but
 * under a hypervisor with shadow page tables the first access to each page
 * through a mapping still costs an exit (about 6 us a page on the VM of
 * doc/performance.md), which the first lap of the ring would pay: one page
 * per 42 records of 64-byte packets. Paid at start-up or attach instead;
 * without such a hypervisor a few ns a page.
 */
void rf_touch_pages(uint8_t *data, uint64_t size, bool write);

/* Open flags that every queue file descriptor gets. */
#define RF_O_FLAGS (O_CLOEXEC | O_NOFOLLOW)

/* futex(2) on a word of a shared mapping. */
int rf_futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t timeout_ns);
void rf_futex_wake(_Atomic uint32_t *word);
/*
 * Sleep until one of n words (at most RF_MAX_RINGS) no longer holds its
 * value in vals[], is woken, or timeout_ns pass: 0, -EINTR or -errno.
 * Without futex_waitv (Linux < 5.16) it sleeps on the first word for
 * RF_WAITV_FALLBACK_NS at most, so the caller looks at all of them that often.
 */
int rf_futex_waitv(_Atomic uint32_t *const *words, const uint32_t *vals, unsigned int n,
		   uint64_t timeout_ns);
#define RF_WAITV_FALLBACK_NS (1000ull * 1000)

uint64_t rf_mono_ns(void);

/*
 * Protect a process from the truncation of a file it maps shared: a SIGBUS
 * in a registered range replaces the whole range with private memory,
 * filled with 0xff bytes if fill_ff (a consumer page: a nonsense cursor)
 * or zero, and sets *faulted (may be NULL) so that the owner can tell.
 * Installs the SIGBUS handler (chaining to the previous one) if the
 * current one is not ours. 0, -EMFILE (no free slot) or -errno.
 */
int rf_guard_add(const void *start, size_t len, bool fill_ff, _Atomic bool *faulted);
void rf_guard_remove(const void *start);

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
