/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan explain: replay a capture through the decoder, the flow hash and
 * the fragment table exactly as the balancer does, and print for every packet
 * the key, the hash and the queue it would get.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "cli.h"
#include "decode.h"
#include "flow.h"
#include "util.h"

#define MAX_QUEUES 1024

struct explain {
	enum rf_mode mode;
	uint32_t n;
	uint32_t seed; /* --hash-seed, as the balancer's */
	bool json;
	const char *file;
	struct rf_flow *flow;
	uint64_t per_queue[MAX_QUEUES];
	uint64_t reasons[RF_DEC__MAX];
	uint64_t packets;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ringfan explain [-m MODE] [-n N] [--json] FILE\n\n"
		"For each packet of a pcap or pcapng capture, print the decoded layers, the\n"
		"key the mode hashes, the hash and the queue (of N) the balancer would pick.\n\n"
		"Options:\n"
		"  -m, --mode MODE   balancing mode (default ip)\n"
		"  -n, --queues N    number of queues, 1-%d (default 1)\n"
		"  -j, --json        one JSON object per packet on stdout\n"
		"      --hash-seed N the balancer's --hash-seed (default 0)\n"
		"  -h, --help        this text\n\n"
		"%s\n"
		"Fields: frame (1-based, as tshark numbers frames), queue (\"all\" in fanout),\n"
		"hash, layers, src, dst, proto, sport, dport (those the mode hashed), ip_layer\n"
		"(which IP header was used, 0 = outermost), reason (when decoding stopped\n"
		"early), frag (tied, fallback, released, expired). Fragments held until their\n"
		"first fragment arrives are printed when released. A summary goes to stderr.\n",
		MAX_QUEUES, rf_mode_help());
}

static void fmt_addr(char *buf, size_t len, const struct rf_flow_key *k, const uint8_t *a)
{
	if (k->fields & RF_KEY_MAC)
		snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4],
			 a[5]);
	else if (!inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static void fmt_layers(char *buf, size_t len, const struct rf_decoded *d)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < d->n_layers && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ":" : "",
				 rf_layer_name(d->layers[i]));

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static const char *frag_word(const struct rf_flow_key *k, bool released)
{
	if (released)
		return k->fields & RF_KEY_FRAG_TIED ? "released" : "expired";
	if (k->fields & RF_KEY_FRAG_TIED)
		return "tied";
	if (k->fields & RF_KEY_FRAG_FALLBACK)
		return "fallback";
	return NULL;
}

static void fmt_queue(char *buf, size_t len, const struct explain *e, uint64_t frame, uint32_t hash,
		      uint32_t *ret_q)
{
	uint32_t q;

	if (e->mode == RF_MODE_FANOUT) {
		snprintf(buf, len, "all");
		*ret_q = UINT32_MAX;
		return;
	}
	q = e->mode == RF_MODE_RR ? (uint32_t)((frame - 1) % e->n) : rf_queue_pick(hash, e->n);
	snprintf(buf, len, "%u", q);
	*ret_q = q;
}

