// The insider test (issue 20): a scripted period in which five members act
// named and anonymously, of every kind (submission, co-sign, message,
// rating, reopening, withdrawal), interleaved, watched the way an insider
// would watch it: /metrics polled as fast as it answers, the suggestion
// list and /v1/stats polled by a committee member and a secretary, their
// notifications, every table with its rows' ids, xmin and xmax, the audit
// rows and checkpoints, the service's log and PostgreSQL's. For each
// anonymous act nothing of that may change from just before its arrival to
// just after its answer, apart from the sealed hold (held_acts: that
// something arrived, and when); and nothing of it may appear before its
// window's release. At the release all of them appear together, in an
// order that ids and xmin do not tie to the order they came in.
//
// The test's own polling is told apart by request id (X-Request-Id "poll-…")
// in the service's log and by route in /metrics, never by counting lines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { fetchTokens } from './lib/anon.mjs';
import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { insiderRecorder } from './lib/insider.mjs';
import { startService } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const WINDOW = 120;
const ctx = useService({ ANON_RELEASE_WINDOW: String(WINDOW), TOKEN_QUOTA: '100', SEAL_INTERVAL: '1' });
let w;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextBoundary = (t = Date.now()) => (Math.floor(t / 1000 / WINDOW) + 1) * WINDOW * 1000;
const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5'];
const pid = process.pid;
// What the pollers read (GET): their lines in /metrics are theirs.
const POLLED = /route="\/(metrics|v1\/suggestions|v1\/stats|v1\/notifications)",method="GET"/;
// Every table with ids and xmin, /metrics and the log, less the pollers'.
const { pollId, tablesNow, metricsNow, metricLines, histogramMatchesCounters, logSince } = insiderRecorder(ctx, POLLED);

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'insider-admin' });
  await w.unit('b', '内部支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织工作', portfolio: '组织' });
  await w.account('com', '委员', 'b', ['member', 'committee'], ['组织']);
  await w.account('sec', '书记', 'b', ['member', 'secretary']);
  for (const [i, m] of MEMBERS.entries()) await w.account(m, `成员${i + 1}`, 'b', ['member']);
});

const tracked = (method, p, code, body) => ctx.api.request(method, `/v1/tracked${p}`, { headers: { Authorization: `Tracking ${code}` }, body });
const submission = (title, extra) => ({ unit_id: w.units.b, category_id: w.categories.cat, title, body: '内容', ...extra });

/** What the committee member and the secretary see: lists, stats, notices. */
async function viewsNow() {
  const out = [];
  for (const who of ['com', 'sec']) {
    for (const p of ['/v1/suggestions?limit=100', `/v1/stats?unit=${w.units.b}`, '/v1/notifications']) {
      const r = await ctx.api.get(p, { token: w.tokens[who], headers: { 'X-Request-Id': pollId() } });
      assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
      out.push(r.body);
    }
  }
  return out;
}

