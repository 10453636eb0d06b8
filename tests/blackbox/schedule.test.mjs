// Bulletins on a schedule (issue 7, docs/bulletins.md "On a schedule"):
// the per-unit schedule API (validation, rights, audit), and the scheduler
// on the jobs thread, driven by extra service instances whose clock is
// frozen with SCHEDULER_NOW: what a scheduled bulletin holds, an empty
// slot, the catch-up of a long outage, two instances on one database, and
// the (unit, slot) rule in the schema.
//
// The main service runs no scheduler (BULLETIN_INTERVAL=0): for the
// scheduler the service is "down" until a test starts an instance.
//
// The world: root 机关党委 (category 组织工作 → portfolio 组织)
//   ├─ A 第一党支部  comA (committee: 组织), secA, memA1, memA2
//   ├─ B 第二党支部  comB (committee: 组织), secB, memB
//   └─ C 第三党支部  (nobody; follows the default schedule)
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useService } from './lib/fixture.mjs';
import { startService, waitFor } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService({ BULLETIN_INTERVAL: '0', SEAL_INTERVAL: '1' });
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const psql = (sql) => ctx.cluster.psql(sql);

const call = (method, p, who, body) => ctx.api.request(method, p, { token: who ? w.tokens[who] : undefined, body });
function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}
const schedulePath = (unit) => `/v1/org-units/${w.units[unit]}/bulletin-schedule`;

// ---- slots, computed here independently of the service (+08:00) -------------

const H = 3600 * 1000;
const DAY = 24 * H;
const SH = 8 * H;
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
function monthlySlot(y, m, day, hour) {
  const dim = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(day, dim), hour) - SH;
}
function monthlyAtOrBefore(t, day, hour) {
  const l = new Date(t + SH);
  const s = monthlySlot(l.getUTCFullYear(), l.getUTCMonth(), day, hour);
  return s <= t ? s : monthlySlot(l.getUTCFullYear(), l.getUTCMonth() - 1, day, hour);
}
function monthlyAfter(t, day, hour) {
  const l = new Date(t + SH);
  const s = monthlySlot(l.getUTCFullYear(), l.getUTCMonth(), day, hour);
  return s > t ? s : monthlySlot(l.getUTCFullYear(), l.getUTCMonth() + 1, day, hour);
}
function weeklyAtOrBefore(t, dow, hour) {
  const l = new Date(t + SH);
  const midnight = Date.UTC(l.getUTCFullYear(), l.getUTCMonth(), l.getUTCDate()) - SH;
  const s = midnight + (dow - (l.getUTCDay() || 7)) * DAY + hour * H;
  return s <= t ? s : s - 7 * DAY;
}

/** A suggestion of `unit` by `author`, taken to `answered` unless stop === 'submitted'. */
async function suggestion(author, unit, { publish_name, stop } = {}) {
  const t = `定期${tag()}`;
  const s = ok(await call('POST', '/v1/suggestions', author, {
    unit_id: w.units[unit], category_id: w.categories.org, title: t, body: `内容 ${t}`,
    ...(publish_name === undefined ? {} : { publish_name }),
  }), 201);
  if (stop === 'submitted') return s;
  const com = `com${unit}`;
  ok(await call('POST', `/v1/suggestions/${s.id}/accept`, com));
  ok(await call('PUT', `/v1/suggestions/${s.id}/answer`, com, { decision: 'adopted', body: `答复 ${t}` }));
  const done = ok(await call('POST', `/v1/suggestions/${s.id}/answer/approve`, `sec${unit}`));
  assert.equal(done.status, 'answered');
  return s;
}

/** Service instances running the scheduler with its clock frozen at `now` (ms). */
async function schedulers(n, now, env = {}) {
  const started = await Promise.all(Array.from({ length: n }, () => startService(ctx.cluster, {
    BULLETIN_INTERVAL: '1', SEAL_INTERVAL: '0', LOG_LEVEL: 'debug', BULLETIN_SCHEDULE: 'off',
    SCHEDULER_NOW: iso(now), ...env,
  })));
  return {
    instances: started,
    /** Scheduler passes each instance has finished (made, or found the lock taken). */
    passes: () => started.map((s) => s.jsonLogs().filter((l) => /^bulletin scheduler: (pass done|another instance)/.test(l.msg)).length),
    async stop() {
      const codes = await Promise.all(started.map((s) => s.stop()));
      assert.deepEqual(codes, started.map(() => 0), 'scheduler instances exit cleanly');
      for (const s of started) {
        assert.deepEqual(s.logs.map((l) => l.line).filter((l) => /Sanitizer|runtime error:/.test(l)), []);
      }
    },
  };
}

