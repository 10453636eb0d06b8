/* The web client: GET / (index.html), GET /assets/{file}, the service
 * worker GET /sw.js and GET /manifest.webmanifest, served from
 * the copies embedded at build time (scripts/embed.sh). Asset names carry
 * a content hash, so they are cached for a year; index.html is revalidated
 * on every load (ETag, 304). A gzip copy made at build time goes to
 * clients that accept it. Every page gets a strict Content-Security-Policy:
 * scripts and styles from this origin only, no inline code, no eval, and
 * requests to this origin only. */
#include <stdint.h>
#include <stdio.h>

#include "embedded.h"
#include "http/reply.h"
#include "http/static_files.h"
#include "routes/routes.h"

#define WEB_CSP                                                                         \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " \
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "      \
    "frame-ancestors 'none'"

static enum handler_result serve(struct request *r, const char *name, const char *cache)
{
    const struct embedded_file *f = static_find(embedded_web, embedded_web_count, name);
    if (!f)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such file");
    bool not_modified = static_etag_matches(request_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH),
                                            f->etag);
    bool gz = f->gzip && static_accepts_gzip(request_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    struct MHD_Response *resp;
    if (not_modified)
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(gz ? f->gzip_len : f->len,
                                               (void *)(uintptr_t)(gz ? f->gzip : f->data),
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return HANDLER_FATAL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    if (not_modified)
        return reply_response(r, MHD_HTTP_NOT_MODIFIED, resp, NULL);
    if (gz)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return reply_response(r, MHD_HTTP_OK, resp, f->content_type);
}

enum handler_result web_index(struct request *r)
{
    return serve(r, "index.html", "no-cache");
}

/* The service worker: at the root so that its scope is the whole client;
 * revalidated on every load, as browsers also do at least daily. */
enum handler_result web_worker(struct request *r)
{
    return serve(r, "sw.js", "no-cache");
}

/* The web app manifest: names the app, its start page and its icon. */
enum handler_result web_manifest(struct request *r)
{
    return serve(r, "manifest.webmanifest", "no-cache");
}

enum handler_result web_asset(struct request *r)
{
    char name[160];
    int n = snprintf(name, sizeof name, "assets/%s", r->params[0]);
    if (n < 0 || (size_t)n >= sizeof name)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such file");
    return serve(r, name, "public, max-age=31536000, immutable");
}
