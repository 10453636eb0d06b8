/* Connections per client address, counted over all the HTTP threads
 * (each is a libmicrohttpd daemon of its own, whose per-address limit
 * would count only its own connections: http/listen.c). */
#ifndef YIJIAN_HTTP_ADDR_LIMIT_H
#define YIJIAN_HTTP_ADDR_LIMIT_H

#include <stdbool.h>
#include <sys/socket.h>

/* At most limit connections from one address; 0: no limit. */
void addr_limit_init(unsigned limit);

/* A new connection from a: true, and it counts, if a has fewer than the
 * limit; false (the connection is to be refused) if not, or if there is
 * no memory to count it. */
bool addr_limit_take(const struct sockaddr *a, socklen_t len);

/* A connection that addr_limit_take counted has closed. */
void addr_limit_give(const struct sockaddr *a, socklen_t len);

/* Connections counted for a now (for the tests). */
unsigned addr_limit_count(const struct sockaddr *a, socklen_t len);

void addr_limit_cleanup(void);

#endif
