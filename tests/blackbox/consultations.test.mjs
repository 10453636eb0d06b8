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
  // The rest replace it; on a loaded machine a request may wait for a
  // handler longer than DB_ACQUIRE_TIMEOUT_MS and get 503 without running:
  // sent again, it replaces the answer too.
  assert.ok(rs.every((r) => [200, 201, 503].includes(r.status)), `${statuses}`);
  for (const r of rs.filter((x) => x.status === 503)) {
    assert.equal((await answer(k.id, 'm1', { 1: '赞成', 2: '重发' })).status, 200, JSON.stringify(r.body));
  }
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

test('every_text_answer_is_in_exactly_one_theme_or_not_yet_grouped', async () => {
  const k = await opened({
    kind: 'blank',
    title: '归类测试',
    body: '请提意见',
    answer_mode: 'named_only',
    questions: [
      { kind: 'text', prompt: '意见' },
      { kind: 'text', prompt: '很少人答的题' },
      { kind: 'rating', prompt: '评分' },
    ],
  });
  for (let i = 1; i <= 8; i++) {
    const a = { 1: `第 ${i} 条意见`, 3: 4 };
    if (i <= 2) a[2] = `少数意见 ${i}`;
    assert.equal((await answer(k.id, `m${i}`, a)).status, 201);
  }
  const themesUrl = `/v1/consultations/${k.id}/themes`;
  assert.equal((await get(themesUrl, 'secA')).status, 409, 'no grouping before the close');
  assertRefused(await asService(`insert into consultation_themes (consultation_id, title, created_by) values (${k.id}, '早了', ${w.ids.secA})`), 'a theme of an open one in SQL');
  assert.equal((await post(`/v1/consultations/${k.id}/close`, 'secA')).status, 200);

  let g = (await get(themesUrl, 'comA')).body;
  assert.deepEqual(g.themes, []);
  assert.equal(g.ungrouped.length, 8);
  assert.equal(g.withheld, 2, 'the texts of a question only 2 answered are withheld');
  assert.ok(g.ungrouped.every((x) => /^\d+\.1$/.test(x.item) && x.position === 1));
  assert.equal((await get(themesUrl, 'm1')).status, 403);
  assert.equal((await get(themesUrl, 'memB')).status, 404);

  const t1 = await post(themesUrl, 'comA', { title: '经费使用' });
  assert.equal(t1.status, 201);
  const t2 = await post(themesUrl, 'secA', { title: '活动安排' });
  assert.equal(t2.status, 201);
  assert.equal((await post(themesUrl, 'secA', { title: '活动安排' })).status, 409);
  assert.equal((await post(themesUrl, 'secA', { title: '' })).status, 422);
  const [idA, idB] = t2.body.themes.map((t) => t.id);
  const items = g.ungrouped.map((x) => x.item);
  const put = (theme, list, who = 'secA') =>
    ctx.api.request('PUT', `${themesUrl}/${theme}/items`, { token: w.tokens[who], body: { items: list } });

  assert.equal((await put(idA, items.slice(0, 3), 'comA')).status, 200);
  g = (await put(idB, items.slice(2, 6))).body; // items[2] moves from A to B
  const inA = g.themes.find((t) => t.id === idA).items.map((x) => x.item);
  const inB = g.themes.find((t) => t.id === idB).items.map((x) => x.item);
  assert.deepEqual(inA.sort(), items.slice(0, 2).sort());
  assert.deepEqual(inB.sort(), items.slice(2, 6).sort());
  const all = [...inA, ...inB, ...g.ungrouped.map((x) => x.item)];
  assert.equal(new Set(all).size, all.length, 'no text answer is in two places');
  assert.deepEqual([...all].sort(), [...items].sort(), 'none is lost');
  assert.equal(g.ungrouped.length, 2);

  // Items that are not text answers this grouping shows, or given twice.
  const withheldItem = (await psql(`select id || '.2' from consultation_answers where consultation_id = ${k.id} and answers ? '2' limit 1`));
  const ratingItem = `${items[0].split('.')[0]}.3`;
  for (const bad of [['abc'], [items[0], items[0]], [withheldItem], [ratingItem], ['999999.1'], [items[0].replace(/\.1$/, '.0')]]) {
    const r = await put(idA, bad);
    assert.equal(r.status, 422, `${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await ctx.api.request('PUT', `${themesUrl}/${idA}/items`, { token: w.tokens.secA, body: { items: 'x' } })).status, 422);
  assert.equal((await put(999999, [items[0]])).status, 404);
  assert.equal((await put(idA, [items[0]], 'm1')).status, 403);
  // Emptying a theme gives its items back to the not yet grouped.
  g = (await put(idA, [])).body;
  assert.equal(g.ungrouped.length, 4);

  // The schema: one theme per text answer, and only text answers.
  const [answerId] = items[6].split('.');
  assert.equal((await asService(`insert into consultation_theme_items (answer_id, position, theme_id) values (${answerId}, 1, ${idA})`)).code, 0);
  assertRefused(await asService(`insert into consultation_theme_items (answer_id, position, theme_id) values (${answerId}, 1, ${idB})`), 'one text answer in two themes in SQL');
  assertRefused(await asService(`insert into consultation_theme_items (answer_id, position, theme_id) values (${answerId}, 3, ${idB})`), 'a rating as a theme item in SQL');
  assert.equal(await psql(`select count(*) from audit_log where object_id = '${k.id}' and action in ('consultation.theme_create', 'consultation.theme_items')`), '5');
});

test('opinions_on_a_committee_member_reach_them_only_by_hand_over_without_authors_and_are_approved_by_someone_else', async () => {
  const k = await opened({ kind: 'life_meeting' });
  const q = k.questions.find((x) => x.kind === 'member_opinions');
  const rating = k.questions.find((x) => x.kind === 'rating');
  const words = (i) => `对组织委员的意见 ${i}`;
  for (let i = 1; i <= 6; i++) {
    const a = { [rating.position]: 4, [q.position]: { [w.ids.comA]: words(i) } };
    if (i === 1) a[q.position][w.ids.secA] = '对书记的意见';
    assert.equal((await answer(k.id, `m${i}`, a)).status, 201);
  }
  // An opinion on someone the question does not ask about does not fit.
  assert.equal((await answer(k.id, 'm7', { [q.position]: { [w.ids.m8]: '对普通党员的意见' } })).status, 422);
  const handover = (subject, who) => post(`/v1/consultations/${k.id}/handovers/${w.ids[subject]}`, who);
  assert.equal((await handover('comA', 'secA')).status, 409, 'not before the close');
  assert.equal((await post(`/v1/consultations/${k.id}/close`, 'secA')).status, 200);

  // Nobody reads them before the hand-over; the committee's results hold only how many.
  assert.equal((await get(`/v1/consultations/${k.id}/opinions`, 'comA')).status, 404);
  const res = (await get(`/v1/consultations/${k.id}/results`, 'secA')).body;
  const counted = res.questions.find((x) => x.kind === 'member_opinions').subjects;
  assert.equal(counted.find((s) => s.account_id === w.ids.comA).opinions, 6);
  assert.equal(counted.find((s) => s.account_id === w.ids.secA).opinions, 1);
  assert.ok(!JSON.stringify(res).includes('对组织委员的意见'), 'the words are not in the results');
  const themes = (await get(`/v1/consultations/${k.id}/themes`, 'secA')).body;
  assert.ok(!JSON.stringify(themes).includes('对组织委员的意见'), 'nor among the texts to group');

  // The hand-over: by a manager, never by the member concerned.
  assert.equal((await handover('comA', 'comA')).status, 403);
  assert.equal((await handover('secA', 'secA')).status, 403, 'the secretary does not hand over opinions on themselves');
  assertRefused(
    await asService(`insert into consultation_handovers (consultation_id, subject_id, handed_by) values (${k.id}, ${w.ids.secA}, ${w.ids.secA})`),
    'a hand-over to oneself in SQL',
  );
  assert.equal((await handover('m1', 'secA')).status, 404, 'no opinions were asked about a member');
  const h = await handover('comA', 'secA');
  assert.equal(h.status, 200);
  assert.ok(h.body.questions.find((x) => x.kind === 'member_opinions').subjects.find((s) => s.account_id === w.ids.comA).handed_at);
  assert.equal((await handover('secA', 'admin')).status, 200, 'someone above hands the secretary theirs');

  const mine = await get(`/v1/consultations/${k.id}/opinions`, 'comA');
  assert.equal(mine.status, 200);
  assert.deepEqual([...mine.body.opinions].sort(), Array.from({ length: 6 }, (_, i) => words(i + 1)).sort());
  assert.deepEqual(Object.keys(mine.body).sort(), ['consultation_id', 'handed_at', 'opinions', 'response']);
  // Nothing but the words: the opinions are exactly the strings written,
  // and the rest is the consultation's id, the hand-over's time, no response yet.
  assert.equal(mine.body.consultation_id, k.id);
  assert.equal(mine.body.response, null);
  assert.ok(!JSON.stringify(mine.body).includes('党员'), 'no author by name');
  assert.deepEqual((await get(`/v1/consultations/${k.id}/opinions`, 'secA')).body.opinions, ['对书记的意见']);
  assert.equal((await get(`/v1/consultations/${k.id}/opinions`, 'm1')).status, 404, 'a member has none');

  // The response, approved by someone else.
  const respond = (who, body) => ctx.api.request('PUT', `/v1/consultations/${k.id}/opinions/response`, { token: w.tokens[who], body: { body } });
  const approve = (subject, who) => post(`/v1/consultations/${k.id}/responses/${w.ids[subject]}/approve`, who);
  assert.equal((await respond('comA', '')).status, 422);
  assert.equal((await respond('m1', '我的整改措施')).status, 404);
  assert.equal((await approve('comA', 'secA')).status, 409, 'nothing to approve yet');
  assert.equal((await respond('comA', '加强学习，改进作风')).body.response.body, '加强学习，改进作风');
  assert.equal((await respond('secA', '带头整改')).status, 200);
  assert.equal((await approve('comA', 'comA')).status, 403);
  assert.equal((await approve('secA', 'secA')).status, 403, 'the secretary does not approve their own');
  assertRefused(
    await asService(`update consultation_member_responses set approved_by = subject_id, approved_at = now() where consultation_id = ${k.id} and subject_id = ${w.ids.secA}`),
    'approving one\'s own response in SQL',
  );
  const ok = await approve('comA', 'secA');
  assert.equal(ok.status, 200);
  assert.equal((await approve('secA', 'admin')).status, 200);
  assert.equal((await respond('comA', '再改')).status, 409, 'an approved response is final');
  assertRefused(
    await asService(`update consultation_member_responses set body = '改了' where consultation_id = ${k.id} and subject_id = ${w.ids.comA}`),
    'changing an approved response in SQL',
  );
  const after = (await get(`/v1/consultations/${k.id}/opinions`, 'comA')).body.response;
  assert.equal(after.body, '加强学习，改进作风');
  assert.ok(after.approved_at);
  const acts = await psql(`select string_agg(action, ',' order by id) from audit_log where object_id = '${k.id}' and action like 'consultation.%' and action not in ('consultation.create', 'consultation.open', 'consultation.close', 'consultation.answer')`);
  assert.equal(acts, 'consultation.handover,consultation.handover,consultation.response_write,consultation.response_write,consultation.response_approve,consultation.response_approve');
});

test('a_retired_unit_neither_drafts_nor_opens_a_consultation', async () => {
  await w.unit('R', '已撤销支部', 'branch', 'root');
  const url = `/v1/org-units/${w.units.R}/consultations`;
  const body = { kind: 'before_decision', opens_at: iso(-60), closes_at: iso(3600) };
  const d = await ctx.api.post(url, { token: w.tokens.admin, body });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const retire = (retired) => ctx.api.request('PUT', `/v1/org-units/${w.units.R}/retired`, { token: w.tokens.admin, body: { retired } });
  assert.equal((await retire(true)).status, 200);
  // Neither a new draft nor the opening of one drafted before.
  const again = await ctx.api.post(url, { token: w.tokens.admin, body });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal((await ctx.api.post(`/v1/consultations/${d.body.id}/open`, { token: w.tokens.admin })).status, 409);
  // The schema holds it for every writer.
  assertRefused(await asService(`insert into consultations (unit_id, created_by, kind, title, body, answer_mode, opens_at, closes_at) values (${w.units.R}, ${w.ids.secA}, 'blank', '标题', '正文', 'named_only', now(), now() + interval '1 day')`), 'a draft in a retired unit in SQL');
  assertRefused(await asService(`update consultations set status = 'open', opened_by = ${w.ids.secA}, opened_at = now(), release_until = closes_at where id = ${d.body.id}`), 'opening in a retired unit in SQL');
  // Brought back, it opens.
  assert.equal((await retire(false)).status, 200);
  assert.equal((await ctx.api.post(`/v1/consultations/${d.body.id}/open`, { token: w.tokens.admin })).status, 200);
});
