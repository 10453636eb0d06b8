/* Consultations (domain/consultations.h): who may do what to one, the
 * templates, the answers' checks against the questions, the results. */
#include "domain/consultations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "db/statements.h"
#include "domain/authz.h"
#include "domain/redeem.h"
#include "util/utf8.h"

bool consultation_kind_valid(const char *kind)
{
    return kind && (!strcmp(kind, "life_meeting") || !strcmp(kind, "before_decision") ||
                    !strcmp(kind, "blank"));
}

bool consultation_mode_valid(const char *mode)
{
    return mode && (!strcmp(mode, "named_only") || !strcmp(mode, "anonymous_allowed") ||
                    !strcmp(mode, "anonymous_only"));
}

bool consultation_question_kind_valid(const char *kind)
{
    return kind && (!strcmp(kind, "text") || !strcmp(kind, "single") ||
                    !strcmp(kind, "multiple") || !strcmp(kind, "rating") ||
                    !strcmp(kind, "member_opinions"));
}

/* ---- templates ---- */

struct template_def {
    const char *kind, *title, *body, *answer_mode, *questions;
};

/* What a template fills in when the draft leaves it out. The texts are
 * the committee's to change while it is a draft. */
static const struct template_def templates[] = {
    { "life_meeting", "组织生活会征求意见",
      "为开好本年度组织生活会，支部委员会现向全体党员征求对支部班子和每位支委的意见建议。"
      "请实事求是、直言不讳；可以署名，也可以匿名。对每位支委的意见只原文转交本人，"
      "公开的只是本人的整改措施。",
      "anonymous_allowed",
      "[{\"kind\":\"rating\",\"prompt\":\"对支部班子一年来工作的总体评价（1 最低，5 最高）\"},"
      "{\"kind\":\"text\",\"prompt\":\"对支部班子的意见和建议\"},"
      "{\"kind\":\"member_opinions\",\"prompt\":\"对每位支委的意见（可只填其中几位）\"}]" },
    { "before_decision", "决策前征求意见",
      "支部委员会拟就以下事项作出决定，决定前征求全体党员意见。",
      "anonymous_allowed",
      "[{\"kind\":\"single\",\"prompt\":\"您对这一方案的态度\","
      "\"choices\":[\"赞成\",\"基本赞成\",\"不赞成\"]},"
      "{\"kind\":\"text\",\"prompt\":\"具体意见和建议\"}]" },
};

static const struct template_def *template_of(const char *kind)
{
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (!strcmp(templates[i].kind, kind))
            return &templates[i];
    return NULL;
}

/* ---- questions and answers against them ---- */

static bool text_fits(json_t *s, size_t max)
{
    if (!json_is_string(s))
        return false;
    size_t n = utf8_length(json_string_value(s), json_string_length(s));
    return n >= 1 && n <= max;
}

/* Checks questions (a JSON array of {kind, prompt, choices?}); false with
 * *out set when one is wrong. */
static bool questions_valid(json_t *questions, struct domain_result *out)
{
    if (!json_is_array(questions) || json_array_size(questions) < 1 ||
        json_array_size(questions) > CONSULTATION_QUESTIONS_MAX) {
        domain_refuse(out, DOMAIN_INVALID, "/questions", "must be 1 to 50 questions");
        return false;
    }
    size_t i;
    json_t *q;
    char ptr[32];
    json_array_foreach(questions, i, q) {
        snprintf(ptr, sizeof ptr, "/questions/%zu", i);
        const char *kind = json_string_value(json_object_get(q, "kind"));
        if (!json_is_object(q) || !consultation_question_kind_valid(kind)) {
            domain_refuse(out, DOMAIN_INVALID, ptr,
                          "must have a kind: text, single, multiple, rating or member_opinions");
            return false;
        }
        if (!text_fits(json_object_get(q, "prompt"), CONSULTATION_PROMPT_MAX_CHARS)) {
            domain_refuse(out, DOMAIN_INVALID, ptr, "must have a prompt of 1 to 500 characters");
            return false;
        }
        json_t *choices = json_object_get(q, "choices");
        bool choice = !strcmp(kind, "single") || !strcmp(kind, "multiple");
        if (!choice && choices && !json_is_null(choices)) {
            domain_refuse(out, DOMAIN_INVALID, ptr, "only a choice question has choices");
            return false;
        }
        if (!choice)
            continue;
        if (!json_is_array(choices) || json_array_size(choices) < 2 ||
            json_array_size(choices) > CONSULTATION_CHOICES_MAX) {
            domain_refuse(out, DOMAIN_INVALID, ptr, "a choice question needs 2 to 20 choices");
            return false;
        }
        size_t j, k;
        json_t *a, *b;
        json_array_foreach(choices, j, a) {
            if (!text_fits(a, CONSULTATION_CHOICE_MAX_CHARS)) {
                domain_refuse(out, DOMAIN_INVALID, ptr, "each choice must be 1 to 100 characters");
                return false;
            }
            json_array_foreach(choices, k, b) {
                if (k < j && json_equal(a, b)) {
                    domain_refuse(out, DOMAIN_INVALID, ptr, "choices must be distinct");
                    return false;
                }
            }
        }
    }
    return true;
}

