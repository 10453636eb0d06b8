/* A background thread of the service that works in passes and sleeps
 * between them until a deadline, woken early only to stop: the jobs thread
 * (domain/jobs.c) and the notification worker (domain/notify_worker.c).
 * Start and stop belong to the main thread; worker_stopping and
 * worker_sleep_until to the worker's own body. */
#ifndef YIJIAN_UTIL_WORKER_H
#define YIJIAN_UTIL_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

struct worker {
    void (*body)(struct worker *); /* returns once worker_stopping is true */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC */
    bool wake_ready, running, stopping;
};
#define WORKER_INIT(fn) { .body = (fn), .lock = PTHREAD_MUTEX_INITIALIZER }

/* Starts the thread running w->body; 0, or -1 when it could not. */
int worker_start(struct worker *w);
/* Asks the body to return, wakes it and waits for it; nothing when the
 * worker is not running. */
void worker_stop(struct worker *w);
/* Whether worker_stop has asked the body to return. */
bool worker_stopping(struct worker *w);
/* Sleeps until deadline (CLOCK_MONOTONIC; NULL: until stopped) or until
 * worker_stop; false when the worker is to stop. */
bool worker_sleep_until(struct worker *w, const struct timespec *deadline);
/* The CLOCK_MONOTONIC time ms milliseconds from now. */
struct timespec worker_deadline_ms(unsigned long ms);

#endif
