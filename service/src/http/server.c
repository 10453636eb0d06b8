/* libmicrohttpd glue. The access handler is called for the headers, for
 * each body chunk, and once more at the end; the request context lives
 * from the first call to the completion callback. */
#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "http/addr_limit.h"
#include "http/listen.h"
#include "http/reply.h"
#include "http/router.h"
#include "http/metrics.h"
#include "util/log.h"
#include "util/utf8.h"

#define MAX_HTTP_THREADS 256 /* HTTP_THREADS's upper bound (config.c) */
#define MAX_HANDLER_THREADS 256 /* max(HTTP_THREADS, DB_POOL_SIZE)'s upper bound */
/* How often the handler queue is looked at for requests that waited
 * longer than DB_ACQUIRE_TIMEOUT_MS. */
#define SWEEP_MS 50
/* Per-connection memory of libmicrohttpd (its default, named here): the
 * request line and all headers must fit in it with room to spare, or
 * libmicrohttpd itself answers 414 (request line) or 431 (headers) and
 * closes, before any handler runs (docs/reliability.md). */
#define CONNECTION_MEMORY_BYTES (32 * 1024)

static const struct config *config;
static const struct server_app *the_app;
static unsigned long in_flight; /* requests between first call and completion */

/* The request each HTTP thread's handler is running, for the report of
 * what is still open at shutdown: a handler that never returns (stuck in
 * a database call, say) is then named by route and request id instead of
 * being only a number. server_run sets up a slot per thread before any
 * thread starts; a thread claims one on its first request. Its lock is
 * taken twice a request by that thread and once by the report, so r is
 * alive whenever it is read under it. */
struct handler_slot {
    pthread_mutex_t lock;
    struct request *r; /* NULL between handlers */
};
static struct handler_slot slots[MAX_HTTP_THREADS + MAX_HANDLER_THREADS];
static unsigned slots_ready, slots_claimed;
static _Thread_local struct handler_slot *my_slot;

static void slot_set(struct request *r)
{
    if (!my_slot) {
        unsigned i = __atomic_fetch_add(&slots_claimed, 1, __ATOMIC_SEQ_CST);
        if (i >= slots_ready)
            return;
        my_slot = &slots[i];
    }
    pthread_mutex_lock(&my_slot->lock);
    my_slot->r = r;
    pthread_mutex_unlock(&my_slot->lock);
}

/* The method as logged: one of the methods HTTP defines, or "other".
 * The request line is the client's text, and whatever it put there (a
 * tracking code, a token) must not reach the log. */
