/* A JSON text writer for the hot paths (lists of many rows), where building
 * jansson objects only to dump them again cost most of the service's time
 * (docs/performance.md). Strings must be valid UTF-8 (text from the
 * database is); they are escaped as RFC 8259 requires and copied as they
 * are otherwise. On allocation failure the writer stops writing and
 * jsonw_finish returns NULL. */
#ifndef YIJIAN_UTIL_JSONW_H
#define YIJIAN_UTIL_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct jsonw {
    char *data;
    size_t len, cap;
    bool failed;
};

void jsonw_raw(struct jsonw *w, const char *s, size_t n);
/* A string literal, written as it is. */
#define JSONW_LIT(w, lit) jsonw_raw((w), "" lit, sizeof(lit) - 1)
/* A string value, quoted and escaped. */
void jsonw_str(struct jsonw *w, const char *s, size_t n);
/* "key": (the key is a literal of the caller's, written as given) */
void jsonw_key(struct jsonw *w, const char *key);
/* The text, NUL-terminated, owned by the caller (free); NULL on failure. */
char *jsonw_finish(struct jsonw *w, size_t *len);

#endif
