/* GET /v1/org-units/{id}/ledger: the ledger (意见建议台账) branches keep for
 * inspections and the annual report — every suggestion of the unit and the
 * units below it received in a period, with its handling — as XLSX
 * (libxlsxwriter), CSV (UTF-8 with a BOM and CRLF, as Excel opens it) or a
 * printable A4 page. Each export is audited. An anonymous suggestion shows
 * what the service shows its managers anywhere: no author, the stored
 * hour. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "db/rows.h"
#include "domain/audit.h"
#include "domain/units.h"
#include "http/html.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define LEDGER_MAX_ROWS 10000
#define SUMMARY_CHARS 100 /* of the body, in the "内容摘要" column */

/* A row of STMT_LEDGER, read by name (db/rows.h); texts borrowed for
 * the row's callback, NULL for SQL NULL. */
struct ledger_row {
    const char *id, *created, *unit, *category, *author, *title, *body, *handler, *status,
        *decision, *answer, *answered, *rating, *steps;
    bool anonymous, on_time;
};

/* The ledger's columns, as the file shows them. */
enum {
    K_SEQ, K_ID, K_CREATED, K_UNIT, K_CATEGORY, K_AUTHOR, K_TITLE, K_SUMMARY, K_HANDLER,
    K_STATUS, K_DECISION, K_ANSWER, K_ANSWERED, K_ON_TIME, K_RATING, K_STEPS, K__COUNT
};
static const char *const headings[K__COUNT] = {
    "序号", "编号", "提出时间", "单位", "类别", "提出人", "标题", "内容摘要", "承办人",
    "状态", "答复结论", "答复", "办结时间", "是否按期", "满意度", "办理过程",
};
static const double widths[K__COUNT] = { 6, 10, 17, 16, 12, 10, 24, 40, 10,
                                         8, 10, 40, 17, 8, 10, 36 };

static const char *zh(const char *const map[][2], const char *key)
{
    for (size_t i = 0; map[i][0]; i++)
        if (!strcmp(map[i][0], key))
            return map[i][1];
    return key;
}

static const char *const status_zh[][2] = {
    { "submitted", "已提交" }, { "accepted", "已受理" }, { "answered", "已答复" },
    { "published", "已公开" }, { "withdrawn", "已撤回" }, { "merged", "已合并" }, { NULL, NULL },
};
static const char *const decision_zh[][2] = {
    { "adopted", "采纳" }, { "partly_adopted", "部分采纳" }, { "not_adopted", "不采纳" },
    { "noted", "已知悉" }, { NULL, NULL },
};
static const char *const rating_zh[][2] = {
    { "satisfied", "满意" }, { "basically_satisfied", "基本满意" },
    { "unsatisfied", "不满意" }, { NULL, NULL },
};
static const char *const step_zh[][2] = {
    { "suggestion.submit", "提出" }, { "suggestion.assign", "交办" },
    { "suggestion.accept", "受理" }, { "suggestion.answer", "答复" },
    { "suggestion.publish", "公开" }, { "suggestion.rate", "评价" },
    { "suggestion.reopen", "重新办理" }, { "suggestion.withdraw", "撤回" },
    { "suggestion.merge", "合并" }, { "suggestion.escalate", "超期上报" }, { NULL, NULL },
};

/* One ledger row's cells, each malloc'd (or NULL for an empty cell). */
struct cells {
    char *v[K__COUNT];
};

static void cells_free(struct cells *c)
{
    for (int i = 0; i < K__COUNT; i++)
        free(c->v[i]);
}

static char *cell_text(const char *s) { return s && *s ? strdup(s) : NULL; }

/* The first SUMMARY_CHARS characters of s, with "…" when cut. */
static char *summary(const char *s)
{
    size_t i = 0, chars = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (u[i]) {
        if ((u[i] & 0xC0) != 0x80 && chars++ == SUMMARY_CHARS)
            break;
        i++;
    }
    char *out = malloc(i + 4);
    if (out) {
        memcpy(out, s, i);
        strcpy(out + i, u[i] ? "…" : "");
    }
    return out;
}

/* "YYYY-MM-DD HH:MI suggestion.accept\n…" with each action in Chinese. */
static char *steps(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    bool first = true;
    while (*s) {
        size_t n = strcspn(s, "\n");
        char line[128];
        snprintf(line, sizeof line, "%.*s", (int)n, s);
        char *action = strrchr(line, ' ');
        if (action) {
            *action++ = '\0';
            fprintf(f, "%s%s %s", first ? "" : "\n", line, zh(step_zh, action));
            first = false;
        }
        s += n + (s[n] == '\n');
    }
    fclose(f);
    return buf;
}

