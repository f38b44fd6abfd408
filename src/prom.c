/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stats snapshots as Prometheus metrics. One table row per metric (or per
 * value of its extra label): name, type, help, the entity it describes and
 * where its value comes from. The writer walks the table once and, for
 * each row, every cluster's entities, so that a metric's samples stay
 * together as the format requires.
 */
#include "prom.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "decode.h"
#include "util.h"

/* Which entities a metric has one sample for. */
enum scope {
	SC_CLUSTER,
	SC_INFO, /* the cluster, with its mode and state as labels */
	SC_SOURCE,
	SC_GROUP,
	SC_QUEUE,
	SC_EGRESS, /* queues that have an egress */
	SC_DECODE, /* decode reasons */
};

struct ctx {
	const struct rf_prom_cluster *c;
	uint64_t i; /* source, group, queue or decode reason */
	uint64_t now_ns;
};

struct metric {
	const char *name;
	const char *type;
	const char *help;
	enum scope scope;
	const char *label; /* an extra label (NULL: none) ... */
	const char *value; /* ... and its value in this row */
	size_t off;	   /* a uint64_t at this offset of the entity, unless fn */
	double (*fn)(const struct ctx *);
};

#define C	  "counter"
#define G	  "gauge"
#define SNAP(f)	  offsetof(struct rf_stats_snap, f)
#define SRC(f)	  offsetof(struct rf_stats_source, f)
#define GRP(f)	  offsetof(struct rf_stats_group, f)
#define QUE(f)	  offsetof(struct rf_stats_queue, f)
#define DROP_HELP "Packets the queue's consumer should have had and did not, by reason"
#define FRAG_HELP "Fragment tracking events (port-based modes), by event"
#define FLOW_HELP "Flows of the group's flow table, by what happened to them"

static double m_up(const struct ctx *x)
{
	return x->c->up;
}

static double m_started(const struct ctx *x)
{
	return (double)x->c->snap->started_ns / 1e9;
}

static double m_updated(const struct ctx *x)
{
	return (double)x->c->snap->updated_ns / 1e9;
}

static double m_one(const struct ctx *x)
{
	return 1;
}

static void view(const struct ctx *x, struct rf_queue_view *v)
{
	rf_queue_view(x->c->snap, x->i, x->c->up, x->now_ns, v);
}

static double m_fill(const struct ctx *x)
{
	struct rf_queue_view v;

	view(x, &v);
	return v.fill;
}

static double m_attached(const struct ctx *x)
{
	struct rf_queue_view v;

	view(x, &v);
	return v.attached;
}

static double m_gone(const struct ctx *x)
{
	struct rf_queue_view v;

	view(x, &v);
	return v.gone_secs;
}

