// Notices in a person's own work messenger (issue 24): a unit's WeCom
// application (企业微信应用消息) and DingTalk application (钉钉工作通知)
// against one fake server that speaks both vendors' server APIs as their
// documentation describes them (gettoken, then message/send or
// topapi/message/corpconversation/asyncsend_v2). The access token is
// fetched once and reused, fetched again after the vendor's expiry code;
// a message reaches the right user id; a refused one is retried, then
// dead-lettered; the secrets and tokens never reach the log, the tables
// or the API; an anonymous act's message waits for its window like the
// inbox.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { startService, waitFor } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const PUBLIC_URL = 'https://yijian.example.org';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the fake vendors ---------------------------------------------------------------------

/**
 * One server for both: /wecom/cgi-bin/gettoken, /wecom/cgi-bin/message/send,
 * /ding/gettoken, /ding/topapi/message/corpconversation/asyncsend_v2.
 * Tokens are numbered per vendor; `expire` makes the current token answer
 * the expiry code once; `refuse` maps a user id to an errcode.
 */
const fake = { requests: [], tokens: { wecom: 0, ding: 0 }, expire: new Set(), refuse: new Map() };
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    const raw = Buffer.concat(chunks).toString('utf8');
    let json = null;
    try {
      json = JSON.parse(raw);
    } catch {
      /* a GET */
    }
    const r = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), raw, json };
    fake.requests.push(r);
    const send = (body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const vendor = url.pathname.startsWith('/wecom/') ? 'wecom' : 'ding';
    if (url.pathname === '/wecom/cgi-bin/gettoken' || url.pathname === '/ding/gettoken') {
      const [id, secret] = vendor === 'wecom' ? [r.query.corpid, r.query.corpsecret] : [r.query.appkey, r.query.appsecret];
      if (!id || !secret || !secret.startsWith('good-')) return send({ errcode: 40001, errmsg: 'invalid credential' });
      fake.tokens[vendor] += 1;
      return send({ errcode: 0, errmsg: 'ok', access_token: `${vendor}-token-${fake.tokens[vendor]}`, expires_in: 7200 });
    }
    const token = r.query.access_token;
    if (!token || token !== `${vendor}-token-${fake.tokens[vendor]}`) return send({ errcode: 40014, errmsg: 'invalid access_token' });
    if (fake.expire.delete(token)) return send({ errcode: 42001, errmsg: 'access_token expired' });
    if (url.pathname === '/wecom/cgi-bin/message/send') {
      const code = fake.refuse.get(json?.touser);
      if (code) return send({ errcode: code, errmsg: 'no privilege to access/modify contact/party/agent' });
      return send({ errcode: 0, errmsg: 'ok', invaliduser: '', msgid: `m${fake.requests.length}` });
    }
    if (url.pathname === '/ding/topapi/message/corpconversation/asyncsend_v2') {
      const code = fake.refuse.get(json?.userid_list);
      if (code) return send({ errcode: code, errmsg: 'refused' });
      return send({ errcode: 0, errmsg: 'ok', task_id: fake.requests.length, request_id: 'r' });
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => new Promise((resolve) => server.close(resolve)));

const ENV = {
  WEBHOOK_ALLOW_LOOPBACK: 'true',
  NOTIFY_INTERVAL_MS: '50',
  NOTIFY_BACKOFF_BASE_MS: '40',
  NOTIFY_BACKOFF_MAX_MS: '160',
  NOTIFY_MAX_ATTEMPTS: '3',
  NOTIFY_TIMEOUT: '3',
  NOTIFY_ANONYMOUS_BATCH: '1',
  PUBLIC_URL,
  WECOM_API_BASE: `${base}/wecom`,
  DINGTALK_API_BASE: `${base}/ding/`,
};
const ctx = useService(ENV);
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const psql = (sql) => ctx.cluster.psql(sql);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const call = (method, p, who, body, headers) =>
  ctx.api.request(method, p, { token: who ? w.tokens[who] : undefined, body, headers });
function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}
const secrets = [];
const secret = () => {
  const s = `good-${crypto.randomBytes(12).toString('hex')}`;
  secrets.push(s);
  return s;
};

