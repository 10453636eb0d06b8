/* Holding anonymous acts until their window ends, and releasing them all
 * together (domain/release.h; docs/threat-model.md says why). */
#include "domain/release.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"
#include "db/statements.h"
#include "util/hex.h"
#include "util/log.h"

#define SEAL_NAME "held-act"
#define LOOKUP_CONTEXT "yijian held act lookup"

long long release_window_end(unsigned window, long long now)
{
    if (window == 0)
        return now;
    long long w = (long long)window;
    return (now / w + 1) * w;
}

void release_lookup(const unsigned char master[MASTER_KEY_BYTES], const char *code_hash_hex,
                    char out[RELEASE_LOOKUP_HEX])
{
    unsigned char key[32], digest[32];
    crypto_generichash(key, sizeof key, (const unsigned char *)LOOKUP_CONTEXT,
                       sizeof LOOKUP_CONTEXT - 1, master, MASTER_KEY_BYTES);
    crypto_generichash(digest, sizeof digest, (const unsigned char *)code_hash_hex,
                       strlen(code_hash_hex), key, sizeof key);
    sodium_memzero(key, sizeof key);
    sodium_bin2hex(out, RELEASE_LOOKUP_HEX, digest, sizeof digest);
}

void release_seal(const unsigned char master[MASTER_KEY_BYTES], const char *json, size_t len,
                  unsigned char nonce[SECRET_NONCE_BYTES], unsigned char *out)
{
    secret_seal_bytes(master, SEAL_NAME, (const unsigned char *)json, len, nonce, out);
}