/* The question at position key ("1".."50") of questions, or NULL. */
static json_t *question_at(json_t *questions, const char *key)
{
    char *end;
    long pos = strtol(key, &end, 10);
    if (*key < '1' || *key > '9' || *end)
        return NULL;
    size_t i;
    json_t *q;
    json_array_foreach(questions, i, q) {
        if (json_integer_value(json_object_get(q, "position")) == pos)
            return q;
    }
    return NULL;
}

static bool choice_of(json_t *q, json_t *v)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(q, "choices"), i, c) {
        if (json_equal(c, v))
            return true;
    }
    return false;
}

static bool subject_of(json_t *q, const char *key)
{
    size_t i;
    json_t *s;
    char id[24];
    json_array_foreach(json_object_get(q, "subjects"), i, s) {
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(s, "account_id")));
        if (!strcmp(id, key))
            return true;
    }
    return false;
}

/* Checks answers against questions; false with *out set. */
bool consultation_answers_valid(json_t *questions, json_t *answers, struct domain_result *out)
{
    if (!json_is_object(answers) || json_object_size(answers) == 0) {
        domain_refuse(out, DOMAIN_INVALID, "/answers", "answer at least one question");
        return false;
    }
    const char *key;
    json_t *v;
    char ptr[32];
    json_object_foreach(answers, key, v) {
        snprintf(ptr, sizeof ptr, "/answers/%.20s", key);
        json_t *q = question_at(questions, key);
        if (!q) {
            domain_refuse(out, DOMAIN_INVALID, ptr, "no such question");
            return false;
        }
        const char *kind = json_string_value(json_object_get(q, "kind"));
        bool ok = true;
        if (!strcmp(kind, "text")) {
            ok = text_fits(v, CONSULTATION_ANSWER_MAX_CHARS);
        } else if (!strcmp(kind, "single")) {
            ok = choice_of(q, v);
        } else if (!strcmp(kind, "multiple")) {
            ok = json_is_array(v) && json_array_size(v) >= 1;
            size_t i, j;
            json_t *a, *b;
            json_array_foreach(v, i, a) {
                ok = ok && choice_of(q, a);
                json_array_foreach(v, j, b) {
                    ok = ok && (j >= i || !json_equal(a, b));
                }
            }
        } else if (!strcmp(kind, "rating")) {
            ok = json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 5;
        } else { /* member_opinions */
            ok = json_is_object(v) && json_object_size(v) >= 1;
            const char *who;
            json_t *t;
            json_object_foreach(v, who, t) {
                ok = ok && subject_of(q, who) && text_fits(t, CONSULTATION_ANSWER_MAX_CHARS);
            }
        }
        if (!ok) {
            domain_refuse(out, DOMAIN_INVALID, ptr, "does not fit its question");
            return false;
        }
    }
    return true;
}

/* ---- what a caller sees ---- */

struct rights {
    bool staff;   /* its committee, or manages its unit: drafts, counts, results */
    bool manage;  /* manages its unit: open, close */
    bool visible;
};

static enum db_status rights_of(struct db_conn *c, const struct consultation_caller *who,
                                const struct consultation_row *row, struct rights *r)
{
    struct authz az;
    enum db_status st = authz_load(c, who->account_id, row->unit_id, &az);
    if (st != DB_OK)
        return st;
    r->manage = az.is_admin || az.secretary_above;
    r->staff = r->manage || az.committee;
    r->visible = r->staff || (row->in_audience && strcmp(row->status, "draft") != 0);
    return DB_OK;
}

static json_t *opt_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *row_json(const struct consultation_row *row, const struct rights *r)
{
    json_t *you = json_pack("{s:b, s:b, s:O, s:o, s:b, s:b}", "asked", row->in_audience,
                            "answered", row->my_answer != NULL, "answer",
                            row->my_answer ? row->my_answer : json_null(), "answered_at",
                            opt_string(row->my_answer_at), "may_edit",
                            r->staff && !strcmp(row->status, "draft"), "may_manage", r->manage);
    /* Whether the member's one token of it was issued (or a named answer
     * took its place): the client fetches it once, when it first shows
     * the consultation, whatever the member means to do. */
    json_object_set_new(you, "token_taken", json_boolean(row->token_taken));
    json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, "
                          "s:o, s:o, s:O, s:o}",
                          "id", (json_int_t)row->id, "unit_id", (json_int_t)row->unit_id,
                          "unit_name", row->unit_name, "kind", row->kind, "title", row->title,
                          "body", row->body, "include_subunits", row->include_subunits,
                          "answer_mode", row->answer_mode, "opens_at", row->opens_at,
                          "closes_at", row->closes_at, "status", row->status, "created_at",
                          row->created_at, "opened_at", opt_string(row->opened_at), "closed_at",
                          opt_string(row->closed_at), "questions", row->questions, "you", you);
    /* The end of the release window holding the close: anonymous answers
     * that arrived while it was open are in by then. */
    if (j)
        json_object_set_new(j, "release_until", opt_string(row->release_until));
    /* The count, named and anonymous apart, and never who: for the
     * committee and those who manage the unit. */
    if (j && r->staff)
        json_object_set_new(j, "counts",
                            json_pack("{s:I, s:I, s:I}", "named", (json_int_t)row->named,
                                      "anonymous", (json_int_t)row->anonymous, "eligible",
                                      (json_int_t)row->eligible));
    return j;
}

/* Loads id for who with its rights; NULL (and *out) when it is not one
 * the caller may see. *row must be cleared by the caller. */
