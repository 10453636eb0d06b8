/* A hash table of addresses and their open connections, under one mutex:
 * taken once when a connection is accepted and once when it closes, far
 * from the requests' path. An address leaves the table with its last
 * connection, so the table holds no more entries than there are
 * connections. */
#include "http/addr_limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024

struct entry {
    struct entry *next;
    unsigned char key[17]; /* family (4 or 6), then the address's bytes */
    unsigned count;
};

static struct {
    pthread_mutex_t lock;
    unsigned limit;
    struct entry *buckets[BUCKETS];
} t = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The key of an address, or -1 for a family that is not counted. */
static int key_of(const struct sockaddr *a, socklen_t len, unsigned char key[17])
{
    memset(key, 0, 17);
    if (a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)a)->sin_addr, 4);
        return 0;
    }
    if (a->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        key[0] = 6;
        memcpy(key + 1, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

static unsigned bucket_of(const unsigned char key[17])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % BUCKETS;
}

/* The entry's link in its bucket, or the bucket's end. Called locked. */
static struct entry **find(const unsigned char key[17])
{
    struct entry **e = &t.buckets[bucket_of(key)];
    while (*e && memcmp((*e)->key, key, 17) != 0)
        e = &(*e)->next;
    return e;
}

void addr_limit_init(unsigned limit)
{
    addr_limit_cleanup();
    pthread_mutex_lock(&t.lock);
    t.limit = limit;
    pthread_mutex_unlock(&t.lock);
}

bool addr_limit_take(const struct sockaddr *a, socklen_t len)
{
    unsigned char key[17];
    if (key_of(a, len, key) < 0)
        return true; /* not an IP address: nothing to count it by */
    bool ok = false;
    pthread_mutex_lock(&t.lock);
    if (t.limit == 0) {
        ok = true;
    } else {
        struct entry **e = find(key);
        if (!*e && (*e = calloc(1, sizeof **e)) != NULL)
            memcpy((*e)->key, key, 17);
        if (*e && (*e)->count < t.limit) {
            (*e)->count++;
            ok = true;
        }
    }
    pthread_mutex_unlock(&t.lock);
    return ok;
}

void addr_limit_give(const struct sockaddr *a, socklen_t len)
{
    unsigned char key[17];
    if (key_of(a, len, key) < 0)
        return;
    pthread_mutex_lock(&t.lock);
    struct entry **e = find(key);
    if (*e && --(*e)->count == 0) {
        struct entry *gone = *e;
        *e = gone->next;
        free(gone);
    }
    pthread_mutex_unlock(&t.lock);
}

unsigned addr_limit_count(const struct sockaddr *a, socklen_t len)
{
    unsigned char key[17];
    if (key_of(a, len, key) < 0)
        return 0;
    pthread_mutex_lock(&t.lock);
    struct entry **e = find(key);
    unsigned n = *e ? (*e)->count : 0;
    pthread_mutex_unlock(&t.lock);
    return n;
}

void addr_limit_cleanup(void)
{
    pthread_mutex_lock(&t.lock);
    for (unsigned i = 0; i < BUCKETS; i++) {
        while (t.buckets[i]) {
            struct entry *e = t.buckets[i];
            t.buckets[i] = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&t.lock);
}
