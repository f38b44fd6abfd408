/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flow table (flowtable.h): a flow keeps its entry and queue, idle and
 * TCP-close expiry, eviction and fallback under pressure with their
 * counters, shunting by packets and bytes, and a table that never grows;
 * failover of a placement: a failed-over queue keeps its flows (or, with
 * failover_move, they move once, counted, and stay where they went) and gets
 * no new flow until it is back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flowtable.h"

#define SEC 1000000000ull

static struct rf_ft *table(uint32_t entries, uint64_t packets, uint64_t bytes)
{
	struct rf_ft_opts o = {.sz = sizeof(o), .entries = entries};
	struct rf_ft *t = NULL;
	int p;

	for (p = 0; p < RF_FT_PROTOS; p++) {
		o.shunt_packets[p] = packets;
		o.shunt_bytes[p] = bytes;
	}

	assert_int_equal(rf_ft_new(&o, &t), 0);
	return t;
}

static struct rf_ft_stats stats(const struct rf_ft *t)
{
	struct rf_ft_stats s;

	rf_ft_get_stats(t, &s);
	return s;
}

static void test_new_and_found(void **state)
{
	struct rf_ft *t = table(1024, 0, 0);
	struct rf_ft_entry *e;
	struct rf_ft_stats s;

	(void)state;
	assert_int_equal(rf_ft_lookup(t, 0x12345678, SEC, 100, 0, &e), RF_FT_NEW);
	e->queue = 3;
	assert_int_equal(rf_ft_lookup(t, 0x12345678, 2 * SEC, 100, 0, &e), RF_FT_FOUND);
	assert_int_equal(e->queue, 3);
	assert_int_equal(e->packets, 2);
	assert_int_equal(e->bytes, 200);
	/* hash 0 is a flow like any other (not an empty slot) */
	assert_int_equal(rf_ft_lookup(t, 0, 2 * SEC, 60, 0, &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 0, 2 * SEC, 60, 0, &e), RF_FT_FOUND);
	s = stats(t);
	assert_int_equal(s.created, 2);
	assert_int_equal(s.active, 2);
	assert_int_equal(s.entries, 1024);
	assert_non_null(rf_ft_peek(t, 0x12345678));
	assert_null(rf_ft_peek(t, 0x12345679));
	rf_ft_free(t);
}

static void test_bad_size(void **state)
{
	struct rf_ft_opts o = {.sz = sizeof(o)};
	struct rf_ft *t = NULL;

	(void)state;
	assert_int_equal(rf_ft_new(&o, &t), -EINVAL);
	o.entries = RF_FT_MAX_ENTRIES + 1;
	assert_int_equal(rf_ft_new(&o, &t), -EINVAL);
	o.entries = 5; /* rounded up */
	assert_int_equal(rf_ft_new(&o, &t), 0);
	assert_int_equal(stats(t).entries, 8);
	rf_ft_free(t);
	rf_ft_free(NULL);
}

static void test_idle_expiry(void **state)
{
	struct rf_ft *t = table(64, 0, 0);
	struct rf_ft_entry *e;

	(void)state;
	assert_int_equal(rf_ft_lookup(t, 7, SEC, 100, 0, &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 7, SEC + RF_FT_DEFAULT_IDLE_NS - 1, 100, 0, &e),
			 RF_FT_FOUND);
	/* unseen for the idle time: a new flow */
	assert_int_equal(rf_ft_lookup(t, 7, 2 * SEC + 2 * RF_FT_DEFAULT_IDLE_NS, 100, 0, &e),
			 RF_FT_NEW);
	assert_int_equal(stats(t).expired, 1);
	assert_int_equal(stats(t).active, 1);
	/* the sweep removes what no packet visits */
	rf_ft_sweep(t, 10 * RF_FT_DEFAULT_IDLE_NS, 16);
	assert_int_equal(stats(t).expired, 2);
	assert_int_equal(stats(t).active, 0);
	rf_ft_free(t);
}

