/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * File source: a pcap or pcapng capture. libpcap opens every file (it checks
 * the header and maps the link type). A plain pcap file in this machine's
 * byte order, version 2.4, is then read here: read()s of 256 KiB into a buffer
 * allocated at open, packets handed on where they lie in it (no copy, no
 * call per packet). Everything else is read with libpcap, which reuses its
 * buffer on every read, so a burst is copied into an arena allocated at
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
/*
 * Own reading fills the buffer this much at a time, not to its end: the
 * bytes read are parsed and copied on (into the queues) while they are
 * still in the CPU's cache. Reading 4 MiB at once left them to be fetched
 * from memory twice more, and cost a third more CPU time on a 28 MB
 * capture (bench/split.sh); 64 to 256 KiB measured alike, 1 MiB worse.
 */
#define READ_CHUNK (256u << 10)

/* Plain pcap read here: the file header, a record header, the magic numbers. */
#define PCAP_FILE_HDR 24u
#define PCAP_REC_HDR  16u
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PS_REFILL     2 /* ps_read(): the next record is not in the buffer yet */
_Static_assert(ARENA_BYTES >= 2 * (PCAP_REC_HDR + MAX_SNAP), "a record always fits");

struct pcap_source {
	struct rf_source base; /* first: the balancer sees a struct rf_source */
	char path[4096];
	int fd; /* the file, open for every play */
	pcap_t *pcap;
	uint8_t *arena; /* libpcap: the burst's copies; read here: the file's bytes */
	uint32_t arena_used;
	/* Read here (own): arena[rd_off, arena_used) is not handed out yet; the
	 * next read() is at file offset file_off; eof: it returned 0. */
	bool own, nsec, eof, refill; /* refill: the next record is not all in the buffer */
	uint32_t rd_off;
	uint64_t file_off;
	uint32_t pending_rec;	  /* own: where the pending packet's record starts */
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

/*
 * Read the file here? Only what libpcap would hand on unchanged: the plain
 * format, version 2.4, in this machine's byte order (libpcap fixes up some
 * pseudo-headers of the other order, and swapped lengths of older
 * versions), a link type whose records are at most MAX_SNAP bytes.
 */
static bool ps_own(struct pcap_source *p)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
	} h;

	if (pread(p->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return false;
	if ((h.magic != PCAP_MAGIC_US && h.magic != PCAP_MAGIC_NS) || h.major != 2 || h.minor != 4)
		return false;
	if (p->base.linktype == DLT_DBUS || p->base.linktype == DLT_USBPCAP ||
	    p->base.linktype == DLT_EBHSCR)
		return false;
	p->own = true;
	p->nsec = h.magic == PCAP_MAGIC_NS;
	p->eof = false;
	p->file_off = PCAP_FILE_HDR;
	p->arena_used = p->rd_off = 0;
	p->refill = true;
	return true;
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
	if (ps_own(p)) {
		pcap_close(p->pcap);
		p->pcap = NULL;
	}
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
	if (p->pcap)
		pcap_close(p->pcap);
	p->pcap = NULL;
	p->own = false;
	if (ps_open_pcap(p))
		return -EIO;
	/* Every packet of the next play is later than every one of this play. */
	p->ts_offset += p->max_ts - p->min_ts + 1000;
	p->new_play = true;
	return 0;
}

/*
 * How far to fill the buffer: a chunk past `from` (where this refill began
 * reading), and at least the whole next record (its header is at rd_off
 * once it is there).
 */
static uint32_t ps_read_target(const struct pcap_source *p, uint32_t from)
{
	uint32_t target = from + READ_CHUNK, h[4];

	if (p->arena_used - p->rd_off >= PCAP_REC_HDR) {
		memcpy(h, p->arena + p->rd_off, sizeof(h));
		if (h[2] <= MAX_SNAP && p->rd_off + PCAP_REC_HDR + h[2] > target)
			target = p->rd_off + PCAP_REC_HDR + h[2];
	}
	return target < ARENA_BYTES ? target : ARENA_BYTES;
}

/*
 * Own reading, at the start of a burst (the last one's packets are done
 * with) when the buffer ran out: move the part of a record not handed out
 * yet (and the pending packet's record) to the front and read the next
 * chunk from the file behind it.
 */
static int ps_refill(struct pcap_source *p)
{
	uint32_t keep = p->have_pending ? p->pending_rec : p->rd_off, from, target;
	ssize_t r;

	if (!p->refill)
		return 0;
	p->refill = false;
	if (keep) {
		memmove(p->arena, p->arena + keep, p->arena_used - keep);
		p->arena_used -= keep;
		p->rd_off -= keep;
		if (p->have_pending) {
			p->pending.data -= keep;
			p->pending_rec = 0;
		}
	}
	/* (The target grows once a record header read shows a record longer than a chunk.) */
	from = p->arena_used;
	while (!p->eof && p->arena_used < (target = ps_read_target(p, from))) {
		r = pread(p->fd, p->arena + p->arena_used, target - p->arena_used,
			  (off_t)p->file_off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rf_warn("capture file '%s': %s; stopping this source", p->path,
				strerror(errno));
			return -ENODATA;
		}
		p->eof = r == 0;
		p->arena_used += (uint32_t)r;
		p->file_off += (uint64_t)r;
	}
	return 0;
}

/*
 * Own reading: the next record, where it lies in the buffer, as libpcap
 * would give it (caplen cut to the file's snapshot length, the timestamp in
 * nanoseconds). 1: got one; 0: play ended and restarted; PS_REFILL: the
 * record is not all in the buffer (the burst ends here); <0: the end.
 */
static int ps_read_own(struct pcap_source *p, struct rf_packet *pkt, uint64_t *ret_ts,
		       uint32_t *ret_len)
{
	uint32_t left = p->arena_used - p->rd_off, h[4]; /* ts_sec, ts_frac, incl_len, orig_len */

	if (left >= PCAP_REC_HDR) {
		memcpy(h, p->arena + p->rd_off, sizeof(h));
		if (h[2] > MAX_SNAP) {
			rf_warn("capture file '%s': invalid packet capture length %u, bigger than "
				"maximum of %u; stopping this source",
				p->path, h[2], MAX_SNAP);
			return -ENODATA;
		}
	}
	if (left < PCAP_REC_HDR || left - PCAP_REC_HDR < h[2]) {
		if (!p->eof) {
			p->refill = true;
			return PS_REFILL;
		}
		if (!left)
			return ps_rewind(p);
		if (left < PCAP_REC_HDR)
			rf_warn("capture file '%s': truncated dump file; tried to read %u header "
				"bytes, only got %u; stopping this source",
				p->path, PCAP_REC_HDR, left);
		else
			rf_warn("capture file '%s': truncated dump file; tried to read %u captured "
				"bytes, only got %u; stopping this source",
				p->path, h[2], left - PCAP_REC_HDR);
		return -ENODATA;
	}
	pkt->data = p->arena + p->rd_off + PCAP_REC_HDR;
	pkt->caplen = h[2] < p->snap ? h[2] : p->snap;
	*ret_len = h[3];
	/* As libpcap gives them: signed 32-bit fields, scaled, then as the old path adds them. */
	*ret_ts = (uint64_t)(int64_t)(int32_t)h[0] * 1000000000ull +
		  (uint64_t)((int64_t)(int32_t)h[1] * (p->nsec ? 1 : 1000));
	p->pending_rec = p->rd_off;
	p->rd_off += PCAP_REC_HDR + h[2];
	return 1;
}

/*
 * Read one packet (libpcap: into the arena at arena_used). 1: got one; 0:
 * play ended and restarted; PS_REFILL (own reading); <0: the end.
 */
static int ps_read(struct pcap_source *p, struct rf_packet *pkt)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint32_t caplen, len = 0;
	uint64_t ts = 0;
	int r;

	if (p->own) {
		r = ps_read_own(p, pkt, &ts, &len);
		if (r != 1)
			return r;
		caplen = pkt->caplen;
		goto got;
	}
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
	len = h->len;
	pkt->data = p->arena + p->arena_used;
	p->arena_used += caplen;
got:
	if (!p->started) {
		p->min_ts = p->max_ts = ts;
		p->started = true;
	}
	if (!p->ts_offset) {
		p->min_ts = ts < p->min_ts ? ts : p->min_ts;
		p->max_ts = ts > p->max_ts ? ts : p->max_ts;
	}
	pkt->ts_ns = ts + p->ts_offset;
	pkt->caplen = caplen;
	pkt->wirelen = len < caplen ? caplen : len;
	pkt->ifindex = 0;
	pkt->hash = 0;
	pkt->flags = caplen < pkt->wirelen ? RF_PKT_TRUNCATED : 0;
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
	if (!p->own)
		ps_restore_pending(p);
	else if (ps_refill(p) < 0)
		s->finished = true;
	while (n < max && !s->finished) {
		if (!p->have_pending) {
			if (!p->own && ARENA_BYTES - p->arena_used < p->snap)
				break;
			r = ps_read(p, &p->pending);
			if (r < 0) {
				s->finished = true;
				break;
			}
			if (r == PS_REFILL)
				break;
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
