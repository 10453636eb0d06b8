// Suggestions from the outside (issue 4): routing and load balance, the
// whole life of a suggestion, every forbidden transition, answers and their
// approval, messages, co-signs, merging, idempotent submission, the
// database's own guard on the workflow, search, lists and escalation.
//
// The world, built through the API (lib/world.mjs):
//
//   root 机关党委   secRoot (secretary), comRoot (committee, no portfolio)
//                   categories 组织工作 → 组织, 宣传工作 → 宣传
//    ├─ A 第一党支部 comOrg (committee: 组织), comProp (committee: 宣传),
//    │               secA1, secA2 (secretaries), memA1 memA2 memA3 memP memS
//    │               category 其他 → 纪检 (a portfolio nobody holds)
//    │   └─ G 第一党小组  memG only: no committee, no secretary
//    └─ B 第二党支部 comB1, comB2 (both committee: 组织), secB, memB
//                    category B专项 → 组织
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { startService, waitFor } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService({ JOBS_INTERVAL: '1' });
let w;

let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const psql = (sql) => ctx.cluster.psql(sql);
const num = async (sql) => Number(await psql(sql));
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const sid = (pid) => `(select id from suggestions where public_id = ${lit(pid)})`;

// ---- requests --------------------------------------------------------------

const call = (method, path, who, body, headers) =>
  ctx.api.request(method, path, { token: who ? w.tokens[who] : undefined, body, headers });

function submission(category, { unit = 'A', title, body, publish_name } = {}) {
  const t = title ?? `建议${tag()}`;
  const b = { category_id: w.categories[category], title: t, body: body ?? `内容 ${t}` };
  if (unit !== null) b.unit_id = w.units[unit];
  if (publish_name !== undefined) b.publish_name = publish_name;
  return b;
}
const submit = (who, category, opts = {}, headers) => call('POST', '/v1/suggestions', who, submission(category, opts), headers);
async function submitOk(who, category, opts = {}) {
  const r = await submit(who, category, opts);
  assert.equal(r.status, 201, `submit as ${who}: ${JSON.stringify(r.body)}`);
  assert.match(r.body.id, /^S-[0-9A-HJKMNP-TV-Z]{6}$/);
  assert.equal(r.body.status, 'submitted');
  return r.body;
}

const view = (who, pid) => call('GET', `/v1/suggestions/${pid}`, who);
const act = (who, pid, verb, body) => call('POST', `/v1/suggestions/${pid}/${verb}`, who, body);
const answer = (who, pid, body) => call('PUT', `/v1/suggestions/${pid}/answer`, who, body);
const approve = (who, pid) => call('POST', `/v1/suggestions/${pid}/answer/approve`, who);

function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

