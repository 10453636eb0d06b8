// The web client in a real browser (Debian's chromium, driven by
// playwright-core) at a phone's size with touch, against the real binary
// and a real PostgreSQL (the black-box fixture): a member activates, signs
// in and sends an anonymous suggestion, keeping its tracking code; a
// committee member answers; the secretary approves and publishes; the
// holder of the code reads the answer and rates it; a named suggestion
// written with the network cut, and one whose answer is lost on the way,
// each arrive exactly once. Every main page is checked for labels and by
// axe-core, the sign-in is done by keyboard, every API answer the page
// gets is checked against the OpenAPI document, and screenshots go to
// tests/e2e/out/ for a person to look at.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';

import { chromium } from 'playwright-core';

import { REPO_ROOT, checkResponse, templateFor } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';
import { trackingCodeOf } from '../../web/src/tokens.js';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const OUT = path.join(REPO_ROOT, 'tests/e2e/out');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true };

// Notices caused by an anonymous submitter wait for the end of their batch
// window (an hour by default): one second here, so that the committee
// member's "new suggestion" notice is there when they sign in.
const ctx = useService({ NOTIFY_ANONYMOUS_BATCH: '1' });
let browser;
let w;
const people = {}; // name -> {context, page}
const contractErrors = [];
const pageErrors = [];
const run = { code: null, anonId: null, anonTitle: `食堂晚上开放时间 ${process.pid}` };

const q = (sql) => ctx.cluster.psql(sql);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

async function screenshot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

/** Every input has a label, and axe-core finds nothing (contrast included). */
async function accessible(page, what) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, [], `${what}: inputs without a label`);
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const violations = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
  return result;
}

/** A phone for one person; every API answer it gets is checked against the spec. */
async function phone(name) {
  const context = await browser.newContext({ ...PHONE, baseURL: ctx.svc.url });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.svc.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|ERR_FAILED/.test(m.text())) pageErrors.push(`${name}: console: ${m.text()}`);
  });
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (url.origin !== ctx.svc.url) return;
    try {
      const headers = await res.allHeaders();
      const ct = headers['content-type'] ?? '';
      // A revalidated page is reported as the cached 200, with the headers
      // of the service's actual answer, a 304: check that answer.
      const revalidated = res.status() === 200 && !ct && (await res.request().allHeaders())['if-none-match'];
      const status = revalidated ? 304 : res.status();
      const buf = status === 304 ? Buffer.alloc(0) : await res.body();
      const body = /json/.test(ct) && buf.length ? JSON.parse(buf.toString('utf8')) : buf.length ? buf.toString('utf8') : '';
      checkResponse(res.request().method(), templateFor(url.pathname), { status, headers }, body);
    } catch (e) {
      if (!/Target page, context or browser has been closed|No resource with given identifier|Response body is unavailable/.test(e.message)) contractErrors.push(`${res.request().method()} ${url.pathname}: ${e.message}`);
    }
  });
  people[name] = { context, page };
  return page;
}

async function signIn(page, login) {
  await page.goto('/');
  await page.getByLabel('账号（手机号或用户名）').fill(login);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: /您好/ }).waitFor();
}

