/* Tests service/src/crypto/oprf.c against the RFC 9497, 9380 and 9496 vectors
 * in tests/vectors/ and for the inputs it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/oprf.h"

#define VECTORS TEST_SOURCE_DIR "/tests/vectors/"
#define SUITE_FILE VECTORS "rfc9497-ristretto255-sha512.json"
#define BLOCKS_FILE VECTORS "rfc9380-9496-building-blocks.json"
#define INTERMEDIATES_FILE VECTORS "rfc9497-intermediates-and-must-reject.json"
#define MAX_HEX_BYTES 256

/* ==== helpers ============================================================ */

static int init(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static json_t *load(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("could not load %s: %s", path, err.text);
    return j;
}

static json_t *get(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        fail_msg("missing key \"%s\"", key);
    return v;
}

/*
 * The intermediates file names its keys with a formula ("seed = SHA-512(...)"):
 * finds the one key whose first word is name, so that the prose may change
 * but the quantity may not.
 */
static json_t *named(const json_t *obj, const char *name)
{
    const char *key;
    json_t *v, *found = NULL;
    int hits = 0;
    json_object_foreach((json_t *)obj, key, v) {
        size_t word = strcspn(key, " ");
        if (word == strlen(name) && strncmp(key, name, word) == 0) {
            found = v;
            hits++;
        }
    }
    if (hits != 1)
        fail_msg("%d keys named \"%s\"", hits, name);
    return found;
}

static size_t hex(const json_t *s, unsigned char *out, size_t cap)
{
    assert_true(json_is_string(s));
    const char *h = json_string_value(s);
    const char *end = NULL;
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, &end), 0);
    assert_true(*end == '\0');
    return n;
}

static void hex_exact(const json_t *s, unsigned char *out, size_t n)
{
    assert_int_equal(hex(s, out, n), n);
}

static void element(const json_t *s, struct oprf_element *e)
{
    unsigned char b[OPRF_ELEMENT_BYTES];
    hex_exact(s, b, sizeof b);
    assert_int_equal(oprf_element_deserialize(e, b, sizeof b), OPRF_OK);
}

static void scalar(const json_t *s, struct oprf_scalar *k)
{
    unsigned char b[OPRF_SCALAR_BYTES];
    hex_exact(s, b, sizeof b);
    assert_int_equal(oprf_scalar_deserialize(k, b, sizeof b), OPRF_OK);
}

static void assert_hex_equal(const json_t *want, const unsigned char *got, size_t n)
{
    unsigned char w[MAX_HEX_BYTES];
    assert_int_equal(hex(want, w, sizeof w), n);
    assert_memory_equal(w, got, n);
}

/* Inputs hold their bytes here, since struct oprf_input only borrows. */
struct input_buf {
    unsigned char bytes[MAX_HEX_BYTES];
    struct oprf_input in;
};

static void input(const json_t *s, struct input_buf *b)
{
    b->in.len = hex(s, b->bytes, sizeof b->bytes);
    b->in.data = b->bytes;
}

/* Appends n bytes, or I2OSP(n, 2) and n bytes for append_lp, to a transcript. */
static void append(unsigned char *t, size_t *k, const void *p, size_t n)
{
    memcpy(t + *k, p, n);
    *k += n;
}

static void append_lp(unsigned char *t, size_t *k, const void *p, size_t n)
{
    unsigned char len[2] = {(unsigned char)(n >> 8), (unsigned char)n};
    append(t, k, len, 2);
    append(t, k, p, n);
}

static enum oprf_mode mode_of(const char *name)
{
    if (strcmp(name, "OPRF") == 0)
        return OPRF_MODE_OPRF;
    if (strcmp(name, "VOPRF") == 0)
        return OPRF_MODE_VOPRF;
    assert_string_equal(name, "POPRF");
    return OPRF_MODE_POPRF;
}

static enum oprf_status status_named(const char *rfc_error)
{
    if (strcmp(rfc_error, "VerifyError") == 0)
        return OPRF_ERR_VERIFY;
    if (strcmp(rfc_error, "DeserializeError") == 0)
        return OPRF_ERR_DESERIALIZE;
    if (strcmp(rfc_error, "InvalidInputError") == 0)
        return OPRF_ERR_INVALID_INPUT;
    if (strcmp(rfc_error, "InverseError") == 0)
        return OPRF_ERR_INVERSE;
    fail_msg("unknown RFC error \"%s\"", rfc_error);
    return OPRF_OK;
}

/* ==== RFC 9497 Appendix A.1 ============================================== */

/* The suite's key for mode: derived from Seed and KeyInfo, equal to skSm
 * (and pkSm where given). */
static void suite_key(const json_t *m, enum oprf_mode mode, struct oprf_scalar *sk,
                      struct oprf_element *pk)
{
    unsigned char seed[OPRF_SEED_BYTES], info[MAX_HEX_BYTES], ctx[OPRF_CONTEXT_STRING_BYTES];
    hex_exact(get(m, "Seed"), seed, sizeof seed);
    size_t info_len = hex(get(m, "KeyInfo"), info, sizeof info);
    assert_int_equal(oprf_derive_key_pair(mode, seed, info, info_len, sk, pk), OPRF_OK);
    assert_hex_equal(get(m, "skSm"), sk->bytes, OPRF_SCALAR_BYTES);
    if (json_object_get(m, "pkSm"))
        assert_hex_equal(get(m, "pkSm"), pk->bytes, OPRF_ELEMENT_BYTES);
    assert_int_equal(oprf_context_string(mode, ctx), OPRF_OK);
    assert_hex_equal(get(m, "contextStringHex"), ctx, sizeof ctx);
}