static void row_cells(const struct ledger_row *l, size_t i, struct cells *c)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%zu", i + 1);
    c->v[K_SEQ] = cell_text(seq);
    c->v[K_ID] = cell_text(l->id);
    c->v[K_CREATED] = cell_text(l->created);
    c->v[K_UNIT] = cell_text(l->unit);
    c->v[K_CATEGORY] = cell_text(l->category);
    c->v[K_AUTHOR] = cell_text(l->anonymous ? "匿名" : l->author);
    c->v[K_TITLE] = cell_text(l->title);
    c->v[K_SUMMARY] = summary(l->body ? l->body : "");
    c->v[K_HANDLER] = cell_text(l->handler);
    c->v[K_STATUS] = cell_text(zh(status_zh, l->status));
    c->v[K_DECISION] = l->decision ? cell_text(zh(decision_zh, l->decision)) : NULL;
    c->v[K_ANSWER] = cell_text(l->answer);
    c->v[K_ANSWERED] = cell_text(l->answered);
    c->v[K_ON_TIME] = l->answered ? cell_text(l->on_time ? "按期" : "超期") : NULL;
    c->v[K_RATING] = l->rating ? cell_text(zh(rating_zh, l->rating)) : NULL;
    c->v[K_STEPS] = steps(l->steps ? l->steps : "");
}

/* The ledger's rows as they are read: cells, grown as needed; a period
 * of more than LEDGER_MAX_ROWS stops the read. */
struct ledger_read {
    struct ledger_row l;
    struct cells *rows;
    size_t n, cap;
    bool too_many;
};

static enum db_status ledger_row_read(void *cls, size_t row)
{
    struct ledger_read *k = cls;
    if (row >= LEDGER_MAX_ROWS) {
        k->too_many = true;
        return DB_ABORT;
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        struct cells *more = realloc(k->rows, cap * sizeof *more);
        if (!more)
            return DB_ERROR;
        k->rows = more;
        k->cap = cap;
    }
    memset(&k->rows[k->n], 0, sizeof k->rows[k->n]);
    row_cells(&k->l, row, &k->rows[k->n]);
    k->n++;
    return DB_OK;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

/* One field, always quoted. A field that a spreadsheet would read as a
 * formula (=, +, -, @ first) gets a leading apostrophe: a member's title
 * must not run in the secretary's Excel. */
static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    if (s && strchr("=+-@\t\r", s[0]) && s[0])
        fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, struct cells *rows, int n)
{
    fputs("\xEF\xBB\xBF", f);
    for (int k = 0; k < K__COUNT; k++) {
        csv_field(f, headings[k]);
        fputs(k + 1 < K__COUNT ? "," : "\r\n", f);
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < K__COUNT; k++) {
            csv_field(f, rows[i].v[k]);
            fputs(k + 1 < K__COUNT ? "," : "\r\n", f);
        }
    }
}

/* ------------------------------------------------------------------ */
/* A4 page                                                             */
/* ------------------------------------------------------------------ */

/* The branches' paper format: the columns they rule by hand. */
static const int page_columns[] = { K_SEQ, K_CREATED, K_AUTHOR, K_SUMMARY, K_HANDLER, K_ANSWER,
                                    K_ANSWERED, K_RATING };
static const char *const page_headings[] = { "序号", "提出时间", "提出人", "内容摘要",
                                             "承办人", "答复", "办结时间", "满意度" };

static const char page_style[] =
    "body{font-family:sans-serif;margin:1rem;font-size:10.5pt;line-height:1.5}"
    "h1{font-size:1.3rem;text-align:center;margin:.2rem 0}"
    "p.period{text-align:center;margin:0 0 .6rem}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #000;padding:.2rem .3rem;vertical-align:top;white-space:pre-wrap;"
    "word-break:break-word}"
    "th{background:#eee}thead{display:table-header-group}tr{break-inside:avoid}"
    "td.n{text-align:center;white-space:nowrap}"
    "@media print{@page{size:A4 landscape;margin:12mm}body{margin:0}th{background:none}}";

