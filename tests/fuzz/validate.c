/* Fuzzes JSON body validation as a request meets it: the bytes go through
 * the same gate as in server.c (utf8_valid, then json_loadb with duplicate
 * keys refused and any top-level value), then through the field checks of
 * each endpoint (the calls in routes/<resource>.c, in their order, with their
 * bounds). Each call's outcome is compared with a reference reading of the
 * contract in validate.h, and the error array handed to the 422 reply must
 * be well-formed: objects of exactly {pointer, detail}, a JSON pointer at a
 * checked field, and serialisable. Input: a request body. */
#include "fuzz.h"

#include <stdbool.h>

#include "domain/accounts.h"
#include "domain/suggestions.h"
#include "domain/units.h"
#include "http/validate.h"
#include "util/text.h"
#include "util/utf8.h"

/* The limits routes/auth.c keeps to itself. */
#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_CHARS 1024

enum kind { STRING, ID, BOOL, ARRAY, TRIMMED, NOT_BLANK };

struct check {
    enum kind kind;
    const char *field;
    bool required, nullable; /* nullable: ID only */
    size_t min, max, max_items;
};

struct endpoint {
    const char *name;
    struct check checks[8];
};

/* TRIMMED and NOT_BLANK apply to the value of the STRING check of the same
 * field made earlier in the list, as the handlers pass it on. */
static const struct endpoint endpoints[] = {
    { "POST /v1/accounts",
      { { STRING, "login", true, false, 1, LOGIN_MAX_CHARS, 0 },
        { STRING, "display_name", true, false, 1, DISPLAY_NAME_MAX_CHARS, 0 },
        { TRIMMED, "login", false, false, 0, 0, 0 },
        { ID, "unit_id", false, true, 0, 0, 0 },
        { ARRAY, "roles", false, false, 1, 16, 3 },
        { BOOL, "is_admin", false, false, 0, 0, 0 } } },
    { "POST /v1/auth/activate",
      { { STRING, "login", true, false, 1, LOGIN_MAX_CHARS, 0 },
        { STRING, "code", true, false, 1, 64, 0 },
        { STRING, "password", true, false, PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS, 0 } } },
    { "POST /v1/auth/login",
      { { STRING, "login", true, false, 1, LOGIN_MAX_CHARS, 0 },
        { STRING, "password", true, false, 1, PASSWORD_MAX_CHARS, 0 } } },
    { "POST /v1/org-units",
      { { STRING, "name", true, false, 1, UNIT_NAME_MAX_CHARS, 0 },
        { STRING, "level", true, false, 1, 32, 0 },
        { ID, "parent_id", false, true, 0, 0, 0 },
        { TRIMMED, "name", false, false, 0, 0, 0 } } },
    { "PATCH /v1/org-units/{id}",
      { { STRING, "name", false, false, 1, UNIT_NAME_MAX_CHARS, 0 },
        { ID, "parent_id", false, true, 0, 0, 0 },
        { TRIMMED, "name", false, false, 0, 0, 0 } } },
    { "PUT /v1/org-units/{id}/members/{account_id}",
      { { ARRAY, "roles", true, false, 1, 16, 3 },
        { ARRAY, "portfolios", false, false, 1, PORTFOLIO_NAME_MAX_CHARS, 32 } } },
    { "POST /v1/org-units/{id}/portfolios",
      { { STRING, "name", true, false, 1, PORTFOLIO_NAME_MAX_CHARS, 0 },
        { TRIMMED, "name", false, false, 0, 0, 0 } } },
    { "POST /v1/org-units/{id}/categories",
      { { STRING, "name", true, false, 1, 50, 0 },
        { TRIMMED, "name", false, false, 0, 0, 0 },
        { STRING, "portfolio", true, false, 1, PORTFOLIO_NAME_MAX_CHARS, 0 } } },
    { "PATCH /v1/org-units/{id}/categories/{category_id}",
      { { STRING, "name", false, false, 1, 50, 0 },
        { TRIMMED, "name", false, false, 0, 0, 0 },
        { STRING, "portfolio", false, false, 1, PORTFOLIO_NAME_MAX_CHARS, 0 } } },
    { "POST /v1/suggestions",
      { { ID, "unit_id", false, true, 0, 0, 0 },
        { ID, "category_id", true, false, 0, 0, 0 },
        { STRING, "title", true, false, 1, SUGGESTION_TITLE_MAX_CHARS, 0 },
        { STRING, "body", true, false, 1, SUGGESTION_BODY_MAX_CHARS, 0 },
        { NOT_BLANK, "title", false, false, 0, 0, 0 },
        { NOT_BLANK, "body", false, false, 0, 0, 0 },
        { BOOL, "publish_name", false, false, 0, 0, 0 } } },
    { "POST /v1/suggestions (anonymous)",
      { { ID, "unit_id", true, false, 0, 0, 0 },
        { ID, "category_id", true, false, 0, 0, 0 },
        { STRING, "title", true, false, 1, SUGGESTION_TITLE_MAX_CHARS, 0 },
        { STRING, "body", true, false, 1, SUGGESTION_BODY_MAX_CHARS, 0 },
        { NOT_BLANK, "title", false, false, 0, 0, 0 },
        { NOT_BLANK, "body", false, false, 0, 0, 0 },
        { BOOL, "publish_name", false, false, 0, 0, 0 } } },
    { "POST /v1/suggestions/{id}/assign",
      { { ID, "assignee_id", true, false, 0, 0, 0 },
        { STRING, "reason", true, false, 1, 500, 0 } } },
    { "POST /v1/suggestions/{id}/merge", { { STRING, "into", true, false, 1, 16, 0 } } },
    { "POST /v1/suggestions/{id}/messages",
      { { STRING, "body", true, false, 1, SUGGESTION_BODY_MAX_CHARS, 0 },
        { STRING, "visibility", false, false, 1, 16, 0 } } },
    { "PUT /v1/suggestions/{id}/answer",
      { { STRING, "decision", true, false, 1, 32, 0 },
        { STRING, "body", true, false, 1, SUGGESTION_BODY_MAX_CHARS, 0 },
        { STRING, "reason", false, false, 1, 2000, 0 } } },
    { "POST /v1/suggestions/{id}/rating", { { STRING, "rating", true, false, 1, 32, 0 } } },
    { "POST /v1/tokens/issue", { { STRING, "key_id", true, false, 1, 64, 0 } } },
    { "POST /v1/tracked/messages",
      { { STRING, "body", true, false, 1, SUGGESTION_BODY_MAX_CHARS, 0 },
        { NOT_BLANK, "body", false, false, 0, 0, 0 } } },
    { "POST /v1/bulletins",
      { { ID, "unit_id", true, false, 0, 0, 0 },
        { ID, "corrects", false, true, 0, 0, 0 } } },
};

