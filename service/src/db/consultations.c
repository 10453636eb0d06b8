/* Consultations' rows as typed values (db/consultations.h): the one place
 * that knows the columns of the consultation statements. */
#include "db/consultations.h"

#include "db/rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *text_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static long long int_at(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool bool_at(PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* A JSON column (NULL for SQL NULL); a new reference. */
static json_t *json_at(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

static void id_text(char *buf, size_t size, long long v)
{
    snprintf(buf, size, "%lld", v);
}

void consultation_row_clear(struct consultation_row *row)
{
    if (!row)
        return;
    char **strings[] = { &row->unit_name, &row->kind, &row->title, &row->body, &row->answer_mode,
                         &row->status, &row->opens_at, &row->closes_at, &row->created_at,
                         &row->opened_at, &row->closed_at, &row->my_answer_at,
                         &row->release_until };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
    json_decref(row->questions);
    json_decref(row->my_answer);
    row->questions = row->my_answer = NULL;
}

enum db_status db_consultation_get(struct db_conn *c, long long id, long long viewer,
                                   struct consultation_row *out, bool *found)
{
    memset(out, 0, sizeof *out);
    *found = false;
    char k[24], v[24];
    id_text(k, sizeof k, id);
    id_text(v, sizeof v, viewer);
    const char *params[] = { k, v };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_GET, params, &st);
    if (!res)
        return st;
    if (PQntuples(res) == 1) {
        *found = true;
        out->id = int_at(res, 0, 0);
        out->unit_id = int_at(res, 0, 1);
        out->unit_name = text_or_null(res, 0, 2);
        out->kind = text_or_null(res, 0, 3);
        out->title = text_or_null(res, 0, 4);
        out->body = text_or_null(res, 0, 5);
        out->include_subunits = bool_at(res, 0, 6);
        out->answer_mode = text_or_null(res, 0, 7);
        out->opens_at = text_or_null(res, 0, 8);
        out->closes_at = text_or_null(res, 0, 9);
        out->status = text_or_null(res, 0, 10);
        out->created_by = int_at(res, 0, 11);
        out->created_at = text_or_null(res, 0, 12);
        out->opened_at = text_or_null(res, 0, 13);
        out->closed_at = text_or_null(res, 0, 14);
        out->questions = json_at(res, 0, 15);
        out->in_audience = bool_at(res, 0, 16);
        out->named = int_at(res, 0, 17);
        out->anonymous = int_at(res, 0, 18);
        out->eligible = int_at(res, 0, 19);
        out->my_answer = json_at(res, 0, 20);
        out->my_answer_at = text_or_null(res, 0, 21);
        out->started = bool_at(res, 0, 22);
        out->ended = bool_at(res, 0, 23);
        out->release_until = text_or_null(res, 0, 24);
        out->settled = bool_at(res, 0, 25);
        out->token_taken = bool_at(res, 0, 26);
        if (!out->questions)
            out->questions = json_array();
    }
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_lock(struct db_conn *c, long long id,
                                    struct consultation_state *out, bool *found)
{
    memset(out, 0, sizeof *out);
    *found = false;
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_LOCK, params, &st);
    if (!res)
        return st;
    if (PQntuples(res) == 1) {
        *found = true;
        out->unit_id = int_at(res, 0, 0);
        snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 1));
        snprintf(out->answer_mode, sizeof out->answer_mode, "%s", PQgetvalue(res, 0, 2));
        out->started = bool_at(res, 0, 3);
        out->ended = bool_at(res, 0, 4);
    }
    PQclear(res);
    return DB_OK;
}

static const char *flag_text(int v)
{
    return v < 0 ? NULL : v ? "true" : "false";
}

