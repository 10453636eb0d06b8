/* Tests service/src/db/migrate.c: the embedded migration list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "db/migrate.h"

static void embedded_list_is_contiguous_from_one(void **state)
{
    (void)state;
    char err[256] = "";
    assert_true(embedded_migrations_count >= 2);
    assert_int_equal(migrate_check_list(embedded_migrations, embedded_migrations_count, err,
                                        sizeof err), 0);
    assert_int_equal(migrate_latest_version(), (int)embedded_migrations_count);
    for (size_t i = 0; i < embedded_migrations_count; i++)
        assert_true(strlen(embedded_migrations[i].sql) > 0);
}

static void gaps_and_duplicates_are_refused(void **state)
{
    (void)state;
    const struct embedded_migration gap[] = { { 1, "0001-a.sql", "" }, { 3, "0003-c.sql", "" } };
    const struct embedded_migration dup[] = { { 1, "0001-a.sql", "" }, { 1, "0001-b.sql", "" } };
    char err[256] = "";
    assert_int_equal(migrate_check_list(gap, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "0003-c.sql"));
    assert_int_equal(migrate_check_list(dup, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "0001-b.sql"));
}

static void embedded_spec_is_openapi_3_1(void **state)
{
    (void)state;
    assert_true(embedded_openapi_len > 100);
    assert_non_null(strstr(embedded_openapi, "openapi: 3.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(embedded_list_is_contiguous_from_one),
        cmocka_unit_test(gaps_and_duplicates_are_refused),
        cmocka_unit_test(embedded_spec_is_openapi_3_1),
    };
    return cmocka_run_group_tests_name("db/migrate", tests, NULL, NULL);
}
