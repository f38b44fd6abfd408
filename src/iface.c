/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interface facts from the kernel. Offloads: the ethtool feature bits are
 * found by name ("rx-gro", ...) in the kernel's feature string set, as
 * `ethtool -k` does, since their numbers are not ABI. Veth peers: one
 * RTM_GETLINK request through libmnl, whose attribute parser validates
 * every attribute before we read it.
 */
#include "iface.h"

#include <errno.h>
#include <fnmatch.h>
#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "source.h"
#include "util.h"

#define NL_BUF (32u << 10) /* one RTM_NEWLINK answer (a few KiB) */

/*
 * The kernel's features of each offload, as patterns (fnmatch): as
 * `ethtool -K IF tso off`, TSO is every tx-tcp*-segmentation feature.
 */
static const struct {
	const char *pattern;
	unsigned int offload;
} feature_patterns[] = {
	{"rx-gro", RF_OFFLOAD_GRO},
	{"rx-lro", RF_OFFLOAD_LRO},
	{"rx-gro-hw", RF_OFFLOAD_GRO_HW},
	{"tx-tcp*-segmentation", RF_OFFLOAD_TSO},
	{"tx-udp-segmentation", RF_OFFLOAD_TSO},
	{"rx-vlan-hw-parse", RF_OFFLOAD_RXVLAN},
	{"rx-vlan-stag-hw-parse", RF_OFFLOAD_RXVLAN},
};

/* Names of the RF_OFFLOAD_* bits, in bit order. */
static const char *const offload_names[] = {"GRO", "LRO", "hardware GRO", "TSO", "rx VLAN offload"};

/* The feature bits of one interface, and the offload each belongs to (0: none of ours). */
struct features {
	int fd;
	const char *ifname;
	uint32_t n; /* features in the kernel's string set */
	uint32_t blocks;
	uint8_t *offload; /* [n] */
};

static int ethtool(const struct features *f, void *cmd)
{
	struct ifreq ifr = {0};

	memcpy(ifr.ifr_name, f->ifname, strlen(f->ifname) + 1);
	ifr.ifr_data = cmd;
	if (ioctl(f->fd, SIOCETHTOOL, &ifr) < 0)
		return errno == ENXIO ? -ENODEV : -errno;
	return 0;
}

static int feature_count(struct features *f)
{
	uint64_t buf[(sizeof(struct ethtool_sset_info) + sizeof(uint32_t) + 7) / 8] = {0};
	struct ethtool_sset_info *si = (struct ethtool_sset_info *)buf;
	int r;

	si->cmd = ETHTOOL_GSSET_INFO;
	si->sset_mask = 1ull << ETH_SS_FEATURES;
	r = ethtool(f, si);
	if (r < 0)
		return r;
	if (!(si->sset_mask & (1ull << ETH_SS_FEATURES)) || !si->data[0])
		return -EOPNOTSUPP;
	f->n = si->data[0];
	f->blocks = (f->n + 31) / 32;
	return 0;
}

static unsigned int offload_of(const char *name)
{
	size_t k;

	for (k = 0; k < ARRAY_SIZE(feature_patterns); k++)
		if (!fnmatch(feature_patterns[k].pattern, name, 0))
			return feature_patterns[k].offload;
	return 0;
}

/* Which offload each feature bit belongs to, by the feature's name. */
static int feature_offloads(struct features *f)
{
	char name[ETH_GSTRING_LEN + 1];
	struct ethtool_gstrings *gs;
	uint32_t i;
	int r;

	gs = calloc(1, sizeof(*gs) + (size_t)f->n * ETH_GSTRING_LEN);
	f->offload = calloc(f->n, 1);
	if (!gs || !f->offload) {
		free(gs);
		return -ENOMEM;
	}
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = f->n;
	r = ethtool(f, gs);
	for (i = 0; !r && i < gs->len && i < f->n; i++) {
		/* Names fill at most ETH_GSTRING_LEN bytes, NUL-padded: terminate a copy. */
		memcpy(name, gs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = 0;
		f->offload[i] = (uint8_t)offload_of(name);
	}
	free(gs);
	return r;
}

static void features_close(struct features *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->offload);
}

static int features_open(struct features *f, const char *ifname)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->ifname = ifname;
	f->fd = -1;
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return -errno;
	r = feature_count(f);
	if (!r)
		r = feature_offloads(f);
	if (r)
		features_close(f);
	return r;
}

static int features_active(const struct features *f, unsigned int *ret_on)
{
	struct ethtool_gfeatures *gf;
	unsigned int on = 0;
	uint32_t i;
	int r;

	gf = calloc(1, sizeof(*gf) + f->blocks * sizeof(gf->features[0]));
	if (!gf)
		return -ENOMEM;
	gf->cmd = ETHTOOL_GFEATURES;
	gf->size = f->blocks;
	r = ethtool(f, gf);
	for (i = 0; !r && i < f->n; i++)
		if (gf->features[i / 32].active & (1u << (i % 32)))
			on |= f->offload[i];
	free(gf);
	if (!r)
		*ret_on = on;
	return r;
}

int rf_iface_offloads(const char *ifname, unsigned int *ret_on)
{
	struct features f;
	int r = features_open(&f, ifname);

	if (r)
		return r;
	r = features_active(&f, ret_on);
	features_close(&f);
	return r;
}

static int features_clear(const struct features *f, unsigned int mask)
{
	struct ethtool_sfeatures *sf;
	uint32_t i;
	int r;

	sf = calloc(1, sizeof(*sf) + f->blocks * sizeof(sf->features[0]));
	if (!sf)
		return -ENOMEM;
	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = f->blocks;
	/* valid: change this bit; requested stays 0: to off. */
	for (i = 0; i < f->n; i++)
		if (f->offload[i] & mask)
			sf->features[i / 32].valid |= 1u << (i % 32);
	/* The kernel applies what it can; what stays on is read back by the caller. */
	r = ethtool(f, sf);
	free(sf);
	return r;
}

