/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Flow table: buckets of RF_FT_WAYS entries (two cache lines), indexed by
 * the low bits of the flow hash (the queue pick uses the high bits).
 */
#include "flowtable.h"

#include "flow.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define E_USED	  0x01
#define E_CLOSING 0x02 /* TCP FIN or RST seen: expires after close_ns */
#define E_SHUNTED 0x04 /* reached the cut-off (counted once) */
#define E_PROTO	  3    /* shift of its enum rf_ft_proto (2 bits) */
#define E_ASKED	  0x20 /* shunt_until set by rf_ft_shunt() (the general path decides) */

_Static_assert(sizeof(struct rf_ft_entry) == 32, "two entries per cache line");
_Static_assert(RF_FT_WAYS * sizeof(struct rf_ft_entry) == 128, "a bucket is two cache lines");

/* The shunt cut-offs the common case compares (known_flow()). */
struct cuts {
	uint32_t packets[RF_FT_PROTOS]; /* cut_packets, at most UINT32_MAX (the count saturates) */
	uint64_t bytes[RF_FT_PROTOS];	/* cut_bytes */
};

struct rf_ft {
	struct rf_ft_entry *e; /* n_buckets * RF_FT_WAYS */
	uint32_t mask;	       /* n_buckets - 1 */
	uint32_t sweep;	       /* next bucket to sweep */
	uint64_t idle_ns, close_ns;
	/* The shunt cut-offs per protocol class; UINT64_MAX: none (one compare each). */
	uint64_t cut_packets[RF_FT_PROTOS], cut_bytes[RF_FT_PROTOS];
	struct cuts fast;
	bool cuts;    /* some cut-off is set */
	uint64_t now; /* newest timestamp seen */
	struct rf_ft_stats s;
};

/*
 * The entries, zeroed: a table of 2 MiB or more in huge pages where the
 * system gives them (transparent huge pages on request), so that a lookup
 * in a table bigger than the TLB's reach does not also miss the TLB.
 */