/** A unit of its own under root with a committee member (com, who gets the assignments), a member and a secretary. */
async function branch(name) {
  const key = `u${tag()}`;
  await w.unit(key, `${name}${tag()}`, 'branch', 'root');
  await w.portfolio(key, '组织');
  await Promise.all([
    w.account(`${key}com`, `${name}组织委员`, key, ['member', 'committee'], ['组织']),
    w.account(`${key}mem`, `${name}党员`, key),
    w.account(`${key}sec`, `${name}书记`, key, ['member', 'secretary']),
  ]);
  return { key, id: w.units[key], com: `${key}com`, mem: `${key}mem`, sec: `${key}sec` };
}
async function submit(b, who = b.mem) {
  const r = await call('POST', '/v1/suggestions', who, {
    unit_id: b.id, category_id: w.categories.org, title: `食堂开放时间${tag()}`, body: `正文不外传 ${tag()}`,
  });
  return ok(r, 201);
}
const sends = (vendor) => fake.requests.filter((r) => r.json && r.path.startsWith(`/${vendor}/`));
const gettokens = (vendor) => fake.requests.filter((r) => r.path.startsWith(`/${vendor}/`) && r.path.endsWith('/gettoken'));
const deliveries = async (b) => ok(await call('GET', `/v1/org-units/${b.id}/outbox`, b.sec)).items;

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'messenger-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织', ack_days: 2, answer_days: 10, grace_days: 3 });
});

// ---- WeCom ------------------------------------------------------------------------------------

test('wecom_application_fetches_one_token_reuses_it_and_reaches_the_right_user', async () => {
  const b = await branch('企微支部');
  const corpSecret = secret();
  const app = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, { kind: 'wecom_app', corp_id: 'ww0123abcd', agent_id: 1000002, secret: corpSecret }), 201);
  assert.equal(app.kind, 'wecom_app');
  assert.equal(app.secret_set, true);
  assert.equal(app.url, 'https://qyapi.weixin.qq.com/cgi-bin/message/send?agentid=1000002');
  assert.ok(!JSON.stringify(app).includes(corpSecret), 'the secret is not returned');
  const listed = ok(await call('GET', `/v1/org-units/${b.id}/webhooks`, b.sec)).items;
  assert.ok(!JSON.stringify(listed).includes(corpSecret) && !JSON.stringify(listed).includes('ww0123abcd'));

  // The committee member gives their WeCom user id in their settings.
  assert.deepEqual(ok(await call('GET', '/v1/me/messenger-ids', b.com)), { wecom_user_id: null, dingtalk_user_id: null });
  const uid = `ZhangSan.${seq}`;
  assert.deepEqual(ok(await call('PUT', '/v1/me/messenger-ids', b.com, { wecom_user_id: uid })), { wecom_user_id: uid, dingtalk_user_id: null });

  const before0 = gettokens('wecom').length;
  const s1 = await submit(b);
  const s2 = await submit(b);
  assert.equal(s1.assignee_id, w.ids[b.com]);
  const mine = () => sends('wecom').filter((r) => r.json.touser === uid);
  assert.ok(await waitFor(() => mine().length >= 2, { timeoutMs: 5000, intervalMs: 25 }), 'both delivered');
  assert.equal(gettokens('wecom').length - before0, 1, 'one token for both messages');
  const g = gettokens('wecom').at(-1);
  assert.equal(g.method, 'GET');
  assert.deepEqual(g.query, { corpid: 'ww0123abcd', corpsecret: corpSecret });

  const [m1, m2] = mine();
  for (const [m, s] of [[m1, s1], [m2, s2]]) {
    assert.equal(m.method, 'POST');
    assert.equal(m.path, '/wecom/cgi-bin/message/send');
    assert.equal(m.query.access_token, m1.query.access_token, 'the same token');
    assert.equal(m.json.msgtype, 'textcard');
    assert.equal(m.json.agentid, 1000002);
    assert.match(m.json.textcard.title, /新意见待处理/);
    assert.ok(m.json.textcard.description.includes(s.id) && m.json.textcard.description.includes(s.title));
    assert.equal(m.json.textcard.url, `${PUBLIC_URL}/#/suggestions/${s.id}`);
    assert.ok(Buffer.byteLength(m.json.textcard.description) <= 512);
    assert.ok(!m.raw.includes(s.body), 'the body of the suggestion is not sent');
  }
  const ds = await waitFor(async () => {
    const all = (await deliveries(b)).filter((d) => d.kind === 'wecom_app');
    return all.every((d) => d.status === 'delivered') ? all : null;
  }, { timeoutMs: 5000, intervalMs: 50 });
  assert.ok(ds, 'recorded as delivered');
  assert.deepEqual(ds.map((d) => d.attempts), [1, 1]);

  // The vendor says the token expired: a new one is fetched and the
  // message resent within the same attempt.
  fake.expire.add(m1.query.access_token);
  const s3 = await submit(b);
  assert.ok(await waitFor(() => mine().some((r) => r.json.textcard.url.endsWith(s3.id) && r.query.access_token !== m1.query.access_token), { timeoutMs: 5000, intervalMs: 25 }));
  assert.equal(gettokens('wecom').length - before0, 2, 'fetched again after 42001');
  const d3 = await waitFor(async () => (await deliveries(b)).find((d) => d.suggestion_id === s3.id && d.kind === 'wecom_app' && d.status === 'delivered'), { timeoutMs: 5000, intervalMs: 50 });
  assert.ok(d3);
  assert.equal(d3.attempts, 1);

  // A test message goes to the secretary's own WeCom id.
  ok(await call('PUT', '/v1/me/messenger-ids', b.sec, { wecom_user_id: `sec-${seq}` }));
  ok(await call('POST', `/v1/org-units/${b.id}/webhooks/${app.id}/test`, b.sec), 202);
  assert.ok(await waitFor(() => sends('wecom').some((r) => r.json.touser === `sec-${seq}` && /测试/.test(r.json.textcard.description)), { timeoutMs: 5000, intervalMs: 25 }));
});

