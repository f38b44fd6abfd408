/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * AF_PACKET TPACKET_V3 capture.
 *
 * Set-up order matters for "only this interface, from the first packet":
 * the socket is created with protocol 0, which hooks it nowhere, so it
 * receives nothing while the version, reserve, filter and ring are set up;
 * bind() with ETH_P_ALL and the interface index then hooks it to that
 * interface only. No packet of another interface, and none that the filter
 * rejects, can be queued before that, so nothing needs draining.
 *
 * The ring is block_nr blocks; the kernel fills a block with packets and
 * hands it over (TP_STATUS_USER) when it is full or after the retire
 * timeout. We walk whole blocks and give each back (TP_STATUS_KERNEL) only
 * in rf_afp_release(), once per burst.
 *
 * VLAN: the kernel takes the outer 802.1Q/802.1ad tag off the frame and
 * reports it in tp_vlan_tci. We put it back so that consumers and the
 * decoder see the bytes that were on the wire. This is done in place, in
 * the ring, not by copying: PACKET_RESERVE keeps at least RF_VLAN_HLEN
 * bytes of headroom in front of every frame (libpcap does the same), so
 * moving the two MAC addresses 4 bytes down and writing the tag there
 * costs 16 bytes of copying and no buffer.
 *
 * Filters are compiled for the frame as it was on the wire (pcap_open_dead
 * with DLT_EN10MB), but the kernel runs a socket filter on the frame
 * without its outer tag, where "vlan" would not match and "tcp" would match
 * tagged TCP. So the kernel gets a prologue: a frame whose tag was stripped
 * is accepted whole, anything else runs the caller's program. Tagged frames
 * then run the caller's program here, after the tag is back: every frame is
 * judged on its wire bytes, and untagged traffic (the usual case) is still
 * filtered in the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_arp.h>
#include <pcap/pcap.h>

#include "afpacket.h"
#include "iface.h"
#include "util.h"

#define RF_VLAN_HLEN	     4
#define RF_MAC_ADDRS_LEN     12 /* destination + source MAC, in front of the EtherType */
#define DEF_RING_SIZE	     (64ull << 20)
#define DEF_BLOCK_SIZE	     (1u << 20)
#define DEF_SNAPLEN	     65535u
#define DEF_BLOCK_TIMEOUT_MS 10
#define FRAME_SIZE	     2048u /* V3 packs packets tightly; only the kernel's checks use it */
#define MIN_BLOCKS	     2u
#define MAX_BLOCK_SIZE	     (64u << 20)
#define MAX_RING_SIZE	     (16ull << 30)

struct rf_afp {
	int fd;
	int ifindex;
	uint32_t fanout; /* 1 + the fanout group's id; 0: none */
	char ifname[IF_NAMESIZE];
	uint32_t snaplen;
	uint8_t *map;
	size_t map_len;
	uint32_t block_size;
	uint32_t block_nr;

	/* Walking position: block cur, inside it (left > 0) at pkt. */
	uint32_t cur;
	uint32_t left;
	uint32_t pkt_off; /* offset of the next packet header in block cur */
	bool in_block;
	/* Blocks fully walked and not yet given back: done_nr, from done_first. */
	uint32_t done_first;
	uint32_t done_nr;

	/* The caller's filter, for tagged frames (see the top); NULL: none. */
	struct bpf_insn *filter;
	uint64_t filtered; /* tagged frames the kernel passed and the filter rejects here */

	/* The kernel resets PACKET_STATISTICS on each read: we keep the sums. */
	uint64_t stat_packets;
	uint64_t stat_drops;
};

static struct tpacket_block_desc *block_at(const struct rf_afp *a, uint32_t i)
{
	return (struct tpacket_block_desc *)(a->map + (size_t)i * a->block_size);
}

static bool block_ready(const struct tpacket_block_desc *b)
{
	/* A1: pairs with the kernel's store of TP_STATUS_USER after it filled the block. */
	return __atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER;
}

