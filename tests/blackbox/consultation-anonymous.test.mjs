// Anonymous answers to a consultation (issue 23): a consultation of 30
// members answered with and without names — every member's client takes
// its one token of the consultation, a second is refused; an anonymous
// answer is held until its release window ends and counted only then; a
// member who answered with their name spent their token with it, so no
// member answers twice either way (also with 20 racing requests); the
// committee sees counts only; the holder of a tracking code replaces the
// answer until the close; results wait for the last held answers and
// withhold small figures; every text answer is in one theme or not yet
// grouped; and the schema's rules against a writer in plain SQL.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { useService } from './lib/fixture.mjs';
import { worldBuilder } from './lib/world.mjs';

const WINDOW = 3;
const ctx = useService({ ANON_RELEASE_WINDOW: String(WINDOW), JOBS_INTERVAL: '1' });
let w;
const MEMBERS = 28; // with comA and secA: 30 asked

const voprf = ristretto255_oprf.voprf;
const rng = (n) => new Uint8Array(crypto.randomBytes(n));
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const psql = (sql) => ctx.cluster.psql(sql);
const asService = (sql) => ctx.cluster.psqlAs('yijian', sql);
const iso = (offsetSeconds) => new Date(Date.now() + offsetSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const get = (path, who) => ctx.api.get(path, { token: w.tokens[who] });
const post = (path, who, body) => ctx.api.post(path, { token: w.tokens[who], body });
const named = (id, who, answers, token) => ctx.api.request('PUT', `/v1/consultations/${id}/answer`, { token: w.tokens[who], body: token ? { answers, token } : { answers } });
const anonymous = (id, token, answers) => ctx.api.post(`/v1/consultations/${id}/anonymous-answer`, { body: { token, answers } });
const mine = (method, id, code, body) => ctx.api.request(method, `/v1/consultations/${id}/anonymous-answer/mine`, { headers: { Authorization: `Tracking ${code}` }, body });

function assertRefused(r, what) {
  assert.notEqual(r.code, 0, `${what} should fail, but psql exited 0:\n${r.stdout}`);
  assert.match(r.stderr, /consultation|duplicate key|permission denied/i, `${what}: ${r.stderr}`);
}

/** What a member's client does when it first shows the consultation: takes its one token. */
async function takeToken(k, who) {
  const input = crypto.randomBytes(32);
  const { blind, blinded } = voprf.blind(input, rng);
  const r = await post(`/v1/consultations/${k.id}/token`, who, { blinded: b64(blinded) });
  assert.equal(r.status, 200, `${who}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.public_key, k.token_key, 'the key every member is shown');
  const [output] = voprf.finalizeBatch([{ input, blind, blinded, evaluated: unb64(r.body.evaluated) }], unb64(k.token_key), unb64(r.body.proof));
  return { input: b64(input), output: b64(output) };
}

const countsOf = async (id) => (await get(`/v1/consultations/${id}`, 'comA')).body.counts;
/** Polls until f() is truthy (the release runs each second at the window's end). */
async function until(f, what, ms = (WINDOW + 8) * 1000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await sleep(250);
  }
}

const QUESTIONS = [
  { kind: 'single', prompt: '态度', choices: ['赞成', '不赞成'] },
  { kind: 'rating', prompt: '满意度' },
  { kind: 'text', prompt: '意见和建议' },
  { kind: 'rating', prompt: '很少人答的题' },
];

async function opened(extra = {}) {
  const d = await post(`/v1/org-units/${w.units.A}/consultations`, 'comA', {
    kind: 'blank', title: '关于支部活动安排的意见', body: '请对下半年的活动安排提出意见。',
    answer_mode: 'anonymous_allowed', questions: QUESTIONS, opens_at: iso(-60), closes_at: iso(3600), ...extra,
  });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const o = await post(`/v1/consultations/${d.body.id}/open`, 'secA');
  assert.equal(o.status, 200, JSON.stringify(o.body));
  const k = (await get(`/v1/consultations/${d.body.id}`, 'm1')).body;
  return k;
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'consult-anon-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.account('secA', '书记甲', 'A', ['member', 'secretary']);
  await w.account('comA', '组织委员甲', 'A', ['member', 'committee']);
  await w.account('memB', '党员乙', 'B');
  for (let i = 1; i <= MEMBERS; i++) await w.account(`m${i}`, `党员${i}`, 'A');
});

test('thirty_members_answer_once_each_with_or_without_a_name_and_the_committee_sees_counts_only', async () => {
  const k = await opened();
  assert.match(k.token_key, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(k.you.token_taken, false);
  assert.ok(k.release_until, 'the release time is fixed at opening');

  // Every member's client takes its token when it shows the consultation.
  const asked = ['secA', 'comA', ...Array.from({ length: MEMBERS }, (_, i) => `m${i + 1}`)];
  const tokens = {};
  for (const who of asked) tokens[who] = await takeToken(k, who);
  assert.equal((await get(`/v1/consultations/${k.id}`, 'm1')).body.you.token_taken, true);
  assert.equal(await psql(`select count(*) from consultation_tokens where consultation_id = ${k.id}`), '30');
  // A second token is refused, also when asked for 20 times at once.
  const again = await Promise.all(Array.from({ length: 20 }, () => post(`/v1/consultations/${k.id}/token`, 'm1', { blinded: b64(voprf.blind(crypto.randomBytes(32), rng).blinded) })));
  assert.deepEqual([...new Set(again.map((r) => r.status))], [409], 'no second token');
  assert.equal((await post(`/v1/consultations/${k.id}/token`, 'memB', { blinded: b64(voprf.blind(crypto.randomBytes(32), rng).blinded) })).status, 404, 'not asked, not shown');

  // m1..m10 answer with their names, spending their token with it.
  for (let i = 1; i <= 10; i++) {
    const r = await named(k.id, `m${i}`, { 1: i % 2 ? '赞成' : '不赞成', 2: (i % 5) + 1, 3: `署名意见 ${i}` }, tokens[`m${i}`]);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // Without the token a first named answer is refused: the token was issued.
  assert.equal((await named(k.id, 'm11', { 1: '赞成' })).status, 409);
  // A named answer's token cannot answer again anonymously.
  assert.equal((await anonymous(k.id, tokens.m1, { 1: '赞成' })).status, 409);

  // m11..m25 answer anonymously: held, answered at once with a tracking code.
  const codes = {};
  assert.equal((await countsOf(k.id)).anonymous, 0);
  for (let i = 11; i <= 25; i++) {
    const r = await anonymous(k.id, tokens[`m${i}`], { 1: i % 3 ? '赞成' : '不赞成', 2: (i % 5) + 1, 3: `匿名意见 ${i}`, ...(i <= 13 ? { 4: 3 } : {}) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.status, 'pending');
    assert.match(r.body.tracking_code, /^[0-9A-Z]{26}$/);
    codes[`m${i}`] = r.body.tracking_code;
    if (i === 11) {
      // Held: not counted, not stored, until its window's end.
      const at = Date.now();
      const c = await countsOf(k.id);
      if (at < Date.parse(r.body.release_at) - 200) assert.equal(c.anonymous, 0, 'a held answer is not counted before its release');
    }
  }
  // The same token once more: refused; 20 racing with one token: none taken.
  assert.equal((await anonymous(k.id, tokens.m11, { 1: '不赞成' })).status, 409);
  const race = await Promise.all(Array.from({ length: 20 }, (_, j) => anonymous(k.id, tokens.m12, { 1: '赞成', 3: `抢答 ${j}` })));
  assert.deepEqual([...new Set(race.map((r) => r.status))], [409]);
  // A member who answered anonymously has no token left for a named answer.
  assert.equal((await named(k.id, 'm11', { 1: '赞成' })).status, 409);
  assert.equal((await named(k.id, 'm11', { 1: '赞成' }, tokens.m11)).status, 409, 'its token is spent');
  // 20 racing named answers with one session (and its token) make one answer.
  const named20 = await Promise.all(Array.from({ length: 20 }, (_, j) => named(k.id, 'm26', { 1: '赞成', 3: `并发 ${j}` }, tokens.m26)));
  assert.equal(named20.filter((r) => r.status === 201).length, 1, JSON.stringify(named20.map((r) => r.status)));
  assert.ok(named20.every((r) => r.status === 201 || r.status === 200));
  assert.equal(await psql(`select count(*) from consultation_answers where consultation_id = ${k.id} and account_id = ${w.ids.m26}`), '1');

  // Then all of it, at the release.
  const released = await until(async () => { const c = await countsOf(k.id); return c.anonymous === 15 && c; }, 'the release');
  assert.deepEqual(released, { named: 11, anonymous: 15, eligible: 30 });
  // The committee sees counts, never who: no account, no time on an anonymous answer.
  const staffView = await get(`/v1/consultations/${k.id}`, 'comA');
  assert.equal(staffView.body.you.answer, null);
  assert.equal(await psql(`select count(*) from consultation_answers where consultation_id = ${k.id} and anonymous and (account_id is not null or created_at is not null or updated_at is not null)`), '0');
  assert.equal(await psql(`select count(*) from audit_log where object_type = 'consultation' and object_id = '${k.id}' and action = 'consultation.answer' and actor_kind = 'anonymous' and actor_id is null`), '15');

  // The holder of a code reads and replaces the answer until the close.
  const seen = await mine('GET', k.id, codes.m14);
  assert.equal(seen.status, 200, JSON.stringify(seen.body));
  assert.equal(seen.body.answers[3], '匿名意见 14');
  const change = await mine('PUT', k.id, codes.m14, { answers: { 1: '不赞成', 3: '改过的意见' } });
  assert.equal(change.status, 202, JSON.stringify(change.body));
  const at = Date.now();
  const pending = (await mine('GET', k.id, codes.m14)).body;
  if (at < Date.parse(change.body.release_at) - 200) {
    assert.equal(pending.answers[3], '匿名意见 14', 'replaced only at the release');
    assert.deepEqual(pending.held.map((h) => h.kind), ['consultation_answer_change']);
  }
  await until(async () => (await mine('GET', k.id, codes.m14)).body.answers[3] === '改过的意见', 'the replacement');
  assert.equal((await countsOf(k.id)).anonymous, 15, 'a replacement is no second answer');
  assert.equal((await mine('GET', k.id, '0000000000000000000000000A')).status, 401);
  assert.equal((await mine('GET', k.id + 1000, codes.m14)).status, 401, 'a code holds nothing of another consultation');

  // Close: the results wait for answers still held, then withhold small figures.
  const c = await post(`/v1/consultations/${k.id}/close`, 'secA');
  assert.equal(c.status, 200);
  assert.equal((await anonymous(k.id, tokens.m27, { 1: '赞成' })).status, 409, 'no anonymous answer after the close');
  assert.equal((await mine('PUT', k.id, codes.m15, { answers: { 1: '赞成' } })).status, 409, 'no replacement after the close');
  const res = await until(async () => { const r = await get(`/v1/consultations/${k.id}/results`, 'comA'); return r.status === 200 && r; }, 'the results');
  const [single, rating, text, few] = res.body.questions;
  assert.equal(single.answers, 26);
  assert.equal(single.counts.reduce((a, x) => a + x.count, 0), 26);
  assert.equal(rating.withheld, false);
  assert.equal(text.texts.length, 26);
  assert.ok(text.texts.includes('改过的意见') && !text.texts.includes('匿名意见 14'));
  assert.equal(few.answers, 3);
  assert.equal(few.withheld, true, 'a figure from 3 answers is withheld');
  assert.ok(!JSON.stringify(res.body).includes('党员'), 'no names in the results');

  // Every text answer in exactly one theme or not yet grouped.
  const themesUrl = `/v1/consultations/${k.id}/themes`;
  const t1 = await post(themesUrl, 'comA', { title: '活动形式' });
  const t2 = await post(themesUrl, 'secA', { title: '时间安排' });
  assert.equal(t2.status, 201);
  const [idA, idB] = t2.body.themes.map((t) => t.id);
  assert.ok(t1.status === 201 && idA && idB);
  let g = (await get(themesUrl, 'comA')).body;
  const items = g.ungrouped.map((x) => x.item);
  assert.equal(items.length, 26);
  const put = (theme, list) => ctx.api.request('PUT', `${themesUrl}/${theme}/items`, { token: w.tokens.comA, body: { items: list } });
  assert.equal((await put(idA, items.slice(0, 10))).status, 200);
  assert.equal((await put(idB, items.slice(8, 20))).status, 200);
  g = (await get(themesUrl, 'comA')).body;
  const all = [...g.themes.flatMap((t) => t.items.map((x) => x.item)), ...g.ungrouped.map((x) => x.item)];
  assert.equal(all.length, 26);
  assert.deepEqual([...all].sort(), [...items].sort(), 'none lost, none twice');
});

test('the_schema_holds_tokens_and_anonymous_answers_for_every_writer', async () => {
  const k = await opened();
  const t = await takeToken(k, 'm1');
  assert.ok(t.output);
  // One token per member, only to those it asks.
  assertRefused(await asService(`insert into consultation_tokens values (${k.id}, ${w.ids.m1})`), 'a second token row in SQL');
  assertRefused(await asService(`insert into consultation_tokens values (${k.id}, ${w.ids.memB})`), 'a token of someone not asked in SQL');
  assertRefused(await asService(`delete from consultation_tokens where consultation_id = ${k.id}`), 'giving a token back in SQL');
  // An anonymous answer carries a code and no account; none after the release time.
  assertRefused(await asService(`insert into consultation_answers (consultation_id, anonymous, answers) values (${k.id}, true, '{"1":"赞成"}')`), 'an anonymous answer without a code in SQL');
  const hash = 'a'.repeat(64);
  assert.equal((await asService(`insert into consultation_answers (consultation_id, anonymous, answers, code_hash) values (${k.id}, true, '{"1":"赞成"}', '${hash}')`)).code, 0);
  assertRefused(await asService(`update consultation_answers set code_hash = '${'b'.repeat(64)}' where code_hash = '${hash}'`), 'moving an answer to another code in SQL');
  assertRefused(await asService(`update consultations set release_until = release_until + interval '1 day' where id = ${k.id}`), 'a later release time in SQL');
  assert.equal((await post(`/v1/consultations/${k.id}/close`, 'secA')).status, 200);
  await sleep(WINDOW * 1000 + 500);
  assertRefused(await asService(`insert into consultation_answers (consultation_id, anonymous, answers, code_hash) values (${k.id}, true, '{"1":"赞成"}', '${'c'.repeat(64)}')`), 'an anonymous answer after the release time in SQL');
  assertRefused(await asService(`insert into consultation_tokens values (${k.id}, ${w.ids.m2})`), 'a token after the close in SQL');
});

test('bad_tokens_codes_and_modes_are_refused_and_nothing_is_stored', async () => {
  const k = await opened();
  const other = await opened();
  const t = await takeToken(other, 'm2');
  const spent0 = await psql('select count(*) from spent_tokens');
  // A token of another consultation, one made up, and malformed ones.
  assert.equal((await anonymous(k.id, t, { 1: '赞成' })).body.type, '/problems/invalid-token');
  assert.equal((await anonymous(k.id, { input: b64(crypto.randomBytes(32)), output: b64(crypto.randomBytes(64)) }, { 1: '赞成' })).status, 403);
  assert.equal((await anonymous(999999, t, { 1: '赞成' })).status, 403, 'an id that names nothing looks like a wrong token');
  for (const bad of [null, 'x', { input: 'x', output: t.output }, { input: t.input, output: 'short' }]) {
    assert.equal((await anonymous(k.id, bad, { 1: '赞成' })).status, 422, JSON.stringify(bad));
  }
  // Answers that do not fit are refused before the token is spent.
  assert.equal((await anonymous(other.id, t, { 1: '随便' })).status, 422);
  assert.equal((await anonymous(other.id, t, 'x')).status, 422);
  assert.equal(await psql('select count(*) from spent_tokens'), spent0, 'no token spent by a refusal');
  // Then it is accepted.
  const ok = await anonymous(other.id, t, { 1: '赞成' });
  assert.ok(ok.status === 202 || ok.status === 201, JSON.stringify(ok.body));
  // Bad blinded elements; a named-only consultation has no token and no key.
  for (const bad of [undefined, 'x', b64(Buffer.alloc(32)), 5]) {
    assert.equal((await post(`/v1/consultations/${k.id}/token`, 'm3', bad === undefined ? {} : { blinded: bad })).status, 422, String(bad));
  }
  const n = await opened({ answer_mode: 'named_only' });
  assert.equal(n.token_key, null);
  assert.equal((await post(`/v1/consultations/${n.id}/token`, 'm3', { blinded: b64(voprf.blind(crypto.randomBytes(32), rng).blinded) })).status, 409);
  assert.equal((await named(n.id, 'm3', { 1: '赞成' })).status, 201, 'named only: no token involved');
  // A code with nothing to replace.
  assert.equal((await mine('PUT', k.id, 'not a code', { answers: { 1: '赞成' } })).status, 401);
  assert.equal((await mine('PUT', k.id, ok.body.tracking_code, { answers: { 1: '赞成' } })).status, 401, 'the code is of another consultation');
});
