/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Flow hash and fragment table. The hash orders the two endpoints (so both
 * directions give the same input) and mixes 64-bit words with a
 * multiply-fold ("mum", as in wyhash): a 64x64->128 multiply whose halves are
 * xored. Two rounds for IPv4, three for IPv6: a few ns per packet.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "util.h"

#define K0 0xa0761d6478bd642fULL
#define K1 0xe7037ed1a0b428dbULL
#define K2 0x8ebc6af09c88c6e3ULL
#define K3 0x589965cc75374cc3ULL

enum { P_IPIP = 4, P_TCP = 6, P_UDP = 17, P_IPV6 = 41, P_GRE = 47, P_SCTP = 132 };

#define NO_LAYER 0xff

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint32_t fold(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---- modes ---- */

static const char *const mode_names[RF_MODE__MAX] = {
	[RF_MODE_RR] = "rr",
	[RF_MODE_IP] = "ip",
	[RF_MODE_5TUPLE] = "5tuple",
	[RF_MODE_INNER_IP] = "inner-ip",
	[RF_MODE_INNER_5TUPLE] = "inner-5tuple",
	[RF_MODE_VLAN] = "vlan",
	[RF_MODE_IFACE] = "iface",
	[RF_MODE_FANOUT] = "fanout",
};

/* zbalance_ipc -m numbers whose meaning ringfan shares. */
static const struct {
	const char *num;
	enum rf_mode mode;
} zbalance_modes[] = {
	{"0", RF_MODE_RR},	     {"1", RF_MODE_IP},	      {"2", RF_MODE_FANOUT},
	{"4", RF_MODE_INNER_5TUPLE}, {"5", RF_MODE_INNER_IP}, {"6", RF_MODE_IFACE},
};

int rf_mode_parse(const char *s, enum rf_mode *ret_mode)
{
	int m = rf_name_index(mode_names, RF_MODE__MAX, s);
	size_t i;

	if (m >= 0) {
		*ret_mode = (enum rf_mode)m;
		return 0;
	}
	for (i = 0; s && i < ARRAY_SIZE(zbalance_modes); i++) {
		if (strcmp(s, zbalance_modes[i].num) == 0) {
			*ret_mode = zbalance_modes[i].mode;
			return 0;
		}
	}
	return -EINVAL;
}

const char *rf_mode_name(enum rf_mode mode)
{
	return rf_name_of(mode_names, RF_MODE__MAX, mode);
}

/* zbalance_ipc -m numbers whose meaning no mode shares: what to write instead. */
static const struct {
	const char *num;
	const char *hint;
} zbalance_other[] = {
	{"3", "zbalance_ipc's mode 3 (every packet to the first queue, round robin over the "
	      "others) is two groups here: -n 1,N-1 -m rr (for -n 4: -n 1,3 -m rr), with the "
	      "same queue numbers"},
	{"7", "zbalance_ipc's mode 7 (a sample split by EtherType) has no equivalent: ringfan "
	      "keeps flows together; use -m ip or -m 5tuple (frames without IP go by their MAC "
	      "pair)"},
};

const char *rf_mode_zbalance_hint(const char *s)
{
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(zbalance_other); i++)
		if (strcmp(s, zbalance_other[i].num) == 0)
			return zbalance_other[i].hint;
	return NULL;
}

const char *rf_mode_help(void)
{
	return "Modes (-m NAME or zbalance_ipc number):\n"
	       "  rr            0  round robin over the queues\n"
	       "  ip            1  symmetric IP 2-tuple of the outermost IP header (default)\n"
	       "  5tuple           symmetric addresses, protocol and ports (outermost IP)\n"
	       "  inner-ip      5  symmetric 2-tuple of the innermost IP header (GRE-aware)\n"
	       "  inner-5tuple  4  symmetric 5-tuple of the innermost IP header (GTP-aware)\n"
	       "  vlan             outermost VLAN id\n"
	       "  iface         6  ingress interface\n"
	       "  fanout        2  every queue gets every packet\n"
	       "zbalance_ipc -m 3 is -n 1,N-1 -m rr; -m 7 (by EtherType) has no equivalent.\n";
}

