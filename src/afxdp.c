/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * AF_XDP capture.
 *
 * The program is libxdp's (xsk_def_prog in xsk_def_xdp_prog.o, found where
 * libxdp keeps its objects): it redirects a frame of receive queue Q to
 * entry Q of its XSKMAP, and lets it pass to the stack when Q has no
 * socket. libxdp would attach it through netlink, behind its multi-program
 * dispatcher when the kernel allows (kernels since 6.x refuse libxdp
 * 1.3's: it then falls back to a single program). A program attached that
 * way outlives the process that attached it, and detaching it takes
 * privileges the balancer gave up with -D. So the program is loaded here
 * and attached through a BPF link, which the kernel detaches when the
 * link's descriptor closes. The cost: the program is the interface's only
 * one while the capture runs.
 *
 * Set-up order: the sockets are bound and entered in the map before the
 * program is attached, so the first frame it redirects already finds its
 * queue's socket; close() detaches first, so that no frame is redirected to
 * a socket being torn down.
 *
 * Each queue has its own frame memory (UMEM) of `frames` frames of
 * frame_size bytes, every one of them in the fill ring at the start: 2 KiB
 * frames when the MTU allows (twice the frames in the same memory, half
 * the pages touched per packet), else 4 KiB.
 * The rings are libxdp's xsk.h helpers; their indices carry the barriers
 * (peek: acquire load of the kernel's producer index; release/submit:
 * release store of ours, after the frames were read / the addresses
 * written).
 */
#include "afxdp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "daemon.h"
#include "iface.h"
#include "util.h"

#define PROG_FILE	  "xsk_def_xdp_prog.o"
#define PROG_NAME	  "xsk_def_prog"
#define MAP_NAME	  "xsks_map"
#define DEF_UMEM	  (32ull << 20)
#define MIN_QUEUE_UMEM	  (1ull << 20)
#define MAX_QUEUE_UMEM	  (4ull << 30)
#define COMP_RING_SIZE	  64u /* receive only: the completion ring stays empty */
#define OWNER_TEXT_MAX	  160
#define SMALL_FRAME	  2048u
#define LARGE_FRAME	  4096u
#define MAX_VLAN_TAGS_LEN 8u /* two tags on top of the MTU (QinQ) */
/*
 * Frame memory of this size or more asks for transparent huge pages: the
 * kernel hands out the frames in turn, so each packet is on a page the
 * last thousands did not touch, and with 4 KiB pages reading it costs a
 * TLB miss besides the cache miss (2 MiB pages: 16 entries for 32 MiB).
 */
#define HUGE_AREA (2ull << 20)

struct xq {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	uint8_t *area;
	size_t area_len;
	uint32_t queue;
	uint32_t taken;	    /* rx descriptors handed out since the last release */
	uint32_t taken_idx; /* the first of them */
};

struct rf_xdp {
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct xdp_program *prog; /* owns the bpf_object: program and map */
	int prog_fd;
	uint32_t prog_id;
	int map_fd;
	uint32_t map_entries;
	int link_fd;	     /* -1 after a failed attach_again */
	uint32_t link_flags; /* XDP_FLAGS_*_MODE asked for, 0: auto */
	enum rf_xdp_mode mode;
	int epfd;
	uint32_t frames;     /* per queue */
	uint32_t frame_size; /* SMALL_FRAME or LARGE_FRAME */
	unsigned int n;
	unsigned int next; /* the queue the next burst starts with */
	struct xq *q;
};

const char *rf_xdp_mode_name(enum rf_xdp_mode m)
{
	return m == RF_XDP_MODE_SKB ? "skb" : m == RF_XDP_MODE_NATIVE ? "native" : "auto";
}

/*
 * libbpf and libxdp print through these: their warnings (a verifier log, a
 * kernel's refusal) go to the log, their chatter nowhere.
 */
__attribute__((format(printf, 2, 0))) static int libbpf_print(enum libbpf_print_level level,
							      const char *fmt, va_list ap)
{
	char msg[512];

	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	rf_log("%s", msg);
	return 0;
}

__attribute__((format(printf, 2, 0))) static int libxdp_print(enum libxdp_print_level level,
							      const char *fmt, va_list ap)
{
	return level == LIBXDP_WARN ? libbpf_print(LIBBPF_WARN, fmt, ap) : 0;
}

static void quiet_libraries(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

/* The frame a packet of the interface's MTU needs: its data start XDP_PACKET_HEADROOM in. */
static uint32_t frame_for(const char *ifname)
{
	int mtu = rf_iface_mtu(ifname);

	if (mtu > 0 &&
	    (uint32_t)mtu + ETH_HLEN + MAX_VLAN_TAGS_LEN <= SMALL_FRAME - XDP_PACKET_HEADROOM)
		return SMALL_FRAME;
	return LARGE_FRAME;
}

/* Frames per queue: the queue's share of the memory, a power of two. */
static uint32_t queue_frames(uint64_t umem, unsigned int n, uint32_t frame_size)
{
	uint64_t per = (umem ? umem : DEF_UMEM) / n, frames = 1;

	if (per < MIN_QUEUE_UMEM)
		per = MIN_QUEUE_UMEM;
	if (per > MAX_QUEUE_UMEM)
		per = MAX_QUEUE_UMEM;
	while (frames * 2 * frame_size <= per)
		frames *= 2;
	return (uint32_t)frames;
}

static int load_prog(struct rf_xdp *x)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	struct bpf_object *obj;
	struct bpf_map *map;
	long err;
	int r;

	x->prog = xdp_program__find_file(PROG_FILE, "xdp", NULL);
	err = libxdp_get_error(x->prog);
	if (err) {
		x->prog = NULL;
		return err < 0 ? (int)err : -ENOENT;
	}
	obj = xdp_program__bpf_obj(x->prog);
	r = bpf_object__load(obj);
	if (r)
		return r;
	x->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, PROG_NAME));
	map = bpf_object__find_map_by_name(obj, MAP_NAME);
	if (x->prog_fd < 0 || !map)
		return -ENOENT;
	x->map_fd = bpf_map__fd(map);
	x->map_entries = bpf_map__max_entries(map);
	r = bpf_obj_get_info_by_fd(x->prog_fd, &info, &len);
	if (r)
		return r;
	x->prog_id = info.id;
	return 0;
}

