// The member client (`yijian member`), the reference client of the token
// protocol, driven as a member would: sign in (tokens fetched and their
// proof verified), count tokens, submit anonymously and by name, follow
// with the tracking code. A small fake service in front of the real one
// (node:http on 127.0.0.1) tampers with what the client is sent: a proof
// with a byte flipped, tokens made with a key other than the published one,
// a key that changed; the client must refuse and keep nothing. It also
// records what the client sends, so that an anonymous submission can be
// seen to carry no session.
//
// The client runs without DATABASE_URL and without a master key:
// runCli(null, ...) gives it neither.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { REPO_ROOT } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { BIN, runCli, startService } from './lib/service.mjs';
import { PASSWORD, worldBuilder } from './lib/world.mjs';

const ctx = useService();
const voprf = ristretto255_oprf.voprf;
const rng = (n) => new Uint8Array(crypto.randomBytes(n));
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const CODE = /^tracking code: ([0-9A-HJKMNP-TV-Z]{26})$/m;
let w;
let seq = 0;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'yijian-member-'));

/** A fresh state directory path (not created: the client creates it). */
const stateDir = () => path.join(tmpRoot, `state-${++seq}`);
const mode = (file) => fs.statSync(file).mode & 0o777;
const readTokens = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8'));
const tag = () => `${process.pid}-${++seq}`;

/** Fails on a sanitizer report (the ASan build) in what the client printed. */
function clean(r) {
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error:/, r.stderr);
  return r;
}

/** `yijian member ARGS` against url (the service by default) with state dir. */
async function member(dir, args, { url = ctx.svc.url, env = {} } = {}) {
  // no_proxy: a proxy set in the environment must not see the test traffic.
  return clean(await runCli(null, ['member', '--url', url, '--state', dir, ...args], { env: { YIJIAN_PASSWORD: PASSWORD, no_proxy: '*', ...env } }));
}

async function login(dir, who, opts = {}) {
  const r = await member(dir, ['login', w.logins[who], ...(opts.args ?? [])], opts);
  return r;
}

/** A new member of the test branch: its key in w. */
async function newMember(name) {
  const key = `M${++seq}`;
  await w.account(key, name, 'B');
  return key;
}

async function currentKey() {
  const r = await ctx.api.get(`/v1/tokens/keys?unit=${w.units.B}`);
  assert.equal(r.status, 200);
  return r.body.keys[0];
}

const issued = async (who, keyId) =>
  Number(await ctx.cluster.psql(`select coalesce((select issued from token_issuance where account_id = ${Number(w.ids[who])} and key_id = '${keyId}' and unit_id = ${Number(w.units.B)}), 0)`));

/**
 * A fake service on 127.0.0.1 that forwards to the real one; rewrite(req,
 * body, upstream) may return {status, body} to answer instead. Every
 * request is recorded as {method, url, headers, body}.
 */
async function fakeService(rewrite = async () => null) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, url: req.url, headers: { ...req.headers }, body });
      const headers = {};
      for (const h of ['authorization', 'content-type', 'idempotency-key']) if (req.headers[h]) headers[h] = req.headers[h];
      const upstream = async () => {
        const up = await fetch(new URL(req.url, ctx.svc.url), { method: req.method, headers, body: body.length ? body : undefined });
        const text = await up.text();
        return { status: up.status, type: up.headers.get('content-type'), text, json: text ? JSON.parse(text) : null };
      };
      const mine = await rewrite(req, body, upstream);
      const out = mine ? { status: mine.status, type: 'application/json', text: JSON.stringify(mine.body) } : await upstream();
      res.writeHead(out.status, { 'content-type': out.type ?? 'application/json' });
      res.end(out.text);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A proof with one bit of its first byte flipped. */
function flipProof(proof) {
  const raw = Buffer.from(proof, 'base64url');
  raw[0] ^= 0x01;
  return raw.toString('base64url');
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'cli-admin' });
  await w.unit('B', '命令行支部', 'branch');
  await w.portfolio('B', '组织');
  await w.category('C', 'B', { name: '组织工作', portfolio: '组织' });
  await w.account('COM', '委员', 'B', ['member', 'committee'], ['组织']);
  await w.account('MEM', '张三', 'B');
});

