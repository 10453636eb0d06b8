/* Reading suggestions (domain/suggestion_view.h): one with its thread,
 * a page of the list or of a search, and what a tracking code follows. */
#include "domain/suggestion_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/authz.h"
#include "db/rows.h"
#include "domain/redeem.h"
#include "domain/tracking_throttle.h"
#include "util/jsonw.h"

static char *fmt_id(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
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

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* ------------------------------------------------------------------ */
/* one suggestion with its thread                                      */
/* ------------------------------------------------------------------ */

/* A suggestion being read with its thread: the rights g of the caller,
 * the suggestion as JSON, and the thread's parts as its four reads
 * (THREAD_STMTS, in this order) find them. */
struct detail {
    struct authz_suggestion g;
    bool found;
    char status[16];
    json_t *s, *messages, *answer, *ratings, *history;
    /* the row being read */
    struct suggestion_row row;
    long long viewer_id;
    struct authz_facts unit, esc;
    bool supporter;
    long long msg_id, round;
    const char *kind, *name, *visibility, *body, *at, *decision, *reason, *approved_at,
        *action, *change;
    int rating_round;
    bool unapproved;
};

#define THREAD_READS 4
#define THREAD_STMTS STMT_THREAD_MESSAGES, STMT_THREAD_ANSWER, STMT_THREAD_RATINGS, \
                     STMT_SUGGESTION_HISTORY

static bool staff_of(const struct detail *d)
{
    return authz_suggestion_allows(&d->g, AUTHZ_SUGGESTION_STAFF);
}

static enum db_status message_row(void *cls, size_t row)
{
    (void)row;
    struct detail *d = cls;
    /* The committee's internal messages only for the committee. */
    if (!staff_of(d) && strcmp(d->visibility, "submitter"))
        return DB_OK;
    json_t *m = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)d->msg_id,
                          "author_kind", d->kind, "visibility", d->visibility, "body", d->body,
                          "created_at", d->at);
    /* Committee names are shown; a submitter's never is (the author
     * knows who they are, and the committee sees author_name). */
    bool committee_msg = !strcmp(d->kind, "committee");
    json_object_set_new(m, "author_name", committee_msg ? json_string(d->name ? d->name : "") : json_null());
    json_array_append_new(d->messages, m);
    return DB_OK;
}

static enum db_status answer_row(void *cls, size_t row)
{
    (void)row;
    struct detail *d = cls;
    bool approved = !d->unapproved;
    bool released = !strcmp(d->status, "answered") || !strcmp(d->status, "published");
    if (!staff_of(d) && !approved && !released)
        return DB_OK;
    json_decref(d->answer);
    d->answer = json_pack("{s:s, s:s, s:s, s:s, s:b}", "decision", d->decision, "body", d->body,
                          "drafted_by_name", d->name ? d->name : "", "drafted_at", d->at, "approved", approved);
    json_object_set_new(d->answer, "reason", string_or_null(d->reason));
    json_object_set_new(d->answer, "approved_at", string_or_null(d->approved_at));
    return DB_OK;
}

static enum db_status rating_row(void *cls, size_t row)
{
    (void)row;
    struct detail *d = cls;
    json_array_append_new(d->ratings, json_pack("{s:i, s:s, s:s}", "round", d->rating_round,
                                                "rating", d->kind, "rated_at", d->at));
    return DB_OK;
}

/* A step's change as the API gives it: before and after. Publications
 * were audited as the bare "after" before that shape was kept there too;
 * such a row is given as its "after". Returns a new reference or NULL. */
static json_t *history_change(const char *text)
{
    json_t *c = json_loads(text, 0, NULL);
    if (!json_is_object(c))
        return c;
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
        (void)v;
        if (strcmp(key, "before") != 0 && strcmp(key, "after") != 0)
            return json_pack("{s:o}", "after", c);
    }
    return c;
}

