/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `ringfan exporter`: Prometheus metrics of every cluster in the queue
 * directory, read from their stats files at each scrape. A process of its
 * own: metrics never touch the packet path, and one exporter covers every
 * balancer of the host, running or gone.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "cli.h"
#include "cluster.h"
#include "metrics.h"
#include "prom.h"
#include "util.h"

#define DEFAULT_LISTEN ":9571"

/* -l is the balancer's --log-file: the listen address has no letter. */
enum { OPT_HELP = 'h', OPT_OLD_LISTEN = 'l', OPT_DIR = 256, OPT_ONCE, OPT_LISTEN };

static const struct opt_desc opts[] = {
	{OPT_LISTEN, "listen", "ADDR:PORT",
	 "serve http://ADDR:PORT/metrics (default " DEFAULT_LISTEN ": every IPv4 address)"},
	{OPT_OLD_LISTEN, NULL, "ADDR:PORT", NULL, OPT_LISTEN},
	{OPT_DIR, "dir", "DIR", "queue directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_ONCE, "once", NULL, "print the metrics once on stdout and exit"},
	{OPT_HELP, "help", NULL, "this help"},
};

struct exporter {
	const char *listen;
	const char *dir;
	bool once;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan exporter [--listen ADDR:PORT] [--dir DIR] [--once]\n\n"
		   "Serve the counters of every cluster in DIR as Prometheus metrics, from\n"
		   "their stats files. A cluster whose balancer is gone stays, with\n"
		   "ringfan_balancer_up 0.\n\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExample: ringfan exporter --listen 127.0.0.1:9571\n");
}

static int apply(void *arg, int id, const char *val)
{
	struct exporter *e = arg;

	switch (id) {
	case OPT_LISTEN:
		if (rf_metrics_check_listen(val)) {
			rf_err("bad listen address '%s' (ADDR:PORT, e.g. 127.0.0.1:9571, "
			       "[::1]:9571 or :9571)",
			       val);
			return -EINVAL;
		}
		e->listen = val;
		return 0;
	case OPT_DIR:
		e->dir = val;
		return 0;
	case OPT_ONCE:
		e->once = true;
		return 0;
	}
	return -EINVAL;
}

/* Read the clusters' snapshots; unreadable ones are named on stderr and left out. */
static size_t read_snaps(const char *dir, const uint32_t *ids, size_t n, char *buf,
			 struct rf_stats_snap *snaps, struct rf_prom_cluster *c)
{
	size_t i, k = 0;
	int r;

	for (i = 0; i < n; i++) {
		r = rf_cluster_read(dir, ids[i], buf, &snaps[k]);
		if (r) {
			rf_err("cannot read stats file '%s/%u.stats': %s", dir, ids[i],
			       rf_cluster_read_error(r));
			continue;
		}
		c[k].snap = &snaps[k];
		c[k].up = rf_cluster_alive(dir, ids[i]);
		k++;
	}
	return k;
}

/* One scrape (the server's thread, or --once). A directory not made yet holds no cluster. */
static int fill(FILE *f, void *arg)
{
	const struct exporter *e = arg;
	struct rf_stats_snap *snaps = NULL;
	struct rf_prom_cluster *c = NULL;
	uint32_t *ids = NULL;
	size_t n = 0;
	char *buf = NULL;
	int r = rf_cluster_list(e->dir, &ids, &n);

	if (r == -ENOENT)
		r = 0;
	else if (r)
		rf_err("cannot read directory '%s': %s", e->dir, strerror(-r));
	if (!r && n &&
	    (!(buf = malloc(RF_STATS_TEXT_MAX)) || !(snaps = calloc(n, sizeof(*snaps))) ||
	     !(c = calloc(n, sizeof(*c))))) {
		rf_err("out of memory");
		r = -ENOMEM;
	}
	if (!r)
		r = rf_prom_write(f, c, n ? read_snaps(e->dir, ids, n, buf, snaps, c) : 0,
				  rf_now_real_ns());
	free(buf);
	free(snaps);
	free(c);
	free(ids);
	return r;
}

static int serve(struct exporter *e)
{
	struct rf_metrics *m;
	sigset_t set;
	int r, sig;

	/* Blocked before the server's thread starts, then taken with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	r = rf_metrics_start(e->listen, fill, e, &m);
	if (r) {
		rf_err("cannot listen on '%s': %s", e->listen, rf_metrics_strerror(r));
		return RF_EXIT_RUNTIME;
	}
	if (access(e->dir, F_OK))
		rf_warn("directory '%s' does not exist yet: no clusters to report", e->dir);
	sigwait(&set, &sig);
	rf_metrics_stop(m);
	return RF_EXIT_OK;
}

int cmd_exporter(int argc, char **argv)
{
	static const struct rf_opts exporter_opts = {opts, ARRAY_SIZE(opts), apply, usage};
	struct exporter e = {.listen = DEFAULT_LISTEN};
	int r = rf_opts_parse(&exporter_opts, argc, argv, &e, NULL);

	if (r)
		return r < 0 ? RF_EXIT_OK : r;
	e.dir = rf_cluster_dir(e.dir);
	if (!e.once)
		return serve(&e);
	r = fill(stdout, &e);
	if (r == -EIO || (!r && fflush(stdout))) {
		rf_err("cannot write the metrics to stdout: %s", strerror(errno ?: EIO));
		r = -EIO;
	}
	return r ? RF_EXIT_RUNTIME : RF_EXIT_OK;
}
