/* `make bench` builds the database limit (pgbench scripts) from the
 * service's own statements, so that the limit runs exactly the SQL the
 * endpoint runs:
 *
 *   stmts NAME [ARG1 ARG2 ...]
 *
 * prints the statement NAME of db/statements.c followed by ";", with each
 * parameter $i replaced by (ARGi) (a pgbench variable such as :acct,
 * NULL, or an SQL expression). A colon before a letter inside a string
 * literal is written as ' || ':' || ' (pgbench knows no literals and would
 * take it for a variable). Exit 1 for an unknown name or too few
 * arguments. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/statements.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: stmts NAME [ARG...]\n");
        return 2;
    }
    for (int i = 0; i < STMT__COUNT; i++) {
        const struct stmt_def *d = &stmt_defs[i];
        if (!d->name || strcmp(d->name, argv[1]) != 0)
            continue;
        if (argc - 2 < d->nparams) {
            fprintf(stderr, "stmts: %s takes %d parameters\n", d->name, d->nparams);
            return 1;
        }
        bool literal = false;
        for (const char *p = d->sql; *p; p++) {
            if (*p == '\'')
                literal = !literal;
            if (literal && *p == ':' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
                /* pgbench would take ":MI" in 'HH24:MI:SS' for a variable */
                fputs("' || ':' || '", stdout);
            } else if (*p == '$' && isdigit((unsigned char)p[1])) {
                int n = 0;
                while (isdigit((unsigned char)p[1]))
                    n = n * 10 + (*++p - '0');
                if (n < 1 || n > d->nparams) {
                    fprintf(stderr, "stmts: %s: $%d out of range\n", d->name, n);
                    return 1;
                }
                printf("(%s)", argv[1 + n]);
            } else if (*p == '\n') {
                putchar(' ');
            } else {
                putchar(*p);
            }
        }
        puts(";");
        return 0;
    }
    fprintf(stderr, "stmts: no statement named %s\n", argv[1]);
    return 1;
}
