/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * queue-bench: producer -> consumer throughput in two processes pinned to
 * CPUs 0 and 1.
 *
 *   queue-bench queue SIZE COUNT [DIR]   through a libringfan queue (full record headers)
 *   queue-bench ring SIZE COUNT          through a bare SPSC byte ring (the reference)
 *   queue-bench inline SIZE COUNT [DIR]  producer and consumer handles in one process,
 *                                        burst in, burst out (for callgrind)
 *
 * Both publish indices once per burst of BURST packets, and the consumer reads
 * each packet's first byte and length. Prints "mode=... size=... packets=...
 * seconds=... mpps=..." measured by the consumer from its first packet to its
 * last.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#define BURST	  32
#define RX_BURST  256
#define MAX_SIZE  9000
#define BARE_RING (64u << 20) /* the queue's default ring size */

struct shared {
	volatile int ready;
	uint64_t received, sum;
	uint64_t first_ns, last_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("queue-bench: sched_setaffinity");
}

/* ------------------------------------------------------------------ */
/* The bare reference ring: free-running indices, a 4-byte length per  */
/* record, records padded to 8 bytes, wrap by a skip marker.           */
/* ------------------------------------------------------------------ */

struct bare {
	_Alignas(64) uint64_t head; /* written by the producer */
	_Alignas(64) uint64_t tail; /* written by the consumer */
	_Alignas(64) uint8_t data[BARE_RING];
};

#define BARE_SKIP 0xffffffffu

static uint64_t bare_room(struct bare *r, uint64_t head, uint64_t *tail, uint32_t need)
{
	while (BARE_RING - (head - *tail) < need)
		*tail = __atomic_load_n(&r->tail,
					__ATOMIC_ACQUIRE); /* pairs with the consumer's release */
	return head;
}

static void bare_produce(struct bare *r, uint32_t size, uint64_t count)
{
	static uint8_t pkt[MAX_SIZE];
	uint32_t rec = (4 + size + 7) & ~7u;
	uint64_t head = 0, tail = 0, i;

	for (i = 0; i < count; i++) {
		uint32_t off = (uint32_t)(head % BARE_RING);

		if (off + rec > BARE_RING) { /* no record straddles the end */
			head = bare_room(r, head, &tail, BARE_RING - off);
			memcpy(r->data + off, &(uint32_t){BARE_SKIP}, 4);
			head += BARE_RING - off;
			off = 0;
		}
		head = bare_room(r, head, &tail, rec);
		memcpy(r->data + off, &size, 4);
		memcpy(r->data + off + 4, pkt, size);
		head += rec;
		if ((i + 1) % BURST == 0 || i + 1 == count)
			__atomic_store_n(&r->head, head,
					 __ATOMIC_RELEASE); /* pairs with the consumer's acquire */
	}
}

static void bare_consume(struct bare *r, uint64_t count, struct shared *sh)
{
	uint64_t tail = 0, head, n = 0, sum = 0;

	while (n < count) {
		head = __atomic_load_n(&r->head,
				       __ATOMIC_ACQUIRE); /* pairs with the producer's release */
		if (head == tail)
			continue;
		if (!sh->first_ns)
			sh->first_ns = now_ns();
		while (tail != head) {
			uint32_t off = (uint32_t)(tail % BARE_RING), len;

			memcpy(&len, r->data + off, 4);
			if (len == BARE_SKIP) {
				tail += BARE_RING - off;
				continue;
			}
			sum += r->data[off + 4] + len;
			tail += (4 + len + 7) & ~7u;
			n++;
		}
		__atomic_store_n(&r->tail, tail,
				 __ATOMIC_RELEASE); /* pairs with bare_room's acquire */
	}
	sh->last_ns = now_ns();
	sh->received = n;
	sh->sum = sum;
}

static int run_bare(uint32_t size, uint64_t count, struct shared *sh)
{
	struct bare *r =
		mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	if (r == MAP_FAILED)
		return -errno;
	memset(r, 0, sizeof(*r)); /* fault the pages in before timing */
	pid = fork();
	if (pid == 0) {
		pin(1);
		bare_consume(r, count, sh);
		_exit(0);
	}
	pin(0);
	bare_produce(r, size, count);
	waitpid(pid, NULL, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* libringfan                                                          */
/* ------------------------------------------------------------------ */

static int queue_consume(const char *dir, uint64_t count, struct shared *sh)
{
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = dir};
	static struct rf_packet pkts[RX_BURST];
	struct rf_consumer *c;
	uint64_t n = 0, sum = 0;
	int r, i;

	r = rf_consumer_open("1@0", &co, &c);
	if (r < 0) {
		fprintf(stderr, "queue-bench: cannot open queue '1@0': %s\n", strerror(-r));
		return r;
	}
	sh->ready = 1;
	while (n < count) {
		r = rf_consumer_recv(c, pkts, RX_BURST, 1000);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "queue-bench: receive: %s\n", strerror(-r));
			break;
		}
		if (r > 0 && !sh->first_ns)
			sh->first_ns = now_ns();
		for (i = 0; i < r; i++)
			sum += pkts[i].data[0] + pkts[i].caplen;
		n += (uint64_t)(r > 0 ? r : 0);
		rf_consumer_release(c);
	}
	sh->last_ns = now_ns();
	sh->received = n;
	sh->sum = sum;
	rf_consumer_close(c);
	return 0;
}

/* Lossless: before each burst, wait until the whole burst fits (publishing first). */
static int queue_room(struct rf_producer *p, uint32_t size)
{
	if (rf_producer_wait_space(p, BURST * size, 0) == 0)
		return 0;
	rf_producer_publish(p);
	return rf_producer_wait_space(p, BURST * size, -1);
}