static void test_tcp_close(void **state)
{
	struct rf_ft *t = table(64, 0, 0);
	struct rf_ft_entry *e;

	(void)state;
	assert_int_equal(rf_ft_lookup(t, 9, SEC, 60, RF_FT_TCP_SYN, &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 9, SEC, 60, RF_FT_TCP_FIN | RF_FT_TCP_ACK, &e),
			 RF_FT_FOUND);
	/* its last packets are still the flow's */
	assert_int_equal(rf_ft_lookup(t, 9, SEC + 1000, 60, RF_FT_TCP_ACK, &e), RF_FT_FOUND);
	/* gone after close_ns, long before the idle time */
	assert_int_equal(rf_ft_lookup(t, 9, SEC + 1000 + RF_FT_DEFAULT_CLOSE_NS, 60, 0, &e),
			 RF_FT_NEW);
	assert_int_equal(stats(t).expired, 1);
	/* RST, then the ports reused by a new connection at once: a new flow, same queue */
	e->queue = 2;
	assert_int_equal(rf_ft_lookup(t, 9, 10 * SEC, 60, RF_FT_TCP_RST, &e), RF_FT_FOUND);
	assert_int_equal(rf_ft_lookup(t, 9, 10 * SEC, 60, RF_FT_TCP_SYN, &e), RF_FT_FOUND);
	assert_int_equal(e->queue, 2);
	assert_int_equal(e->packets, 1);
	assert_int_equal(stats(t).expired, 2);
	assert_int_equal(stats(t).created, 3);
	rf_ft_free(t);
}

/* Hashes that land in the same bucket of a 4-bucket table. */
static uint32_t same_bucket(unsigned int i)
{
	return 1u + (i << 8);
}

static void test_pressure(void **state)
{
	struct rf_ft *t = table(16, 0, 0); /* 4 buckets of 4 */
	struct rf_ft_entry *e;
	struct rf_ft_stats s;
	unsigned int i;

	(void)state;
	for (i = 0; i < RF_FT_WAYS; i++) {
		assert_int_equal(rf_ft_lookup(t, same_bucket(i), SEC + i, 60, 0, &e), RF_FT_NEW);
		e->queue = (uint16_t)i;
	}
	/* all four live: the fifth is not recorded, nothing moves */
	assert_int_equal(rf_ft_lookup(t, same_bucket(4), SEC + 10, 60, 0, &e), RF_FT_FALLBACK);
	assert_null(e);
	for (i = 0; i < RF_FT_WAYS; i++) {
		assert_int_equal(rf_ft_lookup(t, same_bucket(i), SEC + 20, 60, 0, &e), RF_FT_FOUND);
		assert_int_equal(e->queue, i);
	}
	/* flow 0 idle past RF_FT_EVICT_IDLE_NS (the others seen): it makes room, counted */
	for (i = 1; i < RF_FT_WAYS; i++)
		rf_ft_lookup(t, same_bucket(i), 2 * SEC + 100, 60, 0, &e);
	assert_int_equal(rf_ft_lookup(t, same_bucket(4), 2 * SEC + 100, 60, 0, &e), RF_FT_NEW);
	s = stats(t);
	assert_int_equal(s.evicted, 1);
	assert_int_equal(s.fallback, 1);
	assert_int_equal(s.active, RF_FT_WAYS);
	assert_int_equal(s.created, RF_FT_WAYS + 1);
	assert_null(rf_ft_peek(t, same_bucket(0)));
	rf_ft_free(t);
}

static void test_shunt_packets(void **state)
{
	struct rf_ft *t = table(64, 3, 0);
	struct rf_ft_entry *e;
	unsigned int i;

	(void)state;
	assert_int_equal(rf_ft_lookup(t, 5, SEC, 1500, 0, &e), RF_FT_NEW);
	e->queue = 1;
	assert_int_equal(rf_ft_lookup(t, 5, SEC, 1500, 0, &e), RF_FT_FOUND);
	assert_int_equal(rf_ft_lookup(t, 5, SEC, 1500, 0, &e), RF_FT_FOUND);
	for (i = 0; i < 5; i++) {
		assert_int_equal(rf_ft_lookup(t, 5, SEC, 1500, 0, &e), RF_FT_SHUNT);
		assert_int_equal(e->queue, 1);
	}
	/* another flow is not affected */
	assert_int_equal(rf_ft_lookup(t, 6, SEC, 1500, 0, &e), RF_FT_NEW);
	assert_int_equal(stats(t).shunted, 5);
	assert_int_equal(stats(t).shunted_flows, 1);
	rf_ft_free(t);
}