unsigned int rf_mode_decode_flags(enum rf_mode mode)
{
	switch (mode) {
	case RF_MODE_IP:
	case RF_MODE_5TUPLE:
		return RF_DECODE_OUTER;
	case RF_MODE_VLAN:
	case RF_MODE_IFACE:
	case RF_MODE_RR:
	case RF_MODE_FANOUT:
		/* Only the link layer matters; decoding further is harmless. */
		return RF_DECODE_OUTER;
	default:
		return 0;
	}
}

/* ---- stateless hash ---- */

static inline bool mode_has_ports(enum rf_mode mode)
{
	return mode == RF_MODE_5TUPLE || mode == RF_MODE_INNER_5TUPLE;
}

static inline bool mode_is_inner(enum rf_mode mode)
{
	return mode == RF_MODE_INNER_IP || mode == RF_MODE_INNER_5TUPLE;
}

/*
 * Both directions must give the same input, so the two endpoints are put in
 * a fixed order first. The order is computed without branches: the swap
 * is a coin flip per packet in mixed traffic, and a mispredicted branch
 * would cost more than the whole hash.
 */
static inline uint64_t sel(uint64_t mask, uint64_t a, uint64_t b)
{
	return (a & ~mask) | (b & mask);
}

static inline __attribute__((always_inline)) uint32_t
hash_v4(const uint8_t *pkt, const struct rf_ip *ip, bool ports, bool proto)
{
	uint64_t pm = -(uint64_t)ports;
	/* endpoint = address << 16 | port: one compare orders address, then port */
	uint64_t a = (uint64_t)ld32(pkt + ip->src_off) << 16 | (ip->sport & pm);
	uint64_t b = (uint64_t)ld32(pkt + ip->dst_off) << 16 | (ip->dport & pm);
	uint64_t lo = a < b ? a : b, hi = a ^ b ^ lo;
	uint64_t w1 = hi | ((uint64_t)(ip->proto & -(uint32_t)proto) << 48);

	return fold(mum(mum(lo ^ K0, w1 ^ K1) ^ K2, lo ^ K3));
}

static uint32_t hash_v6(const uint8_t *pkt, const struct rf_ip *ip, bool ports, bool proto)
{
	uint64_t s0 = ld64(pkt + ip->src_off), s1 = ld64(pkt + ip->src_off + 8);
	uint64_t d0 = ld64(pkt + ip->dst_off), d1 = ld64(pkt + ip->dst_off + 8);
	uint64_t pm = -(uint64_t)ports;
	uint64_t sp = ip->sport & pm, dp = ip->dport & pm;
	uint64_t swap =
		-(uint64_t)((s0 > d0) | ((s0 == d0) & ((s1 > d1) | ((s1 == d1) & (sp > dp)))));
	uint64_t l0 = sel(swap, s0, d0), l1 = sel(swap, s1, d1), lp = sel(swap, sp, dp);
	uint64_t h0 = s0 ^ d0 ^ l0, h1 = s1 ^ d1 ^ l1, hp = sp ^ dp ^ lp;
	uint64_t w =
		(lp << 16 | hp | (uint64_t)(ip->proto & -(uint32_t)proto) << 32) | (6ULL << 56);
	uint64_t h = mum(l0 ^ K0, l1 ^ K1) ^ mum(h0 ^ K2, h1 ^ K3);

	return fold(mum(h ^ K1, w ^ K2));
}

static inline uint64_t ld_mac(const uint8_t *p)
{
	uint32_t hi = ld32(p);
	uint16_t lo;

	memcpy(&lo, p + 4, sizeof(lo));
	return ((uint64_t)hi << 16) | lo;
}

/*
 * No IP header: the sorted MAC pair of the innermost Ethernet header (the
 * frame a FabricPath header or a pseudowire carries), else 0.
 */
static uint32_t hash_mac(const uint8_t *pkt, const struct rf_decoded *d, struct rf_flow_key *key)
{
	unsigned int i = d->n_layers;
	uint64_t a, b;
	uint16_t off;

	while (i > 0 && d->layers[i - 1] != RF_LAYER_ETH)
		i--;
	if (i == 0)
		return 0;
	off = d->layer_off[i - 1];
	a = ld_mac(pkt + off);
	b = ld_mac(pkt + off + 6);
	if (key) {
		key->fields = RF_KEY_MAC;
		memcpy(key->src, pkt + off + 6, 6);
		memcpy(key->dst, pkt + off, 6);
	}
	if (a > b) {
		uint64_t t = a;

		a = b;
		b = t;
	}
	return fold(mum(mum(a ^ K0, b ^ K1) ^ K2, a ^ K3));
}

