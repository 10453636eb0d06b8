/* Metrics kept in fixed arrays indexed by route and status slot, so that
 * observing a request is a few atomic adds and never allocates. */
#include "http/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "http/router.h"

#define MAX_ROUTES 128
static const unsigned status_slots[] = { 200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
                                         413, 414, 415, 422, 429, 500, 503, 0 /* other */ };
#define N_STATUS (sizeof status_slots / sizeof status_slots[0])
static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,   0.25,   0.5,   1,    2.5,   5 };
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

static unsigned long long requests[MAX_ROUTES + 1][N_STATUS];
static unsigned long long bucket_counts[N_BUCKETS + 1];
static unsigned long long duration_count;
static unsigned long long duration_sum_us;

void metrics_observe(int route_index, unsigned status, double seconds)
{
    size_t slot = N_STATUS - 1;
    for (size_t i = 0; i + 1 < N_STATUS; i++) {
        if (status_slots[i] == status) {
            slot = i;
            break;
        }
    }
    size_t row = (route_index >= 0 && route_index < MAX_ROUTES) ? (size_t)route_index + 1 : 0;
    __atomic_add_fetch(&requests[row][slot], 1, __ATOMIC_RELAXED);

    size_t b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    __atomic_add_fetch(&bucket_counts[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&duration_count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&duration_sum_us, (unsigned long long)(seconds * 1e6), __ATOMIC_RELAXED);
}

struct buf {
    char *data;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *d = realloc(b->data, cap);
        if (!d)
            return;
        b->data = d;
        b->cap = cap;
    }
}

char *metrics_render(const struct route *routes, size_t routes_count, size_t *len)
{
    struct buf b = { malloc(8192), 0, 8192 };
    if (!b.data)
        return NULL;
    b.data[0] = '\0';

    put(&b, "# HELP yijian_http_requests_total HTTP requests by route, method and status.\n"
            "# TYPE yijian_http_requests_total counter\n");
    for (size_t row = 0; row <= routes_count && row <= MAX_ROUTES; row++) {
        const char *route = row ? routes[row - 1].pattern : "unmatched";
        const char *method = row ? routes[row - 1].method : "";
        for (size_t s = 0; s < N_STATUS; s++) {
            unsigned long long v = __atomic_load_n(&requests[row][s], __ATOMIC_RELAXED);
            if (!v)
                continue;
            if (status_slots[s])
                put(&b, "yijian_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
                    route, method, status_slots[s], v);
            else
                put(&b, "yijian_http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %llu\n",
                    route, method, v);
        }
    }

    put(&b, "# HELP yijian_http_request_duration_seconds Time from first byte to response queued.\n"
            "# TYPE yijian_http_request_duration_seconds histogram\n");
    unsigned long long cumulative = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cumulative += __atomic_load_n(&bucket_counts[i], __ATOMIC_RELAXED);
        put(&b, "yijian_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
            cumulative);
    }
    cumulative += __atomic_load_n(&bucket_counts[N_BUCKETS], __ATOMIC_RELAXED);
    put(&b, "yijian_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cumulative);
    put(&b, "yijian_http_request_duration_seconds_sum %.6f\n",
        (double)__atomic_load_n(&duration_sum_us, __ATOMIC_RELAXED) / 1e6);
    put(&b, "yijian_http_request_duration_seconds_count %llu\n",
        __atomic_load_n(&duration_count, __ATOMIC_RELAXED));

    struct db_pool_stats ps;
    db_pool_stats(&ps);
    put(&b, "# HELP yijian_db_pool_size Database connections in the pool.\n"
            "# TYPE yijian_db_pool_size gauge\nyijian_db_pool_size %u\n", ps.size);
    put(&b, "# HELP yijian_db_pool_in_use Database connections held by requests.\n"
            "# TYPE yijian_db_pool_in_use gauge\nyijian_db_pool_in_use %u\n", ps.in_use);
    put(&b, "# HELP yijian_db_pool_idle Database connections free.\n"
            "# TYPE yijian_db_pool_idle gauge\nyijian_db_pool_idle %u\n", ps.size - ps.in_use);
    put(&b, "# HELP yijian_db_pool_waits_total Requests that had to wait for a connection.\n"
            "# TYPE yijian_db_pool_waits_total counter\nyijian_db_pool_waits_total %llu\n",
        ps.waits);
    *len = b.len;
    return b.data;
}
