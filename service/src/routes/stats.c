/* GET /v1/stats: figures about a unit's suggestions over a period, for the
 * unit and each unit below it, each rolled up over its own descendants. A
 * figure drawn from fewer than STATS_MIN_BASIS suggestions is withheld, so
 * that small branches do not reveal who wrote what (DESIGN §2
 * "Statistics"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"
#include "routes/routes.h"
#include "util/day.h"

#define STATS_MIN_BASIS 5
#define STATS_WITHHELD "computed from fewer than 5 suggestions"

/* Columns of STMT_STATS, in order. */
enum {
    C_UNIT, C_NAME, C_RECEIVED, C_ANSWERED, C_MEDIAN, C_OVERDUE, C_ADOPTED, C_PARTLY, C_NOT,
    C_NOTED, C_RATED, C_SATISFIED
};

static long long col_int(PGresult *res, int i, int c)
{
    return strtoll(PQgetvalue(res, i, c), NULL, 10);
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

/* Sets key to value (stolen) when basis allows, else to null with a reason
 * in withheld. */
static void figure(json_t *o, json_t *withheld, const char *key, long long basis, json_t *value)
{
    if (basis >= STATS_MIN_BASIS) {
        json_object_set_new(o, key, value);
        return;
    }
    json_decref(value);
    json_object_set_new(o, key, json_null());
    json_array_append_new(withheld, json_pack("{s:s, s:s}", "figure", key, "reason", STATS_WITHHELD));
}

/* A rate in [0, 1], rounded half up to three decimals. */
static json_t *rate(long long part, long long whole)
{
    return json_real(whole ? (double)((part * 2000 + whole) / (2 * whole)) / 1000.0 : 0.0);
}

static json_t *unit_figures(PGresult *res, int i)
{
    long long received = col_int(res, i, C_RECEIVED), answered = col_int(res, i, C_ANSWERED),
              rated = col_int(res, i, C_RATED);
    json_t *withheld = json_array();
    json_t *o = json_pack("{s:I, s:s}", "unit_id", (json_int_t)col_int(res, i, C_UNIT), "unit_name",
                          PQgetvalue(res, i, C_NAME));
    figure(o, withheld, "received", received, json_integer(received));
    figure(o, withheld, "answered", received, json_integer(answered));
    figure(o, withheld, "overdue", received, json_integer(col_int(res, i, C_OVERDUE)));
    figure(o, withheld, "median_days_to_answer", answered,
           PQgetisnull(res, i, C_MEDIAN) ? json_null()
                                         : json_real(strtod(PQgetvalue(res, i, C_MEDIAN), NULL)));
    figure(o, withheld, "decision_rates", answered,
           json_pack("{s:o, s:o, s:o, s:o}", "adopted", rate(col_int(res, i, C_ADOPTED), answered),
                     "partly_adopted", rate(col_int(res, i, C_PARTLY), answered), "not_adopted",
                     rate(col_int(res, i, C_NOT), answered), "noted",
                     rate(col_int(res, i, C_NOTED), answered)));
    figure(o, withheld, "satisfaction_rate", rated, rate(col_int(res, i, C_SATISFIED), rated));
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
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_STATS, p, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *units = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(units, unit_figures(res, i));
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:I, s:o, s:o, s:o}", "unit_id", (json_int_t)unit,
                                        "from", from ? json_string(from) : json_null(), "to",
                                        to ? json_string(to) : json_null(), "units", units));
}
