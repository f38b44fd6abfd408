/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a broker does to packets (broker.h): stripping compared with the
 * frame built without the stripped headers, the de-duplication signature
 * and window, filters, and the per-queue options of the balancer's config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "broker.h"
#include "config.h"
#include "decode.h"
#include "flow.h"
/* pktbuild.h names the IPv4 header's MF bit as decode.h names rf_ip's: the builder's here. */
#undef RF_IP_MF
#include "pktbuild.h"

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a}, mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 0x0c}, mac_d[6] = {0x02, 0, 0, 0, 0, 0x0d};
static const uint8_t ip_a[4] = {10, 0, 0, 1}, ip_b[4] = {10, 0, 0, 2};
static const uint8_t ip_c[4] = {192, 168, 1, 1}, ip_d[4] = {192, 168, 1, 2};

/* The innermost part every packet below carries: IPv4/TCP with a payload. */
static void inner_tcp(struct rf_pb *b, uint16_t id, uint8_t ttl)
{
	rf_pb_ipv4(b, ip_c, ip_d, 6, id, RF_IP_DF, ttl);
	rf_pb_tcp(b, 40000, 80, 1000, 2000, RF_TCP_ACK | RF_TCP_PSH, 512, NULL, 0);
	rf_pb_fill(b, 100, 7);
}

struct pkt {
	uint8_t b[2048];
	uint32_t len;
	struct rf_decoded d;
};

static void finish(struct pkt *p, struct rf_pb *b)
{
	int n = rf_pb_finish(b, 0);

	assert_true(n > 0);
	p->len = (uint32_t)n;
	rf_decode(p->b, p->len, DLT_EN10MB, 0, &p->d);
}

/* The frame a strip must give: MACs c->d, then IPv4/TCP. */
static void plain(struct pkt *p, const uint8_t *dst, const uint8_t *src)
{
	struct rf_pb b;

	rf_pb_init(&b, p->b, sizeof(p->b));
	rf_pb_eth(&b, dst, src, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(p, &b);
}

static bool strip(const struct pkt *p, unsigned int what, uint8_t *buf, struct rf_frame *out)
{
	struct rf_frame in = {p->b, p->len, p->len};

	return rf_strip(&in, &p->d, what, buf, out);
}

static void assert_frame(const struct rf_frame *out, const struct pkt *want)
{
	assert_int_equal(out->caplen, want->len);
	assert_int_equal(out->wirelen, want->len);
	assert_memory_equal(out->data, want->b, want->len);
}

static uint8_t sbuf[RF_STRIP_BUF];

static void test_strip_vlan(void **state)
{
	struct pkt p, want;
	struct rf_frame out;
	struct rf_pb b;

	rf_pb_init(&b, p.b, sizeof(p.b));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_QINQ);
	rf_pb_vlan(&b, 100, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 200, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	plain(&want, mac_b, mac_a);
	assert_true(strip(&p, RF_STRIP_VLAN, sbuf, &out));
	assert_frame(&out, &want);
	/* Nothing else to strip: the frame as it is. */
	assert_false(strip(&p, RF_STRIP_MPLS | RF_STRIP_TUNNEL, sbuf, &out));
	assert_ptr_equal(out.data, p.b);
	assert_int_equal(out.caplen, p.len);
	assert_false(strip(&want, RF_STRIP_ALL, sbuf, &out));
}

static void test_strip_mpls(void **state)
{
	struct pkt p, want;
	struct rf_frame out;
	struct rf_pb b;

	/* A tag, then two labels, then IPv4: stripping labels keeps the tag. */
	rf_pb_init(&b, p.b, sizeof(p.b));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 5, RF_ETH_P_MPLS);
	rf_pb_mpls(&b, 100, 0, false, 64);
	rf_pb_mpls(&b, 200, 0, true, 64);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	rf_pb_init(&b, want.b, sizeof(want.b));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 5, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&want, &b);
	assert_true(strip(&p, RF_STRIP_MPLS, sbuf, &out));
	assert_frame(&out, &want);
	plain(&want, mac_b, mac_a);
	assert_true(strip(&p, RF_STRIP_MPLS | RF_STRIP_VLAN, sbuf, &out));
	assert_frame(&out, &want);
}

