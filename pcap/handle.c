/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ringfan handles: creating, activating (attaching to the queue), the
 * pcap_set_* and pcap_get_* calls, filters compiled against the queue's link
 * type, dump files, closing. Every function forwards handles and device
 * names that are not ours to the real libpcap.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfpcap.h"

/* Our pcap_t * are the addresses of these slots: one compare tells ours. */
static struct rfp *_Atomic slots[RFP_MAX_HANDLES];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

struct rfp *rfp_of(pcap_t *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)slots;

	if (off >= sizeof(slots) || off % sizeof(slots[0]))
		return NULL;
	return atomic_load_explicit(&slots[off / sizeof(slots[0])], memory_order_acquire);
}

static pcap_t *slot_take(struct rfp *h)
{
	pcap_t *p = NULL;
	size_t i;

	pthread_mutex_lock(&slots_mu);
	for (i = 0; i < RFP_MAX_HANDLES && !p; i++)
		if (!atomic_load_explicit(&slots[i], memory_order_relaxed)) {
			atomic_store_explicit(&slots[i], h, memory_order_release);
			p = (pcap_t *)&slots[i];
		}
	pthread_mutex_unlock(&slots_mu);
	return p;
}

static void slot_free(pcap_t *p)
{
	atomic_store_explicit((struct rfp * _Atomic *)p, NULL, memory_order_release);
}

void *rfp_real(void *_Atomic *cache, const char *name)
{
	void *f = atomic_load_explicit(cache, memory_order_relaxed);

	if (f)
		return f;
	f = dlsym(RTLD_NEXT, name);
	if (!f) {
		/* Only reached by a program that calls libpcap: it must be there. */
		fprintf(stderr, "libringfan-pcap: the real libpcap has no %s: %s\n", name,
			dlerror());
		abort();
	}
	atomic_store_explicit(cache, f, memory_order_relaxed);
	return f;
}

void rfp_err(struct rfp *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->errbuf, sizeof(h->errbuf), fmt, ap);
	va_end(ap);
}

void rfp_say(const char *qname, const char *fmt, ...)
{
	const char *v = getenv(RFP_ENV_VERBOSE);
	char line[256];
	va_list ap;

	if (!v || strcmp(v, "1"))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ringfan: queue %s: %s\n", qname, line);
}

bool rfp_is_queue_name(const char *device)
{
	return device && !strncmp(device, RFP_PREFIX, strlen(RFP_PREFIX));
}

static void copy_err(char *errbuf, const char *msg)
{
	if (errbuf)
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Creating and activating                                             */
/* ------------------------------------------------------------------ */

/*
 * The queues of a list "C@Q[,C@R...]" (each may repeat the prefix; device
 * names it in messages) into q[] and *nq, and its canonical spelling
 * ("99@0,99@1") into canon. 0, or -errno with errbuf saying why.
 */
int rfp_parse_queues(const char *device, const char *list, struct rfp_queue *q, unsigned int *nq,
		     char *canon, size_t canon_len, char *errbuf)
{
	const char *name = list, *end;
	char one[64];
	uint32_t cl, qu;
	unsigned int i;
	size_t len;
	int r;

	*canon = '\0';
	for (*nq = 0;; name = end + 1) {
		end = name + strcspn(name, ",");
		len = (size_t)(end - name);
		if (len > strlen(RFP_PREFIX) && !strncmp(name, RFP_PREFIX, strlen(RFP_PREFIX)))
			name += strlen(RFP_PREFIX), len -= strlen(RFP_PREFIX);
		r = len < sizeof(one) ? 0 : -EINVAL;
		if (!r) {
			memcpy(one, name, len);
			one[len] = '\0';
			r = rf_queue_name_parse(one, &cl, &qu);
		}
		if (r < 0) {
			snprintf(errbuf, PCAP_ERRBUF_SIZE,
				 "%s: not a queue name: use ringfan:CLUSTER@QUEUE (e.g. "
				 "ringfan:99@0; "
				 "cluster 0-%d, queue 0-%d), or several joined by commas "
				 "(ringfan:99@0,99@1)",
				 device, RF_MAX_CLUSTER, RF_MAX_QUEUE);
			return r;
		}
		if (*nq == RFP_MAX_MERGE) {
			snprintf(errbuf, PCAP_ERRBUF_SIZE,
				 "%s: more than %d queues in one handle: open several handles",
				 device, RFP_MAX_MERGE);
			return -E2BIG;
		}
		snprintf(q[*nq].name, sizeof(q[0].name), "%u@%u", cl, qu);
		for (i = 0; i < *nq; i++)
			if (!strcmp(q[i].name, q[*nq].name)) {
				snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: queue %s is named twice",
					 device, q[i].name);
				return -EINVAL;
			}
		len = strlen(canon);
		snprintf(canon + len, canon_len - len, "%s%s", len ? "," : "", q[*nq].name);
		(*nq)++;
		if (!*end)
			return 0;
	}
}

