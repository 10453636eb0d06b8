/* The HTTP server: libmicrohttpd daemon, dispatch, graceful shutdown. */
#ifndef YIJIAN_HTTP_SERVER_H
#define YIJIAN_HTTP_SERVER_H

#include "config.h"

/* Serves until SIGTERM or SIGINT, then drains in-flight requests for up to
 * cfg->shutdown_grace seconds. Returns the process exit code. */
int server_run(const struct config *cfg);

#endif