static void test_strip_pseudowire(void **state)
{
	static const uint8_t cw[4] = {0};
	struct pkt p, want;
	struct rf_frame out;
	struct rf_pb b;

	rf_pb_init(&b, p.b, sizeof(p.b));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_MPLS);
	rf_pb_mpls(&b, 16, 0, true, 255);
	rf_pb_bytes(&b, cw, sizeof(cw));
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 7, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	/* The pseudowire's frame, a suffix: no copy. */
	assert_true(strip(&p, RF_STRIP_MPLS, sbuf, &out));
	assert_ptr_equal(out.data, p.b + 22);
	assert_int_equal(out.caplen, p.len - 22);
	assert_int_equal(out.wirelen, p.len - 22);
	/* And stripped again. */
	plain(&want, mac_d, mac_c);
	assert_true(strip(&p, RF_STRIP_MPLS | RF_STRIP_VLAN, sbuf, &out));
	assert_frame(&out, &want);
}

static void outer_udp(struct rf_pb *b, uint16_t dport, uint16_t frag)
{
	rf_pb_eth(b, mac_b, mac_a, RF_ETH_P_VLAN);
	rf_pb_vlan(b, 9, RF_ETH_P_IPV4);
	rf_pb_ipv4(b, ip_a, ip_b, 17, 77, frag, 64);
	rf_pb_udp(b, 5555, dport);
}

static void test_strip_vxlan(void **state)
{
	struct pkt p, want;
	struct rf_frame out;
	struct rf_pb b;

	rf_pb_init(&b, p.b, sizeof(p.b));
	outer_udp(&b, 4789, 0);
	rf_pb_vxlan(&b, 42);
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 3, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	/* The inner frame (with its own tag) is a suffix of the packet. */
	assert_true(strip(&p, RF_STRIP_TUNNEL, sbuf, &out));
	assert_ptr_equal(out.data, p.b + 18 + 20 + 8 + 8);
	assert_int_equal(out.caplen, p.len - 54);
	plain(&want, mac_d, mac_c);
	assert_true(strip(&p, RF_STRIP_TUNNEL | RF_STRIP_VLAN, sbuf, &out));
	assert_frame(&out, &want);
	/* A trailer after the outer IP packet is not part of the inner frame. */
	memset(p.b + p.len, 0xee, 6);
	p.len += 6;
	rf_decode(p.b, p.len, DLT_EN10MB, 0, &p.d);
	assert_true(strip(&p, RF_STRIP_TUNNEL | RF_STRIP_VLAN, sbuf, &out));
	assert_frame(&out, &want);
	/* Decoded only to the outer IP header: there is no tunnel to strip. */
	rf_decode(p.b, p.len, DLT_EN10MB, RF_DECODE_OUTER, &p.d);
	assert_false(strip(&p, RF_STRIP_TUNNEL, sbuf, &out));
}

static void test_strip_ip_tunnel(void **state)
{
	struct pkt p, want;
	struct rf_frame out;
	struct rf_pb b;

	/* GTP-U carries IP, not a mirrored frame: left as it is. */
	rf_pb_init(&b, p.b, sizeof(p.b));
	outer_udp(&b, 2152, 0);
	rf_pb_gtpu(&b, 0x1234, true, 9);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	assert_false(strip(&p, RF_STRIP_TUNNEL, sbuf, &out));
	/* GRE bridging a frame that carries IP-in-IP: the frame, its tunnel kept. */
	rf_pb_init(&b, p.b, sizeof(p.b));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip_a, ip_b, 47, 5, 0, 64);
	rf_pb_gre(&b, RF_ETH_P_TEB, false, 0);
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip_b, ip_a, 4, 6, 0, 64);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	rf_pb_init(&b, want.b, sizeof(want.b));
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip_b, ip_a, 4, 6, 0, 64);
	inner_tcp(&b, 1, 64);
	finish(&want, &b);
	assert_true(strip(&p, RF_STRIP_TUNNEL, sbuf, &out));
	assert_frame(&out, &want);
}

