/* SPDX-License-Identifier: BSD-2-Clause */
/* Filters, de-duplication, stripping and slicing of a queue's packets (see broker.h). */
#include "broker.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* What a compiled filter returns for a match (any non-zero value would do). */
#define FILTER_SNAPLEN 262144

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- BPF filters ---- */

struct rf_filter {
	struct bpf_program prog;
	char expr[];
};

int rf_filter_compile(const char *expr, int linktype, struct rf_filter **ret_filter, char *errbuf,
		      size_t errlen)
{
	struct rf_filter *f;
	pcap_t *pd;
	int r = 0;

	pd = pcap_open_dead(linktype, FILTER_SNAPLEN);
	f = calloc(1, sizeof(*f) + strlen(expr) + 1);
	if (!pd || !f) {
		r = -ENOMEM;
		goto out;
	}
	strcpy(f->expr, expr);
	if (pcap_compile(pd, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(errbuf, errlen, "%s", pcap_geterr(pd));
		r = -EINVAL;
	}
out:
	if (pd)
		pcap_close(pd);
	if (r) {
		free(f);
		return r;
	}
	*ret_filter = f;
	return 0;
}

bool rf_filter_match(const struct rf_filter *f, const uint8_t *pkt, uint32_t caplen,
		     uint32_t wirelen)
{
	return bpf_filter(f->prog.bf_insns, pkt, wirelen, caplen) != 0;
}

const char *rf_filter_expr(const struct rf_filter *f)
{
	return f->expr;
}

void rf_filter_free(struct rf_filter *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f);
}

/* ---- de-duplication ---- */

#define DD_WAYS	 4 /* entries per bucket: a packet's first copy may sit in any of them */
#define DD_MUL_A 0x9e3779b97f4a7c15ull
#define DD_MUL_B 0xbf58476d1ce4e5b9ull

/*
 * One 8-byte word into the hash. For a fixed h this is a bijection of v and
 * for a fixed v one of h, so two inputs of the same length that differ in a
 * single word never collide.
 */
static inline uint64_t dd_mix(uint64_t h, uint64_t v)
{
	h ^= v * DD_MUL_A;
	h = (h << 29 | h >> 35) * DD_MUL_B;
	return h;
}

static uint64_t dd_bytes(uint64_t h, const uint8_t *p, uint32_t len)
{
	uint64_t v;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		h = dd_mix(h, v);
	}
	if (len) {
		v = 0;
		memcpy(&v, p, len);
		h = dd_mix(h, v ^ ((uint64_t)len << 56));
	}
	return h;
}

static uint64_t dd_final(uint64_t h, uint64_t len)
{
	h = dd_mix(h, len);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1; /* 0 marks a free table entry */
}

/* End of the IP packet whose header is at off (its length field), within caplen. */
static uint32_t ip_end(const uint8_t *pkt, uint32_t caplen, uint32_t off, unsigned int version)
{
	uint32_t len = version == 4 ? rd16(pkt + off + 2) : rd16(pkt + off + 4);
	uint32_t end;

	if (!len) /* IPv4 from segmentation offload, IPv6 jumbogram: the capture says */
		return caplen;
	end = off + len + (version == 4 ? 0 : 40);
	return end < caplen ? end : caplen;
}

/* Where the header of d->ip[i] starts, or -1 when its layer was not recorded. */
static int ip_off(const struct rf_decoded *d, unsigned int i)
{
	const struct rf_ip *ip = &d->ip[i];

	return ip->layer < d->n_layers ? d->layer_off[ip->layer] : -1;
}

uint64_t rf_dedup_signature(const uint8_t *pkt, uint32_t caplen, const struct rf_decoded *d)
{
	uint8_t hdr[16];
	uint32_t off, end, fixed;
	int o = d->n_ip ? ip_off(d, 0) : -1;

	if (o < 0)
		return dd_final(dd_bytes(0, pkt, caplen), caplen);
	off = (uint32_t)o;
	end = ip_end(pkt, caplen, off, d->ip[0].version);
	/* The first words of the header, with what a router changes zeroed. */
	fixed = d->ip[0].version == 4 ? 16 : 8;
	memcpy(hdr, pkt + off, fixed);
	if (d->ip[0].version == 4) {
		hdr[8] = 0;  /* TTL */
		hdr[10] = 0; /* header checksum */
		hdr[11] = 0;
	} else {
		hdr[7] = 0; /* hop limit */
	}
	return dd_final(dd_bytes(dd_bytes(0, hdr, fixed), pkt + off + fixed, end - off - fixed),
			end - off);
}

struct dd_entry {
	uint64_t sig; /* 0: free */
	uint64_t ts_ns;
};

