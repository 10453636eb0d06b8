/* Bulletin schedules: when a unit's bulletins are made without anyone
 * asking (docs/bulletins.md "On a schedule"). The slot arithmetic is in
 * Asia/Shanghai, a fixed +08:00 without daylight saving; times are Unix
 * seconds. The scheduler pass runs on the jobs thread. */
#ifndef YIJIAN_DOMAIN_BULLETIN_SCHEDULE_H
#define YIJIAN_DOMAIN_BULLETIN_SCHEDULE_H

#include <stdbool.h>

#include "crypto/signing.h"
#include "db/db.h"
#include "db/rows.h"
#include "util/schedule.h"

/*
 * A unit's schedule as stored (STMT_BULLETIN_SCHEDULES). A unit without
 * one of its own follows *fallback (and is_default is set). since is when
 * the schedule took effect; last_slot the newest slot made (0: none). The
 * slot the scheduler makes next is the first one after the later of the
 * two: bulletin_schedule_due says whether it is due at now.
 */
struct unit_schedule {
    long long unit_id;
    struct bulletin_schedule schedule;
    bool is_default;
    long long since, last_slot;
};

/* A row of STMT_BULLETIN_SCHEDULES as read (UNIT_SCHEDULE_FIELDS in a
 * spec of db/rows.h), made a unit_schedule by unit_schedule_from. */
struct unit_schedule_row {
    long long unit_id, since, last_slot;
    char frequency[16];
    bool is_default; /* frequency is NULL */
    int day, hour;
};
#define UNIT_SCHEDULE_FIELDS(r)                                                         \
    DB_I64("id", &(r)->unit_id), DB_TEXT_N("frequency", (r)->frequency),                \
    DB_ISNULL("frequency", &(r)->is_default), DB_I32_N("day", &(r)->day),               \
    DB_I32_N("hour", &(r)->hour), DB_I64("since", &(r)->since),                         \
    DB_I64_N("last_slot", &(r)->last_slot)
void unit_schedule_from(const struct unit_schedule_row *row,
                        const struct bulletin_schedule *fallback, struct unit_schedule *out);

/* The slot due at now (> since and > last_slot, and <= now), or 0. */
long long unit_schedule_due(const struct unit_schedule *u, long long now);

/* The next slot the scheduler will make after now (or the one due now,
 * if any): -1 when off. */
long long unit_schedule_next(const struct unit_schedule *u, long long now);

struct schedule_pass {
    bool locked; /* false: another instance is doing the pass */
    int made;    /* bulletins made */
    int failed;  /* units whose bulletin failed (logged; tried next pass) */
};

/*
 * One scheduler pass on c (not inside a transaction): under a session
 * advisory lock, for every unit whose slot is due at now, makes its
 * bulletin for that slot (bulletin_publish_tx, one transaction per unit),
 * signed with sk, audited as system. Only the latest missed slot is made.
 * stop (may be NULL) is asked between units: true ends the pass early.
 */
enum db_status bulletin_schedule_pass(struct db_conn *c, const struct bulletin_schedule *fallback,
                                      long long now, const unsigned char *sk, bool (*stop)(void),
                                      struct schedule_pass *out);

#endif
