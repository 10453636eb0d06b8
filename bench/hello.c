/* The HTTP limit of `make bench`: a minimal libmicrohttpd server that
 * answers every request with the same 200-byte JSON body, started with the
 * flags and options of the service (http/server.c): HTTP_THREADS daemons,
 * each with its internal polling thread, epoll and a listening socket of
 * its own (http/listen.c), the same connection limit and timeout. Whatever it reaches on this machine is what libmicrohttpd
 * and the kernel allow; yijian's own work is what it does beyond this.
 *
 * usage: hello PORT   (HTTP_THREADS, MAX_CONNECTIONS, CONNECTION_TIMEOUT
 * from the environment, with the service's defaults; HELLO_BODY_BYTES, 200
 * by default, for a body of another size: the bulletin's, to show what
 * the kernel and libmicrohttpd allow for a body that large) */
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/listen.h"

static char *body;
static size_t body_len;

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *s = getenv(name);
    return s && *s ? (unsigned)strtoul(s, NULL, 10) : dflt;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (!*con_cls) { /* first call: headers only, as in the service */
        *con_cls = conn;
        return MHD_YES;
    }
    *upload_data_size = 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hello PORT\n");
        return 2;
    }
    /* body_len bytes of JSON: {"status":"ok","pad":"xxxx..."} */
    const char *head = "{\"status\":\"ok\",\"pad\":\"";
    size_t n = strlen(head);
    body_len = env_uint("HELLO_BODY_BYTES", 200);
    if (body_len < n + 2)
        body_len = n + 2;
    body = malloc(body_len + 1);
    if (!body)
        return 1;
    memcpy(body, head, n);
    memset(body + n, 'x', body_len - n - 2);
    memcpy(body + body_len - 2, "\"}", 2);
    body[body_len] = '\0';

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    unsigned n_threads = env_uint("HTTP_THREADS", 4), limit = env_uint("MAX_CONNECTIONS", 1000), port;
    if (n_threads < 1 || n_threads > 256)
        n_threads = 4;
    int fds[256];
    struct MHD_Daemon *d[256];
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
    if (listen_group_open((struct sockaddr *)&a, sizeof a, n_threads, fds, &port) < 0) {
        perror("hello: listen");
        return 1;
    }
    for (unsigned i = 0; i < n_threads; i++) {
        d[i] = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
            NULL, NULL, on_request, NULL,
            MHD_OPTION_LISTEN_SOCKET, fds[i],
            MHD_OPTION_CONNECTION_TIMEOUT, env_uint("CONNECTION_TIMEOUT", 30),
            MHD_OPTION_CONNECTION_LIMIT, limit / n_threads + (i < limit % n_threads ? 1 : 0),
            MHD_OPTION_END);
        if (!d[i]) {
            fprintf(stderr, "hello: could not start daemon %u on port %u\n", i + 1, port);
            return 1;
        }
    }
    printf("listening\n");
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    for (unsigned i = 0; i < n_threads; i++)
        MHD_stop_daemon(d[i]);
    return 0;
}
