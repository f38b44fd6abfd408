/* SPDX-License-Identifier: BSD-2-Clause */
/* Stats file: format -> parse round trip, torn files rejected; balance config parsing. */
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

#include "config.h"
#include "flow.h"
#include "stats.h"
#include "util.h"

static struct rf_stats_snap *sample(void)
{
	struct rf_stats_snap *s = calloc(1, sizeof(*s));
	unsigned int i;

	assert_non_null(s);
	s->seq = 7;
	s->cluster = 99;
	s->pid = 1234;
	strcpy(s->state, "running");
	strcpy(s->mode, "5tuple");
	s->started_ns = 1700000000123456789ull;
	s->updated_ns = s->started_ns + 5000000000ull;
	s->n_sources = 2;
	strcpy(s->sources[0].name, "afpacket:eth1");
	strcpy(s->sources[1].name, "pcap:/tmp/a: b.pcap"); /* ": " inside a value */
	s->sources[0].received = 100;
	s->sources[1].received = 50;
	s->sources[0].kernel_drops = 3;
	strcpy(s->sources[0].state, "gone");
	strcpy(s->sources[1].state, "finished");
	s->n_groups = 2;
	s->groups[0] = (struct rf_stats_group){.first_queue = 0, .queues = 2, .received = 150};
	s->groups[1] = (struct rf_stats_group){.first_queue = 2, .queues = 1, .received = 150};
	s->n_queues = 3;
	for (i = 0; i < 3; i++) {
		s->queues[i].group = i < 2 ? 0 : 1;
		s->queues[i].consumer_pid = 4000 + i;
	}
	s->queues[0].enqueued = 90;
	s->queues[1].enqueued = 55;
	s->queues[1].dropped_full = 5;
	s->queues[2].enqueued = 149;
	s->queues[2].dropped_cursor = 1;
	strcpy(s->queues[2].egress, "veth1");
	s->queues[2].egress_sent = 149;
	s->queues[0].consumer_read = 80;
	s->queues[0].backlog_packets = 10; /* the balancer's, from the queue */
	s->queues[2].backlog_packets = 149;
	s->queues[1].enqueued = 53; /* its egress failed 2: they are drops */
	s->queues[1].dropped_egress = 2;
	s->queues[0].ring_size = 1 << 20;
	s->queues[0].generation = 0x1234567890abcdefull;
	s->queues[0].consumer_seen_ns = s->updated_ns;
	s->queues[1].consumer_read =
		60; /* more than enqueued: the consumer's word is not trusted */
	s->decode[RF_DEC_TRUNCATED] = 4;
	s->frag.held = 2;
	s->frag.released = 2;
	rf_stats_sum(s);
	return s;
}

static void test_sum(void **state)
{
	struct rf_stats_snap *s = sample();

	assert_int_equal(s->totals.received, 150);
	assert_int_equal(s->totals.kernel_drops, 3);
	assert_int_equal(s->groups[0].enqueued, 143);
	assert_int_equal(s->groups[0].dropped, 7);
	assert_int_equal(s->queues[1].dropped, 7); /* full and egress failed */
	assert_int_equal(s->groups[1].dropped, 1);
	assert_int_equal(s->groups[0].enqueued + s->groups[0].dropped, s->groups[0].received);
	assert_int_equal(s->totals.dropped, 8);
	free(s);
}

static void test_round_trip(void **state)
{
	struct rf_stats_snap *s = sample(), *r = calloc(1, sizeof(*r));
	char *buf = malloc(1 << 20);
	int len;

	assert_non_null(r);
	len = rf_stats_format(s, buf, 1 << 20);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "queue.1.dropped_full: 5\n"));
	assert_non_null(strstr(buf, "decode.truncated: 4\n"));
	assert_non_null(strstr(buf, "queue.0.backlog_packets: 10\n"));
	assert_non_null(strstr(buf, "queue.0.generation: 1311768467294899695\n"));
	assert_non_null(strstr(buf, "source.0.state: gone\n"));
	assert_non_null(strstr(buf, "source.1.name: pcap:/tmp/a: b.pcap\n"));
	assert_non_null(strstr(buf, "queue.0.egress: -\n"));
	assert_non_null(strstr(buf, "queue.2.egress: veth1\n"));
	assert_int_equal(rf_stats_parse(buf, r), 0);
	assert_memory_equal(s, r, sizeof(*s));
	free(s);
	free(r);
	free(buf);
}

