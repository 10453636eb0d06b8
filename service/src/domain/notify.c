/* Who hears of what, and in which words. */
#include "domain/notify.h"

#include "db/rows.h"

#include <jansson.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"

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

/* Appends id (unless 0 or except) to the array literal being built in
 * list, while it fits whole (a unit's committee is far fewer than fit). */
struct id_list {
    char *list;
    size_t len;
    long long except, id;
};

static enum db_status add_id(void *cls, size_t row)
{
    struct id_list *l = cls;
    (void)row;
    if (!l->id || l->id == l->except)
        return DB_OK;
    size_t used = strlen(l->list);
    char one[24];
    int n = snprintf(one, sizeof one, "%s%lld", used > 1 ? "," : "", l->id);
    if (n >= 0 && (size_t)n < l->len - used)
        memcpy(l->list + used, one, (size_t)n + 1);
    return DB_OK;
}

enum db_status notify_suggestion(struct db_conn *c, enum notify_event ev, long long suggestion_id,
                                 const struct notify_opts *opts)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", suggestion_id);
    const char *ps[] = { sid };
    enum db_status st;
    struct notify_subject f;
    memset(&f, 0, sizeof f);
    const struct db_field spec[] = { NOTIFY_SUBJECT_FIELDS(&f), DB_END };
    int found = db_one(c, STMT_NOTIFY_FACTS, ps, spec, &st);
    if (found < 0)
        return st;
    if (found == 0)
        return DB_ERROR;
    return notify_suggestion_about(c, ev, &f, opts);
}

enum db_status notify_suggestion_about(struct db_conn *c, enum notify_event ev,
                                       const struct notify_subject *f,
                                       const struct notify_opts *opts)
{
    static const struct notify_opts none = { 0 };
    if (!opts)
        opts = &none;
    if (ev >= NOTIFY__COUNT)
        return DB_ERROR;
    const struct event_def *d = &events[ev];
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", f->id);
    enum db_status st;
    const char *public_id = f->public_id, *title = f->title, *unit_name = f->unit_name,
               *escalated_name = f->escalated_name, *due = f->due;
    bool anonymous = f->anonymous;
    long long unit_id = f->unit_id, author = f->author_id, assignee = f->assignee_id,
              escalated_to = f->escalated_to;

    /* Who: an array literal "{1,2}". */
    char accounts[2048] = "{";
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
        if (approvers && opts->approvers) {
            snprintf(accounts, sizeof accounts, "%s", opts->approvers);
            accounts[strcspn(accounts, "}")] = '\0';
            break;
        }
        struct id_list l = { accounts, sizeof accounts - 1, opts->except, 0 };
        const struct db_field spec[] = { DB_I64_N("account_id", &l.id), DB_END };
        if (db_each(c, approvers ? STMT_NOTIFY_APPROVERS : STMT_NOTIFY_UNIT_STAFF, pu, spec,
                    add_id, &l, &st) < 0)
            return st;
        break;
    }
    }
    strcat(accounts, "}");

    char subject[1200], text[3200], link[700];
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
            /* And each account told in its own work messenger, through
             * the application of the nearest unit at or above the one
             * concerned that has one (docs/notifications.md). */
            if (st == DB_OK && to_accounts) {
                char m[24];
                snprintf(m, sizeof m, "%lld", hook_unit ? hook_unit : unit_id);
                const char *pm[] = { accounts, d->name, sid, p, anon, batch, m };
                st = db_exec_later(c, STMT_NOTIFY_OUTBOX_INSERT_MESSENGER, pm);
            }
            free(p);
        }
    }
    return st;
}

struct due {
    long long id;
    bool overdue;
};

struct due_rows {
    struct due *list;
    size_t n;
    long long id;
    char kind[16];
};

static enum db_status keep_due(void *cls, size_t row)
{
    struct due_rows *r = cls;
    (void)row;
    struct due *more = realloc(r->list, (r->n + 1) * sizeof *more);
    if (!more)
        return DB_ERROR;
    r->list = more;
    r->list[r->n++] = (struct due){ r->id, !strcmp(r->kind, "overdue") };
    return DB_OK;
}

enum db_status notify_deadlines(struct db_conn *c, unsigned due_soon_hours, int *n)
{
    *n = 0;
    char h[16];
    snprintf(h, sizeof h, "%u", due_soon_hours);
    const char *p[] = { h };
    /* Read whole first: each reminder runs statements of its own. */
    struct due_rows r = { 0 };
    const struct db_field spec[] = { DB_I64("suggestion_id", &r.id), DB_TEXT("kind", r.kind),
                                     DB_END };
    enum db_status st;
    if (db_each(c, STMT_NOTIFY_DEADLINES_MARK, p, spec, keep_due, &r, &st) < 0) {
        free(r.list);
        return st;
    }
    for (size_t i = 0; i < r.n && st == DB_OK; i++) {
        st = notify_suggestion(c, r.list[i].overdue ? NOTIFY_OVERDUE : NOTIFY_DUE_SOON,
                               r.list[i].id, NULL);
        (*n)++;
    }
    free(r.list);
    return st;
}

enum db_status notify_webhook_test(struct db_conn *c, long long unit_id, long long webhook_id,
                                   long long caller, long long *delivery_id)
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
    char by[24];
    snprintf(by, sizeof by, "%lld", caller);
    const char *pi[] = { u, w, p, "“%s”的群通知已接通：这是一条测试消息，不必回复。", by,
                         "“%s”的意见箱通知已接通到您的工作消息：这是一条测试消息，不必回复。" };
    enum db_status st;
    const struct db_field spec[] = { DB_I64("id", delivery_id), DB_END };
    int found = db_one(c, STMT_OUTBOX_TEST_INSERT, pi, spec, &st);
    free(p);
    if (found < 0)
        return st;
    return DB_OK;
}
