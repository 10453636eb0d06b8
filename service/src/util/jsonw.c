/* See jsonw.h. */
#include "util/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct jsonw *w, size_t more)
{
    if (w->failed)
        return false;
    if (w->len + more + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + more + 1)
        cap *= 2;
    char *d = realloc(w->data, cap);
    if (!d) {
        w->failed = true;
        return false;
    }
    w->data = d;
    w->cap = cap;
    return true;
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->data + w->len, s, n);
    w->len += n;
}

void jsonw_str(struct jsonw *w, const char *s, size_t n)
{
    /* At worst every byte becomes \u00XX. */
    if (!reserve(w, 6 * n + 2))
        return;
    char *o = w->data + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            o += sprintf(o, "u%04x", c);
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->data);
}

void jsonw_key(struct jsonw *w, const char *key)
{
    size_t n = strlen(key);
    if (!reserve(w, n + 3))
        return;
    w->data[w->len++] = '"';
    memcpy(w->data + w->len, key, n);
    w->len += n;
    w->data[w->len++] = '"';
    w->data[w->len++] = ':';
}

char *jsonw_finish(struct jsonw *w, size_t *len)
{
    if (!reserve(w, 0)) {
        free(w->data);
        w->data = NULL;
        return NULL;
    }
    w->data[w->len] = '\0';
    *len = w->len;
    char *d = w->data;
    w->data = NULL;
    return d;
}
