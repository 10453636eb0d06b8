/* Tests service/src/util/utf8.c: the strict UTF-8 gate for request bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/utf8.h"

#define VALID(s) assert_true(utf8_valid(s, sizeof(s) - 1))
#define INVALID(s) assert_false(utf8_valid(s, sizeof(s) - 1))

static void accepts_ascii_and_chinese(void **state)
{
    (void)state;
    VALID("");
    VALID("hello, world");
    VALID("意见箱：请把食堂的开放时间延长到晚上八点");
    VALID("\xF0\x9F\x98\x80"); /* U+1F600, four bytes */
    VALID("\xF4\x8F\xBF\xBF"); /* U+10FFFF, the last code point */
}

static void refuses_overlong_forms(void **state)
{
    (void)state;
    INVALID("\xC0\x80");         /* NUL in two bytes */
    INVALID("\xC1\xBF");         /* overlong ASCII */
    INVALID("\xE0\x80\x80");     /* overlong three-byte */
    INVALID("\xF0\x80\x80\x80"); /* overlong four-byte */
}

static void refuses_surrogates_and_out_of_range(void **state)
{
    (void)state;
    INVALID("\xED\xA0\x80");     /* U+D800 */
    INVALID("\xED\xBF\xBF");     /* U+DFFF */
    INVALID("\xF4\x90\x80\x80"); /* U+110000 */
    INVALID("\xF5\x80\x80\x80");
    INVALID("\xFF");
    INVALID("\xFE");
}

static void refuses_truncated_and_stray_bytes(void **state)
{
    (void)state;
    INVALID("\xE6\x84");     /* first two bytes of 意 */
    INVALID("abc\x80");      /* continuation without a lead */
    INVALID("\xE6\x84\x8F\xE8"); /* good, then truncated */
    INVALID("\xC3\x28");     /* lead followed by ASCII */
}

static void length_counts_code_points_not_bytes(void **state)
{
    (void)state;
    const char *s = "意见ab";
    assert_int_equal(utf8_length(s, strlen(s)), 4);
    assert_int_equal(strlen(s), 8);
    assert_int_equal(utf8_length("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_ascii_and_chinese),
        cmocka_unit_test(refuses_overlong_forms),
        cmocka_unit_test(refuses_surrogates_and_out_of_range),
        cmocka_unit_test(refuses_truncated_and_stray_bytes),
        cmocka_unit_test(length_counts_code_points_not_bytes),
    };
    return cmocka_run_group_tests_name("util/utf8", tests, NULL, NULL);
}
