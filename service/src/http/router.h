/* The static route table: method + path pattern -> handler. Tells an
 * unknown path (404) from a known path with the wrong method (405). */
#ifndef YIJIAN_HTTP_ROUTER_H
#define YIJIAN_HTTP_ROUTER_H

#include <stddef.h>

#include "http/request.h"

enum route_flags {
    ROUTE_JSON_BODY = 1 << 0, /* body must be application/json, parsed centrally */
    ROUTE_JSON_OPTIONAL = 1 << 1, /* a body, when there is one, is JSON as above */
    /* A request without a session here may be an anonymous act (a token,
     * a tracking code, the key list): it is marked anonymous as soon as it
     * is routed, so that a refusal before its handler (400, 413, 415, a
     * broken chunked body) leaves no log line and no count either. */
    ROUTE_MAY_BE_ANONYMOUS = 1 << 2,
    ROUTE_CSV_BODY = 1 << 3, /* body must be text/csv, left as bytes to the handler */
    /* The handler never touches the database: it runs on the HTTP thread
     * itself, so it answers while the database is stuck. Every other
     * handler runs on a handler thread (http/server.c). */
    ROUTE_INLINE = 1 << 4,
};

typedef enum handler_result (*route_handler)(struct request *r);

/* Who may call a route, as the handler enforces it (docs/security.md has
 * the table, printed by `yijian routes`). Unit roles are held in the unit
 * the request names (or the suggestion's unit); ROUTE_SECRETARY_ABOVE is a
 * secretary of a unit above it. */
enum route_caller {
    ROUTE_ANYONE = 1 << 0,          /* no credentials */
    ROUTE_TOKEN = 1 << 1,           /* an unspent anonymity token, no session */
    ROUTE_TRACKING = 1 << 2,        /* Authorization: Tracking CODE */
    ROUTE_SIGNED_IN = 1 << 3,       /* any signed-in account */
    ROUTE_SUGGESTION = 1 << 4,      /* a relation to the suggestion (see who) */
    ROUTE_MEMBER = 1 << 5,
    ROUTE_COMMITTEE = 1 << 6,
    ROUTE_SECRETARY = 1 << 7,
    ROUTE_SECRETARY_ABOVE = 1 << 8,
    ROUTE_ADMIN = 1 << 9,
};
#define ROUTE_MANAGERS (ROUTE_SECRETARY | ROUTE_SECRETARY_ABOVE | ROUTE_ADMIN)
#define ROUTE_CALLER_NAMES                                                                   \
    { "anyone", "token", "tracking-code", "signed-in", "suggestion", "member", "committee",  \
      "secretary", "secretary-above", "admin" }

struct route {
    const char *method;
    const char *pattern; /* "/v1/suggestions/{id}": {x} matches one segment */
    route_handler handler;
    unsigned flags;
    unsigned callers;    /* enum route_caller bits */
    const char *who;     /* the same in words, for docs/security.md */
};

/* A route's fast path: tried on the HTTP thread before its handler is
 * handed to a handler thread; it answers what it can without the
 * database (a cached body) or returns HANDLER_PASS (http/server.c). */
struct route_fast {
    route_handler handler;
    route_handler fast;
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
