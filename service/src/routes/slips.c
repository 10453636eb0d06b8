/* POST /v1/accounts/activation-slips: an A4 page of cut-out slips, one per
 * account, each with the name, the login, a new activation code and a QR
 * code of the activation link, so that a secretary can hand them out at a
 * meeting. Codes are stored only as hashes, so a slip always carries a new
 * code (the old one stops working), issued as POST
 * /v1/accounts/{id}/activation-code would, all in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "db/rows.h"
#include "domain/accounts.h"
#include "http/html.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define SLIPS_MAX 60      /* accounts in one request */
#define SLIPS_PER_PAGE 10 /* two columns of five on A4 */
#define QR_QUIET 4        /* modules of white around the symbol */

static const char page_style[] =
    "body{font-family:sans-serif;margin:0;color:#000}"
    ".page{display:grid;grid-template-columns:1fr 1fr;grid-auto-rows:54mm;gap:0;"
    "width:190mm;margin:0 auto;break-after:page}"
    ".page:last-child{break-after:auto}"
    ".slip{border:1px dashed #777;padding:3mm 4mm;display:flex;gap:3mm;align-items:center;"
    "box-sizing:border-box;overflow:hidden}"
    ".slip svg{width:32mm;height:32mm;flex:none}"
    ".slip h2{font-size:11pt;margin:0 0 1mm}.slip p{margin:.5mm 0;font-size:9.5pt}"
    ".code{font-family:monospace;font-size:13pt;font-weight:bold;white-space:nowrap}"
    ".hint{font-size:8pt;color:#333}"
    "@media print{@page{size:A4;margin:10mm}}";

struct slip {
    long long id;
    char *login, *name;
    struct account_new code;
};

struct slips_ctx {
    struct audit_entry actor;
    struct slip *items;
    size_t n;
    unsigned ttl;
};

static enum db_status slips_tx(struct db_conn *c, void *arg)
{
    struct slips_ctx *x = arg;
    for (size_t i = 0; i < x->n; i++) {
        enum db_status st = account_new_code(c, &x->actor, x->items[i].id, x->ttl,
                                             &x->items[i].code);
        if (st != DB_OK)
            return st;
    }
    return DB_OK;
}

/* The activation link: the web client's page, the login and the code in
 * the fragment (never sent to a server). Bytes outside RFC 3986's
 * unreserved set are percent-encoded. */
static void activation_link(char *out, size_t size, const char *base, const char *login,
                            const char *code)
{
    size_t w = (size_t)snprintf(out, size, "%s/#/activate?login=", base);
    for (const unsigned char *p = (const unsigned char *)login; *p && w + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            out[w++] = (char)*p;
        else
            w += (size_t)snprintf(out + w, size - w, "%%%02X", *p);
    }
    snprintf(out + w, size - w, "&code=%s", code);
}

/* The QR code of text as an inline SVG: one path of dark modules. */
static bool write_qr(FILE *f, const char *text)
{
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!qr)
        return false;
    int size = qr->width + 2 * QR_QUIET;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
               "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"激活链接二维码\">"
               "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
            size, size, size, size);
    for (int y = 0; y < qr->width; y++)
        for (int x = 0; x < qr->width; x++)
            if (qr->data[y * qr->width + x] & 1)
                fprintf(f, "M%d %dh1v1h-1z", x + QR_QUIET, y + QR_QUIET);
    fputs("\"/></svg>", f);
    QRcode_free(qr);
    return true;
}

/* The slips, SLIPS_PER_PAGE to a page. The expiry shows its day (UTC:
 * within hours of Beijing's, and the code's TTL is days). *ok false when a
 * QR code could not be made. */
static void write_page(FILE *f, const struct slips_ctx *x, const char *base, bool *ok)
{
    fprintf(f, "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
               "<title>账号激活条</title><style>%s</style></head><body>",
            page_style);
    for (size_t i = 0; i < x->n; i++) {
        const struct slip *s = &x->items[i];
        if (i % SLIPS_PER_PAGE == 0)
            fputs(i ? "</div><div class=\"page\">" : "<div class=\"page\">", f);
        char link[512];
        activation_link(link, sizeof link, base, s->login, s->code.code);
        fputs("<section class=\"slip\">", f);
        *ok &= write_qr(f, link);
        fputs("<div><h2>意见箱 账号激活</h2><p>姓名：", f);
        html_esc(f, s->name);
        fputs("</p><p>账号：", f);
        html_esc(f, s->login);
        fputs("</p><p>激活码：<span class=\"code\">", f);
        html_esc(f, s->code.code);
        fprintf(f, "</span></p><p class=\"hint\">%.10s 前有效。用手机扫码，或打开 ",
                s->code.code_expires_at);
        html_esc(f, base);
        fputs(" 点“激活账号”，输入账号和激活码，再设置密码。</p></div></section>", f);
    }
    fputs("</div></body></html>\n", f);
}

enum handler_result accounts_slips(struct request *r)
{
    json_t *ids = json_is_object(r->json) ? json_object_get(r->json, "account_ids") : NULL;
    size_t n = json_array_size(ids);
    bool good = json_is_array(ids) && n >= 1 && n <= SLIPS_MAX;
    for (size_t i = 0; good && i < n; i++) {
        json_t *v = json_array_get(ids, i);
        good = json_is_integer(v) && json_integer_value(v) > 0;
        for (size_t k = 0; good && k < i; k++)
            good = json_integer_value(json_array_get(ids, k)) != json_integer_value(v);
    }
    if (!good)
        return reply_invalid(r, "account_ids", "must be 1 to 60 distinct account ids");

    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    struct slips_ctx x = { .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id,
                                      .request_id = r->request_id },
                           .ttl = r->cfg->activation_ttl };
    x.items = calloc(n, sizeof *x.items);
    if (!x.items)
        return reply_db_error(r, DB_ERROR);
    enum db_status st = DB_OK;
    /* Every account is checked before any code changes: all or none. */
    for (size_t i = 0; i < n; i++) {
        struct slip *s = &x.items[x.n++];
        s->id = (long long)json_integer_value(json_array_get(ids, i));
        bool manages = false;
        if ((st = authz_manages_account(r->db, &az, s->id, &manages)) != DB_OK)
            goto fail;
        if (!manages) {
            out = reply_forbidden(r);
            goto done;
        }
        char id[24];
        snprintf(id, sizeof id, "%lld", s->id);
        const char *params[] = { id };
        const struct db_field spec[] = { DB_TEXT_DUP("login", &s->login),
                                         DB_TEXT_DUP("display_name", &s->name), DB_END };
        int found = db_one(r->db, STMT_ACCOUNT_BY_ID, params, spec, &st);
        if (found < 0)
            goto fail;
        if (!found) {
            out = reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
            goto done;
        }
    }
    st = db_transaction(r->db, slips_tx, &x);
    if (st == DB_ABORT) {
        out = reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
        goto done;
    }
    if (st != DB_OK)
        goto fail;

    char *buf = NULL;
    size_t len = 0;
    bool ok = true;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        st = DB_ERROR;
        goto fail;
    }
    write_page(f, &x, r->cfg->public_url, &ok);
    fclose(f);
    if (!ok) {
        free(buf);
        st = DB_ERROR;
        goto fail;
    }
    html_style_csp(r, page_style);
    out = reply_bytes(r, 200, "text/html; charset=utf-8", buf, len, 0);
    free(buf);
    goto done;
fail:
    out = reply_db_error(r, st);
done:
    for (size_t i = 0; i < x.n; i++) {
        free(x.items[i].login);
        free(x.items[i].name);
    }
    free(x.items);
    return out;
}
