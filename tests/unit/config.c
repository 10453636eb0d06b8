/* Tests service/src/config.c: defaults, bounds, and errors that name the
 * variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

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
    assert_int_equal(c.connection_timeout, 30);
    assert_int_equal(c.max_connections, 1000);
    assert_int_equal(c.max_connections_per_ip, 100);
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
    /* Each HTTP thread needs a share of MAX_CONNECTIONS. */
    setenv("HTTP_THREADS", "32", 1);
    setenv("MAX_CONNECTIONS", "16", 1);
    assert_int_equal(config_load(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "MAX_CONNECTIONS (16) must be at least HTTP_THREADS (32)"));
    setenv("MAX_CONNECTIONS", "32", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    unsetenv("MAX_CONNECTIONS");
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
        { "CONNECTION_TIMEOUT", "0" },    { "MAX_CONNECTIONS_PER_IP", "-1" },
        { "MAX_CONNECTIONS_PER_IP", "100001" },
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

/* ---- master key and tokens ---------------------------------------------- */

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void key_file(const char *path, const void *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void assert_key_is_0_to_31(const struct config *c)
{
    assert_true(c->master_key_set);
    for (int i = 0; i < 32; i++)
        assert_int_equal(c->master_key[i], i);
}

static void master_key_from_the_environment_or_a_file(void **state)
{
    (void)state;
    struct config c;
    char err[512];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_false(c.master_key_set); /* serve refuses; other commands do not need it */

    setenv("MASTER_KEY", KEY_HEX, 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_key_is_0_to_31(&c);
    unsetenv("MASTER_KEY");

    char path[] = "/tmp/yijian-config-test-XXXXXX";
    assert_non_null(mkdtemp(path));
    char file[64];
    snprintf(file, sizeof file, "%s/key", path);
    setenv("MASTER_KEY_FILE", file, 1);
    key_file(file, KEY_HEX "\n", 65, 0600);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_key_is_0_to_31(&c);
    key_file(file, KEY_HEX, 64, 0400);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_key_is_0_to_31(&c);
    unsigned char raw[32];
    for (int i = 0; i < 32; i++)
        raw[i] = (unsigned char)i;
    key_file(file, raw, sizeof raw, 0600);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_key_is_0_to_31(&c);

    /* Readable by others: refused, with a message that says how to fix it. */
    key_file(file, KEY_HEX, 64, 0640);
    assert_int_equal(config_load(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "MASTER_KEY_FILE"));
    assert_non_null(strstr(err, "chmod 600"));
    key_file(file, KEY_HEX, 64, 0604);
    assert_int_equal(config_load(&c, err, sizeof err), -1);

    /* Not a key: too short, too long, not hex. */
    key_file(file, KEY_HEX "00", 66, 0600);
    assert_int_equal(config_load(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "MASTER_KEY_FILE"));
    key_file(file, raw, 31, 0600);
    assert_int_equal(config_load(&c, err, sizeof err), -1);
    key_file(file, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 64, 0600);
    assert_int_equal(config_load(&c, err, sizeof err), -1);
    unlink(file);
    assert_int_equal(config_load(&c, err, sizeof err), -1); /* missing */
    assert_non_null(strstr(err, "MASTER_KEY_FILE"));
    rmdir(path);

    /* Both at once is a mistake, not a precedence rule. */
    setenv("MASTER_KEY", KEY_HEX, 1);
    assert_int_equal(config_load(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "MASTER_KEY"));
}

static void a_bad_master_key_is_named_but_never_printed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        KEY_HEX "0", "00" KEY_HEX, "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
        "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("MASTER_KEY", bad[i], 1);
        struct config c;
        char err[512] = "";
        assert_int_equal(config_load(&c, err, sizeof err), -1);
        assert_non_null(strstr(err, "MASTER_KEY"));
        assert_null(strstr(err, bad[i]));
        assert_null(strstr(err, "0405060708"));
    }
}

static void token_settings_have_defaults_and_bounds(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.token_epoch_days, 0); /* month */
    assert_int_equal(c.token_grace_days, 7);
    assert_int_equal(c.token_quota, 10);
    assert_int_equal(c.search_window, 10000);
    setenv("SEARCH_WINDOW", "1", 1);
    setenv("TOKEN_EPOCH", "30", 1);
    setenv("TOKEN_GRACE_DAYS", "0", 1);
    setenv("TOKEN_QUOTA", "1", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.token_epoch_days, 30);
    assert_int_equal(c.token_grace_days, 0);
    assert_int_equal(c.token_quota, 1);
    assert_int_equal(c.search_window, 1);
    static const char *const bad[][2] = {
        { "TOKEN_EPOCH", "0" },    { "TOKEN_EPOCH", "367" },     { "TOKEN_EPOCH", "Month" },
        { "TOKEN_EPOCH", "+7" },   { "TOKEN_EPOCH", "7d" },      { "TOKEN_GRACE_DAYS", "367" },
        { "TOKEN_QUOTA", "0" },    { "TOKEN_QUOTA", "1001" },
        { "SEARCH_WINDOW", "0" },  { "SEARCH_WINDOW", "10000001" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        char e[256] = "";
        assert_int_equal(config_load(&c, e, sizeof e), -1);
        assert_non_null(strstr(e, bad[i][0]));
    }
}

static void seal_interval_defaults_to_5_and_0_turns_the_sealer_off(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.seal_interval, 5);
    setenv("SEAL_INTERVAL", "0", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.seal_interval, 0);
    static const char *const bad[] = { "3601", "-1", "1s" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("SEAL_INTERVAL", bad[i], 1);
        char e[256] = "";
        assert_int_equal(config_load(&c, e, sizeof e), -1);
        assert_non_null(strstr(e, "SEAL_INTERVAL"));
    }
}

