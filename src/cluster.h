/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Watching clusters from outside the balancer: which clusters a queue
 * directory holds, whether a cluster's balancer is alive, its last stats
 * snapshot, and what follows from a snapshot (ring fill, when a queue's
 * consumer was last seen, rates between two snapshots). `ringfan stats`,
 * `exporter`, `top` and `health` all ask here, so that they agree.
 */
#ifndef RINGFAN_CLUSTER_H
#define RINGFAN_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/* The queue directory: dir when given, else $RINGFAN_DIR, else the default. */
const char *rf_cluster_dir(const char *dir);

/*
 * A cluster id as -c takes it in every command: decimal, 0..RF_MAX_CLUSTER.
 * Returns 0, or -EINVAL with "WHEREbad cluster id ..." printed.
 */
int rf_cluster_parse_id(const char *s, uint32_t *ret, const char *where);

/* Is the cluster's balancer alive? Asked of the kernel, never of a file's contents. */
bool rf_cluster_alive(const char *dir, uint64_t cluster);

/*
 * The clusters that have a stats file in dir, sorted. *ret_ids is
 * malloc'ed (free it; NULL when there are none). Returns 0 or -errno.
 */
int rf_cluster_list(const char *dir, uint32_t **ret_ids, size_t *ret_n);

/*
 * Read and parse DIR/CLUSTER.stats into ret, retrying a torn read (the
 * writer may rewrite in place). buf: RF_STATS_TEXT_MAX bytes of scratch.
 * Returns 0, -EBADMSG when it is not a stats file, or -errno.
 */
int rf_cluster_read(const char *dir, uint32_t cluster, char *buf, struct rf_stats_snap *ret);

/* "cannot read stats file 'PATH': REASON" for the error of rf_cluster_read(). */
const char *rf_cluster_read_error(int r);

/* What a queue's counters say about its consumer and its ring, now. */
struct rf_queue_view {
	bool attached;	       /* a consumer is attached and the balancer is alive */
	bool ever_seen;	       /* a consumer was attached at some point of this balancer run */
	uint64_t last_seen_ns; /* real time; the balancer's start when never seen */
	double gone_secs;      /* seconds since last seen; 0 while attached */
	double fill;	       /* backlog bytes / ring size, 0..1 */
};

/* alive: the balancer's liveness (rf_cluster_alive); now_ns: real time. */
void rf_queue_view(const struct rf_stats_snap *s, uint64_t q, bool alive, uint64_t now_ns,
		   struct rf_queue_view *ret);

/*
 * Per-second rate of a counter between two snapshots secs apart. A counter
 * that went down was reset (a new balancer run): it counts from 0.
 */
double rf_rate(uint64_t now, uint64_t before, double secs);

/* Seconds between two snapshots' updates (0 when not in order). */
double rf_snap_secs(const struct rf_stats_snap *now, const struct rf_stats_snap *before);

/* Is before an earlier snapshot of the same balancer run as now (rates are meaningful)? */
bool rf_snap_same_run(const struct rf_stats_snap *now, const struct rf_stats_snap *before);

#endif