static int fill_all(struct xq *q, uint32_t frames, uint32_t frame_size)
{
	uint32_t idx, i;

	if (xsk_ring_prod__reserve(&q->fill, frames, &idx) != frames)
		return -ENOSPC;
	for (i = 0; i < frames; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * frame_size;
	xsk_ring_prod__submit(&q->fill, frames);
	return 0;
}

static int open_queue(struct rf_xdp *x, struct xq *q, enum rf_xdp_mode mode)
{
	struct xsk_umem_config uc = {
		.fill_size = x->frames * 2, /* see release_queue() */
		.comp_size = COMP_RING_SIZE,
		.frame_size = x->frame_size,
	};
	struct xsk_socket_config sc = {
		.rx_size = x->frames,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		/* Zero-copy if the driver has it (else the kernel copies); never in skb mode. */
		.bind_flags = XDP_USE_NEED_WAKEUP | (mode == RF_XDP_MODE_SKB ? XDP_COPY : 0),
	};
	struct epoll_event ev = {.events = EPOLLIN};
	void *area;
	int r;

	q->area_len = (size_t)x->frames * x->frame_size;
	area = mmap(NULL, q->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	q->area = area;
	/* Every frame is read once per packet, each on its own page: see HUGE_AREA. */
	if (q->area_len >= HUGE_AREA)
		(void)madvise(area, q->area_len, MADV_HUGEPAGE); /* a hint: else 4 KiB pages */
	r = xsk_umem__create(&q->umem, q->area, q->area_len, &q->fill, &q->comp, &uc);
	if (r)
		return r;
	r = xsk_socket__create(&q->xsk, x->ifname, q->queue, q->umem, &q->rx, NULL, &sc);
	if (r)
		return r;
	r = fill_all(q, x->frames, x->frame_size);
	if (r)
		return r;
	r = xsk_socket__update_xskmap(q->xsk, x->map_fd);
	if (r)
		return r;
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, xsk_socket__fd(q->xsk), &ev))
		return -errno;
	return 0;
}

static int attach(struct rf_xdp *x)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = x->link_flags);
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);
	int r;

	r = bpf_link_create(x->prog_fd, x->ifindex, BPF_XDP, &lo);
	if (r < 0)
		return r;
	x->link_fd = r;
	r = bpf_xdp_query(x->ifindex, 0, &qo);
	if (r)
		return r;
	x->mode = qo.attach_mode == XDP_ATTACHED_SKB ? RF_XDP_MODE_SKB : RF_XDP_MODE_NATIVE;
	return 0;
}

