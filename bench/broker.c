/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cost of what a broker does to packets (balance --filter, --dedup, --strip,
 * --snaplen) on the balancer's per-packet path: the real rf_pipeline, in
 * bursts of 256, into real queues (rings large enough that nothing drops),
 * over a capture held in memory. Each case runs on fresh queues; the time
 * of the median pass and, under valgrind --tool=callgrind
 * --toggle-collect=bench_pass, the instructions of each case's pass
 * (bench/broker.sh runs both and prints the difference from "plain").
 *
 *   broker -r FILE.pcap [-c CASE] [-R RUNS] [-m MODE]
 */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "broker.h"
#include "pipeline.h"
#include "util.h"

#define BURST	 256
#define QUEUES	 2
#define MAX_RUNS 51

struct trace {
	uint8_t *bytes;
	struct rf_packet *pkts;
	size_t n;
	int linktype;
};

/* One case: what every queue of the group does. */
struct bench_case {
	const char *name;
	const char *filter; /* NULL: none */
	uint64_t dedup_ns;
	uint32_t snaplen;
	unsigned int strip;
};

static const struct bench_case cases[] = {
	{"plain"},
	{"filter-all", "ip or ip6 or not ip"}, /* evaluated, keeps everything */
	{"filter-tcp", "tcp"},
	{"filter-ports", "port 53 or port 80 or port 443"},
	{"dedup-50us", NULL, 50000},
	{"snaplen-128", NULL, 0, 128},
	{"strip-vlan", NULL, 0, 0, RF_STRIP_VLAN},
	{"strip-tunnel", NULL, 0, 0, RF_STRIP_TUNNEL},
	{"all", "tcp or udp", 50000, 128, RF_STRIP_VLAN | RF_STRIP_MPLS | RF_STRIP_TUNNEL},
};

