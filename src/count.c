/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan count: pfcount's job. Counts what an interface (AF_PACKET ring) or
 * a ringfan queue delivers, prints pfcount's statistics block every second
 * (or a JSON object), and optionally a line per packet and a pcap copy.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
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
#include "util.h"

#define BURST		 256
#define DEF_SNAPLEN	 262144u
#define MAX_SNAPLEN	 262144u
#define TICK_NS		 1000000000ull
#define NS_PER_MS	 1000000ull
#define QUEUE_NAME_MAX	 32
#define DEF_RING_SIZE_MB 64

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
};

struct count {
	struct count_opts o;
	/* Exactly one source. */
	struct rf_afp *afp;
	struct rf_consumer *cons;
	char qname[QUEUE_NAME_MAX];
	uint32_t cluster, queue;
	char dir_used[4096]; /* the queue directory, for messages */
	/* Filter: in the kernel for interfaces, here for queues. */
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

enum {
	OPT_DURATION = 0x100,
	OPT_JSON,
	OPT_EXIT_ON_DETACH,
	OPT_NO_PROMISC,
	OPT_RING_SIZE,
	OPT_DIR,
	OPT_WAIT,
	OPT_FOLLOW,
	OPT_NEXT_RUN,
	OPT_STOP_AT_END,
};

static const struct option long_opts[] = {
	{"interface", required_argument, NULL, 'i'},
	{"filter", required_argument, NULL, 'f'},
	{"verbose", no_argument, NULL, 'v'},
	{"write", required_argument, NULL, 'w'},
	{"count", required_argument, NULL, 'N'},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"json", no_argument, NULL, OPT_JSON},
	{"quiet", no_argument, NULL, 'q'},
	{"exit-on-detach", no_argument, NULL, OPT_EXIT_ON_DETACH},
	{"snaplen", required_argument, NULL, 's'},
	{"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
	{"ring-size", required_argument, NULL, OPT_RING_SIZE},
	{"dir", required_argument, NULL, OPT_DIR},
	{"wait", optional_argument, NULL, OPT_WAIT},
	{"follow", no_argument, NULL, OPT_FOLLOW},
	{"next-run", no_argument, NULL, OPT_NEXT_RUN},
	{"stop-at-end", no_argument, NULL, OPT_STOP_AT_END},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ringfan count -i IFACE|CLUSTER@QUEUE [OPTIONS]\n"
		"\n"
		"Count the packets an interface or a ringfan queue delivers, and print\n"
		"pfcount's statistics every second.\n"
		"\n"
		"  -i, --interface SRC   network interface (AF_PACKET), or queue CLUSTER@QUEUE\n"
		"                        (\"99@0\", also \"ringfan:99@0\")\n"
		"  -f, --filter EXPR     BPF filter (tcpdump syntax); in the kernel for an\n"
		"                        interface, here for a queue (rejected: 'filtered')\n"
		"  -v, --verbose         one line per packet: time, layers, addresses, ports, "
		"length\n"
		"  -w, --write FILE      write the packets (after the filter) to a pcap file\n"
		"                        (nanosecond timestamps); '-' is standard output\n"
		"  -N, --count N         stop after N packets\n"
		"      --duration SEC    stop after SEC seconds\n"
		"      --json            one JSON object per second, and a final one (\"final\": "
		"true)\n"
		"  -q, --quiet           print only the final summary\n"
		"      --exit-on-detach  queue: exit when the producer goes away (default: wait)\n"
		"      --dir DIR         queue: its directory (default $RINGFAN_DIR or %s)\n"
		"      --wait[=SEC]      queue: wait for it to appear (forever, or SEC seconds)\n"
		"      --follow          queue: at the end of a run, wait for the next one\n"
		"      --next-run        queue: skip what is left of a finished run and wait\n"
		"                        for the next one\n"
		"      --stop-at-end     queue: never go on to another run, not even one that\n"
		"                        began before the end of this one\n"
		"  -s, --snaplen BYTES   bytes kept per packet (default %u)\n"
		"      --no-promisc      interface: do not turn on promiscuous mode\n"
		"      --ring-size SIZE  interface: kernel ring size (default %dM)\n"
		"  -h, --help            this help\n"
		"\n"
		"The end of a run (a file replay that ended) ends the count once drained\n"
		"(status 0), unless a newer run began before: then the count goes on with\n"
		"it. A stopped or restarting balancer does not end it. SIGINT and SIGTERM\n"
		"print the final summary and exit 0. Exit status 2: bad usage or filter;\n"
		"1: runtime error. See ringfan-count(1).\n",
		RF_DEFAULT_DIR, DEF_SNAPLEN, DEF_RING_SIZE_MB);
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

static int parse_one(struct count_opts *o, int c, const char *arg)
{
	uint64_t v;
	double d;

	switch (c) {
	case 'i':
		o->source = arg;
		return 0;
	case 'f':
		o->filter = arg;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'w':
		o->out = arg;
		return *arg ? 0 : bad_value("-w/--write", arg);
	case 'N':
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
	case 'q':
		o->quiet = true;
		return 0;
	case OPT_EXIT_ON_DETACH:
		o->exit_on_detach = true;
		return 0;
	case 's':
		if (rf_parse_u64(arg, 64, MAX_SNAPLEN, &v))
			return bad_value("-s/--snaplen", arg);
		o->snaplen = (uint32_t)v;
		return 0;
	case OPT_NO_PROMISC:
		o->promisc = false;
		return 0;
	case OPT_RING_SIZE:
		if (rf_parse_size(arg, 16 << 10, 16ull << 30, &o->ring_size))
			return bad_value("--ring-size", arg);
		return 0;
	case OPT_DIR:
		o->dir = arg;
		return *arg ? 0 : bad_value("--dir", arg);
	case OPT_WAIT:
		o->wait_ms = -1;
		if (arg && rf_parse_double(arg, 0.001, 1e6, &d))
			return bad_value("--wait", arg);
		if (arg)
			o->wait_ms = (int)(d * 1000);
		return 0;
	case OPT_FOLLOW:
	case OPT_NEXT_RUN:
	case OPT_STOP_AT_END:
		return set_run_end(o, c);
	}
	return -EINVAL;
}

/* Returns 0, 1 (--help printed), or -EINVAL (message printed). */
static int parse_args(struct count_opts *o, int argc, char **argv)
{
	int c;

	o->snaplen = DEF_SNAPLEN;
	o->promisc = true;
	opterr = 0;
	optind = 0; /* 0, not 1: a full reset of glibc getopt's state */
	while ((c = getopt_long(argc, argv, ":i:f:vw:N:qs:h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			rf_err("count: %s '%s' (try 'ringfan count --help')",
			       c == '?' ? "unknown option" : "missing value for", argv[optind - 1]);
			return -EINVAL;
		}
		if (parse_one(o, c, optarg) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		rf_err("count: unexpected argument '%s' (a filter goes after -f)", argv[optind]);
		return -EINVAL;
	}
	if (!o->source) {
		rf_err("count: -i IFACE or -i CLUSTER@QUEUE is required (try 'ringfan count "
		       "--help')");
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
	put_json_str(c->statf, c->afp ? rf_afp_ifname(c->afp) : c->qname);
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
	/* The queue's drops, over every generation we read. */
	if (rf_consumer_stats(c->cons, &st, sizeof(st)) == 0)
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
 * Does the packet pass the filter (queues: it runs here; interfaces: the
 * kernel ran it)? Sets *ret_caplen to the bytes to keep.
 */
static bool keep(const struct count *c, const struct rf_packet *p, uint32_t *ret_caplen)
{
	uint32_t caplen = p->caplen < c->o.snaplen ? p->caplen : c->o.snaplen;
	u_int snap;

	if (c->have_prog && !c->afp) {
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

static int open_iface(struct count *c)
{
	struct rf_afp_opts ao = {
		.ifname = c->o.source,
		.ring_size = c->o.ring_size,
		.snaplen = c->o.snaplen,
		.promisc = c->o.promisc,
		.filter = c->have_prog ? &c->prog : NULL,
	};
	int r = rf_afp_open(&ao, &c->afp);

	if (r == 0)
		return 0;
	if (r == -ENODEV)
		rf_err("no such interface '%s'", c->o.source);
	else if (r == -ENETDOWN)
		rf_err("interface '%s' is down", c->o.source);
	else if (r == -EPERM || r == -EACCES)
		rf_err("cannot capture on '%s': %s (CAP_NET_RAW is needed)", c->o.source,
		       strerror(-r));
	else
		rf_err("cannot capture on '%s': %s", c->o.source, strerror(-r));
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
	struct rf_consumer_opts co = {.sz = sizeof(co), .dir = c->o.dir, .wait_ms = c->o.wait_ms};
	int r;

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
		rf_err("cannot open queue %s: permission denied (the balancer's --group/--mode or "
		       "--access decide who may read it)",
		       c->qname);
	else if (r == -EPERM || r == -ENOTDIR)
		untrusted_message(c, r);
	else
		rf_err("cannot open queue %s: %s", c->qname, strerror(-r));
	return r;
}

/*
 * Is the source a queue? Yes for "ringfan:..." and for a valid CLUSTER@QUEUE;
 * a name with '@' that starts with a digit is a queue name gone wrong (no
 * interface is called that). Sets c->qname. Returns 1 queue, 0 interface,
 * -EINVAL bad queue name.
 */
static int classify_source(struct count *c)
{
	const char *s = c->o.source;
	uint32_t cl, q;
	int r;

	r = rf_queue_name_parse(s, &cl, &q);
	if (r == 0) {
		snprintf(c->qname, sizeof(c->qname), "%u@%u", cl, q);
		c->cluster = cl;
		c->queue = q;
		return 1;
	}
	/* "99@" or "7@x" was meant as a queue: say so rather than "no such interface". */
	if (!strncmp(s, "ringfan:", 8) ||
	    (strchr(s, '@') && (r == -ERANGE || isdigit((unsigned char)s[0])))) {
		rf_err("count: invalid queue name '%s' (CLUSTER@QUEUE, cluster 0-%u, queue 0-%u)",
		       s, RF_MAX_CLUSTER, RF_MAX_QUEUE);
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

/* The interface's link type, before the filter is compiled for it. */
static int iface_linktype(struct count *c)
{
	int r = rf_afp_iface_linktype(c->o.source);

	if (r >= 0) {
		c->linktype = r;
		return 0;
	}
	if (r == -ENODEV)
		rf_err("no such interface '%s'", c->o.source);
	else if (r == -EOPNOTSUPP)
		rf_err("cannot capture on '%s': its link type is not supported", c->o.source);
	else
		rf_err("cannot capture on '%s': %s", c->o.source, strerror(-r));
	return r;
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

/* Returns an exit status, or -1 to go on. */
static int setup(struct count *c)
{
	int queue;

	c->statf = c->o.out && !strcmp(c->o.out, "-") ? stderr : stdout;
	queue = classify_source(c);
	if (queue < 0)
		return RF_EXIT_USAGE;
	if (queue ? queue_linktype(c) < 0 : iface_linktype(c) < 0)
		return RF_EXIT_RUNTIME;
	c->dead = pcap_open_dead_with_tstamp_precision(c->linktype, (int)c->o.snaplen,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!c->dead) {
		rf_err("count: out of memory");
		return RF_EXIT_RUNTIME;
	}
	if (setup_filter(c) < 0)
		return RF_EXIT_USAGE;
	if (!queue && open_iface(c) < 0)
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
		r = c->afp ? afp_step(c, wait_ms(c, now, next_tick))
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
	return r;
}
