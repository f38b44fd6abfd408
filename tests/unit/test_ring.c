/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libringfan queues in one process, on small rings in a temporary
 * directory: round trips, wrap-around, full and too-big packets, resume,
 * finish, one consumer at a time, hostile cursors, garbage rings, producer
 * restart, file modes, and the read-only mapping of packet data.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ringfan/ringfan.h>

#include "../../lib/internal.h"

#include "queue_helpers.h"

/* ------------------------------------------------------------------ */

static void test_empty(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[4];
	struct rusage a, b;
	uint64_t t0;
	long cpu_us;

	(void)state;
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 0);
	getrusage(RUSAGE_SELF, &a);
	t0 = now_ns();
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 250), 0);
	assert_true(now_ns() - t0 >= 240000000ull);
	getrusage(RUSAGE_SELF, &b);
	/* Idle means asleep in the kernel, not spinning. */
	cpu_us = (b.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1000000L +
		 (b.ru_utime.tv_usec - a.ru_utime.tv_usec) +
		 (b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1000000L +
		 (b.ru_stime.tv_usec - a.ru_stime.tv_usec);
	assert_true(cpu_us < 50000);
	assert_int_equal(stats_of(c).received, 0);
	assert_int_equal(stats_of(c).backlog_bytes, 0);
	/* Publishing nothing changes nothing. */
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
	rf_consumer_close(NULL);
	rf_producer_destroy(NULL);
}

static void test_round_trip(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet in = {.data = payload,
			       .ts_ns = 1700000000123456789ull,
			       .caplen = 100,
			       .wirelen = 1514,
			       .ifindex = 7,
			       .hash = 0xdeadbeef};
	struct rf_packet out[2];
	struct rf_queue_info qi;

	(void)state;
	assert_int_equal(rf_producer_enqueue(p, &in), 0);
	/* Not visible before publish. */
	assert_int_equal(rf_consumer_recv(c, out, 2, 0), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, out, 2, 0), 1);
	assert_true(out[0].ts_ns == in.ts_ns);
	assert_int_equal(out[0].caplen, 100);
	assert_int_equal(out[0].wirelen, 1514);
	assert_int_equal(out[0].ifindex, 7);
	assert_int_equal(out[0].hash, 0xdeadbeef);
	assert_int_equal(out[0].flags, RF_PKT_TRUNCATED);
	assert_memory_equal(out[0].data, payload, 100);
	assert_int_equal(stats_of(c).received, 1);
	assert_int_equal(stats_of(c).received_bytes, 100);
	assert_int_equal(stats_of(c).backlog_bytes, 136);
	rf_consumer_release(c);
	qi = info_of(p);
	assert_int_equal(qi.enqueued, 1);
	assert_int_equal(qi.enqueued_bytes, 100);
	assert_int_equal(qi.consumer_read, 1);
	assert_int_equal(qi.backlog_bytes, 0);
	assert_int_equal(qi.consumer_pid, getpid());
	assert_int_equal(qi.ring_size, SMALL);
	assert_true(qi.generation != 0);
	assert_int_equal(rf_consumer_recv(c, out, 2, 0), 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* Many rounds of odd-sized records: every wrap needs a filler, some shorter than a header. */
static void test_wrap_around(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[64];
	uint32_t seq = 0, want = 0, len;
	uint64_t bytes = 0;
	int i, n, round;

	(void)state;
	for (round = 0; round < 400; round++) {
		for (i = 0; i < 1 + round % 5; i++) {
			len = 1 + (seq * 37) % 600;
			assert_int_equal(put(p, seq++, len), 0);
			bytes += rf_rec_len(len);
		}
		rf_producer_publish(p);
		while ((n = rf_consumer_recv(c, pkts, 64, 0)) > 0)
			for (i = 0; i < n; i++, want++)
				check_pkt(&pkts[i], want, 1 + (want * 37) % 600);
		assert_int_equal(n, 0);
		rf_consumer_release(c);
	}
	assert_int_equal(want, seq);
	assert_true(bytes > 50 * SMALL);
	assert_int_equal(stats_of(c).corrupt, 0);
	assert_int_equal(info_of(p).dropped_full, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A filler record shorter than a record header (8 bytes left at the end). */
static void test_short_filler(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[8];
	int i;

	(void)state;
	/* Three records of 1016 bytes and one of 992 leave 56 at the end. */
	for (i = 0; i < 3; i++)
		assert_int_equal(put(p, (uint32_t)i, 1016 - 32), 0);
	assert_int_equal(put(p, 3, 992 - 32), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 4);
	rf_consumer_release(c);
	/* A 48-byte record leaves 8: less than a record header. */
	assert_int_equal(put(p, 4, 16), 0);
	assert_int_equal(put(p, 5, 100), 0); /* does not fit in 8: filler, then offset 0 */
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 2);
	check_pkt(&pkts[0], 4, 16);
	check_pkt(&pkts[1], 5, 100);
	assert_true(pkts[1].data < pkts[0].data);
	assert_int_equal(stats_of(c).corrupt, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

static void test_full_and_too_big(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[8];
	struct rf_queue_info qi;
	int i;

	(void)state;
	/* Records of exactly the largest size (a quarter): four fill the ring exactly. */
	for (i = 0; i < 4; i++)
		assert_int_equal(put(p, (uint32_t)i, SMALL / 4 - 32), 0);
	assert_int_equal(put(p, 4, 8), -ENOBUFS);
	assert_int_equal(put(p, 5, SMALL / 4 - 31), -EMSGSIZE);
	qi = info_of(p);
	assert_int_equal(qi.enqueued, 4);
	assert_int_equal(qi.dropped_full, 1);
	assert_int_equal(qi.dropped_toobig, 1);
	assert_int_equal(rf_producer_wait_space(p, 8, 30), -ETIMEDOUT);
	rf_producer_publish(p);
	assert_int_equal(stats_of(c).dropped, 2);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 4);
	for (i = 0; i < 4; i++)
		check_pkt(&pkts[i], (uint32_t)i, SMALL / 4 - 32);
	/* Received but not released: still no room. */
	assert_int_equal(put(p, 6, 8), -ENOBUFS);
	rf_consumer_release(c);
	assert_int_equal(rf_producer_wait_space(p, SMALL / 4 - 32, 0), 0);
	assert_int_equal(put(p, 7, 8), 0);
	assert_int_equal(rf_producer_wait_space(p, SMALL / 4, 0), -EMSGSIZE);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A burst is the same packets enqueued one by one: drops counted, the rest still tried. */
static void test_burst(void **state)
{
	static uint8_t bufs[8][SMALL / 4];
	const uint32_t q = SMALL / 4 - 32; /* the largest packet: a quarter of the ring */
	const uint32_t lens[8] = {100, q + 1, q, q, q, q, 8, q};
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet in[8], out[8];
	struct rf_queue_info qi;
	uint32_t i;

	(void)state;
	for (i = 0; i < 8; i++)
		make_pkt(&in[i], bufs[i], i, lens[i]);
	assert_int_equal(rf_producer_enqueue_burst(NULL, in, 1), -EINVAL);
	assert_int_equal(rf_producer_enqueue_burst(p, NULL, 1), -EINVAL);
	assert_int_equal(rf_producer_enqueue_burst(p, NULL, 0), 0);
	/* 1 is too big; 5 finds the ring full (100 + 3 quarters are in); 6 still fits. */
	assert_int_equal(rf_producer_enqueue_burst(p, in, 7), 5);
	qi = info_of(p);
	assert_int_equal(qi.enqueued, 5);
	assert_int_equal(qi.dropped_toobig, 1);
	assert_int_equal(qi.dropped_full, 1);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, out, 8, 0), 5);
	check_pkt(&out[0], 0, 100);
	check_pkt(&out[1], 2, q);
	check_pkt(&out[2], 3, q);
	check_pkt(&out[3], 4, q);
	check_pkt(&out[4], 6, 8);
	rf_consumer_release(c);
	/* Packet 7 does not fit before the end: a filler, then offset 0. */
	assert_int_equal(rf_producer_enqueue_burst(p, &in[7], 1), 1);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, out + 5, 1, 0), 1);
	check_pkt(&out[5], 7, q);
	assert_ptr_equal(out[5].data, out[0].data); /* both at offset 0 */
	assert_int_equal(stats_of(c).corrupt, 0);
	rf_producer_finish(p);
	assert_int_equal(rf_producer_enqueue_burst(p, in, 1), -EINVAL);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* The lossless burst: stops at the first packet without room, uncounted; drops the too big. */
static void test_enqueue_fit(void **state)
{
	static uint8_t bufs[8][SMALL / 4];
	const uint32_t q = SMALL / 4 - 32;
	const uint32_t lens[8] = {100, q + 1, q, q, q, q, 8, q};
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet in[8], out[8];
	struct rf_queue_info qi;
	uint32_t i;

	(void)state;
	for (i = 0; i < 8; i++)
		make_pkt(&in[i], bufs[i], i, lens[i]);
	assert_int_equal(rf_producer_enqueue_fit(NULL, in, 1), -EINVAL);
	assert_int_equal(rf_producer_enqueue_fit(p, NULL, 1), -EINVAL);
	assert_int_equal(rf_producer_enqueue_fit(p, NULL, 0), 0);
	/* 1 is too big (dropped, taken); 5 finds the ring full: it stops there. */
	assert_int_equal(rf_producer_enqueue_fit(p, in, 8), 5);
	qi = info_of(p);
	assert_int_equal(qi.enqueued, 4);
	assert_int_equal(qi.dropped_toobig, 1);
	assert_int_equal(qi.dropped_full, 0);
	assert_int_equal(rf_producer_wait_space(p, lens[5], 0), -ETIMEDOUT);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, out, 8, 0), 4);
	check_pkt(&out[0], 0, 100);
	for (i = 1; i < 4; i++)
		check_pkt(&out[i], i + 1, q);
	rf_consumer_release(c);
	assert_int_equal(rf_producer_wait_space(p, lens[5], 0), 0);
	assert_int_equal(rf_producer_enqueue_fit(p, &in[5], 3), 3);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, out + 4, 4, 0), 3);
	check_pkt(&out[4], 5, q);
	check_pkt(&out[5], 6, 8);
	check_pkt(&out[6], 7, q);
	qi = info_of(p);
	assert_int_equal(qi.enqueued, 7);
	assert_int_equal(qi.dropped_full, 0);
	assert_int_equal(stats_of(c).corrupt, 0);
	rf_producer_finish(p);
	assert_int_equal(rf_producer_enqueue_fit(p, in, 1), -EINVAL);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