static enum db_status history_row(void *cls, size_t row)
{
    (void)row;
    struct detail *d = cls;
    /* The author sees the steps of the workflow, not the committee's
     * work around it (messages, drafts, reassignments). */
    bool staff = staff_of(d);
    if (!staff && !public_step(d->action))
        return DB_OK;
    json_array_append_new(d->history,
                          json_pack("{s:s, s:s, s:o*}", "action", d->action, "at", d->at,
                                    "change", staff ? history_change(d->change) : NULL));
    return DB_OK;
}

/* Fills q[0..THREAD_READS-1] with the thread's reads of public_id into d;
 * the specs live in specs. */
struct thread_specs {
    struct db_field messages[7], answer[8], ratings[4], history[4];
};

static void thread_queries(struct detail *d, const char *const *pid, struct thread_specs *sp,
                           struct db_query q[THREAD_READS])
{
    const struct thread_specs t = {
        .messages = { DB_I64("id", &d->msg_id), DB_TEXT_REF("author_kind", &d->kind),
                      DB_TEXT_REF_N("author_name", &d->name),
                      DB_TEXT_REF("visibility", &d->visibility), DB_TEXT_REF("body", &d->body),
                      DB_TEXT_REF("created_at", &d->at), DB_END },
        .answer = { DB_TEXT_REF("decision", &d->decision), DB_TEXT_REF_N("reason", &d->reason),
                    DB_TEXT_REF("body", &d->body), DB_TEXT_REF_N("drafter_name", &d->name),
                    DB_TEXT_REF("drafted_at", &d->at), DB_ISNULL("approved_by", &d->unapproved),
                    DB_TEXT_REF_N("approved_at", &d->approved_at), DB_END },
        .ratings = { DB_I32("round", &d->rating_round), DB_TEXT_REF("rating", &d->kind),
                     DB_TEXT_REF("rated_at", &d->at), DB_END },
        .history = { DB_TEXT_REF("action", &d->action), DB_TEXT_REF("at", &d->at),
                     DB_TEXT_REF("change", &d->change), DB_END },
    };
    *sp = t;
    const enum stmt ids[] = { THREAD_STMTS };
    const struct db_field *specs[] = { sp->messages, sp->answer, sp->ratings, sp->history };
    const db_row_fn fns[] = { message_row, answer_row, rating_row, history_row };
    for (int i = 0; i < THREAD_READS; i++)
        q[i] = (struct db_query){ .id = ids[i], .params = pid, .spec = specs[i], .fn = fns[i],
                                  .cls = d };
}

static void detail_init(struct detail *d)
{
    memset(d, 0, sizeof *d);
    d->messages = json_array();
    d->ratings = json_array();
    d->history = json_array();
    d->answer = json_null();
}

static void detail_free(struct detail *d)
{
    json_decref(d->s);
    json_decref(d->messages);
    json_decref(d->answer);
    json_decref(d->ratings);
    json_decref(d->history);
}

/* The suggestion of the row just read, as the rights d->g let it be
 * seen (the row's texts are borrowed: called in its callback). */
static void detail_take_row(struct detail *d)
{
    d->found = true;
    snprintf(d->status, sizeof d->status, "%s", d->row.status ? d->row.status : "");
    d->s = suggestion_json(&d->row, authz_suggestion_allows(&d->g, AUTHZ_SUGGESTION_VIEW));
}

/* The suggestion with its thread, as a new reference; d is emptied. */
static json_t *detail_finish(struct detail *d)
{
    json_t *s = d->s;
    d->s = NULL;
    if (!authz_suggestion_allows(&d->g, AUTHZ_SUGGESTION_VIEW)) {
        /* A co-signer reads the suggestion, not the thread around it. */
        json_object_set_new(s, "messages", json_array());
        json_object_set_new(s, "answer", json_null());
        json_object_set_new(s, "ratings", json_array());
        json_object_set_new(s, "history", json_array());
    } else {
        json_object_set(s, "messages", d->messages);
        json_object_set(s, "answer", d->answer);
        json_object_set(s, "ratings", d->ratings);
        json_object_set(s, "history", d->history);
    }
    detail_free(d);
    return s;
}

