/* The statement table. The comment above each entry says who uses it. */
#include "db/statements.h"

/* RFC 3339 in UTC, as every API time is written. */
#define TS(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns of a suggestion as domain/suggestions.c reads them
 * (suggestion_fields, by these names). */
#define SUGGESTION_COLUMNS                                                          \
    "s.id, s.public_id, s.unit_id, u.name AS unit_name, s.category_id, "            \
    "c.name AS category_name, s.title, s.body, s.author_id, s.anonymous, "           \
    "s.publish_name, s.assignee_id, s.status, s.reopened, m.public_id AS merged_into, " \
    "s.cosign_count, " TS("s.created_at") " AS created_at, "                         \
    TS("s.ack_due") " AS ack_due, " TS("s.answer_due") " AS answer_due, "            \
    TS("s.accepted_at") " AS accepted_at, " TS("s.answered_at") " AS answered_at, "  \
    TS("s.published_at") " AS published_at, s.escalated_to, s.escalation_reason, "  \
    "(s.status = 'submitted' AND now() > s.ack_due) OR "                              \
    "(s.status IN ('submitted', 'accepted') AND now() > s.answer_due) AS overdue, "  \
    "au.display_name AS author_name, asg.display_name AS assignee_name "
#define SUGGESTION_FROM                                                              \
    "FROM suggestions s JOIN org_units u ON u.id = s.unit_id "                      \
    "JOIN categories c ON c.id = s.category_id "                                    \
    "LEFT JOIN suggestions m ON m.id = s.merged_into "                              \
    "LEFT JOIN accounts au ON au.id = s.author_id "                                 \
    "LEFT JOIN accounts asg ON asg.id = s.assignee_id "

/* A webhook as routes/notifications.c shows it (WEBHOOK_JSON). */
#define WEBHOOK_COLUMNS "id, unit_id, account_id, kind, url_hint, has_secret, " \
    TS("created_at") " AS created_at"

/* A time in Asia/Shanghai (a fixed +08:00) to the minute, as a ledger
 * or a report on paper shows it. */
#define BJ(x) "to_char((" x ") AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')"

/* Units at or above $N (the unit and its ancestors). */
#define UNITS_UP(param)                                                              \
    "WITH RECURSIVE up(id, depth) AS (SELECT " param "::bigint, 0 "                  \
    "UNION SELECT u.parent_id, up.depth + 1 FROM org_units u JOIN up ON u.id = up.id " \
    "WHERE u.parent_id IS NOT NULL) "

/* The fields of an audit row as the chain encodes them (domain/audit_chain.h
 * AUDIT_ROW_SPEC reads them by these names): the time in UTC with
 * microseconds, the change as PostgreSQL's jsonb text. */
#define AUDIT_ROW_COLUMNS                                                            \
    "l.id, to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, " \
    "l.actor_kind, l.actor_id, l.action, l.object_type, l.object_id, l.change::text AS change, " \
    "l.request_id"

/* routes/suggestions.c list. Visibility: an admin sees all; others
 * their own, those assigned to them, those of units where they sit on
 * the committee, and those of every unit at or below one where they
 * are secretary (escalated ones count for the unit they went to).
 * $3 cursor id (never NULL: the first page passes the largest bigint),
 * $4 status, $5 unit (with descendants), $6 category, $7 assignee=me,
 * $8 overdue, $9 q, $10 limit, $11 author=me. The caller is me (an
 * account id) and admin (a boolean): $1 and $2 in the statements that
 * take them from caller_load (ME_ACCOUNT), or read from the session whose
 * hash is $1 in those that check it themselves (ME_SESSION). */
#define ME_ACCOUNT "$1::bigint", "$2::boolean"
#define ME_SESSION "(SELECT account_id FROM sess)", "(SELECT is_admin FROM sess)"
/* The session $1 (hex hash) if it is valid, with its account's admin flag,
 * touched ($2: its lifetime in seconds); session_authz, suggestion_view
 * and the list all begin with it. */
#define SESSION_CTES                                                                       \
    "sess AS (SELECT se.token_hash, se.account_id, a.is_admin FROM sessions se "          \
    "  JOIN accounts a ON a.id = se.account_id "                                          \
    "  WHERE se.token_hash = decode($1, 'hex') AND se.revoked_at IS NULL "                \
    "  AND se.expires_at > now()), "                                                      \
    "touched AS (UPDATE sessions SET expires_at = now() + make_interval(secs => $2::int), " \
    "  last_used_at = now() WHERE token_hash = (SELECT token_hash FROM sess) "            \
    "  AND last_used_at < now() - interval '1 minute' RETURNING 1), "
#define LIST_CTES_(me, admin) \
    "managed(id) AS (" \
    "  SELECT unit_id FROM memberships WHERE account_id = " me " AND role = 'secretary' " \
    "  UNION SELECT u.id FROM org_units u JOIN managed ON u.parent_id = managed.id), " \
    "committee(id) AS (SELECT unit_id FROM memberships WHERE account_id = " me " " \
    "  AND role = 'committee'), " \
    "scope(id) AS (SELECT $5::bigint WHERE $5::bigint IS NOT NULL " \
    "  UNION SELECT u.id FROM org_units u JOIN scope ON u.parent_id = scope.id) "
#define LIST_CTES_FOR(who) LIST_CTES_(who)
#define LIST_CTES "WITH RECURSIVE " LIST_CTES_FOR(ME_ACCOUNT)
/* The caller's filters, all but the cursor, the text and visibility;
 * assignee_cond and author_cond are those of assignee=me ($7) and
 * author=me ($11). */
#define LIST_FILTERS_BY(assignee_cond, author_cond) \
    "($4::text IS NULL OR s.status = $4) " \
    "AND ($5::bigint IS NULL OR s.unit_id IN (SELECT id FROM scope) " \
    "     OR s.escalated_to IN (SELECT id FROM scope)) " \
    "AND ($6::bigint IS NULL OR s.category_id = $6::bigint) " \
    "AND " assignee_cond " AND " author_cond " " \
    "AND (NOT $8::boolean OR (s.status = 'submitted' AND now() > s.ack_due) " \
    "     OR (s.status IN ('submitted', 'accepted') AND now() > s.answer_due)) "
/* assignee=me, author=me: optional ("ANY"), or the statement's own ("ME",
 * so that its plan walks that person's index). */
#define ASSIGNEE_ANY_(me, admin) "(NOT $7::boolean OR s.assignee_id = " me ")"
#define AUTHOR_ANY_(me, admin) "(NOT $11::boolean OR s.author_id = " me ")"
#define ASSIGNEE_ME_(me, admin) "($7::boolean AND s.assignee_id = " me ")"
#define AUTHOR_ME_(me, admin) "($11::boolean AND s.author_id = " me ")"
#define COND_FOR(cond, who) cond(who)
#define ASSIGNEE_ANY COND_FOR(ASSIGNEE_ANY_, ME_ACCOUNT)
#define AUTHOR_ANY COND_FOR(AUTHOR_ANY_, ME_ACCOUNT)
#define LIST_FILTERS LIST_FILTERS_BY(ASSIGNEE_ANY, AUTHOR_ANY)
#define VISIBLE_(me, admin) \
    "(" admin " OR s.author_id = " me " OR s.assignee_id = " me " " \
    " OR s.unit_id IN (SELECT id FROM committee) OR s.unit_id IN (SELECT id FROM managed) " \
    " OR s.escalated_to IN (SELECT id FROM managed) " \
    " OR s.escalated_to IN (SELECT id FROM committee)) "
#define VISIBLE_FOR(who) VISIBLE_(who)
#define SUGGESTIONS_LIST(text_cond) \
    LIST_CTES \
    "SELECT " SUGGESTION_COLUMNS SUGGESTION_FROM \
    "WHERE s.id < $3::bigint AND " LIST_FILTERS "AND (" text_cond ") " \
    "AND " VISIBLE_FOR(ME_ACCOUNT)
/* A page of the list for the session $1 in one statement, as
 * suggestion_view reads a suggestion: no row when the session is not
 * valid, one row of NULLs when the page is empty, else its rows. */
#define SESSION_LIST(assignee_cond, author_cond) \
    "WITH RECURSIVE " SESSION_CTES LIST_CTES_FOR(ME_SESSION) \
    "SELECT v.* FROM sess LEFT JOIN LATERAL (" \
    "  SELECT " SUGGESTION_COLUMNS SUGGESTION_FROM \
    "  WHERE s.id < $3::bigint " \
    "  AND " LIST_FILTERS_BY(COND_FOR(assignee_cond, ME_SESSION), COND_FOR(author_cond, ME_SESSION)) \
    "  AND $9::text IS NULL AND " VISIBLE_FOR(ME_SESSION) \
    "  ORDER BY s.id DESC LIMIT $10::int) v ON true"

/* The newest ids in [hi - $12, hi) (hi: the CTE top) on one of the ways a
 * caller who is not an admin sees a suggestion (path), that pass the
 * filters and contain $9. */
#define SEARCH_PATH(path)                                                          \
    "(SELECT s.id FROM suggestions s WHERE " path " "                             \
    "AND s.id >= (SELECT hi FROM top) - $12::bigint AND s.id < (SELECT hi FROM top) " \
    "AND " LIST_FILTERS "AND " SEARCH_LIKE " ORDER BY s.id DESC LIMIT $10::int)"

/* The authorization facts of account acct in unit unit, whose ancestors
 * (and itself) are the CTE up: the one query of them, which every
 * statement that loads them uses (domain/authz.h reads them by these
 * names, each after prefix p: AUTHZ_FACTS_FIELDS). */
#define AUTHZ_FACTS(acct, unit, up, p)                                                     \
    "coalesce((SELECT is_admin FROM accounts WHERE id = " acct "), false) AS " p "is_admin, " \
    "EXISTS (SELECT 1 FROM org_units WHERE id = " unit ") AS " p "unit_exists, "           \
    "coalesce((SELECT json_agg(role ORDER BY role) FROM memberships "                      \
    "  WHERE account_id = " acct " AND unit_id = " unit "), '[]')::text AS " p "roles, "  \
    "EXISTS (SELECT 1 FROM memberships mm JOIN " up " ON mm.unit_id = " up ".id "          \
    "  WHERE mm.account_id = " acct " AND mm.role = 'secretary') AS " p "secretary_above"

/* One outbox row per webhook that which_hooks selects ($1), for the event
 * $2 of suggestion $3 with the payload $4; $5: caused by an anonymous
 * submitter, so timed at the start of its $6-second window and due at its
 * end (domain/notify.c). */
#define OUTBOX_INSERT(which_hooks)                                                          \
    "INSERT INTO notification_outbox (webhook_id, event, suggestion_id, payload, created_at, " \
    "  next_attempt_at) "                                                                   \
    "SELECT h.id, $2, $3::bigint, $4::jsonb || jsonb_build_object('created_at', " TS("w.c") "), " \
    "  w.c, CASE WHEN $5::boolean THEN w.c + make_interval(secs => $6::int) ELSE w.c END "  \
    "FROM webhooks h, (SELECT CASE WHEN $5::boolean "                                       \
    "  THEN to_timestamp(floor(extract(epoch FROM now()) / $6::int) * $6::int) ELSE now() END AS c) w " \
    "WHERE " which_hooks " ORDER BY h.id"

/* A suggestion's answer and its ratings, with their WHERE to follow. */
#define ANSWER_SELECT                                                                      \
    "SELECT a.decision, a.reason, a.body, a.drafted_by, d.display_name AS drafter_name, "      \
    TS("a.drafted_at") " AS drafted_at, a.approved_by, p.display_name AS approver_name, "    \
    TS("a.approved_at") " AS approved_at "                                                  \
    "FROM answers a JOIN accounts d ON d.id = a.drafted_by "                               \
    "LEFT JOIN accounts p ON p.id = a.approved_by "
#define RATINGS_SELECT "SELECT round, rating, " TS("rated_at") " AS rated_at FROM ratings "

/* The text contains $9 literally: LIKE with its wildcards escaped. */
#define SEARCH_LIKE                                                                   \
    "(s.title || ' ' || s.body) LIKE "                                                \
    "'%' || replace(replace(replace($9, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"

/* Routing's committee member of unit $1 holding the portfolio named by
 * the expression portfolio, least loaded first. */
#define ROUTE_COMMITTEE(portfolio)                                                          \
    "SELECT m.account_id FROM memberships m "                                               \
    "JOIN committee_portfolios cp ON cp.account_id = m.account_id "                         \
    "JOIN portfolios p ON p.id = cp.portfolio_id AND p.unit_id = m.unit_id "                \
    "WHERE m.unit_id = $1::bigint AND m.role = 'committee' AND p.name = " portfolio         \
    "  AND p.retired_at IS NULL "                                                           \
    "ORDER BY coalesce((SELECT o.open FROM assignee_open o WHERE o.account_id = m.account_id), 0), " \
    "  (SELECT max(created_at) FROM assignments a WHERE a.assignee_id = m.account_id) "     \
    "  ASC NULLS FIRST, m.account_id LIMIT 1"

/* What a notice says about suggestion s (domain/notify.h reads them by
 * these names: NOTIFY_SUBJECT_FIELDS). */
#define NOTIFY_FACTS_COLUMNS                                                              \
    "s.id, s.public_id, s.title, s.unit_id, u.name AS unit_name, s.anonymous, s.author_id, " \
    "s.assignee_id, s.escalated_to, coalesce(e.name, '') AS escalated_name, "             \
    "to_char(s.answer_due AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS answer_due_local "
#define NOTIFY_FACTS_FROM                                                                 \
    "suggestions s JOIN org_units u ON u.id = s.unit_id "                                 \
    "LEFT JOIN org_units e ON e.id = s.escalated_to "

/* A suggestion $pid as the account of the CTE sess sees it (NULLs when
 * there is none), with the facts of authz_unit for its unit and for the
 * unit it was escalated to, and whether the account supports it. No row:
 * no account (an ended session). */
#define SUGGESTION_VIEW_SQL(sess_ctes, pid)                                             \
    "WITH RECURSIVE " sess_ctes                                                         \
    "g AS (SELECT unit_id, escalated_to FROM suggestions WHERE public_id = " pid "), " \
    "up(id) AS (SELECT unit_id FROM g "                                                 \
    "  UNION SELECT ou.parent_id FROM org_units ou JOIN up ON ou.id = up.id "           \
    "  WHERE ou.parent_id IS NOT NULL), "                                               \
    "upe(id) AS (SELECT escalated_to FROM g WHERE escalated_to IS NOT NULL "            \
    "  UNION SELECT ou.parent_id FROM org_units ou JOIN upe ON ou.id = upe.id "         \
    "  WHERE ou.parent_id IS NOT NULL) "                                                \
    "SELECT v.*, sess.account_id AS viewer_id, "                                        \
    AUTHZ_FACTS("sess.account_id", "(SELECT unit_id FROM g)", "up", "unit_") ", "       \
    AUTHZ_FACTS("sess.account_id", "(SELECT escalated_to FROM g)", "upe", "esc_") ", "  \
    /* last: whether the caller supports it, co-signer or author of a      */          \
    /* suggestion merged into it (issue 22: they may read it)              */          \
    "EXISTS (SELECT 1 FROM cosigns c WHERE c.suggestion_id = v.id "                    \
    "  AND c.account_id = sess.account_id) OR "                                         \
    "EXISTS (SELECT 1 FROM suggestions m WHERE m.merged_into = v.id "                  \
    "  AND m.author_id = sess.account_id) AS supporter "                                \
    "FROM sess LEFT JOIN LATERAL (SELECT " SUGGESTION_COLUMNS SUGGESTION_FROM           \
    "  WHERE s.public_id = " pid ") v ON true"

