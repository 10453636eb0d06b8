/* `yijian member`: signs a member in, fetches and verifies anonymity
 * tokens (RFC 9497 VOPRF, ristretto255-SHA512), submits suggestions named
 * or anonymously, and follows anonymous ones by their tracking code. What
 * it does about the anonymity of its user is docs/threat-model.md, "What
 * clients do". It prints neither the session token nor the tokens, and
 * the tracking code only once, right after the submission it belongs to. */
#include "client/member.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client/http.h"
#include "client/state.h"
#include "crypto/oprf.h"
#include "crypto/tokens.h"
#include "util/decimal.h"

#define DEFAULT_URL "http://127.0.0.1:8080"
#define URL_MAX 2048
#define DEFAULT_TOKENS 10
#define INPUT_BYTES 32     /* random bytes behind each token */
#define PASSWORD_MAX 1024  /* bytes of a password read from stdin */
#define CODE_MAX 64        /* characters of a typed tracking code */
#define ISSUE_ROUNDS 3     /* asking again for fewer after a quota refusal */
#define TIME_CHARS 20      /* "YYYY-MM-DDTHH:MM:SSZ" */
#define ERR_MAX 1024

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* ------------------------------------------------------------------ */
/* arguments                                                           */
/* ------------------------------------------------------------------ */

enum opt {
    OPT_URL = 1u << 0,
    OPT_STATE = 1u << 1,
    OPT_HELP = 1u << 2,
    OPT_TOKENS = 1u << 3,
    OPT_UNIT = 1u << 4,
    OPT_CATEGORY = 1u << 5,
    OPT_TITLE = 1u << 6,
    OPT_BODY = 1u << 7,
    OPT_ANONYMOUS = 1u << 8,
    OPT_WAIT = 1u << 9,
    OPT_FORCE = 1u << 10,
};
#define OPT_GLOBAL (OPT_URL | OPT_STATE | OPT_HELP)

static const struct {
    const char *name;
    enum opt id;
    bool has_value;
} option_table[] = {
    { "url", OPT_URL, true },           { "state", OPT_STATE, true },
    { "help", OPT_HELP, false },        { "tokens", OPT_TOKENS, true },
    { "unit", OPT_UNIT, true },         { "category", OPT_CATEGORY, true },
    { "title", OPT_TITLE, true },       { "body", OPT_BODY, true },
    { "anonymous", OPT_ANONYMOUS, false }, { "wait", OPT_WAIT, false },
    { "force", OPT_FORCE, false },
};

#define MAX_POSITIONAL 4

struct args {
    unsigned given; /* enum opt bits */
    const char *url, *state, *tokens, *unit, *category, *title, *body;
    const char *pos[MAX_POSITIONAL]; /* pos[0] is the command */
    int npos;
};

struct member {
    char base[URL_MAX]; /* the service, without a trailing slash */
    struct member_state st;
    const struct args *args;
};

struct command {
    const char *name;
    int nargs; /* positional arguments after the command */
    unsigned options;
    int (*run)(struct member *m);
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: yijian member [--url URL] [--state DIR] COMMAND [ARGS]\n\n"
            "The member client: signs in, keeps anonymity tokens, submits suggestions\n"
            "(named or anonymous) and follows anonymous ones with their tracking code.\n\n"
            "commands:\n"
            "  login LOGIN [--tokens N]   sign in (the password from YIJIAN_PASSWORD or one line\n"
            "                             of stdin), then fetch N anonymity tokens (default %d,\n"
            "                             fewer when fewer remain this epoch), checking their\n"
            "                             proof against the service's published key\n"
            "  tokens                     how many unspent tokens there are, per key id\n"
            "  submit --unit N --category N --title T --body B [--anonymous]\n"
            "                             submit a suggestion, signed in or (--anonymous) paid\n"
            "                             with a token and sent without the session; prints the\n"
            "                             tracking code of an anonymous one, once\n"
            "  track CODE                 status, messages and answer of an anonymous suggestion\n"
            "  reply CODE TEXT            write to whoever handles it\n"
            "  rate CODE RATING           rate its answer: satisfied, basically_satisfied or\n"
            "                             unsatisfied\n"
            "  withdraw CODE              withdraw it (while it is only submitted)\n"
            "  reopen CODE                ask for a new answer after rating it unsatisfied\n"
            "  cosign ID --unit N         co-sign suggestion ID anonymously with a token of its\n"
            "                             unit N\n"
            "  A CODE of - is read from stdin, which keeps it out of ps and the shell history.\n"
            "  匿名操作（匿名提交、匿名附议，以及用查询码留言、评价、撤回、请求重新答复）先存进\n"
            "  本机发送箱，在服务的下一个时段边界之前的随机时刻发出，这样送达时间不会透露您是什么\n"
            "  时候写的；服务没有时段时立即发出。\n"
            "  outbox                     发送箱里等待发出的匿名操作和各自的送达时限\n"
            "  send [--wait]              发出已到时刻的匿名操作；--wait 一直等到全部发出\n"
            "  logout [--force]           退出登录，删除本机为这个账号保存的一切（会话、匿名凭证、\n"
            "                             发送箱）；发送箱不空时要加 --force 才放弃它们\n\n"
            "options:\n"
            "  --url URL      the service; default $YIJIAN_URL, else %s\n"
            "  --state DIR    where the session and the tokens are kept (created 0700, files\n"
            "                 0600); default $YIJIAN_MEMBER_STATE, else ~/.yijian\n"
            "  --help         this text\n",
            DEFAULT_TOKENS, DEFAULT_URL);
}

/* Options anywhere among the arguments (--name VALUE or --name=VALUE),
 * "--" ends them. Returns 0, or -1 after printing why. */
static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && !strcmp(arg, "--")) {
            options_done = true;
            continue;
        }
        if (options_done || strncmp(arg, "--", 2) != 0 || !arg[2]) {
            if (a->npos == MAX_POSITIONAL) {
                fprintf(stderr, "yijian member: too many arguments\n");
                return -1;
            }
            a->pos[a->npos++] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        size_t k;
        for (k = 0; k < sizeof option_table / sizeof option_table[0]; k++)
            if (strlen(option_table[k].name) == len && !strncmp(option_table[k].name, name, len))
                break;
        if (k == sizeof option_table / sizeof option_table[0]) {
            fprintf(stderr, "yijian member: unknown option --%.*s\n", (int)len, name);
            return -1;
        }
        enum opt id = option_table[k].id;
        const char *value = NULL;
        if (option_table[k].has_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(stderr, "yijian member: --%s needs a value\n", option_table[k].name);
                return -1;
            }
        } else if (eq) {
            fprintf(stderr, "yijian member: --%s takes no value\n", option_table[k].name);
            return -1;
        }
        if (a->given & id) {
            fprintf(stderr, "yijian member: --%s given twice\n", option_table[k].name);
            return -1;
        }
        a->given |= id;
        switch (id) {
        case OPT_URL: a->url = value; break;
        case OPT_STATE: a->state = value; break;
        case OPT_TOKENS: a->tokens = value; break;
        case OPT_UNIT: a->unit = value; break;
        case OPT_CATEGORY: a->category = value; break;
        case OPT_TITLE: a->title = value; break;
        case OPT_BODY: a->body = value; break;
        case OPT_HELP:
        case OPT_ANONYMOUS:
        case OPT_WAIT:
        case OPT_FORCE: break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* output                                                              */
/* ------------------------------------------------------------------ */

/* Text from the service on a terminal: control characters (escape
 * sequences could rewrite the screen) become '?', newlines stay when
 * keep_newlines. That includes the C1 controls U+0080-U+009F in UTF-8
 * (C2 80-C2 9F), which terminals read as 8-bit controls: U+009B is CSI. */
static void put_text(FILE *f, const char *s, bool keep_newlines)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
            fputc('?', f);
            s++;
        } else if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f) {
            fputc('?', f);
        } else {
            fputc(c, f);
        }
    }
}

static const char *str_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool problem_is(const struct http_reply *r, const char *slug)
{
    const char *type = str_member(r->json, "type");
    return type && !strncmp(type, "/problems/", 10) && !strcmp(type + 10, slug);
}

/* "yijian member: could not DOING: TITLE (HTTP N)", the detail and each
 * field error on lines of their own. */
static void report(const char *doing, const struct http_reply *r)
{
    const char *title = str_member(r->json, "title");
    fprintf(stderr, "yijian member: could not %s: ", doing);
    put_text(stderr, title ? title : "unexpected answer from the service", false);
    fprintf(stderr, " (HTTP %ld)\n", r->status);
    const char *detail = str_member(r->json, "detail");
    if (detail) {
        fputs("  ", stderr);
        put_text(stderr, detail, false);
        fputc('\n', stderr);
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) {
        const char *pointer = str_member(e, "pointer"), *why = str_member(e, "detail");
        fputs("  ", stderr);
        put_text(stderr, pointer && *pointer ? pointer : "(request)", false);
        fputs(": ", stderr);
        put_text(stderr, why ? why : "?", false);
        fputc('\n', stderr);
    }
    if (r->status == 401 && problem_is(r, "unauthorized"))
        fprintf(stderr, "  the session has ended: sign in again (yijian member login LOGIN)\n");
}

