// Consultations (征求意见, issue 23): drafting from a template, opening by
// the secretary, one named answer per member (also under 20 racing
// requests), the committee seeing counts only while it runs, the results
// after the close with small figures withheld, the jobs thread closing at
// the closing time, and the schema's rules against a writer in plain SQL.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useService } from './lib/fixture.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService({ JOBS_INTERVAL: '1' });
let w;
const MEMBERS = 28; // with comA and secA: 30 asked

const psql = (sql) => ctx.cluster.psql(sql);
const asService = (sql) => ctx.cluster.psqlAs('yijian', sql);
const iso = (offsetSeconds) => new Date(Date.now() + offsetSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const get = (path, who) => ctx.api.get(path, { token: w.tokens[who] });
const post = (path, who, body) => ctx.api.post(path, { token: w.tokens[who], body });
const patch = (path, who, body) => ctx.api.request('PATCH', path, { token: w.tokens[who], body });
const answer = (id, who, answers) => ctx.api.request('PUT', `/v1/consultations/${id}/answer`, { token: w.tokens[who], body: { answers } });

function assertRefused(r, what) {
  assert.notEqual(r.code, 0, `${what} should fail, but psql exited 0:\n${r.stdout}`);
  assert.match(r.stderr, /consultation|duplicate key|permission denied/i, `${what}: ${r.stderr}`);
}

/** A draft of kind in A by who (comA by default), opening a minute ago. */
async function draft(body = {}, who = 'comA') {
  const r = await post(`/v1/org-units/${w.units.A}/consultations`, who, {
    kind: 'before_decision',
    opens_at: iso(-60),
    closes_at: iso(3600),
    ...body,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function opened(body = {}) {
  const d = await draft(body);
  const r = await post(`/v1/consultations/${d.id}/open`, 'secA');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'consult-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.portfolio('A', '组织');
  await w.account('secA', '书记甲', 'A', ['member', 'secretary']);
  await w.account('comA', '组织委员甲', 'A', ['member', 'committee'], ['组织']);
  await w.account('memB', '党员乙', 'B');
  for (let i = 1; i <= MEMBERS; i++) await w.account(`m${i}`, `党员${i}`, 'A');
});

test('a_draft_from_the_life_meeting_template_asks_about_each_committee_member', async () => {
  const d = await draft({ kind: 'life_meeting' });
  assert.equal(d.status, 'draft');
  assert.equal(d.title, '组织生活会征求意见');
  assert.equal(d.answer_mode, 'anonymous_allowed');
  assert.deepEqual(d.questions.map((q) => q.kind), ['rating', 'text', 'member_opinions']);
  const subjects = d.questions[2].subjects.map((s) => s.account_id).sort((a, b) => a - b);
  assert.deepEqual(subjects, [w.ids.secA, w.ids.comA].sort((a, b) => a - b));
  assert.equal(d.you.may_edit, true);
  assert.equal(d.you.may_manage, false, 'a committee member drafts, the secretary opens');
  // A draft is the committee's: a member does not see it, in the list or by id.
  assert.equal((await get(`/v1/consultations/${d.id}`, 'm1')).status, 404);
  assert.ok(!(await get('/v1/consultations', 'm1')).body.consultations.some((k) => k.id === d.id));
  assert.ok((await get('/v1/consultations', 'comA')).body.consultations.some((k) => k.id === d.id && k.staff));
  const audit = await psql(`select count(*) from audit_log where action = 'consultation.create' and object_id = '${d.id}'`);
  assert.equal(audit, '1');
});

test('drafting_refuses_bad_fields_and_callers_without_rights', async () => {
  const url = `/v1/org-units/${w.units.A}/consultations`;
  const base = { kind: 'blank', title: '标题', body: '正文', answer_mode: 'named_only', opens_at: iso(-60), closes_at: iso(600), questions: [{ kind: 'text', prompt: '意见' }] };
  const cases = [
    [{ ...base, questions: undefined }, ''],
    [{ ...base, opens_at: '2026-02-30T09:00:00Z' }, '/opens_at'],
    [{ ...base, closes_at: 'tomorrow' }, '/closes_at'],
    [{ ...base, closes_at: iso(-120) }, '/closes_at'],
    [{ ...base, kind: 'survey' }, '/kind'],
    [{ ...base, answer_mode: 'whatever' }, '/answer_mode'],
    [{ ...base, questions: [{ kind: 'essay', prompt: 'x' }] }, '/questions/0'],
    [{ ...base, questions: [{ kind: 'single', prompt: 'x', choices: ['一'] }] }, '/questions/0'],
    [{ ...base, questions: [{ kind: 'single', prompt: 'x', choices: ['一', '一'] }] }, '/questions/0'],
    [{ ...base, questions: [{ kind: 'text', prompt: 'x', choices: ['一', '二'] }] }, '/questions/0'],
    [{ ...base, questions: [] }, '/questions'],
  ];
  for (const [body, pointer] of cases) {
    const r = await post(url, 'secA', body);
    assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.body.errors.some((e) => e.pointer === pointer), `${pointer}: ${JSON.stringify(r.body.errors)}`);
  }
  assert.equal((await ctx.api.post(url, { body: base })).status, 401);
  assert.equal((await post(url, 'm1', base)).status, 403, 'a member does not draft');
  assert.equal((await post(url, 'memB', base)).status, 403);
  assert.equal((await post(`/v1/org-units/999999/consultations`, 'secA', base)).status, 404);
  assert.equal((await post(url, 'secA', base)).status, 201, 'the blank one with everything given');
});

test('only_the_secretary_opens_and_an_opened_consultation_no_longer_changes', async () => {
  const d = await draft();
  assert.equal((await patch(`/v1/consultations/${d.id}`, 'comA', { title: '改过的标题' })).body.title, '改过的标题');
  assert.equal((await post(`/v1/consultations/${d.id}/open`, 'comA')).status, 403);
  assert.equal((await post(`/v1/consultations/${d.id}/open`, 'm1')).status, 404);
  const o = await post(`/v1/consultations/${d.id}/open`, 'secA');
  assert.equal(o.status, 200);
  assert.equal(o.body.status, 'open');
  assert.equal((await post(`/v1/consultations/${d.id}/open`, 'secA')).status, 409);
  const p = await patch(`/v1/consultations/${d.id}`, 'secA', { title: '再改' });
  assert.equal(p.status, 409);
  assert.equal(p.body.type, '/problems/conflict');
  // The database refuses it too, whoever writes.
  assertRefused(await asService(`update consultations set title = '直接改' where id = ${d.id}`), 'edit an open one in SQL');
  assertRefused(await asService(`update consultations set status = 'draft', opened_at = null, opened_by = null where id = ${d.id}`), 'back to draft in SQL');
  assertRefused(await asService(`delete from consultation_questions where consultation_id = ${d.id}`), 'questions of an open one in SQL');
  assertRefused(await asService(`delete from consultations where id = ${d.id}`), 'delete in SQL');
  assert.equal(await psql(`select title from consultations where id = ${d.id}`), '改过的标题');
  // Opened: the member sees it now, not answered yet; memB of B is not asked.
  const seen = await get(`/v1/consultations/${d.id}`, 'm1');
  assert.equal(seen.status, 200);
  assert.equal(seen.body.you.asked, true);
  assert.equal(seen.body.you.answered, false);
  assert.equal(seen.body.counts, undefined, 'a member does not see the counts');
  assert.equal((await get(`/v1/consultations/${d.id}`, 'memB')).status, 404);
  assert.equal((await answer(d.id, 'memB', { 1: '赞成' })).status, 404);
  const audit = await psql(`select count(*) from audit_log where action = 'consultation.open' and object_id = '${d.id}' and actor_id = ${w.ids.secA}`);
  assert.equal(audit, '1');
});

test('twenty_racing_answers_with_one_session_make_one_answer', async () => {
  const k = await opened();
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => answer(k.id, 'm1', { 1: '赞成', 2: `第 ${i} 次` })));
  const statuses = rs.map((r) => r.status).sort();
  assert.equal(rs.filter((r) => r.status === 201).length, 1, `one first answer: ${statuses}`);
  assert.equal(rs.filter((r) => r.status === 200).length, 19, `the rest replace it: ${statuses}`);
  assert.equal(await psql(`select count(*) from consultation_answers where consultation_id = ${k.id}`), '1');
  assert.equal(await psql(`select count(*) from audit_log where action = 'consultation.answer' and object_id = '${k.id}'`), '1');
  // A second row for the same account is refused by the schema.
  assertRefused(
    await asService(`insert into consultation_answers (consultation_id, account_id, anonymous, answers, created_at, updated_at) values (${k.id}, ${w.ids.m1}, false, '{}', now(), now())`),
    'a second answer in SQL',
  );
});