static void check_oprf_vector(const json_t *v, const struct oprf_scalar *sk)
{
    size_t n = (size_t)json_integer_value(get(v, "Batch"));
    assert_int_equal(json_array_size(get(v, "Input")), n);
    for (size_t i = 0; i < n; i++) {
        struct input_buf in;
        struct oprf_scalar fixed, blind;
        struct oprf_element blinded, evaluated, want_evaluated;
        unsigned char out[OPRF_OUTPUT_BYTES], server_out[OPRF_OUTPUT_BYTES];
        input(json_array_get(get(v, "Input"), i), &in);
        scalar(json_array_get(get(v, "Blind"), i), &fixed);
        assert_int_equal(oprf_blind(OPRF_MODE_OPRF, &in.in, &fixed, &blind, &blinded), OPRF_OK);
        assert_hex_equal(json_array_get(get(v, "BlindedElement"), i), blinded.bytes, 32);
        assert_int_equal(oprf_blind_evaluate(sk, &blinded, &evaluated), OPRF_OK);
        assert_hex_equal(json_array_get(get(v, "EvaluationElement"), i), evaluated.bytes, 32);
        element(json_array_get(get(v, "EvaluationElement"), i), &want_evaluated);
        assert_int_equal(oprf_finalize(&in.in, &blind, &want_evaluated, out), OPRF_OK);
        assert_hex_equal(json_array_get(get(v, "Output"), i), out, sizeof out);
        assert_int_equal(oprf_evaluate(OPRF_MODE_OPRF, sk, &in.in, server_out), OPRF_OK);
        assert_true(oprf_output_equal(out, server_out));
    }
}

/*
 * One VOPRF or POPRF vector, both ways: our client and server reproduce the
 * blinded and evaluated elements and the proof (with the vector's blinds and
 * proof randomness), and our client accepts the vector's own proof and
 * elements and derives the outputs, which the server's Evaluate matches.
 */
static void check_verifiable_vector(const json_t *v, enum oprf_mode mode,
                                    const struct oprf_scalar *sk, const struct oprf_element *pk)
{
    size_t n = (size_t)json_integer_value(get(v, "Batch"));
    struct input_buf in[2], info;
    struct oprf_scalar fixed, blinds[2], r;
    struct oprf_element blinded[2], evaluated[2], want_blinded[2], want_evaluated[2], tweaked;
    struct oprf_proof proof, want_proof;
    unsigned char proof_bytes[OPRF_PROOF_BYTES], outputs[2][OPRF_OUTPUT_BYTES];
    unsigned char server_out[OPRF_OUTPUT_BYTES];

    assert_in_range(n, 1, 2);
    assert_int_equal(json_array_size(get(v, "Input")), n);
    assert_int_equal(json_array_size(get(v, "Output")), n);
    memset(&info, 0, sizeof info);
    memset(&tweaked, 0, sizeof tweaked);
    if (mode == OPRF_MODE_POPRF)
        input(get(v, "Info"), &info);
    for (size_t i = 0; i < n; i++) {
        input(json_array_get(get(v, "Input"), i), &in[i]);
        scalar(json_array_get(get(v, "Blind"), i), &fixed);
        if (mode == OPRF_MODE_POPRF)
            assert_int_equal(oprf_poprf_blind(&in[i].in, &info.in, pk, &fixed, &blinds[i],
                                              &blinded[i], &tweaked),
                             OPRF_OK);
        else
            assert_int_equal(oprf_blind(mode, &in[i].in, &fixed, &blinds[i], &blinded[i]),
                             OPRF_OK);
        assert_hex_equal(json_array_get(get(v, "BlindedElement"), i), blinded[i].bytes, 32);
        element(json_array_get(get(v, "BlindedElement"), i), &want_blinded[i]);
        element(json_array_get(get(v, "EvaluationElement"), i), &want_evaluated[i]);
    }

    scalar(get(v, "ProofRandomScalar"), &r);
    if (mode == OPRF_MODE_POPRF)
        assert_int_equal(oprf_poprf_blind_evaluate(sk, &info.in, n, blinded, evaluated, &proof, &r),
                         OPRF_OK);
    else
        assert_int_equal(oprf_voprf_blind_evaluate(sk, n, blinded, evaluated, &proof, &r), OPRF_OK);
    for (size_t i = 0; i < n; i++)
        assert_hex_equal(json_array_get(get(v, "EvaluationElement"), i), evaluated[i].bytes, 32);
    oprf_proof_serialize(&proof, proof_bytes);
    assert_hex_equal(get(v, "Proof"), proof_bytes, sizeof proof_bytes);

    hex_exact(get(v, "Proof"), proof_bytes, sizeof proof_bytes);
    assert_int_equal(oprf_proof_deserialize(&want_proof, proof_bytes, sizeof proof_bytes), OPRF_OK);
    struct oprf_input inputs[2] = {in[0].in, n > 1 ? in[1].in : in[0].in};
    if (mode == OPRF_MODE_POPRF)
        assert_int_equal(oprf_poprf_finalize(n, inputs, blinds, want_evaluated, want_blinded,
                                             &info.in, &tweaked, &want_proof, outputs),
                         OPRF_OK);
    else
        assert_int_equal(oprf_voprf_finalize(n, inputs, blinds, want_evaluated, want_blinded, pk,
                                             &want_proof, outputs),
                         OPRF_OK);
    for (size_t i = 0; i < n; i++) {
        assert_hex_equal(json_array_get(get(v, "Output"), i), outputs[i], OPRF_OUTPUT_BYTES);
        if (mode == OPRF_MODE_POPRF)
            assert_int_equal(oprf_poprf_evaluate(sk, &in[i].in, &info.in, server_out), OPRF_OK);
        else
            assert_int_equal(oprf_evaluate(mode, sk, &in[i].in, server_out), OPRF_OK);
        assert_true(oprf_output_equal(outputs[i], server_out));
    }
}

/* Checks the vectors of mode with the given batch size; returns how many. */
static size_t check_suite(const char *mode_name, size_t batch)
{
    json_t *root = load(SUITE_FILE);
    const json_t *m = get(get(root, "modes"), mode_name);
    enum oprf_mode mode = mode_of(mode_name);
    struct oprf_scalar sk;
    struct oprf_element pk;
    assert_int_equal(json_integer_value(get(m, "mode")), mode);
    suite_key(m, mode, &sk, &pk);
    size_t i, checked = 0;
    const json_t *v;
    json_array_foreach(get(m, "vectors"), i, v) {
        if ((size_t)json_integer_value(get(v, "Batch")) != batch)
            continue;
        if (mode == OPRF_MODE_OPRF)
            check_oprf_vector(v, &sk);
        else
            check_verifiable_vector(v, mode, &sk, &pk);
        checked++;
    }
    json_decref(root);
    return checked;
}

static size_t vectors_in_suite(const char *mode_name)
{
    json_t *root = load(SUITE_FILE);
    size_t n = json_array_size(get(get(get(root, "modes"), mode_name), "vectors"));
    json_decref(root);
    return n;
}

