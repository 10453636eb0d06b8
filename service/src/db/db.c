/* Connections, prepared statements, the transaction runner and the pool. */
#include "db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

struct db_conn {
    PGconn *pg;
    bool prepared[STMT__COUNT];
    bool in_use;
    bool unseen; /* held by an anonymous request: not in the pool's figures */
    char sqlstate[6];
    char error[256];
};

/* ------------------------------------------------------------------ */
/* single connections                                                  */
/* ------------------------------------------------------------------ */

static void set_error(struct db_conn *c, const char *state, const char *msg)
{
    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state ? state : "");
    snprintf(c->error, sizeof c->error, "%s", msg ? msg : "");
    /* libpq messages end with a newline; a log line should not. */
    size_t n = strlen(c->error);
    while (n > 0 && (c->error[n - 1] == '\n' || c->error[n - 1] == ' '))
        c->error[--n] = '\0';
}

static void log_db_error(const struct db_conn *c, const char *what)
{
    json_t *f = json_pack("{s:s, s:s, s:s}", "what", what, "sqlstate", c->sqlstate,
                          "error", c->error);
    log_json(LOG_ERROR, "database error", f);
    json_decref(f);
}

static PGconn *connect_pg(const char *conninfo, unsigned connect_timeout)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%u", connect_timeout);
    /* conninfo comes last so that a connect_timeout inside it wins.
     * Generic plans: every statement is prepared once per connection, and
     * PostgreSQL's default kept re-planning the list statement with its
     * ten parameters on every call (1.3 ms of planning for 0.4 ms of
     * execution at 100,000 suggestions; the generic plan is the same scan,
     * docs/performance.md). No JIT: a generic plan's cost is estimated
     * without its parameters, so a search that reads a few hundred rows
     * was costed above jit_above_cost and compiled anew on every call
     * (1.0 s of JIT for 4 ms of execution at 1,000,000 suggestions). */
    const char *const keys[] = { "connect_timeout", "application_name", "options", "dbname", NULL };
    const char *const vals[] = { timeout, "yijian", "-c plan_cache_mode=force_generic_plan -c jit=off",
                                 conninfo, NULL };
    return PQconnectdbParams(keys, vals, 1);
}

struct db_conn *db_open(const char *conninfo, unsigned connect_timeout)
{
    struct db_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pg = connect_pg(conninfo, connect_timeout);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        set_error(c, "08006", c->pg ? PQerrorMessage(c->pg) : "out of memory");
        log_db_error(c, "connect");
        db_close(c);
        return NULL;
    }
    return c;
}

