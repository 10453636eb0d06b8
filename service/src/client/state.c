/* The member client's state directory: the session token and the unspent
 * anonymity tokens, in files only their owner can read, written atomically.
 * See state.h. */
#include "client/state.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/tokens.h"

#define TIME_CHARS 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- directory ----------------------------------------------------------- */

char *state_dir_choose(const char *option, char *err, size_t errlen)
{
    const char *env = getenv("YIJIAN_MEMBER_STATE");
    const char *chosen = option ? option : env && *env ? env : NULL;
    char *out = NULL;
    if (chosen) {
        if (!*chosen) {
            fail(err, errlen, "the state directory must not be empty");
            return NULL;
        }
        out = strdup(chosen);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            const struct passwd *pw = getpwuid(geteuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || !*home) {
            fail(err, errlen, "no home directory: use --state DIR or YIJIAN_MEMBER_STATE");
            return NULL;
        }
        if (asprintf(&out, "%s/.yijian", home) < 0)
            out = NULL;
    }
    if (!out)
        fail(err, errlen, "out of memory");
    return out;
}

int state_open(struct member_state *st, const char *dir, char *err, size_t errlen)
{
    st->dir = NULL;
    st->lock_fd = -1;
    if (mkdir(dir, 0700) == 0) {
        /* mkdir obeys the umask; the mode must be exactly 0700 whatever it is. */
        if (chmod(dir, 0700) != 0) {
            fail(err, errlen, "could not set the mode of %s: %s", dir, strerror(errno));
            return -1;
        }
    } else if (errno != EEXIST) {
        fail(err, errlen, "could not create the state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        fail(err, errlen, "could not read the state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fail(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if (sb.st_uid != geteuid()) {
        fail(err, errlen, "the state directory %s belongs to another user", dir);
        return -1;
    }
    if (sb.st_mode & 077) {
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", (unsigned)(sb.st_mode & 07777));
        fail(err, errlen, "the state directory %s has mode %s: group and others must have no "
                          "access (chmod 700 it)", dir, mode);
        return -1;
    }
    st->dir = strdup(dir);
    if (!st->dir) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void state_unlock(struct member_state *st)
{
    if (st && st->lock_fd >= 0) {
        close(st->lock_fd); /* releases the flock */
        st->lock_fd = -1;
    }
}

void state_close(struct member_state *st)
{
    if (!st)
        return;
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    st->lock_fd = -1;
    free(st->dir);
    st->dir = NULL;
}

/* dir/name in a new string, or NULL. */
static char *path_of(const struct member_state *st, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", st->dir, name) < 0 ? NULL : p;
}

int state_lock(struct member_state *st, char *err, size_t errlen)
{
    if (st->lock_fd >= 0)
        return 0;
    char *path = path_of(st, STATE_LOCK_FILE);
    if (!path) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(err, errlen, "could not open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    int rc;
    do
        rc = flock(fd, LOCK_EX);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        fail(err, errlen, "could not lock %s: %s", path, strerror(errno));
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    st->lock_fd = fd;
    return 0;
}

/* ---- files --------------------------------------------------------------- */

enum state_status state_read(const struct member_state *st, const char *name, char **data,
                             size_t *len, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    char *path = path_of(st, name);
    if (!path) {
        fail(err, errlen, "out of memory");
        return STATE_ERROR;
    }
    enum state_status out = STATE_ERROR;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            out = STATE_NOT_FOUND;
        else if (errno == ELOOP)
            fail(err, errlen, "%s is a symbolic link; refusing to follow it", path);
        else
            fail(err, errlen, "could not open %s: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        fail(err, errlen, "could not read %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        fail(err, errlen, "%s is not a regular file", path);
        goto out;
    }
    if (sb.st_uid != geteuid()) {
        fail(err, errlen, "%s belongs to another user", path);
        goto out;
    }
    if (sb.st_mode & 077) {
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", (unsigned)(sb.st_mode & 07777));
        fail(err, errlen, "%s has mode %s: group and others must have no access (chmod 600 it)",
             path, mode);
        goto out;
    }
    if (sb.st_size < 0 || sb.st_size > STATE_MAX_FILE_BYTES) {
        fail(err, errlen, "%s is larger than %d bytes", path, STATE_MAX_FILE_BYTES);
        goto out;
    }
    cap = (size_t)sb.st_size;
    buf = malloc(cap + 1);
    if (!buf) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == cap) { /* the file may have grown; read one byte more to be sure */
            char extra;
            ssize_t r = read(fd, &extra, 1);
            if (r == 0)
                break;
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                fail(err, errlen, "could not read %s: %s", path, strerror(errno));
            else
                fail(err, errlen, "%s changed while it was read", path);
            goto out;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fail(err, errlen, "could not read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    out = STATE_OK;
out:
    if (buf) {
        sodium_memzero(buf, cap + 1);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return out;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int state_write(const struct member_state *st, const char *name, const void *data, size_t len,
                char *err, size_t errlen)
{
    char *path = path_of(st, name), *tmp = NULL;
    if (!path || asprintf(&tmp, "%s/.%s.XXXXXX", st->dir, name) < 0) {
        free(path);
        fail(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    /* mkostemp creates the file 0600 with O_EXCL, whatever the umask. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        fail(err, errlen, "could not create a file in %s: %s", st->dir, strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        fail(err, errlen, "could not write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        fail(err, errlen, "could not write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        fail(err, errlen, "could not replace %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* The rename itself is durable once the directory is flushed. */
    int dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    free(tmp);
    free(path);
    return rc;
}

/* ---- session ------------------------------------------------------------- */

enum state_status state_session_load(const struct member_state *st, char out[44], char *err,
                                     size_t errlen)
{
    out[0] = '\0';
    char *data;
    size_t len;
    enum state_status s = state_read(st, STATE_SESSION_FILE, &data, &len, err, errlen);
    if (s != STATE_OK)
        return s;
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len != TOKEN_CHARS || !token_well_formed(data)) {
        fail(err, errlen, "%s/%s does not hold a session token; sign in again (member login)",
             st->dir, STATE_SESSION_FILE);
        s = STATE_ERROR;
    } else {
        memcpy(out, data, TOKEN_CHARS + 1);
    }
    sodium_memzero(data, len);
    free(data);
    return s;
}

int state_session_save(const struct member_state *st, const char *token, char *err,
                       size_t errlen)
{
    if (!token_well_formed(token)) {
        fail(err, errlen, "the service sent a malformed session token");
        return -1;
    }
    char line[TOKEN_CHARS + 2];
    snprintf(line, sizeof line, "%s\n", token);
    int rc = state_write(st, STATE_SESSION_FILE, line, strlen(line), err, errlen);
    sodium_memzero(line, sizeof line);
    return rc;
}

/* ---- JSON files ---------------------------------------------------------- */

/* The JSON document in name, which must be of type want, or a new empty
 * one when the file does not exist. New reference, or NULL with err set. */
static json_t *json_file_load(const struct member_state *st, const char *name, json_type want,
                              char *err, size_t errlen);
json_t *state_json_load(const struct member_state *st, const char *name, json_type want,
                        char *err, size_t errlen)
{
    return json_file_load(st, name, want, err, errlen);
}

static int json_file_save(const struct member_state *st, const char *name, json_t *doc,
                          char *err, size_t errlen);
int state_json_save(const struct member_state *st, const char *name, json_t *doc, char *err,
                    size_t errlen)
{
    return json_file_save(st, name, doc, err, errlen);
}

int state_erase(const struct member_state *st, char *err, size_t errlen)
{
    static const char *const files[] = { STATE_SESSION_FILE, STATE_TOKENS_FILE, STATE_KEYS_FILE,
                                         STATE_OUTBOX_FILE, STATE_SERVICE_FILE, STATE_OWNER_FILE };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = path_of(st, files[i]);
        if (!path) {
            fail(err, errlen, "out of memory");
            return -1;
        }
        if (unlink(path) != 0 && errno != ENOENT) {
            fail(err, errlen, "could not remove %s: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        free(path);
    }
    return 0;
}

static json_t *json_file_load(const struct member_state *st, const char *name, json_type want,
                              char *err, size_t errlen)
{
    char *data;
    size_t len;
    enum state_status s = state_read(st, name, &data, &len, err, errlen);
    if (s == STATE_NOT_FOUND)
        return want == JSON_ARRAY ? json_array() : json_object();
    if (s != STATE_OK)
        return NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    sodium_memzero(data, len);
    free(data);
    if (!doc || json_typeof(doc) != want) {
        if (doc)
            fail(err, errlen, "%s/%s is not the JSON this client writes", st->dir, name);
        else
            fail(err, errlen, "%s/%s is not JSON (line %d: %s)", st->dir, name, jerr.line,
                 jerr.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int json_file_save(const struct member_state *st, const char *name, json_t *doc,
                          char *err, size_t errlen)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the final newline */
    int rc = state_write(st, name, text, len + 1, err, errlen);
    sodium_memzero(text, len + 1);
    free(text);
    return rc;
}

bool state_b64_decode(const char *s, size_t slen, unsigned char *out, size_t outlen)
{
    size_t n = 0;
    const char *end = NULL;
    /* Exactly outlen bytes, nothing ignored, no padding: one spelling per value. */
    if (slen != sodium_base64_encoded_len(outlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1)
        return false;
    /* libsodium 1.0.18 reads every byte above 0x7F as '_' (docs/hardening.md):
     * check the alphabet first. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < slen; i++)
        if (!s[i] || !strchr(alphabet, s[i]))
            return false;
    return sodium_base642bin(out, outlen, s, slen, NULL, &n, &end,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
           n == outlen && end == s + slen;
}

static bool b64_member(const json_t *obj, const char *key, size_t bytes)
{
    const json_t *v = json_object_get(obj, key);
    unsigned char buf[64];
    if (!json_is_string(v) || bytes > sizeof buf)
        return false;
    bool ok = state_b64_decode(json_string_value(v), json_string_length(v), buf, bytes);
    sodium_memzero(buf, sizeof buf);
    return ok;
}

bool state_key_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > STATE_KEY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

bool state_token_valid(const json_t *t)
{
    if (!json_is_object(t))
        return false;
    const json_t *kid = json_object_get(t, "key_id");
    if (!json_is_string(kid) || !state_key_id_valid(json_string_value(kid)))
        return false;
    if (!b64_member(t, "input", 32) || !b64_member(t, "output", 64))
        return false;
    const json_t *until = json_object_get(t, "redeem_until");
    if (until && (!json_is_string(until) || json_string_length(until) != TIME_CHARS))
        return false;
    /* The unit the token is for (tokens are bound to a unit); a token of
     * an older client has none and is good for nothing any more. */
    const json_t *unit = json_object_get(t, "unit_id");
    if (unit && (!json_is_integer(unit) || json_integer_value(unit) < 1))
        return false;
    return json_object_size(t) == 3u + (until ? 1u : 0u) + (unit ? 1u : 0u);
}

json_t *state_tokens_load(const struct member_state *st, char *err, size_t errlen)
{
    json_t *tokens = json_file_load(st, STATE_TOKENS_FILE, JSON_ARRAY, err, errlen);
    if (!tokens)
        return NULL;
    if (json_array_size(tokens) > STATE_MAX_TOKENS) {
        fail(err, errlen, "%s/%s holds too many tokens", st->dir, STATE_TOKENS_FILE);
        json_decref(tokens);
        return NULL;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t) {
        if (!state_token_valid(t)) {
            fail(err, errlen, "%s/%s: entry %zu is malformed", st->dir, STATE_TOKENS_FILE, i);
            json_decref(tokens);
            return NULL;
        }
    }
    return tokens;
}

int state_tokens_save(const struct member_state *st, json_t *tokens, char *err, size_t errlen)
{
    size_t i;
    json_t *t;
    if (!json_is_array(tokens) || json_array_size(tokens) > STATE_MAX_TOKENS) {
        fail(err, errlen, "refusing to write a malformed tokens.json");
        return -1;
    }
    json_array_foreach(tokens, i, t) {
        if (!state_token_valid(t)) {
            fail(err, errlen, "refusing to write a malformed tokens.json");
            return -1;
        }
    }
    return json_file_save(st, STATE_TOKENS_FILE, tokens, err, errlen);
}

static bool keys_valid(const json_t *keys)
{
    const char *kid;
    const json_t *pk;
    if (json_object_size(keys) > STATE_MAX_TOKENS)
        return false;
    json_object_foreach((json_t *)keys, kid, pk) {
        unsigned char raw[32];
        if (!state_key_id_valid(kid) || !json_is_string(pk) ||
            !state_b64_decode(json_string_value(pk), json_string_length(pk), raw, sizeof raw))
            return false;
    }
    return true;
}

json_t *state_keys_load(const struct member_state *st, char *err, size_t errlen)
{
    json_t *keys = json_file_load(st, STATE_KEYS_FILE, JSON_OBJECT, err, errlen);
    if (keys && !keys_valid(keys)) {
        fail(err, errlen, "%s/%s is malformed", st->dir, STATE_KEYS_FILE);
        json_decref(keys);
        return NULL;
    }
    return keys;
}

int state_keys_save(const struct member_state *st, json_t *keys, char *err, size_t errlen)
{
    if (!json_is_object(keys) || !keys_valid(keys)) {
        fail(err, errlen, "refusing to write a malformed keys.json");
        return -1;
    }
    return json_file_save(st, STATE_KEYS_FILE, keys, err, errlen);
}
