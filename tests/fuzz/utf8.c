/* Fuzzes the strict UTF-8 check every JSON body passes before it is parsed
 * (utf8_valid) and the character count the validators use (utf8_length),
 * differentially: a reference that decodes each code point and checks its
 * value (rather than byte ranges, as utf8.c does) must agree on every
 * input. Input: the raw body bytes, NULs included. */
#include "fuzz.h"

#include <stdbool.h>

#include "util/utf8.h"

/* RFC 3629 by value: decode, then refuse overlong forms, surrogates and
 * anything above U+10FFFF. *count is the number of code points. */
static bool ref_valid(const unsigned char *s, size_t len, size_t *count)
{
    size_t i = 0, n = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t need;
        uint32_t cp, min;
        if (c < 0x80) {
            need = 0, cp = c, min = 0;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
        n++;
    }
    *count = n;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t count = 0;
    bool want = ref_valid(data, size, &count);
    bool got = utf8_valid(s, size);
    FUZZ_CHECK(got == want, "utf8_valid says %d, the reference %d (%zu bytes)", got, want, size);

    /* Defined for valid input only, but must not fault on any. */
    size_t len = utf8_length(s, size);
    if (!want)
        return 0;
    FUZZ_CHECK(len == count, "utf8_length %zu, the reference counts %zu", len, count);

    /* Cut a valid string anywhere: still valid exactly when the cut falls
     * between two characters. */
    size_t cut = size / 2;
    bool boundary = cut == size || (data[cut] & 0xC0) != 0x80;
    FUZZ_CHECK(utf8_valid(s, cut) == boundary, "a cut at %zu of %zu", cut, size);
    if (boundary) {
        FUZZ_CHECK(utf8_valid(s + cut, size - cut), "the tail after a boundary cut");
        FUZZ_CHECK(utf8_length(s, cut) + utf8_length(s + cut, size - cut) == count,
                   "lengths of the two halves do not add up");
    }
    return 0;
}