pcap_t *pcap_create(const char *device, char *errbuf)
{
	struct rfp *h;
	pcap_t *p;

	if (!rfp_is_queue_name(device))
		return REAL(pcap_create)(device, errbuf);
	h = calloc(1, sizeof(*h));
	if (!h) {
		copy_err(errbuf, "ringfan: out of memory");
		return NULL;
	}
	if (rfp_parse_queues(device, device + strlen(RFP_PREFIX), h->q, &h->nq, h->qname,
			     sizeof(h->qname), errbuf) < 0) {
		free(h);
		return NULL;
	}
	h->snaplen = RFP_SNAPLEN_MAX;
	h->precision = PCAP_TSTAMP_PRECISION_MICRO;
	h->efd = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	p = slot_take(h);
	if (!p) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: more than %d ringfan handles are open",
			 device, RFP_MAX_HANDLES);
		free(h);
	}
	return p;
}

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	n = strtol(v, &end, 10);
	return *end || n < -1 || n > INT32_MAX ? dflt : (int)n;
}

/* Why queue qname cannot be opened, in libpcap's terms. */
static int open_error(struct rfp *h, const char *qname, int r, const struct rf_consumer_opts *o)
{
	struct rf_dir_info di = {0};
	struct rf_queue_info qi;

	rf_queue_dir_check(NULL, 0, &di);
	switch (r) {
	case -ENOENT:
		rfp_err(h, "ringfan:%s: no such queue in %s (is a balancer running with -c %.*s?)",
			qname, di.path, (int)strcspn(qname, "@"), qname);
		return PCAP_ERROR_NO_SUCH_DEVICE;
	case -EACCES:
		rfp_err(h,
			"ringfan:%s: permission denied: the queue's group or mode does not let "
			"this user read it (balance --user/--group/--mode)",
			qname);
		return PCAP_ERROR_PERM_DENIED;
	case -EBUSY:
		if (rf_queue_query(qname, o, &qi, sizeof(qi)) == 0 && qi.consumer_pid)
			rfp_err(h, "ringfan:%s: busy: process %d is attached to the queue", qname,
				qi.consumer_pid);
		else
			rfp_err(h, "ringfan:%s: busy: another consumer is attached", qname);
		return PCAP_ERROR;
	case -EPERM:
	case -ENOTDIR:
		rfp_err(h,
			"ringfan:%s: the queue directory %s or its files are not trusted "
			"(%s): see ringfan-balance(1)",
			qname, di.path, strerror(-r));
		return PCAP_ERROR_PERM_DENIED;
	}
	rfp_err(h, "ringfan:%s: cannot open the queue: %s", qname, strerror(-r));
	return PCAP_ERROR;
}

static void close_queues(struct rfp *h)
{
	unsigned int i;

	for (i = 0; i < h->nq; i++) {
		rf_consumer_close(h->q[i].c);
		h->q[i].c = NULL;
	}
	h->c = NULL;
}

/*
 * Attach to the queues; the link type (the same for all) and the dead
 * handle come from them.
 */
