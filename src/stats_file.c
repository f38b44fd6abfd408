/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The stats file: text, one "key: value" per line, keys from the tables
 * below (so writer and reader cannot disagree). It starts with
 * "ringfan-stats: VERSION" and "seq: N" and ends with "end: N": a reader
 * that sees a different or missing end read a torn file and retries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats.h"
#include "util.h"

/* A uint64_t counter, or (len > 0) a char[len] string, "-" in the file when empty. */
struct field {
	const char *key;
	size_t off;
	size_t len;
};

#define F(type, name)                       \
	{                                   \
#name, offsetof(type, name) \
	}
#define FS(type, name)                                                 \
	{                                                              \
#name, offsetof(type, name), sizeof(((type *)0)->name) \
	}

static const struct field top_fields[] = {
	{"seq", offsetof(struct rf_stats_snap, seq)},
	{"cluster", offsetof(struct rf_stats_snap, cluster)},
	{"pid", offsetof(struct rf_stats_snap, pid)},
	{"started_ns", offsetof(struct rf_stats_snap, started_ns)},
	{"updated_ns", offsetof(struct rf_stats_snap, updated_ns)},
	{"sources", offsetof(struct rf_stats_snap, n_sources)},
	{"groups", offsetof(struct rf_stats_snap, n_groups)},
	{"queues", offsetof(struct rf_stats_snap, n_queues)},
	{"waiting_queue", offsetof(struct rf_stats_snap, waiting_queue)},
	{"dedup_evicted", offsetof(struct rf_stats_snap, dedup_evicted)},
};

static const struct field source_fields[] = {
	FS(struct rf_stats_source, name),  F(struct rf_stats_source, received),
	F(struct rf_stats_source, bytes),  F(struct rf_stats_source, kernel_drops),
	FS(struct rf_stats_source, state),
};

static const struct field group_fields[] = {
	F(struct rf_stats_group, first_queue),	 F(struct rf_stats_group, queues),
	F(struct rf_stats_group, received),	 F(struct rf_stats_group, enqueued),
	F(struct rf_stats_group, dropped),	 F(struct rf_stats_group, filtered),
	F(struct rf_stats_group, deduplicated),	 F(struct rf_stats_group, shunted),
	F(struct rf_stats_group, flow_table),	 F(struct rf_stats_group, flows_active),
	F(struct rf_stats_group, flows_created), F(struct rf_stats_group, flows_expired),
	F(struct rf_stats_group, flows_evicted), F(struct rf_stats_group, flows_shunted),
	F(struct rf_stats_group, flow_fallback), F(struct rf_stats_group, flows_moved),
};

static const struct field queue_fields[] = {
	F(struct rf_stats_queue, group),
	F(struct rf_stats_queue, enqueued),
	F(struct rf_stats_queue, bytes),
	F(struct rf_stats_queue, dropped),
	F(struct rf_stats_queue, dropped_full),
	F(struct rf_stats_queue, dropped_cursor),
	F(struct rf_stats_queue, dropped_toobig),
	F(struct rf_stats_queue, dropped_egress),
	F(struct rf_stats_queue, consumer_pid),
	F(struct rf_stats_queue, consumer_read),
	F(struct rf_stats_queue, backlog_bytes),
	F(struct rf_stats_queue, egress_sent),
	F(struct rf_stats_queue, egress_failed),
	F(struct rf_stats_queue, backlog_packets),
	F(struct rf_stats_queue, ring_size),
	F(struct rf_stats_queue, generation),
	F(struct rf_stats_queue, consumer_seen_ns),
	F(struct rf_stats_queue, filtered),
	F(struct rf_stats_queue, deduplicated),
	F(struct rf_stats_queue, shunted),
	F(struct rf_stats_queue, failed_over),
	F(struct rf_stats_queue, shunt_requests),
	F(struct rf_stats_queue, shunt_refused),
	FS(struct rf_stats_queue, egress),
};

static const struct field frag_fields[] = {
	F(struct rf_stats_frag, first),		F(struct rf_stats_frag, tied),
	F(struct rf_stats_frag, held),		F(struct rf_stats_frag, released),
	F(struct rf_stats_frag, expired),	F(struct rf_stats_frag, table_full),
	F(struct rf_stats_frag, hold_full),	F(struct rf_stats_frag, hold_big),
	F(struct rf_stats_frag, table_expired), F(struct rf_stats_frag, held_now),
};

static const struct field total_fields[] = {
	F(struct rf_stats_totals, received),	 F(struct rf_stats_totals, bytes),
	F(struct rf_stats_totals, kernel_drops), F(struct rf_stats_totals, enqueued),
	F(struct rf_stats_totals, dropped),	 F(struct rf_stats_totals, filtered),
	F(struct rf_stats_totals, deduplicated), F(struct rf_stats_totals, shunted),
};

