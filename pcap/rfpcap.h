/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libringfan-pcap: a libpcap interposer (LD_PRELOAD) that serves device
 * names "ringfan:CLUSTER@QUEUE" from a ringfan queue, read in place, and
 * hands every other name and call to the real libpcap. A name of several
 * queues, "ringfan:C@Q,C@R", merges them in one handle.
 *
 * A pcap_t is opaque to programs, so a ringfan handle is our own object:
 * the address of a slot in a static table, which tells ours from the real
 * libpcap's by its address alone. Every exported libpcap function that takes
 * a pcap_t * is defined here (the test interpose_coverage.sh compares them
 * with the real library's) and forwards handles that are not ours.
 */
#ifndef RINGFAN_PCAP_RFPCAP_H
#define RINGFAN_PCAP_RFPCAP_H

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ringfan/ringfan.h>

#include "rfpcap-env.h"

/* The device prefix that selects a queue: "ringfan:99@0". */
#define RFP_PREFIX "ringfan:"
/* Open ringfan handles at once, in a process. */
#define RFP_MAX_HANDLES 64
/* Queues one handle merges at most ("ringfan:99@0,99@1,..."). */
#define RFP_MAX_MERGE 16
/*
 * A handle merging queues reads at most this many packets of one queue in
 * a row before it looks at the next, and, all of them empty, sleeps on one
 * at a time this long before it looks at the others.
 */
#define RFP_MERGE_BURST	   64
#define RFP_MERGE_SLICE_MS 5
/* The longest queue list, "C@Q,C@R,...": RFP_MAX_MERGE names of 10 characters. */
#define RFP_DEVICE_MAX (RFP_MAX_MERGE * 12)
/* Longest a blocking call sleeps before it looks at pcap_breakloop() again. */
#define RFP_SLICE_MS 100
/*
 * Wake-up moderation of a handle not in immediate mode (see activate()):
 * while packets come, the program is woken once this many bytes of records
 * wait (libpcap on an interface hands a block of about 1 MiB), or once the
 * packet buffer timeout (pcap_set_timeout()) passed, at most RFP_WAKE_US_MAX.
 */
#define RFP_WAKE_BYTES	(1u << 20)
#define RFP_WAKE_US_MAX 1000000u
/* pcap_dispatch() with cnt <= 0 hands at most this many packets per call. */
#define RFP_DISPATCH_MAX 1024
/* snaplen 0 or out of range: the largest, as libpcap. */
#define RFP_SNAPLEN_MAX 262144

/* One queue of a handle. */
struct rfp_queue {
	char name[24]; /* "99@0" */
	struct rf_consumer *c;
	bool gone_said; /* "producer gone" was said */
	bool ended;	/* its run ended (the handle's ends when all have) */
};

struct rfp {
	/* Set-up (pcap_create .. pcap_activate) */
	char qname[RFP_DEVICE_MAX]; /* "99@0", or "99@0,99@1" merged */
	int snaplen, timeout_ms, precision, tstamp_type;
	bool activated, nonblock, immediate;
	/* The queues; c is q[cur].c, the one read now. */
	struct rfp_queue q[RFP_MAX_MERGE];
	unsigned int nq, cur, burst;
	struct rf_consumer *c;
	int linktype;
	bool eof_pending; /* the end of a run, to tell at the next call */
	bool broken;	  /* a new run this handle cannot read, or an error: every call fails */
	pcap_t *dead;	  /* a real handle of our link type: pcap_compile, pcap_dump_open */
	/* The packet pcap_next_ex() handed: valid until the next call. */
	bool holding;
	struct pcap_pkthdr hdr;
	/* The filter (pcap_setfilter), run in user space. */
	struct bpf_program prog;
	bool have_prog;
	uint64_t ps_recv; /* packets read from the queue (before the filter) */
	atomic_bool brk;  /* pcap_breakloop() */
	/* pcap_get_selectable_fd(): an eventfd a helper thread makes readable. */
	int efd;
	bool helper_started, helper_owns, helper_quit, want_back;
	pthread_t helper;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char errbuf[PCAP_ERRBUF_SIZE];
};

/* handle.c */
struct rfp *rfp_of(pcap_t *p);
void *rfp_real(void *_Atomic *cache, const char *name);
/* The real libpcap's fn, looked up once. */
#define REAL(fn)                                             \
	({                                                   \
		static void *_Atomic rfp_cache_;             \
		(__typeof__(&fn))rfp_real(&rfp_cache_, #fn); \
	})
__attribute__((format(printf, 2, 3))) void rfp_err(struct rfp *h, const char *fmt, ...);
/* A life-cycle line about queue qname, if RFP_ENV_VERBOSE asks for them. */
__attribute__((format(printf, 2, 3))) void rfp_say(const char *qname, const char *fmt, ...);
bool rfp_is_queue_name(const char *device);
int rfp_parse_queues(const char *device, const char *list, struct rfp_queue *q, unsigned int *nq,
		     char *canon, size_t canon_len, char *errbuf);

/* read.c */
void rfp_release(struct rfp *h);
int rfp_reclaim(struct rfp *h, bool wait);
void rfp_helper_stop(struct rfp *h);

#endif
