/* Token and code generation on libsodium's CSPRNG. */
#include "crypto/tokens.h"

#include <sodium.h>
#include <string.h>

const char crockford32[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void token_new(char out[TOKEN_CHARS + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, TOKEN_CHARS + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

bool token_well_formed(const char *s)
{
    size_t n = strlen(s);
    if (n != TOKEN_CHARS)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

void secret_hash_hex(const char *s, char out[HASH_HEX_CHARS + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)s, strlen(s), NULL, 0);
    sodium_bin2hex(out, HASH_HEX_CHARS + 1, h, sizeof h);
}

void activation_code_new(char out[ACTIVATION_CODE_CHARS + 1])
{
    size_t o = 0;
    for (int i = 0; i < 12; i++) {
        if (i && i % 4 == 0)
            out[o++] = '-';
        out[o++] = crockford32[randombytes_uniform(32)];
    }
    out[o] = '\0';
}

bool activation_code_normalise(const char *in, char out[13])
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'O')
            c = '0';
        if (c == 'I' || c == 'L')
            c = '1';
        if (!strchr(crockford32, c) || c == '\0' || n == 12)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == 12;
}

void tracking_code_from_output(const unsigned char output[OPRF_OUTPUT_BYTES],
                               char out[TRACKING_CODE_CHARS + 1])
{
    static const char key[] = "yijian tracking code";
    unsigned char code[16];
    crypto_generichash(code, sizeof code, output, OPRF_OUTPUT_BYTES,
                       (const unsigned char *)key, sizeof key - 1);
    /* 128 bits, five at a time, most significant first; the last symbol
     * holds the final three bits. */
    unsigned bitpos = 0;
    for (int i = 0; i < TRACKING_CODE_CHARS; i++) {
        unsigned v = 0;
        for (int b = 0; b < 5; b++, bitpos++) {
            unsigned bit = bitpos < 128 ? (code[bitpos / 8] >> (7 - bitpos % 8)) & 1u : 0u;
            v = (v << 1) | bit;
        }
        out[i] = crockford32[v];
    }
    out[TRACKING_CODE_CHARS] = '\0';
    sodium_memzero(code, sizeof code);
}

bool tracking_code_hash(const char *presented, char hex[65])
{
    char norm[TRACKING_CODE_CHARS + 1];
    size_t n = 0;
    for (const char *p = presented; *p; p++) {
        char ch = *p;
        if (ch == '-' || ch == ' ')
            continue;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch == 'O')
            ch = '0';
        if (ch == 'I' || ch == 'L')
            ch = '1';
        if (!strchr(crockford32, ch) || ch == '\0' || n == TRACKING_CODE_CHARS)
            return false;
        norm[n++] = ch;
    }
    if (n != TRACKING_CODE_CHARS)
        return false;
    norm[n] = '\0';
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)norm, n, NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
    return true;
}
