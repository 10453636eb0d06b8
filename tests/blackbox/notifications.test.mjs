// Notifications from the outside (issue 8): a local webhook receiver in
// node hears what the delivery worker sends. One signed delivery per
// assignment, verified; retries after 500s; dead letters a secretary sees
// and retries; two instances on one database sending each delivery once;
// WeCom and DingTalk bodies against fixtures written from their
// documentation (tests/fixtures/notify), DingTalk's signature verified;
// the inbox; who hears of which event; URL checks; anonymity; 403s.
//
// Each test builds its own unit (and its own webhook), so that no test
// hears another's deliveries. Back-off is 40-160 ms here, and the worker
// polls every 50 ms: nothing sleeps long.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { api, REPO_ROOT } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { startService, waitFor } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const PUBLIC_URL = 'https://yijian.example.org';
const ENV = {
  WEBHOOK_ALLOW_LOOPBACK: 'true',
  NOTIFY_INTERVAL_MS: '50',
  NOTIFY_BACKOFF_BASE_MS: '40',
  NOTIFY_BACKOFF_MAX_MS: '160',
  NOTIFY_MAX_ATTEMPTS: '4',
  NOTIFY_TIMEOUT: '3',
  NOTIFY_ANONYMOUS_BATCH: '1',
  JOBS_INTERVAL: '1',
  PUBLIC_URL: `${PUBLIC_URL}/`,
};
const ctx = useService(ENV);
let w;

let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const psql = (sql) => ctx.cluster.psql(sql);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tests/fixtures/notify', name), 'utf8'));

const call = (method, p, who, body, headers) =>
  ctx.api.request(method, p, { token: who ? w.tokens[who] : undefined, body, headers });
function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

// ---- the receiver ---------------------------------------------------------------------

/**
 * A webhook receiver on 127.0.0.1. respond(req) returns {status, body} for
 * each request (default 200 and an empty JSON object); every request is
 * kept as {url, headers, raw, json}.
 */
async function receiver({ respond, port = 0, delayMs = 0 } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try {
        json = JSON.parse(raw);
      } catch {
        /* kept raw */
      }
      const r = { method: req.method, url: req.url, headers: req.headers, raw, json };
      requests.push(r);
      if (delayMs) await sleep(delayMs);
      const out = respond ? respond(r, requests.length) : { status: 200, body: {} };
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body ?? {}));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const rx = {
    requests,
    port: server.address().port,
    url: (p = '/hook') => `http://127.0.0.1:${server.address().port}${p}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
  receivers.push(rx);
  return rx;
}
const receivers = [];
after(async () => {
  for (const r of receivers) await r.close().catch(() => {});
});

/** A port nothing listens on (taken from the kernel, then let go). */
async function closedPort() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function verifySignature(req, secret) {
  const ts = req.headers['x-yijian-timestamp'];
  const sig = req.headers['x-yijian-signature'];
  assert.match(ts ?? '', /^[0-9]+$/, 'X-Yijian-Timestamp');
  assert.match(sig ?? '', /^sha256=[0-9a-f]{64}$/, 'X-Yijian-Signature');
  const expected = crypto.createHmac('sha256', secret).update(`${ts}.${req.raw}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(sig.slice(7), 'hex'), Buffer.from(expected, 'hex')), 'the signature verifies');
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 300, 'the timestamp is now');
}

// ---- the world --------------------------------------------------------------------------

/**
 * A unit of its own under root, with a 组织 committee member (com), a
 * member (mem), a secretary (sec) and a webhook of kind to url.
 */
async function branch(name, hook) {
  const key = `u${tag()}`;
  await w.unit(key, `${name}${tag()}`, 'branch', 'root');
  await w.portfolio(key, '组织');
  await Promise.all([
    w.account(`${key}com`, `${name}组织委员`, key, ['member', 'committee'], ['组织']),
    w.account(`${key}mem`, `${name}党员`, key),
    w.account(`${key}sec`, `${name}书记`, key, ['member', 'secretary']),
  ]);
  const b = { key, id: w.units[key], com: `${key}com`, mem: `${key}mem`, sec: `${key}sec` };
  if (hook) b.webhook = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, 'admin', hook), 201);
  return b;
}

async function submit(b, who = b.mem, extra = {}) {
  const r = await call('POST', '/v1/suggestions', who, {
    unit_id: b.id, category_id: w.categories.org, title: `食堂开放时间${tag()}`, body: `正文不外传 ${tag()}`, ...extra,
  });
  return ok(r, 201);
}

const deliveries = async (b, who, query = '') => ok(await call('GET', `/v1/org-units/${b.id}/outbox${query}`, who ?? b.sec)).items;

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'notify-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织', ack_days: 2, answer_days: 10, grace_days: 3 });
});

// ---- one signed delivery ------------------------------------------------------------------

test('an_assignment_produces_exactly_one_signed_delivery_that_verifies', async () => {
  const rx = await receiver();
  const secret = `s3cret-${crypto.randomBytes(12).toString('hex')}`;
  const b = await branch('签名支部', { kind: 'json', url: rx.url('/yijian?team=a'), secret });
  assert.equal(b.webhook.kind, 'json');
  assert.equal(b.webhook.secret_set, true);
  assert.equal(b.webhook.url, `http://127.0.0.1:${rx.port}/yijian?team=…`, 'the query is masked');
  assert.ok(!JSON.stringify(b.webhook).includes(secret), 'the secret is not returned');

  const s = await submit(b);
  assert.equal(s.assignee_id, w.ids[b.com]);
  assert.ok(await waitFor(() => rx.requests.length >= 1, { timeoutMs: 5000, intervalMs: 25 }), 'delivered');
  await sleep(400); // several polls of the worker: no second request comes
  assert.equal(rx.requests.length, 1, 'exactly one request');

  const req = rx.requests[0];
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/yijian?team=a');
  assert.match(req.headers['content-type'], /^application\/json/);
  assert.equal(req.headers['x-yijian-event'], 'assigned');
  verifySignature(req, secret);
  // A signature made with another secret does not verify.
  assert.throws(() => verifySignature(req, `${secret}x`));

  const n = req.json;
  assert.equal(req.headers['x-yijian-delivery'], String(n.delivery_id));
  assert.equal(n.event, 'assigned');
  assert.equal(n.link, `${PUBLIC_URL}/#/suggestions/${s.id}`);
  assert.deepEqual(n.suggestion, { id: s.id, title: s.title, unit_id: b.id, unit_name: s.unit_name });
  assert.match(n.subject, /新意见待处理/);
  assert.ok(n.text.includes(s.id) && n.text.includes(s.title), n.text);
  assert.ok(!req.raw.includes(s.body), 'the body of the suggestion is not sent');
  assert.ok(!req.raw.includes('党员'), "the author's name is not sent");

  const [d] = await deliveries(b);
  assert.equal(d.id, n.delivery_id);
  assert.equal(d.status, 'delivered');
  assert.equal(d.attempts, 1);
  assert.deepEqual(d.attempt_log.map((a) => [a.attempt, a.http_status, a.error]), [[1, 200, null]]);
});