/* Is ifname a veth (its driver, as ethtool -i names it)? */
static bool is_veth(const char *ifname)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	bool veth = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		veth = !strcmp(di.driver, "veth");
	close(fd);
	return veth;
}

/*
 * The mode to ask for. Auto: the kernel's choice (native where the driver
 * has XDP), but skb on a veth. A veth hands its peer the sender's packets
 * (skbs), not pages a driver received into: native XDP there first copies
 * each into a page of its own, and the whole receive path cost less in skb
 * mode in every measurement (doc/performance.md). A veth has no GRO by
 * default that skb mode would come after (turned on, the source warns, or
 * turns it off with --disable-offloads).
 */
static enum rf_xdp_mode mode_for(const struct rf_xdp_opts *o)
{
	if (o->mode == RF_XDP_MODE_AUTO && is_veth(o->ifname))
		return RF_XDP_MODE_SKB;
	return o->mode;
}

/* Queues to capture: first and count. */
static int pick_queues(const struct rf_xdp_opts *o, uint32_t *first, unsigned int *n)
{
	int nq = rf_iface_rx_queues(o->ifname);

	if (nq < 0)
		return nq;
	if (o->queue == RF_XDP_ALL_QUEUES) {
		*first = 0;
		*n = (unsigned int)nq;
	} else {
		if (o->queue < 0 || o->queue >= nq)
			return -ENXIO;
		*first = (uint32_t)o->queue;
		*n = 1;
	}
	return 0;
}

static int xdp_setup(struct rf_xdp *x, const struct rf_xdp_opts *o)
{
	enum rf_xdp_mode mode = mode_for(o);
	uint32_t first = 0;
	unsigned int i;
	int r;

	r = pick_queues(o, &first, &x->n);
	if (r)
		return r;
	x->frame_size = frame_for(o->ifname);
	x->frames = queue_frames(o->umem_size, x->n, x->frame_size);
	x->link_flags = mode == RF_XDP_MODE_SKB	     ? XDP_FLAGS_SKB_MODE
			: mode == RF_XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE
						     : 0;
	x->q = calloc(x->n, sizeof(*x->q));
	if (!x->q)
		return -ENOMEM;
	r = load_prog(x);
	if (r)
		return r;
	if (first + x->n > x->map_entries)
		return -E2BIG;
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->epfd < 0)
		return -errno;
	for (i = 0; i < x->n; i++) {
		x->q[i].queue = first + i;
		r = open_queue(x, &x->q[i], mode);
		if (r)
			return r;
	}
	return attach(x);
}

int rf_xdp_open(const struct rf_xdp_opts *opts, struct rf_xdp **ret_xdp)
{
	struct rf_xdp *x;
	unsigned int idx;
	int r;

	if (!opts || !ret_xdp || !opts->ifname || !*opts->ifname)
		return -EINVAL;
	if (strlen(opts->ifname) >= IF_NAMESIZE)
		return -ENODEV;
	idx = if_nametoindex(opts->ifname);
	if (!idx)
		return errno == ENXIO ? -ENODEV : -errno;
	r = rf_iface_link((int)idx, opts->ifname);
	if (r <= 0)
		return r ? r : -ENETDOWN;
	quiet_libraries();
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->ifindex = (int)idx;
	memcpy(x->ifname, opts->ifname, strlen(opts->ifname) + 1);
	x->prog_fd = x->map_fd = x->link_fd = x->epfd = -1;
	r = xdp_setup(x, opts);
	if (r) {
		rf_xdp_close(x);
		return r;
	}
	*ret_xdp = x;
	return 0;
}

int rf_xdp_fd(const struct rf_xdp *x)
{
	return x->epfd;
}

void rf_xdp_get_info(const struct rf_xdp *x, struct rf_xdp_info *ret)
{
	struct xdp_options opt;
	socklen_t len;
	unsigned int i;

	memset(ret, 0, sizeof(*ret));
	ret->first_queue = x->n ? x->q[0].queue : 0;
	ret->n_queues = x->n;
	ret->frames = x->frames;
	ret->frame_size = x->frame_size;
	ret->mode = x->mode;
	ret->prog_id = x->prog_id;
	ret->prog_name = PROG_NAME;
	ret->zerocopy = x->n > 0;
	for (i = 0; i < x->n; i++) {
		len = sizeof(opt);
		if (getsockopt(xsk_socket__fd(x->q[i].xsk), SOL_XDP, XDP_OPTIONS, &opt, &len) ||
		    !(opt.flags & XDP_OPTIONS_ZEROCOPY))
			ret->zerocopy = false;
	}
}

