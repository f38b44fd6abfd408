/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `ringfan balance`: set up sources, queues, egresses and the stats file,
 * run the burst loop until the input ends or a signal stops it, then mark
 * every queue finished and write the final counters. A setup failure
 * removes everything it created: no half-started cluster is left behind.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "afpacket.h"
#include "broker.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "egress.h"
#include "metrics.h"
#include "iface.h"
#include "pipeline.h"
#include "source.h"
#include "stats.h"
#include "thread.h"
#include "tunnel.h"
#include "util.h"

#define BURST		    256
#define TICK_NS		    1000000000ull
#define EXPIRE_EVERY_NS	    50000000ull
#define SHUNT_READ_EVERY_NS 20000000ull /* a consumer page holds 256 requests */
#define IDLE_WAIT_MS_MAX    100
/* --threads: how often a capture thread hands its counters to the stats (and the snapshot's age) */
#define SHARE_EVERY_NS 100000000ull

struct worker;

struct balancer {
	struct rf_config *cfg;
	const char *dir;
	struct rf_source *sources[RF_CFG_MAX_SOURCES];
	unsigned int n_sources;
	bool any_live; /* an interface source: expire held fragments on the real clock */
	int linktype;  /* DLT_* of every source, and so of every queue */
	struct rf_producer **producers;
	struct rf_queue_info *base; /* each queue's counters when this run took it over */
	unsigned int n_created; /* producers created (their new files removed on a setup failure) */
	struct rf_egress **egress;
	struct rf_pipeline *pl;
	struct rf_stats_file *sf;
	struct rf_stats_snap *snap, *prev;
	struct rf_metrics *metrics; /* --metrics: served from its own thread */
	int lock_fd;
	bool lock_created;
	bool pid_written;
	uint64_t started_ns;
	uint64_t next_tick, last_tick, last_expire, last_shunt_read;
	const char *state;
	int waiting; /* queue a lossless replay waits for, or -1 */
	/* What is done to each queue's packets; the compiled --filter rules (NULL: none, ""). */
	struct rf_pipeline_queue_opts *qopts;
	struct rf_filter *filters[RF_CFG_MAX_RULES];
	/* For a reload (SIGHUP): the config file (absolute) and the options after it. */
	char config_file[RF_CFG_PATH_MAX];
	int n_args;
	char **args;
	bool reload;	     /* SIGHUP seen: re-read the filters between bursts */
	struct failover *fo; /* --failover: per queue */
	/*
	 * --threads K > 1: this thread only keeps the stats, the egresses and the
	 * signals; K capture threads (workers) are balancers of their own, each
	 * with one source (a member of one AF_PACKET fanout group), ring
	 * ring_index of every queue (of rings) and its own pipeline.
	 */
	struct worker *workers;
	unsigned int n_workers;
	unsigned int rings, ring_index;
	uint32_t fanout; /* the fanout group its source joins (source.h), 0: none */
	struct rf_packet pkts[BURST];
};

/* Why a queue failed over (the stats' failed_over). */
enum { FO_LIVE = 0, FO_GONE = 1, FO_FULL = 2 };

/* A queue's health for --failover, on the monotonic clock. */
struct failover {
	uint64_t seen;	  /* a consumer was last attached */
	uint64_t moving;  /* its consumer last read, or had nothing to read */
	uint64_t read;	  /* its consumer_read then */
	uint64_t dropped; /* dropped_full when it last read */
	uint8_t why;	  /* FO_* */
};

struct worker {
	struct balancer b;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	pthread_mutex_t lock;	      /* guards shared */
	struct rf_stats_snap *shared; /* its counters, as of its last SHARE_EVERY_NS */
};

static volatile sig_atomic_t stop_signal, hup_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_hup(int sig)
{
	hup_signal = 1;
}

static void install_signals(void)
{
	struct sigaction sa = {0};

	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop; /* no SA_RESTART: waits return EINTR and see the flag */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL); /* an egress FIFO whose reader left: EPIPE, not death */
}

/* ---- counters ---- */

static void snap_sources(struct balancer *b, struct rf_stats_snap *s)
{
	struct rf_source_counters c;
	unsigned int i;

	s->n_sources = b->n_sources;
	for (i = 0; i < b->n_sources; i++) {
		b->sources[i]->ops->counters(b->sources[i], &c);
		snprintf(s->sources[i].name, sizeof(s->sources[i].name), "%s", b->sources[i]->name);
		s->sources[i].received = c.received;
		s->sources[i].bytes = c.bytes;
		s->sources[i].kernel_drops = c.kernel_drops;
		snprintf(s->sources[i].state, sizeof(s->sources[i].state), "%s", c.state);
	}
}

/*
 * One queue's counters of this run. A resumed queue's own counters go on
 * from its previous producers: this run's share is what grew since it took
 * the queue over, so that they add up with the sources' and groups' counts.
 */
static void snap_queue(struct balancer *b, struct rf_stats_queue *q, unsigned int i)
{
	const struct rf_queue_info *base = &b->base[i];
	struct rf_pipeline_queue_counters pc;
	struct rf_queue_info info = {0};
	struct rf_egress_stats es = {0};

	rf_pipeline_get_queue_counters(b->pl, i, &pc);
	q->filtered = pc.filtered;
	q->deduplicated = pc.deduplicated;
	q->shunted = pc.shunted;
	q->shunt_requests = pc.shunt_asked;
	q->shunt_refused = pc.shunt_refused;
	q->failed_over = b->fo ? b->fo[i].why : FO_LIVE;
	rf_producer_info(b->producers[i], &info, sizeof(info));
	q->ring_size = info.ring_size;
	q->generation = info.generation;
	q->backlog_packets = info.backlog_packets;
	if (info.consumer_pid > 0) /* kept across snapshots: when the consumer was last seen */
		q->consumer_seen_ns = rf_now_real_ns();
	q->egress[0] = 0;
	if (b->egress && b->egress[i]) {
		rf_egress_stats(b->egress[i], &es);
		snprintf(q->egress, sizeof(q->egress), "%s", rf_egress_target(b->egress[i]));
		q->egress_sent = es.sent;
		q->egress_failed = es.failed;
	}
	q->enqueued = info.enqueued - base->enqueued - es.failed;
	q->bytes = info.enqueued_bytes - base->enqueued_bytes;
	q->dropped_full = info.dropped_full - base->dropped_full;
	q->dropped_cursor = info.dropped_cursor - base->dropped_cursor;
	q->dropped_toobig = info.dropped_toobig - base->dropped_toobig;
	q->dropped_egress = es.failed;
	q->consumer_pid = info.consumer_pid > 0 ? (uint64_t)info.consumer_pid : 0;
	q->consumer_read = info.consumer_read;
	q->backlog_bytes = info.backlog_bytes;
}

static void snap_table(struct balancer *b, struct rf_stats_group *gr, unsigned int g)
{
	struct rf_ft_stats fs;

	gr->flow_table =
		rf_pipeline_get_table_stats(b->pl, g, &fs, &gr->flows_moved) ? fs.entries : 0;
	gr->flows_active = fs.active;
	gr->flows_created = fs.created;
	gr->flows_expired = fs.expired;
	gr->flows_evicted = fs.evicted;
	gr->flows_shunted = fs.shunted_flows;
	gr->flow_fallback = fs.fallback;
}

static void snap_groups_queues(struct balancer *b, struct rf_stats_snap *s)
{
	struct rf_pipeline_counters pc;
	unsigned int g, i, q = 0;

	rf_pipeline_get_counters(b->pl, &pc);
	s->n_groups = b->cfg->n_groups;
	s->n_queues = b->cfg->n_queues;
	for (g = 0; g < b->cfg->n_groups; g++) {
		s->groups[g].first_queue = q;
		s->groups[g].queues = b->cfg->group_queues[g];
		s->groups[g].received = pc.group_received[g];
		snap_table(b, &s->groups[g], g);
		for (i = 0; i < b->cfg->group_queues[g]; i++, q++) {
			s->queues[q].group = g;
			snap_queue(b, &s->queues[q], q);
		}
	}
	memcpy(s->decode, pc.decode, sizeof(s->decode));
	s->dedup_evicted = pc.dedup_evicted;
}

