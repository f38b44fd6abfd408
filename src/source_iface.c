/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Live sources: one interface, captured through the TPACKET_V3 ring of
 * afpacket.c ("afpacket:IFACE") or the AF_XDP sockets of afxdp.c
 * ("afxdp:IFACE[@QUEUE|@all]"). Both live through the same events.
 *
 * The interface may go down and up (the kernel resumes the capture by
 * itself) or be deleted and created again (a new ifindex: the old capture
 * never sees it again). So while nothing arrives, the interface is looked
 * at every LINK_CHECK_NS: a capture whose interface is gone is closed, and
 * the name is tried again until an interface of that name (and link type)
 * is back, which is then captured anew. An AF_XDP capture also looks
 * whether its XDP program is still attached: someone may have detached it
 * (frames then go to the stack and nothing arrives); it is attached again.
 * Each change is logged once, and the state is in the counters (stats file:
 * source.N.state).
 */
#include <errno.h>
#include <net/if.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afpacket.h"
#include "afxdp.h"
#include "daemon.h"
#include "iface.h"
#include "source.h"
#include "util.h"

#define LINK_CHECK_NS (250 * 1000000ull)

/*
 * An AF_XDP socket is readable as soon as one frame is in it: waking up for
 * each one would cost a poll, a burst and a queue publish (and a consumer
 * wake-up) per packet, which costs more than the packet. So after a burst
 * that emptied the rings, frames are left to gather before the source asks
 * to be woken again: up to XDP_GATHER_MAX_NS, and never longer than a
 * quarter of a queue's frames takes to fill at the rate seen since the last
 * time. At most that much latency (twice AF_PACKET's block timeout: each
 * wake-up costs a context switch, a cold cache and a consumer wake-up, and
 * a frame holds one packet where a block holds thousands, so the frames,
 * not the time, bound it at high rates), and at most fifty wake-ups a
 * second when traffic flows. When frames come after the rings stayed empty
 * longer than that, the rate to come is unknown: the first wait is
 * XDP_GATHER_FIRST_NS, and the longest wait after each one twice the last
 * such bound plus that, so that traffic that starts at a high rate is
 * measured before a long wait can take all the frames.
 */
#define XDP_GATHER_MAX_NS   (20 * 1000000ull)
#define XDP_GATHER_FIRST_NS (1000000ull)

enum if_state { IF_RUNNING, IF_DOWN, IF_GONE, IF_DETACHED };

static const char *const state_names[] = {
	[IF_RUNNING] = "running",
	[IF_DOWN] = "down",
	[IF_GONE] = "gone",
	[IF_DETACHED] = "detached",
};

/* Offloads whose effect is merged packets (as opposed to a VLAN tag moved out of the frame). */
#define MERGING_OFFLOADS (RF_OFFLOAD_RX_ALL | RF_OFFLOAD_TSO)

struct iface_source {
	struct rf_source base; /* first: the balancer sees a struct rf_source */
	bool xdp;	       /* AF_XDP, else AF_PACKET */
	/* The capture; both NULL while the interface is gone. */
	struct rf_afp *afp;
	struct rf_xdp *x;
	struct rf_afp_opts ao; /* to capture it again when it is back */
	struct rf_xdp_opts xo;
	char ifname[IF_NAMESIZE];
	bool disable_offloads;
	enum if_state state;
	int reopen_error;	/* last failure to capture it again (logged once) */
	int attach_error;	/* last failure to attach the XDP program again (logged once) */
	uint64_t next_check_ns; /* monotonic: when to look at the interface again */
	uint64_t gather_until;	/* AF_XDP: monotonic: let frames gather until then */
	uint64_t last_burst_ns; /* AF_XDP: monotonic: when gathering last began (for the rate) */
	uint64_t cycle_rx;	/* AF_XDP: frames read since then */
	uint64_t ramp_ns;	/* AF_XDP: the longest wait for now (see XDP_GATHER_FIRST_NS) */
	uint32_t xdp_frames;	/* AF_XDP: frames per queue */
	uint64_t received;
	uint64_t bytes;
	uint64_t drops_closed; /* kernel drops of captures closed when the interface went */
};

static struct iface_source *src_of(struct rf_source *s)
{
	return (struct iface_source *)s;
}

static const struct iface_source *csrc_of(const struct rf_source *s)
{
	return (const struct iface_source *)s;
}

static bool capturing(const struct iface_source *a)
{
	return a->afp || a->x;
}

