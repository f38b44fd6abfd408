/* SPDX-License-Identifier: BSD-2-Clause */
#include "pktbuild.h"

#include <errno.h>
#include <string.h>

#define IPPROTO_ICMP_  1
#define IPPROTO_TCP_   6
#define IPPROTO_UDP_   17
#define IPPROTO_ICMP6_ 58

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

void rf_pb_init(struct rf_pb *b, uint8_t *buf, uint32_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->n_hdrs = 0;
	b->overflow = false;
}

/* Reserve len zeroed bytes for a header of a kind; NULL (and overflow) if it does not fit. */
static uint8_t *push(struct rf_pb *b, enum rf_pb_hdr type, uint32_t len)
{
	uint8_t *p;

	if (b->overflow || len > b->cap - b->len || b->n_hdrs >= RF_PB_MAX_HDRS) {
		b->overflow = true;
		return NULL;
	}
	p = b->buf + b->len;
	memset(p, 0, len);
	b->hdrs[b->n_hdrs].off = (uint16_t)b->len;
	b->hdrs[b->n_hdrs].type = type;
	b->n_hdrs++;
	b->len += len;
	return p;
}

void rf_pb_eth(struct rf_pb *b, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	uint8_t *p = push(b, RF_PB_ETH, RF_ETH_HLEN);

	if (!p)
		return;
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
}

void rf_pb_vlan(struct rf_pb *b, uint16_t tci, uint16_t type)
{
	uint8_t *p = push(b, RF_PB_VLAN, 4);

	if (!p)
		return;
	put16(p, tci);
	put16(p + 2, type);
}

void rf_pb_mpls(struct rf_pb *b, uint32_t label, uint8_t tc, bool bos, uint8_t ttl)
{
	uint8_t *p = push(b, RF_PB_MPLS, 4);

	if (!p)
		return;
	put32(p, (label & 0xfffff) << 12 | (uint32_t)(tc & 7) << 9 | (uint32_t)bos << 8 | ttl);
}

void rf_pb_fabricpath(struct rf_pb *b, const uint8_t dst[6], const uint8_t src[6], uint16_t ftag,
		      uint8_t ttl)
{
	uint8_t *p = push(b, RF_PB_FABRICPATH, RF_FP_HLEN);

	if (!p)
		return;
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, RF_ETH_P_FP);
	put16(p + 14, (uint16_t)(ftag << 6 | (ttl & 0x3f)));
}

void rf_pb_pppoe(struct rf_pb *b, uint16_t session, uint16_t proto, bool compressed)
{
	uint8_t *p = push(b, RF_PB_PPPOE, compressed ? 7 : 8);

	if (!p)
		return;
	p[0] = 0x11; /* version 1, type 1; code 0: session data */
	put16(p + 2, session);
	if (compressed)
		p[6] = (uint8_t)proto;
	else
		put16(p + 6, proto);
}

void rf_pb_arp(struct rf_pb *b, uint16_t op, const uint8_t sha[6], const uint8_t spa[4],
	       const uint8_t tha[6], const uint8_t tpa[4])
{
	uint8_t *p = push(b, RF_PB_ARP, RF_ARP_LEN);

	if (!p)
		return;
	put16(p, 1); /* Ethernet */
	put16(p + 2, RF_ETH_P_IPV4);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, sha, 6);
	memcpy(p + 14, spa, 4);
	memcpy(p + 18, tha, 6);
	memcpy(p + 24, tpa, 4);
}

void rf_pb_ipv4(struct rf_pb *b, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		uint16_t id, uint16_t frag, uint8_t ttl)
{
	uint8_t *p = push(b, RF_PB_IPV4, RF_IPV4_HLEN);

	if (!p)
		return;
	p[0] = 0x45;
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = ttl;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
}

void rf_pb_ipv6(struct rf_pb *b, const uint8_t src[16], const uint8_t dst[16], uint8_t next,
		uint32_t flow_label, uint8_t hop_limit)
{
	uint8_t *p = push(b, RF_PB_IPV6, RF_IPV6_HLEN);

	if (!p)
		return;
	put32(p, 6u << 28 | (flow_label & 0xfffff));
	p[6] = next;
	p[7] = hop_limit;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
}