static void test_batch_without_release(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[4];
	uint32_t i;

	(void)state;
	for (i = 0; i < 10; i++)
		assert_int_equal(put(p, i, 64), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 4);
	check_pkt(&pkts[3], 3, 64);
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 4);
	check_pkt(&pkts[0], 4, 64);
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 2);
	check_pkt(&pkts[1], 9, 64);
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 0);
	assert_int_equal(stats_of(c).backlog_bytes, 10 * 96);
	assert_int_equal(info_of(p).consumer_read, 0);
	rf_consumer_release(c);
	assert_int_equal(stats_of(c).backlog_bytes, 0);
	assert_int_equal(info_of(p).consumer_read, 10);
	assert_int_equal(rf_consumer_recv(c, pkts, 0, 0), 0);
	assert_int_equal(rf_consumer_recv(c, NULL, 4, 0), -EINVAL);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

static void test_resume(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[16];
	uint32_t i;

	(void)state;
	for (i = 0; i < 10; i++)
		assert_int_equal(put(p, i, 32), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 4, 0), 4);
	rf_consumer_release(c);
	assert_int_equal(rf_consumer_recv(c, pkts, 3, 0), 3);
	/* Closed (as if crashed) with 3 packets received but not released. */
	rf_consumer_close(c);
	c = consumer(Q, 0);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, 0), 6);
	for (i = 0; i < 6; i++)
		check_pkt(&pkts[i], 4 + i, 32);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/*
 * RF_PRODUCER_PREFAULT: a new ring is written once at creation and works as
 * any other over several laps; a producer that resumes the generation with
 * the flag keeps the packets in it.
 */
