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

#include "decode.h"
#include "flow.h"

#define RF_PIPELINE_MAX_GROUPS 32

struct rf_pipeline;

struct rf_pipeline_opts {
	enum rf_mode mode;
	unsigned int n_groups;
	const uint32_t *group_queues;	      /* queues per group; groups take consecutive queues */
	struct rf_producer *const *producers; /* one per queue, sum(group_queues) */
	uint64_t ring_size; /* of every queue: packets bigger than a quarter never wait */
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
void rf_pipeline_get_flow_stats(const struct rf_pipeline *pl, struct rf_flow_stats *ret);

#endif
