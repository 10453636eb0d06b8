/* JSON body field checks. Bytes are already known to be UTF-8 and jansson
 * refuses \u0000 inside strings, so strings here are clean text. */
#include "http/validate.h"

#include <stdio.h>
#include <string.h>

#include "http/reply.h"
#include "util/utf8.h"

void validator_init(struct validator *v, json_t *body)
{
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
    char pointer[128];
    snprintf(pointer, sizeof pointer, "/%s", field);
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
