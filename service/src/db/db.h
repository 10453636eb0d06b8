/* Database layer: a fixed pool of libpq connections with every statement
 * of db/statements.c prepared, and the one transaction runner. */
#ifndef YIJIAN_DB_H
#define YIJIAN_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <time.h>

#include "db/statements.h"

enum db_status {
    DB_OK = 0,
    DB_ABORT,         /* the caller chose to roll back; not an error */
    DB_UNAVAILABLE,   /* connection lost or no connection: answer 503 */
    DB_SERIALIZATION, /* 40001 / 40P01: the runner retries */
    DB_UNIQUE,        /* 23505 */
    DB_CONSTRAINT,    /* the rest of class 23: a rule in the schema refused it */
    DB_ERROR,         /* anything else: a bug, answer 500 */
};

struct db_conn;

/* Opens one connection outside the pool (migrate, CLI). NULL on failure,
 * with the reason logged. Close with db_close (NULL is fine). */
struct db_conn *db_open(const char *conninfo, unsigned connect_timeout);
void db_close(struct db_conn *c);

/* Prepares statement id on c if it is not yet; 0 or -1. */
int db_prepare(struct db_conn *c, enum stmt id);

/*
 * Runs a prepared statement (preparing it first when needed). Returns the
 * result, which the caller PQclear()s, or NULL on failure with *st set and
 * the error logged. params are text values; NULL means SQL NULL.
 * Outside a transaction a statement that finds its connection closed by
 * the server is sent once more on a new connection: so every write that is
 * not idempotent must run inside db_transaction.
 */
PGresult *db_exec(struct db_conn *c, enum stmt id, const char *const *params,
                  enum db_status *st);

/*
 * Runs n independent reads in one round trip (libpq pipeline mode): the
 * statements are sent together and their results read in order into
 * out[0..n-1], which the caller PQclear()s. On failure every out[i] is
 * NULL, *st says why and the error is logged; like db_exec outside a
 * transaction, a batch that finds its connection closed by the server is
 * sent once more on a new one. The statements run in order, but none may
 * take a parameter from another's result; outside a transaction only
 * reads, as for db_exec.
 */
#define DB_BATCH_MAX 8
void db_exec_batch(struct db_conn *c, size_t n, const enum stmt ids[],
                   const char *const *const params[], PGresult *out[], enum db_status *st);

/*
 * Inside db_transaction: queues a write whose answer nobody reads (an
 * audit row, a notification) instead of running it now. It is sent ahead
 * of the transaction's next call, in that call's pipeline, or with its
 * COMMIT: no round trip of its own. Its failure is reported by that next
 * call (or the commit), whose status then says why, and the transaction
 * is rolled back as for any failure; so only writes whose failure means
 * "the transaction fails" belong here, never one whose refusal (a unique
 * key, a rule of the schema) the caller answers in its own way. params
 * are copied. Outside a transaction, or with DB_LATER_MAX queued, the
 * statement runs at once (db_exec).
 */
#define DB_LATER_MAX 16
enum db_status db_exec_later(struct db_conn *c, enum stmt id, const char *const *params);

/*
 * Runs id, a statement that tries an advisory lock and answers one boolean
 * (the jobs' pg_try_advisory_xact_lock and friends), and sets *locked.
 * Returns DB_OK with *locked false when another session holds the lock.
 */
enum db_status db_try_lock(struct db_conn *c, enum stmt id, bool *locked);

/*
 * Which server session c is in: changes whenever c was reconnected (after
 * a restart, a deadline or a failover). A session-level advisory lock is
 * held by one server session only: a job that took one checks that the
 * generation is still the one it took it in before relying on it, and
 * otherwise stops and takes it again on its next pass.
 */
unsigned db_generation(const struct db_conn *c);

/* Runs static SQL (migrations only; never text derived from input). */
enum db_status db_exec_script(struct db_conn *c, const char *sql);

/* SQLSTATE and message of the last failure on c ("" if none). */
const char *db_last_sqlstate(const struct db_conn *c);
const char *db_last_error(const struct db_conn *c);

