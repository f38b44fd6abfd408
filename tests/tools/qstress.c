/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * qstress: the multi-process queue tests' workhorse.
 *
 *   qstress produce [opts] QUEUE...   write numbered, checksummed records to every QUEUE
 *   qstress consume [opts] QUEUE      receive and verify them; print what was seen
 *   qstress threads [opts] QUEUE      both, as two threads of one process (for TSan)
 *   qstress hostile [opts] QUEUE CONSFILE   attach, then scribble on the consumer page
 *   qstress poke QUEUE write-data|mprotect   try to write the read-only packet data
 *   qstress poke-file RINGFILE        try to map a ring file writable
 *   qstress query QUEUE               print the queue's counters and attachments
 *   qstress status FILE               print a consumer's progress file
 *
 * A record's first 24 bytes are its header: sequence number, producer run id,
 * length, and a 64-bit checksum of the remaining bytes (seeded with the other
 * header fields), so a consumer detects loss, duplication, reordering and
 * corruption of any byte. The producer numbers every record it tries to
 * enqueue, so the consumer's sequence gaps must equal the producer's drops.
 *
 * Results are printed as "key=value" lines for the test scripts to compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#define HDR_LEN	     24
#define MIN_LEN	     HDR_LEN
#define MAX_LEN	     65535
#define MAX_QUEUES   16
#define MAX_RUNS     8
#define MAX_BATCH    1024
#define PATTERN_LEN  (1u << 17)
#define STATUS_MAGIC 0x7173747265737331ull /* "qstress1" */
#define NONE	     UINT64_MAX

struct rec_hdr {
	uint64_t seq;
	uint32_t run;
	uint32_t len;
	uint64_t sum;
};
_Static_assert(sizeof(struct rec_hdr) == HDR_LEN, "record header layout");

/* Progress of a consumer, in a file it maps, so that it survives kill -9. */
struct status {
	uint64_t magic;
	uint64_t received;   /* records received by this process */
	uint64_t recv_last;  /* seq of the last record received */
	uint64_t pending;    /* seq up to which a release is in progress */
	uint64_t released;   /* seq up to which release returned */
	uint64_t run;	     /* run id of recv_last */
	uint64_t epipe;	     /* -EPIPE returns seen */
	uint64_t first_seen; /* seq of the first record this process received */
};

struct opts {
	uint64_t records; /* 0: until killed */
	uint32_t min_len, max_len;
	uint64_t pause_every; /* a pause every N records on average; 0: never */
	uint64_t pause_us;    /* longest pause */
	uint64_t rate;	      /* records per second; 0: as fast as possible */
	uint64_t ring_size;
	uint64_t seed;
	uint32_t batch;
	uint32_t release_every; /* consumer: release after this many recv calls */
	uint32_t mode;
	int64_t group;
	bool lossless;
	bool burst; /* producer: rf_producer_enqueue_burst() of --batch records (not lossless) */
	bool no_finish;
	double idle_s; /* consumer: give up after this long without a record */
	double seconds;
	uint32_t hz;
	const char *dir;
	const char *status_file;
};

struct run_stats {
	uint32_t id;
	uint64_t first, last, count, gaps, backwards;
};

struct verify {
	struct run_stats runs[MAX_RUNS];
	unsigned int nruns;
	uint64_t received, bad_sum, bad_meta, epipe, runs_overflow;
	bool eof;
};

static const char *prog = "qstress";
static uint8_t pattern[PATTERN_LEN];

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* A word-at-a-time 64-bit hash: every byte of the payload changes the result. */
static uint64_t checksum(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = rotl(h ^ (w * 0x87c37b91114253d5ull), 31) * 0x4cf5ad432745937full;
	}
	for (; n > 0; p++, n--)
		h = (h ^ *p) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

static uint64_t rec_seed(uint64_t seq, uint32_t run, uint32_t len)
{
	return seq * 0x9e3779b97f4a7c15ull ^ ((uint64_t)run << 32 | len);
}

/* The flow hash field carries a function of seq: the metadata is checked too. */
static uint32_t meta_hash(uint64_t seq)
{
	return (uint32_t)(seq * 2654435761u);
}

