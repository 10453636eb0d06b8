/* Consultations over HTTP (征求意见, issue 23): list, draft, read, edit,
 * open, close, answer, results. domain/consultations.h does the work. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "domain/consultations.h"
#include "domain/redeem.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

/* The fields of a draft from the body; on create kind and the two times
 * are required. include_subunits -1 when absent. */
static void fields_from(struct validator *v, bool create, struct consultation_fields *f)
{
    memset(f, 0, sizeof *f);
    f->kind = validate_string(v, "kind", create, 1, 20);
    if (f->kind && !consultation_kind_valid(f->kind))
        validator_error(v, "kind", "must be life_meeting, before_decision or blank");
    f->title = validate_string(v, "title", false, 1, CONSULTATION_TITLE_MAX_CHARS);
    validate_trimmed(v, "title", f->title);
    validate_not_blank(v, "title", f->title);
    f->body = validate_string(v, "body", false, 1, CONSULTATION_BODY_MAX_CHARS);
    validate_not_blank(v, "body", f->body);
    f->answer_mode = validate_string(v, "answer_mode", false, 1, 20);
    if (f->answer_mode && !consultation_mode_valid(f->answer_mode))
        validator_error(v, "answer_mode", "must be named_only, anonymous_allowed or anonymous_only");
    f->opens_at = validate_time(v, "opens_at", create);
    f->closes_at = validate_time(v, "closes_at", create);
    json_t *sub = json_is_object(v->body) ? json_object_get(v->body, "include_subunits") : NULL;
    f->include_subunits = sub && !json_is_null(sub) ? validate_bool(v, "include_subunits", false) : -1;
    json_t *q = json_is_object(v->body) ? json_object_get(v->body, "questions") : NULL;
    if (q && !json_is_null(q)) {
        if (!json_is_array(q))
            validator_error(v, "questions", "must be an array");
        else
            f->questions = q;
    }
}

static bool id_from_path(struct request *r, long long *id, enum handler_result *out)
{
    if (request_param_id(r, 0, id))
        return true;
    *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such consultation");
    return false;
}

/* The caller, signed in; false with a reply queued. */
static bool caller(struct request *r, struct consultation_caller *who, enum handler_result *out)
{
    struct authz az;
    if (!caller_load(r, 0, &az, out))
        return false;
    who->account_id = az.account_id;
    who->is_admin = az.is_admin;
    return true;
}

static enum handler_result reply_view(struct request *r, unsigned status, json_t *j,
                                      const struct domain_result *d)
{
    if (!j)
        return reply_domain(r, d);
    return reply_json(r, status, j);
}

enum handler_result consultations_list(struct request *r)
{
    struct consultation_caller who;
    enum handler_result out;
    if (!caller(r, &who, &out))
        return out;
    struct domain_result d;
    return reply_view(r, 200, consultations_visible(r->db, &who, &d), &d);
}

enum handler_result consultations_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct consultation_fields f;
    fields_from(&v, true, &f);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!unit_from_path(r, &az, &out))
        return out;
    struct audit_entry actor = request_actor(r, az.account_id);
    struct domain_result d;
    return reply_view(r, 201, consultation_create(r->db, &actor, &az, &f, &d), &d);
}

enum handler_result consultations_get(struct request *r)
{
    long long id;
    enum handler_result out;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct domain_result d;
    json_t *j = consultation_view(r->db, &who, id, &d);
    if (j && !consultation_with_key(r, id, j, &out))
        return out;
    return reply_view(r, 200, j, &d);
}

enum handler_result consultations_update(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct consultation_fields f;
    fields_from(&v, false, &f);
    if (!validator_failed(&v) && !f.kind && !f.title && !f.body && !f.answer_mode &&
        !f.opens_at && !f.closes_at && f.include_subunits < 0 && !f.questions)
        validator_error(&v, "", "give at least one field to change");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long id;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    return reply_view(r, 200, consultation_edit(r->db, &actor, &who, id, &f, &d), &d);
}

