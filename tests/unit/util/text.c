/* Tests service/src/util/text.c: the one normalisation of names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/text.h"

/* Normalises a copy of in and compares it with want. */
static void check(const char *in, const char *want)
{
    char buf[256];
    size_t len = strlen(in);
    assert_true(len < sizeof buf);
    memcpy(buf, in, len + 1);
    size_t n = text_normalize(buf, len);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_true(text_is_normal(want));
}

static void ideographic_spaces_are_trimmed_and_collapsed(void **state)
{
    (void)state;
    check("\u3000第一党支部\u3000", "第一党支部");
    check("第一\u3000\u3000党支部", "第一 党支部");
    check("  a \u3000 b  ", "a b");
    check("\u3000\u3000", "");
    check("", "");
    assert_false(text_is_normal("\u3000第一党支部"));
    assert_false(text_is_normal("a  b"));
}

static void other_unicode_spaces_count_as_spaces(void **state)
{
    (void)state;
    check("\u00a0宣传\u2002\u202f组织\u205f", "宣传 组织");
}

static void invisible_characters_are_dropped(void **state)
{
    (void)state;
    check("宣\u200b传", "宣传");
    check("\ufeff宣传\u200d\u2060\u00ad", "宣传");
    check("\u200b \u200b", "");
}

static void full_width_letters_digits_and_separators_become_ascii(void **state)
{
    (void)state;
    check("第１党支部", "第1党支部");
    check("ＡＢｃ", "ABc");
    check("宣传；组织", "宣传;组织");
    check("机关党委／第一党支部", "机关党委/第一党支部");
}

static void chinese_punctuation_is_kept(void **state)
{
    (void)state;
    check("第一党支部（退休）、宣传，组织。", "第一党支部（退休）、宣传，组织。");
}

static void control_characters_are_left_for_the_caller(void **state)
{
    (void)state;
    check("a\tb", "a\tb");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ideographic_spaces_are_trimmed_and_collapsed),
        cmocka_unit_test(other_unicode_spaces_count_as_spaces),
        cmocka_unit_test(invisible_characters_are_dropped),
        cmocka_unit_test(full_width_letters_digits_and_separators_become_ascii),
        cmocka_unit_test(chinese_punctuation_is_kept),
        cmocka_unit_test(control_characters_are_left_for_the_caller),
    };
    return cmocka_run_group_tests_name("util/text", tests, NULL, NULL);
}