/* Default block: 1 MiB, or for a small ring a power of two of a quarter of it. */
static uint32_t default_block(uint64_t ring, long page)
{
	uint32_t b = DEF_BLOCK_SIZE;

	while (b > (uint32_t)page && b > FRAME_SIZE && (uint64_t)b * 4 > ring)
		b >>= 1;
	return b;
}

static int check_opts(const struct rf_afp_opts *o, uint64_t *ring, uint32_t *block)
{
	long page = sysconf(_SC_PAGESIZE);

	*ring = o->ring_size ? o->ring_size : DEF_RING_SIZE;
	*block = o->block_size ? o->block_size : default_block(*ring, page);
	if (!o->ifname || !*o->ifname || page <= 0)
		return -EINVAL;
	if (*block < (uint32_t)page || *block % (uint32_t)page || *block > MAX_BLOCK_SIZE ||
	    *block % FRAME_SIZE)
		return -EINVAL;
	if (*ring / *block < MIN_BLOCKS || *ring > MAX_RING_SIZE)
		return -EINVAL;
	if (o->block_timeout_ms < 0 || o->snaplen > 262144)
		return -EINVAL;
	return 0;
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) ? -errno : 0;
}

#define VLAN_PROLOGUE_LEN 3

/*
 * Kernel program: if the kernel stripped a tag, accept snaplen bytes (the
 * caller's program runs in user space on the re-tagged frame); otherwise
 * fall through to the caller's program. Classic BPF jumps are relative and
 * forward, so the caller's program works unchanged behind the prologue.
 */