static const char *method_name(const char *m)
{
    static const char *const known[] = { "GET",     "HEAD",    "POST",  "PUT",  "PATCH",
                                         "DELETE",  "OPTIONS", "TRACE", "CONNECT" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (m && !strcmp(m, known[i]))
            return known[i];
    return "other";
}

/* The shutdown's report: one line per named request a handler is still
 * running. An anonymous one is only counted: its route and age would be
 * a timing detail of an anonymous act (docs/security.md). */
static void report_open_handlers(void)
{
    unsigned n = __atomic_load_n(&slots_claimed, __ATOMIC_SEQ_CST), anonymous = 0;
    if (n > slots_ready)
        n = slots_ready;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_lock(&slots[i].lock);
        const struct request *r = slots[i].r;
        if (r && __atomic_load_n(&r->anonymous, __ATOMIC_RELAXED)) {
            anonymous++;
        } else if (r) {
            double age = (double)(now.tv_sec - r->started.tv_sec) +
                         (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
            json_t *f = json_pack("{s:s, s:s, s:s, s:f}", "request_id", r->request_id, "method",
                                  method_name(r->method), "route", r->route ? r->route->pattern : "unmatched",
                                  "seconds", (double)(long long)(age * 10) / 10);
            log_json(LOG_WARN, "request still in its handler", f);
            json_decref(f);
        }
        pthread_mutex_unlock(&slots[i].lock);
    }
    if (anonymous)
        log_msg(LOG_WARN, "%u anonymous requests still in their handlers", anonymous);
}

/* ------------------------------------------------------------------ */
/* percent-decoding                                                    */
/* ------------------------------------------------------------------ */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the path and the query arguments in place, as libmicrohttpd's
 * own MHD_http_unescape does, except that "%00" stays as it was written:
 * a decoded NUL would end the C string early, so that "/healthz%00junk"
 * would be served as "/healthz" and a query value cut short. Left
 * encoded, it matches no route and is just text in a value. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    const char *p = s;
    while (*p) {
        int hi, lo;
        if (p[0] == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* ------------------------------------------------------------------ */
/* handler threads                                                     */
/* ------------------------------------------------------------------ */

/* A handler that needs the database does not run on the HTTP thread that
 * read its request: that thread suspends the connection and queues the
 * request here, and one of the handler threads runs it, keeps the answer
 * in the request and resumes the connection; the HTTP thread then queues
 * the answer. So an HTTP thread never waits on PostgreSQL: /healthz,
 * /metrics and the web client's files are answered while the database is
 * stuck (ROUTE_INLINE), and a request queued longer than
 * DB_ACQUIRE_TIMEOUT_MS while the database is stuck or holds every
 * connection that long is answered 503 by the sweeper at that moment instead of
 * whenever a thread frees up (docs/reliability.md). */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t more; /* a request was queued, or stopping */
    struct request *head, *tail;
    bool stopping;
    pthread_t threads[MAX_HANDLER_THREADS];
    unsigned n;
    pthread_t sweeper;
    bool sweeper_started;
    unsigned long suspended; /* connections handed over and not yet back */
} hq = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER };

/* Runs r's handler on the calling thread; the answer is queued (inline) or
 * kept in r (off_thread). */
static void run_handler(struct request *r)
{
    slot_set(r);
    enum handler_result res = r->route->handler(r);
    slot_set(NULL);
    if (res == HANDLER_DONE && !r->responded) {
        log_msg(LOG_ERROR, "handler for %s %s queued no response", r->route->method,
                r->route->pattern);
        res = reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    }
    if (res == HANDLER_FATAL)
        r->fatal = true;
}

static void *handler_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&hq.lock);
        while (!hq.head && !hq.stopping)
            pthread_cond_wait(&hq.more, &hq.lock);
        struct request *r = hq.head;
        if (r) {
            hq.head = r->next;
            if (!hq.head)
                hq.tail = NULL;
        }
        pthread_mutex_unlock(&hq.lock);
        if (!r)
            return NULL; /* stopping and nothing left */
        run_handler(r);
        request_db_release(r);
        MHD_resume_connection(r->conn);
    }
}

static void *sweeper_thread(void *arg)
{
    (void)arg;
    long long limit_ns = (long long)config->db_acquire_timeout_ms * 1000000LL;
    pthread_mutex_lock(&hq.lock);
    while (!hq.stopping) {
        struct timespec now, wake;
        clock_gettime(CLOCK_MONOTONIC, &now);
        /* Only a wait caused by the database ends in 503: the database
         * stuck, or every connection taken and one of them held for the
         * acquire timeout already (a lock, a frozen server). A queue of
         * short requests behind each other (a burst, a slow machine, the
         * handler threads hashing passwords) waits, as it did on the HTTP
         * threads before. */
        bool db_bound = db_stuck(NULL) || db_pool_stalled(config->db_acquire_timeout_ms);
        struct request *expired = NULL, **link = &hq.head, *last = NULL;
        while (db_bound && *link) {
            struct request *r = *link;
            long long waited = (long long)(now.tv_sec - r->queued.tv_sec) * 1000000000LL +
                               (now.tv_nsec - r->queued.tv_nsec);
            if (waited >= limit_ns) {
                *link = r->next;
                r->next = expired;
                expired = r;
            } else {
                last = r;
                link = &r->next;
            }
        }
        if (db_bound)
            hq.tail = last;
        pthread_mutex_unlock(&hq.lock);
        unsigned n = 0;
        while (expired) {
            struct request *r = expired;
            expired = r->next;
            /* An anonymous one (marked so when routed) is not counted:
             * the line's time would date an anonymous act. */
            if (!r->anonymous)
                n++;
            if (reply_problem(r, PROBLEM_DATABASE_UNAVAILABLE, NULL) == HANDLER_FATAL)
                r->fatal = true;
            MHD_resume_connection(r->conn);
        }
        if (n)
            log_msg(LOG_WARN, "%u requests found no free handler within %u ms", n,
                    config->db_acquire_timeout_ms);
        clock_gettime(CLOCK_MONOTONIC, &wake);
        wake.tv_nsec += SWEEP_MS * 1000000L;
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&hq.lock);
        if (!hq.stopping)
            pthread_cond_timedwait(&hq.more, &hq.lock, &wake);
    }
    pthread_mutex_unlock(&hq.lock);
    return NULL;
}

