// The release window (issue 20): an anonymous submission is accepted at
// once and held, sealed, until the end of its window; then every act of
// the window is released together, in a random order, in one transaction,
// by one instance. A short window (ANON_RELEASE_WINDOW) keeps the test
// quick; boundaries are multiples of it since 1970-01-01T00:00:00Z.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { fetchTokens } from './lib/anon.mjs';
import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { startService } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const WINDOW = 12;
const ENV = { ANON_RELEASE_WINDOW: String(WINDOW), TOKEN_QUOTA: '100' };
const ctx = useService(ENV);
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const count = async (sql) => Number(await ctx.cluster.psql(sql));
const nextBoundary = (t = Date.now()) => (Math.floor(t / 1000 / WINDOW) + 1) * WINDOW * 1000;

/** Waits until at least ms of the current window remain. */
async function roomInWindow(ms) {
  if (nextBoundary() - Date.now() < ms) await sleep(nextBoundary() - Date.now() + 100);
}

/** Waits until the window ending at releaseAt has been released (jobs pass each second). */
async function pastRelease(releaseAt) {
  await sleep(Math.max(0, Date.parse(releaseAt) - Date.now()) + 2500);
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'window-admin' });
  await w.unit('b', '窗口支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织工作', portfolio: '组织' });
  await w.account('com', '委员', 'b', ['member', 'committee'], ['组织']);
  await w.account('mem', '张三', 'b', ['member']);
  await w.account('sec', '书记', 'b', ['member', 'secretary']);
});

const body = (title, token) => ({ unit_id: w.units.b, category_id: w.categories.cat, title, body: '希望食堂晚上开放到八点。', token });
const tables = ['suggestions', 'assignments', 'tracking_codes', 'audit_log', 'notification_outbox', 'anonymous_cosigns', 'messages'];
const snapshot = () => Promise.all(tables.map(async (t) => [t, await count(`select count(*) from ${t}`).catch(() => -1)]));

test('the_window_is_published_with_the_keys', async () => {
  const keys = await ctx.api.get(`/v1/tokens/keys?unit=${w.units.b}`);
  assert.equal(keys.body.release_window_seconds, WINDOW);
});

