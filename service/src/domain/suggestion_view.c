/* Reading suggestions (domain/suggestion_view.h): one with its thread,
 * a page of the list or of a search, and what a tracking code follows. */
#include "domain/suggestion_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/authz.h"
#include "domain/redeem.h"
#include "domain/tracking_throttle.h"
#include "util/jsonw.h"

static char *fmt_id(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

static json_t *text_or_null_res(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static long long col_id(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool public_step(const char *action)
{
    static const char *const steps[] = { "suggestion.submit", "suggestion.accept",
                                         "suggestion.answer", "suggestion.rate",
                                         "suggestion.reopen", "suggestion.withdraw",
                                         "suggestion.merge", "suggestion.publish",
                                         "suggestion.escalate" };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(action, steps[i]))
            return true;
    return false;
}

/* The full view of one suggestion for a viewer with rights g. */
/* The thread's four reads of suggestion public_id, in the order
 * detail_build takes them: messages, answer, ratings, history. */
#define THREAD_READS 4
#define THREAD_STMTS STMT_THREAD_MESSAGES, STMT_THREAD_ANSWER, STMT_THREAD_RATINGS, \
                     STMT_SUGGESTION_HISTORY

/* The suggestion of row (suggestion_get's columns) with its thread as the
 * rights g let the caller see it; got[] are THREAD_STMTS' results, each
 * PQclear()ed here. */
static json_t *detail_build(PGresult *row, const struct authz_suggestion *g,
                            PGresult *got[THREAD_READS])
{
    json_t *s = suggestion_json(row, 0, authz_suggestion_allows(g, AUTHZ_SUGGESTION_VIEW));
    if (!authz_suggestion_allows(g, AUTHZ_SUGGESTION_VIEW)) {
        /* A co-signer reads the suggestion, not the thread around it. */
        for (int i = 0; i < THREAD_READS; i++)
            PQclear(got[i]);
        json_object_set_new(s, "messages", json_array());
        json_object_set_new(s, "answer", json_null());
        json_object_set_new(s, "ratings", json_array());
        json_object_set_new(s, "history", json_array());
        return s;
    }
    const char *status = PQgetvalue(row, 0, 12);
    bool staff = authz_suggestion_allows(g, AUTHZ_SUGGESTION_STAFF);

    PGresult *res = got[0];
    json_t *messages = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        /* The committee's internal messages only for the committee. */
        if (!staff && strcmp(PQgetvalue(res, i, 3), "submitter"))
            continue;
        json_t *m = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)col_id(res, i, 0),
                              "author_kind", PQgetvalue(res, i, 1), "visibility",
                              PQgetvalue(res, i, 3), "body", PQgetvalue(res, i, 4), "created_at",
                              PQgetvalue(res, i, 5));
        /* Committee names are shown; a submitter's never is (the author
         * knows who they are, and the committee sees author_name). */
        bool committee_msg = !strcmp(PQgetvalue(res, i, 1), "committee");
        json_object_set_new(m, "author_name",
                            committee_msg ? json_string(PQgetvalue(res, i, 2)) : json_null());
        json_array_append_new(messages, m);
    }
    PQclear(res);
    json_object_set_new(s, "messages", messages);

    res = got[1];
    json_t *answer = json_null();
    if (PQntuples(res)) {
        bool approved = !PQgetisnull(res, 0, 6);
        bool released = !strcmp(status, "answered") || !strcmp(status, "published");
        if (staff || approved || released) {
            answer = json_pack("{s:s, s:s, s:s, s:s, s:b}", "decision", PQgetvalue(res, 0, 0),
                               "body", PQgetvalue(res, 0, 2), "drafted_by_name",
                               PQgetvalue(res, 0, 4), "drafted_at", PQgetvalue(res, 0, 5),
                               "approved", approved);
            json_object_set_new(answer, "reason", text_or_null_res(res, 0, 1));
            json_object_set_new(answer, "approved_at", text_or_null_res(res, 0, 8));
        }
    }
    PQclear(res);
    json_object_set_new(s, "answer", answer);

    res = got[2];
    json_t *ratings = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(ratings, json_pack("{s:i, s:s, s:s}", "round",
                                                 atoi(PQgetvalue(res, i, 0)), "rating",
                                                 PQgetvalue(res, i, 1), "rated_at",
                                                 PQgetvalue(res, i, 2)));
    PQclear(res);
    json_object_set_new(s, "ratings", ratings);

    res = got[3];
    json_t *history = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        /* The author sees the steps of the workflow, not the committee's
         * work around it (messages, drafts, reassignments). */
        if (!staff && !public_step(PQgetvalue(res, i, 0)))
            continue;
        json_array_append_new(history, json_pack("{s:s, s:s, s:o*}", "action",
                                                 PQgetvalue(res, i, 0), "at",
                                                 PQgetvalue(res, i, 1), "change",
                                                 staff ? json_loads(PQgetvalue(res, i, 3), 0, NULL)
                                                       : NULL));
    }
    PQclear(res);
    json_object_set_new(s, "history", history);
    return s;
}

