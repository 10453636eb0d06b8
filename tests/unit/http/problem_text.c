/* Tests service/src/http/problem_text.c: language choice, templates, and
 * that every detail string written in service/src has a Chinese entry.
 *
 * The source check reads every .c file under service/src (the CLI's own
 * messages in cli.c and client/ excepted: they are not problem details)
 * and collects the string literals that become a problem's detail:
 *   - every literal among the arguments of reply_problem, validator_error,
 *     domain_refuse, refuse, reply_invalid and the query checks
 *     (query_error, query_decimal, query_word, query_day);
 *   - the format of an snprintf into a buffer named detail, d, reason_buf
 *     or ...->detail;
 *   - the literal after "detail", in a json_pack;
 *   - a literal assigned to why or *why, and a literal returned by the
 *     functions that explain a refused field (DETAIL_FILES below).
 * Adjacent literals are joined as the compiler joins them. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "http/problem_text.h"

/* Files where every returned literal is a field's refusal. */
static const char *const DETAIL_FILES[] = { "domain/redeem.c", "webhook/url.c", "routes/tokens.c" };

static void prefers_chinese_only_when_asked(void **state)
{
    (void)state;
    assert_false(problem_text_wants_chinese(NULL));
    assert_false(problem_text_wants_chinese(""));
    assert_false(problem_text_wants_chinese("en"));
    assert_false(problem_text_wants_chinese("*"));
    assert_true(problem_text_wants_chinese("zh-CN"));
    assert_true(problem_text_wants_chinese("zh"));
    assert_true(problem_text_wants_chinese("zh-CN,zh;q=0.9,en;q=0.8"));
    assert_true(problem_text_wants_chinese("en;q=0.5, zh-Hans-CN"));
    assert_false(problem_text_wants_chinese("en-US,en;q=0.9,zh-CN;q=0.8"));
    assert_false(problem_text_wants_chinese("en, zh"));
    assert_false(problem_text_wants_chinese("zh;q=0"));
    assert_false(problem_text_wants_chinese("zhx, en"));
    assert_true(problem_text_wants_chinese("fr, zh;q=0.3"));
}

static void every_problem_kind_has_a_chinese_title(void **state)
{
    (void)state;
    for (int k = 0; k < PROBLEM__COUNT; k++) {
        const char *t = problem_text_title_zh((enum problem)k);
        if (!t)
            fail_msg("problem %s has no Chinese title", problem_defs[k].slug);
        /* Some CJK character (UTF-8 lead byte 0xE3..0xE9). */
        bool cjk = false;
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
            cjk |= *p >= 0xE3 && *p <= 0xE9;
        if (!cjk)
            fail_msg("the title of %s is not Chinese: %s", problem_defs[k].slug, t);
    }
}

static void templates_put_values_and_known_words_in_place(void **state)
{
    (void)state;
    char out[256];
    assert_true(problem_text_detail_zh("must be 1 to 100 characters", out, sizeof out));
    assert_string_equal(out, "长度须为 1 到 100 个字");
    assert_true(problem_text_detail_zh("cannot accept a suggestion that is accepted", out, sizeof out));
    assert_string_equal(out, "这条意见已受理，不能再受理");
    assert_true(problem_text_detail_zh("is required", out, sizeof out));
    assert_string_equal(out, "必须填写");
    assert_false(problem_text_detail_zh("no such thing in the catalogue", out, sizeof out));
    /* A number conversion takes only digits. */
    assert_false(problem_text_detail_zh("must be many to 100 characters", out, sizeof out));
    /* A short buffer is cut on a character boundary. */
    char small[8];
    assert_true(problem_text_detail_zh("is required", small, sizeof small));
    assert_string_equal(small, "必须");
}

/* ---- the source check -------------------------------------------------- */

struct found {
    char **s;
    char **where;
    size_t n, cap;
};