/* suggestion_view read at commit (suggestion_view_reads). */
struct view_reads {
    struct detail d;
    bool as_author, read;
    char account[24];
    const char *p[2], *pid[1];
    struct db_field spec[SUGGESTION_SPEC_FIELDS + 11];
    struct thread_specs sp;
};

/* Its row: the suggestion (NULLs when there is none) with the account's
 * facts for its units; shown as suggestion_view shows it. */
static enum db_status account_view_row(void *cls, size_t row)
{
    (void)row;
    struct view_reads *v = cls;
    struct detail *d = &v->d;
    v->read = true;
    if (!d->row.id)
        return DB_OK;
    if (v->as_author) {
        d->g = (struct authz_suggestion){ .author = true };
    } else {
        struct authz au = { 0 }, ae = { 0 };
        authz_from_facts(&d->unit, &au);
        authz_from_facts(&d->esc, &ae);
        authz_suggestion_from(d->viewer_id, d->row.author_id, d->row.assignee_id, &au,
                              d->row.escalated_to ? &ae : NULL, &d->g);
    }
    detail_take_row(d);
    return DB_OK;
}

struct view_reads *suggestion_view_reads(const char *public_id, long long account_id,
                                         bool as_author, struct db_query q[])
{
    struct view_reads *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    detail_init(&v->d);
    v->as_author = as_author;
    v->p[0] = account_id && !as_author ? fmt_id(v->account, account_id) : NULL;
    v->p[1] = public_id;
    v->pid[0] = public_id;
    size_t n = suggestion_row_spec(&v->d.row, v->spec, SUGGESTION_SPEC_FIELDS);
    const struct db_field more[] = {
        DB_I64_N("viewer_id", &v->d.viewer_id), AUTHZ_FACTS_FIELDS("unit_", &v->d.unit),
        AUTHZ_FACTS_FIELDS("esc_", &v->d.esc), DB_BOOL("supporter", &v->d.supporter), DB_END,
    };
    memcpy(v->spec + n, more, sizeof more);
    q[0] = (struct db_query){ .id = STMT_SUGGESTION_VIEW_ACCOUNT, .params = v->p,
                              .spec = v->spec, .fn = account_view_row, .cls = v };
    thread_queries(&v->d, v->pid, &v->sp, q + 1);
    return v;
}

void suggestion_view_free(struct view_reads *v)
{
    if (!v)
        return;
    detail_free(&v->d);
    free(v);
}

json_t *suggestion_view_finish(struct view_reads *v, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    if (!v || !v->read) {
        suggestion_view_free(v);
        domain_settle(out, DB_ERROR);
        return NULL;
    }
    if (!v->d.found) {
        suggestion_view_free(v);
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such suggestion");
        return NULL;
    }
    json_t *s = detail_finish(&v->d);
    free(v);
    return s;
}

json_t *suggestion_view(struct db_conn *c, const char *public_id, long long account_id,
                        bool as_author, struct domain_result *out)
{
    /* The row with the account's facts, and the thread: one round trip. */
    struct db_query q[SUGGESTION_VIEW_READS];
    struct view_reads *v = suggestion_view_reads(public_id, account_id, as_author, q);
    enum db_status st = DB_ERROR;
    if (v)
        db_batch(c, SUGGESTION_VIEW_READS, q, &st);
    if (st != DB_OK) {
        suggestion_view_free(v);
        memset(out, 0, sizeof *out);
        domain_settle(out, st);
        return NULL;
    }
    return suggestion_view_finish(v, out);
}

/* suggestion_view_session's row: the session's account, the suggestion
 * (NULLs when there is none), the facts for its unit and for the unit it
 * was escalated to, and whether the account supports it. */
