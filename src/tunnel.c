/* SPDX-License-Identifier: BSD-2-Clause */
/* The path under a tunnel interface (see tunnel.h). */
#include "tunnel.h"

#include <errno.h>
#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* Link kinds that carry Ethernet frames to a remote end (ip-link(8)). */
static const char *const tunnel_kinds[] = {
	"vxlan", "geneve", "gretap", "ip6gretap", "erspan", "ip6erspan",
};

bool rf_tunnel_kind(const char *kind)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tunnel_kinds); i++)
		if (!strcmp(kind, tunnel_kinds[i]))
			return true;
	return false;
}

/*
 * The MTU of the route to addr (the kernel's, path MTU included) from a
 * connected UDP socket, bound to the tunnel's lower interface if it has one.
 */
static int route_mtu(const struct nl_addr *addr, uint32_t lower, struct rf_tunnel_path *ret)
{
	int family = nl_addr_get_family(addr), fd, mtu = 0, r = 0;
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(mtu);
	char name[IF_NAMESIZE];

	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(4789);
		memcpy(&sin->sin_addr, nl_addr_get_binary_addr(addr), 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4789);
		memcpy(&sin6->sin6_addr, nl_addr_get_binary_addr(addr), 16);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lower && if_indextoname(lower, name))
		setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name) + 1);
	if (connect(fd, (struct sockaddr *)&ss, sizeof(ss)) ||
	    getsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       family == AF_INET ? IP_MTU : IPV6_MTU, &mtu, &len))
		r = -errno;
	close(fd);
	if (r)
		return r;
	ret->path_mtu = (uint32_t)mtu;
	ret->overhead = (family == AF_INET ? 20 : 40) + RF_VXLAN_HDR + RF_TUNNEL_INNER_ETH;
	if (lower && if_indextoname(lower, name))
		snprintf(ret->via, sizeof(ret->via), "%s", name);
	return 0;
}

/* A VXLAN link's unicast remote and the path to it; not checked when there is none. */
static int vxlan_path(struct rtnl_link *link, struct rf_tunnel_path *ret)
{
	struct nl_addr *group = NULL;
	uint32_t lower = 0;
	const uint8_t *a;
	int r;

	if (rtnl_link_vxlan_get_group(link, &group) < 0 || !group)
		return 0; /* no default remote: the FDB or metadata says where */
	a = nl_addr_get_binary_addr(group);
	if ((nl_addr_get_family(group) == AF_INET && (a[0] & 0xf0) == 0xe0) ||
	    (nl_addr_get_family(group) == AF_INET6 && a[0] == 0xff)) {
		nl_addr_put(group);
		return 0; /* a multicast group: many paths */
	}
	rtnl_link_vxlan_get_link(link, &lower);
	inet_ntop(nl_addr_get_family(group), a, ret->remote, sizeof(ret->remote));
	r = route_mtu(group, lower, ret);
	nl_addr_put(group);
	if (!r)
		ret->checked = true;
	return r;
}

int rf_tunnel_path(const char *ifname, struct rf_tunnel_path *ret)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	const char *kind;
	int r;

	memset(ret, 0, sizeof(*ret));
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (!r)
		r = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (r) {
		nl_socket_free(sk);
		return r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV ? -ENODEV : -EIO;
	}
	kind = rtnl_link_get_type(link);
	ret->mtu = rtnl_link_get_mtu(link);
	if (kind && rf_tunnel_kind(kind)) {
		snprintf(ret->kind, sizeof(ret->kind), "%s", kind);
		if (!strcmp(kind, "vxlan"))
			r = vxlan_path(link, ret);
	}
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}
