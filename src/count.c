/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan count: pfcount's job. Counts what an interface (AF_PACKET ring) or
 * a ringfan queue delivers, prints pfcount's statistics block every second
 * (or a JSON object), and optionally a line per packet and a pcap copy.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>
#include <ringfan/ringfan.h>

#include "afpacket.h"
#include "cli.h"
#include "pktline.h"
#include "source.h"
#include "thread.h"
#include "util.h"

#define BURST		 256
#define DEF_SNAPLEN	 262144
#define MAX_SNAPLEN	 262144u
#define TICK_NS		 1000000000ull
#define NS_PER_MS	 1000000ull
#define QUEUE_NAME_MAX	 32
#define DEF_RING_SIZE_MB 64
/*
 * On a queue, while packets flow: wake up when 256 KiB wait or after this
 * many microseconds. The balancer's live capture already hands packets on
 * every 10 ms at low rates (AF_PACKET's block timeout), so a bound of the
 * same order adds no latency that matters to a count, and costs a wake-up
 * per block rather than several (the library's default is 1 ms).
 */
#define DEF_WAKE_US 10000

struct count_opts {
	const char *source; /* -i: interface or CLUSTER@QUEUE */
	const char *filter;
	const char *out; /* -w; "-" is stdout */
	const char *dir; /* --dir: queue directory */
	uint64_t max_pkts;
	uint64_t duration_ns;
	uint64_t ring_size;
	uint32_t snaplen;
	int wait_ms; /* --wait: for the queue to appear; -1 forever, 0 not at all */
	/* Runs of a queue (see ringfan-count(1)): by default the count stops at the end
	 * of the run it reads, or goes on with a newer run that began before that end. */
	bool follow;	  /* --follow: at the end of a run, wait for the next */
	bool next_run;	  /* --next-run: skip what is left of a finished run */
	bool stop_at_end; /* --stop-at-end: never go on to another run */
	bool verbose, json, quiet, exit_on_detach, promisc;
	struct rf_cpus cpu; /* -g */
	uint64_t
		shunt_after; /* --shunt-after: ask the balancer to shunt a flow after N; 0: never */
	uint32_t wake_us;    /* --wake-us: queue: wake-up time bound */
	bool spin;	     /* --spin: queue: spin a little before sleeping */
};

/*
 * --shunt-after: packets seen per flow hash, in a table fixed at start
 * (flows that find no slot in reach are not counted, so never asked for).
 */
#define SHUNT_SLOTS (1u << 16)
#define SHUNT_REACH 8
struct shunt_slot {
	uint32_t hash;
	uint32_t packets; /* 0: free */
};

/* What -i names (the balancer's source syntax, and queues). */
enum src_kind { SRC_IFACE, SRC_FILE, SRC_QUEUE };

struct count {
	struct count_opts o;
	/* Exactly one source. */
	enum src_kind kind;
	const char *ifname; /* interface, without "afpacket:" */
	const char *path;   /* capture file, without "pcap:" */
	struct rf_afp *afp;
	struct rf_consumer *cons;
	pcap_t *file;
	char qname[QUEUE_NAME_MAX];
	uint32_t cluster, queue;
	char dir_used[4096]; /* the queue directory, for messages */
	/* Filter: in the kernel for interfaces, here for files and queues. */
	struct bpf_program prog;
	bool have_prog;
	int linktype; /* DLT_* of the source's frames */
	pcap_t *dead; /* compiles the filter and opens the dumper */
	pcap_dumper_t *dumper;
	FILE *dumpf;
	int dump_errno; /* errno of the first failed write to dumpf */
	FILE *statf;	/* statistics and packet lines: stdout, or stderr when -w - */
	time_t tsec;	/* second whose local time tstr holds (-v) */
	char tstr[16];

