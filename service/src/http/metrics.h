/* Prometheus counters: requests by route, method and status, a latency
 * histogram, and the database pool. Lock-free: atomics only. */
#ifndef YIJIAN_HTTP_METRICS_H
#define YIJIAN_HTTP_METRICS_H

#include <stddef.h>

#include "http/router.h"

/* Records one finished request. route_index is -1 for unmatched paths. */
void metrics_observe(int route_index, unsigned status, double seconds);

/* Renders the exposition text, naming the rows by routes[0..routes_count)
 * (the table route_index counts in); returns a malloc'd string the caller
 * frees. */
char *metrics_render(const struct route *routes, size_t routes_count, size_t *len);

#endif
