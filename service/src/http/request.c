/* Small accessors on the request context. */
#include "http/request.h"

#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "http/validate.h"
#include "util/decimal.h"

const char *request_header(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *request_query(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool request_param_id(struct request *r, int i, long long *out)
{
    /* At most as many digits as ID_MAX has: a path of leading zeros is
     * not another spelling of an id. */
    const char *s = r->params[i];
    return s && strlen(s) <= 18 && decimal_parse(s, 1, ID_MAX, out);
}

void request_add_header(struct request *r, const char *name, const char *value)
{
    for (int i = 0; i < r->n_extra_headers; i++) {
        if (r->extra_names[i] == name) {
            snprintf(r->extra_values[i], sizeof r->extra_values[i], "%s", value);
            return;
        }
    }
    if (r->n_extra_headers == REQUEST_MAX_HEADERS)
        return;
    int i = r->n_extra_headers++;
    r->extra_names[i] = name;
    snprintf(r->extra_values[i], sizeof r->extra_values[i], "%s", value);
}

struct db_conn *request_db(struct request *r, enum db_status *st)
{
    if (!r->db)
        r->db = r->anonymous ? db_pool_acquire_unseen_since(&r->queued, st)
                             : db_pool_acquire_since(&r->queued, st);
    else
        *st = DB_OK;
    return r->db;
}

void request_db_release(struct request *r)
{
    r->db_round_trips += db_round_trips(r->db);
    db_pool_release(r->db);
    r->db = NULL;
}