/** Every page of GET /v1/suggestions for `who` with the query `query`. */
async function listAll(who, query = '') {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const qs = [query, 'limit=100', cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
    const body = ok(await call('GET', `/v1/suggestions?${qs}`, who));
    items.push(...body.items);
    cursor = body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error('more than 100 pages');
}
const ids = (items) => items.map((s) => s.id);
const dbIds = async (where) =>
  (await psql(`select public_id from suggestions where ${where} order by id desc`)).split('\n').filter(Boolean);

// ---- the database's view --------------------------------------------------------

const row = async (pid) => JSON.parse(await psql(`select row_to_json(s) from suggestions s where public_id = ${lit(pid)}`));

/** Everything a refused request must leave as it was. */
function snapshot(pid) {
  return psql(`select json_build_object(
      'suggestion', (select row_to_json(s) from suggestions s where s.id = ${sid(pid)}),
      'audit_rows', (select count(*) from audit_log),
      'answer', (select row_to_json(a) from answers a where a.suggestion_id = ${sid(pid)}),
      'ratings', (select json_agg(r order by r.round) from ratings r where r.suggestion_id = ${sid(pid)}),
      'messages', (select count(*) from messages where suggestion_id = ${sid(pid)}),
      'cosigns', (select count(*) from cosigns),
      'assignments', (select count(*) from assignments where suggestion_id = ${sid(pid)}))::text`);
}

const PROBLEM = { 403: '/problems/forbidden', 404: '/problems/not-found', 409: '/problems/conflict', 422: '/problems/validation-failed' };

/**
 * send() must be refused with `status` and change nothing; a 409 for an
 * impossible transition names the current status (`current`).
 */
async function refused(pid, status, send, current) {
  const before = await snapshot(pid);
  const r = await send();
  assert.equal(r.status, status, `expected ${status}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.type, PROBLEM[status]);
  assert.equal(await snapshot(pid), before, 'a refused request changes nothing');
  if (current) assert.match(r.body.detail ?? '', new RegExp(`\\b${current}\\b`), 'the 409 names the current status');
  return r;
}

const auditOf = async (pid) =>
  (await psql(`select action from audit_log where object_type = 'suggestion' and object_id = ${lit(pid)} order by id`))
    .split('\n')
    .filter(Boolean);

// ---- the world ------------------------------------------------------------------

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx);
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.unit('G', '第一党小组', 'group', 'A');
  await w.portfolio('A', '组织');
  await w.portfolio('A', '宣传');
  await w.portfolio('B', '组织');

  await w.category('org', 'root', { name: '组织工作', portfolio: '组织', ack_days: 2, answer_days: 10, grace_days: 3 });
  await w.category('prop', 'root', { name: '宣传工作', portfolio: '宣传' });
  await w.category('other', 'A', { name: '其他', portfolio: '纪检', ack_days: 1, answer_days: 5, grace_days: 2 });
  await w.category('bOnly', 'B', { name: 'B专项', portfolio: '组织' });

  const S = ['member', 'secretary'];
  const C = ['member', 'committee'];
  await Promise.all([
    w.account('secRoot', '书记甲', 'root', S),
    w.account('comRoot', '委员甲', 'root', C),
    w.account('comOrg', '组织委员', 'A', C, ['组织']),
    w.account('comProp', '宣传委员', 'A', C, ['宣传']),
  ]);
  await Promise.all([
    w.account('secA1', '支部书记', 'A', S),
    w.account('secA2', '副书记', 'A', S),
    w.account('memA1', '党员一', 'A'),
    w.account('memA2', '党员二', 'A'),
  ]);
  await Promise.all([
    w.account('memA3', '党员三', 'A'),
    w.account('memP', '党员翻页', 'A'),
    w.account('memS', '党员搜索', 'A'),
    w.account('memG', '小组党员', 'G'),
  ]);
  await Promise.all([
    w.account('comB1', '二支部组织委员甲', 'B', C, ['组织']),
    w.account('comB2', '二支部组织委员乙', 'B', C, ['组织']),
    w.account('secB', '二支部书记', 'B', S),
    w.account('memB', '二支部党员', 'B'),
  ]);
});

// ---- categories and routing ---------------------------------------------------------

test('categories_of_a_unit_include_those_inherited_from_above', async () => {
  const a = ok(await call('GET', `/v1/org-units/${w.units.A}/categories`, 'memA1'));
  const names = a.categories.map((c) => c.name).sort();
  assert.deepEqual(names, ['其他', '宣传工作', '组织工作'].sort());
  const org = a.categories.find((c) => c.name === '组织工作');
  assert.equal(org.unit_id, w.units.root);
  assert.equal(org.portfolio, '组织');
  const b = ok(await call('GET', `/v1/org-units/${w.units.B}/categories`, 'memB'));
  assert.ok(!b.categories.some((c) => c.name === '其他'), "A's own category is not B's");
  const r = await call('POST', `/v1/org-units/${w.units.A}/categories`, 'memA1', { name: '不许', portfolio: '组织' });
  assert.equal(r.status, 403, 'a member does not manage categories');
});

test('routing_sends_each_portfolio_to_its_committee_member_and_records_why', async () => {
  const org = await submitOk('memA1', 'org');
  const prop = await submitOk('memA1', 'prop');
  assert.equal(org.assignee_id, w.ids.comOrg);
  assert.equal(prop.assignee_id, w.ids.comProp);
  assert.equal(org.unit_id, w.units.A);

  for (const [s, who, portfolio] of [[org, 'comOrg', '组织'], [prop, 'comProp', '宣传']]) {
    const dbRow = await row(s.id);
    assert.equal(Number(dbRow.assignee_id), w.ids[who]);
    assert.equal(dbRow.status, 'submitted');
    assert.equal(Number(dbRow.author_id), w.ids.memA1);

    const asg = JSON.parse(await psql(`select json_agg(a) from assignments a where suggestion_id = ${sid(s.id)}`));
    assert.equal(asg.length, 1, 'one assignment row');
    assert.equal(Number(asg[0].assignee_id), w.ids[who]);
    assert.equal(Number(asg[0].unit_id), w.units.A);
    assert.equal(asg[0].assigned_by, null, 'routed, not assigned by a person');
    assert.ok(asg[0].reason.includes(portfolio), `the reason names the portfolio: ${asg[0].reason}`);

    const audit = JSON.parse(await psql(`select json_agg(a) from audit_log a where action = 'suggestion.submit' and object_id = ${lit(s.id)}`));
    assert.equal(audit.length, 1, 'one suggestion.submit row');
    assert.equal(audit[0].actor_kind, 'account');
    assert.equal(Number(audit[0].actor_id), w.ids.memA1);
    assert.equal(audit[0].change.after.assignee_id, w.ids[who]);
    assert.equal(audit[0].change.after.routing, asg[0].reason, 'the audit row carries the routing reason');
  }

  // Due dates come from the category (组织工作: acknowledge in 2 days, answer in 10).
  const days = await psql(`select extract(epoch from ack_due - created_at) / 86400 || ' ' || extract(epoch from answer_due - created_at) / 86400 || ' ' || grace_days from suggestions where public_id = ${lit(org.id)}`);
  assert.deepEqual(days.split(' ').map(Number), [2, 10, 3]);

  // Without unit_id: the member's own branch.
  const dflt = ok(await call('POST', '/v1/suggestions', 'memA2', { category_id: w.categories.org, title: `默认支部${tag()}`, body: '不写单位' }), 201);
  assert.equal(dflt.unit_id, w.units.A);
  assert.equal(dflt.assignee_id, w.ids.comOrg);
});

test('routing_balances_load_between_committee_members_of_one_portfolio', async () => {
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await submitOk('memB', 'org', { unit: 'B' }));
  const [x, y] = [got[0].assignee_id, got[1].assignee_id];
  assert.deepEqual([x, y].sort(), [w.ids.comB1, w.ids.comB2].sort(), 'both committee members get one');
  assert.deepEqual(got.map((s) => s.assignee_id), [x, y, x, y], 'consecutive submissions alternate');

  // Fewest open first: x's two are withdrawn, so x (0 open) gets the next
  // one, and still (1 open against 2) the one after.
  ok(await act('memB', got[0].id, 'withdraw'));
  ok(await act('memB', got[2].id, 'withdraw'));
  const next = [await submitOk('memB', 'org', { unit: 'B' }), await submitOk('memB', 'org', { unit: 'B' })];
  assert.deepEqual(next.map((s) => s.assignee_id), [x, x]);
  const open = await psql(`select assignee_id || ':' || count(*) from suggestions where unit_id = ${w.units.B} and status in ('submitted', 'accepted') group by assignee_id order by assignee_id`);
  assert.deepEqual(open.split('\n').sort(), [`${w.ids.comB1}:2`, `${w.ids.comB2}:2`].sort());
});

test('routing_falls_back_to_the_secretary_when_nobody_holds_the_portfolio', async () => {
  const s = await submitOk('memA1', 'other');
  assert.ok([w.ids.secA1, w.ids.secA2].includes(s.assignee_id), `a secretary of A: ${s.assignee_id}`);
  const asg = JSON.parse(await psql(`select row_to_json(a) from assignments a where suggestion_id = ${sid(s.id)}`));
  assert.equal(Number(asg.assignee_id), s.assignee_id);
  assert.equal(Number(asg.unit_id), w.units.A);
  assert.match(asg.reason, /secretary/);
  assert.match(asg.reason, /纪检/);
  const audit = JSON.parse(await psql(`select change from audit_log where action = 'suggestion.submit' and object_id = ${lit(s.id)}`));
  assert.equal(audit.after.routing, asg.reason);
});

test('routing_goes_up_to_the_parent_unit_when_the_unit_has_nobody', async () => {
  const org = await submitOk('memG', 'org', { unit: 'G' });
  assert.equal(org.unit_id, w.units.G, 'the suggestion stays addressed to the group');
  assert.equal(org.assignee_id, w.ids.comOrg, "the parent's 组织 committee member");
  const other = await submitOk('memG', 'other', { unit: 'G' });
  assert.ok([w.ids.secA1, w.ids.secA2].includes(other.assignee_id), "the parent's secretary");
  for (const s of [org, other]) {
    const asg = JSON.parse(await psql(`select row_to_json(a) from assignments a where suggestion_id = ${sid(s.id)}`));
    assert.equal(Number(asg.unit_id), w.units.A, 'the assignment names the unit it was found in');
    assert.equal(Number(asg.assignee_id), s.assignee_id);
    assert.ok(asg.reason.length > 0);
    const audit = JSON.parse(await psql(`select change from audit_log where action = 'suggestion.submit' and object_id = ${lit(s.id)}`));
    assert.equal(audit.after.routing, asg.reason);
    assert.equal(audit.after.assignee_id, s.assignee_id);
  }
  // The assignee can see and handle it.
  ok(await view('comOrg', org.id));
  ok(await act('comOrg', org.id, 'accept'));
});

// ---- the whole life -------------------------------------------------------------------

test('the_whole_life_submit_accept_draft_approve_rate_reopen_once', async () => {
  const s = await submitOk('memA1', 'other', { body: '建议在支部活动室增加图书角。' });
  const pid = s.id;
  assert.ok([w.ids.secA1, w.ids.secA2].includes(s.assignee_id));
  const drafter = s.assignee_id === w.ids.secA1 ? 'secA1' : 'secA2';
  const other = drafter === 'secA1' ? 'secA2' : 'secA1';

  const accepted = ok(await act(drafter, pid, 'accept'));
  assert.equal(accepted.status, 'accepted');
  assert.ok(accepted.accepted_at);
  assert.equal((await row(pid)).status, 'accepted');

  const draft1 = `第一稿：同意设置图书角${tag()}`;
  const d1 = ok(await answer(drafter, pid, { decision: 'partly_adopted', body: draft1 }));
  assert.equal(d1.status, 'accepted', 'a draft does not answer');
  assert.equal(d1.answer.body, draft1, 'the drafter sees the draft');
  assert.equal(d1.answer.approved, false);
  assert.equal(await psql(`select (approved_by is null) || ' ' || drafted_by from answers where suggestion_id = ${sid(pid)}`), `true ${w.ids[drafter]}`);

  const mine = await view('memA1', pid);
  assert.equal(ok(mine).answer, null, 'the author does not see a draft');
  assert.ok(!mine.text.includes(draft1), 'the draft text appears nowhere in the author view');
  assert.equal(mine.body.status, 'accepted');

  await refused(pid, 403, () => approve(drafter, pid));
  await refused(pid, 403, () => approve('comOrg', pid)); // committee, not secretary
  await refused(pid, 403, () => approve('memA1', pid));

  const answered = ok(await approve(other, pid));
  assert.equal(answered.status, 'answered');
  assert.ok(answered.answered_at);
  assert.equal(answered.answer.approved, true);
  assert.equal(await psql(`select approved_by from answers where suggestion_id = ${sid(pid)}`), String(w.ids[other]));

  const seen = ok(await view('memA1', pid));
  assert.equal(seen.status, 'answered');
  assert.equal(seen.answer.body, draft1);
  assert.equal(seen.answer.decision, 'partly_adopted');

  ok(await act('memA1', pid, 'rating', { rating: 'unsatisfied' }));
  assert.equal(await psql(`select round || ':' || rating from ratings where suggestion_id = ${sid(pid)}`), '0:unsatisfied');

  const reopened = ok(await act('memA1', pid, 'reopen'));
  assert.equal(reopened.status, 'accepted');
  assert.equal(reopened.reopened, true);
  assert.equal(await psql(`select status || ' ' || reopened from suggestions where public_id = ${lit(pid)}`), 'accepted true');

  const draft2 = `第二稿：图书角下月开放${tag()}`;
  ok(await answer(drafter, pid, { decision: 'adopted', body: draft2 }));
  const mine2 = await view('memA1', pid);
  assert.ok(!mine2.text.includes(draft2), 'the author does not see the second draft');
  await refused(pid, 403, () => approve(drafter, pid));
  const answered2 = ok(await approve(other, pid));
  assert.equal(answered2.status, 'answered');
  const seen2 = ok(await view('memA1', pid));
  assert.equal(seen2.answer.body, draft2);
  assert.equal(seen2.answer.decision, 'adopted');

  ok(await act('memA1', pid, 'rating', { rating: 'unsatisfied' }));
  assert.equal(await psql(`select string_agg(round || ':' || rating, ',' order by round) from ratings where suggestion_id = ${sid(pid)}`), '0:unsatisfied,1:unsatisfied');
  await refused(pid, 409, () => act('memA1', pid, 'reopen'));
  assert.equal(await psql(`select status || ' ' || reopened from suggestions where public_id = ${lit(pid)}`), 'answered true');

  assert.deepEqual(await auditOf(pid), [
    'suggestion.submit', 'suggestion.accept', 'suggestion.draft_answer', 'suggestion.answer',
    'suggestion.rate', 'suggestion.reopen', 'suggestion.draft_answer', 'suggestion.answer', 'suggestion.rate',
  ]);
  const ratings = ok(await view('memA1', pid)).ratings;
  assert.deepEqual(ratings.map((r) => [r.round, r.rating]), [[0, 'unsatisfied'], [1, 'unsatisfied']]);
});

// ---- forbidden transitions --------------------------------------------------------------

test('forbidden_transitions_from_submitted_are_409_and_change_nothing', async () => {
  const s = await submitOk('memA1', 'org');
  await refused(s.id, 409, () => answer('comOrg', s.id, { decision: 'adopted', body: '先答复' }), 'submitted');
  await refused(s.id, 409, () => approve('secA1', s.id));
  await refused(s.id, 409, () => act('memA1', s.id, 'rating', { rating: 'satisfied' }), 'submitted');
});

test('reopen_of_a_submitted_suggestion_is_409_not_an_accept', async () => {
  const s = await submitOk('memA1', 'org');
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen'), 'submitted');
});

test('forbidden_transitions_from_accepted_are_409_and_change_nothing', async () => {
  const s = await submitOk('memA1', 'org');
  const target = await submitOk('memA2', 'org');
  ok(await act('comOrg', s.id, 'accept'));
  await refused(s.id, 409, () => act('comOrg', s.id, 'accept'), 'accepted');
  await refused(s.id, 409, () => act('secA1', s.id, 'accept'), 'accepted');
  await refused(s.id, 409, () => act('memA1', s.id, 'withdraw'), 'accepted');
  await refused(s.id, 409, () => approve('secA1', s.id)); // no draft
  await refused(s.id, 409, () => act('memA1', s.id, 'rating', { rating: 'satisfied' }), 'accepted');
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen'), 'accepted');
  await refused(s.id, 409, () => act('secA1', s.id, 'merge', { into: target.id }), 'accepted');
  // …and the draft does not skip approval.
  ok(await answer('comOrg', s.id, { decision: 'noted', body: '已记录' }));
  ok(await approve('secA1', s.id));
  await refused(s.id, 409, () => approve('secA2', s.id)); // approved already
});

test('forbidden_transitions_from_answered_are_409_and_change_nothing', async () => {
  const s = await submitOk('memA1', 'org');
  ok(await act('comOrg', s.id, 'accept'));
  ok(await answer('comOrg', s.id, { decision: 'adopted', body: '已采纳' }));
  ok(await approve('secA1', s.id));
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen')); // not rated
  await refused(s.id, 409, () => act('memA1', s.id, 'withdraw'), 'answered');
  await refused(s.id, 409, () => answer('comOrg', s.id, { decision: 'adopted', body: '改稿' }), 'answered');
  ok(await act('memA1', s.id, 'rating', { rating: 'satisfied' }));
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen')); // rated satisfied
  await refused(s.id, 409, () => act('memA1', s.id, 'rating', { rating: 'unsatisfied' })); // rated already
});

test('accept_of_an_answered_suggestion_is_409_not_a_reopen', async () => {
  const s = await submitOk('memA1', 'org');
  ok(await act('comOrg', s.id, 'accept'));
  ok(await answer('comOrg', s.id, { decision: 'adopted', body: '已采纳' }));
  ok(await approve('secA1', s.id));
  await refused(s.id, 409, () => act('comOrg', s.id, 'accept'), 'answered');
  await refused(s.id, 409, () => act('secA1', s.id, 'accept'), 'answered');
});

test('forbidden_transitions_from_withdrawn_are_409_and_change_nothing', async () => {
  const s = await submitOk('memA1', 'org');
  const open = await submitOk('memA2', 'org');
  assert.equal(ok(await act('memA1', s.id, 'withdraw')).status, 'withdrawn');
  assert.equal((await row(s.id)).status, 'withdrawn');
  await refused(s.id, 409, () => act('memA1', s.id, 'withdraw'), 'withdrawn');
  await refused(s.id, 409, () => act('comOrg', s.id, 'accept'), 'withdrawn');
  await refused(s.id, 409, () => act('secA1', s.id, 'merge', { into: open.id }), 'withdrawn');
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen'), 'withdrawn');
  await refused(s.id, 409, () => act('memA2', s.id, 'cosign'), 'withdrawn');
  // Nor can an open one be merged into a withdrawn one.
  await refused(open.id, 409, () => act('secA1', open.id, 'merge', { into: s.id }));
});

test('every_refused_step_names_the_current_status_in_its_detail', async () => {
  // The spec: "a refused step is answered 409, with the current status in detail".
  const s = await submitOk('memA1', 'org');
  ok(await act('comOrg', s.id, 'accept'));
  await refused(s.id, 409, () => approve('secA1', s.id), 'accepted'); // no draft yet
  ok(await answer('comOrg', s.id, { decision: 'adopted', body: '已采纳' }));
  ok(await approve('secA1', s.id));
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen'), 'answered'); // not rated
  ok(await act('memA1', s.id, 'rating', { rating: 'basically_satisfied' }));
  await refused(s.id, 409, () => act('memA1', s.id, 'reopen'), 'answered'); // not unsatisfied
  await refused(s.id, 409, () => act('memA1', s.id, 'rating', { rating: 'unsatisfied' }), 'answered'); // rated already
});

test('withdraw_by_anyone_but_the_author_is_refused', async () => {
  const s = await submitOk('memA1', 'org');
  await refused(s.id, 403, () => act('comOrg', s.id, 'withdraw')); // the assignee
  await refused(s.id, 403, () => act('secA1', s.id, 'withdraw')); // a secretary
  await refused(s.id, 403, () => act('comProp', s.id, 'withdraw')); // the committee
  // A member who may not even see it is told it does not exist.
  await refused(s.id, 404, () => act('memA2', s.id, 'withdraw'));
  assert.equal(ok(await act('memA1', s.id, 'withdraw')).status, 'withdrawn');
});

test('merge_moves_cosigns_sets_merged_into_and_tells_the_author', async () => {
  const dup = await submitOk('memA1', 'org', { title: `食物浪费${tag()}` });
  const keep = await submitOk('memA2', 'org');
  ok(await act('memA3', dup.id, 'cosign'));
  await refused(dup.id, 403, () => act('comOrg', dup.id, 'merge', { into: keep.id })); // not a secretary
  await refused(dup.id, 422, () => act('secA1', dup.id, 'merge', { into: dup.id }));

  const merged = ok(await act('secA1', dup.id, 'merge', { into: keep.id }));
  assert.equal(merged.status, 'merged');
  assert.equal(merged.merged_into, keep.id);
  const dbRow = await row(dup.id);
  assert.equal(dbRow.status, 'merged');
  assert.equal(Number(dbRow.merged_into), (await row(keep.id)).id);

  // The co-signer and the duplicate's author now co-sign the one kept.
  const cosigners = (await psql(`select account_id from cosigns where suggestion_id = ${sid(keep.id)} order by account_id`)).split('\n').map(Number);
  assert.deepEqual(cosigners, [w.ids.memA1, w.ids.memA3].sort((a, b) => a - b));
  assert.equal(ok(await view('secA1', keep.id)).cosign_count, 2);
  assert.equal((await row(keep.id)).cosign_count, 2);

  // The author learns where it went, in a message they can read.
  const mine = ok(await view('memA1', dup.id));
  const system = mine.messages.filter((m) => m.author_kind === 'system');
  assert.equal(system.length, 1);
  assert.equal(system[0].visibility, 'submitter');
  assert.ok(system[0].body.includes(keep.id), system[0].body);
  assert.equal(mine.merged_into, keep.id);

  const audit = JSON.parse(await psql(`select json_agg(a) from audit_log a where action = 'suggestion.merge' and object_id = ${lit(dup.id)}`));
  assert.equal(audit.length, 1);
  assert.equal(Number(audit[0].actor_id), w.ids.secA1);
  assert.equal(audit[0].change.after.merged_into, keep.id);

  await refused(dup.id, 409, () => act('secA1', dup.id, 'merge', { into: keep.id }), 'merged');
  await refused(dup.id, 409, () => act('memA2', dup.id, 'cosign'), 'merged');
});

// ---- validation ---------------------------------------------------------------------------

test('lengths_count_characters_and_units_and_categories_must_fit', async () => {
  const count = () => num('select count(*) from suggestions');
  const n = await count();

  const t100 = `${'党'.repeat(95)}${String(seq).padStart(5, '0').slice(-5)}`;
  assert.equal([...t100].length, 100);
  const ok100 = ok(await submit('memA1', 'org', { title: t100, body: '议'.repeat(5000) }), 201);
  assert.equal(await psql(`select char_length(title) || ' ' || char_length(body) from suggestions where public_id = ${lit(ok100.id)}`), '100 5000');

  const bad = async (opts, pointer, who = 'memA1', category = 'org') => {
    const r = await submit(who, category, opts);
    assert.equal(r.status, 422, `${pointer}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.type, '/problems/validation-failed');
    assert.ok(r.body.errors.some((e) => e.pointer === pointer), JSON.stringify(r.body.errors));
  };
  await bad({ title: '党'.repeat(101) }, '/title');
  await bad({ body: '议'.repeat(5001) }, '/body');
  await bad({ title: '' }, '/title');
  await bad({}, '/category_id', 'memA1', 'bOnly'); // a category of B, for A
  await bad({ unit: 'B' }, '/unit_id'); // not memA1's unit
  const unknown = await call('POST', '/v1/suggestions', 'memA1', { unit_id: w.units.A, category_id: 99999999, title: '未知类别', body: '无' });
  assert.equal(unknown.status, 422);
  assert.ok(unknown.body.errors.some((e) => e.pointer === '/category_id'));
  assert.equal(await count(), n + 1, 'only the valid one was stored');
});

