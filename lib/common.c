/* SPDX-License-Identifier: BSD-2-Clause */
/* Queue names and files, locks, futex, record checking, and queue inspection. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* A decimal number of at most max, running up to a terminator; -EINVAL / -ERANGE. */
static int parse_num(const char *s, char term, uint32_t max, uint32_t *ret, const char **ret_end)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			v = UINT32_MAX; /* saturate: still out of range, never wraps */
	}
	if (p == s || *p != term)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = (uint32_t)v;
	*ret_end = p;
	return 0;
}

int rf_queue_name_parse(const char *name, uint32_t *ret_cluster, uint32_t *ret_queue)
{
	const char *at, *end;
	uint32_t c = 0, q = 0;
	int rc, rq;

	if (!name)
		return -EINVAL;
	if (!strncmp(name, "ringfan:", 8))
		name += 8;
	at = strchr(name, '@');
	if (!at)
		return -EINVAL;
	rc = parse_num(name, '@', RF_MAX_CLUSTER, &c, &end);
	rq = parse_num(at + 1, '\0', RF_MAX_QUEUE, &q, &end);
	/* A syntax error anywhere wins over a number out of range. */
	if (rc == -EINVAL || rq == -EINVAL)
		return -EINVAL;
	if (rc < 0 || rq < 0)
		return -ERANGE;
	*ret_cluster = c;
	*ret_queue = q;
	return 0;
}

const char *rf_dir_resolve(const char *dir, bool *ret_named)
{
	if (!dir || !*dir)
		dir = getenv("RINGFAN_DIR");
	*ret_named = dir && *dir;
	return *ret_named ? dir : RF_DEFAULT_DIR;
}

int rf_paths_init(struct rf_paths *p, const char *name, const char *dir)
{
	int r = rf_queue_name_parse(name, &p->cluster, &p->queue);

	if (r < 0)
		return r;
	dir = rf_dir_resolve(dir, &p->dir_named);
	if (snprintf(p->dir, sizeof(p->dir), "%s", dir) >= (int)sizeof(p->dir))
		return -ENAMETOOLONG;
	rf_paths_set_ring(p, 0);
	return 0;
}

void rf_paths_set_ring(struct rf_paths *p, uint32_t index)
{
	p->ring_index = index;
	if (index == 0) {
		snprintf(p->ring, sizeof(p->ring), "%u@%u.ring", p->cluster, p->queue);
		snprintf(p->cons, sizeof(p->cons), "%u@%u.cons", p->cluster, p->queue);
		return;
	}
	snprintf(p->ring, sizeof(p->ring), "%u@%u.p%u.ring", p->cluster, p->queue, index);
	snprintf(p->cons, sizeof(p->cons), "%u@%u.p%u.cons", p->cluster, p->queue, index);
}

uint32_t rf_hdr_rings(const struct rf_ring_hdr *h)
{
	uint32_t r = RF_READ_ONCE(h->rings);

	return (RF_READ_ONCE(h->features) & RF_FEAT_RINGS) && r > 1 && r <= RF_MAX_RINGS ? r : 1;
}

/*
 * The trust rule for a queue directory, in one place. Nobody but its owner
 * may write to it (else anyone could swap the files under a name); the
 * default one, made in a parent anyone may write to, must also be owned by
 * root or the caller (else anyone could have made it first); a producer
 * only uses one that root or its own user owns.
 */
static int dir_trusted(const struct stat *st, bool named, bool producer)
{
	bool mine = st->st_uid == 0 || st->st_uid == geteuid();

	if (!S_ISDIR(st->st_mode))
		return -ENOTDIR;
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) || ((producer || !named) && !mine))
		return -EPERM;
	return 0;
}

int rf_dir_open(const struct rf_paths *p, bool producer, struct stat *ret_st)
{
	struct stat st;
	int fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	r = fstat(fd, &st) < 0 ? -errno : dir_trusted(&st, p->dir_named, producer);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (ret_st)
		*ret_st = st;
	return fd;
}

