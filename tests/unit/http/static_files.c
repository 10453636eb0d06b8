/* Tests service/src/http/static_files.c: whole-name lookup, gzip
 * negotiation, If-None-Match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/static_files.h"

static const unsigned char a[] = "a", b[] = "b";
static const struct embedded_file table[] = {
    { "assets/app-1.js", "text/javascript", "\"e1\"", a, 1, NULL, 0 },
    { "index.html", "text/html", "\"e2\"", b, 1, b, 1 },
};

static void lookup_is_by_whole_name(void **state)
{
    (void)state;
    assert_ptr_equal(static_find(table, 2, "index.html"), &table[1]);
    assert_ptr_equal(static_find(table, 2, "assets/app-1.js"), &table[0]);
    const char *misses[] = { "", "index", "index.html/", "/index.html", "assets/../index.html",
                             "assets/app-1.JS", "assets//app-1.js", "assets/app-1.js.map",
                             "./index.html", "assets" };
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++)
        assert_null(static_find(table, 2, misses[i]));
    assert_null(static_find(table, 2, NULL));
    assert_null(static_find(table, 0, "index.html"));
}

static void gzip_is_accepted_unless_refused(void **state)
{
    (void)state;
    const char *yes[] = { "gzip", "GZIP", "deflate, gzip", "br;q=1.0, gzip;q=0.5", "*",
                          "gzip ;q=0.001", " gzip , br" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(static_accepts_gzip(yes[i]));
    const char *no[] = { NULL, "", "identity", "br, deflate", "gzip;q=0", "gzip; q=0.000",
                         "x-gzip2", "gzipx", "*;q=0", "gzip;q=0, br" };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(static_accepts_gzip(no[i]));
}

static void etags_match_whole_and_weak_and_star(void **state)
{
    (void)state;
    assert_true(static_etag_matches("\"e1\"", "\"e1\""));
    assert_true(static_etag_matches("W/\"e1\"", "\"e1\""));
    assert_true(static_etag_matches("\"x\", \"e1\"", "\"e1\""));
    assert_true(static_etag_matches("*", "\"e1\""));
    assert_false(static_etag_matches("\"e11\"", "\"e1\""));
    assert_false(static_etag_matches("\"e\"", "\"e1\""));
    assert_false(static_etag_matches("e1", "\"e1\""));
    assert_false(static_etag_matches("", "\"e1\""));
    assert_false(static_etag_matches(NULL, "\"e1\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_is_by_whole_name),
        cmocka_unit_test(gzip_is_accepted_unless_refused),
        cmocka_unit_test(etags_match_whole_and_weak_and_star),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
