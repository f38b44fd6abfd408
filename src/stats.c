/* SPDX-License-Identifier: BSD-2-Clause */
/* `ringfan stats`: read clusters' stats files; print them as tables or JSON. */
#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "cli.h"
#include "cluster.h"
#include "util.h"

static void print_sources(FILE *f, const struct rf_stats_snap *s, const struct rf_stats_snap *prev,
			  double secs)
{
	char a[32], b[32], c[32];
	uint64_t i;

	fprintf(f, "  %-32s %15s %17s %13s%s  state\n", "source", "received", "bytes",
		"kernel-drops", prev ? "        pps" : "");
	for (i = 0; i < s->n_sources; i++) {
		const struct rf_stats_source *src = &s->sources[i];

		fprintf(f, "  %-32s %15s %17s %13s", src->name,
			rf_fmt_thousands(src->received, a, sizeof(a)),
			rf_fmt_thousands(src->bytes, b, sizeof(b)),
			rf_fmt_thousands(src->kernel_drops, c, sizeof(c)));
		if (prev)
			fprintf(f, " %10.0f",
				rf_rate(src->received, prev->sources[i].received, secs));
		fprintf(f, "  %s\n", src->state[0] ? src->state : "-");
	}
}

static void print_queue(FILE *f, const struct rf_stats_snap *s, uint64_t i,
			const struct rf_stats_snap *prev, double secs)
{
	const struct rf_stats_queue *q = &s->queues[i];
	char a[32], b[32], c[32], d[32];

	fprintf(f, "  %5llu %5c %15s %17s %13s %8llu %15s", (unsigned long long)i,
		(char)('A' + (q->group % 26)), rf_fmt_thousands(q->enqueued, a, sizeof(a)),
		rf_fmt_thousands(q->bytes, b, sizeof(b)),
		rf_fmt_thousands(q->dropped, c, sizeof(c)), (unsigned long long)q->consumer_pid,
		rf_fmt_thousands(q->consumer_read, d, sizeof(d)));
	if (prev)
		fprintf(f, " %10.0f", rf_rate(q->enqueued, prev->queues[i].enqueued, secs));
	if (q->egress[0])
		fprintf(f, "  -> %s (sent %llu, failed %llu)", q->egress,
			(unsigned long long)q->egress_sent, (unsigned long long)q->egress_failed);
	if (q->filtered || q->deduplicated)
		fprintf(f, "  not delivered: filtered %s, duplicates %s",
			rf_fmt_thousands(q->filtered, a, sizeof(a)),
			rf_fmt_thousands(q->deduplicated, b, sizeof(b)));
	if (q->shunted)
		fprintf(f, "  shunted %s", rf_fmt_thousands(q->shunted, a, sizeof(a)));
	if (q->failed_over)
		fprintf(f, "  failed over (%s): no new flows",
			q->failed_over == 1 ? "no consumer" : "full");
	if (q->shunt_requests || q->shunt_refused)
		fprintf(f, "  shunt requests %llu (refused %llu)",
			(unsigned long long)q->shunt_requests,
			(unsigned long long)q->shunt_refused);
	fputc('\n', f);
}

/* ", filtered N, duplicates N" when the cluster kept any packet out. */
static void print_kept_out(FILE *f, const struct rf_stats_snap *s, uint64_t filtered,
			   uint64_t deduplicated)
{
	char a[32], b[32];

	if (!s->totals.filtered && !s->totals.deduplicated)
		return;
	fprintf(f, ", filtered %s, duplicates %s", rf_fmt_thousands(filtered, a, sizeof(a)),
		rf_fmt_thousands(deduplicated, b, sizeof(b)));
}

static void print_table(FILE *f, const struct rf_stats_group *gr)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], h[32];

	fprintf(f,
		"    flows: active %s of %s, created %s, expired %s, evicted %s, shunted %s, "
		"placed by hash (no room) %s packets, moved %llu\n",
		rf_fmt_thousands(gr->flows_active, a, sizeof(a)),
		rf_fmt_thousands(gr->flow_table, b, sizeof(b)),
		rf_fmt_thousands(gr->flows_created, c, sizeof(c)),
		rf_fmt_thousands(gr->flows_expired, d, sizeof(d)),
		rf_fmt_thousands(gr->flows_evicted, e, sizeof(e)),
		rf_fmt_thousands(gr->flows_shunted, g, sizeof(g)),
		rf_fmt_thousands(gr->flow_fallback, h, sizeof(h)),
		(unsigned long long)gr->flows_moved);
}