static void snap_frag(struct balancer *b, struct rf_stats_snap *s)
{
	struct rf_flow_stats fs;

	rf_pipeline_get_flow_stats(b->pl, &fs);
	s->frag.first = fs.frag_first;
	s->frag.tied = fs.frag_tied;
	s->frag.held = fs.frag_held;
	s->frag.released = fs.frag_released;
	s->frag.expired = fs.frag_expired;
	s->frag.table_full = fs.frag_table_full;
	s->frag.hold_full = fs.frag_hold_full;
	s->frag.hold_big = fs.frag_hold_big;
	s->frag.table_expired = fs.frag_table_expired;
	s->frag.held_now = fs.frag_held - fs.frag_released - fs.frag_expired;
}

static void sum_workers(struct balancer *b, struct rf_stats_snap *s);

static void take_snapshot(struct balancer *b, struct rf_stats_snap *s)
{
	if (b->n_workers) {
		sum_workers(b, s);
		return;
	}
	s->seq++;
	s->cluster = b->cfg->cluster;
	s->pid = (uint64_t)getpid();
	/* A lossless replay stuck on one queue says which: "waiting", and the queue. */
	snprintf(s->state, sizeof(s->state), "%s", b->waiting >= 0 ? "waiting" : b->state);
	s->waiting_queue = b->waiting >= 0 ? (uint64_t)b->waiting : 0;
	snprintf(s->mode, sizeof(s->mode), "%s", rf_mode_name((enum rf_mode)b->cfg->mode));
	s->started_ns = b->started_ns;
	s->updated_ns = rf_now_real_ns();
	snap_sources(b, s);
	snap_groups_queues(b, s);
	snap_frag(b, s);
	rf_stats_sum(s);
}

static void write_stats(struct balancer *b)
{
	int r;

	take_snapshot(b, b->snap);
	rf_metrics_publish(b->metrics, b->snap);
	r = rf_stats_file_write(b->sf, b->snap);
	if (r)
		rf_log("cannot write stats file in '%s': %s", b->dir, strerror(-r));
}

static void print_block(struct balancer *b, uint64_t now)
{
	double secs = (double)(now - b->last_tick) / 1e9;

	if (b->waiting >= 0)
		printf("ringfan balance: cluster %u, waiting for queue %d's consumer (%s), up "
		       "%.0fs\n",
		       b->cfg->cluster, b->waiting,
		       b->snap->queues[b->waiting].consumer_pid ? "slow" : "none attached",
		       (double)(b->snap->updated_ns - b->started_ns) / 1e9);
	else
		printf("ringfan balance: cluster %u, %s, up %.0fs\n", b->cfg->cluster, b->state,
		       (double)(b->snap->updated_ns - b->started_ns) / 1e9);
	rf_stats_print(stdout, b->snap, b->prev->seq ? b->prev : NULL, secs);
	putchar('\n');
	fflush(stdout);
	memcpy(b->prev, b->snap, sizeof(*b->prev));
}

/*
 * Queue q's state for --failover: gone (no consumer, by the kernel-held lock
 * the library reads, never by what a consumer wrote) or full (a consumer is
 * attached but has read nothing while packets waited, and packets were
 * dropped for want of room since it last read) for the time given, or live.
 */
static int failover_state(struct balancer *b, uint32_t q, uint64_t now)
{
	uint64_t limit = b->cfg->failover_s * 1000000000ull;
	struct failover *f = &b->fo[q];
	struct rf_queue_info info;

	memset(&info, 0, sizeof(info));
	rf_producer_info(b->producers[q], &info, sizeof(info));
	if (info.consumer_pid <= 0) {
		f->moving = now; /* a new consumer starts with a clean slate */
		f->dropped = info.dropped_full;
		return now - f->seen >= limit ? FO_GONE : FO_LIVE;
	}
	f->seen = now;
	if (info.consumer_read != f->read || !info.backlog_packets) {
		f->read = info.consumer_read;
		f->moving = now;
		f->dropped = info.dropped_full;
	}
	return now - f->moving >= limit && info.dropped_full != f->dropped ? FO_FULL : FO_LIVE;
}

/*
 * --failover: a queue gone or full for the time given gets no new flows; it
 * gets them again once a consumer is back, or reads again.
 */
static void check_failover(struct balancer *b, uint64_t now)
{
	static const char *const what[] = {
		[FO_GONE] = "no consumer",
		[FO_FULL] = "full, its consumer reading nothing,",
	};
	uint32_t q;
	int why;

	for (q = 0; b->fo && q < b->cfg->n_queues; q++) {
		why = failover_state(b, q, now);
		if (why == b->fo[q].why)
			continue;
		rf_pipeline_set_queue_down(b->pl, q, why != FO_LIVE);
		if (why != FO_LIVE)
			rf_log("queue %u@%u: %s for %llu s: new flows go to the group's other "
			       "queues%s",
			       b->cfg->cluster, q, what[why],
			       (unsigned long long)b->cfg->failover_s,
			       b->cfg->failover_move ? ", and so do its flows" : "");
		else
			rf_log("queue %u@%u: %s: it gets new flows again", b->cfg->cluster, q,
			       b->fo[q].why == FO_GONE ? "a consumer is back"
						       : "its consumer reads again");
		b->fo[q].why = (uint8_t)why;
	}
}

/*
 * Shunt requests of the consumers (rf_consumer_shunt), each read from its own
 * queue's page and honoured only for a flow of that queue.
 */
static void read_shunt_requests(struct balancer *b)
{
	struct rf_shunt_request req[64];
	uint64_t lost;
	uint32_t q;
	int i, n;

	for (q = 0; q < b->cfg->n_queues; q++) {
		do {
			n = rf_producer_shunt_requests(b->producers[q], req, ARRAY_SIZE(req),
						       &lost);
			for (i = 0; i < n; i++)
				rf_pipeline_shunt_request(b->pl, q, req[i].hash, req[i].seconds);
			if (lost)
				rf_pipeline_shunt_lost(b->pl, q, lost);
		} while (n == (int)ARRAY_SIZE(req));
	}
}

/* Once a second: stats file and the -p block. Also handles SIGHUP. */
static void tick(struct balancer *b, bool force)
{
	uint64_t now = rf_now_mono_ns();

	if (hup_signal) {
		hup_signal = 0;
		if (rf_log_reopen())
			rf_err("cannot reopen log file: %s", strerror(errno));
		rf_log("log file reopened");
		b->reload = true; /* not here: tick may run in the middle of a burst */
	}
	if (!force && now < b->next_tick)
		return;
	check_failover(b, now);
	write_stats(b);
	if (b->cfg->print_stats)
		print_block(b, now);
	b->last_tick = now;
	b->next_tick = now + TICK_NS;
}

/* Called by the pipeline while a lossless replay waits for queue q's consumer. */
static int wait_tick(void *arg, uint32_t q)
{
	struct balancer *b = arg;

	b->waiting = (int)q;
	tick(b, false);
	return stop_signal != 0;
}

/* ---- setup ---- */

/*
 * The queue directory, created if missing, must be one the balancer can
 * trust: the lock, stats and queue files are only safe from other users in
 * a directory nobody else can write to (rf_queue_dir_check()).
 */
