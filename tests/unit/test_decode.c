/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoder tests. Packets are built here, header by header, with a small
 * builder; length fields (IPv4 total length, IPv6 payload length, UDP length,
 * GTP length) are filled in by pkt_finish() from where the packet ends.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "decode.h"

/* ---- packet builder ---- */

enum fix_kind { FIX_IPV4, FIX_IPV6, FIX_UDP, FIX_GTP };

struct pkt {
	uint8_t b[4096];
	uint32_t n;
	unsigned int n_fix;
	struct {
		enum fix_kind kind;
		uint32_t off;
	} fix[32];
};

static void put8(struct pkt *p, uint8_t v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = v;
}

static void put16(struct pkt *p, uint16_t v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void putn(struct pkt *p, const void *src, uint32_t len)
{
	assert_true(p->n + len <= sizeof(p->b));
	memcpy(p->b + p->n, src, len);
	p->n += len;
}

static void zeros(struct pkt *p, uint32_t len)
{
	while (len--)
		put8(p, 0);
}

static void set16(struct pkt *p, uint32_t off, uint16_t v)
{
	p->b[off] = v >> 8;
	p->b[off + 1] = v & 0xff;
}

static void add_fix(struct pkt *p, enum fix_kind kind, uint32_t off)
{
	assert_true(p->n_fix < 32);
	p->fix[p->n_fix].kind = kind;
	p->fix[p->n_fix].off = off;
	p->n_fix++;
}

/* Fill in every length field registered so far: each header's payload runs to the end. */
static void pkt_finish(struct pkt *p)
{
	for (unsigned int i = 0; i < p->n_fix; i++) {
		uint32_t off = p->fix[i].off;

		switch (p->fix[i].kind) {
		case FIX_IPV4:
			set16(p, off + 2, p->n - off);
			break;
		case FIX_IPV6:
			set16(p, off + 4, p->n - off - 40);
			break;
		case FIX_UDP:
			set16(p, off + 4, p->n - off);
			break;
		case FIX_GTP:
			set16(p, off + 2, p->n - off - 8);
			break;
		}
	}
	p->n_fix = 0;
}

static uint32_t eth(struct pkt *p, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	uint32_t off = p->n;

	putn(p, macs, sizeof(macs));
	put16(p, type);
	return off;
}

/* A tag's TCI and the EtherType after it (the tag's own TPID is the previous type). */
static uint32_t vlan(struct pkt *p, uint16_t vid, uint16_t type)
{
	uint32_t off = p->n;

	put16(p, 0x2000 | vid); /* PCP 1 */
	put16(p, type);
	return off;
}

static uint32_t ipv4_opts(struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst,
			  uint32_t opt_words)
{
	uint32_t off = p->n;

	put8(p, 0x45 + opt_words);
	put8(p, 0);
	put16(p, 0); /* total length: pkt_finish() */
	put16(p, 0x1234);
	put16(p, 0x4000); /* DF */
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	put32(p, src);
	put32(p, dst);
	for (uint32_t i = 0; i < opt_words; i++)
		put32(p, 0x01010101); /* NOPs */
	add_fix(p, FIX_IPV4, off);
	return off;
}

static uint32_t ipv4(struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst)
{
	return ipv4_opts(p, proto, src, dst, 0);
}

/* 2001:db8::<id> */
static void put_ip6(struct pkt *p, uint16_t id)
{
	put32(p, 0x20010db8);
	zeros(p, 10);
	put16(p, id);
}

static uint32_t ipv6(struct pkt *p, uint8_t nh, uint16_t src, uint16_t dst)
{
	uint32_t off = p->n;

	put32(p, 0x60000000);
	put16(p, 0); /* payload length: pkt_finish() */
	put8(p, nh);
	put8(p, 64);
	put_ip6(p, src);
	put_ip6(p, dst);
	add_fix(p, FIX_IPV6, off);
	return off;
}

static uint32_t tcp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint32_t off = p->n;

	put16(p, sport);
	put16(p, dport);
	put32(p, 1);
	put32(p, 0);
	put8(p, 0x50);
	put8(p, 0x02);
	put16(p, 65535);
	put32(p, 0);
	return off;
}

static uint32_t udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint32_t off = p->n;

	put16(p, sport);
	put16(p, dport);
	put16(p, 0); /* length: pkt_finish() */
	put16(p, 0);
	add_fix(p, FIX_UDP, off);
	return off;
}

static uint32_t sctp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint32_t off = p->n;

	put16(p, sport);
	put16(p, dport);
	put32(p, 0x11223344); /* verification tag */
	put32(p, 0);	      /* checksum */
	return off;
}

/* IPv6 extension header (hop-by-hop, destination options, routing) of 8 * (len + 1) bytes. */
static uint32_t ext6(struct pkt *p, uint8_t nh, uint8_t len)
{
	uint32_t off = p->n;

	put8(p, nh);
	put8(p, len);
	put8(p, 1); /* PadN over the rest */
	put8(p, len * 8 + 4);
	zeros(p, len * 8 + 4);
	return off;
}

static uint32_t frag6(struct pkt *p, uint8_t nh, uint16_t off_bytes, int more, uint32_t id)
{
	uint32_t off = p->n;

	put8(p, nh);
	put8(p, 0);
	put16(p, off_bytes | (more ? 1 : 0));
	put32(p, id);
	return off;
}

/* GRE version 0 with optional checksum, key, sequence words. */
static uint32_t gre(struct pkt *p, uint16_t flags, uint16_t proto)
{
	uint32_t off = p->n;

	put16(p, flags);
	put16(p, proto);
	if (flags & 0x8000)
		put32(p, 0xcccc0000);
	if (flags & 0x2000)
		put32(p, 0x4b4b4b4b);
	if (flags & 0x1000)
		put32(p, 7);
	return off;
}

static uint32_t vxlan(struct pkt *p, uint32_t vni)
{
	uint32_t off = p->n;

	put32(p, 0x08000000);
	put32(p, vni << 8);
	return off;
}

/* ---- checks ---- */

#define A4 0x0a000001u
#define B4 0x0a000002u
#define C4 0xc0a80001u
#define D4 0xc0a80002u

static struct rf_decoded dec(const struct pkt *p, int linktype, unsigned int flags)
{
	/* A heap copy of exactly the packet: ASan sees any read past its end. */
	uint8_t *buf = malloc(p->n ? p->n : 1);
	struct rf_decoded d;
	int ret;

	assert_non_null(buf);
	memcpy(buf, p->b, p->n);
	/* Garbage in the arrays: the decoder must not rely on a cleared struct. */
	memset(&d, 0xa5, sizeof(d));
	ret = rf_decode(buf, p->n, linktype, flags, &d);
	free(buf);
	assert_int_equal(ret, d.reason);
	assert_int_equal(d.linktype, linktype);
	return d;
}

/* "eth:vlan:ipv4:tcp" */
static const char *layers(const struct rf_decoded *d)
{
	static char buf[512];
	size_t len = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < d->n_layers; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ":" : "",
				rf_layer_name(d->layers[i]));
	return buf;
}

static uint32_t addr4(const struct pkt *p, uint16_t off)
{
	uint32_t v;

	memcpy(&v, p->b + off, 4);
	return ntohl(v);
}

/* Last 16 bits of an IPv6 address (the builder's 2001:db8::<id>). */
static uint16_t addr6(const struct pkt *p, uint16_t off)
{
	return (uint16_t)(p->b[off + 14] << 8 | p->b[off + 15]);
}

static void check_ports(const struct rf_ip *ip, uint16_t sport, uint16_t dport)
{
	assert_true(ip->flags & RF_IP_PORTS);
	assert_int_equal(ip->sport, sport);
	assert_int_equal(ip->dport, dport);
}

/* ---- common case ---- */

static void test_eth_ipv4_tcp(void **state)
{
	struct pkt p = {0};
	uint32_t ip_off, tcp_off;
	struct rf_decoded d;

	eth(&p, 0x0800);
	ip_off = ipv4(&p, 6, A4, B4);
	tcp_off = tcp(&p, 1234, 80);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:tcp");
	assert_int_equal(d.layer_off[0], 0);
	assert_int_equal(d.layer_off[1], 14);
	assert_int_equal(d.layer_off[2], 34);
	assert_int_equal(d.n_ip, 1);
	assert_false(d.has_vlan);
	assert_int_equal(d.ip[0].version, 4);
	assert_int_equal(d.ip[0].proto, 6);
	assert_int_equal(d.ip[0].layer, 1);
	assert_int_equal(d.ip[0].src_off, ip_off + 12);
	assert_int_equal(d.ip[0].dst_off, ip_off + 16);
	assert_int_equal(addr4(&p, d.ip[0].src_off), A4);
	assert_int_equal(addr4(&p, d.ip[0].dst_off), B4);
	assert_int_equal(d.ip[0].l4_off, tcp_off);
	assert_int_equal(d.ip[0].flags, RF_IP_PORTS);
	assert_int_equal(d.ip[0].frag_id, 0x1234);
	check_ports(&d.ip[0], 1234, 80);
}

static void test_eth_vlan_ipv6_udp(void **state)
{
	struct pkt p = {0};
	uint32_t ip_off, udp_off;
	struct rf_decoded d;

	eth(&p, 0x8100);
	vlan(&p, 42, 0x86dd);
	ip_off = ipv6(&p, 17, 1, 2);
	udp_off = udp(&p, 5353, 53);
	zeros(&p, 10);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:vlan:ipv6:udp");
	assert_true(d.has_vlan);
	assert_int_equal(d.vlan_id, 42);
	assert_int_equal(d.n_ip, 1);
	assert_int_equal(d.ip[0].version, 6);
	assert_int_equal(d.ip[0].proto, 17);
	assert_int_equal(d.ip[0].layer, 2);
	assert_int_equal(d.ip[0].src_off, ip_off + 8);
	assert_int_equal(d.ip[0].dst_off, ip_off + 24);
	assert_int_equal(addr6(&p, d.ip[0].src_off), 1);
	assert_int_equal(addr6(&p, d.ip[0].dst_off), 2);
	assert_int_equal(d.ip[0].l4_off, udp_off);
	check_ports(&d.ip[0], 5353, 53);
}

static void test_qinq_outermost_vlan(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x88a8);
	vlan(&p, 100, 0x8100);
	vlan(&p, 200, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:vlan:vlan:ipv4:tcp");
	assert_int_equal(d.vlan_id, 100);
	assert_int_equal(d.layer_off[2], 18);
	assert_int_equal(d.layer_off[3], 22);
}

