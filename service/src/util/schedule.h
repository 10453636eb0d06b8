/* Publishing schedules: a frequency, a day and an hour in Asia/Shanghai
 * (a fixed +08:00 without daylight saving), their BULLETIN_SCHEDULE
 * syntax, and the slots they make; times are Unix seconds. Pure: the
 * configuration holds one, and domain/bulletin_schedule.h runs them. */
#ifndef YIJIAN_UTIL_SCHEDULE_H
#define YIJIAN_UTIL_SCHEDULE_H

#include <stdbool.h>

/* Asia/Shanghai */
#define SCHEDULE_UTC_OFFSET (8 * 3600)

enum schedule_frequency { SCHEDULE_OFF, SCHEDULE_MONTHLY, SCHEDULE_WEEKLY };

struct bulletin_schedule {
    enum schedule_frequency frequency;
    int day;  /* monthly: 1-31 (past a short month's end: its last day);
               * weekly: 1 Monday .. 7 Sunday; off: 0 */
    int hour; /* 0-23, Asia/Shanghai; off: 0 */
};

/* "monthly", "weekly", "off" to the enum; false for anything else. */
bool schedule_frequency_parse(const char *s, enum schedule_frequency *out);
const char *schedule_frequency_name(enum schedule_frequency f);

/* True when day and hour are in range for the frequency (0 and 0 for off). */
bool bulletin_schedule_valid(const struct bulletin_schedule *s);

/*
 * The service default as BULLETIN_SCHEDULE writes it: "monthly:DAY:HOUR",
 * "weekly:DAY:HOUR" or "off" (e.g. "monthly:1:9"). False when s is not
 * one of these with values in range.
 */
bool bulletin_schedule_parse(const char *s, struct bulletin_schedule *out);

/* The latest slot at or before t; -1 when the schedule is off or t is
 * beyond the calendar (further than 2^62 seconds from 1970). */
long long bulletin_schedule_slot_at_or_before(const struct bulletin_schedule *s, long long t);

/* The first slot strictly after t; -1 as for the function above. */
long long bulletin_schedule_slot_after(const struct bulletin_schedule *s, long long t);

#endif
