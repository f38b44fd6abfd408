/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ringfan run: start an unmodified libpcap program with libringfan-pcap
 * preloaded, so that it reads queues as devices "ringfan:CLUSTER@QUEUE"
 * (optionally the default device), in place and crash-isolated.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringfan/ringfan.h>

#include "../pcap/rfpcap-env.h"
#include "cli.h"
#include "util.h"

struct run {
	const char *queue;  /* -i: the default device, "C@Q" or "C@Q,C@R,..." */
	const char *wait_s; /* --wait: seconds, "-1" for ever; NULL: not given */
	bool verbose, guard;
};

enum { OPT_WAIT = 256, OPT_GUARD, OPT_WHERE };

static const struct opt_desc opts[] = {
	{'i', "interface", "SRC",
	 "the default device, a queue C@Q (ringfan:C@Q; C@Q,C@R merges queues; a program "
	 "run without its own -i "
	 "reads it)"},
	{OPT_WAIT, "wait", "SECS",
	 "a program's open waits for its queue to appear, for ever or SECS seconds", 0, true},
	{'v', "verbose", NULL,
	 "the program says \"producer gone\", \"end of the run\"... on stderr"},
	{OPT_GUARD, "guard-sigbus", NULL,
	 "survive another consumer truncating the queue's files (installs a SIGBUS handler)"},
	{OPT_WHERE, "print-library", NULL, "print the path of libringfan-pcap.so and exit"},
	{'h', "help", NULL, "this help"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringfan run [OPTIONS] -- PROGRAM [ARGS]...\n\n"
		   "Run a libpcap program (tcpdump, tshark, zeek, suricata, ...) so that it reads\n"
		   "ringfan queues as devices ringfan:CLUSTER@QUEUE, in place, without an\n"
		   "interface in between (LD_PRELOAD=" RFP_LIB_NAME ").\n\n");
	rf_print_opts(f, opts, ARRAY_SIZE(opts));
	fprintf(f, "\nExample: ringfan run -- tcpdump -i ringfan:99@0 -w worker0.pcap\n");
}

static bool print_where;

/*
 * The next queue name of a list "C@Q,C@R,..." (each may repeat the
 * "ringfan:" prefix) into buf: 1, 0 at the end, -EINVAL if too long.
 */
static int next_in_list(const char **list, char *buf, size_t len)
{
	const char *p = *list;
	size_t n;

	if (!*p)
		return 0;
	if (!strncmp(p, "ringfan:", 8))
		p += 8;
	n = strcspn(p, ",");
	*list = p[n] ? p + n + 1 : p + n;
	if (n >= len)
		return -EINVAL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

static int apply(void *arg, int id, const char *v)
{
	struct run *r = arg;
	const char *p;
	char one[64];
	uint32_t c, q;
	uint64_t secs;
	int e = 0;

	switch (id) {
	case 'i':
		if (!strncmp(v, "ringfan:", 8))
			v += 8;
		for (p = v; (e = next_in_list(&p, one, sizeof(one))) > 0;)
			if (rf_queue_name_parse(one, &c, &q) < 0)
				break;
		if (e != 0 || !*v || v[strlen(v) - 1] == ',') {
			rf_err("bad queue '%s' for -i (CLUSTER@QUEUE, e.g. 99@0; several joined by "
			       "commas merge: 99@0,99@1)",
			       v);
			return -EINVAL;
		}
		r->queue = v;
		return 0;
	case OPT_WAIT:
		if (v && rf_parse_u64(v, 0, INT_MAX / 1000, &secs)) {
			rf_err("bad value '%s' for --wait (whole seconds; --wait alone waits for "
			       "ever)",
			       v);
			return -EINVAL;
		}
		r->wait_s = v ? v : "-1";
		return 0;
	case 'v':
		r->verbose = true;
		return 0;
	case OPT_GUARD:
		r->guard = true;
		return 0;
	case OPT_WHERE:
		print_where = true;
		return 0;
	}
	return -EINVAL;
}

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * The interposer next to this program in a build tree (build/ringfan and
 * build/pcap/), else where meson installs it.
 */
static int find_library(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/pcap/%s", exe, RFP_LIB_NAME);
			if (readable(buf))
				return 0;
		}
	}
	snprintf(buf, len, "%s/%s", RINGFAN_LIBDIR, RFP_LIB_NAME);
	if (readable(buf))
		return 0;
	rf_err("cannot find %s (looked next to this program in pcap/ and in %s): is it installed?",
	       RFP_LIB_NAME, RINGFAN_LIBDIR);
	return -ENOENT;
}

/*
 * LD_PRELOAD with the interposer after what was there: libraries the user
 * preloads (a sanitizer's runtime must come first) keep their place.
 */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	int r;

	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	if (asprintf(&v, "%s:%s", old, lib) < 0)
		return -1;
	r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r;
}

/* The default queues must exist, unless the program is to wait for them. */
static int check_queue(const struct run *r)
{
	struct rf_queue_info qi;
	const char *p = r->queue;
	char one[64];
	int e = 0;

	if (!r->queue || r->wait_s)
		return 0;
	while (!e && next_in_list(&p, one, sizeof(one)) > 0)
		e = rf_queue_query(one, NULL, &qi, sizeof(qi));
	if (e == 0)
		return 0;
	if (e == -ENOENT)
		rf_err("no queue %s (is the balancer running? --wait waits for it)", one);
	else
		rf_err("cannot read queue %s: %s", one, strerror(-e));
	return e;
}

static int set_env(const struct run *r, const char *lib)
{
	char ms[32];
	long long secs;

	if (set_preload(lib) < 0)
		return -errno;
	if (r->queue && setenv(RFP_ENV_QUEUE, r->queue, 1) < 0)
		return -errno;
	if (r->wait_s) {
		secs = strtoll(r->wait_s, NULL, 10);
		snprintf(ms, sizeof(ms), "%lld", secs < 0 ? -1 : secs * 1000);
		if (setenv(RFP_ENV_WAIT, ms, 1) < 0)
			return -errno;
	}
	if (r->verbose && setenv(RFP_ENV_VERBOSE, "1", 1) < 0)
		return -errno;
	if (r->guard && setenv(RFP_ENV_GUARD, "1", 1) < 0)
		return -errno;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run r = {0};
	char lib[PATH_MAX + 64];
	int first, e;

	static const struct rf_opts run_opts = {opts, ARRAY_SIZE(opts), apply, usage, true};

	e = rf_opts_parse(&run_opts, argc, argv, &r, &first);
	if (e)
		return e < 0 ? RF_EXIT_OK : e;
	if (find_library(lib, sizeof(lib)) < 0)
		return RF_EXIT_RUNTIME;
	if (print_where) {
		printf("%s\n", lib);
		return RF_EXIT_OK;
	}
	if (first >= argc) {
		rf_err("missing '-- PROGRAM' (ringfan run [OPTIONS] -- PROGRAM [ARGS]...)");
		return RF_EXIT_USAGE;
	}
	if (check_queue(&r) < 0)
		return RF_EXIT_RUNTIME;
	e = set_env(&r, lib);
	if (e < 0) {
		rf_err("cannot set the environment: %s", strerror(-e));
		return RF_EXIT_RUNTIME;
	}
	execvp(argv[first], argv + first);
	e = errno;
	rf_err("cannot run '%s': %s", argv[first], strerror(e));
	return e == ENOENT ? 127 : 126;
}
