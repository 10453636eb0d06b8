/* Suggestions over HTTP: submission (named or anonymous, idempotent), the
 * list and search, one suggestion, and each step of the workflow. Each
 * handler parses the request, calls domain/workflow.h or
 * domain/suggestion_view.h, and replies. */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/tokens.h"
#include "domain/session.h"
#include "domain/suggestion_view.h"
#include "domain/token_keys.h"
#include "domain/workflow.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define LIST_PAGE_DEFAULT 20
#define LIST_PAGE_MAX 100

/* Reads and checks the token of an anonymous request, and verifies it
 * against the key of unit_id in its epoch: a token is good only for its
 * unit (0 when there is no unit: then no token is). false: a problem has
 * been queued in *out. */
static bool token_accept(struct request *r, struct token *t, long long unit_id,
                         enum handler_result *out)
{
    const char *field;
    const char *why = token_parse(json_object_get(r->json, "token"), r->cfg, (long long)time(NULL),
                                  t, &field);
    if (why) {
        char at[32];
        snprintf(at, sizeof at, "token%s%s", *field ? "/" : "", field);
        *out = reply_invalid(r, at, why);
        return false;
    }
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    int genuine = token_verify(r->db, r->cfg, t, unit_id, &st);
    if (genuine == TOKEN_KEY_UNKNOWN) {
        *out = reply_invalid(r, "token/key_id", "names a key whose tokens are not redeemable now");
        return false;
    }
    if (genuine < 0) {
        *out = reply_db_error(r, st);
        return false;
    }
    if (!genuine) {
        /* A token of another unit and one never issued look the same;
         * for a co-sign, so does an id that names no suggestion. */
        *out = reply_problem(r, PROBLEM_INVALID_TOKEN,
                             "not a token of this service for the suggestion's unit");
        return false;
    }
    return true;
}

/* An anonymous request: no Authorization header, a token in the body. */
static bool is_anonymous(struct request *r)
{
    return !request_header(r, MHD_HTTP_HEADER_AUTHORIZATION) && json_is_object(r->json) &&
           json_object_get(r->json, "token");
}

static void request_hash(json_t *body, char out[65])
{
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)(canon ? canon : ""),
                       canon ? strlen(canon) : 0, NULL, 0);
    free(canon);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* The suggestion as the caller sees it after a change: as the account's
 * rights allow, or (as_author) as its author sees it — the holder of a
 * tracking code. extra (stolen, may be NULL) is merged into the body. */
enum handler_result reply_suggestion(struct request *r, unsigned status, const char *public_id,
                                     long long account_id, bool as_author, json_t *extra)
{
    struct domain_result d;
    json_t *body = suggestion_view(r->db, public_id, account_id, as_author, &d);
    if (!body) {
        json_decref(extra);
        return reply_domain(r, &d);
    }
    if (extra)
        json_object_update(body, extra);
    json_decref(extra);
    return reply_json(r, status, body);
}

/* ------------------------------------------------------------------ */
/* submission                                                          */
/* ------------------------------------------------------------------ */

/* An anonymous submission held until its window ends (domain/release.c):
 * 201 with its tracking code and the moment it will be released; no id
 * yet, nothing anyone else can see. Wipes the token. */
static enum handler_result hold_submission(struct request *r, const struct wf_submission *s,
                                           struct token *token)
{
    long long release_at;
    struct domain_result d;
    workflow_hold_submission(r->db, s, r->cfg->master_key, r->cfg->anon_release_window,
                             &release_at, &d);
    char code[TRACKING_CODE_CHARS + 1];
    tracking_code_from_output(token->output, code);
    sodium_memzero(token, sizeof *token);
    if (d.outcome != DOMAIN_OK) {
        sodium_memzero(code, sizeof code);
        return reply_domain(r, &d);
    }
    char at[TOKEN_TIME_CHARS + 1];
    token_time_format(release_at, at);
    json_t *body = json_pack("{s:n, s:s, s:b, s:s, s:s, s:s, s:s}", "id", "status", "pending",
                             "anonymous", 1, "title", s->title, "body", s->body,
                             "tracking_code", code, "release_at", at);
    sodium_memzero(code, sizeof code);
    return reply_json(r, 201, body);
}

enum handler_result suggestions_create(struct request *r)
{
    bool anonymous = is_anonymous(r);
    /* Nothing of an anonymous request is logged: not even that it came. */
    if (anonymous)
        r->anonymous = true;

