/* The CPU reference of the token case of `make bench`: the time of one
 * libsodium ristretto255 hash-to-group (crypto_core_ristretto255_from_hash)
 * plus one scalar multiplication (crypto_scalarmult_ristretto255), the
 * work a VOPRF server cannot avoid per token.
 *
 *   h2g time [N]      prints "h2g_us=<microseconds per pair>" (N pairs,
 *                     default 20000, CPU time of this process)
 *   h2g blinded N     prints a JSON array of N random ristretto255
 *                     elements, base64url without padding, as a client
 *                     sends them to POST /v1/tokens/issue */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    if (argc >= 2 && !strcmp(argv[1], "time")) {
        long n = argc > 2 ? atol(argv[2]) : 20000;
        unsigned char h[crypto_core_ristretto255_HASHBYTES], p[32], q[32], k[32];
        randombytes_buf(h, sizeof h);
        crypto_core_ristretto255_scalar_random(k);
        unsigned char acc = 0;
        double t0 = cpu_seconds();
        for (long i = 0; i < n; i++) {
            h[0] = (unsigned char)i; /* a different input every time */
            h[1] = (unsigned char)(i >> 8);
            crypto_core_ristretto255_from_hash(p, h);
            if (crypto_scalarmult_ristretto255(q, k, p) != 0)
                return 1;
            acc ^= q[0];
        }
        double t1 = cpu_seconds();
        printf("h2g_us=%.2f check=%u\n", (t1 - t0) / (double)n * 1e6, acc);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "blinded")) {
        int n = atoi(argv[2]);
        printf("[");
        for (int i = 0; i < n; i++) {
            unsigned char p[32];
            char b64[64];
            crypto_core_ristretto255_random(p);
            sodium_bin2base64(b64, sizeof b64, p, sizeof p,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING);
            printf("%s\"%s\"", i ? "," : "", b64);
        }
        printf("]\n");
        return 0;
    }
    fprintf(stderr, "usage: h2g time [N] | h2g blinded N\n");
    return 2;
}
