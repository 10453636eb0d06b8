// Anonymity tokens from the outside: the published keys, issuance checked
// against an independent RFC 9497 implementation (@noble/curves'
// ristretto255_oprf, VOPRF mode), the quota under concurrency, bad input,
// the master key at start-up, and what the database keeps.
//
// Redemption is not there yet, so noble's outputs are not compared with
// anything the service computes: the service's proofs verify in noble and
// noble finalizes; that the service's own Evaluate agrees with a client's
// Finalize is a unit test (tests/unit/domain/token_keys.c).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { ristretto255, ristretto255_oprf } from '@noble/curves/ed25519.js';

import { startCluster } from './lib/cluster.mjs';
import { REPO_ROOT, api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { runCli, startService } from './lib/service.mjs';

const ctx = useService();
const voprf = ristretto255_oprf.voprf;
// node:crypto rather than noble's default (globalThis.crypto), which older
// Node.js releases do not have.
const rng = (n) => new Uint8Array(crypto.randomBytes(n));
const QUOTA = 10; // the default TOKEN_QUOTA
const PASSWORD = 'correct horse battery staple';
const DAY_MS = 86400 * 1000;

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const count = async (sql) => Number(await ctx.cluster.psql(sql));

let seq = 0;
const world = { admin: null, unit: null };

async function activateAndSignIn(login, code) {
  const a = await ctx.api.post('/v1/auth/activate', { body: { login, code, password: PASSWORD } });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const l = await ctx.api.post('/v1/auth/login', { body: { login, password: PASSWORD } });
  assert.equal(l.status, 200, JSON.stringify(l.body));
  return l.body.token;
}

/** A new member of the test unit, signed in: {id, token}. */
async function newMember() {
  const login = `tok${process.pid}x${++seq}`;
  const r = await ctx.api.post('/v1/accounts', {
    token: world.admin,
    body: { login, display_name: `党员${seq}`, unit_id: world.unit, roles: ['member'] },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.account.id, token: await activateAndSignIn(login, r.body.activation_code) };
}

const keysPath = (unit = world.unit) => `/v1/tokens/keys?unit=${unit}`;
async function keys(unit) {
  const r = await ctx.api.get(keysPath(unit));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.keys;
}

/** Blinds n random inputs with noble: [{input, blind, blinded}]. */
function blindInputs(n, inputs) {
  return Array.from({ length: n }, (_, i) => {
    const input = inputs?.[i] ?? crypto.randomBytes(32);
    const { blind, blinded } = voprf.blind(input, rng);
    return { input, blind, blinded };
  });
}

/** POST /v1/tokens/issue; an object body without unit_id is for the test unit. */
const issue = (token, body) =>
  ctx.api.post('/v1/tokens/issue', { token, body: body && typeof body === 'object' && !Array.isArray(body) && !('unit_id' in body) ? { unit_id: world.unit, ...body } : body });

/** Verifies the service's batch proof with noble and finalizes; throws when the proof fails. */
function finalize(items, evaluated, publicKey, proof) {
  return voprf.finalizeBatch(
    items.map((it, i) => ({ input: it.input, blind: it.blind, blinded: it.blinded, evaluated: unb64(evaluated[i]) })),
    unb64(publicKey),
    unb64(proof),
  );
}

const issued = (member, keyId, unit = world.unit) =>
  count(`select coalesce((select issued from token_issuance where account_id = ${Number(member.id)} and key_id = '${keyId}' and unit_id = ${Number(unit)}), 0)`);

before(async () => {
  await ctx.ready;
  const cli = await runCli(ctx.cluster, ['create-admin', 'tok-admin', '管理员']);
  assert.equal(cli.code, 0, cli.stderr);
  world.admin = await activateAndSignIn('tok-admin', cli.stdout.trim());
  const u = await ctx.api.post('/v1/org-units', { token: world.admin, body: { name: '令牌支部', level: 'branch', parent_id: null } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  world.unit = u.body.id;
});

// ---- GET /v1/tokens/keys -------------------------------------------------------

test('keys_lists_the_current_and_next_epoch_of_a_calendar_month', async () => {
  const t0 = Date.now();
  const r = await ctx.api.get(keysPath());
  assert.equal(r.status, 200);
  const [cur, next] = r.body.keys;
  assert.equal(r.body.keys.length, 2);
  // The month of now (UTC), unless the test ran across a month's end.
  const month = (ms) => new Date(ms).toISOString().slice(0, 7);
  assert.ok([month(t0), month(Date.now())].includes(cur.key_id), `current key id ${cur.key_id}`);
  assert.match(next.key_id, /^\d{4}-\d{2}$/);
  assert.equal(cur.not_before, `${cur.key_id}-01T00:00:00Z`);
  assert.equal(cur.not_after, `${next.key_id}-01T00:00:00Z`);
  assert.equal(next.not_before, cur.not_after);
  for (const k of [cur, next]) {
    assert.equal(Date.parse(k.redeem_until) - Date.parse(k.not_after), 7 * DAY_MS, 'grace of 7 days');
    const pk = unb64(k.public_key);
    assert.equal(pk.length, 32);
    const point = ristretto255.Point.fromBytes(pk); // throws on a bad encoding
    assert.ok(!point.equals(ristretto255.Point.ZERO));
  }
  assert.notEqual(cur.public_key, next.public_key);
  assert.ok(Date.parse(cur.not_before) <= t0 && t0 < Date.parse(cur.not_after));
});

test('keys_are_public_cacheable_and_need_no_sign_in', async () => {
  const r = await ctx.api.get(keysPath(), { headers: { Authorization: 'Bearer nonsense' } });
  assert.equal(r.status, 200);
  const m = /^public, max-age=(\d+)$/.exec(r.headers.get('cache-control'));
  assert.ok(m, `Cache-Control ${r.headers.get('cache-control')}`);
  assert.ok(Number(m[1]) <= 300);
});

test('keys_requests_leave_no_log_line', async () => {
  const id = `keys-${process.pid}-${++seq}`;
  await ctx.api.get(keysPath(), { headers: { 'X-Request-Id': id } });
  await ctx.api.get('/healthz'); // a request that is logged, after it
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!ctx.svc.logs.some((l) => l.line.includes(id) || l.json?.route === '/v1/tokens/keys'));
});

test('keys_are_the_same_on_every_request_and_every_instance', async (t) => {
  const a = await keys();
  assert.deepEqual(await keys(), a);
  const other = await startService(ctx.cluster);
  t.after(() => other.stop());
  const r = await fetch(`${other.url}${keysPath()}`);
  assert.deepEqual((await r.json()).keys, a);
});

test('two_instances_starting_at_once_on_a_new_database_agree_on_the_keys', async (t) => {
  const fresh = await startCluster();
  t.after(() => fresh.destroy());
  const [a, b] = await Promise.all([startService(fresh), startService(fresh)]);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const unit = await fresh.psql("with u as (insert into org_units (name, level) values ('新支部', 'branch') returning id) select id from u");
  const [ka, kb] = await Promise.all(
    [a, b].map(async (s) => (await (await fetch(`${s.url}/v1/tokens/keys?unit=${unit}`)).json()).keys),
  );
  assert.deepEqual(ka, kb);
  assert.equal(await fresh.psql("select count(*) from secrets where name like 'token-key:%'"), '2');
});

// ---- POST /v1/tokens/issue: the protocol ------------------------------------------

test('issued_tokens_verify_and_finalize_in_noble', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const items = blindInputs(5);
  const r = await issue(m.token, { key_id: cur.key_id, blinded: items.map((it) => b64(it.blinded)) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.key_id, cur.key_id);
  assert.equal(r.body.evaluated.length, 5);
  assert.equal(unb64(r.body.proof).length, 64);
  const outputs = finalize(items, r.body.evaluated, cur.public_key, r.body.proof);
  assert.equal(outputs.length, 5);
  for (const o of outputs) assert.equal(o.length, 64);
  assert.equal(new Set(outputs.map(b64)).size, 5);
  // noble really checks the proof: two evaluations swapped do not verify.
  const swapped = [r.body.evaluated[1], r.body.evaluated[0], ...r.body.evaluated.slice(2)];
  assert.throws(() => finalize(items, swapped, cur.public_key, r.body.proof));
  assert.equal(await issued(m, cur.key_id), 5);
});

test('a_single_element_gets_a_proof_noble_verifies', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const [item] = blindInputs(1);
  const r = await issue(m.token, { key_id: cur.key_id, blinded: [b64(item.blinded)] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const out = voprf.finalize(item.input, item.blind, unb64(r.body.evaluated[0]), item.blinded, unb64(cur.public_key), unb64(r.body.proof));
  assert.equal(out.length, 64);
});

test('the_proof_does_not_verify_against_the_next_epochs_key', async () => {
  const m = await newMember();
  const [cur, next] = await keys();
  const items = blindInputs(2);
  const r = await issue(m.token, { key_id: cur.key_id, blinded: items.map((it) => b64(it.blinded)) });
  assert.equal(r.status, 200);
  assert.throws(() => finalize(items, r.body.evaluated, next.public_key, r.body.proof));
});

test('the_same_input_finalizes_to_the_same_output_across_requests', async () => {
  // Two blinds of one input, in two requests (of two members): the service
  // evaluates with one key, so the outputs agree.
  const input = crypto.randomBytes(32);
  const [cur] = await keys();
  const outs = [];
  for (let i = 0; i < 2; i++) {
    const m = await newMember();
    const items = blindInputs(1, [input]);
    const r = await issue(m.token, { key_id: cur.key_id, blinded: [b64(items[0].blinded)] });
    assert.equal(r.status, 200);
    outs.push({ blinded: b64(items[0].blinded), output: b64(finalize(items, r.body.evaluated, cur.public_key, r.body.proof)[0]) });
  }
  assert.notEqual(outs[0].blinded, outs[1].blinded);
  assert.equal(outs[0].output, outs[1].output);
});

test('a_full_batch_of_64_is_evaluated_when_the_quota_allows_it', async (t) => {
  // A second service with a larger quota, on the same database and key.
  const big = await startService(ctx.cluster, { TOKEN_QUOTA: '100' });
  t.after(() => big.stop());
  const m = await newMember();
  const [cur] = await keys();
  const items = blindInputs(64);
  const r = await api(big.url).post('/v1/tokens/issue', {
    token: m.token,
    body: { key_id: cur.key_id, unit_id: world.unit, blinded: items.map((it) => b64(it.blinded)) },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(finalize(items, r.body.evaluated, cur.public_key, r.body.proof).length, 64);
  assert.equal(await issued(m, cur.key_id), 64);
});

// ---- the quota -----------------------------------------------------------------------

test('quota_holds_exactly_under_20_parallel_requests', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const batches = Array.from({ length: 20 }, () => blindInputs(1));
  const rs = await Promise.all(batches.map((items) => issue(m.token, { key_id: cur.key_id, blinded: items.map((it) => b64(it.blinded)) })));
  const granted = rs.filter((r) => r.status === 200);
  const refused = rs.filter((r) => r.status === 429);
  assert.equal(granted.length, QUOTA, rs.map((r) => r.status).join(','));
  assert.equal(refused.length, 20 - QUOTA);
  for (const r of refused) {
    assert.equal(r.body.type, '/problems/token-quota-exhausted');
    assert.match(r.body.detail, /^0 of the 10 tokens of epoch \d{4}-\d{2} remain, 1 were asked for/);
  }
  // Every granted answer is good.
  rs.forEach((r, i) => {
    if (r.status === 200) finalize(batches[i], r.body.evaluated, cur.public_key, r.body.proof);
  });
  assert.equal(await issued(m, cur.key_id), QUOTA);
  const again = await issue(m.token, { key_id: cur.key_id, blinded: [b64(blindInputs(1)[0].blinded)] });
  assert.equal(again.status, 429);
});

test('parallel_batches_never_take_more_than_the_quota', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const rs = await Promise.all(
    Array.from({ length: 20 }, () => issue(m.token, { key_id: cur.key_id, blinded: blindInputs(3).map((it) => b64(it.blinded)) })),
  );
  const granted = rs.filter((r) => r.status === 200).reduce((n, r) => n + r.body.evaluated.length, 0);
  assert.equal(granted, 9, 'three batches of three fit in ten');
  assert.equal(rs.filter((r) => r.status === 429).length, 17);
  assert.equal(await issued(m, cur.key_id), granted);
});

test('a_request_for_more_than_remain_is_refused_whole_and_says_how_many_remain', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const take = (n) => issue(m.token, { key_id: cur.key_id, blinded: blindInputs(n).map((it) => b64(it.blinded)) });
  assert.equal((await take(8)).status, 200);
  const r = await take(3);
  assert.equal(r.status, 429);
  assert.match(r.body.detail, /^2 of the 10 tokens of epoch .* remain, 3 were asked for; the next epoch begins \d{4}-\d{2}-01T00:00:00Z$/);
  assert.equal(await issued(m, cur.key_id), 8, 'nothing counted for the refused request');
  assert.equal((await take(2)).status, 200);
  assert.equal(await issued(m, cur.key_id), 10);
  const over = await take(11); // more than the whole quota, for a member with none left
  assert.equal(over.status, 429);
});

test('a_batch_larger_than_the_quota_is_refused_for_a_new_member', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const r = await issue(m.token, { key_id: cur.key_id, blinded: blindInputs(QUOTA + 1).map((it) => b64(it.blinded)) });
  assert.equal(r.status, 429);
  assert.match(r.body.detail, /^10 of the 10 tokens/);
  assert.equal(await count(`select count(*) from token_issuance where account_id = ${m.id}`), 0);
});

test('quotas_are_per_member', async () => {
  const [a, b] = [await newMember(), await newMember()];
  const [cur] = await keys();
  const full = () => blindInputs(QUOTA).map((it) => b64(it.blinded));
  assert.equal((await issue(a.token, { key_id: cur.key_id, blinded: full() })).status, 200);
  assert.equal((await issue(b.token, { key_id: cur.key_id, blinded: full() })).status, 200);
});

// ---- refused requests store nothing ------------------------------------------------

const hex = (h) => b64(Buffer.from(h, 'hex'));
const INVALID_ENCODINGS = JSON.parse(
  fs.readFileSync(path.join(REPO_ROOT, 'tests/vectors/rfc9380-9496-building-blocks.json'), 'utf8'),
).ristretto255_invalid_encodings.vectors;

test('bad_requests_get_422_with_the_pointer_and_store_nothing', async () => {
  const m = await newMember();
  const [cur, next] = await keys();
  const good = () => b64(blindInputs(1)[0].blinded);
  const identity = b64(new Uint8Array(32));
  const cases = [
    [{ blinded: [good()] }, '/key_id'],
    [{ key_id: 202611, blinded: [good()] }, '/key_id'],
    [{ key_id: next.key_id, blinded: [good()] }, '/key_id'],
    [{ key_id: '2000-01', blinded: [good()] }, '/key_id'],
    [{ key_id: `${cur.key_id}-01`, blinded: [good()] }, '/key_id'],
    [{ key_id: 'x'.repeat(100), blinded: [good()] }, '/key_id'],
    [{ key_id: cur.key_id }, '/blinded'],
    [{ key_id: cur.key_id, blinded: null }, '/blinded'],
    [{ key_id: cur.key_id, blinded: good() }, '/blinded'],
    [{ key_id: cur.key_id, blinded: [] }, '/blinded'],
    [{ key_id: cur.key_id, blinded: Array.from({ length: 65 }, good) }, '/blinded'],
    [{ key_id: cur.key_id, blinded: [7] }, '/blinded/0'],
    [{ key_id: cur.key_id, blinded: [identity] }, '/blinded/0'], // the identity
    [{ key_id: cur.key_id, blinded: [`${good()}=`] }, '/blinded/0'], // padding
    [{ key_id: cur.key_id, blinded: [good().slice(0, 42)] }, '/blinded/0'], // short
    [{ key_id: cur.key_id, blinded: [`${good()}A`] }, '/blinded/0'], // long
    [{ key_id: cur.key_id, blinded: [Buffer.from(unb64(good())).toString('base64').replace(/=+$/, '').replace(/^./, '+')] }, '/blinded/0'], // not url-safe
    [{ key_id: cur.key_id, blinded: [Buffer.from(unb64(good())).toString('hex')] }, '/blinded/0'], // hex
    [{ key_id: cur.key_id, blinded: [`${good().slice(0, 42)}B`] }, '/blinded/0'], // non-zero trailing bits
    [{ key_id: cur.key_id, blinded: [` ${good().slice(1)}`] }, '/blinded/0'], // white space
    [[{ key_id: cur.key_id, blinded: [good()] }], ''], // not an object
  ];
  for (const [body, pointer] of cases) {
    const r = await issue(m.token, body);
    assert.equal(r.status, 422, `${JSON.stringify(body).slice(0, 200)}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.type, '/problems/validation-failed');
    assert.ok(r.body.errors.some((e) => e.pointer === pointer), `${JSON.stringify(body).slice(0, 200)}: wanted ${pointer}, got ${JSON.stringify(r.body.errors)}`);
  }
  // Every encoding RFC 9496 A.2 says Decode must refuse, each at its index.
  const r = await issue(m.token, { key_id: cur.key_id, blinded: INVALID_ENCODINGS.map(hex) });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.errors.map((e) => e.pointer), INVALID_ENCODINGS.map((_, i) => `/blinded/${i}`));
  assert.equal(await count(`select count(*) from token_issuance where account_id = ${m.id}`), 0);
});

test('a_mixed_batch_names_each_bad_element_and_issues_none', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const good = () => b64(blindInputs(1)[0].blinded);
  const r = await issue(m.token, { key_id: cur.key_id, blinded: [good(), b64(new Uint8Array(32)), good(), 'not base64url!'] });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.errors.map((e) => e.pointer), ['/blinded/1', '/blinded/3']);
  assert.equal(await issued(m, cur.key_id), 0);
});

test('issue_without_a_valid_session_is_401_and_stores_nothing', async () => {
  const [cur] = await keys();
  const body = { key_id: cur.key_id, blinded: [b64(blindInputs(1)[0].blinded)] };
  const before = await count('select count(*) from token_issuance');
  assert.equal((await issue(undefined, body)).status, 401);
  assert.equal((await issue('A'.repeat(43), body)).status, 401);
  const m = await newMember();
  const out = await ctx.api.post('/v1/auth/logout', { token: m.token });
  assert.equal(out.status, 204);
  assert.equal((await issue(m.token, body)).status, 401);
  assert.equal(await count('select count(*) from token_issuance'), before);
});

test('issue_refuses_bodies_that_are_not_json', async () => {
  const m = await newMember();
  const r1 = await ctx.api.post('/v1/tokens/issue', { token: m.token, raw: '{"key_id":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(r1.status, 400);
  const r2 = await ctx.api.post('/v1/tokens/issue', { token: m.token, raw: 'key_id=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(r2.status, 415);
});

// ---- what is stored ---------------------------------------------------------------------

test('issuance_stores_only_account_epoch_and_count_and_writes_no_audit_row', async () => {
  const m = await newMember();
  const [cur] = await keys();
  const audit = await count('select count(*) from audit_log');
  const r = await issue(m.token, { key_id: cur.key_id, blinded: blindInputs(2).map((it) => b64(it.blinded)) });
  assert.equal(r.status, 200);
  assert.equal(await count('select count(*) from audit_log'), audit);
  assert.equal(
    await ctx.cluster.psql("select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_name = 'token_issuance'"),
    'account_id,key_id,issued,unit_id',
  );
});

test('token_key_seeds_are_sealed_in_the_secrets_table', async () => {
  const [cur, next] = await keys();
  const rows = await ctx.cluster.psql(
    "select name || ':' || length(nonce) || ':' || length(ciphertext) from secrets where name like 'token-key:%' order by name",
  );
  assert.deepEqual(rows.split('\n'), [`token-key:${cur.key_id}:24:48`, `token-key:${next.key_id}:24:48`]);
});

function assertRefused(r, what) {
  assert.notEqual(r.code, 0, `${what} should fail, but psql exited 0:\n${r.stdout}`);
  assert.match(r.stderr, /permission denied|may only grow/i, `${what}: ${r.stderr}`);
}

test('service_role_can_neither_lower_nor_delete_counts_nor_change_secrets', async () => {
  const m = await newMember();
  const [cur] = await keys();
  assert.equal((await issue(m.token, { key_id: cur.key_id, blinded: blindInputs(2).map((it) => b64(it.blinded)) })).status, 200);
  const as = (sql) => ctx.cluster.psqlAs('yijian', sql);
  assertRefused(await as('delete from token_issuance'), 'DELETE token_issuance');
  assertRefused(await as('update token_issuance set issued = 1'), 'UPDATE token_issuance lowering issued');
  assertRefused(await as("update token_issuance set key_id = '2000-01'"), 'UPDATE token_issuance.key_id');
  assertRefused(await as('update secrets set nonce = nonce'), 'UPDATE secrets');
  assertRefused(await as('delete from secrets'), 'DELETE secrets');
  assertRefused(await as('truncate secrets'), 'TRUNCATE secrets');
  // The trigger holds for the owner too.
  assertRefused(await ctx.cluster.psqlAs('yijian_owner', `update token_issuance set issued = 1 where account_id = ${m.id}`), 'owner lowering issued');
  assert.equal(await issued(m, cur.key_id), 2);
});

// ---- the master key at start-up -------------------------------------------------------------

const serve = (env) => runCli(ctx.cluster, ['serve'], { env: { LISTEN: '127.0.0.1:0', ...env }, timeoutMs: 30000 });

test('serve_refuses_to_start_without_a_master_key', async () => {
  const r = await serve({ MASTER_KEY_FILE: '' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /MASTER_KEY/);
});

test('serve_refuses_a_key_file_readable_by_others', async () => {
  const file = path.join(ctx.cluster.dir, 'open.key');
  fs.writeFileSync(file, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  const r = await serve({ MASTER_KEY_FILE: file });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /MASTER_KEY_FILE: .*open\.key is accessible to group or others \(mode 0644\)/);
});

test('serve_refuses_a_malformed_key_without_printing_it', async () => {
  const value = `${'ab'.repeat(31)}zz`;
  const r = await serve({ MASTER_KEY_FILE: '', MASTER_KEY: value });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /MASTER_KEY: must be exactly 64 hex characters/);
  assert.ok(!r.stderr.includes(value));
  const file = path.join(ctx.cluster.dir, 'short.key');
  fs.writeFileSync(file, 'abcdef\n', { mode: 0o600 });
  const f = await serve({ MASTER_KEY_FILE: file });
  assert.equal(f.code, 2, f.stderr);
  assert.match(f.stderr, /MASTER_KEY_FILE: .* must hold 32 bytes or 64 hex characters/);
});

test('serve_refuses_a_master_key_that_does_not_open_the_stored_secrets', async () => {
  await keys(); // the current key's seed is stored
  const r = await serve({ MASTER_KEY_FILE: '', MASTER_KEY: crypto.randomBytes(32).toString('hex') });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /master key does not open the secrets in this database/);
});

test('a_raw_32_byte_key_file_works_like_its_hex_form', async (t) => {
  const hexKey = fs.readFileSync(path.join(ctx.cluster.dir, 'master.key'), 'utf8').trim();
  const file = path.join(ctx.cluster.dir, 'raw.key');
  fs.writeFileSync(file, Buffer.from(hexKey, 'hex'), { mode: 0o600 });
  const svc = await startService(ctx.cluster, { MASTER_KEY_FILE: file });
  t.after(() => svc.stop());
  const r = await fetch(`${svc.url}${keysPath()}`);
  assert.deepEqual((await r.json()).keys, await keys());
});

// ---- keys are per unit (issue 22, finding 1) -------------------------------------

test('each_unit_has_keys_of_its_own_and_the_list_needs_an_existing_unit', async () => {
  const u = await ctx.api.post('/v1/org-units', { token: world.admin, body: { name: `另一个支部${++seq}`, level: 'branch', parent_id: null } });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const [a, b] = [await keys(), await keys(u.body.id)];
  assert.deepEqual(a.map((k) => k.key_id), b.map((k) => k.key_id), 'the same epochs');
  assert.deepEqual(a.map((k) => k.unit_id), [world.unit, world.unit]);
  assert.deepEqual(b.map((k) => k.unit_id), [u.body.id, u.body.id]);
  assert.notEqual(a[0].public_key, b[0].public_key);
  assert.notEqual(a[1].public_key, b[1].public_key);
  for (const q of ['', '?unit=', '?unit=x', '?unit=0', '?unit=-1', `?unit=${'9'.repeat(30)}`]) {
    const r = await ctx.api.get(`/v1/tokens/keys${q}`);
    assert.equal(r.status, 422, q);
  }
  assert.equal((await ctx.api.get('/v1/tokens/keys?unit=999999')).status, 404);
});

test('tokens_of_a_unit_verify_only_under_that_units_key_and_count_against_that_unit', async () => {
  const p = await ctx.api.post('/v1/org-units', { token: world.admin, body: { name: `上级党委${++seq}`, level: 'committee', parent_id: null } });
  const c = await ctx.api.post('/v1/org-units', { token: world.admin, body: { name: `下级支部${seq}`, level: 'branch', parent_id: p.body.id } });
  const login = `tokunit${process.pid}x${seq}`;
  const acc = await ctx.api.post('/v1/accounts', { token: world.admin, body: { login, display_name: '下级党员', unit_id: c.body.id, roles: ['member'] } });
  const m = { id: acc.body.account.id, token: await activateAndSignIn(login, acc.body.activation_code) };
  // The member's own unit and the unit above it; each has its own quota.
  for (const [unit, other] of [[c.body.id, p.body.id], [p.body.id, c.body.id]]) {
    const [cur] = await keys(unit);
    const [otherKey] = await keys(other);
    const items = blindInputs(QUOTA);
    const r = await issue(m.token, { key_id: cur.key_id, unit_id: unit, blinded: items.map((it) => b64(it.blinded)) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.unit_id, unit);
    assert.equal(finalize(items, r.body.evaluated, cur.public_key, r.body.proof).length, QUOTA);
    // The proof does not verify under any other unit's key.
    assert.throws(() => finalize(items, r.body.evaluated, otherKey.public_key, r.body.proof));
    assert.equal(await issued(m, cur.key_id, unit), QUOTA);
  }
  // Not a unit beside or below its own: the world's unit is another root.
  const [cur] = await keys();
  const r = await issue(m.token, { key_id: cur.key_id, unit_id: world.unit, blinded: [b64(blindInputs(1)[0].blinded)] });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.errors.map((e) => e.pointer), ['/unit_id']);
});
