// Faults (issue 11): the service killed with SIGKILL in the middle of 2,000
// submissions, PostgreSQL restarted (fast and immediate) under load, and
// the disk of a throwaway cluster filled up. Acknowledged means a 201: what
// was acknowledged must be in the database once, what was not may be sent
// again with the same Idempotency-Key and is then stored once. The figures
// each test prints (t.diagnostic, "# ..." lines of the TAP output) are the
// ones recorded in docs/reliability.md.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { before, test } from 'node:test';

import { startCluster } from './lib/cluster.mjs';
import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { runCli, startService, waitFor } from './lib/service.mjs';
import { submitterWorld } from './lib/world.mjs';

const run = promisify(execFile);
// The kill -9 test keeps 64 submissions in flight against 4 handler
// threads, all on one unit, whose routing lock they take in turn. On a
// loaded machine a connection is then held past DB_ACQUIRE_TIMEOUT_MS and
// the queue behind it is answered 503 (docs/reliability.md, "No request
// waits forever"); shedding load is not what these tests measure, so this
// file's service waits longer for a connection.
const ctx = useService({ DB_ACQUIRE_TIMEOUT_MS: '15000' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
let w;

before(async () => {
  await ctx.ready;
  w = await submitterWorld(ctx, 'faults-admin');
});

/** POST /v1/suggestions as memA of world `wd`, with an Idempotency-Key. */
function submit(client, wd, title, key, body = `内容 ${title}`) {
  return client.post('/v1/suggestions', {
    token: wd.tokens.memA,
    body: { unit_id: wd.units.A, category_id: wd.categories.org, title, body },
    headers: { 'Idempotency-Key': key },
  });
}

/** Runs fn(i) for i in [0, n) with at most `width` calls in flight; stops taking new ones once stop() is true. */
async function bounded(n, width, fn, stop = () => false) {
  let next = 0;
  const lane = async () => {
    while (next < n && !stop()) await fn(next++);
  };
  await Promise.all(Array.from({ length: width }, lane));
  return next;
}

/** title -> [public_id, ...] of the suggestions whose title starts with prefix. */
async function stored(cluster, prefix) {
  const out = await cluster.psql(`select title, public_id from suggestions where starts_with(title, ${lit(prefix)}) order by id`);
  const m = new Map();
  for (const line of out.split('\n').filter(Boolean)) {
    const [title, id] = line.split('|');
    m.set(title, [...(m.get(title) ?? []), id]);
  }
  return m;
}

function noSanitizerReports(svc, what) {
  const reports = svc.logs.map((l) => l.line).filter((line) => /Sanitizer|runtime error:/.test(line));
  assert.deepEqual(reports, [], `sanitizer reports in the log of ${what}`);
}

// ---- kill -9 in the middle of 2,000 submissions ---------------------------------------

const SUBMISSIONS = 2000;
const IN_FLIGHT = 64;
const KILL_AFTER_ACKS = 700;

test('kill_9_during_2000_submissions_loses_no_acknowledged_one_and_stores_none_twice', async (t) => {
  const prefix = `k9-${process.pid}-`;
  const victim = ctx.svc;
  const before = ctx.api;
  const acked = new Map(); // i -> public id of the 201
  const others = [];
  let killed = null;
  const sent = await bounded(
    SUBMISSIONS,
    IN_FLIGHT,
    async (i) => {
      try {
        const r = await submit(before, w, `${prefix}${i}`, `${prefix}${i}`);
        if (r.status === 201) {
          acked.set(i, r.body.id);
          if (acked.size === KILL_AFTER_ACKS && !killed) killed = victim.kill();
        } else {
          others.push(`${i}: ${r.status} ${JSON.stringify(r.body)}`);
        }
      } catch {
        /* no answer: the connection died with the process */
      }
    },
    () => killed !== null,
  );
  assert.ok(killed, `the service was killed (only ${acked.size} acknowledgements)`);
  const exit = await killed;
  assert.equal(exit.signal, 'SIGKILL');
  assert.deepEqual(others, [], 'before the kill every answer is a 201');
  noSanitizerReports(victim, 'the killed service');

  // Same database, new process: the fixture stops this one at the end.
  ctx.svc = await startService(ctx.cluster);
  ctx.api = api(ctx.svc.url);

  const rows = await stored(ctx.cluster, prefix);
  const twice = [...rows].filter(([, ids]) => ids.length > 1);
  assert.deepEqual(twice, [], 'no submission stored twice');
  const lost = [...acked].filter(([i, id]) => rows.get(`${prefix}${i}`)?.[0] !== id);
  assert.deepEqual(lost, [], 'every acknowledged submission is in the database with the id it was given');
  const found = rows.size;
  t.diagnostic(
    `kill -9: ${SUBMISSIONS} submissions, ${IN_FLIGHT} in flight; sent before the kill ${sent}, ` +
      `acknowledged ${acked.size}, found after restart ${found} (acknowledged found ${acked.size - lost.length}, ` +
      `committed but not acknowledged ${found - acked.size}, unanswered ${sent - acked.size})`,
  );

  // Everything without a 201, again with its own key: the ones that were
  // committed without an answer come back with their id, the rest are new.
  const retried = [];
  for (let i = 0; i < SUBMISSIONS; i++) if (!acked.has(i)) retried.push(i);
  const answers = new Map();
  let noAnswer = 0;
  await bounded(retried.length, IN_FLIGHT, async (k) => {
    const i = retried[k];
    // A client whose request got no answer at all sends it again with its
    // key; one such loss among ~1,300 requests was seen once under load
    // (a closed connection, "fetch failed") and is counted in the note.
    for (let attempt = 1; ; attempt++) {
      try {
        answers.set(i, await submit(ctx.api, w, `${prefix}${i}`, `${prefix}${i}`));
        break;
      } catch (e) {
        if (attempt === 3) throw e;
        noAnswer++;
      }
    }
  });
  const notCreated = [...answers].filter(([, r]) => r.status !== 201).map(([i, r]) => `${i}: ${r.status}`);
  assert.deepEqual(notCreated, [], 'every retry with the same key answers 201');
  const replayedWrong = [...answers].filter(([i, r]) => rows.has(`${prefix}${i}`) && rows.get(`${prefix}${i}`)[0] !== r.body.id);
  assert.deepEqual(replayedWrong, [], 'a retry of a committed submission answers with the stored id');

  const final = await stored(ctx.cluster, prefix);
  assert.equal(final.size, SUBMISSIONS, 'every submission stored');
  assert.deepEqual([...final].filter(([, ids]) => ids.length !== 1), [], 'each exactly once');
  for (const [i, id] of [...acked, ...[...answers].map(([j, r]) => [j, r.body.id])]) {
    assert.equal(final.get(`${prefix}${i}`)[0], id, `submission ${i}`);
  }
  t.diagnostic(`kill -9: after retrying ${retried.length} with their keys (${noAnswer} sent again after no answer): ${final.size} stored, each once`);
});

// ---- PostgreSQL restarted under load ------------------------------------------------------

for (const mode of ['fast', 'immediate']) {
  test(`postgres_${mode}_restart_under_load_gives_503_and_recovers_without_restarting_the_service`, async (t) => {
    const prefix = `pg-${mode}-${process.pid}-`;
    const pid = ctx.svc.proc.pid;
    const WORKERS = 16;
    const statuses = new Map();
    const bad503 = [];
    const acked = new Map();
    let upAt = null;
    const recovered = []; // per worker: ms from PostgreSQL back to its first 201
    let stop = false;
    let seq = 0;

    // Each worker submits, one after the other, and retries a submission
    // that got a 503 (or no answer) with the same key until it gets its 201.
    const worker = async (n) => {
      while (!stop) {
        const i = seq++;
        const deadline = Date.now() + 30000;
        for (;;) {
          let r = null;
          try {
            r = await submit(ctx.api, w, `${prefix}${i}`, `${prefix}${i}`);
          } catch {
            statuses.set('no answer', (statuses.get('no answer') ?? 0) + 1);
          }
          if (r) {
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status === 201) {
              acked.set(i, r.body.id);
              if (upAt !== null && recovered[n] === undefined) recovered[n] = Date.now() - upAt;
              break;
            }
            if (r.status === 503 && (r.body.type !== '/problems/database-unavailable' || !/^\d+$/.test(r.headers.get('retry-after') ?? ''))) {
              bad503.push(JSON.stringify({ body: r.body, retry: r.headers.get('retry-after') }));
            }
          }
          assert.ok(Date.now() < deadline, `submission ${i} still without a 201 after 30 s`);
          // Retry-After says 2 s; a real client waits that long. Here a
          // short pause measures the recovery more finely.
          await sleep(100);
        }
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
    try {
      await sleep(500);
      await ctx.cluster.stop(mode);
      await sleep(1500);
    } finally {
      await ctx.cluster.start();
    }
    upAt = Date.now();
    const all = await waitFor(() => recovered.filter((x) => x !== undefined).length === WORKERS, { timeoutMs: 20000, intervalMs: 50 });
    stop = true;
    await load;
    assert.ok(all, `every worker got a 201 within 20 s of PostgreSQL being back (${recovered.filter((x) => x !== undefined).length} of ${WORKERS})`);

    const seen = Object.fromEntries(statuses);
    assert.deepEqual(Object.keys(seen).sort(), ['201', '503'], `answers seen: ${JSON.stringify(seen)}`);
    assert.deepEqual(bad503, [], 'every 503 is database-unavailable with a Retry-After');
    assert.equal(ctx.svc.proc.pid, pid);
    assert.equal(ctx.svc.proc.exitCode, null, 'the service kept running');

    const rows = await stored(ctx.cluster, prefix);
    assert.deepEqual([...rows].filter(([, ids]) => ids.length > 1), [], 'no submission stored twice');
    assert.deepEqual([...acked].filter(([i, id]) => rows.get(`${prefix}${i}`)?.[0] !== id), [], 'every 201 is stored');
    const first = Math.min(...recovered);
    const last = Math.max(...recovered);
    t.diagnostic(
      `PostgreSQL ${mode} restart: answers ${JSON.stringify(seen)}; after PostgreSQL was back (pg_ctl start -w returned): ` +
        `first 201 after ${(first / 1000).toFixed(2)} s, all ${WORKERS} clients after ${(last / 1000).toFixed(2)} s; ` +
        `${acked.size} acknowledged, ${rows.size} stored`,
    );
    assert.ok(last < 10000, `recovered within 10 s (${last} ms)`);
  });
}

// ---- the disk of a throwaway cluster fills up --------------------------------------------

const TMPFS_MB = 128;

/** Mounts a small tmpfs; resolves to its directory, or null with the reason when that is not allowed here. */
async function mountTmpfs() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yijian-diskfull-'));
  fs.chmodSync(dir, 0o755);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m,mode=0755`, 'tmpfs', dir]);
    // Should the test process end without its finally (Ctrl-C, a crash),
    // the mount goes with it. Registered after cluster.mjs's own 'exit'
    // handler, so it runs after the cluster there has been stopped.
    process.on('exit', () => {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      } catch {
        /* unmounted already */
      }
    });
    return { dir };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { dir: null, why: `cannot mount a tmpfs here (${String(e.stderr || e.message).trim()}); needs root with CAP_SYS_ADMIN, as CI has` };
  }
}

/** Writes a file until the filesystem is full; resolves to its size in bytes. */
function fill(file) {
  const fd = fs.openSync(file, 'w');
  let size = 0;
  try {
    for (const chunk of [1 << 20, 1 << 16, 1 << 12, 1 << 9]) {
      const buf = Buffer.alloc(chunk, 0x5a);
      for (;;) {
        try {
          size += fs.writeSync(fd, buf);
        } catch (e) {
          if (e.code !== 'ENOSPC') throw e;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return size;
}

test('disk_full_gives_clean_503_keeps_acknowledged_data_and_recovers_when_space_returns', async (t) => {
  const mount = await mountTmpfs();
  if (!mount.dir) {
    t.skip(mount.why);
    return;
  }
  let cluster = null;
  let svc = null;
  const filler = path.join(mount.dir, 'filler');
  try {
    cluster = await startCluster({ parent: mount.dir });
    svc = await startService(cluster);
    const c = { api: api(svc.url), cluster };
    const wd = await submitterWorld(c, 'disk-admin');
    const prefix = `disk-${process.pid}-`;
    const big = '满'.repeat(5000);

    const acked = new Map();
    for (let i = 0; i < 40; i++) {
      const r = await submit(c.api, wd, `${prefix}${i}`, `${prefix}${i}`, big);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      acked.set(i, r.body.id);
    }

    const filled = fill(filler);
    // Keep submitting until the database refuses: tables and indexes must
    // grow, the space they need is gone.
    const statuses = new Map();
    const bad = [];
    let refusals = 0;
    let i = 40;
    for (; i < 3000 && refusals < 20; i++) {
      const r = await submit(c.api, wd, `${prefix}${i}`, `${prefix}${i}`, big);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 201) {
        acked.set(i, r.body.id);
        refusals = 0;
      } else if (r.status === 503 && r.body.type === '/problems/database-unavailable' && /^\d+$/.test(r.headers.get('retry-after') ?? '')) {
        refusals++;
      } else {
        bad.push(`${r.status} ${JSON.stringify(r.body)}`);
        refusals++;
      }
    }
    const full = Object.fromEntries(statuses);
    const sqlstates = [...new Set(svc.jsonLogs().filter((l) => l.sqlstate).map((l) => l.sqlstate))];
    assert.ok(sqlstates.includes('53100'), `the service logged disk_full (53100): ${sqlstates}`);
    assert.deepEqual(bad, [], 'with the disk full every refusal is a 503 database-unavailable with Retry-After');
    assert.ok((statuses.get(503) ?? 0) >= 20, `the full disk was noticed: ${JSON.stringify(full)}`);
    // Reads need no new space: what was acknowledged can be read back.
    const some = [...acked.values()].slice(0, 5);
    for (const id of some) {
      const r = await c.api.get(`/v1/suggestions/${id}`, { token: wd.tokens.memA });
      assert.equal(r.status, 200, `GET ${id} with the disk full: ${JSON.stringify(r.body)}`);
    }
    const pgLog = fs.readFileSync(path.join(cluster.dir, 'log/postgres.log'), 'utf8');
    const panics = pgLog.split('\n').filter((l) => /PANIC|FATAL/.test(l));

    // Space returns: the service recovers by itself.
    fs.rmSync(filler);
    const freedAt = Date.now();
    let recoveredMs = null;
    for (let tries = 0; tries < 100 && recoveredMs === null; tries++) {
      const r = await submit(c.api, wd, `${prefix}${i}`, `${prefix}${i}`, big);
      if (r.status === 201) {
        acked.set(i, r.body.id);
        recoveredMs = Date.now() - freedAt;
      } else {
        assert.equal(r.status, 503, JSON.stringify(r.body));
        await sleep(100);
      }
    }
    assert.notEqual(recoveredMs, null, 'submissions succeed again once space returns');

    // No corruption: every acknowledged suggestion is there, once; the
    // heap and the B-tree indexes check clean; the audit chain verifies.
    const rows = await stored(cluster, prefix);
    assert.deepEqual([...rows].filter(([, ids]) => ids.length > 1), [], 'no submission stored twice');
    assert.deepEqual([...acked].filter(([k, id]) => rows.get(`${prefix}${k}`)?.[0] !== id), [], 'every 201 is stored');
    await cluster.psql('create extension if not exists amcheck');
    const amcheck = await run(
      '/usr/lib/postgresql/15/bin/pg_amcheck',
      ['-h', path.join(cluster.dir, 'run'), '-p', '5432', '-U', 'postgres', '--heapallindexed', '--progress', 'yijian'],
      { encoding: 'utf8' },
    ).catch((e) => e);
    assert.equal(amcheck.code ?? 0, 0, `pg_amcheck: ${amcheck.stdout}${amcheck.stderr}`);
    const verify = await runCli(cluster, ['verify-audit']);
    assert.equal(verify.code, 0, `verify-audit: ${verify.stdout}${verify.stderr}`);

    t.diagnostic(
      `disk full: tmpfs ${TMPFS_MB} MiB, filler ${(filled / 2 ** 20).toFixed(1)} MiB; answers while full ${JSON.stringify(full)}, SQLSTATEs logged ${sqlstates.join(',')}; ` +
        `PostgreSQL PANIC/FATAL lines: ${panics.length}; first 201 ${(recoveredMs / 1000).toFixed(2)} s after the filler was removed; ` +
        `${acked.size} acknowledged, ${rows.size} stored; pg_amcheck --heapallindexed clean; verify-audit exit 0`,
    );
    noSanitizerReports(svc, 'the disk-full service');
    assert.equal(await svc.stop(), 0, 'the disk-full service exits 0 on SIGTERM');
    svc = null;
  } finally {
    if (svc) await svc.kill();
    if (cluster) await cluster.destroy().catch(() => {});
    fs.rmSync(filler, { force: true });
    await run('umount', [mount.dir]).catch(() => run('umount', ['-l', mount.dir]));
    fs.rmSync(mount.dir, { recursive: true, force: true });
  }
});

// ---- a handler that does not return by the end of the shutdown grace ---------------------

test('a_handler_still_running_after_the_shutdown_grace_is_named_in_the_log', async (t) => {
  // A table lock held by another session keeps a submission's handler in
  // its INSERT; SIGTERM then waits SHUTDOWN_GRACE=1 s for it, and the log
  // must say which request it is, not only that one is open. The lock ends
  // by itself after a few seconds, so the service exits cleanly after.
  const svc = await startService(ctx.cluster, { SHUTDOWN_GRACE: '1' });
  t.after(() => svc.kill());
  const holder = await ctx.cluster.lockTable('suggestions', 4);
  const rid = `stuck-${process.pid}`;
  const pending = api(svc.url).post('/v1/suggestions', {
    token: w.tokens.memA,
    body: { unit_id: w.units.A, category_id: w.categories.org, title: 'held by a lock', body: '内容' },
    headers: { 'X-Request-Id': rid },
  }).catch((e) => e);
  assert.ok(await ctx.cluster.serviceWaitsForLock(), 'the submission waits for the lock');
  const code = await svc.stop();
  await holder.ended;
  await pending;
  const line = svc.jsonLogs().find((l) => l.msg === 'request still in its handler');
  t.diagnostic(`shutdown report: ${JSON.stringify(line)}`);
  assert.ok(line, `the log names the request still in its handler:\n${svc.logs.map((l) => l.line).join('\n')}`);
  assert.equal(line.request_id, rid);
  assert.equal(line.method, 'POST');
  assert.equal(line.route, '/v1/suggestions');
  assert.ok(line.seconds >= 1, `it had run for the grace at least (${line.seconds} s)`);
  assert.equal(code, 0, 'the service exits 0 once the handler has returned');
});

