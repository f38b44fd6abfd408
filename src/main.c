/* SPDX-License-Identifier: BSD-2-Clause */
/* ringfan: thin dispatcher to the subcommands. */
#include <stdio.h>
#include <string.h>

#include <ringfan/ringfan.h>

#include "cli.h"
#include "util.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"balance", cmd_balance, "split traffic from sources over shared-memory queues"},
	{"count", cmd_count, "count packets on an interface or a queue (pfcount)"},
	{"stats", cmd_stats, "print a running cluster's counters"},
	{"explain", cmd_explain, "show each packet's decoded key, hash and queue"},
	{"gen", cmd_gen, "write a synthetic capture"},
	{"clean", cmd_clean, "remove the files of stopped clusters"},
	{"exporter", cmd_exporter, "serve every cluster's counters as Prometheus metrics"},
	{"top", cmd_top, "live full-screen view of a cluster's queues"},
	{"health", cmd_health, "check a cluster for monitoring (exit 0 OK, 1 warning, 2 critical)"},
	{"run", cmd_run, "run a libpcap program that reads queues as devices ringfan:C@Q"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: ringfan COMMAND [OPTIONS]...\n\n"
		   "Flow-aware, crash-isolated traffic balancer.\n\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'ringfan COMMAND --help' for a command's options; see ringfan(1).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return RF_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RF_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("ringfan %s\n", rf_version());
		return RF_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	rf_err("unknown command '%s' (try 'ringfan --help')", argv[1]);
	return RF_EXIT_USAGE;
}
