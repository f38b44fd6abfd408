/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Benchmark of the balancer's per-packet classification: decode + flow hash
 * (through the fragment table, as the balancer calls it) + queue selection,
 * per mode, over packets held in memory. Prints the median ns/packet and
 * Mpps of several runs, next to a decode-only baseline measured in the same
 * run, and the machine it ran on. --spread prints how flows and packets fall
 * over the queues.
 *
 *   decode-hash -r FILE.pcap [-R RUNS] [-m MODE] [-q QUEUES] [-p AHEAD] [--spread]
 *   decode-hash -g N         (N generated 64-byte Ethernet/IPv4/TCP packets)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "decode.h"
#include "flow.h"
#include "util.h"

#define MAX_RUNS 101

struct trace {
	uint8_t *bytes; /* all packets back to back */
	uint32_t *off;	/* packet i at bytes + off[i] */
	uint32_t *len;	/* its captured length */
	uint64_t *ts;	/* its timestamp (ns) */
	size_t n;
	int linktype;
};

static const enum rf_mode bench_modes[] = {RF_MODE_IP,		 RF_MODE_5TUPLE, RF_MODE_INNER_IP,
					   RF_MODE_INNER_5TUPLE, RF_MODE_VLAN,	 RF_MODE_IFACE};

static int trace_alloc(struct trace *t, size_t n, size_t bytes)
{
	t->bytes = malloc(bytes ? bytes : 1);
	t->off = calloc(n ? n : 1, sizeof(*t->off));
	t->len = calloc(n ? n : 1, sizeof(*t->len));
	t->ts = calloc(n ? n : 1, sizeof(*t->ts));
	return t->bytes && t->off && t->len && t->ts ? 0 : -ENOMEM;
}

/* Two passes over the file: count, then copy into one buffer. */
static int trace_load(struct trace *t, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *p;
	size_t n = 0, bytes = 0, pos = 0;
	pcap_t *pc;

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		rf_err("cannot read '%s': %s", path, errbuf);
		return -EINVAL;
	}
	while (pcap_next_ex(pc, &h, &p) == 1) {
		n++;
		bytes += h->caplen;
	}
	pcap_close(pc);
	if (trace_alloc(t, n, bytes) < 0)
		return -ENOMEM;
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc)
		return -EINVAL;
	t->linktype = pcap_datalink(pc);
	while (t->n < n && pcap_next_ex(pc, &h, &p) == 1) {
		memcpy(t->bytes + pos, p, h->caplen);
		t->off[t->n] = (uint32_t)pos;
		t->len[t->n] = h->caplen;
		t->ts[t->n] = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;
		pos += h->caplen;
		t->n++;
	}
	pcap_close(pc);
	return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* 64-byte Ethernet/IPv4/TCP packets of n/8 flows, both directions, shuffled. */
