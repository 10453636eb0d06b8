/* Tests service/src/domain/roster.c: the roster CSV parser and validator
 * (no database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain/roster.h"

#define HEADER ROSTER_HEADER "\n"

struct parsed {
    struct roster r;
    struct roster_errors e;
    int rc;
};

static void parse_n(struct parsed *p, const char *csv, size_t len)
{
    memset(p, 0, sizeof *p);
    p->rc = roster_parse(csv, len, &p->r, &p->e);
}

static void parse(struct parsed *p, const char *csv) { parse_n(p, csv, strlen(csv)); }

static void done(struct parsed *p)
{
    roster_free(&p->r);
    roster_errors_free(&p->e);
}

/* Fails unless error i is on line and its message contains text. */
static void assert_error(const struct parsed *p, size_t i, unsigned line, const char *text)
{
    if (i >= p->e.count)
        fail_msg("expected an error #%zu (line %u, \"%s\"), have %zu", i, line, text, p->e.count);
    const struct roster_error *e = &p->e.items[i];
    if (e->line != line || !strstr(e->message, text))
        fail_msg("error #%zu is \"line %u: %s\", expected line %u with \"%s\"", i, e->line,
                 e->message, line, text);
}

static void assert_ok(const struct parsed *p)
{
    if (p->rc != 0)
        fail_msg("refused: line %u: %s", p->e.count ? p->e.items[0].line : 0,
                 p->e.count ? p->e.items[0].message : "(no error)");
    assert_int_equal(p->e.total, 0);
}

/* ---- header ---------------------------------------------------------- */

static void header_is_case_insensitive_and_trimmed(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, " Login , DISPLAY_NAME,unit_path ,Role,\"portfolios\"\nwang,王芳,机关党委,member,\n");
    assert_ok(&p);
    assert_int_equal(p.r.row_count, 1);
    done(&p);
}

static void header_with_other_columns_is_refused_naming_the_expected_header(void **state)
{
    (void)state;
    const char *bad[] = {
        "login,name,unit_path,role,portfolios\n",
        "login,display_name,unit_path,role\n",
        "login,display_name,unit_path,role,portfolios,extra\n",
        "display_name,login,unit_path,role,portfolios\n",
        "wang,王芳,机关党委,member,\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct parsed p;
        parse(&p, bad[i]);
        assert_int_equal(p.rc, -1);
        assert_int_equal(p.e.total, 1);
        assert_error(&p, 0, 1, "第一行须是表头 " ROSTER_HEADER);
        assert_int_equal(p.r.row_count, 0);
        done(&p);
    }
}

static void empty_file_is_refused(void **state)
{
    (void)state;
    const char *empty[] = { "", "\n\n", "\xEF\xBB\xBF", "  \r\n" };
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        struct parsed p;
        parse(&p, empty[i]);
        assert_int_equal(p.rc, -1);
        assert_int_equal(p.e.total, 1);
        assert_error(&p, 0, 0, "文件是空的");
        done(&p);
    }
}

static void header_alone_is_an_empty_roster(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER);
    assert_ok(&p);
    assert_int_equal(p.r.row_count, 0);
    done(&p);
}

/* ---- CSV syntax ------------------------------------------------------ */

static void quoted_fields_keep_commas_and_undouble_quotes(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "\"wang\",\"Wang, \"\"Fang\"\"\",\"机关党委/第一党支部\",\"committee\",\"宣传; 组织\"\n");
    assert_ok(&p);
    assert_int_equal(p.r.row_count, 1);
    assert_string_equal(p.r.rows[0].login, "wang");
    assert_string_equal(p.r.rows[0].display_name, "Wang, \"Fang\"");
    assert_int_equal(p.r.rows[0].portfolio_count, 2);
    done(&p);
}

static void crlf_and_lf_line_ends_are_both_accepted(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, ROSTER_HEADER "\r\na,A,机关党委,member,\r\nb,B,机关党委,member,\nc,C,机关党委,member,");
    assert_ok(&p);
    assert_int_equal(p.r.row_count, 3);
    assert_string_equal(p.r.rows[0].login, "a");
    assert_string_equal(p.r.rows[1].display_name, "B");
    assert_string_equal(p.r.rows[2].role, "member");
    assert_int_equal(p.r.rows[2].line, 4);
    done(&p);
}

static void utf8_bom_is_skipped(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "\xEF\xBB\xBF" HEADER "a,A,机关党委,member,\n");
    assert_ok(&p);
    assert_int_equal(p.r.row_count, 1);
    done(&p);
}

