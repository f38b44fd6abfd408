/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan gen: write a synthetic capture of conversations in both directions,
 * with tags, tunnels, fragments and broken packets in chosen shares.
 *
 * Everything is drawn from one seeded PRNG in a fixed order, so the same seed
 * and options give a byte-identical file. Memory is one array of per-flow
 * state and a few packet buffers, allocated before the first packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pktbuild.h"
#include "util.h"

#define GEN_BUF		  16384
#define GEN_MAX_FLOWS	  1000000u
#define GEN_MAX_PACKETS	  1000000000ull
#define GEN_MIN_SIZE	  RF_ETH_ZLEN
#define GEN_MAX_SIZE	  9018 /* 9000-byte jumbo MTU plus Ethernet and one tag */
#define GEN_MAX_DGRAM	  8000 /* largest datagram a fragmenting flow sends */
#define GEN_MAX_FRAGS	  64
#define GEN_N_ENDPOINTS	  64 /* tunnel endpoints on each side */
#define GEN_N_SERVERS	  4094
#define GEN_FLUSH_EVERY	  8192 /* packets between write-error checks */
#define GEN_DEF_FLOWS	  100
#define GEN_PKTS_PER_FLOW 100
#define NSEC		  1000000000ull

enum { K_TCP, K_UDP, K_ICMP };
enum { TAG_NONE, TAG_VLAN, TAG_QINQ, TAG_MPLS, TAG_PPPOE, TAG_FABRICPATH, TAG__N };
enum { TUN_NONE, TUN_GRE, TUN_VXLAN, TUN_GENEVE, TUN_GTPU, TUN_IPIP, TUN_CAPWAP, TUN__N };

/*
 * Percentage options. P_VLAN.. and P_GRE.. are the shares of the two
 * choices (link, tunnel), in the order of TAG_* and TUN_* from 1.
 */
enum pct_id {
	P_VLAN,
	P_QINQ,
	P_MPLS,
	P_PPPOE,
	P_FABRICPATH,
	P_GRE,
	P_VXLAN,
	P_GENEVE,
	P_GTPU,
	P_IPIP,
	P_CAPWAP,
	P_IPV6,
	P_FRAG,
	P_FRAG_OOO,
	P_TRUNC,
	P_MALFORMED,
	P_ARP,
	P_SPAN_COPY,
	P_RETRANS,
	P__N
};

#define N_TAG_CHOICES (TAG__N - 1) /* P_VLAN .. P_FABRICPATH */
#define N_TUN_CHOICES (TUN__N - 1) /* P_GRE .. P_CAPWAP */

/*
 * What --all sets for every share not given explicitly. Not FabricPath: its
 * outer addresses are no Ethernet source to Wireshark, so the mark of a
 * noise packet (noise_mac) would not show there.
 */
static const double all_pct[P__N] = {
	[P_VLAN] = 10,	   [P_QINQ] = 10,  [P_MPLS] = 10,     [P_PPPOE] = 5,
	[P_GRE] = 10,	   [P_VXLAN] = 10, [P_GENEVE] = 10,   [P_GTPU] = 10,
	[P_IPIP] = 10,	   [P_CAPWAP] = 5, [P_IPV6] = 30,     [P_FRAG] = 10,
	[P_FRAG_OOO] = 50, [P_TRUNC] = 1,  [P_MALFORMED] = 1, [P_ARP] = 10,
};

enum opt_id {
	OPT_OUTPUT = 'o',
	OPT_QUIET = 'q',
	OPT_SNAPLEN = 's',
	OPT_HELP = 'h',
	OPT_FLOWS = 256,
	OPT_PACKETS,
	OPT_SEED,
	OPT_SIZE,
	OPT_ALL,
	OPT_RATE,
	OPT_PCT, /* OPT_PCT + enum pct_id */
};

static const struct opt_desc opts[] = {
	{OPT_OUTPUT, "output", "FILE", "write the capture to FILE ('-': standard output)"},
	{OPT_FLOWS, "flows", "N", "conversations (default 100, or packets / 100)"},
	{OPT_PACKETS, "packets", "N", "packets in total (default 100 per flow)"},
	{OPT_SEED, "seed", "S", "PRNG seed: same seed and options, same file (default 1)"},
	{OPT_SIZE, "size", "SIZE",
	 "frame length: 64 (any 60-9018), imix (7:4:1 64/594/1518), MIN-MAX"},
	{OPT_PCT + P_VLAN, "vlan", "PCT", "flows with an 802.1Q tag (some with another id back)"},
	{OPT_PCT + P_QINQ, "qinq", "PCT", "flows with 802.1ad + 802.1Q tags"},
	{OPT_PCT + P_MPLS, "mpls", "PCT", "flows under 1-3 MPLS labels"},
	{OPT_PCT + P_PPPOE, "pppoe", "PCT", "flows in PPPoE sessions (half: 1-byte PPP protocol)"},
	{OPT_PCT + P_FABRICPATH, "fabricpath", "PCT",
	 "802.1Q flows seen half through a FabricPath core (not in --all)"},
	{OPT_PCT + P_GRE, "gre", "PCT", "flows in GRE (plain, keyed, Ethernet bridging)"},
	{OPT_PCT + P_VXLAN, "vxlan", "PCT", "flows in VXLAN (UDP 4789)"},
	{OPT_PCT + P_GENEVE, "geneve", "PCT", "flows in Geneve (UDP 6081)"},
	{OPT_PCT + P_GTPU, "gtpu", "PCT", "flows in GTP-U (UDP 2152, some with extension header)"},
	{OPT_PCT + P_IPIP, "ipip", "PCT", "flows in IP-in-IP, 6in4, 4in6 or 6in6"},
	{OPT_PCT + P_CAPWAP, "capwap", "PCT", "flows in CAPWAP data (UDP 5247; 802.3 or 802.11)"},
	{OPT_PCT + P_ARP, "arp", "PCT",
	 "IPv4 flows in Ethernet that start with ARP request, reply"},
	{OPT_PCT + P_IPV6, "ipv6", "PCT", "IPv6 flows (and IPv6 tunnel outer headers)"},
	{OPT_PCT + P_FRAG, "frag", "PCT", "untunnelled TCP/UDP flows that fragment datagrams"},
	{OPT_PCT + P_FRAG_OOO, "frag-ooo", "PCT", "fragmented datagrams sent out of order"},
	{OPT_PCT + P_TRUNC, "truncated", "PCT", "packets cut short (captured < wire length)"},
	{OPT_PCT + P_MALFORMED, "malformed", "PCT", "packets with an impossible header field"},
	{OPT_PCT + P_SPAN_COPY, "span-copies", "PCT",
	 "IP packets seen again by a second SPAN port: TTL one less, other MACs (extra frames)"},
	{OPT_PCT + P_RETRANS, "retransmits", "PCT",
	 "IPv4 TCP data packets sent again at once with a new IP ID (extra frames)"},
	{OPT_ALL, "all", NULL, "a bit of everything (options given explicitly win)"},
	{OPT_RATE, "rate", "PPS", "timestamp spacing in packets per second (default 100000)"},
	{OPT_SNAPLEN, "snaplen", "BYTES", "capture at most BYTES of each packet (16-262144)"},
	{OPT_QUIET, "quiet", NULL, "no summary line on standard error"},
	{OPT_HELP, "help", NULL, "print this help"},
};

struct gen_opts {
	const char *out;
	uint64_t flows, packets, seed, rate, snaplen;
	bool flows_set, packets_set, all, quiet;
	bool imix;
	uint32_t size_min, size_max;
	double pct[P__N];
	bool pct_set[P__N];
};