static void derive_key_pair_matches_rfc_keys(void **state)
{
    (void)state;
    json_t *root = load(SUITE_FILE);
    const char *name;
    json_t *m;
    size_t checked = 0;
    json_object_foreach(get(root, "modes"), name, m) {
        struct oprf_scalar sk;
        struct oprf_element pk;
        suite_key(m, mode_of(name), &sk, &pk);
        checked++;
    }
    assert_int_equal(checked, 3);
    json_decref(root);
}

static void oprf_mode_matches_rfc_vectors(void **state)
{
    (void)state;
    assert_int_equal(check_suite("OPRF", 1), 2);
    assert_int_equal(vectors_in_suite("OPRF"), 2);
}

static void voprf_single_elements_match_rfc_vectors(void **state)
{
    (void)state;
    assert_int_equal(check_suite("VOPRF", 1), 2);
    assert_int_equal(vectors_in_suite("VOPRF"), 2 + 1);
}

static void voprf_batch_of_two_matches_rfc_vectors(void **state)
{
    (void)state;
    assert_int_equal(check_suite("VOPRF", 2), 1);
    assert_int_equal(vectors_in_suite("VOPRF"), 2 + 1);
}

static void poprf_single_elements_match_rfc_vectors(void **state)
{
    (void)state;
    assert_int_equal(check_suite("POPRF", 1), 2);
    assert_int_equal(vectors_in_suite("POPRF"), 2 + 1);
}

static void poprf_batch_of_two_matches_rfc_vectors(void **state)
{
    (void)state;
    assert_int_equal(check_suite("POPRF", 2), 1);
    assert_int_equal(vectors_in_suite("POPRF"), 2 + 1);
}

/* ==== intermediate values (VOPRF, Appendix A.1.2) ======================== */

static void derive_key_pair_intermediates_match(void **state)
{
    (void)state;
    json_t *root = load(INTERMEDIATES_FILE);
    json_t *suite = load(SUITE_FILE);
    const json_t *d = get(root, "DeriveKeyPair");
    const json_t *voprf = get(get(suite, "modes"), "VOPRF");
    unsigned char msg[MAX_HEX_BYTES], dst[MAX_HEX_BYTES], info[MAX_HEX_BYTES];
    unsigned char seed[OPRF_SEED_BYTES], uniform[64], sk[32];
    size_t msg_len = hex(named(d, "message"), msg, sizeof msg);
    size_t dst_len = hex(named(get(root, "DST"), "DeriveKeyPair"), dst, sizeof dst);
    hex_exact(get(voprf, "Seed"), seed, sizeof seed);
    size_t info_len = hex(get(voprf, "KeyInfo"), info, sizeof info);

    /* message = seed || I2OSP(len(info), 2) || info || I2OSP(counter = 0, 1) */
    unsigned char want[MAX_HEX_BYTES], zero = 0;
    size_t k = 0;
    append(want, &k, seed, sizeof seed);
    append_lp(want, &k, info, info_len);
    append(want, &k, &zero, 1);
    assert_int_equal(msg_len, k);
    assert_memory_equal(msg, want, k);

    assert_int_equal(oprf_expand_message_xmd(uniform, 64, msg, msg_len, dst, dst_len), OPRF_OK);
    assert_hex_equal(named(d, "uniform_bytes"), uniform, 64);
    crypto_core_ristretto255_scalar_reduce(sk, uniform);
    assert_hex_equal(named(d, "skS"), sk, 32);

    struct oprf_scalar key;
    struct oprf_element pk;
    assert_int_equal(oprf_derive_key_pair(OPRF_MODE_VOPRF, seed, info, info_len, &key, &pk),
                     OPRF_OK);
    assert_memory_equal(key.bytes, sk, 32);
    assert_hex_equal(named(d, "pkS"), pk.bytes, 32);
    json_decref(suite);
    json_decref(root);
}

/* Per input: hash to group, blind, evaluate, unblind, Finalize transcript. */
static void check_per_input(const json_t *p, const json_t *dsts, const struct oprf_scalar *sk)
{
    struct input_buf in;
    unsigned char uniform[64], dst[MAX_HEX_BYTES], inv[32], t[MAX_HEX_BYTES], out[64];
    struct oprf_element e, blinded, evaluated, unblinded, direct;
    struct oprf_scalar blind, fixed;
    input(named(p, "Input"), &in);
    size_t dst_len = hex(named(dsts, "HashToGroup"), dst, sizeof dst);

    assert_int_equal(oprf_expand_message_xmd(uniform, 64, in.in.data, in.in.len, dst, dst_len),
                     OPRF_OK);
    assert_hex_equal(named(p, "HashToGroup"), uniform, 64);
    assert_int_equal(oprf_hash_to_group(OPRF_MODE_VOPRF, in.in.data, in.in.len, &e), OPRF_OK);
    assert_hex_equal(named(p, "inputElement"), e.bytes, 32);

    scalar(named(p, "Blind"), &fixed);
    assert_int_equal(oprf_blind(OPRF_MODE_VOPRF, &in.in, &fixed, &blind, &blinded), OPRF_OK);
    assert_hex_equal(named(p, "blindedElement"), blinded.bytes, 32);
    assert_int_equal(oprf_blind_evaluate(sk, &blinded, &evaluated), OPRF_OK);
    assert_hex_equal(named(p, "evaluatedElement"), evaluated.bytes, 32);

    assert_int_equal(crypto_core_ristretto255_scalar_invert(inv, blind.bytes), 0);
    assert_hex_equal(named(p, "blind^-1"), inv, 32);
    assert_int_equal(crypto_scalarmult_ristretto255(unblinded.bytes, inv, evaluated.bytes), 0);
    assert_hex_equal(named(p, "unblindedElement"), unblinded.bytes, 32);
    assert_int_equal(crypto_scalarmult_ristretto255(direct.bytes, sk->bytes, e.bytes), 0);
    assert_memory_equal(direct.bytes, unblinded.bytes, 32);

    size_t t_len = hex(named(p, "Finalize"), t, sizeof t);
    assert_int_equal(t_len, 2 + in.in.len + 2 + 32 + 8);
    assert_int_equal(t[0] << 8 | t[1], in.in.len);
    assert_memory_equal(t + 2, in.in.data, in.in.len);
    assert_memory_equal(t + 2 + in.in.len, "\x00\x20", 2);
    assert_memory_equal(t + 4 + in.in.len, unblinded.bytes, 32);
    assert_memory_equal(t + 36 + in.in.len, "Finalize", 8);
    crypto_hash_sha512(out, t, t_len);
    assert_hex_equal(named(p, "Output"), out, 64);

    unsigned char finalized[64];
    assert_int_equal(oprf_finalize(&in.in, &blind, &evaluated, finalized), OPRF_OK);
    assert_memory_equal(finalized, out, 64);
}

