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
 * $RINGFAN_DIR, else in RF_DEFAULT_DIR. Both sides check the directory
 * before they use it (see RF_DIR_* and rf_queue_dir_check()).
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
/*
 * Most producer rings that may serve one queue (one per capture thread of
 * the balancer). A consumer sees one queue whatever their number: the
 * library merges the rings, keeping the order of each (doc/queue-abi.md).
 */
#define RF_MAX_RINGS 64

/* The queue directory when neither the options nor $RINGFAN_DIR name one. */
#define RF_DEFAULT_DIR "/dev/shm/ringfan"

/*
 * The queue directory `dir` (NULL: $RINGFAN_DIR, else RF_DEFAULT_DIR) as
 * both sides see it: the path used, its owner and mode, and whether the
 * caller may trust it. A directory is trusted when it is a real directory
 * (not a symbolic link) that nobody but its owner can write to, and, for
 * RF_DEFAULT_DIR (whose parent anyone may write to, so anyone may have made
 * it), when it is owned by root or by the caller. A directory the caller
 * names itself (dir or $RINGFAN_DIR) is trusted whoever owns it, provided
 * only its owner can write to it.
 */
struct rf_dir_info {
	char path[4096];
	uid_t owner;
	mode_t mode;
	unsigned char named; /* named by the caller (dir or $RINGFAN_DIR), not the default */
};

/* rf_queue_dir_check() flags */
#define RF_DIR_PRODUCER 0x01 /* a producer's check: owned by root or the caller, named or not */

/*
 * Fill *ret_info (if not NULL) and check the directory. Returns 0 if it
 * is trusted; -ENOENT if it does not exist; -ENOTDIR if it is not a
 * directory or a symbolic link; -EPERM if others than its owner may write
 * to it, or if it is the default directory (or flags has RF_DIR_PRODUCER)
 * and owned by another user than root or the caller; -EINVAL bad flags;
 * other negative errno from the system.
 */
RF_EXPORT int rf_queue_dir_check(const char *dir, unsigned int flags, struct rf_dir_info *ret_info);

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
/* Set by the consumer on the first packet of a generation it moved to (a
 * new run): the time to look at rf_consumer_info() (its link type). */
#define RF_PKT_NEW_GENERATION 0x0100

/*
 * A queue's link type (the DLT_* of libpcap, e.g. 1 Ethernet, 12 raw IP,
 * 113 Linux SLL) when its producer did not say: queues made by producers
 * older than the link-type field carry Ethernet frames.
 */
#define RF_LINKTYPE_DEFAULT 1

/* ------------------------------------------------------------------ */
/* Consumer API                                                        */
/* ------------------------------------------------------------------ */

struct rf_consumer;
struct rf_queue_info;

/* rf_consumer_opts.flags */
#define RF_CONSUMER_FROM_NEWEST 0x01 /* skip what is buffered; start at the newest packet */
/* Stay on the generation opened: after "producer gone" do not wait for the
 * producer to come back, and at the end of a run do not follow the next. */
#define RF_CONSUMER_NO_REATTACH 0x02
/* An empty queue puts the caller to sleep at once instead of polling for a few
 * microseconds first: for consumers that share CPUs with their producer. */
#define RF_CONSUMER_NO_SPIN 0x04
/* If the queue is finished when opened, skip what is left of that run and
 * wait for the next one. */
#define RF_CONSUMER_SKIP_FINISHED 0x08
/*
 * Survive another consumer of the same queue truncating the page file (or,
 * with the producer's `owner` option, the ring file) under this consumer:
 * installs the library's SIGBUS handler (see rf_producer_create()). Off by
 * default: without it such a truncation is a SIGBUS in this process only.
 */
#define RF_CONSUMER_GUARD_SIGBUS 0x10
/*
 * Read every page of the ring's data area once when attaching (also to a
 * new generation): the first access to a page through a mapping can cost
 * microseconds under a hypervisor with shadow page tables, paid here
 * instead of while the first lap of packets is read. Costs attach time
 * (about 7 ms per 16 MiB ring on the VM of doc/performance.md); for
 * consumers of a run that does not end.
 */
#define RF_CONSUMER_PREFAULT 0x20

