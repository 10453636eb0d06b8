/* Prometheus counters: requests by route, method and status, a latency
 * histogram, and the database pool. Lock-free: atomics only. */
#ifndef YIJIAN_METRICS_H
#define YIJIAN_METRICS_H

#include <stddef.h>

/* Records one finished request. route_index is -1 for unmatched paths. */
void metrics_observe(int route_index, unsigned status, double seconds);

/* Renders the exposition text; returns a malloc'd string the caller frees. */
char *metrics_render(size_t *len);

#endif