before(async () => {
  await ctx.ready;
  fs.rmSync(OUT, { recursive: true, force: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
  w = await worldBuilder(ctx, { adminLogin: 'e2e-admin' });
  await w.unit('branch', '第一党支部', 'branch');
  await w.portfolio('branch', '组织');
  await w.category('life', 'branch', { name: '组织生活', portfolio: '组织' });
  await w.account('com', '王委员', 'branch', ['member', 'committee'], ['组织']);
  await w.account('sec', '赵书记', 'branch', ['member', 'secretary']);
  const login = `limin-${process.pid}`;
  const r = await ctx.api.post('/v1/accounts', { token: w.tokens.admin, body: { login, display_name: '李明', unit_id: w.units.branch, roles: ['member'] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  w.member = { login, code: r.body.activation_code };
});

after(async () => {
  await browser?.close();
});

test('a_member_activates_signs_in_and_gets_tokens_in_the_background', async () => {
  const page = await phone('member');
  await page.goto('/');
  await page.getByRole('heading', { name: '登录' }).waitFor();
  await accessible(page, 'sign-in page');
  await screenshot(page, '01-sign-in');

  await page.getByRole('link', { name: '用激活码激活账号' }).click();
  await page.getByLabel('账号（手机号或用户名）').fill(w.member.login);
  await page.getByLabel('激活码').fill(w.member.code.toLowerCase().replaceAll('-', ' '));
  await page.getByLabel('设置密码').fill(PASSWORD);
  await page.getByLabel('再输一次密码').fill(PASSWORD);
  await accessible(page, 'activation page');
  await screenshot(page, '02-activate');
  await page.getByRole('button', { name: '激活并登录' }).click();
  await page.getByRole('heading', { name: '李明，您好' }).waitFor();
  // Tokens are fetched, checked against the published key and kept in IndexedDB.
  await page.locator('#token-note', { hasText: '本机有 10 张匿名凭证' }).waitFor();
  const stored = await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('yijian');
    req.onsuccess = () => {
      const get = req.result.transaction('kv').objectStore('kv').get('tokens');
      get.onsuccess = () => resolve(get.result);
    };
    req.onerror = () => reject(req.error);
  }));
  assert.equal(stored.length, 10);
  for (const t of stored) assert.match(t.output, /^[A-Za-z0-9_-]{86}$/);
  await accessible(page, 'home page');
  await screenshot(page, '03-home');
});

test('the_member_submits_anonymously_and_keeps_the_tracking_code', async () => {
  const { page } = people.member;
  const sent = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/v1/suggestions') sent.push({ headers: req.headers(), body: req.postDataJSON() });
  });
  await page.getByRole('link', { name: '写意见' }).first().click();
  await page.getByRole('heading', { name: '写意见' }).waitFor();
  await page.getByLabel('匿名', { exact: true }).check();
  await page.getByRole('heading', { name: '匿名是什么意思' }).waitFor();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(run.anonTitle);
  await page.getByLabel('内容').fill('希望食堂晚上开放到八点，方便加班的同志。');
  await accessible(page, 'write page (anonymous)');
  await screenshot(page, '04-write-anonymous');
  await page.getByRole('button', { name: '匿名提交' }).click();
  await page.getByRole('heading', { name: '匿名意见已送达' }).waitFor();
  run.code = (await page.locator('#tracking-code').innerText()).replace(/\s/g, '');
  assert.match(run.code, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].headers.authorization, undefined, 'an anonymous submission carries no session');
  assert.ok(sent[0].body.token && sent[0].headers['idempotency-key']);
  // The client can derive the code from its token (how it recognises an
  // earlier attempt of its own whose answer was lost): the same as the service's.
  assert.equal(trackingCodeOf(sent[0].body.token.output), run.code);
  const row = JSON.parse(await q(`select row_to_json(s) from (select public_id, anonymous, author_id from suggestions where title = ${lit(run.anonTitle)}) s`));
  assert.equal(row.anonymous, true);
  assert.equal(row.author_id, null);
  run.anonId = row.public_id;

  await accessible(page, 'tracking code page');
  await screenshot(page, '05-tracking-code');
  await page.getByRole('button', { name: '复制查询码' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), run.code);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '保存为图片' }).click()]);
  const png = fs.readFileSync(await download.path());
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  assert.ok(png.length > 5000, `a picture with something on it (${png.length} bytes)`);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: '我已保存好查询码' }).click();
  await page.getByRole('heading', { name: '李明，您好' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('yj.outbox')), '[]', 'the code is kept nowhere once saved');
});

