/* Fuzzes the start of a request: router_match over the real route table
 * with any method and path bytes, the numeric path parameters
 * (request_param_id on a struct request built by hand), and the header
 * checks of server.c that run before any body byte is read (X-Request-Id,
 * Content-Type).
 *
 * Input: "METHOD PATH", the request line as libmicrohttpd hands it over
 * (the path already percent-decoded, so any byte but NUL). The whole input
 * is also tried as a header value and as a path parameter. Each answer is
 * checked against a plain segment-by-segment reference matcher. */
#include "fuzz.h"

/* The static helpers request_id_ok and is_type live in server.c. */
#include "../../service/src/http/server.c"

#include "routes/routes.h"

#define ALLOW_BYTES 64 /* server.c's buffer for the Allow header */

/* ---- reference ---------------------------------------------------------- */

static bool is_param(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

/* Same number of '/'-separated segments, literal segments equal, parameter
 * segments not empty. */
static bool ref_match(const char *pattern, const char *path)
{
    const char *p = pattern, *s = path;
    for (;;) {
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t sl = se ? (size_t)(se - s) : strlen(s);
        if (is_param(p, pl)) {
            if (sl == 0)
                return false;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return false;
        }
        if (!pe || !se)
            return !pe && !se;
        p = pe + 1;
        s = se + 1;
    }
}

static size_t count_params(const char *pattern)
{
    size_t n = 0;
    for (const char *p = pattern; *p; p++)
        n += *p == '{';
    return n;
}

/* Is tok one of the comma-separated words of list? */
static bool in_list(const char *list, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = list; *p;) {
        const char *end = strstr(p, ", ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, tok, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 2;
    }
    return false;
}

/* The path rebuilt from the pattern with each {x} replaced by its
 * parameter; it must give back the path that matched. */
static void check_rebuild(const char *pattern, const char *path, const char *const *params,
                          const char *buf, size_t buflen)
{
    size_t np = count_params(pattern), k = 0, o = 0;
    size_t cap = strlen(path) + 1;
    char *out = malloc(cap);
    FUZZ_CHECK(out, "out of memory");
    for (const char *p = pattern; *p;) {
        if (*p == '{') {
            FUZZ_CHECK(k < np && params[k], "parameter %zu of %s missing", k, pattern);
            FUZZ_CHECK(params[k] >= buf && params[k] < buf + buflen,
                       "parameter %zu does not point into the buffer", k);
            size_t len = strlen(params[k]);
            FUZZ_CHECK(len > 0 && !memchr(params[k], '/', len),
                       "parameter %zu is empty or holds a '/'", k);
            FUZZ_CHECK(o + len < cap, "parameters longer than the path");
            memcpy(out + o, params[k], len);
            o += len;
            k++;
            p = strchr(p, '}') + 1;
        } else {
            FUZZ_CHECK(o + 1 < cap, "pattern longer than the path");
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    FUZZ_CHECK(k == np, "%zu of %zu parameters used", k, np);
    for (; k < ROUTE_MAX_PARAMS; k++)
        FUZZ_CHECK(!params[k], "parameter %zu set beyond the pattern", k);
    FUZZ_CHECK(strcmp(out, path) == 0, "rebuilt \"%s\" is not the path", out);
    free(out);
}

/* request_param_id's contract: 1..18 digits with a positive value. */
static void check_param_id(const char *s)
{
    struct request r;
    memset(&r, 0, sizeof r);
    r.params[0] = s;
    long long got = -1;
    bool ok = request_param_id(&r, 0, &got);

    size_t n = strlen(s);
    bool digits = n > 0 && n <= 18 && strspn(s, "0123456789") == n;
    long long want = digits ? strtoll(s, NULL, 10) : 0;
    FUZZ_CHECK(ok == (digits && want > 0), "request_param_id(\"%s\") = %d", s, ok);
    if (ok)
        FUZZ_CHECK(got == want, "request_param_id(\"%s\") gave %lld", s, got);
}

static void check_route(const char *method, const char *path)
{
    /* Exactly the sizes server.c uses, each its own allocation so that a
     * write past either end is caught. */
    size_t buflen = sizeof ((struct request *)0)->path_buf;
    char *buf = malloc(buflen);
    char *allow = malloc(ALLOW_BYTES);
    FUZZ_CHECK(buf && allow, "out of memory");
    const char *params[ROUTE_MAX_PARAMS] = { 0 };
    int index = -1;
    enum route_match m = router_match(routes, routes_count, method, path, &index, buf, buflen,
                                      params, allow, ALLOW_BYTES);

    /* The reference answer. */
    int want_index = -1;
    bool known = false;
    char want_allow[ALLOW_BYTES * 2] = "";
    if (strlen(path) < buflen) {
        for (size_t i = 0; i < routes_count; i++) {
            if (!ref_match(routes[i].pattern, path))
                continue;
            if (strcmp(routes[i].method, method) == 0) {
                want_index = (int)i;
                break;
            }
            known = true;
            if (!in_list(want_allow, routes[i].method)) {
                if (want_allow[0])
                    strcat(want_allow, ", ");
                strcat(want_allow, routes[i].method);
            }
        }
    }

    if (want_index >= 0) {
        FUZZ_CHECK(m == ROUTE_FOUND, "%s %s: want route %d, got %d", method, path, want_index,
                   (int)m);
        FUZZ_CHECK(index == want_index, "%s %s: route %d, want %d", method, path, index,
                   want_index);
        check_rebuild(routes[index].pattern, path, params, buf, buflen);

        /* The handlers read numeric ids through request_param_id. */
        struct request r;
        memset(&r, 0, sizeof r);
        memcpy(r.params, params, sizeof r.params);
        for (int i = 0; i < ROUTE_MAX_PARAMS; i++) {
            long long v;
            if (params[i])
                check_param_id(params[i]);
            else
                FUZZ_CHECK(!request_param_id(&r, i, &v), "an absent parameter is an id");
        }
    } else if (known) {
        FUZZ_CHECK(m == ROUTE_BAD_METHOD, "%s %s: want 405, got %d", method, path, (int)m);
        FUZZ_CHECK(strlen(allow) < ALLOW_BYTES, "Allow overruns");
        FUZZ_CHECK(strcmp(allow, want_allow) == 0, "%s %s: Allow \"%s\", want \"%s\"", method,
                   path, allow, want_allow);
        FUZZ_CHECK(!in_list(allow, method), "Allow lists the method that was refused");
    } else {
        FUZZ_CHECK(m == ROUTE_NOT_FOUND, "%s %s: want 404, got %d", method, path, (int)m);
    }
    free(buf);
    free(allow);
}

/* A short Allow buffer: what fits is a prefix of the full list, and the
 * buffer is never overrun (it is allocated to its exact size). */
static void check_short_allow(const char *method, const char *path, size_t allowlen)
{
    char buf[512];
    char *allow = malloc(allowlen ? allowlen : 1);
    FUZZ_CHECK(allow, "out of memory");
    const char *params[ROUTE_MAX_PARAMS];
    int index = -1;
    enum route_match m = router_match(routes, routes_count, method, path, &index, buf,
                                      sizeof buf, params, allow, allowlen);
    if (m == ROUTE_BAD_METHOD && allowlen) {
        size_t n = strnlen(allow, allowlen);
        FUZZ_CHECK(n < allowlen, "Allow not terminated within %zu bytes", allowlen);
        for (const char *p = allow; *p;) {
            const char *end = strstr(p, ", ");
            size_t len = end ? (size_t)(end - p) : strlen(p);
            bool found = false;
            for (size_t i = 0; i < routes_count && !found; i++)
                found = strlen(routes[i].method) == len && !memcmp(routes[i].method, p, len);
            FUZZ_CHECK(found, "Allow \"%s\" holds something that is not a method", allow);
            if (!end)
                break;
            p = end + 2;
        }
    }
    free(allow);
}

/* ---- header checks of server.c ------------------------------------------ */

static void check_headers(const char *v)
{
    size_t n = strlen(v);
    bool id = n >= 1 && n <= 64 &&
              strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
    FUZZ_CHECK(request_id_ok(v) == id, "request_id_ok(\"%s\")", v);

    static const char want[] = "application/json";
    const char *p = v + strspn(v, " ");
    bool json = strncasecmp(p, want, sizeof want - 1) == 0;
    if (json) {
        p += sizeof want - 1;
        p += strspn(p, " ");
        json = *p == '\0' || *p == ';';
    }
    FUZZ_CHECK(is_type(v, "application/json") == json, "is_type(\"%s\", json)", v);
    FUZZ_CHECK(!is_type(NULL, "application/json"), "is_type(NULL)");
}

/* ---- entry point -------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_cstr(data, size);
    char *sp = strchr(line, ' ');
    const char *method = line, *path = "";
    if (sp) {
        *sp = '\0';
        path = sp + 1;
    }
    check_route(method, path);
    check_short_allow(method, path, size % 24);

    char *whole = fuzz_cstr(data, size);
    check_headers(whole);
    check_param_id(whole);
    free(whole);
    free(line);
    return 0;
}
