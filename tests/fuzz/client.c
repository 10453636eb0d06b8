/* Fuzzes the member client (service/src/client/) on the bytes it reads
 * from outside: the service's answers and its own state files, which
 * another program may have written.
 *
 * Input: an HTTP answer body, parsed as client/http.c parses it
 * (json_loadb with JSON_REJECT_DUPLICATES), and given as the answer to
 *   - GET /v1/tokens/keys (fetch_keys for unit 1, with a key pinned for
 *     "2026-10" of unit 1),
 *   - POST /v1/tokens/issue (batch_finalize, for a fixed batch of two
 *     blinded inputs under the key of "2026-11"),
 *   - GET /v1/tracked (print_tracked) and any refusal (report, tokens_left);
 * and the same bytes as tokens.json and keys.json of a state directory
 * (state_tokens_load, state_keys_load).
 *
 * member.c is included (its functions are static); this file stands in
 * for client/http.c (http_request answers with the fuzz input) and catches
 * what member.c prints in a memory stream.
 *
 * Checked:
 * - a key list is taken only when every key is well formed, the current
 *   key is the first listed, and no pinned key changed;
 * - an issuance answer is taken only when the outputs are the right ones
 *   (computed here without blinding, with the secret key): a malformed or
 *   forged answer never gives the member tokens that would not redeem;
 * - tokens_left agrees with a reference reading of the quota detail;
 * - nothing printed holds a control character but newline (C0, DEL, and
 *   C1 as UTF-8: U+0080-U+009F, which terminals read as CSI and friends);
 * - state files load only when every entry is well formed, and what is
 *   loaded saves and loads back to the same value. */
#include "fuzz.h"

#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

/* member.c prints to stdout and stderr: into fuzz_out instead. */
static FILE *fuzz_out;
#undef stdout
#undef stderr
#define stdout fuzz_out
#define stderr fuzz_out
#define printf(...) fprintf(fuzz_out, __VA_ARGS__)
#include "../../service/src/client/member.c"
#undef printf
#undef stdout
#undef stderr
#define stdout stdout
#define stderr stderr

#include "domain/token_keys.h"

/* ---- client/http.c stand-in ----------------------------------------------- */

static json_t *answer;
static long answer_status;

int http_init(void) { return 0; }
void http_cleanup(void) {}

void http_reply_cleanup(struct http_reply *reply)
{
    json_decref(reply->json);
    reply->json = NULL;
    reply->status = 0;
}

int http_request(const char *method, const char *url, const char *const *headers, json_t *body,
                 enum http_retry retry, struct http_reply *reply, char *err, size_t errlen)
{
    (void)method, (void)url, (void)headers, (void)body, (void)retry, (void)err, (void)errlen;
    reply->status = answer_status;
    reply->json = json_incref(answer);
    return 0;
}

/* ---- fixed keys and batch ------------------------------------------------- */

#define BATCH 2
static struct oprf_scalar sk11;
static struct oprf_element pk11, pk10;
static char pk11_b64[64], pk10_b64[64];
static struct batch fixed; /* blinded, not finalized */
static unsigned char expected[BATCH][OPRF_OUTPUT_BYTES];
static char state_dir[64];

static void remove_state_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", state_dir, STATE_TOKENS_FILE);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", state_dir, STATE_KEYS_FILE);
    unlink(path);
    rmdir(state_dir);
}

static void die(const char *what)
{
    fprintf(stderr, "client harness: %s\n", what);
    abort();
}

/* Writes the genuine answers (seeds) to dir: this harness's batch and keys
 * are fixed, so its seeds are made by it (FUZZ_CLIENT_SEEDS=DIR). */
