/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rf-feed: a test producer. Reads a pcap file and enqueues every packet into
 * a ringfan queue, publishing once per burst; marks the queue finished at
 * the end (unless --keep-open, which then holds the queue until killed).
 * Prints "enqueued=N", "dropped=N" (and per reason) on stdout.
 *
 *   rf-feed -q NAME [--ring-size B] [--mode 0640] [--group G] [--lossless]
 *           [--rate PPS] [--burst N] [--keep-open] FILE.pcap
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

struct feed_opts {
	const char *queue;
	const char *file;
	uint64_t ring_size;
	mode_t mode;
	gid_t group;
	bool lossless, keep_open;
	uint64_t rate;
	unsigned int burst;
};

struct feed_counts {
	uint64_t enqueued, full, toobig, cursor;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rf-feed -q NAME [--ring-size BYTES] [--mode OCTAL] [--group GROUP]\n"
		"               [--lossless] [--rate PPS] [--burst N] [--keep-open] FILE.pcap\n");
}

static int parse_u64(const char *s, int base, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	/* Size suffixes: k, M, G (powers of 1024). */
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	else if (*end == 'G')
		v <<= 30, end++;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_group(const char *s, gid_t *ret)
{
	struct group *g;
	uint64_t v;

	if (parse_u64(s, 10, &v) == 0 && v < UINT32_MAX) {
		*ret = (gid_t)v;
		return 0;
	}
	g = getgrnam(s);
	if (!g)
		return -ENOENT;
	*ret = g->gr_gid;
	return 0;
}

static int parse_args(int argc, char **argv, struct feed_opts *o)
{
	static const struct option longopts[] = {
		{"queue", required_argument, NULL, 'q'},
		{"ring-size", required_argument, NULL, 's'},
		{"mode", required_argument, NULL, 'm'},
		{"group", required_argument, NULL, 'g'},
		{"lossless", no_argument, NULL, 'l'},
		{"rate", required_argument, NULL, 'r'},
		{"burst", required_argument, NULL, 'b'},
		{"keep-open", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t v;
	int c;

	*o = (struct feed_opts){.group = (gid_t)-1, .burst = 32};
	while ((c = getopt_long(argc, argv, "q:s:m:g:lr:b:kh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->queue = optarg;
			break;
		case 's':
			if (parse_u64(optarg, 0, &o->ring_size) < 0)
				goto bad;
			break;
		case 'm':
			if (parse_u64(optarg, 8, &v) < 0 || v > 0777)
				goto bad;
			o->mode = (mode_t)v;
			break;
		case 'g':
			if (parse_group(optarg, &o->group) < 0)
				goto bad;
			break;
		case 'l':
			o->lossless = true;
			break;
		case 'r':
			if (parse_u64(optarg, 10, &o->rate) < 0)
				goto bad;
			break;
		case 'b':
			if (parse_u64(optarg, 10, &v) < 0 || v == 0 || v > 65536)
				goto bad;
			o->burst = (unsigned int)v;
			break;
		case 'k':
			o->keep_open = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!o->queue || optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	o->file = argv[optind];
	return 0;
bad:
	fprintf(stderr, "rf-feed: invalid value '%s' for option -%c\n", optarg, c);
	return -EINVAL;
}

static void sleep_until(uint64_t start_ns, uint64_t i, uint64_t rate)
{
	struct timespec now;
	uint64_t due = start_ns + i * 1000000000ull / rate, t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	if (t < due) {
		struct timespec d = {.tv_sec = (time_t)((due - t) / 1000000000ull),
				     .tv_nsec = (long)((due - t) % 1000000000ull)};
		nanosleep(&d, NULL);
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Enqueue one packet; in lossless mode wait for room first instead of dropping. */
static void feed_one(struct rf_producer *p, const struct feed_opts *o, const struct rf_packet *pkt,
		     struct feed_counts *n)
{
	int r;

	/* A packet that can never fit, or a nonsense cursor: enqueue drops and counts it. */
	if (o->lossless)
		(void)rf_producer_wait_space(p, pkt->caplen, -1);
	r = rf_producer_enqueue(p, pkt);
	if (r == 0)
		n->enqueued++;
	else if (r == -EMSGSIZE)
		n->toobig++;
	else if (r == -EPIPE)
		n->cursor++;
	else
		n->full++;
}

static int feed_file(pcap_t *pc, struct rf_producer *p, const struct feed_opts *o,
		     struct feed_counts *n)
{
	struct pcap_pkthdr *ph;
	const u_char *bytes;
	uint64_t i = 0, start = mono_ns();
	int r;

	while ((r = pcap_next_ex(pc, &ph, &bytes)) == 1) {
		struct rf_packet pkt = {
			.data = bytes,
			/* Opened with nanosecond precision: tv_usec holds nanoseconds. */
			.ts_ns = (uint64_t)ph->ts.tv_sec * 1000000000ull + (uint64_t)ph->ts.tv_usec,
			.caplen = ph->caplen,
			.wirelen = ph->len,
		};

		if (o->rate)
			sleep_until(start, i, o->rate);
		feed_one(p, o, &pkt, n);
		if (++i % o->burst == 0 || o->rate)
			rf_producer_publish(p);
	}
	rf_producer_publish(p);
	if (r == -1) {
		fprintf(stderr, "rf-feed: cannot read '%s': %s\n", o->file, pcap_geterr(pc));
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct feed_opts o;
	struct feed_counts n = {0};
	struct rf_producer *p;
	pcap_t *pc;
	int r;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	pc = pcap_open_offline_with_tstamp_precision(o.file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fprintf(stderr, "rf-feed: cannot open '%s': %s\n", o.file, errbuf);
		return 1;
	}
	struct rf_producer_opts po = {
		.sz = sizeof(po),
		.ring_size = o.ring_size,
		.owner = (uid_t)-1,
		.group = o.group,
		.mode = o.mode,
	};
	r = rf_producer_create(o.queue, &po, &p);
	if (r < 0) {
		fprintf(stderr, "rf-feed: cannot create queue %s: %s\n", o.queue, strerror(-r));
		pcap_close(pc);
		return r == -EINVAL || r == -ERANGE ? 2 : 1;
	}
	r = feed_file(pc, p, &o, &n);
	pcap_close(pc);
	printf("enqueued=%" PRIu64 "\ndropped=%" PRIu64 "\ndropped_full=%" PRIu64
	       "\ndropped_toobig=%" PRIu64 "\ndropped_cursor=%" PRIu64 "\n",
	       n.enqueued, n.full + n.toobig + n.cursor, n.full, n.toobig, n.cursor);
	fflush(stdout);
	if (o.keep_open)
		for (;;)
			pause();
	rf_producer_finish(p);
	rf_producer_destroy(p);
	return r < 0 ? 1 : 0;
}
