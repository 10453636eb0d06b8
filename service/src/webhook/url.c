/* The webhook address policy: URL shape, then every resolved address. */
#include "webhook/url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint self_port;

void webhook_set_self_port(unsigned port)
{
    atomic_store(&self_port, port);
}

unsigned webhook_self_port(void)
{
    return atomic_load(&self_port);
}

/* ------------------------------------------------------------------ */
/* the URL                                                             */
/* ------------------------------------------------------------------ */

/* The query with every value masked: "key=…&other=…". */
static void mask_query(const char *q, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    while (*q && used + 1 < outlen) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t keylen = eq ? (size_t)(eq - q) : 0;
        int n = snprintf(out + used, outlen - used, "%s%.*s%s", used ? "&" : "", (int)keylen, q,
                         eq ? "=…" : "…");
        if (n < 0 || (size_t)n >= outlen - used) {
            out[used] = '\0'; /* no half pair, no half "…" */
            break;
        }
        used += (size_t)n;
        q += len + (amp ? 1 : 0);
    }
}

const char *webhook_url_parse(const char *url, struct webhook_target *t)
{
    memset(t, 0, sizeof *t);
    size_t n = strlen(url);
    if (n == 0 || n > WEBHOOK_URL_MAX)
        return "must be 1 to 2048 bytes";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return "must be printable ASCII without spaces (percent-encode the rest)";
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return "the scheme must be http or https";
    if (url[url[4] == 's' ? 8 : 7] == '/')
        return "must name a host";

    const char *why = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL, *path = NULL,
         *query = NULL;
    CURLU *u = curl_url();
    if (!u)
        return "out of memory";
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        why = "is not a well-formed URL";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
        why = "the scheme must be http or https";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        why = "must name a host";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        why = "must not carry a user name or password";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        why = "has no usable port";
        goto out;
    }
    t->https = !strcmp(scheme, "https");
    t->port = (unsigned)strtoul(port, NULL, 10);
    if (t->port == 0 || t->port > 65535) {
        why = "the port must be 1 to 65535";
        goto out;
    }
    size_t hl = strlen(host);
    const char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        h = host + 1;
        hl -= 2;
    }
    if (hl == 0 || hl > WEBHOOK_HOST_MAX) {
        why = "the host name is too long";
        goto out;
    }
    memcpy(t->host, h, hl);
    t->host[hl] = '\0';
    char *zone = NULL;
    bool has_zone = curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK;
    curl_free(zone);
    if (has_zone || strchr(t->host, '%')) {
        why = "must not name an IPv6 zone";
        goto out;
    }
    unsigned char buf[sizeof(struct in6_addr)];
    t->host_is_literal = inet_pton(AF_INET, t->host, buf) == 1 || inet_pton(AF_INET6, t->host, buf) == 1;

    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    char masked[WEBHOOK_URL_MAX + 1] = "";
    if (query)
        mask_query(query, masked, sizeof masked);
    bool default_port = t->port == (t->https ? 443u : 80u);
    char portpart[8] = "";
    if (!default_port)
        snprintf(portpart, sizeof portpart, ":%u", t->port);
    int shown = snprintf(t->hint, sizeof t->hint, "%s://%s%s%s%s%s", scheme, host, portpart,
                         path ? path : "/", query ? "?" : "", masked);
    if (shown >= 0 && (size_t)shown >= sizeof t->hint) {
        /* Too long to show whole (masking lengthens a query): the query
         * is shown as "?…", the path (ASCII) cut if it must be. Never a
         * value, nor half of a "…". */
        shown = snprintf(t->hint, sizeof t->hint - 4, "%s://%s%s%s", scheme, host, portpart,
                         path ? path : "/");
        if (shown >= 0 && query)
            strcat(t->hint, "?…");
    }
    if (shown < 0)
        t->hint[0] = '\0';
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return why;
}

/* ------------------------------------------------------------------ */
/* addresses                                                           */
/* ------------------------------------------------------------------ */

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                       &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                       sizeof(struct in6_addr));
    return false;
}

/* An address of one of this machine's interfaces. */
static bool is_local_interface(const struct sockaddr *sa)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0)
        return true; /* unknown: assume it is ours, so that the service's port is refused */
    bool found = false;
    for (struct ifaddrs *i = list; i && !found; i = i->ifa_next)
        found = i->ifa_addr && same_addr(i->ifa_addr, sa);
    freeifaddrs(list);
    return found;
}