static void test_prefault(void **state)
{
	struct rf_producer *p = producer_flags(Q, SMALL, RF_PRODUCER_PREFAULT, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[64];
	uint32_t seq = 0, want = 0;
	int i, n, round;

	(void)state;
	assert_int_equal(rf_producer_start_how(p), RF_START_CREATED);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 3; i++, seq++)
			assert_int_equal(put(p, seq, 1 + (seq * 53) % 700), 0);
		rf_producer_publish(p);
		while ((n = rf_consumer_recv(c, pkts, 64, 0)) > 0)
			for (i = 0; i < n; i++, want++)
				check_pkt(&pkts[i], want, 1 + (want * 53) % 700);
		rf_consumer_release(c);
	}
	assert_int_equal(want, seq);
	assert_true(info_of(p).enqueued_bytes > 2 * SMALL);
	/* Unread packets across a restart of the producer, which asks again. */
	for (i = 0; i < 5; i++)
		assert_int_equal(put(p, seq++, 40), 0);
	rf_producer_destroy(p);
	p = producer_flags(Q, SMALL, RF_PRODUCER_PREFAULT, 0);
	assert_int_equal(rf_producer_start_how(p), RF_START_RESUMED);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), 5);
	for (i = 0; i < 5; i++)
		check_pkt(&pkts[i], want + (uint32_t)i, 40);
	assert_int_equal(stats_of(c).corrupt, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/*
 * RF_CONSUMER_PREFAULT: a consumer that reads its ring's pages once at
 * attach resumes from the committed cursor and reads as any other over
 * several laps, and does it again on the next generation of the queue.
 */
static void test_consumer_prefault(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c;
	struct rf_packet pkts[64];
	uint32_t seq = 0, want = 0;
	int i, n, round;

	(void)state;
	for (; seq < 7; seq++)
		assert_int_equal(put(p, seq, 100), 0);
	rf_producer_publish(p);
	c = consumer(Q, RF_CONSUMER_PREFAULT);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 3; i++, seq++)
			assert_int_equal(put(p, seq, 1 + (seq * 53) % 700), 0);
		rf_producer_publish(p);
		while ((n = rf_consumer_recv(c, pkts, 64, 0)) > 0)
			for (i = 0; i < n; i++, want++)
				check_pkt(&pkts[i], want, want < 7 ? 100 : 1 + (want * 53) % 700);
		rf_consumer_release(c);
	}
	assert_int_equal(want, seq);
	assert_true(info_of(p).enqueued_bytes > 2 * SMALL);
	/* The end of the run, then a new generation: the consumer moves to it. */
	rf_producer_finish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), -ENODATA);
	rf_producer_destroy(p);
	p = producer_flags(Q, SMALL, RF_PRODUCER_NEW_GENERATION, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(put(p, (uint32_t)i, 40), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 1000), 5);
	for (i = 0; i < 5; i++)
		check_pkt(&pkts[i], (uint32_t)i, 40);
	assert_int_equal(stats_of(c).generations, 1);
	assert_int_equal(stats_of(c).corrupt, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

static void test_from_newest(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c;
	struct rf_packet pkts[16];
	uint32_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(put(p, i, 32), 0);
	rf_producer_publish(p);
	c = consumer(Q, RF_CONSUMER_FROM_NEWEST);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, 0), 0);
	assert_int_equal(info_of(p).backlog_bytes, 0);
	assert_int_equal(put(p, 5, 32), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, 0), 1);
	check_pkt(&pkts[0], 5, 32);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