static uint32_t hash_word(uint64_t v)
{
	return fold(mum(v ^ K0, K1));
}

/* Only for explaining: kept out of line so the hash path stays small. */
static __attribute__((noinline, cold)) void fill_ip_key(struct rf_flow_key *key, const uint8_t *pkt,
							const struct rf_decoded *d,
							unsigned int layer, bool ports)
{
	const struct rf_ip *ip = &d->ip[layer];
	size_t alen = ip->version == 6 ? 16 : 4;

	key->fields = RF_KEY_ADDR;
	key->family = ip->version;
	key->ip_layer = (uint8_t)layer;
	key->proto = ip->proto;
	memcpy(key->src, pkt + ip->src_off, alen);
	memcpy(key->dst, pkt + ip->dst_off, alen);
	if (ports) {
		key->fields |= RF_KEY_PROTO;
		if (ip->flags & RF_IP_PORTS) {
			key->fields |= RF_KEY_PORTS;
			key->sport = ip->sport;
			key->dport = ip->dport;
		}
	}
}

static inline __attribute__((always_inline)) uint32_t
hash_ip(enum rf_mode mode, const uint8_t *pkt, const struct rf_decoded *d, struct rf_flow_key *key)
{
	unsigned int layer = mode_is_inner(mode) ? d->n_ip - 1u : 0;
	const struct rf_ip *ip = &d->ip[layer];
	bool proto = mode_has_ports(mode);
	bool ports = proto && (ip->flags & RF_IP_PORTS);

	if (unlikely(key != NULL))
		fill_ip_key(key, pkt, d, layer, proto);
	if (unlikely(ip->version == 6))
		return hash_v6(pkt, ip, ports, proto);
	return hash_v4(pkt, ip, ports, proto);
}

/*
 * Decoding ended with an ARP packet that the mode keys on (no IP header
 * before it, or an inner mode): its IPv4 sender and target, hashed as ip
 * mode hashes an IP packet between them. Else -1.
 */
static __attribute__((noinline)) int64_t
hash_arp(enum rf_mode mode, const uint8_t *pkt, const struct rf_decoded *d, struct rf_flow_key *key)
{
	struct rf_ip ip = {.version = 4};
	int arp = rf_decoded_arp(d);

	if (arp < 0 || (d->n_ip > 0 && !mode_is_inner(mode)))
		return -1;
	ip.src_off = (uint16_t)(arp + RF_ARP_SPA);
	ip.dst_off = (uint16_t)(arp + RF_ARP_TPA);
	if (key) {
		key->fields = RF_KEY_ADDR | RF_KEY_ARP;
		key->family = 4;
		memcpy(key->src, pkt + ip.src_off, 4);
		memcpy(key->dst, pkt + ip.dst_off, 4);
	}
	return hash_v4(pkt, &ip, false, false);
}

static void key_init(struct rf_flow_key *key, const struct rf_decoded *d, uint32_t ifindex)
{
	memset(key, 0, sizeof(*key));
	key->ip_layer = NO_LAYER;
	key->vlan_id = d->has_vlan ? d->vlan_id : 0;
	key->ifindex = ifindex;
}

/* Inlined into rf_flow_classify(): the per-packet path makes no extra call. */
static inline __attribute__((always_inline)) uint32_t
flow_hash(enum rf_mode mode, const uint8_t *pkt, const struct rf_decoded *d, uint32_t ifindex,
	  struct rf_flow_key *ret_key)
{
	int64_t arp_hash;

