/* Tests service/src/client/state.c: the member client's state directory
 * (0700), its files (0600, replaced atomically, refused when others can
 * read them or when they are links), and the shapes of the session,
 * tokens.json and keys.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/state.h"

#define SESSION "nPT80D8rriFv18xnS7xic5BSIPC9clcMLc6PNhgLqwg"
/* 32 and 64 bytes of base64url without padding */
#define INPUT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define OUTPUT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"

struct fixture {
    char root[64];  /* a fresh temporary directory */
    char dir[128];  /* root/state, not created */
    struct member_state st;
    char err[512];
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || sodium_init() < 0)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/yijian-state-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/state", f->root);
    f->st.lock_fd = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    state_close(&f->st);
    nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void open_dir(struct fixture *f)
{
    assert_int_equal(state_open(&f->st, f->dir, f->err, sizeof f->err), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    return sb.st_mode & 07777;
}

static void write_raw(struct fixture *f, const char *name, const char *text, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* Entries of dir other than . and .. */
static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* ---- the directory ------------------------------------------------------- */

static void directory_is_created_0700_whatever_the_umask(void **state)
{
    struct fixture *f = *state;
    mode_t old = umask(0);
    open_dir(f);
    umask(old);
    assert_int_equal(mode_of(f->dir), 0700);
    /* Opening it again is fine. */
    state_close(&f->st);
    open_dir(f);
}

static void directory_open_to_others_is_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(f->dir, 0700), 0);
    assert_int_equal(chmod(f->dir, 0750), 0);
    assert_int_equal(state_open(&f->st, f->dir, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "has mode 0750"));
    assert_non_null(strstr(f->err, "chmod 700"));
    assert_int_equal(mode_of(f->dir), 0750); /* left as it was, not "fixed" */
    state_close(&f->st);                     /* safe after a failed open */
}