static struct rf_ft_entry *alloc_entries(size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	void *m;

	if (bytes < huge)
		m = aligned_alloc(64, bytes);
	else if ((m = aligned_alloc(huge, bytes)))
		(void)madvise(m, bytes, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages */
	if (m)
		memset(m, 0, bytes);
	return m;
}

int rf_ft_new(const struct rf_ft_opts *o, struct rf_ft **ret_table)
{
	struct rf_ft *t;
	uint32_t n = RF_FT_WAYS;
	unsigned int p;

	if (!o || !o->entries || o->entries > RF_FT_MAX_ENTRIES)
		return -EINVAL;
	while (n < o->entries)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->e = alloc_entries((size_t)n * sizeof(*t->e));
	if (!t->e) {
		free(t);
		return -ENOMEM;
	}
	t->mask = n / RF_FT_WAYS - 1;
	t->idle_ns = o->idle_ns ? o->idle_ns : RF_FT_DEFAULT_IDLE_NS;
	t->close_ns = o->close_ns ? o->close_ns : RF_FT_DEFAULT_CLOSE_NS;
	for (p = 0; p < RF_FT_PROTOS; p++) {
		t->cut_packets[p] = o->shunt_packets[p] ? o->shunt_packets[p] : UINT64_MAX;
		t->cut_bytes[p] = o->shunt_bytes[p] ? o->shunt_bytes[p] : UINT64_MAX;
		t->fast.bytes[p] = t->cut_bytes[p];
		t->fast.packets[p] =
			(uint32_t)(t->cut_packets[p] < UINT32_MAX ? t->cut_packets[p] : UINT32_MAX);
		if (t->cut_packets[p] != UINT64_MAX || t->cut_bytes[p] != UINT64_MAX)
			t->cuts = true;
	}
	t->s.entries = n;
	*ret_table = t;
	return 0;
}

void rf_ft_free(struct rf_ft *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

static inline struct rf_ft_entry *bucket(const struct rf_ft *t, uint32_t hash)
{
	return &t->e[(size_t)(hash & t->mask) * RF_FT_WAYS];
}

static inline bool expired(const struct rf_ft *t, const struct rf_ft_entry *e)
{
	uint64_t limit = e->flags & E_CLOSING ? t->close_ns : t->idle_ns;

	return t->now > e->last_ns && t->now - e->last_ns >= limit;
}

static void remove_expired(struct rf_ft *t, struct rf_ft_entry *e)
{
	e->flags = 0;
	t->s.expired++;
	t->s.active--;
}

/* The protocol class of a flow whose first packet has l4. */
static inline uint8_t proto_flags(uint8_t l4)
{
	unsigned int p = l4 >> 6;

	return (uint8_t)((p ? p - 1 : RF_FT_PROTO_OTHER) << E_PROTO);
}

static void start(struct rf_ft *t, struct rf_ft_entry *e, uint32_t hash, uint64_t ts, uint8_t l4)
{
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	e->flags = E_USED | proto_flags(l4);
	e->last_ns = ts;
	t->s.created++;
	t->s.active++;
}

/*
 * A new connection on the ports of one that closed: a new flow (counted as
 * the old one expiring and a new one created) that keeps the old one's
 * queue, so that the ports' packets stay together.
 */
static void restart(struct rf_ft *t, struct rf_ft_entry *e, uint64_t ts, uint8_t l4)
{
	uint16_t queue = e->queue;

	remove_expired(t, e);
	start(t, e, e->hash, ts, l4);
	e->queue = queue;
}

/* A slot for a new flow in bucket b: free, expired, or evicted; NULL: none. */
static struct rf_ft_entry *claim(struct rf_ft *t, struct rf_ft_entry *b)
{
	struct rf_ft_entry *free_slot = NULL, *oldest = NULL;
	unsigned int i;

	for (i = 0; i < RF_FT_WAYS; i++) {
		struct rf_ft_entry *e = &b[i];

		if (e->flags & E_USED && expired(t, e))
			remove_expired(t, e);
		if (!(e->flags & E_USED)) {
			if (!free_slot)
				free_slot = e;
		} else if (!oldest || e->last_ns < oldest->last_ns) {
			oldest = e;
		}
	}
	if (free_slot)
		return free_slot;
	if (t->now - oldest->last_ns < RF_FT_EVICT_IDLE_NS || t->now < oldest->last_ns)
		return NULL;
	oldest->flags = 0;
	t->s.evicted++;
	t->s.active--;
	return oldest;
}

/* Count the packet into its flow; true when it is past the cut-off. */
static inline __attribute__((always_inline)) bool account(struct rf_ft *t, struct rf_ft_entry *e,
							  uint32_t wirelen)
{
	unsigned int p = (e->flags >> E_PROTO) & 3;
	bool shunt = e->packets >= t->cut_packets[p] || e->bytes >= t->cut_bytes[p] ||
		     (e->shunt_until && t->now / 1000000000 < e->shunt_until);

	if (e->packets != UINT32_MAX)
		e->packets++;
	e->bytes += wirelen;
	if (shunt) {
		t->s.shunted++;
		if (!(e->flags & E_SHUNTED)) {
			e->flags |= E_SHUNTED;
			t->s.shunted_flows++;
		}
	}
	return shunt;
}

static inline uint8_t close_flags(uint8_t tcp_flags)
{
	return tcp_flags & (RF_FT_TCP_FIN | RF_FT_TCP_RST) ? E_CLOSING : 0;
}

/* A SYN without ACK on a closed flow: its ports were reused by a new connection. */
static inline bool reopened(const struct rf_ft_entry *e, uint8_t tcp_flags)
{
	return e->flags & E_CLOSING &&
	       (tcp_flags & (RF_FT_TCP_SYN | RF_FT_TCP_ACK)) == RF_FT_TCP_SYN;
}

static const char *const proto_names[RF_FT_PROTOS] = {
	[RF_FT_PROTO_TCP] = "tcp",
	[RF_FT_PROTO_UDP] = "udp",
	[RF_FT_PROTO_OTHER] = "other",
};

const char *rf_ft_proto_name(enum rf_ft_proto p)
{
	return rf_name_of(proto_names, RF_FT_PROTOS, p);
}

int rf_ft_proto_parse(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < RF_FT_PROTOS; i++)
		if (strlen(proto_names[i]) == len && !strncmp(name, proto_names[i], len))
			return (int)i;
	return -EINVAL;
}

uint8_t rf_ft_l4(enum rf_mode mode, const struct rf_decoded *d, const uint8_t *data,
		 uint32_t caplen)
{
	bool inner = mode == RF_MODE_INNER_IP || mode == RF_MODE_INNER_5TUPLE;
	const struct rf_ip *ip;

	if (!d)
		return 0;
	if (!d->n_ip)
		return RF_FT_L4(RF_FT_PROTO_OTHER);
	ip = &d->ip[inner ? d->n_ip - 1 : 0];
	if (ip->proto == 17)
		return RF_FT_L4(RF_FT_PROTO_UDP);
	if (ip->proto != 6)
		return RF_FT_L4(RF_FT_PROTO_OTHER);
	if ((mode != RF_MODE_5TUPLE && mode != RF_MODE_INNER_5TUPLE) || !ip->l4_off ||
	    (uint32_t)ip->l4_off + 14 > caplen)
		return RF_FT_L4(RF_FT_PROTO_TCP);
	return RF_FT_L4(RF_FT_PROTO_TCP) |
	       (data[ip->l4_off + 13] &
		(RF_FT_TCP_FIN | RF_FT_TCP_SYN | RF_FT_TCP_RST | RF_FT_TCP_ACK));
}

/* Inlined into the placement (the per-packet path); external for everyone else. */
inline __attribute__((always_inline)) int rf_ft_lookup(struct rf_ft *t, uint32_t hash,
						       uint64_t ts_ns, uint32_t wirelen, uint8_t l4,
						       struct rf_ft_entry **ret_entry)
{
	struct rf_ft_entry *b = bucket(t, hash), *e;
	unsigned int i;
	int verdict = RF_FT_FOUND;

	/* The clock never goes back: an older timestamp (a merged capture) is now. */
	if (ts_ns > t->now)
		t->now = ts_ns;
	ts_ns = t->now;
	for (i = 0; i < RF_FT_WAYS; i++) {
		e = &b[i];
		if (e->hash != hash || !(e->flags & E_USED))
			continue;
		if (!expired(t, e)) {
			if (reopened(e, l4))
				restart(t, e, ts_ns, l4);
			goto found;
		}
		remove_expired(t, e);
		break;
	}
	e = claim(t, b);
	if (!e) {
		t->s.fallback++;
		*ret_entry = NULL;
		return RF_FT_FALLBACK;
	}
	start(t, e, hash, ts_ns, l4);
	verdict = RF_FT_NEW;
found:
	e->last_ns = ts_ns;
	e->flags |= close_flags(l4);
	*ret_entry = e;
	if (account(t, e, wirelen))
		return RF_FT_SHUNT;
	return verdict;
}

void rf_ft_prefetch_bulk(const struct rf_ft *t, const uint32_t *hashes, unsigned int n)
{
	unsigned int i;

	/* A bucket is two cache lines (it starts on a line): both are read. */
	for (i = 0; i < n; i++) {
		const struct rf_ft_entry *b = bucket(t, hashes[i]);

		__builtin_prefetch(b, 1, 3);
		__builtin_prefetch((const char *)b + 64, 1, 3);
	}
}

const struct rf_ft_entry *rf_ft_peek(const struct rf_ft *t, uint32_t hash)
{
	const struct rf_ft_entry *b = bucket(t, hash);
	unsigned int i;

	for (i = 0; i < RF_FT_WAYS; i++)
		if (b[i].hash == hash && b[i].flags & E_USED && !expired(t, &b[i]))
			return &b[i];
	return NULL;
}

int rf_ft_shunt(struct rf_ft *t, uint32_t hash, uint16_t queue, uint32_t seconds)
{
	struct rf_ft_entry *b = bucket(t, hash);
	uint64_t until;
	unsigned int i;

	for (i = 0; i < RF_FT_WAYS; i++) {
		struct rf_ft_entry *e = &b[i];

		if (e->hash != hash || !(e->flags & E_USED) || expired(t, e))
			continue;
		if (e->queue != queue)
			return -EPERM;
		until = seconds ? t->now / 1000000000 + seconds : UINT32_MAX;
		e->shunt_until = until > UINT32_MAX ? UINT32_MAX : (uint32_t)until;
		e->flags |= E_ASKED;
		return 0;
	}
	return -ENOENT;
}

void rf_ft_sweep(struct rf_ft *t, uint64_t now_ns, uint32_t n)
{
	unsigned int i;

	if (now_ns > t->now)
		t->now = now_ns;
	for (; n; n--) {
		struct rf_ft_entry *b = &t->e[(size_t)t->sweep * RF_FT_WAYS];

		for (i = 0; i < RF_FT_WAYS; i++)
			if (b[i].flags & E_USED && expired(t, &b[i]))
				remove_expired(t, &b[i]);
		t->sweep = (t->sweep + 1) & t->mask;
	}
}

uint64_t rf_ft_now(const struct rf_ft *t)
{
	return t->now;
}

void rf_ft_get_stats(const struct rf_ft *t, struct rf_ft_stats *ret_stats)
{
	*ret_stats = t->s;
}

static const char *const placement_names[RF_PLACE__MAX] = {
	[RF_PLACE_HASH] = "hash",
	[RF_PLACE_WEIGHTED] = "weighted",
	[RF_PLACE_LEAST_LOADED] = "least-loaded",
};

int rf_placement_parse(const char *s, enum rf_placement *ret)
{
	int i = rf_name_index(placement_names, RF_PLACE__MAX, s);

	if (i < 0)
		return i;
	*ret = (enum rf_placement)i;
	return 0;
}

const char *rf_placement_name(enum rf_placement p)
{
	return rf_name_of(placement_names, RF_PLACE__MAX, p);
}

int rf_weights_parse(const char *s, uint32_t *ret_weights, unsigned int max)
{
	uint32_t w[RF_PLACE_BUCKETS];
	unsigned int n = 0;
	uint64_t total = 0;
	const char *p = s;

	if (max > RF_PLACE_BUCKETS)
		max = RF_PLACE_BUCKETS;
	for (;;) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9' || n >= max)
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v > RF_PLACE_MAX_WEIGHT || (end - p > 1 && *p == '0'))
			return -EINVAL;
		w[n++] = (uint32_t)v;
		total += v;
		if (!*end)
			break;
		if (*end != ',')
			return -EINVAL;
		p = end + 1;
	}
	if (!total)
		return -EINVAL;
	memcpy(ret_weights, w, n * sizeof(*w));
	return (int)n;
}

