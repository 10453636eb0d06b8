// A throwaway PostgreSQL cluster per test file, through scripts/pg.sh.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT } from './contract.mjs';
import { waitFor } from './service.mjs';

const PG_SH = path.join(REPO_ROOT, 'scripts/pg.sh');

// Clusters not destroyed yet. Should the test process end without its
// after() hooks (an uncaught error, Ctrl-C), they are stopped and removed
// on the way out, so that no postgres is left running in /tmp.
const live = new Set();
process.on('exit', () => {
  for (const dir of live) {
    try {
      execFileSync(PG_SH, ['stop', dir], { stdio: 'ignore', timeout: 30000 });
    } catch {
      /* best effort */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.once(signal, () => process.exit(code)); // runs the 'exit' handlers
}

/** Runs scripts/pg.sh; resolves to {code, stdout, stderr}, never rejects on exit status. */
export function pgsh(args, { timeoutMs = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(PG_SH, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        // Not an exit status: the script is missing, not executable, or timed out.
        reject(new Error(`scripts/pg.sh ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

async function pgshOk(args) {
  const r = await pgsh(args);
  if (r.code !== 0) throw new Error(`scripts/pg.sh ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Creates and starts a cluster in a new temporary directory (in `parent`,
 * the system's temporary directory unless given). Resolves to
 *   dir
 *   url(role)            libpq conninfo; role 'service' | 'owner' | 'super'
 *   psql(sql)            runs sql as the superuser on db yijian; resolves to
 *                        the trimmed -At output; rejects when psql fails
 *   psqlAs(role, sql)    runs sql as a database role ('yijian',
 *                        'yijian_owner'); resolves to {code, stdout, stderr}
 *   lockTable(table, seconds)
 *                        holds an ACCESS EXCLUSIVE lock on table in a session
 *                        of its own for seconds; resolves, once the lock is
 *                        granted, to a promise of that session's end
 *   serviceWaitsForLock()
 *                        resolves true once a session of the service waits
 *                        for a lock (null after 10 s)
 *   stop(mode), start()  stop ('fast', or 'immediate' as in a crash) and start
 *                        the server, same socket
 *   destroy()            stop and remove the directory; safe to call twice
 */
export async function startCluster({ parent = os.tmpdir() } = {}) {
  if (!fs.existsSync(PG_SH)) throw new Error(`${PG_SH} does not exist: the black-box tests need it`);
  const dir = fs.mkdtempSync(path.join(parent, 'yijian-test-'));
  live.add(dir);
  // As root, pg.sh runs the server as an unprivileged user, which must be
  // able to reach the directory.
  fs.chmodSync(dir, 0o755);
  let destroyed = false;
  const cluster = {
    dir,
    urls: {},
    url(role = 'service') {
      const u = cluster.urls[role];
      if (!u) throw new Error(`no conninfo for role kind ${role}`);
      return u;
    },
    async psql(sql) {
      return (await pgshOk(['psql', dir, '-At', '-c', sql])).trim();
    },
    psqlAs(role, sql) {
      return pgsh(['psql-as', role, dir, '-At', '-c', sql]);
    },
    async lockTable(table, seconds) {
      const ended = pgsh(['psql', dir, '-c', `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(${seconds}); COMMIT;`]);
      const granted = `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '${table}' AND l.mode = 'AccessExclusiveLock' AND l.granted`;
      if (!(await waitFor(async () => (await cluster.psql(granted)) === '1', { intervalMs: 50 }))) throw new Error(`no lock on ${table} within 10 s`);
      return { ended };
    },
    serviceWaitsForLock() {
      const waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'yijian'";
      return waitFor(async () => (await cluster.psql(waiting)) !== '0', { intervalMs: 50 });
    },
    async stop(mode = 'fast') {
      await pgshOk(['stop', dir, mode]);
    },
    async start() {
      await pgshOk(['start', dir]);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        await pgsh(['stop', dir]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        live.delete(dir);
      }
    },
  };
  try {
    await pgshOk(['start', dir]);
    for (const role of ['service', 'owner', 'super']) {
      cluster.urls[role] = (await pgshOk(['url', dir, role])).trim();
    }
  } catch (e) {
    await cluster.destroy().catch(() => {});
    throw e;
  }
  return cluster;
}