int rf_queue_dir_check(const char *dir, unsigned int flags, struct rf_dir_info *ret_info)
{
	struct stat st;
	bool named;
	const char *d = rf_dir_resolve(dir, &named);
	int r;

	if (flags & ~(unsigned int)RF_DIR_PRODUCER)
		return -EINVAL;
	if (ret_info) {
		memset(ret_info, 0, sizeof(*ret_info));
		snprintf(ret_info->path, sizeof(ret_info->path), "%s", d);
		ret_info->named = named;
	}
	if (lstat(d, &st) < 0)
		return -errno;
	if (ret_info) {
		ret_info->owner = st.st_uid;
		ret_info->mode = st.st_mode;
	}
	r = S_ISLNK(st.st_mode) ? -ENOTDIR : dir_trusted(&st, named, flags & RF_DIR_PRODUCER);
	return r;
}

int rf_file_trusted(const struct stat *st, const struct stat *dir_st)
{
	if (!S_ISREG(st->st_mode) || (st->st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	if (st->st_uid != dir_st->st_uid && st->st_uid != 0 && st->st_uid != geteuid())
		return -EPERM;
	return 0;
}

int rf_opts_copy(void *dst, size_t dst_sz, const void *src)
{
	size_t sz, i;

	memset(dst, 0, dst_sz);
	if (!src)
		return 0;
	memcpy(&sz, src, sizeof(sz));
	if (sz < sizeof(size_t))
		return -EINVAL;
	/* A newer caller's extra fields must be zero: we would ignore them. */
	for (i = dst_sz; i < sz; i++)
		if (((const uint8_t *)src)[i])
			return -EINVAL;
	memcpy(dst, src, sz < dst_sz ? sz : dst_sz);
	return 0;
}

int rf_lock_file(int fd)
{
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_OFD_SETLK, &l) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}

int rf_write_locked(int fd)
{
	/* A read lock conflicts only with write locks: GETLK then reports only
	 * those. It also works on a read-only descriptor. */
	struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_OFD_GETLK, &l) < 0)
		return -errno;
	return l.l_type != F_UNLCK;
}

int rf_ring_hdr_check(const struct rf_ring_hdr *h, uint64_t file_size, const struct rf_paths *p)
{
	uint64_t rs = h->ring_size;

	if (h->magic != RF_RING_MAGIC || h->abi_version != RF_ABI_VERSION ||
	    h->hdr_size != RF_RING_HDR_SIZE || rs < RF_RING_MIN_SIZE || rs > RF_RING_MAX_SIZE ||
	    (rs & (rs - 1)) || file_size != RF_RING_HDR_SIZE + rs || h->generation == 0 ||
	    h->cluster != p->cluster || h->queue != p->queue || h->max_record > rf_max_record(rs) ||
	    h->max_record < RF_REC_HDR_LEN)
		return -EPROTO;
	/* A ring of several says which it is; a lone ring is ring 0. */
	if (h->features & RF_FEAT_RINGS
		    ? h->rings < 2 || h->rings > RF_MAX_RINGS || h->ring_index >= h->rings ||
			      h->ring_index != p->ring_index
		    : p->ring_index != 0)
		return -EPROTO;
	return 0;
}

int rf_ring_hdr_read(int fd, const struct rf_paths *p, struct rf_ring_hdr *ret_hdr,
		     struct stat *ret_st)
{
	ssize_t n;

	if (fstat(fd, ret_st) < 0)
		return -errno;
	/* An empty file is not a queue (no producer leaves one; someone else's). */
	if (ret_st->st_size == 0)
		return -ENOENT;
	n = pread(fd, ret_hdr, sizeof(*ret_hdr), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(*ret_hdr))
		return -EPROTO;
	return rf_ring_hdr_check(ret_hdr, (uint64_t)ret_st->st_size, p);
}

