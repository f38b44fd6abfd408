/* SPDX-License-Identifier: BSD-2-Clause */
/* Balancer options: one table drives getopt, the config file and --help. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker.h"
#include "cluster.h"
#include "flow.h"
#include "flowtable.h"
#include "metrics.h"
#include "source.h"
#include "thread.h"
#include "util.h"

enum opt_id {
	OPT_INTERFACE = 'i',
	OPT_CLUSTER = 'c',
	OPT_QUEUES = 'n',
	OPT_HASH = 'm',
	OPT_EGRESS = 'r',
	OPT_PRINT = 'p',
	OPT_DAEMON = 'd',
	OPT_PIDFILE = 'P',
	OPT_LOGFILE = 'l',
	OPT_USER = 'D',
	OPT_FILTER = 'f',
	OPT_HELP = 'h',
	OPT_CAPTURE_OUTGOING = 'X',
	OPT_CPU = 'g',
	OPT_SNAPLEN = 's',
	OPT_RING_SIZE = 256,
	OPT_CAPTURE_RING,
	OPT_OWNER,
	OPT_GROUP,
	OPT_FILE_MODE,
	OPT_DIR,
	OPT_RATE,
	OPT_SPEED,
	OPT_LOOP,
	OPT_ACCESS,
	OPT_METRICS,
	OPT_DISABLE_OFFLOADS,
	OPT_EGRESS_CPUS,
	OPT_OLD_MODE, /* --mode: --file-mode until the next release */
	OPT_STRIP,
	OPT_DEDUP,
	OPT_HASH_SEED,
	OPT_XDP_MODE,
	OPT_FLOW_TABLE,
	OPT_SHUNT_PACKETS,
	OPT_SHUNT_BYTES,
	OPT_PLACEMENT,
	OPT_WEIGHTS,
	OPT_FLOW_TIMEOUT,
	OPT_FAILOVER,
	OPT_FAILOVER_MOVE,
	OPT_THREADS,
};

static const struct opt_desc opts[] = {
	{OPT_INTERFACE, "interface", "SRC",
	 "source: IFACE, afpacket:IFACE, afxdp:IFACE[@QUEUE|@all] or pcap:FILE (repeatable or "
	 "comma-separated; merged)"},
	{OPT_CLUSTER, "cluster", "ID", "cluster id (0-65535): queues are named ID@Q"},
	{OPT_QUEUES, "queues", "N[,M...]", "queues per group: 4,2 = group A queues 0-3, B 4-5"},
	{OPT_HASH, "hash-mode", "MODE",
	 "rr, ip (default), 5tuple, inner-ip, inner-5tuple, vlan, iface, fanout; or zbalance_ipc "
	 "0,1,2,4,5,6"},
	{OPT_EGRESS, "egress", "Q:TARGET",
	 "re-emit queue Q on IFACE or into pcap:FILE (repeatable)"},
	{OPT_FILTER, "filter", "[SCOPE:]EXPR",
	 "deliver only packets matching BPF; SCOPE: a group letter, Q or Q-Q (default every "
	 "queue; repeatable; SIGHUP re-reads a config file's)"},
	{OPT_SNAPLEN, "snaplen", "[SCOPE:]BYTES", "deliver at most BYTES of each packet (0: all)"},
	{OPT_STRIP, "strip", "[SCOPE:]WHAT",
	 "deliver the frame inside: vlan, mpls, tunnel, a list (vlan,tunnel) or none"},
	{OPT_DEDUP, "dedup", "[SCOPE:]USEC",
	 "drop copies of a packet seen within USEC microseconds (0: off)"},
	{OPT_HASH_SEED, "hash-seed", "N",
	 "mix N into the flow hash: a second stage of distribution splits again (default 0)"},
	{OPT_FLOW_TABLE, "flow-table", "SIZE",
	 "flows each group's table holds (e.g. 1M; off: the stateless hash; default 1M when "
	 "shunting, else off)"},
	{OPT_FLOW_TIMEOUT, "flow-timeout", "IDLE[,CLOSED]",
	 "seconds a flow stays in the flow table unseen (default 60), and after a TCP FIN or "
	 "RST (default 5)"},
	{OPT_SHUNT_PACKETS, "shunt-packets", "[GROUP:]N",
	 "deliver only the first N packets of each flow, count the rest as shunted (0: all; "
	 "per protocol: tcp=N,udp=N,other=N)"},
	{OPT_SHUNT_BYTES, "shunt-bytes", "[GROUP:]BYTES",
	 "deliver each flow until BYTES of it went (k/M/G), count the rest as shunted (0: all; "
	 "per protocol: tcp=B,udp=B,other=B)"},
	{OPT_PLACEMENT, "placement", "[GROUP:]HOW",
	 "where new flows go: hash (default), weighted (--weights) or least-loaded (fewest "
	 "recent packets; a flow stays)"},
	{OPT_WEIGHTS, "weights", "[GROUP:]W,W..",
	 "with --placement weighted: one weight per queue of the group (e.g. 2,1,1,1)"},
	{OPT_FAILOVER, "failover", "SECONDS",
	 "a queue whose consumer is gone this long gets no new flows until it is back (0: "
	 "off)"},
	{OPT_FAILOVER_MOVE, "failover-move", NULL,
	 "with --failover: move the gone consumer's flows to live queues too (counted)"},
	{OPT_CAPTURE_OUTGOING, "capture-outgoing", NULL,
	 "interfaces also give the packets this host sends on them (default: received only)"},
	{OPT_DISABLE_OFFLOADS, "disable-offloads", NULL,
	 "turn GRO/LRO (with -X also TSO) off on interface sources (else: a warning)"},
	{OPT_THREADS, "threads", "K",
	 "capture one interface with K threads (AF_PACKET fanout by address pair), each "
	 "feeding every queue through a ring of its own (default 1)"},
	{OPT_XDP_MODE, "xdp-mode", "MODE",
	 "afxdp sources: native (in the driver) or skb (generic); default: native if the driver "
	 "has it, skb on a veth"},
	{OPT_PRINT, "print-stats", NULL, "print counters every second (with -d: to the -l file)"},
	{OPT_DAEMON, "daemon", NULL, "run in the background"},
	{OPT_PIDFILE, "pid-file", "FILE", "write the balancer's pid to FILE"},
	{OPT_LOGFILE, "log-file", "FILE", "append messages to FILE (reopened on SIGHUP)"},
	{OPT_USER, "user", "USER", "drop root to USER after opening sockets and queues"},
	{OPT_CPU, "cpu", "CPU", "run the balancer thread on CPU only (zbalance_ipc -g)"},
	{OPT_EGRESS_CPUS, "egress-cpus", "CPUS",
	 "run egress threads on these CPUs (e.g. 2-5): one each, in queue order"},
	{OPT_RING_SIZE, "ring-size", "BYTES",
	 "bytes per queue, power of two (default 16M; 1M to split a file)"},
	{OPT_CAPTURE_RING, "capture-ring-size", "BYTES",
	 "bytes of kernel ring per interface (default 32M)"},
	{OPT_OWNER, "owner", "USER", "owner of the queue files"},
	{OPT_GROUP, "group", "GROUP", "group of the queue files"},
	{OPT_FILE_MODE, "file-mode", "OCTAL",
	 "permissions of the queue files (default 0600; 0640 with --group; read bits only "
	 "beyond the owner's)"},
	{OPT_OLD_MODE, "mode", "OCTAL", NULL, OPT_FILE_MODE},
	{OPT_ACCESS, "access", "Q[-Q]:KEY=V,..",
	 "owner=, group=, mode= of some queues (repeatable; e.g. 0-3:group=zeek)"},
	{OPT_DIR, "dir", "DIR",
	 "queue, lock and stats directory (default $RINGFAN_DIR or " RF_DEFAULT_DIR ")"},
	{OPT_RATE, "rate", "PPS", "replay files at PPS packets per second (drops when full)"},
	{OPT_SPEED, "speed", "X", "replay files at X times the recorded pace (drops when full)"},
	{OPT_LOOP, "loop", "N", "replay files N times, 0 = forever (drops when full)"},
	{OPT_METRICS, "metrics", "ADDR:PORT",
	 "serve this cluster's Prometheus metrics on http://ADDR:PORT/metrics"},
	{OPT_HELP, "help", NULL, "print this help"},
};