static const char *capture_error(const struct iface_source *a, int r, char *buf, size_t len)
{
	char owner[448];

	switch (r) {
	case -ENODEV:
		return "no such interface";
	case -ENETDOWN:
		return "interface is down";
	case -EPERM:
	case -EACCES:
		return a->xdp ? "permission denied (needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF)"
			      : "permission denied (needs CAP_NET_RAW)";
	case -EPROTOTYPE:
		return "AF_XDP captures Ethernet interfaces only (use afpacket:)";
	}
	if (!a->xdp)
		return strerror(-r);
	switch (r) {
	case -EBUSY:
	case -EEXIST:
		if (rf_xdp_hook_owner(a->ifname, owner, sizeof(owner)))
			snprintf(owner, sizeof(owner), "a queue already has an AF_XDP socket");
		snprintf(buf, len, "its XDP hook is taken: %s", owner);
		return buf;
	case -ENXIO:
		snprintf(buf, len, "no receive queue %d (it has %d)", a->xo.queue,
			 rf_iface_rx_queues(a->ifname));
		return buf;
	case -E2BIG:
		return "a queue is beyond those libxdp's AF_XDP program serves";
	case -EOPNOTSUPP:
		return "the driver has no native XDP (try --xdp-mode skb)";
	case -ERANGE:
		return "the MTU is too large for XDP on this driver (lower it, or use afpacket:)";
	case -ENOENT:
		return "libxdp's AF_XDP program (xsk_def_xdp_prog.o) is missing: install libxdp1";
	case -ENOBUFS:
		return "cannot lock the frame memory (raise RLIMIT_MEMLOCK: systemd "
		       "LimitMEMLOCK=infinity, shell ulimit -l; or a smaller --capture-ring-size)";
	}
	return strerror(-r);
}

static int cap_open(struct iface_source *a)
{
	return a->xdp ? rf_xdp_open(&a->xo, &a->x) : rf_afp_open(&a->ao, &a->afp);
}

static void cap_close(struct iface_source *a)
{
	rf_afp_close(a->afp);
	rf_xdp_close(a->x);
	a->afp = NULL;
	a->x = NULL;
}

static int cap_link(const struct iface_source *a)
{
	return a->xdp ? rf_xdp_link(a->x) : rf_afp_link(a->afp);
}

static int cap_drops(struct iface_source *a, uint64_t *ret)
{
	uint64_t pkts;

	*ret = 0;
	if (a->x)
		return rf_xdp_stats(a->x, ret);
	return a->afp ? rf_afp_stats(a->afp, &pkts, ret) : 0;
}

/* The offloads that matter to this capture (see iface.h). */
static unsigned int offloads_of(const struct iface_source *a, enum rf_xdp_mode mode)
{
	if (!a->xdp)
		return RF_OFFLOAD_RX_ALL | (a->ao.ignore_outgoing ? 0 : RF_OFFLOAD_TSO);
	/* Native XDP runs before GRO; what the NIC merged or untagged it sees as is. */
	return RF_OFFLOAD_LRO | RF_OFFLOAD_GRO_HW | RF_OFFLOAD_RXVLAN |
	       (mode == RF_XDP_MODE_SKB ? RF_OFFLOAD_GRO : 0);
}

static void warn_offloads(const struct iface_source *a, unsigned int on)
{
	char names[96];

	if (on & MERGING_OFFLOADS)
		rf_log("warning: source %s: interface %s has %s on: the capture gets packets of up "
		       "to 64 KiB that were never on the wire (egresses cannot send them, "
		       "consumers do not expect them); --disable-offloads turns it off",
		       a->base.name, a->ifname,
		       rf_offload_names(on & MERGING_OFFLOADS, names, sizeof(names)));
	if (on & RF_OFFLOAD_RXVLAN)
		rf_log("warning: source %s: interface %s has rx VLAN offload on: it takes the "
		       "outer VLAN tag out of received frames, and XDP sees them without it; "
		       "--disable-offloads turns it off",
		       a->base.name, a->ifname);
}

/*
 * GRO/LRO merge received packets into "packets" of up to 64 KiB before a
 * capture sees them (and TSO leaves the host's own packets unsegmented,
 * which matters when outgoing packets are captured): an egress cannot send
 * those on a 1,500-byte link, and consumers see packets that were never on
 * the wire. A VLAN tag taken out of the frame is put back by AF_PACKET, not
 * by XDP. Turn them off if asked (at start before the capture opens: nothing
 * merged is captured), else warn.
 */
