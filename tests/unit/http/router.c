/* Tests service/src/http/router.c: matching, parameters, 404 against 405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "http/router.h"

static enum handler_result h(struct request *r)
{
    (void)r;
    return HANDLER_DONE;
}

static const struct route table[] = {
    { "GET", "/healthz", h, 0, ROUTE_ANYONE, "anyone" },
    { "GET", "/v1/suggestions", h, 0, ROUTE_ANYONE, "anyone" },
    { "POST", "/v1/suggestions", h, ROUTE_JSON_BODY, ROUTE_ANYONE, "anyone" },
    { "GET", "/v1/suggestions/{id}", h, 0, ROUTE_ANYONE, "anyone" },
    { "POST", "/v1/suggestions/{id}/messages", h, ROUTE_JSON_BODY, ROUTE_ANYONE, "anyone" },
    { "PUT", "/v1/units/{unit}/members/{account}", h, 0, ROUTE_ANYONE, "anyone" },
};
#define N (sizeof table / sizeof table[0])

struct result {
    enum route_match m;
    int index;
    char buf[128];
    const char *params[ROUTE_MAX_PARAMS];
    char allow[64];
};

/* params point into r->buf, so the result lives in one static place. */
static struct result *run(const char *method, const char *path)
{
    static struct result r;
    memset(&r, 0, sizeof r);
    r.index = -1;
    r.m = router_match(table, N, method, path, &r.index, r.buf, sizeof r.buf, r.params,
                       r.allow, sizeof r.allow);
    return &r;
}

static void literal_path_matches_its_method(void **state)
{
    (void)state;
    struct result *r = run("GET", "/healthz");
    assert_int_equal(r->m, ROUTE_FOUND);
    assert_int_equal(r->index, 0);
    r = run("POST", "/v1/suggestions");
    assert_int_equal(r->m, ROUTE_FOUND);
    assert_int_equal(r->index, 2);
}

static void parameters_are_captured(void **state)
{
    (void)state;
    struct result *r = run("GET", "/v1/suggestions/S-7K3Q9D");
    assert_int_equal(r->m, ROUTE_FOUND);
    assert_int_equal(r->index, 3);
    assert_string_equal(r->params[0], "S-7K3Q9D");

    r = run("POST", "/v1/suggestions/S-1/messages");
    assert_int_equal(r->index, 4);
    assert_string_equal(r->params[0], "S-1");

    r = run("PUT", "/v1/units/12/members/34");
    assert_int_equal(r->m, ROUTE_FOUND);
    assert_string_equal(r->params[0], "12");
    assert_string_equal(r->params[1], "34");
}

static void unknown_path_is_not_found(void **state)
{
    (void)state;
    assert_int_equal(run("GET", "/nope")->m, ROUTE_NOT_FOUND);
    assert_int_equal(run("GET", "/healthz/")->m, ROUTE_NOT_FOUND);
    assert_int_equal(run("GET", "/v1/suggestions/")->m, ROUTE_NOT_FOUND);
    assert_int_equal(run("GET", "/v1/suggestions/a/b")->m, ROUTE_NOT_FOUND);
    assert_int_equal(run("GET", "")->m, ROUTE_NOT_FOUND);
}

static void known_path_wrong_method_lists_allowed(void **state)
{
    (void)state;
    struct result *r = run("DELETE", "/v1/suggestions");
    assert_int_equal(r->m, ROUTE_BAD_METHOD);
    assert_string_equal(r->allow, "GET, POST");
    r = run("POST", "/healthz");
    assert_int_equal(r->m, ROUTE_BAD_METHOD);
    assert_string_equal(r->allow, "GET");
}

static void path_longer_than_buffer_never_matches(void **state)
{
    (void)state;
    char path[300] = "/v1/suggestions/";
    memset(path + 16, 'x', 250);
    path[266] = '\0';
    assert_int_equal(run("GET", path)->m, ROUTE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_path_matches_its_method),
        cmocka_unit_test(parameters_are_captured),
        cmocka_unit_test(unknown_path_is_not_found),
        cmocka_unit_test(known_path_wrong_method_lists_allowed),
        cmocka_unit_test(path_longer_than_buffer_never_matches),
    };
    return cmocka_run_group_tests_name("http/router", tests, NULL, NULL);
}
