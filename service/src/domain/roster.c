/* The roster import: a CSV parser and validator that never touches the
 * database (so that a bad file is refused whole, with every error listed),
 * then the part that applies a parsed roster in one transaction. */
#include "domain/roster.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/rows.h"
#include "domain/units.h"
#include "util/text.h"
#include "util/utf8.h"

#define FIELDS 5
/* Values quoted in messages are cut to this many characters. */
#define CLIP_CHARS 40
#define CLIP_BYTES (CLIP_CHARS * 4 + 8)

static const char *const columns[FIELDS] = { "login", "display_name", "unit_path", "role",
                                             "portfolios" };
/* The columns as messages name them. */
static const char *const column_names[FIELDS] = { "登录名", "姓名", "单位路径", "角色", "分工" };
enum { COL_LOGIN, COL_NAME, COL_PATH, COL_ROLE, COL_PORTFOLIOS };
/* membership_role_valid's list; a file may spell them in any case. */
static const char *const role_names[] = { "member", "committee", "secretary" };

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

static void add_error(struct roster_errors *errs, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct roster_errors *errs, unsigned line, const char *fmt, ...)
{
    errs->total++;
    if (errs->count >= ROSTER_ERRORS_KEPT)
        return;
    /* Grows by doubling; the cap keeps a file of errors from eating memory. */
    if ((errs->count & (errs->count - 1)) == 0) {
        size_t cap = errs->count ? errs->count * 2 : 8;
        struct roster_error *items = realloc(errs->items, cap * sizeof *items);
        if (!items)
            return;
        errs->items = items;
    }
    struct roster_error *e = &errs->items[errs->count++];
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* Stable, so that the errors of one line keep the order they were found in. */
static void sort_errors(struct roster_errors *errs)
{
    for (size_t i = 1; i < errs->count; i++) {
        struct roster_error e = errs->items[i];
        size_t j = i;
        for (; j > 0 && errs->items[j - 1].line > e.line; j--)
            errs->items[j] = errs->items[j - 1];
        errs->items[j] = e;
    }
}

void roster_errors_free(struct roster_errors *errs)
{
    if (!errs)
        return;
    free(errs->items);
    memset(errs, 0, sizeof *errs);
}

/* s (valid UTF-8 without control characters) as a message shows it: at
 * most CLIP_CHARS characters. */
static const char *clip(char out[CLIP_BYTES], const char *s)
{
    size_t i = 0, chars = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (u[i]) {
        if ((u[i] & 0xC0) != 0x80 && chars++ == CLIP_CHARS)
            break;
        i++;
    }
    if (!u[i]) {
        snprintf(out, CLIP_BYTES, "%s", s);
    } else {
        snprintf(out, CLIP_BYTES, "%.*s…", (int)i, s);
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static bool grow(void *arrayp, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*(void **)arrayp, n * elem);
    if (!p)
        return false;
    *(void **)arrayp = p;
    *cap = n;
    return true;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Trims spaces and tabs from both ends of s[0..*len), in place. */
static char *trim(char *s, size_t *len)
{
    while (*len > 0 && is_space(s[0])) {
        s++;
        (*len)--;
    }
    while (*len > 0 && is_space(s[*len - 1]))
        (*len)--;
    s[*len] = '\0';
    return s;
}

static bool has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return true;
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

const char *roster_unit_level(const char *name)
{
    if (!name)
        return NULL;
    /* UTF-8 is self-synchronising, so a byte suffix is a character suffix. */
    if (ends_with(name, "党委"))
        return "committee";
    if (ends_with(name, "党总支"))
        return "general_branch";
    if (ends_with(name, "党支部"))
        return "branch";
    if (ends_with(name, "党小组"))
        return "group";
    return NULL;
}

/* ------------------------------------------------------------------ */
/* an index by hash (open addressing; entries are array indexes)       */
/* ------------------------------------------------------------------ */

struct map_slot {
    uint64_t hash;
    size_t index; /* index + 1; 0 is an empty slot */
};

struct map {
    struct map_slot *slots;
    size_t mask, count;
};

struct parser;
typedef bool (*map_eq)(const struct parser *p, size_t index, const void *key);

static uint64_t fnv(uint64_t h, const void *data, size_t n, bool fold)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < n; i++) {
        h ^= fold ? (unsigned char)ascii_lower((char)s[i]) : s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_START 0xcbf29ce484222325ULL

static bool map_reserve(struct map *m)
{
    size_t cap = m->slots ? m->mask + 1 : 0;
    if ((m->count + 1) * 2 <= cap)
        return true;
    size_t ncap = cap ? cap * 2 : 64;
    struct map_slot *slots = calloc(ncap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < cap; i++) {
        if (!m->slots[i].index)
            continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (slots[j].index)
            j = (j + 1) & (ncap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->mask = ncap - 1;
    return true;
}

/* The slot holding the entry equal to key, or the empty slot where it
 * would go. Call map_reserve first. */
static struct map_slot *map_find(struct map *m, uint64_t hash, map_eq eq,
                                 const struct parser *p, const void *key)
{
    for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
        struct map_slot *s = &m->slots[i];
        if (!s->index || (s->hash == hash && eq(p, s->index - 1, key)))
            return s;
    }
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */
/* ------------------------------------------------------------------ */

struct field {
    char *s;
    size_t len;
};

struct parser {
    const char *in;
    size_t len, pos;
    unsigned line; /* of in[pos] */
    char *out;     /* unescaped fields, each NUL-terminated: roster.text */
    size_t w;
    struct roster *r;
    struct roster_errors *errs;
    size_t rows_cap, units_cap, accounts_cap, members_cap;
    struct map units, accounts, members;
    size_t data_rows;
    bool oom;
};

enum record { RECORD_OK, RECORD_BAD, RECORD_FATAL, RECORD_END };

/*
 * Reads one CSV record (RFC 4180, with spaces around fields allowed and
 * trimmed), unescaping into p->out. Keeps the first FIELDS fields, counts
 * them all in *nfields. RECORD_BAD: a syntax error, reported, the rest of
 * the record skipped. RECORD_FATAL: an unterminated quote, reported.
 * Each field's NUL takes the place of its delimiter, and the one field
 * that may end at end of input without one fits in the buffer's extra
 * byte, so p->out never needs more than len + 1 bytes.
 */
static enum record read_record(struct parser *p, struct field *f, size_t *nfields)
{
    const char *in = p->in;
    size_t len = p->len;
    if (p->pos >= len)
        return RECORD_END;
    bool bad = false;
    *nfields = 0;
    for (;;) {
        while (p->pos < len && is_space(in[p->pos]))
            p->pos++;
        size_t start = p->w;
        if (p->pos < len && in[p->pos] == '"') {
            unsigned open_line = p->line;
            p->pos++;
            for (;;) {
                if (p->pos >= len) {
                    add_error(p->errs, open_line,
                              "引号没有闭合（一个 \" 缺少与之配对的 \"）");
                    return RECORD_FATAL;
                }
                char c = in[p->pos];
                if (c == '"') {
                    if (p->pos + 1 < len && in[p->pos + 1] == '"') {
                        p->out[p->w++] = '"';
                        p->pos += 2;
                        continue;
                    }
                    p->pos++;
                    break;
                }
                if (c == '\n')
                    p->line++;
                p->out[p->w++] = c;
                p->pos++;
            }
            while (p->pos < len && is_space(in[p->pos]))
                p->pos++;
            if (p->pos < len && in[p->pos] != ',' && in[p->pos] != '\n' &&
                !(in[p->pos] == '\r' && p->pos + 1 < len && in[p->pos + 1] == '\n')) {
                if (!bad)
                    add_error(p->errs, p->line,
                              "字段的闭合引号后还有文字（引号内的引号请写成 \"\"）");
                bad = true;
                while (p->pos < len && in[p->pos] != ',' && in[p->pos] != '\n')
                    p->pos++;
            }
        } else {
            while (p->pos < len && in[p->pos] != ',' && in[p->pos] != '\n') {
                char c = in[p->pos];
                if (c == '\r' && p->pos + 1 < len && in[p->pos + 1] == '\n')
                    break;
                if (c == '"' && !bad) {
                    add_error(p->errs, p->line,
                              "字段中间出现引号（请用引号括起整个字段，并把其中的引号写成 "
                              "\"\"）");
                    bad = true;
                }
                p->out[p->w++] = c;
                p->pos++;
            }
        }
        size_t flen = p->w - start;
        char *s = trim(p->out + start, &flen);
        p->w = (size_t)(s - p->out) + flen + 1; /* past the NUL trim wrote */
        if (*nfields < FIELDS)
            f[*nfields] = (struct field){ s, flen };
        (*nfields)++;

        if (p->pos >= len)
            break;
        if (in[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (in[p->pos] == '\r')
            p->pos++;
        p->pos++; /* '\n' */
        p->line++;
        break;
    }
    return bad ? RECORD_BAD : RECORD_OK;
}

/* Reports each line of in[from..to) (starting at line) that is not UTF-8. */
static bool check_utf8(struct parser *p, size_t from, size_t to, unsigned line)
{
    if (utf8_valid(p->in + from, to - from))
        return true;
    while (from < to) {
        const char *nl = memchr(p->in + from, '\n', to - from);
        size_t end = nl ? (size_t)(nl - p->in) : to;
        if (!utf8_valid(p->in + from, end - from))
            add_error(p->errs, line,
                      "不是有效的 UTF-8 编码（请在 Excel 中另存为“CSV UTF-8”格式）");
        from = end + 1;
        line++;
    }
    return false;
}

static bool unit_eq(const struct parser *p, size_t index, const void *key)
{
    const struct roster_unit *k = key, *u = &p->r->units[index];
    return u->parent == k->parent && !strcmp(u->name, k->name);
}

static bool account_eq(const struct parser *p, size_t index, const void *key)
{
    const char *a = p->r->accounts[index].login, *b = key;
    while (*a && ascii_lower(*a) == ascii_lower(*b)) {
        a++;
        b++;
    }
    return !*a && !*b;
}

static bool member_eq(const struct parser *p, size_t index, const void *key)
{
    const struct roster_membership *k = key, *m = &p->r->memberships[index];
    return m->account == k->account && m->unit == k->unit;
}

static uint64_t mix(uint64_t h, size_t v) { return fnv(h, &v, sizeof v, false); }

/* The index of the unit named name under parent, added when new;
 * ROSTER_NONE when out of memory. */
static size_t unit_index(struct parser *p, size_t parent, const char *name, unsigned line)
{
    struct roster_unit key = { .parent = parent, .name = name };
    uint64_t h = fnv(mix(FNV_START, parent), name, strlen(name), false);
    if (!map_reserve(&p->units) ||
        !grow(&p->r->units, &p->units_cap, p->r->unit_count + 1, sizeof *p->r->units))
        return ROSTER_NONE;
    struct map_slot *s = map_find(&p->units, h, unit_eq, p, &key);
    if (s->index)
        return s->index - 1;
    size_t i = p->r->unit_count++;
    p->r->units[i] = (struct roster_unit){ .parent = parent, .name = name,
                                           .level = roster_unit_level(name), .line = line };
    *s = (struct map_slot){ h, i + 1 };
    p->units.count++;
    return i;
}

static int qsort_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks 1..max characters; names the column or value in the message. */
static bool check_length(struct parser *p, unsigned line, const char *what, const char *s,
                         size_t len, size_t max)
{
    size_t chars = utf8_length(s, len);
    char v[CLIP_BYTES];
    if (chars == 0) {
        add_error(p->errs, line, "%s为空", what);
        return false;
    }
    if (chars > max) {
        add_error(p->errs, line, "%s“%s”超过 %zu 个字（有 %zu 个）", what,
                  clip(v, s), max, chars);
        return false;
    }
    return true;
}

/* unit_path: non-empty segments of 1..UNIT_NAME_MAX_CHARS between '/'. */
static bool check_path(struct parser *p, unsigned line, struct field *f)
{
    char v[CLIP_BYTES];
    if (!f->len) {
        add_error(p->errs, line, "单位路径为空");
        return false;
    }
    bool ok = true, empty_reported = false;
    const char *s = f->s, *end = f->s + f->len;
    for (;;) {
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *seg_end = slash ? slash : end;
        while (s < seg_end && is_space(*s))
            s++;
        const char *e = seg_end;
        while (e > s && is_space(e[-1]))
            e--;
        size_t chars = utf8_length(s, (size_t)(e - s));
        if (!chars && !empty_reported) {
            add_error(p->errs, line, "单位路径“%s”中有空的一级", clip(v, f->s));
            ok = false;
            empty_reported = true;
        } else if (chars > UNIT_NAME_MAX_CHARS) {
            char name[CLIP_BYTES * 2];
            size_t n = (size_t)(e - s) < sizeof name - 1 ? (size_t)(e - s) : sizeof name - 1;
            memcpy(name, s, n);
            name[n] = '\0';
            add_error(p->errs, line, "单位“%s”超过 %d 个字（有 %zu 个）",
                      clip(v, name), UNIT_NAME_MAX_CHARS, chars);
            ok = false;
        }
        if (!slash)
            break;
        s = slash + 1;
    }
    return ok;
}

/*
 * Splits the portfolios field on ';' in place into a new array (*out,
 * caller frees). Returns false with errors reported when a name is empty,
 * too long or listed twice.
 */
static bool split_portfolios(struct parser *p, unsigned line, struct field *f,
                             const char ***out, size_t *count)
{
    char v[CLIP_BYTES];
    size_t n = 1;
    for (size_t i = 0; i < f->len; i++)
        n += f->s[i] == ';';
    /* As many as PUT /v1/org-units/{id}/members accepts; the merging of a
     * person's rows compares lists pairwise, so an unbounded list would be
     * quadratic work on a hostile file. */
    if (n > ROSTER_MAX_PORTFOLIOS) {
        add_error(p->errs, line, "一行的分工超过 %u 项", ROSTER_MAX_PORTFOLIOS);
        *out = NULL;
        *count = 0;
        return false;
    }
    const char **names = malloc(n * sizeof *names);
    const char **sorted = malloc(n * sizeof *sorted);
    bool ok = names && sorted;
    if (!ok) {
        p->oom = true;
        goto out;
    }
    char *s = f->s;
    bool empty_reported = false;
    for (size_t i = 0; i < n; i++) {
        char *semi = strchr(s, ';');
        if (semi)
            *semi = '\0';
        size_t len = strlen(s);
        names[i] = trim(s, &len);
        size_t chars = utf8_length(names[i], len);
        if (!chars && !empty_reported) {
            add_error(p->errs, line, "分工中有空的名称（多个分工用“;”或“；”隔开）");
            ok = false;
            empty_reported = true;
        } else if (chars > PORTFOLIO_NAME_MAX_CHARS) {
            add_error(p->errs, line, "分工“%s”超过 %d 个字（有 %zu 个）",
                      clip(v, names[i]), PORTFOLIO_NAME_MAX_CHARS, chars);
            ok = false;
        }
        s = semi ? semi + 1 : s + len;
    }
    /* Sorted, duplicates are neighbours: n log n even for a silly field. */
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, qsort_strcmp);
    for (size_t i = 1; i < n; i++) {
        if (sorted[i][0] && !strcmp(sorted[i], sorted[i - 1]) &&
            (i < 2 || strcmp(sorted[i], sorted[i - 2]))) {
            add_error(p->errs, line, "分工“%s”重复", clip(v, sorted[i]));
            ok = false;
        }
    }
out:
    free(sorted);
    if (!ok) {
        free(names);
        names = NULL;
        n = 0;
    }
    *out = names;
    *count = n;
    return ok;
}

static bool same_set(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && strcmp(a[i], b[j]))
            j++;
        if (j == nb)
            return false;
    }
    return true;
}

/* Adds a valid row to the units, accounts and memberships, checking it
 * against earlier rows of the same person. */
static void merge_row(struct parser *p, struct roster_row *row)
{
    char v1[CLIP_BYTES], v2[CLIP_BYTES], v3[CLIP_BYTES];
    struct roster *r = p->r;

    size_t acc;
    uint64_t h = fnv(FNV_START, row->login, strlen(row->login), true);
    if (!map_reserve(&p->accounts) ||
        !grow(&r->accounts, &p->accounts_cap, r->account_count + 1, sizeof *r->accounts)) {
        p->oom = true;
        return;
    }
    struct map_slot *s = map_find(&p->accounts, h, account_eq, p, row->login);
    if (s->index) {
        acc = s->index - 1;
        const struct roster_account *a = &r->accounts[acc];
        if (strcmp(a->display_name, row->display_name)) {
            add_error(p->errs, row->line,
                      "登录名“%s”在此行的姓名是“%s”，在第 %u 行却是“%s”",
                      clip(v1, row->login), clip(v2, row->display_name), a->line,
                      clip(v3, a->display_name));
            return;
        }
    } else {
        acc = r->account_count++;
        r->accounts[acc] = (struct roster_account){ row->login, row->display_name, row->line };
        *s = (struct map_slot){ h, acc + 1 };
        p->accounts.count++;
    }

    struct roster_membership key = { .account = acc, .unit = row->unit };
    h = mix(mix(FNV_START, acc), row->unit);
    if (!map_reserve(&p->members) ||
        !grow(&r->memberships, &p->members_cap, r->membership_count + 1, sizeof *r->memberships)) {
        p->oom = true;
        return;
    }
    s = map_find(&p->members, h, member_eq, p, &key);
    struct roster_membership *m;
    if (s->index) {
        m = &r->memberships[s->index - 1];
    } else {
        m = &r->memberships[r->membership_count];
        *m = (struct roster_membership){ .account = acc, .unit = row->unit, .line = row->line };
        *s = (struct map_slot){ h, ++r->membership_count };
        p->members.count++;
    }
    if (!strcmp(row->role, "member")) {
        m->member = true;
    } else if (!strcmp(row->role, "secretary")) {
        m->secretary = true;
    } else if (!m->committee) {
        m->committee = true;
        m->portfolios = row->portfolios;
        m->portfolio_count = row->portfolio_count;
    } else if (!same_set(m->portfolios, m->portfolio_count, row->portfolios,
                         row->portfolio_count)) {
        /* Two lists for one committee member: which one is meant? */
        add_error(p->errs, row->line,
                  "登录名“%s”在单位“%s”的支委身份已在第 %u 行出现，两处分工不同",
                  clip(v1, row->login), clip(v2, r->units[row->unit].name), m->line);
    }
}

/* Validates one record of FIELDS fields and, when it is good, adds it. */
static void take_row(struct parser *p, unsigned line, struct field *f, size_t nfields)
{
    char v[CLIP_BYTES];
    if (nfields != FIELDS) {
        add_error(p->errs, line, "应有 %d 列（%s），实有 %zu 列", FIELDS, ROSTER_HEADER,
                  nfields);
        return;
    }
    /* One spelling for what looks the same (util/text.h): a U+3000 around
     * a unit or portfolio, '；' between portfolios, '／' in a path. */
    for (int i = 0; i < FIELDS; i++)
        f[i].len = text_normalize(f[i].s, f[i].len);
    bool ok = true, usable[FIELDS];
    for (int i = 0; i < FIELDS; i++) {
        usable[i] = !has_control(f[i].s, f[i].len);
        if (!usable[i]) {
            add_error(p->errs, line, "%s含有控制字符（换行、制表符等）",
                      column_names[i]);
            ok = false;
        }
    }
    if (usable[COL_LOGIN])
        ok &= check_length(p, line, "登录名", f[COL_LOGIN].s, f[COL_LOGIN].len, LOGIN_MAX_CHARS);
    if (usable[COL_NAME])
        ok &= check_length(p, line, "姓名", f[COL_NAME].s, f[COL_NAME].len,
                           DISPLAY_NAME_MAX_CHARS);
    if (usable[COL_PATH])
        ok &= check_path(p, line, &f[COL_PATH]);

    const char *role = NULL;
    if (usable[COL_ROLE]) {
        for (size_t i = 0; i < sizeof role_names / sizeof *role_names; i++)
            if (!strcasecmp(f[COL_ROLE].s, role_names[i]))
                role = role_names[i];
        if (!role) {
            add_error(p->errs, line, "角色“%s”不是 member（党员）、committee（支委）或 secretary（书记）",
                      clip(v, f[COL_ROLE].s));
            ok = false;
        }
    }

    const char **ports = NULL;
    size_t nports = 0;
    if (usable[COL_PORTFOLIOS] && f[COL_PORTFOLIOS].len) {
        if (role && strcmp(role, "committee")) {
            add_error(p->errs, line, "只有角色 committee（支委）才填分工，%s 不填", role);
            ok = false;
        } else if (role) {
            ok &= split_portfolios(p, line, &f[COL_PORTFOLIOS], &ports, &nports);
        }
    }
    if (!ok || p->oom) {
        free(ports);
        return;
    }

    /* Good: split the path in place and place the row in the tree. */
    size_t unit = ROSTER_NONE;
    char *s = f[COL_PATH].s;
    for (;;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        size_t len = strlen(s);
        char *name = trim(s, &len);
        unit = unit_index(p, unit, name, line);
        if (unit == ROSTER_NONE) {
            p->oom = true;
            free(ports);
            return;
        }
        if (!slash)
            break;
        s = slash + 1;
    }
    struct roster *r = p->r;
    if (!grow(&r->rows, &p->rows_cap, r->row_count + 1, sizeof *r->rows)) {
        p->oom = true;
        free(ports);
        return;
    }
    struct roster_row *row = &r->rows[r->row_count++];
    *row = (struct roster_row){ .line = line, .login = f[COL_LOGIN].s,
                                .display_name = f[COL_NAME].s, .role = role, .unit = unit,
                                .portfolios = ports, .portfolio_count = nports };
    merge_row(p, row);
}

static bool header_ok(struct field *f, size_t nfields)
{
    if (nfields != FIELDS)
        return false;
    for (int i = 0; i < FIELDS; i++)
        if (strcasecmp(f[i].s, columns[i]) || strlen(f[i].s) != f[i].len)
            return false;
    return true;
}

int roster_parse(const char *data, size_t len, struct roster *out, struct roster_errors *errs)
{
    memset(out, 0, sizeof *out);
    struct parser p = { .in = data, .len = len, .line = 1, .r = out, .errs = errs };
    size_t errors_before = errs->total;

    if (len > ROSTER_MAX_BYTES) {
        add_error(errs, 0, "文件超过 %u MiB，请拆分后再导入", ROSTER_MAX_BYTES >> 20);
        return -1;
    }
    if (len >= 2 && ((data[0] == '\xFF' && data[1] == '\xFE') ||
                     (data[0] == '\xFE' && data[1] == '\xFF'))) {
        add_error(errs, 0, "文件是 UTF-16 编码，请在 Excel 中另存为“CSV UTF-8”格式");
        return -1;
    }
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
        p.pos = 3;
    out->text = p.out = malloc(len + 1);
    if (!out->text) {
        add_error(errs, 0, "内存不足");
        return -1;
    }

    bool header_seen = false;
    struct field f[FIELDS];
    size_t nfields;
    for (;;) {
        unsigned line = p.line;
        size_t raw_start = p.pos;
        enum record rec = read_record(&p, f, &nfields);
        if (rec == RECORD_END || rec == RECORD_FATAL)
            break;
        bool utf8 = check_utf8(&p, raw_start, p.pos, line);
        bool blank = true;
        for (size_t i = 0; i < nfields && i < FIELDS; i++)
            blank &= f[i].len == 0;
        if (blank && nfields <= FIELDS && rec == RECORD_OK)
            continue;
        if (!header_seen) {
            if (rec != RECORD_OK || !utf8 || !header_ok(f, nfields)) {
                add_error(errs, line, "第一行须是表头 %s", ROSTER_HEADER);
                break;
            }
            header_seen = true;
            continue;
        }
        if (++p.data_rows > ROSTER_MAX_ROWS) {
            add_error(errs, line, "超过 %u 行，请拆分文件", ROSTER_MAX_ROWS);
            break;
        }
        if (rec == RECORD_OK && utf8)
            take_row(&p, line, f, nfields);
        if (p.oom) {
            add_error(errs, 0, "内存不足");
            break;
        }
    }
    if (!header_seen && errs->total == errors_before)
        add_error(errs, 0, "文件是空的；第一行须是表头 %s",
                  ROSTER_HEADER);

    free(p.units.slots);
    free(p.accounts.slots);
    free(p.members.slots);
    if (errs->total != errors_before) {
        sort_errors(errs);
        roster_free(out);
        return -1;
    }
    return 0;
}

void roster_require_root(const struct roster *r, const char *root, struct roster_errors *errs)
{
    char v1[CLIP_BYTES], v2[CLIP_BYTES];
    size_t before = errs->total;
    for (size_t i = 0; i < r->unit_count; i++)
        if (r->units[i].parent == ROSTER_NONE && strcmp(r->units[i].name, root))
            add_error(errs, r->units[i].line, "单位路径须以本单位“%s”开头，而不是“%s”",
                      clip(v1, root), clip(v2, r->units[i].name));
    if (errs->total != before)
        sort_errors(errs);
}

void roster_free(struct roster *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->row_count; i++)
        free(r->rows[i].portfolios);
    free(r->rows);
    free(r->units);
    free(r->accounts);
    free(r->memberships);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ */
/* applying                                                            */
/* ------------------------------------------------------------------ */

void roster_outcome_free(struct roster_outcome *o)
{
    if (!o)
        return;
    free(o->created);
    memset(o, 0, sizeof *o);
}

struct apply {
    struct db_conn *c;
    const struct roster *r;
    struct roster_outcome *out;
    struct roster_errors *errs;
    struct audit_entry system; /* the actor of every audit row */
    long long root_parent;
    bool keep_names;
    unsigned ttl;
    long long *unit_ids;    /* 0: to be created */
    long long *account_ids; /* 0: to be created */
    bool *renamed;          /* the account exists with another display name */
};

/* Finds the units of the file that exist; those that do not must have a
 * name that tells their level. Reads only. */
static enum db_status find_units(struct apply *a)
{
    char v[CLIP_BYTES];
    for (size_t i = 0; i < a->r->unit_count; i++) {
        const struct roster_unit *u = &a->r->units[i];
        long long parent = u->parent == ROSTER_NONE ? a->root_parent : a->unit_ids[u->parent];
        if (u->parent == ROSTER_NONE || parent) {
            char pid[24];
            snprintf(pid, sizeof pid, "%lld", parent);
            const char *params[] = { parent ? pid : NULL, u->name };
            enum db_status st;
            bool active = true;
            const struct db_field spec[] = { DB_I64("id", &a->unit_ids[i]),
                                             DB_ISNULL("retired_at", &active), DB_END };
            int found = db_one(a->c, STMT_UNIT_BY_PARENT_NAME, params, spec, &st);
            if (found < 0)
                return st;
            /* Retired (sql/0024): it takes no new member. */
            if (found && !active)
                add_error(a->errs, u->line, "单位“%s”已停用，不能再加入成员", clip(v, u->name));
        }
        if (!a->unit_ids[i] && !u->level)
            add_error(a->errs, u->line,
                      "无法判断单位“%s”的层级（名称须以党委、党总支、党支部或党小组结尾）",
                      clip(v, u->name));
    }
    return DB_OK;
}

struct id_at {
    long long id;
    size_t account;
};

static int id_at_cmp(const void *x, const void *y)
{
    const struct id_at *a = x, *b = y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->account < b->account ? -1 : a->account > b->account;
}

/* Finds the accounts that exist. Logins are told apart by ASCII case in
 * the parser but by the database's lower(): two logins of the file that
 * are one account are an error. Reads only. */
static enum db_status find_accounts(struct apply *a)
{
    char v1[CLIP_BYTES], v2[CLIP_BYTES];
    const struct roster *r = a->r;
    struct id_at *found = malloc((r->account_count + 1) * sizeof *found);
    if (!found)
        return DB_ERROR;
    size_t n = 0;
    for (size_t i = 0; i < r->account_count; i++) {
        const char *params[] = { r->accounts[i].login };
        enum db_status st;
        char *name = NULL;
        const struct db_field spec[] = { DB_I64("id", &a->account_ids[i]),
                                         DB_TEXT_DUP("display_name", &name), DB_END };
        int got = db_one(a->c, STMT_ACCOUNT_BY_LOGIN, params, spec, &st);
        if (got < 0) {
            free(found);
            return st;
        }
        if (got) {
            a->renamed[i] = strcmp(name, r->accounts[i].display_name) != 0;
            found[n++] = (struct id_at){ a->account_ids[i], i };
        }
        free(name);
    }
    qsort(found, n, sizeof *found, id_at_cmp);
    for (size_t i = 1; i < n; i++) {
        if (found[i].id != found[i - 1].id)
            continue;
        const struct roster_account *x = &r->accounts[found[i - 1].account],
                                    *y = &r->accounts[found[i].account];
        add_error(a->errs, y->line,
                  "登录名“%s”与第 %u 行的“%s”是同一账号（登录名不区分大小写）",
                  clip(v1, y->login), x->line, clip(v2, x->login));
    }
    free(found);
    return DB_OK;
}

static enum db_status create_units(struct apply *a)
{
    for (size_t i = 0; i < a->r->unit_count; i++) {
        if (a->unit_ids[i])
            continue;
        const struct roster_unit *u = &a->r->units[i];
        json_t *unit = NULL;
        enum db_status st = unit_create(a->c, &a->system,
                                        u->parent == ROSTER_NONE ? a->root_parent
                                                                 : a->unit_ids[u->parent],
                                        u->name, u->level, &unit);
        if (st != DB_OK)
            return st;
        a->unit_ids[i] = (long long)json_integer_value(json_object_get(unit, "id"));
        json_decref(unit);
        a->out->units_created++;
    }
    return DB_OK;
}

static enum db_status create_or_update_accounts(struct apply *a)
{
    const struct roster *r = a->r;
    for (size_t i = 0; i < r->account_count; i++) {
        const struct roster_account *acc = &r->accounts[i];
        enum db_status st;
        if (!a->account_ids[i]) {
            struct roster_created *cr = &a->out->created[a->out->accounts_created];
            cr->login = acc->login;
            st = account_create(a->c, &a->system, acc->login, acc->display_name, false,
                                a->ttl, &cr->account);
            if (st != DB_OK)
                return st;
            a->account_ids[i] = cr->account.id;
            a->out->accounts_created++;
        } else if (a->renamed[i] && !a->keep_names) {
            bool changed = false;
            st = account_set_display_name(a->c, &a->system, a->account_ids[i],
                                          acc->display_name, &changed);
            if (st != DB_OK)
                return st;
            a->out->accounts_updated += changed;
        }
    }
    return DB_OK;
}

struct portfolio_made {
    struct apply *a;
    long long unit_id;
    const char *id, *name;
};

static enum db_status portfolio_made(void *cls, size_t row)
{
    (void)row;
    struct portfolio_made *p = cls;
    json_t *change = json_pack("{s:{s:I, s:s}}", "after", "unit_id", (json_int_t)p->unit_id,
                               "name", p->name);
    return change ? audit_change(p->a->c, &p->a->system, "portfolio.create", "portfolio", p->id,
                                 change)
                  : DB_ERROR;
}

/* Creates the portfolios of names (JSON text) that the unit lacks, and
 * audits each one created. */
static enum db_status ensure_portfolios(struct apply *a, long long unit_id, const char *names)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%lld", unit_id);
    const char *params[] = { uid, names };
    enum db_status st;
    struct portfolio_made p = { .a = a, .unit_id = unit_id };
    const struct db_field spec[] = { DB_TEXT_REF("id", &p.id), DB_TEXT_REF("name", &p.name),
                                     DB_END };
    return db_each(a->c, STMT_PORTFOLIO_ENSURE, params, spec, portfolio_made, &p, &st) < 0
               ? st
               : DB_OK;
}

static void add_role(json_t *roles, const char *role)
{
    size_t i;
    json_t *v;
    json_array_foreach(roles, i, v)
        if (!strcmp(json_string_value(v), role))
            return;
    json_array_append_new(roles, json_string(role));
}

/* Roles become (current ∪ the file's ∪ member); a committee member's
 * portfolios become the file's list, anyone else's stay as they are. */
static enum db_status set_membership(struct apply *a, const struct roster_membership *m)
{
    long long account_id = a->account_ids[m->account], unit_id = a->unit_ids[m->unit];
    char aid[24], uid[24];
    snprintf(aid, sizeof aid, "%lld", account_id);
    snprintf(uid, sizeof uid, "%lld", unit_id);
    const char *pk[] = { aid, uid };
    enum db_status st;
    json_t *ports = NULL;
    char *names = NULL;
    json_t *roles = db_json_value(a->c, STMT_MEMBERSHIP_ROLES, pk, "roles", &st);
    if (!roles)
        goto out;
    add_role(roles, "member");
    if (m->committee)
        add_role(roles, "committee");
    if (m->secretary)
        add_role(roles, "secretary");

    if (m->committee) {
        st = DB_ERROR;
        if (!(ports = json_array()))
            goto out;
        for (size_t i = 0; i < m->portfolio_count; i++)
            if (json_array_append_new(ports, json_string(m->portfolios[i])) < 0)
                goto out;
        if (!(names = json_dumps(ports, JSON_COMPACT)))
            goto out;
        if (m->portfolio_count && (st = ensure_portfolios(a, unit_id, names)) != DB_OK)
            goto out;
    } else if (!(ports = db_json_value(a->c, STMT_COMMITTEE_PORTFOLIOS_OF, pk, "portfolios",
                                       &st))) {
        goto out;
    }
    bool changed = false;
    st = membership_set(a->c, &a->system, unit_id, account_id, roles, ports, &changed);
    a->out->memberships_changed += changed;
out:
    free(names);
    json_decref(ports);
    json_decref(roles);
    return st;
}

/* Sets up a for r and opt, and finds what exists (reads only). DB_ABORT
 * with errs filled when the file is refused. */
static enum db_status apply_begin(struct apply *a, struct db_conn *c, const struct roster *r,
                                  const struct roster_options *opt, struct roster_errors *errs)
{
    roster_errors_free(errs);
    a->c = c;
    a->r = r;
    a->errs = errs;
    a->system = opt && opt->actor ? *opt->actor : (struct audit_entry){ .actor = AUDIT_SYSTEM };
    a->root_parent = opt ? opt->root_parent : 0;
    a->keep_names = opt && opt->keep_names;
    a->unit_ids = calloc(r->unit_count + 1, sizeof *a->unit_ids);
    a->account_ids = calloc(r->account_count + 1, sizeof *a->account_ids);
    a->renamed = calloc(r->account_count + 1, sizeof *a->renamed);
    if (!a->unit_ids || !a->account_ids || !a->renamed)
        return DB_ERROR;
    /* Everything that can refuse the file is found before the first write. */
    enum db_status st;
    if ((st = find_units(a)) != DB_OK || (st = find_accounts(a)) != DB_OK)
        return st;
    if (errs->total) {
        sort_errors(errs);
        return DB_ABORT;
    }
    return DB_OK;
}

static void apply_end(struct apply *a)
{
    free(a->unit_ids);
    free(a->account_ids);
    free(a->renamed);
}

void roster_plan_free(struct roster_plan *plan)
{
    if (!plan)
        return;
    free(plan->units_new);
    free(plan->accounts_new);
    free(plan->accounts_renamed);
    memset(plan, 0, sizeof *plan);
}

enum db_status roster_plan(struct db_conn *c, const struct roster *r,
                           const struct roster_options *opt, struct roster_plan *plan,
                           struct roster_errors *errs)
{
    roster_plan_free(plan);
    struct apply a = { 0 };
    enum db_status st = apply_begin(&a, c, r, opt, errs);
    if (st != DB_OK)
        goto out;
    st = DB_ERROR;
    plan->units_new = malloc((r->unit_count + 1) * sizeof *plan->units_new);
    plan->accounts_new = malloc((r->account_count + 1) * sizeof *plan->accounts_new);
    plan->accounts_renamed = malloc((r->account_count + 1) * sizeof *plan->accounts_renamed);
    if (!plan->units_new || !plan->accounts_new || !plan->accounts_renamed)
        goto out;
    for (size_t i = 0; i < r->unit_count; i++)
        if (!a.unit_ids[i])
            plan->units_new[plan->units_new_count++] = i;
    for (size_t i = 0; i < r->account_count; i++) {
        if (!a.account_ids[i])
            plan->accounts_new[plan->accounts_new_count++] = i;
        else if (a.renamed[i])
            plan->accounts_renamed[plan->accounts_renamed_count++] = i;
    }
    st = DB_OK;
out:
    apply_end(&a);
    return st;
}

enum db_status roster_apply(struct db_conn *c, const struct roster *r,
                            const struct roster_options *opt, unsigned activation_ttl,
                            struct roster_outcome *out, struct roster_errors *errs)
{
    roster_outcome_free(out);
    struct apply a = { .out = out, .ttl = activation_ttl };
    enum db_status st = apply_begin(&a, c, r, opt, errs);
    if (st != DB_OK)
        goto out;
    st = DB_ERROR;
    if (!(out->created = calloc(r->account_count + 1, sizeof *out->created)))
        goto out;
    if ((st = create_units(&a)) != DB_OK || (st = create_or_update_accounts(&a)) != DB_OK)
        goto out;
    for (size_t i = 0; i < r->membership_count; i++)
        if ((st = set_membership(&a, &r->memberships[i])) != DB_OK)
            goto out;
out:
    apply_end(&a);
    return st;
}