// ---- an account's own webhook ------------------------------------------------------------

test('an_accounts_own_webhook_hears_its_notices_and_nobody_elses', async () => {
  const b = await branch('个人支部');
  const rx = await receiver();
  const secret = `mine-${crypto.randomBytes(12).toString('hex')}`;
  // A member may not point one into a private network (any member may make one).
  for (const url of ['http://10.1.2.3/hook', 'http://192.168.1.9:8080/x', 'http://[fc00::1]/h', 'http://100.64.0.1/h']) {
    const r = await call('POST', '/v1/me/webhooks', b.com, { kind: 'json', url, secret });
    assert.equal(r.status, 422, url);
    assert.equal(r.body.errors[0].pointer, '/url');
    assert.match(r.body.errors[0].detail, /private address/);
  }
  const hook = ok(await call('POST', '/v1/me/webhooks', b.com, { kind: 'json', url: rx.url('/me'), secret }), 201);
  assert.equal(hook.account_id, w.ids[b.com]);
  assert.equal(hook.unit_id, null);
  assert.deepEqual(ok(await call('GET', '/v1/me/webhooks', b.com)).items.map((x) => x.id), [hook.id]);
  assert.deepEqual(ok(await call('GET', '/v1/me/webhooks', b.mem)).items, [], "another account's list is its own");
  assert.deepEqual(ok(await call('GET', `/v1/org-units/${b.id}/webhooks`, b.sec)).items, [], "nor is it the unit's");

  // The assignment reaches the committee member's own receiver, signed.
  const s = await submit(b);
  assert.equal(s.assignee_id, w.ids[b.com]);
  assert.ok(await waitFor(() => rx.requests.length >= 1, { timeoutMs: 5000, intervalMs: 25 }), 'delivered');
  await sleep(300);
  assert.equal(rx.requests.length, 1, 'exactly one request');
  verifySignature(rx.requests[0], secret);
  assert.equal(rx.requests[0].json.event, 'assigned');
  assert.equal(rx.requests[0].json.suggestion.id, s.id);
  assert.ok(!rx.requests[0].raw.includes(s.body), 'the body of the suggestion is not sent');

  const mine = ok(await call('GET', '/v1/me/outbox', b.com)).items;
  assert.equal(mine.length, 1);
  assert.equal(mine[0].status, 'delivered');
  assert.equal(mine[0].webhook_id, hook.id);
  assert.deepEqual(ok(await call('GET', '/v1/me/outbox', b.mem)).items, []);
  // Another account can neither retry nor remove it: 404, as if it did not exist.
  assert.equal((await call('POST', `/v1/me/outbox/${mine[0].id}/retry`, b.mem)).status, 404);
  assert.equal((await call('POST', `/v1/me/outbox/${mine[0].id}/retry`, b.com)).status, 409, 'a delivered one is not retried');
  assert.equal((await call('DELETE', `/v1/me/webhooks/${hook.id}`, b.mem)).status, 404);
  assert.equal((await call('DELETE', `/v1/org-units/${b.id}/webhooks/${hook.id}`, b.sec)).status, 404, "a unit's manager cannot remove it either");
  assert.equal((await call('GET', '/v1/me/webhooks')).status, 401);

  // Removed by its account: nothing more is sent to it.
  assert.equal((await call('DELETE', `/v1/me/webhooks/${hook.id}`, b.com)).status, 204);
  assert.deepEqual(ok(await call('GET', '/v1/me/webhooks', b.com)).items, []);
  await submit(b);
  await sleep(400);
  assert.equal(rx.requests.length, 1, 'a removed webhook hears nothing');
  const audit = await psql(`select string_agg(action, ',' order by id) from audit_log where object_type = 'webhook' and object_id = ${lit(String(hook.id))}`);
  assert.equal(audit, 'webhook.create,webhook.delete');
});

// ---- retries, dead letters ------------------------------------------------------------------

test('a_receiver_answering_500_three_times_gets_the_delivery_on_the_fourth_try', async () => {
  const rx = await receiver({ respond: (_r, n) => (n <= 3 ? { status: 500, body: { error: 'busy' } } : { status: 204 }) });
  const b = await branch('重试支部', { kind: 'json', url: rx.url(), secret: 'a-secret-of-16-chars' });
  await submit(b);
  const delivered = await waitFor(async () => (await deliveries(b)).find((d) => d.status === 'delivered'), { timeoutMs: 8000, intervalMs: 50 });
  assert.ok(delivered, 'delivered in the end');
  assert.equal(rx.requests.length, 4);
  assert.equal(delivered.attempts, 4);
  assert.deepEqual(delivered.attempt_log.map((a) => a.http_status), [500, 500, 500, 204]);
  assert.deepEqual(delivered.attempt_log.map((a) => a.attempt), [1, 2, 3, 4]);
  assert.match(delivered.attempt_log[0].error, /500/);
  assert.equal(delivered.attempt_log[3].error, null);
  assert.equal(new Set(rx.requests.map((r) => r.json.delivery_id)).size, 1, 'every try is the same delivery');
  for (const r of rx.requests) verifySignature(r, 'a-secret-of-16-chars');
  // Each try waits at least its back-off: 40, 80, then the cap of 160 ms
  // (the API's times are to the second; the table keeps microseconds).
  const at = JSON.parse(await psql(`select json_agg(extract(epoch from at) order by attempt) from notification_attempts where outbox_id = ${delivered.id}`));
  const gaps = [at[1] - at[0], at[2] - at[1], at[3] - at[2]].map((g) => Math.round(g * 1000));
  assert.ok(gaps[0] >= 40 && gaps[1] >= 80 && gaps[2] >= 160, `waits of at least 40, 80, 160 ms: ${gaps}`);
});

