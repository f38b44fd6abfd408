/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The path under a tunnel interface that an egress (-r Q:IFACE) sends on:
 * a VXLAN interface wraps each frame in UDP and IP to its remote end, and
 * an encapsulated full-size frame does not fit a path of the same MTU. The
 * kernel then fragments the outer packet, or drops it without a trace when
 * DF is set (by the tunnel or a router on the way): the balancer checks at
 * start and says what to set. Read through rtnetlink (libnl-route); no
 * process-wide state.
 */
#ifndef RINGFAN_TUNNEL_H
#define RINGFAN_TUNNEL_H

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#define RF_TUNNEL_INNER_ETH 14 /* the frame's own Ethernet header, carried whole */
#define RF_VXLAN_HDR	    16 /* UDP 8 + VXLAN 8 */

struct rf_tunnel_path {
	char kind[16];		       /* link kind: "vxlan", "geneve", "gretap"...; "" for none */
	uint32_t mtu;		       /* the tunnel interface's */
	bool checked;		       /* a unicast remote whose route was looked up (VXLAN only) */
	char remote[INET6_ADDRSTRLEN]; /* checked: the remote end */
	char via[IF_NAMESIZE];	       /* checked: the interface of the route to it ("" unknown) */
	uint32_t overhead; /* checked: bytes added to a frame (50 over IPv4, 70 over IPv6) */
	uint32_t path_mtu; /* checked: MTU of the route to the remote end */
};

/*
 * What the interface ifname is and, for a VXLAN interface with a unicast
 * remote, the MTU of the path to that remote. Returns 0 (kind "" when
 * ifname is no tunnel), -ENODEV, or a negative errno of rtnetlink.
 */
int rf_tunnel_path(const char *ifname, struct rf_tunnel_path *ret);

/* Whether a link kind is a tunnel that carries Ethernet frames. */
bool rf_tunnel_kind(const char *kind);

#endif