int rf_iface_offloads_off(const char *ifname, unsigned int mask, unsigned int *ret_on)
{
	struct features f;
	int r = features_open(&f, ifname);

	if (r)
		return r;
	r = features_clear(&f, mask);
	if (!r)
		r = features_active(&f, ret_on);
	features_close(&f);
	return r;
}

const char *rf_offload_names(unsigned int mask, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int k;

	buf[0] = 0;
	for (k = 0; k < ARRAY_SIZE(offload_names); k++) {
		if (!(mask & (1u << k)) || used >= len)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
					 offload_names[k]);
	}
	return buf;
}

/* ---- link state, queues ---- */

/* ioctl on a throwaway socket (an AF_XDP socket takes no interface ioctls). */
static int iface_ioctl(unsigned long req, void *arg)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, req, arg) ? -errno : 0;
	close(fd);
	return r == -ENXIO ? -ENODEV : r;
}

int rf_iface_link(int ifindex, const char *ifname)
{
	struct ifreq ifr = {0};
	int r;

	/* By index: a new interface of the same name is another one, not ours. */
	ifr.ifr_ifindex = ifindex;
	r = iface_ioctl(SIOCGIFNAME, &ifr);
	if (r)
		return r;
	if (strncmp(ifr.ifr_name, ifname, IF_NAMESIZE))
		return -ENODEV;
	r = iface_ioctl(SIOCGIFFLAGS, &ifr);
	if (r)
		return r;
	return !!(ifr.ifr_flags & IFF_UP);
}

int rf_iface_mtu(const char *ifname)
{
	struct ifreq ifr = {0};
	int r;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	r = iface_ioctl(SIOCGIFMTU, &ifr);
	return r ? r : ifr.ifr_mtu;
}

int rf_iface_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	uint32_t n;
	int r;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	ifr.ifr_data = (void *)&ch;
	r = iface_ioctl(SIOCETHTOOL, &ifr);
	if (r == -EOPNOTSUPP)
		return 1;
	if (r)
		return r;
	n = ch.rx_count + ch.combined_count;
	return n ? (n > INT32_MAX ? INT32_MAX : (int)n) : 1;
}

/* ---- veth peers ---- */

struct link_info {
	uint32_t link;	  /* IFLA_LINK: the peer's ifindex, in its own namespace */
	bool other_netns; /* IFLA_LINK_NETNSID: the peer lives in another namespace */
	bool veth;	  /* IFLA_INFO_KIND "veth" */
};

static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		li->veth = !strcmp(mnl_attr_get_str(a), "veth");
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			li->link = mnl_attr_get_u32(a);
		break;
	case IFLA_LINK_NETNSID:
		li->other_netns = true;
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
			mnl_attr_parse_nested(a, linkinfo_attr, li);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr, data);
}

/* One RTM_GETLINK for ifname, answer parsed into *li. */
static int get_link(struct mnl_socket *nl, char *buf, const char *ifname, struct link_info *li)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int seq = (unsigned int)time(NULL), port = mnl_socket_get_portid(nl);
	struct ifinfomsg *ifm;
	ssize_t n;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, NL_BUF);
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)n, seq, port, link_msg, li) < 0)
		return errno == ENXIO ? -ENODEV : -errno;
	return 0;
}

int rf_iface_veth_peer(const char *ifname)
{
	struct link_info li = {0};
	struct mnl_socket *nl;
	char *buf;
	int r;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	buf = malloc(NL_BUF);
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!buf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = buf ? -errno : -ENOMEM;
	} else {
		r = get_link(nl, buf, ifname, &li);
	}
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	if (r)
		return r;
	return li.veth && !li.other_netns && li.link <= INT32_MAX ? (int)li.link : 0;
}

/* ---- egress loops ---- */

/* Does egress interface eg (ifindex ei, peer index peer) loop into source src? */
static int check_one(const struct rf_cfg_egress *e, const char *eg, unsigned int ei, int peer,
		     const char *src)
{
	unsigned int si = if_nametoindex(src);

	if (!si)
		return 0;
	if (si == ei) {
		rf_err("egress of queue %u to '%s' would loop: '%s' is source '%s' (its packets "
		       "would be captured again)",
		       e->queue, e->target, eg, src);
		return -ELOOP;
	}
	if (peer > 0 && (unsigned int)peer == si) {
		rf_err("egress of queue %u to '%s' would loop: %s is the peer of source '%s' (what "
		       "it sends, %s receives)",
		       e->queue, e->target, eg, src, src);
		return -ELOOP;
	}
	return 0;
}

int rf_iface_check_egress_loops(const struct rf_config *cfg)
{
	char egb[sizeof(cfg->egress[0].target)], srcb[RF_CFG_PATH_MAX];
	unsigned int i, j, ei;
	const char *eg, *src;
	int peer, r;

	for (i = 0; i < cfg->n_egress; i++) {
		eg = rf_source_iface(cfg->egress[i].target, egb, sizeof(egb));
		ei = eg ? if_nametoindex(eg) : 0;
		if (!ei)
			continue; /* a file, or no such interface: the egress says so */
		peer = rf_iface_veth_peer(eg);
		for (j = 0; j < cfg->n_sources; j++) {
			src = rf_source_iface(cfg->sources[j], srcb, sizeof(srcb));
			r = src ? check_one(&cfg->egress[i], eg, ei, peer, src) : 0;
			if (r)
				return r;
		}
	}
	return 0;
}