/* One packet line. Fields the mode did not hash are left out (null in JSON). */
static void print_packet(struct explain *e, uint64_t frame, uint32_t hash,
			 const struct rf_decoded *d, const struct rf_flow_key *k, bool released)
{
	char src[64] = "", dst[64] = "", layers[512], queue[16];
	bool addr = k->fields & (RF_KEY_ADDR | RF_KEY_MAC);
	bool proto = k->fields & RF_KEY_PROTO, ports = k->fields & RF_KEY_PORTS;
	const char *frag = frag_word(k, released);
	uint32_t q;

	/* As a balancer with the same --hash-seed records it and picks with it. */
	hash = rf_hash_reseed(hash, e->seed);
	fmt_queue(queue, sizeof(queue), e, frame, hash, &q);
	if (q == UINT32_MAX) {
		for (uint32_t i = 0; i < e->n; i++)
			e->per_queue[i]++;
	} else {
		e->per_queue[q]++;
	}
	e->reasons[d->reason < RF_DEC__MAX ? d->reason : 0]++;
	fmt_layers(layers, sizeof(layers), d);
	if (addr) {
		fmt_addr(src, sizeof(src), k, k->src);
		fmt_addr(dst, sizeof(dst), k, k->dst);
	}
	if (e->json) {
		printf("{\"frame\":%" PRIu64
		       ",\"queue\":%s%s%s,\"hash\":\"0x%08x\",\"layers\":\"%s\"",
		       frame, q == UINT32_MAX ? "\"" : "", queue, q == UINT32_MAX ? "\"" : "", hash,
		       layers);
		if (addr)
			printf(",\"src\":\"%s\",\"dst\":\"%s\"", src, dst);
		else
			printf(",\"src\":null,\"dst\":null");
		if (proto)
			printf(",\"proto\":%u", k->proto);
		else
			printf(",\"proto\":null");
		if (ports)
			printf(",\"sport\":%u,\"dport\":%u", k->sport, k->dport);
		else
			printf(",\"sport\":null,\"dport\":null");
		if (k->ip_layer != 0xff)
			printf(",\"ip_layer\":%u", k->ip_layer);
		if (k->fields & RF_KEY_VLAN)
			printf(",\"vlan\":%u", k->vlan_id);
		if (k->fields & RF_KEY_IFACE)
			printf(",\"ifindex\":%u", k->ifindex);
		if (frag)
			printf(",\"frag\":\"%s\"", frag);
		printf(",\"reason\":\"%s\"}\n", rf_decode_reason_name(d->reason));
		return;
	}
	printf("frame=%" PRIu64 " queue=%s hash=0x%08x layers=%s", frame, queue, hash,
	       layers[0] ? layers : "-");
	if (addr)
		printf(" src=%s dst=%s", src, dst);
	if (proto)
		printf(" proto=%u", k->proto);
	if (ports)
		printf(" sport=%u dport=%u", k->sport, k->dport);
	if (k->ip_layer != 0xff)
		printf(" ip_layer=%u", k->ip_layer);
	if (k->fields & RF_KEY_VLAN)
		printf(" vlan=%u", k->vlan_id);
	if (k->fields & RF_KEY_IFACE)
		printf(" ifindex=%u", k->ifindex);
	if (frag)
		printf(" frag=%s", frag);
	if (d->reason != RF_DEC_OK)
		printf(" reason=%s", rf_decode_reason_name(d->reason));
	putchar('\n');
}

static void drain(struct explain *e)
{
	struct rf_flow_pkt p;
	struct rf_flow_key k;
	struct rf_decoded d;
	uint32_t hash;

	while (rf_flow_next_released(e->flow, &p, &hash, &k)) {
		rf_decode(p.data, p.caplen, p.linktype, 0, &d);
		print_packet(e, p.cookie, hash, &d, &k, true);
	}
}

static void one_packet(struct explain *e, const struct pcap_pkthdr *h, const uint8_t *bytes,
		       int linktype)
{
	struct rf_flow_pkt p = {
		.data = bytes,
		.caplen = h->caplen,
		.wirelen = h->len,
		.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec,
		.linktype = linktype,
		.cookie = ++e->packets,
	};
	struct rf_flow_key k;
	struct rf_decoded d;
	uint32_t hash;

	rf_decode(bytes, h->caplen, linktype, 0, &d);
	if (rf_flow_classify(e->flow, &p, &d, &hash, &k) == RF_FLOW_HASH)
		print_packet(e, p.cookie, hash, &d, &k, false);
	drain(e);
}

