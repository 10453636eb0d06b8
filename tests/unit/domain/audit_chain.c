/* Tests service/src/domain/audit_chain.c: the canonical encoding of an
 * audit row, the chain's link function and the checkpoint message, against
 * bytes computed independently (Python: struct, json, hashlib.blake2b), as
 * docs/audit.md specifies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "domain/audit_chain.h"

static int init(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static const struct audit_row named = {
    42, "2026-11-05T09:00:00.123456Z", "account", "7", "suggestion.submit", "suggestion",
    "S-7K3Q9D", "{\"after\": {\"title\": \"图书角\", \"status\": \"submitted\"}}", "req-1",
};
static const struct audit_row anonymous = {
    43, "2026-11-05T09:00:01.000000Z", "anonymous", NULL, "suggestion.submit", "suggestion",
    NULL, "{}", NULL,
};
static const struct audit_row migration = {
    41, "2026-11-05T08:59:59.999999Z", "system", NULL, "schema.migrate", "schema", "5",
    "{\"name\": \"0005-audit-chain.sql\", \"checksum\": \"ab\"}", NULL,
};

static void hex_equal(const unsigned char *bytes, size_t len, const char *want)
{
    char *hex = malloc(2 * len + 1);
    assert_non_null(hex);
    sodium_bin2hex(hex, 2 * len + 1, bytes, len);
    assert_string_equal(hex, want);
    free(hex);
}

static void canonical(const struct audit_row *row, struct audit_buf *b)
{
    assert_int_equal(audit_canonical(row, b), 0);
}

static void canonical_row_is_length_prefixed_fields_in_column_order(void **state)
{
    (void)state;
    struct audit_buf b = { 0 };
    canonical(&named, &b);
    hex_equal(b.data, b.len,
              "0000000234320000001b323032362d31312d30355430393a30303a30302e3132333435365a0000"
              "00076163636f756e7400000001370000001173756767657374696f6e2e7375626d69740000000a"
              "73756767657374696f6e00000008532d374b33513944000000354a7b226166746572223a7b2273"
              "7461747573223a227375626d6974746564222c227469746c65223a22e59bbee4b9a6e8a792227d"
              "7d000000057265712d31");
    audit_buf_free(&b);
}

static void null_fields_are_ffffffff_and_differ_from_empty(void **state)
{
    (void)state;
    struct audit_buf b = { 0 }, e = { 0 };
    canonical(&anonymous, &b);
    hex_equal(b.data, b.len,
              "0000000234330000001b323032362d31312d30355430393a30303a30312e3030303030305a0000"
              "0009616e6f6e796d6f7573ffffffff0000001173756767657374696f6e2e7375626d6974000000"
              "0a73756767657374696f6effffffff000000034a7b7dffffffff");
    struct audit_row empty = anonymous;
    empty.object_id = "";
    canonical(&empty, &e);
    assert_true(b.len != e.len || memcmp(b.data, e.data, b.len) != 0);
    audit_buf_free(&b);
    audit_buf_free(&e);
}

/* PostgreSQL's jsonb text and any other spelling of the same JSON encode
 * alike: keys sorted by bytes, no white space. */
static void change_json_is_canonical_whatever_its_spelling(void **state)
{
    (void)state;
    struct audit_row a = named, b = named;
    a.change = "{\"after\": {\"status\": \"submitted\", \"title\": \"图书角\"}}";
    b.change = "{ \"after\" :{\"title\":\"\\u56fe\\u4e66\\u89d2\",\n \"status\":\"submitted\"} }";
    struct audit_buf ea = { 0 }, eb = { 0 }, en = { 0 };
    canonical(&a, &ea);
    canonical(&b, &eb);
    canonical(&named, &en);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.data, eb.data, ea.len);
    assert_memory_equal(ea.data, en.data, ea.len);
    audit_buf_free(&ea);
    audit_buf_free(&eb);
    audit_buf_free(&en);
}

/* The 'J' form for exact JSON, the 'T' form (the text as stored) when it
 * holds a real or an integer beyond 64 bits, so that no two different
 * values hash alike through a lossy conversion. */
