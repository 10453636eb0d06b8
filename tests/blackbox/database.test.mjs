// The service and its database: migrations, the privileges of the roles,
// the insert-only audit log, and how the service behaves when PostgreSQL
// goes away and comes back.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startCluster } from './lib/cluster.mjs';
import { useService } from './lib/fixture.mjs';
import { runCli, waitFor } from './lib/service.mjs';

const ctx = useService();

const count = async (sql) => Number(await ctx.cluster.psql(sql));

function assertRefused(r, what, pattern = /permission denied|must be owner|not allowed|refuse|insert-only|append-only/i) {
  assert.notEqual(r.code, 0, `${what} should fail, but psql exited 0:\n${r.stdout}`);
  assert.match(r.stderr, pattern, `${what}: ${r.stderr}`);
}

// ---- migrations ---------------------------------------------------------------

test('migrations_are_recorded_in_schema_migrations', async () => {
  assert.ok((await count('select count(*) from schema_migrations')) > 0);
});

test('migration_wrote_an_audit_row', async () => {
  assert.ok((await count("select count(*) from audit_log where action = 'schema.migrate'")) > 0);
});

test('migrate_twice_is_a_noop_and_exits_0', async () => {
  const before = await ctx.cluster.psql('select version, checksum from schema_migrations order by version');
  for (let i = 0; i < 2; i++) {
    const r = await runCli(ctx.cluster, ['migrate']);
    assert.equal(r.code, 0, `migrate run ${i + 1}: ${r.stderr}`);
  }
  assert.equal(await ctx.cluster.psql('select version, checksum from schema_migrations order by version'), before);
});

