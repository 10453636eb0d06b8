/* Fuzzes the bulletin canonical JSON encoder and the verifier of saved
 * bulletins (domain/bulletins.c: bulletin_canonical, bulletin_document,
 * bulletin_verify_document), as `yijian verify-bulletin FILE` and the
 * service use them.
 *
 * Input: a saved document file, read as verify-bulletin reads it
 * (json_loadb with JSON_REJECT_DUPLICATES). Its "bulletin" member, or the
 * whole value when there is none, is the content.
 *
 * Checked:
 * - the verifier never crashes, says why when it refuses, and accepts a
 *   document only when its "signature" and "public_key" are the one
 *   spelling (standard, padded base64) of the bytes they decode to;
 * - the canonical JSON equals a second encoder written here from
 *   docs/bulletins.md ("The canonical JSON"), for content without
 *   fractions (the document has none), and is a fixed point: parsed again
 *   it is the same value and encodes to the same bytes;
 * - a round trip: the content signed with a fixed key, made into a
 *   document by bulletin_document, verifies under that key, and not under
 *   another key, nor with one bit of the signature flipped, nor with a
 *   member added to the content. */
#include "fuzz.h"

#include <jansson.h>
#include <sodium.h>

#include "domain/bulletins.h"

/* The key of the committed seeds (tests/fuzz/corpus/bulletin/valid-*):
 * Ed25519 from this 32-byte seed. */
static const char KEY_SEED[] = "yijian fuzz bulletin key seed 01";
static unsigned char pk0[SIGNING_PUBLIC_KEY_BYTES], sk0[SIGNING_SECRET_KEY_BYTES];
static unsigned char pk1[SIGNING_PUBLIC_KEY_BYTES], sk1[SIGNING_SECRET_KEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    crypto_sign_seed_keypair(pk0, sk0, (const unsigned char *)KEY_SEED);
    unsigned char other[32];
    memset(other, 0x5a, sizeof other);
    crypto_sign_seed_keypair(pk1, sk1, other);
    return 0;
}

/* ---- a second canonical encoder, from docs/bulletins.md ------------------ */

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_string(struct buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"': put(b, "\\\"", 2); break;
        case '\\': put(b, "\\\\", 2); break;
        case 0x08: put(b, "\\b", 2); break;
        case 0x0c: put(b, "\\f", 2); break;
        case 0x0a: put(b, "\\n", 2); break;
        case 0x0d: put(b, "\\r", 2); break;
        case 0x09: put(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04X", c);
                put(b, esc, 6);
            } else {
                put(b, (const char *)&c, 1);
            }
        }
    }
    put(b, "\"", 1);
}

static int key_cmp(const void *a, const void *b)
{
    /* by UTF-8 bytes as unsigned: strcmp is defined so */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* False when the value holds a fraction (not part of the format). */
static bool ref_encode(struct buf *b, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = calloc(n ? n : 1, sizeof *keys);
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
            keys[i++] = k;
        qsort(keys, n, sizeof *keys, key_cmp);
        put(b, "{", 1);
        bool ok = true;
        for (i = 0; i < n && ok; i++) {
            if (i)
                put(b, ",", 1);
            put_string(b, keys[i], strlen(keys[i]));
            put(b, ":", 1);
            ok = ref_encode(b, json_object_get(v, keys[i]));
        }
        free(keys);
        put(b, "}", 1);
        return ok;
    }
    case JSON_ARRAY: {
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                put(b, ",", 1);
            if (!ref_encode(b, json_array_get(v, i)))
                return false;
        }
        put(b, "]", 1);
        return true;
    }
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        return true;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        put(b, num, strlen(num));
        return true;
    case JSON_REAL:
        return false;
    case JSON_TRUE: put(b, "true", 4); return true;
    case JSON_FALSE: put(b, "false", 5); return true;
    case JSON_NULL: put(b, "null", 4); return true;
    }
    return false;
}

/* ---- checks --------------------------------------------------------------- */