static void test_finished(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[16];
	struct rf_queue_info qi;
	uint32_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(put(p, i, 32), 0);
	rf_producer_finish(p); /* publishes first */
	assert_int_equal(put(p, 9, 32), -EINVAL);
	assert_int_equal(rf_consumer_recv(c, pkts, 2, -1), 2);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, -1), 1);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, -1), -ENODATA);
	/* The end of the run is told once; then the consumer waits for the next run. */
	assert_int_equal(rf_consumer_recv(c, pkts, 16, 0), 0);
	rf_consumer_close(c); /* nothing released */
	rf_producer_destroy(p);
	/* The producer exited cleanly: the next consumer drains, then -ENODATA, not -EPIPE. */
	c = consumer(Q, 0);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, 500), 3);
	assert_int_equal(rf_consumer_recv(c, pkts, 16, 500), -ENODATA);
	rf_consumer_close(c);
	assert_int_equal(rf_queue_query(Q,
					&(struct rf_consumer_opts){
						.sz = sizeof(struct rf_consumer_opts), .dir = dir},
					&qi, sizeof(qi)),
			 0);
	assert_int_equal(qi.finished, 1);
	assert_int_equal(qi.producer_pid, 0);
	assert_int_equal(qi.consumer_pid, 0);
	assert_int_equal(qi.enqueued, 3);
}

static void test_busy(void **state)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .dir = dir};
	struct rf_producer *p = producer(Q, SMALL, 0), *p2 = NULL;
	struct rf_producer_opts po = {.sz = sizeof(po), .dir = dir, .ring_size = SMALL};
	struct rf_consumer *c = consumer(Q, 0), *c2 = NULL;
	struct rf_queue_info qi;

	(void)state;
	assert_int_equal(consumer_open(Q, 0, &c2), -EBUSY);
	assert_null(c2);
	assert_int_equal(rf_queue_query(Q, &o, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.consumer_pid, getpid());
	assert_int_equal(qi.producer_pid, getpid());
	/* One producer at a time, too. */
	assert_int_equal(rf_producer_create(Q, &po, &p2), -EBUSY);
	assert_null(p2);
	rf_consumer_close(c);
	assert_int_equal(rf_queue_query(Q, &o, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.consumer_pid, 0);
	c = consumer(Q, 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);
	assert_int_equal(rf_queue_query(Q, &o, &qi, sizeof(qi)), 0);
	assert_int_equal(qi.producer_pid, 0);
}

static int count_entries(void)
{
	char cmd[128];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	return n;
}

/* A producer that died while building a generation leaves temporary files: the next removes them. */
static void test_stale_temps(void **state)
{
	struct rf_producer *p;
	char path[256];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/.%s.ring.abc123", dir, Q);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/.%s.cons.abc123", dir, Q);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/.%s3.ring.abc123", dir, Q); /* another queue's: kept */
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(count_entries(), 3);
	p = producer(Q, SMALL, 0);
	assert_int_equal(count_entries(), 4); /* .ring, .cons, the other queue's and .lock */
	assert_int_equal(access(path, F_OK), 0);
	rf_producer_destroy(p);
}

static void test_missing_and_bad_files(void **state)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .dir = dir};
	struct rf_consumer *c = NULL;
	struct rf_queue_info qi;
	char path[256];
	int fd;

	(void)state;
	assert_int_equal(consumer_open("9@9", 0, &c), -ENOENT);
	assert_int_equal(rf_queue_query("9@9", &o, &qi, sizeof(qi)), -ENOENT);
	assert_int_equal(rf_queue_remove("9@9", dir), -ENOENT);
	assert_int_equal(consumer_open("9@x", 0, &c), -EINVAL);
	assert_int_equal(consumer_open("9@9999", 0, &c), -ERANGE);
	o.flags = 0x40; /* the first unknown flag */
	assert_int_equal(rf_consumer_open("9@9", &o, &c), -EINVAL);
	o.flags = 0;
	o.sz = 2;
	assert_int_equal(rf_consumer_open("9@9", &o, &c), -EINVAL);
	/* Not a queue: a file of zeros and a page. */
	queue_path(path, sizeof(path), "9@9", "ring");
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * SMALL), 0);
	close(fd);
	queue_path(path, sizeof(path), "9@9", "cons");
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SMALL), 0);
	close(fd);
	assert_int_equal(consumer_open("9@9", 0, &c), -EPROTO);
	assert_null(c);
	assert_int_equal(rf_queue_remove("9@9", dir), 0);
	assert_int_equal(rf_queue_remove("9@9", dir), -ENOENT);
}

static void set_tail(struct rf_cons_page *cp, uint64_t t)
{
	atomic_store_explicit(&cp->tail, t, memory_order_release);
}