/* Seed, composites d_i, M and Z, then the challenge and the proof. */
static size_t check_proof_intermediates(const json_t *pr, const json_t *per, const json_t *dsts,
                                        const struct oprf_scalar *sk,
                                        const struct oprf_element *pk)
{
    size_t n = json_array_size(per);
    unsigned char t[MAX_HEX_BYTES], seed_dst[MAX_HEX_BYTES], seed[64], expect[MAX_HEX_BYTES];
    struct oprf_element C[2], D[2], M, Z, t2, t3, acc;
    struct oprf_scalar d, r, c, s, ck;
    assert_in_range(n, 1, 2);

    size_t t_len = hex(named(pr, "seedTranscript"), t, sizeof t);
    size_t sd_len = hex(named(dsts, "Seed-"), seed_dst, sizeof seed_dst);
    assert_int_equal(t_len, 2 + 32 + 2 + sd_len);
    assert_memory_equal(t + 2, pk->bytes, 32);
    assert_memory_equal(t + 36, seed_dst, sd_len);
    crypto_hash_sha512(seed, t, t_len);
    assert_hex_equal(named(pr, "seed"), seed, 64);

    const json_t *ds = named(pr, "d_i");
    assert_int_equal(json_array_size(ds), n);
    memset(acc.bytes, 0, 32);
    for (size_t i = 0; i < n; i++) {
        element(named(json_array_get(per, i), "blindedElement"), &C[i]);
        element(named(json_array_get(per, i), "evaluatedElement"), &D[i]);
        /* I2OSP(64,2) || seed || I2OSP(i,2) || lp(C_i) || lp(D_i) || "Composite" */
        size_t k = 0;
        unsigned char idx[2] = {0, (unsigned char)i};
        append_lp(t, &k, seed, 64);
        append(t, &k, idx, 2);
        append_lp(t, &k, C[i].bytes, 32);
        append_lp(t, &k, D[i].bytes, 32);
        append(t, &k, "Composite", 9);
        assert_int_equal(oprf_hash_to_scalar(OPRF_MODE_VOPRF, t, k, &d), OPRF_OK);
        assert_hex_equal(json_array_get(ds, i), d.bytes, 32);
        unsigned char term[32];
        assert_int_equal(crypto_scalarmult_ristretto255(term, d.bytes, C[i].bytes), 0);
        assert_int_equal(crypto_core_ristretto255_add(acc.bytes, acc.bytes, term), 0);
    }
    assert_hex_equal(named(pr, "M"), acc.bytes, 32);
    assert_int_equal(oprf_compute_composites(OPRF_MODE_VOPRF, pk, n, C, D, &M, &Z), OPRF_OK);
    assert_hex_equal(named(pr, "M"), M.bytes, 32);
    assert_hex_equal(named(pr, "Z"), Z.bytes, 32);
    assert_int_equal(crypto_scalarmult_ristretto255(acc.bytes, sk->bytes, M.bytes), 0);
    assert_memory_equal(acc.bytes, Z.bytes, 32); /* Z = skS * M: ComputeCompositesFast */

    scalar(named(pr, "r"), &r);
    assert_int_equal(crypto_scalarmult_ristretto255_base(t2.bytes, r.bytes), 0);
    assert_hex_equal(named(pr, "t2"), t2.bytes, 32);
    assert_int_equal(crypto_scalarmult_ristretto255(t3.bytes, r.bytes, M.bytes), 0);
    assert_hex_equal(named(pr, "t3"), t3.bytes, 32);

    const unsigned char *el[5] = {pk->bytes, M.bytes, Z.bytes, t2.bytes, t3.bytes};
    size_t k = 0;
    for (size_t i = 0; i < 5; i++)
        append_lp(t, &k, el[i], 32);
    append(t, &k, "Challenge", 9);
    assert_int_equal(hex(named(pr, "challengeTranscript"), expect, sizeof expect), k);
    assert_memory_equal(expect, t, k);
    assert_int_equal(oprf_hash_to_scalar(OPRF_MODE_VOPRF, t, k, &c), OPRF_OK);
    assert_hex_equal(named(pr, "c"), c.bytes, 32);
    crypto_core_ristretto255_scalar_mul(ck.bytes, c.bytes, sk->bytes);
    crypto_core_ristretto255_scalar_sub(s.bytes, r.bytes, ck.bytes);
    assert_hex_equal(named(pr, "s"), s.bytes, 32);

    struct oprf_element evaluated[2];
    struct oprf_proof proof;
    unsigned char proof_bytes[OPRF_PROOF_BYTES];
    assert_int_equal(oprf_voprf_blind_evaluate(sk, n, C, evaluated, &proof, &r), OPRF_OK);
    oprf_proof_serialize(&proof, proof_bytes);
    assert_hex_equal(named(pr, "Proof"), proof_bytes, sizeof proof_bytes);
    return n;
}

static void voprf_intermediates_match(void **state)
{
    (void)state;
    json_t *root = load(INTERMEDIATES_FILE);
    json_t *suite = load(SUITE_FILE);
    const json_t *dsts = get(root, "DST");
    unsigned char ctx[OPRF_CONTEXT_STRING_BYTES];
    struct oprf_scalar sk;
    struct oprf_element pk;
    assert_int_equal(oprf_context_string(OPRF_MODE_VOPRF, ctx), OPRF_OK);
    assert_hex_equal(get(root, "contextString"), ctx, sizeof ctx);
    suite_key(get(get(suite, "modes"), "VOPRF"), OPRF_MODE_VOPRF, &sk, &pk);

    size_t i, vectors = 0, inputs = 0, composites = 0;
    const json_t *v;
    json_array_foreach(get(root, "vectors"), i, v) {
        size_t j;
        const json_t *p;
        json_array_foreach(get(v, "perInput"), j, p) {
            check_per_input(p, dsts, &sk);
            inputs++;
        }
        composites += check_proof_intermediates(get(v, "proof"), get(v, "perInput"), dsts, &sk,
                                                &pk);
        vectors++;
    }
    assert_int_equal(vectors, json_array_size(get(root, "vectors")));
    assert_int_equal(vectors, 3);
    assert_int_equal(inputs, 4);
    assert_int_equal(composites, 4);
    json_decref(suite);
    json_decref(root);
}

