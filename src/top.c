/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `ringfan top`: a live view of a cluster from its stats file, one line per
 * queue (rates, ring fill, backlog, consumer), per source and per group.
 * Full-screen with ncurses, or --batch: the same table printed N times for
 * scripts (like `top -b`). Rates are measured between two snapshots of the
 * same balancer run, over the snapshots' own timestamps.
 */
#include <curses.h>
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

#define LINE_MAX_CHARS 512
#define BAR_WIDTH      10
#define SLOW_FILL      0.5 /* an attached consumer this far behind is slow */
#define DAY_NS	       (86400ull * 1000000000ull)

enum sort_key { SORT_QUEUE, SORT_PPS, SORT_DROPS, SORT_FILL, SORT_BACKLOG, SORT__MAX };

static const char *const sort_names[SORT__MAX] = {"queue", "pps", "drops", "fill", "backlog"};

/* -d, -n and -s are the balancer's --daemon, --queues and count's --snaplen. */
enum {
	OPT_CLUSTER = 'c',
	OPT_BATCH = 'b',
	OPT_HELP = 'h',
	OPT_OLD_DELAY = 'd',
	OPT_OLD_ITER = 'n',
	OPT_OLD_SORT = 's',
	OPT_DIR = 256,
	OPT_DELAY,
	OPT_ITER,
	OPT_SORT,
};

static const struct opt_desc opts[] = {
	{OPT_CLUSTER, "cluster", "ID", "show this cluster first (default: the lowest)"},
	{OPT_DIR, "dir", "DIR", "queue directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_DELAY, "delay", "SECS", "refresh every SECS seconds (default 1)"},
	{OPT_BATCH, "batch", NULL, "print the table to stdout instead of a full screen"},
	{OPT_ITER, "iterations", "N", "with --batch: print N tables, then exit (default: forever)"},
	{OPT_SORT, "sort", "KEY", "order queues by queue, pps, drops, fill or backlog"},
	{OPT_OLD_DELAY, NULL, "SECS", NULL, OPT_DELAY},
	{OPT_OLD_ITER, NULL, "N", NULL, OPT_ITER},
	{OPT_OLD_SORT, NULL, "KEY", NULL, OPT_SORT},
	{OPT_HELP, "help", NULL, "this help"},
};

struct rate3 {
	double pps, bps, dps; /* packets, bits and drops per second */
};

struct top {
	const char *dir;
	uint32_t cluster;
	bool have_cluster, batch, frozen;
	uint64_t iterations;
	double delay;
	enum sort_key sort;
	unsigned int scroll;
	/* What is shown. */
	struct rf_stats_snap *snap, *prev;
	int read_err; /* of the last read of the cluster's stats file */
	bool alive, have_rates;
	struct rate3 src[RF_STATS_MAX_SOURCES], grp[RF_STATS_MAX_GROUPS], que[RF_STATS_MAX_QUEUES];
	struct rate3 total; /* in: packets and bits; dps: queue drops */
	double total_kdps;  /* kernel drops, all sources */
	unsigned int order[RF_STATS_MAX_QUEUES];
	uint32_t *ids;
	size_t n_ids;
	char *buf;
};

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan top [-c CLUSTER] [--batch [--iterations N]] [OPTIONS]\n\n"
		   "Live view of a cluster: per queue packets/s, bits/s, drops/s, ring fill,\n"
		   "backlog and consumer; per source kernel drops; group totals.\n"
		   "Keys: q quit, c/C next/previous cluster, s sort, f or space freeze,\n"
		   "up/down scroll.\n\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExample: ringfan top -c 99 --batch --iterations 3 --delay 0.5\n");
}

static int parse_sort(const char *val, enum sort_key *ret)
{
	unsigned int i;

	for (i = 0; i < SORT__MAX; i++)
		if (!strcmp(val, sort_names[i])) {
			*ret = (enum sort_key)i;
			return 0;
		}
	return -EINVAL;
}