/* The consumer page holds nonsense: the producer drops (-EPIPE), then recovers. */
static void test_hostile_cursor(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, RF_CONSUMER_GUARD_SIGBUS);
	const uint32_t big = SMALL / 4 - 32;
	uint64_t bad[] = {4096 + 8, 2048 + 4, UINT64_MAX, 4096 + SMALL * 2};
	struct rf_packet pkts[8];
	struct rf_cons_page *cp;
	size_t len, i;
	uint64_t drops = 0;

	(void)state;
	cp = map_file(Q, "cons", &len);
	for (i = 0; i < 4; i++)
		assert_int_equal(put(p, (uint32_t)i, big), 0);
	assert_int_equal(put(p, 4, big), -ENOBUFS);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 2, 0), 2);
	rf_consumer_release(c); /* tail = 2048 */
	/* Ahead of head, misaligned, absurd: each costs the packet, nothing else. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_tail(cp, bad[i]);
		assert_int_equal(put(p, 100, big), -EPIPE);
		assert_int_equal(rf_producer_wait_space(p, big, 0), -EPIPE);
		assert_int_equal(info_of(p).dropped_cursor, ++drops);
	}
	/* A sane value again: accepted. */
	set_tail(cp, 2048);
	assert_int_equal(put(p, 5, big), 0);
	assert_int_equal(put(p, 6, big), 0);
	assert_int_equal(put(p, 7, big), -ENOBUFS);
	rf_producer_publish(p);
	/* Backwards (behind the last cursor seen), and more than a ring behind head. */
	set_tail(cp, 1024);
	assert_int_equal(put(p, 101, big), -EPIPE);
	set_tail(cp, 0);
	assert_int_equal(put(p, 102, big), -EPIPE);
	assert_int_equal(info_of(p).dropped_cursor, drops + 2);
	/* The waiting flag set for good costs at most a wake per publish. */
	atomic_store_explicit(&cp->waiting, 0xffffffffu, memory_order_relaxed);
	rf_producer_publish(p);
	/* The consumer goes on from its own position and its release repairs the page. */
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 4);
	check_pkt(&pkts[0], 2, big);
	check_pkt(&pkts[3], 6, big);
	rf_consumer_release(c);
	assert_int_equal(put(p, 8, big), 0);
	assert_int_equal(info_of(p).dropped_cursor, drops + 2);
	munmap(cp, len);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A consumer truncates its page file: the producer survives and drops that queue's packets. */
static void test_truncated_page(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, RF_CONSUMER_GUARD_SIGBUS);
	const uint32_t big = SMALL / 4 - 32;
	struct rf_packet pkts[8];
	char path[256];
	uint32_t i;
	int fd, r;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(put(p, i, big), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 4);
	rf_consumer_release(c);
	queue_path(path, sizeof(path), Q, "cons");
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	/* The ring is full by the producer's cached cursor: it must read the page now. */
	r = put(p, 9, big);
	assert_int_equal(r, -EPIPE);
	rf_producer_publish(p);
	assert_int_equal(info_of(p).dropped_cursor, 1);
	/* The consumer (guarded too) goes on without faulting: waiting writes its page. */
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 30), 0);
	assert_int_equal(ftruncate(fd, RF_CONS_PAGE_SIZE), 0);
	close(fd);
	/* The queue stays broken (until a new generation), the producer does not. */
	assert_int_equal(put(p, 10, 8), -EPIPE);
	rf_consumer_release(c);
	/* Another queue of the same producer process is unaffected. */
	struct rf_producer *p2 = producer("7@4", SMALL, 0);
	assert_int_equal(put(p2, 1, 8), 0);
	rf_producer_destroy(p2);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A page left full of garbage by a previous consumer: the next one starts at the newest. */
static void test_scribbled_page(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_packet pkts[8];
	struct rf_consumer *c;
	struct rf_cons_page *cp;
	size_t len;
	uint32_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(put(p, i, 40), 0);
	rf_producer_publish(p);
	cp = map_file(Q, "cons", &len);
	memset(cp, 0xab, len);
	c = consumer(Q, 0);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 0);
	assert_int_equal(stats_of(c).corrupt, 1);
	/* The page is the consumer's again: magic, generation and a sane cursor. */
	assert_true(cp->magic == RF_CONS_MAGIC);
	assert_true(cp->generation == info_of(p).generation);
	assert_int_equal(info_of(p).backlog_bytes, 0);
	assert_int_equal(put(p, 7, 40), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 1);
	check_pkt(&pkts[0], 7, 40);
	assert_int_equal(info_of(p).dropped_cursor, 0);
	munmap(cp, len);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* A ring whose bytes are garbage: the consumer survives and counts. */
static void test_garbage_ring(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[64];
	struct rf_ring_hdr *h;
	uint8_t *data;
	size_t len, i;
	uint64_t seed = 12345, base = 0, off;
	int n, round;

	(void)state;
	h = map_file(Q, "ring", &len);
	data = (uint8_t *)h + RF_RING_HDR_SIZE;
	for (round = 0; round < 200; round++) {
		for (i = 0; i < SMALL; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			data[i] = (uint8_t)(seed >> 56);
		}
		/* Sometimes plausible lengths, sometimes absurd ones. */
		if (round % 3 == 0)
			memcpy(data, &(uint32_t){(uint32_t)(seed >> 20) % 2048 & ~7u}, 4);
		/* Heads near the last one, a few more than a ring ahead, some misaligned. */
		off = (seed >> 40) % (SMALL + 64) & ~7ull;
		if (round % 7 == 3)
			off += 3;
		else
			base += off;
		atomic_store_explicit(&h->head, round % 7 == 3 ? base + off : base,
				      memory_order_release);
		n = rf_consumer_recv(c, pkts, 64, 0);
		assert_true(n >= 0);
		for (i = 0; i < (size_t)n; i++) {
			assert_true(pkts[i].data >= data &&
				    pkts[i].data + pkts[i].caplen <= data + SMALL);
			assert_true(pkts[i].wirelen >= pkts[i].caplen);
		}
		rf_consumer_release(c);
	}
	assert_true(stats_of(c).corrupt > 0);
	rf_consumer_close(c);
	rf_producer_destroy(p);

	p = producer(Q, SMALL, 0);
	munmap(h, len);
	h = map_file(Q, "ring", &len);
	data = (uint8_t *)h + RF_RING_HDR_SIZE;
	c = consumer(Q, 0);
	/* Absurd record length at a sane head. */
	memcpy(data, &(uint32_t){0x7ffffff8u}, 4);
	atomic_store_explicit(&h->head, 64, memory_order_release);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), 0);
	assert_int_equal(stats_of(c).corrupt, 1);
	/* Head far ahead: skip to it, count it, once. */
	atomic_store_explicit(&h->head, 64 + 10 * SMALL, memory_order_release);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), 0);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), 0);
	assert_int_equal(stats_of(c).corrupt, 2);
	assert_int_equal(stats_of(c).backlog_bytes, 0);
	/* Misaligned and behind: counted once, no spinning (the wait sleeps). */
	atomic_store_explicit(&h->head, 64 + 10 * SMALL - 3, memory_order_release);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), 0);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 50), 0);
	assert_int_equal(stats_of(c).corrupt, 3);
	/* A real producer's record after all that still arrives. */
	rf_consumer_close(c);
	rf_producer_destroy(p);
	munmap(h, len);
	p = producer(Q, SMALL, 0);
	c = consumer(Q, 0);
	assert_int_equal(put(p, 1, 40), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 64, 0), 1);
	check_pkt(&pkts[0], 1, 40);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

