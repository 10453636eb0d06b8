/* The jobs thread: sleeps JOBS_INTERVAL seconds between passes, wakes at
 * once on jobs_stop, and takes a pooled connection only while it works. */
#include "domain/jobs.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "db/db.h"
#include "domain/suggestions.h"
#include "util/log.h"

static pthread_t thread;
static bool running;
static bool stopping;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static unsigned interval;

static enum db_status escalate_tx(struct db_conn *c, void *arg)
{
    return suggestions_escalate(c, arg);
}

static void pass(void)
{
    enum db_status st;
    struct db_conn *c = db_pool_acquire(&st);
    if (!c)
        return; /* the database is down: the next pass tries again */
    int n = 0;
    st = db_transaction(c, escalate_tx, &n);
    db_pool_release(c);
    if (st != DB_OK)
        log_msg(LOG_WARN, "escalation pass failed; retrying in %u s", interval);
    else if (n > 0)
        log_msg(LOG_INFO, "escalated %d overdue suggestions", n);
}

static void *loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        pthread_mutex_unlock(&lock);
        pass();
        pthread_mutex_lock(&lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval;
        while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int jobs_start(const struct config *cfg)
{
    interval = cfg->jobs_interval;
    stopping = false;
    if (pthread_create(&thread, NULL, loop, NULL) != 0)
        return -1;
    running = true;
    return 0;
}

void jobs_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
}