/* ==== inputs that must be refused ======================================== */

/*
 * Deserializes the case the way a client would, then runs VOPRF Finalize;
 * the first error is the verdict. When every length is right the same
 * bytes are also handed to Finalize raw, skipping deserialization, which
 * must still refuse them.
 */
static enum oprf_status run_reject_case(const json_t *c, bool *raw_agrees)
{
    size_t n = json_array_size(get(c, "inputs"));
    struct input_buf in[2];
    struct oprf_input inputs[2];
    struct oprf_scalar blinds[2];
    struct oprf_element blinded[2], evaluated[2], pk;
    struct oprf_proof proof;
    unsigned char b[MAX_HEX_BYTES], outputs[2][OPRF_OUTPUT_BYTES];
    enum oprf_status st = OPRF_OK;
    bool lengths_ok = true;
    memset(b, 0, sizeof b);

    assert_in_range(n, 1, 2);
    for (size_t i = 0; i < n; i++) {
        input(json_array_get(get(c, "inputs"), i), &in[i]);
        inputs[i] = in[i].in;
        scalar(json_array_get(get(c, "blinds"), i), &blinds[i]);
        size_t len = hex(json_array_get(get(c, "blindedElements"), i), b, sizeof b);
        lengths_ok = lengths_ok && len == 32;
        memcpy(blinded[i].bytes, b, 32);
        if (st == OPRF_OK)
            st = oprf_element_deserialize(&blinded[i], b, len);
        len = hex(json_array_get(get(c, "evaluatedElements"), i), b, sizeof b);
        lengths_ok = lengths_ok && len == 32;
        memcpy(evaluated[i].bytes, b, 32);
        if (st == OPRF_OK)
            st = oprf_element_deserialize(&evaluated[i], b, len);
    }
    size_t len = hex(get(c, "pkS"), b, sizeof b);
    lengths_ok = lengths_ok && len == 32;
    memcpy(pk.bytes, b, 32);
    if (st == OPRF_OK)
        st = oprf_element_deserialize(&pk, b, len);
    len = hex(get(c, "proof"), b, sizeof b);
    lengths_ok = lengths_ok && len == OPRF_PROOF_BYTES;
    memcpy(proof.c.bytes, b, 32);
    memcpy(proof.s.bytes, b + 32, 32);
    if (st == OPRF_OK)
        st = oprf_proof_deserialize(&proof, b, len);
    if (st == OPRF_OK)
        st = oprf_voprf_finalize(n, inputs, blinds, evaluated, blinded, &pk, &proof, outputs);

    *raw_agrees = true;
    if (lengths_ok && st != OPRF_OK) {
        /* reload the raw bytes over whatever deserialization left */
        for (size_t i = 0; i < n; i++) {
            hex_exact(json_array_get(get(c, "blindedElements"), i), blinded[i].bytes, 32);
            hex_exact(json_array_get(get(c, "evaluatedElements"), i), evaluated[i].bytes, 32);
        }
        hex_exact(get(c, "pkS"), pk.bytes, 32);
        hex_exact(get(c, "proof"), b, OPRF_PROOF_BYTES);
        memcpy(proof.c.bytes, b, 32);
        memcpy(proof.s.bytes, b + 32, 32);
        memset(outputs, 0xaa, sizeof outputs);
        enum oprf_status raw =
            oprf_voprf_finalize(n, inputs, blinds, evaluated, blinded, &pk, &proof, outputs);
        *raw_agrees = raw == st && sodium_is_zero(&outputs[0][0], n * OPRF_OUTPUT_BYTES);
    }
    return st;
}

static void must_reject_inputs_are_refused_with_the_rfc_error(void **state)
{
    (void)state;
    json_t *root = load(INTERMEDIATES_FILE);
    size_t i, checked = 0;
    const json_t *c;
    json_array_foreach(get(root, "mustReject"), i, c) {
        const char *name = json_string_value(get(c, "name"));
        enum oprf_status want = status_named(json_string_value(get(c, "expect")));
        bool raw_agrees;
        enum oprf_status got = run_reject_case(c, &raw_agrees);
        if (got != want)
            fail_msg("\"%s\": got %s, want %s", name, oprf_status_str(got), oprf_status_str(want));
        if (!raw_agrees)
            fail_msg("\"%s\": Finalize on raw bytes disagrees", name);
        checked++;
    }
    assert_int_equal(checked, json_array_size(get(root, "mustReject")));
    assert_int_equal(checked, 11);
    json_decref(root);
}

/* ==== building blocks (RFC 9380, RFC 9496) =============================== */

static void expand_message_xmd_matches_rfc9380_vectors(void **state)
{
    (void)state;
    json_t *root = load(BLOCKS_FILE);
    const json_t *x = get(root, "expand_message_xmd_sha512");
    const char *dst = json_string_value(get(x, "DST_ascii"));
    size_t i, checked = 0;
    const json_t *v;
    json_array_foreach(get(x, "vectors"), i, v) {
        const char *msg = json_string_value(get(v, "msg_ascii"));
        size_t len = (size_t)json_integer_value(get(v, "len_in_bytes"));
        unsigned char out[MAX_HEX_BYTES];
        assert_in_range(len, 1, sizeof out);
        assert_int_equal(oprf_expand_message_xmd(out, len, (const unsigned char *)msg, strlen(msg),
                                                 (const unsigned char *)dst, strlen(dst)),
                         OPRF_OK);
        assert_hex_equal(get(v, "uniform_bytes"), out, len);
        checked++;
    }
    assert_int_equal(checked, json_array_size(get(x, "vectors")));
    assert_int_equal(checked, 3);
    json_decref(root);
}

/* No vector in the files has a DST over 255 bytes: checks §5.3.3 by its
 * definition, and that 255 bytes are still used as they are. */