// ---- DingTalk ------------------------------------------------------------------------------

test('dingtalk_work_notice_of_the_nearest_unit_above_reaches_the_right_user', async () => {
  // The application is the parent's: the branch below has none of its own.
  const pkey = `p${tag()}`;
  await w.unit(pkey, `钉钉党总支${tag()}`, 'general_branch', 'root');
  await w.account(`${pkey}sec`, '总支书记', pkey, ['member', 'secretary']);
  const key = `u${tag()}`;
  await w.unit(key, `钉钉支部${tag()}`, 'branch', pkey);
  await w.portfolio(key, '组织');
  await w.account(`${key}com`, '钉钉组织委员', key, ['member', 'committee'], ['组织']);
  await w.account(`${key}mem`, '钉钉党员', key);
  const b = { id: w.units[key], com: `${key}com`, mem: `${key}mem`, sec: `${pkey}sec` };
  const appSecret = secret();
  ok(await call('POST', `/v1/org-units/${w.units[pkey]}/webhooks`, `${pkey}sec`, { kind: 'dingtalk_app', app_key: 'dingabc123', agent_id: 88001, secret: appSecret }), 201);
  const uid = `0${Date.now()}${seq}`;
  ok(await call('PUT', '/v1/me/messenger-ids', b.com, { dingtalk_user_id: uid }));

  const s = await submit(b);
  const mine = () => sends('ding').filter((r) => r.json.userid_list === uid);
  assert.ok(await waitFor(() => mine().length >= 1, { timeoutMs: 5000, intervalMs: 25 }), 'delivered');
  const m = mine()[0];
  assert.equal(m.path, '/ding/topapi/message/corpconversation/asyncsend_v2');
  assert.equal(m.json.agent_id, 88001);
  assert.equal(m.json.msg.msgtype, 'markdown');
  assert.match(m.json.msg.markdown.title, /新意见待处理/);
  assert.ok(m.json.msg.markdown.text.includes(`${PUBLIC_URL}/#/suggestions/${s.id}`));
  assert.ok(!m.raw.includes(s.body));
  const g = gettokens('ding').at(-1);
  assert.deepEqual(g.query, { appkey: 'dingabc123', appsecret: appSecret });
  assert.ok(Buffer.byteLength(JSON.stringify(m.json.msg)) <= 2048);
});

// ---- failures --------------------------------------------------------------------------------

