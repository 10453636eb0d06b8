/* Notifications: what an event about a suggestion tells whom. Called in
 * the transaction of the change, so that the inbox rows and the outbox
 * rows commit with it or not at all; the delivery worker
 * (domain/notify_worker.c) sends the outbox afterwards. See
 * docs/notifications.md. */
#ifndef YIJIAN_DOMAIN_NOTIFY_H
#define YIJIAN_DOMAIN_NOTIFY_H

#include <stdbool.h>

#include "config.h"
#include "db/db.h"
#include "domain/suggestions.h"
#include "domain/units.h"

enum notify_event {
    NOTIFY_ASSIGNED,          /* routed to the assignee at submission */
    NOTIFY_REASSIGNED,        /* a secretary gave it to the (new) assignee */
    NOTIFY_UNASSIGNED,        /* ... and took it from the previous one */
    NOTIFY_SUBMITTER_MESSAGE, /* the author (or the tracking code's holder) wrote */
    NOTIFY_APPROVAL_NEEDED,   /* a draft answer waits for a secretary */
    NOTIFY_DUE_SOON,          /* the answer is due within NOTIFY_DUE_SOON_HOURS */
    NOTIFY_OVERDUE,           /* the answer is overdue */
    NOTIFY_ESCALATED,         /* the suggestion was escalated to the unit */
    NOTIFY_ANSWERED,          /* the named author's suggestion was answered */
    NOTIFY_MERGED,            /* ... merged into another */
    NOTIFY_PUBLISHED,         /* ... published in a bulletin */
    NOTIFY__COUNT
};

/* The event's name in the API, the inbox and the webhooks ("assigned"). */
const char *notify_event_name(enum notify_event ev);

/* Takes PUBLIC_URL (or, unset, LISTEN) and NOTIFY_ANONYMOUS_BATCH from
 * cfg (kept, borrowed); before it is called the defaults of config.c
 * apply. */
void notify_configure(const struct config *cfg);

/* The address serve is bound to: without PUBLIC_URL, the links go to
 * http://HOST:PORT (a wildcard host replaced by this machine's name). */
void notify_listening(const char *host, unsigned port);

struct notify_opts {
    /* The one account to tell, instead of those the event names (the
     * previous assignee of NOTIFY_UNASSIGNED); 0: as the event says. */
    long long recipient;
    /* Left out of the recipients (the drafter of an answer). */
    long long except;
    /* The event was caused by an anonymous submitter: its notices keep
     * only the start of the NOTIFY_ANONYMOUS_BATCH window they fall in and
     * are shown and sent only once it has ended, so that no notice tells
     * when the anonymous act happened. */
    bool anonymous_cause;
    /* NOTIFY_APPROVAL_NEEDED: the approvers as the caller read them
     * already (STMT_NOTIFY_APPROVERS, in its own pipeline), an array
     * literal "{1,2}"; NULL: read here. */
    const char *approvers;
};

/* What the texts of an event say about its suggestion (STMT_NOTIFY_FACTS
 * reads them; a caller that read them already in a pipeline of its own
 * hands them to notify_suggestion_about). */
struct notify_subject {
    long long id, unit_id, author_id, assignee_id, escalated_to;
    bool anonymous;
    char public_id[16];
    char title[SUGGESTION_TITLE_MAX_CHARS * 4 + 1];
    char unit_name[UNIT_NAME_MAX_CHARS * 4 + 1], escalated_name[UNIT_NAME_MAX_CHARS * 4 + 1];
    char due[32]; /* the answer's due time in Asia/Shanghai, "YYYY-MM-DD HH24:MI" */
};
/* The columns of a notify_subject in a spec of db/rows.h (s: the
 * struct), as STMT_NOTIFY_FACTS names them. */
#define NOTIFY_SUBJECT_FIELDS(s)                                                          \
    DB_I64("id", &(s)->id), DB_TEXT("public_id", (s)->public_id),                        \
    DB_TEXT("title", (s)->title), DB_I64("unit_id", &(s)->unit_id),                      \
    DB_TEXT("unit_name", (s)->unit_name), DB_BOOL("anonymous", &(s)->anonymous),         \
    DB_I64_N("author_id", &(s)->author_id), DB_I64_N("assignee_id", &(s)->assignee_id),  \
    DB_I64_N("escalated_to", &(s)->escalated_to),                                         \
    DB_TEXT("escalated_name", (s)->escalated_name), DB_TEXT_N("answer_due_local", (s)->due)

/*
 * Records ev about suggestion suggestion_id on c, inside the caller's
 * transaction: one inbox row per account to tell, and, for the events the
 * committee hears about, one outbox row per webhook of the unit concerned.
 * Texts are in Chinese with a link to the suggestion in the web client;
 * they never hold a suggestion's body, an author's name or a tracking
 * code. Events about the author are only for a named author: an anonymous
 * one has no account to tell. opts may be NULL.
 */
enum db_status notify_suggestion(struct db_conn *c, enum notify_event ev, long long suggestion_id,
                                 const struct notify_opts *opts);

/* The same, with the suggestion's facts read by the caller: writes only
 * (queued with db_exec_later), no round trip of its own unless the
 * approvers are to be read. */
enum db_status notify_suggestion_about(struct db_conn *c, enum notify_event ev,
                                       const struct notify_subject *f,
                                       const struct notify_opts *opts);

/*
 * One pass of the deadline reminders (the jobs thread): for every open,
 * assigned suggestion whose answer is due within due_soon_hours, or
 * overdue, tells the assignee once (notification_marks keeps that it was
 * told). Sets *n to the number of reminders.
 */
enum db_status notify_deadlines(struct db_conn *c, unsigned due_soon_hours, int *n);

/*
 * Queues a test message (event "test", about no suggestion) to webhook
 * webhook_id of unit unit_id on c, inside the caller's transaction; the
 * worker delivers it like any notice. Sets *delivery_id, or 0 when the
 * unit has no such webhook (then nothing is written). A test of a
 * work-messenger application goes to caller's own user id in it.
 */
enum db_status notify_webhook_test(struct db_conn *c, long long unit_id, long long webhook_id,
                                   long long caller, long long *delivery_id);

#endif
