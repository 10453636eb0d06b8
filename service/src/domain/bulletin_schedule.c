/* Bulletin schedules: a unit's schedule as stored and the scheduler pass
 * (docs/bulletins.md "On a schedule"); the slot arithmetic is
 * util/schedule.c. */
#include "domain/bulletin_schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "domain/bulletins.h"
#include "util/log.h"

#define DAY 86400LL

/* ------------------------------------------------------------------ */
/* a unit's schedule                                                   */
/* ------------------------------------------------------------------ */

void unit_schedule_from(const struct unit_schedule_row *row,
                        const struct bulletin_schedule *fallback, struct unit_schedule *out)
{
    memset(out, 0, sizeof *out);
    out->unit_id = row->unit_id;
    out->is_default = row->is_default;
    if (out->is_default) {
        out->schedule = *fallback;
    } else {
        schedule_frequency_parse(row->frequency, &out->schedule.frequency);
        out->schedule.day = row->day;
        out->schedule.hour = row->hour;
    }
    out->since = row->since;
    out->last_slot = row->last_slot;
}

static long long unit_schedule_after(const struct unit_schedule *u)
{
    return u->last_slot > u->since ? u->last_slot : u->since;
}

long long unit_schedule_due(const struct unit_schedule *u, long long now)
{
    long long slot = bulletin_schedule_slot_at_or_before(&u->schedule, now);
    return slot > unit_schedule_after(u) ? slot : 0;
}

long long unit_schedule_next(const struct unit_schedule *u, long long now)
{
    long long due = unit_schedule_due(u, now);
    if (due)
        return due;
    long long after = unit_schedule_after(u);
    return bulletin_schedule_slot_after(&u->schedule, after > now ? after : now);
}

/* ------------------------------------------------------------------ */
/* the pass                                                            */
/* ------------------------------------------------------------------ */

/* The pass over every unit's schedule row. */
struct schedule_walk {
    struct unit_schedule_row row;
    const struct bulletin_schedule *fallback;
    struct db_conn *c;
    unsigned session;
    long long now;
    const unsigned char *sk;
    bool (*stop)(void);
    struct schedule_pass *out;
};

/* Makes the bulletin of the unit just read if one is due; DB_ABORT ends
 * the pass early (asked to stop, the session lost, the database gone). */
static enum db_status schedule_unit(void *cls, size_t row)
{
    (void)row;
    struct schedule_walk *w = cls;
    if (w->stop && w->stop())
        return DB_ABORT;
    if (db_generation(w->c) != w->session) {
        log_msg(LOG_WARN, "bulletin scheduler lost its database session; resuming next pass");
        return DB_ABORT;
    }
    struct unit_schedule us;
    unit_schedule_from(&w->row, w->fallback, &us);
    const struct unit_schedule *u = &us;
    long long slot = unit_schedule_due(u, w->now);
    if (!slot)
        return DB_OK;
    struct bulletin_request q = { .unit_id = u->unit_id, .actor = AUDIT_SYSTEM, .sk = w->sk,
                                  .slot = slot };
    enum db_status ust = db_transaction(w->c, bulletin_publish_tx, &q);
    if (ust == DB_OK) {
        w->out->made++;
        log_msg(LOG_INFO, "scheduled bulletin %lld of unit %lld made (%d items)", q.id,
                u->unit_id, q.items);
    } else if (!(ust == DB_ABORT && q.outcome == BULLETIN_SLOT_DONE) && ust != DB_UNIQUE) {
        /* Made by another instance meanwhile is not a failure. */
        w->out->failed++;
        log_msg(LOG_WARN, "scheduled bulletin of unit %lld failed; retrying next pass",
                u->unit_id);
        if (ust == DB_UNAVAILABLE)
            return DB_ABORT;
    }
    return DB_OK;
}

enum db_status bulletin_schedule_pass(struct db_conn *c, const struct bulletin_schedule *fallback,
                                      long long now, const unsigned char *sk, bool (*stop)(void),
                                      struct schedule_pass *out)
{
    memset(out, 0, sizeof *out);
    enum db_status st = db_try_lock(c, STMT_BULLETIN_SCHEDULER_LOCK, &out->locked);
    if (st != DB_OK || !out->locked)
        return st;
    /* The lock belongs to this server session. Should the connection be
     * renewed during the pass (a restart, a failover to the standby), the
     * pass stops: the next one takes the lock again on the new server,
     * so two instances never run a pass at once (docs/reliability.md). */
    struct schedule_walk w = { .fallback = fallback, .c = c,
                               .session = db_generation(c), .now = now, .sk = sk, .stop = stop,
                               .out = out };
    const struct db_field spec[] = { UNIT_SCHEDULE_FIELDS(&w.row), DB_END };
    const char *all[] = { NULL };
    enum db_status list_st = DB_OK;
    if (db_each(c, STMT_BULLETIN_SCHEDULES, all, spec, schedule_unit, &w, &st) < 0 &&
        st != DB_ABORT) /* DB_ABORT: the pass ended early, as it may */
        list_st = st;
    if (db_generation(c) == w.session)
        db_run(c, STMT_BULLETIN_SCHEDULER_UNLOCK, NULL, NULL);
    return list_st;
}