static int trace_load(struct trace *t, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *p;
	size_t bytes = 0, pos = 0, cap = 0;
	pcap_t *pc;

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		rf_err("cannot read '%s': %s", path, errbuf);
		return -EINVAL;
	}
	while (pcap_next_ex(pc, &h, &p) == 1) {
		t->n++;
		bytes += h->caplen;
	}
	pcap_close(pc);
	t->bytes = malloc(bytes ? bytes : 1);
	t->pkts = calloc(t->n ? t->n : 1, sizeof(*t->pkts));
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!t->bytes || !t->pkts || !pc)
		return -ENOMEM;
	t->linktype = pcap_datalink(pc);
	while (cap < t->n && pcap_next_ex(pc, &h, &p) == 1) {
		memcpy(t->bytes + pos, p, h->caplen);
		t->pkts[cap].data = t->bytes + pos;
		t->pkts[cap].caplen = h->caplen;
		t->pkts[cap].wirelen = h->len;
		t->pkts[cap].ts_ns =
			(uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		pos += h->caplen;
		cap++;
	}
	pcap_close(pc);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The measured loop (callgrind: --toggle-collect=bench_pass). */
__attribute__((noinline)) void bench_pass(struct rf_pipeline *pl, struct trace *t);
__attribute__((noinline)) void bench_pass(struct rf_pipeline *pl, struct trace *t)
{
	size_t i, n;

	for (i = 0; i < t->n; i += n) {
		n = t->n - i < BURST ? t->n - i : BURST;
		rf_pipeline_burst(pl, t->pkts + i, (unsigned int)n, t->linktype, false);
	}
	rf_pipeline_flush(pl, false);
}

struct setup {
	char dir[64];
	struct rf_producer *prod[QUEUES];
	struct rf_filter *filter;
	struct rf_pipeline *pl;
};

static void teardown(struct setup *s)
{
	char name[32];
	int q;

	rf_pipeline_free(s->pl);
	rf_filter_free(s->filter);
	for (q = 0; q < QUEUES; q++) {
		rf_producer_destroy(s->prod[q]);
		snprintf(name, sizeof(name), "1@%d", q);
		rf_queue_remove(name, s->dir);
	}
}

/* Fresh queues (nothing in them: no drops) and a pipeline doing what c says. */
static int setup(struct setup *s, const struct bench_case *c, const struct trace *t,
		 enum rf_mode mode, uint64_t ring)
{
	struct rf_producer_opts po = {.sz = sizeof(po),
				      .dir = s->dir,
				      .ring_size = ring,
				      .flags = RF_PRODUCER_LINKTYPE | RF_PRODUCER_NEW_GENERATION,
				      .linktype = t->linktype};
	struct rf_pipeline_queue_opts qo[QUEUES] = {0};
	uint32_t groups[1] = {QUEUES};
	char name[32], err[PCAP_ERRBUF_SIZE];
	int q, r;

	if (c->filter && rf_filter_compile(c->filter, t->linktype, &s->filter, err, sizeof(err))) {
		rf_err("bad filter '%s': %s", c->filter, err);
		return -EINVAL;
	}
	for (q = 0; q < QUEUES; q++) {
		snprintf(name, sizeof(name), "1@%d", q);
		r = rf_producer_create(name, &po, &s->prod[q]);
		if (r) {
			rf_err("cannot create queue %s in %s: %s", name, s->dir, strerror(-r));
			return r;
		}
		qo[q] = (struct rf_pipeline_queue_opts){s->filter, c->dedup_ns, c->snaplen,
							c->strip};
	}
	struct rf_pipeline_opts o = {.mode = mode,
				     .n_groups = 1,
				     .group_queues = groups,
				     .producers = s->prod,
				     .ring_size = ring,
				     .queue_opts = qo};
	return rf_pipeline_new(&o, &s->pl);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Packets and bytes the queues hold after a pass. */
static void delivered(const struct setup *s, uint64_t *ret_pkts, uint64_t *ret_bytes)
{
	struct rf_queue_info qi;
	int q;

	*ret_pkts = *ret_bytes = 0;
	for (q = 0; q < QUEUES; q++) {
		memset(&qi, 0, sizeof(qi));
		rf_producer_info(s->prod[q], &qi, sizeof(qi));
		*ret_pkts += qi.enqueued;
		*ret_bytes += qi.enqueued_bytes;
	}
}

static int run_case(const struct bench_case *c, struct trace *t, enum rf_mode mode, int runs,
		    const char *dir)
{
	uint64_t ns[MAX_RUNS], bytes = 0, ring = 1, out_pkts = 0, out_bytes = 0;
	size_t i;
	int k, r = 0;

	for (i = 0; i < t->n; i++)
		bytes += t->pkts[i].caplen + 64;
	while (ring < 2 * bytes)
		ring <<= 1;
	for (k = 0; k < runs && !r; k++) {
		struct setup s = {0};

		snprintf(s.dir, sizeof(s.dir), "%s", dir);
		r = setup(&s, c, t, mode, ring);
		if (!r) {
			uint64_t t0 = now_ns();

			bench_pass(s.pl, t);
			ns[k] = now_ns() - t0;
			delivered(&s, &out_pkts, &out_bytes);
		}
		teardown(&s);
	}
	if (r)
		return r;
	qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_u64);
	printf("%-14s %8.1f ns/packet  %6.2f Mpps  delivered %llu packets, %llu bytes  (median of "
	       "%d)\n",
	       c->name, (double)ns[runs / 2] / (double)t->n,
	       (double)t->n * 1e3 / (double)ns[runs / 2], (unsigned long long)out_pkts,
	       (unsigned long long)out_bytes, runs);
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *only = NULL;
	char dir[] = "/dev/shm/ringfan-bench.XXXXXX";
	enum rf_mode mode = RF_MODE_5TUPLE;
	struct trace t = {0};
	int c, runs = 5, r = 0;
	size_t i;

	while ((c = getopt(argc, argv, "r:c:R:m:")) != -1) {
		if (c == 'r')
			file = optarg;
		else if (c == 'c')
			only = optarg;
		else if (c == 'R')
			runs = atoi(optarg);
		else if (c == 'm' && rf_mode_parse(optarg, &mode))
			return 2;
	}
	if (!file || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: broker -r FILE.pcap [-c CASE] [-R RUNS 1-%d] [-m MODE]\n",
			MAX_RUNS);
		return 2;
	}
	if (trace_load(&t, file) || !mkdtemp(dir))
		return 1;
	printf("# input %s: %zu packets, mode %s, %d queues\n", file, t.n, rf_mode_name(mode),
	       QUEUES);
	for (i = 0; i < ARRAY_SIZE(cases) && !r; i++)
		if (!only || !strcmp(only, cases[i].name))
			r = run_case(&cases[i], &t, mode, runs, dir);
	rmdir(dir);
	free(t.bytes);
	free(t.pkts);
	return r ? 1 : 0;
}