static int apply(void *arg, int id, const char *val)
{
	struct top *t = arg;

	switch (id) {
	case OPT_CLUSTER:
		if (rf_cluster_parse_id(val, &t->cluster, ""))
			return -EINVAL;
		t->have_cluster = true;
		return 0;
	case OPT_DIR:
		t->dir = val;
		return 0;
	case OPT_DELAY:
		if (rf_parse_double(val, 0.1, 3600, &t->delay)) {
			rf_err("bad --delay '%s' (seconds, 0.1 to 3600)", val);
			return -EINVAL;
		}
		return 0;
	case OPT_BATCH:
		t->batch = true;
		return 0;
	case OPT_ITER:
		if (rf_parse_u64(val, 1, UINT32_MAX, &t->iterations)) {
			rf_err("bad --iterations '%s' (1 or more)", val);
			return -EINVAL;
		}
		return 0;
	case OPT_SORT:
		if (parse_sort(val, &t->sort)) {
			rf_err("bad --sort '%s' (queue, pps, drops, fill or backlog)", val);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

/* ---- data ---- */

static void rate3(struct rate3 *r, uint64_t pk, uint64_t pk0, uint64_t by, uint64_t by0,
		  uint64_t dr, uint64_t dr0, double secs)
{
	r->pps = rf_rate(pk, pk0, secs);
	r->bps = rf_rate(by, by0, secs) * 8;
	r->dps = rf_rate(dr, dr0, secs);
}

static uint64_t queue_drops(const struct rf_stats_queue *q)
{
	return q->dropped + q->egress_failed;
}

static void compute_rates(struct top *t)
{
	const struct rf_stats_snap *s = t->snap, *p = t->prev;
	double secs = rf_snap_secs(s, p);
	uint64_t i;

	memset(&t->total, 0, sizeof(t->total));
	t->total_kdps = 0;
	for (i = 0; i < s->n_sources; i++) {
		rate3(&t->src[i], s->sources[i].received, p->sources[i].received,
		      s->sources[i].bytes, p->sources[i].bytes, s->sources[i].kernel_drops,
		      p->sources[i].kernel_drops, secs);
		t->total.pps += t->src[i].pps;
		t->total.bps += t->src[i].bps;
		t->total_kdps += t->src[i].dps;
	}
	memset(t->grp, 0, sizeof(t->grp));
	for (i = 0; i < s->n_queues; i++) {
		const struct rf_stats_queue *a = &s->queues[i], *b = &p->queues[i];

		rate3(&t->que[i], a->enqueued, b->enqueued, a->bytes, b->bytes, queue_drops(a),
		      queue_drops(b), secs);
		t->total.dps += t->que[i].dps;
		if (a->group < RF_STATS_MAX_GROUPS)
			t->grp[a->group].dps += t->que[i].dps;
	}
	for (i = 0; i < s->n_groups; i++)
		t->grp[i].pps = rf_rate(s->groups[i].received, p->groups[i].received, secs);
	t->have_rates = true;
}

/* Read the shown cluster again; rates when it is a newer snapshot of the same run. */
static void reload(struct top *t)
{
	struct rf_stats_snap *tmp;

	free(t->ids);
	t->ids = NULL;
	t->n_ids = 0;
	rf_cluster_list(t->dir, &t->ids, &t->n_ids);
	if (!t->have_cluster && t->n_ids) {
		t->cluster = t->ids[0];
		t->have_cluster = true;
	}
	if (!t->have_cluster)
		return;
	t->read_err = rf_cluster_read(t->dir, t->cluster, t->buf, t->prev);
	if (t->read_err)
		return;
	t->alive = rf_cluster_alive(t->dir, t->cluster);
	/* prev now holds the new snapshot: swap, so that prev is the older one. */
	tmp = t->snap;
	t->snap = t->prev;
	t->prev = tmp;
	if (t->snap->seq == t->prev->seq && t->snap->pid == t->prev->pid) {
		*t->prev = *t->snap; /* nothing new: keep the rates */
		return;
	}
	if (rf_snap_same_run(t->snap, t->prev))
		compute_rates(t);
	else
		t->have_rates = false;
}

static void switch_cluster(struct top *t, int step)
{
	size_t i;

	if (!t->n_ids)
		return;
	for (i = 0; i < t->n_ids && t->ids[i] != t->cluster; i++)
		;
	if (i == t->n_ids)
		i = 0;
	else
		i = (i + t->n_ids + (size_t)(long)step) % t->n_ids;
	t->cluster = t->ids[i];
	t->have_rates = false;
	t->scroll = 0;
	memset(t->snap, 0, sizeof(*t->snap));
	memset(t->prev, 0, sizeof(*t->prev));
	reload(t);
}

/* ---- formatting ---- */

/* 1234 -> "1.2k"; at most 6 characters. */
static const char *si(double v, char *buf, size_t len)
{
	static const char units[] = " kMGTP";
	unsigned int u = 0;

	while (v >= 999.5 && u < sizeof(units) - 2) {
		v /= 1000;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

static const char *rate_str(const struct top *t, double v, char *buf, size_t len)
{
	return t->have_rates ? si(v, buf, len) : "-";
}

static const char *duration(double secs, char *buf, size_t len)
{
	unsigned long long s = (unsigned long long)secs;

	if (s >= 86400)
		snprintf(buf, len, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	return buf;
}

/* Local time of a real-time stamp: the time of day, or the date when not today. */
static const char *clock_str(uint64_t ns, uint64_t now, char *buf, size_t len)
{
	time_t tt = (time_t)(ns / 1000000000ull);
	struct tm tm;

	strftime(buf, len, now - ns < DAY_NS ? "%H:%M:%S" : "%m-%d %H:%M", localtime_r(&tt, &tm));
	return buf;
}

/* The consumer column: "1235 attached", "1235 slow", "gone since 12:01:05", "never attached". */
static const char *consumer_str(const struct top *t, uint64_t q, char *buf, size_t len,
				bool *ret_bad)
{
	const struct rf_stats_queue *qs = &t->snap->queues[q];
	struct rf_queue_view v;
	uint64_t now = rf_now_real_ns();
	char when[24];
	bool slow;

	rf_queue_view(t->snap, q, t->alive, now, &v);
	slow = v.fill > SLOW_FILL || (t->have_rates && t->que[q].dps > 0);
	*ret_bad = !v.attached || slow;
	if (v.attached)
		snprintf(buf, len, "%llu %s", (unsigned long long)qs->consumer_pid,
			 slow ? "slow" : "attached");
	else if (v.ever_seen)
		snprintf(buf, len, "gone since %s", clock_str(v.last_seen_ns, now, when, 24));
	else
		snprintf(buf, len, "never attached");
	return buf;
}

static const char *fill_bar(double fill, char *buf)
{
	int n = (int)(fill * BAR_WIDTH + 0.5), i;

	buf[0] = '|';
	for (i = 0; i < BAR_WIDTH; i++)
		buf[1 + i] = i < n ? '#' : ' ';
	buf[BAR_WIDTH + 1] = '|';
	buf[BAR_WIDTH + 2] = 0;
	return buf;
}

/* ---- output: stdout (batch) or the screen ---- */

struct out {
	bool screen;
	int row, rows; /* screen: next row, rows for the body */
};

__attribute__((format(printf, 3, 4))) static void emit(struct out *o, bool bold, const char *fmt,
						       ...)
{
	char line[LINE_MAX_CHARS];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!o->screen) {
		puts(line);
		return;
	}
	if (o->row >= o->rows)
		return;
	if (bold)
		attron(A_BOLD);
	mvaddnstr(o->row++, 0, line, COLS);
	if (bold)
		attroff(A_BOLD);
}

static void emit_header(struct top *t, struct out *o)
{
	const struct rf_stats_snap *s = t->snap;
	uint64_t now = rf_now_real_ns();
	char up[24], a[16], b[16], c[16], d[16], clk[24];
	bool gone = !t->alive && !strcmp(s->state, "running");

	char pos[48] = "";
	size_t i;

	for (i = 0; i < t->n_ids && t->ids[i] != s->cluster; i++)
		;
	if (i < t->n_ids)
		snprintf(pos, sizeof(pos), " (%zu of %zu)", i + 1, t->n_ids);
	emit(o, true, "cluster %llu%s, %s%s, pid %llu, mode %s, up %s, %s%s",
	     (unsigned long long)s->cluster, pos, s->state, gone ? " (balancer gone)" : "",
	     (unsigned long long)s->pid, s->mode,
	     duration((double)(s->updated_ns - s->started_ns) / 1e9, up, sizeof(up)),
	     clock_str(s->updated_ns, now, clk, sizeof(clk)), t->frozen ? "  [FROZEN]" : "");
	emit(o, false, "in %s pkt/s %s bit/s, drops %s/s, kernel drops %s/s, sorted by %s",
	     rate_str(t, t->total.pps, a, sizeof(a)), rate_str(t, t->total.bps, b, sizeof(b)),
	     rate_str(t, t->total.dps, c, sizeof(c)), rate_str(t, t->total_kdps, d, sizeof(d)),
	     sort_names[t->sort]);
}

static void emit_sources(struct top *t, struct out *o)
{
	const struct rf_stats_snap *s = t->snap;
	char a[16], b[16], c[16], d[32];
	uint64_t i;

	emit(o, true, "%-40.40s %7s %7s %7s %14s", "SOURCE", "PKT/S", "BIT/S", "KDROP/S",
	     "KERNEL-DROPS");
	for (i = 0; i < s->n_sources; i++)
		emit(o, false, "%-40.40s %7s %7s %7s %14s", s->sources[i].name,
		     rate_str(t, t->src[i].pps, a, sizeof(a)),
		     rate_str(t, t->src[i].bps, b, sizeof(b)),
		     rate_str(t, t->src[i].dps, c, sizeof(c)),
		     rf_fmt_thousands(s->sources[i].kernel_drops, d, sizeof(d)));
}

static void emit_groups(struct top *t, struct out *o)
{
	const struct rf_stats_snap *s = t->snap;
	char a[16], b[16], c[32], d[32], e[32];
	uint64_t g;

	emit(o, true, "%-5s %-11s %7s %7s %15s %15s", "GROUP", "QUEUES", "PKT/S", "DROP/S",
	     "RECEIVED", "DROPPED");
	for (g = 0; g < s->n_groups; g++) {
		const struct rf_stats_group *gr = &s->groups[g];

		snprintf(e, sizeof(e), "%llu-%llu", (unsigned long long)gr->first_queue,
			 (unsigned long long)(gr->first_queue + gr->queues - 1));
		emit(o, false, "%-5c %-11s %7s %7s %15s %15s", (char)('A' + g % 26), e,
		     rate_str(t, t->grp[g].pps, a, sizeof(a)),
		     rate_str(t, t->grp[g].dps, b, sizeof(b)),
		     rf_fmt_thousands(gr->received, c, sizeof(c)),
		     rf_fmt_thousands(gr->dropped, d, sizeof(d)));
	}
}

static double sort_value(const struct top *t, unsigned int q)
{
	struct rf_queue_view v;

	switch (t->sort) {
	case SORT_PPS:
		return t->que[q].pps;
	case SORT_DROPS:
		return t->que[q].dps;
	case SORT_FILL:
		rf_queue_view(t->snap, q, t->alive, 0, &v);
		return v.fill;
	case SORT_BACKLOG:
		return (double)t->snap->queues[q].backlog_packets;
	default:
		return -(double)q;
	}
}

/* Queues in display order: the sort key descending, queue number ascending on ties. */
static void sort_queues(struct top *t)
{
	unsigned int i, j, n = (unsigned int)t->snap->n_queues, k;

	for (i = 0; i < n; i++)
		t->order[i] = i;
	for (i = 1; i < n; i++) {
		k = t->order[i];
		for (j = i; j > 0 && sort_value(t, t->order[j - 1]) < sort_value(t, k); j--)
			t->order[j] = t->order[j - 1];
		t->order[j] = k;
	}
}

static void emit_queue(struct top *t, struct out *o, unsigned int q)
{
	const struct rf_stats_queue *qs = &t->snap->queues[q];
	struct rf_queue_view v;
	char a[16], b[16], c[16], bar[BAR_WIDTH + 3], bl[16], cons[40];
	bool bad;

	rf_queue_view(t->snap, q, t->alive, rf_now_real_ns(), &v);
	consumer_str(t, q, cons, sizeof(cons), &bad);
	emit(o, bad, "%5u %-3c %7s %7s %7s %s %3.0f%% %7s %s", q, (char)('A' + qs->group % 26),
	     rate_str(t, t->que[q].pps, a, sizeof(a)), rate_str(t, t->que[q].bps, b, sizeof(b)),
	     rate_str(t, t->que[q].dps, c, sizeof(c)), fill_bar(v.fill, bar), v.fill * 100,
	     si((double)qs->backlog_packets, bl, sizeof(bl)), cons);
}

static void emit_queues(struct top *t, struct out *o)
{
	unsigned int n = (unsigned int)t->snap->n_queues, first = 0, shown = n, i;
	int room;

	sort_queues(t);
	emit(o, true, "%5s %-3s %7s %7s %7s %-12s %4s %7s %s", "QUEUE", "GRP", "PKT/S", "BIT/S",
	     "DROP/S", "FILL", "", "BACKLOG", "CONSUMER");
	if (o->screen) {
		room = o->rows - o->row;
		if (room < 1)
			return;
		if (t->scroll + (unsigned int)room > n)
			t->scroll = n > (unsigned int)room ? n - (unsigned int)room : 0;
		first = t->scroll;
		shown = n - first > (unsigned int)room ? (unsigned int)room - 1 : n - first;
	}
	for (i = first; i < first + shown; i++)
		emit_queue(t, o, t->order[i]);
	if (first + shown < n)
		emit(o, false, "  ... %u more queues (down to scroll)", n - first - shown);
}

static void emit_frame(struct top *t, struct out *o)
{
	if (!t->have_cluster) {
		emit(o, false, "no clusters in %s (waiting for a balancer)", t->dir);
		return;
	}
	if (t->read_err) {
		emit(o, false, "cluster %u: cannot read stats file '%s/%u.stats': %s", t->cluster,
		     t->dir, t->cluster, rf_cluster_read_error(t->read_err));
		return;
	}
	emit_header(t, o);
	emit(o, false, "%s", "");
	emit_sources(t, o);
	emit_groups(t, o);
	emit(o, false, "%s", "");
	emit_queues(t, o);
}

/* ---- batch ---- */

static int run_batch(struct top *t)
{
	struct out o = {0};
	uint64_t i;

	for (i = 0; !t->iterations || i < t->iterations; i++) {
		if (i)
			usleep((useconds_t)(t->delay * 1e6));
		reload(t);
		if (!t->have_cluster || t->read_err) {
			if (!t->have_cluster)
				rf_err("no clusters in %s", t->dir);
			else
				rf_err("cannot read stats file '%s/%u.stats': %s", t->dir,
				       t->cluster, rf_cluster_read_error(t->read_err));
			return RF_EXIT_RUNTIME;
		}
		emit_frame(t, &o);
		putchar('\n');
		if (fflush(stdout))
			return RF_EXIT_RUNTIME;
	}
	return RF_EXIT_OK;
}

/* ---- full screen ---- */

static void draw(struct top *t)
{
	struct out o = {.screen = true, .rows = LINES - 1};

	erase();
	emit_frame(t, &o);
	attron(A_REVERSE);
	mvaddnstr(LINES - 1, 0, " q quit  c/C next/prev cluster  s sort  f freeze  up/down scroll ",
		  COLS);
	attroff(A_REVERSE);
	refresh();
}

/* One key; returns false to quit. */
static bool on_key(struct top *t, int ch)
{
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 'c':
		switch_cluster(t, 1);
		break;
	case 'C':
		switch_cluster(t, -1);
		break;
	case 's':
		t->sort = (enum sort_key)((t->sort + 1) % SORT__MAX);
		break;
	case 'f':
	case ' ':
		t->frozen = !t->frozen;
		break;
	case KEY_DOWN:
		t->scroll++;
		break;
	case KEY_UP:
		if (t->scroll)
			t->scroll--;
		break;
	}
	return true;
}

static int run_screen(struct top *t)
{
	uint64_t next = 0, now;
	int ch;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		rf_err("top needs a terminal (use --batch for a plain table)");
		return RF_EXIT_USAGE;
	}
	if (!initscr()) {
		rf_err("cannot set up the terminal (TERM=%s)", getenv("TERM") ?: "");
		return RF_EXIT_RUNTIME;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	for (;;) {
		now = rf_now_mono_ns();
		if (now >= next) {
			if (!t->frozen)
				reload(t);
			next = now + (uint64_t)(t->delay * 1e9);
		}
		draw(t);
		timeout((int)((next - now) / 1000000) + 1);
		ch = getch();
		if (ch != ERR && !on_key(t, ch))
			break;
	}
	endwin();
	return RF_EXIT_OK;
}

int cmd_top(int argc, char **argv)
{
	static const struct rf_opts top_opts = {opts, ARRAY_SIZE(opts), apply, usage};
	struct top *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		rf_err("out of memory");
		return RF_EXIT_RUNTIME;
	}
	t->delay = 1;
	r = rf_opts_parse(&top_opts, argc, argv, t, NULL);
	if (r) {
		free(t);
		return r < 0 ? RF_EXIT_OK : r;
	}
	t->dir = rf_cluster_dir(t->dir);
	t->snap = calloc(1, sizeof(*t->snap));
	t->prev = calloc(1, sizeof(*t->prev));
	t->buf = malloc(RF_STATS_TEXT_MAX);
	if (!t->snap || !t->prev || !t->buf) {
		rf_err("out of memory");
		r = RF_EXIT_RUNTIME;
	} else {
		r = t->batch ? run_batch(t) : run_screen(t);
	}
	free(t->snap);
	free(t->prev);
	free(t->buf);
	free(t->ids);
	free(t);
	return r;
}
