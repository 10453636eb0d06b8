/* Tests service/src/webhook/url.c: which URLs and addresses a webhook may
 * use (the same checks run at configuration and at every delivery). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>

#include "webhook/url.h"

static int init(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int done(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

static void good_urls_are_parsed_and_their_query_masked(void **state)
{
    (void)state;
    struct webhook_target t;
    assert_null(webhook_url_parse("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", &t));
    assert_true(t.https);
    assert_int_equal(t.port, 443);
    assert_string_equal(t.host, "qyapi.weixin.qq.com");
    assert_false(t.host_is_literal);
    assert_string_equal(t.hint, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…");

    assert_null(webhook_url_parse("http://10.1.2.3:8081/relay?a=1&b&c=secret", &t));
    assert_false(t.https);
    assert_int_equal(t.port, 8081);
    assert_true(t.host_is_literal);
    assert_string_equal(t.hint, "http://10.1.2.3:8081/relay?a=…&…&c=…");

    assert_null(webhook_url_parse("http://[2001:db8::1]/x", &t));
    assert_string_equal(t.host, "2001:db8::1");
    assert_true(t.host_is_literal);
    assert_int_equal(t.port, 80);
}

/* Masking lengthens a query ("=1" becomes "=…"): a long one is shown as
 * "?…", never with a value or half a "…" (found by tests/fuzz/webhook.c). */
static void a_query_too_long_to_mask_is_shown_as_an_ellipsis(void **state)
{
    (void)state;
    static char url[WEBHOOK_URL_MAX + 1];
    struct webhook_target t;
    size_t n = (size_t)snprintf(url, sizeof url, "https://example.org/hook?");
    while (n + 4 <= WEBHOOK_URL_MAX)
        n += (size_t)snprintf(url + n, sizeof url - n, "a=1&");
    url[n - 1] = '\0';
    assert_null(webhook_url_parse(url, &t));
    assert_string_equal(t.hint, "https://example.org/hook?…");
    /* A shorter one is masked whole. */
    assert_null(webhook_url_parse("https://example.org/hook?a=1&b=2", &t));
    assert_string_equal(t.hint, "https://example.org/hook?a=…&b=…");
}

static void bad_urls_are_refused_with_a_reason(void **state)
{
    (void)state;
    struct webhook_target t;
    const char *bad[] = {
        "", "ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)", "gopher://x/",
        "http://", "http:///path", "http://user:pw@example.org/", "http://user@example.org/",
        "http://exa mple.org/", "http://例子.中国/", "http://example.org:0/",
        "http://example.org:70000/", "http://[fe80::1%25eth0]/", "example.org/hook",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = webhook_url_parse(bad[i], &t);
        if (!why)
            fail_msg("accepted %s", bad[i]);
    }
    char longest[WEBHOOK_URL_MAX + 2];
    memset(longest, 'a', sizeof longest);
    memcpy(longest, "http://x.org/", 13);
    longest[WEBHOOK_URL_MAX + 1] = '\0';
    assert_non_null(webhook_url_parse(longest, &t));
    longest[WEBHOOK_URL_MAX] = '\0';
    assert_null(webhook_url_parse(longest, &t));
}

static const char *judge_as(const char *addr, unsigned port, bool loopback, unsigned self,
                            bool account)
{
    struct webhook_policy p = { .allow_loopback = loopback, .refuse_private = account,
                                .self_port = self };
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    }
    return webhook_address_refusal((struct sockaddr *)&ss, port, &p);
}

static const char *judge(const char *addr, unsigned port, bool loopback, unsigned self)
{
    return judge_as(addr, port, loopback, self, false);
}

