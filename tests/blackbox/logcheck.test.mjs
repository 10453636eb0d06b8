// Tests of the log checker (lib/logcheck.mjs) on made-up logs: it must find
// a planted secret, an anonymous request's id and a client address, and
// nothing in a clean log. scripts/test.sh runs it on the real logs of the
// whole black-box run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { scanLogs } from './lib/logcheck.mjs';

function dirWith(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yijian-logcheck-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const SESSION = 'q3Zb5Gm0c2Yx8n1K4V7tR9wLp6Ds0Aa2Hh5Jj8Ee1Ff';
const records = [
  { kind: 'session', value: SESSION },
  { kind: 'password', value: 'correct horse battery staple' },
  { kind: 'anonymous-request', value: '0123456789abcdef0123456789abcdef', method: 'POST', path: '/v1/suggestions', status: 201 },
].map((r) => JSON.stringify(r)).join('\n');
const clean = [
  '{"level":"info","msg":"listening","url":"http://127.0.0.1:40123"}',
  '{"level":"info","msg":"request","request_id":"ffffffffffffffffffffffffffffffff","method":"GET","route":"/v1/me","status":200}',
].join('\n');

test('a_clean_log_passes', () => {
  const dir = dirWith({ 'secrets-x-1.jsonl': records, 'x-1-1-serve.log': clean });
  const r = scanLogs(dir);
  assert.deepEqual(r.hits, []);
  assert.equal(r.secrets, 3);
  assert.equal(r.lines, 2);
});

test('a_planted_secret_is_found_wherever_it_is', () => {
  const line = `{"level":"warn","msg":"odd header","value":"Bearer ${SESSION}"}`;
  const dir = dirWith({ 'secrets-x-1.jsonl': records, 'x-1-1-serve.log': `${clean}\n${line}\n`, 'y-2-1-create-admin-stderr.log': 'password was correct horse battery staple\n' });
  const kinds = scanLogs(dir).hits.map((h) => h.kind).sort();
  assert.deepEqual(kinds, ['password', 'session']);
});

test('a_logged_anonymous_request_is_found', () => {
  const line = '{"level":"info","msg":"request","request_id":"0123456789abcdef0123456789abcdef","method":"POST","route":"/v1/suggestions","status":201}';
  const hits = scanLogs(dirWith({ 'secrets-x-1.jsonl': records, 'x-1-1-serve.log': `${clean}\n${line}` })).hits;
  assert.equal(hits.length, 1);
  assert.equal(hits[0].kind, 'anonymous-request');
  assert.equal(hits[0].line, 3);
});

test('a_client_address_is_found_outside_the_listening_line', () => {
  for (const addr of ['127.0.0.1', '::1', '::ffff:10.0.0.1']) {
    const line = `{"level":"info","msg":"request","peer":"${addr}","route":"/v1/tracked"}`;
    const hits = scanLogs(dirWith({ 'secrets-x-1.jsonl': records, 'x-1-1-serve.log': `${clean}\n${line}` })).hits;
    assert.deepEqual(hits.map((h) => h.kind), ['address'], addr);
  }
  // a client naming the server it calls is not a client address
  const member = 'yijian member: could not reach http://127.0.0.1:1/v1/tracked';
  assert.deepEqual(scanLogs(dirWith({ 'secrets-x-1.jsonl': records, 'x-1-2-member-stderr.log': member })).hits, []);
});
