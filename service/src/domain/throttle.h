/* Back-off for the doors that take guesses (sign-in, activation): a count
 * per key in login_throttle, taken before the guess is checked. */
#ifndef YIJIAN_DOMAIN_THROTTLE_H
#define YIJIAN_DOMAIN_THROTTLE_H

#include "db/db.h"

/* The longest lock any key gets, in seconds (docs/security.md). */
#define THROTTLE_MAX_LOCK_SECONDS 900

/* A key: door ("login:", "activate:", "addr:", "activate-addr:") followed
 * by the subject, folded by the database as it folds logins; limit is the
 * attempts an hour before the back-off starts, as decimal text. */
struct throttle_key {
    const char *door;
    const char *subject;
    const char *limit;
};

/*
 * Counts one attempt against k, atomically, unless k is locked: *wait is 0
 * when the attempt was counted and may be checked, else the seconds still
 * to wait (nothing counted). The statement runs on its own (autocommit) or
 * inside the caller's transaction.
 */
enum db_status throttle_take(struct db_conn *c, const struct throttle_key *k, int *wait);

/* Gives back the count of an attempt that was right (an address's count:
 * one person's success must not spend the room of others behind the same
 * address), with the lock that count set. */
enum db_status throttle_refund(struct db_conn *c, const struct throttle_key *k);

/* Forgets k (a login's count after its owner got in). */
enum db_status throttle_clear(struct db_conn *c, const struct throttle_key *k);

#endif
