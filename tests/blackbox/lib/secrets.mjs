// What the black-box tests saw that must never be in a log: every secret
// the tests send or receive (passwords, session tokens, activation codes,
// tracking codes, the inputs and outputs of anonymity tokens) and the
// request ids of anonymous requests (which must leave no log line at all).
// The fixture records them as they pass (lib/contract.mjs, lib/service.mjs)
// into SERVICE_LOGS, next to every service's stderr; lib/logcheck.mjs
// greps the logs for them after the whole run (scripts/test.sh).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVICE_LOGS = path.resolve(REPO_ROOT, process.env.YIJIAN_SERVICE_LOGS || 'build/test-logs/service-logs');

// Shorter strings could occur in a log by chance (a test's "x" password).
export const MIN_SECRET_CHARS = 8;

/** The test file this process runs (node --test runs one per process). */
export const testName = () => path.basename(process.argv[1] ?? 'unknown').replace(/\.test\.mjs$/, '');

let file = null;
function append(entry) {
  if (!file) {
    fs.mkdirSync(SERVICE_LOGS, { recursive: true });
    file = path.join(SERVICE_LOGS, `secrets-${testName()}-${process.pid}.jsonl`);
  }
  fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

const seen = new Set();
/** Records a secret of a kind ("password", "session", ...); short or non-string values are ignored. */
export function recordSecret(kind, value) {
  if (typeof value !== 'string' || value.length < MIN_SECRET_CHARS) return;
  const key = `${kind}\0${value}`;
  if (seen.has(key)) return;
  seen.add(key);
  append({ kind, value });
}

/** Records an anonymous request by its X-Request-Id: no log line may name it. */
export function recordAnonymous(requestId, method, urlPath, status) {
  if (typeof requestId !== 'string' || !requestId) return;
  append({ kind: 'anonymous-request', value: requestId, method, path: urlPath, status });
}

/** Secrets in a request the api helper sends and the answer it gets. */
export function harvest(method, urlPath, headers, body, res, resBody) {
  const auth = Object.entries(headers).find(([h]) => h.toLowerCase() === 'authorization')?.[1];
  if (typeof auth === 'string') {
    const m = /^(Bearer|Tracking)\s+(.*)$/i.exec(auth);
    if (m) recordSecret(m[1].toLowerCase() === 'bearer' ? 'session' : 'tracking-code', m[2]);
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    recordSecret('password', body.password);
    recordSecret('activation-code', body.code);
    if (body.token && typeof body.token === 'object') {
      recordSecret('token-input', body.token.input);
      recordSecret('token-output', body.token.output);
    }
  }
  if (resBody && typeof resBody === 'object' && !Array.isArray(resBody)) {
    recordSecret('session', resBody.token);
    recordSecret('activation-code', resBody.activation_code);
    recordSecret('tracking-code', resBody.tracking_code);
  }
  const p = urlPath.split('?')[0];
  const anonymousSubmission = method === 'POST' && p === '/v1/suggestions' && !auth && body && typeof body === 'object' && body.token;
  const tracked = typeof auth === 'string' && /^Tracking\s/i.test(auth);
  if (anonymousSubmission || tracked) {
    const get = (n) => (typeof res.headers.get === 'function' ? res.headers.get(n) : res.headers[n.toLowerCase()]);
    recordAnonymous(get('x-request-id'), method, p, res.status);
  }
}

/** Codes a CLI command printed on purpose: activation codes (create-admin,
 * import-roster), tracking codes (member submit --anonymous). */
export function harvestCliOutput(text) {
  for (const m of text.matchAll(/\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b/g)) recordSecret('activation-code', m[0]);
  for (const m of text.matchAll(/tracking code: ([0-9A-Z]{26})/g)) recordSecret('tracking-code', m[1]);
}

/** The member client's secrets in its state directory (`member --state DIR`
 * or YIJIAN_MEMBER_STATE): the session token, its tokens' inputs and outputs. */
export function harvestMemberState(args, env) {
  const i = args.indexOf('--state');
  const dir = i >= 0 ? args[i + 1] : env?.YIJIAN_MEMBER_STATE;
  if (!dir) return;
  try {
    recordSecret('session', fs.readFileSync(path.join(dir, 'session'), 'utf8').trim());
  } catch {
    /* not signed in */
  }
  try {
    for (const t of JSON.parse(fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8'))) {
      recordSecret('token-input', t.input);
      recordSecret('token-output', t.output);
    }
  } catch {
    /* no tokens */
  }
}
