/* Connections, prepared statements, the transaction runner and the pool. */
#include "db/db.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

struct db_conn {
    PGconn *pg; /* NULL after a call passed its deadline: reconnected on next use */
    bool prepared[STMT__COUNT];
    bool in_use;
    bool unseen; /* held by an anonymous request: not in the pool's figures */
    bool deadline_passed; /* on this checkout: later calls fail at once */
    bool standalone;      /* from db_open: no checkout, renewed per top-level call */
    long long taken_ms;   /* pool: when checked out (CLOCK_MONOTONIC) */
    bool in_tx;           /* inside db_transaction */
    /* The runner's BEGIN, not sent yet: it goes out in the same pipeline
     * as the transaction's first statement (one round trip fewer). */
    bool begin_pending;
    /* Writes of the open transaction whose answer nobody reads
     * (db_exec_later): sent ahead of the next call, in its pipeline. */
    struct later {
        enum stmt id;
        char **params; /* one allocation: the pointers, then the text */
    } later[DB_LATER_MAX];
    size_t n_later;
    unsigned round_trips; /* on this checkout: calls that sent and waited */
    struct timespec deadline; /* of the call in progress (CLOCK_MONOTONIC) */
    char conninfo[1024];      /* to reconnect */
    unsigned generation;      /* server sessions so far: +1 per reconnect */
    bool read_only;           /* the server refused a write (25006): demoted */
    unsigned connect_timeout;
    char sqlstate[6];
    char error[256];
};

/* The deadlines (docs/reliability.md, "No request waits forever"). A
 * call's client-side deadline is the server's statement_timeout plus
 * CLIENT_MARGIN_MS: a live server that is merely slow or waiting on a lock
 * cancels the statement itself and answers 57014, and the connection is
 * kept; only a server that answers nothing at all (frozen, cut off) is
 * left by the client, whose connection is then dropped. 0: no deadline
 * (one-shot commands such as migrate and verify-audit). */
#define CLIENT_MARGIN_MS 1000
/* How often a wait wakes up to see whether the shutdown gave up on it. */
#define WAIT_SLICE_MS 200
static unsigned call_timeout_ms;
static int abandoned; /* set once by db_abandon_calls; read atomically */

/* Pool health for /readyz, in milliseconds of CLOCK_MONOTONIC: the last
 * call that answered and the last one that passed its deadline. */
static long long health_ok_ms, health_stuck_ms;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void db_set_call_timeout(unsigned ms) { call_timeout_ms = ms; }

void db_abandon_calls(void) { __atomic_store_n(&abandoned, 1, __ATOMIC_SEQ_CST); }

bool db_stuck(long long *since_ms)
{
    long long ok = __atomic_load_n(&health_ok_ms, __ATOMIC_RELAXED);
    long long stuck = __atomic_load_n(&health_stuck_ms, __ATOMIC_RELAXED);
    if (since_ms)
        *since_ms = stuck ? now_ms() - stuck : 0;
    return stuck != 0 && stuck >= ok;
}

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
    /* Held by an anonymous request: a line naming the statement, or only
     * its time, would date an anonymous act. The client gets its 500 or
     * 503; a fault of the database shows on every other request and on
     * the health probe. */
    if (c->unseen)
        return;
    json_t *f = json_pack("{s:s, s:s, s:s}", "what", what, "sqlstate", c->sqlstate,
                          "error", c->error);
    log_json(LOG_ERROR, "database error", f);
    json_decref(f);
}

/* PostgreSQL's notices and warnings ("relation already exists,
 * skipping" at each migrate) go to the JSON log instead of libpq's
 * plain-text line on stderr. The primary message only, as for errors. */
static void on_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    json_t *f = json_pack("{s:s, s:s, s:s}", "source", "postgresql", "severity",
                          sev ? sev : "", "sqlstate", state ? state : "");
    log_json(sev && !strcmp(sev, "WARNING") ? LOG_WARN : LOG_DEBUG,
             msg ? msg : "database notice", f);
    json_decref(f);
}

