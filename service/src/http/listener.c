/* One thread accepts; libmicrohttpd's workers only serve.
 *
 * With a thread pool, libmicrohttpd has every worker watch the one
 * listening socket, and whichever worker is awake takes what is queued
 * (up to ten at a time, again and again). When a burst of connections
 * arrives while the machine is busy, the worker that is running takes
 * them all: `make bench` caught one worker holding all 64 connections of
 * wrk while the other three slept, and because a worker runs each
 * request to completion (blocking on PostgreSQL), the service served one
 * request at a time for the whole run (docs/performance.md, session 5).
 * Clients reconnecting together after a network drop would do the same.
 *
 * Here a thread of our own accepts and gives each connection to
 * MHD_add_connection, which puts it on a worker chosen by its descriptor
 * number (the next one with room, if that one is full) and applies the
 * daemon's connection and per-address limits as its own accept would. */
#include "http/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct listener {
    int fd;      /* the listening socket, non-blocking */
    int wake[2]; /* a byte written to wake[1] ends the thread */
    unsigned port;
    struct MHD_Daemon *daemon;
    pthread_t thread;
    bool running;
};

struct listener *listener_open(const struct sockaddr *addr, socklen_t addr_len)
{
    struct listener *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->wake[0] = l->wake[1] = -1;
    l->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    /* SO_REUSEADDR as libmicrohttpd sets it: a restart need not wait for
     * the old connections' TIME_WAIT. */
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (addr->sa_family == AF_INET6 &&
         setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) ||
        bind(l->fd, addr, addr_len) < 0 || listen(l->fd, SOMAXCONN) < 0 ||
        getsockname(l->fd, (struct sockaddr *)&bound, &bound_len) < 0) {
        int e = errno;
        listener_close(l);
        errno = e;
        return NULL;
    }
    l->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return l;
}

unsigned listener_port(const struct listener *l)
{
    return l->port;
}

/* Takes every connection that is queued, then waits for more. */
static void *accept_loop(void *arg)
{
    struct listener *l = arg;
    struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN }, { .fd = l->wake[0], .events = POLLIN } };
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        for (;;) {
            struct sockaddr_storage from;
            socklen_t from_len = sizeof from;
            int c = accept4(l->fd, (struct sockaddr *)&from, &from_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c >= 0) {
                /* Refused (a limit, no memory): libmicrohttpd closes it. */
                (void)MHD_add_connection(l->daemon, c, (struct sockaddr *)&from, from_len);
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: the queue waits until some
                 * connections close, instead of this thread spinning. */
                struct timespec pause = { 0, 10 * 1000000L };
                nanosleep(&pause, NULL);
            }
            /* EAGAIN: the queue is empty; anything else (a connection
             * reset before it was taken, say) concerns one connection. */
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EMFILE || errno == ENFILE ||
                errno == ENOBUFS || errno == ENOMEM)
                break;
        }
    }
    return NULL;
}

int listener_start(struct listener *l, struct MHD_Daemon *d)
{
    l->daemon = d;
    if (pipe2(l->wake, O_CLOEXEC) < 0)
        return -1;
    int rc = pthread_create(&l->thread, NULL, accept_loop, l);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    l->running = true;
    return 0;
}

void listener_close(struct listener *l)
{
    if (!l)
        return;
    if (l->running) {
        char b = 0;
        while (write(l->wake[1], &b, 1) < 0 && errno == EINTR)
            ;
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (l->wake[i] >= 0)
            close(l->wake[i]);
    if (l->fd >= 0)
        close(l->fd);
    free(l);
}