struct gen_flow {
	uint32_t budget, sent; /* frames of the flow itself (noise not counted) */
	uint32_t seq[2];       /* TCP sequence per direction (0: client to server) */
	uint32_t mpls[2][3];
	uint32_t key; /* GRE key, VXLAN/Geneve VNI */
	uint32_t teid[2];
	uint32_t fid6[2]; /* next IPv6 fragment id per direction */
	uint32_t label;	  /* IPv6 flow label */
	uint16_t server, cport, sport, tun_sport;
	uint16_t tci[2], ctci; /* outer tag per direction; inner C-tag of Q-in-Q */
	uint16_t ipid[2];      /* IPv4 ids of unfragmented packets: 0x0000-0x7fff */
	uint16_t fragid[2];    /* IPv4 ids of fragmented datagrams: 0x8000 | count */
	uint32_t stage;	       /* packets (or fragmented datagrams) sent so far */
	uint16_t mtu, encap_len;
	uint8_t ep[2];
	uint8_t kind, tag, tun, v6, outer_v6, variant, n_mpls, frag;
	uint8_t pfc;	/* PPPoE: 1-byte PPP protocol field */
	uint8_t arp;	/* ARP request and reply still to send */
	uint8_t fp_now; /* FabricPath flow: the packet being built crosses the core */
};

struct gen_stats {
	uint64_t bytes, frames, fragments, frag_dgrams, frag_ooo, truncated, malformed;
	uint64_t span_copies, retransmits;
	uint32_t kind[3], tag[TAG__N], tun[TUN__N], v6, frag, arp;
};

struct gen {
	const struct gen_opts *o;
	uint64_t rng;
	struct gen_flow *flows;
	uint32_t n_flows;
	uint32_t *active;
	uint32_t n_active;
	int fd;	  /* the output file, or standard output */
	FILE *fp; /* stdio stream over fd (out_write) */
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	uint64_t base_ns;
	int werr;     /* errno of the first failed write */
	bool regular; /* the output is a regular file: removed when incomplete */
	struct gen_stats st;
	uint8_t pkt[GEN_BUF];
	uint8_t dgram[GEN_BUF];
};

/* What one packet of a flow is. */
struct pkt_desc {
	uint8_t dir;
	uint8_t tcp_flags;
	bool fragment; /* split the datagram at the flow's MTU */
	uint32_t payload;
};

static const uint16_t tcp_ports[] = {80, 443, 8080, 25, 143, 3306, 5432, 6379, 8443, 9000};
static const uint16_t udp_ports[] = {15000, 7000, 9999, 10000, 12345, 20000, 30000, 33333};

/* ---- PRNG: splitmix64 (small, fast, and the same everywhere) ---- */

static uint64_t rnd64(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) for n < 2^32 (multiply-shift; the bias is negligible here). */
static uint32_t rnd_below(struct gen *g, uint64_t n)
{
	return (uint32_t)(((rnd64(g) >> 32) * n) >> 32);
}

static bool rnd_pct(struct gen *g, double pct)
{
	return pct > 0 && rnd_below(g, 1000000) < (uint32_t)(pct * 10000.0);
}

/* ---- addresses: clients unique per flow, so each flow's address pair is unique ---- */

static void addr_v4(uint8_t a[16], uint8_t net, uint32_t host)
{
	a[0] = 10;
	a[1] = net + (uint8_t)(host >> 16);
	a[2] = (host >> 8) & 0xff;
	a[3] = host & 0xff;
}

static void addr_v6(uint8_t a[16], uint8_t net, uint32_t host)
{
	memset(a, 0, 16);
	a[0] = 0xfd;
	a[7] = net;
	a[12] = host >> 24;
	a[13] = (host >> 16) & 0xff;
	a[14] = (host >> 8) & 0xff;
	a[15] = host & 0xff;
}

/* Client 10.1.0.0/12 / fd00:0:0:1::/64, server 10.128.0.0/16 / fd00:0:0:2::/64. */
static void flow_addr(const struct gen_flow *f, uint32_t idx, bool server, uint8_t a[16])
{
	if (f->v6)
		addr_v6(a, server ? 2 : 1, server ? f->server : idx + 1);
	else if (server)
		addr_v4(a, 128, f->server);
	else
		addr_v4(a, 1, idx + 1);
}

/* Tunnel endpoints: 10.255.s.e / fd00:0:0:ff::s:e. */
static void endpoint_addr(const struct gen_flow *f, bool server, uint8_t a[16])
{
	uint32_t host = (server ? 0x200 : 0x100) | f->ep[server];

	if (f->outer_v6)
		addr_v6(a, 0xff, host);
	else
		addr_v4(a, 255, host);
}

static void mac(uint8_t m[6], uint8_t a, uint8_t b, uint32_t host)
{
	m[0] = 0x02; /* locally administered */
	m[1] = 0;
	m[2] = a;
	m[3] = b;
	m[4] = (host >> 8) & 0xff;
	m[5] = host & 0xff;
}

/* ---- headers ---- */

static uint16_t ip_ethertype(bool v6)
{
	return v6 ? RF_ETH_P_IPV6 : RF_ETH_P_IPV4;
}

/* Client and server MACs: the hosts' own (inner), or the link's (tunnel endpoints). */
static void flow_macs(const struct gen_flow *f, uint32_t idx, bool inner, uint8_t cm[6],
		      uint8_t sm[6])
{
	if (inner) {
		mac(cm, 1, (uint8_t)(idx >> 16), idx);
		mac(sm, 2, 0, f->server);
	} else {
		mac(cm, 0, 1, f->ep[0]);
		mac(sm, 0, 2, f->ep[1]);
	}
}

static void push_eth(struct rf_pb *b, const struct gen_flow *f, uint32_t idx, uint8_t dir,
		     bool inner, uint16_t type)
{
	uint8_t cm[6], sm[6];

	flow_macs(f, idx, inner, cm, sm);
	if (dir == 0)
		rf_pb_eth(b, sm, cm, type);
	else
		rf_pb_eth(b, cm, sm, type);
}

/* FabricPath switch address (switch id 0x100 + endpoint) of one side of a flow. */
static void fp_switch(uint8_t m[6], uint8_t ep)
{
	memset(m, 0, 6);
	m[0] = 0x02; /* locally administered, unicast */
	m[1] = 0x01; /* switch id 0x1xx */
	m[2] = ep;
}

static void push_fabricpath(struct rf_pb *b, const struct gen_flow *f, uint8_t dir)
{
	uint8_t c[6], s[6];

	fp_switch(c, f->ep[0]);
	fp_switch(s, f->ep[1]);
	rf_pb_fabricpath(b, dir ? c : s, dir ? s : c, 1, 32);
}

/* PPPoE session of a flow: unique among 65534 flows. */
static uint16_t pppoe_session(uint32_t idx)
{
	return (uint16_t)(1 + idx % 0xfffe);
}

/* Ethernet and tags; next: EtherType of what follows the tags. */
static void push_link(struct rf_pb *b, const struct gen_flow *f, uint32_t idx, uint8_t dir,
		      uint16_t next)
{
	uint32_t i;

	switch (f->tag) {
	case TAG_VLAN:
		push_eth(b, f, idx, dir, false, RF_ETH_P_VLAN);
		rf_pb_vlan(b, f->tci[dir], next);
		break;
	case TAG_QINQ:
		push_eth(b, f, idx, dir, false, RF_ETH_P_QINQ);
		rf_pb_vlan(b, f->tci[dir], RF_ETH_P_VLAN);
		rf_pb_vlan(b, f->ctci, next);
		break;
	case TAG_MPLS:
		push_eth(b, f, idx, dir, false, RF_ETH_P_MPLS);
		for (i = 0; i < f->n_mpls; i++)
			rf_pb_mpls(b, f->mpls[dir][i], 0, i + 1 == f->n_mpls, 64);
		break;
	case TAG_PPPOE:
		push_eth(b, f, idx, dir, false, RF_ETH_P_PPPOE);
		rf_pb_pppoe(b, pppoe_session(idx),
			    next == RF_ETH_P_IPV6 ? RF_PPP_IPV6 : RF_PPP_IPV4, f->pfc);
		break;
	case TAG_FABRICPATH:
		if (f->fp_now)
			push_fabricpath(b, f, dir);
		push_eth(b, f, idx, dir, false, RF_ETH_P_VLAN);
		rf_pb_vlan(b, f->tci[dir], next);
		break;
	default:
		push_eth(b, f, idx, dir, false, next);
		break;
	}
}

static void push_outer_ip(struct rf_pb *b, const struct gen_flow *f, uint8_t dir, uint8_t proto)
{
	uint8_t c[16], s[16];

	endpoint_addr(f, false, c);
	endpoint_addr(f, true, s);
	if (f->outer_v6)
		rf_pb_ipv6(b, dir ? s : c, dir ? c : s, proto, f->label ^ 0x5555, 64);
	else
		rf_pb_ipv4(b, dir ? s : c, dir ? c : s, proto, 0, RF_IP_DF, 64);
}