void db_close(struct db_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

static enum db_status classify(struct db_conn *c, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    /* The primary message only: PostgreSQL's DETAIL can quote the values of
     * a row or a key ("Failing row contains (...)", "Key (hash)=(...)"),
     * which a log line must not hold (docs/security.md, "Logs"). */
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    set_error(c, state, primary ? primary : r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
    if (PQstatus(c->pg) != CONNECTION_OK || !state)
        return DB_UNAVAILABLE;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
        return DB_SERIALIZATION;
    if (!strcmp(state, "23505"))
        return DB_UNIQUE;
    if (!strncmp(state, "23", 2))
        return DB_CONSTRAINT;
    /* 57P01 admin shutdown, 57P03 cannot connect now, class 08 connection;
     * class 53 insufficient resources (53100 disk full, 53200 out of
     * memory, 53300 too many connections): the server is fine, the
     * request may succeed later, so the client is told 503 like when the
     * database is down (docs/reliability.md), and the log says which. */
    if (!strncmp(state, "57P", 3) || !strncmp(state, "08", 2) || !strncmp(state, "53", 2))
        return DB_UNAVAILABLE;
    return DB_ERROR;
}

static enum db_status prepare(struct db_conn *c, enum stmt id)
{
    if (c->prepared[id])
        return DB_OK;
    const struct stmt_def *d = &stmt_defs[id];
    PGresult *r = PQprepare(c->pg, d->name, d->sql, d->nparams, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        enum db_status st = classify(c, r);
        log_db_error(c, d->name);
        PQclear(r);
        return st;
    }
    PQclear(r);
    c->prepared[id] = true;
    return DB_OK;
}

int db_prepare(struct db_conn *c, enum stmt id)
{
    return prepare(c, id) == DB_OK ? 0 : -1;
}

static int reset_conn(struct db_conn *c);

static PGresult *exec_once(struct db_conn *c, enum stmt id, const char *const *params,
                           enum db_status *st)
{
    *st = prepare(c, id);
    if (*st != DB_OK)
        return NULL;
    const struct stmt_def *d = &stmt_defs[id];
    PGresult *r = PQexecPrepared(c->pg, d->name, d->nparams, params, NULL, NULL, 0);
    ExecStatusType rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
        *st = DB_OK;
        return r;
    }
    *st = classify(c, r);
    PQclear(r);
    return NULL;
}

PGresult *db_exec(struct db_conn *c, enum stmt id, const char *const *params,
                  enum db_status *st)
{
    bool idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    PGresult *r = exec_once(c, id, params, st);
    /* Outside a transaction only reads and idempotent writes run (see
     * db.h), so a statement that met a connection the server had closed
     * (a restart) is safe to send once more on a fresh one. */
    if (!r && *st == DB_UNAVAILABLE && idle && PQstatus(c->pg) != CONNECTION_OK &&
        reset_conn(c) == 0)
        r = exec_once(c, id, params, st);
    /* Expected refusals (unique, serialization) are the caller's to report. */
    if (!r && (*st == DB_ERROR || *st == DB_UNAVAILABLE))
        log_db_error(c, stmt_defs[id].name);
    return r;
}

static void batch_once(struct db_conn *c, size_t n, const enum stmt ids[],
                       const char *const *const params[], PGresult *out[], enum db_status *st)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    for (size_t i = 0; i < n; i++) {
        *st = prepare(c, ids[i]);
        if (*st != DB_OK)
            return;
    }
    if (!PQenterPipelineMode(c->pg)) {
        *st = classify(c, NULL);
        return;
    }
    bool sent = true;
    for (size_t i = 0; i < n && sent; i++) {
        const struct stmt_def *d = &stmt_defs[ids[i]];
        sent = PQsendQueryPrepared(c->pg, d->name, d->nparams, params[i], NULL, NULL, 0) == 1;
    }
    sent = sent && PQpipelineSync(c->pg) == 1;
    *st = DB_OK;
    size_t got = 0;
    /* Results in order: each statement's result then NULL; the sync last.
     * After an error the rest come back as PGRES_PIPELINE_ABORTED. */
    while (sent) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            if (PQstatus(c->pg) != CONNECTION_OK) {
                *st = classify(c, NULL);
                break;
            }
            continue; /* the end of one statement's results */
        }
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
            if (got < n)
                out[got++] = r;
            else
                PQclear(r);
            continue;
        }
        if (*st == DB_OK && rs != PGRES_PIPELINE_ABORTED)
            *st = classify(c, r);
        else if (*st == DB_OK)
            *st = DB_ERROR;
        PQclear(r);
        got++;
    }
    if (!sent && *st == DB_OK)
        *st = classify(c, NULL);
    PQexitPipelineMode(c->pg);
    if (*st == DB_OK && got != n)
        *st = DB_ERROR;
    if (*st != DB_OK)
        for (size_t i = 0; i < n; i++) {
            PQclear(out[i]);
            out[i] = NULL;
        }
}

void db_exec_batch(struct db_conn *c, size_t n, const enum stmt ids[],
                   const char *const *const params[], PGresult *out[], enum db_status *st)
{
    bool idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    batch_once(c, n, ids, params, out, st);
    if (*st == DB_UNAVAILABLE && idle && PQstatus(c->pg) != CONNECTION_OK && reset_conn(c) == 0)
        batch_once(c, n, ids, params, out, st);
    if (*st == DB_ERROR || *st == DB_UNAVAILABLE)
        log_db_error(c, n ? stmt_defs[ids[0]].name : "batch");
}

enum db_status db_exec_script(struct db_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    enum db_status st = DB_OK;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
        st = classify(c, r);
    PQclear(r);
    return st;
}

const char *db_last_sqlstate(const struct db_conn *c) { return c->sqlstate; }
const char *db_last_error(const struct db_conn *c) { return c->error; }

/* Prepared statements live in the server session: a reset loses them. */
static int reset_conn(struct db_conn *c)
{
    PQreset(c->pg);
    memset(c->prepared, 0, sizeof c->prepared);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        set_error(c, "08006", PQerrorMessage(c->pg));
        return -1;
    }
    return 0;
}

enum db_status db_transaction(struct db_conn *c, db_tx_fn fn, void *arg)
{
    bool reset_done = false;
    for (int attempt = 0;; attempt++) {
        enum db_status st = db_exec_script(c, "BEGIN");
        if (st == DB_UNAVAILABLE && !reset_done) {
            /* A server restart leaves idle connections dead; one fresh
             * connection is worth a try before telling the client 503. */
            reset_done = true;
            if (reset_conn(c) < 0)
                return DB_UNAVAILABLE;
            attempt--;
            continue;
        }
        if (st != DB_OK)
            return st;

        st = fn(c, arg);
        if (st == DB_OK) {
            st = db_exec_script(c, "COMMIT");
            if (st == DB_OK)
                return DB_OK;
        } else {
            db_exec_script(c, "ROLLBACK");
        }
        if (st != DB_SERIALIZATION || attempt + 1 >= DB_TX_RETRIES)
            return st;
        /* Short randomised pause so that the two sides of a conflict do
         * not collide again in lockstep. */
        struct timespec ts = { 0, (long)(1 + (unsigned)rand() % 10) * 1000000L * (attempt + 1) };
        nanosleep(&ts, NULL);
    }
}