static void expand_message_xmd_hashes_an_oversize_dst(void **state)
{
    (void)state;
    unsigned char dst[17 + 300], hashed[64], a[100], b[100];
    memcpy(dst, "H2C-OVERSIZE-DST-", 17);
    memset(dst + 17, 'D', 300);
    crypto_hash_sha512(hashed, dst, sizeof dst);
    assert_int_equal(oprf_expand_message_xmd(a, sizeof a, (const unsigned char *)"abc", 3,
                                             dst + 17, 300),
                     OPRF_OK);
    assert_int_equal(oprf_expand_message_xmd(b, sizeof b, (const unsigned char *)"abc", 3, hashed,
                                             sizeof hashed),
                     OPRF_OK);
    assert_memory_equal(a, b, sizeof a);

    crypto_hash_sha512(hashed, dst, 17 + 255);
    assert_int_equal(oprf_expand_message_xmd(a, sizeof a, (const unsigned char *)"abc", 3,
                                             dst + 17, 255),
                     OPRF_OK);
    assert_int_equal(oprf_expand_message_xmd(b, sizeof b, (const unsigned char *)"abc", 3, hashed,
                                             sizeof hashed),
                     OPRF_OK);
    assert_memory_not_equal(a, b, sizeof a);
}

static void expand_message_xmd_refuses_lengths_out_of_range(void **state)
{
    (void)state;
    static unsigned char out[OPRF_XMD_MAX_BYTES + 1];
    const unsigned char dst[] = "QUUX-V01-CS02-with-expander-SHA512-256";
    assert_int_equal(oprf_expand_message_xmd(out, 0, NULL, 0, dst, sizeof dst - 1),
                     OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_expand_message_xmd(out, OPRF_XMD_MAX_BYTES + 1, NULL, 0, dst,
                                             sizeof dst - 1),
                     OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_expand_message_xmd(out, 64, NULL, 0, dst, 0), OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_expand_message_xmd(out, OPRF_XMD_MAX_BYTES, NULL, 0, dst, sizeof dst - 1),
                     OPRF_OK);
    assert_false(sodium_is_zero(out + OPRF_XMD_MAX_BYTES - 64, 64)); /* the 255th block is written */
}

static void element_derivation_matches_rfc9496_vectors(void **state)
{
    (void)state;
    json_t *root = load(BLOCKS_FILE);
    size_t i, checked = 0;
    const json_t *v;
    json_array_foreach(get(get(root, "ristretto255_element_derivation"), "vectors"), i, v) {
        unsigned char in[64], out[32];
        hex_exact(get(v, "input"), in, sizeof in);
        assert_int_equal(crypto_core_ristretto255_from_hash(out, in), 0);
        assert_hex_equal(get(v, "output"), out, sizeof out);
        checked++;
    }
    assert_int_equal(checked, 7);
    json_decref(root);
}

static void invalid_encodings_are_refused(void **state)
{
    (void)state;
    json_t *root = load(BLOCKS_FILE);
    struct oprf_scalar sk;
    struct oprf_element pk, e, out;
    oprf_generate_key_pair(&sk, &pk);
    size_t i, checked = 0;
    const json_t *v;
    json_array_foreach(get(get(root, "ristretto255_invalid_encodings"), "vectors"), i, v) {
        unsigned char b[32];
        hex_exact(v, b, sizeof b);
        assert_int_equal(oprf_element_deserialize(&e, b, sizeof b), OPRF_ERR_DESERIALIZE);
        memcpy(e.bytes, b, sizeof b); /* a caller that skipped deserialization */
        assert_int_equal(oprf_blind_evaluate(&sk, &e, &out), OPRF_ERR_DESERIALIZE);
        checked++;
    }
    assert_int_equal(checked, 10);
    json_decref(root);
}

static void generator_multiples_match_rfc9496_vectors(void **state)
{
    (void)state;
    json_t *root = load(BLOCKS_FILE);
    size_t i, checked = 0;
    const json_t *v;
    json_array_foreach(get(get(root, "ristretto255_generator_multiples"), "vectors"), i, v) {
        unsigned char b[32], k[32] = {0}, p[32];
        struct oprf_element e;
        hex_exact(v, b, sizeof b);
        k[0] = (unsigned char)i;
        if (i == 0) { /* the identity: valid, but refused */
            assert_true(sodium_is_zero(b, sizeof b));
            assert_int_equal(oprf_element_deserialize(&e, b, sizeof b), OPRF_ERR_DESERIALIZE);
        } else {
            assert_int_equal(crypto_scalarmult_ristretto255_base(p, k), 0);
            assert_memory_equal(p, b, sizeof b);
            assert_int_equal(oprf_element_deserialize(&e, b, sizeof b), OPRF_OK);
        }
        checked++;
    }
    assert_int_equal(checked, 16);
    json_decref(root);
}

/* ==== refusals beyond the vector files =================================== */

static void server_refuses_identity_blinded_element(void **state)
{
    (void)state;
    unsigned char zero[32] = {0};
    struct oprf_scalar sk;
    struct oprf_element pk, id, evaluated[1];
    struct oprf_proof proof;
    struct oprf_input info = {(const unsigned char *)"i", 1};
    oprf_generate_key_pair(&sk, &pk);
    assert_int_equal(oprf_element_deserialize(&id, zero, sizeof zero), OPRF_ERR_DESERIALIZE);
    memset(id.bytes, 0, sizeof id.bytes);
    assert_int_equal(oprf_blind_evaluate(&sk, &id, &evaluated[0]), OPRF_ERR_DESERIALIZE);
    assert_int_equal(oprf_voprf_blind_evaluate(&sk, 1, &id, evaluated, &proof, NULL),
                     OPRF_ERR_DESERIALIZE);
    assert_int_equal(oprf_poprf_blind_evaluate(&sk, &info, 1, &id, evaluated, &proof, NULL),
                     OPRF_ERR_DESERIALIZE);
}

static void client_refuses_identity_evaluated_element_and_public_key(void **state)
{
    (void)state;
    struct oprf_input in = {(const unsigned char *)"token", 5}, info = {NULL, 0};
    struct oprf_scalar blind;
    struct oprf_element blinded, id, tweaked;
    unsigned char out[OPRF_OUTPUT_BYTES];
    memset(id.bytes, 0, sizeof id.bytes);
    assert_int_equal(oprf_blind(OPRF_MODE_OPRF, &in, NULL, &blind, &blinded), OPRF_OK);
    assert_int_equal(oprf_finalize(&in, &blind, &id, out), OPRF_ERR_DESERIALIZE);
    assert_int_equal(oprf_poprf_blind(&in, &info, &id, NULL, &blind, &blinded, &tweaked),
                     OPRF_ERR_DESERIALIZE);
}

