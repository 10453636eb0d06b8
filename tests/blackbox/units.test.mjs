// The organisation tree, memberships, portfolios and accounts from the
// outside, with the authorization matrix: every admin endpoint × every role.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

import { MATRIX_ALLOW, ROLES } from './lib/authz-matrix.mjs';
import { api, spec } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { runCli, startService } from './lib/service.mjs';

const ctx = useService();
const PASSWORD = 'correct horse battery staple';
let seq = 0;
const unique = (what) => `${what}${process.pid}x${++seq}`;

const req = (method, path, token, body) => ctx.api.request(method, path, { token, body });
const count = async (sql) => Number((await ctx.cluster.psql(sql)).trim());
/** POSTs a roster file (text/csv) to /v1/org-units/{unit}/WHAT, unit A by default. */
const csv = (token, what, text, unit = world.units.A) =>
  ctx.api.request('POST', `/v1/org-units/${unit}/${what}`, { token, raw: text, headers: { 'Content-Type': 'text/csv; charset=utf-8' } });

/** Activates with the code and signs in; returns the token. */
async function activateAndSignIn(login, code) {
  const a = await ctx.api.post('/v1/auth/activate', { body: { login, code, password: PASSWORD } });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const l = await ctx.api.post('/v1/auth/login', { body: { login, password: PASSWORD } });
  assert.equal(l.status, 200, JSON.stringify(l.body));
  return l.body.token;
}

// The world every test here uses:
//   root 机关党委 ─┬─ A 第一党支部 ── G 第一党小组
//                  └─ B 第二党支部
const world = { units: {}, ids: {}, tokens: {} };

