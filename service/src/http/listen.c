/* One listening socket per HTTP thread.
 *
 * With libmicrohttpd's own thread pool every worker watches the one
 * listening socket, and whichever worker is awake takes what is queued,
 * ten at a time, again and again. When a burst of connections arrives
 * while the machine is busy, the worker that is running takes them all:
 * `make bench` caught one worker holding all 64 of wrk's connections while
 * the other three slept, and since a worker runs each request to the end
 * (blocking on PostgreSQL), the service served one request at a time
 * (docs/performance.md, session 5). Clients reconnecting together after a
 * network drop would do the same.
 *
 * Here each HTTP thread is a libmicrohttpd daemon of its own with a
 * listening socket of its own, all on one address with SO_REUSEPORT: the
 * kernel puts each new connection on one of them by a hash of its
 * addresses and ports, whoever happens to be awake. (A thread of our own
 * handing connections to MHD_add_connection was tried first and reverted:
 * see docs/performance.md.)
 *
 * SO_REUSEPORT would also let a second yijian started on the same port
 * share it without a word. The first socket is therefore bound without
 * it, which fails if anything at all listens there, and only then takes
 * the option for the others to join. */
#include "http/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

void listen_group_close(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

static int set_port(struct sockaddr_storage *a, unsigned port)
{
    if (a->ss_family == AF_INET)
        ((struct sockaddr_in *)a)->sin_port = htons((unsigned short)port);
    else if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons((unsigned short)port);
    else
        return -1;
    return 0;
}

static unsigned get_port(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)a)->sin6_port)
                                    : ntohs(((const struct sockaddr_in *)a)->sin_port);
}

/* One socket on addr; SO_REUSEPORT before bind when join, after it (for
 * the others to join) when not. */
static int open_one(const struct sockaddr_storage *addr, socklen_t len, int join)
{
    int on = 1;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* SO_REUSEADDR as libmicrohttpd sets it: a restart need not wait for
     * the old connections' TIME_WAIT. An IPv6 address is IPv6 only, as
     * libmicrohttpd binds it without MHD_USE_DUAL_STACK. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (addr->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) ||
        (join && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) ||
        bind(fd, (const struct sockaddr *)addr, len) < 0 ||
        (!join && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) ||
        listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int listen_group_open(const struct sockaddr *addr, socklen_t addr_len, unsigned n, int *fds,
                      unsigned *port)
{
    struct sockaddr_storage a = { 0 };
    if (n == 0 || addr_len > sizeof a ||
        (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) {
        errno = EINVAL;
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        fds[i] = -1;
    memcpy(&a, addr, addr_len);
    fds[0] = open_one(&a, addr_len, 0);
    socklen_t len = sizeof a;
    if (fds[0] < 0 || getsockname(fds[0], (struct sockaddr *)&a, &len) < 0)
        goto fail;
    *port = get_port(&a); /* the kernel's choice when addr's port was 0 */
    if (set_port(&a, *port) < 0)
        goto fail;
    for (unsigned i = 1; i < n; i++)
        if ((fds[i] = open_one(&a, len, 1)) < 0)
            goto fail;
    return 0;
fail:;
    int e = errno;
    listen_group_close(fds, n);
    errno = e;
    return -1;
}