static void blank_lines_are_skipped_and_still_counted(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "\n" HEADER "\n   \n,,,,\r\n\na,A,机关党委,leader,\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 1);
    assert_error(&p, 0, 7, "角色“leader”");
    done(&p);
}

static void fields_are_trimmed_of_spaces(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "  wang  ,\t王芳 , 机关党委 / 第一党支部 ,  secretary , \n");
    assert_ok(&p);
    assert_string_equal(p.r.rows[0].login, "wang");
    assert_string_equal(p.r.rows[0].display_name, "王芳");
    assert_string_equal(p.r.rows[0].role, "secretary");
    assert_int_equal(p.r.unit_count, 2);
    assert_string_equal(p.r.units[0].name, "机关党委");
    assert_string_equal(p.r.units[1].name, "第一党支部");
    done(&p);
}

static void unterminated_quote_is_an_error_on_the_line_it_opens(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,A,机关党委,member,\nb,\"B,机关党委,member,\nc,C,机关党委,member,\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 1);
    assert_error(&p, 0, 3, "引号没有闭合");
    done(&p);
}

static void stray_quotes_are_errors_with_their_line(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,\"A\"x,机关党委,member,\nb,B\"b,机关党委,member,\nc,C,机关党委,member,\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 2);
    assert_error(&p, 0, 2, "闭合引号后还有文字");
    assert_error(&p, 1, 3, "字段中间出现引号");
    done(&p);
}

static void line_break_inside_quotes_is_refused_and_later_lines_keep_their_numbers(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,\"A\nB\",机关党委,member,\nb,B,机关党委,boss,\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 2);
    assert_error(&p, 0, 2, "姓名含有控制字符");
    assert_error(&p, 1, 4, "角色“boss”");
    done(&p);
}

static void control_characters_nul_and_lone_cr_are_refused(void **state)
{
    (void)state;
    static const char csv[] = HEADER "a\0b,A,机关党委,member,\nc,C\rD,机关党委,member,\n";
    struct parsed p;
    parse_n(&p, csv, sizeof csv - 1);
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 2);
    assert_error(&p, 0, 2, "登录名含有控制字符");
    assert_error(&p, 1, 3, "姓名含有控制字符");
    done(&p);
}

