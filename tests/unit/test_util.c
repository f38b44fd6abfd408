/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousands),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_decimal_only),
		cmocka_unit_test(test_parse_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
