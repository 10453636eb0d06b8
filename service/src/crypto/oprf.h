/* RFC 9497 oblivious pseudorandom functions (OPRF, VOPRF, POPRF modes) for
 * the ciphersuite ristretto255-SHA512, on libsodium's ristretto255. */
#ifndef YIJIAN_CRYPTO_OPRF_H
#define YIJIAN_CRYPTO_OPRF_H

#include <stdbool.h>
#include <stddef.h>

#define OPRF_ELEMENT_BYTES 32
#define OPRF_SCALAR_BYTES 32
#define OPRF_PROOF_BYTES 64  /* c || s */
#define OPRF_OUTPUT_BYTES 64 /* SHA-512 */
#define OPRF_SEED_BYTES 32
#define OPRF_CONTEXT_STRING_BYTES 28 /* "OPRFV1-" || mode || "-ristretto255-SHA512" */
#define OPRF_MAX_INPUT_BYTES 65535   /* inputs and info carry a 2-byte length */
#define OPRF_MAX_BATCH 64            /* elements per BlindEvaluate / Finalize call */
#define OPRF_XMD_MAX_BYTES (255 * 64) /* RFC 9380: at most 255 SHA-512 blocks */

enum oprf_mode { OPRF_MODE_OPRF = 0, OPRF_MODE_VOPRF = 1, OPRF_MODE_POPRF = 2 };

/* The RFC's errors, plus OPRF_ERR_ARGUMENT for what the RFC leaves to the
 * caller: an unknown mode, a length or batch size past the limits above. */
enum oprf_status {
    OPRF_OK = 0,
    OPRF_ERR_ARGUMENT,
    OPRF_ERR_INVALID_INPUT,   /* InvalidInputError: input or tweaked key is the identity */
    OPRF_ERR_DESERIALIZE,     /* DeserializeError: wrong length, bad encoding, identity, s >= L */
    OPRF_ERR_VERIFY,          /* VerifyError: the proof does not hold */
    OPRF_ERR_DERIVE_KEY_PAIR, /* DeriveKeyPairError: 256 tries gave the zero scalar */
    OPRF_ERR_INVERSE,         /* InverseError: a scalar to invert is zero */
};

/*
 * A group element in its canonical 32-byte encoding. Values that come from
 * outside must go through oprf_element_deserialize, which guarantees a valid
 * encoding that is not the identity; functions still refuse bad ones.
 */
struct oprf_element {
    unsigned char bytes[OPRF_ELEMENT_BYTES];
};

/* A scalar, 32 bytes little-endian, below the group order L. */
struct oprf_scalar {
    unsigned char bytes[OPRF_SCALAR_BYTES];
};

/* A batched DLEQ proof; serialized as c || s. */
struct oprf_proof {
    struct oprf_scalar c, s;
};

/* A client input (or POPRF info): borrowed bytes, at most
 * OPRF_MAX_INPUT_BYTES long. */
struct oprf_input {
    const unsigned char *data;
    size_t len;
};

/* A short English name for st ("verify error"); static storage. */
const char *oprf_status_str(enum oprf_status st);

/* ---- building blocks ---------------------------------------------------- */

/*
 * RFC 9380 §5.3.1 expand_message_xmd with SHA-512: out_len uniform bytes
 * from msg under the domain separation tag dst. A dst longer than 255 bytes
 * is replaced by SHA-512("H2C-OVERSIZE-DST-" || dst) (§5.3.3). Refuses
 * (OPRF_ERR_ARGUMENT) out_len of 0 or above OPRF_XMD_MAX_BYTES and an empty
 * dst (§3.1: tags must not be empty).
 */
enum oprf_status oprf_expand_message_xmd(unsigned char *out, size_t out_len,
                                         const unsigned char *msg, size_t msg_len,
                                         const unsigned char *dst, size_t dst_len);

/* Writes "OPRFV1-" || I2OSP(mode, 1) || "-ristretto255-SHA512". */
enum oprf_status oprf_context_string(enum oprf_mode mode,
                                     unsigned char out[OPRF_CONTEXT_STRING_BYTES]);

