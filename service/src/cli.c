/* Operator CLI commands. They use the same statements, transaction runner
 * and audit writer as the HTTP handlers. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/signing.h"
#include "domain/accounts.h"
#include "domain/secret_store.h"
#include "domain/audit_verify.h"
#include "domain/bulletins.h"
#include "domain/roster.h"
#include "db/db.h"
#include "http/problem_text.h"
#include "http/reply.h"
#include "util/decimal.h"
#include "util/log.h"
#include "util/text.h"
#include "util/utf8.h"
#include "routes/routes.h"

struct create_admin_ctx {
    const char *login, *display_name;
    unsigned ttl;
    struct account_new out;
};

static enum db_status create_admin_tx(struct db_conn *c, void *arg)
{
    struct create_admin_ctx *a = arg;
    struct audit_entry system = { .actor = AUDIT_SYSTEM };
    return account_create(c, &system, a->login, a->display_name, true, a->ttl, &a->out);
}

/* The reason a file could not be read, in Chinese for the common ones. */
static const char *errno_text(int e)
{
    switch (e) {
    case ENOENT:
        return "没有这个文件";
    case EACCES:
        return "没有读取权限";
    case EISDIR:
        return "这是一个目录";
    default:
        return strerror(e);
    }
}

int cli_create_admin(const struct config *cfg, const char *login, const char *given_name)
{
    /* The name in the one spelling the API and the roster store. */
    char display_name[DISPLAY_NAME_MAX_CHARS * 4 + 1];
    size_t gn = strlen(given_name), dn = 0;
    bool name_ok = gn < sizeof display_name && utf8_valid(given_name, gn);
    if (name_ok) {
        memcpy(display_name, given_name, gn + 1);
        dn = utf8_length(display_name, text_normalize(display_name, gn));
    }
    size_t ln = utf8_length(login, strlen(login));
    if (!utf8_valid(login, strlen(login)) || ln < 1 || ln > LOGIN_MAX_CHARS || !name_ok ||
        dn < 1 || dn > DISPLAY_NAME_MAX_CHARS) {
        fprintf(stderr, "yijian：登录名须为 1 到 %d 个字，姓名须为 1 到 %d 个字（UTF-8）\n",
                LOGIN_MAX_CHARS, DISPLAY_NAME_MAX_CHARS);
        return 2;
    }
    struct db_conn *c = db_open(cfg->database_url, cfg->db_connect_timeout);
    if (!c)
        return 1;
    struct create_admin_ctx a = { .login = login, .display_name = display_name,
                                  .ttl = cfg->activation_ttl };
    enum db_status st = db_transaction(c, create_admin_tx, &a);
    db_close(c);
    if (st == DB_UNIQUE) {
        fprintf(stderr, "yijian：登录名“%s”已有账号\n", login);
        return 1;
    }
    if (st != DB_OK) {
        fprintf(stderr, "yijian：未能创建账号（原因见上面的日志）\n");
        return 1;
    }
    printf("%s\n", a.out.code);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ */
/* import-roster                                                       */
/* ------------------------------------------------------------------ */

/* Reads at most ROSTER_MAX_BYTES of path into *data (caller frees; NULL
 * for an empty file). Returns 0, or 1 with the reason printed. */
static int read_roster_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "yijian：无法打开 %s：%s\n", path, errno_text(errno));
        return 1;
    }
    /* A regular file is refused unread; anything else (a pipe) is read
     * until one byte past the limit. */
    struct stat sb;
    bool too_large = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
                     (unsigned long long)sb.st_size > ROSTER_MAX_BYTES;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 1;
    while (!too_large) {
        if (*len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > ROSTER_MAX_BYTES + 1)
                ncap = ROSTER_MAX_BYTES + 1;
            if (ncap == cap) {
                too_large = true;
                break;
            }
            char *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                fprintf(stderr, "yijian：内存不足\n");
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "yijian：无法读取 %s：%s\n", path, errno_text(errno));
            goto out;
        }
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    if (too_large) {
        fprintf(stderr, "yijian：%s 超过 %u MiB，请拆成几个文件；未导入任何内容\n",
                path, ROSTER_MAX_BYTES >> 20);
        goto out;
    }
    *data = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

static void print_roster_errors(const char *path, const struct roster_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        if (errs->items[i].line)
            fprintf(stderr, "第 %u 行：%s\n", errs->items[i].line, errs->items[i].message);
        else
            fprintf(stderr, "%s\n", errs->items[i].message);
    }
    if (errs->total > errs->count)
        fprintf(stderr, "……另有 %zu 处错误\n", errs->total - errs->count);
    fprintf(stderr, "yijian: %s：%zu 处错误，未导入任何内容\n", path, errs->total);
}

