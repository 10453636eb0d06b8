/* Bulletins over HTTP: POST /v1/bulletins (publish now), and the public,
 * unauthenticated reads GET /v1/bulletins, /v1/bulletins/{id} and
 * /v1/bulletins/key. docs/bulletins.md describes the document. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db/rows.h"
#include "domain/bulletins.h"
#include "domain/secret_store.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define BULLETIN_PAGE 50
#define BULLETIN_ID_MAX 1000000000000000000LL
/* A stored bulletin never changes: caches may keep it. */
#define BULLETIN_CACHE "public, max-age=86400, immutable"

/* ---- the cache of served bulletins -------------------------------------
 * A stored bulletin never changes (sql/0007 refuses UPDATE and DELETE), so
 * the bytes served for it once are the bytes to serve for it forever. They
 * are kept here, up to BULLETIN_CACHE_SLOTS bulletins and
 * BULLETIN_CACHE_BYTES in all; past that, bulletins are served from the
 * database as before. Entries are never freed while the process runs, so a
 * response may point at them (MHD_RESPMEM_PERSISTENT). */
#define BULLETIN_CACHE_SLOTS 4096 /* a power of two */
#define BULLETIN_CACHE_BYTES (32u << 20)

struct cached_bulletin {
    long long id; /* 0: empty slot */
    size_t len;
    const char *body;
};

static struct {
    pthread_rwlock_t lock;
    struct cached_bulletin slots[BULLETIN_CACHE_SLOTS];
    size_t used, bytes;
} cache = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static size_t slot_of(long long id)
{
    return (size_t)((unsigned long long)id * 11400714819323198485ull >> 52) &
           (BULLETIN_CACHE_SLOTS - 1);
}

/* The cached body of bulletin id, or NULL. */
static const struct cached_bulletin *cache_get(long long id)
{
    const struct cached_bulletin *found = NULL;
    pthread_rwlock_rdlock(&cache.lock);
    for (size_t i = slot_of(id), n = 0; n < BULLETIN_CACHE_SLOTS && cache.slots[i].id;
         i = (i + 1) & (BULLETIN_CACHE_SLOTS - 1), n++) {
        if (cache.slots[i].id == id) {
            found = &cache.slots[i];
            break;
        }
    }
    pthread_rwlock_unlock(&cache.lock);
    return found;
}

/* Keeps body (malloc'd; taken) for id and returns the entry; NULL when the
 * cache is full, and body is then still the caller's. */
static const struct cached_bulletin *cache_put(long long id, char *body, size_t len)
{
    const struct cached_bulletin *e = NULL;
    pthread_rwlock_wrlock(&cache.lock);
    size_t i = slot_of(id);
    while (cache.slots[i].id && cache.slots[i].id != id)
        i = (i + 1) & (BULLETIN_CACHE_SLOTS - 1);
    if (cache.slots[i].id) { /* another request cached it first */
        e = &cache.slots[i];
        free(body);
    } else if (cache.used < BULLETIN_CACHE_SLOTS / 2 && /* open addressing: probes end soon */
               cache.bytes + len <= BULLETIN_CACHE_BYTES) {
        cache.slots[i] = (struct cached_bulletin){ .id = id, .len = len, .body = body };
        cache.used++;
        cache.bytes += len;
        e = &cache.slots[i];
    }
    pthread_rwlock_unlock(&cache.lock);
    return e;
}

/* If-None-Match (RFC 9110 §13.1.2): "*", or a list of entity tags of which
 * one matches etag by the weak comparison. */
static bool etag_matches(const char *header, const char *etag)
{
    if (!header)
        return false;
    size_t elen = strlen(etag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (!strncmp(p, etag, elen) &&
            (p[elen] == '\0' || p[elen] == ',' || p[elen] == ' ' || p[elen] == '\t'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

/* The service's key pair; on false a reply has been queued. The caller
 * wipes sk. */
static bool load_key(struct request *r, unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                     unsigned char sk[SIGNING_SECRET_KEY_BYTES], enum handler_result *out)
{
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c) {
        *out = reply_db_error(r, st);
        return false;
    }
    enum secret_status ss = signing_key_load(c, r->cfg->master_key, pk, sk, &st);
    if (ss != SECRET_OK) {
        *out = reply_db_error(r, ss == SECRET_DB_FAILED ? st : DB_ERROR);
        return false;
    }
    return true;
}

json_t *bulletin_load(struct request *r, long long id, enum handler_result *out)
{
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return NULL;
    }
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[] = { ids };
    char *content = NULL, *signature = NULL;
    const struct db_field spec[] = { DB_TEXT_DUP("content", &content),
                                     DB_TEXT_DUP("signature", &signature), DB_END };
    int found = db_one(r->db, STMT_BULLETIN_GET, p, spec, &st);
    if (found < 0) {
        *out = reply_db_error(r, st);
        return NULL;
    }
    if (found == 0) {
        *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such bulletin");
        return NULL;
    }
    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    if (!load_key(r, pk, sk, out)) {
        free(content);
        free(signature);
        return NULL;
    }
    sodium_memzero(sk, sizeof sk);
    json_t *doc = bulletin_document(content, signature, pk);
    free(content);
    free(signature);
    if (!doc)
        *out = reply_db_error(r, DB_ERROR);
    return doc;
}

enum handler_result bulletins_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    long long unit_id = 0, corrects = 0;
    bool given;
    validate_id(&v, "unit_id", true, false, &unit_id, &given);
    validate_id(&v, "corrects", false, true, &corrects, &given);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!caller_load(r, unit_id, &az, &out))
        return out;
    if (!az.unit_exists && !az.is_admin)
        return reply_forbidden(r);
    if (!az.unit_exists)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);

    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    if (!load_key(r, pk, sk, &out))
        return out;
    struct bulletin_request q = { .unit_id = unit_id, .corrects = corrects,
                                  .actor = AUDIT_ACCOUNT, .actor_id = az.account_id,
                                  .request_id = r->request_id, .sk = sk };
    enum db_status st = db_transaction(r->db, bulletin_publish_tx, &q);
    sodium_memzero(sk, sizeof sk);
    switch (q.outcome) {
    case BULLETIN_NO_UNIT:
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    case BULLETIN_BAD_CORRECTS: {
        json_t *errors = json_pack("[{s:s, s:s}]", "pointer", "/corrects", "detail",
                                   "must be a bulletin of the same unit");
        return reply_validation(r, errors);
    }
    case BULLETIN_NOTHING:
        return reply_problem(r, PROBLEM_CONFLICT,
                             "nothing to publish: no answered suggestion is waiting");
    case BULLETIN_SLOT_DONE: /* only on a schedule */
    case BULLETIN_PUBLISHED:
        break;
    }
    if (st != DB_OK)
        return reply_db_error(r, st);

    json_t *doc = bulletin_load(r, q.id, &out);
    if (!doc)
        return out;
    char location[64];
    snprintf(location, sizeof location, "/v1/bulletins/%lld", q.id);
    request_add_header(r, "Location", location);
    return reply_json(r, 201, doc);
}