/* Called on an HTTP thread inside the access handler: r's connection is
 * suspended until a handler thread (or the sweeper) has its answer. */
static void hand_over(struct request *r)
{
    r->off_thread = true;
    r->next = NULL;
    __atomic_add_fetch(&hq.suspended, 1, __ATOMIC_SEQ_CST);
    MHD_suspend_connection(r->conn);
    pthread_mutex_lock(&hq.lock);
    if (hq.tail)
        hq.tail->next = r;
    else
        hq.head = r;
    hq.tail = r;
    pthread_cond_broadcast(&hq.more);
    pthread_mutex_unlock(&hq.lock);
}

static int handlers_start(unsigned n)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&hq.more);
    pthread_cond_init(&hq.more, &attr);
    pthread_condattr_destroy(&attr);
    hq.stopping = false;
    for (hq.n = 0; hq.n < n; hq.n++)
        if (pthread_create(&hq.threads[hq.n], NULL, handler_thread, NULL) != 0)
            return -1;
    if (pthread_create(&hq.sweeper, NULL, sweeper_thread, NULL) != 0)
        return -1;
    hq.sweeper_started = true;
    return 0;
}

/* The handler threads finish what is queued (after db_abandon_calls that
 * is quick: every database call fails at once) and end. */
static void handlers_stop(void)
{
    pthread_mutex_lock(&hq.lock);
    hq.stopping = true;
    pthread_cond_broadcast(&hq.more);
    pthread_mutex_unlock(&hq.lock);
    if (hq.sweeper_started)
        pthread_join(hq.sweeper, NULL);
    hq.sweeper_started = false;
    for (unsigned i = 0; i < hq.n; i++)
        pthread_join(hq.threads[i], NULL);
    hq.n = 0;
}

/* ------------------------------------------------------------------ */
/* request start                                                       */
/* ------------------------------------------------------------------ */

static bool request_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void set_request_id(struct request *r)
{
    const char *given = request_header(r, "X-Request-Id");
    if (given && request_id_ok(given)) {
        memcpy(r->request_id, given, strlen(given) + 1);
        return;
    }
    /* Random ids without a system call each: every thread draws a ChaCha20
     * key once and then takes 16 bytes of its keystream per request (a new
     * nonce each), which is as unpredictable as randombytes_buf and costs
     * no getrandom(2) (docs/performance.md). */
    static _Thread_local unsigned char key[crypto_stream_chacha20_KEYBYTES];
    static _Thread_local uint64_t counter;
    if (counter == 0)
        randombytes_buf(key, sizeof key);
    unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = { 0 };
    uint64_t n = ++counter;
    memcpy(nonce, &n, sizeof n < sizeof nonce ? sizeof n : sizeof nonce);
    unsigned char raw[16];
    crypto_stream_chacha20(raw, sizeof raw, nonce, key);
    sodium_bin2hex(r->request_id, sizeof r->request_id, raw, sizeof raw);
}

/* ct is the media type want, with or without parameters
 * ("application/json; charset=utf-8"), in any case. */
