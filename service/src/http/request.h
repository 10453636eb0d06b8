/* The per-request context: allocated on the first access-handler call,
 * freed only in the completion callback. Everything a request owns hangs
 * off it. */
#ifndef YIJIAN_HTTP_REQUEST_H
#define YIJIAN_HTTP_REQUEST_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "db/db.h"

#define ROUTE_MAX_PARAMS 4
#define REQUEST_MAX_HEADERS 4

struct route;

/* What a handler tells the dispatcher. Only the dispatcher speaks
 * enum MHD_Result. */
enum handler_result {
    HANDLER_DONE,  /* a response was queued (success or problem) */
    HANDLER_FATAL, /* nothing could be queued: close the connection */
    HANDLER_PASS,  /* a route's fast path: nothing queued, run the handler */
};

/* The longest path served: longer ones are answered 414 before routing
 * (api-spec/openapi.yaml), and every shorter one is routed in full. */
#define REQUEST_PATH_MAX 2048

struct request {
    struct MHD_Connection *conn;
    const struct config *cfg;
    const char *method;
    const char *url;
    const struct route *route;     /* NULL when nothing matched */
    int route_index;               /* -1 when nothing matched */
    const char *params[ROUTE_MAX_PARAMS]; /* path parameters, point into path_buf */
    char path_buf[REQUEST_PATH_MAX + 1]; /* every path the server accepts fits */
    char request_id[65];
    struct timespec started;

    /* body */
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    json_t *json; /* parsed body of JSON routes; owned */

    /* headers added to whatever response is queued */
    const char *extra_names[REQUEST_MAX_HEADERS];
    char extra_values[REQUEST_MAX_HEADERS][128];
    int n_extra_headers;

    /* database connection taken by request_db; released at completion at
     * the latest */
    struct db_conn *db;
    /* network round trips of the connections released so far (the log
     * line's db_round_trips, docs/performance.md) */
    unsigned db_round_trips;

    /* Handlers that need the database run on a handler thread while the
     * connection is suspended (http/server.c): the answer is kept here and
     * queued by the HTTP thread once the connection is resumed. */
    struct timespec queued;        /* handed over (CLOCK_MONOTONIC) */
    struct request *next;          /* in the handler queue */
    bool off_thread;               /* replies are kept in pending */
    bool fatal;                    /* the handler could queue nothing */
    struct MHD_Response *pending;
    unsigned pending_status;

    unsigned status; /* of the queued response, for the log and metrics */
    /* An anonymous request leaves no log line at all: not its time, not its
     * duration (DESIGN §3). Metrics keep only aggregate counts. */
    bool anonymous;
    bool responded;
};

/* Header value or NULL. */
const char *request_header(struct request *r, const char *name);

/* Query-string argument or NULL. */
const char *request_query(struct request *r, const char *name);

/* Path parameter i as a positive id of 1 to 18 digits; false when it is
 * not one. */
bool request_param_id(struct request *r, int i, long long *out);

/* Adds a header to the response that will be queued; the value is copied. */
void request_add_header(struct request *r, const char *name, const char *value);

/*
 * The request's database connection, taken from the pool on first use.
 * NULL when none can be had, with *st saying why (reply_db_error answers).
 */
struct db_conn *request_db(struct request *r, enum db_status *st);

/* Gives the connection back early, e.g. before slow password hashing. */
void request_db_release(struct request *r);

#endif
