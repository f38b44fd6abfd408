/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The balancer's configuration: command-line options and the config file
 * (one option per line) fill the same struct through the same code, so a
 * config file and the equivalent command line give the same cluster.
 */
#ifndef RINGFAN_CONFIG_H
#define RINGFAN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <ringfan/ringfan.h>

#include "flow.h"
#include "flowtable.h"
#include "metrics.h"
#include "thread.h"

#define RF_CFG_MAX_SOURCES 16
#define RF_CFG_MAX_GROUPS  32
#define RF_CFG_MAX_QUEUES  (RF_MAX_QUEUE + 1)
#define RF_CFG_MAX_EGRESS  64
#define RF_CFG_MAX_ACCESS  64
#define RF_CFG_PATH_MAX	   4096
#define RF_CFG_MAX_RULES   128
/* --threads: capture threads, each with a ring of its own in every queue */
#define RF_CFG_MAX_THREADS RF_MAX_RINGS
#define RF_CFG_FILTER_MAX  1024
#define RF_CFG_SCOPE_MAX   16

#define RF_DEFAULT_RING_SIZE	(16ull << 20) /* per queue */
#define RF_SPLIT_RING_SIZE	(1ull << 20)  /* per queue, file split (see rf_config_validate) */
#define RF_DEFAULT_CAPTURE_RING (32ull << 20) /* per interface */
#define RF_DEFAULT_LOOPS	1

struct rf_cfg_egress {
	uint32_t queue;
	char target[256];
};

/* --access: who may read a range of queues (else the cluster's --owner/--group/--file-mode). */
struct rf_cfg_access {
	uint32_t first, last; /* queues first..last */
	uid_t owner;	      /* (uid_t)-1: the cluster's */
	gid_t group;	      /* (gid_t)-1: the cluster's */
	mode_t mode;	      /* 0: the cluster's */
};

/*
 * What is done to the packets of some queues before they go in (--filter,
 * --snaplen, --strip, --dedup): given as [SCOPE:]VALUE, where SCOPE is a
 * group letter (every queue of the group), a queue Q or a range Q-Q, and no
 * SCOPE means every queue. For each queue the last rule of a kind that
 * names it counts.
 */
enum rf_cfg_rule_kind {
	RF_RULE_FILTER,	 /* text: a BPF expression ("" lets everything through) */
	RF_RULE_SNAPLEN, /* value: bytes delivered of each packet (0: all) */
	RF_RULE_STRIP,	 /* value: RF_STRIP_* of broker.h (0: nothing) */
	RF_RULE_DEDUP,	 /* value: window in microseconds (0: off) */
	/* Per group (SCOPE: a group letter or none), with a flow table: */
	/*
	 * text: "N" or per protocol "tcp=N,udp=N,other=N" (rf_config_parse_shunt());
	 * value: the largest N (0: nothing shunted)
	 */
	RF_RULE_SHUNT_PACKETS, /* N: packets of a flow delivered, the rest shunted (0: all) */
	RF_RULE_SHUNT_BYTES,   /* N: wire bytes of a flow delivered (0: all) */
	RF_RULE_PLACEMENT,     /* value: enum rf_placement of flowtable.h */
	RF_RULE_WEIGHTS,       /* text: one weight per queue of the group ("2,1,1,1") */
	RF_RULE__MAX
};

struct rf_cfg_rule {
	int kind;
	char scope[RF_CFG_SCOPE_MAX]; /* as given: "", "B", "4", "4-7" */
	uint32_t first, last;	      /* its queues, set by rf_config_resolve_rules() */
	uint64_t value;
	char text[RF_CFG_FILTER_MAX];
};