static void test_non_ip(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0806); /* ARP */
	zeros(&p, 28);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "eth");
	assert_int_equal(d.n_ip, 0);

	p.n = 0;
	eth(&p, 38); /* 802.3 length: LLC follows */
	put8(&p, 0x42);
	put8(&p, 0x42);
	put8(&p, 0x03);
	zeros(&p, 35);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_int_equal(d.n_ip, 0);
}

static void test_truncated_basic(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1234, 80);
	pkt_finish(&p);
	p.n = 14 + 20 + 4; /* ports, not the whole TCP header */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:ipv4:tcp");
	check_ports(&d.ip[0], 1234, 80);
	assert_true(d.ip[0].flags & RF_IP_TRUNC_L4);

	p.n = 14 + 20 + 3;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:ipv4");
	assert_false(d.ip[0].flags & RF_IP_PORTS);
	assert_int_equal(d.ip[0].l4_off, 0);

	p.n = 0;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_int_equal(d.n_layers, 0);
	assert_int_equal(d.n_ip, 0);
	assert_false(d.has_vlan);
}

/* ---- link types ---- */

static void test_sll(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	put16(&p, 0); /* packet type: to us */
	put16(&p, 1); /* ARPHRD_ETHER */
	put16(&p, 6);
	zeros(&p, 8);
	put16(&p, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_LINUX_SLL, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "sll:ipv4:tcp");
	assert_int_equal(d.layer_off[1], 16);
	assert_int_equal(addr4(&p, d.ip[0].src_off), A4);
	check_ports(&d.ip[0], 1, 2);

	p.n = 15;
	d = dec(&p, DLT_LINUX_SLL, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_int_equal(d.n_layers, 0);
}

static void test_sll2(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	put16(&p, 0x86dd); /* protocol first */
	put16(&p, 0);
	put32(&p, 3); /* ifindex */
	put16(&p, 1);
	put8(&p, 0);
	put8(&p, 6);
	zeros(&p, 8);
	ipv6(&p, 17, 1, 2);
	udp(&p, 3, 4);
	pkt_finish(&p);
	d = dec(&p, DLT_LINUX_SLL2, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "sll2:ipv6:udp");
	assert_int_equal(d.layer_off[1], 20);
	assert_int_equal(addr6(&p, d.ip[0].dst_off), 2);
	check_ports(&d.ip[0], 3, 4);
}

static void test_raw(void **state)
{
	struct pkt p4 = {0}, p6 = {0};
	struct rf_decoded d;

	ipv4(&p4, 17, A4, B4);
	udp(&p4, 1, 2);
	pkt_finish(&p4);
	ipv6(&p6, 6, 1, 2);
	tcp(&p6, 3, 4);
	pkt_finish(&p6);

	d = dec(&p4, DLT_RAW, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "ipv4:udp");
	assert_int_equal(d.ip[0].src_off, 12);
	d = dec(&p6, 101 /* LINKTYPE_RAW */, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "ipv6:tcp");
	assert_int_equal(d.ip[0].src_off, 8);
	d = dec(&p4, DLT_IPV4, 0);
	assert_string_equal(layers(&d), "ipv4:udp");
	d = dec(&p6, DLT_IPV6, 0);
	assert_string_equal(layers(&d), "ipv6:tcp");
	/* The link type says which version may come. */
	d = dec(&p6, DLT_IPV4, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_int_equal(d.n_ip, 0);
	d = dec(&p4, DLT_IPV6, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	p4.b[0] = 0x55;
	d = dec(&p4, DLT_RAW, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_int_equal(d.n_layers, 0);
}

static void test_ppp(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	put16(&p, 0xff03);
	put16(&p, 0x0021);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_PPP, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "ppp:ipv4:tcp");
	assert_int_equal(d.layer_off[1], 4);

	/* Address and control omitted. */
	memset(&p, 0, sizeof(p));
	put16(&p, 0x0057);
	ipv6(&p, 17, 1, 2);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_PPP, 0);
	assert_string_equal(layers(&d), "ppp:ipv6:udp");
	assert_int_equal(d.layer_off[1], 2);

	memset(&p, 0, sizeof(p));
	put16(&p, 0xff03);
	put16(&p, 0x0281);
	put32(&p, 0x00010140); /* label 16, bottom of stack */
	ipv4(&p, 17, A4, B4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_PPP, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "ppp:mpls:ipv4:udp");

	memset(&p, 0, sizeof(p));
	put16(&p, 0xff03);
	put16(&p, 0xc021); /* LCP */
	zeros(&p, 8);
	d = dec(&p, DLT_PPP, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "ppp");
}

static void test_null_loop(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	put32(&p, 0x02000000); /* AF_INET, little-endian writer */
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_NULL, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "null:ipv4:tcp");
	assert_int_equal(d.layer_off[1], 4);

	memset(&p, 0, sizeof(p));
	put32(&p, 30); /* AF_INET6 (macOS), big-endian */
	ipv6(&p, 6, 1, 2);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_LOOP, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "null:ipv6:tcp");

	p.b[3] = 7;
	d = dec(&p, DLT_NULL, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
}

static void test_bad_linktype(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_USER0, 0);
	assert_int_equal(d.reason, RF_DEC_BAD_LINKTYPE);
	assert_int_equal(d.n_layers, 0);
	assert_int_equal(d.n_ip, 0);
	assert_int_equal(d.linktype, DLT_USER0);
}

/* ---- tags and labels ---- */

static void test_vlan_depth(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	unsigned int i;

	eth(&p, 0x9100);
	for (i = 0; i < RF_MAX_VLAN_DEPTH; i++)
		vlan(&p, 10 + i, i + 1 < RF_MAX_VLAN_DEPTH ? 0x8100 : 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.n_layers, 1 + RF_MAX_VLAN_DEPTH + 2);
	assert_int_equal(d.vlan_id, 10);
	check_ports(&d.ip[0], 1, 2);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x88a8);
	for (i = 0; i < RF_MAX_VLAN_DEPTH + 1; i++)
		vlan(&p, 10 + i, i < RF_MAX_VLAN_DEPTH ? 0x8100 : 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TOO_DEEP);
	assert_int_equal(d.n_layers, 1 + RF_MAX_VLAN_DEPTH);
	assert_int_equal(d.n_ip, 0);
	assert_true(d.has_vlan);
	assert_int_equal(d.vlan_id, 10);
}

static void test_mpls(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t ip_off;

	eth(&p, 0x8847);
	put32(&p, 0x00064040); /* label 100 */
	put32(&p, 0x000c8140); /* label 200, bottom of stack */
	ip_off = ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:mpls:mpls:ipv4:tcp");
	assert_int_equal(d.layer_off[1], 14);
	assert_int_equal(d.layer_off[2], 18);
	assert_int_equal(d.ip[0].src_off, ip_off + 12);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x8848);
	put32(&p, 0x00064140);
	ipv6(&p, 17, 1, 2);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:mpls:ipv6:udp");

	/* Ethernet pseudowire: control word, then a tagged frame. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x8847);
	put32(&p, 0x00064040);
	put32(&p, 0x000c8140);
	put32(&p, 0x00000001); /* control word, sequence 1 */
	eth(&p, 0x8100);
	vlan(&p, 33, 0x0800);
	ipv4(&p, 1, C4, D4);
	put32(&p, 0x08000000);
	put32(&p, 0x00010001);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:mpls:mpls:pwethcw:eth:vlan:ipv4:icmp");
	assert_int_equal(d.layer_off[3], 22);
	assert_int_equal(d.layer_off[4], 26);
	assert_int_equal(d.vlan_id, 33);
	assert_int_equal(addr4(&p, d.ip[0].src_off), C4);
	assert_false(d.ip[0].flags & RF_IP_PORTS);

	/* Unknown payload after the stack. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x8847);
	put32(&p, 0x00064140);
	put32(&p, 0x10000000);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "eth:mpls");
}

static void test_mpls_no_bottom(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x8847);
	for (unsigned int i = 0; i < RF_MAX_MPLS_DEPTH + 4; i++)
		put32(&p, 0x00064040 + (i << 12)); /* never bottom of stack */
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TOO_DEEP);
	assert_int_equal(d.n_layers, 1 + RF_MAX_MPLS_DEPTH);
	assert_int_equal(d.n_ip, 0);

	/* Cut before the stack ends. */
	p.n = 14 + 4 * 3 + 2;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:mpls:mpls:mpls");
}

static void test_pppoe(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x8100);
	vlan(&p, 3704, 0x8100);
	vlan(&p, 2474, 0x8864);
	put16(&p, 0x1100);
	put16(&p, 0x1234); /* session */
	put16(&p, 0);	   /* length */
	put16(&p, 0x0021);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 20394, 443);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:vlan:vlan:pppoes:ppp:ipv4:tcp");
	assert_int_equal(d.layer_off[3], 22);
	assert_int_equal(d.layer_off[4], 28);
	assert_int_equal(d.layer_off[5], 30);
	assert_int_equal(d.vlan_id, 3704);
	check_ports(&d.ip[0], 20394, 443);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x8864);
	put32(&p, 0x11000001);
	put16(&p, 0);
	put16(&p, 0x0057);
	ipv6(&p, 17, 1, 2);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:pppoes:ppp:ipv6:udp");

	p.b[20] = 0xc0; /* LCP */
	p.b[21] = 0x21;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_int_equal(d.n_ip, 0);
}

/* ---- IPv4 ---- */

static void test_ipv4_options(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t tcp_off;

	eth(&p, 0x0800);
	ipv4_opts(&p, 6, A4, B4, 2);
	tcp_off = tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.ip[0].l4_off, tcp_off);
	assert_int_equal(d.layer_off[2], 14 + 28);
	check_ports(&d.ip[0], 1, 2);
}