static void fail_msg(const char *msg)
{
    fprintf(stderr, "yijian member: %s\n", msg);
}

/* ------------------------------------------------------------------ */
/* plumbing                                                            */
/* ------------------------------------------------------------------ */

/* base + path in out; false when it does not fit. */
static bool url_of(const struct member *m, const char *path, char out[URL_MAX])
{
    int n = snprintf(out, URL_MAX, "%s%s", m->base, path);
    return n > 0 && n < URL_MAX;
}

static int set_base_url(struct member *m, const char *url)
{
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    bool http = !strncmp(url, "http://", 7), https = !strncmp(url, "https://", 8);
    if ((!http && !https) || len <= (size_t)(http ? 7 : 8) || len >= URL_MAX - 64) {
        fprintf(stderr, "yijian member: the service URL must be http://HOST[:PORT] or "
                        "https://HOST[:PORT]\n");
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f || url[i] == '?' || url[i] == '#') {
            fprintf(stderr, "yijian member: the service URL must not hold spaces, a query or a "
                            "fragment\n");
            return -1;
        }
    memcpy(m->base, url, len);
    m->base[len] = '\0';
    static const char *const loopback[] = { "http://127.", "http://localhost:", "http://[::1]" };
    bool local = !strcmp(m->base, "http://localhost");
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        local = local || !strncmp(m->base, loopback[i], strlen(loopback[i]));
    if (http && !local)
        fprintf(stderr, "yijian member: warning: %s is plain HTTP: the password, the session "
                        "and the tokens cross the network unencrypted\n", m->base);
    return 0;
}

/* Sends one request to the service; false after printing why no answer
 * came. */
static bool call(const struct member *m, const char *method, const char *path,
                 const char *const *headers, json_t *body, enum http_retry retry,
                 struct http_reply *reply)
{
    char url[URL_MAX], err[ERR_MAX];
    if (!url_of(m, path, url)) {
        fail_msg("the service URL is too long");
        return false;
    }
    if (http_request(method, url, headers, body, retry, reply, err, sizeof err) != 0) {
        fail_msg(err);
        return false;
    }
    return true;
}

static int open_state(struct member *m, bool lock)
{
    char err[ERR_MAX];
    char *dir = state_dir_choose(m->args->state, err, sizeof err);
    if (!dir) {
        fail_msg(err);
        return -1;
    }
    int rc = state_open(&m->st, dir, err, sizeof err);
    free(dir);
    if (rc == 0 && lock)
        rc = state_lock(&m->st, err, sizeof err);
    if (rc != 0)
        fail_msg(err);
    return rc;
}

/* The current time in the service's format, for comparing with
 * redeem_until (the same format compares as the time does). */
static void now_text(char out[TIME_CHARS + 1])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, TIME_CHARS + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool token_redeemable(const json_t *t, const char *now)
{
    const char *until = str_member(t, "redeem_until");
    return !until || strcmp(until, now) > 0;
}

/* One line of stdin without its line end, in a new buffer the caller wipes
 * and frees; NULL after printing why. Echo is off on a terminal. */
static char *read_secret_line(const char *prompt)
{
    struct termios saved, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (n <= 0 || (size_t)n > PASSWORD_MAX) {
        if (line) {
            sodium_memzero(line, cap);
            free(line);
        }
        fail_msg(n < 0 ? "nothing to read on stdin" : n == 0 ? "an empty line on stdin"
                                                              : "the line on stdin is too long");
        return NULL;
    }
    return line;
}

/* ------------------------------------------------------------------ */
/* login and tokens                                                    */
/* ------------------------------------------------------------------ */

