/* Fuzzes the short secrets and ids people type or send: activation codes
 * (activation_code_normalise, as POST /v1/auth/activate uses it), bearer
 * tokens (the Authorization header through session_bearer, and
 * token_well_formed), and suggestion ids in paths
 * (suggestion_public_id_ok, domain/workflow.h). Each is compared with a
 * reference written from its contract. session_bearer reads the header
 * through libmicrohttpd; this file defines MHD_lookup_connection_value,
 * which takes the library's place in this executable and answers with the
 * fuzz input. Input: the typed code, header value or path segment. */
#include "fuzz.h"

#include <strings.h>

#include "crypto/tokens.h"
#include "routes/routes.h"
#include "domain/workflow.h"

/* The reference keeps its own copy of the alphabet, so that a change to
 * crypto/tokens.c's is caught here. */
static const char ref_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* ---- libmicrohttpd stand-in ---------------------------------------------- */

static const char *fake_authorization;

const char *MHD_lookup_connection_value(struct MHD_Connection *connection,
                                        enum MHD_ValueKind kind, const char *key)
{
    (void)connection;
    if (kind == MHD_HEADER_KIND && key && !strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION))
        return fake_authorization;
    return NULL;
}

/* ---- references ----------------------------------------------------------- */

/* Drop '-' and ' ', raise a-z, read O as 0 and I, L as 1; then exactly 12
 * symbols of Crockford's alphabet must be left. */
static bool ref_normalise(const char *in, char out[13])
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 32);
        c = c == 'O' ? '0' : (c == 'I' || c == 'L') ? '1' : c;
        if (c == 0 || !memchr(ref_alphabet, c, 32) || n == 12)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n == 12;
}

static bool ref_token(const char *s)
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    return strlen(s) == TOKEN_CHARS && strspn(s, b64url) == TOKEN_CHARS;
}

static bool ref_public_id(const char *s)
{
    return strlen(s) == PUBLIC_ID_CHARS && s[0] == 'S' && s[1] == '-' &&
           strspn(s + 2, ref_alphabet) == PUBLIC_ID_CHARS - 2;
}

static void check_hash_hex(const char *secret)
{
    char hex[HASH_HEX_CHARS + 1];
    memset(hex, 'x', sizeof hex);
    secret_hash_hex(secret, hex);
    FUZZ_CHECK(strlen(hex) == HASH_HEX_CHARS &&
                   strspn(hex, "0123456789abcdef") == HASH_HEX_CHARS,
               "secret_hash_hex gave \"%s\"", hex);
}

/* ---- checks --------------------------------------------------------------- */

static void check_code(const char *in)
{
    char got[13], want[13];
    memset(got, 0x55, sizeof got);
    bool ok = activation_code_normalise(in, got);
    bool ref = ref_normalise(in, want);
    FUZZ_CHECK(ok == ref, "activation_code_normalise(\"%s\") = %d", in, ok);
    if (!ok)
        return;
    FUZZ_CHECK(!strcmp(got, want), "activation_code_normalise(\"%s\") gave %s, want %s", in,
               got, want);
    /* The canonical form is a fixed point, also when typed as printed. */
    char again[13], printed[ACTIVATION_CODE_CHARS + 1];
    FUZZ_CHECK(activation_code_normalise(got, again) && !strcmp(again, got),
               "%s does not normalise to itself", got);
    snprintf(printed, sizeof printed, "%.4s-%.4s-%.4s", got, got + 4, got + 8);
    FUZZ_CHECK(activation_code_normalise(printed, again) && !strcmp(again, got),
               "%s does not normalise to %s", printed, got);
    check_hash_hex(got);
}

static void check_bearer(const char *header)
{
    FUZZ_CHECK(token_well_formed(header) == ref_token(header), "token_well_formed(\"%s\")",
               header);

    struct request r;
    memset(&r, 0, sizeof r);
    fake_authorization = header;
    const char *got = session_bearer(&r);
    fake_authorization = NULL;

    const char *want = NULL;
    if (!strncasecmp(header, "Bearer ", 7)) {
        const char *t = header + 7 + strspn(header + 7, " ");
        want = ref_token(t) ? t : NULL;
    }
    FUZZ_CHECK(got == want, "session_bearer(\"%s\") = %s", header, got ? got : "(none)");
    if (got)
        check_hash_hex(got);

    memset(&r, 0, sizeof r); /* no header at all */
    FUZZ_CHECK(session_bearer(&r) == NULL, "a token without a header");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    /* What the service hands out must pass its own checks. */
    for (int i = 0; i < 1000; i++) {
        char code[ACTIVATION_CODE_CHARS + 1], normal[13], token[TOKEN_CHARS + 1],
            id[PUBLIC_ID_CHARS + 1];
        activation_code_new(code);
        token_new(token);
        suggestion_public_id(id);
        FUZZ_CHECK(activation_code_normalise(code, normal) && ref_normalise(code, normal),
                   "a new code %s does not normalise", code);
        FUZZ_CHECK(token_well_formed(token) && ref_token(token), "a new token %s", token);
        FUZZ_CHECK(suggestion_public_id_ok(id) && ref_public_id(id), "a new id %s", id);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    check_code(s);
    check_bearer(s);
    FUZZ_CHECK(suggestion_public_id_ok(s) == ref_public_id(s), "suggestion_public_id_ok(\"%s\")", s);
    FUZZ_CHECK(!suggestion_public_id_ok(NULL), "suggestion_public_id_ok(NULL)");
    free(s);
    return 0;
}