	uint64_t pkts, bytes, filtered, dropped;
	uint64_t start_ns, last_ns, last_pkts, last_bytes;
	uint64_t drop_base; /* the queue's drops when we attached: we count the rest */
	uint64_t gen, ended_gen, generations, restarts;
	struct shunt_slot *shunt; /* --shunt-after */
	bool iface_down, producer_gone;
	bool done;
	int status;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

#define STR_(x) #x
#define STR(x)	STR_(x)

enum {
	OPT_INTERFACE = 'i',
	OPT_FILTER = 'f',
	OPT_VERBOSE = 'v',
	OPT_WRITE = 'w',
	OPT_COUNT = 'N',
	OPT_JSON = 'j',
	OPT_QUIET = 'q',
	OPT_SNAPLEN = 's',
	OPT_CPU = 'g',
	OPT_HELP = 'h',
	OPT_DURATION = 256,
	OPT_EXIT_ON_DETACH,
	OPT_NO_PROMISC,
	OPT_CAPTURE_RING,
	OPT_DIR,
	OPT_WAIT,
	OPT_FOLLOW,
	OPT_NEXT_RUN,
	OPT_STOP_AT_END,
	OPT_OLD_RING_SIZE, /* --ring-size: the queue ring in balance; here --capture-ring-size */
	OPT_SHUNT_AFTER,
	OPT_WAKE_US,
	OPT_SPIN,
};

static const struct opt_desc opts[] = {
	{OPT_INTERFACE, "interface", "SRC",
	 "IFACE or afpacket:IFACE, pcap:FILE, or queue CLUSTER@QUEUE (\"99@0\")"},
	{OPT_FILTER, "filter", "EXPR",
	 "BPF filter (tcpdump syntax); in the kernel for an interface, here for the others "
	 "(rejected: 'filtered')"},
	{OPT_VERBOSE, "verbose", NULL,
	 "one line per packet: time, layers, addresses, ports, length"},
	{OPT_WRITE, "write", "FILE",
	 "write the packets (after the filter) to a pcap file (nanosecond timestamps); '-' is "
	 "standard output"},
	{OPT_COUNT, "count", "N", "stop after N packets"},
	{OPT_DURATION, "duration", "SECS", "stop after SECS seconds"},
	{OPT_JSON, "json", NULL, "one JSON object per second, and a final one (\"final\": true)"},
	{OPT_QUIET, "quiet", NULL, "print only the final summary"},
	{OPT_SNAPLEN, "snaplen", "BYTES", "bytes kept per packet (default " STR(DEF_SNAPLEN) ")"},
	{OPT_CPU, "cpu", "CPU", "count on CPU only (pfcount -g)"},
	{OPT_EXIT_ON_DETACH, "exit-on-detach", NULL,
	 "queue: exit when the producer goes away (default: wait)"},
	{OPT_DIR, "dir", "DIR",
	 "queue: its directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_WAIT, "wait", "SECS", "queue: wait for it to appear (forever, or SECS seconds)", 0,
	 true},
	{OPT_FOLLOW, "follow", NULL, "queue: at the end of a run, wait for the next one"},
	{OPT_NEXT_RUN, "next-run", NULL,
	 "queue: skip what is left of a finished run and wait for the next one"},
	{OPT_STOP_AT_END, "stop-at-end", NULL,
	 "queue: never go on to another run, not even one that began before the end of this "
	 "one"},
	{OPT_SHUNT_AFTER, "shunt-after", "N",
	 "queue: after N packets of a flow, ask the balancer to stop sending it "
	 "(rf_consumer_shunt)"},
	{OPT_WAKE_US, "wake-us", "US",
	 "queue: while packets flow, wake up at most every US microseconds (or when 256 KiB "
	 "wait; default " STR(DEF_WAKE_US) "): the most a packet waits in the queue"},
	{OPT_SPIN, "spin", NULL,
	 "queue: spin a few microseconds before sleeping (less latency, more CPU)"},
	{OPT_NO_PROMISC, "no-promisc", NULL, "interface: do not turn on promiscuous mode"},
	{OPT_CAPTURE_RING, "capture-ring-size", "BYTES",
	 "interface: kernel ring size (default " STR(DEF_RING_SIZE_MB) "M)"},
	{OPT_OLD_RING_SIZE, "ring-size", "BYTES", NULL, OPT_CAPTURE_RING},
	{OPT_HELP, "help", NULL, "this help"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan count -i IFACE|pcap:FILE|CLUSTER@QUEUE [OPTIONS]\n"
		   "\n"
		   "Count the packets an interface, a capture file or a ringfan queue delivers,\n"
		   "and print pfcount's statistics every second.\n"
		   "\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\n"
		   "A capture file is read as fast as it goes, then the count ends. The end of\n"
		   "a queue's run (a file replay that ended) ends the count once drained\n"
		   "(status 0), unless a newer run began before: then the count goes on with\n"
		   "it. A stopped or restarting balancer does not end it. SIGINT and SIGTERM\n"
		   "print the final summary and exit 0. Exit status 2: bad usage or filter;\n"
		   "1: runtime error. See ringfan-count(1).\n");
}

static int bad_value(const char *opt, const char *val)
{
	rf_err("count: invalid value for %s: '%s'", opt, val);
	return -EINVAL;
}

static int set_run_end(struct count_opts *o, int c)
{
	if (c == OPT_NEXT_RUN)
		o->next_run = true;
	else if (c == OPT_FOLLOW)
		o->follow = true;
	else
		o->stop_at_end = true;
	if (o->follow && o->stop_at_end) {
		rf_err("count: --follow and --stop-at-end exclude each other");
		return -EINVAL;
	}
	return 0;
}

static int set_cpu(struct count_opts *o, const char *arg)
{
	uint64_t v;

	if (rf_parse_u64(arg, 0, CPU_SETSIZE - 1, &v))
		return bad_value("-g/--cpu", arg);
	CPU_ZERO(&o->cpu.set);
	CPU_SET((int)v, &o->cpu.set);
	o->cpu.given = true;
	return 0;
}

static int set_wait(struct count_opts *o, const char *arg)
{
	double d;

	o->wait_ms = -1;
	if (arg && rf_parse_double(arg, 0.001, 1e6, &d))
		return bad_value("--wait", arg);
	if (arg)
		o->wait_ms = (int)(d * 1000);
	return 0;
}

static int parse_one(void *arg_o, int c, const char *arg)
{
	struct count_opts *o = arg_o;
	uint64_t v;
	double d;

	switch (c) {
	case OPT_INTERFACE:
		o->source = arg;
		return 0;
	case OPT_FILTER:
		o->filter = arg;
		return 0;
	case OPT_VERBOSE:
		o->verbose = true;
		return 0;
	case OPT_WRITE:
		o->out = arg;
		return *arg ? 0 : bad_value("-w/--write", arg);
	case OPT_COUNT:
		if (rf_parse_u64(arg, 1, UINT64_MAX, &o->max_pkts))
			return bad_value("-N/--count", arg);
		return 0;
	case OPT_DURATION:
		if (rf_parse_double(arg, 0.001, 1e9, &d))
			return bad_value("--duration", arg);
		o->duration_ns = (uint64_t)(d * 1e9);
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	case OPT_EXIT_ON_DETACH:
		o->exit_on_detach = true;
		return 0;
	case OPT_SNAPLEN:
		if (rf_parse_u64(arg, 64, MAX_SNAPLEN, &v))
			return bad_value("-s/--snaplen", arg);
		o->snaplen = (uint32_t)v;
		return 0;
	case OPT_CPU:
		return set_cpu(o, arg);
	case OPT_NO_PROMISC:
		o->promisc = false;
		return 0;
	case OPT_CAPTURE_RING:
		if (rf_parse_size(arg, 16 << 10, 16ull << 30, &o->ring_size))
			return bad_value("--capture-ring-size", arg);
		return 0;
	case OPT_DIR:
		o->dir = arg;
		return *arg ? 0 : bad_value("--dir", arg);
	case OPT_WAIT:
		return set_wait(o, arg);
	case OPT_FOLLOW:
	case OPT_NEXT_RUN:
	case OPT_STOP_AT_END:
		return set_run_end(o, c);
	case OPT_SHUNT_AFTER:
		if (rf_parse_u64(arg, 1, UINT32_MAX - 1, &o->shunt_after))
			return bad_value("--shunt-after", arg);
		return 0;
	case OPT_WAKE_US:
		if (rf_parse_u64(arg, 1, 10 * 1000 * 1000, &v))
			return bad_value("--wake-us", arg);
		o->wake_us = (uint32_t)v;
		return 0;
	case OPT_SPIN:
		o->spin = true;
		return 0;
	}
	return -EINVAL;
}

/* Returns 0, 1 (--help printed), or -EINVAL (message printed). */
static int parse_args(struct count_opts *o, int argc, char **argv)
{
	static const struct rf_opts count_opts = {opts, ARRAY_SIZE(opts), parse_one, usage};
	char allowed[256];
	int r, cpu;

	o->snaplen = DEF_SNAPLEN;
	o->wake_us = DEF_WAKE_US;
	o->promisc = true;
	r = rf_opts_parse(&count_opts, argc, argv, o, NULL);
	if (r)
		return r < 0 ? 1 : -EINVAL;
	if (!o->source) {
		rf_err("count: -i IFACE, -i pcap:FILE or -i CLUSTER@QUEUE is required (try "
		       "'ringfan count --help')");
		return -EINVAL;
	}
	if (rf_cpus_check(&o->cpu, &cpu, allowed, sizeof(allowed))) {
		rf_err("count: -g: CPU %d is not one this process may run on (it may use %s)", cpu,
		       allowed);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* pfcount's number format: thousands separators, optionally two decimals. */
static char *fmt_num(double v, bool decimals, char *buf, size_t len)
{
	char ip[32];
	uint64_t whole;

	if (!(v >= 0) || v > 1.8e19)
		v = 0;
	whole = (uint64_t)v;
	rf_fmt_thousands(whole, ip, sizeof(ip));
	if (decimals)
		snprintf(buf, len, "%s.%02u", ip, (unsigned int)((v - (double)whole) * 100) % 100);
	else
		snprintf(buf, len, "%s", ip);
	return buf;
}

static double per_sec(uint64_t v, uint64_t ns)
{
	return ns ? (double)v * 1e9 / (double)ns : 0;
}

static void print_block(struct count *c, uint64_t now, bool final)
{
	uint64_t ns = now - c->start_ns, dns = now - c->last_ns, total = c->pkts + c->dropped;
	uint64_t dpkts = c->pkts - c->last_pkts, dbytes = c->bytes - c->last_bytes;
	char b1[48], b2[48], b3[48];
	FILE *f = c->statf;

	fprintf(f, "=========================\n");
	fprintf(f, "Absolute Stats: [%" PRIu64 " pkts rcvd][%" PRIu64 " pkts dropped]\n", c->pkts,
		c->dropped);
	fprintf(f, "Total Pkts=%" PRIu64 "/Dropped=%.1f %%\n", total,
		total ? (double)c->dropped * 100 / (double)total : 0.0);
	fprintf(f, "%s pkts - %s bytes", fmt_num((double)c->pkts, false, b1, sizeof(b1)),
		fmt_num((double)c->bytes, false, b2, sizeof(b2)));
	fprintf(f, " [%s pkt/sec - %s Mbit/sec]\n",
		fmt_num(per_sec(c->pkts, ns), true, b1, sizeof(b1)),
		fmt_num(per_sec(c->bytes * 8, ns) / 1e6, true, b2, sizeof(b2)));
	if (c->filtered)
		fprintf(f, "%s pkts filtered out\n",
			fmt_num((double)c->filtered, false, b1, sizeof(b1)));
	if (!final) {
		fprintf(f, "=========================\n");
		fprintf(f, "Actual Stats: %" PRIu64 " pkts [%s ms][%s pps/%s Gbps]\n", dpkts,
			fmt_num((double)dns / 1e6, true, b1, sizeof(b1)),
			fmt_num(per_sec(dpkts, dns), true, b2, sizeof(b2)),
			fmt_num(per_sec(dbytes * 8, dns) / 1e9, true, b3, sizeof(b3)));
	}
	fprintf(f, "=========================\n\n");
}

/* s as a JSON string (interface names may hold quotes or backslashes). */
static void put_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* Interval objects give the interval's rates; the final one the whole run's. */
static void print_json(struct count *c, uint64_t now, bool final)
{
	uint64_t ns = final ? now - c->start_ns : now - c->last_ns;
	uint64_t p = final ? c->pkts : c->pkts - c->last_pkts;
	uint64_t b = final ? c->bytes : c->bytes - c->last_bytes;

	fprintf(c->statf, "{\"source\":");
	put_json_str(c->statf, c->kind == SRC_IFACE  ? c->ifname
			       : c->kind == SRC_FILE ? c->o.source
						     : c->qname);
	fprintf(c->statf,
		",\"time\":%.3f,\"elapsed\":%.3f,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"dropped\":%" PRIu64 ",\"filtered\":%" PRIu64
		",\"pps\":%.1f,\"bps\":%.1f,\"final\":%s}\n",
		(double)rf_now_real_ns() / 1e9, (double)(now - c->start_ns) / 1e9, c->pkts,
		c->bytes, c->dropped, c->filtered, per_sec(p, ns), per_sec(b * 8, ns),
		final ? "true" : "false");
}

/* Kernel or queue drops, as cumulative counts. */
static void update_drops(struct count *c)
{
	struct rf_consumer_stats st;
	uint64_t kp, kd;

	if (c->afp) {
		if (rf_afp_stats(c->afp, &kp, &kd) == 0)
			c->dropped = kd;
		return;
	}
	/* The queue's drops, over every generation we read; a file drops nothing. */
	if (c->cons && rf_consumer_stats(c->cons, &st, sizeof(st)) == 0)
		c->dropped = st.dropped;
}

static void report(struct count *c, uint64_t now, bool final)
{
	update_drops(c);
	if (final || !c->o.quiet) {
		if (c->o.json)
			print_json(c, now, final);
		else
			print_block(c, now, final);
		fflush(c->statf);
	}
	c->last_ns = now;
	c->last_pkts = c->pkts;
	c->last_bytes = c->bytes;
}

/* "HH:MM:SS" of local time; localtime_r() is costly, so only once per second of packets. */
static const char *clock_str(struct count *c, time_t sec)
{
	struct tm tm;

	if (sec == c->tsec && c->tstr[0])
		return c->tstr;
	c->tsec = sec;
	if (!localtime_r(&sec, &tm) || !strftime(c->tstr, sizeof(c->tstr), "%H:%M:%S", &tm))
		snprintf(c->tstr, sizeof(c->tstr), "?");
	return c->tstr;
}

static void print_pkt(struct count *c, const struct rf_packet *p, uint32_t caplen)
{
	char line[RF_PKTLINE_MAX];

	rf_pktline(p->data, caplen, p->wirelen, c->linktype, line, sizeof(line));
	fprintf(c->statf, "%s.%09u %s\n", clock_str(c, (time_t)(p->ts_ns / 1000000000ull)),
		(unsigned int)(p->ts_ns % 1000000000ull), line);
}

/* ------------------------------------------------------------------ */
/* Packets                                                             */
/* ------------------------------------------------------------------ */

static void dump_pkt(struct count *c, const struct rf_packet *p, uint32_t caplen)
{
	struct pcap_pkthdr h;

	/* A nanosecond dumper takes nanoseconds in tv_usec. */
	h.ts.tv_sec = (time_t)(p->ts_ns / 1000000000ull);
	h.ts.tv_usec = (suseconds_t)(p->ts_ns % 1000000000ull);
	h.caplen = caplen;
	h.len = p->wirelen;
	pcap_dump((u_char *)c->dumper, &h, p->data);
	/* stdio keeps the error but not its errno: take it while it is fresh. */
	if (unlikely(ferror(c->dumpf)) && !c->dump_errno)
		c->dump_errno = errno ? errno : EIO;
}

/*
 * Does the packet pass the filter (files and queues: it runs here;
 * interfaces: the kernel ran it)? Sets *ret_caplen to the bytes to keep.
 */
static bool keep(const struct count *c, const struct rf_packet *p, uint32_t *ret_caplen)
{
	uint32_t caplen = p->caplen < c->o.snaplen ? p->caplen : c->o.snaplen;
	u_int snap;

	if (c->have_prog && c->kind != SRC_IFACE) {
		snap = bpf_filter(c->prog.bf_insns, p->data, p->wirelen, p->caplen);
		if (!snap)
			return false;
		if (snap < caplen)
			caplen = snap;
	}
	*ret_caplen = caplen;
	return true;
}

static void handle_burst(struct count *c, const struct rf_packet *pkts, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct rf_packet *p = &pkts[i];
		uint32_t caplen;

		if (!keep(c, p, &caplen)) {
			c->filtered++;
			continue;
		}
		c->pkts++;
		c->bytes += p->wirelen;
		if (c->o.verbose)
			print_pkt(c, p, caplen);
		if (c->dumper)
			dump_pkt(c, p, caplen);
	}
	if (c->o.max_pkts && c->pkts >= c->o.max_pkts)
		c->done = true;
}

/* Most packets to take in one burst: never past -N (filtered ones use no budget but
 * would still be released, so stay within it). */
static unsigned int burst_max(const struct count *c)
{
	uint64_t left;

	if (!c->o.max_pkts)
		return BURST;
	left = c->o.max_pkts - c->pkts;
	return left < BURST ? (unsigned int)left : BURST;
}

/* A write error of the -w file so far; flush: write out the buffer first. */
static int check_dump(struct count *c, bool flush)
{
	if (!c->dumper)
		return 0;
	if (flush && !c->dump_errno && fflush(c->dumpf))
		c->dump_errno = errno ? errno : EIO;
	if (!c->dump_errno && ferror(c->dumpf))
		c->dump_errno = EIO;
	if (!c->dump_errno)
		return 0;
	rf_err("cannot write '%s': %s", c->o.out, strerror(c->dump_errno));
	return -EIO;
}

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

static int afp_step(struct count *c, int timeout_ms)
{
	struct rf_packet pkts[BURST];
	int r, n;

	r = rf_afp_wait(c->afp, timeout_ms);
	if (r == -EINTR || r == 0)
		return 0;
	if (r == -ENETDOWN) {
		if (!c->iface_down)
			rf_warn("interface '%s' is down; waiting for it to come back",
				rf_afp_ifname(c->afp));
		c->iface_down = true;
		return 0;
	}
	if (r < 0) {
		rf_err("capture on '%s' failed: %s", rf_afp_ifname(c->afp), strerror(-r));
		return r;
	}
	n = rf_afp_next_burst(c->afp, pkts, burst_max(c));
	if (n > 0 && c->iface_down) {
		rf_warn("interface '%s' is up again", rf_afp_ifname(c->afp));
		c->iface_down = false;
	}
	handle_burst(c, pkts, n);
	rf_afp_release(c->afp);
	return 0;
}

/* Up to a burst of a capture file's packets, one at a time (libpcap reuses its buffer). */
static int file_step(struct count *c)
{
	unsigned int i, max = burst_max(c);
	struct pcap_pkthdr *h;
	const u_char *data;
	struct rf_packet p;
	int r = 1;

	for (i = 0; i < max && !c->done && (r = pcap_next_ex(c->file, &h, &data)) == 1; i++) {
		/* Opened with nanosecond precision: tv_usec holds nanoseconds. */
		p = (struct rf_packet){.data = data,
				       .ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull +
						(uint64_t)h->ts.tv_usec,
				       .caplen = h->caplen,
				       .wirelen = h->len};
		handle_burst(c, &p, 1);
	}
	if (r == PCAP_ERROR_BREAK) {
		c->done = true; /* the end of the file */
	} else if (r == PCAP_ERROR) {
		rf_err("cannot read capture file '%s': %s", c->path, pcap_geterr(c->file));
		return -EIO;
	}
	return 0;
}

/* "12:00:03 (5 s ago)" for a CLOCK_REALTIME time in ns. */
static const char *when(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	uint64_t now = rf_now_real_ns();
	struct tm tm;
	char hms[16] = "?";

	if (localtime_r(&t, &tm))
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s (%llu s ago)", hms,
		 (unsigned long long)(now > ns ? (now - ns) / 1000000000ull : 0));
	return buf;
}

static const char *dlt_name(int dlt)
{
	const char *n = pcap_datalink_val_to_name(dlt);

	return n ? n : "unknown";
}

/*
 * Say what changed since the last burst: the producer came back, a new run
 * began. -EPROTOTYPE if the new run's link type is not the one the filter
 * or the file was made for.
 */
static int note_changes(struct count *c)
{
	struct rf_consumer_stats st;
	struct rf_queue_info qi;
	char t[64];

	if (rf_consumer_stats(c->cons, &st, sizeof(st)) < 0)
		return 0;
	if (st.producer_restarts != c->restarts) {
		c->restarts = st.producer_restarts;
		rf_warn("producer of queue %s is back", c->qname);
		c->producer_gone = false;
	}
	if (st.generations != c->generations && c->o.stop_at_end) {
		rf_warn("queue %s: a new run began; stopping (--stop-at-end)", c->qname);
		c->done = true;
		return 0;
	}
	if (st.generations != c->generations && rf_consumer_info(c->cons, &qi, sizeof(qi)) == 0) {
		c->generations = st.generations;
		c->gen = qi.generation;
		rf_warn("queue %s: a new run (generation %llu, started %s)", c->qname,
			(unsigned long long)qi.generation, when(qi.started_ns, t, sizeof(t)));
		if (qi.linktype == c->linktype)
			return 0;
		/* A filter or a file is made for one link type: -v lines are not. */
		if (c->have_prog || c->dumper) {
			rf_err("queue %s: the new run carries %s packets, the %s was made for %s",
			       c->qname, dlt_name(qi.linktype), c->dumper ? "file" : "filter",
			       dlt_name(c->linktype));
			return -EPROTOTYPE;
		}
		c->linktype = qi.linktype;
	}
	return 0;
}

/*
 * The end of a run (everything of a finished generation read, and no newer
 * one yet): stop, unless --follow.
 */
static void run_ended(struct count *c)
{
	struct rf_queue_info qi = {0};

	if (!c->o.follow) {
		c->done = true;
		return;
	}
	rf_consumer_info(c->cons, &qi, sizeof(qi));
	if (c->ended_gen != qi.generation)
		rf_warn("queue %s: end of the run (generation %llu); waiting for the next run",
			c->qname, (unsigned long long)qi.generation);
	c->ended_gen = qi.generation; /* said once per run */
}

/* --shunt-after: count each packet into its flow; at N, ask for the flow to be shunted. */
static void shunt_note(struct count *c, const struct rf_packet *pkts, int n)
{
	int i, k;

	for (i = 0; i < n; i++) {
		uint32_t h = pkts[i].hash;

		for (k = 0; k < SHUNT_REACH; k++) {
			struct shunt_slot *s = &c->shunt[(h + (uint32_t)k) & (SHUNT_SLOTS - 1)];

			if (s->packets && s->hash != h)
				continue;
			s->hash = h;
			if (s->packets < UINT32_MAX && ++s->packets == c->o.shunt_after)
				rf_consumer_shunt(c->cons, h, 0);
			break;
		}
	}
}

static int queue_step(struct count *c, int timeout_ms)
{
	struct rf_packet pkts[BURST];
	int n, r;

	n = rf_consumer_recv(c->cons, pkts, burst_max(c), timeout_ms);
	if (n > 0) {
		r = note_changes(c);
		if (r || c->done) /* not ours to take: not released, they stay in the queue */
			return r;
		handle_burst(c, pkts, n);
		if (c->shunt)
			shunt_note(c, pkts, n);
		/* Released packets are never delivered again: they must be in the
		 * file (the kernel's page cache) first, not in our stdio buffer. */
		r = check_dump(c, true);
		if (r)
			return r;
		rf_consumer_release(c->cons);
		return 0;
	}
	switch (n) {
	case 0:
	case -EINTR:
		return note_changes(c);
	case -ENODATA:
		run_ended(c);
		return 0;
	case -EPIPE:
		c->producer_gone = true;
		if (c->o.exit_on_detach) {
			rf_warn("producer of queue %s gone; exiting", c->qname);
			c->done = true;
		} else {
			rf_warn("producer of queue %s gone; waiting for it to come back", c->qname);
		}
		return 0;
	}
	if (n == -EPERM)
		rf_err("cannot follow queue %s: its new run was made by another user than the "
		       "previous one (or its directory changed owner); not trusted",
		       c->qname);
	else
		rf_err("cannot read queue %s: %s", c->qname, strerror(-n));
	return n;
}

/* "no such interface" and what -i may have meant instead. */
static void no_iface_message(const struct count *c)
{
	char hint[RF_SOURCE_HINT_MAX];

	rf_err("no such interface '%s'%s", c->ifname,
	       rf_source_iface_hint(c->ifname, hint, sizeof(hint)));
}

static int open_iface(struct count *c)
{
	struct rf_afp_opts ao = {
		.ifname = c->ifname,
		.ring_size = c->o.ring_size,
		.snaplen = c->o.snaplen,
		.promisc = c->o.promisc,
		.filter = c->have_prog ? &c->prog : NULL,
	};
	int r = rf_afp_open(&ao, &c->afp);

	if (r == 0)
		return 0;
	if (r == -ENODEV)
		no_iface_message(c);
	else if (r == -ENETDOWN)
		rf_err("interface '%s' is down", c->ifname);
	else if (r == -EPERM || r == -EACCES)
		rf_err("cannot capture on '%s': %s (CAP_NET_RAW is needed)", c->ifname,
		       strerror(-r));
	else
		rf_err("cannot capture on '%s': %s", c->ifname, strerror(-r));
	return r;
}

static void busy_message(const struct count *c)
{
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = c->o.dir};
	struct rf_queue_info qi;

