/* Rows as types: a named statement's result read through a spec that
 * names each column and where its value goes, in the manner of GNUnet's
 * and Taler's pq helpers. No file outside db/ touches a PGresult or a
 * column number.
 *
 * Usage:
 *
 *     long long id; char status[32]; bool reopened; long long assignee;
 *     const struct db_field spec[] = {
 *         DB_I64("id", &id), DB_TEXT("status", status),
 *         DB_BOOL("reopened", &reopened), DB_I64_N("assignee_id", &assignee),
 *         DB_END,
 *     };
 *     const char *p[] = { public_id };
 *     enum db_status st;
 *     int found = db_one(c, STMT_SUGGESTION_LOCK, p, spec, &st);
 *     if (found < 0) return st;        // failed, logged
 *     if (found == 0) ...              // no row
 *
 * Each column is found by its name once per result (give computed
 * columns an alias: "... AS overdue"); a spec that names a missing column,
 * a value of another type than its field's, or an SQL NULL in a field
 * that does not allow one is a bug: logged with the statement's and the
 * column's name, and the call fails with DB_ERROR. Values are never
 * logged.
 *
 * Ownership: DB_TEXT copies into the caller's array (too long: DB_ERROR);
 * DB_TEXT_DUP hands over a malloc'd copy (the caller free()s it; when a
 * later field of the same row fails, the layer frees it and leaves NULL,
 * as for DB_JSON); DB_TEXT_REF
 * borrows the result's text, valid only inside a db_each callback (or a
 * db_batch one) for that row; DB_JSON hands over a new reference (the
 * caller json_decref()s it).
 */
#ifndef YIJIAN_DB_ROWS_H
#define YIJIAN_DB_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "db/db.h"

enum db_kind {
    DB_KIND_END = 0,
    DB_KIND_INT64,    /* long long: int2, int4, int8 */
    DB_KIND_INT32,    /* int: int2, int4, or int8 within range */
    DB_KIND_DOUBLE,   /* double: float4, float8, numeric, integers */
    DB_KIND_BOOL,     /* bool */
    DB_KIND_TEXT,     /* char[size]: any type, as PostgreSQL prints it */
    DB_KIND_TEXT_DUP, /* char *: a malloc'd copy */
    DB_KIND_TEXT_REF, /* const char *: borrowed, for the row's callback */
    DB_KIND_TIME,     /* time_t: timestamptz, an integer of Unix seconds, or
                       * RFC 3339 text in UTC ("2026-01-02T03:04:05Z") */
    DB_KIND_JSON,     /* json_t *: json, jsonb or text holding JSON */
    DB_KIND_ISNULL,   /* bool: whether the column is SQL NULL (any type) */
};

struct db_field {
    const char *name;
    enum db_kind kind;
    void *dst;
    size_t size;   /* DB_TEXT: the array's size */
    bool nullable; /* SQL NULL gives 0, false, "" or a NULL pointer */
};

/* The pointer checks make a destination of the wrong C type a compile
 * error (-Werror). */
#define DB_FIELD_(n, k, p, t, z, nl) \
    { .name = (n), .kind = (k), .dst = (void *)(1 ? (p) : (t *)0), .size = (z), .nullable = (nl) }
#define DB_I64(n, p)       DB_FIELD_(n, DB_KIND_INT64, p, long long, 0, false)
#define DB_I64_N(n, p)     DB_FIELD_(n, DB_KIND_INT64, p, long long, 0, true)
#define DB_I32(n, p)       DB_FIELD_(n, DB_KIND_INT32, p, int, 0, false)
#define DB_I32_N(n, p)     DB_FIELD_(n, DB_KIND_INT32, p, int, 0, true)
#define DB_DOUBLE(n, p)    DB_FIELD_(n, DB_KIND_DOUBLE, p, double, 0, false)
#define DB_DOUBLE_N(n, p)  DB_FIELD_(n, DB_KIND_DOUBLE, p, double, 0, true)
#define DB_BOOL(n, p)      DB_FIELD_(n, DB_KIND_BOOL, p, bool, 0, false)
#define DB_BOOL_N(n, p)    DB_FIELD_(n, DB_KIND_BOOL, p, bool, 0, true)
/* buf must be an array (its size is taken with sizeof). */
#define DB_TEXT(n, buf)    DB_FIELD_(n, DB_KIND_TEXT, buf, char, sizeof(buf), false)
#define DB_TEXT_N(n, buf)  DB_FIELD_(n, DB_KIND_TEXT, buf, char, sizeof(buf), true)
#define DB_TEXT_DUP(n, p)  DB_FIELD_(n, DB_KIND_TEXT_DUP, p, char *, 0, false)
#define DB_TEXT_DUP_N(n, p) DB_FIELD_(n, DB_KIND_TEXT_DUP, p, char *, 0, true)
#define DB_TEXT_REF(n, p)  DB_FIELD_(n, DB_KIND_TEXT_REF, p, const char *, 0, false)
#define DB_TEXT_REF_N(n, p) DB_FIELD_(n, DB_KIND_TEXT_REF, p, const char *, 0, true)
#define DB_TIME(n, p)      DB_FIELD_(n, DB_KIND_TIME, p, time_t, 0, false)
#define DB_TIME_N(n, p)    DB_FIELD_(n, DB_KIND_TIME, p, time_t, 0, true)
#define DB_JSON(n, p)      DB_FIELD_(n, DB_KIND_JSON, p, json_t *, 0, false)
#define DB_JSON_N(n, p)    DB_FIELD_(n, DB_KIND_JSON, p, json_t *, 0, true)
#define DB_ISNULL(n, p)    DB_FIELD_(n, DB_KIND_ISNULL, p, bool, 0, true)
#define DB_END             { .name = NULL, .kind = DB_KIND_END }