static void invalid_utf8_is_an_error_with_its_line(void **state)
{
    (void)state;
    struct parsed p;
    /* "王芳" in GBK, as a spreadsheet saves it by default */
    parse(&p, HEADER "a,A,机关党委,member,\nb,\xCD\xF5\xB7\xBC,机关党委,member,\n"
                     "c,\"C\n\xFF\",机关党委,member,\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 2);
    assert_error(&p, 0, 3, "不是有效的 UTF-8");
    assert_error(&p, 1, 5, "不是有效的 UTF-8");
    done(&p);
}

static void utf16_is_refused(void **state)
{
    (void)state;
    struct parsed p;
    parse_n(&p, "\xFF\xFEl\0o\0", 6);
    assert_int_equal(p.rc, -1);
    assert_error(&p, 0, 0, "UTF-16 编码");
    done(&p);
}

/* ---- validation -------------------------------------------------------- */

static void every_validation_error_is_reported_with_its_line(void **state)
{
    (void)state;
    char csv[4096], long_login[80], long_name[120], long_unit[120], long_port[60];
    memset(long_login, 'x', 65);
    long_login[65] = '\0';
    memset(long_name, 'n', 101);
    long_name[101] = '\0';
    memset(long_unit, 'u', 101);
    long_unit[101] = '\0';
    memset(long_port, 'p', 51);
    long_port[51] = '\0';
    snprintf(csv, sizeof csv,
             HEADER
             "a,A,机关党委,member\n"                  /* 2: four fields */
             ",A,机关党委,member,\n"                  /* 3 */
             "%s,A,机关党委,member,\n"                /* 4 */
             "b,,机关党委,member,\n"                  /* 5 */
             "c,%s,机关党委,member,\n"                /* 6 */
             "d,D,,member,\n"                        /* 7 */
             "e,E,机关党委//第一党支部,member,\n"      /* 8 */
             "f,F,机关党委/%s,member,\n"              /* 9 */
             "g,G,机关党委,leader,\n"                 /* 10 */
             "h,H,机关党委,member,宣传\n"             /* 11 */
             "i,I,机关党委,committee,宣传;;组织\n"     /* 12 */
             "j,J,机关党委,committee,%s\n"            /* 13 */
             "k,K,机关党委,committee,宣传;组织;宣传\n" /* 14 */
             "l,L,机关党委,secretary,\n"              /* 15: fine */
             "m,M,/机关党委,member,\n",               /* 16 */
             long_login, long_name, long_unit, long_port);
    struct parsed p;
    parse(&p, csv);
    assert_int_equal(p.rc, -1);
    size_t i = 0;
    assert_error(&p, i++, 2, "应有 5 列（" ROSTER_HEADER "），实有 4 列");
    assert_error(&p, i++, 3, "登录名为空");
    assert_error(&p, i++, 4, "超过 64 个字（有 65 个）");
    assert_error(&p, i++, 5, "姓名为空");
    assert_error(&p, i++, 6, "超过 100 个字（有 101 个）");
    assert_error(&p, i++, 7, "单位路径为空");
    assert_error(&p, i++, 8, "单位路径“机关党委//第一党支部”中有空的一级");
    assert_error(&p, i++, 9, "超过 100 个字（有 101 个）");
    assert_error(&p, i++, 10, "角色“leader”不是 member（党员）、committee（支委）或 secretary（书记）");
    assert_error(&p, i++, 11, "只有角色 committee（支委）才填分工，member 不填");
    assert_error(&p, i++, 12, "分工中有空的名称");
    assert_error(&p, i++, 13, "超过 50 个字（有 51 个）");
    assert_error(&p, i++, 14, "分工“宣传”重复");
    assert_error(&p, i++, 16, "中有空的一级");
    assert_int_equal(p.e.total, i);
    assert_int_equal(p.r.row_count, 0);
    done(&p);
}

static void several_errors_of_one_row_are_all_reported(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER ",,机关党委/,chief,x\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 4);
    assert_error(&p, 0, 2, "登录名为空");
    assert_error(&p, 1, 2, "姓名为空");
    assert_error(&p, 2, 2, "中有空的一级");
    assert_error(&p, 3, 2, "角色“chief”");
    done(&p);
}

static void lengths_count_characters_not_bytes(void **state)
{
    (void)state;
    /* 64 and 100 Chinese characters are 192 and 300 bytes */
    char login[64 * 3 + 1] = "", name[100 * 3 + 1] = "", unit[100 * 3 + 1] = "", csv[1200];
    for (int i = 0; i < 64; i++)
        strcat(login, "王");
    for (int i = 0; i < 100; i++)
        strcat(name, "芳");
    for (int i = 0; i < 98; i++)
        strcat(unit, "机");
    strcat(unit, "党委");
    snprintf(csv, sizeof csv, HEADER "%s,%s,%s,member,\n", login, name, unit);
    struct parsed p;
    parse(&p, csv);
    assert_ok(&p);
    done(&p);
    snprintf(csv, sizeof csv, HEADER "%s王,%s芳,%s,member,\n", login, name, unit);
    parse(&p, csv);
    assert_int_equal(p.e.total, 2);
    assert_error(&p, 0, 2, "（有 65 个）");
    assert_error(&p, 1, 2, "（有 101 个）");
    done(&p);
}

static void role_is_case_insensitive(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,A,机关党委,Committee,宣传\nb,B,机关党委,SECRETARY,\n");
    assert_ok(&p);
    assert_string_equal(p.r.rows[0].role, "committee");
    assert_string_equal(p.r.rows[1].role, "secretary");
    done(&p);
    parse(&p, HEADER "a,A,机关党委,Leader,\n");
    assert_error(&p, 0, 2, "角色“Leader”不是");
    done(&p);
}

static void portfolios_are_split_on_semicolons_and_trimmed(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,A,机关党委,committee, 宣传 ;组织;  纪检\n");
    assert_ok(&p);
    const struct roster_row *row = &p.r.rows[0];
    assert_int_equal(row->portfolio_count, 3);
    assert_string_equal(row->portfolios[0], "宣传");
    assert_string_equal(row->portfolios[1], "组织");
    assert_string_equal(row->portfolios[2], "纪检");
    assert_int_equal(p.r.membership_count, 1);
    assert_true(p.r.memberships[0].committee);
    assert_int_equal(p.r.memberships[0].portfolio_count, 3);
    done(&p);
}

static void committee_without_portfolios_has_none(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,A,机关党委,committee,\n");
    assert_ok(&p);
    assert_int_equal(p.r.rows[0].portfolio_count, 0);
    assert_true(p.r.memberships[0].committee);
    done(&p);
}

/* ---- units -------------------------------------------------------------- */

static void unit_paths_become_a_tree_with_parents_first(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,A,机关党委/第一党总支/第一党支部,member,\n"
                     "b,B,机关党委/第二党支部,member,\n"
                     "c,C,机关党委,member,\n"
                     "d,D,学院党委/第一党支部,member,\n");
    assert_ok(&p);
    assert_int_equal(p.r.unit_count, 6);
    const struct roster_unit *u = p.r.units;
    assert_string_equal(u[0].name, "机关党委");
    assert_true(u[0].parent == ROSTER_NONE);
    assert_string_equal(u[0].level, "committee");
    assert_string_equal(u[1].name, "第一党总支");
    assert_int_equal(u[1].parent, 0);
    assert_string_equal(u[1].level, "general_branch");
    assert_string_equal(u[2].name, "第一党支部");
    assert_int_equal(u[2].parent, 1);
    assert_string_equal(u[2].level, "branch");
    assert_string_equal(u[3].name, "第二党支部");
    assert_int_equal(u[3].parent, 0);
    assert_int_equal(u[3].line, 3);
    /* the same name under another parent is another unit */
    assert_string_equal(u[5].name, "第一党支部");
    assert_int_equal(u[5].parent, 4);
    assert_int_equal(p.r.rows[0].unit, 2);
    assert_int_equal(p.r.rows[1].unit, 3);
    assert_int_equal(p.r.rows[2].unit, 0);
    assert_int_equal(p.r.rows[3].unit, 5);
    done(&p);
}