	if (rf_queue_query(c->qname, &co, &qi, sizeof(qi)) < 0 || qi.consumer_pid <= 0)
		rf_err("queue %s is busy: another consumer is attached to it", c->qname);
	else if (qi.consumer_pid == qi.producer_pid)
		rf_err("queue %s is busy: its balancer (pid %d) re-emits it itself (-r %u:...); "
		       "count on the egress's target instead",
		       c->qname, (int)qi.consumer_pid, c->queue);
	else
		rf_err("queue %s is busy: process %d is attached to it", c->qname,
		       (int)qi.consumer_pid);
}

/* "no such queue": say which queues of the cluster there are, if any. */
static void missing_message(const struct count *c)
{
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = c->o.dir};
	struct rf_queue_info qi;
	char name[QUEUE_NAME_MAX];
	uint32_t n = 0;

	for (n = 0; n <= RF_MAX_QUEUE; n++) {
		snprintf(name, sizeof(name), "%u@%u", c->cluster, n);
		if (rf_queue_query(name, &co, &qi, sizeof(qi)) < 0)
			break;
	}
	if (n)
		rf_err("no such queue %s: cluster %u has queues %u@0 to %u@%u", c->qname,
		       c->cluster, c->cluster, c->cluster, n - 1);
	else
		rf_err("no such queue %s: cluster %u has no queues in '%s' (is its balancer "
		       "running? --wait waits for it; --dir names another directory)",
		       c->qname, c->cluster, c->dir_used);
}