void rf_weights_fill(const uint32_t *weights, unsigned int n, uint16_t *ind)
{
	int64_t cur[RF_PLACE_BUCKETS] = {0};
	int64_t total = 0;
	unsigned int b, q, best;

	for (q = 0; q < n; q++)
		total += weights[q];
	for (b = 0; b < RF_PLACE_BUCKETS; b++) {
		best = 0;
		for (q = 0; q < n; q++) {
			cur[q] += weights[q];
			if (cur[q] > cur[best])
				best = q;
		}
		cur[best] -= total;
		ind[b] = (uint16_t)best;
	}
}

/* ---- placement ---- */

struct rf_place {
	uint32_t count;
	struct rf_ft *ft;
	enum rf_placement placement;
	bool failover_move;
	bool moving;	     /* failover_move and a queue is down: known flows may move */
	uint16_t *ind;	     /* weighted: RF_PLACE_BUCKETS queue indexes */
	uint64_t *load;	     /* least-loaded: recent packets per queue */
	uint64_t load_count; /* packets since the loads were last halved */
	uint8_t *down;	     /* per queue: failed over */
	uint32_t n_down;
	uint64_t moved;
};

static const char *const why_names[RF_WHY__MAX] = {
	[RF_WHY_HASH] = "hash",
	[RF_WHY_WEIGHT] = "weight",
	[RF_WHY_LEAST_LOADED] = "least-loaded",
	[RF_WHY_FAILOVER] = "failover",
	[RF_WHY_FALLBACK] = "fallback",
	[RF_WHY_MOVED] = "moved",
	[RF_WHY_SHUNTED] = "shunted",
};

