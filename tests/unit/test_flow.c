/* SPDX-License-Identifier: BSD-2-Clause */
/* Flow hash, queue selection, mode names and the fragment table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/dlt.h>

#include "decode.h"
#include "flow.h"

/* A test packet: Ethernet, optional VLAN tags / MPLS labels, IPv4 or IPv6, TCP/UDP/ICMP. */
struct spec {
	int v6;
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport;
	int n_vlan;
	uint16_t vlan[2];
	int n_mpls;
	uint32_t mpls[2];
	int frag;	   /* 1: the packet is a fragment */
	uint16_t frag_off; /* bytes, multiple of 8 */
	int mf;
	uint32_t id;
	uint16_t payload; /* bytes after the IP header (L4 included) */
};

struct pkt {
	uint8_t b[2048];
	uint32_t len;
};

static void p8(struct pkt *p, uint8_t v)
{
	p->b[p->len++] = v;
}

static void p16(struct pkt *p, uint16_t v)
{
	p8(p, v >> 8);
	p8(p, v & 0xff);
}

static void p32(struct pkt *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p, v & 0xffff);
}

static void pn(struct pkt *p, const uint8_t *src, uint32_t n)
{
	memcpy(p->b + p->len, src, n);
	p->len += n;
}

static void put_l2(struct pkt *p, const struct spec *s)
{
	static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1}, mac_b[6] = {2, 0, 0, 0, 0, 2};
	int i;

	pn(p, mac_b, 6);
	pn(p, mac_a, 6);
	for (i = 0; i < s->n_vlan; i++) {
		p16(p, i == 0 && s->n_vlan > 1 ? 0x88a8 : 0x8100);
		p16(p, s->vlan[i]);
	}
	if (s->n_mpls) {
		p16(p, 0x8847);
		for (i = 0; i < s->n_mpls; i++)
			p32(p, s->mpls[i] << 12 | (i == s->n_mpls - 1 ? 0x100 : 0) | 64);
		return;
	}
	p16(p, s->v6 ? 0x86dd : 0x0800);
}

static void put_ip(struct pkt *p, const struct spec *s)
{
	if (!s->v6) {
		p8(p, 0x45);
		p8(p, 0);
		p16(p, 20 + s->payload);
		p16(p, (uint16_t)s->id);
		p16(p, (s->mf ? 0x2000 : 0) | (s->frag_off / 8));
		p8(p, 64);
		p8(p, s->proto);
		p16(p, 0);
		pn(p, s->src, 4);
		pn(p, s->dst, 4);
		return;
	}
	p32(p, 0x60000000);
	p16(p, s->payload + (s->frag ? 8 : 0));
	p8(p, s->frag ? 44 : s->proto);
	p8(p, 64);
	pn(p, s->src, 16);
	pn(p, s->dst, 16);
	if (s->frag) {
		p8(p, s->proto);
		p8(p, 0);
		p16(p, s->frag_off | (s->mf ? 1 : 0));
		p32(p, s->id);
	}
}

static void put_l4(struct pkt *p, const struct spec *s)
{
	uint32_t start = p->len, i;

	if (s->frag_off == 0 && (s->proto == 6 || s->proto == 17)) {
		p16(p, s->sport);
		p16(p, s->dport);
		if (s->proto == 6) {
			p32(p, 1);
			p32(p, 0);
			p16(p, 0x5010);
			p16(p, 1024);
			p32(p, 0);
		} else {
			p16(p, s->payload);
			p16(p, 0);
		}
	}
	for (i = p->len - start; i < s->payload; i++)
		p8(p, (uint8_t)i);
}

static void build(struct pkt *p, const struct spec *s)
{
	p->len = 0;
	put_l2(p, s);
	put_ip(p, s);
	put_l4(p, s);
}

static void decode(const struct pkt *p, struct rf_decoded *d)
{
	rf_decode(p->b, p->len, DLT_EN10MB, 0, d);
}

static uint32_t hash_of(enum rf_mode mode, const struct spec *s)
{
	struct rf_decoded d;
	struct pkt p;

	build(&p, s);
	decode(&p, &d);
	assert_int_equal(d.reason, RF_DEC_OK);
	return rf_flow_hash(mode, p.b, &d, 3, NULL);
}

static void spec_v4(struct spec *s, uint32_t a, uint32_t b, uint8_t proto, uint16_t sp, uint16_t dp)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 4; i++) {
		s->src[i] = (uint8_t)(a >> (24 - 8 * i));
		s->dst[i] = (uint8_t)(b >> (24 - 8 * i));
	}
	s->proto = proto;
	s->sport = sp;
	s->dport = dp;
	s->payload = 40;
}

static void spec_v6(struct spec *s, uint64_t seed, uint8_t proto, uint16_t sp, uint16_t dp)
{
	memset(s, 0, sizeof(*s));
	s->v6 = 1;
	for (int i = 0; i < 16; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		s->src[i] = (uint8_t)(seed >> 56);
		s->dst[i] = (uint8_t)(seed >> 48);
	}
	s->src[0] = 0x20;
	s->dst[0] = 0x2a;
	s->proto = proto;
	s->sport = sp;
	s->dport = dp;
	s->payload = 40;
}