static void print_groups(FILE *f, const struct rf_stats_snap *s)
{
	char a[32], b[32], c[32];
	uint64_t g;

	for (g = 0; g < s->n_groups; g++) {
		const struct rf_stats_group *gr = &s->groups[g];

		fprintf(f, "  group %c (queues %llu-%llu): received %s, enqueued %s, dropped %s",
			(char)('A' + (g % 26)), (unsigned long long)gr->first_queue,
			(unsigned long long)(gr->first_queue + gr->queues - 1),
			rf_fmt_thousands(gr->received, a, sizeof(a)),
			rf_fmt_thousands(gr->enqueued, b, sizeof(b)),
			rf_fmt_thousands(gr->dropped, c, sizeof(c)));
		print_kept_out(f, s, gr->filtered, gr->deduplicated);
		if (gr->flow_table)
			fprintf(f, ", shunted %s", rf_fmt_thousands(gr->shunted, a, sizeof(a)));
		fputc('\n', f);
		if (gr->flow_table)
			print_table(f, gr);
	}
}

static void print_decode(FILE *f, const struct rf_stats_snap *s)
{
	unsigned int i;

	fprintf(f, "  decode:");
	for (i = 0; i < RF_DEC__MAX; i++)
		fprintf(f, " %s %llu", rf_decode_reason_name(i), (unsigned long long)s->decode[i]);
	fprintf(f,
		"\n  fragments: first %llu, tied %llu, held %llu, released %llu, expired %llu, "
		"held now %llu, table full %llu, hold full %llu\n",
		(unsigned long long)s->frag.first, (unsigned long long)s->frag.tied,
		(unsigned long long)s->frag.held, (unsigned long long)s->frag.released,
		(unsigned long long)s->frag.expired, (unsigned long long)s->frag.held_now,
		(unsigned long long)s->frag.table_full, (unsigned long long)s->frag.hold_full);
}

void rf_stats_print(FILE *f, const struct rf_stats_snap *s, const struct rf_stats_snap *prev,
		    double secs)
{
	char a[32], b[32], c[32], d[32];
	uint64_t i;

	print_sources(f, s, prev, secs);
	fprintf(f, "  %5s %5s %15s %17s %13s %8s %15s%s\n", "queue", "group", "enqueued", "bytes",
		"dropped", "consumer", "consumer-read", prev ? "        pps" : "");
	for (i = 0; i < s->n_queues; i++)
		print_queue(f, s, i, prev, secs);
	print_groups(f, s);
	fprintf(f, "  total: received %s, enqueued %s, dropped %s, kernel drops %s",
		rf_fmt_thousands(s->totals.received, a, sizeof(a)),
		rf_fmt_thousands(s->totals.enqueued, b, sizeof(b)),
		rf_fmt_thousands(s->totals.dropped, c, sizeof(c)),
		rf_fmt_thousands(s->totals.kernel_drops, d, sizeof(d)));
	print_kept_out(f, s, s->totals.filtered, s->totals.deduplicated);
	if (s->totals.shunted)
		fprintf(f, ", shunted %s", rf_fmt_thousands(s->totals.shunted, a, sizeof(a)));
	if (prev)
		fprintf(f, ", %.0f pps in",
			rf_rate(s->totals.received, prev->totals.received, secs));
	fputc('\n', f);
	print_decode(f, s);
}