test('an_insider_sees_nothing_of_an_anonymous_act_before_its_release', async () => {
  assert.equal(await ctx.cluster.psql("select string_agg(column_name, ',') from information_schema.columns where table_name = 'spent_tokens'"), 'token_hash', 'a spent token keeps its hash only');
  const pgLog = path.join(ctx.cluster.dir, 'log', 'postgres.log');
  const pgSize = () => (fs.existsSync(pgLog) ? fs.statSync(pgLog).size : 0);
  const tokens = {};
  for (const m of MEMBERS) tokens[m] = await fetchTokens(ctx.api, w.tokens[m], 3);

  // Before the period: each member has an anonymous suggestion and a named
  // one; m1's and m2's anonymous ones are answered. (Made through an
  // instance without a release window, so as not to wait for one.)
  const setup = await startService(ctx.cluster, { ANON_RELEASE_WINDOW: '0', TOKEN_QUOTA: '100' });
  const setupApi = api(setup.url);
  const codes = {};
  const ids = {};
  for (const m of MEMBERS) {
    const r = await setupApi.post('/v1/suggestions', { body: submission(`前期${pid}-${m}`, { token: tokens[m][0] }) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    codes[m] = r.body.tracking_code;
    ids[m] = r.body.id;
    assert.match(String(ids[m]), /^S-/);
  }
  await setup.stop();
  const named = {};
  for (const m of MEMBERS) {
    const r = await ctx.api.post('/v1/suggestions', { token: w.tokens[m], body: submission(`署名前期${pid}-${m}`) });
    assert.equal(r.status, 201);
    named[m] = r.body.id;
  }
  for (const m of ['m1', 'm2']) {
    assert.equal((await ctx.api.post(`/v1/suggestions/${ids[m]}/accept`, { token: w.tokens.com })).status, 200);
    assert.equal((await ctx.api.request('PUT', `/v1/suggestions/${ids[m]}/answer`, { token: w.tokens.com, body: { decision: 'adopted', body: '同意' } })).status, 200);
    assert.equal((await ctx.api.post(`/v1/suggestions/${ids[m]}/answer/approve`, { token: w.tokens.sec })).status, 200);
  }

  // The period: one window, with room for the whole script.
  if (nextBoundary() - Date.now() < (WINDOW - 2) * 1000) await sleep(nextBoundary() - Date.now() + 200);
  const release = nextBoundary();
  const auditXmin0 = Number(await ctx.cluster.psql('select coalesce(max(xmin::text::bigint), 0) from audit_log'));

  // /metrics polled as fast as it answers, all along, except while the
  // test itself takes a snapshot (so that the snapshots' /metrics are read
  // with nothing else of ours in flight: see histogramMatchesCounters).
  const polled = [];
  let polling = true;
  let paused = false;
  let inFlight = Promise.resolve();
  const poller = (async () => {
    while (polling) {
      if (paused) {
        await sleep(5);
        continue;
      }
      const at = Date.now();
      const p = metricsNow();
      inFlight = p;
      const text = await p;
      polled.push({ at, done: Date.now(), inUse: Number(text.match(/^yijian_db_pool_in_use (\d+)$/m)[1]), ...histogramMatchesCounters(text) });
    }
  })();
  const pause = async () => {
    paused = true;
    await inFlight.catch(() => {});
    await sleep(20);
  };

  // Named acts (change what everyone sees) between anonymous ones (must not).
  const script = [
    ['named', 'm1', () => ctx.api.post('/v1/suggestions', { token: w.tokens.m1, body: submission(`署名${pid}-1`) })],
    ['anon', 'submit', 'm2', () => ctx.api.post('/v1/suggestions', { body: submission(`匿名${pid}-m2`, { token: tokens.m2[1] }) })],
    ['anon', 'cosign', 'm3', () => ctx.api.post(`/v1/suggestions/${named.m1}/cosign`, { body: { token: tokens.m3[1] } })],
    ['named', 'm4', () => ctx.api.post(`/v1/suggestions/${named.m5}/cosign`, { token: w.tokens.m4 })],
    ['anon', 'message', 'm1', () => tracked('POST', '/messages', codes.m1, { body: '补充说明' })],
    ['anon', 'rate', 'm1', () => tracked('POST', '/rating', codes.m1, { rating: 'unsatisfied' })],
    ['named', 'com', () => ctx.api.post(`/v1/suggestions/${ids.m3}/messages`, { token: w.tokens.com, body: { body: '收到', visibility: 'submitter' } })],
    ['anon', 'rate', 'm2', () => tracked('POST', '/rating', codes.m2, { rating: 'satisfied' })],
    ['anon', 'withdraw', 'm4', () => tracked('POST', '/withdraw', codes.m4)],
    ['named', 'm2', () => ctx.api.post('/v1/suggestions', { token: w.tokens.m2, body: submission(`署名${pid}-2`) })],
    ['anon', 'reopen', 'm1', () => tracked('POST', '/reopen', codes.m1)],
    ['anon', 'submit', 'm5', () => ctx.api.post('/v1/suggestions', { body: submission(`匿名${pid}-m5`, { token: tokens.m5[1] }) })],
    ['anon', 'cosign', 'm4', () => ctx.api.post(`/v1/suggestions/${named.m2}/cosign`, { body: { token: tokens.m4[1] } })],
    ['named', 'sec', () => ctx.api.post(`/v1/suggestions/${ids.m5}/accept`, { token: w.tokens.sec })],
    ['anon', 'message', 'm3', () => tracked('POST', '/messages', codes.m3, { body: '谢谢' })],
    ['anon', 'submit', 'm1', () => ctx.api.post('/v1/suggestions', { body: submission(`匿名${pid}-m1`, { token: tokens.m1[1] }) })],
    ['anon', 'cosign', 'm5', () => ctx.api.post(`/v1/suggestions/${named.m3}/cosign`, { body: { token: tokens.m5[2] } })],
  ];
  const acts = [];
  let scripted = false;
  try {
  for (const step of script) {
    if (step[0] === 'named') {
      const r = await step[2]();
      assert.ok(r.status < 300, `named act of ${step[1]}: ${r.status} ${JSON.stringify(r.body)}`);
      continue;
    }
    const [, kind, who, run] = step;
    const what = `${kind} of ${who}`;
    // The named act before has been sealed into the audit chain (each
    // SEAL_INTERVAL): what changes now is the anonymous act's alone.
    await sleep(1200);
    await pause();
    const views0 = await viewsNow(); // (renews the pollers' sessions: before the tables)
    const metricsText0 = await metricsNow();
    const metrics0 = metricLines(metricsText0);
    const pg0 = pgSize();
    const log0 = ctx.svc.logs.length;
    const tables0 = await tablesNow();
    paused = false;
    const from = Date.now();
    const r = await run();
    const to = Date.now();
    await pause();
    const tables1 = await tablesNow();
    assert.ok(r.status === 200 || r.status === 201, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.deepEqual(tables1.tables, tables0.tables, `${what}: a table (rows, ids, xmin or xmax) changed at its arrival`);
    assert.equal(tables1.held, tables0.held + 1, `${what}: held`);
    const paid = kind === 'submit' || kind === 'cosign' ? 1 : 0;
    assert.equal(tables1.spent, tables0.spent + paid, `${what}: its token spent, nothing else`);
    await sleep(50);
    assert.deepEqual(logSince(log0).map((l) => l.line), [], `${what}: a line in the service's log`);
    assert.equal(pgSize() === pg0 ? '' : fs.readFileSync(pgLog).subarray(pg0).toString('utf8'), '', `${what}: a line in PostgreSQL's log`);
    assert.deepEqual(await viewsNow(), views0, `${what}: a list, the stats or a notice changed at its arrival`);
    const metricsText1 = await metricsNow();
    assert.deepEqual(metricLines(metricsText1), metrics0, `${what}: /metrics changed at its arrival`);
    // The histogram is global: nothing but our own /metrics requests ran
    // between the two quiet reads and the polls during the act, all of them
    // counted by route too; an anonymous request counted in the histogram
    // would open a gap.
    const during = polled.filter((p) => p.at >= from && p.done <= to);
    const gaps = [histogramMatchesCounters(metricsText0), ...during, histogramMatchesCounters(metricsText1)].map((p) => p.count - p.sum);
    assert.equal(new Set(gaps).size, 1, `${what}: the request-duration histogram moved apart from the route counters: ${gaps}`);
    assert.ok(Date.parse(r.body.release_at ?? r.body.held?.at(-1)?.release_at) === release, `${what}: released at the window's end`);
    // The suggestion the act is about, to find it in the release.
    acts.push({ what, kind, who, from, to });
    paused = false;
  }
  scripted = true;
  } finally {
    if (!scripted) {
      polling = false; // a failure: the poller stops with the test
      await poller;
    }
  }
  assert.ok(Date.now() < release, 'the script ran within the window');

  // Until the release nothing anonymous shows.
  const lateViews = JSON.stringify(await viewsNow());
  assert.ok(!lateViews.includes(`匿名${pid}`), 'no held submission listed before the release');
  const heldCount = Number(await ctx.cluster.psql('select count(*) from held_acts'));
  assert.equal(heldCount, acts.length);
  await sleep(release - Date.now() + 3000);
  polling = false;
  await poller;

  // The pool gauge, polled all along, never showed an anonymous request
  // while it ran.
  for (const a of acts) {
    const during = polled.filter((p) => p.at >= a.from && p.done <= a.to + 50);
    assert.ok(during.every((p) => p.inUse === 0), `${a.what}: the pool gauge moved: ${JSON.stringify(during)}`);
  }

  // At the release every act took effect.
  assert.equal(Number(await ctx.cluster.psql('select count(*) from held_acts')), 0);
  const rows = (await ctx.cluster.psql(`select title || '|' || id || '|' || xmin from suggestions where title like '匿名${pid}-%' order by id`)).split('\n').filter(Boolean).map((l) => l.split('|'));
  assert.equal(rows.length, 3, 'the three anonymous submissions');
  const m1 = (await tracked('GET', '', codes.m1)).body;
  assert.deepEqual(m1.messages.map((m) => m.body), ['补充说明']);
  assert.equal(m1.status, 'accepted', 'm1 rated unsatisfied, then reopened');
  assert.equal((await tracked('GET', '', codes.m2)).body.ratings[0].rating, 'satisfied');
  assert.equal((await tracked('GET', '', codes.m4)).body.status, 'withdrawn');
  for (const m of ['m1', 'm2', 'm3']) {
    const c = (await ctx.api.get(`/v1/suggestions/${named[m]}`, { token: w.tokens[m] })).body.cosign_count;
    assert.equal(c, 1, `the anonymous co-sign of ${m}'s suggestion`);
  }
  const after = JSON.stringify(await viewsNow());
  for (const m of ['m1', 'm2', 'm5']) assert.ok(after.includes(`匿名${pid}-${m}`), `${m}'s anonymous suggestion is listed after the release`);

  // Everything the acts wrote belongs to one transaction (one xid for the
  // release, its savepoints' subtransactions for each act), and the order
  // of the acts in it is not the order they came in.
  const auditRows = (await ctx.cluster.psql(`select xmin || '|' || action || '|' || object_id from audit_log where actor_kind = 'anonymous' and xmin::text::bigint > ${auditXmin0} order by xmin::text::bigint`)).split('\n').filter(Boolean).map((l) => l.split('|'));
  const actOrder = [];
  const seen = new Set();
  for (const [xmin, action, object] of auditRows) {
    if (seen.has(xmin)) continue;
    seen.add(xmin);
    actOrder.push(`${action}:${object}`);
  }
  assert.ok(actOrder.length >= acts.length - 1, `each act under its own savepoint: ${actOrder}`);
  const xmins = [...seen].map(Number);
  assert.ok(Math.max(...xmins) - Math.min(...xmins) < 200, `one release: ${xmins}`);
  const byId = rows.map((r) => r[0]);
  const byXmin = [...rows].sort((a, b) => Number(a[2]) - Number(b[2])).map((r) => r[0]);
  assert.deepEqual(byId, byXmin, 'ids are given in the order of the replay');
  // The order of the release, by the suggestion each act is about (first
  // appearance in the release's subtransactions), against the order they
  // came in: ten suggestions, so one chance in 10! that a random release
  // keeps the arrival order.
  const publicIdOf = Object.fromEntries((await ctx.cluster.psql(`select id || '|' || public_id from suggestions`)).split('\n').filter(Boolean).map((l) => l.split('|')));
  const objectOf = (a) => {
    if (a.kind === 'submit') return rows.find((r) => r[0] === `匿名${pid}-${a.who}`)[1];
    if (a.kind === 'cosign') return { m3: named.m1, m4: named.m2, m5: named.m3 }[a.who];
    return ids[a.who];
  };
  const arrival = [...new Set(acts.map((a) => { const o = objectOf(a); return /^S-/.test(o) ? o : publicIdOf[o]; }))];
  const released = [...new Set(auditRows.map((r) => r[2]))].filter((o) => arrival.includes(o));
  assert.equal(released.length, arrival.length, `every act's suggestion in the release: ${released} / ${arrival}`);
  assert.notDeepEqual(released, arrival, `released in the order of arrival: ${released}`);
});