static int attach_filter(struct rf_afp *a, const struct bpf_program *prog)
{
	struct sock_filter *code;
	struct sock_fprog fp;
	size_t n;
	int r = 0;

	/* libpcap's struct bpf_insn has the layout of the kernel's struct sock_filter. */
	_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter), "bpf_insn layout");
	if (!prog->bf_insns || !prog->bf_len || prog->bf_len > BPF_MAXINSNS - VLAN_PROLOGUE_LEN)
		return -EINVAL;
	n = prog->bf_len;
	a->filter = malloc(n * sizeof(*a->filter));
	code = malloc((n + VLAN_PROLOGUE_LEN) * sizeof(*code));
	if (!a->filter || !code) {
		free(code);
		return -ENOMEM;
	}
	memcpy(a->filter, prog->bf_insns, n * sizeof(*a->filter));
	code[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					       (uint32_t)(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
	code[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
	code[2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, a->snaplen);
	memcpy(code + VLAN_PROLOGUE_LEN, prog->bf_insns, n * sizeof(*code));
	fp.len = (unsigned short)(n + VLAN_PROLOGUE_LEN);
	fp.filter = code;
	if (setsockopt(a->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)))
		r = -errno;
	free(code);
	return r;
}

/*
 * Fanout steering (PACKET_FANOUT_CBPF): the kernel sends a packet to member
 * (return value % members). The value depends only on the IP address pair,
 * symmetrically (the sum of source and destination, 32-bit words, mixed by a
 * multiplication; a sum, not a xor, which is the same for every pair of
 * hosts numbered alike in two subnets): every packet of a flow in
 * -m ip or 5tuple, both directions, and every fragment of a datagram (whose
 * later fragments have no ports) goes to the same member. The kernel's own
 * PACKET_FANOUT_HASH would not do: it hashes ports when it sees them, so a
 * datagram's fragments (no ports) and the flow's other packets (ports) part;
 * its DEFRAG flag would reassemble them, delivering packets that were never
 * on the wire. Tunnels are steered by their outer addresses (the program
 * does not look inside). Loads relative to the network header (SKF_NET_OFF)
 * and the protocol from the skb: the kernel took the outer VLAN tag off, and
 * a second one (802.1Q in 802.1ad, QinQ) is skipped here; anything else that
 * is not IPv4 or IPv6 right there (MPLS, PPPoE, ARP, a third tag) goes to
 * member 0.
 */
#define FANOUT_MIX 0x9e3779b1u

static int set_steering(struct rf_afp *a)
{
	struct sock_filter prog[128];
	struct sock_fprog fp;
	unsigned int n = 0, w, tag_at, test_at, v4_at, v6_at, mix_at, zero_at;

#define INSN(c, k) (prog[n++] = (struct sock_filter)BPF_STMT((c), (uint32_t)(k)))
#define NET(off)   ((uint32_t)SKF_NET_OFF + (off))
	/* M[0]: the address words' sum; M[1]: where IP starts (past a second tag). */
	INSN(BPF_LD | BPF_IMM, 0);
	INSN(BPF_ST, 0);
	INSN(BPF_ST, 1);
	INSN(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL);
	tag_at = n;
	n += 2; /* 802.1Q or 802.1ad still there (the kernel took the outer tag): */
	INSN(BPF_LD | BPF_H | BPF_ABS, NET(2));
	INSN(BPF_ST, 2);
	INSN(BPF_LD | BPF_IMM, 4);
	INSN(BPF_ST, 1);
	INSN(BPF_LD | BPF_MEM, 2);
	test_at = n;
	n += 2;
	/* IPv4: source + destination. */
	v4_at = n;
	INSN(BPF_LDX | BPF_MEM, 1);
	INSN(BPF_LD | BPF_W | BPF_IND, NET(12));
	INSN(BPF_ST, 2);
	INSN(BPF_LDX | BPF_MEM, 1);
	INSN(BPF_LD | BPF_W | BPF_IND, NET(16));
	INSN(BPF_LDX | BPF_MEM, 2);
	INSN(BPF_ALU | BPF_ADD | BPF_X, 0);
	mix_at = n++;
	/* IPv6: the sum of the four words of source and destination. */
	v6_at = n;
	for (w = 0; w < 4; w++) {
		INSN(BPF_LDX | BPF_MEM, 1);
		INSN(BPF_LD | BPF_W | BPF_IND, NET(8 + 4 * w));
		INSN(BPF_ST, 2);
		INSN(BPF_LDX | BPF_MEM, 1);
		INSN(BPF_LD | BPF_W | BPF_IND, NET(24 + 4 * w));
		INSN(BPF_LDX | BPF_MEM, 2);
		INSN(BPF_ALU | BPF_ADD | BPF_X, 0);
		INSN(BPF_MISC | BPF_TAX, 0);
		INSN(BPF_LD | BPF_MEM, 0);
		INSN(BPF_ALU | BPF_ADD | BPF_X, 0);
		INSN(BPF_ST, 0);
	}
	prog[mix_at] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, n - mix_at - 1);
	INSN(BPF_ALU | BPF_MUL | BPF_K, FANOUT_MIX);
	INSN(BPF_ALU | BPF_RSH | BPF_K, 16);
	INSN(BPF_RET | BPF_A, 0);
	zero_at = n;
	INSN(BPF_RET | BPF_K, 0);
#undef INSN
#undef NET
	/* jeq 802.1Q / 802.1ad: read the inner EtherType, else test this one. */
	prog[tag_at] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_8021Q, 1, 0);
	prog[tag_at + 1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_8021AD, 0,
							(uint8_t)(test_at - tag_at - 2));
	/* jeq IPv4 -> v4, else jeq IPv6 -> v6, else member 0 */
	prog[test_at] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP,
						     (uint8_t)(v4_at - test_at - 1), 0);
	prog[test_at + 1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6,
							 (uint8_t)(v6_at - test_at - 2),
							 (uint8_t)(zero_at - test_at - 2));
	fp.len = (unsigned short)n;
	fp.filter = prog;
	return setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof(fp)) ? -errno : 0;
}

/* Receive nothing (a fanout member until its group is complete). */
static int attach_drop_all(struct rf_afp *a)
{
	struct sock_filter none = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog fp = {.len = 1, .filter = &none};

	return setsockopt(a->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) ? -errno : 0;
}

int rf_afp_fanout_start(struct rf_afp *a)
{
	int one = 1, r;

	if (!a)
		return -EINVAL;
	r = set_steering(a);
	if (r == 0 && setsockopt(a->fd, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof(one)))
		r = -errno;
	return r;
}