static void pattern_init(uint64_t seed)
{
	uint64_t s = seed | 1;
	size_t i;

	for (i = 0; i < PATTERN_LEN; i += 8) {
		uint64_t v = xorshift(&s);

		memcpy(pattern + i, &v, 8);
	}
}

/* Fill buf with record seq of len bytes; the body is a slice of the random pattern. */
static void rec_build(uint8_t *buf, uint64_t seq, uint32_t run, uint32_t len)
{
	struct rec_hdr h = {.seq = seq, .run = run, .len = len};
	size_t off = (seq * 4099) % (PATTERN_LEN - MAX_LEN);

	memcpy(buf + HDR_LEN, pattern + off, len - HDR_LEN);
	h.sum = checksum(buf + HDR_LEN, len - HDR_LEN, rec_seed(seq, run, len));
	memcpy(buf, &h, HDR_LEN);
}

/* ------------------------------------------------------------------ */
/* Producer                                                            */
/* ------------------------------------------------------------------ */

struct producer_run {
	struct rf_producer *q[MAX_QUEUES];
	const char *names[MAX_QUEUES];
	unsigned int nq;
	uint64_t sent; /* records numbered (enqueued or dropped) */
	uint32_t run;  /* this producer's id, in every record header */
	uint64_t start_ns, end_ns;
};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int producers_open(struct producer_run *pr, const struct opts *o)
{
	struct rf_producer_opts po = {
		.sz = sizeof(po),
		.dir = o->dir,
		.ring_size = o->ring_size,
		.owner = (uid_t)-1,
		.group = o->group < 0 ? (gid_t)-1 : (gid_t)o->group,
		.mode = o->mode,
	};
	unsigned int i;
	int r;

	for (i = 0; i < pr->nq; i++) {
		r = rf_producer_create(pr->names[i], &po, &pr->q[i]);
		if (r < 0) {
			err("cannot create queue '%s': %s", pr->names[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Lossless mode: make room for len bytes, publishing first so the consumer can free it. */
static int make_room(struct rf_producer *p, uint32_t len)
{
	int r = rf_producer_wait_space(p, len, 0);

	if (r == 0)
		return 0;
	rf_producer_publish(p);
	do {
		r = rf_producer_wait_space(p, len, 1000);
	} while ((r == -ETIMEDOUT || r == -EINTR) && !stop_flag);
	return r;
}

static int enqueue_all(struct producer_run *pr, const struct opts *o, const struct rf_packet *pkt)
{
	unsigned int i;
	int r;

	for (i = 0; i < pr->nq; i++) {
		/* On a nonsense cursor make_room fails and enqueue drops and counts it. */
		if (o->lossless)
			(void)make_room(pr->q[i], pkt->caplen);
		r = rf_producer_enqueue(pr->q[i], pkt);
		if (r < 0 && r != -ENOBUFS && r != -EPIPE) {
			err("enqueue on '%s': %s", pr->names[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

static void publish_all(struct producer_run *pr)
{
	unsigned int i;

	for (i = 0; i < pr->nq; i++)
		rf_producer_publish(pr->q[i]);
}

/* Sleep when ahead of the requested rate, or at random when pauses are asked for. */
static void producer_pace(struct producer_run *pr, const struct opts *o, uint64_t *rng)
{
	if (o->rate) {
		uint64_t due = pr->start_ns + pr->sent * 1000000000ull / o->rate;
		uint64_t now = now_ns();

		if (due > now)
			sleep_ns(due - now);
	}
	if (o->pause_every && xorshift(rng) % o->pause_every == 0) {
		publish_all(pr);
		sleep_ns(xorshift(rng) % (o->pause_us + 1) * 1000);
	}
}

/* The next record's length: uniform in [min_len, max_len]. */
static uint32_t next_len(const struct opts *o, uint64_t *rng)
{
	return o->min_len + (uint32_t)(xorshift(rng) % (o->max_len - o->min_len + 1));
}

static void make_record(struct producer_run *pr, uint8_t *buf, uint32_t len, struct rf_packet *pkt)
{
	rec_build(buf, pr->sent, pr->run, len);
	*pkt = (struct rf_packet){.data = buf,
				  .caplen = len,
				  .wirelen = len,
				  .ts_ns = pr->sent,
				  .hash = meta_hash(pr->sent)};
}

/* --burst: --batch records are built, then go to every queue in one call each. */
static int burst_all(struct producer_run *pr, const struct opts *o, uint64_t *rng, uint8_t *stage,
		     struct rf_packet *pkts)
{
	uint32_t i, n = 0;
	unsigned int q;
	int r;

	for (i = 0; i < o->batch && (!o->records || pr->sent < o->records) && !stop_flag; i++) {
		make_record(pr, stage + (size_t)i * o->max_len, next_len(o, rng), &pkts[n++]);
		pr->sent++;
	}
	for (q = 0; q < pr->nq; q++) {
		/* Records that do not fit are dropped and counted; the rest still go in. */
		r = rf_producer_enqueue_burst(pr->q[q], pkts, n);
		if (r < 0) {
			err("enqueue burst on '%s': %s", pr->names[q], strerror(-r));
			return r;
		}
	}
	return 0;
}

static int producer_loop(struct producer_run *pr, const struct opts *o)
{
	static uint8_t buf[MAX_LEN];
	static struct rf_packet pkts[MAX_BATCH];
	uint64_t rng = o->seed * 0x2545f4914f6cdd1dull | 1;
	uint8_t *stage = NULL;
	struct rf_packet pkt;
	int r = 0;

	pr->run = (uint32_t)(o->seed ^ (o->seed >> 32) ^ (uint64_t)getpid() << 8 ^ now_ns()) | 1;
	if (o->burst && !(stage = malloc((size_t)o->batch * o->max_len)))
		return -ENOMEM;
	pr->start_ns = now_ns();
	for (pr->sent = 0; (!o->records || pr->sent < o->records) && !stop_flag;) {
		if (stage) {
			r = burst_all(pr, o, &rng, stage, pkts);
		} else {
			make_record(pr, buf, next_len(o, &rng), &pkt);
			r = enqueue_all(pr, o, &pkt);
			pr->sent++;
		}
		if (r < 0)
			break;
		if (stage || pr->sent % o->batch == 0) {
			publish_all(pr);
			producer_pace(pr, o, &rng);
		}
	}
	free(stage);
	if (r < 0)
		return r;
	publish_all(pr);
	pr->end_ns = now_ns();
	return 0;
}

static void producer_report(struct producer_run *pr, const struct opts *o)
{
	double secs = (double)(pr->end_ns - pr->start_ns) / 1e9;
	struct rf_queue_info qi;
	unsigned int i;

	printf("run=%" PRIu32 "\nrecords=%" PRIu64 "\nseconds=%.3f\nrate=%.0f\n", pr->run, pr->sent,
	       secs, secs > 0 ? (double)pr->sent / secs : 0.0);
	for (i = 0; i < pr->nq; i++) {
		if (rf_producer_info(pr->q[i], &qi, sizeof(qi)) < 0)
			continue;
		printf("q%u.enqueued=%" PRIu64 "\nq%u.dropped_full=%" PRIu64
		       "\nq%u.dropped_cursor=%" PRIu64 "\nq%u.dropped_toobig=%" PRIu64 "\n",
		       i, qi.enqueued, i, qi.dropped_full, i, qi.dropped_cursor, i,
		       qi.dropped_toobig);
	}
	(void)o;
	fflush(stdout);
}

static void producers_close(struct producer_run *pr, const struct opts *o)
{
	unsigned int i;

	for (i = 0; i < pr->nq; i++) {
		if (pr->q[i] && !o->no_finish)
			rf_producer_finish(pr->q[i]);
		rf_producer_destroy(pr->q[i]);
		pr->q[i] = NULL;
	}
}

static int cmd_produce(const struct opts *o, char **names, int n)
{
	struct producer_run pr = {.nq = (unsigned int)n};
	int i, r;

	for (i = 0; i < n; i++)
		pr.names[i] = names[i];
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	r = producers_open(&pr, o);
	if (r == 0) {
		r = producer_loop(&pr, o);
		producer_report(&pr, o);
	}
	producers_close(&pr, o);
	return r < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Consumer                                                            */
/* ------------------------------------------------------------------ */

static struct status *status_map(const char *path)
{
	static struct status local;
	struct status *st = &local;
	int fd;

	if (path) {
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, sizeof(*st)) < 0) {
			err("cannot create '%s': %s", path, strerror(errno));
			exit(1);
		}
		st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (st == MAP_FAILED) {
			err("cannot map '%s': %s", path, strerror(errno));
			exit(1);
		}
	}
	*st = (struct status){.magic = STATUS_MAGIC,
			      .recv_last = NONE,
			      .pending = NONE,
			      .released = NONE,
			      .first_seen = NONE};
	return st;
}

static struct run_stats *run_for(struct verify *v, uint32_t id)
{
	struct run_stats *rs;

	if (v->nruns && v->runs[v->nruns - 1].id == id)
		return &v->runs[v->nruns - 1];
	if (v->nruns == MAX_RUNS) {
		v->runs_overflow++;
		return &v->runs[MAX_RUNS - 1];
	}
	rs = &v->runs[v->nruns++];
	*rs = (struct run_stats){.id = id, .first = NONE};
	return rs;
}

/* Check one packet; returns its seq (NONE if its header cannot be trusted). */
static uint64_t verify_packet(struct verify *v, const struct rf_packet *p)
{
	struct run_stats *rs;
	struct rec_hdr h;

	v->received++;
	if (p->caplen < HDR_LEN || p->caplen != p->wirelen) {
		v->bad_meta++;
		return NONE;
	}
	memcpy(&h, p->data, HDR_LEN);
	if (h.len != p->caplen || p->hash != meta_hash(h.seq) || p->ts_ns != h.seq) {
		v->bad_meta++;
		return NONE;
	}
	if (checksum(p->data + HDR_LEN, h.len - HDR_LEN, rec_seed(h.seq, h.run, h.len)) != h.sum) {
		v->bad_sum++;
		return NONE;
	}
	rs = run_for(v, h.run);
	if (rs->first == NONE)
		rs->first = h.seq;
	else if (h.seq <= rs->last)
		rs->backwards++;
	else
		rs->gaps += h.seq - rs->last - 1;
	if (rs->first == h.seq || h.seq > rs->last)
		rs->last = h.seq;
	rs->count++;
	return h.seq;
}

static void consumer_pause(const struct opts *o, uint64_t *rng)
{
	if (o->pause_every && xorshift(rng) % o->pause_every == 0)
		sleep_ns(xorshift(rng) % (o->pause_us + 1) * 1000);
}

static void status_received(struct status *st, const struct verify *v, uint64_t seq)
{
	if (seq == NONE)
		return;
	if (st->first_seen == NONE)
		st->first_seen = seq;
	st->recv_last = seq;
	st->run = v->nruns ? v->runs[v->nruns - 1].id : 0;
	st->received = v->received;
}

static void release(struct rf_consumer *c, struct status *st)
{
	st->pending = st->recv_last;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rf_consumer_release(c);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	st->released = st->recv_last;
}

/* Receive until the producer finishes (or idle_s passes without a record). */
static int consumer_loop(struct rf_consumer *c, const struct opts *o, struct verify *v,
			 struct status *st)
{
	static __thread struct rf_packet pkts[MAX_BATCH];
	uint64_t rng = (o->seed + 7) * 0x9e3779b97f4a7c15ull | 1;
	uint64_t idle_since = now_ns(), calls = 0;
	int n, i;

	for (;;) {
		n = rf_consumer_recv(c, pkts, o->batch, 100);
		if (n == -ENODATA) {
			v->eof = true;
			break;
		}
		if (n == -EPIPE) {
			st->epipe = ++v->epipe;
			continue;
		}
		if (n == -EINTR || n == 0) {
			release(c, st); /* an idle consumer gives everything back */
			if (now_ns() - idle_since > (uint64_t)(o->idle_s * 1e9)) {
				err("no record for %.1f s", o->idle_s);
				return -ETIMEDOUT;
			}
			continue;
		}
		if (n < 0) {
			err("receive: %s", strerror(-n));
			return n;
		}
		for (i = 0; i < n; i++)
			status_received(st, v, verify_packet(v, &pkts[i]));
		idle_since = now_ns();
		consumer_pause(o, &rng);
		if (++calls % o->release_every == 0)
			release(c, st);
	}
	release(c, st);
	return 0;
}

static void verify_report(const struct verify *v, struct rf_consumer *c)
{
	struct rf_consumer_stats cs;
	unsigned int i;

	printf("received=%" PRIu64 "\nbad_sum=%" PRIu64 "\nbad_meta=%" PRIu64 "\nepipe=%" PRIu64
	       "\neof=%d\nruns=%u\n",
	       v->received, v->bad_sum, v->bad_meta, v->epipe, v->eof,
	       v->nruns + (unsigned int)v->runs_overflow);
	for (i = 0; i < v->nruns; i++)
		printf("run%u.first=%" PRIu64 "\nrun%u.last=%" PRIu64 "\nrun%u.count=%" PRIu64
		       "\nrun%u.gaps=%" PRIu64 "\nrun%u.backwards=%" PRIu64 "\n",
		       i, v->runs[i].first, i, v->runs[i].last, i, v->runs[i].count, i,
		       v->runs[i].gaps, i, v->runs[i].backwards);
	if (c && rf_consumer_stats(c, &cs, sizeof(cs)) == 0)
		printf("stats.received=%" PRIu64 "\nstats.dropped=%" PRIu64
		       "\nstats.corrupt=%" PRIu64 "\nstats.producer_restarts=%" PRIu64 "\n",
		       cs.received, cs.dropped, cs.corrupt, cs.producer_restarts);
	fflush(stdout);
}

/* Integrity failures that no schedule can excuse. */
static bool verify_bad(const struct verify *v)
{
	unsigned int i;
	bool bad = v->bad_sum || v->bad_meta || v->runs_overflow;

	for (i = 0; i < v->nruns; i++)
		bad |= v->runs[i].backwards != 0;
	return bad;
}

static int consumer_open(const char *name, const struct opts *o, struct rf_consumer **ret)
{
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = o->dir};
	int r = rf_consumer_open(name, &co, ret);

	if (r < 0)
		err("cannot open queue '%s': %s", name, strerror(-r));
	return r;
}

static int cmd_consume(const struct opts *o, const char *name)
{
	struct status *st = status_map(o->status_file);
	struct verify v = {0};
	struct rf_consumer *c;
	int r;

	if (consumer_open(name, o, &c) < 0)
		return 1;
	r = consumer_loop(c, o, &v, st);
	verify_report(&v, c);
	rf_consumer_close(c);
	if (verify_bad(&v))
		err("queue '%s': corrupt, duplicated or reordered records", name);
	return r < 0 || verify_bad(&v) ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Threads: producer and consumer in one process (the TSan variant)    */
/* ------------------------------------------------------------------ */

struct thread_arg {
	const struct opts *o;
	const char *name;
	struct producer_run pr;
	struct rf_consumer *c;
	struct verify v;
	int ret;
};

static void *producer_thread(void *p)
{
	struct thread_arg *a = p;

	a->ret = producer_loop(&a->pr, a->o);
	producer_report(&a->pr, a->o);
	producers_close(&a->pr, a->o);
	return NULL;
}

static void *consumer_thread(void *p)
{
	struct thread_arg *a = p;
	struct status *st = status_map(NULL);

	a->ret = consumer_loop(a->c, a->o, &a->v, st);
	return NULL;
}

static int cmd_threads(const struct opts *o, const char *name)
{
	struct thread_arg pa = {.o = o, .name = name, .pr = {.nq = 1, .names = {name}}};
	struct thread_arg ca = {.o = o, .name = name};
	pthread_t pt, ct;

	if (producers_open(&pa.pr, o) < 0 || consumer_open(name, o, &ca.c) < 0)
		return 1;
	if (pthread_create(&ct, NULL, consumer_thread, &ca) ||
	    pthread_create(&pt, NULL, producer_thread, &pa)) {
		err("cannot start threads");
		return 1;
	}
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	verify_report(&ca.v, ca.c);
	rf_consumer_close(ca.c);
	return pa.ret < 0 || ca.ret < 0 || verify_bad(&ca.v) ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Hostile acts                                                        */
/* ------------------------------------------------------------------ */

static void *map_rw(const char *path, size_t *ret_len)
{
	struct stat sb;
	void *m;
	int fd = open(path, O_RDWR);

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0) {
		err("cannot open '%s' for writing: %s", path, strerror(errno));
		return NULL;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		err("cannot map '%s': %s", path, strerror(errno));
		return NULL;
	}
	*ret_len = (size_t)sb.st_size;
	return m;
}

/* Half the time pure noise, half the time small numbers that look like cursors. */
static void scribble(uint64_t *w, size_t nwords, uint64_t *rng, uint64_t round)
{
	size_t i;

	for (i = 0; i < nwords; i++) {
		uint64_t x = xorshift(rng);

		__atomic_store_n(&w[i], round & 1 ? x : x % (1ull << 28), __ATOMIC_RELAXED);
	}
}

static int cmd_hostile(const struct opts *o, const char *name, const char *cons_file)
{
	struct rf_packet pkts[16];
	struct rf_consumer *c;
	uint64_t rng = o->seed | 1, rounds = 0, end;
	size_t len;
	uint64_t *page;

	if (consumer_open(name, o, &c) < 0)
		return 1;
	/* Behave for a moment, then turn. */
	(void)rf_consumer_recv(c, pkts, 16, 1000);
	rf_consumer_release(c);
	page = map_rw(cons_file, &len);
	if (!page)
		return 1;
	end = now_ns() + (uint64_t)(o->seconds * 1e9);
	while (now_ns() < end) {
		scribble(page, len / 8, &rng, rounds++);
		sleep_ns(1000000000ull / o->hz);
	}
	printf("scribbles=%" PRIu64 "\nbytes=%zu\n", rounds, len);
	munmap(page, len);
	rf_consumer_close(c);
	return 0;
}

static int recv_one(const char *name, const struct opts *o, struct rf_consumer **ret_c,
		    struct rf_packet *pkt)
{
	int n;

	if (consumer_open(name, o, ret_c) < 0)
		return -1;
	do
		n = rf_consumer_recv(*ret_c, pkt, 1, 5000);
	while (n == -EINTR || n == -EPIPE);
	if (n != 1) {
		err("queue '%s': no packet to poke at (%s)", name,
		    n < 0 ? strerror(-n) : "timeout");
		return -1;
	}
	return 0;
}

/* Write through the packet data pointer: the mapping is read-only, so this must not survive. */
static int poke_write(const struct rf_packet *pkt)
{
	volatile uint8_t *d = (volatile uint8_t *)(uintptr_t)pkt->data;

	fprintf(stderr, "%s: writing to packet data at %p\n", prog, (void *)(uintptr_t)d);
	d[0] ^= 0xff;
	err("FAIL: write to packet data succeeded");
	return 1;
}

/* Make the packet data's page writable: the file was opened read-only, so EACCES. */
static int poke_mprotect(const struct rf_packet *pkt)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	void *page = (void *)((uintptr_t)pkt->data & ~(pg - 1));

	if (mprotect(page, pg, PROT_READ | PROT_WRITE) == 0) {
		err("FAIL: mprotect of packet data to writable succeeded");
		return 1;
	}
	printf("mprotect=%s\n", strerror(errno));
	return errno == EACCES ? 0 : 1;
}

static int cmd_poke(const struct opts *o, const char *name, const char *what)
{
	struct rf_consumer *c = NULL;
	struct rf_packet pkt;
	int rc = 2;

	if (strcmp(what, "write-data") && strcmp(what, "mprotect")) {
		err("unknown poke '%s'", what);
		return 2;
	}
	if (recv_one(name, o, &c, &pkt) < 0)
		rc = 1;
	else if (!strcmp(what, "write-data"))
		rc = poke_write(&pkt);
	else
		rc = poke_mprotect(&pkt);
	rf_consumer_close(c);
	return rc;
}

/* Map a ring file writable two ways: from a read-only fd, and by opening it read-write. */
static int cmd_poke_file(const char *path)
{
	int fd = open(path, O_RDONLY), rc = 0;
	void *m;

	if (fd < 0) {
		err("cannot open '%s': %s", path, strerror(errno));
		return 1;
	}
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("mmap_rw_from_rdonly=%s\n", m == MAP_FAILED ? strerror(errno) : "mapped");
	if (m != MAP_FAILED)
		rc = 1;
	close(fd);
	fd = open(path, O_RDWR);
	printf("open_rdwr=%s\n", fd < 0 ? strerror(errno) : "opened");
	if (fd >= 0)
		close(fd);
	return rc;
}

static int cmd_query(const struct opts *o, const char *name)
{
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = o->dir};
	struct rf_queue_info qi;
	int r = rf_queue_query(name, &co, &qi, sizeof(qi));

	if (r < 0) {
		err("cannot query queue '%s': %s", name, strerror(-r));
		return 1;
	}
	printf("generation=%" PRIu64 "\nring_size=%" PRIu64 "\nenqueued=%" PRIu64
	       "\ndropped_full=%" PRIu64 "\ndropped_cursor=%" PRIu64 "\nconsumer_read=%" PRIu64
	       "\nbacklog_bytes=%" PRIu64 "\nproducer_pid=%d\nconsumer_pid=%d\nfinished=%d\n",
	       qi.generation, qi.ring_size, qi.enqueued, qi.dropped_full, qi.dropped_cursor,
	       qi.consumer_read, qi.backlog_bytes, qi.producer_pid, qi.consumer_pid, qi.finished);
	printf("linktype=%d\nproducer_starts=%u\nstarted_ns=%" PRIu64 "\nfinished_ns=%" PRIu64
	       "\nbacklog_packets=%" PRIu64 "\nowner=%u\ndropped_toobig=%" PRIu64 "\n",
	       (int)qi.linktype, qi.producer_starts, qi.started_ns, qi.finished_ns,
	       qi.backlog_packets, (unsigned int)qi.owner, qi.dropped_toobig);
	return 0;
}

static int cmd_status(const char *path)
{
	struct status st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, &st, sizeof(st)) != (ssize_t)sizeof(st) ||
	    st.magic != STATUS_MAGIC) {
		err("cannot read status '%s'", path);
		return 1;
	}
	close(fd);
	printf("received=%" PRIu64 "\nrecv_last=%" PRId64 "\npending=%" PRId64 "\nreleased=%" PRId64
	       "\nrun=%" PRIu64 "\nepipe=%" PRIu64 "\nfirst_seen=%" PRId64 "\n",
	       st.received, (int64_t)st.recv_last, (int64_t)st.pending, (int64_t)st.released,
	       st.run, st.epipe, (int64_t)st.first_seen);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr,
		"usage: %s produce|consume|threads [options] QUEUE...\n"
		"       %s hostile [options] QUEUE CONSFILE\n"
		"       %s poke QUEUE write-data|mprotect\n"
		"       %s poke-file RINGFILE\n"
		"       %s query QUEUE | status FILE\n"
		"options: --records N --min BYTES --max BYTES --pause-every N --pause-us US --rate "
		"N\n"
		"         --ring-size BYTES --seed N --batch N --release-every N --mode OCTAL "
		"--group GID\n"
		"         --lossless --burst --no-finish --idle SECONDS --seconds S --hz N --dir "
		"DIR "
		"--status FILE\n",
		prog, prog, prog, prog, prog);
	return 2;
}

static bool num(const char *s, uint64_t min, uint64_t max, int base, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		err("invalid number '%s' (expected %" PRIu64 "..%" PRIu64 ")", s, min, max);
		return false;
	}
	*ret = v;
	return true;
}

static bool parse_opt(struct opts *o, int c, const char *arg)
{
	uint64_t v = 0;
	bool ok = true;

	switch (c) {
	case 'n':
		ok = num(arg, 0, UINT64_MAX, 10, &o->records);
		break;
	case 'a':
		ok = num(arg, MIN_LEN, MAX_LEN, 10, &v), o->min_len = (uint32_t)v;
		break;
	case 'b':
		ok = num(arg, MIN_LEN, MAX_LEN, 10, &v), o->max_len = (uint32_t)v;
		break;
	case 'p':
		ok = num(arg, 0, UINT64_MAX, 10, &o->pause_every);
		break;
	case 'u':
		ok = num(arg, 0, 10000000, 10, &o->pause_us);
		break;
	case 'r':
		ok = num(arg, 0, UINT64_MAX, 10, &o->rate);
		break;
	case 'R':
		ok = num(arg, 0, 1ull << 40, 0, &o->ring_size);
		break;
	case 's':
		ok = num(arg, 0, UINT64_MAX, 0, &o->seed);
		break;
	case 'B':
		ok = num(arg, 1, MAX_BATCH, 10, &v), o->batch = (uint32_t)v;
		break;
	case 'e':
		ok = num(arg, 1, 1000000, 10, &v), o->release_every = (uint32_t)v;
		break;
	case 'm':
		ok = num(arg, 0, 07777, 8, &v), o->mode = (uint32_t)v;
		break;
	case 'g':
		ok = num(arg, 0, UINT32_MAX - 1, 10, &v), o->group = (int64_t)v;
		break;
	case 'L':
		o->lossless = true;
		break;
	case 'U':
		o->burst = true;
		break;
	case 'F':
		o->no_finish = true;
		break;
	case 'i':
		o->idle_s = strtod(arg, NULL);
		ok = o->idle_s > 0;
		break;
	case 'S':
		o->seconds = strtod(arg, NULL);
		ok = o->seconds > 0;
		break;
	case 'z':
		ok = num(arg, 1, 100000, 10, &v), o->hz = (uint32_t)v;
		break;
	case 'd':
		o->dir = arg;
		break;
	case 'f':
		o->status_file = arg;
		break;
	default:
		ok = false;
	}
	return ok;
}

static const struct option long_opts[] = {
	{"records", required_argument, NULL, 'n'},
	{"min", required_argument, NULL, 'a'},
	{"max", required_argument, NULL, 'b'},
	{"pause-every", required_argument, NULL, 'p'},
	{"pause-us", required_argument, NULL, 'u'},
	{"rate", required_argument, NULL, 'r'},
	{"ring-size", required_argument, NULL, 'R'},
	{"seed", required_argument, NULL, 's'},
	{"batch", required_argument, NULL, 'B'},
	{"release-every", required_argument, NULL, 'e'},
	{"mode", required_argument, NULL, 'm'},
	{"group", required_argument, NULL, 'g'},
	{"lossless", no_argument, NULL, 'L'},
	{"burst", no_argument, NULL, 'U'},
	{"no-finish", no_argument, NULL, 'F'},
	{"idle", required_argument, NULL, 'i'},
	{"seconds", required_argument, NULL, 'S'},
	{"hz", required_argument, NULL, 'z'},
	{"dir", required_argument, NULL, 'd'},
	{"status", required_argument, NULL, 'f'},
	{NULL, 0, NULL, 0},
};

static int parse_opts(struct opts *o, int argc, char **argv)
{
	int c;

	*o = (struct opts){.records = 1000000,
			   .min_len = 60,
			   .max_len = 9000,
			   .pause_us = 1000,
			   .seed = 1,
			   .batch = 32,
			   .release_every = 1,
			   .group = -1,
			   .idle_s = 10,
			   .seconds = 5,
			   .hz = 1000};
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
		if (!parse_opt(o, c, optarg))
			return -EINVAL;
	if (o->min_len > o->max_len) {
		err("--min is larger than --max");
		return -EINVAL;
	}
	if (o->burst && o->lossless) {
		err("--burst drops what does not fit: it cannot be --lossless");
		return -EINVAL;
	}
	return optind;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct opts o;
	int first, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	first = parse_opts(&o, argc - 1, argv + 1);
	if (first < 0)
		return usage();
	first++; /* index into argv */
	n = argc - first;
	pattern_init(0x5eed);
	if (!strcmp(cmd, "produce") && n >= 1 && n <= MAX_QUEUES)
		return cmd_produce(&o, argv + first, n);
	if (!strcmp(cmd, "consume") && n == 1)
		return cmd_consume(&o, argv[first]);
	if (!strcmp(cmd, "threads") && n == 1)
		return cmd_threads(&o, argv[first]);
	if (!strcmp(cmd, "hostile") && n == 2)
		return cmd_hostile(&o, argv[first], argv[first + 1]);
	if (!strcmp(cmd, "poke") && n == 2)
		return cmd_poke(&o, argv[first], argv[first + 1]);
	if (!strcmp(cmd, "poke-file") && n == 1)
		return cmd_poke_file(argv[first]);
	if (!strcmp(cmd, "query") && n == 1)
		return cmd_query(&o, argv[first]);
	if (!strcmp(cmd, "status") && n == 1)
		return cmd_status(argv[first]);
	return usage();
}