test('not_adopted_without_a_reason_is_422_and_changes_nothing', async () => {
  const s = await submitOk('memA1', 'org');
  ok(await act('comOrg', s.id, 'accept'));
  const r = await refused(s.id, 422, () => answer('comOrg', s.id, { decision: 'not_adopted', body: '不采纳' }));
  assert.ok(r.body.errors.some((e) => e.pointer === '/reason'), JSON.stringify(r.body.errors));
  await refused(s.id, 422, () => answer('comOrg', s.id, { decision: 'rejected', body: '不存在的决定' }));
  const okay = ok(await answer('comOrg', s.id, { decision: 'not_adopted', body: '不采纳', reason: '经费不足' }));
  assert.equal(okay.answer.reason, '经费不足');
  assert.equal(await psql(`select decision || ' ' || reason from answers where suggestion_id = ${sid(s.id)}`), 'not_adopted 经费不足');
});

// ---- messages ------------------------------------------------------------------------------

test('internal_messages_never_reach_the_author', async () => {
  const s = await submitOk('memA1', 'org');
  const reply = `请补充具体位置${tag()}`;
  const internal = `内部：此事需要党委协调${tag()}`;
  const more = `补充：在二楼${tag()}`;
  ok(await act('comOrg', s.id, 'messages', { body: reply, visibility: 'submitter' }), 201);
  const staffView = ok(await act('comProp', s.id, 'messages', { body: internal, visibility: 'internal' }), 201);
  assert.ok(staffView.messages.some((m) => m.body === internal));
  const authorPost = await act('memA1', s.id, 'messages', { body: more });
  ok(authorPost, 201);
  assert.ok(!authorPost.text.includes(internal), "the author's own post does not echo internal messages");
  await refused(s.id, 403, () => act('memA1', s.id, 'messages', { body: '我想看内部', visibility: 'internal' }));

  const mine = await view('memA1', s.id);
  assert.deepEqual(ok(mine).messages.map((m) => m.body), [reply, more]);
  assert.ok(mine.body.messages.every((m) => m.visibility === 'submitter'));
  assert.ok(!mine.text.includes(internal), 'the internal text appears nowhere in the author view');

  for (const who of ['comProp', 'comOrg', 'secA1']) {
    const staff = ok(await view(who, s.id));
    assert.deepEqual(staff.messages.map((m) => [m.visibility, m.body]),
      [['submitter', reply], ['internal', internal], ['submitter', more]], who);
  }
  assert.equal(await psql(`select string_agg(author_kind || '/' || visibility, ',' order by id) from messages where suggestion_id = ${sid(s.id)}`),
    'committee/submitter,committee/internal,submitter/submitter');
  assert.equal(await num(`select count(*) from audit_log where action = 'suggestion.message' and object_id = ${lit(s.id)}`), 3);
  // Someone who cannot see the suggestion cannot write to it either.
  await refused(s.id, 404, () => act('memA2', s.id, 'messages', { body: '路过' }));
});

