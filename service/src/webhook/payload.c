/* Webhook bodies and signatures. */
#include "webhook/payload.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool webhook_kind_parse(const char *s, enum webhook_kind *out)
{
    static const char *const names[] = { "json", "wecom", "dingtalk", "wecom_app",
                                         "dingtalk_app" };
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, names[i])) {
            *out = (enum webhook_kind)i;
            return true;
        }
    return false;
}

const char *webhook_kind_name(enum webhook_kind k)
{
    switch (k) {
    case WEBHOOK_WECOM:
        return "wecom";
    case WEBHOOK_DINGTALK:
        return "dingtalk";
    case WEBHOOK_WECOM_APP:
        return "wecom_app";
    case WEBHOOK_DINGTALK_APP:
        return "dingtalk_app";
    case WEBHOOK_JSON:
        break;
    }
    return "json";
}

/* ------------------------------------------------------------------ */
/* signatures                                                          */
/* ------------------------------------------------------------------ */

static void hmac_sha256(const char *key, size_t key_len, const char *a, size_t a_len,
                        const char *sep, const char *b, size_t b_len,
                        unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, a_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)sep, strlen(sep));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, b_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

void webhook_sign_json(const char *secret, size_t secret_len, const char *timestamp,
                       const char *body, size_t body_len, char out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac_sha256(secret, secret_len, timestamp, strlen(timestamp), ".", body, body_len, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
}

void webhook_sign_dingtalk(const char *secret, size_t secret_len, const char *timestamp_ms,
                           char out[100])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    hmac_sha256(secret, secret_len, timestamp_ms, strlen(timestamp_ms), "\n", secret, secret_len,
                mac);
    char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                       sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
    /* base64's '+', '/' and '=' are the characters a query needs encoded */
    size_t o = 0;
    for (const char *p = b64; *p && o + 4 < 100; p++) {
        if (*p == '+' || *p == '/' || *p == '=') {
            snprintf(out + o, 4, "%%%02X", (unsigned char)*p);
            o += 3;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* bodies                                                              */
/* ------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Text written by people, made inert in markdown: the characters that
 * open links, emphasis, headings, HTML or code become their full-width
 * forms, and line breaks become spaces. */
static void put_defused(struct buf *b, const char *s)
{
    static const struct { char c; const char *with; } map[] = {
        { '[', "［" }, { ']', "］" }, { '(', "（" }, { ')', "）" }, { '<', "＜" }, { '>', "＞" },
        { '*', "＊" }, { '_', "＿" }, { '`', "｀" }, { '#', "＃" }, { '~', "～" }, { '|', "｜" },
        { '!', "！" }, { '\\', "＼" }, { '\r', " " }, { '\n', " " },
    };
    for (; *s; s++) {
        const char *with = NULL;
        for (size_t i = 0; i < sizeof map / sizeof map[0] && !with; i++)
            if (*s == map[i].c)
                with = map[i].with;
        if (with)
            puts_(b, with);
        else
            put(b, s, 1);
    }
}

/* Cuts s to at most max bytes at a UTF-8 character boundary, ending in
 * "…" when cut. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    size_t end = max - 3; /* room for "…" */
    while (end > 0 && ((unsigned char)s[end] & 0xc0) == 0x80)
        end--;
    memcpy(s + end, "…", 4);
}

static const char *str_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static char *markdown(const json_t *notice, bool dingtalk)
{
    const char *subject = str_of(notice, "subject"), *text = str_of(notice, "text"),
               *link = str_of(notice, "link");
    if (!subject || !text || !link)
        return NULL;
    struct buf b = { 0 };
    puts_(&b, dingtalk ? "#### " : "**");
    put_defused(&b, subject);
    puts_(&b, dingtalk ? "\n\n" : "**\n");
    put_defused(&b, text);
    const char *event = str_of(notice, "event");
    bool test = event && !strcmp(event, "test"); /* about no suggestion */
    puts_(&b, dingtalk ? "\n\n[" : "\n[");
    puts_(&b, test ? "打开意见箱](" : "查看意见](");
    puts_(&b, link);
    puts_(&b, ")");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    cut_utf8(b.p, WEBHOOK_MARKDOWN_MAX_BYTES);
    return b.p;
}

char *webhook_body(enum webhook_kind kind, const json_t *notice, long long delivery_id)
{
    json_t *out = NULL;
    if (kind == WEBHOOK_JSON) {
        const json_t *sug = json_object_get(notice, "suggestion");
        if (!str_of(notice, "event") || !str_of(notice, "subject") || !str_of(notice, "text") ||
            !str_of(notice, "link") || !str_of(notice, "created_at") ||
            !(json_is_object(sug) || (json_is_null(sug) && !strcmp(str_of(notice, "event"), "test"))))
            return NULL;
        out = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:O}", "delivery_id",
                        (json_int_t)delivery_id, "event", str_of(notice, "event"), "created_at",
                        str_of(notice, "created_at"), "subject", str_of(notice, "subject"),
                        "text", str_of(notice, "text"), "link", str_of(notice, "link"),
                        "suggestion", sug);
    } else {
        char *md = markdown(notice, kind == WEBHOOK_DINGTALK);
        if (!md)
            return NULL;
        if (kind == WEBHOOK_WECOM) {
            out = json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", "content", md);
        } else {
            /* DingTalk shows the title in the conversation list. */
            struct buf t = { 0 };
            put(&t, "", 0); /* allocated even for an empty subject */
            put_defused(&t, str_of(notice, "subject"));
            if (!t.failed)
                cut_utf8(t.p, 200);
            out = t.failed ? NULL
                           : json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown",
                                       "title", t.p, "text", md);
            free(t.p);
        }
        free(md);
    }
    if (!out)
        return NULL;
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return text;
}