static void reverse(struct spec *s)
{
	uint8_t t[16];
	uint16_t tp = s->sport;

	memcpy(t, s->src, 16);
	memcpy(s->src, s->dst, 16);
	memcpy(s->dst, t, 16);
	s->sport = s->dport;
	s->dport = tp;
}

static const enum rf_mode hash_modes[] = {RF_MODE_IP,		RF_MODE_5TUPLE, RF_MODE_INNER_IP,
					  RF_MODE_INNER_5TUPLE, RF_MODE_VLAN,	RF_MODE_IFACE};

static void check_symmetric(struct spec *s)
{
	for (size_t m = 0; m < sizeof(hash_modes) / sizeof(hash_modes[0]); m++) {
		struct spec r = *s;

		reverse(&r);
		assert_int_equal(hash_of(hash_modes[m], s), hash_of(hash_modes[m], &r));
	}
}

static void test_symmetry(void **state)
{
	struct spec s;

	spec_v4(&s, 0x0a000001, 0xc0a80102, 6, 40000, 80);
	check_symmetric(&s);
	spec_v4(&s, 0x0a000001, 0x0a000001, 17, 5353, 53); /* same address both ends */
	check_symmetric(&s);
	spec_v4(&s, 0x0a000001, 0x0a000002, 1, 0, 0);
	check_symmetric(&s);
	spec_v6(&s, 7, 6, 1234, 443);
	check_symmetric(&s);
	spec_v6(&s, 9, 17, 53, 53);
	check_symmetric(&s);
	memcpy(s.dst, s.src, 16); /* same IPv6 address, ports decide the order */
	s.sport = 1000;
	s.dport = 2000;
	check_symmetric(&s);
}

/* Different ports/protocols change 5tuple hashes but not ip hashes. */
static void test_ports_matter(void **state)
{
	struct spec a, b;

	spec_v4(&a, 0x0a000001, 0x0a000002, 6, 40000, 80);
	b = a;
	b.sport = 40001;
	assert_int_equal(hash_of(RF_MODE_IP, &a), hash_of(RF_MODE_IP, &b));
	assert_int_not_equal(hash_of(RF_MODE_5TUPLE, &a), hash_of(RF_MODE_5TUPLE, &b));
	b = a;
	b.proto = 17;
	assert_int_not_equal(hash_of(RF_MODE_5TUPLE, &a), hash_of(RF_MODE_5TUPLE, &b));
	spec_v6(&a, 3, 17, 1, 2);
	b = a;
	b.dport = 3;
	assert_int_equal(hash_of(RF_MODE_IP, &a), hash_of(RF_MODE_IP, &b));
	assert_int_not_equal(hash_of(RF_MODE_5TUPLE, &a), hash_of(RF_MODE_5TUPLE, &b));
	/* IPv4 and IPv6 hashes differ from each other. */
	assert_int_not_equal(hash_of(RF_MODE_IP, &a), 0);
}

static void test_vlan_mpls_ignored(void **state)
{
	const enum rf_mode modes[] = {RF_MODE_IP, RF_MODE_5TUPLE, RF_MODE_INNER_IP,
				      RF_MODE_INNER_5TUPLE};
	struct spec a, b, c;

	for (int v6 = 0; v6 < 2; v6++) {
		if (v6)
			spec_v6(&a, 11, 6, 5000, 22);
		else
			spec_v4(&a, 0x01020304, 0x05060708, 6, 5000, 22);
		b = a;
		b.n_vlan = 2;
		b.vlan[0] = 100;
		b.vlan[1] = 200;
		c = a;
		c.n_mpls = 2;
		c.mpls[0] = 1000;
		c.mpls[1] = 16;
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			assert_int_equal(hash_of(modes[m], &a), hash_of(modes[m], &b));
			assert_int_equal(hash_of(modes[m], &a), hash_of(modes[m], &c));
		}
		/* ...but the vlan mode sees the tag. */
		assert_int_not_equal(hash_of(RF_MODE_VLAN, &a), hash_of(RF_MODE_VLAN, &b));
		c = b;
		c.vlan[0] = 101;
		assert_int_not_equal(hash_of(RF_MODE_VLAN, &b), hash_of(RF_MODE_VLAN, &c));
	}
}