struct rf_dedup {
	struct dd_entry *e;
	uint32_t bucket_mask;
	uint64_t window_ns;
	uint64_t evicted;
};

int rf_dedup_new(uint32_t entries, uint64_t window_ns, struct rf_dedup **ret_dedup)
{
	struct rf_dedup *t;

	if (entries < DD_WAYS || (entries & (entries - 1)))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->e = calloc(entries, sizeof(*t->e));
	if (!t->e) {
		free(t);
		return -ENOMEM;
	}
	t->bucket_mask = entries / DD_WAYS - 1;
	t->window_ns = window_ns;
	*ret_dedup = t;
	return 0;
}

static inline uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

uint64_t rf_dedup_seen(struct rf_dedup *t, uint64_t sig, uint64_t ts_ns)
{
	struct dd_entry *b = &t->e[(size_t)(sig & t->bucket_mask) * DD_WAYS];
	unsigned int i, victim = 0;
	uint64_t age;

	for (i = 0; i < DD_WAYS; i++) {
		if (b[i].sig == sig) {
			age = absdiff(ts_ns, b[i].ts_ns);
			if (age <= t->window_ns)
				return age;
			b[i].ts_ns = ts_ns; /* an old one: this is a new first copy */
			return RF_DEDUP_NOT_SEEN;
		}
		/* A free entry, else the one seen longest ago. */
		if (b[victim].sig && (!b[i].sig || b[i].ts_ns < b[victim].ts_ns))
			victim = i;
	}
	if (b[victim].sig && absdiff(ts_ns, b[victim].ts_ns) <= t->window_ns)
		t->evicted++;
	b[victim].sig = sig;
	b[victim].ts_ns = ts_ns;
	return RF_DEDUP_NOT_SEEN;
}

uint64_t rf_dedup_evicted(const struct rf_dedup *t)
{
	return t->evicted;
}

void rf_dedup_free(struct rf_dedup *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

/* ---- stripping ---- */

static const struct {
	const char *name;
	unsigned int bit;
} strip_names[] = {
	{"vlan", RF_STRIP_VLAN},
	{"mpls", RF_STRIP_MPLS},
	{"tunnel", RF_STRIP_TUNNEL},
};

int rf_strip_parse(const char *s, unsigned int *ret_strip)
{
	unsigned int strip = 0, i;
	size_t len;

	if (!strcmp(s, "none")) {
		*ret_strip = 0;
		return 0;
	}
	for (;;) {
		len = strcspn(s, ",");
		for (i = 0; i < ARRAY_SIZE(strip_names); i++)
			if (len == strlen(strip_names[i].name) &&
			    !strncmp(s, strip_names[i].name, len))
				break;
		if (i == ARRAY_SIZE(strip_names))
			return -EINVAL;
		strip |= strip_names[i].bit;
		if (!s[len])
			break;
		s += len + 1;
	}
	*ret_strip = strip;
	return 0;
}

void rf_strip_format(unsigned int strip, char *buf, size_t len)
{
	char all[32] = "";
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(strip_names); i++)
		if (strip & strip_names[i].bit) {
			if (all[0])
				strcat(all, ",");
			strcat(all, strip_names[i].name);
		}
	snprintf(buf, len, "%s", all[0] ? all : "none");
}

/* The pieces the delivered frame is made of, merged when adjacent. */
struct pieces {
	struct {
		const uint8_t *p;
		uint32_t len;
	} seg[RF_MAX_LAYERS + 4];
	unsigned int n;
};

static void put(struct pieces *pc, const uint8_t *p, uint32_t len)
{
	if (pc->n && pc->seg[pc->n - 1].p + pc->seg[pc->n - 1].len == p) {
		pc->seg[pc->n - 1].len += len;
		return;
	}
	pc->seg[pc->n].p = p;
	pc->seg[pc->n].len = len;
	pc->n++;
}

static const uint8_t et_ipv4[2] = {0x08, 0x00}, et_ipv6[2] = {0x86, 0xdd};

/* Tunnels that carry an Ethernet frame: what mirroring (SPAN to a remote host) uses. */
static bool carries_ethernet(uint8_t layer)
{
	return layer == RF_LAYER_VXLAN || layer == RF_LAYER_GENEVE || layer == RF_LAYER_GRE ||
	       layer == RF_LAYER_ERSPAN;
}

/*
 * For RF_STRIP_TUNNEL: the layer of the Ethernet header the outermost
 * tunnel carries, and in *ret_end where the outer IP packet ends; -1 when
 * the packet went through no such tunnel, or is an outer IP fragment.
 */
