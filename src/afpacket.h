/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Live capture on one network interface with an AF_PACKET TPACKET_V3 mmap
 * ring. Used by `ringfan count -i IFACE` and by the balancer's afpacket
 * source. The socket receives nothing until the ring and the filter are in
 * place and it is bound to the interface, so only the named interface's
 * packets (that pass the filter) are seen, from the first one. The kernel
 * never waits for us: when the ring is full it drops, and rf_afp_stats()
 * reports it. A VLAN tag the kernel stripped is put back into the frame, so
 * packets are the bytes that were on the wire. Packets the host sends on
 * the interface are seen too, unless ignore_outgoing is set (a tap is
 * receive-only: the host's own IPv6 ND/MLD on it are not traffic to split).
 */
#ifndef RINGFAN_AFPACKET_H
#define RINGFAN_AFPACKET_H

#include <stdbool.h>
#include <stdint.h>

#include <ringfan/ringfan.h>

struct bpf_program;
struct rf_afp;

struct rf_afp_opts {
	const char *ifname;
	uint64_t ring_size;   /* bytes of ring; 0: 64 MiB (rounded to whole blocks) */
	uint32_t block_size;  /* 0: 1 MiB (a quarter of a ring under 4 MiB) */
	uint32_t snaplen;     /* 0: 65535 */
	int block_timeout_ms; /* block retire timeout; 0: 10 ms */
	bool promisc;	      /* PACKET_MR_PROMISC membership (dropped with the socket) */
	bool ignore_outgoing; /* only packets the interface received, not those it sent */
	/*
	 * Compiled for frames as on the wire (pcap_open_dead(DLT_EN10MB, snaplen));
	 * runs in the kernel (SO_ATTACH_FILTER), and for frames whose VLAN tag the
	 * kernel stripped, here after the tag is put back. Copied: may be freed
	 * after open. NULL: none.
	 */
	const struct bpf_program *filter;
	/*
	 * Fanout (several capture threads on one interface): 0 none,
	 * RF_AFP_FANOUT_NEW a new group (rf_afp_fanout() tells which), else 1 +
	 * the id of the AF_PACKET fanout group (PACKET_FANOUT_CBPF) to join; it steers
	 * each packet by its IP address pair (rf_afp_fanout_start()), so that
	 * every packet of a flow, its fragments too, reaches one socket. Not
	 * with a filter. fanout_hold: receive nothing until
	 * rf_afp_fanout_start(), so that no socket sees packets while the group
	 * is still forming (it would get a share that changes as sockets join).
	 */
	uint32_t fanout;
	bool fanout_hold;
};

/*
 * Open the capture. Errors: -ENODEV no such interface; -ENETDOWN interface
 * is down; -EPERM/-EACCES not allowed (needs CAP_NET_RAW); -EINVAL bad
 * options or filter; other negative errno.
 */
int rf_afp_open(const struct rf_afp_opts *opts, struct rf_afp **ret_afp);

/*
 * A fanout member opened with fanout_hold: set the group's steering program
 * and start receiving (once every member joined). 0 or negative errno.
 */
int rf_afp_fanout_start(struct rf_afp *a);

#define RF_AFP_FANOUT_NEW UINT32_MAX
/* 1 + the id of the fanout group the capture is in; 0: none. */
uint32_t rf_afp_fanout(const struct rf_afp *a);

/*
 * The libpcap link type (DLT_*) of the frames a capture on interface ifname
 * returns, to compile filters and write pcap files for: DLT_EN10MB for
 * Ethernet-like and loopback interfaces, DLT_RAW for interfaces without a
 * link header (tun, WireGuard, IP-in-IP, SIT, PPP). Errors: -ENODEV no such
 * interface; -EOPNOTSUPP another hardware type; other negative errno.
 */
int rf_afp_iface_linktype(const char *ifname);

/* The socket, for poll()/epoll (POLLIN when a block is ready). */
int rf_afp_fd(const struct rf_afp *a);
int rf_afp_ifindex(const struct rf_afp *a);
const char *rf_afp_ifname(const struct rf_afp *a);

/*
 * Return up to max packets from the ring (pointers into ready blocks; ts_ns,
 * caplen, wirelen and ifindex set; flags RF_PKT_TRUNCATED when caplen <
 * wirelen; hash 0). Returns the count, 0 if no block is ready. The packets
 * stay valid until rf_afp_release(). Not thread-safe: one thread per handle.
 */
int rf_afp_next_burst(struct rf_afp *a, struct rf_packet *pkts, unsigned int max);

/* Hand every block fully returned by rf_afp_next_burst() back to the kernel. */
void rf_afp_release(struct rf_afp *a);

/*
 * The capture's interface now: 1 up; 0 down (it still exists, and the kernel
 * resumes this capture when it comes up); -ENODEV gone (deleted, renamed or
 * moved to another network namespace: this capture will never see it
 * again, a new one must be opened by name); other negative errno.
 */
int rf_afp_link(const struct rf_afp *a);

/* Wait up to timeout_ms for a block (poll). Returns 1 ready, 0 timeout, -EINTR, or -ENETDOWN. */
int rf_afp_wait(struct rf_afp *a, int timeout_ms);

/*
 * Cumulative counters since open: packets that passed the filter (including
 * those then dropped) and packets the kernel dropped because the ring was
 * full.
 */
int rf_afp_stats(struct rf_afp *a, uint64_t *ret_packets, uint64_t *ret_drops);

/* NULL is a no-op. */
void rf_afp_close(struct rf_afp *a);

#endif