test('a_receiver_down_past_the_limit_lands_in_dead_letter_and_a_secretary_retries_it', async () => {
  const port = await closedPort();
  const b = await branch('死信支部', { kind: 'json', url: `http://127.0.0.1:${port}/hook`, secret: 'a-secret-of-16-chars' });
  const s = await submit(b);
  const dead = await waitFor(async () => (await deliveries(b, b.sec, '?status=dead'))[0], { timeoutMs: 8000, intervalMs: 50 });
  assert.ok(dead, 'dead-lettered');
  assert.equal(dead.suggestion_id, s.id);
  assert.equal(dead.attempts, 4, 'NOTIFY_MAX_ATTEMPTS tries');
  assert.equal(dead.next_attempt_at, null);
  assert.equal(dead.attempt_log.length, 4);
  for (const a of dead.attempt_log) {
    assert.equal(a.http_status, null);
    assert.ok(a.error.length > 0);
  }
  assert.ok(dead.last_error);
  await sleep(300);
  assert.equal((await deliveries(b, b.sec, '?status=dead'))[0].attempts, 4, 'a dead delivery is not tried again by itself');
  assert.equal(Number(await psql(`select count(*) from audit_log where action = 'notification.dead' and object_id = '${dead.id}'`)), 1, 'dead-lettering is audited');

  // Neither the member nor the committee member may see or retry it.
  for (const who of [b.mem, b.com]) {
    assert.equal((await call('GET', `/v1/org-units/${b.id}/outbox?status=dead`, who)).status, 403);
    assert.equal((await call('POST', `/v1/org-units/${b.id}/outbox/${dead.id}/retry`, who)).status, 403);
  }
  // Another unit's secretary cannot reach it through their own unit.
  const other = await branch('别的支部');
  assert.equal((await call('POST', `/v1/org-units/${other.id}/outbox/${dead.id}/retry`, other.sec)).status, 404);

  const rx = await receiver({ port });
  const retried = ok(await call('POST', `/v1/org-units/${b.id}/outbox/${dead.id}/retry`, b.sec));
  assert.deepEqual(retried, { id: dead.id, status: 'pending', attempts: 4 });
  const done = await waitFor(async () => (await deliveries(b)).find((d) => d.id === dead.id && d.status === 'delivered'), { timeoutMs: 5000, intervalMs: 50 });
  assert.ok(done, 'delivered after the retry');
  assert.equal(rx.requests.length, 1);
  assert.deepEqual(done.attempt_log.map((a) => a.attempt), [1, 2, 3, 4, 5], 'the log goes on');
  assert.equal(done.attempt_log[4].http_status, 200);
  const audit = JSON.parse(await psql(`select json_agg(a) from audit_log a where action = 'notification.retry' and object_id = '${dead.id}'`));
  assert.equal(audit.length, 1, 'the retry is audited');
  assert.equal(Number(audit[0].actor_id), w.ids[b.sec]);
  // Only a dead delivery is retried.
  const again = await call('POST', `/v1/org-units/${b.id}/outbox/${dead.id}/retry`, b.sec);
  assert.equal(again.status, 409);
  assert.match(again.body.detail, /delivered/);
  assert.equal((await call('POST', `/v1/org-units/${b.id}/outbox/999999999/retry`, b.sec)).status, 404);

  // Removing the webhook removes its deliveries and their log with it.
  assert.equal((await call('DELETE', `/v1/org-units/${b.id}/webhooks/${b.webhook.id}`, b.sec)).status, 204);
  assert.deepEqual(await deliveries(b), []);
  assert.equal(Number(await psql(`select count(*) from notification_attempts where outbox_id = ${dead.id}`)), 0);
});

// ---- two instances ---------------------------------------------------------------------------

test('two_instances_on_one_database_deliver_each_notification_once', async () => {
  const second = await startService(ctx.cluster, ENV);
  try {
    // A slow receiver, so that both workers are busy at the same time.
    const rx = await receiver({ delayMs: 120 });
    const b = await branch('双实例支部', { kind: 'json', url: rx.url(), secret: 'a-secret-of-16-chars' });
    const n = 8;
    for (let i = 0; i < n; i++) await submit(b);
    const all = await waitFor(async () => {
      const items = await deliveries(b);
      return items.length === n && items.every((d) => d.status === 'delivered') ? items : null;
    }, { timeoutMs: 15000, intervalMs: 100 });
    assert.ok(all, 'every delivery delivered');
    await sleep(300);
    const ids = rx.requests.map((r) => r.json.delivery_id);
    assert.equal(ids.length, n, `each once: ${ids}`);
    assert.equal(new Set(ids).size, n);
    assert.deepEqual(new Set(ids), new Set(all.map((d) => d.id)));
    for (const d of all) assert.equal(d.attempts, 1);
  } finally {
    const code = await second.stop();
    assert.equal(code, 0, 'the second instance stops cleanly');
    const reports = second.logs.map((l) => l.line).filter((line) => /Sanitizer|runtime error:/.test(line));
    assert.deepEqual(reports, []);
  }
});

// ---- WeCom and DingTalk ------------------------------------------------------------------------

/** Same members of the same JSON types at every level. */
function sameShape(actual, expected, where = '$') {
  const type = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  assert.equal(type(actual), type(expected), `type at ${where}`);
  if (type(expected) === 'object') {
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `members at ${where}`);
    for (const k of Object.keys(expected)) sameShape(actual[k], expected[k], `${where}.${k}`);
  }
}

