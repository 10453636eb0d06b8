/* A unit's application in a work messenger writing to one person:
 * WeCom (企业微信应用消息: gettoken with corpid and corpsecret, then
 * message/send with agentid and touser) and DingTalk (工作通知: gettoken
 * with appkey and appsecret, then topapi/message/corpconversation/
 * asyncsend_v2 with agent_id and userid_list). The access token is cached
 * per application until it expires, and fetched again when the vendor
 * says it has expired. Runs on the delivery worker's thread. */
#ifndef YIJIAN_WEBHOOK_MESSENGER_H
#define YIJIAN_WEBHOOK_MESSENGER_H

#include <jansson.h>
#include <stdbool.h>

#include "webhook/payload.h"
#include "webhook/send.h"

struct messenger_app {
    enum webhook_kind kind; /* WEBHOOK_WECOM_APP or WEBHOOK_DINGTALK_APP */
    long long id;           /* the application's webhook id: the cache's key */
    const char *app_id;     /* WeCom corpid, DingTalk appkey */
    const char *secret;     /* WeCom corpsecret, DingTalk appsecret */
    long long agent_id;
    const char *api_base;   /* "https://qyapi.weixin.qq.com", no trailing '/' */
};

/* The vendors' codes for an access token that is invalid or expired
 * (40014, 42001): the token is fetched again and the message resent once. */
bool messenger_token_expired(long long errcode);

/*
 * Sends notice (the outbox payload) through app to the person user_id.
 * Delivered means errcode 0 and, for WeCom, user_id not among the
 * invalid users. o->error never holds the secret or the token.
 */
void messenger_send(const struct messenger_app *app, const char *user_id, const json_t *notice,
                    unsigned timeout_s, bool (*cancelled)(void),
                    const struct webhook_policy *p, struct webhook_outcome *o);

/* Forgets every cached token (the worker stops). */
void messenger_forget_tokens(void);

#endif