static enum db_status session_view_row(void *cls, size_t row)
{
    (void)row;
    struct detail *d = cls;
    if (!d->row.id)
        return DB_OK; /* signed in, no such suggestion */
    struct authz au = { 0 }, ae = { 0 };
    authz_from_facts(&d->unit, &au);
    authz_from_facts(&d->esc, &ae);
    authz_suggestion_from(d->viewer_id, d->row.author_id, d->row.assignee_id, &au,
                          d->row.escalated_to ? &ae : NULL, &d->g);
    d->g.supporter = d->supporter;
    if (authz_suggestion_allows(&d->g, AUTHZ_SUGGESTION_READ))
        detail_take_row(d);
    return DB_OK;
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
    struct detail d;
    detail_init(&d);
    struct db_field spec[SUGGESTION_SPEC_FIELDS + 11];
    size_t n = suggestion_row_spec(&d.row, spec, SUGGESTION_SPEC_FIELDS);
    const struct db_field more[] = {
        DB_I64("viewer_id", &d.viewer_id), AUTHZ_FACTS_FIELDS("unit_", &d.unit),
        AUTHZ_FACTS_FIELDS("esc_", &d.esc), DB_BOOL("supporter", &d.supporter), DB_END,
    };
    memcpy(spec + n, more, sizeof more);
    struct thread_specs sp;
    struct db_query q[1 + THREAD_READS];
    q[0] = (struct db_query){ .id = STMT_SUGGESTION_VIEW, .params = p, .spec = spec,
                              .fn = session_view_row, .cls = &d };
    thread_queries(&d, pid, &sp, q + 1);
    enum db_status st;
    db_batch(c, 1 + THREAD_READS, q, &st);
    if (!domain_settle(out, st)) {
        detail_free(&d);
        return NULL;
    }
    if (!d.found) {
        detail_free(&d);
        /* Not telling apart "exists but not yours" from "does not exist". */
        if (q[0].rows)
            domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such suggestion");
        else
            domain_refuse(out, DOMAIN_UNAUTHORIZED, NULL, "session expired or signed out");
        return NULL;
    }
    return detail_finish(&d);
}

static const char *const statuses[] = { "submitted", "accepted", "answered", "published",
                                        "withdrawn", "merged" };

/* A page being written: the rows go straight into w as they are read
 * (suggestion_write: no jansson objects to build and dump again). */
struct page {
    struct jsonw w;
    struct suggestion_row row;
    long long n, last_id;
    long long window_top; /* search_seen: the upper end of its window (first row) */
    long long rows;       /* of the statement being read, including the session's */
};

static enum db_status page_row(void *cls, size_t row)
{
    struct page *pg = cls;
    pg->rows = (long long)row + 1;
    if (!pg->row.id)
        return DB_OK; /* the session's row of an empty page */
    if (pg->n++)
        JSONW_LIT(&pg->w, ",");
    suggestion_write(&pg->w, &pg->row, true);
    pg->last_id = pg->row.id;
    return DB_OK;
}

/* Reads statement id's rows into the page; its spec is the suggestion's
 * fields, and window_top with with_top. The rows read, or -1 (*st). */
static long long page_read(struct db_conn *c, struct page *pg, enum stmt id,
                           const char *const *params, bool with_top, enum db_status *st)
{
    struct db_field spec[SUGGESTION_SPEC_FIELDS + 2];
    size_t n = suggestion_row_spec(&pg->row, spec, SUGGESTION_SPEC_FIELDS);
    if (with_top)
        spec[n++] = (struct db_field)DB_I64("window_top", &pg->window_top);
    spec[n] = (struct db_field)DB_END;
    pg->rows = 0;
    return db_each(c, id, params, spec, page_row, pg, st);
}

/* A page of the search for params[8] in two steps (docs/performance.md,
 * "Scale and free-text search"): the newest SEARCH_WINDOW rows below the
 * cursor (walking the primary key for an admin, the indexes of the units,
 * authorship and assignment for anyone else), where a common word fills
 * the page; when it does not, the older rows through the bigram index,
 * where a rare word has few candidates. Either way the rows are the newest
 * matches, in id order, written into pg. */
