/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan clean: remove what stopped clusters left in the queue directory
 * (queues, stats and lock files). A cluster whose balancer runs, or one of
 * whose queues has a consumer attached, is kept: its files are in use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "cli.h"
#include "cluster.h"
#include "util.h"

struct clean_opts {
	const char *dir;
	bool have_cluster, dry_run, quiet;
	uint32_t cluster;
};

/* What one cluster left: its queues and other files, by name. */
struct cluster_files {
	uint32_t cluster;
	uint32_t queues; /* highest queue number seen + 1 */
	uint64_t bytes;
	unsigned int files;
};

/* -n is the balancer's --queues: --dry-run has no letter. */
enum {
	OPT_CLUSTER = 'c',
	OPT_QUIET = 'q',
	OPT_HELP = 'h',
	OPT_OLD_DRY_RUN = 'n',
	OPT_DIR = 256,
	OPT_DRY_RUN
};

static const struct opt_desc opts[] = {
	{OPT_CLUSTER, "cluster", "ID", "only this cluster (exit 1 if it is in use or absent)"},
	{OPT_DIR, "dir", "DIR", "queue directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_DRY_RUN, "dry-run", NULL, "say what would be removed, remove nothing"},
	{OPT_OLD_DRY_RUN, NULL, NULL, NULL, OPT_DRY_RUN},
	{OPT_QUIET, "quiet", NULL, "say only what is kept and why"},
	{OPT_HELP, "help", NULL, "this help"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan clean [-c CLUSTER] [--dir DIR] [--dry-run] [-q]\n"
		   "\n"
		   "Remove the queue, stats and lock files of stopped clusters from the queue\n"
		   "directory. A cluster whose balancer runs, or with a consumer attached to one\n"
		   "of its queues, is kept.\n"
		   "\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
}

static int apply(void *arg, int id, const char *val)
{
	struct clean_opts *o = arg;

	switch (id) {
	case OPT_CLUSTER:
		o->have_cluster = true;
		return rf_cluster_parse_id(val, &o->cluster, "");
	case OPT_DIR:
		o->dir = val;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = true;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	}
	return -EINVAL;
}

/* Returns 0, 1 (--help printed), or -EINVAL (message printed). */
static int parse_args(struct clean_opts *o, int argc, char **argv)
{
	static const struct rf_opts clean_opts = {opts, ARRAY_SIZE(opts), apply, usage};
	int r = rf_opts_parse(&clean_opts, argc, argv, o, NULL);

	return !r ? 0 : r < 0 ? 1 : -EINVAL;
}

/*
 * The cluster a file of the queue directory belongs to: "C.lock", "C.stats"
 * and its temporaries, "C@Q.ring", "C@Q.cons" (and "C@Q.pI.ring",
 * "C@Q.pI.cons" of a queue served by several producer rings) and their
 * temporaries ".C@Q.ring.XXXXXX". Sets *ret_queue (or -1). -1 if not a
 * ringfan file.
 */
static long file_cluster(const char *name, long *ret_queue)
{
	uint32_t c, q;
	char buf[64], *dot;
	size_t digits;

	*ret_queue = -1;
	if (name[0] == '.')
		name++;
	if (strlen(name) >= sizeof(buf) || name[0] < '0' || name[0] > '9')
		return -1;
	strcpy(buf, name);
	dot = strchr(buf, '.');
	/* ".pI" of producer ring I: the ring's suffix follows. */
	if (dot && dot[1] == 'p' && (digits = strspn(dot + 2, "0123456789")) > 0 &&
	    dot[2 + digits] == '.') {
		memmove(dot, dot + 2 + digits, strlen(dot + 2 + digits) + 1);
		if (strncmp(dot, ".ring", 5) && strncmp(dot, ".cons", 5))
			return -1;
	}
	if (!dot || (strncmp(dot, ".ring", 5) && strncmp(dot, ".cons", 5) &&
		     strncmp(dot, ".lock", 5) && strncmp(dot, ".stats", 6)))
		return -1;
	*dot = 0;
	if (strchr(buf, '@')) {
		if (rf_queue_name_parse(buf, &c, &q))
			return -1;
		*ret_queue = q;
		return c;
	}
	return rf_queue_name_parse(strcat(buf, "@0"), &c, &q) ? -1 : (long)c;
}

/* Add one directory entry to its cluster's tally (clusters[] is indexed by id). */
static void tally(int dirfd, const char *name, struct cluster_files *clusters)
{
	long q, c = file_cluster(name, &q);
	struct stat st;

	if (c < 0 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	clusters[c].cluster = (uint32_t)c;
	clusters[c].files++;
	clusters[c].bytes += (uint64_t)st.st_blocks * 512;
	if (q >= 0 && (uint32_t)q + 1 > clusters[c].queues)
		clusters[c].queues = (uint32_t)q + 1;
}

/* Why the cluster must stay, or NULL: a balancer, or a consumer of one of its queues. */
static const char *in_use(const struct clean_opts *o, const char *dir,
			  const struct cluster_files *cf, char *why, size_t len)
{
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = o->dir};
	struct rf_queue_info qi;
	char name[32];
	uint32_t q;

	if (rf_cluster_alive(dir, cf->cluster)) {
		snprintf(why, len, "its balancer is running (stop it first)");
		return why;
	}
	for (q = 0; q < cf->queues; q++) {
		snprintf(name, sizeof(name), "%u@%u", cf->cluster, q);
		if (rf_queue_query(name, &co, &qi, sizeof(qi)) == 0 && qi.consumer_pid > 0) {
			snprintf(why, len, "process %d is attached to queue %s (stop it first)",
				 (int)qi.consumer_pid, name);
			return why;
		}
	}
	return NULL;
}

/* A directory stream on dirfd, from its start (a dup shares the read position). */
static DIR *open_stream(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0)
		close(fd);
	if (d)
		rewinddir(d);
	return d;
}

/* Unlink every file of the cluster. 0 or the first error. */
static int remove_cluster(int dirfd, uint32_t cluster)
{
	struct dirent *e;
	DIR *d = open_stream(dirfd);
	int r = 0;
	long q;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (file_cluster(e->d_name, &q) == (long)cluster && unlinkat(dirfd, e->d_name, 0) &&
		    errno != ENOENT && !r)
			r = -errno;
	closedir(d);
	return r;
}

/* Keep or remove one cluster's files; returns 1 if kept because in use, <0 on failure. */
static int clean_cluster(const struct clean_opts *o, int dirfd, const char *dir,
			 const struct cluster_files *cf)
{
	char why[128], size[32];
	const char *busy = in_use(o, dir, cf, why, sizeof(why));
	int r;

	if (busy) {
		rf_err("kept cluster %u: %s", cf->cluster, busy);
		return 1;
	}
	rf_fmt_thousands(cf->bytes >> 10, size, sizeof(size));
	if (!o->quiet)
		printf("%s cluster %u: %u queue(s), %u file(s), %s KiB\n",
		       o->dry_run ? "would remove" : "removed", cf->cluster, cf->queues, cf->files,
		       size);
	if (o->dry_run)
		return 0;
	r = remove_cluster(dirfd, cf->cluster);
	if (r)
		rf_err("cannot remove cluster %u's files: %s", cf->cluster, strerror(-r));
	return r;
}

static int scan(int dirfd, struct cluster_files *clusters)
{
	struct dirent *e;
	DIR *d = open_stream(dirfd);

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		tally(dirfd, e->d_name, clusters);
	closedir(d);
	return 0;
}

static int run(const struct clean_opts *o, int dirfd, const char *path)
{
	struct cluster_files *clusters = calloc(RF_MAX_CLUSTER + 1, sizeof(*clusters));
	int status = RF_EXIT_OK, r;
	uint32_t c;

	if (!clusters) {
		rf_err("clean: out of memory");
		return RF_EXIT_RUNTIME;
	}
	r = scan(dirfd, clusters);
	if (r)
		rf_err("cannot read '%s': %s", path, strerror(-r));
	if (!r && o->have_cluster && !clusters[o->cluster].files) {
		rf_err("no files of cluster %u in '%s'", o->cluster, path);
		status = RF_EXIT_RUNTIME;
	}
	for (c = 0; !r && c <= RF_MAX_CLUSTER; c++) {
		if (!clusters[c].files || (o->have_cluster && c != o->cluster))
			continue;
		r = clean_cluster(o, dirfd, path, &clusters[c]);
		/* Kept because in use: an error when asked for this cluster, a note otherwise. */
		if (r == 1 && o->have_cluster)
			status = RF_EXIT_RUNTIME;
		r = r == 1 ? 0 : r;
	}
	free(clusters);
	return r ? RF_EXIT_RUNTIME : status;
}

int cmd_clean(int argc, char **argv)
{
	struct clean_opts o = {0};
	struct rf_dir_info di;
	int r, dirfd;

	r = parse_args(&o, argc, argv);
	if (r)
		return r > 0 ? RF_EXIT_OK : RF_EXIT_USAGE;
	r = rf_queue_dir_check(o.dir, 0, &di);
	if (r == -ENOENT) {
		if (!o.quiet)
			printf("nothing to clean: '%s' does not exist\n", di.path);
		return o.have_cluster ? RF_EXIT_RUNTIME : RF_EXIT_OK;
	}
	if (r) {
		rf_err("cannot clean '%s': %s", di.path,
		       r == -EPERM ? "not a trusted queue directory (others may write to it, or "
				     "it is not owned by root or you)"
				   : strerror(-r));
		return RF_EXIT_RUNTIME;
	}
	dirfd = open(di.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		rf_err("cannot open '%s': %s", di.path, strerror(errno));
		return RF_EXIT_RUNTIME;
	}
	r = run(&o, dirfd, di.path);
	close(dirfd);
	return r;
}
