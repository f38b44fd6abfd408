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

/*
 * Name tables indexed by an enum ({[RF_X_A] = "a", ...}): the index of name
 * s (-EINVAL if none, or s NULL), and the name of index i ("?" if out of range).
 */
int rf_name_index(const char *const *names, size_t n, const char *s);
const char *rf_name_of(const char *const *names, size_t n, unsigned int i);

/* Monotonic and real-time clocks in nanoseconds. */
uint64_t rf_now_mono_ns(void);
uint64_t rf_now_real_ns(void);

/*
 * One option of a subcommand's table. The table is the option's one place:
 * getopt_long's long and short options, --help, the config file keys (the
 * balancer's) and --list-options all come from it. A new option is one row;
 * its name, letter and argument must mean in every subcommand what they mean
 * in the others (tests/system/cli_vocabulary.sh checks it).
 */
struct opt_desc {
	int id;		  /* short letter (< 256) or a value >= 256 for long-only options */
	const char *name; /* long name; NULL: a short letter only (an old spelling) */
	const char *arg;  /* argument name, the same for the same option everywhere; NULL: a flag */
	const char *help; /* NULL: left out of --help (an old spelling) */
	/*
	 * Nonzero: this row is an old spelling, kept for one release, of the
	 * option whose id this is: it warns, naming the new spelling, and then
	 * acts as that option.
	 */
	int old_of;
	bool optional_arg; /* --name[=ARG]: a value only after '=' (-x takes none) */
};

/* A subcommand's options and what to do with them. */
struct rf_opts {
	const struct opt_desc *opts;
	size_t n;
	/*
	 * Apply one option to arg (value: NULL for a flag, or an optional value
	 * not given). Prints its own error and returns non-zero for a bad value.
	 */
	int (*apply)(void *arg, int id, const char *value);
	void (*usage)(FILE *f); /* --help, printed on stdout */
	/*
	 * Options end at the first positional argument (a command line to run:
	 * "ringfan X -c 1 prog -c 2" leaves "-c 2" to prog). Else they may
	 * come after positional arguments too.
	 */
	bool options_first;
};

/* Print "  -x, --name ARG   help" lines for the options that have help, aligned. */
void rf_print_opts(FILE *f, const struct opt_desc *opts, size_t n);

/*
 * Parse a subcommand's argv (argv[0] is its name) with its options: apply
 * for each option, in order; usage(stdout) for -h/--help; the option table
 * for the hidden --list-options (one line per option, tab-separated: short,
 * long, argument, "flag"/"required"/"optional", the new spelling of an old
 * one, help; "-" where there is none). ret_first NULL: positional arguments
 * are refused; else *ret_first is the index of the first one (argc if none).
 * Returns 0, -1 when help or the table was printed (exit 0), or
 * RF_EXIT_USAGE with the error printed.
 */
int rf_opts_parse(const struct rf_opts *o, int argc, char **argv, void *arg, int *ret_first);

/*
 * The same for one "key value" of a config file: key is a long name,
 * "--name" or "-x"; value "" when there is none. where ("FILE:LINE: ")
 * starts every message. Returns 0 or RF_EXIT_USAGE with the error printed.
 */
int rf_opts_set(const struct rf_opts *o, const char *key, const char *value, const char *where,
		void *arg);

/* Format v with thousands separators ("1,234,567") into buf; returns buf. */
char *rf_fmt_thousands(uint64_t v, char *buf, size_t len);

#endif