static void test_shunt_bytes(void **state)
{
	struct rf_ft *t = table(64, 0, 1000);
	struct rf_ft_entry *e;

	(void)state;
	/* delivered until 1000 bytes went: 600, 600 (crosses), then shunted */
	assert_int_equal(rf_ft_lookup(t, 5, SEC, 600, 0, &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 5, SEC, 600, 0, &e), RF_FT_FOUND);
	assert_int_equal(rf_ft_lookup(t, 5, SEC, 60, 0, &e), RF_FT_SHUNT);
	/* a new flow on the same key after it expired starts again */
	assert_int_equal(rf_ft_lookup(t, 5, SEC + 2 * RF_FT_DEFAULT_IDLE_NS, 600, 0, &e),
			 RF_FT_NEW);
	assert_int_equal(stats(t).shunted, 1);
	rf_ft_free(t);
}

/* Cut-offs per protocol class: a flow's class is its first packet's ("other" if unknown). */
static void test_shunt_per_proto(void **state)
{
	struct rf_ft_opts o = {.sz = sizeof(o),
			       .entries = 64,
			       .shunt_packets = {[RF_FT_PROTO_TCP] = 2, [RF_FT_PROTO_OTHER] = 1}};
	const uint8_t tcp = RF_FT_L4(RF_FT_PROTO_TCP), udp = RF_FT_L4(RF_FT_PROTO_UDP);
	struct rf_ft *t = NULL;
	struct rf_ft_entry *e;
	unsigned int i;

	(void)state;
	assert_int_equal(rf_ft_new(&o, &t), 0);
	/* TCP: 2 packets, a held fragment (l4 0) of it counts as TCP */
	assert_int_equal(rf_ft_lookup(t, 1, SEC, 60, tcp | RF_FT_TCP_SYN, &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 1, SEC, 60, 0, &e), RF_FT_FOUND);
	assert_int_equal(rf_ft_lookup(t, 1, SEC, 60, tcp, &e), RF_FT_SHUNT);
	/* UDP: not shunted, whatever its later packets say */
	assert_int_equal(rf_ft_lookup(t, 2, SEC, 60, udp, &e), RF_FT_NEW);
	for (i = 0; i < 10; i++)
		assert_int_equal(rf_ft_lookup(t, 2, SEC, 60, i & 1 ? tcp : udp, &e), RF_FT_FOUND);
	/* other, and unknown first packets: 1 */
	assert_int_equal(rf_ft_lookup(t, 3, SEC, 60, RF_FT_L4(RF_FT_PROTO_OTHER), &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 3, SEC, 60, 0, &e), RF_FT_SHUNT);
	assert_int_equal(rf_ft_lookup(t, 4, SEC, 60, 0, &e), RF_FT_NEW);
	assert_int_equal(rf_ft_lookup(t, 4, SEC, 60, tcp, &e), RF_FT_SHUNT);
	assert_int_equal(stats(t).shunted_flows, 3);
	assert_string_equal(rf_ft_proto_name(RF_FT_PROTO_UDP), "udp");
	assert_int_equal(rf_ft_proto_parse("other=1", 5), RF_FT_PROTO_OTHER);
	assert_int_equal(rf_ft_proto_parse("tc", 2), -EINVAL);
	rf_ft_free(t);
}

static void test_shunt_request(void **state)
{
	struct rf_ft *t = table(64, 0, 0);
	struct rf_ft_entry *e;

	(void)state;
	assert_int_equal(rf_ft_lookup(t, 5, 10 * SEC, 60, 0, &e), RF_FT_NEW);
	e->queue = 1;
	/* only for the queue the flow goes to, and only a known flow */
	assert_int_equal(rf_ft_shunt(t, 5, 2, 0), -EPERM);
	assert_int_equal(rf_ft_shunt(t, 6, 1, 0), -ENOENT);
	assert_int_equal(rf_ft_lookup(t, 5, 10 * SEC, 60, 0, &e), RF_FT_FOUND);
	assert_int_equal(rf_ft_shunt(t, 5, 1, 3), 0);
	assert_int_equal(rf_ft_lookup(t, 5, 11 * SEC, 60, 0, &e), RF_FT_SHUNT);
	/* for 3 seconds: delivered again after */
	assert_int_equal(rf_ft_lookup(t, 5, 14 * SEC, 60, 0, &e), RF_FT_FOUND);
	assert_int_equal(rf_ft_shunt(t, 5, 1, 0), 0); /* the flow's life */
	assert_int_equal(rf_ft_lookup(t, 5, 50 * SEC, 60, 0, &e), RF_FT_SHUNT);
	assert_int_equal(stats(t).shunted_flows, 1);
	rf_ft_free(t);
}

