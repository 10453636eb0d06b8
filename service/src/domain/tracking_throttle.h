/* Back-off for wrong tracking codes, per holder: the codes are spread over
 * buckets by their hash, and a bucket that took too many wrong codes in a
 * window refuses codes of that bucket until the window ends. Kept in this
 * process's memory only, so that nothing about an anonymous author's
 * requests is stored anywhere (docs/threat-model.md, "Tracking codes"). */
#ifndef YIJIAN_DOMAIN_TRACKING_THROTTLE_H
#define YIJIAN_DOMAIN_TRACKING_THROTTLE_H

#include <stdbool.h>

/* Buckets (2^20: 4 MiB), wrong codes a bucket takes per window, and the
 * window: a flood of random wrong codes must send ten a bucket to every
 * one of a million buckets within 15 minutes (11,000 a second, sustained)
 * to keep every holder out; one aimed at a holder needs their code. */
#define TRACKING_THROTTLE_BUCKET_BITS 20
#define TRACKING_THROTTLE_LIMIT 10
#define TRACKING_THROTTLE_WINDOW_SECONDS 900

/*
 * Counts one attempt of the code whose hash (64 hex digits, as
 * tracking_code_hash writes it) is hash_hex, before it is checked,
 * atomically: 0 when the attempt may be checked, else the seconds until
 * the bucket's window ends (nothing counted).
 */
int tracking_throttle_take(const char *hash_hex);

/* The attempt counted by tracking_throttle_take was a right code: its
 * count is given back, so that a holder's own requests leave nothing. */
void tracking_throttle_refund(const char *hash_hex);

#endif
