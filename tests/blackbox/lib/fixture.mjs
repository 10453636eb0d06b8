// One cluster and one running service per test file, torn down by after()
// hooks whether the tests pass or not.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before } from 'node:test';

import { startCluster } from './cluster.mjs';
import { spawnSync } from 'node:child_process';

import { api, isChineseText, problemsSeen } from './contract.mjs';
import { BIN, cliSanitizerReports, SANITIZER_LINE, servicesStarted, startService } from './service.mjs';

/**
 * Each problem the file provoked in English, as a Chinese caller would
 * get it (`yijian problem-text`): the title, the detail and every field's
 * detail must be a Chinese sentence. Returns the failures, each naming the
 * request that provoked it.
 */
export function problemsWithoutChinese(seen = problemsSeen) {
  const list = [...seen.values()];
  if (!list.length) return [];
  const input = list.map(({ request, ...p }) => JSON.stringify(p)).join('\n') + '\n';
  const r = spawnSync(BIN, ['problem-text'], { input, encoding: 'utf8' });
  if (r.status !== 0) return [`yijian problem-text exited ${r.status}: ${r.stderr}`];
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const bad = [];
  out.forEach((zh, i) => {
    const en = list[i];
    const texts = [['title', zh.title]];
    if (en.detail !== undefined) texts.push([`detail "${en.detail}"`, zh.detail]);
    (en.errors ?? []).forEach((d, k) => texts.push([`field detail "${d}"`, zh.errors?.[k]]));
    for (const [what, t] of texts) if (!isChineseText(t)) bad.push(`${en.request}: ${en.type}: the ${what} has no Chinese text (got ${JSON.stringify(t)})`);
  });
  return bad;
}

/**
 * Registers before/after hooks in the calling test file; returns an object
 * that before() fills with {cluster, svc, api}. extraEnv goes to the service.
 */
export function useService(extraEnv = {}) {
  const ctx = { cluster: null, svc: null, api: null, ready: null };
  // Node 20 runs top-level before() hooks concurrently: a test file's own
  // before() must `await ctx.ready` before it uses the service.
  let done;
  let failed;
  ctx.ready = new Promise((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  ctx.ready.catch(() => {});
  before(async () => {
    try {
      if (!fs.existsSync(BIN)) throw new Error(`${BIN} does not exist: build it (make) or point YIJIAN_BIN at the binary`);
      ctx.cluster = await startCluster();
      ctx.svc = await startService(ctx.cluster, extraEnv);
      ctx.api = api(ctx.svc.url);
      done();
    } catch (e) {
      failed(e);
      throw e;
    }
  });
  // The service must stop cleanly: exit code 0 and no sanitizer report
  // (under ASan/UBSan a leak or undefined behaviour fails the file here).
  // Every other service the file started is stopped too (SIGTERM, so that
  // LeakSanitizer runs) and its log read the same way; one that a test
  // killed on purpose has only the reports printed before its end. The
  // one-shot commands of runCli (migrate, create-admin, ...) count too.
  after(async () => {
    let code = 0;
    if (ctx.svc) code = await ctx.svc.stop().catch((e) => e);
    await Promise.all(servicesStarted.map((s) => s.stop().catch(() => null)));
    await Promise.all(servicesStarted.map((s) => Promise.race([s.closed, new Promise((r) => setTimeout(r, 5000).unref())])));
    if (ctx.cluster) await ctx.cluster.destroy();
    const reports = servicesStarted.flatMap((s, i) =>
      s.logs
        .map((l) => l.line)
        .filter((line) => SANITIZER_LINE.test(line))
        .map((line) => `service #${i + 1} (pid ${s.proc.pid}): ${line}`),
    );
    assert.deepEqual([...reports, ...cliSanitizerReports], [], 'sanitizer reports in the logs of the service and the commands');
    if (ctx.svc) assert.equal(code, 0, 'service exit code after SIGTERM');
  });
  return ctx;
}

/** A problem body without the members that differ between two requests. */
export function stable(problemBody) {
  const { request_id: _r, instance: _i, ...rest } = problemBody;
  return rest;
}
