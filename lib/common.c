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

int rf_paths_init(struct rf_paths *p, const char *name, const char *dir)
{
	int r = rf_queue_name_parse(name, &p->cluster, &p->queue);

	if (r < 0)
		return r;
	if (!dir || !*dir)
		dir = getenv("RINGFAN_DIR");
	if (!dir || !*dir)
		dir = RF_DEFAULT_DIR;
	if (snprintf(p->dir, sizeof(p->dir), "%s", dir) >= (int)sizeof(p->dir) ||
	    snprintf(p->ring, sizeof(p->ring), "%s/%u@%u.ring", dir, p->cluster, p->queue) >=
		    (int)sizeof(p->ring) ||
	    snprintf(p->cons, sizeof(p->cons), "%s/%u@%u.cons", dir, p->cluster, p->queue) >=
		    (int)sizeof(p->cons))
		return -ENAMETOOLONG;
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

int rf_lock_held(int fd)
{
	/* F_OFD_GETLK also works on a read-only descriptor. */
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

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
	return 0;
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
static void query_cons(const struct rf_paths *p, const struct rf_ring_hdr *h,
		       struct rf_queue_info *qi)
{
	struct rf_cons_page cp;
	int fd = open(p->cons, O_RDONLY | RF_O_FLAGS);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint64_t tail;

	if (fd < 0)
		return;
	if (read_full(fd, &cp, sizeof(cp)) == 0) {
		tail = atomic_load_explicit(&cp.tail, memory_order_relaxed);
		qi->consumer_read = atomic_load_explicit(&cp.released, memory_order_relaxed);
		if (rf_cursor_sane(tail, 0, head, h->ring_size))
			qi->backlog_bytes = head - tail;
		if (rf_lock_held(fd) == 1)
			qi->consumer_pid = atomic_load_explicit(&cp.pid, memory_order_relaxed);
	}
	close(fd);
}

static void info_from_hdr(const struct rf_ring_hdr *h, struct rf_queue_info *qi)
{
	qi->generation = h->generation;
	qi->ring_size = h->ring_size;
	qi->enqueued = atomic_load_explicit(&h->enqueued, memory_order_relaxed);
	qi->enqueued_bytes = atomic_load_explicit(&h->enqueued_bytes, memory_order_relaxed);
	qi->dropped_full = atomic_load_explicit(&h->dropped_full, memory_order_relaxed);
	qi->dropped_cursor = atomic_load_explicit(&h->dropped_cursor, memory_order_relaxed);
	qi->dropped_toobig = atomic_load_explicit(&h->dropped_toobig, memory_order_relaxed);
	qi->finished = atomic_load_explicit(&h->finished, memory_order_relaxed) != 0;
}

int rf_queue_query(const char *name, const struct rf_consumer_opts *opts,
		   struct rf_queue_info *ret_info, size_t sz)
{
	struct rf_consumer_opts o;
	struct rf_queue_info qi = {0};
	struct rf_ring_hdr h;
	struct rf_paths *p;
	struct stat st;
	int fd, r;

	if (!ret_info || sz == 0)
		return -EINVAL;
	r = rf_opts_copy(&o, sizeof(o), opts);
	if (r < 0)
		return r;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = rf_paths_init(p, name, o.dir);
	if (r < 0)
		goto out;
	fd = open(p->ring, O_RDONLY | RF_O_FLAGS);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = fstat(fd, &st) < 0 ? -errno : st.st_size == 0 ? -ENOENT : read_full(fd, &h, sizeof(h));
	if (r == 0)
		r = rf_ring_hdr_check(&h, (uint64_t)st.st_size, p);
	if (r == 0) {
		info_from_hdr(&h, &qi);
		if (rf_lock_held(fd) == 1)
			qi.producer_pid = h.producer_pid;
		query_cons(p, &h, &qi);
		memcpy(ret_info, &qi, sz < sizeof(qi) ? sz : sizeof(qi));
	}
	close(fd);
out:
	free(p);
	return r;
}

int rf_queue_remove(const char *name, const char *dir)
{
	struct rf_paths *p = malloc(sizeof(*p));
	int r, found = 0;

	if (!p)
		return -ENOMEM;
	r = rf_paths_init(p, name, dir);
	if (r == 0) {
		/* The ring first: a consumer that finds no ring does not look for the page. */
		if (unlink(p->ring) == 0)
			found = 1;
		else if (errno != ENOENT)
			r = -errno;
		if (unlink(p->cons) == 0)
			found = 1;
		else if (errno != ENOENT && r == 0)
			r = -errno;
		if (r == 0 && !found)
			r = -ENOENT;
	}
	free(p);
	return r;
}