static void inward_addresses_are_refused_and_public_and_private_ones_allowed(void **state)
{
    (void)state;
    const char *refused[] = {
        "169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250",
        "255.255.255.255", "240.0.0.1", "fe80::1", "febf::1", "::", "ff02::1",
        "::ffff:169.254.169.254", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "127.0.0.1",
        "127.8.9.10", "::1",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (!judge(refused[i], 443, false, 0))
            fail_msg("allowed %s", refused[i]);
    assert_non_null(strstr(judge("169.254.169.254", 80, true, 0), "metadata"));
    const char *allowed[] = { "93.184.216.34", "10.0.0.5", "172.16.3.4", "192.168.1.10",
                              "2001:db8::1", "fd00::1", "fec0::1", "::ffff:8.8.8.8" };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (judge(allowed[i], 443, false, 0))
            fail_msg("refused %s: %s", allowed[i], judge(allowed[i], 443, false, 0));
}

static void an_accounts_webhook_may_not_reach_private_ranges(void **state)
{
    (void)state;
    const char *private[] = { "10.0.0.5", "10.255.255.255", "172.16.0.1", "172.31.255.254",
                              "192.168.1.10", "100.64.0.1", "100.127.255.254", "fd00::1",
                              "fc00::1", "::ffff:10.1.2.3", "::ffff:192.168.0.1" };
    for (size_t i = 0; i < sizeof private / sizeof private[0]; i++) {
        const char *why = judge_as(private[i], 443, false, 0, true);
        if (!why || !strstr(why, "private"))
            fail_msg("allowed %s for an account", private[i]);
        if (judge(private[i], 443, false, 0))
            fail_msg("refused %s for a unit", private[i]);
    }
    /* The neighbours of the ranges are public. */
    const char *public[] = { "9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0",
                             "192.167.255.255", "192.169.0.0", "100.63.255.255", "100.128.0.0",
                             "93.184.216.34", "2001:db8::1", "fe00::1", "::ffff:8.8.8.8" };
    for (size_t i = 0; i < sizeof public / sizeof public[0]; i++)
        if (judge_as(public[i], 443, false, 0, true))
            fail_msg("refused %s: %s", public[i], judge_as(public[i], 443, false, 0, true));
    /* Loopback still follows the switch alone (the tests' receivers). */
    assert_null(judge_as("127.0.0.1", 9000, true, 8080, true));
}

static void loopback_is_allowed_only_by_the_switch_and_never_on_the_services_port(void **state)
{
    (void)state;
    assert_non_null(strstr(judge("127.0.0.1", 9000, false, 8080), "WEBHOOK_ALLOW_LOOPBACK"));
    assert_null(judge("127.0.0.1", 9000, true, 8080));
    assert_null(judge("::1", 9000, true, 8080));
    assert_non_null(strstr(judge("127.0.0.1", 8080, true, 8080), "own"));
    assert_non_null(strstr(judge("127.0.0.2", 8080, true, 8080), "own"));
    assert_non_null(strstr(judge("::1", 8080, true, 8080), "own"));
    /* The same port elsewhere is another service. */
    assert_null(judge("93.184.216.34", 8080, true, 8080));
    /* Link-local stays refused whatever the switch. */
    assert_non_null(judge("169.254.169.254", 80, true, 0));
}

static void resolving_checks_every_address_and_pins_one(void **state)
{
    (void)state;
    struct webhook_policy strict = { 0 }, local = { .allow_loopback = true };
    struct webhook_target t;
    char addr[WEBHOOK_ADDR_MAX], why[200];
    assert_null(webhook_url_parse("http://127.0.0.1:9/", &t));
    assert_non_null(webhook_resolve(&t, &strict, addr, why, sizeof why));
    assert_null(webhook_resolve(&t, &local, addr, why, sizeof why));
    assert_string_equal(addr, "127.0.0.1");
    assert_null(webhook_url_parse("http://169.254.169.254/latest/meta-data/", &t));
    assert_non_null(webhook_resolve(&t, &local, addr, why, sizeof why));
    assert_non_null(strstr(why, "169.254.169.254"));
    /* A name that resolves inward is as bad as the address. */
    assert_null(webhook_url_parse("http://localhost:9/", &t));
    assert_non_null(webhook_resolve(&t, &strict, addr, why, sizeof why));
    assert_non_null(strstr(why, "loopback"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_urls_are_parsed_and_their_query_masked),
        cmocka_unit_test(bad_urls_are_refused_with_a_reason),
        cmocka_unit_test(a_query_too_long_to_mask_is_shown_as_an_ellipsis),
        cmocka_unit_test(inward_addresses_are_refused_and_public_and_private_ones_allowed),
        cmocka_unit_test(an_accounts_webhook_may_not_reach_private_ranges),
        cmocka_unit_test(loopback_is_allowed_only_by_the_switch_and_never_on_the_services_port),
        cmocka_unit_test(resolving_checks_every_address_and_pins_one),
    };
    return cmocka_run_group_tests_name("webhook/url", tests, init, done);
}