static void untrusted_message(const struct count *c, int r)
{
	struct rf_dir_info di;

	if (rf_queue_dir_check(c->o.dir, 0, &di) < 0)
		rf_err("cannot open queue %s: its directory '%s' (owner uid %u, mode %04o) is not "
		       "safe: %s",
		       c->qname, di.path, (unsigned int)di.owner, (unsigned int)(di.mode & 07777),
		       r == -ENOTDIR ? "not a directory, or a symbolic link"
		       : di.named
			       ? "others than its owner may write to it"
			       : "anyone may have made it (it is not owned by root or you, or "
				 "others may write to it); name a directory you trust with --dir");
	else
		rf_err("cannot open queue %s: its files are not safe (owned by another user than "
		       "the directory's, or writable by others)",
		       c->qname);
}

/* Attached to a run that is over: say so, and what happens to what is left of it. */
static void finished_notice(struct count *c)
{
	struct rf_queue_info qi;
	char t[64];

	if (rf_consumer_info(c->cons, &qi, sizeof(qi)) < 0 || !qi.finished)
		return;
	c->gen = qi.generation;
	rf_warn("queue %s: its run (generation %llu) finished at %s with %llu packets not yet "
		"read; %s",
		c->qname, (unsigned long long)qi.generation, when(qi.finished_ns, t, sizeof(t)),
		(unsigned long long)qi.backlog_packets,
		c->o.next_run ? "skipping them, waiting for the next run"
		: c->o.follow ? "reading them, then waiting for the next run"
			      : "reading them, then stopping (--next-run skips them and waits for "
				"the next run; --follow goes on with the next runs)");
}