static void test_torn_and_small(void **state)
{
	struct rf_stats_snap *s = sample(), *r = calloc(1, sizeof(*r));
	char *buf = malloc(1 << 20);
	int len;

	len = rf_stats_format(s, buf, 1 << 20);
	assert_true(len > 40);
	/* Cut in the middle: no end line. */
	buf[len / 2] = 0;
	buf[len / 2 - 1] = '\n';
	assert_int_equal(rf_stats_parse(buf, r), -EBADMSG);
	/* End line of another write. */
	rf_stats_format(s, buf, 1 << 20);
	memcpy(strstr(buf, "end: 7"), "end: 8", 6);
	assert_int_equal(rf_stats_parse(buf, r), -EBADMSG);
	/* Not a stats file at all. */
	strcpy(buf, "hello\n");
	assert_int_equal(rf_stats_parse(buf, r), -EBADMSG);
	/* A buffer too small says so instead of writing a cut file. */
	assert_int_equal(rf_stats_format(s, buf, 100), -ENOSPC);
	free(s);
	free(r);
	free(buf);
}

static int parse(struct rf_config *cfg, const char *line)
{
	char *argv[32], buf[512], *save = NULL, *t;
	int argc = 0;

	snprintf(buf, sizeof(buf), "balance %s", line);
	for (t = strtok_r(buf, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	rf_config_init(cfg);
	return rf_config_parse_args(cfg, argc, argv) ?: rf_config_validate(cfg);
}

static void test_config_args(void **state)
{
	struct rf_config *c = calloc(1, sizeof(*c));

	assert_int_equal(parse(c, "-i eth1,afpacket:eth2 -i pcap:x.pcap -c 99 -n 4,2 -m 2 "
				  "-r 5:veth0 --ring-size 1M --group 0"),
			 0);
	assert_int_equal(c->n_sources, 3);
	assert_string_equal(c->sources[1], "afpacket:eth2");
	assert_int_equal(c->cluster, 99);
	assert_int_equal(c->n_groups, 2);
	assert_int_equal(c->n_queues, 6);
	assert_int_equal(c->mode, RF_MODE_FANOUT); /* zbalance_ipc number 2 */
	assert_int_equal(c->egress[0].queue, 5);
	assert_string_equal(c->egress[0].target, "veth0");
	assert_int_equal(c->ring_size, 1 << 20);
	assert_int_equal(c->file_mode, 0640); /* --group without --mode lets the group read */
	assert_false(rf_config_live_replay(c));
	assert_int_equal(parse(c, "-i x -c 1 -n 2 -r 2:veth0"), RF_EXIT_USAGE);
	assert_int_equal(parse(c, "-i x -c 1 -n 2 --ring-size 3M"), RF_EXIT_USAGE);
	assert_int_equal(parse(c, "-i x -c 1 -n 2 --rate 10 --speed 2"), RF_EXIT_USAGE);
	assert_int_equal(parse(c, "-i pcap:x -c 1 -n 2 --loop 3"), 0);
	assert_true(rf_config_live_replay(c));
	free(c);
}

static void test_config_file(void **state)
{
	struct rf_config *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char path[] = "/tmp/rf-test-conf.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fprintf(f, "# comment\n\n  interface afpacket:eth1 \n--interface pcap:/a b.pcap\n"
		   "-c 7\nqueues 3\nhash-mode inner-5tuple\negress=0:veth9\nprint-stats\n");
	fclose(f);
	assert_int_equal(parse(a, "-i afpacket:eth1 -i pcap:/a_b.pcap -c 7 -n 3 -m inner-5tuple "
				  "-r 0:veth9 -p"),
			 0);
	strcpy(a->sources[1], "pcap:/a b.pcap"); /* spaces are fine in a file value */
	rf_config_init(b);
	assert_int_equal(rf_config_parse_file(b, path), 0);
	assert_int_equal(rf_config_validate(b), 0);
	assert_memory_equal(a, b, sizeof(*a));
	f = fopen(path, "w");
	fprintf(f, "cluster 1\n\nbogus-option 3\n");
	fclose(f);
	rf_config_init(b);
	assert_int_equal(rf_config_parse_file(b, path), RF_EXIT_USAGE);
	unlink(path);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_torn_and_small),
		cmocka_unit_test(test_config_args),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
