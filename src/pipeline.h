/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The balancer's per-packet path: decode, classify (flow hash, or held
 * until its datagram's first fragment comes), and for every group pick the
 * queue(s) and copy the packet in; each touched queue is published once per
 * burst. Everything is allocated by rf_pipeline_new(); nothing per packet.
 */
#ifndef RINGFAN_PIPELINE_H
#define RINGFAN_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include <ringfan/ringfan.h>

#include "broker.h"
#include "decode.h"
#include "flow.h"
#include "flowtable.h"

#define RF_PIPELINE_MAX_GROUPS 32

struct rf_pipeline;

/*
 * What is done to one queue's packets before they go in, in this order:
 * filter, de-duplicate, strip, slice. All zero: nothing (and no cost).
 */
struct rf_pipeline_queue_opts {
	const struct rf_filter *filter; /* NULL: every packet; the caller keeps it alive */
	uint64_t dedup_ns;		/* window of de-duplication; 0: none */
	uint32_t snaplen;		/* bytes delivered of each packet; 0: all */
	unsigned int strip;		/* RF_STRIP_* (Ethernet sources only) */
};

/* Per queue, never reset: packets of the group that did not go in, and why. */
struct rf_pipeline_queue_counters {
	uint64_t filtered;	/* did not match the queue's filter */
	uint64_t deduplicated;	/* copies of a packet seen within the window */
	uint64_t shunted;	/* of flows on this queue, past their group's shunt cut-off */
	uint64_t shunt_asked;	/* shunt requests of its consumer honoured */
	uint64_t shunt_refused; /* refused: not a flow of this queue (or no table), or lost */
};

struct rf_pipeline_opts {
	enum rf_mode mode;
	unsigned int n_groups;
	const uint32_t *group_queues;	      /* queues per group; groups take consecutive queues */
	struct rf_producer *const *producers; /* one per queue, sum(group_queues) */
	uint64_t ring_size; /* of every queue: packets bigger than a quarter never wait */
	uint32_t hash_seed; /* rf_hash_reseed(): 0 for the plain flow hash */
	/* n_queues entries, or NULL: nothing done to any queue's packets. */
	const struct rf_pipeline_queue_opts *queue_opts;
	/*
	 * n_groups entries, or NULL: each group's flow table and placement
	 * (rf_config_place_opts(); queues is the group's). A group with no
	 * table and hash placement costs nothing.
	 */
	const struct rf_place_opts *group_opts;
	/*
	 * Lossless sources: while queue `waiting` is full the pipeline waits for
	 * its consumer, calling tick about every 100 ms (stats, signals). A
	 * nonzero return stops waiting: the packet is then dropped and counted.
	 */
	int (*tick)(void *arg, uint32_t waiting);
	void *tick_arg;
};

struct rf_pipeline_counters {
	uint64_t decode[RF_DEC__MAX];			 /* packets per decode reason */
	uint64_t group_received[RF_PIPELINE_MAX_GROUPS]; /* packets dispatched to each group */
	uint64_t dispatched;				 /* packets dispatched (after holding) */
	/* First copies forgotten early: the de-duplication table was full. */
	uint64_t dedup_evicted;
};

int rf_pipeline_new(const struct rf_pipeline_opts *opts, struct rf_pipeline **ret_pipeline);
void rf_pipeline_free(struct rf_pipeline *pl);

/*
 * Dispatch a burst of packets of link type linktype. lossless: wait for
 * full queues (file replay) instead of dropping.
 */
void rf_pipeline_burst(struct rf_pipeline *pl, struct rf_packet *pkts, unsigned int n, int linktype,
		       bool lossless);

/* Live timer: release fragments held longer than their timeout (at real time now_ns). */
void rf_pipeline_expire(struct rf_pipeline *pl, uint64_t now_ns, bool lossless);

/* End of input: release every held fragment. */
void rf_pipeline_flush(struct rf_pipeline *pl, bool lossless);

void rf_pipeline_get_counters(const struct rf_pipeline *pl, struct rf_pipeline_counters *ret);
void rf_pipeline_get_queue_counters(const struct rf_pipeline *pl, uint32_t q,
				    struct rf_pipeline_queue_counters *ret);

/*
 * Replace queue q's filter (NULL: none), e.g. on a reload. Only between
 * bursts: the pipeline may use the old one until then. The caller frees
 * the old filter afterwards.
 */
void rf_pipeline_set_filter(struct rf_pipeline *pl, uint32_t q, const struct rf_filter *f);
void rf_pipeline_get_flow_stats(const struct rf_pipeline *pl, struct rf_flow_stats *ret);

/*
 * Group g's flow table counters, and the flows moved off failed-over queues
 * (--failover-move); false (both zeroed) when it has no table.
 */
bool rf_pipeline_get_table_stats(const struct rf_pipeline *pl, unsigned int g,
				 struct rf_ft_stats *ret, uint64_t *ret_moved);

/*
 * Failover: queue q (of a group with a flow table) gets no new flows while
 * down; its known flows stay unless the group moves them. Unless every queue
 * of its group is down. Between bursts.
 */
void rf_pipeline_set_queue_down(struct rf_pipeline *pl, uint32_t q, bool down);
bool rf_pipeline_queue_down(const struct rf_pipeline *pl, uint32_t q);

/*
 * Queue q's consumer asks to shunt the flow of hash hash for seconds (0: its
 * life): honoured only if q's group has a flow table that places that flow
 * on q. Counted either way. Returns 0 or -ENOENT / -EPERM / -EOPNOTSUPP.
 */
int rf_pipeline_shunt_request(struct rf_pipeline *pl, uint32_t q, uint32_t hash, uint32_t seconds);

/* Requests of queue q's consumer that were lost (overwritten before they were read). */
void rf_pipeline_shunt_lost(struct rf_pipeline *pl, uint32_t q, uint64_t lost);

#endif