/* Many more flows than entries: bounded, and every packet is accounted for. */
static void test_many_flows(void **state)
{
	struct rf_ft *t = table(1024, 0, 0);
	struct rf_ft_entry *e;
	struct rf_ft_stats s;
	uint64_t new = 0, found = 0, fallback = 0;
	uint32_t i, h = 1;

	(void)state;
	for (i = 0; i < 200000; i++) {
		h = h * 1664525u + 1013904223u;
		switch (rf_ft_lookup(t, h % 5000, (uint64_t)i * 100000, 60, 0, &e)) {
		case RF_FT_NEW:
			new ++;
			break;
		case RF_FT_FOUND:
			found++;
			break;
		default:
			fallback++;
		}
	}
	s = stats(t);
	assert_int_equal(new + found + fallback, 200000);
	assert_int_equal(s.created, new);
	assert_int_equal(s.fallback, fallback);
	assert_true(s.active <= 1024);
	assert_int_equal(s.active, s.created - s.expired - s.evicted);
	assert_true(s.evicted > 0);
	rf_ft_free(t);
}

#define FLOWS 400

static struct rf_place *place(enum rf_placement how, bool move)
{
	struct rf_place_opts o = {
		.sz = sizeof(o),
		.queues = 4,
		.table = {.sz = sizeof(o.table), .entries = 1 << 16},
		.placement = how,
		.failover_move = move,
	};
	struct rf_place *p = NULL;

	assert_int_equal(rf_place_new(&o, &p), 0);
	return p;
}

/* A flow hash per flow i, of generation gen (a new set of flows per gen). */
static uint32_t flow(unsigned int gen, unsigned int i)
{
	uint32_t h = (gen * FLOWS + i + 1) * 2654435761u;

	return h ^ (h >> 15);
}

static uint32_t pkt(struct rf_place *p, uint32_t hash, enum rf_place_why *why)
{
	return rf_place_packet(p, hash, SEC, 100, 0, why);
}

/* Queue 3 down: its flows stay, new flows go elsewhere; back: new flows again. */
static void test_failover_stay(void **state)
{
	struct rf_place *p = place(RF_PLACE_HASH, false);
	uint32_t q[FLOWS], i, n3 = 0, failover = 0, back = 0;
	enum rf_place_why why;

	(void)state;
	for (i = 0; i < FLOWS; i++) {
		q[i] = pkt(p, flow(0, i), &why);
		assert_int_equal(why, RF_WHY_HASH);
		n3 += q[i] == 3;
	}
	assert_true(n3 > 0);
	rf_place_set_down(p, 3, true);
	assert_true(rf_place_down(p, 3));
	for (i = 0; i < FLOWS; i++) {
		assert_int_equal(pkt(p, flow(0, i), &why), q[i]);
		assert_int_equal(why, RF_WHY_HASH);
		assert_int_not_equal(pkt(p, flow(1, i), &why), 3);
		failover += why == RF_WHY_FAILOVER;
	}
	assert_true(failover > 0);
	rf_place_set_down(p, 3, false);
	for (i = 0; i < FLOWS; i++)
		back += pkt(p, flow(2, i), &why) == 3;
	assert_true(back > 0);
	assert_int_equal(rf_place_moved(p), 0);
	rf_place_free(p);
}