/* The most fields one spec may hold. */
#define DB_SPEC_MAX 64

/*
 * Called for each row once the spec's destinations hold it (row counts
 * from 0). DB_OK goes on to the next row; anything else stops the walk,
 * and the call that made it fails with that status (DB_ABORT for a
 * stop the caller chose).
 */
typedef enum db_status (*db_row_fn)(void *cls, size_t row);

/*
 * Runs statement id with params (text; NULL is SQL NULL) and reads at
 * most one row into spec (NULL: only whether there is one). Returns 1
 * when a row was read, 0 when there was none, -1 on failure with *st set
 * (more than one row is a failure: DB_ERROR). *st is DB_OK otherwise.
 */
int db_one(struct db_conn *c, enum stmt id, const char *const *params,
           const struct db_field *spec, enum db_status *st);

/*
 * Runs statement id and reads every row into spec, calling fn (may be
 * NULL) after each. Returns the number of rows, or -1 with *st set.
 */
long long db_each(struct db_conn *c, enum stmt id, const char *const *params,
                  const struct db_field *spec, db_row_fn fn, void *cls, enum db_status *st);

/* Runs statement id for its effect: DB_OK or why not. *affected (may be
 * NULL) gets the rows it inserted, updated, deleted or returned. */
enum db_status db_run(struct db_conn *c, enum stmt id, const char *const *params,
                      long long *affected);

/* One statement of a db_batch: what db_each takes, and its row count. */
struct db_query {
    enum stmt id;
    const char *const *params;
    const struct db_field *spec; /* NULL: rows are only counted */
    db_row_fn fn;                /* NULL: at most one row (more: DB_ERROR) */
    void *cls;
    long long rows; /* out */
};

/*
 * Runs q[0..n-1] in one round trip (db_exec_batch: the same rules, at
 * most DB_BATCH_MAX), then reads each result as db_each would, in
 * order. *st is DB_OK or why the batch, or the reading of one of its
 * results, failed.
 */
void db_batch(struct db_conn *c, size_t n, struct db_query q[], enum db_status *st);

/*
 * db_transaction whose COMMIT carries the reads q[0..n-1]
 * (db_transaction_reading: in its pipeline, seeing its writes), read as
 * db_batch reads them once the transaction committed; when it did not,
 * none is read (q[i].rows stays 0) and the status says why. A reading
 * that fails after the commit fails the call (the change is made).
 */
enum db_status db_transaction_batch(struct db_conn *c, db_tx_fn fn, void *arg, size_t n,
                                    struct db_query q[]);

/* ---- rows straight to JSON ---- */

/* A column shown as a JSON member: key in the object, the column by
 * name, and its JSON type; SQL NULL is always JSON null. */
enum db_json_type {
    DBJ_END = 0,
    DBJ_STRING, /* any column, as PostgreSQL prints it */
    DBJ_INT,    /* int2, int4, int8 */
    DBJ_NUMBER, /* float4, float8, numeric, integers */
    DBJ_BOOL,   /* bool */
    DBJ_JSON,   /* json, jsonb, or text holding JSON */
};
struct db_json_col {
    const char *key, *column;
    enum db_json_type type;
};
#define DBJ(key, column, type) { key, column, DBJ_##type }
#define DBJ_DONE { NULL, NULL, DBJ_END }

/*
 * Runs statement id and answers its rows as a JSON array of objects, each
 * with the members cols names in that order (a new reference; caller
 * json_decref()s), or NULL with *st set; a column that is missing or of
 * another type is a logged DB_ERROR, as for a spec.
 */
json_t *db_json_rows(struct db_conn *c, enum stmt id, const char *const *params,
                     const struct db_json_col *cols, enum db_status *st);

/*
 * The same for a statement of at most one row: *out gets its object (a
 * new reference) or NULL when there is no row. Returns 1, 0, or -1 on
 * failure with *st set.
 */
int db_json_one(struct db_conn *c, enum stmt id, const char *const *params,
                const struct db_json_col *cols, json_t **out, enum db_status *st);

/* The JSON value of column in the one row statement id answers (a new
 * reference), or NULL with *st set (no row: DB_ERROR, logged). */
json_t *db_json_value(struct db_conn *c, enum stmt id, const char *const *params,
                      const char *column, enum db_status *st);

/* db_json_rows on a result (for db/ and its unit tests). */
json_t *db_json_result(const PGresult *r, const char *stmt, const struct db_json_col *cols,
                       enum db_status *st);

/*
 * What the calls above do with a result: reads r, the result of statement
 * stmt (its name, for the log), through spec; the columns are looked up
 * once, then each row is read and fn called. max_one: at most one row
 * (more is DB_ERROR) and no callback, so no borrowed text. *rows gets the
 * count read. For db/ and its unit tests only: no file outside db/ holds
 * a PGresult.
 */
enum db_status db_read_result(const PGresult *r, const char *stmt, const struct db_field *spec,
                              db_row_fn fn, void *cls, bool max_one, long long *rows);

#endif
