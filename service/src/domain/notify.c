/* Who hears of what, and in which words. */
#include "domain/notify.h"

#include <jansson.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The base of the links: PUBLIC_URL, else derived from LISTEN
 * (notify_configure), its port fixed once serve is bound when LISTEN
 * asks for any free one (notify_listening, while the jobs may run). */
static pthread_mutex_t url_lock = PTHREAD_MUTEX_INITIALIZER;
static char derived_url[512] = "http://127.0.0.1:8080";
static const char *public_url = derived_url;
static unsigned anonymous_batch = 3600;
static bool batch_anonymous = true; /* only without a release window */

/* http://HOST:PORT, a wildcard host replaced by this machine's name. */
static void listen_url(const char *host, unsigned port, char *out, size_t len)
{
    char name[256];
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !*host) {
        if (gethostname(name, sizeof name) != 0 || !*name)
            snprintf(name, sizeof name, "localhost");
        name[sizeof name - 1] = '\0';
        host = name;
    }
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, len, "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

void notify_configure(const struct config *cfg)
{
    pthread_mutex_lock(&url_lock);
    if (cfg->public_url[0])
        public_url = cfg->public_url;
    else
        listen_url(cfg->listen_host, cfg->listen_port, derived_url, sizeof derived_url);
    pthread_mutex_unlock(&url_lock);
    anonymous_batch = cfg->notify_anonymous_batch;
    /* With a release window, an anonymous act's notices are made at its
     * release, which is the window's end already: batching them again
     * would only delay them by one more window (docs/notifications.md). */
    batch_anonymous = cfg->anon_release_window == 0;
}

void notify_listening(const char *host, unsigned port)
{
    pthread_mutex_lock(&url_lock);
    if (public_url == derived_url)
        listen_url(host, port, derived_url, sizeof derived_url);
    pthread_mutex_unlock(&url_lock);
}

/* Who the event is for. */
enum audience {
    TO_ASSIGNEE,  /* the current assignee */
    TO_GIVEN,     /* opts->recipient */
    TO_APPROVERS, /* the secretaries who may approve */
    TO_ESCALATED, /* committee and secretaries of the unit escalated to */
    TO_AUTHOR,    /* the named author */
};

static const struct event_def {
    const char *name;
    enum audience audience;
    bool unit_webhooks; /* the group chat of the unit concerned hears of it */
    const char *subject;  /* %s: title */
    const char *text;     /* the arguments named in the comment */
} events[NOTIFY__COUNT] = {
    /* text: public id, title, unit, due */
    [NOTIFY_ASSIGNED] = { "assigned", TO_ASSIGNEE, true, "新意见待处理：%s",
                          "意见 %s「%s」（%s）已分派给您，请在 %s 前答复。" },
    [NOTIFY_REASSIGNED] = { "reassigned", TO_ASSIGNEE, true, "意见转交给您：%s",
                            "意见 %s「%s」（%s）已转交给您处理，请在 %s 前答复。" },
    /* text: public id, title, unit */
    [NOTIFY_UNASSIGNED] = { "unassigned", TO_GIVEN, false, "意见已转交他人：%s",
                            "意见 %s「%s」（%s）已改由他人处理，您无需再跟进。" },
    [NOTIFY_SUBMITTER_MESSAGE] = { "submitter_message", TO_ASSIGNEE, true, "提交人有新留言：%s",
                                   "意见 %s「%s」（%s）的提交人发来新留言，请查看并回复。" },
    [NOTIFY_APPROVAL_NEEDED] = { "approval_needed", TO_APPROVERS, true, "答复待审核：%s",
                                 "意见 %s「%s」（%s）的答复草稿已提交，等待书记审核。" },
    /* text: public id, title, unit, due */
    [NOTIFY_DUE_SOON] = { "due_soon", TO_ASSIGNEE, true, "意见即将到期：%s",
                          "意见 %s「%s」（%s）将于 %s 到期，请尽快答复。" },
    [NOTIFY_OVERDUE] = { "overdue", TO_ASSIGNEE, true, "意见已逾期：%s",
                         "意见 %s「%s」（%s）已超过答复期限（%s），请尽快处理。" },
    /* text: public id, title, unit, unit escalated to */
    [NOTIFY_ESCALATED] = { "escalated", TO_ESCALATED, true, "意见上报到本单位：%s",
                           "意见 %s「%s」（%s）答复逾期，已上报到%s。" },
    /* text: public id, title, unit */
    [NOTIFY_ANSWERED] = { "answered", TO_AUTHOR, false, "您的意见已答复：%s",
                          "您提交的意见 %s「%s」（%s）已有答复，请查看并评价。" },
    [NOTIFY_MERGED] = { "merged", TO_AUTHOR, false, "您的意见已合并：%s",
                        "您提交的意见 %s「%s」（%s）已与相同内容的意见合并办理。" },
    [NOTIFY_PUBLISHED] = { "published", TO_AUTHOR, false, "您的意见已公开：%s",
                           "您提交的意见 %s「%s」（%s）及其答复已在通报中公开。" },
};

