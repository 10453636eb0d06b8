/* Strict hex decoding (util/hex.h): the one copy the secrets table and the
 * audit checkpoints share. */
#include "util/hex.h"

#include <sodium.h>
#include <string.h>

bool hex_to_bytes(const char *hex, unsigned char *out, size_t len)
{
    size_t n = 0;
    const char *end = NULL;
    size_t hex_len = strlen(hex);
    return hex_len == 2 * len && sodium_hex2bin(out, len, hex, hex_len, NULL, &n, &end) == 0 &&
           n == len && end == hex + hex_len;
}