const char *rf_place_why_name(enum rf_place_why why)
{
	return rf_name_of(why_names, RF_WHY__MAX, why);
}

void rf_place_free(struct rf_place *p)
{
	if (!p)
		return;
	rf_ft_free(p->ft);
	free(p->ind);
	free(p->load);
	free(p->down);
	free(p);
}

int rf_place_new(const struct rf_place_opts *o, struct rf_place **ret_place)
{
	struct rf_place *p;
	int r = -ENOMEM;

	if (!o->queues || o->queues > UINT16_MAX || o->placement >= RF_PLACE__MAX ||
	    (o->placement == RF_PLACE_WEIGHTED && !o->weights) ||
	    (o->placement == RF_PLACE_LEAST_LOADED && !o->table.entries))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->count = o->queues;
	p->placement = o->placement;
	p->failover_move = o->failover_move;
	if (!(p->down = calloc(p->count, 1)))
		goto fail;
	if (o->placement == RF_PLACE_WEIGHTED) {
		if (!(p->ind = calloc(RF_PLACE_BUCKETS, sizeof(*p->ind))))
			goto fail;
		rf_weights_fill(o->weights, p->count, p->ind);
	}
	if (o->placement == RF_PLACE_LEAST_LOADED &&
	    !(p->load = calloc(p->count, sizeof(*p->load))))
		goto fail;
	if (o->table.entries && (r = rf_ft_new(&o->table, &p->ft)))
		goto fail;
	*ret_place = p;
	return 0;
fail:
	rf_place_free(p);
	return r;
}