void rf_pb_ipv6_frag(struct rf_pb *b, uint8_t next, uint16_t offset, bool more, uint32_t id)
{
	uint8_t *p = push(b, RF_PB_IPV6_FRAG, RF_IPV6_FHLEN);

	if (!p)
		return;
	p[0] = next;
	put16(p + 2, (offset & 0xfff8) | (more ? 1 : 0));
	put32(p + 4, id);
}

void rf_pb_udp(struct rf_pb *b, uint16_t sport, uint16_t dport)
{
	uint8_t *p = push(b, RF_PB_UDP, RF_UDP_HLEN);

	if (!p)
		return;
	put16(p, sport);
	put16(p + 2, dport);
}

void rf_pb_tcp(struct rf_pb *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
	       uint8_t flags, uint16_t window, const uint8_t *opts, uint32_t optlen)
{
	uint8_t *p;

	if (optlen > 40 || optlen % 4) {
		b->overflow = true; /* reported as -ENOSPC: the header cannot hold it */
		return;
	}
	p = push(b, RF_PB_TCP, RF_TCP_HLEN + optlen);
	if (!p)
		return;
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = (uint8_t)((RF_TCP_HLEN + optlen) / 4) << 4;
	p[13] = flags;
	put16(p + 14, window);
	if (optlen)
		memcpy(p + RF_TCP_HLEN, opts, optlen);
}

void rf_pb_icmp(struct rf_pb *b, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	uint8_t *p = push(b, RF_PB_ICMP, RF_ICMP_HLEN);

	if (!p)
		return;
	p[0] = type;
	p[1] = code;
	put16(p + 4, id);
	put16(p + 6, seq);
}

void rf_pb_gre(struct rf_pb *b, uint16_t proto, bool with_key, uint32_t key)
{
	uint8_t *p = push(b, RF_PB_GRE, with_key ? 8 : 4);

	if (!p)
		return;
	put16(p, with_key ? 0x2000 : 0);
	put16(p + 2, proto);
	if (with_key)
		put32(p + 4, key);
}

void rf_pb_vxlan(struct rf_pb *b, uint32_t vni)
{
	uint8_t *p = push(b, RF_PB_VXLAN, RF_VXLAN_HLEN);

	if (!p)
		return;
	p[0] = 0x08; /* I: the VNI is valid */
	put32(p + 4, (vni & 0xffffff) << 8);
}

void rf_pb_geneve(struct rf_pb *b, uint32_t vni, uint16_t proto)
{
	uint8_t *p = push(b, RF_PB_GENEVE, RF_GENEVE_HLEN);

	if (!p)
		return;
	/* Version 0, no options, no flags. */
	put16(p + 2, proto);
	put32(p + 4, (vni & 0xffffff) << 8);
}

void rf_pb_gtpu(struct rf_pb *b, uint32_t teid, bool ext, uint8_t qfi)
{
	uint8_t *p = push(b, RF_PB_GTPU, RF_GTPU_HLEN + (ext ? 8 : 0));

	if (!p)
		return;
	p[0] = ext ? 0x34 : 0x30; /* version 1, PT 1, E */
	p[1] = 0xff;		  /* G-PDU */
	put32(p + 4, teid);
	if (!ext)
		return;
	/* Sequence number 0, N-PDU 0, next extension: PDU session container. */
	p[11] = 0x85;
	p[12] = 1;	    /* length in 4-byte words */
	p[13] = 0x00;	    /* PDU type 0 (downlink) */
	p[14] = qfi & 0x3f; /* QFI */
	p[15] = 0;	    /* no further extension */
}