	if (ret_key)
		key_init(ret_key, d, ifindex);
	switch (mode) {
	case RF_MODE_IP:
	case RF_MODE_5TUPLE:
	case RF_MODE_INNER_IP:
	case RF_MODE_INNER_5TUPLE:
		if (unlikely(d->reason == RF_DEC_NON_IP) &&
		    (arp_hash = hash_arp(mode, pkt, d, ret_key)) >= 0)
			return (uint32_t)arp_hash;
		if (likely(d->n_ip > 0))
			return hash_ip(mode, pkt, d, ret_key);
		return hash_mac(pkt, d, ret_key);
	case RF_MODE_VLAN:
		if (ret_key)
			ret_key->fields = RF_KEY_VLAN;
		return hash_word(d->has_vlan ? d->vlan_id : 0);
	case RF_MODE_IFACE:
		if (ret_key)
			ret_key->fields = RF_KEY_IFACE;
		return hash_word(ifindex);
	default:
		return 0;
	}
}

uint32_t rf_flow_hash(enum rf_mode mode, const uint8_t *pkt, const struct rf_decoded *d,
		      uint32_t ifindex, struct rf_flow_key *ret_key)
{
	return flow_hash(mode, pkt, d, ifindex, ret_key);
}

/* ---- fragment table and hold buffer ---- */

#define PROBES 8

/* Identity of one fragmented datagram. */
struct frag_id {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint8_t version;
	uint8_t proto;
	uint16_t pad;
};

struct frag_entry {
	struct frag_id k;
	uint64_t expire_ns; /* 0: empty */
	uint32_t hash;
	struct rf_flow_key key; /* what the first fragment hashed, for explaining the rest */
};

enum { SLOT_FREE = 0, SLOT_HELD, SLOT_RELEASED };

struct hold_slot {
	struct frag_id k;
	uint64_t expire_ns;
	uint32_t hash; /* fallback until released tied */
	uint8_t state;
	struct rf_flow_pkt pkt; /* data points into the hold buffer */
	struct rf_flow_key key;
};

struct rf_flow {
	enum rf_mode mode;
	bool frag_mode; /* the mode ties fragments to their datagram */
	struct rf_flow_opts o;
	uint32_t mask;
	uint64_t now;
	struct frag_entry *table;
	struct hold_slot *slots;
	uint8_t *hold_data;
	uint32_t *free_stack; /* free slot indices */
	uint32_t n_free;
	uint32_t *rel_ring; /* released slot indices, FIFO */
	uint32_t rel_head, rel_count;
	uint32_t n_held;
	uint64_t hold_deadline; /* earliest expiry among held slots */
	uint32_t pending_free;	/* slot handed out by next_released, UINT32_MAX if none */
	struct rf_flow_stats st;
};

static bool opts_fill(const struct rf_flow_opts *in, struct rf_flow_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (in) {
		if (in->sz < offsetof(struct rf_flow_opts, hold_timeout_ns) + sizeof(uint64_t))
			return false;
		*o = *in;
	}
	o->sz = sizeof(*o);
	if (!o->table_entries)
		o->table_entries = 16384;
	if (!o->hold_slots)
		o->hold_slots = 256;
	if (!o->hold_bytes)
		o->hold_bytes = 9216;
	if (!o->table_timeout_ns)
		o->table_timeout_ns = 5000000000ULL;
	if (!o->hold_timeout_ns)
		o->hold_timeout_ns = 200000000ULL;
	return o->table_entries <= (1u << 24) && o->hold_slots <= (1u << 20) &&
	       o->hold_bytes <= 65535;
}

int rf_flow_new(enum rf_mode mode, const struct rf_flow_opts *opts, struct rf_flow **ret_flow)
{
	struct rf_flow *f;
	uint32_t n = 1, i;

	if ((unsigned int)mode >= RF_MODE__MAX)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (!opts_fill(opts, &f->o)) {
		free(f);
		return -EINVAL;
	}
	f->mode = mode;
	f->frag_mode = mode == RF_MODE_5TUPLE || mode_is_inner(mode);
	while (n < f->o.table_entries)
		n <<= 1;
	f->mask = n - 1;
	f->table = calloc(n, sizeof(*f->table));
	f->slots = calloc(f->o.hold_slots, sizeof(*f->slots));
	f->hold_data = malloc((size_t)f->o.hold_slots * f->o.hold_bytes);
	f->free_stack = calloc(f->o.hold_slots, sizeof(uint32_t));
	f->rel_ring = calloc(f->o.hold_slots, sizeof(uint32_t));
	if (!f->table || !f->slots || !f->hold_data || !f->free_stack || !f->rel_ring) {
		rf_flow_free(f);
		return -ENOMEM;
	}
	for (i = 0; i < f->o.hold_slots; i++)
		f->free_stack[i] = f->o.hold_slots - 1 - i;
	f->n_free = f->o.hold_slots;
	f->pending_free = UINT32_MAX;
	*ret_flow = f;
	return 0;
}