static int queue_produce(struct rf_producer *p, uint32_t size, uint64_t count)
{
	static uint8_t buf[MAX_SIZE];
	struct rf_packet pkts[BURST];
	uint64_t i;
	int r, j, n;

	for (j = 0; j < BURST; j++)
		pkts[j] = (struct rf_packet){.data = buf, .caplen = size, .wirelen = size};
	for (i = 0; i < count; i += (uint64_t)n) {
		n = count - i < BURST ? (int)(count - i) : BURST;
		if ((r = queue_room(p, size)) < 0)
			return r;
		for (j = 0; j < n; j++) {
			pkts[j].ts_ns = i + (uint64_t)j;
			pkts[j].hash = (uint32_t)(i + (uint64_t)j);
		}
		r = rf_producer_enqueue_burst(p, pkts, (unsigned int)n);
		if (r != n)
			return r < 0 ? r : -ENOBUFS;
		rf_producer_publish(p);
	}
	rf_producer_finish(p);
	return 0;
}

static int run_queue(uint32_t size, uint64_t count, const char *dir, struct shared *sh)
{
	struct rf_producer_opts po = {
		.sz = sizeof(po), .dir = dir, .owner = (uid_t)-1, .group = (gid_t)-1};
	struct rf_producer *p;
	pid_t pid;
	int r, st;

	r = rf_producer_create("1@0", &po, &p);
	if (r < 0) {
		fprintf(stderr, "queue-bench: cannot create queue '1@0': %s\n", strerror(-r));
		return r;
	}
	pid = fork();
	if (pid == 0) {
		pin(1);
		_exit(queue_consume(dir, count, sh) < 0);
	}
	pin(0);
	while (!sh->ready && waitpid(pid, &st, WNOHANG) == 0)
		usleep(1000);
	r = sh->ready ? queue_produce(p, size, count) : -EPIPE;
	if (r < 0)
		fprintf(stderr, "queue-bench: produce: %s\n", strerror(-r));
	waitpid(pid, NULL, 0);
	rf_producer_destroy(p);
	rf_queue_remove("1@0", dir);
	return r;
}

/*
 * One process, no waiting: bursts of BURST packets go in and come straight
 * out again. For instruction counts under callgrind (--toggle-collect=inline_loop).
 */
static __attribute__((noinline)) uint64_t inline_loop(struct rf_producer *p, struct rf_consumer *c,
						      uint32_t size, uint64_t count)
{
	static uint8_t buf[MAX_SIZE];
	struct rf_packet in[BURST], pkts[BURST];
	uint64_t i, n = 0, sum = 0;
	int j, r;

	for (j = 0; j < BURST; j++)
		in[j] = (struct rf_packet){.data = buf, .caplen = size, .wirelen = size};
	for (i = 0; i < count; i += BURST) {
		for (j = 0; j < BURST; j++)
			in[j].ts_ns = i + (uint64_t)j;
		if (rf_producer_enqueue_burst(p, in, BURST) != BURST)
			return n;
		rf_producer_publish(p);
		r = rf_consumer_recv(c, pkts, BURST, 0);
		for (j = 0; j < r; j++)
			sum += pkts[j].data[0] + pkts[j].caplen;
		n += (uint64_t)(r > 0 ? r : 0);
		rf_consumer_release(c);
	}
	return sum ? n : n; /* keep the reads */
}

static int run_inline(uint32_t size, uint64_t count, const char *dir, struct shared *sh)
{
	struct rf_producer_opts po = {
		.sz = sizeof(po), .dir = dir, .owner = (uid_t)-1, .group = (gid_t)-1};
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = dir};
	struct rf_producer *p;
	struct rf_consumer *c;
	int r;

	r = rf_producer_create("1@0", &po, &p);
	if (r < 0 || (r = rf_consumer_open("1@0", &co, &c)) < 0) {
		fprintf(stderr, "queue-bench: cannot set up queue '1@0': %s\n", strerror(-r));
		return r;
	}
	count -= count % BURST;
	sh->first_ns = now_ns();
	sh->received = inline_loop(p, c, size, count);
	sh->last_ns = now_ns();
	rf_consumer_close(c);
	rf_producer_destroy(p);
	rf_queue_remove("1@0", dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct shared *sh;
	uint32_t size;
	uint64_t count;
	int r;

	if (argc < 4 ||
	    (strcmp(argv[1], "queue") && strcmp(argv[1], "ring") && strcmp(argv[1], "inline"))) {
		fprintf(stderr, "usage: queue-bench queue|ring|inline SIZE COUNT [DIR]\n");
		return 2;
	}
	size = (uint32_t)strtoul(argv[2], NULL, 10);
	count = strtoull(argv[3], NULL, 10);
	if (size < 1 || size > MAX_SIZE || count == 0) {
		fprintf(stderr, "queue-bench: SIZE must be 1..%d and COUNT positive\n", MAX_SIZE);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	if (!strcmp(argv[1], "ring"))
		r = run_bare(size, count, sh);
	else if (!strcmp(argv[1], "inline")) {
		count -= count % BURST;
		r = run_inline(size, count, argc > 4 ? argv[4] : NULL, sh);
	} else
		r = run_queue(size, count, argc > 4 ? argv[4] : NULL, sh);
	if (r < 0 || sh->received != count || sh->last_ns <= sh->first_ns) {
		fprintf(stderr, "queue-bench: %s: received %" PRIu64 " of %" PRIu64 "\n", argv[1],
			sh->received, count);
		return 1;
	}
	printf("mode=%s size=%u packets=%" PRIu64 " seconds=%.3f mpps=%.3f\n", argv[1], size, count,
	       (double)(sh->last_ns - sh->first_ns) / 1e9,
	       (double)count / ((double)(sh->last_ns - sh->first_ns) / 1e3));
	return 0;
}