/* The IPv4 rules on a host-order address; NULL when allowed. */
/* 10/8, 172.16/12, 192.168/16 and the shared 100.64/10. */
static bool v4_private(uint32_t a)
{
    return (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
           (a >> 22) == (100u << 2 | 1u);
}

static const char *v4_refusal(uint32_t a, bool allow_loopback, bool *local)
{
    *local = false;
    if ((a >> 24) == 0)
        return "an unspecified address (0.0.0.0/8)";
    if ((a >> 24) == 127) {
        *local = true;
        return allow_loopback ? NULL : "a loopback address (127.0.0.0/8; see WEBHOOK_ALLOW_LOOPBACK)";
    }
    if ((a >> 16) == 0xa9fe)
        return a == 0xa9fea9fe ? "the link-local metadata address 169.254.169.254"
                               : "a link-local address (169.254.0.0/16)";
    if ((a >> 28) == 0xe)
        return "a multicast address (224.0.0.0/4)";
    if (a == 0xffffffffu)
        return "the broadcast address";
    if ((a >> 28) == 0xf)
        return "a reserved address (240.0.0.0/4)";
    return NULL;
}

const char *webhook_address_refusal(const struct sockaddr *sa, unsigned port,
                                    const struct webhook_policy *p)
{
    const char *why = NULL;
    bool local = false;
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
        why = v4_refusal(a, p->allow_loopback, &local);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        const unsigned char *b = a6->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_V4COMPAT(a6)) {
            /* ::a.b.c.d and ::ffff:a.b.c.d reach the IPv4 address */
            uint32_t a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
            why = v4_refusal(a, p->allow_loopback, &local);
        } else if (IN6_IS_ADDR_UNSPECIFIED(a6)) {
            why = "an unspecified address (::)";
        } else if (IN6_IS_ADDR_LOOPBACK(a6)) {
            local = true;
            why = p->allow_loopback ? NULL : "a loopback address (::1; see WEBHOOK_ALLOW_LOOPBACK)";
        } else if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
            why = "a link-local address (fe80::/10)";
        } else if (b[0] == 0xff) {
            why = "a multicast address (ff00::/8)";
        }
    } else {
        why = "not an IP address";
    }
    if (!why && p->refuse_private) {
        bool priv = false;
        if (sa->sa_family == AF_INET) {
            priv = v4_private(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
        } else {
            const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
            const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_V4COMPAT(a6))
                priv = v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                                  (uint32_t)b[14] << 8 | b[15]);
            else
                priv = (b[0] & 0xfe) == 0xfc;
        }
        if (priv)
            why = "a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7): "
                  "an account's webhook must be reachable on the internet";
    }
    if (why)
        return why;
    /* An address of this machine's own interfaces (its LAN address, say)
     * reaches the same services as loopback does: the database, the
     * metrics, whatever listens only inside. */
    bool own = local || is_local_interface(sa);
    if (own && !p->allow_loopback)
        return "an address of this machine (see WEBHOOK_ALLOW_LOOPBACK)";
    if (p->self_port && port == p->self_port && own)
        return "this service's own address and port";
    return NULL;
}

const char *webhook_resolve(const struct webhook_target *t, const struct webhook_policy *p,
                            char addr[WEBHOOK_ADDR_MAX], char *reason_buf, size_t reason_len)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = t->host_is_literal ? AI_NUMERICHOST : 0 };
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(t->host, NULL, &hints, &ai);
    if (rc != 0) {
        snprintf(reason_buf, reason_len, "the host could not be resolved: %s", gai_strerror(rc));
        return reason_buf;
    }
    const char *why = NULL;
    addr[0] = '\0';
    for (struct addrinfo *i = ai; i && !why; i = i->ai_next) {
        why = webhook_address_refusal(i->ai_addr, t->port, p);
        if (why) {
            snprintf(reason_buf, reason_len, "the host resolves to %s", why);
            why = reason_buf;
        } else if (!addr[0]) {
            const void *raw = i->ai_family == AF_INET
                                  ? (const void *)&((struct sockaddr_in *)(void *)i->ai_addr)->sin_addr
                                  : (const void *)&((struct sockaddr_in6 *)(void *)i->ai_addr)->sin6_addr;
            if (!inet_ntop(i->ai_family, raw, addr, WEBHOOK_ADDR_MAX))
                addr[0] = '\0';
        }
    }
    freeaddrinfo(ai);
    if (!why && !addr[0]) {
        snprintf(reason_buf, reason_len, "the host has no usable address");
        why = reason_buf;
    }
    return why;
}
