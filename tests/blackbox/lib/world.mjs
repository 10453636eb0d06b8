// Building a world through the API: an administrator, units, accounts with
// roles and portfolios, categories. Every step asserts its own success, so
// that a test that fails later fails on its own behaviour, not on set-up.
import assert from 'node:assert/strict';

import { runCli } from './service.mjs';

export const PASSWORD = 'correct horse battery staple';

/** Activates an account with its one-time code and signs in; resolves to the token. */
export async function activateAndSignIn(api, login, code) {
  const a = await api.post('/v1/auth/activate', { body: { login, code, password: PASSWORD } });
  assert.equal(a.status, 200, `activate ${login}: ${JSON.stringify(a.body)}`);
  const l = await api.post('/v1/auth/login', { body: { login, password: PASSWORD } });
  assert.equal(l.status, 200, `login ${login}: ${JSON.stringify(l.body)}`);
  return l.body.token;
}

/**
 * A world builder on a running service (ctx from useService, after
 * `await ctx.ready`). Keeps what it made in
 *   units[key] = id, ids[key] = account id, tokens[key] = bearer token,
 *   categories[key] = category id
 */
export async function worldBuilder(ctx, { adminLogin = 'world-admin' } = {}) {
  const api = ctx.api;
  const w = { units: {}, ids: {}, tokens: {}, categories: {}, logins: {} };
  const cli = await runCli(ctx.cluster, ['create-admin', adminLogin, '管理员']);
  assert.equal(cli.code, 0, cli.stderr);
  w.tokens.admin = await activateAndSignIn(api, adminLogin, cli.stdout.trim());
  const admin = () => w.tokens.admin;

  w.unit = async (key, name, level, parentKey) => {
    const r = await api.post('/v1/org-units', {
      token: admin(),
      body: { name, level, parent_id: parentKey ? w.units[parentKey] : null },
    });
    assert.equal(r.status, 201, `unit ${name}: ${JSON.stringify(r.body)}`);
    w.units[key] = r.body.id;
    return r.body.id;
  };

  w.portfolio = async (unitKey, name) => {
    const r = await api.post(`/v1/org-units/${w.units[unitKey]}/portfolios`, { token: admin(), body: { name } });
    assert.equal(r.status, 201, `portfolio ${name}: ${JSON.stringify(r.body)}`);
  };

  /** An active, signed-in account holding roles (and portfolios) in one unit. */
  w.account = async (key, displayName, unitKey, roles = ['member'], portfolios = []) => {
    const login = `${key.toLowerCase()}-${process.pid}`;
    const r = await api.post('/v1/accounts', {
      token: admin(),
      body: { login, display_name: displayName, unit_id: w.units[unitKey], roles },
    });
    assert.equal(r.status, 201, `account ${key}: ${JSON.stringify(r.body)}`);
    w.ids[key] = r.body.account.id;
    w.logins[key] = login;
    if (portfolios.length) {
      const p = await api.request('PUT', `/v1/org-units/${w.units[unitKey]}/members/${w.ids[key]}`, {
        token: admin(),
        body: { roles, portfolios },
      });
      assert.equal(p.status, 200, `portfolios of ${key}: ${JSON.stringify(p.body)}`);
      assert.deepEqual([...p.body.portfolios].sort(), [...portfolios].sort());
    }
    w.tokens[key] = await activateAndSignIn(api, login, r.body.activation_code);
    return w.ids[key];
  };

  w.category = async (key, unitKey, body) => {
    const r = await api.post(`/v1/org-units/${w.units[unitKey]}/categories`, { token: admin(), body });
    assert.equal(r.status, 201, `category ${body.name}: ${JSON.stringify(r.body)}`);
    w.categories[key] = r.body.id;
    return r.body.id;
  };

  return w;
}

/**
 * The smallest world a named suggestion can be submitted in: units root
 * (committee) and A (branch), portfolio 组织 in A, category `org` on root,
 * comA (committee, 组织) and memA (member) in A. Resolves to the builder.
 */
export async function submitterWorld(ctx, adminLogin) {
  const w = await worldBuilder(ctx, { adminLogin });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.portfolio('A', '组织');
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织' });
  await w.account('comA', '组织委员', 'A', ['member', 'committee'], ['组织']);
  await w.account('memA', '党员一', 'A');
  return w;
}
