/* SPDX-License-Identifier: BSD-2-Clause */
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((format(printf, 2, 0))) static void vmsg(const char *prefix, const char *fmt,
						       va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "ringfan: %s%s\n", prefix, buf);
}

void rf_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void rf_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

/*
 * A number starts with a digit (a fraction may start with "."), and with 0
 * only when it is 0 or "0.": "031" is not read as octal 25 nor "0x1f" as 31,
 * both are refused, so that every number means what it says in decimal.
 */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool decimal_start(const char *s, bool fraction)
{
	if (!s)
		return false;
	if (fraction && s[0] == '.')
		return is_digit(s[1]);
	if (!is_digit(s[0]))
		return false;
	return s[0] != '0' || s[1] == '\0' || (fraction && s[1] == '.');
}

int rf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!decimal_start(s, false))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int rf_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!decimal_start(s, false))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int rf_parse_double(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	if (!decimal_start(s, true))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || isnan(v))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t rf_now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t rf_now_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

char *rf_fmt_thousands(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	size_t n, i, o = 0;

	n = (size_t)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	for (i = 0; i < n && o + 1 < len; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

void rf_print_opts(FILE *f, const struct opt_desc *opts, size_t n, int width)
{
	const char *sp, *arg;
	char left[64];
	size_t i;

	for (i = 0; i < n; i++) {
		sp = opts[i].arg ? " " : "";
		arg = opts[i].arg ? opts[i].arg : "";
		if (opts[i].id < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", opts[i].id, opts[i].name, sp,
				 arg);
		else
			snprintf(left, sizeof(left), "    --%s%s%s", opts[i].name, sp, arg);
		fprintf(f, "  %-*s %s\n", width, left, opts[i].help);
	}
}

/* getopt_long's tables: lo has n + 1 entries, shorts 2 + 2 * n bytes (':' first). */
static void opts_getopt(const struct opt_desc *opts, size_t n, struct option *lo, char *shorts)
{
	size_t i, k = 0;

	shorts[k++] = ':';
	for (i = 0; i < n; i++) {
		lo[i] = (struct option){opts[i].name, opts[i].arg ? required_argument : no_argument,
					NULL, opts[i].id};
		if (opts[i].id >= 256)
			continue;
		shorts[k++] = (char)opts[i].id;
		if (opts[i].arg)
			shorts[k++] = ':';
	}
	shorts[k] = 0;
	memset(&lo[n], 0, sizeof(lo[n]));
}

int rf_opts_parse(const struct opt_desc *opts, size_t n, int argc, char **argv,
		  int (*apply)(void *arg, int id, const char *value), void *arg,
		  void (*usage)(FILE *f))
{
	struct option *lo = calloc(n + 1, sizeof(*lo));
	char *shorts = malloc(2 + 2 * n);
	int c, r = 0;

	if (!lo || !shorts) {
		rf_err("out of memory");
		r = RF_EXIT_USAGE;
		goto out;
	}
	opts_getopt(opts, n, lo, shorts);
	opterr = 0;
	optind = 0; /* 0, not 1: a full reset of glibc getopt's state */
	while (!r && (c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			r = -1;
		} else if (c == '?' || c == ':') {
			rf_err("%s option '%s' (try 'ringfan %s --help')",
			       c == ':' ? "missing value for" : "unknown", argv[optind - 1],
			       argv[0]);
			r = RF_EXIT_USAGE;
		} else if (apply(arg, c, optarg)) {
			r = RF_EXIT_USAGE;
		}
	}
	if (!r && optind < argc) {
		rf_err("unexpected argument '%s' (try 'ringfan %s --help')", argv[optind], argv[0]);
		r = RF_EXIT_USAGE;
	}
out:
	free(lo);
	free(shorts);
	return r;
}
