/* Tests service/src/util/jsonw.c: the JSON text writer of lists and of the
 * request log line. What it writes must parse back to what it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "util/jsonw.h"

/* s written as a JSON string, parsed back by jansson. */
static void round_trips(const char *s, size_t n)
{
    struct jsonw w = { 0 };
    JSONW_LIT(&w, "[");
    jsonw_str(&w, s, n);
    JSONW_LIT(&w, "]");
    size_t len;
    char *text = jsonw_finish(&w, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_error_t err;
    json_t *v = json_loadb(text, len, JSON_ALLOW_NUL, &err);
    assert_non_null(v);
    const json_t *str = json_array_get(v, 0);
    assert_true(json_is_string(str));
    assert_int_equal(json_string_length(str), n);
    assert_memory_equal(json_string_value(str), s, n);
    json_decref(v);
    free(text);
}

static void strings_parse_back_to_themselves(void **state)
{
    (void)state;
    round_trips("", 0);
    round_trips("plain", 5);
    round_trips("关于食堂饭菜价格的建议", strlen("关于食堂饭菜价格的建议"));
    round_trips("quote \" backslash \\ slash /", strlen("quote \" backslash \\ slash /"));
    round_trips("line\nbreak\r\ttab\b\f", strlen("line\nbreak\r\ttab\b\f"));
    round_trips("\x01\x1f\x7f", 3);
    round_trips("nul \0 inside", 12);
    round_trips("\xF0\x9F\x98\x80", 4); /* four-byte UTF-8 as it is */
}

static void control_characters_are_escaped_not_copied(void **state)
{
    (void)state;
    struct jsonw w = { 0 };
    jsonw_str(&w, "a\x01\"\n", 4);
    size_t len;
    char *text = jsonw_finish(&w, &len);
    assert_string_equal(text, "\"a\\u0001\\\"\\n\"");
    free(text);
}

static void objects_from_keys_literals_and_values(void **state)
{
    (void)state;
    struct jsonw w = { 0 };
    JSONW_LIT(&w, "{");
    jsonw_key(&w, "id");
    jsonw_str(&w, "S-ABC123", 8);
    JSONW_LIT(&w, ",");
    jsonw_key(&w, "n");
    JSONW_LIT(&w, "42");
    JSONW_LIT(&w, "}");
    size_t len;
    char *text = jsonw_finish(&w, &len);
    assert_string_equal(text, "{\"id\":\"S-ABC123\",\"n\":42}");
    free(text);
}

static void a_large_text_grows_the_buffer(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n / 2] = '"';
    round_trips(big, n);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_parse_back_to_themselves),
        cmocka_unit_test(control_characters_are_escaped_not_copied),
        cmocka_unit_test(objects_from_keys_literals_and_values),
        cmocka_unit_test(a_large_text_grows_the_buffer),
    };
    return cmocka_run_group_tests_name("util/jsonw", tests, NULL, NULL);
}
