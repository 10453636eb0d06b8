// Accounts from the outside: create-admin, activation, sign-in, sessions,
// sign-out and the back-off after failed attempts.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { stable, useService } from './lib/fixture.mjs';
import { runCli } from './lib/service.mjs';

const ctx = useService();

// Besides the back-off per login, the service throttles failed sign-ins per
// client address (20 an hour). Every request here comes from 127.0.0.1, so
// the address count is cleared before each test; only the test of the
// address throttle itself lets it build up.
const clearAddressThrottle = () => ctx.cluster.psql("delete from login_throttle where key like 'addr:%' or key like 'activate-addr:%'");
beforeEach(clearAddressThrottle);
const PASSWORD = 'correct horse battery staple';
const secrets = new Set([PASSWORD]); // must never appear in the logs

let seq = 0;
const newLogin = (what) => `${what.replaceAll('_', '-')}-${process.pid}-${++seq}`;

/** `yijian create-admin LOGIN NAME`; returns the activation code it prints. */
async function createAdmin(login, name = `Name of ${login}`) {
  const r = await runCli(ctx.cluster, ['create-admin', login, name]);
  assert.equal(r.code, 0, `create-admin: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `create-admin prints one line, got ${JSON.stringify(r.stdout)}`);
  const code = lines[0].trim();
  assert.match(code, /^\S{6,}$/);
  secrets.add(code);
  return code;
}

const activate = (login, code, password = PASSWORD) => ctx.api.post('/v1/auth/activate', { body: { login, code, password } });
const login = (l, password = PASSWORD) => ctx.api.post('/v1/auth/login', { body: { login: l, password } });

/** A new, activated admin account; returns its login. */
async function activeAccount(what) {
  const l = newLogin(what);
  const r = await activate(l, await createAdmin(l));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return l;
}

async function signIn(l) {
  const r = await login(l);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  secrets.add(r.body.token);
  return r.body.token;
}

// ---- activation ---------------------------------------------------------------

test('create_admin_prints_an_activation_code', async () => {
  const a = await createAdmin(newLogin('code-a'));
  const b = await createAdmin(newLogin('code-b'));
  assert.notEqual(a, b);
});

test('activate_with_the_code_returns_the_account', async () => {
  const l = newLogin('activate');
  const code = await createAdmin(l, 'Wang Fang 王芳');
  const r = await activate(l, code);
  assert.equal(r.status, 200);
  assert.equal(r.body.account.login, l);
  assert.equal(r.body.account.display_name, 'Wang Fang 王芳');
  assert.equal(r.body.account.is_admin, true);
  assert.ok(Number.isInteger(r.body.account.id));
});

test('activation_code_cannot_be_used_twice', async () => {
  const l = newLogin('reuse');
  const code = await createAdmin(l);
  assert.equal((await activate(l, code)).status, 200);
  secrets.add('another password 123');
  const again = await activate(l, code, 'another password 123');
  assert.equal(again.status, 401);
  assert.equal(again.body.type, '/problems/activation-failed');
  // The first password still holds.
  assert.equal((await login(l)).status, 200);
  assert.equal((await login(l, 'another password 123')).status, 401);
});

test('activation_failures_are_indistinguishable', async () => {
  const spent = newLogin('spent');
  const spentCode = await createAdmin(spent);
  await activate(spent, spentCode);
  const fresh = newLogin('fresh');
  const freshCode = await createAdmin(fresh);

  const answers = [
    await activate(spent, spentCode), // spent code
    await activate(fresh, `${freshCode}x`), // wrong code
    await activate(fresh, spentCode), // another account's code
    await activate(newLogin('nobody'), freshCode), // unknown login
  ];
  for (const a of answers) {
    assert.equal(a.status, 401);
    assert.equal(a.body.type, '/problems/activation-failed');
  }
  const bodies = new Set(answers.map((a) => JSON.stringify(stable(a.body))));
  assert.equal(bodies.size, 1, [...bodies].join('\n'));
  // None of those spent the fresh code.
  assert.equal((await activate(fresh, freshCode)).status, 200);
});

test('activate_with_a_short_password_is_422_and_keeps_the_code', async () => {
  const l = newLogin('short');
  const code = await createAdmin(l);
  const r = await activate(l, code, '123456789');
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.errors.map((e) => e.pointer), ['/password']);
  const long = await activate(l, code, 'x'.repeat(1025));
  assert.equal(long.status, 422);
  assert.deepEqual(long.body.errors.map((e) => e.pointer), ['/password']);
  assert.equal((await activate(l, code, '1234567890')).status, 200);
});

test('password_length_counts_characters_not_bytes', async () => {
  const l = newLogin('cjk');
  const code = await createAdmin(l);
  // 9 characters, 27 bytes of UTF-8: too short.
  assert.equal((await activate(l, code, '密码密码密码密码密')).status, 422);
  const ten = '密码密码密码密码密码';
  secrets.add(ten);
  assert.equal((await activate(l, code, ten)).status, 200);
  assert.equal((await login(l, ten)).status, 200);
});

test('activate_with_missing_fields_is_422', async () => {
  const r = await ctx.api.post('/v1/auth/activate', { body: { login: 'x' } });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.errors.map((e) => e.pointer).sort(), ['/code', '/password']);
});

test('expired_activation_code_is_401', async () => {
  const l = newLogin('expired');
  const code = await createAdmin(l);
  await ctx.cluster.psql(
    `update activation_codes set expires_at = now() - interval '1 minute'
      where account_id = (select id from accounts where login = '${l}')`,
  );
  const r = await activate(l, code);
  assert.equal(r.status, 401);
  assert.equal(r.body.type, '/problems/activation-failed');
});

// ---- sign-in ---------------------------------------------------------------------

test('login_returns_a_token_and_the_account', async () => {
  const l = await activeAccount('login');
  const r = await login(l);
  assert.equal(r.status, 200);
  secrets.add(r.body.token);
  assert.equal(r.body.account.login, l);
  assert.ok(Date.parse(r.body.expires_at) > Date.now(), 'expires in the future');
  const again = await login(l);
  secrets.add(again.body.token);
  assert.notEqual(again.body.token, r.body.token, 'each sign-in gets its own token');
});

test('login_before_activation_is_401', async () => {
  const l = newLogin('inactive');
  await createAdmin(l);
  const r = await login(l, 'some password 123');
  assert.equal(r.status, 401);
  assert.equal(r.body.type, '/problems/invalid-credentials');
});

test('wrong_password_and_unknown_login_answer_identically', async () => {
  const l = await activeAccount('identical');
  const wrong = await login(l, 'not the password');
  const unknown = await login(newLogin('ghost'), 'not the password');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.equal(wrong.body.type, '/problems/invalid-credentials');
  assert.deepEqual(stable(wrong.body), stable(unknown.body));
  assert.equal(wrong.headers.get('content-type'), unknown.headers.get('content-type'));
});

// ---- sessions ----------------------------------------------------------------------

test('me_with_a_token_returns_the_account_and_memberships', async () => {
  const l = await activeAccount('me');
  const token = await signIn(l);
  const r = await ctx.api.get('/v1/me', { token });
  assert.equal(r.status, 200);
  assert.equal(r.body.login, l);
  assert.equal(r.body.is_admin, true);
  assert.ok(Array.isArray(r.body.memberships));
});

test('me_without_a_valid_token_is_401_unauthorized', async () => {
  const variants = [
    {},
    { headers: { Authorization: 'Bearer' } },
    { headers: { Authorization: `Bearer ${'A'.repeat(43)}` } },
    { headers: { Authorization: 'Basic YWRtaW46YWRtaW4=' } },
    { headers: { Authorization: 'Bearer not a token at all' } },
  ];
  for (const v of variants) {
    const r = await ctx.api.get('/v1/me', v);
    assert.equal(r.status, 401, JSON.stringify(v));
    assert.equal(r.body.type, '/problems/unauthorized');
    assert.match(r.headers.get('www-authenticate'), /^Bearer/);
  }
});

test('logout_revokes_the_token', async () => {
  const l = await activeAccount('logout');
  const token = await signIn(l);
  const other = await signIn(l);
  assert.equal((await ctx.api.get('/v1/me', { token })).status, 200);
  const r = await ctx.api.post('/v1/auth/logout', { token });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assert.equal((await ctx.api.get('/v1/me', { token })).status, 401);
  assert.equal((await ctx.api.post('/v1/auth/logout', { token })).status, 401);
  // Only that session ends.
  assert.equal((await ctx.api.get('/v1/me', { token: other })).status, 200);
});

test('logout_without_a_token_is_401', async () => {
  const r = await ctx.api.post('/v1/auth/logout');
  assert.equal(r.status, 401);
  assert.equal(r.body.type, '/problems/unauthorized');
});

// ---- back-off ------------------------------------------------------------------------

test('five_failed_logins_then_429_with_retry_after', async () => {
  const l = await activeAccount('backoff');
  for (let i = 1; i <= 5; i++) {
    const r = await login(l, `wrong password ${i}`);
    assert.equal(r.status, 401, `attempt ${i}`);
  }
  const blocked = await login(l, 'wrong password 6');
  assert.equal(blocked.status, 429);
  assert.equal(blocked.body.type, '/problems/too-many-attempts');
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  // Even the right password waits: otherwise the back-off would not slow guessing.
  const right = await login(l);
  assert.equal(right.status, 429);
  // Another login is not affected.
  const other = await activeAccount('backoff-other');
  assert.equal((await login(other)).status, 200);
});

test('five_wrong_activation_codes_then_429_for_wrong_ones_but_not_the_right_one', async () => {
  const l = newLogin('act-backoff');
  const code = await createAdmin(l);
  for (let i = 1; i <= 5; i++) {
    const r = await activate(l, i % 2 ? 'AAAA-BBBB-CCCC' : 'not a code');
    assert.equal(r.status, 401, `attempt ${i}`);
    assert.equal(r.body.type, '/problems/activation-failed');
  }
  const blocked = await activate(l, 'AAAA-BBBB-DDDD');
  assert.equal(blocked.status, 429);
  assert.equal(blocked.body.type, '/problems/too-many-attempts');
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  // Sign-in is another door: its count is untouched.
  const other = newLogin('act-backoff-other');
  assert.equal((await activate(other, await createAdmin(other))).status, 200);
  assert.equal((await login(other)).status, 200);
  // Anybody can lock a login with wrong codes; the holder of the right
  // code is not kept out by that (issue 22, finding 6).
  assert.equal((await activate(l, code)).status, 200);
  assert.equal((await login(l)).status, 200);
});

test('backoff_applies_to_unknown_logins_too', async () => {
  // Otherwise a 429 would tell which logins exist.
  const ghost = newLogin('ghost');
  for (let i = 1; i <= 5; i++) assert.equal((await login(ghost, 'guess guess')).status, 401, `attempt ${i}`);
  assert.equal((await login(ghost, 'guess guess')).status, 429);
});

test('failures_from_one_address_are_throttled_across_logins', async () => {
  const l = await activeAccount('address');
  for (let i = 1; i <= 20; i++) {
    assert.equal((await login(newLogin('spray'), 'guess guess')).status, 401, `attempt ${i}`);
  }
  const blocked = await login(newLogin('spray'), 'guess guess');
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  assert.equal((await login(l)).status, 429, 'a good login from that address waits too');
});

test('successful_login_resets_the_failure_count', async () => {
  const l = await activeAccount('reset');
  for (let i = 0; i < 4; i++) assert.equal((await login(l, 'wrong password')).status, 401);
  await signIn(l);
  for (let i = 0; i < 4; i++) assert.equal((await login(l, 'wrong password')).status, 401);
  assert.equal((await login(l)).status, 200);
});

// ---- logs ------------------------------------------------------------------------------

test('logs_never_contain_passwords_tokens_or_codes', () => {
  const text = ctx.svc.logs.map((l) => l.line).join('\n');
  for (const s of secrets) assert.ok(!text.includes(s), `a secret appears in the logs: ${s.slice(0, 4)}…`);
});