static uint64_t *u64_at(const void *base, size_t off)
{
	return (uint64_t *)((char *)base + off);
}

void rf_stats_sum(struct rf_stats_snap *s)
{
	uint64_t i;

	memset(&s->totals, 0, sizeof(s->totals));
	for (i = 0; i < s->n_groups; i++) {
		s->groups[i].enqueued = s->groups[i].dropped = 0;
		s->groups[i].filtered = s->groups[i].deduplicated = s->groups[i].shunted = 0;
	}
	for (i = 0; i < s->n_sources; i++) {
		s->totals.received += s->sources[i].received;
		s->totals.bytes += s->sources[i].bytes;
		s->totals.kernel_drops += s->sources[i].kernel_drops;
	}
	for (i = 0; i < s->n_queues; i++) {
		struct rf_stats_queue *q = &s->queues[i];

		q->dropped =
			q->dropped_full + q->dropped_cursor + q->dropped_toobig + q->dropped_egress;
		s->totals.enqueued += q->enqueued;
		s->totals.dropped += q->dropped;
		s->totals.filtered += q->filtered;
		s->totals.deduplicated += q->deduplicated;
		s->totals.shunted += q->shunted;
		if (q->group < s->n_groups) {
			s->groups[q->group].enqueued += q->enqueued;
			s->groups[q->group].dropped += q->dropped;
			s->groups[q->group].filtered += q->filtered;
			s->groups[q->group].deduplicated += q->deduplicated;
			s->groups[q->group].shunted += q->shunted;
		}
	}
}

void rf_stats_add(struct rf_stats_snap *s, const struct rf_stats_snap *more)
{
	uint64_t i;

	for (i = 0; i < s->n_sources && i < more->n_sources; i++) {
		s->sources[i].received += more->sources[i].received;
		s->sources[i].bytes += more->sources[i].bytes;
		s->sources[i].kernel_drops += more->sources[i].kernel_drops;
	}
	for (i = 0; i < s->n_groups && i < more->n_groups; i++)
		s->groups[i].received += more->groups[i].received;
	for (i = 0; i < s->n_queues && i < more->n_queues; i++) {
		struct rf_stats_queue *q = &s->queues[i];
		const struct rf_stats_queue *m = &more->queues[i];

		q->enqueued += m->enqueued;
		q->bytes += m->bytes;
		q->dropped_full += m->dropped_full;
		q->dropped_cursor += m->dropped_cursor;
		q->dropped_toobig += m->dropped_toobig;
		q->consumer_read += m->consumer_read;
		q->backlog_bytes += m->backlog_bytes;
		q->backlog_packets += m->backlog_packets;
		q->filtered += m->filtered;
		q->deduplicated += m->deduplicated;
		q->shunted += m->shunted;
		if (!q->consumer_pid)
			q->consumer_pid = m->consumer_pid;
		if (m->consumer_seen_ns > q->consumer_seen_ns)
			q->consumer_seen_ns = m->consumer_seen_ns;
	}
	for (i = 0; i < RF_DEC__MAX; i++)
		s->decode[i] += more->decode[i];
	s->dedup_evicted += more->dedup_evicted;
	s->frag.first += more->frag.first;
	s->frag.tied += more->frag.tied;
	s->frag.held += more->frag.held;
	s->frag.released += more->frag.released;
	s->frag.expired += more->frag.expired;
	s->frag.table_full += more->frag.table_full;
	s->frag.hold_full += more->frag.hold_full;
	s->frag.hold_big += more->frag.hold_big;
	s->frag.table_expired += more->frag.table_expired;
	s->frag.held_now += more->frag.held_now;
}

/* Append to a bounded buffer; remembers overflow. */
struct out {
	char *buf;
	size_t len, used;
	bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->overflow = true;
	else
		o->used += (size_t)n;
}

static void put_fields(struct out *o, const char *prefix, const void *base, const struct field *f,
		       size_t n)
{
	const char *str;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!f[i].len) {
			put(o, "%s%s: %llu\n", prefix, f[i].key,
			    (unsigned long long)*u64_at(base, f[i].off));
			continue;
		}
		str = (const char *)base + f[i].off;
		put(o, "%s%s: %.*s\n", prefix, f[i].key, (int)f[i].len, *str ? str : "-");
	}
}

static void format_entities(struct out *o, const struct rf_stats_snap *s)
{
	char prefix[32];
	uint64_t i;

	for (i = 0; i < s->n_sources; i++) {
		snprintf(prefix, sizeof(prefix), "source.%llu.", (unsigned long long)i);
		put_fields(o, prefix, &s->sources[i], source_fields, ARRAY_SIZE(source_fields));
	}
	for (i = 0; i < s->n_groups; i++) {
		snprintf(prefix, sizeof(prefix), "group.%llu.", (unsigned long long)i);
		put_fields(o, prefix, &s->groups[i], group_fields, ARRAY_SIZE(group_fields));
	}
	for (i = 0; i < s->n_queues; i++) {
		snprintf(prefix, sizeof(prefix), "queue.%llu.", (unsigned long long)i);
		put_fields(o, prefix, &s->queues[i], queue_fields, ARRAY_SIZE(queue_fields));
	}
}

