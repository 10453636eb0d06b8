/* Tests service/src/domain/bulletin_schedule.c: the slot arithmetic of
 * bulletin schedules in Asia/Shanghai (+08:00), the BULLETIN_SCHEDULE
 * syntax, and which slot the scheduler makes (one, the latest missed). */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "domain/bulletin_schedule.h"

#define DAY 86400LL
#define HOUR 3600LL
/* date -u -d 2026-11-01T01:00:00Z +%s, and so on; 01:00Z is 09:00 in Shanghai */
#define T_2026_08_01_01 1785546000LL
#define T_2026_11_01_01 1793494800LL
#define T_2026_11_23_01 1795395600LL /* a Monday */
#define T_2026_11_26_12 1795694400LL /* a Thursday */
#define T_2026_11_29_1530 1795966200LL /* Sunday 23:30 in Shanghai */
#define T_2026_11_29_1630 1795969800LL /* Monday 00:30 in Shanghai */
#define T_2026_11_30_01 1796000400LL
#define T_2026_12_01_01 1796086800LL
#define T_2026_12_15_00 1797292800LL
#define T_2026_12_28_01 1798419600LL /* a Monday */
#define T_2026_12_31_01 1798678800LL
#define T_2026_12_31_16 1798732800LL /* 2027-01-01 00:00 in Shanghai */
#define T_2027_01_01_01 1798765200LL
#define T_2027_01_04_01 1799024400LL /* a Monday */
#define T_2027_01_15_00 1799971200LL
#define T_2027_02_01_00 1801440000LL
#define T_2027_02_28_01 1803776400LL
#define T_2027_03_31_01 1806454800LL
#define T_2028_02_01_00 1832976000LL
#define T_2028_02_29_01 1835398800LL

static const struct bulletin_schedule monthly_1_9 = { SCHEDULE_MONTHLY, 1, 9 };
static const struct bulletin_schedule monthly_31_9 = { SCHEDULE_MONTHLY, 31, 9 };
static const struct bulletin_schedule weekly_mon_9 = { SCHEDULE_WEEKLY, 1, 9 };

static void monthly_slots_are_the_first_at_nine_in_shanghai(void **state)
{
    (void)state;
    assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly_1_9, T_2026_11_26_12),
                     T_2026_11_01_01);
    assert_int_equal(bulletin_schedule_slot_after(&monthly_1_9, T_2026_11_26_12), T_2026_12_01_01);
}

static void the_slot_second_itself_is_due_and_the_next_is_a_month_on(void **state)
{
    (void)state;
    assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly_1_9, T_2026_12_01_01),
                     T_2026_12_01_01);
    assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly_1_9, T_2026_12_01_01 - 1),
                     T_2026_11_01_01);
    assert_int_equal(bulletin_schedule_slot_after(&monthly_1_9, T_2026_12_01_01 - 1),
                     T_2026_12_01_01);
    assert_int_equal(bulletin_schedule_slot_after(&monthly_1_9, T_2026_12_01_01), T_2027_01_01_01);
}

static void december_rolls_over_into_january(void **state)
{
    (void)state;
    assert_int_equal(bulletin_schedule_slot_after(&monthly_1_9, T_2026_12_15_00), T_2027_01_01_01);
    assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly_1_9, T_2027_01_01_01 - 1),
                     T_2026_12_01_01);
    assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly_31_9, T_2027_01_15_00),
                     T_2026_12_31_01);
}

static void the_local_date_decides_not_the_utc_one(void **state)
{
    (void)state;
    /* 2026-12-31T16:00Z is already 2027-01-01 00:00 in Shanghai. */
    const struct bulletin_schedule midnight = { SCHEDULE_MONTHLY, 1, 0 };
    assert_int_equal(bulletin_schedule_slot_at_or_before(&midnight, T_2026_12_31_16),
                     T_2026_12_31_16);
    assert_int_equal(bulletin_schedule_slot_after(&midnight, T_2026_12_31_16 - 1), T_2026_12_31_16);
}