static void fill_packet(const struct rf_xdp *x, const struct xq *q, const struct xdp_desc *d,
			uint64_t ts, struct rf_packet *p)
{
	p->data = q->area + d->addr;
	p->ts_ns = ts;
	p->caplen = d->len;
	p->wirelen = d->len;
	p->ifindex = (uint32_t)x->ifindex;
	p->hash = 0;
	p->flags = 0;
}

int rf_xdp_next_burst(struct rf_xdp *x, struct rf_packet *pkts, unsigned int max)
{
	unsigned int n = 0, k;
	uint64_t ts = 0;

	for (k = 0; k < x->n && n < max; k++) {
		struct xq *q = &x->q[(x->next + k) % x->n];
		uint32_t idx = 0, got, i;

		got = xsk_ring_cons__peek(&q->rx, max - n, &idx);
		if (!got)
			continue;
		if (!q->taken)
			q->taken_idx = idx;
		q->taken += got;
		if (!ts)
			ts = rf_now_real_ns();
		for (i = 0; i < got; i++)
			fill_packet(x, q, xsk_ring_cons__rx_desc(&q->rx, idx + i), ts, &pkts[n++]);
	}
	/* The next burst starts one queue further: none waits behind a busy one. */
	if (x->n)
		x->next = (x->next + 1) % x->n;
	return (int)n;
}

/* Hand the frames of q's taken descriptors back through the fill ring, then the descriptors. */
static void release_queue(struct xq *q, uint32_t frame_size)
{
	uint32_t fi = 0, i;

	/*
	 * The kernel publishes how far it read the fill ring only once it has
	 * used up what it saw there: frames it took can be in the rx ring, and
	 * taken here, while the fill ring still counts them as unread. Every
	 * frame is either truly in the fill ring or among those, so the ring
	 * seems to hold at most `frames`; it has room for twice that, and there
	 * is always room for what was taken. Were there not, the frames stay
	 * taken (and are handed back at the next release), never lost.
	 */
	if (xsk_ring_prod__reserve(&q->fill, q->taken, &fi) != q->taken)
		return;
	for (i = 0; i < q->taken; i++) {
		uint64_t addr = xsk_ring_cons__rx_desc(&q->rx, q->taken_idx + i)->addr;

		*xsk_ring_prod__fill_addr(&q->fill, fi + i) = addr & ~(uint64_t)(frame_size - 1);
	}
	xsk_ring_prod__submit(&q->fill, q->taken);
	xsk_ring_cons__release(&q->rx, q->taken);
	q->taken = 0;
	/* A zero-copy driver that ran out of frames waits to be told there are new ones. */
	if (xsk_ring_prod__needs_wakeup(&q->fill))
		recvfrom(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

void rf_xdp_release(struct rf_xdp *x)
{
	unsigned int i;

	for (i = 0; i < x->n; i++)
		if (x->q[i].taken)
			release_queue(&x->q[i], x->frame_size);
}

int rf_xdp_link(const struct rf_xdp *x)
{
	return rf_iface_link(x->ifindex, x->ifname);
}

int rf_xdp_attached(const struct rf_xdp *x)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);
	int r = bpf_xdp_query(x->ifindex, 0, &qo);

	if (r)
		return r;
	return qo.prog_id == x->prog_id || qo.drv_prog_id == x->prog_id ||
	       qo.skb_prog_id == x->prog_id;
}

int rf_xdp_attach_again(struct rf_xdp *x)
{
	/* The old link is detached (defunct): closing it changes nothing on the interface. */
	if (x->link_fd >= 0)
		close(x->link_fd);
	x->link_fd = -1;
	return attach(x);
}

int rf_xdp_stats(const struct rf_xdp *x, uint64_t *ret_drops)
{
	struct xdp_statistics st;
	uint64_t drops = 0;
	socklen_t len;
	unsigned int i;

	for (i = 0; i < x->n; i++) {
		len = sizeof(st);
		if (getsockopt(xsk_socket__fd(x->q[i].xsk), SOL_XDP, XDP_STATISTICS, &st, &len))
			return -errno;
		/* rx_dropped: no free frame, or too big; rx_ring_full: we fell behind. */
		drops += st.rx_dropped + st.rx_ring_full;
	}
	*ret_drops = drops;
	return 0;
}