/* Join the group (or create one with an id nobody in this namespace uses). */
static int join_fanout(struct rf_afp *a, const struct rf_afp_opts *o)
{
	int v = o->fanout == RF_AFP_FANOUT_NEW
			? (int)((PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16)
			: (int)((o->fanout - 1) | (PACKET_FANOUT_CBPF << 16));
	socklen_t len = sizeof(v);

	if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v)))
		return -errno;
	if (getsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &v, &len))
		return -errno;
	a->fanout = 1 + ((uint32_t)v & 0xffff);
	return o->fanout_hold ? 0 : rf_afp_fanout_start(a);
}

uint32_t rf_afp_fanout(const struct rf_afp *a)
{
	return a ? a->fanout : 0;
}

static int setup_ring(struct rf_afp *a, uint64_t ring, uint32_t block, int tmo_ms)
{
	struct tpacket_req3 req = {0};
	void *map;

	req.tp_block_size = block;
	req.tp_block_nr = (unsigned int)(ring / block);
	req.tp_frame_size = FRAME_SIZE;
	req.tp_frame_nr = req.tp_block_nr * (block / FRAME_SIZE);
	req.tp_retire_blk_tov = (unsigned int)(tmo_ms ? tmo_ms : DEF_BLOCK_TIMEOUT_MS);
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return -errno;
	a->map_len = (size_t)req.tp_block_nr * block;
	/* Writable: we hand blocks back through block_status and re-insert VLAN tags. */
	map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	a->map = map;
	a->block_size = block;
	a->block_nr = req.tp_block_nr;
	return 0;
}

static int iface_lookup(struct rf_afp *a, const char *name)
{
	struct ifreq ifr = {0};
	unsigned int idx;

	if (strlen(name) >= IF_NAMESIZE)
		return -ENODEV;
	idx = if_nametoindex(name);
	if (!idx)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	a->ifindex = (int)idx;
	memcpy(a->ifname, name, strlen(name) + 1);
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(a->fd, SIOCGIFFLAGS, &ifr))
		return errno == ENXIO ? -ENODEV : -errno;
	if (!(ifr.ifr_flags & IFF_UP))
		return -ENETDOWN;
	return 0;
}

static int bind_iface(struct rf_afp *a, bool promisc)
{
	struct sockaddr_ll sll = {0};
	struct packet_mreq mr = {0};

	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = a->ifindex;
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	if (!promisc)
		return 0;
	mr.mr_ifindex = a->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		return -errno;
	return 0;
}

static int afp_setup(struct rf_afp *a, const struct rf_afp_opts *o, uint64_t ring, uint32_t block)
{
	int r;

	r = iface_lookup(a, o->ifname);
	if (r < 0)
		return r;
	r = set_int(a->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3);
	if (r < 0)
		return r;
	r = set_int(a->fd, SOL_PACKET, PACKET_RESERVE, RF_VLAN_HLEN);
	if (r < 0)
		return r;
	if (o->ignore_outgoing) {
		r = set_int(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
		if (r < 0)
			return r;
	}
	if (o->filter) {
		r = attach_filter(a, o->filter);
		if (r < 0)
			return r;
	}
	/* A fanout member receives nothing until its group steers (join_fanout()). */
	if (o->fanout) {
		r = attach_drop_all(a);
		if (r < 0)
			return r;
	}
	r = setup_ring(a, ring, block, o->block_timeout_ms);
	if (r < 0)
		return r;
	r = bind_iface(a, o->promisc);
	if (r < 0 || !o->fanout)
		return r;
	return join_fanout(a, o);
}

int rf_afp_open(const struct rf_afp_opts *opts, struct rf_afp **ret_afp)
{
	struct rf_afp *a;
	uint32_t block;
	uint64_t ring;
	int r;

	if (!opts || !ret_afp)
		return -EINVAL;
	r = check_opts(opts, &ring, &block);
	if (r < 0)
		return r;
	if ((opts->fanout > 65536 && opts->fanout != RF_AFP_FANOUT_NEW) ||
	    (opts->fanout && opts->filter))
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->snaplen = opts->snaplen ? opts->snaplen : DEF_SNAPLEN;
	/* Protocol 0: not hooked anywhere until bind() (see the top of this file). */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		r = -errno;
		free(a);
		return r;
	}
	r = afp_setup(a, opts, ring, block);
	if (r < 0) {
		rf_afp_close(a);
		return r;
	}
	*ret_afp = a;
	return 0;
}