test('the_author_history_does_not_reveal_internal_messages', async () => {
  const s = await submitOk('memA1', 'org');
  ok(await act('comOrg', s.id, 'messages', { body: `给作者${tag()}`, visibility: 'submitter' }), 201);
  ok(await act('comProp', s.id, 'messages', { body: `内部一${tag()}`, visibility: 'internal' }), 201);
  ok(await act('comProp', s.id, 'messages', { body: `内部二${tag()}`, visibility: 'internal' }), 201);
  const mine = ok(await view('memA1', s.id));
  assert.equal(mine.messages.length, 1);
  // The author's history shows the steps of the workflow only: nothing
  // tells them that, how often or when the committee wrote internally.
  const committeeWork = mine.history.filter((h) => ['suggestion.message', 'suggestion.draft_answer', 'suggestion.assign'].includes(h.action));
  assert.deepEqual(committeeWork, [], 'no committee work in the author\'s history');
  assert.ok(mine.history.some((h) => h.action === 'suggestion.submit'), 'the workflow steps are there');
  const staff = ok(await view('comOrg', s.id));
  assert.equal(staff.history.filter((h) => h.action === 'suggestion.message').length, 3, 'the committee sees every message event');
});

// ---- co-signing ------------------------------------------------------------------------------

test('cosign_once_per_member_not_by_the_author_and_only_in_the_unit', async () => {
  const s = await submitOk('memA1', 'prop');
  assert.equal(s.cosign_count, 0);
  assert.equal(ok(await act('memA2', s.id, 'cosign')).cosign_count, 1);
  await refused(s.id, 409, () => act('memA2', s.id, 'cosign'));
  await refused(s.id, 409, () => act('memA1', s.id, 'cosign'));
  // Another unit's member learns nothing: the same 404 as for a missing id.
  await refused(s.id, 404, () => act('memB', s.id, 'cosign'));
  assert.equal(ok(await act('memA3', s.id, 'cosign')).cosign_count, 2);
  assert.equal(ok(await view('memA1', s.id)).cosign_count, 2);
  assert.equal(await num(`select count(*) from cosigns where suggestion_id = ${sid(s.id)}`), 2);
  assert.equal((await row(s.id)).cosign_count, 2);
  assert.equal(await num(`select count(*) from audit_log where action = 'suggestion.cosign' and object_id = ${lit(s.id)}`), 2);
});

test('a_cosigner_who_may_not_read_the_thread_does_not_get_it_with_the_cosign', async () => {
  const s = await submitOk('memA1', 'org');
  const reply = `请留下联系电话${tag()}`;
  ok(await act('comOrg', s.id, 'messages', { body: reply, visibility: 'submitter' }), 201);
  assert.equal((await view('memA2', s.id)).status, 404, 'memA2 may not open it');
  const r = await act('memA2', s.id, 'cosign');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(!r.text.includes(reply), "the cosign response does not carry the author's thread");
});

// ---- idempotency ------------------------------------------------------------------------------

