/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * File source: a pcap or pcapng capture read with libpcap. libpcap reuses
 * its buffer on every read, so a burst is copied into an arena allocated at
 * open. Unpaced replay is lossless (the balancer waits for full queues);
 * --rate / --speed hand out each packet when it is due, like live traffic.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"
#include "util.h"

#define ARENA_BYTES    (4u << 20)
#define MAX_SNAP       (256u << 10)
#define READ_BUF_BYTES (1u << 20)

struct pcap_source {
	struct rf_source base; /* first: the balancer sees a struct rf_source */
	char path[4096];
	int fd; /* the file, open for every play */
	pcap_t *pcap;
	uint8_t *arena;
	uint32_t arena_used;
	uint32_t snap;		  /* largest packet the file can hold (bounded by MAX_SNAP) */
	struct rf_packet pending; /* read but not yet due (paced); data in the arena */
	bool have_pending;
	double rate_pps, speed;
	uint64_t loops_left; /* plays after the current one; UINT64_MAX: forever */
	/* Paced: the packet of time pace_ts is due at pace_mono (see ps_pace()). */
	uint64_t pace_mono;
	uint64_t pace_ts;
	uint64_t prev_ts; /* timestamp of the packet read before */
	bool new_play;	  /* the next packet read starts a play after the first */
	uint64_t min_ts;  /* earliest and latest timestamps of the first play */
	uint64_t max_ts;
	uint64_t ts_offset; /* added to timestamps of later plays so that time moves on */
	uint64_t received;
	uint64_t bytes;
	bool started;
};

static struct pcap_source *ps_of(struct rf_source *s)
{
	return (struct pcap_source *)s;
}

/* Open the file once: later plays (--loop) rewind this descriptor, which
 * keeps working after -D dropped the rights to open the path again. */
static int ps_open_path(struct pcap_source *p)
{
	struct stat st;
	int r;

	p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (p->fd < 0 || fstat(p->fd, &st)) {
		r = -errno;
		rf_err("cannot open capture file '%s': %s", p->path, strerror(errno));
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		rf_err("cannot open capture file '%s': Is a directory", p->path);
		return -EISDIR;
	}
	return 0;
}

/* Start a play: libpcap on a rewound copy of the descriptor. */
static int ps_open_pcap(struct pcap_source *p)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	int fd, r, snap;
	FILE *fp;

	fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 || !(fp = fdopen(fd, "rb"))) {
		r = -errno;
		rf_err("cannot read capture file '%s': %s", p->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	/* libpcap reads through stdio: a large buffer turns thousands of 4 KiB
	 * reads into a few dozen. Failure only leaves the default buffer. */
	(void)setvbuf(fp, NULL, _IOFBF, READ_BUF_BYTES);
	p->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p->pcap) {
		rf_err("cannot read capture file '%s': %s", p->path, errbuf);
		fclose(fp);
		return -EINVAL;
	}
	snap = pcap_snapshot(p->pcap);
	p->snap = snap <= 0 || (unsigned int)snap > MAX_SNAP ? MAX_SNAP : (uint32_t)snap;
	p->base.linktype = pcap_datalink(p->pcap);
	return 0;
}

/* Nanoseconds as an integer, saturated (a huge gap at a tiny speed must not overflow). */
static uint64_t ns_of(double ns)
{
	return ns < 0x1p62 ? (uint64_t)ns : (uint64_t)1 << 62;
}

/* When the packet at ts may go out, on the monotonic clock (ts >= pace_ts, see ps_pace()). */
static uint64_t ps_due(const struct pcap_source *p, uint64_t ts)
{
	if (p->rate_pps > 0)
		return p->pace_mono + ns_of((double)p->received * 1e9 / p->rate_pps);
	if (p->speed > 0)
		return p->pace_mono + ns_of((double)(ts - p->pace_ts) / p->speed);
	return 0;
}

static bool ps_paced(const struct pcap_source *p)
{
	return p->rate_pps > 0 || p->speed > 0;
}

