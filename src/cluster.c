/* SPDX-License-Identifier: BSD-2-Clause */
/* Clusters seen from outside the balancer: see cluster.h. */
#include "cluster.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "config.h"
#include "util.h"

#define READ_TRIES    50
#define READ_RETRY_US 10000

int rf_cluster_parse_id(const char *s, uint32_t *ret, const char *where)
{
	uint64_t v;

	if (rf_parse_u64(s, 0, RF_MAX_CLUSTER, &v)) {
		rf_err("%sbad cluster id '%s' (decimal, 0..%d)", where, s, RF_MAX_CLUSTER);
		return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

const char *rf_cluster_dir(const char *dir)
{
	/* The library's own choice of directory (and its only definition). */
	static struct rf_dir_info di;

	rf_queue_dir_check(dir, 0, &di);
	return di.path;
}

/*
 * A live balancer holds a write lock on its stats file (and each new one is
 * locked before it gets the name); the kernel drops it when the balancer
 * dies. Asking with a read lock sees only write locks, which a reader of
 * the file cannot take: it can neither fake nor hide a live balancer.
 */
bool rf_cluster_alive(const char *dir, uint64_t cluster)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	char path[4200];
	int fd;
	bool alive;

	snprintf(path, sizeof(path), "%s/%llu.stats", dir, (unsigned long long)cluster);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	alive = !fcntl(fd, F_OFD_GETLK, &fl) && fl.l_type != F_UNLCK;
	close(fd);
	return alive;
}

static int id_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/* "99.stats" -> 99; false for any other name. */
static bool stats_name(const char *name, uint32_t *ret_id)
{
	size_t l = strlen(name);
	char num[16];
	uint64_t v;

	if (l <= 6 || l - 6 >= sizeof(num) || strcmp(name + l - 6, ".stats"))
		return false;
	memcpy(num, name, l - 6);
	num[l - 6] = 0;
	if (rf_parse_u64(num, 0, RF_MAX_CLUSTER, &v))
		return false;
	*ret_id = (uint32_t)v;
	return true;
}

int rf_cluster_list(const char *dir, uint32_t **ret_ids, size_t *ret_n)
{
	uint32_t *ids = NULL, *tmp, id;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!stats_name(de->d_name, &id))
			continue;
		tmp = realloc(ids, (n + 1) * sizeof(*ids));
		if (!tmp) {
			free(ids);
			closedir(d);
			return -ENOMEM;
		}
		ids = tmp;
		ids[n++] = id;
	}
	closedir(d);
	if (n)
		qsort(ids, n, sizeof(*ids), id_cmp);
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}

static int read_text(const char *path, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = 0;
	return 0;
}

int rf_cluster_read(const char *dir, uint32_t cluster, char *buf, struct rf_stats_snap *ret)
{
	char path[4200];
	int r = 0, tries;

	snprintf(path, sizeof(path), "%s/%u.stats", dir, cluster);
	for (tries = 0; tries < READ_TRIES; tries++) {
		r = read_text(path, buf, RF_STATS_TEXT_MAX);
		if (r)
			return r;
		r = rf_stats_parse(buf, ret);
		if (!r)
			return 0;
		usleep(READ_RETRY_US);
	}
	return r;
}

const char *rf_cluster_read_error(int r)
{
	return r == -EBADMSG ? "not a ringfan stats file" : strerror(-r);
}

void rf_queue_view(const struct rf_stats_snap *s, uint64_t q, bool alive, uint64_t now_ns,
		   struct rf_queue_view *ret)
{
	const struct rf_stats_queue *qs = &s->queues[q];
	struct rf_queue_view v = {0};

	v.attached = alive && qs->consumer_pid;
	v.ever_seen = qs->consumer_seen_ns != 0;
	v.last_seen_ns = v.ever_seen ? qs->consumer_seen_ns : s->started_ns;
	if (!v.attached && now_ns > v.last_seen_ns)
		v.gone_secs = (double)(now_ns - v.last_seen_ns) / 1e9;
	if (qs->ring_size)
		v.fill = qs->backlog_bytes >= qs->ring_size
				 ? 1.0
				 : (double)qs->backlog_bytes / (double)qs->ring_size;
	*ret = v;
}

double rf_rate(uint64_t now, uint64_t before, double secs)
{
	if (secs <= 0)
		return 0;
	return (double)(now >= before ? now - before : now) / secs;
}

double rf_snap_secs(const struct rf_stats_snap *now, const struct rf_stats_snap *before)
{
	if (now->updated_ns <= before->updated_ns)
		return 0;
	return (double)(now->updated_ns - before->updated_ns) / 1e9;
}

bool rf_snap_same_run(const struct rf_stats_snap *now, const struct rf_stats_snap *before)
{
	return now->cluster == before->cluster && now->started_ns == before->started_ns &&
	       now->pid == before->pid && before->seq && now->seq > before->seq;
}