const char *notify_event_name(enum notify_event ev)
{
    return ev < NOTIFY__COUNT ? events[ev].name : "";
}

static long long id_at(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Appends the ids in column 0 of res (but except) to the array literal,
 * as many as fit whole (a unit's committee is far fewer than fit). */
static void add_ids(char *list, size_t len, PGresult *res, long long except)
{
    for (int i = 0; i < PQntuples(res); i++) {
        long long id = id_at(res, i, 0);
        if (!id || id == except)
            continue;
        size_t used = strlen(list);
        char one[24];
        int n = snprintf(one, sizeof one, "%s%lld", used > 1 ? "," : "", id);
        if (n < 0 || (size_t)n >= len - used)
            break;
        memcpy(list + used, one, (size_t)n + 1);
    }
}

enum db_status notify_suggestion(struct db_conn *c, enum notify_event ev, long long suggestion_id,
                                 const struct notify_opts *opts)
{
    static const struct notify_opts none = { 0 };
    if (!opts)
        opts = &none;
    if (ev >= NOTIFY__COUNT)
        return DB_ERROR;
    const struct event_def *d = &events[ev];
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", suggestion_id);
    const char *ps[] = { sid };
    enum db_status st;
    /* public_id, title, unit_id, unit name, anonymous, author_id,
     * assignee_id, escalated_to, its name, answer due (Asia/Shanghai) */
    PGresult *f = db_exec(c, STMT_NOTIFY_FACTS, ps, &st);
    if (!f)
        return st;
    if (PQntuples(f) != 1) {
        PQclear(f);
        return DB_ERROR;
    }
    const char *public_id = PQgetvalue(f, 0, 0), *title = PQgetvalue(f, 0, 1),
               *unit_name = PQgetvalue(f, 0, 3), *escalated_name = PQgetvalue(f, 0, 8),
               *due = PQgetvalue(f, 0, 9);
    bool anonymous = PQgetvalue(f, 0, 4)[0] == 't';
    long long unit_id = id_at(f, 0, 2), author = id_at(f, 0, 5), assignee = id_at(f, 0, 6),
              escalated_to = id_at(f, 0, 7);

    /* Who: an array literal "{1,2}". */
    char accounts[2048] = "{";
    PGresult *res = NULL;
    char u[24], x[24];
    switch (d->audience) {
    case TO_ASSIGNEE:
        if (assignee && assignee != opts->except)
            snprintf(accounts, sizeof accounts, "{%lld", assignee);
        break;
    case TO_GIVEN:
        if (opts->recipient)
            snprintf(accounts, sizeof accounts, "{%lld", opts->recipient);
        break;
    case TO_AUTHOR:
        if (!anonymous && author)
            snprintf(accounts, sizeof accounts, "{%lld", author);
        break;
    case TO_APPROVERS:
    case TO_ESCALATED: {
        bool approvers = d->audience == TO_APPROVERS;
        snprintf(u, sizeof u, "%lld", approvers ? unit_id : escalated_to);
        snprintf(x, sizeof x, "%lld", opts->except);
        const char *pu[] = { u, x };
        if (!approvers && !escalated_to)
            break;
        res = db_exec(c, approvers ? STMT_NOTIFY_APPROVERS : STMT_NOTIFY_UNIT_STAFF, pu, &st);
        if (!res) {
            PQclear(f);
            return st;
        }
        add_ids(accounts, sizeof accounts - 1, res, opts->except);
        PQclear(res);
        break;
    }
    }
    strcat(accounts, "}");

    char subject[600], text[1600], link[700];
    snprintf(subject, sizeof subject, d->subject, title);
    switch (ev) {
    case NOTIFY_ASSIGNED:
    case NOTIFY_REASSIGNED:
    case NOTIFY_DUE_SOON:
    case NOTIFY_OVERDUE:
        snprintf(text, sizeof text, d->text, public_id, title, unit_name, due);
        break;
    case NOTIFY_ESCALATED:
        snprintf(text, sizeof text, d->text, public_id, title, unit_name, escalated_name);
        break;
    default:
        snprintf(text, sizeof text, d->text, public_id, title, unit_name);
        break;
    }
    /* The web client's route of a suggestion (docs/notifications.md). */
    pthread_mutex_lock(&url_lock);
    snprintf(link, sizeof link, "%s/#/suggestions/%s", public_url, public_id);
    pthread_mutex_unlock(&url_lock);

    char batch[16];
    snprintf(batch, sizeof batch, "%u", anonymous_batch);
    const char *anon = opts->anonymous_cause && batch_anonymous ? "true" : "false";
    st = DB_OK;
    /* The rows are written with the transaction's next call or its
     * commit (db_exec_later): nothing here reads them back. */
    if (strcmp(accounts, "{}")) {
        const char *pi[] = { accounts, d->name, sid, subject, text, link, anon, batch };
        st = db_exec_later(c, STMT_NOTIFY_INBOX_INSERT, pi);
    }
    long long hook_unit = ev == NOTIFY_ESCALATED ? escalated_to : unit_id;
    bool to_unit = d->unit_webhooks && hook_unit;
    bool to_accounts = strcmp(accounts, "{}") != 0;
    if (st == DB_OK && (to_unit || to_accounts)) {
        json_t *payload = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I, s:s}}", "event",
                                    d->name, "subject", subject, "text", text, "link", link,
                                    "suggestion", "id", public_id, "title", title, "unit_id",
                                    (json_int_t)unit_id, "unit_name", unit_name);
        char *p = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
        json_decref(payload);
        if (!p) {
            st = DB_ERROR;
        } else {
            /* The unit's webhooks, then those of the accounts told. */
            if (to_unit) {
                snprintf(u, sizeof u, "%lld", hook_unit);
                const char *po[] = { u, d->name, sid, p, anon, batch };
                st = db_exec_later(c, STMT_NOTIFY_OUTBOX_INSERT, po);
            }
            if (st == DB_OK && to_accounts) {
                const char *pa[] = { accounts, d->name, sid, p, anon, batch };
                st = db_exec_later(c, STMT_NOTIFY_OUTBOX_INSERT_ACCOUNTS, pa);
            }
            free(p);
        }
    }
    PQclear(f);
    return st;
}