    struct validator v;
    validator_init(&v, r->json);
    struct wf_submission s = { .actor = { .anonymous = anonymous } };
    bool unit_given, cat_given;
    validate_id(&v, "unit_id", anonymous, !anonymous, &s.unit_id, &unit_given);
    validate_id(&v, "category_id", true, false, &s.category_id, &cat_given);
    s.title = validate_string(&v, "title", true, 1, SUGGESTION_TITLE_MAX_CHARS);
    s.body = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    validate_not_blank(&v, "title", s.title);
    validate_not_blank(&v, "body", s.body);
    s.publish_name = validate_bool(&v, "publish_name", false);
    if (anonymous && s.publish_name)
        validator_error(&v, "publish_name", "an anonymous suggestion has no name to publish");
    s.idem_key = request_header(r, "Idempotency-Key");
    if (s.idem_key && (strlen(s.idem_key) == 0 || strlen(s.idem_key) > IDEMPOTENCY_KEY_MAX))
        validator_error(&v, "", "Idempotency-Key must be 1 to 200 characters");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct token token;
    struct authz az = { 0 };
    if (anonymous) {
        if (!token_accept(r, &token, s.unit_id, &out)) {
            sodium_memzero(&token, sizeof token);
            return out;
        }
        s.token = &token;
    } else if (!caller_load(r, 0, &az, &out)) {
        return out;
    } else {
        s.actor.account_id = az.account_id;
        s.actor.request_id = r->request_id;
    }
    char hash[65];
    if (s.idem_key) {
        request_hash(r->json, hash);
        s.request_hash = hash;
    }
    char public_id[PUBLIC_ID_CHARS + 1];
    unsigned status;
    struct domain_result d;
    if (anonymous && r->cfg->anon_release_window > 0)
        return hold_submission(r, &s, &token);
    json_t *view;
    workflow_submit_view(r->db, &s, public_id, &status, &view, &d);
    json_t *extra = NULL;
    if (anonymous) {
        /* Recomputed, never stored: a retry gets the same code back. */
        char code[TRACKING_CODE_CHARS + 1];
        tracking_code_from_output(token.output, code);
        if (d.outcome == DOMAIN_OK)
            extra = json_pack("{s:s}", "tracking_code", code);
        sodium_memzero(code, sizeof code);
        sodium_memzero(&token, sizeof token);
    }
    if (d.outcome != DOMAIN_OK) {
        json_decref(extra);
        return reply_domain(r, &d);
    }
    if (view) {
        if (extra)
            json_object_update(view, extra);
        json_decref(extra);
        return reply_json(r, status, view);
    }
    return reply_suggestion(r, status, public_id, az.account_id, anonymous, extra);
}

/* ------------------------------------------------------------------ */
/* reading                                                             */
/* ------------------------------------------------------------------ */

enum handler_result suggestions_get(struct request *r)
{
    if (!suggestion_public_id_ok(r->params[0]))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    const char *token = session_bearer(r);
    if (!token)
        return reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);
    enum db_status st;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    char hash[HASH_HEX_CHARS + 1];
    secret_hash_hex(token, hash);
    struct domain_result d;
    json_t *body = suggestion_view_session(r->db, hash, r->cfg->session_ttl, r->params[0], &d);
    if (!body)
        return reply_domain(r, &d);
    return reply_json(r, 200, body);
}

enum handler_result suggestions_list(struct request *r)
{
    struct validator v;
    validator_init_query(&v, r);
    struct suggestion_query q = { .limit = LIST_PAGE_DEFAULT,
                                  .search_window = r->cfg->search_window };
    q.status = request_query(r, "status");
    if (q.status && !suggestion_status_known(q.status))
        query_error(&v, "status: not a status");
    const char *names[] = { "unit", "category", "cursor", "limit" };
    long long *nums[] = { &q.unit_id, &q.category_id, &q.cursor, &q.limit };
    for (int i = 0; i < 4; i++) {
        char d[64];
        snprintf(d, sizeof d, "%s: expected %s", names[i], i == 3 ? "1 to 100" : "a positive id");
        query_decimal(&v, names[i], false, 1, i == 3 ? LIST_PAGE_MAX : LLONG_MAX, nums[i], d);
    }
    static const char *const me[] = { "me", NULL }, *const booleans[] = { "true", "false", NULL };
    const char *assignee = query_word(&v, "assignee", me, "assignee: only \"me\" is supported");
    const char *author = query_word(&v, "author", me, "author: only \"me\" is supported");
    const char *overdue = query_word(&v, "overdue", booleans, "overdue: true or false");
    q.q = request_query(r, "q");
    if (q.q && (!*q.q || strlen(q.q) > 200))
        query_error(&v, "q: 1 to 200 bytes");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    q.assigned_to_me = assignee != NULL;
    q.authored_by_me = author != NULL;
    q.overdue = overdue && !strcmp(overdue, "true");

