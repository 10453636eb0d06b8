/* Configuration table: {name, default, parser}. Values are bounded; a bad
 * value is fatal at start-up with a message naming the variable. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

const struct config_var config_vars[] = {
    { "DATABASE_URL", NULL, "libpq conninfo of the service role (make run sets it for the private cluster)" },
    { "DATABASE_OWNER_URL", NULL, "conninfo of the schema owner, used by migrate (default: DATABASE_URL)" },
    { "LISTEN", "127.0.0.1:8080", "address and port to serve on; port 0 picks a free one" },
    { "HTTP_THREADS", "4", "HTTP worker threads (1-256)" },
    { "DB_POOL_SIZE", NULL, "database connections (1-256; default HTTP_THREADS)" },
    { "DB_CONNECT_TIMEOUT", "3", "seconds to wait for a database connection (1-60)" },
    { "DB_ACQUIRE_TIMEOUT_MS", "2000", "milliseconds a request waits for a free connection (1-60000)" },
    { "DB_TIMEOUT_MS", "5000", "milliseconds one database statement may take; then it is cancelled and the request answered 503 (100-600000)" },
    { "MAX_BODY_BYTES", "65536", "largest request body accepted (1 KiB-16 MiB)" },
    { "CONNECTION_TIMEOUT", "30", "seconds an idle HTTP connection is kept (1-3600)" },
    { "MAX_CONNECTIONS", "1000", "concurrent HTTP connections (16-100000)" },
    { "MAX_CONNECTIONS_PER_IP", "100", "concurrent HTTP connections from one client address (0-100000; 0: no limit)" },
    { "SHUTDOWN_GRACE", "10", "seconds in-flight requests get on SIGTERM (0-300)" },
    { "SESSION_TTL", "2592000", "seconds a sign-in lasts without use (60-31536000)" },
    { "ACTIVATION_TTL", "1209600", "seconds an activation code is valid (60-31536000)" },
    { "MIGRATE_ON_START", "true", "serve applies pending migrations first (true/false)" },
    { "OPENAPI_PATH", "", "serve this file at /v1/openapi.yaml instead of the embedded copy" },
    { "LOG_LEVEL", "info", "debug, info, warn or error" },
    { "JOBS_INTERVAL", "60", "seconds between passes of the escalation job (1-86400)" },
    { "MASTER_KEY", NULL, "64 hex characters: the key the secrets in the database are encrypted under" },
    { "MASTER_KEY_FILE", NULL, "file (mode 0600 or stricter) holding the master key: 32 bytes or 64 hex characters" },
    { "TOKEN_EPOCH", "month", "lifetime of an anonymity-token key: month (UTC) or a number of days (1-366)" },
    { "TOKEN_GRACE_DAYS", "7", "days tokens stay redeemable after their epoch ends (0-366)" },
    { "TOKEN_QUOTA", "10", "anonymity tokens a member may take per epoch (1-1000)" },
    { "SEARCH_WINDOW", "10000", "newest suggestions (by id) a search looks among before it uses the index (1-10000000)" },
    { "SEAL_INTERVAL", "5", "seconds between passes of the audit sealer (0-3600; 0: off)" },
    { "BULLETIN_INTERVAL", "60", "seconds between passes of the bulletin scheduler (0-86400; 0: off)" },
    { "BULLETIN_SCHEDULE", "monthly:1:9", "default schedule of units without their own: monthly:DAY:HOUR, weekly:DAY:HOUR (1 Monday) or off; Asia/Shanghai" },
    { "SCHEDULER_NOW", "", "testing aid: the bulletin scheduler's clock frozen at this UTC time (YYYY-MM-DDTHH:MM:SSZ)" },
    { "PUBLIC_URL", "http://127.0.0.1:8080", "base URL of the web client, for the links in notifications (http or https)" },
    { "NOTIFY_INTERVAL_MS", "1000", "milliseconds between polls of the notification outbox (0: no delivery on this instance; else 10-60000)" },
    { "NOTIFY_MAX_ATTEMPTS", "8", "tries of a webhook delivery before it is dead-lettered (1-100)" },
    { "NOTIFY_BACKOFF_BASE_MS", "30000", "wait after a failed delivery, doubled after each further failure (1-86400000)" },
    { "NOTIFY_BACKOFF_MAX_MS", "3600000", "longest wait between two tries of a delivery (1-86400000)" },
    { "NOTIFY_TIMEOUT", "10", "seconds a webhook request may take, connection included (1-120)" },
    { "NOTIFY_DUE_SOON_HOURS", "24", "hours before the answer is due that the assignee is reminded (1-720)" },
    { "NOTIFY_ANONYMOUS_BATCH", "3600", "seconds: notices caused by an anonymous submitter wait for the end of such a window (1-86400)" },
    { "WEBHOOK_ALLOW_LOOPBACK", "false", "allow webhooks to loopback addresses (127.0.0.0/8, ::1) and the machine's own addresses; for local relays and tests" },
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

/* ---- master key ------------------------------------------------------- */