/* The first line of the last database error, without libpq's "ERROR:  "
 * (the whole of it is in the log line above). */
static void short_db_error(const struct db_conn *c, char *out, size_t size)
{
    const char *e = db_last_error(c);
    if (!strncmp(e, "ERROR:  ", 8))
        e += 8;
    snprintf(out, size, "%.*s", (int)strcspn(e, "\n"), *e ? e : "out of memory");
}

struct import_ctx {
    const struct roster *roster;
    unsigned ttl;
    struct roster_outcome outcome;
    struct roster_errors errs;
};

static enum db_status import_tx(struct db_conn *c, void *arg)
{
    struct import_ctx *x = arg;
    return roster_apply(c, x->roster, NULL, x->ttl, &x->outcome, &x->errs);
}

int cli_import_roster(const struct config *cfg, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    struct roster roster = { 0 };
    struct import_ctx x = { .roster = &roster, .ttl = cfg->activation_ttl };
    struct db_conn *c = NULL;
    int rc = 1;

    if (read_roster_file(path, &data, &len))
        goto out;
    if (roster_parse(data, len, &roster, &x.errs) < 0) {
        print_roster_errors(path, &x.errs);
        goto out;
    }
    c = db_open(cfg->database_url, cfg->db_connect_timeout);
    if (!c) {
        fprintf(stderr, "yijian：无法连接数据库；未导入任何内容\n");
        goto out;
    }
    enum db_status st = db_transaction(c, import_tx, &x);
    if (st == DB_ABORT && x.errs.total) {
        print_roster_errors(path, &x.errs);
        goto out;
    }
    char why[256];
    if (st == DB_UNIQUE) {
        short_db_error(c, why, sizeof why);
        fprintf(stderr, "yijian：导入期间有人创建了 %s 中的单位或账号，或者文件中有两个登录名"
                        "只差非英文字母的大小写；未导入任何内容（%s）\n", path, why);
        goto out;
    }
    if (st != DB_OK) {
        short_db_error(c, why, sizeof why);
        fprintf(stderr, "yijian：导入失败，已全部撤销；未导入任何内容（%s）\n", why);
        goto out;
    }

    /* Codes only once they are committed: a code of a rolled-back account
     * would activate nothing. */
    for (size_t i = 0; i < x.outcome.accounts_created; i++)
        printf("%s\t%s\t%s\n", x.outcome.created[i].login, x.outcome.created[i].account.code,
               x.outcome.created[i].account.code_expires_at);
    fflush(stdout);
    fprintf(stderr,
            "已导入 %zu 行：新建单位 %zu 个、账号 %zu 个；更新账号 %zu 个；"
            "变更成员关系 %zu 项\n",
            roster.row_count, x.outcome.units_created, x.outcome.accounts_created,
            x.outcome.accounts_updated, x.outcome.memberships_changed);
    rc = 0;
out:
    db_close(c);
    roster_outcome_free(&x.outcome);
    roster_errors_free(&x.errs);
    roster_free(&roster);
    free(data);
    return rc;
}

/* ------------------------------------------------------------------ */
/* verify-audit                                                        */
/* ------------------------------------------------------------------ */

