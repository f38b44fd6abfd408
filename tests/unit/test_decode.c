/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Decoder tests. Packets are built here, header by header, with a small
 * builder; length fields (IPv4 total length, IPv6 payload length, UDP length,
 * GTP length) are filled in by pkt_finish() from where the packet ends.
 */
#include <arpa/inet.h>
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

/* ---- checks ---- */

#define A4 0x0a000001u
#define B4 0x0a000002u
#define C4 0xc0a80001u
#define D4 0xc0a80002u

static struct rf_decoded dec(const struct pkt *p, int linktype, unsigned int flags)
{
	struct rf_decoded d;
	int ret;

	/* Garbage in the arrays: the decoder must not rely on a cleared struct. */
	memset(&d, 0xa5, sizeof(d));
	ret = rf_decode(p->b, p->n, linktype, flags, &d);
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

static void test_names(void **state)
{
	assert_string_equal(rf_layer_name(RF_LAYER_ETH), "eth");
	assert_string_equal(rf_layer_name(RF_LAYER_PWETH), "pwethcw");
	assert_string_equal(rf_layer_name(RF_LAYER_PPPOE), "pppoes");
	assert_string_equal(rf_layer_name(RF_LAYER_IPV6_EXT), "ipv6ext");
	assert_string_equal(rf_layer_name(RF_LAYER_TEREDO), "teredo");
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
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