enum db_status db_consultation_insert(struct db_conn *c, long long unit_id, long long created_by,
                                      const struct consultation_fields *f, long long *id)
{
    char u[24], b[24];
    id_text(u, sizeof u, unit_id);
    id_text(b, sizeof b, created_by);
    const char *params[] = { u, b, f->kind, f->title, f->body, flag_text(f->include_subunits),
                             f->answer_mode, f->opens_at, f->closes_at };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_INSERT, params, &st);
    if (!res)
        return st;
    *id = int_at(res, 0, 0);
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_update(struct db_conn *c, long long id,
                                      const struct consultation_fields *f)
{
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k, f->kind, f->title, f->body, flag_text(f->include_subunits),
                             f->answer_mode, f->opens_at, f->closes_at };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_UPDATE, params, &st);
    if (!res)
        return st;
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_questions_set(struct db_conn *c, long long id,
                                             const json_t *questions)
{
    char k[24];
    id_text(k, sizeof k, id);
    char *text = json_dumps(questions, JSON_COMPACT);
    if (!text)
        return DB_ERROR;
    const char *clear[] = { k };
    const char *insert[] = { k, text };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_QUESTIONS_CLEAR, clear, &st);
    if (res) {
        PQclear(res);
        res = db_exec(c, STMT_CONSULTATION_QUESTIONS_INSERT, insert, &st);
    }
    free(text);
    if (!res)
        return st;
    PQclear(res);
    return DB_OK;
}

/* Runs id with the one parameter k; DB_ABORT when it touched no row. */
static enum db_status exec_one(struct db_conn *c, enum stmt id, const char *const *params)
{
    enum db_status st;
    PGresult *res = db_exec(c, id, params, &st);
    if (!res)
        return st;
    st = PQntuples(res) == 1 ? DB_OK : DB_ABORT;
    PQclear(res);
    return st;
}

enum db_status db_consultation_open(struct db_conn *c, long long id, long long by, unsigned window)
{
    char k[24], b[24], w[16];
    id_text(k, sizeof k, id);
    id_text(b, sizeof b, by);
    snprintf(w, sizeof w, "%u", window);
    const char *params[] = { k, b, w };
    enum db_status st = exec_one(c, STMT_CONSULTATION_OPEN, params);
    if (st != DB_OK)
        return st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_SUBJECTS_FIX, params, &st);
    if (!res)
        return st;
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_close(struct db_conn *c, long long id, unsigned window)
{
    char k[24], w[16];
    id_text(k, sizeof k, id);
    snprintf(w, sizeof w, "%u", window);
    const char *params[] = { k, w };
    return exec_one(c, STMT_CONSULTATION_CLOSE, params);
}

enum db_status db_consultations_close_due(struct db_conn *c, unsigned window, long long *ids,
                                         int max, int *n)
{
    *n = 0;
    char m[16], w[16];
    snprintf(m, sizeof m, "%d", max);
    snprintf(w, sizeof w, "%u", window);
    const char *params[] = { m, w };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATIONS_CLOSE_DUE, params, &st);
    if (!res)
        return st;
    for (int i = 0; i < PQntuples(res) && i < max; i++)
        ids[(*n)++] = int_at(res, i, 0);
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_answer_named(struct db_conn *c, long long id, long long account,
                                            const json_t *answers, bool *created)
{
    char k[24], a[24];
    id_text(k, sizeof k, id);
    id_text(a, sizeof a, account);
    char *text = json_dumps(answers, JSON_COMPACT);
    if (!text)
        return DB_ERROR;
    const char *params[] = { k, a, text };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_ANSWER_NAMED, params, &st);
    free(text);
    if (!res)
        return st;
    *created = bool_at(res, 0, 0);
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_answers(struct db_conn *c, long long id, json_t **out)
{
    *out = NULL;
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_ANSWERS, params, &st);
    if (!res)
        return st;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *a = json_at(res, i, 0);
        if (a)
            json_array_append_new(list, a);
    }
    PQclear(res);
    *out = list;
    return DB_OK;
}

enum db_status db_consultations_list(struct db_conn *c, long long account, bool admin, int max,
                                     struct consultation_summary **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    char a[24], m[16];
    id_text(a, sizeof a, account);
    snprintf(m, sizeof m, "%d", max);
    const char *params[] = { a, admin ? "true" : "false", m };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATIONS_LIST, params, &st);
    if (!res)
        return st;
    int count = PQntuples(res);
    struct consultation_summary *list = calloc((size_t)count + 1, sizeof *list);
    if (!list) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int i = 0; i < count; i++) {
        struct consultation_summary *s = &list[i];
        s->id = int_at(res, i, 0);
        s->unit_id = int_at(res, i, 1);
        s->unit_name = text_or_null(res, i, 2);
        s->kind = text_or_null(res, i, 3);
        s->title = text_or_null(res, i, 4);
        s->status = text_or_null(res, i, 5);
        s->answer_mode = text_or_null(res, i, 6);
        s->opens_at = text_or_null(res, i, 7);
        s->closes_at = text_or_null(res, i, 8);
        s->answered = bool_at(res, i, 9);
        s->staff = bool_at(res, i, 10);
    }
    PQclear(res);
    *rows = list;
    *n = count;
    return DB_OK;
}