static void non_canonical_scalars_are_refused(void **state)
{
    (void)state;
    static const unsigned char order[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10,
    };
    unsigned char b[64];
    struct oprf_scalar s;
    struct oprf_proof p;
    memcpy(b, order, 32);
    assert_int_equal(oprf_scalar_deserialize(&s, b, 32), OPRF_ERR_DESERIALIZE); /* L */
    b[0]++;
    assert_int_equal(oprf_scalar_deserialize(&s, b, 32), OPRF_ERR_DESERIALIZE); /* L + 1 */
    memset(b, 0xff, 32);
    assert_int_equal(oprf_scalar_deserialize(&s, b, 32), OPRF_ERR_DESERIALIZE); /* 2^256 - 1 */
    memcpy(b, order, 32);
    b[0]--;
    assert_int_equal(oprf_scalar_deserialize(&s, b, 32), OPRF_OK); /* L - 1 */
    memset(b, 0, 32);
    assert_int_equal(oprf_scalar_deserialize(&s, b, 32), OPRF_OK); /* 0 */
    assert_int_equal(oprf_scalar_deserialize(&s, b, 31), OPRF_ERR_DESERIALIZE);
    assert_int_equal(oprf_scalar_deserialize(&s, b, 33), OPRF_ERR_DESERIALIZE);
    memset(b, 0, 64);
    assert_int_equal(oprf_proof_deserialize(&p, b, 64), OPRF_OK);
    assert_int_equal(oprf_proof_deserialize(&p, b, 65), OPRF_ERR_DESERIALIZE);
    memcpy(b + 32, order, 32);
    assert_int_equal(oprf_proof_deserialize(&p, b, 64), OPRF_ERR_DESERIALIZE);
}

static void batch_sizes_and_lengths_outside_limits_are_refused(void **state)
{
    (void)state;
    static unsigned char big[OPRF_MAX_INPUT_BYTES + 1];
    static struct oprf_element blinded[OPRF_MAX_BATCH + 1], evaluated[OPRF_MAX_BATCH + 1];
    struct oprf_scalar sk, blind;
    struct oprf_element pk, e;
    struct oprf_proof proof;
    struct oprf_input in = {big, sizeof big}, ok = {big, OPRF_MAX_INPUT_BYTES};
    unsigned char out[OPRF_OUTPUT_BYTES];
    oprf_generate_key_pair(&sk, &pk);
    for (size_t i = 0; i <= OPRF_MAX_BATCH; i++)
        blinded[i] = pk;
    assert_int_equal(oprf_voprf_blind_evaluate(&sk, 0, blinded, evaluated, &proof, NULL),
                     OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_voprf_blind_evaluate(&sk, OPRF_MAX_BATCH + 1, blinded, evaluated,
                                               &proof, NULL),
                     OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_voprf_blind_evaluate(&sk, OPRF_MAX_BATCH, blinded, evaluated, &proof,
                                               NULL),
                     OPRF_OK);
    assert_int_equal(oprf_blind(OPRF_MODE_VOPRF, &in, NULL, &blind, &e), OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_evaluate(OPRF_MODE_VOPRF, &sk, &in, out), OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_blind(OPRF_MODE_VOPRF, &ok, NULL, &blind, &e), OPRF_OK);
    assert_int_equal(oprf_blind(OPRF_MODE_POPRF, &ok, NULL, &blind, &e), OPRF_ERR_ARGUMENT);
    assert_int_equal(oprf_evaluate((enum oprf_mode)7, &sk, &ok, out), OPRF_ERR_ARGUMENT);
}

static void zero_blind_is_refused(void **state)
{
    (void)state;
    struct oprf_input in = {(const unsigned char *)"x", 1};
    struct oprf_scalar zero, blind;
    struct oprf_element blinded, evaluated;
    unsigned char out[OPRF_OUTPUT_BYTES];
    memset(&zero, 0, sizeof zero);
    assert_int_equal(oprf_blind(OPRF_MODE_OPRF, &in, &zero, &blind, &blinded),
                     OPRF_ERR_INVALID_INPUT);
    assert_int_equal(oprf_hash_to_group(OPRF_MODE_OPRF, in.data, in.len, &evaluated), OPRF_OK);
    assert_int_equal(oprf_finalize(&in, &zero, &evaluated, out), OPRF_ERR_INVERSE);
}

/* ==== protocol runs with fresh randomness ================================ */

static void fresh_inputs(struct input_buf in[], struct oprf_input inputs[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        randombytes_buf(in[i].bytes, 32);
        in[i].in = (struct oprf_input){in[i].bytes, 32};
        inputs[i] = in[i].in;
    }
}

