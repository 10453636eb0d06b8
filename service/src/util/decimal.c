/* The strict decimal parser (util/decimal.h). */
#include "util/decimal.h"

#include <limits.h>

bool decimal_parse(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return false;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        int d = *p - '0';
        if (v > (LLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}
