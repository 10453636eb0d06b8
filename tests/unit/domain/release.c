/* Tests service/src/domain/release.c: the fixed window boundaries, the
 * sealing of a held act under the master key, and the keyed lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "domain/release.h"

static int init(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void windows_end_at_the_next_multiple_since_the_epoch(void **state)
{
    (void)state;
    /* 2026-12-07T17:20:05Z -> 18:00:00Z for an hour */
    assert_int_equal(release_window_end(3600, 1796664005LL), 1796666400LL);
    /* a boundary itself starts the next window */
    assert_int_equal(release_window_end(3600, 1796666400LL), 1796670000LL);
    assert_int_equal(release_window_end(3600, 1796666399LL), 1796666400LL);
    assert_int_equal(release_window_end(4, 10), 12);
    assert_int_equal(release_window_end(1, 10), 11);
    assert_int_equal(release_window_end(0, 10), 10); /* off: at once */
}

static void a_held_act_opens_only_under_its_master_key(void **state)
{
    (void)state;
    unsigned char master[MASTER_KEY_BYTES], other[MASTER_KEY_BYTES];
    randombytes_buf(master, sizeof master);
    randombytes_buf(other, sizeof other);
    const char *act = "{\"kind\":\"submit\",\"title\":\"食堂\"}";
    size_t len = strlen(act);
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[256];
    release_seal(master, act, len, nonce, sealed);
    assert_null(memmem(sealed, len + 16, "kind", 4));
    char *back = release_open(master, nonce, sealed, len + 16);
    assert_non_null(back);
    assert_string_equal(back, act);
    free(back);
    assert_null(release_open(other, nonce, sealed, len + 16));
    sealed[3] ^= 1;
    assert_null(release_open(master, nonce, sealed, len + 16));
    assert_null(release_open(master, nonce, sealed, 8));
}

static void the_lookup_is_keyed_by_the_master_key(void **state)
{
    (void)state;
    unsigned char master[MASTER_KEY_BYTES], other[MASTER_KEY_BYTES];
    randombytes_buf(master, sizeof master);
    randombytes_buf(other, sizeof other);
    const char *hash = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char a[RELEASE_LOOKUP_HEX], b[RELEASE_LOOKUP_HEX], c[RELEASE_LOOKUP_HEX];
    release_lookup(master, hash, a);
    release_lookup(master, hash, b);
    release_lookup(other, hash, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 64);
    assert_null(strstr(a, "00112233"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_end_at_the_next_multiple_since_the_epoch),
        cmocka_unit_test(a_held_act_opens_only_under_its_master_key),
        cmocka_unit_test(the_lookup_is_keyed_by_the_master_key),
    };
    return cmocka_run_group_tests(tests, init, NULL);
}