after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

// ---- one member's way through ---------------------------------------------------

const main = { dir: null, code: null, id: null };

test('login_fetches_ten_verified_tokens_into_files_only_the_member_can_read', async () => {
  main.dir = stateDir();
  const key = await currentKey();
  const r = await login(main.dir, 'MEM');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /signed in as 张三/);
  assert.match(r.stdout, new RegExp(`fetched 10 anonymity tokens for epoch ${key.key_id} \\(proof verified\\)`));
  assert.equal(mode(main.dir), 0o700);
  for (const f of ['session', 'tokens.json', 'keys.json']) assert.equal(mode(path.join(main.dir, f)), 0o600, f);
  assert.deepEqual(fs.readdirSync(main.dir).filter((f) => f.startsWith('.')), [], 'no temporary file left behind');

  const tokens = readTokens(main.dir);
  assert.equal(tokens.length, 10);
  for (const t of tokens) {
    assert.deepEqual(Object.keys(t).sort(), ['input', 'key_id', 'output', 'redeem_until', 'unit_id']);
    assert.equal(t.key_id, key.key_id);
    assert.equal(t.unit_id, w.units.B, 'tokens of the member\'s own unit');
    assert.equal(t.redeem_until, key.redeem_until);
    assert.equal(unb64(t.input).length, 32);
    assert.equal(unb64(t.output).length, 64);
  }
  assert.equal(new Set(tokens.map((t) => t.input)).size, 10);
  assert.equal(await issued('MEM', key.key_id), 10);

  // Nothing secret on the terminal.
  const session = fs.readFileSync(path.join(main.dir, 'session'), 'utf8').trim();
  assert.match(session, /^[A-Za-z0-9_-]{43}$/);
  const printed = r.stdout + r.stderr;
  assert.ok(!printed.includes(session), 'the session token is not printed');
  for (const t of tokens) assert.ok(!printed.includes(t.input) && !printed.includes(t.output), 'tokens are not printed');
  assert.ok(!printed.includes(PASSWORD));
});

