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
    { "GET", "/v1/org-units", units_list, 0 },
    { "POST", "/v1/org-units", units_create, ROUTE_JSON_BODY },
    { "PATCH", "/v1/org-units/{id}", units_update, ROUTE_JSON_BODY },
    { "GET", "/v1/org-units/{id}/members", units_members, 0 },
    { "PUT", "/v1/org-units/{id}/members/{account_id}", units_member_set, ROUTE_JSON_BODY },
    { "GET", "/v1/org-units/{id}/portfolios", units_portfolios, 0 },
    { "POST", "/v1/org-units/{id}/portfolios", units_portfolio_create, ROUTE_JSON_BODY },
    { "POST", "/v1/accounts", accounts_create, ROUTE_JSON_BODY },
    { "POST", "/v1/accounts/{id}/activation-code", accounts_new_code, 0 },
};
const size_t routes_count = sizeof routes / sizeof routes[0];
