/* Tests service/src/util/decimal.c: the one strict decimal parser. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "util/decimal.h"

static void digits_in_range_are_read(void **state)
{
    (void)state;
    long long v = -1;
    assert_true(decimal_parse("0", 0, 10, &v));
    assert_int_equal(v, 0);
    assert_true(decimal_parse("42", 1, 100, &v));
    assert_int_equal(v, 42);
    assert_true(decimal_parse("007", 1, 100, &v));
    assert_int_equal(v, 7);
    assert_true(decimal_parse("9223372036854775807", 0, LLONG_MAX, &v));
    assert_true(v == LLONG_MAX);
}

static void the_range_is_inclusive_and_enforced(void **state)
{
    (void)state;
    long long v = 5;
    assert_true(decimal_parse("1", 1, 200, &v));
    assert_true(decimal_parse("200", 1, 200, &v));
    assert_int_equal(v, 200);
    v = 5;
    assert_false(decimal_parse("0", 1, 200, &v));
    assert_false(decimal_parse("201", 1, 200, &v));
    assert_int_equal(v, 5); /* untouched when refused */
}

static void anything_but_digits_is_refused(void **state)
{
    (void)state;
    long long v = 5;
    const char *bad[] = { NULL, "", "+1", "-1", " 1", "1 ", "\t1", "1a", "0x10", "1.0", "1e3",
                          "１" /* a full-width digit */ };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(decimal_parse(bad[i], 0, LLONG_MAX, &v));
    assert_int_equal(v, 5);
}

static void a_value_past_long_long_is_refused_not_wrapped(void **state)
{
    (void)state;
    long long v = 5;
    assert_false(decimal_parse("9223372036854775808", 0, LLONG_MAX, &v));
    assert_false(decimal_parse("9999999999999999999", 0, 1000000000000000000LL, &v));
    assert_false(decimal_parse("99999999999999999999999", 0, LLONG_MAX, &v));
    assert_int_equal(v, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digits_in_range_are_read),
        cmocka_unit_test(the_range_is_inclusive_and_enforced),
        cmocka_unit_test(anything_but_digits_is_refused),
        cmocka_unit_test(a_value_past_long_long_is_refused_not_wrapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
