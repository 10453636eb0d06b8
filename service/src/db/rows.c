/* Rows as types (db/rows.h): a result read through a spec of named,
 * typed fields. */
#include "db/rows.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* PostgreSQL's type oids (pg_type.dat), as PQftype answers them. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_NUMERIC 1700
#define OID_JSONB 3802
#define OID_UNKNOWN 705

static bool is_int(Oid t) { return t == OID_INT2 || t == OID_INT4 || t == OID_INT8 || t == OID_OID; }
static bool is_text(Oid t)
{
    return t == OID_TEXT || t == OID_VARCHAR || t == OID_BPCHAR || t == OID_NAME || t == OID_UNKNOWN;
}

/* Whether a column of type t may fill a field of kind k. */
static bool type_fits(enum db_kind k, Oid t)
{
    switch (k) {
    case DB_KIND_INT64:
    case DB_KIND_INT32:
        return is_int(t);
    case DB_KIND_DOUBLE:
        return is_int(t) || t == OID_FLOAT4 || t == OID_FLOAT8 || t == OID_NUMERIC;
    case DB_KIND_BOOL:
        return t == OID_BOOL;
    case DB_KIND_TIME:
        return t == OID_TIMESTAMPTZ || t == OID_TIMESTAMP || is_int(t) || t == OID_FLOAT8 ||
               t == OID_NUMERIC || is_text(t);
    case DB_KIND_JSON:
        return t == OID_JSON || t == OID_JSONB || is_text(t);
    case DB_KIND_TEXT:
    case DB_KIND_TEXT_DUP:
    case DB_KIND_TEXT_REF:
    case DB_KIND_ISNULL:
        return true; /* any value as PostgreSQL prints it */
    case DB_KIND_END:
        break;
    }
    return false;
}

static void log_spec_error(const char *stmt, const char *column, const char *what)
{
    json_t *f = json_pack("{s:s, s:s}", "statement", stmt, "column", column ? column : "");
    log_json(LOG_ERROR, what, f);
    json_decref(f);
}

static bool parse_ll(const char *v, long long *out)
{
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return false;
    *out = x;
    return true;
}

/* "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+HH[:MM]|-HH[:MM]]": RFC 3339 and
 * PostgreSQL's ISO output of a timestamptz (DateStyle ISO). */
static bool parse_time(const char *v, time_t *out)
{
    int y, mo, d, h, mi, s, n = 0;
    char sep;
    if (sscanf(v, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &n) != 7 ||
        (sep != 'T' && sep != ' '))
        return false;
    const char *p = v + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh = 0, om = 0, k = 0;
        if (sscanf(p + 1, "%2d%n", &oh, &k) != 1)
            return false;
        p += 1 + k;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &om, &k) != 1)
                return false;
            p += 1 + k;
        }
        offset = sign * (oh * 3600L + om * 60L);
    }
    if (*p)
        return false;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = s };
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
        return false;
    *out = t - offset;
    return true;
}

/* Sets f's destination to its zero value. */
static void set_zero(const struct db_field *f)
{
    switch (f->kind) {
    case DB_KIND_INT64: *(long long *)f->dst = 0; break;
    case DB_KIND_INT32: *(int *)f->dst = 0; break;
    case DB_KIND_DOUBLE: *(double *)f->dst = 0; break;
    case DB_KIND_BOOL: *(bool *)f->dst = false; break;
    case DB_KIND_TEXT: ((char *)f->dst)[0] = '\0'; break;
    case DB_KIND_TEXT_DUP: *(char **)f->dst = NULL; break;
    case DB_KIND_TEXT_REF: *(const char **)f->dst = NULL; break;
    case DB_KIND_TIME: *(time_t *)f->dst = 0; break;
    case DB_KIND_JSON: *(json_t **)f->dst = NULL; break;
    case DB_KIND_ISNULL: *(bool *)f->dst = true; break;
    case DB_KIND_END: break;
    }
}

/* Frees what fields [0, n) handed over for the row being read. */
static void release_row(const struct db_field *spec, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (spec[i].kind == DB_KIND_TEXT_DUP) {
            free(*(char **)spec[i].dst);
            *(char **)spec[i].dst = NULL;
        } else if (spec[i].kind == DB_KIND_JSON) {
            json_decref(*(json_t **)spec[i].dst);
            *(json_t **)spec[i].dst = NULL;
        }
    }
}

