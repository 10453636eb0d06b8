/* Tests service/src/http/listen.c and http/addr_limit.c: the listening
 * group shares one port, refuses an address already in use, and the
 * per-address count holds over threads and gives back what it took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "http/addr_limit.h"
#include "http/listen.h"

static struct sockaddr_in loopback(unsigned port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static unsigned port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static void group_shares_the_kernels_port(void **state)
{
    (void)state;
    struct sockaddr_in a = loopback(0);
    int fds[4];
    unsigned port = 0;
    assert_int_equal(listen_group_open((struct sockaddr *)&a, sizeof a, 4, fds, &port), 0);
    assert_true(port > 0);
    for (int i = 0; i < 4; i++) {
        assert_true(fds[i] >= 0);
        assert_int_equal(port_of(fds[i]), port);
    }
    /* A connection to the port lands on one of the four. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = loopback(port);
    assert_int_equal(connect(c, (struct sockaddr *)&to, sizeof to), 0);
    int accepted = 0;
    for (int tries = 0; tries < 100 && !accepted; tries++) {
        for (int i = 0; i < 4 && !accepted; i++) {
            int s = accept(fds[i], NULL, NULL);
            if (s >= 0) {
                accepted = 1;
                close(s);
            }
        }
        if (!accepted)
            usleep(10000);
    }
    assert_true(accepted);
    close(c);
    listen_group_close(fds, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(fds[i], -1);
}

static void address_in_use_is_refused_and_nothing_is_left_open(void **state)
{
    (void)state;
    struct sockaddr_in a = loopback(0);
    int first[2], second[3] = { 7, 7, 7 };
    unsigned port = 0, port2 = 0;
    assert_int_equal(listen_group_open((struct sockaddr *)&a, sizeof a, 2, first, &port), 0);
    /* A second group on the same port: another yijian started twice. */
    a = loopback(port);
    errno = 0;
    assert_int_equal(listen_group_open((struct sockaddr *)&a, sizeof a, 3, second, &port2), -1);
    assert_int_equal(errno, EADDRINUSE);
    for (int i = 0; i < 3; i++)
        assert_int_equal(second[i], -1);
    /* A plain listener on it is refused too. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_not_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    close(s);
    listen_group_close(first, 2);
    /* Once closed, the port can be had again. */
    assert_int_equal(listen_group_open((struct sockaddr *)&a, sizeof a, 3, second, &port2), 0);
    assert_int_equal(port2, port);
    listen_group_close(second, 3);
}

static struct sockaddr_in from(const char *ip)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(40000) };
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

#define SA(x) ((struct sockaddr *)&(x)), sizeof(x)

static void limit_counts_each_address_apart(void **state)
{
    (void)state;
    addr_limit_init(2);
    struct sockaddr_in a = from("192.0.2.1"), b = from("192.0.2.2");
    assert_true(addr_limit_take(SA(a)));
    assert_true(addr_limit_take(SA(a)));
    assert_false(addr_limit_take(SA(a))); /* the third from a */
    assert_true(addr_limit_take(SA(b)));  /* b is not a */
    assert_int_equal(addr_limit_count(SA(a)), 2);
    assert_int_equal(addr_limit_count(SA(b)), 1);
    addr_limit_give(SA(a));
    assert_int_equal(addr_limit_count(SA(a)), 1);
    assert_true(addr_limit_take(SA(a))); /* room again */
    addr_limit_give(SA(a));
    addr_limit_give(SA(a));
    addr_limit_give(SA(b));
    assert_int_equal(addr_limit_count(SA(a)), 0);
    assert_int_equal(addr_limit_count(SA(b)), 0);
    addr_limit_cleanup();
}

static void ipv6_addresses_are_counted_whole(void **state)
{
    (void)state;
    addr_limit_init(1);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, b = { .sin6_family = AF_INET6 };
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr), 1);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1:1", &b.sin6_addr), 1);
    assert_true(addr_limit_take(SA(a)));
    assert_false(addr_limit_take(SA(a)));
    assert_true(addr_limit_take(SA(b)));
    addr_limit_cleanup();
}

static void no_limit_counts_nothing(void **state)
{
    (void)state;
    addr_limit_init(0);
    struct sockaddr_in a = from("192.0.2.9");
    for (int i = 0; i < 1000; i++)
        assert_true(addr_limit_take(SA(a)));
    assert_int_equal(addr_limit_count(SA(a)), 0);
    addr_limit_give(SA(a)); /* nothing to give back: no harm */
    addr_limit_cleanup();
}

/* Four threads, as four HTTP threads accepting at once: together they
 * never let one address have more than the limit. */
#define THREADS 4
#define ROUNDS 20000
static unsigned held_max;
static unsigned long refused;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static void *churn(void *arg)
{
    (void)arg;
    struct sockaddr_in a = from("198.51.100.7");
    for (int i = 0; i < ROUNDS; i++) {
        if (addr_limit_take(SA(a))) {
            unsigned n = addr_limit_count(SA(a));
            pthread_mutex_lock(&held_lock);
            if (n > held_max)
                held_max = n;
            pthread_mutex_unlock(&held_lock);
            addr_limit_give(SA(a));
        } else {
            __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static void limit_holds_over_threads(void **state)
{
    (void)state;
    addr_limit_init(3);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    struct sockaddr_in a = from("198.51.100.7");
    assert_true(held_max <= 3);
    assert_int_equal(addr_limit_count(SA(a)), 0); /* all given back */
    print_message("four threads, limit 3: at most %u held, %lu refused\n", held_max, refused);
    addr_limit_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(group_shares_the_kernels_port),
        cmocka_unit_test(address_in_use_is_refused_and_nothing_is_left_open),
        cmocka_unit_test(limit_counts_each_address_apart),
        cmocka_unit_test(ipv6_addresses_are_counted_whole),
        cmocka_unit_test(no_limit_counts_nothing),
        cmocka_unit_test(limit_holds_over_threads),
    };
    return cmocka_run_group_tests_name("http/listen", tests, NULL, NULL);
}