/* With failover_move, queue 3's flows move once (counted) and stay where they went. */
static void test_failover_move(void **state)
{
	struct rf_place *p = place(RF_PLACE_HASH, true);
	uint32_t q[FLOWS], moved_to[FLOWS], i, n3 = 0;
	enum rf_place_why why;

	(void)state;
	for (i = 0; i < FLOWS; i++) {
		q[i] = pkt(p, flow(0, i), &why);
		n3 += q[i] == 3;
	}
	rf_place_set_down(p, 3, true);
	for (i = 0; i < FLOWS; i++) {
		moved_to[i] = pkt(p, flow(0, i), &why);
		if (q[i] == 3) {
			assert_int_not_equal(moved_to[i], 3);
			assert_int_equal(why, RF_WHY_MOVED);
		} else {
			assert_int_equal(moved_to[i], q[i]);
		}
	}
	assert_int_equal(rf_place_moved(p), n3);
	/* back: moved flows are not split again, and are not counted twice */
	rf_place_set_down(p, 3, false);
	for (i = 0; i < FLOWS; i++)
		assert_int_equal(pkt(p, flow(0, i), &why), moved_to[i]);
	assert_int_equal(rf_place_moved(p), n3);
	rf_place_free(p);
}

/* Every queue down: none is avoided (the traffic must go somewhere). */
static void test_failover_all_down(void **state)
{
	struct rf_place *p = place(RF_PLACE_LEAST_LOADED, false);
	uint32_t per[4] = {0}, i;
	enum rf_place_why why;

	(void)state;
	for (i = 0; i < 4; i++)
		rf_place_set_down(p, i, true);
	for (i = 0; i < FLOWS; i++)
		per[pkt(p, flow(0, i), &why)]++;
	for (i = 0; i < 4; i++)
		assert_int_equal(per[i], FLOWS / 4); /* least-loaded: one flow each in turn */
	/* least-loaded never picks a failed-over queue while another is live */
	rf_place_set_down(p, 0, false);
	for (i = 0; i < FLOWS; i++) {
		assert_int_equal(pkt(p, flow(1, i), &why), 0);
		assert_int_equal(why, RF_WHY_LEAST_LOADED);
	}
	rf_place_free(p);
}

/*
 * rf_place_burst() (buckets prefetched, then placed in order) against
 * rf_place_packet() one by one: the same queue and reason for every packet
 * and the same counters, through new flows, evictions, fallbacks, shunts
 * (shunt: the cut-off in packets; 0: none), TCP closes and reopens, a
 * failed-over queue, in bursts of 1 to 64 (more than a chunk of 32).
 */
static void burst_equals_single(enum rf_placement placement, uint32_t entries, bool failover_move,
				uint64_t shunt)
{
	static const uint32_t weights[4] = {3, 1, 0, 2};
	struct rf_place_opts o = {.sz = sizeof(o),
				  .queues = 4,
				  .placement = placement,
				  .weights = weights,
				  .failover_move = failover_move};
	struct rf_place *single = NULL, *bulk = NULL;
	uint32_t hashes[64], wirelens[64], queues[64], i, h = 7, n, done = 0;
	uint64_t ts[64], clock = 10 * SEC; /* packets 5 s old stay after 0 */
	uint8_t flags[64];
	enum rf_place_why whys[64], why;
	struct rf_ft_stats a, b;

	o.table = (struct rf_ft_opts){.sz = sizeof(o.table),
				      .entries = entries,
				      .idle_ns = 30 * SEC,
				      .shunt_packets = {shunt, shunt, shunt}};
	assert_int_equal(rf_place_new(&o, &single), 0);
	assert_int_equal(rf_place_new(&o, &bulk), 0);
	while (done < 100000) {
		h = h * 1664525u + 1013904223u;
		n = 1 + (h >> 8) % 64;
		for (i = 0; i < n; i++) {
			h = h * 1664525u + 1013904223u;
			hashes[i] = (h >> 4) % 3000; /* many flows per bucket: pressure */
			clock += (h >> 24) * 4000;   /* up to 1 ms a packet: flows come back */
			ts[i] = (h & 0x10) ? clock - 5 * SEC : clock; /* some from the past */
			wirelens[i] = 60 + (h >> 20) % 1400;
			flags[i] = RF_FT_L4(RF_FT_PROTO_TCP) |
				   (uint8_t)((h & 0x7) == 1   ? RF_FT_TCP_FIN
					     : (h & 0x7) == 2 ? RF_FT_TCP_SYN
					     : (h & 0x7) == 3 ? RF_FT_TCP_RST
							      : RF_FT_TCP_ACK);
		}
		if (done % 20000 < 64) { /* queue 1 fails over, comes back; a minute passes */
			clock += 60 * SEC;
			rf_place_set_down(single, 1, done % 40000 < 64);
			rf_place_set_down(bulk, 1, done % 40000 < 64);
		}
		rf_place_burst(bulk, n, hashes, ts, wirelens, flags, queues, whys);
		for (i = 0; i < n; i++) {
			assert_int_equal(rf_place_packet(single, hashes[i], ts[i], wirelens[i],
							 flags[i], &why),
					 queues[i]);
			assert_int_equal(why, whys[i]);
		}
		done += n;
	}
	assert_int_equal(rf_place_moved(single), rf_place_moved(bulk));
	if (entries) {
		rf_ft_get_stats(rf_place_table(single), &a);
		rf_ft_get_stats(rf_place_table(bulk), &b);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_true((a.shunted > 0) == (shunt > 0) && a.expired > 0 && a.created > 3000);
		if (entries < 3000) /* fewer slots than flows */
			assert_true(a.evicted > 0 && a.fallback > 0);
	}
	rf_place_free(single);
	rf_place_free(bulk);
}