static int open_queue(struct count *c)
{
	struct rf_consumer_opts co = {.sz = sizeof(co),
				      .dir = c->o.dir,
				      .wait_ms = c->o.wait_ms,
				      .wake_us = c->o.wake_us};
	int r;

	/* A count may run for long: the ring's first touch is attach time. */
	co.flags |= RF_CONSUMER_PREFAULT;
	if (!c->o.spin)
		co.flags |= RF_CONSUMER_NO_SPIN;
	if (c->o.next_run)
		co.flags |= RF_CONSUMER_SKIP_FINISHED;
	r = rf_consumer_open(c->qname, &co, &c->cons);
	if (r == 0) {
		finished_notice(c);
		return 0;
	}
	if (r == -ENOENT)
		missing_message(c);
	else if (r == -EBUSY)
		busy_message(c);
	else if (r == -EPROTO)
		rf_err("cannot open queue %s: not a ringfan queue of this version", c->qname);
	else if (r == -EACCES)
		rf_err("cannot open queue %s: permission denied (the balancer's "
		       "--group/--file-mode or "
		       "--access decide who may read it)",
		       c->qname);
	else if (r == -EPERM || r == -ENOTDIR)
		untrusted_message(c, r);
	else
		rf_err("cannot open queue %s: %s", c->qname, strerror(-r));
	return r;
}