void rf_flow_free(struct rf_flow *f)
{
	if (!f)
		return;
	free(f->table);
	free(f->slots);
	free(f->hold_data);
	free(f->free_stack);
	free(f->rel_ring);
	free(f);
}

void rf_flow_get_stats(const struct rf_flow *f, struct rf_flow_stats *ret_stats)
{
	*ret_stats = f->st;
}

/*
 * Whether fragments of this protocol can belong to a flow that their
 * addresses (+protocol) alone do not identify: ports in 5tuple modes, a
 * tunnelled inner header in inner modes.
 */
static bool frag_needs_table(enum rf_mode mode, uint8_t proto)
{
	bool ported = proto == P_TCP || proto == P_UDP || proto == P_SCTP;
	bool tunnel = proto == P_UDP || proto == P_GRE || proto == P_IPIP || proto == P_IPV6;

	switch (mode) {
	case RF_MODE_5TUPLE:
		return ported;
	case RF_MODE_INNER_IP:
		return tunnel;
	case RF_MODE_INNER_5TUPLE:
		return ported || tunnel;
	default:
		return false;
	}
}

/*
 * The IP level whose fragmentation decides the packet's datagram: the
 * outermost fragmented header at or above the one the mode hashes. An
 * atomic fragment (offset 0, no more fragments) is a whole datagram.
 */
static inline int frag_level(enum rf_mode mode, const struct rf_decoded *d)
{
	unsigned int last = mode_is_inner(mode) ? d->n_ip - 1u : 0, i;

	for (i = 0; i <= last; i++) {
		const struct rf_ip *ip = &d->ip[i];

		if ((ip->flags & RF_IP_FRAG) && (ip->frag_off || (ip->flags & RF_IP_MF)))
			return (int)i;
	}
	return -1;
}

static void frag_id_of(struct frag_id *k, const uint8_t *pkt, const struct rf_ip *ip)
{
	size_t alen = ip->version == 6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	memcpy(k->src, pkt + ip->src_off, alen);
	memcpy(k->dst, pkt + ip->dst_off, alen);
	k->id = ip->frag_id;
	k->version = ip->version;
	k->proto = ip->proto;
}

static uint32_t frag_id_hash(const struct frag_id *k)
{
	uint64_t h = mum(ld64(k->src) ^ K0, ld64(k->src + 8) ^ K1) ^
		     mum(ld64(k->dst) ^ K2, ld64(k->dst + 8) ^ K3);

	return fold(
		mum(h ^ K1, ((uint64_t)k->id << 16 | (uint64_t)k->proto << 8 | k->version) ^ K2));
}

static struct frag_entry *table_find(struct rf_flow *f, const struct frag_id *k)
{
	uint32_t i, idx = frag_id_hash(k);

	for (i = 0; i < PROBES; i++) {
		struct frag_entry *e = &f->table[(idx + i) & f->mask];

		if (e->expire_ns && e->expire_ns >= f->now && memcmp(&e->k, k, sizeof(*k)) == 0)
			return e;
	}
	return NULL;
}

static void table_record(struct rf_flow *f, const struct frag_id *k, uint32_t hash,
			 const struct rf_flow_key *key)
{
	uint32_t i, idx = frag_id_hash(k);
	struct frag_entry *slot = NULL;

	for (i = 0; i < PROBES; i++) {
		struct frag_entry *e = &f->table[(idx + i) & f->mask];

		if (e->expire_ns && memcmp(&e->k, k, sizeof(*k)) == 0) {
			slot = e; /* same datagram seen again (duplicate first fragment) */
			break;
		}
		if (!slot && (!e->expire_ns || e->expire_ns < f->now))
			slot = e;
	}
	if (!slot) {
		f->st.frag_table_full++;
		return;
	}
	if (slot->expire_ns && slot->expire_ns < f->now)
		f->st.frag_table_expired++;
	slot->k = *k;
	slot->expire_ns = f->now + f->o.table_timeout_ns;
	slot->hash = hash;
	slot->key = *key;
	slot->key.fields &= (uint16_t) ~(RF_KEY_FRAG_TIED | RF_KEY_FRAG_FALLBACK);
	f->st.frag_first++;
}

