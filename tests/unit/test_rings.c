/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A queue served by several producer rings (one per capture thread of the
 * balancer), merged by the consumer: one ring keeps the layout of a queue
 * that knows nothing of several; each ring's order is kept under
 * concurrent producers; a sleeping consumer wakes for any ring; producers
 * gone and back, the end of a run, a change of the number of rings between
 * runs; counters summed in stats, info and query; shunt requests reach
 * every ring; remove takes every ring's files.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ringfan/ringfan.h>

#include "../../lib/internal.h"

#include "queue_helpers.h"

#define RING_SIZE (64u << 10)
#define PER_RING  20000u

/* Ring `index` of `rings` for queue Q. */
static int ring_open_p(uint32_t rings, uint32_t index, unsigned int flags, struct rf_producer **ret)
{
	struct rf_producer_opts o = {.sz = sizeof(o),
				     .dir = dir,
				     .ring_size = RING_SIZE,
				     .owner = (uid_t)-1,
				     .group = (gid_t)-1,
				     .flags = flags,
				     .rings = rings,
				     .ring_index = index};

	return rf_producer_create(Q, &o, ret);
}

/* All rings of a queue, ring 0 last (consumers learn the number from it). */
static void rings_open(struct rf_producer **p, uint32_t k, unsigned int flags)
{
	uint32_t i;

	for (i = k; i-- > 0;)
		assert_int_equal(ring_open_p(k, i, flags, &p[i]), 0);
}

static void rings_close(struct rf_producer **p, uint32_t k)
{
	uint32_t i;

	for (i = 0; i < k; i++)
		rf_producer_destroy(p[i]);
}

/* Packet seq of ring r: seq in the low 24 bits, the ring above. */
static int put_ring(struct rf_producer *p, uint32_t r, uint32_t seq)
{
	uint8_t buf[64];
	struct rf_packet pkt;

	make_pkt(&pkt, buf, r << 24 | seq, 40);
	return rf_producer_enqueue(p, &pkt);
}

/* Receive until n packets came (or timeout); per ring, the sequence must run on. */
static void expect_merged(struct rf_consumer *c, uint32_t k, const uint32_t *from,
			  const uint32_t *to)
{
	uint32_t next[RF_MAX_RINGS], want = 0, got = 0, i, r, seq;
	struct rf_packet pkts[64];
	int n, j;

	for (i = 0; i < k; i++) {
		next[i] = from[i];
		want += to[i] - from[i];
	}
	while (got < want) {
		n = rf_consumer_recv(c, pkts, 64, 2000);
		assert_true(n > 0);
		for (j = 0; j < n; j++) {
			r = pkts[j].hash >> 24;
			seq = pkts[j].hash & 0xffffff;
			assert_true(r < k);
			assert_int_equal(seq, next[r]);
			check_pkt(&pkts[j], pkts[j].hash, 40);
			next[r]++;
		}
		got += (uint32_t)n;
		rf_consumer_release(c);
	}
	for (i = 0; i < k; i++)
		assert_int_equal(next[i], to[i]);
}

/* ------------------------------------------------------------------ */

/* One ring, asked for or not: the files and header of a queue of old. */
static void test_one_ring_layout(void **state)
{
	struct rf_producer *p;
	struct rf_ring_hdr *h;
	char path[256];
	size_t len;

	(void)state;
	assert_int_equal(ring_open_p(1, 0, 0, &p), 0);
	h = map_file(Q, "ring", &len);
	assert_int_equal(h->features, RF_FEAT_LINKTYPE | RF_FEAT_RUN_INFO);
	assert_int_equal(h->rings, 0);
	assert_int_equal(h->ring_index, 0);
	munmap(h, len);
	queue_path(path, sizeof(path), Q, "p1.ring");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(query_of(Q).rings, 1);
	rf_producer_destroy(p);
	/* Bad numbers. */
	assert_int_equal(ring_open_p(2, 2, 0, &p), -EINVAL);
	assert_int_equal(ring_open_p(RF_MAX_RINGS + 1, 0, 0, &p), -EINVAL);
	assert_int_equal(ring_open_p(0, 1, 0, &p), -EINVAL);
}

struct writer {
	struct rf_producer *p;
	uint32_t ring, n;
};