static void b64(const unsigned char *bin, size_t len, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* How many tokens a quota refusal says remain ("R of the Q tokens of epoch
 * K remain, ..."), or -1 when the detail does not say. */
static long long tokens_left(const struct http_reply *r)
{
    const char *detail = str_member(r->json, "detail");
    long long left;
    char *end;
    if (!detail || *detail < '0' || *detail > '9')
        return -1;
    errno = 0;
    left = strtoll(detail, &end, 10);
    return errno || strncmp(end, " of ", 4) != 0 ? -1 : left;
}

/* The key tokens of a unit are issued under now. */
struct current_key {
    long long unit_id;
    char key_id[STATE_KEY_ID_MAX + 1];
    char redeem_until[TIME_CHARS + 1];
    struct oprf_element pk;
};

/* Keeps the release window a key list publishes (release_window_seconds)
 * in service.json: anonymous acts are sent at a random moment before its
 * next boundary. False after printing why. */
static bool keep_window(struct member *m, const json_t *keys_answer)
{
    json_t *w = json_object_get(keys_answer, "release_window_seconds");
    if (!json_is_integer(w) || json_integer_value(w) < 0)
        return true; /* a service without windows: nothing to keep */
    char err[ERR_MAX];
    json_t *doc = json_pack("{s:I}", "release_window_seconds", json_integer_value(w));
    bool ok = doc && state_json_save(&m->st, STATE_SERVICE_FILE, doc, err, sizeof err) == 0;
    json_decref(doc);
    if (!ok)
        fail_msg(doc ? err : "out of memory");
    return ok;
}

/* The current key of unit from GET /v1/tokens/keys, every listed key
 * checked against the one this client saw before for its epoch and unit
 * (pins gets the new ones, as "KEY_ID.uUNIT"; it is saved only with the
 * tokens). On false a message has been printed. */
static bool fetch_keys(struct member *m, long long unit, json_t *pins, struct current_key *cur)
{
    struct http_reply r = { 0 };
    char path[64];
    snprintf(path, sizeof path, "/v1/tokens/keys?unit=%lld", unit);
    if (!call(m, "GET", path, NULL, NULL, HTTP_RETRY_SAFE, &r))
        return false;
    bool ok = false;
    if (r.status != 200) {
        report("fetch the token keys", &r);
        goto out;
    }
    json_t *keys = json_object_get(r.json, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        fail_msg("the service's key list is malformed; no tokens fetched");
        goto out;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *kid = str_member(k, "key_id"), *pk = str_member(k, "public_key");
        const char *until = str_member(k, "redeem_until");
        unsigned char raw[OPRF_ELEMENT_BYTES];
        struct oprf_element el;
        if (!kid || !state_key_id_valid(kid) || !pk || !until || strlen(until) != TIME_CHARS ||
            !state_b64_decode(pk, strlen(pk), raw, sizeof raw) ||
            oprf_element_deserialize(&el, raw, sizeof raw) != OPRF_OK) {
            fail_msg("the service's key list is malformed; no tokens fetched");
            goto out;
        }
        /* A key that differs from the one shown before for the same epoch
         * could be this member's own, and tag every token made with it. */
        char pin[STATE_KEY_ID_MAX + 1];
        int pn = snprintf(pin, sizeof pin, "%s.u%lld", kid, unit);
        if (pn < 0 || (size_t)pn >= sizeof pin) {
            fail_msg("the service's key list is malformed; no tokens fetched");
            goto out;
        }
        const char *pinned = str_member(pins, pin);
        if (pinned && strcmp(pinned, pk) != 0) {
            fprintf(stderr,
                    "yijian member: the service shows another public key for epoch %s of unit "
                    "%lld than it showed this client before; refusing its tokens (tokens made "
                    "with a key of your own could be recognised when spent). If the service's "
                    "keys were reset on purpose, remove %s/%s.\n",
                    kid, unit, m->st.dir, STATE_KEYS_FILE);
            goto out;
        }
        json_object_set_new(pins, pin, json_string(pk));
        if (i == 0) {
            cur->unit_id = unit;
            snprintf(cur->key_id, sizeof cur->key_id, "%s", kid);
            snprintf(cur->redeem_until, sizeof cur->redeem_until, "%s", until);
            cur->pk = el;
        }
    }
    ok = keep_window(m, r.json);
out:
    http_reply_cleanup(&r);
    return ok;
}

/* A batch being fetched: the secrets stay in here and are wiped. */
struct batch {
    size_t n;
    unsigned char inputs[OPRF_MAX_BATCH][INPUT_BYTES];
    struct oprf_input in[OPRF_MAX_BATCH];
    struct oprf_scalar blinds[OPRF_MAX_BATCH];
    struct oprf_element blinded[OPRF_MAX_BATCH];
    struct oprf_element evaluated[OPRF_MAX_BATCH];
    unsigned char outputs[OPRF_MAX_BATCH][OPRF_OUTPUT_BYTES];
};

static bool batch_blind(struct batch *b, size_t n)
{
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        randombytes_buf(b->inputs[i], INPUT_BYTES);
        b->in[i] = (struct oprf_input){ b->inputs[i], INPUT_BYTES };
        if (oprf_blind(OPRF_MODE_VOPRF, &b->in[i], NULL, &b->blinds[i], &b->blinded[i]) !=
            OPRF_OK)
            return false; /* an input hashing to the identity: 2^-252 */
    }
    return true;
}

/* Checks the issuance answer and finalizes; false after printing why, with
 * nothing kept. */
static bool batch_finalize(struct batch *b, const struct current_key *key, const json_t *answer)
{
    const char *kid = str_member(answer, "key_id"), *proof_b64 = str_member(answer, "proof");
    json_t *ev = json_object_get(answer, "evaluated");
    unsigned char raw[OPRF_PROOF_BYTES];
    struct oprf_proof proof;
    if (!kid || strcmp(kid, key->key_id) != 0 || !json_is_array(ev) ||
        json_array_size(ev) != b->n || !proof_b64) {
        fail_msg("the service's answer to the token request is malformed; no tokens kept");
        return false;
    }
    for (size_t i = 0; i < b->n; i++) {
        const char *e = json_string_value(json_array_get(ev, i));
        unsigned char el[OPRF_ELEMENT_BYTES];
        if (!e || !state_b64_decode(e, strlen(e), el, sizeof el) ||
            oprf_element_deserialize(&b->evaluated[i], el, sizeof el) != OPRF_OK) {
            fail_msg("the service sent an evaluated element that is not a valid ristretto255 "
                     "element; no tokens kept");
            return false;
        }
    }
    enum oprf_status os = OPRF_ERR_DESERIALIZE;
    if (state_b64_decode(proof_b64, strlen(proof_b64), raw, sizeof raw) &&
        oprf_proof_deserialize(&proof, raw, sizeof raw) == OPRF_OK)
        os = oprf_voprf_finalize(b->n, b->in, b->blinds, b->evaluated, b->blinded, &key->pk,
                                 &proof, b->outputs);
    if (os != OPRF_OK) {
        fprintf(stderr,
                "yijian member: the proof that the tokens were made with the published key of "
                "epoch %s does not verify (%s): all %zu are refused and none is kept. A service "
                "that evaluates with another key than the published one could recognise these "
                "tokens when they are spent.\n",
                key->key_id, oprf_status_str(os), b->n);
        return false;
    }
    return true;
}

/* Appends the batch to tokens.json (dropping tokens past their
 * redeem_until) and saves the key pins. */
static bool batch_store(struct member *m, const struct batch *b, const struct current_key *key,
                        json_t *pins, size_t *unspent)
{
    char err[ERR_MAX], now[TIME_CHARS + 1];
    json_t *tokens = state_tokens_load(&m->st, err, sizeof err);
    if (!tokens) {
        fail_msg(err);
        return false;
    }
    now_text(now);
    json_t *kept = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
        if (token_redeemable(t, now))
            json_array_append(kept, t);
    json_decref(tokens);
    for (i = 0; i < b->n; i++) {
        char in[STATE_TOKEN_INPUT_B64 + 1], out[STATE_TOKEN_OUTPUT_B64 + 1];
        b64(b->inputs[i], INPUT_BYTES, in, sizeof in);
        b64(b->outputs[i], OPRF_OUTPUT_BYTES, out, sizeof out);
        json_array_append_new(kept, json_pack("{s:s, s:I, s:s, s:s, s:s}", "key_id",
                                              key->key_id, "unit_id", (json_int_t)key->unit_id,
                                              "input", in, "output", out, "redeem_until",
                                              key->redeem_until));
        sodium_memzero(in, sizeof in);
        sodium_memzero(out, sizeof out);
    }
    bool ok = state_keys_save(&m->st, pins, err, sizeof err) == 0 &&
              state_tokens_save(&m->st, kept, err, sizeof err) == 0;
    if (!ok)
        fail_msg(err);
    *unspent = json_array_size(kept);
    json_decref(kept);
    return ok;
}

/* Fetches up to want tokens of unit with the session; the exit code. */
static int fetch_tokens(struct member *m, const char *session, long long unit, size_t want)
{
    char err[ERR_MAX];
    json_t *pins = state_keys_load(&m->st, err, sizeof err);
    if (!pins) {
        fail_msg(err);
        return EXIT_FAIL;
    }
    int rc = EXIT_FAIL;
    struct http_reply r = { 0 };
    struct current_key key;
    char auth[16 + 64];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", session);
    const char *headers[] = { auth, NULL };
    struct batch *b = sodium_malloc(sizeof *b); /* guarded pages, wiped when freed */
    if (!b) {
        fail_msg("out of memory");
        goto out;
    }
    if (!fetch_keys(m, unit, pins, &key))
        goto out;

    for (int round = 1;; round++) {
        if (!batch_blind(b, want)) {
            fail_msg("could not blind the token inputs");
            goto out;
        }
        json_t *list = json_array();
        for (size_t i = 0; i < want; i++) {
            char e[STATE_TOKEN_INPUT_B64 + 1];
            b64(b->blinded[i].bytes, OPRF_ELEMENT_BYTES, e, sizeof e);
            json_array_append_new(list, json_string(e));
        }
        json_t *body = json_pack("{s:s, s:I, s:o}", "key_id", key.key_id, "unit_id",
                                 (json_int_t)unit, "blinded", list);
        bool answered = call(m, "POST", "/v1/tokens/issue", headers, body, HTTP_RETRY_UNSENT, &r);
        json_decref(body);
        if (!answered)
            goto out;
        if (r.status == 200)
            break;
        if (r.status == 429 && problem_is(&r, "token-quota-exhausted")) {
            /* Top up to the quota: ask again for what remains, if it says. */
            long long left = tokens_left(&r);
            if (left > 0 && (size_t)left < want && round < ISSUE_ROUNDS) {
                want = (size_t)left;
                http_reply_cleanup(&r);
                continue;
            }
            printf("no anonymity tokens fetched: the quota of epoch %s is taken for unit %lld\n",
                   key.key_id, unit);
            rc = EXIT_OK;
            goto out;
        }
        report("fetch anonymity tokens", &r);
        goto out;
    }
    if (!batch_finalize(b, &key, r.json))
        goto out;
    size_t unspent = 0;
    if (!batch_store(m, b, &key, pins, &unspent))
        goto out;
    printf("fetched %zu anonymity tokens for epoch %s (proof verified), unit %lld; %zu unspent "
           "in all\n", b->n, key.key_id, unit, unspent);
    rc = EXIT_OK;
out:
    if (b)
        sodium_free(b);
    sodium_memzero(auth, sizeof auth);
    http_reply_cleanup(&r);
    json_decref(pins);
    return rc;
}

/* Fetches want tokens for each unit the account of session holds a role
 * in (GET /v1/me); the exit code, the first failure's. Units above them
 * take tokens of their own, which this client does not fetch. */
static int fetch_all_tokens(struct member *m, const char *session, size_t want)
{
    char auth[16 + 64];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", session);
    const char *headers[] = { auth, NULL };
    struct http_reply r = { 0 };
    bool answered = call(m, "GET", "/v1/me", headers, NULL, HTTP_RETRY_SAFE, &r);
    sodium_memzero(auth, sizeof auth);
    if (!answered)
        return EXIT_FAIL;
    if (r.status != 200) {
        report("read the account's units", &r);
        http_reply_cleanup(&r);
        return EXIT_FAIL;
    }
    json_t *list = json_object_get(r.json, "memberships");
    long long units[64];
    size_t n = 0, i;
    json_t *ms;
    json_array_foreach(list, i, ms) {
        json_t *u = json_object_get(ms, "unit_id");
        if (!json_is_integer(u) || json_integer_value(u) < 1)
            continue;
        long long id = (long long)json_integer_value(u);
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen = seen || units[k] == id;
        if (!seen && n < sizeof units / sizeof units[0])
            units[n++] = id;
    }
    http_reply_cleanup(&r);
    if (n == 0)
        printf("no anonymity tokens fetched: the account belongs to no unit\n");
    int rc = EXIT_OK;
    for (i = 0; i < n; i++) {
        int one = fetch_tokens(m, session, units[i], want);
        if (rc == EXIT_OK)
            rc = one;
    }
    return rc;
}

/*
 * The state directory belongs to one account (the file "owner"): a
 * sign-in by another account first erases everything the one before kept
 * here (session, tokens, key pins, outbox), as the web client does on a
 * shared phone. A directory written before owners were recorded is taken
 * as the signing-in account's: erasing it would throw away tokens its
 * owner cannot fetch again this epoch. False after printing why.
 */
static bool claim_state(struct member *m, const json_t *account)
{
    json_t *id = json_object_get(account, "id");
    if (!json_is_integer(id)) {
        fail_msg("the service's answer to the sign-in names no account");
        return false;
    }
    char want[32], err[ERR_MAX];
    snprintf(want, sizeof want, "%lld\n", (long long)json_integer_value(id));
    char *was = NULL;
    size_t len = 0;
    enum state_status s = state_read(&m->st, STATE_OWNER_FILE, &was, &len, err, sizeof err);
    if (s == STATE_ERROR) {
        fail_msg(err);
        return false;
    }
    bool other = s == STATE_OK && strcmp(was, want) != 0;
    free(was);
    if (other) {
        if (state_erase(&m->st, err, sizeof err) != 0) {
            fail_msg(err);
            return false;
        }
        printf("本机这个目录里另一个账号的会话、匿名凭证和发送箱已经删除。\n");
    }
    if (s != STATE_OK || other) {
        if (state_write(&m->st, STATE_OWNER_FILE, want, strlen(want), err, sizeof err) != 0) {
            fail_msg(err);
            return false;
        }
    }
    return true;
}

static int cmd_login(struct member *m)
{
    const struct args *a = m->args;
    const char *login = a->pos[1];
    long long want = DEFAULT_TOKENS;
    if (a->tokens && !decimal_parse(a->tokens, 1, OPRF_MAX_BATCH, &want)) {
        fprintf(stderr, "yijian member: --tokens must be a number from 1 to %d\n",
                OPRF_MAX_BATCH);
        return EXIT_USAGE;
    }
    if (!*login) {
        fail_msg("the login must not be empty");
        return EXIT_USAGE;
    }
    if (open_state(m, true) != 0)
        return EXIT_FAIL;

    char *password = NULL;
    const char *env = getenv("YIJIAN_PASSWORD");
    if (env && *env) {
        password = strdup(env);
    } else {
        char prompt[160];
        snprintf(prompt, sizeof prompt, "password for %.100s: ", login);
        password = read_secret_line(prompt);
        if (!password)
            return EXIT_FAIL;
    }
    if (!password) {
        fail_msg("out of memory");
        return EXIT_FAIL;
    }
    json_t *body = json_pack("{s:s, s:s}", "login", login, "password", password);
    sodium_memzero(password, strlen(password));
    free(password);
    if (!body) {
        fail_msg("the login and the password must be UTF-8");
        return EXIT_USAGE;
    }
    struct http_reply r = { 0 };
    bool answered = call(m, "POST", "/v1/auth/login", NULL, body, HTTP_RETRY_UNSENT, &r);
    json_decref(body);
    if (!answered)
        return EXIT_FAIL;
    int rc = EXIT_FAIL;
    char err[ERR_MAX], session[TOKEN_CHARS + 1];
    const char *token = str_member(r.json, "token");
    if (r.status != 200) {
        report("sign in", &r);
        goto out;
    }
    if (!claim_state(m, json_object_get(r.json, "account")))
        goto out;
    if (!token || state_session_save(&m->st, token, err, sizeof err) != 0) {
        fail_msg(token ? err : "the service's answer to the sign-in holds no session token");
        goto out;
    }
    snprintf(session, sizeof session, "%s", token);
    const json_t *account = json_object_get(r.json, "account");
    const char *name = str_member(account, "display_name");
    fputs("signed in as ", stdout);
    put_text(stdout, name ? name : login, false);
    fputs(" (", stdout);
    put_text(stdout, str_member(account, "login") ? str_member(account, "login") : login, false);
    fputs(")\n", stdout);
    fflush(stdout);
    /* Tokens at every sign-in, whatever the member means to do: then
     * fetching says nothing about writing (docs/threat-model.md). Tokens
     * are bound to a unit: some for each unit the account belongs to. */
    rc = fetch_all_tokens(m, session, (size_t)want);
    sodium_memzero(session, sizeof session);
out:
    http_reply_cleanup(&r);
    return rc;
}

static int cmd_tokens(struct member *m)
{
    if (open_state(m, false) != 0)
        return EXIT_FAIL;
    char err[ERR_MAX], now[TIME_CHARS + 1];
    json_t *tokens = state_tokens_load(&m->st, err, sizeof err);
    if (!tokens) {
        fail_msg(err);
        return EXIT_FAIL;
    }
    now_text(now);
    /* key id -> [count, redeem_until] in the order first seen */
    json_t *groups = json_object();
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t) {
        const char *kid = str_member(t, "key_id");
        json_t *g = json_object_get(groups, kid);
        if (!g) {
            g = json_pack("{s:i, s:s?}", "n", 0, "until", str_member(t, "redeem_until"));
            json_object_set_new(groups, kid, g);
        }
        json_object_set_new(g, "n", json_integer(json_integer_value(json_object_get(g, "n")) + 1));
    }
    if (json_array_size(tokens) == 0)
        printf("no unspent tokens\n");
    const char *kid;
    json_t *g;
    json_object_foreach(groups, kid, g) {
        const char *until = str_member(g, "until");
        printf("%s\t%lld", kid, (long long)json_integer_value(json_object_get(g, "n")));
        if (!until)
            printf("\n");
        else if (strcmp(until, now) > 0)
            printf("\tredeemable until %s\n", until);
        else
            printf("\texpired %s\n", until);
    }
    json_decref(groups);
    json_decref(tokens);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* submit                                                              */
/* ------------------------------------------------------------------ */

static void idempotency_header(char out[64])
{
    unsigned char raw[16];
    char key[32];
    randombytes_buf(raw, sizeof raw);
    b64(raw, sizeof raw, key, sizeof key);
    snprintf(out, 64, "Idempotency-Key: %s", key);
}

/* Removes the token with this input from tokens.json; false after printing
 * why. */
static bool drop_token(struct member *m, const char *input)
{
    char err[ERR_MAX];
    json_t *tokens = state_tokens_load(&m->st, err, sizeof err);
    if (!tokens) {
        fail_msg(err);
        return false;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t)
        if (!strcmp(str_member(t, "input"), input)) {
            json_array_remove(tokens, i);
            break;
        }
    bool ok = state_tokens_save(&m->st, tokens, err, sizeof err) == 0;
    if (!ok)
        fprintf(stderr, "yijian member: %s\n  the spent token is still in tokens.json; the "
                        "service will refuse it if it is used again\n", err);
    json_decref(tokens);
    return ok;
}

static void print_tracking_code(const char *id, const char *code)
{
    printf("suggestion %s submitted anonymously\n", id ? id : "(no id in the answer)");
    printf("tracking code: %s\n", code);
    printf("The tracking code is shown this once and kept nowhere: write it down. It is the "
           "only way to follow the suggestion (yijian member track CODE).\n");
}

/* After 409 token-spent: the token may have paid for this very suggestion
 * in an earlier attempt whose answer was lost. Its holder can recompute
 * the tracking code; when it leads to a suggestion with this title and
 * body, that is the one. True when it was recovered (and printed). */
static bool recover_spent(struct member *m, const unsigned char output[OPRF_OUTPUT_BYTES],
                          const char *title, const char *body)
{
    char code[TRACKING_CODE_CHARS + 1], auth[32 + TRACKING_CODE_CHARS];
    tracking_code_from_output(output, code);
    snprintf(auth, sizeof auth, "Authorization: Tracking %s", code);
    const char *headers[] = { auth, NULL };
    struct http_reply r = { 0 };
    bool mine = false;
    if (call(m, "GET", "/v1/tracked", headers, NULL, HTTP_RETRY_SAFE, &r) && r.status == 200) {
        const char *t = str_member(r.json, "title"), *b = str_member(r.json, "body");
        mine = t && b && !strcmp(t, title) && !strcmp(b, body);
        if (mine) {
            fprintf(stderr, "yijian member: the token had already paid for this suggestion (an "
                            "earlier attempt whose answer was lost)\n");
            print_tracking_code(str_member(r.json, "id"), code);
        }
    }
    http_reply_cleanup(&r);
    sodium_memzero(code, sizeof code);
    sodium_memzero(auth, sizeof auth);
    return mine;
}

/* The unspent token of unit to spend: redeemable, the one whose key
 * expires first. */
static json_t *choose_token(json_t *tokens, long long unit)
{
    char now[TIME_CHARS + 1];
    now_text(now);
    json_t *best = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(tokens, i, t) {
        if (!token_redeemable(t, now) ||
            json_integer_value(json_object_get(t, "unit_id")) != (json_int_t)unit)
            continue;
        const char *until = str_member(t, "redeem_until");
        const char *best_until = best ? str_member(best, "redeem_until") : NULL;
        if (!best || (until && (!best_until || strcmp(until, best_until) < 0)))
            best = t;
    }
    return best;
}

/* Defined with the outbox below. */
static int queue_submission(struct member *m, json_t *body);

static int submit_named(struct member *m, json_t *body)
{
    char err[ERR_MAX], session[TOKEN_CHARS + 1], auth[16 + 64], idem[64];
    enum state_status s = state_session_load(&m->st, session, err, sizeof err);
    if (s != STATE_OK) {
        fail_msg(s == STATE_NOT_FOUND ? "not signed in: yijian member login LOGIN" : err);
        return EXIT_FAIL;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", session);
    sodium_memzero(session, sizeof session);
    idempotency_header(idem);
    const char *headers[] = { auth, idem, NULL };
    struct http_reply r = { 0 };
    int rc = EXIT_FAIL;
    bool answered = call(m, "POST", "/v1/suggestions", headers, body, HTTP_RETRY_SAFE, &r);
    sodium_memzero(auth, sizeof auth);
    if (!answered) {
        fprintf(stderr, "  the suggestion may or may not have been stored\n");
    } else if (r.status == 201) {
        const char *id = str_member(r.json, "id"), *status = str_member(r.json, "status");
        printf("suggestion %s submitted", id ? id : "(no id in the answer)");
        if (status)
            printf(" (%s)", status);
        printf("\n");
        rc = EXIT_OK;
    } else {
        report("submit the suggestion", &r);
    }
    http_reply_cleanup(&r);
    return rc;
}

static int cmd_submit(struct member *m)
{
    const struct args *a = m->args;
    bool anonymous = a->given & OPT_ANONYMOUS;
    long long unit = 0, category = 0;
    if (!a->category || !a->title || !a->body || (anonymous && !a->unit)) {
        fprintf(stderr, "yijian member: submit needs --category, --title and --body%s\n",
                anonymous ? ", and --unit when anonymous (no account to take it from)" : "");
        return EXIT_USAGE;
    }
    if ((a->unit && !decimal_parse(a->unit, 1, (1LL << 53) - 1, &unit)) ||
        !decimal_parse(a->category, 1, (1LL << 53) - 1, &category)) {
        fail_msg("--unit and --category take the numeric id of a unit and of a category");
        return EXIT_USAGE;
    }
    json_t *body = json_pack("{s:I, s:s, s:s}", "category_id", (json_int_t)category, "title",
                             a->title, "body", a->body);
    if (!body) {
        fail_msg("the title and the body must be UTF-8");
        return EXIT_USAGE;
    }
    if (a->unit)
        json_object_set_new(body, "unit_id", json_integer((json_int_t)unit));
    int rc = open_state(m, true) != 0 ? EXIT_FAIL
             : anonymous             ? queue_submission(m, body)
                                     : submit_named(m, body);
    json_decref(body);
    return rc;
}

/* ------------------------------------------------------------------ */
/* follow-up with a tracking code                                      */
/* ------------------------------------------------------------------ */

/* "Authorization: Tracking CODE" from the argument (or stdin for "-"),
 * checked for what can go in a header; false after printing why. */
static bool tracking_header(const char *arg, char out[32 + CODE_MAX])
{
    char *line = NULL;
    if (!strcmp(arg, "-")) {
        if (!(line = read_secret_line("tracking code: ")))
            return false;
        arg = line;
    }
    size_t n = strlen(arg);
    bool ok = n >= 1 && n <= CODE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (arg[i] >= '0' && arg[i] <= '9') || (arg[i] >= 'A' && arg[i] <= 'Z') ||
             (arg[i] >= 'a' && arg[i] <= 'z') || arg[i] == '-' || arg[i] == ' ';
    if (ok)
        snprintf(out, 32 + CODE_MAX, "Authorization: Tracking %s", arg);
    else
        fail_msg("that is not a tracking code (26 letters and digits)");
    if (line) {
        sodium_memzero(line, strlen(line));
        free(line);
    }
    return ok;
}

static void report_tracked(const char *doing, const struct http_reply *r)
{
    report(doing, r);
    if (r->status == 401 && problem_is(r, "invalid-tracking-code"))
        fprintf(stderr, "  check the code: it is the one printed when the suggestion was "
                        "submitted\n");
}

static void print_field(const char *label, const char *value)
{
    if (!value)
        return;
    printf("%s: ", label);
    put_text(stdout, value, false);
    printf("\n");
}

static void print_tracked(const json_t *s)
{
    printf("suggestion ");
    put_text(stdout, str_member(s, "id"), false);
    printf(": ");
    put_text(stdout, str_member(s, "title"), false);
    printf("\n");
    print_field("status", str_member(s, "status"));
    print_field("unit", str_member(s, "unit_name"));
    print_field("category", str_member(s, "category_name"));
    print_field("submitted", str_member(s, "created_at"));
    print_field("answer due", str_member(s, "answer_due"));

    size_t i;
    json_t *msg;
    size_t shown = 0;
    json_array_foreach(json_object_get(s, "messages"), i, msg) {
        const char *vis = str_member(msg, "visibility");
        if (vis && strcmp(vis, "submitter") != 0)
            continue; /* the service sends none; never show one anyway */
        if (!shown++)
            printf("messages:\n");
        printf("  [");
        put_text(stdout, str_member(msg, "created_at"), false);
        printf("] ");
        const char *kind = str_member(msg, "author_kind"), *who = str_member(msg, "author_name");
        put_text(stdout, kind && !strcmp(kind, "submitter") ? "you" : who ? who : kind, false);
        printf(": ");
        put_text(stdout, str_member(msg, "body"), true);
        printf("\n");
    }
    const json_t *ans = json_object_get(s, "answer");
    if (json_is_object(ans)) {
        printf("answer (");
        put_text(stdout, str_member(ans, "decision"), false);
        printf(", ");
        put_text(stdout, str_member(ans, "drafted_at"), false);
        printf("):\n  ");
        put_text(stdout, str_member(ans, "body"), true);
        printf("\n");
        print_field("  reason", str_member(ans, "reason"));
    } else {
        printf("answer: none yet\n");
    }
    json_t *rating;
    json_array_foreach(json_object_get(s, "ratings"), i, rating) {
        printf("your rating");
        if (json_integer_value(json_object_get(rating, "round")) > 0)
            printf(" of the answer after reopening");
        printf(": ");
        put_text(stdout, str_member(rating, "rating"), false);
        printf("\n");
    }
}

static int tracked_request(struct member *m, const char *method, const char *path,
                           json_t *body, enum http_retry retry, unsigned ok_status,
                           const char *doing, const char *done)
{
    char auth[32 + CODE_MAX];
    if (!tracking_header(m->args->pos[1], auth))
        return EXIT_USAGE;
    const char *headers[] = { auth, NULL };
    struct http_reply r = { 0 };
    bool answered = call(m, method, path, headers, body, retry, &r);
    sodium_memzero(auth, sizeof auth);
    if (!answered)
        return EXIT_FAIL;
    int rc = EXIT_FAIL;
    if (r.status == (long)ok_status) {
        if (done)
            printf("%s\n", done);
        else
            print_tracked(r.json);
        rc = EXIT_OK;
    } else {
        report_tracked(doing, &r);
    }
    http_reply_cleanup(&r);
    return rc;
}

static int cmd_track(struct member *m)
{
    return tracked_request(m, "GET", "/v1/tracked", NULL, HTTP_RETRY_SAFE, 200,
                           "follow the suggestion", NULL);
}

/* ------------------------------------------------------------------ */
/* the outbox: anonymous acts sent at a random moment                  */
/* ------------------------------------------------------------------ */

/*
 * Every anonymous act (a submission, a co-sign, and a step taken with a
 * tracking code: message, rating, withdrawal, reopening) is written to
 * outbox.json first, with a moment drawn at random between now and the
 * next boundary of the service's release window, and sent at that moment
 * (`send`, or `send --wait`), so that its arrival says nothing about when
 * the member wrote it (docs/threat-model.md). Without a window it is sent
 * at once, by the command that made it. An entry carries what its request
 * needs (the token, the tracking code): it leaves the file when the
 * service has answered it, and `logout` or another account's sign-in
 * erases the file.
 */

#define BEIJING_OFFSET_S (8 * 3600)
#define RETRY_PAUSE_S 30 /* before sending again an act that got no answer */
#define LABEL_TEXT_MAX 24 /* bytes of a message shown in the outbox */

enum delivery { DELIVERED, REFUSED, NO_ANSWER };

/* Now in milliseconds since 1970 (the outbox's moments are in these). */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "HH:MM" in Beijing time of t (seconds). */
static void beijing_hhmm(long long t, char out[6])
{
    time_t bt = (time_t)(t + BEIJING_OFFSET_S);
    struct tm tm;
    gmtime_r(&bt, &tm);
    strftime(out, 6, "%H:%M", &tm);
}

/* The release window in seconds (0: none) the service publishes: from
 * service.json, else from the key list of unit, or (unit 0, a step taken
 * with a tracking code) of its suggestion's unit. -1 after printing why. */
static long long release_window(struct member *m, long long unit, const char *tracking_auth)
{
    char err[ERR_MAX];
    json_t *svc = state_json_load(&m->st, STATE_SERVICE_FILE, JSON_OBJECT, err, sizeof err);
    if (!svc) {
        fail_msg(err);
        return -1;
    }
    json_t *w = json_object_get(svc, "release_window_seconds");
    long long out = json_is_integer(w) ? (long long)json_integer_value(w) : -1;
    json_decref(svc);
    if (out >= 0)
        return out;
    struct http_reply r = { 0 };
    if (unit <= 0) {
        const char *headers[] = { tracking_auth, NULL };
        if (!call(m, "GET", "/v1/tracked", headers, NULL, HTTP_RETRY_SAFE, &r))
            return -1;
        json_t *u = json_object_get(r.json, "unit_id");
        unit = r.status == 200 && json_is_integer(u) ? (long long)json_integer_value(u) : 0;
        if (r.status != 200)
            report_tracked("follow the suggestion", &r);
        else if (unit <= 0)
            fail_msg("这条匿名意见还在等待送达，送达之前不能对它操作");
        http_reply_cleanup(&r);
        if (unit <= 0)
            return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "/v1/tokens/keys?unit=%lld", unit);
    if (!call(m, "GET", path, NULL, NULL, HTTP_RETRY_SAFE, &r))
        return -1;
    if (r.status != 200) {
        report("fetch the token keys", &r);
        http_reply_cleanup(&r);
        return -1;
    }
    w = json_object_get(r.json, "release_window_seconds");
    out = json_is_integer(w) && json_integer_value(w) >= 0 ? (long long)json_integer_value(w) : 0;
    bool kept = keep_window(m, r.json);
    http_reply_cleanup(&r);
    return kept ? out : -1;
}

static json_t *outbox_load(struct member *m)
{
    char err[ERR_MAX];
    json_t *list = state_json_load(&m->st, STATE_OUTBOX_FILE, JSON_ARRAY, err, sizeof err);
    if (!list)
        fail_msg(err);
    return list;
}

static bool outbox_save(struct member *m, json_t *list)
{
    char err[ERR_MAX];
    if (state_json_save(&m->st, STATE_OUTBOX_FILE, list, err, sizeof err) == 0)
        return true;
    fail_msg(err);
    return false;
}

/* The index of the entry with id in list, or -1. */
static long outbox_find(json_t *list, const char *id)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        if (!strcmp(str_member(e, "id") ? str_member(e, "id") : "", id))
            return (long)i;
    return -1;
}

/* Puts a token taken for an act that never used it back in tokens.json. */
static void return_token(struct member *m, json_t *token)
{
    char err[ERR_MAX];
    json_t *tokens = token ? state_tokens_load(&m->st, err, sizeof err) : NULL;
    if (!tokens)
        return;
    json_array_append(tokens, token);
    if (state_tokens_save(&m->st, tokens, err, sizeof err) != 0)
        fail_msg(err);
    json_decref(tokens);
}

/* ---- sending one entry ---------------------------------------------------- */

/* A step the service holds until its window ends says so in `held`. */
static void print_held(const json_t *answer)
{
    const json_t *held = json_object_get(answer, "held");
    const char *at = str_member(json_array_get(held, json_array_size(held) - 1), "release_at");
    if (json_array_size(held) > 0 && at)
        printf("待生效：将于 %s（UTC）和本时段的其他匿名操作一起生效。\n", at);
}

static enum delivery deliver_submission(struct member *m, json_t *e)
{
    json_t *body = json_object_get(e, "body");
    json_t *token = json_object_get(body, "token");
    const char *out_b64 = str_member(token, "output");
    unsigned char output[OPRF_OUTPUT_BYTES];
    if (!out_b64 || !state_b64_decode(out_b64, strlen(out_b64), output, sizeof output)) {
        fail_msg("an entry of the outbox is malformed; it is dropped");
        return REFUSED;
    }
    char idem[64];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", str_member(e, "idempotency_key"));
    const char *headers[] = { idem, NULL };
    struct http_reply r = { 0 };
    enum delivery d = REFUSED;
    if (!call(m, "POST", "/v1/suggestions", headers, body, HTTP_RETRY_SAFE, &r)) {
        d = NO_ANSWER;
        goto out;
    }
    if (r.status == 201) {
        char derived[TRACKING_CODE_CHARS + 1];
        tracking_code_from_output(output, derived);
        const char *code = str_member(r.json, "tracking_code");
        if (!code) {
            fprintf(stderr, "yijian member: the answer holds no tracking code; this one is "
                            "derived from the token\n");
            code = derived;
        } else if (strcmp(code, derived) != 0) {
            fprintf(stderr, "yijian member: warning: the service's tracking code is not the one "
                            "derived from the token\n");
        }
        print_tracking_code(str_member(r.json, "id"), code);
        const char *release = str_member(r.json, "release_at");
        if (release)
            printf("待送达：将于 %s（UTC）和本时段的其他匿名意见一起交给支委。\n", release);
        sodium_memzero(derived, sizeof derived);
        d = DELIVERED;
    } else if (r.status == 409 && problem_is(&r, "token-spent")) {
        if (!recover_spent(m, output, str_member(body, "title"), str_member(body, "body"))) {
            report("submit anonymously", &r);
            fprintf(stderr, "  that token was spent before (is a copy of the state directory in "
                            "use elsewhere?); it is dropped: run the command again to use "
                            "another\n");
        } else {
            d = DELIVERED;
        }
    } else if (r.status == 403 && problem_is(&r, "invalid-token")) {
        report("submit anonymously", &r);
        fprintf(stderr, "  the service does not accept that token; it is dropped\n");
    } else {
        /* A token the service calls unusable (key no longer redeemable) is
         * of no use to keep; any other refusal leaves it unspent. */
        json_t *first = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *pointer = str_member(first, "pointer");
        bool token_bad = r.status == 422 && pointer && !strncmp(pointer, "/token", 6);
        report("submit anonymously", &r);
        if (token_bad)
            fprintf(stderr, "  the token is dropped; run the command again to use another\n");
        else
            return_token(m, json_object_get(e, "token"));
    }
out:
    sodium_memzero(output, sizeof output);
    http_reply_cleanup(&r);
    return d;
}

static enum delivery deliver_cosign(struct member *m, json_t *e)
{
    struct http_reply r = { 0 };
    long long tries = (long long)json_integer_value(json_object_get(e, "tries"));
    if (!call(m, "POST", str_member(e, "path"), NULL, json_object_get(e, "body"),
              HTTP_RETRY_UNSENT, &r))
        return NO_ANSWER;
    enum delivery d = REFUSED;
    if (r.status == 200 || (r.status == 409 && problem_is(&r, "token-spent") && tries > 1)) {
        /* Spent after an attempt whose answer was lost: by that attempt. */
        printf("已匿名附议 %s。\n", str_member(e, "sid"));
        print_held(r.json);
        d = DELIVERED;
    } else {
        report("co-sign anonymously", &r);
        json_t *first = json_array_get(json_object_get(r.json, "errors"), 0);
        const char *pointer = str_member(first, "pointer");
        bool spent = r.status == 403 || (r.status == 409 && problem_is(&r, "token-spent")) ||
                     (r.status == 422 && pointer && !strncmp(pointer, "/token", 6));
        if (!spent)
            return_token(m, json_object_get(e, "token"));
    }
    http_reply_cleanup(&r);
    return d;
}

/* Whether an earlier attempt of a tracked step whose answer was lost did
 * arrive: the code's view shows it held, or (released) in the thread or
 * the ratings. A message has no key of its own: this keeps a retry from
 * writing it twice. */
static bool tracked_arrived(struct member *m, const char *auth, json_t *e)
{
    const char *headers[] = { auth, NULL };
    struct http_reply r = { 0 };
    bool found = false;
    if (call(m, "GET", "/v1/tracked", headers, NULL, HTTP_RETRY_SAFE, &r) && r.status == 200) {
        const char *kind = str_member(e, "kind");
        const char *held_kind = !strcmp(kind, "rating") ? "rate" : kind;
        const char *text = str_member(json_object_get(e, "body"), "body");
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(r.json, "held"), i, x)
            found = found || (!strcmp(str_member(x, "kind") ? str_member(x, "kind") : "", held_kind) &&
                              (!text || !strcmp(str_member(x, "body") ? str_member(x, "body") : "", text)));
        json_array_foreach(json_object_get(r.json, "messages"), i, x)
            found = found || (text && !strcmp(str_member(x, "author_kind") ? str_member(x, "author_kind") : "", "submitter") &&
                              !strcmp(str_member(x, "body") ? str_member(x, "body") : "", text));
    }
    http_reply_cleanup(&r);
    return found;
}

