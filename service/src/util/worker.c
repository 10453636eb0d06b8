/* See worker.h. */
#include "util/worker.h"

static void *trampoline(void *arg)
{
    struct worker *w = arg;
    w->body(w);
    return NULL;
}

int worker_start(struct worker *w)
{
    if (!w->wake_ready) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        int rc = pthread_cond_init(&w->wake, &attr);
        pthread_condattr_destroy(&attr);
        if (rc != 0)
            return -1;
        w->wake_ready = true;
    }
    w->stopping = false;
    if (pthread_create(&w->thread, NULL, trampoline, w) != 0)
        return -1;
    w->running = true;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->running = false;
}

bool worker_stopping(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return s;
}

bool worker_sleep_until(struct worker *w, const struct timespec *deadline)
{
    pthread_mutex_lock(&w->lock);
    /* Until the deadline passes (ETIMEDOUT, or any error) or a stop: a
     * spurious wake-up sleeps again. */
    while (!w->stopping && (deadline ? pthread_cond_timedwait(&w->wake, &w->lock, deadline)
                                     : pthread_cond_wait(&w->wake, &w->lock)) == 0)
        ;
    bool go_on = !w->stopping;
    pthread_mutex_unlock(&w->lock);
    return go_on;
}

struct timespec worker_deadline_ms(unsigned long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}