/*
 * Called once per packet read, in file order. The clock starts with the
 * first packet. A packet older than the one before it (time goes backwards:
 * merged or re-ordered captures, a clock step) is due together with that
 * one, at once, and the pace then continues from it: the gaps after it are
 * kept, the backward jump is not waited for. So is the first packet of
 * every later play (--loop): plays follow each other without a pause.
 */
static void ps_pace(struct pcap_source *p, uint64_t ts)
{
	if (!ps_paced(p))
		return;
	if (!p->pace_mono) {
		p->pace_mono = rf_now_mono_ns();
		p->pace_ts = ts;
	} else if (p->speed > 0 && (ts < p->prev_ts || p->new_play)) {
		/* (A rate paces by count from the first packet on: no new base.) */
		p->pace_mono = ps_due(p, p->prev_ts);
		p->pace_ts = ts;
	}
	p->new_play = false;
	p->prev_ts = ts;
}

/* End of one play: start the next one, or say the file is done. */
static int ps_rewind(struct pcap_source *p)
{
	if (p->loops_left == 0)
		return -ENODATA;
	if (p->loops_left != UINT64_MAX)
		p->loops_left--;
	pcap_close(p->pcap);
	p->pcap = NULL;
	if (ps_open_pcap(p))
		return -EIO;
	/* Every packet of the next play is later than every one of this play. */
	p->ts_offset += p->max_ts - p->min_ts + 1000;
	p->new_play = true;
	return 0;
}

/* Read one packet into the arena at arena_used. 1: got one; 0: play ended and restarted; <0 */
static int ps_read(struct pcap_source *p, struct rf_packet *pkt)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint32_t caplen;
	uint64_t ts;
	int r;

	r = pcap_next_ex(p->pcap, &h, &data);
	if (r == PCAP_ERROR_BREAK)
		return ps_rewind(p);
	if (r != 1) {
		rf_warn("capture file '%s': %s; stopping this source", p->path,
			pcap_geterr(p->pcap));
		return -ENODATA;
	}
	caplen = h->caplen < p->snap ? h->caplen : p->snap;
	memcpy(p->arena + p->arena_used, data, caplen);
	ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	if (!p->started) {
		p->min_ts = p->max_ts = ts;
		p->started = true;
	}
	if (!p->ts_offset) {
		p->min_ts = ts < p->min_ts ? ts : p->min_ts;
		p->max_ts = ts > p->max_ts ? ts : p->max_ts;
	}
	pkt->data = p->arena + p->arena_used;
	pkt->ts_ns = ts + p->ts_offset;
	pkt->caplen = caplen;
	pkt->wirelen = h->len < caplen ? caplen : h->len;
	pkt->ifindex = 0;
	pkt->hash = 0;
	pkt->flags = caplen < pkt->wirelen ? RF_PKT_TRUNCATED : 0;
	p->arena_used += caplen;
	return 1;
}

/* Paced: is the packet due? */
static bool ps_is_due(struct pcap_source *p, const struct rf_packet *pkt)
{
	return !ps_paced(p) || ps_due(p, pkt->ts_ns) <= rf_now_mono_ns();
}

static void ps_take(struct pcap_source *p, struct rf_packet *dst, const struct rf_packet *src)
{
	*dst = *src;
	p->received++;
	p->bytes += src->caplen;
}

/* Move a packet kept from the previous burst to the front of the (now free) arena. */
static void ps_restore_pending(struct pcap_source *p)
{
	p->arena_used = 0;
	if (!p->have_pending)
		return;
	memmove(p->arena, p->pending.data, p->pending.caplen);
	p->pending.data = p->arena;
	p->arena_used = p->pending.caplen;
}

static int ps_next_burst(struct rf_source *s, struct rf_packet *pkts, unsigned int max)
{
	struct pcap_source *p = ps_of(s);
	unsigned int n = 0;
	int r;

	if (s->finished)
		return -ENODATA;
	ps_restore_pending(p);
	while (n < max) {
		if (!p->have_pending) {
			if (ARENA_BYTES - p->arena_used < p->snap)
				break;
			r = ps_read(p, &p->pending);
			if (r < 0) {
				s->finished = true;
				break;
			}
			if (r == 0)
				continue;
			p->have_pending = true;
			ps_pace(p, p->pending.ts_ns);
		}
		if (!ps_is_due(p, &p->pending))
			break;
		ps_take(p, &pkts[n++], &p->pending);
		p->have_pending = false;
	}
	return n || !s->finished ? (int)n : -ENODATA;
}

