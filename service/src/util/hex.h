/* Hexadecimal text as PostgreSQL's encode(x, 'hex') writes it. */
#ifndef YIJIAN_UTIL_HEX_H
#define YIJIAN_UTIL_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes exactly len bytes from hex, which must be 2 * len hex digits and
 * nothing else; false otherwise (out then holds no meaning). */
bool hex_to_bytes(const char *hex, unsigned char *out, size_t len);

#endif