static enum delivery deliver_tracked(struct member *m, json_t *e)
{
    static const struct {
        const char *kind, *doing, *done;
        long ok;
    } steps[] = {
        { "message", "send the message", "message sent", 201 },
        { "rating", "rate the answer", "rating recorded", 200 },
        { "withdraw", "withdraw the suggestion", "已撤回", 200 },
        { "reopen", "reopen the suggestion", "已请求重新答复", 200 },
    };
    const char *kind = str_member(e, "kind");
    size_t k = 0;
    while (k < sizeof steps / sizeof steps[0] && strcmp(steps[k].kind, kind))
        k++;
    const char *code = str_member(e, "tracking");
    if (k == sizeof steps / sizeof steps[0] || !code || strlen(code) > CODE_MAX) {
        fail_msg("an entry of the outbox is malformed; it is dropped");
        return REFUSED;
    }
    char auth[32 + CODE_MAX];
    snprintf(auth, sizeof auth, "Authorization: Tracking %s", code);
    long long tries = (long long)json_integer_value(json_object_get(e, "tries"));
    enum delivery d = REFUSED;
    struct http_reply r = { 0 };
    if (tries > 1 && tracked_arrived(m, auth, e)) {
        printf("%s\n", steps[k].done);
        d = DELIVERED;
    } else if (!call(m, "POST", str_member(e, "path"), (const char *[]){ auth, NULL },
                     json_object_get(e, "body"), HTTP_RETRY_UNSENT, &r)) {
        d = NO_ANSWER;
    } else if (r.status == steps[k].ok) {
        printf("%s\n", steps[k].done);
        print_held(r.json);
        d = DELIVERED;
    } else {
        report_tracked(steps[k].doing, &r);
    }
    sodium_memzero(auth, sizeof auth);
    http_reply_cleanup(&r);
    return d;
}

