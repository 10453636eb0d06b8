/* Epoch arithmetic (UTC, no time zone database) and the VOPRF key of each
 * (unit, epoch). The seed is random per epoch rather than derived from one
 * root secret, so that no single stored value yields the keys of every
 * epoch; each unit's key is derived from its epoch's seed with the unit in
 * DeriveKeyPair's info, so thousands of units need no table of keys
 * (docs/threat-model.md "Tokens are bound to a unit"). */
#include "domain/token_keys.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "db/statements.h"
#include "domain/secret_store.h"
#include "util/log.h"

#define DAY 86400LL
/* 1970-01-01 and 9999-01-01: four-digit years only. */
#define TIME_MIN 0LL
#define TIME_MAX 253370764800LL

static const char key_info_prefix[] = "yijian token key ";
static const char seed_name_prefix[] = "token-key:";

static void utc(long long t, struct tm *tm)
{
    time_t tt = (time_t)t;
    gmtime_r(&tt, tm);
}

static long long month_start(int year, int month0)
{
    struct tm tm = { .tm_year = year - 1900, .tm_mon = month0, .tm_mday = 1 };
    return (long long)timegm(&tm); /* normalises month 12 to January */
}

bool token_epoch_at(unsigned epoch_days, unsigned grace_days, long long t,
                    struct token_epoch *out)
{
    memset(out, 0, sizeof *out);
    if (t < TIME_MIN || t >= TIME_MAX)
        return false;
    struct tm tm;
    if (epoch_days == 0) {
        utc(t, &tm);
        out->not_before = month_start(tm.tm_year + 1900, tm.tm_mon);
        out->not_after = month_start(tm.tm_year + 1900, tm.tm_mon + 1);
        strftime(out->key_id, sizeof out->key_id, "%Y-%m", &tm);
    } else {
        long long len = (long long)epoch_days * DAY;
        out->not_before = t / len * len;
        out->not_after = out->not_before + len;
        utc(out->not_before, &tm);
        strftime(out->key_id, sizeof out->key_id, "%Y-%m-%d", &tm);
    }
    out->redeem_until = out->not_after + (long long)grace_days * DAY;
    return true;
}

