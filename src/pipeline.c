/* SPDX-License-Identifier: BSD-2-Clause */
/* The per-packet path: burst in, decode, classify, per-group queue pick, copy, publish. */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * With flow tables, packets are decoded and hashed this many at a time
 * before any is placed, and the tables' buckets of all of them prefetched
 * in between (as DPDK's bulk hash lookup does): a table bigger than the
 * caches is read once per chunk with the reads overlapped.
 */
#define PL_CHUNK 32

/*
 * Per-queue bursts: on the plain path (nothing done to any queue's packets,
 * no flow table) a burst's packets are staged with their queue, up to this
 * many, and then handed to each queue in one call (rf_producer_enqueue_fit
 * or _burst), in their order.
 */
#define PL_STAGE 512

/* A group: its queues, and whether anything is done to their packets. */
struct pl_group {
	uint32_t first; /* its first queue */
	uint32_t count;
	uint64_t rr;
	bool treated;		/* a queue of the group filters, de-duplicates, strips or slices */
	struct rf_place *place; /* flow table and placement; NULL: the stateless hash */
};

/* A queue's treatment and what it kept out. */
struct pl_queue {
	struct rf_pipeline_queue_opts o;
	struct rf_pipeline_queue_counters c;
};

struct rf_pipeline {
	enum rf_mode mode;
	unsigned int decode_flags;
	bool tie_fragments;	/* mode uses the fragment table (rf_flow_classify) */
	bool stopping;		/* tick asked to stop: never wait again */
	bool redecode;		/* released fragments are decoded again (strip, dedup need it) */
	bool treated;		/* some group is (pl_group.treated) */
	bool tables;		/* some group has a flow table */
	bool seeded_or_treated; /* hash_seed, treated or tables: one test per packet for all */
	uint32_t hash_seed;
	unsigned int n_groups;
	struct pl_group groups[RF_PIPELINE_MAX_GROUPS];
	unsigned int n_queues;
	struct rf_producer **producers;
	struct pl_queue *queues; /* NULL when nothing is done to any queue's packets */
	uint8_t *touched;	 /* per queue: enqueued into since the last publish */
	uint32_t *touch_list;
	unsigned int n_touched;
	uint32_t wait_limit; /* packets bigger than this never wait (they may never fit) */
	/* Per-queue bursts (PL_STAGE): staged packets and their queues, in order. */
	struct rf_packet *stage, *sorted; /* sorted: the staged packets grouped by queue */
	uint32_t *stage_q;
	uint32_t *stage_count; /* per queue: packets staged (0 outside a flush) */
	uint32_t *stage_list;  /* the queues with staged packets, in first-staged order */
	unsigned int n_stage, n_stage_queues;
	bool staging; /* the main loop of a plain burst: pl_dispatch() stages */
	struct rf_flow *flow;
	struct rf_dedup *dedup;		       /* NULL: no queue de-duplicates */
	uint8_t *strip_buf;		       /* RF_STRIP_BUF bytes when a queue strips */
	uint64_t *shunted;		       /* per queue, when some group has a flow table */
	struct rf_decoded *chunk_d;	       /* PL_CHUNK decodings, when some group has a table */
	uint64_t *shunt_asked, *shunt_refused; /* per queue: rf_pipeline_shunt_request() */
	int (*tick)(void *arg, uint32_t waiting);
	void *tick_arg;
	struct rf_pipeline_counters c;
};

/*
 * One packet on its way to the queues of every group, with what was worked
 * out for it once: its copy's age, and the last filter answer and stripped
 * frame (queues of a group mostly share them).
 */
struct pl_pkt {
	const struct rf_packet *pkt;
	const struct rf_decoded *d;
	uint64_t dup_age; /* RF_DEDUP_NOT_SEEN: not a copy */
	const struct rf_filter *filter;
	bool match;
	uint8_t tcp_flags;  /* the flow table's l4 byte: class, TCP flags (rf_ft_l4()) */
	unsigned int strip; /* 0: nothing stripped yet */
	struct rf_frame stripped;
};

static bool mode_ties_fragments(enum rf_mode m)
{
	return m == RF_MODE_5TUPLE || m == RF_MODE_INNER_IP || m == RF_MODE_INNER_5TUPLE;
}

static int pl_setup_groups(struct rf_pipeline *pl, const struct rf_pipeline_opts *o)
{
	unsigned int g, total = 0;

	if (!o->n_groups || o->n_groups > RF_PIPELINE_MAX_GROUPS)
		return -EINVAL;
	for (g = 0; g < o->n_groups; g++) {
		if (!o->group_queues[g])
			return -EINVAL;
		pl->groups[g].first = total;
		pl->groups[g].count = o->group_queues[g];
		total += o->group_queues[g];
	}
	pl->n_groups = o->n_groups;
	pl->n_queues = total;
	return 0;
}

static bool treats(const struct rf_pipeline_queue_opts *o)
{
	return o->filter || o->dedup_ns || o->snaplen || o->strip;
}

static void pl_mark_treated(struct rf_pipeline *pl)
{
	unsigned int g;
	uint32_t q;

	pl->treated = false;
	for (g = 0; g < pl->n_groups; g++) {
		struct pl_group *gr = &pl->groups[g];

		gr->treated = false;
		for (q = gr->first; pl->queues && q < gr->first + gr->count; q++)
			gr->treated = gr->treated || treats(&pl->queues[q].o);
		pl->treated = pl->treated || gr->treated;
	}
	pl->seeded_or_treated = pl->treated || pl->hash_seed || pl->tables;
}

/* Per-queue treatments: tables and buffers for the ones asked for, made once. */
static int pl_setup_queues(struct rf_pipeline *pl, const struct rf_pipeline_queue_opts *qo)
{
	uint64_t window = 0;
	unsigned int strip = 0;
	uint32_t q;

	if (!qo)
		return 0;
	pl->queues = calloc(pl->n_queues, sizeof(*pl->queues));
	if (!pl->queues)
		return -ENOMEM;
	for (q = 0; q < pl->n_queues; q++) {
		pl->queues[q].o = qo[q];
		if (qo[q].dedup_ns > window)
			window = qo[q].dedup_ns;
		strip |= qo[q].strip;
	}
	if (window && rf_dedup_new(RF_DEDUP_ENTRIES, window, &pl->dedup))
		return -ENOMEM;
	if (strip && !(pl->strip_buf = malloc(RF_STRIP_BUF)))
		return -ENOMEM;
	/* The inner frame is found by the full decode. */
	if (strip & RF_STRIP_TUNNEL)
		pl->decode_flags &= ~(unsigned int)RF_DECODE_OUTER;
	pl->redecode = window || strip;
	pl_mark_treated(pl);
	return 0;
}

/* A group's flow table and placement, if it has either. */
static int pl_setup_place(struct rf_pipeline *pl, struct pl_group *gr,
			  const struct rf_place_opts *go)
{
	struct rf_place_opts o = *go;

	if (!go->table.entries && go->placement == RF_PLACE_HASH)
		return 0;
	if (pl->mode == RF_MODE_RR || pl->mode == RF_MODE_FANOUT)
		return -EINVAL;
	pl->tables = true; /* the slow path: weights need it too */
	o.queues = gr->count;
	return rf_place_new(&o, &gr->place);
}

/* Flow tables and placements of the groups that have one, made once. */
static int pl_setup_tables(struct rf_pipeline *pl, const struct rf_place_opts *go)
{
	unsigned int g;
	int r;

	for (g = 0; go && g < pl->n_groups; g++) {
		r = pl_setup_place(pl, &pl->groups[g], &go[g]);
		if (r)
			return r;
	}
	if (pl->tables && (!(pl->shunted = calloc(pl->n_queues, sizeof(*pl->shunted))) ||
			   !(pl->chunk_d = calloc(PL_CHUNK, sizeof(*pl->chunk_d)))))
		return -ENOMEM;
	return 0;
}

int rf_pipeline_new(const struct rf_pipeline_opts *opts, struct rf_pipeline **ret_pipeline)
{
	struct rf_pipeline *pl;
	int r;

	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	r = pl_setup_groups(pl, opts);
	if (r)
		goto fail;
	r = -ENOMEM;
	pl->producers = calloc(pl->n_queues, sizeof(*pl->producers));
	pl->touched = calloc(pl->n_queues, 1);
	pl->touch_list = calloc(pl->n_queues, sizeof(*pl->touch_list));
	pl->shunt_asked = calloc(pl->n_queues, sizeof(*pl->shunt_asked));
	pl->shunt_refused = calloc(pl->n_queues, sizeof(*pl->shunt_refused));
	pl->stage = calloc(PL_STAGE, sizeof(*pl->stage));
	pl->sorted = calloc(PL_STAGE, sizeof(*pl->sorted));
	pl->stage_q = calloc(PL_STAGE, sizeof(*pl->stage_q));
	pl->stage_count = calloc(pl->n_queues, sizeof(*pl->stage_count));
	pl->stage_list = calloc(pl->n_queues, sizeof(*pl->stage_list));
	if (!pl->producers || !pl->touched || !pl->touch_list || !pl->shunt_asked ||
	    !pl->shunt_refused || !pl->stage || !pl->sorted || !pl->stage_q || !pl->stage_count ||
	    !pl->stage_list)
		goto fail;
	memcpy(pl->producers, opts->producers, pl->n_queues * sizeof(*pl->producers));
	r = rf_flow_new(opts->mode, NULL, &pl->flow);
	if (r)
		goto fail;
	pl->mode = opts->mode;
	pl->decode_flags = rf_mode_decode_flags(opts->mode);
	pl->tie_fragments = mode_ties_fragments(opts->mode);
	pl->hash_seed = opts->hash_seed;
	r = pl_setup_queues(pl, opts->queue_opts);
	if (r)
		goto fail;
	r = pl_setup_tables(pl, opts->group_opts);
	if (r)
		goto fail;
	pl_mark_treated(pl);
	pl->wait_limit =
		(uint32_t)(opts->ring_size / 4 > UINT32_MAX ? UINT32_MAX : opts->ring_size / 4);
	pl->tick = opts->tick;
	pl->tick_arg = opts->tick_arg;
	*ret_pipeline = pl;
	return 0;
fail:
	rf_pipeline_free(pl);
	return r;
}

void rf_pipeline_free(struct rf_pipeline *pl)
{
	unsigned int g;

	if (!pl)
		return;
	for (g = 0; g < pl->n_groups; g++)
		rf_place_free(pl->groups[g].place);
	free(pl->shunted);
	free(pl->chunk_d);
	free(pl->shunt_asked);
	free(pl->shunt_refused);
	rf_flow_free(pl->flow);
	rf_dedup_free(pl->dedup);
	free(pl->strip_buf);
	free(pl->queues);
	free(pl->producers);
	free(pl->touched);
	free(pl->touch_list);
	free(pl->stage);
	free(pl->sorted);
	free(pl->stage_q);
	free(pl->stage_count);
	free(pl->stage_list);
	free(pl);
}

static void pl_publish_touched(struct rf_pipeline *pl)
{
	unsigned int i;

	for (i = 0; i < pl->n_touched; i++) {
		rf_producer_publish(pl->producers[pl->touch_list[i]]);
		pl->touched[pl->touch_list[i]] = 0;
	}
	pl->n_touched = 0;
}

/*
 * Lossless replay: wait until the packet fits in queue q. What is already
 * enqueued is published first, or the consumer could never make room.
 */
static void pl_wait_space(struct rf_pipeline *pl, uint32_t q, uint32_t caplen)
{
	struct rf_producer *p = pl->producers[q];
	int r;

	if (pl->stopping || caplen > pl->wait_limit)
		return;
	r = rf_producer_wait_space(p, caplen, 0);
	if (r != -ETIMEDOUT)
		return;
	pl_publish_touched(pl);
	for (;;) {
		r = rf_producer_wait_space(p, caplen, 100);
		if (r != -ETIMEDOUT && r != -EINTR)
			return;
		if (pl->tick && pl->tick(pl->tick_arg, q)) {
			pl->stopping = true;
			return;
		}
	}
}

static void pl_enqueue(struct rf_pipeline *pl, uint32_t q, const struct rf_packet *pkt,
		       bool lossless)
{
	struct rf_producer *p = pl->producers[q];

	if (lossless)
		pl_wait_space(pl, q, pkt->caplen);
	/* A full or broken queue drops and counts inside the library: nothing else to do. */
	rf_producer_enqueue(p, pkt);
	if (!pl->touched[q]) {
		pl->touched[q] = 1;
		pl->touch_list[pl->n_touched++] = q;
	}
}

/*
 * n packets into queue q, in order, as n pl_enqueue() calls would put them:
 * lossless, each packet without room is waited for (pl_wait_space()) and
 * then enqueued or dropped.
 */
static void pl_enqueue_run(struct rf_pipeline *pl, uint32_t q, const struct rf_packet *pkts,
			   unsigned int n, bool lossless)
{
	struct rf_producer *p = pl->producers[q];
	int r;

	if (!lossless) {
		rf_producer_enqueue_burst(p, pkts, n);
		n = 0;
	}
	while (n) {
		r = rf_producer_enqueue_fit(p, pkts, n);
		if (r < 0)
			break; /* finished: nothing goes in, as with rf_producer_enqueue() */
		pkts += r;
		n -= (unsigned int)r;
		if (!n)
			break;
		pl_wait_space(pl, q, pkts->caplen);
		rf_producer_enqueue(p, pkts);
		pkts++;
		n--;
	}
	/* Marked after any wait (which publishes and clears the marks): published at the end. */
	if (!pl->touched[q]) {
		pl->touched[q] = 1;
		pl->touch_list[pl->n_touched++] = q;
	}
}

/* Hand every staged packet to its queue: one run per queue, grouped in order. */
static void pl_flush_stage(struct rf_pipeline *pl, bool lossless)
{
	unsigned int i, k, start = 0;
	uint32_t q, c;

	if (!pl->n_stage)
		return;
	if (pl->n_stage_queues == 1) {
		q = pl->stage_list[0];
		pl_enqueue_run(pl, q, pl->stage, pl->n_stage, lossless);
		pl->stage_count[q] = 0;
	} else {
		/* Counting sort, stable: stage_count becomes each queue's next slot. */
		for (k = 0; k < pl->n_stage_queues; k++) {
			q = pl->stage_list[k];
			c = pl->stage_count[q];
			pl->stage_count[q] = start;
			start += c;
		}
		for (i = 0; i < pl->n_stage; i++)
			pl->sorted[pl->stage_count[pl->stage_q[i]]++] = pl->stage[i];
		for (k = 0, start = 0; k < pl->n_stage_queues; k++) {
			q = pl->stage_list[k];
			pl_enqueue_run(pl, q, pl->sorted + start, pl->stage_count[q] - start,
				       lossless);
			start = pl->stage_count[q];
			pl->stage_count[q] = 0;
		}
	}
	pl->n_stage = 0;
	pl->n_stage_queues = 0;
}

/* pl_enqueue() later, in a per-queue burst (the packet's memory lives for the burst). */
static inline void pl_stage(struct rf_pipeline *pl, uint32_t q, const struct rf_packet *pkt,
			    bool lossless)
{
	if (unlikely(pl->n_stage == PL_STAGE))
		pl_flush_stage(pl, lossless);
	if (!pl->stage_count[q]++)
		pl->stage_list[pl->n_stage_queues++] = q;
	pl->stage_q[pl->n_stage] = q;
	pl->stage[pl->n_stage++] = *pkt;
}

static bool pl_match(struct pl_pkt *x, const struct rf_filter *f)
{
	if (x->filter != f) {
		x->filter = f;
		x->match = rf_filter_match(f, x->pkt->data, x->pkt->caplen, x->pkt->wirelen);
	}
	return x->match;
}

/* The packet as queue q delivers it: stripped and sliced (out, or the packet itself). */
static const struct rf_packet *pl_shape(struct rf_pipeline *pl, struct pl_pkt *x,
					const struct pl_queue *pq, struct rf_packet *out)
{
	const struct rf_packet *p = x->pkt;

	if (pq->o.strip && rf_strip_needed(x->d, pq->o.strip)) {
		if (x->strip != pq->o.strip) {
			struct rf_frame in = {p->data, p->caplen, p->wirelen};

			rf_strip(&in, x->d, pq->o.strip, pl->strip_buf, &x->stripped);
			x->strip = pq->o.strip;
		}
		*out = *p;
		out->data = x->stripped.data;
		out->caplen = x->stripped.caplen;
		out->wirelen = x->stripped.wirelen;
		out->flags = out->caplen < out->wirelen ? RF_PKT_TRUNCATED : 0;
		p = out;
	}
	if (pq->o.snaplen && p->caplen > pq->o.snaplen) {
		if (p != out)
			*out = *p;
		out->caplen = pq->o.snaplen;
		out->flags = RF_PKT_TRUNCATED;
		p = out;
	}
	return p;
}

/* Queue q of a treated group: filter, de-duplicate, strip, slice, enqueue. */
static void pl_enqueue_treated(struct rf_pipeline *pl, uint32_t q, struct pl_pkt *x, bool lossless)
{
	struct pl_queue *pq = &pl->queues[q];
	struct rf_packet out;

	if (pq->o.filter && !pl_match(x, pq->o.filter)) {
		pq->c.filtered++;
		return;
	}
	if (pq->o.dedup_ns && x->dup_age <= pq->o.dedup_ns) {
		pq->c.deduplicated++;
		return;
	}
	pl_enqueue(pl, q, pl_shape(pl, x, pq, &out), lossless);
}

/* The queue of group gr for a packet of hash hash (rr and the hashing modes). */
static inline uint32_t pl_pick(const struct rf_pipeline *pl, struct pl_group *gr, uint32_t hash)
{
	if (pl->mode == RF_MODE_RR)
		return gr->first + (uint32_t)(gr->rr++ % gr->count);
	return gr->first + rf_queue_pick(hash, gr->count);
}

#define PL_SHUNTED UINT32_MAX /* pl_pick_flow(): the packet is not enqueued */

/* The queue of group gr (with a flow table or a placement) for a packet, or PL_SHUNTED. */
static uint32_t pl_pick_flow(struct rf_pipeline *pl, struct pl_group *gr, const struct pl_pkt *x)
{
	const struct rf_packet *pkt = x->pkt;
	enum rf_place_why why;
	uint32_t q;

	q = gr->first +
	    rf_place_packet(gr->place, pkt->hash, pkt->ts_ns, pkt->wirelen, x->tcp_flags, &why);
	if (why != RF_WHY_SHUNTED)
		return q;
	pl->shunted[q]++;
	return PL_SHUNTED;
}

/*
 * Some group filters, de-duplicates, strips, slices or has a flow table:
 * the packet goes through that.
 */
static __attribute__((noinline)) void pl_dispatch_treated(struct rf_pipeline *pl,
							  struct rf_packet *pkt,
							  const struct rf_decoded *d, bool lossless)
{
	struct pl_pkt x = {.pkt = pkt, .d = d, .dup_age = RF_DEDUP_NOT_SEEN};
	unsigned int g;
	uint32_t i, q;

	if (pl->dedup)
		x.dup_age = rf_dedup_seen(pl->dedup, rf_dedup_signature(pkt->data, pkt->caplen, d),
					  pkt->ts_ns);
	if (pl->tables)
		x.tcp_flags = rf_ft_l4(pl->mode, d, pkt->data, pkt->caplen);
	for (g = 0; g < pl->n_groups; g++) {
		struct pl_group *gr = &pl->groups[g];

		pl->c.group_received[g]++;
		if (pl->mode == RF_MODE_FANOUT) {
			for (i = 0; i < gr->count; i++) {
				if (gr->treated)
					pl_enqueue_treated(pl, gr->first + i, &x, lossless);
				else
					pl_enqueue(pl, gr->first + i, pkt, lossless);
			}
			continue;
		}
		q = gr->place ? pl_pick_flow(pl, gr, &x) : pl_pick(pl, gr, pkt->hash);
		if (q == PL_SHUNTED)
			continue;
		if (gr->treated)
			pl_enqueue_treated(pl, q, &x, lossless);
		else
			pl_enqueue(pl, q, pkt, lossless);
	}
}

/*
 * Give one packet (with its hash and decoding) to every group. d may be
 * NULL (a released fragment) when no queue de-duplicates or strips. With
 * nothing to do to any queue's packets, this is the whole path.
 */
static void pl_dispatch(struct rf_pipeline *pl, struct rf_packet *pkt, const struct rf_decoded *d,
			bool lossless)
{
	unsigned int g;
	uint32_t i;

	pl->c.dispatched++;
	if (unlikely(pl->seeded_or_treated)) {
		pkt->hash = rf_hash_reseed(pkt->hash, pl->hash_seed);
		if (pl->treated || pl->tables) {
			pl_dispatch_treated(pl, pkt, d, lossless);
			return;
		}
	}
	if (likely(pl->staging)) {
		for (g = 0; g < pl->n_groups; g++) {
			struct pl_group *gr = &pl->groups[g];

			pl->c.group_received[g]++;
			if (pl->mode == RF_MODE_FANOUT) {
				for (i = 0; i < gr->count; i++)
					pl_stage(pl, gr->first + i, pkt, lossless);
			} else {
				pl_stage(pl, pl_pick(pl, gr, pkt->hash), pkt, lossless);
			}
		}
		return;
	}
	for (g = 0; g < pl->n_groups; g++) {
		struct pl_group *gr = &pl->groups[g];

		pl->c.group_received[g]++;
		if (pl->mode == RF_MODE_FANOUT) {
			for (i = 0; i < gr->count; i++)
				pl_enqueue(pl, gr->first + i, pkt, lossless);
		} else {
			pl_enqueue(pl, pl_pick(pl, gr, pkt->hash), pkt, lossless);
		}
	}
}

/* Send every packet the fragment table released. */
static void pl_drain_released(struct rf_pipeline *pl, bool lossless)
{
	struct rf_flow_pkt fp;
	struct rf_packet pkt;
	struct rf_decoded d; /* only when something needs it: clearing it costs every packet */
	uint32_t hash;

	while (rf_flow_next_released(pl->flow, &fp, &hash, NULL) == 1) {
		pkt.data = fp.data;
		pkt.ts_ns = fp.ts_ns;
		pkt.caplen = fp.caplen;
		pkt.wirelen = fp.wirelen;
		pkt.ifindex = fp.ifindex;
		pkt.hash = hash;
		pkt.flags = fp.caplen < fp.wirelen ? RF_PKT_TRUNCATED : 0;
		if (pl->redecode)
			rf_decode(fp.data, fp.caplen, fp.linktype, pl->decode_flags, &d);
		pl_dispatch(pl, &pkt, pl->redecode ? &d : NULL, lossless);
	}
}

/* Hash of one packet; false when the fragment table held it. */
static bool pl_classify(struct rf_pipeline *pl, struct rf_packet *pkt, int linktype,
			const struct rf_decoded *d)
{
	struct rf_flow_pkt fp;
	uint32_t hash;

	if (!pl->tie_fragments) {
		pkt->hash = rf_flow_hash(pl->mode, pkt->data, d, pkt->ifindex, NULL);
		return true;
	}
	fp.data = pkt->data;
	fp.caplen = pkt->caplen;
	fp.wirelen = pkt->wirelen;
	fp.ts_ns = pkt->ts_ns;
	fp.ifindex = pkt->ifindex;
	fp.linktype = linktype;
	fp.cookie = 0;
	if (rf_flow_classify(pl->flow, &fp, d, &hash, NULL) == RF_FLOW_HELD)
		return false;
	pkt->hash = hash;
	return true;
}

/* Expired entries no packet comes back for: a few buckets per burst, round each table. */
static void pl_sweep_tables(struct rf_pipeline *pl, unsigned int n)
{
	unsigned int g;

	for (g = 0; g < pl->n_groups; g++)
		if (pl->groups[g].place && rf_place_table(pl->groups[g].place))
			rf_ft_sweep(rf_place_table(pl->groups[g].place), 0, n / 8 + 1);
}

/*
 * Some group has a flow table: decode and hash up to PL_CHUNK packets, then
 * prefetch their buckets in every table, then dispatch them in order. A
 * packet that releases held fragments ends the chunk, so that they follow it
 * as they do one packet at a time. Returns how many packets it took.
 */
static unsigned int pl_chunk_tables(struct rf_pipeline *pl, struct rf_packet *pkts, unsigned int n,
				    int linktype, bool lossless)
{
	uint32_t hashes[PL_CHUNK];
	bool sent[PL_CHUNK];
	unsigned int i, j, k = 0, g;

	if (n > PL_CHUNK)
		n = PL_CHUNK;
	for (i = 0; i < n;) {
		struct rf_decoded *d = &pl->chunk_d[i];

		rf_decode(pkts[i].data, pkts[i].caplen, linktype, pl->decode_flags, d);
		pl->c.decode[d->reason < RF_DEC__MAX ? d->reason : RF_DEC_MALFORMED]++;
		sent[i] = pl_classify(pl, &pkts[i], linktype, d);
		if (sent[i]) /* the hash pl_dispatch() looks up */
			hashes[k++] = rf_hash_reseed(pkts[i].hash, pl->hash_seed);
		i++;
		if (pl->tie_fragments && rf_flow_released_pending(pl->flow))
			break;
	}
	for (g = 0; g < pl->n_groups; g++)
		if (pl->groups[g].place && rf_place_table(pl->groups[g].place))
			rf_ft_prefetch_bulk(rf_place_table(pl->groups[g].place), hashes, k);
	for (j = 0; j < i; j++)
		if (sent[j])
			pl_dispatch(pl, &pkts[j], &pl->chunk_d[j], lossless);
	if (pl->tie_fragments)
		pl_drain_released(pl, lossless);
	return i;
}

void rf_pipeline_burst(struct rf_pipeline *pl, struct rf_packet *pkts, unsigned int n, int linktype,
		       bool lossless)
{
	struct rf_decoded d;
	unsigned int i;

	if (unlikely(pl->tables)) {
		for (i = 0; i < n;)
			i += pl_chunk_tables(pl, pkts + i, n - i, linktype, lossless);
		pl_sweep_tables(pl, n);
		pl_publish_touched(pl);
		return;
	}
	/* The plain path stages the source's packets (alive for the burst) per queue. */
	pl->staging = !pl->treated;
	for (i = 0; i < n; i++) {
		struct rf_packet *pkt = &pkts[i];

		rf_decode(pkt->data, pkt->caplen, linktype, pl->decode_flags, &d);
		pl->c.decode[d.reason < RF_DEC__MAX ? d.reason : RF_DEC_MALFORMED]++;
		if (pl_classify(pl, pkt, linktype, &d))
			pl_dispatch(pl, pkt, &d, lossless);
		/* Released fragments (short-lived memory) go straight in, after what is staged. */
		if (pl->tie_fragments && unlikely(rf_flow_released_pending(pl->flow))) {
			pl_flush_stage(pl, lossless);
			pl->staging = false;
			pl_drain_released(pl, lossless);
			pl->staging = !pl->treated;
		}
	}
	pl->staging = false;
	pl_flush_stage(pl, lossless);
	pl_publish_touched(pl);
}

void rf_pipeline_expire(struct rf_pipeline *pl, uint64_t now_ns, bool lossless)
{
	if (!pl->tie_fragments)
		return;
	rf_flow_expire(pl->flow, now_ns);
	pl_drain_released(pl, lossless);
	pl_publish_touched(pl);
}

void rf_pipeline_flush(struct rf_pipeline *pl, bool lossless)
{
	if (!pl->tie_fragments)
		return;
	rf_flow_flush(pl->flow);
	pl_drain_released(pl, lossless);
	pl_publish_touched(pl);
}

void rf_pipeline_get_counters(const struct rf_pipeline *pl, struct rf_pipeline_counters *ret)
{
	*ret = pl->c;
	ret->dedup_evicted = pl->dedup ? rf_dedup_evicted(pl->dedup) : 0;
}

void rf_pipeline_get_queue_counters(const struct rf_pipeline *pl, uint32_t q,
				    struct rf_pipeline_queue_counters *ret)
{
	static const struct rf_pipeline_queue_counters none;

	*ret = pl->queues && q < pl->n_queues ? pl->queues[q].c : none;
	ret->shunted = pl->shunted && q < pl->n_queues ? pl->shunted[q] : 0;
	ret->shunt_asked = q < pl->n_queues ? pl->shunt_asked[q] : 0;
	ret->shunt_refused = q < pl->n_queues ? pl->shunt_refused[q] : 0;
}

void rf_pipeline_set_filter(struct rf_pipeline *pl, uint32_t q, const struct rf_filter *f)
{
	if (!pl->queues || q >= pl->n_queues)
		return;
	pl->queues[q].o.filter = f;
	pl_mark_treated(pl);
}

void rf_pipeline_get_flow_stats(const struct rf_pipeline *pl, struct rf_flow_stats *ret)
{
	rf_flow_get_stats(pl->flow, ret);
}

bool rf_pipeline_get_table_stats(const struct rf_pipeline *pl, unsigned int g,
				 struct rf_ft_stats *ret, uint64_t *ret_moved)
{
	if (g >= pl->n_groups || !pl->groups[g].place || !rf_place_table(pl->groups[g].place)) {
		memset(ret, 0, sizeof(*ret));
		*ret_moved = 0;
		return false;
	}
	rf_ft_get_stats(rf_place_table(pl->groups[g].place), ret);
	*ret_moved = rf_place_moved(pl->groups[g].place);
	return true;
}

static struct pl_group *pl_group_of(struct rf_pipeline *pl, uint32_t q)
{
	unsigned int g;

	for (g = 0; g < pl->n_groups; g++)
		if (q >= pl->groups[g].first && q < pl->groups[g].first + pl->groups[g].count)
			return &pl->groups[g];
	return NULL;
}

void rf_pipeline_set_queue_down(struct rf_pipeline *pl, uint32_t q, bool down)
{
	struct pl_group *gr = pl_group_of(pl, q);

	if (gr && gr->place && rf_place_table(gr->place))
		rf_place_set_down(gr->place, q - gr->first, down);
}

bool rf_pipeline_queue_down(const struct rf_pipeline *pl, uint32_t q)
{
	const struct pl_group *gr = pl_group_of((struct rf_pipeline *)pl, q);

	return gr && gr->place && rf_place_down(gr->place, q - gr->first);
}

int rf_pipeline_shunt_request(struct rf_pipeline *pl, uint32_t q, uint32_t hash, uint32_t seconds)
{
	struct pl_group *gr = pl_group_of(pl, q);
	int r = -EOPNOTSUPP;

	if (q >= pl->n_queues)
		return -EINVAL;
	if (gr->place && rf_place_table(gr->place))
		r = rf_ft_shunt(rf_place_table(gr->place), hash, (uint16_t)(q - gr->first),
				seconds);
	if (r)
		pl->shunt_refused[q]++;
	else
		pl->shunt_asked[q]++;
	return r;
}

void rf_pipeline_shunt_lost(struct rf_pipeline *pl, uint32_t q, uint64_t lost)
{
	if (q < pl->n_queues)
		pl->shunt_refused[q] += lost;
}