struct rf_consumer_opts {
	size_t sz;	    /* sizeof(struct rf_consumer_opts): lets the struct grow */
	const char *dir;    /* NULL: $RINGFAN_DIR or RF_DEFAULT_DIR */
	unsigned int flags; /* RF_CONSUMER_* */
	/* How long rf_consumer_open() waits for the queue to appear (also for its
	 * directory to be created): 0 not at all, -1 forever, else milliseconds. */
	int wait_ms;
	/*
	 * Wake-up moderation. A consumer that finds its queue empty while
	 * packets were coming sleeps until wake_bytes of records are waiting
	 * (about 96 bytes per 64-byte packet), or wake_us microseconds at most,
	 * whichever comes first; the producer wakes it only then. An idle queue
	 * wakes its consumer at its first packet. So a packet waits at most
	 * wake_us in the queue before recv returns it, and a busy queue costs
	 * one wake-up per wake_bytes instead of one per burst of the producer.
	 * 0: the defaults (RF_CONSUMER_WAKE_BYTES, RF_CONSUMER_WAKE_US);
	 * wake_bytes 1: wake at every packet published (no moderation).
	 * wake_bytes is capped at a quarter of the ring.
	 */
	uint32_t wake_bytes;
	uint32_t wake_us;
};

#define RF_CONSUMER_WAKE_BYTES (256u << 10)
#define RF_CONSUMER_WAKE_US    1000u

/*
 * Attach to queue `name` ("99@0"). opts may be NULL (defaults). By default
 * the consumer resumes from the last cursor committed on this queue, so a
 * consumer restarted after a crash receives again the packets its
 * predecessor had received but not released. A finished queue (the end of
 * a run of a finite source) can be opened: its packets not yet read are
 * returned, then the end of the run (see rf_consumer_recv()).
 * Errors: -EINVAL bad name or options; -ENOENT no such queue (after
 * waiting opts->wait_ms); -EACCES the caller may not read the queue;
 * -EBUSY another consumer is attached (see rf_queue_query() for its pid);
 * -EPROTO the files are not a ringfan queue of this ABI version; -EPERM or
 * -ENOTDIR the directory or the queue's files are not trusted (see
 * rf_queue_dir_check(); the ring file must be owned by the directory's
 * owner, root or the caller, and writable by its owner only); other
 * negative errno from the system.
 * On success *ret_consumer owns the mappings; free with rf_consumer_close().
 */
RF_EXPORT int rf_consumer_open(const char *name, const struct rf_consumer_opts *opts,
			       struct rf_consumer **ret_consumer);

/*
 * Receive up to max packets into pkts[]. Waits up to timeout_ms (0: do not
 * wait, -1: forever) while the queue is empty, sleeping in the kernel.
 * The packets' data point into the read-only ring and stay valid until
 * rf_consumer_release(); calling recv again without releasing returns the
 * packets after those already returned. The packets of one call all come
 * from one generation (rf_consumer_info() tells which).
 *
 * Life cycle (doc/queue-abi.md has the whole table):
 * - The producer went away (stopped, killed, or restarting): -EPIPE once,
 *   after every packet it published was returned. Later calls wait for a
 *   producer of the same queue to come back: one that resumes the queue
 *   (its packets follow on) or one that starts a new generation (the
 *   consumer moves to it, from its committed cursor). The return is
 *   counted in rf_consumer_stats.producer_restarts. With
 *   RF_CONSUMER_NO_REATTACH, -EPIPE is returned again instead.
 * - The producer finished the queue (a finite source ended) and every
 *   packet of the run was returned: if a newer generation exists already,
 *   the consumer moves to it and goes on (counted in .generations);
 *   otherwise -ENODATA, the end of the run. Calling again waits for the
 *   next run (0 on timeout) and then returns its packets; with
 *   RF_CONSUMER_NO_REATTACH, -ENODATA is returned again instead.
 * Returns the number of packets (> 0); 0 on timeout; -ENODATA, -EPIPE as
 * above; -EINTR if a signal interrupted the wait; while waiting for a
 * producer, the errors of rf_consumer_open() if the queue's new generation
 * cannot be attached (e.g. -EBUSY: another consumer took it first, -EPERM:
 * it is not owned by the same user as the previous one; each call tries
 * again).
 */
RF_EXPORT int rf_consumer_recv(struct rf_consumer *c, struct rf_packet *pkts, unsigned int max,
			       int timeout_ms);