static int activate(struct rfp *h)
{
	struct rf_consumer_opts o = {.sz = sizeof(o), .wait_ms = env_int(RFP_ENV_WAIT, 0)};
	struct rf_queue_info qi;
	unsigned int i;
	int r;

	/* A host program shares its CPUs: it sleeps at once on an empty queue
	 * rather than polling it. */
	o.flags |= RF_CONSUMER_NO_SPIN;
	/*
	 * Woken as libpcap hands a block on an interface: while packets come,
	 * once RFP_WAKE_BYTES wait or the packet buffer timeout passed (capped
	 * by RFP_WAKE_US_MAX); at once by the first packet into an idle queue.
	 * Immediate mode is woken by every packet published.
	 */
	o.wake_bytes = h->immediate ? 1 : RFP_WAKE_BYTES;
	o.wake_us = h->timeout_ms > 0 && (uint32_t)h->timeout_ms < RFP_WAKE_US_MAX / 1000
			    ? (uint32_t)h->timeout_ms * 1000
			    : RFP_WAKE_US_MAX;
	/* A host program has its own signal handling: the guard is asked for. */
	if (env_int(RFP_ENV_GUARD, 0) == 1)
		o.flags |= RF_CONSUMER_GUARD_SIGBUS;
	for (i = 0; i < h->nq; i++) {
		r = rf_consumer_open(h->q[i].name, &o, &h->q[i].c);
		if (r < 0) {
			r = open_error(h, h->q[i].name, r, &o);
			close_queues(h);
			return r;
		}
		rf_consumer_info(h->q[i].c, &qi, sizeof(qi));
		if (i == 0)
			h->linktype = qi.linktype;
		if (qi.linktype != h->linktype) {
			rfp_err(h,
				"ringfan:%s: queue %s carries %s packets, queue %s %s: a handle "
				"merges queues of one link type",
				h->qname, h->q[i].name,
				pcap_datalink_val_to_name(qi.linktype) ?: "unknown", h->q[0].name,
				pcap_datalink_val_to_name(h->linktype) ?: "unknown");
			close_queues(h);
			return PCAP_ERROR;
		}
	}
	h->cur = 0;
	h->c = h->q[0].c;
	h->dead = pcap_open_dead_with_tstamp_precision(h->linktype, h->snaplen, h->precision);
	if (!h->dead) {
		rfp_err(h, "ringfan:%s: out of memory", h->qname);
		close_queues(h);
		return PCAP_ERROR;
	}
	h->activated = true;
	return 0;
}

int pcap_activate(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_activate)(p);
	if (h->activated)
		return PCAP_ERROR_ACTIVATED;
	return activate(h);
}

pcap_t *pcap_open_live(const char *device, int snaplen, int promisc, int to_ms, char *errbuf)
{
	struct rfp *h;
	pcap_t *p;

	if (!rfp_is_queue_name(device))
		return REAL(pcap_open_live)(device, snaplen, promisc, to_ms, errbuf);
	p = pcap_create(device, errbuf);
	if (!p)
		return NULL;
	h = rfp_of(p);
	pcap_set_snaplen(p, snaplen);
	pcap_set_timeout(p, to_ms);
	if (activate(h) < 0) {
		copy_err(errbuf, h->errbuf);
		pcap_close(p);
		return NULL;
	}
	return p;
}

void pcap_close(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	if (!h) {
		REAL(pcap_close)(p);
		return;
	}
	rfp_helper_stop(h);
	/* The program is done with the packet it holds: commit it. */
	rfp_release(h);
	close_queues(h);
	if (h->dead)
		REAL(pcap_close)(h->dead);
	if (h->have_prog)
		pcap_freecode(&h->prog);
	if (h->efd >= 0)
		close(h->efd);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	slot_free(p);
	free(h);
}

/* ------------------------------------------------------------------ */
/* Settings before activation                                          */
/* ------------------------------------------------------------------ */

/* A pcap_set_* call: PCAP_ERROR_ACTIVATED after activation, as libpcap. */
#define SETTER(fn, field, expr)                      \
	int fn(pcap_t *p, int v)                     \
	{                                            \
		struct rfp *h = rfp_of(p);           \
                                                     \
		if (!h)                              \
			return REAL(fn)(p, v);       \
		if (h->activated)                    \
			return PCAP_ERROR_ACTIVATED; \
		field = (expr);                      \
		return 0;                            \
	}

SETTER(pcap_set_snaplen, h->snaplen, v <= 0 || v > RFP_SNAPLEN_MAX ? RFP_SNAPLEN_MAX : v)
SETTER(pcap_set_timeout, h->timeout_ms, v < 0 ? 0 : v)
/* Without it, packets are handed in batches (RFP_WAKE_BYTES, the timeout). */
SETTER(pcap_set_immediate_mode, h->immediate, v != 0)
/* A queue holds what the balancer gave it: promiscuous mode and the kernel's
 * buffer are the source's business. */
#define IGNORED_SETTER(fn)                                      \
	int fn(pcap_t *p, int v)                                \
	{                                                       \
		struct rfp *h = rfp_of(p);                      \
                                                                \
		if (!h)                                         \
			return REAL(fn)(p, v);                  \
		return h->activated ? PCAP_ERROR_ACTIVATED : 0; \
	}

