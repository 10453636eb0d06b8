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

/* The submission the request's tracking code holds until its window ends
 * (domain/release.c), as its author sees it: status "pending" (待送达)
 * and the release time; NULL when the code holds none (or on a database
 * failure: the lookup of the code itself then fails too). */
static json_t *held_submission(struct request *r, const char *code)
{
    char hash[65], lookup[RELEASE_LOOKUP_HEX];
    if (!code || !tracking_code_hash(code, hash))
        return NULL;
    release_lookup(r->cfg->master_key, hash, lookup);
    enum db_status st;
    json_t *held = release_held(r->db, r->cfg->master_key, lookup, &st);
    json_t *view = NULL;
    size_t i;
    json_t *act;
    json_array_foreach(held, i, act) {
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
    json_decref(held);
    return view;
}

/* The suggestion the request's tracking code follows; false: a problem
 * has been queued in *out. */
static bool tracked_suggestion(struct request *r, char public_id[PUBLIC_ID_CHARS + 1],
                               enum handler_result *out)
{
    r->anonymous = true;
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *code = h && strncasecmp(h, "Tracking ", 9) == 0 ? h + 9 : NULL;
    json_t *held = held_submission(r, code);
    if (held) {
        /* GET shows it pending; a step on it waits for its release. */
        if (!strcmp(r->method, "GET")) {
            *out = reply_json(r, 200, held);
        } else {
            json_decref(held);
            *out = reply_problem(r, PROBLEM_CONFLICT,
                                 "the suggestion is held until its release window ends");
        }
        return false;
    }
    struct domain_result d;
    if (!suggestion_tracked(r->db, code, h != NULL, public_id, &d)) {
        *out = reply_domain(r, &d);
        return false;
    }
    return true;
}

/* The holder of the code takes step a. */
static enum handler_result run_tracked(struct request *r, struct wf_action *a, unsigned ok)
{
    char public_id[PUBLIC_ID_CHARS + 1];
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &out))
        return out;
    a->actor = (struct wf_actor){ .anonymous = true };
    a->public_id = public_id;
    return reply_step(r, a, ok);
}

enum handler_result tracked_get(struct request *r)
{
    char public_id[PUBLIC_ID_CHARS + 1];
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &out))
        return out;
    return reply_suggestion(r, 200, public_id, 0, true, NULL);
}

enum handler_result tracked_message(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_MESSAGE };
    r->anonymous = true;
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    validate_not_blank(&v, "body", a.text);
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
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