/** The bulletins of `unit` made for slot `ms`, as stored documents. */
async function scheduledOf(unit, ms) {
  const ids = await psql(`select id from bulletins where unit_id = ${w.units[unit]} and slot = '${iso(ms)}' order by id`);
  return ids ? ids.split('\n').map(Number) : [];
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'schedule-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.unit('C', '第三党支部', 'branch', 'root');
  await w.portfolio('A', '组织');
  await w.portfolio('B', '组织');
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织' });
  const S = ['member', 'secretary'];
  const C = ['member', 'committee'];
  await Promise.all([
    w.account('comA', '组织委员', 'A', C, ['组织']),
    w.account('secA', '支部书记', 'A', S),
    w.account('memA1', '党员一', 'A'),
    w.account('memA2', '党员二', 'A'),
    w.account('comB', '二支部组织委员', 'B', C, ['组织']),
    w.account('secB', '二支部书记', 'B', S),
    w.account('memB', '二支部党员', 'B'),
  ]);
});

// ---- the schedule API ----------------------------------------------------------

test('a_unit_follows_the_default_monthly_schedule_until_it_has_its_own', async () => {
  const before = Date.now();
  const s = ok(await call('GET', schedulePath('A'), 'memA1'));
  assert.equal(s.unit_id, w.units.A);
  assert.equal(s.frequency, 'monthly');
  assert.equal(s.day_of_month, 1);
  assert.equal(s.hour, 9);
  assert.equal(s.default, true);
  assert.equal(s.time_zone, 'Asia/Shanghai');
  assert.equal(s.last_slot, null);
  assert.equal(s.next_slot, iso(monthlyAfter(before, 1, 9)));
  assert.match(s.next_slot, /T01:00:00Z$/, '09:00 in Shanghai');
});

