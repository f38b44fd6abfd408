/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shared-memory layout of a ringfan queue (doc/queue-abi.md says the
 * same in prose). Fixed-width types only, no pointers: the producer and the
 * consumer are different programs, possibly built by different compilers.
 *
 *   CLUSTER@QUEUE.ring  header page (struct rf_ring_hdr) + ring_size bytes of records
 *   CLUSTER@QUEUE.cons  one page (struct rf_cons_page), the only memory a consumer writes
 *   CLUSTER@QUEUE.pI.ring, .pI.cons   producer ring I > 0 of a queue served by several
 *   .lock               producers hold it while they create or take over a queue
 *
 * Indices (head, tail) are free-running byte counts; the offset in the data
 * area is index & (ring_size - 1).
 */
#ifndef RINGFAN_QUEUE_ABI_H
#define RINGFAN_QUEUE_ABI_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RF_RING_MAGIC	  0x31474e495246521aull /* "\x1aRFRING1" little-endian */
#define RF_CONS_MAGIC	  0x31534e4f4346521aull /* "\x1aRFCONS1" */
#define RF_ABI_VERSION	  1u
#define RF_CACHE_LINE	  64
#define RF_RING_HDR_SIZE  4096u
#define RF_CONS_PAGE_SIZE 4096u
#define RF_RING_MIN_SIZE  4096ull
#define RF_RING_MAX_SIZE  (1ull << 36)
#define RF_RING_DEF_SIZE  (64ull << 20)
#define RF_REC_ALIGN	  8u
#define RF_REC_HDR_LEN	  32u
/* Largest record: a quarter of the ring, so that a full ring holds several. */
#define RF_REC_MAX_SHIFT   2
#define RF_REC_MAX_LEN_CAP (16u << 20)
/* Shunt requests a consumer page holds (rf_cons_page.shunt) */
#define RF_SHUNT_SLOTS 256

/* rf_ring_hdr.features: which optional header fields a producer filled in */
#define RF_FEAT_LINKTYPE 0x1u /* link_type is set (else RF_LINKTYPE_DEFAULT) */
#define RF_FEAT_RUN_INFO 0x2u /* started_ns, finished_ns and producer_starts are kept */
/* rings and ring_index are set: the queue is served by several producer rings */
#define RF_FEAT_RINGS 0x4u

/* rf_rec_hdr.flags (the low bits are the public RF_PKT_* flags) */
#define RF_REC_PAD	   0x8000u /* filler up to the end of the data area; no packet */
#define RF_REC_PUBLIC_MASK 0x00ffu

/*
 * Producer state. Written only by the producer; mapped read-only by the
 * consumer, which still checks every value (a ring may be garbage).
 */
struct rf_ring_hdr {
	/* Identity: written once, before the file gets its public name. */
	uint64_t magic;
	uint32_t abi_version;
	uint32_t hdr_size; /* RF_RING_HDR_SIZE: offset of the data area */
	uint64_t ring_size;
	uint64_t generation; /* unique per creation, never 0 */
	uint32_t cluster;
	uint32_t queue;
	int32_t producer_pid; /* for display; liveness is the file lock */
	uint32_t max_record;  /* largest record the producer writes */
	uint8_t pad0[RF_CACHE_LINE - 48];
	uint8_t guard0[RF_CACHE_LINE]; /* keeps the adjacent-line prefetcher off the hot line */

	/* Producer hot line: what the consumer polls. */
	alignas(RF_CACHE_LINE) _Atomic uint64_t head; /* bytes published (free-running) */
	_Atomic uint32_t wake;			      /* futex word, bumped to wake the consumer */
	_Atomic uint32_t finished;		      /* 1: end of stream, head is final */
	uint8_t pad1[RF_CACHE_LINE - 16];
	uint8_t guard1[RF_CACHE_LINE];

	/* Producer counters: updated once per publish; a resuming producer goes on from them. */
	alignas(RF_CACHE_LINE) _Atomic uint64_t enqueued;
	_Atomic uint64_t enqueued_bytes;
	_Atomic uint64_t dropped_full;
	_Atomic uint64_t dropped_cursor;
	_Atomic uint64_t dropped_toobig;
	uint8_t pad2[RF_CACHE_LINE - 40];
	uint8_t guard2[RF_CACHE_LINE];

	/*
	 * The run: appended after version 1's header (older producers leave it
	 * zero, older consumers never read it). features and link_type and
	 * started_ns are identity, written before the file gets its public name;
	 * finished_ns is stored before the release of finished; producer_starts
	 * is bumped (relaxed: display and "producer restarted" detection only)
	 * by each producer that resumes the generation, while it holds the lock.
	 */
	alignas(RF_CACHE_LINE) uint32_t features; /* RF_FEAT_* */
	uint32_t link_type;			  /* DLT_* of every packet (RF_FEAT_LINKTYPE) */
	uint64_t started_ns;			  /* CLOCK_REALTIME of the generation's creation */
	_Atomic uint64_t finished_ns;		  /* CLOCK_REALTIME of the finish, 0 before */
	_Atomic uint32_t producer_starts;	  /* 1 + resumes */
	/*
	 * Several producer rings (RF_FEAT_RINGS; identity, like features): the
	 * queue is served by `rings` rings, one per producer thread, and this is
	 * ring number ring_index. Ring 0 is CLUSTER@QUEUE.ring, ring i > 0 is
	 * CLUSTER@QUEUE.pI.ring. Without the feature: one ring, index 0.
	 */
	uint32_t rings;
	uint32_t ring_index;
	uint8_t pad3[RF_CACHE_LINE - 36];
};

