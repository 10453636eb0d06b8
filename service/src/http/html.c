/* Escaping and the style-by-hash CSP of the service's own pages. */
#include "http/html.h"

#include <string.h>

#include <sodium.h>

void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
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
