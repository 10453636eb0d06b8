// Steps taken with a tracking code in the web client (issue 20): a
// message written with the code waits on the phone for a random moment
// before the end of the release window, says until when ("将于 HH:MM 前
// 匿名送达"), arrives once, and leaves nothing on the phone after 退出.
// A short window (ANON_RELEASE_WINDOW) keeps it quick; the phone's random
// fraction is fixed at one half (only the 32-bit draws the send time is
// made of), so that "not sent at once" is certain, not likely.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { fetchTokens } from '../blackbox/lib/anon.mjs';
import { checkResponse, templateFor } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';

const WINDOW = 10;
const ctx = useService({ ANON_RELEASE_WINDOW: String(WINDOW) });
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextBoundary = (t = Date.now()) => (Math.floor(t / 1000 / WINDOW) + 1) * WINDOW * 1000;
const hhmm = (ms) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(11, 16);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const q = (sql) => ctx.cluster.psql(sql);

let browser;
let w;
let code;
const title = `查询码留言 ${process.pid}`;
const errors = [];

/** Polls fn until it returns something truthy, or fails after ms. */
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  await ctx.ready;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
  w = await worldBuilder(ctx, { adminLogin: 'steps-admin' });
  await w.unit('b', '第二党支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织生活', portfolio: '组织' });
  await w.account('com', '王委员', 'b', ['member', 'committee'], ['组织']);
  await w.account('mem', '周六', 'b', ['member']);
  // An anonymous suggestion of the member, released, whose code the member kept.
  const [t] = await fetchTokens(ctx.api, w.tokens.mem, 1, w.units.b);
  const r = await ctx.api.post('/v1/suggestions', { headers: { 'Idempotency-Key': crypto.randomUUID() }, body: { unit_id: w.units.b, category_id: w.categories.cat, title, body: '会议室的空调坏了。', token: t } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  code = r.body.tracking_code;
  await sleep(Math.max(0, Date.parse(r.body.release_at) - Date.now()));
  await until(async () => (await q(`select count(*) from suggestions where title = ${lit(title)}`)) === '1', 10000, 'the release');
});

after(async () => {
  await browser?.close();
});

/** localStorage, sessionStorage and IndexedDB of the page, as text. */
async function kept(page) {
  return page.evaluate(async () => {
    const idb = await new Promise((resolve) => {
      const req = indexedDB.open('yijian');
      req.onsuccess = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains('kv')) return resolve({});
        const out = {};
        const cur = d.transaction('kv').objectStore('kv').openCursor();
        cur.onsuccess = () => {
          const c = cur.result;
          if (!c) return resolve(out);
          out[c.key] = c.value;
          c.continue();
        };
      };
      req.onerror = () => resolve({});
    });
    return { local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), idb: JSON.stringify(idb) };
  });
}