static void test_strip_nested(void **state)
{
	struct pkt p, want;
	struct rf_frame out;
	struct rf_pb b;

	/* VXLAN mirroring a packet that was itself in Geneve: only the mirroring goes. */
	rf_pb_init(&b, p.b, sizeof(p.b));
	outer_udp(&b, 4789, 0);
	rf_pb_vxlan(&b, 42);
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip_b, ip_a, 17, 8, 0, 64);
	rf_pb_udp(&b, 7000, 6081);
	rf_pb_geneve(&b, 7, RF_ETH_P_TEB);
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	rf_pb_init(&b, want.b, sizeof(want.b));
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip_b, ip_a, 17, 8, 0, 64);
	rf_pb_udp(&b, 7000, 6081);
	rf_pb_geneve(&b, 7, RF_ETH_P_TEB);
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&want, &b);
	assert_true(strip(&p, RF_STRIP_TUNNEL, sbuf, &out));
	assert_frame(&out, &want);
	assert_ptr_equal(out.data, p.b + 54);
}

static void test_strip_fragment(void **state)
{
	struct pkt p;
	struct rf_frame out;
	struct rf_pb b;

	/* A first fragment's inner frame goes on in the next fragment: left whole. */
	rf_pb_init(&b, p.b, sizeof(p.b));
	outer_udp(&b, 4789, RF_IP_MF);
	rf_pb_vxlan(&b, 42);
	rf_pb_eth(&b, mac_d, mac_c, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	assert_false(strip(&p, RF_STRIP_TUNNEL, sbuf, &out));
	assert_ptr_equal(out.data, p.b);
	/* Its outer tag still goes. */
	assert_true(strip(&p, RF_STRIP_TUNNEL | RF_STRIP_VLAN, sbuf, &out));
	assert_int_equal(out.caplen, p.len - 4);
}

static void test_strip_truncated(void **state)
{
	struct pkt p;
	struct rf_frame in, out;
	struct rf_pb b;

	rf_pb_init(&b, p.b, sizeof(p.b));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 5, RF_ETH_P_IPV4);
	inner_tcp(&b, 1, 64);
	finish(&p, &b);
	/* Captured 40 of the bytes: the wire length shrinks by the tag too. */
	in = (struct rf_frame){p.b, 40, p.len};
	rf_decode(p.b, 40, DLT_EN10MB, 0, &p.d);
	assert_true(rf_strip(&in, &p.d, RF_STRIP_VLAN, sbuf, &out));
	assert_int_equal(out.caplen, 36);
	assert_int_equal(out.wirelen, p.len - 4);
	/* Not Ethernet: nothing. */
	p.d.layers[0] = RF_LAYER_SLL;
	assert_false(rf_strip(&in, &p.d, RF_STRIP_VLAN, sbuf, &out));
}

