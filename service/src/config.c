/* Configuration table: {name, default, parser}. Values are bounded; a bad
 * value is fatal at start-up with a message naming the variable. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

const struct config_var config_vars[] = {
    { "DATABASE_URL", NULL, "libpq conninfo of the service role (make run sets it for the private cluster)" },
    { "DATABASE_OWNER_URL", NULL, "conninfo of the schema owner, used by migrate (default: DATABASE_URL)" },
    { "LISTEN", "127.0.0.1:8080", "address and port to serve on; port 0 picks a free one" },
    { "HTTP_THREADS", "4", "HTTP worker threads (1-256)" },
    { "DB_POOL_SIZE", NULL, "database connections (1-256; default HTTP_THREADS)" },
    { "DB_CONNECT_TIMEOUT", "3", "seconds to wait for a database connection (1-60)" },
    { "DB_ACQUIRE_TIMEOUT_MS", "2000", "milliseconds a request waits for a free connection (1-60000)" },
    { "MAX_BODY_BYTES", "65536", "largest request body accepted (1 KiB-16 MiB)" },
    { "CONNECTION_TIMEOUT", "30", "seconds an idle HTTP connection is kept (1-3600)" },
    { "MAX_CONNECTIONS", "1000", "concurrent HTTP connections (16-100000)" },
    { "SHUTDOWN_GRACE", "10", "seconds in-flight requests get on SIGTERM (0-300)" },
    { "SESSION_TTL", "2592000", "seconds a sign-in lasts without use (60-31536000)" },
    { "ACTIVATION_TTL", "1209600", "seconds an activation code is valid (60-31536000)" },
    { "MIGRATE_ON_START", "true", "serve applies pending migrations first (true/false)" },
    { "OPENAPI_PATH", "", "serve this file at /v1/openapi.yaml instead of the embedded copy" },
    { "LOG_LEVEL", "info", "debug, info, warn or error" },
};
const size_t config_vars_count = sizeof config_vars / sizeof config_vars[0];

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

static int parse_uint(const char *name, const char *fallback, unsigned long min,
                      unsigned long max, unsigned long *out, char *err, size_t errlen)
{
    const char *s = env_or(name, fallback);
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v < min || v > max) {
        snprintf(err, errlen, "%s: expected an integer from %lu to %lu, got \"%s\"",
                 name, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *name, const char *fallback, bool *out, char *err, size_t errlen)
{
    const char *s = env_or(name, fallback);
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *out = false;
        return 0;
    }
    snprintf(err, errlen, "%s: expected true or false, got \"%s\"", name, s);
    return -1;
}

static int copy_str(const char *name, const char *value, char *dst, size_t dstlen,
                    char *err, size_t errlen)
{
    if (strlen(value) >= dstlen) {
        snprintf(err, errlen, "%s: longer than %zu bytes", name, dstlen - 1);
        return -1;
    }
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int parse_listen(struct config *cfg, char *err, size_t errlen)
{
    const char *s = env_or("LISTEN", "127.0.0.1:8080");
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof cfg->listen_host) {
        snprintf(err, errlen, "LISTEN: expected host:port, got \"%s\"", s);
        return -1;
    }
    const char *host = s;
    size_t hostlen = (size_t)(colon - s);
    if (host[0] == '[' && hostlen >= 2 && host[hostlen - 1] == ']') {
        host++;
        hostlen -= 2;
    }
    memcpy(cfg->listen_host, host, hostlen);
    cfg->listen_host[hostlen] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535) {
        snprintf(err, errlen, "LISTEN: port must be 0-65535, got \"%s\"", colon + 1);
        return -1;
    }
    cfg->listen_port = (unsigned)port;
    return 0;
}

int config_load(struct config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    unsigned long v;

    if (copy_str("DATABASE_URL", env_or("DATABASE_URL", ""), cfg->database_url,
                 sizeof cfg->database_url, err, errlen) < 0)
        return -1;
    if (copy_str("DATABASE_OWNER_URL", env_or("DATABASE_OWNER_URL", cfg->database_url),
                 cfg->database_owner_url, sizeof cfg->database_owner_url, err, errlen) < 0)
        return -1;
    if (parse_listen(cfg, err, errlen) < 0)
        return -1;

#define UINT_VAR(field, name, def, lo, hi)                                    \
    do {                                                                      \
        if (parse_uint(name, def, lo, hi, &v, err, errlen) < 0)               \
            return -1;                                                        \
        cfg->field = (unsigned)v;                                             \
    } while (0)

    UINT_VAR(http_threads, "HTTP_THREADS", "4", 1, 256);
    char threads[16];
    snprintf(threads, sizeof threads, "%u", cfg->http_threads);
    UINT_VAR(db_pool_size, "DB_POOL_SIZE", threads, 1, 256);
    UINT_VAR(db_connect_timeout, "DB_CONNECT_TIMEOUT", "3", 1, 60);
    UINT_VAR(db_acquire_timeout_ms, "DB_ACQUIRE_TIMEOUT_MS", "2000", 1, 60000);
    UINT_VAR(connection_timeout, "CONNECTION_TIMEOUT", "30", 1, 3600);
    UINT_VAR(max_connections, "MAX_CONNECTIONS", "1000", 16, 100000);
    UINT_VAR(shutdown_grace, "SHUTDOWN_GRACE", "10", 0, 300);
    UINT_VAR(session_ttl, "SESSION_TTL", "2592000", 60, 31536000);
    UINT_VAR(activation_ttl, "ACTIVATION_TTL", "1209600", 60, 31536000);
#undef UINT_VAR

    if (parse_uint("MAX_BODY_BYTES", "65536", 1024, 16UL << 20, &v, err, errlen) < 0)
        return -1;
    cfg->max_body_bytes = (size_t)v;

    if (parse_bool("MIGRATE_ON_START", "true", &cfg->migrate_on_start, err, errlen) < 0)
        return -1;
    if (copy_str("OPENAPI_PATH", env_or("OPENAPI_PATH", ""), cfg->openapi_path,
                 sizeof cfg->openapi_path, err, errlen) < 0)
        return -1;

    const char *level = env_or("LOG_LEVEL", "info");
    cfg->log_level = log_level_parse(level);
    if (cfg->log_level < 0) {
        snprintf(err, errlen, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"", level);
        return -1;
    }
    return 0;
}
