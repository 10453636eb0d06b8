/* Files compiled into the binary (build/gen/embedded.c, made by
 * scripts/embed.sh from sql/, api-spec/ and build/web/), so a deployment
 * is one file. */
#ifndef YIJIAN_EMBEDDED_H
#define YIJIAN_EMBEDDED_H

#include <stddef.h>

struct embedded_migration {
    int version;      /* from the NNNN- prefix */
    const char *name; /* file name */
    const char *sql;  /* NUL-terminated text */
};

extern const struct embedded_migration embedded_migrations[];
extern const size_t embedded_migrations_count;
extern const char embedded_openapi[];
extern const size_t embedded_openapi_len;

/* One file of the web client (build/web/), served by routes/web.c. */
struct embedded_file {
    const char *name;         /* relative path: "index.html", "assets/app-3F2A.js" */
    const char *content_type;
    const char *etag;         /* quoted, from the file's SHA-256 */
    const unsigned char *data;
    size_t len;
    const unsigned char *gzip; /* gzip copy, or NULL when it would not be smaller */
    size_t gzip_len;
};

extern const struct embedded_file embedded_web[];
extern const size_t embedded_web_count; /* 0 when built without the client */

#endif
