/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libringfan: crash-isolated shared-memory packet queues.
 *
 * A queue is a single-producer / single-consumer ring named "CLUSTER@QUEUE"
 * (e.g. "99@0"). The producer (the ringfan balancer) copies packets in; the
 * consumer reads them in place through a read-only mapping and publishes a
 * read cursor in a small page that is the only memory it can write. A
 * consumer that crashes, hangs or writes garbage into that page affects only
 * its own queue. The on-disk/in-memory layout is documented in
 * doc/queue-abi.md.
 *
 * Conventions: functions return 0 or a positive count on success and a
 * negative errno on failure; out-parameters are named ret_* and are written
 * only on success; destructors accept NULL. The library never prints.
 *
 * Thread-safety: a handle may be used by one thread at a time. Different
 * handles are independent.
 *
 * Files: a queue lives in the directory given in the options, else in
 * $RINGFAN_DIR, else in /dev/shm/ringfan.
 */
#ifndef RINGFAN_RINGFAN_H
#define RINGFAN_RINGFAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RF_EXPORT __attribute__((visibility("default")))

/* Library version string ("0.1.0"). Never NULL. */
RF_EXPORT const char *rf_version(void);

/* Limits of queue names: cluster 0..RF_MAX_CLUSTER, queue 0..RF_MAX_QUEUE. */
#define RF_MAX_CLUSTER 65535
#define RF_MAX_QUEUE   1023

/* The queue directory when neither the options nor $RINGFAN_DIR name one. */
#define RF_DEFAULT_DIR "/dev/shm/ringfan"

/*
 * Parse "CLUSTER@QUEUE" (optionally prefixed "ringfan:") into its numbers.
 * Returns 0 or -EINVAL (bad syntax) / -ERANGE (number out of range).
 */
RF_EXPORT int rf_queue_name_parse(const char *name, uint32_t *ret_cluster, uint32_t *ret_queue);

/* One packet as stored in a queue. */
struct rf_packet {
	const uint8_t *data; /* caplen bytes; for consumers read-only, valid until release */
	uint64_t ts_ns;	     /* capture time, ns since the Unix epoch */
	uint32_t caplen;     /* bytes present at data */
	uint32_t wirelen;    /* length on the wire (>= caplen) */
	uint32_t ifindex;    /* ingress interface index (0 if none, e.g. a file) */
	uint32_t hash;	     /* the balancer's flow hash */
	uint16_t flags;	     /* RF_PKT_* */
};

/* rf_packet.flags */
#define RF_PKT_TRUNCATED 0x0001 /* caplen < wirelen */

/* ------------------------------------------------------------------ */
/* Consumer API                                                        */
/* ------------------------------------------------------------------ */

struct rf_consumer;

/* rf_consumer_opts.flags */
#define RF_CONSUMER_FROM_NEWEST 0x01 /* skip what is buffered; start at the newest packet */
#define RF_CONSUMER_NO_REATTACH 0x02 /* after "producer gone", do not wait for a new producer */
/* An empty queue puts the caller to sleep at once instead of polling for a few
 * microseconds first: for consumers that share CPUs with their producer. */
#define RF_CONSUMER_NO_SPIN 0x04

struct rf_consumer_opts {
	size_t sz;	    /* sizeof(struct rf_consumer_opts): lets the struct grow */
	const char *dir;    /* NULL: $RINGFAN_DIR or /dev/shm/ringfan */
	unsigned int flags; /* RF_CONSUMER_* */
};

/*
 * Attach to queue `name` ("99@0"). opts may be NULL (defaults). By default
 * the consumer resumes from the last cursor committed on this queue, so a
 * consumer restarted after a crash receives again the packets its
 * predecessor had received but not released.
 * Errors: -EINVAL bad name or options; -ENOENT no such queue; -EACCES the
 * caller may not read the queue; -EBUSY another consumer is attached (see
 * rf_queue_query() for its pid); -EPROTO the files are not a ringfan queue
 * of this ABI version; other negative errno from the system.
 * On success *ret_consumer owns the mappings; free with rf_consumer_close().
 */
RF_EXPORT int rf_consumer_open(const char *name, const struct rf_consumer_opts *opts,
			       struct rf_consumer **ret_consumer);

/*
 * Receive up to max packets into pkts[]. Waits up to timeout_ms (0: do not
 * wait, -1: forever) while the queue is empty, sleeping in the kernel.
 * The packets' data point into the read-only ring and stay valid until
 * rf_consumer_release(); calling recv again without releasing returns the
 * packets after those already returned.
 * Returns the number of packets (> 0); 0 on timeout; -ENODATA when the
 * producer marked the queue finished and everything has been received;
 * -EPIPE once when the producer went away (the call after that waits for a
 * new producer of the same queue and then returns its packets, unless
 * RF_CONSUMER_NO_REATTACH was given, in which case -EPIPE is returned again);
 * -EINTR if a signal interrupted the wait; while waiting for a new producer,
 * the errors of rf_consumer_open() if its queue cannot be attached (e.g.
 * -EBUSY: another consumer took it first; each call tries again).
 */
RF_EXPORT int rf_consumer_recv(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max,
			       int timeout_ms);

/*
 * Give back every packet returned by rf_consumer_recv() so far: commits the
 * read cursor (the producer may reuse the space; a restarted consumer
 * resumes after these packets). Batch: call once per burst.
 */
RF_EXPORT void rf_consumer_release(struct rf_consumer *c);

struct rf_consumer_stats {
	uint64_t received;	    /* packets returned by recv on this handle */
	uint64_t received_bytes;    /* their caplen sum */
	uint64_t dropped;	    /* packets the producer dropped on this queue (full) since the
			     producer created it */
	uint64_t corrupt;	    /* times the ring was found inconsistent and skipped ahead */
	uint64_t producer_restarts; /* new producer generations attached to */
	uint64_t backlog_bytes;	    /* bytes waiting in the ring */
};