static int check_dir(const char *dir)
{
	struct rf_dir_info di;
	int r;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		rf_err("cannot create directory '%s': %s", dir, strerror(errno));
		return -errno;
	}
	r = rf_queue_dir_check(dir, RF_DIR_PRODUCER, &di);
	if (r == -ENOTDIR)
		rf_err("queue directory '%s' is not a directory (or is a symbolic link): remove it "
		       "or choose another with --dir",
		       dir);
	else if (r == -EPERM)
		rf_err("queue directory '%s' (owner uid %u, mode %04o) is not safe: it must be "
		       "owned by root or by uid %u and writable by its owner only; remove it "
		       "(anyone may have created it) or choose another with --dir",
		       dir, (unsigned int)di.owner, (unsigned int)(di.mode & 07777),
		       (unsigned int)geteuid());
	else if (r)
		rf_err("cannot use queue directory '%s': %s", dir, strerror(-r));
	return r;
}

static int take_lock(struct balancer *b)
{
	pid_t owner = 0;
	int r;

	r = rf_cluster_lock(b->dir, b->cfg->cluster, &b->lock_fd, &owner, &b->lock_created);
	if (r == -EBUSY) {
		rf_err("cluster %u is already served by pid %d (lock %s/%u.lock)", b->cfg->cluster,
		       (int)owner, b->dir, b->cfg->cluster);
		return r;
	}
	if (r)
		rf_err("cannot lock cluster %u in '%s': %s", b->cfg->cluster, b->dir, strerror(-r));
	return r;
}

static int write_pidfile(struct balancer *b)
{
	pid_t owner = 0;
	int r;

	if (!b->cfg->pid_file[0])
		return 0;
	r = rf_pidfile_write(b->cfg->pid_file, &owner);
	if (r == -EEXIST)
		rf_err("pid file '%s' belongs to running balancer %d", b->cfg->pid_file,
		       (int)owner);
	else if (r)
		rf_err("cannot write pid file '%s': %s", b->cfg->pid_file, strerror(-r));
	b->pid_written = !r;
	return r;
}

static int open_sources(struct balancer *b)
{
	struct rf_source_opts so = {
		.capture_ring_size = b->cfg->capture_ring_size,
		.capture_outgoing = b->cfg->capture_outgoing,
		.disable_offloads = b->cfg->disable_offloads,
		.xdp_mode = b->cfg->xdp_mode,
		.rate_pps = b->cfg->rate_pps,
		.speed = b->cfg->speed,
		.loops = b->cfg->loops,
		.live_replay = rf_config_live_replay(b->cfg),
		.fanout = b->fanout,
	};
	unsigned int i;
	int r;

	for (i = 0; i < b->cfg->n_sources; i++) {
		r = rf_source_open(b->cfg->sources[i], &so, &b->sources[i]);
		if (r)
			return r;
		b->n_sources++;
		if (b->sources[i]->ops->fd(b->sources[i]) >= 0)
			b->any_live = true;
	}
	return 0;
}

static const char *linktype_name(int dlt)
{
	const char *n = pcap_datalink_val_to_name(dlt);

	return n ? n : "unknown";
}

/*
 * The link type of every source: a queue carries one (its consumers, a
 * pcap file and an interface egress need it). Sources of different link
 * types cannot share queues: -EINVAL.
 */
static int sources_linktype(struct balancer *b)
{
	unsigned int i;

	for (i = 1; i < b->n_sources; i++) {
		if (b->sources[i]->linktype != b->sources[0]->linktype) {
			rf_err("sources '%s' (%s) and '%s' (%s) have different link types and "
			       "cannot share queues: run one balancer (cluster) per link type",
			       b->cfg->sources[0], linktype_name(b->sources[0]->linktype),
			       b->cfg->sources[i], linktype_name(b->sources[i]->linktype));
			return -EINVAL;
		}
	}
	b->linktype = b->sources[0]->linktype;
	return 0;
}

/* ---- what is done to the queues' packets ---- */

/* A rule as it was given: "B:port 53". */
static void rule_text(const struct rf_cfg_rule *ru, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", ru->scope, ru->scope[0] ? ":" : "", ru->text);
}

static void free_filters(struct rf_filter **f)
{
	unsigned int i;

	for (i = 0; i < RF_CFG_MAX_RULES; i++) {
		rf_filter_free(f[i]);
		f[i] = NULL;
	}
}

/*
 * Compile every --filter rule of cfg for link type dlt into ret[rule]
 * ("" stays NULL). On an error nothing is kept; the message goes to
 * stderr at start, to the log on a reload.
 */
static int compile_filters(const struct rf_config *cfg, int dlt, struct rf_filter **ret,
			   bool reload)
{
	char err[PCAP_ERRBUF_SIZE], text[RF_CFG_FILTER_MAX + RF_CFG_SCOPE_MAX];
	unsigned int i;
	int r;

	for (i = 0; i < cfg->n_rules; i++) {
		const struct rf_cfg_rule *ru = &cfg->rules[i];

		if (ru->kind != RF_RULE_FILTER || !ru->text[0])
			continue;
		r = rf_filter_compile(ru->text, dlt, &ret[i], err, sizeof(err));
		if (!r)
			continue;
		rule_text(ru, text, sizeof(text));
		if (reload)
			rf_log("bad --filter '%s': %s", text, r == -EINVAL ? err : strerror(-r));
		else
			rf_err("bad --filter '%s': %s", text, r == -EINVAL ? err : strerror(-r));
		free_filters(ret);
		return r;
	}
	return 0;
}

/* Say which queues each rule applies to. */
static void log_rules(const struct balancer *b)
{
	char text[RF_CFG_FILTER_MAX + RF_CFG_SCOPE_MAX];
	const struct rf_cfg_rule *ru;
	unsigned int i;

	for (i = 0; i < b->cfg->n_rules; i++) {
		ru = &b->cfg->rules[i];
		if (ru->kind == RF_RULE_FILTER) {
			rule_text(ru, text, sizeof(text));
		} else if (ru->kind == RF_RULE_STRIP) {
			rf_strip_format((unsigned int)ru->value, text, sizeof(text));
		} else if (ru->kind == RF_RULE_PLACEMENT) {
			snprintf(text, sizeof(text), "%s",
				 rf_placement_name((enum rf_placement)ru->value));
		} else if (ru->kind == RF_RULE_WEIGHTS || ru->kind == RF_RULE_SHUNT_PACKETS ||
			   ru->kind == RF_RULE_SHUNT_BYTES) {
			snprintf(text, sizeof(text), "%s", ru->text);
		} else {
			snprintf(text, sizeof(text), "%llu", (unsigned long long)ru->value);
		}
		rf_log("--%s %s%s%s: queues %u-%u", rf_config_rule_name(ru->kind),
		       ru->kind != RF_RULE_FILTER && ru->scope[0] ? ru->scope : "",
		       ru->kind != RF_RULE_FILTER && ru->scope[0] ? ":" : "", text, ru->first,
		       ru->last);
	}
}

/* Queue q's treatment from cfg's rules (the filter from filters[rule]). */
static void queue_opts_of(const struct rf_config *cfg, struct rf_filter *const *filters, uint32_t q,
			  struct rf_pipeline_queue_opts *o)
{
	const struct rf_cfg_rule *ru;

	memset(o, 0, sizeof(*o));
	if ((ru = rf_config_rule(cfg, RF_RULE_FILTER, q)))
		o->filter = filters[ru - cfg->rules];
	if ((ru = rf_config_rule(cfg, RF_RULE_SNAPLEN, q)))
		o->snaplen = (uint32_t)ru->value;
	if ((ru = rf_config_rule(cfg, RF_RULE_STRIP, q)))
		o->strip = (unsigned int)ru->value;
	if ((ru = rf_config_rule(cfg, RF_RULE_DEDUP, q)))
		o->dedup_ns = ru->value * 1000;
}