test('twenty_racing_posts_with_one_idempotency_key_make_one_suggestion', async () => {
  const key = `idem-${tag()}`;
  const body = submission('org', { title: `幂等${tag()}` });
  const rs = await Promise.all(Array.from({ length: 20 }, () =>
    ctx.api.request('POST', '/v1/suggestions', { token: w.tokens.memA2, body, headers: { 'Idempotency-Key': key } })));
  assert.deepEqual(rs.map((r) => r.status), Array(20).fill(201), JSON.stringify(rs.find((r) => r.status !== 201)?.body));
  const got = new Set(rs.map((r) => r.body.id));
  assert.equal(got.size, 1, `one id for all: ${[...got]}`);
  const [pid] = got;
  assert.equal(await num(`select count(*) from suggestions where title = ${lit(body.title)}`), 1);
  assert.equal(await num(`select count(*) from audit_log where action = 'suggestion.submit' and object_id = ${lit(pid)}`), 1);
  assert.equal(await num(`select count(*) from assignments where suggestion_id = ${sid(pid)}`), 1);

  // The same key with another body is a client error, and stores nothing.
  const n = await num('select count(*) from suggestions');
  const other = await ctx.api.request('POST', '/v1/suggestions', { token: w.tokens.memA2, body: { ...body, title: `${body.title}改` }, headers: { 'Idempotency-Key': key } });
  assert.equal(other.status, 422, JSON.stringify(other.body));
  assert.equal(await num('select count(*) from suggestions'), n);
  // A later retry still gets the first answer.
  const late = await ctx.api.request('POST', '/v1/suggestions', { token: w.tokens.memA2, body, headers: { 'Idempotency-Key': key } });
  assert.equal(late.status, 201);
  assert.equal(late.body.id, pid);
  // The same members in another order are the same body.
  const reordered = Object.fromEntries(Object.entries(body).reverse());
  const again = await ctx.api.request('POST', '/v1/suggestions', { token: w.tokens.memA2, body: reordered, headers: { 'Idempotency-Key': key } });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  assert.equal(again.body.id, pid);
  assert.equal(await num(`select count(*) from suggestions where title = ${lit(body.title)}`), 1);
  // Keys belong to an account: another member's same key is a new submission.
  const mine = await ctx.api.request('POST', '/v1/suggestions', { token: w.tokens.memA3, body, headers: { 'Idempotency-Key': key } });
  assert.equal(mine.status, 201);
  assert.notEqual(mine.body.id, pid);
});

test('a_step_sent_again_with_its_idempotency_key_is_taken_once', async () => {
  // What an offline client's queue does after a lost answer: the same
  // message, acceptance, co-sign and rating sent again with the same key.
  const s = await submitOk('memA1', 'org');
  const key = (n) => ({ 'Idempotency-Key': `step-${n}-${tag()}` });
  const msg = { body: `同一条留言${tag()}`, visibility: 'submitter' };
  const k1 = key('msg');
  const rs = await Promise.all(Array.from({ length: 8 }, () => call('POST', `/v1/suggestions/${s.id}/messages`, 'comOrg', msg, k1)));
  assert.deepEqual(rs.map((r) => r.status), Array(8).fill(201), JSON.stringify(rs.find((r) => r.status !== 201)?.body));
  assert.equal(await num(`select count(*) from messages where suggestion_id = ${sid(s.id)} and body = ${lit(msg.body)}`), 1);
  // The same key with another body, or for another step, is refused and stores nothing.
  const other = await call('POST', `/v1/suggestions/${s.id}/messages`, 'comOrg', { ...msg, body: `${msg.body}改` }, k1);
  assert.equal(other.status, 422, JSON.stringify(other.body));
  const otherStep = await call('POST', `/v1/suggestions/${s.id}/accept`, 'comOrg', undefined, k1);
  assert.equal(otherStep.status, 422, JSON.stringify(otherStep.body));
  assert.equal(await num(`select count(*) from messages where suggestion_id = ${sid(s.id)}`), 1);
  assert.equal((await row(s.id)).status, 'submitted');
  // Keys are per account: another handler's same key is a message of its own.
  ok(await call('POST', `/v1/suggestions/${s.id}/messages`, 'comProp', msg, k1), 201);
  assert.equal(await num(`select count(*) from messages where suggestion_id = ${sid(s.id)} and body = ${lit(msg.body)}`), 2);

  // Accepting twice with one key: both answered 200, one transition, one audit row.
  const k2 = key('accept');
  const a1 = ok(await call('POST', `/v1/suggestions/${s.id}/accept`, 'comOrg', undefined, k2));
  const a2 = ok(await call('POST', `/v1/suggestions/${s.id}/accept`, 'comOrg', undefined, k2));
  assert.equal(a1.status, 'accepted');
  assert.equal(a2.status, 'accepted');
  assert.equal(await num(`select count(*) from audit_log where action = 'suggestion.accept' and object_id = ${lit(s.id)}`), 1);
  // Without the key the repeat is the workflow's 409, as before.
  assert.equal((await call('POST', `/v1/suggestions/${s.id}/accept`, 'comOrg')).status, 409);

  // A co-sign and an empty key.
  const k3 = key('cosign');
  ok(await call('POST', `/v1/suggestions/${s.id}/cosign`, 'memA3', undefined, k3));
  ok(await call('POST', `/v1/suggestions/${s.id}/cosign`, 'memA3', undefined, k3));
  assert.equal(await num(`select count(*) from cosigns where suggestion_id = ${sid(s.id)}`), 1);
  const empty = await call('POST', `/v1/suggestions/${s.id}/messages`, 'comOrg', msg, { 'Idempotency-Key': '' });
  assert.equal(empty.status, 422, JSON.stringify(empty.body));
});

test('without_an_idempotency_key_two_posts_make_two_suggestions', async () => {
  const body = submission('org', { title: `无键${tag()}` });
  const a = ok(await call('POST', '/v1/suggestions', 'memA2', body), 201);
  const b = ok(await call('POST', '/v1/suggestions', 'memA2', body), 201);
  assert.notEqual(a.id, b.id);
  assert.equal(await num(`select count(*) from suggestions where title = ${lit(body.title)}`), 2);
});

// ---- the database guards the workflow ------------------------------------------------------------

test('a_direct_sql_update_that_skips_a_status_is_refused_by_the_database', async () => {
  const s = await submitOk('memA3', 'org');
  const err = await psql(`update suggestions set status = 'answered' where public_id = ${lit(s.id)}`).catch((e) => e);
  assert.ok(err instanceof Error, 'submitted → answered is refused');
  assert.match(err.message, /submitted -> answered is not a transition/);
  const err2 = await psql(`update suggestions set status = 'published' where public_id = ${lit(s.id)}`).catch((e) => e);
  assert.ok(err2 instanceof Error, 'submitted → published is refused');
  // The service's own role is held to the same rule.
  const asService = await ctx.cluster.psqlAs('yijian', `update suggestions set status = 'answered' where public_id = ${lit(s.id)}`);
  assert.notEqual(asService.code, 0, asService.stdout);
  assert.match(asService.stderr, /is not a transition/);
  assert.equal((await row(s.id)).status, 'submitted');
  // An edge the workflow has goes through.
  assert.equal(await psql(`with u as (update suggestions set status = 'accepted' where public_id = ${lit(s.id)} returning status) select status from u`), 'accepted');

  const a = await submitOk('memA3', 'org');
  ok(await act('comOrg', a.id, 'accept'));
  ok(await answer('comOrg', a.id, { decision: 'adopted', body: '好' }));
  ok(await approve('secA1', a.id));
  const back = await psql(`update suggestions set status = 'accepted' where public_id = ${lit(a.id)}`).catch((e) => e);
  assert.ok(back instanceof Error, 'answered → accepted without reopened is refused');
  assert.match(back.message, /reopened only once/);
  assert.equal(await psql(`select status || ' ' || reopened from suggestions where public_id = ${lit(a.id)}`), 'answered false');
  // Approving one's own draft is refused by the schema as well.
  const self = await psql(`update answers set approved_by = drafted_by where suggestion_id = ${sid(a.id)}`).catch((e) => e);
  assert.ok(self instanceof Error, 'approved_by = drafted_by is refused');
});

test('the_service_role_cannot_add_an_edge_to_the_workflow', async () => {
  const r = await ctx.cluster.psqlAs('yijian',
    "begin; insert into suggestion_transitions values ('submitted', 'answered'); rollback;");
  assert.notEqual(r.code, 0, `the service role may insert into suggestion_transitions: ${r.stdout}`);
  assert.equal(await num("select count(*) from suggestion_transitions where from_status = 'submitted' and to_status = 'answered'"), 0);
});

test('a_suggestion_cannot_be_inserted_past_submitted', async () => {
  const r = await ctx.cluster.psqlAs('yijian', `begin;
    insert into suggestions (public_id, unit_id, category_id, title, body, author_id, anonymous, status, ack_due, answer_due, grace_days)
    values ('S-ZZZZZZ', ${w.units.A}, ${w.categories.org}, '跳过', '跳过', ${w.ids.memA1}, false, 'answered', now(), now(), 1);
    rollback;`);
  assert.notEqual(r.code, 0, `the service role may insert a suggestion that is already answered: ${r.stdout}`);
});

// ---- search ------------------------------------------------------------------------------------

