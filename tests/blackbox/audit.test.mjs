// The tamper-evident audit trail (issue 6) from the outside: the sealer's
// chain recomputed here independently from docs/audit.md, signed
// checkpoints, `verify-audit` and GET /v1/audit/verify on an untouched
// database and after each kind of tampering by the database superuser
// (each case repairs what it did and checks that the log is intact again),
// the insert-only tables, the audit rows of the suggestion workflow, and
// GET /v1/audit with its access rules.
//
// The world (lib/world.mjs):
//   root 机关党委 ─┬─ A 第一党支部  secA1, secA2 (secretaries), comA (committee), memA
//                  └─ B 第二党支部  secB (secretary), memB
//   category 其他 in A → portfolio 纪检 that nobody holds, so that a
//   suggestion goes to a secretary of A.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import { blake2b } from '@noble/hashes/blake2.js';

import { startCluster } from './lib/cluster.mjs';
import { runCli, startService, waitFor } from './lib/service.mjs';
import { useService } from './lib/fixture.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService({ SEAL_INTERVAL: '1' });
let w;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const psql = (sql) => ctx.cluster.psql(sql);
const num = async (sql) => Number(await psql(sql));
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const call = (method, path, who, body, headers) =>
  ctx.api.request(method, path, { token: who ? w.tokens[who] : undefined, body, headers });

function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

/** Runs sql as the superuser with audit_log's (and the chain tables') insert-only triggers off. */
function asSuperuser(sql) {
  const off = (t) => `alter table ${t} disable trigger user;`;
  const on = (t) => `alter table ${t} enable trigger user;`;
  const tables = ['audit_log', 'audit_chain', 'audit_checkpoints'];
  return psql(`${tables.map(off).join(' ')} ${sql}; ${tables.map(on).join(' ')}`);
}

const unsealed = () =>
  num('select count(*) from audit_log l where not exists (select 1 from audit_chain c where c.audit_id = l.id)');

/** Waits until the sealer has linked every audit row (SEAL_INTERVAL is 1 s). */
async function allSealed() {
  const done = await waitFor(async () => (await unsealed()) === 0, { timeoutMs: 15000, intervalMs: 200 });
  assert.ok(done, `audit rows still unsealed after 15 s: ${await unsealed()}`);
}

/** verify-audit and GET /v1/audit/verify; both must agree. */
async function verify() {
  const cli = await runCli(ctx.cluster, ['verify-audit']);
  const api = ok(await call('GET', '/v1/audit/verify', 'admin'));
  assert.ok([0, 1].includes(cli.code), `verify-audit exited ${cli.code}: ${cli.stderr}`);
  assert.equal(cli.code === 0, api.intact, `CLI and API disagree:\n${cli.stdout}\n${JSON.stringify(api)}`);
  return { cli, api, lines: cli.stdout.trim().split('\n') };
}

async function assertIntact() {
  const { cli, api, lines } = await verify();
  assert.equal(cli.code, 0, cli.stdout);
  assert.match(lines[0], /^intact through seq \d+, head [0-9a-f]{64}$/);
  assert.equal(lines[0], `intact through seq ${api.sealed_through}, head ${api.head}`);
  assert.deepEqual(api.problems, []);
  assert.equal(api.problem_count, 0);
  return api;
}

/** Asserts that verification names exactly one problem: kind, the ids, and the CLI line. */
async function assertTampered(kind, message, { seq, audit_id }) {
  const { cli, api, lines } = await verify();
  assert.equal(cli.code, 1, `verify-audit should exit 1:\n${cli.stdout}`);
  assert.equal(lines[0], 'tampered: 1 problem', cli.stdout);
  assert.equal(lines[1], message);
  assert.equal(api.intact, false);
  assert.equal(api.problem_count, 1, JSON.stringify(api.problems));
  assert.deepEqual(api.problems[0], { kind, seq: seq ?? null, audit_id: audit_id ?? null, message });
}

/** [seq of the link, id] of the audit row with this action on this suggestion. */
async function sealedRow(pid, action) {
  const [seq, id] = (
    await psql(`select c.seq, l.id from audit_log l join audit_chain c on c.audit_id = l.id
                where l.object_type = 'suggestion' and l.object_id = ${lit(pid)} and l.action = ${lit(action)}`)
  ).split('|');
  assert.ok(seq && id, `no sealed ${action} row for ${pid}`);
  return { seq: Number(seq), id: Number(id) };
}