static void ps_release(struct rf_source *s)
{
}

static int ps_fd(const struct rf_source *s)
{
	return -1;
}

static int ps_wait_ms(const struct rf_source *s)
{
	const struct pcap_source *p = (const struct pcap_source *)s;
	uint64_t due, now;

	if (!p->have_pending || !ps_paced(p) || !p->pace_mono)
		return 0;
	due = ps_due(p, p->pending.ts_ns);
	now = rf_now_mono_ns();
	if (due <= now)
		return 0;
	return (int)((due - now + 999999) / 1000000 > 1000 ? 1000 : (due - now + 999999) / 1000000);
}

static int ps_poll_error(struct rf_source *s)
{
	return 0;
}

static void ps_counters(struct rf_source *s, struct rf_source_counters *ret)
{
	struct pcap_source *p = ps_of(s);

	ret->received = p->received;
	ret->bytes = p->bytes;
	ret->kernel_drops = 0;
	ret->state = s->finished ? "finished" : "running";
}

static void ps_close(struct rf_source *s)
{
	struct pcap_source *p = ps_of(s);

	if (p->pcap)
		pcap_close(p->pcap);
	if (p->fd >= 0)
		close(p->fd);
	free(p->arena);
	free(p);
}

static const struct rf_source_ops pcap_ops = {
	.next_burst = ps_next_burst,
	.release = ps_release,
	.fd = ps_fd,
	.wait_ms = ps_wait_ms,
	.poll_error = ps_poll_error,
	.counters = ps_counters,
	.close = ps_close,
};

int rf_source_pcap_open(const char *path, const struct rf_source_opts *opts,
			struct rf_source **ret_source)
{
	struct pcap_source *p;
	int r;

	if (strlen(path) >= sizeof(p->path)) {
		rf_err("capture file name '%.64s...' is too long", path);
		return -ENAMETOOLONG;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->arena = malloc(ARENA_BYTES))) {
		free(p);
		rf_err("cannot open capture file '%s': out of memory", path);
		return -ENOMEM;
	}
	strcpy(p->path, path);
	p->fd = -1;
	r = ps_open_path(p);
	if (!r)
		r = ps_open_pcap(p);
	if (r) {
		ps_close(&p->base);
		return r;
	}
	p->base.ops = &pcap_ops;
	p->base.lossless = !opts->live_replay;
	p->rate_pps = opts->rate_pps;
	p->speed = opts->speed;
	p->loops_left = opts->loops ? opts->loops - 1 : UINT64_MAX;
	snprintf(p->base.name, sizeof(p->base.name), "pcap:%s", path);
	*ret_source = &p->base;
	return 0;
}

void rf_source_close(struct rf_source *s)
{
	if (s)
		s->ops->close(s);
}

int rf_source_open(const char *spec, const struct rf_source_opts *opts,
		   struct rf_source **ret_source)
{
	const char *file = rf_source_file(spec);

	if (file)
		return rf_source_pcap_open(file, opts, ret_source);
	if (!strncmp(spec, RF_SOURCE_AFPACKET, strlen(RF_SOURCE_AFPACKET)))
		return rf_source_afpacket_open(spec + strlen(RF_SOURCE_AFPACKET), opts, ret_source);
	if (!strncmp(spec, RF_SOURCE_AFXDP, strlen(RF_SOURCE_AFXDP)))
		return rf_source_afxdp_open(spec, opts, ret_source);
	if (strchr(spec, ':')) {
		rf_err("unknown source '%s' (IFACE, afpacket:IFACE, afxdp:IFACE[@QUEUE] or "
		       "pcap:FILE)",
		       spec);
		return -EINVAL;
	}
	return rf_source_afpacket_open(spec, opts, ret_source);
}
