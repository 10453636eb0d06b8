/* The public board: GET /bulletins/{id} (a bulletin as an HTML page in
 * Chinese, for phones and for printing on A4) and GET /feed.atom (Atom 1.0,
 * one entry per bulletin). Every text from the database is escaped; the
 * page loads nothing from anywhere (a strict Content-Security-Policy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/bulletins.h"
#include "db/rows.h"
#include "http/html.h"
#include "http/reply.h"
#include "routes/routes.h"

#define FEED_ENTRIES "50"

static const char page_style[] =
    "body{font-family:sans-serif;max-width:48rem;margin:0 auto;padding:1rem;line-height:1.6}"
    "h1{font-size:1.4rem}h2{font-size:1.1rem;margin-bottom:.2rem}"
    "article{border-top:1px solid #999;padding:.5rem 0}"
    "dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem 1rem;margin:.3rem 0}"
    "dt{color:#555}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}"
    /* A narrow phone, or large text: each label above its value. */
    "@media (max-width:30rem){dl{grid-template-columns:minmax(0,1fr)}dt{margin-top:.3rem}}"
    ".sig{font-family:monospace;font-size:.8rem;word-break:break-all}"
    "summary{cursor:pointer;min-height:48px;display:flex;align-items:center;color:#0b4f8a}"
    "@media print{@page{size:A4;margin:15mm}body{max-width:none;padding:0;font-size:11pt}"
    "article{break-inside:avoid}}";

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *decision_zh(const char *d)
{
    if (!strcmp(d, "adopted"))
        return "采纳";
    if (!strcmp(d, "partly_adopted"))
        return "部分采纳";
    if (!strcmp(d, "not_adopted"))
        return "不采纳";
    return "已知悉";
}

/* An RFC 3339 UTC time ("2026-12-07T14:42:26Z") in Beijing time, as the
 * people it is posted for read it: "2026年12月7日", with "22:42" when
 * with_time. Anything unreadable is written as it came. */
static void beijing(FILE *f, const char *t, bool with_time)
{
    struct tm tm = { 0 };
    int y, mo, d, h, mi, sec;
    if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) {
        html_esc(f, t);
        return;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t when = timegm(&tm) + 8 * 3600;
    struct tm bj;
    gmtime_r(&when, &bj);
    fprintf(f, "%d年%d月%d日", bj.tm_year + 1900, bj.tm_mon + 1, bj.tm_mday);
    if (with_time)
        fprintf(f, " %02d:%02d", bj.tm_hour, bj.tm_min);
}

static void date_of(FILE *f, const char *t)
{
    beijing(f, t, false);
}

static void row(FILE *f, const char *label, const char *value)
{
    fprintf(f, "<dt>%s</dt><dd>", label);
    html_esc(f, value);
    fputs("</dd>", f);
}

static void write_page(FILE *f, const json_t *doc)
{
    const json_t *b = json_object_get(doc, "bulletin");
    const json_t *unit = json_object_get(b, "unit");
    long long seq = (long long)json_integer_value(json_object_get(b, "seq"));
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
          f);
    html_esc(f, str(unit, "name"));
    fprintf(f, " 意见公开 第%lld期</title><style>%s</style></head><body><header><h1>", seq,
            page_style);
    html_esc(f, str(unit, "name"));
    fprintf(f, " 意见公开 第%lld期</h1><p>公开期间：", seq);
    date_of(f, str(b, "period_from"));
    fputs(" 至 ", f);
    date_of(f, str(b, "period_to"));
    fputs("；发布时间：", f);
    beijing(f, str(b, "created_at"), true);
    fputs("（北京时间）", f);
    const json_t *corrects = json_object_get(b, "corrects");
    if (json_is_integer(corrects))
        fprintf(f, "；本期更正第 %lld 号公告", (long long)json_integer_value(corrects));
    fputs("</p></header><main>", f);
    if (json_array_size(json_object_get(b, "items")) == 0)
        fputs("<p>本期没有新答复的意见。</p>", f);
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(b, "items"), i, item) {
        const json_t *answer = json_object_get(item, "answer");
        fputs("<article><h2>", f);
        html_esc(f, str(item, "title"));
        fputs("</h2><dl>", f);
        row(f, "编号", str(item, "public_id"));
        row(f, "类别", str(item, "category"));
        row(f, "内容", str(item, "body"));
        const char *author = json_string_value(json_object_get(item, "author"));
        row(f, "提出人", author ? author : "未署名");
        fputs("<dt>提出日期</dt><dd>", f);
        date_of(f, str(item, "submitted_at"));
        fprintf(f, "</dd><dt>附议人数</dt><dd>%lld</dd>",
                (long long)json_integer_value(json_object_get(item, "cosign_count")));
        row(f, "答复结果", decision_zh(str(item, "decision")));
        row(f, "答复", str(answer, "body"));
        if (json_is_string(json_object_get(answer, "reason")))
            row(f, "理由", str(answer, "reason"));
        fputs("<dt>答复日期</dt><dd>", f);
        date_of(f, str(item, "answered_at"));
        fputs("</dd></dl></article>", f);
    }
    /* What the readers need is that it can be checked; how is folded away. */
    fputs("</main><footer><p>本公告带有电子签名：内容如被改动，核验就会失败。</p>"
          "<details><summary>如何核验</summary>"
          "<p>请书记或管理员用意见箱的核验功能检查本公告，核验时用到下面的公钥和签名。"
          "技术说明：签名算法为 Ed25519，命令为 <code>yijian verify-bulletin</code>。</p><dl>",
          f);
    fputs("<dt>公钥</dt><dd class=\"sig\">", f);
    html_esc(f, str(doc, "public_key"));
    fputs("</dd><dt>签名</dt><dd class=\"sig\">", f);
    html_esc(f, str(doc, "signature"));
    const json_t *cp = json_object_get(b, "audit_checkpoint");
    if (json_is_object(cp)) {
        fprintf(f, "</dd><dt>审计检查点</dt><dd class=\"sig\">%lld ",
                (long long)json_integer_value(json_object_get(cp, "seq")));
        html_esc(f, str(cp, "hash"));
    }
    fputs("</dd></dl></details></footer></body></html>\n", f);
}

