/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flow table of one group (--flow-table): which queue each live flow
 * went to, how much of it went there, and whether the rest is shunted.
 *
 * A flow is what the group's mode hashes alike: the table is keyed by the
 * packet's flow hash (rf_flow_hash() / rf_flow_classify(), after
 * rf_hash_reseed()), so both directions share one entry and fragments and
 * tunnels are keyed as the mode keys them, without decoding anything again.
 * Two flows whose 32-bit hashes are equal share one entry: they already share
 * a queue under the hash, and here they also share the shunt counts.
 *
 * Memory: entries are allocated by rf_ft_new() (a power of two, in buckets of
 * RF_FT_WAYS); nothing per packet allocates. The clock is the packets'
 * timestamps (the newest seen, so that it never goes back: a packet older
 * than that, as in a merged capture, counts as seen now): an entry not seen
 * for idle_ns expires, a TCP flow that sent FIN or RST expires after close_ns
 * (not at once, so that its last packets are still known); a SYN that reuses
 * the ports of a closed flow before then starts a new flow on the same queue.
 * A new flow whose
 * bucket is full takes the slot of the least recently seen flow when that one
 * was idle for at least RF_FT_EVICT_IDLE_NS (counted: evicted); otherwise it
 * is not recorded and is placed by the hash (counted: fallback). So a flow
 * can change queue only after it was counted as evicted.
 *
 * Not thread-safe: one table per group, used by the balancer thread.
 */
#ifndef RINGFAN_FLOWTABLE_H
#define RINGFAN_FLOWTABLE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

#define RF_FT_WAYS	       4		      /* entries per bucket */
#define RF_FT_DEFAULT_ENTRIES  (1u << 20)	      /* per group, when an option needs a table */
#define RF_FT_MAX_ENTRIES      (1u << 26)	      /* 64 Mi entries: 2 GiB per group */
#define RF_FT_DEFAULT_IDLE_NS  (60ull * 1000000000)   /* an entry unseen this long expires */
#define RF_FT_MAX_IDLE_S       (100ull * 366 * 86400) /* --flow-timeout: a century (old captures) */
#define RF_FT_DEFAULT_CLOSE_NS (2ull * 1000000000)    /* after a TCP FIN or RST */
#define RF_FT_EVICT_IDLE_NS    (1ull * 1000000000)    /* a flow idle this long may be evicted */

/*
 * What the table knows of a packet's transport (the l4 byte of
 * rf_ft_lookup()): the TCP flags it looks at (as in the byte at offset 13 of
 * the TCP header) and the packet's protocol class in the top two bits.
 */
#define RF_FT_TCP_FIN	0x01
#define RF_FT_TCP_SYN	0x02
#define RF_FT_TCP_RST	0x04
#define RF_FT_TCP_ACK	0x10
#define RF_FT_L4(proto) ((uint8_t)(((proto) + 1) << 6)) /* enum rf_ft_proto; 0: unknown */

/* The protocol classes shunt cut-offs may differ by (--shunt-packets tcp=N,udp=N,other=N). */
enum rf_ft_proto {
	RF_FT_PROTO_TCP = 0,
	RF_FT_PROTO_UDP,
	RF_FT_PROTO_OTHER, /* any other protocol, or none (not IP) */
	RF_FT_PROTOS
};

/* "tcp", "udp", "other" */
const char *rf_ft_proto_name(enum rf_ft_proto p);
/* The class of name (len bytes, not terminated), or -EINVAL. */
int rf_ft_proto_parse(const char *name, size_t len);

/*
 * The l4 byte of a packet from its decoding: the class of the IP header the
 * mode keys (the innermost in the inner modes; "other" without one), and
 * its TCP flags when the mode's flows are connections (only 5tuple and
 * inner-5tuple flows close on FIN or RST). d NULL (a held fragment,
 * released): 0, unknown.
 */
uint8_t rf_ft_l4(enum rf_mode mode, const struct rf_decoded *d, const uint8_t *data,
		 uint32_t caplen);

struct rf_ft_opts {
	size_t sz;	   /* sizeof(struct rf_ft_opts) */
	uint32_t entries;  /* rounded up to a power of two, at least RF_FT_WAYS */
	uint64_t idle_ns;  /* 0: RF_FT_DEFAULT_IDLE_NS */
	uint64_t close_ns; /* 0: RF_FT_DEFAULT_CLOSE_NS */
	/* Per protocol class of the flow (its first packet's): */
	uint64_t shunt_packets[RF_FT_PROTOS]; /* deliver a flow's first N packets; 0: all */
	uint64_t shunt_bytes[RF_FT_PROTOS];   /* deliver until B wire bytes of it went; 0: all */
};