int rf_stats_format(const struct rf_stats_snap *s, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	unsigned int i;

	put(&o, "ringfan-stats: %d\n", RF_STATS_VERSION);
	put_fields(&o, "", s, top_fields, ARRAY_SIZE(top_fields));
	put(&o, "state: %s\nmode: %s\n", s->state, s->mode);
	format_entities(&o, s);
	for (i = 0; i < RF_DEC__MAX; i++)
		put(&o, "decode.%s: %llu\n", rf_decode_reason_name(i),
		    (unsigned long long)s->decode[i]);
	put_fields(&o, "frag.", &s->frag, frag_fields, ARRAY_SIZE(frag_fields));
	put_fields(&o, "total.", &s->totals, total_fields, ARRAY_SIZE(total_fields));
	put(&o, "end: %llu\n", (unsigned long long)s->seq);
	return o.overflow ? -ENOSPC : (int)o.used;
}

static void set_str(char *dst, size_t len, const char *val)
{
	snprintf(dst, len, "%s", val);
}

static int set_field(void *base, const struct field *f, size_t n, const char *key, const char *val)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(f[i].key, key))
			continue;
		if (!f[i].len)
			return rf_parse_u64(val, 0, UINT64_MAX, u64_at(base, f[i].off));
		set_str((char *)base + f[i].off, f[i].len, strcmp(val, "-") ? val : "");
		return 0;
	}
	return 0; /* unknown keys are for newer readers */
}

/* "queue.3.enqueued" -> index 3, rest "enqueued". */
static bool split_indexed(const char *key, const char *prefix, uint64_t max, uint64_t *ret_i,
			  const char **ret_rest)
{
	size_t pl = strlen(prefix);
	char *end;
	unsigned long long i;

	if (strncmp(key, prefix, pl) || key[pl] < '0' || key[pl] > '9')
		return false;
	i = strtoull(key + pl, &end, 10);
	if (*end != '.' || i >= max)
		return false;
	*ret_i = i;
	*ret_rest = end + 1;
	return true;
}

static int parse_kv(struct rf_stats_snap *s, const char *key, const char *val)
{
	const char *rest;
	uint64_t i;

	if (split_indexed(key, "source.", RF_STATS_MAX_SOURCES, &i, &rest))
		return set_field(&s->sources[i], source_fields, ARRAY_SIZE(source_fields), rest,
				 val);
	if (split_indexed(key, "group.", RF_STATS_MAX_GROUPS, &i, &rest))
		return set_field(&s->groups[i], group_fields, ARRAY_SIZE(group_fields), rest, val);
	if (split_indexed(key, "queue.", RF_STATS_MAX_QUEUES, &i, &rest))
		return set_field(&s->queues[i], queue_fields, ARRAY_SIZE(queue_fields), rest, val);
	if (!strncmp(key, "decode.", 7)) {
		for (i = 0; i < RF_DEC__MAX; i++)
			if (!strcmp(key + 7, rf_decode_reason_name((unsigned int)i)))
				return rf_parse_u64(val, 0, UINT64_MAX, &s->decode[i]);
		return 0;
	}
	if (!strncmp(key, "frag.", 5))
		return set_field(&s->frag, frag_fields, ARRAY_SIZE(frag_fields), key + 5, val);
	if (!strncmp(key, "total.", 6))
		return set_field(&s->totals, total_fields, ARRAY_SIZE(total_fields), key + 6, val);
	if (!strcmp(key, "state"))
		set_str(s->state, sizeof(s->state), val);
	else if (!strcmp(key, "mode"))
		set_str(s->mode, sizeof(s->mode), val);
	return set_field(s, top_fields, ARRAY_SIZE(top_fields), key, val);
}

int rf_stats_parse(char *text, struct rf_stats_snap *ret)
{
	char *line, *save = NULL, *sep;
	bool header = false, end = false;
	uint64_t end_seq = 0;

	memset(ret, 0, sizeof(*ret));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		sep = strstr(line, ": ");
		if (!sep)
			return -EBADMSG;
		*sep = 0;
		if (!strcmp(line, "ringfan-stats")) {
			header = true;
			continue;
		}
		if (!strcmp(line, "end")) {
			end = !rf_parse_u64(sep + 2, 0, UINT64_MAX, &end_seq);
			continue;
		}
		if (!header || parse_kv(ret, line, sep + 2))
			return -EBADMSG;
	}
	if (!header || !end || end_seq != ret->seq || ret->n_sources > RF_STATS_MAX_SOURCES ||
	    ret->n_groups > RF_STATS_MAX_GROUPS || ret->n_queues > RF_STATS_MAX_QUEUES)
		return -EBADMSG;
	return 0;
}

