// The operator's commands speak Chinese (issue 24): every error path of
// `yijian` outside the member client prints a Chinese message, with no
// English sentence in it; what machines read (ids, codes, JSON, the route
// table) is unchanged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';

import { useService } from './lib/fixture.mjs';
import { runCli } from './lib/service.mjs';

const ctx = useService();
let dir;

before(async () => {
  await ctx.ready;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yijian-cli-'));
});

// Names that stay as they are inside a Chinese sentence: commands,
// variables, file names.
const ALLOWED = [/yijian [a-z-]+/g, /make run/g, /MASTER_KEY(_FILE)?/g, /DATABASE_URL/g, /--key BASE64/g];
function englishSentence(text) {
  let t = text;
  for (const a of ALLOWED) t = t.replace(a, '');
  return t.match(/\b[A-Za-z]{2,} [A-Za-z]{2,}\b/)?.[0] ?? null;
}

async function chinese(args, { code, env } = {}) {
  const r = await runCli(ctx.cluster, args, { env });
  if (code !== undefined) assert.equal(r.code, code, `yijian ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  const text = r.stderr.trim();
  assert.ok(text, `yijian ${args.join(' ')} says why`);
  assert.match(text, /[\u4e00-\u9fff]/, `yijian ${args.join(' ')}: ${text}`);
  assert.equal(englishSentence(text), null, `yijian ${args.join(' ')} prints English: ${text}`);
  return r;
}

test('every_error_of_the_operator_commands_is_chinese', async () => {
  const missing = path.join(dir, 'no-such.csv');
  const big = path.join(dir, 'big.csv');
  fs.writeFileSync(big, Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
  const badDoc = path.join(dir, 'x.json');
  fs.writeFileSync(badDoc, '{}');
  const cases = [
    [['no-such-command'], 2],
    [['create-admin', ''], 2],
    [['create-admin', 'x'.repeat(100)], 2],
    [['import-roster', missing], 1],
    [['import-roster', big], 1],
    [['import-roster'], 2],
    [['verify-audit', '--key', 'not-base64'], 2],
    [['publish', 'abc'], 2],
    [['publish', '999999'], 1],
    [['verify-bulletin'], 2],
    [['verify-bulletin', badDoc, '--key', 'short'], 2],
    [['routes', '--yaml'], 2],
    [['problem-text', 'extra'], 2],
  ];
  for (const [args, code] of cases) await chinese(args, { code });
  // Twice the same login: the second is refused in Chinese.
  const first = await runCli(ctx.cluster, ['create-admin', 'cli-admin', '管理员']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout.trim(), /^\S+$/, 'the code alone, for machines');
  await chinese(['create-admin', 'cli-admin', '管理员'], { code: 1 });
  // Without the master key, publish and verify-audit say which variables.
  const noKey = { MASTER_KEY: '', MASTER_KEY_FILE: '' };
  const p = await chinese(['publish', '1'], { code: 2, env: noKey });
  assert.match(p.stderr, /MASTER_KEY/);
  await chinese(['verify-audit'], { code: 2, env: noKey });
  await chinese(['serve'], { code: 2, env: noKey });
});

test('help_is_chinese_and_machine_output_is_unchanged', async () => {
  const help = await runCli(null, ['help']);
  assert.equal(help.code, 0);
  const commands = help.stdout.split('\n\n')[1];
  assert.match(commands, /^命令：/);
  assert.equal(englishSentence(commands), null, commands);
  const routes = await runCli(null, ['routes', '--json']);
  assert.equal(routes.code, 0);
  assert.ok(Array.isArray(JSON.parse(routes.stdout)));
  const table = await runCli(null, ['routes']);
  assert.match(table.stdout, /^\| method \| path \| who may call it \| body \|$/m, 'the table docs/security.md holds');
});
