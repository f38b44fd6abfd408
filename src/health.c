/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `ringfan health`: a check for monitoring systems, after the Nagios
 * plugin convention: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; the
 * first line is the verdict, then one line per problem. Rates (drops,
 * kernel drops) are measured between two snapshots of the stats file
 * --interval seconds apart.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "cli.h"
#include "cluster.h"
#include "util.h"

enum level { H_OK, H_WARNING, H_CRITICAL, H_UNKNOWN };

static const char *const level_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

#define POLL_US	      100000
#define UPDATE_SLACK  0.9 /* a snapshot 0.9 intervals later will do: the writer ticks */
#define STALE_GRACE_S 3.0 /* beyond the interval: 3 missed ticks, the balancer is stuck */

/* -i is the balancer's and count's --interface. */
enum {
	OPT_CLUSTER = 'c',
	OPT_HELP = 'h',
	OPT_OLD_INTERVAL = 'i',
	OPT_DIR = 256,
	OPT_INTERVAL,
	OPT_GONE_WARN,
	OPT_GONE_CRIT,
	OPT_FILL_WARN,
	OPT_FILL_CRIT,
	OPT_DROPS_WARN,
	OPT_DROPS_CRIT,
	OPT_KDROPS_WARN,
	OPT_KDROPS_CRIT,
};

static const struct opt_desc opts[] = {
	{OPT_CLUSTER, "cluster", "ID", "the cluster to check (required)"},
	{OPT_DIR, "dir", "DIR", "queue directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_INTERVAL, "interval", "SECS", "measure rates over SECS seconds (default 2)"},
	{OPT_OLD_INTERVAL, NULL, "SECS", NULL, OPT_INTERVAL},
	{OPT_GONE_WARN, "gone-warn", "SECS", "warn when a consumer is gone > SECS (default 10)"},
	{OPT_GONE_CRIT, "gone-crit", "SECS", "critical when gone > SECS (default 60)"},
	{OPT_FILL_WARN, "fill-warn", "PCT", "warn when a ring is > PCT % full (default 80)"},
	{OPT_FILL_CRIT, "fill-crit", "PCT", "critical when > PCT % full (default 95)"},
	{OPT_DROPS_WARN, "drops-warn", "PPS", "warn when a queue drops > PPS/s (default 0)"},
	{OPT_DROPS_CRIT, "drops-crit", "PPS", "critical when it drops > PPS/s (default 1000)"},
	{OPT_KDROPS_WARN, "kernel-drops-warn", "PPS",
	 "warn when a source's kernel drops > PPS/s (default 0)"},
	{OPT_KDROPS_CRIT, "kernel-drops-crit", "PPS",
	 "critical when kernel drops > PPS/s (default 1000)"},
	{OPT_HELP, "help", NULL, "this help"},
};

/* A warning and a critical threshold: a value above one is a problem of that level. */
struct limit {
	double warn, crit;
};

struct health {
	const char *dir;
	uint32_t cluster;
	bool have_cluster;
	double interval;
	struct limit gone, fill, drops, kdrops;
	/* Results. */
	enum level worst;
	unsigned int n_warn, n_crit;
	char lines[4096];
	size_t used;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan health -c CLUSTER [OPTIONS]\n\n"
		   "Check a cluster for a monitoring system: exit 0 OK, 1 WARNING, 2 CRITICAL,\n"
		   "3 UNKNOWN; the first line is the verdict, then one line per problem.\n"
		   "Critical: the balancer is gone. By threshold: a consumer gone, a queue\n"
		   "dropping, a ring filling up, kernel drops rising.\n\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExample: ringfan health -c 99 --gone-crit 30 --fill-warn 50\n");
}

static int set_limit(double *v, const char *opt, const char *val, double max)
{
	if (rf_parse_double(val, 0, max, v)) {
		rf_err("bad value '%s' for --%s (a number from 0 to %g)", val, opt, max);
		return -EINVAL;
	}
	return 0;
}

static const char *opt_name(int id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].id == id)
			return opts[i].name;
	return "?";
}

static double *limit_of(struct health *h, int id)
{
	switch (id) {
	case OPT_GONE_WARN:
		return &h->gone.warn;
	case OPT_GONE_CRIT:
		return &h->gone.crit;
	case OPT_FILL_WARN:
		return &h->fill.warn;
	case OPT_FILL_CRIT:
		return &h->fill.crit;
	case OPT_DROPS_WARN:
		return &h->drops.warn;
	case OPT_DROPS_CRIT:
		return &h->drops.crit;
	case OPT_KDROPS_WARN:
		return &h->kdrops.warn;
	case OPT_KDROPS_CRIT:
		return &h->kdrops.crit;
	}
	return NULL;
}

