/* Tests service/src/config.c: defaults, bounds, and errors that name the
 * variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < config_vars_count; i++)
        unsetenv(config_vars[i].name);
    return 0;
}

static void defaults_work_on_a_laptop(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_int_equal(c.http_threads, 4);
    assert_int_equal(c.db_pool_size, 4); /* follows HTTP_THREADS */
    assert_int_equal(c.max_body_bytes, 65536);
    assert_true(c.migrate_on_start);
}

static void owner_url_defaults_to_service_url(void **state)
{
    (void)state;
    setenv("DATABASE_URL", "host=/tmp dbname=x", 1);
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_string_equal(c.database_owner_url, "host=/tmp dbname=x");
    setenv("DATABASE_OWNER_URL", "host=/tmp dbname=x user=o", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_string_equal(c.database_owner_url, "host=/tmp dbname=x user=o");
}

static void pool_follows_threads_unless_set(void **state)
{
    (void)state;
    setenv("HTTP_THREADS", "8", 1);
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.db_pool_size, 8);
    setenv("DB_POOL_SIZE", "3", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.db_pool_size, 3);
}

static void bad_values_name_the_variable(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        { "HTTP_THREADS", "0" },          { "HTTP_THREADS", "many" },
        { "HTTP_THREADS", "-1" },         { "MAX_BODY_BYTES", "99999999999" },
        { "MAX_BODY_BYTES", "12k" },      { "LISTEN", "8080" },
        { "LISTEN", "127.0.0.1:70000" },  { "LISTEN", "127.0.0.1:" },
        { "MIGRATE_ON_START", "maybe" },  { "LOG_LEVEL", "loud" },
        { "CONNECTION_TIMEOUT", "0" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        struct config c;
        char err[256] = "";
        assert_int_equal(config_load(&c, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i][0]));
    }
}

static void listen_accepts_ipv6_and_port_zero(void **state)
{
    (void)state;
    setenv("LISTEN", "[::1]:0", 1);
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_work_on_a_laptop, clear_env),
        cmocka_unit_test_setup(owner_url_defaults_to_service_url, clear_env),
        cmocka_unit_test_setup(pool_follows_threads_unless_set, clear_env),
        cmocka_unit_test_setup(bad_values_name_the_variable, clear_env),
        cmocka_unit_test_setup(listen_accepts_ipv6_and_port_zero, clear_env),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
