/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A cluster's counters as a snapshot: the balancer fills one every second
 * and writes it to DIR/CLUSTER.stats (text, one "key: value" per line; see
 * ringfan-stats(1)); `ringfan stats` reads it back and prints it as a
 * table or JSON. The same snapshot feeds the balancer's -p block.
 */
#ifndef RINGFAN_STATS_H
#define RINGFAN_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "decode.h"

#define RF_STATS_VERSION     1
#define RF_STATS_MAX_SOURCES 16
#define RF_STATS_MAX_GROUPS  32
#define RF_STATS_MAX_QUEUES  1024
/* Largest stats file a reader accepts (and the writer's buffer). */
#define RF_STATS_TEXT_MAX (1u << 20)

struct rf_stats_source {
	char name[256];
	uint64_t received;
	uint64_t bytes;
	uint64_t kernel_drops;
	char state[16]; /* "running"; interfaces: "down", "gone"; files: "finished" */
};

struct rf_stats_group {
	uint64_t first_queue;
	uint64_t queues;
	uint64_t received; /* packets dispatched to the group */
	uint64_t enqueued; /* sums over the group's queues */
	uint64_t dropped;
	uint64_t filtered;
	uint64_t deduplicated;
	uint64_t shunted;
	/* Its flow table (--flow-table): entries (0: none), flows in it, and what
	 * happened to flows: created, expired (idle or closed), evicted (to make room,
	 * while possibly live), shunted (reached the cut-off); packets placed by the
	 * hash because their flow found no room (fallback). */
	uint64_t flow_table;
	uint64_t flows_active, flows_created, flows_expired, flows_evicted, flows_shunted;
	uint64_t flow_fallback;
	uint64_t flows_moved; /* off failed-over queues (--failover-move) */
};

struct rf_stats_queue {
	uint64_t group;
	/* Packets in the queue (or written out by its egress) this run: those its
	 * egress failed to write are moved from here to dropped_egress. */
	uint64_t enqueued;
	uint64_t bytes;
	uint64_t
		dropped; /* every packet its consumer should have had and did not: the four below */
	uint64_t dropped_full;
	uint64_t dropped_cursor;
	uint64_t dropped_toobig;
	uint64_t dropped_egress; /* taken by the queue's egress and not written (= egress_failed) */
	uint64_t consumer_pid;	 /* 0: no consumer attached */
	uint64_t consumer_read;
	uint64_t backlog_bytes;
	uint64_t backlog_packets;  /* enqueued - consumer_read (0 when the consumer claims more) */
	uint64_t ring_size;	   /* bytes of packet data */
	uint64_t generation;	   /* the queue's generation (new with each balancer run) */
	uint64_t consumer_seen_ns; /* real time a consumer was last seen attached; 0: never */
	char egress[256];	   /* "" when the queue has no egress */
	uint64_t egress_sent;
	uint64_t egress_failed;
	/* Not delivered, and never drops: the queue's filter kept them out, or they were
	 * copies of a packet seen within its de-duplication window. */
	uint64_t filtered;
	uint64_t deduplicated;
	uint64_t shunted; /* of its group's flows past the shunt cut-off (never drops) */
	/* No new flows: 1: its consumer is gone past --failover, 2: its queue stayed full that long */
	uint64_t failed_over;
	/* Its consumer's shunt requests (rf_consumer_shunt): honoured, and refused (not a
	 * flow of this queue, no flow table, or overwritten before they were read). */
	uint64_t shunt_requests, shunt_refused;
};

struct rf_stats_frag {
	uint64_t first, tied, held, released, expired, table_full, hold_full, hold_big,
		table_expired, held_now;
};

struct rf_stats_totals {
	uint64_t received, bytes, kernel_drops, enqueued, dropped, filtered, deduplicated, shunted;
};

struct rf_stats_snap {
	uint64_t seq;
	uint64_t cluster;
	uint64_t pid;
	/* "starting", "running", "waiting" (a lossless replay waits for the consumer of
	 * queue waiting_queue), "finished" (input ended), "stopped" (signal) */
	char state[16];
	uint64_t waiting_queue;
	char mode[32];
	uint64_t started_ns; /* real time */
	uint64_t updated_ns;
	uint64_t n_sources, n_groups, n_queues;
	struct rf_stats_source sources[RF_STATS_MAX_SOURCES];
	struct rf_stats_group groups[RF_STATS_MAX_GROUPS];
	struct rf_stats_queue queues[RF_STATS_MAX_QUEUES];
	uint64_t decode[RF_DEC__MAX];
	uint64_t dedup_evicted; /* first copies forgotten early: the table was too small */
	struct rf_stats_frag frag;
	struct rf_stats_totals totals;
};

/*
 * Fill the group and total sums from the per-source and per-queue counters,
 * and each queue's dropped and backlog_packets.
 */
void rf_stats_sum(struct rf_stats_snap *s);

/*
 * Add the counters of more (another capture thread's share of the same
 * sources, groups and queues) to s; identity fields (names, states,
 * generations, ring sizes) stay s's. rf_stats_sum() afterwards.
 */
void rf_stats_add(struct rf_stats_snap *s, const struct rf_stats_snap *more);

/*
 * Serialize s into buf (at most len bytes). Returns the length, or
 * -ENOSPC if it does not fit.
 */
int rf_stats_format(const struct rf_stats_snap *s, char *buf, size_t len);

/* Parse a stats file's text (NUL-terminated). Returns 0, or -EBADMSG when torn or not a stats file. */
int rf_stats_parse(char *text, struct rf_stats_snap *ret);

/*
 * The live block of `balance -p`: per source, per queue, totals; rates
 * against prev (NULL: none) over secs seconds.
 */
void rf_stats_print(FILE *f, const struct rf_stats_snap *s, const struct rf_stats_snap *prev,
		    double secs);

/* Writer of DIR/CLUSTER.stats. */
struct rf_stats_file;

/*
 * Open the writer: path is the stats file. It gets the queue files' owner
 * and group ((uid_t)-1, (gid_t)-1: the caller's) and the read bits of their
 * mode queue_mode (whoever may read the queues may read the counters; only
 * the owner writes), also when it existed before. Returns 0 or a negative
 * errno.
 */
int rf_stats_file_open(const char *path, uid_t owner, gid_t group, mode_t queue_mode,
		       struct rf_stats_file **ret_file);
/* Replace the file's contents with s (atomically when the directory allows it). */
int rf_stats_file_write(struct rf_stats_file *f, const struct rf_stats_snap *s);
/* Switch to in-place rewrites (the directory will not be writable any more). */
void rf_stats_file_set_in_place(struct rf_stats_file *f);
/* Close; remove the file too if remove is set. NULL is a no-op. */
void rf_stats_file_close(struct rf_stats_file *f, bool remove);

#endif