static int prepare_queue_opts(struct balancer *b)
{
	unsigned int strip = 0;
	uint32_t q;
	int r;

	b->qopts = calloc(b->cfg->n_queues, sizeof(*b->qopts));
	if (!b->qopts)
		return -ENOMEM;
	r = compile_filters(b->cfg, b->linktype, b->filters, false);
	if (r)
		return r;
	for (q = 0; q < b->cfg->n_queues; q++) {
		queue_opts_of(b->cfg, b->filters, q, &b->qopts[q]);
		strip |= b->qopts[q].strip;
	}
	if (strip && b->linktype != DLT_EN10MB) {
		rf_err("--strip takes Ethernet frames apart; the sources' link type is %s",
		       linktype_name(b->linktype));
		return -EINVAL;
	}
	return 0;
}

/* Put the filters of a re-read config in place, saying what changed. */
static void swap_filters(struct balancer *b, const struct rf_config *nc, struct rf_filter **nf)
{
	struct rf_pipeline_queue_opts o;
	const char *was, *now;
	uint32_t q;

	for (q = 0; q < b->cfg->n_queues; q++) {
		queue_opts_of(nc, nf, q, &o);
		was = b->qopts[q].filter ? rf_filter_expr(b->qopts[q].filter) : "";
		now = o.filter ? rf_filter_expr(o.filter) : "";
		if (strcmp(was, now))
			rf_log("queue %u@%u: filter '%s' (was '%s')", b->cfg->cluster, q, now, was);
		rf_pipeline_set_filter(b->pl, q, o.filter);
		b->qopts[q].filter = o.filter;
	}
	free_filters(b->filters);
	memcpy(b->filters, nf, sizeof(b->filters));
}

/* Parse the config file and the options after it again into nc (messages on stderr). */
static int reread_config(const struct balancer *b, struct rf_config *nc)
{
	char **av = calloc((size_t)b->n_args + 3, sizeof(*av));
	int r;

	if (!av)
		return -ENOMEM;
	av[0] = "balance";
	av[1] = (char *)b->config_file;
	if (b->n_args)
		memcpy(av + 2, b->args, (size_t)b->n_args * sizeof(*av));
	rf_config_init(nc);
	r = rf_config_parse_args(nc, b->n_args + 2, av);
	free(av);
	if (r)
		return -EINVAL;
	/* The queues stay as they are: the rules apply to the running groups. */
	nc->n_groups = b->cfg->n_groups;
	nc->n_queues = b->cfg->n_queues;
	memcpy(nc->group_queues, b->cfg->group_queues, sizeof(nc->group_queues));
	return rf_config_resolve_rules(nc) ? -EINVAL : 0;
}

/*
 * SIGHUP: the filters of the config file (and of the options after it)
 * replace the running ones, between two bursts; queues and consumers stay.
 * If any filter fails, all the running ones stay.
 */
static void reload_filters(struct balancer *b)
{
	struct rf_filter *nf[RF_CFG_MAX_RULES] = {0};
	struct rf_config *nc;

	b->reload = false;
	if (!b->config_file[0]) {
		rf_log("SIGHUP: started without a config file: the filters stay");
		return;
	}
	nc = calloc(1, sizeof(*nc));
	if (!nc || reread_config(b, nc) || compile_filters(nc, b->linktype, nf, true)) {
		rf_log("SIGHUP: the filters of '%s' were not reloaded; the running ones stay",
		       b->config_file);
		free(nc);
		return;
	}
	swap_filters(b, nc, nf);
	rf_log("SIGHUP: filters reloaded from '%s' (other options change at the next start)",
	       b->config_file);
	free(nc);
}

static const char *producer_error(int r)
{
	if (r == -EBUSY)
		return "another producer owns it";
	if (r == -EMFILE)
		return "too many open files (raise LimitNOFILE / ulimit -n)";
	return strerror(-r);
}

/* Who may read queue q: its --access rule, else the cluster's; egress queues are private. */
static void queue_access(const struct balancer *b, uint32_t q, struct rf_producer_opts *po)
{
	const struct rf_config *cfg = b->cfg;
	const struct rf_cfg_access *a = rf_config_access(cfg, q);

	if (rf_config_egress_of(cfg, q)) {
		/* Read in place by the balancer's own thread: nobody else may write its
		 * cursor (or read it). */
		po->owner = (uid_t)-1;
		po->group = (gid_t)-1;
		po->mode = 0600;
		return;
	}
	po->owner = a && a->owner != (uid_t)-1 ? a->owner : cfg->owner;
	po->group = a && a->group != (gid_t)-1 ? a->group : cfg->group;
	po->mode = a && a->mode ? a->mode : cfg->file_mode;
}

/*
 * Every queue holds three descriptors while the balancer sets it up (its
 * ring, its page, and an egress's own pair): raise the soft limit to the
 * hard one, and say so plainly if even that is too small.
 */