static void check_offloads(struct iface_source *a, unsigned int mask)
{
	unsigned int on = 0, left = 0;
	char names[96], off[96];
	int r;

	if (rf_iface_offloads(a->ifname, &on) || !(on &= mask))
		return; /* no ethtool features (tun, lo): nothing merges */
	if (!a->disable_offloads) {
		warn_offloads(a, on);
		return;
	}
	rf_offload_names(on, names, sizeof(names));
	r = rf_iface_offloads_off(a->ifname, on, &left);
	if (r) {
		rf_log("warning: source %s: cannot turn %s off on interface %s: %s", a->base.name,
		       names, a->ifname, strerror(-r));
		return;
	}
	left &= on;
	if (on & ~left)
		rf_log("source %s: turned %s off on interface %s", a->base.name,
		       rf_offload_names(on & ~left, off, sizeof(off)), a->ifname);
	if (left)
		rf_log("warning: source %s: %s stays on on interface %s (fixed by its driver)",
		       a->base.name, rf_offload_names(left, off, sizeof(off)), a->ifname);
}

/* What an AF_XDP capture set up: the mode the kernel chose matters to the operator. */
static void log_xdp(struct iface_source *a)
{
	struct rf_xdp_info xi;
	char queues[64];

	rf_xdp_get_info(a->x, &xi);
	a->xdp_frames = xi.frames;
	if (xi.n_queues == 1)
		snprintf(queues, sizeof(queues), "queue %u", xi.first_queue);
	else
		snprintf(queues, sizeof(queues), "queues %u-%u", xi.first_queue,
			 xi.first_queue + xi.n_queues - 1);
	rf_log("source %s: AF_XDP on %s, %s XDP, %s, %u frames of %u bytes per queue; XDP "
	       "program %s (id %u) attached through a BPF link, alone on the interface",
	       a->base.name, queues, rf_xdp_mode_name(xi.mode),
	       xi.zerocopy ? "zero-copy" : "copy mode (no zero-copy in this driver or mode)",
	       xi.frames, xi.frame_size, xi.prog_name, xi.prog_id);
	/* Chosen by the kernel: GRO comes before generic XDP. */
	if (a->xo.mode == RF_XDP_MODE_AUTO && xi.mode == RF_XDP_MODE_SKB)
		check_offloads(a, RF_OFFLOAD_GRO);
}

static void set_state(struct iface_source *a, enum if_state st, const char *what)
{
	if (a->state == st)
		return;
	a->state = st;
	rf_log("source %s: interface %s %s", a->base.name, a->ifname, what);
}

/* The interface of the open capture went away: keep its counters, close it. */
static void close_gone(struct iface_source *a)
{
	uint64_t drops = 0;

	if (!cap_drops(a, &drops))
		a->drops_closed += drops;
	cap_close(a);
	a->reopen_error = 0;
	set_state(a, IF_GONE, "is gone; captured again when it comes back");
}

/* Gone: is an interface of that name back? Capture it if it is up and of the same link type. */
static void try_reopen(struct iface_source *a)
{
	int r = rf_afp_iface_linktype(a->ifname);
	char why[512];

	if (r == -ENODEV)
		return;
	if (r >= 0 && r != a->base.linktype)
		r = -EPROTOTYPE;
	else if (r >= 0)
		r = cap_open(a);
	if (r == -ENETDOWN) {
		set_state(a, IF_DOWN, "is back, down");
		return;
	}
	if (r < 0) {
		if (r != a->reopen_error)
			rf_log("source %s: interface %s is back but cannot be captured: %s",
			       a->base.name, a->ifname,
			       r == -EPROTOTYPE ? "another link type"
						: capture_error(a, r, why, sizeof(why)));
		a->reopen_error = r;
		return;
	}
	a->state = IF_GONE; /* log "is back" even when it came back down first */
	set_state(a, IF_RUNNING, "is back; capturing again");
	if (a->x)
		log_xdp(a);
	/* Once it is up (not on every try): a new interface has its driver's defaults. */
	check_offloads(a, offloads_of(a, a->xo.mode));
}

/*
 * Up, AF_XDP: is our program still attached? If someone detached it, attach
 * it again. False while it is not (state detached).
 */