_Static_assert(offsetof(struct rf_ring_hdr, generation) == 24, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, max_record) == 44, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, head) == 128, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, wake) == 136, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, finished) == 140, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, enqueued) == 256, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, dropped_toobig) == 288, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, features) == 384, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, link_type) == 388, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, started_ns) == 392, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, finished_ns) == 400, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, producer_starts) == 408, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, rings) == 412, "ring header layout");
_Static_assert(offsetof(struct rf_ring_hdr, ring_index) == 416, "ring header layout");
_Static_assert(sizeof(struct rf_ring_hdr) == 448, "ring header layout");
_Static_assert(sizeof(struct rf_ring_hdr) <= RF_RING_HDR_SIZE, "header fits its page");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4,
	       "atomics have the plain types' size");

/*
 * Consumer page. Written by the consumer; the producer reads tail and
 * waiting and trusts neither (validated on every read).
 */
struct rf_cons_page {
	uint64_t magic;
	uint64_t generation; /* the ring generation this page was created with */
	uint8_t pad0[RF_CACHE_LINE - 16];
	uint8_t guard0[RF_CACHE_LINE];

	/* Consumer hot line: what the producer reads when it needs space. */
	alignas(RF_CACHE_LINE) _Atomic uint64_t tail; /* bytes released (free-running) */
	_Atomic uint32_t waiting;		      /* 1: the consumer sleeps on ring.wake */
	_Atomic int32_t pid;			      /* for display; liveness is the file lock */
	/*
	 * Wake-up moderation (appended in version 1; 0 from consumers that do
	 * not know it): while waiting, wake the consumer only once head >=
	 * wake_at. The consumer bounds its own sleep in time.
	 */
	_Atomic uint64_t wake_at;
	uint8_t pad1[RF_CACHE_LINE - 24];
	uint8_t guard1[RF_CACHE_LINE];

	/* Consumer counters. */
	alignas(RF_CACHE_LINE) _Atomic uint64_t released; /* packets released, all consumers */
	uint8_t pad2[RF_CACHE_LINE - 8];

	/*
	 * Shunt requests (rf_consumer_shunt), appended after version 1's page
	 * (older consumers leave it zero, older producers never read it): a ring
	 * of RF_SHUNT_SLOTS requests the consumer writes and the producer reads
	 * with its own cursor. The consumer fills slot shunt_head % RF_SHUNT_SLOTS,
	 * then stores shunt_head + 1 with release (S1); the producer loads
	 * shunt_head with acquire (pairs with S1) and then reads the slots,
	 * trusting nothing: it skips requests a flood overwrote and checks each
	 * one against its own state.
	 */
	alignas(RF_CACHE_LINE) _Atomic uint32_t shunt_head; /* requests written (free-running) */
	uint8_t pad3[RF_CACHE_LINE - 4];
	struct rf_shunt_slot {
		_Atomic uint32_t hash;	  /* the flow hash of a packet the consumer received */
		_Atomic uint32_t seconds; /* how long; 0: as long as the flow lasts */
	} shunt[RF_SHUNT_SLOTS];
};

_Static_assert(offsetof(struct rf_cons_page, tail) == 128, "consumer page layout");
_Static_assert(offsetof(struct rf_cons_page, waiting) == 136, "consumer page layout");
_Static_assert(offsetof(struct rf_cons_page, pid) == 140, "consumer page layout");
_Static_assert(offsetof(struct rf_cons_page, wake_at) == 144, "consumer page layout");
_Static_assert(offsetof(struct rf_cons_page, released) == 256, "consumer page layout");
_Static_assert(offsetof(struct rf_cons_page, shunt_head) == 320, "consumer page layout");
_Static_assert(offsetof(struct rf_cons_page, shunt) == 384, "consumer page layout");
_Static_assert(sizeof(struct rf_shunt_slot) == 8, "consumer page layout");
_Static_assert(sizeof(struct rf_cons_page) == 384 + 8 * RF_SHUNT_SLOTS, "consumer page layout");
_Static_assert(sizeof(struct rf_cons_page) <= RF_CONS_PAGE_SIZE, "consumer page fits");

/* One record in the data area; caplen packet bytes follow at hdr_len. */
struct rf_rec_hdr {
	uint32_t len;	  /* whole record incl. header and padding, multiple of 8 */
	uint16_t flags;	  /* RF_REC_PAD, RF_PKT_* */
	uint16_t hdr_len; /* RF_REC_HDR_LEN (larger in later versions: skip the rest) */
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_ns;
	uint32_t ifindex;
	uint32_t hash;
};

_Static_assert(sizeof(struct rf_rec_hdr) == RF_REC_HDR_LEN, "record header layout");
_Static_assert(offsetof(struct rf_rec_hdr, ts_ns) == 16, "record header layout");

#endif