/*
 * Sends the entries of the outbox whose moment has come (only the one
 * with id only, when given), each once: its attempt counted in the file
 * before it goes, so that an answer lost on the way is recognised by the
 * next attempt. An entry the service answered leaves the file; one that
 * got no answer waits RETRY_PAUSE_S. *next gets the earliest moment still
 * to come (0: none). Returns the exit code: EXIT_FAIL if any was refused
 * or got no answer.
 */
static int send_due(struct member *m, const char *only, long long *next)
{
    int rc = EXIT_OK;
    *next = 0;
    json_t *done = json_array(); /* ids tried in this pass */
    for (;;) {
        json_t *list = outbox_load(m);
        if (!list) {
            rc = EXIT_FAIL;
            break;
        }
        long long now = now_ms();
        json_t *due = NULL;
        size_t i;
        json_t *e;
        *next = 0;
        json_array_foreach(list, i, e) {
            const char *id = str_member(e, "id");
            if (!id || (only && strcmp(id, only)))
                continue;
            bool tried = false;
            size_t j;
            json_t *x;
            json_array_foreach(done, j, x)
                tried = tried || !strcmp(json_string_value(x), id);
            long long at = (long long)json_integer_value(json_object_get(e, "send_at"));
            if (!tried && at <= now && !due)
                due = e;
            else if (at > now && (!*next || at < *next))
                *next = at;
        }
        if (!due) {
            json_decref(list);
            break;
        }
        char id[40];
        snprintf(id, sizeof id, "%s", str_member(due, "id"));
        json_array_append_new(done, json_string(id));
        json_object_set_new(due, "tries",
                            json_integer(json_integer_value(json_object_get(due, "tries")) + 1));
        if (!outbox_save(m, list)) {
            json_decref(list);
            rc = EXIT_FAIL;
            break;
        }
        const char *kind = str_member(due, "kind");
        enum delivery d = !strcmp(kind, "submit") ? deliver_submission(m, due)
                          : !strcmp(kind, "cosign") ? deliver_cosign(m, due)
                                                    : deliver_tracked(m, due);
        json_decref(list);
        if (!(list = outbox_load(m))) {
            rc = EXIT_FAIL;
            break;
        }
        long at = outbox_find(list, id);
        if (at >= 0 && d != NO_ANSWER) {
            json_array_remove(list, (size_t)at);
        } else if (at >= 0) {
            long long again = now_ms() + RETRY_PAUSE_S * 1000LL;
            json_object_set_new(json_array_get(list, (size_t)at), "send_at", json_integer(again));
            fprintf(stderr, "  它还在发送箱里，%d 秒后再发（yijian member send），不会重复送达\n",
                    RETRY_PAUSE_S);
        }
        if (d != DELIVERED)
            rc = EXIT_FAIL;
        bool saved = outbox_save(m, list);
        json_decref(list);
        if (!saved) {
            rc = EXIT_FAIL;
            break;
        }
    }
    json_decref(done);
    return rc;
}