static bool load(struct db_conn *c, const struct consultation_caller *who, long long id,
                 struct consultation_row *row, struct rights *r, struct domain_result *out)
{
    bool found;
    enum db_status st = db_consultation_get(c, id, who->account_id, row, &found);
    if (st == DB_OK && found)
        st = rights_of(c, who, row, r);
    if (st != DB_OK) {
        domain_settle(out, st);
        return false;
    }
    if (!found || !r->visible) {
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such consultation");
        return false;
    }
    return true;
}

bool consultation_load(struct db_conn *c, const struct consultation_caller *who, long long id,
                       struct consultation_row *row, bool *staff, struct domain_result *out)
{
    struct rights r = { 0 };
    bool ok = load(c, who, id, row, &r, out);
    *staff = r.staff;
    return ok;
}

json_t *consultation_view(struct db_conn *c, const struct consultation_caller *who, long long id,
                          struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct consultation_row row;
    struct rights r = { 0 };
    json_t *j = NULL;
    if (load(c, who, id, &row, &r, out))
        j = row_json(&row, &r);
    consultation_row_clear(&row);
    return j;
}

/* ---- drafting ---- */

/* Whether unit_id is retired (sql/0024): it then neither drafts nor opens
 * a consultation (sql/0031 holds it for every writer). */
static enum db_status unit_retired(struct db_conn *c, long long unit_id, bool *retired)
{
    char u[24];
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *params[] = { u };
    bool active = true;
    const struct db_field spec[] = { DB_ISNULL("retired_at", &active), DB_END };
    enum db_status st;
    int n = db_one(c, STMT_UNIT_BY_ID, params, spec, &st);
    *retired = n == 1 && !active;
    return n < 0 ? st : DB_OK;
}


struct draft_ctx {
    const struct audit_entry *actor;
    const struct consultation_caller *who;
    long long unit_id, id;
    unsigned window; /* open, close: ANON_RELEASE_WINDOW */
    struct consultation_fields f;
    struct domain_result *out;
};

static enum db_status create_tx(struct db_conn *c, void *arg)
{
    struct draft_ctx *k = arg;
    enum db_status st = db_consultation_insert(c, k->unit_id, k->actor->actor_id, &k->f, &k->id);
    if (st == DB_OK)
        st = db_consultation_questions_set(c, k->id, k->f.questions);
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.create", "consultation", id,
                        json_pack("{s:I, s:s, s:s, s:O}", "unit_id", (json_int_t)k->unit_id,
                                  "kind", k->f.kind, "title", k->f.title, "questions",
                                  k->f.questions));
}

/* The refusal of a time pair the schema refused (closes_at <= opens_at),
 * or st as it is. */
static void settle_write(struct domain_result *out, enum db_status st)
{
    if (st == DB_CONSTRAINT && out->outcome == DOMAIN_OK)
        domain_refuse(out, DOMAIN_INVALID, "/closes_at", "must be after opens_at");
    else
        domain_settle(out, st);
}

json_t *consultation_create(struct db_conn *c, const struct audit_entry *actor,
                            const struct authz *az, const struct consultation_fields *f,
                            struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    if (!(az->is_admin || az->secretary_above || az->committee)) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, NULL);
        return NULL;
    }
    bool retired;
    enum db_status rst = unit_retired(c, az->unit_id, &retired);
    if (!domain_settle(out, rst))
        return NULL;
    if (retired) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "a retired unit neither drafts nor opens consultations");
        return NULL;
    }
    struct draft_ctx k = { .actor = actor, .unit_id = az->unit_id, .f = *f, .out = out };
    const struct template_def *t = template_of(f->kind);
    json_t *from_template = NULL;
    if (t) {
        k.f.title = f->title ? f->title : t->title;
        k.f.body = f->body ? f->body : t->body;
        k.f.answer_mode = f->answer_mode ? f->answer_mode : t->answer_mode;
        if (!f->questions)
            k.f.questions = from_template = json_loads(t->questions, 0, NULL);
    } else if (!f->title || !f->body || !f->answer_mode || !f->questions) {
        domain_refuse(out, DOMAIN_INVALID, "",
                      "a blank consultation needs title, body, answer_mode and questions");
        return NULL;
    }
    if (k.f.include_subunits < 0)
        k.f.include_subunits = 0;
    json_t *j = NULL;
    if (questions_valid(k.f.questions, out)) {
        enum db_status st = db_transaction(c, create_tx, &k);
        if (st == DB_OK) {
            struct consultation_caller who = { actor->actor_id, az->is_admin };
            j = consultation_view(c, &who, k.id, out);
        } else {
            settle_write(out, st);
        }
    }
    json_decref(from_template);
    return j;
}

/* Loads id's lifecycle state in the transaction and checks the caller may
 * do the step: manage (or, false, be staff). */
static enum db_status step_check(struct db_conn *c, struct draft_ctx *k, bool manage,
                                 struct consultation_state *s)
{
    bool found;
    enum db_status st = db_consultation_lock(c, k->id, s, &found);
    if (st != DB_OK)
        return st;
    if (!found)
        return domain_refuse(k->out, DOMAIN_NOT_FOUND, NULL, "no such consultation");
    struct authz az;
    st = authz_load(c, k->who->account_id, s->unit_id, &az);
    if (st != DB_OK)
        return st;
    bool may_manage = az.is_admin || az.secretary_above;
    if (!(may_manage || az.committee)) {
        /* Someone it asks knows it exists; anyone else learns nothing. */
        return domain_refuse(k->out, DOMAIN_NOT_FOUND, NULL, "no such consultation");
    }
    if (manage && !may_manage)
        return domain_refuse(k->out, DOMAIN_FORBIDDEN, NULL, NULL);
    return DB_OK;
}

