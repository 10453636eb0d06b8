/* Following an anonymous suggestion with its tracking code
 * ("Authorization: Tracking CODE"): read it, write in its thread, rate the
 * answer, reopen, withdraw. Every such request is anonymous: no log line,
 * nothing of who asked kept. */
#include <strings.h>

#include "domain/suggestion_view.h"
#include "domain/workflow.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

/* The suggestion the request's tracking code follows; false: a problem
 * has been queued in *out. */
static bool tracked_suggestion(struct request *r, char public_id[PUBLIC_ID_CHARS + 1],
                               enum handler_result *out)
{
    r->anonymous = true;
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *code = h && strncasecmp(h, "Tracking ", 9) == 0 ? h + 9 : NULL;
    struct domain_result d;
    if (!suggestion_tracked(r->db, code, h != NULL, public_id, &d)) {
        *out = reply_domain(r, &d);
        return false;
    }
    return true;
}

/* The holder of the code takes step a. */
static enum handler_result run_tracked(struct request *r, struct wf_action *a, unsigned ok)
{
    char public_id[PUBLIC_ID_CHARS + 1];
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &out))
        return out;
    a->actor = (struct wf_actor){ .anonymous = true };
    a->public_id = public_id;
    return reply_step(r, a, ok);
}

enum handler_result tracked_get(struct request *r)
{
    char public_id[PUBLIC_ID_CHARS + 1];
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &out))
        return out;
    return reply_suggestion(r, 200, public_id, 0, true, NULL);
}

enum handler_result tracked_message(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct wf_action a = { .step = WF_MESSAGE };
    r->anonymous = true;
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    validate_not_blank(&v, "body", a.text);
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    return run_tracked(r, &a, 201);
}

enum handler_result tracked_rate(struct request *r)
{
    struct wf_action a = { .step = WF_RATE };
    enum handler_result out;
    r->anonymous = true;
    if (!rating_read(r, &a, &out))
        return out;
    return run_tracked(r, &a, 200);
}

enum handler_result tracked_withdraw(struct request *r)
{
    struct wf_action a = { .step = WF_WITHDRAW };
    return run_tracked(r, &a, 200);
}

enum handler_result tracked_reopen(struct request *r)
{
    struct wf_action a = { .step = WF_REOPEN };
    return run_tracked(r, &a, 200);
}
