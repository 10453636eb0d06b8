/* RFC 9497 OPRF, VOPRF and POPRF for ristretto255-SHA512, assembled from
 * libsodium's ristretto255 and SHA-512: hash-to-group, DLEQ proofs, modes. */
#include "crypto/oprf.h"

#include <sodium.h>
#include <string.h>

#define HASH_BYTES crypto_hash_sha512_BYTES /* 64 */
#define XMD_BLOCK_BYTES 128                 /* SHA-512 input block: the Z_pad length */
#define XMD_MAX_DST_BYTES 255
#define DST_MAX_BYTES (13 + OPRF_CONTEXT_STRING_BYTES) /* longest label + context */

/* The group order L = 2^252 + 27742317777372353535851937790883648493,
 * little-endian. */
static const unsigned char group_order[OPRF_SCALAR_BYTES] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

const char *oprf_status_str(enum oprf_status st)
{
    switch (st) {
    case OPRF_OK: return "ok";
    case OPRF_ERR_ARGUMENT: return "argument out of range";
    case OPRF_ERR_INVALID_INPUT: return "invalid input";
    case OPRF_ERR_DESERIALIZE: return "deserialize error";
    case OPRF_ERR_VERIFY: return "verify error";
    case OPRF_ERR_DERIVE_KEY_PAIR: return "derive key pair error";
    case OPRF_ERR_INVERSE: return "inverse error";
    }
    return "unknown error";
}

/* ==== byte strings ======================================================= */

/* Pieces of a message, hashed in order without being copied together:
 * inputs and info may be 64 KiB, too much for the stack. */
struct part {
    const void *p;
    size_t n;
};

static void put_u16(unsigned char out[2], size_t v)
{
    out[0] = (unsigned char)(v >> 8);
    out[1] = (unsigned char)v;
}

/* Skips empty pieces so that a NULL pointer never reaches libsodium. */
static void sha_update(crypto_hash_sha512_state *st, const void *p, size_t n)
{
    if (n)
        crypto_hash_sha512_update(st, p, n);
}

static void sha_update_parts(crypto_hash_sha512_state *st, const struct part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sha_update(st, parts[i].p, parts[i].n);
}

static bool input_ok(const struct oprf_input *in)
{
    return in && (in->data || in->len == 0) && in->len <= OPRF_MAX_INPUT_BYTES;
}

static bool mode_ok(enum oprf_mode mode)
{
    return mode == OPRF_MODE_OPRF || mode == OPRF_MODE_VOPRF || mode == OPRF_MODE_POPRF;
}

static bool batch_ok(size_t n)
{
    return n >= 1 && n <= OPRF_MAX_BATCH;
}

/* ==== expand_message_xmd (RFC 9380 §5.3.1) =============================== */