static enum handler_result reply_stream(struct request *r, const char *type, char *buf, size_t len)
{
    enum handler_result out = reply_bytes(r, 200, type, buf, len, 0);
    free(buf);
    return out;
}

enum handler_result board_bulletin_page(struct request *r)
{
    long long id;
    if (!request_param_id(r, 0, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such bulletin");
    enum handler_result out;
    json_t *doc = bulletin_load(r, id, &out);
    if (!doc)
        return out;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        json_decref(doc);
        return reply_db_error(r, DB_ERROR);
    }
    write_page(f, doc);
    fclose(f);
    json_decref(doc);
    html_style_csp(r, page_style);
    request_add_header(r, "Cache-Control", "public, max-age=86400");
    return reply_stream(r, "text/html; charset=utf-8", buf, len);
}

/* The feed as its entries are read (newest first): the head takes the
 * newest one's time. */
struct feed {
    FILE *f;
    long long id, seq, items;
    const char *unit, *from, *to, *at;
};

static void feed_head(FILE *f, const char *updated)
{
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
          "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">"
          "<id>urn:yijian:bulletins</id><title>意见公开</title><updated>",
          f);
    html_esc(f, updated);
    fputs("</updated><author><name>yijian</name></author>"
          "<link rel=\"self\" href=\"/feed.atom\"/>",
          f);
}

static enum db_status feed_entry(void *cls, size_t row)
{
    struct feed *k = cls;
    FILE *f = k->f;
    if (row == 0)
        feed_head(f, k->at);
    fprintf(f, "<entry><id>urn:yijian:bulletin:%lld</id><title>", k->id);
    html_esc(f, k->unit);
    fprintf(f, " 意见公开 第%lld期</title><updated>", k->seq);
    html_esc(f, k->at);
    fprintf(f, "</updated><link rel=\"alternate\" type=\"text/html\" href=\"/bulletins/%lld\"/>"
               "<link rel=\"related\" type=\"application/json\" href=\"/v1/bulletins/%lld\"/>"
               "<summary>", k->id, k->id);
    fprintf(f, "%lld 条意见的答复，", k->items);
    html_esc(f, k->from);
    fputs(" 至 ", f);
    html_esc(f, k->to);
    fputs("</summary></entry>", f);
    return DB_OK;
}

enum handler_result board_feed(struct request *r)
{
    enum db_status st;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    const char *p[] = { NULL, NULL, FEED_ENTRIES };
    char *buf = NULL;
    size_t len = 0;
    struct feed k = { .f = open_memstream(&buf, &len) };
    if (!k.f)
        return reply_db_error(r, DB_ERROR);
    const struct db_field spec[] = {
        DB_I64("id", &k.id), DB_TEXT_REF("unit_name", &k.unit), DB_I64("seq", &k.seq),
        DB_TEXT_REF("period_from", &k.from), DB_TEXT_REF("period_to", &k.to),
        DB_TEXT_REF("created_at", &k.at), DB_I64("item_count", &k.items), DB_END,
    };
    long long n = db_each(r->db, STMT_BULLETINS_LIST, p, spec, feed_entry, &k, &st);
    if (n < 0) {
        fclose(k.f);
        free(buf);
        return reply_db_error(r, st);
    }
    if (n == 0)
        feed_head(k.f, "1970-01-01T00:00:00Z");
    fputs("</feed>\n", k.f);
    fclose(k.f);
    request_add_header(r, "Cache-Control", "public, max-age=300");
    return reply_stream(r, "application/atom+xml; charset=utf-8", buf, len);
}
