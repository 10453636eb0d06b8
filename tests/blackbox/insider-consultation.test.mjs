// The insider test (issue 20) for consultation answers (issue 23): members
// answer a consultation with and without their names, and replace an
// anonymous answer with its tracking code, watched the way an insider
// would watch it (lib/insider.mjs: every table with its rows' ids, xmin
// and xmax, /metrics, the service's log and PostgreSQL's) and the way the
// committee does (the consultation's counts, the list, the notices). For
// each anonymous act nothing of that may change from just before its
// arrival to just after its answer, apart from the sealed hold (held_acts,
// and the token's spent_tokens row for an answer); nothing of it shows
// before its window's release, and all of it after.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { useService } from './lib/fixture.mjs';
import { insiderRecorder } from './lib/insider.mjs';
import { worldBuilder } from './lib/world.mjs';

const WINDOW = 40;
const ctx = useService({ ANON_RELEASE_WINDOW: String(WINDOW), SEAL_INTERVAL: '1', JOBS_INTERVAL: '1' });
let w;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextBoundary = (t = Date.now()) => (Math.floor(t / 1000 / WINDOW) + 1) * WINDOW * 1000;
const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5'];
const POLLED = /route="\/(metrics|v1\/consultations(\/\{id\})?|v1\/notifications)",method="GET"/;
const rec = insiderRecorder(ctx, POLLED);

const voprf = ristretto255_oprf.voprf;
const rng = (n) => new Uint8Array(crypto.randomBytes(n));
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const iso = (offsetSeconds) => new Date(Date.now() + offsetSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'insider-consult-admin' });
  await w.unit('b', '内部支部', 'branch');
  await w.account('com', '委员', 'b', ['member', 'committee']);
  await w.account('sec', '书记', 'b', ['member', 'secretary']);
  for (const [i, m] of MEMBERS.entries()) await w.account(m, `成员${i + 1}`, 'b', ['member']);
});

