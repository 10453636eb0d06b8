// Bulletins from the outside (issue 7, docs/bulletins.md): publishing a
// unit's answered suggestions, what a bulletin holds and leaves out, its
// Ed25519 signature checked here in Node over a canonical encoding this
// file computes itself, the public reads, immutability in the schema, and
// the CLI (`publish`, `verify-bulletin`).
//
// The world: root 机关党委 (category 组织工作 → portfolio 组织)
//   ├─ A 第一党支部  comOrg (committee: 组织), secA1, secA2, memA1, memA2
//   └─ B 第二党支部  comB (committee: 组织), secB, memB
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { useService } from './lib/fixture.mjs';
import { runCli } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService();
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const psql = (sql) => ctx.cluster.psql(sql);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

const call = (method, p, who, body) => ctx.api.request(method, p, { token: who ? w.tokens[who] : undefined, body });
function ok(r, status = 200) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
}

/** A suggestion of `unit` by `author`, taken to `answered` (drafted by
 * the committee member, approved by a secretary) unless `stop` says where
 * to stop. */
async function suggestion(author, unit, { title, body, publish_name, stop } = {}) {
  const t = title ?? `建议${tag()}`;
  const s = ok(await call('POST', '/v1/suggestions', author, {
    unit_id: w.units[unit], category_id: w.categories.org, title: t, body: body ?? `内容 ${t}`,
    ...(publish_name === undefined ? {} : { publish_name }),
  }), 201);
  if (stop === 'submitted') return s;
  const com = unit === 'A' ? 'comOrg' : 'comB';
  const sec = unit === 'A' ? 'secA1' : 'secB';
  ok(await call('POST', `/v1/suggestions/${s.id}/accept`, com));
  ok(await call('PUT', `/v1/suggestions/${s.id}/answer`, com, { decision: 'not_adopted', body: `答复 ${t}`, reason: '条件不足' }));
  const done = ok(await call('POST', `/v1/suggestions/${s.id}/answer/approve`, sec));
  assert.equal(done.status, 'answered');
  return s;
}

// ---- the canonical encoding, from docs/bulletins.md ---------------------------

function canonicalString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
function canonical(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    assert.ok(Number.isSafeInteger(v), `only integers: ${v}`);
    return String(v);
  }
  if (typeof v === 'string') return canonicalString(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${canonicalString(k)}:${canonical(v[k])}`).join(',')}}`;
}
function verifies(doc) {
  const raw = Buffer.from(doc.public_key, 'base64');
  assert.equal(raw.length, 32);
  // SPKI of an Ed25519 key: a fixed 12-byte prefix and the raw key.
  const key = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  return crypto.verify(null, Buffer.from(canonical(doc.bulletin), 'utf8'), key, Buffer.from(doc.signature, 'base64'));
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'bulletin-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.portfolio('A', '组织');
  await w.portfolio('B', '组织');
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织' });
  const S = ['member', 'secretary'];
  const C = ['member', 'committee'];
  await Promise.all([
    w.account('comOrg', '组织委员', 'A', C, ['组织']),
    w.account('secA1', '支部书记', 'A', S),
    w.account('secA2', '副书记', 'A', S),
    w.account('memA1', '党员一', 'A'),
    w.account('memA2', '党员二', 'A'),
  ]);
  await Promise.all([
    w.account('comB', '二支部组织委员', 'B', C, ['组织']),
    w.account('secB', '二支部书记', 'B', S),
    w.account('memB', '二支部党员', 'B'),
  ]);
});

/** One anonymity token for `who`, taken the way a client takes it
 * (RFC 9497 VOPRF, as tests/blackbox/anonymous.test.mjs does). */