/* Fill *ret_stats (sz = sizeof(*ret_stats)). Returns 0 or -EINVAL. */
RF_EXPORT int rf_consumer_stats(const struct rf_consumer *c, struct rf_consumer_stats *ret_stats,
				size_t sz);

/* Detach and unmap; the committed cursor stays for the next consumer. NULL is a no-op. */
RF_EXPORT void rf_consumer_close(struct rf_consumer *c);

/* ------------------------------------------------------------------ */
/* Queue inspection (no attach)                                        */
/* ------------------------------------------------------------------ */

struct rf_queue_info {
	uint64_t generation; /* changes each time a producer (re)creates the queue */
	uint64_t ring_size;  /* bytes of packet data */
	uint64_t enqueued;   /* packets the producer wrote */
	uint64_t enqueued_bytes;
	uint64_t dropped_full;	 /* packets dropped because the ring was full */
	uint64_t dropped_cursor; /* packets dropped because the consumer page held nonsense */
	uint64_t dropped_toobig; /* packets larger than a ring slot can hold */
	uint64_t consumer_read;	 /* packets the consumer says it released (untrusted) */
	uint64_t backlog_bytes;	 /* head - committed cursor, when the cursor is sane */
	int32_t producer_pid;	 /* 0 if no live producer */
	int32_t consumer_pid;	 /* 0 if no live consumer */
	uint8_t finished;	 /* producer marked end of stream */
};

/*
 * Read queue `name`'s counters and who is attached, without attaching.
 * Liveness comes from kernel-held locks, not from values a consumer wrote.
 * opts may be NULL; only opts->dir is used. Errors as rf_consumer_open().
 */
RF_EXPORT int rf_queue_query(const char *name, const struct rf_consumer_opts *opts,
			     struct rf_queue_info *ret_info, size_t sz);

/* ------------------------------------------------------------------ */
/* Producer API (used by the balancer; one producer per queue)         */
/* ------------------------------------------------------------------ */

struct rf_producer;

struct rf_producer_opts {
	size_t sz;	    /* sizeof(struct rf_producer_opts) */
	const char *dir;    /* NULL: $RINGFAN_DIR or /dev/shm/ringfan (created if missing) */
	uint64_t ring_size; /* bytes of packet data, power of two; 0: 64 MiB */
	uid_t owner;	    /* owner of the queue files; (uid_t)-1: the caller */
	gid_t group;	    /* group of the queue files; (gid_t)-1: the caller's */
	mode_t mode;	    /* who may consume: e.g. 0640 (group may consume); 0: 0600 */
};

/*
 * Create queue `name` (or a new generation of it, replacing files a dead
 * producer left behind; attached consumers of the old generation notice and
 * move to the new one). Errors: -EINVAL bad name/options; -EBUSY a live
 * producer owns the queue; -EACCES/-EPERM from the file system; -ENOMEM.
 * The consumer may truncate its page file: so that this cannot kill the
 * producer, the first create (and any create after the program replaced
 * it) installs a SIGBUS handler that turns a fault on a consumer page into
 * a nonsense cursor and chains every other SIGBUS to the previous handler.
 */
RF_EXPORT int rf_producer_create(const char *name, const struct rf_producer_opts *opts,
				 struct rf_producer **ret_producer);

/*
 * Copy one packet into the ring. Not visible to the consumer until
 * rf_producer_publish(). Returns 0; -ENOBUFS if the ring is full (the packet
 * is dropped and counted as dropped_full); -EMSGSIZE if it can never fit
 * (dropped_toobig); -EPIPE if the consumer page holds a nonsense cursor
 * (dropped_cursor). Never blocks, never allocates.
 */
RF_EXPORT int rf_producer_enqueue(struct rf_producer *p, const struct rf_packet *pkt);

/*
 * rf_producer_enqueue() for n packets in order, with the queue's state kept
 * in registers across the burst: the fast way to fill a queue. A packet that
 * does not fit is dropped and counted exactly as rf_producer_enqueue() would,
 * and the next ones are still tried. Returns how many were enqueued, or
 * -EINVAL (NULL arguments, n > INT_MAX, or the queue is finished).
 */
RF_EXPORT int rf_producer_enqueue_burst(struct rf_producer *p, const struct rf_packet *pkts,
					unsigned int n);

/* Make everything enqueued visible and wake a sleeping consumer. Once per burst. */
RF_EXPORT void rf_producer_publish(struct rf_producer *p);

/*
 * Lossless mode: wait until a packet of caplen bytes fits, up to timeout_ms
 * (-1: forever). Returns 0 when it fits, -ETIMEDOUT, -EPIPE (nonsense
 * cursor) or -EINTR.
 */
RF_EXPORT int rf_producer_wait_space(struct rf_producer *p, uint32_t caplen, int timeout_ms);

/* Mark end of stream (publishes first). The consumer gets -ENODATA after draining. */
RF_EXPORT void rf_producer_finish(struct rf_producer *p);

/* Counters and attachment, as rf_queue_query(). */
RF_EXPORT int rf_producer_info(const struct rf_producer *p, struct rf_queue_info *ret_info,
			       size_t sz);

/*
 * Release the producer. The files stay so that a consumer can drain a
 * finished queue or wait for the next producer; rf_queue_remove() deletes
 * them. NULL is a no-op.
 */
RF_EXPORT void rf_producer_destroy(struct rf_producer *p);

/* Delete a queue's files (consumers that have it mapped keep their mapping). */
RF_EXPORT int rf_queue_remove(const char *name, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
