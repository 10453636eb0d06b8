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

/* One time value in a body: accepted (returned) or refused with one error. */
static bool time_ok(const char *value)
{
    json_t *body = json_pack("{s:s}", "t", value);
    struct validator v;
    validator_init(&v, body);
    const char *got = validate_time(&v, "t", true);
    bool ok = got != NULL && !validator_failed(&v);
    assert_true(ok || json_array_size(v.errors) == 1);
    validator_cleanup(&v);
    json_decref(body);
    return ok;
}

static void times_are_rfc3339_with_seconds_a_zone_and_a_real_date(void **state)
{
    (void)state;
    assert_true(time_ok("2026-12-07T09:00:00Z"));
    assert_true(time_ok("2026-12-07T17:00:00+08:00"));
    assert_true(time_ok("2028-02-29T00:00:00-05:30"));
    assert_false(time_ok("2026-02-29T00:00:00Z"));   /* not a leap year */
    assert_false(time_ok("2026-02-30T09:00:00Z"));
    assert_false(time_ok("2026-13-01T09:00:00Z"));
    assert_false(time_ok("2026-12-07T24:00:00Z"));
    assert_false(time_ok("2026-12-07T09:00Z"));      /* no seconds */
    assert_false(time_ok("2026-12-07T09:00:00"));    /* no zone */
    assert_false(time_ok("2026-12-07 09:00:00Z"));
    assert_false(time_ok("2026-+1-07T09:00:00Z"));   /* a sign where a digit goes */
    assert_false(time_ok("2026-12-07T09:00:00+8:00"));
    assert_false(time_ok("2026-12-07T09:00:00+08:00x"));
    assert_false(time_ok("2026-12-07T09:00:00.5Z"));
    assert_false(time_ok("tomorrow"));
    assert_false(time_ok(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_that_is_not_an_object_is_one_error),
        cmocka_unit_test(missing_wrong_type_and_length_each_get_a_pointer),
        cmocka_unit_test(length_is_counted_in_characters),
        cmocka_unit_test(times_are_rfc3339_with_seconds_a_zone_and_a_real_date),
    };
    return cmocka_run_group_tests_name("http/validate", tests, NULL, NULL);
}
