/* Consultations' rows as typed values (sql/0022): each function runs its
 * named statement and reads the columns in one place, so that nothing
 * above db/ counts columns. */
#ifndef YIJIAN_DB_CONSULTATIONS_H
#define YIJIAN_DB_CONSULTATIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"

/* One consultation as account `viewer` sees it. Strings are owned
 * (consultation_row_clear frees them); times are RFC 3339 UTC, NULL for
 * one not yet reached. */
struct consultation_row {
    long long id, unit_id, created_by;
    char *unit_name, *kind, *title, *body, *answer_mode, *status;
    char *opens_at, *closes_at, *created_at, *opened_at, *closed_at;
    bool include_subunits;
    bool in_audience;       /* viewer is one of those it asks */
    json_t *questions;      /* owned: [{position, kind, prompt, choices?, subjects?}] */
    long long named, anonymous, eligible; /* answers so far, and how many are asked */
    json_t *my_answer;      /* owned; NULL: viewer has no named answer */
    char *my_answer_at;     /* when it last changed */
    bool started, ended;    /* now() >= opens_at, >= closes_at */
    char *release_until;    /* until when held anonymous answers are released; NULL for a draft */
    bool settled;           /* closed, and no anonymous answer of it still held */
    bool token_taken;       /* viewer's one token was issued (or it answered named without) */
};

/* Frees what row holds; safe on a zeroed or cleared row. */
void consultation_row_clear(struct consultation_row *row);

/* Loads consultation id for viewer; *found false when there is none. */
enum db_status db_consultation_get(struct db_conn *c, long long id, long long viewer,
                                   struct consultation_row *out, bool *found);

/* The state a step of the lifecycle checks, read with the row locked
 * (FOR UPDATE): inside a transaction. */
struct consultation_state {
    long long unit_id;
    char status[8];
    char answer_mode[20];
    bool started;  /* now() >= opens_at */
    bool ended;    /* now() >= closes_at */
};
enum db_status db_consultation_lock(struct db_conn *c, long long id,
                                    struct consultation_state *out, bool *found);

/* The fields of a new consultation, or of a change (NULL / -1: keep). */
struct consultation_fields {
    const char *kind, *title, *body, *answer_mode, *opens_at, *closes_at;
    int include_subunits; /* 0, 1; -1: keep */
    json_t *questions;    /* borrowed; NULL: keep */
};

/* Inserts a draft by created_by in unit_id; *id its id. */
enum db_status db_consultation_insert(struct db_conn *c, long long unit_id, long long created_by,
                                      const struct consultation_fields *f, long long *id);
/* Changes the given fields of draft id. */
enum db_status db_consultation_update(struct db_conn *c, long long id,
                                      const struct consultation_fields *f);
/* Replaces the questions of draft id with questions (a JSON array of
 * {kind, prompt, choices?} in order). */
enum db_status db_consultation_questions_set(struct db_conn *c, long long id,
                                             const json_t *questions);
/* draft -> open by account `by`, fixing the committee members an
 * opinions question asks about. */
enum db_status db_consultation_open(struct db_conn *c, long long id, long long by, unsigned window);
/* open -> closed; held anonymous answers are then released until the end
 * of the window (ANON_RELEASE_WINDOW) holding the close at the latest. */
enum db_status db_consultation_close(struct db_conn *c, long long id, unsigned window);
/* Closes every open consultation whose closing time has come; ids[] gets
 * up to max of their ids, *n how many were closed. */
enum db_status db_consultations_close_due(struct db_conn *c, unsigned window, long long *ids,
                                         int max, int *n);

/* Writes account's named answer (creating or replacing it); *created
 * whether it is new. */
enum db_status db_consultation_answer_named(struct db_conn *c, long long id, long long account,
                                            const json_t *answers, bool *created);

/* Every answer's values (a JSON array of the answers objects, in an order
 * that says nothing of who answered when). Returns a new reference. */
enum db_status db_consultation_answers(struct db_conn *c, long long id, json_t **out);