static void test_ipv6_all_bits(void **state)
{
	const enum rf_mode modes[] = {RF_MODE_IP, RF_MODE_5TUPLE};
	struct spec a, b;

	spec_v6(&a, 5, 17, 1000, 2000);
	for (size_t m = 0; m < 2; m++) {
		uint32_t h0 = hash_of(modes[m], &a);
		int changed = 0;

		for (int bit = 0; bit < 256; bit++) {
			b = a;
			if (bit < 128)
				b.src[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			else
				b.dst[(bit - 128) / 8] ^= (uint8_t)(1u << (bit % 8));
			changed += hash_of(modes[m], &b) != h0;
		}
		/* Every bit of both addresses matters (a flip may in theory collide). */
		assert_true(changed >= 254);
	}
}

static void test_queue_pick(void **state)
{
	const uint32_t hashes[] = {0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};

	for (uint32_t n = 1; n <= 64; n++) {
		for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
			assert_true(rf_queue_pick(hashes[i], n) < n);
		assert_int_equal(rf_queue_pick(0, n), 0);
		assert_int_equal(rf_queue_pick(0xffffffff, n), n - 1);
	}
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random flows spread evenly: every queue within 5% of the mean. */
static void check_spread(enum rf_mode mode, int v6, uint32_t n)
{
	const int flows = 200000;
	uint32_t count[16] = {0};
	struct spec s;

	for (int i = 0; i < flows; i++) {
		uint64_t r = xorshift();

		if (v6) {
			spec_v6(&s, r, 6, (uint16_t)(r >> 16), 443);
		} else {
			spec_v4(&s, 0x0a000000 | (uint32_t)(r & 0xffff),
				0xc0a80000 | (uint32_t)(r >> 16 & 0xff), 6,
				(uint16_t)(1024 + (r >> 24 & 0x3fff)), 80);
			if (mode == RF_MODE_IP)
				s.src[1] = (uint8_t)(r >> 40);
		}
		count[rf_queue_pick(hash_of(mode, &s), n)]++;
	}
	for (uint32_t q = 0; q < n; q++) {
		double mean = (double)flows / n;

		if (count[q] < mean * 0.95 || count[q] > mean * 1.05)
			fail_msg("mode %s v6=%d n=%u: queue %u has %u flows, mean %.0f",
				 rf_mode_name(mode), v6, n, q, count[q], mean);
	}
}

static void test_spread(void **state)
{
	const uint32_t ns[] = {4, 7, 16};

	for (size_t i = 0; i < 3; i++) {
		check_spread(RF_MODE_IP, 0, ns[i]);
		check_spread(RF_MODE_5TUPLE, 0, ns[i]);
		check_spread(RF_MODE_IP, 1, ns[i]);
		check_spread(RF_MODE_5TUPLE, 1, ns[i]);
	}
}

static void test_mode_parse(void **state)
{
	static const struct {
		const char *s;
		enum rf_mode m;
	} ok[] = {
		{"rr", RF_MODE_RR},
		{"ip", RF_MODE_IP},
		{"5tuple", RF_MODE_5TUPLE},
		{"inner-ip", RF_MODE_INNER_IP},
		{"inner-5tuple", RF_MODE_INNER_5TUPLE},
		{"vlan", RF_MODE_VLAN},
		{"iface", RF_MODE_IFACE},
		{"fanout", RF_MODE_FANOUT},
		{"0", RF_MODE_RR},
		{"1", RF_MODE_IP},
		{"2", RF_MODE_FANOUT},
		{"4", RF_MODE_INNER_5TUPLE},
		{"5", RF_MODE_INNER_IP},
		{"6", RF_MODE_IFACE},
	};
	static const char *const bad[] = {"3", "7", "-1", "", "IP", "ip ", "01", "5-tuple", "99"};
	enum rf_mode m;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(rf_mode_parse(ok[i].s, &m), 0);
		assert_int_equal(m, ok[i].m);
	}
	for (int i = 0; i < RF_MODE__MAX; i++) {
		assert_int_equal(rf_mode_parse(rf_mode_name((enum rf_mode)i), &m), 0);
		assert_int_equal(m, i);
		assert_non_null(strstr(rf_mode_help(), rf_mode_name((enum rf_mode)i)));
	}
	m = RF_MODE_VLAN;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rf_mode_parse(bad[i], &m), -EINVAL);
	assert_int_equal(m, RF_MODE_VLAN);
	assert_int_equal(rf_mode_parse(NULL, &m), -EINVAL);
	assert_string_equal(rf_mode_name(RF_MODE__MAX), "?");
}

/* Non-IP packets: stable and symmetric (the sorted MAC pair). */
static void test_non_ip(void **state)
{
	struct pkt p = {0}, r = {0};
	struct rf_decoded d;
	uint32_t h1, h2;

	for (int i = 0; i < 6; i++) {
		p.b[i] = (uint8_t)(0x10 + i);
		p.b[6 + i] = (uint8_t)(0x20 + i);
		r.b[i] = p.b[6 + i];
		r.b[6 + i] = p.b[i];
	}
	p.b[12] = r.b[12] = 0x08;
	p.b[13] = r.b[13] = 0x06; /* ARP */
	p.len = r.len = 60;
	decode(&p, &d);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	h1 = rf_flow_hash(RF_MODE_5TUPLE, p.b, &d, 0, NULL);
	decode(&r, &d);
	h2 = rf_flow_hash(RF_MODE_5TUPLE, r.b, &d, 0, NULL);
	assert_int_equal(h1, h2);
	assert_int_equal(rf_flow_hash(RF_MODE_IP, r.b, &d, 0, NULL), h2);
	r.b[11] ^= 1;
	decode(&r, &d);
	assert_int_not_equal(rf_flow_hash(RF_MODE_IP, r.b, &d, 0, NULL), h2);
}

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_1[6] = {2, 0, 0, 0, 0, 1}, mac_2[6] = {2, 0, 0, 0, 0, 2};