static int arphrd_to_dlt(unsigned int type)
{
	switch (type) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		return DLT_EN10MB;
	case ARPHRD_NONE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_RAWIP:
	case ARPHRD_PPP:
		/* No header_ops: a raw packet socket gets the frame from its IP header. */
		return DLT_RAW;
	}
	return -EOPNOTSUPP;
}

int rf_afp_iface_linktype(const char *ifname)
{
	struct ifreq ifr = {0};
	int fd, r;

	if (!ifname || !*ifname)
		return -EINVAL;
	if (strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, SIOCGIFHWADDR, &ifr) ? -errno : 0;
	close(fd);
	if (r == -ENXIO)
		r = -ENODEV;
	return r < 0 ? r : arphrd_to_dlt(ifr.ifr_hwaddr.sa_family);
}

int rf_afp_fd(const struct rf_afp *a)
{
	return a->fd;
}

int rf_afp_ifindex(const struct rf_afp *a)
{
	return a->ifindex;
}

const char *rf_afp_ifname(const struct rf_afp *a)
{
	return a->ifname;
}

/*
 * Put the stripped VLAN tag back in front of the EtherType. Returns the new
 * start of the frame, or NULL if there is no headroom (cannot happen with
 * PACKET_RESERVE; checked anyway).
 */
static uint8_t *vlan_reinsert(struct tpacket3_hdr *h)
{
	uint8_t *mac = (uint8_t *)h + h->tp_mac;
	uint16_t tpid = ETH_P_8021Q, tci = (uint16_t)h->hv1.tp_vlan_tci;

	if (h->tp_mac < TPACKET3_HDRLEN + RF_VLAN_HLEN || h->tp_snaplen < RF_MAC_ADDRS_LEN)
		return NULL;
	if (h->tp_status & TP_STATUS_VLAN_TPID_VALID && h->hv1.tp_vlan_tpid)
		tpid = h->hv1.tp_vlan_tpid;
	memmove(mac - RF_VLAN_HLEN, mac, RF_MAC_ADDRS_LEN);
	mac -= RF_VLAN_HLEN;
	mac[12] = (uint8_t)(tpid >> 8);
	mac[13] = (uint8_t)tpid;
	mac[14] = (uint8_t)(tci >> 8);
	mac[15] = (uint8_t)tci;
	return mac;
}

enum fill_result { FILL_OK, FILL_FILTERED, FILL_BAD };

/* Fill *p from packet header h (at offset off of the block). */
static enum fill_result fill_packet(struct rf_afp *a, struct tpacket3_hdr *h, uint32_t off,
				    struct rf_packet *p)
{
	uint32_t caplen = h->tp_snaplen, wirelen = h->tp_len;
	uint8_t *data = (uint8_t *)h + h->tp_mac;

	if ((uint64_t)off + h->tp_mac + caplen > a->block_size)
		return FILL_BAD;
	if (h->tp_status & TP_STATUS_VLAN_VALID) {
		uint8_t *tagged = vlan_reinsert(h);

		if (tagged) {
			data = tagged;
			caplen += RF_VLAN_HLEN;
			wirelen += RF_VLAN_HLEN;
		}
		if (a->filter) {
			/* The kernel's prologue let it through: the real verdict is here. */
			u_int snap = bpf_filter(a->filter, data, wirelen, caplen);

			if (!snap) {
				a->filtered++;
				return FILL_FILTERED;
			}
			if (caplen > snap)
				caplen = snap;
		}
	}
	if (caplen > a->snaplen)
		caplen = a->snaplen;
	p->data = data;
	p->ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
	p->caplen = caplen;
	p->wirelen = wirelen < caplen ? caplen : wirelen;
	p->ifindex = (uint32_t)a->ifindex;
	p->hash = 0;
	p->flags = caplen < p->wirelen ? RF_PKT_TRUNCATED : 0;
	return FILL_OK;
}

