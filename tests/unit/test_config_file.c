/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The config file's line syntax: "key value", "key=value", "key = value",
 * comments; and the grammar of the shunt cut-offs.
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

#include "config.h"
#include "util.h"

/* Parse text as a config file into cfg; the parser's return value. */
static int parse_text(struct rf_config *cfg, const char *text)
{
	char path[] = "/tmp/rf-config-file.XXXXXX";
	int fd, r;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rf_config_init(cfg);
	r = rf_config_parse_file(cfg, path);
	unlink(path);
	return r;
}

static void test_key_value_forms(void **state)
{
	struct rf_config cfg;

	assert_int_equal(parse_text(&cfg, "interface eth1\n"
					  "interface=eth2\n"
					  "interface = pcap:a.pcap\n"
					  "--interface\t=\teth3\n"
					  "cluster= 7\n"
					  "queues =4,1\n"),
			 0);
	assert_int_equal(cfg.n_sources, 4);
	assert_string_equal(cfg.sources[0], "eth1");
	assert_string_equal(cfg.sources[1], "eth2");
	assert_string_equal(cfg.sources[2], "pcap:a.pcap");
	assert_string_equal(cfg.sources[3], "eth3");
	assert_int_equal(cfg.cluster, 7);
	assert_int_equal(cfg.n_groups, 2);
}

static void test_comments(void **state)
{
	struct rf_config cfg;

	assert_int_equal(parse_text(&cfg, "# a comment\n"
					  "   # an indented one\n"
					  "egress 4:veth-ids   # Suricata\n"
					  "egress = 1:pcap:x#1.pcap\t# '#' inside a value stays\n"
					  "print-stats # a flag, then a comment\n"
					  "cluster 9#\n"),
			 RF_EXIT_USAGE);
	assert_int_equal(cfg.n_egress, 2);
	assert_int_equal(cfg.egress[0].queue, 4);
	assert_string_equal(cfg.egress[0].target, "veth-ids");
	assert_int_equal(cfg.egress[1].queue, 1);
	assert_string_equal(cfg.egress[1].target, "pcap:x#1.pcap");
	assert_true(cfg.print_stats);
	assert_false(cfg.have_cluster); /* "9#" is not a number */
}

static void test_bad_lines(void **state)
{
	struct rf_config cfg;

	assert_int_equal(parse_text(&cfg, "interface =\n"), RF_EXIT_USAGE);
	assert_int_equal(parse_text(&cfg, "interface # nothing\n"), RF_EXIT_USAGE);
	assert_int_equal(parse_text(&cfg, "= eth1\n"), RF_EXIT_USAGE);
	assert_int_equal(parse_text(&cfg, "daemon = yes\n"), RF_EXIT_USAGE);
	assert_int_equal(parse_text(&cfg, "cluster = = 7\n"), RF_EXIT_USAGE);
}

/* --shunt-packets and --shunt-bytes: one cut-off, or one per protocol class. */
static void test_shunt_values(void **state)
{
	const int P = RF_RULE_SHUNT_PACKETS, B = RF_RULE_SHUNT_BYTES;
	uint64_t v[RF_FT_PROTOS];
	static const char *const bad[] = {
		"",
		"x",
		"-1",
		"4294967296",
		"tcp",
		"tcp=",
		"=5",
		"tcp=5,",
		",tcp=5",
		"tcp=5,,udp=1",
		"tcp=5,tcp=6",
		"icmp=5",
		"TCP=5",
		"tcp=5;udp=6",
		"tcp=99999999999999999999999",
		"5,udp=1",
	};
	struct rf_config cfg;
	struct rf_place_opts o;
	uint32_t w[RF_PLACE_BUCKETS];
	size_t i;

	assert_int_equal(rf_config_parse_shunt(P, "10", v), 0);
	assert_true(v[RF_FT_PROTO_TCP] == 10 && v[RF_FT_PROTO_UDP] == 10 &&
		    v[RF_FT_PROTO_OTHER] == 10);
	assert_int_equal(rf_config_parse_shunt(P, "udp=100,tcp=10", v), 0);
	assert_true(v[RF_FT_PROTO_TCP] == 10 && v[RF_FT_PROTO_UDP] == 100 &&
		    v[RF_FT_PROTO_OTHER] == 0);
	assert_int_equal(rf_config_parse_shunt(B, "other=64k,tcp=1M", v), 0);
	assert_true(v[RF_FT_PROTO_TCP] == 1 << 20 && v[RF_FT_PROTO_UDP] == 0 &&
		    v[RF_FT_PROTO_OTHER] == 64 << 10);
	assert_int_equal(rf_config_parse_shunt(P, "tcp=0", v), 0);
	assert_int_equal(rf_config_parse_shunt(P, "4294967295", v), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rf_config_parse_shunt(P, bad[i], v), -EINVAL);
	assert_int_equal(rf_config_parse_shunt(B, "tcp=1T", v), -EINVAL);

	/* per group, in a config file, to the group's table */
	assert_int_equal(parse_text(&cfg, "interface pcap:x.pcap\ncluster 1\nqueues 2,2\n"
					  "shunt-packets = B:tcp=10,udp=100\n"
					  "shunt-bytes A:udp=1k\n"),
			 0);
	assert_int_equal(rf_config_resolve_rules(&cfg), 0);
	assert_int_equal(cfg.rules[0].value, 100);
	rf_config_place_opts(&cfg, 0, w, &o);
	assert_true(o.table.shunt_packets[RF_FT_PROTO_TCP] == 0 &&
		    o.table.shunt_bytes[RF_FT_PROTO_UDP] == 1024 &&
		    o.table.shunt_bytes[RF_FT_PROTO_TCP] == 0);
	rf_config_place_opts(&cfg, 1, w, &o);
	assert_true(o.table.shunt_packets[RF_FT_PROTO_TCP] == 10 &&
		    o.table.shunt_packets[RF_FT_PROTO_UDP] == 100 &&
		    o.table.shunt_packets[RF_FT_PROTO_OTHER] == 0 && o.table.entries > 0);
	assert_int_equal(parse_text(&cfg, "shunt-packets 1-2:tcp=10\n"), RF_EXIT_USAGE);
	assert_int_equal(parse_text(&cfg, "shunt-packets tcp=10,udp\n"), RF_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_value_forms),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_shunt_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
