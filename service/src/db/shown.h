/* The suggestions shown to a unit's members by their authors (sql/0027),
 * as the list the members read. */
#ifndef YIJIAN_DB_SHOWN_H
#define YIJIAN_DB_SHOWN_H

#include <jansson.h>

#include "db/db.h"

/* The unit's shown suggestions, newest first, at most 200, as a JSON array
 * of {id, title, body, status, cosign_count, created_at, author_name}
 * (author_name null unless the author chose to show it). Returns a new
 * reference (caller json_decref()s), or NULL with *st set. */
json_t *shown_suggestions_of_unit(struct db_conn *c, long long unit_id, enum db_status *st);

#endif
