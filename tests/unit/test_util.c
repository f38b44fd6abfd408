/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "thread.h"
#include "util.h"

static void test_thousands(void **state)
{
	char buf[32];

	assert_string_equal(rf_fmt_thousands(0, buf, sizeof(buf)), "0");
	assert_string_equal(rf_fmt_thousands(999, buf, sizeof(buf)), "999");
	assert_string_equal(rf_fmt_thousands(1000, buf, sizeof(buf)), "1,000");
	assert_string_equal(rf_fmt_thousands(1234567, buf, sizeof(buf)), "1,234,567");
	assert_string_equal(rf_fmt_thousands(UINT64_MAX, buf, sizeof(buf)),
			    "18,446,744,073,709,551,615");
}

static void test_parse_u64(void **state)
{
	uint64_t v = 7;

	assert_int_equal(rf_parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(rf_parse_u64("0", 0, 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rf_parse_u64("16", 0, 100, &v), 0);
	assert_int_equal(rf_parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(rf_parse_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(rf_parse_u64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(rf_parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(rf_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(v, 16);
}

/* Numbers are decimal: octal and hex spellings are refused, never read as another number. */
static void test_parse_decimal_only(void **state)
{
	static const char *const bad[] = {"031", "0x1f", "0X1F", "00",	"0755",
					  "010", " 5",	 "+5",	 "0b1", "\t5"};
	uint64_t v = 7;
	double d = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rf_parse_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
		assert_int_equal(rf_parse_size(bad[i], 0, UINT64_MAX, &v), -EINVAL);
		assert_int_equal(rf_parse_double(bad[i], 0, 1e12, &d), -EINVAL);
	}
	assert_int_equal(v, 7);
	assert_int_equal(rf_parse_size("016M", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(rf_parse_double("0x1p3", 0, 1e12, &d), -EINVAL);
	assert_true(d == 7);
	assert_int_equal(rf_parse_u64("31", 0, 65535, &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(rf_parse_double("0.5", 0, 10, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(rf_parse_double(".25", 0, 10, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(rf_parse_double("0", 0, 10, &d), 0);
	assert_true(d == 0);
	assert_int_equal(rf_parse_double("12.5", 0, 100, &d), 0);
	assert_true(d == 12.5);
}

static void test_parse_size(void **state)
{
	uint64_t v = 0;

	assert_int_equal(rf_parse_size("64M", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(rf_parse_size("4k", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(rf_parse_size("1GiB", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(rf_parse_size("1T", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(rf_parse_size("M", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(rf_parse_size("1Mx", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(rf_parse_size("100000000000G", 0, UINT64_MAX, &v), -ERANGE);
}

/* ---- the option table helper ---- */

enum {
	T_NAME = 'n',
	T_FLAG = 'f',
	T_HELP = 'h',
	T_OLD_LETTER = 'o',
	T_LONG = 256,
	T_WAIT,
	T_OLD_LONG
};

static const struct opt_desc t_opts[] = {
	{T_NAME, "name", "N", "a value"},
	{T_FLAG, "flag", NULL, "a flag"},
	{T_LONG, "long-only", "X", "a long option without a letter"},
	{T_WAIT, "wait", "SECS", "an optional value", 0, true},
	{T_OLD_LONG, "old-name", "N", NULL, T_NAME},
	{T_OLD_LETTER, NULL, NULL, NULL, T_FLAG},
	{T_HELP, "help", NULL, "help"},
};

/* What apply saw, in order: "id=value;" */
struct seen {
	char log[256];
	int fail_id; /* apply refuses this option */
};

static int t_apply(void *arg, int id, const char *value)
{
	struct seen *s = arg;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "%d=%s;", id, value ? value : "(null)");
	return id == s->fail_id ? -1 : 0;
}

static int usage_calls;

static void t_usage(FILE *f)
{
	usage_calls++;
}

static const struct rf_opts t = {t_opts, sizeof(t_opts) / sizeof(t_opts[0]), t_apply, t_usage};

static int parse(struct seen *s, int *first, const char *a0, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	memset(s->log, 0, sizeof(s->log));
	argv[argc++] = (char *)a0;
	va_start(ap, a0);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return rf_opts_parse(&t, argc, argv, s, first);
}

static void test_opts_parse(void **state)
{
	struct seen s = {.fail_id = -1};
	int first;

	/* Letters come from the table: -n takes a value, -f does not. */
	assert_int_equal(parse(&s, NULL, "t", "-n", "3", "-f", "--long-only=x", NULL), 0);
	assert_string_equal(s.log, "110=3;102=(null);256=x;");
	assert_int_equal(parse(&s, NULL, "t", "-fn4", NULL), 0);
	assert_string_equal(s.log, "102=(null);110=4;");
	/* An optional value only after '='. */
	assert_int_equal(parse(&s, NULL, "t", "--wait", "--wait=2", NULL), 0);
	assert_string_equal(s.log, "257=(null);257=2;");
	/* Old spellings act as the new option. */
	assert_int_equal(parse(&s, NULL, "t", "--old-name", "5", "-o", NULL), 0);
	assert_string_equal(s.log, "110=5;102=(null);");
	/* Refusals. */
	assert_int_equal(parse(&s, NULL, "t", "-z", NULL), RF_EXIT_USAGE);
	assert_int_equal(parse(&s, NULL, "t", "--name", NULL), RF_EXIT_USAGE);
	assert_int_equal(parse(&s, NULL, "t", "--flag=1", NULL), RF_EXIT_USAGE);
	assert_int_equal(parse(&s, NULL, "t", "stray", NULL), RF_EXIT_USAGE);
	s.fail_id = T_NAME;
	assert_int_equal(parse(&s, NULL, "t", "-n", "bad", NULL), RF_EXIT_USAGE);
	s.fail_id = -1;
	/* Positional arguments for those who take them. */
	assert_int_equal(parse(&s, &first, "t", "a", "-f", "b", NULL), 0);
	assert_int_equal(first, 2); /* getopt moved the options first: t -f a b */
	/* A command line to run: options end at the first positional argument. */
	{
		struct rf_opts first_t = t;
		char *argv[] = {"t", "-f", "prog", "-n", "1", NULL};

		first_t.options_first = true;
		memset(s.log, 0, sizeof(s.log));
		assert_int_equal(rf_opts_parse(&first_t, 5, argv, &s, &first), 0);
		assert_int_equal(first, 2);
		assert_string_equal(argv[3], "-n");
		assert_string_equal(s.log, "102=(null);");
	}
	/* Help: usage called, -1. */
	usage_calls = 0;
	assert_int_equal(parse(&s, NULL, "t", "-f", "--help", NULL), -1);
	assert_int_equal(usage_calls, 1);
}

static void test_opts_set(void **state)
{
	struct seen s = {.fail_id = -1};

	assert_int_equal(rf_opts_set(&t, "name", "1", "f:1: ", &s), 0);
	assert_int_equal(rf_opts_set(&t, "--name", "2", "f:2: ", &s), 0);
	assert_int_equal(rf_opts_set(&t, "-n", "3", "f:3: ", &s), 0);
	assert_int_equal(rf_opts_set(&t, "flag", "", "f:4: ", &s), 0);
	assert_int_equal(rf_opts_set(&t, "wait", "", "f:5: ", &s), 0);
	assert_int_equal(rf_opts_set(&t, "old-name", "6", "f:6: ", &s), 0);
	assert_string_equal(s.log, "110=1;110=2;110=3;102=(null);257=(null);110=6;");
	assert_int_equal(rf_opts_set(&t, "name", "", "f:7: ", &s), RF_EXIT_USAGE);
	assert_int_equal(rf_opts_set(&t, "flag", "1", "f:8: ", &s), RF_EXIT_USAGE);
	assert_int_equal(rf_opts_set(&t, "help", "", "f:9: ", &s), RF_EXIT_USAGE);
	assert_int_equal(rf_opts_set(&t, "nope", "1", "f:10: ", &s), RF_EXIT_USAGE);
}

static void test_cpus(void **state)
{
	struct rf_cpus c = {0};
	char buf[64];

	assert_int_equal(rf_cpus_parse("0-3,8,10-11", &c), 0);
	assert_true(c.given);
	assert_int_equal(CPU_COUNT(&c.set), 7);
	assert_string_equal(rf_cpus_format(&c.set, buf, sizeof(buf)), "0-3,8,10-11");
	assert_int_equal(rf_cpus_nth(&c, 0), 0);
	assert_int_equal(rf_cpus_nth(&c, 4), 8);
	assert_int_equal(rf_cpus_nth(&c, 7), 0); /* round again */
	assert_int_equal(rf_cpus_parse("3", &c), 0);
	assert_string_equal(rf_cpus_format(&c.set, buf, sizeof(buf)), "3");
	assert_int_equal(rf_cpus_parse("", &c), -EINVAL);
	assert_int_equal(rf_cpus_parse("1,,2", &c), -EINVAL);
	assert_int_equal(rf_cpus_parse("3-1", &c), -EINVAL);
	assert_int_equal(rf_cpus_parse("01", &c), -EINVAL);
	assert_int_equal(rf_cpus_parse("1-", &c), -EINVAL);
	assert_int_equal(rf_cpus_parse("99999", &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousands),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_decimal_only),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_opts_parse),
		cmocka_unit_test(test_opts_set),
		cmocka_unit_test(test_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