static enum db_status edit_tx(struct db_conn *c, void *arg)
{
    struct draft_ctx *k = arg;
    struct consultation_state s;
    enum db_status st = step_check(c, k, false, &s);
    if (st != DB_OK)
        return st;
    if (strcmp(s.status, "draft") != 0)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "only a draft can be edited");
    st = db_consultation_update(c, k->id, &k->f);
    if (st == DB_OK && k->f.questions)
        st = db_consultation_questions_set(c, k->id, k->f.questions);
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    json_t *change = json_object();
    const char *names[] = { "kind", "title", "body", "answer_mode", "opens_at", "closes_at" };
    const char *values[] = { k->f.kind, k->f.title, k->f.body, k->f.answer_mode, k->f.opens_at,
                             k->f.closes_at };
    for (size_t i = 0; i < 6; i++)
        if (values[i])
            json_object_set_new(change, names[i], json_string(values[i]));
    if (k->f.include_subunits >= 0)
        json_object_set_new(change, "include_subunits", json_boolean(k->f.include_subunits));
    if (k->f.questions)
        json_object_set(change, "questions", k->f.questions);
    return audit_change(c, k->actor, "consultation.edit", "consultation", id,
                        json_pack("{s:o}", "after", change));
}

json_t *consultation_edit(struct db_conn *c, const struct audit_entry *actor,
                          const struct consultation_caller *who, long long id,
                          const struct consultation_fields *f, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    if (f->kind && !consultation_kind_valid(f->kind)) {
        domain_refuse(out, DOMAIN_INVALID, "/kind", "must be life_meeting, before_decision or blank");
        return NULL;
    }
    if (f->questions && !questions_valid(f->questions, out))
        return NULL;
    struct draft_ctx k = { .actor = actor, .who = who, .id = id, .f = *f, .out = out };
    enum db_status st = db_transaction(c, edit_tx, &k);
    if (st != DB_OK) {
        settle_write(out, st);
        return NULL;
    }
    return consultation_view(c, who, id, out);
}

static enum db_status open_tx(struct db_conn *c, void *arg)
{
    struct draft_ctx *k = arg;
    struct consultation_state s;
    enum db_status st = step_check(c, k, true, &s);
    if (st != DB_OK)
        return st;
    if (strcmp(s.status, "draft") != 0)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "only a draft can be opened");
    if (s.ended)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "its closing time has passed");
    bool retired;
    if ((st = unit_retired(c, s.unit_id, &retired)) != DB_OK)
        return st;
    if (retired)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL,
                             "a retired unit neither drafts nor opens consultations");
    st = db_consultation_open(c, k->id, k->who->account_id, k->window);
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.open", "consultation", id,
                        json_pack("{s:s, s:s}", "before", "draft", "after", "open"));
}

static enum db_status close_tx(struct db_conn *c, void *arg)
{
    struct draft_ctx *k = arg;
    struct consultation_state s;
    enum db_status st = step_check(c, k, true, &s);
    if (st != DB_OK)
        return st;
    if (strcmp(s.status, "open") != 0)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "only an open consultation can be closed");
    st = db_consultation_close(c, k->id, k->window);
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.close", "consultation", id,
                        json_pack("{s:s, s:s}", "before", "open", "after", "closed"));
}

static json_t *step(struct db_conn *c, const struct audit_entry *actor,
                    const struct consultation_caller *who, long long id, unsigned window,
                    db_tx_fn fn, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct draft_ctx k = { .actor = actor, .who = who, .id = id, .window = window, .out = out };
    enum db_status st = db_transaction(c, fn, &k);
    if (!domain_settle(out, st))
        return NULL;
    return consultation_view(c, who, id, out);
}

json_t *consultation_open(struct db_conn *c, const struct audit_entry *actor,
                          const struct consultation_caller *who, long long id, unsigned window,
                          struct domain_result *out)
{
    return step(c, actor, who, id, window, open_tx, out);
}

json_t *consultation_close(struct db_conn *c, const struct audit_entry *actor,
                           const struct consultation_caller *who, long long id, unsigned window,
                           struct domain_result *out)
{
    return step(c, actor, who, id, window, close_tx, out);
}

enum db_status consultations_close_due(struct db_conn *c, unsigned window, int *n)
{
    long long ids[64];
    enum db_status st = db_consultations_close_due(c, window, ids, 64, n);
    struct audit_entry system = { .actor = AUDIT_SYSTEM };
    for (int i = 0; st == DB_OK && i < *n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%lld", ids[i]);
        st = audit_change(c, &system, "consultation.close", "consultation", id,
                          json_pack("{s:s, s:s, s:s}", "before", "open", "after", "closed",
                                    "reason", "closing time"));
    }
    return st;
}

/* ---- answers ---- */

struct answer_ctx {
    const struct audit_entry *actor;
    const struct consultation_caller *who;
    long long id;
    json_t *answers;
    bool created;
    struct domain_result *out;
    const struct token *token; /* the member's consultation token, or NULL */
};

