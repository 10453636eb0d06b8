/* The static route table: method + path pattern -> handler. Tells an
 * unknown path (404) from a known path with the wrong method (405). */
#ifndef YIJIAN_HTTP_ROUTER_H
#define YIJIAN_HTTP_ROUTER_H

#include <stddef.h>

#include "http/request.h"

enum route_flags {
    ROUTE_JSON_BODY = 1 << 0, /* body must be application/json, parsed centrally */
    ROUTE_JSON_OPTIONAL = 1 << 1, /* a body, when there is one, is JSON as above */
};

typedef enum handler_result (*route_handler)(struct request *r);

struct route {
    const char *method;
    const char *pattern; /* "/v1/suggestions/{id}": {x} matches one segment */
    route_handler handler;
    unsigned flags;
};

enum route_match { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

/*
 * Finds the route for method + path in table[0..n). On ROUTE_FOUND sets
 * *index and copies the path into buf with params[] pointing at the
 * parameter segments. On ROUTE_BAD_METHOD writes "GET, POST" into allow.
 * A path longer than buflen never matches.
 */
enum route_match router_match(const struct route *table, size_t n, const char *method,
                              const char *path, int *index, char *buf, size_t buflen,
                              const char **params, char *allow, size_t allowlen);

#endif