/*
 * Adds entry (taken) to the outbox with its moment: at once without a
 * release window, else at random before the next boundary. Sent now when
 * its moment is now; otherwise the member is told until when. The exit
 * code.
 */
static int enqueue(struct member *m, json_t *entry, long long window)
{
    /* In milliseconds: drawn in whole seconds, "now" would come up once
     * in a few draws near the end of a short window. */
    long long now = now_ms(), at = now, boundary = 0;
    if (window > 0) {
        boundary = (now / (window * 1000) + 1) * window * 1000;
        at = now + (long long)randombytes_uniform((uint32_t)(boundary - now));
    }
    unsigned char raw[12];
    char id[40];
    randombytes_buf(raw, sizeof raw);
    b64(raw, sizeof raw, id, sizeof id);
    json_object_set_new(entry, "id", json_string(id));
    json_object_set_new(entry, "send_at", json_integer((json_int_t)at));
    json_object_set_new(entry, "deadline", json_integer((json_int_t)boundary));
    json_object_set_new(entry, "tries", json_integer(0));
    json_t *list = outbox_load(m);
    bool saved = list && json_array_append_new(list, entry) == 0 && outbox_save(m, list);
    if (!list)
        json_decref(entry);
    json_decref(list);
    if (!saved)
        return EXIT_FAIL;
    if (at <= now) {
        long long next;
        return send_due(m, id, &next);
    }
    char hhmm[6];
    beijing_hhmm(boundary / 1000, hhmm);
    printf("已存入本机发送箱，将于 %s 前匿名送达（北京时间）。\n", hhmm);
    printf("发送时刻是随机的，送达时间不会透露您是什么时候写的。请让 yijian member send --wait "
           "在这之前运行着，或者之后运行 yijian member send。\n");
    return EXIT_OK;
}

