/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a packet broker does to packets on their way into a queue, each
 * opt-in per group or per queue (ringfan-balance(1)):
 *  - filter: a BPF expression compiled with libpcap; packets that do not
 *    match are not delivered (and counted as filtered);
 *  - de-duplication: a packet identical to one seen within a window is not
 *    delivered (counted as de-duplicated); see rf_dedup_signature() for
 *    what "identical" means;
 *  - stripping: VLAN tags, MPLS labels or tunnel headers are removed and
 *    the frame inside delivered;
 *  - slicing: at most N bytes of each packet are delivered.
 * No allocation per packet: tables and buffers are made once, by the *_new()
 * and *_compile() functions. Nothing here logs.
 */
#ifndef RINGFAN_BROKER_H
#define RINGFAN_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* ---- BPF filters ---- */

struct rf_filter;

/*
 * Compile expr (pcap-filter(7) syntax; "" matches everything) for packets
 * of link type linktype (DLT_*). Returns 0, -EINVAL with libpcap's message
 * in errbuf (errlen bytes), or -ENOMEM.
 */
int rf_filter_compile(const char *expr, int linktype, struct rf_filter **ret_filter, char *errbuf,
		      size_t errlen);

/* True when the packet (caplen bytes captured of wirelen) matches. */
bool rf_filter_match(const struct rf_filter *f, const uint8_t *pkt, uint32_t caplen,
		     uint32_t wirelen);

/* The expression it was compiled from. */
const char *rf_filter_expr(const struct rf_filter *f);

/* Free; accepts NULL. */
void rf_filter_free(struct rf_filter *f);

/* ---- de-duplication ---- */

/* Packets the table remembers: a window holding more (rate x window) misses some copies. */
#define RF_DEDUP_ENTRIES  65536
#define RF_DEDUP_MAX_US	  1000000 /* longest window: 1 s */
#define RF_DEDUP_NOT_SEEN UINT64_MAX

/*
 * What two copies of a packet have in common when two SPAN ports (or a tap
 * and a SPAN port) both saw it: the bytes of its outermost IP packet, from
 * the IP header to the end of the IP packet (or of the capture, if it ends
 * first), with the IPv4 TTL and header checksum, or the IPv6 hop limit,
 * taken as zero; the link-layer header (MAC addresses, VLAN tags, MPLS
 * labels) is not compared, as it changes from one side of a router to the
 * other. A frame without an IP header is compared whole. The bytes are
 * reduced to a 64-bit hash (with their length): two different packets are
 * taken for copies only if their hashes collide, with a chance of about
 * 2^-64 per pair. d is the packet's decoding (any rf_decode() flags).
 */
uint64_t rf_dedup_signature(const uint8_t *pkt, uint32_t caplen, const struct rf_decoded *d);

struct rf_dedup;

/*
 * A table of entries (a power of two, at least 4) packets, remembering each
 * for window_ns. Returns 0, -EINVAL or -ENOMEM.
 */
int rf_dedup_new(uint32_t entries, uint64_t window_ns, struct rf_dedup **ret_dedup);

/*
 * A packet of signature sig seen at ts_ns: the time since the first copy
 * within the window, or RF_DEDUP_NOT_SEEN (the packet is then remembered
 * as a first copy). Copies do not extend the window: a packet repeated
 * without end passes once per window. Clock skew between merged sources is
 * allowed for: the age is the absolute difference of the timestamps.
 */
uint64_t rf_dedup_seen(struct rf_dedup *t, uint64_t sig, uint64_t ts_ns);

/* First copies forgotten inside the window because the table was full (copies then missed). */
uint64_t rf_dedup_evicted(const struct rf_dedup *t);

/* Free; accepts NULL. */
void rf_dedup_free(struct rf_dedup *t);

/* ---- stripping and slicing ---- */

#define RF_STRIP_VLAN	0x1 /* 802.1Q / 802.1ad tags of the delivered frame */
#define RF_STRIP_MPLS	0x2 /* its MPLS label stack (an Ethernet pseudowire: the frame inside) */
#define RF_STRIP_TUNNEL 0x4 /* the outermost Ethernet-carrying tunnel: the frame it carries */
#define RF_STRIP_ALL	(RF_STRIP_VLAN | RF_STRIP_MPLS | RF_STRIP_TUNNEL)

/* Largest frame rf_strip() rewrites; a longer one is delivered as it is. */
#define RF_STRIP_BUF 262144

/*
 * Parse "vlan", "mpls", "tunnel", a comma-separated combination, or "none"
 * (0). Returns 0 or -EINVAL.
 */
int rf_strip_parse(const char *s, unsigned int *ret_strip);

/* "vlan,tunnel", "none": the names rf_strip_parse() reads. */
void rf_strip_format(unsigned int strip, char *buf, size_t len);

/* A frame to deliver. */
struct rf_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
};

/*
 * Remove what strip names from an Ethernet frame (in: its bytes; d: its
 * decoding, which must have gone past the outer IP header for
 * RF_STRIP_TUNNEL, i.e. without RF_DECODE_OUTER):
 *  - RF_STRIP_TUNNEL: a packet whose outer IP packet carries an Ethernet
 *    frame in VXLAN, Geneve, GRE (transparent Ethernet bridging) or ERSPAN
 *    (II, III), as mirroring to a remote host sends it, becomes that frame,
 *    as it was mirrored: tunnels inside it stay. It ends where the outer IP
 *    packet ends. Tunnels that carry IP (GTP-U, IP-in-IP, GRE with IP) are
 *    left, and so are outer IP fragments (the frame of a fragment is
 *    incomplete).
 *  - RF_STRIP_VLAN: the 802.1Q and 802.1ad tags after the (delivered)
 *    frame's MAC addresses are removed.
 *  - RF_STRIP_MPLS: a label stack there is removed, with an IP packet
 *    after it now behind EtherType IPv4 or IPv6; an Ethernet pseudowire's
 *    frame (after its control word) is delivered instead, stripped again.
 * What cannot be stripped (not there, not decoded, frame longer than
 * RF_STRIP_BUF) is left. *out is in itself, or a suffix of it, or in buf
 * (RF_STRIP_BUF bytes); its wirelen shrinks by the bytes removed. Returns
 * true when something was removed.
 */
bool rf_strip(const struct rf_frame *in, const struct rf_decoded *d, unsigned int strip,
	      uint8_t *buf, struct rf_frame *out);

/*
 * False when rf_strip() would surely leave the frame as it is: no tunnel
 * asked for, and no tag or label after its Ethernet header (most frames).
 */
static inline bool rf_strip_needed(const struct rf_decoded *d, unsigned int strip)
{
	uint8_t next = d->n_layers >= 2 ? d->layers[1] : RF_LAYER_NONE;

	return (strip & RF_STRIP_TUNNEL) || next == RF_LAYER_VLAN || next == RF_LAYER_CMD ||
	       next == RF_LAYER_MPLS;
}

#endif
