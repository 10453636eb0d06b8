// The restore test of `make ha-test` (issue 26): pgBackRest with WAL
// archiving on a cluster of scripts/pg.sh; a full backup; more writes;
// a point in time noted; more writes again; the cluster restored in place
// to that point (docs/deployment.md, "Backups"). A yijian started on the
// restored copy serves exactly the rows made before the point, and
// `verify-audit` and every bulletin (`verify-bulletin`) verify.
// Each check is counted; the last line is `N passed, N failed`.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

import { api } from '../blackbox/lib/contract.mjs';
import { startCluster } from '../blackbox/lib/cluster.mjs';
import { runCli, startService } from '../blackbox/lib/service.mjs';
import { worldBuilder } from '../blackbox/lib/world.mjs';

const started = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const say = (msg) => console.log(`# [${secs(Date.now() - started)}] ${msg}`);
let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${what}${detail ? ` (${detail})` : ''}`);
}

const asRoot = process.getuid() === 0;
let cluster;
let conf;

// pgBackRest runs as the cluster's user (yijian-pg as root), as
// PostgreSQL's archive_command does. Asynchronous: the event loop keeps
// reading the service's log and noticing the keep-alive connections it
// closed meanwhile.
async function pgbackrest(args) {
  const cmd = ['pgbackrest', `--config=${conf}`, '--stanza=yijian', ...args];
  const [bin, argv] = asRoot ? ['runuser', ['-u', 'yijian-pg', '--', ...cmd]] : [cmd[0], cmd.slice(1)];
  return (await promisify(execFile)(bin, argv, { encoding: 'utf8', cwd: '/' })).stdout;
}

async function main() {
  cluster = await startCluster();
  const dir = cluster.dir;
  conf = path.join(dir, 'pgbackrest.conf');
  const repo = path.join(dir, 'repo');
  fs.writeFileSync(conf, [
    '[global]',
    `repo1-path=${repo}`,
    'repo1-retention-full=2',
    `log-path=${dir}/log`,
    `lock-path=${dir}/lock`,
    `spool-path=${dir}/spool`,
    'log-level-console=warn',
    'log-level-file=info',
    'start-fast=y',
    'compress-type=lz4',
    '',
    '[yijian]',
    `pg1-path=${dir}/data`,
    `pg1-socket-path=${dir}/run`,
    'pg1-port=5432',
    'pg1-user=postgres',
    '',
  ].join('\n'));
  for (const d of [repo, `${dir}/lock`, `${dir}/spool`]) fs.mkdirSync(d, { recursive: true });
  if (asRoot) execFileSync('chown', ['-R', 'yijian-pg:yijian-pg', conf, repo, `${dir}/lock`, `${dir}/log`, `${dir}/spool`]);
  await cluster.psql(`ALTER SYSTEM SET archive_mode = on`);
  await cluster.psql(`ALTER SYSTEM SET archive_command = 'pgbackrest --config=${conf} --stanza=yijian archive-push %p'`);
  await cluster.psql('ALTER SYSTEM SET archive_timeout = 60');
  await cluster.stop();
  await cluster.start();
  await pgbackrest(['stanza-create']);
  await pgbackrest(['check']);
  say('WAL archiving to pgBackRest on');

  // Before the backup: a world, suggestions, and a signed bulletin.
  let svc = await startService(cluster);
  const ctx = { api: api(svc.url), cluster };
  let w = await worldBuilder(ctx, { adminLogin: 'restore-admin' });
  await w.unit('b', '备份支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织工作', portfolio: '组织' });
  await w.account('com', '组织委员', 'b', ['member', 'committee'], ['组织']);
  await w.account('sec', '支部书记', 'b', ['member', 'secretary']);
  await w.account('mem', '党员', 'b', ['member']);
  const call = async (a, method, p, who, body, status) => {
    const r = await a.request(method, p, { token: w.tokens[who], body });
    if (r.status !== status) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const submit = (a, title) => call(a, 'POST', '/v1/suggestions', 'mem', { unit_id: w.units.b, category_id: w.categories.cat, title, body: `内容 ${title}` }, 201);
  const answer = async (a, id) => {
    await call(a, 'POST', `/v1/suggestions/${id}/accept`, 'com', undefined, 200);
    await call(a, 'PUT', `/v1/suggestions/${id}/answer`, 'com', { decision: 'not_adopted', body: '答复', reason: '条件不足' }, 200);
    await call(a, 'POST', `/v1/suggestions/${id}/answer/approve`, 'sec', undefined, 200);
  };
  const tag = process.pid;
  const before = [];
  for (let i = 0; i < 5; i++) before.push(await submit(ctx.api, `备份前${tag}-${i}`));
  for (const s of before.slice(0, 2)) await answer(ctx.api, s.id);
  const b1 = await call(ctx.api, 'POST', '/v1/bulletins', 'sec', { unit_id: w.units.b }, 201);

  await pgbackrest(['backup', '--type=full']);
  say('full backup made');

  // After the backup and before the point: more, and a second bulletin.
  const between = [];
  for (let i = 0; i < 5; i++) between.push(await submit(ctx.api, `备份后${tag}-${i}`));
  for (const s of between.slice(0, 2)) await answer(ctx.api, s.id);
  const b2 = await call(ctx.api, 'POST', '/v1/bulletins', 'sec', { unit_id: w.units.b }, 201);
  await new Promise((r) => setTimeout(r, 1500)); // let the sealer sign what is there
  const point = await cluster.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
  const rowsAtPoint = Number(await cluster.psql('SELECT count(*) FROM suggestions'));
  const auditAtPoint = Number(await cluster.psql('SELECT count(*) FROM audit_log'));
  await new Promise((r) => setTimeout(r, 1100));

  // After the point: these must not come back.
  const after = [];
  for (let i = 0; i < 5; i++) after.push(await submit(ctx.api, `时间点后${tag}-${i}`));
  await answer(ctx.api, after[0].id);
  const b3 = await call(ctx.api, 'POST', '/v1/bulletins', 'sec', { unit_id: w.units.b }, 201);
  await cluster.psql('SELECT pg_switch_wal()');
  await pgbackrest(['check']); // waits until the WAL switched to is archived
  say(`point in time ${point}; ${rowsAtPoint} suggestions then, ${after.length} more after it`);

  // The disaster: service and database stopped; restored in place.
  check((await svc.stop()) === 0, 'the service stopped cleanly before the restore');
  await cluster.stop('immediate');
  await pgbackrest(['restore', '--delta', '--type=time', `--target=${point}`, '--target-action=promote']);
  // pg.sh start returns once the server takes connections, which during
  // recovery are read-only: its ALTER ROLE can fail until the promotion.
  // Started is started; the role's setting came back with the restore.
  try {
    await cluster.start();
  } catch (e) {
    console.log(`# start during recovery: ${String(e.message).split('\n')[0]}`);
  }
  for (let i = 0; i < 300 && (await cluster.psql('SELECT pg_is_in_recovery()').catch(() => 't')) !== 'f'; i++) {
    await new Promise((r) => setTimeout(r, 200));
  }
  await cluster.start();
  say('restored to the point in time');
  const inRecovery = await cluster.psql('SELECT pg_is_in_recovery()');
  check(inRecovery === 'f', 'the restored cluster was promoted and takes writes');

  svc = await startService(cluster);
  const a2 = api(svc.url);
  check(Number(await cluster.psql('SELECT count(*) FROM suggestions')) === rowsAtPoint, 'the restored copy holds exactly the suggestions of the point in time',
    `${await cluster.psql('SELECT count(*) FROM suggestions')} vs ${rowsAtPoint}`);
  check(Number(await cluster.psql('SELECT count(*) FROM audit_log')) === auditAtPoint, 'the restored audit log ends where it ended at the point');
  const list = await a2.request('GET', '/v1/suggestions', { token: w.tokens.com });
  check(list.status === 200, 'a session signed in before the point still works on the restored copy', String(list.status));
  const view = async (x) => (await a2.request('GET', `/v1/suggestions/${x.id}`, { token: w.tokens.mem })).status;
  const seen = [];
  for (const x of [...before, ...between]) seen.push(await view(x));
  check(seen.every((st) => st === 200), 'every suggestion made before the point is served', seen.join(','));
  const unseen = [];
  for (const x of after) unseen.push(await view(x));
  check(unseen.every((st) => st === 404), 'no suggestion made after the point is served', unseen.join(','));
  const gone = await a2.request('GET', `/v1/bulletins/${b3.bulletin.id}`, {});
  check(gone.status === 404, 'the bulletin made after the point is not there', String(gone.status));

  const verify = await runCli(cluster, ['verify-audit']);
  check(verify.code === 0, 'verify-audit reports the restored chain intact', verify.code === 0 ? '' : verify.stdout + verify.stderr);
  let good = 0;
  for (const b of [b1, b2]) {
    const doc = await a2.request('GET', `/v1/bulletins/${b.bulletin.id}`, {});
    const file = path.join(cluster.dir, `bulletin-${b.bulletin.id}.json`);
    fs.writeFileSync(file, JSON.stringify(doc.body));
    const r = await runCli(cluster, ['verify-bulletin', file]);
    if (doc.status === 200 && r.code === 0 && /^valid/.test(r.stdout)) good++;
  }
  check(good === 2, 'every bulletin of the restored copy verifies (verify-bulletin)', `${good} of 2`);
  const more = await a2.request('POST', '/v1/suggestions', { token: w.tokens.mem, body: { unit_id: w.units.b, category_id: w.categories.cat, title: `恢复后${tag}`, body: '恢复后的新建议' } });
  check(more.status === 201, 'the restored service takes new submissions', String(more.status));
  check((await svc.stop()) === 0, 'the service on the restored copy stopped cleanly');
  w = null;
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL - the test stopped: ${e.stack || e}`);
}
if (cluster) await cluster.destroy();
console.log(`# restore test took ${secs(Date.now() - started)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