static int check_fd_limit(struct balancer *b)
{
	/* Per queue: ring + page, twice with an egress, plus the egress's target. */
	rlim_t need = 64 + (rlim_t)b->cfg->n_queues * 2 * (b->n_workers ? b->n_workers : 1) +
		      (rlim_t)b->cfg->n_egress * 3;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rf_err("%u queues need about %llu open files, the limit is %llu: raise it "
		       "(systemd: LimitNOFILE=, shell: ulimit -n)",
		       b->cfg->n_queues, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

/*
 * Queues of this cluster beyond the new -n (left by a run with more
 * queues) are removed: a consumer must not attach to a queue nobody will
 * ever fill. Nobody else serves the cluster (we hold its lock); a consumer
 * still attached keeps what it mapped and is told its producer is gone.
 */
static void remove_extra_queues(struct balancer *b)
{
	unsigned int k = b->cfg->threads > 1 ? (unsigned int)b->cfg->threads : 1;
	char name[32];
	uint32_t q;
	int r;

	/* Rings beyond --threads, left by a run with more capture threads. */
	for (q = 0; q < b->cfg->n_queues; q++) {
		snprintf(name, sizeof(name), "%u@%u", b->cfg->cluster, q);
		r = rf_queue_remove_rings(name, b->dir, k);
		if (r > 0)
			rf_log("queue %s: removed %d ring(s) beyond --threads %u", name, r, k);
	}

	for (q = b->cfg->n_queues; q <= RF_MAX_QUEUE; q++) {
		snprintf(name, sizeof(name), "%u@%u", b->cfg->cluster, q);
		r = rf_queue_remove(name, b->dir);
		if (r == -ENOENT)
			break;
		if (r)
			rf_log("cannot remove queue %s (beyond -n %u): %s", name, b->cfg->n_queues,
			       strerror(-r));
		else
			rf_log("removed queue %s: it is beyond -n %u", name, b->cfg->n_queues);
	}
}

/* Say how a queue started when it matters: resumed with packets waiting, or a new generation. */
static void log_start(struct rf_producer *p, const char *name)
{
	struct rf_queue_info qi = {0};
	int how = rf_producer_start_how(p);

	if (how == RF_START_CREATED)
		return;
	rf_producer_info(p, &qi, sizeof(qi));
	if (how == RF_START_RESUMED)
		rf_log("queue %s: resumed (%llu packets waiting for its consumer)", name,
		       (unsigned long long)qi.backlog_packets);
	else
		rf_log("queue %s: %s", name, rf_producer_start_name(how));
}

static int create_queues(struct balancer *b)
{
	/* A replay of files that end is a run of its own: never go on from the
	 * last. A run that does not end pays its rings' first touch up front. */
	struct rf_producer_opts po = {
		.sz = sizeof(po),
		.dir = b->dir,
		.ring_size = b->cfg->ring_size,
		.flags = RF_PRODUCER_LINKTYPE |
			 (rf_config_finite(b->cfg) ? RF_PRODUCER_NEW_GENERATION
						   : RF_PRODUCER_PREFAULT),
		.linktype = b->linktype,
		.rings = b->rings,
		.ring_index = b->ring_index,
	};
	char name[32];
	unsigned int q;
	int r;

	b->producers = calloc(b->cfg->n_queues, sizeof(*b->producers));
	b->egress = calloc(b->cfg->n_queues, sizeof(*b->egress));
	b->base = calloc(b->cfg->n_queues, sizeof(*b->base));
	if (!b->producers || !b->egress || !b->base)
		return -ENOMEM;
	for (q = 0; q < b->cfg->n_queues; q++) {
		snprintf(name, sizeof(name), "%u@%u", b->cfg->cluster, q);
		queue_access(b, q, &po);
		r = rf_producer_create(name, &po, &b->producers[q]);
		if (r) {
			rf_err("cannot create queue %s in '%s': %s", name, b->dir,
			       producer_error(r));
			return r;
		}
		b->n_created++;
		rf_producer_info(b->producers[q], &b->base[q], sizeof(b->base[q]));
		if (b->ring_index == 0)
			log_start(b->producers[q], name);
	}
	return 0;
}

/* A queue that never had a consumer counts as gone since the start. */
static int start_failover(struct balancer *b)
{
	uint64_t now = rf_now_mono_ns();
	uint32_t q;

	b->fo = calloc(b->cfg->n_queues, sizeof(*b->fo));
	if (!b->fo)
		return -ENOMEM;
	for (q = 0; q < b->cfg->n_queues; q++)
		b->fo[q].seen = b->fo[q].moving = now;
	return 0;
}

static int make_pipeline(struct balancer *b)
{
	struct rf_place_opts go[RF_CFG_MAX_GROUPS];
	static uint32_t weights[RF_CFG_MAX_GROUPS]
			       [RF_PLACE_BUCKETS]; /* 128 KiB: not on the stack */
	struct rf_pipeline_opts po = {
		.mode = (enum rf_mode)b->cfg->mode,
		.n_groups = b->cfg->n_groups,
		.group_queues = b->cfg->group_queues,
		.producers = b->producers,
		.ring_size = b->cfg->ring_size,
		.hash_seed = b->cfg->hash_seed,
		.queue_opts = b->qopts,
		.group_opts = go,
		.tick = wait_tick,
		.tick_arg = b,
	};
	unsigned int g;
	int r;

	for (g = 0; g < b->cfg->n_groups; g++)
		rf_config_place_opts(b->cfg, g, weights[g], &go[g]);
	r = rf_pipeline_new(&po, &b->pl);
	if (r) {
		rf_err("cannot set up the packet path: %s", strerror(-r));
		return r;
	}
	return b->cfg->failover_s ? start_failover(b) : 0;
}

static int open_stats(struct balancer *b)
{
	char path[RF_CFG_PATH_MAX + 32];
	int r;

	b->snap = calloc(1, sizeof(*b->snap));
	b->prev = calloc(1, sizeof(*b->prev));
	if (!b->snap || !b->prev)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%u.stats", b->dir, b->cfg->cluster);
	r = rf_stats_file_open(path, b->cfg->owner, b->cfg->group, b->cfg->file_mode, &b->sf);
	if (r)
		rf_err("cannot create stats file '%s': %s", path, strerror(-r));
	return r;
}

/* Bound before dropping root, like the sources' sockets. */
static int start_metrics(struct balancer *b)
{
	int r;

	if (!b->cfg->metrics_listen[0])
		return 0;
	r = rf_metrics_start_cluster(b->cfg->metrics_listen, &b->metrics);
	if (r)
		rf_err("cannot serve metrics on '%s': %s", b->cfg->metrics_listen,
		       rf_metrics_strerror(r));
	return r;
}

static const char *egress_error(int r, int dlt, char *buf, size_t len)
{
	if (r == -ENODEV)
		return "no such interface";
	if (r == -ENETDOWN)
		return "interface is down";
	if (r == -EPROTOTYPE)
		snprintf(buf, len,
			 "an interface takes Ethernet frames, the source's link type is %s",
			 linktype_name(dlt));
	else if (r == -EPROTONOSUPPORT)
		snprintf(buf, len, "link type %s cannot be written to a pcap file",
			 linktype_name(dlt));
	else
		return strerror(-r);
	return buf;
}

/* How many egresses come before queue q's, in queue order. */
static unsigned int egress_rank(const struct rf_config *cfg, uint32_t q)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->n_egress; i++)
		n += cfg->egress[i].queue < q;
	return n;
}

/* A VXLAN egress whose path cannot carry its interface's full-size frames. */
static void log_path_too_small(const struct rf_cfg_egress *ce, const char *ifname,
			       const struct rf_tunnel_path *t)
{
	rf_log("egress of queue %u to '%s': the path is too small: VXLAN to %s adds %u bytes, so "
	       "frames of up to %u bytes (MTU %u) need a path MTU of %u, and the route to %s%s%s "
	       "has %u. The kernel fragments longer ones, or drops them without a trace where DF "
	       "is set (by the tunnel or a router on the way): raise the path's MTU to %u (ip "
	       "link set DEV mtu %u on every hop), or lower %s's MTU to %u (longer frames then "
	       "fail at the egress and are counted)",
	       ce->queue, ifname, t->remote, t->overhead, t->mtu + RF_TUNNEL_INNER_ETH, t->mtu,
	       t->mtu + t->overhead, t->remote, t->via[0] ? " via " : "", t->via, t->path_mtu,
	       t->mtu + t->overhead, t->mtu + t->overhead, ifname, t->path_mtu - t->overhead);
}

/*
 * An egress to a tunnel interface: say at start whether the path under it
 * carries the interface's full-size frames, and what to set if not, rather
 * than lose frames later without a word.
 */
static void check_tunnel(const struct rf_cfg_egress *ce)
{
	const char *ifname = strncmp(ce->target, "afpacket:", 9) ? ce->target : ce->target + 9;
	struct rf_tunnel_path t;

	if (!strncmp(ce->target, "pcap:", 5) || rf_tunnel_path(ifname, &t) || !t.kind[0])
		return;
	if (!t.checked) {
		rf_log("egress of queue %u to '%s': a %s tunnel; the MTU of the path under it is "
		       "not checked (%s; see ringfan-balance(1), TUNNEL EGRESS)",
		       ce->queue, ifname, t.kind,
		       strcmp(t.kind, "vxlan") ? "only VXLAN's is" : "it has no unicast remote");
		return;
	}
	if (t.mtu + t.overhead > t.path_mtu)
		log_path_too_small(ce, ifname, &t);
	else
		rf_log("egress of queue %u to '%s': VXLAN to %s%s%s, path MTU %u: frames of up to "
		       "%u "
		       "bytes fit",
		       ce->queue, ifname, t.remote, t.via[0] ? " via " : "", t.via, t.path_mtu,
		       t.mtu + RF_TUNNEL_INNER_ETH);
	if (t.mtu < 1500)
		rf_log("egress of queue %u to '%s': MTU %u: frames longer than %u bytes (%u with a "
		       "VLAN tag) are not sent and are counted as failed; a 1500-byte network's "
		       "frames need 'ip link set %s mtu 1500' and a path MTU of %u",
		       ce->queue, ifname, t.mtu, t.mtu + RF_TUNNEL_INNER_ETH,
		       t.mtu + RF_TUNNEL_INNER_ETH + 4, ifname, 1500 + t.overhead);
}