static void day_31_is_the_last_day_of_a_shorter_month(void **state)
{
    (void)state;
    assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly_31_9, T_2026_12_15_00),
                     T_2026_11_30_01);
    assert_int_equal(bulletin_schedule_slot_after(&monthly_31_9, T_2027_02_01_00), T_2027_02_28_01);
    assert_int_equal(bulletin_schedule_slot_after(&monthly_31_9, T_2027_02_28_01), T_2027_03_31_01);
    /* 2028 is a leap year */
    assert_int_equal(bulletin_schedule_slot_after(&monthly_31_9, T_2028_02_01_00), T_2028_02_29_01);
    const struct bulletin_schedule monthly_29_9 = { SCHEDULE_MONTHLY, 29, 9 };
    assert_int_equal(bulletin_schedule_slot_after(&monthly_29_9, T_2027_02_01_00), T_2027_02_28_01);
    assert_int_equal(bulletin_schedule_slot_after(&monthly_29_9, T_2028_02_01_00), T_2028_02_29_01);
}

static void weekly_slots_fall_on_the_day_of_the_week_in_shanghai(void **state)
{
    (void)state;
    assert_int_equal(bulletin_schedule_slot_at_or_before(&weekly_mon_9, T_2026_11_26_12),
                     T_2026_11_23_01);
    assert_int_equal(bulletin_schedule_slot_after(&weekly_mon_9, T_2026_11_26_12), T_2026_11_30_01);
    /* Sunday 23:30 and Monday 00:30 local: Monday 09:00 is still ahead */
    assert_int_equal(bulletin_schedule_slot_after(&weekly_mon_9, T_2026_11_29_1530), T_2026_11_30_01);
    assert_int_equal(bulletin_schedule_slot_after(&weekly_mon_9, T_2026_11_29_1630), T_2026_11_30_01);
    assert_int_equal(bulletin_schedule_slot_at_or_before(&weekly_mon_9, T_2026_11_29_1630),
                     T_2026_11_23_01);
    assert_int_equal(bulletin_schedule_slot_at_or_before(&weekly_mon_9, T_2026_11_30_01),
                     T_2026_11_30_01);
    /* across the new year */
    assert_int_equal(bulletin_schedule_slot_at_or_before(&weekly_mon_9, T_2027_01_01_01),
                     T_2026_12_28_01);
    assert_int_equal(bulletin_schedule_slot_after(&weekly_mon_9, T_2027_01_01_01), T_2027_01_04_01);
    /* Sunday 23:00 local seen from Monday 09:00 local */
    const struct bulletin_schedule sunday_23 = { SCHEDULE_WEEKLY, 7, 23 };
    assert_int_equal(bulletin_schedule_slot_at_or_before(&sunday_23, T_2026_11_30_01),
                     T_2026_11_30_01 - 10 * HOUR);
}

static void an_off_schedule_has_no_slots(void **state)
{
    (void)state;
    const struct bulletin_schedule off = { SCHEDULE_OFF, 0, 0 };
    assert_int_equal(bulletin_schedule_slot_at_or_before(&off, T_2026_11_26_12), -1);
    assert_int_equal(bulletin_schedule_slot_after(&off, T_2026_11_26_12), -1);
}

/* gmtime_r fails for a year past what struct tm holds; its result was once
 * used unchecked (an uninitialised date). Such a time has no slot. */
static void a_time_beyond_the_calendar_has_no_slot(void **state)
{
    (void)state;
    struct bulletin_schedule monthly = { SCHEDULE_MONTHLY, 1, 9 };
    struct bulletin_schedule weekly = { SCHEDULE_WEEKLY, 1, 9 };
    const long long far[] = { LLONG_MAX, LLONG_MIN, 1LL << 60, -(1LL << 60) };
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        assert_int_equal(bulletin_schedule_slot_at_or_before(&monthly, far[i]), -1);
        assert_int_equal(bulletin_schedule_slot_after(&monthly, far[i]), -1);
        assert_int_equal(bulletin_schedule_slot_at_or_before(&weekly, far[i]), -1);
        assert_int_equal(bulletin_schedule_slot_after(&weekly, far[i]), -1);
    }
}

