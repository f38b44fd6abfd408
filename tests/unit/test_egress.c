/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Egress to a pcap file, with the queue's producer in the same process:
 * what goes into the queue comes out in the file, byte for byte, with its
 * lengths and nanosecond timestamps; start-up errors name the problem.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include <ringfan/ringfan.h>

#include "egress.h"

#define N_PKTS	 3000
#define MAX_SNAP 1600

struct fixture {
	char dir[64];
	char file[128];
	struct rf_producer *p;
};

/* Deterministic packet i: varied lengths, some truncated, ns timestamps. */
static void make_packet(unsigned int i, uint8_t *buf, struct rf_packet *pkt)
{
	uint32_t len = 14 + (i * 7919u) % (MAX_SNAP - 14), j;

	for (j = 0; j < len; j++)
		buf[j] = (uint8_t)(i * 31u + j * 7u);
	memset(pkt, 0, sizeof(*pkt));
	pkt->data = buf;
	pkt->caplen = len;
	pkt->wirelen = len + (i % 5 == 0 ? 100 : 0);
	pkt->ts_ns = 1700000000ULL * 1000000000ULL + (uint64_t)i * 1234567ULL + i % 1000;
}

static int setup(void **state)
{
	struct rf_producer_opts po = {.sz = sizeof(po), .ring_size = 1 << 20};
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rf-egress-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/out.pcap", f->dir);
	po.dir = f->dir;
	po.owner = (uid_t)-1;
	po.group = (gid_t)-1;
	assert_int_equal(rf_producer_create("7@0", &po, &f->p), 0);
	*state = f;
	return 0;
}