test('a_refused_message_is_retried_then_dead_lettered_and_retried_by_the_secretary', async () => {
  const b = await branch('失败支部');
  const app = ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, { kind: 'wecom_app', corp_id: 'wwfail', agent_id: 7, secret: secret() }), 201);
  const uid = `not-visible-${seq}`;
  fake.refuse.set(uid, 81013);
  ok(await call('PUT', '/v1/me/messenger-ids', b.com, { wecom_user_id: uid }));
  const s = await submit(b);
  const dead = await waitFor(async () => (await deliveries(b)).find((d) => d.suggestion_id === s.id && d.status === 'dead'), { timeoutMs: 8000, intervalMs: 50 });
  assert.ok(dead, 'dead-lettered');
  assert.equal(dead.webhook_id, app.id);
  assert.equal(dead.attempts, 3);
  assert.deepEqual(dead.attempt_log.map((a) => a.attempt), [1, 2, 3]);
  for (const a of dead.attempt_log) assert.match(a.error, /WeCom message refused: errcode 81013/);
  assert.equal(sends('wecom').filter((r) => r.json.touser === uid).length, 3);

  // Once the person is in the application's range, a retry delivers it.
  fake.refuse.delete(uid);
  ok(await call('POST', `/v1/org-units/${b.id}/outbox/${dead.id}/retry`, b.sec));
  assert.ok(await waitFor(async () => (await deliveries(b)).find((d) => d.id === dead.id && d.status === 'delivered'), { timeoutMs: 5000, intervalMs: 50 }));

  // Wrong credentials: gettoken is refused, nothing is sent, it fails.
  const bad = await branch('密钥错支部');
  ok(await call('POST', `/v1/org-units/${bad.id}/webhooks`, bad.sec, { kind: 'dingtalk_app', app_key: 'dingbad', agent_id: 9, secret: 'wrong-secret' }), 201);
  ok(await call('PUT', '/v1/me/messenger-ids', bad.com, { dingtalk_user_id: `u${seq}` }));
  const s2 = await submit(bad);
  const d2 = await waitFor(async () => (await deliveries(bad)).find((d) => d.suggestion_id === s2.id && d.status === 'dead'), { timeoutMs: 8000, intervalMs: 50 });
  assert.ok(d2);
  assert.match(d2.last_error, /DingTalk gettoken refused: errcode 40001/);
  assert.ok(!d2.last_error.includes('wrong-secret'));
});

test('configuration_is_checked_and_only_a_units_managers_may_add_an_application', async () => {
  const b = await branch('校验支部');
  const post = (who, body) => call('POST', `/v1/org-units/${b.id}/webhooks`, who, body);
  const pointers = async (who, body) => (await post(who, body)).body.errors?.map((e) => e.pointer).sort();
  assert.deepEqual(await pointers(b.sec, { kind: 'wecom_app', agent_id: 1, secret: 'x' }), ['/corp_id']);
  assert.deepEqual(await pointers(b.sec, { kind: 'wecom_app', corp_id: 'ww1', secret: 'x' }), ['/agent_id']);
  assert.deepEqual(await pointers(b.sec, { kind: 'wecom_app', corp_id: 'ww1', agent_id: 1 }), ['/secret']);
  assert.deepEqual(await pointers(b.sec, { kind: 'wecom_app', corp_id: 'ww 1', agent_id: 0, secret: 'x' }), ['/agent_id', '/corp_id']);
  assert.deepEqual(await pointers(b.sec, { kind: 'dingtalk_app', corp_id: 'ww1', app_key: 'k', agent_id: 1, secret: 'x' }), ['/corp_id']);
  assert.deepEqual(await pointers(b.sec, { kind: 'wecom_app', url: 'http://127.0.0.1/x', corp_id: 'ww1', agent_id: 1, secret: 'x' }), ['/url']);
  assert.deepEqual(await pointers(b.sec, { kind: 'weixin', url: 'http://127.0.0.1/x', secret: 'a-secret-of-16-chars' }), ['/kind']);
  assert.equal((await post(b.mem, { kind: 'wecom_app', corp_id: 'ww1', agent_id: 1, secret: 'x' })).status, 403);
  assert.equal((await post(b.com, { kind: 'wecom_app', corp_id: 'ww1', agent_id: 1, secret: 'x' })).status, 403);
  // An account's own webhook cannot be an application.
  const mine = await call('POST', '/v1/me/webhooks', b.mem, { kind: 'dingtalk_app', app_key: 'k', agent_id: 1, secret: 'x' });
  assert.equal(mine.status, 422);
  assert.equal(mine.body.errors[0].pointer, '/kind');
  // In Chinese for the web client.
  const zh = await call('POST', '/v1/me/webhooks', b.mem, { kind: 'dingtalk_app', app_key: 'k', agent_id: 1, secret: 'x' }, { 'Accept-Language': 'zh-CN' });
  assert.match(zh.body.errors[0].detail, /只能由单位设置/);

  // The user ids: the alphabet of the vendors, 1 to 64.
  for (const bad of ['', 'has space', 'x'.repeat(65), '张三', 5, ['a']]) {
    const r = await call('PUT', '/v1/me/messenger-ids', b.mem, { wecom_user_id: bad });
    assert.equal(r.status, 422, JSON.stringify(bad));
    assert.equal(r.body.errors[0].pointer, '/wecom_user_id');
  }
  assert.equal((await call('PUT', '/v1/me/messenger-ids', null, { wecom_user_id: 'a' })).status, 401);
  ok(await call('PUT', '/v1/me/messenger-ids', b.mem, { wecom_user_id: 'a-1', dingtalk_user_id: 'b_2' }));
  assert.deepEqual(ok(await call('PUT', '/v1/me/messenger-ids', b.mem, { dingtalk_user_id: null })), { wecom_user_id: null, dingtalk_user_id: null });
  const audit = await psql(`select count(*) from audit_log where action = 'account.messenger_ids' and object_id = ${lit(String(w.ids[b.mem]))}`);
  assert.equal(Number(audit), 2);
});