static void put_addr4(struct pkt *p, uint32_t a)
{
	p32(p, a);
}

/* ARP op (1 request, 2 reply) from sha/spa to tha/tpa, after the Ethernet type. */
static void put_arp(struct pkt *p, uint16_t op, const uint8_t *sha, uint32_t spa,
		    const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t none[6] = {0};

	p16(p, 0x0806);
	p32(p, 0x00010800);
	p16(p, 0x0604);
	p16(p, op);
	pn(p, sha, 6);
	put_addr4(p, spa);
	pn(p, op == 1 ? none : tha, 6);
	put_addr4(p, tpa);
	while (p->len < 60)
		p8(p, 0);
}

static void arp_frame(struct pkt *p, uint16_t op, uint32_t spa, uint32_t tpa)
{
	p->len = 0;
	pn(p, op == 1 ? mac_bcast : mac_1, 6);
	pn(p, mac_2, 6);
	put_arp(p, op, mac_2, spa, mac_1, tpa);
}

static uint32_t hash_pkt(enum rf_mode mode, const struct pkt *p, struct rf_flow_key *k)
{
	struct rf_decoded d;

	rf_decode(p->b, p->len, DLT_EN10MB, rf_mode_decode_flags(mode), &d);
	return rf_flow_hash(mode, p->b, &d, 3, k);
}

/*
 * An ARP request (to broadcast) and its reply hash alike in every IP-keyed
 * mode, on the protocol addresses: as ip mode hashes IP between them.
 */
static void test_arp(void **state)
{
	static const enum rf_mode modes[] = {RF_MODE_IP, RF_MODE_5TUPLE, RF_MODE_INNER_IP,
					     RF_MODE_INNER_5TUPLE};
	struct rf_flow_key k;
	struct pkt req, rep, other;
	struct spec s;
	uint32_t h;

	arp_frame(&req, 1, 0x0a000001, 0x0a000002);
	arp_frame(&rep, 2, 0x0a000002, 0x0a000001);
	arp_frame(&other, 1, 0x0a000001, 0x0a000003);
	spec_v4(&s, 0x0a000002, 0x0a000001, 6, 80, 1234);
	h = hash_of(RF_MODE_IP, &s);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(hash_pkt(modes[i], &req, &k), h);
		assert_int_equal(k.fields, RF_KEY_ADDR | RF_KEY_ARP);
		assert_int_equal(k.family, 4);
		assert_int_equal(k.ip_layer, 0xff);
		assert_memory_equal(k.src, "\x0a\x00\x00\x01", 4);
		assert_memory_equal(k.dst, "\x0a\x00\x00\x02", 4);
		assert_int_equal(hash_pkt(modes[i], &rep, NULL), h);
		assert_int_not_equal(hash_pkt(modes[i], &other, NULL), h);
	}
}

/* ARP in a VXLAN tunnel: the outer header in ip/5tuple, the ARP in the inner modes. */
static void test_arp_tunnelled(void **state)
{
	struct rf_decoded d;
	struct spec s;
	struct pkt p;
	uint32_t outer_ip, outer_5t;

	spec_v4(&s, 0xc0a80001, 0xc0a80002, 17, 40000, 4789);
	s.payload = 8 + 8 + 14 + 28; /* UDP, VXLAN, Ethernet, ARP */
	build(&p, &s);
	decode(&p, &d);
	outer_ip = rf_flow_hash(RF_MODE_IP, p.b, &d, 3, NULL);
	outer_5t = rf_flow_hash(RF_MODE_5TUPLE, p.b, &d, 3, NULL);
	p.len -= s.payload - 8;
	p32(&p, 0x08000000);
	p32(&p, 42 << 8);
	pn(&p, mac_bcast, 6);
	pn(&p, mac_2, 6);
	put_arp(&p, 1, mac_2, 0x0a000001, mac_1, 0x0a000002);
	decode(&p, &d);
	assert_int_equal(d.reason, RF_DEC_NON_IP);
	assert_int_equal(rf_flow_hash(RF_MODE_IP, p.b, &d, 3, NULL), outer_ip);
	assert_int_equal(rf_flow_hash(RF_MODE_5TUPLE, p.b, &d, 3, NULL), outer_5t);
	spec_v4(&s, 0x0a000001, 0x0a000002, 1, 0, 0);
	assert_int_equal(rf_flow_hash(RF_MODE_INNER_IP, p.b, &d, 3, NULL), hash_of(RF_MODE_IP, &s));
	assert_int_equal(rf_flow_hash(RF_MODE_INNER_5TUPLE, p.b, &d, 3, NULL),
			 hash_of(RF_MODE_IP, &s));
}