/* The record checker alone, on random areas: whatever it accepts lies inside. */
/*
 * FROM_NEWEST at a misaligned (garbage) head starts the consumer misaligned:
 * it must skip to the next sane head and then read normally again.
 */
static void test_from_newest_garbage_head(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_ring_hdr *h;
	struct rf_consumer *c;
	struct rf_packet pkts[8];
	size_t len;

	(void)state;
	h = map_file(Q, "ring", &len);
	assert_int_equal(put(p, 1, 40), 0);
	rf_producer_publish(p);
	atomic_store_explicit(&h->head, 75, memory_order_release);
	c = consumer(Q, RF_CONSUMER_FROM_NEWEST);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 0);
	/* The producer's next publish stores its own, aligned head. */
	assert_int_equal(put(p, 2, 40), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 0); /* skipped to it */
	assert_true(stats_of(c).corrupt >= 1);
	assert_int_equal(put(p, 3, 40), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 8, 0), 1);
	check_pkt(&pkts[0], 3, 40);
	rf_consumer_release(c);
	munmap(h, len);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

static void test_read_record_random(void **state)
{
	static uint8_t area[1024];
	uint64_t seed = 99, pos, head;
	struct rf_packet pkt;
	uint32_t len;
	int i, r, accepted = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		pos = (seed >> 8) % 4096 * 8 + (i % 17 == 0 ? 3 : 0);
		head = pos + (seed >> 33) % 1200;
		if (i % 2) {
			uint32_t l = (uint32_t)(seed >> 50) % 160 * 8,
				 cap = (uint32_t)(seed >> 40) % (l + 8);
			struct rf_rec_hdr h = {.len = l,
					       .hdr_len = i % 4 == 1 ? 32 : (uint16_t)(seed >> 44),
					       .caplen = cap,
					       .wirelen = cap + (uint32_t)(seed >> 30) % 4 - 1,
					       .flags = (uint16_t)(seed >> 20)};
			uint64_t off = pos & 1023;

			memcpy(area + (off & ~7ull), &h, 1024 - (off & ~7ull) < 32 ? 8 : 32);
		} else {
			area[(seed >> 20) % 1024] = (uint8_t)seed;
		}
		r = rf_ring_read_record(area, sizeof(area), pos, head, &pkt, &len);
		if (r < 0) {
			assert_int_equal(r, -EBADMSG);
			continue;
		}
		assert_true(len >= 8 && len % 8 == 0 && pos + len <= head);
		assert_true((pos & 1023) + len <= sizeof(area));
		if (r == RF_REC_PACKET) {
			accepted++;
			assert_true(pkt.data >= area &&
				    pkt.data + pkt.caplen <= area + (pos & 1023) + len);
			assert_true(pkt.wirelen >= pkt.caplen);
		}
	}
	assert_true(accepted > 100);
}

