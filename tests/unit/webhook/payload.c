/* Tests service/src/webhook/payload.c: the signatures against values
 * computed independently (Python's hmac), and the bodies of each kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "webhook/payload.h"

static int init(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void the_json_signature_is_hmac_sha256_of_timestamp_dot_body(void **state)
{
    (void)state;
    const char *secret = "whsec-test-secret-0123", *body = "{\"event\":\"assigned\"}";
    char hex[65];
    webhook_sign_json(secret, strlen(secret), "1700000000", body, strlen(body), hex);
    /* python3: hmac.new(secret, b'1700000000.' + body, sha256).hexdigest() */
    assert_string_equal(hex, "8f19713e50c2ce51db7302c070487e70e2ee1f146240b1d0fcc2ffe0d3531e79");
    char other[65];
    webhook_sign_json(secret, strlen(secret), "1700000001", body, strlen(body), other);
    assert_string_not_equal(hex, other);
    webhook_sign_json("whsec-test-secret-0124", 22, "1700000000", body, strlen(body), other);
    assert_string_not_equal(hex, other);
}

static void the_dingtalk_sign_is_url_encoded_base64_of_hmac_over_timestamp_newline_secret(void **state)
{
    (void)state;
    const char *secret = "SEC000111222333444555666777888999aaabbbcccdddeeefff";
    char sign[100];
    webhook_sign_dingtalk(secret, strlen(secret), "1577262236757", sign);
    /* python3: quote_plus(b64encode(hmac.new(s, ts + b'\n' + s, sha256).digest())) */
    assert_string_equal(sign, "x5GmJEzndRdX%2BDH5giSOudRHOMfz30bZcCj1cTtEs6A%3D");
}

static json_t *notice(const char *title)
{
    char text[8192];
    snprintf(text, sizeof text, "意见 S-7K3Q9D「%s」（第一党支部）已分派给您。", title);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:i, s:s}}", "event", "assigned",
                     "subject", "新意见待处理", "text", text, "link",
                     "https://yijian.example.org/#/suggestions/S-7K3Q9D", "created_at",
                     "2026-11-26T01:30:00Z", "suggestion", "id", "S-7K3Q9D", "title", title,
                     "unit_id", 4, "unit_name", "第一党支部");
}

static void the_json_body_carries_the_notice_and_the_delivery_id(void **state)
{
    (void)state;
    json_t *n = notice("活动时间");
    char *body = webhook_body(WEBHOOK_JSON, n, 42);
    json_t *b = json_loads(body, 0, NULL);
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "delivery_id")), 42);
    assert_string_equal(json_string_value(json_object_get(b, "event")), "assigned");
    assert_string_equal(json_string_value(json_object_get(b, "link")),
                        "https://yijian.example.org/#/suggestions/S-7K3Q9D");
    assert_true(json_equal(json_object_get(b, "suggestion"), json_object_get(n, "suggestion")));
    assert_int_equal(json_object_size(b), 7);
    json_decref(b);
    free(body);
    json_object_del(n, "link");
    assert_null(webhook_body(WEBHOOK_JSON, n, 42));
    json_decref(n);
}

static void robot_bodies_are_markdown_with_a_link_and_the_title_defused(void **state)
{
    (void)state;
    json_t *n = notice("[点我](http://evil) **粗** <b>#");
    char *w = webhook_body(WEBHOOK_WECOM, n, 1), *d = webhook_body(WEBHOOK_DINGTALK, n, 1);
    json_t *wj = json_loads(w, 0, NULL), *dj = json_loads(d, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(wj, "msgtype")), "markdown");
    const char *content = json_string_value(json_object_get(json_object_get(wj, "markdown"), "content"));
    assert_non_null(content);
    assert_int_equal(json_object_size(wj), 2);
    assert_int_equal(json_object_size(json_object_get(wj, "markdown")), 1);
    assert_non_null(strstr(content, "**新意见待处理**\n"));
    assert_non_null(strstr(content, "[查看意见](https://yijian.example.org/#/suggestions/S-7K3Q9D)"));
    assert_null(strstr(content, "[点我]"));
    assert_null(strstr(content, "<b>"));
    assert_non_null(strstr(content, "［点我］（http://evil）"));

    assert_string_equal(json_string_value(json_object_get(dj, "msgtype")), "markdown");
    json_t *md = json_object_get(dj, "markdown");
    assert_int_equal(json_object_size(md), 2);
    assert_string_equal(json_string_value(json_object_get(md, "title")), "新意见待处理");
    const char *text = json_string_value(json_object_get(md, "text"));
    assert_true(strncmp(text, "#### 新意见待处理\n\n", strlen("#### 新意见待处理\n\n")) == 0);
    assert_null(strstr(text, "[点我]"));
    json_decref(wj);
    json_decref(dj);
    free(w);
    free(d);
    json_decref(n);
}