static void a_file_in_place_of_the_directory_is_refused(void **state)
{
    struct fixture *f = *state;
    FILE *fp = fopen(f->dir, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(state_open(&f->st, f->dir, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "not a directory"));
}

static void a_missing_parent_is_an_error_not_created(void **state)
{
    struct fixture *f = *state;
    char deep[256];
    snprintf(deep, sizeof deep, "%s/no/such", f->root);
    assert_int_equal(state_open(&f->st, deep, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "could not create the state directory"));
}

static void directory_choice_is_option_then_environment_then_home(void **state)
{
    struct fixture *f = *state;
    setenv("YIJIAN_MEMBER_STATE", "/from/env", 1);
    setenv("HOME", "/home/someone", 1);
    char *d = state_dir_choose("/from/option", f->err, sizeof f->err);
    assert_string_equal(d, "/from/option");
    free(d);
    d = state_dir_choose(NULL, f->err, sizeof f->err);
    assert_string_equal(d, "/from/env");
    free(d);
    setenv("YIJIAN_MEMBER_STATE", "", 1);
    d = state_dir_choose(NULL, f->err, sizeof f->err);
    assert_string_equal(d, "/home/someone/.yijian");
    free(d);
    unsetenv("YIJIAN_MEMBER_STATE");
    assert_null(state_dir_choose("", f->err, sizeof f->err));
}

static void the_lock_excludes_a_second_holder(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    assert_int_equal(state_lock(&f->st, f->err, sizeof f->err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, STATE_LOCK_FILE);
    assert_int_equal(mode_of(path), 0600);
    int other = open(path, O_RDWR);
    assert_true(other >= 0);
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    state_close(&f->st); /* releases it */
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
    close(other);
}

/* ---- files --------------------------------------------------------------- */

static void files_are_written_0600_whatever_the_umask(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    mode_t old = umask(0);
    assert_int_equal(state_write(&f->st, "x", "hello", 5, f->err, sizeof f->err), 0);
    umask(old);
    char path[256];
    snprintf(path, sizeof path, "%s/x", f->dir);
    assert_int_equal(mode_of(path), 0600);
    char *data;
    size_t len;
    assert_int_equal(state_read(&f->st, "x", &data, &len, f->err, sizeof f->err), STATE_OK);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
}

static void a_rewrite_replaces_the_file_and_leaves_no_temporary(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    char path[256];
    snprintf(path, sizeof path, "%s/x", f->dir);
    assert_int_equal(state_write(&f->st, "x", "first, longer", 13, f->err, sizeof f->err), 0);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    /* A reader holding the old file keeps reading the old content. */
    int old = open(path, O_RDONLY);
    assert_true(old >= 0);
    assert_int_equal(state_write(&f->st, "x", "second", 6, f->err, sizeof f->err), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino); /* renamed over, not rewritten in place */
    char buf[32] = { 0 };
    assert_int_equal(read(old, buf, sizeof buf - 1), 13);
    assert_string_equal(buf, "first, longer");
    close(old);
    char *data;
    size_t len;
    assert_int_equal(state_read(&f->st, "x", &data, &len, f->err, sizeof f->err), STATE_OK);
    assert_string_equal(data, "second");
    free(data);
    assert_int_equal(entries(f->dir), 1);
}

static void a_failed_write_leaves_the_old_file_and_no_temporary(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    assert_int_equal(state_write(&f->st, "x", "kept", 4, f->err, sizeof f->err), 0);
    /* A non-empty directory where the file should be: the rename fails. */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/sub", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/file", sub);
    FILE *fp = fopen(inner, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(state_write(&f->st, "sub", "b", 1, f->err, sizeof f->err), -1);
    assert_non_null(strstr(f->err, "could not replace"));
    assert_int_equal(entries(f->dir), 2); /* x and sub: no temporary left */
    char *data;
    size_t len;
    assert_int_equal(state_read(&f->st, "x", &data, &len, f->err, sizeof f->err), STATE_OK);
    assert_string_equal(data, "kept");
    free(data);
}

static void a_missing_file_is_not_found(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    char *data = (char *)1;
    size_t len = 9;
    assert_int_equal(state_read(&f->st, "none", &data, &len, f->err, sizeof f->err),
                     STATE_NOT_FOUND);
    assert_null(data);
    assert_int_equal(len, 0);
}

static void a_file_open_to_others_is_refused(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    write_raw(f, "x", "secret", 0640);
    char *data;
    size_t len;
    assert_int_equal(state_read(&f->st, "x", &data, &len, f->err, sizeof f->err), STATE_ERROR);
    assert_non_null(strstr(f->err, "has mode 0640"));
    assert_non_null(strstr(f->err, "chmod 600"));
}

static void a_symbolic_link_is_not_followed(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    write_raw(f, "real", "secret", 0600);
    char link[256];
    snprintf(link, sizeof link, "%s/x", f->dir);
    assert_int_equal(symlink("real", link), 0);
    char *data;
    size_t len;
    assert_int_equal(state_read(&f->st, "x", &data, &len, f->err, sizeof f->err), STATE_ERROR);
    assert_non_null(strstr(f->err, "symbolic link"));
}

static void an_oversized_file_is_refused(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    write_raw(f, "x", "", 0600);
    char path[256];
    snprintf(path, sizeof path, "%s/x", f->dir);
    assert_int_equal(truncate(path, STATE_MAX_FILE_BYTES + 1), 0);
    char *data;
    size_t len;
    assert_int_equal(state_read(&f->st, "x", &data, &len, f->err, sizeof f->err), STATE_ERROR);
    assert_non_null(strstr(f->err, "larger than"));
}

/* ---- session ------------------------------------------------------------- */

static void session_round_trips(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    char out[44];
    assert_int_equal(state_session_load(&f->st, out, f->err, sizeof f->err), STATE_NOT_FOUND);
    assert_int_equal(state_session_save(&f->st, SESSION, f->err, sizeof f->err), 0);
    assert_int_equal(state_session_load(&f->st, out, f->err, sizeof f->err), STATE_OK);
    assert_string_equal(out, SESSION);
}

static void a_malformed_session_is_refused_both_ways(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    assert_int_equal(state_session_save(&f->st, "short", f->err, sizeof f->err), -1);
    assert_int_equal(state_session_save(&f->st, SESSION "\nX", f->err, sizeof f->err), -1);
    write_raw(f, STATE_SESSION_FILE, SESSION "\n\n", 0600);
    char out[44];
    assert_int_equal(state_session_load(&f->st, out, f->err, sizeof f->err), STATE_ERROR);
    assert_non_null(strstr(f->err, "sign in again"));
    assert_string_equal(out, "");
}

/* ---- tokens.json and keys.json ------------------------------------------- */

static json_t *token(const char *key_id, const char *input, const char *output)
{
    return json_pack("{s:s, s:s, s:s}", "key_id", key_id, "input", input, "output", output);
}

static void no_tokens_file_is_an_empty_list(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    json_t *t = state_tokens_load(&f->st, f->err, sizeof f->err);
    assert_non_null(t);
    assert_true(json_is_array(t));
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);
}

static void tokens_round_trip(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    json_t *list = json_array();
    json_array_append_new(list, token("2026-11", INPUT, OUTPUT));
    json_t *with_until = token("2026-11-05", INPUT, OUTPUT);
    json_object_set_new(with_until, "redeem_until", json_string("2026-12-08T00:00:00Z"));
    json_array_append_new(list, with_until);
    assert_int_equal(state_tokens_save(&f->st, list, f->err, sizeof f->err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, STATE_TOKENS_FILE);
    assert_int_equal(mode_of(path), 0600);
    json_t *back = state_tokens_load(&f->st, f->err, sizeof f->err);
    assert_non_null(back);
    assert_true(json_equal(list, back));
    json_decref(back);
    json_decref(list);
}

static void malformed_tokens_are_refused_on_load_and_on_save(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    const char *bad_files[] = {
        "{}",                                                             /* not a list */
        "[1]",                                                            /* not an object */
        "[{\"key_id\":\"2026-11\",\"input\":\"" INPUT "\"}]",             /* no output */
        "[{\"key_id\":\"2026-11\",\"input\":\"" INPUT "=\",\"output\":\"" OUTPUT "\"}]",
        "[{\"key_id\":\"2026-11\",\"input\":\"" INPUT "\",\"output\":\"" INPUT "\"}]",
        "[{\"key_id\":\"../x\",\"input\":\"" INPUT "\",\"output\":\"" OUTPUT "\"}]",
        "[{\"key_id\":\"2026-11\",\"input\":\"" INPUT "\",\"output\":\"" OUTPUT "\",\"x\":1}]",
        "[{\"key_id\":\"2026-11\",\"key_id\":\"2026-12\",\"input\":\"" INPUT "\",\"output\":\"" OUTPUT "\"}]",
        "[{\"key_id\":\"2026-11\",\"input\":\"" INPUT "\",\"output\":\"" OUTPUT "\",\"redeem_until\":5}]",
        "[",
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        write_raw(f, STATE_TOKENS_FILE, bad_files[i], 0600);
        json_t *t = state_tokens_load(&f->st, f->err, sizeof f->err);
        if (t)
            fail_msg("loaded malformed tokens.json #%zu", i);
        assert_non_null(strstr(f->err, STATE_TOKENS_FILE));
    }
    json_t *list = json_array();
    json_array_append_new(list, token("2026-11", INPUT, "short"));
    assert_int_equal(state_tokens_save(&f->st, list, f->err, sizeof f->err), -1);
    json_decref(list);
}

static void base64url_is_strict(void **state)
{
    (void)state;
    unsigned char out[32];
    assert_true(state_b64_decode(INPUT, strlen(INPUT), out, 32));
    assert_int_equal(out[31], 31);
    assert_false(state_b64_decode(INPUT "=", strlen(INPUT) + 1, out, 32));   /* padding */
    assert_false(state_b64_decode(INPUT, strlen(INPUT) - 1, out, 32));       /* short */
    assert_false(state_b64_decode(" " INPUT, strlen(INPUT) + 1, out, 32));   /* space */
    /* The last symbol carries 4 bits and 2 that must be zero: "9" in place
     * of "8" spells the same bytes with a stray bit. */
    char stray[] = INPUT;
    stray[strlen(stray) - 1] = '9';
    assert_false(state_b64_decode(stray, strlen(stray), out, 32));
    char plus[] = INPUT;
    plus[0] = '+'; /* the other alphabet */
    assert_false(state_b64_decode(plus, strlen(plus), out, 32));
    /* libsodium 1.0.18 alone would read a byte above 0x7F as '_'. */
    char high[] = INPUT;
    high[0] = (char)0xC3;
    assert_false(state_b64_decode(high, strlen(high), out, 32));
}

static void keys_round_trip_and_refuse_what_is_not_a_key(void **state)
{
    struct fixture *f = *state;
    open_dir(f);
    json_t *keys = state_keys_load(&f->st, f->err, sizeof f->err);
    assert_non_null(keys);
    assert_int_equal(json_object_size(keys), 0);
    json_object_set_new(keys, "2026-11", json_string(INPUT));
    assert_int_equal(state_keys_save(&f->st, keys, f->err, sizeof f->err), 0);
    json_t *back = state_keys_load(&f->st, f->err, sizeof f->err);
    assert_true(json_equal(keys, back));
    json_decref(back);
    json_object_set_new(keys, "2026-12", json_string("nope"));
    assert_int_equal(state_keys_save(&f->st, keys, f->err, sizeof f->err), -1);
    json_decref(keys);
    write_raw(f, STATE_KEYS_FILE, "{\"2026-11\": 5}", 0600);
    assert_null(state_keys_load(&f->st, f->err, sizeof f->err));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(directory_is_created_0700_whatever_the_umask),
        T(directory_open_to_others_is_refused),
        T(a_file_in_place_of_the_directory_is_refused),
        T(a_missing_parent_is_an_error_not_created),
        T(directory_choice_is_option_then_environment_then_home),
        T(the_lock_excludes_a_second_holder),
        T(files_are_written_0600_whatever_the_umask),
        T(a_rewrite_replaces_the_file_and_leaves_no_temporary),
        T(a_failed_write_leaves_the_old_file_and_no_temporary),
        T(a_missing_file_is_not_found),
        T(a_file_open_to_others_is_refused),
        T(a_symbolic_link_is_not_followed),
        T(an_oversized_file_is_refused),
        T(session_round_trips),
        T(a_malformed_session_is_refused_both_ways),
        T(no_tokens_file_is_an_empty_list),
        T(tokens_round_trip),
        T(malformed_tokens_are_refused_on_load_and_on_save),
        T(base64url_is_strict),
        T(keys_round_trip_and_refuse_what_is_not_a_key),
    };
#undef T
    return cmocka_run_group_tests_name("client/state", tests, NULL, NULL);
}