    /* A search loads the caller first; the list checks the session in
     * its own statement. */
    char hash[HASH_HEX_CHARS + 1];
    if (q.q) {
        struct authz az;
        if (!caller_load(r, 0, &az, &out))
            return out;
        q.account_id = az.account_id;
        q.admin = az.is_admin;
    } else {
        const char *token = session_bearer(r);
        if (!token)
            return reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);
        enum db_status st;
        if (!request_db(r, &st))
            return reply_db_error(r, st);
        secret_hash_hex(token, hash);
        q.session_hash = hash;
        q.session_ttl = r->cfg->session_ttl;
    }
    struct domain_result d;
    size_t len;
    char *text = suggestion_page(r->db, &q, &len, &d);
    if (!text)
        return reply_domain(r, &d);
    return reply_json_text(r, 200, text, len);
}

/* ------------------------------------------------------------------ */
/* the workflow                                                        */
/* ------------------------------------------------------------------ */

/* Takes step a and answers with the suggestion as the actor now sees it,
 * with status ok. */
enum handler_result reply_step(struct request *r, const struct wf_action *a, unsigned ok)
{
    struct domain_result d;
    bool replayed;
    bool as_author = a->actor.anonymous && a->step != WF_COSIGN;
    json_t *view;
    workflow_act_view(r->db, a, as_author, &view, &d, &replayed);
    if (!replayed && d.outcome != DOMAIN_OK)
        return reply_domain(r, &d);
    if (view)
        return reply_json(r, ok, view);
    return reply_suggestion(r, ok, a->public_id, a->actor.account_id, as_author, NULL);
}

/* A signed-in caller takes step a on the suggestion of the path; with an
 * Idempotency-Key (an offline client's queue) a repeat takes it once. */
static enum handler_result run_action(struct request *r, struct wf_action *a, unsigned ok)
{
    if (!suggestion_public_id_ok(r->params[0]))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    a->idem_key = request_header(r, "Idempotency-Key");
    if (a->idem_key && (strlen(a->idem_key) == 0 || strlen(a->idem_key) > IDEMPOTENCY_KEY_MAX)) {
        return reply_invalid(r, "", "Idempotency-Key must be 1 to 200 characters");
    }
    /* The key's request: the step, its suggestion and its body. */
    json_t *what = json_pack("{s:s, s:s, s:O?}", "path", r->url ? r->url : "", "id",
                             r->params[0], "body", r->json);
    char hash[65];
    request_hash(what, hash);
    json_decref(what);
    a->request_hash = hash;
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    a->actor = (struct wf_actor){ .account_id = az.account_id, .request_id = r->request_id };
    a->public_id = r->params[0];
    a->approval_cooling_off = r->cfg->approval_cooling_off;
    return reply_step(r, a, ok);
}