static bool is_type(const char *ct, const char *want)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static bool method_has_body(const char *m)
{
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

/* Whether the request must carry a JSON body: always on JSON routes; on
 * routes where a body is optional, when the headers announce one. */
static bool expects_json(struct request *r)
{
    if (!method_has_body(r->method))
        return false;
    if (r->route->flags & ROUTE_JSON_BODY)
        return true;
    if (!(r->route->flags & ROUTE_JSON_OPTIONAL))
        return false;
    const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl && strcmp(cl, "0") != 0) ||
           request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* ------------------------------------------------------------------ */
/* framing: one reading of where the body ends, or none                 */
/* ------------------------------------------------------------------ */

struct framing {
    unsigned content_lengths;
    unsigned transfer_encodings;
    bool chunked_only;  /* every Transfer-Encoding value is exactly "chunked" */
    bool bad_name;
};

/* RFC 9110 tchar: what a field name is made of. A name with a space before
 * its colon ("Content-Length : 5") is one a proxy may read as the header
 * and libmicrohttpd does not. */
static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

static bool value_is_chunked(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == 7 && strncasecmp(v, "chunked", 7) == 0;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (!is_token(key))
        f->bad_name = true;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        f->content_lengths++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->transfer_encodings++;
        if (!value || !value_is_chunked(value))
            f->chunked_only = false;
    }
    return MHD_YES;
}

/*
 * Request smuggling (issue 22, finding 7): libmicrohttpd 0.9.75 frames a
 * body by Transfer-Encoding when there is one and by the first
 * Content-Length otherwise, where a proxy in front may take the other
 * header; the bytes the two disagree on then run here as a second request.
 * All headers are parsed before the first call of the access handler, so
 * this is the last moment before libmicrohttpd reads a body byte: a
 * request whose end is not told in exactly one way is refused, and the
 * connection closed, so that nothing after it is read as a request.
 * Returns NULL or the detail of the refusal.
 */
static const char *framing_refusal(struct request *r)
{
    struct framing f = { .chunked_only = true };
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.bad_name)
        return "a header name that is not a token";
    if (f.content_lengths && f.transfer_encodings)
        return "Content-Length and Transfer-Encoding together";
    if (f.content_lengths > 1)
        return "more than one Content-Length";
    if (f.transfer_encodings > 1 || !f.chunked_only)
        return "a Transfer-Encoding other than one chunked";
    return NULL;
}

/* First call: framing, route, then the limits that can be checked before
 * any body byte is read. Replies early or leaves the request to collect
 * its body. */
static enum handler_result begin(struct request *r)
{
    bool too_long = strlen(r->url) > REQUEST_PATH_MAX;
    char allow[64];
    enum route_match m = ROUTE_NOT_FOUND;
    if (!too_long)
        m = router_match(the_app->routes, the_app->routes_count, r->method, r->url,
                         &r->route_index, r->path_buf, sizeof r->path_buf, r->params, allow,
                         sizeof allow);
    if (m == ROUTE_FOUND) {
        r->route = &the_app->routes[r->route_index];
        /* Before anything can refuse it: a request that may be an
         * anonymous act and carries no session (or follows a tracking
         * code) is anonymous from here on, refused or not
         * (docs/threat-model.md). */
        if ((r->route->flags & ROUTE_MAY_BE_ANONYMOUS) &&
            (!request_header(r, MHD_HTTP_HEADER_AUTHORIZATION) ||
             (r->route->callers & ROUTE_TRACKING)))
            r->anonymous = true;
    }
    /* Before any answer: an answer on a kept-alive connection would let
     * the smuggled bytes run next. */
    const char *framing = framing_refusal(r);
    if (framing) {
        request_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        return reply_problem(r, PROBLEM_BAD_FRAMING, framing);
    }
    if (too_long)
        return reply_problem(r, PROBLEM_URI_TOO_LONG, NULL);
    if (m == ROUTE_NOT_FOUND)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such path");
    if (m == ROUTE_BAD_METHOD) {
        request_add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        return reply_problem(r, PROBLEM_METHOD_NOT_ALLOWED, NULL);
    }