static int queue_submission(struct member *m, json_t *body)
{
    char err[ERR_MAX];
    long long unit = (long long)json_integer_value(json_object_get(body, "unit_id"));
    json_t *tokens = state_tokens_load(&m->st, err, sizeof err);
    if (!tokens) {
        fail_msg(err);
        return EXIT_FAIL;
    }
    json_t *t = choose_token(tokens, unit);
    if (!t) {
        fail_msg("no unspent anonymity token of that unit that can still be redeemed; signing "
                 "in fetches some for each of your units (yijian member login LOGIN)");
        json_decref(tokens);
        return EXIT_FAIL;
    }
    json_incref(t);
    json_decref(tokens);
    long long window = release_window(m, unit, NULL);
    if (window < 0) {
        json_decref(t);
        return EXIT_FAIL;
    }
    /* No Authorization, no session: nothing in the request names the
     * member. The Idempotency-Key makes a retry after a lost answer get the
     * same suggestion back instead of "token spent". */
    fprintf(stderr, "note: only the text can give you away now: details only you know, or the "
                    "way you write\n");
    json_object_set_new(body, "token", json_pack("{s:s, s:s, s:s}", "key_id",
                                                 str_member(t, "key_id"), "input",
                                                 str_member(t, "input"), "output",
                                                 str_member(t, "output")));
    char idem[64];
    idempotency_header(idem);
    const char *title = str_member(body, "title");
    char label[64 + 200];
    snprintf(label, sizeof label, "匿名意见：%.200s", title ? title : "");
    json_t *entry = json_pack("{s:s, s:O, s:s, s:o, s:s}", "kind", "submit", "body", body,
                              "idempotency_key", idem + strlen("Idempotency-Key: "), "token", t,
                              "label", label);
    /* The token leaves tokens.json: it is the outbox's now. */
    if (!entry || !drop_token(m, str_member(t, "input"))) {
        json_decref(entry);
        return EXIT_FAIL;
    }
    return enqueue(m, entry, window);
}

/* A step taken with the tracking code of argument 1, queued. */
static int queue_tracked(struct member *m, const char *kind, json_t *body, const char *label)
{
    char auth[32 + CODE_MAX];
    if (!tracking_header(m->args->pos[1], auth)) {
        json_decref(body);
        return EXIT_USAGE;
    }
    int rc = EXIT_FAIL;
    if (open_state(m, true) != 0)
        goto out;
    long long window = release_window(m, 0, auth);
    if (window < 0)
        goto out;
    char path[64];
    snprintf(path, sizeof path, "/v1/tracked/%s", !strcmp(kind, "message") ? "messages" : kind);
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "path", path, "tracking",
                              auth + strlen("Authorization: Tracking "), "label", label);
    if (!entry) {
        fail_msg("out of memory");
        goto out;
    }
    if (body)
        json_object_set(entry, "body", body);
    rc = enqueue(m, entry, window);
out:
    sodium_memzero(auth, sizeof auth);
    json_decref(body);
    return rc;
}

static int cmd_reply(struct member *m)
{
    json_t *body = json_pack("{s:s}", "body", m->args->pos[2]);
    if (!body) {
        fail_msg("the text must be UTF-8");
        return EXIT_USAGE;
    }
    char label[LABEL_TEXT_MAX * 2 + 32];
    const char *text = m->args->pos[2];
    size_t n = strlen(text) > LABEL_TEXT_MAX ? LABEL_TEXT_MAX : strlen(text);
    while (n > 0 && n < strlen(text) && ((unsigned char)text[n] & 0xc0) == 0x80)
        n--; /* not inside a character */
    snprintf(label, sizeof label, "留言：%.*s%s", (int)n, text, n < strlen(text) ? "…" : "");
    return queue_tracked(m, "message", body, label);
}