test('changing_a_schedule_is_validated_audited_and_only_for_managers', async () => {
  const audits = () => psql(`select count(*) from audit_log where action = 'unit.bulletin_schedule'`);
  const n0 = await audits();
  const bad = [
    [{ frequency: 'daily' }, ['/frequency']],
    [{ frequency: 'monthly' }, ['/day_of_month', '/hour']],
    [{ frequency: 'monthly', day_of_month: 32, hour: 9 }, ['/day_of_month']],
    [{ frequency: 'monthly', day_of_month: 0, hour: -1 }, ['/day_of_month', '/hour']],
    [{ frequency: 'weekly', day_of_week: 8, hour: 24, day_of_month: 3 }, ['/day_of_month', '/day_of_week', '/hour']],
    [{ frequency: 'weekly', day_of_week: '1', hour: 9.5 }, ['/day_of_week', '/hour']],
    [{ frequency: 'off', hour: 9 }, ['/hour']],
    [{ day_of_month: 1, hour: 9 }, ['/frequency']],
    [[], ['']],
  ];
  for (const [body, pointers] of bad) {
    const r = await call('PUT', schedulePath('A'), 'secA', body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.equal(r.body.type, '/problems/validation-failed');
    assert.deepEqual(r.body.errors.map((e) => e.pointer).sort(), [...pointers].sort(), JSON.stringify(r.body));
  }
  const good = { frequency: 'weekly', day_of_week: 1, hour: 9 };
  for (const who of ['memA1', 'comA', 'secB']) {
    assert.equal((await call('PUT', schedulePath('A'), who, good)).status, 403, who);
  }
  assert.equal((await call('PUT', schedulePath('A'), null, good)).status, 401);
  assert.equal((await call('GET', schedulePath('A'), null)).status, 401);
  assert.equal((await ctx.api.request('PUT', '/v1/org-units/999999/bulletin-schedule', { token: w.tokens.admin, body: good })).status, 404);
  assert.equal(await audits(), n0, 'nothing refused was written');
  assert.equal((await call('GET', schedulePath('A'), 'secA')).body.default, true);

  const set = ok(await call('PUT', schedulePath('A'), 'secA', good));
  assert.deepEqual({ ...set, next_slot: undefined }, {
    unit_id: w.units.A, frequency: 'weekly', day_of_week: 1, hour: 9, default: false,
    time_zone: 'Asia/Shanghai', last_slot: null, next_slot: undefined,
  });
  assert.equal(set.next_slot, iso(weeklyAtOrBefore(Date.now(), 1, 9) + 7 * DAY));
  assert.deepEqual(ok(await call('GET', schedulePath('A'), 'memA2')), set);
  // the same again changes nothing and is not audited
  assert.deepEqual(ok(await call('PUT', schedulePath('A'), 'secA', good)), set);
  assert.equal(Number(await audits()), Number(n0) + 1);

  const page = ok(await call('GET', `/v1/audit?object_type=unit&object_id=${w.units.A}`, 'secA'));
  const entry = page.items.find((e) => e.action === 'unit.bulletin_schedule');
  assert.ok(entry, 'the unit\'s managers read the change in its audit trail');
  assert.equal(entry.actor_id, w.ids.secA);
  assert.deepEqual(entry.change.before, { unit_id: w.units.A, frequency: 'monthly', day_of_month: 1, hour: 9, default: true, time_zone: 'Asia/Shanghai' });
  assert.deepEqual(entry.change.after, { unit_id: w.units.A, frequency: 'weekly', day_of_week: 1, hour: 9, default: false, time_zone: 'Asia/Shanghai' });

  // an admin may, and a secretary above (none here) would; off takes nothing else
  const off = ok(await call('PUT', schedulePath('root'), 'admin', { frequency: 'off' }));
  assert.equal(off.frequency, 'off');
  assert.equal(off.next_slot, null);
  assert.ok(!('hour' in off) && !('day_of_month' in off));
});

// ---- the scheduler --------------------------------------------------------------

let firstA; // the scheduled bulletin of A, as served

test('a_scheduled_bulletin_holds_exactly_the_suggestions_answered_since_the_previous_bulletin', async () => {
  const previously = await suggestion('memA1', 'A');
  const onDemand = ok(await call('POST', '/v1/bulletins', 'secA', { unit_id: w.units.A }), 201);
  assert.equal(onDemand.bulletin.slot, null);
  const named = await suggestion('memA1', 'A', { publish_name: true });
  const unnamed = await suggestion('memA2', 'A');
  const pending = await suggestion('memA2', 'A', { stop: 'submitted' });
  const otherUnit = await suggestion('memB', 'B');

  const slot = Date.parse((await call('GET', schedulePath('A'), 'secA')).body.next_slot);
  assert.equal(slot, weeklyAtOrBefore(Date.now(), 1, 9) + 7 * DAY);
  const run = await schedulers(1, slot + 60 * 1000);
  try {
    assert.ok(await waitFor(async () => (await scheduledOf('A', slot)).length === 1, { timeoutMs: 20000 }), 'the bulletin is made');
  } finally {
    await run.stop();
  }
  const [id] = await scheduledOf('A', slot);
  const doc = ok(await ctx.api.request('GET', `/v1/bulletins/${id}`));
  const b = doc.bulletin;
  assert.equal(b.slot, iso(slot));
  assert.equal(b.seq, 2);
  assert.equal(b.period_from, onDemand.bulletin.period_to);
  assert.deepEqual(b.items.map((i) => i.public_id).sort(), [named.id, unnamed.id].sort());
  const byId = Object.fromEntries(b.items.map((i) => [i.public_id, i]));
  assert.equal(byId[named.id].author, '党员一');
  assert.equal(byId[unnamed.id].author, null);
  assert.ok(!onDemand.bulletin.items.some((i) => i.public_id !== previously.id));
  const status = async (pid) => psql(`select status from suggestions where public_id = '${pid}'`);
  assert.equal(await status(named.id), 'published');
  assert.equal(await status(unnamed.id), 'published');
  assert.equal(await status(pending.id), 'submitted');
  assert.equal(await status(otherUnit.id), 'answered', 'B has no schedule of its own in this run (default off)');
  assert.equal(await psql('select count(*) from bulletins where slot is not null'), '1', 'no other unit was made');
  // the latest signed checkpoint when it was made, and the system as actor
  const latest = await psql(`select max(seq) from audit_checkpoints where created_at <= (select created_at from bulletins where id = ${id})`);
  assert.ok(b.audit_checkpoint, 'the sealer has signed a checkpoint by now');
  assert.equal(b.audit_checkpoint.seq, Number(latest));
  assert.equal(await psql(`select actor_kind || ' ' || (change->>'slot') from audit_log where action = 'bulletin.publish' and object_id = '${id}'`), `system ${iso(slot)}`);
  const sched = ok(await call('GET', schedulePath('A'), 'secA'));
  assert.equal(sched.last_slot, iso(slot));
  firstA = { slot, doc };
});

test('a_slot_with_nothing_answered_still_makes_an_empty_bulletin', async () => {
  assert.ok(firstA);
  const slot = firstA.slot + 7 * DAY;
  const run = await schedulers(1, slot);
  try {
    assert.ok(await waitFor(async () => (await scheduledOf('A', slot)).length === 1, { timeoutMs: 20000 }));
  } finally {
    await run.stop();
  }
  const [id] = await scheduledOf('A', slot);
  const b = ok(await ctx.api.request('GET', `/v1/bulletins/${id}`)).bulletin;
  assert.deepEqual(b.items, []);
  assert.equal(b.seq, firstA.doc.bulletin.seq + 1);
  assert.equal(b.period_from, firstA.doc.bulletin.period_to, 'the periods leave no gap');
  const page = await ctx.api.request('GET', `/bulletins/${id}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes('本期没有新答复的意见'));
  // on demand, nothing to publish is still refused
  assert.equal((await call('POST', '/v1/bulletins', 'secA', { unit_id: w.units.A })).status, 409);
});

test('two_instances_catching_up_a_long_outage_make_one_bulletin_for_the_latest_missed_slot', async () => {
  ok(await call('PUT', schedulePath('B'), 'secB', { frequency: 'monthly', day_of_month: 31, hour: 23 }));
  const answered = await suggestion('memB', 'B');
  const answeredBefore = await psql(`select public_id from suggestions where unit_id = ${w.units.B} and status = 'answered' order by id`);
  // down for about 100 days: three or four month-ends passed
  const now = Math.floor((Date.now() + 100 * DAY) / 1000) * 1000;
  const slotB = monthlyAtOrBefore(now, 31, 23);
  const slotC = weeklyAtOrBefore(now, 3, 10);
  const slotsBefore = await psql('select count(*) from bulletins where slot is not null');
  const run = await schedulers(2, now, { BULLETIN_SCHEDULE: 'weekly:3:10' });
  try {
    assert.ok(await waitFor(async () => (await scheduledOf('B', slotB)).length === 1 && (await scheduledOf('C', slotC)).length === 1, { timeoutMs: 20000 }));
    // both instances keep passing over the same frozen clock: still one each
    assert.ok(await waitFor(() => run.passes().every((n) => n >= 3), { timeoutMs: 20000 }), `passes ${run.passes()}`);
  } finally {
    await run.stop();
  }
  assert.equal(await psql(`select count(*) from bulletins where unit_id = ${w.units.B} and slot is not null`), '1', 'one bulletin, not one per missed slot');
  assert.equal(await psql(`select count(*) from bulletins where unit_id = ${w.units.C} and slot is not null`), '1');
  assert.equal(await psql(`select count(*) from bulletins where unit_id = ${w.units.root}`), '0', 'a unit turned off is not made');
  // A follows its own weekly schedule and catches up once too
  assert.equal(await psql('select count(*) from bulletins where slot is not null'), String(Number(slotsBefore) + 3));
  const [id] = await scheduledOf('B', slotB);
  const b = ok(await ctx.api.request('GET', `/v1/bulletins/${id}`)).bulletin;
  assert.equal(iso(Date.parse(b.slot)), iso(slotB));
  assert.match(b.slot, /T15:00:00Z$/, '23:00 in Shanghai');
  assert.equal(new Date(slotB + SH).getUTCDate(), new Date(Date.UTC(new Date(slotB + SH).getUTCFullYear(), new Date(slotB + SH).getUTCMonth() + 1, 0)).getUTCDate(), 'the last day of its month');
  assert.deepEqual(b.items.map((i) => i.public_id), answeredBefore.split('\n'));
  assert.ok(b.items.some((i) => i.public_id === answered.id));
  assert.equal(await psql(`select count(*) from audit_log where action = 'bulletin.publish' and object_id = '${id}'`), '1');
});

test('the_schema_refuses_a_second_bulletin_of_one_unit_and_slot', async () => {
  assert.notEqual(await psql('select count(*) from bulletins where slot is not null'), '0');
  const r = await ctx.cluster.psqlAs('yijian_owner',
    'insert into bulletins (unit_id, seq, period_from, period_to, content, signature, slot) ' +
    'select unit_id, seq + 1000, period_from, period_to, content, signature, slot from bulletins where slot is not null limit 1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bulletins_unit_slot/);
});
