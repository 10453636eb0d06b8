/* Work messengers over HTTP (docs/notifications.md, "Work messengers"):
 * a unit's WeCom or DingTalk application as a webhook of its own kind
 * (what it takes is checked here, for routes/notifications.c), and the
 * caller's own user id in each messenger (GET/PUT /v1/me/messenger-ids). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "db/rows.h"
#include "domain/audit.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define USER_ID_MAX 64
#define APP_ID_MAX 64
#define APP_SECRET_MAX 200

/* WeCom's and DingTalk's user ids: letters, digits, "_", "-", ".", "@"
 * (sql/0029 holds the same rule). */
static bool user_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > USER_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_-.@", s[i]))
            return false;
    return true;
}

bool messenger_app_target(struct validator *v, json_t *body, enum webhook_kind kind,
                          json_t **target, char *hint, size_t hint_len)
{
    bool wecom = kind == WEBHOOK_WECOM_APP;
    const char *id_field = wecom ? "corp_id" : "app_key";
    if (json_object_get(body, "url"))
        validator_error(v, "url", "an application has no URL: give its ids and secret");
    const char *app_id = validate_string(v, id_field, true, 1, APP_ID_MAX);
    const char *secret = validate_string(v, "secret", true, 1, APP_SECRET_MAX);
    long long agent = 0;
    bool present = false;
    validate_int(v, "agent_id", true, 1, 9007199254740991LL, &agent, &present);
    if (app_id && !user_id_ok(app_id))
        validator_error(v, id_field, "must be letters, digits, _ - . or @");
    if (json_object_get(body, wecom ? "app_key" : "corp_id"))
        validator_error(v, wecom ? "app_key" : "corp_id",
                        wecom ? "a WeCom application takes corp_id" : "a DingTalk application takes app_key");
    if (validator_failed(v))
        return false;
    *target = json_pack("{s:s, s:I, s:s}", "app_id", app_id, "agent_id", (json_int_t)agent,
                        "secret", secret);
    /* What the API shows: the vendor's endpoint and the agent id, never
     * the corp id's secret. */
    snprintf(hint, hint_len, "%s?agentid=%lld",
             wecom ? "https://qyapi.weixin.qq.com/cgi-bin/message/send"
                   : "https://oapi.dingtalk.com/topapi/message/corpconversation/asyncsend_v2",
             agent);
    return *target != NULL;
}

static const struct db_json_col id_cols[] = {
    DBJ("wecom_user_id", "wecom_user_id", STRING),
    DBJ("dingtalk_user_id", "dingtalk_user_id", STRING), DBJ_DONE,
};

enum handler_result my_messenger_ids_get(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    char id[24];
    snprintf(id, sizeof id, "%lld", az.account_id);
    const char *p[] = { id };
    enum db_status st;
    json_t *ids = NULL;
    if (db_json_one(r->db, STMT_MESSENGER_IDS_GET, p, id_cols, &ids, &st) < 0)
        return reply_db_error(r, st);
    if (!ids)
        return reply_db_error(r, DB_ERROR);
    return reply_json(r, 200, ids);
}

struct ids_ctx {
    struct audit_entry actor;
    char id[24];
    const char *wecom, *dingtalk;
    json_t *out;
};

static enum db_status ids_set_tx(struct db_conn *c, void *arg)
{
    struct ids_ctx *k = arg;
    json_decref(k->out);
    k->out = NULL;
    const char *p[] = { k->id, k->wecom, k->dingtalk };
    enum db_status st;
    if (db_json_one(c, STMT_MESSENGER_IDS_SET, p, id_cols, &k->out, &st) < 0)
        return st;
    if (!k->out)
        return DB_ERROR;
    json_t *change = json_pack("{s:O}", "after", k->out);
    return audit_change(c, &k->actor, "account.messenger_ids", "account", k->id, change);
}

/* A string of the alphabet, or null to clear; absent clears too (PUT
 * replaces both). */
static const char *user_id_field(struct validator *v, json_t *body, const char *field)
{
    json_t *j = json_object_get(body, field);
    if (!j || json_is_null(j))
        return NULL;
    const char *s = validate_string(v, field, false, 1, USER_ID_MAX);
    if (s && !user_id_ok(s))
        validator_error(v, field, "must be letters, digits, _ - . or @");
    return s;
}

enum handler_result my_messenger_ids_put(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *wecom = user_id_field(&v, r->json, "wecom_user_id");
    const char *dingtalk = user_id_field(&v, r->json, "dingtalk_user_id");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    struct ids_ctx k = { .actor = request_actor(r, az.account_id), .wecom = wecom,
                         .dingtalk = dingtalk };
    snprintf(k.id, sizeof k.id, "%lld", az.account_id);
    enum db_status st = db_transaction(r->db, ids_set_tx, &k);
    if (st != DB_OK) {
        json_decref(k.out);
        return reply_db_error(r, st);
    }
    return reply_json(r, 200, k.out);
}
