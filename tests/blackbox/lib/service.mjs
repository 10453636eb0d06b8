// Runs the yijian binary under test: `serve` as a child process that the
// tests talk to over HTTP, and the one-shot CLI commands.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import { REPO_ROOT } from './contract.mjs';
import { SERVICE_LOGS, harvestCliOutput, harvestMemberState, testName } from './secrets.mjs';

export const BIN = path.resolve(REPO_ROOT, process.env.YIJIAN_BIN || 'build/yijian');

const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 15000;

// Every child still running when the test process exits is killed, so that
// a failing test (or a crash of the runner) leaves nothing behind.
const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

// Every service's stderr and every command's output go to a file of their
// own in SERVICE_LOGS, for lib/logcheck.mjs to grep after the run.
let logSeq = 0;
function logFile(what) {
  fs.mkdirSync(SERVICE_LOGS, { recursive: true });
  return path.join(SERVICE_LOGS, `${testName()}-${process.pid}-${++logSeq}-${what}.log`);
}

/**
 * Every `serve` started by this test process, in order: the fixture reads
 * the logs of all of them for sanitizer reports, not only its own.
 */
export const servicesStarted = [];

/** Sanitizer lines printed by one-shot commands (runCli), with the command. */
export const cliSanitizerReports = [];
export const SANITIZER_LINE = /Sanitizer|runtime error:/;

function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}

/**
 * The master key file of a cluster: 64 hex characters, mode 0600, in the
 * cluster's directory (created on first use, removed with the cluster), so
 * that every service started on one cluster opens the same secrets.
 */
export function masterKeyFile(cluster) {
  const file = path.join(cluster.dir, 'master.key');
  try {
    fs.writeFileSync(file, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  return file;
}

function baseEnv(cluster, extraEnv) {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.DATABASE_OWNER_URL;
  delete env.MASTER_KEY;
  delete env.MASTER_KEY_FILE;
  return {
    ...env,
    ...(cluster
      ? { DATABASE_URL: cluster.url('service'), DATABASE_OWNER_URL: cluster.url('owner'), MASTER_KEY_FILE: masterKeyFile(cluster) }
      : {}),
    // Anonymous acts at once unless a test asks for a release window
    // (release-window.test.mjs): the other files test what happens to an
    // act, not when.
    ANON_RELEASE_WINDOW: '0',
    ...extraEnv,
  };
}

/**
 * Starts `yijian serve` on 127.0.0.1 and a free port, against the cluster.
 * Resolves once the `listening` log line has been seen, to
 *   url      'http://127.0.0.1:PORT'
 *   proc     the ChildProcess
 *   logs     stderr lines so far, each {line, json} (json null when the line is not JSON)
 *   exited   a promise of {code, signal}
 *   closed   a promise, settled once the process has exited and its output is read
 *   stop()   SIGTERM; resolves to the exit code (null when killed after the timeout)
 *   kill()   SIGKILL
 */
export function startService(cluster, extraEnv = {}) {
  const proc = track(
    spawn(BIN, ['serve'], {
      cwd: REPO_ROOT,
      env: baseEnv(cluster, { LISTEN: '127.0.0.1:0', ...extraEnv }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const logs = [];
  const stdout = [];
  // Closed on 'close', not 'exit': stderr (a sanitizer's report at exit
  // included) may still be read after the process has gone.
  let logFd = fs.openSync(logFile('serve'), 'a');
  proc.on('close', () => {
    fs.closeSync(logFd);
    logFd = null;
  });
  proc.stdout.on('data', (d) => stdout.push(d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  // 'close' comes after stderr has been read to its end (a sanitizer's
  // report at exit included).
  const closed = new Promise((resolve) => proc.on('close', resolve));

  const svc = {
    url: null,
    proc,
    logs,
    exited,
    closed,
    /** The lines of the log that are JSON, parsed. */
    jsonLogs: () => logs.filter((l) => l.json).map((l) => l.json),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return exited;
    },
  };

  servicesStarted.push(svc);
  return new Promise((resolve, reject) => {
    const describe = (why) =>
      new Error(`${why}\n${BIN} serve, stderr:\n${logs.map((l) => l.line).join('\n')}\nstdout:\n${Buffer.concat(stdout).toString()}`);
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(describe(`no "listening" line within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(describe(`could not start: ${e.message}`));
    });
    proc.on('exit', (code, signal) => {
      if (svc.url) return;
      clearTimeout(timer);
      reject(describe(`exited (code ${code}, signal ${signal}) before listening`));
    });
    readline.createInterface({ input: proc.stderr }).on('line', (line) => {
      let json = null;
      try {
        json = JSON.parse(line);
      } catch {
        /* kept as text; the log test reports it */
      }
      logs.push({ line, json });
      if (logFd !== null) fs.writeSync(logFd, `${line}\n`);
      if (!svc.url && json && json.msg === 'listening' && typeof json.url === 'string') {
        svc.url = json.url;
        clearTimeout(timer);
        resolve(svc);
      }
    });
  });
}

/**
 * Runs a one-shot command (`migrate`, `create-admin LOGIN NAME`, ...)
 * against the cluster. Resolves to {code, signal, stdout, stderr}.
 */
export function runCli(cluster, args, { env = {}, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = track(spawn(BIN, args, { cwd: REPO_ROOT, env: baseEnv(cluster, env), stdio: ['ignore', 'pipe', 'pipe'] }));
    const out = [];
    const err = [];
    proc.stdout.on('data', (d) => out.push(d));
    proc.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${BIN} ${args.join(' ')}: ${e.message}`));
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      // Codes printed on purpose (create-admin, import-roster) are secrets
      // the logs must not hold; what a command writes to stderr is a log.
      harvestCliOutput(stdout);
      if (args[0] === 'member') harvestMemberState(args, env);
      if (stderr) fs.writeFileSync(logFile(`${args[0]}-stderr`), stderr);
      for (const line of stderr.split('\n').filter((l) => SANITIZER_LINE.test(l))) {
        cliSanitizerReports.push(`yijian ${args[0]} (pid ${proc.pid}): ${line}`);
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Polls fn() until it returns a truthy value or timeoutMs passes; resolves to that value or null. */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 200 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* try again */
    }
    if (Date.now() >= end) return null;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
