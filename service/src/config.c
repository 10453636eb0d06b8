/* Configuration: one table of {name, default, parser, bounds, help}
 * (config_vars) that config_load, `yijian help` and the README's table
 * (checked by tests/unit/config.c) all use. Values are bounded; a bad
 * value is fatal at start-up with a message naming the variable. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/hex.h"
#include "util/log.h"

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

static int parse_ulong(const char *name, const char *s, unsigned long min, unsigned long max,
                       unsigned long *out, char *err, size_t errlen)
{
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

static int parse_boolean(const char *name, const char *s, bool *out, char *err, size_t errlen)
{
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

static int parse_listen(struct config *cfg, const struct config_var *v, const char *s,
                        char *err, size_t errlen)
{
    (void)v;
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
    if (!hex_to_bytes_n(hex, len, out, 32)) {
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

/* MASTER_KEY and MASTER_KEY_FILE together (the second's row has no parser). */
static int parse_master_key(struct config *cfg, const struct config_var *v, const char *hex,
                            char *err, size_t errlen)
{
    (void)v;
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
static int parse_token_epoch(struct config *cfg, const struct config_var *var, const char *s,
                             char *err, size_t errlen)
{
    (void)var;
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
static int parse_scheduler_now(struct config *cfg, const struct config_var *v, const char *s,
                               char *err, size_t errlen)
{
    (void)v;
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

/* PUBLIC_URL: http(s)://..., kept without a trailing slash; unset, ""
 * (serve derives it from the address it listens on). */
static int parse_public_url(struct config *cfg, const struct config_var *v, const char *s,
                            char *err, size_t errlen)
{
    (void)v;
    if (!*s) {
        cfg->public_url[0] = '\0';
        return 0;
    }
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

/* WECOM_API_BASE, DINGTALK_API_BASE: http(s)://host[:port][/path], kept
 * without a trailing slash (the tests point them at a fake server). */
static int parse_api_base(struct config *cfg, const struct config_var *v, const char *s,
                          char *err, size_t errlen)
{
    char *out = (char *)cfg + v->offset;
    if (copy_str(v->name, s, out, v->size, err, errlen) < 0)
        return -1;
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    bool scheme = !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
    bool clean = true;
    for (size_t i = 0; i < n; i++)
        clean &= (unsigned char)out[i] > 0x20 && out[i] != 0x7f && !strchr("\"<>\\^`{|}?#", out[i]);
    if (!scheme || !clean || n <= 8) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL, got \"%s\"", v->name, s);
        return -1;
    }
    return 0;
}

static int parse_log_level(struct config *cfg, const struct config_var *v, const char *s,
                           char *err, size_t errlen)
{
    (void)v;
    cfg->log_level = log_level_parse(s);
    if (cfg->log_level < 0) {
        snprintf(err, errlen, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"", s);
        return -1;
    }
    return 0;
}

static int parse_schedule(struct config *cfg, const struct config_var *v, const char *s,
                          char *err, size_t errlen)
{
    (void)v;
    if (!bulletin_schedule_parse(s, &cfg->bulletin_schedule)) {
        snprintf(err, errlen, "BULLETIN_SCHEDULE: expected monthly:DAY:HOUR (day 1-31), "
                 "weekly:DAY:HOUR (day 1-7, 1 is Monday; hour 0-23) or off, got \"%s\"", s);
        return -1;
    }
    return 0;
}

/* ---- the generic parsers: where the value goes is the row's offset ---- */

static int parse_uint_var(struct config *cfg, const struct config_var *v, const char *s,
                          char *err, size_t errlen)
{
    unsigned long n;
    if (parse_ulong(v->name, s, v->min, v->max, &n, err, errlen) < 0)
        return -1;
    char *field = (char *)cfg + v->offset;
    if (v->size == sizeof(size_t))
        *(size_t *)(void *)field = (size_t)n;
    else
        *(unsigned *)(void *)field = (unsigned)n;
    return 0;
}

static int parse_bool_var(struct config *cfg, const struct config_var *v, const char *s,
                          char *err, size_t errlen)
{
    return parse_boolean(v->name, s, (bool *)(void *)((char *)cfg + v->offset), err, errlen);
}

static int parse_text_var(struct config *cfg, const struct config_var *v, const char *s,
                          char *err, size_t errlen)
{
    return copy_str(v->name, s ? s : "", (char *)cfg + v->offset, v->size, err, errlen);
}

#define UINT(field, lo, hi) parse_uint_var, offsetof(struct config, field), \
                            sizeof(((struct config *)0)->field), lo, hi
#define BOOL(field) parse_bool_var, offsetof(struct config, field), sizeof(bool), 0, 1
#define TEXT(field) parse_text_var, offsetof(struct config, field), \
                    sizeof(((struct config *)0)->field), 0, 0
#define CUSTOM(fn) fn, 0, 0, 0, 0
#define DERIVED NULL, 0, 0, 0, 0

/* Every variable, in the order config_load reads them (one may default to
 * another read before it). Bounds are the table's: `yijian help` and the
 * README print them from here (tests/unit/config.c checks the README). */
const struct config_var config_vars[] = {
    { "DATABASE_URL", NULL, TEXT(database_url),
      "libpq conninfo of the service role (make run sets it for the private cluster)" },
    { "DATABASE_OWNER_URL", "DATABASE_URL", TEXT(database_owner_url),
      "conninfo of the schema owner, used by migrate" },
    { "LISTEN", "127.0.0.1:8080", CUSTOM(parse_listen),
      "address and port to serve on; port 0 picks a free one" },
    { "HTTP_THREADS", "4", UINT(http_threads, 1, 256), "HTTP worker threads" },
    { "DB_POOL_SIZE", "HTTP_THREADS", UINT(db_pool_size, 1, 256), "database connections" },
    { "DB_CONNECT_TIMEOUT", "3", UINT(db_connect_timeout, 1, 60),
      "seconds to wait for a database connection" },
    { "DB_ACQUIRE_TIMEOUT_MS", "2000", UINT(db_acquire_timeout_ms, 1, 60000),
      "milliseconds a request waits for a free connection" },
    { "DB_TIMEOUT_MS", "5000", UINT(db_timeout_ms, 100, 600000),
      "milliseconds one database statement may take; then it is cancelled and the request "
      "answered 503" },
    { "MAX_BODY_BYTES", "65536", UINT(max_body_bytes, 1024, 16UL << 20),
      "largest request body accepted, in bytes" },
    { "CONNECTION_TIMEOUT", "30", UINT(connection_timeout, 1, 3600),
      "seconds an idle HTTP connection is kept" },
    { "MAX_CONNECTIONS", "1000", UINT(max_connections, 16, 100000), "concurrent HTTP connections" },
    { "MAX_CONNECTIONS_PER_IP", "100", UINT(max_connections_per_ip, 0, 100000),
      "concurrent HTTP connections from one client address (0: no limit)" },
    { "SHUTDOWN_GRACE", "10", UINT(shutdown_grace, 0, 300),
      "seconds in-flight requests get on SIGTERM" },
    { "SESSION_TTL", "2592000", UINT(session_ttl, 60, 31536000),
      "seconds a sign-in lasts without use" },
    { "ACTIVATION_TTL", "1209600", UINT(activation_ttl, 60, 31536000),
      "seconds an activation code is valid" },
    { "APPROVAL_COOLING_OFF", "1209600", UINT(approval_cooling_off, 0, 31536000),
      "seconds an account a secretary created or reset may not approve that secretary's answers" },
    { "MIGRATE_ON_START", "true", BOOL(migrate_on_start),
      "serve applies pending migrations first (true/false)" },
    { "OPENAPI_PATH", "", TEXT(openapi_path),
      "serve this file at /v1/openapi.yaml instead of the embedded copy" },
    { "LOG_LEVEL", "info", CUSTOM(parse_log_level), "debug, info, warn or error" },
    { "JOBS_INTERVAL", "60", UINT(jobs_interval, 1, 86400),
      "seconds between passes of the escalation job" },
    { "MASTER_KEY", NULL, CUSTOM(parse_master_key),
      "64 hex characters: the key the secrets in the database are encrypted under" },
    { "MASTER_KEY_FILE", NULL, DERIVED,
      "file (mode 0600 or stricter) holding the master key: 32 bytes or 64 hex characters" },
    { "TOKEN_EPOCH", "month", CUSTOM(parse_token_epoch),
      "lifetime of an anonymity-token key: month (UTC) or a number of days (1-366)" },
    { "TOKEN_GRACE_DAYS", "7", UINT(token_grace_days, 0, 366),
      "days tokens stay redeemable after their epoch ends" },
    { "TOKEN_QUOTA", "10", UINT(token_quota, 1, 1000),
      "anonymity tokens a member may take per unit and epoch" },
    { "UNITS_PER_DAY", "50", UINT(units_per_day, 1, 100000),
      "units one account that is no admin may create in 24 hours" },
    { "UNIT_MAX_DEPTH", "10", UINT(unit_max_depth, 1, 1000),
      "levels the unit tree may have, the top one included" },
    { "MESSAGES_PER_SUGGESTION", "200", UINT(messages_per_suggestion, 1, 100000),
      "messages a suggestion's thread may hold" },
    { "MESSAGES_PER_DAY", "50", UINT(messages_per_day, 1, 100000),
      "messages one writer may add to one suggestion in 24 hours" },
    { "SEARCH_WINDOW", "10000", UINT(search_window, 1, 10000000),
      "newest suggestions (by id) a search looks among before it uses the index" },
    { "SEAL_INTERVAL", "5", UINT(seal_interval, 0, 3600),
      "seconds between passes of the audit sealer (0: off)" },
    { "BULLETIN_INTERVAL", "60", UINT(bulletin_interval, 0, 86400),
      "seconds between passes of the bulletin scheduler (0: off)" },
    { "BULLETIN_SCHEDULE", "monthly:1:9", CUSTOM(parse_schedule),
      "default schedule of units without their own: monthly:DAY:HOUR, weekly:DAY:HOUR "
      "(1 Monday) or off; Asia/Shanghai" },
    { "SCHEDULER_NOW", "", CUSTOM(parse_scheduler_now),
      "testing aid: the bulletin scheduler's clock frozen at this UTC time "
      "(YYYY-MM-DDTHH:MM:SSZ)" },
    { "PUBLIC_URL", "", CUSTOM(parse_public_url),
      "base URL of the web client, for the links in notifications (http or https; unset: "
      "http:// and the address serve listens on)" },
    { "NOTIFY_INTERVAL_MS", "1000", UINT(notify_interval_ms, 0, 60000),
      "milliseconds between polls of the notification outbox (0: no delivery on this "
      "instance; else at least 10)" },
    { "NOTIFY_MAX_ATTEMPTS", "8", UINT(notify_max_attempts, 1, 100),
      "tries of a webhook delivery before it is dead-lettered" },
    { "NOTIFY_BACKOFF_BASE_MS", "30000", UINT(notify_backoff_base_ms, 1, 86400000),
      "wait after a failed delivery, doubled after each further failure" },
    { "NOTIFY_BACKOFF_MAX_MS", "3600000", UINT(notify_backoff_max_ms, 1, 86400000),
      "longest wait between two tries of a delivery (at least NOTIFY_BACKOFF_BASE_MS)" },
    { "NOTIFY_TIMEOUT", "10", UINT(notify_timeout, 1, 120),
      "seconds a webhook request may take, connection included" },
    { "NOTIFY_DUE_SOON_HOURS", "24", UINT(notify_due_soon_hours, 1, 720),
      "hours before the answer is due that the assignee is reminded" },
    { "ANON_RELEASE_WINDOW", "3600", UINT(anon_release_window, 0, 86400),
      "seconds: anonymous suggestions are held, sealed, until the end of such a window "
      "(multiples since 1970-01-01 UTC) and released together; 0: at once, for development only" },
    { "NOTIFY_ANONYMOUS_BATCH", "3600", UINT(notify_anonymous_batch, 1, 86400),
      "seconds: notices caused by an anonymous submitter wait for the end of such a window "
      "(only when ANON_RELEASE_WINDOW is 0: the release window holds the acts themselves)" },
    { "WEBHOOK_ALLOW_LOOPBACK", "false", BOOL(webhook_allow_loopback),
      "allow webhooks to loopback addresses (127.0.0.0/8, ::1) and the machine's own "
      "addresses; for local relays and tests" },
    { "WECOM_API_BASE", "https://qyapi.weixin.qq.com", parse_api_base,
      offsetof(struct config, wecom_api_base), sizeof ((struct config *)0)->wecom_api_base, 0, 0,
      "WeCom's server API, for units' WeCom applications (企业微信应用消息)" },
    { "DINGTALK_API_BASE", "https://oapi.dingtalk.com", parse_api_base,
      offsetof(struct config, dingtalk_api_base), sizeof ((struct config *)0)->dingtalk_api_base,
      0, 0, "DingTalk's server API, for units' DingTalk applications (工作通知)" },
};
const size_t config_vars_count = sizeof config_vars / sizeof config_vars[0];

int config_load(struct config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    char threads[16];
    for (size_t i = 0; i < config_vars_count; i++) {
        const struct config_var *v = &config_vars[i];
        if (!v->parse)
            continue;
        const char *fallback = v->default_value;
        /* The two defaults that name another variable, read before them. */
        if (!strcmp(v->name, "DATABASE_OWNER_URL")) {
            fallback = cfg->database_url;
        } else if (!strcmp(v->name, "DB_POOL_SIZE")) {
            snprintf(threads, sizeof threads, "%u", cfg->http_threads);
            fallback = threads;
        }
        if (v->parse(cfg, v, env_or(v->name, fallback), err, errlen) < 0)
            return -1;
    }
    /* Rules between variables. */
    if (cfg->max_connections < cfg->http_threads) {
        /* Each HTTP thread gets its share of the connections (http/server.c). */
        snprintf(err, errlen, "MAX_CONNECTIONS (%u) must be at least HTTP_THREADS (%u)",
                 cfg->max_connections, cfg->http_threads);
        return -1;
    }
    if (cfg->notify_interval_ms > 0 && cfg->notify_interval_ms < 10) {
        snprintf(err, errlen, "NOTIFY_INTERVAL_MS: expected 0 or 10 to 60000, got \"%u\"",
                 cfg->notify_interval_ms);
        return -1;
    }
    if (cfg->notify_backoff_max_ms < cfg->notify_backoff_base_ms) {
        snprintf(err, errlen, "NOTIFY_BACKOFF_MAX_MS: must be at least NOTIFY_BACKOFF_BASE_MS");
        return -1;
    }
    return 0;
}

void config_var_bounds(const struct config_var *v, char *out, size_t outlen)
{
    if (v->parse == parse_uint_var)
        snprintf(out, outlen, "%lu-%lu", v->min, v->max);
    else
        snprintf(out, outlen, "%s", "");
}