static const struct metric metrics[] = {
	{"ringfan_balancer_up", G,
	 "1 while the cluster's balancer runs; 0 when it is gone (its last counters stay)",
	 SC_CLUSTER, .fn = m_up},
	{"ringfan_balancer_info", G, "The balancer's hash mode and state (1 per cluster)", SC_INFO,
	 .fn = m_one},
	{"ringfan_balancer_pid", G, "Process id of the balancer", SC_CLUSTER, .off = SNAP(pid)},
	{"ringfan_balancer_start_time_seconds", G, "When the balancer started, since the epoch",
	 SC_CLUSTER, .fn = m_started},
	{"ringfan_balancer_last_update_time_seconds", G,
	 "When the balancer last wrote its counters, since the epoch", SC_CLUSTER, .fn = m_updated},
	{"ringfan_source_received_packets_total", C, "Packets received from the source", SC_SOURCE,
	 .off = SRC(received)},
	{"ringfan_source_received_bytes_total", C, "Bytes (wire length) received from the source",
	 SC_SOURCE, .off = SRC(bytes)},
	{"ringfan_source_kernel_dropped_packets_total", C,
	 "Packets the kernel dropped before the balancer could read them", SC_SOURCE,
	 .off = SRC(kernel_drops)},
	{"ringfan_group_received_packets_total", C, "Packets dispatched to the group", SC_GROUP,
	 .off = GRP(received)},
	{"ringfan_group_queues", G, "Queues of the group", SC_GROUP, .off = GRP(queues)},
	{"ringfan_group_flow_table_entries", G, "Flows the group's flow table holds (0: no table)",
	 SC_GROUP, .off = GRP(flow_table)},
	{"ringfan_group_flows_active", G, "Flows in the group's flow table", SC_GROUP,
	 .off = GRP(flows_active)},
	{"ringfan_group_flows_total", C, FLOW_HELP, SC_GROUP, "event", "created",
	 GRP(flows_created)},
	{"ringfan_group_flows_total", C, FLOW_HELP, SC_GROUP, "event", "expired",
	 GRP(flows_expired)},
	{"ringfan_group_flows_total", C, FLOW_HELP, SC_GROUP, "event", "evicted",
	 GRP(flows_evicted)},
	{"ringfan_group_flows_total", C, FLOW_HELP, SC_GROUP, "event", "shunted",
	 GRP(flows_shunted)},
	{"ringfan_group_flows_total", C, FLOW_HELP, SC_GROUP, "event", "moved", GRP(flows_moved)},
	{"ringfan_group_flow_fallback_packets_total", C,
	 "Packets placed by the hash because the flow table had no room for their flow", SC_GROUP,
	 .off = GRP(flow_fallback)},
	{"ringfan_queue_enqueued_packets_total", C, "Packets written to the queue", SC_QUEUE,
	 .off = QUE(enqueued)},
	{"ringfan_queue_enqueued_bytes_total", C, "Bytes (captured) written to the queue", SC_QUEUE,
	 .off = QUE(bytes)},
	{"ringfan_queue_dropped_packets_total", C, DROP_HELP, SC_QUEUE, "reason", "full",
	 QUE(dropped_full)},
	{"ringfan_queue_dropped_packets_total", C, DROP_HELP, SC_QUEUE, "reason", "too_big",
	 QUE(dropped_toobig)},
	{"ringfan_queue_dropped_packets_total", C, DROP_HELP, SC_QUEUE, "reason", "bad_cursor",
	 QUE(dropped_cursor)},
	{"ringfan_queue_dropped_packets_total", C, DROP_HELP, SC_QUEUE, "reason", "egress_failed",
	 QUE(dropped_egress)},
	{"ringfan_queue_filtered_packets_total", C,
	 "Packets of the queue's share its filter kept out (never drops)", SC_QUEUE,
	 .off = QUE(filtered)},
	{"ringfan_queue_deduplicated_packets_total", C,
	 "Copies of a packet seen within the queue's de-duplication window, not delivered (never "
	 "drops)",
	 SC_QUEUE, .off = QUE(deduplicated)},
	{"ringfan_queue_shunted_packets_total", C,
	 "Packets of the queue's flows past their group's shunt cut-off, not delivered (never "
	 "drops)",
	 SC_QUEUE, .off = QUE(shunted)},
	{"ringfan_queue_shunt_requests_total", C,
	 "Shunt requests of the queue's consumer, by outcome (refused: not a flow of this queue, "
	 "no flow table, or lost)",
	 SC_QUEUE, "outcome", "honoured", QUE(shunt_requests)},
	{"ringfan_queue_shunt_requests_total", C,
	 "Shunt requests of the queue's consumer, by outcome (refused: not a flow of this queue, "
	 "no flow table, or lost)",
	 SC_QUEUE, "outcome", "refused", QUE(shunt_refused)},
	{"ringfan_queue_failed_over", G,
	 "Nonzero while the queue gets no new flows: 1 its consumer is gone past --failover, 2 "
	 "its queue stayed full that long",
	 SC_QUEUE, .off = QUE(failed_over)},
	{"ringfan_queue_consumer_read_packets_total", C,
	 "Packets the queue's consumers released (as they report it)", SC_QUEUE,
	 .off = QUE(consumer_read)},
	{"ringfan_queue_backlog_packets", G, "Packets in the queue not yet read", SC_QUEUE,
	 .off = QUE(backlog_packets)},
	{"ringfan_queue_backlog_bytes", G, "Ring bytes in use by packets not yet read", SC_QUEUE,
	 .off = QUE(backlog_bytes)},
	{"ringfan_queue_ring_size_bytes", G, "Bytes of packet data the queue's ring holds",
	 SC_QUEUE, .off = QUE(ring_size)},
	{"ringfan_queue_ring_fill_ratio", G, "Backlog bytes over ring size (1: full, dropping)",
	 SC_QUEUE, .fn = m_fill},
	{"ringfan_queue_consumer_attached", G, "1 while a consumer is attached to the queue",
	 SC_QUEUE, .fn = m_attached},
	{"ringfan_queue_consumer_pid", G, "Process id of the attached consumer (0: none)", SC_QUEUE,
	 .off = QUE(consumer_pid)},
	{"ringfan_queue_consumer_gone_seconds", G,
	 "Seconds since a consumer was last seen on the queue (since the balancer started if "
	 "never; 0 while attached)",
	 SC_QUEUE, .fn = m_gone},
	{"ringfan_queue_generation", G,
	 "Generation of the queue's files (changes with each balancer run)", SC_QUEUE,
	 .off = QUE(generation)},
	{"ringfan_egress_sent_packets_total", C, "Packets the queue's egress sent or wrote",
	 SC_EGRESS, .off = QUE(egress_sent)},
	{"ringfan_egress_failed_packets_total", C, "Packets the queue's egress failed to send",
	 SC_EGRESS, .off = QUE(egress_failed)},
	{"ringfan_decode_packets_total", C, "Packets by how far the decoder got", SC_DECODE},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "first",
	 SNAP(frag.first)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "tied",
	 SNAP(frag.tied)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "held",
	 SNAP(frag.held)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "released",
	 SNAP(frag.released)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "expired",
	 SNAP(frag.expired)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "table_full",
	 SNAP(frag.table_full)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "hold_full",
	 SNAP(frag.hold_full)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "hold_big",
	 SNAP(frag.hold_big)},
	{"ringfan_fragment_events_total", C, FRAG_HELP, SC_CLUSTER, "event", "table_expired",
	 SNAP(frag.table_expired)},
	{"ringfan_fragments_held", G, "Fragments held now, waiting for their first fragment",
	 SC_CLUSTER, .off = SNAP(frag.held_now)},
	{"ringfan_dedup_evicted_total", C,
	 "First copies forgotten within their window because the de-duplication table was full",
	 SC_CLUSTER, .off = SNAP(dedup_evicted)},
};

