/* Fuzzes what domain/redeem.c reads from outside: the "token" member of an
 * anonymous POST /v1/suggestions (token_parse: key id, input and output in
 * strict base64url) and the tracking code of "Authorization: Tracking CODE"
 * (tracking_code_hash), with tracking_code_from_output, whose codes the
 * member types back.
 *
 * Input: the request body as server.c hands it over (utf8_valid, then
 * json_loadb with the server's flags); its "token" member, or the whole
 * value, goes to token_parse under calendar-month keys with 7 days of
 * grace, at 2026-11-15 (so "2026-11" and, in its grace, "2026-10" are
 * redeemable). The whole input cut at NUL is also a presented tracking code,
 * and its first 64 bytes an OPRF output.
 *
 * Checked against: a base64url decoder written from RFC 4648 (no padding,
 * zero trailing bits, nothing else); key ids by token_epoch_parse and the
 * window; the spent hash recomputed; a reference tracking code normaliser
 * (as the codes harness's for activation codes); every code the service
 * makes is accepted in every spelling a member may type and hashes alike. */
#include "fuzz.h"

#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "domain/redeem.h"
#include "domain/token_keys.h"
#include "util/utf8.h"

static const char ref_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const long long NOW = 1795219200; /* 2026-11-15T00:00:00Z */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    return 0;
}

/* ---- references ----------------------------------------------------------- */

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* RFC 4648 §5 without padding: every character in the alphabet, a length
 * that is not 1 mod 4, the unused bits of the last character zero. Decodes
 * between min and max bytes, else false. */
static bool ref_b64url(const json_t *v, unsigned char *out, size_t min, size_t max, size_t *n)
{
    if (!json_is_string(v))
        return false;
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len % 4 == 1)
        return false;
    size_t bytes = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (bytes < min || bytes > max)
        return false;
    unsigned acc = 0, bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        int d = b64url_value(s[i]);
        if (d < 0)
            return false;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* stray trailing bits: a second spelling of the value */
        return false;
    *n = k;
    return true;
}

static bool ref_tracking_normalise(const char *in, char out[TRACKING_CODE_CHARS + 1])
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 32);
        c = c == 'O' ? '0' : (c == 'I' || c == 'L') ? '1' : c;
        if (!memchr(ref_alphabet, c, 32) || n == TRACKING_CODE_CHARS)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n == TRACKING_CODE_CHARS;
}

