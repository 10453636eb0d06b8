/* The jobs thread: periodic tasks (escalation, the audit sealer, the
 * bulletin scheduler), each with its own interval (0: off), run
 * one after another on one thread. It wakes at once on jobs_stop, and it
 * has a database connection of its own, so that a pass never holds a
 * connection a request is waiting for. */
#include "domain/jobs.h"

#include <sodium.h>
#include <stdbool.h>
#include <time.h>

#include "crypto/signing.h"
#include "db/db.h"
#include "domain/secret_store.h"
#include "domain/audit_chain.h"
#include "domain/bulletin_schedule.h"
#include "domain/consultations.h"
#include "domain/notify.h"
#include "domain/release.h"
#include "domain/suggestions.h"
#include "domain/workflow.h"
#include "util/log.h"
#include "util/worker.h"

/* Batches per sealer pass: a large backlog (an old database's whole log)
 * is worked off over several passes instead of in one long one. */
#define SEAL_MAX_BATCHES 100

static void loop(struct worker *w);
static struct worker worker = WORKER_INIT(loop);
static const struct config *config;
static struct db_conn *conn; /* the thread's own; opened when first needed */

static bool stop_requested(void)
{
    return worker_stopping(&worker);
}

/* The connection, (re)opened when there is none; NULL while the database
 * cannot be reached (db_open logged why): the next pass tries again. */
static struct db_conn *connection(void)
{
    if (!conn)
        conn = db_open(config->database_url, config->db_connect_timeout);
    return conn;
}

/* ------------------------------------------------------------------ */
/* the tasks                                                           */
/* ------------------------------------------------------------------ */

static enum db_status escalate_tx(struct db_conn *c, void *arg)
{
    return suggestions_escalate(c, arg);
}

static enum db_status deadlines_tx(struct db_conn *c, void *arg)
{
    return notify_deadlines(c, config->notify_due_soon_hours, arg);
}

static enum db_status consultations_tx(struct db_conn *c, void *arg)
{
    return consultations_close_due(c, config->anon_release_window, arg);
}

/* Escalation, then the reminders of answers due soon or overdue, then
 * the consultations whose closing time has come. */
static void escalation_pass(void)
{
    struct db_conn *c = connection();
    if (!c)
        return;
    int n = 0;
    enum db_status st = db_transaction(c, escalate_tx, &n);
    if (st != DB_OK)
        log_msg(LOG_WARN, "escalation pass failed; retrying in %u s", config->jobs_interval);
    else if (n > 0)
        log_msg(LOG_INFO, "escalated %d overdue suggestions", n);
    n = 0;
    st = db_transaction(c, deadlines_tx, &n);
    if (st != DB_OK)
        log_msg(LOG_WARN, "deadline reminders failed; retrying in %u s", config->jobs_interval);
    else if (n > 0)
        log_msg(LOG_INFO, "sent %d deadline reminders", n);
    n = 0;
    st = db_transaction(c, consultations_tx, &n);
    if (st != DB_OK)
        log_msg(LOG_WARN, "closing consultations failed; retrying in %u s", config->jobs_interval);
    else if (n > 0)
        log_msg(LOG_INFO, "closed %d consultations at their closing time", n);
}

/* The service's signing key: the sealer signs checkpoints with it, the
 * scheduler bulletins. Loaded on first use. */
static unsigned char sign_pk[SIGNING_PUBLIC_KEY_BYTES], sign_sk[SIGNING_SECRET_KEY_BYTES];
static bool sign_key_loaded;

static bool signing_key(struct db_conn *c, const char *who, unsigned retry)
{
    if (sign_key_loaded)
        return true;
    enum db_status st;
    if (signing_key_load(c, config->master_key, sign_pk, sign_sk, &st) != SECRET_OK) {
        log_msg(LOG_WARN, "%s: could not load the signing key; retrying in %u s", who, retry);
        return false;
    }
    sign_key_loaded = true;
    return true;
}

struct seal_ctx {
    const unsigned char *sk;
    struct audit_seal_result result;
};

static enum db_status seal_tx(struct db_conn *c, void *arg)
{
    struct seal_ctx *s = arg;
    return audit_seal_batch(c, s->sk, &s->result);
}

