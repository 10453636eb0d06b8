/* Per-holder back-off for wrong tracking codes, in memory
 * (tracking_throttle.h). Each bucket is one atomic word: the window's
 * number in the high 24 bits, the count in the low 8; a compare-and-swap
 * counts an attempt before it is checked, so parallel attempts cannot pass
 * the limit. */
#include "domain/tracking_throttle.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define BUCKETS (1u << TRACKING_THROTTLE_BUCKET_BITS)

static _Atomic uint32_t buckets[BUCKETS];

static uint32_t bucket_of(const char *hash_hex)
{
    /* The first 5 hex digits: 20 bits of BLAKE2b of the code. */
    char head[6] = { 0 };
    for (int i = 0; i < 5 && hash_hex[i]; i++)
        head[i] = hash_hex[i];
    return (uint32_t)strtoul(head, NULL, 16) & (BUCKETS - 1);
}

static uint32_t window_now(long long *ends_in)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long w = (long long)ts.tv_sec / TRACKING_THROTTLE_WINDOW_SECONDS;
    *ends_in = (w + 1) * TRACKING_THROTTLE_WINDOW_SECONDS - (long long)ts.tv_sec;
    /* Window 0 is "never used" (a zeroed bucket), so numbering starts at 1. */
    return (uint32_t)((w + 1) & 0xFFFFFF);
}

int tracking_throttle_take(const char *hash_hex)
{
    _Atomic uint32_t *b = &buckets[bucket_of(hash_hex)];
    long long ends_in;
    uint32_t w = window_now(&ends_in);
    uint32_t old = atomic_load(b);
    for (;;) {
        uint32_t count = (old >> 8) == w ? (old & 0xFF) : 0;
        if (count >= TRACKING_THROTTLE_LIMIT)
            return ends_in > 0 ? (int)ends_in : 1;
        uint32_t next = (w << 8) | (count + 1);
        if (atomic_compare_exchange_weak(b, &old, next))
            return 0;
    }
}

void tracking_throttle_refund(const char *hash_hex)
{
    _Atomic uint32_t *b = &buckets[bucket_of(hash_hex)];
    long long ends_in;
    uint32_t w = window_now(&ends_in);
    uint32_t old = atomic_load(b);
    while ((old >> 8) == w && (old & 0xFF) > 0)
        if (atomic_compare_exchange_weak(b, &old, old - 1))
            return;
}