/*
 * Wait up to timeout_ms (0: do not wait, -1: forever) until
 * rf_consumer_recv() has something to return at once: packets, the end of
 * the run, "producer gone", or (after either) the producer back or the next
 * run. Takes no packet, so it can run in a helper thread that wakes an event
 * loop, with the handle handed over to it meanwhile (one thread at a time,
 * as every call). Returns 1 if there is something, 0 on timeout, -EINTR, or
 * the errors of rf_consumer_recv() while waiting for a producer.
 */
RF_EXPORT int rf_consumer_wait(struct rf_consumer *c, int timeout_ms);

/*
 * Give back every packet returned by rf_consumer_recv() so far: commits the
 * read cursor (the producer may reuse the space; a restarted consumer
 * resumes after these packets). Batch: call once per burst.
 * A consumer that hands packets on (writes them to a file, a socket, an
 * analysis engine) releases only after they are handed on for good (e.g.
 * its write buffer flushed): a packet released is never delivered again,
 * so a consumer killed between release and its own flush loses it.
 */
RF_EXPORT void rf_consumer_release(struct rf_consumer *c);

struct rf_consumer_stats {
	uint64_t received;	 /* packets returned by recv on this handle */
	uint64_t received_bytes; /* their caplen sum */
	uint64_t
		dropped; /* packets the producer dropped on this queue, over the generations read */
	uint64_t corrupt;	    /* times the ring was found inconsistent and skipped ahead */
	uint64_t producer_restarts; /* a producer came back (resumed or new generation) */
	uint64_t backlog_bytes;	    /* bytes waiting in the ring */
	uint64_t generations;	    /* new generations moved to */
	uint64_t skipped;	    /* packets of a finished run skipped (SKIP_FINISHED) */
};

/* Fill *ret_stats (sz = sizeof(*ret_stats)). Returns 0 or -EINVAL. */
RF_EXPORT int rf_consumer_stats(const struct rf_consumer *c, struct rf_consumer_stats *ret_stats,
				size_t sz);

/*
 * The generation the consumer reads now: its link type, when it started and
 * finished, producer, backlog (as rf_queue_query()). Returns 0 or -EINVAL.
 */
RF_EXPORT int rf_consumer_info(const struct rf_consumer *c, struct rf_queue_info *ret_info,
			       size_t sz);

/* Longest shunt a consumer may ask for (a day); 0 asks for the flow's life. */
#define RF_SHUNT_MAX_SECONDS 86400u

/*
 * Ask the balancer to stop sending a flow to this queue: hash is the
 * rf_packet.hash of a packet of it that this consumer received; for seconds
 * seconds (1 to RF_SHUNT_MAX_SECONDS), or 0: as long as the balancer keeps
 * the flow in its flow table. The request goes through this consumer's own
 * page: the balancer reads it every 20 ms and honours it only for a
 * flow its flow table places on this very queue (so a consumer can never
 * affect another queue); later packets of the flow are counted as shunted
 * there, never as drops. Without a flow table (balance --flow-table) the
 * request is refused and counted. The page holds 256 requests not yet read:
 * more than that within 20 ms, and the oldest are lost (counted as refused).
 * Not thread-safe (like rf_consumer_release). Returns 0, -EINVAL (seconds
 * too large, or c NULL) or -EPIPE (not attached to a queue page).
 *
 * For an IDS: Zeek's NetControl or Suricata's bypass hook hand the flow's
 * last packet hash to a small plugin that calls this (see README).
 */
RF_EXPORT int rf_consumer_shunt(struct rf_consumer *c, uint32_t hash, uint32_t seconds);

/* Detach and unmap; the committed cursor stays for the next consumer. NULL is a no-op. */
RF_EXPORT void rf_consumer_close(struct rf_consumer *c);

/* ------------------------------------------------------------------ */
/* Queue inspection (no attach)                                        */
/* ------------------------------------------------------------------ */