/* Reads value v (not NULL) of a column of type t into f; NULL when it
 * fits, else what went wrong. */
static const char *set_value(const struct db_field *f, Oid t, const char *v, int len)
{
    long long x;
    switch (f->kind) {
    case DB_KIND_INT64:
        if (!parse_ll(v, &x))
            return "database value is not an integer";
        *(long long *)f->dst = x;
        return NULL;
    case DB_KIND_INT32:
        if (!parse_ll(v, &x) || x < INT_MIN || x > INT_MAX)
            return "database value is not a 32-bit integer";
        *(int *)f->dst = (int)x;
        return NULL;
    case DB_KIND_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end || !isfinite(d))
            return "database value is not a number";
        *(double *)f->dst = d;
        return NULL;
    }
    case DB_KIND_BOOL:
        if (strcmp(v, "t") && strcmp(v, "f"))
            return "database value is not a boolean";
        *(bool *)f->dst = v[0] == 't';
        return NULL;
    case DB_KIND_TEXT:
        if ((size_t)len >= f->size)
            return "database text longer than its field";
        memcpy(f->dst, v, (size_t)len + 1);
        return NULL;
    case DB_KIND_TEXT_DUP: {
        char *copy = malloc((size_t)len + 1);
        if (!copy)
            return "out of memory";
        memcpy(copy, v, (size_t)len + 1);
        *(char **)f->dst = copy;
        return NULL;
    }
    case DB_KIND_TEXT_REF:
        *(const char **)f->dst = v;
        return NULL;
    case DB_KIND_TIME: {
        time_t tt;
        if (is_int(t)) {
            if (!parse_ll(v, &x))
                return "database value is not a time";
            tt = (time_t)x;
        } else if (t == OID_FLOAT8 || t == OID_NUMERIC) {
            char *end;
            double d = strtod(v, &end);
            if (end == v || *end || !isfinite(d))
                return "database value is not a time";
            tt = (time_t)d; /* towards zero; a time before 1970 rounds down */
            if ((double)tt > d)
                tt--;
        } else if (!parse_time(v, &tt)) {
            return "database value is not a time";
        }
        *(time_t *)f->dst = tt;
        return NULL;
    }
    case DB_KIND_JSON: {
        json_t *j = json_loadb(v, (size_t)len, JSON_DECODE_ANY, NULL);
        if (!j)
            return "database value is not JSON";
        *(json_t **)f->dst = j;
        return NULL;
    }
    case DB_KIND_ISNULL:
        *(bool *)f->dst = false;
        return NULL;
    case DB_KIND_END:
        break;
    }
    return "bad field kind";
}

/* The one place that reads a PGresult's values. */
enum db_status db_read_result(const PGresult *r, const char *stmt, const struct db_field *spec,
                              db_row_fn fn, void *cls, bool max_one, long long *rows)
{
    *rows = 0;
    int cols[DB_SPEC_MAX];
    size_t nf = 0;
    for (; spec && spec[nf].kind != DB_KIND_END; nf++) {
        const struct db_field *f = &spec[nf];
        if (nf == DB_SPEC_MAX) {
            log_spec_error(stmt, f->name, "database spec has too many fields");
            return DB_ERROR;
        }
        cols[nf] = f->name ? PQfnumber(r, f->name) : -1;
        if (cols[nf] < 0) {
            log_spec_error(stmt, f->name, "database result has no such column");
            return DB_ERROR;
        }
        if (!type_fits(f->kind, PQftype(r, cols[nf]))) {
            log_spec_error(stmt, f->name, "database column type does not fit its field");
            return DB_ERROR;
        }
        if (f->kind == DB_KIND_TEXT_REF && !fn) {
            log_spec_error(stmt, f->name, "borrowed database text outside a row callback");
            return DB_ERROR;
        }
    }
    int n = PQntuples(r);
    if (max_one && n > 1) {
        log_spec_error(stmt, NULL, "database statement answered more than one row");
        return DB_ERROR;
    }
    for (int row = 0; row < n; row++) {
        for (size_t i = 0; i < nf; i++) {
            const struct db_field *f = &spec[i];
            const char *fault = NULL;
            if (PQgetisnull(r, row, cols[i])) {
                if (f->nullable)
                    set_zero(f);
                else
                    fault = "database NULL in a field that allows none";
            } else {
                fault = set_value(f, PQftype(r, cols[i]), PQgetvalue(r, row, cols[i]),
                                PQgetlength(r, row, cols[i]));
            }
            if (fault) {
                release_row(spec, i);
                log_spec_error(stmt, f->name, fault);
                return DB_ERROR;
            }
        }
        *rows = row + 1;
        if (fn) {
            enum db_status st = fn(cls, (size_t)row);
            if (st != DB_OK)
                return st;
        }
    }
    return DB_OK;
}