static void write_seed(const char *dir, const char *name, json_t *j)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (json_dump_file(j, path, JSON_INDENT(2)) != 0)
        die("cannot write a seed");
    json_decref(j);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        die("sodium_init");
    unsigned char seed[SECRET_BYTES];
    struct oprf_scalar sk10;
    memset(seed, 0x11, sizeof seed);
    if (token_key_derive(seed, "2026-11", 1, &sk11, &pk11) != OPRF_OK ||
        token_key_derive(seed, "2026-10", 1, &sk10, &pk10) != OPRF_OK)
        die("token_key_derive");
    b64(pk11.bytes, OPRF_ELEMENT_BYTES, pk11_b64, sizeof pk11_b64);
    b64(pk10.bytes, OPRF_ELEMENT_BYTES, pk10_b64, sizeof pk10_b64);

    fixed.n = BATCH;
    for (size_t i = 0; i < BATCH; i++) {
        memset(fixed.inputs[i], (int)(0xa0 + i), INPUT_BYTES);
        fixed.in[i] = (struct oprf_input){ fixed.inputs[i], INPUT_BYTES };
        unsigned char raw[32] = { (unsigned char)(7 + i) };
        struct oprf_scalar blind;
        if (oprf_scalar_deserialize(&blind, raw, sizeof raw) != OPRF_OK ||
            oprf_blind(OPRF_MODE_VOPRF, &fixed.in[i], &blind, &fixed.blinds[i],
                       &fixed.blinded[i]) != OPRF_OK ||
            oprf_evaluate(OPRF_MODE_VOPRF, &sk11, &fixed.in[i], expected[i]) != OPRF_OK)
            die("blinding the fixed batch");
    }
    /* tmpfs when there is one: state_write flushes every file it writes */
    snprintf(state_dir, sizeof state_dir, "%s/yijian-fuzz-client-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(state_dir))
        die("mkdtemp");
    atexit(remove_state_dir);

    const char *seeds = getenv("FUZZ_CLIENT_SEEDS");
    if (seeds) {
        struct oprf_element ev[BATCH];
        struct oprf_proof proof;
        unsigned char praw[OPRF_PROOF_BYTES];
        char e[64], p[128];
        if (oprf_voprf_blind_evaluate(&sk11, BATCH, fixed.blinded, ev, &proof, NULL) != OPRF_OK)
            die("evaluating");
        oprf_proof_serialize(&proof, praw);
        b64(praw, sizeof praw, p, sizeof p);
        json_t *list = json_array();
        for (size_t i = 0; i < BATCH; i++) {
            b64(ev[i].bytes, OPRF_ELEMENT_BYTES, e, sizeof e);
            json_array_append_new(list, json_string(e));
        }
        write_seed(seeds, "issue-genuine",
                   json_pack("{s:s, s:o, s:s}", "key_id", "2026-11", "evaluated", list, "proof", p));
        write_seed(seeds, "keys-genuine",
                   json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}", "keys",
                             "key_id", "2026-11", "public_key", pk11_b64, "not_after",
                             "2026-12-01T00:00:00Z", "redeem_until", "2026-12-08T00:00:00Z",
                             "key_id", "2026-10", "public_key", pk10_b64, "not_after",
                             "2026-11-01T00:00:00Z", "redeem_until", "2026-11-08T00:00:00Z"));
        write_seed(seeds, "keys-pinned-epoch-changed",
                   json_pack("{s:[{s:s, s:s, s:s}]}", "keys", "key_id", "2026-10",
                             "public_key", pk11_b64, "redeem_until", "2026-11-08T00:00:00Z"));
        char in[64], out[128];
        b64(fixed.inputs[0], INPUT_BYTES, in, sizeof in);
        b64(expected[0], OPRF_OUTPUT_BYTES, out, sizeof out);
        write_seed(seeds, "state-tokens",
                   json_pack("[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s}]", "key_id", "2026-11",
                             "input", in, "output", out, "redeem_until", "2026-12-08T00:00:00Z",
                             "key_id", "2026-10", "input", in, "output", out));
        write_seed(seeds, "state-keys",
                   json_pack("{s:s, s:s}", "2026-11", pk11_b64, "2026-10", pk10_b64));
        exit(0);
    }
    return 0;
}

/* ---- checks --------------------------------------------------------------- */

static void check_keys(void)
{
    struct member m;
    memset(&m, 0, sizeof m);
    snprintf(m.base, sizeof m.base, "http://127.0.0.1:1");
    m.st.dir = state_dir;
    m.st.lock_fd = -1;
    json_t *pins = json_pack("{s:s}", "2026-10.u1", pk10_b64);
    struct current_key cur;
    memset(&cur, 0, sizeof cur);
    answer_status = 200;
    bool ok = fetch_keys(&m, 1, pins, &cur);
    if (ok) {
        json_t *keys = json_object_get(answer, "keys");
        json_t *first = json_array_get(keys, 0);
        unsigned char raw[OPRF_ELEMENT_BYTES];
        const char *pk = str_member(first, "public_key");
        FUZZ_CHECK(pk && state_b64_decode(pk, strlen(pk), raw, sizeof raw) &&
                       !memcmp(raw, cur.pk.bytes, sizeof raw),
                   "the current key is not the first listed");
        FUZZ_CHECK(!strcmp(cur.key_id, str_member(first, "key_id")), "current key id");
        FUZZ_CHECK(strlen(cur.redeem_until) == TIME_CHARS, "redeem_until \"%s\"",
                   cur.redeem_until);
        FUZZ_CHECK(!strcmp(str_member(pins, "2026-10.u1"), pk10_b64), "a pinned key changed");
        FUZZ_CHECK(cur.unit_id == 1, "current key's unit %lld", cur.unit_id);
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k) {
            const char *kid = str_member(k, "key_id");
            FUZZ_CHECK(kid && state_key_id_valid(kid), "took a malformed key id");
            char pin[STATE_KEY_ID_MAX + 8];
            snprintf(pin, sizeof pin, "%s.u1", kid);
            const char *pinned = str_member(pins, pin);
            FUZZ_CHECK(pinned, "key %s listed but not pinned", kid);
        }
    }
    json_decref(pins);
}

