/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Source specs: "afxdp:IFACE[@QUEUE|@all]", the interface of every kind of
 * interface spec, and the balancer's checks on them (one source per
 * interface, -X and --xdp-mode).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "afxdp.h"
#include "config.h"
#include "source.h"
#include "util.h"

static void test_parse_afxdp(void **state)
{
	char ifname[16];
	int q = 7;

	assert_int_equal(rf_source_parse_afxdp("eth1", ifname, &q), 0);
	assert_string_equal(ifname, "eth1");
	assert_int_equal(q, RF_XDP_ALL_QUEUES);
	assert_int_equal(rf_source_parse_afxdp("eth1@all", ifname, &q), 0);
	assert_int_equal(q, RF_XDP_ALL_QUEUES);
	assert_int_equal(rf_source_parse_afxdp("eth1@3", ifname, &q), 0);
	assert_string_equal(ifname, "eth1");
	assert_int_equal(q, 3);
	/* The last '@' separates the queue: an interface name may hold one. */
	assert_int_equal(rf_source_parse_afxdp("a@b@0", ifname, &q), 0);
	assert_string_equal(ifname, "a@b");
	assert_int_equal(q, 0);
	assert_int_equal(rf_source_parse_afxdp("eth1@65535", NULL, &q), 0);
	assert_int_equal(q, 65535);
	/* Written only on success. */
	q = 9;
	assert_int_equal(rf_source_parse_afxdp("eth1@", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("eth1@x", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("eth1@-1", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("eth1@01", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("eth1@65536", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("@0", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("", ifname, &q), -EINVAL);
	assert_int_equal(rf_source_parse_afxdp("a-name-of-16-chr@0", ifname, &q), -EINVAL);
	assert_int_equal(q, 9);
}

static void test_source_iface(void **state)
{
	char buf[64];

	assert_string_equal(rf_source_iface("eth1", buf, sizeof(buf)), "eth1");
	assert_string_equal(rf_source_iface("afpacket:eth1", buf, sizeof(buf)), "eth1");
	assert_string_equal(rf_source_iface("afxdp:eth1", buf, sizeof(buf)), "eth1");
	assert_string_equal(rf_source_iface("afxdp:eth1@2", buf, sizeof(buf)), "eth1");
	assert_null(rf_source_iface("pcap:x.pcap", buf, sizeof(buf)));
	assert_null(rf_source_iface("afxdp:eth1@q", buf, sizeof(buf)));
}

/* rf_config_parse_args + rf_config_validate on "balance ARGS...": 0 or the exit status. */
static int check_args(struct rf_config *cfg, const char *args)
{
	char buf[512], *argv[32], *tok, *rest = buf;
	int argc = 0, r;

	snprintf(buf, sizeof(buf), "balance %s", args);
	while ((tok = strsep(&rest, " ")) && argc < 31)
		argv[argc++] = tok;
	argv[argc] = NULL;
	rf_config_init(cfg);
	r = rf_config_parse_args(cfg, argc, argv);
	return r ? r : rf_config_validate(cfg);
}

static void test_config_checks(void **state)
{
	struct rf_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1@1,afxdp:eth2"), 0);
	assert_int_equal(cfg->n_sources, 2);
	assert_string_equal(cfg->sources[0], "afxdp:eth1@1");
	assert_int_equal(cfg->xdp_mode, RF_XDP_MODE_AUTO);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1 --xdp-mode skb"), 0);
	assert_int_equal(cfg->xdp_mode, RF_XDP_MODE_SKB);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1 --xdp-mode native"), 0);
	assert_int_equal(cfg->xdp_mode, RF_XDP_MODE_NATIVE);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1 --xdp-mode generic"),
			 RF_EXIT_USAGE);
	/* Malformed specs are usage errors, before anything opens. */
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:"), RF_EXIT_USAGE);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1@x"), RF_EXIT_USAGE);
	/* One source per interface, whatever the kind and queue. */
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1,afpacket:eth1"), RF_EXIT_USAGE);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1@0,afxdp:eth1@1"), RF_EXIT_USAGE);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i eth1 -i afpacket:eth1"), RF_EXIT_USAGE);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1,afpacket:eth2"), 0);
	/* XDP sees received frames only. */
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afxdp:eth1 -X"), RF_EXIT_USAGE);
	assert_int_equal(check_args(cfg, "-c 1 -n 2 -i afpacket:eth1 -X"), 0);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_afxdp),
		cmocka_unit_test(test_source_iface),
		cmocka_unit_test(test_config_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
