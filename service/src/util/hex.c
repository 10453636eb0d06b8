/* Strict hex decoding (util/hex.h): the one copy the secrets table, the
 * audit chain, the held acts, the notification outbox and the master key
 * share. */
#include "util/hex.h"

#include <sodium.h>
#include <string.h>

bool hex_to_bytes_n(const char *hex, size_t hex_len, unsigned char *out, size_t len)
{
    size_t n = 0;
    const char *end = NULL;
    return hex_len == 2 * len && sodium_hex2bin(out, len, hex, hex_len, NULL, &n, &end) == 0 &&
           n == len && end == hex + hex_len;
}

bool hex_to_bytes(const char *hex, unsigned char *out, size_t len)
{
    return hex_to_bytes_n(hex, strlen(hex), out, len);
}