static void test_ipv4_bad_lengths(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);

	p.b[14] = 0x44; /* IHL 4 */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_string_equal(layers(&d), "eth");
	assert_int_equal(d.n_ip, 0);

	p.b[14] = 0x46; /* IHL 6, total length 19 */
	set16(&p, 16, 19);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_int_equal(d.n_ip, 0);

	p.b[14] = 0x65; /* version 6 behind EtherType IPv4 */
	set16(&p, 16, 40);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);

	/* IHL 15 in a packet much shorter than 60 bytes. */
	p.b[14] = 0x4f;
	set16(&p, 16, 40);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED); /* total length 40 < 60 */
	set16(&p, 16, 1500);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:ipv4");
	assert_int_equal(addr4(&p, d.ip[0].dst_off), B4);
	assert_int_equal(d.ip[0].l4_off, 0);
	assert_false(d.ip[0].flags & RF_IP_PORTS);

	/* Total length beyond the capture: decode what was captured. */
	p.b[14] = 0x45;
	set16(&p, 16, 1500);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:tcp");
	check_ports(&d.ip[0], 1, 2);

	/* Total length 0 (left so by segmentation offload): the capture decides. */
	set16(&p, 16, 0);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:tcp");

	/* Total length ends inside the TCP header although more bytes follow. */
	set16(&p, 16, 30);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_true(d.ip[0].flags & RF_IP_TRUNC_L4);
}

/* Padding after a short IPv4 packet is never taken for a header. */
static void test_ethernet_trailer(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 50000, 3544); /* Teredo port, empty payload */
	pkt_finish(&p);
	/* A trailer that looks like an IPv6 header. */
	ipv6(&p, 59, 1, 2);
	p.n_fix = 0;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
	assert_int_equal(d.n_ip, 1);

	/* Same with the UDP length fixed: now the IPv6 header is inside. */
	set16(&p, 16, p.n - 14);
	set16(&p, 38, p.n - 34);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp:teredo:ipv6");
	assert_int_equal(d.n_ip, 2);
}

static void test_ipv4_fragments(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 5000, 53);
	zeros(&p, 64);
	pkt_finish(&p);

	set16(&p, 20, 0x2000); /* first: MF, offset 0 */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_MF | RF_IP_PORTS);
	assert_int_equal(d.ip[0].frag_off, 0);
	assert_int_equal(d.ip[0].frag_id, 0x1234);
	check_ports(&d.ip[0], 5000, 53);

	set16(&p, 20, 0x2000 | 185); /* middle: MF, offset 1480 */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4");
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_MF | RF_IP_TRUNC_L4);
	assert_int_equal(d.ip[0].frag_off, 1480);
	assert_int_equal(d.ip[0].frag_id, 0x1234);
	assert_int_equal(d.ip[0].proto, 17);
	assert_int_equal(d.ip[0].l4_off, 0);

	set16(&p, 20, 370); /* last */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_TRUNC_L4);
	assert_int_equal(d.ip[0].frag_off, 2960);

	set16(&p, 20, 0x4000); /* DF only: not a fragment */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.ip[0].flags, RF_IP_PORTS);

	/* A tiny first fragment ends inside the TCP header; Ethernet padding follows. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1234, 80);
	pkt_finish(&p);
	set16(&p, 16, 20 + 8);
	set16(&p, 20, 0x2000);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_MF | RF_IP_PORTS | RF_IP_TRUNC_L4);
	check_ports(&d.ip[0], 1234, 80);
	/* Only the ports in the first fragment, nothing after them. */
	set16(&p, 16, 20 + 4);
	p.n = 14 + 20 + 4;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_MF | RF_IP_PORTS | RF_IP_TRUNC_L4);
	check_ports(&d.ip[0], 1234, 80);
	set16(&p, 16, 20 + 8);
	p.n = 60;
	/* Not a fragment: the same is malformed. */
	set16(&p, 20, 0);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	/* Total length beyond a capture cut inside the header. */
	set16(&p, 16, 40);
	p.n = 14 + 20 + 8;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
}

/* ---- IPv6 ---- */

static void test_ipv6_ext_chain(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t ip_off, rh, tcp_off;

	eth(&p, 0x86dd);
	ip_off = ipv6(&p, 0, 1, 2);
	ext6(&p, 60, 0); /* hop-by-hop */
	ext6(&p, 43, 1); /* destination options */
	rh = p.n;	 /* routing type 0, 2 addresses, 1 segment left */
	put8(&p, 44);
	put8(&p, 4);
	put8(&p, 0);
	put8(&p, 1);
	put32(&p, 0);
	put_ip6(&p, 3);
	put_ip6(&p, 4);
	frag6(&p, 51, 0, 0, 0xdeadbeef); /* atomic fragment */
	put8(&p, 6);			 /* AH: next header, length 4 => 24 bytes */
	put8(&p, 4);
	put16(&p, 0);
	put32(&p, 0x1000); /* SPI */
	put32(&p, 1);
	zeros(&p, 12);
	tcp_off = tcp(&p, 443, 50000);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:ipv6ext:ipv6ext:ipv6ext:frag:ah:tcp");
	assert_int_equal(d.layer_off[2], ip_off + 40);
	assert_int_equal(d.layer_off[3], ip_off + 48);
	assert_int_equal(d.layer_off[4], rh);
	assert_int_equal(d.layer_off[7], tcp_off);
	assert_int_equal(d.ip[0].proto, 6);
	assert_int_equal(d.ip[0].l4_off, tcp_off);
	/* Routing header with segments left: the last address is the destination. */
	assert_int_equal(d.ip[0].dst_off, rh + 8 + 16);
	assert_int_equal(addr6(&p, d.ip[0].dst_off), 4);
	assert_int_equal(addr6(&p, d.ip[0].src_off), 1);
	/* Atomic fragment: not a fragment. */
	assert_int_equal(d.ip[0].flags, RF_IP_PORTS);
	check_ports(&d.ip[0], 443, 50000);

	/* No segments left: the header's destination stands. */
	p.b[rh + 3] = 0;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.ip[0].dst_off, ip_off + 24);
}

static void test_ipv6_srv6(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t rh;

	eth(&p, 0x86dd);
	ipv6(&p, 43, 1, 7); /* destination: the active segment */
	rh = p.n;
	put8(&p, 58);
	put8(&p, 4); /* 2 segments */
	put8(&p, 4); /* SRH */
	put8(&p, 1); /* segments left */
	put8(&p, 1); /* last entry */
	put8(&p, 0);
	put16(&p, 0);
	put_ip6(&p, 9); /* Segment List[0]: the final destination */
	put_ip6(&p, 7);
	put32(&p, 0x80000000); /* ICMPv6 echo request */
	put32(&p, 0x00010001);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:ipv6ext:icmpv6");
	assert_int_equal(d.ip[0].dst_off, rh + 8);
	assert_int_equal(addr6(&p, d.ip[0].dst_off), 9);
	assert_int_equal(d.ip[0].proto, 58);
	assert_false(d.ip[0].flags & RF_IP_PORTS);

	/* Mobile IPv6 type 2: the home address. */
	p.b[rh + 1] = 2;
	p.b[rh + 2] = 2;
	p.b[rh + 0] = 59;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(addr6(&p, d.ip[0].dst_off), 9);
	assert_int_equal(d.ip[0].proto, 59);
}

static void test_ipv6_home_address(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t dst;

	eth(&p, 0x86dd);
	ipv6(&p, 60, 1, 2);
	dst = p.n;
	put8(&p, 17);
	put8(&p, 2);
	put8(&p, 1); /* PadN 2 */
	put8(&p, 2);
	put16(&p, 0);
	put8(&p, 201); /* Home Address */
	put8(&p, 16);
	put_ip6(&p, 5);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:ipv6ext:udp");
	assert_int_equal(d.ip[0].src_off, dst + 8);
	assert_int_equal(addr6(&p, d.ip[0].src_off), 5);
	check_ports(&d.ip[0], 1, 2);

	/* An option length running past the header is ignored. */
	p.b[dst + 7] = 17;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(addr6(&p, d.ip[0].src_off), 1);
}

static void test_ipv6_fragments(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t fh;

	eth(&p, 0x86dd);
	ipv6(&p, 44, 1, 2);
	fh = frag6(&p, 17, 0, 1, 0x89abcdef);
	udp(&p, 53, 5353);
	zeros(&p, 32);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:frag:udp");
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_MF | RF_IP_PORTS);
	assert_int_equal(d.ip[0].frag_id, 0x89abcdef);
	assert_int_equal(d.ip[0].frag_off, 0);
	check_ports(&d.ip[0], 53, 5353);

	set16(&p, fh + 2, 1448 | 1); /* middle */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:frag");
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_MF | RF_IP_TRUNC_L4);
	assert_int_equal(d.ip[0].frag_off, 1448);
	assert_int_equal(d.ip[0].proto, 17);
	assert_int_equal(d.ip[0].l4_off, 0);

	set16(&p, fh + 2, 2896); /* last */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.ip[0].flags, RF_IP_FRAG | RF_IP_TRUNC_L4);
	assert_int_equal(d.ip[0].frag_off, 2896);

	set16(&p, fh + 2, 0); /* atomic */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.ip[0].flags, RF_IP_PORTS);
	assert_int_equal(d.ip[0].frag_id, 0x89abcdef);
}

static void test_esp(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x86dd);
	ipv6(&p, 0, 1, 2);
	ext6(&p, 50, 0);
	put32(&p, 0x1001); /* SPI */
	put32(&p, 1);
	zeros(&p, 40);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:ipv6ext:esp");
	assert_int_equal(d.ip[0].proto, 50);
	assert_false(d.ip[0].flags & RF_IP_PORTS);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 50, A4, B4);
	put32(&p, 0x1001);
	put32(&p, 1);
	zeros(&p, 40);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:esp");
	assert_int_equal(d.ip[0].proto, 50);
	assert_false(d.ip[0].flags & RF_IP_PORTS);

	/* ESP in UDP (NAT traversal); IKE on the same port is not ESP. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 4500, 4500);
	put32(&p, 0x1001);
	put32(&p, 1);
	zeros(&p, 40);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp:esp");
	check_ports(&d.ip[0], 4500, 4500);
	set16(&p, 42, 0);
	set16(&p, 44, 0);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
}

static void test_ipv6_odd(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	unsigned int i;

	/* No next header. */
	eth(&p, 0x86dd);
	ipv6(&p, 59, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6");
	assert_int_equal(d.ip[0].proto, 59);

	/* Version 0 behind EtherType IPv6. */
	p.b[14] = 0x00;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_int_equal(d.n_ip, 0);

	/* Extension header length 255 (2048 bytes) in a short packet. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 0, 1, 2);
	put8(&p, 6);
	put8(&p, 255);
	zeros(&p, 30);
	pkt_finish(&p);
	zeros(&p, 30); /* trailer */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED); /* the payload length says 32 bytes */
	assert_string_equal(layers(&d), "eth:ipv6");
	assert_true(d.ip[0].flags & RF_IP_TRUNC_L4);
	set16(&p, 18, 0xffff); /* now it is the capture that ends first */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	set16(&p, 18, 32);
	/* 40 bytes: captured, but beyond the payload length (32). */
	p.b[14 + 41] = 4;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_string_equal(layers(&d), "eth:ipv6");

	/* One extension header more than allowed. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 60, 1, 2);
	for (i = 0; i < RF_MAX_IPV6_EXT; i++)
		ext6(&p, 60, 0);
	ext6(&p, 6, 0);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TOO_DEEP);
	assert_int_equal(d.n_layers, 2 + RF_MAX_IPV6_EXT);
	assert_false(d.ip[0].flags & RF_IP_PORTS);
	/* Exactly the limit is fine. */
	p.b[14 + 40 + 8 * (RF_MAX_IPV6_EXT - 1)] = 59;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.ip[0].proto, 59);
	assert_int_equal(d.n_layers, 2 + RF_MAX_IPV6_EXT);

	/* Jumbo payload (length 0): the capture bounds the payload. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 0, 1, 2);
	ext6(&p, 6, 0);
	tcp(&p, 7, 8);
	p.n_fix = 0;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	check_ports(&d.ip[0], 7, 8);
}

/* ---- transports ---- */