void consultation_summaries_free(struct consultation_summary *rows, int n)
{
    if (!rows)
        return;
    for (int i = 0; i < n; i++) {
        free(rows[i].unit_name);
        free(rows[i].kind);
        free(rows[i].title);
        free(rows[i].status);
        free(rows[i].answer_mode);
        free(rows[i].opens_at);
        free(rows[i].closes_at);
    }
    free(rows);
}

/* ---- themes ---- */

enum db_status db_consultation_texts(struct db_conn *c, long long id,
                                     struct consultation_text **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_TEXTS, params, &st);
    if (!res)
        return st;
    int count = PQntuples(res);
    struct consultation_text *list = calloc((size_t)count + 1, sizeof *list);
    if (!list) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int i = 0; i < count; i++) {
        list[i].answer_id = int_at(res, i, 0);
        list[i].position = (int)int_at(res, i, 1);
        list[i].text = text_or_null(res, i, 2);
        list[i].theme_id = int_at(res, i, 3);
        list[i].basis = int_at(res, i, 4);
    }
    PQclear(res);
    *rows = list;
    *n = count;
    return DB_OK;
}

void consultation_texts_free(struct consultation_text *rows, int n)
{
    if (!rows)
        return;
    for (int i = 0; i < n; i++)
        free(rows[i].text);
    free(rows);
}

enum db_status db_consultation_themes(struct db_conn *c, long long id,
                                      struct consultation_theme **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_THEMES, params, &st);
    if (!res)
        return st;
    int count = PQntuples(res);
    struct consultation_theme *list = calloc((size_t)count + 1, sizeof *list);
    if (!list) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int i = 0; i < count; i++) {
        list[i].id = int_at(res, i, 0);
        list[i].title = text_or_null(res, i, 1);
    }
    PQclear(res);
    *rows = list;
    *n = count;
    return DB_OK;
}

void consultation_themes_free(struct consultation_theme *rows, int n)
{
    if (!rows)
        return;
    for (int i = 0; i < n; i++)
        free(rows[i].title);
    free(rows);
}

enum db_status db_consultation_theme_insert(struct db_conn *c, long long id, const char *title,
                                            long long by, long long *theme_id)
{
    char k[24], b[24];
    id_text(k, sizeof k, id);
    id_text(b, sizeof b, by);
    const char *params[] = { k, title, b };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_THEME_INSERT, params, &st);
    if (!res)
        return st;
    *theme_id = int_at(res, 0, 0);
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_theme_items_set(struct db_conn *c, long long theme_id,
                                               long long id, const json_t *items)
{
    char t[24], k[24];
    id_text(t, sizeof t, theme_id);
    id_text(k, sizeof k, id);
    char *text = json_dumps(items, JSON_COMPACT);
    if (!text)
        return DB_ERROR;
    const char *clear[] = { t, k };
    const char *add[] = { t, k, text };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_THEME_ITEMS_CLEAR, clear, &st);
    if (res) {
        PQclear(res);
        res = db_exec(c, STMT_CONSULTATION_THEME_ITEMS_ADD, add, &st);
    }
    free(text);
    if (!res)
        return st;
    PQclear(res);
    return DB_OK;
}

/* ---- opinions on a committee member ---- */

enum db_status db_consultation_handover(struct db_conn *c, long long id, long long subject,
                                        long long by, bool *done)
{
    char k[24], s[24], b[24];
    id_text(k, sizeof k, id);
    id_text(s, sizeof s, subject);
    id_text(b, sizeof b, by);
    const char *params[] = { k, s, b };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_HANDOVER, params, &st);
    if (!res)
        return st;
    *done = PQntuples(res) == 1;
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_opinions(struct db_conn *c, long long id, long long subject,
                                        json_t **out)
{
    *out = NULL;
    char k[24], s[24];
    id_text(k, sizeof k, id);
    id_text(s, sizeof s, subject);
    const char *params[] = { k, s };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_OPINIONS, params, &st);
    if (!res)
        return st;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, json_string(PQgetvalue(res, i, 0)));
    PQclear(res);
    *out = list;
    return DB_OK;
}