test('a_consultation_of_thirty_members_counts_then_shows_results_with_small_figures_withheld', async () => {
  const k = await opened({
    kind: 'blank',
    title: '关于活动经费使用方案的意见',
    body: '支部拟将本年度活动经费用于……',
    answer_mode: 'anonymous_allowed',
    questions: [
      { kind: 'single', prompt: '态度', choices: ['赞成', '基本赞成', '不赞成'] },
      { kind: 'multiple', prompt: '优先用于', choices: ['学习', '走访', '慰问'] },
      { kind: 'rating', prompt: '满意度' },
      { kind: 'text', prompt: '其他意见' },
      { kind: 'rating', prompt: '很少人答的题' },
    ],
  });
  const staff = await get(`/v1/consultations/${k.id}`, 'secA');
  assert.deepEqual(staff.body.counts, { named: 0, anonymous: 0, eligible: 30 });
  const choices = ['赞成', '基本赞成', '不赞成'];
  const who = Array.from({ length: 20 }, (_, i) => `m${i + 1}`);
  for (const [i, m] of who.entries()) {
    const a = { 1: choices[i % 3], 2: i % 2 ? ['学习', '走访'] : ['慰问'], 3: i < 5 ? 1 : (i % 4) + 2 };
    if (i < 12) a[4] = `意见 ${i}`;
    if (i < 3) a[5] = 5;
    const r = await answer(k.id, m, a);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.you.answered, true);
  }
  // Changing one's answer is no second answer.
  assert.equal((await answer(k.id, 'm1', { 1: '赞成', 2: ['慰问'], 3: 1, 4: '意见 0', 5: 5 })).status, 200);
  // Answers that do not fit their questions.
  for (const bad of [{ 1: '随便' }, { 2: [] }, { 2: ['学习', '学习'] }, { 3: 6 }, { 3: '5' }, { 9: 'x' }, { 4: '' }, {}]) {
    const r = await answer(k.id, 'm21', bad);
    assert.equal(r.status, 422, `${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await ctx.api.request('PUT', `/v1/consultations/${k.id}/answer`, { token: w.tokens.m21, body: { answers: 'x' } })).status, 422);
  // While it runs the committee sees counts and nothing else.
  const running = await get(`/v1/consultations/${k.id}`, 'comA');
  assert.deepEqual(running.body.counts, { named: 20, anonymous: 0, eligible: 30 });
  assert.equal(running.body.you.answer, null, 'the committee sees no one else\'s answer');
  const early = await get(`/v1/consultations/${k.id}/results`, 'secA');
  assert.equal(early.status, 409, 'no results before the close');
  assert.equal((await get(`/v1/consultations/${k.id}/results`, 'm1')).status, 403);
  // The member sees their own answer.
  assert.equal((await get(`/v1/consultations/${k.id}`, 'm2')).body.you.answer[1], '基本赞成');

  const c = await post(`/v1/consultations/${k.id}/close`, 'secA');
  assert.equal(c.status, 200);
  assert.equal(c.body.status, 'closed');
  assert.equal((await answer(k.id, 'm22', { 1: '赞成' })).status, 409, 'no answers after the close');
  assertRefused(
    await asService(`insert into consultation_answers (consultation_id, account_id, anonymous, answers, created_at, updated_at) values (${k.id}, ${w.ids.m23}, false, '{"1":"赞成"}', now(), now())`),
    'an answer after the close in SQL',
  );
  const res = await get(`/v1/consultations/${k.id}/results`, 'comA');
  assert.equal(res.status, 200);
  assert.equal(res.body.named, 20);
  assert.equal(res.body.eligible, 30);
  const [single, multiple, rating, text, few] = res.body.questions;
  assert.deepEqual(single.counts, [{ choice: '赞成', count: 7 }, { choice: '基本赞成', count: 7 }, { choice: '不赞成', count: 6 }]);
  assert.deepEqual(multiple.counts.map((x) => x.count), [10, 10, 10]);
  assert.equal(rating.answers, 20);
  assert.deepEqual(rating.distribution.map((x) => x.count), [5, 3, 4, 4, 4]);
  assert.equal(text.texts.length, 12);
  assert.deepEqual([...text.texts].sort(), Array.from({ length: 12 }, (_, i) => `意见 ${i}`).sort());
  assert.equal(few.answers, 3);
  assert.equal(few.withheld, true);
  assert.ok(few.distribution.every((x) => x.count === null), 'a figure from 3 answers is withheld');
  assert.equal(few.mean, null);
  assert.ok(!JSON.stringify(res.body).includes('党员'), 'no names in the results');
});

test('an_anonymous_only_consultation_takes_no_named_answer', async () => {
  const k = await opened({ answer_mode: 'anonymous_only' });
  const r = await answer(k.id, 'm1', { 1: '赞成' });
  assert.equal(r.status, 409);
  assertRefused(
    await asService(`insert into consultation_answers (consultation_id, account_id, anonymous, answers, created_at, updated_at) values (${k.id}, ${w.ids.m2}, false, '{"1":"赞成"}', now(), now())`),
    'a named answer to an anonymous-only one in SQL',
  );
});

test('answers_wait_for_the_opening_time_and_outsiders_are_refused_by_the_schema', async () => {
  const k = await opened({ opens_at: iso(3600), closes_at: iso(7200) });
  assert.equal((await answer(k.id, 'm1', { 1: '赞成' })).status, 409, 'not before opens_at');
  const now = await opened();
  assertRefused(
    await asService(`insert into consultation_answers (consultation_id, account_id, anonymous, answers, created_at, updated_at) values (${now.id}, ${w.ids.memB}, false, '{"1":"赞成"}', now(), now())`),
    'an answer by an account it does not ask, in SQL',
  );
});

test('the_jobs_thread_closes_a_consultation_at_its_closing_time', async () => {
  const k = await opened({ closes_at: iso(3) });
  assert.equal((await answer(k.id, 'm1', { 1: '赞成' })).status, 201);
  let status;
  for (let i = 0; i < 40 && status !== 'closed'; i++) {
    await new Promise((r) => setTimeout(r, 250));
    status = (await get(`/v1/consultations/${k.id}`, 'm1')).body.status;
  }
  assert.equal(status, 'closed');
  const row = await psql(`select actor_kind from audit_log where action = 'consultation.close' and object_id = '${k.id}'`);
  assert.equal(row, 'system');
  assert.equal((await answer(k.id, 'm1', { 1: '不赞成' })).status, 409);
});