static void test_transports(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t l4;

	eth(&p, 0x0800);
	ipv4(&p, 132, A4, B4);
	l4 = sctp(&p, 2905, 2906);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:sctp");
	assert_int_equal(d.ip[0].l4_off, l4);
	check_ports(&d.ip[0], 2905, 2906);
	p.n -= 1; /* capture cut inside the common header */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	check_ports(&d.ip[0], 2905, 2906);
	assert_true(d.ip[0].flags & RF_IP_TRUNC_L4);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	p.n -= 2;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	check_ports(&d.ip[0], 1, 2);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	p.b[14 + 20 + 12] = 0x40; /* data offset 4 */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	p.b[14 + 20 + 12] = 0xf0; /* data offset 15: beyond the IP total length */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	check_ports(&d.ip[0], 1, 2);
	set16(&p, 16, 1500); /* and beyond the capture, within the total length */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	check_ports(&d.ip[0], 1, 2);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 1, A4, B4);
	l4 = p.n;
	put32(&p, 0x08000000);
	put32(&p, 0x00010001);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:icmp");
	assert_int_equal(d.ip[0].l4_off, l4);
	assert_int_equal(d.ip[0].flags, 0);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 58, 1, 2);
	put32(&p, 0x87000000); /* neighbour solicitation */
	put32(&p, 0);
	put_ip6(&p, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:icmpv6");
	assert_int_equal(d.ip[0].flags, 0);
}

/* ---- tunnels ---- */

static void test_gre(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t g, in;

	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	g = gre(&p, 0, 0x0800);
	in = ipv4(&p, 17, C4, D4);
	udp(&p, 123, 123);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:ipv4:udp");
	assert_int_equal(d.layer_off[2], g);
	assert_int_equal(d.n_ip, 2);
	assert_int_equal(d.ip[0].proto, 47);
	assert_false(d.ip[0].flags & RF_IP_PORTS);
	assert_int_equal(d.ip[1].layer, 3);
	assert_int_equal(d.ip[1].src_off, in + 12);
	assert_int_equal(addr4(&p, d.ip[1].dst_off), D4);
	check_ports(&d.ip[1], 123, 123);

	/* Checksum, key and sequence number words. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	g = gre(&p, 0xb000, 0x86dd);
	in = ipv6(&p, 6, 1, 2);
	tcp(&p, 22, 40000);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:ipv6:tcp");
	assert_int_equal(in, g + 16);
	assert_int_equal(d.layer_off[3], in);
	check_ports(&d.ip[1], 22, 40000);

	/* Source routing is obsolete; any version but 0 and 1 unknown. */
	set16(&p, g, 0x4000);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_string_equal(layers(&d), "eth:ipv4");
	set16(&p, g, 0xffff);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	set16(&p, g, 0x0002);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	/* Every version 0 flag but routing: 16 bytes of header. */
	set16(&p, g, 0xbff8);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.layer_off[3], g + 16);
	p.n = g + 10;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:ipv4");

	/* Keepalive: nothing inside. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	gre(&p, 0x2000, 0x0000);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre");
	assert_int_equal(d.n_ip, 1);
}

static void test_gre_teb_mpls(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	gre(&p, 0x2000, 0x6558);
	eth(&p, 0x8100);
	vlan(&p, 7, 0x0800);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 80, 1024);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:eth:vlan:ipv4:tcp");
	assert_false(d.has_vlan); /* a tag inside a tunnel is not the capture's VLAN */
	check_ports(&d.ip[1], 80, 1024);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	gre(&p, 0, 0x8847);
	put32(&p, 0x00010140);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 80, 1024);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:mpls:ipv4:tcp");
}

static void build_erspan(struct pkt *p, uint16_t gre_flags, uint16_t proto, int type, int o_bit)
{
	eth(p, 0x0800);
	ipv4(p, 47, A4, B4);
	gre(p, gre_flags, proto);
	if (type == 2) {
		put32(p, 0x10640001); /* version 1, VLAN 100, session 1 */
		put32(p, 0);
	} else if (type == 3) {
		put32(p, 0x20640001); /* version 2 */
		put32(p, 0x12345678); /* timestamp */
		put16(p, 0);	      /* SGT */
		put16(p, o_bit ? 1 : 0);
		if (o_bit)
			zeros(p, 8); /* platform-specific subheader */
	}
	eth(p, 0x0800);
	ipv4(p, 1, C4, D4);
	put32(p, 0x08000000);
	put32(p, 0x00010001);
	pkt_finish(p);
}

static void test_erspan(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	build_erspan(&p, 0x1000, 0x88be, 2, 0);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:erspan:eth:ipv4:icmp");
	assert_int_equal(d.layer_off[3], 34 + 8);
	assert_int_equal(d.layer_off[4], 34 + 8 + 8);
	assert_int_equal(addr4(&p, d.ip[1].src_off), C4);

	memset(&p, 0, sizeof(p));
	build_erspan(&p, 0x1000, 0x22eb, 3, 0);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:erspan:eth:ipv4:icmp");
	assert_int_equal(d.layer_off[4], 34 + 8 + 12);
	assert_int_equal(addr4(&p, d.ip[1].src_off), C4);

	memset(&p, 0, sizeof(p));
	build_erspan(&p, 0x1000, 0x22eb, 3, 1);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:erspan:eth:ipv4:icmp");
	assert_int_equal(d.layer_off[4], 34 + 8 + 20);
	assert_int_equal(addr4(&p, d.ip[1].dst_off), D4);

	/* Type I: no sequence number, no ERSPAN header. */
	memset(&p, 0, sizeof(p));
	build_erspan(&p, 0, 0x88be, 1, 0);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:erspan:eth:ipv4:icmp");
	assert_int_equal(d.layer_off[4], 34 + 4);
}

static void test_gre_pptp(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t g;

	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	g = p.n;
	put16(&p, 0x3081); /* K, S, A, version 1 */
	put16(&p, 0x880b);
	put16(&p, 0);	   /* payload length */
	put16(&p, 0x4000); /* call id */
	put32(&p, 5);	   /* sequence */
	put32(&p, 4);	   /* acknowledgement */
	put16(&p, 0xff03);
	put16(&p, 0x0021);
	ipv4(&p, 17, C4, D4);
	udp(&p, 1025, 53);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:ppp:ipv4:udp");
	assert_int_equal(d.layer_off[3], g + 16);
	assert_int_equal(d.layer_off[4], g + 20);
	check_ports(&d.ip[1], 1025, 53);

	/* Without sequence and ack, and protocol field compressed. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	g = p.n;
	put16(&p, 0x2001);
	put16(&p, 0x880b);
	put32(&p, 0x4000);
	put8(&p, 0x57);
	ipv6(&p, 17, 1, 2);
	udp(&p, 1025, 53);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:ppp:ipv6:udp");
	assert_int_equal(d.layer_off[4], g + 9);

	/* Acknowledgement only: no payload. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	g = p.n;
	put16(&p, 0x2081);
	put16(&p, 0x880b);
	put32(&p, 0x4000);
	put32(&p, 4);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre");

	/* Version 1 without its key. */
	set16(&p, g, 0x0081);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
}

static void test_vxlan(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t vx;

	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 65000, 4789);
	vx = vxlan(&p, 42);
	eth(&p, 0x0800);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 37180, 22);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:vxlan:eth:ipv4:tcp");
	assert_int_equal(d.layer_off[3], vx);
	assert_int_equal(d.layer_off[4], vx + 8);
	check_ports(&d.ip[0], 65000, 4789);
	check_ports(&d.ip[1], 37180, 22);
	assert_int_equal(addr4(&p, d.ip[1].src_off), C4);

	/* Only the outer header when asked. */
	d = dec(&p, DLT_EN10MB, RF_DECODE_OUTER);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
	assert_int_equal(d.n_ip, 1);
	check_ports(&d.ip[0], 65000, 4789);

	/* From the VXLAN port (a reply in some captures): only an exact header counts. */
	set16(&p, 34, 4789);
	set16(&p, 36, 65000);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp:vxlan:eth:ipv4:tcp");
	p.b[vx + 2] = 1;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
	set16(&p, 34, 65000);
	set16(&p, 36, 4789);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp:vxlan:eth:ipv4:tcp");

	/* No I flag: not VXLAN. */
	p.b[vx] = 0;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");

	/* VXLAN-GPE carrying IPv4 directly. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 40000, 4790);
	put32(&p, 0x0c000001);
	put32(&p, 42 << 8);
	ipv4(&p, 17, C4, D4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:vxlan:ipv4:udp");
}

static void test_geneve(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t gv;

	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 50000, 6081);
	gv = p.n;
	put8(&p, 2); /* 2 words of options */
	put8(&p, 0);
	put16(&p, 0x6558);
	put32(&p, 0x00002a00);
	put32(&p, 0x01020301); /* option class 0x0102, type 3, length 1 */
	put32(&p, 0xaabbccdd);
	eth(&p, 0x86dd);
	ipv6(&p, 17, 1, 2);
	udp(&p, 53, 5353);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:geneve:eth:ipv6:udp");
	assert_int_equal(d.layer_off[3], gv);
	assert_int_equal(d.layer_off[4], gv + 16);
	check_ports(&d.ip[1], 53, 5353);

	/* Option length 63 (252 bytes) in a short packet. */
	p.b[gv] = 63;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_string_equal(layers(&d), "eth:ipv4:udp:geneve");
	assert_int_equal(d.n_ip, 1);

	/* IP directly. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 50000, 6081);
	put32(&p, 0x00000800);
	put32(&p, 0x00002a00);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:geneve:ipv4:tcp");
	/* From the Geneve port: the same, unless the protocol is unknown. */
	set16(&p, 34, 6081);
	set16(&p, 36, 50000);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp:geneve:ipv4:tcp");
	set16(&p, 44, 0x0806);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
}