struct rf_config {
	char sources[RF_CFG_MAX_SOURCES]
		    [RF_CFG_PATH_MAX]; /* "afpacket:eth1", "afxdp:eth1@0", "pcap:x.pcap" */
	unsigned int n_sources;
	uint32_t cluster;
	bool have_cluster;
	uint32_t group_queues[RF_CFG_MAX_GROUPS]; /* queues per group */
	unsigned int n_groups;
	unsigned int n_queues; /* sum of group_queues */
	int mode;	       /* enum rf_mode of flow.h */
	struct rf_cfg_egress egress[RF_CFG_MAX_EGRESS];
	unsigned int n_egress;
	bool print_stats;
	bool daemon;
	char pid_file[RF_CFG_PATH_MAX];
	char log_file[RF_CFG_PATH_MAX];
	char user[64];
	uint64_t ring_size; /* 0 until validated: not given */
	uint64_t capture_ring_size;
	uid_t owner;
	gid_t group;
	mode_t file_mode;
	struct rf_cfg_access access[RF_CFG_MAX_ACCESS];
	unsigned int n_access;
	char dir[RF_CFG_PATH_MAX];
	double rate_pps;       /* 0: not paced by rate */
	double speed;	       /* 0: not paced by capture time */
	uint64_t loops;	       /* file replays; 0: forever */
	bool loops_given;      /* --loop makes the replay live-like */
	bool capture_outgoing; /* -X: interfaces also give the packets the host sends */
	bool disable_offloads; /* turn GRO/LRO off on interface sources */
	int xdp_mode;	       /* --xdp-mode: enum rf_xdp_mode of afxdp.h (0: auto) */
	/* --metrics ADDR:PORT; "" when not serving */
	char metrics_listen[RF_METRICS_LISTEN_MAX];
	struct rf_cpus cpu;	    /* -g: the balancer thread's CPU */
	struct rf_cpus egress_cpus; /* --egress-cpus: one per egress thread, in queue order */
	uint32_t hash_seed;	    /* 0: the plain flow hash */
	/* --flow-table: entries per group; 0 with flow_table_given: off */
	uint32_t flow_table;
	bool flow_table_given;
	/* --flow-timeout IDLE[,CLOSED]: expiry of table entries; 0: the defaults */
	uint64_t flow_idle_s, flow_closed_s;
	/* --failover SECONDS: a queue whose consumer is gone this long gets no new flows; 0: off */
	uint64_t failover_s;
	bool failover_move; /* --failover-move: its flows move too */
	uint64_t threads;   /* --threads: capture threads (0 or 1: one, the balancer's own) */
	struct rf_cfg_rule rules[RF_CFG_MAX_RULES];
	unsigned int n_rules;
};

/* Defaults for everything. */
void rf_config_init(struct rf_config *cfg);

/*
 * Fill cfg from argv (argv[0] is "balance"): either options, or a config
 * file path first followed by options that add to it. Prints the error
 * (naming the option, or FILE:LINE). Returns 0, RF_EXIT_USAGE, or -1 when
 * --help was printed (exit 0).
 */
int rf_config_parse_args(struct rf_config *cfg, int argc, char **argv);

/* Read a config file into cfg. Returns 0 or RF_EXIT_USAGE/RF_EXIT_RUNTIME (message printed). */
int rf_config_parse_file(struct rf_config *cfg, const char *path);

/* Checks that need the whole config (required options, -r in range). 0 or RF_EXIT_USAGE. */
int rf_config_validate(struct rf_config *cfg);

/*
 * Give each rule its queues (a group letter needs -n). Prints the error
 * naming the rule. 0 or RF_EXIT_USAGE. Called by rf_config_validate().
 */
int rf_config_resolve_rules(struct rf_config *cfg);

/* The rule of a kind that counts for queue q, or NULL. */
const struct rf_cfg_rule *rf_config_rule(const struct rf_config *cfg, int kind, uint32_t q);

/* The option name of a rule kind ("filter", "snaplen", ...). */
const char *rf_config_rule_name(int kind);