    const char *cl = request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end != '\0' || n > config->max_body_bytes)
            return reply_problem(r, PROBLEM_PAYLOAD_TOO_LARGE, NULL);
    }
    const char *ct = request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (expects_json(r) && !is_type(ct, "application/json"))
        return reply_problem(r, PROBLEM_UNSUPPORTED_MEDIA_TYPE, NULL);
    /* Without a body, the handler answers (401, 403, an empty file). */
    bool has_body = (cl && strcmp(cl, "0") != 0) ||
                    request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
    if ((r->route->flags & ROUTE_CSV_BODY) && has_body && !is_type(ct, "text/csv"))
        return reply_problem(r, PROBLEM_UNSUPPORTED_MEDIA_TYPE, "expected text/csv");
    return HANDLER_DONE;
}

/* Body chunks: kept up to the limit; past it, counted and dropped so that
 * a chunked body cannot grow memory either. */
static void take_body(struct request *r, const char *data, size_t len)
{
    if (r->body_too_large)
        return;
    if (len > config->max_body_bytes - r->body_len) {
        r->body_too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        return;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            r->body_too_large = true;
            return;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
}

/* Last call: the body is complete. Parse it centrally, then dispatch. */
static enum handler_result finish(struct request *r)
{
    if (r->body_too_large)
        return reply_problem(r, PROBLEM_PAYLOAD_TOO_LARGE, NULL);

    if (expects_json(r) || ((r->route->flags & ROUTE_JSON_OPTIONAL) && r->body_len > 0)) {
        if (!utf8_valid(r->body ? r->body : "", r->body_len))
            return reply_problem(r, PROBLEM_INVALID_UTF8, NULL);
        json_error_t err;
        r->json = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
        if (!r->json) {
            char detail[200];
            snprintf(detail, sizeof detail, "%s (at byte %d)", err.text, err.position);
            return reply_problem(r, PROBLEM_MALFORMED_JSON, detail);
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &r->queued);
    for (size_t i = 0; i < the_app->fast_paths_count && !(r->route->flags & ROUTE_INLINE); i++) {
        if (the_app->fast_paths[i].handler != r->route->handler)
            continue;
        enum handler_result res = the_app->fast_paths[i].fast(r);
        if (res != HANDLER_PASS)
            return res;
        break;
    }
    if (!(r->route->flags & ROUTE_INLINE)) {
        hand_over(r);
        return HANDLER_DONE;
    }
    run_handler(r);
    return r->fatal ? HANDLER_FATAL : HANDLER_DONE;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)version;
    struct request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        __atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
        clock_gettime(CLOCK_MONOTONIC, &r->started);
        r->conn = conn;
        r->cfg = config;
        r->method = method;
        r->url = url;
        r->route_index = -1;
        set_request_id(r);
        return begin(r) == HANDLER_FATAL ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->responded)
            take_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->off_thread) {
        /* Called again once a handler thread resumed the connection. */
        if (r->fatal)
            return MHD_NO;
        struct MHD_Response *resp = r->pending;
        if (!resp)
            return MHD_YES; /* not answered yet: libmicrohttpd calls again */
        r->pending = NULL;
        r->off_thread = false;
        __atomic_sub_fetch(&hq.suspended, 1, __ATOMIC_SEQ_CST);
        enum MHD_Result ok = MHD_queue_response(conn, r->pending_status, resp);
        MHD_destroy_response(resp);
        return ok;
    }
    if (r->responded)
        return MHD_YES;
    return finish(r) == HANDLER_FATAL ? MHD_NO : MHD_YES;
}

