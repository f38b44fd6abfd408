/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: a consumer attached to a ring whose bytes are garbage.
 * The consumer maps files another process wrote; a buggy or hostile
 * producer, or a corrupted file, must cost counted skips, never a crash or a
 * packet pointing outside the ring.
 *
 * The queues are real: rf_producer_create() makes one per ring size in a
 * temporary directory and stays alive (its lock says "producer alive"); the
 * target then writes the input straight into the files through its own
 * mappings and runs the public consumer API on them.
 *
 * Input (little-endian), see tests/fuzz/fuzz_ring.seeds:
 *   0  u8  ctl: bits 0-1 ring size (4, 8, 16 KiB), 2 FROM_NEWEST,
 *          3 NO_REATTACH, 4 NO_SPIN, 5 finished, 6 release after each
 *          receive
 *   1  u8  packets per receive, 1 + v % 64
 *   2  u8  receives, 1 + v % 16
 *   3  u8  identity header byte to damage (v % 48) ...
 *   4  u8  ... XORed with this (0: header left intact)
 *   8  u64 consumer cursor (tail) in the consumer page
 *   16 i32 head - tail
 *   20 i32 added to head after each receive (the producer publishing more)
 *   24 ...  the data area from the cursor on (wrapping), zeros after
 *
 * Checks: the first receive returns exactly the records a plain walk of an
 * exact-size heap copy of the data area finds (rf_ring_read_record under
 * ASan), with the same bytes; every packet of every receive satisfies the
 * record limits; rf_ring_read_record itself is also called on the raw
 * (tail, head) pair and its result checked against the data area's bounds;
 * rf_queue_query() on the same files reports the ring's size and a backlog
 * only from a sane cursor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The library's internals: record reader, cursor check, file layout. */
#include "../../lib/internal.h"

#define N_SIZES	 3
#define MAX_PKTS 64
#define CLUSTER	 7

struct fz_queue {
	struct rf_producer *prod;
	struct rf_ring_hdr *hdr; /* our writable mapping of the .ring file */
	uint8_t *data;
	struct rf_cons_page *cons; /* our writable mapping of the .cons file */
	uint64_t size;
	char name[32];
};