/* A new generation of the fixture's queue, carrying link type dlt. */
static void set_queue_linktype(struct fixture *f, int dlt)
{
	struct rf_producer_opts po = {.sz = sizeof(po),
				      .ring_size = 1 << 20,
				      .dir = f->dir,
				      .owner = (uid_t)-1,
				      .group = (gid_t)-1,
				      .flags = RF_PRODUCER_LINKTYPE,
				      .linktype = dlt};

	rf_producer_destroy(f->p);
	assert_int_equal(rf_producer_create("7@0", &po, &f->p), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	rf_producer_destroy(f->p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* Lossless feed: wait for the egress to make room, as a file replay does. */
static void feed(struct fixture *f)
{
	static uint8_t buf[MAX_SNAP];
	struct rf_packet pkt;
	unsigned int i;

	for (i = 0; i < N_PKTS; i++) {
		make_packet(i, buf, &pkt);
		if (rf_producer_wait_space(f->p, pkt.caplen, 0)) {
			rf_producer_publish(f->p);
			assert_int_equal(rf_producer_wait_space(f->p, pkt.caplen, 10000), 0);
		}
		assert_int_equal(rf_producer_enqueue(f->p, &pkt), 0);
		if (i % 64 == 63)
			rf_producer_publish(f->p);
	}
	rf_producer_finish(f->p);
}

static void check_file(const char *path)
{
	static uint8_t want[MAX_SNAP];
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct rf_packet pkt;
	unsigned int i = 0;
	pcap_t *pc;

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		assert_true(i < N_PKTS);
		make_packet(i, want, &pkt);
		assert_int_equal(h->caplen, pkt.caplen);
		assert_int_equal(h->len, pkt.wirelen);
		assert_int_equal((uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec,
				 pkt.ts_ns);
		assert_memory_equal(data, want, pkt.caplen);
		i++;
	}
	assert_int_equal(i, N_PKTS);
	pcap_close(pc);
}

static void test_pcap_roundtrip(void **state)
{
	struct fixture *f = *state;
	char target[160];
	struct rf_egress_opts eo = {.queue = "7@0", .target = target, .dir = f->dir};
	struct rf_egress *e;

	snprintf(target, sizeof(target), "pcap:%s", f->file);
	assert_int_equal(rf_egress_start(&eo, &e), 0);
	assert_string_equal(rf_egress_target(e), target);
	feed(f);
	assert_int_equal(rf_egress_stop(e, 1), 0);
	check_file(f->file);
}

/* The file's link type is the queue's: libpcap's LINKTYPE_* for its DLT_*. */
static void test_pcap_linktype(void **state)
{
	static const int dlts[] = {DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_PPP, DLT_NULL};
	struct fixture *f = *state;
	char target[160], errbuf[PCAP_ERRBUF_SIZE];
	struct rf_egress_opts eo = {.queue = "7@0", .target = target, .dir = f->dir};
	struct rf_egress *e;
	unsigned char hdr[24];
	uint32_t linktype;
	unsigned int i;
	pcap_t *pc;
	FILE *fp;

	snprintf(target, sizeof(target), "pcap:%s", f->file);
	for (i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
		set_queue_linktype(f, dlts[i]);
		assert_int_equal(rf_egress_start(&eo, &e), 0);
		assert_int_equal(rf_egress_stop(e, 0), 0);
		pc = pcap_open_offline(f->file, errbuf);
		assert_non_null(pc);
		assert_int_equal(pcap_datalink(pc), dlts[i]);
		pcap_close(pc);
		fp = fopen(f->file, "rb");
		assert_non_null(fp);
		assert_int_equal(fread(hdr, 1, sizeof(hdr), fp), sizeof(hdr));
		fclose(fp);
		memcpy(&linktype, hdr + 20, 4);
		/* DLT_RAW is 12 in programs but 101 in files. */
		assert_int_equal(linktype, dlts[i] == DLT_RAW ? 101 : (uint32_t)dlts[i]);
	}
}

static void test_stats_counts(void **state)
{
	struct fixture *f = *state;
	char target[160];
	struct rf_egress_opts eo = {.queue = "7@0", .target = target, .dir = f->dir};
	struct rf_egress_stats st;
	struct rf_egress *e;
	uint64_t bytes = 0;
	static uint8_t buf[MAX_SNAP];
	struct rf_packet pkt;
	unsigned int i;

	snprintf(target, sizeof(target), "pcap:%s", f->file);
	assert_int_equal(rf_egress_start(&eo, &e), 0);
	for (i = 0; i < N_PKTS; i++) {
		make_packet(i, buf, &pkt);
		bytes += pkt.caplen;
	}
	feed(f);
	/* Finish drains and keeps the counters readable until stop frees them. */
	assert_int_equal(rf_egress_finish(e, 1), 0);
	rf_egress_stats(e, &st);
	assert_int_equal(st.sent, N_PKTS);
	assert_int_equal(st.sent_bytes, bytes);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.last_error, 0);
	assert_int_equal(rf_egress_finish(e, 1), 0);
	assert_int_equal(rf_egress_stop(e, 1), 0);
	check_file(f->file);
}

static void test_stop_idle(void **state)
{
	struct fixture *f = *state;
	char target[160];
	struct rf_egress_opts eo = {.queue = "7@0", .target = target, .dir = f->dir};
	struct rf_egress *e;

	snprintf(target, sizeof(target), "pcap:%s", f->file);
	assert_int_equal(rf_egress_start(&eo, &e), 0);
	assert_int_equal(rf_egress_stop(e, 0), 0);
	assert_int_equal(rf_egress_stop(NULL, 1), 0);
}

static void test_start_errors(void **state)
{
	struct fixture *f = *state;
	char target[160];
	struct rf_egress_opts eo = {.queue = "7@0", .target = target, .dir = f->dir};
	struct rf_egress *e = NULL;

	snprintf(target, sizeof(target), "no-such-iface0");
	assert_int_equal(rf_egress_start(&eo, &e), -ENODEV);
	snprintf(target, sizeof(target), "afpacket:no-such-iface0");
	assert_int_equal(rf_egress_start(&eo, &e), -ENODEV);
	snprintf(target, sizeof(target), "afpacket:a-name-longer-than-ifnamsiz");
	assert_int_equal(rf_egress_start(&eo, &e), -ENODEV);
	snprintf(target, sizeof(target), "pcap:%s/no/such/dir/x.pcap", f->dir);
	assert_int_equal(rf_egress_start(&eo, &e), -ENOENT);
	snprintf(target, sizeof(target), "pcap:");
	assert_int_equal(rf_egress_start(&eo, &e), -EINVAL);
	/* A full disk at start is reported, not discovered later. */
	snprintf(target, sizeof(target), "pcap:/dev/full");
	assert_int_equal(rf_egress_start(&eo, &e), -ENOSPC);
	/* Only Ethernet frames go out on an interface; pcap files hold what libpcap knows. */
	set_queue_linktype(f, DLT_RAW);
	snprintf(target, sizeof(target), "lo");
	assert_int_equal(rf_egress_start(&eo, &e), -EPROTOTYPE);
	set_queue_linktype(f, 0x7ffe);
	snprintf(target, sizeof(target), "pcap:%s", f->file);
	assert_int_equal(rf_egress_start(&eo, &e), -EPROTONOSUPPORT);
	set_queue_linktype(f, DLT_EN10MB);
	/* The queue must exist. */
	eo.queue = "7@1";
	snprintf(target, sizeof(target), "pcap:%s", f->file);
	assert_int_equal(rf_egress_start(&eo, &e), -ENOENT);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcap_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_linktype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