/* ------------------------------------------------------------------ */
/* request end: the one place request memory is released               */
/* ------------------------------------------------------------------ */

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;

    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double seconds = (double)(now.tv_sec - r->started.tv_sec) +
                     (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
    /* An anonymous request leaves no trace, in the metrics neither: a
     * counter read each second (GET /metrics is public) would date an
     * anonymous suggestion more finely than the hour it is stored with. */
    if (!r->anonymous)
        metrics_observe(r->route_index, r->status, seconds);

    if (!r->anonymous)
        log_request(r->status >= 500 ? LOG_WARN : LOG_INFO, r->request_id, method_name(r->method),
                    r->route ? r->route->pattern : "unmatched", r->status,
                    (double)(long long)(seconds * 1e6) / 1000.0,
                    r->db_round_trips + db_round_trips(r->db),
                    toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? (int)toe : -1);

    if (r->off_thread) /* closed after its resumption without an answer sent */
        __atomic_sub_fetch(&hq.suspended, 1, __ATOMIC_SEQ_CST);
    request_db_release(r);
    MHD_destroy_response(r->pending);
    json_decref(r->json);
    free(r->body);
    free(r);
    __atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
}

/* libmicrohttpd's messages about one client's malformed request (a broken
 * chunked body, a bad Content-Length, no Host) come with no connection,
 * so nothing tells whether the request was an anonymous act: they are
 * dropped. A named request refused that way still has its own line, with
 * its termination code, from on_completed. */