/*
 * CAPWAP from the access point (dir 0, to the data port 5247) or to it: an
 * 802.3 frame, or (variant 2) an 802.11 data frame in Cisco's byte order
 * with LLC/SNAP; variant 1 adds the radio MAC and, in 802.11, QoS.
 */
static void push_capwap(struct rf_pb *b, const struct gen_flow *f, uint32_t idx, uint8_t dir,
			uint16_t inner)
{
	bool native = f->variant & 2, more = f->variant & 1;
	uint8_t radio[6], cm[6], sm[6];

	mac(radio, 0, 3, f->ep[0]);
	rf_pb_udp(b, dir ? 5247 : f->tun_sport, dir ? f->tun_sport : 5247);
	rf_pb_capwap(b, 0, native, more ? radio : NULL);
	if (!native) {
		push_eth(b, f, idx, dir, true, inner);
		return;
	}
	flow_macs(f, idx, true, cm, sm);
	rf_pb_wlan(b, dir ? RF_WLAN_FROM_DS : RF_WLAN_TO_DS, radio, dir ? sm : cm, dir ? cm : sm,
		   more, true);
	rf_pb_llc_snap(b, inner);
}

/*
 * Everything before the flow's own IP header (of EtherType inner, or what
 * else goes in its place) for direction dir.
 */
static void push_encap_type(struct rf_pb *b, const struct gen_flow *f, uint32_t idx, uint8_t dir,
			    uint16_t inner)
{
	bool teb = f->variant & 2;

	if (f->tun == TUN_NONE) {
		push_link(b, f, idx, dir, inner);
		return;
	}
	push_link(b, f, idx, dir, ip_ethertype(f->outer_v6));
	switch (f->tun) {
	case TUN_GRE:
		push_outer_ip(b, f, dir, 47);
		rf_pb_gre(b, teb ? RF_ETH_P_TEB : inner, f->variant & 1, f->key);
		if (teb)
			push_eth(b, f, idx, dir, true, inner);
		break;
	case TUN_VXLAN:
		push_outer_ip(b, f, dir, 17);
		rf_pb_udp(b, f->tun_sport, 4789);
		rf_pb_vxlan(b, f->key);
		push_eth(b, f, idx, dir, true, inner);
		break;
	case TUN_GENEVE:
		push_outer_ip(b, f, dir, 17);
		rf_pb_udp(b, f->tun_sport, 6081);
		rf_pb_geneve(b, f->key, RF_ETH_P_TEB);
		push_eth(b, f, idx, dir, true, inner);
		break;
	case TUN_GTPU:
		push_outer_ip(b, f, dir, 17);
		rf_pb_udp(b, 2152, 2152);
		rf_pb_gtpu(b, f->teid[dir], f->variant & 1, (uint8_t)(f->key & 0x3f));
		break;
	case TUN_IPIP:
		push_outer_ip(b, f, dir, f->v6 ? 41 : 4);
		break;
	case TUN_CAPWAP:
		push_outer_ip(b, f, dir, 17);
		push_capwap(b, f, idx, dir, inner);
		break;
	}
}

static void push_encap(struct rf_pb *b, const struct gen_flow *f, uint32_t idx, uint8_t dir)
{
	push_encap_type(b, f, idx, dir, ip_ethertype(f->v6));
}

/* Whether the flow's IP packets travel in an Ethernet (or 802.11) frame, where ARP can go. */
static bool arp_fits(const struct gen_flow *f)
{
	switch (f->tun) {
	case TUN_NONE:
		return f->tag != TAG_MPLS && f->tag != TAG_PPPOE;
	case TUN_GRE:
		return f->variant & 2; /* transparent Ethernet bridging */
	case TUN_VXLAN:
	case TUN_GENEVE:
	case TUN_CAPWAP:
		return true;
	default:
		return false;
	}
}

static uint8_t flow_proto(const struct gen_flow *f)
{
	if (f->kind == K_TCP)
		return 6;
	if (f->kind == K_UDP)
		return 17;
	return f->v6 ? 58 : 1;
}

static uint32_t ip_hlen(const struct gen_flow *f)
{
	return f->v6 ? RF_IPV6_HLEN : RF_IPV4_HLEN;
}

static uint32_t l4_hlen(const struct gen_flow *f, uint8_t tcp_flags)
{
	if (f->kind == K_TCP)
		return RF_TCP_HLEN + (tcp_flags & RF_TCP_SYN ? 8 : 0);
	return f->kind == K_UDP ? RF_UDP_HLEN : RF_ICMP_HLEN;
}

/* The flow's IP header; frag is the IPv4 flags/offset field. */
static void push_flow_ip(struct rf_pb *b, const struct gen_flow *f, uint32_t idx, uint8_t dir,
			 uint8_t proto, uint16_t id, uint16_t frag)
{
	uint8_t c[16], s[16];

	flow_addr(f, idx, false, c);
	flow_addr(f, idx, true, s);
	if (f->v6)
		rf_pb_ipv6(b, dir ? s : c, dir ? c : s, proto, f->label, dir ? 57 : 64);
	else
		rf_pb_ipv4(b, dir ? s : c, dir ? c : s, proto, id, frag, dir ? 57 : 64);
}

static void push_l4(struct rf_pb *b, const struct gen_flow *f, const struct pkt_desc *d)
{
	/* MSS 1460, NOP, NOP, SACK permitted: what a SYN usually carries. */
	static const uint8_t syn_opts[8] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};
	uint16_t cp = f->cport, sp = f->sport, seq;
	bool syn = d->tcp_flags & RF_TCP_SYN;

	switch (f->kind) {
	case K_TCP:
		rf_pb_tcp(b, d->dir ? sp : cp, d->dir ? cp : sp, f->seq[d->dir],
			  d->tcp_flags & RF_TCP_ACK ? f->seq[!d->dir] : 0, d->tcp_flags, 64240,
			  syn ? syn_opts : NULL, syn ? sizeof(syn_opts) : 0);
		break;
	case K_UDP:
		rf_pb_udp(b, d->dir ? sp : cp, d->dir ? cp : sp);
		break;
	default:
		seq = (uint16_t)(f->sent / 2 + 1);
		if (f->v6)
			rf_pb_icmp(b, d->dir ? 129 : 128, 0, f->cport, seq);
		else
			rf_pb_icmp(b, d->dir ? 0 : 8, 0, f->cport, seq);
		break;
	}
}

/*
 * Complete a frame to send. One that crossed the FabricPath core ends in
 * its FCS: Wireshark up to 4.0 takes a FabricPath frame's last 4 bytes
 * for it.
 */
static int finish_frame(struct rf_pb *b, const struct gen_flow *f)
{
	int r = rf_pb_finish(b, RF_ETH_ZLEN);

	return r < 0 || !f->fp_now ? r : rf_pb_fcs(b);
}

/* A FabricPath flow's packet (and all its fragments) crosses the core, or not: a coin flip. */
static void pick_fabricpath(struct gen *g, struct gen_flow *f)
{
	f->fp_now = f->tag == TAG_FABRICPATH && rnd_below(g, 2);
}

/*
 * The ARP request (dir 0: the client asks for the server's address, to
 * broadcast) or the reply, in the frame the flow's packets use; the
 * hardware addresses are that frame's.
 */
static int build_arp(struct gen *g, struct gen_flow *f, uint8_t dir, struct rf_pb *b)
{
	static const uint8_t none[6] = {0};
	uint32_t idx = (uint32_t)(f - g->flows);
	uint8_t c[16], s[16], *src, *dst;
	int eth, wl;

	pick_fabricpath(g, f);
	rf_pb_init(b, g->pkt, sizeof(g->pkt));
	push_encap_type(b, f, idx, dir, RF_ETH_P_ARP);
	eth = rf_pb_find_last(b, RF_PB_ETH);
	wl = rf_pb_find_last(b, RF_PB_WLAN);
	if (wl > eth) { /* to DS: bssid, sa, da; from DS: da, bssid, sa */
		src = g->pkt + wl + (dir ? 16 : 10);
		dst = g->pkt + wl + (dir ? 4 : 16);
	} else {
		src = g->pkt + eth + 6;
		dst = g->pkt + eth;
	}
	flow_addr(f, idx, false, c);
	flow_addr(f, idx, true, s);
	if (dir == 0)
		memset(dst, 0xff, 6);
	rf_pb_arp(b, dir ? 2 : 1, src, dir ? s : c, dir ? dst : none, dir ? c : s);
	return finish_frame(b, f);
}