enum handler_result suggestions_accept(struct request *r)
{
    struct wf_action a = { .step = WF_ACCEPT };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_withdraw(struct request *r)
{
    struct wf_action a = { .step = WF_WITHDRAW };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_reopen(struct request *r)
{
    struct wf_action a = { .step = WF_REOPEN };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_approve(struct request *r)
{
    struct wf_action a = { .step = WF_APPROVE };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_cosign(struct request *r)
{
    struct wf_action a = { .step = WF_COSIGN };
    if (!is_anonymous(r))
        return run_action(r, &a, 200);
    r->anonymous = true;
    struct token token;
    enum handler_result out;
    /* The token must be of the suggestion's unit, the rule of a named
     * co-sign; a missing suggestion is checked against no unit's key, so
     * that it is refused like one of another unit (no existence oracle). */
    long long unit_id = 0;
    if (suggestion_public_id_ok(r->params[0])) {
        enum db_status st;
        if (!request_db(r, &st))
            return reply_db_error(r, st);
        unit_id = workflow_unit_of(r->db, r->params[0], &st);
        if (unit_id < 0)
            return reply_db_error(r, st);
    }
    if (!token_accept(r, &token, unit_id, &out)) {
        sodium_memzero(&token, sizeof token);
        return out;
    }
    a.actor.anonymous = true;
    a.token = &token;
    a.public_id = r->params[0];
    if (!r->cfg->anon_release_window) {
        out = reply_step(r, &a, 200);
        sodium_memzero(&token, sizeof token);
        return out;
    }
    /* Held until the window's end (domain/workflow.h): the suggestion as
     * it is, and the co-sign with its release time. */
    long long release_at;
    struct domain_result d;
    workflow_hold_act(r->db, &a, r->cfg->master_key, r->cfg->anon_release_window, NULL,
                      &release_at, &d);
    sodium_memzero(&token, sizeof token);
    if (d.outcome != DOMAIN_OK)
        return reply_domain(r, &d);
    char at[TOKEN_TIME_CHARS + 1];
    token_time_format(release_at, at);
    return reply_suggestion(r, 200, a.public_id, 0, false,
                            json_pack("{s:[{s:s, s:s}]}", "held", "kind", "cosign",
                                      "release_at", at));
}

enum handler_result suggestions_assign(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_ASSIGN };
    bool given;
    validate_id(&v, "assignee_id", true, false, &a.assignee_id, &given);
    a.reason = validate_string(&v, "reason", true, 1, 500);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    return run_action(r, &a, 200);
}

enum handler_result suggestions_merge(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_MERGE };
    a.into = validate_string(&v, "into", true, 1, 16);
    if (a.into && !suggestion_public_id_ok(a.into))
        validator_error(&v, "into", "must be a suggestion id like S-7K3Q9D");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    return run_action(r, &a, 200);
}

enum handler_result suggestions_message(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_MESSAGE };
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    a.visibility = validate_string(&v, "visibility", false, 1, 16);
    if (a.visibility && strcmp(a.visibility, "submitter") && strcmp(a.visibility, "internal"))
        validator_error(&v, "visibility", "must be submitter or internal");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    return run_action(r, &a, 201);
}

enum handler_result suggestions_answer(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_ANSWER };
    a.decision = validate_string(&v, "decision", true, 1, 32);
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    a.reason = validate_string(&v, "reason", false, 1, 2000);
    if (a.decision && strcmp(a.decision, "adopted") && strcmp(a.decision, "partly_adopted") &&
        strcmp(a.decision, "not_adopted") && strcmp(a.decision, "noted"))
        validator_error(&v, "decision", "must be adopted, partly_adopted, not_adopted or noted");
    else if (a.decision && !strcmp(a.decision, "not_adopted") && !a.reason)
        validator_error(&v, "reason", "is required when the decision is not_adopted");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    return run_action(r, &a, 200);
}

/* The body of a rating, named or tracked; false: 422 queued in *out. */
bool rating_read(struct request *r, struct wf_action *a, enum handler_result *out)
{
    struct validator v;
    validator_init(&v, r->json);
    a->rating = validate_string(&v, "rating", true, 1, 32);
    if (a->rating && strcmp(a->rating, "satisfied") && strcmp(a->rating, "basically_satisfied") &&
        strcmp(a->rating, "unsatisfied"))
        validator_error(&v, "rating", "must be satisfied, basically_satisfied or unsatisfied");
    return validator_passed(r, &v, out);
}

/* PUT /v1/suggestions/{id}/shown: {shown, show_name?}. */
enum handler_result suggestions_show(struct request *r)
{
    struct wf_action a = { .step = WF_SHOW };
    struct validator v;
    validator_init(&v, r->json);
    if (json_is_object(r->json) && !json_object_get(r->json, "shown"))
        validator_error(&v, "shown", "is required");
    a.shown = validate_bool(&v, "shown", false);
    a.show_name = validate_bool(&v, "show_name", false);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    return run_action(r, &a, 200);
}

enum handler_result suggestions_rate(struct request *r)
{
    struct wf_action a = { .step = WF_RATE };
    enum handler_result out;
    if (!rating_read(r, &a, &out))
        return out;
    return run_action(r, &a, 200);
}