int db_one(struct db_conn *c, enum stmt id, const char *const *params,
           const struct db_field *spec, enum db_status *st)
{
    PGresult *r = db_exec(c, id, params, st);
    if (!r)
        return -1;
    long long rows;
    *st = db_read_result(r, stmt_defs[id].name, spec, NULL, NULL, true, &rows);
    PQclear(r);
    return *st == DB_OK ? (int)rows : -1;
}

long long db_each(struct db_conn *c, enum stmt id, const char *const *params,
                  const struct db_field *spec, db_row_fn fn, void *cls, enum db_status *st)
{
    PGresult *r = db_exec(c, id, params, st);
    if (!r)
        return -1;
    long long rows;
    *st = db_read_result(r, stmt_defs[id].name, spec, fn, cls, false, &rows);
    PQclear(r);
    return *st == DB_OK ? rows : -1;
}

enum db_status db_run(struct db_conn *c, enum stmt id, const char *const *params,
                      long long *affected)
{
    enum db_status st;
    PGresult *r = db_exec(c, id, params, &st);
    if (!r)
        return st;
    if (affected) {
        const char *n = PQcmdTuples(r);
        long long x = 0;
        *affected = n && *n && parse_ll(n, &x) ? x : (long long)PQntuples(r);
    }
    PQclear(r);
    return DB_OK;
}

void db_batch(struct db_conn *c, size_t n, struct db_query q[], enum db_status *st)
{
    if (n == 0 || n > DB_BATCH_MAX) {
        log_spec_error("batch", NULL, "database batch of a size it cannot take");
        *st = DB_ERROR;
        return;
    }
    enum stmt ids[DB_BATCH_MAX];
    const char *const *params[DB_BATCH_MAX];
    PGresult *got[DB_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        ids[i] = q[i].id;
        params[i] = q[i].params;
        q[i].rows = 0;
    }
    db_exec_batch(c, n, ids, (const char *const *const *)params, got, st);
    if (*st != DB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (*st == DB_OK)
            *st = db_read_result(got[i], stmt_defs[q[i].id].name, q[i].spec, q[i].fn, q[i].cls,
                              !q[i].fn, &q[i].rows);
        PQclear(got[i]);
    }
}

enum db_status db_transaction_batch(struct db_conn *c, db_tx_fn fn, void *arg, size_t n,
                                    struct db_query q[])
{
    if (n > DB_BATCH_MAX) {
        log_spec_error("batch", NULL, "database batch of a size it cannot take");
        return DB_ERROR;
    }
    enum stmt ids[DB_BATCH_MAX] = { 0 };
    const char *const *params[DB_BATCH_MAX] = { NULL };
    PGresult *got[DB_BATCH_MAX] = { NULL };
    for (size_t i = 0; i < n; i++) {
        ids[i] = q[i].id;
        params[i] = q[i].params;
        q[i].rows = 0;
    }
    enum db_status st = db_transaction_reading(c, fn, arg, n, ids,
                                               (const char *const *const *)params, got);
    for (size_t i = 0; i < n; i++) {
        if (st == DB_OK && got[i])
            st = db_read_result(got[i], stmt_defs[q[i].id].name, q[i].spec, q[i].fn, q[i].cls,
                                !q[i].fn, &q[i].rows);
        PQclear(got[i]);
    }
    return st;
}

/* ------------------------------------------------------------------ */
/* rows straight to JSON                                               */
/* ------------------------------------------------------------------ */