/* One line of a list. */
struct consultation_summary {
    long long id, unit_id;
    char *unit_name, *kind, *title, *status, *answer_mode, *opens_at, *closes_at;
    bool answered; /* the viewer has a named answer */
    bool staff;    /* the viewer is of its committee or manages its unit */
};
/* The consultations account may see (admin: all), newest first, at most
 * max; *rows is allocated (consultation_summaries_free). */
enum db_status db_consultations_list(struct db_conn *c, long long account, bool admin, int max,
                                     struct consultation_summary **rows, int *n);
void consultation_summaries_free(struct consultation_summary *rows, int n);

/* ---- anonymous answers (sql/0030) ---- */

/* Takes account's one token of id (or its place, for a named answer
 * without one); *taken false when it was taken before. */
enum db_status db_consultation_token_take(struct db_conn *c, long long id, long long account,
                                          bool *taken);
/* Whether account has a named answer to id. */
enum db_status db_consultation_has_named(struct db_conn *c, long long id, long long account,
                                         bool *answered);
/* At the release: writes (replace: replaces) the anonymous answer of the
 * tracking code whose hash is code_hash; DB_ABORT when there is one
 * already (write) or none (replace). */
enum db_status db_consultation_answer_anonymous(struct db_conn *c, long long id,
                                                const char *code_hash, const json_t *answers,
                                                bool replace);
/* The answers of code_hash's anonymous answer (a new reference), NULL
 * when it has none. */
enum db_status db_consultation_answer_by_code(struct db_conn *c, long long id,
                                              const char *code_hash, json_t **answers);

/* ---- themes (sql/0025) ---- */

/* One text answer: the answer's value for one text question, its theme
 * (0: not yet grouped) and how many answered that question. */
struct consultation_text {
    long long answer_id, theme_id, basis;
    int position;
    char *text;
};
enum db_status db_consultation_texts(struct db_conn *c, long long id,
                                     struct consultation_text **rows, int *n);
void consultation_texts_free(struct consultation_text *rows, int n);

struct consultation_theme {
    long long id;
    char *title;
};
enum db_status db_consultation_themes(struct db_conn *c, long long id,
                                      struct consultation_theme **rows, int *n);
void consultation_themes_free(struct consultation_theme *rows, int n);

/* A new theme of consultation id; DB_UNIQUE when it has one of that title. */
enum db_status db_consultation_theme_insert(struct db_conn *c, long long id, const char *title,
                                            long long by, long long *theme_id);
/* Makes the items of theme_id (of consultation id) exactly items, a JSON
 * array of [answer id, position]; they leave the theme that held them.
 * *missing: the theme is not one of the consultation. */
enum db_status db_consultation_theme_items_set(struct db_conn *c, long long theme_id,
                                               long long id, const json_t *items);

/* ---- opinions on a committee member (sql/0026) ---- */

/* by hands id's opinions on subject over; *done false when it was before.
 * DB_CONSTRAINT: subject is no subject of id, or it is not closed, or by
 * is the subject. */
enum db_status db_consultation_handover(struct db_conn *c, long long id, long long subject,
                                        long long by, bool *done);
/* The opinions on subject (a new JSON array of strings; empty before the
 * hand-over). */
enum db_status db_consultation_opinions(struct db_conn *c, long long id, long long subject,
                                        json_t **out);

struct consultation_subject_state {
    long long account_id, approved_by; /* approved_by 0: not yet */
    char *handed_at, *response, *written_at, *approved_at; /* NULL: not yet */
};
enum db_status db_consultation_subject_states(struct db_conn *c, long long id,
                                              struct consultation_subject_state **rows, int *n);
void consultation_subject_states_free(struct consultation_subject_state *rows, int n);

/* subject's response, until approved (DB_CONSTRAINT after, or before the
 * hand-over). */
enum db_status db_consultation_response_write(struct db_conn *c, long long id, long long subject,
                                              const char *body);
/* Approves subject's response by `by`; DB_ABORT when there is none to
 * approve, DB_CONSTRAINT when by is the subject. */
enum db_status db_consultation_response_approve(struct db_conn *c, long long id, long long subject,
                                                long long by);

#endif