static enum handler_result lifecycle(struct request *r, bool open)
{
    long long id;
    enum handler_result out;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    unsigned window = r->cfg->anon_release_window;
    json_t *j = open ? consultation_open(r->db, &actor, &who, id, window, &d)
                     : consultation_close(r->db, &actor, &who, id, window, &d);
    return reply_view(r, 200, j, &d);
}

enum handler_result consultations_open(struct request *r)
{
    return lifecycle(r, true);
}

enum handler_result consultations_close(struct request *r)
{
    return lifecycle(r, false);
}

enum handler_result consultations_answer(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    json_t *answers = json_is_object(r->json) ? json_object_get(r->json, "answers") : NULL;
    if (!json_is_object(answers))
        validator_error(&v, "answers", "must be an object of answers by question position");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long id;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    /* Where anonymous answers are allowed, a first named answer spends
     * the member's token of the consultation (docs/consultations.md). */
    struct token token;
    bool with_token = json_object_get(r->json, "token") != NULL;
    if (with_token && !consultation_token_accept(r, id, &token, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    bool created;
    json_t *j = consultation_answer(r->db, &actor, &who, id, answers, with_token ? &token : NULL,
                                    &created, &d);
    sodium_memzero(&token, sizeof token);
    if (j && !consultation_with_key(r, id, j, &out))
        return out;
    return reply_view(r, created ? 201 : 200, j, &d);
}

enum handler_result consultations_results(struct request *r)
{
    long long id;
    enum handler_result out;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct domain_result d;
    return reply_view(r, 200, consultation_results(r->db, &who, id, &d), &d);
}

enum handler_result consultations_themes(struct request *r)
{
    long long id;
    enum handler_result out;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct domain_result d;
    return reply_view(r, 200, consultation_grouping(r->db, &who, id, &d), &d);
}

enum handler_result consultations_theme_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *title = validate_string(&v, "title", true, 1, CONSULTATION_TITLE_MAX_CHARS);
    validate_trimmed(&v, "title", title);
    validate_not_blank(&v, "title", title);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long id;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    return reply_view(r, 201, consultation_theme_create(r->db, &actor, &who, id, title, &d), &d);
}

enum handler_result consultations_theme_items(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    json_t *items = json_is_object(r->json) ? json_object_get(r->json, "items") : NULL;
    if (!json_is_array(items) || json_array_size(items) > 10000)
        validator_error(&v, "items", "must be an array of at most 10000 items");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long id, theme_id;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out))
        return out;
    if (!request_param_id(r, 1, &theme_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such theme");
    if (!caller(r, &who, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    return reply_view(r, 200, consultation_theme_set(r->db, &actor, &who, id, theme_id, items, &d), &d);
}

/* POST …/handovers/{account_id} and …/responses/{account_id}/approve. */
static enum handler_result subject_step(struct request *r, bool handover)
{
    long long id, subject;
    enum handler_result out;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out))
        return out;
    if (!request_param_id(r, 1, &subject))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no opinions are asked about that account here");
    if (!caller(r, &who, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    json_t *j = handover ? consultation_handover(r->db, &actor, &who, id, subject, &d)
                         : consultation_approve_response(r->db, &actor, &who, id, subject, &d);
    return reply_view(r, 200, j, &d);
}

enum handler_result consultations_handover(struct request *r)
{
    return subject_step(r, true);
}

enum handler_result consultations_response_approve(struct request *r)
{
    return subject_step(r, false);
}

enum handler_result consultations_my_opinions(struct request *r)
{
    long long id;
    enum handler_result out;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct domain_result d;
    return reply_view(r, 200, consultation_my_opinions(r->db, &who, id, &d), &d);
}

enum handler_result consultations_respond(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *body = validate_string(&v, "body", true, 1, 5000);
    validate_not_blank(&v, "body", body);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long id;
    struct consultation_caller who;
    if (!id_from_path(r, &id, &out) || !caller(r, &who, &out))
        return out;
    struct audit_entry actor = request_actor(r, who.account_id);
    struct domain_result d;
    return reply_view(r, 200, consultation_respond(r->db, &actor, &who, id, body, &d), &d);
}