/* ------------------------------------------------------------------ */
/* the pool                                                            */
/* ------------------------------------------------------------------ */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct db_conn *conns;
    unsigned size, in_use;
    unsigned unseen; /* of in_use: held by anonymous requests */
    unsigned long long waits;
    char conninfo[1024];
    unsigned connect_timeout;
    unsigned acquire_timeout_ms;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER };

/* Makes c usable: connected, outside any transaction, statements prepared. */
static int ready_conn(struct db_conn *c)
{
    if (!c->pg) {
        c->pg = connect_pg(pool.conninfo, pool.connect_timeout);
        memset(c->prepared, 0, sizeof c->prepared);
        if (!c->pg) {
            set_error(c, "08006", "out of memory");
            return -1;
        }
    }
    /* A server that went away has closed our socket; reading what is
     * pending notices that without a round trip. */
    if (PQstatus(c->pg) == CONNECTION_OK && !PQconsumeInput(c->pg))
        log_msg(LOG_WARN, "database connection lost; reconnecting");
    if (PQstatus(c->pg) != CONNECTION_OK && reset_conn(c) < 0)
        return -1;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        /* A request that failed half-way left its transaction open. */
        if (db_exec_script(c, "ROLLBACK") != DB_OK && reset_conn(c) < 0)
            return -1;
    }
    for (int i = 0; i < STMT__COUNT; i++)
        if (stmt_defs[i].pooled && db_prepare(c, (enum stmt)i) < 0)
            return -1;
    return 0;
}

int db_pool_init(const char *conninfo, unsigned size, unsigned connect_timeout,
                 unsigned acquire_timeout_ms)
{
    pool.conns = calloc(size, sizeof *pool.conns);
    if (!pool.conns)
        return -1;
    pool.size = size;
    pool.in_use = 0;
    pool.waits = 0;
    snprintf(pool.conninfo, sizeof pool.conninfo, "%s", conninfo);
    pool.connect_timeout = connect_timeout;
    pool.acquire_timeout_ms = acquire_timeout_ms;
    /* Connections are opened lazily: the service starts and answers
     * /healthz even while the database is still coming up. */
    return 0;
}

void db_pool_cleanup(void)
{
    for (unsigned i = 0; pool.conns && i < pool.size; i++)
        PQfinish(pool.conns[i].pg);
    free(pool.conns);
    pool.conns = NULL;
    pool.size = 0;
}

static struct db_conn *acquire(bool unseen, enum db_status *st)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += pool.acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(pool.acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&pool.lock);
    if (pool.in_use == pool.size && !unseen)
        pool.waits++;
    while (pool.in_use == pool.size) {
        if (pthread_cond_timedwait(&pool.freed, &pool.lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool.lock);
            *st = DB_UNAVAILABLE;
            log_msg(LOG_WARN, "no database connection free within %u ms", pool.acquire_timeout_ms);
            return NULL;
        }
    }
    struct db_conn *c = NULL;
    for (unsigned i = 0; i < pool.size; i++) {
        if (!pool.conns[i].in_use) {
            c = &pool.conns[i];
            break;
        }
    }
    c->in_use = true;
    c->unseen = unseen;
    pool.in_use++;
    if (unseen)
        pool.unseen++;
    pthread_mutex_unlock(&pool.lock);

    /* Connecting happens outside the lock: a slow connect must not stall
     * the threads that only want to give a connection back. */
    if (ready_conn(c) < 0) {
        log_db_error(c, "acquire");
        /* Down, or not migrated yet (statements fail to prepare): either
         * way the client should come back later. */
        *st = DB_UNAVAILABLE;
        db_pool_release(c);
        return NULL;
    }
    *st = DB_OK;
    return c;
}

struct db_conn *db_pool_acquire(enum db_status *st)
{
    return acquire(false, st);
}

struct db_conn *db_pool_acquire_unseen(enum db_status *st)
{
    return acquire(true, st);
}

void db_pool_release(struct db_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&pool.lock);
    c->in_use = false;
    pool.in_use--;
    if (c->unseen)
        pool.unseen--;
    c->unseen = false;
    pthread_cond_signal(&pool.freed);
    pthread_mutex_unlock(&pool.lock);
}

void db_pool_stats(struct db_pool_stats *out)
{
    pthread_mutex_lock(&pool.lock);
    out->size = pool.size;
    out->in_use = pool.in_use - pool.unseen;
    out->waits = pool.waits;
    pthread_mutex_unlock(&pool.lock);
}