void rf_config_init(struct rf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = RF_MODE_IP;
	cfg->capture_ring_size = RF_DEFAULT_CAPTURE_RING;
	cfg->owner = (uid_t)-1;
	cfg->group = (gid_t)-1;
	cfg->loops = RF_DEFAULT_LOOPS;
}

void rf_balance_usage(FILE *f)
{
	fprintf(f, "Usage: ringfan balance -i SOURCE -c CLUSTER -n N[,M...] [OPTIONS]\n"
		   "       ringfan balance CONFIG_FILE [OPTIONS]\n\n"
		   "Split traffic from sources over the shared-memory queues CLUSTER@0..\n\n"
		   "Options:\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExamples:\n"
		   "  ringfan balance -i afpacket:eth1,afpacket:eth2 -c 99 -n 4,1 -m 5tuple -r "
		   "4:veth0 -p\n"
		   "  ringfan balance -i pcap:trace.pcap -c 7 -n 2,3 --ring-size 64M\n"
		   "  ringfan balance -i eth1 -c 99 -n 4 -d -P /run/rf99.pid -l /var/log/rf99.log "
		   "-D ringfan\n"
		   "  ringfan balance /etc/ringfan/cluster-99.conf\n\n"
		   "A config file has one option per line ('cluster 99', '-n 4,2', 'daemon'); "
		   "see ringfan-balance(1).\n");
}