static void bulletin_scheduler_settings_have_defaults_and_bounds(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.bulletin_interval, 60);
    assert_int_equal(c.bulletin_schedule.frequency, SCHEDULE_MONTHLY);
    assert_int_equal(c.bulletin_schedule.day, 1);
    assert_int_equal(c.bulletin_schedule.hour, 9);
    assert_int_equal(c.scheduler_now, 0); /* the real clock */
    setenv("BULLETIN_INTERVAL", "0", 1);
    setenv("BULLETIN_SCHEDULE", "weekly:5:18", 1);
    setenv("SCHEDULER_NOW", "2026-12-01T01:00:30Z", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_int_equal(c.bulletin_interval, 0);
    assert_int_equal(c.bulletin_schedule.frequency, SCHEDULE_WEEKLY);
    assert_int_equal(c.bulletin_schedule.day, 5);
    assert_int_equal(c.bulletin_schedule.hour, 18);
    assert_int_equal(c.scheduler_now, 1796086830LL); /* date -u -d 2026-12-01T01:00:30Z +%s */
    static const char *const bad[][2] = {
        { "BULLETIN_INTERVAL", "86401" },   { "BULLETIN_INTERVAL", "-1" },
        { "BULLETIN_SCHEDULE", "daily" },   { "BULLETIN_SCHEDULE", "monthly:32:9" },
        { "BULLETIN_SCHEDULE", "weekly:1" }, { "SCHEDULER_NOW", "2026-02-30T00:00:00Z" },
        { "SCHEDULER_NOW", "2026-12-01 01:00:00" }, { "SCHEDULER_NOW", "2026-12-01T01:00:00+08:00" },
        { "SCHEDULER_NOW", "2026-12-01T24:00:00Z" }, { "SCHEDULER_NOW", "tomorrow" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        char e[256] = "";
        assert_int_equal(config_load(&c, e, sizeof e), -1);
        assert_non_null(strstr(e, bad[i][0]));
    }
}

static void notification_settings_have_defaults_bounds_and_a_clean_public_url(void **state)
{
    (void)state;
    struct config c;
    char err[256];
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    /* Unset: empty, and serve derives it from where it listens. */
    assert_string_equal(c.public_url, "");
    assert_int_equal(c.notify_interval_ms, 1000);
    assert_int_equal(c.notify_max_attempts, 8);
    assert_int_equal(c.notify_backoff_base_ms, 30000);
    assert_int_equal(c.notify_backoff_max_ms, 3600000);
    assert_int_equal(c.notify_timeout, 10);
    assert_int_equal(c.notify_anonymous_batch, 3600);
    assert_false(c.webhook_allow_loopback);

    setenv("PUBLIC_URL", "https://yijian.example.org/app//", 1);
    setenv("NOTIFY_INTERVAL_MS", "0", 1);
    setenv("WEBHOOK_ALLOW_LOOPBACK", "true", 1);
    assert_int_equal(config_load(&c, err, sizeof err), 0);
    assert_string_equal(c.public_url, "https://yijian.example.org/app");
    assert_int_equal(c.notify_interval_ms, 0);
    assert_true(c.webhook_allow_loopback);
    clear_env(NULL);

    static const char *const bad[][2] = {
        { "PUBLIC_URL", "ftp://example.org" }, { "PUBLIC_URL", "https://" },
        { "PUBLIC_URL", "https://exa mple.org" }, { "PUBLIC_URL", "https://x.org/<script>" },
        { "NOTIFY_INTERVAL_MS", "5" }, { "NOTIFY_INTERVAL_MS", "60001" },
        { "NOTIFY_MAX_ATTEMPTS", "0" }, { "NOTIFY_MAX_ATTEMPTS", "101" },
        { "NOTIFY_BACKOFF_BASE_MS", "0" }, { "NOTIFY_TIMEOUT", "121" },
        { "NOTIFY_ANONYMOUS_BATCH", "0" }, { "WEBHOOK_ALLOW_LOOPBACK", "maybe" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_env(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        char e[256] = "";
        assert_int_equal(config_load(&c, e, sizeof e), -1);
        assert_non_null(strstr(e, bad[i][0]));
    }
    /* The longest wait cannot be shorter than the first. */
    clear_env(NULL);
    setenv("NOTIFY_BACKOFF_BASE_MS", "5000", 1);
    setenv("NOTIFY_BACKOFF_MAX_MS", "4000", 1);
    char e[256] = "";
    assert_int_equal(config_load(&c, e, sizeof e), -1);
    assert_non_null(strstr(e, "NOTIFY_BACKOFF_MAX_MS"));
}

/* The README's configuration table, read row by row: every variable of
 * config_vars in the same order, each with the table's default and, for a
 * number, its bounds written "MIN–MAX" in the meaning column. */
static void the_readme_table_is_the_config_table(void **state)
{
    (void)state;
    FILE *f = fopen(TEST_SOURCE_DIR "/README.md", "r");
    assert_non_null(f);
    char line[2048];
    bool in_section = false;
    size_t row = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "## ", 3)) {
            in_section = !strncmp(line, "## Configuration", 16);
            continue;
        }
        if (!in_section || strncmp(line, "| `", 3) != 0)
            continue;
        /* | `NAME` | DEFAULT | MEANING | */
        char *name = line + 3;
        char *tick = strchr(name, '`');
        assert_non_null(tick);
        *tick = '\0';
        char *cell = strstr(tick + 1, "| ");
        assert_non_null(cell);
        cell += 2;
        char *meaning = strstr(cell, " | ");
        assert_non_null(meaning);
        *meaning = '\0';
        meaning += 3;
        if (row >= config_vars_count)
            fail_msg("README row %zu (%s) has no variable in config_vars", row, name);
        const struct config_var *v = &config_vars[row];
        if (strcmp(name, v->name))
            fail_msg("README row %zu is %s, config_vars has %s", row, name, v->name);
        if (v->default_value && *v->default_value) {
            char want[128];
            snprintf(want, sizeof want, "`%s`", v->default_value);
            if (strcmp(cell, want))
                fail_msg("%s: README default %s, config_vars %s", name, cell, want);
        } else if (cell[0] == '`') {
            fail_msg("%s: README default %s, config_vars has none", name, cell);
        }
        char bounds[48];
        config_var_bounds(v, bounds, sizeof bounds);
        if (*bounds) {
            char want[64];
            char *dash = strchr(bounds, '-');
            *dash = '\0';
            snprintf(want, sizeof want, "%s\xe2\x80\x93%s", bounds, dash + 1); /* en dash */
            if (!strstr(meaning, want))
                fail_msg("%s: README does not give the bounds %s", name, want);
        }
        row++;
    }
    fclose(f);
    if (row != config_vars_count)
        fail_msg("README names %zu variables, config_vars %zu", row, config_vars_count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_work_on_a_laptop, clear_env),
        cmocka_unit_test_setup(owner_url_defaults_to_service_url, clear_env),
        cmocka_unit_test_setup(pool_follows_threads_unless_set, clear_env),
        cmocka_unit_test_setup(bad_values_name_the_variable, clear_env),
        cmocka_unit_test_setup(listen_accepts_ipv6_and_port_zero, clear_env),
        cmocka_unit_test_setup(master_key_from_the_environment_or_a_file, clear_env),
        cmocka_unit_test_setup(a_bad_master_key_is_named_but_never_printed, clear_env),
        cmocka_unit_test_setup(token_settings_have_defaults_and_bounds, clear_env),
        cmocka_unit_test(the_readme_table_is_the_config_table),
        cmocka_unit_test_setup(seal_interval_defaults_to_5_and_0_turns_the_sealer_off, clear_env),
        cmocka_unit_test_setup(bulletin_scheduler_settings_have_defaults_and_bounds, clear_env),
        cmocka_unit_test_setup(notification_settings_have_defaults_bounds_and_a_clean_public_url,
                               clear_env),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