struct fz_input {
	uint8_t ctl, max, rounds, hdr_idx, hdr_xor;
	uint64_t tail, head;
	int32_t step;
	const uint8_t *bytes;
	size_t n_bytes;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char qdir[64];
static struct fz_queue queues[N_SIZES];

static void cleanup(void)
{
	for (int i = 0; i < N_SIZES; i++) {
		if (queues[i].prod)
			rf_queue_remove(queues[i].name, qdir);
	}
	rmdir(qdir);
}

static void *map_rw(const char *path, size_t len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	void *p;

	if (fd < 0)
		abort();
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		abort();
	return p;
}

static void init_queue(struct fz_queue *q, unsigned int i)
{
	struct rf_producer_opts o = {.sz = sizeof(o),
				     .dir = qdir,
				     .ring_size = RF_RING_MIN_SIZE << i,
				     .owner = (uid_t)-1,
				     .group = (gid_t)-1};
	char path[PATH_MAX];

	snprintf(q->name, sizeof(q->name), "%u@%u", CLUSTER, i);
	if (rf_producer_create(q->name, &o, &q->prod) < 0)
		abort();
	q->size = o.ring_size;
	snprintf(path, sizeof(path), "%s/%s.ring", qdir, q->name);
	q->hdr = map_rw(path, RF_RING_HDR_SIZE + q->size);
	q->data = (uint8_t *)q->hdr + RF_RING_HDR_SIZE;
	snprintf(path, sizeof(path), "%s/%s.cons", qdir, q->name);
	q->cons = map_rw(path, RF_CONS_PAGE_SIZE);
}

static void init(void)
{
	/* tmpfs, where queues live; any directory does. */
	snprintf(qdir, sizeof(qdir), "/dev/shm/fuzz_ring.XXXXXX");
	if (!mkdtemp(qdir)) {
		snprintf(qdir, sizeof(qdir), "/tmp/fuzz_ring.XXXXXX");
		if (!mkdtemp(qdir))
			abort();
	}
	atexit(cleanup);
	for (unsigned int i = 0; i < N_SIZES; i++)
		init_queue(&queues[i], i);
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static bool parse_input(const uint8_t *d, size_t n, struct fz_input *in)
{
	if (n < 24)
		return false;
	in->ctl = d[0];
	in->max = (uint8_t)(1 + d[1] % MAX_PKTS);
	in->rounds = (uint8_t)(1 + d[2] % 16);
	in->hdr_idx = d[3] % 48;
	in->hdr_xor = d[4];
	in->tail = get_le(d + 8, 8);
	in->head = in->tail + (uint64_t)(int64_t)(int32_t)get_le(d + 16, 4);
	in->step = (int32_t)get_le(d + 20, 4);
	in->bytes = d + 24;
	in->n_bytes = n - 24;
	return true;
}

/* Lay the input into the queue's files as a producer (and an old consumer) left them. */
static void write_queue(struct fz_queue *q, const struct fz_input *in)
{
	uint64_t off = in->tail & (q->size - 1), n = in->n_bytes < q->size ? in->n_bytes : q->size;
	uint64_t first = n < q->size - off ? n : q->size - off;

	memset(q->data, 0, q->size);
	memcpy(q->data + off, in->bytes, first);
	memcpy(q->data, in->bytes + first, n - first);
	atomic_store_explicit(&q->hdr->head, in->head, memory_order_relaxed);
	atomic_store_explicit(&q->hdr->finished, (in->ctl >> 5) & 1, memory_order_relaxed);
	q->cons->magic = RF_CONS_MAGIC;
	atomic_store_explicit(&q->cons->tail, in->tail, memory_order_relaxed);
	atomic_store_explicit(&q->cons->pid, 0, memory_order_relaxed);
	((uint8_t *)q->hdr)[in->hdr_idx] ^= in->hdr_xor;
	/*
	 * The page always belongs to the ring's generation, damaged or not: a
	 * consumer waits 50 ms before it takes over a page of another generation
	 * (tests/unit/test_ring.c covers that), which would stall the fuzzer.
	 */
	q->cons->generation = q->hdr->generation;
}

/* Limits every packet a consumer hands out must respect, whatever the ring held. */
static void check_packet(const struct rf_packet *p, uint64_t size)
{
	volatile uint8_t sink = 0;

	if (p->caplen > p->wirelen || p->caplen > size - RF_REC_HDR_LEN ||
	    (p->flags & ~RF_REC_PUBLIC_MASK) || (!p->data && p->caplen))
		abort();
	/* Every byte must be readable: a pointer outside the mapping faults here. */
	for (uint32_t i = 0; i < p->caplen; i++)
		sink ^= p->data[i];
	(void)sink;
}

/*
 * One record read on the exact-size copy: whatever it returns must lie in
 * the area, end before head and (packets) carry its bytes inside the record.
 */
static int read_checked(const uint8_t *area, uint64_t size, uint64_t pos, uint64_t head,
			struct rf_packet *p, uint32_t *len)
{
	uint64_t off = pos & (size - 1);
	int r = rf_ring_read_record(area, size, pos, head, p, len);

	if (r < 0)
		return r;
	if ((r != RF_REC_PACKET && r != RF_REC_FILLER) || *len < RF_REC_ALIGN ||
	    (*len & (RF_REC_ALIGN - 1)) || *len > head - pos || *len > size - off)
		abort();
	if (r == RF_REC_FILLER && off + *len != size)
		abort();
	if (r == RF_REC_PACKET &&
	    (p->data < area + off + RF_REC_HDR_LEN || p->data + p->caplen > area + off + *len))
		abort();
	if (r == RF_REC_PACKET)
		check_packet(p, size);
	return r;
}

/* The packets a fresh consumer's first receive must return, found on the heap copy. */
static unsigned int expected_first(const uint8_t *area, uint64_t size, const struct fz_input *in,
				   struct rf_packet *exp)
{
	uint64_t h = in->head, pos = in->tail;
	unsigned int n = 0;
	uint32_t len;
	int r;

	if ((in->ctl & 4) || !rf_cursor_sane(pos, 0, h, size))
		pos = h;
	if (pos == h || (h & (RF_REC_ALIGN - 1)))
		return 0;
	while (n < in->max && pos < h) {
		r = read_checked(area, size, pos, h, &exp[n], &len);
		if (r < 0)
			break;
		pos += len;
		if (r == RF_REC_PACKET)
			n++;
	}
	return n;
}

static bool same_packet(const struct rf_packet *a, const struct rf_packet *b)
{
	return a->caplen == b->caplen && a->wirelen == b->wirelen && a->ts_ns == b->ts_ns &&
	       a->ifindex == b->ifindex && a->hash == b->hash && a->flags == b->flags &&
	       !memcmp(a->data, b->data, a->caplen);
}

static void check_first(const struct rf_packet *got, int r, const struct rf_packet *exp,
			unsigned int n_exp)
{
	if (n_exp == 0) {
		if (r != 0 && r != -ENODATA)
			abort();
		return;
	}
	if (r != (int)n_exp)
		abort();
	for (unsigned int i = 0; i < n_exp; i++)
		if (!same_packet(&got[i], &exp[i]))
			abort();
}

static void consume(struct fz_queue *q, const struct fz_input *in, const struct rf_packet *exp,
		    int n_exp)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .dir = qdir, .flags = (in->ctl >> 2) & 7};
	struct rf_packet pkts[MAX_PKTS];
	struct rf_consumer_stats st;
	struct rf_consumer *c;
	int r;