/* A producer thread: n packets in bursts of 1..16, waiting for room (lossless). */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint32_t seq = 0, b, burst;

	while (seq < w->n) {
		burst = 1 + (seq * 7 + w->ring) % 16;
		for (b = 0; b < burst && seq < w->n; b++) {
			while (rf_producer_wait_space(w->p, 40, 1000) != 0)
				;
			if (put_ring(w->p, w->ring, seq) != 0)
				abort();
			seq++;
		}
		rf_producer_publish(w->p);
	}
	return NULL;
}

/* Three producers at once into small rings: every packet, each ring in its order. */
static void test_merge_concurrent(void **state)
{
	struct rf_producer *p[3];
	struct writer w[3];
	pthread_t t[3];
	uint32_t from[3] = {0, 0, 0}, to[3] = {PER_RING, PER_RING, PER_RING}, i;
	struct rf_consumer *c;
	struct rf_queue_info qi;
	struct rf_consumer_stats st;

	(void)state;
	rings_open(p, 3, 0);
	c = consumer(Q, 0);
	for (i = 0; i < 3; i++) {
		w[i] = (struct writer){.p = p[i], .ring = i, .n = PER_RING};
		assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	expect_merged(c, 3, from, to);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	st = stats_of(c);
	assert_int_equal(st.received, 3 * PER_RING);
	assert_int_equal(st.received_bytes, 3ull * PER_RING * 40);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.backlog_bytes, 0);
	assert_int_equal(rf_consumer_info(c, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.rings, 3);
	assert_int_equal(qi.enqueued, 3 * PER_RING);
	assert_int_equal(qi.consumer_read, 3 * PER_RING);
	qi = query_of(Q);
	assert_int_equal(qi.rings, 3);
	assert_int_equal(qi.enqueued, 3 * PER_RING);
	assert_int_equal(qi.consumer_read, 3 * PER_RING);
	assert_int_equal(qi.backlog_packets, 0);
	assert_int_equal(qi.consumer_pid, getpid());
	assert_int_equal(qi.producer_pid, getpid());
	/* Drops on any ring are the queue's drops. */
	for (i = 0; i < RING_SIZE / 48; i++)
		put_ring(p[2], 2, i);
	rf_producer_publish(p[2]);
	assert_true(stats_of(c).dropped > 0);
	assert_int_equal(stats_of(c).dropped, query_of(Q).dropped_full);
	rf_consumer_close(c);
	rings_close(p, 3);
}

/* Every ring is looked at in turn: a full ring does not starve another. */
static void test_merge_fair(void **state)
{
	struct rf_producer *p[2];
	struct rf_consumer *c;
	struct rf_packet pkts[4];
	uint32_t i;
	int n;

	(void)state;
	rings_open(p, 2, 0);
	c = consumer(Q, 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(put_ring(p[0], 0, i), 0);
	rf_producer_publish(p[0]);
	assert_int_equal(put_ring(p[1], 1, 0), 0);
	rf_producer_publish(p[1]);
	n = rf_consumer_recv(c, pkts, 4, 0);
	assert_int_equal(n, 4);
	assert_int_equal(pkts[0].hash >> 24, 0);
	n = rf_consumer_recv(c, pkts, 4, 0);
	assert_int_equal(n, 1);
	assert_int_equal(pkts[0].hash, 1u << 24);
	rf_consumer_release(c);
	rf_consumer_close(c);
	rings_close(p, 2);
}

struct later {
	struct rf_producer *p;
	uint32_t ring;
};

static void *put_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = {.tv_nsec = 50 * 1000 * 1000};

	nanosleep(&ts, NULL);
	put_ring(l->p, l->ring, 0);
	rf_producer_publish(l->p);
	return NULL;
}

/* A consumer asleep (recv, then wait) wakes when any ring publishes, not at its timeout. */
static void test_merge_wakeup(void **state)
{
	struct rf_producer *p[3];
	struct rf_consumer *c;
	struct rf_packet pkt;
	struct later l;
	pthread_t t;
	uint64_t t0;
	uint32_t r;

	(void)state;
	rings_open(p, 3, 0);
	c = consumer(Q, RF_CONSUMER_NO_SPIN);
	for (r = 0; r < 3; r++) {
		l = (struct later){.p = p[2 - r], .ring = 2 - r};
		assert_int_equal(pthread_create(&t, NULL, put_later, &l), 0);
		t0 = now_ns();
		if (r == 1) {
			/* rf_consumer_wait() the same way. */
			assert_int_equal(rf_consumer_wait(c, 5000), 1);
			assert_true(now_ns() - t0 < 2000000000ull);
		}
		assert_int_equal(rf_consumer_recv(c, &pkt, 1, 5000), 1);
		assert_true(now_ns() - t0 < 2000000000ull);
		assert_int_equal(pkt.hash, (2 - r) << 24);
		rf_consumer_release(c);
		pthread_join(t, NULL);
	}
	rf_consumer_close(c);
	rings_close(p, 3);
}

/* The end of a run: said once every ring is finished and read; not before. */
static void test_merge_finished(void **state)
{
	struct rf_producer *p[2];
	struct rf_consumer *c;
	struct rf_packet pkts[8];
	uint32_t from[2] = {0, 0}, to[2] = {3, 2};

	(void)state;
	rings_open(p, 2, 0);
	c = consumer(Q, 0);
	put_ring(p[0], 0, 0);
	put_ring(p[0], 0, 1);
	put_ring(p[0], 0, 2);
	rf_producer_finish(p[0]);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 3);
	rf_consumer_release(c);
	/* Ring 1 is not finished: no end yet. */
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 50), 0);
	put_ring(p[1], 1, 0);
	put_ring(p[1], 1, 1);
	rf_producer_finish(p[1]);
	from[0] = 3;
	expect_merged(c, 2, from, to);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 1000), -ENODATA);
	/* Said once: then the next run is waited for. */
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 30), 0);
	assert_int_equal(query_of(Q).finished, 1);
	rf_consumer_close(c);
	rings_close(p, 2);
}

