/* The route table: method, path pattern, handler, flags. Order matters
 * only for patterns that overlap, where the literal one comes first. */
#include "routes/routes.h"

const struct route routes[] = {
    { "GET", "/healthz", health_live, 0 },
    { "GET", "/readyz", health_ready, 0 },
    { "GET", "/metrics", meta_metrics, 0 },
    { "GET", "/v1/openapi.yaml", meta_openapi, 0 },
    { "POST", "/v1/auth/activate", auth_activate, ROUTE_JSON_BODY },
    { "POST", "/v1/auth/login", auth_login, ROUTE_JSON_BODY },
    { "POST", "/v1/auth/logout", auth_logout, 0 },
    { "GET", "/v1/me", auth_me, 0 },
};
const size_t routes_count = sizeof routes / sizeof routes[0];
