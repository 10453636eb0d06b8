/* Lookup and content negotiation for the files of the web client that are
 * embedded in the binary (embedded.h); routes/web.c answers with them. */
#ifndef YIJIAN_HTTP_STATIC_FILES_H
#define YIJIAN_HTTP_STATIC_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "embedded.h"

/* The file named exactly name in table[0..n), or NULL. Names are compared
 * whole, so no spelling of a path ("..", "%2e", "//") reaches anything
 * but a file of the table. */
const struct embedded_file *static_find(const struct embedded_file *table, size_t n,
                                        const char *name);

/* Whether an Accept-Encoding value (may be NULL) allows gzip: a "gzip" or
 * "*" coding whose q is not 0. */
bool static_accepts_gzip(const char *accept_encoding);

/* Whether an If-None-Match value (may be NULL) names etag (quoted), or is
 * "*". Weak validators (W/"...") match too, as RFC 9110 says for GET. */
bool static_etag_matches(const char *if_none_match, const char *etag);

#endif