static void test_burst_equals_single(void **state)
{
	(void)state;
	burst_equals_single(RF_PLACE_HASH, 1024, false, 4);
	burst_equals_single(RF_PLACE_WEIGHTED, 1024, true, 4);
	burst_equals_single(RF_PLACE_LEAST_LOADED, 1024, true, 4);
	burst_equals_single(RF_PLACE_HASH, 1u << 16, false, 4);
	burst_equals_single(RF_PLACE_WEIGHTED, 0, false, 4); /* no table: nothing to prefetch */
	/* no cut-offs: the short path's other form */
	burst_equals_single(RF_PLACE_HASH, 1024, false, 0);
	burst_equals_single(RF_PLACE_LEAST_LOADED, 1u << 16, true, 0);
}

/*
 * The placement's shortcut for packets of known flows against the table's
 * general lookup (rf_ft_lookup(), placed by the hash as the placement does):
 * the same queue, reason, entry and counters after every packet, one by one
 * and in bursts, through new flows, expiry, evictions, fallbacks, TCP closes
 * and reopens, shunting by the table's cut-offs (if any) and shunt requests
 * that end.
 */
static void known_flow_equals_lookup(const struct rf_ft_opts *table)
{
	struct rf_place_opts o = {.sz = sizeof(o), .queues = 4, .table = *table};
	struct rf_place *single = NULL, *bulk = NULL;
	struct rf_ft *ref = NULL;
	struct rf_ft_entry *e;
	const struct rf_ft_entry *a, *b, *c;
	uint32_t hashes[32], wirelens[32], queues[32], i, h = 11, n, done = 0, q;
	uint64_t ts[32], clock = 10 * SEC; /* above the "past" packets' 3 s */
	uint8_t flags[32];
	enum rf_place_why whys[32], why, want;
	struct rf_ft_stats sa, sb, sr;
	int v;

	assert_int_equal(rf_place_new(&o, &single), 0);
	assert_int_equal(rf_place_new(&o, &bulk), 0);
	assert_int_equal(rf_ft_new(&o.table, &ref), 0);
	while (done < 200000) {
		h = h * 1664525u + 1013904223u;
		n = 1 + (h >> 8) % 32;
		if (done / 20000 != (done + n) / 20000)
			clock += 40 * SEC; /* every flow expires */
		for (i = 0; i < n; i++) {
			h = h * 1664525u + 1013904223u;
			hashes[i] = rf_hash_reseed((h >> 4) % 300, 1); /* a few buckets full */
			clock += (h >> 29) * 1000000;
			ts[i] = (h & 0x30) == 0x30 ? clock - 3 * SEC : clock;
			wirelens[i] = 60 + (h >> 19) % 1400;
			flags[i] = RF_FT_L4((h >> 12) % RF_FT_PROTOS) |
				   (uint8_t)((h & 0xff) == 1   ? RF_FT_TCP_FIN
					     : (h & 0xff) == 2 ? RF_FT_TCP_SYN
					     : (h & 0xff) == 3 ? RF_FT_TCP_RST
							       : RF_FT_TCP_ACK);
		}
		rf_place_burst(bulk, n, hashes, ts, wirelens, flags, queues, whys);
		for (i = 0; i < n; i++) {
			q = rf_place_packet(single, hashes[i], ts[i], wirelens[i], flags[i], &why);
			v = rf_ft_lookup(ref, hashes[i], ts[i], wirelens[i], flags[i], &e);
			want = v == RF_FT_SHUNT	     ? RF_WHY_SHUNTED
			       : v == RF_FT_FALLBACK ? RF_WHY_FALLBACK
						     : RF_WHY_HASH;
			if (v == RF_FT_NEW) {
				e->queue = (uint16_t)rf_queue_pick(hashes[i], 4);
				e->why = RF_WHY_HASH;
			}
			assert_int_equal(q, e ? e->queue : rf_queue_pick(hashes[i], 4));
			assert_int_equal(why, want);
			assert_int_equal(queues[i], q);
			assert_int_equal(whys[i], want);
			a = rf_ft_peek(rf_place_table(single), hashes[i]);
			c = rf_ft_peek(ref, hashes[i]);
			assert_true((a == NULL) == (c == NULL));
			if (c)
				assert_memory_equal(a, c, sizeof(*c));
		}
		for (i = 0; i < n; i++) { /* the burst's flows, once it is all placed */
			b = rf_ft_peek(rf_place_table(bulk), hashes[i]);
			c = rf_ft_peek(ref, hashes[i]);
			assert_true((b == NULL) == (c == NULL));
			if (c)
				assert_memory_equal(b, c, sizeof(*c));
		}
		if ((h & 0x3f) == 5) { /* the flow of the last packet asks to be shunted */
			c = rf_ft_peek(ref, hashes[n - 1]);
			q = c ? c->queue : 0;
			v = rf_ft_shunt(ref, hashes[n - 1], (uint16_t)q, (h >> 20) % 4 * 20);
			assert_int_equal(rf_ft_shunt(rf_place_table(single), hashes[n - 1],
						     (uint16_t)q, (h >> 20) % 4 * 20),
					 v);
			assert_int_equal(rf_ft_shunt(rf_place_table(bulk), hashes[n - 1],
						     (uint16_t)q, (h >> 20) % 4 * 20),
					 v);
		}
		done += n;
	}
	rf_ft_get_stats(rf_place_table(single), &sa);
	rf_ft_get_stats(rf_place_table(bulk), &sb);
	rf_ft_get_stats(ref, &sr);
	assert_memory_equal(&sa, &sr, sizeof(sr));
	assert_memory_equal(&sb, &sr, sizeof(sr));
	/* every path was taken */
	assert_true(sr.shunted > 0 && sr.shunted_flows > 0 && sr.expired > 0 && sr.evicted > 0 &&
		    sr.fallback > 0);
	rf_place_free(single);
	rf_place_free(bulk);
	rf_ft_free(ref);
}

/* With shunt cut-offs (per protocol, by packets and bytes), and without (requests only). */
static void test_known_flow_equals_lookup(void **state)
{
	struct rf_ft_opts o = {.sz = sizeof(o),
			       .entries = 1024,
			       .idle_ns = 30 * SEC,
			       .shunt_packets = {0, 50, 100},
			       .shunt_bytes = {50000, 0, 0}};

	(void)state;
	known_flow_equals_lookup(&o);
	o = (struct rf_ft_opts){.sz = sizeof(o), .entries = 1024, .idle_ns = 30 * SEC};
	known_flow_equals_lookup(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_found),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_tcp_close),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_shunt_packets),
		cmocka_unit_test(test_shunt_bytes),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_shunt_request),
		cmocka_unit_test(test_shunt_per_proto),
		cmocka_unit_test(test_failover_stay),
		cmocka_unit_test(test_failover_move),
		cmocka_unit_test(test_failover_all_down),
		cmocka_unit_test(test_burst_equals_single),
		cmocka_unit_test(test_known_flow_equals_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
