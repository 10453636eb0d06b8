/* Tests service/src/util/worker.c: a worker runs its passes until it is
 * stopped, a stop wakes a worker asleep without a deadline, a worker that
 * never started stops as a no-op, and one can be started again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "util/worker.h"

static atomic_int passes;

/* A pass every 5 ms until stopped. */
static void ticking(struct worker *w)
{
    struct timespec next;
    do {
        atomic_fetch_add(&passes, 1);
        next = worker_deadline_ms(5);
    } while (worker_sleep_until(w, &next));
}

/* One pass, then asleep until stopped. */
static void sleeper(struct worker *w)
{
    atomic_fetch_add(&passes, 1);
    assert_false(worker_sleep_until(w, NULL));
    assert_true(worker_stopping(w));
}

static void nap_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0)
        ;
}

static void a_worker_passes_until_stopped_and_starts_again(void **state)
{
    (void)state;
    static struct worker w = WORKER_INIT(ticking);
    atomic_store(&passes, 0);
    assert_int_equal(worker_start(&w), 0);
    assert_true(w.running);
    nap_ms(100);
    worker_stop(&w);
    assert_false(w.running);
    int after_stop = atomic_load(&passes);
    assert_true(after_stop >= 2);
    nap_ms(30);
    assert_int_equal(atomic_load(&passes), after_stop); /* the thread is gone */

    assert_int_equal(worker_start(&w), 0);
    nap_ms(30);
    worker_stop(&w);
    assert_true(atomic_load(&passes) > after_stop);
}

static void a_stop_wakes_a_worker_asleep_without_deadline(void **state)
{
    (void)state;
    static struct worker w = WORKER_INIT(sleeper);
    atomic_store(&passes, 0);
    assert_int_equal(worker_start(&w), 0);
    nap_ms(20);
    worker_stop(&w); /* joins: returns only once the sleeping body woke and returned */
    assert_false(w.running);
    assert_int_equal(atomic_load(&passes), 1);
}

static void stopping_a_worker_never_started_does_nothing(void **state)
{
    (void)state;
    static struct worker w = WORKER_INIT(ticking);
    worker_stop(&w);
    assert_false(w.running);
    assert_false(worker_stopping(&w));
}

static void a_deadline_is_that_far_ahead(void **state)
{
    (void)state;
    struct timespec now, d;
    clock_gettime(CLOCK_MONOTONIC, &now);
    d = worker_deadline_ms(1500);
    long long diff_ms = (long long)(d.tv_sec - now.tv_sec) * 1000 + (d.tv_nsec - now.tv_nsec) / 1000000;
    assert_true(diff_ms >= 1499 && diff_ms <= 1600);
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_worker_passes_until_stopped_and_starts_again),
        cmocka_unit_test(a_stop_wakes_a_worker_asleep_without_deadline),
        cmocka_unit_test(stopping_a_worker_never_started_does_nothing),
        cmocka_unit_test(a_deadline_is_that_far_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