static void test_read_record_cases(void **state)
{
	static uint8_t area[256];
	struct rf_rec_hdr h = {.len = 64, .hdr_len = 32, .caplen = 30, .wirelen = 60, .hash = 5};
	struct rf_packet pkt;
	uint32_t len;

	(void)state;
	memcpy(area, &h, sizeof(h));
	assert_int_equal(rf_ring_read_record(area, 256, 0, 64, &pkt, &len), RF_REC_PACKET);
	assert_int_equal(len, 64);
	assert_ptr_equal(pkt.data, area + 32);
	assert_int_equal(pkt.hash, 5);
	/* Past head, misaligned pos, empty. */
	assert_int_equal(rf_ring_read_record(area, 256, 0, 56, &pkt, &len), -EBADMSG);
	assert_int_equal(rf_ring_read_record(area, 256, 4, 64, &pkt, &len), -EBADMSG);
	assert_int_equal(rf_ring_read_record(area, 256, 64, 64, &pkt, &len), -EBADMSG);
	/* caplen beyond the record, wirelen below caplen, short header, zero length. */
	h.caplen = 33;
	memcpy(area, &h, sizeof(h));
	assert_int_equal(rf_ring_read_record(area, 256, 0, 64, &pkt, &len), -EBADMSG);
	h.caplen = 30, h.wirelen = 29;
	memcpy(area, &h, sizeof(h));
	assert_int_equal(rf_ring_read_record(area, 256, 0, 64, &pkt, &len), -EBADMSG);
	h.wirelen = 30, h.hdr_len = 16;
	memcpy(area, &h, sizeof(h));
	assert_int_equal(rf_ring_read_record(area, 256, 0, 64, &pkt, &len), -EBADMSG);
	h.hdr_len = 32, h.len = 0;
	memcpy(area, &h, sizeof(h));
	assert_int_equal(rf_ring_read_record(area, 256, 0, 64, &pkt, &len), -EBADMSG);
	/* A record running past the end of the area (records never wrap). */
	h.len = 64;
	memcpy(area + 224, &h, sizeof(h));
	assert_int_equal(rf_ring_read_record(area, 256, 224, 512, &pkt, &len), -EBADMSG);
	/* Fillers: exactly to the end, from 8 bytes up. */
	memcpy(area + 248, &(struct rf_rec_hdr){.len = 8, .flags = RF_REC_PAD}, 8);
	assert_int_equal(rf_ring_read_record(area, 256, 248, 264, &pkt, &len), RF_REC_FILLER);
	assert_int_equal(len, 8);
	memcpy(area + 128, &(struct rf_rec_hdr){.len = 64, .flags = RF_REC_PAD}, 8);
	assert_int_equal(rf_ring_read_record(area, 256, 128, 300, &pkt, &len), -EBADMSG);
	/* Head more than the area ahead. */
	memcpy(area, &(struct rf_rec_hdr){.len = 64, .hdr_len = 32, .caplen = 1, .wirelen = 1}, 32);
	assert_int_equal(rf_ring_read_record(area, 256, 0, 257, &pkt, &len), -EBADMSG);
}

static void test_name_parse(void **state)
{
	static const char *bad[] = {"",	     "99",	 "99@",		"@0",
				    "99@0x", " 99@0",	 "-1@0",	"99@-1",
				    "99@@0", "ringfan:", "RINGFAN:1@1", "1@2@3",
				    "+1@0",  "1 @0",	 "ringfan:@",	"ringfan:ringfan:1@1"};
	static const char *range[] = {"65536@0", "0@1024", "99999999999999999999@0",
				      "ringfan:1@99999999999"};
	uint32_t c = 111, q = 222;
	size_t i;

	(void)state;
	assert_int_equal(rf_queue_name_parse("99@0", &c, &q), 0);
	assert_int_equal(c, 99);
	assert_int_equal(q, 0);
	assert_int_equal(rf_queue_name_parse("ringfan:65535@1023", &c, &q), 0);
	assert_int_equal(c, 65535);
	assert_int_equal(q, 1023);
	assert_int_equal(rf_queue_name_parse("007@01", &c, &q), 0);
	assert_int_equal(c, 7);
	assert_int_equal(q, 1);
	c = 111, q = 222;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rf_queue_name_parse(bad[i], &c, &q), -EINVAL);
		assert_int_equal(c, 111);
		assert_int_equal(q, 222);
	}
	for (i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		assert_int_equal(rf_queue_name_parse(range[i], &c, &q), -ERANGE);
	assert_int_equal(c, 111);
	assert_int_equal(rf_queue_name_parse(NULL, &c, &q), -EINVAL);
}

struct waiter {
	struct rf_consumer *c;
	int n;
	uint64_t ns;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	struct rf_packet pkts[4];
	uint64_t t0 = now_ns();

	w->n = rf_consumer_recv(w->c, pkts, 4, 5000);
	w->ns = now_ns() - t0;
	return NULL;
}

/* A sleeping consumer is woken by publish, well before its timeout. */
static void check_wakeup(unsigned int flags)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct waiter w = {.c = consumer(Q, flags)};
	struct timespec d = {.tv_nsec = 150 * 1000 * 1000};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	nanosleep(&d, NULL);
	assert_int_equal(put(p, 1, 40), 0);
	rf_producer_publish(p);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.n, 1);
	assert_true(w.ns < 2000000000ull);
	/* And by finish. */
	rf_consumer_release(w.c);
	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	nanosleep(&d, NULL);
	rf_producer_finish(p);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.n, -ENODATA);
	assert_true(w.ns < 2000000000ull);
	rf_consumer_close(w.c);
	rf_producer_destroy(p);
}

static void test_wakeup(void **state)
{
	(void)state;
	check_wakeup(0);
}

/* Without the polling phase the consumer goes straight to sleep: still woken. */
static void test_wakeup_no_spin(void **state)
{
	(void)state;
	check_wakeup(RF_CONSUMER_NO_SPIN);
}

/* recv in a thread; after 10 ms publish n packets of caplen bytes. Returns how long recv took. */
static uint64_t recv_while_publishing(struct rf_producer *p, struct waiter *w, uint32_t n,
				      uint32_t caplen)
{
	struct timespec d = {.tv_nsec = 10 * 1000 * 1000};
	pthread_t t;
	uint32_t i;

	assert_int_equal(pthread_create(&t, NULL, wait_thread, w), 0);
	nanosleep(&d, NULL);
	for (i = 0; i < n; i++)
		assert_int_equal(put(p, i, caplen), 0);
	rf_producer_publish(p);
	assert_int_equal(pthread_join(t, NULL), 0);
	rf_consumer_release(w->c);
	return w->ns;
}