/* ---- the reference ------------------------------------------------------ */

static size_t chars_of(json_t *s)
{
    return utf8_length(json_string_value(s), json_string_length(s));
}

/* The white space validate_trimmed and validate_not_blank mean. */
static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* How many errors (0 or 1) a check must add, by validate.h. */
static size_t ref_errors(json_t *body, const struct check *c, const char *value)
{
    if (!json_is_object(body))
        return 0;
    json_t *v = json_object_get(body, c->field);
    switch (c->kind) {
    case STRING:
        if (!v || json_is_null(v))
            return c->required;
        return !json_is_string(v) || chars_of(v) < c->min || chars_of(v) > c->max;
    case ID:
        if (!v)
            return c->required;
        if (json_is_null(v))
            return !c->nullable;
        return !json_is_integer(v) || json_integer_value(v) <= 0;
    case BOOL:
        return v && !json_is_null(v) && !json_is_boolean(v);
    case ARRAY: {
        if (!v || json_is_null(v))
            return c->required;
        if (!json_is_array(v) || json_array_size(v) > c->max_items)
            return 1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            if (!json_is_string(item) || chars_of(item) < c->min || chars_of(item) > c->max)
                return 1;
            for (size_t k = 0; k < i; k++)
                if (!strcmp(json_string_value(json_array_get(v, k)), json_string_value(item)))
                    return 1;
        }
        return 0;
    }
    case TRIMMED:
        return value && *value && (ws(value[0]) || ws(value[strlen(value) - 1]));
    case NOT_BLANK:
        /* What shows nothing (controls, spaces, zero-width and direction
         * marks) is util/text's text_is_blank, tested against its own
         * contract in tests/unit/util/text.c; here, that the check adds
         * exactly one error for such a value and none for an empty one. */
        if (!value || !*value)
            return 0;
        return text_is_blank(value);
    }
    return 0;
}

