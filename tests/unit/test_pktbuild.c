/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The packet builder: field layout, lengths, and checksums checked against a
 * plain reference implementation of the Internet checksum written here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pktbuild.h"

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t ip4_a[4] = {10, 1, 2, 3};
static const uint8_t ip4_b[4] = {10, 128, 0, 9};
static const uint8_t ip6_a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
static const uint8_t ip6_b[16] = {0xfd, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x99};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* Reference one's-complement sum over a list of buffers, as RFC 1071 describes it. */
static uint16_t ref_sum(int n, ...)
{
	uint64_t sum = 0;
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const uint8_t *p = va_arg(ap, const uint8_t *);
		size_t len = va_arg(ap, size_t), j;

		for (j = 0; j < len; j++)
			sum += (j % 2 == 0) ? (uint64_t)p[j] << 8 : p[j];
	}
	va_end(ap);
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A header whose checksum field is right sums (with the field) to 0xffff. */
static void assert_ipv4_csum_ok(const uint8_t *ip)
{
	assert_int_equal(ref_sum(1, ip, (size_t)20), 0xffff);
}

/* Transport checksum over the IPv4 pseudo-header, checked independently. */
static void assert_l4_v4_ok(const uint8_t *ip, const uint8_t *l4, size_t len, uint8_t proto)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	assert_int_equal(ref_sum(2, ph, sizeof(ph), l4, len), 0xffff);
}

static void assert_l4_v6_ok(const uint8_t *ip, const uint8_t *l4, size_t len, uint8_t proto)
{
	uint8_t ph[40] = {0};

	memcpy(ph, ip + 8, 32);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = proto;
	assert_int_equal(ref_sum(2, ph, sizeof(ph), l4, len), 0xffff);
}

static void test_ipv4_udp(void **state)
{
	uint8_t buf[256];
	struct rf_pb b;
	int len;

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0x1234, RF_IP_DF, 64);
	rf_pb_udp(&b, 40000, 53);
	rf_pb_fill(&b, 101, 7); /* odd payload: the checksum pads the last byte */
	len = rf_pb_finish(&b, RF_ETH_ZLEN);
	assert_int_equal(len, 14 + 20 + 8 + 101);
	assert_memory_equal(buf, mac_b, 6);
	assert_memory_equal(buf + 6, mac_a, 6);
	assert_int_equal(rd16(buf + 12), 0x0800);
	assert_int_equal(buf[14], 0x45);
	assert_int_equal(rd16(buf + 16), 20 + 8 + 101);
	assert_int_equal(rd16(buf + 18), 0x1234);
	assert_int_equal(rd16(buf + 20), 0x4000);
	assert_int_equal(buf[22], 64);
	assert_int_equal(buf[23], 17);
	assert_memory_equal(buf + 26, ip4_a, 4);
	assert_memory_equal(buf + 30, ip4_b, 4);
	assert_ipv4_csum_ok(buf + 14);
	assert_int_equal(rd16(buf + 34), 40000);
	assert_int_equal(rd16(buf + 36), 53);
	assert_int_equal(rd16(buf + 38), 8 + 101);
	assert_int_not_equal(rd16(buf + 40), 0);
	assert_l4_v4_ok(buf + 14, buf + 34, 8 + 101, 17);
	/* The fill is lower-case text. */
	assert_true(buf[42] >= 'a' && buf[42] <= 'z');
	assert_true(buf[len - 1] >= 'a' && buf[len - 1] <= 'z');
}

