/* The member client's state: one directory (mode 0700) holding the session
 * token and the unspent anonymity tokens, each file mode 0600 and replaced
 * atomically (temporary file, fsync, rename), so that a crash or a full
 * disk leaves the old file or the new one, never half of either. */
#ifndef YIJIAN_CLIENT_STATE_H
#define YIJIAN_CLIENT_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define STATE_SESSION_FILE "session"
#define STATE_TOKENS_FILE "tokens.json"
#define STATE_KEYS_FILE "keys.json"
#define STATE_LOCK_FILE "lock"
#define STATE_OUTBOX_FILE "outbox.json"   /* anonymous acts waiting for their moment */
#define STATE_SERVICE_FILE "service.json" /* what the service publishes: its release window */
#define STATE_OWNER_FILE "owner"          /* the account the state belongs to */
#define STATE_MAX_FILE_BYTES (4 * 1024 * 1024) /* a file larger than this is refused */
#define STATE_MAX_TOKENS 10000                  /* entries of tokens.json */
#define STATE_TOKEN_INPUT_B64 43                /* 32 bytes, base64url without padding */
#define STATE_TOKEN_OUTPUT_B64 86               /* 64 bytes */
#define STATE_KEY_ID_MAX 64

enum state_status {
    STATE_OK = 0,
    STATE_NOT_FOUND, /* the file does not exist (not an error for the caller to print) */
    STATE_ERROR,     /* err holds a message naming the file */
};

/* An open state directory. Fields are private to state.c. */
struct member_state {
    char *dir;   /* owned */
    int lock_fd; /* -1 unless state_lock() holds the lock */
};

/*
 * The directory to use: option (from --state) if not NULL, else the
 * environment variable YIJIAN_MEMBER_STATE if set and not empty, else
 * ~/.yijian. Returns a new string (caller frees), or NULL with err set.
 */
char *state_dir_choose(const char *option, char *err, size_t errlen);

/*
 * Opens dir, creating it with mode 0700 when it does not exist (its parent
 * must). Refuses a path that is not a directory, is owned by another user,
 * or gives group or others any access. On failure returns -1 with err set
 * and st left empty (state_close() on it is still safe).
 */
int state_open(struct member_state *st, const char *dir, char *err, size_t errlen);

/* Releases the lock if held (state_lock() may take it again). */
void state_unlock(struct member_state *st);

/* Releases the lock if held and frees st's memory; safe on a zeroed or
 * half-opened st. */
void state_close(struct member_state *st);

/*
 * Takes an exclusive lock on the directory (flock on its "lock" file),
 * waiting for another command that holds it, so that two commands do not
 * both read tokens.json and each write back their own copy. Released by
 * state_close() or at exit.
 */
int state_lock(struct member_state *st, char *err, size_t errlen);

/*
 * Reads the file name of the directory. Returns STATE_NOT_FOUND when it
 * does not exist; STATE_ERROR when it is not a regular file (symbolic
 * links are not followed), is larger than STATE_MAX_FILE_BYTES, or gives
 * group or others any access. On STATE_OK *data is a new NUL-terminated
 * buffer of *len bytes; the caller wipes (it may hold secrets) and frees it.
 */
enum state_status state_read(const struct member_state *st, const char *name, char **data,
                             size_t *len, char *err, size_t errlen);

/*
 * Replaces the file name with len bytes of data, mode 0600: written to a
 * temporary file in the same directory, flushed to disk, renamed over the
 * old one, and the directory flushed. On failure the old file is intact
 * and no temporary file is left behind.
 */
int state_write(const struct member_state *st, const char *name, const void *data, size_t len,
                char *err, size_t errlen);

/* ---- values -------------------------------------------------------------- */

/* Strict base64url without padding of exactly outlen bytes (one spelling per
 * value: no white space, no padding, no stray trailing bits): the encoding
 * of every binary value in the state files and in the token protocol. */
bool state_b64_decode(const char *s, size_t slen, unsigned char *out, size_t outlen);

/* A key id as the service makes them ("2026-11", "2026-11-05"): 1 to
 * STATE_KEY_ID_MAX characters of [A-Za-z0-9._-]. */
bool state_key_id_valid(const char *s);

/* ---- the files ----------------------------------------------------------- */

/* The session token (43 characters of base64url), or STATE_NOT_FOUND when
 * the member has not signed in. out holds 44 bytes. */
enum state_status state_session_load(const struct member_state *st, char out[44], char *err,
                                     size_t errlen);
int state_session_save(const struct member_state *st, const char *token, char *err,
                       size_t errlen);

/*
 * The unspent tokens: a JSON array of objects {key_id, input, output} and
 * optionally redeem_until (RFC 3339, from the key list at issuance), input
 * and output 32 and 64 bytes as base64url without padding. A missing file
 * is an empty array. Returns a new reference (caller json_decref()s), or
 * NULL with err set when the file cannot be read or any entry is malformed.
 */
json_t *state_tokens_load(const struct member_state *st, char *err, size_t errlen);

/* Writes tokens (which must pass state_token_valid, each) as tokens.json. */
int state_tokens_save(const struct member_state *st, json_t *tokens, char *err, size_t errlen);

/* True when t is a well-formed entry of tokens.json. */
bool state_token_valid(const json_t *t);

/*
 * The public keys this client has seen, as an object key_id -> public key
 * (base64url), so that a service that shows this member another key for
 * an epoch it already showed (which could tag the member's tokens) is
 * noticed. A missing file is an empty object. New reference, or NULL with
 * err set.
 */
json_t *state_keys_load(const struct member_state *st, char *err, size_t errlen);
int state_keys_save(const struct member_state *st, json_t *keys, char *err, size_t errlen);

/*
 * Any JSON document of the directory, which must be of type want; a
 * missing file is a new empty one. New reference (caller json_decref()s),
 * or NULL with err set. state_json_save writes it as state_write does.
 */
json_t *state_json_load(const struct member_state *st, const char *name, json_type want,
                        char *err, size_t errlen);
int state_json_save(const struct member_state *st, const char *name, json_t *doc, char *err,
                    size_t errlen);

/*
 * Removes every file one login keeps here (session, tokens, key pins,
 * outbox, the service's window, the owner), so that the next login on
 * this machine finds nothing of the one before. Missing files are no
 * error. Returns 0, or -1 with err set naming the file left behind.
 */
int state_erase(const struct member_state *st, char *err, size_t errlen);

#endif