test('search_finds_a_two_character_chinese_word', async () => {
  const a = await submitOk('memS', 'org', { title: `关于食堂的建议${tag()}`, body: '饭菜太咸' });
  const b = await submitOk('memS', 'org', { title: `延长开放时间${tag()}`, body: '希望职工食堂晚上也开放' });
  const c = await submitOk('memS', 'org', { title: `图书角${tag()}`, body: '增加图书，食物和堂屋无关' });
  const found = ids(await listAll('memS', `q=${encodeURIComponent('食堂')}`));
  assert.deepEqual(found.sort(), [a.id, b.id].sort());
  assert.ok(!found.includes(c.id), '食 and 堂 apart do not match');
  // Over everything a secretary above sees, too.
  assert.deepEqual(ids(await listAll('secRoot', `q=${encodeURIComponent('食堂')}`)).sort(), [a.id, b.id].sort());
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent('堂晚')}`)), [b.id]);
});

test('search_treats_percent_and_underscore_literally', async () => {
  const pct = await submitOk('memS', 'org', { title: `满意度达到100%${tag()}`, body: '目标' });
  const und = await submitOk('memS', 'org', { title: `文件名a_b${tag()}`, body: '命名' });
  const near = await submitOk('memS', 'org', { title: `文件名axb${tag()}`, body: '命名' });
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent('%')}`)), [pct.id]);
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent('_')}`)), [und.id]);
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent('a_b')}`)), [und.id]);
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent('0%满')}`)), []);
  assert.ok(!ids(await listAll('memS', `q=${encodeURIComponent('a_b')}`)).includes(near.id));
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent('100%')}`)), [pct.id]);
});

test('search_reads_the_newest_rows_then_the_index_and_pages_alike', async () => {
  // With SEARCH_WINDOW=3 a search reads 3 rows by id, then asks the bigram
  // index for the rest: every page size and cursor must give the matches
  // newest first, each once, the same as one step over everything.
  const word = `樟树${tag()}`;
  const made = [];
  for (let i = 0; i < 7; i++) {
    made.push((await submitOk('memS', 'org', { title: `${word}第${i}条`, body: '树荫' })).id);
    if (i % 2) await submitOk('memS', 'org', { title: `无关${tag()}`, body: '别的' });
  }
  const want = await dbIds(`title like ${lit(`${word}%`)} and author_id = ${w.ids.memS}`);
  assert.deepEqual([...want].sort(), [...made].sort());
  const small = await startService(ctx.cluster, { SEARCH_WINDOW: '3' });
  try {
    const smallApi = api(small.url);
    for (const limit of [1, 2, 3, 5, 100]) {
      const got = [];
      let cursor = null;
      for (let page = 0; page < 20; page++) {
        const qs = [`q=${encodeURIComponent(word)}`, `limit=${limit}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
        const r = await smallApi.request('GET', `/v1/suggestions?${qs}`, { token: w.tokens.memS });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.items.length <= limit);
        got.push(...ids(r.body.items));
        cursor = r.body.next_cursor;
        if (!cursor) break;
      }
      assert.deepEqual(got, want, `limit ${limit}`);
    }
    // What another caller may not see stays out in both steps.
    const r = await smallApi.request('GET', `/v1/suggestions?q=${encodeURIComponent(word)}`, { token: w.tokens.memB });
    assert.deepEqual(r.body.items, []);
  } finally {
    await small.stop();
  }
  assert.deepEqual(ids(await listAll('memS', `q=${encodeURIComponent(word)}`)), want, 'one step over everything');
});

test('search_finds_for_every_caller_exactly_what_their_list_holds_with_the_word', async () => {
  // A caller who is not an admin searches by each way they see rows (their
  // units, the units rows were escalated to, their own, those assigned to
  // them); an admin by the newest rows. Whatever the way and the window,
  // the search must equal the caller's list narrowed to the word.
  const word = `榕树${tag()}`;
  const made = [];
  const add = async (who, category, unit) =>
    made.push((await submitOk(who, category, { unit, title: `${word}${made.length}`, body: '树荫' })).id);
  await add('memA1', 'org', 'A'); // → comOrg
  await add('memA2', 'prop', 'A'); // → comProp
  await add('memA3', 'other', 'A'); // nobody holds 纪检 → a secretary of A
  await add('memB', 'bOnly', 'B');
  await add('memB', 'org', 'B');
  await add('memG', 'org', 'G'); // no committee in G: routed above it
  for (let i = 0; i < 4; i++) await submitOk('memA1', 'org', { title: `无关${tag()}`, body: '别的' });
  // Seen by B's committee only because it went to B.
  const escalated = made[0];
  await psql(`update suggestions set escalated_to = ${w.units.B}, escalated_at = now(), escalation_reason = 'test'
              where public_id = ${lit(escalated)}`);
  const matching = new Set(await dbIds(`title like ${lit(`${word}%`)}`));
  assert.equal(matching.size, made.length);

  const callers = ['memA1', 'memB', 'memG', 'comOrg', 'comProp', 'comB1', 'secA1', 'secB', 'secRoot', 'comRoot', 'admin'];
  const small = await startService(ctx.cluster, { SEARCH_WINDOW: '3' });
  try {
    for (const svc of [ctx.api, api(small.url)]) {
      for (const who of callers) {
        const want = ids(await listAll(who)).filter((id) => matching.has(id));
        for (const limit of [1, 2, 100]) {
          const got = [];
          let cursor = null;
          for (let page = 0; page < 20; page++) {
            const qs = [`q=${encodeURIComponent(word)}`, `limit=${limit}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
            const r = await svc.request('GET', `/v1/suggestions?${qs}`, { token: w.tokens[who] });
            assert.equal(r.status, 200, JSON.stringify(r.body));
            got.push(...ids(r.body.items));
            cursor = r.body.next_cursor;
            if (!cursor) break;
          }
          assert.deepEqual(got, want, `${who}, limit ${limit}`);
        }
      }
    }
  } finally {
    await small.stop();
  }
  // The escalated one is found by B's committee through the escalation alone.
  const comB1 = ids(await listAll('comB1', `q=${encodeURIComponent(word)}`));
  assert.ok(comB1.includes(escalated), 'escalated to B: found by its committee');
  assert.equal(await num(`select count(*) from suggestions where public_id = ${lit(escalated)} and unit_id = ${w.units.B}`), 0);
});

// ---- lists ------------------------------------------------------------------------------------