static void unit_level_is_inferred_from_the_name_suffix(void **state)
{
    (void)state;
    assert_string_equal(roster_unit_level("机关党委"), "committee");
    assert_string_equal(roster_unit_level("党委"), "committee");
    assert_string_equal(roster_unit_level("第一党总支"), "general_branch");
    assert_string_equal(roster_unit_level("第一党支部"), "branch");
    assert_string_equal(roster_unit_level("第一党小组"), "group");
    assert_null(roster_unit_level("机关"));
    assert_null(roster_unit_level("党委办公室"));
    assert_null(roster_unit_level("委"));
    assert_null(roster_unit_level(""));
    assert_null(roster_unit_level(NULL));
}

static void a_unit_name_that_tells_no_level_still_parses(void **state)
{
    (void)state;
    /* whether it may be created is for the database to say: it may exist */
    struct parsed p;
    parse(&p, HEADER "a,A,机关/办公室,member,\n");
    assert_ok(&p);
    assert_int_equal(p.r.unit_count, 2);
    assert_null(p.r.units[0].level);
    assert_null(p.r.units[1].level);
    done(&p);
}

/* ---- one person on several rows --------------------------------------------- */

static void one_person_on_several_rows_is_one_account(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "Wang,王芳,机关党委,committee,宣传\n"
                     "b,B,机关党委,member,\n"
                     "wang,王芳,机关党委,secretary,\n"
                     "WANG,王芳,机关党委/第一党支部,member,\n");
    assert_ok(&p);
    assert_int_equal(p.r.row_count, 4);
    assert_int_equal(p.r.account_count, 2);
    assert_string_equal(p.r.accounts[0].login, "Wang");
    assert_int_equal(p.r.accounts[0].line, 2);
    assert_int_equal(p.r.membership_count, 3);
    const struct roster_membership *m = &p.r.memberships[0];
    assert_int_equal(m->account, 0);
    assert_int_equal(m->unit, 0);
    assert_true(m->committee && m->secretary && !m->member);
    assert_int_equal(m->portfolio_count, 1);
    assert_string_equal(m->portfolios[0], "宣传");
    assert_int_equal(p.r.memberships[2].account, 0);
    assert_int_equal(p.r.memberships[2].unit, 1);
    assert_true(p.r.memberships[2].member);
    done(&p);
}

static void one_login_with_two_display_names_is_an_error(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "wang,王芳,机关党委,member,\nWang,王方,机关党委/第一党支部,member,\n");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 1);
    assert_error(&p, 0, 3, "登录名“Wang”在此行的姓名是“王方”，在第 2 行却是“王芳”");
    done(&p);
}