static void add(struct found *f, const char *s, const char *file, int line)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->s = realloc(f->s, f->cap * sizeof *f->s);
        f->where = realloc(f->where, f->cap * sizeof *f->where);
        assert_non_null(f->s);
        assert_non_null(f->where);
    }
    f->s[f->n] = strdup(s);
    char w[300];
    snprintf(w, sizeof w, "%s:%d", file, line);
    f->where[f->n] = strdup(w);
    f->n++;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    buf[got] = '\0';
    fclose(fp);
    return buf;
}

/* Reads the literal (and those adjacent to it) at p (*p == '"') into out;
 * returns the position after it. */
static const char *literal(const char *p, char *out, size_t size)
{
    size_t o = 0;
    for (;;) {
        p++;
        while (*p && *p != '"') {
            char ch = *p;
            if (ch == '\\') {
                p++;
                ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            }
            if (o + 1 < size)
                out[o++] = ch;
            p++;
        }
        if (*p)
            p++;
        const char *q = p;
        while (*q == ' ' || *q == '\n' || *q == '\t')
            q++;
        if (*q != '"')
            break;
        p = q;
    }
    out[o] = '\0';
    return p;
}

static int line_of(const char *text, const char *p)
{
    int n = 1;
    for (const char *q = text; q < p; q++)
        n += *q == '\n';
    return n;
}

/* The end of the call whose '(' is at p: the matching ')'. */
static const char *call_end(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            return p;
    }
    return p;
}

/* Every literal in [from, to). */
static void literals_in(struct found *f, const char *text, const char *from, const char *to,
                        const char *file)
{
    for (const char *p = from; p < to && *p;) {
        if (*p == '\'') { /* a character constant: skip it */
            p += p[1] == '\\' ? 4 : 3;
            continue;
        }
        if (*p != '"') {
            p++;
            continue;
        }
        char s[1024];
        const char *start = p;
        p = literal(p, s, sizeof s);
        /* A field name or pointer ("reason", "roles/0") is for machines. */
        bool field = true;
        for (const char *c = s; *c; c++)
            field &= (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '/';
        /* snprintf(a->detail, ..., "%s", detail) only passes one on. */
        if (*s && !field && strcmp(s, "%s") != 0)
            add(f, s, file, line_of(text, start));
    }
}

static bool ident_before(const char *text, const char *p, const char *name)
{
    size_t n = strlen(name);
    if (p - text < (long)n || strncmp(p - n, name, n) != 0)
        return false;
    char c = p - n > text ? p[-(long)n - 1] : ' ';
    return !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
}

static void scan_file(struct found *f, const char *path, const char *rel)
{
    char *text = slurp(path);
    assert_non_null(text);
    bool detail_file = false;
    for (size_t i = 0; i < sizeof DETAIL_FILES / sizeof DETAIL_FILES[0]; i++)
        detail_file |= strcmp(rel, DETAIL_FILES[i]) == 0;
    static const char *const sinks[] = { "reply_problem", "validator_error", "refuse", "query_error",
                                         "domain_refuse", "reply_invalid", "query_decimal",
                                         "query_word", "query_day" };
    for (const char *p = text; *p; p++) {
        /* skip comments */
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            if (!e)
                break;
            p = e + 1;
            continue;
        }
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                p++;
            if (!*p)
                break;
            continue;
        }
        if (*p == '"') { /* a literal not in a sink: step over it whole */
            char s[1024];
            const char *after = literal(p, s, sizeof s);
            /* "detail", "..." inside json_pack */
            if (!strcmp(s, "detail")) {
                const char *q = after;
                while (*q == ' ' || *q == '\n' || *q == ',')
                    q++;
                if (*q == '"') {
                    char d[1024];
                    const char *st = q;
                    after = literal(q, d, sizeof d);
                    add(f, d, rel, line_of(text, st));
                }
            }
            p = after - 1;
            continue;
        }
        if (*p == '(') {
            for (size_t i = 0; i < sizeof sinks / sizeof sinks[0]; i++) {
                if (ident_before(text, p, sinks[i])) {
                    const char *e = call_end(p);
                    literals_in(f, text, p, e, rel);
                    p = e;
                    break;
                }
            }
            if (ident_before(text, p, "snprintf")) {
                const char *a = p + 1;
                while (*a == ' ')
                    a++;
                const char *comma = strchr(a, ',');
                if (comma) {
                    size_t n = (size_t)(comma - a);
                    bool named = (n == 6 && !strncmp(a, "detail", 6)) || (n == 1 && *a == 'd') ||
                                 (n == 10 && !strncmp(a, "reason_buf", 10)) ||
                                 (n > 8 && !strncmp(comma - 8, "->detail", 8));
                    if (named) {
                        const char *q = strchr(comma + 1, ',');
                        while (q && (*q == ',' || *q == ' ' || *q == '\n'))
                            q++;
                        if (q && *q == '"') {
                            char d[1024];
                            literal(q, d, sizeof d);
                            if (strcmp(d, "%s") != 0)
                                add(f, d, rel, line_of(text, q));
                        }
                    }
                }
            }
            continue;
        }
        /* why = ...; *why = ...; return ...; (no call) in a detail file: every literal up to the ';' */
        if ((p[0] == '=' && p[1] == ' ' && ident_before(text, p - 1, "why")) ||
            (detail_file && p[0] == ' ' && ident_before(text, p, "return"))) {
            const char *e = p;
            while (*e && *e != ';') {
                if (*e == '"')
                    for (e++; *e && *e != '"'; e++)
                        if (*e == '\\')
                            e++;
                if (*e)
                    e++;
            }
            /* A return of a call (a reply) is no detail. */
            bool call = false;
            for (const char *c = p; c < e && !call; c++)
                call = *c == '(';
            if (!call || p[0] == '=')
                literals_in(f, text, p, e, rel);
            p = e;
            if (!*p)
                break;
        }
    }
    free(text);
}

