/* Tests service/src/crypto/tokens.c: session tokens and activation codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "crypto/tokens.h"

static int init(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void tokens_are_256_bit_base64url_and_distinct(void **state)
{
    (void)state;
    char a[TOKEN_CHARS + 1], b[TOKEN_CHARS + 1];
    token_new(a);
    token_new(b);
    assert_int_equal(strlen(a), 43);
    assert_true(token_well_formed(a));
    assert_string_not_equal(a, b);
    unsigned char raw[40];
    size_t n = 0;
    assert_int_equal(sodium_base642bin(raw, sizeof raw, a, strlen(a), NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    assert_int_equal(n, 32);
}

static void malformed_tokens_are_refused(void **state)
{
    (void)state;
    assert_false(token_well_formed(""));
    assert_false(token_well_formed("short"));
    assert_false(token_well_formed("nPT80D8rriFv18xnS7xic5BSIPC9clcMLc6PNhgLqw=")); /* padding */
    assert_false(token_well_formed("nPT80D8rriFv18xnS7xic5BSIPC9clcMLc6PNhgLqw+"));
    assert_true(token_well_formed("nPT80D8rriFv18xnS7xic5BSIPC9clcMLc6PNhgLqwg"));
}

static void hash_is_blake2b_256_hex(void **state)
{
    (void)state;
    char h1[HASH_HEX_CHARS + 1], h2[HASH_HEX_CHARS + 1];
    secret_hash_hex("abc", h1);
    secret_hash_hex("abc", h2);
    assert_string_equal(h1, h2);
    /* BLAKE2b-256("abc") from the BLAKE2 reference implementation */
    assert_string_equal(h1, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

static void activation_codes_read_back_through_normalise(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        char code[ACTIVATION_CODE_CHARS + 1], norm[13];
        activation_code_new(code);
        assert_int_equal(strlen(code), 14);
        assert_int_equal(code[4], '-');
        assert_int_equal(code[9], '-');
        assert_true(activation_code_normalise(code, norm));
        assert_int_equal(strlen(norm), 12);
    }
}

static void typed_codes_are_forgiving_but_strict_in_length(void **state)
{
    (void)state;
    char norm[13];
    assert_true(activation_code_normalise("ef97-mbft-bhjk", norm));
    assert_string_equal(norm, "EF97MBFTBHJK");
    assert_true(activation_code_normalise("EF97 MBFT BHJK", norm));
    assert_string_equal(norm, "EF97MBFTBHJK");
    assert_true(activation_code_normalise("O0IL-0000-0000", norm)); /* look-alikes */
    assert_string_equal(norm, "001100000000");
    assert_false(activation_code_normalise("EF97-MBFT-BHJ", norm));   /* too short */
    assert_false(activation_code_normalise("EF97-MBFT-BHJKX", norm)); /* too long */
    assert_false(activation_code_normalise("EF97-MBFT-BHJU", norm));  /* U not in alphabet */
    assert_false(activation_code_normalise("", norm));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_are_256_bit_base64url_and_distinct),
        cmocka_unit_test(malformed_tokens_are_refused),
        cmocka_unit_test(hash_is_blake2b_256_hex),
        cmocka_unit_test(activation_codes_read_back_through_normalise),
        cmocka_unit_test(typed_codes_are_forgiving_but_strict_in_length),
    };
    return cmocka_run_group_tests_name("crypto/tokens", tests, init, NULL);
}