static int cmd_rate(struct member *m)
{
    json_t *body = json_pack("{s:s}", "rating", m->args->pos[2]);
    if (!body) {
        fail_msg("the rating must be satisfied, basically_satisfied or unsatisfied");
        return EXIT_USAGE;
    }
    return queue_tracked(m, "rating", body, "评价答复");
}

static int cmd_withdraw(struct member *m)
{
    return queue_tracked(m, "withdraw", NULL, "撤回意见");
}

static int cmd_reopen(struct member *m)
{
    return queue_tracked(m, "reopen", NULL, "请求重新答复");
}

static int cmd_cosign(struct member *m)
{
    const struct args *a = m->args;
    const char *sid = a->pos[1];
    long long unit = 0;
    size_t n = strlen(sid);
    bool ok = n >= 1 && n <= 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = (sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'A' && sid[i] <= 'Z') || sid[i] == '-';
    if (!ok || !a->unit || !decimal_parse(a->unit, 1, (1LL << 53) - 1, &unit)) {
        fail_msg("cosign takes the suggestion's id (S-XXXXXX) and --unit, the numeric id of its "
                 "unit (tokens are bound to a unit)");
        return EXIT_USAGE;
    }
    if (open_state(m, true) != 0)
        return EXIT_FAIL;
    char err[ERR_MAX];
    json_t *tokens = state_tokens_load(&m->st, err, sizeof err);
    if (!tokens) {
        fail_msg(err);
        return EXIT_FAIL;
    }
    json_t *t = choose_token(tokens, unit);
    json_incref(t);
    json_decref(tokens);
    if (!t) {
        fail_msg("no unspent anonymity token of that unit that can still be redeemed; signing "
                 "in fetches some for each of your units (yijian member login LOGIN)");
        return EXIT_FAIL;
    }
    long long window = release_window(m, unit, NULL);
    if (window < 0) {
        json_decref(t);
        return EXIT_FAIL;
    }
    char path[96], label[96];
    snprintf(path, sizeof path, "/v1/suggestions/%s/cosign", sid);
    snprintf(label, sizeof label, "匿名附议 %s", sid);
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s, s:{s:{s:s, s:s, s:s}}, s:o}", "kind",
                              "cosign", "sid", sid, "path", path, "label", label, "body", "token",
                              "key_id", str_member(t, "key_id"), "input", str_member(t, "input"),
                              "output", str_member(t, "output"), "token", t);
    if (!entry || !drop_token(m, str_member(t, "input"))) {
        json_decref(entry);
        return EXIT_FAIL;
    }
    return enqueue(m, entry, window);
}

static int cmd_outbox(struct member *m)
{
    if (open_state(m, true) != 0)
        return EXIT_FAIL;
    json_t *list = outbox_load(m);
    if (!list)
        return EXIT_FAIL;
    if (json_array_size(list) == 0)
        printf("发送箱是空的：没有等待发出的匿名操作。\n");
    long long now = now_ms();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        long long at = (long long)json_integer_value(json_object_get(e, "send_at"));
        long long deadline = (long long)json_integer_value(json_object_get(e, "deadline"));
        long long tries = (long long)json_integer_value(json_object_get(e, "tries"));
        put_text(stdout, str_member(e, "label"), false);
        char hhmm[6];
        if (at > now && deadline > 0) {
            beijing_hhmm(deadline / 1000, hhmm);
            printf("\t将于 %s 前匿名送达", hhmm);
        } else {
            printf("\t等待发送（运行 yijian member send）");
        }
        if (tries > 0)
            printf("\t已尝试 %lld 次", tries);
        printf("\n");
    }
    json_decref(list);
    return EXIT_OK;
}

static int cmd_send(struct member *m)
{
    bool wait = m->args->given & OPT_WAIT;
    if (open_state(m, true) != 0)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    for (;;) {
        long long next = 0;
        if (send_due(m, NULL, &next) != EXIT_OK)
            rc = EXIT_FAIL;
        if (!next) {
            break;
        }
        if (!wait) {
            char hhmm[6];
            beijing_hhmm(next / 1000, hhmm);
            printf("发送箱里还有匿名操作没到发送时刻（最早 %s，北京时间）。\n", hhmm);
            break;
        }
        /* Waiting, the directory is free for other commands. */
        state_unlock(&m->st);
        for (long long now = now_ms(); now < next; now = now_ms()) {
            struct timespec pause = { (time_t)((next - now) / 1000),
                                      (long)((next - now) % 1000) * 1000000L };
            nanosleep(&pause, NULL);
        }
        char err[ERR_MAX];
        if (state_lock(&m->st, err, sizeof err) != 0) {
            fail_msg(err);
            return EXIT_FAIL;
        }
    }
    return rc;
}

static int cmd_logout(struct member *m)
{
    if (open_state(m, true) != 0)
        return EXIT_FAIL;
    json_t *list = outbox_load(m);
    if (!list)
        return EXIT_FAIL;
    size_t waiting = json_array_size(list);
    json_decref(list);
    if (waiting && !(m->args->given & OPT_FORCE)) {
        fprintf(stderr, "yijian member: 发送箱里还有 %zu 项匿名操作没有发出，退出会把它们从本机删除。"
                        "先运行 yijian member send --wait 发出它们，或者用 yijian member logout "
                        "--force 放弃。\n", waiting);
        return EXIT_FAIL;
    }
    char err[ERR_MAX], session[TOKEN_CHARS + 1];
    if (state_session_load(&m->st, session, err, sizeof err) == STATE_OK) {
        char auth[16 + 64];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", session);
        const char *headers[] = { auth, NULL };
        struct http_reply r = { 0 };
        /* Signed out here either way: the session is erased below. */
        if (call(m, "POST", "/v1/auth/logout", headers, NULL, HTTP_RETRY_UNSENT, &r) &&
            r.status >= 300 && r.status != 401)
            report("end the session", &r);
        http_reply_cleanup(&r);
        sodium_memzero(auth, sizeof auth);
        sodium_memzero(session, sizeof session);
    }
    if (state_erase(&m->st, err, sizeof err) != 0) {
        fail_msg(err);
        return EXIT_FAIL;
    }
    printf("已退出。本机为这个账号保存的会话、匿名凭证和发送箱都已删除，下一个在这台电脑上登录的人"
           "什么也看不到。\n");
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* dispatch                                                            */
/* ------------------------------------------------------------------ */

static const struct command commands[] = {
    { "login", 1, OPT_TOKENS, cmd_login },
    { "tokens", 0, 0, cmd_tokens },
    { "submit", 0, OPT_UNIT | OPT_CATEGORY | OPT_TITLE | OPT_BODY | OPT_ANONYMOUS, cmd_submit },
    { "track", 1, 0, cmd_track },
    { "reply", 2, 0, cmd_reply },
    { "rate", 2, 0, cmd_rate },
    { "withdraw", 1, 0, cmd_withdraw },
    { "reopen", 1, 0, cmd_reopen },
    { "cosign", 1, OPT_UNIT, cmd_cosign },
    { "outbox", 0, 0, cmd_outbox },
    { "send", 0, OPT_WAIT, cmd_send },
    { "logout", 0, OPT_FORCE, cmd_logout },
};

int member_main(int argc, char **argv)
{
    struct args a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "(yijian member --help for usage)\n");
        return EXIT_USAGE;
    }
    if (a.given & OPT_HELP) {
        usage(stdout);
        return EXIT_OK;
    }
    if (a.npos == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct command *c = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, a.pos[0]))
            c = &commands[i];
    if (!c) {
        fprintf(stderr, "yijian member: unknown command \"");
        put_text(stderr, a.pos[0], false);
        fprintf(stderr, "\" (yijian member --help for usage)\n");
        return EXIT_USAGE;
    }
    if (a.npos - 1 != c->nargs) {
        fprintf(stderr, "yijian member: %s takes %d argument%s (yijian member --help for usage)\n",
                c->name, c->nargs, c->nargs == 1 ? "" : "s");
        return EXIT_USAGE;
    }
    unsigned stray = a.given & ~(OPT_GLOBAL | c->options);
    for (size_t k = 0; stray && k < sizeof option_table / sizeof option_table[0]; k++)
        if (stray & option_table[k].id) {
            fprintf(stderr, "yijian member: %s takes no --%s\n", c->name, option_table[k].name);
            return EXIT_USAGE;
        }

    struct member m = { .args = &a, .st = { .dir = NULL, .lock_fd = -1 } };
    const char *url = a.url ? a.url : getenv("YIJIAN_URL");
    if (set_base_url(&m, url && *url ? url : DEFAULT_URL) != 0)
        return EXIT_USAGE;
    if (sodium_init() < 0 || http_init() != 0) {
        fail_msg("could not initialise libsodium or libcurl");
        return EXIT_FAIL;
    }
    int rc = c->run(&m);
    fflush(stdout);
    state_close(&m.st);
    http_cleanup();
    return rc;
}