static inline bool is_down(const struct rf_place *p, uint32_t i)
{
	return p->n_down && p->n_down < p->count && p->down[i];
}

/* The hash's queue, through the weights' indirection table if any. */
static inline uint32_t by_hash(const struct rf_place *p, uint32_t hash, enum rf_place_why *why)
{
	if (p->ind) {
		*why = RF_WHY_WEIGHT;
		return p->ind[rf_queue_pick(hash, RF_PLACE_BUCKETS)];
	}
	*why = RF_WHY_HASH;
	return rf_queue_pick(hash, p->count);
}

/*
 * Failover: queue i if it is live, else one of the live queues chosen by the
 * hash (the same one for a flow while they stay live).
 */
static uint32_t live(const struct rf_place *p, uint32_t i, uint32_t hash, enum rf_place_why *why)
{
	uint32_t k, j;

	if (!is_down(p, i))
		return i;
	*why = RF_WHY_FAILOVER;
	k = rf_queue_pick(rf_hash_reseed(hash, 0x5f3759df), p->count - p->n_down);
	for (j = 0; j < p->count; j++)
		if (!p->down[j] && !k--)
			return j;
	return i;
}

/* least-loaded: the live queue with the fewest recent packets. */
static uint32_t least_loaded(const struct rf_place *p)
{
	uint32_t i, best = UINT32_MAX;

	for (i = 0; i < p->count; i++)
		if (!is_down(p, i) && (best == UINT32_MAX || p->load[i] < p->load[best]))
			best = i;
	return best;
}

/* One more packet on queue i; older ones count less and less. */
static void count_load(struct rf_place *p, uint32_t i)
{
	uint32_t j;

	p->load[i]++;
	if (++p->load_count < RF_PLACE_LOAD_HALF_LIFE)
		return;
	p->load_count = 0;
	for (j = 0; j < p->count; j++)
		p->load[j] /= 2;
}

/* Where a new flow goes: a live queue. */
static uint32_t place_new(const struct rf_place *p, uint32_t hash, enum rf_place_why *why)
{
	if (p->placement == RF_PLACE_LEAST_LOADED) {
		*why = RF_WHY_LEAST_LOADED;
		return least_loaded(p);
	}
	return live(p, by_hash(p, hash, why), hash, why);
}

