/* A consultation's anonymous side over HTTP (issue 23): the member's one
 * token (POST /v1/consultations/{id}/token), an anonymous answer paid with
 * it (POST …/anonymous-answer, no session), and the holder of its
 * tracking code reading and replacing it (GET and PUT
 * …/anonymous-answer/mine, "Authorization: Tracking CODE"). The anonymous
 * requests leave no log line and are not counted (the router marks them).
 * domain/consultation_anon.h does the work. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain/consultation_anon.h"
#include "domain/token_keys.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

/* 32 bytes as base64url without padding. */
#define ELEMENT_B64_CHARS 43

static bool id_from_path(struct request *r, long long *id, enum handler_result *out)
{
    if (request_param_id(r, 0, id))
        return true;
    *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such consultation");
    return false;
}

bool consultation_token_accept(struct request *r, long long id, struct token *t,
                               enum handler_result *out)
{
    const char *field;
    const char *why = consultation_token_parse(json_object_get(r->json, "token"), id, t, &field);
    if (why) {
        char pointer[32];
        snprintf(pointer, sizeof pointer, "/token%s%s", *field ? "/" : "", field);
        *out = reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", pointer, "detail", why));
        return false;
    }
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    int genuine = consultation_token_verify(r->db, r->cfg->master_key, id, t, &st);
    if (genuine < 0) {
        *out = reply_db_error(r, st);
        return false;
    }
    if (!genuine) {
        /* A token of another consultation, one never issued, and an id
         * that names nothing look the same. */
        *out = reply_problem(r, PROBLEM_INVALID_TOKEN, "not a token of this consultation");
        return false;
    }
    return true;
}

bool consultation_with_key(struct request *r, long long id, json_t *j, enum handler_result *out)
{
    struct domain_result d;
    json_t *key = consultation_public_key(r->db, r->cfg->master_key, id,
                                          json_string_value(json_object_get(j, "answer_mode")),
                                          json_string_value(json_object_get(j, "status")), &d);
    if (d.outcome != DOMAIN_OK) {
        json_decref(j);
        *out = reply_domain(r, &d);
        return false;
    }
    json_object_set_new(j, "token_key", key ? key : json_null());
    return true;
}

/* ------------------------------------------------------------------ */
/* POST /v1/consultations/{id}/token                                   */
/* ------------------------------------------------------------------ */

enum handler_result consultations_token(struct request *r)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct validator v;
    validator_init(&v, r->json);
    const char *b = validate_string(&v, "blinded", true, ELEMENT_B64_CHARS, ELEMENT_B64_CHARS);
    struct oprf_element blinded;
    if (b) {
        unsigned char raw[OPRF_ELEMENT_BYTES];
        size_t n = 0;
        const char *end = NULL;
        size_t len = strlen(b);
        if (strspn(b, alphabet) != len ||
            sodium_base642bin(raw, sizeof raw, b, len, NULL, &n, &end,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
            n != sizeof raw || end != b + len)
            validator_error(&v, "blinded", "must be 32 bytes as base64url without padding (43 characters)");
        else if (oprf_element_deserialize(&blinded, raw, n) != OPRF_OK)
            validator_error(&v, "blinded", "is not the canonical encoding of a ristretto255 element other than the identity");
    }
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    long long id;
    enum handler_result out;
    struct authz az;
    if (!id_from_path(r, &id, &out) || !caller_load(r, 0, &az, &out))
        return out;
    struct consultation_caller who = { az.account_id, az.is_admin };
    struct domain_result d;
    json_t *j = consultation_token_issue(r->db, r->cfg->master_key, &who, id, &blinded, &d);
    return j ? reply_json(r, 200, j) : reply_domain(r, &d);
}

/* ------------------------------------------------------------------ */
/* the anonymous answer and its tracking code                          */
/* ------------------------------------------------------------------ */

/* The body's answers object; false with a problem queued. */
static bool answers_from(struct request *r, json_t **answers, enum handler_result *out)
{
    struct validator v;
    validator_init(&v, r->json);
    *answers = json_is_object(r->json) ? json_object_get(r->json, "answers") : NULL;
    if (!json_is_object(*answers))
        validator_error(&v, "answers", "must be an object of answers by question position");
    if (validator_failed(&v)) {
        *out = validator_reply(r, &v);
        return false;
    }
    validator_cleanup(&v);
    return true;
}

/* {status, release_at} of a held act: "pending" (待送达) until its window
 * ends, "released" when there is no window. */
static json_t *held_reply(long long release_at)
{
    if (!release_at)
        return json_pack("{s:s, s:n}", "status", "released", "release_at");
    char at[TOKEN_TIME_CHARS + 1];
    token_time_format(release_at, at);
    return json_pack("{s:s, s:s}", "status", "pending", "release_at", at);
}

enum handler_result consultations_anonymous_answer(struct request *r)
{
    r->anonymous = true;
    json_t *answers;
    long long id;
    enum handler_result out;
    if (!answers_from(r, &answers, &out) || !id_from_path(r, &id, &out))
        return out;
    struct token token;
    if (!consultation_token_accept(r, id, &token, &out)) {
        sodium_memzero(&token, sizeof token);
        return out;
    }
    char code[TRACKING_CODE_CHARS + 1];
    long long release_at;
    struct domain_result d;
    consultation_hold_answer(r->db, r->cfg->master_key, r->cfg->anon_release_window, id, &token,
                             answers, code, &release_at, &d);
    sodium_memzero(&token, sizeof token);
    if (d.outcome != DOMAIN_OK)
        return reply_domain(r, &d);
    json_t *body = held_reply(release_at);
    json_object_set_new(body, "consultation_id", json_integer((json_int_t)id));
    json_object_set_new(body, "tracking_code", json_string(code));
    sodium_memzero(code, sizeof code);
    return reply_json(r, release_at ? 202 : 201, body);
}

/* The tracking code of "Authorization: Tracking CODE", or NULL. */
static const char *tracking_code(struct request *r)
{
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    return h && strncasecmp(h, "Tracking ", 9) == 0 ? h + 9 : NULL;
}

enum handler_result consultations_tracked_answer_get(struct request *r)
{
    r->anonymous = true;
    long long id;
    enum handler_result out;
    enum db_status st;
    if (!id_from_path(r, &id, &out))
        return out;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    struct domain_result d;
    json_t *j = consultation_tracked_answer(r->db, r->cfg->master_key, id, tracking_code(r), &d);
    return j ? reply_json(r, 200, j) : reply_domain(r, &d);
}

enum handler_result consultations_tracked_answer_put(struct request *r)
{
    r->anonymous = true;
    json_t *answers;
    long long id;
    enum handler_result out;
    enum db_status st;
    if (!answers_from(r, &answers, &out) || !id_from_path(r, &id, &out))
        return out;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    long long release_at;
    struct domain_result d;
    consultation_hold_change(r->db, r->cfg->master_key, r->cfg->anon_release_window, id,
                             tracking_code(r), answers, &release_at, &d);
    if (d.outcome != DOMAIN_OK)
        return reply_domain(r, &d);
    json_t *body = held_reply(release_at);
    json_object_set_new(body, "consultation_id", json_integer((json_int_t)id));
    return reply_json(r, release_at ? 202 : 200, body);
}
