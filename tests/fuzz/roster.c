/* Fuzzes the roster CSV parser (roster_parse, what `yijian import-roster`
 * runs on a file before touching the database). On any bytes: the result
 * and the error list keep their contract (errors counted, capped, sorted by
 * line; a refused file leaves nothing behind), and an accepted roster is
 * consistent (every index in range, parents before children, distinct
 * units, logins and memberships, only checked values, at most
 * ROSTER_MAX_PORTFOLIOS portfolios a row). An accepted roster
 * is then written back as CSV with every field quoted and parsed again: it
 * must give the same roster, which checks the unquoting. Input: a file. */
#include "fuzz.h"

#include <stdbool.h>

#include "domain/accounts.h"
#include "domain/roster.h"
#include "domain/units.h"
#include "util/utf8.h"

/* ---- checks on the result ----------------------------------------------- */

/* Non-empty UTF-8 of at most max characters, no control characters, no
 * white space at either end. */
static void check_text(const char *what, const char *s, size_t max)
{
    FUZZ_CHECK(s && *s, "%s is empty", what);
    size_t n = strlen(s);
    FUZZ_CHECK(utf8_valid(s, n), "%s is not UTF-8", what);
    FUZZ_CHECK(utf8_length(s, n) <= max, "%s \"%s\" is too long", what, s);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7F, "%s holds a control character",
                   what);
    FUZZ_CHECK(s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' && s[n - 1] != '\t',
               "%s \"%s\" is not trimmed", what, s);
}

/* Distinctness by sorting (the inputs hold hundreds of rows): qsort with
 * these, then compare neighbours. */
static const struct roster *sorting;

static int fold_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = *a >= 'A' && *a <= 'Z' ? *a + 32 : (unsigned char)*a;
        int y = *b >= 'A' && *b <= 'Z' ? *b + 32 : (unsigned char)*b;
        if (x != y || !x)
            return x - y;
    }
}