/*
 * Build the whole packet into g->pkt (without the FCS of finish_frame():
 * it may still be cut into fragments); returns its length or a negative
 * errno.
 */
static int build_packet(struct gen *g, struct gen_flow *f, const struct pkt_desc *d,
			struct rf_pb *b)
{
	uint32_t idx = (uint32_t)(f - g->flows);
	uint16_t id, frag = 0;

	if (d->fragment) {
		id = 0x8000 | f->fragid[d->dir];
	} else {
		id = f->ipid[d->dir];
		f->ipid[d->dir] = (f->ipid[d->dir] + 1) & 0x7fff;
		if (f->kind == K_TCP)
			frag = RF_IP_DF;
	}
	pick_fabricpath(g, f);
	rf_pb_init(b, g->pkt, sizeof(g->pkt));
	push_encap(b, f, idx, d->dir);
	push_flow_ip(b, f, idx, d->dir, flow_proto(f), id, frag);
	push_l4(b, f, d);
	rf_pb_fill(b, d->payload, idx * 7919u + f->sent);
	return rf_pb_finish(b, RF_ETH_ZLEN);
}

/* ---- output ---- */

/*
 * The capture goes through a stdio stream whose writes land here, so that
 * the errno of a failed write(2) or close(2) is kept (stdio itself only
 * remembers that something failed).
 */
