/* Following an anonymous suggestion with its tracking code
 * ("Authorization: Tracking CODE"): read it, write in its thread, rate the
 * answer, reopen, withdraw. Every such request is anonymous: no log line,
 * nothing of who asked kept. */
#include <string.h>
#include <strings.h>

#include "domain/release.h"
#include "domain/suggestion_view.h"
#include "domain/token_keys.h"
#include "domain/workflow.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

/* The acts the request's tracking code holds until their window ends
 * (domain/release.c), opened; a new array, empty when the code holds
 * none or is malformed, NULL on a database failure (*st). */
static json_t *held_acts(struct request *r, const char *code, char lookup[RELEASE_LOOKUP_HEX],
                         enum db_status *st)
{
    char hash[65];
    *st = DB_OK;
    lookup[0] = '\0';
    if (!code || !tracking_code_hash(code, hash))
        return json_array();
    release_lookup(r->cfg->master_key, hash, lookup);
    return release_held(r->db, r->cfg->master_key, lookup, st);
}

/* The held submission among acts, as its author sees it: status
 * "pending" (待送达) and the release time; NULL when there is none. */
static json_t *held_submission(json_t *acts)
{
    json_t *view = NULL;
    size_t i;
    json_t *act;
    json_array_foreach(acts, i, act) {
        const char *kind = json_string_value(json_object_get(act, "kind"));
        if (!kind || strcmp(kind, "submit"))
            continue;
        char at[TOKEN_TIME_CHARS + 1];
        token_time_format((long long)json_integer_value(json_object_get(act, "release_at")), at);
        json_decref(view);
        view = json_pack("{s:n, s:s, s:b, s:O, s:O, s:s}", "id", "status", "pending",
                         "anonymous", 1, "title", json_object_get(act, "title"), "body",
                         json_object_get(act, "body"), "release_at", at);
    }
    return view;
}

/* {"held": [...]}: the steps among acts still held, each with its kind,
 * its release time and what it carries (a message's body, a rating). */
static json_t *held_steps(json_t *acts)
{
    json_t *list = json_array();
    size_t i;
    json_t *act;
    json_array_foreach(acts, i, act) {
        const char *kind = json_string_value(json_object_get(act, "kind"));
        if (!kind || !strcmp(kind, "submit"))
            continue;
        char at[TOKEN_TIME_CHARS + 1];
        token_time_format((long long)json_integer_value(json_object_get(act, "release_at")), at);
        json_t *one = json_pack("{s:s, s:s}", "kind", kind, "release_at", at);
        json_t *text = json_object_get(act, "text"), *rating = json_object_get(act, "rating");
        if (text)
            json_object_set(one, "body", text);
        if (rating)
            json_object_set(one, "rating", rating);
        json_array_append_new(list, one);
    }
    return json_pack("{s:o}", "held", list);
}

/* The suggestion the request's tracking code follows, and (acts non-NULL)
 * the acts it holds, with their lookup; false: a problem has been queued
 * in *out. */
static bool tracked_suggestion(struct request *r, char public_id[PUBLIC_ID_CHARS + 1],
                               json_t **acts, char lookup[RELEASE_LOOKUP_HEX],
                               enum handler_result *out)
{
    r->anonymous = true;
    *acts = NULL;
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *code = h && strncasecmp(h, "Tracking ", 9) == 0 ? h + 9 : NULL;
    json_t *held = held_acts(r, code, lookup, &st);
    if (!held) {
        *out = reply_db_error(r, st);
        return false;
    }
    json_t *submission = held_submission(held);
    if (submission) {
        json_decref(held);
        /* GET shows it pending; a step on it waits for its release. */
        if (!strcmp(r->method, "GET")) {
            *out = reply_json(r, 200, submission);
        } else {
            json_decref(submission);
            *out = reply_problem(r, PROBLEM_CONFLICT,
                                 "the suggestion is held until its release window ends");
        }
        return false;
    }
    struct domain_result d;
    if (!suggestion_tracked(r->db, code, h != NULL, public_id, &d)) {
        json_decref(held);
        *out = reply_domain(r, &d);
        return false;
    }
    *acts = held;
    return true;
}

/* The holder of the code takes step a: at once when there is no release
 * window, else held until the window's end (domain/workflow.h), and
 * answered with the suggestion as it is and the steps the code holds. */
static enum handler_result run_tracked(struct request *r, struct wf_action *a, unsigned ok)
{
    char public_id[PUBLIC_ID_CHARS + 1], lookup[RELEASE_LOOKUP_HEX];
    json_t *acts;
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &acts, lookup, &out))
        return out;
    a->actor = (struct wf_actor){ .anonymous = true };
    a->public_id = public_id;
    if (!r->cfg->anon_release_window) {
        json_decref(acts);
        return reply_step(r, a, ok);
    }
    json_decref(acts);
    long long release_at;
    struct domain_result d;
    workflow_hold_act(r->db, a, r->cfg->master_key, r->cfg->anon_release_window, lookup,
                      &release_at, &d);
    if (d.outcome != DOMAIN_OK)
        return reply_domain(r, &d);
    enum db_status st;
    acts = release_held(r->db, r->cfg->master_key, lookup, &st);
    if (!acts)
        return reply_db_error(r, st);
    json_t *extra = held_steps(acts);
    json_decref(acts);
    return reply_suggestion(r, ok, public_id, 0, true, extra);
}

enum handler_result tracked_get(struct request *r)
{
    char public_id[PUBLIC_ID_CHARS + 1], lookup[RELEASE_LOOKUP_HEX];
    json_t *acts;
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &acts, lookup, &out))
        return out;
    json_t *extra = held_steps(acts);
    json_decref(acts);
    return reply_suggestion(r, 200, public_id, 0, true, extra);
}

enum handler_result tracked_message(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_MESSAGE };
    r->anonymous = true;
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    validate_not_blank(&v, "body", a.text);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    return run_tracked(r, &a, 201);
}

enum handler_result tracked_rate(struct request *r)
{
    struct wf_action a = { .step = WF_RATE };
    enum handler_result out;
    r->anonymous = true;
    if (!rating_read(r, &a, &out))
        return out;
    return run_tracked(r, &a, 200);
}

enum handler_result tracked_withdraw(struct request *r)
{
    struct wf_action a = { .step = WF_WITHDRAW };
    return run_tracked(r, &a, 200);
}

enum handler_result tracked_reopen(struct request *r)
{
    struct wf_action a = { .step = WF_REOPEN };
    return run_tracked(r, &a, 200);
}