test('wecom_and_dingtalk_payloads_match_their_documented_formats_and_dingtalk_is_signed', async () => {
  const robotOk = fixture('robot-answer-ok.json');
  const rx = await receiver({ respond: () => ({ status: 200, body: robotOk }) });
  const dingSecret = `SEC${crypto.randomBytes(32).toString('hex')}`;
  const b = await branch('机器人支部', { kind: 'wecom', url: rx.url('/cgi-bin/webhook/send?key=693a91f6-7xxx') });
  assert.equal(b.webhook.url, `http://127.0.0.1:${rx.port}/cgi-bin/webhook/send?key=…`);
  const ding = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, 'admin',
    { kind: 'dingtalk', url: rx.url('/robot/send?access_token=abc123'), secret: dingSecret }), 201);
  assert.equal(ding.secret_set, true);

  // A title that tries markdown: it must stay text.
  const s = await submit(b, undefined, { title: `[点我](http://evil.example) **粗** <b>${tag()}` });
  assert.ok(await waitFor(() => rx.requests.length >= 2, { timeoutMs: 5000, intervalMs: 25 }));
  await sleep(200);
  assert.equal(rx.requests.length, 2);
  const wecom = rx.requests.find((r) => r.url.startsWith('/cgi-bin/'));
  const dt = rx.requests.find((r) => r.url.startsWith('/robot/'));

  sameShape(wecom.json, fixture('wecom-markdown.json'));
  assert.equal(wecom.json.msgtype, 'markdown');
  assert.equal(wecom.url, '/cgi-bin/webhook/send?key=693a91f6-7xxx', 'the key stays as configured');
  assert.ok(Buffer.byteLength(wecom.json.markdown.content) <= 4096);
  assert.ok(wecom.json.markdown.content.includes(`[查看意见](${PUBLIC_URL}/#/suggestions/${s.id})`), wecom.json.markdown.content);
  assert.ok(!wecom.json.markdown.content.includes('[点我]'), 'the title cannot make a link');
  assert.ok(!wecom.json.markdown.content.includes('<b>'), 'nor HTML');
  assert.equal(wecom.headers['x-yijian-signature'], undefined, 'the robot format carries no yijian signature');

  sameShape(dt.json, fixture('dingtalk-markdown.json'));
  assert.equal(dt.json.msgtype, 'markdown');
  assert.match(dt.json.markdown.title, /新意见待处理/);
  assert.ok(dt.json.markdown.text.startsWith('#### '));
  assert.ok(dt.json.markdown.text.includes(`[查看意见](${PUBLIC_URL}/#/suggestions/${s.id})`));
  assert.ok(!dt.json.markdown.text.includes('[点我]'));
  // The signature, as DingTalk computes it.
  const u = new URL(dt.url, 'http://x');
  assert.equal(u.searchParams.get('access_token'), 'abc123');
  const ts = u.searchParams.get('timestamp');
  assert.match(ts, /^[0-9]{13}$/, 'milliseconds');
  assert.ok(Math.abs(Date.now() - Number(ts)) < 3600e3, 'within an hour');
  const expected = crypto.createHmac('sha256', dingSecret).update(`${ts}\n${dingSecret}`).digest('base64');
  assert.equal(u.searchParams.get('sign'), expected, 'sign verifies');
  assert.match(dt.url, /&sign=[A-Za-z0-9%]+$/, 'sign is URL-encoded');

  const items = await deliveries(b);
  assert.equal(items.length, 2);
  assert.ok(items.every((d) => d.status === 'delivered'));
  assert.deepEqual(items.map((d) => d.kind).sort(), ['dingtalk', 'wecom']);
});

test('a_robot_that_answers_200_with_a_nonzero_errcode_has_not_taken_the_message', async () => {
  const rx = await receiver({ respond: (_r, n) => ({ status: 200, body: n === 1 ? { errcode: 310000, errmsg: 'sign not match' } : { errcode: 0, errmsg: 'ok' } }) });
  const b = await branch('错误码支部', { kind: 'dingtalk', url: rx.url('/robot/send?access_token=t') });
  await submit(b);
  const d = await waitFor(async () => (await deliveries(b)).find((x) => x.status === 'delivered'), { timeoutMs: 5000, intervalMs: 50 });
  assert.ok(d);
  assert.equal(d.attempts, 2);
  assert.match(d.attempt_log[0].error, /310000/);
  assert.equal(d.attempt_log[0].http_status, 200);
  assert.ok(!new URL(rx.requests[0].url, 'http://x').searchParams.has('sign'), 'no secret, no sign');
});

// ---- the inbox, and who hears what -------------------------------------------------------------

const inbox = async (who, q = '') => ok(await call('GET', `/v1/notifications${q}`, who)).items;

test('the_inbox_lists_the_callers_notifications_and_marks_them_read', async () => {
  const b = await branch('收件箱支部');
  const s1 = await submit(b);
  const s2 = await submit(b);
  const items = await inbox(b.com);
  assert.deepEqual(items.map((n) => [n.event, n.suggestion_id]), [['assigned', s2.id], ['assigned', s1.id]], 'newest first');
  const n1 = items[1];
  assert.equal(n1.read_at, null);
  assert.equal(n1.link, `${PUBLIC_URL}/#/suggestions/${s1.id}`);
  assert.ok(n1.body.includes(s1.title) && !n1.body.includes(s1.body));
  assert.deepEqual(await inbox(b.mem), [], 'the author is not told of the assignment');

  // Someone else's notification does not exist for them.
  assert.equal((await call('POST', `/v1/notifications/${n1.id}/read`, b.mem)).status, 404);
  assert.equal((await call('POST', `/v1/notifications/${n1.id}/read`, b.com)).status, 204);
  assert.equal((await call('POST', `/v1/notifications/${n1.id}/read`, b.com)).status, 204, 'twice is fine');
  const unread = await inbox(b.com, '?unread=true');
  assert.deepEqual(unread.map((n) => n.id), [items[0].id]);
  assert.ok((await inbox(b.com)).find((n) => n.id === n1.id).read_at);

  // Paging.
  const p1 = ok(await call('GET', '/v1/notifications?limit=1', b.com));
  assert.equal(p1.items.length, 1);
  const p2 = ok(await call('GET', `/v1/notifications?limit=1&cursor=${p1.next_cursor}`, b.com));
  assert.equal(p2.items[0].id, n1.id);

  assert.equal((await call('POST', '/v1/notifications/read-all', b.com)).status, 204);
  assert.deepEqual(await inbox(b.com, '?unread=true'), []);

  // Bad queries and no session.
  assert.equal((await call('GET', '/v1/notifications?unread=maybe', b.com)).status, 422);
  assert.equal((await call('GET', '/v1/notifications?limit=0', b.com)).status, 422);
  assert.equal((await call('GET', '/v1/notifications')).status, 401);
  assert.equal((await call('POST', '/v1/notifications/abc/read', b.com)).status, 404);
});

