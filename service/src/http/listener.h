/* The listening socket, served by a thread of its own that hands every
 * accepted connection to a libmicrohttpd daemon started with
 * MHD_USE_NO_LISTEN_SOCKET (http/server.c; bench/hello.c uses it too, so
 * that the benchmark's HTTP limit is served the same way). */
#ifndef YIJIAN_HTTP_LISTENER_H
#define YIJIAN_HTTP_LISTENER_H

#include <microhttpd.h>
#include <sys/socket.h>

struct listener;

/* Binds and listens on addr. NULL on failure, with errno set. */
struct listener *listener_open(const struct sockaddr *addr, socklen_t addr_len);

/* The port it is bound to (the one the kernel chose for port 0). */
unsigned listener_port(const struct listener *l);

/* Starts accepting for d. 0, or -1 with errno set. */
int listener_start(struct listener *l, struct MHD_Daemon *d);

/* Stops accepting (connections already handed over stay with the daemon)
 * and closes the socket. NULL is allowed. */
void listener_close(struct listener *l);

#endif