static ssize_t out_write(void *cookie, const char *buf, size_t len)
{
	struct gen *g = cookie;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(g->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!g->werr)
				g->werr = n < 0 ? errno : EIO;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int out_close(void *cookie)
{
	struct gen *g = cookie;

	if (g->fd != STDOUT_FILENO && close(g->fd) < 0 && !g->werr)
		g->werr = errno;
	g->fd = -1;
	return 0;
}

static int check_write(struct gen *g)
{
	if (!g->werr && (pcap_dump_flush(g->dumper) < 0 || ferror(g->fp)) && !g->werr)
		g->werr = EIO;
	return g->werr ? -g->werr : 0;
}

static int emit(struct gen *g, const uint8_t *pkt, uint32_t len, uint32_t caplen)
{
	struct pcap_pkthdr h;
	uint64_t ns = g->base_ns + g->st.frames * NSEC / g->o->rate;

	h.ts.tv_sec = (time_t)(ns / NSEC);
	h.ts.tv_usec = (suseconds_t)(ns % NSEC / 1000);
	h.len = len;
	h.caplen = caplen < g->o->snaplen ? caplen : (uint32_t)g->o->snaplen;
	pcap_dump((u_char *)g->dumper, &h, pkt);
	g->st.frames++;
	g->st.bytes += len;
	if (g->st.frames % GEN_FLUSH_EVERY == 0)
		return check_write(g);
	return 0;
}

/* ---- copies: extra frames after a flow's packet, not counted in --packets ---- */

/* MAC addresses on the far side of the router a second SPAN port looks at. */
static const uint8_t span_dst[6] = {0x02, 0x00, 0xaa, 0x00, 0x00, 0x02};
static const uint8_t span_src[6] = {0x02, 0x00, 0xaa, 0x00, 0x00, 0x01};

static void fix_ipv4_csum(uint8_t *p);

/*
 * The packet just built (b, len bytes in g->pkt) as a second SPAN port on
 * the other side of a router sees it: other MAC addresses, the outermost
 * IPv4 TTL (checksum fixed) or IPv6 hop limit one less. One frame later.
 */
static int emit_span_copy(struct gen *g, const struct rf_pb *b, uint32_t len)
{
	int ip4 = rf_pb_find_first(b, RF_PB_IPV4), ip6 = rf_pb_find_first(b, RF_PB_IPV6);
	bool v4 = ip4 >= 0 && (ip6 < 0 || ip4 < ip6);
	uint8_t *p = g->dgram;

	if (ip4 < 0 && ip6 < 0)
		return 0;
	memcpy(p, g->pkt, len);
	memcpy(p, span_dst, 6);
	memcpy(p + 6, span_src, 6);
	if (v4) {
		p[ip4 + 8]--;
		fix_ipv4_csum(p + ip4);
	} else {
		p[ip6 + 7]--;
	}
	g->st.span_copies++;
	return emit(g, p, len, len);
}

/* The same TCP segment again (sequence number, payload), with the next IP ID. */
static int emit_retransmit(struct gen *g, struct gen_flow *f, const struct pkt_desc *d)
{
	struct rf_pb b;
	int len = build_packet(g, f, d, &b);

	if (len < 0)
		return len;
	g->st.retransmits++;
	return emit(g, g->pkt, (uint32_t)len, (uint32_t)len);
}

/* Copies of a whole packet just sent, as the options ask. */
static int emit_copies(struct gen *g, struct gen_flow *f, const struct pkt_desc *d,
		       const struct rf_pb *b, uint32_t len)
{
	int r = 0;

	/* A FabricPath frame ends in an FCS that a changed copy would get wrong. */
	if (f->fp_now)
		return 0;
	if (rnd_pct(g, g->o->pct[P_SPAN_COPY]))
		r = emit_span_copy(g, b, len);
	if (r >= 0 && f->kind == K_TCP && !f->v6 && d->payload && f->tag != TAG_FABRICPATH &&
	    rnd_pct(g, g->o->pct[P_RETRANS]))
		r = emit_retransmit(g, f, d);
	return r;
}

/* ---- fragments ---- */

/* Fragments of a datagram of dgram_len bytes at MTU mtu. */
static uint32_t n_fragments(const struct gen_flow *f, uint32_t dgram_len)
{
	uint32_t per = (f->mtu - ip_hlen(f) - (f->v6 ? RF_IPV6_FHLEN : 0)) & ~7u;
	uint32_t data = dgram_len - ip_hlen(f);

	if (dgram_len <= f->mtu)
		return 1;
	return (data + per - 1) / per;
}

/* Order in which the n fragments go out: in order, reversed, or last first. */
static void frag_order(struct gen *g, uint32_t n, uint8_t order[GEN_MAX_FRAGS])
{
	uint32_t i;
	bool ooo = rnd_pct(g, g->o->pct[P_FRAG_OOO]);
	bool reverse = ooo && rnd_below(g, 2);

	for (i = 0; i < n; i++)
		order[i] = (uint8_t)(reverse ? n - 1 - i : i);
	if (ooo && !reverse) {
		order[0] = (uint8_t)(n - 1);
		for (i = 1; i < n; i++)
			order[i] = (uint8_t)(i - 1);
	}
	if (ooo)
		g->st.frag_ooo++;
}

static int emit_fragment(struct gen *g, struct gen_flow *f, uint8_t dir, uint32_t off, uint32_t len,
			 bool more)
{
	uint32_t idx = (uint32_t)(f - g->flows);
	struct rf_pb b;
	int r;

	rf_pb_init(&b, g->pkt, sizeof(g->pkt));
	push_encap(&b, f, idx, dir);
	if (f->v6) {
		push_flow_ip(&b, f, idx, dir, 44, 0, 0);
		rf_pb_ipv6_frag(&b, flow_proto(f), (uint16_t)off, more, f->fid6[dir]);
	} else {
		push_flow_ip(&b, f, idx, dir, flow_proto(f), 0x8000 | f->fragid[dir],
			     (uint16_t)((more ? RF_IP_MF : 0) | off / 8));
	}
	rf_pb_bytes(&b, g->dgram + ip_hlen(f) + off, len);
	r = finish_frame(&b, f);
	if (r < 0)
		return r;
	g->st.fragments++;
	return emit(g, g->pkt, (uint32_t)r, (uint32_t)r);
}

/* Split the finished packet in g->pkt (flow IP header at ip_off) into fragments. */
static int emit_fragmented(struct gen *g, struct gen_flow *f, uint8_t dir, uint32_t ip_off,
			   uint32_t end)
{
	uint32_t dlen = end - ip_off, data = dlen - ip_hlen(f), n = n_fragments(f, dlen);
	uint32_t per = (f->mtu - ip_hlen(f) - (f->v6 ? RF_IPV6_FHLEN : 0)) & ~7u, i, off;
	uint8_t order[GEN_MAX_FRAGS];
	int r;

	memcpy(g->dgram, g->pkt + ip_off, dlen);
	frag_order(g, n, order);
	for (i = 0; i < n; i++) {
		off = order[i] * per;
		r = emit_fragment(g, f, dir, off, data - off < per ? data - off : per,
				  order[i] + 1u < n);
		if (r < 0)
			return r;
	}
	g->st.frag_dgrams++;
	if (f->v6)
		f->fid6[dir]++;
	else
		f->fragid[dir]++;
	return (int)n;
}

/* ---- sizes ---- */

static uint32_t pick_frame_len(struct gen *g)
{
	static const uint16_t imix[12] = {64, 64, 64, 64, 64, 64, 64, 594, 594, 594, 594, 1518};
	const struct gen_opts *o = g->o;

	if (o->imix)
		return imix[rnd_below(g, 12)];
	if (o->size_min == o->size_max)
		return o->size_min;
	return o->size_min + rnd_below(g, o->size_max - o->size_min + 1);
}

/* L4 payload for a frame of frame_len bytes (0 when the headers alone are longer). */
static uint32_t payload_for(const struct gen_flow *f, uint32_t frame_len, uint8_t tcp_flags)
{
	uint32_t hdrs = f->encap_len + ip_hlen(f) + l4_hlen(f, tcp_flags);

	return frame_len > hdrs ? frame_len - hdrs : 0;
}

/*
 * Payload of a data packet. A fragmenting flow sends a third of its data as
 * datagrams above its MTU, whatever --size says, so that it does fragment;
 * room: frames the flow may still spend on this datagram.
 */
static void pick_data(struct gen *g, struct gen_flow *f, struct pkt_desc *d, uint32_t room)
{
	uint32_t fixed = ip_hlen(f) + l4_hlen(f, d->tcp_flags), dlen, hi, n;
	bool big = f->frag && rnd_below(g, 3) == 0;

	d->payload = payload_for(f, pick_frame_len(g), d->tcp_flags);
	if (big) {
		hi = 3u * f->mtu < GEN_MAX_DGRAM ? 3u * f->mtu : GEN_MAX_DGRAM;
		d->payload = f->mtu + 1 + rnd_below(g, hi - f->mtu) - fixed;
	}
	dlen = fixed + d->payload;
	if (!f->frag || dlen <= f->mtu)
		return;
	n = n_fragments(f, dlen);
	if ((!f->v6 && f->fragid[d->dir] >= 0x8000) || n > room || n > GEN_MAX_FRAGS) {
		/* No room (or no unique id left): send what fits in one packet. */
		d->payload = f->mtu - fixed;
		return;
	}
	d->fragment = true;
}

/* ---- flows ---- */

/* Send a described packet of the flow, whole or in fragments; returns frames sent. */
static int send_packet(struct gen *g, struct gen_flow *f, const struct pkt_desc *d)
{
	struct rf_pb b;
	int len, ip4, ip6, ip_off, r;

	len = build_packet(g, f, d, &b);
	if (len < 0)
		return len;
	if (!d->fragment) {
		if (f->fp_now)
			len = rf_pb_fcs(&b);
		r = len < 0 ? len : emit(g, g->pkt, (uint32_t)len, (uint32_t)len);
		if (r >= 0)
			r = emit_copies(g, f, d, &b, (uint32_t)len);
		return r < 0 ? r : 1;
	}
	ip4 = rf_pb_find_last(&b, RF_PB_IPV4);
	ip6 = rf_pb_find_last(&b, RF_PB_IPV6);
	ip_off = ip4 > ip6 ? ip4 : ip6;
	return emit_fragmented(g, f, d->dir, (uint32_t)ip_off, (uint32_t)len);
}

/* TCP: handshake, data both ways, and a FIN exchange in the last three frames. */
static void tcp_next(struct gen *g, struct gen_flow *f, struct pkt_desc *d)
{
	static const uint8_t hs_dir[3] = {0, 1, 0}, fin_dir[3] = {0, 1, 0};
	static const uint8_t hs_flags[3] = {RF_TCP_SYN, RF_TCP_SYN | RF_TCP_ACK, RF_TCP_ACK};
	static const uint8_t fin_flags[3] = {RF_TCP_FIN | RF_TCP_ACK, RF_TCP_FIN | RF_TCP_ACK,
					     RF_TCP_ACK};
	uint32_t rem = f->budget - f->sent;

	if (f->stage < 3) {
		d->dir = hs_dir[f->stage];
		d->tcp_flags = hs_flags[f->stage];
	} else if (rem <= 3) {
		d->dir = fin_dir[3 - rem];
		d->tcp_flags = fin_flags[3 - rem];
	} else {
		d->dir = rnd_below(g, 5) < 2 ? 0 : 1;
		d->tcp_flags = RF_TCP_ACK | RF_TCP_PSH;
		pick_data(g, f, d, rem - 3);
	}
}

static void tcp_advance(struct gen_flow *f, const struct pkt_desc *d)
{
	f->seq[d->dir] += d->payload + (d->tcp_flags & (RF_TCP_SYN | RF_TCP_FIN) ? 1 : 0);
}

/* UDP: the first packet each way is whole (within the MTU): tests tie fragments to it. */
static void udp_first(struct gen *g, struct gen_flow *f, struct pkt_desc *d)
{
	uint32_t fixed = ip_hlen(f) + RF_UDP_HLEN;

	d->dir = (uint8_t)f->stage;
	d->payload = payload_for(f, pick_frame_len(g), 0);
	if (f->frag && fixed + d->payload > f->mtu)
		d->payload = f->mtu - fixed;
}

static void flow_next(struct gen *g, struct gen_flow *f, struct pkt_desc *d)
{
	memset(d, 0, sizeof(*d));
	switch (f->kind) {
	case K_TCP:
		tcp_next(g, f, d);
		break;
	case K_UDP:
		if (f->stage < 2)
			udp_first(g, f, d);
		else
			pick_data(g, f, d, f->budget - f->sent);
		break;
	default:
		d->dir = f->stage & 1; /* echo request, echo reply */
		d->payload = payload_for(f, pick_frame_len(g), 0);
		break;
	}
}

/* The ARP exchange that opens a flow: request, then reply; returns frames sent. */
static int arp_step(struct gen *g, struct gen_flow *f)
{
	struct rf_pb b;
	int len = build_arp(g, f, (uint8_t)(2 - f->arp), &b);

	if (len < 0)
		return len;
	len = emit(g, g->pkt, (uint32_t)len, (uint32_t)len);
	if (len < 0)
		return len;
	f->arp--;
	f->sent++;
	return 1;
}

/* One step of a flow; returns frames sent. */
static int flow_step(struct gen *g, struct gen_flow *f)
{
	struct pkt_desc d;
	int n;

	if (f->arp)
		return arp_step(g, f);
	flow_next(g, f, &d);
	n = send_packet(g, f, &d);
	if (n < 0)
		return n;
	if (f->kind == K_TCP)
		tcp_advance(f, &d);
	f->sent += (uint32_t)n;
	f->stage++;
	return n;
}

/* ---- noise: truncated and malformed copies of a flow's packet, flow state untouched ---- */

/* Outer Ethernet source of noise packets, last byte 1 truncated, 2 malformed. */
static const uint8_t noise_mac[6] = {0x02, 0x00, 0xee, 0x00, 0x00, 0x00};

/*
 * A data packet of flow f in a random direction, its outer source MAC
 * replaced by noise_mac + kind so that tests can tell noise from flow members
 * (the hash never looks at MACs of IP packets).
 */
static int noise_base(struct gen *g, struct gen_flow *f, struct rf_pb *b, uint8_t kind)
{
	struct pkt_desc d;
	int len;

	memset(&d, 0, sizeof(d));
	d.dir = (uint8_t)rnd_below(g, 2);
	d.tcp_flags = f->kind == K_TCP ? RF_TCP_ACK | RF_TCP_PSH : 0;
	d.payload = payload_for(f, pick_frame_len(g), d.tcp_flags);
	if (d.payload + ip_hlen(f) + l4_hlen(f, d.tcp_flags) > 1500)
		d.payload = 1500 - ip_hlen(f) - l4_hlen(f, d.tcp_flags);
	len = build_packet(g, f, &d, b);
	if (len >= 0) {
		memcpy(g->pkt + 6, noise_mac, 6);
		g->pkt[11] = kind;
	}
	return len;
}

static int emit_truncated(struct gen *g, struct gen_flow *f)
{
	struct rf_pb b;
	int len = noise_base(g, f, &b, 1), pay;
	uint32_t cut, hdr_end;

	if (len < 0)
		return len;
	pay = rf_pb_find_last(&b, RF_PB_PAYLOAD);
	hdr_end = pay > 0 ? (uint32_t)pay : (uint32_t)len;
	if (hdr_end < b.len && rnd_below(g, 2))
		cut = hdr_end + rnd_below(g, b.len - hdr_end); /* inside the payload */
	else
		cut = RF_ETH_HLEN + 1 +
		      rnd_below(g, hdr_end - RF_ETH_HLEN - 1); /* inside a header */
	g->st.truncated++;
	return emit(g, g->pkt, (uint32_t)len, cut);
}

static void fix_ipv4_csum(uint8_t *p)
{
	uint16_t c;

	p[10] = p[11] = 0;
	c = rf_pb_csum_fold(rf_pb_csum_add(0, p, RF_IPV4_HLEN));
	p[10] = c >> 8;
	p[11] = c & 0xff;
}

/* Break one field of an IP header; the IPv4 checksum stays right, so only the field is bad. */
static void break_ip(struct gen *g, uint8_t *p, bool v6)
{
	static const uint8_t bad_versions[4] = {0, 5, 7, 15};
	uint32_t what = rnd_below(g, 3);

	if (what == 0) {
		p[0] = (uint8_t)(bad_versions[rnd_below(g, 4)] << 4 | (p[0] & 0x0f));
	} else if (v6) {
		p[4] = 0xff; /* payload length far past the packet */
		p[5] = (uint8_t)(0xf0 | rnd_below(g, 16));
	} else if (what == 1) {
		p[0] = (uint8_t)(0x40 | rnd_below(g, 5)); /* IHL < 5 */
	} else {
		p[2] = 0;
		/* Total length 1-19, below the header (0 often means "offloaded", not broken). */
		p[3] = (uint8_t)(1 + rnd_below(g, RF_IPV4_HLEN - 1));
	}
	if (!v6)
		fix_ipv4_csum(p);
}

static int emit_malformed(struct gen *g, struct gen_flow *f)
{
	struct rf_pb b;
	int len = noise_base(g, f, &b, 2), tcp, gre, ip4, ip6, off;
	bool inner = rnd_below(g, 2);

	if (len < 0)
		return len;
	tcp = rf_pb_find_last(&b, RF_PB_TCP);
	gre = rf_pb_find_last(&b, RF_PB_GRE);
	if (tcp >= 0 && rnd_below(g, 4) == 0) {
		g->pkt[tcp + 12] = (uint8_t)(rnd_below(g, 5) << 4 | (g->pkt[tcp + 12] & 0x0f));
	} else if (gre >= 0 && rnd_below(g, 2) == 0) {
		g->pkt[gre + 1] = (uint8_t)((g->pkt[gre + 1] & 0xf8) | (2 + rnd_below(g, 6)));
	} else {
		ip4 = inner ? rf_pb_find_last(&b, RF_PB_IPV4) : rf_pb_find_first(&b, RF_PB_IPV4);
		ip6 = inner ? rf_pb_find_last(&b, RF_PB_IPV6) : rf_pb_find_first(&b, RF_PB_IPV6);
		if (ip4 < 0 || (ip6 >= 0 && (inner ? ip6 > ip4 : ip6 < ip4)))
			off = ip6;
		else
			off = ip4;
		break_ip(g, g->pkt + off, off == ip6);
	}
	g->st.malformed++;
	return emit(g, g->pkt, (uint32_t)len, (uint32_t)len);
}

/* ---- flow set-up ---- */

static uint8_t pick_choice(struct gen *g, const double *pct, uint32_t n)
{
	double r = rnd_below(g, 1000000) / 10000.0, acc = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		acc += pct[i];
		if (r < acc)
			return (uint8_t)(i + 1);
	}
	return 0;
}