// ---- the chain as docs/audit.md defines it, computed here --------------------------

function field(bytes) {
  if (bytes === null) return Buffer.from('ffffffff', 'hex');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}
const text = (v) => (v === null ? null : Buffer.from(String(v), 'utf8'));
const byUtf8 = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
function canonicalJson(v) {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort(byUtf8).map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  assert.ok(typeof v !== 'number' || Number.isSafeInteger(v), 'this test only meets integers');
  return JSON.stringify(v);
}
function canonical(row) {
  return Buffer.concat([
    field(text(row.id)), field(text(row.at)), field(text(row.actor_kind)), field(text(row.actor_id)),
    field(text(row.action)), field(text(row.object_type)), field(text(row.object_id)),
    field(Buffer.from(`J${canonicalJson(JSON.parse(row.change))}`, 'utf8')), field(text(row.request_id)),
  ]);
}
/** Every link with its row, in chain order. */
async function chainRows() {
  const json = await psql(`select coalesce(json_agg(json_build_object(
      'seq', c.seq, 'hash', encode(c.hash, 'hex'), 'id', l.id,
      'at', to_char(l.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'actor_kind', l.actor_kind, 'actor_id', l.actor_id, 'action', l.action,
      'object_type', l.object_type, 'object_id', l.object_id, 'change', l.change::text,
      'request_id', l.request_id) order by c.seq), '[]')
    from audit_chain c join audit_log l on l.id = c.audit_id`);
  return JSON.parse(json);
}

// OpenSSL (node:crypto) has BLAKE2b-512 only, and BLAKE2b-256 is not a
// truncation of it: @noble/hashes (installed with @noble/curves) computes it.
const chainLink = (prev, row) => Buffer.from(blake2b(Buffer.concat([prev, canonical(row)]), { dkLen: 32 }));

function checkpointMessage(seq, hash, horizon) {
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(BigInt(seq));
  const h = Buffer.alloc(8);
  h.writeBigUInt64BE(BigInt(horizon));
  return Buffer.concat([Buffer.from('yijian audit checkpoint'), s, Buffer.from(hash, 'hex'), h]);
}
const ed25519Key = (hex) =>
  crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });

// ---- the world ----------------------------------------------------------------------

let pid; // the suggestion walked through the workflow
const rid = (step) => `audit-${step}-${process.pid}`;

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'audit-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.category('other', 'A', { name: '其他', portfolio: '纪检' });
  await w.account('secA1', '支部书记', 'A', ['member', 'secretary']);
  await w.account('secA2', '副书记', 'A', ['member', 'secretary']);
  await w.account('comA', '委员', 'A', ['member', 'committee']);
  await w.account('memA', '党员', 'A');
  await w.account('secB', '二支部书记', 'B', ['member', 'secretary']);
  await w.account('memB', '二支部党员', 'B');

  // The workflow: submit → accept → draft answer → approve (by the other
  // secretary) → rate, each with its own request id.
  const s = ok(await call('POST', '/v1/suggestions', 'memA',
    { unit_id: w.units.A, category_id: w.categories.other, title: '图书角', body: '建议在支部活动室增加图书角。' },
    { 'X-Request-Id': rid('submit') }), 201);
  pid = s.id;
  const drafter = s.assignee_id === w.ids.secA1 ? 'secA1' : 'secA2';
  const approver = drafter === 'secA1' ? 'secA2' : 'secA1';
  w.drafter = drafter;
  w.approver = approver;
  ok(await call('POST', `/v1/suggestions/${pid}/accept`, drafter, undefined, { 'X-Request-Id': rid('accept') }));
  ok(await call('PUT', `/v1/suggestions/${pid}/answer`, drafter, { decision: 'adopted', body: '下月开放。' },
    { 'X-Request-Id': rid('draft') }));
  ok(await call('POST', `/v1/suggestions/${pid}/answer/approve`, approver, undefined, { 'X-Request-Id': rid('approve') }));
  ok(await call('POST', `/v1/suggestions/${pid}/rating`, 'memA', { rating: 'satisfied' }, { 'X-Request-Id': rid('rate') }));
  await allSealed();
});

// ---- an untouched log ------------------------------------------------------------------

