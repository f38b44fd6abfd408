/* SPDX-License-Identifier: BSD-2-Clause */
/* The config file's line syntax: "key value", "key=value", "key = value", comments. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_value_forms),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
