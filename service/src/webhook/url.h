/* Where a webhook may point: the URL's shape, and the addresses its host
 * resolves to. Checked when a webhook is configured and again at every
 * delivery, on the address actually connected to (docs/notifications.md). */
#ifndef YIJIAN_WEBHOOK_URL_H
#define YIJIAN_WEBHOOK_URL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_HOST_MAX 253
#define WEBHOOK_ADDR_MAX 64 /* an address as text, IPv6 included */

/* What the URL names. host is without brackets for an IPv6 literal. */
struct webhook_target {
    bool https;
    char host[WEBHOOK_HOST_MAX + 1];
    bool host_is_literal; /* an IP address, not a name */
    unsigned port;
    char hint[WEBHOOK_URL_MAX + 1]; /* scheme://host[:port]/path?k=…: the query's values masked */
};

/* What the policy allows besides public and private addresses. */
struct webhook_policy {
    bool allow_loopback;
    bool refuse_private; /* an account's webhook: private ranges refused too */
    unsigned self_port; /* the service's own port: refused on any local address; 0: unknown */
};

/*
 * Checks url: at most WEBHOOK_URL_MAX bytes, printable ASCII, scheme http
 * or https, a host, no user name or password. Fills t. Returns NULL, or a
 * short reason (static) why the URL is refused.
 */
const char *webhook_url_parse(const char *url, struct webhook_target *t);

/*
 * The policy on one address: NULL when port on sa may be connected to,
 * else the reason (static). Refused always: unspecified (0.0.0.0/8, ::),
 * link-local (169.254.0.0/16 with the 169.254.169.254 metadata service,
 * fe80::/10), multicast (224.0.0.0/4, ff00::/8), broadcast, and the
 * service's own port on an address of this machine; loopback (127.0.0.0/8,
 * ::1) unless the policy allows it. IPv4-mapped IPv6 is judged as IPv4.
 * Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are
 * allowed unless the policy refuses them (the webhooks of accounts: any
 * member may configure one, only managers a unit's).
 */
const char *webhook_address_refusal(const struct sockaddr *sa, unsigned port,
                                    const struct webhook_policy *p);

/*
 * Resolves t's host and applies the policy to every address it has: one
 * refused address refuses the host (a name that also points inward is not
 * trusted). On success the first address is written to addr, to be pinned
 * for the connection. NULL, or the reason (static or in reason_buf).
 */
const char *webhook_resolve(const struct webhook_target *t, const struct webhook_policy *p,
                            char addr[WEBHOOK_ADDR_MAX], char *reason_buf, size_t reason_len);

/* The service's own port, once it is bound (port 0 in LISTEN picks one). */
void webhook_set_self_port(unsigned port);
unsigned webhook_self_port(void);

#endif