/* One answer per member in a consultation that takes anonymous ones: a
 * member's first named answer takes the place of their one token, or,
 * when it was issued, spends it (the member's client sends it along), so
 * that nobody answers both with their name and without. */
static enum db_status named_takes_token(struct db_conn *c, struct answer_ctx *k)
{
    bool answered, taken;
    enum db_status st = db_consultation_has_named(c, k->id, k->who->account_id, &answered);
    if (st != DB_OK || answered)
        return st;
    st = db_consultation_token_take(c, k->id, k->who->account_id, &taken);
    if (st != DB_OK || taken)
        return st;
    if (!k->token)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL,
                             "your token of this consultation was issued: a first named answer spends it");
    st = token_spend(c, k->token);
    if (st == DB_UNIQUE)
        return domain_refuse(k->out, DOMAIN_TOKEN_SPENT, NULL, NULL);
    return st;
}

static enum db_status answer_tx(struct db_conn *c, void *arg)
{
    struct answer_ctx *k = arg;
    struct consultation_state s;
    bool found;
    enum db_status st = db_consultation_lock(c, k->id, &s, &found);
    if (st != DB_OK)
        return st;
    if (!found)
        return domain_refuse(k->out, DOMAIN_NOT_FOUND, NULL, "no such consultation");
    if (strcmp(s.status, "open") != 0 || !s.started || s.ended)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "the consultation is not open for answers");
    if (!strcmp(s.answer_mode, "anonymous_only"))
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "this consultation takes anonymous answers only");
    if (strcmp(s.answer_mode, "named_only") != 0 && (st = named_takes_token(c, k)) != DB_OK)
        return st;
    st = db_consultation_answer_named(c, k->id, k->who->account_id, k->answers, &k->created);
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    /* The audit row says that this account answered, not what. */
    return audit_change(c, k->actor, k->created ? "consultation.answer" : "consultation.answer_change",
                        "consultation", id, NULL);
}

json_t *consultation_answer(struct db_conn *c, const struct audit_entry *actor,
                            const struct consultation_caller *who, long long id,
                            json_t *answers, const struct token *token, bool *created,
                            struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    *created = false;
    struct consultation_row row;
    struct rights r = { 0 };
    bool ok = load(c, who, id, &row, &r, out);
    if (ok && !row.in_audience) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, "you are not among those it asks");
        ok = false;
    }
    ok = ok && consultation_answers_valid(row.questions, answers, out);
    consultation_row_clear(&row);
    if (!ok)
        return NULL;
    struct answer_ctx k = { actor, who, id, answers, false, out, token };
    enum db_status st = db_transaction(c, answer_tx, &k);
    if (st == DB_CONSTRAINT && out->outcome == DOMAIN_OK) {
        /* The schema's rule caught what the check above let pass (the
         * closing time came in between, the membership ended). */
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the consultation is not open for answers");
        return NULL;
    }
    if (!domain_settle(out, st))
        return NULL;
    *created = k.created;
    return consultation_view(c, who, id, out);
}

/* ---- results ---- */

/* A count, or null when drawn from fewer than the basis. */
static json_t *figure(long long n, long long basis)
{
    return basis < CONSULTATION_MIN_BASIS ? json_null() : json_integer((json_int_t)n);
}

static json_t *question_result(json_t *q, json_t *all)
{
    char key[8];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(q, "position")));
    const char *kind = json_string_value(json_object_get(q, "kind"));
    json_t *res = json_pack("{s:O, s:O, s:O}", "position", json_object_get(q, "position"), "kind",
                            json_object_get(q, "kind"), "prompt", json_object_get(q, "prompt"));
    long long basis = 0;
    size_t i;
    json_t *a;
    json_array_foreach(all, i, a) {
        if (json_object_get(a, key))
            basis++;
    }
    json_object_set_new(res, "answers", json_integer((json_int_t)basis));
    bool withheld = basis < CONSULTATION_MIN_BASIS;
    json_object_set_new(res, "withheld", json_boolean(withheld));
    if (!strcmp(kind, "single") || !strcmp(kind, "multiple")) {
        json_t *counts = json_array();
        size_t j;
        json_t *choice;
        json_array_foreach(json_object_get(q, "choices"), j, choice) {
            long long n = 0;
            json_array_foreach(all, i, a) {
                json_t *v = json_object_get(a, key);
                if (json_equal(v, choice))
                    n++;
                size_t m;
                json_t *x;
                if (json_is_array(v))
                    json_array_foreach(v, m, x) {
                        if (json_equal(x, choice))
                            n++;
                    }
            }
            json_array_append_new(counts, json_pack("{s:O, s:o}", "choice", choice, "count",
                                                    figure(n, basis)));
        }
        json_object_set_new(res, "counts", counts);
    } else if (!strcmp(kind, "rating")) {
        long long dist[5] = { 0 }, sum = 0;
        json_array_foreach(all, i, a) {
            json_int_t v = json_integer_value(json_object_get(a, key));
            if (v >= 1 && v <= 5) {
                dist[v - 1]++;
                sum += v;
            }
        }
        json_t *d = json_array();
        for (int s = 0; s < 5; s++)
            json_array_append_new(d, json_pack("{s:i, s:o}", "rating", s + 1, "count",
                                               figure(dist[s], basis)));
        json_object_set_new(res, "distribution", d);
        json_object_set_new(res, "mean", withheld ? json_null()
                                                  : json_real((double)sum / (double)basis));
    } else if (!strcmp(kind, "text")) {
        /* The words themselves, without anyone's name; few of them are
         * still words, but from fewer than the basis the committee could
         * tell whose: withheld too. */
        json_t *texts = json_array();
        if (!withheld)
            json_array_foreach(all, i, a) {
                json_t *v = json_object_get(a, key);
                if (json_is_string(v))
                    json_array_append(texts, v);
            }
        json_object_set_new(res, "texts", texts);
    } else { /* member_opinions: how many about each; the words go to the member by hand-over */
        json_t *per = json_array();
        size_t j;
        json_t *s;
        json_array_foreach(json_object_get(q, "subjects"), j, s) {
            char id[24];
            snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(s, "account_id")));
            long long n = 0;
            json_array_foreach(all, i, a) {
                if (json_object_get(json_object_get(a, key), id))
                    n++;
            }
            json_array_append_new(per, json_pack("{s:O, s:O, s:I}", "account_id",
                                                 json_object_get(s, "account_id"), "display_name",
                                                 json_object_get(s, "display_name"), "opinions",
                                                 (json_int_t)n));
        }
        json_object_set_new(res, "subjects", per);
    }
    return res;
}