	r = rf_consumer_open(q->name, &o, &c);
	if (r < 0) {
		/* Only a damaged identity header may keep the consumer out. */
		if (!in->hdr_xor || r != -EPROTO)
			abort();
		return;
	}
	for (unsigned int i = 0; i < in->rounds; i++) {
		r = rf_consumer_recv(c, pkts, in->max, 0);
		if (i == 0 && n_exp >= 0)
			check_first(pkts, r, exp, (unsigned int)n_exp);
		/* The producer lives (its lock is held) and its files stay: never -EPIPE. */
		if (r > (int)in->max || (r < 0 && r != -ENODATA))
			abort();
		for (int k = 0; k < r; k++)
			check_packet(&pkts[k], q->size);
		if (rf_consumer_stats(c, &st, sizeof(st)) < 0 || st.backlog_bytes > q->size)
			abort();
		if (in->ctl & 0x40)
			rf_consumer_release(c);
		atomic_fetch_add_explicit(&q->hdr->head, (uint64_t)(int64_t)in->step,
					  memory_order_relaxed);
	}
	rf_consumer_close(c);
}

/* Inspection without attaching (ringfan stats, count) reads the same untrusted files. */
static void query(const struct fz_queue *q, const struct fz_input *in)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .dir = qdir};
	struct rf_queue_info qi;
	int r = rf_queue_query(q->name, &o, &qi, sizeof(qi));

	if (r < 0) {
		if (!in->hdr_xor || r != -EPROTO)
			abort();
		return;
	}
	/* No consumer holds the page's lock now; backlog only from a sane cursor. */
	if (qi.ring_size != q->size || qi.backlog_bytes > q->size || qi.consumer_pid != 0 ||
	    (qi.backlog_bytes && qi.backlog_bytes != in->head - in->tail))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rf_packet exp[MAX_PKTS];
	struct fz_input in;
	struct fz_queue *q;
	struct rf_packet p;
	uint8_t *area;
	uint32_t len;
	int n_exp;

	if (!queues[0].prod)
		init();
	if (!parse_input(data, size, &in))
		return 0;
	q = &queues[(in.ctl & 3) % N_SIZES];
	write_queue(q, &in);
	/* An exact-size heap copy: any read past the data area is caught. */
	area = malloc(q->size);
	if (!area)
		abort();
	memcpy(area, q->data, q->size);
	read_checked(area, q->size, in.tail, in.head, &p, &len);
	/* A damaged header byte may be the ring size: then there is no model to compare with. */
	n_exp = in.hdr_xor ? -1 : (int)expected_first(area, q->size, &in, exp);
	query(q, &in);
	consume(q, &in, exp, n_exp);
	((uint8_t *)q->hdr)[in.hdr_idx] ^= in.hdr_xor;
	free(area);
	return 0;
}