static uint16_t pick_vid(struct gen *g)
{
	return (uint16_t)(1 + rnd_below(g, 4094));
}

static void setup_tags(struct gen *g, struct gen_flow *f)
{
	uint32_t i, d;

	f->tag = pick_choice(g, &g->o->pct[P_VLAN], N_TAG_CHOICES);
	if (f->tag == TAG_PPPOE)
		f->pfc = (uint8_t)rnd_below(g, 2);
	f->tci[0] = f->tci[1] = pick_vid(g);
	/* Taps often see the two directions on different VLANs: the hash must not care. */
	if (f->tag == TAG_VLAN && rnd_below(g, 5) == 0)
		f->tci[1] = (uint16_t)(f->tci[0] % 4094 + 1);
	f->ctci = pick_vid(g);
	f->n_mpls = (uint8_t)(1 + rnd_below(g, 3));
	for (d = 0; d < 2; d++)
		for (i = 0; i < 3; i++)
			f->mpls[d][i] = 16 + rnd_below(g, 0xfffff - 16);
}

static void setup_tunnel(struct gen *g, struct gen_flow *f)
{
	f->tun = pick_choice(g, &g->o->pct[P_GRE], N_TUN_CHOICES);
	f->outer_v6 = f->tun != TUN_NONE && rnd_pct(g, g->o->pct[P_IPV6]);
	f->variant = (uint8_t)rnd_below(g, 4);
	f->key = (uint32_t)rnd64(g) & 0xffffff;
	f->teid[0] = (uint32_t)rnd64(g) | 1;
	f->teid[1] = (uint32_t)rnd64(g) | 1;
	f->tun_sport = (uint16_t)(49152 + rnd_below(g, 16384));
	f->ep[0] = (uint8_t)(1 + rnd_below(g, GEN_N_ENDPOINTS));
	f->ep[1] = (uint8_t)(1 + rnd_below(g, GEN_N_ENDPOINTS));
}

static void count_flow(struct gen_stats *st, const struct gen_flow *f)
{
	st->kind[f->kind]++;
	st->tag[f->tag]++;
	st->tun[f->tun]++;
	st->v6 += f->v6;
	st->frag += f->frag;
	st->arp += f->arp != 0;
}

static void setup_flow(struct gen *g, struct gen_flow *f, uint32_t budget)
{
	uint32_t r = rnd_below(g, 100);
	struct rf_pb b;

	f->budget = budget;
	f->kind = r < 75 ? K_TCP : r < 95 ? K_UDP : K_ICMP;
	f->v6 = rnd_pct(g, g->o->pct[P_IPV6]);
	setup_tags(g, f);
	setup_tunnel(g, f);
	f->frag = f->tun == TUN_NONE && f->kind != K_ICMP && rnd_pct(g, g->o->pct[P_FRAG]);
	f->mtu = (uint16_t)(576 + rnd_below(g, 1500 - 576 + 1));
	f->server = (uint16_t)(1 + rnd_below(g, GEN_N_SERVERS));
	f->cport = (uint16_t)(32768 + rnd_below(g, 60999 - 32768 + 1));
	if (f->kind == K_TCP)
		f->sport = tcp_ports[rnd_below(g, ARRAY_SIZE(tcp_ports))];
	else
		f->sport = udp_ports[rnd_below(g, ARRAY_SIZE(udp_ports))];
	f->seq[0] = (uint32_t)rnd64(g);
	f->seq[1] = (uint32_t)rnd64(g);
	f->ipid[0] = (uint16_t)rnd_below(g, 0x8000);
	f->ipid[1] = (uint16_t)rnd_below(g, 0x8000);
	f->fid6[0] = (uint32_t)rnd64(g);
	f->fid6[1] = (uint32_t)rnd64(g);
	f->label = rnd_below(g, 0x100000);
	/* At least 4 frames of the flow itself after its ARP exchange. */
	if (!f->v6 && budget >= 6 && arp_fits(f) && rnd_pct(g, g->o->pct[P_ARP]))
		f->arp = 2;
	/* Header bytes before the flow's IP header; the same both ways. */
	rf_pb_init(&b, g->pkt, sizeof(g->pkt));
	push_encap(&b, f, 0, 0);
	f->encap_len = (uint16_t)b.len;
	count_flow(&g->st, f);
}