json_t *consultation_results(struct db_conn *c, const struct consultation_caller *who,
                             long long id, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct consultation_row row;
    struct rights r = { 0 };
    json_t *j = NULL, *all = NULL;
    if (!load(c, who, id, &row, &r, out))
        goto done;
    if (!r.staff) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, NULL);
        goto done;
    }
    if (!row.settled) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "results are shown after the close");
        goto done;
    }
    enum db_status st = db_consultation_answers(c, id, &all);
    if (st != DB_OK) {
        domain_settle(out, st);
        goto done;
    }
    struct consultation_subject_state *states = NULL;
    int nstates = 0;
    st = db_consultation_subject_states(c, id, &states, &nstates);
    if (st != DB_OK) {
        domain_settle(out, st);
        goto done;
    }
    json_t *qs = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(row.questions, i, q) {
        json_t *qr = question_result(q, all);
        size_t m;
        json_t *s;
        json_array_foreach(json_object_get(qr, "subjects"), m, s) {
            for (int k = 0; k < nstates; k++) {
                const struct consultation_subject_state *x = &states[k];
                if (x->account_id != json_integer_value(json_object_get(s, "account_id")))
                    continue;
                json_object_set_new(s, "handed_at", opt_string(x->handed_at));
                json_object_set_new(s, "response", opt_string(x->response));
                json_object_set_new(s, "approved_at", opt_string(x->approved_at));
            }
        }
        json_array_append_new(qs, qr);
    }
    consultation_subject_states_free(states, nstates);
    j = json_pack("{s:I, s:I, s:I, s:I, s:i, s:o}", "consultation_id", (json_int_t)id, "named",
                  (json_int_t)row.named, "anonymous", (json_int_t)row.anonymous, "eligible",
                  (json_int_t)row.eligible, "min_basis", CONSULTATION_MIN_BASIS, "questions", qs);
done:
    json_decref(all);
    consultation_row_clear(&row);
    return j;
}

/* ---- themes ---- */

/* Loads id and checks the caller may group its answers now: staff, and
 * closed. */
static bool grouping_allowed(struct db_conn *c, const struct consultation_caller *who, long long id,
                             struct domain_result *out)
{
    struct consultation_row row;
    struct rights r = { 0 };
    bool ok = load(c, who, id, &row, &r, out);
    if (ok && !r.staff) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, NULL);
        ok = false;
    }
    if (ok && !row.settled) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "results are shown after the close");
        ok = false;
    }
    consultation_row_clear(&row);
    return ok;
}

static json_t *item_json(const struct consultation_text *t)
{
    char item[48];
    snprintf(item, sizeof item, "%lld.%d", t->answer_id, t->position);
    return json_pack("{s:s, s:i, s:s}", "item", item, "position", t->position, "text", t->text);
}

json_t *consultation_grouping(struct db_conn *c, const struct consultation_caller *who,
                              long long id, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    if (!grouping_allowed(c, who, id, out))
        return NULL;
    struct consultation_theme *themes = NULL;
    struct consultation_text *texts = NULL;
    int nthemes = 0, ntexts = 0;
    enum db_status st = db_consultation_themes(c, id, &themes, &nthemes);
    if (st == DB_OK)
        st = db_consultation_texts(c, id, &texts, &ntexts);
    json_t *j = NULL;
    if (st != DB_OK) {
        domain_settle(out, st);
        goto done;
    }
    json_t *list = json_array(), *ungrouped = json_array();
    long long withheld = 0;
    for (int i = 0; i < nthemes; i++) {
        json_t *items = json_array();
        for (int k = 0; k < ntexts; k++)
            if (texts[k].theme_id == themes[i].id && texts[k].basis >= CONSULTATION_MIN_BASIS)
                json_array_append_new(items, item_json(&texts[k]));
        json_array_append_new(list, json_pack("{s:I, s:s, s:o}", "id", (json_int_t)themes[i].id,
                                              "title", themes[i].title, "items", items));
    }
    for (int k = 0; k < ntexts; k++) {
        if (texts[k].basis < CONSULTATION_MIN_BASIS)
            withheld++;
        else if (!texts[k].theme_id)
            json_array_append_new(ungrouped, item_json(&texts[k]));
    }
    j = json_pack("{s:I, s:o, s:o, s:I}", "consultation_id", (json_int_t)id, "themes", list,
                  "ungrouped", ungrouped, "withheld", (json_int_t)withheld);
done:
    consultation_themes_free(themes, nthemes);
    consultation_texts_free(texts, ntexts);
    return j;
}