struct rf_queue_info {
	uint64_t generation; /* changes when a producer starts a new run of the queue */
	uint64_t ring_size;  /* bytes of packet data */
	uint64_t enqueued;   /* packets the producers of this generation wrote */
	uint64_t enqueued_bytes;
	uint64_t dropped_full;	 /* packets dropped because the ring was full */
	uint64_t dropped_cursor; /* packets dropped because a consumer damaged the queue (nonsense
				    cursor, truncated file) */
	uint64_t dropped_toobig; /* packets larger than a ring slot can hold */
	uint64_t consumer_read;	 /* packets the consumer says it released (untrusted) */
	uint64_t backlog_bytes;	 /* head - committed cursor, when the cursor is sane */
	int32_t producer_pid;	 /* 0 if no live producer */
	int32_t consumer_pid;	 /* 0 if no live consumer */
	uint8_t finished;	 /* producer marked end of stream */
	/* Since the link-type field (fields above are in every version). */
	int32_t linktype;	  /* DLT_* of the packets (RF_LINKTYPE_DEFAULT if not given) */
	uint64_t started_ns;	  /* when this generation was created (CLOCK_REALTIME ns) */
	uint64_t finished_ns;	  /* when it was finished, 0 if not */
	uint32_t producer_starts; /* producers that served it: 1 + times it was resumed */
	uint64_t backlog_packets; /* enqueued - consumer_read, when that makes sense */
	uid_t owner;		  /* owner of the ring file */
	/* Since several producer rings (fields above are in every version). */
	uint32_t
		rings; /* producer rings serving the queue (1: one); counters above are their sum */
};

/*
 * Read queue `name`'s counters and who is attached, without attaching.
 * Liveness comes from kernel-held locks, not from values a consumer wrote.
 * A queue served by several producer rings: the counters are their sums.
 * opts may be NULL; only opts->dir is used. Errors as rf_consumer_open().
 */
RF_EXPORT int rf_queue_query(const char *name, const struct rf_consumer_opts *opts,
			     struct rf_queue_info *ret_info, size_t sz);

/* ------------------------------------------------------------------ */
/* Producer API (used by the balancer; one producer per queue)         */
/* ------------------------------------------------------------------ */

struct rf_producer;

/*
 * The permission bits a queue's mode may have: anything for its owner, read
 * for group and others (the producer alone writes a ring; a consumer's page
 * gets a write bit wherever the ring has a read bit).
 */
#define RF_QUEUE_MODE_ALLOWED 0744

/* rf_producer_opts.flags */
#define RF_PRODUCER_LINKTYPE	   0x01 /* opts.linktype is set (else RF_LINKTYPE_DEFAULT) */
#define RF_PRODUCER_NEW_GENERATION 0x02 /* never resume: always start a new generation */
/*
 * Write every page of a new generation's ring once at creation, before it is
 * attachable: for a long run, whose first lap of the ring should cost no more
 * than the next. Under a hypervisor with shadow page tables the first access
 * to each page through a mapping costs an exit (µs) even after the kernel
 * populated it; this moves that cost from the packets to start-up.
 */
#define RF_PRODUCER_PREFAULT 0x04

struct rf_producer_opts {
	size_t sz;	    /* sizeof(struct rf_producer_opts) */
	const char *dir;    /* NULL: $RINGFAN_DIR or RF_DEFAULT_DIR (created 0755 if missing) */
	uint64_t ring_size; /* bytes of packet data, power of two; 0: 64 MiB */
	uid_t owner;	    /* owner of the queue files; (uid_t)-1: the caller */
	gid_t group;	    /* group of the queue files; (gid_t)-1: the caller's */
	/* Who may consume: e.g. 0640 (group may consume); 0: 0600. Read bits only
	 * beyond the owner's: nobody but the producer writes a ring. */
	mode_t mode;
	unsigned int flags; /* RF_PRODUCER_* */
	int linktype;	    /* DLT_* of the packets, with RF_PRODUCER_LINKTYPE */
	/*
	 * Several producers for one queue (one per capture thread): `rings`
	 * rings (0 or 1: one, the queue as ever; at most RF_MAX_RINGS), each
	 * created with its own rf_producer_create() and ring_index (0 to
	 * rings - 1), each single-producer. Create ring 0 last: consumers learn
	 * the number of rings from it. Consumers see one queue.
	 */
	unsigned int rings;
	unsigned int ring_index;
};