static PGconn *connect_pg(const char *conninfo, unsigned connect_timeout)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%u", connect_timeout);
    /* Server-side limits (with a deadline set): a statement that runs or
     * waits on a lock for longer is cancelled by the server itself; a
     * transaction left idle by a client that went away releases its locks;
     * a query whose client is gone stops within a second. */
    char options[320];
    int n = snprintf(options, sizeof options, "-c plan_cache_mode=force_generic_plan -c jit=off");
    if (call_timeout_ms)
        snprintf(options + n, sizeof options - (size_t)n,
                 " -c statement_timeout=%u -c idle_in_transaction_session_timeout=%u"
                 " -c client_connection_check_interval=1000",
                 call_timeout_ms, 2 * call_timeout_ms + CLIENT_MARGIN_MS);
    /* conninfo comes last so that a connect_timeout inside it wins.
     * Generic plans: every statement is prepared once per connection, and
     * PostgreSQL's default kept re-planning the list statement with its
     * ten parameters on every call (1.3 ms of planning for 0.4 ms of
     * execution at 100,000 suggestions; the generic plan is the same scan,
     * docs/performance.md). No JIT: a generic plan's cost is estimated
     * without its parameters, so a search that reads a few hundred rows
     * was costed above jit_above_cost and compiled anew on every call
     * (1.0 s of JIT for 4 ms of execution at 1,000,000 suggestions). */
    /* TCP keepalives (ignored on a Unix socket): a server machine that
     * vanished is noticed by an idle connection within 5 + 3 x 2 s. The
     * connect itself stays libpq's blocking one: it applies connect_timeout
     * to each host of a multi-host conninfo in turn, which an asynchronous
     * connect would have to redo (docs/reliability.md). */
    const char *const keys[] = { "connect_timeout", "application_name", "keepalives",
                                 "keepalives_idle", "keepalives_interval", "keepalives_count",
                                 "options", "dbname", NULL };
    const char *const vals[] = { timeout, "yijian", "1", "5", "2", "3", options, conninfo, NULL };
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg && PQstatus(pg) == CONNECTION_OK) {
        PQsetNoticeReceiver(pg, on_notice, NULL);
        /* Sends never block: a frozen server cannot hold a thread in
         * write() either; await() flushes. */
        PQsetnonblocking(pg, 1);
    }
    return pg;
}

struct db_conn *db_open(const char *conninfo, unsigned connect_timeout)
{
    struct db_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->conninfo, sizeof c->conninfo, "%s", conninfo);
    c->connect_timeout = connect_timeout;
    c->standalone = true;
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
    /* 57014: statement_timeout cancelled it (a held lock, an overloaded
     * server); 25P03: the server ended a transaction left idle too long.
     * The database is stuck, not the request wrong: 503 as well. */
    if (!strcmp(state, "57014") || !strcmp(state, "25P03") || !strcmp(state, "55P03"))
        return DB_UNAVAILABLE;
    /* 25006: a write on a read-only server. yijian only ever connects to
     * a primary (target_session_attrs=read-write in a multi-host
     * conninfo), so the server it reached was demoted since, after a
     * failover (docs/reliability.md): the client is told 503, and the
     * connection is replaced at its next checkout (or next call, for the
     * jobs' own) by one to whichever node is the primary now. */
    if (!strcmp(state, "25006")) {
        c->read_only = true;
        return DB_UNAVAILABLE;
    }
    return DB_ERROR;
}

/* ------------------------------------------------------------------ */
/* waiting with a deadline                                             */
/* ------------------------------------------------------------------ */

/* Every call that sends and then waits for its answers starts here: one
 * network round trip, whatever the number of statements it carries. */
static void start_call(struct db_conn *c)
{
    c->round_trips++;
    clock_gettime(CLOCK_MONOTONIC, &c->deadline);
    unsigned ms = call_timeout_ms ? call_timeout_ms + CLIENT_MARGIN_MS : 0;
    c->deadline.tv_sec += ms / 1000;
    c->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (c->deadline.tv_nsec >= 1000000000L) {
        c->deadline.tv_sec++;
        c->deadline.tv_nsec -= 1000000000L;
    }
}