IGNORED_SETTER(pcap_set_promisc)
IGNORED_SETTER(pcap_set_buffer_size)

int pcap_set_rfmon(pcap_t *p, int rfmon)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_set_rfmon)(p, rfmon);
	if (h->activated)
		return PCAP_ERROR_ACTIVATED;
	return rfmon ? PCAP_ERROR_RFMON_NOTSUP : 0;
}

int pcap_can_set_rfmon(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? 0 : REAL(pcap_can_set_rfmon)(p);
}

int pcap_set_tstamp_precision(pcap_t *p, int precision)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_set_tstamp_precision)(p, precision);
	if (h->activated)
		return PCAP_ERROR_ACTIVATED;
	if (precision != PCAP_TSTAMP_PRECISION_MICRO && precision != PCAP_TSTAMP_PRECISION_NANO)
		return PCAP_ERROR_TSTAMP_PRECISION_NOTSUP;
	h->precision = precision;
	return 0;
}

int pcap_get_tstamp_precision(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? h->precision : REAL(pcap_get_tstamp_precision)(p);
}

/* Queue timestamps are the source's (the host's, or the capture file's). */
int pcap_set_tstamp_type(pcap_t *p, int type)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_set_tstamp_type)(p, type);
	if (h->activated)
		return PCAP_ERROR_ACTIVATED;
	return type == PCAP_TSTAMP_HOST ? 0 : PCAP_WARNING_TSTAMP_TYPE_NOTSUP;
}

int pcap_list_tstamp_types(pcap_t *p, int **ret_types)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_list_tstamp_types)(p, ret_types);
	*ret_types = malloc(sizeof(**ret_types));
	if (!*ret_types) {
		rfp_err(h, "out of memory");
		return PCAP_ERROR;
	}
	**ret_types = PCAP_TSTAMP_HOST;
	return 1;
}

int pcap_set_protocol_linux(pcap_t *p, int protocol)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_set_protocol_linux)(p, protocol);
	if (h->activated)
		return PCAP_ERROR_ACTIVATED;
	if (protocol == 0)
		return 0;
	rfp_err(h, "ringfan:%s: a queue cannot select a protocol: use a filter", h->qname);
	return PCAP_ERROR;
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */
/* ------------------------------------------------------------------ */

/* The value of an activated handle, else PCAP_ERROR_NOT_ACTIVATED as libpcap. */
#define GETTER(fn, expr)                                 \
	int fn(pcap_t *p)                                \
	{                                                \
		struct rfp *h = rfp_of(p);               \
                                                         \
		if (!h)                                  \
			return REAL(fn)(p);              \
		if (!h->activated)                       \
			return PCAP_ERROR_NOT_ACTIVATED; \
		return (expr);                           \
	}

GETTER(pcap_datalink, h->linktype)
GETTER(pcap_datalink_ext, h->linktype)
GETTER(pcap_snapshot, h->snaplen)
GETTER(pcap_is_swapped, 0)
GETTER(pcap_major_version, PCAP_VERSION_MAJOR)
GETTER(pcap_minor_version, PCAP_VERSION_MINOR)
GETTER(pcap_bufsize, h->snaplen)

int pcap_list_datalinks(pcap_t *p, int **ret_dlts)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_list_datalinks)(p, ret_dlts);
	if (!h->activated)
		return PCAP_ERROR_NOT_ACTIVATED;
	*ret_dlts = malloc(sizeof(**ret_dlts));
	if (!*ret_dlts) {
		rfp_err(h, "out of memory");
		return PCAP_ERROR;
	}
	**ret_dlts = h->linktype;
	return 1;
}

int pcap_set_datalink(pcap_t *p, int dlt)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_set_datalink)(p, dlt);
	if (dlt == h->linktype)
		return 0;
	rfp_err(h, "ringfan:%s: the queue carries %s packets, not %s", h->qname,
		pcap_datalink_val_to_name(h->linktype) ?: "unknown",
		pcap_datalink_val_to_name(dlt) ?: "unknown");
	return PCAP_ERROR;
}

FILE *pcap_file(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? NULL : REAL(pcap_file)(p);
}

char *pcap_geterr(pcap_t *p)
{
	struct rfp *h = rfp_of(p);

	return h ? h->errbuf : REAL(pcap_geterr)(p);
}