static uint32_t place_flow(struct rf_place *p, uint32_t hash, uint64_t ts_ns, uint32_t wirelen,
			   uint8_t l4, enum rf_place_why *why)
{
	struct rf_ft_entry *e;
	enum rf_place_why w;
	uint32_t i;

	switch (rf_ft_lookup(p->ft, hash, ts_ns, wirelen, l4, &e)) {
	case RF_FT_NEW:
		e->queue = (uint16_t)place_new(p, hash, why);
		e->why = (uint8_t)*why;
		return e->queue;
	case RF_FT_FOUND:
		if (p->failover_move && is_down(p, e->queue)) {
			e->queue = (uint16_t)place_new(p, hash, &w);
			e->why = RF_WHY_MOVED;
			p->moved++;
		}
		*why = (enum rf_place_why)e->why;
		return e->queue;
	case RF_FT_SHUNT:
		*why = RF_WHY_SHUNTED;
		return e->queue;
	default:
		i = live(p, by_hash(p, hash, why), hash, why);
		if (*why != RF_WHY_FAILOVER)
			*why = RF_WHY_FALLBACK;
		return i;
	}
}

/*
 * What the short path reads of a table, in locals: for the compiler, the
 * stores into entries (64-bit counts) may alias the table's own fields, which
 * it would then read again for every packet of a burst. The cut-offs are
 * read where cuts points (the table's, or a chunk's copy of them).
 */
struct view {
	uint64_t idle_ns;
	const struct cuts *cuts;
};

static inline __attribute__((always_inline)) void view_of(const struct rf_ft *t,
							  const struct cuts *cuts, struct view *v)
{
	v->idle_ns = t->idle_ns;
	v->cuts = cuts;
}

/*
 * 1 if a == b, else 0, in arithmetic: with ==, the compiler branched on
 * the third and fourth ways (mispredicted for the 13 % of packets whose flow
 * is there), and with 10 k flows that cost 1 ns a packet of 5.4.
 */
static inline __attribute__((always_inline)) unsigned int way_eq(uint32_t a, uint32_t b)
{
	return (unsigned int)(((uint64_t)(a ^ b) - 1) >> 63);
}

/* Of these flags, a flow on the short path has E_USED alone. */
#define E_SHORT (E_USED | E_CLOSING | E_ASKED)

/*
 * The common case: a packet of a known flow that stays live (not idle too
 * long, not closing, not a FIN or RST), is not shunted (below its cut-offs,
 * no request), with no failover that moves flows (the caller checks that):
 * its flow counted as rf_ft_lookup() counts it, and its queue returned,
 * without the general path's other work (that path's branches, calls and
 * verdicts cost more than the lookup itself when the table is in the
 * caches). now: the table's clock, this packet's timestamp already counted
 * in. cuts: the table has shunt cut-offs (the compiler makes one copy
 * with, one without: without, only a count about to saturate leaves the
 * short path; a 64-bit byte count never reaches the no-cut-off UINT64_MAX).
 * NOT_KNOWN: not that case, nothing changed.
 */
#define NOT_KNOWN UINT32_MAX
static inline __attribute__((always_inline)) uint32_t
known_flow(const struct view *v, struct rf_ft_entry *b, uint64_t now, uint32_t hash,
	   uint32_t wirelen, uint8_t l4, enum rf_place_why *ret_why, bool cuts)
{
	struct rf_ft_entry *e;
	unsigned int pr, m;

	_Static_assert(RF_FT_WAYS == 4, "the ways below");
	/*
	 * The first entry of the hash, used or not: a free entry keeps its
	 * hash, and then the general path decides (at most one used entry
	 * has a given hash). All four compared, then the first match taken,
	 * rather than a branch per way: which way holds a flow is random,
	 * and a mispredicted branch cost more than the whole rest (with 10 k
	 * flows, 8.6 against 5.5 ns a packet in a burst, for 17 instructions
	 * more; 4.4 with way_eq(), for 7 more).
	 */
	m = way_eq(b[0].hash, hash) | way_eq(b[1].hash, hash) << 1 | way_eq(b[2].hash, hash) << 2 |
	    way_eq(b[3].hash, hash) << 3;
	if (!m)
		return NOT_KNOWN;
	e = &b[__builtin_ctz(m)];
	/* (now >= last_ns always: a later last_ns wraps to "expired", the general path decides.) */
	if ((e->flags & E_SHORT) != E_USED || l4 & (RF_FT_TCP_FIN | RF_FT_TCP_RST) ||
	    now - e->last_ns >= v->idle_ns)
		return NOT_KNOWN;
	if (cuts) {
		pr = (e->flags >> E_PROTO) & 3;
		if (e->packets >= v->cuts->packets[pr] || e->bytes >= v->cuts->bytes[pr])
			return NOT_KNOWN;
	} else if (e->packets == UINT32_MAX) {
		return NOT_KNOWN;
	}
	e->last_ns = now;
	e->packets++; /* below cuts->packets, at most UINT32_MAX: no saturation */
	e->bytes += wirelen;
	*ret_why = (enum rf_place_why)e->why;
	return e->queue;
}

