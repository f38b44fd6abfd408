/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Flow key, hash and queue selection for every balancing mode, and the
 * fragment table that keeps all fragments of a datagram on its flow's queue.
 *
 * Two layers:
 *  - rf_flow_hash(): stateless, pure function of (mode, decoded packet,
 *    ifindex). Thread-safe. Non-first fragments hash on what they carry
 *    (addresses, plus protocol in port-based modes).
 *  - struct rf_flow: a per-thread object (not thread-safe) holding the
 *    fragment table and the hold buffer. rf_flow_classify() gives the hash a
 *    packet must use, or says that the packet was held (copied into the hold
 *    buffer) until the first fragment of its datagram arrives. Released held
 *    packets are drained with rf_flow_next_released(). All memory is
 *    allocated by rf_flow_new(); nothing per packet allocates.
 *
 * Hashes are symmetric in every mode (A->B and B->A give the same value),
 * never include VLAN ids or MPLS labels (except in mode vlan), and use all
 * 128 bits of IPv6 addresses. The hash -> queue mapping (rf_queue_pick) is a
 * static function of the hash and the number of queues. Hash values are
 * computed from addresses loaded in host byte order: they are stable on one
 * machine, not across byte orders.
 */
#ifndef RINGFAN_FLOW_H
#define RINGFAN_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

enum rf_mode {
	RF_MODE_RR = 0,	      /* round robin: the caller's packet counter modulo n */
	RF_MODE_IP,	      /* symmetric 2-tuple of the outermost IP header (default) */
	RF_MODE_5TUPLE,	      /* symmetric addresses + protocol + ports, outermost IP header */
	RF_MODE_INNER_IP,     /* symmetric 2-tuple of the innermost IP header */
	RF_MODE_INNER_5TUPLE, /* symmetric 5-tuple of the innermost IP header */
	RF_MODE_VLAN,	      /* outermost VLAN id (0 when untagged) */
	RF_MODE_IFACE,	      /* ingress interface index */
	RF_MODE_FANOUT,	      /* every queue gets every packet */
	RF_MODE__MAX
};

#define RF_MODE_DEFAULT RF_MODE_IP

/*
 * Parse a mode name ("ip", "5tuple", "inner-ip", ...) or a zbalance_ipc
 * number with the same meaning (0 rr, 1 ip, 2 fanout, 4 inner-5tuple,
 * 5 inner-ip, 6 iface). Returns 0, or -EINVAL (*ret_mode untouched).
 */
int rf_mode_parse(const char *s, enum rf_mode *ret_mode);

/*
 * For a zbalance_ipc -m number whose meaning no mode shares (3, 7): what to
 * write instead, as a sentence. NULL for anything else.
 */
const char *rf_mode_zbalance_hint(const char *s);

/* Mode name as rf_mode_parse() accepts it; "?" for an unknown value. */
const char *rf_mode_name(enum rf_mode mode);

/* Multi-line help text listing every mode and its zbalance_ipc number. */
const char *rf_mode_help(void);

/*
 * rf_decode() flags sufficient for a mode: RF_DECODE_OUTER for modes that
 * only look at the outermost IP header and its ports, 0 otherwise.
 */
unsigned int rf_mode_decode_flags(enum rf_mode mode);

/* rf_flow_key.fields: what the hash was computed from */
#define RF_KEY_ADDR	 0x0001 /* src/dst addresses of ip[ip_layer] */
#define RF_KEY_PROTO	 0x0002 /* proto */
#define RF_KEY_PORTS	 0x0004 /* sport/dport */
#define RF_KEY_MAC	 0x0008 /* no IP header: the innermost Ethernet MAC pair */
#define RF_KEY_VLAN	 0x0010 /* vlan_id */
#define RF_KEY_IFACE	 0x0020 /* ifindex */
#define RF_KEY_ARP	 0x0040 /* with RF_KEY_ADDR: ARP sender/target protocol addresses */
#define RF_KEY_FRAG_TIED 0x0100 /* non-first fragment: hash and key of its first fragment */
#define RF_KEY_FRAG_FALLBACK \
	0x0200 /* fragment that could not be tied: addresses (+proto) hash, counted */

/*
 * The key a mode hashed, for explaining a decision. Addresses are in packet
 * order (src is the packet's source), not in the sorted order the hash uses.
 */
struct rf_flow_key {
	uint16_t fields;  /* RF_KEY_* */
	uint8_t family;	  /* 4, 6, or 0 when no IP header was used */
	uint8_t ip_layer; /* index into rf_decoded.ip[] that was used (0 outermost) */
	uint8_t proto;
	uint8_t pad;
	uint16_t sport; /* host byte order */
	uint16_t dport;
	uint16_t vlan_id;
	uint32_t ifindex;
	uint8_t src[16]; /* 4 bytes used for IPv4; MAC (6 bytes) with RF_KEY_MAC */
	uint8_t dst[16];
};

/*
 * Stateless hash of a decoded packet (pkt: the bytes given to rf_decode()).
 * rr and fanout return 0 (the caller picks queues). In ip/5tuple/inner
 * modes an ARP packet (IPv4) hashes on its sender and target protocol
 * addresses exactly as ip mode hashes an IP packet between them, when no
 * IP header comes before it or the mode is an inner one; other packets
 * without an IP header hash on the sorted MAC pair of the innermost
 * Ethernet header, else 0. In 5tuple modes, packets without ports (ICMP,
 * ESP, non-first fragments) hash on addresses and protocol. If ret_key is not NULL it is filled (costs a copy; the
 * per-packet path passes NULL).
 */
uint32_t rf_flow_hash(enum rf_mode mode, const uint8_t *pkt, const struct rf_decoded *d,
		      uint32_t ifindex, struct rf_flow_key *ret_key);