static int setup(struct gen *g)
{
	uint64_t noise = g->o->packets * (g->o->pct[P_TRUNC] + g->o->pct[P_MALFORMED]) / 100;
	uint64_t real = g->o->packets - noise;
	uint32_t i;

	g->n_flows = (uint32_t)g->o->flows;
	g->flows = calloc(g->n_flows, sizeof(*g->flows));
	g->active = calloc(g->n_flows, sizeof(*g->active));
	if (!g->flows || !g->active)
		return -ENOMEM;
	g->rng = g->o->seed;
	/* A start time derived from the seed: within 2020-2021, whole seconds. */
	g->base_ns = (1577836800ull + rnd64(g) % (366ull * 86400)) * NSEC;
	for (i = 0; i < g->n_flows; i++) {
		setup_flow(g, &g->flows[i],
			   (uint32_t)(real / g->n_flows + (i < real % g->n_flows)));
		g->active[i] = i;
	}
	g->n_active = g->n_flows;
	return 0;
}

/* ---- main loop ---- */

static int emit_noise(struct gen *g, uint64_t *trunc_left)
{
	struct gen_flow *f = &g->flows[rnd_below(g, g->n_flows)];

	if (*trunc_left) {
		(*trunc_left)--;
		return emit_truncated(g, f);
	}
	return emit_malformed(g, f);
}

static int generate(struct gen *g)
{
	uint64_t trunc = g->o->packets * g->o->pct[P_TRUNC] / 100;
	uint64_t noise = g->o->packets * (g->o->pct[P_TRUNC] + g->o->pct[P_MALFORMED]) / 100;
	uint64_t left = g->o->packets;
	uint32_t j;
	int r;

	while (left) {
		/* Noise lands at random points: left - noise frames are still owed by flows. */
		if (noise && rnd64(g) % left < noise) {
			r = emit_noise(g, &trunc);
			noise--;
			left--;
		} else {
			j = rnd_below(g, g->n_active);
			r = flow_step(g, &g->flows[g->active[j]]);
			if (r > 0)
				left -= (uint64_t)r;
			if (g->flows[g->active[j]].sent >= g->flows[g->active[j]].budget)
				g->active[j] = g->active[--g->n_active];
		}
		if (r < 0)
			return r;
	}
	return check_write(g);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ringfan gen -o FILE [OPTIONS]\n\n"
		"Write a synthetic capture: TCP, UDP and ICMP conversations in both directions,\n"
		"with tags, tunnels, fragments and broken packets in the chosen shares (PCT:\n"
		"percent of flows; of packets for --truncated and --malformed).\n\nOptions:\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExample:\n  ringfan gen -o all.pcap --flows 1000 --packets 100000 --all "
		   "--seed 7\n"
		   "\nSee ringfan-gen(1).\n");
}

static int parse_size(struct gen_opts *o, const char *s)
{
	uint64_t a, b;
	const char *dash = strchr(s, '-');
	char lo[32];

	if (!strcmp(s, "imix")) {
		o->imix = true;
		return 0;
	}
	if (!dash) {
		if (rf_parse_u64(s, GEN_MIN_SIZE, GEN_MAX_SIZE, &a) < 0)
			return -EINVAL;
		o->size_min = o->size_max = (uint32_t)a;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = '\0';
	if (rf_parse_u64(lo, GEN_MIN_SIZE, GEN_MAX_SIZE, &a) < 0 ||
	    rf_parse_u64(dash + 1, GEN_MIN_SIZE, GEN_MAX_SIZE, &b) < 0 || a > b)
		return -EINVAL;
	o->size_min = (uint32_t)a;
	o->size_max = (uint32_t)b;
	return 0;
}

static int bad_value(const char *name, const char *val, const char *want)
{
	rf_err("invalid value '%s' for --%s: expected %s", val, name, want);
	return -EINVAL;
}

static int apply_opt(void *arg_o, int id, const char *arg)
{
	struct gen_opts *o = arg_o;
	const char *name = "";
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].id == id)
			name = opts[i].name;
	if (id >= OPT_PCT && id < OPT_PCT + P__N) {
		if (rf_parse_double(arg, 0, 100, &o->pct[id - OPT_PCT]) < 0)
			return bad_value(name, arg, "a percentage from 0 to 100");
		o->pct_set[id - OPT_PCT] = true;
		return 0;
	}
	switch (id) {
	case OPT_OUTPUT:
		o->out = arg;
		return 0;
	case OPT_FLOWS:
		o->flows_set = true;
		if (rf_parse_u64(arg, 1, GEN_MAX_FLOWS, &o->flows) < 0)
			return bad_value(name, arg, "a number of flows from 1 to 1000000");
		return 0;
	case OPT_PACKETS:
		o->packets_set = true;
		if (rf_parse_u64(arg, 1, GEN_MAX_PACKETS, &o->packets) < 0)
			return bad_value(name, arg, "a number of packets from 1 to 1000000000");
		return 0;
	case OPT_SEED:
		if (rf_parse_u64(arg, 0, UINT64_MAX, &o->seed) < 0)
			return bad_value(name, arg, "an unsigned 64-bit number");
		return 0;
	case OPT_SIZE:
		if (parse_size(o, arg) < 0)
			return bad_value(name, arg, "60-9018, imix, or MIN-MAX within 60-9018");
		return 0;
	case OPT_RATE:
		if (rf_parse_u64(arg, 1, 100000000, &o->rate) < 0)
			return bad_value(name, arg, "packets per second from 1 to 100000000");
		return 0;
	case OPT_SNAPLEN:
		if (rf_parse_u64(arg, 16, 262144, &o->snaplen) < 0)
			return bad_value(name, arg, "a byte count from 16 to 262144");
		return 0;
	case OPT_ALL:
		o->all = true;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	}
	return -EINVAL;
}

static double pct_sum(const struct gen_opts *o, enum pct_id first, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += o->pct[first + i];
	return sum;
}