test('a_committee_member_signs_in_by_keyboard_accepts_and_answers', async () => {
  const page = await phone('committee');
  await page.goto('/');
  await page.getByRole('heading', { name: '登录' }).waitFor();
  // Keyboard only: Tab to the login field, type, Tab, type, Enter.
  for (let i = 0; i < 20 && !(await page.evaluate(() => document.activeElement?.name === 'login')); i++) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'login', 'the login field is reachable by Tab');
  await page.keyboard.type(w.logins.com);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'password');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: '王委员，您好' }).waitFor();
  // The notice of the new suggestion, unread in the menu; opening it
  // marks it read and shows the suggestion.
  await page.getByRole('link', { name: /^通知（\d+）$/ }).click();
  await page.getByRole('heading', { name: '通知' }).waitFor();
  const notice = page.getByRole('link', { name: `未读 新意见待处理：${run.anonTitle}` });
  await notice.waitFor();
  await accessible(page, 'notifications');
  await screenshot(page, '06-notifications');
  await notice.click();
  await page.getByRole('heading', { name: run.anonTitle }).waitFor();
  assert.match(page.url(), /#\/suggestions\/S-/);
  const read = JSON.parse(await q(`select json_agg(read_at is not null) from notifications n join suggestions s on s.id = n.suggestion_id where s.title = ${lit(run.anonTitle)} and n.event = 'assigned'`));
  assert.deepEqual(read, [true], 'opening the notice marked it read');
  await page.goto('/#/');
  await page.getByRole('heading', { name: '王委员，您好' }).waitFor();
  // The inbox, reached by keyboard too.
  const inbox = page.getByRole('link', { name: '待办' });
  await inbox.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: '我负责的' }).waitFor();
  const item = page.getByRole('list', { name: '我负责的' }).getByRole('link', { name: run.anonTitle });
  await item.waitFor();
  await accessible(page, 'inbox');
  await screenshot(page, '06-inbox');
  await item.click();
  await page.getByRole('heading', { name: run.anonTitle }).waitFor();
  await page.getByRole('button', { name: '受理' }).click();
  await page.locator('.badge.s-accepted').first().waitFor();
  await page.getByLabel('留言内容').fill('已收到，正在和食堂商量。');
  await page.getByRole('button', { name: '发送留言' }).click();
  await page.getByText('已收到，正在和食堂商量。').waitFor();
  await page.getByLabel('留言内容').fill('内部：需要后勤处配合。');
  await page.getByLabel('谁能看到').selectOption('internal');
  await page.getByRole('button', { name: '发送留言' }).click();
  await page.getByText('内部：需要后勤处配合。').waitFor();
  await page.getByLabel('答复结果').selectOption({ label: '采纳' });
  await page.getByLabel('答复内容').fill('从下月起，食堂晚上开放到八点。');
  await page.getByRole('button', { name: '保存答复' }).click();
  await page.getByRole('heading', { name: /答复草稿/ }).waitFor();
  await accessible(page, 'suggestion page (committee)');
  await screenshot(page, '07-committee-answer');
});

test('the_secretary_approves_and_publishes_the_bulletin', async () => {
  const page = await phone('secretary');
  await signIn(page, w.logins.sec);
  await page.goto(`/#/s/${run.anonId}`);
  await page.getByRole('button', { name: '审批通过，发给提出人' }).click();
  await page.locator('.badge.s-answered').first().waitFor();
  await screenshot(page, '08-secretary-approved');
  await page.goto('/#/inbox');
  await page.getByRole('button', { name: '发布“第一党支部”公开栏' }).click();
  await page.getByText(/已发布第1期，1 条答复/).waitFor();
  await accessible(page, 'inbox (secretary)');
  assert.equal(await q(`select status from suggestions where public_id = ${lit(run.anonId)}`), 'published');
  await page.getByRole('link', { name: '公开栏' }).click();
  const link = page.getByRole('link', { name: '第一党支部 意见公开 第1期' });
  await link.waitFor();
  await accessible(page, 'board');
  await screenshot(page, '09-board');
  await link.click();
  await page.getByRole('heading', { name: '第一党支部 意见公开 第1期' }).waitFor();
  await page.getByText('从下月起，食堂晚上开放到八点。').waitFor();
  await screenshot(page, '10-bulletin-page');
  // Enough suggestions for the figures to be shown (fewer than 5 are withheld).
  for (let i = 0; i < 5; i++) {
    const r = await ctx.api.post('/v1/suggestions', { token: w.tokens.sec, body: { unit_id: w.units.branch, category_id: w.categories.life, title: `统计用意见${i}`, body: '内容' } });
    assert.equal(r.status, 201);
    run.cosignId = r.body.id;
  }
  await page.goto('/#/stats');
  await page.locator('figure.chart svg').first().waitFor();
  const received = await page.locator('figure.chart').first().locator('rect').first().getAttribute('width');
  assert.ok(Number(received) > 100, `the bar of received suggestions is drawn (${received})`);
  await accessible(page, 'statistics');
  await screenshot(page, '11-statistics');
});

test('the_code_holder_reads_the_answer_and_rates_it', async () => {
  const page = await phone('holder');
  await page.goto('/#/track');
  await page.getByLabel('查询码', { exact: true }).fill(run.code.toLowerCase());
  await page.getByRole('button', { name: '查看' }).click();
  await page.getByRole('heading', { name: run.anonTitle }).waitFor();
  await page.getByText('从下月起，食堂晚上开放到八点。').waitFor();
  await page.getByText('已收到，正在和食堂商量。').waitFor();
  assert.equal(await page.getByText('内部：需要后勤处配合。').count(), 0, 'internal messages stay internal');
  await accessible(page, 'follow with a code');
  await screenshot(page, '12-track');
  await page.getByLabel('满意', { exact: true }).check();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.getByText('您的评价：').waitFor();
  assert.equal(await q(`select r.rating from ratings r join suggestions s on s.id = r.suggestion_id where s.public_id = ${lit(run.anonId)}`), 'satisfied');
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage)), '{}', 'the code is not stored by the follow page');
});

