/* A unit's categories over HTTP: list, create, change
 * (domain/categories.h does the work). */
#include <stdio.h>
#include <stdlib.h>

#include "domain/categories.h"
#include "domain/units.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

static int day_count(struct validator *v, const char *field, int fallback)
{
    json_t *x = json_is_object(v->body) ? json_object_get(v->body, field) : NULL;
    if (!x || json_is_null(x))
        return fallback;
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 365) {
        validator_error(v, field, "must be a whole number of days from 0 to 365");
        return fallback;
    }
    return (int)json_integer_value(x);
}

/* The caller for unit params[0], allowed action there; false: a reply
 * has been queued in *out (404 for a unit that does not exist). */
static bool unit_allows(struct request *r, enum authz_action action, struct authz *az,
                        enum handler_result *out)
{
    if (!unit_from_path(r, az, out))
        return false;
    if (!authz_allows(az, action)) {
        *out = reply_forbidden(r);
        return false;
    }
    return true;
}

enum handler_result categories_list(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!unit_allows(r, AUTHZ_VIEW_TREE, &az, &out))
        return out;
    struct domain_result d;
    json_t *list = categories_of_unit(r->db, az.unit_id, &d);
    if (!list)
        return reply_domain(r, &d);
    return reply_json(r, 200, json_pack("{s:o}", "categories", list));
}

enum handler_result categories_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct category_fields f = { 0 };
    f.name = validate_name(&v, "name", true, CATEGORY_NAME_MAX_CHARS);
    f.portfolio = validate_name(&v, "portfolio", true, PORTFOLIO_NAME_MAX_CHARS);
    f.ack_days = day_count(&v, "ack_days", 3);
    f.answer_days = day_count(&v, "answer_days", 15);
    f.grace_days = day_count(&v, "grace_days", 7);
    if (f.ack_days < 1)
        validator_error(&v, "ack_days", "must be at least 1");
    if (f.answer_days < f.ack_days)
        validator_error(&v, "answer_days", "must be at least ack_days");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!unit_allows(r, AUTHZ_MANAGE_UNIT, &az, &out))
        return out;
    struct audit_entry actor = request_actor(r, az.account_id);
    struct domain_result d;
    json_t *category = category_create(r->db, &actor, az.unit_id, &f, &d);
    if (!category)
        return reply_domain(r, &d);
    return reply_json(r, 201, category);
}

enum handler_result categories_update(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct category_fields f = { 0 };
    f.name = validate_name(&v, "name", false, CATEGORY_NAME_MAX_CHARS);
    f.portfolio = validate_name(&v, "portfolio", false, PORTFOLIO_NAME_MAX_CHARS);
    f.ack_days = day_count(&v, "ack_days", -1);
    f.answer_days = day_count(&v, "answer_days", -1);
    f.grace_days = day_count(&v, "grace_days", -1);
    if (f.ack_days == 0)
        validator_error(&v, "ack_days", "must be at least 1");
    if (!validator_failed(&v) && !f.name && !f.portfolio && f.ack_days < 0 &&
        f.answer_days < 0 && f.grace_days < 0)
        validator_error(&v, "", "give at least one field to change");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long unit_id, category_id;
    if (!request_param_id(r, 0, &unit_id) || !request_param_id(r, 1, &category_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such category");
    struct authz az;
    if (!unit_allows(r, AUTHZ_MANAGE_UNIT, &az, &out))
        return out;
    struct audit_entry actor = request_actor(r, az.account_id);
    struct domain_result d;
    json_t *after = category_update(r->db, &actor, unit_id, category_id, &f, &d);
    if (!after)
        return reply_domain(r, &d);
    return reply_json(r, 200, after);
}