static bool hook_ok(struct iface_source *a)
{
	int r = rf_xdp_attached(a->x);

	if (r != 0)
		return true; /* attached, or cannot tell */
	set_state(a, IF_DETACHED,
		  "lost its XDP program (detached by someone else): frames go "
		  "to the stack; attaching it again");
	r = rf_xdp_attach_again(a->x);
	if (!r) {
		a->attach_error = 0;
		return true;
	}
	if (r != a->attach_error)
		rf_log("source %s: cannot attach the XDP program to interface %s again: %s",
		       a->base.name, a->ifname,
		       r == -EPERM || r == -EACCES ? "permission denied (root was given up with -D)"
						   : strerror(-r));
	a->attach_error = r;
	return false;
}

/* Look at the interface: log and record a change of state. */
static void check_link(struct iface_source *a)
{
	int r;

	a->next_check_ns = rf_now_mono_ns() + LINK_CHECK_NS;
	if (!capturing(a)) {
		try_reopen(a);
		return;
	}
	r = cap_link(a);
	if (r == -ENODEV)
		close_gone(a);
	else if (r == 0)
		set_state(a, IF_DOWN, "is down");
	else if (r == 1 && (!a->x || hook_ok(a)))
		set_state(a, IF_RUNNING,
			  a->state == IF_DETACHED ? "has its XDP program again; capturing again"
						  : "is up again");
}

/*
 * A burst emptied the rings: let frames gather (see XDP_GATHER_MAX_NS). The
 * rate is that of the frames read since gathering last began (every burst
 * since, not only this last, short one).
 */
static void gather(struct iface_source *a)
{
	uint64_t now = rf_now_mono_ns(), wait = XDP_GATHER_MAX_NS;

	/* cycle_rx frames came in `since`: a quarter of the frames comes in since * quarter / cycle_rx. */
	if (a->last_burst_ns && a->cycle_rx) {
		uint64_t fill = (now - a->last_burst_ns) * (a->xdp_frames / 4) / a->cycle_rx;

		if (fill < wait)
			wait = fill;
	}
	/* The rings stayed empty a while since the last wait: the rate to come is unknown. */
	if (now > a->gather_until && now - a->gather_until > XDP_GATHER_MAX_NS)
		a->ramp_ns = 0;
	a->ramp_ns = 2 * a->ramp_ns + XDP_GATHER_FIRST_NS;
	if (a->ramp_ns > XDP_GATHER_MAX_NS)
		a->ramp_ns = XDP_GATHER_MAX_NS;
	if (wait > a->ramp_ns)
		wait = a->ramp_ns;
	a->last_burst_ns = now;
	a->cycle_rx = 0;
	a->gather_until = now + wait;
}

static int iface_next_burst(struct rf_source *s, struct rf_packet *pkts, unsigned int max)
{
	struct iface_source *a = src_of(s);
	int n = 0, i;

	if (a->afp)
		n = rf_afp_next_burst(a->afp, pkts, max);
	else if (a->x)
		n = rf_xdp_next_burst(a->x, pkts, max);
	if (n <= 0) {
		/* Idle: the cheap clock read decides whether to ask the kernel. */
		if (rf_now_mono_ns() >= a->next_check_ns)
			check_link(a);
		return 0;
	}
	for (i = 0; i < n; i++)
		a->bytes += pkts[i].caplen;
	a->received += (unsigned int)n;
	if (a->x) {
		a->cycle_rx += (unsigned int)n;
		if ((unsigned int)n < max)
			gather(a);
	}
	/* Packets while down: up again? Never check_link() here, the packets are in the ring. */
	if (a->state == IF_DOWN && rf_now_mono_ns() >= a->next_check_ns) {
		a->next_check_ns = rf_now_mono_ns() + LINK_CHECK_NS;
		if (cap_link(a) == 1)
			set_state(a, IF_RUNNING, "is up again");
	}
	return n;
}

static void iface_release(struct rf_source *s)
{
	struct iface_source *a = src_of(s);

	if (a->afp)
		rf_afp_release(a->afp);
	else if (a->x)
		rf_xdp_release(a->x);
}

static bool gathering(const struct iface_source *a)
{
	return a->x && rf_now_mono_ns() < a->gather_until;
}

/* No descriptor while AF_XDP frames gather: the wait is wait_ms()'s. */
static int iface_fd(const struct rf_source *s)
{
	const struct iface_source *a = csrc_of(s);

	if (gathering(a))
		return -1;
	return a->afp ? rf_afp_fd(a->afp) : a->x ? rf_xdp_fd(a->x) : -1;
}

