/* The HTTP server: libmicrohttpd daemon, dispatch, graceful shutdown. */
#ifndef YIJIAN_HTTP_SERVER_H
#define YIJIAN_HTTP_SERVER_H

#include <stddef.h>

#include "config.h"
#include "http/router.h"

/* What the application gives the server: its route table, its fast
 * paths, and a hook called once every listening socket is bound (port: the bound one, which
 * LISTEN=…:0 leaves to the kernel; may be NULL). */
struct server_app {
    const struct route *routes;
    size_t routes_count;
    void (*on_listening)(unsigned port);
    /* Tried on the HTTP thread before a handler is handed over (may be
     * NULL; http/router.h, struct route_fast). */
    const struct route_fast *fast_paths;
    size_t fast_paths_count;
};

/* Serves app until SIGTERM or SIGINT, then drains in-flight requests for
 * up to cfg->shutdown_grace seconds. Returns the process exit code. */
int server_run(const struct config *cfg, const struct server_app *app);

#endif