void rf_info_from_hdr(const struct rf_ring_hdr *h, struct rf_queue_info *qi)
{
	uint32_t feat = RF_READ_ONCE(h->features);

	qi->generation = h->generation;
	qi->ring_size = h->ring_size;
	qi->enqueued = atomic_load_explicit(&h->enqueued, memory_order_relaxed);
	qi->enqueued_bytes = atomic_load_explicit(&h->enqueued_bytes, memory_order_relaxed);
	qi->dropped_full = atomic_load_explicit(&h->dropped_full, memory_order_relaxed);
	qi->dropped_cursor = atomic_load_explicit(&h->dropped_cursor, memory_order_relaxed);
	qi->dropped_toobig = atomic_load_explicit(&h->dropped_toobig, memory_order_relaxed);
	qi->finished = atomic_load_explicit(&h->finished, memory_order_relaxed) != 0;
	qi->linktype = (feat & RF_FEAT_LINKTYPE) ? (int32_t)RF_READ_ONCE(h->link_type)
						 : RF_LINKTYPE_DEFAULT;
	if (feat & RF_FEAT_RUN_INFO) {
		qi->started_ns = RF_READ_ONCE(h->started_ns);
		qi->finished_ns = atomic_load_explicit(&h->finished_ns, memory_order_relaxed);
		qi->producer_starts =
			atomic_load_explicit(&h->producer_starts, memory_order_relaxed);
	}
	qi->rings = rf_hdr_rings(h);
}

void rf_set_backlog_packets(struct rf_queue_info *qi)
{
	if (qi->enqueued >= qi->consumer_read)
		qi->backlog_packets = qi->enqueued - qi->consumer_read;
}

int rf_futex_wait(_Atomic uint32_t *word, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000ull),
			      .tv_nsec = (long)(timeout_ns % 1000000000ull)};

	/* Shared (not FUTEX_PRIVATE): the word lives in another process's file mapping. */
	if (syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0) == 0)
		return 0;
	return errno == EAGAIN || errno == ETIMEDOUT ? 0 : -errno;
}

int rf_futex_waitv(_Atomic uint32_t *const *words, const uint32_t *vals, unsigned int n,
		   uint64_t timeout_ns)
{
	struct futex_waitv w[RF_MAX_RINGS];
	struct timespec ts;
	uint64_t end = rf_mono_ns() + timeout_ns;
	unsigned int i;

	if (n == 0 || n > RF_MAX_RINGS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		/* Shared (no FUTEX2_PRIVATE): the words live in other processes' file mappings. */
		w[i] = (struct futex_waitv){
			.val = vals[i], .uaddr = (uint64_t)(uintptr_t)words[i], .flags = FUTEX_32};
	}
	ts.tv_sec = (time_t)(end / 1000000000ull);
	ts.tv_nsec = (long)(end % 1000000000ull);
	if (syscall(SYS_futex_waitv, w, n, 0, &ts, CLOCK_MONOTONIC) >= 0)
		return 0;
	if (errno == ENOSYS) {
		/* Before Linux 5.16: sleep on the first word, briefly, and look at all again. */
		return rf_futex_wait(words[0], vals[0],
				     timeout_ns < RF_WAITV_FALLBACK_NS ? timeout_ns
								       : RF_WAITV_FALLBACK_NS);
	}
	return errno == EAGAIN || errno == ETIMEDOUT ? 0 : -errno;
}

void rf_futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

uint64_t rf_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The rare cases: filler records (also those shorter than a record header) and errors. */
int rf_ring_read_slow(const uint8_t *base, uint64_t size, uint64_t pos, uint64_t head,
		      uint32_t *ret_len)
{
	uint64_t off = pos & (size - 1), to_end = size - off, avail = head - pos;
	struct rf_rec_hdr h;

	if ((pos & (RF_REC_ALIGN - 1)) || avail - 1 >= size || avail < RF_REC_ALIGN)
		return -EBADMSG;
	/* Only the first 8 bytes of a filler are meaningful (there may be no more). */
	memcpy(&h, base + off, RF_REC_ALIGN);
	if (!(h.flags & RF_REC_PAD) || h.len != to_end || h.len > avail)
		return -EBADMSG;
	*ret_len = h.len;
	return RF_REC_FILLER;
}

int rf_ring_read_record(const void *data, uint64_t size, uint64_t pos, uint64_t head,
			struct rf_packet *ret_pkt, uint32_t *ret_len)
{
	uint32_t len = 0;

