/* Field checks for JSON request bodies, collecting every problem as
 * {pointer, detail} so that one 422 lists them all. */
#ifndef YIJIAN_HTTP_VALIDATE_H
#define YIJIAN_HTTP_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"

struct validator {
    json_t *body;   /* borrowed */
    json_t *errors; /* owned until handed to reply_validation */
};

/* Starts checking body; a body that is not an object is the first error. */
void validator_init(struct validator *v, json_t *body);

/* Releases errors if they were not handed on; safe to call twice. */
void validator_cleanup(struct validator *v);

/* Records an error at "/field". */
void validator_error(struct validator *v, const char *field, const char *detail);

/*
 * Returns the string field, or NULL with an error recorded when it is
 * missing (and required), not a string, or not min..max characters
 * (code points, not bytes). The string belongs to the body.
 */
const char *validate_string(struct validator *v, const char *field, bool required,
                            size_t min_chars, size_t max_chars);

bool validator_failed(const struct validator *v);

/* Answers 422 with the collected errors (handed over: v is cleaned up). */
enum handler_result validator_reply(struct request *r, struct validator *v);

#endif