static int start_egresses(struct balancer *b)
{
	char name[32], why[128];
	unsigned int i;
	int r, dlt = b->linktype;

	if (!b->cfg->n_egress)
		return 0;
	r = rf_iface_check_egress_loops(b->cfg);
	if (r)
		return r;
	for (i = 0; i < b->cfg->n_egress; i++) {
		const struct rf_cfg_egress *ce = &b->cfg->egress[i];
		struct rf_egress_opts eo = {.queue = name, .target = ce->target, .dir = b->dir};
		cpu_set_t one;

		/* --egress-cpus: one CPU each, in the order of their queues. */
		if (b->cfg->egress_cpus.given) {
			CPU_ZERO(&one);
			CPU_SET(rf_cpus_nth(&b->cfg->egress_cpus, egress_rank(b->cfg, ce->queue)),
				&one);
			eo.cpus = &one;
		}
		snprintf(name, sizeof(name), "%u@%u", b->cfg->cluster, ce->queue);
		r = rf_egress_start(&eo, &b->egress[ce->queue]);
		if (r) {
			rf_err("cannot start egress of queue %u to '%s': %s", ce->queue, ce->target,
			       egress_error(r, dlt, why, sizeof(why)));
			return r;
		}
		check_tunnel(ce);
	}
	return 0;
}

static int drop_root(struct balancer *b)
{
	int r;

	if (!b->cfg->user[0])
		return 0;
	r = rf_drop_privileges(b->cfg->user);
	if (r) {
		rf_err("cannot drop privileges to user '%s': %s", b->cfg->user, strerror(-r));
		return r;
	}
	/* The directory may not be writable any more: rewrite the stats file in place. */
	if (access(b->dir, W_OK))
		rf_stats_file_set_in_place(b->sf);
	return 0;
}

/* -g: the balancer's own thread (this one) on its CPU, once the others have started. */
static int pin_balancer(struct balancer *b)
{
	char cpus[64];
	int r;

	if (!b->cfg->cpu.given)
		return 0;
	rf_cpus_format(&b->cfg->cpu.set, cpus, sizeof(cpus));
	r = rf_thread_pin(&b->cfg->cpu.set);
	if (r)
		rf_err("cannot run the balancer thread on CPU %s: %s", cpus, strerror(-r));
	else
		rf_log("cluster %u: balancer thread on CPU %s", b->cfg->cluster, cpus);
	return r;
}

static int setup_workers(struct balancer *b);
static int start_workers(struct balancer *b);

static int setup(struct balancer *b)
{
	int r;

	if ((r = check_dir(b->dir)) || (r = take_lock(b)) || (r = write_pidfile(b)))
		return r;
	if (b->cfg->threads > 1)
		r = setup_workers(b);
	else if ((r = open_sources(b)) || (r = sources_linktype(b)) ||
		 (r = prepare_queue_opts(b)) || (r = check_fd_limit(b)) || (r = create_queues(b)) ||
		 (r = make_pipeline(b)))
		return r;
	if (r || (r = open_stats(b)) || (r = start_metrics(b)))
		return r;
	remove_extra_queues(b);
	b->state = "running";
	write_stats(b);
	if ((r = start_egresses(b)) || (r = start_workers(b)) || (r = drop_root(b)) ||
	    (r = pin_balancer(b)))
		return r;
	return 0;
}

/* ---- teardown ---- */

static void stop_workers(struct balancer *b);
static void release_workers(struct balancer *b);
static void drop_created(struct balancer *b);

/*
 * Stop every egress thread (draining its queue if asked). The handles stay
 * until release_common() so that the final counters include what they sent.
 */
static void finish_egresses(struct balancer *b, bool drain)
{
	unsigned int q;
	int r;

	for (q = 0; b->egress && q < b->cfg->n_queues; q++) {
		if (!b->egress[q])
			continue;
		r = rf_egress_finish(b->egress[q], drain);
		if (r)
			rf_log("egress of queue %u: packets lost: %s", q, strerror(-r));
	}
}

static void release_common(struct balancer *b)
{
	unsigned int i;

	for (i = 0; b->egress && i < b->cfg->n_queues; i++)
		rf_egress_stop(b->egress[i], 0); /* already finished: only frees */
	rf_metrics_stop(b->metrics);
	b->metrics = NULL;
	release_workers(b);
	rf_pipeline_free(b->pl);
	b->pl = NULL;
	for (i = 0; b->producers && i < b->n_created; i++)
		rf_producer_destroy(b->producers[i]);
	for (i = 0; i < b->n_sources; i++)
		rf_source_close(b->sources[i]);
	if (b->pid_written)
		rf_pidfile_remove(b->cfg->pid_file);
	free(b->producers);
	free(b->base);
	free(b->egress);
	free(b->snap);
	free(b->prev);
	free(b->qopts);
	free(b->fo);
	free_filters(b->filters);
}

/* Setup failed: the queues this run created go (those that existed keep their files). */
static void drop_created(struct balancer *b)
{
	char name[32];
	unsigned int i;

	for (i = 0; b->producers && i < b->n_created; i++) {
		/* A resumed queue holds packets. */
		bool created = rf_producer_start_how(b->producers[i]) == RF_START_CREATED;

		rf_producer_destroy(b->producers[i]);
		b->producers[i] = NULL;
		snprintf(name, sizeof(name), "%u@%u", b->cfg->cluster, i);
		if (created)
			rf_queue_remove(name, b->dir);
	}
	b->n_created = 0;
}

/* Setup failed: remove every file this run created. */
static void teardown_failed(struct balancer *b)
{
	char path[RF_CFG_PATH_MAX + 32];
	unsigned int i;

	stop_workers(b);
	finish_egresses(b, false);
	rf_stats_file_close(b->sf, true);
	for (i = 0; i < b->n_workers; i++)
		drop_created(&b->workers[i].b);
	drop_created(b);
	release_common(b);
	if (b->lock_fd >= 0) {
		snprintf(path, sizeof(path), "%s/%u.lock", b->dir, b->cfg->cluster);
		if (b->lock_created)
			unlink(path);
		close(b->lock_fd);
	}
}

/* Drops of every queue, by reason, this run. */
static void drop_reasons(const struct rf_stats_snap *s, uint64_t ret[4])
{
	uint64_t q;

	memset(ret, 0, 4 * sizeof(ret[0]));
	for (q = 0; q < s->n_queues; q++) {
		ret[0] += s->queues[q].dropped_full;
		ret[1] += s->queues[q].dropped_toobig;
		ret[2] += s->queues[q].dropped_egress;
		ret[3] += s->queues[q].dropped_cursor;
	}
}

/*
 * A finite run (every source read to its end) that lost packets did not do
 * its job: say how many and why, and exit non-zero so that scripts notice.
 * A live run ends by a stop: its drops are the counters' to tell.
 */
static int run_status(const struct balancer *b, bool ended)
{
	const struct rf_stats_totals *t = &b->snap->totals;
	uint64_t why[4];

	if (!ended || !t->dropped)
		return RF_EXIT_OK;
	drop_reasons(b->snap, why);
	rf_log("cluster %u finished with losses: %llu packets dropped (queue full %llu, too big "
	       "%llu, egress failed %llu, damaged queue %llu); see ringfan-stats(1)",
	       b->cfg->cluster, (unsigned long long)t->dropped, (unsigned long long)why[0],
	       (unsigned long long)why[1], (unsigned long long)why[2], (unsigned long long)why[3]);
	return RF_EXIT_RUNTIME;
}

/*
 * Normal end, final counters written; returns the exit status. Only the end of every (finite) source
 * finishes the queues: consumers drain them and are told the run ended. A
 * stop (SIGTERM, SIGINT) leaves them as they are: consumers are told their
 * producer is gone, keep their place, and go on with the next start, which
 * resumes the queues.
 */