static int ms_until(uint64_t t)
{
	uint64_t now = rf_now_mono_ns();

	return t > now ? (int)((t - now + 999999) / 1000000) : 0;
}

/*
 * Running: wait on the capture (after the gathering time of AF_XDP).
 * Otherwise wake up for the next look at the interface.
 */
static int iface_wait_ms(const struct rf_source *s)
{
	const struct iface_source *a = csrc_of(s);

	if (a->state == IF_RUNNING)
		return gathering(a) ? ms_until(a->gather_until) : -1;
	return ms_until(a->next_check_ns);
}

/*
 * The kernel reports the interface going down or away (AF_PACKET's socket
 * error; an AF_XDP socket reports nothing, its interface is looked at when
 * idle): say which, once.
 */
static int iface_poll_error(struct rf_source *s)
{
	struct iface_source *a = src_of(s);
	int r = a->afp ? rf_afp_wait(a->afp, 0) : 0;

	if (r != -ENETDOWN)
		return r < 0 ? r : 0;
	check_link(a);
	return 0;
}

static void iface_counters(struct rf_source *s, struct rf_source_counters *ret)
{
	struct iface_source *a = src_of(s);
	uint64_t drops = 0;

	cap_drops(a, &drops);
	ret->received = a->received;
	ret->bytes = a->bytes;
	ret->kernel_drops = a->drops_closed + drops;
	ret->state = state_names[a->state];
}

static void iface_close(struct rf_source *s)
{
	cap_close(src_of(s));
	free(s);
}

static const struct rf_source_ops iface_ops = {
	.next_burst = iface_next_burst,
	.release = iface_release,
	.fd = iface_fd,
	.wait_ms = iface_wait_ms,
	.poll_error = iface_poll_error,
	.counters = iface_counters,
	.close = iface_close,
};

/* A name that ends like a capture file, or is a file: meant as pcap:NAME. */
const char *rf_source_iface_hint(const char *name, char *buf, size_t len)
{
	static const char *const ends[] = {".pcap", ".pcapng", ".cap", ".pcap.gz"};
	size_t i, n = strlen(name), e;
	bool file = false;
	struct stat st;

	for (i = 0; i < ARRAY_SIZE(ends); i++) {
		e = strlen(ends[i]);
		file = file || (n > e && !strcmp(name + n - e, ends[i]));
	}
	if (!stat(name, &st) && !S_ISDIR(st.st_mode))
		file = true;
	if (file)
		snprintf(buf, len, " (to read a capture file, write -i pcap:%s)", name);
	else
		snprintf(buf, len, "%s", "");
	return buf;
}

/* Open the first capture: the interface must be there and up (unlike later, when it comes back). */
static int first_open(struct iface_source *a, const char *spec)
{
	char why[512], hint[RF_SOURCE_HINT_MAX];
	int r, lt = rf_afp_iface_linktype(a->ifname);

	if (lt != -ENODEV)
		check_offloads(a, offloads_of(a, a->xo.mode));
	r = a->xdp && lt >= 0 && lt != DLT_EN10MB ? -EPROTOTYPE : cap_open(a);
	if (r < 0) {
		rf_err("cannot capture on interface '%s'%s%s: %s%s", a->ifname,
		       a->xdp ? " with " : "", a->xdp ? spec : "",
		       capture_error(a, r, why, sizeof(why)),
		       r == -ENODEV ? rf_source_iface_hint(a->ifname, hint, sizeof(hint)) : "");
		return r;
	}
	if (a->x)
		log_xdp(a);
	/* Interfaces without a link header (tun, WireGuard) give raw IP frames. */
	a->base.linktype = lt > 0 ? lt : DLT_EN10MB;
	return 0;
}