/*
 * The hash of a balancer given a hash seed (--hash-seed): the flow hash
 * itself for seed 0, else the flow hash and the seed mixed (MurmurHash3's
 * finaliser), still the same for both directions. A second stage of
 * distribution needs it: the queues of a first stage each receive one
 * range of hashes, which the same hash would put on one queue of the next
 * stage; a different seed spreads each range over all its queues.
 */
static inline uint32_t rf_hash_reseed(uint32_t hash, uint32_t seed)
{
	if (!seed)
		return hash;
	hash ^= seed * 0x9e3779b9u;
	hash ^= hash >> 16;
	hash *= 0x85ebca6bu;
	hash ^= hash >> 13;
	hash *= 0xc2b2ae35u;
	hash ^= hash >> 16;
	return hash;
}

/* Queue in [0, n) for a hash, without division. n >= 1. */
static inline uint32_t rf_queue_pick(uint32_t hash, uint32_t n)
{
	return (uint32_t)(((uint64_t)hash * n) >> 32);
}

/* Options of rf_flow_new(); zero fields take the defaults shown. */
struct rf_flow_opts {
	size_t sz;		   /* sizeof(struct rf_flow_opts) */
	uint32_t table_entries;	   /* fragment table slots (16384), rounded up to a power of 2 */
	uint32_t hold_slots;	   /* packets the hold buffer can keep (256) */
	uint32_t hold_bytes;	   /* bytes kept per held packet (9216); larger ones are not held */
	uint64_t table_timeout_ns; /* lifetime of a fragment table entry (5 s) */
	uint64_t hold_timeout_ns;  /* longest time a packet stays held (200 ms) */
};

/* A packet as handed to rf_flow_classify() and returned from the hold buffer. */
struct rf_flow_pkt {
	const uint8_t *data; /* caplen bytes; for released packets: inside the hold buffer */
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_ns; /* packet timestamp (also the clock for expiry, see below) */
	uint32_t ifindex;
	int linktype;	 /* DLT_* */
	uint64_t cookie; /* caller's value, returned unchanged (e.g. frame number) */
};

/* Counters of struct rf_flow; never reset. */
struct rf_flow_stats {
	uint64_t frag_first;	  /* first fragments recorded in the table */
	uint64_t frag_tied;	  /* non-first fragments found in the table on arrival */
	uint64_t frag_held;	  /* non-first fragments held (arrived before their first) */
	uint64_t frag_released;	  /* held fragments released with their datagram's hash */
	uint64_t frag_expired;	  /* held fragments released at expiry with the fallback hash */
	uint64_t frag_table_full; /* first fragments not recorded: no free slot in reach */
	uint64_t frag_hold_full;  /* fragments not held: hold buffer full (fallback hash) */
	uint64_t frag_hold_big;	  /* fragments not held: larger than hold_bytes (fallback hash) */
	uint64_t frag_table_expired; /* table entries reused after their lifetime */
};

struct rf_flow;

/*
 * Create a flow object for a mode. opts may be NULL. Returns 0 and
 * *ret_flow, or -EINVAL (bad mode/options) / -ENOMEM.
 */
int rf_flow_new(enum rf_mode mode, const struct rf_flow_opts *opts, struct rf_flow **ret_flow);

/* Free; accepts NULL. */
void rf_flow_free(struct rf_flow *f);

enum rf_flow_verdict {
	RF_FLOW_HASH = 0, /* *ret_hash is the packet's hash */
	RF_FLOW_HELD = 1, /* packet copied into the hold buffer; it comes back via next_released */
};

/*
 * Hash of a decoded packet, tying fragments to their datagram in the
 * port-based and tunnel-aware modes (5tuple, inner-ip, inner-5tuple). Returns
 * RF_FLOW_HASH with *ret_hash, or RF_FLOW_HELD (the caller must not send the
 * packet now; p->data may be reused at once). ret_key as in rf_flow_hash (may
 * be NULL). p->ts_ns is the clock: entries and held packets older than their
 * timeout (relative to the newest ts_ns seen) expire. Afterwards the caller
 * drains rf_flow_next_released() — a first fragment releases the held
 * fragments of its datagram.
 */
int rf_flow_classify(struct rf_flow *f, const struct rf_flow_pkt *p, const struct rf_decoded *d,
		     uint32_t *ret_hash, struct rf_flow_key *ret_key);

/*
 * Next released held packet, if any: returns 1 with *ret_pkt (data points
 * into the hold buffer, valid until the next call on f) and *ret_hash, or 0
 * when none is pending. ret_key (may be NULL) gets the key the packet was
 * hashed on (with the datagram's ports when it was tied). Call after every rf_flow_classify(), after
 * rf_flow_expire(), and after rf_flow_flush(), until it returns 0.
 */
int rf_flow_next_released(struct rf_flow *f, struct rf_flow_pkt *ret_pkt, uint32_t *ret_hash,
			  struct rf_flow_key *ret_key);

/*
 * Released packets wait for rf_flow_next_released(). Cheap: when false,
 * draining would do nothing (a full drain also frees the last one's slot).
 */
bool rf_flow_released_pending(const struct rf_flow *f);

/*
 * Timer: release held packets older than hold_timeout at now_ns (same clock
 * as ts_ns) with their fallback hash. Drain with rf_flow_next_released().
 */
void rf_flow_expire(struct rf_flow *f, uint64_t now_ns);

/* End of input: release every held packet with its fallback hash. */
void rf_flow_flush(struct rf_flow *f);

/* Counters (a copy). */
void rf_flow_get_stats(const struct rf_flow *f, struct rf_flow_stats *ret_stats);

#endif