static void test_ipv6_tcp_options(void **state)
{
	static const uint8_t opts[8] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};
	uint8_t buf[256];
	struct rf_pb b;
	int len;

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV6);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 6, 0xabcde, 63);
	rf_pb_tcp(&b, 33000, 443, 0x01020304, 0xa0b0c0d0, RF_TCP_SYN | RF_TCP_ACK, 64240, opts,
		  sizeof(opts));
	rf_pb_fill(&b, 10, 1);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 40 + 28 + 10);
	assert_int_equal(rd32(buf + 14), 6u << 28 | 0xabcde);
	assert_int_equal(rd16(buf + 18), 28 + 10);
	assert_int_equal(buf[20], 6);
	assert_int_equal(buf[21], 63);
	assert_memory_equal(buf + 22, ip6_a, 16);
	assert_memory_equal(buf + 38, ip6_b, 16);
	assert_int_equal(rd16(buf + 54), 33000);
	assert_int_equal(rd16(buf + 56), 443);
	assert_int_equal(rd32(buf + 58), 0x01020304);
	assert_int_equal(rd32(buf + 62), 0xa0b0c0d0);
	assert_int_equal(buf[66] >> 4, 7); /* data offset: 28 bytes */
	assert_int_equal(buf[67], RF_TCP_SYN | RF_TCP_ACK);
	assert_int_equal(rd16(buf + 68), 64240);
	assert_memory_equal(buf + 74, opts, sizeof(opts));
	assert_l4_v6_ok(buf + 14, buf + 54, 28 + 10, 6);
}

static void test_icmp(void **state)
{
	uint8_t buf[256];
	struct rf_pb b;
	int len;

	/* ICMPv4: the checksum covers the message only. */
	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 1, 1, 0, 64);
	rf_pb_icmp(&b, 8, 0, 0x4242, 7);
	rf_pb_fill(&b, 32, 3);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 20 + 8 + 32);
	assert_int_equal(buf[34], 8);
	assert_int_equal(rd16(buf + 38), 0x4242);
	assert_int_equal(rd16(buf + 40), 7);
	assert_int_equal(ref_sum(1, buf + 34, (size_t)40), 0xffff);

	/* ICMPv6: over the pseudo-header too. */
	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV6);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 58, 0, 64);
	rf_pb_icmp(&b, 128, 0, 1, 2);
	rf_pb_fill(&b, 5, 3);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 40 + 8 + 5);
	assert_l4_v6_ok(buf + 14, buf + 54, 13, 58);
}

/* VXLAN over IPv4 carrying Ethernet/IPv6/UDP: both UDP checksums right, outer covers inner. */
static void test_vxlan_nesting(void **state)
{
	uint8_t buf[512];
	struct rf_pb b;
	int len;
	const uint32_t in = 14 + 20 + 8 + 8; /* inner Ethernet starts here */

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0, RF_IP_DF, 64);
	rf_pb_udp(&b, 50000, 4789);
	rf_pb_vxlan(&b, 0x123456);
	rf_pb_eth(&b, mac_a, mac_b, RF_ETH_P_IPV6);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 17, 0, 64);
	rf_pb_udp(&b, 1000, 2000);
	rf_pb_fill(&b, 77, 9);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, in + 14 + 40 + 8 + 77);
	assert_int_equal(rd16(buf + 16), len - 14);
	assert_ipv4_csum_ok(buf + 14);
	assert_int_equal(rd16(buf + 38), len - 34);
	assert_int_equal(buf[42], 0x08);
	assert_int_equal(rd32(buf + 46), 0x123456u << 8);
	assert_int_equal(rd16(buf + in + 12), 0x86dd);
	assert_int_equal(rd16(buf + in + 14 + 4), 8 + 77);
	assert_l4_v6_ok(buf + in + 14, buf + in + 54, 8 + 77, 17);
	assert_l4_v4_ok(buf + 14, buf + 34, (size_t)len - 34, 17);
	assert_int_equal(rf_pb_find_first(&b, RF_PB_UDP), 34);
	assert_int_equal(rf_pb_find_last(&b, RF_PB_UDP), (int)in + 54);
	assert_int_equal(rf_pb_find_last(&b, RF_PB_GRE), -1);
}

