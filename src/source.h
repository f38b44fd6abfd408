/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packet sources of the balancer. A source hands out bursts of packets that
 * stay valid until release; the balancer polls every source in turn, so
 * several sources (the two directions of a tap, or interfaces and files)
 * merge into one stream. A new kind (AF_XDP) only implements the ops.
 */
#ifndef RINGFAN_SOURCE_H
#define RINGFAN_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ringfan/ringfan.h>

struct rf_source;

/* Cumulative counters of one source; never reset. */
struct rf_source_counters {
	uint64_t received;     /* packets handed to the balancer */
	uint64_t bytes;	       /* their captured bytes */
	uint64_t kernel_drops; /* packets the kernel dropped (ring full); 0 for files */
	/*
	 * "running"; an interface "down" (it exists, not up) or "gone" (no such
	 * interface: captured again when it comes back); a file "finished".
	 */
	const char *state;
};

struct rf_source_ops {
	/*
	 * Up to max packets (valid until release). Returns the count, 0 when
	 * nothing is ready now, -ENODATA at the end of a finite source, or
	 * another negative errno on a failure (message printed).
	 */
	int (*next_burst)(struct rf_source *s, struct rf_packet *pkts, unsigned int max);
	void (*release)(struct rf_source *s);
	/* Pollable fd (POLLIN when packets are ready), or -1 if none. */
	int (*fd)(const struct rf_source *s);
	/* Milliseconds until the next packet is due (paced files); 0: ready; -1: use the fd. */
	int (*wait_ms)(const struct rf_source *s);
	/* poll() said POLLERR on fd: returns the error (and clears it), e.g. -ENETDOWN. */
	int (*poll_error)(struct rf_source *s);
	void (*counters)(struct rf_source *s, struct rf_source_counters *ret);
	void (*close)(struct rf_source *s);
};

struct rf_source {
	const struct rf_source_ops *ops;
	char name[256]; /* as given: "afpacket:eth1", "pcap:trace.pcap" */
	int linktype;	/* DLT_* of every packet of this source */
	bool lossless;	/* the balancer waits for full queues instead of dropping */
	bool finished;	/* next_burst returned -ENODATA */
};

struct rf_source_opts {
	uint64_t capture_ring_size; /* afpacket: kernel ring bytes */
	bool capture_outgoing;	    /* afpacket: also packets the host sends on the interface */
	bool disable_offloads;	    /* afpacket: turn GRO/LRO off (else warn when on) */
	double rate_pps;	    /* pcap: packets per second, 0: unpaced */
	double speed;		    /* pcap: multiple of the recorded pace, 0: unpaced */
	uint64_t loops;		    /* pcap: times to play the file, 0: forever */
	bool live_replay;	    /* pcap: drop on full queues instead of waiting */
};

/* The file of a "pcap:FILE" source spec; NULL for an interface. */
static inline const char *rf_source_file(const char *spec)
{
	return strncmp(spec, "pcap:", 5) ? NULL : spec + 5;
}

/* Room for rf_source_iface_hint()'s text. */
#define RF_SOURCE_HINT_MAX 4200

/*
 * For "no such interface NAME": what NAME may have meant instead, as text
 * to append (" (to read a capture file, write -i pcap:NAME)"), or "" when
 * NAME looks like no file. Returns buf.
 */
const char *rf_source_iface_hint(const char *name, char *buf, size_t len);

/*
 * Open a source from its spec ("IFACE", "afpacket:IFACE", "pcap:FILE").
 * Prints a message naming the source on failure and returns a negative
 * errno (-ENODEV, -ENETDOWN, -ENOENT, -EINVAL for a non-capture file, ...).
 */
int rf_source_open(const char *spec, const struct rf_source_opts *opts,
		   struct rf_source **ret_source);

int rf_source_pcap_open(const char *path, const struct rf_source_opts *opts,
			struct rf_source **ret_source);
int rf_source_afpacket_open(const char *ifname, const struct rf_source_opts *opts,
			    struct rf_source **ret_source);

/* NULL is a no-op. */
void rf_source_close(struct rf_source *s);

#endif