static void test_strip_names(void **state)
{
	unsigned int s;
	char buf[32];

	assert_int_equal(rf_strip_parse("vlan", &s), 0);
	assert_int_equal(s, RF_STRIP_VLAN);
	assert_int_equal(rf_strip_parse("tunnel,vlan,mpls", &s), 0);
	assert_int_equal(s, RF_STRIP_ALL);
	assert_int_equal(rf_strip_parse("none", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(rf_strip_parse("vlan,", &s), -EINVAL);
	assert_int_equal(rf_strip_parse("vlans", &s), -EINVAL);
	assert_int_equal(rf_strip_parse("", &s), -EINVAL);
	rf_strip_format(RF_STRIP_TUNNEL | RF_STRIP_VLAN, buf, sizeof(buf));
	assert_string_equal(buf, "vlan,tunnel");
	rf_strip_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
}

/* ---- de-duplication ---- */

/* IPv4/TCP seen at a router's two sides: other MACs, a tag, the TTL one less. */
static uint64_t sig_of(bool tagged, const uint8_t *src_mac, uint16_t id, uint8_t ttl,
		       uint32_t payload_seed)
{
	struct pkt p;
	struct rf_pb b;

	rf_pb_init(&b, p.b, sizeof(p.b));
	rf_pb_eth(&b, mac_b, src_mac, tagged ? RF_ETH_P_VLAN : RF_ETH_P_IPV4);
	if (tagged)
		rf_pb_vlan(&b, 10, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip_c, ip_d, 6, id, RF_IP_DF, ttl);
	rf_pb_tcp(&b, 40000, 80, 1000, 2000, RF_TCP_ACK, 512, NULL, 0);
	rf_pb_fill(&b, 100, payload_seed);
	assert_true(rf_pb_finish(&b, RF_ETH_ZLEN) > 0);
	p.len = b.len;
	rf_decode(p.b, p.len, DLT_EN10MB, RF_DECODE_OUTER, &p.d);
	return rf_dedup_signature(p.b, p.len, &p.d);
}

static void test_dedup_signature(void **state)
{
	uint64_t s = sig_of(false, mac_a, 1, 64, 7);
	uint8_t a[100], c[100];
	struct rf_decoded d;

	assert_true(s == sig_of(true, mac_c, 1, 63, 7));   /* TTL, checksum, MACs, tag */
	assert_false(s == sig_of(false, mac_a, 2, 64, 7)); /* IP ID: a retransmission */
	assert_false(s == sig_of(false, mac_a, 1, 64, 8)); /* payload */
	/* Without IP, the whole frame counts. */
	memset(a, 1, sizeof(a));
	memcpy(c, a, sizeof(a));
	c[99] = 2;
	rf_decode(a, sizeof(a), DLT_EN10MB, 0, &d);
	s = rf_dedup_signature(a, sizeof(a), &d);
	assert_true(s == rf_dedup_signature(a, sizeof(a), &d));
	assert_false(s == rf_dedup_signature(c, sizeof(c), &d));
	assert_false(s == rf_dedup_signature(a, sizeof(a) - 1, &d));
}

static void test_dedup_window(void **state)
{
	struct rf_dedup *t;
	uint64_t i;

	assert_int_equal(rf_dedup_new(6, 1000, &t), -EINVAL);
	assert_int_equal(rf_dedup_new(64, 1000, &t), 0);
	assert_true(rf_dedup_seen(t, 42, 1000000) == RF_DEDUP_NOT_SEEN);
	assert_int_equal(rf_dedup_seen(t, 42, 1000300), 300);
	/* A copy does not extend the window; a clock a little behind still matches. */
	assert_int_equal(rf_dedup_seen(t, 42, 1001000), 1000);
	assert_int_equal(rf_dedup_seen(t, 42, 999800), 200);
	assert_true(rf_dedup_seen(t, 42, 1001001) == RF_DEDUP_NOT_SEEN);
	assert_int_equal(rf_dedup_seen(t, 42, 1001500), 499);
	assert_true(rf_dedup_seen(t, 43, 1001500) == RF_DEDUP_NOT_SEEN);
	assert_int_equal(rf_dedup_evicted(t), 0);
	/* 64 entries, 16 buckets of 4: the fifth live packet of a bucket pushes one out. */
	for (i = 0; i < 5; i++)
		assert_true(rf_dedup_seen(t, 5 + 16 * i, 2000000 + i) == RF_DEDUP_NOT_SEEN);
	assert_int_equal(rf_dedup_evicted(t), 1);
	assert_true(rf_dedup_seen(t, 5, 2000010) == RF_DEDUP_NOT_SEEN); /* the oldest went */
	assert_int_equal(rf_dedup_seen(t, 5 + 16 * 4, 2000010), 6);
	rf_dedup_free(t);
	rf_dedup_free(NULL);
}

/* ---- filters ---- */

static void test_filter(void **state)
{
	struct rf_filter *f = NULL;
	char err[PCAP_ERRBUF_SIZE] = "";
	struct pkt p;

	plain(&p, mac_b, mac_a);
	assert_int_equal(rf_filter_compile("tcp port 80", DLT_EN10MB, &f, err, sizeof(err)), 0);
	assert_true(rf_filter_match(f, p.b, p.len, p.len));
	assert_string_equal(rf_filter_expr(f), "tcp port 80");
	rf_filter_free(f);
	assert_int_equal(rf_filter_compile("udp or port 53", DLT_EN10MB, &f, err, sizeof(err)), 0);
	assert_false(rf_filter_match(f, p.b, p.len, p.len));
	rf_filter_free(f);
	assert_int_equal(rf_filter_compile("port eighty", DLT_EN10MB, &f, err, sizeof(err)),
			 -EINVAL);
	assert_true(strlen(err) > 0);
	rf_filter_free(NULL);
}

/* ---- a second stage of distribution (--hash-seed) ---- */

static void test_hash_seed(void **state)
{
	uint32_t n[2][2] = {{0}}, h, i;

	assert_int_equal(rf_hash_reseed(0x12345678, 0), 0x12345678);
	/* The hashes queue 0 of a 2-queue first stage gets: the same hash puts them all on
	 * queue 0 of a 2-queue second stage; a seed spreads them. */
	for (i = 0; i < 100000; i++) {
		h = (i * 2654435761u) >> 1; /* below 2^31: queue 0 of 2 */
		assert_int_equal(rf_queue_pick(h, 2), 0);
		n[0][rf_queue_pick(rf_hash_reseed(h, 0), 2)]++;
		n[1][rf_queue_pick(rf_hash_reseed(h, 7), 2)]++;
	}
	assert_int_equal(n[0][1], 0);
	assert_true(n[1][0] > 45000 && n[1][1] > 45000);
	assert_true(rf_hash_reseed(1, 7) != rf_hash_reseed(1, 8));
}

/* ---- per-queue options of the config ---- */

static int parse(struct rf_config *cfg, const char *const *args, int n)
{
	char *argv[24];
	int i, r;

	argv[0] = "balance";
	for (i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	rf_config_init(cfg);
	r = rf_config_parse_args(cfg, n + 1, argv);
	return r ? r : rf_config_validate(cfg);
}

static void test_config_rules(void **state)
{
	static struct rf_config cfg;
	static const char *const ok[] = {"-i",	      "pcap:x",
					 "-c",	      "1",
					 "-n",	      "4,2",
					 "-f",	      "host fe80::1",
					 "-f",	      "B:port 53 or port 80",
					 "--filter",  "5:",
					 "--snaplen", "128",
					 "--strip",   "0-1:vlan,tunnel",
					 "--dedup",   "A:50"};
	static const char *const bad_group[] = {"-i", "pcap:x", "-c", "1",
						"-n", "4",	"-f", "B:tcp"};
	static const char *const bad_queue[] = {"-i", "pcap:x", "-c", "1",
						"-n", "4",	"-f", "2001:db8::1"};
	static const char *const bad_strip[] = {"-i", "pcap:x", "-c",	   "1",
						"-n", "4",	"--strip", "gre"};
	static const char *const bad_dedup[] = {"-i", "pcap:x", "-c",	   "1",
						"-n", "4",	"--dedup", "A:"};
	const struct rf_cfg_rule *r;

	assert_int_equal(parse(&cfg, ok, 18), 0);
	/* No scope: every queue; an IPv6 address is not one. */
	r = rf_config_rule(&cfg, RF_RULE_FILTER, 0);
	assert_non_null(r);
	assert_string_equal(r->text, "host fe80::1");
	assert_int_equal(r->first, 0);
	assert_int_equal(r->last, 5);
	/* Group B is queues 4-5; the later, empty, filter of queue 5 wins there. */
	r = rf_config_rule(&cfg, RF_RULE_FILTER, 4);
	assert_string_equal(r->text, "port 53 or port 80");
	assert_int_equal(r->first, 4);
	r = rf_config_rule(&cfg, RF_RULE_FILTER, 5);
	assert_string_equal(r->text, "");
	assert_int_equal(r->first, 5);
	assert_int_equal(rf_config_rule(&cfg, RF_RULE_SNAPLEN, 5)->value, 128);
	assert_int_equal(rf_config_rule(&cfg, RF_RULE_STRIP, 1)->value,
			 RF_STRIP_VLAN | RF_STRIP_TUNNEL);
	assert_null(rf_config_rule(&cfg, RF_RULE_STRIP, 2));
	assert_int_equal(rf_config_rule(&cfg, RF_RULE_DEDUP, 3)->value, 50);
	assert_null(rf_config_rule(&cfg, RF_RULE_DEDUP, 4));
	assert_int_equal(parse(&cfg, bad_group, 8), 2);
	assert_int_equal(parse(&cfg, bad_queue, 8), 2);
	assert_int_equal(parse(&cfg, bad_strip, 8), 2);
	assert_int_equal(parse(&cfg, bad_dedup, 8), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strip_vlan),	 cmocka_unit_test(test_strip_mpls),
		cmocka_unit_test(test_strip_pseudowire), cmocka_unit_test(test_strip_vxlan),
		cmocka_unit_test(test_strip_ip_tunnel),	 cmocka_unit_test(test_strip_nested),
		cmocka_unit_test(test_strip_fragment),	 cmocka_unit_test(test_strip_truncated),
		cmocka_unit_test(test_strip_names),	 cmocka_unit_test(test_dedup_signature),
		cmocka_unit_test(test_dedup_window),	 cmocka_unit_test(test_filter),
		cmocka_unit_test(test_hash_seed),	 cmocka_unit_test(test_config_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
