// Side channels around anonymous acts (issue 20): what the service's own
// machinery shows of them besides the stored rows. The public pool gauges,
// PostgreSQL's log, the service's log for requests refused before their
// handler, libmicrohttpd's messages and the request method as logged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { fetchTokens, rawExchange } from './lib/anon.mjs';
import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { startService, waitFor } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

// Statements may wait for a test's lock longer than the default 5 s.
const ctx = useService({ DB_TIMEOUT_MS: '30000' });
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'side-admin' });
  await w.unit('b', '侧信道支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织工作', portfolio: '组织' });
  await w.account('com', '委员', 'b', ['member', 'committee'], ['组织']);
  await w.account('sec', '书记', 'b', ['member', 'secretary']);
  await w.account('mem', '张三', 'b', ['member']);
});

const submitBody = (extra = {}) => ({ unit_id: w.units.b, category_id: w.categories.cat, title: `意见${tag()}`, body: '希望食堂晚上开放到八点。', ...extra });

/** The pool gauge as /metrics shows it. */
async function inUse(a = ctx.api) {
  const text = (await a.get('/metrics')).text;
  return Number(text.match(/^yijian_db_pool_in_use (\d+)$/m)[1]);
}

/** Lines the service logged from now until a named marker request is logged. */
async function linesUntilMarker(svc, a) {
  const from = svc.logs.length;
  return async () => {
    const marker = `marker-${tag()}`;
    await a.get('/healthz', { headers: { 'X-Request-Id': marker } });
    assert.ok(await waitFor(() => svc.logs.slice(from).some((l) => l.line.includes(marker)), { intervalMs: 20 }), 'the marker is logged');
    return svc.logs.slice(from).map((l) => l.line).filter((l) => !l.includes(marker) && !l.includes('"route":"/metrics"'));
  };
}

/** requests_total lines other than those of /metrics and /healthz. */
async function requestSeries(a = ctx.api) {
  return (await a.get('/metrics')).text.split('\n')
    .filter((l) => l.startsWith('yijian_http_requests_total{') && !/route="\/(metrics|healthz)"/.test(l));
}

test('the_pool_gauges_do_not_move_for_an_anonymous_request', async () => {
  const [t] = await fetchTokens(ctx.api, w.tokens.mem, 1);
  const idle = await inUse();
  // A named submission held inside its transaction shows as a connection
  // in use: the gauge works, and the same wait is what an anonymous one
  // must not show.
  let holder = await ctx.cluster.lockTable('suggestions', 6);
  let pending = ctx.api.post('/v1/suggestions', { token: w.tokens.mem, body: submitBody() });
  assert.ok(await ctx.cluster.serviceWaitsForLock());
  assert.equal(await inUse(), idle + 1, 'a named request holding a connection is counted');
  await holder.ended;
  assert.equal((await pending).status, 201);

  holder = await ctx.cluster.lockTable('suggestions', 6);
  pending = ctx.api.post('/v1/suggestions', { body: submitBody({ token: t }) });
  assert.ok(await ctx.cluster.serviceWaitsForLock());
  const seen = [];
  for (let i = 0; i < 20; i++) seen.push(await inUse());
  await holder.ended;
  assert.equal((await pending).status, 201);
  assert.deepEqual([...new Set(seen)], [idle], 'an anonymous request holding a connection is not');
});

