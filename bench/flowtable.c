// SPDX-License-Identifier: BSD-2-Clause
/*
 * Cost of the flow table per packet with N active flows, in one run:
 *   single  rf_place_packet() per packet (lookup, count, place)
 *   burst   rf_place_burst() on bursts of 32 (buckets prefetched first)
 *   chunk   the balancer's way: a chunk of 32's buckets prefetched
 *           (rf_ft_prefetch_bulk()), then rf_place_packet() per packet
 * each against the stateless pick (rf_queue_pick) of the same packets, so
 * that what remains is the table's cost. Prints ns/packet of each.
 *
 *   flowtable FLOWS PACKETS   (e.g. 10000 20000000; 1000000 20000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flow.h"
#include "flowtable.h"

#define BURST 32

/*
 * The thread's CPU time: on a machine shared with other work, the time this
 * thread ran, without the time it waited for a core (which wall-clock time
 * adds to whichever loop was running).
 */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A flow's hash: a fixed permutation of its number (what the mode's hash gives). */
static inline uint32_t flow_hash(uint32_t i)
{
	return rf_hash_reseed(i + 1, 0x9e3779b9u);
}

/* The next burst of packets of random flows (the same work in every loop). */
static inline void next_burst(uint64_t *x, uint32_t flows, uint32_t *hashes)
{
	unsigned int j;

	for (j = 0; j < BURST; j++) {
		*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
		hashes[j] = flow_hash((uint32_t)(*x % flows));
	}
}

int main(int argc, char **argv)
{
	uint32_t flows = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
	uint64_t pkts = argc > 2 ? strtoull(argv[2], NULL, 10) : 20000000;
	struct rf_place_opts o = {.sz = sizeof(o), .queues = 4};
	uint32_t hashes[BURST], wirelens[BURST], queues[BURST];
	enum rf_place_why why, whys[BURST];
	uint8_t flags[BURST] = {0};
	uint64_t ts[BURST];
	struct rf_place *p;
	uint64_t i, t[5], sum = 0, x = 88172645463325252ull;
	unsigned int j;

	o.table.sz = sizeof(o.table);
	o.table.entries = flows * 2; /* half full */
	pkts -= pkts % BURST;
	if (!flows || !pkts || rf_place_new(&o, &p)) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	for (i = 0; i < flows; i++) /* every flow active before timing */
		rf_place_packet(p, flow_hash((uint32_t)i), 1, 64, 0, &why);
	for (j = 0; j < BURST; j++)
		wirelens[j] = 64;
	t[0] = now_ns();
	for (i = 0; i < pkts; i += BURST) {
		next_burst(&x, flows, hashes);
		for (j = 0; j < BURST; j++)
			sum += rf_queue_pick(hashes[j], 4);
	}
	t[1] = now_ns();
	for (i = 0; i < pkts; i += BURST) {
		next_burst(&x, flows, hashes);
		for (j = 0; j < BURST; j++)
			sum += rf_place_packet(p, hashes[j], 2 + i / 1024, 64, 0, &why);
	}
	t[2] = now_ns();
	for (i = 0; i < pkts; i += BURST) {
		next_burst(&x, flows, hashes);
		for (j = 0; j < BURST; j++)
			ts[j] = 2 + i / 1024;
		rf_place_burst(p, BURST, hashes, ts, wirelens, flags, queues, whys);
		for (j = 0; j < BURST; j++)
			sum += queues[j];
	}
	t[3] = now_ns();
	for (i = 0; i < pkts; i += BURST) {
		next_burst(&x, flows, hashes);
		rf_ft_prefetch_bulk(rf_place_table(p), hashes, BURST);
		for (j = 0; j < BURST; j++)
			sum += rf_place_packet(p, hashes[j], 2 + i / 1024, 64, 0, &why);
	}
	t[4] = now_ns();
	printf("flows %u: stateless %.2f ns/packet; table costs: single %.2f, burst %.2f "
	       "ns/packet, "
	       "chunk %.2f (checksum %llu)\n",
	       flows, (double)(t[1] - t[0]) / (double)pkts,
	       (double)((t[2] - t[1]) - (t[1] - t[0])) / (double)pkts,
	       (double)((t[3] - t[2]) - (t[1] - t[0])) / (double)pkts,
	       (double)((t[4] - t[3]) - (t[1] - t[0])) / (double)pkts,
	       (unsigned long long)(sum & 0xff));
	rf_place_free(p);
	return 0;
}