test('tokens_counts_the_unspent_tokens_per_key_id', async () => {
  const key = await currentKey();
  const r = await member(main.dir, ['tokens']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${key.key_id}\t10\tredeemable until ${key.redeem_until}\n`);
});

test('anonymous_submit_sends_no_session_spends_one_token_and_shows_the_code_once', async () => {
  const fake = await fakeService(); // records what the client sends
  const title = `匿名建议${tag()}`;
  const r = await member(
    main.dir,
    ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', title, '--body', '希望支部活动改在周末。'],
    { url: fake.url },
  );
  await fake.close();
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(CODE);
  assert.ok(m, r.stdout);
  main.code = m[1];
  main.id = r.stdout.match(/suggestion (S-[0-9A-Z]{6}) submitted anonymously/)[1];
  assert.match(r.stdout, /shown this once/);
  assert.equal(r.stdout.split(main.code).length, 2, 'the code is printed exactly once');
  assert.ok(!r.stderr.includes(main.code));

  // What went over the wire: one request, no Authorization, no cookie, an
  // Idempotency-Key, and a body with the token and nothing of the session.
  assert.equal(fake.requests.length, 1);
  const [sent] = fake.requests;
  assert.equal(sent.method, 'POST');
  assert.equal(sent.url, '/v1/suggestions');
  assert.equal(sent.headers.authorization, undefined);
  assert.equal(sent.headers.cookie, undefined);
  assert.equal(sent.headers['user-agent'], undefined);
  assert.match(sent.headers['idempotency-key'], /^[A-Za-z0-9_-]{22}$/);
  const body = JSON.parse(sent.body);
  assert.deepEqual(Object.keys(body).sort(), ['body', 'category_id', 'title', 'token', 'unit_id']);
  assert.deepEqual(Object.keys(body.token).sort(), ['input', 'key_id', 'output']);
  const session = fs.readFileSync(path.join(main.dir, 'session'), 'utf8').trim();
  assert.ok(!sent.body.includes(session));

  // The token is gone from the file, and the suggestion has no author.
  const left = readTokens(main.dir);
  assert.equal(left.length, 9);
  assert.ok(!left.some((t) => t.input === body.token.input));
  const row = JSON.parse(await ctx.cluster.psql(`select row_to_json(s) from suggestions s where public_id = '${main.id}'`));
  assert.equal(row.anonymous, true);
  assert.equal(row.author_id, null);
  assert.equal(row.title, title);

  const t = await member(main.dir, ['tokens']);
  assert.match(t.stdout, /\t9\t/);
});

test('track_shows_the_status_the_messages_for_the_submitter_and_the_answer', async () => {
  let r = await member(main.dir, ['track', main.code]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`suggestion ${main.id}: 匿名建议`));
  assert.match(r.stdout, /^status: submitted$/m);
  assert.match(r.stdout, /^answer: none yet$/m);
  assert.ok(!r.stdout.includes(main.code) && !r.stderr.includes(main.code), 'the code is not printed again');

  const committee = w.tokens.COM;
  const ok = async (p, status = 200) => {
    const res = await p;
    assert.equal(res.status, status, JSON.stringify(res.body));
    return res.body;
  };
  await ok(ctx.api.post(`/v1/suggestions/${main.id}/accept`, { token: committee }));
  await ok(ctx.api.post(`/v1/suggestions/${main.id}/messages`, { token: committee, body: { body: '请说明希望的时间', visibility: 'submitter' } }), 201);
  await ok(ctx.api.post(`/v1/suggestions/${main.id}/messages`, { token: committee, body: { body: '内部讨论', visibility: 'internal' } }), 201);

  r = await member(main.dir, ['reply', main.code, '周六上午。']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /message sent/);

  await ok(ctx.api.request('PUT', `/v1/suggestions/${main.id}/answer`, { token: committee, body: { decision: 'adopted', body: '下月起改在周六上午。' } }));
  await ok(ctx.api.post(`/v1/suggestions/${main.id}/answer/approve`, { token: w.tokens.admin }));

  r = await member(main.dir, ['rate', main.code, 'satisfied']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /rating recorded/);

  // The code may come from stdin ("-"), out of ps and the shell history.
  r = await runWithStdin(['member', '--url', ctx.svc.url, '--state', main.dir, 'track', '-'], `${main.code}\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^status: answered$/m);
  assert.match(r.stdout, /委员: 请说明希望的时间/);
  assert.match(r.stdout, /you: 周六上午。/);
  assert.doesNotMatch(r.stdout, /内部讨论/);
  assert.match(r.stdout, /^answer \(adopted, .*\):\n {2}下月起改在周六上午。$/m);
  assert.match(r.stdout, /^your rating: satisfied$/m);

  // Rating twice is refused by the service, and the client says so.
  r = await member(main.dir, ['rate', main.code, 'unsatisfied']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /could not rate the answer: .*\(HTTP 409\)/);
});

test('a_wrong_tracking_code_fails_with_the_problem_and_is_not_echoed', async () => {
  const wrong = '0000000000000000000000000Z';
  const r = await member(main.dir, ['track', wrong]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /could not follow the suggestion: Tracking code required or not known \(HTTP 401\)/);
  assert.ok(!r.stderr.includes(wrong) && !r.stdout.includes(wrong));
  const bad = await member(main.dir, ['track', 'x\r\nX-Evil: 1']);
  assert.equal(bad.code, 2, 'a code that cannot go in a header is refused before sending');
});

