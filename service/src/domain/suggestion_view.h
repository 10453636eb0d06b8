/* Reading suggestions: one suggestion with its thread as a viewer may see
 * it, a page of the list or of a search, and the suggestion a tracking
 * code follows. Knows nothing of HTTP (domain/result.h). */
#ifndef YIJIAN_DOMAIN_SUGGESTION_VIEW_H
#define YIJIAN_DOMAIN_SUGGESTION_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"
#include "domain/result.h"
#include "domain/suggestions.h"

/*
 * Suggestion public_id with its thread as account_id's rights let it be
 * seen, or (as_author) as its author sees it: the holder of a tracking
 * code. A new reference; NULL with *out set (DOMAIN_NOT_FOUND, DOMAIN_DB).
 */
json_t *suggestion_view(struct db_conn *c, const char *public_id, long long account_id,
                        bool as_author, struct domain_result *out);

/*
 * suggestion_view for the session whose token hashes to session_hash
 * (checked and renewed for ttl seconds in the same round trip). NULL with
 * *out: DOMAIN_UNAUTHORIZED, DOMAIN_NOT_FOUND (also for a suggestion the
 * caller may not see), DOMAIN_DB.
 */
json_t *suggestion_view_session(struct db_conn *c, const char *session_hash, unsigned ttl,
                                const char *public_id, struct domain_result *out);

/*
 * suggestion_view read as the last thing of a transaction (the answer of
 * a step or a submission): suggestion_view_reads fills q with the reads
 * (SUGGESTION_VIEW_READS of them) that db_transaction_batch sends with the
 * COMMIT, for public_id (a text the transaction may still fill in: it is
 * read at commit), and returns what they are read into (NULL: out of
 * memory). Once the transaction is done, suggestion_view_finish makes
 * the suggestion of them (a new reference; NULL with *out set, as
 * suggestion_view) and frees v; suggestion_view_free frees an unused one
 * (NULL is fine).
 */
#define SUGGESTION_VIEW_READS 5
struct view_reads;
struct db_query;
struct view_reads *suggestion_view_reads(const char *public_id, long long account_id,
                                         bool as_author, struct db_query q[]);
json_t *suggestion_view_finish(struct view_reads *v, struct domain_result *out);
void suggestion_view_free(struct view_reads *v);

/* The statuses a list may be filtered by. */
bool suggestion_status_known(const char *status);

/* A list or search query, its values checked by the caller. */
struct suggestion_query {
    /* The list checks the session itself (session_hash, ttl); a search
     * takes the caller as loaded (account_id, admin). */
    const char *session_hash;
    unsigned session_ttl;
    long long account_id;
    bool admin;
    const char *status;       /* may be NULL */
    long long unit_id, category_id, cursor; /* 0: any / the first page */
    long long limit;
    bool assigned_to_me, authored_by_me, overdue;
    const char *q;            /* a search; NULL for the list */
    unsigned search_window;   /* SEARCH_WINDOW */
};

/*
 * The page {items, next_cursor} as JSON text (malloc'd; caller frees),
 * its length in *len. NULL with *out set: DOMAIN_UNAUTHORIZED (the list's
 * session ended), DOMAIN_DB.
 */
char *suggestion_page(struct db_conn *c, const struct suggestion_query *q, size_t *len,
                      struct domain_result *out);

/*
 * The suggestion that tracking code presented follows (presented: what
 * follows "Tracking " in the header; NULL when the header was absent or of
 * another kind, attempted whether there was a header at all), into
 * public_id. false with *out set: DOMAIN_THROTTLED (retry_after),
 * DOMAIN_BAD_TRACKING_CODE, DOMAIN_DB. A wrong code counts towards its
 * holder bucket's back-off, in memory (domain/tracking_throttle.h; attempted
 * is no longer needed); nothing of who asked is kept anywhere.
 */
bool suggestion_tracked(struct db_conn *c, const char *presented, bool attempted,
                        char public_id[PUBLIC_ID_CHARS + 1], struct domain_result *out);

#endif
