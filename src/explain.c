/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan explain: replay a capture through the decoder, the flow hash and
 * the fragment table exactly as the balancer does, and print for every packet
 * the key, the hash and the queue it would get; with the balancer's flow-table
 * options, also why (the flow table's decision, through rf_place_packet()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "cli.h"
#include "config.h"
#include "decode.h"
#include "flow.h"
#include "flowtable.h"
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
	struct rf_config *cfg; /* the flow-table options, as the balancer takes them */
	bool flow_opts;	       /* some were given */
	struct rf_place *place[RF_CFG_MAX_GROUPS]; /* NULL: the stateless hash */
	uint64_t why[RF_WHY__MAX];		   /* packets by decision, over the groups */
	uint8_t failed_over[RF_CFG_MAX_QUEUES];	   /* --failed-over */
	bool any_failed_over;
};

enum {
	OPT_MODE = 'm',
	OPT_QUEUES = 'n',
	OPT_JSON = 'j',
	OPT_HELP = 'h',
	OPT_OLD_MODE = 256,
	OPT_HASH_SEED,
	OPT_FAILED_OVER,
	OPT_FLOW_FIRST = 1024, /* + the index in flow_opts */
};

/* The balancer's options explain takes as they are, so that they mean the same. */
static const char *const flow_opts[] = {
	"flow-table", "flow-timeout", "shunt-packets", "shunt-bytes", "placement", "weights",
};

static const struct opt_desc opts[] = {
	{OPT_MODE, "hash-mode", "MODE", "balancing mode (default ip)"},
	{OPT_OLD_MODE, "mode", "MODE", NULL, OPT_MODE},
	{OPT_QUEUES, "queues", "N[,M...]",
	 "queues per group, as the balancer's -n (default 1): a queue per group"},
	{OPT_JSON, "json", NULL, "one JSON object per packet on stdout"},
	{OPT_HASH_SEED, "hash-seed", "N", "the balancer's --hash-seed (default 0)"},
	{OPT_FAILED_OVER, "failed-over", "Q[,Q...]",
	 "decide as a balancer with --failover whose queues Q failed over from the start"},
};

/* opts, the balancer's rows of flow_opts, and --help. */
static struct opt_desc all_opts[ARRAY_SIZE(opts) + ARRAY_SIZE(flow_opts) + 1];