static int iface_open(const char *ifname, const char *spec, bool xdp,
		      const struct rf_source_opts *opts, struct rf_source **ret_source)
{
	struct iface_source *a;
	int r;

	char hint[RF_SOURCE_HINT_MAX];

	if (!*ifname || strlen(ifname) >= IF_NAMESIZE) {
		rf_err("cannot capture on interface '%s': no such interface%s", ifname,
		       rf_source_iface_hint(ifname, hint, sizeof(hint)));
		return -ENODEV;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a->ifname, ifname, strlen(ifname) + 1);
	a->xdp = xdp;
	snprintf(a->base.name, sizeof(a->base.name), "%s", spec);
	a->ao.ifname = a->ifname;
	a->ao.ring_size = opts->capture_ring_size;
	a->ao.promisc = true;
	a->ao.ignore_outgoing = !opts->capture_outgoing;
	a->ao.fanout = opts->fanout;
	a->ao.fanout_hold = opts->fanout != 0;
	a->xo.ifname = a->ifname;
	a->xo.umem_size = opts->capture_ring_size;
	a->xo.mode = (enum rf_xdp_mode)opts->xdp_mode;
	a->disable_offloads = opts->disable_offloads;
	r = xdp ? rf_source_parse_afxdp(spec + strlen(RF_SOURCE_AFXDP), NULL, &a->xo.queue) : 0;
	if (!r)
		r = first_open(a, spec);
	if (r < 0) {
		free(a);
		return r;
	}
	a->base.ops = &iface_ops;
	a->base.lossless = false;
	a->state = IF_RUNNING;
	*ret_source = &a->base;
	return 0;
}

int rf_source_afpacket_open(const char *ifname, const struct rf_source_opts *opts,
			    struct rf_source **ret_source)
{
	char spec[IF_NAMESIZE + sizeof(RF_SOURCE_AFPACKET)];

	snprintf(spec, sizeof(spec), "%s%s", RF_SOURCE_AFPACKET, ifname);
	return iface_open(ifname, spec, false, opts, ret_source);
}

int rf_source_fanout_start(struct rf_source *s)
{
	struct iface_source *a = src_of(s);
	int r;

	if (s->ops != &iface_ops || a->xdp || !a->ao.fanout)
		return -EINVAL;
	/* A capture opened again (the interface was gone) joins the same group at once. */
	a->ao.fanout = rf_afp_fanout(a->afp) ? rf_afp_fanout(a->afp) : a->ao.fanout;
	a->ao.fanout_hold = false;
	r = a->afp ? rf_afp_fanout_start(a->afp) : 0;
	if (r < 0)
		rf_err("cannot start capture thread's share of interface '%s': %s", a->ifname,
		       strerror(-r));
	return r;
}

uint32_t rf_source_fanout(const struct rf_source *s)
{
	const struct iface_source *a = csrc_of(s);

	return s->ops == &iface_ops && !a->xdp ? rf_afp_fanout(a->afp) : 0;
}

int rf_source_afxdp_open(const char *spec, const struct rf_source_opts *opts,
			 struct rf_source **ret_source)
{
	char ifname[IF_NAMESIZE];
	int r = rf_source_parse_afxdp(spec + strlen(RF_SOURCE_AFXDP), ifname, NULL);

	if (r) {
		rf_err("bad source '%s' (afxdp:IFACE, afxdp:IFACE@QUEUE or afxdp:IFACE@all)", spec);
		return r;
	}
	return iface_open(ifname, spec, true, opts, ret_source);
}

int rf_source_parse_afxdp(const char *arg, char *ret_ifname, int *ret_queue)
{
	const char *at = strrchr(arg, '@');
	size_t n = at ? (size_t)(at - arg) : strlen(arg);
	uint64_t q = 0;

	if (!n || n >= IF_NAMESIZE)
		return -EINVAL;
	if (at && strcmp(at + 1, "all") && rf_parse_u64(at + 1, 0, RF_SOURCE_MAX_XDP_QUEUE, &q))
		return -EINVAL;
	if (ret_ifname) {
		memcpy(ret_ifname, arg, n);
		ret_ifname[n] = 0;
	}
	if (ret_queue)
		*ret_queue = !at || !strcmp(at + 1, "all") ? RF_XDP_ALL_QUEUES : (int)q;
	return 0;
}

const char *rf_source_iface(const char *spec, char *buf, size_t len)
{
	const char *name = spec;

	if (rf_source_file(spec))
		return NULL;
	if (!strncmp(spec, RF_SOURCE_AFXDP, strlen(RF_SOURCE_AFXDP))) {
		char ifname[IF_NAMESIZE];

		if (rf_source_parse_afxdp(spec + strlen(RF_SOURCE_AFXDP), ifname, NULL))
			return NULL;
		snprintf(buf, len, "%s", ifname);
		return buf;
	}
	if (!strncmp(spec, RF_SOURCE_AFPACKET, strlen(RF_SOURCE_AFPACKET)))
		name = spec + strlen(RF_SOURCE_AFPACKET);
	snprintf(buf, len, "%s", name);
	return buf;
}
