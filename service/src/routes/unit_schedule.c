/* A unit's bulletin schedule: GET and PUT
 * /v1/org-units/{id}/bulletin-schedule (docs/bulletins.md "On a
 * schedule"); the slot arithmetic is domain/bulletin_schedule.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "domain/bulletin_schedule.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

/* "2026-12-01T01:00:00Z", or null for 0 / -1 (none). */
static json_t *slot_json(long long t)
{
    if (t <= 0)
        return json_null();
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

/* The schedule as the API shows it; a new reference. */
static json_t *schedule_json(const struct unit_schedule *u, long long now)
{
    const struct bulletin_schedule *s = &u->schedule;
    json_t *o = json_pack("{s:I, s:s, s:b, s:s, s:o, s:o}", "unit_id", (json_int_t)u->unit_id,
                          "frequency", schedule_frequency_name(s->frequency), "default",
                          u->is_default, "time_zone", "Asia/Shanghai", "next_slot",
                          slot_json(unit_schedule_next(u, now)), "last_slot",
                          slot_json(u->last_slot));
    if (o && s->frequency != SCHEDULE_OFF) {
        json_object_set_new(o, s->frequency == SCHEDULE_MONTHLY ? "day_of_month" : "day_of_week",
                            json_integer(s->day));
        json_object_set_new(o, "hour", json_integer(s->hour));
    }
    return o;
}

/* The scheduler's clock (SCHEDULER_NOW, a testing aid), so that
 * next_slot says what the scheduler will do. */
static long long scheduler_now(const struct request *r)
{
    return r->cfg->scheduler_now ? r->cfg->scheduler_now : (long long)time(NULL);
}

static enum db_status schedule_load(struct db_conn *c, const struct config *cfg, const char *unit,
                                    struct unit_schedule *out)
{
    const char *p[] = { unit };
    enum db_status st;
    struct unit_schedule_row row;
    const struct db_field spec[] = { UNIT_SCHEDULE_FIELDS(&row), DB_END };
    int found = db_one(c, STMT_BULLETIN_SCHEDULES, p, spec, &st);
    if (found < 0)
        return st;
    if (found == 0)
        return DB_ERROR; /* the caller saw the unit exist; units are never removed */
    unit_schedule_from(&row, &cfg->bulletin_schedule, out);
    return DB_OK;
}

enum handler_result units_schedule_get(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_VIEW_TREE))
        return reply_forbidden(r);
    char u[24];
    snprintf(u, sizeof u, "%lld", az.unit_id);
    struct unit_schedule s;
    enum db_status st = schedule_load(r->db, r->cfg, u, &s);
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_json(r, 200, schedule_json(&s, scheduler_now(r)));
}

struct schedule_set_ctx {
    struct audit_entry actor;
    const struct config *cfg;
    char unit[24];
    struct bulletin_schedule schedule;
    long long now;
    json_t *after;
};

static enum db_status schedule_set_tx(struct db_conn *c, void *arg)
{
    struct schedule_set_ctx *k = arg;
    json_decref(k->after);
    k->after = NULL;
    struct unit_schedule before, after;
    enum db_status st = schedule_load(c, k->cfg, k->unit, &before);
    if (st != DB_OK)
        return st;
    const struct bulletin_schedule *s = &k->schedule;
    if (!before.is_default && before.schedule.frequency == s->frequency &&
        before.schedule.day == s->day && before.schedule.hour == s->hour) {
        /* Unchanged: nothing written, and the schedule keeps its start. */
        k->after = schedule_json(&before, k->now);
        return DB_OK;
    }
    char day[8], hour[8];
    snprintf(day, sizeof day, "%d", s->day);
    snprintf(hour, sizeof hour, "%d", s->hour);
    bool off = s->frequency == SCHEDULE_OFF;
    const char *p[] = { k->unit, schedule_frequency_name(s->frequency), off ? NULL : day,
                        off ? NULL : hour };
    if ((st = db_run(c, STMT_BULLETIN_SCHEDULE_SET, p, NULL)) != DB_OK)
        return st;
    if ((st = schedule_load(c, k->cfg, k->unit, &after)) != DB_OK)
        return st;
    k->after = schedule_json(&after, k->now);
    json_t *b = schedule_json(&before, k->now), *a = json_deep_copy(k->after);
    /* The audit keeps the schedule, not what the clock made of it. */
    json_object_del(b, "next_slot");
    json_object_del(b, "last_slot");
    json_object_del(a, "next_slot");
    json_object_del(a, "last_slot");
    json_t *change = json_pack("{s:o, s:o}", "before", b, "after", a);
    st = change ? audit_change(c, &k->actor, "unit.bulletin_schedule", "unit", k->unit, change)
                : DB_ERROR;
    return st;
}

enum handler_result units_schedule_set(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *freq = validate_string(&v, "frequency", true, 1, 16);
    struct bulletin_schedule s = { SCHEDULE_OFF, 0, 0 };
    if (freq && !schedule_frequency_parse(freq, &s.frequency)) {
        validator_error(&v, "frequency", "must be monthly, weekly or off");
        freq = NULL;
    }
    long long dom = 0, dow = 0, hour = 0;
    bool dom_given, dow_given, hour_given;
    bool monthly = freq && s.frequency == SCHEDULE_MONTHLY;
    bool weekly = freq && s.frequency == SCHEDULE_WEEKLY;
    validate_int(&v, "day_of_month", monthly, 1, 31, &dom, &dom_given);
    validate_int(&v, "day_of_week", weekly, 1, 7, &dow, &dow_given);
    validate_int(&v, "hour", monthly || weekly, 0, 23, &hour, &hour_given);
    if (freq && !monthly && dom_given)
        validator_error(&v, "day_of_month", "only with frequency monthly");
    if (freq && !weekly && dow_given)
        validator_error(&v, "day_of_week", "only with frequency weekly");
    if (freq && !monthly && !weekly && hour_given)
        validator_error(&v, "hour", "not with frequency off");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    s.day = (int)(monthly ? dom : weekly ? dow : 0);
    s.hour = (int)(monthly || weekly ? hour : 0);

    struct authz az;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct schedule_set_ctx k = { .actor = request_actor(r, az.account_id), .cfg = r->cfg, .schedule = s,
                                  .now = scheduler_now(r) };
    snprintf(k.unit, sizeof k.unit, "%lld", az.unit_id);
    enum db_status st = db_transaction(r->db, schedule_set_tx, &k);
    if (st != DB_OK) {
        json_decref(k.after);
        return reply_db_error(r, st);
    }
    return reply_json(r, 200, k.after);
}