// ---- anonymity -----------------------------------------------------------------------------

const voprf = ristretto255_oprf.voprf;
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
async function tokenFor(who, unit) {
  const key = (await ctx.api.get(`/v1/tokens/keys?unit=${unit}`)).body.keys[0];
  const input = crypto.randomBytes(32);
  const { blind, blinded } = voprf.blind(input, (n) => new Uint8Array(crypto.randomBytes(n)));
  const r = await ctx.api.post('/v1/tokens/issue', { token: w.tokens[who], body: { key_id: key.key_id, unit_id: unit, blinded: [b64(blinded)] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [output] = voprf.finalizeBatch([{ input, blind, blinded, evaluated: unb64(r.body.evaluated[0]) }], unb64(key.public_key), unb64(r.body.proof));
  return { key_id: key.key_id, input: b64(input), output: b64(output) };
}

test('a_message_caused_by_an_anonymous_submitter_waits_for_its_window_like_the_inbox', async () => {
  // Another instance with an hour's window and no worker.
  const held = await startService(ctx.cluster, { ...ENV, NOTIFY_ANONYMOUS_BATCH: '3600', NOTIFY_INTERVAL_MS: '0' });
  try {
    const b = await branch('匿名支部');
    ok(await call('POST', `/v1/org-units/${b.id}/webhooks`, b.sec, { kind: 'wecom_app', corp_id: 'wwanon', agent_id: 3, secret: secret() }), 201);
    const uid = `anon-watch-${seq}`;
    ok(await call('PUT', '/v1/me/messenger-ids', b.com, { wecom_user_id: uid }));
    const token = await tokenFor(b.mem, b.id);
    const r = await api(held.url).post('/v1/suggestions', { body: { unit_id: b.id, category_id: w.categories.org, title: `匿名${tag()}`, body: '正文', token } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const row = JSON.parse(await psql(`select json_build_object(
        'recipient', o.recipient_id = ${w.ids[b.com]},
        'created', o.created_at = n.created_at,
        'due', o.next_attempt_at = n.visible_from,
        'held', n.visible_from > now())
      from notifications n join suggestions s on s.id = n.suggestion_id
      join notification_outbox o on o.suggestion_id = s.id join webhooks h on h.id = o.webhook_id
      where s.public_id = ${lit(r.body.id)} and h.kind = 'wecom_app'`));
    assert.deepEqual(row, { recipient: true, created: true, due: true, held: true });
    await sleep(300); // several polls of the first instance's worker
    assert.equal(sends('wecom').filter((x) => x.json.touser === uid).length, 0, 'not sent before the window ends');
  } finally {
    assert.equal(await held.stop(), 0);
  }
});

// ---- secrets -------------------------------------------------------------------------------

test('secrets_and_access_tokens_reach_neither_the_log_nor_the_tables', async () => {
  assert.ok(secrets.length >= 3);
  const tokens = [...Array(fake.tokens.wecom).keys()].map((i) => `wecom-token-${i + 1}`)
    .concat([...Array(fake.tokens.ding).keys()].map((i) => `ding-token-${i + 1}`));
  assert.ok(tokens.length >= 2, 'tokens were issued');
  const log = ctx.svc.logs.map((l) => l.line).join('\n');
  const stored = await psql(`select concat_ws(' | ',
      (select string_agg(coalesce(error, ''), ' ') from notification_attempts),
      (select string_agg(coalesce(last_error, '') || payload::text, ' ') from notification_outbox),
      (select string_agg(url_hint, ' ') from webhooks),
      (select string_agg(change::text, ' ') from audit_log))`);
  for (const s of [...secrets, ...tokens]) {
    assert.ok(!log.includes(s), `not in the service log: ${s}`);
    assert.ok(!stored.includes(s), `not in the tables: ${s}`);
  }
});
