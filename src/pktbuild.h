/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small packet builder: writes Ethernet, VLAN, MPLS, FabricPath, PPPoE,
 * ARP, IPv4, IPv6, UDP, TCP, ICMP, GRE, VXLAN, Geneve, GTP-U, CAPWAP,
 * 802.11 and LLC/SNAP headers into a caller buffer, outermost first, and
 * fills in every length and checksum when the packet is finished.
 *
 * Usage: rf_pb_init(), push headers and payload in wire order, then
 * rf_pb_finish(). Headers with a length or checksum that depends on what
 * follows (IPv4, IPv6, UDP, TCP, ICMP, GTP-U, PPPoE) are completed by rf_pb_finish()
 * from the innermost outwards, so that an outer UDP checksum covers the
 * finished inner headers. Transport checksums use the pseudo-header of the
 * nearest IP header before them. Next-protocol fields (EtherType, IP protocol,
 * GRE protocol) are given by the caller: the builder does not guess.
 *
 * Writing past the buffer never happens: a push that does not fit sets an
 * overflow flag and rf_pb_finish() returns -ENOSPC. No allocation.
 */
#ifndef RINGFAN_PKTBUILD_H
#define RINGFAN_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_PB_MAX_HDRS 24

#define RF_ETH_P_IPV4  0x0800
#define RF_ETH_P_IPV6  0x86dd
#define RF_ETH_P_VLAN  0x8100 /* 802.1Q C-tag */
#define RF_ETH_P_QINQ  0x88a8 /* 802.1ad S-tag */
#define RF_ETH_P_MPLS  0x8847
#define RF_ETH_P_TEB   0x6558 /* transparent Ethernet bridging */
#define RF_ETH_P_ARP   0x0806
#define RF_ETH_P_PPPOE 0x8864 /* PPPoE session stage */
#define RF_ETH_P_FP    0x8903 /* Cisco FabricPath */
#define RF_ETH_HLEN    14
#define RF_ETH_ZLEN    60 /* minimum frame length without FCS */
#define RF_IPV4_HLEN   20
#define RF_IPV6_HLEN   40
#define RF_IPV6_FHLEN  8 /* IPv6 fragment header */
#define RF_UDP_HLEN    8
#define RF_TCP_HLEN    20
#define RF_ICMP_HLEN   8
#define RF_VXLAN_HLEN  8
#define RF_GENEVE_HLEN 8
#define RF_GTPU_HLEN   8
#define RF_FP_HLEN     16 /* FabricPath: switch addresses, EtherType, FTag/TTL */
#define RF_ARP_LEN     28 /* ARP for IPv4 over Ethernet */
#define RF_LLC_HLEN    8  /* LLC/SNAP with an EtherType */

/* PPP protocol numbers (rf_pb_pppoe) */
#define RF_PPP_IPV4 0x0021
#define RF_PPP_IPV6 0x0057

/* 802.11 data frame direction (rf_pb_wlan) */
#define RF_WLAN_TO_DS	0x01
#define RF_WLAN_FROM_DS 0x02

/* TCP flags */
#define RF_TCP_FIN 0x01
#define RF_TCP_SYN 0x02
#define RF_TCP_RST 0x04
#define RF_TCP_PSH 0x08
#define RF_TCP_ACK 0x10

/* IPv4 flags/fragment-offset field */
#define RF_IP_DF 0x4000
#define RF_IP_MF 0x2000

enum rf_pb_hdr {
	RF_PB_ETH = 1,
	RF_PB_VLAN,
	RF_PB_MPLS,
	RF_PB_IPV4,
	RF_PB_IPV6,
	RF_PB_IPV6_FRAG,
	RF_PB_UDP,
	RF_PB_TCP,
	RF_PB_ICMP, /* ICMP or ICMPv6, after the IP header it belongs to */
	RF_PB_GRE,
	RF_PB_VXLAN,
	RF_PB_GENEVE,
	RF_PB_GTPU,
	RF_PB_FABRICPATH,
	RF_PB_PPPOE,
	RF_PB_ARP,
	RF_PB_CAPWAP,
	RF_PB_WLAN,
	RF_PB_LLC,
	RF_PB_PAYLOAD, /* rf_pb_bytes() / rf_pb_fill() */
};

/* One header written so far: its kind and offset; kept after rf_pb_finish(). */
struct rf_pb_rec {
	uint16_t off;
	uint8_t type; /* enum rf_pb_hdr */
};

struct rf_pb {
	uint8_t *buf;
	uint32_t cap;
	uint32_t len;
	uint32_t n_hdrs;
	bool overflow;
	struct rf_pb_rec hdrs[RF_PB_MAX_HDRS];
};

/* Start an empty packet in buf[0..cap). */
void rf_pb_init(struct rf_pb *b, uint8_t *buf, uint32_t cap);