static const unsigned char *change_field(const struct audit_buf *b, size_t *len)
{
    /* skip the seven fields before change */
    size_t off = 0;
    for (int f = 0; f < 7; f++) {
        unsigned long n = ((unsigned long)b->data[off] << 24) | ((unsigned long)b->data[off + 1] << 16) |
                          ((unsigned long)b->data[off + 2] << 8) | b->data[off + 3];
        off += 4 + (n == AUDIT_NULL_LENGTH ? 0 : n);
    }
    *len = ((size_t)b->data[off] << 24) | ((size_t)b->data[off + 1] << 16) |
           ((size_t)b->data[off + 2] << 8) | b->data[off + 3];
    return b->data + off + 4;
}

static void reals_and_huge_integers_are_hashed_as_text(void **state)
{
    (void)state;
    struct {
        const char *change, *field;
    } cases[] = {
        { "{\"n\": 1}", "J{\"n\":1}" },
        { "{\"n\": -9223372036854775808}", "J{\"n\":-9223372036854775808}" },
        { "{\"n\": 99999999999999999999}", "T{\"n\": 99999999999999999999}" },
        { "{\"n\": 0.1}", "T{\"n\": 0.1}" },
        { "{\"n\": 0.10000000000000001}", "T{\"n\": 0.10000000000000001}" },
        { "{\"a\": [true, null, \"\\u0001\"]}", "J{\"a\":[true,null,\"\\u0001\"]}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct audit_row row = named;
        row.change = cases[i].change;
        struct audit_buf b = { 0 };
        canonical(&row, &b);
        size_t len;
        const unsigned char *f = change_field(&b, &len);
        assert_int_equal(len, strlen(cases[i].field));
        assert_memory_equal(f, cases[i].field, len);
        audit_buf_free(&b);
    }
}

static void every_field_changes_the_encoding(void **state)
{
    (void)state;
    struct audit_buf base = { 0 };
    canonical(&named, &base);
    for (int f = 0; f < AUDIT_ROW_FIELDS; f++) {
        struct audit_row row = named;
        switch (f) {
        case 0: row.id = 24; break;
        case 1: row.at = "2026-11-05T09:00:00.123457Z"; break;
        case 2: row.actor_kind = "system"; break;
        case 3: row.actor_id = "8"; break;
        case 4: row.action = "suggestion.accept"; break;
        case 5: row.object_type = "suggestions"; break;
        case 6: row.object_id = "S-7K3Q9E"; break;
        case 7: row.change = "{\"after\": {\"title\": \"图书角\", \"status\": \"submittee\"}}"; break;
        default: row.request_id = "req-2"; break;
        }
        struct audit_buf b = { 0 };
        canonical(&row, &b);
        assert_true(b.len != base.len || memcmp(b.data, base.data, b.len) != 0);
        audit_buf_free(&b);
    }
    /* A byte moved from one field to the next is a different encoding. */
    struct audit_row x = named, y = named;
    x.object_type = "suggestionS";
    x.object_id = "-7K3Q9D";
    y.object_type = "suggestion";
    y.object_id = "S-7K3Q9D";
    struct audit_buf bx = { 0 }, by = { 0 };
    canonical(&x, &bx);
    canonical(&y, &by);
    assert_true(bx.len != by.len || memcmp(bx.data, by.data, bx.len) != 0);
    audit_buf_free(&base);
    audit_buf_free(&bx);
    audit_buf_free(&by);
}

static void chain_links_are_blake2b_256_of_previous_and_row(void **state)
{
    (void)state;
    const struct audit_row *rows[] = { &named, &anonymous, &migration };
    const char *want[] = {
        "1ad1d9fbd7a5ee366ba056694ea572381fc75f42e1ae104f4dd2206151a76c37",
        "b12858cd6bd941001ff5626e156df9adc356f55a4bc91988bb14e96240c933e3",
        "f32b8fc7b2d1c785f6f59e7b837ea32a79e9d54d5409c5549f7759207a7db396",
    };
    unsigned char h[AUDIT_HASH_BYTES] = { 0 };
    struct audit_buf b = { 0 };
    for (int i = 0; i < 3; i++) {
        canonical(rows[i], &b);
        audit_chain_link(h, b.data, b.len, h);
        hex_equal(h, sizeof h, want[i]);
    }
    audit_buf_free(&b);
}

static void swapping_two_rows_breaks_both_links(void **state)
{
    (void)state;
    unsigned char h0[AUDIT_HASH_BYTES] = { 0 }, h1[AUDIT_HASH_BYTES], h2[AUDIT_HASH_BYTES],
                  s1[AUDIT_HASH_BYTES], s2[AUDIT_HASH_BYTES];
    struct audit_buf b = { 0 };
    canonical(&named, &b);
    audit_chain_link(h0, b.data, b.len, h1);
    canonical(&anonymous, &b);
    audit_chain_link(h1, b.data, b.len, h2);
    /* the same two rows the other way round */
    audit_chain_link(h0, b.data, b.len, s1);
    canonical(&named, &b);
    audit_chain_link(h1, b.data, b.len, s2);
    assert_memory_not_equal(h1, s1, sizeof h1);
    assert_memory_not_equal(h2, s2, sizeof h2);
    audit_buf_free(&b);
}

static void checkpoint_message_is_label_seq_hash_horizon(void **state)
{
    (void)state;
    unsigned char hash[AUDIT_HASH_BYTES];
    assert_true(audit_hash_from_hex(
        "f32b8fc7b2d1c785f6f59e7b837ea32a79e9d54d5409c5549f7759207a7db396", hash));
    unsigned char msg[AUDIT_CHECKPOINT_MESSAGE_BYTES];
    assert_int_equal(sizeof msg, 71);
    audit_checkpoint_message(3, hash, 41, msg);
    hex_equal(msg, sizeof msg,
              "79696a69616e20617564697420636865636b706f696e740000000000000003f32b8fc7b2d1c785"
              "f6f59e7b837ea32a79e9d54d5409c5549f7759207a7db3960000000000000029");
}

static void checkpoint_signature_verifies_only_for_what_was_signed(void **state)
{
    (void)state;
    unsigned char seed[SECRET_BYTES], pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    memset(seed, 7, sizeof seed);
    signing_key_derive(seed, pk, sk);
    unsigned char hash[AUDIT_HASH_BYTES] = { 1 }, msg[AUDIT_CHECKPOINT_MESSAGE_BYTES],
                  sig[SIGNATURE_BYTES];
    audit_checkpoint_message(10, hash, 8, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
    audit_checkpoint_message(10, hash, 7, msg); /* a lowered horizon */
    assert_int_not_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
    audit_checkpoint_message(11, hash, 8, msg);
    assert_int_not_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
    /* The same seed gives the same key on every instance. */
    unsigned char pk2[SIGNING_PUBLIC_KEY_BYTES], sk2[SIGNING_SECRET_KEY_BYTES];
    signing_key_derive(seed, pk2, sk2);
    assert_memory_equal(pk, pk2, sizeof pk);
}

static void hash_hex_must_be_exactly_64_lowercase_digits(void **state)
{
    (void)state;
    unsigned char h[AUDIT_HASH_BYTES];
    assert_true(audit_hash_from_hex(
        "00000000000000000000000000000000000000000000000000000000000000ff", h));
    assert_int_equal(h[31], 0xff);
    assert_false(audit_hash_from_hex("00", h));
    assert_false(audit_hash_from_hex(
        "00000000000000000000000000000000000000000000000000000000000000ff00", h));
    assert_false(audit_hash_from_hex(
        "0000000000000000000000000000000000000000000000000000000000000zff", h));
    assert_false(audit_hash_from_hex(NULL, h));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_row_is_length_prefixed_fields_in_column_order),
        cmocka_unit_test(null_fields_are_ffffffff_and_differ_from_empty),
        cmocka_unit_test(change_json_is_canonical_whatever_its_spelling),
        cmocka_unit_test(reals_and_huge_integers_are_hashed_as_text),
        cmocka_unit_test(every_field_changes_the_encoding),
        cmocka_unit_test(chain_links_are_blake2b_256_of_previous_and_row),
        cmocka_unit_test(swapping_two_rows_breaks_both_links),
        cmocka_unit_test(checkpoint_message_is_label_seq_hash_horizon),
        cmocka_unit_test(checkpoint_signature_verifies_only_for_what_was_signed),
        cmocka_unit_test(hash_hex_must_be_exactly_64_lowercase_digits),
    };
    return cmocka_run_group_tests(tests, init, NULL);
}