char *release_open(const unsigned char master[MASTER_KEY_BYTES],
                   const unsigned char nonce[SECRET_NONCE_BYTES], const unsigned char *sealed,
                   size_t len)
{
    if (len < crypto_secretbox_MACBYTES)
        return NULL;
    size_t n = len - crypto_secretbox_MACBYTES;
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    if (!secret_open_bytes(master, SEAL_NAME, nonce, sealed, len, (unsigned char *)text)) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

static char *hex_of(const unsigned char *bin, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (h)
        sodium_bin2hex(h, 2 * n + 1, bin, n);
    return h;
}

enum db_status release_hold(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                            unsigned window, const char *lookup_hex, json_t *act,
                            long long *release_at)
{
    char *text = json_dumps(act, JSON_COMPACT);
    if (!text)
        return DB_ERROR;
    size_t len = strlen(text);
    if (len > RELEASE_ACT_MAX_BYTES) {
        sodium_memzero(text, len);
        free(text);
        return DB_ERROR;
    }
    unsigned char id[16], nonce[SECRET_NONCE_BYTES];
    unsigned char *sealed = malloc(len + crypto_secretbox_MACBYTES);
    if (!sealed) {
        free(text);
        return DB_ERROR;
    }
    randombytes_buf(id, sizeof id);
    release_seal(master, text, len, nonce, sealed);
    sodium_memzero(text, len);
    free(text);

    *release_at = release_window_end(window, (long long)time(NULL));
    char id_hex[33], nonce_hex[2 * SECRET_NONCE_BYTES + 1], at[24];
    sodium_bin2hex(id_hex, sizeof id_hex, id, sizeof id);
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    snprintf(at, sizeof at, "%lld", *release_at);
    char *sealed_hex = hex_of(sealed, len + crypto_secretbox_MACBYTES);
    free(sealed);
    if (!sealed_hex)
        return DB_ERROR;
    const char *params[] = { id_hex, at, lookup_hex, nonce_hex, sealed_hex };
    enum db_status st = db_run(c, STMT_HELD_INSERT, params, NULL);
    free(sealed_hex);
    return st;
}

/* A held row as read: its nonce and sealed act in hex, borrowed for the
 * row's callback. */
struct held_row {
    const unsigned char *master;
    const char *nonce_hex, *sealed_hex;
    long long release_at;
};
#define HELD_SEALED(h) DB_TEXT_REF("nonce", &(h)->nonce_hex), DB_TEXT_REF("sealed", &(h)->sealed_hex)

/* The act of a held row, or NULL when it does not open. */
static json_t *open_row(const struct held_row *h)
{
    const char *nonce_hex = h->nonce_hex, *sealed_hex = h->sealed_hex;
    const unsigned char *master = h->master;
    size_t len = strlen(sealed_hex) / 2;
    unsigned char nonce[SECRET_NONCE_BYTES];
    unsigned char *sealed = malloc(len ? len : 1);
    json_t *act = NULL;
    if (sealed && hex_to_bytes(nonce_hex, nonce, sizeof nonce) && hex_to_bytes(sealed_hex, sealed, len)) {
        char *text = release_open(master, nonce, sealed, len);
        if (text) {
            act = json_loads(text, 0, NULL);
            sodium_memzero(text, strlen(text));
            free(text);
        }
    }
    free(sealed);
    if (act && !json_is_object(act)) {
        json_decref(act);
        act = NULL;
    }
    return act;
}

struct held_list {
    struct held_row h;
    json_t *list;
};

static enum db_status held_listed(void *cls, size_t row)
{
    (void)row;
    struct held_list *l = cls;
    json_t *act = open_row(&l->h);
    if (act) {
        json_object_set_new(act, "release_at", json_integer(l->h.release_at));
        json_array_append_new(l->list, act);
    }
    return DB_OK;
}

json_t *release_held(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                     const char *lookup_hex, enum db_status *st)
{
    const char *params[] = { lookup_hex };
    struct held_list l = { .h = { .master = master }, .list = json_array() };
    const struct db_field spec[] = { DB_I64("release_at", &l.h.release_at), HELD_SEALED(&l.h),
                                     DB_END };
    if (!l.list) {
        *st = DB_ERROR;
        return NULL;
    }
    if (db_each(c, STMT_HELD_BY_LOOKUP, params, spec, held_listed, &l, st) < 0) {
        json_decref(l.list);
        return NULL;
    }
    return l.list;
}

static long long seq_of(json_t *act)
{
    return (long long)json_integer_value(json_object_get(act, "seq"));
}

/* The acts of one chain (the same "chain" string: one tracking code's)
 * take the places the shuffle gave them, but in the order of their
 * "seq": a rating before the reopen it allows. Acts of other chains, and
 * those of none, stay where the shuffle put them. */
static void keep_chains(json_t **acts, int n)
{
    int *at = malloc((size_t)n * sizeof *at);
    json_t **mine = malloc((size_t)n * sizeof *mine);
    bool *done = calloc((size_t)n, sizeof *done);
    if (!at || !mine || !done)
        goto out; /* the shuffle's order: a dependent act may be dropped */
    for (int k = 0; k < n; k++) {
        const char *chain = json_string_value(json_object_get(acts[k], "chain"));
        if (!chain || done[k])
            continue;
        int m = 0;
        for (int j = k; j < n; j++) {
            const char *cj = json_string_value(json_object_get(acts[j], "chain"));
            if (cj && !strcmp(cj, chain)) {
                at[m] = j;
                mine[m++] = acts[j];
                done[j] = true;
            }
        }
        /* insertion sort by seq: a chain is a handful of acts */
        for (int i = 1; i < m; i++) {
            json_t *x = mine[i];
            int j = i - 1;
            for (; j >= 0 && seq_of(mine[j]) > seq_of(x); j--)
                mine[j + 1] = mine[j];
            mine[j + 1] = x;
        }
        for (int i = 0; i < m; i++)
            acts[at[i]] = mine[i];
    }
out:
    free(at);
    free(mine);
    free(done);
}

/* The acts taken by held_due, opened (NULL: one that does not open). */
struct held_due {
    struct held_row h;
    json_t **acts;
    int n, size;
};

static enum db_status held_taken(void *cls, size_t row)
{
    (void)row;
    struct held_due *d = cls;
    if (d->n == d->size) {
        int size = d->size ? 2 * d->size : 16;
        json_t **more = realloc(d->acts, (size_t)size * sizeof *more);
        if (!more)
            return DB_ERROR;
        d->acts = more;
        d->size = size;
    }
    d->acts[d->n++] = open_row(&d->h);
    return DB_OK;
}

enum db_status release_pass(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                            release_replay_fn replay, void *arg, struct release_result *out)
{
    memset(out, 0, sizeof *out);
    enum db_status st = db_try_lock(c, STMT_RELEASE_LOCK, &out->locked);
    if (st != DB_OK || !out->locked)
        return st;

    struct held_due d = { .h = { .master = master } };
    const struct db_field spec[] = { HELD_SEALED(&d.h), DB_END };
    if (db_each(c, STMT_HELD_DUE, NULL, spec, held_taken, &d, &st) < 0) {
        for (int k = 0; k < d.n; k++)
            json_decref(d.acts[k]);
        free(d.acts);
        return st;
    }
    int n = d.n;
    json_t **acts = d.acts;
    if (n == 0) {
        free(acts);
        return DB_OK;
    }
    /* A random order (Fisher-Yates over the rows): ids and the order of
     * the rows written say nothing of the order the acts arrived in. */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)randombytes_uniform((uint32_t)i + 1);
        json_t *t = acts[i];
        acts[i] = acts[j];
        acts[j] = t;
    }
    keep_chains(acts, n);
    st = DB_OK;
    for (int k = 0; k < n && st == DB_OK; k++) {
        json_t *act = acts[k];
        if (!act) {
            /* Sealed under another master key, or damaged: it can never be
             * released, and keeping it would stall nothing; drop it. */
            out->dropped++;
        } else {
            /* Each act under a savepoint: one refused at release (a message
             * to a suggestion withdrawn meanwhile) is undone alone and
             * dropped; it had its answer at arrival. */
            st = db_exec_script(c, "SAVEPOINT held_act");
            if (st == DB_OK)
                st = replay(c, act, arg);
            if (st == DB_OK) {
                out->released++;
            } else if (st == DB_ABORT) {
                out->dropped++;
                st = db_exec_script(c, "ROLLBACK TO SAVEPOINT held_act");
            }
        }
    }
    for (int k = 0; k < n; k++)
        json_decref(acts[k]);
    free(acts);
    return st;
}
