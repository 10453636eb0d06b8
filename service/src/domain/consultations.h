/* Consultations (征求意见, issue 23): the committee asks, each member of
 * the audience answers once; drafting, opening, closing, named answers,
 * the counts while it runs and the results after. docs/consultations.md. */
#ifndef YIJIAN_DOMAIN_CONSULTATIONS_H
#define YIJIAN_DOMAIN_CONSULTATIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "db/consultations.h"
#include "domain/audit.h"
#include "domain/authz.h"
#include "domain/result.h"

#define CONSULTATION_TITLE_MAX_CHARS 100
#define CONSULTATION_BODY_MAX_CHARS 20000
#define CONSULTATION_PROMPT_MAX_CHARS 500
#define CONSULTATION_CHOICE_MAX_CHARS 100
#define CONSULTATION_QUESTIONS_MAX 50
#define CONSULTATION_CHOICES_MAX 20
#define CONSULTATION_ANSWER_MAX_CHARS 2000
/* A figure of the results drawn from fewer answers than this is withheld,
 * as /v1/stats does. */
#define CONSULTATION_MIN_BASIS 5

/* True for life_meeting, before_decision, blank. */
bool consultation_kind_valid(const char *kind);
/* True for named_only, anonymous_allowed, anonymous_only. */
bool consultation_mode_valid(const char *mode);
/* True for text, single, multiple, rating, member_opinions. */
bool consultation_question_kind_valid(const char *kind);

/* Who is asking, as the route found them. */
struct consultation_caller {
    long long account_id;
    bool is_admin;
};

/*
 * A draft in unit_id by whoever sits on its committee or manages it
 * (az: the caller's facts for the unit). Fields left NULL (title, body,
 * answer_mode, questions) come from the template of f->kind; a blank one
 * needs them all. Returns the consultation as the caller sees it (a new
 * reference), or NULL with *out saying why.
 */
json_t *consultation_create(struct db_conn *c, const struct audit_entry *actor,
                            const struct authz *az, const struct consultation_fields *f,
                            struct domain_result *out);

/* The consultation as the caller may see it; 404 for one it may not. */
json_t *consultation_view(struct db_conn *c, const struct consultation_caller *who, long long id,
                          struct domain_result *out);

/* Changes a draft (its committee, or whoever manages its unit). */
json_t *consultation_edit(struct db_conn *c, const struct audit_entry *actor,
                          const struct consultation_caller *who, long long id,
                          const struct consultation_fields *f, struct domain_result *out);

/* Opens a draft, or closes an open one (whoever manages its unit).
 * window: ANON_RELEASE_WINDOW, which says until when anonymous answers
 * held at the close are still released (release_until). */
json_t *consultation_open(struct db_conn *c, const struct audit_entry *actor,
                          const struct consultation_caller *who, long long id, unsigned window,
                          struct domain_result *out);
json_t *consultation_close(struct db_conn *c, const struct audit_entry *actor,
                           const struct consultation_caller *who, long long id, unsigned window,
                           struct domain_result *out);

/* Loads id as who may see it (404 in *out when not), and whether who is
 * of its staff (its committee, or manages its unit). The caller clears
 * *row. */
bool consultation_load(struct db_conn *c, const struct consultation_caller *who, long long id,
                       struct consultation_row *row, bool *staff, struct domain_result *out);

/* Whether answers ({"<position>": value}) fit questions; else refused as
 * DOMAIN_INVALID with the pointer of the first that does not. */
bool consultation_answers_valid(json_t *questions, json_t *answers, struct domain_result *out);

/*
 * The caller's named answer (answers: {"<position>": value}, borrowed),
 * written or replaced while the consultation is open; *created whether it
 * is the caller's first. Where anonymous answers are allowed, a first
 * named answer spends the member's one token of the consultation when it
 * was issued (token: verified by the caller; NULL when none was sent).
 * Returns the consultation as the caller sees it.
 */
struct token;
json_t *consultation_answer(struct db_conn *c, const struct audit_entry *actor,
                            const struct consultation_caller *who, long long id,
                            json_t *answers, const struct token *token, bool *created,
                            struct domain_result *out);

/* The results of a closed consultation for its committee and whoever
 * manages its unit: counts per choice and ratings (withheld from fewer
 * than CONSULTATION_MIN_BASIS answers), the free-text answers without
 * anyone's name. */
json_t *consultation_results(struct db_conn *c, const struct consultation_caller *who,
                             long long id, struct domain_result *out);

/*
 * Themes (归类) of a closed consultation's text answers, for its committee
 * and whoever manages its unit. consultation_grouping: {themes: [{id,
 * title, items: [{item, text}]}], ungrouped: [{item, text}], withheld}:
 * every text answer of a question answered by at least
 * CONSULTATION_MIN_BASIS is in exactly one theme or in ungrouped; those of
 * a question fewer answered are withheld (a count) as in the results. An
 * item is "<answer id>.<question position>".
 */
json_t *consultation_grouping(struct db_conn *c, const struct consultation_caller *who,
                              long long id, struct domain_result *out);
/* A new theme (audited); returns the grouping. */
json_t *consultation_theme_create(struct db_conn *c, const struct audit_entry *actor,
                                  const struct consultation_caller *who, long long id,
                                  const char *title, struct domain_result *out);
/* Makes theme_id's items exactly items (a JSON array of item strings,
 * borrowed), taking them from any other theme (audited); returns the
 * grouping. */
json_t *consultation_theme_set(struct db_conn *c, const struct audit_entry *actor,
                               const struct consultation_caller *who, long long id,
                               long long theme_id, json_t *items, struct domain_result *out);

/*
 * Opinions on a committee member (回避). The words reach the member only
 * when someone else who manages the unit hands them over, without any
 * author; the member's response is approved by someone other than the
 * member. consultation_handover and consultation_approve_response (a
 * manager) answer the results; consultation_my_opinions and
 * consultation_respond (the member) answer {consultation_id, handed_at,
 * opinions: [text], response}.
 */
json_t *consultation_handover(struct db_conn *c, const struct audit_entry *actor,
                              const struct consultation_caller *who, long long id,
                              long long subject, struct domain_result *out);
json_t *consultation_my_opinions(struct db_conn *c, const struct consultation_caller *who,
                                 long long id, struct domain_result *out);
json_t *consultation_respond(struct db_conn *c, const struct audit_entry *actor,
                             const struct consultation_caller *who, long long id,
                             const char *body, struct domain_result *out);
json_t *consultation_approve_response(struct db_conn *c, const struct audit_entry *actor,
                                      const struct consultation_caller *who, long long id,
                                      long long subject, struct domain_result *out);

/* The consultations the caller sees: {consultations: [...]}. */
json_t *consultations_visible(struct db_conn *c, const struct consultation_caller *who,
                              struct domain_result *out);

/* The jobs thread: closes those whose time has come, each audited as the
 * system's act; *n how many. Runs inside the caller's transaction. */
enum db_status consultations_close_due(struct db_conn *c, unsigned window, int *n);

#endif