enum db_status notify_deadlines(struct db_conn *c, unsigned due_soon_hours, int *n)
{
    *n = 0;
    char h[16];
    snprintf(h, sizeof h, "%u", due_soon_hours);
    const char *p[] = { h };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_NOTIFY_DEADLINES_MARK, p, &st);
    if (!res)
        return st;
    for (int i = 0; i < PQntuples(res) && st == DB_OK; i++) {
        enum notify_event ev = !strcmp(PQgetvalue(res, i, 1), "overdue") ? NOTIFY_OVERDUE
                                                                         : NOTIFY_DUE_SOON;
        st = notify_suggestion(c, ev, id_at(res, i, 0), NULL);
        (*n)++;
    }
    PQclear(res);
    return st;
}

enum db_status notify_webhook_test(struct db_conn *c, long long unit_id, long long webhook_id,
                                   long long *delivery_id)
{
    *delivery_id = 0;
    char link[600];
    pthread_mutex_lock(&url_lock);
    snprintf(link, sizeof link, "%s/#/", public_url);
    pthread_mutex_unlock(&url_lock);
    json_t *payload = json_pack("{s:s, s:s, s:s, s:n}", "event", "test", "subject",
                                "意见箱测试消息", "link", link, "suggestion");
    char *p = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!p)
        return DB_ERROR;
    char u[24], w[24];
    snprintf(u, sizeof u, "%lld", unit_id);
    snprintf(w, sizeof w, "%lld", webhook_id);
    const char *pi[] = { u, w, p, "“%s”的群通知已接通：这是一条测试消息，不必回复。" };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_OUTBOX_TEST_INSERT, pi, &st);
    free(p);
    if (!res)
        return st;
    if (PQntuples(res) == 1)
        *delivery_id = id_at(res, 0, 0);
    PQclear(res);
    return DB_OK;
}
