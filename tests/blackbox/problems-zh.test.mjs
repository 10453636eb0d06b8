// Problems in the caller's language: every error provoked here is asked
// once with `Accept-Language: zh-CN` (what the web client sends), whose
// title, detail and field details must be Chinese sentences (the contract
// client checks that for every Chinese request, lib/contract.mjs
// checkChinese), and once without, which stays English. type, status and
// pointers are the same in both.
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, test } from 'node:test';

import { checkChinese, isChineseText, problemsSeen } from './lib/contract.mjs';
import { problemsWithoutChinese, useService } from './lib/fixture.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService();
const ZH = { 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' };
const EN = { 'Accept-Language': 'en-US,en;q=0.9' };
let w;
const seen = new Set();

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx);
  await w.unit('branch', '第一党支部', 'branch');
  await w.portfolio('branch', '组织');
  await w.category('life', 'branch', { name: '组织生活', portfolio: '组织' });
  await w.account('mem', '党员甲', 'branch', ['member']);
  await w.account('sec', '书记乙', 'branch', ['member', 'secretary']);
  await w.account('com', '支委丙', 'branch', ['member', 'committee'], ['组织']);
});

/** The same request in Chinese and in English (a refused request stores nothing, so twice is harmless). */
async function both(method, path, opts = {}) {
  const zh = await ctx.api.request(method, path, { ...opts, headers: { ...(opts.headers ?? {}), ...ZH } });
  const en = await ctx.api.request(method, path, { ...opts, headers: { ...(opts.headers ?? {}), ...EN } });
  assert.ok(zh.status >= 400, `${method} ${path}: ${zh.status}`);
  assert.equal(zh.status, en.status);
  assert.equal(zh.body.type, en.body.type);
  assert.match(zh.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(zh.headers.get('content-language'), 'zh-CN');
  assert.equal(en.headers.get('content-language'), 'en');
  assert.match(zh.headers.get('vary') ?? '', /Accept-Language/);
  checkChinese(method, path, zh.body);
  assert.ok(!isChineseText(en.body.title), `English title for English callers: ${en.body.title}`);
  if (en.body.detail !== undefined) assert.ok(!/[\u4e00-\u9fff]/.test(en.body.detail), en.body.detail);
  assert.deepEqual((zh.body.errors ?? []).map((e) => e.pointer), (en.body.errors ?? []).map((e) => e.pointer));
  seen.add(zh.body.type);
  return { zh: zh.body, en: en.body };
}

/** A raw request, for what fetch will not send (bad UTF-8, a long URI). */
function raw(method, path, headers, body) {
  const url = new URL(ctx.svc.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('field_errors_are_chinese_sentences_tied_to_their_pointers', async () => {
  const { zh, en } = await both('POST', '/v1/suggestions', { token: w.tokens.mem, body: { unit_id: 'x', title: 5 } });
  assert.equal(zh.type, '/problems/validation-failed');
  assert.equal(zh.title, '填写的内容有误');
  const byPointer = Object.fromEntries(zh.errors.map((e) => [e.pointer, e.detail]));
  assert.equal(byPointer['/title'], '须为文字');
  assert.ok(en.errors.some((e) => e.detail === 'must be a string'));
  // A formatted detail: its numbers in place, the sentence whole.
  const long = await both('POST', '/v1/suggestions', { token: w.tokens.mem, body: { unit_id: w.units.branch, category_id: w.categories.life, title: '标'.repeat(300), body: '内容' } });
  assert.match(long.zh.errors.find((e) => e.pointer === '/title').detail, /^长度须为 1 到 \d+ 个字$/);
});

test('workflow_refusals_name_the_status_in_chinese', async () => {
  const s = await ctx.api.post('/v1/suggestions', { token: w.tokens.mem, body: { unit_id: w.units.branch, category_id: w.categories.life, title: '中文问题测试', body: '内容' } });
  assert.equal(s.status, 201);
  assert.equal((await ctx.api.post(`/v1/suggestions/${s.body.id}/accept`, { token: w.tokens.sec })).status, 200);
  const again = await both('POST', `/v1/suggestions/${s.body.id}/accept`, { token: w.tokens.sec });
  assert.equal(again.zh.detail, '这条意见已受理，不能再受理');
  assert.equal(again.en.detail, 'cannot accept a suggestion that is accepted');
  const reason = await both('PUT', `/v1/suggestions/${s.body.id}/answer`, { token: w.tokens.sec, body: { decision: 'not_adopted', body: '不行' } });
  assert.equal(reason.zh.errors[0].detail, '不采纳时必须填写理由');
  const merge = await both('POST', `/v1/suggestions/${s.body.id}/merge`, { token: w.tokens.sec, body: { into: 'S-ZZZZZZ' } });
  assert.ok(merge.zh.detail ?? merge.zh.errors?.[0]?.detail);
  const withdraw = await both('POST', `/v1/suggestions/${s.body.id}/withdraw`, { token: w.tokens.sec });
  assert.equal(withdraw.zh.type, '/problems/forbidden');
  assert.equal(withdraw.zh.detail, '只有提出人可以撤回');
  const cosign = await both('POST', `/v1/suggestions/${s.body.id}/cosign`, { token: w.tokens.mem });
  assert.equal(cosign.zh.type, '/problems/conflict');
  const list = await both('GET', '/v1/suggestions?limit=1000', { token: w.tokens.sec });
  assert.equal(list.zh.errors[0].detail, '查询参数 limit 须为 1 到 100 之间的数');
});

test('each_kind_of_problem_the_service_answers_is_chinese_when_asked', async () => {
  await both('GET', '/v1/me');
  await both('GET', '/v1/me', { token: 'not-a-session' });
  await both('POST', '/v1/auth/login', { body: { login: 'nobody', password: 'wrong password here' } });
  await both('POST', '/v1/auth/activate', { body: { login: 'nobody', code: 'AAAA-BBBB-CCCC', password: 'correct horse battery' } });
  await both('POST', '/v1/org-units', { token: w.tokens.mem, body: { name: 'x', level: 'group', parent_id: w.units.branch } });
  await both('GET', '/v1/suggestions/S-ZZZZZZ', { token: w.tokens.mem });
  await both('GET', '/v1/no-such-path');
  await both('DELETE', '/v1/me', { token: w.tokens.mem });
  await both('POST', '/v1/auth/login', { raw: '{"login":', headers: { 'Content-Type': 'application/json' } });
  await both('POST', '/v1/auth/login', { raw: 'login=x', headers: { 'Content-Type': 'text/plain' } });
  await both('POST', '/v1/auth/login', { raw: `{"login":"${'x'.repeat(70000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await both('GET', '/v1/tracked', { headers: { Authorization: 'Tracking 0000000000000000000000000A' } });
  const keys = await ctx.api.get(`/v1/tokens/keys?unit=${w.units.branch}`);
  const key = keys.body.keys[0];
  const fake = { key_id: key.key_id, input: 'A'.repeat(43), output: 'A'.repeat(86) };
  await both('POST', '/v1/suggestions', { body: { unit_id: w.units.branch, category_id: w.categories.life, title: 't', body: 'b', token: fake } });
  const blinded = Array.from({ length: 11 }, () => 'AA'.repeat(21) + 'A');
  await both('POST', '/v1/tokens/issue', { token: w.tokens.mem, body: { key_id: key.key_id, unit_id: w.units.branch, blinded } });
  for (const [headers, body] of [[{ 'Content-Type': 'application/json', 'Accept-Language': 'zh-CN' }, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])]]) {
    const r = await raw('POST', '/v1/auth/login', headers, body);
    assert.equal(r.body.type, '/problems/invalid-utf8');
    checkChinese('POST', '/v1/auth/login', r.body);
    seen.add(r.body.type);
  }
  const longUri = await raw('GET', `/v1/suggestions?q=${'x'.repeat(9000)}`, { 'Accept-Language': 'zh-CN' });
  if (longUri.body?.type) {
    checkChinese('GET', '/v1/suggestions', longUri.body);
    seen.add(longUri.body.type);
  }
  // Too many wrong passwords for one login.
  let last;
  for (let i = 0; i < 12 && last?.status !== 429; i++) {
    last = await ctx.api.post('/v1/auth/login', { body: { login: w.logins.mem, password: 'wrong password again' }, headers: ZH });
  }
  assert.equal(last.status, 429);
  checkChinese('POST', '/v1/auth/login', last.body);
  seen.add(last.body.type);
  const want = ['unauthorized', 'invalid-credentials', 'activation-failed', 'forbidden', 'not-found', 'method-not-allowed', 'malformed-json',
    'unsupported-media-type', 'payload-too-large', 'invalid-tracking-code', 'validation-failed', 'invalid-utf8', 'too-many-attempts', 'conflict'];
  for (const t of want) assert.ok(seen.has(`/problems/${t}`), `provoked ${t}: ${[...seen].join(' ')}`);
});

test('without_accept_language_problems_stay_english', async () => {
  const r = await ctx.api.get('/v1/me');
  assert.equal(r.body.title, 'Sign-in required');
  assert.equal(r.headers.get('content-language'), 'en');
});

// problemsWithoutChinese (lib/fixture.mjs) puts each problem a file
// provoked in English through `yijian problem-text`; it must tell a detail
// the catalogue lacks, an unknown type, and a field detail alike.
test('the_end_of_file_check_finds_a_detail_without_chinese_text', () => {
  const seenHere = new Map([
    ['a', { type: '/problems/not-found', detail: 'no such webhook', request: 'GET /a' }],
    ['b', { type: '/problems/validation-failed', errors: ['must be a string', 'is required'], request: 'POST /b' }],
  ]);
  assert.deepEqual(problemsWithoutChinese(seenHere), []);
  seenHere.set('c', { type: '/problems/not-found', detail: 'a sentence nobody translated', request: 'GET /c' });
  seenHere.set('d', { type: '/problems/validation-failed', errors: ['must be a string', 'an untranslated field detail'], request: 'POST /d' });
  seenHere.set('e', { type: '/problems/no-such-kind', request: 'GET /e' });
  const bad = problemsWithoutChinese(seenHere);
  assert.equal(bad.length, 3, bad.join('\n'));
  assert.match(bad[0], /^GET \/c: .*a sentence nobody translated/);
  assert.match(bad[1], /^POST \/d: .*an untranslated field detail/);
  assert.match(bad[2], /^GET \/e: .*title/);
  // This file's own English problems, all of them.
  assert.ok(problemsSeen.size > 0);
  assert.deepEqual(problemsWithoutChinese(), []);
});