static int apply(void *arg, int id, const char *val)
{
	struct health *h = arg;

	switch (id) {
	case OPT_CLUSTER:
		if (rf_cluster_parse_id(val, &h->cluster, ""))
			return -EINVAL;
		h->have_cluster = true;
		return 0;
	case OPT_DIR:
		h->dir = val;
		return 0;
	case OPT_INTERVAL:
		if (rf_parse_double(val, 0.1, 3600, &h->interval)) {
			rf_err("bad --interval '%s' (seconds, 0.1 to 3600)", val);
			return -EINVAL;
		}
		return 0;
	case OPT_FILL_WARN:
	case OPT_FILL_CRIT:
		return set_limit(limit_of(h, id), opt_name(id), val, 100);
	}
	if (limit_of(h, id))
		return set_limit(limit_of(h, id), opt_name(id), val, 1e12);
	return -EINVAL;
}

__attribute__((format(printf, 3, 4))) static void problem(struct health *h, enum level l,
							  const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l > h->worst)
		h->worst = l;
	if (l == H_CRITICAL)
		h->n_crit++;
	else
		h->n_warn++;
	n = snprintf(h->lines + h->used, sizeof(h->lines) - h->used, "%s: ", level_names[l]);
	if (n > 0 && (size_t)n < sizeof(h->lines) - h->used)
		h->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(h->lines + h->used, sizeof(h->lines) - h->used, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(h->lines) - h->used - 1) {
		h->used += (size_t)n;
		h->lines[h->used++] = '\n';
		h->lines[h->used] = 0;
	}
}

/* The level of value against a limit, and the threshold it passed. */
static enum level judge(double v, const struct limit *lim, double *ret_threshold)
{
	if (v > lim->crit) {
		*ret_threshold = lim->crit;
		return H_CRITICAL;
	}
	*ret_threshold = lim->warn;
	return v > lim->warn ? H_WARNING : H_OK;
}

static const char *limit_word(enum level l)
{
	return l == H_CRITICAL ? "critical" : "warning";
}

static void check_consumer(struct health *h, const struct rf_stats_snap *s, uint64_t q,
			   const struct rf_queue_view *v)
{
	char when[32];
	time_t t = (time_t)(v->last_seen_ns / 1000000000ull);
	struct tm tm;
	double thr;
	enum level l = judge(v->gone_secs, &h->gone, &thr);

	if (l == H_OK)
		return;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	if (v->ever_seen)
		problem(h, l, "consumer of queue %u@%llu gone for %.0fs (since %s; %s above %gs)",
			h->cluster, (unsigned long long)q, v->gone_secs, when, limit_word(l), thr);
	else
		problem(h, l,
			"queue %u@%llu has had no consumer for %.0fs (since the balancer started "
			"at %s; %s above %gs)",
			h->cluster, (unsigned long long)q, v->gone_secs, when, limit_word(l), thr);
}

/* Every packet the queue's consumer should have had and did not (egress failures included). */
static uint64_t queue_drops(const struct rf_stats_queue *q)
{
	return q->dropped;
}

static void check_drops(struct health *h, const struct rf_stats_snap *s,
			const struct rf_stats_snap *p, uint64_t q, double secs)
{
	const struct rf_stats_queue *a = &s->queues[q], *b = &p->queues[q];
	double rate = rf_rate(queue_drops(a), queue_drops(b), secs), thr;
	enum level l = judge(rate, &h->drops, &thr);

	if (l == H_OK)
		return;
	problem(h, l,
		"queue %u@%llu dropping %.1f packets/s (full %.1f/s, too big %.1f/s, bad cursor "
		"%.1f/s, egress failed %.1f/s; %s above %g/s)",
		h->cluster, (unsigned long long)q, rate,
		rf_rate(a->dropped_full, b->dropped_full, secs),
		rf_rate(a->dropped_toobig, b->dropped_toobig, secs),
		rf_rate(a->dropped_cursor, b->dropped_cursor, secs),
		rf_rate(a->dropped_egress, b->dropped_egress, secs), limit_word(l), thr);
}

static void check_fill(struct health *h, const struct rf_stats_snap *s, uint64_t q,
		       const struct rf_queue_view *v)
{
	char a[32], b[32];
	double thr;
	enum level l = judge(v->fill * 100, &h->fill, &thr);

	if (l == H_OK)
		return;
	problem(h, l, "ring of queue %u@%llu is %.0f%% full (%s of %s bytes; %s above %g%%)",
		h->cluster, (unsigned long long)q, v->fill * 100,
		rf_fmt_thousands(s->queues[q].backlog_bytes, a, sizeof(a)),
		rf_fmt_thousands(s->queues[q].ring_size, b, sizeof(b)), limit_word(l), thr);
}

static void check_sources(struct health *h, const struct rf_stats_snap *s,
			  const struct rf_stats_snap *p, double secs)
{
	double rate, thr;
	enum level l;
	uint64_t i;

	for (i = 0; i < s->n_sources && i < p->n_sources; i++) {
		rate = rf_rate(s->sources[i].kernel_drops, p->sources[i].kernel_drops, secs);
		l = judge(rate, &h->kdrops, &thr);
		if (l != H_OK)
			problem(h, l,
				"source %s: the kernel dropped %.1f packets/s (%s above %g/s)",
				s->sources[i].name, rate, limit_word(l), thr);
	}
}