test('each_event_reaches_the_people_it_concerns', async () => {
  const rx = await receiver();
  const b = await branch('事件支部', { kind: 'json', url: rx.url(), secret: 'a-secret-of-16-chars' });
  await w.account(`${b.key}com2`, '事件支部委员乙', b.key, ['member', 'committee'], ['组织']);
  const com2 = `${b.key}com2`;
  const s = await submit(b);
  const first = w.ids[b.com] === s.assignee_id ? b.com : com2;
  const second = first === b.com ? com2 : b.com;

  // Reassigned by the secretary: the new assignee and the previous one.
  ok(await call('POST', `/v1/suggestions/${s.id}/assign`, b.sec, { assignee_id: w.ids[second], reason: '换人' }));
  assert.equal((await inbox(second))[0].event, 'reassigned');
  assert.equal((await inbox(first))[0].event, 'unassigned');

  // A message from the author goes to the assignee; the message is not repeated.
  ok(await call('POST', `/v1/suggestions/${s.id}/messages`, b.mem, { body: '补充一句私密的话' }), 201);
  const msg = (await inbox(second))[0];
  assert.equal(msg.event, 'submitter_message');
  assert.ok(!msg.body.includes('私密'));
  // The committee's own message tells nobody.
  const before = (await inbox(b.mem)).length;
  ok(await call('POST', `/v1/suggestions/${s.id}/messages`, second, { body: '收到' }), 201);
  assert.equal((await inbox(b.mem)).length, before);

  // A draft answer waits for the secretary; the author hears when it is released.
  ok(await call('POST', `/v1/suggestions/${s.id}/accept`, second));
  ok(await call('PUT', `/v1/suggestions/${s.id}/answer`, second, { decision: 'adopted', body: '已调整' }));
  assert.equal((await inbox(b.sec))[0].event, 'approval_needed');
  assert.ok(!(await inbox(second)).some((n) => n.event === 'approval_needed'), 'not the drafter');
  ok(await call('POST', `/v1/suggestions/${s.id}/answer/approve`, b.sec));
  const ans = (await inbox(b.mem))[0];
  assert.equal(ans.event, 'answered');
  assert.equal(ans.suggestion_id, s.id);

  // Merged into another: the author of the merged one hears of it.
  const dup = await submit(b);
  ok(await call('POST', `/v1/suggestions/${dup.id}/merge`, b.sec, { into: s.id }));
  const merged = (await inbox(b.mem))[0];
  assert.deepEqual([merged.event, merged.suggestion_id], ['merged', dup.id]);

  // Published in a bulletin: the author hears of it.
  ok(await call('POST', '/v1/bulletins', b.sec, { unit_id: b.id }), 201);
  assert.equal((await inbox(b.mem))[0].event, 'published');

  // Deadlines: due soon, then overdue, then escalated to the parent.
  const d = await submit(b);
  const who = w.ids[b.com] === d.assignee_id ? b.com : com2;
  await psql(`update suggestions set answer_due = now() + interval '2 hours' where public_id = ${lit(d.id)}`);
  assert.ok(await waitFor(async () => (await inbox(who)).some((n) => n.event === 'due_soon' && n.suggestion_id === d.id), { timeoutMs: 5000, intervalMs: 100 }), 'due soon');
  await psql(`update suggestions set answer_due = now() - interval '1 day', ack_due = now() - interval '2 days' where public_id = ${lit(d.id)}`);
  assert.ok(await waitFor(async () => (await inbox(who)).some((n) => n.event === 'overdue' && n.suggestion_id === d.id), { timeoutMs: 5000, intervalMs: 100 }), 'overdue');
  await psql(`update suggestions set answer_due = now() - make_interval(days => grace_days + 1) where public_id = ${lit(d.id)}`);
  await w.account(`${b.key}rootsec`, '党委书记', 'root', ['member', 'secretary']);
  const esc = await waitFor(async () => (await inbox(`${b.key}rootsec`)).find((n) => n.event === 'escalated' && n.suggestion_id === d.id), { timeoutMs: 5000, intervalMs: 100 });
  assert.ok(esc, 'the parent unit hears of the escalation');
  await sleep(1200); // another pass of the jobs: nothing is said twice
  assert.equal((await inbox(who)).filter((n) => n.suggestion_id === d.id && n.event === 'overdue').length, 1);
  assert.equal((await inbox(who)).filter((n) => n.suggestion_id === d.id && n.event === 'due_soon').length, 1);

  // The unit's webhook heard the committee's events, not the author's.
  assert.ok(await waitFor(async () => (await deliveries(b)).every((x) => x.status === 'delivered')));
  const events = new Set(rx.requests.map((r) => r.json.event));
  for (const e of ['assigned', 'reassigned', 'submitter_message', 'approval_needed', 'due_soon', 'overdue']) assert.ok(events.has(e), `webhook heard ${e}`);
  for (const e of ['unassigned', 'answered', 'merged', 'published']) assert.ok(!events.has(e), `webhook did not hear ${e}`);
});

// ---- anonymity ---------------------------------------------------------------------------------