static void release_slot(struct rf_flow *f, uint32_t i)
{
	f->slots[i].state = SLOT_RELEASED;
	f->rel_ring[(f->rel_head + f->rel_count++) % f->o.hold_slots] = i;
	f->n_held--;
}

/* A tied fragment is explained by its datagram's key (inner header, ports). */
static void tie_key(struct rf_flow_key *key, const struct frag_entry *e)
{
	*key = e->key;
	key->fields |= RF_KEY_FRAG_TIED;
}

/* A first fragment arrived: its held siblings leave with its hash. */
static void release_matching(struct rf_flow *f, const struct frag_id *k, const struct frag_entry *e,
			     uint32_t hash)
{
	uint32_t i;

	for (i = 0; i < f->o.hold_slots && f->n_held; i++) {
		struct hold_slot *s = &f->slots[i];

		if (s->state != SLOT_HELD || memcmp(&s->k, k, sizeof(*k)) != 0)
			continue;
		s->hash = hash;
		if (e)
			tie_key(&s->key, e);
		else
			s->key.fields |= RF_KEY_FRAG_TIED;
		f->st.frag_released++;
		release_slot(f, i);
	}
}

/* Release held packets whose time is up (all of them with force). */
static void expire_held(struct rf_flow *f, bool force)
{
	uint64_t next = UINT64_MAX;
	uint32_t i;

	for (i = 0; i < f->o.hold_slots && f->n_held; i++) {
		struct hold_slot *s = &f->slots[i];

		if (s->state != SLOT_HELD)
			continue;
		if (force || s->expire_ns <= f->now) {
			f->st.frag_expired++;
			release_slot(f, i);
		} else if (s->expire_ns < next) {
			next = s->expire_ns;
		}
	}
	f->hold_deadline = next;
}

static void reclaim(struct rf_flow *f)
{
	if (f->pending_free == UINT32_MAX)
		return;
	f->slots[f->pending_free].state = SLOT_FREE;
	f->free_stack[f->n_free++] = f->pending_free;
	f->pending_free = UINT32_MAX;
}

static bool hold(struct rf_flow *f, const struct rf_flow_pkt *p, const struct rf_decoded *d,
		 const struct frag_id *k, uint32_t fallback)
{
	struct hold_slot *s;
	uint32_t i;

	if (p->caplen > f->o.hold_bytes) {
		f->st.frag_hold_big++;
		return false;
	}
	if (!f->n_free) {
		f->st.frag_hold_full++;
		return false;
	}
	i = f->free_stack[--f->n_free];
	s = &f->slots[i];
	s->k = *k;
	s->state = SLOT_HELD;
	s->hash = fallback;
	s->expire_ns = f->now + f->o.hold_timeout_ns;
	s->pkt = *p;
	s->pkt.data = f->hold_data + (size_t)i * f->o.hold_bytes;
	memcpy(f->hold_data + (size_t)i * f->o.hold_bytes, p->data, p->caplen);
	rf_flow_hash(f->mode, p->data, d, p->ifindex, &s->key);
	s->key.fields |= RF_KEY_FRAG_FALLBACK;
	if (s->expire_ns < f->hold_deadline || !f->n_held)
		f->hold_deadline = s->expire_ns;
	f->n_held++;
	f->st.frag_held++;
	return true;
}

static inline void advance_clock(struct rf_flow *f, uint64_t now)
{
	if (now > f->now)
		f->now = now;
	if (unlikely(f->n_held) && f->now >= f->hold_deadline)
		expire_held(f, false);
}

