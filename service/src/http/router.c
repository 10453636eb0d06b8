/* Segment-by-segment matching of the route table. The table is small and
 * static, so a linear scan is both simplest and fast enough. */
#include "http/router.h"

#include <stdbool.h>
#include <string.h>

/* Does path match pattern? Fills params (pointing into path) when it does.
 * path is modified: '/' after a parameter becomes '\0'. Only called on a
 * scratch copy. */
static bool match(const char *pattern, char *path, const char **params)
{
    int np = 0;
    const char *p = pattern;
    char *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (len == 0 || np >= ROUTE_MAX_PARAMS)
                return false;
            params[np++] = s;
            p = close + 1;
            s += len;
            if (*s == '/' && *p == '/') {
                *s = '\0';
                s++;
                p++;
            }
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

enum route_match router_match(const struct route *table, size_t n, const char *method,
                              const char *path, int *index, char *buf, size_t buflen,
                              const char **params, char *allow, size_t allowlen)
{
    size_t plen = strlen(path);
    if (plen >= buflen)
        return ROUTE_NOT_FOUND;

    bool path_known = false;
    size_t used = 0;
    if (allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, path, plen + 1);
        const char *tmp[ROUTE_MAX_PARAMS] = { 0 };
        if (!match(table[i].pattern, buf, tmp))
            continue;
        if (strcmp(table[i].method, method) == 0) {
            memcpy(params, tmp, sizeof tmp);
            *index = (int)i;
            return ROUTE_FOUND;
        }
        path_known = true;
        size_t mlen = strlen(table[i].method);
        if (used + mlen + 3 < allowlen && !strstr(allow, table[i].method)) {
            if (used) {
                memcpy(allow + used, ", ", 2);
                used += 2;
            }
            memcpy(allow + used, table[i].method, mlen + 1);
            used += mlen;
        }
    }
    return path_known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
