/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal libringfan consumer: attach to a queue, receive in bursts,
 * print one line per packet (or only the totals with -c), hand the burst on
 * (flush the output) and only then release it, and exit at the end of the
 * run (a file replay that ended) unless -f follows the next runs.
 *
 *   cc consumer.c $(pkg-config --cflags --libs libringfan) -o consumer
 *   ./consumer [-c] [-n] [-f] [-w] 99@0
 *
 * -c: counts only; -n: start at the newest packet instead of the cursor;
 * -f: after the end of a run, wait for the next one; -w: wait for the
 * queue to appear (start before the balancer).
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

/* Say when the packets start coming from another run (generation) of the queue. */
static void note_generation(struct rf_consumer *c, const char *name, uint64_t *gen)
{
	struct rf_queue_info qi;

	if (rf_consumer_info(c, &qi, sizeof(qi)) < 0 || qi.generation == *gen)
		return;
	if (*gen)
		fprintf(stderr, "consumer: queue %s: a new run (generation %" PRIu64 ")\n", name,
			qi.generation);
	*gen = qi.generation;
}

/* Receive until the end of the run (or of every run with follow) or a signal. 0 or -errno. */
static int consume(struct rf_consumer *c, const char *name, int counts_only, int follow,
		   uint64_t *packets, uint64_t *bytes)
{
	struct rf_packet pkts[BURST];
	uint64_t gen = 0;
	int i, n;

	note_generation(c, name, &gen);
	while (!stop) {
		n = rf_consumer_recv(c, pkts, BURST, 1000);
		if (n == -ENODATA) { /* the run ended and everything was received */
			if (!follow)
				return 0;
			fprintf(stderr, "consumer: queue %s: end of run; waiting for the next\n",
				name);
			continue;
		}
		if (n == -EPIPE) {
			fprintf(stderr, "consumer: producer of queue %s gone; waiting\n", name);
			continue;
		}
		if (n == -EINTR || n == 0)
			continue;
		if (n < 0)
			return n;
		note_generation(c, name, &gen);
		for (i = 0; i < n; i++) {
			if (!counts_only)
				print_packet(&pkts[i]);
			*bytes += pkts[i].caplen;
		}
		*packets += (uint64_t)n;
		/* Hand the packets on before releasing them: a released packet is never
		 * delivered again, so one still in our stdio buffer would be lost if we
		 * were killed now. */
		if (fflush(stdout))
			return -errno;
		/* One release per burst: the producer may reuse the space now. */
		rf_consumer_release(c);
	}
	return 0;
}

static void print_linktype(struct rf_consumer *c, const char *name)
{
	struct rf_queue_info qi;

	if (rf_consumer_info(c, &qi, sizeof(qi)) == 0)
		fprintf(stderr, "consumer: queue %s: link type %d%s\n", name, (int)qi.linktype,
			qi.finished ? ", a finished run" : "");
}

int main(int argc, char **argv)
{
	struct rf_consumer_opts opts = {.sz = sizeof(opts)};
	struct rf_consumer_stats st;
	struct rf_consumer *c;
	uint64_t packets = 0, bytes = 0;
	int counts_only = 0, follow = 0, opt, r;

	while ((opt = getopt(argc, argv, "cnfw")) != -1) {
		if (opt == 'c')
			counts_only = 1;
		else if (opt == 'n')
			opts.flags |= RF_CONSUMER_FROM_NEWEST;
		else if (opt == 'f')
			follow = 1;
		else if (opt == 'w')
			opts.wait_ms = -1;
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
	print_linktype(c, argv[optind]);
	r = consume(c, argv[optind], counts_only, follow, &packets, &bytes);
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
	fprintf(stderr, "usage: %s [-c] [-n] [-f] [-w] CLUSTER@QUEUE\n", argv[0]);
	return 2;
}
