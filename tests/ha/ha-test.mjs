// `make ha-test`: yijian across a database failover and the loss of one
// of its instances (issue 26), on this machine:
//   pg_auto_failover's monitor, a primary and a synchronous secondary
//   (scripts/ha/cluster.sh), two yijian instances on the multi-host
//   conninfo with target_session_attrs=read-write, HAProxy in front of
//   them, health-checked on /readyz (scripts/ha/haproxy.cfg.in).
// Phase 1: 2,000 submissions with Idempotency-Keys from 16 clients through
// HAProxy (so over both instances), and anonymous acts held for a release
// window; the primary's machine is lost (SIGKILL of its keeper and its
// postmaster) in the middle. Every submission not answered 201 is retried
// with its key until it is. Phase 2: one instance SIGKILLed under load.
// Each check is counted; the last line is `N passed, N failed`.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { fetchTokens } from '../blackbox/lib/anon.mjs';
import { api, REPO_ROOT } from '../blackbox/lib/contract.mjs';
import { runCli, startService } from '../blackbox/lib/service.mjs';
import { worldBuilder } from '../blackbox/lib/world.mjs';

const CLUSTER = path.join(REPO_ROOT, 'scripts/ha/cluster.sh');
const CLIENTS = 16;
const SUBMISSIONS = 2000;
const ANON = 32;
const WINDOW = 20; // ANON_RELEASE_WINDOW, seconds
const FIRST_201_TARGET_MS = 30000;
const LOAD_LIMIT_MS = 300000; // a submission still not stored then is given up
const started = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${what}${detail ? ` (${detail})` : ''}`);
}
const say = (msg) => console.log(`# [${secs(Date.now() - started)}] ${msg}`);

function sh(args, opts = {}) {
  return execFileSync(CLUSTER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }).trim();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Three consecutive free ports for the monitor and the two nodes.
async function freeBase() {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ok = await Promise.all([0, 1, 2].map((d) => new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(base + d, '127.0.0.1', () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no three free ports in a row');
}

// The HA cluster, shaped like tests/blackbox/lib/cluster.mjs's for
// startService and runCli.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yijian-ha-'));
fs.chmodSync(dir, 0o755);
const cluster = {
  dir,
  url: (role) => sh(['url', dir, role]),
  psql: (sql) => sh(['psql', dir, '-Atc', sql]),
};
const num = (sql) => Number(cluster.psql(sql));

let haproxy = null;
const services = [];
async function cleanup() {
  for (const s of services) await s.kill().catch(() => {});
  if (haproxy && haproxy.exitCode === null) haproxy.kill('SIGKILL');
  try {
    sh(['stop', dir], { timeout: 120000 });
  } catch (e) {
    console.log(`# could not stop the cluster: ${e.message}`);
  }
  if (!process.env.HA_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`# kept ${dir}`);
}

async function startHaproxy(port, backends) {
  const tmpl = fs.readFileSync(path.join(REPO_ROOT, 'scripts/ha/haproxy.cfg.in'), 'utf8');
  const cfg = tmpl
    .replace(/^(\s*bind )@LISTEN@$/m, (_, bind) => `${bind}127.0.0.1:${port}`)
    .replace(/^@SERVERS@$/m, backends.map((b, i) => `    server yijian${i + 1} ${b} check`).join('\n'));
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, cfg);
  execFileSync('haproxy', ['-c', '-q', '-f', file]);
  const p = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d) => fs.appendFileSync(path.join(dir, 'haproxy.log'), d));
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) return p;
    } catch { /* not yet */ }
    await sleep(200);
  }
  throw new Error('HAProxy did not come up with a backend ready');
}

