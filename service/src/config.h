/* Service configuration: read once from the environment at start-up. */
#ifndef YIJIAN_CONFIG_H
#define YIJIAN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/schedule.h"

struct config {
    char database_url[1024];       /* DATABASE_URL: service role */
    char database_owner_url[1024]; /* DATABASE_OWNER_URL: migrations */
    char listen_host[256];         /* LISTEN host part */
    unsigned listen_port;          /* LISTEN port part; 0 = any free port */
    unsigned http_threads;         /* HTTP_THREADS */
    unsigned db_pool_size;         /* DB_POOL_SIZE */
    unsigned db_connect_timeout;   /* DB_CONNECT_TIMEOUT, seconds */
    unsigned db_acquire_timeout_ms;/* DB_ACQUIRE_TIMEOUT_MS */
    unsigned db_timeout_ms;        /* DB_TIMEOUT_MS */
    size_t max_body_bytes;         /* MAX_BODY_BYTES */
    unsigned connection_timeout;   /* CONNECTION_TIMEOUT, seconds */
    unsigned max_connections;      /* MAX_CONNECTIONS */
    unsigned max_connections_per_ip; /* MAX_CONNECTIONS_PER_IP; 0 = no limit */
    unsigned shutdown_grace;       /* SHUTDOWN_GRACE, seconds */
    unsigned session_ttl;          /* SESSION_TTL, seconds */
    unsigned activation_ttl;       /* ACTIVATION_TTL, seconds */
    unsigned approval_cooling_off; /* APPROVAL_COOLING_OFF, seconds (sql/0020) */
    bool migrate_on_start;         /* MIGRATE_ON_START */
    char openapi_path[1024];       /* OPENAPI_PATH: "" = the embedded copy */
    int log_level;                 /* LOG_LEVEL */
    unsigned jobs_interval;        /* JOBS_INTERVAL, seconds between escalation passes */
    /* MASTER_KEY or MASTER_KEY_FILE: encrypts the secrets kept in the
     * database (crypto/secrets.h). serve refuses to start without one. */
    unsigned char master_key[32];
    bool master_key_set;
    unsigned token_epoch_days;     /* TOKEN_EPOCH: 0 = calendar month (UTC), else days */
    unsigned token_grace_days;     /* TOKEN_GRACE_DAYS */
    unsigned token_quota;          /* TOKEN_QUOTA: tokens per member per unit and epoch */
    /* limits an insider cannot push past (issue 22, docs/security.md) */
    unsigned units_per_day;        /* UNITS_PER_DAY: units an account (no admin) creates in 24 h */
    unsigned unit_max_depth;       /* UNIT_MAX_DEPTH: levels of the tree, the top one included */
    unsigned messages_per_suggestion; /* MESSAGES_PER_SUGGESTION: a thread's length */
    unsigned messages_per_day;     /* MESSAGES_PER_DAY: one writer, one suggestion, 24 h */
    unsigned search_window;        /* SEARCH_WINDOW: rows a search reads before the index */
    unsigned seal_interval;        /* SEAL_INTERVAL: seconds between audit sealer passes; 0 = off */
    unsigned bulletin_interval;    /* BULLETIN_INTERVAL: seconds between scheduler passes; 0 = off */
    struct bulletin_schedule bulletin_schedule; /* BULLETIN_SCHEDULE: units without their own */
    /* SCHEDULER_NOW (testing aid): the bulletin scheduler's "now", Unix
     * seconds, frozen; 0 = the real clock. Nothing else reads it. */
    long long scheduler_now;
    /* notifications (docs/notifications.md) */
    char public_url[512];          /* PUBLIC_URL: base of the links in messages, no trailing '/'; "" = derived from where serve listens */
    unsigned notify_interval_ms;   /* NOTIFY_INTERVAL_MS: outbox poll; 0 = no delivery worker */
    unsigned notify_max_attempts;  /* NOTIFY_MAX_ATTEMPTS: tries before dead-letter */
    unsigned notify_backoff_base_ms; /* NOTIFY_BACKOFF_BASE_MS: wait after the first failure */
    unsigned notify_backoff_max_ms;  /* NOTIFY_BACKOFF_MAX_MS: the longest wait */
    unsigned notify_timeout;       /* NOTIFY_TIMEOUT: seconds per webhook request, all in */
    unsigned notify_due_soon_hours;/* NOTIFY_DUE_SOON_HOURS: "due soon" this long before */
    unsigned anon_release_window;  /* ANON_RELEASE_WINDOW: seconds; 0 = anonymous acts at once */
    unsigned notify_anonymous_batch; /* NOTIFY_ANONYMOUS_BATCH: seconds; anonymous-caused notices wait for the window's end */
    bool webhook_allow_loopback;   /* WEBHOOK_ALLOW_LOOPBACK */
    char wecom_api_base[256];      /* WECOM_API_BASE: WeCom's server API, no trailing '/' */
    char dingtalk_api_base[256];   /* DINGTALK_API_BASE: DingTalk's server API, no trailing '/' */
};

/* One row per variable, used by config_load, `yijian help` and the
 * README's table. parse reads the value (the environment's, else the
 * default; NULL when neither) into cfg; for the generic parsers offset and
 * size say where, min and max the bounds of a number. */
struct config;
struct config_var {
    const char *name;
    const char *default_value; /* NULL: none; a variable's name: that one's value */
    int (*parse)(struct config *cfg, const struct config_var *v, const char *value, char *err,
                 size_t errlen); /* NULL: read with another row (MASTER_KEY_FILE) */
    size_t offset, size;
    unsigned long min, max;
    const char *help;
};

extern const struct config_var config_vars[];
extern const size_t config_vars_count;

/*
 * Fills cfg from the environment. On a bad value writes a message naming
 * the variable into err and returns -1.
 */
int config_load(struct config *cfg, char *err, size_t errlen);

/* The bounds of v as "MIN-MAX" for a number, else "". */
void config_var_bounds(const struct config_var *v, char *out, size_t outlen);

#endif