enum handler_result bulletins_list(struct request *r)
{
    long long unit = 0, cursor = 0;
    const char *u = request_query(r, "unit");
    const char *c = request_query(r, "cursor");
    struct validator v;
    validator_init_query(&v, r);
    query_decimal(&v, "unit", false, 1, BULLETIN_ID_MAX, &unit, "unit: expected a positive id");
    query_decimal(&v, "cursor", false, 1, BULLETIN_ID_MAX, &cursor,
                  "cursor: expected the next_cursor of the previous page");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    enum db_status st;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    char page[16];
    snprintf(page, sizeof page, "%d", BULLETIN_PAGE);
    const char *p[] = { u, c, page };
    static const struct db_json_col cols[] = {
        DBJ("id", "id", INT), DBJ("unit_id", "unit_id", INT),
        DBJ("unit_name", "unit_name", STRING), DBJ("seq", "seq", INT),
        DBJ("corrects", "corrects", INT), DBJ("period_from", "period_from", STRING),
        DBJ("period_to", "period_to", STRING), DBJ("created_at", "created_at", STRING),
        DBJ("items", "item_count", INT), DBJ_DONE,
    };
    json_t *items = db_json_rows(r->db, STMT_BULLETINS_LIST, p, cols, &st);
    if (!items)
        return reply_db_error(r, st);
    size_t n = json_array_size(items);
    json_t *next = json_null();
    if (n == BULLETIN_PAGE) {
        char last[24];
        snprintf(last, sizeof last, "%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(items, n - 1), "id")));
        next = json_string(last);
    }
    return reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* Headers and body of a bulletin served from the cache: 304 when the
 * client holds it already. */
static enum handler_result reply_cached(struct request *r, const struct cached_bulletin *e,
                                        const char *etag)
{
    request_add_header(r, "Cache-Control", BULLETIN_CACHE);
    request_add_header(r, "ETag", etag);
    if (etag_matches(request_header(r, "If-None-Match"), etag))
        return reply_empty(r, 304);
    return reply_bytes(r, 200, "application/json", e->body, e->len, 1);
}

/* The fast path of GET /v1/bulletins/{id}, on the HTTP thread: a cached
 * bulletin needs no database (routes/routes.c). */
enum handler_result bulletins_get_cached(struct request *r)
{
    long long id;
    if (!request_param_id(r, 0, &id))
        return HANDLER_PASS;
    const struct cached_bulletin *e = cache_get(id);
    if (!e)
        return HANDLER_PASS;
    char etag[32];
    snprintf(etag, sizeof etag, "\"b%lld\"", id);
    return reply_cached(r, e, etag);
}

enum handler_result bulletins_get(struct request *r)
{
    long long id;
    if (!request_param_id(r, 0, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such bulletin");
    char etag[32];
    snprintf(etag, sizeof etag, "\"b%lld\"", id);
    /* Served before: no database, no key, no JSON. */
    const struct cached_bulletin *e = cache_get(id);
    if (e)
        return reply_cached(r, e, etag);

    enum handler_result out;
    json_t *doc = bulletin_load(r, id, &out);
    if (!doc)
        return out;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    size_t len = strlen(text);
    e = cache_put(id, text, len);
    if (e)
        return reply_cached(r, e, etag);
    /* The cache is full: served from this copy. */
    request_add_header(r, "Cache-Control", BULLETIN_CACHE);
    request_add_header(r, "ETag", etag);
    enum handler_result done = etag_matches(request_header(r, "If-None-Match"), etag)
                                   ? reply_empty(r, 304)
                                   : reply_bytes(r, 200, "application/json", text, len, 0);
    free(text);
    return done;
}

enum handler_result bulletins_key(struct request *r)
{
    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    enum handler_result out;
    if (!load_key(r, pk, sk, &out))
        return out;
    sodium_memzero(sk, sizeof sk);
    char b64[64], hex[2 * SIGNING_PUBLIC_KEY_BYTES + 1];
    sodium_bin2base64(b64, sizeof b64, pk, sizeof pk, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    request_add_header(r, "Cache-Control", "public, max-age=3600");
    return reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "algorithm", "Ed25519",
                                         "public_key", b64, "public_key_hex", hex));
}
