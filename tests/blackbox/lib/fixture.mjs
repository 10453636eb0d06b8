// One cluster and one running service per test file, torn down by after()
// hooks whether the tests pass or not.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before } from 'node:test';

import { startCluster } from './cluster.mjs';
import { api } from './contract.mjs';
import { BIN, cliSanitizerReports, SANITIZER_LINE, servicesStarted, startService } from './service.mjs';

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