	/* The fast path's preconditions (the slow path rejects what breaks them). */
	if (!(pos & (RF_REC_ALIGN - 1)) && pos < head && head - pos <= size)
		len = rf_ring_read_fast(data, size, pos, head, ret_pkt);
	if (len) {
		*ret_len = len;
		return RF_REC_PACKET;
	}
	return rf_ring_read_slow(data, size, pos, head, ret_len);
}

/* ------------------------------------------------------------------ */
/* Inspection                                                          */
/* ------------------------------------------------------------------ */

static int read_full(int fd, void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPROTO;
}

/* The consumer page's contribution: pid if its lock is held, released, backlog. */
static void query_cons(int dirfd, const struct rf_paths *p, const struct rf_ring_hdr *h,
		       struct rf_queue_info *qi)
{
	struct rf_cons_page cp;
	int fd = openat(dirfd, p->cons, O_RDONLY | RF_O_FLAGS);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint64_t tail;

	if (fd < 0)
		return;
	if (read_full(fd, &cp, sizeof(cp)) == 0) {
		tail = atomic_load_explicit(&cp.tail, memory_order_relaxed);
		qi->consumer_read = atomic_load_explicit(&cp.released, memory_order_relaxed);
		if (rf_cursor_sane(tail, 0, head, h->ring_size))
			qi->backlog_bytes = head - tail;
		if (rf_write_locked(fd) == 1)
			qi->consumer_pid = atomic_load_explicit(&cp.pid, memory_order_relaxed);
	}
	close(fd);
	rf_set_backlog_packets(qi);
}

void rf_copy_info(const struct rf_queue_info *qi, struct rf_queue_info *ret_info, size_t sz)
{
	memcpy(ret_info, qi, sz < sizeof(*qi) ? sz : sizeof(*qi));
}

