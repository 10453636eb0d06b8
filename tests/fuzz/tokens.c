/* Fuzzes the decoding of anonymity-token material that comes from
 * clients: the base64url blinded elements of POST /v1/tokens/issue
 * (element_decode, static in routes/tokens.c, reached by including it),
 * the RFC 9497 deserializers of elements, scalars and proofs, and epoch
 * key ids (token_epoch_parse). Each is compared with a reference written
 * here from the specification: a base64url decoder, the group order, and
 * civil-date arithmetic instead of timegm. Input: any bytes, tried whole
 * and, for the fixed-size decoders, by their first 32 or 64 bytes. */
#include "fuzz.h"

#include "../../service/src/routes/tokens.c"

/* ---- references --------------------------------------------------------- */

/* The group order L = 2^252 + 27742317777372353535851937790883648493,
 * little-endian. */
static const unsigned char order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static bool ref_scalar_ok(const unsigned char *s)
{
    for (int i = 31; i >= 0; i--)
        if (s[i] != order[i])
            return s[i] < order[i];
    return false; /* equal to L */
}

/* A valid encoding other than the identity (all zeros): adding the
 * identity decodes it and encodes the sum, which must give it back. */
static bool ref_element_ok(const unsigned char *p)
{
    static const unsigned char zero[32];
    unsigned char sum[32];
    return !sodium_is_zero(p, 32) && crypto_core_ristretto255_add(sum, p, zero) == 0 &&
           memcmp(sum, p, 32) == 0;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* 43 characters of base64url, no padding, giving 32 bytes; the 2 bits
 * left over must be zero (else two strings would name one element). */
static bool ref_b64_element(const char *s, size_t len, unsigned char out[32])
{
    if (len != ELEMENT_B64_CHARS)
        return false;
    unsigned acc = 0, bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return n == 32 && acc == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), without timegm. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static unsigned days_in_month(long long y, unsigned m)
{
    static const unsigned n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "YYYY-MM" (months) or "YYYY-MM-DD" (epochs of epoch_days days counted
 * from 1970-01-01) naming an epoch that starts in 1970-9998; *start is
 * that first second. */
static bool ref_key_id(unsigned epoch_days, const char *s, long long *start)
{
    size_t len = strlen(s), want = epoch_days ? 10 : 7;
    if (len != want || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2))
        return false;
    if (want == 10 && (s[7] != '-' || !digits(s + 8, 2)))
        return false;
    long long y = atoi((char[]){ s[0], s[1], s[2], s[3], 0 });
    unsigned m = (unsigned)atoi((char[]){ s[5], s[6], 0 });
    unsigned d = want == 10 ? (unsigned)atoi((char[]){ s[8], s[9], 0 }) : 1;
    if (y < 1970 || y > 9998 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    long long days = days_from_civil(y, m, d);
    if (epoch_days && days % epoch_days != 0)
        return false;
    *start = days * 86400;
    return true;
}

/* ---- checks ------------------------------------------------------------- */

static void check_element_decode(const uint8_t *data, size_t size)
{
    json_t *str = json_stringn((const char *)data, size); /* NULL unless UTF-8 */
    if (!str)
        return;
    struct oprf_element e;
    memset(&e, 0xA5, sizeof e);
    const char *why = element_decode(str, &e);
    unsigned char raw[32];
    bool want = ref_b64_element((const char *)data, size, raw) && ref_element_ok(raw);
    FUZZ_CHECK((why == NULL) == want, "element_decode(\"%.*s\"): %s", (int)size,
               (const char *)data, why ? why : "accepted");
    if (want)
        FUZZ_CHECK(memcmp(e.bytes, raw, 32) == 0, "element_decode gave other bytes");
    json_decref(str);
}

static void check_deserializers(const uint8_t *data, size_t size)
{
    struct oprf_element e;
    enum oprf_status st = oprf_element_deserialize(&e, data, size);
    FUZZ_CHECK((st == OPRF_OK) == (size == 32 && ref_element_ok(data)),
               "oprf_element_deserialize of %zu bytes: %s", size, oprf_status_str(st));
    if (size >= 32) {
        st = oprf_element_deserialize(&e, data, 32);
        bool ok = ref_element_ok(data);
        FUZZ_CHECK((st == OPRF_OK) == ok, "oprf_element_deserialize: %s", oprf_status_str(st));
        FUZZ_CHECK(ok ? !memcmp(e.bytes, data, 32) : sodium_is_zero(e.bytes, 32),
                   "oprf_element_deserialize left the wrong bytes");
    }

    struct oprf_scalar s;
    st = oprf_scalar_deserialize(&s, data, size);
    FUZZ_CHECK((st == OPRF_OK) == (size == 32 && ref_scalar_ok(data)),
               "oprf_scalar_deserialize of %zu bytes: %s", size, oprf_status_str(st));
    if (size >= 32) {
        st = oprf_scalar_deserialize(&s, data, 32);
        FUZZ_CHECK((st == OPRF_OK) == ref_scalar_ok(data), "oprf_scalar_deserialize: %s",
                   oprf_status_str(st));
        if (st == OPRF_OK)
            FUZZ_CHECK(!memcmp(s.bytes, data, 32), "oprf_scalar_deserialize changed the bytes");
    }

    struct oprf_proof p;
    st = oprf_proof_deserialize(&p, data, size);
    FUZZ_CHECK((st == OPRF_OK) ==
                   (size == 64 && ref_scalar_ok(data) && ref_scalar_ok(data + 32)),
               "oprf_proof_deserialize of %zu bytes: %s", size, oprf_status_str(st));
    if (size >= 64) {
        st = oprf_proof_deserialize(&p, data, 64);
        FUZZ_CHECK((st == OPRF_OK) == (ref_scalar_ok(data) && ref_scalar_ok(data + 32)),
                   "oprf_proof_deserialize: %s", oprf_status_str(st));
        if (st == OPRF_OK) {
            unsigned char back[OPRF_PROOF_BYTES];
            oprf_proof_serialize(&p, back);
            FUZZ_CHECK(!memcmp(back, data, 64), "a proof does not serialise back");
        }
    }
}

static void check_key_ids(const uint8_t *data, size_t size)
{
    static const unsigned epoch_days[] = { 0, 1, 7, 30, 366 };
    char *id = fuzz_cstr(data, size);
    for (size_t i = 0; i < sizeof epoch_days / sizeof epoch_days[0]; i++) {
        unsigned days = epoch_days[i], grace = 7;
        struct token_epoch e;
        long long start = 0;
        bool ok = token_epoch_parse(days, grace, id, &e);
        bool want = ref_key_id(days, id, &start);
        FUZZ_CHECK(ok == want, "token_epoch_parse(%u, \"%s\") = %d", days, id, ok);
        if (!ok)
            continue;
        FUZZ_CHECK(e.not_before == start && !strcmp(e.key_id, id) &&
                       e.not_after > e.not_before &&
                       e.redeem_until == e.not_after + (long long)grace * 86400,
                   "token_epoch_parse(%u, \"%s\") gave %s [%lld, %lld)", days, id, e.key_id,
                   e.not_before, e.not_after);
        if (days)
            FUZZ_CHECK(e.not_after - e.not_before == (long long)days * 86400,
                       "an epoch of %u days is %lld s", days, e.not_after - e.not_before);
        struct token_epoch next, again;
        if (token_epoch_next(days, grace, &e, &next)) {
            FUZZ_CHECK(next.not_before == e.not_after, "epochs leave a gap");
            FUZZ_CHECK(token_epoch_parse(days, grace, next.key_id, &again) &&
                           again.not_before == next.not_before,
                       "the next epoch's id %s does not parse back", next.key_id);
        }
    }
    free(id);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_element_decode(data, size);
    check_deserializers(data, size);
    check_key_ids(data, size);
    return 0;
}
