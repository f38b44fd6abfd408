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

/* "-x, --name ARG" (or "    --name[=ARG]") of an option, for --help. */
static void opt_left(const struct opt_desc *o, char *buf, size_t len)
{
	const char *arg = o->arg ? o->arg : "";
	const char *sep = !o->arg ? "" : o->optional_arg ? "[=" : " ";

	if (o->id < 256)
		snprintf(buf, len, "-%c, --%s%s%s%s", o->id, o->name, sep, arg,
			 o->optional_arg ? "]" : "");
	else
		snprintf(buf, len, "    --%s%s%s%s", o->name, sep, arg, o->optional_arg ? "]" : "");
}

#define HELP_COLUMNS 79

/* text after the left column (indent characters wide), wrapped at spaces. */
static void print_wrapped(FILE *f, const char *text, int indent)
{
	int room = HELP_COLUMNS - indent > 30 ? HELP_COLUMNS - indent : 30;
	const char *p = text;
	int len;

	while (*p) {
		len = (int)strlen(p);
		if (len > room) {
			for (len = room; len > 0 && p[len] != ' '; len--)
				;
			if (!len) /* one long word: as it is */
				len = (int)strcspn(p, " ");
		}
		fprintf(f, "%*s%.*s\n", p == text ? 2 : indent, "", len, p);
		p += len;
		while (*p == ' ')
			p++;
	}
}

void rf_print_opts(FILE *f, const struct opt_desc *opts, size_t n)
{
	char left[96];
	int width = 0, w;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!opts[i].help || !opts[i].name)
			continue;
		opt_left(&opts[i], left, sizeof(left));
		w = (int)strlen(left);
		width = w > width ? w : width;
	}
	for (i = 0; i < n; i++) {
		if (!opts[i].help || !opts[i].name)
			continue;
		opt_left(&opts[i], left, sizeof(left));
		fprintf(f, "  %-*s", width, left);
		print_wrapped(f, opts[i].help, 4 + width);
	}
}

static const struct opt_desc *opt_by_id(const struct rf_opts *o, int id)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->opts[i].id == id)
			return &o->opts[i];
	return NULL;
}

/* "--name" or "-x", as a user would write the option. */
static const char *opt_spelling(const struct opt_desc *d, char *buf, size_t len)
{
	if (d->name)
		snprintf(buf, len, "--%s", d->name);
	else
		snprintf(buf, len, "-%c", d->id);
	return buf;
}

/*
 * An old spelling: say which option replaces it, and return that option's
 * id. where: "" on the command line ("--mode", "--file-mode"), else
 * "FILE:LINE: " (the key as written, the new long name without dashes).
 */
static int old_spelling(const struct rf_opts *o, const struct opt_desc *d, const char *cmd,
			const char *where, const char *key)
{
	const struct opt_desc *now = opt_by_id(o, d->old_of);
	char was[72], use[72];

	if (!now)
		return d->id;
	opt_spelling(d, was, sizeof(was));
	opt_spelling(now, use, sizeof(use));
	if (*where)
		rf_warn("%s'%s' is deprecated, use '%s' (the old name goes away in the next "
			"release)",
			where, key, key[0] == '-' || !now->name ? use : now->name);
	else
		rf_warn("'%s %s' is deprecated, use '%s' (the old spelling goes away in the next "
			"release)",
			cmd, was, use);
	return now->id;
}

/* --list-options: one tab-separated line per option, for tests and completions. */
static void list_options(const struct rf_opts *o)
{
	const struct opt_desc *d, *now;
	char shrt[4], lng[72], use[72];
	size_t i;

	for (i = 0; i < o->n; i++) {
		d = &o->opts[i];
		now = d->old_of ? opt_by_id(o, d->old_of) : NULL;
		snprintf(shrt, sizeof(shrt), d->id < 256 ? "-%c" : "-", d->id);
		snprintf(lng, sizeof(lng), d->name ? "--%s" : "-", d->name);
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", shrt, lng, d->arg ? d->arg : "-",
		       !d->arg		 ? "flag"
		       : d->optional_arg ? "optional"
					 : "required",
		       now ? opt_spelling(now, use, sizeof(use)) : "-", d->help ? d->help : "-");
	}
}

#define LIST_OPTIONS_ID 0x10000 /* beyond any option's id */