test('named_submit_uses_the_session_and_spends_no_token', async () => {
  const r = await member(main.dir, ['submit', '--category', String(w.categories.C), '--title', `实名建议${tag()}`, '--body', '建议增加学习资料。']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.match(/suggestion (S-[0-9A-Z]{6}) submitted \(submitted\)/)[1];
  const row = JSON.parse(await ctx.cluster.psql(`select row_to_json(s) from suggestions s where public_id = '${id}'`));
  assert.equal(row.anonymous, false);
  assert.equal(Number(row.author_id), Number(w.ids.MEM));
  assert.equal(readTokens(main.dir).length, 9);
  assert.doesNotMatch(r.stdout, /tracking code/);
});

test('a_token_spent_elsewhere_is_dropped_and_reported', async () => {
  // Two copies of one state directory spend the same token.
  const copy = stateDir();
  fs.cpSync(main.dir, copy, { recursive: true });
  const args = (title) => ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', title, '--body', '正文'];
  const first = await member(main.dir, args(`第一份${tag()}`));
  assert.equal(first.code, 0, first.stderr);
  const second = await member(copy, args(`第二份${tag()}`));
  assert.equal(second.code, 1);
  assert.match(second.stderr, /could not submit anonymously: The token was spent already \(HTTP 409\)/);
  assert.match(second.stderr, /dropped/);
  assert.doesNotMatch(second.stdout, /tracking code/);
  const inputs = (dir) => readTokens(dir).map((t) => t.input).sort();
  assert.deepEqual(inputs(copy), inputs(main.dir), 'the copy dropped the token the other copy spent');
});

test('a_resubmission_whose_token_paid_already_recovers_the_tracking_code', async () => {
  // As after an answer lost on the way: the suggestion was stored, the
  // client did not hear of it and runs the same command again (another
  // Idempotency-Key, the same token). The token's holder can recompute the
  // code, which leads to this very suggestion.
  const copy = stateDir();
  fs.cpSync(main.dir, copy, { recursive: true });
  const args = ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', `重发${tag()}`, '--body', '同一条'];
  const first = await member(main.dir, args);
  assert.equal(first.code, 0, first.stderr);
  const again = await member(copy, args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already paid for this suggestion/);
  assert.equal(again.stdout.match(CODE)[1], first.stdout.match(CODE)[1]);
});

// ---- quota ------------------------------------------------------------------

test('login_tops_up_to_what_the_quota_leaves_and_then_fetches_none', async () => {
  const who = await newMember('李四');
  const key = await currentKey();
  const dir = stateDir();
  let r = await login(dir, who, { args: ['--tokens', '4'] });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fetched 4 anonymity tokens/);
  r = await login(dir, who);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fetched 6 anonymity tokens .*; 10 unspent in all/);
  r = await login(dir, who);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`no anonymity tokens fetched: the quota of epoch ${key.key_id} is taken`));
  assert.equal(readTokens(dir).length, 10);
  assert.equal(await issued(who, key.key_id), 10);
});

// ---- a service that cheats --------------------------------------------------------

async function refusedLogin(who, rewrite, expect) {
  const fake = await fakeService(rewrite);
  const dir = stateDir();
  try {
    const r = await login(dir, who, { url: fake.url });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, expect);
    assert.doesNotMatch(r.stdout, /fetched/);
    assert.ok(!fs.existsSync(path.join(dir, 'tokens.json')), 'no tokens stored');
    assert.ok(!fs.existsSync(path.join(dir, 'keys.json')), 'no keys stored');
    return { dir, r };
  } finally {
    await fake.close();
  }
}

test('a_proof_with_one_byte_flipped_is_refused_and_nothing_is_stored', async () => {
  const who = await newMember('王五');
  await refusedLogin(
    who,
    async (req, _body, upstream) => {
      if (req.url !== '/v1/tokens/issue') return null;
      const up = await upstream();
      assert.equal(up.status, 200, up.text);
      return { status: 200, body: { ...up.json, proof: flipProof(up.json.proof) } };
    },
    /proof .* does not verify .*all 10 are refused and none is kept/,
  );
});

test('tokens_made_with_another_key_than_the_published_one_are_refused', async () => {
  // The attack the proof is there for: a key of this member's own would
  // tag the tokens. The fake's proof is genuine, for its own key.
  const who = await newMember('赵六');
  const own = voprf.generateKeyPair();
  await refusedLogin(
    who,
    async (req, body) => {
      if (req.url !== '/v1/tokens/issue') return null;
      const { key_id, blinded } = JSON.parse(body);
      const out = voprf.blindEvaluateBatch(own.secretKey, own.publicKey, blinded.map(unb64), rng);
      return { status: 200, body: { key_id, evaluated: out.evaluated.map(b64), proof: b64(out.proof) } };
    },
    /does not verify/,
  );
});

