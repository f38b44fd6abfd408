/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Live source: one interface through the TPACKET_V3 ring of afpacket.c.
 *
 * The interface may go down and up (the kernel resumes the capture by
 * itself) or be deleted and created again (a new ifindex: the old socket
 * never sees it again). So while nothing arrives, the interface is looked
 * at every LINK_CHECK_NS: a capture whose interface is gone is closed, and
 * the name is tried again until an interface of that name (and link type)
 * is back, which is then captured anew. Each change is logged once, and the
 * state is in the counters (stats file: source.N.state).
 */
#include <errno.h>
#include <net/if.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afpacket.h"
#include "daemon.h"
#include "iface.h"
#include "source.h"
#include "util.h"

#define LINK_CHECK_NS (250 * 1000000ull)

enum afp_state { AFP_RUNNING, AFP_DOWN, AFP_GONE };

static const char *const state_names[] = {
	[AFP_RUNNING] = "running",
	[AFP_DOWN] = "down",
	[AFP_GONE] = "gone",
};

struct afp_source {
	struct rf_source base; /* first: the balancer sees a struct rf_source */
	struct rf_afp *afp;    /* NULL while the interface is gone */
	struct rf_afp_opts ao; /* to capture it again when it is back */
	char ifname[IF_NAMESIZE];
	unsigned int offloads; /* RF_OFFLOAD_* that matter: GRO/LRO, and TSO with outgoing */
	bool disable_offloads;
	enum afp_state state;
	int reopen_error;	/* last failure to capture it again (logged once) */
	uint64_t next_check_ns; /* monotonic: when to look at the interface again */
	uint64_t received;
	uint64_t bytes;
	uint64_t drops_closed; /* kernel drops of captures closed when the interface went */
};

static struct afp_source *afp_of(struct rf_source *s)
{
	return (struct afp_source *)s;
}

static const char *afp_error(int r)
{
	switch (r) {
	case -ENODEV:
		return "no such interface";
	case -ENETDOWN:
		return "interface is down";
	case -EPERM:
	case -EACCES:
		return "permission denied (needs CAP_NET_RAW)";
	}
	return strerror(-r);
}

/*
 * GRO/LRO merge received packets into "packets" of up to 64 KiB before any
 * capture sees them (and TSO leaves the host's own packets unsegmented,
 * which matters when outgoing packets are captured): an egress cannot send
 * those on a 1,500-byte link, and consumers see packets that were never on
 * the wire. Turn them off if asked (at start before the capture opens:
 * nothing merged is captured), else warn.
 */
