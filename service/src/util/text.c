/* The one normalisation of names (util/text.h): spaces, invisible and
 * full-width characters. */
#include "util/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decodes the code point at s[*i] (well-formed UTF-8) and advances *i. */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
    uint32_t c = s[*i];
    int n = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (n)
        c &= 0x3Fu >> n;
    (*i)++;
    while (n-- > 0)
        c = (c << 6) | (s[(*i)++] & 0x3Fu);
    return c;
}

static bool is_space_cp(uint32_t c)
{
    return c == ' ' || c == 0x3000 || c == 0xA0 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x202F || c == 0x205F;
}

static bool is_invisible(uint32_t c)
{
    return c == 0xAD || (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == 0xFEFF;
}

/* The ASCII form of a full-width character, or 0 when it keeps its own. */
static char ascii_form(uint32_t c)
{
    if ((c >= 0xFF10 && c <= 0xFF19) || (c >= 0xFF21 && c <= 0xFF3A) ||
        (c >= 0xFF41 && c <= 0xFF5A) || c == 0xFF1B || c == 0xFF0F)
        return (char)(c - 0xFEE0);
    return 0;
}

size_t text_normalize(char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t r = 0, w = 0;
    bool pending_space = false;
    while (r < len) {
        size_t start = r;
        uint32_t c = next_cp(u, &r);
        if (is_space_cp(c)) {
            pending_space = w > 0;
            continue;
        }
        if (is_invisible(c))
            continue;
        if (pending_space) {
            s[w++] = ' ';
            pending_space = false;
        }
        char a = ascii_form(c);
        if (a) {
            s[w++] = a;
        } else {
            /* w <= start always: every rewrite shrinks or keeps length. */
            memmove(s + w, s + start, r - start);
            w += r - start;
        }
    }
    s[w] = '\0';
    return w;
}

bool text_is_normal(const char *s)
{
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (!copy)
        return false;
    memcpy(copy, s, len + 1);
    bool same = text_normalize(copy, len) == len && !memcmp(copy, s, len);
    free(copy);
    return same;
}

/* Characters that show nothing on their own: spaces and invisible ones as
 * above, the other format and direction controls (U+061C, U+180E,
 * U+200E..U+200F, U+202A..U+202E, U+2061..U+2069, U+FFF9..U+FFFB,
 * U+E0000..U+E007F tags), C0, DEL and C1 controls, and the variation
 * selectors. */
static bool shows_nothing(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || is_space_cp(c) || is_invisible(c) ||
           c == 0x061C || c == 0x180E || c == 0x200E || c == 0x200F ||
           (c >= 0x2028 && c <= 0x202E) || (c >= 0x2061 && c <= 0x2069) ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFFF9 && c <= 0xFFFB) ||
           (c >= 0xE0000 && c <= 0xE007F) || (c >= 0xE0100 && c <= 0xE01EF);
}

bool text_is_blank(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (u[i])
        if (!shows_nothing(next_cp(u, &i)))
            return false;
    return true;
}
