/* GET /v1/stats: figures about a unit's suggestions over a period, for the
 * unit and each unit directly below it, each rolled up over its own
 * descendants. One pass over the tree (issue 22): the database gives each
 * unit's own figures, rolled up here bottom-up.
 *
 * A figure drawn from fewer than STATS_MIN_BASIS suggestions is withheld,
 * so that small branches do not reveal who wrote what (DESIGN §2
 * "Statistics"); and so is a figure from which such a one could be
 * derived by subtraction (a parent's row minus its other children's):
 * where a unit's figure is the only hidden part of its parent's (its
 * siblings shown, the parent's own suggestions none), the smallest shown
 * sibling's is withheld too, or the parent's when there is no such
 * sibling. Withheld that way is decided for the whole tree, so every query
 * withholds the same figures of a unit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"
#include "routes/routes.h"
#include "util/day.h"

#define STATS_MIN_BASIS 5
#define STATS_WITHHELD "computed from fewer than 5 suggestions"
#define STATS_COMPLEMENT "withheld so that a figure beside it, computed from fewer than 5 " \
                         "suggestions, cannot be derived by subtraction"

/* Columns of STMT_STATS, in order; the figures are N_FIG counts from C_RECEIVED. */
enum {
    C_UNIT, C_PARENT, C_DEPTH, C_NAME, C_RECEIVED, C_ANSWERED, C_OVERDUE, C_ADOPTED, C_PARTLY,
    C_NOT, C_NOTED, C_RATED, C_SATISFIED
};
enum { F_RECEIVED, F_ANSWERED, F_OVERDUE, F_ADOPTED, F_PARTLY, F_NOT, F_NOTED, F_RATED,
       F_SATISFIED, N_FIG };
/* The groups of figures withheld together, and the count each is drawn from. */
enum { G_RECEIVED, G_ANSWERED, G_RATED, N_GROUP };
static const int group_basis[N_GROUP] = { F_RECEIVED, F_ANSWERED, F_RATED };
enum hidden { SHOWN, PRIMARY, COMPLEMENT };

struct node {
    long long id, parent;
    int depth;
    const char *name;     /* into the PGresult */
    long long own[N_FIG]; /* the unit's own suggestions */
    long long tot[N_FIG]; /* rolled up over the subtree */
    size_t parent_ix, first_child, next_sibling; /* SIZE_MAX: none */
    enum hidden hidden[N_GROUP];
};

static int by_id(const void *a, const void *b)
{
    long long x = ((const struct node *)a)->id, y = ((const struct node *)b)->id;
    return (x > y) - (x < y);
}