test('an_anonymous_submission_is_held_sealed_until_its_window_ends', async () => {
  const [t] = await fetchTokens(ctx.api, w.tokens.mem, 1);
  await roomInWindow(9000);
  const before = await snapshot();
  const listBefore = (await ctx.api.get('/v1/suggestions', { token: w.tokens.com })).body;
  const title = `窗口内${tag()}`;
  const r = await ctx.api.post('/v1/suggestions', { body: body(title, t) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.status, 'pending');
  assert.equal(r.body.id, null);
  assert.match(r.body.tracking_code, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(Date.parse(r.body.release_at), nextBoundary(Date.now() - 50), 'released at the end of the window it came in');
  const step = await ctx.api.post('/v1/tracked/withdraw', { headers: { Authorization: `Tracking ${r.body.tracking_code}` } });
  assert.equal(step.status, 409, 'a step waits for the release');

  // Nothing anyone else sees has changed; only the sealed hold exists.
  assert.deepEqual(await snapshot(), before, 'no row of the real tables yet');
  assert.deepEqual((await ctx.api.get('/v1/suggestions', { token: w.tokens.com })).body, listBefore, 'the committee\'s list is as it was');
  assert.equal(await count('select count(*) from held_acts'), 1);
  const sealed = await ctx.cluster.psql(`select encode(sealed, 'hex') || encode(lookup, 'hex') from held_acts`);
  assert.ok(!sealed.includes(Buffer.from(title).toString('hex')), 'the title is not in the clear');
  const mine = await ctx.api.get('/v1/tracked', { headers: { Authorization: `Tracking ${r.body.tracking_code}` } });
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  assert.equal(mine.body.status, 'pending', 'the holder of the code sees it 待送达');
  assert.equal(mine.body.release_at, r.body.release_at);
  assert.equal(mine.body.title, title);

  await pastRelease(r.body.release_at);
  assert.equal(await count('select count(*) from held_acts'), 0, 'the hold is gone');
  const after = await ctx.api.get('/v1/tracked', { headers: { Authorization: `Tracking ${r.body.tracking_code}` } });
  assert.equal(after.status, 200);
  assert.match(after.body.id, /^S-/);
  assert.equal(after.body.status, 'submitted');
  assert.equal(after.body.title, title);
  const row = JSON.parse(await ctx.cluster.psql(`select row_to_json(s) from suggestions s where public_id = '${after.body.id}'`));
  assert.equal(row.author_id, null);
  assert.equal(new Date(row.created_at).getUTCMinutes(), 0, 'only the hour, as before');
  assert.ok((await ctx.api.get('/v1/suggestions', { token: w.tokens.com })).body.items.some((s) => s.id === after.body.id), 'now in the committee\'s list');
});

test('a_spent_token_is_refused_at_arrival_and_a_retry_gets_the_same_answer', async () => {
  const [t] = await fetchTokens(ctx.api, w.tokens.mem, 1);
  await roomInWindow(8000);
  const title = `重试${tag()}`;
  const first = await ctx.api.post('/v1/suggestions', { body: body(title, t) });
  assert.equal(first.status, 201);
  const again = await ctx.api.post('/v1/suggestions', { body: body(title, t) });
  assert.equal(again.status, 201, 'a retry while it is held');
  assert.deepEqual(again.body, first.body);
  const cosign = await ctx.api.post('/v1/suggestions/S-000000/cosign', { body: { token: t } });
  assert.ok([403, 404, 409].includes(cosign.status), JSON.stringify(cosign.body));
  await pastRelease(first.body.release_at);
  assert.equal(await count(`select count(*) from suggestions where title = '${title}'`), 1, 'stored once');
  const late = await ctx.api.post('/v1/suggestions', { body: body(title, t) });
  assert.equal(late.status, 409);
  assert.equal(late.body.type, '/problems/token-spent');
});

test('a_window_is_released_in_one_transaction_in_a_random_order_by_one_of_two_instances', async (t) => {
  const second = await startService(ctx.cluster, ENV);
  t.after(() => second.stop());
  const apis = [ctx.api, api(second.url)];
  const n = 8;
  const tokens = await fetchTokens(ctx.api, w.tokens.mem, n);
  await roomInWindow(10000);
  const titles = [];
  let releaseAt;
  for (let i = 0; i < n; i++) {
    titles.push(`批次${tag()}-${i}`);
    const r = await apis[i % 2].post('/v1/suggestions', { body: body(titles[i], tokens[i]) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    releaseAt ??= r.body.release_at;
    assert.equal(r.body.release_at, releaseAt, 'all in one window');
  }
  await pastRelease(releaseAt);
  const rows = (await ctx.cluster.psql(`select title || '|' || id || '|' || xmin from suggestions where title like '批次${process.pid}-%' order by id`)).split('\n').filter(Boolean).map((l) => l.split('|'));
  assert.equal(rows.length, n, 'each act released once, by one instance');
  // One transaction, each act under a savepoint of its own (so that one
  // refused at release is undone alone): their xmin are the savepoints'
  // subtransaction ids, given in the order of the replay, which is random.
  const byId = rows.map((r) => titles.indexOf(r[0]));
  assert.notDeepEqual(byId, [...byId].sort((a, b) => a - b), `ids in arrival order: ${byId} (1 in ${8 * 7 * 6 * 5 * 4 * 3 * 2} by chance)`);
  const byXmin = [...rows].sort((a, b) => Number(a[2]) - Number(b[2])).map((r) => titles.indexOf(r[0]));
  assert.notDeepEqual(byXmin, [...byXmin].sort((a, b) => a - b), `xmin in arrival order: ${byXmin}`);
  const xmins = rows.map((r) => Number(r[2]));
  assert.ok(Math.max(...xmins) - Math.min(...xmins) < 64, `one release's subtransactions: ${xmins}`);
  const audit = (await ctx.cluster.psql(`select distinct xmin from audit_log where object_id in (select public_id from suggestions where title like '批次${process.pid}-%')`)).split('\n').filter(Boolean);
  assert.deepEqual(new Set(audit), new Set(rows.map((r) => r[2])), 'the audit rows belong to the release too');
});

test('held_acts_survive_kill_9_and_a_postgresql_restart_and_are_released_once', async (t) => {
  const svc = await startService(ctx.cluster, ENV);
  const a = api(svc.url);
  const [tok] = await fetchTokens(a, w.tokens.mem, 1);
  await roomInWindow(9000);
  const title = `崩溃${tag()}`;
  const r = await a.post('/v1/suggestions', { body: body(title, tok) });
  assert.equal(r.status, 201);
  // The main service must not release it meanwhile: stop it first.
  await ctx.svc.stop();
  await svc.kill();
  await ctx.cluster.stop('immediate');
  await ctx.cluster.start();
  await sleep(Math.max(0, Date.parse(r.body.release_at) - Date.now()) + 200);
  assert.equal(await count('select count(*) from held_acts'), 1, 'still held after the crash, past its window');
  ctx.svc = await startService(ctx.cluster, ENV);
  ctx.api = api(ctx.svc.url);
  await sleep(2500);
  assert.equal(await count(`select count(*) from suggestions where title = '${title}'`), 1, 'released once');
  assert.equal(await count('select count(*) from held_acts'), 0);
  t.after(() => {});
});

const tracked = (method, path, code, b) => ctx.api.request(method, `/v1/tracked${path}`, { headers: { Authorization: `Tracking ${code}` }, body: b });
/** Counts, and every row's xmin and xmax, of the tables an anonymous step writes. */
const stepTables = ['suggestions', 'messages', 'ratings', 'anonymous_cosigns', 'cosigns', 'answers', 'assignments', 'tracking_codes', 'audit_log', 'notifications', 'notification_outbox'];
const rowsOf = async () => Promise.all(stepTables.map(async (t) => [t, await ctx.cluster.psql(`select coalesce(string_agg(xmin::text || '/' || xmax::text, ',' order by xmin::text), '') || '#' || count(*) from ${t}`).catch(() => 'absent')]));

/** Anonymous suggestions, released, with their codes. */
async function releasedAnonymous(n, prefix) {
  const tokens = await fetchTokens(ctx.api, w.tokens.mem, n);
  await roomInWindow(6000);
  const held = [];
  for (let i = 0; i < n; i++) {
    const r = await ctx.api.post('/v1/suggestions', { body: body(`${prefix}${tag()}-${i}`, tokens[i]) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    held.push(r.body);
  }
  await pastRelease(held[0].release_at);
  const out = [];
  for (const h of held) {
    const v = await tracked('GET', '', h.tracking_code);
    assert.match(String(v.body.id), /^S-/, 'released');
    out.push({ id: v.body.id, code: h.tracking_code });
  }
  return out;
}

test('every_anonymous_step_is_held_until_its_window_ends_and_replayed_there', async () => {
  const [a, b] = await releasedAnonymous(2, '步骤');
  // a is answered (drafted, approved), b stays submitted.
  assert.equal((await ctx.api.post(`/v1/suggestions/${a.id}/accept`, { token: w.tokens.com })).status, 200);
  assert.equal((await ctx.api.request('PUT', `/v1/suggestions/${a.id}/answer`, { token: w.tokens.com, body: { decision: 'adopted', body: '同意' } })).status, 200);
  const ap = await ctx.api.post(`/v1/suggestions/${a.id}/answer/approve`, { token: w.tokens.sec });
  assert.equal(ap.status, 200, JSON.stringify(ap.body));
  const named = await ctx.api.post('/v1/suggestions', { token: w.tokens.mem, body: { category_id: w.categories.cat, title: `实名${tag()}`, body: '请附议。' } });
  assert.equal(named.status, 201, JSON.stringify(named.body));
  const [cosignToken] = await fetchTokens(ctx.api, w.tokens.com, 1);

  await roomInWindow(11000); // the whole window: a loaded machine is slow
  const auditXmin = await count('select coalesce(max(xmin::text::bigint), 0) from audit_log');
  const before = await rowsOf();
  const listBefore = (await ctx.api.get('/v1/suggestions', { token: w.tokens.com })).body;
  const msg = await tracked('POST', '/messages', a.code, { body: '补充一点：周末也开。' });
  assert.equal(msg.status, 201, JSON.stringify(msg.body));
  assert.equal(msg.body.messages.length, 0, 'not in the thread yet');
  assert.deepEqual(msg.body.held.map((h) => h.kind), ['message']);
  const rate = await tracked('POST', '/rating', a.code, { rating: 'unsatisfied' });
  assert.equal(rate.status, 200, JSON.stringify(rate.body));
  assert.equal(rate.body.ratings.length, 0);
  const twice = await tracked('POST', '/rating', a.code, { rating: 'satisfied' });
  assert.equal(twice.status, 409, 'a second rating is refused at arrival');
  const reopen = await tracked('POST', '/reopen', a.code);
  assert.equal(reopen.status, 200, JSON.stringify(reopen.body));
  assert.equal(reopen.body.status, 'answered', 'the status changes only at the release');
  const withdraw = await tracked('POST', '/withdraw', b.code);
  assert.equal(withdraw.status, 200, JSON.stringify(withdraw.body));
  assert.equal(withdraw.body.status, 'submitted');
  const co = await ctx.api.post(`/v1/suggestions/${named.body.id}/cosign`, { body: { token: cosignToken } });
  assert.equal(co.status, 200, JSON.stringify(co.body));
  assert.equal(co.body.cosign_count, 0);
  assert.equal(co.body.held[0].kind, 'cosign');
  const spent = await ctx.api.post(`/v1/suggestions/${named.body.id}/cosign`, { body: { token: cosignToken } });
  assert.equal(spent.status, 409);
  assert.equal(spent.body.type, '/problems/token-spent', 'a double spend is refused at arrival');

  const mine = await tracked('GET', '', a.code);
  assert.deepEqual(mine.body.held.map((h) => [h.kind, h.release_at]), [['message', msg.body.held[0].release_at], ['rate', msg.body.held[0].release_at], ['reopen', msg.body.held[0].release_at]], '待送达 with the release time');
  assert.equal(mine.body.held[0].body, '补充一点：周末也开。');
  assert.deepEqual(await rowsOf(), before, 'no row, xmin or xmax of the real tables moved');
  assert.deepEqual((await ctx.api.get('/v1/suggestions', { token: w.tokens.com })).body, listBefore, 'the committee\'s list is as it was');
  assert.equal(await count('select count(*) from held_acts'), 5);

  await pastRelease(msg.body.held[0].release_at);
  assert.equal(await count('select count(*) from held_acts'), 0);
  const after = await tracked('GET', '', a.code);
  assert.deepEqual(after.body.held, []);
  assert.deepEqual(after.body.messages.map((m) => m.body), ['补充一点：周末也开。']);
  assert.deepEqual(after.body.ratings.map((r) => r.rating), ['unsatisfied']);
  assert.equal(after.body.status, 'accepted', 'the rating came before the reopen it allows');
  assert.equal(after.body.reopened, true);
  assert.equal((await tracked('GET', '', b.code)).body.status, 'withdrawn');
  assert.equal((await ctx.api.get(`/v1/suggestions/${named.body.id}`, { token: w.tokens.mem })).body.cosign_count, 1);
  const xmins = (await ctx.cluster.psql(`select distinct xmin from audit_log where object_id in ('${a.id}', '${b.id}', '${named.body.id}') and actor_kind = 'anonymous' and xmin::text::bigint > ${auditXmin}`)).split('\n').filter(Boolean).map(Number);
  assert.equal(xmins.length, 5, `one savepoint of the release per act: ${xmins}`);
  assert.ok(Math.max(...xmins) - Math.min(...xmins) < 64, 'all in the release');
});

test('a_held_step_that_the_state_at_its_release_refuses_is_dropped', async () => {
  const [c] = await releasedAnonymous(1, '撤回');
  await roomInWindow(6000);
  const withdraw = await tracked('POST', '/withdraw', c.code);
  assert.equal(withdraw.status, 200, JSON.stringify(withdraw.body));
  assert.equal((await tracked('POST', '/withdraw', c.code)).status, 409, 'one withdrawal a window');
  // The committee accepts it before the window ends.
  assert.equal((await ctx.api.post(`/v1/suggestions/${c.id}/accept`, { token: w.tokens.com })).status, 200);
  await pastRelease(withdraw.body.held[0].release_at);
  const after = await tracked('GET', '', c.code);
  assert.equal(after.body.status, 'accepted', 'the withdrawal was refused at its release');
  assert.deepEqual(after.body.held, [], 'and is no longer pending');
  assert.equal(await count('select count(*) from held_acts'), 0);
  const late = await tracked('POST', '/withdraw', c.code);
  assert.equal(late.status, 409, 'refused at arrival now');
});

test('a_held_co_sign_of_a_suggestion_merged_before_its_release_goes_where_the_suggestion_went', async () => {
  const make = async (title) => {
    const r = await ctx.api.post('/v1/suggestions', { token: w.tokens.mem, body: { category_id: w.categories.cat, title: `${title}${tag()}`, body: '重复的意见。' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  };
  const from = await make('重复');
  const into = await make('保留');
  const [tok] = await fetchTokens(ctx.api, w.tokens.com, 1);
  await roomInWindow(6000);
  const co = await ctx.api.post(`/v1/suggestions/${from}/cosign`, { body: { token: tok } });
  assert.equal(co.status, 200, JSON.stringify(co.body));
  // The secretary merges it before the window ends.
  const m = await ctx.api.post(`/v1/suggestions/${from}/merge`, { token: w.tokens.sec, body: { into } });
  assert.equal(m.status, 200, JSON.stringify(m.body));
  const cosigns = async (id) => Number((await ctx.api.get(`/v1/suggestions/${id}`, { token: w.tokens.sec })).body.cosign_count);
  const before = await cosigns(into);
  await pastRelease(co.body.held[0].release_at);
  assert.equal(await count('select count(*) from held_acts'), 0);
  assert.equal(await cosigns(into), before + 1, 'the anonymous support reached the suggestion it was merged into');
  assert.equal(await count(`select count(*) from anonymous_cosigns a join suggestions s on s.id = a.suggestion_id where s.public_id = '${from}'`), 0);
});

test('held_steps_of_every_kind_survive_kill_9_and_a_postgresql_restart_and_two_instances_release_them_once', async (t) => {
  const [a, b] = await releasedAnonymous(2, '崩溃步骤');
  assert.equal((await ctx.api.post(`/v1/suggestions/${a.id}/accept`, { token: w.tokens.com })).status, 200);
  assert.equal((await ctx.api.request('PUT', `/v1/suggestions/${a.id}/answer`, { token: w.tokens.com, body: { decision: 'adopted', body: '同意' } })).status, 200);
  assert.equal((await ctx.api.post(`/v1/suggestions/${a.id}/answer/approve`, { token: w.tokens.sec })).status, 200);
  const [subTok, coTok] = await fetchTokens(ctx.api, w.tokens.mem, 2);

  const svc = await startService(ctx.cluster, ENV);
  const other = api(svc.url);
  const on = (method, p, code, b2) => other.request(method, `/v1/tracked${p}`, { headers: { Authorization: `Tracking ${code}` }, body: b2 });
  await roomInWindow(9000);
  const title = `崩溃提交${tag()}`;
  const sub = await other.post('/v1/suggestions', { body: body(title, subTok) });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
  for (const [what, r] of [
    ['message', await on('POST', '/messages', a.code, { body: '崩溃前的留言' })],
    ['rate', await on('POST', '/rating', a.code, { rating: 'unsatisfied' })],
    ['reopen', await on('POST', '/reopen', a.code)],
    ['withdraw', await on('POST', '/withdraw', b.code)],
    ['cosign', await other.post(`/v1/suggestions/${b.id}/cosign`, { body: { token: coTok } })],
  ]) assert.ok(r.status === 200 || r.status === 201, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(await count('select count(*) from held_acts'), 6);
  // Nobody may release them before the crash: the main service stops first.
  await ctx.svc.stop();
  await svc.kill();
  await ctx.cluster.stop('immediate');
  await ctx.cluster.start();
  await sleep(Math.max(0, Date.parse(sub.body.release_at) - Date.now()) + 200);
  assert.equal(await count('select count(*) from held_acts'), 6, 'still held after the crash, past their window');
  // Two instances on one database: each act is released once.
  ctx.svc = await startService(ctx.cluster, ENV);
  ctx.api = api(ctx.svc.url);
  const second = await startService(ctx.cluster, ENV);
  t.after(() => second.stop());
  await sleep(3000);
  assert.equal(await count('select count(*) from held_acts'), 0);
  assert.equal(await count(`select count(*) from suggestions where title = '${title}'`), 1, 'the submission once');
  const va = (await tracked('GET', '', a.code)).body;
  assert.deepEqual(va.messages.map((m) => m.body), ['崩溃前的留言'], 'the message once');
  assert.deepEqual(va.ratings.map((r) => r.rating), ['unsatisfied'], 'the rating once');
  assert.equal(va.status, 'accepted', 'reopened');
  assert.equal(va.reopened, true);
  const vb = (await tracked('GET', '', b.code)).body;
  assert.equal(vb.status, 'withdrawn', 'withdrawn');
  // The co-sign was taken before the withdrawal or after it, in the
  // release's random order: counted once at most, never twice.
  assert.ok(await count(`select count(*) from anonymous_cosigns where suggestion_id = (select id from suggestions where public_id = '${b.id}')`) <= 1);
  const audits = await count(`select count(*) from audit_log where object_id in ('${a.id}', '${b.id}') and action in ('suggestion.message', 'suggestion.rate')`);
  assert.equal(audits, 2, 'one audit row for each, from one release');
});
