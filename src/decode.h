/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packet decoder: walks link, tag, tunnel, IP and transport headers of one
 * packet and records where each is. Every read is bounds-checked against the
 * captured length. Decoding never fails for the caller: it stops where the
 * bytes stop (or make no sense) and says why in ->reason; whatever was decoded
 * up to there is valid. No allocation, no global state: safe on any thread.
 */
#ifndef RINGFAN_DECODE_H
#define RINGFAN_DECODE_H

#include <stdint.h>

/* Link types are libpcap DLT_* values (pcap_datalink()). */

enum rf_layer {
	RF_LAYER_NONE = 0,
	RF_LAYER_ETH,
	RF_LAYER_SLL,
	RF_LAYER_SLL2,
	RF_LAYER_PPP,
	RF_LAYER_VLAN,	/* 802.1Q or 802.1ad tag */
	RF_LAYER_MPLS,	/* one label stack entry */
	RF_LAYER_PWETH, /* Ethernet pseudowire control word */
	RF_LAYER_PPPOE,
	RF_LAYER_IPV4,
	RF_LAYER_IPV6,
	RF_LAYER_IPV6_EXT, /* hop-by-hop, routing, destination options */
	RF_LAYER_FRAG,	   /* IPv6 fragment header */
	RF_LAYER_AH,
	RF_LAYER_ESP,
	RF_LAYER_TCP,
	RF_LAYER_UDP,
	RF_LAYER_SCTP,
	RF_LAYER_ICMP,
	RF_LAYER_ICMPV6,
	RF_LAYER_GRE,
	RF_LAYER_ERSPAN,
	RF_LAYER_VXLAN,
	RF_LAYER_GENEVE,
	RF_LAYER_GTPU,
	RF_LAYER_TEREDO,
	RF_LAYER_NULL,	     /* BSD loopback (DLT_NULL, DLT_LOOP) address family */
	RF_LAYER_FABRICPATH, /* Cisco FabricPath FTag/TTL; the inner frame follows */
	RF_LAYER_CMD,	     /* Cisco MetaData (SGT) header */
	RF_LAYER_ARP,	     /* ARP for IPv4 over 6-byte hardware addresses (rf_decoded_arp) */
	RF_LAYER_CAPWAP,     /* CAPWAP data channel header (UDP 5247) */
	RF_LAYER_WLAN,	     /* IEEE 802.11 data frame header (in CAPWAP) */
	RF_LAYER_LLC,	     /* 802.2 LLC/SNAP header carrying an EtherType */
	RF_LAYER__MAX
};

/* Why decoding stopped; counted per reason by callers. */
enum rf_decode_reason {
	RF_DEC_OK = 0,	     /* reached a transport header or an opaque payload */
	RF_DEC_TRUNCATED,    /* the captured bytes end inside a header */
	RF_DEC_MALFORMED,    /* a header field is impossible (bad version, IHL < 5, ...), or a
				header runs past an enclosing IP/GTP length (in a first
				fragment that is OK, with RF_IP_TRUNC_L4) */
	RF_DEC_NON_IP,	     /* no IP header (ARP, STP, LLC, ...) */
	RF_DEC_TOO_DEEP,     /* tag, label, extension-header or tunnel limit reached */
	RF_DEC_BAD_LINKTYPE, /* link type not supported */
	RF_DEC__MAX
};

#define RF_MAX_LAYERS	  32 /* layers recorded; further ones are walked but not recorded */
#define RF_MAX_IP	  4  /* IP headers kept (outer + 3 levels of tunnel) */
#define RF_MAX_VLAN_DEPTH 8  /* tags in a row (802.1Q, 802.1ad, Cisco MetaData) */
#define RF_MAX_MPLS_DEPTH 16
#define RF_MAX_IPV6_EXT	  16

/* rf_ip.flags */
#define RF_IP_PORTS    0x01 /* sport/dport are valid (TCP, UDP, SCTP) */
#define RF_IP_FRAG     0x02 /* this IP header is a fragment (any) */
#define RF_IP_MF       0x04 /* more fragments follow */
#define RF_IP_TRUNC_L4 0x08 /* L4 header is fragmented away or cut short */

