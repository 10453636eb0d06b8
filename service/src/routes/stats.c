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

#include "db/rows.h"
#include "domain/units.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define STATS_MIN_BASIS 5
#define STATS_WITHHELD "computed from fewer than 5 suggestions"
#define STATS_COMPLEMENT "withheld so that a figure beside it, computed from fewer than 5 " \
                         "suggestions, cannot be derived by subtraction"

/* The figures each row of STMT_STATS holds, by column name. */
enum { F_RECEIVED, F_ANSWERED, F_OVERDUE, F_ADOPTED, F_PARTLY, F_NOT, F_NOTED, F_RATED,
       F_SATISFIED, N_FIG };
/* The groups of figures withheld together, and the count each is drawn from. */
enum { G_RECEIVED, G_ANSWERED, G_RATED, N_GROUP };
static const int group_basis[N_GROUP] = { F_RECEIVED, F_ANSWERED, F_RATED };
static const char *const figure_column[N_FIG] = { "received", "answered", "overdue", "adopted",
                                                  "partly_adopted", "not_adopted", "noted",
                                                  "rated", "satisfied" };
enum hidden { SHOWN, PRIMARY, COMPLEMENT };

struct node {
    long long id, parent;
    int depth;
    char name[UNIT_NAME_MAX_CHARS * 4 + 1];
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

/* What the two statements' rows are read into. */
struct stats_read {
    long long unit;
    struct node row, *nodes;
    size_t count, cap;
    bool failed; /* out of memory */
    int total;
    long long top;
    double median;
    bool median_null;
    json_t *medians; /* by the unit (decimal id) they are of */
};

static enum db_status stats_node(void *cls, size_t i)
{
    (void)i;
    struct stats_read *k = cls;
    if (k->count == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        struct node *grown = realloc(k->nodes, cap * sizeof *grown);
        if (!grown) {
            k->failed = true;
            return DB_ABORT;
        }
        k->nodes = grown;
        k->cap = cap;
    }
    k->nodes[k->count++] = k->row;
    return DB_OK;
}

/* The medians: the row of total 1 is of the unit asked about. */
static enum db_status stats_median(void *cls, size_t i)
{
    (void)i;
    struct stats_read *k = cls;
    long long of = k->total == 1 ? k->unit : k->top;
    if (of && !k->median_null) {
        char key[24];
        snprintf(key, sizeof key, "%lld", of);
        json_object_set_new(k->medians, key, json_real(k->median));
    }
    return DB_OK;
}

enum handler_result stats_get(struct request *r)
{
    long long unit = 0;
    struct validator v;
    validator_init_query(&v, r);
    query_decimal(&v, "unit", true, 1, ID_MAX, &unit, "unit: expected a positive id");
    const char *from = query_day(&v, "from", false, "from: expected a day, YYYY-MM-DD");
    const char *to = query_day(&v, "to", false, "to: expected a day, YYYY-MM-DD");
    if (from && to && strcmp(from, to) > 0)
        query_error(&v, "from: after to");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!caller_load(r, unit, &az, &out))
        return out;
    if (!az.unit_exists)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");

    char us[24];
    snprintf(us, sizeof us, "%lld", unit);
    const char *p[] = { us, from, to };
    struct stats_read rd = { .unit = unit, .medians = json_object() };
    struct db_field spec[N_FIG + 5] = {
        DB_I64("unit_id", &rd.row.id), DB_I64("parent_id", &rd.row.parent),
        DB_I32("depth", &rd.row.depth), DB_TEXT("name", rd.row.name),
    };
    for (int f = 0; f < N_FIG; f++)
        spec[4 + f] = (struct db_field)DB_I64(figure_column[f], &rd.row.own[f]);
    spec[4 + N_FIG] = (struct db_field)DB_END;
    const struct db_field med_spec[] = {
        DB_I32("total", &rd.total), DB_I64("top", &rd.top), DB_DOUBLE_N("median", &rd.median),
        DB_ISNULL("median", &rd.median_null), DB_END,
    };
    struct db_query q[] = {
        { .id = STMT_STATS, .params = p, .spec = spec, .fn = stats_node, .cls = &rd },
        { .id = STMT_STATS_MEDIANS, .params = p, .spec = med_spec, .fn = stats_median, .cls = &rd },
    };
    enum db_status st;
    db_batch(r->db, 2, q, &st);
    if (st == DB_OK && rd.failed)
        st = DB_ERROR;
    size_t count = rd.count;
    struct node *n = rd.nodes;
    json_t *medians = rd.medians;
    size_t *order = st == DB_OK ? calloc(count ? count : 1, sizeof *order) : NULL;
    if (!order) {
        free(n);
        json_decref(medians);
        return st != DB_OK ? reply_db_error(r, st) : reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    }
    qsort(n, count, sizeof *n, by_id);
    roll_up(n, count, order);

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
    return reply_json(r, 200, json_pack("{s:I, s:o, s:o, s:o}", "unit_id", (json_int_t)unit,
                                        "from", from ? json_string(from) : json_null(), "to",
                                        to ? json_string(to) : json_null(), "units", units));
}
