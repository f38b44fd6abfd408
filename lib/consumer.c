/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The consumer side of a queue: maps the ring read-only and its own page
 * read-write, reads records in place, commits the cursor once per release,
 * sleeps on the producer's futex word when idle, notices a producer that
 * went away and follows the queue to its next generation. Nothing in the
 * ring is trusted: a garbage ring costs counted skips, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* One generation's files and mappings (on the heap: the guard keeps &fault). */
struct qmap {
	const struct rf_ring_hdr *hdr; /* read-only mapping of the .ring file */
	const uint8_t *data;
	struct rf_cons_page *cons; /* read-write mapping of the .cons page */
	uint64_t size, generation;
	size_t map_len;
	int ring_fd, cons_fd;
	dev_t dev;
	ino_t ino;
	uid_t owner;	 /* of the ring file */
	uid_t dir_owner; /* of the directory it was found in */
	bool page_stale; /* the page did not belong to this ring generation */
	bool guarded;
	_Atomic bool fault; /* the SIGBUS guard replaced the ring: it was truncated */
};

struct rf_consumer {
	struct qmap *m;
	uint64_t read_pos;   /* next record to return */
	uint64_t tail;	     /* last committed cursor */
	uint64_t bad_head;   /* last nonsense head counted, so that it is counted once */
	uint64_t unreleased; /* packets returned since the last release */
	uint64_t released;   /* the page's released counter as we keep it */
	uint64_t next_liveness_ns;
	bool gone;	      /* "producer gone" reported; waiting for it to come back */
	bool gone_unsaid;     /* rf_consumer_wait() saw it go: recv says -EPIPE next */
	bool run_ended;	      /* end of run reported (or skipped); waiting for the next run */
	bool moved;	      /* on a new generation: its first packet gets RF_PKT_NEW_GENERATION */
	uint32_t starts_seen; /* the ring's producer_starts at the last look */
	bool busy;	      /* packets came since the last sleep: batch the next wake-up */
	uint64_t wake_bytes;  /* wake-up moderation (rf_consumer_opts): bytes wanted, */
	uint64_t wake_ns;     /* and the longest sleep while packets are coming */
	unsigned int flags;
	uint64_t received, received_bytes, corrupt, producer_restarts, dropped_before;
	uint64_t generations, skipped;
	struct rf_paths paths;
	/*
	 * A queue served by several producer rings (ring 0's header says how
	 * many): this handle reads ring 0 and holds the others in ring[] (ring[0]
	 * is the handle itself); the public calls merge them. NULL: one ring.
	 */
	struct rf_consumer **ring;
	uint32_t nrings;    /* slots of ring[] in use: the rings served, and older ones draining */
	uint32_t rings;	    /* rings ring 0's generation says serve the queue */
	uint32_t next;	    /* round robin: the ring recv looks at first */
	uint32_t cur;	    /* the ring the last packets came from (rf_consumer_info) */
	uint64_t rings_gen; /* ring 0's generation whose rings are attached */
	bool down_said;	    /* every ring gone or ended, and said so */
	/*
	 * One of several rings: gone or at its end, it stays there (as with
	 * RF_CONSUMER_NO_REATTACH) until every ring is, so that no ring starts
	 * on the next run while another still has packets of this one.
	 */
	bool hold;
};

/* How long a consumer waits for the other rings of a queue whose ring 0 it found. */
#define RF_RINGS_WAIT_MS 1000

#define KNOWN_FLAGS                                                                \
	(RF_CONSUMER_FROM_NEWEST | RF_CONSUMER_NO_REATTACH | RF_CONSUMER_NO_SPIN | \
	 RF_CONSUMER_SKIP_FINISHED | RF_CONSUMER_GUARD_SIGBUS | RF_CONSUMER_PREFAULT)

/* ------------------------------------------------------------------ */
/* Attaching                                                           */
/* ------------------------------------------------------------------ */

static void qmap_close(struct qmap *m)
{
	if (!m)
		return;
	if (m->cons) {
		atomic_store_explicit(&m->cons->pid, 0, memory_order_relaxed);
		atomic_store_explicit(&m->cons->waiting, 0, memory_order_relaxed);
		if (m->guarded)
			rf_guard_remove(m->cons);
		munmap(m->cons, RF_CONS_PAGE_SIZE);
	}
	if (m->hdr) {
		if (m->guarded)
			rf_guard_remove(m->hdr);
		munmap((void *)m->hdr, m->map_len);
	}
	if (m->ring_fd >= 0)
		close(m->ring_fd);
	if (m->cons_fd >= 0)
		close(m->cons_fd);
	free(m);
}

/* The owners a consumer saw at its first attach: a later generation must have the same. */
struct pin {
	uid_t dir_owner, owner;
};

/* Open the .ring read-only and check its identity header and who made it. */
static int open_ring(int dirfd, const struct stat *dir_st, const struct rf_paths *p,
		     const struct pin *pin, struct qmap *m)
{
	struct rf_ring_hdr h;
	struct stat st;
	int r;

	m->ring_fd = openat(dirfd, p->ring, O_RDONLY | RF_O_FLAGS);
	if (m->ring_fd < 0)
		return -errno;
	r = rf_ring_hdr_read(m->ring_fd, p, &h, &st);
	if (r == 0)
		r = rf_file_trusted(&st, dir_st);
	if (r == 0 && pin && st.st_uid != pin->owner && st.st_uid != 0)
		r = -EPERM;
	if (r < 0)
		return r;
	m->size = h.ring_size;
	m->generation = h.generation;
	m->map_len = (size_t)st.st_size;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->owner = st.st_uid;
	m->dir_owner = dir_st->st_uid;
	return 0;
}