struct theme_ctx {
    const struct audit_entry *actor;
    long long id, theme_id;
    const char *title;
    json_t *items; /* [[answer id, position], ...] */
    struct domain_result *out;
};

static enum db_status theme_create_tx(struct db_conn *c, void *arg)
{
    struct theme_ctx *k = arg;
    enum db_status st = db_consultation_theme_insert(c, k->id, k->title, k->actor->actor_id, &k->theme_id);
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.theme_create", "consultation", id,
                        json_pack("{s:I, s:s}", "theme_id", (json_int_t)k->theme_id, "title", k->title));
}

json_t *consultation_theme_create(struct db_conn *c, const struct audit_entry *actor,
                                  const struct consultation_caller *who, long long id,
                                  const char *title, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    if (!grouping_allowed(c, who, id, out))
        return NULL;
    struct theme_ctx k = { .actor = actor, .id = id, .title = title, .out = out };
    enum db_status st = db_transaction(c, theme_create_tx, &k);
    if (st == DB_UNIQUE) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the consultation already has a theme of that title");
        return NULL;
    }
    if (!domain_settle(out, st))
        return NULL;
    return consultation_grouping(c, who, id, out);
}

static enum db_status theme_set_tx(struct db_conn *c, void *arg)
{
    struct theme_ctx *k = arg;
    struct consultation_theme *themes;
    int n;
    enum db_status st = db_consultation_themes(c, k->id, &themes, &n);
    if (st != DB_OK)
        return st;
    bool found = false;
    for (int i = 0; i < n; i++)
        found = found || themes[i].id == k->theme_id;
    consultation_themes_free(themes, n);
    if (!found)
        return domain_refuse(k->out, DOMAIN_NOT_FOUND, NULL, "no such theme");
    /* Each item once, and one the grouping shows: a text answer of a
     * question answered by enough members. */
    struct consultation_text *texts;
    st = db_consultation_texts(c, k->id, &texts, &n);
    if (st != DB_OK)
        return st;
    size_t i, j;
    json_t *a, *b;
    bool ok = true;
    json_array_foreach(k->items, i, a) {
        bool known = false;
        for (int t = 0; t < n; t++)
            known = known || (texts[t].answer_id == json_integer_value(json_array_get(a, 0)) &&
                              texts[t].position == json_integer_value(json_array_get(a, 1)) &&
                              texts[t].basis >= CONSULTATION_MIN_BASIS);
        ok = ok && known;
        json_array_foreach(k->items, j, b) {
            ok = ok && (j >= i || !json_equal(a, b));
        }
    }
    consultation_texts_free(texts, n);
    if (!ok)
        return domain_refuse(k->out, DOMAIN_INVALID, "/items",
                             "an item is no text answer of this consultation");
    st = db_consultation_theme_items_set(c, k->theme_id, k->id, k->items);
    if (st == DB_CONSTRAINT)
        return domain_refuse(k->out, DOMAIN_INVALID, "/items",
                             "an item is no text answer of this consultation");
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.theme_items", "consultation", id,
                        json_pack("{s:I, s:O}", "theme_id", (json_int_t)k->theme_id, "items", k->items));
}

json_t *consultation_theme_set(struct db_conn *c, const struct audit_entry *actor,
                               const struct consultation_caller *who, long long id,
                               long long theme_id, json_t *items, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    /* "12.4" -> [12, 4]; anything else is refused before the database. */
    json_t *pairs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) {
        const char *s = json_string_value(v);
        long long a = 0;
        int p = 0, used = 0;
        if (!s || sscanf(s, "%lld.%d%n", &a, &p, &used) != 2 || s[used] || a < 1 || p < 1 ||
            p > CONSULTATION_QUESTIONS_MAX || s[0] < '1' || s[0] > '9') {
            json_decref(pairs);
            domain_refuse(out, DOMAIN_INVALID, "/items", "an item is no text answer of this consultation");
            return NULL;
        }
        json_array_append_new(pairs, json_pack("[I, i]", (json_int_t)a, p));
    }
    json_t *j = NULL;
    if (grouping_allowed(c, who, id, out)) {
        struct theme_ctx k = { .actor = actor, .id = id, .theme_id = theme_id, .items = pairs, .out = out };
        enum db_status st = db_transaction(c, theme_set_tx, &k);
        if (domain_settle(out, st))
            j = consultation_grouping(c, who, id, out);
    }
    json_decref(pairs);
    return j;
}

/* ---- opinions on a committee member ---- */

struct subject_ctx {
    const struct audit_entry *actor;
    const struct consultation_caller *who;
    long long id, subject;
    const char *body;
    struct domain_result *out;
};

static enum db_status handover_tx(struct db_conn *c, void *arg)
{
    struct subject_ctx *k = arg;
    bool done;
    enum db_status st = db_consultation_handover(c, k->id, k->subject, k->who->account_id, &done);
    if (st == DB_CONSTRAINT)
        return domain_refuse(k->out, DOMAIN_NOT_FOUND, NULL, "no opinions are asked about that account here");
    if (st != DB_OK || !done)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.handover", "consultation", id,
                        json_pack("{s:I}", "subject_id", (json_int_t)k->subject));
}

