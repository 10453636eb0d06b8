/* Tests service/src/db/rows.c: reading results through a spec, on
 * results built by libpq itself (PQmakeEmptyPGresult, PQsetvalue) as the
 * server would send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db/rows.h"

struct col {
    const char *name;
    Oid type;
};

/* A result with the columns cols[0..ncols-1] and rows of text values
 * (NULL: SQL NULL), row by row. */
static PGresult *result(const struct col *cols, int ncols, const char *const *vals, int nrows)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(r);
    PGresAttDesc attrs[16];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < ncols; i++) {
        attrs[i].name = (char *)cols[i].name;
        attrs[i].typid = cols[i].type;
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_int_equal(PQsetResultAttrs(r, ncols, attrs), 1);
    for (int row = 0; row < nrows; row++)
        for (int i = 0; i < ncols; i++) {
            const char *v = vals[row * ncols + i];
            assert_int_equal(PQsetvalue(r, row, i, (char *)v, v ? (int)strlen(v) : -1), 1);
        }
    return r;
}

static const struct col lock_cols[] = {
    { "id", 20 }, { "status", 25 }, { "author_id", 20 }, { "reopened", 16 },
    { "at", 1184 }, { "change", 3802 }, { "score", 701 },
};

static void one_row_fills_every_typed_field_by_name(void **state)
{
    (void)state;
    const char *vals[] = { "42", "accepted", NULL, "t", "2026-01-02 03:04:05.5+08", "{\"a\":1}",
                           "2.5" };
    PGresult *r = result(lock_cols, 7, vals, 1);
    long long id = 0, author = 7;
    char status[16];
    bool reopened = false, no_author = false;
    time_t at = 0;
    json_t *change = NULL;
    double score = 0;
    char *dup = NULL;
    int id32 = 0;
    /* Not in the column order: fields are found by name. */
    const struct db_field spec[] = {
        DB_BOOL("reopened", &reopened), DB_I64("id", &id), DB_TEXT("status", status),
        DB_I64_N("author_id", &author), DB_ISNULL("author_id", &no_author), DB_TIME("at", &at),
        DB_JSON("change", &change), DB_DOUBLE("score", &score), DB_TEXT_DUP("status", &dup),
        DB_I32("id", &id32), DB_END,
    };
    long long rows = -1;
    assert_int_equal(db_read_result(r, "t", spec, NULL, NULL, true, &rows), DB_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(id, 42);
    assert_int_equal(id32, 42);
    assert_string_equal(status, "accepted");
    assert_string_equal(dup, "accepted");
    assert_int_equal(author, 0);
    assert_true(no_author);
    assert_true(reopened);
    assert_int_equal((long long)at, 1767294245LL); /* 2026-01-01T19:04:05Z */
    assert_int_equal(json_integer_value(json_object_get(change, "a")), 1);
    assert_true(score == 2.5);
    free(dup);
    json_decref(change);
    PQclear(r);
}

static void a_missing_column_is_an_error(void **state)
{
    (void)state;
    const char *vals[] = { "1", "submitted", "3", "f", "2026-01-02T03:04:05Z", "{}", "1" };
    PGresult *r = result(lock_cols, 7, vals, 1);
    long long x;
    const struct db_field spec[] = { DB_I64("assignee_id", &x), DB_END };
    long long rows;
    assert_int_equal(db_read_result(r, "t", spec, NULL, NULL, true, &rows), DB_ERROR);
    PQclear(r);
}

static void a_type_that_does_not_fit_is_an_error(void **state)
{
    (void)state;
    const char *vals[] = { "1", "submitted", "3", "f", "2026-01-02T03:04:05Z", "{}", "1" };
    PGresult *r = result(lock_cols, 7, vals, 1);
    long long rows;
    long long n;
    bool b;
    const struct db_field text_as_int[] = { DB_I64("status", &n), DB_END };
    assert_int_equal(db_read_result(r, "t", text_as_int, NULL, NULL, true, &rows), DB_ERROR);
    const struct db_field int_as_bool[] = { DB_BOOL("id", &b), DB_END };
    assert_int_equal(db_read_result(r, "t", int_as_bool, NULL, NULL, true, &rows), DB_ERROR);
    PQclear(r);
}

static void null_is_refused_unless_the_field_allows_it(void **state)
{
    (void)state;
    const char *vals[] = { "1", "submitted", NULL, "f", "2026-01-02T03:04:05Z", "{}", "1" };
    PGresult *r = result(lock_cols, 7, vals, 1);
    long long author;
    char *dup = NULL;
    long long rows;
    /* The copy made before the failing field is freed, not leaked. */
    const struct db_field strict[] = { DB_TEXT_DUP("status", &dup), DB_I64("author_id", &author),
                                       DB_END };
    assert_int_equal(db_read_result(r, "t", strict, NULL, NULL, true, &rows), DB_ERROR);
    assert_null(dup);
    const struct db_field lenient[] = { DB_I64_N("author_id", &author), DB_END };
    assert_int_equal(db_read_result(r, "t", lenient, NULL, NULL, true, &rows), DB_OK);
    PQclear(r);
}

static void text_longer_than_its_array_is_an_error(void **state)
{
    (void)state;
    const char *vals[] = { "1", "submitted", NULL, "f", "2026-01-02T03:04:05Z", "{}", "1" };
    PGresult *r = result(lock_cols, 7, vals, 1);
    char small[4];
    long long rows;
    const struct db_field spec[] = { DB_TEXT("status", small), DB_END };
    assert_int_equal(db_read_result(r, "t", spec, NULL, NULL, true, &rows), DB_ERROR);
    PQclear(r);
}

struct collect {
    long long sum;
    char seen[64];
    const char *status;
    long long id;
};

static enum db_status add_row(void *cls, size_t row)
{
    struct collect *k = cls;
    (void)row;
    k->sum += k->id;
    strncat(k->seen, k->status, sizeof k->seen - strlen(k->seen) - 1);
    return k->sum >= 100 ? DB_ABORT : DB_OK;
}

static void every_row_reaches_the_callback_with_borrowed_text(void **state)
{
    (void)state;
    const char *vals[] = { "1", "a", NULL, "f", "2026-01-02T03:04:05Z", "{}", "1",
                           "2", "b", NULL, "t", "2026-01-02T03:04:05Z", "{}", "1",
                           "3", "c", NULL, "t", "2026-01-02T03:04:05Z", "{}", "1" };
    PGresult *r = result(lock_cols, 7, vals, 3);
    struct collect k = { 0 };
    const struct db_field spec[] = { DB_I64("id", &k.id), DB_TEXT_REF("status", &k.status),
                                     DB_END };
    long long rows;
    assert_int_equal(db_read_result(r, "t", spec, add_row, &k, false, &rows), DB_OK);
    assert_int_equal(rows, 3);
    assert_int_equal(k.sum, 6);
    assert_string_equal(k.seen, "abc");
    /* At most one row: three is an error; borrowed text needs a callback. */
    const struct db_field ids[] = { DB_I64("id", &k.id), DB_END };
    assert_int_equal(db_read_result(r, "t", ids, NULL, NULL, true, &rows), DB_ERROR);
    assert_int_equal(db_read_result(r, "t", spec, NULL, NULL, false, &rows), DB_ERROR);
    /* Counting only. */
    assert_int_equal(db_read_result(r, "t", NULL, NULL, NULL, false, &rows), DB_OK);
    assert_int_equal(rows, 3);
    PQclear(r);
}

static void a_callback_stops_the_walk(void **state)
{
    (void)state;
    const char *vals[] = { "60", "a", NULL, "f", "2026-01-02T03:04:05Z", "{}", "1",
                           "60", "b", NULL, "t", "2026-01-02T03:04:05Z", "{}", "1",
                           "60", "c", NULL, "t", "2026-01-02T03:04:05Z", "{}", "1" };
    PGresult *r = result(lock_cols, 7, vals, 3);
    struct collect k = { 0 };
    const struct db_field spec[] = { DB_I64("id", &k.id), DB_TEXT_REF("status", &k.status),
                                     DB_END };
    long long rows;
    assert_int_equal(db_read_result(r, "t", spec, add_row, &k, false, &rows), DB_ABORT);
    assert_int_equal(rows, 2);
    assert_string_equal(k.seen, "ab");
    PQclear(r);
}

static void times_are_read_from_epochs_and_rfc3339(void **state)
{
    (void)state;
    const struct col cols[] = { { "e", 20 }, { "r", 25 }, { "bad", 25 } };
    const char *vals[] = { "1767225600", "2026-01-01T00:00:00Z", "2026-01-01" };
    PGresult *r = result(cols, 3, vals, 1);
    time_t e = 0, t = 0;
    long long rows;
    const struct db_field spec[] = { DB_TIME("e", &e), DB_TIME("r", &t), DB_END };
    assert_int_equal(db_read_result(r, "t", spec, NULL, NULL, true, &rows), DB_OK);
    assert_int_equal((long long)e, 1767225600LL);
    assert_int_equal((long long)t, 1767225600LL);
    const struct db_field bad[] = { DB_TIME("bad", &t), DB_END };
    assert_int_equal(db_read_result(r, "t", bad, NULL, NULL, true, &rows), DB_ERROR);
    PQclear(r);
}

static void rows_become_json_objects_by_column_name(void **state)
{
    (void)state;
    const char *vals[] = { "7", "accepted", NULL, "t", "2026-01-02T03:04:05Z", "{\"a\":[1]}", "1.5" };
    PGresult *r = result(lock_cols, 7, vals, 1);
    const struct db_json_col cols[] = {
        DBJ("id", "id", INT), DBJ("state", "status", STRING), DBJ("author", "author_id", INT),
        DBJ("reopened", "reopened", BOOL), DBJ("change", "change", JSON),
        DBJ("score", "score", NUMBER), DBJ_DONE,
    };
    enum db_status st;
    json_t *rows = db_json_result(r, "t", cols, &st);
    assert_int_equal(st, DB_OK);
    assert_int_equal(json_array_size(rows), 1);
    char *text = json_dumps(json_array_get(rows, 0), JSON_COMPACT);
    assert_string_equal(text, "{\"id\":7,\"state\":\"accepted\",\"author\":null,"
                              "\"reopened\":true,\"change\":{\"a\":[1]},\"score\":1.5}");
    free(text);
    json_decref(rows);
    const struct db_json_col wrong[] = { DBJ("id", "status", INT), DBJ_DONE };
    assert_null(db_json_result(r, "t", wrong, &st));
    assert_int_equal(st, DB_ERROR);
    const struct db_json_col missing[] = { DBJ("x", "nope", STRING), DBJ_DONE };
    assert_null(db_json_result(r, "t", missing, &st));
    assert_int_equal(st, DB_ERROR);
    PQclear(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_row_fills_every_typed_field_by_name),
        cmocka_unit_test(a_missing_column_is_an_error),
        cmocka_unit_test(a_type_that_does_not_fit_is_an_error),
        cmocka_unit_test(null_is_refused_unless_the_field_allows_it),
        cmocka_unit_test(text_longer_than_its_array_is_an_error),
        cmocka_unit_test(every_row_reaches_the_callback_with_borrowed_text),
        cmocka_unit_test(a_callback_stops_the_walk),
        cmocka_unit_test(times_are_read_from_epochs_and_rfc3339),
        cmocka_unit_test(rows_become_json_objects_by_column_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