/* A label value: backslash, double quote and newline escaped. */
static void put_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* The shortest text that reads back as the same double. */
static void put_double(FILE *f, double d)
{
	char buf[40];
	int p;

	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, f);
}

static uint64_t entities(const struct metric *m, const struct rf_stats_snap *s)
{
	switch (m->scope) {
	case SC_SOURCE:
		return s->n_sources;
	case SC_GROUP:
		return s->n_groups;
	case SC_QUEUE:
	case SC_EGRESS:
		return s->n_queues;
	case SC_DECODE:
		return RF_DEC__MAX;
	default:
		return 1;
	}
}

static const void *entity(const struct metric *m, const struct rf_stats_snap *s, uint64_t i)
{
	switch (m->scope) {
	case SC_SOURCE:
		return &s->sources[i];
	case SC_GROUP:
		return &s->groups[i];
	case SC_QUEUE:
	case SC_EGRESS:
		return &s->queues[i];
	case SC_DECODE:
		return &s->decode[i];
	default:
		return s;
	}
}

static uint64_t u64_of(const struct metric *m, const struct rf_stats_snap *s, uint64_t i)
{
	return *(const uint64_t *)((const char *)entity(m, s, i) + m->off);
}

static void put_labels(FILE *f, const struct metric *m, const struct rf_stats_snap *s, uint64_t i)
{
	const struct rf_stats_queue *q = &s->queues[i];

	fprintf(f, "{cluster=\"%llu\"", (unsigned long long)s->cluster);
	if (m->scope == SC_INFO) {
		fputs(",mode=", f);
		put_value(f, s->mode);
		fputs(",state=", f);
		put_value(f, s->state);
	} else if (m->scope == SC_SOURCE) {
		fputs(",source=", f);
		put_value(f, s->sources[i].name);
	} else if (m->scope == SC_GROUP) {
		fprintf(f, ",group=\"%llu\"", (unsigned long long)i);
	} else if (m->scope == SC_QUEUE) {
		fprintf(f, ",queue=\"%llu\",group=\"%llu\"", (unsigned long long)i,
			(unsigned long long)q->group);
	} else if (m->scope == SC_EGRESS) {
		fprintf(f, ",queue=\"%llu\",egress=", (unsigned long long)i);
		put_value(f, q->egress);
	} else if (m->scope == SC_DECODE) {
		fprintf(f, ",reason=\"%s\"", rf_decode_reason_name((unsigned int)i));
	}
	if (m->label)
		fprintf(f, ",%s=\"%s\"", m->label, m->value);
	fputc('}', f);
}

static void put_samples(FILE *f, const struct metric *m, const struct rf_prom_cluster *c,
			uint64_t now_ns)
{
	const struct rf_stats_snap *s = c->snap;
	struct ctx x = {.c = c, .now_ns = now_ns};
	uint64_t i, n = entities(m, s);

	for (i = 0; i < n; i++) {
		if (m->scope == SC_EGRESS && !s->queues[i].egress[0])
			continue;
		fputs(m->name, f);
		put_labels(f, m, s, i);
		fputc(' ', f);
		x.i = i;
		if (m->fn)
			put_double(f, m->fn(&x));
		else
			fprintf(f, "%llu", (unsigned long long)u64_of(m, s, i));
		fputc('\n', f);
	}
}

int rf_prom_write(FILE *f, const struct rf_prom_cluster *c, size_t n, uint64_t now_ns)
{
	size_t m, k;

	for (m = 0; m < ARRAY_SIZE(metrics); m++) {
		if (!m || strcmp(metrics[m].name, metrics[m - 1].name))
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name, metrics[m].help,
				metrics[m].name, metrics[m].type);
		for (k = 0; k < n; k++)
			put_samples(f, &metrics[m], &c[k], now_ns);
	}
	return ferror(f) ? -EIO : 0;
}