/* The one spelling of n bytes in standard padded base64. */
static bool canonical_b64(const json_t *doc, const char *name, size_t n)
{
    const json_t *v = json_object_get(doc, name);
    unsigned char bin[64];
    char again[128];
    size_t len = 0;
    const char *s = json_string_value(v);
    if (!s || n > sizeof bin ||
        sodium_base642bin(bin, n, s, strlen(s), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || len != n)
        return false;
    sodium_bin2base64(again, sizeof again, bin, n, sodium_base64_VARIANT_ORIGINAL);
    return json_string_length(v) == strlen(again) && !strcmp(again, s);
}

static void check_verify(const json_t *doc)
{
    const char *why = NULL;
    bool ok = bulletin_verify_document(doc, NULL, &why);
    FUZZ_CHECK(ok || why, "refused without a reason");
    if (ok) {
        FUZZ_CHECK(canonical_b64(doc, "signature", SIGNATURE_BYTES),
                   "accepted a signature not written as the one base64 of its bytes: \"%s\"",
                   json_string_value(json_object_get(doc, "signature")));
        FUZZ_CHECK(canonical_b64(doc, "public_key", SIGNING_PUBLIC_KEY_BYTES),
                   "accepted a public key not written as the one base64 of its bytes: \"%s\"",
                   json_string_value(json_object_get(doc, "public_key")));
    }
    why = NULL;
    bool ok0 = bulletin_verify_document(doc, pk0, &why);
    FUZZ_CHECK(ok0 || why, "refused without a reason");
    FUZZ_CHECK(!ok0 || ok, "valid under the expected key but not without one");
}

static void check_canonical(const json_t *content)
{
    char *c1 = bulletin_canonical(content);
    FUZZ_CHECK(c1 != NULL, "bulletin_canonical gave NULL");

    struct buf ref = { 0 };
    if (ref_encode(&ref, content))
        FUZZ_CHECK(!strcmp(ref.p, c1), "canonical JSON\n  %s\nexpected\n  %s", c1, ref.p);
    free(ref.p);

    json_error_t err;
    json_t *again = json_loads(c1, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    FUZZ_CHECK(again != NULL, "canonical JSON does not parse: %s: %s", err.text, c1);
    FUZZ_CHECK(json_equal(content, again), "canonical JSON is another value: %s", c1);
    char *c2 = bulletin_canonical(again);
    FUZZ_CHECK(c2 && !strcmp(c1, c2), "canonical JSON is not a fixed point:\n  %s\n  %s", c1,
               c2);
    free(c2);
    json_decref(again);

    if (!json_is_object(content)) {
        free(c1);
        return;
    }

    /* Sign, make the document as GET /v1/bulletins/{id} does, check. */
    unsigned char sig[SIGNATURE_BYTES];
    char sig_hex[2 * SIGNATURE_BYTES + 1];
    crypto_sign_detached(sig, NULL, (const unsigned char *)c1, strlen(c1), sk0);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    json_t *doc = bulletin_document(c1, sig_hex, pk0);
    FUZZ_CHECK(doc != NULL, "bulletin_document refused its own canonical JSON: %s", c1);
    const char *why = NULL;
    FUZZ_CHECK(bulletin_verify_document(doc, NULL, &why), "own document refused: %s", why);
    FUZZ_CHECK(bulletin_verify_document(doc, pk0, &why), "own document refused: %s", why);
    FUZZ_CHECK(!bulletin_verify_document(doc, pk1, &why), "valid under another key");

    /* Through the file: dumped as a client saves it, loaded as the CLI does. */
    char *file = json_dumps(doc, JSON_INDENT(2));
    json_t *loaded = json_loads(file, JSON_REJECT_DUPLICATES, &err);
    FUZZ_CHECK(loaded && bulletin_verify_document(loaded, pk0, &why),
               "saved and loaded, the document no longer verifies");
    json_decref(loaded);
    free(file);

    /* One bit of the signature flipped. */
    unsigned char bad[SIGNATURE_BYTES];
    memcpy(bad, sig, sizeof bad);
    bad[c1[0] % SIGNATURE_BYTES] ^= (unsigned char)(1u << (strlen(c1) % 8));
    char bad_hex[2 * SIGNATURE_BYTES + 1];
    sodium_bin2hex(bad_hex, sizeof bad_hex, bad, sizeof bad);
    json_t *forged = bulletin_document(c1, bad_hex, pk0);
    FUZZ_CHECK(forged && !bulletin_verify_document(forged, NULL, &why),
               "a flipped signature bit verifies");
    json_decref(forged);

    /* A member added to the content. */
    json_t *content2 = json_object_get(doc, "bulletin");
    json_t *before = json_object_get(content2, "\x7f" "tampered");
    if (!before) {
        json_object_set_new(content2, "\x7f" "tampered", json_true());
        FUZZ_CHECK(!bulletin_verify_document(doc, NULL, &why), "tampered content verifies");
    }
    json_decref(doc);
    free(c1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc)
        return 0;
    check_verify(doc);
    /* bulletin_canonical takes an object (the verifier checks that first)
     * or an array; jansson encodes nothing else without JSON_ENCODE_ANY. */
    json_t *content = json_object_get(doc, "bulletin");
    if (!content)
        content = doc;
    if (json_is_object(content) || json_is_array(content))
        check_canonical(content);
    json_decref(doc);
    return 0;
}