bool token_epoch_next(unsigned epoch_days, unsigned grace_days, const struct token_epoch *e,
                      struct token_epoch *out)
{
    return token_epoch_at(epoch_days, grace_days, e->not_after, out);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool token_epoch_parse(unsigned epoch_days, unsigned grace_days, const char *key_id,
                       struct token_epoch *out)
{
    memset(out, 0, sizeof *out);
    size_t want = epoch_days == 0 ? 7 : 10;
    if (strlen(key_id) != want || !digits(key_id, 4) || key_id[4] != '-' ||
        !digits(key_id + 5, 2) || (want == 10 && (key_id[7] != '-' || !digits(key_id + 8, 2))))
        return false;
    struct tm tm = {
        .tm_year = (key_id[0] - '0') * 1000 + (key_id[1] - '0') * 100 + (key_id[2] - '0') * 10 +
                   (key_id[3] - '0') - 1900,
        .tm_mon = (key_id[5] - '0') * 10 + (key_id[6] - '0') - 1,
        .tm_mday = want == 10 ? (key_id[8] - '0') * 10 + (key_id[9] - '0') : 1,
    };
    /* timegm normalises 2026-13 or 2026-02-30 into another date, which
     * then fails the comparison below: only canonical ids survive. */
    long long t = (long long)timegm(&tm);
    struct token_epoch e;
    if (!token_epoch_at(epoch_days, grace_days, t, &e) || e.not_before != t ||
        strcmp(e.key_id, key_id) != 0)
        return false;
    *out = e;
    return true;
}

void token_time_format(long long t, char out[TOKEN_TIME_CHARS + 1])
{
    struct tm tm;
    utc(t, &tm);
    if (strftime(out, TOKEN_TIME_CHARS + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0'; /* a year of more than four digits: never for epochs */
}

/* ------------------------------------------------------------------ */
/* keys                                                                */
/* ------------------------------------------------------------------ */

enum oprf_status token_key_derive(const unsigned char seed[SECRET_BYTES], const char *key_id,
                                  long long unit_id, struct oprf_scalar *sk,
                                  struct oprf_element *pk)
{
    char info[sizeof key_info_prefix + TOKEN_KEY_ID_MAX + 32];
    if (strlen(key_id) > TOKEN_KEY_ID_MAX || unit_id < 0)
        return OPRF_ERR_ARGUMENT;
    int n = snprintf(info, sizeof info, "%s%s unit %lld", key_info_prefix, key_id, unit_id);
    if (n < 0 || (size_t)n >= sizeof info)
        return OPRF_ERR_ARGUMENT;
    return oprf_derive_key_pair(OPRF_MODE_VOPRF, seed, (const unsigned char *)info, (size_t)n,
                                sk, pk);
}

/* The keys loaded so far, by key id and unit (and master key): a stored
 * seed never changes, so neither does a key derived from it, and issuing
 * or redeeming then costs no round trip, decryption or derivation. A few
 * epochs are live at a time (the current one, the next, those in their
 * grace period), times the units in use; past TOKEN_KEY_CACHE keys the
 * oldest entry is replaced (a miss costs one read and one derivation). */
#define TOKEN_KEY_CACHE 256
static struct {
    pthread_mutex_t lock;
    size_t n, next;
    struct {
        char key_id[TOKEN_KEY_ID_MAX + 1];
        long long unit_id;
        unsigned char master[MASTER_KEY_BYTES];
        struct oprf_scalar sk;
        struct oprf_element pk;
    } e[TOKEN_KEY_CACHE];
} key_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool key_cache_get(const unsigned char master[MASTER_KEY_BYTES], const char *key_id,
                          long long unit_id, struct oprf_scalar *sk, struct oprf_element *pk)
{
    bool found = false;
    pthread_mutex_lock(&key_cache.lock);
    for (size_t i = 0; i < key_cache.n && !found; i++) {
        if (key_cache.e[i].unit_id == unit_id && !strcmp(key_cache.e[i].key_id, key_id) &&
            !sodium_memcmp(key_cache.e[i].master, master, MASTER_KEY_BYTES)) {
            *sk = key_cache.e[i].sk;
            *pk = key_cache.e[i].pk;
            found = true;
        }
    }
    pthread_mutex_unlock(&key_cache.lock);
    return found;
}

static void key_cache_put(const unsigned char master[MASTER_KEY_BYTES], const char *key_id,
                          long long unit_id, const struct oprf_scalar *sk,
                          const struct oprf_element *pk)
{
    pthread_mutex_lock(&key_cache.lock);
    {
        size_t i = key_cache.next;
        key_cache.next = (key_cache.next + 1) % TOKEN_KEY_CACHE;
        if (key_cache.n < TOKEN_KEY_CACHE)
            key_cache.n++;
        snprintf(key_cache.e[i].key_id, sizeof key_cache.e[i].key_id, "%s", key_id);
        key_cache.e[i].unit_id = unit_id;
        memcpy(key_cache.e[i].master, master, MASTER_KEY_BYTES);
        key_cache.e[i].sk = *sk;
        key_cache.e[i].pk = *pk;
    }
    pthread_mutex_unlock(&key_cache.lock);
}

/* The key pair of unit_id in key_id; create: make the epoch's seed if
 * there is none. */
static enum secret_status key_load(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                   const char *key_id, long long unit_id, bool create,
                                   struct oprf_scalar *sk, struct oprf_element *pk,
                                   enum db_status *st)
{
    if (strlen(key_id) <= TOKEN_KEY_ID_MAX && key_cache_get(master, key_id, unit_id, sk, pk)) {
        *st = DB_OK;
        return SECRET_OK;
    }
    char name[sizeof seed_name_prefix + TOKEN_KEY_ID_MAX];
    *st = DB_OK;
    if (strlen(key_id) > TOKEN_KEY_ID_MAX)
        return SECRET_BAD_NAME;
    snprintf(name, sizeof name, "%s%s", seed_name_prefix, key_id);
    unsigned char seed[SECRET_BYTES];
    enum secret_status ss = create ? secret_get_or_create(c, master, name, seed, st)
                                   : secret_get(c, master, name, seed, st);
    if (ss != SECRET_OK)
        return ss;
    enum oprf_status os = token_key_derive(seed, key_id, unit_id, sk, pk);
    sodium_memzero(seed, sizeof seed);
    if (os != OPRF_OK) {
        /* DeriveKeyPair fails with probability 2^-(256*252): a bug. */
        sodium_memzero(sk, sizeof *sk);
        log_msg(LOG_ERROR, "could not derive the token key %s of unit %lld: %s", key_id, unit_id,
                oprf_status_str(os));
        *st = DB_ERROR;
        return SECRET_DB_FAILED;
    }
    key_cache_put(master, key_id, unit_id, sk, pk);
    return SECRET_OK;
}

/* A consultation's key: its own seed, and in the key cache under a key id
 * no epoch has (so the two kinds never meet there). */
#define CONSULTATION_CACHE_ID "consult"
#define CONSULTATION_SEED_PREFIX "consultation-key:"
#define CONSULTATION_INFO_PREFIX "yijian consultation key "

enum secret_status consultation_key_load(struct db_conn *c,
                                         const unsigned char master[MASTER_KEY_BYTES],
                                         long long consultation_id, bool create,
                                         struct oprf_scalar *sk, struct oprf_element *pk,
                                         enum db_status *st)
{
    *st = DB_OK;
    if (key_cache_get(master, CONSULTATION_CACHE_ID, consultation_id, sk, pk))
        return SECRET_OK;
    char name[64], info[64];
    snprintf(name, sizeof name, "%s%lld", CONSULTATION_SEED_PREFIX, consultation_id);
    int n = snprintf(info, sizeof info, "%s%lld", CONSULTATION_INFO_PREFIX, consultation_id);
    unsigned char seed[SECRET_BYTES];
    enum secret_status ss = create ? secret_get_or_create(c, master, name, seed, st)
                                   : secret_get(c, master, name, seed, st);
    if (ss != SECRET_OK)
        return ss;
    enum oprf_status os = oprf_derive_key_pair(OPRF_MODE_VOPRF, seed, (const unsigned char *)info,
                                               (size_t)n, sk, pk);
    sodium_memzero(seed, sizeof seed);
    if (os != OPRF_OK) {
        sodium_memzero(sk, sizeof *sk);
        log_msg(LOG_ERROR, "could not derive the key of consultation %lld: %s", consultation_id,
                oprf_status_str(os));
        *st = DB_ERROR;
        return SECRET_DB_FAILED;
    }
    key_cache_put(master, CONSULTATION_CACHE_ID, consultation_id, sk, pk);
    return SECRET_OK;
}

enum secret_status token_key_load(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                  const char *key_id, long long unit_id, struct oprf_scalar *sk,
                                  struct oprf_element *pk, enum db_status *st)
{
    return key_load(c, master, key_id, unit_id, true, sk, pk, st);
}

/* The key ids registered by this process: registering is a write, done
 * once per key and process rather than per request. */
static struct {
    pthread_mutex_t lock;
    size_t next;
    char key_id[TOKEN_KEY_CACHE][TOKEN_KEY_ID_MAX + 1];
} registered = { .lock = PTHREAD_MUTEX_INITIALIZER };

enum db_status token_key_register(struct db_conn *c, const struct token_epoch *e)
{
    bool known = false;
    pthread_mutex_lock(&registered.lock);
    for (size_t i = 0; i < TOKEN_KEY_CACHE && !known; i++)
        known = !strcmp(registered.key_id[i], e->key_id);
    pthread_mutex_unlock(&registered.lock);
    if (known)
        return DB_OK;
    char nb[24], na[24], ru[24];
    snprintf(nb, sizeof nb, "%lld", e->not_before);
    snprintf(na, sizeof na, "%lld", e->not_after);
    snprintf(ru, sizeof ru, "%lld", e->redeem_until);
    const char *params[] = { e->key_id, nb, na, ru };
    enum db_status st = db_run(c, STMT_TOKEN_KEY_REGISTER, params, NULL);
    if (st != DB_OK)
        return st;
    pthread_mutex_lock(&registered.lock);
    snprintf(registered.key_id[registered.next], sizeof registered.key_id[0], "%s", e->key_id);
    registered.next = (registered.next + 1) % TOKEN_KEY_CACHE;
    pthread_mutex_unlock(&registered.lock);
    return DB_OK;
}

/* An epoch's times as token_key_get and token_keys_in_grace answer them. */
#define EPOCH_TIMES(e)                                                                    \
    DB_I64("not_before", &(e)->not_before), DB_I64("not_after", &(e)->not_after),         \
        DB_I64("redeem_until", &(e)->redeem_until)

enum secret_status token_key_redeemable(struct db_conn *c,
                                        const unsigned char master[MASTER_KEY_BYTES],
                                        const char *key_id, long long unit_id, long long now,
                                        struct oprf_scalar *sk, struct oprf_element *pk,
                                        enum db_status *st)
{
    const char *params[] = { key_id };
    struct token_epoch e = { .not_before = 0 };
    const struct db_field spec[] = { EPOCH_TIMES(&e), DB_END };
    int found = db_one(c, STMT_TOKEN_KEY_GET, params, spec, st);
    if (found < 0)
        return SECRET_DB_FAILED;
    if (!found || now < e.not_before || now >= e.redeem_until)
        return SECRET_NOT_FOUND;
    return key_load(c, master, key_id, unit_id, false, sk, pk, st);
}

struct grace_rows {
    struct token_epoch row, *out;
    int n, max;
};

static enum db_status grace_row(void *cls, size_t row)
{
    (void)row;
    struct grace_rows *g = cls;
    if (g->n < g->max) /* the rest are left out */
        g->out[g->n++] = g->row;
    return DB_OK;
}

int token_keys_in_grace(struct db_conn *c, long long now, struct token_epoch *out, int max,
                        enum db_status *st)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", now);
    const char *params[] = { t };
    struct grace_rows g = { .out = out, .max = max };
    const struct db_field spec[] = { DB_TEXT("key_id", g.row.key_id), EPOCH_TIMES(&g.row),
                                     DB_END };
    if (db_each(c, STMT_TOKEN_KEYS_IN_GRACE, params, spec, grace_row, &g, st) < 0)
        return -1;
    return g.n;
}

int token_keys_startup_check(const struct config *cfg)
{
    struct token_epoch now;
    if (!token_epoch_at(cfg->token_epoch_days, cfg->token_grace_days, (long long)time(NULL), &now))
        return 0;
    enum db_status st;
    struct db_conn *c = db_pool_acquire(&st);
    if (!c) {
        log_msg(LOG_WARN, "could not check the master key against the database now: "
                          "it is checked again when tokens are first issued");
        return 0;
    }
    struct oprf_scalar sk;
    struct oprf_element pk;
    /* Unit 0 is no unit: only the seed's sealing is being checked. */
    enum secret_status ss = token_key_load(c, cfg->master_key, now.key_id, 0, &sk, &pk, &st);
    sodium_memzero(&sk, sizeof sk);
    if (ss == SECRET_OK)
        token_key_register(c, &now);
    db_pool_release(c);
    if (ss == SECRET_WRONG_KEY) {
        log_msg(LOG_ERROR, "the master key does not open the secrets in this database: "
                           "start with the MASTER_KEY or MASTER_KEY_FILE it was set up with");
        return -1;
    }
    if (ss != SECRET_OK)
        log_msg(LOG_WARN, "could not check the master key against the database now: "
                          "it is checked again when tokens are first issued");
    return 0;
}
