// Anonymous suggestions from the outside: tokens issued to a member and
// finalized by an independent client (@noble/curves' RFC 9497 VOPRF) are
// spent on suggestions and co-signs without any sign-in; tracking codes
// follow them; and nothing in the database ties the member to what they
// sent anonymously.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { useService } from './lib/fixture.mjs';
import { api } from './lib/contract.mjs';
import { runCli, startService } from './lib/service.mjs';

const ctx = useService();
const voprf = ristretto255_oprf.voprf;
const rng = (n) => new Uint8Array(crypto.randomBytes(n));
const PASSWORD = 'correct horse battery staple';
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const count = async (sql) => Number(await ctx.cluster.psql(sql));
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const world = {};

async function signIn(login, code) {
  const a = await ctx.api.post('/v1/auth/activate', { body: { login, code, password: PASSWORD } });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const l = await ctx.api.post('/v1/auth/login', { body: { login, password: PASSWORD } });
  assert.equal(l.status, 200, JSON.stringify(l.body));
  return l.body.token;
}

async function account(login, name, roles, unit = world.unit) {
  const r = await ctx.api.post('/v1/accounts', { token: world.admin, body: { login, display_name: name, unit_id: unit, roles } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.account.id, login, token: await signIn(login, r.body.activation_code) };
}

/** Tokens of a unit for a signed-in member, the way a client gets them at sign-in. */
async function fetchTokens(member, n, unit = world.unit) {
  const keys = await ctx.api.get(`/v1/tokens/keys?unit=${unit}`);
  const key = keys.body.keys[0];
  const items = Array.from({ length: n }, () => {
    const input = crypto.randomBytes(32);
    const { blind, blinded } = voprf.blind(input, rng);
    return { input, blind, blinded };
  });
  const r = await ctx.api.post('/v1/tokens/issue', { token: member.token, body: { key_id: key.key_id, unit_id: unit, blinded: items.map((i) => b64(i.blinded)) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const outputs = voprf.finalizeBatch(
    items.map((it, i) => ({ input: it.input, blind: it.blind, blinded: it.blinded, evaluated: unb64(r.body.evaluated[i]) })),
    unb64(key.public_key),
    unb64(r.body.proof),
  );
  return items.map((it, i) => ({ key_id: key.key_id, input: b64(it.input), output: b64(outputs[i]) }));
}

const anonSubmit = (token, extra = {}, headers = {}) =>
  ctx.api.post('/v1/suggestions', {
    headers,
    body: { unit_id: world.unit, category_id: world.category, title: `匿名意见${tag()}`, body: '希望食堂晚上开放到八点。', token, ...extra },
  });
const tracked = (method, path, code, body) => ctx.api.request(method, `/v1/tracked${path}`, { headers: { Authorization: `Tracking ${code}` }, body });

before(async () => {
  await ctx.ready;
  const cli = await runCli(ctx.cluster, ['create-admin', 'anon-admin', '管理员']);
  assert.equal(cli.code, 0, cli.stderr);
  world.admin = await signIn('anon-admin', cli.stdout.trim());
  const u = await ctx.api.post('/v1/org-units', { token: world.admin, body: { name: '匿名支部', level: 'branch' } });
  world.unit = u.body.id;
  await ctx.api.post(`/v1/org-units/${world.unit}/portfolios`, { token: world.admin, body: { name: '组织' } });
  const c = await ctx.api.post(`/v1/org-units/${world.unit}/categories`, { token: world.admin, body: { name: '组织工作', portfolio: '组织' } });
  world.category = c.body.id;
  world.committee = await account('anon-com', '委员', ['member', 'committee']);
  await ctx.api.request('PUT', `/v1/org-units/${world.unit}/members/${world.committee.id}`, { token: world.admin, body: { roles: ['member', 'committee'], portfolios: ['组织'] } });
  world.secretary = await account('anon-sec', '书记', ['member', 'secretary']);
  world.member = await account('anon-mem', '张三', ['member']);
  world.other = await account('anon-oth', '李四', ['member']);
  // A second branch beside the first, with a member of its own.
  const b = await ctx.api.post('/v1/org-units', { token: world.admin, body: { name: '另一支部', level: 'branch' } });
  world.unitB = b.body.id;
  await ctx.api.post(`/v1/org-units/${world.unitB}/portfolios`, { token: world.admin, body: { name: '组织' } });
  const cb = await ctx.api.post(`/v1/org-units/${world.unitB}/categories`, { token: world.admin, body: { name: '组织工作', portfolio: '组织' } });
  world.categoryB = cb.body.id;
  world.memberB = await account('anon-memb', '王五', ['member'], world.unitB);
});

test('a_token_from_an_independent_client_pays_for_an_anonymous_suggestion', async () => {
  const [t] = await fetchTokens(world.member, 1);
  const r = await anonSubmit(t);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.anonymous, true);
  assert.equal(r.body.author_name, null);
  assert.match(r.body.tracking_code, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  const row = JSON.parse(await ctx.cluster.psql(`select row_to_json(s) from suggestions s where public_id = '${r.body.id}'`));
  assert.equal(row.author_id, null);
  assert.equal(row.anonymous, true);
  assert.equal(new Date(row.created_at).getUTCMinutes(), 0, 'only the hour is kept');
  assert.equal(new Date(row.created_at).getUTCSeconds(), 0);
  const audit = JSON.parse(await ctx.cluster.psql(`select row_to_json(a) from audit_log a where object_id = '${r.body.id}' and action = 'suggestion.submit'`));
  assert.equal(audit.actor_kind, 'anonymous');
  assert.equal(audit.actor_id, null);
  assert.equal(audit.request_id, null);
  assert.equal(new Date(audit.at).getUTCMinutes(), 0);
});

test('the_tracking_code_follows_the_suggestion_and_is_the_author', async () => {
  const [t] = await fetchTokens(world.member, 1);
  const s = (await anonSubmit(t)).body;
  const code = s.tracking_code;
  const seen = await tracked('GET', '', code);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.id, s.id);
  // Lower case and dashes are forgiven.
  const loose = `${code.slice(0, 13).toLowerCase()}-${code.slice(13)}`;
  assert.equal((await tracked('GET', '', loose)).status, 200);

  const accept = await ctx.api.post(`/v1/suggestions/${s.id}/accept`, { token: world.committee.token });
  assert.equal(accept.status, 200, JSON.stringify(accept.body));
  await ctx.api.post(`/v1/suggestions/${s.id}/messages`, { token: world.committee.token, body: { body: '请说明具体时间', visibility: 'submitter' } });
  await ctx.api.post(`/v1/suggestions/${s.id}/messages`, { token: world.committee.token, body: { body: '内部讨论', visibility: 'internal' } });
  const reply = await tracked('POST', '/messages', code, { body: '晚上八点。' });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  const thread = (await tracked('GET', '', code)).body.messages;
  assert.deepEqual(thread.map((m) => m.body), ['请说明具体时间', '晚上八点。'], 'the holder sees submitter messages only');
  const msg = JSON.parse(await ctx.cluster.psql(`select row_to_json(m) from messages m where body = '晚上八点。'`));
  assert.equal(msg.author_id, null);
  assert.equal(new Date(msg.created_at).getUTCMinutes(), 0);

  await ctx.api.request('PUT', `/v1/suggestions/${s.id}/answer`, { token: world.committee.token, body: { decision: 'adopted', body: '同意' } });
  await ctx.api.post(`/v1/suggestions/${s.id}/answer/approve`, { token: world.secretary.token });
  const rated = await tracked('POST', '/rating', code, { rating: 'unsatisfied' });
  assert.equal(rated.status, 200, JSON.stringify(rated.body));
  const reopened = await tracked('POST', '/reopen', code);
  assert.equal(reopened.status, 200, JSON.stringify(reopened.body));
  assert.equal(reopened.body.status, 'accepted');
  assert.equal(reopened.body.reopened, true);
  const actors = await ctx.cluster.psql(`select distinct actor_kind || ':' || coalesce(actor_id::text, '-') || ':' || coalesce(request_id, '-') from audit_log where object_id = '${s.id}' and actor_kind = 'anonymous'`);
  assert.equal(actors.trim(), 'anonymous:-:-', 'anonymous actions carry nothing but "anonymous"');
});

test('a_wrong_or_missing_tracking_code_is_401', async () => {
  for (const h of [undefined, 'Tracking 0000000000000000000000000', 'Tracking short', 'Bearer x']) {
    const r = await ctx.api.get('/v1/tracked', { headers: h ? { Authorization: h } : {} });
    assert.equal(r.status, 401, String(h));
    assert.equal(r.body.type, '/problems/invalid-tracking-code');
  }
});

test('fifty_concurrent_submissions_with_one_token_store_one', async () => {
  const [t] = await fetchTokens(world.member, 1);
  const before = await count('select count(*) from suggestions');
  const results = await Promise.all(Array.from({ length: 50 }, () => anonSubmit(t)));
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses ${statuses}`);
  assert.equal(statuses.filter((s) => s === 409).length, 49);
  for (const r of results.filter((x) => x.status === 409)) assert.equal(r.body.type, '/problems/token-spent');
  assert.equal(await count('select count(*) from suggestions'), before + 1);
});

test('an_idempotent_retry_with_a_spent_token_returns_the_first_answer', async () => {
  const [t] = await fetchTokens(world.member, 1);
  const key = `anon-${tag()}`;
  const extra = { title: `重试${tag()}` };
  const first = await anonSubmit(t, extra, { 'Idempotency-Key': key });
  assert.equal(first.status, 201);
  const again = await anonSubmit(t, extra, { 'Idempotency-Key': key });
  assert.equal(again.status, 201);
  assert.equal(again.body.id, first.body.id);
  assert.equal(again.body.tracking_code, first.body.tracking_code);
});

test('bad_tokens_each_get_a_clear_problem_and_store_nothing', async () => {
  const [good] = await fetchTokens(world.member, 1);
  const tables = ['suggestions', 'spent_tokens', 'tracking_codes', 'audit_log'];
  const snapshot = () => Promise.all(tables.map((t) => count(`select count(*) from ${t}`)));
  const before = await snapshot();
  const flip = (s) => { const b = Buffer.from(s, 'base64url'); b[0] ^= 1; return b.toString('base64url'); };
  const cases = [
    [{ ...good, key_id: '1999-01' }, 422, '/token/key_id'],
    [{ ...good, key_id: 'nonsense' }, 422, '/token/key_id'],
    [{ ...good, key_id: '2999-01' }, 422, '/token/key_id'],
    [{ ...good, input: 'not base64!' }, 422, '/token/input'],
    [{ ...good, input: b64(Buffer.alloc(8)) }, 422, '/token/input'],
    [{ ...good, output: good.output.slice(1) }, 422, '/token/output'],
    [{ ...good, output: `${good.output}=` }, 422, '/token/output'],
    [{ ...good, output: flip(good.output) }, 403, null],
    [{ ...good, input: flip(good.input) }, 403, null],
    ['a string', 422, '/token'],
  ];
  for (const [token, status, pointer] of cases) {
    const r = await anonSubmit(token);
    assert.equal(r.status, status, `${JSON.stringify(token)}: ${JSON.stringify(r.body)}`);
    if (pointer) assert.equal(r.body.errors[0].pointer, pointer);
    else assert.equal(r.body.type, '/problems/invalid-token');
  }
  const named = await anonSubmit(good, { publish_name: true });
  assert.equal(named.status, 422, 'an anonymous suggestion publishes no name');
  assert.deepEqual(await snapshot(), before);
  assert.equal((await anonSubmit(good)).status, 201, 'the good token still works after all that');
});

test('an_anonymous_cosign_spends_a_token_and_counts', async () => {
  const s = (await ctx.api.post('/v1/suggestions', { token: world.other.token, body: { unit_id: world.unit, category_id: world.category, title: `可附议${tag()}`, body: '内容' } })).body;
  const [t, u] = await fetchTokens(world.member, 2);
  const co = await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { body: { token: t } });
  assert.equal(co.status, 200, JSON.stringify(co.body));
  assert.equal(co.body.cosign_count, 1);
  assert.deepEqual(co.body.messages, [], 'an anonymous co-signer reads no thread');
  const again = await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { body: { token: t } });
  assert.equal(again.status, 409);
  assert.equal(again.body.type, '/problems/token-spent');
  assert.equal((await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { body: { token: u } })).body.cosign_count, 2);
  assert.equal((await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { token: world.member.token })).body.cosign_count, 3, 'a named co-sign still works without a body');
});

test('anonymous_requests_leave_no_log_line', async () => {
  const [t] = await fetchTokens(world.member, 1);
  const id = `anon-log-${tag()}`;
  const r = await anonSubmit(t, {}, { 'X-Request-Id': id });
  assert.equal(r.status, 201);
  await tracked('GET', '', r.body.tracking_code);
  await ctx.api.get('/healthz');
  await new Promise((res) => setTimeout(res, 100));
  const lines = ctx.svc.logs.map((l) => l.line);
  assert.ok(!lines.some((l) => l.includes(id)), 'no line with its request id');
  assert.ok(!lines.some((l) => l.includes('/v1/tracked')), 'no line for tracked requests');
  assert.ok(!lines.some((l) => l.includes(r.body.tracking_code)), 'never the code');
});

test('an_anonymous_request_still_in_its_handler_at_shutdown_is_counted_not_named', async (t) => {
  // As faults.test.mjs's a_handler_still_running_after_the_shutdown_grace_is_named_in_the_log,
  // but anonymous: the report may say that one is open, never its route,
  // request id or age (a timing detail of an anonymous act).
  const [token] = await fetchTokens(world.member, 1);
  const svc = await startService(ctx.cluster, { SHUTDOWN_GRACE: '1' });
  t.after(() => svc.kill());
  const holder = await ctx.cluster.lockTable('suggestions', 4);
  const id = `anon-stuck-${tag()}`;
  const pending = api(svc.url).post('/v1/suggestions', {
    headers: { 'X-Request-Id': id },
    body: { unit_id: world.unit, category_id: world.category, title: `匿名意见${tag()}`, body: '希望食堂晚上开放到八点。', token },
  }).catch((e) => e);
  assert.ok(await ctx.cluster.serviceWaitsForLock(), 'the submission waits for the lock');
  const code = await svc.stop();
  await holder.ended;
  await pending;
  const lines = svc.logs.map((l) => l.line);
  assert.ok(lines.some((l) => l.includes('1 anonymous requests still in their handlers')), `counted:\n${lines.join('\n')}`);
  assert.ok(!lines.some((l) => l.includes('request still in its handler')), 'not named');
  assert.ok(!lines.some((l) => l.includes(id)), 'no line with its request id');
  assert.equal(code, 0);
});

test('anonymous_requests_leave_no_trace_in_the_public_metrics', async () => {
  // GET /metrics is public: a counter that moved with each anonymous
  // request would date it to the second, the stored row only to the hour.
  const [t] = await fetchTokens(world.member, 1);
  const series = async () =>
    (await ctx.api.get('/metrics')).text.split('\n').filter((l) => /route="\/v1\/(suggestions|tracked)/.test(l));
  // a named suggestion first, so that the series exist and are seen to move
  const named = await ctx.api.post('/v1/suggestions', { token: world.member.token, body: { unit_id: world.unit, category_id: world.category, title: `署名${tag()}`, body: '内容' } });
  assert.equal(named.status, 201, JSON.stringify(named.body));
  const before = await series();
  assert.ok(before.some((l) => l.includes('method="POST",status="201"')), before.join('\n'));
  const r = await anonSubmit(t);
  assert.equal(r.status, 201);
  assert.equal((await tracked('GET', '', r.body.tracking_code)).status, 200);
  assert.deepEqual(await series(), before, 'no series of the anonymous routes moved');
});

test('nothing_in_the_database_ties_the_member_to_their_anonymous_suggestion', async () => {
  const member = await account(`anon-probe-${process.pid}`, '王五', ['member']);
  const [t] = await fetchTokens(member, 1);
  const title = `无人知晓${tag()}`;
  const s = (await anonSubmit(t, { title })).body;
  const sid = await ctx.cluster.psql(`select id from suggestions where public_id = '${s.id}'`);
  const acct = await ctx.cluster.psql(`select row_to_json(a) from accounts a where id = ${member.id}`);
  const { login, display_name: name } = JSON.parse(acct);
  const sessions = (await ctx.cluster.psql(`select encode(token_hash, 'hex') from sessions where account_id = ${member.id}`)).split('\n').filter(Boolean);
  const exact = JSON.parse(await ctx.cluster.psql(`select row_to_json(x) from (select created_at from suggestions where id = ${sid}) x`)).created_at;

  // Every row of every table that mentions the suggestion (by id or public
  // id) must not also mention the member (id, login, name, session) — and
  // no row about the member may carry the suggestion's time.
  const tables = (await ctx.cluster.psql(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)).split('\n').filter(Boolean);
  const needles = [login, name, ...sessions];
  for (const table of tables) {
    const rows = (await ctx.cluster.psql(`select row_to_json(t)::text from ${table} t`)).split('\n').filter(Boolean);
    for (const text of rows) {
      const row = JSON.parse(text);
      const aboutSuggestion = text.includes(s.id) || Object.entries(row).some(([k, v]) => /suggestion_id$|^id$/.test(k) && table !== 'accounts' && String(v) === sid && ['suggestions', 'assignments', 'messages', 'tracking_codes', 'anonymous_cosigns', 'cosigns', 'answers', 'ratings'].includes(table));
      if (!aboutSuggestion) continue;
      for (const n of needles) assert.ok(!text.includes(n), `${table} row about ${s.id} mentions the member: ${text}`);
      for (const [k, v] of Object.entries(row)) {
        if (/(^|_)(author|account|actor|assigned_by)(_id)?$/.test(k) && k !== 'assignee_id') {
          assert.notEqual(v, member.id, `${table}.${k} names the member: ${text}`);
        }
      }
    }
    // Rows about the member: no time equal to the suggestion's.
    if (['accounts', 'sessions', 'token_issuance', 'memberships', 'membership_history', 'login_throttle'].includes(table)) {
      const mine = rows.map((r) => JSON.parse(r)).filter((r) => r.account_id === member.id || r.id === member.id);
      for (const r of mine) for (const v of Object.values(r)) assert.notEqual(v, exact, `${table} carries the submission time`);
    }
  }
  const issued = await ctx.cluster.psql(`select row_to_json(t) from token_issuance t where account_id = ${member.id}`);
  assert.deepEqual(Object.keys(JSON.parse(issued)).sort(), ['account_id', 'issued', 'key_id', 'unit_id'], 'issuance keeps a count per unit, no time');
});

// ---- tokens are bound to a unit (issue 22, finding 1) ---------------------------------

test('a_token_of_one_branch_neither_cosigns_nor_reads_another_branchs_suggestion', async () => {
  const s = (await ctx.api.post('/v1/suggestions', { token: world.memberB.token, body: { unit_id: world.unitB, category_id: world.categoryB, title: `二支部的事${tag()}`, body: '只给二支部看的内容' } })).body;
  assert.ok(s.id, JSON.stringify(s));
  const spent = await count('select count(*) from spent_tokens');
  const [t] = await fetchTokens(world.other, 1);
  const co = await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { body: { token: t } });
  assert.equal(co.status, 403, JSON.stringify(co.body));
  assert.equal(co.body.type, '/problems/invalid-token');
  assert.ok(!JSON.stringify(co.body).includes('只给二支部看的内容'), 'nothing of the suggestion is shown');
  assert.equal(await count(`select cosign_count from suggestions where public_id = '${s.id}'`), 0);
  assert.equal(await count('select count(*) from spent_tokens'), spent, 'the token is not spent');
  // An id that names nothing is answered the same way: no existence oracle.
  const missing = await ctx.api.post('/v1/suggestions/S-ZZZZZZ/cosign', { body: { token: t } });
  assert.equal(missing.status, co.status);
  assert.deepEqual({ ...missing.body, request_id: null }, { ...co.body, request_id: null });
  // The same token still works in its own branch; one of branch B in B.
  const own = (await ctx.api.post('/v1/suggestions', { token: world.other.token, body: { unit_id: world.unit, category_id: world.category, title: `本支部${tag()}`, body: '内容' } })).body;
  assert.equal((await ctx.api.post(`/v1/suggestions/${own.id}/cosign`, { body: { token: t } })).status, 200);
  const [tb] = await fetchTokens(world.memberB, 1, world.unitB);
  assert.equal((await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { body: { token: tb } })).body.cosign_count, 1);
});

test('a_token_of_one_branch_cannot_pay_for_a_suggestion_to_another', async () => {
  const [t] = await fetchTokens(world.other, 1);
  const before = await count('select count(*) from suggestions');
  const r = await anonSubmit(t, { unit_id: world.unitB, category_id: world.categoryB });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.type, '/problems/invalid-token');
  assert.equal(await count('select count(*) from suggestions'), before);
  assert.equal((await anonSubmit(t)).status, 201, 'the token is good in its own branch');
});

test('tokens_are_issued_only_for_units_the_member_may_address', async () => {
  const keys = await ctx.api.get(`/v1/tokens/keys?unit=${world.unitB}`);
  const key = keys.body.keys[0];
  const { blinded } = voprf.blind(crypto.randomBytes(32), rng);
  const r = await ctx.api.post('/v1/tokens/issue', { token: world.member.token, body: { key_id: key.key_id, unit_id: world.unitB, blinded: [b64(blinded)] } });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.deepEqual(r.body.errors.map((e) => e.pointer), ['/unit_id']);
  assert.equal(await count(`select count(*) from token_issuance where account_id = ${world.member.id} and unit_id = ${world.unitB}`), 0);
});

test('a_named_cosign_answers_an_unseen_suggestion_like_a_missing_one', async () => {
  const s = (await ctx.api.post('/v1/suggestions', { token: world.memberB.token, body: { unit_id: world.unitB, category_id: world.categoryB, title: `不可见${tag()}`, body: '内容' } })).body;
  const other = await ctx.api.post(`/v1/suggestions/${s.id}/cosign`, { token: world.member.token });
  const missing = await ctx.api.post('/v1/suggestions/S-ZZZZZZ/cosign', { token: world.member.token });
  assert.equal(missing.status, 404);
  assert.equal(other.status, 404, JSON.stringify(other.body));
  assert.equal(other.body.type, missing.body.type);
  assert.equal(other.body.detail, missing.body.detail);
});
