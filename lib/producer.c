/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The producer side of a queue: creates a generation of the queue files,
 * copies packets into the ring, publishes once per burst, wakes a sleeping
 * consumer. Nothing here trusts the consumer page.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct rf_producer {
	struct rf_ring_hdr *hdr; /* shared, read-write */
	uint8_t *data;		 /* hdr + RF_RING_HDR_SIZE */
	const struct rf_cons_page *cons;
	uint64_t size, mask;
	uint32_t max_record;
	bool cursor_bad;
	bool finished;
	uint64_t head;	    /* next byte to write (unpublished) */
	uint64_t head_pub;  /* last head published */
	uint64_t tail;	    /* last sane consumer cursor seen */
	uint64_t wake_head; /* head at the last wake-up: one wake per new head at most */
	uint64_t enqueued, enqueued_bytes, dropped_full, dropped_cursor, dropped_toobig;
	int ring_fd, cons_fd;
	size_t map_len;
	struct rf_paths paths;
};

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static int check_opts(struct rf_producer_opts *o, const struct rf_producer_opts *src)
{
	int r = rf_opts_copy(o, sizeof(*o), src);

	if (r < 0)
		return r;
	/* Owner and group absent from an older caller's struct (or no opts): the caller. */
	if (!src || src->sz < offsetof(struct rf_producer_opts, owner) + sizeof(uid_t))
		o->owner = (uid_t)-1;
	if (!src || src->sz < offsetof(struct rf_producer_opts, group) + sizeof(gid_t))
		o->group = (gid_t)-1;
	if (!o->ring_size)
		o->ring_size = RF_RING_DEF_SIZE;
	if (!o->mode)
		o->mode = 0600;
	if (o->ring_size < RF_RING_MIN_SIZE || o->ring_size > RF_RING_MAX_SIZE ||
	    (o->ring_size & (o->ring_size - 1)) || (o->mode & ~(mode_t)0777))
		return -EINVAL;
	return 0;
}

static int mkdir_queue_dir(const char *dir)
{
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

/*
 * Open the current .ring (creating an empty placeholder if there is none)
 * and lock it: whoever holds this lock is the queue's producer. Retries if
 * the name was replaced between open and lock.
 */
static int lock_current_ring(const char *path, int *ret_fd)
{
	struct stat a, b;
	int attempt, fd, r;

	for (attempt = 0; attempt < 100; attempt++) {
		fd = open(path, O_RDWR | RF_O_FLAGS);
		if (fd < 0 && errno == ENOENT)
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | RF_O_FLAGS, 0600);
		if (fd < 0) {
			if (errno == EEXIST || errno == ENOENT)
				continue;
			return -errno;
		}
		r = rf_lock_file(fd);
		if (r == 0 && (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino ||
			       a.st_dev != b.st_dev))
			r = -EAGAIN;
		if (r == 0) {
			*ret_fd = fd;
			return 0;
		}
		close(fd);
		if (r != -EAGAIN)
			return r;
	}
	return -EBUSY;
}

/*
 * Temporary files a producer left when it died while creating this queue.
 * Only the holder of the queue's lock builds a generation, so any found now
 * are stale.
 */
static void remove_stale_temps(const struct rf_paths *p)
{
	char ring[48], cons[48];
	struct dirent *e;
	DIR *d = opendir(p->dir);

	if (!d)
		return;
	snprintf(ring, sizeof(ring), ".%u@%u.ring.", p->cluster, p->queue);
	snprintf(cons, sizeof(cons), ".%u@%u.cons.", p->cluster, p->queue);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, ring, strlen(ring)) ||
		    !strncmp(e->d_name, cons, strlen(cons)))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* A generation number unlike the previous one and never 0. */
static uint64_t new_generation(int old_fd)
{
	struct rf_ring_hdr old;
	struct timespec ts;
	uint64_t g;

	clock_gettime(CLOCK_REALTIME, &ts);
	g = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
	    ((uint64_t)getpid() << 40);
	if (pread(old_fd, &old, sizeof(old), 0) == (ssize_t)sizeof(old) && old.generation == g)
		g++;
	return g ? g : 1;
}

