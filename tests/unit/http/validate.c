/* Tests service/src/http/validate.c: field checks collect every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "http/validate.h"

static const char *pointer_of(json_t *errors, size_t i)
{
    return json_string_value(json_object_get(json_array_get(errors, i), "pointer"));
}

static void body_that_is_not_an_object_is_one_error(void **state)
{
    (void)state;
    json_t *body = json_array();
    struct validator v;
    validator_init(&v, body);
    assert_null(validate_string(&v, "login", true, 1, 10));
    assert_true(validator_failed(&v));
    assert_int_equal(json_array_size(v.errors), 1);
    assert_string_equal(pointer_of(v.errors, 0), "");
    validator_cleanup(&v);
    json_decref(body);
}

static void missing_wrong_type_and_length_each_get_a_pointer(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:i, s:s, s:s}", "login", 5, "password", "short", "name", "ok");
    struct validator v;
    validator_init(&v, body);
    assert_null(validate_string(&v, "login", true, 1, 64));
    assert_null(validate_string(&v, "password", true, 10, 1024));
    assert_null(validate_string(&v, "code", true, 1, 64));
    assert_string_equal(validate_string(&v, "name", true, 1, 10), "ok");
    assert_null(validate_string(&v, "optional", false, 1, 10));
    assert_int_equal(json_array_size(v.errors), 3);
    assert_string_equal(pointer_of(v.errors, 0), "/login");
    assert_string_equal(pointer_of(v.errors, 1), "/password");
    assert_string_equal(pointer_of(v.errors, 2), "/code");
    validator_cleanup(&v);
    json_decref(body);
}

static void length_is_counted_in_characters(void **state)
{
    (void)state;
    /* five Chinese characters are fifteen bytes */
    json_t *body = json_pack("{s:s}", "title", "食堂开放时");
    struct validator v;
    validator_init(&v, body);
    assert_non_null(validate_string(&v, "title", true, 1, 5));
    assert_null(validate_string(&v, "title", true, 1, 4));
    assert_int_equal(json_array_size(v.errors), 1);
    validator_cleanup(&v);
    json_decref(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_that_is_not_an_object_is_one_error),
        cmocka_unit_test(missing_wrong_type_and_length_each_get_a_pointer),
        cmocka_unit_test(length_is_counted_in_characters),
    };
    return cmocka_run_group_tests_name("http/validate", tests, NULL, NULL);
}