/* GTP-U G-PDU with a sequence number and two extension headers, carrying IPv6. */
static uint32_t build_gtp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint32_t g;

	eth(p, 0x0800);
	ipv4(p, 17, A4, B4);
	udp(p, sport, dport);
	g = p->n;
	put8(p, 0x36); /* version 1, PT, E, S */
	put8(p, 0xff);
	put16(p, 0);
	put32(p, 0x11223344);
	add_fix(p, FIX_GTP, g);
	put16(p, 1);
	put8(p, 0);
	put8(p, 0x85); /* PDU session container */
	put32(p, 0x01000185);
	put32(p, 0x02000000); /* 8 bytes, next type 0 */
	put32(p, 0);
	ipv6(p, 17, 1, 2);
	udp(p, 5060, 5060);
	pkt_finish(p);
	return g;
}

static void test_gtpu(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t g;

	g = build_gtp(&p, 2152, 2152);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:gtpu:ipv6:udp");
	assert_int_equal(d.layer_off[3], g);
	assert_int_equal(d.layer_off[4], g + 24);
	check_ports(&d.ip[1], 5060, 5060);
	/* E alone brings the same 4 optional bytes. */
	p.b[g] = 0x34;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.layer_off[4], g + 24);

	/* Extension header length 0 never ends. */
	p.b[g + 12] = 0;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_string_equal(layers(&d), "eth:ipv4:udp:gtpu");
	/* Length 255: beyond the GTP length. */
	p.b[g + 12] = 255;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_MALFORMED);
	assert_int_equal(d.n_ip, 1);

	/* Source port only (downlink reply direction) and no optional fields. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 17, A4, B4);
	udp(&p, 2152, 30000);
	g = p.n;
	put32(&p, 0x30ff0000);
	put32(&p, 1);
	add_fix(&p, FIX_GTP, g);
	ipv4(&p, 17, C4, D4);
	udp(&p, 53, 1024);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:gtpu:ipv4:udp");
	assert_int_equal(d.layer_off[4], g + 8);

	/* Echo request: no user data. */
	p.b[g + 1] = 1;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:gtpu");
	assert_int_equal(d.n_ip, 1);
	/* GTP' / version 2: not GTP-U. */
	p.b[g] = 0x48;
	p.b[g + 1] = 0xff;
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
}

/* Teredo with optional authentication and origin indication headers. */
static uint32_t build_teredo(struct pkt *p, int auth, int origin, uint32_t *ret_ip6)
{
	uint32_t t;

	eth(p, 0x0800);
	ipv4(p, 17, A4, B4);
	udp(p, 3544, 50000);
	t = p->n;
	if (auth) {
		put16(p, 0x0001);
		put8(p, 2); /* client id length */
		put8(p, 3); /* authentication value length */
		putn(p, "idabc", 5);
		zeros(p, 8); /* nonce */
		put8(p, 0);  /* confirmation */
	}
	if (origin) {
		put16(p, 0x0000);
		put16(p, 0xffff ^ 40000);
		put32(p, 0xffffffff ^ C4);
	}
	*ret_ip6 = ipv6(p, 17, 1, 2);
	udp(p, 1, 2);
	pkt_finish(p);
	return t;
}

static void test_teredo(void **state)
{
	struct rf_decoded d;
	uint32_t t, ip6;

	for (int auth = 0; auth < 2; auth++) {
		for (int origin = 0; origin < 2; origin++) {
			struct pkt p = {0};

			t = build_teredo(&p, auth, origin, &ip6);
			assert_int_equal(ip6, t + (auth ? 18 : 0) + (origin ? 8 : 0));
			d = dec(&p, DLT_EN10MB, 0);
			assert_int_equal(d.reason, RF_DEC_OK);
			assert_string_equal(layers(&d), "eth:ipv4:udp:teredo:ipv6:udp");
			assert_int_equal(d.layer_off[3], t);
			assert_int_equal(d.layer_off[4], ip6);
			assert_int_equal(d.ip[1].src_off, ip6 + 8);
			check_ports(&d.ip[1], 1, 2);

			/* Not IPv6 after the headers: plain UDP payload. */
			p.b[ip6] = 0x45;
			d = dec(&p, DLT_EN10MB, 0);
			assert_int_equal(d.reason, RF_DEC_OK);
			assert_string_equal(layers(&d), "eth:ipv4:udp");
			assert_int_equal(d.n_ip, 1);
		}
	}
}

static void test_ip_in_ip(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x0800);
	ipv4(&p, 4, A4, B4);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:ipv4:tcp");
	assert_int_equal(addr4(&p, d.ip[1].src_off), C4);
	assert_int_equal(d.ip[0].proto, 4);
	d = dec(&p, DLT_EN10MB, RF_DECODE_OUTER);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4");

	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 41, A4, B4);
	ipv6(&p, 58, 1, 2);
	put32(&p, 0x80000000);
	put32(&p, 0x00010001);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:ipv6:icmpv6");

	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 4, 1, 2);
	ipv4(&p, 17, C4, D4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:ipv4:udp");
	assert_int_equal(d.ip[1].version, 4);
	check_ports(&d.ip[1], 1, 2);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 41, 1, 2);
	ipv6(&p, 17, 3, 4);
	udp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv6:ipv6:udp");
	assert_int_equal(addr6(&p, d.ip[1].src_off), 3);
}

static void test_tunnel_too_deep(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	unsigned int i;

	eth(&p, 0x0800);
	for (i = 0; i < RF_MAX_IP + 1; i++)
		ipv4(&p, i < RF_MAX_IP ? 4 : 6, A4 + i, B4 + i);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TOO_DEEP);
	assert_int_equal(d.n_ip, RF_MAX_IP);
	assert_int_equal(d.n_layers, 1 + RF_MAX_IP);
	for (i = 0; i < RF_MAX_IP; i++) {
		assert_int_equal(addr4(&p, d.ip[i].src_off), A4 + i);
		assert_int_equal(addr4(&p, d.ip[i].dst_off), B4 + i);
		assert_int_equal(d.ip[i].layer, 1 + i);
	}
	/* Exactly RF_MAX_IP is fine (the innermost says: no next header). */
	p.b[14 + 20 * (RF_MAX_IP - 1) + 9] = 59;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_int_equal(d.n_ip, RF_MAX_IP);
}

/* Many pseudowires in a row, without any IP header to stop them. */
static void test_eth_too_deep(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	for (int i = 0; i < 40; i++) {
		eth(&p, 0x8847);
		put32(&p, 0x00010140);
		put32(&p, 0);
	}
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TOO_DEEP);
	assert_int_equal(d.n_ip, 0);
	assert_true(d.n_layers <= RF_MAX_LAYERS);
	assert_int_equal(d.layers[0], RF_LAYER_ETH);
}

/* ---- truncation at every byte ---- */

/*
 * Decode every prefix of p from a heap copy of exactly that length (so that
 * ASan sees any read past it): what a prefix decodes must be a prefix of
 * what the whole packet decodes. With all_cut, every proper prefix ends
 * inside some header and must say TRUNCATED.
 */
static void check_prefixes(const struct pkt *p, int linktype, int all_cut)
{
	struct rf_decoded full = dec(p, linktype, 0), d;
	int ret;

	assert_int_equal(full.reason, RF_DEC_OK);
	for (uint32_t len = 0; len < p->n; len++) {
		uint8_t *buf = malloc(len ? len : 1);

		assert_non_null(buf);
		memcpy(buf, p->b, len);
		memset(&d, 0x5a, sizeof(d));
		ret = rf_decode(buf, len, linktype, 0, &d);
		assert_int_equal(ret, d.reason);
		if (all_cut)
			assert_int_equal(d.reason, RF_DEC_TRUNCATED);
		assert_true(d.n_layers <= full.n_layers);
		for (unsigned int i = 0; i < d.n_layers; i++) {
			assert_int_equal(d.layers[i], full.layers[i]);
			assert_int_equal(d.layer_off[i], full.layer_off[i]);
			assert_true(d.layer_off[i] < len);
		}
		assert_true(d.n_ip <= full.n_ip);
		for (unsigned int i = 0; i < d.n_ip; i++) {
			const struct rf_ip *a = &d.ip[i], *b = &full.ip[i];
			uint32_t alen = a->version == 4 ? 4 : 16;

			assert_int_equal(a->version, b->version);
			assert_int_equal(a->layer, b->layer);
			assert_true(a->src_off + alen <= len);
			assert_true(a->dst_off + alen <= len);
			/* An address an extension header moves may not be reached yet. */
			if (i + 1 < d.n_ip || d.reason == RF_DEC_OK) {
				assert_int_equal(a->src_off, b->src_off);
				assert_int_equal(a->dst_off, b->dst_off);
			}
			if (a->flags & RF_IP_PORTS) {
				assert_true(b->flags & RF_IP_PORTS);
				assert_int_equal(a->sport, b->sport);
				assert_int_equal(a->dport, b->dport);
				assert_int_equal(a->l4_off, b->l4_off);
			}
		}
		free(buf);
	}
}

static void test_truncate_deep_stack(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	/* eth/802.1ad/802.1Q/IPv4/GRE/eth/IPv6/UDP/VXLAN/eth/IPv4/TCP */
	eth(&p, 0x88a8);
	vlan(&p, 100, 0x8100);
	vlan(&p, 200, 0x0800);
	ipv4(&p, 47, A4, B4);
	gre(&p, 0x3000, 0x6558);
	eth(&p, 0x86dd);
	ipv6(&p, 17, 1, 2);
	udp(&p, 40000, 4789);
	vxlan(&p, 7);
	eth(&p, 0x0800);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 443, 50000);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:vlan:vlan:ipv4:gre:eth:ipv6:udp:vxlan:eth:ipv4:tcp");
	assert_int_equal(d.n_ip, 3);
	check_ports(&d.ip[1], 40000, 4789);
	check_ports(&d.ip[2], 443, 50000);
	check_prefixes(&p, DLT_EN10MB, 1);
}