/*
 * Entries of each group's flow table: --flow-table, else RF_FT_DEFAULT_ENTRIES
 * when an option needs a table (--shunt-*, --placement least-loaded), else 0
 * (no table: the stateless hash).
 */
uint32_t rf_config_flow_table(const struct rf_config *cfg);

/*
 * Group g's flow table and placement as the options give them (queues set
 * to the group's). weights: RF_PLACE_BUCKETS entries of the caller's, which
 * ret->weights may point to.
 */
void rf_config_place_opts(const struct rf_config *cfg, unsigned int g, uint32_t *weights,
			  struct rf_place_opts *ret);

/*
 * The flow-table options (--flow-table, --flow-timeout, --shunt-*,
 * --placement, --weights) as explain takes them too, so that they mean
 * there what they mean here: the balancer's row of the option named name
 * (NULL: none), and setting one by name (value NULL for a flag), as a config
 * file line does. 0 or -EINVAL (message printed).
 */
struct opt_desc;
const struct opt_desc *rf_config_opt(const char *name);
int rf_config_set(struct rf_config *cfg, const char *name, const char *value, const char *where);

/*
 * The checks of the flow-table options against the mode and the groups (a
 * part of rf_config_validate(), for explain): gives the rules their queues.
 * 0 or RF_EXIT_USAGE (message printed).
 */
int rf_config_check_flows(struct rf_config *cfg);

/* The first queue of group g. */
uint32_t rf_config_group_first(const struct rf_config *cfg, unsigned int g);

/* The --access rule for queue q (the last one given that covers it), or NULL. */
const struct rf_cfg_access *rf_config_access(const struct rf_config *cfg, uint32_t q);

/* The egress of queue q, or NULL. */
const struct rf_cfg_egress *rf_config_egress_of(const struct rf_config *cfg, uint32_t q);

/* Queue directory: --dir, else $RINGFAN_DIR, else RF_DEFAULT_DIR. */
const char *rf_config_dir(const struct rf_config *cfg);

/* True when file sources replay like live traffic (paced or looped): never wait. */
bool rf_config_live_replay(const struct rf_config *cfg);

/*
 * True when every source ends (files, not looped forever): each start of the
 * balancer is a new run of its queues (a new generation), and the end of
 * the sources finishes them. Otherwise the queues go on across restarts.
 */
bool rf_config_finite(const struct rf_config *cfg);

void rf_balance_usage(FILE *f);

/*
 * -n's syntax, "N[,M...]" (queues per group), shared with explain: fills
 * ret_queues (RF_CFG_MAX_GROUPS entries), the number of groups and of
 * queues. 0, or -EINVAL with the message printed (where: "" or "FILE:LINE: ").
 */
int rf_config_parse_groups(const char *list, uint32_t *ret_queues, unsigned int *ret_groups,
			   unsigned int *ret_total, const char *where);

/*
 * -m's syntax (a mode name or a zbalance_ipc number), shared with explain.
 * 0, or -EINVAL with the message printed: the modes, or what replaces a
 * zbalance_ipc number that has no equivalent.
 */
int rf_config_parse_mode(const char *arg, enum rf_mode *ret, const char *where);

/*
 * The value of a --shunt-packets (kind RF_RULE_SHUNT_PACKETS) or --shunt-bytes
 * rule: "N" for every protocol, or "PROTO=N[,PROTO=N...]" with PROTO tcp, udp
 * or other, each at most once, those not named 0 (nothing shunted); N in
 * packets (up to 2^32 - 1) or bytes (k, M, G suffixes). Fills ret (one per
 * enum rf_ft_proto); 0, or -EINVAL (nothing printed).
 */
int rf_config_parse_shunt(int kind, const char *s, uint64_t ret[RF_FT_PROTOS]);

/* A --hash-seed value (decimal, 32 bits) into *ret. 0 or -EINVAL (message printed). */
int rf_config_parse_hash_seed(const char *arg, uint32_t *ret, const char *where);

#endif
