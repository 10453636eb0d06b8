// Writes in a few round trips (issue 21): every named write endpoint of the
// suggestion workflow is driven once against the real binary, and the
// number of network round trips it made to PostgreSQL is read from its
// request log line (`db_round_trips`, counted by db/db.c: a call that
// sends and waits is one, a pipelined batch is one; docs/performance.md).
//
// Each endpoint has two figures: the limit the issue sets (a named
// submission at most 4, 5 with an Idempotency-Key; a workflow action at
// most 4) and the exact count of today's code, pinned, so that one more
// round trip anywhere on the path fails the test. A change that saves one
// lowers the pin in the same commit. A limit not met yet is a todo test
// (docs/performance.md has the table).
//
// Anonymous requests (a token's submission, a tracking code's actions)
// have no log line at all, on purpose (DESIGN §3): they are not counted
// here, and nothing in the service counts them.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useService } from './lib/fixture.mjs';
import { waitFor } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService();
let w;

let seq = 0;
const tag = () => `${process.pid}-${++seq}`;

// The limits of the issue and the counts pinned for this code.
const LIMIT_SUBMIT = 4;
const LIMIT_SUBMIT_IDEMPOTENT = 5;
const LIMIT_ACTION = 4;
const ENDPOINTS = {
  'POST /v1/suggestions': { limit: LIMIT_SUBMIT, pinned: 4 },
  'POST /v1/suggestions (Idempotency-Key)': { limit: LIMIT_SUBMIT_IDEMPOTENT, pinned: 4 },
  'POST /v1/suggestions (Idempotency-Key, replayed)': { limit: LIMIT_SUBMIT_IDEMPOTENT, pinned: 4 },
  'POST /v1/suggestions/{id}/accept': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/assign': { limit: LIMIT_ACTION, pinned: 3 },
  'PUT /v1/suggestions/{id}/answer': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/answer/approve': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/messages': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/cosign': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/rating': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/reopen': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/withdraw': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/suggestions/{id}/merge': { limit: LIMIT_ACTION, pinned: 4 },
  'POST /v1/bulletins': { limit: null, pinned: 12 },
};

const measured = {};

/** The round trips of the request that answered res, from its log line. */
async function roundTrips(res) {
  const id = res.headers.get('x-request-id');
  assert.ok(id, 'the answer names its request');
  const line = await waitFor(() => ctx.svc.jsonLogs().find((l) => l.msg === 'request' && l.request_id === id));
  assert.ok(line, `a log line for request ${id}`);
  assert.equal(typeof line.db_round_trips, 'number', `db_round_trips in ${JSON.stringify(line)}`);
  return line.db_round_trips;
}

/** Sends one request that must answer `status`, records its round trips under `name`. */
async function measure(name, status, method, path, who, body, headers) {
  const r = await ctx.api.request(method, path, { token: w.tokens[who], body, headers });
  assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
  measured[name] = await roundTrips(r);
  return r.body;
}

const call = async (method, path, who, body, status = 200) => {
  const r = await ctx.api.request(method, path, { token: w.tokens[who], body });
  assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
};
const submission = () => ({ unit_id: w.units.A, category_id: w.categories.org, title: `建议${tag()}`, body: `内容${tag()}` });

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx);
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.portfolio('A', '组织');
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织' });
  const S = ['member', 'secretary'];
  await Promise.all([
    w.account('comOrg', '组织委员', 'A', ['member', 'committee'], ['组织']),
    w.account('secA1', '支部书记', 'A', S),
    w.account('secA2', '副书记', 'A', S),
    w.account('memA1', '党员一', 'A'),
    w.account('memA2', '党员二', 'A'),
  ]);
});