void rf_xdp_close(struct rf_xdp *x)
{
	unsigned int i;

	if (!x)
		return;
	if (x->link_fd >= 0)
		close(x->link_fd); /* detaches the program: nothing is redirected any more */
	for (i = 0; x->q && i < x->n; i++) {
		if (x->q[i].xsk)
			xsk_socket__delete(x->q[i].xsk);
		if (x->q[i].umem)
			xsk_umem__delete(x->q[i].umem);
		if (x->q[i].area)
			munmap(x->q[i].area, x->q[i].area_len);
	}
	if (x->epfd >= 0)
		close(x->epfd);
	xdp_program__close(x->prog);
	free(x->q);
	free(x);
}

/* ---- who holds the hook ---- */

/* The XDP link that attaches prog_id to ifindex: its id, 0 if none, -EPERM without CAP_SYS_ADMIN. */
static int64_t find_link(uint32_t prog_id, int ifindex)
{
	struct bpf_link_info info;
	uint32_t id = 0;
	int64_t found = 0;
	__u32 len;
	int fd, r;

	while (!found && !(r = bpf_link_get_next_id(id, &id))) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		    info.prog_id == prog_id && (int)info.xdp.ifindex == ifindex)
			found = id;
		close(fd);
	}
	return found ? found : r == -ENOENT ? 0 : r;
}

/* Does /proc/PID/fdinfo/FD (dirfd: /proc/PID/fdinfo) show link link_id? */
static bool fdinfo_has_link(int dirfd, const char *fd, uint32_t link_id)
{
	char buf[1024], want[32];
	ssize_t n;
	int f = openat(dirfd, fd, O_RDONLY | O_CLOEXEC);

	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = 0;
	snprintf(want, sizeof(want), "\nlink_id:\t%u\n", link_id);
	return strstr(buf, want) != NULL;
}

static bool pid_holds_link(long pid, uint32_t link_id)
{
	char path[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = de->d_name[0] != '.' && fdinfo_has_link(dirfd(d), de->d_name, link_id);
	closedir(d);
	return found;
}

/* The process holding link link_id open, or 0. */
static long find_holder(uint32_t link_id)
{
	struct dirent *de;
	long pid = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while (!pid && (de = readdir(d))) {
		long p = de->d_name[0] >= '1' && de->d_name[0] <= '9' ? strtol(de->d_name, NULL, 10)
								      : 0;

		if (p > 0 && pid_holds_link(p, link_id))
			pid = p;
	}
	closedir(d);
	return pid;
}

/* A process's command line, arguments joined by spaces, cut to fit. */
static void cmdline_of(long pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	buf[0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = 0;
	for (i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
}

static void prog_name_of(uint32_t id, char *buf, size_t len)
{
	struct bpf_prog_info info = {0};
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(buf, len, "%s", info.name);
	close(fd);
}

int rf_xdp_hook_owner(const char *ifname, char *buf, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qo);
	char name[BPF_OBJ_NAME_LEN + 1], cmd[OWNER_TEXT_MAX];
	unsigned int idx = if_nametoindex(ifname);
	int64_t link;
	uint32_t id;
	long pid = 0;
	bool skb;
	int r;

	if (!idx)
		return -ENODEV;
	quiet_libraries();
	r = bpf_xdp_query((int)idx, 0, &qo);
	if (r)
		return r;
	id = qo.prog_id ? qo.prog_id : qo.drv_prog_id ? qo.drv_prog_id : qo.skb_prog_id;
	if (!id)
		return -ENOENT;
	prog_name_of(id, name, sizeof(name));
	link = find_link(id, (int)idx);
	if (link > 0)
		pid = find_holder((uint32_t)link);
	if (pid)
		cmdline_of(pid, cmd, sizeof(cmd));
	skb = qo.attach_mode == XDP_ATTACHED_SKB;
	r = snprintf(buf, len, "XDP program '%s' (id %u, %s mode)", name, id,
		     skb ? "skb" : "native");
	if (r < 0 || (size_t)r >= len)
		return 0;
	if (pid)
		snprintf(buf + r, len - (size_t)r,
			 ", held by pid %ld (%s) through a BPF link; one AF_XDP capture per "
			 "interface",
			 pid, cmd);
	else if (link > 0)
		snprintf(buf + r, len - (size_t)r, ", held through BPF link %u",
			 (unsigned int)link);
	else if (!link)
		snprintf(buf + r, len - (size_t)r,
			 ", attached without an owner (by ip link or xdp-loader, or left by a "
			 "program that ended); if nothing uses it, 'ip link set dev %s %s off' "
			 "removes it",
			 ifname, skb ? "xdpgeneric" : "xdp");
	return 0;
}