/* A temporary file in the queue directory with the operator's owner, group and mode. */
static int make_temp(const char *dir, const char *suffix, const struct rf_paths *p,
		     const struct rf_producer_opts *o, mode_t mode, uint64_t size, char *ret_path)
{
	int fd, r = 0;

	if (snprintf(ret_path, PATH_MAX, "%s/.%u@%u.%s.XXXXXX", dir, p->cluster, p->queue,
		     suffix) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = mkostemp(ret_path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((o->owner != (uid_t)-1 || o->group != (gid_t)-1) && fchown(fd, o->owner, o->group) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	/* Reserve the memory now: a full tmpfs must fail here, not SIGBUS a writer later. */
	if (r == 0)
		r = -posix_fallocate(fd, 0, (off_t)size);
	if (r < 0) {
		close(fd);
		unlink(ret_path);
		return r;
	}
	return fd;
}

/* Whoever may read the ring may commit a cursor: read bits imply write bits. */
static mode_t cons_mode(mode_t m)
{
	return m | ((m & 0444) >> 1);
}

static void init_ring_hdr(struct rf_producer *p, uint64_t generation)
{
	struct rf_ring_hdr *h = p->hdr;

	h->abi_version = RF_ABI_VERSION;
	h->hdr_size = RF_RING_HDR_SIZE;
	h->ring_size = p->size;
	h->generation = generation;
	h->cluster = p->paths.cluster;
	h->queue = p->paths.queue;
	h->producer_pid = (int32_t)getpid();
	h->max_record = p->max_record;
	h->magic = RF_RING_MAGIC;
}

static int map_new_files(struct rf_producer *p, int ring_fd, int cons_fd, uint64_t generation)
{
	struct rf_cons_page *cp;
	void *m;
	int r;

	cp = mmap(NULL, RF_CONS_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, cons_fd, 0);
	if (cp == MAP_FAILED)
		return -errno;
	cp->generation = generation;
	cp->magic = RF_CONS_MAGIC;
	r = rf_guard_add(cp);
	if (r < 0) {
		munmap(cp, RF_CONS_PAGE_SIZE);
		return r;
	}
	/* From here on the page belongs to consumers: read it only through p->cons. */
	p->cons = cp;
	m = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	p->hdr = m;
	p->data = (uint8_t *)m + RF_RING_HDR_SIZE;
	init_ring_hdr(p, generation);
	return 0;
}

/*
 * Build the new generation under temporary names, then rename: the page
 * first, so that a consumer seeing the new ring also finds its page.
 */
static int create_generation(struct rf_producer *p, const struct rf_producer_opts *o, int old_fd)
{
	char ring_tmp[PATH_MAX], cons_tmp[PATH_MAX];
	int r;

	p->cons_fd = make_temp(p->paths.dir, "cons", &p->paths, o, cons_mode(o->mode),
			       RF_CONS_PAGE_SIZE, cons_tmp);
	if (p->cons_fd < 0)
		return p->cons_fd;
	p->ring_fd = make_temp(p->paths.dir, "ring", &p->paths, o, o->mode, p->map_len, ring_tmp);
	if (p->ring_fd < 0) {
		r = p->ring_fd;
		goto err_cons;
	}
	r = rf_lock_file(p->ring_fd);
	if (r == 0)
		r = map_new_files(p, p->ring_fd, p->cons_fd, new_generation(old_fd));
	if (r == 0 && rename(cons_tmp, p->paths.cons) < 0)
		r = -errno;
	if (r == 0 && rename(ring_tmp, p->paths.ring) < 0) {
		r = -errno;
		unlink(p->paths.cons);
	}
	if (r == 0)
		return 0;
	unlink(ring_tmp);
err_cons:
	unlink(cons_tmp);
	return r;
}

static void producer_free(struct rf_producer *p)
{
	if (p->hdr)
		munmap(p->hdr, p->map_len);
	if (p->cons) {
		rf_guard_remove(p->cons);
		munmap((void *)p->cons, RF_CONS_PAGE_SIZE);
	}
	if (p->ring_fd >= 0)
		close(p->ring_fd);
	if (p->cons_fd >= 0)
		close(p->cons_fd);
	free(p);
}

int rf_producer_create(const char *name, const struct rf_producer_opts *opts,
		       struct rf_producer **ret_producer)
{
	struct rf_producer_opts o;
	struct rf_producer *p;
	int old_fd = -1, r;

	if (!ret_producer)
		return -EINVAL;
	r = check_opts(&o, opts);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ring_fd = p->cons_fd = -1;
	r = rf_paths_init(&p->paths, name, o.dir);
	if (r == 0)
		r = mkdir_queue_dir(p->paths.dir);
	if (r == 0)
		r = lock_current_ring(p->paths.ring, &old_fd);
	if (r < 0) {
		producer_free(p);
		return r;
	}
	p->size = o.ring_size;
	p->mask = o.ring_size - 1;
	p->max_record = rf_max_record(o.ring_size);
	p->map_len = RF_RING_HDR_SIZE + o.ring_size;
	remove_stale_temps(&p->paths);
	r = create_generation(p, &o, old_fd);
	/* The old generation's lock goes with its descriptor; the new file is locked already. */
	close(old_fd);
	if (r < 0) {
		producer_free(p);
		return r;
	}
	*ret_producer = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Data path                                                           */
/* ------------------------------------------------------------------ */

/* Read the consumer's cursor, trusting it only if it makes sense. */
static int refresh_tail(struct rf_producer *p)
{
	/* P2 pairs with C2 (consumer's release store of tail): the consumer is
	 * done reading the bytes before t when we see t, so we may overwrite them. */
	uint64_t t = atomic_load_explicit(&p->cons->tail, memory_order_acquire);

	if (!rf_cursor_sane(t, p->tail, p->head_pub, p->size)) {
		p->cursor_bad = true;
		return -EPIPE;
	}
	p->tail = t;
	p->cursor_bad = false;
	return 0;
}

/* How far head may grow: up to the consumer's cursor + size; 0 while that cursor is bad. */
static inline uint64_t room_limit(const struct rf_producer *p)
{
	return p->cursor_bad ? 0 : p->tail + p->size;
}

static __attribute__((noinline)) int make_room_slow(struct rf_producer *p, uint64_t head,
						    uint64_t total)
{
	int r = refresh_tail(p);

	if (r < 0)
		return r;
	return head + total <= room_limit(p) ? 0 : -ENOBUFS;
}

/*
 * The hot state of a queue, copied into locals for a burst: the copy into
 * the ring is a char store that may alias *p, so fields read through p would
 * be reloaded after every packet.
 */
struct writer {
	uint8_t *data;
	uint64_t size, mask, head;
	uint64_t limit; /* head may grow up to tail + size; 0 while the cursor is bad */
	uint32_t max_record;
};

/* Room for total bytes from head? Reads the shared cursor only when the cached one says no. */
static inline int make_room(struct rf_producer *p, uint64_t total)
{
	if (rf_likely(p->head + total <= room_limit(p)))
		return 0;
	return make_room_slow(p, p->head, total);
}

static inline void writer_load(const struct rf_producer *p, struct writer *w)
{
	w->data = p->data;
	w->size = p->size;
	w->mask = p->mask;
	w->head = p->head;
	w->limit = room_limit(p);
	w->max_record = p->max_record;
}

/* The header is stored field by field straight into the ring (records are 8-byte aligned). */
static inline void write_record(uint8_t *at, uint32_t len, const struct rf_packet *pkt)
{
	struct rf_rec_hdr *h = (struct rf_rec_hdr *)at;
	uint32_t caplen = pkt->caplen, wirelen = pkt->wirelen < caplen ? caplen : pkt->wirelen;

	h->len = len;
	h->flags = (uint16_t)((pkt->flags & RF_REC_PUBLIC_MASK) |
			      (caplen < wirelen ? RF_PKT_TRUNCATED : 0));
	h->hdr_len = RF_REC_HDR_LEN;
	h->caplen = caplen;
	h->wirelen = wirelen;
	h->ts_ns = pkt->ts_ns;
	h->ifindex = pkt->ifindex;
	h->hash = pkt->hash;
	if (caplen)
		memcpy(h + 1, pkt->data, caplen);
}

/* Filler from off to the end of the data area (only its first 8 bytes are read). */
static void write_pad(uint8_t *data, uint64_t size, uint64_t off)
{
	struct rf_rec_hdr h = {.len = (uint32_t)(size - off), .flags = RF_REC_PAD};

	memcpy(data + off, &h, RF_REC_ALIGN);
}

static void count_drop(struct rf_producer *p, int r)
{
	if (r == -ENOBUFS)
		p->dropped_full++;
	else if (r == -EMSGSIZE)
		p->dropped_toobig++;
	else
		p->dropped_cursor++;
}

/* One packet into the ring at w->head: 0, or the reason it was dropped (not yet counted). */
static inline __attribute__((always_inline)) int put(struct rf_producer *p, struct writer *w,
						     const struct rf_packet *pkt)
{
	uint64_t need = rf_rec_len(pkt->caplen), off = w->head & w->mask, to_end = w->size - off;
	/* A record never wraps: if it does not fit before the end, pad and start at 0. */
	uint64_t total = need <= to_end ? need : need + to_end;
	int r;

	if (rf_unlikely(need > w->max_record))
		return -EMSGSIZE;
	if (rf_unlikely(w->head + total > w->limit)) {
		r = make_room_slow(p, w->head, total);
		w->limit = room_limit(p);
		if (r < 0)
			return r;
	}
	if (need > to_end) {
		write_pad(w->data, w->size, off);
		w->head += to_end;
		off = 0;
	}
	write_record(w->data + off, (uint32_t)need, pkt);
	w->head += need;
	return 0;
}

int rf_producer_enqueue(struct rf_producer *p, const struct rf_packet *pkt)
{
	struct writer w;
	int r;

	if (rf_unlikely(p->finished))
		return -EINVAL;
	writer_load(p, &w);
	r = put(p, &w, pkt);
	if (rf_unlikely(r < 0)) {
		count_drop(p, r);
		return r;
	}
	p->head = w.head;
	p->enqueued++;
	p->enqueued_bytes += pkt->caplen;
	return 0;
}

int rf_producer_enqueue_burst(struct rf_producer *p, const struct rf_packet *pkts, unsigned int n)
{
	uint64_t bytes = 0;
	unsigned int i, done = 0;
	struct writer w;
	int r;

	if (!p || (!pkts && n) || p->finished || n > INT_MAX)
		return -EINVAL;
	writer_load(p, &w);
	for (i = 0; i < n; i++) {
		r = put(p, &w, &pkts[i]);
		if (rf_unlikely(r < 0)) {
			count_drop(p, r);
			continue;
		}
		bytes += pkts[i].caplen;
		done++;
	}
	p->head = w.head;
	p->enqueued += done;
	p->enqueued_bytes += bytes;
	return (int)done;
}

static void flush_counters(struct rf_producer *p)
{
	struct rf_ring_hdr *h = p->hdr;

	/* Readers only display these: relaxed is enough. */
	atomic_store_explicit(&h->enqueued, p->enqueued, memory_order_relaxed);
	atomic_store_explicit(&h->enqueued_bytes, p->enqueued_bytes, memory_order_relaxed);
	atomic_store_explicit(&h->dropped_full, p->dropped_full, memory_order_relaxed);
	atomic_store_explicit(&h->dropped_cursor, p->dropped_cursor, memory_order_relaxed);
	atomic_store_explicit(&h->dropped_toobig, p->dropped_toobig, memory_order_relaxed);
}

static void wake_consumer(struct rf_producer *p)
{
	atomic_fetch_add_explicit(&p->hdr->wake, 1, memory_order_relaxed);
	rf_futex_wake(&p->hdr->wake);
}

void rf_producer_publish(struct rf_producer *p)
{
	flush_counters(p);
	if (p->head == p->head_pub)
		return;
	/* P1 pairs with C1 (consumer's acquire load of head): the records
	 * written before this store are visible to whoever sees the new head. */
	atomic_store_explicit(&p->hdr->head, p->head, memory_order_release);
	p->head_pub = p->head;
	/* P3 pairs with C3 (consumer: store waiting, fence, load head): either
	 * we see waiting = 1 here or the consumer sees our new head. */
	atomic_thread_fence(memory_order_seq_cst);
	/* The flag is the consumer's to write: at most one wake per new head. */
	if (p->wake_head != p->head_pub &&
	    atomic_load_explicit(&p->cons->waiting, memory_order_relaxed)) {
		p->wake_head = p->head_pub;
		wake_consumer(p);
	}
}

int rf_producer_wait_space(struct rf_producer *p, uint32_t caplen, int timeout_ms)
{
	uint64_t need = rf_rec_len(caplen), to_end = p->size - (p->head & p->mask);
	uint64_t total = need <= to_end ? need : need + to_end, start = 0, sleep_ns = 20000;
	struct timespec ts;
	int r;

	if (need > p->max_record)
		return -EMSGSIZE;
	for (;;) {
		r = make_room(p, total);
		if (r != -ENOBUFS)
			return r;
		/* The clock starts at the first miss: room found at once costs no clock read. */
		if (!start)
			start = rf_mono_ns();
		if (timeout_ms >= 0 && rf_mono_ns() - start >= (uint64_t)timeout_ms * 1000000ull)
			return -ETIMEDOUT;
		/* The consumer may be sleeping on records we have not published yet. */
		rf_producer_publish(p);
		ts = (struct timespec){.tv_nsec = (long)sleep_ns};
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			return -EINTR;
		sleep_ns = sleep_ns * 2 > 1000000 ? 1000000 : sleep_ns * 2;
	}
}

void rf_producer_finish(struct rf_producer *p)
{
	if (!p || p->finished)
		return;
	rf_producer_publish(p);
	p->finished = true;
	/* Release: a consumer that sees finished also sees the final head. */
	atomic_store_explicit(&p->hdr->finished, 1, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	wake_consumer(p);
}

int rf_producer_info(const struct rf_producer *p, struct rf_queue_info *ret_info, size_t sz)
{
	struct rf_queue_info qi = {0};
	uint64_t t;

	if (!p || !ret_info || sz == 0)
		return -EINVAL;
	qi.generation = p->hdr->generation;
	qi.ring_size = p->size;
	qi.enqueued = p->enqueued;
	qi.enqueued_bytes = p->enqueued_bytes;
	qi.dropped_full = p->dropped_full;
	qi.dropped_cursor = p->dropped_cursor;
	qi.dropped_toobig = p->dropped_toobig;
	qi.consumer_read = atomic_load_explicit(&p->cons->released, memory_order_relaxed);
	t = atomic_load_explicit(&p->cons->tail, memory_order_relaxed);
	if (rf_cursor_sane(t, 0, p->head_pub, p->size))
		qi.backlog_bytes = p->head_pub - t;
	qi.producer_pid = (int32_t)getpid();
	if (rf_lock_held(p->cons_fd) == 1)
		qi.consumer_pid = atomic_load_explicit(&p->cons->pid, memory_order_relaxed);
	qi.finished = p->finished;
	memcpy(ret_info, &qi, sz < sizeof(qi) ? sz : sizeof(qi));
	return 0;
}

void rf_producer_destroy(struct rf_producer *p)
{
	if (!p)
		return;
	rf_producer_publish(p);
	producer_free(p);
}
