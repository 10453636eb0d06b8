/* Operator commands that are not the server. */
#ifndef YIJIAN_CLI_H
#define YIJIAN_CLI_H

#include "config.h"

/* Creates an admin account and prints its activation code on stdout.
 * Returns the exit code. */
int cli_create_admin(const struct config *cfg, const char *login, const char *display_name);

#endif