/* One flow. The caller sets queue when rf_ft_lookup() says RF_FT_NEW. */
struct rf_ft_entry {
	uint32_t hash;
	uint16_t queue;	      /* index within the group */
	uint8_t flags;	      /* internal: state and protocol class */
	uint8_t why;	      /* enum rf_place_why of its placement (the caller's) */
	uint32_t packets;     /* saturating */
	uint32_t shunt_until; /* rf_ft_shunt(): seconds on the table's clock; 0: none */
	uint64_t bytes;
	uint64_t last_ns; /* timestamp of its newest packet */
};

enum rf_ft_verdict {
	RF_FT_FOUND = 0,    /* a known flow, to be delivered to entry->queue */
	RF_FT_NEW = 1,	    /* a new flow: the caller places it and sets entry->queue */
	RF_FT_SHUNT = 2,    /* past the shunt cut-off: not to be enqueued (entry->queue: where) */
	RF_FT_FALLBACK = 3, /* not recorded (bucket full of live flows): place by the hash */
};

/* Counters; never reset. active = created - expired - evicted. */
struct rf_ft_stats {
	uint64_t entries; /* capacity */
	uint64_t active;
	uint64_t created;
	uint64_t expired;	/* idle or closed entries removed */
	uint64_t evicted;	/* idle-but-not-expired entries replaced by a new flow */
	uint64_t fallback;	/* packets placed by the hash: no slot for their flow */
	uint64_t shunted;	/* packets shunted */
	uint64_t shunted_flows; /* flows that reached the cut-off, or shunted on request */
};

struct rf_ft;

/* Where a group puts a new flow (--placement). */
enum rf_placement {
	RF_PLACE_HASH = 0,     /* the flow hash (stateless; the default) */
	RF_PLACE_WEIGHTED,     /* the hash through an indirection table filled by --weights */
	RF_PLACE_LEAST_LOADED, /* the queue with the fewest recent packets (needs a table) */
	RF_PLACE__MAX
};

/* Buckets of a weighted group's indirection table (as a NIC's RSS table). */
#define RF_PLACE_BUCKETS    1024
#define RF_PLACE_MAX_WEIGHT 1000

/* "hash", "weighted", "least-loaded" -> enum rf_placement; 0 or -EINVAL. */
int rf_placement_parse(const char *s, enum rf_placement *ret);
const char *rf_placement_name(enum rf_placement p);

/*
 * "2,1,1,1": one weight (0 to RF_PLACE_MAX_WEIGHT, not all 0) per queue, at
 * most max. Returns the number of weights, or -EINVAL.
 */
int rf_weights_parse(const char *s, uint32_t *ret_weights, unsigned int max);

/*
 * Fill ind[RF_PLACE_BUCKETS] with queue indexes in proportion to the n
 * weights, interleaved (smooth weighted round robin), so that each queue's
 * buckets spread over the hash range.
 */
void rf_weights_fill(const uint32_t *weights, unsigned int n, uint16_t *ind);

/* 0 and *ret_table, or -EINVAL (entries 0 or too many) / -ENOMEM. */
int rf_ft_new(const struct rf_ft_opts *opts, struct rf_ft **ret_table);

/* Free; accepts NULL. */
void rf_ft_free(struct rf_ft *t);

/*
 * The flow of a packet of hash hash, at ts_ns, of wirelen bytes, with l4
 * from rf_ft_l4() (0: unknown; a new flow takes its first packet's class,
 * "other" when unknown). Counts the packet into its flow and returns an
 * rf_ft_verdict; *ret_entry is the flow's entry (NULL with RF_FT_FALLBACK),
 * valid until the next call.
 */
int rf_ft_lookup(struct rf_ft *t, uint32_t hash, uint64_t ts_ns, uint32_t wirelen, uint8_t l4,
		 struct rf_ft_entry **ret_entry);

/*
 * Prefetch the buckets of n hashes, ahead of their rf_ft_lookup() (as DPDK's
 * bulk hash lookup does): a table larger than the caches is then read from
 * memory once per burst, the reads overlapped, not once per packet in turn.
 * Changes nothing in the table.
 */
void rf_ft_prefetch_bulk(const struct rf_ft *t, const uint32_t *hashes, unsigned int n);