static void scan_dir(struct found *f, const char *root, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%s", root, rel);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[512], full[1024];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s%s", root, sub);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (strcmp(sub, "client") != 0)
                scan_dir(f, root, sub);
        } else {
            size_t n = strlen(sub);
            if (n > 2 && !strcmp(sub + n - 2, ".c") && strcmp(sub, "cli.c") != 0)
                scan_file(f, full, sub);
        }
    }
    closedir(d);
}

static void every_detail_in_the_source_has_a_chinese_entry(void **state)
{
    (void)state;
    /* The repository root: this file is tests/unit/http/problem_text.c. */
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *cut = strstr(root, "tests/unit/http/problem_text.c");
    assert_non_null(cut);
    snprintf(cut, sizeof root - (size_t)(cut - root), "service/src/");
    struct found f = { 0 };
    scan_dir(&f, root, "");
    /* The check itself must see the details it is meant to: a few known ones. */
    const char *known[] = { "is required", "no such suggestion", "cannot rate a suggestion that is %s",
                            "must be %zu to %zu characters", "must be 64 bytes as base64url without padding",
                            "the scheme must be http or https", "%s (at byte %d)" };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        bool seen = false;
        for (size_t i = 0; i < f.n; i++)
            seen |= !strcmp(f.s[i], known[k]);
        if (!seen)
            fail_msg("the source check did not find \"%s\"", known[k]);
    }
    size_t missing = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (!problem_text_has_key(f.s[i])) {
            print_error("no Chinese entry in service/src/http/problem_text.c for \"%s\" (%s)\n",
                        f.s[i], f.where[i]);
            missing++;
        }
        free(f.s[i]);
        free(f.where[i]);
    }
    free(f.s);
    free(f.where);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefers_chinese_only_when_asked),
        cmocka_unit_test(every_problem_kind_has_a_chinese_title),
        cmocka_unit_test(templates_put_values_and_known_words_in_place),
        cmocka_unit_test(every_detail_in_the_source_has_a_chinese_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