#define MS 1000000ull

/*
 * Wake-up moderation: an idle consumer is woken by its first packet; a busy
 * one only once wake_bytes are waiting, else by its own bound (wake_us, 90
 * ms here: below the 100 ms liveness slice that also ends a sleep).
 */
static void test_wake_moderation(void **state)
{
	struct rf_consumer_opts o = {.sz = sizeof(o),
				     .dir = dir,
				     .flags = RF_CONSUMER_NO_SPIN,
				     .wake_bytes = 4096,
				     .wake_us = 90 * 1000};
	struct rf_producer *p = producer(Q, 64 * SMALL, 0);
	struct waiter w = {0};
	uint64_t ns;

	(void)state;
	assert_int_equal(rf_consumer_open(Q, &o, &w.c), 0);
	/* Idle: the first packet wakes it at once. */
	ns = recv_while_publishing(p, &w, 1, 40);
	assert_int_equal(w.n, 1);
	assert_true(ns < 60 * MS);
	/* Busy now: 72 bytes of record are not worth a wake-up; the bound ends the sleep. */
	ns = recv_while_publishing(p, &w, 1, 40);
	assert_int_equal(w.n, 1);
	assert_true(ns >= 85 * MS && ns < 4000 * MS);
	/* 40 records of 136 bytes are: woken at once. */
	ns = recv_while_publishing(p, &w, 40, 100);
	assert_int_equal(w.n, 4);
	assert_true(ns < 60 * MS);
	rf_consumer_close(w.c);
	/* wake_bytes 1: every publish wakes, busy or not. */
	o.wake_bytes = 1;
	o.flags |= RF_CONSUMER_FROM_NEWEST;
	assert_int_equal(rf_consumer_open(Q, &o, &w.c), 0);
	ns = recv_while_publishing(p, &w, 1, 40);
	assert_true(w.n == 1 && ns < 60 * MS);
	ns = recv_while_publishing(p, &w, 1, 40);
	assert_true(w.n == 1 && ns < 60 * MS);
	rf_consumer_close(w.c);
	rf_producer_destroy(p);
}

static mode_t file_mode(const char *name, const char *suffix, gid_t *ret_gid)
{
	char path[256];
	struct stat st;

	queue_path(path, sizeof(path), name, suffix);
	assert_int_equal(stat(path, &st), 0);
	if (ret_gid)
		*ret_gid = st.st_gid;
	return st.st_mode & 07777;
}

static void test_permissions(void **state)
{
	struct rf_producer_opts o = {.sz = sizeof(o),
				     .dir = dir,
				     .ring_size = SMALL,
				     .owner = (uid_t)-1,
				     .group = 4,
				     .mode = 0640};
	struct rf_producer *p;
	struct rf_consumer *c = NULL;
	gid_t gid;
	pid_t pid;
	int st;

	(void)state;
	p = producer(Q, SMALL, 0);
	assert_int_equal(file_mode(Q, "ring", NULL), 0600);
	assert_int_equal(file_mode(Q, "cons", NULL), 0600);
	rf_producer_destroy(p);
	p = producer(Q, SMALL, 0644);
	assert_int_equal(file_mode(Q, "ring", NULL), 0644);
	assert_int_equal(file_mode(Q, "cons", NULL), 0666);
	rf_producer_destroy(p);
	o.mode = 01640;
	assert_int_equal(rf_producer_create(Q, &o, &p), -EINVAL);
	o.ring_size = SMALL + 8, o.mode = 0640;
	assert_int_equal(rf_producer_create(Q, &o, &p), -EINVAL);
	o.ring_size = SMALL;
	if (geteuid() != 0) {
		print_message("not root: group and other-user checks skipped\n");
		return;
	}
	assert_int_equal(rf_producer_create(Q, &o, &p), 0);
	assert_int_equal(file_mode(Q, "ring", &gid), 0640);
	assert_int_equal(gid, 4);
	assert_int_equal(file_mode(Q, "cons", &gid), 0660);
	assert_int_equal(gid, 4);
	/* Another user, not in the group: a permission error, not a crash or a hang. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		_exit(consumer_open(Q, 0, &c) == -EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	rf_producer_destroy(p);
}

/* Writing to packet data from the consumer kills the writer, nobody else. */
static void test_readonly_mapping(void **state)
{
	struct rf_producer *p = producer(Q, SMALL, 0);
	struct rf_consumer *c = consumer(Q, 0);
	struct rf_packet pkts[2];
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(put(p, 1, 64), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 2, 0), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The default action, not a sanitizer's handler. */
		signal(SIGSEGV, SIG_DFL);
		*(volatile uint8_t *)(uintptr_t)pkts[0].data = 0xff;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	check_pkt(&pkts[0], 1, 64);
	rf_consumer_release(c);
	assert_int_equal(put(p, 2, 64), 0);
	rf_producer_publish(p);
	assert_int_equal(rf_consumer_recv(c, pkts, 2, 0), 1);
	check_pkt(&pkts[0], 2, 64);
	rf_consumer_close(c);
	rf_producer_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_parse),
		cmocka_unit_test(test_read_record_cases),
		cmocka_unit_test(test_read_record_random),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_around, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_filler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_and_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enqueue_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_without_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumer_prefault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scribbled_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_newest_garbage_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_no_spin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_moderation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_mapping, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