static int open_cons(int dirfd, const struct rf_paths *p, struct qmap *m)
{
	struct stat st;

	m->cons_fd = openat(dirfd, p->cons, O_RDWR | RF_O_FLAGS);
	if (m->cons_fd < 0)
		return -errno;
	if (fstat(m->cons_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size != RF_CONS_PAGE_SIZE)
		return -EPROTO;
	/* One consumer at a time; the kernel drops the lock when we die. */
	return rf_lock_file(m->cons_fd);
}

static int map_files(struct qmap *m, unsigned int flags)
{
	void *ring, *c;
	int r = 0;

	/* Read-only: packet data and producer state cannot be written from here. */
	ring = mmap(NULL, m->map_len, PROT_READ, MAP_SHARED | MAP_POPULATE, m->ring_fd, 0);
	if (ring == MAP_FAILED)
		return -errno;
	m->hdr = ring;
	m->data = (const uint8_t *)ring + RF_RING_HDR_SIZE;
	c = mmap(NULL, RF_CONS_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->cons_fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	m->cons = c;
	if (flags & RF_CONSUMER_GUARD_SIGBUS) {
		/* Others allowed to consume may truncate the page file under us. */
		r = rf_guard_add(c, RF_CONS_PAGE_SIZE, true, NULL);
		if (r == 0 && (r = rf_guard_add(ring, m->map_len, false, &m->fault)) < 0)
			rf_guard_remove(c);
		m->guarded = r == 0;
	}
	return r;
}

/* True if the queue's name now points at another file than the one we have. */
static bool ring_replaced(const struct rf_paths *p, const struct qmap *m)
{
	char path[PATH_MAX + 40];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", p->dir, p->ring);
	if (lstat(path, &st) < 0)
		return false;
	return st.st_size > 0 && (st.st_ino != m->ino || st.st_dev != m->dev);
}

static int qmap_try(const struct rf_paths *p, const struct pin *pin, unsigned int flags,
		    struct qmap *m)
{
	struct stat dir_st;
	int dirfd = rf_dir_open(p, false, &dir_st), r;

	if (dirfd < 0)
		return dirfd;
	r = pin && dir_st.st_uid != pin->dir_owner ? -EPERM : 0;
	if (r == 0)
		r = open_ring(dirfd, &dir_st, p, pin, m);
	if (r == 0)
		r = open_cons(dirfd, p, m);
	close(dirfd);
	if (r == 0)
		r = map_files(m, flags);
	return r;
}

/*
 * Open, lock and map a generation. The producer renames the page before the
 * ring, so a page from another generation means we came between the two
 * renames or the ring was replaced while we opened it (try again), or that
 * the page was scribbled on (take it over after a while).
 */
static int qmap_open(const struct rf_paths *p, const struct pin *pin, unsigned int flags,
		     struct qmap **ret)
{
	struct timespec pause = {.tv_nsec = 1000 * 1000};
	struct qmap *m = NULL;
	int attempt, r;

	for (attempt = 0;; attempt++) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		m->ring_fd = m->cons_fd = -1;
		r = qmap_try(p, pin, flags, m);
		if (r < 0) {
			qmap_close(m);
			return r;
		}
		m->page_stale =
			m->cons->generation != m->generation || m->cons->magic != RF_CONS_MAGIC;
		if (!m->page_stale || attempt >= 50)
			break;
		if (!ring_replaced(p, m))
			nanosleep(&pause, NULL);
		qmap_close(m);
	}
	if (m->page_stale) {
		m->cons->generation = m->generation;
		m->cons->magic = RF_CONS_MAGIC;
	}
	/* Once the generation is the one kept, and before we say we are here. */
	if (flags & RF_CONSUMER_PREFAULT)
		rf_touch_pages((uint8_t *)m->data, m->size, false);
	atomic_store_explicit(&m->cons->pid, (int32_t)getpid(), memory_order_relaxed);
	*ret = m;
	return 0;
}

/* Where to start reading: the committed cursor if it makes sense, else the newest. */
static void start_position(struct rf_consumer *c, bool from_newest)
{
	/* C1 pairs with P1: records before head are complete. */
	uint64_t h = atomic_load_explicit(&c->m->hdr->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&c->m->cons->tail, memory_order_relaxed);
	bool sane = !c->m->page_stale && rf_cursor_sane(t, 0, h, c->m->size);

	if (!sane)
		c->corrupt++;
	if (from_newest || !sane) {
		t = h;
		/* C2 pairs with P2: the producer may reuse everything before t. */
		atomic_store_explicit(&c->m->cons->tail, t, memory_order_release);
	}
	c->read_pos = c->tail = t;
	c->bad_head = UINT64_MAX;
	c->unreleased = 0;
	c->released = atomic_load_explicit(&c->m->cons->released, memory_order_relaxed);
	c->starts_seen = atomic_load_explicit(&c->m->hdr->producer_starts, memory_order_relaxed);
	c->next_liveness_ns = rf_mono_ns() + RF_LIVENESS_NS;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	nanosleep(&ts, NULL);
}

/* The monotonic deadline of a wait of timeout_ms (-1: none, 0: at once). */
static uint64_t wait_end(int timeout_ms)
{
	return rf_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
}

/* The next sleep of a wait ending at end: at most max_ns; 0 when it is over. */
static uint64_t wait_slice(int timeout_ms, uint64_t end, uint64_t max_ns)
{
	uint64_t now;

	if (timeout_ms == 0)
		return 0;
	if (timeout_ms < 0)
		return max_ns;
	now = rf_mono_ns();
	if (now >= end)
		return 0;
	return end - now < max_ns ? end - now : max_ns;
}

/* qmap_open(), waiting up to wait_ms (-1: forever) for the queue to appear. */
static int attach_waiting(struct rf_consumer *c, const struct pin *pin, int wait_ms)
{
	uint64_t end = wait_end(wait_ms);
	int r;

	for (;;) {
		r = qmap_open(&c->paths, pin, c->flags, &c->m);
		if (r != -ENOENT || wait_ms == 0 || (wait_ms > 0 && rf_mono_ns() >= end))
			return r;
		sleep_ns(RF_ATTACH_POLL_NS);
	}
}

/* SKIP_FINISHED: what is left of a finished run is not read; wait for the next. */
static void skip_finished(struct rf_consumer *c)
{
	struct rf_queue_info qi = {0};

	if (!atomic_load_explicit(&c->m->hdr->finished, memory_order_acquire))
		return;
	rf_info_from_hdr(c->m->hdr, &qi);
	qi.consumer_read = c->released;
	rf_set_backlog_packets(&qi);
	c->skipped += qi.backlog_packets;
	c->read_pos = atomic_load_explicit(&c->m->hdr->head, memory_order_acquire);
	c->run_ended = true;
}

static int adopt_rings(struct rf_consumer *c);
static void ring_release(struct rf_consumer *c);

int rf_consumer_open(const char *name, const struct rf_consumer_opts *opts,
		     struct rf_consumer **ret_consumer)
{
	struct rf_consumer_opts o;
	struct rf_consumer *c;
	int r;

	if (!ret_consumer)
		return -EINVAL;
	r = rf_opts_copy(&o, sizeof(o), opts);
	if (r < 0)
		return r;
	if (o.flags & ~(unsigned int)KNOWN_FLAGS || o.wait_ms < -1)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->flags = o.flags;
	c->wake_bytes = o.wake_bytes ? o.wake_bytes : RF_CONSUMER_WAKE_BYTES;
	c->wake_ns = (uint64_t)(o.wake_us ? o.wake_us : RF_CONSUMER_WAKE_US) * 1000ull;
	r = rf_paths_init(&c->paths, name, o.dir);
	if (r == 0)
		r = attach_waiting(c, NULL, o.wait_ms);
	if (r < 0) {
		free(c);
		return r;
	}
	start_position(c, o.flags & RF_CONSUMER_FROM_NEWEST);
	if (o.flags & RF_CONSUMER_SKIP_FINISHED)
		skip_finished(c);
	r = adopt_rings(c);
	if (r < 0) {
		rf_consumer_close(c);
		return r;
	}
	*ret_consumer = c;
	return 0;
}

static void ring_close(struct rf_consumer *c)
{
	qmap_close(c->m);
	free(c);
}

void rf_consumer_close(struct rf_consumer *c)
{
	uint32_t i;

	if (!c)
		return;
	for (i = 1; c->ring && i < c->nrings; i++)
		if (c->ring[i])
			ring_close(c->ring[i]);
	free(c->ring);
	ring_close(c);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

static uint64_t ring_drops(const struct rf_ring_hdr *h)
{
	return atomic_load_explicit(&h->dropped_full, memory_order_relaxed) +
	       atomic_load_explicit(&h->dropped_cursor, memory_order_relaxed) +
	       atomic_load_explicit(&h->dropped_toobig, memory_order_relaxed);
}

/*
 * A head we can read up to: aligned, not behind what we read, and not more
 * than a ring ahead of our cursor. A head too far ahead means the records
 * were overwritten: skip to it. Anything else: count once, read nothing.
 */
static bool head_usable(struct rf_consumer *c, uint64_t h)
{
	if ((h & (RF_REC_ALIGN - 1)) || h < c->read_pos) {
		if (h != c->bad_head) {
			c->bad_head = h;
			c->corrupt++;
		}
		return false;
	}
	/* A FROM_NEWEST start at a garbage head can leave us misaligned, or a
	 * head too far ahead means the records were overwritten: skip to h. */
	if ((c->read_pos & (RF_REC_ALIGN - 1)) || h - c->tail > c->m->size) {
		/* Whatever we held was overwritten already: give it all back at once. */
		c->corrupt++;
		c->read_pos = h;
		ring_release(c);
		return false;
	}
	return true;
}

/*
 * Take up to max records between our position and head. head_usable() and
 * pos < h give rf_ring_read_fast() its preconditions: pos is aligned (made so
 * there, and every accepted length is a multiple of 8), and h - pos <= h -
 * tail <= size.
 */
static unsigned int take(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max)
{
	/* C1 pairs with P1: the records before h are written when we see h. */
	uint64_t h = atomic_load_explicit(&c->m->hdr->head, memory_order_acquire);
	/* Locals: stores into pkts[] could alias the handle's fields. */
	const uint8_t *base = c->m->data;
	uint64_t size = c->m->size, pos = c->read_pos, bytes = 0;
	struct rf_packet *p = pkts, *end = pkts + max;
	uint32_t len;

	if (h == pos || !head_usable(c, h))
		return 0;
	while (p < end && pos < h) {
		len = rf_ring_read_fast(base, size, pos, h, p);
		if (rf_likely(len)) {
			bytes += p->caplen;
			pos += len;
			p++;
			continue;
		}
		if (rf_unlikely(rf_ring_read_slow(base, size, pos, h, &len) < 0)) {
			c->corrupt++;
			pos = h;
			break;
		}
		pos += len; /* a filler */
	}
	if (rf_unlikely(c->moved) && p > pkts) {
		pkts[0].flags |= RF_PKT_NEW_GENERATION;
		c->moved = false;
	}
	c->read_pos = pos;
	c->received += (uint64_t)(p - pkts);
	c->received_bytes += bytes;
	c->unreleased += (uint64_t)(p - pkts);
	return (unsigned int)(p - pkts);
}

/* Something published and not read yet (a head worth looking at)? */
static bool unread(const struct rf_consumer *c)
{
	uint64_t h = atomic_load_explicit(&c->m->hdr->head, memory_order_acquire);

	return h != c->read_pos && h != c->bad_head;
}

/* Anything new from the producer: a head to read up to, or the end of the stream? */
static bool has_news(const struct rf_consumer *c)
{
	return unread(c) || atomic_load_explicit(&c->m->hdr->finished, memory_order_acquire);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * Has head reached target (or is it a head take() must look at: behind us,
 * too far ahead), or is the stream finished?
 */
static bool reached(const struct rf_consumer *c, uint64_t target)
{
	uint64_t h = atomic_load_explicit(&c->m->hdr->head, memory_order_acquire);

	if (h != c->read_pos && h != c->bad_head && (h < c->read_pos || h >= target))
		return true;
	return atomic_load_explicit(&c->m->hdr->finished, memory_order_acquire);
}

/*
 * A producer in the middle of a burst publishes again within microseconds:
 * polling that long is cheaper than a sleep and a wake-up syscall, and an
 * idle queue still costs no CPU after it.
 */
static bool spin_for(const struct rf_consumer *c, uint64_t target, uint64_t ns)
{
	uint64_t end = rf_mono_ns() + ns;
	unsigned int i;

	do {
		for (i = 0; i < 64; i++) {
			if (reached(c, target))
				return true;
			cpu_relax();
		}
	} while (rf_mono_ns() < end);
	return false;
}

/*
 * Sleep until the producer publishes, finishes, or ns pass. Wake-up
 * moderation: while packets are coming (busy), ask the producer to wake us
 * only once wake_bytes are waiting, and sleep wake_ns at most, so that a
 * packet never waits longer than that; an idle queue wakes us at its first
 * packet. The consumer page's ring head target (wake_at) is what the
 * producer compares its new head with.
 */
static int wait_data(struct rf_consumer *c, uint64_t ns)
{
	struct rf_cons_page *cp = c->m->cons;
	uint64_t want = c->busy ? c->wake_bytes : 1, target;
	uint32_t w;
	int r = 0;

	/* A full ring always wakes us: the producer may be waiting for room. */
	if (want > c->m->size / 4)
		want = c->m->size / 4;
	target = c->read_pos + (want ? want : 1);
	if (c->busy && ns > c->wake_ns)
		ns = c->wake_ns;
	if (!(c->flags & RF_CONSUMER_NO_SPIN) &&
	    spin_for(c, target, ns < RF_SPIN_NS ? ns : RF_SPIN_NS))
		goto out;
	atomic_store_explicit(&cp->wake_at, target, memory_order_relaxed);
	atomic_store_explicit(&cp->waiting, 1, memory_order_relaxed);
	/* C3 pairs with P3: either the producer sees waiting = 1 and our
	 * wake_at after its head store, or we see its new head below. */
	atomic_thread_fence(memory_order_seq_cst);
	w = atomic_load_explicit(&c->m->hdr->wake, memory_order_relaxed);
	if (!reached(c, target))
		r = rf_futex_wait((_Atomic uint32_t *)&c->m->hdr->wake, w, ns);
	atomic_store_explicit(&cp->waiting, 0, memory_order_relaxed);
out:
	/* Something came while we slept: the next sleep waits for a batch. */
	c->busy = unread(c);
	return r;
}

/* Is a producer serving our generation? Its write lock on the ring says so, not the page. */
static bool producer_here(const struct rf_consumer *c)
{
	return !atomic_load_explicit(&c->m->fault, memory_order_relaxed) &&
	       rf_write_locked(c->m->ring_fd) == 1 && !ring_replaced(&c->paths, c->m);
}

/*
 * Move to the queue's next generation if there is one (only once ours is
 * read to its end): 1 if we did, 0 if there is none (yet), or -errno if it
 * cannot be attached (not trusted, another consumer has it, ...).
 */
static int try_new_generation(struct rf_consumer *c)
{
	struct pin pin = {.dir_owner = c->m->dir_owner, .owner = c->m->owner};
	struct qmap *m;
	int r;

	if (!ring_replaced(&c->paths, c->m))
		return 0;
	r = qmap_open(&c->paths, &pin, c->flags, &m);
	if (r == -ENOENT || r == -EPROTO)
		return 0; /* gone again, or not a queue: look again later */
	if (r < 0)
		return r;
	c->dropped_before += ring_drops(c->m->hdr);
	qmap_close(c->m);
	c->m = m;
	start_position(c, false);
	c->generations++;
	c->moved = true;
	c->run_ended = false;
	return 1;
}

/*
 * Once per RF_LIVENESS_NS while idle: is the producer still there? 0 yes,
 * 1 there is something to read after all (published before it went, or a
 * new generation moved to), -EPIPE it is gone (and everything read).
 */
static int check_producer(struct rf_consumer *c)
{
	uint64_t now = rf_mono_ns();
	uint32_t starts;
	int r;

	if (now < c->next_liveness_ns)
		return 0;
	c->next_liveness_ns = now + RF_LIVENESS_NS;
	starts = atomic_load_explicit(&c->m->hdr->producer_starts, memory_order_relaxed);
	if (starts != c->starts_seen) {
		/* It went and came back between two looks: a restart all the same. */
		c->starts_seen = starts;
		c->producer_restarts++;
	}
	if (producer_here(c))
		return 0;
	if (unread(c))
		return 1;
	r = c->flags & RF_CONSUMER_NO_REATTACH || c->hold ? 0 : try_new_generation(c);
	if (r == 1)
		return 1;
	c->gone = true;
	return -EPIPE;
}

/* End of a finished run: 1 moved to a newer generation, else -ENODATA. */
static int run_end(struct rf_consumer *c)
{
	int r = c->flags & RF_CONSUMER_NO_REATTACH || c->hold ? 0 : try_new_generation(c);

	if (r == 1)
		return 1;
	c->run_ended = true;
	return -ENODATA;
}

/* Nothing to read: finished, gone, or sleep (one slice). 1 to read again, else the result. */
static int idle(struct rf_consumer *c, uint64_t end, int timeout_ms)
{
	uint64_t slice;
	int r;

	/* Acquire pairs with the producer's release of finished: head is final. */
	if (atomic_load_explicit(&c->m->hdr->finished, memory_order_acquire))
		return unread(c) ? 1 : run_end(c);
	r = check_producer(c);
	if (r != 0)
		return r;
	slice = wait_slice(timeout_ms, end, RF_LIVENESS_NS);
	if (!slice)
		return 0;
	r = wait_data(c, slice);
	return r < 0 ? r : 1;
}

/*
 * After "gone": a producer is back on our generation. It takes the lock
 * first and counts itself in producer_starts after: waiting for both keeps
 * check_producer() from counting the same return a second time. One that
 * came, published and went (finished or not) between two looks was back
 * all the same: what it left is read.
 */
static bool producer_back(struct rf_consumer *c)
{
	uint32_t starts = atomic_load_explicit(&c->m->hdr->producer_starts, memory_order_relaxed);

	if (!c->gone || starts == c->starts_seen)
		return false;
	if (!producer_here(c) && !has_news(c))
		return false;
	c->starts_seen = starts;
	c->next_liveness_ns = rf_mono_ns() + RF_LIVENESS_NS;
	return true;
}

/*
 * After "producer gone" or the end of a run: wait for the producer to come
 * back or the next generation. 1 when there is one, 0 on timeout, or -errno.
 */
static int wait_next(struct rf_consumer *c, int timeout_ms)
{
	uint64_t end = wait_end(timeout_ms);
	uint64_t ns;
	uint32_t w;
	int r;

	for (;;) {
		w = atomic_load_explicit(&c->m->hdr->wake, memory_order_relaxed);
		r = producer_back(c) ? 1 : try_new_generation(c);
		if (r != 0) {
			if (r == 1 && c->gone)
				c->producer_restarts++;
			if (r == 1)
				c->gone = false;
			return r;
		}
		ns = wait_slice(timeout_ms, end, RF_ATTACH_POLL_NS);
		if (!ns)
			return 0;
		/* A producer resuming our generation wakes us at once. */
		r = rf_futex_wait((_Atomic uint32_t *)&c->m->hdr->wake, w, ns);
		if (r == -EINTR)
			return r;
	}
}

/* rf_consumer_recv() on one ring. */
static int ring_recv(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max,
		     int timeout_ms)
{
	uint64_t end = 0;
	unsigned int n;
	int r;

	if (c->gone_unsaid) {
		c->gone_unsaid = false;
		return -EPIPE;
	}
	if (c->gone || c->run_ended) {
		if (c->flags & RF_CONSUMER_NO_REATTACH || c->hold)
			return c->gone ? -EPIPE : -ENODATA;
		r = wait_next(c, timeout_ms);
		if (r <= 0)
			return r;
	}
	if (max == 0)
		return 0;
	for (;;) {
		n = take(c, pkts, max);
		if (n > 0)
			return (int)n;
		/* The clock is read only once the queue is found empty: a busy
		 * consumer never pays for it. */
		if (timeout_ms > 0 && !end)
			end = wait_end(timeout_ms);
		r = idle(c, end, timeout_ms);
		if (r <= 0)
			return r;
		if (timeout_ms > 0 && rf_mono_ns() >= end) {
			n = take(c, pkts, max);
			return (int)n;
		}
	}
}

/* Packets to take, the end of the run, or "producer gone" to say: 1, else 0 or -errno. */
static int news_or_liveness(struct rf_consumer *c)
{
	int r;

	if (has_news(c))
		return 1;
	r = check_producer(c);
	if (r == -EPIPE) {
		c->gone_unsaid = true; /* say it where it is said: in recv */
		return 1;
	}
	return r;
}

/* rf_consumer_wait() on one ring. */
static int ring_wait(struct rf_consumer *c, int timeout_ms)
{
	uint64_t end = wait_end(timeout_ms);
	uint64_t slice;
	int r;

	if (c->gone_unsaid)
		return 1;
	if (c->gone || c->run_ended)
		return c->flags & RF_CONSUMER_NO_REATTACH ? 1 : wait_next(c, timeout_ms);
	for (;;) {
		r = news_or_liveness(c);
		if (r != 0)
			return r;
		slice = wait_slice(timeout_ms, end, RF_LIVENESS_NS);
		if (!slice)
			return 0;
		r = wait_data(c, slice);
		if (r == -EINTR)
			return r;
	}
}

static void ring_release(struct rf_consumer *c)
{
	if (c->read_pos == c->tail)
		return;
	c->released += c->unreleased;
	c->unreleased = 0;
	atomic_store_explicit(&c->m->cons->released, c->released, memory_order_relaxed);
	/* C2 pairs with P2: we are done with the bytes before read_pos. */
	atomic_store_explicit(&c->m->cons->tail, c->read_pos, memory_order_release);
	c->tail = c->read_pos;
}

/* One ring's share of rf_consumer_stats(). */
static void ring_stats(const struct rf_consumer *c, struct rf_consumer_stats *ret_stats)
{
	struct rf_consumer_stats s = {0};
	uint64_t h;

	s.received = c->received;
	s.received_bytes = c->received_bytes;
	s.dropped = c->dropped_before + ring_drops(c->m->hdr);
	s.corrupt = c->corrupt;
	s.producer_restarts = c->producer_restarts;
	h = atomic_load_explicit(&c->m->hdr->head, memory_order_relaxed);
	if (h >= c->tail && h - c->tail <= c->m->size)
		s.backlog_bytes = h - c->tail;
	s.generations = c->generations;
	s.skipped = c->skipped;
	*ret_stats = s;
}

/* One ring's rf_consumer_info(). */
static void ring_info(const struct rf_consumer *c, struct rf_queue_info *ret_info)
{
	struct rf_queue_info qi = {0};
	uint64_t h;

	rf_info_from_hdr(c->m->hdr, &qi);
	if (rf_write_locked(c->m->ring_fd) == 1)
		qi.producer_pid = RF_READ_ONCE(c->m->hdr->producer_pid);
	qi.consumer_pid = (int32_t)getpid();
	qi.consumer_read = c->released + c->unreleased;
	h = atomic_load_explicit(&c->m->hdr->head, memory_order_relaxed);
	if (h >= c->read_pos && h - c->read_pos <= c->m->size)
		qi.backlog_bytes = h - c->read_pos;
	qi.owner = c->m->owner;
	rf_set_backlog_packets(&qi);
	*ret_info = qi;
}

static int ring_shunt(struct rf_consumer *c, uint32_t hash, uint32_t seconds)
{
	struct rf_cons_page *cp;
	uint32_t h;

	if (!c->m || !c->m->cons)
		return -EPIPE;
	cp = c->m->cons;
	h = atomic_load_explicit(&cp->shunt_head, memory_order_relaxed);
	atomic_store_explicit(&cp->shunt[h % RF_SHUNT_SLOTS].hash, hash, memory_order_relaxed);
	atomic_store_explicit(&cp->shunt[h % RF_SHUNT_SLOTS].seconds, seconds,
			      memory_order_relaxed);
	/* S1: the slot before the head that announces it; pairs with the producer's acquire. */
	atomic_store_explicit(&cp->shunt_head, h + 1, memory_order_release);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Several producer rings: one queue to the caller                     */
/* ------------------------------------------------------------------ */

/*
 * A queue may be served by several producer rings, one per capture thread
 * of the balancer; ring 0's header says how many. Each ring is a queue of
 * its own in every respect (generations, producer gone and back, cursor,
 * wake-ups); this handle reads ring 0 and holds the others. recv takes the
 * packets of one ring per call, looking at the rings in turn, so that each
 * ring's order is kept and a busy ring cannot starve the others; the
 * balancer sends a flow through one ring only, so each flow keeps its order.
 */

/* Is ring c gone or at the end of its run (and waiting for what comes next)? */
static bool ring_down(const struct rf_consumer *c)
{
	return c->gone || c->run_ended;
}

/* Attach producer ring `index` of c's queue: same options, same owners as ring 0. */
static int ring_open(const struct rf_consumer *c, uint32_t index, struct rf_consumer **ret)
{
	struct pin pin = {.dir_owner = c->m->dir_owner, .owner = c->m->owner};
	struct rf_consumer *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->flags = c->flags;
	s->wake_bytes = c->wake_bytes;
	s->wake_ns = c->wake_ns;
	s->paths = c->paths;
	rf_paths_set_ring(&s->paths, index);
	r = attach_waiting(s, &pin, RF_RINGS_WAIT_MS);
	if (r < 0) {
		free(s);
		return r;
	}
	start_position(s, s->flags & RF_CONSUMER_FROM_NEWEST);
	if (s->flags & RF_CONSUMER_SKIP_FINISHED)
		skip_finished(s);
	/* Its first packets are the first this handle gets from it. */
	s->moved = c->generations > 0;
	*ret = s;
	return 0;
}

/*
 * Attach the rings ring 0's generation says serve the queue (once per
 * generation of ring 0). Rings beyond that number, left by an earlier run
 * with more, stay until they are read to their end.
 */
static int adopt_rings(struct rf_consumer *c)
{
	uint32_t k = rf_hdr_rings(c->m->hdr), i;
	int r;

	if (k > 1 && !c->ring) {
		c->ring = calloc(RF_MAX_RINGS, sizeof(*c->ring));
		if (!c->ring)
			return -ENOMEM;
		c->ring[0] = c;
		c->nrings = 1;
	}
	for (i = 1; i < k; i++) {
		if (c->ring[i])
			continue; /* attached to an earlier generation: it moves on by itself */
		r = ring_open(c, i, &c->ring[i]);
		if (r < 0)
			return r; /* tried again at the next call */
		if (i >= c->nrings)
			c->nrings = i + 1;
	}
	c->rings = k;
	c->rings_gen = c->m->generation;
	return 0;
}

/* A ring no longer served, read to its end and released: detach it. */
static void drop_ring(struct rf_consumer *c, uint32_t i)
{
	ring_close(c->ring[i]);
	c->ring[i] = NULL;
	while (c->nrings > 1 && !c->ring[c->nrings - 1])
		c->nrings--;
	if (c->nrings == 1 && c->rings == 1) {
		free(c->ring); /* one ring again */
		c->ring = NULL;
		c->nrings = 0;
		c->hold = false;
	}
}

/*
 * One look at every ring, starting after the one that gave packets last:
 * packets of one ring (> 0), or nothing (0), or, once every ring served is
 * gone or at its end, -EPIPE (if any is gone) or -ENODATA, said once (every
 * time with RF_CONSUMER_NO_REATTACH), or an error attaching a ring.
 */
static int merged_poll(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max)
{
	bool all_down, gone, saying = false;
	struct rf_consumer *s;
	uint32_t n, i, j;
	int r;

again:
	all_down = true;
	gone = false;
	n = c->nrings;
	for (j = 0; j < n; j++) {
		i = (c->next + j) % n;
		s = c->ring[i];
		if (!s)
			continue;
		/* Rings move on to what comes next only once all are down (said). */
		s->hold = i >= c->rings || !c->down_said;
		r = ring_recv(s, pkts, max, 0);
		if (r > 0) {
			c->cur = i;
			c->next = i + 1;
			return r;
		}
		if (r < 0 && r != -EPIPE && r != -ENODATA)
			return r;
		if (i >= c->rings) {
			if (ring_down(s) && s->read_pos == s->tail && !unread(s))
				drop_ring(c, i);
			if (!c->ring)
				return 0; /* one ring again: the caller goes on with it */
			continue;
		}
		all_down = all_down && ring_down(s);
		gone = gone || s->gone;
	}
	if (!all_down) {
		c->down_said = false;
		return 0;
	}
	if (saying || c->flags & RF_CONSUMER_NO_REATTACH)
		return gone ? -EPIPE : -ENODATA;
	if (c->down_said)
		return 0;
	/*
	 * Every ring is down: let them move on (a ring whose next run is there
	 * already goes on with it, as one ring does, and nothing is said), and
	 * say what none of them got past.
	 */
	c->down_said = saying = true;
	goto again;
}

/*
 * Sleep until a ring has news or ns pass: wait_data() over every ring at
 * once. Each live ring gets its own target in its own page (the same
 * Dekker pair C3/P3 as one ring: waiting and wake_at stored, a seq_cst
 * fence, then its wake word and head read); one futex_waitv sleeps on all
 * the rings' wake words. Rings gone or ended are looked at again every
 * RF_ATTACH_POLL_NS, as wait_next() does.
 */
static int merged_sleep(struct rf_consumer *c, uint64_t ns)
{
	_Atomic uint32_t *words[RF_MAX_RINGS];
	uint32_t vals[RF_MAX_RINGS], i, n = 0;
	uint64_t target[RF_MAX_RINGS], want, end;
	struct rf_consumer *s;
	bool news = false;
	int r = 0;

	for (i = 0; i < c->nrings; i++) {
		s = c->ring[i];
		if (!s)
			continue;
		if (ring_down(s)) {
			if (ns > RF_ATTACH_POLL_NS)
				ns = RF_ATTACH_POLL_NS;
			continue;
		}
		want = s->busy ? s->wake_bytes : 1;
		if (want > s->m->size / 4)
			want = s->m->size / 4;
		target[i] = s->read_pos + (want ? want : 1);
		if (s->busy && ns > s->wake_ns)
			ns = s->wake_ns;
	}
	if (!(c->flags & RF_CONSUMER_NO_SPIN)) {
		end = rf_mono_ns() + (ns < RF_SPIN_NS ? ns : RF_SPIN_NS);
		do {
			for (i = 0; i < c->nrings && !news; i++)
				news = c->ring[i] && !ring_down(c->ring[i]) &&
				       reached(c->ring[i], target[i]);
			cpu_relax();
		} while (!news && rf_mono_ns() < end);
		if (news)
			goto out;
	}
	for (i = 0; i < c->nrings; i++) {
		s = c->ring[i];
		if (!s || ring_down(s))
			continue;
		atomic_store_explicit(&s->m->cons->wake_at, target[i], memory_order_relaxed);
		atomic_store_explicit(&s->m->cons->waiting, 1, memory_order_relaxed);
	}
	/* C3 on every ring: pairs with each producer's P3. */
	atomic_thread_fence(memory_order_seq_cst);
	for (i = 0; i < c->nrings; i++) {
		s = c->ring[i];
		if (!s)
			continue;
		words[n] = (_Atomic uint32_t *)&s->m->hdr->wake;
		vals[n++] = atomic_load_explicit(&s->m->hdr->wake, memory_order_relaxed);
		if (!ring_down(s))
			news = news || reached(s, target[i]);
	}
	if (!news && n)
		r = rf_futex_waitv(words, vals, n, ns);
	for (i = 0; i < c->nrings; i++)
		if (c->ring[i] && !ring_down(c->ring[i]))
			atomic_store_explicit(&c->ring[i]->m->cons->waiting, 0,
					      memory_order_relaxed);
out:
	for (i = 0; i < c->nrings; i++)
		if (c->ring[i] && !ring_down(c->ring[i]))
			c->ring[i]->busy = unread(c->ring[i]);
	return r;
}

static int merged_recv(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max,
		       int timeout_ms)
{
	uint64_t end = wait_end(timeout_ms);
	uint64_t slice;
	int r;

	for (;;) {
		r = merged_poll(c, pkts, max);
		if (r != 0 || !c->ring)
			return r;
		slice = max ? wait_slice(timeout_ms, end, RF_LIVENESS_NS) : 0;
		if (!slice)
			return 0;
		r = merged_sleep(c, slice);
		if (r == -EINTR)
			return r;
	}
}

/*
 * Something recv returns at once on some ring: packets, a ring back or moved
 * on, or every ring down and not said yet: 1; else 0, or -errno.
 */
static int merged_ready(struct rf_consumer *c)
{
	bool all_down = true;
	struct rf_consumer *s;
	uint32_t i;
	int r;

	for (i = 0; i < c->nrings; i++) {
		s = c->ring[i];
		if (!s)
			continue;
		s->hold = i >= c->rings || !c->down_said;
		if (ring_down(s)) {
			r = c->flags & RF_CONSUMER_NO_REATTACH || s->hold ? 0 : wait_next(s, 0);
			if (r != 0)
				return r;
		} else if (unread(s)) {
			return 1;
		} else if (atomic_load_explicit(&s->m->hdr->finished, memory_order_acquire)) {
			if (run_end(s) == 1)
				return 1;
		} else if (check_producer(s) == 1) {
			return 1;
		}
		if (i < c->rings)
			all_down = all_down && ring_down(s);
	}
	if (!all_down)
		return 0;
	return !c->down_said || (c->flags & RF_CONSUMER_NO_REATTACH) ? 1 : 0;
}

static int merged_wait(struct rf_consumer *c, int timeout_ms)
{
	uint64_t end = wait_end(timeout_ms);
	uint64_t slice;
	int r;

	for (;;) {
		r = merged_ready(c);
		if (r != 0)
			return r;
		slice = wait_slice(timeout_ms, end, RF_LIVENESS_NS);
		if (!slice)
			return 0;
		r = merged_sleep(c, slice);
		if (r == -EINTR)
			return r;
	}
}

/* Ring 0 moved to a generation served by another number of rings? Attach them. */
static inline int check_rings(struct rf_consumer *c)
{
	return rf_unlikely(c->m->generation != c->rings_gen) ? adopt_rings(c) : 0;
}

int rf_consumer_recv(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max,
		     int timeout_ms)
{
	int r;

	if (!c || (!pkts && max))
		return -EINVAL;
	if (max > INT_MAX)
		max = INT_MAX;
	r = check_rings(c);
	if (r < 0)
		return r;
	if (rf_unlikely(c->ring != NULL)) {
		r = merged_recv(c, pkts, max, timeout_ms);
		if (r != 0 || c->ring)
			return r;
	}
	return ring_recv(c, pkts, max, timeout_ms);
}

int rf_consumer_wait(struct rf_consumer *c, int timeout_ms)
{
	int r;

	if (!c || timeout_ms < -1)
		return -EINVAL;
	r = check_rings(c);
	if (r < 0)
		return r;
	return c->ring ? merged_wait(c, timeout_ms) : ring_wait(c, timeout_ms);
}

void rf_consumer_release(struct rf_consumer *c)
{
	uint32_t i;

	if (!c)
		return;
	if (rf_likely(!c->ring)) {
		ring_release(c);
		return;
	}
	for (i = 0; i < c->nrings; i++)
		if (c->ring[i])
			ring_release(c->ring[i]);
}

int rf_consumer_stats(const struct rf_consumer *c, struct rf_consumer_stats *ret_stats, size_t sz)
{
	struct rf_consumer_stats s, more;
	uint32_t i;

	if (!c || !ret_stats || sz == 0)
		return -EINVAL;
	ring_stats(c, &s);
	/* The queue's: the rings' sums; restarts and generations are ring 0's (one per run). */
	for (i = 1; c->ring && i < c->nrings; i++) {
		if (!c->ring[i])
			continue;
		ring_stats(c->ring[i], &more);
		s.received += more.received;
		s.received_bytes += more.received_bytes;
		s.dropped += more.dropped;
		s.corrupt += more.corrupt;
		s.backlog_bytes += more.backlog_bytes;
		s.skipped += more.skipped;
	}
	memcpy(ret_stats, &s, sz < sizeof(s) ? sz : sizeof(s));
	return 0;
}

int rf_consumer_info(const struct rf_consumer *c, struct rf_queue_info *ret_info, size_t sz)
{
	struct rf_queue_info qi, more;
	uint32_t i, cur;

	if (!c || !ret_info || sz == 0)
		return -EINVAL;
	/* The generation read now is that of the ring the last packets came from. */
	cur = c->ring && c->cur < c->nrings && c->ring[c->cur] ? c->cur : 0;
	ring_info(c->ring ? c->ring[cur] : c, &qi);
	for (i = 0; c->ring && i < c->nrings; i++) {
		if (i == cur || !c->ring[i])
			continue;
		ring_info(c->ring[i], &more);
		qi.enqueued += more.enqueued;
		qi.enqueued_bytes += more.enqueued_bytes;
		qi.dropped_full += more.dropped_full;
		qi.dropped_cursor += more.dropped_cursor;
		qi.dropped_toobig += more.dropped_toobig;
		qi.consumer_read += more.consumer_read;
		qi.backlog_bytes += more.backlog_bytes;
		qi.backlog_packets += more.backlog_packets;
		qi.finished = qi.finished && more.finished;
	}
	if (c->ring)
		qi.rings = c->rings;
	rf_copy_info(&qi, ret_info, sz);
	return 0;
}

int rf_consumer_shunt(struct rf_consumer *c, uint32_t hash, uint32_t seconds)
{
	uint32_t i;
	int r = -EPIPE;

	if (!c || seconds > RF_SHUNT_MAX_SECONDS)
		return -EINVAL;
	if (!c->ring)
		return ring_shunt(c, hash, seconds);
	/*
	 * The flow entered through one of the rings, and only the balancer
	 * knows which: every ring's page gets the request, and the one thread
	 * whose flow table holds the flow on this queue honours it.
	 */
	for (i = 0; i < c->rings && i < c->nrings; i++)
		if (c->ring[i] && ring_shunt(c->ring[i], hash, seconds) == 0)
			r = 0;
	return r;
}