// One POST, never throwing: {status, body} or {status: 0} on a transport error.
async function post(base, urlPath, body, headers = {}, token = null) {
  try {
    const res = await fetch(new URL(urlPath, base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30000),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* HAProxy's own pages */ }
    return { status: res.status, body: json };
  } catch {
    return { status: 0, body: null };
  }
}

async function main() {
  say(`cluster in ${dir}`);
  sh(['start', dir, String(await freeBase())], { timeout: 300000 });
  say('monitor, primary and secondary up');
  const sync = cluster.psql("SELECT current_setting('synchronous_standby_names') <> '' AND "
    + "EXISTS (SELECT 1 FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))");
  check(sync === 't', 'replication to the secondary is synchronous (a commit waits for it)');

  const env = {
    ANON_RELEASE_WINDOW: String(WINDOW),
    TOKEN_QUOTA: '100',
    SEAL_INTERVAL: '1',
    BULLETIN_INTERVAL: '1',
    JOBS_INTERVAL: '1',
    DB_TIMEOUT_MS: '2000',
    DB_ACQUIRE_TIMEOUT_MS: '2000',
  };
  for (let i = 0; i < 2; i++) services.push(await startService(cluster, env));
  const pids = services.map((s) => s.proc.pid);
  const lbPort = await freePort();
  haproxy = await startHaproxy(lbPort, services.map((s) => s.url.replace('http://', '')));
  const lb = `http://127.0.0.1:${lbPort}`;
  say(`two instances (${services.map((s) => s.url).join(', ')}) behind HAProxy at ${lb}`);

  // The world: one branch, a category, 4 members (each the account of 4
  // of the 16 clients: an account costs two password hashes to set up).
  const ctx = { api: api(lb), cluster };
  const w = await worldBuilder(ctx, { adminLogin: 'ha-admin' });
  await w.unit('b', '高可用支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织工作', portfolio: '组织' });
  // One after another: password hashing in parallel on a loaded machine
  // can outlast the client's 15 s timeout.
  for (let c = 0; c < 4; c++) await w.account(`m${c}`, `党员${c}`, 'b', ['member']);
  const who = (c) => w.tokens[`m${c % 4}`];
  const tokens = await fetchTokens(ctx.api, w.tokens.m0, ANON);
  say('world made');

  // Anonymous acts held until the end of the window that the failover falls in.
  const nextBoundary = () => (Math.floor(Date.now() / 1000 / WINDOW) + 1) * WINDOW * 1000;
  if (nextBoundary() - Date.now() < 12000) await sleep(nextBoundary() - Date.now() + 200);
  const anonTitles = [];
  let anonOk = 0;
  for (let i = 0; i < ANON; i++) {
    const title = `匿名高可用${process.pid}-${i}`;
    anonTitles.push(title);
    const r = await post(lb, '/v1/suggestions', { unit_id: w.units.b, category_id: w.categories.cat, title, body: '匿名建议', token: tokens[i] });
    if (r.status === 201) anonOk++;
  }
  check(anonOk === ANON, `${ANON} anonymous submissions accepted and held for their window`, `${anonOk} accepted`);

  // Phase 1: the load, and the primary lost in the middle.
  const per = SUBMISSIONS / CLIENTS;
  const subs = [];
  let acked = 0;
  let killAt = null;
  const firstAfterKill = new Array(CLIENTS).fill(null);
  const refused = [];
  const loadStart = Date.now();
  const killPrimary = () => {
    killAt = Date.now();
    const node = sh(['kill-primary', dir]);
    say(`SIGKILL of ${node}'s keeper and postmaster after ${acked} acknowledged submissions`);
  };
  async function client(c) {
    for (let i = 0; i < per; i++) {
      const s = { key: `ha-${process.pid}-${c}-${i}`, title: `高可用${process.pid}-${c}-${i}`, attempts: 0, firstStatus: null, id: null, ids: new Set() };
      subs.push(s);
      for (;;) {
        const sentAt = Date.now();
        const r = await post(lb, '/v1/suggestions', { unit_id: w.units.b, category_id: w.categories.cat, title: s.title, body: `内容 ${s.title}` },
          { 'Idempotency-Key': s.key }, who(c));
        s.attempts++;
        if (s.firstStatus === null) s.firstStatus = r.status;
        if (r.status === 201) {
          s.id = r.body.id;
          s.ids.add(r.body.id);
          acked++;
          if (killAt !== null && sentAt >= killAt && firstAfterKill[c] === null) firstAfterKill[c] = Date.now();
          if (acked === SUBMISSIONS / 2 && killAt === null) killPrimary();
          break;
        }
        if (r.status !== 0 && r.status < 500) {
          refused.push({ key: s.key, status: r.status, body: r.body });
          break;
        }
        if (Date.now() - loadStart > LOAD_LIMIT_MS) {
          refused.push({ key: s.key, status: r.status, body: 'gave up: the test ran out of time' });
          return;
        }
        await sleep(250);
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  say(`phase 1 load done in ${secs(Date.now() - loadStart)}`);

  check(killAt !== null, 'the primary was killed in the middle of the load');
  const firsts = firstAfterKill.filter((t) => t !== null);
  const first201 = firsts.length ? Math.min(...firsts) - killAt : Infinity;
  const allServed = firsts.length === CLIENTS ? Math.max(...firsts) - killAt : Infinity;
  console.log(`# time from the kill to the first 201: ${secs(first201)}; to every client served again: ${secs(allServed)}`);
  // A speed target, printed with its figure, not a pass or a failure: it
  // depends on the machine's load as much as on the service (the
  // project's rule for timing targets; docs/reliability.md has the runs).
  console.log(`# target: first 201 within ${FIRST_201_TARGET_MS / 1000} s of the kill: ${first201 <= FIRST_201_TARGET_MS ? 'met' : 'MISSED'} (${secs(first201)})`);
  check(Number.isFinite(first201), 'a 201 came after the kill', secs(first201));
  check(firsts.length === CLIENTS, 'every client was served again after the kill', `${firsts.length} of ${CLIENTS}`);
  check(refused.length === 0, 'no submission refused (4xx) or given up', refused.slice(0, 3).map((x) => JSON.stringify(x)).join('; '));
  const primaryNow = sh(['primary', dir]);
  say(`primary now: ${primaryNow}`);

  const stored = new Map(cluster.psql(`SELECT title || '|' || count(*) FROM suggestions WHERE title LIKE '高可用${process.pid}-%' GROUP BY title`)
    .split('\n').filter(Boolean).map((l) => { const [t, n] = l.split('|'); return [t, Number(n)]; }));
  const firstAcked = subs.filter((s) => s.firstStatus === 201);
  const retried = subs.filter((s) => s.firstStatus !== 201);
  console.log(`# ${firstAcked.length} submissions acknowledged at the first attempt, ${retried.length} retried with their keys (${subs.reduce((a, s) => a + s.attempts, 0)} attempts in all)`);
  check(firstAcked.every((s) => stored.get(s.title) === 1), 'every submission acknowledged with 201 is stored exactly once',
    `${firstAcked.filter((s) => stored.get(s.title) !== 1).length} not`);
  check(retried.length > 0 && retried.every((s) => stored.get(s.title) === 1 && s.ids.size === 1), 'every retried submission is stored once, under one id',
    `${retried.length} retried, ${retried.filter((s) => stored.get(s.title) !== 1).length} not stored once`);
  check(stored.size === SUBMISSIONS && [...stored.values()].every((n) => n === 1), `${SUBMISSIONS} distinct submissions stored, none twice`, `${stored.size} stored`);
  const keys = new Map(cluster.psql(`SELECT key || '|' || coalesce(response->>'id', '') FROM idempotency_keys WHERE key LIKE 'ha-${process.pid}-%'`)
    .split('\n').filter(Boolean).map((l) => l.split('|')));
  check(keys.size === SUBMISSIONS && subs.every((x) => keys.get(x.key) === x.id), 'each Idempotency-Key is stored once, with the id its client was given',
    `${keys.size} keys, ${subs.filter((x) => keys.get(x.key) !== x.id).length} differ`);
  check(services.every((s, i) => s.proc.exitCode === null && s.proc.signalCode === null && s.proc.pid === pids[i]),
    'no yijian instance was restarted (both still the same processes)');

  // The held acts: released once, after the failover, by one instance.
  await sleep(Math.max(0, nextBoundary() - Date.now()) + 5000);
  const anonStored = num(`SELECT count(*) FROM suggestions WHERE title LIKE '匿名高可用${process.pid}-%'`);
  const anonDistinct = num(`SELECT count(DISTINCT title) FROM suggestions WHERE title LIKE '匿名高可用${process.pid}-%'`);
  check(anonStored === ANON && anonDistinct === ANON, 'every held anonymous act was released exactly once', `${anonStored} rows, ${anonDistinct} titles`);
  check(num('SELECT count(*) FROM held_acts') === 0, 'no held act is left behind');
  check(num('SELECT count(*) FROM (SELECT unit_id, slot FROM bulletins WHERE slot IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d') === 0,
    'no scheduled bulletin was made twice');

  const verify = await runCli(cluster, ['verify-audit']);
  check(verify.code === 0, 'verify-audit reports the chain intact', verify.code === 0 ? '' : verify.stdout + verify.stderr);

  // Phase 2: one instance lost under load; the other serves what follows.
  const later = [];
  let killedAt = null;
  let stop = false;
  async function reader(c) {
    let i = 0;
    while (!stop) {
      const sentAt = Date.now();
      const key = `ha2-${process.pid}-${c}-${i++}`;
      const r = await post(lb, '/v1/suggestions', { unit_id: w.units.b, category_id: w.categories.cat, title: `第二阶段${key}`, body: '内容' },
        { 'Idempotency-Key': key }, who(c));
      if (killedAt !== null && sentAt > killedAt) later.push(r.status);
    }
  }
  const readers = Array.from({ length: 8 }, (_, c) => reader(c));
  await sleep(2000);
  // Later: sent once the process is gone. A request that the instance
  // accepted just before the signal landed is in flight, not later; its
  // client retries it with its key.
  await services[0].kill();
  killedAt = Date.now();
  say('SIGKILL of the first yijian instance');
  await sleep(8000);
  stop = true;
  await Promise.all(readers);
  const bad = later.filter((s) => s !== 201);
  check(later.length > 0 && bad.length === 0, 'after one instance was killed, every later request was served by the other',
    `${later.length} requests, ${bad.length} not 201: ${[...new Set(bad)].join(',')}`);
  check(services[1].proc.exitCode === null && services[1].proc.signalCode === null, 'the other instance is still running');
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL - the test stopped: ${e.stack || e}`);
}
await cleanup();
console.log(`# ha-test took ${secs(Date.now() - started)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
