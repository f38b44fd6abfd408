/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers shared by the ringfan program's parts: messages, number parsing, time. */
#ifndef RINGFAN_UTIL_H
#define RINGFAN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x)     __builtin_expect(!!(x), 1)
#define unlikely(x)   __builtin_expect(!!(x), 0)

/* Exit codes of every subcommand: usage errors are 2, runtime errors 1. */
enum { RF_EXIT_OK = 0, RF_EXIT_RUNTIME = 1, RF_EXIT_USAGE = 2 };

/* "ringfan: <message>\n" on stderr (the program logs; the library never does). */
void rf_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, prefixed with "warning: ". */
void rf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Strict number parsers: the whole string must be a decimal number in
 * [min, max] (suffixes k/M/G = 1024 powers accepted by rf_parse_size only).
 * Decimal only: no sign, no space, no leading zero ("031", "0x1f" and
 * "0755" are -EINVAL, "0" and "0.5" are fine), never octal or hex.
 * Return 0 or -EINVAL / -ERANGE; *ret written only on success.
 */
int rf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int rf_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int rf_parse_double(const char *s, double min, double max, double *ret);

/* Monotonic and real-time clocks in nanoseconds. */
uint64_t rf_now_mono_ns(void);
uint64_t rf_now_real_ns(void);

/* One option of a subcommand's table: drives getopt_long and --help. */
struct opt_desc {
	int id;		  /* short letter (< 256) or a value >= 256 for long-only options */
	const char *name; /* long name */
	const char *arg;  /* argument name; NULL: a flag */
	const char *help;
};

/* Print "  -x, --name ARG   help" lines for n options, the left column width wide. */
void rf_print_opts(FILE *f, const struct opt_desc *opts, size_t n, int width);

/*
 * Parse a subcommand's argv (argv[0] is its name) with its option table:
 * apply(arg, id, value) for each option (value NULL for flags; it prints
 * its own error and returns non-zero for a bad value), usage(stdout) for
 * 'h'. Positional arguments are refused. Returns 0, -1 when the help was
 * printed (exit 0), or RF_EXIT_USAGE with the error printed.
 */
int rf_opts_parse(const struct opt_desc *opts, size_t n, int argc, char **argv,
		  int (*apply)(void *arg, int id, const char *value), void *arg,
		  void (*usage)(FILE *f));

/* Format v with thousands separators ("1,234,567") into buf; returns buf. */
char *rf_fmt_thousands(uint64_t v, char *buf, size_t len);

#endif