const voprf = ristretto255_oprf.voprf;
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
async function tokenFor(who, unit, api = ctx.api) {
  const key = (await api.get(`/v1/tokens/keys?unit=${unit}`)).body.keys[0];
  const input = crypto.randomBytes(32);
  const { blind, blinded } = voprf.blind(input, (n) => new Uint8Array(crypto.randomBytes(n)));
  const r = await api.post('/v1/tokens/issue', { token: w.tokens[who], body: { key_id: key.key_id, unit_id: unit, blinded: [b64(blinded)] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [output] = voprf.finalizeBatch([{ input, blind, blinded, evaluated: unb64(r.body.evaluated[0]) }], unb64(key.public_key), unb64(r.body.proof));
  return { key_id: key.key_id, input: b64(input), output: b64(output) };
}

test('anonymous_suggestions_produce_no_message_with_a_tracking_code_and_no_author', async () => {
  const rx = await receiver();
  const b = await branch('匿名支部', { kind: 'json', url: rx.url(), secret: 'a-secret-of-16-chars' });
  const token = await tokenFor(b.mem, b.id);
  const r = await ctx.api.post('/v1/suggestions', { body: { unit_id: b.id, category_id: w.categories.org, title: `匿名建议${tag()}`, body: '匿名正文', token } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const code = r.body.tracking_code;
  const pid = r.body.id;
  const m = await ctx.api.request('POST', '/v1/tracked/messages', { headers: { Authorization: `Tracking ${code}` }, body: { body: '匿名补充' } });
  assert.equal(m.status, 201);

  // The assignee hears of it (after the 1-second batch window of the tests).
  const got = await waitFor(async () => {
    const items = (await inbox(b.com)).filter((n) => n.suggestion_id === pid);
    return items.length === 2 ? items : null;
  }, { timeoutMs: 5000, intervalMs: 100 });
  assert.ok(got, 'assigned and submitter_message');
  assert.deepEqual(got.map((n) => n.event).sort(), ['assigned', 'submitter_message']);
  assert.ok(await waitFor(() => rx.requests.filter((x) => x.json.suggestion.id === pid).length === 2, { timeoutMs: 5000, intervalMs: 50 }));

  // The code, its compact form, the body and the author's name appear nowhere.
  const compact = code.replaceAll('-', '').toUpperCase();
  const stored = await psql(`select coalesce(string_agg(n.subject || ' ' || n.body || ' ' || n.link, ' | '), '') from notifications n join suggestions s on s.id = n.suggestion_id where s.public_id = ${lit(pid)}`) +
    await psql(`select coalesce(string_agg(payload::text, ' | '), '') from notification_outbox o join suggestions s on s.id = o.suggestion_id where s.public_id = ${lit(pid)}`);
  const sent = rx.requests.filter((x) => x.json.suggestion.id === pid).map((x) => x.raw).join('\n');
  for (const text of [stored, sent, JSON.stringify(got)]) {
    assert.ok(text.includes(pid), 'the public id is there');
    assert.ok(!text.toUpperCase().includes(compact) && !text.includes(code), 'no tracking code');
    assert.ok(!text.includes('匿名正文') && !text.includes('匿名补充'), 'no body');
    assert.ok(!text.includes('匿名支部党员'), 'no name');
  }
  // Nobody is told as the author: there is no account to tell.
  assert.equal(Number(await psql(`select count(*) from notifications n join suggestions s on s.id = n.suggestion_id where s.public_id = ${lit(pid)} and n.account_id = ${w.ids[b.mem]}`)), 0);
});

test('notices_caused_by_an_anonymous_submitter_wait_for_the_end_of_their_window', async () => {
  // Another instance with the default window (an hour) and no worker.
  const held = await startService(ctx.cluster, { ...ENV, NOTIFY_ANONYMOUS_BATCH: '3600', NOTIFY_INTERVAL_MS: '0' });
  try {
    const rx = await receiver();
    const b = await branch('延迟支部', { kind: 'json', url: rx.url(), secret: 'a-secret-of-16-chars' });
    const token = await tokenFor(b.mem, b.id);
    const r = await api(held.url).post('/v1/suggestions', { body: { unit_id: b.id, category_id: w.categories.org, title: `匿名${tag()}`, body: '正文', token } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const row = JSON.parse(await psql(`select json_build_object(
        'created', n.created_at = date_trunc('hour', now()) or n.created_at = date_trunc('hour', now()) - interval '1 hour',
        'visible', n.visible_from = n.created_at + interval '1 hour',
        'outbox_created', o.created_at = n.created_at,
        'outbox_due', o.next_attempt_at = n.visible_from)
      from notifications n join suggestions s on s.id = n.suggestion_id
      join notification_outbox o on o.suggestion_id = s.id where s.public_id = ${lit(r.body.id)}`));
    assert.deepEqual(row, { created: true, visible: true, outbox_created: true, outbox_due: true });
    // Not shown, and not sent (the first instance's worker polls every 50 ms).
    await sleep(400);
    assert.ok(!(await inbox(b.com)).some((n) => n.suggestion_id === r.body.id));
    assert.equal(rx.requests.length, 0);
    // A named suggestion through the same instance is not held.
    const named = await submit(b);
    assert.ok((await inbox(b.com)).some((n) => n.suggestion_id === named.id));
  } finally {
    assert.equal(await held.stop(), 0);
  }
});

// ---- configuration: URLs, kinds, secrets, who may ------------------------------------------------

test('webhook_urls_that_point_inward_or_are_malformed_are_refused', async () => {
  const b = await branch('校验支部');
  const svcPort = new URL(ctx.svc.url).port;
  const refused = [
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/],
    ['http://169.254.10.1/', /link-local/],
    ['http://[fe80::1]/', /link-local/],
    ['http://[::ffff:169.254.169.254]/', /169\.254\.169\.254/],
    ['http://0.0.0.0:8080/', /unspecified/],
    ['http://[::]/', /unspecified/],
    ['http://224.0.0.1/', /multicast/],
    ['http://255.255.255.255/', /broadcast/],
    [`http://127.0.0.1:${svcPort}/v1/org-units`, /own address/],
    [`http://localhost:${svcPort}/`, /own address/],
    ['ftp://example.org/hook', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['javascript:alert(1)', /scheme/],
    ['http://user:pw@127.0.0.1:9/', /user name/],
    ['http:///nohost', /./],
    [`http://127.0.0.1/${'a'.repeat(2100)}`, /./],
    ['http://exa mple.org/', /printable/],
    ['http://no-such-host.invalid/', /resolved/],
  ];
  for (const [url, why] of refused) {
    const r = await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, { kind: 'json', url, secret: 'a-secret-of-16-chars' });
    assert.equal(r.status, 422, `${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.errors[0].pointer, '/url', url);
    assert.match(r.body.errors[0].detail, why, url);
  }
  const bad = [
    [{ kind: 'json', url: 'http://127.0.0.1:9/' }, '/secret'],
    [{ kind: 'json', url: 'http://127.0.0.1:9/', secret: 'short' }, '/secret'],
    [{ kind: 'wecom', url: 'http://127.0.0.1:9/', secret: 'a-secret-of-16-chars' }, '/secret'],
    [{ kind: 'slack', url: 'http://127.0.0.1:9/' }, '/kind'],
    [{ url: 'http://127.0.0.1:9/' }, '/kind'],
  ];
  for (const [body, pointer] of bad) {
    const r = await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.ok(r.body.errors.some((e) => e.pointer === pointer), `${JSON.stringify(body)}: ${JSON.stringify(r.body.errors)}`);
  }
  assert.equal(Number(await psql(`select count(*) from webhooks where unit_id = ${b.id}`)), 0, 'nothing was stored');

  // Loopback is allowed here only because the tests set WEBHOOK_ALLOW_LOOPBACK.
  const okHook = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, { kind: 'json', url: 'http://127.0.0.1:9/x?token=supersecret', secret: 'a-secret-of-16-chars' }), 201);
  const listed = ok(await call('GET', `/v1/org-units/${b.id}/webhooks`, b.sec)).items;
  assert.deepEqual(listed, [okHook]);
  assert.ok(!JSON.stringify(listed).includes('supersecret') && !JSON.stringify(listed).includes('a-secret-of-16'));
  const sealed = await psql(`select encode(sealed, 'escape') || url_hint from webhooks where id = ${okHook.id}`);
  assert.ok(!sealed.includes('supersecret') && !sealed.includes('a-secret-of-16'), 'stored sealed');
  assert.equal(Number(await psql(`select count(*) from audit_log where action = 'webhook.create' and object_id = '${okHook.id}' and change::text not like '%supersecret%'`)), 1);
  assert.equal((await call('DELETE', `/v1/org-units/${b.id}/webhooks/${okHook.id}`, b.sec)).status, 204);
  assert.equal((await call('DELETE', `/v1/org-units/${b.id}/webhooks/${okHook.id}`, b.sec)).status, 404);
});

test('a_webhook_allowed_when_configured_is_checked_again_at_delivery', async () => {
  // Configured where loopback is allowed; delivered by an instance where it
  // is not (the first instance is paused meanwhile): the check at delivery
  // time refuses, and nothing reaches the receiver.
  const rx = await receiver();
  const b = await branch('重绑定支部', { kind: 'json', url: rx.url(), secret: 'a-secret-of-16-chars' });
  const strict = await startService(ctx.cluster, { ...ENV, WEBHOOK_ALLOW_LOOPBACK: 'false', NOTIFY_MAX_ATTEMPTS: '2' });
  const sApi = api(strict.url);
  ctx.svc.proc.kill('SIGSTOP');
  try {
    const r = await sApi.post('/v1/suggestions', { token: w.tokens[b.mem], body: { unit_id: b.id, category_id: w.categories.org, title: `重绑定${tag()}`, body: '正文' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const dead = await waitFor(async () => (await sApi.get(`/v1/org-units/${b.id}/outbox?status=dead`, { token: w.tokens[b.sec] })).body.items[0], { timeoutMs: 5000, intervalMs: 50 });
    assert.ok(dead, 'dead-lettered by the strict instance');
    assert.equal(dead.attempts, 2);
    assert.match(dead.attempt_log[0].error, /loopback/);
    assert.equal(rx.requests.length, 0, 'nothing reached the receiver');
  } finally {
    ctx.svc.proc.kill('SIGCONT');
    assert.equal(await strict.stop(), 0);
  }
});

test('only_managers_of_the_unit_configure_webhooks_and_see_deliveries', async () => {
  const b = await branch('权限支部');
  const body = { kind: 'json', url: 'http://127.0.0.1:9/', secret: 'a-secret-of-16-chars' };
  for (const who of [b.mem, b.com]) {
    assert.equal((await call('GET', `/v1/org-units/${b.id}/webhooks`, who)).status, 403);
    assert.equal((await call('POST', `/v1/org-units/${b.id}/webhooks`, who, body)).status, 403);
    assert.equal((await call('GET', `/v1/org-units/${b.id}/outbox`, who)).status, 403);
  }
  const hook = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, body), 201);
  assert.equal((await call('DELETE', `/v1/org-units/${b.id}/webhooks/${hook.id}`, b.mem)).status, 403);
  // A secretary of another unit manages nothing here.
  const other = await branch('旁支部');
  assert.equal((await call('GET', `/v1/org-units/${b.id}/webhooks`, other.sec)).status, 403);
  assert.equal((await call('DELETE', `/v1/org-units/${other.id}/webhooks/${hook.id}`, other.sec)).status, 404, "another unit's webhook is not found through this unit");
  // The secretary of the unit above manages it.
  await w.account(`${b.key}up`, '上级书记', 'root', ['member', 'secretary']);
  assert.equal(ok(await call('GET', `/v1/org-units/${b.id}/webhooks`, `${b.key}up`)).items.length, 1);
  // No session: 401; a unit that does not exist: 404.
  assert.equal((await call('GET', `/v1/org-units/${b.id}/webhooks`)).status, 401);
  assert.equal((await call('GET', '/v1/org-units/99999999/webhooks', 'admin')).status, 404);
  assert.equal((await call('GET', `/v1/org-units/${b.id}/outbox?status=lost`, b.sec)).status, 422);
});

// Issue 22: without PUBLIC_URL the links went to port 8080 whatever the
// service listened on; they now go where it listens.
test('without_public_url_the_links_go_where_the_service_listens', async (t) => {
  const { PUBLIC_URL: _, ...env } = ENV;
  const other = await startService(ctx.cluster, { ...env, NOTIFY_INTERVAL_MS: '0' });
  t.after(() => other.stop());
  const b = await branch('链接支部');
  const r = await api(other.url).post('/v1/suggestions', { token: w.tokens[b.mem], body: { unit_id: b.id, category_id: w.categories.org, title: `链接${tag()}`, body: '正文' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const link = await psql(`select n.link from notifications n join suggestions s on s.id = n.suggestion_id where s.public_id = ${lit(r.body.id)} limit 1`);
  assert.equal(link, `${other.url}/#/suggestions/${r.body.id}`);
  assert.ok(!other.url.endsWith(':8080'));
});

// Issue 22: the "due soon" reminder went out once per suggestion, so a new
// assignee after a reassignment never got one.
test('a_new_assignee_after_reassignment_gets_a_due_soon_reminder_of_their_own', async () => {
  const b = await branch('提醒支部');
  const d = await submit(b);
  assert.equal(d.assignee_id, w.ids[b.com]);
  await psql(`update suggestions set answer_due = now() + interval '2 hours' where public_id = ${lit(d.id)}`);
  const reminded = (who) => waitFor(async () => (await inbox(who)).some((n) => n.event === 'due_soon' && n.suggestion_id === d.id), { timeoutMs: 5000, intervalMs: 100 });
  assert.ok(await reminded(b.com), 'the first assignee');
  ok(await call('POST', `/v1/suggestions/${d.id}/assign`, b.sec, { assignee_id: w.ids[b.sec], reason: '书记亲自办' }));
  assert.ok(await reminded(b.sec), 'the new assignee');
  await sleep(1200); // another pass: still one each
  for (const who of [b.com, b.sec]) assert.equal((await inbox(who)).filter((n) => n.event === 'due_soon' && n.suggestion_id === d.id).length, 1, who);
});

// ---- a test message (issue 25) -------------------------------------------------------------

test('a_secretary_sends_a_test_message_that_the_robot_receives_and_the_outbox_shows', async () => {
  const robotOk = fixture('robot-answer-ok.json');
  const rx = await receiver({ respond: () => ({ status: 200, body: robotOk }) });
  const b = await branch('测试消息支部', { kind: 'wecom', url: rx.url('/cgi-bin/webhook/send?key=test-key') });
  const q = await call('POST', `/v1/org-units/${b.id}/webhooks/${b.webhook.id}/test`, b.sec);
  const queued = ok(q, 202);
  assert.equal(queued.webhook_id, b.webhook.id);
  assert.equal(queued.status, 'pending');
  assert.ok(await waitFor(() => rx.requests.length >= 1, { timeoutMs: 5000, intervalMs: 25 }), 'the robot hears it');
  const msg = rx.requests[0];
  sameShape(msg.json, fixture('wecom-markdown.json'));
  assert.equal(msg.url, '/cgi-bin/webhook/send?key=test-key');
  const content = msg.json.markdown.content;
  assert.ok(content.startsWith('**意见箱测试消息**'), content);
  const unitName = (await psql(`select name from org_units where id = ${b.id}`)).trim();
  assert.ok(content.includes(`“${unitName}”的群通知已接通`), content);
  assert.ok(content.includes(`[打开意见箱](${PUBLIC_URL}/#/)`), content);

  const d = await waitFor(async () => (await deliveries(b)).find((x) => x.id === queued.delivery_id && x.status === 'delivered'), { timeoutMs: 5000, intervalMs: 50 });
  assert.ok(d, 'the delivery shows as delivered');
  assert.equal(d.event, 'test');
  assert.equal(d.suggestion_id, null);
  assert.equal(d.attempt_log[0].http_status, 200);
  const audit = JSON.parse(await psql(`select json_agg(a) from audit_log a where action = 'webhook.test' and object_id = '${b.webhook.id}'`));
  assert.equal(audit.length, 1, 'the test message is audited');
  assert.equal(Number(audit[0].actor_id), w.ids[b.sec]);

  // The generic webhook gets it signed, with no suggestion.
  const secret = `s3cret-${crypto.randomBytes(12).toString('hex')}`;
  const json = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, { kind: 'json', url: rx.url('/json'), secret }), 201);
  const jq = ok(await call('POST', `/v1/org-units/${b.id}/webhooks/${json.id}/test`, 'admin'), 202);
  assert.ok(await waitFor(() => rx.requests.length >= 2, { timeoutMs: 5000, intervalMs: 25 }));
  const jr = rx.requests[1];
  verifySignature(jr, secret);
  assert.equal(jr.json.event, 'test');
  assert.equal(jr.json.suggestion, null);
  assert.equal(jr.json.delivery_id, jq.delivery_id);
  assert.equal(jr.headers['x-yijian-event'], 'test');
});

test('a_test_message_goes_only_to_a_webhook_of_the_unit_and_only_for_its_managers', async () => {
  const port = await closedPort();
  const b = await branch('测试权限支部', { kind: 'wecom', url: `http://127.0.0.1:${port}/cgi-bin/webhook/send?key=k` });
  const other = await branch('测试旁支部');
  for (const who of [b.mem, b.com, other.sec]) {
    const r = await call('POST', `/v1/org-units/${b.id}/webhooks/${b.webhook.id}/test`, who);
    assert.equal(r.status, 403, who);
    assert.equal(r.body.type, '/problems/forbidden');
  }
  assert.equal((await call('POST', `/v1/org-units/${b.id}/webhooks/${b.webhook.id}/test`)).status, 401);
  // Another unit's webhook is not found through this unit; nor is a made-up one, nor a bad id.
  for (const p of [`/v1/org-units/${other.id}/webhooks/${b.webhook.id}/test`, `/v1/org-units/${b.id}/webhooks/999999999/test`,
    `/v1/org-units/${b.id}/webhooks/abc/test`, `/v1/org-units/99999999/webhooks/${b.webhook.id}/test`]) {
    const r = await call('POST', p, 'admin');
    assert.equal(r.status, 404, p);
    assert.equal(r.body.type, '/problems/not-found');
  }
  assert.equal((await call('GET', `/v1/org-units/${b.id}/webhooks/${b.webhook.id}/test`, 'admin')).status, 405);
  assert.equal(Number(await psql(`select count(*) from notification_outbox where webhook_id = ${b.webhook.id}`)), 0, 'nothing was queued');
  assert.equal(Number(await psql(`select count(*) from audit_log where action = 'webhook.test' and object_id = '${b.webhook.id}'`)), 0);

  // An unreachable robot: the test message fails like any notice and becomes a dead letter.
  const q = ok(await call('POST', `/v1/org-units/${b.id}/webhooks/${b.webhook.id}/test`, b.sec), 202);
  const dead = await waitFor(async () => (await deliveries(b, b.sec, '?status=dead')).find((d) => d.id === q.delivery_id), { timeoutMs: 8000, intervalMs: 50 });
  assert.ok(dead, 'dead-lettered after its attempts');
  assert.equal(dead.event, 'test');
  assert.equal(dead.attempts, 4);

  // The schema lets only a test message go without a suggestion.
  const bad = await psql(`insert into notification_outbox (webhook_id, event, suggestion_id, payload, created_at, next_attempt_at)
    values (${b.webhook.id}, 'assigned', null, '{}', now(), now())`).catch((e) => e);
  assert.ok(bad instanceof Error, 'an assigned notice without a suggestion is refused');
});