/** The member's client takes its one token when it shows the consultation. */
async function takeToken(id, who) {
  const k = (await ctx.api.get(`/v1/consultations/${id}`, { token: w.tokens[who] })).body;
  const input = crypto.randomBytes(32);
  const { blind, blinded } = voprf.blind(input, rng);
  const r = await ctx.api.post(`/v1/consultations/${id}/token`, { token: w.tokens[who], body: { blinded: b64(blinded) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [output] = voprf.finalizeBatch([{ input, blind, blinded, evaluated: unb64(r.body.evaluated) }], unb64(k.token_key), unb64(r.body.proof));
  return { input: b64(input), output: b64(output) };
}

test('an_insider_sees_nothing_of_an_anonymous_consultation_answer_before_its_release', async () => {
  const pgLog = path.join(ctx.cluster.dir, 'log', 'postgres.log');
  const pgSize = () => (fs.existsSync(pgLog) ? fs.statSync(pgLog).size : 0);
  const d = await ctx.api.post(`/v1/org-units/${w.units.b}/consultations`, {
    token: w.tokens.com,
    body: {
      kind: 'blank', title: '关于学习安排的意见', body: '请提出意见。', answer_mode: 'anonymous_allowed',
      questions: [{ kind: 'single', prompt: '态度', choices: ['赞成', '不赞成'] }, { kind: 'text', prompt: '意见' }],
      opens_at: iso(-60), closes_at: iso(3600),
    },
  });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const id = d.body.id;
  assert.equal((await ctx.api.post(`/v1/consultations/${id}/open`, { token: w.tokens.sec })).status, 200);
  const tokens = {};
  for (const m of MEMBERS) tokens[m] = await takeToken(id, m);

  /** What the committee member and the secretary see. */
  async function viewsNow() {
    const out = [];
    for (const who of ['com', 'sec']) {
      for (const p of [`/v1/consultations/${id}`, '/v1/consultations', '/v1/notifications']) {
        const r = await ctx.api.get(p, { token: w.tokens[who], headers: { 'X-Request-Id': rec.pollId() } });
        assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
        out.push(r.body);
      }
    }
    return out;
  }

  // The period: one window, with room for the whole script.
  if (nextBoundary() - Date.now() < (WINDOW - 3) * 1000) await sleep(nextBoundary() - Date.now() + 200);
  const release = nextBoundary();
  const codes = {};
  const anon = (m, answers) => ctx.api.post(`/v1/consultations/${id}/anonymous-answer`, { body: { token: tokens[m], answers } });
  const change = (m, answers) => ctx.api.request('PUT', `/v1/consultations/${id}/anonymous-answer/mine`, { headers: { Authorization: `Tracking ${codes[m]}` }, body: { answers } });
  const named = (m, answers) => ctx.api.request('PUT', `/v1/consultations/${id}/answer`, { token: w.tokens[m], body: { answers, token: tokens[m] } });
  const script = [
    ['named', 'm1', () => named('m1', { 1: '赞成', 2: '署名意见' })],
    ['anon', 'answer', 'm2', () => anon('m2', { 1: '不赞成', 2: '匿名意见二' })],
    ['anon', 'answer', 'm3', () => anon('m3', { 1: '赞成', 2: '匿名意见三' })],
    ['named', 'm4', () => named('m4', { 1: '不赞成' })],
    ['anon', 'change', 'm2', () => change('m2', { 1: '赞成', 2: '改过的意见' })],
  ];
  for (const step of script) {
    if (step[0] === 'named') {
      const r = await step[2]();
      assert.ok(r.status < 300, `named answer of ${step[1]}: ${r.status} ${JSON.stringify(r.body)}`);
      continue;
    }
    const [, kind, who, run] = step;
    const what = `${kind} of ${who}`;
    await sleep(1200); // the named act before is sealed into the audit chain meanwhile
    const views0 = await viewsNow();
    const metrics0 = rec.metricLines(await rec.metricsNow());
    const pg0 = pgSize();
    const log0 = ctx.svc.logs.length;
    const tables0 = await rec.tablesNow();
    const r = await run();
    const tables1 = await rec.tablesNow();
    assert.equal(r.status, 202, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    if (kind === 'answer') codes[who] = r.body.tracking_code;
    assert.deepEqual(tables1.tables, tables0.tables, `${what}: a table (rows, ids, xmin or xmax) changed at its arrival`);
    assert.equal(tables1.held, tables0.held + 1, `${what}: held`);
    assert.equal(tables1.spent, tables0.spent + (kind === 'answer' ? 1 : 0), `${what}: its token spent, nothing else`);
    await sleep(50);
    assert.deepEqual(rec.logSince(log0).map((l) => l.line), [], `${what}: a line in the service's log`);
    assert.equal(pgSize() === pg0 ? '' : fs.readFileSync(pgLog).subarray(pg0).toString('utf8'), '', `${what}: a line in PostgreSQL's log`);
    assert.deepEqual(await viewsNow(), views0, `${what}: the counts, the list or a notice changed at its arrival`);
    assert.deepEqual(rec.metricLines(await rec.metricsNow()), metrics0, `${what}: /metrics changed at its arrival`);
    assert.equal(Date.parse(r.body.release_at), release, `${what}: released at the window's end`);
  }
  assert.ok(Date.now() < release, 'the script ran within the window');

  // Until the release nothing anonymous shows: named answers only.
  const staff = (await ctx.api.get(`/v1/consultations/${id}`, { token: w.tokens.com })).body;
  assert.deepEqual(staff.counts, { named: 2, anonymous: 0, eligible: 7 });
  await sleep(release - Date.now() + 2500);
  // At the release all of it, in one go; the change after its answer.
  assert.equal(Number(await ctx.cluster.psql('select count(*) from held_acts')), 0);
  const after = (await ctx.api.get(`/v1/consultations/${id}`, { token: w.tokens.com })).body;
  assert.deepEqual(after.counts, { named: 2, anonymous: 2, eligible: 7 });
  const m2 = await ctx.api.get(`/v1/consultations/${id}/anonymous-answer/mine`, { headers: { Authorization: `Tracking ${codes.m2}` } });
  assert.deepEqual(m2.body.answers, { 1: '赞成', 2: '改过的意见' });
  const xmins = (await ctx.cluster.psql(`select xmin from consultation_answers where consultation_id = ${id} and anonymous`)).split('\n').filter(Boolean);
  assert.equal(xmins.length, 2);
});
