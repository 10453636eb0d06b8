/* Every endpoint's handler, and the one route table that maps to them. */
#ifndef YIJIAN_ROUTES_H
#define YIJIAN_ROUTES_H

#include <jansson.h>
#include <stddef.h>

#include "domain/audit.h"
#include "domain/authz.h"
#include "domain/result.h"
#include "http/router.h"
#include "http/validate.h"
#include "webhook/payload.h"

extern const struct route routes[];
extern const size_t routes_count;
extern const struct route_fast route_fast_paths[];
extern const size_t route_fast_paths_count;

/* routes/health.c */
enum handler_result health_live(struct request *r);
enum handler_result health_ready(struct request *r);

/* routes/meta.c */
enum handler_result meta_openapi(struct request *r);
enum handler_result meta_metrics(struct request *r);
/* Loads OPENAPI_PATH when set; 0 or -1 (logged). */
int meta_init(const char *openapi_path);
void meta_cleanup(void);

/* routes/caller.c: the bearer token of the request, or NULL when absent or
 * malformed. */
const char *session_bearer(struct request *r);

/*
 * Who is calling: reads "Authorization: Bearer TOKEN", checks the session
 * (renewing it) and sets *account_id. Returns HANDLER_DONE with nothing
 * queued on success; otherwise a 401 or 503 has been queued and the
 * handler returns what this returned. ok tells the two apart.
 */
enum handler_result session_require(struct request *r, long long *account_id, bool *ok);

/* routes/caller.c: signs the caller in and loads their authz facts for
 * unit_id (0: none). On false a 401 or 503 has been queued and *out is
 * what the handler returns. */
bool caller_load(struct request *r, long long unit_id, struct authz *az,
                 enum handler_result *out);

/* caller_load for the unit named by the path's first parameter: false with
 * a 404 queued in *out when there is no such unit (or a 401, a 503). */
bool unit_from_path(struct request *r, struct authz *az, enum handler_result *out);
enum handler_result reply_forbidden(struct request *r);

/* The reply for a domain refusal (domain/result.h): its problem, a 422
 * naming the field, or the database's 503/500. Not for DOMAIN_OK. */
enum handler_result reply_domain(struct request *r, const struct domain_result *d);

/* The audit actor of a signed-in request: the account, and the request id
 * as a value for the audit row. */
struct audit_entry request_actor(const struct request *r, long long account_id);

/* routes/units.c */
enum handler_result units_list(struct request *r);
enum handler_result units_create(struct request *r);
enum handler_result units_update(struct request *r);
/* routes/members.c */
enum handler_result units_members(struct request *r);
enum handler_result units_member_set(struct request *r);
enum handler_result units_portfolios(struct request *r);
enum handler_result units_portfolio_create(struct request *r);
enum handler_result units_member_removal_preview(struct request *r);
enum handler_result units_member_remove(struct request *r);
/* routes/unit_schedule.c */
enum handler_result units_schedule_get(struct request *r);
enum handler_result units_schedule_set(struct request *r);

/* routes/slips.c */
enum handler_result accounts_slips(struct request *r);
/* routes/ledger.c */
enum handler_result ledger_get(struct request *r);
/* routes/roster.c */
enum handler_result roster_preview(struct request *r);
enum handler_result roster_import(struct request *r);

/* routes/consultations.c */
enum handler_result consultations_list(struct request *r);
enum handler_result consultations_create(struct request *r);
enum handler_result consultations_get(struct request *r);
enum handler_result consultations_update(struct request *r);
enum handler_result consultations_open(struct request *r);
enum handler_result consultations_close(struct request *r);
enum handler_result consultations_answer(struct request *r);
enum handler_result consultations_results(struct request *r);
enum handler_result consultations_themes(struct request *r);
enum handler_result consultations_theme_create(struct request *r);
enum handler_result consultations_theme_items(struct request *r);
enum handler_result consultations_handover(struct request *r);
enum handler_result consultations_response_approve(struct request *r);
enum handler_result consultations_my_opinions(struct request *r);
enum handler_result consultations_respond(struct request *r);
/* routes/consultation_anon.c: the member's one token, anonymous answers. */
enum handler_result consultations_token(struct request *r);
enum handler_result consultations_anonymous_answer(struct request *r);
enum handler_result consultations_tracked_answer_get(struct request *r);
enum handler_result consultations_tracked_answer_put(struct request *r);
struct token;
/* Reads the body's "token" of consultation id and verifies it; false
 * with a problem queued in *out. */
bool consultation_token_accept(struct request *r, long long id, struct token *t,
                               enum handler_result *out);
/* Adds "token_key" to a consultation's view j when it takes anonymous
 * answers; false (j released) with a problem queued in *out. */
bool consultation_with_key(struct request *r, long long id, json_t *j, enum handler_result *out);