int cli_verify_audit(const struct config *cfg, const char *key_b64)
{
    /* The checkpoints' signatures need only the public key: given with
     * --key (GET /v1/bulletins/key), the master key is not needed. */
    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    size_t klen = 0;
    if (key_b64 && (sodium_base642bin(pk, sizeof pk, key_b64, strlen(key_b64), NULL, &klen, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
                    klen != sizeof pk)) {
        fprintf(stderr, "yijian verify-audit：--key 须为 32 字节的 base64\n");
        return 2;
    }
    if (!key_b64 && !cfg->master_key_set) {
        fprintf(stderr, "yijian verify-audit：需要主密钥（MASTER_KEY 或 MASTER_KEY_FILE），"
                        "或者用 --key BASE64 给出公钥（GET /v1/bulletins/key）："
                        "核对审计检查点要用本服务的签名密钥\n");
        return 2;
    }
    struct db_conn *c = db_open(cfg->database_url, cfg->db_connect_timeout);
    if (!c) {
        fprintf(stderr, "yijian：无法连接数据库；未做任何核对\n");
        return 2;
    }
    enum db_status st = DB_OK;
    enum secret_status ss = key_b64 ? SECRET_OK : signing_key_load(c, cfg->master_key, pk, sk, &st);
    sodium_memzero(sk, sizeof sk);
    struct audit_report *r = ss == SECRET_OK ? malloc(sizeof *r) : NULL;
    if (r)
        st = audit_verify(c, pk, r);
    db_close(c);
    if (ss != SECRET_OK || !r || st != DB_OK) {
        fprintf(stderr, "yijian：未能核对审计日志（原因见上面的日志）\n");
        free(r);
        return 2;
    }

    char head[AUDIT_HASH_HEX + 1], key[2 * SIGNING_PUBLIC_KEY_BYTES + 1], line[512];
    sodium_bin2hex(head, sizeof head, r->head, sizeof r->head);
    sodium_bin2hex(key, sizeof key, pk, sizeof pk);
    if (r->intact) {
        audit_report_summary(r, line, sizeof line);
        printf("%s\n", line);
    } else {
        printf("tampered: %lld problem%s\n", r->problem_count, r->problem_count == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_problems; i++)
            printf("%s\n", r->problems[i].message);
        if (r->problem_count > (long long)r->n_problems)
            printf("... and %lld more\n", r->problem_count - (long long)r->n_problems);
        printf("chain of %lld links, head %s\n", r->sealed_through, head);
    }
    printf("signed through seq %lld (horizon %lld) with Ed25519 key %s; %lld rows pending\n",
           r->signed_through, r->horizon, key, r->pending);
    fflush(stdout);
    int rc = r->intact ? 0 : 1;
    free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* publish, verify-bulletin                                            */
/* ------------------------------------------------------------------ */

int cli_publish(const struct config *cfg, const char *unit)
{
    long long unit_id = 0;
    if (!decimal_parse(unit, 1, LLONG_MAX, &unit_id)) {
        fprintf(stderr, "yijian publish：UNIT_ID 须为正整数编号\n");
        return 2;
    }
    if (!cfg->master_key_set) {
        fprintf(stderr, "yijian publish：需要主密钥（MASTER_KEY 或 MASTER_KEY_FILE）："
                        "通报要用本服务的密钥签名\n");
        return 2;
    }
    struct db_conn *c = db_open(cfg->database_url, cfg->db_connect_timeout);
    if (!c) {
        fprintf(stderr, "yijian：无法连接数据库；未公开任何内容\n");
        return 2;
    }
    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    enum db_status st;
    enum secret_status ss = signing_key_load(c, cfg->master_key, pk, sk, &st);
    struct bulletin_request q = { .unit_id = unit_id, .actor = AUDIT_SYSTEM, .sk = sk };
    if (ss == SECRET_OK)
        st = db_transaction(c, bulletin_publish_tx, &q);
    sodium_memzero(sk, sizeof sk);
    db_close(c);
    if (ss != SECRET_OK) {
        fprintf(stderr, "yijian：无法读取签名密钥；未公开任何内容\n");
        return 2;
    }
    switch (q.outcome) {
    case BULLETIN_NO_UNIT:
        fprintf(stderr, "yijian publish：没有编号为 %lld 的单位\n", unit_id);
        return 1;
    case BULLETIN_NOTHING:
        fprintf(stderr, "yijian publish：没有可公开的内容：单位 %lld 没有已答复、待公开的意见\n", unit_id);
        return 1;
    case BULLETIN_BAD_CORRECTS: /* neither happens without corrects or slot */
    case BULLETIN_SLOT_DONE:
    case BULLETIN_PUBLISHED:
        break;
    }
    if (st != DB_OK) {
        fprintf(stderr, "yijian：未能公开（原因见上面的日志）；未公开任何内容\n");
        return 2;
    }
    printf("bulletin %lld: %d suggestion%s published\n", q.id, q.items, q.items == 1 ? "" : "s");
    return 0;
}

int cli_verify_bulletin(int argc, char **argv)
{
    const char *path = NULL, *key = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = argv[++i];
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (!path) {
        fprintf(stderr, "用法：yijian verify-bulletin 文件 [--key BASE64]\n");
        return 2;
    }
    unsigned char expected[SIGNING_PUBLIC_KEY_BYTES];
    size_t klen = 0;
    if (key && (sodium_base642bin(expected, sizeof expected, key, strlen(key), NULL, &klen, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0 ||
                klen != sizeof expected)) {
        fprintf(stderr, "yijian verify-bulletin：--key 须为 32 字节的 base64\n");
        return 2;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        printf("invalid: %s is not a bulletin document: %s (line %d)\n", path, jerr.text,
               jerr.line);
        return 1;
    }
    const char *why = NULL;
    bool ok = bulletin_verify_document(doc, key ? expected : NULL, &why);
    const json_t *b = json_object_get(doc, "bulletin");
    if (ok)
        printf("valid: bulletin %lld of unit %lld, %zu item%s, signed by %s\n",
               (long long)json_integer_value(json_object_get(b, "id")),
               (long long)json_integer_value(json_object_get(json_object_get(b, "unit"), "id")),
               json_array_size(json_object_get(b, "items")),
               json_array_size(json_object_get(b, "items")) == 1 ? "" : "s",
               json_string_value(json_object_get(doc, "public_key")));
    else
        printf("invalid: %s\n", why);
    json_decref(doc);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* routes                                                              */
/* ------------------------------------------------------------------ */

static const char *route_body(unsigned flags)
{
    return flags & ROUTE_JSON_BODY       ? "JSON"
           : flags & ROUTE_JSON_OPTIONAL ? "JSON, optional"
           : flags & ROUTE_CSV_BODY      ? "CSV"
                                         : "";
}

int cli_routes(int argc, char **argv)
{
    static const char *const names[] = ROUTE_CALLER_NAMES;
    bool as_json = argc == 2 && !strcmp(argv[1], "--json");
    if (argc > 2 || (argc == 2 && !as_json)) {
        fprintf(stderr, "用法：yijian routes [--json]\n");
        return 2;
    }
    if (as_json) {
        json_t *list = json_array();
        for (size_t i = 0; i < routes_count; i++) {
            json_t *callers = json_array();
            for (size_t b = 0; b < sizeof names / sizeof names[0]; b++)
                if (routes[i].callers & (1u << b))
                    json_array_append_new(callers, json_string(names[b]));
            json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:s, s:s}", "method",
                                                  routes[i].method, "path", routes[i].pattern,
                                                  "callers", callers, "who", routes[i].who,
                                                  "body", route_body(routes[i].flags)));
        }
        char *text = json_dumps(list, JSON_INDENT(2));
        json_decref(list);
        if (!text)
            return 1;
        puts(text);
        free(text);
        return 0;
    }
    printf("| method | path | who may call it | body |\n|---|---|---|---|\n");
    for (size_t i = 0; i < routes_count; i++)
        printf("| %s | `%s` | %s | %s |\n", routes[i].method, routes[i].pattern, routes[i].who,
               route_body(routes[i].flags));
    return 0;
}

/* ------------------------------------------------------------------ */
/* problem texts                                                       */
/* ------------------------------------------------------------------ */

static const char *zh_detail(const char *en, char *buf, size_t size)
{
    return en && problem_text_detail_zh(en, buf, size) ? buf : NULL;
}

int cli_problem_text(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "用法：yijian problem-text < 问题.jsonl\n");
        return 2;
    }
    char line[16384];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        json_error_t jerr;
        json_t *in = json_loads(line, 0, &jerr);
        const char *type = json_string_value(json_object_get(in, "type"));
        if (!type) {
            fprintf(stderr, "yijian problem-text：这一行不是 {\"type\": …} 对象：%.80s\n", line);
            json_decref(in);
            rc = 2;
            continue;
        }
        const char *title = NULL;
        for (size_t k = 0; k < PROBLEM__COUNT; k++) {
            char t[64];
            snprintf(t, sizeof t, "/problems/%s", problem_defs[k].slug);
            if (!strcmp(t, type))
                title = problem_text_title_zh((enum problem)k);
        }
        char buf[512];
        json_t *out = json_pack("{s:s, s:s?}", "type", type, "title", title);
        json_t *detail = json_object_get(in, "detail");
        if (json_is_string(detail)) {
            const char *zh = zh_detail(json_string_value(detail), buf, sizeof buf);
            json_object_set_new(out, "detail", zh ? json_string(zh) : json_null());
        }
        json_t *errors = json_object_get(in, "errors");
        if (json_is_array(errors)) {
            json_t *zs = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(errors, i, e) {
                const char *zh = zh_detail(json_string_value(e), buf, sizeof buf);
                json_array_append_new(zs, zh ? json_string(zh) : json_null());
            }
            json_object_set_new(out, "errors", zs);
        }
        char *text = json_dumps(out, JSON_COMPACT);
        if (text)
            puts(text);
        free(text);
        json_decref(out);
        json_decref(in);
    }
    return rc;
}
