/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packet decoder. One walk from the link header inwards; each header parser
 * checks that its bytes lie below c->end before reading them, and hands the
 * next offset to the parser of the next header. c->end starts at caplen and
 * only shrinks (an IP header's length ends its payload, so Ethernet padding
 * and trailers are never parsed as headers).
 *
 * Recursion only happens when a tunnel brings a new Ethernet or IP header;
 * both are bounded (RF_MAX_IP, MAX_ETH), everything else is a loop.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pcap/dlt.h>

#include "decode.h"
#include "util.h"

#ifndef LINKTYPE_RAW
#define LINKTYPE_RAW 101 /* pcap_datalink() maps it to DLT_RAW; accept both */
#endif

/* Ethernet headers per packet (outer + pseudowire / bridged / mirrored frames). */
#define MAX_ETH 8

#define ETH_HLEN  14
#define IPV4_HLEN 20
#define IPV6_HLEN 40

enum {
	ET_IPV4 = 0x0800,
	ET_ARP = 0x0806,
	ET_TEB = 0x6558, /* transparent Ethernet bridging */
	ET_VLAN = 0x8100,
	ET_IPV6 = 0x86dd,
	ET_PPP = 0x880b,
	ET_MPLS = 0x8847,
	ET_MPLS_MC = 0x8848,
	ET_PPPOE_SESS = 0x8864,
	ET_QINQ = 0x88a8,
	ET_ERSPAN2 = 0x88be,
	ET_ERSPAN3 = 0x22eb,
	ET_FABRICPATH = 0x8903,
	ET_CMD = 0x8909, /* Cisco MetaData */
	ET_QINQ_OLD = 0x9100,
};

enum {
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
	PPP_MPLS = 0x0281,
	PPP_MPLS_MC = 0x0283,
};

enum {
	P_HOPOPTS = 0,
	P_ICMP = 1,
	P_IPIP = 4,
	P_TCP = 6,
	P_UDP = 17,
	P_IPV6 = 41,
	P_ROUTING = 43,
	P_FRAGMENT = 44,
	P_GRE = 47,
	P_ESP = 50,
	P_AH = 51,
	P_ICMPV6 = 58,
	P_NONE = 59,
	P_DSTOPTS = 60,
	P_SCTP = 132,
};

enum {
	PORT_GTPU = 2152,
	PORT_TEREDO = 3544,
	PORT_NAT_T = 4500,
	PORT_VXLAN = 4789,
	PORT_VXLAN_GPE = 4790,
	PORT_CAPWAP_DATA = 5247,
	PORT_GENEVE = 6081,
};

/* Decoding state of one packet. */
struct ctx {
	const uint8_t *pkt;
	uint32_t end; /* first offset that may not be read: min(caplen, lim) */
	uint32_t lim; /* end set by the innermost length field (IP, GTP) so far */
	unsigned int flags;
	unsigned int n_eth;
	bool in_frag; /* inside the payload of a first fragment */
	struct rf_decoded *d;
};

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

/* True when len bytes from off may be read. */
static inline bool have(const struct ctx *c, uint32_t off, uint32_t len)
{
	return likely(off + len <= c->end);
}

static inline int stop(struct ctx *c, enum rf_decode_reason reason)
{
	c->d->reason = reason;
	return reason;
}

/*
 * A header of len bytes at off does not fit below c->end. If an enclosing
 * length field ends before it, the packet is MALFORMED, unless that is a
 * first fragment's end (the rest of the header is in the next fragment: OK);
 * otherwise the capture ended first: TRUNCATED.
 */
static int cut(struct ctx *c, uint32_t off, uint32_t len)
{
	if (off + len > c->lim)
		return stop(c, c->in_frag ? RF_DEC_OK : RF_DEC_MALFORMED);
	return stop(c, RF_DEC_TRUNCATED);
}

/* Same, for the upper-layer header of *ip (or what leads to it). */
static int cut_l4(struct ctx *c, struct rf_ip *ip, uint32_t off, uint32_t len)
{
	ip->flags |= RF_IP_TRUNC_L4;
	return cut(c, off, len);
}

static inline void push_layer(struct ctx *c, enum rf_layer layer, uint32_t off)
{
	struct rf_decoded *d = c->d;
	unsigned int n = d->n_layers;

	if (likely(n < RF_MAX_LAYERS)) {
		d->layers[n] = layer;
		d->layer_off[n] = off;
		d->n_layers = n + 1;
	}
}

/* The current header's length says its payload ends at end. */
static inline void end_at(struct ctx *c, uint32_t end)
{
	if (end < c->lim)
		c->lim = end;
	if (end < c->end)
		c->end = end;
}

static int ethernet(struct ctx *c, uint32_t off);
static int ethertype(struct ctx *c, uint32_t off, uint16_t type);
static int wlan(struct ctx *c, uint32_t off);
static int ipv4(struct ctx *c, uint32_t off);
static int ipv6(struct ctx *c, uint32_t off);
static int mpls(struct ctx *c, uint32_t off);

/* ---- transport ---- */

/* Ports from the first 4 bytes; TRUNCATED unless min_len bytes are present. */
static inline int ports(struct ctx *c, struct rf_ip *ip, uint32_t off, uint32_t min_len,
			enum rf_layer layer)
{
	const uint8_t *p = c->pkt + off;

	if (unlikely(!have(c, off, 4)))
		return cut_l4(c, ip, off, 4);
	ip->sport = rd16(p);
	ip->dport = rd16(p + 2);
	ip->flags |= RF_IP_PORTS;
	ip->l4_off = off;
	push_layer(c, layer, off);
	if (unlikely(!have(c, off, min_len)))
		return cut_l4(c, ip, off, min_len);
	return stop(c, RF_DEC_OK);
}