void rf_pb_capwap(struct rf_pb *b, uint8_t rid, bool native, const uint8_t *radio_mac)
{
	uint32_t hlen = radio_mac ? 16 : 8; /* with the MAC: length 6, MAC, 1 byte of padding */
	uint8_t *p = push(b, RF_PB_CAPWAP, hlen);

	if (!p)
		return;
	/* Preamble 0, HLEN, RID, WBID 1 (IEEE 802.11), T, M. */
	put32(p, (hlen / 4) << 19 | (uint32_t)(rid & 0x1f) << 14 | 1u << 9 | (native ? 0x100 : 0) |
			 (radio_mac ? 0x10 : 0));
	if (radio_mac) {
		p[8] = 6;
		memcpy(p + 9, radio_mac, 6);
	}
}

void rf_pb_wlan(struct rf_pb *b, uint8_t dir, const uint8_t bssid[6], const uint8_t sa[6],
		const uint8_t da[6], bool qos, bool cisco_fc)
{
	uint8_t *p = push(b, RF_PB_WLAN, qos ? 26 : 24);
	uint8_t fc = qos ? 0x88 : 0x08; /* data or QoS data, version 0 */
	bool to_ds = dir == RF_WLAN_TO_DS;

	if (!p)
		return;
	p[cisco_fc ? 1 : 0] = fc;
	p[cisco_fc ? 0 : 1] = dir;
	memcpy(p + 4, to_ds ? bssid : da, 6);
	memcpy(p + 10, to_ds ? sa : bssid, 6);
	memcpy(p + 16, to_ds ? da : sa, 6);
}

void rf_pb_llc_snap(struct rf_pb *b, uint16_t type)
{
	uint8_t *p = push(b, RF_PB_LLC, RF_LLC_HLEN);

	if (!p)
		return;
	p[0] = 0xaa;
	p[1] = 0xaa;
	p[2] = 0x03;
	put16(p + 6, type);
}

void rf_pb_bytes(struct rf_pb *b, const void *data, uint32_t len)
{
	uint8_t *p = push(b, RF_PB_PAYLOAD, len);

	if (p && len)
		memcpy(p, data, len);
}

void rf_pb_fill(struct rf_pb *b, uint32_t len, uint32_t seed)
{
	uint8_t *p = push(b, RF_PB_PAYLOAD, len);
	uint32_t i, x = seed * 2654435761u + 1;

	if (!p)
		return;
	/*
	 * Lower-case letters from a linear congruential stream: cheap and
	 * deterministic, and text does not look like the start of a binary
	 * protocol to dissectors that guess from the first bytes.
	 */
	for (i = 0; i < len; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (uint8_t)('a' + ((x >> 24) * 26 >> 8));
	}
}

uint32_t rf_pb_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	/* Fold now and then so that long buffers cannot overflow 32 bits. */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t rf_pb_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IP header a transport header at index i belongs to: the nearest before it. */
static int enclosing_ip(const struct rf_pb *b, uint32_t i)
{
	while (i-- > 0)
		if (b->hdrs[i].type == RF_PB_IPV4 || b->hdrs[i].type == RF_PB_IPV6)
			return (int)i;
	return -1;
}

/* Sum of the pseudo-header of the IP header at index ip for proto and length. */
static uint32_t pseudo_sum(const struct rf_pb *b, int ip, uint8_t proto, uint32_t len)
{
	const uint8_t *p;
	uint8_t tail[8] = {0};

	if (ip < 0)
		return 0;
	p = b->buf + b->hdrs[ip].off;
	if (b->hdrs[ip].type == RF_PB_IPV4) {
		put16(tail, proto);
		put16(tail + 2, (uint16_t)len);
		return rf_pb_csum_add(rf_pb_csum_add(0, p + 12, 8), tail, 4);
	}
	put32(tail, len);
	tail[7] = proto;
	return rf_pb_csum_add(rf_pb_csum_add(0, p + 8, 32), tail, 8);
}