/* FabricPath header in front of frame p->b[0..len): switch addresses, 0x8903, FTag/TTL. */
static void fabricpath(struct pkt *out, const struct pkt *in)
{
	static const uint8_t sw_a[6] = {0x02, 0x0a, 0xbd, 0, 0, 0},
			     sw_b[6] = {0x02, 0x0a, 0xbc, 0, 0, 0};

	out->len = 0;
	pn(out, sw_a, 6);
	pn(out, sw_b, 6);
	p16(out, 0x8903);
	p16(out, 0x4020);
	pn(out, in->b, in->len);
}

/* The copies of a flow seen with and without FabricPath hash alike in every mode. */
static void test_fabricpath(void **state)
{
	struct pkt plain, fp;
	struct spec s;

	spec_v4(&s, 0xac1d0992, 0xac1d0993, 6, 38856, 8009);
	s.n_vlan = 1;
	s.vlan[0] = 7;
	s.payload = 40;
	build(&plain, &s);
	fabricpath(&fp, &plain);
	for (int m = 0; m < RF_MODE__MAX; m++)
		assert_int_equal(hash_pkt((enum rf_mode)m, &fp, NULL),
				 hash_pkt((enum rf_mode)m, &plain, NULL));

	/* Without IP: the frame's own MAC pair, not the switch addresses. */
	plain.len = 12;
	p16(&plain, 0x88cc); /* LLDP */
	while (plain.len < 60)
		p8(&plain, 0);
	fabricpath(&fp, &plain);
	assert_int_equal(hash_pkt(RF_MODE_IP, &fp, NULL), hash_pkt(RF_MODE_IP, &plain, NULL));
	plain.b[5] ^= 1;
	assert_int_not_equal(hash_pkt(RF_MODE_IP, &fp, NULL), hash_pkt(RF_MODE_IP, &plain, NULL));
	/* ARP in FabricPath: its addresses. */
	arp_frame(&plain, 2, 0x0a000002, 0x0a000001);
	fabricpath(&fp, &plain);
	assert_int_equal(hash_pkt(RF_MODE_5TUPLE, &fp, NULL),
			 hash_pkt(RF_MODE_5TUPLE, &plain, NULL));
}

static void test_key(void **state)
{
	struct rf_flow_key k;
	struct rf_decoded d;
	struct spec s;
	struct pkt p;

	spec_v4(&s, 0x0a000001, 0x0a000002, 17, 1111, 53);
	build(&p, &s);
	decode(&p, &d);
	rf_flow_hash(RF_MODE_5TUPLE, p.b, &d, 9, &k);
	assert_int_equal(k.family, 4);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.sport, 1111);
	assert_int_equal(k.dport, 53);
	assert_int_equal(k.ip_layer, 0);
	assert_memory_equal(k.src, s.src, 4);
	assert_memory_equal(k.dst, s.dst, 4);
	assert_true(k.fields & RF_KEY_PORTS);
	rf_flow_hash(RF_MODE_IP, p.b, &d, 9, &k);
	assert_false(k.fields & RF_KEY_PORTS);
	assert_int_equal(rf_flow_hash(RF_MODE_IFACE, p.b, &d, 9, &k),
			 rf_flow_hash(RF_MODE_IFACE, p.b, &d, 9, NULL));
	assert_int_equal(k.ifindex, 9);
	assert_int_not_equal(rf_flow_hash(RF_MODE_IFACE, p.b, &d, 9, NULL),
			     rf_flow_hash(RF_MODE_IFACE, p.b, &d, 10, NULL));
}

/* ---- fragment table ---- */

struct fr {
	struct pkt p;
	struct rf_decoded d;
	struct rf_flow_pkt fp;
};

static void mkfrag(struct fr *f, const struct spec *base, uint16_t off, int mf, uint64_t ts,
		   uint64_t cookie)
{
	struct spec s = *base;

	s.frag = 1;
	s.frag_off = off;
	s.mf = mf;
	build(&f->p, &s);
	decode(&f->p, &f->d);
	memset(&f->fp, 0, sizeof(f->fp));
	f->fp.data = f->p.b;
	f->fp.caplen = f->fp.wirelen = f->p.len;
	f->fp.ts_ns = ts;
	f->fp.linktype = DLT_EN10MB;
	f->fp.cookie = cookie;
}

static int classify(struct rf_flow *fl, struct fr *f, uint32_t *h)
{
	return rf_flow_classify(fl, &f->fp, &f->d, h, NULL);
}

static struct rf_flow *mkflow(enum rf_mode mode, uint32_t entries, uint32_t slots)
{
	struct rf_flow_opts o = {.sz = sizeof(o),
				 .table_entries = entries,
				 .hold_slots = slots,
				 .hold_timeout_ns = 1000,
				 .table_timeout_ns = 100000};
	struct rf_flow *f = NULL;

	assert_int_equal(rf_flow_new(mode, &o, &f), 0);
	return f;
}

static void frag_spec(struct spec *s, int v6, uint32_t id)
{
	if (v6)
		spec_v6(s, 21, 17, 5000, 53);
	else
		spec_v4(s, 0x0a000001, 0x0a000002, 17, 5000, 53);
	s->id = id;
	s->payload = 64;
}