enum db_status db_consultation_subject_states(struct db_conn *c, long long id,
                                              struct consultation_subject_state **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_SUBJECT_STATES, params, &st);
    if (!res)
        return st;
    int count = PQntuples(res);
    struct consultation_subject_state *list = calloc((size_t)count + 1, sizeof *list);
    if (!list) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int i = 0; i < count; i++) {
        list[i].account_id = int_at(res, i, 0);
        list[i].handed_at = text_or_null(res, i, 1);
        list[i].response = text_or_null(res, i, 2);
        list[i].written_at = text_or_null(res, i, 3);
        list[i].approved_by = int_at(res, i, 4);
        list[i].approved_at = text_or_null(res, i, 5);
    }
    PQclear(res);
    *rows = list;
    *n = count;
    return DB_OK;
}

void consultation_subject_states_free(struct consultation_subject_state *rows, int n)
{
    if (!rows)
        return;
    for (int i = 0; i < n; i++) {
        free(rows[i].handed_at);
        free(rows[i].response);
        free(rows[i].written_at);
        free(rows[i].approved_at);
    }
    free(rows);
}

enum db_status db_consultation_response_write(struct db_conn *c, long long id, long long subject,
                                              const char *body)
{
    char k[24], s[24];
    id_text(k, sizeof k, id);
    id_text(s, sizeof s, subject);
    const char *params[] = { k, s, body };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CONSULTATION_RESPONSE_WRITE, params, &st);
    if (!res)
        return st;
    PQclear(res);
    return DB_OK;
}

enum db_status db_consultation_response_approve(struct db_conn *c, long long id, long long subject,
                                                long long by)
{
    char k[24], s[24], b[24];
    id_text(k, sizeof k, id);
    id_text(s, sizeof s, subject);
    id_text(b, sizeof b, by);
    const char *params[] = { k, s, b };
    return exec_one(c, STMT_CONSULTATION_RESPONSE_APPROVE, params);
}

/* ---- anonymous answers (sql/0030) ---- */

enum db_status db_consultation_token_take(struct db_conn *c, long long id, long long account,
                                          bool *taken)
{
    char k[24], a[24];
    id_text(k, sizeof k, id);
    id_text(a, sizeof a, account);
    const char *params[] = { k, a };
    long long n = 0;
    enum db_status st = db_run(c, STMT_CONSULTATION_TOKEN_TAKE, params, &n);
    *taken = n == 1;
    return st;
}

enum db_status db_consultation_has_named(struct db_conn *c, long long id, long long account,
                                         bool *answered)
{
    char k[24], a[24];
    id_text(k, sizeof k, id);
    id_text(a, sizeof a, account);
    const char *params[] = { k, a };
    const struct db_field spec[] = { DB_BOOL("answered", answered), DB_END };
    enum db_status st;
    *answered = false;
    return db_one(c, STMT_CONSULTATION_HAS_NAMED, params, spec, &st) < 0 ? st : DB_OK;
}

enum db_status db_consultation_answer_anonymous(struct db_conn *c, long long id,
                                                const char *code_hash, const json_t *answers,
                                                bool replace)
{
    char k[24];
    id_text(k, sizeof k, id);
    char *text = json_dumps(answers, JSON_COMPACT);
    if (!text)
        return DB_ERROR;
    const char *insert[] = { k, text, code_hash };
    const char *update[] = { k, code_hash, text };
    long long n = 0;
    enum db_status st = replace ? db_run(c, STMT_CONSULTATION_ANSWER_ANON_UPDATE, update, &n)
                                : db_run(c, STMT_CONSULTATION_ANSWER_ANON_INSERT, insert, &n);
    free(text);
    if (st == DB_OK && n != 1)
        st = DB_ABORT;
    return st;
}

enum db_status db_consultation_answer_by_code(struct db_conn *c, long long id,
                                              const char *code_hash, json_t **answers)
{
    char k[24];
    id_text(k, sizeof k, id);
    const char *params[] = { k, code_hash };
    *answers = NULL;
    const struct db_field spec[] = { DB_JSON("answers", answers), DB_END };
    enum db_status st;
    return db_one(c, STMT_CONSULTATION_ANSWER_BY_CODE, params, spec, &st) < 0 ? st : DB_OK;
}
