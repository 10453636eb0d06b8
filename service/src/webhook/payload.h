/* What a webhook receives: the body for each kind (generic JSON, WeCom
 * group robot, DingTalk custom robot) and the signatures (docs/notifications.md,
 * and the formats in api-spec/openapi.yaml "webhooks"). Pure functions. */
#ifndef YIJIAN_WEBHOOK_PAYLOAD_H
#define YIJIAN_WEBHOOK_PAYLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The last two are a unit's applications in a work messenger (WeCom
 * 企业微信自建应用, DingTalk 工作通知): they write to one person each, not
 * to a group (webhook/messenger.h). */
enum webhook_kind {
    WEBHOOK_JSON,
    WEBHOOK_WECOM,
    WEBHOOK_DINGTALK,
    WEBHOOK_WECOM_APP,
    WEBHOOK_DINGTALK_APP,
};

/* "json", "wecom", "dingtalk", "wecom_app", "dingtalk_app". */
bool webhook_kind_parse(const char *s, enum webhook_kind *out);
const char *webhook_kind_name(enum webhook_kind k);

/* WeCom caps a markdown message's content at 4096 bytes; DingTalk's is
 * larger, the same cap is used for both. */
#define WEBHOOK_MARKDOWN_MAX_BYTES 4096

/*
 * The request body for kind, from notice (the outbox payload: event,
 * subject, text, link, suggestion {id, title, unit_id, unit_name},
 * created_at; suggestion null for the event "test", a test message) and
 * the delivery's id. Robots get markdown with the
 * user-written parts defused (markdown's special characters replaced by
 * their full-width forms). A new string; the caller free()s it. NULL when
 * out of memory or notice lacks a field.
 */
char *webhook_body(enum webhook_kind kind, const json_t *notice, long long delivery_id);

/* WeCom's text card: title at most 128 bytes, description at most 512;
 * DingTalk's work notice: the whole msg at most 2048 bytes. */
#define WEBHOOK_WECOM_CARD_TITLE_MAX 128
#define WEBHOOK_WECOM_CARD_TEXT_MAX 512
#define WEBHOOK_DINGTALK_MSG_TEXT_MAX 1500

/*
 * The request body of a message of an application (kind WEBHOOK_WECOM_APP
 * or WEBHOOK_DINGTALK_APP) with agent id agent_id to the person user_id,
 * from notice as for webhook_body. WeCom gets a text card
 * (message/send: touser, msgtype "textcard", agentid), DingTalk a
 * markdown work notice (asyncsend_v2: agent_id, userid_list, msg). A new
 * string; the caller free()s it. NULL when out of memory, notice lacks a
 * field or kind is not an application.
 */
char *webhook_app_body(enum webhook_kind kind, const json_t *notice, long long agent_id,
                       const char *user_id);

/*
 * The generic webhook's signature: lowercase hex of
 * HMAC-SHA256(key = secret, message = timestamp "." body), sent as
 * "X-Yijian-Signature: sha256=<hex>" with "X-Yijian-Timestamp: <timestamp>".
 */
void webhook_sign_json(const char *secret, size_t secret_len, const char *timestamp,
                       const char *body, size_t body_len, char out[65]);

/*
 * DingTalk's signature: base64 of HMAC-SHA256(key = secret, message =
 * timestamp_ms "\n" secret), percent-encoded for a query string. out
 * needs 100 bytes.
 */
void webhook_sign_dingtalk(const char *secret, size_t secret_len, const char *timestamp_ms,
                           char out[100]);

#endif
