/* Tests service/src/util/log.c: every line is one whole JSON object on a
 * line of its own, also when many threads write at once, each thread's in
 * its order, written one by one or gathered by the log thread of `serve`
 * (and then all of them by log_stop, and each without it soon), with the
 * documented fields and the time as RFC 3339 UTC with milliseconds. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "util/log.h"

#define THREADS 8
#define LINES_PER_THREAD 2000

/* Sends descriptor 2 to a fresh temporary file; returns that file's
 * descriptor and keeps the old stderr in *saved. */
static int capture(int *saved)
{
    char path[] = "/tmp/yijian-log-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    *saved = dup(STDERR_FILENO);
    assert_true(*saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    return fd;
}

/* Puts stderr back and returns everything written to fd, NUL-terminated. */
static char *release(int fd, int saved, size_t *len)
{
    assert_true(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *text = malloc((size_t)st.st_size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)st.st_size, 0), st.st_size);
    text[st.st_size] = '\0';
    close(fd);
    *len = (size_t)st.st_size;
    return text;
}

/* 2026-11-27T03:04:05.678Z */
static void assert_time(const char *t)
{
    assert_int_equal(strlen(t), 24);
    for (int i = 0; i < 24; i++) {
        char c = t[i];
        switch (i) {
        case 4: case 7: assert_int_equal(c, '-'); break;
        case 10: assert_int_equal(c, 'T'); break;
        case 13: case 16: assert_int_equal(c, ':'); break;
        case 19: assert_int_equal(c, '.'); break;
        case 23: assert_int_equal(c, 'Z'); break;
        default: assert_true(c >= '0' && c <= '9');
        }
    }
}

static void *writer(void *arg)
{
    long n = (long)arg;
    char id[40];
    for (int i = 0; i < LINES_PER_THREAD; i++) {
        snprintf(id, sizeof id, "t%ld-%d", n, i);
        if (i % 2)
            log_request(LOG_INFO, id, "GET", "/v1/suggestions/{id}", 200, 1.25, 3, -1);
        else
            log_json(LOG_WARN, id, NULL);
    }
    return NULL;
}

/* Every line whole, each once, and each thread's lines in the order that
 * thread logged them; gathered: with the log thread of `serve` running. */
static void check_concurrent_lines(bool gathered)
{
    log_set_level(LOG_INFO);
    int saved, fd = capture(&saved);
    if (gathered)
        assert_int_equal(log_start(), 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    if (gathered)
        log_stop(); /* writes what is left */
    size_t len;
    char *text = release(fd, saved, &len);
    assert_true(len > 0 && text[len - 1] == '\n');

    static unsigned char seen[THREADS][LINES_PER_THREAD];
    memset(seen, 0, sizeof seen);
    int next[THREADS] = { 0 };
    int lines = 0;
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        assert_non_null(end);
        json_error_t err;
        json_t *v = json_loadb(line, (size_t)(end - line), 0, &err);
        if (!v)
            fail_msg("line %d is not one JSON object: %s (%.*s)", lines, err.text,
                     (int)(end - line), line);
        assert_time(json_string_value(json_object_get(v, "time")));
        const char *msg = json_string_value(json_object_get(v, "msg"));
        const char *id = !strcmp(msg, "request")
                             ? json_string_value(json_object_get(v, "request_id"))
                             : msg;
        long th;
        int i;
        assert_int_equal(sscanf(id, "t%ld-%d", &th, &i), 2);
        assert_true(th >= 0 && th < THREADS && i >= 0 && i < LINES_PER_THREAD);
        assert_int_equal(seen[th][i], 0);
        seen[th][i] = 1;
        if (i != next[th])
            fail_msg("thread %ld: line %d where %d was due", th, i, next[th]);
        next[th] = i + 1;
        if (i % 2) {
            assert_string_equal(json_string_value(json_object_get(v, "level")), "info");
            assert_string_equal(json_string_value(json_object_get(v, "route")),
                                "/v1/suggestions/{id}");
            assert_int_equal(json_integer_value(json_object_get(v, "status")), 200);
            assert_true(json_real_value(json_object_get(v, "duration_ms")) == 1.25);
            assert_int_equal(json_integer_value(json_object_get(v, "db_round_trips")), 3);
            assert_null(json_object_get(v, "terminated"));
        } else {
            assert_string_equal(json_string_value(json_object_get(v, "level")), "warn");
        }
        json_decref(v);
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES_PER_THREAD);
    free(text);
}

static void concurrent_lines_stay_whole_and_each_is_written_once(void **state)
{
    (void)state;
    check_concurrent_lines(false);
}

static void gathered_lines_stay_whole_in_order_and_all_are_written_by_stop(void **state)
{
    (void)state;
    check_concurrent_lines(true);
}

static void a_gathered_line_is_written_within_a_moment(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    int saved, fd = capture(&saved);
    assert_int_equal(log_start(), 0);
    log_request(LOG_INFO, "soon", "GET", "/healthz", 200, 0.1, 0, -1);
    /* Not stopped: the log thread writes it by itself (a generous bound). */
    struct stat st = { 0 };
    for (int i = 0; i < 5000 && st.st_size == 0; i++) {
        struct timespec t = { 0, 1000000L };
        nanosleep(&t, NULL);
        assert_int_equal(fstat(fd, &st), 0);
    }
    assert_true(st.st_size > 0);
    log_stop();
    size_t len;
    char *text = release(fd, saved, &len);
    assert_non_null(strstr(text, "\"request_id\":\"soon\""));
    free(text);
}

static void lines_below_the_level_are_dropped(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    int saved, fd = capture(&saved);
    log_request(LOG_INFO, "dropped", "GET", "/healthz", 200, 0.1, 0, -1);
    log_msg(LOG_DEBUG, "dropped %d", 1);
    log_request(LOG_WARN, "kept", "POST", "/v1/suggestions", 503, 12.5, 0, 1);
    size_t len;
    char *text = release(fd, saved, &len);
    log_set_level(LOG_INFO);
    assert_null(strstr(text, "dropped"));
    json_t *v = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "request_id")), "kept");
    assert_int_equal(json_integer_value(json_object_get(v, "terminated")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "status")), 503);
    json_decref(v);
    assert_non_null(strchr(text, '\n'));
    assert_int_equal(strchr(text, '\n') - text + 1, (long)len);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_lines_stay_whole_and_each_is_written_once),
        cmocka_unit_test(gathered_lines_stay_whole_in_order_and_all_are_written_by_stop),
        cmocka_unit_test(a_gathered_line_is_written_within_a_moment),
        cmocka_unit_test(lines_below_the_level_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