static void check_in_order(int v6)
{
	struct rf_flow *fl = mkflow(RF_MODE_5TUPLE, 0, 0);
	struct rf_flow_stats st;
	struct rf_flow_pkt out;
	struct spec s;
	struct fr a, b, c;
	uint32_t whole, h1 = 0, h2 = 0, h3 = 0;

	frag_spec(&s, v6, 77);
	whole = hash_of(RF_MODE_5TUPLE, &s);
	mkfrag(&a, &s, 0, 1, 10, 1);
	mkfrag(&b, &s, 64, 1, 11, 2);
	mkfrag(&c, &s, 128, 0, 12, 3);
	/* Without the table the later fragments would hash on addresses + protocol. */
	assert_int_not_equal(rf_flow_hash(RF_MODE_5TUPLE, b.p.b, &b.d, 0, NULL), whole);
	assert_int_equal(classify(fl, &a, &h1), RF_FLOW_HASH);
	assert_int_equal(classify(fl, &b, &h2), RF_FLOW_HASH);
	assert_int_equal(classify(fl, &c, &h3), RF_FLOW_HASH);
	assert_int_equal(h1, whole);
	assert_int_equal(h2, whole);
	assert_int_equal(h3, whole);
	assert_int_equal(rf_flow_next_released(fl, &out, &h1, NULL), 0);
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_first, 1);
	assert_int_equal(st.frag_tied, 2);
	assert_int_equal(st.frag_held, 0);
	rf_flow_free(fl);
}

static void test_frag_in_order(void **state)
{
	check_in_order(0);
	check_in_order(1);
}

static void check_out_of_order(int v6)
{
	struct rf_flow *fl = mkflow(RF_MODE_5TUPLE, 0, 0);
	struct rf_flow_stats st;
	struct rf_flow_pkt out;
	struct rf_flow_key key;
	struct spec s;
	struct fr a, b, c;
	uint32_t whole, h = 0, seen = 0;

	frag_spec(&s, v6, 0x1234);
	whole = hash_of(RF_MODE_5TUPLE, &s);
	mkfrag(&c, &s, 128, 0, 10, 3);
	mkfrag(&b, &s, 64, 1, 11, 2);
	mkfrag(&a, &s, 0, 1, 12, 1);
	assert_int_equal(classify(fl, &c, &h), RF_FLOW_HELD);
	assert_int_equal(rf_flow_next_released(fl, &out, &h, NULL), 0);
	/* The caller may reuse its buffer: the held copy must not change. */
	memset(c.p.b, 0xee, sizeof(c.p.b));
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HELD);
	assert_int_equal(classify(fl, &a, &h), RF_FLOW_HASH);
	assert_int_equal(h, whole);
	while (rf_flow_next_released(fl, &out, &h, &key)) {
		struct fr ref;

		assert_int_equal(h, whole);
		assert_true(out.cookie == 2 || out.cookie == 3);
		mkfrag(&ref, &s, out.cookie == 3 ? 128 : 64, out.cookie == 2, 0, 0);
		assert_int_equal(out.caplen, ref.p.len);
		assert_memory_equal(out.data, ref.p.b, ref.p.len);
		assert_int_equal(out.ts_ns, out.cookie == 3 ? 10 : 11);
		assert_true(key.fields & RF_KEY_FRAG_TIED);
		assert_int_equal(key.sport, 5000);
		assert_int_equal(key.dport, 53);
		seen |= 1u << out.cookie;
	}
	assert_int_equal(seen, (1u << 2) | (1u << 3));
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_held, 2);
	assert_int_equal(st.frag_released, 2);
	assert_int_equal(st.frag_expired, 0);
	rf_flow_free(fl);
}

static void test_frag_out_of_order(void **state)
{
	check_out_of_order(0);
	check_out_of_order(1);
}

static void test_frag_expiry(void **state)
{
	struct rf_flow *fl = mkflow(RF_MODE_5TUPLE, 0, 0);
	struct rf_flow_stats st;
	struct rf_flow_pkt out;
	struct spec s;
	struct fr b, a;
	uint32_t h = 0, fallback;

	frag_spec(&s, 0, 9);
	mkfrag(&b, &s, 64, 0, 100, 2);
	fallback = rf_flow_hash(RF_MODE_5TUPLE, b.p.b, &b.d, 0, NULL);
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HELD);
	rf_flow_expire(fl, 500); /* hold timeout is 1000 ns */
	assert_int_equal(rf_flow_next_released(fl, &out, &h, NULL), 0);
	rf_flow_expire(fl, 1100);
	assert_int_equal(rf_flow_next_released(fl, &out, &h, NULL), 1);
	assert_int_equal(out.cookie, 2);
	assert_int_equal(h, fallback);
	assert_int_equal(rf_flow_next_released(fl, &out, &h, NULL), 0);
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_expired, 1);
	/* A first fragment arriving later does not bring it back. */
	mkfrag(&a, &s, 0, 1, 1200, 1);
	assert_int_equal(classify(fl, &a, &h), RF_FLOW_HASH);
	assert_int_equal(rf_flow_next_released(fl, &out, &h, NULL), 0);

	/* Table entries expire too: after table_timeout a later fragment is held again. */
	mkfrag(&b, &s, 64, 0, 1300, 2);
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HASH);
	mkfrag(&b, &s, 64, 0, 1200 + 100001, 2);
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HELD);
	rf_flow_flush(fl);
	assert_int_equal(rf_flow_next_released(fl, &out, &h, NULL), 1);
	assert_int_equal(h, fallback);
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_expired, 2);
	assert_int_equal(st.frag_tied, 1);
	rf_flow_free(fl);
}

