/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The packet path of ringfan handles. Packets are read in place, one per
 * receive, and committed (released) when the program asks for the next one:
 * after the callback returns in pcap_dispatch()/pcap_loop(), at the next
 * call after pcap_next_ex(). A program killed at any moment thus resumes at
 * the first packet it had not been handed (or at the one it was handling).
 *
 * A handle of several queues (ringfan:C@Q,C@R) reads them in turn: each
 * queue's packets in its order, the queues interleaved as they come (at
 * most RFP_MERGE_BURST of one in a row). Each queue's cursor is committed
 * as above, so a restarted program resumes each where it was. The handle
 * ends (end of file) when every queue's run has ended.
 *
 * pcap_get_selectable_fd() gives an eventfd. When the program finds the
 * queue empty, a helper thread takes the consumer handle over and sleeps in
 * rf_consumer_wait(); when the queue has news it hands the handle back and
 * makes the eventfd readable. The handle is used by one thread at a time:
 * a non-blocking call while the helper holds it finds nothing to read (the
 * helper would have said), a blocking call takes it back.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "rfpcap.h"

/* fetch() results besides 1 (a packet) and 0 (none in time). */
#define RFP_EOF	  (-100) /* the end of a run: end of file */
#define RFP_BREAK (-101) /* pcap_breakloop() */
#define FOREVER	  UINT64_MAX
/* How long fetch() waits for a packet: not at all, for ever, or ms >= 1. */
#define RFP_WAIT_NONE	 0
#define RFP_WAIT_FOREVER (-1)

/* A wait of a call: its ms, and its deadline once the clock was read. */
struct wait {
	int ms;		   /* RFP_WAIT_NONE, RFP_WAIT_FOREVER or ms */
	uint64_t deadline; /* ms of mono_ms(); 0: not read yet */
};
/* fetch_slow(): no receive was tried yet (not a result rf_consumer_recv() gives). */
#define RFP_NOT_TRIED INT_MIN

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* The selectable fd and its helper thread                             */
/* ------------------------------------------------------------------ */

static void efd_signal(struct rfp *h)
{
	uint64_t one = 1;

	if (h->efd >= 0 && write(h->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so it is readable already. */
	}
}

static void efd_drain(struct rfp *h)
{
	uint64_t v;

	if (read(h->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: it was not readable. */
	}
}

static int wait_any(struct rfp *h, int ms);

static void *helper_main(void *arg)
{
	struct rfp *h = arg;
	int r;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->helper_owns && !h->helper_quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->helper_quit)
			break;
		pthread_mutex_unlock(&h->mu);
		r = wait_any(h, RFP_SLICE_MS);
		pthread_mutex_lock(&h->mu);
		if ((r == 0 || r == -EINTR) && !h->want_back && !h->helper_quit)
			continue;
		/* News (or an error the next receive tells), or the program wants
		 * the handle: it reads, so the fd is readable (see arm()). */
		h->helper_owns = false;
		efd_signal(h);
		pthread_cond_broadcast(&h->cv);
	}
	h->helper_owns = false;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int helper_start(struct rfp *h)
{
	sigset_t all, old;
	int r;

	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0)
		return -errno;
	/* Signals stay with the program's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&h->helper, NULL, helper_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		close(h->efd);
		h->efd = -1;
		return -r;
	}
	h->helper_started = true;
	/* Readable at first: the program's first read finds out and arms the helper. */
	efd_signal(h);
	return 0;
}

void rfp_helper_stop(struct rfp *h)
{
	if (!h->helper_started)
		return;
	pthread_mutex_lock(&h->mu);
	h->helper_quit = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->helper, NULL);
	h->helper_started = false;
}

/*
 * The queue was found empty: the helper watches it until it has news. The
 * fd is readable whenever the program holds the handle, unreadable only
 * while the helper watches an empty queue: a program that stops reading
 * before the queue is empty (a count reached) is called again.
 */