static void committee_rows_of_one_unit_must_agree_on_portfolios(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,A,机关党委,committee,宣传;组织\na,A,机关党委,committee,组织;宣传\n");
    assert_ok(&p);
    assert_int_equal(p.r.membership_count, 1);
    done(&p);
    parse(&p, HEADER "a,A,机关党委,committee,宣传;组织\na,A,机关党委,committee,宣传\n");
    assert_int_equal(p.rc, -1);
    assert_error(&p, 0, 3, "支委身份已在第 2 行出现，两处分工不同");
    done(&p);
}

/* ---- limits ------------------------------------------------------------------ */

static void errors_past_the_kept_ones_are_counted(void **state)
{
    (void)state;
    size_t rows = ROSTER_ERRORS_KEPT + 500;
    char *csv = malloc(sizeof HEADER + rows * 32);
    assert_non_null(csv);
    size_t n = (size_t)sprintf(csv, HEADER);
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(csv + n, "a%zu,A,机关党委,x,\n", i);
    struct parsed p;
    parse_n(&p, csv, n);
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, rows);
    assert_int_equal(p.e.count, ROSTER_ERRORS_KEPT);
    assert_error(&p, ROSTER_ERRORS_KEPT - 1, ROSTER_ERRORS_KEPT + 1, "角色“x”");
    done(&p);
    free(csv);
}

static void more_rows_than_the_limit_are_refused(void **state)
{
    (void)state;
    size_t rows = ROSTER_MAX_ROWS + 1;
    char *csv = malloc(sizeof HEADER + rows * 32);
    assert_non_null(csv);
    size_t n = (size_t)sprintf(csv, HEADER);
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(csv + n, "a%zu,A,机关党委,member,\n", i);
    struct parsed p;
    parse_n(&p, csv, n);
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 1);
    assert_error(&p, 0, ROSTER_MAX_ROWS + 2, "超过 100000 行");
    done(&p);
    /* exactly the limit is fine */
    parse_n(&p, csv, n - strlen(strrchr(csv, 'a')));
    assert_ok(&p);
    assert_int_equal(p.r.row_count, ROSTER_MAX_ROWS);
    assert_int_equal(p.r.account_count, ROSTER_MAX_ROWS);
    done(&p);
    free(csv);
}

static void more_portfolios_in_a_row_than_the_api_allows_are_refused(void **state)
{
    (void)state;
    char csv[2048];
    size_t n = (size_t)sprintf(csv, HEADER "a,A,机关党委,committee,");
    for (unsigned i = 0; i < ROSTER_MAX_PORTFOLIOS; i++)
        n += (size_t)sprintf(csv + n, "%sp%u", i ? ";" : "", i);
    strcpy(csv + n, "\n");
    struct parsed p;
    parse(&p, csv);
    assert_ok(&p);
    done(&p);
    /* one more is refused */
    strcpy(csv + n, ";extra\n");
    parse(&p, csv);
    assert_int_equal(p.rc, -1);
    assert_error(&p, 0, 2, "分工超过 32 项");
    done(&p);
}

static void a_file_over_the_size_limit_is_refused_unread(void **state)
{
    (void)state;
    char *csv = calloc(1, ROSTER_MAX_BYTES + 1);
    assert_non_null(csv);
    struct parsed p;
    parse_n(&p, csv, ROSTER_MAX_BYTES + 1);
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.e.total, 1);
    assert_error(&p, 0, 0, "超过 10 MiB");
    done(&p);
    free(csv);
}

/* ---- one spelling for what looks the same ---------------------------- */

static void full_width_spaces_around_a_unit_make_no_new_unit(void **state)
{
    (void)state;
    struct parsed p;
    /* U+3000 around the names, a no-break space and a zero-width space
     * inside the path's spacing, '／' for '/': the same two units. */
    parse(&p, HEADER "a,甲,机关党委/第一党支部,member,\n"
                     "b,乙,\u3000机关党委\u3000／\u3000第一党支部\u3000,member,\n"
                     "c,丙,\u00a0机关党委\u200b/第一党支部\u3000\u3000,member,\n");
    assert_ok(&p);
    assert_int_equal(p.r.unit_count, 2);
    assert_string_equal(p.r.units[0].name, "机关党委");
    assert_string_equal(p.r.units[1].name, "第一党支部");
    for (size_t i = 0; i < p.r.row_count; i++)
        assert_int_equal(p.r.rows[i].unit, 1);
    done(&p);
}