test('untouched_log_verifies_intact_through_the_head', async () => {
  const api = await assertIntact();
  assert.equal(api.sealed_through, await num('select max(seq) from audit_chain'));
  assert.equal(api.head, await psql('select encode(hash, \'hex\') from audit_chain order by seq desc limit 1'));
  assert.equal(api.signed_through, api.sealed_through, 'every batch ends in a checkpoint');
  assert.equal(api.pending, 0);
});

test('every_row_is_sealed_once_and_the_chain_recomputes_from_the_spec', async () => {
  const rows = await chainRows();
  assert.equal(rows.length, await num('select count(*) from audit_log'));
  assert.deepEqual(rows.map((r) => r.seq), rows.map((_, i) => i + 1), 'seq runs 1, 2, 3, ...');
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'no row is sealed twice');
  let prev = Buffer.alloc(32);
  for (const r of rows) {
    const h = chainLink(prev, r);
    assert.equal(h.toString('hex'), r.hash, `link ${r.seq} (audit id ${r.id})`);
    prev = h;
  }
});

test('checkpoints_are_signed_with_the_key_verify_audit_prints', async () => {
  const { cli } = await verify();
  const key = cli.stdout.match(/Ed25519 key ([0-9a-f]{64})/)[1];
  const cps = JSON.parse(await psql(`select json_agg(json_build_object('seq', seq, 'hash', encode(hash, 'hex'),
      'horizon', horizon, 'signature', encode(signature, 'hex')) order by seq) from audit_checkpoints`));
  assert.ok(cps.length >= 1);
  let horizon = 0;
  for (const cp of cps) {
    assert.ok(crypto.verify(null, checkpointMessage(cp.seq, cp.hash, cp.horizon), ed25519Key(key), Buffer.from(cp.signature, 'hex')),
      `signature of checkpoint ${cp.seq}`);
    assert.equal(cp.hash, await psql(`select encode(hash, 'hex') from audit_chain where seq = ${cp.seq}`));
    assert.ok(cp.horizon >= horizon, 'the horizon never goes back');
    horizon = cp.horizon;
  }
});

// Issue 22: verify-audit needed the master key although the checkpoints'
// signatures need only the public key.
test('verify_audit_checks_the_signatures_with_the_public_key_alone', async () => {
  await allSealed();
  const key = ok(await call('GET', '/v1/bulletins/key')).public_key;
  const noMaster = { env: { MASTER_KEY_FILE: '', MASTER_KEY: '' } };
  const withKey = await runCli(ctx.cluster, ['verify-audit', '--key', key], noMaster);
  assert.equal(withKey.code, 0, withKey.stderr);
  assert.match(withKey.stdout, /^intact through seq \d+/);
  assert.match(withKey.stdout, new RegExp(`Ed25519 key ${Buffer.from(key, 'base64').toString('hex')}`));
  // Another key: every checkpoint's signature fails.
  const other = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  const wrong = await runCli(ctx.cluster, ['verify-audit', '--key', other], noMaster);
  assert.equal(wrong.code, 1, wrong.stdout);
  const none = await runCli(ctx.cluster, ['verify-audit'], noMaster);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--key/);
  assert.equal((await runCli(ctx.cluster, ['verify-audit', '--key', 'short'], noMaster)).code, 2);
});

// ---- the tables are insert-only -------------------------------------------------------------

function assertRefused(r, what) {
  assert.notEqual(r.code, 0, `${what} should fail:\n${r.stdout}`);
  assert.match(r.stderr, /permission denied|insert-only|not the next link/i, `${what}: ${r.stderr}`);
}