/*
 * The transaction runner: BEGIN, fn, COMMIT. fn returns DB_OK to commit and
 * anything else to roll back. Serialization failures and deadlocks are
 * retried up to DB_TX_RETRIES times with fn called afresh, so fn must reset
 * whatever it fills in arg. A connection found broken at BEGIN is reset and
 * the transaction tried once more.
 */
#define DB_TX_RETRIES 5
typedef enum db_status (*db_tx_fn)(struct db_conn *c, void *arg);
enum db_status db_transaction(struct db_conn *c, db_tx_fn fn, void *arg);

/*
 * db_transaction whose COMMIT carries n reads (what the caller answers
 * once the change is made): they are sent in the COMMIT's pipeline, after
 * fn's queued writes and before COMMIT, so they see the transaction's
 * writes and cost no round trip of their own. out[0..n-1] get their
 * results (the caller PQclear()s them) when the transaction committed,
 * and stay NULL otherwise (fn refused, or it failed). params are read at
 * commit time: fn may fill the texts they point to (a new row's id).
 * The reads run on every attempt, as fn does; at most DB_BATCH_MAX.
 */
enum db_status db_transaction_reading(struct db_conn *c, db_tx_fn fn, void *arg, size_t n,
                                      const enum stmt ids[], const char *const *const params[],
                                      PGresult *out[]);

/* ---- deadlines (docs/reliability.md, "No request waits forever") ---- */

/*
 * Every call on a connection opened after this (pool, jobs, notifier) has
 * a deadline: the server cancels a statement after ms (statement_timeout)
 * and ends a transaction left idle for 2 ms + 1 s; the client gives up 1 s
 * after ms, asks the server to cancel, drops the connection and reports
 * DB_UNAVAILABLE (503). Later calls on the same checkout fail at once;
 * the next checkout opens a new connection. 0 (the default): no deadline,
 * for one-shot commands such as migrate and verify-audit.
 */
void db_set_call_timeout(unsigned ms);

/* At shutdown, once the grace is over: every wait on the database returns
 * DB_UNAVAILABLE now, and no connection is acquired or opened any more. */
void db_abandon_calls(void);

/* Whether the last call to pass its deadline came after the last call
 * that was answered: the database is stuck, as far as this process
 * knows. *since_ms (may be NULL): how long ago that deadline passed. */
bool db_stuck(long long *since_ms);

/* ---- the pool ---- */

int db_pool_init(const char *conninfo, unsigned size, unsigned connect_timeout,
                 unsigned acquire_timeout_ms);
void db_pool_cleanup(void);

/*
 * Takes a connection, waiting up to the acquire timeout. A connection that
 * is broken is reconnected, one left inside a transaction is rolled back.
 * Returns NULL when none can be had (*st says why: DB_UNAVAILABLE).
 */
struct db_conn *db_pool_acquire(enum db_status *st);
/*
 * The same for an anonymous request: the connection is left out of
 * db_pool_stats (in use, waits), which GET /metrics shows to anyone, so
 * that a gauge polled quickly cannot date an anonymous act. Its size
 * stays true; idle is then size minus the connections seen in use.
 */
struct db_conn *db_pool_acquire_unseen(enum db_status *st);
/* The same two, with the wait counted from *since (CLOCK_MONOTONIC), e.g.
 * the request's arrival: time spent queued before counts against it. A
 * zero *since means now. */
struct db_conn *db_pool_acquire_since(const struct timespec *since, enum db_status *st);
struct db_conn *db_pool_acquire_unseen_since(const struct timespec *since, enum db_status *st);
/* The network round trips made on c since it was checked out (a call
 * that sends and waits for its answers is one, a pipelined batch too);
 * 0 for NULL. The request's log line shows them (docs/performance.md). */
unsigned db_round_trips(const struct db_conn *c);
/* Returns c to the pool; NULL is fine. */
void db_pool_release(struct db_conn *c);

/* Whether every connection of the pool is taken and one of them has been
 * for ms or longer: requests are waiting on a slow or stuck database, not
 * merely queued behind each other's short calls. */
bool db_pool_stalled(unsigned ms);

struct db_pool_stats {
    unsigned size, in_use;
    unsigned long long waits;
};
void db_pool_stats(struct db_pool_stats *out);

#endif
