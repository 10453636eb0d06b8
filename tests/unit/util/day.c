/* Tests service/src/util/day.c: the days of the query strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "util/day.h"

static void days_that_exist_are_valid(void **state)
{
    (void)state;
    assert_true(day_valid("2026-12-07"));
    assert_true(day_valid("2000-01-01"));
    assert_true(day_valid("2024-02-29"));
    assert_true(day_valid("2000-02-29"));
    assert_true(day_valid("9999-12-31"));
}

static void anything_else_is_not(void **state)
{
    (void)state;
    assert_false(day_valid(NULL));
    assert_false(day_valid(""));
    assert_false(day_valid("2026-02-30"));
    assert_false(day_valid("2023-02-29"));
    assert_false(day_valid("1900-02-29"));
    assert_false(day_valid("2100-02-29"));
    assert_false(day_valid("1999-12-31"));
    assert_false(day_valid("2026-13-01"));
    assert_false(day_valid("2026-00-10"));
    assert_false(day_valid("26-1-1"));
    assert_false(day_valid("2026-1-01"));
    assert_false(day_valid("2026/01/01"));
    assert_false(day_valid("2026-01-01T"));
    assert_false(day_valid("２026-01-01"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(days_that_exist_are_valid),
        cmocka_unit_test(anything_else_is_not),
    };
    return cmocka_run_group_tests_name("util/day", tests, NULL, NULL);
}
