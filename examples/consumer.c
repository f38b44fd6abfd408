/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal libringfan consumer: attach to a queue, receive in bursts,
 * print one line per packet (or only the totals with -c), release once per
 * burst, and exit when the producer marks the queue finished.
 *
 *   cc consumer.c $(pkg-config --cflags --libs libringfan) -o consumer
 *   ./consumer [-c] [-n] 99@0
 *
 * -c: counts only; -n: start at the newest packet instead of the cursor.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#define BURST 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_packet(const struct rf_packet *p)
{
	printf("%" PRIu64 ".%09" PRIu64 " len=%u caplen=%u hash=%08x ifindex=%u%s\n",
	       p->ts_ns / 1000000000u, p->ts_ns % 1000000000u, p->wirelen, p->caplen, p->hash,
	       p->ifindex, p->flags & RF_PKT_TRUNCATED ? " truncated" : "");
}

/* Receive until the queue is finished or a signal arrives. 0 or a negative errno. */
static int consume(struct rf_consumer *c, const char *name, int counts_only, uint64_t *packets,
		   uint64_t *bytes)
{
	struct rf_packet pkts[BURST];
	int i, n;

	while (!stop) {
		n = rf_consumer_recv(c, pkts, BURST, 1000);
		if (n == -ENODATA)
			return 0; /* finished and drained */
		if (n == -EPIPE) {
			fprintf(stderr, "consumer: producer of queue %s gone; waiting\n", name);
			continue;
		}
		if (n == -EINTR || n == 0)
			continue;
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			if (!counts_only)
				print_packet(&pkts[i]);
			*bytes += pkts[i].caplen;
		}
		*packets += (uint64_t)n;
		/* One release per burst: the producer may reuse the space now. */
		rf_consumer_release(c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rf_consumer_opts opts = {.sz = sizeof(opts)};
	struct rf_consumer_stats st;
	struct rf_consumer *c;
	uint64_t packets = 0, bytes = 0;
	int counts_only = 0, opt, r;

	while ((opt = getopt(argc, argv, "cn")) != -1) {
		if (opt == 'c')
			counts_only = 1;
		else if (opt == 'n')
			opts.flags |= RF_CONSUMER_FROM_NEWEST;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	r = rf_consumer_open(argv[optind], &opts, &c);
	if (r < 0) {
		fprintf(stderr, "consumer: cannot open queue %s: %s\n", argv[optind], strerror(-r));
		return 1;
	}
	r = consume(c, argv[optind], counts_only, &packets, &bytes);
	rf_consumer_stats(c, &st, sizeof(st));
	rf_consumer_close(c);
	printf("packets=%" PRIu64 " bytes=%" PRIu64 " dropped=%" PRIu64 " corrupt=%" PRIu64 "\n",
	       packets, bytes, st.dropped, st.corrupt);
	if (r < 0) {
		fprintf(stderr, "consumer: queue %s: %s\n", argv[optind], strerror(-r));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: %s [-c] [-n] CLUSTER@QUEUE\n", argv[0]);
	return 2;
}
