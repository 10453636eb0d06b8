/* Tests service/src/crypto/secrets.c: sealing and opening secrets under the
 * master key (the database half is covered by tests/blackbox/tokens). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "crypto/secrets.h"

static unsigned char master[MASTER_KEY_BYTES], secret[SECRET_BYTES];

static int init(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(master, sizeof master);
    randombytes_buf(secret, sizeof secret);
    return 0;
}

static void seal_then_open_gives_the_secret_back(void **state)
{
    (void)state;
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES], out[SECRET_BYTES];
    secret_seal(master, "token-key:2026-11", secret, nonce, sealed);
    assert_int_equal(sizeof sealed, 48);
    assert_true(secret_open(master, "token-key:2026-11", nonce, sealed, sizeof sealed, out));
    assert_memory_equal(out, secret, SECRET_BYTES);
    /* The plaintext is nowhere in what is stored. */
    assert_memory_not_equal(sealed, secret, SECRET_BYTES);
    assert_memory_not_equal(sealed + 16, secret, SECRET_BYTES);
}

static void a_wrong_master_key_is_refused_and_leaves_no_plaintext(void **state)
{
    (void)state;
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES], out[SECRET_BYTES];
    unsigned char other[MASTER_KEY_BYTES];
    secret_seal(master, "token-key:2026-11", secret, nonce, sealed);
    memcpy(other, master, sizeof other);
    other[31] ^= 0x80;
    memset(out, 0xAA, sizeof out);
    assert_false(secret_open(other, "token-key:2026-11", nonce, sealed, sizeof sealed, out));
    unsigned char zero[SECRET_BYTES] = { 0 };
    assert_memory_equal(out, zero, SECRET_BYTES);
}

static void a_sealed_value_does_not_open_under_another_name(void **state)
{
    (void)state;
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES], out[SECRET_BYTES];
    secret_seal(master, "token-key:2026-11", secret, nonce, sealed);
    assert_false(secret_open(master, "token-key:2026-12", nonce, sealed, sizeof sealed, out));
    assert_false(secret_open(master, "token-key:2026-1", nonce, sealed, sizeof sealed, out));
}

static void tampering_and_wrong_lengths_are_refused(void **state)
{
    (void)state;
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES], out[SECRET_BYTES];
    secret_seal(master, "n", secret, nonce, sealed);
    for (size_t i = 0; i < sizeof sealed; i++) {
        sealed[i] ^= 1;
        assert_false(secret_open(master, "n", nonce, sealed, sizeof sealed, out));
        sealed[i] ^= 1;
    }
    nonce[0] ^= 1;
    assert_false(secret_open(master, "n", nonce, sealed, sizeof sealed, out));
    nonce[0] ^= 1;
    assert_false(secret_open(master, "n", nonce, sealed, sizeof sealed - 1, out));
    assert_false(secret_open(master, "n", nonce, sealed, 0, out));
    assert_true(secret_open(master, "n", nonce, sealed, sizeof sealed, out));
}

static void every_seal_takes_a_fresh_nonce(void **state)
{
    (void)state;
    unsigned char n1[SECRET_NONCE_BYTES], s1[SECRET_SEALED_BYTES];
    unsigned char n2[SECRET_NONCE_BYTES], s2[SECRET_SEALED_BYTES];
    secret_seal(master, "n", secret, n1, s1);
    secret_seal(master, "n", secret, n2, s2);
    assert_memory_not_equal(n1, n2, sizeof n1);
    assert_memory_not_equal(s1, s2, sizeof s1);
}

/* The stored format must not drift: a row written today opens with a box
 * key of BLAKE2b-256(key = master, "yijian secret v1" || 0x00 || name). */
static void the_box_key_is_keyed_blake2b_of_label_and_name(void **state)
{
    (void)state;
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES], out[SECRET_BYTES];
    secret_seal(master, "token-key:2026-11", secret, nonce, sealed);
    static const char msg[] = "yijian secret v1\0token-key:2026-11";
    unsigned char key[crypto_secretbox_KEYBYTES];
    crypto_generichash(key, sizeof key, (const unsigned char *)msg, sizeof msg - 1, master,
                       sizeof master);
    assert_int_equal(crypto_secretbox_open_easy(out, sealed, sizeof sealed, nonce, key), 0);
    assert_memory_equal(out, secret, SECRET_BYTES);
}

static void names_are_what_the_table_accepts(void **state)
{
    (void)state;
    assert_true(secret_name_valid("token-key:2026-11"));
    assert_true(secret_name_valid("bulletin-signing-key"));
    assert_true(secret_name_valid("a"));
    assert_false(secret_name_valid(""));
    assert_false(secret_name_valid("-leading-dash"));
    assert_false(secret_name_valid("Upper"));
    assert_false(secret_name_valid("white space"));
    assert_false(secret_name_valid("token-key:2026-11\n"));
    char longest[SECRET_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[SECRET_NAME_MAX] = '\0';
    assert_true(secret_name_valid(longest));
    longest[SECRET_NAME_MAX] = 'a';
    longest[SECRET_NAME_MAX + 1] = '\0';
    assert_false(secret_name_valid(longest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_then_open_gives_the_secret_back),
        cmocka_unit_test(a_wrong_master_key_is_refused_and_leaves_no_plaintext),
        cmocka_unit_test(a_sealed_value_does_not_open_under_another_name),
        cmocka_unit_test(tampering_and_wrong_lengths_are_refused),
        cmocka_unit_test(every_seal_takes_a_fresh_nonce),
        cmocka_unit_test(the_box_key_is_keyed_blake2b_of_label_and_name),
        cmocka_unit_test(names_are_what_the_table_accepts),
    };
    return cmocka_run_group_tests_name("crypto/secrets", tests, init, NULL);
}