static enum db_status approve_tx(struct db_conn *c, void *arg)
{
    struct subject_ctx *k = arg;
    enum db_status st = db_consultation_response_approve(c, k->id, k->subject, k->who->account_id);
    if (st == DB_ABORT)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "there is no response waiting for approval");
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.response_approve", "consultation", id,
                        json_pack("{s:I}", "subject_id", (json_int_t)k->subject));
}

/* A manager's step about subject on a closed consultation, never by the
 * subject. */
static json_t *manager_step(struct db_conn *c, const struct audit_entry *actor,
                            const struct consultation_caller *who, long long id, long long subject,
                            db_tx_fn fn, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct consultation_row row;
    struct rights r = { 0 };
    bool ok = load(c, who, id, &row, &r, out);
    if (ok && !r.manage) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, NULL);
        ok = false;
    }
    if (ok && !row.settled) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "results are shown after the close");
        ok = false;
    }
    consultation_row_clear(&row);
    if (ok && subject == who->account_id) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, "what concerns you is handled by someone else");
        ok = false;
    }
    if (!ok)
        return NULL;
    struct subject_ctx k = { actor, who, id, subject, NULL, out };
    enum db_status st = db_transaction(c, fn, &k);
    if (!domain_settle(out, st))
        return NULL;
    return consultation_results(c, who, id, out);
}

json_t *consultation_handover(struct db_conn *c, const struct audit_entry *actor,
                              const struct consultation_caller *who, long long id,
                              long long subject, struct domain_result *out)
{
    return manager_step(c, actor, who, id, subject, handover_tx, out);
}

json_t *consultation_approve_response(struct db_conn *c, const struct audit_entry *actor,
                                      const struct consultation_caller *who, long long id,
                                      long long subject, struct domain_result *out)
{
    return manager_step(c, actor, who, id, subject, approve_tx, out);
}

json_t *consultation_my_opinions(struct db_conn *c, const struct consultation_caller *who,
                                 long long id, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct consultation_subject_state *states = NULL;
    int n = 0;
    json_t *opinions = NULL, *j = NULL;
    struct consultation_row row;
    struct rights r = { 0 };
    if (!load(c, who, id, &row, &r, out))
        goto done;
    enum db_status st = db_consultation_subject_states(c, id, &states, &n);
    const struct consultation_subject_state *mine = NULL;
    for (int i = 0; st == DB_OK && i < n; i++)
        if (states[i].account_id == who->account_id)
            mine = &states[i];
    if (st == DB_OK && (!mine || !mine->handed_at)) {
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no opinions on you have been handed over");
        goto done;
    }
    if (st == DB_OK)
        st = db_consultation_opinions(c, id, who->account_id, &opinions);
    if (st != DB_OK) {
        domain_settle(out, st);
        goto done;
    }
    json_t *response = mine->response
        ? json_pack("{s:s, s:s, s:o}", "body", mine->response, "written_at", mine->written_at,
                    "approved_at", opt_string(mine->approved_at))
        : json_null();
    j = json_pack("{s:I, s:s, s:O, s:o}", "consultation_id", (json_int_t)id, "handed_at",
                  mine->handed_at, "opinions", opinions, "response", response);
done:
    json_decref(opinions);
    consultation_subject_states_free(states, n);
    consultation_row_clear(&row);
    return j;
}

static enum db_status respond_tx(struct db_conn *c, void *arg)
{
    struct subject_ctx *k = arg;
    enum db_status st = db_consultation_response_write(c, k->id, k->who->account_id, k->body);
    if (st == DB_CONSTRAINT)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL, "the response is approved and final");
    if (st != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", k->id);
    return audit_change(c, k->actor, "consultation.response_write", "consultation", id,
                        json_pack("{s:I}", "subject_id", (json_int_t)k->who->account_id));
}

json_t *consultation_respond(struct db_conn *c, const struct audit_entry *actor,
                             const struct consultation_caller *who, long long id,
                             const char *body, struct domain_result *out)
{
    json_t *before = consultation_my_opinions(c, who, id, out);
    if (!before)
        return NULL;
    json_decref(before);
    struct subject_ctx k = { actor, who, id, who->account_id, body, out };
    enum db_status st = db_transaction(c, respond_tx, &k);
    if (!domain_settle(out, st))
        return NULL;
    return consultation_my_opinions(c, who, id, out);
}

json_t *consultations_visible(struct db_conn *c, const struct consultation_caller *who,
                              struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct consultation_summary *rows;
    int n;
    enum db_status st = db_consultations_list(c, who->account_id, who->is_admin, 200, &rows, &n);
    if (st != DB_OK) {
        domain_settle(out, st);
        return NULL;
    }
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const struct consultation_summary *s = &rows[i];
        json_array_append_new(list,
                              json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}",
                                        "id", (json_int_t)s->id, "unit_id", (json_int_t)s->unit_id,
                                        "unit_name", s->unit_name, "kind", s->kind, "title",
                                        s->title, "status", s->status, "answer_mode",
                                        s->answer_mode, "opens_at", s->opens_at, "closes_at",
                                        s->closes_at, "answered", s->answered, "staff", s->staff));
    }
    consultation_summaries_free(rows, n);
    return json_pack("{s:o}", "consultations", list);
}