test('a_published_key_that_changed_for_a_known_epoch_is_refused', async () => {
  const who = await newMember('孙七');
  const dir = stateDir();
  let r = await login(dir, who, { args: ['--tokens', '2'] });
  assert.equal(r.code, 0, r.stderr);
  const before = fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8');
  const other = b64(voprf.generateKeyPair().publicKey);
  const fake = await fakeService(async (req, _body, upstream) => {
    if (!req.url.startsWith('/v1/tokens/keys?')) return null;
    const up = await upstream();
    up.json.keys[0].public_key = other;
    return { status: 200, body: up.json };
  });
  r = await login(dir, who, { url: fake.url });
  await fake.close();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /another public key for epoch/);
  assert.equal(fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8'), before);
  assert.ok(!fake.requests.some((q) => q.url === '/v1/tokens/issue'), 'nothing was asked under that key');
});

// ---- errors and the state directory --------------------------------------------------

test('a_wrong_password_fails_with_the_problem_and_stores_nothing', async () => {
  const dir = stateDir();
  const r = await member(dir, ['login', w.logins.MEM], { env: { YIJIAN_PASSWORD: 'not the password' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /could not sign in: Login or password is wrong \(HTTP 401\)/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'lock'), []);
});

test('the_password_may_come_from_one_line_of_stdin', async () => {
  const who = await newMember('周八');
  const dir = stateDir();
  const env = { ...process.env };
  delete env.YIJIAN_PASSWORD;
  const r = await runWithStdin(['member', '--url', ctx.svc.url, '--state', dir, 'login', w.logins[who], '--tokens', '1'], `${PASSWORD}\n`, env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fetched 1 anonymity tokens/);
});

test('state_files_readable_by_others_are_refused', async () => {
  const dir = stateDir();
  fs.cpSync(main.dir, dir, { recursive: true });
  fs.chmodSync(path.join(dir, 'tokens.json'), 0o644);
  let r = await member(dir, ['tokens']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /tokens\.json has mode 0644: group and others must have no access \(chmod 600 it\)/);
  fs.chmodSync(path.join(dir, 'tokens.json'), 0o600);
  fs.chmodSync(dir, 0o755);
  r = await member(dir, ['tokens']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has mode 0755: group and others must have no access \(chmod 700 it\)/);
});

test('anonymous_submit_without_tokens_fails_clearly', async () => {
  const r = await member(stateDir(), ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', 't', '--body', 'b']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no unspent anonymity token/);
});

test('usage_errors_exit_2_and_help_exits_0_without_database_url_or_master_key', async () => {
  const dir = stateDir();
  // A server setting that does not parse must not matter to the client.
  const env = { HTTP_THREADS: 'many' };
  const help = await member(dir, ['--help'], { env });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: yijian member/);
  assert.equal((await member(dir, ['tokens'], { env })).code, 0);
  for (const args of [[], ['frobnicate'], ['login'], ['tokens', 'extra'], ['login', 'x', '--tokens', '0'], ['login', 'x', '--tokens', '65'], ['track', 'C', '--title', 't'], ['submit', '--anonymous', '--category', '1', '--title', 't', '--body', 'b'], ['submit', '--unit', 'one', '--category', '1', '--title', 't', '--body', 'b']]) {
    const r = await member(dir, args, { env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.notEqual(r.stderr, '');
  }
  // The service and the state directory from the environment; a service
  // that is not there is reported after the retries.
  const envDir = stateDir();
  const down = clean(await runCli(null, ['member', 'track', '0000000000000000000000000Z'], { env: { YIJIAN_URL: 'http://127.0.0.1:1/', YIJIAN_MEMBER_STATE: envDir } }));
  assert.equal(down.code, 1);
  assert.match(down.stderr, /could not reach http:\/\/127\.0\.0\.1:1\/v1\/tracked \(tried several times\)/);
  const counted = clean(await runCli(null, ['member', 'tokens'], { env: { YIJIAN_MEMBER_STATE: envDir } }));
  assert.equal(counted.code, 0, counted.stderr);
  assert.equal(mode(envDir), 0o700);
});

// ---- anonymous acts sent at a random moment (issue 20) --------------------------
//
// A second instance on the same database with a short release window: the
// client learns the window at sign-in (GET /v1/tokens/keys), keeps every
// anonymous act in its outbox, and sends it at a random moment before the
// next boundary (`send --wait`); the service holds it until the boundary.

const WINDOW = 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const boundaryAfter = (t) => (Math.floor(t / 1000 / WINDOW) + 1) * WINDOW * 1000;
const beijing = (ms) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(11, 16);
const readOutbox = (dir) => (fs.existsSync(path.join(dir, 'outbox.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'outbox.json'), 'utf8')) : []);
const psqlCount = async (sql) => Number(await ctx.cluster.psql(sql));

/** Waits for the start of a window, so that most of it is ahead. */
async function windowStart() {
  const left = boundaryAfter(Date.now()) - Date.now();
  if (left < WINDOW * 1000 - 800) await sleep(left + 50);
}

test('every_anonymous_act_waits_in_the_outbox_for_a_moment_before_the_boundary_and_arrives_once', async (t) => {
  const svc = await startService(ctx.cluster, { ANON_RELEASE_WINDOW: String(WINDOW) });
  t.after(() => svc.stop());
  const who = await newMember('王五');
  const dir = stateDir();
  const opts = { url: svc.url };
  let r = await login(dir, who, opts);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'service.json'), 'utf8')), { release_window_seconds: WINDOW });

  // A submission: kept, told until when, nothing sent; then sent at its moment.
  const title = `随机时刻${tag()}`;
  await windowStart();
  const written = Date.now();
  r = await member(dir, ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', title, '--body', '送达时间是随机的。'], opts);
  assert.equal(r.code, 0, r.stderr);
  const boundary = boundaryAfter(written);
  assert.match(r.stdout, new RegExp(`将于 ${beijing(boundary)} 前匿名送达（北京时间）`));
  assert.doesNotMatch(r.stdout, CODE, 'no code before it is sent');
  assert.equal(readTokens(dir).length, 9, 'its token left tokens.json for the outbox');
  const box = await member(dir, ['outbox'], opts);
  assert.match(box.stdout, new RegExp(`^匿名意见：${title}\t将于 ${beijing(boundary)} 前匿名送达$`, 'm'));
  assert.equal(await psqlCount('select count(*) from held_acts'), 0, 'nothing has reached the service');
  r = await member(dir, ['send', '--wait'], opts);
  assert.equal(r.code, 0, r.stderr);
  const code = r.stdout.match(CODE)[1];
  // It reached the service before the boundary: held for the window that ends there.
  const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  assert.match(r.stdout, new RegExp(`待送达：将于 ${iso(boundary)}（UTC）`));
  assert.deepEqual(readOutbox(dir), [], 'the outbox is empty once it arrived');
  await waitForRelease(`select count(*) from suggestions where title = '${title}'`, boundary);
  const id = await ctx.cluster.psql(`select public_id from suggestions where title = '${title}'`);

  // A message and a withdrawal with the code, and a co-sign of another suggestion: all kept, then sent.
  const other = await ctx.api.post('/v1/suggestions', { token: w.tokens.MEM, headers: { 'Idempotency-Key': crypto.randomUUID() }, body: { category_id: w.categories.C, title: `实名${tag()}`, body: '请附议' } });
  assert.equal(other.status, 201, JSON.stringify(other.body));
  await windowStart();
  const written2 = Date.now();
  const text = `补充一句${tag()}`;
  for (const args of [['reply', code, text], ['withdraw', code], ['cosign', other.body.id, '--unit', String(w.units.B)]]) {
    r = await member(dir, args, opts);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    assert.match(r.stdout, /前匿名送达（北京时间）/, args[0]);
  }
  const listed = (await member(dir, ['outbox'], opts)).stdout.trim().split('\n');
  assert.equal(listed.length, 3, listed.join('\n'));
  // Each until when, or, on a slow machine, already due.
  for (const l of listed) assert.match(l, /\t(将于 \d\d:\d\d 前匿名送达|等待发送（运行 yijian member send）)$/);
  assert.ok(!listed.join('\n').includes(code), 'the outbox listing does not show the code');
  assert.equal(await psqlCount('select count(*) from held_acts'), 0, 'nothing has reached the service');
  r = await member(dir, ['send', '--wait'], opts);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split(`待生效：将于 ${iso(boundaryAfter(written2))}（UTC）`).length, 4, `all three held for the window of their writing: ${r.stdout}`);
  assert.match(r.stdout, /message sent/);
  assert.match(r.stdout, /已撤回/);
  assert.match(r.stdout, /已匿名附议/);
  assert.deepEqual(readOutbox(dir), []);
  await waitForRelease(`select count(*) from messages where body = '${text}'`, boundaryAfter(written2));
  assert.equal(await ctx.cluster.psql(`select status from suggestions where public_id = '${id}'`), 'withdrawn');
  assert.equal(await psqlCount(`select count(*) from messages where body = '${text}'`), 1, 'the message arrived once');
  assert.equal(await ctx.cluster.psql(`select cosign_count from suggestions where public_id = '${other.body.id}'`), '1');
  assert.equal(readTokens(dir).length, 8);
});

/** Polls sql (a count) until it is 1, past the boundary and the jobs' next pass. */
async function waitForRelease(sql, boundary) {
  const end = boundary + 8000;
  while (Date.now() < end) {
    if ((await psqlCount(sql)) === 1) return;
    await sleep(200);
  }
  assert.fail(`not released: ${sql}`);
}

test('the_state_directory_belongs_to_one_login_and_logout_erases_it', async (t) => {
  const svc = await startService(ctx.cluster, { ANON_RELEASE_WINDOW: '3600' });
  t.after(() => svc.stop());
  const a = await newMember('甲');
  const b = await newMember('乙');
  const dir = stateDir();
  let r = await login(dir, a, { url: svc.url });
  assert.equal(r.code, 0, r.stderr);
  const title = `甲的草稿${tag()}`;
  r = await member(dir, ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', title, '--body', '只有甲知道'], { url: svc.url });
  assert.equal(r.code, 0, r.stderr);
  const tokensA = readTokens(dir).map((x) => x.input);
  assert.equal(readOutbox(dir).length, 1);
  const sessionA = fs.readFileSync(path.join(dir, 'session'), 'utf8');

  // Another account signs in with the same directory: nothing of the first is left.
  r = await login(dir, b, { url: svc.url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /另一个账号的会话、匿名凭证和发送箱已经删除/);
  const everything = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  for (const trace of [title, sessionA.trim(), ...tokensA]) assert.ok(!everything.includes(trace), `the directory still holds ${trace.slice(0, 20)}`);
  assert.equal(readTokens(dir).length, 10, 'the second account\'s own tokens');
  assert.ok(!(await member(dir, ['outbox'], { url: svc.url })).stdout.includes(title));

  // The same account again keeps its state.
  r = await login(dir, b, { url: svc.url, args: ['--tokens', '1'] });
  assert.doesNotMatch(r.stdout, /已经删除/);
  assert.equal(readTokens(dir).length, 10);

  // logout refuses while something waits, then erases everything and ends the session.
  r = await member(dir, ['submit', '--anonymous', '--unit', String(w.units.B), '--category', String(w.categories.C), '--title', `乙的${tag()}`, '--body', '正文'], { url: svc.url });
  assert.equal(r.code, 0, r.stderr);
  const sessionB = fs.readFileSync(path.join(dir, 'session'), 'utf8').trim();
  r = await member(dir, ['logout'], { url: svc.url });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /发送箱里还有 1 项匿名操作没有发出/);
  assert.equal(readOutbox(dir).length, 1, 'nothing erased without --force');
  r = await member(dir, ['logout', '--force'], { url: svc.url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /已退出/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'lock'), [], 'nothing but the lock file is left');
  const me = await ctx.api.get('/v1/me', { token: sessionB });
  assert.equal(me.status, 401, 'the session is ended at the service');
});

/** Runs the binary with input on stdin (runCli gives none). */
function runWithStdin(args, input, env = null) {
  return new Promise((resolve, reject) => {
    const e = env ?? { ...process.env };
    delete e.DATABASE_URL;
    delete e.MASTER_KEY;
    delete e.MASTER_KEY_FILE;
    const proc = spawn(BIN, args, { cwd: REPO_ROOT, env: e, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    proc.stdout.on('data', (d) => out.push(d));
    proc.stderr.on('data', (d) => err.push(d));
    proc.on('error', reject);
    proc.on('close', (code) => resolve(clean({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })));
    proc.stdin.end(input);
  });
}