async function newAccount(token, role, unitId, roles) {
  const login = unique(role);
  const r = await ctx.api.post('/v1/accounts', {
    token,
    body: { login, display_name: `名字${role}`, ...(unitId ? { unit_id: unitId, roles } : {}) },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.activation_code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  world.ids[role] = r.body.account.id;
  world.tokens[role] = await activateAndSignIn(login, r.body.activation_code);
}

before(async () => {
  await ctx.ready;
  const cli = await runCli(ctx.cluster, ['create-admin', 'root-admin', '管理员']);
  assert.equal(cli.code, 0, cli.stderr);
  world.tokens.admin = await activateAndSignIn('root-admin', cli.stdout.trim());
  const admin = world.tokens.admin;

  const mk = async (name, level, parent_id) => {
    const r = await ctx.api.post('/v1/org-units', { token: admin, body: { name, level, parent_id } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  };
  world.units.root = await mk('机关党委', 'committee', null);
  world.units.A = await mk('第一党支部', 'branch', world.units.root);
  world.units.B = await mk('第二党支部', 'branch', world.units.root);
  world.units.G = await mk('第一党小组', 'group', world.units.A);

  await newAccount(admin, 'secRoot', world.units.root, ['member', 'secretary']);
  await newAccount(admin, 'secA', world.units.A, ['member', 'secretary']);
  await newAccount(admin, 'comA', world.units.A, ['member', 'committee']);
  await newAccount(admin, 'memA', world.units.A, ['member']);
  await newAccount(admin, 'secB', world.units.B, ['member', 'secretary']);
  await newAccount(admin, 'memB', world.units.B, ['member']);
  // Accounts that the reset rows of the matrix reset (a reset ends the
  // account's sessions, so no caller of the matrix is reset): one always
  // in A; one that was in B, left it and was added to A; one created
  // without a unit and added to A.
  await newAccount(admin, 'resetA', world.units.A, ['member']);
  await newAccount(admin, 'fromB', world.units.B, ['member']);
  assert.equal((await req('PUT', `/v1/org-units/${world.units.B}/members/${world.ids.fromB}`, admin, { roles: [] })).status, 200);
  assert.equal((await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.fromB}`, world.tokens.secA, { roles: ['member'] })).status, 200);
  await newAccount(admin, 'orphan', null);
  assert.equal((await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.orphan}`, world.tokens.secA, { roles: ['member'] })).status, 200);
  await newAccount(admin, 'authorA', world.units.A, ['member']);
});

/** A new suggestion of A by authorA (none of the matrix's roles): its id. */
async function suggestionOfA() {
  if (!world.cosignCategory) {
    await req('POST', `/v1/org-units/${world.units.A}/portfolios`, world.tokens.admin, { name: '附议' });
    const c = await req('POST', `/v1/org-units/${world.units.A}/categories`, world.tokens.admin, { name: unique('附议类'), portfolio: '附议' });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    world.cosignCategory = c.body.id;
  }
  const s = await req('POST', '/v1/suggestions', world.tokens.authorA, { unit_id: world.units.A, category_id: world.cosignCategory, title: unique('附议'), body: '内容' });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  return s.body.id;
}

/** An anonymity token of the unit role holds its role in, or a made-up one for a role with none. */
async function tokenOfOwnUnit(role) {
  const voprf = ristretto255_oprf.voprf;
  const unit = { memA: 'A', comA: 'A', secA: 'A', secB: 'B', secRoot: 'root' }[role];
  if (!unit) return { key_id: new Date().toISOString().slice(0, 7), input: crypto.randomBytes(32).toString('base64url'), output: crypto.randomBytes(64).toString('base64url') };
  const key = (await ctx.api.get(`/v1/tokens/keys?unit=${world.units[unit]}`)).body.keys[0];
  const input = crypto.randomBytes(32);
  const { blind, blinded } = voprf.blind(input, (n) => new Uint8Array(crypto.randomBytes(n)));
  const r = await req('POST', '/v1/tokens/issue', world.tokens[role], { key_id: key.key_id, unit_id: world.units[unit], blinded: [Buffer.from(blinded).toString('base64url')] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [output] = voprf.finalizeBatch([{ input, blind, blinded, evaluated: new Uint8Array(Buffer.from(r.body.evaluated[0], 'base64url')) }], new Uint8Array(Buffer.from(key.public_key, 'base64url')), new Uint8Array(Buffer.from(r.body.proof, 'base64url')));
  return { key_id: key.key_id, input: input.toString('base64url'), output: Buffer.from(output).toString('base64url') };
}

/** An account with the member role in A (made once, put back each time): its id. */
async function leaverInA() {
  if (!world.ids.leaver) {
    const r = await req('POST', '/v1/accounts', world.tokens.admin, { login: unique('leaver'), display_name: '调出者', unit_id: world.units.A, roles: ['member'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    world.ids.leaver = r.body.account.id;
  }
  const put = await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.leaver}`, world.tokens.admin, { roles: ['member'] });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  return world.ids.leaver;
}

// ---- the authorization matrix ------------------------------------------------

// The roles and the allowed ones per endpoint are one table, shared with
// security.test.mjs, which checks it against the route table (`yijian
// routes`, docs/security.md): lib/authz-matrix.mjs. Here each row gets its
// request.
const SEND = {
  'GET /v1/org-units': (t) => req('GET', '/v1/org-units', t),
  'POST /v1/org-units (root)': (t) => req('POST', '/v1/org-units', t, { name: unique('根'), level: 'committee', parent_id: null }),
  'POST /v1/org-units (child of A)': (t) => req('POST', '/v1/org-units', t, { name: unique('小组'), level: 'group', parent_id: world.units.A }),
  'PATCH /v1/org-units/{id}': (t) => req('PATCH', `/v1/org-units/${world.units.G}`, t, { name: unique('第一党小组') }),
  // Retiring (issue 25): each row brings back what is in use (no change,
  // past the same checks), so that no role's call changes the next one's.
  'PUT /v1/org-units/{id}/retired': (t) => req('PUT', `/v1/org-units/${world.units.G}/retired`, t, { retired: false }),
  'PUT /v1/org-units/{id}/portfolios/{portfolio_id}/retired': async (t) => {
    world.portfolioA ??= (await req('POST', `/v1/org-units/${world.units.A}/portfolios`, world.tokens.admin, { name: unique('停用分工') })).body.id;
    return req('PUT', `/v1/org-units/${world.units.A}/portfolios/${world.portfolioA}/retired`, t, { retired: false });
  },
  'PUT /v1/org-units/{id}/categories/{category_id}/retired': async (t) => {
    world.retireCategoryA ??= (await req('POST', `/v1/org-units/${world.units.A}/categories`, world.tokens.admin, { name: unique('停用类'), portfolio: '组织' })).body.id;
    return req('PUT', `/v1/org-units/${world.units.A}/categories/${world.retireCategoryA}/retired`, t, { retired: false });
  },
  'GET /v1/org-units/{id}/members': (t) => req('GET', `/v1/org-units/${world.units.A}/members`, t),
  'PUT /v1/org-units/{id}/members/{account_id}': (t) => req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.memB}`, t, { roles: ['member'] }),
  // Each removal row first puts the leaver back in A (the admin), so that
  // every role's call finds a member to take out.
  'GET /v1/org-units/{id}/members/{account_id}/removal': async (t) => req('GET', `/v1/org-units/${world.units.A}/members/${await leaverInA()}/removal`, t),
  'DELETE /v1/org-units/{id}/members/{account_id}': async (t) => req('DELETE', `/v1/org-units/${world.units.A}/members/${await leaverInA()}`, t),
  'GET /v1/org-units/{id}/portfolios': (t) => req('GET', `/v1/org-units/${world.units.A}/portfolios`, t),
  'GET /v1/org-units/{id}/shown-suggestions': (t) => req('GET', `/v1/org-units/${world.units.A}/shown-suggestions`, t),
  'POST /v1/org-units/{id}/portfolios': (t) => req('POST', `/v1/org-units/${world.units.A}/portfolios`, t, { name: unique('宣传') }),
  'POST /v1/org-units/{id}/roster/preview': (t) => csv(t, 'roster/preview', `login,display_name,unit_path,role,portfolios\n${unique('r')},甲,第一党支部,member,\n`),
  'POST /v1/org-units/{id}/roster': (t) => csv(t, 'roster', `login,display_name,unit_path,role,portfolios\n${unique('r')},乙,第一党支部,member,\n`),
  'GET /v1/org-units/{id}/ledger': (t) => req('GET', `/v1/org-units/${world.units.A}/ledger?from=2026-01-01&to=2026-12-31&format=csv`, t),
  'GET /v1/org-units/{id}/bulletin-schedule': (t) => req('GET', `/v1/org-units/${world.units.A}/bulletin-schedule`, t),
  'PUT /v1/org-units/{id}/bulletin-schedule': (t) => req('PUT', `/v1/org-units/${world.units.A}/bulletin-schedule`, t, { frequency: 'weekly', day_of_week: 1 + (++seq % 7), hour: 9 }),
  'GET /v1/org-units/{id}/categories': (t) => req('GET', `/v1/org-units/${world.units.A}/categories`, t),
  'POST /v1/org-units/{id}/categories': (t) => req('POST', `/v1/org-units/${world.units.A}/categories`, t, { name: unique('类别'), portfolio: '组织' }),
  'PATCH /v1/org-units/{id}/categories/{category_id}': async (t) => {
      if (!world.categoryA) {
        const c = await req('POST', `/v1/org-units/${world.units.A}/categories`, world.tokens.admin, { name: unique('可改'), portfolio: '组织' });
        world.categoryA = c.body.id;
      }
      return req('PATCH', `/v1/org-units/${world.units.A}/categories/${world.categoryA}`, t, { answer_days: 10 + (++seq % 20) });
    },
  'POST /v1/accounts (in A)': (t) => req('POST', '/v1/accounts', t, { login: unique('new'), display_name: '新成员', unit_id: world.units.A }),
  'POST /v1/accounts (no unit)': (t) => req('POST', '/v1/accounts', t, { login: unique('free'), display_name: '无支部' }),
  'POST /v1/accounts (is_admin)': (t) => req('POST', '/v1/accounts', t, { login: unique('adm'), display_name: '管理', unit_id: world.units.A, is_admin: true }),
  'POST /v1/accounts/{id}/activation-code': (t) => req('POST', `/v1/accounts/${world.ids.resetA}/activation-code`, t),
  'POST /v1/accounts/activation-slips': (t) => req('POST', '/v1/accounts/activation-slips', t, { account_ids: [world.ids.resetA] }),
  // Adopt, then reset (issue 22): a past in B leaves only those above both
  // branches; no past at all (adopted without a unit), only an admin.
  'POST /v1/accounts/{id}/activation-code (adopted from B)': (t) => req('POST', `/v1/accounts/${world.ids.fromB}/activation-code`, t),
  'POST /v1/accounts/{id}/activation-code (adopted with no unit)': (t) => req('POST', `/v1/accounts/${world.ids.orphan}/activation-code`, t),
  // Webhooks and deliveries (issue 8). The address is a private one that
  // no suggestion of this file ever sends to.
  'POST /v1/org-units/{id}/consultations': (t) =>
    req('POST', `/v1/org-units/${world.units.A}/consultations`, t, { kind: 'before_decision', opens_at: '2026-01-01T09:00:00+08:00', closes_at: '2036-01-01T09:00:00+08:00' }),
  'GET /v1/org-units/{id}/webhooks': (t) => req('GET', `/v1/org-units/${world.units.A}/webhooks`, t),
  'POST /v1/org-units/{id}/webhooks': (t) => req('POST', `/v1/org-units/${world.units.A}/webhooks`, t, { kind: 'json', url: 'http://10.255.255.1:9/hook', secret: 'a-secret-of-16-chars' }),
  'DELETE /v1/org-units/{id}/webhooks/{webhook_id}': async (t) => {
    const h = await req('POST', `/v1/org-units/${world.units.A}/webhooks`, world.tokens.admin, { kind: 'wecom', url: 'http://10.255.255.1:9/cgi-bin/webhook/send?key=k' });
    assert.equal(h.status, 201);
    return req('DELETE', `/v1/org-units/${world.units.A}/webhooks/${h.body.id}`, t);
  },
  'POST /v1/org-units/{id}/webhooks/{webhook_id}/test': async (t) => {
    if (!world.hookA) {
      const h = await req('POST', `/v1/org-units/${world.units.A}/webhooks`, world.tokens.admin, { kind: 'wecom', url: 'http://10.255.255.1:9/cgi-bin/webhook/send?key=t' });
      assert.equal(h.status, 201);
      world.hookA = h.body.id;
    }
    return req('POST', `/v1/org-units/${world.units.A}/webhooks/${world.hookA}/test`, t);
  },
  'GET /v1/org-units/{id}/outbox': (t) => req('GET', `/v1/org-units/${world.units.A}/outbox?status=dead`, t),
  'POST /v1/org-units/{id}/outbox/{outbox_id}/retry': (t) => req('POST', `/v1/org-units/${world.units.A}/outbox/999999999/retry`, t),
  'POST /v1/suggestions/{id}/cosign (named)': async (t) => req('POST', `/v1/suggestions/${await suggestionOfA()}/cosign`, t),
  // Without a role (the 401 round) a named co-sign without credentials.
  'POST /v1/suggestions/{id}/cosign (token of own unit)': async (t, role) => {
    const id = await suggestionOfA();
    if (!role) return req('POST', `/v1/suggestions/${id}/cosign`, undefined);
    return ctx.api.post(`/v1/suggestions/${id}/cosign`, { body: { token: await tokenOfOwnUnit(role) } });
  },
};
const MATRIX = MATRIX_ALLOW.map((row) => {
  assert.ok(SEND[row.op], `a request for ${row.op}`);
  return { ...row, send: SEND[row.op] };
});

test('authorization_matrix_covers_every_admin_endpoint_of_the_spec', () => {
  assert.deepEqual(Object.keys(SEND).sort(), MATRIX_ALLOW.map((r) => r.op).sort(), 'a request for each row, a row for each request');
  const covered = new Set(MATRIX.map((m) => m.op.replace(/ \(.*\)$/, '')));
  const adminPaths = Object.entries(spec.paths).filter(([p]) => p.startsWith('/v1/org-units') || p.startsWith('/v1/accounts'));
  assert.ok(adminPaths.length >= 5, 'the spec documents the admin endpoints');
  for (const [p, item] of adminPaths) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      if (item[method]) assert.ok(covered.has(`${method.toUpperCase()} ${p}`), `${method.toUpperCase()} ${p} is in the matrix`);
    }
  }
});

for (const row of MATRIX) {
  test(`authorization_matrix: ${row.op}`, async () => {
    const anon = await row.send(undefined);
    assert.equal(anon.status, 401, `${row.op} without a token`);
    for (const role of ROLES) {
      const r = await row.send(world.tokens[role], role);
      const [deny, type] = row.deny?.[role] ?? [403, 'forbidden'];
      const want = row.allow.includes(role) ? row.ok : deny;
      assert.equal(r.status, want, `${row.op} as ${role}: ${JSON.stringify(r.body)}`);
      if (!row.allow.includes(role)) assert.equal(r.body.type, `/problems/${type}`, `${row.op} as ${role}`);
    }
  });
}

// A new activation code resets the password: whoever may ask for one for an
// account can take it over. A secretary may not for an account that can do
// more than they can: an admin, or one with a role in a unit they do not manage.
test('a_secretary_cannot_reset_an_account_that_can_do_more_than_they_can', async () => {
  const admin = world.tokens.admin;
  const code = (t, id) => req('POST', `/v1/accounts/${id}/activation-code`, t);
  const adminInA = await ctx.api.post('/v1/accounts', { token: admin, body: { login: unique('admA'), display_name: '管理员甲', unit_id: world.units.A, is_admin: true } });
  assert.equal(adminInA.status, 201, JSON.stringify(adminInA.body));
  assert.equal((await code(world.tokens.secA, adminInA.body.account.id)).status, 403, 'an admin with a role in A');
  assert.equal((await code(world.tokens.secRoot, adminInA.body.account.id)).status, 403, 'an admin, even from above');

  // secretary of the root, member of A too: secA manages A but not the root
  const upper = await ctx.api.post('/v1/accounts', { token: admin, body: { login: unique('upper'), display_name: '上级', unit_id: world.units.root, roles: ['member', 'secretary'] } });
  assert.equal(upper.status, 201, JSON.stringify(upper.body));
  const put = await req('PUT', `/v1/org-units/${world.units.A}/members/${upper.body.account.id}`, admin, { roles: ['member'] });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal((await code(world.tokens.secA, upper.body.account.id)).status, 403, 'a secretary of a unit above, member of A');
  assert.equal((await code(world.tokens.secB, upper.body.account.id)).status, 403);
  assert.equal((await code(world.tokens.secRoot, upper.body.account.id)).status, 200, 'the root secretary manages both units');
  assert.equal((await code(admin, adminInA.body.account.id)).status, 200, 'an admin resets an admin');
  // an account only in A is still secA's
  assert.equal((await code(world.tokens.secA, world.ids.resetA)).status, 200);
});

// ---- the tree ------------------------------------------------------------------

test('tree_lists_units_nested_under_their_parents', async () => {
  const r = await req('GET', '/v1/org-units', world.tokens.memA);
  assert.equal(r.status, 200);
  const root = r.body.units.find((u) => u.id === world.units.root);
  assert.ok(root, 'the root is a top-level node');
  assert.equal(root.parent_id, null);
  const a = root.children.find((u) => u.id === world.units.A);
  assert.ok(a && a.level === 'branch');
  assert.ok(a.children.some((u) => u.id === world.units.G));
  assert.ok(root.children.some((u) => u.id === world.units.B));
});

test('moving_a_unit_under_its_own_descendant_is_409_and_changes_nothing', async () => {
  const before = await ctx.cluster.psql(`select parent_id from org_units where id = ${world.units.A}`);
  const r = await req('PATCH', `/v1/org-units/${world.units.A}`, world.tokens.admin, { parent_id: world.units.G });
  assert.equal(r.status, 409);
  assert.equal(r.body.type, '/problems/conflict');
  assert.equal(await ctx.cluster.psql(`select parent_id from org_units where id = ${world.units.A}`), before);
  const self = await req('PATCH', `/v1/org-units/${world.units.A}`, world.tokens.admin, { parent_id: world.units.A });
  assert.equal(self.status, 409);
  // The console shows the service's refusal as it comes: in Chinese.
  const zh = await ctx.api.request('PATCH', `/v1/org-units/${world.units.A}`, { token: world.tokens.admin, headers: { 'Accept-Language': 'zh-CN' }, body: { parent_id: world.units.G } });
  assert.equal(zh.status, 409);
  assert.equal(zh.body.detail, '单位不能移到它自己或它的下级单位下面');
});

// Names stored before sql/0013 (issue 25): sql/0029 renames each to its
// normal spelling where nothing beside it has that spelling, and keeps (and
// records) a look-alike pair and a portfolio whose '；' would split it.
// Such rows cannot be written today, so the test writes them past the
// checks, as a database of before 0013 holds them, and runs the same
// function the migration ran.
test('names_stored_before_0013_are_normalised_where_safe_and_look_alikes_kept', async () => {
  const admin = world.tokens.admin;
  const parent = await ctx.api.post('/v1/org-units', { token: admin, body: { name: unique('旧名支部'), level: 'branch', parent_id: world.units.root } });
  assert.equal(parent.status, 201, JSON.stringify(parent.body));
  const P = parent.body.id;
  assert.equal((await ctx.api.post('/v1/org-units', { token: admin, body: { name: '甲小组', level: 'group', parent_id: P } })).status, 201);
  const old = await ctx.cluster.psql(`BEGIN;
    ALTER TABLE org_units DROP CONSTRAINT org_units_name_normal;
    ALTER TABLE portfolios DROP CONSTRAINT portfolios_name_normal;
    ALTER TABLE categories DROP CONSTRAINT categories_name_normal;
    ALTER TABLE accounts DROP CONSTRAINT accounts_display_name_normal;
    INSERT INTO org_units (parent_id, name, level) VALUES (${P}, '乙小组　', 'group'), (${P}, '　甲小组', 'group');
    INSERT INTO portfolios (unit_id, name) VALUES (${P}, '纪​检'), (${P}, '宣传；组织');
    INSERT INTO categories (unit_id, name, portfolio) VALUES (${P}, '学习　　教育', '纪​检');
    UPDATE accounts SET display_name = '　名字memA ' WHERE id = ${world.ids.memA};
    ALTER TABLE org_units ADD CONSTRAINT org_units_name_normal CHECK (name_is_normal(name)) NOT VALID;
    ALTER TABLE portfolios ADD CONSTRAINT portfolios_name_normal CHECK (name_is_normal(name) AND position(';' IN name) = 0) NOT VALID;
    ALTER TABLE categories ADD CONSTRAINT categories_name_normal CHECK (name_is_normal(name) AND name_is_normal(portfolio)) NOT VALID;
    ALTER TABLE accounts ADD CONSTRAINT accounts_display_name_normal CHECK (name_is_normal(display_name)) NOT VALID;
    COMMIT;
    SELECT max(id) FROM name_normalisations;`);
  const since = Number(old.trim().split('\n').pop()) || 0;
  await ctx.cluster.psql('SELECT normalise_old_names()');
  const rows = (await ctx.cluster.psql(`SELECT object_type || '|' || before || '|' || after || '|' || outcome FROM name_normalisations WHERE id > ${since} ORDER BY id`)).trim().split('\n');
  assert.deepEqual(rows, [
    'unit|乙小组　|乙小组|renamed',
    'unit|　甲小组|甲小组|kept: look-alike',
    'portfolio|纪​检|纪检|renamed',
    'portfolio|宣传；组织|宣传;组织|kept: separator',
    'category|学习　　教育|学习 教育|renamed',
    'category.portfolio|纪​检|纪检|renamed',
    'account|　名字memA |名字memA|renamed',
  ]);
  assert.equal(await ctx.cluster.psql(`SELECT string_agg(name, ',' ORDER BY id) FROM org_units WHERE parent_id = ${P}`), '甲小组,乙小组,　甲小组', 'the look-alike is kept, not merged');
  assert.equal(await ctx.cluster.psql(`SELECT portfolio FROM categories WHERE unit_id = ${P}`), '纪检', 'the category follows its portfolio');
  // The SQL twin of util/text.c on the cases its unit test uses.
  assert.equal(await ctx.cluster.psql(`SELECT name_normalized(E'\u3000\uff21\uff11 \u00a0b\u200b\uff1b\uff0f\u3000')`), 'A1 b;/');
  await ctx.cluster.psql('SELECT normalise_old_names()');
  assert.equal(await ctx.cluster.psql(`SELECT count(*) FROM name_normalisations WHERE outcome = 'renamed' AND id > ${since}`), '5', 'a second run renames nothing more');
});

// Taking a member out (issue 25): the open suggestions they were assigned
// through their role in the unit are routed again, the preview (the same
// work, rolled back) says where each goes and writes nothing.
test('taking_a_member_out_routes_their_open_suggestions_again_after_a_preview_that_writes_nothing', async () => {
  const admin = world.tokens.admin;
  const port = unique('调出分工');
  assert.equal((await req('POST', `/v1/org-units/${world.units.A}/portfolios`, admin, { name: port })).status, 201);
  const cat = await req('POST', `/v1/org-units/${world.units.A}/categories`, admin, { name: unique('调出类'), portfolio: port });
  assert.equal(cat.status, 201, JSON.stringify(cat.body));
  const x = await ctx.api.post('/v1/accounts', { token: admin, body: { login: unique('leavingCom'), display_name: '将调出的支委', unit_id: world.units.A, roles: ['member', 'committee'] } });
  assert.equal(x.status, 201, JSON.stringify(x.body));
  const xid = x.body.account.id;
  assert.equal((await req('PUT', `/v1/org-units/${world.units.A}/members/${xid}`, admin, { roles: ['member', 'committee'], portfolios: [port] })).status, 200);
  const ids = [];
  for (const title of ['调出前的意见一', '调出前的意见二']) {
    const s = await req('POST', '/v1/suggestions', world.tokens.authorA, { unit_id: world.units.A, category_id: cat.body.id, title, body: '内容' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    ids.push(s.body.id);
  }
  const assignees = () => ctx.cluster.psql(`select string_agg(coalesce(assignee_id::text, '-'), ',' order by id) from suggestions where public_id in ('${ids.join("','")}')`);
  assert.equal((await assignees()).trim(), `${xid},${xid}`, 'both went to the committee member holding the portfolio');
  const audits = () => count('select count(*) from audit_log');

  const path = `/v1/org-units/${world.units.A}/members/${xid}`;
  const before = await audits();
  const preview = await req('GET', `${path}/removal`, world.tokens.secA);
  assert.equal(preview.status, 200, JSON.stringify(preview.body));
  assert.equal(preview.body.done, false);
  assert.deepEqual(preview.body.roles, ['committee', 'member']);
  assert.deepEqual(preview.body.portfolios, [port]);
  assert.deepEqual(preview.body.reassigned.map((r) => r.suggestion_id), ids);
  for (const r of preview.body.reassigned) {
    assert.ok(r.assignee_id && r.assignee_id !== xid, 'someone else gets it');
    assert.equal(typeof r.assignee_name, 'string');
  }
  assert.equal(await audits(), before, 'the preview writes no audit row');
  assert.equal((await assignees()).trim(), `${xid},${xid}`, 'the preview moves nothing');
  assert.equal(await count(`select count(*) from memberships where account_id = ${xid} and unit_id = ${world.units.A}`), 2);

  const done = await req('DELETE', path, world.tokens.secA);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.done, true);
  assert.deepEqual({ ...done.body, done: false }, preview.body, 'the removal did what the preview said');
  assert.equal((await assignees()).trim(), preview.body.reassigned.map((r) => r.assignee_id).join(','));
  assert.equal(await count(`select count(*) from memberships where account_id = ${xid} and unit_id = ${world.units.A}`), 0);
  assert.equal(await count(`select count(*) from committee_portfolios where account_id = ${xid}`), 0);
  assert.equal(await count(`select count(*) from audit_log where action = 'suggestion.assign' and object_id in ('${ids.join("','")}') and actor_id = ${world.ids.secA}`), 2);
  const members = await req('GET', `/v1/org-units/${world.units.A}/members?limit=500`, world.tokens.secA);
  assert.ok(!members.body.members.some((m) => m.account_id === xid), 'no longer listed');

  const again = await ctx.api.request('DELETE', path, { token: world.tokens.secA, headers: { 'Accept-Language': 'zh-CN' } });
  assert.equal(again.status, 404);
  assert.equal(again.body.detail, '这个账号在本单位没有任何角色');
  assert.equal((await req('GET', `/v1/org-units/${world.units.A}/members/999999999/removal`, world.tokens.secA)).status, 404);
  assert.equal((await req('DELETE', `/v1/org-units/${world.units.A}/members/abc`, world.tokens.secA)).status, 404);
});

test('the_schema_refuses_a_cycle_even_from_sql', async () => {
  const out = await ctx.cluster.psql(`update org_units set parent_id = ${world.units.G} where id = ${world.units.A}`).catch((e) => e);
  assert.ok(out instanceof Error, 'a direct UPDATE that makes a cycle fails');
});

test('secretary_moves_only_between_units_they_manage', async () => {
  const g = await ctx.api.post('/v1/org-units', { token: world.tokens.secA, body: { name: unique('组'), level: 'group', parent_id: world.units.A } });
  assert.equal(g.status, 201);
  const toB = await req('PATCH', `/v1/org-units/${g.body.id}`, world.tokens.secA, { parent_id: world.units.B });
  assert.equal(toB.status, 403, 'secA does not manage B');
  const byRoot = await req('PATCH', `/v1/org-units/${g.body.id}`, world.tokens.secRoot, { parent_id: world.units.B });
  assert.equal(byRoot.status, 200);
  assert.equal(byRoot.body.parent_id, world.units.B);
  const audit = await ctx.cluster.psql(`select action || ' ' || actor_id from audit_log where object_type = 'unit' and object_id = '${g.body.id}' order by id`);
  assert.deepEqual(audit.trim().split('\n'), [`unit.create ${world.ids.secA}`, `unit.move ${world.ids.secRoot}`]);
});

test('duplicate_unit_name_under_one_parent_is_409', async () => {
  const r = await ctx.api.post('/v1/org-units', { token: world.tokens.admin, body: { name: '第二党支部', level: 'branch', parent_id: world.units.root } });
  assert.equal(r.status, 409);
});

test('unknown_or_malformed_unit_ids_are_404', async () => {
  for (const id of ['999999', 'abc', '0', '-1']) {
    const r = await req('GET', `/v1/org-units/${id}/portfolios`, world.tokens.admin);
    assert.equal(r.status, 404, `unit ${id}`);
  }
  const acct = await req('PUT', `/v1/org-units/${world.units.A}/members/999999`, world.tokens.admin, { roles: ['member'] });
  assert.equal(acct.status, 404);
  const code = await req('POST', '/v1/accounts/999999/activation-code', world.tokens.admin);
  assert.equal(code.status, 404);
});

// ---- members and portfolios -------------------------------------------------------

test('membership_with_portfolios_shows_in_me_and_members_list', async () => {
  const p = await ctx.api.post(`/v1/org-units/${world.units.A}/portfolios`, { token: world.tokens.secA, body: { name: '组织' } });
  assert.equal(p.status, 201);
  const set = await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.comA}`, world.tokens.secA,
    { roles: ['member', 'committee'], portfolios: ['组织'] });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.deepEqual(set.body.portfolios, ['组织']);

  const me = await req('GET', '/v1/me', world.tokens.comA);
  const m = me.body.memberships.find((x) => x.unit_id === world.units.A);
  assert.deepEqual(m.roles, ['committee', 'member']);
  assert.deepEqual(m.portfolios, ['组织']);

  const list = await req('GET', `/v1/org-units/${world.units.A}/members`, world.tokens.secA);
  const row = list.body.members.find((x) => x.account_id === world.ids.comA);
  assert.deepEqual(row.portfolios, ['组织']);
});

test('unchanged_membership_writes_no_audit_row', async () => {
  const body = { roles: ['member'] };
  await req('PUT', `/v1/org-units/${world.units.B}/members/${world.ids.memB}`, world.tokens.secB, body);
  const n = await count('select count(*) from audit_log');
  const again = await req('PUT', `/v1/org-units/${world.units.B}/members/${world.ids.memB}`, world.tokens.secB, body);
  assert.equal(again.status, 200);
  assert.equal(await count('select count(*) from audit_log'), n);
});

test('portfolio_that_the_unit_lacks_or_without_committee_role_is_422', async () => {
  const before = await count('select count(*) from committee_portfolios');
  const missing = await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.memA}`, world.tokens.secA,
    { roles: ['member', 'committee'], portfolios: ['不存在的分工'] });
  assert.equal(missing.status, 422);
  assert.equal(missing.body.errors[0].pointer, '/portfolios');
  const noCommittee = await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.memA}`, world.tokens.secA,
    { roles: ['member'], portfolios: ['组织'] });
  assert.equal(noCommittee.status, 422);
  assert.equal(await count('select count(*) from committee_portfolios'), before);
  const me = await req('GET', '/v1/me', world.tokens.memA);
  assert.deepEqual(me.body.memberships.find((x) => x.unit_id === world.units.A).roles, ['member'], 'roles unchanged');
});

test('empty_roles_remove_the_account_from_the_unit', async () => {
  const r = await ctx.api.post('/v1/accounts', { token: world.tokens.secB, body: { login: unique('leaver'), display_name: '离开', unit_id: world.units.B } });
  assert.equal(r.status, 201);
  const id = r.body.account.id;
  const gone = await req('PUT', `/v1/org-units/${world.units.B}/members/${id}`, world.tokens.secB, { roles: [] });
  assert.equal(gone.status, 200);
  assert.equal(await count(`select count(*) from memberships where account_id = ${id}`), 0);
});

test('members_list_pages_with_a_cursor', async () => {
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const q = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
    const r = await req('GET', `/v1/org-units/${world.units.A}/members${q}`, world.tokens.admin);
    assert.equal(r.status, 200);
    assert.ok(r.body.members.length <= 2);
    seen.push(...r.body.members.map((m) => m.account_id));
    cursor = r.body.next_cursor;
    if (!cursor) break;
  }
  const all = (await ctx.cluster.psql(`select distinct account_id from memberships where unit_id = ${world.units.A} order by 1`)).trim().split('\n').map(Number);
  assert.deepEqual(seen, all);
  const bad = await req('GET', `/v1/org-units/${world.units.A}/members?limit=abc`, world.tokens.admin);
  assert.equal(bad.status, 422);
});

// ---- accounts ------------------------------------------------------------------------

test('duplicate_login_in_any_case_is_409_and_stores_nothing', async () => {
  const login = unique('Dup');
  const first = await ctx.api.post('/v1/accounts', { token: world.tokens.admin, body: { login, display_name: 'x' } });
  assert.equal(first.status, 201);
  const n = await count('select count(*) from accounts');
  const audit = await count('select count(*) from audit_log');
  const second = await ctx.api.post('/v1/accounts', { token: world.tokens.admin, body: { login: login.toUpperCase(), display_name: 'y', unit_id: world.units.A } });
  assert.equal(second.status, 409);
  assert.equal(second.body.type, '/problems/conflict');
  assert.equal(await count('select count(*) from accounts'), n);
  assert.equal(await count('select count(*) from audit_log'), audit);
});

test('a_new_activation_code_replaces_the_old_one', async () => {
  const login = unique('lost');
  const r = await ctx.api.post('/v1/accounts', { token: world.tokens.secA, body: { login, display_name: '丢码', unit_id: world.units.A } });
  const fresh = await req('POST', `/v1/accounts/${r.body.account.id}/activation-code`, world.tokens.secA);
  assert.equal(fresh.status, 200);
  assert.notEqual(fresh.body.activation_code, r.body.activation_code);
  const old = await ctx.api.post('/v1/auth/activate', { body: { login, code: r.body.activation_code, password: PASSWORD } });
  assert.equal(old.status, 401);
  const now = await ctx.api.post('/v1/auth/activate', { body: { login, code: fresh.body.activation_code, password: PASSWORD } });
  assert.equal(now.status, 200);
});

test('expired_session_is_401', async () => {
  const r = await ctx.api.post('/v1/accounts', { token: world.tokens.admin, body: { login: unique('exp'), display_name: '过期' } });
  const token = await activateAndSignIn(r.body.account.login, r.body.activation_code);
  assert.equal((await req('GET', '/v1/me', token)).status, 200);
  await ctx.cluster.psql(`update sessions set expires_at = now() - interval '1 second' where account_id = ${r.body.account.id}`);
  const me = await req('GET', '/v1/me', token);
  assert.equal(me.status, 401);
  assert.equal(me.body.type, '/problems/unauthorized');
});

// ---- bad input: each endpoint, nothing stored ----------------------------------------------

const BAD = [
  ['POST', () => '/v1/org-units', [{}, { name: 5, level: 'branch' }, { name: 'x'.repeat(101), level: 'branch' },
    { name: 'a/b', level: 'branch' }, { name: '甲／乙', level: 'branch' }, { name: '\u3000\u200b', level: 'branch' }, { name: 'ok', level: 'village' },
    { name: 'ok', level: 'branch', parent_id: 'one' }, { name: 'ok', level: 'branch', parent_id: 999999 }]],
  ['PATCH', () => `/v1/org-units/${world.units.G}`, [{}, { name: '' }, { name: 7 }, { parent_id: 999999 }, { parent_id: 1.5 }]],
  ['PUT', () => `/v1/org-units/${world.units.A}/members/${world.ids.memA}`, [{}, { roles: 'member' }, { roles: ['boss'] },
    { roles: ['member', 'member'] }, { roles: [1] }, { roles: ['member'], portfolios: 'x' }]],
  ['POST', () => `/v1/org-units/${world.units.A}/portfolios`, [{}, { name: '' }, { name: 'x'.repeat(51) }, { name: ['a'] },
    { name: '宣传；组织' }, { name: '\u3000' }]],
  ['POST', () => '/v1/accounts', [{}, { login: 'a' }, { login: 'x'.repeat(65), display_name: 'n' }, { login: ' pad', display_name: 'n' },
    { login: 'ok-login', display_name: 'n'.repeat(101) }, { login: 'ok-login', display_name: 'n', roles: ['member'] },
    { login: 'ok-login', display_name: 'n', unit_id: 999999 }, { login: 'ok-login', display_name: 'n', is_admin: 'yes' }]],
];

test('bad_input_to_each_endpoint_is_422_and_stores_nothing', async () => {
  const tables = ['org_units', 'accounts', 'memberships', 'portfolios', 'committee_portfolios', 'audit_log'];
  const snapshot = async () => Promise.all(tables.map((t) => count(`select count(*) from ${t}`)));
  const before = await snapshot();
  for (const [method, path, bodies] of BAD) {
    for (const body of bodies) {
      const r = await req(method, path(), world.tokens.admin, body);
      assert.equal(r.status, 422, `${method} ${path()} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.type, '/problems/validation-failed');
      assert.ok(r.body.errors.length >= 1);
    }
  }
  assert.deepEqual(await snapshot(), before);
});

// ---- one spelling for what looks the same -------------------------------------------

test('a_name_with_full_width_spaces_is_stored_normalised_and_makes_no_look_alike', async () => {
  const admin = world.tokens.admin;
  const name = unique('第三党支部');
  const made = await req('POST', '/v1/org-units', admin, { name: `\u3000${name}\u200b\u3000`, level: 'branch', parent_id: world.units.root });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.name, name);
  const again = await req('POST', '/v1/org-units', admin, { name: `${name}\u3000`, level: 'branch', parent_id: world.units.root });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(await count(`select count(*) from org_units where name like '%${name}%'`), 1);

  const port = unique('宣传');
  const p1 = await req('POST', `/v1/org-units/${made.body.id}/portfolios`, admin, { name: `\u3000${port}` });
  assert.equal(p1.status, 201, JSON.stringify(p1.body));
  assert.equal(p1.body.name, port);
  await req('POST', `/v1/org-units/${made.body.id}/portfolios`, admin, { name: `${port}\u3000\u3000` });
  assert.equal(await count(`select count(*) from portfolios where unit_id = ${made.body.id}`), 1);

  // Every writer, not only the service: the schema refuses a look-alike.
  await assert.rejects(ctx.cluster.psql(`insert into org_units (parent_id, name, level) values (${world.units.root}, '${name}　', 'branch')`));
  await assert.rejects(ctx.cluster.psql(`insert into portfolios (unit_id, name) values (${made.body.id}, '宣传;组织')`));
});

// ---- the roster over the API ----------------------------------------------------------

test('a_secretary_previews_a_roster_with_bom_crlf_and_full_width_spaces_then_imports_it', async () => {
  const sec = world.tokens.secA;
  const a = unique('r'), b = unique('r'), c = unique('r');
  const g = (await ctx.cluster.psql(`select name from org_units where id = ${world.units.G}`)).trim(); // renamed by the matrix
  const lines = [
    'login,display_name,unit_path,role,portfolios',
    `${a},\u3000张三\u3000,第一党支部\u3000／\u3000${g},member,`,
    `${b},李四,\u3000第一党支部,committee,宣传；组织`,
    `${c},王五,第一党支部/新党小组,leader,`, // line 4: no such role
    `${c},王五,第二党支部,member,`, // line 5: not below A
  ];
  const bad = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.join('\r\n') + '\r\n')]);
  const tables = ['org_units', 'accounts', 'memberships', 'portfolios', 'committee_portfolios', 'audit_log'];
  const snapshot = async () => Promise.all(tables.map((t) => count(`select count(*) from ${t}`)));
  const before = await snapshot();
  const children = () => count(`select count(*) from org_units where parent_id = ${world.units.A}`);
  const childrenBefore = await children();

  const p1 = await csv(sec, 'roster/preview', bad);
  assert.equal(p1.status, 200, JSON.stringify(p1.body));
  assert.equal(p1.body.valid, false);
  assert.deepEqual(p1.body.errors.map((e) => e.line), [4]);
  assert.match(p1.body.errors[0].message, /角色“leader”不是/);
  const i1 = await csv(sec, 'roster', bad);
  assert.equal(i1.status, 422);
  assert.match(i1.body.errors[0].detail, /^第 4 行：角色“leader”/);

  // Line 4 fixed: now only the unit outside A is wrong.
  const second = bad.toString('utf8').replace(',leader,', ',member,');
  const p2 = await csv(sec, 'roster/preview', second);
  assert.equal(p2.body.valid, false);
  assert.deepEqual(p2.body.errors.map((e) => e.line), [5]);
  assert.match(p2.body.errors[0].message, /单位路径须以本单位“第一党支部”开头/);
  assert.deepEqual(await snapshot(), before, 'nothing written by previews or refused imports');

  const good = second.replace(/\r\n[^\r]*第二党支部[^\r]*/, '');
  const p3 = await csv(sec, 'roster/preview', good);
  assert.equal(p3.body.valid, true, JSON.stringify(p3.body));
  assert.equal(p3.body.rows, 3);
  assert.deepEqual(p3.body.units_new.map((u) => u.path), ['第一党支部/新党小组'], 'no look-alike of G');
  assert.deepEqual(p3.body.accounts_new.map((x) => x.display_name).sort(), ['张三', '李四', '王五'].sort());
  assert.deepEqual(await snapshot(), before, 'a preview writes nothing');

  const done = await csv(sec, 'roster', good);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.accounts_created, 3);
  assert.equal(done.body.units_created, 1);
  assert.equal(done.body.created.length, 3);
  const li = done.body.created.find((x) => x.login === b);
  assert.equal(li.display_name, '李四');
  assert.equal(await children(), childrenBefore + 1, '新党小组, and no look-alike of G');
  assert.equal(await ctx.cluster.psql(`select string_agg(p.name, ',' order by p.name) from committee_portfolios cp join portfolios p on p.id = cp.portfolio_id
      join accounts ac on ac.id = cp.account_id where ac.login = '${b}'`), '宣传,组织');
  // Audited as the secretary, not the system.
  assert.equal(await count(`select count(*) from audit_log where action = 'account.create' and actor_id = ${world.ids.secA}
      and object_id in (select id::text from accounts where login in ('${a}', '${b}', '${c}'))`), 3);
  // The codes work.
  await activateAndSignIn(a, done.body.created.find((x) => x.login === a).activation_code);
});

test('the_roster_endpoints_refuse_a_body_that_is_not_csv_and_an_empty_file', async () => {
  const r = await ctx.api.request('POST', `/v1/org-units/${world.units.A}/roster/preview`, { token: world.tokens.secA, body: { csv: 'x' } });
  assert.equal(r.status, 415);
  const empty = await csv(world.tokens.secA, 'roster', '');
  assert.equal(empty.status, 422);
  assert.match(empty.body.errors[0].detail, /文件是空的/);
  const gbk = await csv(world.tokens.secA, 'roster/preview', Buffer.concat([Buffer.from('login,display_name,unit_path,role,portfolios\nx,'), Buffer.from([0xcd, 0xf5]), Buffer.from(',第一党支部,member,\n')]));
  assert.equal(gbk.status, 200);
  assert.equal(gbk.body.valid, false);
  assert.match(gbk.body.errors[0].message, /UTF-8/);
});

// ---- limits an insider cannot push past (issue 22, finding 5) ----------------------

test('the_tree_stops_at_unit_max_depth_for_new_and_moved_units', async () => {
  // root → A → G is 3 levels; UNIT_MAX_DEPTH is 10 by default.
  let parent = world.units.G;
  for (let level = 4; level <= 10; level++) {
    const r = await req('POST', '/v1/org-units', world.tokens.secA, { name: unique('层'), level: 'group', parent_id: parent });
    assert.equal(r.status, 201, `level ${level}: ${JSON.stringify(r.body)}`);
    parent = r.body.id;
  }
  const units = await count('select count(*) from org_units');
  const deeper = await req('POST', '/v1/org-units', world.tokens.secA, { name: unique('层'), level: 'group', parent_id: parent });
  assert.equal(deeper.status, 422, JSON.stringify(deeper.body));
  assert.deepEqual(deeper.body.errors.map((e) => e.pointer), ['/parent_id']);
  assert.match(deeper.body.errors[0].detail, /11 levels.*UNIT_MAX_DEPTH allows 10/);
  // A unit with a child of its own, moved under the deepest: 12 levels.
  const top = await req('POST', '/v1/org-units', world.tokens.secA, { name: unique('可移'), level: 'group', parent_id: world.units.A });
  await req('POST', '/v1/org-units', world.tokens.secA, { name: unique('子'), level: 'group', parent_id: top.body.id });
  const moved = await req('PATCH', `/v1/org-units/${top.body.id}`, world.tokens.secA, { parent_id: parent });
  assert.equal(moved.status, 422, JSON.stringify(moved.body));
  assert.match(moved.body.errors[0].detail, /12 levels/);
  assert.equal(await count('select count(*) from org_units'), units + 2, 'nothing but the two shallow units was made');
  assert.equal(await count(`select count(*) from org_units where id = ${top.body.id} and parent_id = ${world.units.A}`), 1, 'not moved');
});

test('a_secretary_creates_at_most_units_per_day_units_in_24_hours', async (t) => {
  const svc = await startService(ctx.cluster, { UNITS_PER_DAY: '3' });
  t.after(() => svc.stop());
  const other = api(svc.url);
  const mk = (token) => other.post('/v1/org-units', { token, body: { name: unique('限'), level: 'group', parent_id: world.units.B } });
  await newAccount(world.tokens.admin, 'secLimit', world.units.B, ['member', 'secretary']);
  for (let i = 0; i < 3; i++) assert.equal((await mk(world.tokens.secLimit)).status, 201);
  const before = await count('select count(*) from org_units');
  const r = await mk(world.tokens.secLimit);
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.type, '/problems/too-many-attempts');
  assert.match(r.body.detail, /3 units .* UNITS_PER_DAY allows 3/);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.equal(await count('select count(*) from org_units'), before);
  // Concurrent creations cannot slip past it together; an admin is not limited.
  await newAccount(world.tokens.admin, 'secLimit2', world.units.B, ['member', 'secretary']);
  const all = await Promise.all(Array.from({ length: 6 }, () => mk(world.tokens.secLimit2)));
  assert.equal(all.filter((x) => x.status === 201).length, 3, all.map((x) => x.status).join(' '));
  assert.equal((await mk(world.tokens.admin)).status, 201);
});

// ---- retiring (issue 25) -------------------------------------------------------------

test('a_retired_category_keeps_its_suggestions_and_takes_no_new_one', async () => {
  const admin = world.tokens.admin;
  const c = await req('POST', `/v1/org-units/${world.units.A}/categories`, admin, { name: unique('误建类'), portfolio: '组织' });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  assert.equal(c.body.retired_at, null);
  const s = await req('POST', '/v1/suggestions', world.tokens.authorA, { unit_id: world.units.A, category_id: c.body.id, title: unique('旧意见'), body: '内容' });
  assert.equal(s.status, 201, JSON.stringify(s.body));

  const r = await req('PUT', `/v1/org-units/${world.units.A}/categories/${c.body.id}/retired`, world.tokens.secA, { retired: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.id, c.body.id);
  assert.match(r.body.retired_at, /^\d{4}-\d\d-\d\dT/);
  // Again: the same answer, and one audit row only.
  const again = await req('PUT', `/v1/org-units/${world.units.A}/categories/${c.body.id}/retired`, world.tokens.secA, { retired: true });
  assert.equal(again.body.retired_at, r.body.retired_at);
  assert.equal(await count(`select count(*) from audit_log where action = 'category.retire' and object_id = '${c.body.id}'`), 1);

  // Listed with its date, so the console can show it; refused for a new suggestion, in Chinese.
  const list = await req('GET', `/v1/org-units/${world.units.A}/categories`, world.tokens.memA);
  assert.equal(list.body.categories.find((x) => x.id === c.body.id).retired_at, r.body.retired_at);
  const refused = await ctx.api.request('POST', '/v1/suggestions', { token: world.tokens.authorA, headers: { 'Accept-Language': 'zh-CN' },
    body: { unit_id: world.units.A, category_id: c.body.id, title: unique('新意见'), body: '内容' } });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.errors[0].pointer, '/category_id');
  assert.match(refused.body.errors[0].detail, /已停用/);
  // Its suggestion still shows it.
  const old = await req('GET', `/v1/suggestions/${s.body.id}`, world.tokens.authorA);
  assert.equal(old.status, 200);
  assert.equal(await count(`select count(*) from suggestions where category_id = ${c.body.id}`), 1);
  // The schema refuses it from SQL too.
  const sql = await ctx.cluster.psql(`insert into suggestions (public_id, unit_id, category_id, title, body, author_id, anonymous, ack_due, answer_due, grace_days)
    select 'S-ZZZZZ9', unit_id, category_id, 'x', 'y', author_id, anonymous, ack_due, answer_due, grace_days from suggestions where category_id = ${c.body.id}`).catch((e) => e);
  assert.ok(sql instanceof Error && /retired/.test(sql.message), String(sql));

  // Brought back, it takes suggestions again.
  const back = await req('PUT', `/v1/org-units/${world.units.A}/categories/${c.body.id}/retired`, world.tokens.secA, { retired: false });
  assert.equal(back.body.retired_at, null);
  const ok = await req('POST', '/v1/suggestions', world.tokens.authorA, { unit_id: world.units.A, category_id: c.body.id, title: unique('再提'), body: '内容' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(await count(`select count(*) from audit_log where action = 'category.restore' and object_id = '${c.body.id}'`), 1);
});

test('a_unit_is_retired_after_its_sub_units_and_then_takes_no_member_sub_unit_or_suggestion', async () => {
  const admin = world.tokens.admin;
  const mk = async (name, level, parent_id) => (await req('POST', '/v1/org-units', admin, { name, level, parent_id })).body.id;
  const branch = await mk(unique('误建支部'), 'branch', world.units.root);
  const group = await mk(unique('误建小组'), 'group', branch);
  const cat = (await req('POST', `/v1/org-units/${branch}/categories`, admin, { name: unique('类'), portfolio: '组织' })).body.id;
  const member = world.ids.memB;
  assert.equal((await req('PUT', `/v1/org-units/${branch}/members/${member}`, admin, { roles: ['member'] })).status, 200);
  const s = await req('POST', '/v1/suggestions', world.tokens.memB, { unit_id: branch, category_id: cat, title: unique('误建支部的意见'), body: '内容' });
  assert.equal(s.status, 201, JSON.stringify(s.body));

  const early = await ctx.api.request('PUT', `/v1/org-units/${branch}/retired`, { token: world.tokens.secRoot, headers: { 'Accept-Language': 'zh-CN' }, body: { retired: true } });
  assert.equal(early.status, 409, 'a sub-unit is in use');
  assert.match(early.body.detail, /下级单位/);
  assert.equal((await req('PUT', `/v1/org-units/${group}/retired`, world.tokens.secRoot, { retired: true })).status, 200);
  const r = await req('PUT', `/v1/org-units/${branch}/retired`, world.tokens.secRoot, { retired: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  // The tree still shows it, with its date.
  const tree = await req('GET', '/v1/org-units', world.tokens.memA);
  const node = tree.body.units.find((u) => u.id === world.units.root).children.find((u) => u.id === branch);
  assert.equal(node.retired_at, r.body.retired_at);
  // Nothing new: a suggestion, a member, a sub-unit, a category, a portfolio.
  const sug = await req('POST', '/v1/suggestions', world.tokens.memB, { unit_id: branch, category_id: cat, title: unique('又一条'), body: '内容' });
  assert.equal(sug.status, 422);
  assert.equal(sug.body.errors[0].pointer, '/unit_id');
  assert.equal((await req('PUT', `/v1/org-units/${branch}/members/${world.ids.memA}`, admin, { roles: ['member'] })).status, 409);
  assert.equal((await req('POST', '/v1/org-units', admin, { name: unique('新小组'), level: 'group', parent_id: branch })).status, 409);
  assert.equal((await req('POST', `/v1/org-units/${branch}/categories`, admin, { name: unique('新类'), portfolio: '组织' })).status, 409);
  assert.equal((await req('POST', `/v1/org-units/${branch}/portfolios`, admin, { name: unique('新分工') })).status, 409);
  // Its history stays: the member, the suggestion.
  assert.equal(await count(`select count(*) from memberships where unit_id = ${branch} and account_id = ${member}`), 1);
  assert.equal((await req('GET', `/v1/suggestions/${s.body.id}`, world.tokens.memB)).status, 200);
  // The sub-unit cannot come back under a retired unit; the unit first, then it.
  assert.equal((await req('PUT', `/v1/org-units/${group}/retired`, world.tokens.secRoot, { retired: false })).status, 409);
  assert.equal((await req('PUT', `/v1/org-units/${branch}/retired`, world.tokens.secRoot, { retired: false })).status, 200);
  assert.equal((await req('PUT', `/v1/org-units/${group}/retired`, world.tokens.secRoot, { retired: false })).status, 200);
  assert.equal(await count(`select count(*) from audit_log where action in ('unit.retire', 'unit.restore') and object_id in ('${branch}', '${group}')`), 4);
});

test('a_retired_portfolio_is_given_to_nobody_new_and_bad_retire_requests_get_their_problem', async () => {
  const admin = world.tokens.admin;
  const p = await req('POST', `/v1/org-units/${world.units.A}/portfolios`, admin, { name: unique('误建分工') });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  assert.equal(p.body.retired_at, null);
  const r = await req('PUT', `/v1/org-units/${world.units.A}/portfolios/${p.body.id}/retired`, world.tokens.secA, { retired: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const list = await req('GET', `/v1/org-units/${world.units.A}/portfolios`, world.tokens.comA);
  assert.ok(list.body.portfolios.find((x) => x.id === p.body.id).retired_at);
  const give = await req('PUT', `/v1/org-units/${world.units.A}/members/${world.ids.comA}`, admin, { roles: ['member', 'committee'], portfolios: [p.body.name] });
  assert.equal(give.status, 422, JSON.stringify(give.body));
  assert.equal(await count(`select count(*) from committee_portfolios where portfolio_id = ${p.body.id}`), 0);
  const sql = await ctx.cluster.psql(`insert into committee_portfolios (account_id, portfolio_id) values (${world.ids.comA}, ${p.body.id})`).catch((e) => e);
  assert.ok(sql instanceof Error, 'the schema refuses it too');

  // Bad input: each its own problem, nothing changed.
  const path = `/v1/org-units/${world.units.A}/portfolios/${p.body.id}/retired`;
  for (const body of [{}, { retired: 'yes' }, { retired: null }, []]) {
    const b = await req('PUT', path, admin, body);
    assert.equal(b.status, 422, JSON.stringify(body));
    assert.equal(b.body.type, '/problems/validation-failed');
  }
  const malformed = await ctx.api.request('PUT', path, { token: admin, raw: '{"retired": tru', headers: { 'Content-Type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.equal((await req('PUT', `/v1/org-units/${world.units.B}/portfolios/${p.body.id}/retired`, admin, { retired: false })).status, 404, "another unit's portfolio");
  assert.equal((await req('PUT', `/v1/org-units/${world.units.A}/portfolios/999999999/retired`, admin, { retired: false })).status, 404);
  assert.equal((await req('PUT', `/v1/org-units/${world.units.A}/categories/999999999/retired`, admin, { retired: false })).status, 404);
  assert.equal((await req('PUT', '/v1/org-units/999999999/retired', admin, { retired: false })).status, 404);
  assert.ok((await req('GET', `/v1/org-units/${world.units.A}/portfolios`, admin)).body.portfolios.find((x) => x.id === p.body.id).retired_at, 'still retired');
});