test('lists_show_each_person_what_they_may_see', async () => {
  const a = await submitOk('memA1', 'org'); // → comOrg
  const b = await submitOk('memA2', 'prop'); // → comProp
  const c = await submitOk('memB', 'prop', { unit: 'B' }); // nobody holds 宣传 in B → secB
  assert.equal(c.assignee_id, w.ids.secB);

  const mine = await listAll('memA1');
  assert.ok(ids(mine).includes(a.id));
  assert.deepEqual(ids(mine), await dbIds(`author_id = ${w.ids.memA1}`), 'a member sees exactly their own');

  const committee = ids(await listAll('comProp'));
  assert.ok(committee.includes(a.id), "a committee member sees the unit's, not only their own");
  assert.ok(committee.includes(b.id));
  assert.ok(!committee.includes(c.id), "but not another unit's");
  assert.deepEqual(committee, await dbIds(`unit_id = ${w.units.A} or escalated_to = ${w.units.A} or assignee_id = ${w.ids.comProp} or author_id = ${w.ids.comProp}`));

  const root = ids(await listAll('secRoot'));
  for (const s of [a, b, c]) assert.ok(root.includes(s.id), `the root secretary sees ${s.id}`);
  assert.deepEqual(root, await dbIds('true'), 'the root secretary sees every unit below');

  // The list checks the session in its own statement: a page with nothing
  // is empty, not an error; a signed-out session is 401 for every variant.
  await w.account('quiet', '新党员', 'G');
  for (const q of ['', 'assignee=me', 'author=me', 'status=submitted']) {
    const empty = ok(await call('GET', `/v1/suggestions?${q}`, 'quiet'));
    assert.deepEqual(empty, { items: [], next_cursor: null }, q);
  }
  ok(await call('POST', '/v1/auth/logout', 'quiet'), 204);
  for (const q of ['', 'assignee=me', 'author=me']) {
    const r = await call('GET', `/v1/suggestions?${q}`, 'quiet');
    assert.equal(r.status, 401, `${q}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.detail, /expired or signed out/);
  }

  const secB = ids(await listAll('secB'));
  assert.ok(secB.includes(c.id) && !secB.includes(a.id));

  // The listed item carries what a list needs.
  const item = (await listAll('comProp')).find((s) => s.id === b.id);
  assert.equal(item.assignee_id, w.ids.comProp);
  assert.equal(item.unit_id, w.units.A);
  assert.equal(item.status, 'submitted');
});

test('list_filters_assignee_me_status_and_unit', async () => {
  const w1 = await submitOk('memA1', 'org');
  ok(await act('memA1', w1.id, 'withdraw'));
  const mineAssigned = await listAll('comOrg', 'assignee=me');
  assert.ok(mineAssigned.length > 0);
  assert.ok(mineAssigned.every((s) => s.assignee_id === w.ids.comOrg));
  assert.deepEqual(ids(mineAssigned), await dbIds(`assignee_id = ${w.ids.comOrg}`));

  const withdrawn = await listAll('memA1', 'status=withdrawn');
  assert.ok(ids(withdrawn).includes(w1.id));
  assert.ok(withdrawn.every((s) => s.status === 'withdrawn'));
  assert.deepEqual(ids(withdrawn), await dbIds(`author_id = ${w.ids.memA1} and status = 'withdrawn'`));

  const inG = await listAll('secRoot', `unit=${w.units.G}`);
  assert.ok(inG.length > 0);
  assert.deepEqual(ids(inG), await dbIds(`unit_id = ${w.units.G} or escalated_to = ${w.units.G}`));
  const inA = ids(await listAll('secRoot', `unit=${w.units.A}`));
  assert.ok(ids(inG).every((x) => inA.includes(x)), "a unit's list includes its descendants");

  // author=me: a committee member's own, not the unit's they also see.
  const own = await submitOk('comOrg', 'prop');
  const authored = ids(await listAll('comOrg', 'author=me'));
  assert.ok(authored.includes(own.id));
  assert.deepEqual(authored, await dbIds(`author_id = ${w.ids.comOrg}`));
  assert.ok(ids(await listAll('comOrg')).length > authored.length, 'the plain list holds more than their own');

  for (const q of ['status=bogus', 'assignee=someone', 'author=someone', 'author=', 'overdue=maybe', 'limit=0', 'limit=101', 'cursor=abc', 'unit=-1']) {
    const r = await call('GET', `/v1/suggestions?${q}`, 'memA1');
    assert.equal(r.status, 422, q);
  }
  assert.equal((await call('GET', '/v1/suggestions')).status, 401);
});

test('overdue_filter_shows_what_missed_its_due_date', async () => {
  const late = await submitOk('memA3', 'org'); // not acknowledged in time
  const fine = await submitOk('memA3', 'org');
  const slow = await submitOk('memA3', 'org'); // accepted, answer overdue
  const acked = await submitOk('memA3', 'org'); // accepted after its ack date: not overdue
  ok(await act('comOrg', slow.id, 'accept'));
  ok(await act('comOrg', acked.id, 'accept'));
  await psql(`update suggestions set ack_due = now() - interval '1 hour' where public_id in (${lit(late.id)}, ${lit(acked.id)})`);
  await psql(`update suggestions set ack_due = now() - interval '2 days', answer_due = now() - interval '1 hour' where public_id = ${lit(slow.id)}`);

  const overdue = await listAll('memA3', 'overdue=true');
  assert.deepEqual(ids(overdue).sort(), [late.id, slow.id].sort());
  assert.ok(overdue.every((s) => s.overdue === true));
  const all = await listAll('memA3');
  const flag = Object.fromEntries(all.map((s) => [s.id, s.overdue]));
  assert.deepEqual([flag[late.id], flag[fine.id], flag[slow.id], flag[acked.id]], [true, false, true, false]);
  assert.equal(ok(await view('memA3', late.id)).overdue, true);
  assert.equal(ok(await view('memA3', fine.id)).overdue, false);
  assert.deepEqual(ids(await listAll('memA3', 'overdue=false')).sort(), ids(all).sort(), 'overdue=false does not filter');
});

test('cursor_pagination_returns_each_once_in_id_order_despite_inserts', async () => {
  for (let i = 0; i < 25; i++) await submitOk('memP', 'org', { title: `翻页${i}-${tag()}` });
  const expected = await dbIds(`author_id = ${w.ids.memP}`);
  assert.equal(expected.length, 25);

  const seen = [];
  const sizes = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const qs = cursor ? `limit=10&cursor=${encodeURIComponent(cursor)}` : 'limit=10';
    const body = ok(await call('GET', `/v1/suggestions?${qs}`, 'memP'));
    seen.push(...ids(body.items));
    sizes.push(body.items.length);
    cursor = body.next_cursor;
    // A new one arrives between pages; it must not disturb the walk.
    await submitOk('memP', 'org', { title: `插入${page}-${tag()}` });
    if (!cursor) break;
  }
  assert.deepEqual(sizes, [10, 10, 5]);
  assert.deepEqual(seen, expected, 'all 25, each once, newest first by id');
  assert.equal(new Set(seen).size, 25);
  const now = await listAll('memP');
  assert.equal(now.length, 28, 'the three inserted later are listed on a fresh walk');
});

// ---- escalation ---------------------------------------------------------------------------------

const overdueSql = (pids) =>
  `update suggestions set ack_due = now() - make_interval(days => grace_days + 3), answer_due = now() - make_interval(days => grace_days + 1)
   where public_id in (${pids.map(lit).join(', ')})`;

test('an_answer_overdue_past_the_grace_escalates_to_the_parent_unit', async () => {
  const e = await submitOk('memA1', 'org');
  const notYet = await submitOk('memA1', 'org'); // overdue, but within the grace
  ok(await act('comOrg', e.id, 'accept'));
  await psql(overdueSql([e.id]));
  await psql(`update suggestions set answer_due = now() - interval '1 day' where public_id = ${lit(notYet.id)}`);

  const to = await waitFor(async () => (await psql(`select escalated_to from suggestions where public_id = ${lit(e.id)} and escalated_to is not null`)) || null,
    { timeoutMs: 15000, intervalMs: 250 });
  assert.equal(Number(to), w.units.root, 'escalated to the parent of A');
  const dbRow = await row(e.id);
  assert.ok(dbRow.escalated_at);
  assert.match(dbRow.escalation_reason, /overdue/);
  assert.equal(dbRow.status, 'accepted', 'escalation does not change the status');

  const seen = ok(await view('secRoot', e.id));
  assert.equal(seen.escalated_to, w.units.root);
  assert.equal(seen.escalation_reason, dbRow.escalation_reason);
  const listed = (await listAll('secRoot', `unit=${w.units.root}`)).find((s) => s.id === e.id);
  assert.ok(listed, 'in the root list');
  assert.equal(listed.escalation_reason, dbRow.escalation_reason);

  const audit = JSON.parse(await psql(`select json_agg(a) from audit_log a where action = 'suggestion.escalate' and object_id = ${lit(e.id)}`));
  assert.equal(audit.length, 1);
  assert.equal(audit[0].actor_kind, 'system');
  assert.equal(audit[0].change.after.escalated_to, w.units.root);

  await sleep(2500); // two more passes of the job
  assert.equal(await num(`select count(*) from audit_log where action = 'suggestion.escalate' and object_id = ${lit(e.id)}`), 1, 'escalated once');
  assert.equal((await row(notYet.id)).escalated_to, null, 'within the grace: not escalated');
});

test('an_escalated_suggestion_appears_in_the_list_of_the_parent_units_committee', async () => {
  const e = await submitOk('memA2', 'prop');
  await psql(overdueSql([e.id]));
  assert.ok(await waitFor(async () => (await psql(`select escalated_to from suggestions where public_id = ${lit(e.id)} and escalated_to is not null`)) || null,
    { timeoutMs: 15000, intervalMs: 250 }), 'escalated');
  const seen = ok(await view('comRoot', e.id));
  assert.equal(seen.escalated_to, w.units.root);
  const listed = ids(await listAll('comRoot'));
  assert.ok(listed.includes(e.id), 'the root committee, who may open it, finds it in their list');
});

test('two_service_instances_escalate_each_suggestion_exactly_once', async () => {
  const svc2 = await startService(ctx.cluster, { JOBS_INTERVAL: '1' });
  try {
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push((await submitOk(i % 2 ? 'memA2' : 'memG', 'org', { unit: i % 2 ? 'A' : 'G' })).id);
    await psql(overdueSql(subs));
    const done = await waitFor(async () => (await num(`select count(*) from suggestions where public_id in (${subs.map(lit).join(', ')}) and escalated_to is not null`)) === subs.length,
      { timeoutMs: 20000, intervalMs: 250 });
    assert.ok(done, 'all escalated');
    await sleep(3000); // both instances make several more passes
    const counts = await psql(`select object_id || ':' || count(*) from audit_log where action = 'suggestion.escalate' and object_id in (${subs.map(lit).join(', ')}) group by object_id order by object_id`);
    assert.deepEqual(counts.split('\n'), [...subs].sort().map((s) => `${s}:1`));
    // G's go to A, A's to the root.
    const targets = await psql(`select string_agg(distinct u.name || '>' || p.name, ',') from suggestions s join org_units u on u.id = s.unit_id join org_units p on p.id = s.escalated_to where public_id in (${subs.map(lit).join(', ')})`);
    assert.deepEqual(targets.split(',').sort(), ['第一党小组>第一党支部', '第一党支部>机关党委'].sort());
    // The group's escalated ones are in A's list with the reason.
    const inA = (await listAll('secA1', `unit=${w.units.A}`)).filter((s) => subs.includes(s.id));
    assert.equal(inA.length, subs.length);
    assert.ok(inA.every((s) => s.escalation_reason && s.escalated_to));
  } finally {
    const code = await svc2.stop();
    const reports = svc2.logs.map((l) => l.line).filter((line) => /Sanitizer|runtime error:/.test(line));
    assert.deepEqual(reports, [], 'sanitizer reports in the second instance');
    assert.equal(code, 0, 'second instance exit code');
  }
});

// ---- a unit that does not require approval -------------------------------------------

test('in_a_unit_without_approval_the_draft_is_the_answer', async () => {
  const patch = (value) => call('PATCH', `/v1/org-units/${w.units.A}`, 'secA1', { requires_approval: value });
  const off = ok(await patch(false));
  assert.equal(off.requires_approval, false);
  try {
    const s = await submitOk('memA1', 'org');
    ok(await act('comOrg', s.id, 'accept'));
    const answered = ok(await answer('comOrg', s.id, { decision: 'adopted', body: `直接答复${tag()}` }));
    assert.equal(answered.status, 'answered', 'no approval step');
    const mine = ok(await view('memA1', s.id));
    assert.equal(mine.answer.decision, 'adopted', 'the author sees it at once');
    assert.equal(mine.answer.approved, false);
    assert.equal(await num(`select count(*) from audit_log where action = 'unit.update' and object_id = '${w.units.A}'`), 1);
  } finally {
    assert.equal(ok(await patch(true)).requires_approval, true);
  }
  // With approval required again, a draft waits.
  const t = await submitOk('memA1', 'org');
  ok(await act('comOrg', t.id, 'accept'));
  assert.equal(ok(await answer('comOrg', t.id, { decision: 'noted', body: `待批${tag()}` })).status, 'accepted');
});

test('editing_a_category_changes_new_due_dates_only', async () => {
  const cat = ok(await call('POST', `/v1/org-units/${w.units.A}/categories`, 'secA1', { name: `可改${tag()}`, portfolio: '组织', ack_days: 2, answer_days: 5 }), 201);
  const before = ok(await call('POST', '/v1/suggestions', 'memA1', { unit_id: w.units.A, category_id: cat.id, title: `旧期限${tag()}`, body: '内容' }), 201);
  const edited = ok(await call('PATCH', `/v1/org-units/${w.units.A}/categories/${cat.id}`, 'secA1', { answer_days: 30 }));
  assert.equal(edited.answer_days, 30);
  assert.equal(edited.ack_days, 2, 'absent members keep their value');
  const after = ok(await call('POST', '/v1/suggestions', 'memA1', { unit_id: w.units.A, category_id: cat.id, title: `新期限${tag()}`, body: '内容' }), 201);
  const days = (s) => Math.round((Date.parse(s.answer_due) - Date.parse(s.created_at)) / 86400000);
  assert.equal(days(ok(await view('memA1', before.id))), 5, 'a submitted suggestion keeps its due date');
  assert.equal(days(after), 30);
  assert.equal(await num(`select count(*) from audit_log where action = 'category.update' and object_id = '${cat.id}'`), 1);
  const bad = await call('PATCH', `/v1/org-units/${w.units.A}/categories/${cat.id}`, 'secA1', { ack_days: 40 });
  assert.equal(bad.status, 422, 'answer_days must stay at least ack_days');
  const elsewhere = await call('PATCH', `/v1/org-units/${w.units.B}/categories/${cat.id}`, 'admin', { answer_days: 9 });
  assert.equal(elsewhere.status, 404, 'a category is edited in its own unit');
  const empty = await call('PATCH', `/v1/org-units/${w.units.A}/categories/${cat.id}`, 'secA1', {});
  assert.equal(empty.status, 422);
});

// Routing reads a count of open suggestions per assignee that triggers keep
// (sql/0008); after everything the tests above did through the API —
// submissions, accepts, answers, withdrawals, merges, reassignments — and a
// change made straight in SQL, it still equals the count it replaces.
test('the_kept_open_count_per_assignee_equals_counting_after_every_kind_of_change', async () => {
  const mismatches = `select count(*) from (select assignee_id, count(*) as c from suggestions
      where assignee_id is not null and status in ('submitted', 'accepted') group by assignee_id) t
    full join assignee_open o on o.account_id = t.assignee_id
    where coalesce(t.c, 0) <> coalesce(o.open, 0)`;
  assert.ok(await num(`select count(*) from assignee_open where open > 0`) > 0, 'some are open');
  assert.equal(await num(mismatches), 0);
  // Two open suggestions of one assignee move to another in one statement.
  const [a, b] = [w.ids.comOrg, w.ids.secA1];
  const moved = await num(`with m as (update suggestions set assignee_id = ${b} where id in (
      select id from suggestions where assignee_id = ${a} and status in ('submitted', 'accepted')
      order by id limit 2) returning 1) select count(*) from m`);
  assert.ok(moved > 0);
  assert.equal(await num(mismatches), 0);
  // The service may read the count, not write it.
  const denied = await ctx.cluster.psqlAs('yijian', 'update assignee_open set open = 0');
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /permission denied/);
  assert.equal(await num(mismatches), 0);
});

// ---- limits (issue 22, finding 5) ---------------------------------------------------

test('a_thread_stops_at_messages_per_suggestion_and_a_writer_at_messages_per_day', async (t) => {
  const svc = await startService(ctx.cluster, { MESSAGES_PER_SUGGESTION: '4', MESSAGES_PER_DAY: '2' });
  t.after(() => svc.stop());
  const other = api(svc.url);
  const s = await submitOk('memA1', 'org');
  const say = (who, text) => other.post(`/v1/suggestions/${s.id}/messages`, { token: w.tokens[who], body: { body: text } });
  assert.equal((await say('memA1', '一')).status, 201);
  assert.equal((await say('memA1', '二')).status, 201);
  const third = await say('memA1', '三');
  assert.equal(third.status, 429, JSON.stringify(third.body));
  assert.equal(third.body.type, '/problems/too-many-attempts');
  assert.match(third.body.detail, /MESSAGES_PER_DAY allows 2/);
  assert.ok(Number(third.headers.get('retry-after')) > 0);
  // Another writer has a pace of their own, until the thread is full.
  assert.equal((await say('comOrg', '回复一')).status, 201);
  assert.equal((await say('comOrg', '回复二')).status, 201);
  const full = await say('secA1', '满了');
  assert.equal(full.status, 422, JSON.stringify(full.body));
  assert.match(full.body.errors[0].detail, /holds 4 messages; MESSAGES_PER_SUGGESTION allows 4/);
  assert.equal(await num(`select count(*) from messages where suggestion_id = ${sid(s.id)} and author_kind <> 'system'`), 4);
});

// Issue 22 (the branch walk): a co-signer and the author of a suggestion
// merged into another got 404 on the suggestion they now support.
test('co_signers_and_authors_of_merged_suggestions_read_what_they_support', async () => {
  const s = await submitOk('memA1', 'org');
  assert.equal((await view('memA2', s.id)).status, 404, 'before co-signing');
  ok(await act('memA2', s.id, 'cosign'));
  const seen = ok(await view('memA2', s.id));
  assert.equal(seen.id, s.id);
  assert.equal(seen.title, s.title);
  assert.equal(seen.author_name, null);
  assert.deepEqual(seen.messages, []);
  const dup = await submitOk('memA3', 'org');
  ok(await act('secA1', dup.id, 'merge', { into: s.id }));
  const merged = ok(await view('memA3', s.id));
  assert.equal(merged.id, s.id);
  assert.deepEqual(merged.messages, []);
  assert.equal((await view('memG', s.id)).status, 404, 'others still get 404');
});