static void test_truncate_others(void **state)
{
	struct pkt p;
	uint32_t ip6;

	memset(&p, 0, sizeof(p));
	build_gtp(&p, 2152, 2152);
	check_prefixes(&p, DLT_EN10MB, 1);

	memset(&p, 0, sizeof(p));
	build_erspan(&p, 0x1000, 0x22eb, 3, 1);
	check_prefixes(&p, DLT_EN10MB, 0);

	memset(&p, 0, sizeof(p));
	build_teredo(&p, 1, 1, &ip6);
	check_prefixes(&p, DLT_EN10MB, 0);

	/* IPv6 extension headers moving both addresses, then a fragment. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x86dd);
	ipv6(&p, 60, 1, 2);
	put8(&p, 43); /* destination options with a home address */
	put8(&p, 2);
	put8(&p, 1);
	put8(&p, 2);
	put16(&p, 0);
	put8(&p, 201);
	put8(&p, 16);
	put_ip6(&p, 5);
	put8(&p, 44); /* SRH, one segment left */
	put8(&p, 2);
	put8(&p, 4);
	put8(&p, 1);
	put32(&p, 0);
	put_ip6(&p, 9);
	frag6(&p, 132, 0, 1, 77);
	sctp(&p, 1, 2);
	pkt_finish(&p);
	check_prefixes(&p, DLT_EN10MB, 1);

	memset(&p, 0, sizeof(p));
	put16(&p, 0xff03);
	put16(&p, 0x0281);
	put32(&p, 0x00010000);
	put32(&p, 0x00020140);
	put32(&p, 0);
	eth(&p, 0x8864);
	put32(&p, 0x11000001);
	put16(&p, 0);
	put16(&p, 0x0021);
	ipv4_opts(&p, 6, A4, B4, 3);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	check_prefixes(&p, DLT_PPP, 1);
}

/* ---- Cisco FabricPath, Cisco MetaData, compressed PPPoE, ARP ---- */

/* FabricPath around a tagged frame: eth(0x8903), FTag/TTL, eth, 802.1Q 7, IPv4, TCP. */
static void build_fabricpath(struct pkt *p)
{
	eth(p, 0x8903);
	put16(p, 0x4020); /* FTag 256, TTL 32 */
	eth(p, 0x8100);
	vlan(p, 7, 0x0800);
	ipv4(p, 6, A4, B4);
	tcp(p, 38856, 8009);
	pkt_finish(p);
}

static void test_fabricpath(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	build_fabricpath(&p);
	for (unsigned int flags = 0; flags <= RF_DECODE_OUTER; flags += RF_DECODE_OUTER) {
		d = dec(&p, DLT_EN10MB, flags);
		assert_int_equal(d.reason, RF_DEC_OK);
		assert_string_equal(layers(&d), "eth:cfp:eth:vlan:ipv4:tcp");
		assert_int_equal(d.layer_off[1], 14);
		assert_int_equal(d.layer_off[2], 16);
		assert_int_equal(d.vlan_id, 7);
		assert_int_equal(addr4(&p, d.ip[0].src_off), A4);
		check_ports(&d.ip[0], 38856, 8009);
	}
	check_prefixes(&p, DLT_EN10MB, 1);

	/* The 20-byte form: FabricPath's own 802.1ad tag is not the frame's VLAN. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x88a8);
	vlan(&p, 100, 0x8903);
	put16(&p, 0x4020);
	eth(&p, 0x0806);
	put32(&p, 0x00010800); /* ARP: Ethernet, IPv4 */
	put32(&p, 0x06040001); /* request */
	zeros(&p, 6);
	put32(&p, A4);
	zeros(&p, 6);
	put32(&p, B4);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "eth:vlan:cfp:eth:arp");
	assert_false(d.has_vlan);
	assert_int_equal(d.vlan_id, 0);
	assert_int_equal(rf_decoded_arp(&d), 34);

	/* Cut inside FTag/TTL. */
	p.n = 19;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:vlan");
	assert_true(d.has_vlan);
}

static void test_cmd(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	/* In Ethernet: version, length, option, SGT, EtherType; then a tag. */
	eth(&p, 0x8909);
	put32(&p, 0x01010001);
	put16(&p, 100); /* SGT */
	put16(&p, 0x8100);
	vlan(&p, 5, 0x0800);
	ipv4(&p, 1, A4, B4);
	put32(&p, 0x08000000);
	put32(&p, 0x00010001);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:cmd:vlan:ipv4:icmp");
	assert_int_equal(d.layer_off[2], 22);
	assert_int_equal(d.vlan_id, 5);
	check_prefixes(&p, DLT_EN10MB, 1);

	/* In GRE the EtherType comes first. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x0800);
	ipv4(&p, 47, A4, B4);
	gre(&p, 0x2000, 0x8909);
	put16(&p, 0x0800);
	put32(&p, 0x01010001);
	put16(&p, 100);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:gre:cmd:ipv4:tcp");
	assert_int_equal(addr4(&p, d.ip[1].src_off), C4);
	check_ports(&d.ip[1], 1, 2);
	check_prefixes(&p, DLT_EN10MB, 1);

	/* Metadata headers count as tags. */
	memset(&p, 0, sizeof(p));
	eth(&p, 0x8909);
	for (unsigned int i = 0; i <= RF_MAX_VLAN_DEPTH; i++) {
		put32(&p, 0x01010001);
		put16(&p, 100);
		put16(&p, i < RF_MAX_VLAN_DEPTH ? 0x8909 : 0x0800);
	}
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TOO_DEEP);
	assert_int_equal(d.n_layers, 1 + RF_MAX_VLAN_DEPTH);
}

static void test_pppoe_compressed(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;

	eth(&p, 0x8864);
	put32(&p, 0x11000001);
	put16(&p, 0);
	put8(&p, 0x21); /* IPv4, protocol field compressed */
	ipv4(&p, 6, A4, B4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:pppoes:ppp:ipv4:tcp");
	assert_int_equal(d.layer_off[2], 20);
	assert_int_equal(d.layer_off[3], 21);
	check_ports(&d.ip[0], 1, 2);
	check_prefixes(&p, DLT_EN10MB, 1);

	memset(&p, 0, sizeof(p));
	eth(&p, 0x8864);
	put32(&p, 0x11000001);
	put16(&p, 0);
	put8(&p, 0x57); /* IPv6 */
	ipv6(&p, 17, 1, 2);
	udp(&p, 3, 4);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:pppoes:ppp:ipv6:udp");
	assert_int_equal(d.layer_off[3], 21);
	check_ports(&d.ip[0], 3, 4);

	p.b[20] = 0x2b; /* IPX: no IP */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "eth:pppoes:ppp");

	/* An even first byte needs the second one. */
	p.b[20] = 0x00;
	p.n = 21;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:pppoes");
}

/* ARP request (op 1) or reply (op 2) between spa and tpa. */
static uint32_t arp(struct pkt *p, uint16_t op, uint32_t spa, uint32_t tpa)
{
	static const uint8_t sha[6] = {2, 0, 0, 0, 0, 1}, tha[6] = {2, 0, 0, 0, 0, 2};
	uint32_t off = p->n;

	put16(p, 1);	  /* Ethernet */
	put16(p, 0x0800); /* IPv4 */
	put8(p, 6);
	put8(p, 4);
	put16(p, op);
	putn(p, sha, 6);
	put32(p, spa);
	putn(p, op == 1 ? (const uint8_t[6]){0} : tha, 6);
	put32(p, tpa);
	return off;
}

static void test_arp(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t a;

	eth(&p, 0x8100);
	vlan(&p, 12, 0x0806);
	a = arp(&p, 1, A4, B4);
	zeros(&p, 60 - p.n); /* Ethernet padding */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "eth:vlan:arp");
	assert_int_equal(rf_decoded_arp(&d), a);
	assert_int_equal(addr4(&p, a + RF_ARP_SPA), A4);
	assert_int_equal(addr4(&p, a + RF_ARP_TPA), B4);
	assert_int_equal(d.vlan_id, 12);
	d = dec(&p, DLT_EN10MB, RF_DECODE_OUTER);
	assert_int_equal(rf_decoded_arp(&d), a);

	/* Cut inside the addresses: no ARP layer, so no ARP key. */
	p.n = a + 27;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_TRUNCATED);
	assert_string_equal(layers(&d), "eth:vlan");
	assert_int_equal(rf_decoded_arp(&d), -1);

	/* Other address kinds are plain non-IP. */
	p.n = a + 28;
	p.b[a + 4] = 8;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_string_equal(layers(&d), "eth:vlan");
	assert_int_equal(rf_decoded_arp(&d), -1);
	p.b[a + 4] = 6;
	set16(&p, a + 2, 0x86dd);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(rf_decoded_arp(&d), -1);

	/* Linux cooked capture. */
	memset(&p, 0, sizeof(p));
	put16(&p, 0);
	put16(&p, 1);
	put16(&p, 6);
	zeros(&p, 8);
	put16(&p, 0x0806);
	a = arp(&p, 2, B4, A4);
	d = dec(&p, DLT_LINUX_SLL, 0);
	assert_string_equal(layers(&d), "sll:arp");
	assert_int_equal(rf_decoded_arp(&d), 16);

	/* Not a last layer after decoding stopped for another reason. */
	d.reason = RF_DEC_TRUNCATED;
	assert_int_equal(rf_decoded_arp(&d), -1);
}

/* ---- CAPWAP ---- */

/* CAPWAP header word: HLEN (words), WBID, flag bits (CW_* of decode.c). */
#define CW(hlen, wbid, flags) ((uint32_t)(hlen) << 19 | (uint32_t)(wbid) << 9 | (flags))
#define CW_T		      0x100
#define CW_F		      0x080
#define CW_M		      0x010
#define CW_K		      0x008

/* Outer Ethernet/IPv4/UDP to the CAPWAP data port, then the CAPWAP header word. */
static uint32_t capwap(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t word)
{
	uint32_t off;

	eth(p, 0x0800);
	ipv4(p, 17, A4, B4);
	udp(p, sport, dport);
	off = p->n;
	put32(p, word);
	put32(p, 0); /* fragment id, offset */
	return off;
}

/*
 * 802.11 data frame: frame control (fc, flags) written in the standard order
 * or swapped; the fourth address when both DS bits are set; QoS control
 * (qos) when fc is a QoS subtype and HT control with the Order flag.
 */
