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
	bool damaged;	    /* a mapping was truncated under us: drop everything */
	_Atomic bool fault; /* set by the SIGBUS guard */
	int how;	    /* enum rf_producer_start */
	uint64_t head;	    /* next byte to write (unpublished) */
	uint64_t head_pub;  /* last head published */
	uint64_t tail;	    /* last sane consumer cursor seen */
	uint64_t wake_head; /* head at the last wake-up: one wake per new head at most */
	uint64_t enqueued, enqueued_bytes, dropped_full, dropped_cursor, dropped_toobig;
	uint64_t enqueued_pub, bytes_pub; /* enqueued, enqueued_bytes at the last publish */
	int ring_fd, cons_fd;
	uint32_t shunt_seen; /* shunt requests read from the consumer page (older ones ignored) */
	size_t map_len;
	struct rf_paths paths;
};

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

#define KNOWN_FLAGS (RF_PRODUCER_LINKTYPE | RF_PRODUCER_NEW_GENERATION | RF_PRODUCER_PREFAULT)

static void wake_consumer(struct rf_producer *p);

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
	if (!(o->flags & RF_PRODUCER_LINKTYPE))
		o->linktype = RF_LINKTYPE_DEFAULT;
	if (!o->rings)
		o->rings = 1;
	if (o->rings > RF_MAX_RINGS || o->ring_index >= o->rings)
		return -EINVAL;
	if (o->ring_size < RF_RING_MIN_SIZE || o->ring_size > RF_RING_MAX_SIZE ||
	    (o->ring_size & (o->ring_size - 1)) || (o->mode & ~(mode_t)RF_QUEUE_MODE_ALLOWED) ||
	    (o->flags & ~(unsigned int)KNOWN_FLAGS) || o->linktype < 0)
		return -EINVAL;
	return 0;
}

/* The queue directory, created if missing, and checked (rf_dir_open()). */
static int open_queue_dir(const struct rf_paths *p)
{
	if (mkdir(p->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return rf_dir_open(p, true, NULL);
}

/*
 * Serialize producers of the directory while one creates or takes over a
 * queue: a file only its owner can open, so no reader can hold it.
 */
static int take_create_lock(int dirfd)
{
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct stat st;
	int fd = openat(dirfd, RF_CREATE_LOCK, O_RDWR | O_CREAT | RF_O_FLAGS, 0600);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		r = -EPERM;
	while (r == 0 && fcntl(fd, F_OFD_SETLKW, &l) < 0)
		if (errno != EINTR)
			r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Temporary files a producer left when it died while creating this queue.
 * Only the holder of the create lock builds a generation, so any found now
 * are stale.
 */
static void remove_stale_temps(int dirfd, const struct rf_paths *p)
{
	char ring[48], cons[48];
	struct dirent *e;
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d); /* a dup shares the read position */
	snprintf(ring, sizeof(ring), ".%s.", p->ring);
	snprintf(cons, sizeof(cons), ".%s.", p->cons);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, ring, strlen(ring)) ||
		    !strncmp(e->d_name, cons, strlen(cons)))
			unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}

