/* Files compiled into the binary (build/gen/embedded.c, made by
 * scripts/embed.sh from sql/ and api-spec/), so a deployment is one file. */
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

#endif
