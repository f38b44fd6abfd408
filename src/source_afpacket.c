/* SPDX-License-Identifier: BSD-2-Clause */
/* Live source: one interface through the TPACKET_V3 ring of afpacket.c. */
#include <errno.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afpacket.h"
#include "source.h"
#include "util.h"

struct afp_source {
	struct rf_source base; /* first: the balancer sees a struct rf_source */
	struct rf_afp *afp;
	uint64_t received;
	uint64_t bytes;
};

static struct afp_source *afp_of(struct rf_source *s)
{
	return (struct afp_source *)s;
}

static int afp_next_burst(struct rf_source *s, struct rf_packet *pkts, unsigned int max)
{
	struct afp_source *a = afp_of(s);
	int n, i;

	n = rf_afp_next_burst(a->afp, pkts, max);
	for (i = 0; i < n; i++)
		a->bytes += pkts[i].caplen;
	if (n > 0)
		a->received += (unsigned int)n;
	return n < 0 ? 0 : n;
}

static void afp_release(struct rf_source *s)
{
	rf_afp_release(afp_of(s)->afp);
}

static int afp_fd(const struct rf_source *s)
{
	return rf_afp_fd(((const struct afp_source *)s)->afp);
}

static int afp_wait_ms(const struct rf_source *s)
{
	return -1;
}

static int afp_poll_error(struct rf_source *s)
{
	int r = rf_afp_wait(afp_of(s)->afp, 0);

	return r < 0 ? r : 0;
}

static void afp_counters(struct rf_source *s, struct rf_source_counters *ret)
{
	struct afp_source *a = afp_of(s);
	uint64_t pkts = 0, drops = 0;

	rf_afp_stats(a->afp, &pkts, &drops);
	ret->received = a->received;
	ret->bytes = a->bytes;
	ret->kernel_drops = drops;
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

int rf_source_afpacket_open(const char *ifname, const struct rf_source_opts *opts,
			    struct rf_source **ret_source)
{
	struct rf_afp_opts ao = {
		.ifname = ifname,
		.ring_size = opts->capture_ring_size,
		.promisc = true,
		.ignore_outgoing = !opts->capture_outgoing,
	};
	struct afp_source *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	r = rf_afp_open(&ao, &a->afp);
	if (r < 0) {
		rf_err("cannot capture on interface '%s': %s", ifname, afp_error(r));
		free(a);
		return r;
	}
	a->base.ops = &afp_ops;
	/* Interfaces without a link header (tun, WireGuard) give raw IP frames. */
	r = rf_afp_iface_linktype(ifname);
	a->base.linktype = r > 0 ? r : DLT_EN10MB;
	a->base.lossless = false;
	snprintf(a->base.name, sizeof(a->base.name), "afpacket:%s", ifname);
	*ret_source = &a->base;
	return 0;
}
