/* SPDX-License-Identifier: BSD-2-Clause */
/* rf_pktline(): the one-line packet summary of `ringfan count -v`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/dlt.h>

#include "pktline.h"

/* Ethernet, IPv4 10.0.0.1 -> 10.0.0.2, TCP 1234 -> 80 (no payload). */
static const uint8_t eth_ipv4_tcp[] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 10,   0,
	0,    1,    10,	  0,	0,    2,    0x04, 0xd2, 0x00, 0x50, 0,	  0,	0,    0,
	0,    0,    0,	  0,	0x50, 0x02, 0xff, 0xff, 0,    0,    0,	  0,
};

/* Ethernet, 802.1Q VID 42, IPv6 2001:db8::1 -> 2001:db8::2, UDP 53 -> 5353. */
static const uint8_t eth_vlan_ipv6_udp[] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x81, 0x00,
	0x00, 0x2a, 0x86, 0xdd, 0x60, 0,    0,	  0,	0x00, 0x08, 17,	  64,	0x20, 0x01,
	0x0d, 0xb8, 0,	  0,	0,    0,    0,	  0,	0,    0,    0,	  0,	0,    1,
	0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,
	0,    2,    0x00, 0x35, 0x14, 0xe9, 0x00, 0x08, 0,    0,
};

/* Ethernet ARP request (no IP). */
static const uint8_t eth_arp[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
	10,   0,    0,	  1,	0,    0,    0,	  0,	0,    0,    10,	  0,	0,    2,
};

static void test_ipv4_tcp(void **state)
{
	char buf[RF_PKTLINE_MAX];
	size_t n;

	n = rf_pktline(eth_ipv4_tcp, sizeof(eth_ipv4_tcp), sizeof(eth_ipv4_tcp), DLT_EN10MB, buf,
		       sizeof(buf));
	assert_string_equal(buf, "eth>ipv4>tcp 10.0.0.1:1234 > 10.0.0.2:80 len 54");
	assert_int_equal(n, strlen(buf));
}

static void test_vlan_ipv6_udp(void **state)
{
	char buf[RF_PKTLINE_MAX];

	rf_pktline(eth_vlan_ipv6_udp, sizeof(eth_vlan_ipv6_udp), 100, DLT_EN10MB, buf, sizeof(buf));
	assert_string_equal(
		buf, "eth>vlan>ipv6>udp [2001:db8::1]:53 > [2001:db8::2]:5353 len 100 cap 66");
}

static void test_non_ip(void **state)
{
	char buf[RF_PKTLINE_MAX];

	rf_pktline(eth_arp, sizeof(eth_arp), sizeof(eth_arp), DLT_EN10MB, buf, sizeof(buf));
	assert_string_equal(buf, "eth>arp 10.0.0.1 > 10.0.0.2 len 42 [non_ip]");

	/* Cut inside the addresses: no ARP layer. */
	rf_pktline(eth_arp, 40, sizeof(eth_arp), DLT_EN10MB, buf, sizeof(buf));
	assert_string_equal(buf, "eth len 42 cap 40 [truncated]");
}

/* Cut inside the IPv4 header: the layers so far, and why decoding stopped. */
static void test_truncated(void **state)
{
	char buf[RF_PKTLINE_MAX];

	rf_pktline(eth_ipv4_tcp, 20, sizeof(eth_ipv4_tcp), DLT_EN10MB, buf, sizeof(buf));
	assert_string_equal(buf, "eth len 54 cap 20 [truncated]");
	rf_pktline(eth_ipv4_tcp, 0, 0, DLT_EN10MB, buf, sizeof(buf));
	assert_non_null(strstr(buf, "len 0"));
}

/* A small buffer: the line is cut, NUL-terminated, and nothing is written past it. */
static void test_small_buffer(void **state)
{
	char buf[16];
	size_t n;

	memset(buf, 'X', sizeof(buf));
	n = rf_pktline(eth_ipv4_tcp, sizeof(eth_ipv4_tcp), sizeof(eth_ipv4_tcp), DLT_EN10MB, buf,
		       10);
	assert_int_equal(n, 9);
	assert_string_equal(buf, "eth>ipv4>");
	assert_int_equal(buf[10], 'X');
	assert_int_equal(rf_pktline(eth_ipv4_tcp, sizeof(eth_ipv4_tcp), 54, DLT_EN10MB, buf, 0), 0);
	assert_int_equal(buf[0], 'e');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp),     cmocka_unit_test(test_vlan_ipv6_udp),
		cmocka_unit_test(test_non_ip),	     cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