/* 64 hex digits to 32 bytes; nothing else (no separators, no prefix). */
static bool master_key_from_hex(const char *hex, size_t len, unsigned char out[32])
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (len != 64 || sodium_hex2bin(out, 32, hex, len, NULL, &bin_len, &end) != 0 ||
        bin_len != 32 || end != hex + len) {
        sodium_memzero(out, 32);
        return false;
    }
    return true;
}

/* The key is never quoted in a message: only its length or the file's name. */
static int read_master_key_file(const char *path, unsigned char out[32], char *err,
                                size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "MASTER_KEY_FILE: could not open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "MASTER_KEY_FILE: %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "MASTER_KEY_FILE: %s is accessible to group or others (mode %04o); "
                 "refusing to use it: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -1;
    }
    /* 64 hex digits and a line ending at most; a longer file is not a key. */
    unsigned char buf[72];
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errlen, "MASTER_KEY_FILE: could not read %s: %s", path, strerror(errno));
            close(fd);
            sodium_memzero(buf, sizeof buf);
            return -1;
        }
        if (got == 0 || (n += (size_t)got) == sizeof buf)
            break;
    }
    close(fd);
    int rc = 0;
    size_t len = n;
    if (len == 32) {
        memcpy(out, buf, 32);
    } else {
        if (len > 0 && buf[len - 1] == '\n')
            len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
        if (!master_key_from_hex((const char *)buf, len, out)) {
            snprintf(err, errlen,
                     "MASTER_KEY_FILE: %s must hold 32 bytes or 64 hex characters "
                     "(it holds %zu%s bytes)", path, n, n == sizeof buf ? " or more" : "");
            rc = -1;
        }
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

static int parse_master_key(struct config *cfg, char *err, size_t errlen)
{
    const char *hex = env_or("MASTER_KEY", NULL);
    const char *path = env_or("MASTER_KEY_FILE", NULL);
    if (hex && path) {
        snprintf(err, errlen, "MASTER_KEY: set MASTER_KEY or MASTER_KEY_FILE, not both");
        return -1;
    }
    if (hex) {
        if (!master_key_from_hex(hex, strlen(hex), cfg->master_key)) {
            /* The value itself is a secret: only its length is told. */
            snprintf(err, errlen, "MASTER_KEY: must be exactly 64 hex characters (32 bytes); "
                     "the value set is not (length %zu)", strlen(hex));
            return -1;
        }
        cfg->master_key_set = true;
    } else if (path) {
        if (strlen(path) >= 4096) {
            snprintf(err, errlen, "MASTER_KEY_FILE: longer than 4095 bytes");
            return -1;
        }
        if (read_master_key_file(path, cfg->master_key, err, errlen) < 0)
            return -1;
        cfg->master_key_set = true;
    }
    return 0;
}

/* "month" (0) or a number of days. */
static int parse_token_epoch(struct config *cfg, char *err, size_t errlen)
{
    const char *s = env_or("TOKEN_EPOCH", "month");
    if (!strcmp(s, "month")) {
        cfg->token_epoch_days = 0;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < 1 || v > 366) {
        snprintf(err, errlen, "TOKEN_EPOCH: expected month or a number of days from 1 to 366, "
                 "got \"%s\"", s);
        return -1;
    }
    cfg->token_epoch_days = (unsigned)v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ", a real date and time, to Unix seconds. */
static int parse_scheduler_now(struct config *cfg, char *err, size_t errlen)
{
    const char *s = env_or("SCHEDULER_NOW", "");
    if (!*s)
        return 0;
    struct tm tm = { 0 }, back;
    int n = 0;
    if (strlen(s) == 20 &&
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 6 && n == 20 && tm.tm_year >= 1971) {
        int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        /* timegm normalises 02-30 into March: a date that moved is not one */
        if (t > 0 && gmtime_r(&t, &back) && back.tm_year + 1900 == year &&
            back.tm_mon + 1 == mon && back.tm_mday == mday && back.tm_hour == tm.tm_hour &&
            back.tm_min == tm.tm_min && back.tm_sec == tm.tm_sec) {
            cfg->scheduler_now = (long long)t;
            return 0;
        }
    }
    snprintf(err, errlen, "SCHEDULER_NOW: expected a UTC time YYYY-MM-DDTHH:MM:SSZ, got \"%s\"", s);
    return -1;
}

/* PUBLIC_URL: http(s)://..., kept without a trailing slash. */
static int parse_public_url(struct config *cfg, char *err, size_t errlen)
{
    const char *s = env_or("PUBLIC_URL", "http://127.0.0.1:8080");
    if (copy_str("PUBLIC_URL", s, cfg->public_url, sizeof cfg->public_url, err, errlen) < 0)
        return -1;
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/')
        cfg->public_url[--n] = '\0';
    bool scheme = !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
    bool clean = true;
    for (size_t i = 0; i < n; i++)
        clean &= (unsigned char)cfg->public_url[i] > 0x20 && cfg->public_url[i] != 0x7f &&
                 !strchr("\"<>\\^`{|}", cfg->public_url[i]);
    if (!scheme || !clean || n <= 8) {
        snprintf(err, errlen, "PUBLIC_URL: expected an http:// or https:// URL, got \"%s\"", s);
        return -1;
    }
    return 0;
}

static int parse_notify(struct config *cfg, char *err, size_t errlen)
{
    unsigned long v;
    if (parse_public_url(cfg, err, errlen) < 0)
        return -1;
    if (parse_uint("NOTIFY_INTERVAL_MS", "1000", 0, 60000, &v, err, errlen) < 0)
        return -1;
    if (v > 0 && v < 10) {
        snprintf(err, errlen, "NOTIFY_INTERVAL_MS: expected 0 or 10 to 60000, got \"%lu\"", v);
        return -1;
    }
    cfg->notify_interval_ms = (unsigned)v;
    if (parse_uint("NOTIFY_MAX_ATTEMPTS", "8", 1, 100, &v, err, errlen) < 0)
        return -1;
    cfg->notify_max_attempts = (unsigned)v;
    if (parse_uint("NOTIFY_BACKOFF_BASE_MS", "30000", 1, 86400000, &v, err, errlen) < 0)
        return -1;
    cfg->notify_backoff_base_ms = (unsigned)v;
    if (parse_uint("NOTIFY_BACKOFF_MAX_MS", "3600000", 1, 86400000, &v, err, errlen) < 0)
        return -1;
    cfg->notify_backoff_max_ms = (unsigned)v;
    if (cfg->notify_backoff_max_ms < cfg->notify_backoff_base_ms) {
        snprintf(err, errlen, "NOTIFY_BACKOFF_MAX_MS: must be at least NOTIFY_BACKOFF_BASE_MS");
        return -1;
    }
    if (parse_uint("NOTIFY_TIMEOUT", "10", 1, 120, &v, err, errlen) < 0)
        return -1;
    cfg->notify_timeout = (unsigned)v;
    if (parse_uint("NOTIFY_DUE_SOON_HOURS", "24", 1, 720, &v, err, errlen) < 0)
        return -1;
    cfg->notify_due_soon_hours = (unsigned)v;
    if (parse_uint("NOTIFY_ANONYMOUS_BATCH", "3600", 1, 86400, &v, err, errlen) < 0)
        return -1;
    cfg->notify_anonymous_batch = (unsigned)v;
    return parse_bool("WEBHOOK_ALLOW_LOOPBACK", "false", &cfg->webhook_allow_loopback, err,
                      errlen);
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
    UINT_VAR(db_timeout_ms, "DB_TIMEOUT_MS", "5000", 100, 600000);
    UINT_VAR(connection_timeout, "CONNECTION_TIMEOUT", "30", 1, 3600);
    UINT_VAR(max_connections, "MAX_CONNECTIONS", "1000", 16, 100000);
    UINT_VAR(max_connections_per_ip, "MAX_CONNECTIONS_PER_IP", "100", 0, 100000);
    if (cfg->max_connections < cfg->http_threads) {
        /* Each HTTP thread gets its share of the connections (http/server.c). */
        snprintf(err, errlen, "MAX_CONNECTIONS (%u) must be at least HTTP_THREADS (%u)",
                 cfg->max_connections, cfg->http_threads);
        return -1;
    }
    UINT_VAR(shutdown_grace, "SHUTDOWN_GRACE", "10", 0, 300);
    UINT_VAR(session_ttl, "SESSION_TTL", "2592000", 60, 31536000);
    UINT_VAR(activation_ttl, "ACTIVATION_TTL", "1209600", 60, 31536000);
    UINT_VAR(jobs_interval, "JOBS_INTERVAL", "60", 1, 86400);
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

    if (parse_master_key(cfg, err, errlen) < 0)
        return -1;
    if (parse_token_epoch(cfg, err, errlen) < 0)
        return -1;
    if (parse_uint("TOKEN_GRACE_DAYS", "7", 0, 366, &v, err, errlen) < 0)
        return -1;
    cfg->token_grace_days = (unsigned)v;
    if (parse_uint("TOKEN_QUOTA", "10", 1, 1000, &v, err, errlen) < 0)
        return -1;
    cfg->token_quota = (unsigned)v;
    if (parse_uint("SEARCH_WINDOW", "10000", 1, 10000000, &v, err, errlen) < 0)
        return -1;
    cfg->search_window = (unsigned)v;
    if (parse_uint("SEAL_INTERVAL", "5", 0, 3600, &v, err, errlen) < 0)
        return -1;
    cfg->seal_interval = (unsigned)v;
    if (parse_uint("BULLETIN_INTERVAL", "60", 0, 86400, &v, err, errlen) < 0)
        return -1;
    cfg->bulletin_interval = (unsigned)v;
    const char *sched = env_or("BULLETIN_SCHEDULE", "monthly:1:9");
    if (!bulletin_schedule_parse(sched, &cfg->bulletin_schedule)) {
        snprintf(err, errlen, "BULLETIN_SCHEDULE: expected monthly:DAY:HOUR (day 1-31), "
                 "weekly:DAY:HOUR (day 1-7, 1 is Monday; hour 0-23) or off, got \"%s\"", sched);
        return -1;
    }
    if (parse_scheduler_now(cfg, err, errlen) < 0)
        return -1;
    return parse_notify(cfg, err, errlen);
}