/* detail_build after reading the thread in one round trip. */
static json_t *detail_json(struct db_conn *c, PGresult *row, const struct authz_suggestion *g,
                           enum db_status *st)
{
    const char *pid[] = { PQgetvalue(row, 0, 1) };
    const enum stmt ids[] = { THREAD_STMTS };
    const char *const *const params[] = { pid, pid, pid, pid };
    PGresult *got[THREAD_READS];
    db_exec_batch(c, THREAD_READS, ids, params, got, st);
    if (*st != DB_OK)
        return NULL;
    return detail_build(row, g, got);
}

json_t *suggestion_view(struct db_conn *c, const char *public_id, long long account_id,
                        bool as_author, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    const char *p[] = { public_id };
    enum db_status st;
    PGresult *row = db_exec(c, STMT_SUGGESTION_GET, p, &st);
    if (!row) {
        domain_settle(out, st);
        return NULL;
    }
    if (PQntuples(row) == 0) {
        PQclear(row);
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such suggestion");
        return NULL;
    }
    struct authz_suggestion g = { .author = as_author };
    if (!as_author)
        st = authz_suggestion_load(c, account_id, col_id(row, 0, 2), col_id(row, 0, 22),
                                   col_id(row, 0, 8), col_id(row, 0, 11), &g);
    json_t *body = st == DB_OK ? detail_json(c, row, &g, &st) : NULL;
    PQclear(row);
    if (!body)
        domain_settle(out, st);
    return body;
}

json_t *suggestion_view_session(struct db_conn *c, const char *session_hash, unsigned ttl,
                                const char *public_id, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    /* The session, the row, the caller's rights and the thread in one
     * round trip (docs/performance.md): the thread is read for whoever
     * asks, and what the caller may not see is left out here. */
    char ttl_text[16];
    snprintf(ttl_text, sizeof ttl_text, "%u", ttl);
    const char *p[] = { session_hash, ttl_text, public_id };
    const char *pid[] = { public_id };
    const enum stmt ids[] = { STMT_SUGGESTION_VIEW, THREAD_STMTS };
    const char *const *const params[] = { p, pid, pid, pid, pid };
    PGresult *got[1 + THREAD_READS];
    enum db_status st;
    db_exec_batch(c, 1 + THREAD_READS, ids, params, got, &st);
    if (!domain_settle(out, st))
        return NULL;
    PGresult *row = got[0];
    if (PQntuples(row) == 0 || PQgetisnull(row, 0, 0)) {
        bool signed_in = PQntuples(row) > 0;
        for (int i = 0; i <= THREAD_READS; i++)
            PQclear(got[i]);
        if (signed_in)
            domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such suggestion");
        else
            domain_refuse(out, DOMAIN_UNAUTHORIZED, NULL, "session expired or signed out");
        return NULL;
    }
    /* After the suggestion's columns: the account, then four facts for
     * its unit and four for the unit it was escalated to, then whether
     * the account supports it. */
    int x = PQnfields(row) - 10;
    struct authz au = { 0 }, ae = { 0 };
    authz_from_row(row, x + 1, &au);
    authz_from_row(row, x + 5, &ae);
    long long escalated_to = col_id(row, 0, 22);
    struct authz_suggestion g;
    authz_suggestion_from(col_id(row, 0, x), col_id(row, 0, 8), col_id(row, 0, 11), &au,
                          escalated_to ? &ae : NULL, &g);
    g.supporter = PQgetvalue(row, 0, x + 9)[0] == 't';
    if (!authz_suggestion_allows(&g, AUTHZ_SUGGESTION_READ)) {
        for (int i = 0; i <= THREAD_READS; i++)
            PQclear(got[i]);
        /* Not telling apart "exists but not yours" from "does not exist". */
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such suggestion");
        return NULL;
    }
    json_t *body = detail_build(row, &g, got + 1);
    PQclear(row);
    return body;
}