/* Start walking block cur if the kernel handed it over. */
static bool enter_block(struct rf_afp *a)
{
	struct tpacket_block_desc *b = block_at(a, a->cur);

	if (a->done_nr == a->block_nr || !block_ready(b))
		return false;
	a->in_block = true;
	a->left = b->hdr.bh1.num_pkts;
	a->pkt_off = b->hdr.bh1.offset_to_first_pkt;
	return true;
}

static void leave_block(struct rf_afp *a)
{
	a->in_block = false;
	a->left = 0;
	a->done_nr++;
	a->cur = (a->cur + 1) % a->block_nr;
}

int rf_afp_next_burst(struct rf_afp *a, struct rf_packet *pkts, unsigned int max)
{
	unsigned int n = 0;

	while (n < max) {
		if (!a->in_block && !enter_block(a))
			break;
		while (a->left && n < max) {
			struct tpacket3_hdr *h;
			enum fill_result fr;

			if ((uint64_t)a->pkt_off + sizeof(*h) > a->block_size)
				break;
			h = (struct tpacket3_hdr *)((uint8_t *)block_at(a, a->cur) + a->pkt_off);
			fr = fill_packet(a, h, a->pkt_off, &pkts[n]);
			if (fr == FILL_BAD)
				break;
			n += fr == FILL_OK;
			a->left--;
			a->pkt_off += h->tp_next_offset;
			if (a->left && !h->tp_next_offset)
				a->left = 0; /* a chain that goes nowhere: skip the rest */
		}
		if (n == max && a->left)
			break;
		/* Block walked (or its remaining headers made no sense: skip them). */
		leave_block(a);
	}
	return (int)n;
}

void rf_afp_release(struct rf_afp *a)
{
	while (a->done_nr) {
		struct tpacket_block_desc *b = block_at(a, a->done_first);

		/* R1: pairs with the kernel's read of block_status before it refills the block. */
		__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->done_first = (a->done_first + 1) % a->block_nr;
		a->done_nr--;
	}
}

/* The socket's pending error, 0 if none (reading clears it: the next poll waits again). */
static int sock_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

int rf_afp_wait(struct rf_afp *a, int timeout_ms)
{
	struct pollfd pfd = {.fd = a->fd, .events = POLLIN};
	int r;

	if (a->in_block || (a->done_nr < a->block_nr && block_ready(block_at(a, a->cur))))
		return 1;
	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (pfd.revents & POLLERR) {
		/* The kernel sets ENETDOWN when the interface goes down or away. */
		r = sock_error(a->fd);
		return r == -ENETDOWN || r == -ENODEV || r == -ENXIO ? -ENETDOWN : r;
	}
	return 1;
}

int rf_afp_link(const struct rf_afp *a)
{
	return rf_iface_link(a->ifindex, a->ifname);
}

int rf_afp_stats(struct rf_afp *a, uint64_t *ret_packets, uint64_t *ret_drops)
{
	struct tpacket_stats_v3 st = {0};
	socklen_t len = sizeof(st);

	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len))
		return -errno;
	/* The kernel already counts drops in tp_packets. */
	a->stat_packets += st.tp_packets;
	a->stat_drops += st.tp_drops;
	/* Tagged frames our filter rejected were never the caller's packets. */
	*ret_packets =
		a->stat_packets - (a->filtered < a->stat_packets ? a->filtered : a->stat_packets);
	*ret_drops = a->stat_drops;
	return 0;
}

void rf_afp_close(struct rf_afp *a)
{
	if (!a)
		return;
	if (a->map)
		munmap(a->map, a->map_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a->filter);
	free(a);
}
