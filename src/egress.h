/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Egress: turns a queue into an output for programs that cannot link
 * libringfan (`-r Q:TARGET`). Each egress is an ordinary consumer of its
 * queue, running in its own thread inside the balancer, so a slow or failing
 * target fills only its own queue: the balancer then drops (and counts) for
 * that queue only, exactly as for an external consumer.
 *
 * Targets: "IFACE" or "afpacket:IFACE" transmits each packet on a network
 * interface with AF_PACKET (as zbalance_ipc's -r 0:dummy0; any veth, tap or
 * tunnel interface), visible to captures on IFACE itself and on a veth's
 * peer; "pcap:PATH" writes a pcap file (a FIFO works: tcpdump -r FIFO).
 */
#ifndef RINGFAN_EGRESS_H
#define RINGFAN_EGRESS_H

#include <sched.h>
#include <stdint.h>

struct rf_egress;

struct rf_egress_opts {
	const char *queue;     /* queue name, e.g. "99@2" (must exist: created by the producer) */
	const char *target;    /* "IFACE", "afpacket:IFACE" or "pcap:PATH" */
	const char *dir;       /* queue directory; NULL: $RINGFAN_DIR or the default */
	const cpu_set_t *cpus; /* the thread's CPUs; NULL: wherever the balancer may run */
};

struct rf_egress_stats {
	uint64_t sent; /* packets written to the target */
	uint64_t sent_bytes;
	uint64_t failed; /* packets taken from the queue but not written (target failing) */
	int last_error;	 /* negative errno of the current failure, 0 when healthy */
};

/*
 * Attach to the queue, check the target against the queue's link type (an
 * interface takes Ethernet frames; a pcap file is written with the queue's
 * link type), open it (interface exists and is up, or the file can be
 * created) and start the egress thread ("rf-egress-Q" for queue Q).
 * Errors: -ENODEV no such interface; -ENETDOWN interface down;
 * -EPROTOTYPE an interface target for packets that are not Ethernet frames;
 * -EPROTONOSUPPORT a link type no pcap file can hold; -EACCES, -ENOENT, ...
 * from opening the file; errors of rf_consumer_open().
 */
int rf_egress_start(const struct rf_egress_opts *opts, struct rf_egress **ret_egress);

/* Snapshot of the counters (thread-safe). */
void rf_egress_stats(const struct rf_egress *e, struct rf_egress_stats *ret_stats);

/* Human-readable target ("veth1", "pcap:/tmp/q2.pcap"). */
const char *rf_egress_target(const struct rf_egress *e);

/*
 * Stop: if drain is nonzero, first write everything up to the end of the
 * queue (the producer has marked it finished), then join the thread, flush
 * and close the target. Returns 0, or the negative errno of a failure that
 * made packets be lost. NULL is a no-op returning 0.
 */
int rf_egress_stop(struct rf_egress *e, int drain);

/*
 * rf_egress_stop() in two steps, so that the final counters can be read:
 * rf_egress_finish() drains (if asked), joins the thread and closes the
 * target, returning what rf_egress_stop() would; rf_egress_stats() and
 * rf_egress_target() keep working. A later rf_egress_stop() only frees and
 * returns the same result. Calling it twice returns the same result again.
 */
int rf_egress_finish(struct rf_egress *e, int drain);

#endif
