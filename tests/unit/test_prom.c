/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prometheus text of stats snapshots: values and labels of known samples,
 * label escaping, a gone balancer, and the format's rules (each metric's
 * samples together under one HELP and TYPE, counters named *_total).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "prom.h"
#include "stats.h"

#define NOW_NS 1700000010000000000ull

static struct rf_stats_snap *sample(uint64_t cluster)
{
	struct rf_stats_snap *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->seq = 3;
	s->cluster = cluster;
	s->pid = 4321;
	strcpy(s->state, "running");
	strcpy(s->mode, "5tuple");
	s->started_ns = 1700000000500000000ull;
	s->updated_ns = NOW_NS - 200000000ull;
	s->n_sources = 2;
	strcpy(s->sources[0].name, "afpacket:eth1");
	strcpy(s->sources[1].name, "pcap:/tmp/a \"b\\c\n.pcap");
	s->sources[0].received = 100;
	s->sources[0].kernel_drops = 7;
	s->sources[1].received = 50;
	s->n_groups = 2;
	s->groups[0] = (struct rf_stats_group){.first_queue = 0, .queues = 2, .received = 150};
	s->groups[1] = (struct rf_stats_group){.first_queue = 2, .queues = 1, .received = 150};
	s->n_queues = 3;
	s->queues[0] = (struct rf_stats_queue){.group = 0,
					       .enqueued = 90,
					       .consumer_pid = 555,
					       .consumer_read = 80,
					       .backlog_packets = 10,
					       .backlog_bytes = 256 << 10,
					       .ring_size = 1 << 20,
					       .consumer_seen_ns = s->updated_ns};
	s->queues[1] = (struct rf_stats_queue){.group = 0,
					       .enqueued = 55,
					       .dropped_full = 5,
					       .ring_size = 1 << 20,
					       .backlog_bytes = 2 << 20, /* more than the ring: 1 */
					       .consumer_seen_ns = NOW_NS - 3000000000ull};
	s->queues[2] =
		(struct rf_stats_queue){.group = 1,
					.enqueued = 140, /* the 10 its egress failed are drops */
					.dropped_egress = 10,
					.egress_sent = 140,
					.egress_failed = 10,
					.ring_size = 1 << 20};
	strcpy(s->queues[2].egress, "veth1");
	s->decode[RF_DEC_TRUNCATED] = 4;
	s->frag.held_now = 2;
	rf_stats_sum(s);
	return s;
}

/* The metrics of n clusters as text (free it). */
static char *write_text(const struct rf_prom_cluster *c, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(rf_prom_write(f, c, n, NOW_NS), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t l = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[l] == '\n')
			return;
		p += l;
	}
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void test_values(void **state)
{
	struct rf_stats_snap *s = sample(99);
	struct rf_prom_cluster c = {.snap = s, .up = true};
	char *t = write_text(&c, 1);

	has_line(t, "# TYPE ringfan_balancer_up gauge");
	has_line(t, "ringfan_balancer_up{cluster=\"99\"} 1");
	has_line(t, "ringfan_balancer_info{cluster=\"99\",mode=\"5tuple\",state=\"running\"} 1");
	has_line(t, "ringfan_balancer_pid{cluster=\"99\"} 4321");
	has_line(t, "ringfan_balancer_start_time_seconds{cluster=\"99\"} 1700000000.5");
	has_line(t, "ringfan_source_kernel_dropped_packets_total{cluster=\"99\",source=\"afpacket:"
		    "eth1\"} 7");
	/* Backslash, double quote and newline are escaped in label values. */
	has_line(t, "ringfan_source_received_packets_total{cluster=\"99\",source=\"pcap:/tmp/a "
		    "\\\"b\\\\c\\n.pcap\"} 50");
	has_line(t, "ringfan_group_received_packets_total{cluster=\"99\",group=\"1\"} 150");
	has_line(t, "ringfan_queue_enqueued_packets_total{cluster=\"99\",queue=\"1\",group=\"0\"} "
		    "55");
	has_line(t, "ringfan_queue_dropped_packets_total{cluster=\"99\",queue=\"1\",group=\"0\","
		    "reason=\"full\"} 5");
	has_line(t, "ringfan_queue_dropped_packets_total{cluster=\"99\",queue=\"2\",group=\"1\","
		    "reason=\"egress_failed\"} 10");
	has_line(t, "ringfan_queue_backlog_packets{cluster=\"99\",queue=\"0\",group=\"0\"} 10");
	has_line(t, "ringfan_queue_ring_fill_ratio{cluster=\"99\",queue=\"0\",group=\"0\"} 0.25");
	has_line(t, "ringfan_queue_ring_fill_ratio{cluster=\"99\",queue=\"1\",group=\"0\"} 1");
	has_line(t, "ringfan_queue_consumer_attached{cluster=\"99\",queue=\"0\",group=\"0\"} 1");
	has_line(t, "ringfan_queue_consumer_attached{cluster=\"99\",queue=\"1\",group=\"0\"} 0");
	has_line(t,
		 "ringfan_queue_consumer_gone_seconds{cluster=\"99\",queue=\"0\",group=\"0\"} 0");
	has_line(t,
		 "ringfan_queue_consumer_gone_seconds{cluster=\"99\",queue=\"1\",group=\"0\"} 3");
	/* Never seen: gone since the balancer started, 9.5 s before now. */
	has_line(t, "ringfan_queue_consumer_gone_seconds{cluster=\"99\",queue=\"2\",group=\"1\"} "
		    "9.5");
	has_line(t,
		 "ringfan_egress_sent_packets_total{cluster=\"99\",queue=\"2\",egress=\"veth1\"} "
		 "140");
	has_line(t, "ringfan_decode_packets_total{cluster=\"99\",reason=\"truncated\"} 4");
	has_line(t, "ringfan_fragments_held{cluster=\"99\"} 2");
	/* Only queues with an egress have egress samples. */
	assert_null(strstr(t, "ringfan_egress_sent_packets_total{cluster=\"99\",queue=\"0\""));
	free(t);
	free(s);
}