static void write_page(FILE *f, const char *unit, const char *from, const char *to,
                       struct cells *rows, int n)
{
    fputs("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>",
          f);
    html_esc(f, unit);
    fprintf(f, " 意见建议台账</title><style>%s</style></head><body><h1>", page_style);
    html_esc(f, unit);
    fputs(" 意见建议台账</h1><p class=\"period\">", f);
    html_esc(f, from);
    fputs(" 至 ", f);
    html_esc(f, to);
    fprintf(f, "，共 %d 条</p><table><thead><tr>", n);
    for (size_t k = 0; k < sizeof page_headings / sizeof *page_headings; k++)
        fprintf(f, "<th>%s</th>", page_headings[k]);
    fputs("</tr></thead><tbody>", f);
    for (int i = 0; i < n; i++) {
        fputs("<tr>", f);
        for (size_t k = 0; k < sizeof page_columns / sizeof *page_columns; k++) {
            int col = page_columns[k];
            bool narrow = col == K_SEQ || col == K_CREATED || col == K_ANSWERED;
            fputs(narrow ? "<td class=\"n\">" : "<td>", f);
            if (col == K_SUMMARY && rows[i].v[K_TITLE]) {
                html_esc(f, rows[i].v[K_TITLE]);
                fputs("：", f);
            }
            html_esc(f, rows[i].v[col]);
            fputs("</td>", f);
        }
        fputs("</tr>", f);
    }
    fputs("</tbody></table></body></html>\n", f);
}

/* ------------------------------------------------------------------ */
/* XLSX                                                                */
/* ------------------------------------------------------------------ */

/* libxlsxwriter (1.1.4, Debian 12) writes only to a file: one in a
 * private directory, read back and removed at once. NULL on failure. */
static char *write_xlsx(const char *unit, struct cells *rows, int n, size_t *len)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/yijian-ledger-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return NULL;
    snprintf(path, sizeof path, "%s/ledger.xlsx", dir);
    char *out = NULL;
    lxw_workbook *wb = workbook_new(path);
    if (!wb)
        goto done;
    lxw_worksheet *ws = workbook_add_worksheet(wb, "台账");
    lxw_format *head = workbook_add_format(wb);
    format_set_bold(head);
    format_set_text_wrap(head);
    format_set_border(head, LXW_BORDER_THIN);
    format_set_bg_color(head, 0xEEEEEE);
    lxw_format *cell = workbook_add_format(wb);
    format_set_text_wrap(cell);
    format_set_align(cell, LXW_ALIGN_VERTICAL_TOP);
    format_set_border(cell, LXW_BORDER_THIN);
    workbook_set_properties(wb, &(lxw_doc_properties){ .title = (char *)unit });
    for (int k = 0; k < K__COUNT; k++) {
        worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, widths[k], NULL);
        worksheet_write_string(ws, 0, (lxw_col_t)k, headings[k], head);
    }
    worksheet_freeze_panes(ws, 1, 0);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < K__COUNT; k++) {
            /* Text, never a formula, whatever a member wrote. The number
             * as a number, so that the sheet sorts by it. */
            if (k == K_SEQ)
                worksheet_write_number(ws, (lxw_row_t)(i + 1), 0, i + 1, cell);
            else
                worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)k,
                                       rows[i].v[k] ? rows[i].v[k] : "", cell);
        }
    }
    worksheet_autofilter(ws, 0, 0, (lxw_row_t)n, K__COUNT - 1);
    worksheet_set_landscape(ws);
    worksheet_set_paper(ws, 9); /* A4 */
    worksheet_repeat_rows(ws, 0, 0);
    if (workbook_close(wb) != LXW_NO_ERROR)
        goto done;
    FILE *f = fopen(path, "rb");
    if (!f)
        goto done;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (out = malloc((size_t)size))) {
            if (fread(out, 1, (size_t)size, f) != (size_t)size) {
                free(out);
                out = NULL;
            } else {
                *len = (size_t)size;
            }
        }
    }
    fclose(f);
done:
    unlink(path);
    rmdir(dir);
    return out;
}

/* ------------------------------------------------------------------ */
/* the handler                                                         */
/* ------------------------------------------------------------------ */

struct export_audit {
    struct audit_entry actor;
    char unit[24];
    const char *from, *to, *format;
    int rows;
};

static enum db_status export_audit_tx(struct db_conn *c, void *arg)
{
    struct export_audit *e = arg;
    json_t *change = json_pack("{s:{s:s, s:s, s:s, s:i}}", "after", "from", e->from, "to", e->to,
                               "format", e->format, "rows", e->rows);
    return audit_change(c, &e->actor, "ledger.export", "unit", e->unit, change);
}