static inline __attribute__((always_inline)) int tcp(struct ctx *c, struct rf_ip *ip, uint32_t off)
{
	uint32_t doff;
	int r = ports(c, ip, off, 20, RF_LAYER_TCP);

	/* OK without 20 bytes: the rest of the header is in the next fragment. */
	if (unlikely(r != RF_DEC_OK || !have(c, off, 20)))
		return r;
	doff = (uint32_t)(c->pkt[off + 12] >> 4) * 4;
	if (unlikely(doff < 20))
		return stop(c, RF_DEC_MALFORMED);
	if (unlikely(!have(c, off, doff)))
		return cut_l4(c, ip, off, doff);
	return RF_DEC_OK;
}

static int icmp(struct ctx *c, struct rf_ip *ip, uint32_t off, enum rf_layer layer)
{
	/* Type, code, checksum, and 4 bytes of rest-of-header. */
	if (unlikely(!have(c, off, 8)))
		return cut_l4(c, ip, off, 8);
	ip->l4_off = off;
	push_layer(c, layer, off);
	return stop(c, RF_DEC_OK);
}

/* ---- tunnels carried by UDP ---- */

static int inner_ip_by_nibble(struct ctx *c, uint32_t off)
{
	if (unlikely(!have(c, off, 1)))
		return cut(c, off, 1);
	switch (c->pkt[off] >> 4) {
	case 4:
		return ipv4(c, off);
	case 6:
		return ipv6(c, off);
	default:
		return stop(c, RF_DEC_OK); /* not IP: opaque payload */
	}
}

/*
 * The UDP tunnels below are recognised by their destination port, and also by
 * their source port so that both directions decode alike when a capture has
 * replies from the tunnel port. A source-port match (strict) must look like the
 * header exactly (reserved bits clear, known payload), or the payload is left
 * as plain UDP.
 */
static int vxlan(struct ctx *c, uint32_t off, bool strict)
{
	const uint8_t *p = c->pkt + off;

	/* Flags (I = 0x08: VNI valid), 3 reserved, VNI (3), reserved. */
	if (unlikely(!have(c, off, 8)))
		return strict ? stop(c, RF_DEC_OK) : cut(c, off, 8);
	if (!(p[0] & 0x08) || (strict && (rd32(p) != 0x08000000 || p[7])))
		return stop(c, RF_DEC_OK);
	push_layer(c, RF_LAYER_VXLAN, off);
	return ethernet(c, off + 8);
}

/* VXLAN-GPE: as VXLAN, with a next-protocol byte when the P flag is set. */
static int vxlan_gpe(struct ctx *c, uint32_t off, bool strict)
{
	const uint8_t *p = c->pkt + off;

	/* Flags (R R Ver(2) I P B O), 2 reserved, next protocol, VNI (3), reserved. */
	if (unlikely(!have(c, off, 8)))
		return strict ? stop(c, RF_DEC_OK) : cut(c, off, 8);
	if (strict && ((p[0] & 0xf8) != 0x08 || p[1] || p[2] || p[7] || p[3] > 3))
		return stop(c, RF_DEC_OK);
	push_layer(c, RF_LAYER_VXLAN, off);
	/* Without P, early senders still fill the byte; 0 there means Ethernet. */
	switch (p[3]) {
	case 0:
		if (p[0] & 0x04)
			return stop(c, RF_DEC_OK);
		return ethernet(c, off + 8);
	case 1:
		return ipv4(c, off + 8);
	case 2:
		return ipv6(c, off + 8);
	case 3:
		return ethernet(c, off + 8);
	case 5:
		return mpls(c, off + 8);
	default:
		return stop(c, RF_DEC_OK); /* NSH or unknown */
	}
}

static int geneve(struct ctx *c, uint32_t off, bool strict)
{
	const uint8_t *p = c->pkt + off;
	uint32_t hlen;
	uint16_t proto;

	/* Ver (2 bits) + option length in 4-byte words, flags, protocol, VNI, reserved. */
	if (unlikely(!have(c, off, 8)))
		return strict ? stop(c, RF_DEC_OK) : cut(c, off, 8);
	proto = rd16(p + 2);
	if (p[0] >> 6) /* unknown version: leave the payload opaque */
		return stop(c, RF_DEC_OK);
	if (strict &&
	    ((p[1] & 0x3f) || p[7] || (proto != ET_TEB && proto != ET_IPV4 && proto != ET_IPV6)))
		return stop(c, RF_DEC_OK);
	push_layer(c, RF_LAYER_GENEVE, off);
	hlen = 8 + (uint32_t)(p[0] & 0x3f) * 4;
	if (unlikely(!have(c, off, hlen)))
		return cut(c, off, hlen);
	switch (proto) {
	case ET_TEB:
		return ethernet(c, off + hlen);
	case ET_IPV4:
		return ipv4(c, off + hlen);
	case ET_IPV6:
		return ipv6(c, off + hlen);
	default:
		return stop(c, RF_DEC_OK);
	}
}