test('a_message_written_with_the_tracking_code_waits_for_its_moment_arrives_once_and_leaves_nothing_after_sign_out', async () => {
  const context = await browser.newContext({ ...PHONE, baseURL: ctx.svc.url });
  // The send time is now + fraction × (boundary − now): the fraction is one half here.
  await context.addInitScript(() => {
    const real = crypto.getRandomValues.bind(crypto);
    crypto.getRandomValues = (a) => {
      if (a instanceof Uint32Array && a.length === 1) {
        a[0] = 2 ** 31;
        return a;
      }
      return real(a);
    };
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (url.origin !== ctx.svc.url || !url.pathname.startsWith('/v1/')) return;
    try {
      const headers = await res.allHeaders();
      const buf = await res.body();
      const body = /json/.test(headers['content-type'] ?? '') && buf.length ? JSON.parse(buf.toString('utf8')) : '';
      checkResponse(res.request().method(), templateFor(url.pathname), { status: res.status(), headers }, body);
    } catch (e) {
      if (!/closed|Response body is unavailable/.test(e.message)) errors.push(`${url.pathname}: ${e.message}`);
    }
  });
  const posted = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/v1/tracked/messages') posted.push({ at: Date.now(), auth: req.headers().authorization });
  });

  await page.goto('/');
  await page.getByLabel('账号（手机号或用户名）').fill(w.logins.mem);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: /您好/ }).waitFor();
  await page.locator('#token-note', { hasText: /本机有 \d+ 张匿名凭证/ }).waitFor();

  await page.goto('/#/track');
  await page.getByLabel('查询码', { exact: true }).fill(code);
  await page.getByRole('button', { name: '查看' }).click();
  await page.getByRole('heading', { name: title }).waitFor();

  // At the start of a window, so that its half is a few seconds away.
  const b0 = nextBoundary();
  if (b0 - Date.now() < WINDOW * 1000 - 1500) await sleep(b0 - Date.now() + 100);
  const text = `请尽快修好，${process.pid}`;
  await page.getByLabel('给承办人留言').fill(text);
  const written = Date.now();
  await page.getByRole('button', { name: '发送留言' }).click();
  const boundary = nextBoundary(written);

  // Shown with its time, in the flash and in the code's own list, and not sent.
  await page.getByText(`已保存在本机，将于 ${hhmm(boundary)} 前匿名送达`).waitFor({ timeout: 2000 });
  const item = page.locator('section', { has: page.getByRole('heading', { name: '本机待发送' }) });
  await item.getByText(`将于 ${hhmm(boundary)} 前匿名送达`).waitFor({ timeout: 2000 });
  assert.match(await item.innerText(), /留言：/);
  await sleep(Math.max(0, written + 2500 - Date.now()));
  assert.equal(posted.length, 0, 'not sent at once');
  assert.equal(await q(`select count(*) from held_acts`), '0', 'nothing held by the service yet');

  // Sent once, at its moment, with the code and nothing else; shown held; released once.
  await until(() => posted.length > 0, boundary - Date.now() + 2000, 'the message to be sent');
  assert.ok(posted[0].at >= written + (boundary - written) / 2 - 1000, `sent at its moment (${posted[0].at - written} ms after writing)`);
  assert.ok(posted[0].at < boundary, `sent before the boundary (${posted[0].at - boundary} ms)`);
  assert.equal(posted[0].auth, `Tracking ${code}`);
  await page.getByRole('list', { name: '待生效的匿名操作' }).getByText(text).waitFor({ timeout: 5000 });
  await until(async () => (await q(`select count(*) from messages where body = ${lit(text)}`)) === '1', boundary - Date.now() + 8000, 'the release of the message');
  await sleep(1500);
  assert.equal(posted.length, 1, 'sent once');
  assert.equal(await q(`select count(*) from messages where body = ${lit(text)}`), '1', 'stored once');
  assert.ok(!(await kept(page)).local.includes(code), 'the code is not kept once its step arrived');

  // A second one still waiting when the member signs out: 退出 says so, and erases it.
  const b1 = nextBoundary();
  if (b1 - Date.now() < WINDOW * 1000 - 1500) await sleep(b1 - Date.now() + 100);
  const second = `第二条留言 ${process.pid}`;
  await page.getByLabel('给承办人留言').fill(second);
  const written2 = Date.now();
  await page.getByRole('button', { name: '发送留言' }).click();
  await page.getByText('将于').first().waitFor({ timeout: 2000 });
  const during = await kept(page);
  assert.ok(during.local.includes(code) && during.local.includes(second), 'the waiting step is kept on the phone meanwhile');
  await page.getByRole('link', { name: '退出' }).click();
  await page.getByText('项操作（附议、留言、评价等）还没有发出').waitFor();
  await page.getByRole('button', { name: '仍然退出，并从本机删除' }).click();
  await page.getByRole('heading', { name: '登录' }).waitFor();
  const left = await kept(page);
  for (const t of [code, text, second, title]) for (const [where, v] of Object.entries(left)) assert.ok(!v.includes(t), `after 退出, ${where} still holds ${t}`);
  // Past the moment it would have gone (half-way to its boundary).
  await sleep(Math.max(0, written2 + (nextBoundary(written2) - written2) / 2 + 1500 - Date.now()));
  assert.equal(posted.length, 1, 'the erased step was never sent');
  assert.equal(await q(`select count(*) from messages where body = ${lit(second)}`), '0');
  await context.close();
});

test('the_page_raised_no_error_and_every_answer_matched_the_contract', () => {
  assert.deepEqual(errors, []);
});