/*
 * rf_place_packet() without its short path, out of line: the short path
 * then saves no registers.
 */
static __attribute__((noinline)) uint32_t place_general(struct rf_place *p, uint32_t hash,
							uint64_t ts_ns, uint32_t wirelen,
							uint8_t l4, enum rf_place_why *ret_why)
{
	uint32_t i;

	if (p->ft)
		i = place_flow(p, hash, ts_ns, wirelen, l4, ret_why);
	else
		i = live(p, by_hash(p, hash, ret_why), hash, ret_why);
	if (p->load && *ret_why != RF_WHY_SHUNTED)
		count_load(p, i);
	return i;
}

/*
 * The short path inline (nothing to save on the way in), the rest in
 * place_general().
 */
uint32_t rf_place_packet(struct rf_place *p, uint32_t hash, uint64_t ts_ns, uint32_t wirelen,
			 uint8_t l4, enum rf_place_why *ret_why)
{
	struct rf_ft *t = p->ft;
	struct rf_ft_entry *b;
	struct view v;
	uint64_t now;
	uint32_t i;

	if (!t || p->moving)
		return place_general(p, hash, ts_ns, wirelen, l4, ret_why);
	now = ts_ns > t->now ? ts_ns : t->now;
	view_of(t, &t->fast, &v);
	b = bucket(t, hash);
	if (t->cuts)
		i = known_flow(&v, b, now, hash, wirelen, l4, ret_why, true);
	else
		i = known_flow(&v, b, now, hash, wirelen, l4, ret_why, false);
	if (i == NOT_KNOWN)
		return place_general(p, hash, ts_ns, wirelen, l4, ret_why);
	t->now = now;
	if (p->load)
		count_load(p, i);
	return i;
}

/* A burst's packets are placed this many at a time (their buckets' addresses kept). */
#define PLACE_CHUNK 32

/*
 * Prefetch the buckets of n hashes (rf_ft_prefetch_bulk()) and keep their
 * addresses in ret_buckets.
 */
static inline __attribute__((always_inline)) void prefetch_buckets(const struct rf_ft *t,
								   const uint32_t *hashes,
								   unsigned int n,
								   struct rf_ft_entry **ret_buckets)
{
	struct rf_ft_entry *e = t->e;
	uint32_t mask = t->mask;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct rf_ft_entry *b = &e[(size_t)(hashes[i] & mask) * RF_FT_WAYS];

		__builtin_prefetch(b, 1, 3);
		__builtin_prefetch((const char *)b + 64, 1, 3);
		ret_buckets[i] = b;
	}
}

/* A run of a chunk's packets on the short path: what known_run() reads and writes. */
struct run {
	struct rf_ft_entry *const *buckets;
	const uint32_t *hashes;
	const uint64_t *ts_ns;
	const uint32_t *wirelens;
	const uint8_t *l4s;
	uint32_t *queues;
	enum rf_place_why *whys;
	const struct view *v;
	uint64_t now; /* the clock, in and out */
};

/*
 * Packets from i on that take the short path, in order, up to the first one
 * that does not (or n): returns its index. Its own function, a leaf, so that
 * its loop keeps all it reads in registers (inline in the chunk's loop, with
 * the calls of the general path around it, it kept few).
 */
