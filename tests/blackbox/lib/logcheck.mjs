// Greps the logs of a black-box run for what must never be in them
// (lib/secrets.mjs records it): any recorded secret or the request id of an
// anonymous request in any log (the service's and every command's), and a
// client address in the service's. Run after the whole suite:
//   node tests/blackbox/lib/logcheck.mjs [DIR]
// prints what it found and "logcheck: N passed, N failed" (one check per
// kind of secret and one for addresses), exit 1 on any hit.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SERVICE_LOGS } from './secrets.mjs';

// The only lines allowed to carry a loopback address: where the service
// listens, and a failed webhook delivery, whose curl message names the
// receiver a secretary configured (an outgoing address, no client's; the
// tests' receivers listen on loopback).
const LISTENING = /"msg":"listening"|"msg":"notification \d+: attempt \d+ failed: /;
const ADDRESS = /\b127\.0\.0\.1\b|::1\b|::ffff:/;

/**
 * Scans dir: the *.log files against the secrets-*.jsonl records. Returns
 * {secrets, lines, files, kinds: Map kind -> count, hits: [{kind, file, line, excerpt}]}.
 */
export function scanLogs(dir) {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const records = [];
  for (const n of names.filter((x) => /^secrets-.*\.jsonl$/.test(x))) {
    for (const l of fs.readFileSync(path.join(dir, n), 'utf8').split('\n')) if (l) records.push(JSON.parse(l));
  }
  const byValue = new Map();
  const kinds = new Map();
  for (const r of records) {
    if (!byValue.has(r.value)) byValue.set(r.value, r.kind);
    kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
  }
  const hits = [];
  let lines = 0;
  const logs = names.filter((x) => x.endsWith('.log'));
  for (const n of logs) {
    const text = fs.readFileSync(path.join(dir, n), 'utf8');
    text.split('\n').forEach((line, i) => {
      if (!line) return;
      lines++;
      for (const [value, kind] of byValue) {
        if (line.includes(value)) hits.push({ kind, file: n, line: i + 1, excerpt: line.slice(0, 200).replace(value, `<${kind}>`) });
      }
      // Addresses: in the service's own log (a client's messages name the
      // server it calls, which is no one's secret).
      if (/-serve(-stderr)?\.log$/.test(n) && !LISTENING.test(line) && ADDRESS.test(line)) hits.push({ kind: 'address', file: n, line: i + 1, excerpt: line.slice(0, 200) });
    });
  }
  return { secrets: byValue.size, lines, files: logs.length, kinds, hits };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2] ?? SERVICE_LOGS);
  const r = scanLogs(dir);
  const kinds = [...new Set([...r.kinds.keys(), 'address'])].sort();
  let passed = 0;
  let failed = 0;
  for (const k of kinds) {
    const hits = r.hits.filter((h) => h.kind === k);
    console.log(`  ${k.padEnd(18)} ${String(r.kinds.get(k) ?? '-').padStart(6)} recorded  ${hits.length} found in the logs`);
    for (const h of hits.slice(0, 5)) console.log(`    ${h.file}:${h.line}: ${h.excerpt}`);
    if (hits.length) failed++;
    else passed++;
  }
  // A run that recorded nothing or logged nothing checked nothing.
  if (r.secrets === 0 || r.lines === 0) {
    console.log(`  nothing to check in ${dir}: ${r.secrets} secrets, ${r.lines} log lines`);
    failed++;
  }
  console.log(`logcheck: ${r.files} logs, ${r.lines} lines, ${r.secrets} secrets`);
  console.log(`logcheck: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
