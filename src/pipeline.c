/* SPDX-License-Identifier: BSD-2-Clause */
/* The per-packet path: burst in, decode, classify, per-group queue pick, copy, publish. */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rf_pipeline {
	enum rf_mode mode;
	unsigned int decode_flags;
	bool tie_fragments; /* mode uses the fragment table (rf_flow_classify) */
	bool stopping;	    /* tick asked to stop: never wait again */
	unsigned int n_groups;
	uint32_t first[RF_PIPELINE_MAX_GROUPS]; /* first queue of each group */
	uint32_t count[RF_PIPELINE_MAX_GROUPS];
	uint64_t rr[RF_PIPELINE_MAX_GROUPS];
	unsigned int n_queues;
	struct rf_producer **producers;
	uint8_t *touched; /* per queue: enqueued into since the last publish */
	uint32_t *touch_list;
	unsigned int n_touched;
	uint32_t wait_limit; /* packets bigger than this never wait (they may never fit) */
	struct rf_flow *flow;
	int (*tick)(void *arg, uint32_t waiting);
	void *tick_arg;
	struct rf_pipeline_counters c;
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
		pl->first[g] = total;
		pl->count[g] = o->group_queues[g];
		total += o->group_queues[g];
	}
	pl->n_groups = o->n_groups;
	pl->n_queues = total;
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
	if (!pl->producers || !pl->touched || !pl->touch_list)
		goto fail;
	memcpy(pl->producers, opts->producers, pl->n_queues * sizeof(*pl->producers));
	r = rf_flow_new(opts->mode, NULL, &pl->flow);
	if (r)
		goto fail;
	pl->mode = opts->mode;
	pl->decode_flags = rf_mode_decode_flags(opts->mode);
	pl->tie_fragments = mode_ties_fragments(opts->mode);
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
	if (!pl)
		return;
	rf_flow_free(pl->flow);
	free(pl->producers);
	free(pl->touched);
	free(pl->touch_list);
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

/* Give one packet (with its hash) to every group. */
static void pl_dispatch(struct rf_pipeline *pl, struct rf_packet *pkt, bool lossless)
{
	unsigned int g;
	uint32_t i;

	pl->c.dispatched++;
	for (g = 0; g < pl->n_groups; g++) {
		pl->c.group_received[g]++;
		if (pl->mode == RF_MODE_FANOUT) {
			for (i = 0; i < pl->count[g]; i++)
				pl_enqueue(pl, pl->first[g] + i, pkt, lossless);
		} else if (pl->mode == RF_MODE_RR) {
			pl_enqueue(pl, pl->first[g] + (uint32_t)(pl->rr[g]++ % pl->count[g]), pkt,
				   lossless);
		} else {
			pl_enqueue(pl, pl->first[g] + rf_queue_pick(pkt->hash, pl->count[g]), pkt,
				   lossless);
		}
	}
}

/* Send every packet the fragment table released. */
static void pl_drain_released(struct rf_pipeline *pl, bool lossless)
{
	struct rf_flow_pkt fp;
	struct rf_packet pkt;
	uint32_t hash;

	while (rf_flow_next_released(pl->flow, &fp, &hash, NULL) == 1) {
		pkt.data = fp.data;
		pkt.ts_ns = fp.ts_ns;
		pkt.caplen = fp.caplen;
		pkt.wirelen = fp.wirelen;
		pkt.ifindex = fp.ifindex;
		pkt.hash = hash;
		pkt.flags = fp.caplen < fp.wirelen ? RF_PKT_TRUNCATED : 0;
		pl_dispatch(pl, &pkt, lossless);
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

void rf_pipeline_burst(struct rf_pipeline *pl, struct rf_packet *pkts, unsigned int n, int linktype,
		       bool lossless)
{
	struct rf_decoded d;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct rf_packet *pkt = &pkts[i];

		rf_decode(pkt->data, pkt->caplen, linktype, pl->decode_flags, &d);
		pl->c.decode[d.reason < RF_DEC__MAX ? d.reason : RF_DEC_MALFORMED]++;
		if (pl_classify(pl, pkt, linktype, &d))
			pl_dispatch(pl, pkt, lossless);
		if (pl->tie_fragments)
			pl_drain_released(pl, lossless);
	}
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
}

void rf_pipeline_get_flow_stats(const struct rf_pipeline *pl, struct rf_flow_stats *ret)
{
	rf_flow_get_stats(pl->flow, ret);
}