/* Milliseconds left of the call's deadline (INT_MAX without one), 0 once
 * the shutdown has given up on database calls. */
static int remaining_ms(const struct db_conn *c)
{
    if (__atomic_load_n(&abandoned, __ATOMIC_SEQ_CST))
        return 0;
    if (!call_timeout_ms)
        return INT_MAX;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
                     (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* The cancel request is a connection of its own, and libpq's PQcancel
 * waits for the server to close it: against a frozen server it would
 * never return. So it runs on a detached thread of its own, at most
 * MAX_CANCELS at a time (beyond that the server's statement_timeout and
 * client_connection_check_interval end the statement anyway). */
#define MAX_CANCELS 4
static unsigned cancels_running;

static void *cancel_thread(void *arg)
{
    PGcancel *cancel = arg;
    char err[256];
    PQcancel(cancel, err, sizeof err);
    PQfreeCancel(cancel);
    __atomic_sub_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A call passed its deadline: the server is asked to cancel it, and the
 * connection is dropped at once (its protocol state is unknown). The
 * next checkout opens a new one; until then every call on c fails. */
static void drop_after_deadline(struct db_conn *c, const char *what)
{
    bool shutdown = __atomic_load_n(&abandoned, __ATOMIC_SEQ_CST);
    if (!shutdown)
        __atomic_store_n(&health_stuck_ms, now_ms(), __ATOMIC_RELAXED);
    PGcancel *cancel = PQgetCancel(c->pg);
    if (cancel && __atomic_add_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST) <= MAX_CANCELS) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, cancel_thread, cancel) == 0)
            cancel = NULL;
        else
            __atomic_sub_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST);
        pthread_attr_destroy(&attr);
    } else if (cancel) {
        __atomic_sub_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST);
    }
    PQfreeCancel(cancel);
    PQfinish(c->pg);
    c->pg = NULL;
    memset(c->prepared, 0, sizeof c->prepared);
    c->deadline_passed = true;
    char msg[128];
    snprintf(msg, sizeof msg, shutdown ? "abandoned at shutdown"
                                       : "no answer from the database within %u ms",
             call_timeout_ms + CLIENT_MARGIN_MS);
    set_error(c, "57014", msg);
    /* Held by an anonymous request: which statement, and when, would date
     * an anonymous act; the line says only that a call passed it. */
    json_t *f = json_pack("{s:s, s:s}", "what", c->unseen ? "a request's call" : what, "error",
                          c->error);
    log_json(LOG_WARN, "database call passed its deadline; connection dropped", f);
    json_decref(f);
}

/*
 * Sends what is buffered and waits until the next PQgetResult will not
 * block. 0: ready; -1: the connection failed (PQgetResult reports it);
 * 1: the deadline passed (the connection has been dropped).
 */
static int await(struct db_conn *c, const char *what)
{
    for (;;) {
        int flush = PQflush(c->pg);
        if (flush < 0)
            return -1;
        if (!PQconsumeInput(c->pg))
            return -1;
        if (flush == 0 && !PQisBusy(c->pg))
            return 0;
        int left = remaining_ms(c);
        if (left == 0) {
            drop_after_deadline(c, what);
            return 1;
        }
        struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN | (flush ? POLLOUT : 0) };
        if (poll(&p, 1, left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS) < 0 && errno != EINTR)
            return -1;
    }
}

/* The result of the command just sent: the last one, or the first error.
 * NULL after the deadline passed or when the connection failed with no
 * result to say so (then c's error says why). */