void pcap_perror(pcap_t *p, const char *prefix)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		REAL(pcap_perror)(p, prefix);
	else
		fprintf(stderr, "%s: %s\n", prefix, h->errbuf);
}

/* Packets of a queue are received traffic: there is nothing sent to select. */
int pcap_setdirection(pcap_t *p, pcap_direction_t d)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_setdirection)(p, d);
	if (d == PCAP_D_INOUT || d == PCAP_D_IN)
		return 0;
	rfp_err(h, "ringfan:%s: a queue holds received packets only", h->qname);
	return PCAP_ERROR;
}

int pcap_inject(pcap_t *p, const void *buf, size_t len)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_inject)(p, buf, len);
	rfp_err(h, "ringfan:%s: a queue is read-only: packets cannot be sent on it", h->qname);
	return PCAP_ERROR;
}

int pcap_sendpacket(pcap_t *p, const u_char *buf, int len)
{
	struct rfp *h = rfp_of(p);

	if (!h)
		return REAL(pcap_sendpacket)(p, buf, len);
	return pcap_inject(p, buf, (size_t)(len < 0 ? 0 : len)) < 0 ? PCAP_ERROR : 0;
}

/* ------------------------------------------------------------------ */
/* Filters and dump files: the real libpcap's, on a handle of our type  */
/* ------------------------------------------------------------------ */

static bool need_active(struct rfp *h, const char *what)
{
	if (h->activated)
		return true;
	rfp_err(h, "not-yet-activated pcap_t passed to %s", what);
	return false;
}

int pcap_compile(pcap_t *p, struct bpf_program *prog, const char *expr, int optimize,
		 bpf_u_int32 netmask)
{
	struct rfp *h = rfp_of(p);
	int r;

	if (!h)
		return REAL(pcap_compile)(p, prog, expr, optimize, netmask);
	if (!need_active(h, "pcap_compile"))
		return PCAP_ERROR;
	r = REAL(pcap_compile)(h->dead, prog, expr, optimize, netmask);
	if (r < 0)
		rfp_err(h, "%s", REAL(pcap_geterr)(h->dead));
	return r;
}

/* One instruction returning a non-zero constant. */
static bool accepts_all(const struct bpf_program *prog)
{
	return prog->bf_len == 1 && prog->bf_insns[0].code == (BPF_RET | BPF_K) &&
	       prog->bf_insns[0].k != 0;
}

int pcap_setfilter(pcap_t *p, struct bpf_program *prog)
{
	struct rfp *h = rfp_of(p);
	struct bpf_insn *insns;
	size_t len;

	if (!h)
		return REAL(pcap_setfilter)(p, prog);
	if (!prog || !bpf_validate(prog->bf_insns, (int)prog->bf_len)) {
		rfp_err(h, "ringfan:%s: the BPF program is not valid", h->qname);
		return PCAP_ERROR;
	}
	/* What tcpdump sets without a filter expression ("ret #snaplen") passes
	 * every packet: it is not run per packet (nor is it by libpcap, the
	 * kernel runs it). */
	insns = NULL;
	if (!accepts_all(prog)) {
		len = prog->bf_len * sizeof(*insns);
		insns = malloc(len);
		if (!insns) {
			rfp_err(h, "out of memory");
			return PCAP_ERROR;
		}
		memcpy(insns, prog->bf_insns, len);
	}
	if (h->have_prog)
		pcap_freecode(&h->prog);
	h->prog.bf_len = insns ? prog->bf_len : 0;
	h->prog.bf_insns = insns;
	h->have_prog = insns != NULL;
	return 0;
}

#define DUMP_OPEN(fn, arg_t)                                          \
	pcap_dumper_t *fn(pcap_t *p, arg_t arg)                       \
	{                                                             \
		struct rfp *h = rfp_of(p);                            \
		pcap_dumper_t *d;                                     \
                                                                      \
		if (!h)                                               \
			return REAL(fn)(p, arg);                      \
		if (!need_active(h, #fn))                             \
			return NULL;                                  \
		d = REAL(fn)(h->dead, arg);                           \
		if (!d)                                               \
			rfp_err(h, "%s", REAL(pcap_geterr)(h->dead)); \
		return d;                                             \
	}

DUMP_OPEN(pcap_dump_open, const char *)
DUMP_OPEN(pcap_dump_open_append, const char *)
DUMP_OPEN(pcap_dump_fopen, FILE *)
