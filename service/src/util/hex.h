/* Hexadecimal text as PostgreSQL's encode(x, 'hex') writes it. */
#ifndef YIJIAN_UTIL_HEX_H
#define YIJIAN_UTIL_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes exactly len bytes from hex, which must be 2 * len hex digits and
 * nothing else; false otherwise (out then holds no meaning). */
bool hex_to_bytes(const char *hex, unsigned char *out, size_t len);

/* The same for hex_len characters at hex, which need not end in a NUL
 * (a key read from a file). */
bool hex_to_bytes_n(const char *hex, size_t hex_len, unsigned char *out, size_t len);

#endif