static PGresult *collect(struct db_conn *c, const char *what)
{
    PGresult *keep = NULL;
    for (;;) {
        int w = await(c, what);
        if (w == 1) {
            PQclear(keep);
            return NULL;
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            break;
        ExecStatusType rs = PQresultStatus(r);
        bool keep_failed = keep && PQresultStatus(keep) != PGRES_COMMAND_OK &&
                           PQresultStatus(keep) != PGRES_TUPLES_OK;
        if (keep_failed || rs == PGRES_COPY_IN || rs == PGRES_COPY_OUT) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
        if (w < 0 && PQstatus(c->pg) != CONNECTION_OK)
            break;
    }
    if (keep && (PQresultStatus(keep) == PGRES_COMMAND_OK ||
                 PQresultStatus(keep) == PGRES_TUPLES_OK))
        __atomic_store_n(&health_ok_ms, now_ms(), __ATOMIC_RELAXED);
    return keep;
}

/* c can take a call: it has a connection and no call on this checkout
 * passed its deadline. Otherwise c's error is set. */
static bool usable(struct db_conn *c)
{
    if (c->pg && !c->deadline_passed)
        return true;
    if (!c->deadline_passed)
        set_error(c, "08003", "no database connection");
    return false;
}

static enum db_status prepare(struct db_conn *c, enum stmt id)
{
    if (c->prepared[id])
        return DB_OK;
    const struct stmt_def *d = &stmt_defs[id];
    if (!usable(c))
        return DB_UNAVAILABLE;
    start_call(c);
    PGresult *r = PQsendPrepare(c->pg, d->name, d->sql, d->nparams, NULL) ? collect(c, d->name)
                                                                          : NULL;
    if (!c->pg)
        return DB_UNAVAILABLE;
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

static void pipeline_once(struct db_conn *c, size_t n, const enum stmt ids[],
                          const char *const *const params[], PGresult *out[],
                          enum db_status *st, bool commit);

static void batch_once(struct db_conn *c, size_t n, const enum stmt ids[],
                       const char *const *const params[], PGresult *out[], enum db_status *st)
{
    pipeline_once(c, n, ids, params, out, st, false);
}

static void later_clear(struct db_conn *c)
{
    for (size_t i = 0; i < c->n_later; i++)
        free(c->later[i].params);
    c->n_later = 0;
}

static PGresult *exec_once(struct db_conn *c, enum stmt id, const char *const *params,
                           enum db_status *st)
{
    if (c->begin_pending || c->n_later) {
        /* The transaction's first statement carries its BEGIN; any call
         * carries the writes queued before it. */
        const char *const *const p[] = { params };
        PGresult *r;
        batch_once(c, 1, &id, p, &r, st);
        return r;
    }
    *st = prepare(c, id);
    if (*st != DB_OK)
        return NULL;
    if (!usable(c)) {
        *st = DB_UNAVAILABLE;
        return NULL;
    }
    const struct stmt_def *d = &stmt_defs[id];
    start_call(c);
    PGresult *r = PQsendQueryPrepared(c->pg, d->name, d->nparams, params, NULL, NULL, 0)
                      ? collect(c, d->name)
                      : NULL;
    if (!c->pg) {
        *st = DB_UNAVAILABLE;
        return NULL;
    }
    ExecStatusType rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
        *st = DB_OK;
        return r;
    }
    *st = classify(c, r);
    PQclear(r);
    return NULL;
}

/* A connection of db_open (the jobs thread's, the notifier's) has no
 * checkout to start afresh: it is made usable again at the start of each
 * call made outside a transaction, reconnecting when a deadline dropped
 * it. Inside a transaction a dropped connection stays dropped: the rest
 * of the transaction must fail, not run on a new session. */
static void standalone_renew(struct db_conn *c)
{
    if (!c->standalone || c->in_tx)
        return;
    c->deadline_passed = false;
    if (c->read_only)
        log_msg(LOG_WARN, "database server became read-only (a failover?); reconnecting");
    if ((!c->pg || c->read_only) && !__atomic_load_n(&abandoned, __ATOMIC_SEQ_CST))
        reset_conn(c);
}

PGresult *db_exec(struct db_conn *c, enum stmt id, const char *const *params,
                  enum db_status *st)
{
    standalone_renew(c);
    bool idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    PGresult *r = exec_once(c, id, params, st);
    /* Outside a transaction only reads and idempotent writes run (see
     * db.h), so a statement that met a connection the server had closed
     * (a restart) is safe to send once more on a fresh one. */
    if (!r && *st == DB_UNAVAILABLE && idle && !c->deadline_passed &&
        PQstatus(c->pg) != CONNECTION_OK && reset_conn(c) == 0)
        r = exec_once(c, id, params, st);
    /* Expected refusals (unique, serialization) are the caller's to report. */
    if (!r && (*st == DB_ERROR || *st == DB_UNAVAILABLE))
        log_db_error(c, stmt_defs[id].name);
    return r;
}

static void pipeline_once(struct db_conn *c, size_t n, const enum stmt ids[],
                          const char *const *const params[], PGresult *out[],
                          enum db_status *st, bool commit)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    for (size_t i = 0; i < n; i++) {
        *st = prepare(c, ids[i]);
        if (*st != DB_OK)
            return;
    }
    for (size_t i = 0; i < c->n_later; i++) { /* again after a reconnect */
        *st = prepare(c, c->later[i].id);
        if (*st != DB_OK)
            return;
    }
    if (!usable(c)) {
        *st = DB_UNAVAILABLE;
        return;
    }
    const char *what = n ? stmt_defs[ids[0]].name : commit ? "COMMIT" : "batch";
    if (!PQenterPipelineMode(c->pg)) {
        *st = classify(c, NULL);
        return;
    }
    start_call(c);
    /* A transaction's first call: its BEGIN goes first, in the same
     * pipeline. Its result is checked, not handed out. */
    /* Then the writes queued by db_exec_later, then the statements, then
     * (commit) COMMIT: results in that order. */
    bool begin = c->begin_pending, begun = false;
    bool sent = !begin || PQsendQueryParams(c->pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
    size_t prefix = (begin ? 1 : 0) + c->n_later;
    for (size_t i = 0; i < c->n_later && sent; i++) {
        const struct stmt_def *d = &stmt_defs[c->later[i].id];
        sent = PQsendQueryPrepared(c->pg, d->name, d->nparams,
                                   (const char *const *)c->later[i].params, NULL, NULL, 0) == 1;
    }
    for (size_t i = 0; i < n && sent; i++) {
        const struct stmt_def *d = &stmt_defs[ids[i]];
        sent = PQsendQueryPrepared(c->pg, d->name, d->nparams, params[i], NULL, NULL, 0) == 1;
    }
    if (commit && sent)
        sent = PQsendQueryParams(c->pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1;
    sent = sent && PQpipelineSync(c->pg) == 1;
    *st = DB_OK;
    size_t got = 0, k = 0; /* k: results so far, prefix and COMMIT included */
    int nulls = 0;
    bool synced = false;
    /* Results in order: each statement's result then NULL; the sync last.
     * After an error the rest come back as PGRES_PIPELINE_ABORTED. */
    while (sent) {
        int w = await(c, what);
        if (w == 1) {
            *st = DB_UNAVAILABLE;
            break;
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            if (PQstatus(c->pg) != CONNECTION_OK) {
                *st = classify(c, NULL);
                break;
            }
            /* One NULL ends each statement's results. Two in a row on a
             * live connection mean libpq expects nothing more although
             * the sync never came: this loop would spin for good. */
            if (++nulls > 1) {
                set_error(c, "08P01", "pipeline ended without its sync");
                *st = DB_UNAVAILABLE;
                break;
            }
            continue;
        }
        nulls = 0;
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            synced = true;
            break;
        }
        bool mine = k >= prefix && k < prefix + n; /* a result for out[] */
        k++;
        if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
            if (begin && k == 1)
                begun = true;
            if (mine && got < n)
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
        if (mine)
            got++;
    }
    if (!sent && *st == DB_OK)
        *st = classify(c, NULL);
    /* A pipeline that did not end with its sync (or cannot be left) leaves
     * libpq's queue of expected results in a state nothing here can
     * check: the connection is not used again. */
    if (c->pg && (!synced || !PQexitPipelineMode(c->pg))) {
        PQfinish(c->pg);
        c->pg = NULL;
        memset(c->prepared, 0, sizeof c->prepared);
        if (*st == DB_OK)
            *st = DB_UNAVAILABLE;
    }
    if (c->pg && synced && *st == DB_OK)
        __atomic_store_n(&health_ok_ms, now_ms(), __ATOMIC_RELAXED);
    /* Once the server has begun the transaction, its BEGIN is sent; until
     * then (the connection failed first) the next call sends it again. */
    if (begun && c->pg)
        c->begin_pending = false;
    /* The queued writes went out with it (and failed with it, if it
     * failed: the transaction is then rolled back), unless the connection
     * failed before the transaction began: then the retry on a fresh
     * connection sends them again, BEGIN first. */
    if (!c->begin_pending)
        later_clear(c);
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
    standalone_renew(c);
    bool idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    batch_once(c, n, ids, params, out, st);
    if (*st == DB_UNAVAILABLE && idle && !c->deadline_passed && PQstatus(c->pg) != CONNECTION_OK &&
        reset_conn(c) == 0)
        batch_once(c, n, ids, params, out, st);
    if (*st == DB_ERROR || *st == DB_UNAVAILABLE)
        log_db_error(c, n ? stmt_defs[ids[0]].name : "batch");
}

enum db_status db_exec_later(struct db_conn *c, enum stmt id, const char *const *params)
{
    const struct stmt_def *d = &stmt_defs[id];
    char **copy = NULL;
    if (c->in_tx && c->n_later < DB_LATER_MAX && prepare(c, id) == DB_OK) {
        size_t bytes = (size_t)d->nparams * sizeof *copy;
        for (int i = 0; i < d->nparams; i++)
            bytes += params[i] ? strlen(params[i]) + 1 : 0;
        copy = malloc(bytes ? bytes : 1);
    }
    if (!copy) {
        /* Outside a transaction, or the queue is full: now. */
        enum db_status st;
        PQclear(db_exec(c, id, params, &st));
        return st;
    }
    char *text = (char *)(copy + d->nparams);
    for (int i = 0; i < d->nparams; i++) {
        if (!params[i]) {
            copy[i] = NULL;
            continue;
        }
        size_t len = strlen(params[i]) + 1;
        memcpy(text, params[i], len);
        copy[i] = text;
        text += len;
    }
    c->later[c->n_later].id = id;
    c->later[c->n_later].params = copy;
    c->n_later++;
    return DB_OK;
}

enum db_status db_try_lock(struct db_conn *c, enum stmt id, bool *locked)
{
    *locked = false;
    enum db_status st;
    PGresult *res = db_exec(c, id, NULL, &st);
    if (!res)
        return st;
    *locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return DB_OK;
}

static enum db_status script_once(struct db_conn *c, const char *sql);

enum db_status db_exec_script(struct db_conn *c, const char *sql)
{
    /* Inside a transaction whose BEGIN is still pending (a SAVEPOINT, a
     * migration's text): BEGIN first, on its own. */
    if (c->begin_pending) {
        enum db_status st = script_once(c, "BEGIN");
        if (st != DB_OK)
            return st;
        c->begin_pending = false;
    }
    if (c->n_later) {
        enum db_status st;
        pipeline_once(c, 0, NULL, NULL, NULL, &st, false);
        if (st != DB_OK)
            return st;
    }
    return script_once(c, sql);
}

static enum db_status script_once(struct db_conn *c, const char *sql)
{
    if (!usable(c))
        return DB_UNAVAILABLE;
    start_call(c);
    PGresult *r = PQsendQuery(c->pg, sql) ? collect(c, "script") : NULL;
    if (!c->pg)
        return DB_UNAVAILABLE;
    ExecStatusType rs = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    enum db_status st = DB_OK;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
        st = classify(c, r);
    PQclear(r);
    return st;
}

const char *db_last_sqlstate(const struct db_conn *c) { return c->sqlstate; }
unsigned db_generation(const struct db_conn *c) { return c->generation; }
const char *db_last_error(const struct db_conn *c) { return c->error; }

/* A new connection in place of c's. Not PQreset: that keeps the old
 * PGconn, and with it whatever libpq still expected from the server that
 * went away; a new PGconn starts clean. Prepared statements live in the
 * server session and are prepared again. */
static int reset_conn(struct db_conn *c)
{
    PQfinish(c->pg);
    memset(c->prepared, 0, sizeof c->prepared);
    c->generation++;
    c->read_only = false;
    c->pg = __atomic_load_n(&abandoned, __ATOMIC_SEQ_CST)
                ? NULL
                : connect_pg(c->conninfo, c->connect_timeout);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        set_error(c, "08006", c->pg ? PQerrorMessage(c->pg) : "no database connection");
        PQfinish(c->pg);
        c->pg = NULL;
        return -1;
    }
    return 0;
}