static int copy_str(char *dst, size_t len, const char *src, const char *what, const char *where)
{
	if (strlen(src) >= len || !*src) {
		rf_err("%s%s '%s' is %s", where, what, src, *src ? "too long" : "empty");
		return -EINVAL;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static bool is_afxdp(const char *spec)
{
	return !strncmp(spec, RF_SOURCE_AFXDP, strlen(RF_SOURCE_AFXDP));
}

/* "eth1", "afpacket:eth1" and "afxdp:eth1[@Q]" are interfaces; "pcap:FILE" a capture file. */
static int add_sources(struct rf_config *cfg, const char *list, const char *where)
{
	char buf[RF_CFG_PATH_MAX], *rest, *tok;

	if (copy_str(buf, sizeof(buf), list, "source list", where))
		return -EINVAL;
	for (rest = buf; (tok = strsep(&rest, ","));) {
		if (!*tok) {
			rf_err("%sempty item in source list '%s'", where, list);
			return -EINVAL;
		}
		if (cfg->n_sources >= RF_CFG_MAX_SOURCES) {
			rf_err("%stoo many sources (at most %d)", where, RF_CFG_MAX_SOURCES);
			return -EINVAL;
		}
		if (!strcmp(tok, "pcap:") || !strcmp(tok, "afpacket:") || !strcmp(tok, "afxdp:")) {
			rf_err("%ssource '%s' names no file or interface", where, tok);
			return -EINVAL;
		}
		if (strchr(tok, ':') && strncmp(tok, "pcap:", 5) && strncmp(tok, "afpacket:", 9) &&
		    !is_afxdp(tok)) {
			rf_err("%sunknown source '%s' (IFACE, afpacket:IFACE, afxdp:IFACE[@QUEUE] "
			       "or "
			       "pcap:FILE)",
			       where, tok);
			return -EINVAL;
		}
		if (is_afxdp(tok) &&
		    rf_source_parse_afxdp(tok + strlen(RF_SOURCE_AFXDP), NULL, NULL)) {
			rf_err("%sbad source '%s' (afxdp:IFACE, afxdp:IFACE@QUEUE with a queue "
			       "number, or afxdp:IFACE@all)",
			       where, tok);
			return -EINVAL;
		}
		if (copy_str(cfg->sources[cfg->n_sources], RF_CFG_PATH_MAX, tok, "source", where))
			return -EINVAL;
		cfg->n_sources++;
	}
	return 0;
}

int rf_config_parse_groups(const char *list, uint32_t *ret_queues, unsigned int *ret_groups,
			   unsigned int *ret_total, const char *where)
{
	char buf[512], *rest, *tok;
	uint32_t q[RF_CFG_MAX_GROUPS];
	uint64_t v, total = 0;
	unsigned int n = 0;

	if (copy_str(buf, sizeof(buf), list, "queue list", where))
		return -EINVAL;
	/* strsep keeps empty items: "4,,2", "4," and ",4" are mistakes, not "4,2" and "4". */
	for (rest = buf; (tok = strsep(&rest, ","));) {
		if (n >= RF_CFG_MAX_GROUPS || rf_parse_u64(tok, 1, RF_CFG_MAX_QUEUES, &v) ||
		    total + v > RF_CFG_MAX_QUEUES) {
			rf_err("%sbad queue count '%s' in '-n %s' (decimal, 1..%d queues in total, "
			       "at most %d groups)",
			       where, tok, list, RF_CFG_MAX_QUEUES, RF_CFG_MAX_GROUPS);
			return -EINVAL;
		}
		q[n++] = (uint32_t)v;
		total += v;
	}
	memcpy(ret_queues, q, n * sizeof(q[0]));
	*ret_groups = n;
	*ret_total = (unsigned int)total;
	return 0;
}

static int parse_egress(struct rf_config *cfg, const char *arg, const char *where)
{
	struct rf_cfg_egress *e;
	const char *colon = strchr(arg, ':');
	char num[16];
	uint64_t q;

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(num) || !colon[1]) {
		rf_err("%sbad egress '%s' (expected Q:TARGET, e.g. 0:veth1)", where, arg);
		return -EINVAL;
	}
	memcpy(num, arg, colon - arg);
	num[colon - arg] = 0;
	if (rf_parse_u64(num, 0, RF_MAX_QUEUE, &q)) {
		rf_err("%sbad queue number '%s' in egress '%s' (decimal, 0..%d)", where, num, arg,
		       RF_MAX_QUEUE);
		return -EINVAL;
	}
	if (cfg->n_egress >= RF_CFG_MAX_EGRESS) {
		rf_err("%stoo many egresses (at most %d)", where, RF_CFG_MAX_EGRESS);
		return -EINVAL;
	}
	e = &cfg->egress[cfg->n_egress];
	if (copy_str(e->target, sizeof(e->target), colon + 1, "egress target", where))
		return -EINVAL;
	e->queue = (uint32_t)q;
	cfg->n_egress++;
	return 0;
}

static int parse_user(const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
	struct passwd *pw;
	uint64_t v;

	if (!rf_parse_u64(name, 0, UINT32_MAX - 1, &v)) {
		pw = getpwuid((uid_t)v);
		*ret_uid = (uid_t)v;
		*ret_gid = pw ? pw->pw_gid : (gid_t)-1;
		return 0;
	}
	pw = getpwnam(name);
	if (!pw)
		return -ENOENT;
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return 0;
}

static int parse_group_name(const char *name, gid_t *ret_gid)
{
	struct group *gr;
	uint64_t v;

	if (!rf_parse_u64(name, 0, UINT32_MAX - 1, &v)) {
		*ret_gid = (gid_t)v;
		return 0;
	}
	gr = getgrnam(name);
	if (!gr)
		return -ENOENT;
	*ret_gid = gr->gr_gid;
	return 0;
}

static int parse_ring(const char *arg, uint64_t min, uint64_t *ret, const char *what,
		      const char *where)
{
	uint64_t v;

	if (rf_parse_size(arg, min, 1ull << 40, &v) || (v & (v - 1))) {
		rf_err("%sbad %s '%s' (a power of two from %llu bytes, e.g. 16M)", where, what, arg,
		       (unsigned long long)min);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int rf_config_parse_mode(const char *arg, enum rf_mode *ret, const char *where)
{
	const char *hint = rf_mode_zbalance_hint(arg);

	if (!rf_mode_parse(arg, ret))
		return 0;
	if (hint)
		rf_err("%s-m %s: %s", where, arg, hint);
	else
		rf_err("%sunknown hash mode '%s'\n%s", where, arg, rf_mode_help());
	return -EINVAL;
}

static int set_mode(struct rf_config *cfg, const char *arg, const char *where)
{
	enum rf_mode m;

	if (rf_config_parse_mode(arg, &m, where))
		return -EINVAL;
	cfg->mode = (int)m;
	return 0;
}

static int set_cpu(struct rf_config *cfg, const char *arg, const char *where)
{
	uint64_t v;

	if (rf_parse_u64(arg, 0, CPU_SETSIZE - 1, &v)) {
		rf_err("%sbad CPU '%s' for -g (a CPU number, as taskset -c and /proc/cpuinfo "
		       "count them)",
		       where, arg);
		return -EINVAL;
	}
	CPU_ZERO(&cfg->cpu.set);
	CPU_SET((int)v, &cfg->cpu.set);
	cfg->cpu.given = true;
	return 0;
}

static int set_egress_cpus(struct rf_config *cfg, const char *arg, const char *where)
{
	if (rf_cpus_parse(arg, &cfg->egress_cpus)) {
		rf_err("%sbad CPU list '%s' for --egress-cpus (as taskset -c takes it, e.g. 2-5,8)",
		       where, arg);
		return -EINVAL;
	}
	return 0;
}

static int set_cluster(struct rf_config *cfg, const char *arg, const char *where)
{
	if (rf_cluster_parse_id(arg, &cfg->cluster, where))
		return -EINVAL;
	cfg->have_cluster = true;
	return 0;
}

static int set_owner(struct rf_config *cfg, const char *arg, const char *where)
{
	gid_t unused;

	if (parse_user(arg, &cfg->owner, &unused)) {
		rf_err("%sunknown user '%s'", where, arg);
		return -EINVAL;
	}
	return 0;
}

static int set_user(struct rf_config *cfg, const char *arg, const char *where)
{
	uid_t u;
	gid_t g;

	if (parse_user(arg, &u, &g)) {
		rf_err("%sunknown user '%s'", where, arg);
		return -EINVAL;
	}
	return copy_str(cfg->user, sizeof(cfg->user), arg, "user", where);
}

static int set_group(struct rf_config *cfg, const char *arg, const char *where)
{
	if (parse_group_name(arg, &cfg->group)) {
		rf_err("%sunknown group '%s'", where, arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_file_mode(const char *arg, mode_t *ret, const char *where)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 8);
	if (errno || *end || !*arg || v <= 0 || v > 0777) {
		enum rf_mode unused;

		/* --mode was the file mode here and the hash mode in explain. */
		rf_err("%sbad file mode '%s' (octal, e.g. 0640)%s", where, arg,
		       rf_mode_parse(arg, &unused)
			       ? ""
			       : ": the file mode is permissions; the hash mode "
				 "is -m/--hash-mode");
		return -EINVAL;
	}
	if (v & ~RF_QUEUE_MODE_ALLOWED) {
		rf_err("%sfile mode '%s' lets others than the owner write the queue files: only "
		       "the balancer writes them (a consumer's page gets a write bit where the "
		       "queue has a read bit), so give read bits only, e.g. 0640",
		       where, arg);
		return -EINVAL;
	}
	*ret = (mode_t)v;
	return 0;
}

static int set_file_mode(struct rf_config *cfg, const char *arg, const char *where)
{
	return parse_file_mode(arg, &cfg->file_mode, where);
}

/* "N" or "N-M" (decimal queue numbers) before the colon of an --access rule. */
static int parse_queue_range(const char *s, struct rf_cfg_access *a)
{
	char buf[32], *dash;
	uint64_t f, l;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = 0;
	if (rf_parse_u64(buf, 0, RF_MAX_QUEUE, &f) ||
	    rf_parse_u64(dash ? dash : buf, 0, RF_MAX_QUEUE, &l) || l < f)
		return -EINVAL;
	a->first = (uint32_t)f;
	a->last = (uint32_t)l;
	return 0;
}

static int access_key(struct rf_cfg_access *a, char *kv, const char *arg, const char *where)
{
	char *val = strchr(kv, '=');
	gid_t unused;

	if (!val || val == kv || !val[1]) {
		rf_err("%sbad item '%s' in --access '%s' (owner=USER, group=GROUP, mode=OCTAL)",
		       where, kv, arg);
		return -EINVAL;
	}
	*val++ = 0;
	if (!strcmp(kv, "mode"))
		return parse_file_mode(val, &a->mode, where);
	if (!strcmp(kv, "group") && !parse_group_name(val, &a->group))
		return 0;
	if (!strcmp(kv, "owner") && !parse_user(val, &a->owner, &unused))
		return 0;
	if (strcmp(kv, "group") && strcmp(kv, "owner")) {
		rf_err("%sunknown key '%s' in --access '%s' (owner, group, mode)", where, kv, arg);
		return -EINVAL;
	}
	rf_err("%sunknown %s '%s' in --access '%s'", where, !strcmp(kv, "group") ? "group" : "user",
	       val, arg);
	return -EINVAL;
}

/* --access Q[-Q]:owner=U,group=G,mode=M */
static int parse_access(struct rf_config *cfg, const char *arg, const char *where)
{
	struct rf_cfg_access a = {.owner = (uid_t)-1, .group = (gid_t)-1};
	char buf[256], *colon, *rest, *kv;

	if (cfg->n_access >= RF_CFG_MAX_ACCESS) {
		rf_err("%stoo many --access rules (at most %d)", where, RF_CFG_MAX_ACCESS);
		return -EINVAL;
	}
	if (copy_str(buf, sizeof(buf), arg, "access rule", where))
		return -EINVAL;
	colon = strchr(buf, ':');
	if (colon)
		*colon = 0;
	if (!colon || !colon[1] || parse_queue_range(buf, &a)) {
		rf_err("%sbad --access '%s' (expected QUEUES:KEY=VALUE,..., e.g. 0-3:group=zeek or "
		       "4:owner=suricata,mode=0600)",
		       where, arg);
		return -EINVAL;
	}
	for (rest = colon + 1; (kv = strsep(&rest, ","));)
		if (access_key(&a, kv, arg, where))
			return -EINVAL;
	cfg->access[cfg->n_access++] = a;
	return 0;
}

static int set_pacing(struct rf_config *cfg, int id, const char *arg, const char *where)
{
	uint64_t loops;

	if (id == OPT_LOOP) {
		if (rf_parse_u64(arg, 0, UINT32_MAX, &loops)) {
			rf_err("%sbad loop count '%s' (decimal, 0 = forever)", where, arg);
			return -EINVAL;
		}
		cfg->loops = loops;
		cfg->loops_given = true;
		return 0;
	}
	if (rf_parse_double(arg, 1e-6, 1e12, id == OPT_RATE ? &cfg->rate_pps : &cfg->speed)) {
		rf_err("%sbad %s '%s' (a positive decimal number)", where,
		       id == OPT_RATE ? "rate" : "speed", arg);
		return -EINVAL;
	}
	if (cfg->rate_pps > 0 && cfg->speed > 0) {
		rf_err("%s--rate and --speed exclude each other", where);
		return -EINVAL;
	}
	return 0;
}

static int set_xdp_mode(struct rf_config *cfg, const char *arg, const char *where)
{
	static const char *const names[] = {"auto", "skb", "native"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(arg, names[i])) {
			cfg->xdp_mode = (int)i; /* enum rf_xdp_mode: auto, skb, native */
			return 0;
		}
	rf_err("%sbad --xdp-mode '%s' (native, skb or auto)", where, arg);
	return -EINVAL;
}

static int set_metrics(struct rf_config *cfg, const char *arg, const char *where)
{
	if (rf_metrics_check_listen(arg)) {
		rf_err("%sbad --metrics address '%s' (ADDR:PORT, e.g. 127.0.0.1:9572)", where, arg);
		return -EINVAL;
	}
	memcpy(cfg->metrics_listen, arg, strlen(arg) + 1);
	return 0;
}

static const char *const rule_names[RF_RULE__MAX] = {
	[RF_RULE_FILTER] = "filter",
	[RF_RULE_SNAPLEN] = "snaplen",
	[RF_RULE_STRIP] = "strip",
	[RF_RULE_DEDUP] = "dedup",
	[RF_RULE_SHUNT_PACKETS] = "shunt-packets",
	[RF_RULE_SHUNT_BYTES] = "shunt-bytes",
	[RF_RULE_PLACEMENT] = "placement",
	[RF_RULE_WEIGHTS] = "weights",
};

const char *rf_config_rule_name(int kind)
{
	return kind < 0 ? "?" : rf_name_of(rule_names, RF_RULE__MAX, (unsigned int)kind);
}

/* A group letter, or decimal queue numbers "Q" or "Q-Q". */
static bool is_scope(const char *s, size_t len)
{
	size_t i, dashes = 0;

	if (len == 1 && s[0] >= 'A' && s[0] <= 'Z')
		return true;
	if (!len || len >= RF_CFG_SCOPE_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '-')
			dashes++;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return dashes <= 1;
}

/* One cut-off of --shunt-packets (kind RF_RULE_SHUNT_PACKETS) or --shunt-bytes. */
static int shunt_value(int kind, const char *s, uint64_t *ret)
{
	if (kind == RF_RULE_SHUNT_PACKETS)
		return rf_parse_u64(s, 0, UINT32_MAX, ret);
	return rf_parse_size(s, 0, UINT64_MAX / 2, ret);
}

int rf_config_parse_shunt(int kind, const char *s, uint64_t ret[RF_FT_PROTOS])
{
	uint64_t v[RF_FT_PROTOS] = {0};
	char buf[32];
	unsigned int seen = 0;
	const char *p = s, *eq, *end;
	int proto;

	if (!strchr(s, '=')) {
		if (shunt_value(kind, s, &v[0]))
			return -EINVAL;
		for (proto = 0; proto < RF_FT_PROTOS; proto++)
			ret[proto] = v[0];
		return 0;
	}
	for (;;) {
		end = p + strcspn(p, ",");
		eq = memchr(p, '=', (size_t)(end - p));
		if (!eq || (proto = rf_ft_proto_parse(p, (size_t)(eq - p))) < 0 ||
		    seen & (1u << proto) || (size_t)(end - eq) > sizeof(buf))
			return -EINVAL;
		memcpy(buf, eq + 1, (size_t)(end - eq - 1));
		buf[end - eq - 1] = 0;
		if (shunt_value(kind, buf, &v[proto]))
			return -EINVAL;
		seen |= 1u << proto;
		if (!*end)
			break;
		p = end + 1;
	}
	memcpy(ret, v, sizeof(v));
	return 0;
}

/*
 * --shunt-packets, --shunt-bytes: the text as given (parsed again by
 * rf_config_place_opts()), value the largest cut-off (0: nothing shunted).
 */
static int shunt_rule(struct rf_cfg_rule *r, const char *val, const char *arg, const char *where)
{
	uint64_t v[RF_FT_PROTOS];
	int p;

	if (strlen(val) >= sizeof(r->text) || rf_config_parse_shunt(r->kind, val, v)) {
		if (r->kind == RF_RULE_SHUNT_PACKETS)
			rf_err("%sbad --shunt-packets '%s' (packets, 1 to %u, or 0 for all; or per "
			       "protocol: tcp=N,udp=N,other=N)",
			       where, arg, UINT32_MAX);
		else
			rf_err("%sbad --shunt-bytes '%s' (bytes, with k, M or G, or 0 for all; or "
			       "per protocol: tcp=B,udp=B,other=B)",
			       where, arg);
		return -EINVAL;
	}
	strcpy(r->text, val);
	r->value = 0;
	for (p = 0; p < RF_FT_PROTOS; p++)
		if (v[p] > r->value)
			r->value = v[p];
	return 0;
}

/* The value of a rule, parsed by its kind. */
static int rule_value(struct rf_cfg_rule *r, const char *val, const char *arg, const char *where)
{
	uint32_t weights[RF_PLACE_BUCKETS];
	enum rf_placement place;
	unsigned int strip;

	switch (r->kind) {
	case RF_RULE_FILTER:
		if (strlen(val) >= sizeof(r->text)) {
			rf_err("%s--filter '%.40s...' is too long (at most %zu bytes)", where, arg,
			       sizeof(r->text) - 1);
			return -EINVAL;
		}
		strcpy(r->text, val); /* "" lets every packet through */
		return 0;
	case RF_RULE_SNAPLEN:
		if (!rf_parse_u64(val, 0, RF_STRIP_BUF, &r->value))
			return 0;
		rf_err("%sbad --snaplen '%s' (bytes, 1 to %d, or 0 for whole packets)", where, arg,
		       RF_STRIP_BUF);
		return -EINVAL;
	case RF_RULE_STRIP:
		if (!rf_strip_parse(val, &strip)) {
			r->value = strip;
			return 0;
		}
		rf_err("%sbad --strip '%s' (vlan, mpls, tunnel, a list such as vlan,tunnel, or "
		       "none)",
		       where, arg);
		return -EINVAL;
	case RF_RULE_PLACEMENT:
		if (!rf_placement_parse(val, &place)) {
			r->value = place;
			return 0;
		}
		rf_err("%sbad --placement '%s' (hash, weighted or least-loaded)", where, arg);
		return -EINVAL;
	case RF_RULE_WEIGHTS:
		if (strlen(val) < sizeof(r->text) &&
		    rf_weights_parse(val, weights, RF_PLACE_BUCKETS) > 0) {
			strcpy(r->text, val);
			return 0;
		}
		rf_err("%sbad --weights '%s' (one weight per queue of the group, 0 to %d, not all "
		       "0, e.g. 2,1,1,1)",
		       where, arg, RF_PLACE_MAX_WEIGHT);
		return -EINVAL;
	case RF_RULE_SHUNT_PACKETS:
	case RF_RULE_SHUNT_BYTES:
		return shunt_rule(r, val, arg, where);
	default:
		if (!rf_parse_u64(val, 0, RF_DEDUP_MAX_US, &r->value))
			return 0;
		rf_err("%sbad --dedup '%s' (a window in microseconds, 1 to %d, or 0 for off)",
		       where, arg, RF_DEDUP_MAX_US);
		return -EINVAL;
	}
}

/* --filter, --snaplen, --strip, --dedup: [SCOPE:]VALUE */
static int add_rule(struct rf_config *cfg, int kind, const char *arg, const char *where)
{
	const char *colon = strchr(arg, ':'), *val = arg;
	struct rf_cfg_rule *r;

	if (cfg->n_rules >= RF_CFG_MAX_RULES) {
		rf_err("%stoo many --filter, --snaplen, --strip, --dedup and --shunt-* options (at "
		       "most %d)",
		       where, RF_CFG_MAX_RULES);
		return -EINVAL;
	}
	r = &cfg->rules[cfg->n_rules];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (colon && is_scope(arg, (size_t)(colon - arg))) {
		memcpy(r->scope, arg, (size_t)(colon - arg));
		val = colon + 1;
	}
	if ((kind == RF_RULE_SHUNT_PACKETS || kind == RF_RULE_SHUNT_BYTES) && r->scope[0] &&
	    (r->scope[0] < 'A' || r->scope[0] > 'Z')) {
		rf_err("%s--%s '%s': shunting is per group: the scope is a group letter (A:10), "
		       "not "
		       "queues",
		       where, rule_names[kind], arg);
		return -EINVAL;
	}
	if (kind != RF_RULE_FILTER && !*val) {
		rf_err("%s--%s '%s' has no value", where, rule_names[kind], arg);
		return -EINVAL;
	}
	if (rule_value(r, val, arg, where))
		return -EINVAL;
	cfg->n_rules++;
	return 0;
}

int rf_config_parse_hash_seed(const char *arg, uint32_t *ret, const char *where)
{
	uint64_t v;

	if (rf_parse_u64(arg, 0, UINT32_MAX, &v)) {
		rf_err("%sbad --hash-seed '%s' (0 to %u)", where, arg, UINT32_MAX);
		return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

static int set_flow_table(struct rf_config *cfg, const char *arg, const char *where)
{
	uint64_t v;

	if (!strcmp(arg, "off"))
		v = 0;
	else if (rf_parse_size(arg, 0, RF_FT_MAX_ENTRIES, &v)) {
		rf_err("%sbad --flow-table '%s' (flows per group, %u to %u, k/M suffixes, or off)",
		       where, arg, RF_FT_WAYS, RF_FT_MAX_ENTRIES);
		return -EINVAL;
	}
	cfg->flow_table = (uint32_t)v;
	cfg->flow_table_given = true;
	return 0;
}

/* --flow-timeout IDLE[,CLOSED] */
static int set_flow_timeout(struct rf_config *cfg, const char *arg, const char *where)
{
	char buf[64], *comma;
	uint64_t idle, closed = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	comma = strchr(buf, ',');
	if (comma)
		*comma++ = 0;
	if (strlen(arg) >= sizeof(buf) || rf_parse_u64(buf, 1, RF_FT_MAX_IDLE_S, &idle) ||
	    (comma && rf_parse_u64(comma, 1, RF_FT_MAX_IDLE_S, &closed))) {
		rf_err("%sbad --flow-timeout '%s' (IDLE[,CLOSED] in seconds, 1 to %llu; e.g. "
		       "60,5)",
		       where, arg, (unsigned long long)RF_FT_MAX_IDLE_S);
		return -EINVAL;
	}
	cfg->flow_idle_s = idle;
	cfg->flow_closed_s = closed;
	return 0;
}

/* Apply one option; where is "" or "FILE:LINE: " for messages. */
static int apply(struct rf_config *cfg, int id, const char *arg, const char *where)
{
	switch (id) {
	case OPT_INTERFACE:
		return add_sources(cfg, arg, where);
	case OPT_CLUSTER:
		return set_cluster(cfg, arg, where);
	case OPT_QUEUES:
		return rf_config_parse_groups(arg, cfg->group_queues, &cfg->n_groups,
					      &cfg->n_queues, where);
	case OPT_HASH:
		return set_mode(cfg, arg, where);
	case OPT_EGRESS:
		return parse_egress(cfg, arg, where);
	case OPT_PRINT:
		cfg->print_stats = true;
		return 0;
	case OPT_CAPTURE_OUTGOING:
		cfg->capture_outgoing = true;
		return 0;
	case OPT_DISABLE_OFFLOADS:
		cfg->disable_offloads = true;
		return 0;
	case OPT_DAEMON:
		cfg->daemon = true;
		return 0;
	case OPT_PIDFILE:
		return copy_str(cfg->pid_file, sizeof(cfg->pid_file), arg, "pid file", where);
	case OPT_LOGFILE:
		return copy_str(cfg->log_file, sizeof(cfg->log_file), arg, "log file", where);
	case OPT_USER:
		return set_user(cfg, arg, where);
	case OPT_RING_SIZE:
		return parse_ring(arg, 64 << 10, &cfg->ring_size, "ring size", where);
	case OPT_CAPTURE_RING:
		return parse_ring(arg, 2 << 20, &cfg->capture_ring_size, "capture ring size",
				  where);
	case OPT_OWNER:
		return set_owner(cfg, arg, where);
	case OPT_GROUP:
		return set_group(cfg, arg, where);
	case OPT_FILE_MODE:
		return set_file_mode(cfg, arg, where);
	case OPT_CPU:
		return set_cpu(cfg, arg, where);
	case OPT_EGRESS_CPUS:
		return set_egress_cpus(cfg, arg, where);
	case OPT_ACCESS:
		return parse_access(cfg, arg, where);
	case OPT_DIR:
		return copy_str(cfg->dir, sizeof(cfg->dir), arg, "directory", where);
	case OPT_METRICS:
		return set_metrics(cfg, arg, where);
	case OPT_FILTER:
		return add_rule(cfg, RF_RULE_FILTER, arg, where);
	case OPT_SNAPLEN:
		return add_rule(cfg, RF_RULE_SNAPLEN, arg, where);
	case OPT_STRIP:
		return add_rule(cfg, RF_RULE_STRIP, arg, where);
	case OPT_DEDUP:
		return add_rule(cfg, RF_RULE_DEDUP, arg, where);
	case OPT_SHUNT_PACKETS:
		return add_rule(cfg, RF_RULE_SHUNT_PACKETS, arg, where);
	case OPT_SHUNT_BYTES:
		return add_rule(cfg, RF_RULE_SHUNT_BYTES, arg, where);
	case OPT_FLOW_TABLE:
		return set_flow_table(cfg, arg, where);
	case OPT_FLOW_TIMEOUT:
		return set_flow_timeout(cfg, arg, where);
	case OPT_FAILOVER:
		if (!rf_parse_u64(arg, 0, RF_FT_MAX_IDLE_S, &cfg->failover_s))
			return 0;
		rf_err("%sbad --failover '%s' (seconds, 1 to %llu, or 0 for off)", where, arg,
		       (unsigned long long)RF_FT_MAX_IDLE_S);
		return -EINVAL;
	case OPT_FAILOVER_MOVE:
		cfg->failover_move = true;
		return 0;
	case OPT_THREADS:
		if (!rf_parse_u64(arg, 1, RF_CFG_MAX_THREADS, &cfg->threads))
			return 0;
		rf_err("%sbad --threads '%s' (capture threads, 1 to %u)", where, arg,
		       RF_CFG_MAX_THREADS);
		return -EINVAL;
	case OPT_PLACEMENT:
		return add_rule(cfg, RF_RULE_PLACEMENT, arg, where);
	case OPT_WEIGHTS:
		return add_rule(cfg, RF_RULE_WEIGHTS, arg, where);
	case OPT_HASH_SEED:
		return rf_config_parse_hash_seed(arg, &cfg->hash_seed, where);
	case OPT_XDP_MODE:
		return set_xdp_mode(cfg, arg, where);
	case OPT_RATE:
	case OPT_SPEED:
	case OPT_LOOP:
		return set_pacing(cfg, id, arg, where);
	}
	return -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* A '#' that starts the line or follows a blank starts a comment ("a#b" is a value). */
static void cut_comment(char *s)
{
	char *p;

	for (p = s; (p = strchr(p, '#')); p++)
		if (p == s || p[-1] == ' ' || p[-1] == '\t') {
			*p = 0;
			return;
		}
}

/* What rf_opts_set() and rf_opts_parse() apply options to. */
struct cfg_ctx {
	struct rf_config *cfg;
	const char *where; /* "" or "FILE:LINE: " */
};

static int apply_ctx(void *arg, int id, const char *value)
{
	struct cfg_ctx *c = arg;

	return apply(c->cfg, id, value, c->where);
}

static const struct rf_opts balance_opts = {opts, ARRAY_SIZE(opts), apply_ctx, rf_balance_usage};

const struct opt_desc *rf_config_opt(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].name && !strcmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

int rf_config_set(struct rf_config *cfg, const char *name, const char *value, const char *where)
{
	struct cfg_ctx ctx = {cfg, where};

	return rf_opts_set(&balance_opts, name, value ? value : "", where, &ctx) ? -EINVAL : 0;
}

/* "key value", "key=value" or "key = value", then an optional comment. */
static int parse_line(struct rf_config *cfg, char *line, const char *where)
{
	struct cfg_ctx ctx = {cfg, where};
	char *key, *val;
	bool eq;

	cut_comment(line);
	key = trim(line);
	if (!*key)
		return 0;
	val = key + strcspn(key, " \t=");
	eq = *val == '=';
	if (*val)
		*val++ = 0;
	val = trim(val);
	if (!eq && *val == '=')
		val = trim(val + 1);
	if (!*key) {
		rf_err("%sno option name before '='", where);
		return -EINVAL;
	}
	return rf_opts_set(&balance_opts, key, val, where, &ctx) ? -EINVAL : 0;
}

int rf_config_parse_file(struct rf_config *cfg, const char *path)
{
	char line[RF_CFG_PATH_MAX + 64], where[RF_CFG_PATH_MAX + 32];
	unsigned int n = 0;
	struct stat st;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		rf_err("cannot open config file '%s': %s", path, strerror(errno));
		return RF_EXIT_RUNTIME;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		rf_err("cannot read config file '%s': %s", path, strerror(EISDIR));
		fclose(f);
		return RF_EXIT_RUNTIME;
	}
	while (!r && fgets(line, sizeof(line), f)) {
		n++;
		snprintf(where, sizeof(where), "%s:%u: ", path, n);
		if (!strchr(line, '\n') && !feof(f)) {
			rf_err("%sline too long", where);
			r = -EINVAL;
			break;
		}
		r = parse_line(cfg, line, where);
	}
	if (!r && ferror(f)) {
		rf_err("cannot read config file '%s': %s", path, strerror(errno));
		fclose(f);
		return RF_EXIT_RUNTIME;
	}
	fclose(f);
	return r ? RF_EXIT_USAGE : 0;
}

static int parse_getopt(struct rf_config *cfg, int argc, char **argv)
{
	struct cfg_ctx ctx = {cfg, ""};
	int r, first;

	r = rf_opts_parse(&balance_opts, argc, argv, &ctx, &first);
	if (r)
		return r;
	if (first < argc) {
		rf_err("unexpected argument '%s' (a config file comes first)", argv[first]);
		return RF_EXIT_USAGE;
	}
	return 0;
}

int rf_config_parse_args(struct rf_config *cfg, int argc, char **argv)
{
	int r;

	if (argc >= 2 && argv[1][0] != '-') {
		r = rf_config_parse_file(cfg, argv[1]);
		if (r)
			return r;
		argv[1] = argv[0];
		return parse_getopt(cfg, argc - 1, argv + 1);
	}
	return parse_getopt(cfg, argc, argv);
}

/* One source per interface: "eth1", "afpacket:eth1" and "afxdp:eth1@0" capture the same. */
static int check_duplicate_sources(const struct rf_config *cfg)
{
	char a[RF_CFG_PATH_MAX], b[RF_CFG_PATH_MAX];
	const char *si, *sj, *ia, *ib;
	unsigned int i, j;

	for (i = 0; i < cfg->n_sources; i++)
		for (j = 0; j < i; j++) {
			si = cfg->sources[i];
			sj = cfg->sources[j];
			ia = rf_source_iface(si, a, sizeof(a));
			ib = rf_source_iface(sj, b, sizeof(b));
			if (ia && ib && !strcmp(ia, ib) && (is_afxdp(si) || is_afxdp(sj))) {
				rf_err("sources '%s' and '%s' both capture interface %s: give it "
				       "once (afxdp:%s captures every queue)",
				       sj, si, ia, ia);
				return RF_EXIT_USAGE;
			}
			if (!strcmp(si, sj) || (ia && ib && !strcmp(ia, ib))) {
				rf_err("source '%s' is given twice (every packet would be counted "
				       "twice)",
				       si);
				return RF_EXIT_USAGE;
			}
		}
	return 0;
}

/* XDP sees what an interface receives: -X cannot apply to an afxdp source. */
static int check_xdp_outgoing(const struct rf_config *cfg)
{
	unsigned int i;

	for (i = 0; cfg->capture_outgoing && i < cfg->n_sources; i++)
		if (is_afxdp(cfg->sources[i])) {
			rf_err("-X (--capture-outgoing) cannot apply to source '%s': XDP sees only "
			       "what an interface receives; capture it with afpacket: instead",
			       cfg->sources[i]);
			return RF_EXIT_USAGE;
		}
	return 0;
}

/*
 * --threads K > 1: one interface captured by K sockets of an AF_PACKET fanout
 * group that steers by address pair (afpacket.c), each thread with its own
 * pipeline. What keeps a flow in one thread, and so in order, decides what
 * may go with it.
 */
static int check_threads(const struct rf_config *cfg)
{
	const char *src = cfg->sources[0];

	if (cfg->threads <= 1)
		return 0;
	if (cfg->n_sources != 1 || rf_source_file(src) || is_afxdp(src)) {
		rf_err("--threads %llu splits the capture of one interface (-i IFACE or "
		       "afpacket:IFACE) across threads; %s: use --threads 1",
		       (unsigned long long)cfg->threads,
		       cfg->n_sources != 1 ? "give exactly one -i"
		       : rf_source_file(src)
			       ? "a file is read by one thread (its packets have one order)"
			       : "an afxdp source's receive queues are chosen by the NIC's own "
				 "hash "
				 "(RSS), which need not be symmetric and takes ports when it sees "
				 "them, so a flow's two directions and its fragments could cross "
				 "threads");
		return RF_EXIT_USAGE;
	}
	if (cfg->mode == RF_MODE_VLAN || cfg->mode == RF_MODE_IFACE) {
		rf_err("--threads %llu with -m %s: the threads are chosen by IP address pair, so "
		       "one %s's packets would go through several threads and lose their order; "
		       "use -m ip or 5tuple, or --threads 1",
		       (unsigned long long)cfg->threads, rf_mode_name((enum rf_mode)cfg->mode),
		       cfg->mode == RF_MODE_VLAN ? "VLAN" : "interface");
		return RF_EXIT_USAGE;
	}
	if (rf_config_flow_table(cfg)) {
		rf_err("--threads %llu: a flow table (--flow-table, shunting, least-loaded "
		       "placement, --failover) is one per group, kept by one thread; use --threads "
		       "1 with it",
		       (unsigned long long)cfg->threads);
		return RF_EXIT_USAGE;
	}
	return 0;
}

/* -g and --egress-cpus name CPUs this process may run on. */
static int check_cpus(const struct rf_config *cfg)
{
	const struct rf_cpus *sets[] = {&cfg->cpu, &cfg->egress_cpus};
	const char *names[] = {"-g", "--egress-cpus"};
	char allowed[256];
	size_t i;
	int cpu;

	for (i = 0; i < ARRAY_SIZE(sets); i++)
		if (rf_cpus_check(sets[i], &cpu, allowed, sizeof(allowed))) {
			rf_err("%s: CPU %d is not one this process may run on (it may use %s)",
			       names[i], cpu, allowed);
			return RF_EXIT_USAGE;
		}
	return 0;
}

static bool egress_queue_taken(const struct rf_config *cfg, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (cfg->egress[i].queue == cfg->egress[n].queue)
			return true;
	return false;
}

/*
 * Lossless file replay with every queue written by an egress of this
 * process: the queues only hand packets from one thread to another, and
 * nobody else can attach. Small rings stay in the CPU caches and cost no
 * start-up time; large ones would only be zeroed and mapped for nothing.
 */
static bool is_file_split(const struct rf_config *cfg)
{
	unsigned int i;

	if (rf_config_live_replay(cfg) || cfg->n_egress < cfg->n_queues)
		return false;
	for (i = 0; i < cfg->n_sources; i++)
		if (!rf_source_file(cfg->sources[i]))
			return false;
	return true;
}

static bool needs_flow_table(const struct rf_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->n_rules; i++)
		if (((cfg->rules[i].kind == RF_RULE_SHUNT_PACKETS ||
		      cfg->rules[i].kind == RF_RULE_SHUNT_BYTES) &&
		     cfg->rules[i].value) ||
		    (cfg->rules[i].kind == RF_RULE_PLACEMENT &&
		     cfg->rules[i].value == RF_PLACE_LEAST_LOADED))
			return true;
	return cfg->failover_s > 0;
}

uint32_t rf_config_group_first(const struct rf_config *cfg, unsigned int g)
{
	uint32_t first = 0;

	while (g--)
		first += cfg->group_queues[g];
	return first;
}

void rf_config_place_opts(const struct rf_config *cfg, unsigned int g, uint32_t *weights,
			  struct rf_place_opts *ret)
{
	uint32_t first = rf_config_group_first(cfg, g);
	const struct rf_cfg_rule *ru;

	memset(ret, 0, sizeof(*ret));
	ret->sz = sizeof(*ret);
	ret->queues = cfg->group_queues[g];
	ret->table.sz = sizeof(ret->table);
	ret->table.entries = rf_config_flow_table(cfg);
	ret->table.idle_ns = cfg->flow_idle_s * 1000000000ull;
	ret->table.close_ns = cfg->flow_closed_s * 1000000000ull;
	if ((ru = rf_config_rule(cfg, RF_RULE_SHUNT_PACKETS, first)))
		rf_config_parse_shunt(ru->kind, ru->text, ret->table.shunt_packets);
	if ((ru = rf_config_rule(cfg, RF_RULE_SHUNT_BYTES, first)))
		rf_config_parse_shunt(ru->kind, ru->text, ret->table.shunt_bytes);
	if ((ru = rf_config_rule(cfg, RF_RULE_PLACEMENT, first)))
		ret->placement = (enum rf_placement)ru->value;
	if ((ru = rf_config_rule(cfg, RF_RULE_WEIGHTS, first)) &&
	    rf_weights_parse(ru->text, weights, RF_PLACE_BUCKETS) > 0)
		ret->weights = weights;
	ret->failover_move = cfg->failover_move;
}

/* Each group's --placement and --weights agree with each other and with its queues. */
static int check_placement(const struct rf_config *cfg)
{
	uint32_t w[RF_PLACE_BUCKETS];
	const struct rf_cfg_rule *p, *ws;
	unsigned int g;
	int n;

	for (g = 0; g < cfg->n_groups; g++) {
		uint32_t first = rf_config_group_first(cfg, g);
		bool weighted;

		p = rf_config_rule(cfg, RF_RULE_PLACEMENT, first);
		ws = rf_config_rule(cfg, RF_RULE_WEIGHTS, first);
		weighted = p && p->value == RF_PLACE_WEIGHTED;
		if (p && p->value != RF_PLACE_HASH &&
		    (cfg->mode == RF_MODE_RR || cfg->mode == RF_MODE_FANOUT)) {
			rf_err("--placement %s: -m %s has no flows to place",
			       rf_placement_name((enum rf_placement)p->value),
			       rf_mode_name((enum rf_mode)cfg->mode));
			return -EINVAL;
		}
		if (weighted != !!ws) {
			rf_err(weighted ? "group %c: --placement weighted needs --weights (one per "
					  "queue, e.g. --weights %c:2,1,1,1)"
					: "group %c: --weights needs --placement weighted "
					  "(%c:weighted)",
			       'A' + g, 'A' + g);
			return -EINVAL;
		}
		if (ws && (n = rf_weights_parse(ws->text, w, RF_PLACE_BUCKETS)) !=
				  (int)cfg->group_queues[g]) {
			rf_err("--weights '%s': group %c has %u queues, %d weights given", ws->text,
			       'A' + g, cfg->group_queues[g], n);
			return -EINVAL;
		}
	}
	return 0;
}

uint32_t rf_config_flow_table(const struct rf_config *cfg)
{
	if (cfg->flow_table_given)
		return cfg->flow_table;
	return needs_flow_table(cfg) ? RF_FT_DEFAULT_ENTRIES : 0;
}

/* A flow table needs flows: a hashing mode, and a size when shunting asks for one. */
static int check_flow_table(const struct rf_config *cfg)
{
	bool need = needs_flow_table(cfg);

	if (cfg->flow_table_given && !cfg->flow_table && need) {
		rf_err("--shunt-packets, --shunt-bytes, --placement least-loaded and --failover "
		       "keep each flow in the flow table: give --flow-table a size (e.g. 1M), not "
		       "off");
		return -EINVAL;
	}
	if (cfg->failover_move && !cfg->failover_s) {
		rf_err("--failover-move moves the flows of a queue failed over: give --failover "
		       "SECONDS too");
		return -EINVAL;
	}
	if ((cfg->mode == RF_MODE_RR || cfg->mode == RF_MODE_FANOUT) &&
	    (need || rf_config_flow_table(cfg))) {
		rf_err("-m %s has no flows: --flow-table, shunting, least-loaded placement and "
		       "failover need a hashing mode (ip, 5tuple, inner-ip, inner-5tuple, vlan, "
		       "iface)",
		       rf_mode_name((enum rf_mode)cfg->mode));
		return -EINVAL;
	}
	return 0;
}

int rf_config_check_flows(struct rf_config *cfg)
{
	if (check_flow_table(cfg) || rf_config_resolve_rules(cfg) || check_placement(cfg))
		return RF_EXIT_USAGE;
	return 0;
}

int rf_config_validate(struct rf_config *cfg)
{
	unsigned int i;

	if (!cfg->n_sources || !cfg->have_cluster || !cfg->n_groups) {
		rf_err("missing %s (try 'ringfan balance --help')", !cfg->n_sources ? "-i SOURCE"
								    : !cfg->have_cluster
									    ? "-c CLUSTER"
									    : "-n N");
		return RF_EXIT_USAGE;
	}
	if (check_duplicate_sources(cfg) || check_cpus(cfg) || check_xdp_outgoing(cfg) ||
	    check_flow_table(cfg))
		return RF_EXIT_USAGE;
	if (cfg->print_stats && cfg->daemon && !cfg->log_file[0]) {
		rf_err("-p with -d prints nowhere (a daemon has no terminal): add -l FILE to write "
		       "the counters there every second, or read them with 'ringfan stats -c %u' "
		       "or 'ringfan top -c %u'",
		       cfg->cluster, cfg->cluster);
		return RF_EXIT_USAGE;
	}
	for (i = 0; i < cfg->n_egress; i++) {
		if (cfg->egress[i].queue >= cfg->n_queues) {
			rf_err("egress '%u:%s': queue %u out of range (queues 0..%u)",
			       cfg->egress[i].queue, cfg->egress[i].target, cfg->egress[i].queue,
			       cfg->n_queues - 1);
			return RF_EXIT_USAGE;
		}
		if (i && egress_queue_taken(cfg, i)) {
			rf_err("egress '%u:%s': queue %u already has an egress",
			       cfg->egress[i].queue, cfg->egress[i].target, cfg->egress[i].queue);
			return RF_EXIT_USAGE;
		}
	}
	for (i = 0; i < cfg->n_access; i++) {
		struct rf_cfg_access *a = &cfg->access[i];

		if (a->last >= cfg->n_queues) {
			rf_err("--access rule %u: queue %u out of range (queues 0..%u)", i + 1,
			       a->last, cfg->n_queues - 1);
			return RF_EXIT_USAGE;
		}
		/* A group is given to let it read, as with --group: the cluster's
		 * --mode if one was given, else 0640. */
		if (!a->mode && a->group != (gid_t)-1)
			a->mode = cfg->file_mode ? cfg->file_mode : 0640;
	}
	if (rf_config_resolve_rules(cfg) || check_placement(cfg) || check_threads(cfg))
		return RF_EXIT_USAGE;
	if (!cfg->file_mode)
		cfg->file_mode = cfg->group != (gid_t)-1 ? 0640 : 0600;
	if (!cfg->ring_size)
		cfg->ring_size = is_file_split(cfg) ? RF_SPLIT_RING_SIZE : RF_DEFAULT_RING_SIZE;
	return 0;
}

/* The queues of a rule's scope; false (error printed) when it names none of the cluster's. */
static bool rule_queues(const struct rf_config *cfg, struct rf_cfg_rule *r)
{
	struct rf_cfg_access range;
	uint32_t g, first = 0;

	if (!r->scope[0]) {
		r->first = 0;
		r->last = cfg->n_queues - 1;
		return true;
	}
	if (r->scope[0] >= 'A' && r->scope[0] <= 'Z') {
		g = (uint32_t)(r->scope[0] - 'A');
		if (g >= cfg->n_groups) {
			rf_err("--%s '%s:...': there is no group %s (-n makes groups A to %c)",
			       rule_names[r->kind], r->scope, r->scope,
			       cfg->n_groups > 26 ? 'Z' : 'A' + cfg->n_groups - 1);
			return false;
		}
		first = rf_config_group_first(cfg, g);
		r->first = first;
		r->last = first + cfg->group_queues[g] - 1;
		return true;
	}
	if (parse_queue_range(r->scope, &range) || range.last >= cfg->n_queues) {
		rf_err("--%s '%s:...': queue %s out of range (queues 0..%u; a filter that starts "
		       "with an IPv6 address needs 'host' in front)",
		       rule_names[r->kind], r->scope, r->scope, cfg->n_queues - 1);
		return false;
	}
	r->first = range.first;
	r->last = range.last;
	return true;
}

int rf_config_resolve_rules(struct rf_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->n_rules; i++)
		if (!rule_queues(cfg, &cfg->rules[i]))
			return RF_EXIT_USAGE;
	return 0;
}

const struct rf_cfg_rule *rf_config_rule(const struct rf_config *cfg, int kind, uint32_t q)
{
	unsigned int i = cfg->n_rules;

	while (i--)
		if (cfg->rules[i].kind == kind && q >= cfg->rules[i].first &&
		    q <= cfg->rules[i].last)
			return &cfg->rules[i];
	return NULL;
}

const struct rf_cfg_access *rf_config_access(const struct rf_config *cfg, uint32_t q)
{
	unsigned int i = cfg->n_access;

	while (i--)
		if (q >= cfg->access[i].first && q <= cfg->access[i].last)
			return &cfg->access[i];
	return NULL;
}

const struct rf_cfg_egress *rf_config_egress_of(const struct rf_config *cfg, uint32_t q)
{
	unsigned int i;

	for (i = 0; i < cfg->n_egress; i++)
		if (cfg->egress[i].queue == q)
			return &cfg->egress[i];
	return NULL;
}

const char *rf_config_dir(const struct rf_config *cfg)
{
	return rf_cluster_dir(cfg->dir);
}

bool rf_config_finite(const struct rf_config *cfg)
{
	unsigned int i;

	if (cfg->loops_given && cfg->loops == 0)
		return false;
	for (i = 0; i < cfg->n_sources; i++)
		if (!rf_source_file(cfg->sources[i]))
			return false;
	return true;
}

bool rf_config_live_replay(const struct rf_config *cfg)
{
	return cfg->rate_pps > 0 || cfg->speed > 0 || cfg->loops_given;
}