static void test_tags_and_tunnels(void **state)
{
	uint8_t buf[512];
	struct rf_pb b;
	int len, gtp;

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_QINQ);
	rf_pb_vlan(&b, 0x2064, RF_ETH_P_VLAN);
	rf_pb_vlan(&b, 0x0fff, RF_ETH_P_MPLS);
	rf_pb_mpls(&b, 0xabcde, 5, false, 64);
	rf_pb_mpls(&b, 16, 0, true, 1);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 47, 0, 64);
	rf_pb_gre(&b, RF_ETH_P_IPV4, true, 0xdeadbeef);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0, 0, 64);
	rf_pb_udp(&b, 2152, 2152);
	rf_pb_gtpu(&b, 0x11223344, true, 9);
	rf_pb_ipv4(&b, ip4_b, ip4_a, 4, 0, 0, 64); /* and IP in IP inside */
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0, 0, 64);
	rf_pb_udp(&b, 1, 2);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 4 + 4 + 4 + 4 + 40 + 8 + 20 + 8 + 16 + 20 + 20 + 8);
	assert_int_equal(rd16(buf + 14), 0x2064);
	assert_int_equal(rd16(buf + 16), 0x8100);
	assert_int_equal(rd16(buf + 18), 0x0fff);
	assert_int_equal(rd16(buf + 20), 0x8847);
	assert_int_equal(rd32(buf + 22), 0xabcdeu << 12 | 5u << 9 | 64);
	assert_int_equal(rd32(buf + 26), 16u << 12 | 1u << 8 | 1);
	assert_int_equal(rd16(buf + 30 + 4), len - 30 - 40);
	assert_int_equal(rd16(buf + 70), 0x2000); /* K bit */
	assert_int_equal(rd16(buf + 72), 0x0800);
	assert_int_equal(rd32(buf + 74), 0xdeadbeef);
	assert_ipv4_csum_ok(buf + 78);
	assert_int_equal(rd16(buf + 80), len - 78);
	gtp = rf_pb_find_first(&b, RF_PB_GTPU);
	assert_int_equal(gtp, 78 + 20 + 8);
	assert_int_equal(buf[gtp], 0x34);
	assert_int_equal(buf[gtp + 1], 0xff);
	assert_int_equal(rd16(buf + gtp + 2), len - gtp - 8);
	assert_int_equal(rd32(buf + gtp + 4), 0x11223344);
	assert_int_equal(buf[gtp + 11], 0x85);
	assert_int_equal(buf[gtp + 12], 1);
	assert_int_equal(buf[gtp + 14], 9);
	assert_int_equal(buf[gtp + 15], 0);
	assert_ipv4_csum_ok(buf + gtp + 16);
	assert_ipv4_csum_ok(buf + gtp + 36);
	assert_int_equal(rd16(buf + gtp + 16 + 2), 48);
	assert_int_equal(rd16(buf + gtp + 36 + 2), 28);
	assert_l4_v4_ok(buf + 78, buf + 98, (size_t)len - 98, 17);
	assert_l4_v4_ok(buf + gtp + 36, buf + gtp + 56, 8, 17);
}

/* CRC-32 (IEEE 802.3) from its definition: polynomial division, one bit at a time. */
static uint32_t crc32_ref(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffff;

	for (size_t i = 0; i < len * 8; i++) {
		uint32_t bit = (p[i / 8] >> (i % 8)) & 1;
		uint32_t top = (crc & 1) ^ bit;

		crc >>= 1;
		if (top)
			crc ^= 0xedb88320;
	}
	return ~crc;
}