/* Link and tag headers. type: EtherType of what follows. tci: PCP/DEI/VLAN id. */
void rf_pb_eth(struct rf_pb *b, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
void rf_pb_vlan(struct rf_pb *b, uint16_t tci, uint16_t type);
/* One label stack entry; bos marks the bottom of the stack. */
void rf_pb_mpls(struct rf_pb *b, uint32_t label, uint8_t tc, bool bos, uint8_t ttl);
/*
 * Cisco FabricPath header (in place of an Ethernet header): outer
 * destination and source switch addresses, FTag and TTL; an Ethernet
 * frame follows.
 */
void rf_pb_fabricpath(struct rf_pb *b, const uint8_t dst[6], const uint8_t src[6], uint16_t ftag,
		      uint8_t ttl);
/*
 * PPPoE session header and PPP protocol field (RF_PPP_*), one byte when
 * compressed. The PPPoE length is filled by rf_pb_finish().
 */
void rf_pb_pppoe(struct rf_pb *b, uint16_t session, uint16_t proto, bool compressed);
/* ARP for IPv4 over Ethernet: op 1 (request) or 2 (reply). */
void rf_pb_arp(struct rf_pb *b, uint16_t op, const uint8_t sha[6], const uint8_t spa[4],
	       const uint8_t tha[6], const uint8_t tpa[4]);

/*
 * IPv4 without options. frag: the flags/fragment-offset field in host order
 * (RF_IP_DF, RF_IP_MF | offset / 8). Total length and header checksum are
 * filled by rf_pb_finish().
 */
void rf_pb_ipv4(struct rf_pb *b, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		uint16_t id, uint16_t frag, uint8_t ttl);
/* IPv6; payload length filled by rf_pb_finish(). */
void rf_pb_ipv6(struct rf_pb *b, const uint8_t src[16], const uint8_t dst[16], uint8_t next,
		uint32_t flow_label, uint8_t hop_limit);
/* IPv6 fragment header: offset in bytes (a multiple of 8). */
void rf_pb_ipv6_frag(struct rf_pb *b, uint8_t next, uint16_t offset, bool more, uint32_t id);

/* Transports; lengths and checksums (over the pseudo-header) filled by rf_pb_finish(). */
void rf_pb_udp(struct rf_pb *b, uint16_t sport, uint16_t dport);
/* opts: optlen bytes of TCP options, optlen a multiple of 4 (at most 40). */
void rf_pb_tcp(struct rf_pb *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
	       uint8_t flags, uint16_t window, const uint8_t *opts, uint32_t optlen);
/* ICMP (after IPv4) or ICMPv6 (after IPv6) echo-style header: type, code, id, sequence. */
void rf_pb_icmp(struct rf_pb *b, uint8_t type, uint8_t code, uint16_t id, uint16_t seq);

/* Tunnels. GRE: 4 bytes, or 8 with a key. */
void rf_pb_gre(struct rf_pb *b, uint16_t proto, bool with_key, uint32_t key);
void rf_pb_vxlan(struct rf_pb *b, uint32_t vni);
/* Geneve without options; proto is the EtherType of the inner packet. */
void rf_pb_geneve(struct rf_pb *b, uint32_t vni, uint16_t proto);
/*
 * GTP-U G-PDU; with ext a PDU session container extension header (the
 * sequence/N-PDU/next-type word plus 4 bytes). Length filled by rf_pb_finish().
 */
void rf_pb_gtpu(struct rf_pb *b, uint32_t teid, bool ext, uint8_t qfi);
/*
 * CAPWAP data header (RFC 5415) for radio rid: with native, an IEEE 802.11
 * frame follows (T bit, wireless binding 1), else an 802.3 frame; with
 * radio_mac (not NULL), the radio's MAC address in the header (M bit).
 */
void rf_pb_capwap(struct rf_pb *b, uint8_t rid, bool native, const uint8_t *radio_mac);
/*
 * IEEE 802.11 data frame header, direction dir (RF_WLAN_TO_DS or
 * RF_WLAN_FROM_DS) with the addresses in the order 802.11 wants for it
 * (bssid, source, destination: To DS A1 A2 A3 = bssid, sa, da; From DS
 * = da, bssid, sa); qos adds the QoS control field. With cisco_fc the
 * two Frame Control bytes are swapped, as Cisco controllers send them
 * (and Wireshark reads them by default). LLC follows: rf_pb_llc_snap().
 */
void rf_pb_wlan(struct rf_pb *b, uint8_t dir, const uint8_t bssid[6], const uint8_t sa[6],
		const uint8_t da[6], bool qos, bool cisco_fc);
/* LLC/SNAP header (OUI 00-00-00) with the EtherType of what follows. */
void rf_pb_llc_snap(struct rf_pb *b, uint16_t type);

/* Payload: copy len bytes, or len lower-case letters of a pattern derived from seed. */
void rf_pb_bytes(struct rf_pb *b, const void *data, uint32_t len);
void rf_pb_fill(struct rf_pb *b, uint32_t len, uint32_t seed);

/*
 * Complete lengths and checksums of every header; then pad with zeros to
 * min_len (e.g. RF_ETH_ZLEN; 0 for none) without counting the padding in any
 * length field. Returns the packet length, or -ENOSPC if something did not
 * fit (the buffer then holds a partial packet) or -EINVAL if a length field
 * would overflow.
 */
int rf_pb_finish(struct rf_pb *b, uint32_t min_len);

/*
 * Append the Ethernet FCS (CRC-32 of everything so far, least significant
 * byte first) to a finished packet. Returns the new length, or -ENOSPC.
 */
int rf_pb_fcs(struct rf_pb *b);

/* Offset of the last header of a kind written so far, or -1. */
int rf_pb_find_last(const struct rf_pb *b, enum rf_pb_hdr type);
/* Offset of the first header of a kind written so far, or -1. */
int rf_pb_find_first(const struct rf_pb *b, enum rf_pb_hdr type);

/* Internet checksum (RFC 1071) of data, folded, added to a partial sum sum. */
uint32_t rf_pb_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t rf_pb_csum_fold(uint32_t sum);

#endif
