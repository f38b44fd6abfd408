/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Facts about network interfaces, asked of the kernel of the caller's
 * network namespace: receive offloads (ethtool features), receive queues,
 * whether an interface is still there and up, and a veth's peer
 * (rtnetlink). Used at start-up, when idle and when an interface comes
 * back; nothing here is on the packet path, and nothing logs (callers say
 * what it means).
 */
#ifndef RINGFAN_IFACE_H
#define RINGFAN_IFACE_H

#include <stddef.h>

struct rf_config;

/*
 * Offloads that make a capture see "packets" of up to 64 KiB that were
 * never on the wire, which an egress cannot send and an IDS does not
 * expect: received packets merged (GRO, LRO), and packets the host sends
 * segmented only by the NIC (TSO: seen by captures of outgoing packets).
 */
enum {
	RF_OFFLOAD_GRO = 1u << 0,    /* rx-gro: generic receive offload */
	RF_OFFLOAD_LRO = 1u << 1,    /* rx-lro: large receive offload */
	RF_OFFLOAD_GRO_HW = 1u << 2, /* rx-gro-hw: GRO done by the NIC */
	RF_OFFLOAD_TSO = 1u << 3,    /* tx-tcp*-segmentation, tx-udp-segmentation */
	/*
	 * rx-vlan-hw-parse, rx-vlan-stag-hw-parse: the outer VLAN tag taken out of
	 * the frame and handed over beside it. AF_PACKET puts it back; XDP, and
	 * so an AF_XDP capture, never sees it.
	 */
	RF_OFFLOAD_RXVLAN = 1u << 4,
	RF_OFFLOAD_RX_ALL = RF_OFFLOAD_GRO | RF_OFFLOAD_LRO | RF_OFFLOAD_GRO_HW,
};

/*
 * Which of the RF_OFFLOAD_* are on for interface ifname (*ret_on).
 * Errors: -ENODEV no such interface; -EOPNOTSUPP no ethtool features;
 * other negative errno.
 */
int rf_iface_offloads(const char *ifname, unsigned int *ret_on);

/*
 * Turn the offloads in mask off (ETHTOOL_SFEATURES, as ethtool -K). *ret_on
 * gets those still on afterwards (fixed by the driver). Needs
 * CAP_NET_ADMIN: -EPERM otherwise.
 */
int rf_iface_offloads_off(const char *ifname, unsigned int mask, unsigned int *ret_on);

/* "GRO, LRO" for a mask of RF_OFFLOAD_*, into buf; returns buf. */
const char *rf_offload_names(unsigned int mask, char *buf, size_t len);

/*
 * Interface ifindex, known by the name ifname: 1 up; 0 down (it still
 * exists); -ENODEV gone (deleted, renamed or moved to another network
 * namespace: a new interface of that name is another one); other negative
 * errno. Needs no privilege.
 */
int rf_iface_link(int ifindex, const char *ifname);

/* The MTU of ifname. -ENODEV no such interface; other negative errno. */
int rf_iface_mtu(const char *ifname);

/*
 * The receive queues of ifname (ETHTOOL_GCHANNELS: rx + combined), 1 for
 * an interface that does not say (a single queue). -ENODEV no such
 * interface; other negative errno.
 */
int rf_iface_rx_queues(const char *ifname);

/*
 * The ifindex of the peer of veth ifname when that peer is in the caller's
 * network namespace, else 0 (not a veth, or its peer is in another
 * namespace, where what it sends cannot come back here). -ENODEV no such
 * interface; other negative errno.
 */
int rf_iface_veth_peer(const char *ifname);

/*
 * Refuse egresses that would feed the balancer its own output: an egress
 * interface that is an interface source, or the veth peer of one (in this
 * namespace). Prints the error naming both ("egress of queue 0 to 'veth1'
 * would loop: veth1 is the peer of source 'veth0'") and returns -ELOOP;
 * 0 when there is no loop. Interfaces that do not exist are left to the
 * egress and source checks.
 */
int rf_iface_check_egress_loops(const struct rf_config *cfg);

#endif
