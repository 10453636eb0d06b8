// Statistics from the outside (issue 7, DESIGN §2 "Statistics"): figures per
// unit with the units below rolled up, and every figure drawn from fewer
// than 5 suggestions withheld.
//
// The world: root 机关党委 (category 组织工作 → 组织)
//   ├─ A 第一党支部  comA (committee: 组织), secA, memA: 6 suggestions, 5 answered
//   │   └─ A1 第一党小组: none
//   └─ B 第二党支部  comB, secB, memB: 2 suggestions
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useService } from './lib/fixture.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService();
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const call = (method, p, who, body) => ctx.api.request(method, p, { token: who ? w.tokens[who] : undefined, body });
function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

async function suggestion(unit, { decision, rating } = {}) {
  const t = `建议${tag()}`;
  const s = ok(await call('POST', '/v1/suggestions', `mem${unit}`, { unit_id: w.units[unit], category_id: w.categories.org, title: t, body: t }), 201);
  if (!decision) return s;
  ok(await call('POST', `/v1/suggestions/${s.id}/accept`, `com${unit}`));
  ok(await call('PUT', `/v1/suggestions/${s.id}/answer`, `com${unit}`, { decision, body: '答复', ...(decision === 'not_adopted' ? { reason: '理由' } : {}) }));
  ok(await call('POST', `/v1/suggestions/${s.id}/answer/approve`, `sec${unit}`));
  if (rating) ok(await call('POST', `/v1/suggestions/${s.id}/rating`, `mem${unit}`, { rating }));
  return s;
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'stats-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.unit('A1', '第一党小组', 'group', 'A');
  await w.portfolio('A', '组织');
  await w.portfolio('B', '组织');
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织' });
  const S = ['member', 'secretary'];
  const C = ['member', 'committee'];
  await Promise.all([
    w.account('comA', '组织委员', 'A', C, ['组织']), w.account('secA', '支部书记', 'A', S), w.account('memA', '党员一', 'A'),
    w.account('comB', '二支部委员', 'B', C, ['组织']), w.account('secB', '二支部书记', 'B', S), w.account('memB', '二支部党员', 'B'),
  ]);
  for (const [decision, rating] of [['adopted', 'satisfied'], ['adopted', 'basically_satisfied'], ['partly_adopted', 'satisfied'], ['not_adopted', 'unsatisfied'], ['noted', 'satisfied']])
    await suggestion('A', { decision, rating });
  await suggestion('A');
  await suggestion('B', { decision: 'adopted' });
  await suggestion('B');
});

test('figures_per_unit_roll_up_the_units_below', async () => {
  const body = ok(await call('GET', `/v1/stats?unit=${w.units.root}`, 'memB'));
  const by = Object.fromEntries(body.units.map((u) => [u.unit_id, u]));
  // The unit and the units directly below it; A1 is rolled up into A.
  assert.deepEqual(body.units.map((u) => u.unit_id), [w.units.root, ...[w.units.A, w.units.B].sort((a, b) => a - b)]);
  const root = by[w.units.root];
  assert.equal(root.received, 8);
  assert.equal(root.answered, 6);
  assert.equal(root.overdue, 0);
  assert.equal(root.median_days_to_answer, 0);
  assert.deepEqual(root.decision_rates, { adopted: 0.5, partly_adopted: 0.167, not_adopted: 0.167, noted: 0.167 });
  assert.equal(root.satisfaction_rate, 0.8);
  assert.deepEqual(root.withheld, []);
  // A's 5 ratings are all of root's: a satisfaction rate of its own.
  assert.equal(by[w.units.A].satisfaction_rate, 0.8);
  const below = ok(await call('GET', `/v1/stats?unit=${w.units.A}`, 'memA'));
  assert.deepEqual(below.units.map((u) => u.unit_id), [w.units.A, w.units.A1]);
  assert.equal(below.units[1].received, null);
});

// Issue 22: B's 2 suggestions were withheld, but root's 8 minus A's 6 gave
// them away. A figure that is the only hidden part of its parent's takes
// the smallest shown sibling's with it.
test('a_withheld_figure_cannot_be_derived_from_the_parent_minus_its_siblings', async () => {
  const body = ok(await call('GET', `/v1/stats?unit=${w.units.root}`, 'memB'));
  const by = Object.fromEntries(body.units.map((u) => [u.unit_id, u]));
  const [root, a, b] = [by[w.units.root], by[w.units.A], by[w.units.B]];
  assert.equal(b.received, null);
  assert.equal(b.decision_rates, null);
  for (const k of ['received', 'answered', 'overdue', 'median_days_to_answer', 'decision_rates']) {
    assert.equal(a[k], null, `A's ${k} is withheld beside B's`);
    assert.ok(a.withheld.some((x) => x.figure === k && /derived by subtraction/.test(x.reason)), k);
  }
  const shown = body.units.slice(1).filter((u) => u.received !== null);
  assert.notEqual(root.received - shown.reduce((n, u) => n + u.received, 0), 2, 'B cannot be read off');
  // The same figures are withheld whichever unit the query starts at.
  const onA = ok(await call('GET', `/v1/stats?unit=${w.units.A}`, 'memA'));
  assert.equal(onA.units[0].received, null);
});

test('a_figure_from_fewer_than_5_suggestions_is_withheld_with_a_reason', async () => {
  const body = ok(await call('GET', `/v1/stats?unit=${w.units.B}`, 'memB'));
  assert.equal(body.units.length, 1);
  const b = body.units[0];
  for (const k of ['received', 'answered', 'overdue', 'median_days_to_answer', 'decision_rates', 'satisfaction_rate']) assert.equal(b[k], null, k);
  assert.deepEqual(b.withheld.map((x) => x.figure).sort(), ['answered', 'decision_rates', 'median_days_to_answer', 'overdue', 'received', 'satisfaction_rate']);
  assert.match(b.withheld[0].reason, /fewer than 5/);
});

test('the_period_counts_suggestions_received_on_those_days', async () => {
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const now = ok(await call('GET', `/v1/stats?unit=${w.units.root}&from=${today}&to=${today}`, 'memA'));
  assert.equal(now.units[0].received, 8);
  assert.equal(now.from, today);
  const past = ok(await call('GET', `/v1/stats?unit=${w.units.A}&from=2020-01-01&to=2020-12-31`, 'memA'));
  assert.equal(past.units[0].received, null);
  assert.ok(past.units[0].withheld.some((x) => x.figure === 'received'));
});

test('stats_need_sign_in_and_a_well_formed_query', async () => {
  assert.equal((await ctx.api.request('GET', `/v1/stats?unit=${w.units.A}`)).status, 401);
  for (const q of ['', 'unit=x', `unit=${w.units.A}&from=2026-02-30`, `unit=${w.units.A}&from=2026-05-01&to=2026-04-01`, `unit=${w.units.A}&to=26-1-1`]) {
    const r = await call('GET', `/v1/stats?${q}`, 'memA');
    assert.equal(r.status, 422, q);
    // A refused query is not spoken of as a refused body (there is none).
    assert.doesNotMatch(r.body.title, /body/i, q);
  }
  assert.equal((await call('GET', '/v1/stats?unit=999999', 'memA')).status, 404);
});