static void a_long_markdown_message_is_cut_at_4096_bytes_on_a_character_boundary(void **state)
{
    (void)state;
    char title[3 * 2000 + 1] = "";
    for (int i = 0; i < 2000; i++)
        strcat(title, "长");
    json_t *n = notice(title);
    char *w = webhook_body(WEBHOOK_WECOM, n, 1);
    json_t *wj = json_loads(w, 0, NULL);
    assert_non_null(wj); /* still valid UTF-8: jansson refuses anything else */
    const char *content = json_string_value(json_object_get(json_object_get(wj, "markdown"), "content"));
    assert_true(strlen(content) <= WEBHOOK_MARKDOWN_MAX_BYTES);
    assert_true(strlen(content) > WEBHOOK_MARKDOWN_MAX_BYTES - 8);
    assert_string_equal(content + strlen(content) - 3, "…");
    json_decref(wj);
    free(w);
    json_decref(n);
}

static void only_a_test_message_may_go_without_a_suggestion(void **state)
{
    (void)state;
    json_t *n = notice("活动时间");
    json_object_set_new(n, "suggestion", json_null());
    assert_null(webhook_body(WEBHOOK_JSON, n, 7));
    json_object_set_new(n, "event", json_string("test"));
    char *body = webhook_body(WEBHOOK_JSON, n, 7);
    json_t *b = json_loads(body, 0, NULL);
    assert_non_null(b);
    assert_true(json_is_null(json_object_get(b, "suggestion")));
    assert_string_equal(json_string_value(json_object_get(b, "event")), "test");
    json_decref(b);
    free(body);
    char *md = webhook_body(WEBHOOK_WECOM, n, 7);
    assert_non_null(md);
    assert_non_null(strstr(md, "[打开意见箱](https://yijian.example.org/#/suggestions/S-7K3Q9D)"));
    assert_null(strstr(md, "查看意见"));
    free(md);
    json_decref(n);
}

static void kinds_are_named_as_the_api_names_them(void **state)
{
    (void)state;
    enum webhook_kind k;
    assert_true(webhook_kind_parse("wecom", &k));
    assert_int_equal(k, WEBHOOK_WECOM);
    assert_string_equal(webhook_kind_name(k), "wecom");
    assert_true(webhook_kind_parse("dingtalk", &k));
    assert_string_equal(webhook_kind_name(k), "dingtalk");
    assert_true(webhook_kind_parse("json", &k));
    assert_false(webhook_kind_parse("slack", &k));
    assert_false(webhook_kind_parse("JSON", &k));
    assert_false(webhook_kind_parse(NULL, &k));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_json_signature_is_hmac_sha256_of_timestamp_dot_body),
        cmocka_unit_test(the_dingtalk_sign_is_url_encoded_base64_of_hmac_over_timestamp_newline_secret),
        cmocka_unit_test(the_json_body_carries_the_notice_and_the_delivery_id),
        cmocka_unit_test(robot_bodies_are_markdown_with_a_link_and_the_title_defused),
        cmocka_unit_test(a_long_markdown_message_is_cut_at_4096_bytes_on_a_character_boundary),
        cmocka_unit_test(only_a_test_message_may_go_without_a_suggestion),
        cmocka_unit_test(kinds_are_named_as_the_api_names_them),
    };
    return cmocka_run_group_tests_name("webhook/payload", tests, init, NULL);
}
