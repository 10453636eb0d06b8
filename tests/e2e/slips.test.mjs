// Activation slips (issue 25) printed by a real browser: Debian's chromium
// prints the page the service makes (with its own Content-Security-Policy)
// to a PDF of one A4 page, and each slip's QR code, rendered to pixels and
// read by an independent decoder (jsQR), is the activation link with that
// slip's login and code, and the code activates the account.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { REPO_ROOT } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';
import { decodeSlips, pdfPages } from './lib/slips.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Screenshots go to tests/e2e/out/; SCREENS_DIR=docs/screens refreshes the
// committed ones.
const SCREENS = path.resolve(REPO_ROOT, process.env.SCREENS_DIR || 'tests/e2e/out');
const ctx = useService({ PUBLIC_URL: 'https://yijian.example.org/' });
let browser;
let w;
const fresh = []; // {id, login, name}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'slips-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.account('secA', '支部书记', 'A', ['member', 'secretary']);
  for (const [i, name] of ['王小明', '李红', '张建国', '赵丽', '陈一二三四五六七八'].entries()) {
    const login = `1380000${process.pid % 1000}${i}`.slice(0, 11) + `x${i}`;
    const r = await ctx.api.post('/v1/accounts', { token: w.tokens.admin, body: { login, display_name: name, unit_id: w.units.A, roles: ['member'] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    fresh.push({ id: r.body.account.id, login, name });
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
});

after(async () => {
  await browser?.close();
});

/** The slips page as the service answers it, opened in the browser with its headers. */
async function openSlips(ids) {
  const r = await ctx.api.post('/v1/accounts/activation-slips', { token: w.tokens.secA, body: { account_ids: ids } });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  // bypassCSP only so that the test may draw the QR codes on a canvas; the
  // page's own CSP header is served with it.
  const context = await browser.newContext({ viewport: { width: 900, height: 1200 }, locale: 'zh-CN', bypassCSP: true });
  const page = await context.newPage();
  await page.route('https://slips.test/', (route) =>
    route.fulfill({ status: 200, headers: { 'content-type': r.headers.get('content-type'), 'content-security-policy': r.headers.get('content-security-policy') }, body: r.text }),
  );
  await page.goto('https://slips.test/');
  return { page, context, html: r.text };
}

test('slips_print_on_one_a4_page_and_each_qr_code_reads_as_its_activation_link', async () => {
  const { page, context, html } = await openSlips(fresh.map((a) => a.id));
  const slips = await page.$$eval('.slip', (els) => els.map((e) => ({ text: e.textContent, w: e.getBoundingClientRect().width })));
  assert.equal(slips.length, fresh.length);
  assert.ok(slips.every((s) => s.w > 300), 'laid out in two columns by the page\'s own style (its CSP lets it in)');

  const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  assert.equal(pdfPages(pdf), 1, 'one A4 page');
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, 'activation-slips.png'), fullPage: true });

  const links = await decodeSlips(page);
  assert.equal(links.length, fresh.length);
  for (const [i, a] of fresh.entries()) {
    assert.ok(slips[i].text.includes(a.name) && slips[i].text.includes(a.login), `slip ${i} names ${a.name}`);
    const code = slips[i].text.match(/[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}/)?.[0];
    assert.ok(code, `slip ${i} shows a code`);
    assert.equal(links[i], `https://yijian.example.org/#/activate?login=${encodeURIComponent(a.login)}&code=${code}`, `slip ${i}'s QR code`);
  }
  assert.ok(!html.includes('<script'), 'the page runs nothing');
  await context.close();

  // The link opens the web client's activation form, filled in, and the
  // code leaves the phone's history.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
  const tab = await phone.newPage();
  await tab.goto(`${ctx.svc.url}/${links[3].slice(links[3].indexOf('#'))}`);
  await tab.waitForSelector('input[name=code]');
  assert.equal(await tab.inputValue('input[name=login]'), fresh[3].login);
  assert.match(await tab.inputValue('input[name=code]'), /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.equal(await tab.evaluate(() => location.hash), '#/activate');
  await phone.close();

  // The code read from the QR code activates the account.
  const code = new URL(links[0].replace('#/activate', 'activate')).searchParams.get('code');
  const act = await ctx.api.post('/v1/auth/activate', { body: { login: fresh[0].login, code, password: PASSWORD } });
  assert.equal(act.status, 200, JSON.stringify(act.body));
});

test('a_new_slip_replaces_the_code_and_the_request_is_all_or_nothing', async () => {
  const before = Number(await ctx.cluster.psql(`select count(*) from audit_log where action like 'account.%code%'`));
  const mine = fresh[1];
  const { page, context } = await openSlips([mine.id]);
  const first = (await page.textContent('.code')).trim();
  await context.close();
  const again = await openSlips([mine.id]);
  const second = (await again.page.textContent('.code')).trim();
  await again.context.close();
  assert.notEqual(first, second);
  const old = await ctx.api.post('/v1/auth/activate', { body: { login: mine.login, code: first, password: PASSWORD } });
  assert.notEqual(old.status, 200, 'the earlier slip\'s code no longer works');
  assert.ok(Number(await ctx.cluster.psql(`select count(*) from audit_log where action like 'account.%code%'`)) >= before + 2, 'each code audited');

  // An account the secretary does not manage (the admin): 403, and nobody's code changes.
  const snapshot = await ctx.cluster.psql(`select string_agg(encode(code_hash, 'hex'), ',' order by account_id) from activation_codes`);
  const adminId = Number(await ctx.cluster.psql(`select id from accounts where login = 'slips-admin'`));
  const r = await ctx.api.post('/v1/accounts/activation-slips', { token: w.tokens.secA, body: { account_ids: [fresh[2].id, adminId] } });
  assert.equal(r.status, 403);
  assert.equal(await ctx.cluster.psql(`select string_agg(encode(code_hash, 'hex'), ',' order by account_id) from activation_codes`), snapshot);
  for (const bad of [{}, { account_ids: [] }, { account_ids: [1, 1] }, { account_ids: ['x'] }, { account_ids: Array.from({ length: 61 }, (_, i) => i + 1) }]) {
    const b = await ctx.api.post('/v1/accounts/activation-slips', { token: w.tokens.secA, body: bad });
    assert.equal(b.status, 422, JSON.stringify(bad));
  }
});