/*
 * HashToGroup: ristretto255 from_hash of 64 bytes of expand_message_xmd
 * under "HashToGroup-" || contextString. OPRF_ERR_INVALID_INPUT when msg
 * maps to the identity, which no element of this API may be.
 */
enum oprf_status oprf_hash_to_group(enum oprf_mode mode, const unsigned char *msg,
                                    size_t msg_len, struct oprf_element *out);

/* HashToScalar: 64 bytes of expand_message_xmd under
 * "HashToScalar-" || contextString, reduced mod L. */
enum oprf_status oprf_hash_to_scalar(enum oprf_mode mode, const unsigned char *msg,
                                     size_t msg_len, struct oprf_scalar *out);

/* ---- serialization ------------------------------------------------------ */

/* OPRF_ERR_DESERIALIZE unless buf is 32 bytes encoding a valid element
 * other than the identity. */
enum oprf_status oprf_element_deserialize(struct oprf_element *out, const unsigned char *buf,
                                          size_t len);

/* OPRF_ERR_DESERIALIZE unless buf is 32 bytes holding a scalar below L. */
enum oprf_status oprf_scalar_deserialize(struct oprf_scalar *out, const unsigned char *buf,
                                         size_t len);

/* OPRF_ERR_DESERIALIZE unless buf is 64 bytes, c || s, both below L. */
enum oprf_status oprf_proof_deserialize(struct oprf_proof *out, const unsigned char *buf,
                                        size_t len);

void oprf_proof_serialize(const struct oprf_proof *proof, unsigned char out[OPRF_PROOF_BYTES]);

/* Constant-time equality of two outputs, for redeeming tokens. */
bool oprf_output_equal(const unsigned char a[OPRF_OUTPUT_BYTES],
                       const unsigned char b[OPRF_OUTPUT_BYTES]);

/* ---- keys --------------------------------------------------------------- */

/* GenerateKeyPair (§3.2): a fresh random key pair. */
void oprf_generate_key_pair(struct oprf_scalar *sk, struct oprf_element *pk);

/*
 * DeriveKeyPair (§3.2.1): the key pair for seed and info in this mode (the
 * mode is part of the derivation). info may be NULL when info_len is 0.
 * The caller wipes sk when done with it.
 */
enum oprf_status oprf_derive_key_pair(enum oprf_mode mode, const unsigned char seed[OPRF_SEED_BYTES],
                                      const unsigned char *info, size_t info_len,
                                      struct oprf_scalar *sk, struct oprf_element *pk);

/* ---- OPRF and VOPRF (mode OPRF_MODE_OPRF or OPRF_MODE_VOPRF) ------------- */

/*
 * Client Blind: blinded = blind * HashToGroup(input). The blind is fresh
 * and random unless fixed_blind is given (tests only: reusing a blind links
 * requests). The caller keeps blind secret and wipes it after Finalize.
 */
enum oprf_status oprf_blind(enum oprf_mode mode, const struct oprf_input *input,
                            const struct oprf_scalar *fixed_blind, struct oprf_scalar *blind,
                            struct oprf_element *blinded);

/* Server BlindEvaluate, OPRF mode: evaluated = sk * blinded. */
enum oprf_status oprf_blind_evaluate(const struct oprf_scalar *sk,
                                     const struct oprf_element *blinded,
                                     struct oprf_element *evaluated);

/* Client Finalize, OPRF mode (no proof): output = Hash(len || input ||
 * len || blind^-1 * evaluated || "Finalize"). */
enum oprf_status oprf_finalize(const struct oprf_input *input, const struct oprf_scalar *blind,
                               const struct oprf_element *evaluated,
                               unsigned char output[OPRF_OUTPUT_BYTES]);