test('every_write_endpoint_of_the_workflow_makes_exactly_its_pinned_round_trips', async () => {
  // A warm connection: the first checkout of a pooled connection prepares
  // its statements, which is the pool's upkeep and not counted; a few
  // requests make every connection of the pool warm before measuring.
  for (let i = 0; i < 4; i++) await call('POST', '/v1/suggestions', 'memA2', submission(), 201);

  const s = await measure('POST /v1/suggestions', 201, 'POST', '/v1/suggestions', 'memA1', submission());
  const key = `rt-${tag()}`;
  const body = submission();
  const k = await measure('POST /v1/suggestions (Idempotency-Key)', 201, 'POST', '/v1/suggestions', 'memA1', body, { 'Idempotency-Key': key });
  const again = await measure('POST /v1/suggestions (Idempotency-Key, replayed)', 201, 'POST', '/v1/suggestions', 'memA1', body, { 'Idempotency-Key': key });
  assert.equal(again.id, k.id, 'the replay answers the first submission');

  // The whole life of s: accept, reassign, message, co-sign, draft, approve, rate, reopen.
  const sec = s.assignee_id === w.ids.comOrg ? 'comOrg' : Object.keys(w.ids).find((x) => w.ids[x] === s.assignee_id);
  assert.ok(sec, `the assignee ${s.assignee_id} is one of the world's accounts`);
  await measure('POST /v1/suggestions/{id}/accept', 200, 'POST', `/v1/suggestions/${s.id}/accept`, sec);
  await measure('POST /v1/suggestions/{id}/assign', 200, 'POST', `/v1/suggestions/${s.id}/assign`, 'secA1',
    { assignee_id: w.ids.secA2, reason: '换人办理' });
  await measure('POST /v1/suggestions/{id}/messages', 201, 'POST', `/v1/suggestions/${s.id}/messages`, 'memA1', { body: `补充说明${tag()}` });
  await measure('POST /v1/suggestions/{id}/cosign', 200, 'POST', `/v1/suggestions/${s.id}/cosign`, 'memA2');
  await measure('PUT /v1/suggestions/{id}/answer', 200, 'PUT', `/v1/suggestions/${s.id}/answer`, 'secA2',
    { decision: 'adopted', body: `答复${tag()}` });
  await measure('POST /v1/suggestions/{id}/answer/approve', 200, 'POST', `/v1/suggestions/${s.id}/answer/approve`, 'secA1');
  await measure('POST /v1/suggestions/{id}/rating', 200, 'POST', `/v1/suggestions/${s.id}/rating`, 'memA1', { rating: 'unsatisfied' });
  await measure('POST /v1/suggestions/{id}/reopen', 200, 'POST', `/v1/suggestions/${s.id}/reopen`, 'memA1');

  // k withdrawn by its author; a third merged into s.
  await measure('POST /v1/suggestions/{id}/withdraw', 200, 'POST', `/v1/suggestions/${k.id}/withdraw`, 'memA1');
  const dup = await call('POST', '/v1/suggestions', 'memA2', submission(), 201);
  await measure('POST /v1/suggestions/{id}/merge', 200, 'POST', `/v1/suggestions/${dup.id}/merge`, 'secA1', { into: s.id });

  // A bulletin of A: s answered again first (it was reopened).
  await call('PUT', `/v1/suggestions/${s.id}/answer`, 'secA2', { decision: 'adopted', body: `再答复${tag()}` });
  await call('POST', `/v1/suggestions/${s.id}/answer/approve`, 'secA1');
  await measure('POST /v1/bulletins', 201, 'POST', '/v1/bulletins', 'secA1', { unit_id: w.units.A });

  const table = Object.entries(ENDPOINTS).map(([name, e]) => `${String(measured[name]).padStart(3)}  (pinned ${e.pinned}, limit ${e.limit ?? '-'})  ${name}`);
  console.log(`round trips per request:\n${table.join('\n')}`);
  for (const [name, e] of Object.entries(ENDPOINTS))
    assert.equal(measured[name], e.pinned, `${name}: ${measured[name]} round trips, pinned at ${e.pinned} (lower the pin when a change saves one)`);
});

// The limits, one test per endpoint. Those the code does not meet
// yet are marked todo (reported, not failing the file) with their pinned
// count; the pins above keep them from growing meanwhile.
for (const [name, e] of Object.entries(ENDPOINTS)) {
  if (e.limit === null) continue;
  const todo = e.pinned > e.limit ? `issue 21: ${e.pinned} round trips today, the limit is ${e.limit}` : false;
  test(`${name} takes at most ${e.limit} round trips`, { todo }, () => {
    assert.equal(typeof measured[name], 'number', `${name} was measured`);
    assert.ok(measured[name] <= e.limit, `${name}: ${measured[name]} round trips, the limit is ${e.limit}`);
  });
}