test('anonymous_and_tracked_requests_refused_before_their_handler_leave_no_line_and_no_count', async () => {
  const [t] = await fetchTokens(ctx.api, w.tokens.mem, 1);
  const s = await ctx.api.post('/v1/suggestions', { body: submitBody({ token: t }) });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const code = s.body.tracking_code;
  const tracking = { Authorization: `Tracking ${code}` };
  const seriesBefore = await requestSeries();
  const lines = await linesUntilMarker(ctx.svc, ctx.api);

  const cases = [
    // 413: Content-Length over the limit, refused before the body is read
    ['POST', '/v1/tracked/messages', { ...tracking, 'Content-Type': 'application/json', 'Content-Length': '99999999' }, '', 413],
    // 415: not JSON, an anonymous submission (no session)
    ['POST', '/v1/suggestions', { 'Content-Type': 'text/plain' }, '{}', 415],
    ['POST', '/v1/tracked/rating', { ...tracking, 'Content-Type': 'text/plain' }, '{}', 415],
    // 400: malformed JSON, bad UTF-8
    ['POST', '/v1/tracked/rating', { ...tracking, 'Content-Type': 'application/json' }, '{"rating":', 400],
    ['POST', `/v1/suggestions/${s.body.id}/cosign`, { 'Content-Type': 'application/json' }, Buffer.from([0x7b, 0xff, 0x7d]), 400],
  ];
  for (const [method, p, headers, body, status] of cases) {
    const text = await rawExchange(ctx.svc.url, Buffer.concat([
      Buffer.from(`${method} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}` +
        (headers['Content-Length'] ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`) + '\r\n'),
      Buffer.from(body),
    ]).toString('latin1'));
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), `${method} ${p}: ${text.slice(0, 200)}`);
  }
  // A tracked request whose chunked body is malformed.
  await rawExchange(ctx.svc.url, `POST /v1/tracked/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Tracking ${code}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ-not-a-size\r\n{}\r\n0\r\n\r\n`);
  await sleep(100);
  assert.deepEqual(await lines(), [], 'no log line of any of them, libmicrohttpd\'s included');
  assert.deepEqual(await requestSeries(), seriesBefore, 'no count of any of them');

  // The same refusal of a named request is logged and counted.
  const named = await linesUntilMarker(ctx.svc, ctx.api);
  const text = await rawExchange(ctx.svc.url, `POST /v1/suggestions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${w.tokens.mem}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}`);
  assert.match(text, /^HTTP\/1\.1 415 /);
  assert.ok((await named()).some((l) => l.includes('"route":"/v1/suggestions"') && l.includes('"status":415')), 'a named 415 is logged');
  assert.notDeepEqual(await requestSeries(), seriesBefore, 'and counted');
});

test('an_anonymous_act_that_hits_a_database_error_leaves_no_line_naming_its_statement', async (t) => {
  // The service role loses the right to record a spent token, and to add
  // a named co-sign: both requests then fail in the database.
  const [tok, tok2] = await fetchTokens(ctx.api, w.tokens.mem, 2);
  const target = await ctx.api.post('/v1/suggestions', { token: w.tokens.com, body: submitBody() });
  assert.equal(target.status, 201, JSON.stringify(target.body));
  await ctx.cluster.psql('REVOKE INSERT ON spent_tokens, cosigns FROM yijian_app');
  t.after(() => ctx.cluster.psql('GRANT INSERT ON spent_tokens, cosigns TO yijian_app'));

  const lines = await linesUntilMarker(ctx.svc, ctx.api);
  const anon = await ctx.api.post('/v1/suggestions', { body: submitBody({ token: tok }) });
  assert.ok(anon.status >= 500, `the anonymous submission failed in the database (${anon.status})`);
  const cosign = await ctx.api.post(`/v1/suggestions/${target.body.id}/cosign`, { body: { token: tok2 } });
  assert.ok(cosign.status >= 500, `the anonymous co-sign failed in the database (${cosign.status})`);
  assert.deepEqual(await lines(), [], 'no line: not the statement, not the error, not its time');

  // The same fault on a named request is logged with its statement, so the silence above is the rule's.
  const named = await linesUntilMarker(ctx.svc, ctx.api);
  const n = await ctx.api.post(`/v1/suggestions/${target.body.id}/cosign`, { token: w.tokens.mem });
  assert.ok(n.status >= 500, `the named co-sign failed in the database (${n.status})`);
  assert.ok((await named()).some((l) => l.includes('database error') && l.includes('cosign')), 'a named request\'s database error is logged with its statement');
});

test('the_method_is_logged_only_when_it_is_one_http_defines', async () => {
  const secretish = 'TRACKCODE7Q2X9';
  const lines = await linesUntilMarker(ctx.svc, ctx.api);
  const text = await rawExchange(ctx.svc.url, `${secretish} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.match(text, /^HTTP\/1\.1 [45]\d\d /, text.slice(0, 100));
  const got = await lines();
  assert.ok(!got.some((l) => l.includes(secretish)), `the raw method reached the log:\n${got.join('\n')}`);
  assert.ok(got.some((l) => l.includes('"method":"other"')), `logged as "other":\n${got.join('\n')}`);
});

test('the_private_cluster_logs_no_statement_and_the_service_role_no_error', async () => {
  const settings = await ctx.cluster.psqlAs('yijian', "select current_setting('log_min_messages') || ' ' || current_setting('log_min_error_statement') || ' ' || current_setting('log_statement') || ' ' || current_setting('log_min_duration_statement') || ' ' || current_setting('log_error_verbosity') || ' ' || current_setting('log_lock_waits')");
  assert.equal(String(settings.stdout ?? settings).trim(), 'fatal panic none -1 terse off');
});

test('double_spends_repeated_ratings_and_withdrawals_raise_nothing_in_postgresql', async (t) => {
  // Even with the service role's logging at PostgreSQL's default, the
  // anonymous paths must cause no error there: a refused double spend, a
  // second rating, a second withdrawal are detected without one.
  await ctx.cluster.psql("ALTER ROLE yijian RESET log_min_messages");
  t.after(() => ctx.cluster.psql("ALTER ROLE yijian SET log_min_messages = 'fatal'"));
  const svc = await startService(ctx.cluster);
  t.after(() => svc.stop());
  const a = api(svc.url);
  const pgLog = path.join(ctx.cluster.dir, 'log', 'postgres.log');
  const [t1, t2, t3] = await fetchTokens(a, w.tokens.mem, 3);
  const mark = fs.statSync(pgLog).size;

  const first = await a.post('/v1/suggestions', { body: submitBody({ token: t1 }) });
  assert.equal(first.status, 201);
  const twice = await a.post('/v1/suggestions', { body: submitBody({ token: t1 }) });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.type, '/problems/token-spent');
  const co = await a.post(`/v1/suggestions/${first.body.id}/cosign`, { body: { token: t1 } });
  assert.equal(co.status, 409);

  const tr = (method, p, code, body) => a.request(method, `/v1/tracked${p}`, { headers: { Authorization: `Tracking ${code}` }, body });
  const w1 = await tr('POST', '/withdraw', first.body.tracking_code);
  assert.equal(w1.status, 200, JSON.stringify(w1.body));
  const w2 = await tr('POST', '/withdraw', first.body.tracking_code);
  assert.equal(w2.status, 409, JSON.stringify(w2.body));

  const s = await a.post('/v1/suggestions', { body: submitBody({ token: t2 }) });
  assert.equal((await a.post(`/v1/suggestions/${s.body.id}/accept`, { token: w.tokens.com })).status, 200);
  assert.equal((await a.request('PUT', `/v1/suggestions/${s.body.id}/answer`, { token: w.tokens.com, body: { decision: 'adopted', body: '同意' } })).status, 200);
  assert.equal((await a.post(`/v1/suggestions/${s.body.id}/answer/approve`, { token: w.tokens.sec })).status, 200);
  assert.equal((await tr('POST', '/rating', s.body.tracking_code, { rating: 'unsatisfied' })).status, 200);
  const again = await tr('POST', '/rating', s.body.tracking_code, { rating: 'satisfied' });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal((await tr('POST', '/reopen', s.body.tracking_code)).status, 200);
  assert.equal((await tr('POST', '/reopen', s.body.tracking_code)).status, 409);
  assert.equal((await a.post('/v1/suggestions', { body: submitBody({ token: t3 }) })).status, 201);

  await sleep(200);
  const added = fs.readFileSync(pgLog).subarray(mark).toString('utf8');
  const bad = added.split('\n').filter((l) => /ERROR|STATEMENT|DETAIL|spent_tokens|ratings|suggestion /.test(l) || l.includes(first.body.id) || l.includes(s.body.id));
  assert.deepEqual(bad, [], `PostgreSQL logged:\n${added}`);
});
