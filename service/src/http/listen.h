/* The listening sockets of the HTTP server: one per libmicrohttpd daemon,
 * all bound to the same address with SO_REUSEPORT, so that the kernel
 * spreads the connections over the daemons (http/listen.c says why). */
#ifndef YIJIAN_HTTP_LISTEN_H
#define YIJIAN_HTTP_LISTEN_H

#include <sys/socket.h>

/* Opens n listening sockets on addr (port 0: one port the kernel picks,
 * the same for all), non-blocking, and stores them in fds and the port in
 * *port. Fails with EADDRINUSE when anything else listens on the address,
 * a group like this one included. Returns 0, or -1 with errno set and
 * nothing left open. */
int listen_group_open(const struct sockaddr *addr, socklen_t addr_len, unsigned n, int *fds,
                      unsigned *port);

/* Closes those of the n sockets that are still open (>= 0), setting them
 * to -1. */
void listen_group_close(int *fds, unsigned n);

#endif