static uint32_t wlan(struct pkt *p, uint8_t fc, uint8_t fl, int swapped, uint8_t qos)
{
	uint32_t off = p->n;

	put8(p, swapped ? fl : fc);
	put8(p, swapped ? fc : fl);
	put16(p, 0x2c00); /* duration */
	for (int i = 0; i < ((fl & 3) == 3 ? 4 : 3); i++) {
		put32(p, 0x02000000 + i);
		put16(p, 0x0101);
		if (i == 2)
			put16(p, 0x1230); /* sequence control */
	}
	if (fc & 0x80) {
		put8(p, qos);
		put8(p, 0);
		if (fl & 0x80)
			put32(p, 0);
	}
	return off;
}

/* LLC/SNAP with an EtherType. */
static uint32_t snap(struct pkt *p, uint16_t type)
{
	uint32_t off = p->n;

	put32(p, 0xaaaa0300);
	put16(p, 0x0000);
	put16(p, type);
	return off;
}

static void test_capwap_8023(void **state)
{
	struct pkt p = {0};
	struct rf_decoded d;
	uint32_t cw;

	cw = capwap(&p, 40000, 5247, CW(2, 1, 0));
	eth(&p, 0x0800);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 443, 50000);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:capwap:eth:ipv4:tcp");
	assert_int_equal(d.layer_off[3], cw);
	assert_int_equal(d.layer_off[4], cw + 8);
	assert_int_equal(d.n_ip, 2);
	assert_int_equal(addr4(&p, d.ip[1].src_off), C4);
	check_ports(&d.ip[1], 443, 50000);
	check_prefixes(&p, DLT_EN10MB, 1);

	/* Only the outer header when asked. */
	d = dec(&p, DLT_EN10MB, RF_DECODE_OUTER);
	assert_string_equal(layers(&d), "eth:ipv4:udp");

	/* From the data port (controller to access point): only an exact header counts. */
	set16(&p, 34, 5247);
	set16(&p, 36, 40000);
	d = dec(&p, DLT_EN10MB, 0);
	assert_string_equal(layers(&d), "eth:ipv4:udp:capwap:eth:ipv4:tcp");
	p.b[cw + 3] |= 0x01; /* a reserved flag */
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
	p.n = cw + 4;
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp");
}

/* CAPWAP packets whose frame is not decoded: the layers and reason they give. */
static void test_capwap_opaque(void **state)
{
	static const struct {
		uint32_t word;
		uint8_t preamble;
		const char *layers;
	} cases[] = {
		{CW(2, 1, CW_T | CW_F), 0, "eth:ipv4:udp:capwap"}, /* fragment */
		{CW(2, 1, CW_K), 0, "eth:ipv4:udp:capwap"},	   /* keep-alive */
		{CW(2, 3, CW_T), 0, "eth:ipv4:udp:capwap"},	   /* EPCGlobal binding */
		{0, 1, "eth:ipv4:udp:capwap"},			   /* DTLS */
		{CW(2, 1, 0), 0x10, "eth:ipv4:udp"},		   /* version 1 */
		{CW(1, 1, 0), 0, "eth:ipv4:udp"},		   /* header below 8 bytes */
	};
	struct pkt p;
	struct rf_decoded d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cw;

		memset(&p, 0, sizeof(p));
		cw = capwap(&p, 40000, 5247, cases[i].word);
		p.b[cw] = cases[i].preamble;
		eth(&p, 0x0800);
		ipv4(&p, 6, C4, D4);
		tcp(&p, 1, 2);
		pkt_finish(&p);
		d = dec(&p, DLT_EN10MB, 0);
		assert_int_equal(d.reason, RF_DEC_OK);
		assert_string_equal(layers(&d), cases[i].layers);
		assert_int_equal(d.n_ip, 1);
	}
}

static void test_capwap_80211(void **state)
{
	struct pkt p;
	struct rf_decoded d;
	uint32_t cw, w;

	/* Cisco's swapped frame control, to DS; radio MAC in the header (HLEN 4). */
	memset(&p, 0, sizeof(p));
	cw = capwap(&p, 12380, 5247, CW(4, 1, CW_T | CW_M));
	put8(&p, 6);
	put32(&p, 0x02aabbcc);
	put16(&p, 0xddee);
	put8(&p, 0);
	w = wlan(&p, 0x08, 0x01, 1, 0);
	snap(&p, 0x0800);
	ipv4(&p, 17, C4, D4);
	udp(&p, 68, 67);
	pkt_finish(&p);
	assert_int_equal(w, cw + 16);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:capwap:wlan:llc:ipv4:udp");
	assert_int_equal(d.layer_off[4], w);
	assert_int_equal(d.layer_off[5], w + 24);
	assert_int_equal(addr4(&p, d.ip[1].dst_off), D4);
	check_ports(&d.ip[1], 68, 67);
	check_prefixes(&p, DLT_EN10MB, 1);

	/* Standard order, QoS data from DS, IPv6. */
	memset(&p, 0, sizeof(p));
	capwap(&p, 5247, 12380, CW(2, 1, CW_T));
	w = wlan(&p, 0x88, 0x02, 0, 0);
	snap(&p, 0x86dd);
	ipv6(&p, 6, 1, 2);
	tcp(&p, 80, 1025);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:capwap:wlan:llc:ipv6:tcp");
	assert_int_equal(d.layer_off[5], w + 26);
	check_ports(&d.ip[1], 80, 1025);

	/* Four addresses, QoS and HT control (Order); the bridge-tunnel SNAP OUI. */
	memset(&p, 0, sizeof(p));
	capwap(&p, 12380, 5247, CW(2, 1, CW_T));
	w = wlan(&p, 0x88, 0x83, 1, 0);
	snap(&p, 0x0800);
	p.b[p.n - 3] = 0xf8;
	ipv4(&p, 6, C4, D4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:capwap:wlan:llc:ipv4:tcp");
	assert_int_equal(d.layer_off[5], w + 36);
	check_prefixes(&p, DLT_EN10MB, 1);

	/* An A-MSDU is opaque. */
	memset(&p, 0, sizeof(p));
	capwap(&p, 12380, 5247, CW(2, 1, CW_T));
	wlan(&p, 0x88, 0x01, 1, 0x80);
	snap(&p, 0x0800);
	ipv4(&p, 6, C4, D4);
	tcp(&p, 1, 2);
	pkt_finish(&p);
	d = dec(&p, DLT_EN10MB, 0);
	assert_int_equal(d.reason, RF_DEC_OK);
	assert_string_equal(layers(&d), "eth:ipv4:udp:capwap:wlan");
}

/* 802.11 frames that carry no IP, or none that can be read. */
static void test_capwap_80211_other(void **state)
{
	static const struct {
		uint8_t fc, fl;
		int swapped, reason;
		const char *layers;
	} cases[] = {
		{0x08, 0x41, 1, RF_DEC_OK, "eth:ipv4:udp:capwap:wlan"},		/* protected */
		{0x48, 0x01, 1, RF_DEC_NON_IP, "eth:ipv4:udp:capwap:wlan"},	/* null data */
		{0x40, 0x00, 0, RF_DEC_NON_IP, "eth:ipv4:udp:capwap:wlan"},	/* probe request */
		{0xd4, 0x00, 0, RF_DEC_NON_IP, "eth:ipv4:udp:capwap:wlan"},	/* ACK */
		{0x09, 0x01, 0, RF_DEC_MALFORMED, "eth:ipv4:udp:capwap"},	/* version 1 */
		{0x08, 0x01, 1, RF_DEC_NON_IP, "eth:ipv4:udp:capwap:wlan:llc"}, /* not SNAP */
		{0x08, 0x02, 0, RF_DEC_NON_IP, "eth:ipv4:udp:capwap:wlan:llc"}, /* an OUI */
	};
	struct pkt p;
	struct rf_decoded d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t l;

		memset(&p, 0, sizeof(p));
		capwap(&p, 12380, 5247, CW(2, 1, CW_T));
		wlan(&p, cases[i].fc, cases[i].fl, cases[i].swapped, 0);
		l = snap(&p, 0x0800);
		if (i == 5)
			p.b[l] = 0x42; /* spanning tree */
		if (i == 6)
			p.b[l + 5] = 0x96; /* Cisco */
		ipv4(&p, 6, C4, D4);
		tcp(&p, 1, 2);
		pkt_finish(&p);
		d = dec(&p, DLT_EN10MB, 0);
		assert_int_equal(d.reason, cases[i].reason);
		assert_string_equal(layers(&d), cases[i].layers);
		assert_int_equal(d.n_ip, 1);
	}
}

/* ---- real captures ---- */

struct pcap_stats {
	unsigned long packets;
	unsigned long reasons[RF_DEC__MAX];
};

/* Structural invariants of any decode result for a packet of caplen bytes. */
static void check_sane(const struct rf_decoded *d, uint32_t caplen)
{
	assert_true(d->reason < RF_DEC__MAX);
	assert_true(d->n_layers <= RF_MAX_LAYERS);
	assert_true(d->n_ip <= RF_MAX_IP);
	for (unsigned int i = 0; i < d->n_layers; i++) {
		assert_true(d->layers[i] > RF_LAYER_NONE && d->layers[i] < RF_LAYER__MAX);
		assert_true(d->layer_off[i] < caplen);
		if (i)
			assert_true(d->layer_off[i] >= d->layer_off[i - 1]);
	}
	for (unsigned int i = 0; i < d->n_ip; i++) {
		const struct rf_ip *ip = &d->ip[i];
		uint32_t alen = ip->version == 4 ? 4 : 16;

		assert_true(ip->version == 4 || ip->version == 6);
		assert_true(ip->src_off + alen <= caplen);
		assert_true(ip->dst_off + alen <= caplen);
		assert_true(ip->l4_off < caplen);
		if (ip->layer < d->n_layers)
			assert_int_equal(d->layers[ip->layer],
					 ip->version == 4 ? RF_LAYER_IPV4 : RF_LAYER_IPV6);
		if (ip->flags & RF_IP_PORTS)
			assert_true((uint32_t)ip->l4_off + 4 <= caplen);
	}
}

static uint32_t rnd_state = 0x9e3779b9;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/*
 * Random damage to well-formed packets (a few bytes overwritten, often in
 * length and flag fields, and a random cut), each decoded from a heap copy of
 * exactly its length: never a read out of bounds (ASan), always a sane result.
 */