/*
 * The entry of a flow without counting a packet (for explaining), or NULL.
 */
const struct rf_ft_entry *rf_ft_peek(const struct rf_ft *t, uint32_t hash);

/*
 * A consumer asked to shunt the flow of hash hash from queue (an index in
 * the group) for seconds (0: the flow's life). Returns 0, -ENOENT (no such
 * flow in the table) or -EPERM (the flow goes to another queue: refused).
 */
int rf_ft_shunt(struct rf_ft *t, uint32_t hash, uint16_t queue, uint32_t seconds);

/*
 * Remove expired entries of up to n buckets (a sweep that goes round the
 * table across calls), at now_ns on the packets' clock.
 */
void rf_ft_sweep(struct rf_ft *t, uint64_t now_ns, uint32_t n);

/* The newest packet timestamp seen (the table's clock). */
uint64_t rf_ft_now(const struct rf_ft *t);

void rf_ft_get_stats(const struct rf_ft *t, struct rf_ft_stats *ret_stats);

/*
 * A group's placement of flows: its flow table (or none), its placement, the
 * weights' indirection table, the queues' recent loads (least-loaded) and
 * which queues failed over. The balancer's per-packet path and explain both
 * decide through rf_place_packet(), so that explain says what the balancer
 * does. Not thread-safe.
 */
struct rf_place_opts {
	size_t sz;		     /* sizeof(struct rf_place_opts) */
	uint32_t queues;	     /* of the group, 1 to 65535 */
	struct rf_ft_opts table;     /* entries 0: no table */
	enum rf_placement placement; /* RF_PLACE_LEAST_LOADED needs a table */
	const uint32_t *weights;     /* RF_PLACE_WEIGHTED: one per queue */
	bool failover_move;	     /* a known flow of a failed-over queue moves */
};

/* Why a packet went where it went (or did not go). */
enum rf_place_why {
	RF_WHY_HASH = 0,     /* the flow hash (a known flow: why it was placed where it is) */
	RF_WHY_WEIGHT,	     /* the hash through the weights' indirection table */
	RF_WHY_LEAST_LOADED, /* a new flow, given the least loaded queue */
	RF_WHY_FAILOVER,     /* the queue the hash gave is failed over: a live one instead */
	RF_WHY_FALLBACK,     /* no room in the table: the hash, among the live queues */
	RF_WHY_MOVED,	     /* a known flow moved off a failed-over queue */
	RF_WHY_SHUNTED,	     /* past the cut-off or shunted on request: not enqueued */
	RF_WHY__MAX
};

/* least-loaded: the loads are halved every this many packets of the group ("recent"). */
#define RF_PLACE_LOAD_HALF_LIFE (1u << 20)

struct rf_place;

/* 0 and *ret_place, or -EINVAL (bad options) / -ENOMEM. */
int rf_place_new(const struct rf_place_opts *opts, struct rf_place **ret_place);
void rf_place_free(struct rf_place *p);

/*
 * The queue (index within the group) of a packet of hash hash; *ret_why says
 * why, RF_WHY_SHUNTED: not to be enqueued (the queue is its flow's). Counts
 * the packet into its flow and the delivered ones into the queue's load.
 */
uint32_t rf_place_packet(struct rf_place *p, uint32_t hash, uint64_t ts_ns, uint32_t wirelen,
			 uint8_t l4, enum rf_place_why *ret_why);

/*
 * rf_place_packet() for a burst of n packets, in order, 32 at a time with
 * the table's buckets of the 32 prefetched first (as rf_ft_prefetch_bulk()):
 * the same queues, reasons and counts as n calls of rf_place_packet().
 */
void rf_place_burst(struct rf_place *p, unsigned int n, const uint32_t *hashes,
		    const uint64_t *ts_ns, const uint32_t *wirelens, const uint8_t *tcp_flags,
		    uint32_t *ret_queues, enum rf_place_why *ret_whys);

/* "hash", "weight", "least-loaded", "failover", "fallback", "moved", "shunted" */
const char *rf_place_why_name(enum rf_place_why why);

/* Failover: queue i gets no new flows while down (unless all are). */
void rf_place_set_down(struct rf_place *p, uint32_t i, bool down);
bool rf_place_down(const struct rf_place *p, uint32_t i);

/* The group's table (NULL: none), for its counters and shunt requests. */
struct rf_ft *rf_place_table(const struct rf_place *p);
/* Known flows moved off failed-over queues. */
uint64_t rf_place_moved(const struct rf_place *p);

#endif