static bool search(struct db_conn *c, long long window, const char *const params[11],
                   long long cursor, long long limit, struct page *pg, enum db_status *st)
{
    long long start = cursor;
    bool admin = !strcmp(params[1], "true");
    char from[24], to[24], lim[24];
    const char *p[12];
    memcpy(p, params, sizeof(p[0]) * 11);
    long long got = 0;
    if (!admin) {
        /* Each way the caller sees rows, newest first. The statement finds
         * the newest id itself when there is no cursor, and every row it
         * returns carries the upper end of its window. */
        p[11] = fmt_id(to, window);
        pg->window_top = 0;
        got = page_read(c, pg, STMT_SUGGESTIONS_SEARCH_SEEN, p, true, st);
        if (got < 0)
            return false;
        if (got >= limit)
            return true;
        if (got > 0)
            start = pg->window_top;
    }
    if (!start) {
        /* (Without a row of the first step to tell: rows written since it
         * ran are newer than the page and only move the floor up over rows
         * that step found nothing in.) */
        long long max_id = 0;
        const struct db_field spec[] = { DB_I64("max_id", &max_id), DB_END };
        if (db_one(c, STMT_SUGGESTIONS_MAX_ID, NULL, spec, st) < 0)
            return false;
        start = max_id + 1;
    }
    long long floor = start > window ? start - window : 0;
    if (admin) {
        /* An admin sees every row: the newest ones in id order are the way. */
        p[2] = fmt_id(from, start);
        p[11] = fmt_id(to, floor);
        got = page_read(c, pg, STMT_SUGGESTIONS_SEARCH_RECENT, p, false, st);
        if (got < 0)
            return false;
    }
    if (got >= limit || floor <= 1)
        return true;
    p[2] = fmt_id(from, floor);
    p[9] = fmt_id(lim, limit - got);
    return page_read(c, pg, STMT_SUGGESTIONS_SEARCH, p, false, st) >= 0;
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
    /* Written as text: building jansson objects for a page of rows only to
     * dump them was most of this endpoint's own time (docs/performance.md). */
    struct page pg = { 0 };
    JSONW_LIT(&pg.w, "{\"items\":[");
    if (!q->q) {
        /* The cursor is never NULL here: the first page is below every id. */
        if (!params[2])
            params[2] = "9223372036854775807";
        long long got = page_read(c, &pg,
                                  q->assigned_to_me ? STMT_SUGGESTIONS_LIST_ASSIGNED
                                  : q->authored_by_me ? STMT_SUGGESTIONS_LIST_AUTHORED
                                                      : STMT_SUGGESTIONS_LIST,
                                  params, false, &st);
        if (got == 0) {
            free(jsonw_finish(&pg.w, len));
            domain_refuse(out, DOMAIN_UNAUTHORIZED, NULL, "session expired or signed out");
            return NULL;
        }
        if (got < 0) {
            free(jsonw_finish(&pg.w, len));
            domain_settle(out, st);
            return NULL;
        }
    } else if (!search(c, q->search_window, params, q->cursor, q->limit, &pg, &st)) {
        free(jsonw_finish(&pg.w, len));
        domain_settle(out, st);
        return NULL;
    }
    JSONW_LIT(&pg.w, "],\"next_cursor\":");
    if (pg.n == q->limit) {
        char last[24];
        fmt_id(last, pg.last_id);
        jsonw_str(&pg.w, last, strlen(last));
    } else {
        JSONW_LIT(&pg.w, "null");
    }
    JSONW_LIT(&pg.w, "}");
    char *text = jsonw_finish(&pg.w, len);
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
    char id[PUBLIC_ID_CHARS + 1];
    const struct db_field spec[] = { DB_TEXT("public_id", id), DB_END };
    int found = db_one(c, STMT_TRACKING_LOOKUP, p, spec, &st);
    if (found < 0)
        return domain_settle(out, st);
    if (found)
        snprintf(public_id, PUBLIC_ID_CHARS + 1, "%s", id);
    if (!found) {
        domain_refuse(out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        return false;
    }
    tracking_throttle_refund(hash);
    return true;
}