static inline __attribute__((always_inline)) unsigned int known_run(struct run *r, unsigned int i,
								    unsigned int n, bool cuts)
{
	struct rf_ft_entry *const *buckets = r->buckets;
	const uint32_t *hashes = r->hashes, *wirelens = r->wirelens;
	const uint64_t *ts_ns = r->ts_ns;
	const uint8_t *l4s = r->l4s;
	uint32_t *queues = r->queues;
	enum rf_place_why *whys = r->whys;
	struct view v = *r->v;
	uint64_t clock = r->now, ts;
	uint32_t q;

	for (; i < n; i++) {
		ts = ts_ns[i] > clock ? ts_ns[i] : clock;
		q = known_flow(&v, buckets[i], ts, hashes[i], wirelens[i], l4s[i], &whys[i], cuts);
		if (q == NOT_KNOWN)
			break;
		clock = ts;
		queues[i] = q;
	}
	r->now = clock;
	return i;
}

static __attribute__((noinline)) unsigned int known_run_cuts(struct run *r, unsigned int i,
							     unsigned int n)
{
	return known_run(r, i, n, true);
}

static __attribute__((noinline)) unsigned int known_run_plain(struct run *r, unsigned int i,
							      unsigned int n)
{
	return known_run(r, i, n, false);
}

/*
 * rf_place_burst() of up to PLACE_CHUNK packets of a table without moving
 * failover: runs of short-path packets, each other packet through the
 * general path in its turn (the clock and the loads as one by one: a run's
 * loads are counted before the packet after it is placed).
 */
static void place_chunk(struct rf_place *p, unsigned int n, const uint32_t *hashes,
			const uint64_t *ts_ns, const uint32_t *wirelens, const uint8_t *l4s,
			uint32_t *ret_queues, enum rf_place_why *ret_whys)
{
	struct rf_ft_entry *buckets[PLACE_CHUNK];
	struct rf_ft *t = p->ft;
	struct cuts c = t->fast;
	struct view v;
	struct run r = {.buckets = buckets,
			.hashes = hashes,
			.ts_ns = ts_ns,
			.wirelens = wirelens,
			.l4s = l4s,
			.queues = ret_queues,
			.whys = ret_whys,
			.v = &v,
			.now = t->now};
	unsigned int i, j, k;

	prefetch_buckets(t, hashes, n, buckets);
	view_of(t, &c, &v);
	for (i = 0;; i = j + 1) {
		j = t->cuts ? known_run_cuts(&r, i, n) : known_run_plain(&r, i, n);
		if (p->load)
			for (k = i; k < j; k++)
				count_load(p, ret_queues[k]);
		if (j >= n)
			break;
		t->now = r.now; /* the general path's clock (ts_ns[j] not yet counted in) */
		ret_queues[j] =
			place_general(p, hashes[j], ts_ns[j], wirelens[j], l4s[j], &ret_whys[j]);
		r.now = t->now;
	}
	t->now = r.now;
}

void rf_place_burst(struct rf_place *p, unsigned int n, const uint32_t *hashes,
		    const uint64_t *ts_ns, const uint32_t *wirelens, const uint8_t *tcp_flags,
		    uint32_t *ret_queues, enum rf_place_why *ret_whys)
{
	struct rf_ft *t = p->ft;
	unsigned int i, m;

	if (!t || p->moving) {
		if (t)
			rf_ft_prefetch_bulk(t, hashes, n);
		for (i = 0; i < n; i++)
			ret_queues[i] = place_general(p, hashes[i], ts_ns[i], wirelens[i],
						      tcp_flags[i], &ret_whys[i]);
		return;
	}
	for (i = 0; i < n; i += m) {
		m = n - i < PLACE_CHUNK ? n - i : PLACE_CHUNK;
		place_chunk(p, m, hashes + i, ts_ns + i, wirelens + i, tcp_flags + i,
			    ret_queues + i, ret_whys + i);
	}
}

void rf_place_set_down(struct rf_place *p, uint32_t i, bool down)
{
	if (i >= p->count || p->down[i] == down)
		return;
	p->down[i] = down;
	if (down)
		p->n_down++;
	else
		p->n_down--;
	p->moving = p->failover_move && p->n_down;
}

bool rf_place_down(const struct rf_place *p, uint32_t i)
{
	return i < p->count && p->down[i];
}

struct rf_ft *rf_place_table(const struct rf_place *p)
{
	return p->ft;
}

uint64_t rf_place_moved(const struct rf_place *p)
{
	return p->moved;
}