/*
 * Server BlindEvaluate, VOPRF mode, for a batch of n (1..OPRF_MAX_BATCH)
 * blinded elements: evaluated[i] = sk * blinded[i] and one batched DLEQ
 * proof that all of them used the key whose public half is sk * G. The
 * proof randomness is fresh unless fixed_r is given (tests only: a reused r
 * reveals sk).
 */
enum oprf_status oprf_voprf_blind_evaluate(const struct oprf_scalar *sk, size_t n,
                                           const struct oprf_element blinded[],
                                           struct oprf_element evaluated[],
                                           struct oprf_proof *proof,
                                           const struct oprf_scalar *fixed_r);

/*
 * Client Finalize, VOPRF mode, for a batch of n: verifies the batched proof
 * against pk (OPRF_ERR_VERIFY if it fails), then finalizes each input with
 * its blind and evaluated element. On any error all n outputs are zeroed,
 * so that none is kept from a batch that failed.
 */
enum oprf_status oprf_voprf_finalize(size_t n, const struct oprf_input inputs[],
                                     const struct oprf_scalar blinds[],
                                     const struct oprf_element evaluated[],
                                     const struct oprf_element blinded[],
                                     const struct oprf_element *pk, const struct oprf_proof *proof,
                                     unsigned char outputs[][OPRF_OUTPUT_BYTES]);

/*
 * Server Evaluate (OPRF or VOPRF mode): the output a client holding a token
 * for input must present, computed without blinding. Compare with
 * oprf_output_equal.
 */
enum oprf_status oprf_evaluate(enum oprf_mode mode, const struct oprf_scalar *sk,
                               const struct oprf_input *input,
                               unsigned char output[OPRF_OUTPUT_BYTES]);

/*
 * ComputeComposites (§2.2.1, the verifier's form): M = sum d_i * C[i] and
 * Z = sum d_i * D[i] with the d_i drawn from B, C and D. Exposed so that
 * tests can check the RFC's intermediate values.
 */
enum oprf_status oprf_compute_composites(enum oprf_mode mode, const struct oprf_element *B,
                                         size_t n, const struct oprf_element C[],
                                         const struct oprf_element D[], struct oprf_element *M,
                                         struct oprf_element *Z);

/* ---- POPRF (partially oblivious: public info bound into the key) --------- */

/*
 * Client Blind, POPRF mode: as oprf_blind, and also the tweaked key
 * pk + HashToScalar("Info" || len || info) * G that Finalize checks the
 * proof against.
 */
enum oprf_status oprf_poprf_blind(const struct oprf_input *input, const struct oprf_input *info,
                                  const struct oprf_element *pk,
                                  const struct oprf_scalar *fixed_blind, struct oprf_scalar *blind,
                                  struct oprf_element *blinded, struct oprf_element *tweaked_key);

/* Server BlindEvaluate, POPRF mode, for a batch of n: evaluated[i] =
 * (sk + m)^-1 * blinded[i] with one batched proof; fixed_r as above. */
enum oprf_status oprf_poprf_blind_evaluate(const struct oprf_scalar *sk,
                                           const struct oprf_input *info, size_t n,
                                           const struct oprf_element blinded[],
                                           struct oprf_element evaluated[],
                                           struct oprf_proof *proof,
                                           const struct oprf_scalar *fixed_r);

/* Client Finalize, POPRF mode, for a batch of n sharing one info. */
enum oprf_status oprf_poprf_finalize(size_t n, const struct oprf_input inputs[],
                                     const struct oprf_scalar blinds[],
                                     const struct oprf_element evaluated[],
                                     const struct oprf_element blinded[],
                                     const struct oprf_input *info,
                                     const struct oprf_element *tweaked_key,
                                     const struct oprf_proof *proof,
                                     unsigned char outputs[][OPRF_OUTPUT_BYTES]);

/* Server Evaluate, POPRF mode. */
enum oprf_status oprf_poprf_evaluate(const struct oprf_scalar *sk, const struct oprf_input *input,
                                     const struct oprf_input *info,
                                     unsigned char output[OPRF_OUTPUT_BYTES]);

#endif