/* One IP header of the packet. Offsets are from the start of the packet. */
struct rf_ip {
	uint16_t src_off; /* source address (4 or 16 bytes) */
	uint16_t dst_off; /* destination address; for SRv6 the final segment */
	uint16_t l4_off;  /* transport header, 0 if none reached */
	uint8_t version;  /* 4 or 6 */
	uint8_t proto;	  /* upper-layer protocol after extension headers (IPPROTO_*) */
	uint16_t sport;	  /* host byte order; valid with RF_IP_PORTS */
	uint16_t dport;
	uint16_t frag_off; /* fragment offset in bytes (RF_IP_FRAG) */
	uint8_t flags;	   /* RF_IP_* */
	uint8_t layer; /* index in rf_decoded.layers of this IP header (RF_MAX_LAYERS: not recorded) */
	uint32_t frag_id; /* IPv4 identification or IPv6 fragment identification */
};

/* rf_decode() flags */
#define RF_DECODE_OUTER 0x01 /* stop after the outermost IP header and its ports (no tunnels) */

struct rf_decoded {
	uint8_t reason;	  /* enum rf_decode_reason */
	uint8_t n_layers; /* entries in layers[] / layer_off[] */
	uint8_t n_ip;	  /* entries in ip[]: ip[0] outermost, ip[n_ip - 1] innermost */
	uint8_t has_vlan;
	uint16_t vlan_id;  /* outermost VLAN id (has_vlan): first tag before any IP header */
	uint16_t linktype; /* DLT_* the packet was decoded as */
	uint8_t layers[RF_MAX_LAYERS]; /* enum rf_layer, outermost first */
	uint16_t layer_off[RF_MAX_LAYERS];
	struct rf_ip ip[RF_MAX_IP];
};

/*
 * Decode pkt[0..caplen) of link type linktype (DLT_*) into *d. The scalar
 * fields are always written (also for caplen 0); array entries at or past
 * n_layers / n_ip are left undefined, so that nothing per packet clears the
 * whole struct. flags: RF_DECODE_*. Returns d->reason.
 *
 * Link types: DLT_EN10MB, DLT_RAW (and LINKTYPE_RAW 101), DLT_IPV4, DLT_IPV6,
 * DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_PPP, DLT_NULL, DLT_LOOP. A layer is
 * recorded once its fixed part is captured (TCP/UDP/SCTP: once the ports
 * are); an IP header's total/payload length ends what follows it, so
 * Ethernet padding is never decoded. UDP tunnels are recognised by port:
 * VXLAN 4789, VXLAN-GPE 4790 (both RF_LAYER_VXLAN), Geneve 6081 and CAPWAP
 * data 5247 by the destination port, or the source port when the header is
 * exact; GTP-U 2152, Teredo 3544 and ESP in UDP 4500 (RF_LAYER_ESP) by
 * either port. A first fragment's payload is walked like any other (a
 * tunnel inside it is decoded); later fragments stop at their IP header.
 * Headers beyond 64 KiB into the packet are not looked for (offsets are 16
 * bits).
 *
 * Between Ethernet and IP: Cisco FabricPath (EtherType 0x8903, also behind
 * an 802.1ad tag) is walked through to the frame it carries, whose tag (not
 * FabricPath's) sets vlan_id; Cisco MetaData (0x8909, in Ethernet or GRE)
 * counts as a tag; PPPoE's PPP protocol field may be compressed to one
 * byte. CAPWAP data carries an 802.3 frame (T bit clear) or an 802.11 data
 * frame (T set, wireless binding 1) with LLC/SNAP; DTLS, keep-alive and
 * fragmented CAPWAP packets, protected 802.11 frames and A-MSDUs are opaque
 * (OK), other 802.11 frames NON_IP. An ARP packet is NON_IP; see
 * rf_decoded_arp().
 */
int rf_decode(const uint8_t *pkt, uint32_t caplen, int linktype, unsigned int flags,
	      struct rf_decoded *d);

/* Where the protocol addresses of an RF_LAYER_ARP layer are, from its offset. */
#define RF_ARP_SPA 14 /* sender protocol address (IPv4) */
#define RF_ARP_TPA 24 /* target protocol address (IPv4) */

/*
 * The offset of the ARP packet that decoding ended with, or -1. An ARP
 * layer is only recorded for IPv4 over 6-byte hardware addresses with all
 * 28 bytes captured, so both addresses can be read.
 */
static inline int rf_decoded_arp(const struct rf_decoded *d)
{
	if (d->reason != RF_DEC_NON_IP || d->n_layers == 0 ||
	    d->layers[d->n_layers - 1] != RF_LAYER_ARP)
		return -1;
	return d->layer_off[d->n_layers - 1];
}

/* Short lower-case name ("eth", "vlan", "ipv4", "gtpu", ...); "?" if unknown. */
const char *rf_layer_name(unsigned int layer);

/* Counter name for a reason ("ok", "truncated", "malformed", "non_ip", ...). */
const char *rf_decode_reason_name(unsigned int reason);

#endif
