/* Operator commands that are not the server. */
#ifndef YIJIAN_CLI_H
#define YIJIAN_CLI_H

#include "config.h"

/* Creates an admin account and prints its activation code on stdout.
 * Returns the exit code. */
int cli_create_admin(const struct config *cfg, const char *login, const char *display_name);

/*
 * Imports the roster CSV at path (domain/roster.h) in one transaction.
 * Prints "login<TAB>code<TAB>expires_at" on stdout for each new account,
 * errors and the summary on stderr. Returns the exit code: 0, or 1 with
 * nothing written.
 */
int cli_import_roster(const struct config *cfg, const char *path);

/*
 * Recomputes the audit chain (domain/audit_verify.h) and prints the report
 * on stdout: "intact through seq N, head H", or the problems, the first
 * first. Returns the exit code: 0 intact, 1 tampered, 2 when it could not
 * verify (no master key, no database).
 */
int cli_verify_audit(const struct config *cfg, const char *key_b64);

/*
 * verify-bulletin FILE [--key BASE64]: checks a saved GET /v1/bulletins/{id}
 * response (domain/bulletins.h); needs no database or master key. Exit 0
 * valid, 1 invalid, 2 usage or unreadable file. argv[0] is the command.
 */
int cli_verify_bulletin(int argc, char **argv);

/* `yijian problem-text`: for each line of stdin, a problem as an English
 * caller got it ({"type", "detail"?, "errors"?: [detail, ...]}), prints
 * the same as a Chinese caller gets it ({"type", "title", "detail"?,
 * "errors"?}), null where the catalogue has no Chinese text (the tests
 * check every problem they provoke through it). Exit 0, 2 on a bad line. */
int cli_problem_text(int argc, char **argv);

/* `yijian routes [--json]`: the route table with who may call each route,
 * as the Markdown table of docs/security.md, or as JSON
 * [{method, path, callers: [...], who, body}] for the tests. Exit 0. */
int cli_routes(int argc, char **argv);

/* publish UNIT_ID: what POST /v1/bulletins does, as actor system. Exit 0
 * published (prints the id), 1 nothing to publish or no such unit, 2 other
 * failures. */
int cli_publish(const struct config *cfg, const char *unit);

#endif