/* One ring's info (its page's included): 0 or the error of opening or reading it. */
static int query_ring(int dirfd, const struct rf_paths *p, struct rf_queue_info *qi)
{
	struct rf_ring_hdr h;
	struct stat st;
	int fd = openat(dirfd, p->ring, O_RDONLY | RF_O_FLAGS), r;

	r = fd < 0 ? -errno : rf_ring_hdr_read(fd, p, &h, &st);
	if (r == 0) {
		rf_info_from_hdr(&h, qi);
		qi->owner = st.st_uid;
		if (rf_write_locked(fd) == 1)
			qi->producer_pid = h.producer_pid;
		query_cons(dirfd, p, &h, qi);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* Add ring `more`'s counters to the queue's (a ring that cannot be read adds nothing). */
static void info_add(struct rf_queue_info *qi, const struct rf_queue_info *more)
{
	qi->enqueued += more->enqueued;
	qi->enqueued_bytes += more->enqueued_bytes;
	qi->dropped_full += more->dropped_full;
	qi->dropped_cursor += more->dropped_cursor;
	qi->dropped_toobig += more->dropped_toobig;
	qi->consumer_read += more->consumer_read;
	qi->backlog_bytes += more->backlog_bytes;
	qi->backlog_packets += more->backlog_packets;
	qi->finished = qi->finished && more->finished;
	if (!qi->producer_pid)
		qi->producer_pid = more->producer_pid;
	if (!qi->consumer_pid)
		qi->consumer_pid = more->consumer_pid;
}

int rf_queue_query(const char *name, const struct rf_consumer_opts *opts,
		   struct rf_queue_info *ret_info, size_t sz)
{
	struct rf_consumer_opts o;
	struct rf_queue_info qi = {0}, more;
	struct rf_paths *p;
	uint32_t i;
	int dirfd, r;

	if (!ret_info || sz == 0)
		return -EINVAL;
	r = rf_opts_copy(&o, sizeof(o), opts);
	if (r < 0)
		return r;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = rf_paths_init(p, name, o.dir);
	dirfd = r < 0 ? r : rf_dir_open(p, false, NULL);
	if (dirfd < 0) {
		free(p);
		return dirfd;
	}
	r = query_ring(dirfd, p, &qi);
	/* Ring 0 says how many rings serve the queue: the counters are their sums. */
	for (i = 1; r == 0 && i < qi.rings; i++) {
		memset(&more, 0, sizeof(more));
		rf_paths_set_ring(p, i);
		if (query_ring(dirfd, p, &more) == 0)
			info_add(&qi, &more);
	}
	if (r == 0)
		rf_copy_info(&qi, ret_info, sz);
	close(dirfd);
	free(p);
	return r;
}

/* Does a producer or a consumer hold the ring's files? */
static bool files_busy(int dirfd, const struct rf_paths *p)
{
	bool busy = false;
	int fd;

	fd = openat(dirfd, p->ring, O_RDONLY | RF_O_FLAGS);
	if (fd >= 0) {
		busy = rf_write_locked(fd) == 1;
		close(fd);
	}
	fd = openat(dirfd, p->cons, O_RDONLY | RF_O_FLAGS);
	if (fd >= 0) {
		busy = busy || rf_write_locked(fd) == 1;
		close(fd);
	}
	return busy;
}

/* Unlink one ring's files: 0, -ENOENT (neither there) or -errno. */
static int remove_files(int dirfd, const struct rf_paths *p)
{
	int found = 0, r = 0;

	/* The ring first: a consumer that finds no ring does not look for the page. */
	if (unlinkat(dirfd, p->ring, 0) == 0)
		found = 1;
	else if (errno != ENOENT)
		r = -errno;
	if (unlinkat(dirfd, p->cons, 0) == 0)
		found = 1;
	else if (errno != ENOENT && r == 0)
		r = -errno;
	return r == 0 && !found ? -ENOENT : r;
}

/*
 * The queue's own files and those of its other producer rings (any that a
 * run with more rings than the last one left too). if_idle: nothing is
 * removed if a producer or consumer holds any ring. Ring 0 first: a
 * consumer that finds no ring 0 looks for no other.
 */
static int remove_rings(int dirfd, struct rf_paths *p, bool if_idle)
{
	uint32_t i;
	int r;

	for (i = 0; if_idle && i < RF_MAX_RINGS; i++) {
		rf_paths_set_ring(p, i);
		if (files_busy(dirfd, p))
			return -EBUSY;
	}
	rf_paths_set_ring(p, 0);
	r = remove_files(dirfd, p);
	for (i = 1; i < RF_MAX_RINGS; i++) {
		rf_paths_set_ring(p, i);
		remove_files(dirfd, p);
	}
	return r;
}

static int queue_remove(const char *name, const char *dir, bool if_idle)
{
	struct rf_paths *p = malloc(sizeof(*p));
	int r, dirfd;

	if (!p)
		return -ENOMEM;
	r = rf_paths_init(p, name, dir);
	if (r == 0) {
		/* Removing is the directory owner's business: the producer's rule. */
		dirfd = rf_dir_open(p, true, NULL);
		r = dirfd < 0 ? dirfd : remove_rings(dirfd, p, if_idle);
		if (dirfd >= 0)
			close(dirfd);
	}
	free(p);
	return r;
}

int rf_queue_remove_rings(const char *name, const char *dir, unsigned int from)
{
	struct rf_paths *p;
	int r, dirfd, n = 0;
	uint32_t i;

	if (from < 1)
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = rf_paths_init(p, name, dir);
	dirfd = r < 0 ? r : rf_dir_open(p, true, NULL);
	for (i = from; dirfd >= 0 && i < RF_MAX_RINGS; i++) {
		rf_paths_set_ring(p, i);
		if (remove_files(dirfd, p) == 0)
			n++;
	}
	r = dirfd < 0 ? dirfd : n;
	if (dirfd >= 0)
		close(dirfd);
	free(p);
	return r;
}

int rf_queue_remove(const char *name, const char *dir)
{
	return queue_remove(name, dir, false);
}

int rf_queue_remove_idle(const char *name, const char *dir)
{
	return queue_remove(name, dir, true);
}

void rf_touch_pages(uint8_t *data, uint64_t size, bool write)
{
	const uint64_t stride = 4096; /* the smallest page size */
	volatile uint8_t *v = data;
	uint64_t off;

	for (off = 0; off < size; off += stride) {
		if (write)
			v[off] = 0;
		else
			(void)v[off];
	}
}