static int teardown(struct balancer *b, bool input_ended)
{
	unsigned int q;
	int status;

	b->state = input_ended ? "finished" : "stopped";
	b->waiting = -1;
	stop_workers(b); /* each flushes its pipeline and publishes its rings */
	if (b->pl)
		rf_pipeline_flush(b->pl, input_ended);
	for (q = 0; q < b->n_created; q++)
		if (input_ended)
			rf_producer_finish(b->producers[q]);
		else
			rf_producer_publish(b->producers[q]);
	/*
	 * At the end of the input, egresses send what their queue holds: nothing
	 * the balancer accepted is lost. At a stop they stop at once (a target
	 * that takes nothing would hold the stop up): what is left stays in the
	 * queue, for the next start to send.
	 */
	finish_egresses(b, input_ended);
	write_stats(b);
	if (b->cfg->print_stats)
		print_block(b, rf_now_mono_ns());
	rf_log("cluster %u %s: received %llu, enqueued %llu, dropped %llu", b->cfg->cluster,
	       b->state, (unsigned long long)b->snap->totals.received,
	       (unsigned long long)b->snap->totals.enqueued,
	       (unsigned long long)b->snap->totals.dropped);
	status = run_status(b, input_ended);
	rf_stats_file_close(b->sf, false);
	release_common(b);
	close(b->lock_fd);
	return status;
}

/* ---- the loop ---- */

/* One burst from every source. Returns packets handled; *ret_done when every source ended. */
static unsigned int poll_sources(struct balancer *b, bool *ret_done)
{
	unsigned int i, got = 0;
	bool done = true;
	int n;

	for (i = 0; i < b->n_sources; i++) {
		struct rf_source *s = b->sources[i];

		if (s->finished)
			continue;
		n = s->ops->next_burst(s, b->pkts, BURST);
		if (n > 0) {
			rf_pipeline_burst(b->pl, b->pkts, (unsigned int)n, s->linktype,
					  s->lossless && !stop_signal);
			s->ops->release(s);
			got += (unsigned int)n;
		}
		if (n == -ENODATA)
			s->finished = true;
		done = done && s->finished;
	}
	*ret_done = done;
	return got;
}

static void report_poll_errors(struct balancer *b, struct pollfd *pfd, struct rf_source **src,
			       unsigned int n)
{
	unsigned int i;
	int r;

	for (i = 0; i < n; i++) {
		if (!(pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)))
			continue;
		r = src[i]->ops->poll_error(src[i]);
		if (r)
			rf_log("source %s: %s", src[i]->name, strerror(-r));
	}
}

/* Nothing was ready: sleep until a source has packets, a paced packet is due, or the next tick. */
static void idle_wait(struct balancer *b)
{
	struct pollfd pfd[RF_CFG_MAX_SOURCES];
	struct rf_source *src[RF_CFG_MAX_SOURCES];
	unsigned int i, n = 0;
	int timeout = IDLE_WAIT_MS_MAX, w;
	uint64_t now = rf_now_mono_ns();

	if (b->next_tick > now && (b->next_tick - now) / 1000000 < (uint64_t)timeout)
		timeout = (int)((b->next_tick - now) / 1000000) + 1;
	for (i = 0; i < b->n_sources; i++) {
		struct rf_source *s = b->sources[i];
		int fd = s->ops->fd(s);

		if (s->finished)
			continue;
		w = s->ops->wait_ms(s);
		if (w >= 0 && w < timeout)
			timeout = w;
		if (fd >= 0) {
			pfd[n].fd = fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			src[n++] = s;
		}
	}
	if (poll(pfd, n, timeout) > 0)
		report_poll_errors(b, pfd, src, n);
}

static void expire_live(struct balancer *b)
{
	uint64_t now = rf_now_mono_ns();

	if (!b->any_live || now - b->last_expire < EXPIRE_EVERY_NS)
		return;
	b->last_expire = now;
	rf_pipeline_expire(b->pl, rf_now_real_ns(), false);
}

/* The consumers' shunt requests, every SHUNT_READ_EVERY_NS. */
static void poll_shunt_requests(struct balancer *b)
{
	uint64_t now = rf_now_mono_ns();

	if (now - b->last_shunt_read < SHUNT_READ_EVERY_NS)
		return;
	b->last_shunt_read = now;
	read_shunt_requests(b);
}

static bool run_workers(struct balancer *b);

/* Returns true when the input ended (every source finished). */
static bool run(struct balancer *b)
{
	bool done = false;
	unsigned int got;

	if (b->n_workers)
		return run_workers(b);
	while (!stop_signal) {
		b->waiting = -1;
		got = poll_sources(b, &done);
		if (done)
			return true;
		expire_live(b);
		poll_shunt_requests(b);
		tick(b, false);
		if (b->reload)
			reload_filters(b);
		if (!got && !stop_signal)
			idle_wait(b);
	}
	return false;
}

/* ---- --threads: capture threads ---- */

/*
 * Each capture thread is a balancer of its own (one source, ring t of every
 * queue, its own pipeline) that nothing else touches; every SHARE_EVERY_NS
 * it takes its own snapshot into shared, which the stats thread sums.
 */
static void share_counters(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	take_snapshot(&w->b, w->shared);
	pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct balancer *b = &w->b;
	unsigned int got, q;
	bool done;
	uint64_t now;

	while (!atomic_load_explicit(&w->stop, memory_order_relaxed) && !stop_signal) {
		got = poll_sources(b, &done);
		expire_live(b);
		now = rf_now_mono_ns();
		if (now >= b->next_tick) {
			share_counters(w);
			b->next_tick = now + SHARE_EVERY_NS;
		}
		if (!got)
			idle_wait(b);
	}
	/* A stop: held fragments go out, what is enqueued is published (the queues stay). */
	rf_pipeline_flush(b->pl, false);
	for (q = 0; q < b->n_created; q++)
		rf_producer_publish(b->producers[q]);
	b->state = "stopped";
	share_counters(w);
	return NULL;
}

/*
 * The sources (K members of one fanout group, the first making it), then
 * the queues' rings from the last to ring 0 (consumers learn the number of
 * rings from ring 0), then a pipeline per thread. Filters and queue options
 * are compiled once and shared (read-only).
 */
static int setup_workers(struct balancer *b)
{
	unsigned int k = (unsigned int)b->cfg->threads, t;
	struct balancer *wb;
	int r;

	b->workers = calloc(k, sizeof(*b->workers));
	b->egress = calloc(b->cfg->n_queues, sizeof(*b->egress));
	if (!b->workers || !b->egress)
		return -ENOMEM;
	for (t = 0; t < k; t++) {
		struct worker *w = &b->workers[t];

		wb = &w->b;
		wb->cfg = b->cfg;
		wb->dir = b->dir;
		wb->lock_fd = -1;
		wb->waiting = -1;
		wb->state = "running";
		wb->started_ns = b->started_ns;
		wb->rings = k;
		wb->ring_index = t;
		wb->fanout = t ? rf_source_fanout(b->workers[0].b.sources[0]) : RF_AFP_FANOUT_NEW;
		pthread_mutex_init(&w->lock, NULL);
		b->n_workers = t + 1;
		w->shared = calloc(1, sizeof(*w->shared));
		if (!w->shared)
			return -ENOMEM;
		r = open_sources(wb);
		if (r)
			return r;
	}
	b->any_live = true;
	b->linktype = b->workers[0].b.sources[0]->linktype;
	if ((r = prepare_queue_opts(b)) || (r = check_fd_limit(b)))
		return r;
	for (t = k; t-- > 0;) {
		wb = &b->workers[t].b;
		wb->linktype = b->linktype;
		wb->qopts = b->qopts;
		if ((r = create_queues(wb)))
			return r;
	}
	for (t = 0; t < k; t++)
		if ((r = make_pipeline(&b->workers[t].b)))
			return r;
	rf_log("cluster %u: %u capture threads on %s (fanout group %u, steered by IP address "
	       "pair)",
	       b->cfg->cluster, k, b->cfg->sources[0],
	       rf_source_fanout(b->workers[0].b.sources[0]) - 1);
	if (b->cfg->mode == RF_MODE_INNER_IP || b->cfg->mode == RF_MODE_INNER_5TUPLE)
		rf_log("cluster %u: -m %s with --threads: a tunnelled flow keeps its order while "
		       "it travels between one pair of tunnel endpoints (the threads are chosen by "
		       "the outer addresses)",
		       b->cfg->cluster, rf_mode_name((enum rf_mode)b->cfg->mode));
	return 0;
}

