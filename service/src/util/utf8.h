/* Strict UTF-8: what the service accepts as text. */
#ifndef YIJIAN_UTIL_UTF8_H
#define YIJIAN_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/* Number of code points in well-formed UTF-8 s[0..len). */
size_t utf8_length(const char *s, size_t len);

#endif
