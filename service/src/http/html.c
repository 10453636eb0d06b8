/* Escaping and the style-by-hash CSP of the service's own pages. */
#include "http/html.h"

#include <string.h>

#include <sodium.h>

/* Bytes that start a character XML 1.0 does not allow (C0 controls but
 * tab, LF and CR; U+FFFE and U+FFFF): 1, 3 or 0 for the length to replace.
 * One such character in a unit's name made /feed.atom unreadable to every
 * feed reader; the same characters are parse errors in HTML. */
static size_t xml_invalid(const unsigned char *s)
{
    if (s[0] < 0x20 && s[0] != '\t' && s[0] != '\n' && s[0] != '\r')
        return 1;
    if (s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
        return 3;
    return 0;
}

void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        size_t bad = xml_invalid((const unsigned char *)s);
        if (bad) {
            fputs("\xEF\xBF\xBD", f); /* U+FFFD REPLACEMENT CHARACTER */
            s += bad - 1;
            continue;
        }
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void html_style_csp(struct request *r, const char *style)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)style, strlen(style));
    /* 112 bytes: within a response header's 128 (http/request.h) */
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char csp[128];
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
    snprintf(csp, sizeof csp, "default-src 'none'; style-src 'sha256-%s'; frame-ancestors 'none'",
             b64);
    request_add_header(r, "Content-Security-Policy", csp);
}