static void ref_hash_hex(const char *norm, char hex[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)norm, strlen(norm), NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* ---- token_parse ---------------------------------------------------------- */

static void check_token(json_t *j)
{
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.token_epoch_days = 0;
    cfg.token_grace_days = 7;

    struct token t;
    const char *field = (const char *)1;
    const char *why = token_parse(j, &cfg, NOW, &t, &field);

    /* What the contract says, field by field in the same order. */
    const char *ref_field = NULL;
    unsigned char in[TOKEN_INPUT_MAX_BYTES], out[OPRF_OUTPUT_BYTES];
    size_t in_len = 0, out_len = 0;
    if (!json_is_object(j)) {
        ref_field = "";
    } else {
        json_t *kid = json_object_get(j, "key_id");
        struct token_epoch ep;
        if (!json_is_string(kid) || json_string_length(kid) == 0 ||
            json_string_length(kid) > TOKEN_KEY_ID_MAX ||
            strlen(json_string_value(kid)) != json_string_length(kid) ||
            /* A month's id or a day's; whether the key exists and is
             * still redeemable is the database's (token_keys' published
             * times), not token_parse's. */
            (!token_epoch_parse(0, 0, json_string_value(kid), &ep) &&
             !token_epoch_parse(1, 0, json_string_value(kid), &ep)))
            ref_field = "key_id";
        else if (!ref_b64url(json_object_get(j, "input"), in, TOKEN_INPUT_MIN_BYTES,
                             TOKEN_INPUT_MAX_BYTES, &in_len))
            ref_field = "input";
        else if (!ref_b64url(json_object_get(j, "output"), out, OPRF_OUTPUT_BYTES,
                             OPRF_OUTPUT_BYTES, &out_len))
            ref_field = "output";
    }

    if (ref_field) {
        FUZZ_CHECK(why != NULL, "token_parse accepted what the reference refuses at \"%s\"",
                   ref_field);
        FUZZ_CHECK(field && !strcmp(field, ref_field), "token_parse blamed \"%s\", not \"%s\"",
                   field ? field : "(null)", ref_field);
        return;
    }
    FUZZ_CHECK(why == NULL, "token_parse refused a well-formed token at \"%s\": %s",
               field ? field : "(null)", why);
    FUZZ_CHECK(field == NULL, "token_parse accepted but left field set");
    json_t *kid = json_object_get(j, "key_id");
    FUZZ_CHECK(!strcmp(t.key_id, json_string_value(kid)), "key id \"%s\" kept as \"%s\"",
               json_string_value(kid), t.key_id);
    FUZZ_CHECK(t.input_len == in_len && !memcmp(t.input, in, in_len), "input decoded wrongly");
    FUZZ_CHECK(!memcmp(t.output, out, sizeof out), "output decoded wrongly");

    crypto_generichash_state h;
    unsigned char digest[32], zero = 0;
    char hex[65];
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    crypto_generichash_update(&h, (const unsigned char *)t.key_id, strlen(t.key_id));
    crypto_generichash_update(&h, &zero, 1);
    crypto_generichash_update(&h, in, in_len);
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    FUZZ_CHECK(!strcmp(hex, t.spent_hex), "spent hash %s, expected %s", t.spent_hex, hex);
}

/* ---- tracking codes ------------------------------------------------------- */

static void check_presented(const char *presented)
{
    char hex[65], ref_hex[65], norm[TRACKING_CODE_CHARS + 1];
    memset(hex, 'x', sizeof hex);
    bool ok = tracking_code_hash(presented, hex);
    bool ref = ref_tracking_normalise(presented, norm);
    FUZZ_CHECK(ok == ref, "tracking_code_hash says %d, the reference %d for \"%s\"", ok, ref,
               presented);
    if (!ok)
        return;
    ref_hash_hex(norm, ref_hex);
    FUZZ_CHECK(!strcmp(hex, ref_hex), "tracking code \"%s\" hashed to %s, expected %s",
               presented, hex, ref_hex);
}

static void check_made(const unsigned char output[OPRF_OUTPUT_BYTES])
{
    char code[TRACKING_CODE_CHARS + 1];
    tracking_code_from_output(output, code);
    FUZZ_CHECK(strlen(code) == TRACKING_CODE_CHARS &&
                   strspn(code, ref_alphabet) == TRACKING_CODE_CHARS,
               "tracking_code_from_output made \"%s\"", code);
    /* 128 bits: the last symbol holds 3 bits, its low 2 are zero. */
    int last = (int)(strchr(ref_alphabet, code[TRACKING_CODE_CHARS - 1]) - ref_alphabet);
    FUZZ_CHECK(last % 4 == 0, "last symbol of \"%s\" carries bits past the 128th", code);

    char h1[65], h2[65], typed[3 * TRACKING_CODE_CHARS];
    FUZZ_CHECK(tracking_code_hash(code, h1), "own code \"%s\" refused", code);
    /* As a member may type it: lower case, in groups, O for 0, l for 1. */
    size_t k = 0;
    for (int i = 0; i < TRACKING_CODE_CHARS; i++) {
        char c = code[i];
        c = c == '0' ? 'o' : c == '1' ? 'l' : (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        typed[k++] = c;
        if (i % 4 == 3)
            typed[k++] = i % 8 == 7 ? ' ' : '-';
    }
    typed[k] = '\0';
    FUZZ_CHECK(tracking_code_hash(typed, h2), "own code typed as \"%s\" refused", typed);
    FUZZ_CHECK(!strcmp(h1, h2), "\"%s\" and \"%s\" hash apart", code, typed);

    char again[TRACKING_CODE_CHARS + 1];
    tracking_code_from_output(output, again);
    FUZZ_CHECK(!strcmp(code, again), "tracking_code_from_output is not a function");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (utf8_valid((const char *)data, size)) {
        json_t *body = json_loadb((const char *)data, size,
                                  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        if (body) {
            json_t *tok = json_is_object(body) ? json_object_get(body, "token") : NULL;
            check_token(tok ? tok : body);
            json_decref(body);
        }
    }
    char *s = fuzz_cstr(data, size);
    check_presented(s);
    free(s);

    unsigned char output[OPRF_OUTPUT_BYTES] = { 0 };
    memcpy(output, data, size < sizeof output ? size : sizeof output);
    check_made(output);
    return 0;
}