static void test_mutations(void **state)
{
	struct pkt base[7];
	struct rf_decoded d;
	uint32_t ip6;

	memset(base, 0, sizeof(base));
	build_gtp(&base[0], 2152, 2152);
	build_erspan(&base[1], 0x1000, 0x22eb, 3, 1);
	build_teredo(&base[2], 1, 1, &ip6);
	eth(&base[3], 0x88a8);
	vlan(&base[3], 100, 0x8100);
	vlan(&base[3], 200, 0x0800);
	ipv4(&base[3], 47, A4, B4);
	gre(&base[3], 0x3000, 0x6558);
	eth(&base[3], 0x86dd);
	ipv6(&base[3], 0, 1, 2);
	ext6(&base[3], 44, 0);
	frag6(&base[3], 17, 0, 1, 9);
	udp(&base[3], 40000, 6081);
	put32(&base[3], 0x01006558);
	put32(&base[3], 0);
	put32(&base[3], 0);
	eth(&base[3], 0x8847);
	put32(&base[3], 0x00010140);
	ipv4(&base[3], 6, C4, D4);
	tcp(&base[3], 1, 2);
	pkt_finish(&base[3]);
	eth(&base[4], 0x8864);
	put32(&base[4], 0x11000001);
	put16(&base[4], 0);
	put16(&base[4], 0x0057);
	ipv6(&base[4], 41, 1, 2);
	ipv6(&base[4], 43, 3, 4);
	put8(&base[4], 4);
	put8(&base[4], 2);
	put8(&base[4], 4);
	put8(&base[4], 1);
	put32(&base[4], 0);
	put_ip6(&base[4], 9);
	ipv4(&base[4], 17, A4, B4);
	udp(&base[4], 2152, 2152);
	put32(&base[4], 0x34ff0000);
	put32(&base[4], 0);
	put32(&base[4], 0x00000085);
	put32(&base[4], 0x01000000);
	ipv4(&base[4], 132, C4, D4);
	sctp(&base[4], 1, 2);
	pkt_finish(&base[4]);
	/* FabricPath, Cisco MetaData, PPPoE with a compressed protocol field. */
	eth(&base[5], 0x8903);
	put16(&base[5], 0x4020);
	eth(&base[5], 0x8909);
	put32(&base[5], 0x01010001);
	put16(&base[5], 100);
	put16(&base[5], 0x8864);
	put32(&base[5], 0x11000001);
	put16(&base[5], 0);
	put8(&base[5], 0x21);
	ipv4(&base[5], 6, A4, B4);
	tcp(&base[5], 1, 2);
	pkt_finish(&base[5]);
	/* CAPWAP, 802.11 with four addresses, QoS and HT control, LLC/SNAP. */
	capwap(&base[6], 12380, 5247, CW(4, 1, CW_T | CW_M));
	put8(&base[6], 6);
	zeros(&base[6], 7);
	wlan(&base[6], 0x88, 0x83, 1, 0);
	snap(&base[6], 0x0800);
	ipv4(&base[6], 17, C4, D4);
	udp(&base[6], 1, 2);
	pkt_finish(&base[6]);

	for (unsigned int i = 0; i < 280000; i++) {
		const struct pkt *b = &base[i % 7];
		uint32_t len = rnd() % (b->n + 1);
		uint8_t *buf = malloc(len ? len : 1);
		unsigned int n_hits = 1 + rnd() % 4;

		assert_non_null(buf);
		memcpy(buf, b->b, len);
		for (unsigned int k = 0; k < n_hits && len; k++) {
			uint32_t at = rnd() % len;
			uint32_t r = rnd();

			buf[at] = r & 0x100 ? (uint8_t)(r >> 16) : (r & 0x200 ? 0xff : 0);
		}
		rf_decode(buf, len, DLT_EN10MB, i & 8 ? RF_DECODE_OUTER : 0, &d);
		check_sane(&d, len);
		free(buf);
	}
}

static void decode_file(const char *path, struct pcap_stats *st)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct rf_decoded d, o;
	pcap_t *pc;
	int lt;

	pc = pcap_open_offline(path, err);
	if (!pc) {
		print_message("cannot open '%s': %s\n", path, err);
		fail();
	}
	lt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		/* A heap copy of exactly caplen bytes: ASan catches any overread. */
		uint8_t *buf = malloc(h->caplen ? h->caplen : 1);

		assert_non_null(buf);
		memcpy(buf, data, h->caplen);
		rf_decode(buf, h->caplen, lt, 0, &d);
		check_sane(&d, h->caplen);
		rf_decode(buf, h->caplen, lt, RF_DECODE_OUTER, &o);
		check_sane(&o, h->caplen);
		/* The outer header alone decodes as in the full walk. */
		assert_true(o.n_ip <= 1);
		assert_int_equal(o.n_ip, d.n_ip ? 1 : 0);
		if (o.n_ip) {
			assert_int_equal(o.ip[0].src_off, d.ip[0].src_off);
			assert_int_equal(o.ip[0].dst_off, d.ip[0].dst_off);
			assert_int_equal(o.ip[0].flags & RF_IP_PORTS, d.ip[0].flags & RF_IP_PORTS);
			assert_int_equal(o.ip[0].sport, d.ip[0].sport);
			assert_int_equal(o.ip[0].dport, d.ip[0].dport);
		}
		st->packets++;
		st->reasons[d.reason]++;
		free(buf);
	}
	pcap_close(pc);
}

static const char *pcap_dir(char *buf, size_t len)
{
	const char *env = getenv("RINGFAN_PCAPS");
	const char *src = getenv("RINGFAN_SRCDIR");

	if (env && *env)
		return env;
	snprintf(buf, len, "%s/../shared/pcaps", src && *src ? src : ".");
	return buf;
}

static void test_real_captures(void **state)
{
	char dirbuf[4096], path[8192];
	const char *dir = pcap_dir(dirbuf, sizeof(dirbuf));
	struct dirent **names;
	struct pcap_stats total = {0};
	int n, files = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		print_message("SKIP: no captures in '%s'\n", dir);
		skip();
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		struct pcap_stats st = {0};

		if ((len > 5 && !strcmp(name + len - 5, ".pcap")) ||
		    (len > 7 && !strcmp(name + len - 7, ".pcapng"))) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			decode_file(path, &st);
			print_message("%-45s %7lu packets:", name, st.packets);
			for (unsigned int r = 0; r < RF_DEC__MAX; r++) {
				total.reasons[r] += st.reasons[r];
				if (st.reasons[r])
					print_message(" %s %lu", rf_decode_reason_name(r),
						      st.reasons[r]);
			}
			print_message("\n");
			total.packets += st.packets;
			files++;
		}
		free(names[i]);
	}
	free(names);
	print_message("%d files, %lu packets:", files, total.packets);
	for (unsigned int r = 0; r < RF_DEC__MAX; r++)
		print_message(" %s %lu", rf_decode_reason_name(r), total.reasons[r]);
	print_message("\n");
	assert_true(files > 0);
}

static void test_names(void **state)
{
	assert_string_equal(rf_layer_name(RF_LAYER_ETH), "eth");
	assert_string_equal(rf_layer_name(RF_LAYER_PWETH), "pwethcw");
	assert_string_equal(rf_layer_name(RF_LAYER_PPPOE), "pppoes");
	assert_string_equal(rf_layer_name(RF_LAYER_IPV6_EXT), "ipv6ext");
	assert_string_equal(rf_layer_name(RF_LAYER_TEREDO), "teredo");
	assert_string_equal(rf_layer_name(RF_LAYER_FABRICPATH), "cfp");
	assert_string_equal(rf_layer_name(RF_LAYER_CMD), "cmd");
	assert_string_equal(rf_layer_name(RF_LAYER_ARP), "arp");
	assert_string_equal(rf_layer_name(RF_LAYER_CAPWAP), "capwap");
	assert_string_equal(rf_layer_name(RF_LAYER_WLAN), "wlan");
	assert_string_equal(rf_layer_name(RF_LAYER_LLC), "llc");
	assert_string_equal(rf_layer_name(RF_LAYER__MAX), "?");
	assert_string_equal(rf_layer_name(1000), "?");
	for (unsigned int i = 1; i < RF_LAYER__MAX; i++)
		assert_string_not_equal(rf_layer_name(i), "?");
	assert_string_equal(rf_decode_reason_name(RF_DEC_OK), "ok");
	assert_string_equal(rf_decode_reason_name(RF_DEC_TRUNCATED), "truncated");
	assert_string_equal(rf_decode_reason_name(RF_DEC_MALFORMED), "malformed");
	assert_string_equal(rf_decode_reason_name(RF_DEC_NON_IP), "non_ip");
	assert_string_equal(rf_decode_reason_name(RF_DEC_TOO_DEEP), "too_deep");
	assert_string_equal(rf_decode_reason_name(RF_DEC_BAD_LINKTYPE), "bad_linktype");
	assert_string_equal(rf_decode_reason_name(RF_DEC__MAX), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_ipv4_tcp),
		cmocka_unit_test(test_eth_vlan_ipv6_udp),
		cmocka_unit_test(test_qinq_outermost_vlan),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_truncated_basic),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_ppp),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_bad_linktype),
		cmocka_unit_test(test_vlan_depth),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_mpls_no_bottom),
		cmocka_unit_test(test_pppoe),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_bad_lengths),
		cmocka_unit_test(test_ethernet_trailer),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_chain),
		cmocka_unit_test(test_ipv6_srv6),
		cmocka_unit_test(test_ipv6_home_address),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_esp),
		cmocka_unit_test(test_ipv6_odd),
		cmocka_unit_test(test_transports),
		cmocka_unit_test(test_gre),
		cmocka_unit_test(test_gre_teb_mpls),
		cmocka_unit_test(test_erspan),
		cmocka_unit_test(test_gre_pptp),
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_geneve),
		cmocka_unit_test(test_gtpu),
		cmocka_unit_test(test_teredo),
		cmocka_unit_test(test_ip_in_ip),
		cmocka_unit_test(test_tunnel_too_deep),
		cmocka_unit_test(test_eth_too_deep),
		cmocka_unit_test(test_truncate_deep_stack),
		cmocka_unit_test(test_truncate_others),
		cmocka_unit_test(test_fabricpath),
		cmocka_unit_test(test_cmd),
		cmocka_unit_test(test_pppoe_compressed),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_capwap_8023),
		cmocka_unit_test(test_capwap_opaque),
		cmocka_unit_test(test_capwap_80211),
		cmocka_unit_test(test_capwap_80211_other),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_real_captures),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