static void check_all(struct health *h, const struct rf_stats_snap *s,
		      const struct rf_stats_snap *p)
{
	double secs = rf_snap_secs(s, p);
	uint64_t now = rf_now_real_ns(), q;
	struct rf_queue_view v;

	check_sources(h, s, p, secs);
	for (q = 0; q < s->n_queues; q++) {
		rf_queue_view(s, q, true, now, &v);
		check_consumer(h, s, q, &v);
		check_drops(h, s, p, q, secs);
		check_fill(h, s, q, &v);
	}
}

static double age_secs(const struct rf_stats_snap *s)
{
	uint64_t now = rf_now_real_ns();

	return now > s->updated_ns ? (double)(now - s->updated_ns) / 1e9 : 0;
}

static void balancer_gone(struct health *h, const struct rf_stats_snap *s)
{
	problem(h, H_CRITICAL,
		"the balancer of cluster %u is gone (pid %llu, state %s, last update %.0fs ago)",
		h->cluster, (unsigned long long)s->pid, s->state, age_secs(s));
}

/*
 * A second snapshot of the same balancer run at least an interval after
 * first. Returns 0, 1 when the balancer died or stopped writing (problem
 * reported), or -errno.
 */
static int second_snapshot(struct health *h, char *buf, const struct rf_stats_snap *first,
			   struct rf_stats_snap *ret)
{
	const struct rf_stats_snap *base = first;
	uint64_t end = rf_now_mono_ns() + (uint64_t)((h->interval + STALE_GRACE_S) * 1e9);
	int r;

	for (;;) {
		usleep(POLL_US);
		r = rf_cluster_read(h->dir, h->cluster, buf, ret);
		if (r)
			return r;
		if (!rf_cluster_alive(h->dir, h->cluster)) {
			balancer_gone(h, ret);
			return 1;
		}
		if (rf_snap_same_run(ret, base) &&
		    rf_snap_secs(ret, base) >= h->interval * UPDATE_SLACK)
			return 0;
		if (rf_now_mono_ns() > end) {
			problem(h, H_CRITICAL,
				"the balancer of cluster %u (pid %llu) is alive but has not "
				"updated "
				"its counters for %.0fs",
				h->cluster, (unsigned long long)ret->pid, age_secs(ret));
			return 1;
		}
	}
}

static void print_verdict(struct health *h, const struct rf_stats_snap *s)
{
	uint64_t q, attached = 0;

	if (h->worst != H_OK) {
		printf("%s: cluster %u: critical %u, warning %u\n%s", level_names[h->worst],
		       h->cluster, h->n_crit, h->n_warn, h->lines);
		return;
	}
	for (q = 0; q < s->n_queues; q++)
		attached += s->queues[q].consumer_pid != 0;
	printf("OK: cluster %u running (pid %llu): %llu queues, %llu consumers attached, no "
	       "problem\n",
	       h->cluster, (unsigned long long)s->pid, (unsigned long long)s->n_queues,
	       (unsigned long long)attached);
}

static int check(struct health *h)
{
	struct rf_stats_snap *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *buf = malloc(RF_STATS_TEXT_MAX);
	int r = a && b && buf ? rf_cluster_read(h->dir, h->cluster, buf, a) : -ENOMEM;

	if (r) {
		printf("UNKNOWN: cannot read stats file '%s/%u.stats': %s\n", h->dir, h->cluster,
		       rf_cluster_read_error(r));
		h->worst = H_UNKNOWN;
	} else if (!rf_cluster_alive(h->dir, h->cluster)) {
		balancer_gone(h, a);
		print_verdict(h, a);
	} else if ((r = second_snapshot(h, buf, a, b)) < 0) {
		printf("UNKNOWN: cannot read stats file '%s/%u.stats': %s\n", h->dir, h->cluster,
		       rf_cluster_read_error(r));
		h->worst = H_UNKNOWN;
	} else {
		if (!r)
			check_all(h, b, a);
		print_verdict(h, b);
	}
	free(a);
	free(b);
	free(buf);
	return (int)h->worst;
}

int cmd_health(int argc, char **argv)
{
	static const struct rf_opts health_opts = {opts, ARRAY_SIZE(opts), apply, usage};
	struct health *h = calloc(1, sizeof(*h));
	int r;

	if (!h) {
		printf("UNKNOWN: out of memory\n");
		return H_UNKNOWN;
	}
	*h = (struct health){.interval = 2,
			     .gone = {10, 60},
			     .fill = {80, 95},
			     .drops = {0, 1000},
			     .kdrops = {0, 1000}};
	r = rf_opts_parse(&health_opts, argc, argv, h, NULL);
	if (!r && !h->have_cluster) {
		rf_err("missing -c CLUSTER (try 'ringfan health --help')");
		r = RF_EXIT_USAGE;
	}
	if (r) {
		free(h);
		/* Plugin convention: a usage error is UNKNOWN, not CRITICAL. */
		return r < 0 ? H_OK : H_UNKNOWN;
	}
	h->dir = rf_cluster_dir(h->dir);
	r = check(h);
	free(h);
	return r;
}