static bool json_type_fits(enum db_json_type t, Oid o)
{
    switch (t) {
    case DBJ_STRING: return true;
    case DBJ_INT: return type_fits(DB_KIND_INT64, o);
    case DBJ_NUMBER: return type_fits(DB_KIND_DOUBLE, o);
    case DBJ_BOOL: return type_fits(DB_KIND_BOOL, o);
    case DBJ_JSON: return type_fits(DB_KIND_JSON, o);
    case DBJ_END: break;
    }
    return false;
}

json_t *db_json_result(const PGresult *r, const char *stmt, const struct db_json_col *cols,
                       enum db_status *st)
{
    int idx[DB_SPEC_MAX];
    size_t nc = 0;
    for (; cols[nc].type != DBJ_END; nc++) {
        if (nc == DB_SPEC_MAX) {
            log_spec_error(stmt, cols[nc].column, "database spec has too many fields");
            *st = DB_ERROR;
            return NULL;
        }
        idx[nc] = PQfnumber(r, cols[nc].column);
        if (idx[nc] < 0 || !json_type_fits(cols[nc].type, PQftype(r, idx[nc]))) {
            log_spec_error(stmt, cols[nc].column, idx[nc] < 0
                               ? "database result has no such column"
                               : "database column type does not fit its field");
            *st = DB_ERROR;
            return NULL;
        }
    }
    json_t *rows = json_array();
    for (int row = 0; row < PQntuples(r); row++) {
        json_t *o = json_object();
        for (size_t i = 0; i < nc; i++) {
            const char *v = PQgetvalue(r, row, idx[i]);
            size_t len = (size_t)PQgetlength(r, row, idx[i]);
            json_t *x = NULL;
            long long n;
            if (PQgetisnull(r, row, idx[i]))
                x = json_null();
            else if (cols[i].type == DBJ_STRING)
                x = json_stringn(v, len);
            else if (cols[i].type == DBJ_INT && parse_ll(v, &n))
                x = json_integer((json_int_t)n);
            else if (cols[i].type == DBJ_NUMBER)
                x = json_real(strtod(v, NULL));
            else if (cols[i].type == DBJ_BOOL && (!strcmp(v, "t") || !strcmp(v, "f")))
                x = json_boolean(v[0] == 't');
            else if (cols[i].type == DBJ_JSON)
                x = json_loadb(v, len, JSON_DECODE_ANY, NULL);
            if (!x) {
                log_spec_error(stmt, cols[i].column, "database value does not fit its field");
                json_decref(o);
                json_decref(rows);
                *st = DB_ERROR;
                return NULL;
            }
            json_object_set_new(o, cols[i].key, x);
        }
        json_array_append_new(rows, o);
    }
    *st = DB_OK;
    return rows;
}

json_t *db_json_rows(struct db_conn *c, enum stmt id, const char *const *params,
                     const struct db_json_col *cols, enum db_status *st)
{
    PGresult *r = db_exec(c, id, params, st);
    if (!r)
        return NULL;
    json_t *rows = db_json_result(r, stmt_defs[id].name, cols, st);
    PQclear(r);
    return rows;
}

int db_json_one(struct db_conn *c, enum stmt id, const char *const *params,
                const struct db_json_col *cols, json_t **out, enum db_status *st)
{
    *out = NULL;
    json_t *rows = db_json_rows(c, id, params, cols, st);
    if (!rows)
        return -1;
    size_t n = json_array_size(rows);
    if (n > 1) {
        log_spec_error(stmt_defs[id].name, NULL, "database statement answered more than one row");
        json_decref(rows);
        *st = DB_ERROR;
        return -1;
    }
    if (n == 1)
        *out = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return (int)n;
}

json_t *db_json_value(struct db_conn *c, enum stmt id, const char *const *params,
                      const char *column, enum db_status *st)
{
    json_t *v = NULL;
    const struct db_field spec[] = { { .name = column, .kind = DB_KIND_JSON, .dst = &v },
                                     DB_END };
    int found = db_one(c, id, params, spec, st);
    if (found == 0) {
        log_spec_error(stmt_defs[id].name, column, "database statement answered no row");
        *st = DB_ERROR;
    }
    return found == 1 ? v : NULL;
}