static void check_offloads(struct afp_source *a)
{
	unsigned int on = 0, left = 0;
	char names[64], off[64];
	int r;

	if (rf_iface_offloads(a->ifname, &on) || !(on &= a->offloads))
		return; /* no ethtool features (tun, lo): nothing merges */
	rf_offload_names(on, names, sizeof(names));
	if (!a->disable_offloads) {
		rf_log("warning: source %s: interface %s has %s on: the capture gets packets of up "
		       "to 64 KiB that were never on the wire (egresses cannot send them, "
		       "consumers "
		       "do not expect them); --disable-offloads turns it off",
		       a->base.name, a->ifname, names);
		return;
	}
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

static void set_state(struct afp_source *a, enum afp_state st, const char *what)
{
	if (a->state == st)
		return;
	a->state = st;
	rf_log("source %s: interface %s %s", a->base.name, a->ifname, what);
}

/* The interface of the open capture went away: keep its counters, close it. */
static void close_gone(struct afp_source *a)
{
	uint64_t pkts = 0, drops = 0;

	if (!rf_afp_stats(a->afp, &pkts, &drops))
		a->drops_closed += drops;
	rf_afp_close(a->afp);
	a->afp = NULL;
	a->reopen_error = 0;
	set_state(a, AFP_GONE, "is gone; captured again when it comes back");
}

/* Gone: is an interface of that name back? Capture it if it is up and of the same link type. */
static void try_reopen(struct afp_source *a)
{
	int r = rf_afp_iface_linktype(a->ifname);

	if (r == -ENODEV)
		return;
	if (r >= 0 && r != a->base.linktype)
		r = -EPROTOTYPE;
	else if (r >= 0)
		r = rf_afp_open(&a->ao, &a->afp);
	if (r == -ENETDOWN) {
		set_state(a, AFP_DOWN, "is back, down");
		return;
	}
	if (r < 0) {
		if (r != a->reopen_error)
			rf_log("source %s: interface %s is back but cannot be captured: %s",
			       a->base.name, a->ifname,
			       r == -EPROTOTYPE ? "another link type" : afp_error(r));
		a->reopen_error = r;
		return;
	}
	a->state = AFP_GONE; /* log "is back" even when it came back down first */
	set_state(a, AFP_RUNNING, "is back; capturing again");
	/* Once it is up (not on every try): a new interface has its driver's defaults. */
	check_offloads(a);
}

/* Look at the interface: log and record a change of state. */
static void check_link(struct afp_source *a)
{
	int r;

	a->next_check_ns = rf_now_mono_ns() + LINK_CHECK_NS;
	if (!a->afp) {
		try_reopen(a);
		return;
	}
	r = rf_afp_link(a->afp);
	if (r == -ENODEV)
		close_gone(a);
	else if (r == 0)
		set_state(a, AFP_DOWN, "is down");
	else if (r == 1)
		set_state(a, AFP_RUNNING, "is up again");
}

static int afp_next_burst(struct rf_source *s, struct rf_packet *pkts, unsigned int max)
{
	struct afp_source *a = afp_of(s);
	int n, i;

	n = a->afp ? rf_afp_next_burst(a->afp, pkts, max) : 0;
	if (n <= 0) {
		/* Idle: the cheap clock read decides whether to ask the kernel. */
		if (rf_now_mono_ns() >= a->next_check_ns)
			check_link(a);
		return 0;
	}
	for (i = 0; i < n; i++)
		a->bytes += pkts[i].caplen;
	a->received += (unsigned int)n;
	/* Packets while down: up again? Never check_link() here, the packets are in the ring. */
	if (a->state == AFP_DOWN && rf_now_mono_ns() >= a->next_check_ns) {
		a->next_check_ns = rf_now_mono_ns() + LINK_CHECK_NS;
		if (rf_afp_link(a->afp) == 1)
			set_state(a, AFP_RUNNING, "is up again");
	}
	return n;
}

static void afp_release(struct rf_source *s)
{
	struct afp_source *a = afp_of(s);

	if (a->afp)
		rf_afp_release(a->afp);
}

static int afp_fd(const struct rf_source *s)
{
	const struct afp_source *a = (const struct afp_source *)s;

	return a->afp ? rf_afp_fd(a->afp) : -1;
}

/* Running: wait on the socket. Otherwise wake up for the next look at the interface. */
static int afp_wait_ms(const struct rf_source *s)
{
	const struct afp_source *a = (const struct afp_source *)s;
	uint64_t now = rf_now_mono_ns();

	if (a->state == AFP_RUNNING)
		return -1;
	return a->next_check_ns > now ? (int)((a->next_check_ns - now) / 1000000 + 1) : 0;
}

/* The kernel reports the interface going down or away: say which, once. */
static int afp_poll_error(struct rf_source *s)
{
	struct afp_source *a = afp_of(s);
	int r = a->afp ? rf_afp_wait(a->afp, 0) : 0;

	if (r != -ENETDOWN)
		return r < 0 ? r : 0;
	check_link(a);
	return 0;
}

static void afp_counters(struct rf_source *s, struct rf_source_counters *ret)
{
	struct afp_source *a = afp_of(s);
	uint64_t pkts = 0, drops = 0;

	if (a->afp)
		rf_afp_stats(a->afp, &pkts, &drops);
	ret->received = a->received;
	ret->bytes = a->bytes;
	ret->kernel_drops = a->drops_closed + drops;
	ret->state = state_names[a->state];
}

static void afp_close(struct rf_source *s)
{
	struct afp_source *a = afp_of(s);

	rf_afp_close(a->afp);
	free(a);
}

static const struct rf_source_ops afp_ops = {
	.next_burst = afp_next_burst,
	.release = afp_release,
	.fd = afp_fd,
	.wait_ms = afp_wait_ms,
	.poll_error = afp_poll_error,
	.counters = afp_counters,
	.close = afp_close,
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

static void open_error(const char *ifname, int r)
{
	char hint[RF_SOURCE_HINT_MAX];

	rf_err("cannot capture on interface '%s': %s%s", ifname, afp_error(r),
	       r == -ENODEV ? rf_source_iface_hint(ifname, hint, sizeof(hint)) : "");
}

int rf_source_afpacket_open(const char *ifname, const struct rf_source_opts *opts,
			    struct rf_source **ret_source)
{
	struct afp_source *a;
	int r;

	if (!*ifname || strlen(ifname) >= IF_NAMESIZE) {
		open_error(ifname, -ENODEV);
		return -ENODEV;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a->ifname, ifname, strlen(ifname) + 1);
	snprintf(a->base.name, sizeof(a->base.name), "afpacket:%s", ifname);
	a->ao.ifname = a->ifname;
	a->ao.ring_size = opts->capture_ring_size;
	a->ao.promisc = true;
	a->ao.ignore_outgoing = !opts->capture_outgoing;
	a->disable_offloads = opts->disable_offloads;
	a->offloads = RF_OFFLOAD_RX_ALL | (opts->capture_outgoing ? RF_OFFLOAD_TSO : 0);
	if (rf_afp_iface_linktype(ifname) != -ENODEV)
		check_offloads(a);
	r = rf_afp_open(&a->ao, &a->afp);
	if (r < 0) {
		open_error(ifname, r);
		free(a);
		return r;
	}
	a->base.ops = &afp_ops;
	/* Interfaces without a link header (tun, WireGuard) give raw IP frames. */
	r = rf_afp_iface_linktype(ifname);
	a->base.linktype = r > 0 ? r : DLT_EN10MB;
	a->base.lossless = false;
	a->state = AFP_RUNNING;
	*ret_source = &a->base;
	return 0;
}