/* FabricPath, PPPoE (both protocol field sizes), ARP: layout and the PPPoE length. */
static void test_link_encaps(void **state)
{
	static const uint8_t sw_a[6] = {0x02, 0x0a, 0xbd, 0, 0, 0},
			     sw_b[6] = {0x02, 0x0a, 0xbc, 0, 0, 0};
	uint8_t buf[256];
	struct rf_pb b;
	int len;

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_fabricpath(&b, sw_a, sw_b, 256, 32);
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_PPPOE);
	rf_pb_pppoe(&b, 0x1234, RF_PPP_IPV4, true);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0, 0, 64);
	rf_pb_udp(&b, 1, 2);
	len = rf_pb_finish(&b, 80);
	assert_int_equal(len, 80);
	assert_memory_equal(buf, sw_a, 6);
	assert_memory_equal(buf + 6, sw_b, 6);
	assert_int_equal(rd16(buf + 12), 0x8903);
	assert_int_equal(rd16(buf + 14), 256 << 6 | 32);
	assert_int_equal(rd16(buf + 16 + 12), 0x8864);
	assert_int_equal(buf[30], 0x11);
	assert_int_equal(buf[31], 0);
	assert_int_equal(rd16(buf + 32), 0x1234);
	assert_int_equal(rd16(buf + 34), 1 + 20 + 8); /* padding not counted */
	assert_int_equal(buf[36], 0x21);
	assert_ipv4_csum_ok(buf + 37);
	assert_int_equal(rf_pb_find_first(&b, RF_PB_IPV4), 37);
	/* The FCS: a CRC-32 over the frame with its FCS is the CRC-32 residue. */
	assert_int_equal(rf_pb_fcs(&b), 84);
	assert_int_equal(crc32_ref(buf, 84), 0x2144df1c);
	assert_int_equal(crc32_ref((const uint8_t *)"123456789", 9), 0xcbf43926);

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_PPPOE);
	rf_pb_pppoe(&b, 7, RF_PPP_IPV6, false);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 17, 0, 64);
	rf_pb_udp(&b, 1, 2);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 8 + 40 + 8);
	assert_int_equal(rd16(buf + 18), 2 + 40 + 8);
	assert_int_equal(rd16(buf + 20), 0x0057);

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_a, mac_b, RF_ETH_P_ARP);
	rf_pb_arp(&b, 2, mac_b, ip4_b, mac_a, ip4_a);
	len = rf_pb_finish(&b, RF_ETH_ZLEN);
	assert_int_equal(len, RF_ETH_ZLEN);
	assert_int_equal(rd32(buf + 14), 0x00010800);
	assert_int_equal(rd32(buf + 18), 0x06040002);
	assert_memory_equal(buf + 22, mac_b, 6);
	assert_memory_equal(buf + 28, ip4_b, 4);
	assert_memory_equal(buf + 32, mac_a, 6);
	assert_memory_equal(buf + 38, ip4_a, 4);
}

/* CAPWAP with a radio MAC, an 802.11 QoS data frame (Cisco byte order), LLC/SNAP. */
static void test_capwap(void **state)
{
	static const uint8_t radio[6] = {0x02, 0xaa, 0, 0, 0, 1},
			     bssid[6] = {0x02, 0xbb, 0, 0, 0, 2};
	uint8_t buf[512];
	struct rf_pb b;
	int len;
	const uint32_t cw = 14 + 20 + 8, wl = cw + 16, llc = wl + 26;

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0, RF_IP_DF, 64);
	rf_pb_udp(&b, 12380, 5247);
	rf_pb_capwap(&b, 3, true, radio);
	rf_pb_wlan(&b, RF_WLAN_TO_DS, bssid, mac_a, mac_b, true, true);
	rf_pb_llc_snap(&b, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 6, 0, RF_IP_DF, 64);
	rf_pb_tcp(&b, 1, 2, 0, 0, RF_TCP_SYN, 1024, NULL, 0);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, llc + 8 + 20 + 20);
	/* HLEN 4 words, RID 3, WBID 1, T and M. */
	assert_int_equal(rd32(buf + cw), 4u << 19 | 3u << 14 | 1u << 9 | 0x100 | 0x10);
	assert_int_equal(rd32(buf + cw + 4), 0);
	assert_int_equal(buf[cw + 8], 6);
	assert_memory_equal(buf + cw + 9, radio, 6);
	assert_int_equal(buf[cw + 15], 0);
	assert_int_equal(buf[wl], RF_WLAN_TO_DS); /* flags first: swapped */
	assert_int_equal(buf[wl + 1], 0x88);
	assert_memory_equal(buf + wl + 4, bssid, 6);
	assert_memory_equal(buf + wl + 10, mac_a, 6);
	assert_memory_equal(buf + wl + 16, mac_b, 6);
	assert_int_equal(rd32(buf + llc), 0xaaaa0300);
	assert_int_equal(rd32(buf + llc + 4), 0x0800);
	assert_ipv4_csum_ok(buf + llc + 8);
	assert_l4_v4_ok(buf + 14, buf + 34, (size_t)len - 34, 17);
	assert_l4_v4_ok(buf + llc + 8, buf + llc + 28, 20, 6);

	/* 802.3 frame, no radio MAC; standard byte order from the DS. */
	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_capwap(&b, 0, false, NULL);
	rf_pb_wlan(&b, RF_WLAN_FROM_DS, bssid, mac_a, mac_b, false, false);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 8 + 24);
	assert_int_equal(rd32(buf), 2u << 19 | 1u << 9);
	assert_int_equal(buf[8], 0x08);
	assert_int_equal(buf[9], RF_WLAN_FROM_DS);
	assert_memory_equal(buf + 8 + 4, mac_b, 6);
	assert_memory_equal(buf + 8 + 10, bssid, 6);
	assert_memory_equal(buf + 8 + 16, mac_a, 6);
}