static int gtpu(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;
	uint32_t pos, len, pdu_end;
	uint8_t next;

	/* Flags: version (3 bits) = 1, PT = 1, reserved, E, S, PN; type; length; TEID. */
	if (unlikely(!have(c, off, 8)))
		return cut(c, off, 8);
	if ((p[0] & 0xf0) != 0x30) /* not GTPv1 (GTP' or other): opaque */
		return stop(c, RF_DEC_OK);
	push_layer(c, RF_LAYER_GTPU, off);
	if (p[1] != 0xff) /* echo, error indication, end marker: no user data */
		return stop(c, RF_DEC_OK);
	/* The length counts the bytes after the mandatory 8. */
	pdu_end = off + 8 + rd16(p + 2);
	end_at(c, pdu_end);
	pos = off + 8;
	if (p[0] & 0x07) {
		/* Sequence number (2), N-PDU number (1), next extension type (1). */
		if (unlikely(!have(c, pos, 4)))
			return cut(c, pos, 4);
		next = c->pkt[pos + 3];
		pos += 4;
		if (!(p[0] & 0x04))
			next = 0;
		while (next) {
			/* Length in 4-byte words including itself; next type in its last byte. */
			if (unlikely(!have(c, pos, 1)))
				return cut(c, pos, 1);
			len = (uint32_t)c->pkt[pos] * 4;
			if (unlikely(len == 0))
				return stop(c, RF_DEC_MALFORMED);
			if (unlikely(!have(c, pos, len)))
				return cut(c, pos, len);
			next = c->pkt[pos + len - 1];
			pos += len;
		}
	}
	if (pos >= pdu_end)
		return stop(c, RF_DEC_OK); /* no payload */
	return inner_ip_by_nibble(c, pos);
}

/* A Teredo packet is IPv6 behind optional authentication and origin headers. */
static int teredo(struct ctx *c, uint32_t off)
{
	const uint8_t *p;
	uint32_t pos = off;

	if (have(c, pos, 4) && rd16(c->pkt + pos) == 0x0001) {
		/* 0x0001, client id length, auth length, id, auth, nonce (8), confirmation (1). */
		p = c->pkt + pos;
		pos += 4 + p[2] + p[3] + 9;
	}
	if (have(c, pos, 8) && rd16(c->pkt + pos) == 0x0000)
		pos += 8; /* origin indication: 0x0000, port, address */
	if (!have(c, pos, IPV6_HLEN) || (c->pkt[pos] >> 4) != 6)
		return stop(c, RF_DEC_OK); /* plain UDP payload */
	push_layer(c, RF_LAYER_TEREDO, off);
	return ipv6(c, pos);
}

/*
 * UDP-encapsulated ESP (NAT traversal, RFC 3948): ESP unless it is a NAT
 * keepalive (one 0xff byte) or IKE (a zero "non-ESP marker").
 */
static int udp_esp(struct ctx *c, uint32_t off)
{
	if (!have(c, off, 8) || rd32(c->pkt + off) == 0)
		return stop(c, RF_DEC_OK);
	push_layer(c, RF_LAYER_ESP, off);
	return stop(c, RF_DEC_OK);
}

/* CAPWAP header word: preamble (8 bits), HLEN, RID, WBID (5 bits each), flags. */
#define CW_T	     0x00000100u /* the frame is in the wireless binding's native format */
#define CW_F	     0x00000080u /* a fragment */
#define CW_K	     0x00000008u /* keep-alive: no frame */
#define CW_RSVD	     0x00000007u
#define CW_WBID(w)   ((w) >> 9 & 0x1f)
#define CW_HLEN(w)   (((w) >> 19 & 0x1f) * 4)
#define CW_IEEE80211 1

/*
 * CAPWAP data channel (RFC 5415): a header of HLEN 4-byte words, then an
 * IEEE 802.3 frame (T clear) or, with T set and wireless binding 1, an
 * IEEE 802.11 frame (RFC 5416). DTLS-protected (preamble type 1),
 * keep-alive and fragmented packets stay opaque: the inner frame of a later
 * fragment cannot be read, so no fragment is keyed on it.
 */
static int capwap(struct ctx *c, uint32_t off, bool strict)
{
	const uint8_t *p = c->pkt + off;
	uint32_t w, hlen;

	if (unlikely(!have(c, off, 8)))
		return strict ? stop(c, RF_DEC_OK) : cut(c, off, 8);
	w = rd32(p);
	hlen = CW_HLEN(w);
	if (p[0] == 0x01 && (!strict || !(w & 0xffffff))) {
		push_layer(c, RF_LAYER_CAPWAP, off); /* DTLS: encrypted */
		return stop(c, RF_DEC_OK);
	}
	if (p[0] != 0 || hlen < 8 || (strict && (w & CW_RSVD)))
		return stop(c, RF_DEC_OK); /* another version, or not CAPWAP: opaque */
	push_layer(c, RF_LAYER_CAPWAP, off);
	if (w & (CW_F | CW_K))
		return stop(c, RF_DEC_OK);
	if (unlikely(!have(c, off, hlen)))
		return cut(c, off, hlen);
	if (!(w & CW_T))
		return ethernet(c, off + hlen);
	if (CW_WBID(w) != CW_IEEE80211)
		return stop(c, RF_DEC_OK);
	return wlan(c, off + hlen);
}

/*
 * The UDP payload at off as the tunnel that port names; by_sport: the port
 * is the source port (the reply direction). -1 if the port names none.
 */
static int udp_tunnel(struct ctx *c, uint16_t port, uint32_t off, bool by_sport)
{
	switch (port) {
	case PORT_VXLAN:
		return vxlan(c, off, by_sport);
	case PORT_VXLAN_GPE:
		return vxlan_gpe(c, off, by_sport);
	case PORT_GENEVE:
		return geneve(c, off, by_sport);
	case PORT_GTPU:
		return gtpu(c, off);
	case PORT_TEREDO:
		return teredo(c, off);
	case PORT_NAT_T:
		return udp_esp(c, off);
	case PORT_CAPWAP_DATA:
		return capwap(c, off, by_sport);
	}
	return -1;
}