static const char *const statuses[] = { "submitted", "accepted", "answered", "published",
                                        "withdrawn", "merged" };

/* A page of the search for params[8] in two steps (docs/performance.md,
 * "Scale and free-text search"): the newest SEARCH_WINDOW rows below the
 * cursor (walking the primary key for an admin, the indexes of the units,
 * authorship and assignment for anyone else), where a common word fills
 * the page; when it does not, the older rows through the bigram index,
 * where a rare word has few candidates. Either way the rows are the newest matches, in id order.
 * *older stays NULL when the first step filled the page or read every row. */
static bool search(struct db_conn *c, long long window, const char *const params[11],
                   long long cursor, long long limit, PGresult **recent, PGresult **older,
                   enum db_status *st)
{
    long long start = cursor;
    bool admin = !strcmp(params[1], "true");
    char from[24], to[24], lim[24];
    const char *p[12];
    memcpy(p, params, sizeof(p[0]) * 11);
    if (!admin) {
        /* Each way the caller sees rows, newest first. The statement finds
         * the newest id itself when there is no cursor, and every row it
         * returns carries the upper end of its window. */
        p[11] = fmt_id(to, window);
        *recent = db_exec(c, STMT_SUGGESTIONS_SEARCH_SEEN, p, st);
        if (!*recent)
            return false;
        if (PQntuples(*recent) >= limit)
            return true;
        if (PQntuples(*recent) > 0)
            start = strtoll(PQgetvalue(*recent, 0, PQnfields(*recent) - 1), NULL, 10);
    }
    if (!start) {
        /* (Without a row of the first step to tell: rows written since it
         * ran are newer than the page and only move the floor up over rows
         * that step found nothing in.) */
        PGresult *m = db_exec(c, STMT_SUGGESTIONS_MAX_ID, NULL, st);
        if (!m)
            return false;
        start = strtoll(PQgetvalue(m, 0, 0), NULL, 10) + 1;
        PQclear(m);
    }
    long long floor = start > window ? start - window : 0;
    if (admin) {
        /* An admin sees every row: the newest ones in id order are the way. */
        p[2] = fmt_id(from, start);
        p[11] = fmt_id(to, floor);
        *recent = db_exec(c, STMT_SUGGESTIONS_SEARCH_RECENT, p, st);
        if (!*recent)
            return false;
    }
    long long got = PQntuples(*recent);
    if (got >= limit || floor <= 1)
        return true;
    p[2] = fmt_id(from, floor);
    p[9] = fmt_id(lim, limit - got);
    *older = db_exec(c, STMT_SUGGESTIONS_SEARCH, p, st);
    return *older != NULL;
}

bool suggestion_status_known(const char *status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (!strcmp(status, statuses[i]))
            return true;
    return false;
}