char *webhook_app_body(enum webhook_kind kind, const json_t *notice, long long agent_id,
                       const char *user_id)
{
    const char *subject = str_of(notice, "subject"), *text = str_of(notice, "text"),
               *link = str_of(notice, "link"), *event = str_of(notice, "event");
    if (!subject || !text || !link || !event || !user_id)
        return NULL;
    bool test = !strcmp(event, "test");
    json_t *out = NULL;
    if (kind == WEBHOOK_WECOM_APP) {
        /* A text card is plain text with a link button. */
        char title[WEBHOOK_WECOM_CARD_TITLE_MAX + 1], desc[WEBHOOK_WECOM_CARD_TEXT_MAX + 1];
        char *t = strdup(subject), *d = strdup(text);
        if (t && d) {
            cut_utf8(t, WEBHOOK_WECOM_CARD_TITLE_MAX);
            cut_utf8(d, WEBHOOK_WECOM_CARD_TEXT_MAX);
            snprintf(title, sizeof title, "%s", t);
            snprintf(desc, sizeof desc, "%s", d);
            out = json_pack("{s:s, s:s, s:I, s:{s:s, s:s, s:s, s:s}}", "touser", user_id,
                            "msgtype", "textcard", "agentid", (json_int_t)agent_id, "textcard",
                            "title", title, "description", desc, "url", link, "btntxt",
                            test ? "打开意见箱" : "查看意见");
        }
        free(t);
        free(d);
    } else if (kind == WEBHOOK_DINGTALK_APP) {
        char *md = markdown(notice, true);
        struct buf t = { 0 };
        put(&t, "", 0);
        put_defused(&t, subject);
        if (md && !t.failed) {
            cut_utf8(md, WEBHOOK_DINGTALK_MSG_TEXT_MAX);
            cut_utf8(t.p, 200);
            out = json_pack("{s:I, s:s, s:{s:s, s:{s:s, s:s}}}", "agent_id", (json_int_t)agent_id,
                            "userid_list", user_id, "msg", "msgtype", "markdown", "markdown",
                            "title", t.p, "text", md);
        }
        free(md);
        free(t.p);
    }
    if (!out)
        return NULL;
    char *body = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return body;
}