static int udp(struct ctx *c, struct rf_ip *ip, uint32_t off)
{
	int r = ports(c, ip, off, 8, RF_LAYER_UDP);

	if (unlikely(r != RF_DEC_OK) || (c->flags & RF_DECODE_OUTER))
		return r;
	r = udp_tunnel(c, ip->dport, off + 8, false);
	if (r < 0)
		r = udp_tunnel(c, ip->sport, off + 8, true);
	return r < 0 ? RF_DEC_OK : r;
}

/* ---- GRE ---- */

/*
 * The PPP protocol field at pos, 2 bytes or 1 when compressed (an odd first
 * byte), then what it names. The PPP layer is recorded at off once the field
 * is captured.
 */
static int ppp_proto(struct ctx *c, uint32_t off, uint32_t pos)
{
	const uint8_t *p = c->pkt + pos;
	uint16_t proto;

	if (unlikely(!have(c, pos, 1)))
		return cut(c, pos, 1);
	if (p[0] & 1) { /* protocol field compression */
		proto = p[0];
		pos += 1;
	} else {
		if (unlikely(!have(c, pos, 2)))
			return cut(c, pos, 2);
		proto = rd16(p);
		pos += 2;
	}
	push_layer(c, RF_LAYER_PPP, off);
	switch (proto) {
	case PPP_IPV4:
		return ipv4(c, pos);
	case PPP_IPV6:
		return ipv6(c, pos);
	case PPP_MPLS:
	case PPP_MPLS_MC:
		return mpls(c, pos);
	default:
		return stop(c, RF_DEC_NON_IP);
	}
}

/* PPP in HDLC-like framing: an optional 0xff03, then the protocol field. */
static int ppp(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;
	uint32_t pos = off;

	if (have(c, pos, 1) && p[0] == 0xff) { /* address and control: 0xff 0x03 */
		if (unlikely(!have(c, pos, 2)))
			return cut(c, pos, 2);
		if (unlikely(p[1] != 0x03))
			return stop(c, RF_DEC_MALFORMED);
		pos += 2;
	}
	return ppp_proto(c, off, pos);
}

static int erspan(struct ctx *c, uint32_t off, uint16_t type, bool seq)
{
	uint32_t hlen;

	if (type == ET_ERSPAN2 && !seq) {
		/* Type I: the mirrored frame follows GRE directly. */
		push_layer(c, RF_LAYER_ERSPAN, off);
		return ethernet(c, off);
	}
	hlen = type == ET_ERSPAN2 ? 8 : 12;
	if (unlikely(!have(c, off, hlen)))
		return cut(c, off, hlen);
	if (type == ET_ERSPAN3 && (c->pkt[off + 11] & 0x01))
		hlen += 8; /* O bit: platform-specific subheader */
	if (unlikely(!have(c, off, hlen)))
		return cut(c, off, hlen);
	push_layer(c, RF_LAYER_ERSPAN, off);
	return ethernet(c, off + hlen);
}

static int gre(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;
	uint16_t fl, type;
	uint32_t hlen = 4;

	if (unlikely(!have(c, off, 4)))
		return cut(c, off, 4);
	fl = rd16(p);
	type = rd16(p + 2);
	switch (fl & 0x0007) {
	case 0:
		if (unlikely(fl & 0x4000)) /* source routing (RFC 1701): obsolete */
			return stop(c, RF_DEC_MALFORMED);
		hlen += (fl & 0x8000 ? 4 : 0) + (fl & 0x2000 ? 4 : 0) + (fl & 0x1000 ? 4 : 0);
		break;
	case 1:
		/* Enhanced GRE (PPTP): key (payload length + call id) always, seq, ack. */
		if (unlikely(!(fl & 0x2000) || (fl & 0xc000) || type != ET_PPP))
			return stop(c, RF_DEC_MALFORMED);
		hlen += 4 + (fl & 0x1000 ? 4 : 0) + (fl & 0x0080 ? 4 : 0);
		break;
	default:
		return stop(c, RF_DEC_MALFORMED);
	}
	if (unlikely(!have(c, off, hlen)))
		return cut(c, off, hlen);
	push_layer(c, RF_LAYER_GRE, off);
	off += hlen;
	switch (type) {
	case ET_IPV4:
		return ipv4(c, off);
	case ET_IPV6:
		return ipv6(c, off);
	case ET_TEB:
		return ethernet(c, off);
	case ET_MPLS:
	case ET_MPLS_MC:
		return mpls(c, off);
	case ET_ERSPAN2:
	case ET_ERSPAN3:
		return erspan(c, off, type, fl & 0x1000);
	case ET_CMD:
		/* In GRE the EtherType comes first: type, version, length, option, SGT. */
		if (unlikely(!have(c, off, 8)))
			return cut(c, off, 8);
		push_layer(c, RF_LAYER_CMD, off);
		return ethertype(c, off + 8, rd16(c->pkt + off));
	case ET_PPP:
		if (off >= c->lim)
			return stop(c, RF_DEC_OK); /* acknowledgement only */
		return ppp(c, off);
	default:
		return stop(c, RF_DEC_OK); /* keepalive or unknown payload */
	}
}

/* ---- IP ---- */