/* routes/categories.c */
enum handler_result categories_list(struct request *r);
enum handler_result categories_create(struct request *r);
enum handler_result categories_update(struct request *r);

/* routes/suggestions.c */
enum handler_result suggestions_create(struct request *r);
enum handler_result suggestions_list(struct request *r);
enum handler_result suggestions_get(struct request *r);
enum handler_result suggestions_accept(struct request *r);
enum handler_result suggestions_assign(struct request *r);
enum handler_result suggestions_withdraw(struct request *r);
enum handler_result suggestions_merge(struct request *r);
enum handler_result suggestions_reopen(struct request *r);
enum handler_result suggestions_message(struct request *r);
enum handler_result suggestions_answer(struct request *r);
enum handler_result suggestions_approve(struct request *r);
enum handler_result suggestions_rate(struct request *r);
enum handler_result suggestions_cosign(struct request *r);
enum handler_result suggestions_show(struct request *r);
enum handler_result units_shown_suggestions(struct request *r);

/* routes/suggestions.c, shared with routes/tracked.c */
struct wf_action;
enum handler_result reply_suggestion(struct request *r, unsigned status, const char *public_id,
                                     long long account_id, bool as_author, json_t *extra);
enum handler_result reply_step(struct request *r, const struct wf_action *a, unsigned ok);
bool rating_read(struct request *r, struct wf_action *a, enum handler_result *out);

/* routes/tracked.c: following an anonymous suggestion with its code */
enum handler_result tracked_get(struct request *r);
enum handler_result tracked_message(struct request *r);
enum handler_result tracked_rate(struct request *r);
enum handler_result tracked_withdraw(struct request *r);
enum handler_result tracked_reopen(struct request *r);

/* routes/accounts.c */
enum handler_result accounts_create(struct request *r);
enum handler_result accounts_new_code(struct request *r);

/* routes/auth.c */
enum handler_result auth_activate(struct request *r);
enum handler_result auth_login(struct request *r);
enum handler_result auth_logout(struct request *r);
enum handler_result auth_me(struct request *r);

/* routes/tokens.c */
enum handler_result tokens_keys(struct request *r);
enum handler_result tokens_issue(struct request *r);

/* routes/audit.c */
enum handler_result audit_log_list(struct request *r);
enum handler_result audit_log_verify(struct request *r);

/* routes/bulletins.c */
enum handler_result bulletins_create(struct request *r);
enum handler_result bulletins_list(struct request *r);
enum handler_result bulletins_get(struct request *r);
enum handler_result bulletins_get_cached(struct request *r);
enum handler_result bulletins_key(struct request *r);
/* The saved document of bulletin id ({bulletin, signature, public_key}),
 * a new reference; on NULL a reply (404, 500, 503) has been queued and
 * *out is what the handler returns. routes/board.c uses it too. */
json_t *bulletin_load(struct request *r, long long id, enum handler_result *out);

/* routes/board.c */
enum handler_result board_bulletin_page(struct request *r);
enum handler_result board_feed(struct request *r);

/* routes/notifications.c */
enum handler_result notifications_list(struct request *r);
enum handler_result notifications_read(struct request *r);
enum handler_result notifications_read_all(struct request *r);
enum handler_result webhooks_list(struct request *r);
enum handler_result webhooks_create(struct request *r);
enum handler_result webhooks_delete(struct request *r);
enum handler_result webhooks_test(struct request *r);
enum handler_result units_set_retired(struct request *r);
enum handler_result units_portfolio_set_retired(struct request *r);
enum handler_result categories_set_retired(struct request *r);
enum handler_result outbox_list(struct request *r);
enum handler_result outbox_retry(struct request *r);
/* routes/messenger.c */
/* Checks the body of a work-messenger application of kind (corp_id or
 * app_key, agent_id, secret; no url) into v; on success *target is a new
 * {"app_id", "agent_id", "secret"} to seal and hint what the API shows. */
bool messenger_app_target(struct validator *v, json_t *body, enum webhook_kind kind,
                          json_t **target, char *hint, size_t hint_len);
enum handler_result my_messenger_ids_get(struct request *r);
enum handler_result my_messenger_ids_put(struct request *r);
enum handler_result my_webhooks_list(struct request *r);
enum handler_result my_webhooks_create(struct request *r);
enum handler_result my_webhooks_delete(struct request *r);
enum handler_result my_outbox_list(struct request *r);
enum handler_result my_outbox_retry(struct request *r);
/* routes/web.c: the web client embedded at build time */
enum handler_result web_index(struct request *r);
enum handler_result web_asset(struct request *r);
enum handler_result web_worker(struct request *r);
enum handler_result web_manifest(struct request *r);

/* routes/stats.c */
enum handler_result stats_get(struct request *r);

#endif
