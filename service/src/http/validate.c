/* JSON body field checks. Bytes are already known to be UTF-8 and jansson
 * refuses \u0000 inside strings, so strings here are clean text. */
#include "http/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"
#include "util/day.h"
#include "util/decimal.h"
#include "util/text.h"
#include "util/utf8.h"

void validator_init(struct validator *v, json_t *body)
{
    v->query = NULL;
    v->body = body;
    v->errors = json_array();
    if (!json_is_object(body))
        json_array_append_new(v->errors, json_pack("{s:s, s:s}", "pointer", "",
                                                   "detail", "must be a JSON object"));
}

void validator_cleanup(struct validator *v)
{
    json_decref(v->errors);
    v->errors = NULL;
}

void validator_error(struct validator *v, const char *field, const char *detail)
{
    /* "" points at the whole body (RFC 6901), "/x" at member x. */
    char pointer[128];
    snprintf(pointer, sizeof pointer, "%s%s", *field ? "/" : "", field);
    json_array_append_new(v->errors, json_pack("{s:s, s:s}", "pointer", pointer,
                                               "detail", detail));
}

const char *validate_string(struct validator *v, const char *field, bool required,
                            size_t min_chars, size_t max_chars)
{
    if (!json_is_object(v->body))
        return NULL;
    json_t *value = json_object_get(v->body, field);
    if (!value || json_is_null(value)) {
        if (required)
            validator_error(v, field, "is required");
        return NULL;
    }
    if (!json_is_string(value)) {
        validator_error(v, field, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(value);
    size_t n = utf8_length(s, json_string_length(value));
    if (n < min_chars || n > max_chars) {
        char detail[96];
        if (min_chars == max_chars)
            snprintf(detail, sizeof detail, "must be %zu characters", min_chars);
        else
            snprintf(detail, sizeof detail, "must be %zu to %zu characters", min_chars, max_chars);
        validator_error(v, field, detail);
        return NULL;
    }
    return s;
}

bool validate_id(struct validator *v, const char *field, bool required, bool nullable,
                 long long *out, bool *present)
{
    *out = 0;
    *present = false;
    if (!json_is_object(v->body))
        return false;
    json_t *value = json_object_get(v->body, field);
    if (!value) {
        if (required)
            validator_error(v, field, "is required");
        return false;
    }
    *present = true;
    if (json_is_null(value)) {
        if (!nullable)
            validator_error(v, field, "must not be null");
        return false;
    }
    if (!json_is_integer(value) || json_integer_value(value) <= 0) {
        validator_error(v, field, "must be a positive integer");
        *present = false;
        return false;
    }
    *out = (long long)json_integer_value(value);
    return true;
}

/* Whether y-m-d is a date of the calendar. */
static bool real_date(int y, int m, int d)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

const char *validate_time(struct validator *v, const char *field, bool required)
{
    json_t *value = json_is_object(v->body) ? json_object_get(v->body, field) : NULL;
    if (!value || json_is_null(value)) {
        if (required)
            validator_error(v, field, "is required");
        return NULL;
    }
    const char *s = json_string_value(value);
    int y, mo, d, h, mi, se, n = 0;
    bool ok = s && strlen(s) <= 25 &&
              sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) == 6 &&
              n == 19 && y >= 2000 && y <= 2999 && real_date(y, mo, d) && h <= 23 && mi <= 59 &&
              se <= 59 && h >= 0 && mi >= 0 && se >= 0;
    if (ok) {
        const char *z = s + n;
        int zh, zm, k = 0;
        ok = !strcmp(z, "Z") ||
             ((z[0] == '+' || z[0] == '-') && sscanf(z + 1, "%2d:%2d%n", &zh, &zm, &k) == 2 &&
              k == 5 && z[6] == '\0' && zh >= 0 && zh <= 14 && zm >= 0 && zm <= 59);
    }
    /* sscanf's %d takes signs and spaces: every digit place is a digit. */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (int i = 0; ok && i < 19; i++)
        ok = shape[i] == 'd' ? s[i] >= '0' && s[i] <= '9' : s[i] == shape[i];
    if (ok && s[19] != 'Z')
        for (int i = 20; ok && i < 25; i++)
            ok = i == 22 ? s[i] == ':' : s[i] >= '0' && s[i] <= '9';
    if (!ok) {
        validator_error(v, field, "must be a time like 2026-12-07T09:00:00+08:00");
        return NULL;
    }
    return s;
}

bool validate_bool(struct validator *v, const char *field, bool fallback)
{
    json_t *value = json_is_object(v->body) ? json_object_get(v->body, field) : NULL;
    if (!value || json_is_null(value))
        return fallback;
    if (!json_is_boolean(value)) {
        validator_error(v, field, "must be true or false");
        return fallback;
    }
    return json_is_true(value);
}

json_t *validate_string_array(struct validator *v, const char *field, bool required,
                              size_t max_items, size_t min_chars, size_t max_chars)
{
    json_t *value = json_is_object(v->body) ? json_object_get(v->body, field) : NULL;
    if (!value || json_is_null(value)) {
        if (required && json_is_object(v->body))
            validator_error(v, field, "is required");
        return NULL;
    }
    if (!json_is_array(value) || json_array_size(value) > max_items) {
        char detail[64];
        snprintf(detail, sizeof detail, "must be an array of at most %zu strings", max_items);
        validator_error(v, field, detail);
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(value, i, item) {
        char pointer[96];
        snprintf(pointer, sizeof pointer, "%s/%zu", field, i);
        if (!json_is_string(item)) {
            validator_error(v, pointer, "must be a string");
            return NULL;
        }
        size_t n = utf8_length(json_string_value(item), json_string_length(item));
        if (n < min_chars || n > max_chars) {
            char detail[64];
            snprintf(detail, sizeof detail, "must be %zu to %zu characters", min_chars, max_chars);
            validator_error(v, pointer, detail);
            return NULL;
        }
        for (size_t k = 0; k < i; k++) {
            if (json_equal(json_array_get(value, k), item)) {
                validator_error(v, pointer, "is a duplicate");
                return NULL;
            }
        }
    }
    return value;
}

void validate_trimmed(struct validator *v, const char *field, const char *s)
{
    if (!s || !*s)
        return;
    size_t n = strlen(s);
    if (strchr(" \t\r\n", s[0]) || strchr(" \t\r\n", s[n - 1]))
        validator_error(v, field, "must not start or end with white space");
}

void validate_not_blank(struct validator *v, const char *field, const char *s)
{
    if (!s || !*s || !text_is_blank(s))
        return;
    validator_error(v, field, "must not be blank");
}

bool validator_failed(const struct validator *v)
{
    return json_array_size(v->errors) > 0;
}

enum handler_result validator_reply(struct request *r, struct validator *v)
{
    json_t *errors = v->errors;
    v->errors = NULL;
    return reply_validation(r, errors);
}

bool validator_passed(struct request *r, struct validator *v, enum handler_result *out)
{
    if (validator_failed(v)) {
        *out = validator_reply(r, v);
        return false;
    }
    validator_cleanup(v);
    return true;
}

enum handler_result reply_invalid(struct request *r, const char *field, const char *detail)
{
    struct validator v = { .errors = json_array() };
    validator_error(&v, field, detail);
    return validator_reply(r, &v);
}

/* ------------------------------------------------------------------ */
/* query strings                                                       */
/* ------------------------------------------------------------------ */

void validator_init_query(struct validator *v, struct request *r)
{
    v->body = NULL;
    v->query = r;
    v->errors = json_array();
}

void query_error(struct validator *v, const char *detail)
{
    validator_error(v, "", detail);
}

bool query_decimal(struct validator *v, const char *name, bool required, long long min,
                   long long max, long long *out, const char *detail)
{
    const char *s = request_query(v->query, name);
    if (!s && !required)
        return false;
    if (decimal_parse(s, min, max, out))
        return true;
    query_error(v, detail);
    return false;
}

const char *query_word(struct validator *v, const char *name, const char *const words[],
                       const char *detail)
{
    const char *s = request_query(v->query, name);
    if (!s)
        return NULL;
    for (size_t i = 0; words[i]; i++)
        if (!strcmp(s, words[i]))
            return s;
    query_error(v, detail);
    return NULL;
}

const char *query_day(struct validator *v, const char *name, bool required, const char *detail)
{
    const char *s = request_query(v->query, name);
    if (!s && !required)
        return NULL;
    if (day_valid(s))
        return s;
    query_error(v, detail);
    return NULL;
}

bool validate_int(struct validator *v, const char *field, bool required, long long min,
                  long long max, long long *out, bool *present)
{
    *present = false;
    if (!json_is_object(v->body))
        return false;
    json_t *value = json_object_get(v->body, field);
    if (!value || json_is_null(value)) {
        if (required)
            validator_error(v, field, "is required");
        return false;
    }
    *present = true;
    if (!json_is_integer(value) || json_integer_value(value) < min ||
        json_integer_value(value) > max) {
        char detail[96];
        snprintf(detail, sizeof detail, "must be a whole number from %lld to %lld", min, max);
        validator_error(v, field, detail);
        return false;
    }
    *out = (long long)json_integer_value(value);
    return true;
}

/* Rewrites a string value of the body in its normal form (util/text.h);
 * anything else is left for the type check to report. */
static void normalize_value(json_t *value)
{
    if (!json_is_string(value))
        return;
    size_t len = json_string_length(value);
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, json_string_value(value), len + 1);
    size_t n = text_normalize(copy, len);
    if (n != len || memcmp(copy, json_string_value(value), len))
        json_string_setn(value, copy, n);
    free(copy);
}

const char *validate_name(struct validator *v, const char *field, bool required,
                          size_t max_chars)
{
    if (json_is_object(v->body))
        normalize_value(json_object_get(v->body, field));
    const char *s = validate_string(v, field, required, 1, max_chars);
    /* A control character in a name is never meant, and one (U+0001) made
     * the feed that shows unit names unreadable. */
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)) {
            validator_error(v, field, "must not contain control characters");
            break;
        }
    }
    return s;
}

json_t *validate_name_array(struct validator *v, const char *field, bool required,
                            size_t max_items, size_t max_chars)
{
    json_t *value = json_is_object(v->body) ? json_object_get(v->body, field) : NULL;
    size_t i;
    json_t *item;
    if (json_is_array(value) && json_array_size(value) <= max_items)
        json_array_foreach(value, i, item)
            normalize_value(item);
    return validate_string_array(v, field, required, max_items, 1, max_chars);
}