/* Upper-layer protocol proto at off, of the IP header *ip. */
static int l4(struct ctx *c, struct rf_ip *ip, uint32_t off, uint8_t proto)
{
	ip->proto = proto;
	if (likely(proto == P_TCP))
		return tcp(c, ip, off);
	switch (proto) {
	case P_UDP:
		return udp(c, ip, off);
	case P_SCTP:
		return ports(c, ip, off, 12, RF_LAYER_SCTP);
	case P_ICMP:
		return icmp(c, ip, off, RF_LAYER_ICMP);
	case P_ICMPV6:
		return icmp(c, ip, off, RF_LAYER_ICMPV6);
	case P_ESP:
		/* SPI and sequence number; the rest is encrypted. */
		if (unlikely(!have(c, off, 8)))
			return cut(c, off, 8);
		push_layer(c, RF_LAYER_ESP, off);
		return stop(c, RF_DEC_OK);
	}
	if (c->flags & RF_DECODE_OUTER)
		return stop(c, RF_DEC_OK);
	switch (proto) {
	case P_GRE:
		return gre(c, off);
	case P_IPIP:
		return ipv4(c, off);
	case P_IPV6:
		return ipv6(c, off);
	default:
		return stop(c, RF_DEC_OK);
	}
}

/* A new rf_ip entry, or NULL (TOO_DEEP) when RF_MAX_IP are in use. */
static inline struct rf_ip *push_ip(struct ctx *c, uint32_t off, enum rf_layer layer,
				    uint8_t version)
{
	struct rf_decoded *d = c->d;
	struct rf_ip *ip;

	if (unlikely(d->n_ip == RF_MAX_IP))
		return NULL;
	ip = &d->ip[d->n_ip++];
	ip->l4_off = 0;
	ip->version = version;
	ip->proto = 0;
	ip->sport = 0;
	ip->dport = 0;
	ip->frag_off = 0;
	ip->flags = 0;
	ip->layer = d->n_layers;
	ip->frag_id = 0;
	push_layer(c, layer, off);
	return ip;
}

/*
 * IPv4 AH, or an IPv6 extension header chain starting with next header nh
 * at off, then the upper layer. Used for both versions: IPv4 only walks AH.
 */
static int ip_ext(struct ctx *c, struct rf_ip *ip, uint32_t off, uint8_t nh);

/* Inlined into the Ethernet fast path; ipv4() is the out-of-line copy for everything else. */
static inline __attribute__((always_inline)) int ipv4_hdr(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;
	struct rf_ip *ip;
	uint32_t hlen, tot;
	uint16_t fo;

	if (unlikely(!have(c, off, IPV4_HLEN)))
		return cut(c, off, IPV4_HLEN);
	hlen = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (unlikely((p[0] >> 4) != 4 || hlen < IPV4_HLEN))
		return stop(c, RF_DEC_MALFORMED);
	/* Total length 0 is what segmentation offload leaves behind: trust the capture. */
	if (unlikely(tot < hlen) && tot != 0)
		return stop(c, RF_DEC_MALFORMED);
	ip = push_ip(c, off, RF_LAYER_IPV4, 4);
	if (unlikely(!ip))
		return stop(c, RF_DEC_TOO_DEEP);
	ip->src_off = off + 12;
	ip->dst_off = off + 16;
	ip->frag_id = rd16(p + 4);
	ip->proto = p[9];
	if (likely(tot))
		end_at(c, off + tot);
	fo = rd16(p + 6);
	if (unlikely(fo & 0x3fff)) {
		ip->flags = RF_IP_FRAG | (fo & 0x2000 ? RF_IP_MF : 0);
		ip->frag_off = (fo & 0x1fff) * 8;
		if (ip->frag_off) {
			ip->flags |= RF_IP_TRUNC_L4;
			return stop(c, RF_DEC_OK);
		}
		c->in_frag = true;
	}
	if (unlikely(!have(c, off, hlen)))
		return cut_l4(c, ip, off, hlen);
	if (likely(p[9] == P_TCP))
		return tcp(c, ip, off + hlen);
	if (unlikely(p[9] == P_AH))
		return ip_ext(c, ip, off + hlen, P_AH);
	return l4(c, ip, off + hlen, p[9]);
}

static __attribute__((noinline)) int ipv4(struct ctx *c, uint32_t off)
{
	return ipv4_hdr(c, off);
}

/* Routing header at p (len bytes): point dst_off at the final destination. */
static void ipv6_routing(struct rf_ip *ip, const uint8_t *p, uint32_t off, uint32_t len)
{
	uint32_t n;

	if (p[3] == 0) /* no segments left: the destination already is the final one */
		return;
	switch (p[2]) {
	case 0: /* type 0: addresses in order, the last is the final destination */
		n = (len - 8) / 16;
		if (n)
			ip->dst_off = off + 8 + (n - 1) * 16;
		break;
	case 2: /* Mobile IPv6: the home address */
	case 4: /* SRv6: Segment List[0] is the final segment */
		if (len >= 8 + 16)
			ip->dst_off = off + 8;
		break;
	}
}