/* A generation number unlike the previous one and never 0. */
static uint64_t new_generation(uint64_t old)
{
	struct timespec ts;
	uint64_t g;

	clock_gettime(CLOCK_REALTIME, &ts);
	g = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
	    ((uint64_t)getpid() << 40);
	if (g == old)
		g++;
	return g ? g : 1;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Whoever may read the ring may commit a cursor: read bits imply write bits. */
static mode_t cons_mode(mode_t m)
{
	return m | ((m & 0444) >> 1);
}

/* The operator's owner, group and mode (also on files taken over: they may have changed). */
static int set_access(int fd, const struct rf_producer_opts *o, mode_t mode)
{
	if ((o->owner != (uid_t)-1 || o->group != (gid_t)-1) && fchown(fd, o->owner, o->group) < 0)
		return -errno;
	return fchmod(fd, mode) < 0 ? -errno : 0;
}

/*
 * A new file under a temporary name, readable by nobody but us until
 * set_access() when it is complete; size bytes reserved now, so that a full
 * tmpfs fails here rather than with a SIGBUS later.
 */
static int make_temp(int dirfd, const char *base, uint64_t size, char *ret_name, size_t len)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t x = real_ns() ^ ((uint64_t)getpid() << 32);
	int attempt, i, fd, r;

	for (attempt = 0; attempt < 100; attempt++, x = x * 6364136223846793005ull + 1) {
		char sfx[7];

		for (i = 0; i < 6; i++)
			sfx[i] = digits[(x >> (i * 6 + 16)) % 36];
		sfx[6] = 0;
		if (snprintf(ret_name, len, ".%s.%s", base, sfx) >= (int)len)
			return -ENAMETOOLONG;
		fd = openat(dirfd, ret_name, O_RDWR | O_CREAT | O_EXCL | RF_O_FLAGS, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -errno;
		r = -posix_fallocate(fd, 0, (off_t)size);
		if (r < 0) {
			close(fd);
			unlinkat(dirfd, ret_name, 0);
			return r;
		}
		return fd;
	}
	return -EEXIST;
}

static void init_ring_hdr(struct rf_ring_hdr *h, const struct rf_producer *p, uint64_t generation,
			  const struct rf_producer_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->magic = RF_RING_MAGIC;
	h->abi_version = RF_ABI_VERSION;
	h->hdr_size = RF_RING_HDR_SIZE;
	h->ring_size = p->size;
	h->generation = generation;
	h->cluster = p->paths.cluster;
	h->queue = p->paths.queue;
	h->producer_pid = (int32_t)getpid();
	h->max_record = p->max_record;
	h->features = RF_FEAT_LINKTYPE | RF_FEAT_RUN_INFO;
	h->link_type = (uint32_t)o->linktype;
	/* One ring keeps the layout of a queue that knows nothing of several. */
	if (o->rings > 1) {
		h->features |= RF_FEAT_RINGS;
		h->rings = o->rings;
		h->ring_index = o->ring_index;
	}
	h->started_ns = real_ns();
	atomic_store_explicit(&h->producer_starts, 1, memory_order_relaxed);
}

/* Map both files; every mapping is guarded before anything reads or writes through it. */
static int map_files(struct rf_producer *p)
{
	void *m;
	int r;

	m = mmap(NULL, RF_CONS_PAGE_SIZE, PROT_READ, MAP_SHARED, p->cons_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	r = rf_guard_add(m, RF_CONS_PAGE_SIZE, true, NULL);
	if (r < 0) {
		munmap(m, RF_CONS_PAGE_SIZE);
		return r;
	}
	/* The page belongs to consumers: read it only through p->cons, trusting nothing. */
	p->cons = m;
	p->shunt_seen = atomic_load_explicit(&p->cons->shunt_head, memory_order_relaxed);
	m = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, p->ring_fd,
		 0);
	if (m == MAP_FAILED)
		return -errno;
	r = rf_guard_add(m, p->map_len, false, &p->fault);
	if (r < 0) {
		munmap(m, p->map_len);
		return r;
	}
	p->hdr = m;
	p->data = (uint8_t *)m + RF_RING_HDR_SIZE;
	return 0;
}

/*
 * Build a new generation under temporary names, written with pwrite (no
 * mapping can fault yet) and readable by nobody else; lock the ring (the
 * lock is the producer's mark of life: taken before anyone can open the
 * file, no reader can get in first); give both files their access; rename
 * the page first, so that a consumer seeing the new ring also finds its page.
 */
static int create_generation(struct rf_producer *p, const struct rf_producer_opts *o, int dirfd,
			     uint64_t old_generation)
{
	char ring_tmp[64], cons_tmp[64];
	struct rf_cons_page cp = {.magic = RF_CONS_MAGIC};
	struct rf_ring_hdr h;
	int r;

	p->cons_fd = make_temp(dirfd, p->paths.cons, RF_CONS_PAGE_SIZE, cons_tmp, sizeof(cons_tmp));
	if (p->cons_fd < 0)
		return p->cons_fd;
	p->ring_fd = make_temp(dirfd, p->paths.ring, p->map_len, ring_tmp, sizeof(ring_tmp));
	if (p->ring_fd < 0) {
		r = p->ring_fd;
		goto err_cons;
	}
	init_ring_hdr(&h, p, new_generation(old_generation), o);
	cp.generation = h.generation;
	r = rf_lock_file(p->ring_fd);
	if (r == 0 && (pwrite(p->ring_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		       pwrite(p->cons_fd, &cp, sizeof(cp), 0) != (ssize_t)sizeof(cp)))
		r = -EIO;
	if (r == 0)
		r = map_files(p);
	if (r == 0 && (o->flags & RF_PRODUCER_PREFAULT))
		rf_touch_pages(p->data, p->size, true);
	if (r == 0)
		r = set_access(p->cons_fd, o, cons_mode(o->mode));
	if (r == 0)
		r = set_access(p->ring_fd, o, o->mode);
	if (r == 0 && renameat(dirfd, cons_tmp, dirfd, p->paths.cons) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, ring_tmp, dirfd, p->paths.ring) < 0) {
		r = -errno;
		unlinkat(dirfd, p->paths.cons, 0);
	}
	if (r == 0)
		return 0;
	unlinkat(dirfd, ring_tmp, 0);
err_cons:
	unlinkat(dirfd, cons_tmp, 0);
	return r;
}

/*
 * Can the generation in ring_fd (locked by us) go on? Its identity must
 * match ours exactly, it must be unfinished, whole and ours, and its page
 * there. Returns RF_START_RESUMED or the reason for a new generation.
 */
static int resumable(const struct rf_producer *p, const struct rf_producer_opts *o, int ring_fd,
		     int cons_fd, uint64_t *ret_generation)
{
	struct rf_queue_info qi = {0};
	struct rf_ring_hdr h;
	struct stat st, cst;
	uint64_t head;

	if (rf_ring_hdr_read(ring_fd, &p->paths, &h, &st) < 0)
		return RF_START_NEW_DAMAGED;
	*ret_generation = h.generation;
	rf_info_from_hdr(&h, &qi);
	if (h.ring_size != p->size || qi.linktype != o->linktype || qi.rings != o->rings)
		return RF_START_NEW_CHANGED;
	if (qi.finished)
		return RF_START_NEW_FINISHED;
	head = atomic_load_explicit(&h.head, memory_order_relaxed);
	if (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != o->owner) ||
	    !(h.features & RF_FEAT_RUN_INFO) || (head & (RF_REC_ALIGN - 1)) || cons_fd < 0 ||
	    fstat(cons_fd, &cst) < 0 || !S_ISREG(cst.st_mode) || cst.st_size != RF_CONS_PAGE_SIZE)
		return RF_START_NEW_DAMAGED;
	if (o->flags & RF_PRODUCER_NEW_GENERATION)
		return RF_START_NEW_ASKED;
	return RF_START_RESUMED;
}