/* Every error: exactly {pointer: "" or "/<field>[/<index>]", detail: text}. */
static void check_errors(json_t *errors, const struct endpoint *e)
{
    FUZZ_CHECK(json_is_array(errors), "%s: errors is not an array", e->name);
    size_t i;
    json_t *err;
    json_array_foreach(errors, i, err) {
        FUZZ_CHECK(json_is_object(err) && json_object_size(err) == 2,
                   "%s: error %zu is not a two-member object", e->name, i);
        json_t *ptr = json_object_get(err, "pointer"), *detail = json_object_get(err, "detail");
        FUZZ_CHECK(json_is_string(ptr) && json_is_string(detail) &&
                       json_string_length(detail) > 0,
                   "%s: error %zu lacks a pointer or a detail", e->name, i);
        const char *p = json_string_value(ptr);
        if (!*p)
            continue;
        bool known = false;
        for (size_t k = 0; k < sizeof e->checks / sizeof e->checks[0] && e->checks[k].field; k++) {
            size_t n = strlen(e->checks[k].field);
            if (p[0] == '/' && !strncmp(p + 1, e->checks[k].field, n) &&
                (p[n + 1] == '\0' ||
                 (e->checks[k].kind == ARRAY && p[n + 1] == '/' && p[n + 2] &&
                  strspn(p + n + 2, "0123456789") == strlen(p + n + 2))))
                known = true;
        }
        FUZZ_CHECK(known, "%s: error %zu points at \"%s\"", e->name, i, p);
    }
    char *text = json_dumps(errors, JSON_COMPACT);
    FUZZ_CHECK(text, "%s: the error array does not serialise", e->name);
    free(text);
}

static void run_endpoint(json_t *body, const struct endpoint *e)
{
    struct validator v;
    validator_init(&v, body);
    size_t want = json_is_object(body) ? 0 : 1;
    FUZZ_CHECK(json_array_size(v.errors) == want, "%s: validator_init", e->name);

    const char *strings[8] = { 0 };
    for (size_t k = 0; k < sizeof e->checks / sizeof e->checks[0] && e->checks[k].field; k++) {
        const struct check *c = &e->checks[k];
        const char *earlier = NULL;
        for (size_t j = 0; j < k; j++)
            if (e->checks[j].kind == STRING && !strcmp(e->checks[j].field, c->field))
                earlier = strings[j];
        size_t before = json_array_size(v.errors);
        size_t expect = ref_errors(body, c, earlier);
        json_t *member = json_is_object(body) ? json_object_get(body, c->field) : NULL;

        switch (c->kind) {
        case STRING: {
            const char *s = validate_string(&v, c->field, c->required, c->min, c->max);
            strings[k] = s;
            if (s) {
                FUZZ_CHECK(json_is_string(member) && s == json_string_value(member),
                           "%s: %s is not the body's string", e->name, c->field);
                size_t n = chars_of(member);
                FUZZ_CHECK(n >= c->min && n <= c->max, "%s: %s of %zu characters passed",
                           e->name, c->field, n);
            }
            break;
        }
        case ID: {
            long long out = -1;
            bool present = false;
            bool ok = validate_id(&v, c->field, c->required, c->nullable, &out, &present);
            if (ok) {
                FUZZ_CHECK(present && out > 0 && json_is_integer(member) &&
                               out == (long long)json_integer_value(member),
                           "%s: %s = %lld", e->name, c->field, out);
            } else {
                FUZZ_CHECK(out == 0, "%s: %s refused but out = %lld", e->name, c->field, out);
                FUZZ_CHECK(present == (member && json_is_null(member)),
                           "%s: %s present = %d", e->name, c->field, present);
            }
            break;
        }
        case BOOL: {
            bool got = validate_bool(&v, c->field, false);
            struct validator v2; /* the other fallback, on the side */
            validator_init(&v2, body);
            bool got2 = validate_bool(&v2, c->field, true);
            validator_cleanup(&v2);
            if (json_is_boolean(member))
                FUZZ_CHECK(got == json_is_true(member) && got2 == got, "%s: %s", e->name,
                           c->field);
            else
                FUZZ_CHECK(!got && got2, "%s: %s does not fall back", e->name, c->field);
            break;
        }
        case ARRAY: {
            json_t *a = validate_string_array(&v, c->field, c->required, c->max_items, c->min,
                                              c->max);
            if (a)
                FUZZ_CHECK(a == member && json_array_size(a) <= c->max_items,
                           "%s: %s", e->name, c->field);
            break;
        }
        case TRIMMED:
            validate_trimmed(&v, c->field, earlier);
            break;
        case NOT_BLANK:
            validate_not_blank(&v, c->field, earlier);
            break;
        }
        size_t after = json_array_size(v.errors);
        FUZZ_CHECK(after - before == expect, "%s: check of %s added %zu errors, want %zu",
                   e->name, c->field, after - before, expect);
    }
    check_errors(v.errors, e);
    FUZZ_CHECK(validator_failed(&v) == (json_array_size(v.errors) > 0), "%s: validator_failed",
               e->name);
    validator_cleanup(&v);
    validator_cleanup(&v); /* "safe to call twice" */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1); /* the same hash order on every run: reproducible */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* server.c's gate, byte for byte. */
    if (!utf8_valid((const char *)data, size))
        return 0;
    json_error_t err;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                              &err);
    if (!body)
        return 0;
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        run_endpoint(body, &endpoints[i]);
    json_decref(body);
    return 0;
}