test('service_role_cannot_update_or_delete_audit_rows_or_the_chain', async () => {
  const before = await psql('select (select count(*) from audit_log) || \'/\' || (select count(*) from audit_chain) || \'/\' || (select count(*) from audit_checkpoints)');
  for (const t of ['audit_log', 'audit_chain', 'audit_checkpoints']) {
    const col = t === 'audit_log' ? 'action' : 'hash';
    assertRefused(await ctx.cluster.psqlAs('yijian', `update ${t} set ${col} = ${col}`), `UPDATE ${t} as yijian`);
    assertRefused(await ctx.cluster.psqlAs('yijian', `delete from ${t}`), `DELETE ${t} as yijian`);
    assertRefused(await ctx.cluster.psqlAs('yijian', `truncate ${t}`), `TRUNCATE ${t} as yijian`);
    // The owner is held by the triggers.
    assertRefused(await ctx.cluster.psqlAs('yijian_owner', `update ${t} set ${col} = ${col}`), `UPDATE ${t} as owner`);
    assertRefused(await ctx.cluster.psqlAs('yijian_owner', `delete from ${t}`), `DELETE ${t} as owner`);
  }
  // Inserting is the service's right, but a link can only be the next one.
  assertRefused(await ctx.cluster.psqlAs('yijian',
    `insert into audit_chain (seq, audit_id, hash) values (1000000, 1000000, decode(repeat('00', 32), 'hex'))`), 'a link out of sequence');
  // The check is once per statement (sql/0012): links added together must
  // be consecutive and come right after the head.
  const head = await num('select coalesce(max(seq), 0) from audit_chain');
  const links = (seqs) => `insert into audit_chain (seq, audit_id, hash) select s, 9000000000000000 + s, ` +
    `decode(repeat('00', 32), 'hex') from unnest(array[${seqs.join(',')}]::bigint[]) s`;
  assertRefused(await ctx.cluster.psqlAs('yijian', links([head + 1, head + 3])), 'links with a gap between them');
  assertRefused(await ctx.cluster.psqlAs('yijian', links([head + 2, head + 3])), 'links after a gap');
  assertRefused(await ctx.cluster.psqlAs('yijian', links([head + 1, head + 2, head + 4, head + 5])), 'two runs of links');
  // The next links themselves pass the check (rolled back: their hashes are not the chain's).
  const next = await ctx.cluster.psqlAs('yijian',
    `begin; ${links([head + 1, head + 2, head + 3])}; select 'accepted ' || count(*) from audit_chain where seq > ${head}; rollback;`);
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stdout, /accepted 3/);
  assert.equal(await psql('select (select count(*) from audit_log) || \'/\' || (select count(*) from audit_chain) || \'/\' || (select count(*) from audit_checkpoints)'), before);
});

test('an_anonymous_row_carries_nothing_but_the_word', async () => {
  const refused = await ctx.cluster.psqlAs('yijian',
    `insert into audit_log (actor_kind, actor_id, action, object_type) values ('anonymous', ${w.ids.memA}, 'suggestion.submit', 'suggestion')`);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /check constraint/);
  const refused2 = await ctx.cluster.psqlAs('yijian',
    `insert into audit_log (actor_kind, action, object_type, request_id) values ('anonymous', 'suggestion.submit', 'suggestion', 'r-1')`);
  assert.notEqual(refused2.code, 0);
  // As the service writes it: the word, and nothing else.
  const objectId = `S-AN${String(process.pid % 10000).padStart(4, '0')}`.slice(0, 8);
  const r = await ctx.cluster.psqlAs('yijian',
    `insert into audit_log (at, actor_kind, action, object_type, object_id, change)
     values (date_trunc('hour', now()), 'anonymous', 'suggestion.cosign', 'suggestion', ${lit(objectId)}, '{}')`);
  assert.equal(r.code, 0, r.stderr);
  const page = ok(await call('GET', `/v1/audit?object_type=suggestion&object_id=${objectId}`, 'admin'));
  assert.equal(page.items.length, 1);
  const e = page.items[0];
  assert.equal(e.actor_kind, 'anonymous');
  assert.equal(e.actor_id, null);
  assert.equal(e.request_id, null);
  await allSealed();
  await assertIntact();
});

// ---- the workflow's rows --------------------------------------------------------------------