static int trace_generate(struct trace *t, size_t n)
{
	size_t flows = n / 8 ? n / 8 : 1;

	if (trace_alloc(t, n, n * 64) < 0)
		return -ENOMEM;
	t->linktype = DLT_EN10MB;
	for (size_t i = 0; i < n; i++) {
		uint64_t f = rng() % flows, r = f * 0x9e3779b97f4a7c15ULL;
		uint32_t a = 0x0a000000 | (uint32_t)(r & 0xffffff),
			 b = 0xc0a80000 | (uint32_t)(r >> 48);
		uint16_t sp = (uint16_t)(1024 + (r >> 24) % 60000), dp = 80;
		uint8_t *p = t->bytes + i * 64;

		if (rng() & 1) {
			uint32_t ta = a;
			uint16_t tp = sp;

			a = b;
			b = ta;
			sp = dp;
			dp = tp;
		}
		memset(p, 0, 64);
		memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
		p[14] = 0x45;
		put16(p + 16, 46);
		p[22] = 64;
		p[23] = 6;
		put32(p + 26, a);
		put32(p + 30, b);
		put16(p + 34, sp);
		put16(p + 36, dp);
		p[46] = 0x50;
		p[47] = 0x10;
		t->off[i] = (uint32_t)(i * 64);
		t->len[i] = 64;
		t->ts[i] = i * 100;
	}
	t->n = n;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;
/* Packets ahead to prefetch, as a burst-processing balancer would (-p). */
static size_t prefetch_ahead = 4;

static inline void prefetch_pkt(const struct trace *t, size_t i)
{
	if (prefetch_ahead && i + prefetch_ahead < t->n)
		__builtin_prefetch(t->bytes + t->off[i + prefetch_ahead]);
}

/* The measured loop: what the balancer does per packet, minus the copy. */
__attribute__((noinline)) uint64_t bench_classify(const struct trace *t, struct rf_flow *f,
						  unsigned int dflags, uint32_t nq);
__attribute__((noinline)) uint64_t bench_classify(const struct trace *t, struct rf_flow *f,
						  unsigned int dflags, uint32_t nq)
{
	struct rf_flow_pkt rel;
	struct rf_decoded d;
	uint64_t sum = 0;
	uint32_t hash;

	for (size_t i = 0; i < t->n; i++) {
		struct rf_flow_pkt p = {.data = t->bytes + t->off[i],
					.caplen = t->len[i],
					.wirelen = t->len[i],
					.ts_ns = t->ts[i],
					.linktype = t->linktype,
					.cookie = i};

		prefetch_pkt(t, i);
		rf_decode(p.data, p.caplen, t->linktype, dflags, &d);
		if (rf_flow_classify(f, &p, &d, &hash, NULL) == RF_FLOW_HASH)
			sum += rf_queue_pick(hash, nq);
		while (unlikely(rf_flow_next_released(f, &rel, &hash, NULL)))
			sum += rf_queue_pick(hash, nq);
	}
	rf_flow_flush(f);
	while (rf_flow_next_released(f, &rel, &hash, NULL))
		sum += rf_queue_pick(hash, nq);
	return sum;
}

/* Baseline: decode only. */
__attribute__((noinline)) uint64_t bench_decode(const struct trace *t, unsigned int dflags);
__attribute__((noinline)) uint64_t bench_decode(const struct trace *t, unsigned int dflags)
{
	struct rf_decoded d;
	uint64_t sum = 0;

	for (size_t i = 0; i < t->n; i++, prefetch_pkt(t, i))
		sum += (uint64_t)rf_decode(t->bytes + t->off[i], t->len[i], t->linktype, dflags,
					   &d) +
		       d.n_ip;
	return sum;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median ns over runs; mode < 0: decode-only baseline with dflags. */
static double time_mode(const struct trace *t, int mode, unsigned int dflags, int runs, uint32_t nq)
{
	uint64_t ns[MAX_RUNS];

	for (int r = 0; r < runs; r++) {
		struct rf_flow *f = NULL;
		uint64_t t0, t1;

		if (mode >= 0 && rf_flow_new((enum rf_mode)mode, NULL, &f) < 0)
			exit(RF_EXIT_RUNTIME);
		t0 = now_ns();
		sink += mode >= 0 ? bench_classify(t, f, dflags, nq) : bench_decode(t, dflags);
		t1 = now_ns();
		ns[r] = t1 - t0;
		rf_flow_free(f);
	}
	qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_u64);
	return (double)ns[runs / 2] / (double)t->n;
}

static void print_machine(void)
{
	char line[256], model[256] = "unknown";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c) {
			snprintf(model, sizeof(model), "%s", c + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	printf("# machine: %s; %ld cores online; kernel %s %s\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release);
}

/* Distinct hashes per queue (flows) and packets per queue, for nq queues. */
static void print_spread(const struct trace *t, enum rf_mode mode, uint32_t nq)
{
	size_t cap = 1, i;
	uint32_t *set;
	uint8_t *used;
	uint64_t pk[64] = {0}, fl[64] = {0};
	struct rf_flow *f = NULL;
	struct rf_decoded d;
	unsigned int dflags = rf_mode_decode_flags(mode);

	while (cap < t->n * 2)
		cap <<= 1;
	set = calloc(cap, sizeof(*set));
	used = calloc(cap, 1);
	if (!set || !used || rf_flow_new(mode, NULL, &f) < 0)
		exit(RF_EXIT_RUNTIME);
	for (i = 0; i < t->n; i++) {
		struct rf_flow_pkt p = {.data = t->bytes + t->off[i],
					.caplen = t->len[i],
					.ts_ns = t->ts[i],
					.linktype = t->linktype};
		struct rf_flow_pkt rel;
		uint32_t hash, q;
		size_t s;

		rf_decode(p.data, p.caplen, t->linktype, dflags, &d);
		if (rf_flow_classify(f, &p, &d, &hash, NULL) != RF_FLOW_HASH)
			continue;
		while (rf_flow_next_released(f, &rel, &q, NULL))
			pk[rf_queue_pick(q, nq)]++;
		q = rf_queue_pick(hash, nq);
		pk[q]++;
		for (s = hash & (cap - 1); used[s] && set[s] != hash; s = (s + 1) & (cap - 1))
			;
		if (!used[s]) {
			used[s] = 1;
			set[s] = hash;
			fl[q]++;
		}
	}
	printf("spread %-12s", rf_mode_name(mode));
	for (const char *what = "flows"; what; what = what[0] == 'f' ? "packets" : NULL) {
		const uint64_t *v = what[0] == 'f' ? fl : pk;
		uint64_t mn = UINT64_MAX, mx = 0, sum = 0;

		for (uint32_t q = 0; q < nq; q++) {
			mn = v[q] < mn ? v[q] : mn;
			mx = v[q] > mx ? v[q] : mx;
			sum += v[q];
		}
		printf("  %s: min %" PRIu64 " max %" PRIu64 " mean %.1f (max/mean %.3f)", what, mn,
		       mx, (double)sum / nq, sum ? (double)mx * nq / (double)sum : 0.0);
	}
	printf("\n");
	rf_flow_free(f);
	free(set);
	free(used);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: decode-hash (-r FILE | -g N) [-R RUNS] [-m MODE] [-q QUEUES] "
		     "[-p PREFETCH] [--spread]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"read", required_argument, NULL, 'r'},
		{"generate", required_argument, NULL, 'g'},
		{"runs", required_argument, NULL, 'R'},
		{"mode", required_argument, NULL, 'm'},
		{"queues", required_argument, NULL, 'q'},
		{"spread", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	uint64_t gen = 0, runs = 5, nq = 4, pf;
	int only = -1, c, spread = 0;
	struct trace t = {0};
	enum rf_mode m;
	double base_outer, base_full;

	while ((c = getopt_long(argc, argv, "r:g:R:m:q:p:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			file = optarg;
			break;
		case 'g':
			if (rf_parse_size(optarg, 1, 100000000, &gen) < 0)
				goto bad;
			break;
		case 'R':
			if (rf_parse_u64(optarg, 1, MAX_RUNS, &runs) < 0)
				goto bad;
			break;
		case 'm':
			if (rf_mode_parse(optarg, &m) < 0)
				goto bad;
			only = (int)m;
			break;
		case 'q':
			if (rf_parse_u64(optarg, 1, 64, &nq) < 0)
				goto bad;
			break;
		case 'p':
			if (rf_parse_u64(optarg, 0, 64, &pf) < 0)
				goto bad;
			prefetch_ahead = (size_t)pf;
			break;
		case 's':
			spread = 1;
			break;
		case 'h':
			usage(stdout);
			return RF_EXIT_OK;
		default:
			goto bad;
		}
	}
	if (!file == !gen || optind != argc)
		goto bad;
	if ((file ? trace_load(&t, file) : trace_generate(&t, gen)) < 0 || !t.n) {
		rf_err("no packets to measure");
		return RF_EXIT_RUNTIME;
	}
	print_machine();
	printf("# input: %s, %zu packets, linktype %d; median of %" PRIu64 " runs; %" PRIu64
	       " queues; prefetch %zu packets ahead\n",
	       file ? file : "generated 64-byte Ethernet/IPv4/TCP", t.n, t.linktype, runs, nq,
	       prefetch_ahead);
	time_mode(&t, -1, 0, 1, (uint32_t)nq); /* warm up: caches, page tables, clock */
	base_outer = time_mode(&t, -1, RF_DECODE_OUTER, (int)runs, (uint32_t)nq);
	base_full = time_mode(&t, -1, 0, (int)runs, (uint32_t)nq);
	printf("%-14s %8s %8s %s\n", "mode", "ns/pkt", "Mpps", "x decode-only");
	printf("%-14s %8.2f %8.2f\n", "decode-outer", base_outer, 1e3 / base_outer);
	printf("%-14s %8.2f %8.2f\n", "decode-full", base_full, 1e3 / base_full);
	for (size_t i = 0; i < ARRAY_SIZE(bench_modes); i++) {
		enum rf_mode mode = bench_modes[i];
		unsigned int dflags = rf_mode_decode_flags(mode);
		double ns, base = dflags & RF_DECODE_OUTER ? base_outer : base_full;

		if (only >= 0 && (int)mode != only)
			continue;
		ns = time_mode(&t, (int)mode, dflags, (int)runs, (uint32_t)nq);
		printf("%-14s %8.2f %8.2f %6.2f\n", rf_mode_name(mode), ns, 1e3 / ns, ns / base);
	}
	if (spread)
		for (size_t i = 0; i < ARRAY_SIZE(bench_modes); i++)
			if (only < 0 || (int)bench_modes[i] == only)
				print_spread(&t, bench_modes[i], (uint32_t)nq);
	return RF_EXIT_OK;
bad:
	usage(stderr);
	return RF_EXIT_USAGE;
}