static void voprf_round_trip_with_fresh_blinds_gives_the_server_output(void **state)
{
    (void)state;
    enum { N = 10 };
    struct input_buf in[N];
    struct oprf_input inputs[N];
    struct oprf_scalar sk, blinds[N];
    struct oprf_element pk, blinded[N], evaluated[N];
    struct oprf_proof proof;
    unsigned char outputs[N][OPRF_OUTPUT_BYTES], server[OPRF_OUTPUT_BYTES];
    unsigned char seed[OPRF_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    assert_int_equal(oprf_derive_key_pair(OPRF_MODE_VOPRF, seed, NULL, 0, &sk, &pk), OPRF_OK);
    fresh_inputs(in, inputs, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(oprf_blind(OPRF_MODE_VOPRF, &inputs[i], NULL, &blinds[i], &blinded[i]),
                         OPRF_OK);
    assert_int_equal(oprf_voprf_blind_evaluate(&sk, N, blinded, evaluated, &proof, NULL), OPRF_OK);
    assert_int_equal(oprf_voprf_finalize(N, inputs, blinds, evaluated, blinded, &pk, &proof,
                                         outputs),
                     OPRF_OK);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(oprf_evaluate(OPRF_MODE_VOPRF, &sk, &inputs[i], server), OPRF_OK);
        assert_true(oprf_output_equal(outputs[i], server));
        /* a token for another input, or another mode's output, does not pass */
        assert_false(oprf_output_equal(outputs[(i + 1) % N], server));
        assert_int_equal(oprf_evaluate(OPRF_MODE_OPRF, &sk, &inputs[i], server), OPRF_OK);
        assert_false(oprf_output_equal(outputs[i], server));
    }
}

static void poprf_round_trip_with_fresh_blinds_gives_the_server_output(void **state)
{
    (void)state;
    enum { N = 3 };
    struct input_buf in[N];
    struct oprf_input inputs[N], info = {(const unsigned char *)"2025-06", 7};
    struct oprf_input other = {(const unsigned char *)"2025-07", 7};
    struct oprf_scalar sk, blinds[N];
    struct oprf_element pk, blinded[N], evaluated[N], tweaked;
    struct oprf_proof proof;
    unsigned char outputs[N][OPRF_OUTPUT_BYTES], server[OPRF_OUTPUT_BYTES];
    oprf_generate_key_pair(&sk, &pk);
    fresh_inputs(in, inputs, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(oprf_poprf_blind(&inputs[i], &info, &pk, NULL, &blinds[i], &blinded[i],
                                          &tweaked),
                         OPRF_OK);
    assert_int_equal(oprf_poprf_blind_evaluate(&sk, &info, N, blinded, evaluated, &proof, NULL),
                     OPRF_OK);
    assert_int_equal(oprf_poprf_finalize(N, inputs, blinds, evaluated, blinded, &info, &tweaked,
                                         &proof, outputs),
                     OPRF_OK);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(oprf_poprf_evaluate(&sk, &inputs[i], &info, server), OPRF_OK);
        assert_true(oprf_output_equal(outputs[i], server));
        assert_int_equal(oprf_poprf_evaluate(&sk, &inputs[i], &other, server), OPRF_OK);
        assert_false(oprf_output_equal(outputs[i], server));
    }
}

static void proof_from_another_key_fails_to_verify(void **state)
{
    (void)state;
    enum { N = 2 };
    struct input_buf in[N];
    struct oprf_input inputs[N];
    struct oprf_scalar sk1, sk2, blinds[N];
    struct oprf_element pk1, pk2, blinded[N], evaluated[N];
    struct oprf_proof proof;
    unsigned char outputs[N][OPRF_OUTPUT_BYTES];
    oprf_generate_key_pair(&sk1, &pk1);
    oprf_generate_key_pair(&sk2, &pk2);
    fresh_inputs(in, inputs, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(oprf_blind(OPRF_MODE_VOPRF, &inputs[i], NULL, &blinds[i], &blinded[i]),
                         OPRF_OK);
    /* the server answers with key 2, the client expects key 1 */
    assert_int_equal(oprf_voprf_blind_evaluate(&sk2, N, blinded, evaluated, &proof, NULL), OPRF_OK);
    memset(outputs, 0xaa, sizeof outputs);
    assert_int_equal(oprf_voprf_finalize(N, inputs, blinds, evaluated, blinded, &pk1, &proof,
                                         outputs),
                     OPRF_ERR_VERIFY);
    assert_true(sodium_is_zero(&outputs[0][0], sizeof outputs));
    assert_int_equal(oprf_voprf_finalize(N, inputs, blinds, evaluated, blinded, &pk2, &proof,
                                         outputs),
                     OPRF_OK);

    /* key 1's evaluations with key 2's proof do not pass either */
    struct oprf_element honest[N];
    struct oprf_proof honest_proof;
    assert_int_equal(oprf_voprf_blind_evaluate(&sk1, N, blinded, honest, &honest_proof, NULL),
                     OPRF_OK);
    assert_int_equal(oprf_voprf_finalize(N, inputs, blinds, honest, blinded, &pk1, &proof, outputs),
                     OPRF_ERR_VERIFY);
}

static void output_equal_compares_every_byte(void **state)
{
    (void)state;
    unsigned char a[OPRF_OUTPUT_BYTES], b[OPRF_OUTPUT_BYTES];
    randombytes_buf(a, sizeof a);
    memcpy(b, a, sizeof b);
    assert_true(oprf_output_equal(a, b));
    b[OPRF_OUTPUT_BYTES - 1] ^= 1;
    assert_false(oprf_output_equal(a, b));
    b[OPRF_OUTPUT_BYTES - 1] ^= 1;
    b[0] ^= 0x80;
    assert_false(oprf_output_equal(a, b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(derive_key_pair_matches_rfc_keys),
        cmocka_unit_test(oprf_mode_matches_rfc_vectors),
        cmocka_unit_test(voprf_single_elements_match_rfc_vectors),
        cmocka_unit_test(voprf_batch_of_two_matches_rfc_vectors),
        cmocka_unit_test(poprf_single_elements_match_rfc_vectors),
        cmocka_unit_test(poprf_batch_of_two_matches_rfc_vectors),
        cmocka_unit_test(derive_key_pair_intermediates_match),
        cmocka_unit_test(voprf_intermediates_match),
        cmocka_unit_test(must_reject_inputs_are_refused_with_the_rfc_error),
        cmocka_unit_test(expand_message_xmd_matches_rfc9380_vectors),
        cmocka_unit_test(expand_message_xmd_hashes_an_oversize_dst),
        cmocka_unit_test(expand_message_xmd_refuses_lengths_out_of_range),
        cmocka_unit_test(element_derivation_matches_rfc9496_vectors),
        cmocka_unit_test(invalid_encodings_are_refused),
        cmocka_unit_test(generator_multiples_match_rfc9496_vectors),
        cmocka_unit_test(server_refuses_identity_blinded_element),
        cmocka_unit_test(client_refuses_identity_evaluated_element_and_public_key),
        cmocka_unit_test(non_canonical_scalars_are_refused),
        cmocka_unit_test(batch_sizes_and_lengths_outside_limits_are_refused),
        cmocka_unit_test(zero_blind_is_refused),
        cmocka_unit_test(voprf_round_trip_with_fresh_blinds_gives_the_server_output),
        cmocka_unit_test(poprf_round_trip_with_fresh_blinds_gives_the_server_output),
        cmocka_unit_test(proof_from_another_key_fails_to_verify),
        cmocka_unit_test(output_equal_compares_every_byte),
    };
    return cmocka_run_group_tests_name("crypto/oprf", tests, init, NULL);
}