test('a_named_suggestion_written_offline_is_delivered_once_when_the_network_returns', async () => {
  const { page, context } = people.member;
  const title = `活动室周末开放 ${process.pid}`;
  await page.goto('/#/write');
  await page.getByLabel('实名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(title);
  // The draft is kept as it is typed: leave and come back.
  await page.goto('/#/');
  await page.goto('/#/write');
  assert.equal(await page.getByLabel('标题').inputValue(), title, 'the draft came back');
  await context.setOffline(true);
  await page.getByLabel('内容').fill('希望活动室周末也开放。');
  await page.getByRole('button', { name: '实名提交' }).click();
  await page.getByText('现在没有网络').waitFor();
  await page.locator('.badge.o-waiting').waitFor();
  await page.getByRole('link', { name: '1 条意见等待发送' }).waitFor();
  await screenshot(page, '13-offline-queued');
  await page.waitForTimeout(1500);
  assert.equal(await q(`select count(*) from suggestions where title = ${lit(title)}`), '0');
  await context.setOffline(false);
  await page.locator('.badge.o-delivered').waitFor({ timeout: 20000 });
  await screenshot(page, '14-offline-delivered');
  assert.equal(await q(`select count(*) from suggestions where title = ${lit(title)}`), '1');
  const author = await q(`select a.display_name from suggestions s join accounts a on a.id = s.author_id where s.title = ${lit(title)}`);
  assert.equal(author, '李明');
  // It is among "my suggestions", with its status and its deadline.
  await page.getByRole('link', { name: '我的意见' }).click();
  const mine = page.getByRole('list', { name: '我的意见' }).getByRole('listitem').filter({ hasText: title });
  await mine.waitFor();
  assert.match(await mine.innerText(), /已提交[\s\S]*受理期限 \d{4}-\d\d-\d\d/);
});

test('a_submission_whose_answer_is_lost_is_retried_with_its_key_and_stored_once', async () => {
  const { page } = people.member;
  const title = `会议室预约 ${process.pid}`;
  const keys = [];
  let cut = true;
  await page.route('**/v1/suggestions', async (route) => {
    const req = route.request();
    if (req.method() !== 'POST') return route.continue();
    keys.push(req.headers()['idempotency-key']);
    if (!cut) return route.continue();
    cut = false;
    await route.fetch(); // the service stores it...
    await route.abort('connectionreset'); // ...and the answer never arrives
  });
  await page.goto('/#/write');
  await page.getByLabel('实名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(title);
  await page.getByLabel('内容').fill('希望会议室可以在手机上预约。');
  await page.getByRole('button', { name: '实名提交' }).click();
  await page.locator('.badge.o-delivered').waitFor({ timeout: 20000 });
  await page.unroute('**/v1/suggestions');
  assert.ok(keys.length >= 2, `retried (${keys.length} requests)`);
  assert.equal(new Set(keys).size, 1, 'every attempt carried the same Idempotency-Key');
  assert.equal(await q(`select count(*) from suggestions where title = ${lit(title)}`), '1');
  await page.getByRole('link', { name: '查看所有待发送的意见' }).click();
  await accessible(page, 'outbox');
  await screenshot(page, '15-outbox');
});

test('a_member_co_signs_a_shared_suggestion_they_may_not_read', async () => {
  const { page } = people.member;
  await page.getByRole('link', { name: '我的意见' }).click();
  await page.getByLabel('意见编号').fill(run.cosignId);
  await page.getByRole('button', { name: '查看并附议' }).click();
  await page.getByText('您看不到这条意见的内容').waitFor();
  await page.getByRole('button', { name: '实名附议' }).click();
  await page.getByText('已附议，谢谢。').waitFor();
  await page.getByRole('button', { name: '匿名附议' }).click();
  await page.getByText('已匿名附议，谢谢。').waitFor();
  assert.equal(await q(`select cosign_count from suggestions where public_id = ${lit(run.cosignId)}`), '2');
  await accessible(page, 'co-sign page');
  await screenshot(page, '16-cosign');
});

test('the_pages_raised_no_error_and_every_answer_matched_the_contract', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(contractErrors, []);
});