/* Every member has joined: start the captures, then the threads (signals stay with this one). */
static int start_workers(struct balancer *b)
{
	char name[32]; /* the thread's name keeps 15 characters: "rf-capture-63" */
	sigset_t set, old;
	unsigned int t;
	int r;

	for (t = 0; t < b->n_workers; t++)
		if ((r = rf_source_fanout_start(b->workers[t].b.sources[0])))
			return r;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (t = 0, r = 0; t < b->n_workers && !r; t++) {
		snprintf(name, sizeof(name), "rf-capture-%u", t);
		r = rf_thread_start(&b->workers[t].thread, name, NULL, worker_main, &b->workers[t]);
		if (r)
			rf_err("cannot start capture thread %u: %s", t, strerror(-r));
		else
			b->workers[t].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void stop_workers(struct balancer *b)
{
	unsigned int t;

	for (t = 0; t < b->n_workers; t++)
		atomic_store_explicit(&b->workers[t].stop, true, memory_order_relaxed);
	for (t = 0; t < b->n_workers; t++)
		if (b->workers[t].started) {
			pthread_join(b->workers[t].thread, NULL);
			b->workers[t].started = false;
		}
}

static void release_workers(struct balancer *b)
{
	struct balancer *wb;
	unsigned int t, i;

	for (t = 0; t < b->n_workers; t++) {
		wb = &b->workers[t].b;
		rf_pipeline_free(wb->pl);
		for (i = 0; wb->producers && i < wb->n_created; i++)
			rf_producer_destroy(wb->producers[i]);
		for (i = 0; i < wb->n_sources; i++)
			rf_source_close(wb->sources[i]);
		free(wb->producers);
		free(wb->base);
		free(wb->egress);
		free(b->workers[t].shared);
		pthread_mutex_destroy(&b->workers[t].lock);
	}
	free(b->workers);
	b->workers = NULL;
	b->n_workers = 0;
}

/* The stats thread's snapshot: the threads' counters added up, and the egresses'. */
static void sum_workers(struct balancer *b, struct rf_stats_snap *s)
{
	struct rf_egress_stats es;
	uint64_t seq = s->seq;
	unsigned int t, q;

	for (t = 0; t < b->n_workers; t++) {
		pthread_mutex_lock(&b->workers[t].lock);
		if (t == 0)
			memcpy(s, b->workers[0].shared, sizeof(*s));
		else
			rf_stats_add(s, b->workers[t].shared);
		pthread_mutex_unlock(&b->workers[t].lock);
	}
	s->seq = seq + 1;
	s->pid = (uint64_t)getpid();
	snprintf(s->state, sizeof(s->state), "%s", b->state);
	s->started_ns = b->started_ns;
	s->updated_ns = rf_now_real_ns();
	for (q = 0; b->egress && q < b->cfg->n_queues; q++) {
		if (!b->egress[q])
			continue;
		rf_egress_stats(b->egress[q], &es);
		snprintf(s->queues[q].egress, sizeof(s->queues[q].egress), "%s",
			 rf_egress_target(b->egress[q]));
		s->queues[q].egress_sent = es.sent;
		s->queues[q].egress_failed = es.failed;
		s->queues[q].dropped_egress = es.failed;
		s->queues[q].enqueued -= es.failed;
	}
	rf_stats_sum(s);
}

/* The stats thread: once a second the counters; a stop ends the threads (teardown()). */
static bool run_workers(struct balancer *b)
{
	uint64_t now;
	int ms;

	while (!stop_signal) {
		tick(b, false);
		if (b->reload) {
			b->reload = false;
			rf_log("cluster %u: with --threads the filters are not re-read on SIGHUP: "
			       "restart to change them",
			       b->cfg->cluster);
		}
		now = rf_now_mono_ns();
		ms = b->next_tick > now ? (int)((b->next_tick - now) / 1000000) + 1 : 1;
		poll(NULL, 0, ms < IDLE_WAIT_MS_MAX ? ms : IDLE_WAIT_MS_MAX);
	}
	return false;
}

static int prepare_paths(struct balancer *b)
{
	struct rf_config *cfg = b->cfg;
	unsigned int i;
	int r = 0;

	/* The daemon runs in /: every path used after setup must be absolute. */
	if (!cfg->dir[0])
		snprintf(cfg->dir, sizeof(cfg->dir), "%s", rf_config_dir(cfg));
	r = rf_absolute_path(cfg->dir, sizeof(cfg->dir));
	r = r ?: rf_absolute_path(cfg->pid_file, sizeof(cfg->pid_file));
	r = r ?: rf_absolute_path(cfg->log_file, sizeof(cfg->log_file));
	r = r ?: rf_absolute_path(b->config_file, sizeof(b->config_file));
	for (i = 0; !r && i < cfg->n_sources; i++)
		if (!strncmp(cfg->sources[i], "pcap:", 5) && cfg->sources[i][5] != '/') {
			char tmp[RF_CFG_PATH_MAX - 5];

			memcpy(tmp, cfg->sources[i] + 5, sizeof(tmp));
			r = rf_absolute_path(tmp, sizeof(tmp));
			if (!r)
				memcpy(cfg->sources[i] + 5, tmp, sizeof(tmp));
		}
	if (r)
		rf_err("path too long: %s", strerror(-r));
	return r;
}

static int start(struct balancer *b)
{
	struct rf_config *cfg = b->cfg;
	int r;

	if (prepare_paths(b))
		return RF_EXIT_USAGE;
	b->dir = cfg->dir;
	if (cfg->daemon && (r = rf_daemonize())) {
		rf_err("cannot start the daemon: %s", strerror(-r));
		return RF_EXIT_RUNTIME;
	}
	if (cfg->log_file[0] && (r = rf_log_open(cfg->log_file))) {
		rf_err("cannot open log file '%s': %s", cfg->log_file, strerror(-r));
		return RF_EXIT_RUNTIME;
	}
	install_signals();
	b->started_ns = rf_now_real_ns();
	b->state = "starting";
	if (setup(b)) {
		teardown_failed(b);
		rf_log_close();
		return RF_EXIT_RUNTIME;
	}
	rf_cluster_lock_update(b->lock_fd);
	rf_log("cluster %u: %u source(s), %u queue(s) in %u group(s), mode %s, pid %d",
	       cfg->cluster, cfg->n_sources, cfg->n_queues, cfg->n_groups,
	       rf_mode_name((enum rf_mode)cfg->mode), (int)getpid());
	log_rules(b);
	rf_daemon_ready();
	return RF_EXIT_OK;
}

int cmd_balance(int argc, char **argv)
{
	struct balancer *b;
	struct rf_config *cfg;
	bool ended;
	int r;

	b = calloc(1, sizeof(*b));
	cfg = calloc(1, sizeof(*cfg));
	if (!b || !cfg) {
		rf_err("out of memory");
		free(b);
		free(cfg);
		return RF_EXIT_RUNTIME;
	}
	rf_config_init(cfg);
	/* Kept for a reload: the parse below reuses argv[1]. */
	if (argc >= 2 && argv[1][0] != '-') {
		snprintf(b->config_file, sizeof(b->config_file), "%s", argv[1]);
		b->n_args = argc - 2;
		b->args = argv + 2;
	}
	r = rf_config_parse_args(cfg, argc, argv);
	if (!r)
		r = rf_config_validate(cfg);
	b->cfg = cfg;
	b->lock_fd = -1;
	b->waiting = -1;
	if (!r)
		r = start(b);
	if (!r) {
		ended = run(b);
		r = teardown(b, ended);
		rf_log_close();
	}
	free(cfg);
	free(b);
	return r < 0 ? RF_EXIT_OK : r;
}