static bool mhd_message_is_about_a_request(const char *fmt)
{
    static const char *const prefixes[] = {
        "Error processing request", "Received HTTP/1.1 request without",
        "Too large value of 'Content-Length'", "Failed to parse `Content-Length'",
        "Received malformed", "Failed to forward",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (!strncmp(fmt, prefixes[i], strlen(prefixes[i])))
            return true;
    return false;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (mhd_message_is_about_a_request(fmt))
        return;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    json_t *f = json_pack("{s:s}", "source", "microhttpd");
    log_json(LOG_WARN, buf, f);
    json_decref(f);
}

/* The per-address limit (http/addr_limit.c): counted when libmicrohttpd
 * accepts (after its own connection limit, so a connection refused for
 * that is not counted), given back when a connection it started closes. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)cls;
    return addr_limit_take(addr, addrlen) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)socket_context;
    if (code != MHD_CONNECTION_NOTIFY_CLOSED)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr)
        addr_limit_give(ci->client_addr, ci->client_addr->sa_family == AF_INET6
                                             ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in));
}

/* ------------------------------------------------------------------ */
/* start, serve, drain                                                 */
/* ------------------------------------------------------------------ */

int server_run(const struct config *cfg, const struct server_app *app)
{
    config = cfg;
    the_app = app;

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", cfg->listen_port);
    int gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (gai != 0) {
        log_msg(LOG_ERROR, "LISTEN: could not resolve \"%s\": %s", cfg->listen_host,
                gai_strerror(gai));
        return 1;
    }

    /* Signals go to sigwait below, not to whichever thread runs: block
     * them before libmicrohttpd creates its threads (serve() has already
     * blocked them for the jobs thread; doing it here too keeps this
     * function safe on its own). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    /* One daemon per HTTP thread, each with its own listening socket on
     * the one address (http/listen.c says why not libmicrohttpd's thread
     * pool): each thread owns its connections and runs handlers to
     * completion, blocking on PostgreSQL; the pool of database connections
     * is sized to match (docs/architecture.md). */
    unsigned n = cfg->http_threads, bound_port = 0;
    int fds[MAX_HTTP_THREADS];
    struct MHD_Daemon *daemons[MAX_HTTP_THREADS] = { 0 };
    if (n > MAX_HTTP_THREADS)
        n = MAX_HTTP_THREADS;
    if (listen_group_open(ai->ai_addr, ai->ai_addrlen, n, fds, &bound_port) < 0) {
        log_msg(LOG_ERROR, "could not listen on %s:%u: %s", cfg->listen_host, cfg->listen_port,
                strerror(errno));
        freeaddrinfo(ai);
        return 1;
    }
    freeaddrinfo(ai);
    /* A client that opens connections and trickles bytes into them keeps
     * each one alive (the timeout counts from the last byte): the
     * per-address limit, counted over all the daemons, is what stops one
     * address from taking every slot. Beyond it a new connection is
     * closed at accept. */
    addr_limit_init(cfg->max_connections_per_ip);
    unsigned handlers = cfg->http_threads > cfg->db_pool_size ? cfg->http_threads
                                                              : cfg->db_pool_size;
    if (handlers > MAX_HANDLER_THREADS)
        handlers = MAX_HANDLER_THREADS;
    for (; slots_ready < n + handlers; slots_ready++)
        pthread_mutex_init(&slots[slots_ready].lock, NULL);
    if (handlers_start(handlers) < 0) {
        log_msg(LOG_ERROR, "could not start the handler threads");
        handlers_stop();
        listen_group_close(fds, n);
        addr_limit_cleanup();
        return 1;
    }
    bool per_addr = cfg->max_connections_per_ip > 0;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    for (unsigned i = 0; i < n; i++) {
        /* The connection limit is shared out as libmicrohttpd's pool
         * shares it out over its workers. */
        unsigned limit = cfg->max_connections / n + (i < cfg->max_connections % n ? 1 : 0);
        daemons[i] = MHD_start_daemon(
            flags, 0, per_addr ? on_accept : NULL, NULL, on_request, NULL,
            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
            MHD_OPTION_LISTEN_SOCKET, fds[i],
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout,
            MHD_OPTION_CONNECTION_LIMIT, limit,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
            MHD_OPTION_NOTIFY_CONNECTION, per_addr ? on_connection : NULL, NULL,
            MHD_OPTION_END);
        if (!daemons[i]) {
            log_msg(LOG_ERROR, "could not start HTTP thread %u of %u on %s:%u", i + 1, n,
                    cfg->listen_host, bound_port);
            for (unsigned j = 0; j < i; j++)
                MHD_stop_daemon(daemons[j]); /* closes its socket */
            /* fds[i]: libmicrohttpd closed it on some of its failures and
             * not on others; left to the process's exit, not closed twice. */
            listen_group_close(fds + i + 1, n - i - 1);
            handlers_stop();
            addr_limit_cleanup();
            return 1;
        }
    }

    if (app->on_listening)
        app->on_listening(bound_port);
    char url[300];
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    snprintf(url, sizeof url, "http://%s%s%s:%u", v6 ? "[" : "", cfg->listen_host,
             v6 ? "]" : "", bound_port);
    json_t *f = json_pack("{s:s, s:i, s:i}", "url", url, "http_threads",
                          (int)cfg->http_threads, "db_pool_size", (int)cfg->db_pool_size);
    log_json(LOG_INFO, "listening", f);
    json_decref(f);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "received %s; finishing in-flight requests", sig == SIGINT ? "SIGINT" : "SIGTERM");

    for (unsigned i = 0; i < n; i++) {
        MHD_socket listen_fd = MHD_quiesce_daemon(daemons[i]);
        if (listen_fd != MHD_INVALID_SOCKET)
            close(listen_fd);
    }
    struct timespec step = { 0, 20 * 1000000L };
    for (unsigned waited = 0; waited < cfg->shutdown_grace * 50 &&
                              __atomic_load_n(&in_flight, __ATOMIC_SEQ_CST) > 0;
         waited++)
        nanosleep(&step, NULL);
    unsigned long left = __atomic_load_n(&in_flight, __ATOMIC_SEQ_CST);
    if (left) {
        log_msg(LOG_WARN, "%lu requests still open after %u s; closing them", left,
                cfg->shutdown_grace);
        report_open_handlers();
    }
    /* Whatever still waits on the database now gives up (503), so that
     * the handler threads, the jobs thread and the notifier end within
     * moments even while PostgreSQL is frozen. Suspended connections must
     * all be resumed before libmicrohttpd stops. */
    db_abandon_calls();
    handlers_stop();
    /* A resumed connection is taken back by its HTTP thread on that
     * thread's next turn; libmicrohttpd aborts the process if it is
     * stopped while one is still suspended. */
    for (unsigned waited = 0; waited < 250 && __atomic_load_n(&hq.suspended, __ATOMIC_SEQ_CST);
         waited++)
        nanosleep(&step, NULL);
    for (unsigned i = 0; i < n; i++)
        MHD_stop_daemon(daemons[i]);
    addr_limit_cleanup();
    log_msg(LOG_INFO, "stopped");
    return 0;
}