/*
 * What -i names: "pcap:FILE", "afpacket:IFACE", a queue ("99@0",
 * "ringfan:99@0"), else an interface. A name with '@' that starts with a
 * digit is a queue name gone wrong (no interface is called that), and a
 * name with another prefix is no source at all (no interface has a ':').
 * Returns 0, or -EINVAL with the message printed.
 */
static int classify_source(struct count *c)
{
	const char *s = c->o.source;
	uint32_t cl, q;
	int r;

	c->kind = SRC_IFACE;
	c->ifname = s;
	if (rf_source_file(s)) {
		c->kind = SRC_FILE;
		c->path = rf_source_file(s);
		return *c->path ? 0 : bad_value("-i", s);
	}
	if (!strncmp(s, "afpacket:", 9)) {
		c->ifname = s + 9;
		return *c->ifname ? 0 : bad_value("-i", s);
	}
	r = rf_queue_name_parse(s, &cl, &q);
	if (r == 0) {
		snprintf(c->qname, sizeof(c->qname), "%u@%u", cl, q);
		c->kind = SRC_QUEUE;
		c->cluster = cl;
		c->queue = q;
		return 0;
	}
	/* "99@" or "7@x" was meant as a queue: say so rather than "no such interface". */
	if (!strncmp(s, "ringfan:", 8) ||
	    (strchr(s, '@') && (r == -ERANGE || isdigit((unsigned char)s[0])))) {
		rf_err("count: invalid queue name '%s' (CLUSTER@QUEUE, cluster 0-%u, queue 0-%u)",
		       s, RF_MAX_CLUSTER, RF_MAX_QUEUE);
		return -EINVAL;
	}
	if (!strncmp(s, "zc:", 3) && !rf_queue_name_parse(s + 3, &cl, &q)) {
		rf_err("count: '%s' is how PF_RING names a queue; here it is -i %s", s, s + 3);
		return -EINVAL;
	}
	if (strchr(s, ':')) {
		rf_err("count: unknown source '%s' (IFACE, afpacket:IFACE, pcap:FILE or "
		       "CLUSTER@QUEUE)",
		       s);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up and main loop                                                */
/* ------------------------------------------------------------------ */

static int setup_filter(struct count *c)
{
	if (!c->o.filter)
		return 0;
	if (pcap_compile(c->dead, &c->prog, c->o.filter, 1, PCAP_NETMASK_UNKNOWN)) {
		rf_err("count: bad filter '%s': %s", c->o.filter, pcap_geterr(c->dead));
		return -EINVAL;
	}
	c->have_prog = true;
	return 0;
}

static int setup_dumper(struct count *c)
{
	if (!c->o.out)
		return 0;
	c->dumpf = strcmp(c->o.out, "-") ? fopen(c->o.out, "wbe") : stdout;
	if (!c->dumpf) {
		rf_err("cannot write '%s': %s", c->o.out, strerror(errno));
		return -errno;
	}
	/* Owns dumpf from here: pcap_dump_close() closes it. */
	c->dumper = pcap_dump_fopen(c->dead, c->dumpf);
	if (!c->dumper) {
		rf_err("cannot write '%s': %s", c->o.out, pcap_geterr(c->dead));
		if (c->dumpf != stdout)
			fclose(c->dumpf);
		return -EIO;
	}
	return 0;
}

/* A queue's link type is its own (it says which with its packets): attach first. */
static int queue_linktype(struct count *c)
{
	struct rf_dir_info di;
	struct rf_queue_info qi;

	rf_queue_dir_check(c->o.dir, 0, &di);
	snprintf(c->dir_used, sizeof(c->dir_used), "%s", di.path);
	if (open_queue(c) < 0)
		return -1;
	rf_consumer_info(c->cons, &qi, sizeof(qi));
	c->linktype = qi.linktype;
	return 0;
}

/* The interface's link type, before the filter is compiled for it. */
static int iface_linktype(struct count *c)
{
	int r = rf_afp_iface_linktype(c->ifname);

	if (r >= 0) {
		c->linktype = r;
		return 0;
	}
	if (r == -ENODEV)
		no_iface_message(c);
	else if (r == -EOPNOTSUPP)
		rf_err("cannot capture on '%s': its link type is not supported", c->ifname);
	else
		rf_err("cannot capture on '%s': %s", c->ifname, strerror(-r));
	return r;
}

/* A capture file: opened here, it says its link type. */
static int file_linktype(struct count *c)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	c->file = pcap_open_offline_with_tstamp_precision(c->path, PCAP_TSTAMP_PRECISION_NANO,
							  errbuf);
	if (!c->file) {
		rf_err("cannot read capture file '%s': %s", c->path, errbuf);
		return -EINVAL;
	}
	c->linktype = pcap_datalink(c->file);
	return 0;
}

static int source_linktype(struct count *c)
{
	if (c->kind == SRC_QUEUE)
		return queue_linktype(c);
	return c->kind == SRC_FILE ? file_linktype(c) : iface_linktype(c);
}

/* -g: this thread (the only one) on that CPU, before the capture starts. */
static int pin(const struct count *c)
{
	char cpus[64];
	int r;

	if (!c->o.cpu.given)
		return 0;
	r = rf_thread_pin(&c->o.cpu.set);
	if (r)
		rf_err("cannot run on CPU %s: %s",
		       rf_cpus_format(&c->o.cpu.set, cpus, sizeof(cpus)), strerror(-r));
	return r;
}

/* Returns an exit status, or -1 to go on. */
static int setup(struct count *c)
{
	c->statf = c->o.out && !strcmp(c->o.out, "-") ? stderr : stdout;
	if (classify_source(c) < 0)
		return RF_EXIT_USAGE;
	if (pin(c) || source_linktype(c) < 0)
		return RF_EXIT_RUNTIME;
	c->dead = pcap_open_dead_with_tstamp_precision(c->linktype, (int)c->o.snaplen,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!c->dead) {
		rf_err("count: out of memory");
		return RF_EXIT_RUNTIME;
	}
	if (setup_filter(c) < 0)
		return RF_EXIT_USAGE;
	if (c->o.shunt_after && c->kind != SRC_QUEUE) {
		rf_err("count: --shunt-after asks a balancer through a queue: -i CLUSTER@QUEUE");
		return RF_EXIT_USAGE;
	}
	if (c->o.shunt_after && !(c->shunt = calloc(SHUNT_SLOTS, sizeof(*c->shunt)))) {
		rf_err("count: out of memory");
		return RF_EXIT_RUNTIME;
	}
	if (c->kind == SRC_IFACE && open_iface(c) < 0)
		return RF_EXIT_RUNTIME;
	if (setup_dumper(c) < 0)
		return RF_EXIT_RUNTIME;
	return -1;
}

static void install_signals(void)
{
	struct sigaction sa = {0};

	/* No SA_RESTART: a signal must end the wait in poll() or the queue's futex. */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Milliseconds until the next tick or the end of --duration, whichever is first. */
static int wait_ms(const struct count *c, uint64_t now, uint64_t next_tick)
{
	uint64_t until = next_tick;

	if (c->o.duration_ns && c->start_ns + c->o.duration_ns < until)
		until = c->start_ns + c->o.duration_ns;
	if (until <= now)
		return 0;
	return (int)((until - now + NS_PER_MS - 1) / NS_PER_MS);
}

/* When the interface is down: has it gone for good (deleted or renamed)? */
static bool iface_gone(const struct count *c)
{
	return c->afp && c->iface_down &&
	       (int)if_nametoindex(rf_afp_ifname(c->afp)) != rf_afp_ifindex(c->afp);
}

static int run(struct count *c)
{
	uint64_t now = rf_now_mono_ns(), next_tick = now + TICK_NS;
	int r = 0;

	c->start_ns = c->last_ns = now;
	while (!stop_signal && !c->done && r == 0) {
		r = c->kind == SRC_IFACE  ? afp_step(c, wait_ms(c, now, next_tick))
		    : c->kind == SRC_FILE ? file_step(c)
					  : queue_step(c, wait_ms(c, now, next_tick));
		if (r == 0)
			r = check_dump(c, false);
		now = rf_now_mono_ns();
		if (c->o.duration_ns && now - c->start_ns >= c->o.duration_ns)
			c->done = true;
		if (now >= next_tick && !c->done) {
			report(c, now, false);
			if (r == 0)
				r = check_dump(c, true);
			next_tick = now - next_tick > TICK_NS ? now + TICK_NS : next_tick + TICK_NS;
			if (iface_gone(c)) {
				rf_err("interface '%s' is gone", rf_afp_ifname(c->afp));
				r = -ENODEV;
			}
		}
	}
	return r;
}

static int finish(struct count *c, int r)
{
	if (r == 0)
		r = check_dump(c, true);
	report(c, rf_now_mono_ns(), true);
	if (c->dumper)
		pcap_dump_close(c->dumper);
	return r < 0 ? RF_EXIT_RUNTIME : RF_EXIT_OK;
}

static void cleanup(struct count *c)
{
	if (c->have_prog)
		pcap_freecode(&c->prog);
	if (c->dead)
		pcap_close(c->dead);
	rf_afp_close(c->afp);
	rf_consumer_close(c->cons);
	if (c->file)
		pcap_close(c->file);
}

int cmd_count(int argc, char **argv)
{
	struct count c = {0};
	int r;

	r = parse_args(&c.o, argc, argv);
	if (r)
		return r > 0 ? RF_EXIT_OK : RF_EXIT_USAGE;
	r = setup(&c);
	if (r < 0) {
		install_signals();
		r = finish(&c, run(&c));
	}
	cleanup(&c);
	free(c.shunt);
	return r;
}