const struct stmt_def stmt_defs[STMT__COUNT] = {
    /* routes/health.c: readyz */
    [STMT_SCHEMA_VERSION] = { "schema_version",
        "SELECT coalesce(max(version), 0) AS version FROM schema_migrations", 0, 1 },

    /* domain/audit.c: the one audit writer. $5 is JSON text. */
    [STMT_AUDIT_INSERT] = { "audit_insert",
        "INSERT INTO audit_log (actor_kind, actor_id, action, object_type, object_id, change, request_id, at) "
        "VALUES ($1, $2::bigint, $3, $4, $5, $6::jsonb, $7, "
        /* an anonymous action keeps only its hour (DESIGN §3) */
        "  CASE WHEN $1 = 'anonymous' THEN date_trunc('hour', clock_timestamp()) "
        "  ELSE clock_timestamp() END)", 7, 1 },

    /* db/migrate.c: serialise concurrent migrators (the key is fixed). */
    [STMT_MIGRATION_LOCK] = { "migration_lock",
        "SELECT pg_advisory_lock(7162352481)", 0, 0 },
    [STMT_MIGRATION_UNLOCK] = { "migration_unlock",
        "SELECT pg_advisory_unlock(7162352481)", 0, 0 },
    [STMT_MIGRATION_APPLIED] = { "migration_applied",
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0, 0 },
    [STMT_MIGRATION_RECORD] = { "migration_record",
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1::int, $2, $3)", 3, 0 },

    /* domain/accounts.c */
    [STMT_ACCOUNT_INSERT] = { "account_insert",
        "INSERT INTO accounts (login, display_name, is_admin) VALUES ($1, $2, $3::boolean) "
        "RETURNING id", 3, 1 },
    /* domain/accounts.c: a new code replaces any earlier one */
    [STMT_ACTIVATION_UPSERT] = { "activation_upsert",
        "INSERT INTO activation_codes (account_id, code_hash, expires_at) "
        "VALUES ($1::bigint, decode($2, 'hex'), now() + make_interval(secs => $3::int)) "
        "ON CONFLICT (account_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, "
        "expires_at = EXCLUDED.expires_at, used_at = NULL "
        "RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "AS expires_at", 3, 1 },

    /* routes/auth.c activate: marks the code used only when it matches,
     * is unused and unexpired; returns the account id. */
    [STMT_ACTIVATION_CLAIM] = { "activation_claim",
        "UPDATE activation_codes c SET used_at = now() FROM accounts a "
        "WHERE a.id = c.account_id AND lower(a.login) = lower($1) "
        "AND c.code_hash = decode($2, 'hex') AND c.used_at IS NULL AND c.expires_at > now() "
        "RETURNING a.id", 2, 1 },
    /* routes/auth.c activate: does the code match, unused and unexpired?
     * A cheap look before the password is hashed, so that a right code is
     * let through a lock that wrong ones (anybody's) put on the login. */
    [STMT_ACTIVATION_CHECK] = { "activation_check",
        "SELECT 1 FROM activation_codes c JOIN accounts a ON a.id = c.account_id "
        "WHERE lower(a.login) = lower($1) AND c.code_hash = decode($2, 'hex') "
        "AND c.used_at IS NULL AND c.expires_at > now()", 2, 1 },
    [STMT_ACCOUNT_SET_PASSWORD] = { "account_set_password",
        "UPDATE accounts SET password_hash = $2, activated_at = coalesce(activated_at, now()) "
        "WHERE id = $1::bigint RETURNING id, login, display_name, is_admin", 2, 1 },

    /* routes/auth.c login */
    [STMT_ACCOUNT_BY_LOGIN] = { "account_by_login",
        "SELECT id, login, display_name, is_admin, password_hash FROM accounts "
        "WHERE lower(login) = lower($1)", 1, 1 },
    /* domain/session.c, routes/auth.c me */
    [STMT_ACCOUNT_BY_ID] = { "account_by_id",
        "SELECT id, login, display_name, is_admin FROM accounts WHERE id = $1::bigint", 1, 1 },

    /* domain/session.c */
    [STMT_SESSION_INSERT] = { "session_insert",
        "INSERT INTO sessions (token_hash, account_id, expires_at) "
        "VALUES (decode($1, 'hex'), $2::bigint, now() + make_interval(secs => $3::int)) "
        "RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "AS expires_at", 3, 1 },
    /* Renews on use, at most once a minute so that reads stay cheap. */
    [STMT_SESSION_TOUCH] = { "session_touch",
        "WITH s AS (SELECT token_hash, account_id, expires_at FROM sessions "
        "  WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL AND expires_at > now()), "
        "u AS (UPDATE sessions SET expires_at = now() + make_interval(secs => $2::int), last_used_at = now() "
        "  WHERE token_hash = (SELECT token_hash FROM s) "
        "  AND last_used_at < now() - interval '1 minute' RETURNING 1) "
        "SELECT account_id FROM s", 2, 1 },
    /* routes/caller.c: the session check of session_touch and the facts
     * of authz_unit for (its account, unit $3), in one round trip; no row
     * when the session is not valid. */
    [STMT_SESSION_AUTHZ] = { "session_authz",
        "WITH RECURSIVE " SESSION_CTES
        "up(id) AS ("
        "  SELECT id FROM org_units WHERE id = $3::bigint "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT sess.account_id, " AUTHZ_FACTS("sess.account_id", "$3::bigint", "up", "")
        " FROM sess", 3, 1 },
    /* domain/accounts.c, routes/auth.c: a reset (new activation code) or
     * a new password ends every session the account had. */
    [STMT_SESSIONS_END_ALL] = { "sessions_end_all",
        "UPDATE sessions SET revoked_at = now() WHERE account_id = $1::bigint "
        "AND revoked_at IS NULL", 1, 1 },
    [STMT_SESSION_REVOKE] = { "session_revoke",
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = decode($1, 'hex') "
        "AND revoked_at IS NULL RETURNING account_id", 1, 1 },

    /* domain/throttle.c: back-off for doors that take guesses. The key is
     * $1 (the door) || lower($2) (the login, or a hashed address), folded
     * as accounts_login_unique folds logins, so that every spelling the
     * database takes for one account counts against one key. throttle_take
     * counts the attempt *before* it is checked and returns 0, or, when the
     * key is locked, counts nothing and returns the seconds to wait: one
     * row lock orders parallel attempts, so no more than $3 get through
     * in a window. The lock never exceeds 900 s (docs/security.md).
     * "Not locked" is the fixed past 'epoch', not now(): now() is each
     * transaction's start, so one attempt's now() can be later than that of
     * a parallel attempt waiting on the row, which then found the key
     * "locked" and answered 429 to a right password (seen under load). */
    [STMT_THROTTLE_TAKE] = { "throttle_take",
        "WITH k AS (SELECT $1 || lower($2) AS key), "
        "up AS (INSERT INTO login_throttle AS t (key, failures, last_failure_at, locked_until) "
        "  SELECT key, 1, now(), CASE WHEN 1 >= $3::int THEN now() + interval '5 seconds' "
        "    ELSE 'epoch'::timestamptz END FROM k "
        "  ON CONFLICT (key) DO UPDATE SET "
        "  failures = CASE WHEN t.last_failure_at < now() - interval '1 hour' THEN 1 "
        "    ELSE t.failures + 1 END, "
        "  last_failure_at = now(), "
        "  locked_until = CASE WHEN (CASE WHEN t.last_failure_at < now() - interval '1 hour' THEN 1 "
        "    ELSE t.failures + 1 END) >= $3::int "
        "    THEN now() + make_interval(secs => least(900, 5 * 2 ^ least(10, t.failures + 1 - $3::int))) "
        "    ELSE 'epoch'::timestamptz END "
        "  WHERE t.locked_until <= now() "
        "  RETURNING 0 AS wait) "
        "SELECT wait FROM up "
        "UNION ALL "
        "SELECT greatest(1, least(900, ceil(extract(epoch FROM t.locked_until - now()))))::int "
        "FROM login_throttle t, k WHERE t.key = k.key AND NOT EXISTS (SELECT 1 FROM up)", 3, 1 },
    /* The attempt was right: its count is given back (and the lock it
     * set, if it was the one that reached $3). */
    [STMT_THROTTLE_REFUND] = { "throttle_refund",
        "UPDATE login_throttle SET failures = greatest(0, failures - 1), "
        "locked_until = CASE WHEN failures - 1 < $3::int THEN 'epoch'::timestamptz "
        "  ELSE locked_until END "
        "WHERE key = $1 || lower($2)", 3, 1 },
    [STMT_THROTTLE_CLEAR] = { "throttle_clear",
        "DELETE FROM login_throttle WHERE key = $1 || lower($2)", 2, 1 },
    /* routes/auth.c me */
    [STMT_MEMBERSHIPS_OF_ACCOUNT] = { "memberships_of_account",
        "SELECT u.id, u.name, "
        "  array_to_json(array_agg(DISTINCT m.role ORDER BY m.role))::text AS roles, "
        "  coalesce((SELECT json_agg(p.name ORDER BY p.name) FROM committee_portfolios cp "
        "    JOIN portfolios p ON p.id = cp.portfolio_id "
        "    WHERE cp.account_id = $1::bigint AND p.unit_id = u.id), '[]')::text AS portfolios "
        "FROM memberships m JOIN org_units u ON u.id = m.unit_id "
        "WHERE m.account_id = $1::bigint GROUP BY u.id, u.name ORDER BY u.id", 1, 1 },

    /* domain/accounts.c (roster import: a changed name) */
    [STMT_ACCOUNT_SET_DISPLAY_NAME] = { "account_set_display_name",
        "UPDATE accounts SET display_name = $2 WHERE id = $1::bigint AND display_name <> $2 "
        "RETURNING id", 2, 1 },

    /* routes/units.c: the whole tree, assembled in C (units are few) */
    [STMT_UNITS_ALL] = { "units_all",
        "SELECT id, parent_id, name, level, requires_approval, " TS("retired_at") " AS retired_at "
        "FROM org_units ORDER BY id", 0, 1 },
    [STMT_UNIT_BY_ID] = { "unit_by_id",
        "SELECT id, parent_id, name, level, requires_approval, " TS("retired_at") " AS retired_at "
        "FROM org_units WHERE id = $1::bigint", 1, 1 },
    /* routes/units.c: retire (sql/0024) or bring back unit $1 ($2), with
     * whether it was retired before. */
    [STMT_UNIT_SET_RETIRED] = { "unit_set_retired",
        "UPDATE org_units u SET retired_at = CASE WHEN $2::boolean THEN coalesce(o.was, now()) END "
        "FROM (SELECT id, retired_at AS was FROM org_units WHERE id = $1::bigint FOR UPDATE) o "
        "WHERE u.id = o.id RETURNING u.id, u.name, " TS("u.retired_at") " AS retired_at, "
        "o.was IS NOT NULL AS was_retired", 2, 1 },
    /* The same for portfolio $1 of unit $3 and category $1 of unit $3. */
    [STMT_PORTFOLIO_SET_RETIRED] = { "portfolio_set_retired",
        "UPDATE portfolios p SET retired_at = CASE WHEN $2::boolean THEN coalesce(o.was, now()) END "
        "FROM (SELECT id, retired_at AS was FROM portfolios WHERE id = $1::bigint "
        "  AND unit_id = $3::bigint FOR UPDATE) o "
        "WHERE p.id = o.id RETURNING p.id, p.name, " TS("p.retired_at") " AS retired_at, "
        "o.was IS NOT NULL AS was_retired", 3, 1 },
    [STMT_CATEGORY_SET_RETIRED] = { "category_set_retired",
        "UPDATE categories c SET retired_at = CASE WHEN $2::boolean THEN coalesce(o.was, now()) END "
        "FROM (SELECT id, retired_at AS was FROM categories WHERE id = $1::bigint "
        "  AND unit_id = $3::bigint FOR UPDATE) o "
        "WHERE c.id = o.id RETURNING c.id, c.name, " TS("c.retired_at") " AS retired_at, "
        "o.was IS NOT NULL AS was_retired", 3, 1 },
    /* domain/roster.c: find a unit by its path, one step at a time */
    [STMT_UNIT_BY_PARENT_NAME] = { "unit_by_parent_name",
        "SELECT id, parent_id, name, level, requires_approval, " TS("retired_at") " AS retired_at "
        "FROM org_units WHERE parent_id IS NOT DISTINCT FROM $1::bigint AND name = $2", 2, 1 },
    /* domain/units.c */
    [STMT_UNIT_INSERT] = { "unit_insert",
        "INSERT INTO org_units (parent_id, name, level) VALUES ($1::bigint, $2, $3) "
        "RETURNING id, parent_id, name, level, requires_approval, " TS("retired_at") " AS retired_at", 3, 1 },
    /* routes/units.c create and move: the levels the tree would have
     * along the unit $2 (NULL: a new unit, one level) placed under $1
     * (NULL: at the top): $1's level counted from the top plus the
     * levels of $2's subtree. */
    [STMT_UNIT_LEVELS_WITH] = { "unit_levels_with",
        "WITH RECURSIVE up(id) AS (SELECT $1::bigint WHERE $1::bigint IS NOT NULL "
        "  UNION ALL SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL), "
        "down(id, d) AS (SELECT $2::bigint, 1 WHERE $2::bigint IS NOT NULL "
        "  UNION ALL SELECT u.id, down.d + 1 FROM org_units u JOIN down ON u.parent_id = down.id) "
        "SELECT (SELECT count(*) FROM up) + coalesce((SELECT max(d) FROM down), 1) AS levels", 2, 1 },
    /* routes/units.c create: one account's creations wait for each other,
     * so that two at once cannot both pass UNITS_PER_DAY (22: issue 22;
     * the lock ends with the transaction). */
    [STMT_UNIT_CREATE_LOCK] = { "unit_create_lock",
        "SELECT pg_advisory_xact_lock(22, $1::int)", 1, 1 },
    /* ... and how many units account $1 created in the last 24 hours. */
    [STMT_UNITS_CREATED_BY] = { "units_created_by",
        "SELECT count(*) AS made FROM audit_log WHERE actor_id = $1::bigint AND actor_kind = 'account' "
        "AND action = 'unit.create' AND at > now() - interval '1 day'", 1, 1 },
    /* routes/units.c rename, move, approval rule: $3 says whether
     * parent_id changes; a NULL $2 or $5 keeps the value */
    [STMT_UNIT_UPDATE] = { "unit_update",
        "UPDATE org_units SET name = coalesce($2, name), "
        "parent_id = CASE WHEN $3::boolean THEN $4::bigint ELSE parent_id END, "
        "requires_approval = coalesce($5::boolean, requires_approval), "
        /* who turned approval off (sql/0020): $6, the caller, when it goes
         * off now; kept while it stays off; NULL when it is on */
        "approval_off_by = CASE WHEN coalesce($5::boolean, requires_approval) THEN NULL "
        "  WHEN requires_approval THEN $6::bigint ELSE approval_off_by END "
        "WHERE id = $1::bigint RETURNING id, parent_id, name, level, requires_approval, "
        TS("retired_at") " AS retired_at", 6, 1 },

    /* domain/authz.c: everything a decision about (account, unit) needs, in
     * one round trip: admin flag, whether the unit exists, the roles held in
     * the unit itself, and whether the account is secretary of the unit or
     * of any unit above it. */
    [STMT_AUTHZ_UNIT] = { "authz_unit",
        "WITH RECURSIVE up(id) AS ("
        "  SELECT id FROM org_units WHERE id = $2::bigint "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT " AUTHZ_FACTS("$1::bigint", "$2::bigint", "up", ""), 2, 1 },
    /* domain/authz.c: may $1 manage account $2 (secretary above one of
     * $2's units)? */
    /* $1 manages account $2 when every unit $2 holds or ever held a role
     * in (membership_history) is at or below a unit $1 is secretary of,
     * $2 was not adopted with no past (a NULL unit in its history), and $2
     * is no admin: a new activation code resets the password, so managing
     * one of several units (or an admin's), or adopting an account removed
     * from another branch, would let a secretary take over an account that
     * can do more than they can, or its authorship elsewhere. */
    [STMT_AUTHZ_MANAGES_ACCOUNT] = { "authz_manages_account",
        "WITH RECURSIVE managed(id) AS ("
        "  SELECT unit_id FROM memberships WHERE account_id = $1::bigint AND role = 'secretary' "
        "  UNION SELECT u.id FROM org_units u JOIN managed ON u.parent_id = managed.id) "
        "SELECT EXISTS (SELECT 1 FROM memberships WHERE account_id = $2::bigint) "
        "  AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = $2::bigint "
        "                  AND m.unit_id NOT IN (SELECT id FROM managed)) "
        "  AND NOT EXISTS (SELECT 1 FROM membership_history h WHERE h.account_id = $2::bigint "
        "                  AND (h.unit_id IS NULL OR h.unit_id NOT IN (SELECT id FROM managed))) "
        "  AND NOT coalesce((SELECT is_admin FROM accounts WHERE id = $2::bigint), false) "
        "  AS manages", 2, 1 },

    /* domain/memberships.c: roles are passed as a JSON array of text */
    [STMT_MEMBERSHIP_ROLES] = { "membership_roles",
        "SELECT coalesce(json_agg(role ORDER BY role), '[]')::text AS roles FROM memberships "
        "WHERE account_id = $1::bigint AND unit_id = $2::bigint", 2, 1 },
    [STMT_MEMBERSHIP_DELETE_OTHER_ROLES] = { "membership_delete_other_roles",
        "DELETE FROM memberships WHERE account_id = $1::bigint AND unit_id = $2::bigint "
        "AND role NOT IN (SELECT jsonb_array_elements_text($3::jsonb))", 3, 1 },
    [STMT_MEMBERSHIP_ADD] = { "membership_add",
        "INSERT INTO memberships (account_id, unit_id, role) "
        "SELECT $1::bigint, $2::bigint, r FROM jsonb_array_elements_text($3::jsonb) r "
        "ON CONFLICT DO NOTHING", 3, 1 },
    /* routes/members.c members list, cursor = last account id seen */
    [STMT_MEMBERS_OF_UNIT] = { "members_of_unit",
        "SELECT a.id, a.login, a.display_name, json_agg(m.role ORDER BY m.role)::text AS roles, "
        "  coalesce((SELECT json_agg(p.name ORDER BY p.name) FROM committee_portfolios cp "
        "    JOIN portfolios p ON p.id = cp.portfolio_id "
        "    WHERE cp.account_id = a.id AND p.unit_id = $1::bigint), '[]')::text AS portfolios "
        "FROM memberships m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.unit_id = $1::bigint AND a.id > $2::bigint "
        "GROUP BY a.id ORDER BY a.id LIMIT $3::int", 3, 1 },

    /* domain/units.c membership_remove: the open suggestions account $1
     * was last assigned in unit $2 (its role there made it the
     * assignee), oldest first, locked for their reassignment. */
    [STMT_MEMBER_OPEN_ASSIGNMENTS] = { "member_open_assignments",
        "SELECT s.id, s.public_id, s.unit_id, s.status, s.title, c.portfolio "
        "FROM suggestions s JOIN categories c ON c.id = s.category_id "
        "WHERE s.assignee_id = $1::bigint AND s.status IN ('submitted', 'accepted') "
        "AND coalesce((SELECT a.unit_id FROM assignments a WHERE a.suggestion_id = s.id "
        "  ORDER BY a.id DESC LIMIT 1), s.unit_id) = $2::bigint "
        "ORDER BY s.id FOR UPDATE OF s", 2, 1 },

    /* routes/members.c, domain/units.c */
    [STMT_PORTFOLIOS_OF_UNIT] = { "portfolios_of_unit",
        "SELECT id, name, " TS("retired_at") " AS retired_at FROM portfolios WHERE unit_id = $1::bigint ORDER BY name", 1, 1 },
    [STMT_PORTFOLIO_INSERT] = { "portfolio_insert",
        "INSERT INTO portfolios (unit_id, name) VALUES ($1::bigint, $2) RETURNING id, name", 2, 1 },
    /* domain/roster.c: a portfolio named in a roster exists afterwards */
    [STMT_PORTFOLIO_ENSURE] = { "portfolio_ensure",
        "INSERT INTO portfolios (unit_id, name) SELECT $1::bigint, n "
        "FROM jsonb_array_elements_text($2::jsonb) n ON CONFLICT DO NOTHING RETURNING id, name", 2, 1 },
    [STMT_PORTFOLIOS_COUNT_NAMED] = { "portfolios_count_named",
        "SELECT count(*) AS named FROM portfolios WHERE unit_id = $1::bigint AND retired_at IS NULL "
        "AND name IN (SELECT jsonb_array_elements_text($2::jsonb))", 2, 1 },
    [STMT_COMMITTEE_PORTFOLIOS_OF] = { "committee_portfolios_of",
        "SELECT coalesce(json_agg(p.name ORDER BY p.name), '[]')::text AS portfolios "
        "FROM committee_portfolios cp JOIN portfolios p ON p.id = cp.portfolio_id "
        "WHERE cp.account_id = $1::bigint AND p.unit_id = $2::bigint", 2, 1 },
    [STMT_COMMITTEE_PORTFOLIOS_DELETE_OTHERS] = { "committee_portfolios_delete_others",
        "DELETE FROM committee_portfolios cp USING portfolios p "
        "WHERE cp.portfolio_id = p.id AND cp.account_id = $1::bigint AND p.unit_id = $2::bigint "
        "AND p.name NOT IN (SELECT jsonb_array_elements_text($3::jsonb))", 3, 1 },
    [STMT_COMMITTEE_PORTFOLIOS_ADD] = { "committee_portfolios_add",
        "INSERT INTO committee_portfolios (account_id, portfolio_id) "
        "SELECT $1::bigint, p.id FROM portfolios p WHERE p.unit_id = $2::bigint "
        "AND p.name IN (SELECT jsonb_array_elements_text($3::jsonb)) ON CONFLICT DO NOTHING", 3, 1 },

    /* ---- suggestions (sql/0003) ---- */

    /* routes/suggestions.c categories */
    [STMT_CATEGORY_INSERT] = { "category_insert",
        "INSERT INTO categories (unit_id, name, portfolio, ack_days, answer_days, grace_days) "
        "VALUES ($1::bigint, $2, $3, $4::int, $5::int, $6::int) "
        "RETURNING id, unit_id, name, portfolio, ack_days, answer_days, grace_days, "
        TS("retired_at") " AS retired_at", 6, 1 },
    /* A unit's own categories and those it inherits, nearest first. */
    [STMT_CATEGORIES_FOR_UNIT] = { "categories_for_unit",
        UNITS_UP("$1")
        "SELECT c.id, c.unit_id, c.name, c.portfolio, c.ack_days, c.answer_days, c.grace_days, "
        TS("c.retired_at") " AS retired_at FROM categories c JOIN up ON up.id = c.unit_id ORDER BY up.depth, c.name", 1, 1 },
    [STMT_CATEGORY_FOR_UNIT] = { "category_for_unit",
        UNITS_UP("$1")
        "SELECT c.id, c.unit_id, c.name, c.portfolio, c.ack_days, c.answer_days, c.grace_days, "
        TS("c.retired_at") " AS retired_at, "
        "(SELECT retired_at IS NOT NULL FROM org_units WHERE id = $1::bigint) AS unit_retired "
        "FROM categories c JOIN up ON up.id = c.unit_id WHERE c.id = $2::bigint", 2, 1 },

    /* domain/suggestions.c: idempotent POST. The claim blocks a concurrent
     * twin on the primary key until the first commits. */
    [STMT_IDEMPOTENCY_CLAIM] = { "idempotency_claim",
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, "
        "  CASE WHEN $1 LIKE 'token:%' THEN date_trunc('hour', now()) ELSE now() END) "
        "ON CONFLICT DO NOTHING RETURNING 1", 3, 1 },
    [STMT_IDEMPOTENCY_GET] = { "idempotency_get",
        "SELECT request_hash, status, response::text FROM idempotency_keys "
        "WHERE scope = $1 AND key = $2", 2, 1 },
    [STMT_IDEMPOTENCY_STORE] = { "idempotency_store",
        "UPDATE idempotency_keys SET status = $3::int, response = $4::jsonb "
        "WHERE scope = $1 AND key = $2", 4, 1 },

    /* A member may address their units and any unit above them: the rule
     * of a named submission and co-sign (routes/suggestions.c) and of
     * taking anonymity tokens for a unit (routes/tokens.c issue). */
    [STMT_SUBMIT_UNIT_ALLOWED] = { "submit_unit_allowed",
        "WITH RECURSIVE up(id) AS (SELECT unit_id FROM memberships WHERE account_id = $1::bigint "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT EXISTS (SELECT 1 FROM up WHERE id = $2::bigint) AS allowed", 2, 1 },
    /* domain/workflow.c co-sign, in the lock's pipeline: may account $1
     * address the unit of suggestion $2 (as submit_unit_allowed)? */
    [STMT_COSIGN_ALLOWED] = { "cosign_allowed",
        "WITH RECURSIVE up(id) AS (SELECT unit_id FROM memberships WHERE account_id = $1::bigint "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT EXISTS (SELECT 1 FROM up WHERE id = "
        "  (SELECT unit_id FROM suggestions WHERE public_id = $2)) AS allowed", 2, 1 },
    [STMT_DEFAULT_UNITS] = { "default_units",
        "SELECT DISTINCT unit_id FROM memberships WHERE account_id = $1::bigint "
        "AND role = 'member' ORDER BY unit_id LIMIT 2", 1, 1 },

    /* domain/suggestions.c routing: one router per unit at a time, so
     * that two submissions do not both pick the same least-loaded person.
     * The unit id is reduced into the lock's int key (the same key as the
     * id itself below 2^31), because the lock is taken in the pipeline
     * before the unit is checked: an id past int4 must be refused as no
     * unit of the member, not fail the cast. */
    [STMT_ROUTING_LOCK] = { "routing_lock",
        "SELECT pg_advisory_xact_lock(716235, mod($1::bigint, 2147483648)::int)", 1, 1 },
    [STMT_ROUTE_COMMITTEE] = { "route_committee", ROUTE_COMMITTEE("$2"), 2, 1 },
    /* domain/workflow.c named submission: the same for the portfolio of
     * category $2, in the pipeline that reads the category itself. */
    [STMT_ROUTE_COMMITTEE_FOR_CATEGORY] = { "route_committee_for_category",
        ROUTE_COMMITTEE("(SELECT portfolio FROM categories WHERE id = $2::bigint)"), 2, 1 },
    [STMT_ROUTE_SECRETARY] = { "route_secretary",
        "SELECT m.account_id FROM memberships m "
        "WHERE m.unit_id = $1::bigint AND m.role = 'secretary' "
        "ORDER BY coalesce((SELECT o.open FROM assignee_open o WHERE o.account_id = m.account_id), 0), "
        "  (SELECT max(created_at) FROM assignments a WHERE a.assignee_id = m.account_id) "
        "  ASC NULLS FIRST, m.account_id LIMIT 1", 1, 1 },
    [STMT_SUGGESTION_INSERT] = { "suggestion_insert",
        "WITH s AS (INSERT INTO suggestions (public_id, unit_id, category_id, title, body, author_id, "
        "  anonymous, publish_name, assignee_id, ack_due, answer_due, grace_days"
        "  , created_at) "
        "SELECT $1, $2::bigint, $3::bigint, $4, $5, $6::bigint, $7::boolean, $8::boolean, "
        "  $9::bigint, t + make_interval(days => $10::int), "
        "  t + make_interval(days => $11::int), $12::int, t "
        /* An anonymous suggestion keeps only the hour it came in. */
        "FROM (SELECT CASE WHEN $7::boolean THEN date_trunc('hour', now()) ELSE now() END AS t) x "
        "ON CONFLICT (public_id) DO NOTHING RETURNING *) "
        /* what a notice of it says (NOTIFY_FACTS_COLUMNS), from the new row */
        "SELECT " NOTIFY_FACTS_COLUMNS "FROM s JOIN org_units u ON u.id = s.unit_id "
        "LEFT JOIN org_units e ON e.id = s.escalated_to", 12, 1 },
    [STMT_ASSIGNMENT_INSERT] = { "assignment_insert",
        "INSERT INTO assignments (suggestion_id, assignee_id, unit_id, reason, assigned_by, created_at) "
        "VALUES ($1::bigint, $2::bigint, $3::bigint, $4, $5::bigint, "
        "  CASE WHEN $6::boolean THEN date_trunc('hour', now()) ELSE now() END)", 6, 1 },

    /* routes/suggestions.c */
    [STMT_SUGGESTION_GET] = { "suggestion_get",
        "SELECT " SUGGESTION_COLUMNS SUGGESTION_FROM "WHERE s.public_id = $1", 1, 1 },
    /* routes/suggestions.c GET: in one round trip, the session check of
     * session_touch (token hash $1, ttl $2), the suggestion $3 as
     * suggestion_get reads it (NULLs when there is none), then the
     * session's account and the facts of authz_unit for the suggestion's
     * unit and for the unit it was escalated to. No row: no session. */
    [STMT_SUGGESTION_VIEW] = { "suggestion_view",
        SUGGESTION_VIEW_SQL(SESSION_CTES, "$3"), 3, 1 },
    /* domain/workflow.c: the same for account $1 (NULL: nobody), read in
     * the COMMIT's pipeline of a step or a submission, so that its answer
     * costs no round trip of its own; suggestion $2. */
    [STMT_SUGGESTION_VIEW_ACCOUNT] = { "suggestion_view_account",
        SUGGESTION_VIEW_SQL("sess AS (SELECT $1::bigint AS account_id), ", "$2"), 2, 1 },
    /* domain/workflow.c, a step: what it needs besides the row's lock,
     * in the lock's pipeline (they run after it, so under it): the facts
     * of authz_unit for account $1 (NULL: an anonymous actor) in the
     * suggestion $2's unit and in the unit it was escalated to, and what
     * a notice says about it (NOTIFY_FACTS_COLUMNS). No row: no such
     * suggestion. */
    [STMT_SUGGESTION_STEP_FACTS] = { "suggestion_step_facts",
        "WITH RECURSIVE g AS (SELECT unit_id, escalated_to FROM suggestions WHERE public_id = $2), "
        "up(id) AS (SELECT unit_id FROM g "
        "  UNION SELECT ou.parent_id FROM org_units ou JOIN up ON ou.id = up.id "
        "  WHERE ou.parent_id IS NOT NULL), "
        "upe(id) AS (SELECT escalated_to FROM g WHERE escalated_to IS NOT NULL "
        "  UNION SELECT ou.parent_id FROM org_units ou JOIN upe ON ou.id = upe.id "
        "  WHERE ou.parent_id IS NOT NULL) "
        "SELECT " AUTHZ_FACTS("$1::bigint", "(SELECT unit_id FROM g)", "up", "unit_") ", "
        AUTHZ_FACTS("$1::bigint", "(SELECT escalated_to FROM g)", "upe", "esc_") ", "
        NOTIFY_FACTS_COLUMNS "FROM " NOTIFY_FACTS_FROM "WHERE s.public_id = $2", 2, 1 },
    /* domain/workflow.c assign, in the lock's pipeline: may $2 be
     * assigned suggestion $1 (as assignable)? */
    [STMT_ASSIGNABLE_FOR] = { "assignable_for",
        "WITH RECURSIVE up(id) AS (SELECT unit_id FROM suggestions WHERE public_id = $1 "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN up ON up.id = m.unit_id "
        "WHERE m.account_id = $2::bigint AND m.role IN ('committee', 'secretary')) AS assignable", 2, 1 },
    /* domain/workflow.c message, in the lock's pipeline: message_counts
     * of suggestion $1 by its public id. */
    [STMT_MESSAGE_COUNTS_FOR] = { "message_counts_for",
        "SELECT count(*) AS total, count(*) FILTER (WHERE created_at > now() - interval '1 day' AND "
        "  CASE WHEN $2::bigint IS NULL THEN author_kind = 'submitter' AND author_id IS NULL "
        "  ELSE author_id = $2::bigint END) AS mine "
        "FROM messages WHERE suggestion_id = (SELECT id FROM suggestions WHERE public_id = $1)", 2, 1 },
    /* domain/workflow.c approve, in the lock's pipeline: the draft of
     * suggestion $1, and whether its drafter made account $2 within the
     * cooling-off period (account_made_by, set before it). */
    [STMT_ANSWER_FOR_APPROVAL] = { "answer_for_approval",
        "SELECT a.decision, a.drafted_by, a.approved_by, "
        "  account_made_by($2::bigint, a.drafted_by) AS made_by "
        "FROM answers a WHERE a.suggestion_id = (SELECT id FROM suggestions WHERE public_id = $1)",
        2, 1 },
    /* domain/workflow.c answer: suggestion $1 of unit $2 answered at once
     * when the draft of $3 needs no approval (unit_requires_approval's
     * rule, asked in the same pipeline); no row otherwise, or when the
     * step is not one of the workflow's (as suggestion_set_status). */
    [STMT_SUGGESTION_ANSWER_DIRECT] = { "suggestion_answer_direct",
        "UPDATE suggestions SET status = 'answered', answered_at = now() "
        "WHERE id = $1::bigint AND NOT coalesce(answer_needs_approval($2::bigint, $3::bigint), true) "
        "  AND EXISTS (SELECT 1 FROM suggestion_transitions t "
        "              WHERE t.from_status = suggestions.status AND t.to_status = 'answered') "
        "RETURNING status", 3, 1 },
    /* Transitions lock the row, so two of them serialise. */
    [STMT_SUGGESTION_LOCK] = { "suggestion_lock",
        "SELECT id, status, unit_id, author_id, assignee_id, reopened, escalated_to "
        "FROM suggestions WHERE public_id = $1 FOR UPDATE", 1, 1 },
    /* The trigger suggestions_transition refuses an edge the workflow
     * lacks; the stamps follow the new status. $4 is true only for the
     * author's one reopen, which the trigger requires for answered ->
     * accepted. */
    [STMT_SUGGESTION_SET_STATUS] = { "suggestion_set_status",
        "UPDATE suggestions SET status = $2, "
        "  reopened = reopened OR $4::boolean, "
        "  accepted_at = CASE WHEN $2 = 'accepted' THEN coalesce(accepted_at, now()) ELSE accepted_at END, "
        "  answered_at = CASE WHEN $2 = 'answered' THEN now() ELSE answered_at END, "
        "  merged_into = coalesce($3::bigint, merged_into) "
        "WHERE id = $1::bigint "
        /* The trigger's rule, asked first: a step the workflow does not
         * have (a second withdrawal through a tracking code) is no row
         * rather than an exception PostgreSQL would log with the id. The
         * trigger still holds for every other writer. */
        "  AND EXISTS (SELECT 1 FROM suggestion_transitions t "
        "              WHERE t.from_status = suggestions.status AND t.to_status = $2) "
        "  AND (NOT (suggestions.status = 'answered' AND $2 = 'accepted') "
        "       OR (NOT suggestions.reopened AND $4::boolean)) "
        "RETURNING status", 4, 1 },
    [STMT_SUGGESTION_SET_ASSIGNEE] = { "suggestion_set_assignee",
        "UPDATE suggestions SET assignee_id = $2::bigint WHERE id = $1::bigint", 2, 1 },
    /* domain/workflow.c: the messages of suggestion $1, and those written
     * in the last 24 hours by account $2 (NULL: by its anonymous
     * submitter), for MESSAGES_PER_SUGGESTION and MESSAGES_PER_DAY. */
    [STMT_MESSAGE_COUNTS] = { "message_counts",
        "SELECT count(*) AS total, count(*) FILTER (WHERE created_at > now() - interval '1 day' AND "
        "  CASE WHEN $2::bigint IS NULL THEN author_kind = 'submitter' AND author_id IS NULL "
        "  ELSE author_id = $2::bigint END) AS mine "
        "FROM messages WHERE suggestion_id = $1::bigint", 2, 1 },
    [STMT_MESSAGE_INSERT] = { "message_insert",
        "INSERT INTO messages (suggestion_id, author_kind, author_id, visibility, body, created_at) "
        "VALUES ($1::bigint, $2, $3::bigint, $4, $5, "
        /* an anonymous submitter's message keeps only its hour */
        "  CASE WHEN $2 = 'submitter' AND $3::bigint IS NULL THEN date_trunc('hour', now()) "
        "  ELSE now() END) RETURNING id, " TS("created_at") " AS created_at", 5, 1 },
    /* $2: whether internal messages are shown (committee) or not (author). */
    /* A suggestion's thread by its public id $1, for a reader: every
     * message (routes/suggestions.c leaves out the internal ones for whom
     * they are not), the answer, the ratings. By the public id, so that
     * they go in the same round trip as the suggestion itself. */
    [STMT_THREAD_MESSAGES] = { "thread_messages",
        "SELECT m.id, m.author_kind, a.display_name AS author_name, m.visibility, m.body, "
        TS("m.created_at") " AS created_at "
        "FROM messages m LEFT JOIN accounts a ON a.id = m.author_id "
        "WHERE m.suggestion_id = (SELECT id FROM suggestions WHERE public_id = $1) "
        "ORDER BY m.id", 1, 1 },
    [STMT_THREAD_ANSWER] = { "thread_answer",
        ANSWER_SELECT "WHERE a.suggestion_id = (SELECT id FROM suggestions WHERE public_id = $1)",
        1, 1 },
    [STMT_THREAD_RATINGS] = { "thread_ratings",
        RATINGS_SELECT "WHERE suggestion_id = (SELECT id FROM suggestions WHERE public_id = $1) "
        "ORDER BY round", 1, 1 },
    /* A new draft replaces the previous one and needs approval again. */
    [STMT_ANSWER_UPSERT] = { "answer_upsert",
        "INSERT INTO answers (suggestion_id, decision, reason, body, drafted_by) "
        "VALUES ($1::bigint, $2, $3, $4, $5::bigint) ON CONFLICT (suggestion_id) DO UPDATE SET "
        "decision = EXCLUDED.decision, reason = EXCLUDED.reason, body = EXCLUDED.body, "
        "drafted_by = EXCLUDED.drafted_by, drafted_at = now(), approved_by = NULL, approved_at = NULL", 5, 1 },
    [STMT_ANSWER_GET] = { "answer_get",
        ANSWER_SELECT "WHERE a.suggestion_id = $1::bigint", 1, 1 },
    [STMT_ANSWER_APPROVE] = { "answer_approve",
        "UPDATE answers SET approved_by = $2::bigint, approved_at = now() "
        "WHERE suggestion_id = $1::bigint AND approved_by IS NULL RETURNING drafted_by", 2, 1 },
    [STMT_RATING_INSERT] = { "rating_insert",
        "INSERT INTO ratings (suggestion_id, round, rating, rated_at) "
        "VALUES ($1::bigint, $2::smallint, $3, "
        "  CASE WHEN $4::boolean THEN date_trunc('hour', now()) ELSE now() END) "
        /* a second rating is no row, not an error in PostgreSQL's log */
        "ON CONFLICT DO NOTHING RETURNING round", 4, 1 },
    [STMT_RATINGS_OF] = { "ratings_of",
        RATINGS_SELECT "WHERE suggestion_id = $1::bigint ORDER BY round", 1, 1 },
    /* Shown to the unit by its author (sql/0027): the author's step and
     * the members' list (db/shown.c). */
    [STMT_SUGGESTION_SET_SHOWN] = { "suggestion_set_shown",
        "UPDATE suggestions SET shown_to_unit = $2::boolean, shown_with_name = $3::boolean "
        "WHERE id = $1::bigint", 3, 1 },
    [STMT_UNIT_SHOWN_SUGGESTIONS] = { "unit_shown_suggestions",
        "SELECT coalesce(json_agg(json_build_object('id', x.public_id, 'title', x.title, "
        "  'body', x.body, 'status', x.status, 'cosign_count', x.cosign_count, "
        "  'created_at', " TS("x.created_at") ", 'author_name', x.author_name) ORDER BY x.id DESC), "
        "  '[]')::text "
        "FROM (SELECT s.id, s.public_id, s.title, s.body, s.status, s.cosign_count, s.created_at, "
        "        CASE WHEN s.shown_with_name THEN a.display_name END AS author_name "
        "      FROM suggestions s LEFT JOIN accounts a ON a.id = s.author_id "
        "      WHERE s.unit_id = $1::bigint AND s.shown_to_unit "
        "        AND s.status NOT IN ('withdrawn', 'merged') "
        "      ORDER BY s.id DESC LIMIT 200) x", 1, 1 },
    [STMT_COSIGN_INSERT] = { "cosign_insert",
        "INSERT INTO cosigns (suggestion_id, account_id) VALUES ($1::bigint, $2::bigint)", 2, 1 },
    /* Merging: the source's co-signers, and its named author, co-sign the
     * target (except the target's own author). */
    [STMT_COSIGNS_MOVE] = { "cosigns_move",
        "INSERT INTO cosigns (suggestion_id, account_id) "
        "SELECT $2::bigint, x.account_id FROM ("
        "  SELECT account_id FROM cosigns WHERE suggestion_id = $1::bigint "
        "  UNION SELECT author_id FROM suggestions WHERE id = $1::bigint AND author_id IS NOT NULL) x "
        "WHERE x.account_id IS DISTINCT FROM (SELECT author_id FROM suggestions WHERE id = $2::bigint) "
        "ON CONFLICT DO NOTHING", 2, 1 },

    /* routes/suggestions.c list without a search text (see the macro) */
    /* The list without a search, for the session $1 ($2: its lifetime):
     * one round trip (SESSION_LIST). assignee=me and author=me have
     * statements of their own where the condition is not optional, so that
     * the plan walks that person's index newest first (a generic plan of
     * an optional one cannot: docs/performance.md). */
    [STMT_SUGGESTIONS_LIST] = { "suggestions_list",
        SESSION_LIST(ASSIGNEE_ANY_, AUTHOR_ANY_), 11, 1 },
    [STMT_SUGGESTIONS_LIST_ASSIGNED] = { "suggestions_list_assigned",
        SESSION_LIST(ASSIGNEE_ME_, AUTHOR_ANY_), 11, 1 },
    [STMT_SUGGESTIONS_LIST_AUTHORED] = { "suggestions_list_authored",
        SESSION_LIST(ASSIGNEE_ANY_, AUTHOR_ME_), 11, 1 },
    /* A search for the text $9 (never NULL) is made in two steps
     * (routes/suggestions.c, docs/performance.md "Search"). First the
     * newest rows below the cursor $3 (never NULL here), down to the id
     * $12, walking the primary key backwards: LIKE decides row by row, so
     * a common word fills the page after a few thousand rows. */
    [STMT_SUGGESTIONS_SEARCH_RECENT] = { "suggestions_search_recent",
        SUGGESTIONS_LIST("s.id >= $12::bigint AND s.id < $3::bigint AND " SEARCH_LIKE)
        "ORDER BY s.id DESC LIMIT $10::int", 12, 1 },
    /* The same rows for a caller who is not an admin, who sees a few units'
     * suggestions and their own: each way of seeing one (a unit managed or
     * sat on the committee of, by its unit or the unit it was escalated to;
     * written; assigned) walks its own index backwards from the cursor and
     * stops at the page's length, so a common word costs a few hundred rows
     * instead of the thousands of other units' rows between its matches
     * (docs/performance.md "Scale and free-text search"). $3 may be NULL
     * (the first page: from the newest row on); $12 is the window, in ids;
     * each row ends with the upper end of the window it was found in. */
    [STMT_SUGGESTIONS_SEARCH_SEEN] = { "suggestions_search_seen",
        LIST_CTES ", seen(id) AS (SELECT id FROM managed UNION SELECT id FROM committee), "
        "top(hi) AS (SELECT coalesce($3::bigint, "
        "  (SELECT coalesce(max(id), 0) + 1 FROM suggestions))), "
        "hits(id) AS ("
        "  SELECT x.id FROM seen, LATERAL " SEARCH_PATH("s.unit_id = seen.id") " x "
        "  UNION SELECT x.id FROM seen, LATERAL " SEARCH_PATH("s.escalated_to = seen.id") " x "
        "  UNION " SEARCH_PATH("s.author_id = $1::bigint")
        "  UNION " SEARCH_PATH("s.assignee_id = $1::bigint") ") "
        "SELECT " SUGGESTION_COLUMNS ", (SELECT hi FROM top) AS window_top " SUGGESTION_FROM
        "WHERE NOT $2::boolean AND s.id = ANY (ARRAY(SELECT id FROM hits)) "
        "ORDER BY s.id DESC LIMIT $10::int", 12, 1 },
    /* Then, when the page is not full, the older rows through the index:
     * the bigrams of the text (sql/0010, text_bigrams) narrow them, LIKE
     * decides. A rare word has few candidates. A statement of its own so
     * that its plan always has the search condition to use the index for. */
    [STMT_SUGGESTIONS_SEARCH] = { "suggestions_search",
        SUGGESTIONS_LIST("text_bigrams(s.title || ' ' || s.body) @> text_bigrams($9::text) AND "
                         SEARCH_LIKE)
        "ORDER BY s.id DESC LIMIT $10::int", 11, 1 },
    [STMT_SUGGESTIONS_MAX_ID] = { "suggestions_max_id",
        "SELECT coalesce(max(id), 0) AS max_id FROM suggestions", 0, 1 },
    [STMT_SUGGESTION_HISTORY] = { "suggestion_history",
        "SELECT action, " TS("at") " AS at, actor_kind, change::text FROM audit_log "
        "WHERE object_type = 'suggestion' AND object_id = $1 ORDER BY id", 1, 1 },
    /* Who may be assigned in a unit: its committee members and
     * secretaries, or those of a unit above it. */
    [STMT_ASSIGNABLE] = { "assignable",
        UNITS_UP("$1")
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN up ON up.id = m.unit_id "
        "WHERE m.account_id = $2::bigint AND m.role IN ('committee', 'secretary')) AS assignable", 2, 1 },

    /* domain/suggestions.c escalation job: one instance at a time. */
    [STMT_ESCALATION_LOCK] = { "escalation_lock",
        "SELECT pg_try_advisory_xact_lock(716236)", 0, 1 },
    [STMT_ESCALATE_DUE] = { "escalate_due",
        "UPDATE suggestions s SET escalated_to = u.parent_id, escalated_at = now(), "
        "escalation_reason = 'answer overdue by more than ' || s.grace_days || ' days' "
        "FROM org_units u WHERE u.id = s.unit_id AND u.parent_id IS NOT NULL "
        "AND s.escalated_to IS NULL AND s.status IN ('submitted', 'accepted') "
        "AND now() > s.answer_due + make_interval(days => s.grace_days) "
        "RETURNING s.id, s.public_id, s.escalated_to, s.escalation_reason", 0, 1 },
    /* routes/suggestions.c category edit: a NULL keeps the value. Due
     * dates of suggestions already submitted do not move. */
    [STMT_CATEGORY_GET] = { "category_get",
        "SELECT id, unit_id, name, portfolio, ack_days, answer_days, grace_days, " TS("retired_at")
        " AS retired_at FROM categories WHERE id = $1::bigint AND unit_id = $2::bigint", 2, 1 },
    [STMT_CATEGORY_UPDATE] = { "category_update",
        "UPDATE categories SET name = coalesce($2, name), portfolio = coalesce($3, portfolio), "
        "ack_days = coalesce($4::int, ack_days), answer_days = coalesce($5::int, answer_days), "
        "grace_days = coalesce($6::int, grace_days) WHERE id = $1::bigint "
        "RETURNING id, unit_id, name, portfolio, ack_days, answer_days, grace_days, "
        TS("retired_at") " AS retired_at", 6, 1 },
    /* routes/suggestions.c answer */
    /* Does a draft by $2 in unit $1 wait for an approval (sql/0020)? */
    [STMT_UNIT_REQUIRES_APPROVAL] = { "unit_requires_approval",
        "SELECT coalesce(answer_needs_approval($1::bigint, $2::bigint), true) AS needs_approval", 2, 1 },
    /* domain/workflow.c approve: did $2 (the drafter) make account $1
     * within the cooling-off period? */
    [STMT_ACCOUNT_MADE_BY] = { "account_made_by",
        "SELECT account_made_by($1::bigint, $2::bigint) AS made_by", 2, 1 },
    /* domain/workflow.c: the two-person rule's cooling-off, in seconds,
     * for the rest of the transaction. */
    [STMT_APPROVAL_COOLING_OFF_SET] = { "approval_cooling_off_set",
        "SELECT set_config('yijian.approval_cooling_off', $1, true)", 1, 1 },

    /* crypto/secrets.c: get-or-create of a sealed secret (the insert may
     * lose a race; the reader then takes the winner's row) */
    [STMT_SECRET_GET] = { "secret_get",
        "SELECT encode(nonce, 'hex') AS nonce, encode(ciphertext, 'hex') AS sealed "
        "FROM secrets WHERE name = $1", 1, 1 },
    [STMT_SECRET_INSERT] = { "secret_insert",
        "INSERT INTO secrets (name, nonce, ciphertext) VALUES ($1, decode($2, 'hex'), decode($3, 'hex')) "
        "ON CONFLICT (name) DO NOTHING", 3, 1 },
    /* routes/tokens.c issue: takes $3 tokens of account $1's quota $4 for
     * epoch $2 in one statement, so that concurrent requests never pass the
     * quota; no row returned = not enough left. */
    [STMT_TOKEN_ISSUE_COUNT] = { "token_issue_count",
        "INSERT INTO token_issuance AS t (account_id, key_id, unit_id, issued) "
        "SELECT $1::bigint, $2, $5::bigint, $3::int WHERE $3::int <= $4::int "
        "ON CONFLICT (account_id, key_id, unit_id) DO UPDATE SET issued = t.issued + EXCLUDED.issued "
        "WHERE t.issued + EXCLUDED.issued <= $4::int RETURNING issued", 5, 1 },
    /* routes/tokens.c issue: how many were taken, to say how many remain */
    [STMT_TOKEN_ISSUED] = { "token_issued",
        "SELECT coalesce((SELECT issued FROM token_issuance "
        "WHERE account_id = $1::bigint AND key_id = $2 AND unit_id = $3::bigint), 0) AS issued", 3, 1 },
    /* domain/token_keys.c (sql/0015): the times published for a key, kept
     * when it is first loaded for issuance or the list; $2..$4 Unix
     * seconds. */
    [STMT_TOKEN_KEY_REGISTER] = { "token_key_register",
        "INSERT INTO token_keys (key_id, not_before, not_after, redeem_until) "
        "VALUES ($1, to_timestamp($2::bigint), to_timestamp($3::bigint), to_timestamp($4::bigint)) "
        "ON CONFLICT DO NOTHING", 4, 1 },
    /* redemption: the key's epoch as published, in Unix seconds */
    [STMT_TOKEN_KEY_GET] = { "token_key_get",
        "SELECT extract(epoch FROM not_before)::bigint AS not_before, "
        "  extract(epoch FROM not_after)::bigint AS not_after, "
        "  extract(epoch FROM redeem_until)::bigint AS redeem_until "
        "FROM token_keys WHERE key_id = $1", 1, 1 },
    /* GET /v1/tokens/keys: keys whose tokens are redeemable at $1 (Unix
     * seconds), oldest first; the caller leaves out the current and next
     * epoch's (what remains: grace periods, epochs of an earlier
     * TOKEN_EPOCH) */
    [STMT_TOKEN_KEYS_IN_GRACE] = { "token_keys_in_grace",
        "SELECT key_id, extract(epoch FROM not_before)::bigint AS not_before, "
        "  extract(epoch FROM not_after)::bigint AS not_after, "
        "  extract(epoch FROM redeem_until)::bigint AS redeem_until FROM token_keys "
        "WHERE not_before <= to_timestamp($1::bigint) AND redeem_until > to_timestamp($1::bigint) "
        "ORDER BY not_before", 1, 1 },

    /* ---- the release window (sql/0019, domain/release.c) ---- */

    /* an anonymous act held until $2 (Unix seconds), sealed */
    [STMT_HELD_INSERT] = { "held_insert",
        "INSERT INTO held_acts (hold_id, release_at, lookup, nonce, sealed) "
        "VALUES (decode($1, 'hex'), to_timestamp($2::bigint), decode($3, 'hex'), "
        "  decode($4, 'hex'), decode($5, 'hex'))", 5, 1 },
    /* GET /v1/tracked and a retried submission: the acts a code holds */
    [STMT_HELD_BY_LOOKUP] = { "held_by_lookup",
        "SELECT extract(epoch FROM release_at)::bigint AS release_at, encode(nonce, 'hex') AS nonce, "
        "  encode(sealed, 'hex') AS sealed "
        "FROM held_acts WHERE lookup = decode($1, 'hex') ORDER BY release_at", 1, 1 },
    /* one releaser at a time, over every instance; a pass that does not
     * get the lock skips */
    [STMT_RELEASE_LOCK] = { "release_lock",
        "SELECT pg_try_advisory_xact_lock(716249)", 0, 1 },
    /* every act whose window has ended, taken out for the release (back
     * again if the release's transaction fails) */
    [STMT_HELD_DUE] = { "held_due",
        "DELETE FROM held_acts WHERE release_at <= now() "
        "RETURNING encode(nonce, 'hex') AS nonce, encode(sealed, 'hex') AS sealed", 0, 1 },

    /* ---- anonymous suggestions (sql/0006) ---- */

    /* domain/workflow.c workflow_unit_of, for an anonymous co-sign: the
     * unit whose key the token must be of (a suggestion never changes
     * unit). */
    [STMT_SUGGESTION_UNIT] = { "suggestion_unit",
        "SELECT unit_id FROM suggestions WHERE public_id = $1", 1, 1 },
    /* domain/redeem.c: the unique key makes a token good once, also when
     * requests race or run on several instances. */
    [STMT_TOKEN_SPEND] = { "token_spend",
        "INSERT INTO spent_tokens (token_hash) VALUES (decode($1, 'hex')) "
        /* a double spend is no row: nothing of it reaches PostgreSQL's log */
        "ON CONFLICT DO NOTHING RETURNING 1 AS spent", 1, 1 },
    [STMT_TRACKING_INSERT] = { "tracking_insert",
        "INSERT INTO tracking_codes (code_hash, suggestion_id) VALUES (decode($1, 'hex'), $2::bigint)",
        2, 1 },
    [STMT_TRACKING_LOOKUP] = { "tracking_lookup",
        "SELECT s.public_id FROM tracking_codes t JOIN suggestions s ON s.id = t.suggestion_id "
        "WHERE t.code_hash = decode($1, 'hex')", 1, 1 },
    [STMT_ANON_COSIGN_INSERT] = { "anon_cosign_insert",
        "INSERT INTO anonymous_cosigns (suggestion_id) VALUES ($1::bigint)", 1, 1 },
    /* domain/workflow.c: where a merged suggestion went, for a held
     * co-sign released after the merge */
    [STMT_MERGE_TARGET] = { "merge_target",
        "SELECT t.public_id FROM suggestions s JOIN suggestions t ON t.id = s.merged_into "
        "WHERE s.id = $1::bigint", 1, 1 },

    /* ---- the audit chain (sql/0005, docs/audit.md) ---- */

    /* domain/audit_chain.c: one sealer at a time, over every instance; a
     * pass that does not get the lock skips (writers never take it). */
    [STMT_AUDIT_SEAL_LOCK] = { "audit_seal_lock",
        "SELECT pg_try_advisory_xact_lock(716237)", 0, 1 },
    /* The last audit id handed out; read before the sealer takes its
     * transaction id (audit_seal_state), see "Rows that commit out of
     * order" in docs/audit.md. */
    [STMT_AUDIT_ID_LAST] = { "audit_id_last",
        "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('audit_log', 'id')::regclass), 0) "
        "AS last_id",
        0, 1 },
    /* The sealer's transaction id, the chain's head, the last checkpoint's
     * horizon and candidate, and whether every transaction older than the
     * candidate's has ended (the statement's snapshot is taken before the
     * transaction id is assigned). */
    [STMT_AUDIT_SEAL_STATE] = { "audit_seal_state",
        "SELECT pg_current_xact_id()::text AS xid, h.seq, encode(h.hash, 'hex') AS head, k.horizon, "
        "  k.next_horizon AS candidate, k.next_xid::text AS candidate_xid, "
        "  k.next_xid IS NULL OR k.next_xid <= pg_snapshot_xmin(pg_current_snapshot()) "
        "  AS candidate_final "
        "FROM (SELECT 1) one "
        "LEFT JOIN LATERAL (SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1) h ON true "
        "LEFT JOIN LATERAL (SELECT horizon, next_horizon, next_xid FROM audit_checkpoints "
        "  ORDER BY seq DESC LIMIT 1) k ON true", 0, 1 },
    /* Unsealed rows above the horizon $1, in id order, $2 at most. The
     * columns are those of AUDIT_ROW_COLUMNS (domain/audit_chain.c). The
     * links' side is bounded by the horizon too: without it the plan's
     * anti-join read the whole chain's index on every pass, a cost that
     * grew with the log (docs/performance.md, session 4). */
    [STMT_AUDIT_UNSEALED] = { "audit_unsealed",
        "SELECT " AUDIT_ROW_COLUMNS " FROM audit_log l WHERE l.id > $1::bigint "
        "AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = l.id "
        "  AND c.audit_id > $1::bigint) "
        "ORDER BY l.id LIMIT $2::int", 2, 1 },
    /* A batch of links: arrays of seq, audit id and hex hash, in order. */
    [STMT_AUDIT_CHAIN_APPEND] = { "audit_chain_append",
        "INSERT INTO audit_chain (seq, audit_id, hash) "
        "SELECT s, a, decode(h, 'hex') FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS t(s, a, h)",
        3, 1 },
    [STMT_AUDIT_CHECKPOINT_INSERT] = { "audit_checkpoint_insert",
        "INSERT INTO audit_checkpoints (seq, hash, horizon, next_horizon, next_xid, signature) "
        "VALUES ($1::bigint, decode($2, 'hex'), $3::bigint, $4::bigint, $5::xid8, decode($6, 'hex'))",
        6, 1 },

    /* domain/audit_verify.c: one snapshot for the whole recomputation;
     * must be the transaction's first statement. */
    [STMT_AUDIT_VERIFY_SNAPSHOT] = { "audit_verify_snapshot",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, 1 },
    /* Links after seq $1 with their rows (NULL columns when the row is
     * gone), $2 at most. */
    [STMT_AUDIT_VERIFY_CHAIN] = { "audit_verify_chain",
        "SELECT c.seq, c.audit_id, encode(c.hash, 'hex') AS hash, l.id IS NOT NULL AS present, "
        AUDIT_ROW_COLUMNS " "
        "FROM audit_chain c LEFT JOIN audit_log l ON l.id = c.audit_id "
        "WHERE c.seq > $1::bigint ORDER BY c.seq LIMIT $2::int", 2, 1 },
    /* Checkpoints after seq $1, with the chain's hash at their seq. */
    [STMT_AUDIT_VERIFY_CHECKPOINTS] = { "audit_verify_checkpoints",
        "SELECT k.seq, encode(k.hash, 'hex') AS hash, k.horizon, "
        "  encode(k.signature, 'hex') AS signature, encode(c.hash, 'hex') AS chain_hash "
        "FROM audit_checkpoints k LEFT JOIN audit_chain c ON c.seq = k.seq "
        "WHERE k.seq > $1::bigint ORDER BY k.seq LIMIT $2::int", 2, 1 },
    /* Unsealed rows at or below the horizon $1 (inserted after it was
     * final), $2 at most. */
    [STMT_AUDIT_VERIFY_UNSEALED] = { "audit_verify_unsealed",
        "SELECT l.id FROM audit_log l WHERE l.id <= $1::bigint "
        "AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = l.id) "
        "ORDER BY l.id LIMIT $2::int", 2, 1 },
    /* Unsealed rows at or below the horizon $1, and above it (pending). */
    [STMT_AUDIT_VERIFY_UNSEALED_COUNT] = { "audit_verify_unsealed_count",
        "SELECT count(*) FILTER (WHERE l.id <= $1::bigint) AS below, "
        "  count(*) FILTER (WHERE l.id > $1::bigint) AS pending "
        "FROM audit_log l WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = l.id)",
        1, 1 },

    /* routes/audit.c: entries about an object ($2 NULL: every object of
     * the type $1) or by an account, after the cursor id $3, oldest first. */
    [STMT_AUDIT_LIST_OBJECT] = { "audit_list_object",
        "SELECT " AUDIT_ROW_COLUMNS ", c.seq FROM audit_log l "
        "LEFT JOIN audit_chain c ON c.audit_id = l.id "
        "WHERE l.object_type = $1 AND ($2::text IS NULL OR l.object_id = $2) AND l.id > $3::bigint "
        "ORDER BY l.id LIMIT $4::int", 4, 1 },
    [STMT_AUDIT_LIST_ACTOR] = { "audit_list_actor",
        "SELECT " AUDIT_ROW_COLUMNS ", c.seq FROM audit_log l "
        "LEFT JOIN audit_chain c ON c.audit_id = l.id "
        "WHERE l.actor_id = $1::bigint AND l.id > $2::bigint "
        "ORDER BY l.id LIMIT $3::int", 3, 1 },
    /* routes/audit.c: the units whose managers may read a suggestion's
     * entries (its own, and the one it escalated to). */
    [STMT_AUDIT_SUGGESTION_UNITS] = { "audit_suggestion_units",
        "SELECT unit_id, escalated_to FROM suggestions WHERE public_id = $1", 1, 1 },
    /* ---- bulletins (sql/0007): domain/bulletins.c, routes/bulletins.c ---- */
    /* Serialises the bulletins of one unit (and locks it against removal). */
    [STMT_BULLETIN_UNIT_LOCK] = { "bulletin_unit_lock",
        "SELECT name FROM org_units WHERE id = $1::bigint FOR NO KEY UPDATE", 1, 1 },
    /* The unit's next seq, the end of its previous period, a new id, now. */
    [STMT_BULLETIN_NEXT] = { "bulletin_next",
        "SELECT coalesce(max(seq), 0) + 1 AS seq, " TS("max(period_to)") " AS previous_to, "
        "nextval('bulletins_id_seq') AS id, " TS("now()") " AS now "
        "FROM bulletins WHERE unit_id = $1::bigint", 1, 1 },
    /* What a bulletin of unit $1 publishes: its answered suggestions (not
     * its children's), oldest answer first, locked. The author's name only
     * with consent; never for an anonymous one (author_id is NULL). */
    [STMT_BULLETIN_ITEMS] = { "bulletin_items",
        "SELECT s.id, s.public_id, s.title, s.body, c.name AS category, a.decision, "
        "a.body AS answer_body, a.reason, " TS("s.created_at") " AS submitted_at, "
        TS("s.answered_at") " AS answered_at, s.cosign_count, "
        "CASE WHEN s.publish_name AND NOT s.anonymous THEN au.display_name END AS author "
        "FROM suggestions s JOIN categories c ON c.id = s.category_id "
        "JOIN answers a ON a.suggestion_id = s.id "
        "LEFT JOIN accounts au ON au.id = s.author_id "
        "WHERE s.unit_id = $1::bigint AND s.status = 'answered' "
        "ORDER BY s.answered_at, s.id FOR UPDATE OF s", 1, 1 },
    [STMT_SUGGESTION_PUBLISH] = { "suggestion_publish",
        "UPDATE suggestions SET status = 'published', published_at = now() WHERE id = $1::bigint",
        1, 1 },
    /* The latest signed audit checkpoint, if any. */
    [STMT_CHECKPOINT_LATEST] = { "checkpoint_latest",
        "SELECT seq, encode(hash, 'hex') AS hash, horizon, encode(signature, 'hex') AS signature "
        "FROM audit_checkpoints ORDER BY seq DESC LIMIT 1", 0, 1 },
    [STMT_BULLETIN_UNIT_OF] = { "bulletin_unit_of",
        "SELECT unit_id FROM bulletins WHERE id = $1::bigint", 1, 1 },
    [STMT_BULLETIN_INSERT] = { "bulletin_insert",
        "INSERT INTO bulletins (id, unit_id, seq, corrects, period_from, period_to, content, "
        "signature, checkpoint_seq, checkpoint_hash, slot) VALUES ($1::bigint, $2::bigint, $3::int, "
        "$4::bigint, $5::timestamptz, $6::timestamptz, $7::jsonb, decode($8, 'hex'), $9::bigint, "
        "decode($10, 'hex'), to_timestamp($11::bigint))", 11, 1 },
    /* routes/bulletins.c: one bulletin, as stored. */
    [STMT_BULLETIN_GET] = { "bulletin_get",
        "SELECT content::text, encode(signature, 'hex') AS signature FROM bulletins "
        "WHERE id = $1::bigint", 1, 1 },
    /* routes/bulletins.c: newest first, of unit $1 (NULL: all), below the
     * cursor id $2 (NULL: from the newest), $3 at most. */
    [STMT_BULLETINS_LIST] = { "bulletins_list",
        "SELECT b.id, b.unit_id, u.name AS unit_name, b.seq, b.corrects, "
        TS("b.period_from") " AS period_from, " TS("b.period_to") " AS period_to, "
        TS("b.created_at") " AS created_at, "
        "jsonb_array_length(b.content -> 'items') AS item_count "
        "FROM bulletins b JOIN org_units u ON u.id = b.unit_id "
        "WHERE ($1::bigint IS NULL OR b.unit_id = $1::bigint) AND ($2::bigint IS NULL OR b.id < $2::bigint) "
        "ORDER BY b.id DESC LIMIT $3::int", 3, 1 },
    /* ---- bulletin schedules (sql/0008): domain/bulletin_schedule.c ---- */
    /* Whether unit $1 has a bulletin of slot $2 (Unix seconds) or later. */
    [STMT_BULLETIN_SLOT_DONE] = { "bulletin_slot_done",
        "SELECT EXISTS (SELECT 1 FROM bulletins WHERE unit_id = $1::bigint "
        "AND slot >= to_timestamp($2::bigint)) AS done", 2, 1 },
    /* The scheduler pass: one instance at a time, held across the pass's
     * transactions (one per unit) on the jobs thread's connection. */
    [STMT_BULLETIN_SCHEDULER_LOCK] = { "bulletin_scheduler_lock",
        "SELECT pg_try_advisory_lock(716238)", 0, 1 },
    [STMT_BULLETIN_SCHEDULER_UNLOCK] = { "bulletin_scheduler_unlock",
        "SELECT pg_advisory_unlock(716238)", 0, 1 },
    /* Unit $1's schedule (NULL: every unit's), as UNIT_SCHEDULE_FIELDS
     * reads it: id, frequency, day, hour (NULL frequency: the default),
     * since when it applies and the newest slot made, in Unix seconds. */
    [STMT_BULLETIN_SCHEDULES] = { "bulletin_schedules",
        "SELECT u.id, s.frequency, s.day, s.hour, "
        "floor(extract(epoch FROM coalesce(s.updated_at, u.created_at)))::bigint AS since, "
        "(SELECT floor(extract(epoch FROM max(b.slot)))::bigint FROM bulletins b "
        " WHERE b.unit_id = u.id) AS last_slot "
        "FROM org_units u LEFT JOIN bulletin_schedules s ON s.unit_id = u.id "
        "WHERE $1::bigint IS NULL OR u.id = $1::bigint ORDER BY u.id", 1, 1 },
    /* routes/unit_schedule.c: sets unit $1's own schedule; it applies from now. */
    [STMT_BULLETIN_SCHEDULE_SET] = { "bulletin_schedule_set",
        "INSERT INTO bulletin_schedules (unit_id, frequency, day, hour) "
        "VALUES ($1::bigint, $2, $3::smallint, $4::smallint) "
        "ON CONFLICT (unit_id) DO UPDATE SET frequency = EXCLUDED.frequency, "
        "day = EXCLUDED.day, hour = EXCLUDED.hour, updated_at = now()", 4, 1 },
    /* routes/stats.c: every unit of the subtree of $1's parent ($1's own
     * when it has none), one row each with its depth and the figures of
     * its own suggestions (not rolled up) received on days $2 .. $3
     * (Asia/Shanghai, +08:00; NULL: unbounded), merged ones not counted.
     * One pass over the subtree (issue 22): the C side rolls them up and
     * decides what to withhold.
     * routes/stats.c reads the columns by name. */
    [STMT_STATS] = { "stats",
        "WITH RECURSIVE sub(id, parent_id, depth) AS ("
        "  SELECT u.id, u.parent_id, 0 FROM org_units u "
        "  WHERE u.id = coalesce((SELECT parent_id FROM org_units WHERE id = $1::bigint), $1::bigint) "
        /* A lateral subquery: each step looks the children up by the
         * index (a join let the planner scan the table at every level). */
        "  UNION ALL SELECT c.id, c.parent_id, sub.depth + 1 FROM sub CROSS JOIN LATERAL "
        "  (SELECT u.id, u.parent_id FROM org_units u WHERE u.parent_id = sub.id OFFSET 0) c) "
        "SELECT sub.id AS unit_id, coalesce(sub.parent_id, 0) AS parent_id, sub.depth, un.name, "
        "  count(s.id) AS received, count(s.answered_at) AS answered, "
        "  count(s.id) FILTER (WHERE (s.status = 'submitted' AND now() > s.ack_due) OR "
        "    (s.status IN ('submitted', 'accepted') AND now() > s.answer_due)) AS overdue, "
        "  count(a.decision) FILTER (WHERE a.decision = 'adopted') AS adopted, "
        "  count(a.decision) FILTER (WHERE a.decision = 'partly_adopted') AS partly_adopted, "
        "  count(a.decision) FILTER (WHERE a.decision = 'not_adopted') AS not_adopted, "
        "  count(a.decision) FILTER (WHERE a.decision = 'noted') AS noted, "
        "  count(lr.rating) AS rated, "
        "  count(lr.rating) FILTER (WHERE lr.rating IN ('satisfied', 'basically_satisfied')) AS satisfied "
        "FROM sub JOIN org_units un ON un.id = sub.id "
        "LEFT JOIN suggestions s ON s.unit_id = sub.id AND s.status <> 'merged' "
        "  AND ($2::date IS NULL OR s.created_at >= ($2::date - interval '8 hours') AT TIME ZONE 'UTC') "
        "  AND ($3::date IS NULL OR s.created_at < ($3::date + 1 - interval '8 hours') AT TIME ZONE 'UTC') "
        "LEFT JOIN answers a ON a.suggestion_id = s.id AND s.answered_at IS NOT NULL "
        "LEFT JOIN LATERAL (SELECT r.rating FROM ratings r WHERE r.suggestion_id = s.id "
        "  ORDER BY r.round DESC LIMIT 1) lr ON true "
        "GROUP BY sub.id, sub.parent_id, sub.depth, un.name", 3, 1 },
    /* routes/stats.c: the median days to answer over the subtree of unit
     * $1 (the row whose first column is 1) and over the subtree of each
     * unit directly below it (0, that unit), in one pass: each unit below
     * carries the child of $1 it descends from. */
    [STMT_STATS_MEDIANS] = { "stats_medians",
        "WITH RECURSIVE sub(id, top) AS (SELECT $1::bigint, NULL::bigint "
        "  UNION ALL SELECT c.id, coalesce(sub.top, c.id) FROM sub CROSS JOIN LATERAL "
        "  (SELECT u.id FROM org_units u WHERE u.parent_id = sub.id OFFSET 0) c) "
        "SELECT GROUPING(sub.top) AS total, coalesce(sub.top, 0) AS top, "
        "  round((percentile_cont(0.5) WITHIN GROUP (ORDER BY "
        "    extract(epoch FROM s.answered_at - s.created_at) / 86400.0))::numeric, 1) AS median "
        "FROM sub JOIN suggestions s ON s.unit_id = sub.id AND s.status <> 'merged' "
        "  AND s.answered_at IS NOT NULL "
        "  AND ($2::date IS NULL OR s.created_at >= ($2::date - interval '8 hours') AT TIME ZONE 'UTC') "
        "  AND ($3::date IS NULL OR s.created_at < ($3::date + 1 - interval '8 hours') AT TIME ZONE 'UTC') "
        "GROUP BY GROUPING SETS ((sub.top), ())", 3, 1 },

    /* routes/ledger.c: the ledger (台账) of unit $1 and the units below it:
     * suggestions received from day $2 to day $3 (Asia/Shanghai), oldest
     * first, at most $4; times in Asia/Shanghai to the minute. An
     * anonymous one has no author here as anywhere (its times are the
     * hours stored). The answer once it is out; the latest rating; the
     * workflow's steps from the audit trail, one a line. */
    [STMT_LEDGER] = { "ledger",
        "WITH RECURSIVE sub(id) AS (SELECT $1::bigint UNION "
        "  SELECT u.id FROM org_units u JOIN sub ON u.parent_id = sub.id) "
        "SELECT s.public_id, " BJ("s.created_at") " AS created_at, u.name AS unit_name, "
        "  c.name AS category_name, s.anonymous, "
        "  CASE WHEN s.anonymous THEN NULL ELSE au.display_name END AS author_name, s.title, "
        "  s.body, asg.display_name AS handler_name, s.status, a.decision, "
        "  a.body AS answer, " BJ("s.answered_at") " AS answered_at, "
        "  (SELECT r.rating FROM ratings r WHERE r.suggestion_id = s.id "
        "   ORDER BY r.round DESC LIMIT 1) AS rating, "
        "  (SELECT string_agg(" BJ("l.at") " || ' ' || l.action, E'\\n' ORDER BY l.id) "
        "   FROM audit_log l WHERE l.object_type = 'suggestion' AND l.object_id = s.public_id "
        "   AND l.action IN ('suggestion.submit', 'suggestion.assign', 'suggestion.accept', "
        "     'suggestion.answer', 'suggestion.publish', 'suggestion.rate', 'suggestion.reopen', "
        "     'suggestion.withdraw', 'suggestion.merge', 'suggestion.escalate')) AS steps, "
        "  " BJ("s.answer_due") " AS answer_due, "
        "  s.answered_at IS NOT NULL AND s.answered_at <= s.answer_due AS on_time "
        "FROM suggestions s JOIN sub ON sub.id = s.unit_id JOIN org_units u ON u.id = s.unit_id "
        "JOIN categories c ON c.id = s.category_id "
        "LEFT JOIN accounts au ON au.id = s.author_id "
        "LEFT JOIN accounts asg ON asg.id = s.assignee_id "
        "LEFT JOIN answers a ON a.suggestion_id = s.id AND s.answered_at IS NOT NULL "
        "WHERE s.created_at >= ($2::date - interval '8 hours') AT TIME ZONE 'UTC' "
        "  AND s.created_at < ($3::date + 1 - interval '8 hours') AT TIME ZONE 'UTC' "
        "ORDER BY s.created_at, s.id LIMIT $4::int", 4, 1 },

    /* ---- notifications (sql/0008): domain/notify.c, domain/notify_worker.c,
     * routes/notifications.c ---- */
    /* What a notice says about suggestion $1; the due time in the
     * organisation's zone (Asia/Shanghai), minutes only. */
    [STMT_NOTIFY_FACTS] = { "notify_facts",
        "SELECT " NOTIFY_FACTS_COLUMNS " FROM " NOTIFY_FACTS_FROM "WHERE s.id = $1::bigint", 1, 1 },
    /* The secretaries of the nearest unit at or above $1 that has one
     * other than $2 (the drafter): those who may approve the answer. */
    [STMT_NOTIFY_APPROVERS] = { "notify_approvers",
        UNITS_UP("$1")
        "SELECT m.account_id FROM memberships m JOIN up ON up.id = m.unit_id "
        "WHERE m.role = 'secretary' AND m.account_id <> $2::bigint "
        "AND NOT account_made_by(m.account_id, $2::bigint) "
        "AND up.depth = (SELECT min(up2.depth) FROM up up2 JOIN memberships m2 ON m2.unit_id = up2.id "
        "  WHERE m2.role = 'secretary' AND m2.account_id <> $2::bigint "
        "  AND NOT account_made_by(m2.account_id, $2::bigint)) "
        "ORDER BY m.account_id", 2, 1 },
    /* The committee and the secretaries of unit $1 ($2 unused: the
     * caller leaves out whom it must). */
    [STMT_NOTIFY_UNIT_STAFF] = { "notify_unit_staff",
        "SELECT DISTINCT account_id FROM memberships WHERE unit_id = $1::bigint "
        "AND role IN ('committee', 'secretary') AND account_id <> $2::bigint "
        "ORDER BY account_id", 2, 1 },
    /* One inbox row per account in the array $1. $7: caused by an
     * anonymous submitter, so kept to the start of its $8-second window
     * and shown from the window's end. */
    [STMT_NOTIFY_INBOX_INSERT] = { "notify_inbox_insert",
        "INSERT INTO notifications (account_id, event, suggestion_id, subject, body, link, "
        "  created_at, visible_from) "
        "SELECT a, $2, $3::bigint, $4, $5, $6, w.c, CASE WHEN $7::boolean THEN w.c + make_interval(secs => $8::int) ELSE w.c END "
        "FROM unnest($1::bigint[]) a, (SELECT CASE WHEN $7::boolean "
        "  THEN to_timestamp(floor(extract(epoch FROM now()) / $8::int) * $8::int) ELSE now() END AS c) w",
        8, 1 },
    /* One outbox row per webhook of unit $1, with the payload $4 and its
     * time (windowed as above). */
    [STMT_NOTIFY_OUTBOX_INSERT] = { "notify_outbox_insert",
        OUTBOX_INSERT("h.unit_id = $1::bigint AND h.kind IN ('json', 'wecom', 'dingtalk')"), 6, 1 },
    /* The same for the webhooks of the accounts in the array $1: each
     * hears what reaches its account's inbox. */
    [STMT_NOTIFY_OUTBOX_INSERT_ACCOUNTS] = { "notify_outbox_insert_accounts",
        OUTBOX_INSERT("h.account_id = ANY($1::bigint[])"), 6, 1 },
    /* The same for each account in the array $1 that has a user id in a
     * messenger whose application ('wecom_app', 'dingtalk_app') the
     * nearest unit at or above $7 has (one row per account and kind, to
     * the nearest such application). */
    [STMT_NOTIFY_OUTBOX_INSERT_MESSENGER] = { "notify_outbox_insert_messenger",
        UNITS_UP("$7")
        ", w AS (SELECT CASE WHEN $5::boolean "
        "  THEN to_timestamp(floor(extract(epoch FROM now()) / $6::int) * $6::int) ELSE now() END AS c), "
        "apps AS (SELECT DISTINCT ON (h.kind) h.id, h.kind FROM webhooks h JOIN up ON up.id = h.unit_id "
        "  WHERE h.kind IN ('wecom_app', 'dingtalk_app') ORDER BY h.kind, up.depth, h.id) "
        "INSERT INTO notification_outbox (webhook_id, recipient_id, event, suggestion_id, payload, "
        "  created_at, next_attempt_at) "
        "SELECT apps.id, a.id, $2, $3::bigint, $4::jsonb || jsonb_build_object('created_at', " TS("w.c") "), "
        "  w.c, CASE WHEN $5::boolean THEN w.c + make_interval(secs => $6::int) ELSE w.c END "
        "FROM accounts a, apps, w WHERE a.id = ANY($1::bigint[]) "
        "AND ((apps.kind = 'wecom_app' AND a.wecom_user_id IS NOT NULL) "
        "  OR (apps.kind = 'dingtalk_app' AND a.dingtalk_user_id IS NOT NULL)) "
        "ORDER BY a.id, apps.id", 7, 1 },
    /* The reminders that are due and not yet sent to the current
     * assignee, marked as sent (once per assignment: sql/0018). */
    /* (At most 1000 a pass, among those not yet told: a backlog of old
     * overdue ones never hides a new one.) */
    [STMT_NOTIFY_DEADLINES_MARK] = { "notify_deadlines_mark",
        "INSERT INTO notification_marks (suggestion_id, kind, assignee_id) "
        "SELECT x.id, x.kind, x.assignee_id FROM (SELECT s.id, s.assignee_id, "
        "  CASE WHEN now() > s.answer_due THEN 'overdue' ELSE 'due_soon' END AS kind "
        "  FROM suggestions s WHERE s.status IN ('submitted', 'accepted') AND s.assignee_id IS NOT NULL "
        "  AND now() > s.answer_due - make_interval(hours => $1::int)) x "
        "WHERE NOT EXISTS (SELECT 1 FROM notification_marks m WHERE m.suggestion_id = x.id "
        "  AND m.kind = x.kind AND m.assignee_id = x.assignee_id) "
        "ORDER BY x.id LIMIT 1000 "
        "ON CONFLICT DO NOTHING RETURNING suggestion_id, kind", 1, 1 },
    /* The caller's inbox, newest first, below the cursor $2, only unread
     * when $3; $4 at most. */
    [STMT_NOTIFICATIONS_LIST] = { "notifications_list",
        "SELECT n.id, n.event, s.public_id, n.subject, n.body, n.link, "
        TS("n.created_at") " AS created_at, " TS("n.read_at") " AS read_at "
        "FROM notifications n JOIN suggestions s ON s.id = n.suggestion_id "
        "WHERE n.account_id = $1::bigint AND n.visible_from <= now() "
        "AND ($2::bigint IS NULL OR n.id < $2::bigint) AND (NOT $3::boolean OR n.read_at IS NULL) "
        "ORDER BY n.id DESC LIMIT $4::int", 4, 1 },
    [STMT_NOTIFICATION_READ] = { "notification_read",
        "UPDATE notifications SET read_at = coalesce(read_at, now()) "
        "WHERE id = $2::bigint AND account_id = $1::bigint AND visible_from <= now() "
        "RETURNING " TS("read_at"), 2, 1 },
    [STMT_NOTIFICATIONS_READ_ALL] = { "notifications_read_all",
        "UPDATE notifications SET read_at = now() WHERE account_id = $1::bigint "
        "AND read_at IS NULL AND visible_from <= now()", 1, 1 },
    /* routes/notifications.c: the id comes first, because the sealed URL
     * and secret are bound to it. */
    [STMT_WEBHOOK_NEXT_ID] = { "webhook_next_id",
        "SELECT nextval(pg_get_serial_sequence('webhooks', 'id')) AS id", 0, 1 },
    /* A webhook's owner is unit $2 or account $9 (the other NULL); so in
     * the statements below, where the owner is $1 or the last parameter. */
    [STMT_WEBHOOK_INSERT] = { "webhook_insert",
        "INSERT INTO webhooks (id, unit_id, account_id, kind, url_hint, has_secret, nonce, sealed, "
        "  created_by) "
        "VALUES ($1::bigint, $2::bigint, $9::bigint, $3, $4, $5::boolean, decode($6, 'hex'), "
        "decode($7, 'hex'), $8::bigint) RETURNING " WEBHOOK_COLUMNS, 9, 1 },
    [STMT_WEBHOOKS_OF_OWNER] = { "webhooks_of_owner",
        "SELECT " WEBHOOK_COLUMNS " FROM webhooks "
        "WHERE unit_id = $1::bigint OR account_id = $2::bigint ORDER BY id", 2, 1 },
    [STMT_WEBHOOK_DELETE] = { "webhook_delete",
        "DELETE FROM webhooks WHERE id = $2::bigint "
        "AND (unit_id = $1::bigint OR account_id = $3::bigint) "
        "RETURNING " WEBHOOK_COLUMNS, 3, 1 },
    /* domain/notify_worker.c: takes the next due row that no worker holds
     * (SKIP LOCKED: instances never wait for each other, and never take
     * the same row), leases it for $1 seconds and counts the attempt. */
    [STMT_OUTBOX_CLAIM] = { "outbox_claim",
        "UPDATE notification_outbox o SET lease_until = now() + make_interval(secs => $1::int), "
        "  attempts = o.attempts + 1 "
        "FROM webhooks h WHERE h.id = o.webhook_id AND o.id = ("
        "  SELECT id FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= now() "
        "  AND (lease_until IS NULL OR lease_until < now()) "
        "  ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING o.id AS outbox_id, o.attempts AS attempt, o.event, o.payload::text AS payload, "
        "  h.id AS webhook_id, h.kind, encode(h.nonce, 'hex') AS nonce, "
        "  encode(h.sealed, 'hex') AS sealed, h.account_id IS NOT NULL AS of_account, "
        "  (SELECT CASE h.kind WHEN 'wecom_app' THEN r.wecom_user_id "
        "     WHEN 'dingtalk_app' THEN r.dingtalk_user_id END "
        "   FROM accounts r WHERE r.id = o.recipient_id) AS user_id", 1, 1 },
    [STMT_OUTBOX_ATTEMPT_INSERT] = { "outbox_attempt_insert",
        "INSERT INTO notification_attempts (outbox_id, attempt, http_status, error, duration_ms) "
        "VALUES ($1::bigint, $2::int, $3::int, $4, $5::int)", 5, 1 },
    [STMT_OUTBOX_DELIVERED] = { "outbox_delivered",
        "UPDATE notification_outbox SET status = 'delivered', delivered_at = now(), "
        "lease_until = NULL, last_error = NULL WHERE id = $1::bigint", 1, 1 },
    /* A failed attempt: dead after $3 attempts, else due again in
     * min($4 * 2^(attempts-1), $5) milliseconds. Returns the status. */
    [STMT_OUTBOX_FAILED] = { "outbox_failed",
        "UPDATE notification_outbox SET lease_until = NULL, last_error = $2, "
        "status = CASE WHEN attempts - attempts_before >= $3::int THEN 'dead' ELSE 'pending' END, "
        "next_attempt_at = now() + make_interval(secs => least($5::double precision, "
        "  $4::double precision * power(2, least(attempts - attempts_before - 1, 40))) / 1000.0) "
        "WHERE id = $1::bigint RETURNING status, (SELECT unit_id FROM webhooks WHERE id = webhook_id) AS unit_id",
        5, 1 },
    /* routes/notifications.c: the deliveries to unit $1's webhooks, of
     * status $2 (NULL: any), below the cursor $3, $4 at most, each with its
     * attempts. */
    [STMT_OUTBOX_LIST] = { "outbox_list",
        "SELECT o.id, o.webhook_id, h.kind, o.event, s.public_id, o.status, o.attempts, "
        TS("o.created_at") " AS created_at, " TS("o.next_attempt_at") " AS next_attempt_at, "
        TS("o.delivered_at") " AS delivered_at, o.last_error, "
        "  coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', " TS("a.at") ", "
        "    'http_status', a.http_status, 'error', a.error, 'duration_ms', a.duration_ms) "
        "    ORDER BY a.attempt) FROM notification_attempts a WHERE a.outbox_id = o.id), '[]')::text "
        "  AS attempt_log "
        "FROM notification_outbox o JOIN webhooks h ON h.id = o.webhook_id "
        "LEFT JOIN suggestions s ON s.id = o.suggestion_id "
        "WHERE (h.unit_id = $1::bigint OR h.account_id = $5::bigint) "
        "AND ($2::text IS NULL OR o.status = $2) "
        "AND ($3::bigint IS NULL OR o.id < $3::bigint) ORDER BY o.id DESC LIMIT $4::int", 5, 1 },
    /* A dead delivery made pending again, due now, with the full number
     * of attempts again (its log keeps the earlier ones, numbered on). */
    [STMT_OUTBOX_RETRY] = { "outbox_retry",
        "UPDATE notification_outbox o SET status = 'pending', next_attempt_at = now(), "
        "lease_until = NULL, attempts_before = o.attempts FROM webhooks h "
        "WHERE h.id = o.webhook_id AND (h.unit_id = $1::bigint OR h.account_id = $3::bigint) "
        "AND o.id = $2::bigint AND o.status = 'dead' RETURNING o.attempts", 3, 1 },
    /* domain/notify.c: a test message to webhook $2 of unit $1
     * (sql/0021), due now, about no suggestion: the payload $3 gets its
     * time and the text $4 with the unit's name in place of its %s (the
     * template is the service's own words). Returns the delivery's id;
     * nothing when the unit has no such webhook. */
    [STMT_OUTBOX_TEST_INSERT] = { "outbox_test_insert",
        "INSERT INTO notification_outbox (webhook_id, recipient_id, event, suggestion_id, payload, "
        "  created_at, next_attempt_at) "
        "SELECT h.id, CASE WHEN h.kind IN ('wecom_app', 'dingtalk_app') THEN $5::bigint END, 'test', "
        "  NULL, $3::jsonb || jsonb_build_object('created_at', " TS("now()") ", "
        "  'text', format(CASE WHEN h.kind IN ('wecom_app', 'dingtalk_app') THEN $6 ELSE $4 END, u.name), "
        "  'unit', jsonb_build_object('id', u.id, 'name', u.name)), "
        "  now(), now() FROM webhooks h JOIN org_units u ON u.id = h.unit_id "
        "WHERE h.id = $2::bigint AND h.unit_id = $1::bigint RETURNING id", 6, 1 },
    /* routes/notifications.c: the caller's own user ids in the work
     * messengers (sql/0029); set replaces both. */
    [STMT_MESSENGER_IDS_GET] = { "messenger_ids_get",
        "SELECT wecom_user_id, dingtalk_user_id FROM accounts WHERE id = $1::bigint", 1, 1 },
    [STMT_MESSENGER_IDS_SET] = { "messenger_ids_set",
        "UPDATE accounts SET wecom_user_id = $2, dingtalk_user_id = $3 WHERE id = $1::bigint "
        "RETURNING wecom_user_id, dingtalk_user_id", 3, 1 },
    [STMT_OUTBOX_STATUS] = { "outbox_status",
        "SELECT o.status FROM notification_outbox o JOIN webhooks h ON h.id = o.webhook_id "
        "WHERE (h.unit_id = $1::bigint OR h.account_id = $3::bigint) AND o.id = $2::bigint", 3, 1 },

    /* ---- consultations (db/consultations.c) ---- */
    [STMT_CONSULTATION_INSERT] = { "consultation_insert",
        "INSERT INTO consultations (unit_id, created_by, kind, title, body, include_subunits, "
        "answer_mode, opens_at, closes_at) VALUES ($1::bigint, $2::bigint, $3, $4, $5, "
        "$6::boolean, $7, $8::timestamptz, $9::timestamptz) RETURNING id", 9, 1 },
    /* A draft's fields; NULL keeps one. */
    [STMT_CONSULTATION_UPDATE] = { "consultation_update",
        "UPDATE consultations SET kind = coalesce($2, kind), title = coalesce($3, title), "
        "body = coalesce($4, body), include_subunits = coalesce($5::boolean, include_subunits), "
        "answer_mode = coalesce($6, answer_mode), opens_at = coalesce($7::timestamptz, opens_at), "
        "closes_at = coalesce($8::timestamptz, closes_at) WHERE id = $1::bigint", 8, 1 },
    [STMT_CONSULTATION_QUESTIONS_CLEAR] = { "consultation_questions_clear",
        "DELETE FROM consultation_questions WHERE consultation_id = $1::bigint", 1, 1 },
    /* $2: a JSON array of {kind, prompt, choices?}, numbered in order. */
    [STMT_CONSULTATION_QUESTIONS_INSERT] = { "consultation_questions_insert",
        "INSERT INTO consultation_questions (consultation_id, position, kind, prompt, choices) "
        "SELECT $1::bigint, x.n, x.q->>'kind', x.q->>'prompt', "
        "  CASE WHEN jsonb_typeof(x.q->'choices') = 'array' THEN x.q->'choices' END "
        "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(q, n)", 2, 1 },
    /* One consultation ($1) as account $2 sees it: its questions (an
     * opinions question with the committee members it asks about: the
     * unit's committee now while a draft, those fixed at opening after),
     * whether $2 is asked, the counts, and $2's named answer. */
    [STMT_CONSULTATION_GET] = { "consultation_get",
        "SELECT k.id, k.unit_id, u.name, k.kind, k.title, k.body, k.include_subunits, "
        "k.answer_mode, " TS("k.opens_at") ", " TS("k.closes_at") ", k.status, k.created_by, "
        TS("k.created_at") ", " TS("k.opened_at") ", " TS("k.closed_at") ", "
        "(SELECT coalesce(jsonb_agg(jsonb_build_object('position', q.position, 'kind', q.kind, "
        "  'prompt', q.prompt) "
        "  || CASE WHEN q.choices IS NOT NULL THEN jsonb_build_object('choices', q.choices) "
        "     ELSE '{}'::jsonb END "
        "  || CASE WHEN q.kind = 'member_opinions' THEN jsonb_build_object('subjects', "
        "     (SELECT coalesce(jsonb_agg(jsonb_build_object('account_id', a.id, "
        "        'display_name', a.display_name) ORDER BY a.id), '[]'::jsonb) FROM accounts a "
        "      WHERE (k.status = 'draft' AND a.id IN (SELECT m.account_id FROM memberships m "
        "        WHERE m.unit_id = k.unit_id AND m.role IN ('committee', 'secretary'))) "
        "      OR (k.status <> 'draft' AND a.id IN (SELECT s.account_id FROM consultation_subjects s "
        "        WHERE s.consultation_id = k.id)))) ELSE '{}'::jsonb END "
        "  ORDER BY q.position), '[]'::jsonb) FROM consultation_questions q "
        "  WHERE q.consultation_id = k.id)::text, "
        "EXISTS (SELECT 1 FROM consultation_audience(k.id) au WHERE au.account_id = $2::bigint), "
        "(SELECT count(*) FROM consultation_answers a WHERE a.consultation_id = k.id AND NOT a.anonymous), "
        "(SELECT count(*) FROM consultation_answers a WHERE a.consultation_id = k.id AND a.anonymous), "
        "(SELECT count(*) FROM consultation_audience(k.id)), "
        "(SELECT a.answers::text FROM consultation_answers a WHERE a.consultation_id = k.id "
        "  AND a.account_id = $2::bigint), "
        "(SELECT " TS("a.updated_at") " FROM consultation_answers a WHERE a.consultation_id = k.id "
        "  AND a.account_id = $2::bigint), "
        "now() >= k.opens_at AS started, now() >= k.closes_at AS ended, "
        TS("k.release_until") " AS release_until, "
        /* settled: closed, and every anonymous answer that arrived before
         * the close released (none held for a window ending by then) */
        "(k.status = 'closed' AND now() >= k.release_until AND NOT EXISTS (SELECT 1 FROM held_acts h "
        "  WHERE h.release_at <= k.release_until)) AS settled, "
        "EXISTS (SELECT 1 FROM consultation_tokens t WHERE t.consultation_id = k.id "
        "  AND t.account_id = $2::bigint) AS token_taken "
        "FROM consultations k JOIN org_units u ON u.id = k.unit_id WHERE k.id = $1::bigint", 2, 1 },
    /* The lifecycle's steps: the state, row locked. */
    [STMT_CONSULTATION_LOCK] = { "consultation_lock",
        "SELECT unit_id, status, answer_mode, now() >= opens_at, now() >= closes_at "
        "FROM consultations WHERE id = $1::bigint FOR UPDATE", 1, 1 },
    [STMT_CONSULTATION_OPEN] = { "consultation_open",
        "UPDATE consultations SET status = 'open', opened_by = $2::bigint, opened_at = now(), "
        "release_until = consultation_window_end(closes_at, $3::int) "
        "WHERE id = $1::bigint AND status = 'draft' RETURNING id", 3, 1 },
    /* The committee members of the unit, as they are at opening. */
    [STMT_CONSULTATION_SUBJECTS_FIX] = { "consultation_subjects_fix",
        "INSERT INTO consultation_subjects (consultation_id, account_id) "
        "SELECT DISTINCT k.id, m.account_id FROM consultations k "
        "JOIN memberships m ON m.unit_id = k.unit_id AND m.role IN ('committee', 'secretary') "
        "WHERE k.id = $1::bigint AND EXISTS (SELECT 1 FROM consultation_questions q "
        "  WHERE q.consultation_id = k.id AND q.kind = 'member_opinions')", 1, 1 },
    [STMT_CONSULTATION_CLOSE] = { "consultation_close",
        "UPDATE consultations SET status = 'closed', closed_at = now(), "
        "release_until = least(release_until, consultation_window_end(now(), $2::int)) "
        "WHERE id = $1::bigint AND status = 'open' RETURNING id", 2, 1 },
    /* domain/jobs.c: the consultations whose closing time has come. */
    [STMT_CONSULTATIONS_CLOSE_DUE] = { "consultations_close_due",
        "UPDATE consultations SET status = 'closed', closed_at = now(), "
        "release_until = least(release_until, consultation_window_end(now(), $2::int)) "
        "WHERE id IN (SELECT id FROM consultations WHERE status = 'open' AND closes_at <= now() "
        "  ORDER BY closes_at LIMIT $1::int FOR UPDATE SKIP LOCKED) RETURNING id", 2, 1 },
    /* ---- anonymous answers (sql/0030, domain/consultation_anon.c) ---- */
    /* The account's one token of the consultation, or (a named answer
     * without one) the place of it: a row when it was free. */
    [STMT_CONSULTATION_TOKEN_TAKE] = { "consultation_token_take",
        "INSERT INTO consultation_tokens (consultation_id, account_id) "
        "VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING RETURNING 1 AS taken", 2, 1 },
    /* Whether account $2 has a named answer to $1 (in the answer's
     * transaction, after the consultation's row lock). */
    [STMT_CONSULTATION_HAS_NAMED] = { "consultation_has_named",
        "SELECT EXISTS (SELECT 1 FROM consultation_answers WHERE consultation_id = $1::bigint "
        "  AND account_id = $2::bigint) AS answered", 2, 1 },
    /* At the release: an anonymous answer, or its replacement, by the
     * hash of its tracking code. */
    [STMT_CONSULTATION_ANSWER_ANON_INSERT] = { "consultation_answer_anon_insert",
        "INSERT INTO consultation_answers (consultation_id, anonymous, answers, code_hash) "
        "VALUES ($1::bigint, true, $2::jsonb, $3) ON CONFLICT (code_hash) DO NOTHING RETURNING id", 3, 1 },
    [STMT_CONSULTATION_ANSWER_ANON_UPDATE] = { "consultation_answer_anon_update",
        "UPDATE consultation_answers SET answers = $3::jsonb "
        "WHERE consultation_id = $1::bigint AND code_hash = $2 RETURNING id", 3, 1 },
    [STMT_CONSULTATION_ANSWER_BY_CODE] = { "consultation_answer_by_code",
        "SELECT answers::text AS answers FROM consultation_answers "
        "WHERE consultation_id = $1::bigint AND code_hash = $2", 2, 1 },
    /* One named answer per account: the second write replaces the first
     * (the unique constraint decides between racing ones); answers
     * whether the row is new. */
    [STMT_CONSULTATION_ANSWER_NAMED] = { "consultation_answer_named",
        "INSERT INTO consultation_answers AS a (consultation_id, account_id, anonymous, answers, "
        "created_at, updated_at) VALUES ($1::bigint, $2::bigint, false, $3::jsonb, now(), now()) "
        "ON CONFLICT (consultation_id, account_id) DO UPDATE SET answers = EXCLUDED.answers, "
        "updated_at = now() RETURNING (xmax = 0)", 3, 1 },
    /* Every answer's values, in an order that is neither the order of
     * writing nor of the authors. */
    [STMT_CONSULTATION_ANSWERS] = { "consultation_answers",
        "SELECT answers::text FROM consultation_answers WHERE consultation_id = $1::bigint "
        "ORDER BY md5(answers::text), id", 1, 1 },
    /* The consultations account $1 sees (admin $2: all): those it is asked
     * in once opened, and every one of a unit where it sits on the
     * committee or that it manages; newest first, $3 at most. */
    [STMT_CONSULTATIONS_LIST] = { "consultations_list",
        "WITH RECURSIVE managed(id) AS (SELECT unit_id FROM memberships WHERE account_id = $1::bigint "
        "  AND role = 'secretary' UNION SELECT u.id FROM org_units u JOIN managed ON u.parent_id = managed.id), "
        "staff AS (SELECT k.id, ($2::boolean OR k.unit_id IN (SELECT id FROM managed) OR EXISTS ("
        "  SELECT 1 FROM memberships m WHERE m.account_id = $1::bigint AND m.unit_id = k.unit_id "
        "  AND m.role = 'committee')) AS staff FROM consultations k) "
        "SELECT k.id, k.unit_id, u.name, k.kind, k.title, k.status, k.answer_mode, "
        TS("k.opens_at") ", " TS("k.closes_at") ", "
        "EXISTS (SELECT 1 FROM consultation_answers a WHERE a.consultation_id = k.id "
        "  AND a.account_id = $1::bigint), s.staff "
        "FROM consultations k JOIN staff s ON s.id = k.id JOIN org_units u ON u.id = k.unit_id "
        "WHERE s.staff OR (k.status <> 'draft' AND EXISTS (SELECT 1 FROM consultation_audience(k.id) au "
        "  WHERE au.account_id = $1::bigint)) ORDER BY k.id DESC LIMIT $3::int", 3, 1 },
    /* ---- themes of a closed consultation's text answers (sql/0025) ---- */
    [STMT_CONSULTATION_THEME_INSERT] = { "consultation_theme_insert",
        "INSERT INTO consultation_themes (consultation_id, title, created_by) "
        "VALUES ($1::bigint, $2, $3::bigint) RETURNING id", 3, 1 },
    /* Theme $1 of consultation $2 emptied (its items are not yet grouped again). */
    [STMT_CONSULTATION_THEME_ITEMS_CLEAR] = { "consultation_theme_items_clear",
        "DELETE FROM consultation_theme_items i USING consultation_themes t "
        "WHERE i.theme_id = t.id AND t.id = $1::bigint AND t.consultation_id = $2::bigint", 2, 1 },
    /* The items $3 (a JSON array of [answer id, position]) put in theme $1,
     * taken from whatever theme held them: one theme each. */
    [STMT_CONSULTATION_THEME_ITEMS_ADD] = { "consultation_theme_items_add",
        "INSERT INTO consultation_theme_items (answer_id, position, theme_id) "
        "SELECT (x->>0)::bigint, (x->>1)::smallint, t.id FROM jsonb_array_elements($3::jsonb) x "
        "JOIN consultation_themes t ON t.id = $1::bigint AND t.consultation_id = $2::bigint "
        "ON CONFLICT (answer_id, position) DO UPDATE SET theme_id = EXCLUDED.theme_id", 3, 1 },
    [STMT_CONSULTATION_THEMES] = { "consultation_themes",
        "SELECT id, title FROM consultation_themes WHERE consultation_id = $1::bigint ORDER BY id", 1, 1 },
    /* Every text answer of consultation $1 with its theme (NULL: not yet
     * grouped) and how many answered its question, in an order that says
     * nothing of who wrote it when. */
    [STMT_CONSULTATION_TEXTS] = { "consultation_texts",
        "SELECT a.id, q.position, a.answers->>q.position::text, i.theme_id, "
        "  count(*) OVER (PARTITION BY q.position) "
        "FROM consultation_answers a JOIN consultation_questions q "
        "  ON q.consultation_id = a.consultation_id AND q.kind = 'text' "
        "  AND jsonb_typeof(a.answers -> q.position::text) = 'string' "
        "LEFT JOIN consultation_theme_items i ON i.answer_id = a.id AND i.position = q.position "
        "WHERE a.consultation_id = $1::bigint "
        "ORDER BY q.position, md5(a.answers->>q.position::text), a.id", 1, 1 },
    /* ---- opinions on a committee member (sql/0026) ---- */
    /* $3 hands consultation $1's opinions on $2 over; nothing when done before. */
    [STMT_CONSULTATION_HANDOVER] = { "consultation_handover",
        "INSERT INTO consultation_handovers (consultation_id, subject_id, handed_by) "
        "VALUES ($1::bigint, $2::bigint, $3::bigint) ON CONFLICT DO NOTHING RETURNING 1", 3, 1 },
    /* The opinions on $2 of consultation $1, the words alone, once handed
     * over, in an order that says nothing of who wrote them when. */
    [STMT_CONSULTATION_OPINIONS] = { "consultation_opinions",
        "SELECT a.answers -> q.position::text ->> $2::text FROM consultation_answers a "
        "JOIN consultation_questions q ON q.consultation_id = a.consultation_id "
        "  AND q.kind = 'member_opinions' "
        "WHERE a.consultation_id = $1::bigint "
        "AND jsonb_typeof(a.answers -> q.position::text -> $2::text) = 'string' "
        "AND EXISTS (SELECT 1 FROM consultation_handovers h WHERE h.consultation_id = $1::bigint "
        "  AND h.subject_id = $2::bigint) "
        "ORDER BY md5(a.answers -> q.position::text ->> $2::text), a.id", 2, 1 },
    /* Each subject of consultation $1: handed over when, the response,
     * who approved it. */
    [STMT_CONSULTATION_SUBJECT_STATES] = { "consultation_subject_states",
        "SELECT s.account_id, " TS("h.handed_at") ", r.body, " TS("r.written_at") ", "
        "r.approved_by, " TS("r.approved_at") " FROM consultation_subjects s "
        "LEFT JOIN consultation_handovers h ON h.consultation_id = s.consultation_id "
        "  AND h.subject_id = s.account_id "
        "LEFT JOIN consultation_member_responses r ON r.consultation_id = s.consultation_id "
        "  AND r.subject_id = s.account_id "
        "WHERE s.consultation_id = $1::bigint ORDER BY s.account_id", 1, 1 },
    /* $2's response on consultation $1, written or rewritten until approved. */
    [STMT_CONSULTATION_RESPONSE_WRITE] = { "consultation_response_write",
        "INSERT INTO consultation_member_responses (consultation_id, subject_id, body) "
        "VALUES ($1::bigint, $2::bigint, $3) ON CONFLICT (consultation_id, subject_id) "
        "DO UPDATE SET body = EXCLUDED.body, written_at = now()", 3, 1 },
    [STMT_CONSULTATION_RESPONSE_APPROVE] = { "consultation_response_approve",
        "UPDATE consultation_member_responses SET approved_by = $3::bigint, approved_at = now() "
        "WHERE consultation_id = $1::bigint AND subject_id = $2::bigint AND approved_by IS NULL "
        "RETURNING 1", 3, 1 },
};