static void only_well_formed_defaults_parse(void **state)
{
    (void)state;
    struct bulletin_schedule s;
    assert_true(bulletin_schedule_parse("monthly:1:9", &s));
    assert_int_equal(s.frequency, SCHEDULE_MONTHLY);
    assert_int_equal(s.day, 1);
    assert_int_equal(s.hour, 9);
    assert_true(bulletin_schedule_parse("weekly:7:23", &s));
    assert_int_equal(s.frequency, SCHEDULE_WEEKLY);
    assert_int_equal(s.day, 7);
    assert_int_equal(s.hour, 23);
    assert_true(bulletin_schedule_parse("off", &s));
    assert_int_equal(s.frequency, SCHEDULE_OFF);
    const char *bad[] = { "", "monthly", "monthly:1", "monthly:1:9:", "monthly:0:9",
                          "monthly:32:9", "monthly:1:24", "weekly:8:1", "weekly:0:1",
                          "daily:1:1", "off:1:1", "monthly:001:9", "monthly:-1:9",
                          "monthly: 1:9", "Monthly:1:9" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s.frequency = SCHEDULE_WEEKLY;
        assert_false(bulletin_schedule_parse(bad[i], &s));
        assert_int_equal(s.frequency, SCHEDULE_WEEKLY); /* untouched */
    }
}

static void a_unit_makes_a_slot_only_after_its_schedule_began_and_once(void **state)
{
    (void)state;
    struct unit_schedule u = { .unit_id = 4, .schedule = monthly_1_9, .is_default = true,
                               .since = T_2026_11_26_12, .last_slot = 0 };
    /* set up on 11-26: the 11-01 slot is not made; 12-01 is next */
    assert_int_equal(unit_schedule_due(&u, T_2026_11_26_12 + DAY), 0);
    assert_int_equal(unit_schedule_next(&u, T_2026_11_26_12 + DAY), T_2026_12_01_01);
    assert_int_equal(unit_schedule_due(&u, T_2026_12_01_01), T_2026_12_01_01);
    u.last_slot = T_2026_12_01_01;
    assert_int_equal(unit_schedule_due(&u, T_2026_12_01_01 + HOUR), 0);
    assert_int_equal(unit_schedule_next(&u, T_2026_12_01_01 + HOUR), T_2027_01_01_01);
}

static void after_a_long_outage_only_the_latest_missed_slot_is_due(void **state)
{
    (void)state;
    struct unit_schedule u = { .unit_id = 4, .schedule = monthly_1_9, .since = T_2026_08_01_01 - DAY,
                               .last_slot = T_2026_08_01_01 };
    /* down from August to mid-January: 09-01 .. 01-01 were missed */
    assert_int_equal(unit_schedule_due(&u, T_2027_01_15_00), T_2027_01_01_01);
    assert_int_equal(unit_schedule_next(&u, T_2027_01_15_00), T_2027_01_01_01);
    u.last_slot = T_2027_01_01_01;
    assert_int_equal(unit_schedule_due(&u, T_2027_01_15_00), 0);
}

static void an_off_unit_is_never_due(void **state)
{
    (void)state;
    struct unit_schedule u = { .unit_id = 4, .schedule = { SCHEDULE_OFF, 0, 0 },
                               .since = T_2026_08_01_01 };
    assert_int_equal(unit_schedule_due(&u, T_2027_01_15_00), 0);
    assert_int_equal(unit_schedule_next(&u, T_2027_01_15_00), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(monthly_slots_are_the_first_at_nine_in_shanghai),
        cmocka_unit_test(the_slot_second_itself_is_due_and_the_next_is_a_month_on),
        cmocka_unit_test(december_rolls_over_into_january),
        cmocka_unit_test(the_local_date_decides_not_the_utc_one),
        cmocka_unit_test(day_31_is_the_last_day_of_a_shorter_month),
        cmocka_unit_test(weekly_slots_fall_on_the_day_of_the_week_in_shanghai),
        cmocka_unit_test(an_off_schedule_has_no_slots),
        cmocka_unit_test(a_time_beyond_the_calendar_has_no_slot),
        cmocka_unit_test(only_well_formed_defaults_parse),
        cmocka_unit_test(a_unit_makes_a_slot_only_after_its_schedule_began_and_once),
        cmocka_unit_test(after_a_long_outage_only_the_latest_missed_slot_is_due),
        cmocka_unit_test(an_off_unit_is_never_due),
    };
    return cmocka_run_group_tests_name("domain/bulletin_schedule", tests, NULL, NULL);
}