async function anonymityToken(who, unit) {
  const voprf = ristretto255_oprf.voprf;
  const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
  const unb64 = (x) => new Uint8Array(Buffer.from(x, 'base64url'));
  const key = (await ctx.api.get(`/v1/tokens/keys?unit=${unit}`)).body.keys[0];
  const input = crypto.randomBytes(32);
  const { blind, blinded } = voprf.blind(input, (n) => new Uint8Array(crypto.randomBytes(n)));
  const r = ok(await call('POST', '/v1/tokens/issue', who, { key_id: key.key_id, unit_id: unit, blinded: [b64(blinded)] }));
  const [output] = voprf.finalizeBatch([{ input, blind, blinded, evaluated: unb64(r.evaluated[0]) }], unb64(key.public_key), unb64(r.proof));
  return { key_id: key.key_id, input: b64(input), output: b64(output) };
}

let saved; // a published bulletin of A, as GET /v1/bulletins/{id} returns it

test('publish_moves_exactly_the_answered_suggestions_and_names_only_consenting_authors', async () => {
  const named = await suggestion('memA1', 'A', { title: `引号"反斜杠\\斜杠/中文${tag()}`, body: '第一行\n第二行', publish_name: true });
  const unnamed = await suggestion('memA2', 'A', { publish_name: false });
  const pending = await suggestion('memA1', 'A', { stop: 'submitted' });
  const other = await suggestion('memB', 'B');

  const doc = ok(await call('POST', '/v1/bulletins', 'secA1', { unit_id: w.units.A }), 201);
  const b = doc.bulletin;
  assert.equal(b.format, 'yijian-bulletin/1');
  assert.equal(b.unit.id, w.units.A);
  assert.equal(b.unit.name, '第一党支部');
  assert.equal(b.seq, 1);
  assert.equal(b.corrects, null);
  assert.deepEqual(b.items.map((i) => i.public_id).sort(), [named.id, unnamed.id].sort());
  const byId = Object.fromEntries(b.items.map((i) => [i.public_id, i]));
  assert.equal(byId[named.id].author, '党员一');
  assert.equal(byId[unnamed.id].author, null);
  assert.equal(byId[named.id].body, '第一行\n第二行');
  assert.equal(byId[named.id].category, '组织工作');
  assert.equal(byId[named.id].decision, 'not_adopted');
  assert.equal(byId[named.id].answer.reason, '条件不足');
  assert.equal(byId[named.id].cosign_count, 0);
  assert.match(byId[named.id].answered_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(!JSON.stringify(b).includes('党员二'), 'no name without consent');

  const status = async (pid) => psql(`select status || ' ' || (published_at is not null) from suggestions where public_id = ${lit(pid)}`);
  assert.equal(await status(named.id), 'published true');
  assert.equal(await status(unnamed.id), 'published true');
  assert.equal(await status(pending.id), 'submitted false');
  assert.equal(await status(other.id), 'answered false', 'another unit is not published');
  assert.equal(await psql(`select count(*) from audit_log where action = 'suggestion.publish' and object_id in (${lit(named.id)}, ${lit(unnamed.id)})`), '2');
  assert.equal(await psql(`select count(*) from audit_log where action = 'bulletin.publish' and object_id = '${b.id}'`), '1');
  // The publication is a step of each suggestion's history, shaped like
  // every other step (before/after: call() checks the answer against the
  // OpenAPI document); one audited in the older bare shape is given as its after.
  const history = async (pid) => ok(await call('GET', `/v1/suggestions/${pid}`, 'secA1')).history.filter((e) => e.action === 'suggestion.publish');
  assert.deepEqual((await history(named.id)).map((e) => e.change), [{ after: { status: 'published', bulletin: b.id } }]);
  await psql(`insert into audit_log (actor_kind, action, object_type, object_id, change) values ('system', 'suggestion.publish', 'suggestion', ${lit(unnamed.id)}, '{"status": "published", "bulletin": 99}')`);
  assert.deepEqual((await history(unnamed.id)).map((e) => e.change), [{ after: { status: 'published', bulletin: b.id } }, { after: { status: 'published', bulletin: 99 } }]);

  assert.ok(verifies(doc), 'the signature verifies in Node');
  const key = ok(await ctx.api.request('GET', '/v1/bulletins/key'));
  assert.equal(key.public_key, doc.public_key);
  assert.equal(Buffer.from(key.public_key_hex, 'hex').toString('base64'), doc.public_key);

  const got = await ctx.api.request('GET', `/v1/bulletins/${b.id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, doc);
  assert.match(got.headers.get('cache-control') ?? '', /public/);
  assert.ok(got.headers.get('etag'));
  saved = got.body;
});

test('a_bulletin_is_served_byte_for_byte_again_and_304_for_a_matching_if_none_match', async () => {
  assert.ok(saved);
  const path = `/v1/bulletins/${saved.bulletin.id}`;
  const first = await ctx.api.request('GET', path);
  const second = await ctx.api.request('GET', path);
  assert.equal(first.status, 200);
  assert.equal(second.status, 200);
  assert.ok(first.bytes.length > 0);
  assert.ok(first.bytes.equals(second.bytes), 'the same bytes every time');
  assert.deepEqual(second.body, saved);
  const etag = first.headers.get('etag');
  assert.equal(etag, `"b${saved.bulletin.id}"`);

  for (const inm of [etag, `W/${etag}`, `"b0", ${etag}`, '*']) {
    const nm = await ctx.api.request('GET', path, { headers: { 'If-None-Match': inm } });
    assert.equal(nm.status, 304, `If-None-Match: ${inm}`);
    assert.equal(nm.bytes.length, 0);
    assert.equal(nm.headers.get('etag'), etag);
  }
  for (const inm of [`"b${saved.bulletin.id}0"`, '"x"', `b${saved.bulletin.id}`]) {
    const other = await ctx.api.request('GET', path, { headers: { 'If-None-Match': inm } });
    assert.equal(other.status, 200, `If-None-Match: ${inm}`);
    assert.ok(other.bytes.equals(first.bytes));
  }
  // A tag for a bulletin that does not exist does not make it exist.
  const missing = await ctx.api.request('GET', '/v1/bulletins/999999999', {
    headers: { 'If-None-Match': '"b999999999"' },
  });
  assert.equal(missing.status, 404);
});

test('the_signature_covers_every_byte_of_the_content', async () => {
  assert.ok(saved);
  const changed = structuredClone(saved);
  changed.bulletin.items[0].title += '!';
  assert.equal(verifies(changed), false);
  const reordered = structuredClone(saved);
  reordered.bulletin.items.reverse();
  assert.equal(verifies(reordered), saved.bulletin.items.length < 2);
});

test('the_latest_audit_checkpoint_is_in_the_bulletin', async () => {
  assert.ok(saved);
  const cp = saved.bulletin.audit_checkpoint;
  const latest = await psql(`select coalesce(max(seq), 0) from audit_checkpoints where created_at <= (select created_at from bulletins where id = ${saved.bulletin.id})`);
  if (Number(latest) === 0) return assert.equal(cp, null);
  assert.ok(cp.seq >= Number(latest));
  assert.equal(await psql(`select encode(hash, 'hex') from audit_checkpoints where seq = ${cp.seq}`), cp.hash);
});

test('a_second_publish_with_nothing_new_is_refused_with_409', async () => {
  const before = await psql('select count(*) from bulletins');
  const r = await call('POST', '/v1/bulletins', 'secA2', { unit_id: w.units.A });
  assert.equal(r.status, 409);
  assert.equal(r.body.type, '/problems/conflict');
  assert.match(r.body.detail, /nothing to publish/);
  assert.equal(await psql('select count(*) from bulletins'), before);
});

test('a_correction_names_the_bulletin_it_corrects_and_seq_grows', async () => {
  assert.ok(saved);
  await suggestion('memA1', 'A');
  const bad = await call('POST', '/v1/bulletins', 'secA1', { unit_id: w.units.A, corrects: 999999 });
  assert.equal(bad.status, 422);
  const doc = ok(await call('POST', '/v1/bulletins', 'secA1', { unit_id: w.units.A, corrects: saved.bulletin.id }), 201);
  assert.equal(doc.bulletin.corrects, saved.bulletin.id);
  assert.equal(doc.bulletin.seq, 2);
  assert.equal(doc.bulletin.period_from, saved.bulletin.period_to);
  assert.ok(verifies(doc));
  const list = ok(await ctx.api.request('GET', `/v1/bulletins?unit=${w.units.A}`));
  assert.deepEqual(list.items.map((i) => i.id), [doc.bulletin.id, saved.bulletin.id]);
  assert.equal(list.items[0].corrects, saved.bulletin.id);
});

test('only_managers_of_the_unit_may_publish', async () => {
  await suggestion('memB', 'B');
  const before = await psql('select count(*) from bulletins');
  for (const who of ['memB', 'comB', 'secA1']) {
    const r = await call('POST', '/v1/bulletins', who, { unit_id: w.units.B });
    assert.equal(r.status, 403, `${who}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await call('POST', '/v1/bulletins', null, { unit_id: w.units.B })).status, 401);
  assert.equal((await call('POST', '/v1/bulletins', 'secB', { unit_id: 'B' })).status, 422);
  assert.equal((await call('POST', '/v1/bulletins', 'secB', {})).status, 422);
  assert.equal(await psql('select count(*) from bulletins'), before);
  // the admin and the unit's secretary may
  const doc = ok(await call('POST', '/v1/bulletins', 'admin', { unit_id: w.units.B }), 201);
  assert.equal(doc.bulletin.items.length, 2);
});