/* rf_producer_start_info.how */
enum rf_producer_start {
	RF_START_CREATED = 1,  /* no queue of that name: generation 1 of it */
	RF_START_RESUMED,      /* the previous producer's unfinished generation goes on */
	RF_START_NEW_FINISHED, /* the previous run was finished: a new generation */
	RF_START_NEW_CHANGED,  /* ring size, link type or ABI differ: a new generation */
	RF_START_NEW_DAMAGED,  /* the files were damaged or not ours: a new generation */
	RF_START_NEW_LOCKED,   /* another process holds a lock on the ring: a new generation */
	RF_START_NEW_ASKED,    /* RF_PRODUCER_NEW_GENERATION */
};

/*
 * Create queue `name`, or take it over from a producer that is gone.
 * A queue whose last generation is unfinished and has the same ring size and
 * link type is resumed: its packets stay, its consumer keeps its place and
 * its counters go on. Otherwise a new generation replaces it: consumers
 * still attached to the old one read what is left of it, then move on.
 * Either way consumers see a queue only once it is complete.
 * Errors: -EINVAL bad name/options; -EBUSY a live producer owns the queue;
 * -EPERM/-ENOTDIR the directory is not trusted (rf_queue_dir_check()) or not
 * owned by root or the caller; -EACCES/-ENOSPC/... from the file system;
 * -ENOMEM. A failed create leaves no file behind.
 * The consumer may truncate its page file (and, with the `owner` option,
 * the ring file): so that this cannot kill the producer, the first create
 * (and any create after the program replaced it) installs a SIGBUS handler
 * that turns a fault in a queue's mapping into a damaged queue (its packets
 * are dropped as dropped_cursor) and chains every other SIGBUS to the
 * previous handler.
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

/*
 * Lossless bursts: rf_producer_enqueue_burst() that stops before the first
 * packet for which the ring has no room (that one is neither dropped nor
 * counted). Returns how many packets it took, in order: enqueued, or dropped
 * and counted because they can never fit or the queue is broken; n when all
 * were. A lossless producer then waits with rf_producer_wait_space() for
 * pkts[ret] and goes on from there. -EINVAL as rf_producer_enqueue_burst().
 */
RF_EXPORT int rf_producer_enqueue_fit(struct rf_producer *p, const struct rf_packet *pkts,
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

/* How rf_producer_create() started the queue: an enum rf_producer_start. */
RF_EXPORT int rf_producer_start_how(const struct rf_producer *p);

/* A name for an enum rf_producer_start ("resumed", "new generation: ..."). */
RF_EXPORT const char *rf_producer_start_name(int how);

/*
 * Release the producer. The files stay so that a consumer can drain a
 * finished queue or wait for the next producer; rf_queue_remove() deletes
 * them. NULL is a no-op.
 */
RF_EXPORT void rf_producer_destroy(struct rf_producer *p);

/* One shunt request read from a queue's consumer page (rf_consumer_shunt). */
struct rf_shunt_request {
	uint32_t hash;
	uint32_t seconds; /* 0: the flow's life; at most RF_SHUNT_MAX_SECONDS */
};

/*
 * The shunt requests the queue's consumer wrote since the last call (or since
 * the producer took the queue over), at most max. Values are as the consumer
 * wrote them, seconds clamped: the caller checks each against its own state.
 * Requests overwritten before they were read are lost (*ret_lost, may be
 * NULL). Returns the number of requests in ret.
 */
RF_EXPORT int rf_producer_shunt_requests(struct rf_producer *p, struct rf_shunt_request *ret,
					 unsigned int max, uint64_t *ret_lost);

/*
 * Delete a queue's files (consumers that have it mapped keep their mapping).
 * Returns 0, -ENOENT (no such queue) or another negative errno.
 */
RF_EXPORT int rf_queue_remove(const char *name, const char *dir);

/*
 * rf_queue_remove(), but only if neither a producer nor a consumer is
 * attached: -EBUSY otherwise (nothing removed).
 */
RF_EXPORT int rf_queue_remove_idle(const char *name, const char *dir);

/*
 * Delete the files of a queue's producer rings `from` to RF_MAX_RINGS - 1
 * (left by a run with more rings than the one starting now; `from` >= 1).
 * Consumers that have them mapped keep their mapping. Returns how many rings
 * were removed, or a negative errno.
 */
RF_EXPORT int rf_queue_remove_rings(const char *name, const char *dir, unsigned int from);

#ifdef __cplusplus
}
#endif
#endif