/* Producers gone: -EPIPE once all are gone and read; back (resumed): packets go on. */
static void test_merge_gone_and_back(void **state)
{
	struct rf_producer *p[2];
	struct rf_consumer *c;
	struct rf_packet pkts[8];
	uint32_t from[2] = {0, 0}, to[2] = {2, 1};
	uint64_t t0;

	(void)state;
	rings_open(p, 2, 0);
	c = consumer(Q, 0);
	put_ring(p[0], 0, 0);
	put_ring(p[0], 0, 1);
	put_ring(p[1], 1, 0);
	rings_close(p, 2);
	expect_merged(c, 2, from, to);
	t0 = now_ns();
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 2000), -EPIPE);
	assert_true(now_ns() - t0 < 1500000000ull);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 30), 0);
	rings_open(p, 2, 0);
	assert_int_equal(rf_producer_start_how(p[0]), RF_START_RESUMED);
	assert_int_equal(rf_producer_start_how(p[1]), RF_START_RESUMED);
	put_ring(p[1], 1, 1);
	rf_producer_publish(p[1]);
	put_ring(p[0], 0, 2);
	rf_producer_publish(p[0]);
	from[0] = 2;
	from[1] = 1;
	to[0] = 3;
	to[1] = 2;
	expect_merged(c, 2, from, to);
	assert_true(stats_of(c).producer_restarts >= 1);
	rf_consumer_close(c);
	rings_close(p, 2);
}

/* Two rings, then one, then three: the consumer follows every run, nothing lost. */
static void test_merge_rings_change(void **state)
{
	struct rf_producer *p[3];
	struct rf_consumer *c;
	struct rf_packet pkts[8];
	uint32_t from[3] = {0, 0, 0}, to[3] = {2, 2, 0};
	int n;

	(void)state;
	rings_open(p, 2, 0);
	c = consumer(Q, 0);
	put_ring(p[0], 0, 0);
	put_ring(p[0], 0, 1);
	put_ring(p[1], 1, 0);
	put_ring(p[1], 1, 1);
	rf_producer_finish(p[0]);
	rf_producer_finish(p[1]);
	rings_close(p, 2);
	/* The next run (one ring) starts before the consumer read the first. */
	assert_int_equal(ring_open_p(1, 0, 0, &p[0]), 0);
	assert_int_equal(rf_producer_start_how(p[0]), RF_START_NEW_CHANGED);
	put_ring(p[0], 0, 100);
	rf_producer_finish(p[0]);
	rf_producer_destroy(p[0]);
	expect_merged(c, 2, from, to);
	n = rf_consumer_recv(c, pkts, 8, 1000);
	assert_int_equal(n, 1);
	assert_int_equal(pkts[0].hash, 100);
	assert_true(pkts[0].flags & RF_PKT_NEW_GENERATION);
	rf_consumer_release(c);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 1000), -ENODATA);
	/* Three rings. */
	rings_open(p, 3, 0);
	assert_int_equal(rf_producer_start_how(p[0]), RF_START_NEW_CHANGED);
	put_ring(p[2], 2, 0);
	rf_producer_publish(p[2]);
	put_ring(p[0], 0, 0);
	rf_producer_publish(p[0]);
	from[0] = from[1] = from[2] = 0;
	to[0] = 1;
	to[1] = 0;
	to[2] = 1;
	expect_merged(c, 3, from, to);
	assert_int_equal(query_of(Q).rings, 3);
	rf_consumer_close(c);
	rings_close(p, 3);
}

