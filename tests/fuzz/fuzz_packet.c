/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: decode one packet and hash it in every mode, through the
 * fragment table as the balancer does; strip it every way and take its
 * de-duplication signature (broker.h). Input: byte 0 selects the link type
 * (index into linktypes[], modulo its size), the rest is the packet.
 *
 * The flow objects live across inputs (small, fixed bounds) so that the
 * fragment table and the hold buffer see sequences of fragments; the clock
 * advances with every input so that entries and held packets expire.
 *
 * An input that begins with a pcap file's magic number (this machine's byte
 * order, micro- or nanoseconds) is a whole capture file instead: the pcap
 * source reads it (the plain-pcap reader of source_pcap.c) and libpcap reads
 * it too; both must give the same packets, timestamps and lengths. So must
 * they for the same file with its records repeated past several of the
 * source's reads (read_long_file()).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pcap/pcap.h>

#include "broker.h"
#include "decode.h"
#include "flow.h"
#include "source.h"

/* Keep in step with tests/fuzz/fuzz_packet.seeds. */
static const int linktypes[] = {
	DLT_EN10MB,
	DLT_RAW,
	101 /* LINKTYPE_RAW */,
	DLT_LINUX_SLL,
	DLT_LINUX_SLL2,
	DLT_PPP,
	DLT_NULL,
	DLT_LOOP,
	DLT_IPV4,
	DLT_IPV6,
	147 /* unsupported */,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rf_flow *flows[RF_MODE__MAX];
static uint64_t clock_ns;

static void init_flows(void)
{
	struct rf_flow_opts o = {
		.sz = sizeof(o),
		.table_entries = 64,
		.hold_slots = 8,
		.hold_bytes = 2048,
		.table_timeout_ns = 50,
		.hold_timeout_ns = 10,
	};

	for (int m = 0; m < RF_MODE__MAX; m++)
		if (rf_flow_new((enum rf_mode)m, &o, &flows[m]) < 0)
			abort();
}

/* Released packets must come back intact and hash to a valid queue. */
static void drain(struct rf_flow *f)
{
	struct rf_flow_pkt p;
	struct rf_flow_key k;
	struct rf_decoded d;
	uint32_t hash;

	while (rf_flow_next_released(f, &p, &hash, &k)) {
		if (p.caplen > 2048 || rf_queue_pick(hash, 7) >= 7)
			abort();
		rf_decode(p.data, p.caplen, p.linktype, 0, &d);
	}
}

static void hash_all(const uint8_t *pkt, uint32_t len, int linktype, unsigned int flags)
{
	struct rf_flow_key key;
	struct rf_decoded d;
	uint32_t h1, h2 = 0;

	rf_decode(pkt, len, linktype, flags, &d);
	if (d.n_ip > RF_MAX_IP || d.n_layers > RF_MAX_LAYERS || d.reason >= RF_DEC__MAX)
		abort();
	for (int m = 0; m < RF_MODE__MAX; m++) {
		struct rf_flow_pkt p = {.data = pkt,
					.caplen = len,
					.wirelen = len,
					.ts_ns = clock_ns,
					.linktype = linktype,
					.cookie = clock_ns};

		h1 = rf_flow_hash((enum rf_mode)m, pkt, &d, 1, &key);
		/* The key is only a report: it must not change the hash. */
		if (h1 != rf_flow_hash((enum rf_mode)m, pkt, &d, 1, NULL))
			abort();
		if (rf_flow_classify(flows[m], &p, &d, &h2, (m & 1) ? &key : NULL) ==
			    RF_FLOW_HASH &&
		    rf_queue_pick(h2, 5) >= 5)
			abort();
		drain(flows[m]);
	}
}

/*
 * The balancer decodes with rf_mode_decode_flags() (outer headers only for
 * ip and 5tuple), explain decodes everything: both must give the same hash.
 */
static void check_decode_flags(const uint8_t *pkt, uint32_t len, int linktype)
{
	struct rf_decoded full, outer;

	rf_decode(pkt, len, linktype, 0, &full);
	for (int m = 0; m < RF_MODE__MAX; m++) {
		unsigned int fl = rf_mode_decode_flags((enum rf_mode)m);

		rf_decode(pkt, len, linktype, fl, &outer);
		if (rf_flow_hash((enum rf_mode)m, pkt, &full, 1, NULL) !=
		    rf_flow_hash((enum rf_mode)m, pkt, &outer, 1, NULL))
			abort();
	}
}

static uint8_t strip_buf[RF_STRIP_BUF];

/*
 * Every strip gives a frame inside the packet or the buffer, no longer than
 * the packet, its wire length shrunk as much as its bytes at most; the
 * signature does not depend on how far decoding went.
 */
static void strip_all(const uint8_t *pkt, uint32_t len, int linktype)
{
	struct rf_frame in = {pkt, len, len + 100}, out;
	struct rf_decoded d, outer;
	unsigned int s;

	rf_decode(pkt, len, linktype, 0, &d);
	rf_decode(pkt, len, linktype, RF_DECODE_OUTER, &outer);
	if (rf_dedup_signature(pkt, len, &d) != rf_dedup_signature(pkt, len, &outer))
		abort();
	for (s = 1; s <= RF_STRIP_ALL; s++) {
		bool done = rf_strip(&in, &d, s, strip_buf, &out);
		bool inside = out.data >= pkt && out.data + out.caplen <= pkt + len;
		bool in_buf =
			out.data >= strip_buf && out.data + out.caplen <= strip_buf + RF_STRIP_BUF;

		if ((!inside && !in_buf) || out.caplen > len || out.wirelen < out.caplen ||
		    out.wirelen > in.wirelen || (!done && (out.data != pkt || out.caplen != len)) ||
		    (!rf_strip_needed(&d, s) && done))
			abort();
		if (out.caplen)
			(void)*(volatile const uint8_t *)(out.data + out.caplen - 1);
	}
}

/* The pcap source and libpcap read the capture file in data alike. */
static void read_file(const uint8_t *data, size_t size)
{
	char path[64], err[PCAP_ERRBUF_SIZE];
	struct rf_source_opts o = {.loops = 1};
	struct rf_packet pkts[16];
	struct rf_source *src = NULL;
	struct pcap_pkthdr *h;
	const u_char *bytes;
	pcap_t *pc;
	uint32_t snap, caplen;
	int fd, n, i;

	fd = memfd_create("fuzz.pcap", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	if (rf_source_pcap_open(path, &o, &src) < 0) {
		if (pc) /* libpcap took the file: so must the source */
			abort();
		close(fd);
		return;
	}
	if (!pc)
		abort();
	snap = pcap_snapshot(pc) <= 0 || pcap_snapshot(pc) > 256 << 10
		       ? 256u << 10
		       : (uint32_t)pcap_snapshot(pc);
	while ((n = src->ops->next_burst(src, pkts, 16)) >= 0) {
		for (i = 0; i < n; i++) {
			if (pcap_next_ex(pc, &h, &bytes) != 1)
				abort();
			caplen = h->caplen < snap ? h->caplen : snap;
			if (pkts[i].caplen != caplen ||
			    pkts[i].wirelen != (h->len < caplen ? caplen : h->len) ||
			    pkts[i].ts_ns != (uint64_t)h->ts.tv_sec * 1000000000ull +
						     (uint64_t)h->ts.tv_usec ||
			    memcmp(pkts[i].data, bytes, caplen))
				abort();
		}
		src->ops->release(src);
	}
	/* The source stops where libpcap finds the end or an error. */
	if (pcap_next_ex(pc, &h, &bytes) == 1)
		abort();
	pcap_close(pc);
	rf_source_close(src);
	close(fd);
}

/*
 * The source reads a plain pcap file 256 KiB at a time (source_pcap.c,
 * READ_CHUNK): inputs are smaller. The capture's records repeated behind
 * its file header until the file is longer than two reads and a largest
 * record: reads then end inside record headers and packets at every phase
 * the input gives, and a record header of the input may announce a packet
 * longer than a read. Whatever the bytes, both readers must still agree.
 */
#define FILE_HDR  24
#define LONG_FILE (2 * (256u << 10) + (256u << 10) + 64)
static uint8_t long_file[LONG_FILE + 65536];

static void read_long_file(const uint8_t *data, size_t size)
{
	size_t len = FILE_HDR;

	if (size <= FILE_HDR)
		return;
	memcpy(long_file, data, FILE_HDR);
	while (len < LONG_FILE) {
		memcpy(long_file + len, data + FILE_HDR, size - FILE_HDR);
		len += size - FILE_HDR;
	}
	read_file(long_file, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t magics[] = {0xa1b2c3d4u, 0xa1b23c4du};
	uint32_t magic;
	int linktype;
	uint8_t *pkt;

	if (!flows[0])
		init_flows();
	if (size < 1 || size > 65536)
		return 0;
	if (size >= 4) {
		memcpy(&magic, data, 4);
		if (magic == magics[0] || magic == magics[1]) {
			read_file(data, size);
			read_long_file(data, size);
			return 0;
		}
	}
	linktype = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	/* An exact-size heap copy, so that any read past the end is caught. */
	pkt = malloc(size - 1 ? size - 1 : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 1, size - 1);
	clock_ns += 3;
	hash_all(pkt, (uint32_t)(size - 1), linktype, 0);
	hash_all(pkt, (uint32_t)(size - 1), linktype, RF_DECODE_OUTER);
	check_decode_flags(pkt, (uint32_t)(size - 1), linktype);
	strip_all(pkt, (uint32_t)(size - 1), linktype);
	if ((clock_ns & 0xff) == 0) {
		for (int m = 0; m < RF_MODE__MAX; m++) {
			rf_flow_expire(flows[m], clock_ns);
			drain(flows[m]);
		}
	}
	free(pkt);
	return 0;
}
