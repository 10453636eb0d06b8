/* Tests service/src/domain/token_keys.c: epochs in UTC, key ids, and the
 * per-epoch VOPRF key; and that a token a client finalizes is what the
 * server's own Evaluate computes with the epoch key (what redemption will
 * compare). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "domain/token_keys.h"

#define DAY 86400LL
/* date -u -d 2026-11-01 +%s, and so on */
#define T_2026_11_01 1793491200LL
#define T_2026_12_01 1796083200LL
#define T_2027_01_01 1798761600LL
#define T_2028_02_01 1832976000LL
#define T_2028_03_01 1835481600LL

static int init(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void month_epochs_run_from_first_to_first_with_the_grace_after(void **state)
{
    (void)state;
    struct token_epoch e;
    assert_true(token_epoch_at(0, 7, T_2026_11_01 + 14 * DAY + 3600, &e));
    assert_string_equal(e.key_id, "2026-11");
    assert_int_equal(e.not_before, T_2026_11_01);
    assert_int_equal(e.not_after, T_2026_12_01);
    assert_int_equal(e.redeem_until, T_2026_12_01 + 7 * DAY);
    assert_true(token_epoch_at(0, 0, T_2026_11_01, &e));
    assert_int_equal(e.redeem_until, e.not_after);
}

static void the_boundary_second_belongs_to_the_new_month(void **state)
{
    (void)state;
    struct token_epoch e;
    assert_true(token_epoch_at(0, 7, T_2026_12_01 - 1, &e));
    assert_string_equal(e.key_id, "2026-11");
    assert_true(token_epoch_at(0, 7, T_2026_12_01, &e));
    assert_string_equal(e.key_id, "2026-12");
}

static void december_is_followed_by_january(void **state)
{
    (void)state;
    struct token_epoch e, next;
    assert_true(token_epoch_at(0, 7, T_2026_12_01 + DAY, &e));
    assert_true(token_epoch_next(0, 7, &e, &next));
    assert_string_equal(next.key_id, "2027-01");
    assert_int_equal(next.not_before, T_2027_01_01);
    assert_int_equal(next.not_before, e.not_after);
}

static void february_of_a_leap_year_has_29_days(void **state)
{
    (void)state;
    struct token_epoch e;
    assert_true(token_epoch_at(0, 7, T_2028_02_01 + 28 * DAY, &e)); /* 2028-02-29 */
    assert_string_equal(e.key_id, "2028-02");
    assert_int_equal(e.not_after - e.not_before, 29 * DAY);
    assert_int_equal(e.not_after, T_2028_03_01);
}

static void day_epochs_start_every_n_days_since_1970(void **state)
{
    (void)state;
    struct token_epoch e, next;
    /* 2026-11-01 is day 20758 since 1970-01-01; 20758 = 7 * 2965 + 3. */
    assert_true(token_epoch_at(7, 2, T_2026_11_01, &e));
    assert_int_equal(e.not_before, T_2026_11_01 - 3 * DAY);
    assert_int_equal(e.not_after - e.not_before, 7 * DAY);
    assert_int_equal(e.redeem_until, e.not_after + 2 * DAY);
    assert_string_equal(e.key_id, "2026-10-29");
    assert_true(token_epoch_next(7, 2, &e, &next));
    assert_string_equal(next.key_id, "2026-11-05");
    assert_true(token_epoch_at(1, 0, T_2026_11_01 + DAY - 1, &e));
    assert_string_equal(e.key_id, "2026-11-01");
}

static void times_outside_four_digit_years_are_refused(void **state)
{
    (void)state;
    struct token_epoch e;
    assert_false(token_epoch_at(0, 7, -1, &e));
    assert_false(token_epoch_at(0, 7, 253370764800LL, &e)); /* 9999-01-01 */
    assert_true(token_epoch_at(0, 7, 253370764799LL, &e));
    assert_string_equal(e.key_id, "9998-12");
    struct token_epoch next;
    assert_false(token_epoch_next(0, 7, &e, &next));
}

static void only_canonical_key_ids_parse(void **state)
{
    (void)state;
    struct token_epoch e;
    assert_true(token_epoch_parse(0, 7, "2026-11", &e));
    assert_int_equal(e.not_before, T_2026_11_01);
    assert_int_equal(e.redeem_until, T_2026_12_01 + 7 * DAY);
    static const char *const bad_months[] = {
        "2026-13", "2026-00", "2026-1", "2026-011", "26-11", "2026/11", "2026-11-01",
        "", "2026-1a", " 2026-11", "1969-12",
    };
    for (size_t i = 0; i < sizeof bad_months / sizeof bad_months[0]; i++)
        assert_false(token_epoch_parse(0, 7, bad_months[i], &e));

    assert_true(token_epoch_parse(7, 7, "2026-10-29", &e));
    assert_int_equal(e.not_before, T_2026_11_01 - 3 * DAY);
    assert_false(token_epoch_parse(7, 7, "2026-10-30", &e)); /* not an epoch start */
    assert_false(token_epoch_parse(7, 7, "2026-02-30", &e)); /* no such day */
    assert_false(token_epoch_parse(7, 7, "2026-11", &e));
    assert_true(token_epoch_parse(1, 7, "2028-02-29", &e));
    assert_false(token_epoch_parse(1, 7, "2027-02-29", &e));
}

static void times_are_rfc3339_utc(void **state)
{
    (void)state;
    char out[TOKEN_TIME_CHARS + 1];
    token_time_format(T_2026_11_01, out);
    assert_string_equal(out, "2026-11-01T00:00:00Z");
    token_time_format(T_2026_11_01 + 3661, out);
    assert_string_equal(out, "2026-11-01T01:01:01Z");
}

/* ---- keys --------------------------------------------------------------- */

static const unsigned char seed[SECRET_BYTES] = {
    0xa3, 0x1f, 0x00, 0x42, 0x7e, 0x99, 0x10, 0x55, 0x3c, 0xd0, 0x08, 0x6b, 0xfe, 0x21, 0x77, 0x01,
    0x5a, 0x5a, 0x13, 0x37, 0xc0, 0xde, 0xba, 0xbe, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
};

static void the_unit_key_is_derive_key_pair_with_the_key_id_and_unit_as_info(void **state)
{
    (void)state;
    struct oprf_scalar sk, sk2;
    struct oprf_element pk, pk2;
    assert_int_equal(token_key_derive(seed, "2026-11", 7, &sk, &pk), OPRF_OK);
    static const char info[] = "yijian token key 2026-11 unit 7";
    assert_int_equal(oprf_derive_key_pair(OPRF_MODE_VOPRF, seed, (const unsigned char *)info,
                                          sizeof info - 1, &sk2, &pk2),
                     OPRF_OK);
    assert_memory_equal(sk.bytes, sk2.bytes, sizeof sk.bytes);
    assert_memory_equal(pk.bytes, pk2.bytes, sizeof pk.bytes);
    /* Deterministic, and different for another epoch, unit or seed. */
    assert_int_equal(token_key_derive(seed, "2026-11", 7, &sk2, &pk2), OPRF_OK);
    assert_memory_equal(pk.bytes, pk2.bytes, sizeof pk.bytes);
    assert_int_equal(token_key_derive(seed, "2026-12", 7, &sk2, &pk2), OPRF_OK);
    assert_memory_not_equal(pk.bytes, pk2.bytes, sizeof pk.bytes);
    assert_int_equal(token_key_derive(seed, "2026-11", 8, &sk2, &pk2), OPRF_OK);
    assert_memory_not_equal(pk.bytes, pk2.bytes, sizeof pk.bytes);
    /* "unit 7" and "unit 70" are different infos, not prefixes of one key. */
    assert_int_equal(token_key_derive(seed, "2026-11", 70, &sk2, &pk2), OPRF_OK);
    assert_memory_not_equal(pk.bytes, pk2.bytes, sizeof pk.bytes);
    unsigned char other[SECRET_BYTES];
    memcpy(other, seed, sizeof other);
    other[0] ^= 1;
    assert_int_equal(token_key_derive(other, "2026-11", 7, &sk2, &pk2), OPRF_OK);
    assert_memory_not_equal(pk.bytes, pk2.bytes, sizeof pk.bytes);
    assert_int_equal(token_key_derive(seed, "2026-11-01-x", 7, &sk2, &pk2), OPRF_ERR_ARGUMENT);
    assert_int_equal(token_key_derive(seed, "2026-11", -1, &sk2, &pk2), OPRF_ERR_ARGUMENT);
}

/* The client side of crypto/oprf blinds, the server evaluates the batch
 * with the epoch key, the client verifies and finalizes: each output is
 * what the server's unblinded Evaluate computes for that input. */
static void a_finalized_token_equals_evaluate_with_the_epoch_key(void **state)
{
    (void)state;
    struct oprf_scalar sk;
    struct oprf_element pk;
    assert_int_equal(token_key_derive(seed, "2026-11", 7, &sk, &pk), OPRF_OK);

    enum { N = 3 };
    unsigned char raw[N][32];
    struct oprf_input inputs[N];
    struct oprf_scalar blinds[N];
    struct oprf_element blinded[N], evaluated[N];
    for (size_t i = 0; i < N; i++) {
        randombytes_buf(raw[i], sizeof raw[i]);
        inputs[i] = (struct oprf_input){ raw[i], sizeof raw[i] };
        assert_int_equal(oprf_blind(OPRF_MODE_VOPRF, &inputs[i], NULL, &blinds[i], &blinded[i]),
                         OPRF_OK);
    }
    struct oprf_proof proof;
    assert_int_equal(oprf_voprf_blind_evaluate(&sk, N, blinded, evaluated, &proof, NULL), OPRF_OK);
    unsigned char outputs[N][OPRF_OUTPUT_BYTES];
    assert_int_equal(oprf_voprf_finalize(N, inputs, blinds, evaluated, blinded, &pk, &proof, outputs),
                     OPRF_OK);
    for (size_t i = 0; i < N; i++) {
        unsigned char expect[OPRF_OUTPUT_BYTES];
        assert_int_equal(oprf_evaluate(OPRF_MODE_VOPRF, &sk, &inputs[i], expect), OPRF_OK);
        assert_true(oprf_output_equal(outputs[i], expect));
    }

    /* With the next epoch's key the output differs: a token is bound to its epoch. */
    struct oprf_scalar sk_next;
    struct oprf_element pk_next;
    assert_int_equal(token_key_derive(seed, "2026-12", 7, &sk_next, &pk_next), OPRF_OK);
    unsigned char other[OPRF_OUTPUT_BYTES];
    assert_int_equal(oprf_evaluate(OPRF_MODE_VOPRF, &sk_next, &inputs[0], other), OPRF_OK);
    assert_false(oprf_output_equal(outputs[0], other));
    /* and the proof does not verify against the next key. */
    assert_int_equal(oprf_voprf_finalize(N, inputs, blinds, evaluated, blinded, &pk_next, &proof,
                                         outputs),
                     OPRF_ERR_VERIFY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(month_epochs_run_from_first_to_first_with_the_grace_after),
        cmocka_unit_test(the_boundary_second_belongs_to_the_new_month),
        cmocka_unit_test(december_is_followed_by_january),
        cmocka_unit_test(february_of_a_leap_year_has_29_days),
        cmocka_unit_test(day_epochs_start_every_n_days_since_1970),
        cmocka_unit_test(times_outside_four_digit_years_are_refused),
        cmocka_unit_test(only_canonical_key_ids_parse),
        cmocka_unit_test(times_are_rfc3339_utc),
        cmocka_unit_test(the_unit_key_is_derive_key_pair_with_the_key_id_and_unit_as_info),
        cmocka_unit_test(a_finalized_token_equals_evaluate_with_the_epoch_key),
    };
    return cmocka_run_group_tests_name("domain/token_keys", tests, init, NULL);
}