/* getopt_long's tables: lo has n + 2 entries, shorts 3 + 3 * n bytes ("+:" or ':' first). */
static void opts_getopt(const struct rf_opts *o, struct option *lo, char *shorts)
{
	size_t i, k = 0, l = 0;
	const struct opt_desc *d;

	if (o->options_first)
		shorts[k++] = '+';
	shorts[k++] = ':';
	for (i = 0; i < o->n; i++) {
		d = &o->opts[i];
		if (d->name)
			lo[l++] = (struct option){d->name,
						  !d->arg	    ? no_argument
						  : d->optional_arg ? optional_argument
								    : required_argument,
						  NULL, d->id};
		if (d->id >= 256)
			continue;
		shorts[k++] = (char)d->id;
		if (d->arg)
			shorts[k++] = ':';
		if (d->arg && d->optional_arg)
			shorts[k++] = ':';
	}
	shorts[k] = 0;
	lo[l++] = (struct option){"list-options", no_argument, NULL, LIST_OPTIONS_ID};
	memset(&lo[l], 0, sizeof(lo[l]));
}

/* The option getopt could not take: "--name" as written, or "-x". */
static const char *bad_opt(char **argv, char *buf, size_t len)
{
	const char *w = argv[optind - 1];

	if (strncmp(w, "--", 2) && optopt > 0 && optopt < 256) {
		snprintf(buf, len, "-%c", optopt);
		return buf;
	}
	return w;
}

/* One option from getopt: 0, -1 (help or table printed), or RF_EXIT_USAGE. */
static int take_opt(const struct rf_opts *o, int c, char **argv, void *arg)
{
	const struct opt_desc *d;
	char buf[8];

	if (c == 'h' || c == LIST_OPTIONS_ID) {
		if (c == 'h')
			o->usage(stdout);
		else
			list_options(o);
		return -1;
	}
	if (c == '?' && optopt && !strncmp(argv[optind - 1], "--", 2) &&
	    strchr(argv[optind - 1], '=')) {
		rf_err("option '%.*s' takes no value (try 'ringfan %s --help')",
		       (int)strcspn(argv[optind - 1], "="), argv[optind - 1], argv[0]);
		return RF_EXIT_USAGE;
	}
	if (c == '?' || c == ':') {
		rf_err("%s option '%s' (try 'ringfan %s --help')",
		       c == ':' ? "missing value for" : "unknown", bad_opt(argv, buf, sizeof(buf)),
		       argv[0]);
		return RF_EXIT_USAGE;
	}
	d = opt_by_id(o, c);
	if (d && d->old_of)
		c = old_spelling(o, d, argv[0], "", "");
	return o->apply(arg, c, optarg) ? RF_EXIT_USAGE : 0;
}

int rf_opts_parse(const struct rf_opts *o, int argc, char **argv, void *arg, int *ret_first)
{
	struct option *lo = calloc(o->n + 2, sizeof(*lo));
	char *shorts = malloc(3 + 3 * o->n);
	int c, r = 0;

	if (!lo || !shorts) {
		rf_err("out of memory");
		r = RF_EXIT_USAGE;
		goto out;
	}
	opts_getopt(o, lo, shorts);
	opterr = 0;
	optind = 0; /* 0, not 1: a full reset of glibc getopt's state */
	while (!r && (c = getopt_long(argc, argv, shorts, lo, NULL)) != -1)
		r = take_opt(o, c, argv, arg);
	if (!r && optind < argc && !ret_first) {
		rf_err("unexpected argument '%s' (try 'ringfan %s --help')", argv[optind], argv[0]);
		r = RF_EXIT_USAGE;
	}
	if (!r && ret_first)
		*ret_first = optind;
out:
	free(lo);
	free(shorts);
	return r;
}

static const struct opt_desc *opt_by_key(const struct rf_opts *o, const char *key)
{
	size_t i;

	if (key[0] == '-' && key[1] && key[1] != '-' && !key[2])
		return (unsigned char)key[1] == 'h' ? NULL : opt_by_id(o, (unsigned char)key[1]);
	if (key[0] == '-' && key[1] == '-')
		key += 2;
	for (i = 0; i < o->n; i++)
		if (o->opts[i].name && !strcmp(o->opts[i].name, key) && o->opts[i].id != 'h')
			return &o->opts[i];
	return NULL;
}

int rf_opts_set(const struct rf_opts *o, const char *key, const char *value, const char *where,
		void *arg)
{
	const struct opt_desc *d = opt_by_key(o, key);
	int id;

	if (!d) {
		rf_err("%sunknown option '%s'", where, key);
		return RF_EXIT_USAGE;
	}
	if (d->arg && !d->optional_arg && !*value) {
		rf_err("%soption '%s' needs a value (%s)", where, key, d->arg);
		return RF_EXIT_USAGE;
	}
	if (!d->arg && *value) {
		rf_err("%soption '%s' takes no value", where, key);
		return RF_EXIT_USAGE;
	}
	id = d->old_of ? old_spelling(o, d, "", where, key) : d->id;
	return o->apply(arg, id, *value ? value : NULL) ? RF_EXIT_USAGE : 0;
}

int rf_name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *rf_name_of(const char *const *names, size_t n, unsigned int i)
{
	return i < n && names[i] ? names[i] : "?";
}