/* The reads a transaction's COMMIT carries (db_transaction_reading). */
struct commit_reads {
    size_t n;
    const enum stmt *ids;
    const char *const *const *params;
    PGresult **out;
};

static enum db_status transaction(struct db_conn *c, db_tx_fn fn, void *arg,
                                  const struct commit_reads *reads);

enum db_status db_transaction_reading(struct db_conn *c, db_tx_fn fn, void *arg, size_t n,
                                      const enum stmt ids[], const char *const *const params[],
                                      PGresult *out[])
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    standalone_renew(c);
    bool outer = !c->in_tx;
    c->in_tx = true;
    const struct commit_reads reads = { n, ids, params, out };
    enum db_status st = transaction(c, fn, arg, &reads);
    if (outer)
        c->in_tx = false;
    return st;
}

enum db_status db_transaction(struct db_conn *c, db_tx_fn fn, void *arg)
{
    return db_transaction_reading(c, fn, arg, 0, NULL, NULL, NULL);
}

static enum db_status transaction(struct db_conn *c, db_tx_fn fn, void *arg,
                                  const struct commit_reads *reads)
{
    for (int attempt = 0;; attempt++) {
        /* BEGIN is not sent on its own: it leads the pipeline of the
         * transaction's first statement (exec_once, batch_once), which
         * saves every write one round trip. A server restart leaves idle
         * connections dead: that first call, finding its connection
         * closed while nothing of the transaction has run, is sent once
         * more on a fresh one (db_exec, db_exec_batch), BEGIN with it. */
        c->begin_pending = true;
        later_clear(c);
        enum db_status st = fn(c, arg);
        if (st == DB_OK && (c->n_later || reads->n)) {
            /* The queued writes, the reads the caller wants once it is
             * done, and COMMIT in one round trip (BEGIN before them when
             * nothing else was sent). The reads see the transaction's
             * writes; their results are dropped unless COMMIT succeeds. */
            pipeline_once(c, reads->n, reads->ids, reads->params, reads->out, &st, true);
            c->begin_pending = false;
            later_clear(c);
            if (st == DB_OK)
                return DB_OK;
            if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
                script_once(c, "ROLLBACK");
        } else if (c->begin_pending) {
            /* Nothing was sent: there is no transaction to end. */
            c->begin_pending = false;
            later_clear(c);
            return st;
        } else if (st == DB_OK) {
            st = db_exec_script(c, "COMMIT");
            if (st == DB_OK)
                return DB_OK;
        } else {
            later_clear(c);
            db_exec_script(c, "ROLLBACK");
        }
        if (st != DB_SERIALIZATION || attempt + 1 >= DB_TX_RETRIES)
            return st;
        /* Short randomised pause so that the two sides of a conflict do
         * not collide again in lockstep (libsodium's generator: rand() is
         * neither thread-safe nor seeded, so every thread drew alike). */
        struct timespec ts = { 0, (long)(1 + randombytes_uniform(10)) * 1000000L * (attempt + 1) };
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
    unsigned acquire_timeout_ms;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER };

/* Makes c usable: connected, outside any transaction, statements prepared. */
static int ready_conn(struct db_conn *c)
{
    c->deadline_passed = false;
    if (__atomic_load_n(&abandoned, __ATOMIC_SEQ_CST)) {
        set_error(c, "57P01", "the service is shutting down");
        return -1;
    }
    /* No connection yet, or it was dropped after a deadline. While the
     * database is stuck a connect waits out DB_CONNECT_TIMEOUT, so only
     * one checkout at a time tries; the others are refused at once. */
    if (!c->pg) {
        static int reconnecting;
        bool gate = db_stuck(NULL);
        if (gate && __atomic_exchange_n(&reconnecting, 1, __ATOMIC_SEQ_CST)) {
            set_error(c, "08006", "the database is not answering; another connection attempt is under way");
            return -1;
        }
        int rc = reset_conn(c);
        if (gate)
            __atomic_store_n(&reconnecting, 0, __ATOMIC_SEQ_CST);
        if (rc < 0)
            return -1;
    }
    /* A server that went away has closed our socket; reading what is
     * pending notices that without a round trip. */
    if (PQstatus(c->pg) == CONNECTION_OK && !PQconsumeInput(c->pg))
        log_msg(LOG_WARN, "database connection lost; reconnecting");
    if (c->read_only)
        log_msg(LOG_WARN, "database server became read-only (a failover?); reconnecting");
    if ((PQstatus(c->pg) != CONNECTION_OK || c->read_only) && reset_conn(c) < 0)
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
    for (unsigned i = 0; i < size; i++) {
        snprintf(pool.conns[i].conninfo, sizeof pool.conns[i].conninfo, "%s", conninfo);
        pool.conns[i].connect_timeout = connect_timeout;
    }
    pool.acquire_timeout_ms = acquire_timeout_ms;
    /* Waits are measured on the monotonic clock: a request's arrival is. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&pool.freed);
    pthread_cond_init(&pool.freed, &attr);
    pthread_condattr_destroy(&attr);
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

static struct db_conn *acquire(bool unseen, const struct timespec *since, enum db_status *st)
{
    struct timespec deadline;
    if (since && (since->tv_sec || since->tv_nsec))
        deadline = *since;
    else
        clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool.acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(pool.acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    if (__atomic_load_n(&abandoned, __ATOMIC_SEQ_CST)) {
        *st = DB_UNAVAILABLE;
        return NULL;
    }
    pthread_mutex_lock(&pool.lock);
    if (pool.in_use == pool.size && !unseen)
        pool.waits++;
    while (pool.in_use == pool.size) {
        if (pthread_cond_timedwait(&pool.freed, &pool.lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool.lock);
            *st = DB_UNAVAILABLE;
            if (!unseen)
                log_msg(LOG_WARN, "no database connection free within %u ms",
                        pool.acquire_timeout_ms);
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
    c->taken_ms = now_ms();
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
    /* What ready_conn did (connect, prepare, roll back) is the pool's
     * upkeep, not the request's. */
    c->round_trips = 0;
    c->begin_pending = false;
    later_clear(c);
    *st = DB_OK;
    return c;
}

unsigned db_round_trips(const struct db_conn *c)
{
    return c ? c->round_trips : 0;
}

struct db_conn *db_pool_acquire(enum db_status *st)
{
    return acquire(false, NULL, st);
}

struct db_conn *db_pool_acquire_unseen(enum db_status *st)
{
    return acquire(true, NULL, st);
}

struct db_conn *db_pool_acquire_since(const struct timespec *since, enum db_status *st)
{
    return acquire(false, since, st);
}

struct db_conn *db_pool_acquire_unseen_since(const struct timespec *since, enum db_status *st)
{
    return acquire(true, since, st);
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

bool db_pool_stalled(unsigned ms)
{
    long long now = now_ms();
    pthread_mutex_lock(&pool.lock);
    bool stalled = false;
    if (pool.in_use == pool.size)
        for (unsigned i = 0; i < pool.size && !stalled; i++)
            stalled = pool.conns[i].in_use && now - pool.conns[i].taken_ms >= (long long)ms;
    pthread_mutex_unlock(&pool.lock);
    return stalled;
}

void db_pool_stats(struct db_pool_stats *out)
{
    pthread_mutex_lock(&pool.lock);
    out->size = pool.size;
    out->in_use = pool.in_use - pool.unseen;
    out->waits = pool.waits;
    pthread_mutex_unlock(&pool.lock);
}