/* ---- writer ---- */

/*
 * The writer keeps the current file open and write-locked: the lock is the
 * balancer's mark of life for readers (rf_cluster_alive()); each file is
 * locked before it gets the public name, so no reader can take it first.
 * Every file is created through the directory, never following a link.
 */
struct rf_stats_file {
	int dirfd;
	char name[256]; /* "CLUSTER.stats" */
	char tmp[272];	/* "CLUSTER.stats.tmp" */
	int fd;		/* the current file, locked; -1 before the first write */
	bool in_place;
	uid_t owner;
	gid_t group;
	mode_t mode;
	char *buf;
};

/*
 * Who may read the queues may read the counters: the queue mode's read bits,
 * and only the owner (the balancer) writes. 0600 -> 0600, 0640 -> 0640,
 * 0666 -> 0644.
 */
static mode_t stats_mode(mode_t queue_mode)
{
	return (queue_mode & 0444) | 0200;
}

/* Owner, group and mode of a newly written file (an old one may have had others). */
static int set_perms(const struct rf_stats_file *f, int fd)
{
	if ((f->owner != (uid_t)-1 || f->group != (gid_t)-1) && fchown(fd, f->owner, f->group))
		return -errno;
	return fchmod(fd, f->mode) ? -errno : 0;
}

int rf_stats_file_open(const char *path, uid_t owner, gid_t group, mode_t queue_mode,
		       struct rf_stats_file **ret_file)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct rf_stats_file *f;
	int r = 0;

	if (!slash || (size_t)(slash - path) >= sizeof(dir) || strlen(slash + 1) >= 256)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->buf = malloc(RF_STATS_TEXT_MAX))) {
		free(f);
		return -ENOMEM;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	snprintf(f->name, sizeof(f->name), "%s", slash + 1);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->name);
	f->owner = owner;
	f->group = group;
	f->mode = stats_mode(queue_mode);
	f->fd = -1;
	f->dirfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f->dirfd < 0)
		r = -errno;
	if (r) {
		free(f->buf);
		free(f);
		return r;
	}
	*ret_file = f;
	return 0;
}

void rf_stats_file_set_in_place(struct rf_stats_file *f)
{
	f->in_place = true;
}

static int write_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int write_in_place(struct rf_stats_file *f, size_t len)
{
	int r = f->fd < 0 ? -EBADF : write_all(f->fd, f->buf, len);

	if (!r && ftruncate(f->fd, (off_t)len))
		r = -errno;
	return r;
}

static int lock_fd(int fd)
{
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	return fcntl(fd, F_OFD_SETLK, &l) ? -errno : 0;
}

/*
 * A new file under the temporary name (whatever was there is removed first:
 * the directory is the balancer's, so it was a stale one of ours), created
 * exclusively and without following links, locked, with its access set.
 */
static int new_file(struct rf_stats_file *f)
{
	int fd, r;

	if (unlinkat(f->dirfd, f->tmp, 0) && errno != ENOENT)
		return -errno;
	fd = openat(f->dirfd, f->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = lock_fd(fd);
	if (!r)
		r = set_perms(f, fd);
	if (r) {
		close(fd);
		unlinkat(f->dirfd, f->tmp, 0);
		return r;
	}
	return fd;
}

static int write_renamed(struct rf_stats_file *f, size_t len)
{
	int fd = new_file(f), r;

	if (fd < 0)
		return fd;
	r = write_all(fd, f->buf, len);
	if (!r && renameat(f->dirfd, f->tmp, f->dirfd, f->name))
		r = -errno;
	if (r) {
		close(fd);
		unlinkat(f->dirfd, f->tmp, 0);
		return r;
	}
	/* The name is the new file's now: its lock replaces the old one's. */
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	return 0;
}

int rf_stats_file_write(struct rf_stats_file *f, const struct rf_stats_snap *s)
{
	int len = rf_stats_format(s, f->buf, RF_STATS_TEXT_MAX), r;

	if (len < 0)
		return len;
	if (!f->in_place) {
		r = write_renamed(f, (size_t)len);
		if (!r)
			return 0;
		/* Not allowed to give a new file the owner or group (after -D): stay in place. */
		f->in_place = r == -EPERM;
	}
	return write_in_place(f, (size_t)len);
}

void rf_stats_file_close(struct rf_stats_file *f, bool remove)
{
	if (!f)
		return;
	if (remove)
		unlinkat(f->dirfd, f->name, 0);
	if (f->fd >= 0)
		close(f->fd);
	close(f->dirfd);
	free(f->buf);
	free(f);
}