static size_t find(const struct node *n, size_t count, long long id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n[mid].id == id)
            return mid;
        if (n[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

static const struct node *sort_nodes;
static int by_depth_desc(const void *a, const void *b)
{
    int x = sort_nodes[*(const size_t *)a].depth, y = sort_nodes[*(const size_t *)b].depth;
    return (y > x) - (y < x);
}

/* At parent p, for group g: when exactly one part of p's figure is hidden
 * and not zero (a withheld child, or p's own suggestions, which no row
 * shows) and that part is small, it could be read off as p minus the
 * shown children: hide the smallest shown child that is not zero too, or
 * p itself when there is none. */
static void complement(struct node *n, size_t p, int g)
{
    int f = group_basis[g];
    if (n[p].hidden[g] != SHOWN)
        return;
    long long own = n[p].own[f];
    size_t hidden = own > 0, smallest = SIZE_MAX;
    bool small = own > 0 && own < STATS_MIN_BASIS;
    for (size_t c = n[p].first_child; c != SIZE_MAX; c = n[c].next_sibling) {
        long long v = n[c].tot[f];
        if (v == 0)
            continue;
        if (n[c].hidden[g] != SHOWN) {
            hidden++;
            small = true; /* withheld, whatever the reason: not to be derived */
        } else if (smallest == SIZE_MAX || v < n[smallest].tot[f]) {
            smallest = c;
        }
    }
    if (hidden != 1 || !small)
        return;
    n[smallest != SIZE_MAX ? smallest : p].hidden[g] = COMPLEMENT;
}

/* Rolls the own figures up and decides what is withheld, for every unit. */
static void roll_up(struct node *n, size_t count, size_t *order)
{
    for (size_t i = 0; i < count; i++) {
        n[i].first_child = n[i].next_sibling = SIZE_MAX;
        n[i].parent_ix = n[i].parent ? find(n, count, n[i].parent) : SIZE_MAX;
        memcpy(n[i].tot, n[i].own, sizeof n[i].tot);
        order[i] = i;
    }
    /* Children in the order of their ids: the lists are built backwards. */
    for (size_t i = count; i-- > 0;) {
        size_t p = n[i].parent_ix;
        if (p != SIZE_MAX) {
            n[i].next_sibling = n[p].first_child;
            n[p].first_child = i;
        }
    }
    sort_nodes = n;
    qsort(order, count, sizeof *order, by_depth_desc);
    for (size_t k = 0; k < count; k++) {
        size_t i = order[k], p = n[i].parent_ix;
        if (p != SIZE_MAX)
            for (int f = 0; f < N_FIG; f++)
                n[p].tot[f] += n[i].tot[f];
    }
    for (size_t i = 0; i < count; i++)
        for (int g = 0; g < N_GROUP; g++)
            n[i].hidden[g] = n[i].tot[group_basis[g]] < STATS_MIN_BASIS ? PRIMARY : SHOWN;
    /* Deepest parents first: a parent hidden at its own level is then a
     * hidden part of its parent's figure when that one is decided. */
    for (size_t k = 0; k < count; k++)
        for (int g = 0; g < N_GROUP; g++)
            complement(n, order[k], g);
}

/* A decimal id; false for anything else. */
static bool parse_id(const char *s, long long *out)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return v >= 1;
}

/* Sets key to value (stolen) when shown, else to null with the reason in
 * withheld. */
static void figure(json_t *o, json_t *withheld, const char *key, enum hidden h, json_t *value)
{
    if (h == SHOWN) {
        json_object_set_new(o, key, value);
        return;
    }
    json_decref(value);
    json_object_set_new(o, key, json_null());
    json_array_append_new(withheld, json_pack("{s:s, s:s}", "figure", key, "reason",
                                              h == PRIMARY ? STATS_WITHHELD : STATS_COMPLEMENT));
}

/* A rate in [0, 1], rounded half up to three decimals. */
static json_t *rate(long long part, long long whole)
{
    return json_real(whole ? (double)((part * 2000 + whole) / (2 * whole)) / 1000.0 : 0.0);
}

static json_t *unit_figures(const struct node *u, json_t *median)
{
    const long long *t = u->tot;
    json_t *withheld = json_array();
    json_t *o = json_pack("{s:I, s:s}", "unit_id", (json_int_t)u->id, "unit_name", u->name);
    figure(o, withheld, "received", u->hidden[G_RECEIVED], json_integer(t[F_RECEIVED]));
    figure(o, withheld, "answered", u->hidden[G_RECEIVED], json_integer(t[F_ANSWERED]));
    figure(o, withheld, "overdue", u->hidden[G_RECEIVED], json_integer(t[F_OVERDUE]));
    figure(o, withheld, "median_days_to_answer", u->hidden[G_ANSWERED],
           median ? json_incref(median) : json_null());
    long long answered = t[F_ANSWERED];
    figure(o, withheld, "decision_rates", u->hidden[G_ANSWERED],
           json_pack("{s:o, s:o, s:o, s:o}", "adopted", rate(t[F_ADOPTED], answered),
                     "partly_adopted", rate(t[F_PARTLY], answered), "not_adopted",
                     rate(t[F_NOT], answered), "noted", rate(t[F_NOTED], answered)));
    figure(o, withheld, "satisfaction_rate", u->hidden[G_RATED],
           rate(t[F_SATISFIED], t[F_RATED]));
    json_object_set_new(o, "withheld", withheld);
    return o;
}

enum handler_result stats_get(struct request *r)
{
    long long unit = 0;
    const char *u = request_query(r, "unit"), *from = request_query(r, "from"),
               *to = request_query(r, "to");
    json_t *errors = json_array();
    if (!parse_id(u, &unit))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "unit: expected a positive id"));
    if (from && !day_valid(from))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "from: expected a day, YYYY-MM-DD"));
    if (to && !day_valid(to))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "to: expected a day, YYYY-MM-DD"));
    if (from && to && day_valid(from) && day_valid(to) && strcmp(from, to) > 0)
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "from: after to"));
    if (json_array_size(errors))
        return reply_validation(r, errors);
    json_decref(errors);

    struct authz az;
    enum handler_result out;
    if (!caller_load(r, unit, &az, &out))
        return out;
    if (!az.unit_exists)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");

    char us[24];
    snprintf(us, sizeof us, "%lld", unit);
    const char *p[] = { us, from, to };
    const enum stmt ids[] = { STMT_STATS, STMT_STATS_MEDIANS };
    const char *const *const params[] = { p, p };
    PGresult *got[2];
    enum db_status st;
    db_exec_batch(r->db, 2, ids, params, got, &st);
    if (st != DB_OK)
        return reply_db_error(r, st);
    PGresult *res = got[0], *med = got[1];
    size_t count = (size_t)PQntuples(res);
    struct node *n = calloc(count ? count : 1, sizeof *n);
    size_t *order = calloc(count ? count : 1, sizeof *order);
    if (!n || !order) {
        free(n);
        free(order);
        PQclear(res);
        PQclear(med);
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    }
    for (size_t i = 0; i < count; i++) {
        int row = (int)i;
        n[i].id = strtoll(PQgetvalue(res, row, C_UNIT), NULL, 10);
        n[i].parent = strtoll(PQgetvalue(res, row, C_PARENT), NULL, 10);
        n[i].depth = atoi(PQgetvalue(res, row, C_DEPTH));
        n[i].name = PQgetvalue(res, row, C_NAME);
        for (int f = 0; f < N_FIG; f++)
            n[i].own[f] = strtoll(PQgetvalue(res, row, C_RECEIVED + f), NULL, 10);
    }
    qsort(n, count, sizeof *n, by_id);
    roll_up(n, count, order);

    /* The medians, by the unit they are of. */
    json_t *medians = json_object();
    for (int i = 0; i < PQntuples(med); i++) {
        bool total = PQgetvalue(med, i, 0)[0] == '1';
        long long of = total ? unit : strtoll(PQgetvalue(med, i, 1), NULL, 10);
        if ((total || of) && !PQgetisnull(med, i, 2)) {
            char k[24];
            snprintf(k, sizeof k, "%lld", of);
            json_object_set_new(medians, k, json_real(strtod(PQgetvalue(med, i, 2), NULL)));
        }
    }
    PQclear(med);

    /* The unit, then the units directly below it, by id. */
    json_t *units = json_array();
    size_t me = find(n, count, unit);
    if (me != SIZE_MAX) {
        json_array_append_new(units, unit_figures(&n[me], json_object_get(medians, us)));
        for (size_t c = n[me].first_child; c != SIZE_MAX; c = n[c].next_sibling) {
            char k[24];
            snprintf(k, sizeof k, "%lld", n[c].id);
            json_array_append_new(units, unit_figures(&n[c], json_object_get(medians, k)));
        }
    }
    json_decref(medians);
    free(n);
    free(order);
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:I, s:o, s:o, s:o}", "unit_id", (json_int_t)unit,
                                        "from", from ? json_string(from) : json_null(), "to",
                                        to ? json_string(to) : json_null(), "units", units));
}