/* Defaults, --all, and the checks that involve several options. */
static int finish_opts(struct gen_opts *o)
{
	uint64_t noise;
	int i;

	for (i = 0; i < P__N; i++)
		if (o->all && !o->pct_set[i])
			o->pct[i] = all_pct[i];
	if (!o->flows_set && !o->packets_set)
		o->flows = GEN_DEF_FLOWS;
	else if (!o->flows_set)
		o->flows = o->packets / GEN_PKTS_PER_FLOW ? o->packets / GEN_PKTS_PER_FLOW : 1;
	if (!o->packets_set)
		o->packets = o->flows * GEN_PKTS_PER_FLOW;
	if (!o->out) {
		rf_err("missing -o FILE (try 'ringfan gen --help')");
		return -EINVAL;
	}
	if (pct_sum(o, P_VLAN, N_TAG_CHOICES) > 100) {
		rf_err("--vlan, --qinq, --mpls, --pppoe and --fabricpath add up to more than "
		       "100%%");
		return -EINVAL;
	}
	if (pct_sum(o, P_GRE, N_TUN_CHOICES) > 100) {
		rf_err("--gre, --vxlan, --geneve, --gtpu, --ipip and --capwap add up to more than "
		       "100%%");
		return -EINVAL;
	}
	if (o->pct[P_TRUNC] + o->pct[P_MALFORMED] > 50) {
		rf_err("--truncated and --malformed add up to more than 50%%");
		return -EINVAL;
	}
	noise = o->packets * (o->pct[P_TRUNC] + o->pct[P_MALFORMED]) / 100;
	if (o->packets - noise < 2 * o->flows) {
		rf_err("--packets %llu is too few for %llu flows: each flow needs 2 packets",
		       (unsigned long long)o->packets, (unsigned long long)o->flows);
		return -EINVAL;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct gen_opts *o)
{
	static const struct rf_opts gen_opts = {opts, ARRAY_SIZE(opts), apply_opt, usage};
	int r;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->rate = 100000;
	o->snaplen = 262144;
	o->size_min = o->size_max = 64;
	r = rf_opts_parse(&gen_opts, argc, argv, o, NULL);
	if (r)
		return r < 0 ? 1 : -EINVAL;
	return finish_opts(o);
}

/* ---- files ---- */

static const char *out_name(const struct gen_opts *o)
{
	return strcmp(o->out, "-") ? o->out : "standard output";
}

/*
 * A file is written under a temporary name next to it and renamed over it
 * once complete: an interrupted or failed run leaves neither a truncated
 * capture nor the temporary (a stop signal removes it), and a file of that
 * name stays as it was. Static: the signal handler needs it.
 */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_live;

static void on_stop(int sig)
{
	if (tmp_live)
		unlink(tmp_path);
	raise(sig); /* SA_RESETHAND: the default action now, the status says the signal */
}

/* A signal ignored from the start (a background job's SIGINT, nohup's SIGHUP) stays so. */
static void remove_tmp_on_stop(void)
{
	struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESETHAND}, was;
	const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		if (!sigaction(sigs[i], NULL, &was) && was.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/* ".NAME.XXXXXX" in NAME's directory, with the mode a new NAME would get. */
static int open_tmp(struct gen *g)
{
	const char *out = g->o->out, *slash = strrchr(out, '/');
	int dlen = slash ? (int)(slash - out + 1) : 0;
	mode_t mask = umask(0);

	umask(mask);
	if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%.*s.%s.XXXXXX", dlen, out, out + dlen) >=
	    sizeof(tmp_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	remove_tmp_on_stop();
	g->fd = mkostemp(tmp_path, O_CLOEXEC);
	if (g->fd < 0)
		return -1;
	tmp_live = 1;
	fchmod(g->fd, 0666 & ~mask);
	g->regular = true;
	return 0;
}

static int open_fd(struct gen *g)
{
	const struct gen_opts *o = g->o;
	struct stat st;

	if (!strcmp(o->out, "-")) {
		if (isatty(STDOUT_FILENO)) {
			rf_err("refusing to write a capture to a terminal");
			return RF_EXIT_USAGE;
		}
		g->fd = STDOUT_FILENO;
		return 0;
	}
	/* A FIFO, a device (/dev/null) or a symbolic link is written through. */
	if (!lstat(o->out, &st) && !S_ISREG(st.st_mode))
		g->fd = open(o->out, O_WRONLY | O_CLOEXEC);
	else if (open_tmp(g))
		g->fd = -1;
	if (g->fd < 0) {
		rf_err("cannot open '%s': %s", o->out, strerror(errno));
		return RF_EXIT_RUNTIME;
	}
	return 0;
}

/* The complete file takes its name. Returns 0 or an exit status (message printed). */
static int commit_output(struct gen *g)
{
	int r = 0;

	if (!tmp_live)
		return 0;
	if (rename(tmp_path, g->o->out)) {
		rf_err("cannot write '%s': %s (partial file removed)", g->o->out, strerror(errno));
		unlink(tmp_path);
		r = RF_EXIT_RUNTIME;
	}
	tmp_live = 0;
	return r;
}

static int open_output(struct gen *g)
{
	static const cookie_io_functions_t io = {.write = out_write, .close = out_close};
	int r = open_fd(g);

	if (r)
		return r;
	g->fp = fopencookie(g, "w", io);
	if (g->fp)
		setvbuf(g->fp, NULL, _IOFBF, 1 << 20);
	g->pcap = pcap_open_dead(DLT_EN10MB, (int)g->o->snaplen);
	g->dumper = g->fp && g->pcap ? pcap_dump_fopen(g->pcap, g->fp) : NULL;
	if (!g->dumper) {
		rf_err("cannot start a capture in '%s': %s", out_name(g->o),
		       g->fp && g->pcap ? pcap_geterr(g->pcap) : "out of memory");
		if (g->fp)
			fclose(g->fp);
		else
			out_close(g);
		if (g->pcap)
			pcap_close(g->pcap);
		return RF_EXIT_RUNTIME;
	}
	return 0;
}

/* Close the output; a failed write or close is left in g->werr. */
static void close_output(struct gen *g)
{
	pcap_dump_close(g->dumper); /* fclose(g->fp): flushes, then out_close() */
	pcap_close(g->pcap);
}

/* Remove an incomplete file (the temporary: never a FIFO, a device or standard output). */
static const char *drop_partial(const struct gen *g)
{
	if (!g->regular)
		return "output is incomplete";
	unlink(tmp_path);
	tmp_live = 0;
	return "partial file removed";
}

/* Say why the output could not be written. */
static void write_failed(const struct gen *g, int err)
{
	if (!strcmp(g->o->out, "-"))
		rf_err("cannot write to standard output: %s (output is incomplete)", strerror(err));
	else
		rf_err("cannot write '%s': %s (%s)", g->o->out, strerror(err), drop_partial(g));
}

static void summary(const struct gen *g)
{
	const struct gen_stats *s = &g->st;

	fprintf(stderr,
		"ringfan gen: %s: packets=%llu flows=%u bytes=%llu tcp=%u udp=%u icmp=%u "
		"ipv6=%u vlan=%u qinq=%u mpls=%u pppoe=%u fabricpath=%u gre=%u vxlan=%u "
		"geneve=%u gtpu=%u ipip=%u capwap=%u arp=%u frag_flows=%u fragments=%llu "
		"frag_datagrams=%llu frag_ooo=%llu truncated=%llu malformed=%llu "
		"span_copies=%llu retransmits=%llu\n",
		out_name(g->o), (unsigned long long)s->frames, g->n_flows,
		(unsigned long long)s->bytes, s->kind[K_TCP], s->kind[K_UDP], s->kind[K_ICMP],
		s->v6, s->tag[TAG_VLAN], s->tag[TAG_QINQ], s->tag[TAG_MPLS], s->tag[TAG_PPPOE],
		s->tag[TAG_FABRICPATH], s->tun[TUN_GRE], s->tun[TUN_VXLAN], s->tun[TUN_GENEVE],
		s->tun[TUN_GTPU], s->tun[TUN_IPIP], s->tun[TUN_CAPWAP], s->arp, s->frag,
		(unsigned long long)s->fragments, (unsigned long long)s->frag_dgrams,
		(unsigned long long)s->frag_ooo, (unsigned long long)s->truncated,
		(unsigned long long)s->malformed, (unsigned long long)s->span_copies,
		(unsigned long long)s->retransmits);
}

static int run(struct gen *g)
{
	int r;

	r = setup(g);
	if (r < 0) {
		rf_err("cannot allocate state for %u flows: %s", (unsigned int)g->o->flows,
		       strerror(-r));
		return RF_EXIT_RUNTIME;
	}
	r = open_output(g);
	if (r) {
		if (tmp_live)
			drop_partial(g);
		return r;
	}
	r = generate(g);
	close_output(g);
	if (g->werr) {
		write_failed(g, g->werr);
		return RF_EXIT_RUNTIME;
	}
	if (r < 0) {
		rf_err("cannot build a packet for '%s': %s (%s)", out_name(g->o), strerror(-r),
		       drop_partial(g));
		return RF_EXIT_RUNTIME;
	}
	r = commit_output(g);
	if (!r && !g->o->quiet)
		summary(g);
	return r;
}

int cmd_gen(int argc, char **argv)
{
	struct gen_opts o;
	struct gen *g;
	int r;

	r = parse_opts(argc, argv, &o);
	if (r)
		return r > 0 ? RF_EXIT_OK : RF_EXIT_USAGE;
	g = calloc(1, sizeof(*g));
	if (!g) {
		rf_err("out of memory");
		return RF_EXIT_RUNTIME;
	}
	g->o = &o;
	r = run(g);
	free(g->flows);
	free(g->active);
	free(g);
	return r;
}