/* Sample name: up to '{' or ' '. */
static size_t name_len(const char *line)
{
	return strcspn(line, "{ ");
}

/*
 * Every sample belongs to the family whose HELP and TYPE came last, no
 * family is announced twice, and counters end in _total. Returns the
 * number of families.
 */
static int check_structure(char *text)
{
	char family[128] = "", seen[64][128], *line, *save = NULL;
	int n = 0, i;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7)) {
			snprintf(family, sizeof(family), "%.*s", (int)name_len(line + 7), line + 7);
			for (i = 0; i < n; i++)
				assert_string_not_equal(seen[i], family);
			assert_true(n < 64);
			strcpy(seen[n++], family);
		} else if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(strncmp(line + 7, family, strlen(family)), 0);
			if (strstr(line, " counter"))
				assert_non_null(strstr(family, "_total"));
		} else {
			assert_int_equal(name_len(line), strlen(family));
			assert_int_equal(strncmp(line, family, strlen(family)), 0);
		}
	}
	return n;
}

static void test_two_clusters_one_down(void **state)
{
	struct rf_stats_snap *a = sample(99), *b = sample(7);
	struct rf_prom_cluster c[2] = {{.snap = a, .up = true}, {.snap = b, .up = false}};
	char *t = write_text(c, 2);
	const char *up99, *up7, *next;

	has_line(t, "ringfan_balancer_up{cluster=\"7\"} 0");
	/* A gone balancer's consumer is not reported attached; it is gone since the last update. */
	has_line(t, "ringfan_queue_consumer_attached{cluster=\"7\",queue=\"0\",group=\"0\"} 0");
	has_line(t, "ringfan_queue_consumer_gone_seconds{cluster=\"7\",queue=\"0\",group=\"0\"} "
		    "0.2");
	/* Its counters are still there. */
	has_line(t, "ringfan_queue_enqueued_packets_total{cluster=\"7\",queue=\"2\",group=\"1\"} "
		    "140");
	/* Both clusters' samples of a metric come together. */
	up99 = strstr(t, "ringfan_balancer_up{cluster=\"99\"}");
	up7 = strstr(t, "ringfan_balancer_up{cluster=\"7\"}");
	next = strstr(t, "# HELP ringfan_balancer_info");
	assert_true(up99 && up7 && next && up99 < up7 && up7 < next);
	assert_true(check_structure(t) >= 25);
	free(t);
	free(a);
	free(b);
}

static void test_no_clusters(void **state)
{
	char *t = write_text(NULL, 0);

	/* Only HELP and TYPE lines: the metrics are described even before a cluster exists. */
	has_line(t, "# TYPE ringfan_queue_enqueued_packets_total counter");
	assert_null(strstr(t, "{"));
	assert_true(check_structure(t) >= 25);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_two_clusters_one_down),
		cmocka_unit_test(test_no_clusters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
