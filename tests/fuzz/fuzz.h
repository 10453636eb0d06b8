/* Shared by the libFuzzer harnesses of tests/fuzz/ (one file per harness,
 * built by `make fuzz-bins`, run by scripts/fuzz.sh): the entry points'
 * prototypes and a check that turns a broken invariant into a finding. */
#ifndef YIJIAN_FUZZ_H
#define YIJIAN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A harness's own assertion: abort() so that libFuzzer keeps the input as
 * a crash artifact. Active in every build (no NDEBUG games). */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* data[0..size) as a C string, cut at the first NUL as every C API that
 * takes a string sees it. A fresh allocation of exactly the bytes kept,
 * so that AddressSanitizer catches a read past the end; caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

#endif
