/* Names as people type them: one spelling for what looks the same, so that
 * an invisible or full-width character never makes a second unit, portfolio
 * or category that looks like the first. Used by the roster import and by
 * every API input that names something. */
#ifndef YIJIAN_UTIL_TEXT_H
#define YIJIAN_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Normalises well-formed UTF-8 s[0..len) in place and NUL-terminates it;
 * returns the new length, never more than len:
 *  - U+3000 IDEOGRAPHIC SPACE, U+00A0, U+2000..U+200A, U+202F, U+205F
 *    and ASCII space become one ASCII space; runs of them collapse to one,
 *    and they are removed at both ends;
 *  - zero-width characters (U+00AD, U+200B..U+200D, U+2060, U+FEFF) are
 *    dropped;
 *  - full-width digits and Latin letters (U+FF10..U+FF5A) and the
 *    full-width separators '；' (U+FF1B) and '／' (U+FF0F) become their
 *    ASCII forms. Other punctuation (（）、，) is kept as written: it is
 *    how Chinese names are spelt, and it cannot hide.
 * Control characters are kept, for the caller to refuse.
 */
size_t text_normalize(char *s, size_t len);

/* True when s (NUL-terminated UTF-8) is already as text_normalize leaves
 * it. */
bool text_is_normal(const char *s);

/* True when s (NUL-terminated, well-formed UTF-8) shows nothing: only
 * spaces, zero-width, direction and other format controls (U+200B,
 * U+202E, U+2066, ...), control characters or variation selectors. A
 * title of those would read as empty, or reorder the text around it. */
bool text_is_blank(const char *s);

#endif