static void arm(struct rfp *h)
{
	if (!h->helper_started)
		return;
	efd_drain(h);
	pthread_mutex_lock(&h->mu);
	h->helper_owns = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* 0 when this thread may use the consumer; -EAGAIN if the helper has it and !wait. */
int rfp_reclaim(struct rfp *h, bool wait)
{
	int r;

	if (!h->helper_started)
		return 0;
	pthread_mutex_lock(&h->mu);
	if (h->helper_owns && wait) {
		h->want_back = true; /* it gives it back within RFP_SLICE_MS */
		while (h->helper_owns)
			pthread_cond_wait(&h->cv, &h->mu);
		h->want_back = false;
	}
	r = h->helper_owns ? -EAGAIN : 0;
	pthread_mutex_unlock(&h->mu);
	return r;
}

static int selectable_fd(struct rfp *h)
{
	int r;

	if (!h->activated)
		return PCAP_ERROR;
	if (h->helper_started)
		return h->efd;
	r = helper_start(h);
	if (r < 0) {
		rfp_err(h, "ringfan:%s: cannot make a selectable descriptor: %s", h->qname,
			strerror(-r));
		return PCAP_ERROR;
	}
	return h->efd;
}

int pcap_get_selectable_fd(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? selectable_fd(h) : REAL(pcap_get_selectable_fd)(p);
}

int pcap_fileno(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? selectable_fd(h) : REAL(pcap_fileno)(p);
}

/* The eventfd says everything: no extra timeout is needed. */
const struct timeval *pcap_get_required_select_timeout(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? NULL : REAL(pcap_get_required_select_timeout)(p);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

/* Commit everything handed so far, of every queue (the caller has the consumers). */
void rfp_release(struct rfp *h)
{
	unsigned int i;

	for (i = 0; i < h->nq; i++)
		if (h->q[i].c)
			rf_consumer_release(h->q[i].c);
	h->holding = false;
}

/* Read queue i from now on. */
static void switch_to(struct rfp *h, unsigned int i)
{
	h->cur = i;
	h->c = h->q[i].c;
	h->burst = 0;
}

static void next_queue(struct rfp *h)
{
	switch_to(h, h->cur + 1 < h->nq ? h->cur + 1 : 0);
}

/* The first packet of a new run: told, and refused if of another link type. */
static int new_run(struct rfp *h)
{
	struct rfp_queue *q = &h->q[h->cur];
	struct rf_queue_info qi;

	rf_consumer_info(h->c, &qi, sizeof(qi));
	rfp_say(q->name, "a new run (generation %llu)", (unsigned long long)qi.generation);
	if (qi.linktype == h->linktype)
		return 1;
	rfp_err(h,
		"ringfan:%s: the new run carries %s packets, this handle reads %s: open it again",
		q->name, pcap_datalink_val_to_name(qi.linktype) ?: "unknown",
		pcap_datalink_val_to_name(h->linktype) ?: "unknown");
	h->broken = true;
	return PCAP_ERROR;
}

/*
 * What a receive of the queue read now that gave no packet means: 0 go on,
 * or RFP_EOF (every queue's run ended) / PCAP_ERROR.
 */
static int life_cycle(struct rfp *h, int n)
{
	struct rfp_queue *q = &h->q[h->cur];
	unsigned int i;

	switch (n) {
	case 0:
	case -EINTR:
		return 0;
	case -EPIPE:
		rfp_say(q->name, "producer gone; waiting for it to come back");
		q->gone_said = true;
		return 0;
	case -ENODATA:
		rfp_say(q->name, "end of the run");
		q->ended = true;
		for (i = 0; i < h->nq; i++)
			if (!h->q[i].ended)
				return 0; /* the others go on */
		/* All ended: end of file. The next call waits for the next runs. */
		for (i = 0; i < h->nq; i++)
			h->q[i].ended = false;
		return RFP_EOF;
	}
	if (n == -EPERM)
		rfp_err(h,
			"ringfan:%s: its new run was made by another user than the previous "
			"one (or its directory changed owner): not trusted",
			q->name);
	else
		rfp_err(h, "ringfan:%s: cannot read the queue: %s", q->name, strerror(-n));
	h->broken = true;
	return PCAP_ERROR;
}

/* The deadline of a wait: 0 (none), FOREVER or ms of mono_ms(), read once per call. */
static uint64_t deadline_of(struct wait *w)
{
	if (w->ms == RFP_WAIT_NONE)
		return 0;
	if (w->ms == RFP_WAIT_FOREVER)
		return FOREVER;
	if (!w->deadline)
		w->deadline = mono_ms() + (uint64_t)w->ms;
	return w->deadline;
}

static int slice_ms(uint64_t deadline)
{
	uint64_t now;

	if (deadline == 0)
		return 0;
	if (deadline == FOREVER)
		return RFP_SLICE_MS;
	now = mono_ms();
	if (now >= deadline)
		return 0;
	return deadline - now < RFP_SLICE_MS ? (int)(deadline - now) : RFP_SLICE_MS;
}

/* A packet received: 1, or what the first packet of a new run says. */
static int got(struct rfp *h, const struct rf_packet *pkt)
{
	struct rfp_queue *q = &h->q[h->cur];

	if (q->gone_said) {
		rfp_say(q->name, "producer is back");
		q->gone_said = false;
	}
	q->ended = false;
	h->ps_recv++;
	return pkt->flags & RF_PKT_NEW_GENERATION ? new_run(h) : 1;
}

/*
 * Receive from the queue read now, and if it has nothing to say (n: what
 * it said already, or RFP_NOT_TRIED), from the next ones in turn: the
 * first that has a packet or news, which is then the queue read now.
 */
static int recv_any(struct rfp *h, struct rf_packet *pkt, int n)
{
	unsigned int i;

	for (i = 0; i < h->nq; i++) {
		if (n == RFP_NOT_TRIED)
			n = rf_consumer_recv(h->c, pkt, 1, 0);
		if (n != 0 || h->nq == 1)
			return n;
		next_queue(h);
		n = RFP_NOT_TRIED;
	}
	return 0;
}

/*
 * Every queue was found empty: wait up to ms for news. One queue: on it. A
 * merged handle looks at every queue, then sleeps on one at a time (in
 * turn) for RFP_MERGE_SLICE_MS at most. 1 if the queue read now has news,
 * else 0 or -errno (the caller receives, which says what).
 */
static int wait_any(struct rfp *h, int ms)
{
	unsigned int i;
	int r;

	if (h->nq == 1)
		return rf_consumer_wait(h->c, ms);
	for (i = 0; i < h->nq; i++) {
		r = rf_consumer_wait(h->q[i].c, 0);
		if (r != 0) {
			switch_to(h, i);
			return r;
		}
	}
	next_queue(h);
	return rf_consumer_wait(h->c, ms < RFP_MERGE_SLICE_MS ? ms : RFP_MERGE_SLICE_MS);
}

/*
 * fetch() when the queue gave no packet at once (n: what the receive said,
 * or RFP_NOT_TRIED): the other queues of a merged handle, then wait as w
 * says (the clock is read only now, not per packet), in slices so that
 * pcap_breakloop() is seen. While packets come, the library's wake-up
 * moderation (wake_bytes, wake_us: see activate()) lets a batch gather
 * before it wakes us.
 */
static int fetch_slow(struct rfp *h, struct wait *w, struct rf_packet *pkt, int n)
{
	uint64_t deadline = deadline_of(w);

	if (h->broken)
		return PCAP_ERROR;
	if (h->eof_pending) {
		h->eof_pending = false;
		return RFP_EOF;
	}
	for (;;) {
		if (n == RFP_NOT_TRIED &&
		    atomic_exchange_explicit(&h->brk, false, memory_order_relaxed))
			return RFP_BREAK;
		n = recv_any(h, pkt, n);
		if (n == 0 && deadline != 0) {
			wait_any(h, slice_ms(deadline));
			n = recv_any(h, pkt, RFP_NOT_TRIED);
		}
		if (n > 0)
			return got(h, pkt);
		n = life_cycle(h, n);
		if (n != 0)
			return n;
		if (deadline != FOREVER && (deadline == 0 || mono_ms() >= deadline)) {
			arm(h);
			return 0;
		}
		n = RFP_NOT_TRIED;
	}
}

/*
 * Take one packet (not released), waiting as fetch_slow() says if there is
 * none. 1, 0 (none in time), RFP_EOF, RFP_BREAK or PCAP_ERROR. The caller
 * has the consumers (rfp_reclaim()). A packet waiting in the queue costs no
 * system call, no clock read and no lock. A merged handle reads its queues
 * in turn, RFP_MERGE_BURST packets at most of each.
 */
static inline int fetch(struct rfp *h, struct wait *w, struct rf_packet *pkt)
{
	const struct rfp_queue *q;
	int n;

	if (__builtin_expect(h->broken || h->eof_pending ||
				     atomic_load_explicit(&h->brk, memory_order_relaxed),
			     0))
		return fetch_slow(h, w, pkt, RFP_NOT_TRIED);
	if (__builtin_expect(h->nq > 1 && ++h->burst > RFP_MERGE_BURST, 0))
		next_queue(h);
	n = rf_consumer_recv(h->c, pkt, 1, 0);
	q = &h->q[h->cur];
	if (__builtin_expect(n == 1 && !q->gone_said && !q->ended &&
				     !(pkt->flags & RF_PKT_NEW_GENERATION),
			     1)) {
		h->ps_recv++;
		return 1;
	}
	return n == 1 ? got(h, pkt) : fetch_slow(h, w, pkt, n);
}

static void fill_hdr(const struct rfp *h, const struct rf_packet *pkt, struct pcap_pkthdr *hdr)
{
	uint64_t sub = pkt->ts_ns % 1000000000ull;

	hdr->ts.tv_sec = (time_t)(pkt->ts_ns / 1000000000ull);
	hdr->ts.tv_usec =
		(suseconds_t)(h->precision == PCAP_TSTAMP_PRECISION_NANO ? sub : sub / 1000);
	hdr->caplen = pkt->caplen < (uint32_t)h->snaplen ? pkt->caplen : (uint32_t)h->snaplen;
	hdr->len = pkt->wirelen;
}

static bool passes(const struct rfp *h, const struct pcap_pkthdr *hdr, const u_char *data)
{
	return !h->have_prog || pcap_offline_filter(&h->prog, hdr, data);
}

/* How long a call waits for its first packet, as the handle says (see struct wait). */
static int first_wait(const struct rfp *h)
{
	if (h->nonblock)
		return RFP_WAIT_NONE;
	return h->timeout_ms > 0 ? h->timeout_ms : RFP_WAIT_FOREVER;
}

/*
 * Hand up to max packets to cb (max <= 0: up to RFP_DISPATCH_MAX read),
 * waiting wait_ms for the first (see struct wait). The number handed, or RFP_EOF
 * (nothing handed, end of the run), RFP_BREAK or PCAP_ERROR.
 */
static int batch(struct rfp *h, int max, int wait_ms, pcap_handler cb, u_char *user)
{
	struct wait first = {.ms = wait_ms}, none = {.ms = RFP_WAIT_NONE};
	struct pcap_pkthdr hdr;
	struct rf_packet pkt;
	int handed = 0, read, r;

	if (rfp_reclaim(h, wait_ms != RFP_WAIT_NONE) < 0)
		return 0;
	rfp_release(h); /* what pcap_next_ex() handed before */
	for (read = 0; read < RFP_DISPATCH_MAX && (max <= 0 || handed < max); read++) {
		r = fetch(h, handed ? &none : &first, &pkt);
		if (r == RFP_BREAK && handed)
			atomic_store_explicit(&h->brk, true,
					      memory_order_relaxed); /* the next call */
		if (r == RFP_EOF && handed)
			h->eof_pending = true;
		if (r != 1)
			return handed || r == 0 ? handed : r;
		fill_hdr(h, &pkt, &hdr);
		if (passes(h, &hdr, pkt.data)) {
			cb(user, &hdr, pkt.data);
			handed++;
		}
		/* Back from the callback: the program asks for the next packet. */
		rf_consumer_release(h->c);
	}
	return handed;
}

static int need_activated(struct rfp *h)
{
	if (h->activated)
		return 0;
	rfp_err(h, "ringfan:%s: the handle is not activated", h->qname);
	return PCAP_ERROR_NOT_ACTIVATED;
}

int pcap_dispatch(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
	struct rfp *h = rfp_of(p);
	int r;

	if (!h)
		return REAL(pcap_dispatch)(p, cnt, cb, user);
	r = need_activated(h);
	if (r < 0)
		return r;
	r = batch(h, cnt, first_wait(h), cb, user);
	return r == RFP_EOF ? 0 : r == RFP_BREAK ? PCAP_ERROR_BREAK : r;
}

int pcap_loop(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
	struct rfp *h = rfp_of(p);
	int n = 0, r;

	if (!h)
		return REAL(pcap_loop)(p, cnt, cb, user);
	r = need_activated(h);
	if (r < 0)
		return r;
	for (;;) {
		r = batch(h, cnt > 0 ? cnt - n : -1, RFP_WAIT_FOREVER, cb, user);
		if (r == RFP_EOF)
			return 0; /* as at the end of a capture file */
		if (r < 0)
			return r == RFP_BREAK ? PCAP_ERROR_BREAK : PCAP_ERROR;
		n += r;
		if (cnt > 0 && n >= cnt)
			return 0;
	}
}

/* The next packet that passes the filter, held until the next call. */
static int next_packet(struct rfp *h, struct pcap_pkthdr *hdr, const u_char **ret_data)
{
	struct wait w = {.ms = first_wait(h)};
	struct rf_packet pkt;
	int r;

	if (rfp_reclaim(h, w.ms != RFP_WAIT_NONE) < 0)
		return 0;
	rfp_release(h); /* the program asked for the next: done with the last */
	for (;;) {
		r = fetch(h, &w, &pkt);
		if (r != 1)
			return r;
		fill_hdr(h, &pkt, hdr);
		if (passes(h, hdr, pkt.data))
			break;
		rf_consumer_release(h->c);
	}
	h->holding = true;
	*ret_data = pkt.data;
	return 1;
}

int pcap_next_ex(pcap_t *p, struct pcap_pkthdr **ret_hdr, const u_char **ret_data)
{
	struct rfp *h = rfp_of(p);
	int r;

	if (!h)
		return REAL(pcap_next_ex)(p, ret_hdr, ret_data);
	r = need_activated(h);
	if (r < 0)
		return r;
	r = next_packet(h, &h->hdr, ret_data);
	if (r == 1)
		*ret_hdr = &h->hdr;
	/* The end of a run is the end of a file: PCAP_ERROR_BREAK, as libpcap says there. */
	return r == RFP_EOF || r == RFP_BREAK ? PCAP_ERROR_BREAK : r;
}

const u_char *pcap_next(pcap_t *p, struct pcap_pkthdr *hdr)
{
	struct rfp *h = rfp_of(p);
	const u_char *data;

	if (!h)
		return REAL(pcap_next)(p, hdr);
	if (!h->activated || next_packet(h, hdr, &data) != 1)
		return NULL;
	return data;
}

void pcap_breakloop(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	if (!h) {
		REAL(pcap_breakloop)(p);
		return;
	}
	atomic_store_explicit(&h->brk, true, memory_order_relaxed);
	efd_signal(h); /* a program asleep in poll() wakes up */
}

int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_setnonblock)(p, nonblock, errbuf);
	h->nonblock = nonblock != 0;
	return 0;
}

int pcap_getnonblock(pcap_t *p, char *errbuf)
{
	struct rfp *h = rfp_of(p);

	return h ? h->nonblock : REAL(pcap_getnonblock)(p, errbuf);
}

/*
 * ps_recv: packets this handle read from the queue (before the filter);
 * ps_drop: packets the balancer dropped on the queue (full ring, too big,
 * a damaged cursor), over the runs read; ps_ifdrop: 0.
 */
int pcap_stats(pcap_t *p, struct pcap_stat *ps)
{
	struct rfp *h = rfp_of(p);
	struct rf_consumer_stats st;
	uint64_t dropped = 0;
	unsigned int i;
	int r;

	if (!h)
		return REAL(pcap_stats)(p, ps);
	r = need_activated(h);
	if (r < 0)
		return r;
	rfp_reclaim(h, true);
	for (i = 0; i < h->nq; i++) {
		rf_consumer_stats(h->q[i].c, &st, sizeof(st));
		dropped += st.dropped;
	}
	ps->ps_recv = (u_int)h->ps_recv;
	ps->ps_drop = (u_int)dropped;
	ps->ps_ifdrop = 0;
	return 0;
}