static int unit_cmp(const void *x, const void *y)
{
    const struct roster_unit *a = &sorting->units[*(const size_t *)x];
    const struct roster_unit *b = &sorting->units[*(const size_t *)y];
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int account_cmp(const void *x, const void *y)
{
    return fold_cmp(sorting->accounts[*(const size_t *)x].login,
                    sorting->accounts[*(const size_t *)y].login);
}

static int membership_cmp(const void *x, const void *y)
{
    const struct roster_membership *a = &sorting->memberships[*(const size_t *)x];
    const struct roster_membership *b = &sorting->memberships[*(const size_t *)y];
    if (a->account != b->account)
        return a->account < b->account ? -1 : 1;
    return a->unit < b->unit ? -1 : a->unit > b->unit;
}

/* No two of the n entries compare equal under cmp. */
static void check_distinct(const struct roster *r, size_t n, int (*cmp)(const void *, const void *),
                           const char *what)
{
    if (n < 2)
        return;
    size_t *idx = malloc(n * sizeof *idx);
    FUZZ_CHECK(idx, "out of memory");
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sorting = r;
    qsort(idx, n, sizeof *idx, cmp);
    for (size_t i = 1; i < n; i++)
        FUZZ_CHECK(cmp(&idx[i - 1], &idx[i]) != 0, "two %s are the same", what);
    free(idx);
}

static void check_roster(const struct roster *r, const char *text_end)
{
    for (size_t i = 0; i < r->unit_count; i++) {
        const struct roster_unit *u = &r->units[i];
        FUZZ_CHECK(u->parent == ROSTER_NONE || u->parent < i, "unit %zu before its parent", i);
        check_text("unit name", u->name, UNIT_NAME_MAX_CHARS);
        FUZZ_CHECK(u->name >= r->text && u->name < text_end, "unit name outside the text");
        FUZZ_CHECK(!strchr(u->name, '/'), "unit name \"%s\" holds a /", u->name);
        FUZZ_CHECK(u->level == roster_unit_level(u->name), "unit level of %s", u->name);
    }
    check_distinct(r, r->unit_count, unit_cmp, "units under one parent");
    for (size_t i = 0; i < r->account_count; i++) {
        const struct roster_account *a = &r->accounts[i];
        check_text("login", a->login, LOGIN_MAX_CHARS);
        check_text("display_name", a->display_name, DISPLAY_NAME_MAX_CHARS);
    }
    check_distinct(r, r->account_count, account_cmp, "logins (ASCII case folded)");
    for (size_t i = 0; i < r->row_count; i++) {
        const struct roster_row *w = &r->rows[i];
        FUZZ_CHECK(w->unit < r->unit_count, "row %zu: unit out of range", i);
        FUZZ_CHECK(w->role && membership_role_valid(w->role), "row %zu: role", i);
        FUZZ_CHECK(w->line >= 2, "row %zu on line %u", i, w->line);
        FUZZ_CHECK(!w->portfolio_count || !strcmp(w->role, "committee"),
                   "row %zu: portfolios for a %s", i, w->role);
        FUZZ_CHECK(w->portfolio_count <= ROSTER_MAX_PORTFOLIOS, "row %zu: %zu portfolios", i,
                   w->portfolio_count);
        for (size_t k = 0; k < w->portfolio_count; k++) {
            check_text("portfolio", w->portfolios[k], PORTFOLIO_NAME_MAX_CHARS);
            FUZZ_CHECK(!strchr(w->portfolios[k], ';'), "portfolio holds a ;");
            for (size_t j = 0; j < k; j++)
                FUZZ_CHECK(strcmp(w->portfolios[j], w->portfolios[k]), "portfolio twice");
        }
    }
    for (size_t i = 0; i < r->membership_count; i++) {
        const struct roster_membership *m = &r->memberships[i];
        FUZZ_CHECK(m->account < r->account_count && m->unit < r->unit_count,
                   "membership %zu out of range", i);
        FUZZ_CHECK(m->member || m->committee || m->secretary, "membership %zu: no role", i);
        FUZZ_CHECK(!m->portfolio_count || m->committee, "membership %zu: portfolios", i);
    }
    check_distinct(r, r->membership_count, membership_cmp, "memberships");
    /* Every row of an accepted roster is in it. */
    FUZZ_CHECK(r->row_count >= r->membership_count && r->membership_count >= r->account_count,
               "%zu rows, %zu memberships, %zu accounts", r->row_count, r->membership_count,
               r->account_count);
}

static void check_errors(const struct roster_errors *e, size_t before_total)
{
    FUZZ_CHECK(e->total > before_total, "refused without an error");
    FUZZ_CHECK(e->count <= e->total && e->count <= ROSTER_ERRORS_KEPT, "%zu errors kept of %zu",
               e->count, e->total);
    FUZZ_CHECK(e->count == (e->total < ROSTER_ERRORS_KEPT ? e->total : ROSTER_ERRORS_KEPT),
               "%zu errors kept of %zu", e->count, e->total);
    for (size_t i = 0; i < e->count; i++) {
        FUZZ_CHECK(memchr(e->items[i].message, '\0', ROSTER_ERROR_BYTES) &&
                       e->items[i].message[0],
                   "error %zu is empty or unterminated", i);
        FUZZ_CHECK(i == 0 || e->items[i - 1].line <= e->items[i].line, "errors out of order");
    }
}

/* ---- writing a roster back ------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p, "out of memory");
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_quoted(struct buf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++)
        put(b, *s == '"' ? "\"\"" : s, 1 + (*s == '"'));
    put(b, "\"", 1);
}

static void put_path(struct buf *b, const struct roster *r, size_t unit)
{
    if (r->units[unit].parent != ROSTER_NONE) {
        put_path(b, r, r->units[unit].parent);
        put(b, "/", 1);
    }
    put(b, r->units[unit].name, strlen(r->units[unit].name));
}

static char *write_back(const struct roster *r, size_t *len)
{
    struct buf b = { 0 };
    put(&b, ROSTER_HEADER "\r\n", strlen(ROSTER_HEADER) + 2);
    for (size_t i = 0; i < r->row_count; i++) {
        const struct roster_row *w = &r->rows[i];
        struct buf f = { 0 };
        put(&f, "", 0);
        put_quoted(&b, w->login);
        put(&b, ",", 1);
        put_quoted(&b, w->display_name);
        put(&b, ",", 1);
        put_path(&f, r, w->unit);
        put_quoted(&b, f.p);
        put(&b, ",", 1);
        put_quoted(&b, w->role);
        put(&b, ",", 1);
        f.len = 0;
        f.p[0] = '\0';
        for (size_t k = 0; k < w->portfolio_count; k++) {
            if (k)
                put(&f, ";", 1);
            put(&f, w->portfolios[k], strlen(w->portfolios[k]));
        }
        put_quoted(&b, f.p);
        put(&b, "\n", 1);
        free(f.p);
    }
    *len = b.len;
    return b.p;
}

static bool same_roster(const struct roster *a, const struct roster *b)
{
    if (a->row_count != b->row_count || a->unit_count != b->unit_count ||
        a->account_count != b->account_count || a->membership_count != b->membership_count)
        return false;
    for (size_t i = 0; i < a->unit_count; i++)
        if (a->units[i].parent != b->units[i].parent || strcmp(a->units[i].name, b->units[i].name))
            return false;
    for (size_t i = 0; i < a->row_count; i++) {
        const struct roster_row *x = &a->rows[i], *y = &b->rows[i];
        if (strcmp(x->login, y->login) || strcmp(x->display_name, y->display_name) ||
            strcmp(x->role, y->role) || x->unit != y->unit ||
            x->portfolio_count != y->portfolio_count)
            return false;
        for (size_t k = 0; k < x->portfolio_count; k++)
            if (strcmp(x->portfolios[k], y->portfolios[k]))
                return false;
    }
    for (size_t i = 0; i < a->membership_count; i++) {
        const struct roster_membership *x = &a->memberships[i], *y = &b->memberships[i];
        if (x->account != y->account || x->unit != y->unit || x->member != y->member ||
            x->committee != y->committee || x->secretary != y->secretary ||
            x->portfolio_count != y->portfolio_count)
            return false;
    }
    return true;
}

/* ---- entry point ---------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct roster r;
    struct roster_errors errs = { 0 };
    int rc = roster_parse((const char *)data, size, &r, &errs);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "roster_parse returned %d", rc);
        check_errors(&errs, 0);
        FUZZ_CHECK(!r.rows && !r.units && !r.accounts && !r.memberships && !r.text &&
                       !r.row_count && !r.unit_count && !r.account_count && !r.membership_count,
                   "a refused roster left something behind");
        roster_errors_free(&errs);
        FUZZ_CHECK(!errs.items && !errs.count && !errs.total, "roster_errors_free");
        return 0;
    }
    FUZZ_CHECK(errs.total == 0 && errs.count == 0, "accepted with %zu errors", errs.total);
    check_roster(&r, r.text + size + 1);

    size_t len;
    char *csv = write_back(&r, &len);
    struct roster again;
    int rc2 = roster_parse(csv, len, &again, &errs);
    if (rc2 != 0)
        fprintf(stderr, "written back:\n%s\nfirst error, line %u: %s\n", csv,
                errs.count ? errs.items[0].line : 0, errs.count ? errs.items[0].message : "");
    FUZZ_CHECK(rc2 == 0, "the roster written back is refused");
    FUZZ_CHECK(same_roster(&r, &again), "the roster written back reads differently:\n%s", csv);
    free(csv);
    roster_free(&again);
    roster_free(&r);
    roster_free(&r); /* leaves a zeroed struct: safe again */
    roster_free(NULL);
    roster_errors_free(&errs);
    return 0;
}