static void test_frag_table_full(void **state)
{
	/* 8 slots: the probe window covers the whole table. */
	struct rf_flow *fl = mkflow(RF_MODE_5TUPLE, 8, 4);
	struct rf_flow_stats st;
	struct spec s;
	struct fr a, b;
	uint32_t h = 0, whole;

	for (uint32_t id = 0; id < 8; id++) {
		frag_spec(&s, 0, id);
		mkfrag(&a, &s, 0, 1, 10, id);
		assert_int_equal(classify(fl, &a, &h), RF_FLOW_HASH);
	}
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_first, 8);
	assert_int_equal(st.frag_table_full, 0);
	frag_spec(&s, 0, 100);
	s.sport = 6000;
	whole = hash_of(RF_MODE_5TUPLE, &s);
	mkfrag(&a, &s, 0, 1, 10, 100);
	assert_int_equal(classify(fl, &a, &h), RF_FLOW_HASH);
	assert_int_equal(h, whole); /* the first fragment itself keeps its ports */
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_table_full, 1);
	/* Its later fragment cannot be tied: held, then released with the fallback. */
	mkfrag(&b, &s, 64, 0, 11, 101);
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HELD);
	rf_flow_free(fl);
}

static void test_frag_hold_full(void **state)
{
	struct rf_flow *fl = mkflow(RF_MODE_5TUPLE, 0, 2);
	struct rf_flow_key key;
	struct rf_flow_stats st;
	struct rf_flow_pkt out;
	struct spec s;
	struct fr b;
	uint32_t h = 0, n = 0;

	for (uint32_t id = 0; id < 2; id++) {
		frag_spec(&s, 0, id);
		mkfrag(&b, &s, 64, 0, 10, id);
		assert_int_equal(classify(fl, &b, &h), RF_FLOW_HELD);
	}
	frag_spec(&s, 0, 5);
	mkfrag(&b, &s, 64, 0, 10, 5);
	assert_int_equal(rf_flow_classify(fl, &b.fp, &b.d, &h, &key), RF_FLOW_HASH);
	assert_int_equal(h, rf_flow_hash(RF_MODE_5TUPLE, b.p.b, &b.d, 0, NULL));
	assert_true(key.fields & RF_KEY_FRAG_FALLBACK);
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_hold_full, 1);
	assert_int_equal(st.frag_held, 2);
	/* Too big for a hold slot. */
	{
		struct rf_flow_opts o = {.sz = sizeof(o), .hold_bytes = 64};
		struct rf_flow *small = NULL;

		assert_int_equal(rf_flow_new(RF_MODE_5TUPLE, &o, &small), 0);
		assert_int_equal(classify(small, &b, &h), RF_FLOW_HASH);
		rf_flow_get_stats(small, &st);
		assert_int_equal(st.frag_hold_big, 1);
		rf_flow_free(small);
	}
	rf_flow_flush(fl);
	while (rf_flow_next_released(fl, &out, &h, NULL))
		n++;
	assert_int_equal(n, 2);
	/* Slots are free again. */
	mkfrag(&b, &s, 64, 0, 20, 5);
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HELD);
	rf_flow_free(fl);
}

/* ICMP fragments and ip mode need no table; atomic fragments are whole packets. */
static void test_frag_no_table(void **state)
{
	struct rf_flow *fl = mkflow(RF_MODE_5TUPLE, 0, 0), *ipf = mkflow(RF_MODE_IP, 0, 0);
	struct rf_flow_stats st;
	struct spec s;
	struct fr b;
	uint32_t h = 0;

	frag_spec(&s, 0, 3);
	mkfrag(&b, &s, 64, 1, 10, 1);
	assert_int_equal(classify(ipf, &b, &h), RF_FLOW_HASH);
	assert_int_equal(h, hash_of(RF_MODE_IP, &s));
	s.proto = 1;
	mkfrag(&b, &s, 64, 1, 10, 1);
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HASH);
	frag_spec(&s, 1, 3);
	mkfrag(&b, &s, 0, 0, 10, 1); /* IPv6 atomic fragment */
	assert_int_equal(classify(fl, &b, &h), RF_FLOW_HASH);
	assert_int_equal(h, hash_of(RF_MODE_5TUPLE, &s));
	rf_flow_get_stats(fl, &st);
	assert_int_equal(st.frag_first + st.frag_held + st.frag_tied, 0);
	rf_flow_free(fl);
	rf_flow_free(ipf);
}