static void test_fragments(void **state)
{
	uint8_t buf[256];
	struct rf_pb b;
	int len;

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 17, 0x8001, RF_IP_MF | 185, 64);
	rf_pb_fill(&b, 16, 0);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 20 + 16);
	assert_int_equal(rd16(buf + 20), 0x2000 | 185);
	assert_int_equal(rd16(buf + 16), 36);
	assert_ipv4_csum_ok(buf + 14);

	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV6);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 44, 0, 64);
	rf_pb_ipv6_frag(&b, 17, 1480, true, 0xcafef00d);
	rf_pb_fill(&b, 24, 0);
	len = rf_pb_finish(&b, 0);
	assert_int_equal(len, 14 + 40 + 8 + 24);
	assert_int_equal(rd16(buf + 18), 32);
	assert_int_equal(buf[54], 17);
	assert_int_equal(rd16(buf + 56), 1480 | 1);
	assert_int_equal(rd32(buf + 58), 0xcafef00d);
}

static void test_padding(void **state)
{
	uint8_t buf[128];
	struct rf_pb b;
	int len;

	memset(buf, 0xee, sizeof(buf));
	rf_pb_init(&b, buf, sizeof(buf));
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	rf_pb_ipv4(&b, ip4_a, ip4_b, 6, 0, RF_IP_DF, 64);
	rf_pb_tcp(&b, 1, 2, 3, 4, RF_TCP_ACK, 100, NULL, 0);
	len = rf_pb_finish(&b, RF_ETH_ZLEN);
	assert_int_equal(len, 60);
	assert_int_equal(rd16(buf + 16), 40); /* padding is not part of the datagram */
	assert_int_equal(buf[54], 0);
	assert_int_equal(buf[59], 0);
	assert_int_equal(buf[60], 0xee);
	assert_l4_v4_ok(buf + 14, buf + 34, 20, 6);
}

static void test_overflow(void **state)
{
	uint8_t buf[64 + 8];
	struct rf_pb b;

	memset(buf, 0x5a, sizeof(buf));
	rf_pb_init(&b, buf, 64);
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV6);
	rf_pb_ipv6(&b, ip6_a, ip6_b, 17, 0, 64);
	rf_pb_udp(&b, 1, 2);  /* 14 + 40 + 8 = 62: fits */
	rf_pb_fill(&b, 3, 0); /* does not */
	rf_pb_fill(&b, 1, 0); /* nor does anything after it */
	assert_int_equal(rf_pb_finish(&b, 0), -ENOSPC);
	assert_int_equal(buf[64], 0x5a);
	assert_int_equal(buf[71], 0x5a);

	rf_pb_init(&b, buf, 64);
	rf_pb_eth(&b, mac_b, mac_a, RF_ETH_P_IPV4);
	assert_int_equal(rf_pb_finish(&b, 65), -ENOSPC);

	rf_pb_init(&b, buf, 64);
	rf_pb_tcp(&b, 1, 2, 3, 4, 0, 0, NULL, 6); /* options not a multiple of 4 */
	assert_int_equal(rf_pb_finish(&b, 0), -ENOSPC);
}

static void test_csum_helpers(void **state)
{
	static const uint8_t data[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	/* The IPv4 header example of RFC 1071 discussions: checksum 0xb861. */
	assert_int_equal(rf_pb_csum_fold(rf_pb_csum_add(0, data, sizeof(data))), 0xb861);
	assert_int_equal((uint16_t)~ref_sum(1, data, sizeof(data)), 0xb861);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_udp),
		cmocka_unit_test(test_ipv6_tcp_options),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_vxlan_nesting),
		cmocka_unit_test(test_tags_and_tunnels),
		cmocka_unit_test(test_link_encaps),
		cmocka_unit_test(test_capwap),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_csum_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