static void seal_pass(void)
{
    struct db_conn *c = connection();
    if (!c)
        return;
    if (!signing_key(c, "audit sealer", config->seal_interval))
        return;
    struct seal_ctx s = { .sk = sign_sk };
    int sealed = 0;
    for (int i = 0; i < SEAL_MAX_BATCHES && !stop_requested(); i++) {
        enum db_status st = db_transaction(c, seal_tx, &s);
        if (st != DB_OK) {
            log_msg(LOG_WARN, "audit sealing failed; retrying in %u s", config->seal_interval);
            break;
        }
        sealed += s.result.sealed;
        if (!s.result.locked || s.result.sealed < AUDIT_SEAL_BATCH)
            break;
    }
    if (sealed > 0)
        log_msg(LOG_DEBUG, "sealed %d audit rows; chain at seq %lld, horizon %lld", sealed,
                s.result.seq, s.result.horizon);
}

/* Makes the scheduled bulletins that are due (domain/bulletin_schedule.c).
 * The first pass runs at start: a slot missed while no instance ran is
 * made then. */
static void bulletin_pass(void)
{
    struct db_conn *c = connection();
    if (!c || !signing_key(c, "bulletin scheduler", config->bulletin_interval))
        return;
    long long now = config->scheduler_now ? config->scheduler_now : (long long)time(NULL);
    struct schedule_pass p;
    enum db_status st = bulletin_schedule_pass(c, &config->bulletin_schedule, now, sign_sk,
                                              stop_requested, &p);
    if (st != DB_OK)
        log_msg(LOG_WARN, "bulletin scheduler pass failed; retrying in %u s",
                config->bulletin_interval);
    else if (!p.locked)
        log_msg(LOG_DEBUG, "bulletin scheduler: another instance holds the lock");
    else
        log_msg(LOG_DEBUG, "bulletin scheduler: pass done, %d made, %d failed", p.made, p.failed);
}

struct release_ctx {
    struct release_result result;
};

static enum db_status release_tx(struct db_conn *c, void *arg)
{
    struct release_ctx *k = arg;
    return release_pass(c, config->master_key, workflow_replay, NULL, &k->result);
}

/* Releases the anonymous acts whose window has ended (domain/release.c):
 * all of a window in one transaction, under a lock that one instance
 * takes. Says nothing of how many: a count in the log dates nothing the
 * release does not, but the log stays as quiet about anonymous acts as
 * everywhere else. */
static void release_window_pass(void)
{
    struct db_conn *c = connection();
    if (!c)
        return;
    struct release_ctx k;
    enum db_status st = db_transaction(c, release_tx, &k);
    if (st != DB_OK)
        log_msg(LOG_WARN, "release of held anonymous acts failed; retrying in 1 s");
}

struct task {
    void (*run)(void);
    unsigned interval;   /* seconds; 0: off */
    struct timespec due; /* CLOCK_MONOTONIC */
};

static struct task tasks[] = {
    { escalation_pass, 0, { 0, 0 } },
    { seal_pass, 0, { 0, 0 } },
    { bulletin_pass, 0, { 0, 0 } },
    { release_window_pass, 0, { 0, 0 } },
};
#define TASK_COUNT (sizeof tasks / sizeof tasks[0])

/* ------------------------------------------------------------------ */
/* the loop                                                            */
/* ------------------------------------------------------------------ */

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Runs every task that is due (first pass: all of them, at start), then
 * sleeps until the next one is due or jobs_stop. */
static void loop(struct worker *w)
{
    bool go_on = true;
    while (go_on) {
        struct timespec now, next = { 0, 0 };
        bool any = false;
        for (size_t i = 0; i < TASK_COUNT && !worker_stopping(w); i++) {
            struct task *t = &tasks[i];
            if (!t->interval)
                continue;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (!before(&now, &t->due)) {
                t->run();
                clock_gettime(CLOCK_MONOTONIC, &t->due);
                t->due.tv_sec += t->interval;
            }
            if (!any || before(&t->due, &next))
                next = t->due;
            any = true;
        }
        go_on = worker_sleep_until(w, any ? &next : NULL);
    }
}

int jobs_start(const struct config *cfg)
{
    config = cfg;
    tasks[0].interval = cfg->jobs_interval;
    tasks[1].interval = cfg->seal_interval;
    tasks[2].interval = cfg->bulletin_interval;
    /* Each second: a window's acts are released within a second of its
     * end (a cheap indexed look when nothing is due). */
    tasks[3].interval = cfg->anon_release_window ? 1 : 0;
    for (size_t i = 0; i < TASK_COUNT; i++)
        tasks[i].due = (struct timespec){ 0, 0 };
    return worker_start(&worker);
}

void jobs_stop(void)
{
    if (!worker.running)
        return;
    worker_stop(&worker);
    db_close(conn);
    conn = NULL;
    sodium_memzero(sign_sk, sizeof sign_sk);
    sign_key_loaded = false;
}
