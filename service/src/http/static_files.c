/* Lookup and negotiation for the embedded web client; no I/O here, so that
 * the unit tests cover every branch. */
#include "http/static_files.h"

#include <string.h>
#include <strings.h>

const struct embedded_file *static_find(const struct embedded_file *table, size_t n,
                                        const char *name)
{
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (table[i].data && strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* A q parameter that is zero: "q=0", "q=0.", "q=0.000". */
static bool q_is_zero(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (is_space(*p) || *p == ';'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p >= end || *p != '0')
                return false;
            p++;
            if (p < end && *p == '.')
                p++;
            while (p < end && *p == '0')
                p++;
            while (p < end && is_space(*p))
                p++;
            return p == end || *p == ';';
        }
        while (p < end && *p != ';')
            p++;
    }
    return false;
}

bool static_accepts_gzip(const char *v)
{
    if (!v)
        return false;
    while (*v) {
        const char *item_end = strchr(v, ',');
        if (!item_end)
            item_end = v + strlen(v);
        while (v < item_end && is_space(*v))
            v++;
        const char *tok = v;
        while (v < item_end && *v != ';' && !is_space(*v))
            v++;
        size_t len = (size_t)(v - tok);
        bool named = (len == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                     (len == 1 && *tok == '*');
        if (named && !q_is_zero(v, item_end))
            return true;
        v = *item_end ? item_end + 1 : item_end;
    }
    return false;
}

bool static_etag_matches(const char *v, const char *etag)
{
    if (!v || !etag)
        return false;
    size_t elen = strlen(etag);
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        if (*v == '*')
            return true;
        if (v[0] == 'W' && v[1] == '/')
            v += 2;
        const char *tok = v;
        while (*v && *v != ',' && *v != ' ' && *v != '\t')
            v++;
        if ((size_t)(v - tok) == elen && strncmp(tok, etag, elen) == 0)
            return true;
    }
    return false;
}