/* ---- reading ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

#define JU(f, sep, name, v) fprintf(f, "%s\"%s\":%llu", sep, name, (unsigned long long)(v))

static void json_sources(FILE *f, const struct rf_stats_snap *s)
{
	uint64_t i;

	fprintf(f, ",\"sources\":[");
	for (i = 0; i < s->n_sources; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_str(f, s->sources[i].name);
		JU(f, ",", "received", s->sources[i].received);
		JU(f, ",", "bytes", s->sources[i].bytes);
		JU(f, ",", "kernel_drops", s->sources[i].kernel_drops);
		fprintf(f, ",\"state\":");
		json_str(f, s->sources[i].state);
		fputc('}', f);
	}
	fputc(']', f);
}

static void json_groups(FILE *f, const struct rf_stats_snap *s)
{
	uint64_t i;

	fprintf(f, ",\"groups\":[");
	for (i = 0; i < s->n_groups; i++) {
		const struct rf_stats_group *g = &s->groups[i];

		JU(f, i ? ",{" : "{", "group", i);
		JU(f, ",", "first_queue", g->first_queue);
		JU(f, ",", "queues", g->queues);
		JU(f, ",", "received", g->received);
		JU(f, ",", "enqueued", g->enqueued);
		JU(f, ",", "dropped", g->dropped);
		JU(f, ",", "filtered", g->filtered);
		JU(f, ",", "deduplicated", g->deduplicated);
		JU(f, ",", "shunted", g->shunted);
		if (g->flow_table) {
			JU(f, ",\"flows\":{", "table", g->flow_table);
			JU(f, ",", "active", g->flows_active);
			JU(f, ",", "created", g->flows_created);
			JU(f, ",", "expired", g->flows_expired);
			JU(f, ",", "evicted", g->flows_evicted);
			JU(f, ",", "shunted", g->flows_shunted);
			JU(f, ",", "fallback_packets", g->flow_fallback);
			JU(f, ",", "moved", g->flows_moved);
			fputc('}', f);
		}
		fputc('}', f);
	}
	fputc(']', f);
}

static void json_queues(FILE *f, const struct rf_stats_snap *s)
{
	uint64_t i;

	fprintf(f, ",\"queues\":[");
	for (i = 0; i < s->n_queues; i++) {
		const struct rf_stats_queue *q = &s->queues[i];

		JU(f, i ? ",{" : "{", "queue", i);
		JU(f, ",", "group", q->group);
		JU(f, ",", "enqueued", q->enqueued);
		JU(f, ",", "bytes", q->bytes);
		JU(f, ",", "dropped", q->dropped);
		JU(f, ",", "dropped_full", q->dropped_full);
		JU(f, ",", "dropped_cursor", q->dropped_cursor);
		JU(f, ",", "dropped_toobig", q->dropped_toobig);
		JU(f, ",", "dropped_egress", q->dropped_egress);
		JU(f, ",", "consumer_pid", q->consumer_pid);
		JU(f, ",", "consumer_read", q->consumer_read);
		JU(f, ",", "backlog_bytes", q->backlog_bytes);
		JU(f, ",", "backlog_packets", q->backlog_packets);
		JU(f, ",", "ring_size", q->ring_size);
		JU(f, ",", "generation", q->generation);
		JU(f, ",", "consumer_seen_ns", q->consumer_seen_ns);
		JU(f, ",", "filtered", q->filtered);
		JU(f, ",", "deduplicated", q->deduplicated);
		JU(f, ",", "shunted", q->shunted);
		JU(f, ",", "failed_over", q->failed_over);
		JU(f, ",", "shunt_requests", q->shunt_requests);
		JU(f, ",", "shunt_refused", q->shunt_refused);
		if (q->egress[0]) {
			fprintf(f, ",\"egress\":");
			json_str(f, q->egress);
			JU(f, ",", "egress_sent", q->egress_sent);
			JU(f, ",", "egress_failed", q->egress_failed);
		}
		fputc('}', f);
	}
	fputc(']', f);
}

static void json_counters(FILE *f, const struct rf_stats_snap *s)
{
	const struct rf_stats_frag *fr = &s->frag;
	const struct rf_stats_totals *t = &s->totals;
	unsigned int i;

	fprintf(f, ",\"decode\":{");
	for (i = 0; i < RF_DEC__MAX; i++)
		JU(f, i ? "," : "", rf_decode_reason_name(i), s->decode[i]);
	JU(f, "},\"fragments\":{", "first", fr->first);
	JU(f, ",", "tied", fr->tied);
	JU(f, ",", "held", fr->held);
	JU(f, ",", "released", fr->released);
	JU(f, ",", "expired", fr->expired);
	JU(f, ",", "table_full", fr->table_full);
	JU(f, ",", "hold_full", fr->hold_full);
	JU(f, ",", "hold_big", fr->hold_big);
	JU(f, ",", "table_expired", fr->table_expired);
	JU(f, ",", "held_now", fr->held_now);
	JU(f, "},\"totals\":{", "received", t->received);
	JU(f, ",", "bytes", t->bytes);
	JU(f, ",", "kernel_drops", t->kernel_drops);
	JU(f, ",", "enqueued", t->enqueued);
	JU(f, ",", "dropped", t->dropped);
	JU(f, ",", "filtered", t->filtered);
	JU(f, ",", "deduplicated", t->deduplicated);
	JU(f, ",", "shunted", t->shunted);
	JU(f, "},", "dedup_evicted", s->dedup_evicted);
}

static void print_json(FILE *f, const struct rf_stats_snap *s, bool alive)
{
	JU(f, "{", "cluster", s->cluster);
	JU(f, ",", "pid", s->pid);
	fprintf(f, ",\"state\":");
	json_str(f, s->state);
	fprintf(f, ",\"alive\":%s,\"mode\":", alive ? "true" : "false");
	json_str(f, s->mode);
	JU(f, ",", "started_ns", s->started_ns);
	JU(f, ",", "updated_ns", s->updated_ns);
	json_sources(f, s);
	json_groups(f, s);
	json_queues(f, s);
	json_counters(f, s);
	fputc('}', f);
}

static void print_text(FILE *f, const struct rf_stats_snap *s, bool alive)
{
	uint64_t now = rf_now_real_ns();
	double up = (double)(s->updated_ns - s->started_ns) / 1e9;
	double age = now > s->updated_ns ? (double)(now - s->updated_ns) / 1e9 : 0;

	fprintf(f, "cluster %llu: pid %llu, %s%s, mode %s, up %.0fs, updated %.0fs ago\n",
		(unsigned long long)s->cluster, (unsigned long long)s->pid, s->state,
		!alive && !strcmp(s->state, "running") ? " (balancer gone)" : "", s->mode, up, age);
	rf_stats_print(f, s, NULL, 0);
}

struct stats_args {
	const char *dir;
	bool json;
	bool have_cluster;
	uint32_t cluster;
};

static int show_one(const struct stats_args *a, uint32_t cluster, char *buf,
		    struct rf_stats_snap *s, bool first)
{
	int r = rf_cluster_read(a->dir, cluster, buf, s);
	bool alive;

	if (r) {
		rf_err("cannot read stats file '%s/%u.stats': %s", a->dir, cluster,
		       rf_cluster_read_error(r));
		return r;
	}
	alive = rf_cluster_alive(a->dir, s->cluster);
	if (a->json) {
		if (!first)
			putchar(',');
		print_json(stdout, s, alive);
	} else {
		if (!first)
			putchar('\n');
		print_text(stdout, s, alive);
	}
	return 0;
}

static int show_all(const struct stats_args *a, char *buf, struct rf_stats_snap *s)
{
	uint32_t *ids = NULL;
	size_t n = 0, i;
	int r, rc = RF_EXIT_OK;

	r = rf_cluster_list(a->dir, &ids, &n);
	if (r) {
		rf_err("cannot read directory '%s': %s", a->dir, strerror(-r));
		return RF_EXIT_RUNTIME;
	}
	if (a->json)
		printf("{\"clusters\":[");
	for (i = 0; i < n; i++)
		if (show_one(a, ids[i], buf, s, i == 0))
			rc = RF_EXIT_RUNTIME;
	free(ids);
	if (a->json)
		printf("]}\n");
	else if (!n)
		printf("no clusters in %s\n", a->dir);
	return rc;
}

enum { OPT_CLUSTER = 'c', OPT_JSON = 'j', OPT_HELP = 'h', OPT_DIR = 256 };

static const struct opt_desc opts[] = {
	{OPT_CLUSTER, "cluster", "ID", "only this cluster"},
	{OPT_JSON, "json", NULL, "one JSON object"},
	{OPT_DIR, "dir", "DIR", "queue directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_HELP, "help", NULL, "this help"},
};

static void stats_usage(FILE *f)
{
	fprintf(f, "Usage: ringfan stats [-c CLUSTER] [--json] [--dir DIR]\n\n"
		   "Print a cluster's counters from its stats file DIR/CLUSTER.stats\n"
		   "(running or finished). Without -c, every cluster in DIR.\n\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExample: ringfan stats -c 99 --json\n");
}

static int apply(void *arg, int id, const char *val)
{
	struct stats_args *a = arg;

	switch (id) {
	case OPT_CLUSTER:
		a->have_cluster = true;
		return rf_cluster_parse_id(val, &a->cluster, "");
	case OPT_JSON:
		a->json = true;
		return 0;
	case OPT_DIR:
		a->dir = val;
		return 0;
	}
	return -EINVAL;
}

static int parse_stats_args(struct stats_args *a, int argc, char **argv)
{
	static const struct rf_opts stats_opts = {opts, ARRAY_SIZE(opts), apply, stats_usage};

	return rf_opts_parse(&stats_opts, argc, argv, a, NULL);
}

int cmd_stats(int argc, char **argv)
{
	struct stats_args a = {0};
	struct rf_stats_snap *s;
	char *buf;
	int r;

	r = parse_stats_args(&a, argc, argv);
	if (r)
		return r < 0 ? RF_EXIT_OK : r;
	a.dir = rf_cluster_dir(a.dir);
	s = malloc(sizeof(*s));
	buf = malloc(RF_STATS_TEXT_MAX);
	if (!s || !buf) {
		rf_err("out of memory");
		free(s);
		free(buf);
		return RF_EXIT_RUNTIME;
	}
	if (a.have_cluster) {
		r = show_one(&a, a.cluster, buf, s, true) ? RF_EXIT_RUNTIME : RF_EXIT_OK;
		if (a.json && !r)
			putchar('\n');
	} else {
		r = show_all(&a, buf, s);
	}
	free(s);
	free(buf);
	return r;
}
