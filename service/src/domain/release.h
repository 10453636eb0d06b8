/* The release window of anonymous acts (docs/threat-model.md): an act is
 * held, sealed, in held_acts until the end of the window it arrived in,
 * then replayed with every other act of that window, in a random order and
 * in one transaction, by the jobs thread of whichever instance takes the
 * lock first. Windows are fixed: multiples of ANON_RELEASE_WINDOW seconds
 * since 1970-01-01T00:00:00Z. */
#ifndef YIJIAN_DOMAIN_RELEASE_H
#define YIJIAN_DOMAIN_RELEASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/secrets.h"
#include "db/db.h"

#define RELEASE_LOOKUP_HEX 65 /* 32 bytes as hex, with the NUL */
/* The largest act held (its JSON): a suggestion's title and body fit. */
#define RELEASE_ACT_MAX_BYTES (256 * 1024 - 64)

/* The end of the window holding now: the next multiple of window after
 * now (now itself on a boundary belongs to the window it starts). */
long long release_window_end(unsigned window, long long now);

/*
 * The lookup of the acts a tracking code holds: BLAKE2b-256 of the code's
 * stored hash (tracking_code_hash, hex), keyed with a key derived from the
 * master key. Without the master key a held act cannot be tied to a
 * tracking_codes row; without the code, not even with it.
 */
void release_lookup(const unsigned char master[MASTER_KEY_BYTES], const char *code_hash_hex,
                    char out[RELEASE_LOOKUP_HEX]);

/*
 * Holds act (a JSON object with a "kind") until the end of the current
 * window: sealed under the master key, inserted into held_acts with
 * lookup. Runs inside the caller's transaction (the one that spends the
 * token, so that a double spend is refused at arrival). *release_at gets
 * the window's end (Unix seconds).
 */
enum db_status release_hold(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                            unsigned window, const char *lookup_hex, json_t *act,
                            long long *release_at);

/*
 * The acts held under lookup_hex, oldest window first, as a new array of
 * the opened acts, each with "release_at" (Unix seconds) added; NULL on a
 * database failure (*st says which). Acts that do not open are left out.
 */
json_t *release_held(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                     const char *lookup_hex, enum db_status *st);

/*
 * Replays one released act inside the release's transaction. DB_OK when
 * done, DB_ABORT when refused (a message to a suggestion withdrawn
 * meanwhile: its writes are rolled back to a savepoint and it is
 * dropped; it had its answer at arrival); any other status fails the
 * whole release, which the next pass tries again.
 */
typedef enum db_status (*release_replay_fn)(struct db_conn *c, json_t *act, void *arg);

struct release_result {
    bool locked;  /* this instance held the release lock */
    int released; /* acts replayed */
    int dropped;  /* acts that did not open, or were refused at release */
};

/*
 * One release pass, to be run in its own transaction (db_transaction): if
 * another instance holds the release lock, nothing; else every act whose
 * window has ended, in a random order, through replay, then deleted.
 * Acts that carry the same "chain" (a string: the lookup of one tracking
 * code) keep the order of their "seq" (an integer) among the places the
 * shuffle gave them, so that a rating comes before the reopen it allows;
 * the order across chains, and of acts without one, stays random.
 *
 * A new kind of act (a consultation's anonymous answer, say) needs: a
 * "kind" name of its own in the sealed JSON, a holder that checks at
 * arrival what can be decided then and calls release_hold inside the
 * transaction that spends its token, and a case in the replay function
 * that takes it through the immediate path's own domain function
 * (DB_ABORT when refused at release).
 */
enum db_status release_pass(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                            release_replay_fn replay, void *arg, struct release_result *out);

/* Sealing, exposed for the unit test: out receives len + 16 bytes. */
void release_seal(const unsigned char master[MASTER_KEY_BYTES], const char *json, size_t len,
                  unsigned char nonce[SECRET_NONCE_BYTES], unsigned char *out);
/* A new string (caller free()s) or NULL when it does not open. */
char *release_open(const unsigned char master[MASTER_KEY_BYTES],
                   const unsigned char nonce[SECRET_NONCE_BYTES], const unsigned char *sealed,
                   size_t len);

#endif
