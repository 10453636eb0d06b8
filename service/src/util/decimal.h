/* Whole decimal numbers as a query string, a command line or a client's
 * input gives them: the one strict parser. */
#ifndef YIJIAN_UTIL_DECIMAL_H
#define YIJIAN_UTIL_DECIMAL_H

#include <stdbool.h>

/*
 * Reads s (NUL-terminated, may be NULL) as ASCII digits only, at least
 * one (no sign, no white space, no other character), of a value in
 * [min, max]. True with *out set; false otherwise, *out untouched (a
 * value too large for a long long is false, never undefined).
 */
bool decimal_parse(const char *s, long long min, long long max, long long *out);

#endif
