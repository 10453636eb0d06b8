/* Random secrets handed to people (session tokens, activation codes) and
 * the hashes under which the database keeps them. */
#ifndef YIJIAN_CRYPTO_TOKENS_H
#define YIJIAN_CRYPTO_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_CHARS 43          /* 256 bits, base64url without padding */
#define ACTIVATION_CODE_CHARS 14 /* three groups of four symbols of 32, dashed: 60 bits */
#define HASH_HEX_CHARS 64
#define TRACKING_CODE_CHARS 26 /* 128 bits in Crockford base32 */

#include "crypto/oprf.h"

/* Crockford's base32 alphabet (no I, L, O, U): the symbols of every code
 * and id a person reads or types. */
extern const char crockford32[33];

/* A new session token: 256 random bits as base64url. out holds 44 bytes. */
void token_new(char out[TOKEN_CHARS + 1]);

/* True when s looks like a token (length and alphabet). */
bool token_well_formed(const char *s);

/* BLAKE2b-256 of s as lowercase hex (65 bytes with NUL): what is stored. */
void secret_hash_hex(const char *s, char out[HASH_HEX_CHARS + 1]);

/* A new activation code, easy to read aloud and type on a phone:
 * Crockford base32 (no I, L, O, U), grouped by dashes. */
void activation_code_new(char out[ACTIVATION_CODE_CHARS + 1]);

/*
 * Canonical form of a typed code: dashes and spaces dropped, lowercase
 * raised, the look-alikes O->0 and I/L->1 mapped. Returns false when what
 * is left is not 12 symbols of the alphabet. out holds 13 bytes.
 */
bool activation_code_normalise(const char *in, char out[13]);

/*
 * The tracking code of the suggestion an anonymity token paid for:
 * BLAKE2b-128 keyed with "yijian tracking code" over the token's OPRF
 * output, in Crockford base32. The token's holder can recompute it; the
 * service keeps only its hash.
 */
void tracking_code_from_output(const unsigned char output[OPRF_OUTPUT_BYTES],
                               char out[TRACKING_CODE_CHARS + 1]);

/* Normalises a presented code (case, dashes, spaces, look-alikes) and
 * hashes it; false when it cannot be a code. */
bool tracking_code_hash(const char *presented, char hex[65]);

#endif
