/* Fuzzes what a webhook's configuration and a notice's text go through:
 * webhook_url_parse (the first byte 0x00-0x7f) and the markdown bodies of
 * the robots (0x80-0xff: the rest is a suggestion's title). Invariants: an
 * accepted URL has a host, a port in range and an http(s) hint of at most
 * WEBHOOK_URL_MAX bytes whose query keeps no value; a markdown body is
 * JSON, at most 4096 bytes of content, and the title cannot add a link,
 * HTML, a heading or emphasis (the only '[' , '(' and '*' are the
 * service's own). Input: mode byte, then the URL or the title. */
#include "fuzz.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "util/utf8.h"
#include "webhook/payload.h"
#include "webhook/url.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
    return 0;
}

static size_t count(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void url(const char *s)
{
    struct webhook_target t;
    if (webhook_url_parse(s, &t))
        return;
    FUZZ_CHECK(t.host[0], "accepted %s with no host", s);
    FUZZ_CHECK(t.port >= 1 && t.port <= 65535, "port %u", t.port);
    FUZZ_CHECK(!strncmp(t.hint, t.https ? "https://" : "http://", t.https ? 8 : 7), "hint %s", t.hint);
    FUZZ_CHECK(strlen(t.hint) <= WEBHOOK_URL_MAX, "hint of %zu bytes", strlen(t.hint));
    const char *q = strchr(t.hint, '?');
    for (const char *eq = q ? strchr(q, '=') : NULL; eq; eq = strchr(eq + 1, '='))
        FUZZ_CHECK(!strncmp(eq + 1, "…", 3), "a query value shows in %s", t.hint);
}

static void markdown(const char *title)
{
    if (!utf8_valid(title, strlen(title)))
        return; /* titles are checked as UTF-8 before they are stored */
    json_t *n = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:i, s:s}}", "event", "assigned",
                          "subject", title, "text", title, "link",
                          "https://yijian.example.org/#/suggestions/S-7K3Q9D", "created_at",
                          "2026-11-26T01:30:00Z", "suggestion", "id", "S-7K3Q9D", "title", title,
                          "unit_id", 1, "unit_name", "支部");
    if (!n)
        return;
    for (int k = WEBHOOK_WECOM; k <= WEBHOOK_DINGTALK; k++) {
        char *body = webhook_body((enum webhook_kind)k, n, 1);
        FUZZ_CHECK(body, "no body for kind %d", k);
        json_t *j = json_loads(body, 0, NULL);
        FUZZ_CHECK(j, "not JSON: %s", body);
        json_t *md = json_object_get(j, "markdown");
        const char *text = json_string_value(json_object_get(md, k == WEBHOOK_WECOM ? "content" : "text"));
        FUZZ_CHECK(text && strlen(text) <= WEBHOOK_MARKDOWN_MAX_BYTES, "content of %zu bytes",
                   text ? strlen(text) : 0);
        /* Cut or not, the title adds none of these. */
        FUZZ_CHECK(count(text, '[') <= 1 && count(text, '(') <= 1 && count(text, '<') == 0 &&
                       count(text, '#') <= (k == WEBHOOK_WECOM ? 1u : 5u) &&
                       count(text, '*') <= (k == WEBHOOK_WECOM ? 4u : 0u) && !strchr(text, '\r'),
                   "the title escaped: %s", text);
        json_decref(j);
        free(body);
    }
    json_decref(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = fuzz_cstr(data + 1, size - 1);
    if (data[0] < 0x80)
        url(s);
    else
        markdown(s);
    free(s);
    return 0;
}