test('public_reads_need_no_sign_in_and_unknown_ids_are_404', async () => {
  assert.equal((await ctx.api.request('GET', '/v1/bulletins/999999')).status, 404);
  assert.equal((await ctx.api.request('GET', '/v1/bulletins?unit=x')).status, 422);
  const all = ok(await ctx.api.request('GET', '/v1/bulletins'));
  assert.ok(all.items.length >= 3);
});

test('a_stored_bulletin_cannot_be_changed_or_deleted_by_the_owner_or_the_service', async () => {
  assert.ok(saved);
  const id = saved.bulletin.id;
  for (const role of ['yijian', 'yijian_owner']) {
    for (const sql of [`update bulletins set content = '{}' where id = ${id}`, `delete from bulletins where id = ${id}`]) {
      const r = await ctx.cluster.psqlAs(role, sql);
      assert.notEqual(r.code, 0, `${role}: ${sql} must fail`);
      assert.match(r.stderr, /insert-only|permission denied/);
    }
  }
  assert.equal(await psql(`select content->>'id' from bulletins where id = ${id}`), String(id));
});

test('verify_bulletin_accepts_the_saved_file_and_refuses_a_changed_byte', async () => {
  assert.ok(saved);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulletin-'));
  try {
    const file = path.join(dir, 'b.json');
    const text = JSON.stringify(saved, null, 2);
    fs.writeFileSync(file, text);
    let r = await runCli(ctx.cluster, ['verify-bulletin', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^valid/);
    r = await runCli(ctx.cluster, ['verify-bulletin', file, '--key', saved.public_key]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await runCli(ctx.cluster, ['verify-bulletin', file, '--key', crypto.randomBytes(32).toString('base64')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /another key/);

    const pid = saved.bulletin.items[0].public_id;
    const at = text.indexOf(pid) + pid.length - 1;
    const flipped = text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
    fs.writeFileSync(file, flipped);
    r = await runCli(ctx.cluster, ['verify-bulletin', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^invalid: the signature does not match/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an_anonymous_suggestion_is_published_with_nothing_about_its_author', async () => {
  const token = await anonymityToken('memA2', w.units.A);
  const t = `匿名建议${tag()}`;
  const s = ok(await ctx.api.post('/v1/suggestions', {
    body: { unit_id: w.units.A, category_id: w.categories.org, title: t, body: `内容 ${t}`, token },
  }), 201);
  assert.equal(s.anonymous, true);
  ok(await call('POST', `/v1/suggestions/${s.id}/accept`, 'comOrg'));
  ok(await call('PUT', `/v1/suggestions/${s.id}/answer`, 'comOrg', { decision: 'noted', body: '已记录' }));
  ok(await call('POST', `/v1/suggestions/${s.id}/answer/approve`, 'secA1'));
  const doc = ok(await call('POST', '/v1/bulletins', 'secA2', { unit_id: w.units.A }), 201);
  assert.deepEqual(doc.bulletin.items.map((i) => i.public_id), [s.id]);
  const item = doc.bulletin.items[0];
  assert.equal(item.author, null);
  assert.deepEqual(Object.keys(item).sort(), ['answer', 'answered_at', 'author', 'body', 'category', 'cosign_count', 'decision', 'public_id', 'submitted_at', 'title'], 'the same fields as any item');
  const text = JSON.stringify(doc);
  for (const leak of ['党员二', w.logins.memA2]) assert.ok(!text.includes(leak), `no ${leak}`);
  assert.ok(verifies(doc));
});

test('cli_publish_makes_a_bulletin_as_system_and_refuses_when_nothing_waits', async () => {
  const s = await suggestion('memB', 'B');
  let r = await runCli(ctx.cluster, ['publish', String(w.units.B)]);
  assert.equal(r.code, 0, r.stderr);
  const id = Number(r.stdout.match(/^bulletin (\d+): 1 suggestion published/)[1]);
  assert.equal(await psql(`select actor_kind from audit_log where action = 'bulletin.publish' and object_id = '${id}'`), 'system');
  const doc = ok(await ctx.api.request('GET', `/v1/bulletins/${id}`));
  assert.deepEqual(doc.bulletin.items.map((i) => i.public_id), [s.id]);
  assert.ok(verifies(doc));
  r = await runCli(ctx.cluster, ['publish', String(w.units.B)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /没有可公开的内容/);
});

// Tags of an HTML page balance (void elements aside), and the text holds
// no markup but the page's own.
function checkHtml(html) {
  const voids = new Set(['meta', 'link', 'br', 'hr', 'img', 'input']);
  const stack = [];
  const body = html.replace(/^<!DOCTYPE html>\n/, '').replace(/<style>[^<]*<\/style>/, '');
  for (const m of body.matchAll(/<(\/?)([a-z0-9]+)[^>]*>/g)) {
    if (voids.has(m[2])) continue;
    if (m[1]) assert.equal(stack.pop(), m[2], `</${m[2]}> closes what was opened`);
    else stack.push(m[2]);
  }
  assert.deepEqual(stack, [], 'every element is closed');
}

test('the_html_page_and_the_atom_feed_are_well_formed_and_escaped', async () => {
  const { XMLValidator, XMLParser } = await import('fast-xml-parser');
  const evil = `<script>alert("x")</script>&amp;${tag()}`;
  await suggestion('memA1', 'A', { title: evil.slice(0, 100), publish_name: true });
  const doc = ok(await call('POST', '/v1/bulletins', 'secA1', { unit_id: w.units.A }), 201);
  const page = await ctx.api.request('GET', `/bulletins/${doc.bulletin.id}`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html; charset=utf-8/);
  assert.match(page.headers.get('content-security-policy'), /^default-src 'none'/);
  const html = page.text;
  assert.ok(!html.includes('<script'), 'no markup from the data');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;'));
  assert.ok(html.includes('<html lang="zh-CN">'));
  assert.ok(html.includes('@media print'));
  assert.ok(html.includes(doc.signature));
  assert.ok(!/(src|href)=/.test(html), 'no external resource');
  checkHtml(html);
  assert.equal((await ctx.api.request('GET', '/bulletins/999999')).status, 404);

  const feed = await ctx.api.request('GET', '/feed.atom');
  assert.equal(feed.status, 200);
  assert.match(feed.headers.get('content-type'), /^application\/atom\+xml/);
  assert.equal(XMLValidator.validate(feed.text), true);
  const parsed = new XMLParser({ ignoreAttributes: false }).parse(feed.text);
  assert.equal(parsed.feed['@_xmlns'], 'http://www.w3.org/2005/Atom');
  const entries = [parsed.feed.entry].flat();
  assert.equal(entries[0].id, `urn:yijian:bulletin:${doc.bulletin.id}`);
  assert.ok(entries.every((e) => e.id && e.title && e.updated), 'every entry has id, title, updated');
  assert.ok(parsed.feed.id && parsed.feed.title && parsed.feed.updated && parsed.feed.author.name);
});