/* Slow path: the packet is a fragment at level fl in a mode that ties fragments. */
static __attribute__((noinline)) int classify_frag(struct rf_flow *f, const struct rf_flow_pkt *p,
						   const struct rf_decoded *d, int fl,
						   uint32_t *hash, struct rf_flow_key *key)
{
	const struct rf_ip *ip = &d->ip[fl];
	struct frag_entry *e;
	struct frag_id k;

	if (!frag_needs_table(f->mode, ip->proto))
		return RF_FLOW_HASH;
	frag_id_of(&k, p->data, ip);
	if (ip->frag_off == 0) {
		struct rf_flow_key tmp;

		if (!key) {
			rf_flow_hash(f->mode, p->data, d, p->ifindex, &tmp);
			key = &tmp;
		}
		table_record(f, &k, *hash, key);
		if (f->n_held)
			release_matching(f, &k, table_find(f, &k), *hash);
		return RF_FLOW_HASH;
	}
	e = table_find(f, &k);
	if (e) {
		f->st.frag_tied++;
		*hash = e->hash;
		if (key)
			tie_key(key, e);
		return RF_FLOW_HASH;
	}
	if (hold(f, p, d, &k, *hash))
		return RF_FLOW_HELD;
	if (key)
		key->fields |= RF_KEY_FRAG_FALLBACK;
	return RF_FLOW_HASH;
}

/*
 * Fragment-tying modes, past the common case: housekeeping is due, or the
 * packet is a fragment, or the caller wants the key. Out of line so that
 * the per-packet path needs no stack frame.
 */
static __attribute__((noinline)) int classify_slow(struct rf_flow *f, const struct rf_flow_pkt *p,
						   const struct rf_decoded *d, uint32_t hash,
						   uint32_t *ret_hash, struct rf_flow_key *ret_key)
{
	int fl, v = RF_FLOW_HASH;

	if (ret_key)
		hash = flow_hash(f->mode, p->data, d, p->ifindex, ret_key);
	if (f->frag_mode) {
		reclaim(f);
		advance_clock(f, p->ts_ns);
		fl = d->n_ip ? frag_level(f->mode, d) : -1;
		if (fl >= 0)
			v = classify_frag(f, p, d, fl, &hash, ret_key);
	}
	if (v == RF_FLOW_HASH)
		*ret_hash = hash;
	return v;
}

/* Any IP header that the mode looks through is a fragment. */
static inline bool any_frag(enum rf_mode mode, const struct rf_decoded *d)
{
	unsigned int i, n = mode_is_inner(mode) ? d->n_ip : (d->n_ip ? 1u : 0u);
	uint8_t flags = 0;

	for (i = 0; i < n; i++)
		flags |= d->ip[i].flags;
	return flags & RF_IP_FRAG;
}

int rf_flow_classify(struct rf_flow *f, const struct rf_flow_pkt *p, const struct rf_decoded *d,
		     uint32_t *ret_hash, struct rf_flow_key *ret_key)
{
	uint32_t hash = 0;

	if (likely(!ret_key))
		hash = flow_hash(f->mode, p->data, d, p->ifindex, NULL);
	if (f->frag_mode) {
		if (likely(p->ts_ns > f->now))
			f->now = p->ts_ns;
		if (unlikely(f->n_held || f->pending_free != UINT32_MAX || any_frag(f->mode, d)))
			return classify_slow(f, p, d, hash, ret_hash, ret_key);
	}
	if (unlikely(ret_key))
		return classify_slow(f, p, d, hash, ret_hash, ret_key);
	*ret_hash = hash;
	return RF_FLOW_HASH;
}

int rf_flow_next_released(struct rf_flow *f, struct rf_flow_pkt *ret_pkt, uint32_t *ret_hash,
			  struct rf_flow_key *ret_key)
{
	struct hold_slot *s;
	uint32_t i;

	if (likely(!f->rel_count && f->pending_free == UINT32_MAX))
		return 0;
	reclaim(f);
	if (!f->rel_count)
		return 0;
	i = f->rel_ring[f->rel_head];
	f->rel_head = (f->rel_head + 1) % f->o.hold_slots;
	f->rel_count--;
	s = &f->slots[i];
	f->pending_free = i;
	*ret_pkt = s->pkt;
	*ret_hash = s->hash;
	if (ret_key)
		*ret_key = s->key;
	return 1;
}

bool rf_flow_released_pending(const struct rf_flow *f)
{
	return f->rel_count != 0;
}

void rf_flow_expire(struct rf_flow *f, uint64_t now_ns)
{
	reclaim(f);
	advance_clock(f, now_ns);
}

void rf_flow_flush(struct rf_flow *f)
{
	reclaim(f);
	if (f->n_held)
		expire_held(f, true);
}
