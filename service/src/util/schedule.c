/* The slot arithmetic of a publishing schedule in Asia/Shanghai and its
 * BULLETIN_SCHEDULE syntax (util/schedule.h): pure, so that the
 * configuration can hold a schedule without the database. */
#include "util/schedule.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400LL

/* ------------------------------------------------------------------ */
/* values                                                              */
/* ------------------------------------------------------------------ */

static const char *const frequency_names[] = {
    [SCHEDULE_OFF] = "off", [SCHEDULE_MONTHLY] = "monthly", [SCHEDULE_WEEKLY] = "weekly"
};

bool schedule_frequency_parse(const char *s, enum schedule_frequency *out)
{
    for (int f = SCHEDULE_OFF; f <= SCHEDULE_WEEKLY; f++)
        if (s && !strcmp(s, frequency_names[f])) {
            *out = (enum schedule_frequency)f;
            return true;
        }
    return false;
}

const char *schedule_frequency_name(enum schedule_frequency f)
{
    return frequency_names[f];
}

bool bulletin_schedule_valid(const struct bulletin_schedule *s)
{
    switch (s->frequency) {
    case SCHEDULE_OFF:
        return s->day == 0 && s->hour == 0;
    case SCHEDULE_MONTHLY:
        return s->day >= 1 && s->day <= 31 && s->hour >= 0 && s->hour <= 23;
    case SCHEDULE_WEEKLY:
        return s->day >= 1 && s->day <= 7 && s->hour >= 0 && s->hour <= 23;
    }
    return false;
}

/* A decimal number of 1-2 digits ending at ':' or the end; advances *p. */
static bool small_number(const char **p, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (*s >= '0' && *s <= '9' && n < 2) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0)
        return false;
    *out = v;
    *p = s;
    return true;
}

bool bulletin_schedule_parse(const char *s, struct bulletin_schedule *out)
{
    struct bulletin_schedule v = { SCHEDULE_OFF, 0, 0 };
    if (!s)
        return false;
    if (!strcmp(s, "off")) {
        *out = v;
        return true;
    }
    const char *colon = strchr(s, ':');
    char name[16];
    if (!colon || (size_t)(colon - s) >= sizeof name)
        return false;
    memcpy(name, s, (size_t)(colon - s));
    name[colon - s] = '\0';
    const char *p = colon + 1;
    if (!schedule_frequency_parse(name, &v.frequency) || v.frequency == SCHEDULE_OFF ||
        !small_number(&p, &v.day) || *p++ != ':' || !small_number(&p, &v.hour) || *p)
        return false;
    if (!bulletin_schedule_valid(&v))
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ */
/* slot arithmetic                                                     */
/* ------------------------------------------------------------------ */

/* The civil date and time in Asia/Shanghai of t; false when t is beyond
 * what the calendar functions represent (then there is no slot). */
static bool local_tm(long long t, struct tm *tm)
{
    memset(tm, 0, sizeof *tm);
    if (t > LLONG_MAX / 2 || t < LLONG_MIN / 2)
        return false;
    time_t lt = (time_t)(t + SCHEDULE_UTC_OFFSET);
    return gmtime_r(&lt, tm) != NULL;
}

static int days_in_month(int year, int month0)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month0 == 1 && leap ? 29 : days[month0];
}

/* The monthly slot of the month (year, month0), month0 may be -1 or 12. */
static long long monthly_slot(const struct bulletin_schedule *s, int year, int month0)
{
    if (month0 < 0) {
        month0 += 12;
        year--;
    } else if (month0 > 11) {
        month0 -= 12;
        year++;
    }
    int dim = days_in_month(year, month0);
    struct tm tm = { 0 };
    tm.tm_year = year - 1900;
    tm.tm_mon = month0;
    tm.tm_mday = s->day < dim ? s->day : dim;
    tm.tm_hour = s->hour;
    return (long long)timegm(&tm) - SCHEDULE_UTC_OFFSET;
}

/* The weekly slot in the local week (Monday to Sunday) that holds t. */
static long long weekly_slot_of_week(const struct bulletin_schedule *s, long long t)
{
    struct tm tm;
    if (!local_tm(t, &tm))
        return -1;
    int iso = tm.tm_wday == 0 ? 7 : tm.tm_wday; /* 1 Monday .. 7 Sunday */
    long long midnight = t + SCHEDULE_UTC_OFFSET;
    midnight -= ((midnight % DAY) + DAY) % DAY;
    return midnight - SCHEDULE_UTC_OFFSET + (long long)(s->day - iso) * DAY +
           (long long)s->hour * 3600;
}

long long bulletin_schedule_slot_at_or_before(const struct bulletin_schedule *s, long long t)
{
    if (s->frequency == SCHEDULE_OFF)
        return -1;
    if (s->frequency == SCHEDULE_WEEKLY) {
        long long slot = weekly_slot_of_week(s, t);
        return slot < 0 || slot <= t ? slot : slot - 7 * DAY;
    }
    struct tm tm;
    if (!local_tm(t, &tm))
        return -1;
    int year = tm.tm_year + 1900;
    long long slot = monthly_slot(s, year, tm.tm_mon);
    return slot <= t ? slot : monthly_slot(s, year, tm.tm_mon - 1);
}

long long bulletin_schedule_slot_after(const struct bulletin_schedule *s, long long t)
{
    if (s->frequency == SCHEDULE_OFF)
        return -1;
    if (s->frequency == SCHEDULE_WEEKLY) {
        long long slot = weekly_slot_of_week(s, t);
        return slot < 0 || slot > t ? slot : slot + 7 * DAY;
    }
    struct tm tm;
    if (!local_tm(t, &tm))
        return -1;
    int year = tm.tm_year + 1900;
    long long slot = monthly_slot(s, year, tm.tm_mon);
    return slot > t ? slot : monthly_slot(s, year, tm.tm_mon + 1);
}
