/* GET /v1/openapi.yaml (the contract, embedded or from OPENAPI_PATH) and
 * GET /metrics (Prometheus text). */
#include <stdio.h>
#include <stdlib.h>

#include "embedded.h"
#include "http/reply.h"
#include "http/metrics.h"
#include "routes/routes.h"
#include "util/log.h"

static char *openapi_file;
static size_t openapi_file_len;

int meta_init(const char *path)
{
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        log_msg(LOG_ERROR, "OPENAPI_PATH: could not open %s", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    openapi_file = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!openapi_file || fread(openapi_file, 1, (size_t)n, f) != (size_t)n) {
        log_msg(LOG_ERROR, "OPENAPI_PATH: could not read %s", path);
        fclose(f);
        free(openapi_file);
        openapi_file = NULL;
        return -1;
    }
    fclose(f);
    openapi_file_len = (size_t)n;
    return 0;
}

void meta_cleanup(void)
{
    free(openapi_file);
    openapi_file = NULL;
}

enum handler_result meta_openapi(struct request *r)
{
    request_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=300");
    if (openapi_file)
        return reply_bytes(r, 200, "application/yaml", openapi_file, openapi_file_len, 1);
    return reply_bytes(r, 200, "application/yaml", embedded_openapi, embedded_openapi_len, 1);
}

enum handler_result meta_metrics(struct request *r)
{
    size_t len = 0;
    char *text = metrics_render(routes, routes_count, &len);
    if (!text)
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    enum handler_result res = reply_bytes(r, 200, "text/plain; version=0.0.4", text, len, 0);
    free(text);
    return res;
}