char *suggestion_page(struct db_conn *c, const struct suggestion_query *q, size_t *len,
                      struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    /* The caller: for a search, the account and admin flag; for the list,
     * the session itself, which the list statement checks and touches as
     * a session check would, in the same round trip (db/statements.c
     * SESSION_LIST). */
    char acct[24], unit[24], cat[24], cur[24], lim[24], ttl[16];
    const char *me, *admin;
    enum db_status st;
    if (q->q) {
        me = fmt_id(acct, q->account_id);
        admin = q->admin ? "true" : "false";
    } else {
        snprintf(ttl, sizeof ttl, "%u", q->session_ttl);
        me = q->session_hash;
        admin = ttl;
    }
    const char *params[] = {
        me, admin,
        q->cursor ? fmt_id(cur, q->cursor) : NULL, q->status,
        q->unit_id ? fmt_id(unit, q->unit_id) : NULL,
        q->category_id ? fmt_id(cat, q->category_id) : NULL,
        q->assigned_to_me ? "true" : "false", q->overdue ? "true" : "false",
        q->q, fmt_id(lim, q->limit), q->authored_by_me ? "true" : "false",
    };
    PGresult *res = NULL, *older = NULL;
    if (!q->q) {
        /* The cursor is never NULL here: the first page is below every id. */
        if (!params[2])
            params[2] = "9223372036854775807";
        res = db_exec(c, q->assigned_to_me ? STMT_SUGGESTIONS_LIST_ASSIGNED
                         : q->authored_by_me ? STMT_SUGGESTIONS_LIST_AUTHORED
                                             : STMT_SUGGESTIONS_LIST,
                      params, &st);
        if (res && PQntuples(res) == 0) {
            PQclear(res);
            domain_refuse(out, DOMAIN_UNAUTHORIZED, NULL, "session expired or signed out");
            return NULL;
        }
    } else if (!search(c, q->search_window, params, q->cursor, q->limit, &res, &older, &st)) {
        PQclear(res);
        domain_settle(out, st);
        return NULL;
    }
    if (!res) {
        domain_settle(out, st);
        return NULL;
    }
    /* Written as text: building jansson objects for a page of rows only to
     * dump them was most of this endpoint's own time (docs/performance.md). */
    struct jsonw w = { 0 };
    JSONW_LIT(&w, "{\"items\":[");
    PGresult *parts[2] = { res, older };
    int n = 0;
    const PGresult *last = NULL;
    for (int k = 0; k < 2 && parts[k]; k++) {
        for (int i = 0; i < PQntuples(parts[k]); i++) {
            if (PQgetisnull(parts[k], i, 0))
                continue; /* the session's row of an empty page */
            if (n++)
                JSONW_LIT(&w, ",");
            suggestion_write(&w, parts[k], i, true);
            last = parts[k];
        }
    }
    JSONW_LIT(&w, "],\"next_cursor\":");
    if (n == q->limit) {
        int i = PQntuples(last) - 1;
        jsonw_str(&w, PQgetvalue(last, i, 0), (size_t)PQgetlength(last, i, 0));
    } else {
        JSONW_LIT(&w, "null");
    }
    JSONW_LIT(&w, "}");
    PQclear(res);
    PQclear(older);
    char *text = jsonw_finish(&w, len);
    if (!text)
        domain_settle(out, DB_ERROR);
    return text;
}

/* ------------------------------------------------------------------ */
/* following with a tracking code                                      */
/* ------------------------------------------------------------------ */

/* Wrong codes are throttled per holder, in memory
 * (domain/tracking_throttle.h): a flood of wrong codes spreads over a
 * million buckets and cannot keep a holder out, and nothing about a
 * tracked request is written anywhere. A code that cannot be one is
 * refused without a look (and without a count): it is no guess at a
 * holder's code. */
bool suggestion_tracked(struct db_conn *c, const char *presented, bool attempted,
                        char public_id[PUBLIC_ID_CHARS + 1], struct domain_result *out)
{
    (void)attempted;
    memset(out, 0, sizeof *out);
    char hash[65];
    if (!presented || !tracking_code_hash(presented, hash)) {
        domain_refuse(out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        return false;
    }
    int wait = tracking_throttle_take(hash);
    if (wait > 0) {
        domain_refuse(out, DOMAIN_THROTTLED, NULL, NULL);
        out->retry_after = wait;
        return false;
    }
    enum db_status st;
    const char *p[] = { hash };
    PGresult *res = db_exec(c, STMT_TRACKING_LOOKUP, p, &st);
    if (!res)
        return domain_settle(out, st);
    bool found = PQntuples(res) == 1;
    if (found)
        snprintf(public_id, PUBLIC_ID_CHARS + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found) {
        domain_refuse(out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        return false;
    }
    tracking_throttle_refund(hash);
    return true;
}