/*
 * IPv4-in-IPv4 whose outer header is fragmented: only the first fragment
 * shows the inner header. In the inner modes the later fragment must follow
 * it (held when it comes first), and report the inner key.
 */
static void mk_ipip_frag(struct fr *f, int first, uint16_t inner_sport, uint64_t ts)
{
	struct spec in;
	struct pkt *p = &f->p;
	uint16_t payload = 96; /* inner datagram: 20 + 20 + 56 */

	spec_v4(&in, 0xac100001, 0xac100002, 6, inner_sport, 443);
	p->len = 0;
	pn(p, (const uint8_t *)"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	p8(p, 0x45);
	p8(p, 0);
	p16(p, (uint16_t)(20 + (first ? 48 : payload - 48)));
	p16(p, 0x4242);
	p16(p, first ? 0x2000 : 48 / 8);
	p8(p, 64);
	p8(p, 4);
	p16(p, 0);
	p32(p, 0xc0000201);
	p32(p, 0xc0000202);
	if (first) {
		in.payload = payload - 20;
		put_ip(p, &in);
		put_l4(p, &in);
		p->len = 14 + 20 + 48; /* the rest is in the second fragment */
	} else {
		for (int i = 0; i < payload - 48; i++)
			p8(p, (uint8_t)i);
	}
	decode(p, &f->d);
	memset(&f->fp, 0, sizeof(f->fp));
	f->fp.data = p->b;
	f->fp.caplen = f->fp.wirelen = p->len;
	f->fp.ts_ns = ts;
	f->fp.linktype = DLT_EN10MB;
	f->fp.cookie = first ? 1 : 2;
}

static void test_frag_tunnel(void **state)
{
	const enum rf_mode modes[] = {RF_MODE_INNER_IP, RF_MODE_INNER_5TUPLE};

	for (size_t m = 0; m < 2; m++) {
		struct rf_flow *fl = mkflow(modes[m], 0, 0);
		struct rf_flow_pkt out;
		struct rf_flow_key key;
		struct fr a, b;
		uint32_t ha = 0, hb = 0, hr = 0;

		mk_ipip_frag(&a, 1, 5555, 10);
		mk_ipip_frag(&b, 0, 5555, 11);
		assert_int_equal(a.d.n_ip, 2);
		assert_int_equal(b.d.n_ip, 1);
		/* In order. */
		assert_int_equal(classify(fl, &a, &ha), RF_FLOW_HASH);
		assert_int_equal(ha, rf_flow_hash(modes[m], a.p.b, &a.d, 0, NULL));
		assert_int_equal(rf_flow_classify(fl, &b.fp, &b.d, &hb, &key), RF_FLOW_HASH);
		assert_int_equal(hb, ha);
		assert_true(key.fields & RF_KEY_FRAG_TIED);
		assert_int_equal(key.ip_layer, 1);
		assert_memory_equal(key.src, "\xac\x10\x00\x01", 4);
		rf_flow_free(fl);

		/* Out of order, another datagram id space: a new flow object. */
		fl = mkflow(modes[m], 0, 0);
		mk_ipip_frag(&b, 0, 6666, 20);
		assert_int_equal(classify(fl, &b, &hb), RF_FLOW_HELD);
		mk_ipip_frag(&a, 1, 6666, 21);
		assert_int_equal(classify(fl, &a, &ha), RF_FLOW_HASH);
		assert_int_equal(rf_flow_next_released(fl, &out, &hr, &key), 1);
		assert_int_equal(out.cookie, 2);
		assert_int_equal(hr, ha);
		assert_int_equal(key.ip_layer, 1);
		if (modes[m] == RF_MODE_INNER_5TUPLE)
			assert_int_equal(key.sport, 6666);
		/* ...and that is not the outer header's hash. */
		assert_int_not_equal(hr, rf_flow_hash(modes[m], out.data, &b.d, 0, NULL));
		rf_flow_free(fl);
	}
}

static void test_bad_opts(void **state)
{
	struct rf_flow_opts o = {.sz = 4};
	struct rf_flow *f = NULL;

	assert_int_equal(rf_flow_new(RF_MODE_5TUPLE, &o, &f), -EINVAL);
	assert_int_equal(rf_flow_new(RF_MODE__MAX, NULL, &f), -EINVAL);
	assert_null(f);
	rf_flow_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symmetry),
		cmocka_unit_test(test_ports_matter),
		cmocka_unit_test(test_vlan_mpls_ignored),
		cmocka_unit_test(test_ipv6_all_bits),
		cmocka_unit_test(test_queue_pick),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_mode_parse),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_arp_tunnelled),
		cmocka_unit_test(test_fabricpath),
		cmocka_unit_test(test_frag_in_order),
		cmocka_unit_test(test_frag_out_of_order),
		cmocka_unit_test(test_frag_expiry),
		cmocka_unit_test(test_frag_table_full),
		cmocka_unit_test(test_frag_hold_full),
		cmocka_unit_test(test_frag_no_table),
		cmocka_unit_test(test_frag_tunnel),
		cmocka_unit_test(test_bad_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