/* Go on from the previous producer's published state (its counters included). */
static int resume_generation(struct rf_producer *p, const struct rf_producer_opts *o)
{
	struct rf_ring_hdr *h;
	int r = map_files(p);

	if (r == 0)
		r = set_access(p->cons_fd, o, cons_mode(o->mode));
	if (r == 0)
		r = set_access(p->ring_fd, o, o->mode);
	if (r < 0)
		return r;
	h = p->hdr;
	p->head = p->head_pub = p->wake_head = atomic_load_explicit(&h->head, memory_order_relaxed);
	p->enqueued = p->enqueued_pub = atomic_load_explicit(&h->enqueued, memory_order_relaxed);
	p->enqueued_bytes = p->bytes_pub =
		atomic_load_explicit(&h->enqueued_bytes, memory_order_relaxed);
	p->dropped_full = atomic_load_explicit(&h->dropped_full, memory_order_relaxed);
	p->dropped_cursor = atomic_load_explicit(&h->dropped_cursor, memory_order_relaxed);
	p->dropped_toobig = atomic_load_explicit(&h->dropped_toobig, memory_order_relaxed);
	/* Display only; liveness is the lock we hold. */
	__atomic_store_n(&h->producer_pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	atomic_fetch_add_explicit(&h->producer_starts, 1, memory_order_relaxed);
	/* The consumer's cursor is checked against head at the first need for room. */
	p->tail = 0;
	p->cursor_bad = true;
	return 0;
}

/*
 * Open the queue's current files, if any, and decide: resume, new
 * generation, or -EBUSY (a live producer holds the ring). On RF_START_RESUMED
 * p->ring_fd (locked) and p->cons_fd are the current files.
 */
static int take_over(struct rf_producer *p, const struct rf_producer_opts *o, int dirfd,
		     uint64_t *ret_generation)
{
	int ring_fd = openat(dirfd, p->paths.ring, O_RDWR | RF_O_FLAGS), cons_fd, how, r;

	*ret_generation = 0;
	if (ring_fd < 0)
		return errno == ENOENT ? RF_START_CREATED : RF_START_NEW_DAMAGED;
	r = rf_lock_file(ring_fd);
	if (r == -EBUSY) {
		/* A write lock is a live producer; a read lock only someone who may read it. */
		how = rf_write_locked(ring_fd) == 0 ? RF_START_NEW_LOCKED : -EBUSY;
		close(ring_fd);
		return how;
	}
	if (r < 0) {
		close(ring_fd);
		return r;
	}
	cons_fd = openat(dirfd, p->paths.cons, O_RDWR | RF_O_FLAGS);
	how = resumable(p, o, ring_fd, cons_fd, ret_generation);
	if (how != RF_START_RESUMED) {
		close(ring_fd); /* and its lock: the new generation gets its own */
		if (cons_fd >= 0)
			close(cons_fd);
		return how;
	}
	p->ring_fd = ring_fd;
	p->cons_fd = cons_fd;
	return how;
}

static void producer_free(struct rf_producer *p)
{
	if (p->hdr) {
		rf_guard_remove(p->hdr);
		munmap(p->hdr, p->map_len);
	}
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

static int start_queue(struct rf_producer *p, const struct rf_producer_opts *o, int dirfd)
{
	uint64_t old_generation;
	int how = take_over(p, o, dirfd, &old_generation), r;

	if (how < 0)
		return how;
	p->how = how;
	remove_stale_temps(dirfd, &p->paths);
	if (how != RF_START_RESUMED)
		return create_generation(p, o, dirfd, old_generation);
	r = resume_generation(p, o);
	/* A consumer asleep on the ring hears at once that its producer is back. */
	if (r == 0)
		wake_consumer(p);
	return r;
}

int rf_producer_create(const char *name, const struct rf_producer_opts *opts,
		       struct rf_producer **ret_producer)
{
	struct rf_producer_opts o;
	struct rf_producer *p;
	int dirfd = -1, lockfd = -1, r;

	if (!ret_producer)
		return -EINVAL;
	r = check_opts(&o, opts);
	if (r < 0)
		return r;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ring_fd = p->cons_fd = -1;
	p->size = o.ring_size;
	p->mask = o.ring_size - 1;
	p->max_record = rf_max_record(o.ring_size);
	p->map_len = RF_RING_HDR_SIZE + o.ring_size;
	r = rf_paths_init(&p->paths, name, o.dir);
	if (r == 0)
		rf_paths_set_ring(&p->paths, o.ring_index);
	if (r == 0)
		r = dirfd = open_queue_dir(&p->paths);
	if (r >= 0)
		r = lockfd = take_create_lock(dirfd);
	if (r >= 0)
		r = start_queue(p, &o, dirfd);
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0) {
		producer_free(p);
		return r;
	}
	*ret_producer = p;
	return 0;
}

int rf_producer_start_how(const struct rf_producer *p)
{
	return p ? p->how : -EINVAL;
}

const char *rf_producer_start_name(int how)
{
	switch (how) {
	case RF_START_CREATED:
		return "created";
	case RF_START_RESUMED:
		return "resumed";
	case RF_START_NEW_FINISHED:
		return "new generation (the previous run was finished)";
	case RF_START_NEW_CHANGED:
		return "new generation (ring size, link type or number of rings changed)";
	case RF_START_NEW_DAMAGED:
		return "new generation (the previous files were damaged or not ours)";
	case RF_START_NEW_LOCKED:
		return "new generation (another process holds a lock on the previous ring)";
	case RF_START_NEW_ASKED:
		return "new generation (a new run)";
	}
	return "unknown";
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

/* A damaged queue drops everything, counted as damage done from the consumer side. */
static int drop_damaged(struct rf_producer *p, unsigned int n)
{
	p->dropped_cursor += n;
	return -EPIPE;
}

int rf_producer_enqueue(struct rf_producer *p, const struct rf_packet *pkt)
{
	struct writer w;
	int r;

	if (rf_unlikely(p->finished || p->damaged))
		return p->finished ? -EINVAL : drop_damaged(p, 1);
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

/*
 * Copy pkts in, counting each that does not fit as a drop, or stopping at the
 * first when stop_full (the caller waits for room). Returns how many were
 * handled (enqueued or dropped); *ret_done how many were enqueued.
 */
static unsigned int enqueue_run(struct rf_producer *p, const struct rf_packet *pkts, unsigned int n,
				bool stop_full, unsigned int *ret_done)
{
	uint64_t bytes = 0;
	unsigned int i, done = 0;
	struct writer w;
	int r;

	writer_load(p, &w);
	for (i = 0; i < n; i++) {
		r = put(p, &w, &pkts[i]);
		if (rf_unlikely(r < 0)) {
			if (r == -ENOBUFS && stop_full)
				break;
			count_drop(p, r);
			continue;
		}
		bytes += pkts[i].caplen;
		done++;
	}
	p->head = w.head;
	p->enqueued += done;
	p->enqueued_bytes += bytes;
	*ret_done = done;
	return i;
}

int rf_producer_enqueue_burst(struct rf_producer *p, const struct rf_packet *pkts, unsigned int n)
{
	unsigned int done;

	if (!p || (!pkts && n) || p->finished || n > INT_MAX)
		return -EINVAL;
	if (rf_unlikely(p->damaged)) {
		drop_damaged(p, n);
		return 0;
	}
	enqueue_run(p, pkts, n, false, &done);
	return (int)done;
}

int rf_producer_enqueue_fit(struct rf_producer *p, const struct rf_packet *pkts, unsigned int n)
{
	unsigned int done;

	if (!p || (!pkts && n) || p->finished || n > INT_MAX)
		return -EINVAL;
	if (rf_unlikely(p->damaged)) {
		drop_damaged(p, n);
		return (int)n;
	}
	/* The caller waits for room and goes on from the first not handled. */
	return (int)enqueue_run(p, pkts, n, true, &done);
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

/*
 * The guard found a mapping of this queue truncated: what we wrote since the
 * last publish went to private memory, and so will everything after it.
 */
static void became_damaged(struct rf_producer *p)
{
	p->damaged = true;
	p->dropped_cursor += p->enqueued - p->enqueued_pub;
	p->enqueued = p->enqueued_pub;
	p->enqueued_bytes = p->bytes_pub;
	p->head = p->head_pub;
}

void rf_producer_publish(struct rf_producer *p)
{
	if (rf_unlikely(atomic_load_explicit(&p->fault, memory_order_relaxed)) && !p->damaged)
		became_damaged(p);
	flush_counters(p);
	p->enqueued_pub = p->enqueued;
	p->bytes_pub = p->enqueued_bytes;
	if (p->head == p->head_pub)
		return;
	/* P1 pairs with C1 (consumer's acquire load of head): the records
	 * written before this store are visible to whoever sees the new head. */
	atomic_store_explicit(&p->hdr->head, p->head, memory_order_release);
	p->head_pub = p->head;
	/* P3 pairs with C3 (consumer: store waiting, fence, load head): either
	 * we see waiting = 1 here or the consumer sees our new head. */
	atomic_thread_fence(memory_order_seq_cst);
	/* The flag and the target are the consumer's to write: at most one wake
	 * per new head, and only once head reaches what the consumer asked for
	 * (0 from a consumer that asks for nothing: every new head). A target
	 * of nonsense only delays that consumer's wake-up to its own timeout. */
	if (p->wake_head != p->head_pub &&
	    atomic_load_explicit(&p->cons->waiting, memory_order_relaxed) &&
	    p->head_pub >= atomic_load_explicit(&p->cons->wake_at, memory_order_relaxed)) {
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
	if (p->damaged)
		return -EPIPE;
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
	atomic_store_explicit(&p->hdr->finished_ns, real_ns(), memory_order_relaxed);
	/* Release: a consumer that sees finished also sees the final head and finished_ns. */
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
	rf_info_from_hdr(p->hdr, &qi);
	/* Ours, not the mapping's: they are current (and a damaged mapping holds zeros). */
	qi.ring_size = p->size;
	qi.enqueued = p->enqueued;
	qi.enqueued_bytes = p->enqueued_bytes;
	qi.dropped_full = p->dropped_full;
	qi.dropped_cursor = p->dropped_cursor;
	qi.dropped_toobig = p->dropped_toobig;
	qi.finished = p->finished;
	qi.consumer_read = atomic_load_explicit(&p->cons->released, memory_order_relaxed);
	t = atomic_load_explicit(&p->cons->tail, memory_order_relaxed);
	if (rf_cursor_sane(t, 0, p->head_pub, p->size))
		qi.backlog_bytes = p->head_pub - t;
	qi.producer_pid = (int32_t)getpid();
	qi.owner = geteuid();
	if (rf_write_locked(p->cons_fd) == 1)
		qi.consumer_pid = atomic_load_explicit(&p->cons->pid, memory_order_relaxed);
	rf_set_backlog_packets(&qi);
	rf_copy_info(&qi, ret_info, sz);
	return 0;
}

void rf_producer_destroy(struct rf_producer *p)
{
	if (!p)
		return;
	rf_producer_publish(p);
	producer_free(p);
}

int rf_producer_shunt_requests(struct rf_producer *p, struct rf_shunt_request *ret,
			       unsigned int max, uint64_t *ret_lost)
{
	uint32_t head, n, i;
	uint64_t lost = 0;

	if (ret_lost)
		*ret_lost = 0;
	if (!p || !p->cons || p->damaged)
		return 0;
	/* S1 pairs with the consumer's release: the slots below head are written. */
	head = atomic_load_explicit(&p->cons->shunt_head, memory_order_acquire);
	if (head - p->shunt_seen > RF_SHUNT_SLOTS) {
		lost = head - p->shunt_seen - RF_SHUNT_SLOTS;
		p->shunt_seen = head - RF_SHUNT_SLOTS;
	}
	for (n = 0; n < max && p->shunt_seen != head; n++, p->shunt_seen++) {
		i = p->shunt_seen % RF_SHUNT_SLOTS;
		ret[n].hash = atomic_load_explicit(&p->cons->shunt[i].hash, memory_order_relaxed);
		ret[n].seconds =
			atomic_load_explicit(&p->cons->shunt[i].seconds, memory_order_relaxed);
		if (ret[n].seconds > RF_SHUNT_MAX_SECONDS)
			ret[n].seconds = RF_SHUNT_MAX_SECONDS;
	}
	if (ret_lost)
		*ret_lost = lost;
	return (int)n;
}