/* b_i = H(x || I2OSP(i, 1) || DST_prime) */
static void xmd_block(unsigned char out[HASH_BYTES], const unsigned char x[HASH_BYTES], size_t i,
                      const unsigned char *dst, unsigned char dst_len)
{
    crypto_hash_sha512_state st;
    unsigned char ib = (unsigned char)i;
    crypto_hash_sha512_init(&st);
    sha_update(&st, x, HASH_BYTES);
    sha_update(&st, &ib, 1);
    sha_update(&st, dst, dst_len);
    sha_update(&st, &dst_len, 1);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

static enum oprf_status expand_parts(unsigned char *out, size_t out_len, const struct part *msg,
                                     size_t nmsg, const unsigned char *dst, size_t dst_len)
{
    static const unsigned char z_pad[XMD_BLOCK_BYTES];
    static const char oversize[] = "H2C-OVERSIZE-DST-";
    unsigned char short_dst[HASH_BYTES];
    crypto_hash_sha512_state st;

    if (out_len == 0 || out_len > OPRF_XMD_MAX_BYTES || !dst || dst_len == 0)
        return OPRF_ERR_ARGUMENT;
    if (dst_len > XMD_MAX_DST_BYTES) { /* §5.3.3 */
        crypto_hash_sha512_init(&st);
        sha_update(&st, oversize, sizeof oversize - 1);
        sha_update(&st, dst, dst_len);
        crypto_hash_sha512_final(&st, short_dst);
        dst = short_dst;
        dst_len = sizeof short_dst;
    }
    unsigned char dlen = (unsigned char)dst_len;
    unsigned char lib[3]; /* I2OSP(len_in_bytes, 2) || I2OSP(0, 1) */
    put_u16(lib, out_len);
    lib[2] = 0;

    unsigned char b0[HASH_BYTES], bi[HASH_BYTES], x[HASH_BYTES];
    crypto_hash_sha512_init(&st);
    sha_update(&st, z_pad, sizeof z_pad);
    sha_update_parts(&st, msg, nmsg);
    sha_update(&st, lib, sizeof lib);
    sha_update(&st, dst, dlen);
    sha_update(&st, &dlen, 1);
    crypto_hash_sha512_final(&st, b0);

    size_t ell = (out_len + HASH_BYTES - 1) / HASH_BYTES;
    for (size_t i = 1; i <= ell; i++) {
        for (size_t j = 0; j < HASH_BYTES; j++)
            x[j] = (unsigned char)(b0[j] ^ (i == 1 ? 0 : bi[j]));
        xmd_block(bi, x, i, dst, dlen);
        size_t off = (i - 1) * HASH_BYTES;
        size_t take = out_len - off < HASH_BYTES ? out_len - off : HASH_BYTES;
        memcpy(out + off, bi, take);
    }
    /* the message may be a secret seed; its traces go too */
    sodium_memzero(&st, sizeof st);
    sodium_memzero(b0, sizeof b0);
    sodium_memzero(bi, sizeof bi);
    sodium_memzero(x, sizeof x);
    return OPRF_OK;
}

enum oprf_status oprf_expand_message_xmd(unsigned char *out, size_t out_len,
                                         const unsigned char *msg, size_t msg_len,
                                         const unsigned char *dst, size_t dst_len)
{
    if (!out || (!msg && msg_len))
        return OPRF_ERR_ARGUMENT;
    struct part m = {msg, msg_len};
    return expand_parts(out, out_len, &m, 1, dst, dst_len);
}

/* ==== context and hashing into the group ================================= */

enum oprf_status oprf_context_string(enum oprf_mode mode,
                                     unsigned char out[OPRF_CONTEXT_STRING_BYTES])
{
    static const char prefix[] = "OPRFV1-";
    static const char suite[] = "-ristretto255-SHA512";
    if (!mode_ok(mode))
        return OPRF_ERR_ARGUMENT;
    memcpy(out, prefix, sizeof prefix - 1);
    out[sizeof prefix - 1] = (unsigned char)mode; /* a raw byte, not a digit */
    memcpy(out + sizeof prefix, suite, sizeof suite - 1);
    return OPRF_OK;
}

/* label || contextString; returns its length (mode already checked). */
static size_t make_dst(unsigned char out[DST_MAX_BYTES], const char *label, enum oprf_mode mode)
{
    size_t n = strlen(label);
    memcpy(out, label, n);
    (void)oprf_context_string(mode, out + n);
    return n + OPRF_CONTEXT_STRING_BYTES;
}

static enum oprf_status hash_to_group_parts(enum oprf_mode mode, const struct part *msg, size_t n,
                                            struct oprf_element *out)
{
    unsigned char dst[DST_MAX_BYTES], uniform[crypto_core_ristretto255_HASHBYTES];
    size_t dst_len = make_dst(dst, "HashToGroup-", mode);
    enum oprf_status st = expand_parts(uniform, sizeof uniform, msg, n, dst, dst_len);
    if (st == OPRF_OK) {
        crypto_core_ristretto255_from_hash(out->bytes, uniform);
        /* Blind and Evaluate must refuse an input that maps to the identity */
        if (sodium_is_zero(out->bytes, sizeof out->bytes))
            st = OPRF_ERR_INVALID_INPUT;
    }
    sodium_memzero(uniform, sizeof uniform);
    return st;
}

static enum oprf_status hash_to_scalar_dst(const struct part *msg, size_t n,
                                           const unsigned char *dst, size_t dst_len,
                                           struct oprf_scalar *out)
{
    unsigned char uniform[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
    enum oprf_status st = expand_parts(uniform, sizeof uniform, msg, n, dst, dst_len);
    if (st == OPRF_OK)
        crypto_core_ristretto255_scalar_reduce(out->bytes, uniform);
    sodium_memzero(uniform, sizeof uniform);
    return st;
}

static enum oprf_status hash_to_scalar_parts(enum oprf_mode mode, const struct part *msg,
                                             size_t n, struct oprf_scalar *out)
{
    unsigned char dst[DST_MAX_BYTES];
    size_t dst_len = make_dst(dst, "HashToScalar-", mode);
    return hash_to_scalar_dst(msg, n, dst, dst_len, out);
}

enum oprf_status oprf_hash_to_group(enum oprf_mode mode, const unsigned char *msg,
                                    size_t msg_len, struct oprf_element *out)
{
    if (!mode_ok(mode) || (!msg && msg_len))
        return OPRF_ERR_ARGUMENT;
    struct part m = {msg, msg_len};
    return hash_to_group_parts(mode, &m, 1, out);
}

enum oprf_status oprf_hash_to_scalar(enum oprf_mode mode, const unsigned char *msg,
                                     size_t msg_len, struct oprf_scalar *out)
{
    if (!mode_ok(mode) || (!msg && msg_len))
        return OPRF_ERR_ARGUMENT;
    struct part m = {msg, msg_len};
    return hash_to_scalar_parts(mode, &m, 1, out);
}

/* ==== serialization ====================================================== */

/* s < L, by the borrow out of s - L; no early exit, so the time does not
 * depend on where a secret scalar differs from L. */
static bool scalar_canonical(const unsigned char s[OPRF_SCALAR_BYTES])
{
    unsigned int borrow = 0;
    for (size_t i = 0; i < OPRF_SCALAR_BYTES; i++) {
        unsigned int diff = (unsigned int)s[i] - group_order[i] - borrow;
        borrow = (diff >> 8) & 1;
    }
    return borrow == 1;
}

/* A valid encoding and not the identity (its only encoding is all zeros).
 * libsodium 1.0.18 (Debian 12) decodes as if bit 255 were clear, so every
 * element has a second encoding with that bit set (0x00..00 0x80 is the
 * identity); RFC 9496 §4.3.1 refuses them, as s >= 2^255 > p. */
static bool element_ok(const struct oprf_element *e)
{
    return (e->bytes[31] & 0x80) == 0 &&
           crypto_core_ristretto255_is_valid_point(e->bytes) == 1 &&
           !sodium_is_zero(e->bytes, sizeof e->bytes);
}

static bool elements_ok(const struct oprf_element *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!element_ok(&e[i]))
            return false;
    return true;
}

enum oprf_status oprf_element_deserialize(struct oprf_element *out, const unsigned char *buf,
                                          size_t len)
{
    if (!buf || len != OPRF_ELEMENT_BYTES)
        return OPRF_ERR_DESERIALIZE;
    memcpy(out->bytes, buf, len);
    if (!element_ok(out)) {
        memset(out->bytes, 0, sizeof out->bytes);
        return OPRF_ERR_DESERIALIZE;
    }
    return OPRF_OK;
}

enum oprf_status oprf_scalar_deserialize(struct oprf_scalar *out, const unsigned char *buf,
                                         size_t len)
{
    if (!buf || len != OPRF_SCALAR_BYTES || !scalar_canonical(buf))
        return OPRF_ERR_DESERIALIZE;
    memcpy(out->bytes, buf, len);
    return OPRF_OK;
}

enum oprf_status oprf_proof_deserialize(struct oprf_proof *out, const unsigned char *buf,
                                        size_t len)
{
    if (!buf || len != OPRF_PROOF_BYTES)
        return OPRF_ERR_DESERIALIZE;
    if (oprf_scalar_deserialize(&out->c, buf, OPRF_SCALAR_BYTES) != OPRF_OK ||
        oprf_scalar_deserialize(&out->s, buf + OPRF_SCALAR_BYTES, OPRF_SCALAR_BYTES) != OPRF_OK)
        return OPRF_ERR_DESERIALIZE;
    return OPRF_OK;
}

void oprf_proof_serialize(const struct oprf_proof *proof, unsigned char out[OPRF_PROOF_BYTES])
{
    memcpy(out, proof->c.bytes, OPRF_SCALAR_BYTES);
    memcpy(out + OPRF_SCALAR_BYTES, proof->s.bytes, OPRF_SCALAR_BYTES);
}

bool oprf_output_equal(const unsigned char a[OPRF_OUTPUT_BYTES],
                       const unsigned char b[OPRF_OUTPUT_BYTES])
{
    return sodium_memcmp(a, b, OPRF_OUTPUT_BYTES) == 0;
}

/* ==== group arithmetic =================================================== */

/* out = k * p where the identity is an acceptable result, as it is in the
 * proof algebra. False only when p is not a valid encoding. */
static bool mul_any(unsigned char out[32], const unsigned char k[32], const unsigned char p[32])
{
    if (crypto_scalarmult_ristretto255(out, k, p) == 0)
        return true;
    /* libsodium fails both on a bad p and on an identity result */
    memset(out, 0, 32);
    return crypto_core_ristretto255_is_valid_point(p) == 1;
}

static void mul_base_any(unsigned char out[32], const unsigned char k[32])
{
    if (crypto_scalarmult_ristretto255_base(out, k) != 0)
        memset(out, 0, 32); /* k == 0 */
}

/* out = k * p for a valid p; false when the result is the identity, that
 * is when k == 0 (the group has prime order). */
static bool mul_nonzero(struct oprf_element *out, const struct oprf_scalar *k,
                        const struct oprf_element *p)
{
    return crypto_scalarmult_ristretto255(out->bytes, k->bytes, p->bytes) == 0;
}

/* ==== keys =============================================================== */

void oprf_generate_key_pair(struct oprf_scalar *sk, struct oprf_element *pk)
{
    crypto_core_ristretto255_scalar_random(sk->bytes); /* never zero */
    mul_base_any(pk->bytes, sk->bytes);
}

enum oprf_status oprf_derive_key_pair(enum oprf_mode mode, const unsigned char seed[OPRF_SEED_BYTES],
                                      const unsigned char *info, size_t info_len,
                                      struct oprf_scalar *sk, struct oprf_element *pk)
{
    if (!mode_ok(mode) || !seed || (!info && info_len) || info_len > OPRF_MAX_INPUT_BYTES)
        return OPRF_ERR_ARGUMENT;
    unsigned char dst[DST_MAX_BYTES], len[2], counter;
    size_t dst_len = make_dst(dst, "DeriveKeyPair", mode); /* no dash: RFC 9497 §3.2.1 */
    put_u16(len, info_len);
    struct part msg[] = {{seed, OPRF_SEED_BYTES}, {len, 2}, {info, info_len}, {&counter, 1}};
    for (unsigned int i = 0; i <= 255; i++) {
        counter = (unsigned char)i;
        enum oprf_status st = hash_to_scalar_dst(msg, 4, dst, dst_len, sk);
        if (st != OPRF_OK)
            return st;
        if (!sodium_is_zero(sk->bytes, sizeof sk->bytes)) {
            mul_base_any(pk->bytes, sk->bytes);
            return OPRF_OK;
        }
    }
    return OPRF_ERR_DERIVE_KEY_PAIR;
}

/* ==== batched DLEQ proofs (RFC 9497 §2.2) ================================ */

/*
 * ComputeComposites when k is NULL (verifier: Z from D), ComputeCompositesFast
 * otherwise (prover: Z = k * M, half the multiplications). B, C and D have
 * been checked to be valid elements.
 */
static void composites(enum oprf_mode mode, const struct oprf_element *B, size_t n,
                       const struct oprf_element C[], const struct oprf_element D[],
                       const struct oprf_scalar *k, struct oprf_element *M,
                       struct oprf_element *Z)
{
    static const char seed_label[] = "Seed-";
    static const char composite[] = "Composite";
    unsigned char seed_dst[sizeof seed_label - 1 + OPRF_CONTEXT_STRING_BYTES];
    unsigned char elen[2], dlen[2], slen[2], seed[HASH_BYTES], tmp[OPRF_ELEMENT_BYTES];
    crypto_hash_sha512_state st;

    memcpy(seed_dst, seed_label, sizeof seed_label - 1);
    (void)oprf_context_string(mode, seed_dst + sizeof seed_label - 1);
    put_u16(elen, OPRF_ELEMENT_BYTES);
    put_u16(dlen, sizeof seed_dst);
    put_u16(slen, sizeof seed);
    crypto_hash_sha512_init(&st);
    sha_update(&st, elen, 2);
    sha_update(&st, B->bytes, OPRF_ELEMENT_BYTES);
    sha_update(&st, dlen, 2);
    sha_update(&st, seed_dst, sizeof seed_dst);
    crypto_hash_sha512_final(&st, seed);

    memset(M->bytes, 0, sizeof M->bytes); /* the identity */
    memset(Z->bytes, 0, sizeof Z->bytes);
    for (size_t i = 0; i < n; i++) {
        unsigned char idx[2];
        struct oprf_scalar d;
        put_u16(idx, i);
        struct part t[] = {{slen, 2},        {seed, sizeof seed}, {idx, 2},
                           {elen, 2},        {C[i].bytes, 32},    {elen, 2},
                           {D[i].bytes, 32}, {composite, sizeof composite - 1}};
        (void)hash_to_scalar_parts(mode, t, sizeof t / sizeof t[0], &d);
        (void)mul_any(tmp, d.bytes, C[i].bytes);
        (void)crypto_core_ristretto255_add(M->bytes, M->bytes, tmp);
        if (!k) {
            (void)mul_any(tmp, d.bytes, D[i].bytes);
            (void)crypto_core_ristretto255_add(Z->bytes, Z->bytes, tmp);
        }
    }
    if (k)
        (void)mul_any(Z->bytes, k->bytes, M->bytes);
}

/* c = HashToScalar(lp(B) || lp(M) || lp(Z) || lp(t2) || lp(t3) || "Challenge") */
static void challenge(enum oprf_mode mode, const unsigned char *const el[5],
                      struct oprf_scalar *c)
{
    static const char label[] = "Challenge";
    unsigned char elen[2];
    put_u16(elen, OPRF_ELEMENT_BYTES);
    struct part t[11];
    for (size_t i = 0; i < 5; i++) {
        t[2 * i] = (struct part){elen, 2};
        t[2 * i + 1] = (struct part){el[i], OPRF_ELEMENT_BYTES};
    }
    t[10] = (struct part){label, sizeof label - 1};
    (void)hash_to_scalar_parts(mode, t, 11, c);
}

/* GenerateProof(k, G, B, C, D), with D[i] = k * C[i]. */
static void generate_proof(enum oprf_mode mode, const struct oprf_scalar *k,
                           const struct oprf_element *B, size_t n, const struct oprf_element C[],
                           const struct oprf_element D[], const struct oprf_scalar *fixed_r,
                           struct oprf_proof *proof)
{
    struct oprf_element M, Z;
    unsigned char r[OPRF_SCALAR_BYTES], t2[32], t3[32], ck[OPRF_SCALAR_BYTES];
    composites(mode, B, n, C, D, k, &M, &Z);
    if (fixed_r)
        memcpy(r, fixed_r->bytes, sizeof r);
    else
        crypto_core_ristretto255_scalar_random(r);
    mul_base_any(t2, r);
    (void)mul_any(t3, r, M.bytes);
    const unsigned char *el[5] = {B->bytes, M.bytes, Z.bytes, t2, t3};
    challenge(mode, el, &proof->c);
    crypto_core_ristretto255_scalar_mul(ck, proof->c.bytes, k->bytes);
    crypto_core_ristretto255_scalar_sub(proof->s.bytes, r, ck);
    /* r and c * k together give k away */
    sodium_memzero(r, sizeof r);
    sodium_memzero(ck, sizeof ck);
}

/* VerifyProof(G, B, C, D, proof); all inputs already validated. */
static enum oprf_status verify_proof(enum oprf_mode mode, const struct oprf_element *B, size_t n,
                                     const struct oprf_element C[], const struct oprf_element D[],
                                     const struct oprf_proof *proof)
{
    struct oprf_element M, Z;
    struct oprf_scalar expected;
    unsigned char t2[32], t3[32], a[32], b[32];
    composites(mode, B, n, C, D, NULL, &M, &Z);
    mul_base_any(a, proof->s.bytes);
    (void)mul_any(b, proof->c.bytes, B->bytes);
    (void)crypto_core_ristretto255_add(t2, a, b);
    (void)mul_any(a, proof->s.bytes, M.bytes);
    (void)mul_any(b, proof->c.bytes, Z.bytes);
    (void)crypto_core_ristretto255_add(t3, a, b);
    const unsigned char *el[5] = {B->bytes, M.bytes, Z.bytes, t2, t3};
    challenge(mode, el, &expected);
    return sodium_memcmp(expected.bytes, proof->c.bytes, OPRF_SCALAR_BYTES) == 0 ? OPRF_OK
                                                                                 : OPRF_ERR_VERIFY;
}

enum oprf_status oprf_compute_composites(enum oprf_mode mode, const struct oprf_element *B,
                                         size_t n, const struct oprf_element C[],
                                         const struct oprf_element D[], struct oprf_element *M,
                                         struct oprf_element *Z)
{
    if (!mode_ok(mode) || !batch_ok(n))
        return OPRF_ERR_ARGUMENT;
    if (!element_ok(B) || !elements_ok(C, n) || !elements_ok(D, n))
        return OPRF_ERR_DESERIALIZE;
    composites(mode, B, n, C, D, NULL, M, Z);
    return OPRF_OK;
}

/* ==== client ============================================================= */

static enum oprf_status blind_common(enum oprf_mode mode, const struct oprf_input *input,
                                     const struct oprf_scalar *fixed_blind,
                                     struct oprf_scalar *blind, struct oprf_element *blinded)
{
    if (!input_ok(input))
        return OPRF_ERR_ARGUMENT;
    struct oprf_element p;
    struct part m = {input->data, input->len};
    enum oprf_status st = hash_to_group_parts(mode, &m, 1, &p);
    if (st != OPRF_OK)
        return st;
    if (fixed_blind)
        *blind = *fixed_blind;
    else
        crypto_core_ristretto255_scalar_random(blind->bytes);
    if (!mul_nonzero(blinded, blind, &p))
        st = OPRF_ERR_INVALID_INPUT; /* only a zero fixed blind gets here */
    sodium_memzero(&p, sizeof p);
    return st;
}

/* Hash(lp(input) [|| lp(info)] || lp(element) || "Finalize"); info only in
 * POPRF mode. */
static void hash_output(const struct oprf_input *input, const struct oprf_input *info,
                        const struct oprf_element *e, unsigned char out[OPRF_OUTPUT_BYTES])
{
    static const char label[] = "Finalize";
    unsigned char ilen[2], flen[2], elen[2];
    crypto_hash_sha512_state st;
    put_u16(ilen, input->len);
    put_u16(elen, OPRF_ELEMENT_BYTES);
    crypto_hash_sha512_init(&st);
    sha_update(&st, ilen, 2);
    sha_update(&st, input->data, input->len);
    if (info) {
        put_u16(flen, info->len);
        sha_update(&st, flen, 2);
        sha_update(&st, info->data, info->len);
    }
    sha_update(&st, elen, 2);
    sha_update(&st, e->bytes, OPRF_ELEMENT_BYTES);
    sha_update(&st, label, sizeof label - 1);
    crypto_hash_sha512_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

static enum oprf_status finalize_one(const struct oprf_input *input,
                                     const struct oprf_input *info,
                                     const struct oprf_scalar *blind,
                                     const struct oprf_element *evaluated,
                                     unsigned char output[OPRF_OUTPUT_BYTES])
{
    struct oprf_scalar inv;
    struct oprf_element n;
    enum oprf_status st = OPRF_OK;
    if (!input_ok(input))
        return OPRF_ERR_ARGUMENT;
    if (crypto_core_ristretto255_scalar_invert(inv.bytes, blind->bytes) != 0)
        return OPRF_ERR_INVERSE;
    if (!element_ok(evaluated) || !mul_nonzero(&n, &inv, evaluated))
        st = OPRF_ERR_DESERIALIZE;
    else
        hash_output(input, info, &n, output);
    sodium_memzero(&inv, sizeof inv);
    sodium_memzero(&n, sizeof n);
    return st;
}

enum oprf_status oprf_blind(enum oprf_mode mode, const struct oprf_input *input,
                            const struct oprf_scalar *fixed_blind, struct oprf_scalar *blind,
                            struct oprf_element *blinded)
{
    if (mode != OPRF_MODE_OPRF && mode != OPRF_MODE_VOPRF)
        return OPRF_ERR_ARGUMENT;
    return blind_common(mode, input, fixed_blind, blind, blinded);
}

enum oprf_status oprf_finalize(const struct oprf_input *input, const struct oprf_scalar *blind,
                               const struct oprf_element *evaluated,
                               unsigned char output[OPRF_OUTPUT_BYTES])
{
    return finalize_one(input, NULL, blind, evaluated, output);
}

/*
 * Verifies a batch proof, then finalizes every element. The proof is over
 * (C, D) = (blinded, evaluated) in VOPRF mode and the other way round in
 * POPRF mode, where the key is inverted.
 */
static enum oprf_status finalize_batch(enum oprf_mode mode, size_t n,
                                       const struct oprf_input inputs[],
                                       const struct oprf_scalar blinds[],
                                       const struct oprf_element evaluated[],
                                       const struct oprf_element blinded[],
                                       const struct oprf_input *info,
                                       const struct oprf_element *key,
                                       const struct oprf_proof *proof,
                                       unsigned char outputs[][OPRF_OUTPUT_BYTES])
{
    if (!batch_ok(n))
        return OPRF_ERR_ARGUMENT;
    const struct oprf_element *C = mode == OPRF_MODE_POPRF ? evaluated : blinded;
    const struct oprf_element *D = mode == OPRF_MODE_POPRF ? blinded : evaluated;
    enum oprf_status st;
    if (!element_ok(key) || !elements_ok(evaluated, n) || !elements_ok(blinded, n) ||
        !scalar_canonical(proof->c.bytes) || !scalar_canonical(proof->s.bytes))
        st = OPRF_ERR_DESERIALIZE;
    else
        st = verify_proof(mode, key, n, C, D, proof);
    for (size_t i = 0; i < n && st == OPRF_OK; i++)
        st = finalize_one(&inputs[i], info, &blinds[i], &evaluated[i], outputs[i]);
    if (st != OPRF_OK)
        sodium_memzero(outputs, n * OPRF_OUTPUT_BYTES);
    return st;
}

enum oprf_status oprf_voprf_finalize(size_t n, const struct oprf_input inputs[],
                                     const struct oprf_scalar blinds[],
                                     const struct oprf_element evaluated[],
                                     const struct oprf_element blinded[],
                                     const struct oprf_element *pk, const struct oprf_proof *proof,
                                     unsigned char outputs[][OPRF_OUTPUT_BYTES])
{
    return finalize_batch(OPRF_MODE_VOPRF, n, inputs, blinds, evaluated, blinded, NULL, pk, proof,
                          outputs);
}

/* ==== server ============================================================= */

enum oprf_status oprf_blind_evaluate(const struct oprf_scalar *sk,
                                     const struct oprf_element *blinded,
                                     struct oprf_element *evaluated)
{
    if (!element_ok(blinded))
        return OPRF_ERR_DESERIALIZE;
    return mul_nonzero(evaluated, sk, blinded) ? OPRF_OK : OPRF_ERR_ARGUMENT; /* sk == 0 */
}

enum oprf_status oprf_voprf_blind_evaluate(const struct oprf_scalar *sk, size_t n,
                                           const struct oprf_element blinded[],
                                           struct oprf_element evaluated[],
                                           struct oprf_proof *proof,
                                           const struct oprf_scalar *fixed_r)
{
    struct oprf_element pk;
    if (!batch_ok(n))
        return OPRF_ERR_ARGUMENT;
    if (!elements_ok(blinded, n))
        return OPRF_ERR_DESERIALIZE;
    for (size_t i = 0; i < n; i++)
        if (!mul_nonzero(&evaluated[i], sk, &blinded[i]))
            return OPRF_ERR_ARGUMENT;
    mul_base_any(pk.bytes, sk->bytes);
    generate_proof(OPRF_MODE_VOPRF, sk, &pk, n, blinded, evaluated, fixed_r, proof);
    return OPRF_OK;
}

enum oprf_status oprf_evaluate(enum oprf_mode mode, const struct oprf_scalar *sk,
                               const struct oprf_input *input,
                               unsigned char output[OPRF_OUTPUT_BYTES])
{
    struct oprf_element p, e;
    if ((mode != OPRF_MODE_OPRF && mode != OPRF_MODE_VOPRF) || !input_ok(input))
        return OPRF_ERR_ARGUMENT;
    struct part m = {input->data, input->len};
    enum oprf_status st = hash_to_group_parts(mode, &m, 1, &p);
    if (st != OPRF_OK)
        return st;
    if (mul_nonzero(&e, sk, &p))
        hash_output(input, NULL, &e, output);
    else
        st = OPRF_ERR_ARGUMENT;
    sodium_memzero(&p, sizeof p);
    sodium_memzero(&e, sizeof e);
    return st;
}

/* ==== POPRF ============================================================== */

/* m = HashToScalar("Info" || I2OSP(len(info), 2) || info) */
static enum oprf_status info_scalar(const struct oprf_input *info, struct oprf_scalar *m)
{
    static const char label[] = "Info";
    unsigned char len[2];
    if (!input_ok(info))
        return OPRF_ERR_ARGUMENT;
    put_u16(len, info->len);
    struct part t[] = {{label, sizeof label - 1}, {len, 2}, {info->data, info->len}};
    return hash_to_scalar_parts(OPRF_MODE_POPRF, t, 3, m);
}

/* t = sk + m, refused when zero: its inverse is the evaluation key. */
static enum oprf_status tweak_secret(const struct oprf_scalar *sk, const struct oprf_input *info,
                                     struct oprf_scalar *t)
{
    struct oprf_scalar m;
    enum oprf_status st = info_scalar(info, &m);
    if (st != OPRF_OK)
        return st;
    crypto_core_ristretto255_scalar_add(t->bytes, sk->bytes, m.bytes);
    return sodium_is_zero(t->bytes, sizeof t->bytes) ? OPRF_ERR_INVERSE : OPRF_OK;
}

enum oprf_status oprf_poprf_blind(const struct oprf_input *input, const struct oprf_input *info,
                                  const struct oprf_element *pk,
                                  const struct oprf_scalar *fixed_blind, struct oprf_scalar *blind,
                                  struct oprf_element *blinded, struct oprf_element *tweaked_key)
{
    struct oprf_scalar m;
    unsigned char t[OPRF_ELEMENT_BYTES];
    enum oprf_status st = info_scalar(info, &m);
    if (st != OPRF_OK)
        return st;
    if (!element_ok(pk))
        return OPRF_ERR_DESERIALIZE;
    mul_base_any(t, m.bytes);
    (void)crypto_core_ristretto255_add(tweaked_key->bytes, t, pk->bytes);
    if (sodium_is_zero(tweaked_key->bytes, sizeof tweaked_key->bytes))
        return OPRF_ERR_INVALID_INPUT;
    return blind_common(OPRF_MODE_POPRF, input, fixed_blind, blind, blinded);
}

enum oprf_status oprf_poprf_blind_evaluate(const struct oprf_scalar *sk,
                                           const struct oprf_input *info, size_t n,
                                           const struct oprf_element blinded[],
                                           struct oprf_element evaluated[],
                                           struct oprf_proof *proof,
                                           const struct oprf_scalar *fixed_r)
{
    struct oprf_scalar t, inv;
    struct oprf_element tweaked;
    if (!batch_ok(n))
        return OPRF_ERR_ARGUMENT;
    if (!elements_ok(blinded, n))
        return OPRF_ERR_DESERIALIZE;
    enum oprf_status st = tweak_secret(sk, info, &t);
    if (st == OPRF_OK) {
        (void)crypto_core_ristretto255_scalar_invert(inv.bytes, t.bytes); /* t != 0 */
        for (size_t i = 0; i < n; i++)
            (void)mul_nonzero(&evaluated[i], &inv, &blinded[i]); /* inv != 0 */
        mul_base_any(tweaked.bytes, t.bytes);
        /* blinded[i] = t * evaluated[i]: the proof runs the other way round */
        generate_proof(OPRF_MODE_POPRF, &t, &tweaked, n, evaluated, blinded, fixed_r, proof);
    }
    sodium_memzero(&t, sizeof t);
    sodium_memzero(&inv, sizeof inv);
    return st;
}

enum oprf_status oprf_poprf_finalize(size_t n, const struct oprf_input inputs[],
                                     const struct oprf_scalar blinds[],
                                     const struct oprf_element evaluated[],
                                     const struct oprf_element blinded[],
                                     const struct oprf_input *info,
                                     const struct oprf_element *tweaked_key,
                                     const struct oprf_proof *proof,
                                     unsigned char outputs[][OPRF_OUTPUT_BYTES])
{
    if (!input_ok(info))
        return OPRF_ERR_ARGUMENT;
    return finalize_batch(OPRF_MODE_POPRF, n, inputs, blinds, evaluated, blinded, info,
                          tweaked_key, proof, outputs);
}

enum oprf_status oprf_poprf_evaluate(const struct oprf_scalar *sk, const struct oprf_input *input,
                                     const struct oprf_input *info,
                                     unsigned char output[OPRF_OUTPUT_BYTES])
{
    struct oprf_scalar t, inv;
    struct oprf_element p, e;
    if (!input_ok(input) || !input_ok(info))
        return OPRF_ERR_ARGUMENT;
    struct part m = {input->data, input->len};
    enum oprf_status st = hash_to_group_parts(OPRF_MODE_POPRF, &m, 1, &p);
    if (st == OPRF_OK)
        st = tweak_secret(sk, info, &t);
    if (st == OPRF_OK) {
        (void)crypto_core_ristretto255_scalar_invert(inv.bytes, t.bytes);
        (void)mul_nonzero(&e, &inv, &p);
        hash_output(input, info, &e, output);
    }
    sodium_memzero(&t, sizeof t);
    sodium_memzero(&inv, sizeof inv);
    sodium_memzero(&p, sizeof p);
    sodium_memzero(&e, sizeof e);
    return st;
}