static void check_issue(void)
{
    struct batch *b = malloc(sizeof *b);
    if (!b)
        abort();
    memcpy(b, &fixed, sizeof *b);
    /* member.c's batch points into itself */
    for (size_t i = 0; i < BATCH; i++)
        b->in[i] = (struct oprf_input){ b->inputs[i], INPUT_BYTES };
    struct current_key key;
    memset(&key, 0, sizeof key);
    snprintf(key.key_id, sizeof key.key_id, "2026-11");
    key.pk = pk11;
    if (batch_finalize(b, &key, answer))
        for (size_t i = 0; i < BATCH; i++)
            FUZZ_CHECK(!memcmp(b->outputs[i], expected[i], OPRF_OUTPUT_BYTES),
                       "took token %zu whose output is not the key's", i);
    free(b);
}

static void check_refusal(void)
{
    struct http_reply r = { .status = 429, .json = answer };
    long long left = tokens_left(&r);
    const char *detail = str_member(answer, "detail");
    long long ref = -1;
    if (detail && detail[0] >= '0' && detail[0] <= '9') {
        size_t digits = strspn(detail, "0123456789");
        char *end;
        errno = 0;
        long long v = strtoll(detail, &end, 10);
        if (!errno && end == detail + digits && !strncmp(end, " of ", 4))
            ref = v;
    }
    FUZZ_CHECK(left == ref, "tokens_left %lld, expected %lld for \"%s\"", left, ref,
               detail ? detail : "(null)");
    r.status = 401;
    report("follow the suggestion", &r);
    report_tracked("follow the suggestion", &r);
    print_tracked(answer);
}

static void check_printed(const char *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        FUZZ_CHECK(c >= 0x20 || c == '\n', "printed control character 0x%02x at %zu: %.*s", c,
                   i, (int)len, out);
        FUZZ_CHECK(c != 0x7f, "printed DEL at %zu", i);
        FUZZ_CHECK(!(c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] >= 0x80 &&
                     (unsigned char)out[i + 1] <= 0x9f),
                   "printed the C1 control U+%04X at %zu", (unsigned char)out[i + 1], i);
    }
}

static void write_state_file(const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", state_dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
        die("cannot write a state file");
}

static void check_state(const uint8_t *data, size_t size)
{
    struct member_state st = { .dir = state_dir, .lock_fd = -1 };
    char err[ERR_MAX];
    write_state_file(STATE_TOKENS_FILE, data, size);
    json_t *tokens = state_tokens_load(&st, err, sizeof err);
    if (tokens) {
        FUZZ_CHECK(json_is_array(tokens) && json_array_size(tokens) <= STATE_MAX_TOKENS,
                   "tokens.json loaded as something else");
        size_t i;
        json_t *t;
        json_array_foreach(tokens, i, t) {
            FUZZ_CHECK(state_token_valid(t), "entry %zu loaded though malformed", i);
            const char *in = str_member(t, "input"), *out = str_member(t, "output");
            unsigned char a[32], b2[64];
            FUZZ_CHECK(strlen(in) == STATE_TOKEN_INPUT_B64 && strlen(out) == STATE_TOKEN_OUTPUT_B64 &&
                           state_b64_decode(in, strlen(in), a, sizeof a) &&
                           state_b64_decode(out, strlen(out), b2, sizeof b2),
                       "entry %zu has a malformed input or output", i);
        }
        FUZZ_CHECK(state_tokens_save(&st, tokens, err, sizeof err) == 0, "save: %s", err);
        json_t *again = state_tokens_load(&st, err, sizeof err);
        FUZZ_CHECK(again && json_equal(again, tokens), "tokens.json changed on the way back");
        json_decref(again);
        json_decref(tokens);
    }
    write_state_file(STATE_KEYS_FILE, data, size);
    json_t *keys = state_keys_load(&st, err, sizeof err);
    if (keys) {
        const char *kid;
        json_t *pk;
        json_object_foreach(keys, kid, pk) {
            unsigned char raw[32];
            FUZZ_CHECK(state_key_id_valid(kid) && json_is_string(pk) &&
                           state_b64_decode(json_string_value(pk), json_string_length(pk), raw,
                                            sizeof raw),
                       "keys.json loaded with a malformed entry %s", kid);
        }
        FUZZ_CHECK(state_keys_save(&st, keys, err, sizeof err) == 0, "save: %s", err);
        json_t *again = state_keys_load(&st, err, sizeof err);
        FUZZ_CHECK(again && json_equal(again, keys), "keys.json changed on the way back");
        json_decref(again);
        json_decref(keys);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_state(data, size);
    answer = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!answer)
        return 0;
    char *out = NULL;
    size_t len = 0;
    fuzz_out = open_memstream(&out, &len);
    if (!fuzz_out)
        abort();
    check_keys();
    check_issue();
    check_refusal();
    fclose(fuzz_out);
    fuzz_out = NULL;
    check_printed(out, len);
    free(out);
    json_decref(answer);
    answer = NULL;
    return 0;
}