/* Destination options at p (len bytes): a Home Address option is the real source. */
static void ipv6_dstopts(struct rf_ip *ip, const uint8_t *p, uint32_t off, uint32_t len)
{
	uint32_t i = 2;

	while (i < len) {
		if (p[i] == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return;
		if (p[i] == 201 && p[i + 1] == 16) {
			ip->src_off = off + i + 2;
			return;
		}
		i += 2 + p[i + 1];
	}
}

/* Fragment header at p: false when this is a later fragment (nothing more to decode). */
static bool ipv6_frag(struct ctx *c, struct rf_ip *ip, const uint8_t *p)
{
	uint16_t fo = rd16(p + 2);

	ip->frag_id = rd32(p + 4);
	if (!(fo & 0xfff9)) /* offset 0 and M clear: an atomic fragment is whole */
		return true;
	ip->flags |= RF_IP_FRAG | (fo & 1 ? RF_IP_MF : 0);
	ip->frag_off = fo & 0xfff8;
	if (ip->frag_off) {
		ip->proto = p[0];
		ip->flags |= RF_IP_TRUNC_L4;
		return false;
	}
	c->in_frag = true;
	return true;
}

/* Record the extension header nh at off (len bytes); false when decoding stops there. */
static bool ext_header(struct ctx *c, struct rf_ip *ip, uint8_t nh, uint32_t off, uint32_t len)
{
	const uint8_t *p = c->pkt + off;

	switch (nh) {
	case P_FRAGMENT:
		push_layer(c, RF_LAYER_FRAG, off);
		return ipv6_frag(c, ip, p);
	case P_AH:
		push_layer(c, RF_LAYER_AH, off);
		return true;
	case P_ROUTING:
		ipv6_routing(ip, p, off, len);
		break;
	case P_DSTOPTS:
		ipv6_dstopts(ip, p, off, len);
		break;
	}
	push_layer(c, RF_LAYER_IPV6_EXT, off);
	return true;
}

static int ip_ext(struct ctx *c, struct rf_ip *ip, uint32_t off, uint8_t nh)
{
	const uint8_t *p;
	unsigned int n;
	uint32_t len;

	for (n = 0;; n++) {
		switch (nh) {
		case P_HOPOPTS:
		case P_ROUTING:
		case P_DSTOPTS:
		case P_FRAGMENT:
			if (ip->version != 6)
				return l4(c, ip, off, nh);
			break;
		case P_AH:
			break;
		default:
			return l4(c, ip, off, nh);
		}
		ip->proto = nh;
		if (unlikely(n == RF_MAX_IPV6_EXT))
			return stop(c, RF_DEC_TOO_DEEP);
		if (unlikely(!have(c, off, 8)))
			return cut_l4(c, ip, off, 8);
		p = c->pkt + off;
		if (nh == P_FRAGMENT)
			len = 8;
		else if (nh == P_AH)
			len = ((uint32_t)p[1] + 2) * 4;
		else
			len = ((uint32_t)p[1] + 1) * 8;
		if (unlikely(!have(c, off, len)))
			return cut_l4(c, ip, off, len);
		if (!ext_header(c, ip, nh, off, len))
			return stop(c, RF_DEC_OK);
		nh = p[0];
		off += len;
	}
}

static int ipv6(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;
	struct rf_ip *ip;
	uint32_t plen;

	if (unlikely(!have(c, off, IPV6_HLEN)))
		return cut(c, off, IPV6_HLEN);
	if (unlikely((p[0] >> 4) != 6))
		return stop(c, RF_DEC_MALFORMED);
	ip = push_ip(c, off, RF_LAYER_IPV6, 6);
	if (unlikely(!ip))
		return stop(c, RF_DEC_TOO_DEEP);
	ip->src_off = off + 8;
	ip->dst_off = off + 24;
	plen = rd16(p + 4);
	if (plen) /* 0: jumbo payload, bounded by the capture only */
		end_at(c, off + IPV6_HLEN + plen);
	return ip_ext(c, ip, off + IPV6_HLEN, p[6]);
}

/* ---- link and tags ---- */

/* MPLS label stack, then the payload guessed from its first nibble. */
static int mpls(struct ctx *c, uint32_t off)
{
	unsigned int n;
	bool bos = false;

	for (n = 0; !bos; n++) {
		if (unlikely(n == RF_MAX_MPLS_DEPTH))
			return stop(c, RF_DEC_TOO_DEEP);
		if (unlikely(!have(c, off, 4)))
			return cut(c, off, 4);
		bos = c->pkt[off + 2] & 0x01;
		push_layer(c, RF_LAYER_MPLS, off);
		off += 4;
	}
	if (unlikely(!have(c, off, 1)))
		return cut(c, off, 1);
	switch (c->pkt[off] >> 4) {
	case 4:
		return ipv4(c, off);
	case 6:
		return ipv6(c, off);
	case 0:
		/* Ethernet pseudowire control word (RFC 4385), then the frame. */
		if (unlikely(!have(c, off, 4)))
			return cut(c, off, 4);
		push_layer(c, RF_LAYER_PWETH, off);
		return ethernet(c, off + 4);
	default:
		return stop(c, RF_DEC_NON_IP);
	}
}

/* PPPoE session: version/type, code, session id, length; then the PPP protocol field. */
static int pppoe(struct ctx *c, uint32_t off)
{
	if (unlikely(!have(c, off, 6)))
		return cut(c, off, 6);
	push_layer(c, RF_LAYER_PPPOE, off);
	return ppp_proto(c, off + 6, off + 6);
}

/* ARP: keyed on its IPv4 addresses (rf_decoded_arp()) when it has them. */
static int arp(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;

	/* Hardware type, protocol type, address lengths, operation; then the addresses. */
	if (unlikely(!have(c, off, 8)))
		return cut(c, off, 8);
	if (rd16(p + 2) != ET_IPV4 || p[4] != 6 || p[5] != 4)
		return stop(c, RF_DEC_NON_IP);
	if (unlikely(!have(c, off, 28)))
		return cut(c, off, 28);
	push_layer(c, RF_LAYER_ARP, off);
	return stop(c, RF_DEC_NON_IP);
}

/*
 * Cisco FabricPath: its switch addresses and EtherType 0x8903 look like an
 * Ethernet header (or one with an 802.1ad tag); FTag/TTL follow, then the
 * original frame. That frame's tag, not FabricPath's, is the VLAN.
 */
static int fabricpath(struct ctx *c, uint32_t off)
{
	struct rf_decoded *d = c->d;

	if (unlikely(!have(c, off, 2)))
		return cut(c, off, 2);
	push_layer(c, RF_LAYER_FABRICPATH, off);
	if (d->n_ip == 0) {
		d->has_vlan = 0;
		d->vlan_id = 0;
	}
	return ethernet(c, off + 2);
}

/*
 * IEEE 802.2 LLC. SNAP with OUI 00-00-00 (or 00-00-F8, bridge tunnel)
 * carries an EtherType; anything else carries no IP.
 */
static int llc(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;

	if (unlikely(!have(c, off, 3)))
		return cut(c, off, 3);
	push_layer(c, RF_LAYER_LLC, off);
	if (p[0] != 0xaa || p[1] != 0xaa || p[2] != 0x03)
		return stop(c, RF_DEC_NON_IP);
	if (unlikely(!have(c, off, 8)))
		return cut(c, off, 8);
	if (p[3] || p[4] || (p[5] && p[5] != 0xf8))
		return stop(c, RF_DEC_NON_IP);
	return ethertype(c, off + 8, rd16(p + 6));
}

/* IEEE 802.11 Frame Control: first byte (subtype, type, version), then the flags. */
#define FC_TYPE_MASK 0x0f /* type and protocol version */
#define FC_DATA	     0x08 /* type 2 (data), version 0 */
#define FC_QOS	     0x80 /* QoS data subtypes */
#define FC_NODATA    0x40 /* null data subtypes */
#define FL_DS	     0x03 /* to DS, from DS */
#define FL_PROTECTED 0x40
#define FL_ORDER     0x80 /* with QoS: an HT control field */
#define QOS_AMSDU    0x80 /* in the first byte of QoS control */

/*
 * IEEE 802.11 frame inside CAPWAP: a data frame's 24-byte header, the
 * fourth address when both DS bits are set, QoS control and HT control;
 * then LLC. Frame Control is read in either byte order: Cisco controllers
 * send it swapped, which shows as a non-zero protocol version (CAPWAP data
 * frames have a DS bit set). Management and control frames carry no IP;
 * protected frames and A-MSDUs stay opaque.
 */
static int wlan(struct ctx *c, uint32_t off)
{
	const uint8_t *p = c->pkt + off;
	uint32_t hlen = 24;
	uint8_t fc, fl;

	if (unlikely(!have(c, off, 24)))
		return cut(c, off, 24);
	fc = p[0];
	fl = p[1];
	if (fc & 0x03) {
		fc = p[1];
		fl = p[0];
	}
	if (fc & 0x03)
		return stop(c, RF_DEC_MALFORMED);
	push_layer(c, RF_LAYER_WLAN, off);
	if ((fc & FC_TYPE_MASK) != FC_DATA || (fc & FC_NODATA))
		return stop(c, RF_DEC_NON_IP);
	if (fl & FL_PROTECTED)
		return stop(c, RF_DEC_OK);
	if ((fl & FL_DS) == FL_DS)
		hlen += 6;
	if (fc & FC_QOS)
		hlen += 2 + (fl & FL_ORDER ? 4 : 0);
	if (unlikely(!have(c, off, hlen)))
		return cut(c, off, hlen);
	if ((fc & FC_QOS) && (p[(fl & FL_DS) == FL_DS ? 30 : 24] & QOS_AMSDU))
		return stop(c, RF_DEC_OK);
	return llc(c, off + hlen);
}

/* The header at off is of EtherType type (after Ethernet, a tag, SLL, ...). */
static int ethertype(struct ctx *c, uint32_t off, uint16_t type)
{
	struct rf_decoded *d = c->d;
	unsigned int n_tags = 0;
	uint16_t tci;

	for (;; n_tags++) {
		if (likely(type == ET_IPV4))
			return ipv4(c, off);
		switch (type) {
		case ET_IPV6:
			return ipv6(c, off);
		case ET_VLAN:
		case ET_QINQ:
		case ET_QINQ_OLD:
		case ET_CMD:
			break;
		case ET_MPLS:
		case ET_MPLS_MC:
			return mpls(c, off);
		case ET_PPPOE_SESS:
			return pppoe(c, off);
		case ET_ARP:
			return arp(c, off);
		case ET_FABRICPATH:
			return fabricpath(c, off);
		default:
			return stop(c, RF_DEC_NON_IP);
		}
		if (unlikely(n_tags == RF_MAX_VLAN_DEPTH))
			return stop(c, RF_DEC_TOO_DEEP);
		if (type == ET_CMD) {
			/* Version, length, option, SGT, then the EtherType. */
			if (unlikely(!have(c, off, 8)))
				return cut(c, off, 8);
			push_layer(c, RF_LAYER_CMD, off);
			type = rd16(c->pkt + off + 6);
			off += 8;
			continue;
		}
		if (unlikely(!have(c, off, 4)))
			return cut(c, off, 4);
		tci = rd16(c->pkt + off);
		type = rd16(c->pkt + off + 2);
		push_layer(c, RF_LAYER_VLAN, off);
		if (!d->has_vlan && d->n_ip == 0) {
			d->has_vlan = 1;
			d->vlan_id = tci & 0x0fff;
		}
		off += 4;
	}
}

static int ethernet(struct ctx *c, uint32_t off)
{
	if (unlikely(c->n_eth == MAX_ETH))
		return stop(c, RF_DEC_TOO_DEEP);
	if (unlikely(!have(c, off, ETH_HLEN)))
		return cut(c, off, ETH_HLEN);
	c->n_eth++;
	push_layer(c, RF_LAYER_ETH, off);
	return ethertype(c, off + ETH_HLEN, rd16(c->pkt + off + 12));
}

static int raw_ip(struct ctx *c, int want)
{
	int v;

	if (unlikely(!have(c, 0, 1)))
		return cut(c, 0, 1);
	v = c->pkt[0] >> 4;
	if (v == 4 && want != 6)
		return ipv4(c, 0);
	if (v == 6 && want != 4)
		return ipv6(c, 0);
	return stop(c, RF_DEC_MALFORMED);
}

/* BSD loopback: a 4-byte address family, in the writer's byte order (NULL) or big endian (LOOP). */
static int null_loop(struct ctx *c)
{
	uint32_t af;

	if (unlikely(!have(c, 0, 4)))
		return cut(c, 0, 4);
	af = rd32(c->pkt);
	if (af > 0xffff)
		af = __builtin_bswap32(af);
	push_layer(c, RF_LAYER_NULL, 0);
	switch (af) {
	case 2: /* AF_INET everywhere */
		return ipv4(c, 4);
	case 10: /* AF_INET6: Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		return ipv6(c, 4);
	default:
		return stop(c, RF_DEC_NON_IP);
	}
}

static int link_layer(struct ctx *c, int linktype)
{
	switch (linktype) {
	case DLT_LINUX_SLL:
		if (unlikely(!have(c, 0, 16)))
			return cut(c, 0, 16);
		push_layer(c, RF_LAYER_SLL, 0);
		return ethertype(c, 16, rd16(c->pkt + 14));
	case DLT_LINUX_SLL2:
		if (unlikely(!have(c, 0, 20)))
			return cut(c, 0, 20);
		push_layer(c, RF_LAYER_SLL2, 0);
		return ethertype(c, 20, rd16(c->pkt));
	case DLT_RAW:
	case LINKTYPE_RAW:
		return raw_ip(c, 0);
	case DLT_IPV4:
		return raw_ip(c, 4);
	case DLT_IPV6:
		return raw_ip(c, 6);
	case DLT_PPP:
		return ppp(c, 0);
	case DLT_NULL:
	case DLT_LOOP:
		return null_loop(c);
	default:
		return stop(c, RF_DEC_BAD_LINKTYPE);
	}
}

int rf_decode(const uint8_t *pkt, uint32_t caplen, int linktype, unsigned int flags,
	      struct rf_decoded *d)
{
	struct ctx c = {
		.pkt = pkt,
		/* Offsets are 16 bits: headers past 64 KiB are not looked for. */
		.end = caplen < UINT16_MAX ? caplen : UINT16_MAX,
		.lim = UINT32_MAX,
		.flags = flags,
		.n_eth = 0,
		.in_frag = false,
		.d = d,
	};

	d->reason = RF_DEC_OK;
	d->n_layers = 0;
	d->n_ip = 0;
	d->has_vlan = 0;
	d->vlan_id = 0;
	d->linktype = linktype;
	if (likely(linktype == DLT_EN10MB)) {
		/* Untagged IPv4, the bulk of most traffic, without a call. */
		if (likely(caplen >= ETH_HLEN) && likely(rd16(pkt + 12) == ET_IPV4)) {
			c.n_eth = 1;
			push_layer(&c, RF_LAYER_ETH, 0);
			return ipv4_hdr(&c, ETH_HLEN);
		}
		return ethernet(&c, 0);
	}
	return link_layer(&c, linktype);
}

static const char *const layer_names[RF_LAYER__MAX] = {
	[RF_LAYER_NONE] = "none",     [RF_LAYER_ETH] = "eth",
	[RF_LAYER_SLL] = "sll",	      [RF_LAYER_SLL2] = "sll2",
	[RF_LAYER_PPP] = "ppp",	      [RF_LAYER_VLAN] = "vlan",
	[RF_LAYER_MPLS] = "mpls",     [RF_LAYER_PWETH] = "pwethcw",
	[RF_LAYER_PPPOE] = "pppoes",  [RF_LAYER_IPV4] = "ipv4",
	[RF_LAYER_IPV6] = "ipv6",     [RF_LAYER_IPV6_EXT] = "ipv6ext",
	[RF_LAYER_FRAG] = "frag",     [RF_LAYER_AH] = "ah",
	[RF_LAYER_ESP] = "esp",	      [RF_LAYER_TCP] = "tcp",
	[RF_LAYER_UDP] = "udp",	      [RF_LAYER_SCTP] = "sctp",
	[RF_LAYER_ICMP] = "icmp",     [RF_LAYER_ICMPV6] = "icmpv6",
	[RF_LAYER_GRE] = "gre",	      [RF_LAYER_ERSPAN] = "erspan",
	[RF_LAYER_VXLAN] = "vxlan",   [RF_LAYER_GENEVE] = "geneve",
	[RF_LAYER_GTPU] = "gtpu",     [RF_LAYER_TEREDO] = "teredo",
	[RF_LAYER_NULL] = "null",     [RF_LAYER_FABRICPATH] = "cfp",
	[RF_LAYER_CMD] = "cmd",	      [RF_LAYER_ARP] = "arp",
	[RF_LAYER_CAPWAP] = "capwap", [RF_LAYER_WLAN] = "wlan",
	[RF_LAYER_LLC] = "llc",
};

const char *rf_layer_name(unsigned int layer)
{
	if (layer >= RF_LAYER__MAX || !layer_names[layer])
		return "?";
	return layer_names[layer];
}

static const char *const reason_names[RF_DEC__MAX] = {
	[RF_DEC_OK] = "ok",
	[RF_DEC_TRUNCATED] = "truncated",
	[RF_DEC_MALFORMED] = "malformed",
	[RF_DEC_NON_IP] = "non_ip",
	[RF_DEC_TOO_DEEP] = "too_deep",
	[RF_DEC_BAD_LINKTYPE] = "bad_linktype",
};

const char *rf_decode_reason_name(unsigned int reason)
{
	if (reason >= RF_DEC__MAX)
		return "?";
	return reason_names[reason];
}