test('the_suggestion_workflow_leaves_exactly_its_rows_in_order_with_the_right_actors', async () => {
  const page = ok(await call('GET', `/v1/audit?object_type=suggestion&object_id=${pid}`, 'admin'));
  assert.equal(page.next_cursor, null);
  assert.deepEqual(
    page.items.map((e) => [e.action, e.actor_kind, e.actor_id, e.request_id]),
    [
      ['suggestion.submit', 'account', w.ids.memA, rid('submit')],
      ['suggestion.accept', 'account', w.ids[w.drafter], rid('accept')],
      ['suggestion.draft_answer', 'account', w.ids[w.drafter], rid('draft')],
      ['suggestion.answer', 'account', w.ids[w.approver], rid('approve')],
      ['suggestion.rate', 'account', w.ids.memA, rid('rate')],
    ],
  );
  const [submit, accept, draft, answer, rate] = page.items;
  assert.equal(submit.change.after.status, 'submitted');
  assert.deepEqual(accept.change, { before: { status: 'submitted' }, after: { status: 'accepted' } });
  assert.equal(draft.change.after.decision, 'adopted');
  assert.deepEqual(answer.change, { before: { status: 'accepted' }, after: { status: 'answered', decision: 'adopted' } });
  assert.deepEqual(rate.change, { after: { rating: 'satisfied' } });
  // Sealed, in the order they happened.
  const seqs = page.items.map((e) => e.seq);
  assert.ok(seqs.every((s) => Number.isInteger(s)), JSON.stringify(seqs));
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
  assert.ok(page.items.every((e, i) => i === 0 || e.at > page.items[i - 1].at));
  assert.match(submit.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  // The database agrees, row for row.
  assert.equal(await num(`select count(*) from audit_log where object_type = 'suggestion' and object_id = ${lit(pid)}`), 5);
});

// ---- tampering, one kind at a time ------------------------------------------------------------

test('a_changed_byte_in_a_sealed_rows_json_is_named', async () => {
  const { seq, id } = await sealedRow(pid, 'suggestion.submit');
  await asSuperuser(`update audit_log set change = replace(change::text, '"submitted"', '"submittee"')::jsonb where id = ${id}`);
  try {
    assert.match(await psql(`select change::text from audit_log where id = ${id}`), /submittee/);
    await assertTampered('changed', `row changed: audit id ${id} (seq ${seq}) does not match the hash sealed for it`, { seq, audit_id: id });
  } finally {
    await asSuperuser(`update audit_log set change = replace(change::text, '"submittee"', '"submitted"')::jsonb where id = ${id}`);
  }
  await assertIntact();
});

test('a_deleted_row_is_named', async () => {
  const { seq, id } = await sealedRow(pid, 'suggestion.accept');
  await psql(`create table tamper_saved as select * from audit_log where id = ${id}`);
  try {
    await asSuperuser(`delete from audit_log where id = ${id}`);
    await assertTampered('deleted', `row deleted: audit id ${id} (seq ${seq}) was sealed and is gone from audit_log`, { seq, audit_id: id });
  } finally {
    await asSuperuser('insert into audit_log overriding system value select * from tamper_saved where not exists (select 1 from audit_log a where a.id = tamper_saved.id)');
    await psql('drop table tamper_saved');
  }
  await assertIntact();
});

test('two_rows_with_their_content_swapped_are_named_as_a_swap', async () => {
  const a = await sealedRow(pid, 'suggestion.accept');
  const b = await sealedRow(pid, 'suggestion.rate');
  const swap = `update audit_log x set at = y.at, actor_kind = y.actor_kind, actor_id = y.actor_id, action = y.action,
      object_type = y.object_type, object_id = y.object_id, change = y.change, request_id = y.request_id
    from audit_log y where (x.id, y.id) in ((${a.id}, ${b.id}), (${b.id}, ${a.id}))`;
  await asSuperuser(swap);
  try {
    assert.equal(await psql(`select action from audit_log where id = ${a.id}`), 'suggestion.rate');
    await assertTampered('swapped',
      `rows swapped: audit ids ${a.id} and ${b.id} (seq ${a.seq} and ${b.seq}) hold each other's content`,
      { seq: a.seq, audit_id: a.id });
  } finally {
    await asSuperuser(swap);
  }
  await assertIntact();
});

test('a_forged_row_inserted_in_the_middle_is_named_and_never_sealed', async () => {
  // A gap in the ids, as a rolled-back transaction leaves one.
  const gap = await num("select nextval(pg_get_serial_sequence('audit_log', 'id'))");
  assert.ok(gap > 0);
  // Activity until the horizon has passed the gap: its id is final.
  const passed = await waitFor(async () => {
    ok(await call('GET', '/v1/me', 'memB')); // keeps the session fresh; no audit row
    await ctx.api.post('/v1/auth/login', { body: { login: w.logins.memB, password: 'correct horse battery staple' } });
    return (await num('select coalesce(max(horizon), 0) from audit_checkpoints')) >= gap;
  }, { timeoutMs: 20000, intervalMs: 400 });
  assert.ok(passed, `the horizon did not pass ${gap}`);
  await allSealed();
  assert.ok((await num(`select count(*) from audit_chain where audit_id > ${gap}`)) > 0, 'rows after the gap are sealed');

  // The forger backdates it among its neighbours.
  await psql(`insert into audit_log (id, at, actor_kind, action, object_type, object_id, change) overriding system value
    values (${gap}, (select at from audit_log where id < ${gap} order by id desc limit 1), 'system',
            'suggestion.answer', 'suggestion', ${lit(pid)}, '{"after": {"status": "answered"}}')`);
  try {
    await sleep(2500); // two passes of the sealer
    assert.equal(await num(`select count(*) from audit_chain where audit_id = ${gap}`), 0, 'the sealer leaves it out');
    const { api } = await verify();
    const horizon = api.horizon;
    await assertTampered('unsealed',
      `unsealed row ${gap} older than sealed rows: ids up to ${horizon} were final and sealed at checkpoint seq ${api.signed_through}, so it was inserted afterwards`,
      { audit_id: gap });
  } finally {
    await asSuperuser(`delete from audit_log where id = ${gap}`);
  }
  await assertIntact();
});

test('a_row_committed_late_is_sealed_after_larger_ids_and_not_flagged', async () => {
  // A transaction holds an audit row for 3 s while others commit rows with
  // larger ids and the sealer seals them.
  const slow = psql("begin; insert into audit_log (actor_kind, action, object_type) values ('system', 'test.late', 'test'); select pg_sleep(3); commit");
  await sleep(300);
  for (let i = 0; i < 6; i++) {
    await ctx.api.post('/v1/auth/login', { body: { login: w.logins.memB, password: 'correct horse battery staple' } });
    await sleep(300);
  }
  await slow;
  await allSealed();
  const [lateSeq, lateId] = (await psql("select c.seq, l.id from audit_log l join audit_chain c on c.audit_id = l.id where l.action = 'test.late'")).split('|').map(Number);
  assert.ok((await num(`select count(*) from audit_chain where audit_id > ${lateId} and seq < ${lateSeq}`)) > 0,
    'rows with larger ids were sealed before it');
  await assertIntact();
});

test('a_rewritten_chain_is_caught_by_the_signed_checkpoint', async () => {
  // Change a row and recompute every link after it, as someone who read
  // docs/audit.md could: only the signatures give it away.
  const { seq, id } = await sealedRow(pid, 'suggestion.draft_answer');
  const original = await chainRows();
  await asSuperuser(`update audit_log set change = replace(change::text, '"adopted"', '"noted"')::jsonb where id = ${id}`);
  try {
    const rows = await chainRows();
    let prev = seq > 1 ? Buffer.from(rows[seq - 2].hash, 'hex') : Buffer.alloc(32);
    const updates = [];
    for (const r of rows.slice(seq - 1)) {
      prev = chainLink(prev, r);
      updates.push(`(${r.seq}, '\\x${prev.toString('hex')}'::bytea)`);
    }
    await asSuperuser(`update audit_chain c set hash = v.h from (values ${updates.join(', ')}) as v(s, h) where c.seq = v.s`);
    const cp = await num(`select min(seq) from audit_checkpoints where seq >= ${seq}`);
    const before = await num(`select coalesce(max(seq), 0) from audit_checkpoints where seq < ${seq}`);
    const { cli, api } = await verify();
    assert.equal(cli.code, 1, cli.stdout);
    assert.equal(api.problems[0].kind, 'chain_rewritten', JSON.stringify(api.problems));
    assert.equal(api.problems[0].seq, cp);
    assert.equal(api.problems[0].message,
      `chain rewritten: the hash signed at seq ${cp} is not the chain's; a row sealed after seq ${before} was changed and the links recomputed`);
    assert.ok(api.problems.every((p) => p.kind === 'chain_rewritten'), 'every link matches its row: only checkpoints disagree');
  } finally {
    const restore = original.map((r) => `(${r.seq}, '\\x${r.hash}'::bytea)`).join(', ');
    await asSuperuser(`update audit_chain c set hash = v.h from (values ${restore}) as v(s, h) where c.seq = v.s;
      update audit_log set change = replace(change::text, '"noted"', '"adopted"')::jsonb where id = ${id}`);
  }
  await assertIntact();
});

test('a_checkpoint_whose_signed_fields_changed_is_named', async () => {
  const seq = await num('select max(seq) from audit_checkpoints');
  const horizon = await num(`select horizon from audit_checkpoints where seq = ${seq}`);
  await asSuperuser(`update audit_checkpoints set horizon = 0 where seq = ${seq}`);
  try {
    const { api } = await verify();
    assert.equal(api.intact, false);
    assert.ok(api.problems.some((p) => p.kind === 'bad_signature' && p.seq === seq &&
      p.message === `checkpoint at seq ${seq}: the signature does not verify`), JSON.stringify(api.problems));
  } finally {
    await asSuperuser(`update audit_checkpoints set horizon = ${horizon} where seq = ${seq}`);
  }
  await assertIntact();
});

// ---- who may ask --------------------------------------------------------------------------------

test('verify_is_for_admins', async () => {
  // The route table says admin (issue 22, finding 8): a secretary got it too.
  assert.equal((await call('GET', '/v1/audit/verify', 'admin')).status, 200);
  for (const who of ['secA1', 'secB', 'memA', 'comA', 'memB']) {
    const r = await call('GET', '/v1/audit/verify', who);
    assert.equal(r.status, 403, who);
    assert.equal(r.body.type, '/problems/forbidden');
  }
  assert.equal((await call('GET', '/v1/audit/verify', null)).status, 401);
});

test('audit_entries_are_for_admins_and_the_managers_of_the_object', async () => {
  const q = `/v1/audit?object_type=suggestion&object_id=${pid}`;
  for (const who of ['admin', 'secA1', 'secA2']) assert.equal(ok(await call('GET', q, who)).items.length, 5, who);
  // The author, the committee, another branch's secretary: not theirs to read.
  for (const who of ['memA', 'comA', 'secB', 'memB']) assert.equal((await call('GET', q, who)).status, 403, who);
  // A unit and its memberships: its managers.
  assert.equal((await call('GET', `/v1/audit?object_type=unit&object_id=${w.units.A}`, 'secA1')).status, 200);
  assert.equal((await call('GET', `/v1/audit?object_type=unit&object_id=${w.units.A}`, 'secB')).status, 403);
  const ms = ok(await call('GET', `/v1/audit?object_type=membership&object_id=${w.units.A}/${w.ids.memA}`, 'secA2'));
  assert.ok(ms.items.length >= 1 && ms.items.every((e) => e.object_id === `${w.units.A}/${w.ids.memA}`));
  // An account's actions span units: admins only.
  assert.equal((await call('GET', `/v1/audit?actor_id=${w.ids.memA}`, 'secA1')).status, 403);
  assert.equal((await call('GET', '/v1/audit?object_type=account', 'secA1')).status, 403);
  assert.equal((await call('GET', q, null)).status, 401);
});

test('audit_list_checks_its_query_and_pages_by_cursor', async () => {
  for (const qs of ['', 'object_id=1', `object_type=suggestion&actor_id=${w.ids.memA}`, 'actor_id=0', 'actor_id=x',
    'object_type=Suggestion', 'object_type=suggestion&limit=0', 'object_type=suggestion&limit=201',
    'object_type=suggestion&cursor=-1', `object_type=suggestion&object_id=${'x'.repeat(201)}`]) {
    const r = await call('GET', `/v1/audit?${qs}`, 'admin');
    assert.equal(r.status, 422, `${qs}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.errors[0].pointer, '');
  }
  // Every row by memA, two at a time.
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const body = ok(await call('GET', `/v1/audit?actor_id=${w.ids.memA}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, 'admin'));
    assert.ok(body.items.length <= 2);
    seen.push(...body.items.map((e) => e.id));
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  const db = (await psql(`select string_agg(id::text, ',' order by id) from audit_log where actor_id = ${w.ids.memA}`)).split(',').map(Number);
  assert.deepEqual(seen, db);
  assert.ok(db.length >= 3);
});

// ---- off ------------------------------------------------------------------------------------------

test('seal_interval_0_turns_the_sealer_off_and_rows_wait_as_pending', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.destroy());
  const svc = await startService(cluster, { SEAL_INTERVAL: '0' });
  t.after(() => svc.stop());
  await sleep(1500);
  assert.equal(await cluster.psql('select count(*) from audit_chain'), '0');
  const r = await runCli(cluster, ['verify-audit']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const rows = Number(await cluster.psql('select count(*) from audit_log'));
  assert.match(r.stdout, new RegExp(`^intact through seq 0, head 0{64}\n`));
  assert.match(r.stdout, new RegExp(`; ${rows} rows pending\n$`));
});
