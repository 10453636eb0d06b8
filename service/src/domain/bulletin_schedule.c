/* Bulletin schedules: a unit's schedule as stored and the scheduler pass
 * (docs/bulletins.md "On a schedule"); the slot arithmetic is
 * util/schedule.c. */
#include "domain/bulletin_schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/bulletins.h"
#include "util/log.h"

#define DAY 86400LL

/* ------------------------------------------------------------------ */
/* a unit's schedule                                                   */
/* ------------------------------------------------------------------ */

void unit_schedule_from_row(PGresult *res, int row, const struct bulletin_schedule *fallback,
                            struct unit_schedule *out)
{
    memset(out, 0, sizeof *out);
    out->unit_id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    out->is_default = PQgetisnull(res, row, 1);
    if (out->is_default) {
        out->schedule = *fallback;
    } else {
        schedule_frequency_parse(PQgetvalue(res, row, 1), &out->schedule.frequency);
        out->schedule.day = PQgetisnull(res, row, 2) ? 0 : atoi(PQgetvalue(res, row, 2));
        out->schedule.hour = PQgetisnull(res, row, 3) ? 0 : atoi(PQgetvalue(res, row, 3));
    }
    out->since = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    out->last_slot = PQgetisnull(res, row, 5) ? 0 : strtoll(PQgetvalue(res, row, 5), NULL, 10);
}

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
    unsigned session = db_generation(c);

    const char *all[] = { NULL };
    PGresult *res = db_exec(c, STMT_BULLETIN_SCHEDULES, all, &st);
    enum db_status list_st = res ? DB_OK : st;
    for (int i = 0; res && i < PQntuples(res) && !(stop && stop()); i++) {
        if (db_generation(c) != session) {
            log_msg(LOG_WARN, "bulletin scheduler lost its database session; resuming next pass");
            break;
        }
        struct unit_schedule u;
        unit_schedule_from_row(res, i, fallback, &u);
        long long slot = unit_schedule_due(&u, now);
        if (!slot)
            continue;
        struct bulletin_request q = { .unit_id = u.unit_id, .actor = AUDIT_SYSTEM, .sk = sk,
                                      .slot = slot };
        enum db_status ust = db_transaction(c, bulletin_publish_tx, &q);
        if (ust == DB_OK) {
            out->made++;
            log_msg(LOG_INFO, "scheduled bulletin %lld of unit %lld made (%d items)", q.id,
                    u.unit_id, q.items);
        } else if (!(ust == DB_ABORT && q.outcome == BULLETIN_SLOT_DONE) && ust != DB_UNIQUE) {
            /* Made by another instance meanwhile is not a failure. */
            out->failed++;
            log_msg(LOG_WARN, "scheduled bulletin of unit %lld failed; retrying next pass",
                    u.unit_id);
            if (ust == DB_UNAVAILABLE)
                break;
        }
    }
    PQclear(res);
    if (db_generation(c) == session) {
        PGresult *un = db_exec(c, STMT_BULLETIN_SCHEDULER_UNLOCK, NULL, &st);
        PQclear(un);
    }
    return list_st;
}
