/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan explain: replay a capture through the decoder, the flow hash and
 * the fragment table exactly as the balancer does, and print for every packet
 * the key, the hash and the queue it would get.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "cli.h"
#include "config.h"
#include "decode.h"
#include "flow.h"
#include "util.h"

struct explain {
	enum rf_mode mode;
	uint32_t n;    /* queues in all */
	uint32_t seed; /* --hash-seed, as the balancer's */
	uint32_t group_queues[RF_CFG_MAX_GROUPS];
	unsigned int n_groups;
	bool json;
	const char *file;
	struct rf_flow *flow;
	uint64_t per_queue[RF_CFG_MAX_QUEUES];
	uint64_t reasons[RF_DEC__MAX];
	uint64_t packets;
};

enum {
	OPT_MODE = 'm',
	OPT_QUEUES = 'n',
	OPT_JSON = 'j',
	OPT_HELP = 'h',
	OPT_OLD_MODE = 256,
	OPT_HASH_SEED,
};

static const struct opt_desc opts[] = {
	{OPT_MODE, "hash-mode", "MODE", "balancing mode (default ip)"},
	{OPT_OLD_MODE, "mode", "MODE", NULL, OPT_MODE},
	{OPT_QUEUES, "queues", "N[,M...]",
	 "queues per group, as the balancer's -n (default 1): a queue per group"},
	{OPT_JSON, "json", NULL, "one JSON object per packet on stdout"},
	{OPT_HASH_SEED, "hash-seed", "N", "the balancer's --hash-seed (default 0)"},
	{OPT_HELP, "help", NULL, "this text"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan explain [-m MODE] [-n N[,M...]] [--json] FILE\n\n"
		   "For each packet of a pcap or pcapng capture, print the decoded layers, the\n"
		   "key the mode hashes, the hash and the queue the balancer would pick.\n\n"
		   "Options:\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f,
		"\n%s\n"
		"Fields: frame (1-based, as tshark numbers frames), queue (\"all\" in fanout;\n"
		"one per group, \"1,5\", a JSON array with groups), hash, layers, src, dst,\n"
		"proto, sport, dport (those the mode hashed), ip_layer (which IP header was\n"
		"used, 0 = outermost), reason (when decoding stopped early), frag (tied,\n"
		"fallback, released, expired). Fragments held until their first fragment\n"
		"arrives are printed when released. A summary goes to stderr.\n",
		rf_mode_help());
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

/* The queue of each group (queue numbers run on across groups, as the balancer's). */
static void fmt_queue(char *buf, size_t len, struct explain *e, uint64_t frame, uint32_t hash)
{
	uint32_t first = 0, q, i;
	size_t off = 0;
	unsigned int g;

	if (e->mode == RF_MODE_FANOUT) {
		snprintf(buf, len, "all");
		for (i = 0; i < e->n; i++)
			e->per_queue[i]++;
		return;
	}
	buf[0] = 0;
	for (g = 0; g < e->n_groups; g++) {
		q = e->mode == RF_MODE_RR ? (uint32_t)((frame - 1) % e->group_queues[g])
					  : rf_queue_pick(hash, e->group_queues[g]);
		e->per_queue[first + q]++;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%u", g ? "," : "",
						first + q);
		first += e->group_queues[g];
	}
}

/* One packet line. Fields the mode did not hash are left out (null in JSON). */
static void print_packet(struct explain *e, uint64_t frame, uint32_t hash,
			 const struct rf_decoded *d, const struct rf_flow_key *k, bool released)
{
	char src[64] = "", dst[64] = "", layers[512], queue[RF_CFG_MAX_GROUPS * 6];
	bool addr = k->fields & (RF_KEY_ADDR | RF_KEY_MAC);
	bool proto = k->fields & RF_KEY_PROTO, ports = k->fields & RF_KEY_PORTS;
	const char *frag = frag_word(k, released);
	/* JSON: a number, an array of numbers (groups), or the string "all". */
	const char *qo = e->mode == RF_MODE_FANOUT ? "\"" : e->n_groups > 1 ? "[" : "";
	const char *qc = e->mode == RF_MODE_FANOUT ? "\"" : e->n_groups > 1 ? "]" : "";

	/* As a balancer with the same --hash-seed records it and picks with it. */
	hash = rf_hash_reseed(hash, e->seed);
	fmt_queue(queue, sizeof(queue), e, frame, hash);
	e->reasons[d->reason < RF_DEC__MAX ? d->reason : 0]++;
	fmt_layers(layers, sizeof(layers), d);
	if (addr) {
		fmt_addr(src, sizeof(src), k, k->src);
		fmt_addr(dst, sizeof(dst), k, k->dst);
	}
	if (e->json) {
		printf("{\"frame\":%" PRIu64
		       ",\"queue\":%s%s%s,\"hash\":\"0x%08x\",\"layers\":\"%s\"",
		       frame, qo, queue, qc, hash, layers);
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

static int apply(void *arg, int id, const char *val)
{
	struct explain *e = arg;

	switch (id) {
	case OPT_MODE:
		return rf_config_parse_mode(val, &e->mode, "");
	case OPT_QUEUES:
		return rf_config_parse_groups(val, e->group_queues, &e->n_groups, &e->n, "");
	case OPT_JSON:
		e->json = true;
		return 0;
	case OPT_HASH_SEED:
		return rf_config_parse_hash_seed(val, &e->seed, "");
	}
	return -EINVAL;
}

/* Returns 0, 1 (--help printed), or -EINVAL (message printed). */
static int parse_args(struct explain *e, int argc, char **argv)
{
	static const struct rf_opts explain_opts = {opts, ARRAY_SIZE(opts), apply, usage};
	int r, first;

	r = rf_opts_parse(&explain_opts, argc, argv, e, &first);
	if (r)
		return r < 0 ? 1 : -EINVAL;
	if (first != argc - 1) {
		rf_err("%s (try 'ringfan explain --help')",
		       first == argc ? "missing capture FILE" : "more than one FILE given");
		return -EINVAL;
	}
	e->file = argv[first];
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
	e->n = e->n_groups = e->group_queues[0] = 1;
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