static void print_summary(const struct explain *e)
{
	struct rf_flow_stats st;
	unsigned int i;

	rf_flow_get_stats(e->flow, &st);
	fprintf(stderr, "# %" PRIu64 " packets, mode %s, %u queues\n# per queue:", e->packets,
		rf_mode_name(e->mode), e->n);
	for (i = 0; i < e->n; i++)
		fprintf(stderr, " %u=%" PRIu64, i, e->per_queue[i]);
	fprintf(stderr, "\n# decode:");
	for (i = 0; i < RF_DEC__MAX; i++)
		fprintf(stderr, " %s=%" PRIu64, rf_decode_reason_name(i), e->reasons[i]);
	fprintf(stderr,
		"\n# fragments: first=%" PRIu64 " tied=%" PRIu64 " held=%" PRIu64
		" released=%" PRIu64 " expired=%" PRIu64 " table_full=%" PRIu64
		" hold_full=%" PRIu64 " hold_too_big=%" PRIu64 " table_expired=%" PRIu64 "\n",
		st.frag_first, st.frag_tied, st.frag_held, st.frag_released, st.frag_expired,
		st.frag_table_full, st.frag_hold_full, st.frag_hold_big, st.frag_table_expired);
}

static int run(struct explain *e)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const uint8_t *bytes;
	int r, linktype, ret = RF_EXIT_OK;
	pcap_t *pc;
	FILE *fp;

	fp = fopen(e->file, "rb");
	if (!fp) {
		rf_err("cannot open '%s': %s", e->file, strerror(errno));
		return RF_EXIT_RUNTIME;
	}
	pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fclose(fp);
		rf_err("cannot read '%s' as pcap or pcapng: %s", e->file, errbuf);
		return RF_EXIT_RUNTIME;
	}
	linktype = pcap_datalink(pc);
	while ((r = pcap_next_ex(pc, &h, &bytes)) == 1)
		one_packet(e, h, bytes, linktype);
	if (r == PCAP_ERROR) {
		rf_err("error reading '%s' after %" PRIu64 " packets: %s", e->file, e->packets,
		       pcap_geterr(pc));
		ret = RF_EXIT_RUNTIME;
	}
	rf_flow_flush(e->flow);
	drain(e);
	pcap_close(pc);
	if (fflush(stdout) != 0) {
		rf_err("cannot write the output: %s", strerror(errno));
		ret = RF_EXIT_RUNTIME;
	}
	print_summary(e);
	return ret;
}

static int parse_args(struct explain *e, int argc, char **argv)
{
	static const struct option opts[] = {
		{"mode", required_argument, NULL, 'm'}, {"queues", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},	{"hash-seed", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	uint64_t n;
	int c;

	optind = 0; /* 0, not 1: a full reset of glibc getopt's state */
	while ((c = getopt_long(argc, argv, "m:n:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (rf_mode_parse(optarg, &e->mode) < 0) {
				rf_err("unknown mode '%s'\n%s", optarg, rf_mode_help());
				return -EINVAL;
			}
			break;
		case 'n':
			if (rf_parse_u64(optarg, 1, MAX_QUEUES, &n) < 0) {
				rf_err("bad number of queues '%s' (expected 1-%d)", optarg,
				       MAX_QUEUES);
				return -EINVAL;
			}
			e->n = (uint32_t)n;
			break;
		case 'j':
			e->json = true;
			break;
		case 's':
			if (rf_parse_u64(optarg, 0, UINT32_MAX, &n) < 0) {
				rf_err("bad --hash-seed '%s' (0 to %u)", optarg, UINT32_MAX);
				return -EINVAL;
			}
			e->seed = (uint32_t)n;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "Try 'ringfan explain --help'.\n");
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		rf_err(optind == argc ? "missing capture FILE" : "more than one FILE given");
		fprintf(stderr, "Try 'ringfan explain --help'.\n");
		return -EINVAL;
	}
	e->file = argv[optind];
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	struct explain *e = calloc(1, sizeof(*e));
	int r;

	if (!e) {
		rf_err("out of memory");
		return RF_EXIT_RUNTIME;
	}
	e->mode = RF_MODE_DEFAULT;
	e->n = 1;
	r = parse_args(e, argc, argv);
	if (r != 0) {
		free(e);
		return r > 0 ? RF_EXIT_OK : RF_EXIT_USAGE;
	}
	r = rf_flow_new(e->mode, NULL, &e->flow);
	if (r < 0) {
		rf_err("cannot create the fragment table: %s", strerror(-r));
		free(e);
		return RF_EXIT_RUNTIME;
	}
	r = run(e);
	rf_flow_free(e->flow);
	free(e);
	return r;
}