static int first_inner_eth(const uint8_t *pkt, uint32_t caplen, const struct rf_decoded *d,
			   uint32_t *ret_end)
{
	int i;

	if (!d->n_ip || (d->ip[0].flags & RF_IP_FRAG) || ip_off(d, 0) < 0)
		return -1;
	for (i = d->ip[0].layer + 1; i < d->n_layers; i++) {
		if (d->layers[i] == RF_LAYER_ETH && carries_ethernet(d->layers[i - 1])) {
			*ret_end = ip_end(pkt, caplen, (uint32_t)ip_off(d, 0), d->ip[0].version);
			return i;
		}
	}
	return -1;
}

/*
 * The Ethernet frame whose header is layer eth, ending at end, with tags
 * and labels removed as strip says. Returns false if an MPLS pseudowire's
 * frame is to be delivered instead (*ret_inner: its Ethernet layer).
 */
static bool strip_tags(const uint8_t *pkt, uint32_t end, const struct rf_decoded *d, int eth,
		       unsigned int strip, struct pieces *pc, int *ret_inner)
{
	uint32_t pos = d->layer_off[eth] + 14, type_off = pos - 2, off;
	int i = eth + 1, n = d->n_layers;

	put(pc, pkt + d->layer_off[eth], 12); /* MAC addresses */
	for (; i < n && d->layer_off[i] == pos; i++) {
		off = d->layer_off[i];
		if (d->layers[i] == RF_LAYER_VLAN) {
			if (!(strip & RF_STRIP_VLAN))
				put(pc, pkt + off - 2, 4); /* TPID and TCI */
			pos = off + 4;
			type_off = off + 2;
		} else if (d->layers[i] == RF_LAYER_CMD) {
			put(pc, pkt + off - 2, 8);
			pos = off + 8;
			type_off = off + 6;
		} else {
			break;
		}
	}
	if (i < n && d->layers[i] == RF_LAYER_MPLS && (strip & RF_STRIP_MPLS)) {
		int j = i;

		while (j < n && d->layers[j] == RF_LAYER_MPLS)
			j++;
		if (j < n && d->layer_off[j] == d->layer_off[j - 1] + 4) {
			if (d->layers[j] == RF_LAYER_PWETH && j + 1 < n &&
			    d->layers[j + 1] == RF_LAYER_ETH) {
				*ret_inner = j + 1;
				return false;
			}
			if (d->layers[j] == RF_LAYER_IPV4 || d->layers[j] == RF_LAYER_IPV6) {
				put(pc, d->layers[j] == RF_LAYER_IPV4 ? et_ipv4 : et_ipv6, 2);
				put(pc, pkt + d->layer_off[j], end - d->layer_off[j]);
				return true;
			}
		}
	}
	put(pc, pkt + type_off, 2);
	put(pc, pkt + pos, end - pos);
	return true;
}

static void pieces_out(const struct pieces *pc, const struct rf_frame *in, uint32_t end,
		       uint8_t *buf, struct rf_frame *out)
{
	uint32_t len = 0;
	unsigned int i;

	if (pc->n == 1) {
		out->data = pc->seg[0].p;
		len = pc->seg[0].len;
	} else {
		for (i = 0; i < pc->n; i++) {
			memcpy(buf + len, pc->seg[i].p, pc->seg[i].len);
			len += pc->seg[i].len;
		}
		out->data = buf;
	}
	out->caplen = len;
	/* Cut at the end of an IP packet: the frame is complete. */
	out->wirelen = end < in->caplen ? len : in->wirelen - (in->caplen - len);
}

bool rf_strip(const struct rf_frame *in, const struct rf_decoded *d, unsigned int strip,
	      uint8_t *buf, struct rf_frame *out)
{
	struct pieces pc; /* not cleared: pieces are counted in pc.n */
	uint32_t end = in->caplen;
	int eth = -1;

	*out = *in;
	if (!strip || in->caplen > RF_STRIP_BUF || !d->n_layers || d->layers[0] != RF_LAYER_ETH)
		return false;
	if (strip & RF_STRIP_TUNNEL)
		eth = first_inner_eth(in->data, in->caplen, d, &end);
	if (eth < 0) {
		if (!rf_strip_needed(d, strip & ~(unsigned int)RF_STRIP_TUNNEL))
			return false;
		eth = 0;
	}
	pc.n = 0;
	/* A pseudowire's frame is stripped again; each one is deeper (eth grows). */
	while (!strip_tags(in->data, end, d, eth, strip, &pc, &eth))
		pc.n = 0;
	if (pc.n == 1 && pc.seg[0].p == in->data && pc.seg[0].len == in->caplen)
		return false;
	pieces_out(&pc, in, end, buf, out);
	return true;
}
