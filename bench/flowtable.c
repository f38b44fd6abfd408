// SPDX-License-Identifier: BSD-2-Clause
/*
 * Cost of the flow table per packet: rf_place_packet() (lookup, count,
 * place) with N active flows, against the stateless pick (rf_queue_pick) in
 * the same run. Prints ns/packet for both and the difference.
 *
 *   flowtable FLOWS PACKETS   (e.g. 10000 20000000; 1000000 20000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flow.h"
#include "flowtable.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A flow's hash: a fixed permutation of its number (what the mode's hash gives). */
static inline uint32_t flow_hash(uint32_t i)
{
	return rf_hash_reseed(i + 1, 0x9e3779b9u);
}

int main(int argc, char **argv)
{
	uint32_t flows = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
	uint64_t pkts = argc > 2 ? strtoull(argv[2], NULL, 10) : 20000000;
	struct rf_place_opts o = {.sz = sizeof(o), .queues = 4};
	enum rf_place_why why;
	struct rf_place *p;
	uint64_t i, t0, t1, t2, sum = 0, x = 88172645463325252ull;

	o.table.sz = sizeof(o.table);
	o.table.entries = flows * 2; /* half full */
	if (!flows || rf_place_new(&o, &p)) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	for (i = 0; i < flows; i++) /* every flow active before timing */
		rf_place_packet(p, flow_hash((uint32_t)i), 1, 64, 0, &why);
	t0 = now_ns();
	for (i = 0; i < pkts; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sum += rf_queue_pick(flow_hash((uint32_t)(x % flows)), 4);
	}
	t1 = now_ns();
	for (i = 0; i < pkts; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sum += rf_place_packet(p, flow_hash((uint32_t)(x % flows)), 2 + i / 1024, 64, 0,
				       &why);
	}
	t2 = now_ns();
	printf("flows %u: stateless %.2f ns/packet, table %.2f ns/packet, table costs %.2f "
	       "ns/packet (checksum %llu)\n",
	       flows, (double)(t1 - t0) / (double)pkts, (double)(t2 - t1) / (double)pkts,
	       (double)((t2 - t1) - (t1 - t0)) / (double)pkts, (unsigned long long)(sum & 0xff));
	rf_place_free(p);
	return 0;
}