/* Checksum of a transport header at index i, ending at end, stored at byte csum_at. */
static void l4_csum(struct rf_pb *b, uint32_t i, uint8_t proto, uint32_t end, uint32_t csum_at,
		    bool pseudo)
{
	uint32_t off = b->hdrs[i].off, len = end - off, sum = 0;
	uint16_t c;

	if (pseudo)
		sum = pseudo_sum(b, enclosing_ip(b, i), proto, len);
	put16(b->buf + off + csum_at, 0);
	c = rf_pb_csum_fold(rf_pb_csum_add(sum, b->buf + off, len));
	if (c == 0 && proto == IPPROTO_UDP_)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	put16(b->buf + off + csum_at, c);
}

static int finish_one(struct rf_pb *b, uint32_t i, uint32_t end)
{
	uint8_t *p = b->buf + b->hdrs[i].off;
	uint32_t len = end - b->hdrs[i].off;
	int ip;

	switch (b->hdrs[i].type) {
	case RF_PB_IPV4:
		if (len > 0xffff)
			return -EINVAL;
		put16(p + 2, (uint16_t)len);
		put16(p + 10, 0);
		put16(p + 10, rf_pb_csum_fold(rf_pb_csum_add(0, p, RF_IPV4_HLEN)));
		break;
	case RF_PB_IPV6:
		if (len - RF_IPV6_HLEN > 0xffff)
			return -EINVAL;
		put16(p + 4, (uint16_t)(len - RF_IPV6_HLEN));
		break;
	case RF_PB_UDP:
		if (len > 0xffff)
			return -EINVAL;
		put16(p + 4, (uint16_t)len);
		l4_csum(b, i, IPPROTO_UDP_, end, 6, true);
		break;
	case RF_PB_TCP:
		l4_csum(b, i, IPPROTO_TCP_, end, 16, true);
		break;
	case RF_PB_ICMP:
		ip = enclosing_ip(b, i);
		if (ip >= 0 && b->hdrs[ip].type == RF_PB_IPV6)
			l4_csum(b, i, IPPROTO_ICMP6_, end, 2, true);
		else
			l4_csum(b, i, IPPROTO_ICMP_, end, 2, false);
		break;
	case RF_PB_GTPU:
		put16(p + 2, (uint16_t)(len - RF_GTPU_HLEN));
		break;
	case RF_PB_PPPOE:
		put16(p + 4, (uint16_t)(len - 6)); /* what follows the session header */
		break;
	default:
		break;
	}
	return 0;
}

int rf_pb_finish(struct rf_pb *b, uint32_t min_len)
{
	uint32_t i, end = b->len;
	int r;

	if (b->overflow)
		return -ENOSPC;
	for (i = b->n_hdrs; i-- > 0;) {
		r = finish_one(b, i, end);
		if (r < 0)
			return r;
	}
	if (min_len > b->cap)
		return -ENOSPC;
	if (b->len < min_len) {
		memset(b->buf + b->len, 0, min_len - b->len);
		b->len = min_len;
	}
	return (int)b->len;
}

int rf_pb_fcs(struct rf_pb *b)
{
	uint32_t crc = 0xffffffff, i;
	int k;

	if (b->overflow || b->cap - b->len < 4)
		return -ENOSPC;
	/* Bitwise CRC-32 (IEEE 802.3, reflected): generated frames are few and short. */
	for (i = 0; i < b->len; i++) {
		crc ^= b->buf[i];
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320 & -(crc & 1));
	}
	crc = ~crc;
	for (k = 0; k < 4; k++)
		b->buf[b->len++] = (uint8_t)(crc >> (8 * k));
	return (int)b->len;
}

int rf_pb_find_last(const struct rf_pb *b, enum rf_pb_hdr type)
{
	uint32_t i;

	for (i = b->n_hdrs; i-- > 0;)
		if (b->hdrs[i].type == type)
			return b->hdrs[i].off;
	return -1;
}

int rf_pb_find_first(const struct rf_pb *b, enum rf_pb_hdr type)
{
	uint32_t i;

	for (i = 0; i < b->n_hdrs; i++)
		if (b->hdrs[i].type == type)
			return b->hdrs[i].off;
	return -1;
}