enum handler_result ledger_get(struct request *r)
{
    /* Who first: the period of a unit one may not export is nobody's
     * business. */
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);

    struct validator v;
    validator_init_query(&v, r);
    const char *from = query_day(&v, "from", true, "from: expected a day, YYYY-MM-DD");
    const char *to = query_day(&v, "to", true, "to: expected a day, YYYY-MM-DD");
    if (from && to && strcmp(from, to) > 0)
        query_error(&v, "from: after to");
    static const char *const formats[] = { "xlsx", "csv", "html", NULL };
    const char *format = query_word(&v, "format", formats, "format: expected xlsx, csv or html");
    if (!format)
        format = "xlsx";
    if (!validator_passed(r, &v, &out))
        return out;


    struct export_audit e = { .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id,
                                         .request_id = r->request_id },
                              .from = from, .to = to, .format = format };
    snprintf(e.unit, sizeof e.unit, "%lld", az.unit_id);
    char limit[16];
    snprintf(limit, sizeof limit, "%d", LEDGER_MAX_ROWS + 1);
    const char *params[] = { e.unit, from, to, limit };
    enum db_status st;
    char unit_name[UNIT_NAME_MAX_CHARS * 4 + 1] = "";
    const struct db_field unit_spec[] = { DB_TEXT("name", unit_name), DB_END };
    if (db_one(r->db, STMT_UNIT_BY_ID, params, unit_spec, &st) < 0)
        return reply_db_error(r, st);
    struct ledger_read k = { 0 };
    struct ledger_row *l = &k.l;
    const struct db_field spec[] = {
        DB_TEXT_REF("public_id", &l->id), DB_TEXT_REF("created_at", &l->created),
        DB_TEXT_REF("unit_name", &l->unit), DB_TEXT_REF("category_name", &l->category),
        DB_BOOL("anonymous", &l->anonymous), DB_TEXT_REF_N("author_name", &l->author),
        DB_TEXT_REF("title", &l->title), DB_TEXT_REF("body", &l->body),
        DB_TEXT_REF_N("handler_name", &l->handler), DB_TEXT_REF("status", &l->status),
        DB_TEXT_REF_N("decision", &l->decision), DB_TEXT_REF_N("answer", &l->answer),
        DB_TEXT_REF_N("answered_at", &l->answered), DB_TEXT_REF_N("rating", &l->rating),
        DB_TEXT_REF_N("steps", &l->steps), DB_BOOL_N("on_time", &l->on_time), DB_END,
    };
    long long got = db_each(r->db, STMT_LEDGER, params, spec, ledger_row_read, &k, &st);
    int n = (int)k.n;
    struct cells *rows = k.rows;
    if (got >= 0 && !rows) /* an empty period */
        rows = k.rows = calloc(1, sizeof *rows);
    if (got < 0 || !rows) {
        for (int i = 0; i < n; i++)
            cells_free(&rows[i]);
        free(rows);
        if (k.too_many)
            return reply_invalid(r, "",
                                 "the period holds more than 10000 suggestions; "
                                 "choose a shorter one");
        return reply_db_error(r, got < 0 ? st : DB_ERROR);
    }
    e.rows = n;

    char *buf = NULL;
    size_t len = 0;
    const char *type;
    if (!strcmp(format, "xlsx")) {
        type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        buf = write_xlsx(unit_name, rows, n, &len);
    } else {
        FILE *f = open_memstream(&buf, &len);
        if (f) {
            if (!strcmp(format, "csv"))
                write_csv(f, rows, n);
            else
                write_page(f, unit_name, from, to, rows, n);
            fclose(f);
        }
        type = !strcmp(format, "csv") ? "text/csv; charset=utf-8" : "text/html; charset=utf-8";
    }
    for (int i = 0; i < n; i++)
        cells_free(&rows[i]);
    free(rows);
    if (!buf)
        return reply_db_error(r, DB_ERROR);

    /* Who exported what, before anyone has it. */
    if ((st = db_transaction(r->db, export_audit_tx, &e)) != DB_OK) {
        free(buf);
        return reply_db_error(r, st);
    }
    if (!strcmp(format, "html")) {
        html_style_csp(r, page_style);
    } else {
        char disposition[128];
        snprintf(disposition, sizeof disposition,
                 "attachment; filename=\"ledger-%s-%s-%s.%s\"", e.unit, from, to, format);
        request_add_header(r, "Content-Disposition", disposition);
    }
    out = reply_bytes(r, 200, type, buf, len, 0);
    free(buf);
    return out;
}