static void full_width_spaces_around_a_portfolio_make_no_new_portfolio(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,甲,机关党委,committee,宣传\n"
                     "a,甲,机关党委,committee,\u3000宣传\u3000\n"
                     "b,乙,机关党委,committee,\u3000宣传\u200b\n");
    assert_ok(&p);
    /* The same set on both rows of a: one membership, no conflict. */
    assert_int_equal(p.r.membership_count, 2);
    for (size_t i = 0; i < p.r.row_count; i++) {
        assert_int_equal(p.r.rows[i].portfolio_count, 1);
        assert_string_equal(p.r.rows[i].portfolios[0], "宣传");
    }
    done(&p);
}

static void a_full_width_semicolon_separates_portfolios(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,甲,机关党委,committee,宣传；组织\n"
                     "b,乙,机关党委,committee,宣传\u3000；\u3000组织；纪检\n");
    assert_ok(&p);
    assert_int_equal(p.r.rows[0].portfolio_count, 2);
    assert_string_equal(p.r.rows[0].portfolios[0], "宣传");
    assert_string_equal(p.r.rows[0].portfolios[1], "组织");
    assert_int_equal(p.r.rows[1].portfolio_count, 3);
    assert_string_equal(p.r.rows[1].portfolios[1], "组织");
    assert_string_equal(p.r.rows[1].portfolios[2], "纪检");
    done(&p);
}

static void a_name_of_only_full_width_spaces_is_empty(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, HEADER "a,\u3000\u3000,机关党委/\u3000,member,\n");
    assert_int_equal(p.rc, -1);
    assert_error(&p, 0, 2, "姓名为空");
    assert_error(&p, 1, 2, "中有空的一级");
    done(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_is_case_insensitive_and_trimmed),
        cmocka_unit_test(header_with_other_columns_is_refused_naming_the_expected_header),
        cmocka_unit_test(empty_file_is_refused),
        cmocka_unit_test(header_alone_is_an_empty_roster),
        cmocka_unit_test(quoted_fields_keep_commas_and_undouble_quotes),
        cmocka_unit_test(crlf_and_lf_line_ends_are_both_accepted),
        cmocka_unit_test(utf8_bom_is_skipped),
        cmocka_unit_test(blank_lines_are_skipped_and_still_counted),
        cmocka_unit_test(fields_are_trimmed_of_spaces),
        cmocka_unit_test(unterminated_quote_is_an_error_on_the_line_it_opens),
        cmocka_unit_test(stray_quotes_are_errors_with_their_line),
        cmocka_unit_test(line_break_inside_quotes_is_refused_and_later_lines_keep_their_numbers),
        cmocka_unit_test(control_characters_nul_and_lone_cr_are_refused),
        cmocka_unit_test(invalid_utf8_is_an_error_with_its_line),
        cmocka_unit_test(utf16_is_refused),
        cmocka_unit_test(every_validation_error_is_reported_with_its_line),
        cmocka_unit_test(several_errors_of_one_row_are_all_reported),
        cmocka_unit_test(lengths_count_characters_not_bytes),
        cmocka_unit_test(role_is_case_insensitive),
        cmocka_unit_test(portfolios_are_split_on_semicolons_and_trimmed),
        cmocka_unit_test(committee_without_portfolios_has_none),
        cmocka_unit_test(unit_paths_become_a_tree_with_parents_first),
        cmocka_unit_test(unit_level_is_inferred_from_the_name_suffix),
        cmocka_unit_test(a_unit_name_that_tells_no_level_still_parses),
        cmocka_unit_test(one_person_on_several_rows_is_one_account),
        cmocka_unit_test(one_login_with_two_display_names_is_an_error),
        cmocka_unit_test(committee_rows_of_one_unit_must_agree_on_portfolios),
        cmocka_unit_test(errors_past_the_kept_ones_are_counted),
        cmocka_unit_test(more_rows_than_the_limit_are_refused),
        cmocka_unit_test(more_portfolios_in_a_row_than_the_api_allows_are_refused),
        cmocka_unit_test(a_file_over_the_size_limit_is_refused_unread),
        cmocka_unit_test(full_width_spaces_around_a_unit_make_no_new_unit),
        cmocka_unit_test(full_width_spaces_around_a_portfolio_make_no_new_portfolio),
        cmocka_unit_test(a_full_width_semicolon_separates_portfolios),
        cmocka_unit_test(a_name_of_only_full_width_spaces_is_empty),
    };
    return cmocka_run_group_tests_name("domain/roster", tests, NULL, NULL);
}