static size_t make_opts(void)
{
	static const struct opt_desc help = {OPT_HELP, "help", NULL, "this text"};
	size_t n = ARRAY_SIZE(opts), i;

	memcpy(all_opts, opts, sizeof(opts));
	for (i = 0; i < ARRAY_SIZE(flow_opts); i++) {
		all_opts[n] = *rf_config_opt(flow_opts[i]);
		all_opts[n++].id = OPT_FLOW_FIRST + (int)i;
	}
	all_opts[n++] = help;
	return n;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan explain [-m MODE] [-n N[,M...]] [--json] [FLOW-TABLE OPTIONS] "
		   "FILE\n\n"
		   "For each packet of a pcap or pcapng capture, print the decoded layers, the\n"
		   "key the mode hashes, the hash and the queue the balancer would pick; with\n"
		   "the balancer's flow-table options, why (its flow table's decision).\n\n"
		   "Options:\n");
	rf_print_opts(f, all_opts, ARRAY_SIZE(all_opts));
	fprintf(f,
		"\n%s\n"
		"Fields: frame (1-based, as tshark numbers frames), queue (\"all\" in fanout;\n"
		"one per group, \"1,5\", a JSON array with groups), hash, layers, src, dst,\n"
		"proto, sport, dport (those the mode hashed), ip_layer (which IP header was\n"
		"used, 0 = outermost), reason (when decoding stopped early), frag (tied,\n"
		"fallback, released, expired), why (with flow-table options: hash, weight,\n"
		"least-loaded, failover, fallback (table full: the hash), moved, shunted; one\n"
		"per group). Fragments held until their first fragment arrives are printed\n"
		"when released. A summary goes to stderr.\n",
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

/* Append ",text" (the first without the comma) to buf, which holds *off bytes. */
static void append(char *buf, size_t len, size_t *off, bool first, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void append(char *buf, size_t len, size_t *off, bool first, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*off >= len)
		return;
	if (!first)
		buf[(*off)++] = ',';
	va_start(ap, fmt);
	w = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (w > 0)
		*off += (size_t)w;
}

/*
 * The queue of each group (queue numbers run on across groups, as the
 * balancer's) into buf and, with flow-table options, why into why_buf:
 * through the group's placement, as the balancer decides.
 */
static void fmt_queue(char *buf, size_t len, char *why_buf, size_t why_len, struct explain *e,
		      const struct rf_flow_pkt *p, const struct rf_decoded *d, uint32_t hash)
{
	uint8_t l4 = rf_ft_l4(e->mode, d, p->data, p->caplen);
	const char *quote = e->json ? "\"" : "";
	size_t off = 0, why_off = 0;
	uint32_t first = 0, q, i;
	unsigned int g;

	why_buf[0] = 0;
	if (e->mode == RF_MODE_FANOUT) {
		snprintf(buf, len, "all");
		for (i = 0; i < e->n; i++)
			e->per_queue[i]++;
		return;
	}
	buf[0] = 0;
	for (g = 0; g < e->n_groups; g++) {
		enum rf_place_why why = RF_WHY_HASH;

		if (e->mode == RF_MODE_RR)
			q = (uint32_t)((p->cookie - 1) % e->group_queues[g]);
		else if (e->place[g])
			q = rf_place_packet(e->place[g], hash, p->ts_ns, p->wirelen, l4, &why);
		else
			q = rf_queue_pick(hash, e->group_queues[g]);
		e->why[why]++;
		if (why != RF_WHY_SHUNTED) /* not enqueued */
			e->per_queue[first + q]++;
		append(buf, len, &off, !g, "%u", first + q);
		if (e->flow_opts)
			append(why_buf, why_len, &why_off, !g, "%s%s%s", quote,
			       rf_place_why_name(why), quote);
		first += e->group_queues[g];
	}
}

/* One packet line. Fields the mode did not hash are left out (null in JSON). */
static void print_packet(struct explain *e, const struct rf_flow_pkt *p, uint32_t hash,
			 const struct rf_decoded *d, const struct rf_flow_key *k, bool released)
{
	char src[64] = "", dst[64] = "", layers[512], queue[RF_CFG_MAX_GROUPS * 6];
	char why[RF_CFG_MAX_GROUPS * 16];
	uint64_t frame = p->cookie;
	bool addr = k->fields & (RF_KEY_ADDR | RF_KEY_MAC);
	bool proto = k->fields & RF_KEY_PROTO, ports = k->fields & RF_KEY_PORTS;
	const char *frag = frag_word(k, released);
	/* JSON: a number, an array of numbers (groups), or the string "all". */
	const char *qo = e->mode == RF_MODE_FANOUT ? "\"" : e->n_groups > 1 ? "[" : "";
	const char *qc = e->mode == RF_MODE_FANOUT ? "\"" : e->n_groups > 1 ? "]" : "";

	/* As a balancer with the same --hash-seed records it and picks with it. */
	hash = rf_hash_reseed(hash, e->seed);
	fmt_queue(queue, sizeof(queue), why, sizeof(why), e, p, d, hash);
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
		if (why[0])
			printf(",\"why\":%s%s%s", qo[0] == '[' ? "[" : "", why,
			       qo[0] == '[' ? "]" : "");
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
	if (why[0])
		printf(" why=%s", why);
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
		print_packet(e, &p, hash, &d, &k, true);
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
		print_packet(e, &p, hash, &d, &k, false);
	drain(e);
}

/* The flow tables' decisions and counters. */
static void print_table_summary(const struct explain *e)
{
	struct rf_ft_stats st;
	unsigned int i;

	fprintf(stderr, "# why:");
	for (i = 0; i < RF_WHY__MAX; i++)
		fprintf(stderr, " %s=%" PRIu64, rf_place_why_name(i), e->why[i]);
	fputc('\n', stderr);
	for (i = 0; i < e->n_groups; i++) {
		if (!e->place[i] || !rf_place_table(e->place[i]))
			continue;
		rf_ft_get_stats(rf_place_table(e->place[i]), &st);
		fprintf(stderr,
			"# flow table %c: entries=%" PRIu64 " active=%" PRIu64 " created=%" PRIu64
			" expired=%" PRIu64 " evicted=%" PRIu64 " fallback=%" PRIu64
			" shunted=%" PRIu64 " shunted_flows=%" PRIu64 "\n",
			'A' + i, st.entries, st.active, st.created, st.expired, st.evicted,
			st.fallback, st.shunted, st.shunted_flows);
	}
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
	if (e->flow_opts)
		print_table_summary(e);
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

/* --failed-over Q[,Q...]: queue numbers, as the balancer's (checked against -n later). */
static int parse_failed_over(struct explain *e, const char *list)
{
	char buf[256], *rest = buf, *tok;
	uint64_t q;

	if (strlen(list) >= sizeof(buf))
		goto bad;
	strcpy(buf, list);
	while ((tok = strsep(&rest, ","))) {
		if (rf_parse_u64(tok, 0, RF_CFG_MAX_QUEUES - 1, &q))
			goto bad;
		e->failed_over[q] = 1;
	}
	e->any_failed_over = true;
	e->cfg->failover_s = 1; /* a failover needs a flow table, as the balancer's */
	e->flow_opts = true;
	return 0;
bad:
	rf_err("bad --failed-over '%s' (queue numbers, e.g. 3 or 1,3)", list);
	return -EINVAL;
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
	case OPT_FAILED_OVER:
		return parse_failed_over(e, val);
	}
	if (id >= OPT_FLOW_FIRST && id < OPT_FLOW_FIRST + (int)ARRAY_SIZE(flow_opts)) {
		e->flow_opts = true;
		return rf_config_set(e->cfg, flow_opts[id - OPT_FLOW_FIRST], val, "");
	}
	return -EINVAL;
}

/* Returns 0, 1 (--help printed), or -EINVAL (message printed). */
static int parse_args(struct explain *e, int argc, char **argv)
{
	const struct rf_opts explain_opts = {all_opts, make_opts(), apply, usage};
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

/* --failed-over: its queues down in their groups' placements. 0 or RF_EXIT_USAGE. */
static int set_failed_over(struct explain *e)
{
	uint32_t q, first = 0;
	unsigned int g;

	for (q = e->n; q < RF_CFG_MAX_QUEUES; q++)
		if (e->failed_over[q]) {
			rf_err("--failed-over %u: no such queue (queues 0..%u)", q, e->n - 1);
			return RF_EXIT_USAGE;
		}
	for (g = 0; g < e->n_groups; first += e->group_queues[g], g++)
		for (q = 0; q < e->group_queues[g]; q++)
			if (e->failed_over[first + q])
				rf_place_set_down(e->place[g], q, true);
	return 0;
}

/*
 * The groups' flow tables and placements, as the balancer makes them from
 * the same options. 0, RF_EXIT_USAGE or RF_EXIT_RUNTIME (message printed).
 */
static int make_places(struct explain *e)
{
	static uint32_t weights[RF_PLACE_BUCKETS];
	struct rf_config *cfg = e->cfg;
	struct rf_place_opts o;
	unsigned int g;
	int r;

	cfg->mode = (int)e->mode;
	cfg->n_groups = e->n_groups;
	cfg->n_queues = e->n;
	memcpy(cfg->group_queues, e->group_queues, sizeof(cfg->group_queues));
	if (rf_config_check_flows(cfg))
		return RF_EXIT_USAGE;
	e->flow_opts = e->flow_opts && e->mode != RF_MODE_RR && e->mode != RF_MODE_FANOUT;
	for (g = 0; e->flow_opts && g < e->n_groups; g++) {
		rf_config_place_opts(cfg, g, weights, &o);
		if (!o.table.entries && o.placement == RF_PLACE_HASH)
			continue;
		r = rf_place_new(&o, &e->place[g]);
		if (r) {
			rf_err("cannot make group %c's flow table: %s", 'A' + g, strerror(-r));
			return RF_EXIT_RUNTIME;
		}
	}
	return e->any_failed_over ? set_failed_over(e) : 0;
}

static void explain_free(struct explain *e)
{
	unsigned int g;

	for (g = 0; g < RF_CFG_MAX_GROUPS; g++)
		rf_place_free(e->place[g]);
	rf_flow_free(e->flow);
	free(e->cfg);
	free(e);
}

int cmd_explain(int argc, char **argv)
{
	struct explain *e = calloc(1, sizeof(*e));
	int r;

	if (!e || !(e->cfg = malloc(sizeof(*e->cfg)))) {
		rf_err("out of memory");
		free(e);
		return RF_EXIT_RUNTIME;
	}
	rf_config_init(e->cfg);
	e->mode = RF_MODE_DEFAULT;
	e->n = e->n_groups = e->group_queues[0] = 1;
	r = parse_args(e, argc, argv);
	if (r != 0) {
		explain_free(e);
		return r > 0 ? RF_EXIT_OK : RF_EXIT_USAGE;
	}
	r = make_places(e);
	if (r) {
		explain_free(e);
		return r;
	}
	r = rf_flow_new(e->mode, NULL, &e->flow);
	if (r < 0) {
		rf_err("cannot create the fragment table: %s", strerror(-r));
		explain_free(e);
		return RF_EXIT_RUNTIME;
	}
	r = run(e);
	explain_free(e);
	return r;
}
