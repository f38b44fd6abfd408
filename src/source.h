/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packet sources of the balancer. A source hands out bursts of packets that
 * stay valid until release; the balancer polls every source in turn, so
 * several sources (the two directions of a tap, or interfaces and files)
 * merge into one stream. A new kind only implements the ops.
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
	 * interface: captured again when it comes back), an AF_XDP capture
	 * "detached" (someone detached its XDP program); a file "finished".
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
	char name[256]; /* as given: "afpacket:eth1", "afxdp:eth1@0", "pcap:trace.pcap" */
	int linktype;	/* DLT_* of every packet of this source */
	bool lossless;	/* the balancer waits for full queues instead of dropping */
	bool finished;	/* next_burst returned -ENODATA */
};

struct rf_source_opts {
	uint64_t capture_ring_size; /* afpacket: kernel ring bytes; afxdp: frame memory */
	bool capture_outgoing;	    /* afpacket: also packets the host sends on the interface */
	bool disable_offloads;	    /* interfaces: turn GRO/LRO (...) off (else warn when on) */
	int xdp_mode;		    /* afxdp: enum rf_xdp_mode of afxdp.h */
	double rate_pps;	    /* pcap: packets per second, 0: unpaced */
	double speed;		    /* pcap: multiple of the recorded pace, 0: unpaced */
	uint64_t loops;		    /* pcap: times to play the file, 0: forever */
	bool live_replay;	    /* pcap: drop on full queues instead of waiting */
	/*
	 * afpacket: the fanout group to join (afpacket.h: 0 none, RF_AFP_FANOUT_NEW
	 * a new one, else 1 + its id; rf_source_fanout() tells which); the capture
	 * receives nothing until rf_source_fanout_start().
	 */
	uint32_t fanout;
};

#define RF_SOURCE_PCAP		"pcap:"
#define RF_SOURCE_AFPACKET	"afpacket:"
#define RF_SOURCE_AFXDP		"afxdp:"
#define RF_SOURCE_MAX_XDP_QUEUE 65535

/* The file of a "pcap:FILE" source spec; NULL for an interface. */
static inline const char *rf_source_file(const char *spec)
{
	return strncmp(spec, RF_SOURCE_PCAP, strlen(RF_SOURCE_PCAP))
		       ? NULL
		       : spec + strlen(RF_SOURCE_PCAP);
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
 * The interface an interface source spec captures ("eth1" for "eth1",
 * "afpacket:eth1" and "afxdp:eth1@2"), into buf; NULL for a file or a
 * malformed afxdp spec.
 */
const char *rf_source_iface(const char *spec, char *buf, size_t len);

/*
 * The part of an afxdp spec after "afxdp:": "IFACE", "IFACE@QUEUE" or
 * "IFACE@all" (the default: every receive queue). ret_ifname (IF_NAMESIZE
 * bytes) and ret_queue (a queue or RF_XDP_ALL_QUEUES) may be NULL. -EINVAL
 * when malformed.
 */
int rf_source_parse_afxdp(const char *arg, char *ret_ifname, int *ret_queue);

/*
 * Open a source from its spec ("IFACE", "afpacket:IFACE", "afxdp:IFACE[@Q]",
 * "pcap:FILE").
 * Prints a message naming the source on failure and returns a negative
 * errno (-ENODEV, -ENETDOWN, -ENOENT, -EINVAL for a non-capture file, ...).
 */
int rf_source_open(const char *spec, const struct rf_source_opts *opts,
		   struct rf_source **ret_source);

/*
 * An afpacket source opened with opts->fanout: start receiving, once every
 * member of its group is open. Later captures of the interface (after it
 * was gone) start at once. 0, or a negative errno (message printed).
 */
int rf_source_fanout_start(struct rf_source *s);

/* The fanout group of an afpacket source (1 + its id), 0: none. */
uint32_t rf_source_fanout(const struct rf_source *s);

int rf_source_pcap_open(const char *path, const struct rf_source_opts *opts,
			struct rf_source **ret_source);
int rf_source_afpacket_open(const char *ifname, const struct rf_source_opts *opts,
			    struct rf_source **ret_source);
/* spec: the whole "afxdp:..." spec. */
int rf_source_afxdp_open(const char *spec, const struct rf_source_opts *opts,
			 struct rf_source **ret_source);

/* NULL is a no-op. */
void rf_source_close(struct rf_source *s);

#endif