test('two_migrate_processes_at_once_both_succeed', async (t) => {
  // A fresh cluster, so that both really have migrations to apply.
  const fresh = await startCluster();
  t.after(() => fresh.destroy());
  const [a, b] = await Promise.all([runCli(fresh, ['migrate']), runCli(fresh, ['migrate'])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(
    await fresh.psql('select string_agg(version::text, \',\' order by version) from schema_migrations'),
    await ctx.cluster.psql('select string_agg(version::text, \',\' order by version) from schema_migrations'),
  );
  // Each migration applied (and audited) once.
  assert.equal(
    await fresh.psql("select count(*) from audit_log where action = 'schema.migrate'"),
    await fresh.psql('select count(*) from schema_migrations'),
  );
});

// ---- roles and the audit log -------------------------------------------------

test('service_role_cannot_create_tables', async () => {
  assertRefused(await ctx.cluster.psqlAs('yijian', 'create table intruder (x int)'), 'CREATE TABLE as yijian');
  assertRefused(await ctx.cluster.psqlAs('yijian', 'create table public.intruder (x int)'), 'CREATE TABLE public.* as yijian');
});

test('service_role_cannot_update_delete_or_truncate_audit_log', async () => {
  assertRefused(await ctx.cluster.psqlAs('yijian', 'update audit_log set action = action'), 'UPDATE audit_log as yijian');
  assertRefused(await ctx.cluster.psqlAs('yijian', 'delete from audit_log'), 'DELETE audit_log as yijian');
  assertRefused(await ctx.cluster.psqlAs('yijian', 'truncate audit_log'), 'TRUNCATE audit_log as yijian');
});

test('owner_cannot_update_or_delete_audit_log', async () => {
  const n = await count('select count(*) from audit_log');
  assert.ok(n > 0, 'the audit log has rows for the trigger to refuse');
  assertRefused(await ctx.cluster.psqlAs('yijian_owner', 'update audit_log set action = action'), 'UPDATE audit_log as owner', /./);
  assertRefused(await ctx.cluster.psqlAs('yijian_owner', 'delete from audit_log'), 'DELETE audit_log as owner', /./);
  assert.equal(await count('select count(*) from audit_log'), n);
});

test('owner_cannot_truncate_audit_log', async () => {
  const n = await count('select count(*) from audit_log');
  assertRefused(await ctx.cluster.psqlAs('yijian_owner', 'truncate audit_log'), 'TRUNCATE audit_log as owner', /./);
  assert.equal(await count('select count(*) from audit_log'), n);
});

// ---- the database goes away and comes back --------------------------------------

test('database_down_gives_fast_503_and_recovers_without_restart', async () => {
  assert.equal((await ctx.api.get('/readyz')).status, 200);
  await ctx.cluster.stop();
  try {
    let t0 = Date.now();
    const ready = await ctx.api.get('/readyz');
    const elapsed = Date.now() - t0;
    assert.equal(ready.status, 503);
    assert.equal(ready.body.type, '/problems/database-unavailable');
    assert.match(ready.headers.get('retry-after'), /^\d+$/);
    assert.ok(elapsed < 5000, `readyz took ${elapsed} ms with the database down`);

    const health = await ctx.api.get('/healthz');
    assert.equal(health.status, 200);

    t0 = Date.now();
    const login = await ctx.api.post('/v1/auth/login', { body: { login: 'nobody', password: 'whatever-it-is' } });
    assert.equal(login.status, 503);
    assert.equal(login.body.type, '/problems/database-unavailable');
    const me = await ctx.api.get('/v1/me', { token: 'A'.repeat(43) });
    assert.equal(me.status, 503);
    assert.ok(Date.now() - t0 < 10000, 'database-backed routes answer quickly');
  } finally {
    await ctx.cluster.start();
  }

  const back = await waitFor(async () => (await ctx.api.get('/readyz')).status === 200, { timeoutMs: 10000, intervalMs: 250 });
  assert.ok(back, 'readyz is 200 again within 10 s of the database coming back');
  const login = await ctx.api.post('/v1/auth/login', { body: { login: 'nobody', password: 'whatever-it-is' } });
  assert.equal(login.status, 401, 'auth routes work again');
  assert.equal(ctx.svc.proc.exitCode, null, 'the service kept running');
});

test('database_crash_under_concurrent_requests_gives_503s_not_crashes', async () => {
  // Eight clients keep asking a database-backed route while PostgreSQL
  // goes down the hard way (immediate shutdown: no goodbye to clients).
  const statuses = new Map();
  let stop = false;
  const worker = async () => {
    for (let i = 0; i < 2000 && !stop; i++) {
      const r = await ctx.api.get('/readyz');
      statuses.set(r.status, (statuses.get(r.status) || 0) + 1);
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  await new Promise((res) => setTimeout(res, 200));
  await ctx.cluster.stop('immediate');
  await new Promise((res) => setTimeout(res, 500));
  try {
    stop = true;
    await Promise.all(workers);
    assert.deepEqual([...statuses.keys()].sort(), [200, 503], `statuses seen: ${[...statuses]}`);
    assert.equal(ctx.svc.proc.exitCode, null, 'the service kept running');
  } finally {
    await ctx.cluster.start();
  }
  const back = await waitFor(async () => (await ctx.api.get('/readyz')).status === 200, { timeoutMs: 10000, intervalMs: 100 });
  assert.ok(back, 'readyz is 200 again once PostgreSQL is back');
  const fresh = await Promise.all(Array.from({ length: 16 }, () => ctx.api.get('/readyz')));
  assert.deepEqual(fresh.map((r) => r.status), Array(16).fill(200), 'every pooled connection recovered');
});

// ---- a schema newer than the binary ------------------------------------------------

test('migrate_refuses_a_schema_newer_than_the_binary', async () => {
  await ctx.cluster.psql("insert into schema_migrations (version, name, checksum) values (9999, '9999_from_the_future', 'x')");
  try {
    const r = await runCli(ctx.cluster, ['migrate']);
    assert.notEqual(r.code, 0, 'migrate must fail');
    assert.match(r.stderr, /9999/);
    // A running instance stops calling itself ready.
    const ready = await ctx.api.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.type, '/problems/database-unavailable');
  } finally {
    await ctx.cluster.psql('delete from schema_migrations where version = 9999');
  }
});

// A version below 1 in schema_migrations (written by hand, or by another
// tool) once indexed the binary's migration list at -1; now it is refused
// with a message, as a version from the future is.
test('migrate_refuses_a_schema_version_below_one', async () => {
  await ctx.cluster.psql("insert into schema_migrations (version, name, checksum) values (0, '0000_not_a_version', 'x')");
  try {
    const r = await runCli(ctx.cluster, ['migrate']);
    assert.notEqual(r.code, 0, 'migrate must fail');
    assert.match(r.stderr, /schema version 0 is not a version/);
  } finally {
    await ctx.cluster.psql('delete from schema_migrations where version = 0');
  }
});