/* A shunt request reaches every ring's producer (only the balancer knows which holds the flow). */
static void test_merge_shunt(void **state)
{
	struct rf_producer *p[2];
	struct rf_consumer *c;
	struct rf_shunt_request req[4];
	uint32_t i;

	(void)state;
	rings_open(p, 2, 0);
	c = consumer(Q, 0);
	assert_int_equal(rf_consumer_shunt(c, 0xabcd, 7), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(rf_producer_shunt_requests(p[i], req, 4, NULL), 1);
		assert_int_equal(req[0].hash, 0xabcd);
		assert_int_equal(req[0].seconds, 7);
	}
	rf_consumer_close(c);
	rings_close(p, 2);
}

/* Remove takes every ring's files; remove_idle touches none while one is busy. */
static void test_remove_rings(void **state)
{
	struct rf_producer *p[3];
	char path[256];

	(void)state;
	rings_open(p, 3, 0);
	rf_producer_destroy(p[0]);
	rf_producer_destroy(p[2]);
	assert_int_equal(rf_queue_remove_idle(Q, dir), -EBUSY);
	queue_path(path, sizeof(path), Q, "ring");
	assert_int_equal(access(path, F_OK), 0);
	rf_producer_destroy(p[1]);
	assert_int_equal(rf_queue_remove_idle(Q, dir), 0);
	assert_int_equal(access(path, F_OK), -1);
	queue_path(path, sizeof(path), Q, "p2.cons");
	assert_int_equal(access(path, F_OK), -1);
	queue_path(path, sizeof(path), Q, "p1.ring");
	assert_int_equal(access(path, F_OK), -1);
	/* A run with fewer rings removes the others' files, and only those. */
	rings_open(p, 3, 0);
	rings_close(p, 3);
	assert_int_equal(rf_queue_remove_rings(Q, dir, 0), -EINVAL);
	assert_int_equal(rf_queue_remove_rings(Q, dir, 2), 1);
	queue_path(path, sizeof(path), Q, "p2.ring");
	assert_int_equal(access(path, F_OK), -1);
	queue_path(path, sizeof(path), Q, "p1.cons");
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(rf_queue_remove_rings(Q, dir, 1), 1);
	assert_int_equal(rf_queue_remove_rings(Q, dir, 1), 0);
	queue_path(path, sizeof(path), Q, "ring");
	assert_int_equal(access(path, F_OK), 0);
}

/* A ring file that claims another index than its name is not taken. */
static void test_ring_index_checked(void **state)
{
	struct rf_producer *p[2];
	struct rf_consumer *c;
	struct rf_ring_hdr *h;
	size_t len;

	(void)state;
	rings_open(p, 2, 0);
	rings_close(p, 2);
	h = map_file(Q, "p1.ring", &len);
	h->ring_index = 0;
	munmap(h, len);
	assert_int_equal(consumer_open(Q, 0, &c), -EPROTO);
	/* A producer starts a new generation over it. */
	rings_open(p, 2, 0);
	assert_int_equal(rf_producer_start_how(p[1]), RF_START_NEW_DAMAGED);
	c = consumer(Q, 0);
	rf_consumer_close(c);
	rings_close(p, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_ring_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_fair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_gone_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_rings_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_shunt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_index_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
