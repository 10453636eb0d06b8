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

import { chromium } from 'playwright-core';

import { REPO_ROOT } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';
import { trackingCodeOf } from '../../web/src/tokens.js';
import { accessible, fits, watch } from './lib/checks.mjs';

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
const errors = { contract: [], page: [] };
const contractErrors = errors.contract;
const pageErrors = errors.page;
const run = { code: null, anonId: null, anonTitle: `食堂晚上开放时间 ${process.pid}` };

const q = (sql) => ctx.cluster.psql(sql);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

async function screenshot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

/** A phone for one person; every API answer it gets is checked against the spec. */
async function phone(name, { unchecked = [] } = {}) {
  const context = await browser.newContext({ ...PHONE, baseURL: ctx.svc.url });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.svc.url });
  const page = await context.newPage();
  watch(page, name, { origin: ctx.svc.url, errors, unchecked });
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
  assert.equal(await trackingCodeOf(sent[0].body.token.output), run.code);
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
  // Nothing is cut off: below the title band, the outermost 12 px on every side are blank.
  const edges = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const inked = (x0, y0, w, hh) => {
      const d = g.getImageData(x0, y0, w, hh).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) n++;
      return n;
    };
    return { width: img.width, right: inked(img.width - 12, 90, 12, img.height - 90), left: inked(0, 90, 12, img.height - 90), bottom: inked(0, img.height - 12, img.width, 12) };
  }, png.toString('base64'));
  assert.deepEqual({ right: edges.right, left: edges.left, bottom: edges.bottom }, { right: 0, left: 0, bottom: 0 }, `the saved picture holds the whole code and text (${edges.width} px wide)`);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: '我已保存好查询码' }).click();
  await page.getByRole('heading', { name: '李明，您好' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('yj.outbox')), null, 'the code is kept nowhere once saved (an empty outbox leaves no key)');
  // The count says what is left after spending one.
  await page.locator('#token-note', { hasText: '本机有 9 张匿名凭证' }).waitFor();
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
  // Confirmed first, with what the bulletin will hold.
  await page.getByText('将公开这 1 条已答复的意见').waitFor();
  await page.getByRole('listitem').filter({ hasText: run.anonTitle }).waitFor();
  assert.equal(await q(`select count(*) from bulletins`), '0', 'nothing published before 确认');
  await page.getByRole('button', { name: '确认' }).click();
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
  // For the people it is posted for: Beijing time in plain Chinese; how to verify folded away.
  const shown = await page.locator('body').innerText();
  assert.match(shown, /发布时间：\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）/);
  // (A raw time ends in "Z" after its seconds; a suggestion's public id,
  // S-1HR52Z, may end in Z too and is meant to be shown.)
  assert.doesNotMatch(shown, /\d{4}-\d\d-\d\dT|\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z\b|Ed25519|yijian/, 'no raw UTC time, no algorithm or command in sight');
  await page.getByText('如何核验').click();
  await page.getByText(/Ed25519/).waitFor();
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
  await page.getByRole('navigation', { name: '主菜单' }).getByRole('link', { name: '我的', exact: true }).click();
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
  await page.getByRole('navigation', { name: '主菜单' }).getByRole('link', { name: '我的', exact: true }).click();
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

// ---- the day-one defects (each failed before its fix) ------------------------

/** A named suggestion by the member, made through the API; its public id. */
async function memberSuggestion(title) {
  const login = await ctx.api.post('/v1/auth/login', { body: { login: w.member.login, password: PASSWORD } });
  assert.equal(login.status, 200);
  run.memberToken = login.body.token;
  const r = await ctx.api.post('/v1/suggestions', { token: run.memberToken, body: { unit_id: w.units.branch, category_id: w.categories.life, title, body: '内容' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

test('every_screen_has_its_own_page_title', async () => {
  const { page } = people.member;
  const titles = {};
  for (const [hash, heading] of [['#/', '李明，您好'], ['#/write', '写意见'], ['#/outbox', '发送记录'], ['#/notifications', '通知'], ['#/board', '公开栏'], ['#/track', '用查询码查看']]) {
    await page.goto(`/${hash}`);
    await page.getByRole('heading', { name: heading }).first().waitFor();
    titles[hash] = await page.title();
  }
  assert.equal(titles['#/write'], '写意见 - 意见箱');
  assert.equal(new Set(Object.values(titles)).size, Object.keys(titles).length, JSON.stringify(titles));
});

test('errors_are_shown_at_their_fields_and_focus_goes_there', async () => {
  const { page } = people.member;
  await page.goto('/#/write');
  await page.getByLabel('实名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill('');
  await page.getByLabel('内容').fill('只有内容');
  await page.getByRole('button', { name: '实名提交' }).click();
  const title = page.getByLabel('标题');
  await page.locator('.field-error', { hasText: '请填写标题' }).waitFor();
  assert.equal(await title.getAttribute('aria-invalid'), 'true');
  const described = await title.evaluate((el) => el.getAttribute('aria-describedby').split(' ').map((id) => document.getElementById(id)?.textContent).join(' '));
  assert.match(described, /请填写标题/);
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'title', 'focus goes to the field at fault');
  await accessible(page, 'write page with an error');
  await page.goto('/#/');
  await page.evaluate(() => localStorage.removeItem('yj.draft'));
});

test('a_refusal_from_the_service_is_chinese_and_tied_to_its_field', async () => {
  const id = await memberSuggestion(`理由必填 ${process.pid}`);
  assert.equal((await ctx.api.post(`/v1/suggestions/${id}/accept`, { token: w.tokens.com })).status, 200);
  const { page } = people.committee;
  await page.goto(`/#/s/${id}`);
  await page.getByLabel('答复结果').selectOption({ label: '不采纳' });
  await page.getByLabel('答复内容').fill('暂不采纳。');
  await page.getByRole('button', { name: '保存答复' }).click();
  const reason = page.getByLabel('理由（不采纳时必填）');
  await page.locator('.field-error', { hasText: '不采纳时必须填写理由' }).waitFor();
  assert.equal(await reason.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'reason');
  assert.doesNotMatch(await page.locator('main').innerText(), /[A-Za-z]{3,} [A-Za-z]{3,}/, 'no English in the page');
  await reason.fill('预算不够。');
  await page.getByRole('button', { name: '保存答复' }).click();
  await page.getByText('答复已保存。').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), '答复已保存。', 'focus goes to the success message');
  run.reasonId = id;
});

test('reassigning_lists_the_committee_and_secretaries', async () => {
  const { page } = people.secretary;
  await page.goto(`/#/s/${run.reasonId}`);
  const who = page.getByLabel('改派给');
  await who.locator('option', { hasText: '王委员' }).waitFor({ state: 'attached' });
  const options = await who.locator('option').allInnerTexts();
  assert.ok(options.some((o) => o.startsWith('赵书记')), options.join(','));
  assert.ok(!options.includes('无法加载成员'));
  await who.selectOption({ label: options.find((o) => o.startsWith('赵书记')) });
  await page.getByLabel('改派理由').fill('书记亲自办');
  await page.getByRole('button', { name: '改派', exact: true }).click();
  await page.getByText('已改派。').waitFor();
  assert.equal(await q(`select a.display_name from suggestions s join accounts a on a.id = s.assignee_id where s.public_id = ${lit(run.reasonId)}`), '赵书记');
});

test('withdrawing_and_merging_are_confirmed_with_a_preview', async () => {
  const a = await memberSuggestion(`要撤回的 ${process.pid}`);
  const b = await memberSuggestion(`重复的 ${process.pid}`);
  const c = await memberSuggestion(`原来的 ${process.pid}`);
  const { page } = people.member;
  await page.goto(`/#/s/${a}`);
  await page.getByRole('button', { name: '撤回这条意见' }).click();
  await page.getByText('撤回后这条意见不再办理').waitFor();
  assert.equal(await q(`select status from suggestions where public_id = ${lit(a)}`), 'submitted', 'nothing happens on the first tap');
  await page.getByRole('button', { name: '取消' }).click();
  await page.getByRole('button', { name: '撤回这条意见' }).click();
  await accessible(page, 'withdraw confirmation');
  await page.getByRole('button', { name: '确认' }).click();
  await page.getByText('意见已撤回。').waitFor();
  assert.equal(await q(`select status from suggestions where public_id = ${lit(a)}`), 'withdrawn');

  const sec = people.secretary.page;
  await sec.goto(`/#/s/${b}`);
  await sec.getByLabel('合并到（意见编号）').fill(c);
  await sec.getByRole('button', { name: '合并', exact: true }).click();
  await sec.getByText(`“原来的 ${process.pid}”`, { exact: false }).waitFor();
  assert.equal(await q(`select status from suggestions where public_id = ${lit(b)}`), 'submitted');
  await sec.getByRole('button', { name: '确认' }).click();
  await sec.getByText('已合并。').waitFor();
  assert.equal(await q(`select status from suggestions where public_id = ${lit(b)}`), 'merged');
});

test('unsatisfied_after_publication_says_why_there_is_no_reopening', async () => {
  const id = await memberSuggestion(`公开后不满意 ${process.pid}`);
  assert.equal((await ctx.api.post(`/v1/suggestions/${id}/accept`, { token: w.tokens.sec })).status, 200);
  assert.equal((await ctx.api.request('PUT', `/v1/suggestions/${id}/answer`, { token: w.tokens.com, body: { decision: 'noted', body: '知道了。' } })).status, 200);
  assert.equal((await ctx.api.post(`/v1/suggestions/${id}/answer/approve`, { token: w.tokens.sec })).status, 200);
  assert.equal((await ctx.api.post('/v1/bulletins', { token: w.tokens.sec, body: { unit_id: w.units.branch } })).status, 201);
  const { page } = people.member;
  await page.goto(`/#/s/${id}`);
  await page.getByLabel('不满意', { exact: true }).check();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.getByText('答复已经在公开栏公开，不能再请求重新答复').waitFor();
});

test('opening_a_suggestion_marks_its_notices_read_and_all_read_hides_when_nothing_is_unread', async () => {
  const id = await memberSuggestion(`通知已读 ${process.pid}`);
  const { page } = people.committee;
  await page.goto('/#/');
  await page.getByRole('heading', { name: '王委员，您好' }).waitFor();
  const unread = () => q(`select count(*) from notifications n join suggestions s on s.id = n.suggestion_id where s.public_id = ${lit(id)} and n.read_at is null and n.account_id = ${w.ids.com}`);
  assert.equal(await unread(), '1');
  await page.goto(`/#/s/${id}`);
  await page.getByRole('heading', { name: `通知已读 ${process.pid}` }).waitFor();
  for (let i = 0; i < 50 && (await unread()) !== '0'; i++) await page.waitForTimeout(100);
  assert.equal(await unread(), '0', 'the notice is read once its suggestion is open');
  await page.goto('/#/notifications');
  await page.getByRole('heading', { name: '通知' }).waitFor();
  const all = page.getByRole('button', { name: '全部标为已读' });
  if (await all.isVisible()) {
    await all.click();
    await page.getByText('已全部标为已读。').waitFor();
  }
  await page.goto('/#/');
  await page.goto('/#/notifications');
  await page.getByRole('list').first().waitFor();
  await page.waitForTimeout(300);
  assert.equal(await all.isVisible(), false, '"全部标为已读" is not shown with nothing to read');
});

test('a_session_ended_by_the_service_says_so', async () => {
  const page = await phone('ended');
  await signIn(page, w.logins.sec);
  // The service ends this phone's session (as an expiry or a sign-out elsewhere would).
  await q(`update sessions set revoked_at = now() where token_hash = (select token_hash from sessions where account_id = ${w.ids.sec} order by created_at desc limit 1)`);
  await page.goto('/#/write');
  await page.getByText('登录已过期或已在别处退出，请重新登录。').waitFor();
  await page.getByRole('heading', { name: '登录' }).waitFor();
});

test('submitting_works_where_crypto_randomUUID_is_missing', async () => {
  const page = await phone('plainhttp');
  await page.addInitScript(() => {
    delete Crypto.prototype.randomUUID;
  });
  await signIn(page, w.member.login);
  assert.equal(await page.evaluate(() => typeof crypto.randomUUID), 'undefined');
  const title = `普通网址也能提交 ${process.pid}`;
  await page.goto('/#/write');
  await page.getByLabel('实名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(title);
  await page.getByLabel('内容').fill('在普通 http 上也能提交。');
  await page.getByRole('button', { name: '实名提交' }).click();
  await page.locator('.badge.o-delivered').waitFor({ timeout: 20000 });
  assert.equal(await q(`select count(*) from suggestions where title = ${lit(title)}`), '1');
});

test('without_share_clipboard_and_randomUUID_as_in_wechat_copying_sharing_and_submitting_still_work', async () => {
  // WeChat's in-app browser (and any page over plain http with a host
  // name) lacks navigator.share, navigator.clipboard and crypto.randomUUID;
  // the old copy command may do nothing.
  await w.account('wechat', '周六', 'branch', ['member']);
  const named = await ctx.api.post('/v1/suggestions', { token: w.tokens.wechat, body: { unit_id: w.units.branch, category_id: w.categories.life, title: `停车位 ${process.pid}`, body: '希望增加自行车停车位。' } });
  assert.equal(named.status, 201, JSON.stringify(named.body));
  const page = await phone('wechat');
  await page.addInitScript(() => {
    delete Navigator.prototype.share;
    delete Navigator.prototype.clipboard;
    delete Crypto.prototype.randomUUID;
    window.__copies = [];
    document.execCommand = (cmd) => {
      window.__copies.push(cmd);
      return false;
    };
  });
  page.on('dialog', (d) => d.accept());
  const keys = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/v1/suggestions') keys.push(req.headers()['idempotency-key']);
  });
  await signIn(page, w.logins.wechat);
  assert.deepEqual(await page.evaluate(() => [typeof navigator.share, typeof navigator.clipboard, typeof crypto.randomUUID]), ['undefined', 'undefined', 'undefined']);
  await page.locator('#token-note', { hasText: /本机有 \d+ 张匿名凭证/ }).waitFor();
  await page.goto('/#/write');
  await page.getByLabel('匿名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(`微信里也能匿名提交 ${process.pid}`);
  await page.getByLabel('内容').fill('没有 randomUUID 也能提交。');
  await page.getByRole('button', { name: '匿名提交' }).click();
  await page.getByRole('heading', { name: '匿名意见已送达' }).waitFor();
  assert.match(keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a v4 key from getRandomValues');
  const code = (await page.locator('#tracking-code').innerText()).replace(/\s/g, '');
  // Copying: a selected field to long-press, since nothing could copy.
  await page.getByRole('button', { name: '复制查询码' }).click();
  await page.getByText('请长按上面选中的内容，选“复制”。').waitFor();
  const box = page.getByLabel('要复制的内容');
  assert.equal(await box.inputValue(), code);
  assert.deepEqual(await box.evaluate((el) => [el.selectionStart, el.selectionEnd, document.activeElement === el]), [0, code.length, true]);
  assert.deepEqual(await page.evaluate(() => window.__copies), ['copy'], 'the old copy command was tried');
  await accessible(page, 'tracking code without clipboard');
  await page.getByRole('button', { name: '我已保存好查询码' }).click();

  // Sharing a suggestion for co-signing: no share sheet, so the link to copy.
  await page.getByRole('heading', { name: '周六，您好' }).waitFor();
  await page.getByRole('list', { name: '我的意见' }).getByRole('link').first().click();
  await page.getByRole('heading', { name: `停车位 ${process.pid}` }).waitFor();
  await page.getByRole('button', { name: '请同事附议' }).click();
  await page.getByText('请长按上面选中的内容，选“复制”。').waitFor();
  const link = await page.getByLabel('要复制的内容').inputValue();
  assert.match(link, /^请附议：停车位 \d+（S-[0-9A-Z]{6}） http:\/\/[^/]+\/#\/s\/S-[0-9A-Z]{6}$/);
  await accessible(page, 'suggestion page, link to copy');
  // Where the phone has a share sheet, the link goes there.
  await page.evaluate(() => {
    navigator.share = async (d) => {
      window.__shared = d;
    };
  });
  await page.getByRole('button', { name: '请同事附议' }).click();
  await page.getByText('已分享。').waitFor();
  const shared = await page.evaluate(() => window.__shared);
  assert.equal(shared.url, link.split(' ').pop());
  await people.wechat.context.close();
  delete people.wechat;
});

test('offline_the_page_opens_from_the_app_shell_with_the_last_list', async () => {
  const { page, context } = people.member;
  await page.goto('/#/');
  await page.getByRole('heading', { name: '李明，您好' }).waitFor();
  const mine = page.getByRole('list', { name: '我的意见' });
  await mine.getByRole('link').first().waitFor();
  const titles = await mine.getByRole('link').allInnerTexts();
  // The service worker is installed and controls the page.
  await page.evaluate(() => navigator.serviceWorker.ready);
  for (let i = 0; i < 50 && !(await page.evaluate(() => !!navigator.serviceWorker.controller)); i++) await page.waitForTimeout(100);
  if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) {
    await page.reload();
    await page.getByRole('heading', { name: '李明，您好' }).waitFor();
  }
  const shell = await page.evaluate(async () => (await caches.keys()).join(' '));
  assert.match(shell, /^yijian-shell-[0-9a-f]{12}$/, 'one cache: the app shell');
  const cached = await page.evaluate(async () => {
    const c = await caches.open((await caches.keys())[0]);
    return (await c.keys()).map((r) => new URL(r.url).pathname);
  });
  assert.ok(cached.every((p) => p === '/' || p === '/manifest.webmanifest' || p.startsWith('/assets/')), `nothing but the shell is cached: ${cached.join(' ')}`);
  await context.setOffline(true);
  try {
    await page.reload();
    await page.getByRole('heading', { name: '李明，您好' }).waitFor();
    await page.getByRole('list', { name: '我的意见' }).getByText(/^离线：下面是 .* 看到的内容。$/).waitFor();
    const offline = await page.getByRole('list', { name: '我的意见' }).getByRole('link').allInnerTexts();
    assert.deepEqual(offline, titles, 'the last list, offline');
    await accessible(page, 'home page offline');
    await screenshot(page, '17-offline-home');
  } finally {
    await context.setOffline(false);
  }
});

test('a_co_sign_a_message_and_a_rating_made_offline_are_delivered_once_when_the_network_returns', async () => {
  // A named suggestion of 陈红's, answered and approved through the API.
  await w.account('rater', '陈红', 'branch', ['member']);
  const title = `楼道照明 ${process.pid}`;
  const made = await ctx.api.post('/v1/suggestions', { token: w.tokens.rater, body: { unit_id: w.units.branch, category_id: w.categories.life, title, body: '三楼楼道的灯坏了。' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id;
  const step = async (who, method, p, body) => {
    const r = await ctx.api.request(method, `/v1/suggestions/${id}/${p}`, { token: w.tokens[who], body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  await step('com', 'POST', 'accept');
  await step('com', 'PUT', 'answer', { decision: 'adopted', body: '已安排维修。' });
  await step('sec', 'POST', 'answer/approve');
  const count = async (table, extra = '') => Number(await q(`select count(*) from ${table} where suggestion_id = (select id from suggestions where public_id = ${lit(id)})${extra}`));
  const messages = () => count('messages', " and author_kind <> 'system'");

  // The author opens it online (the page keeps it for offline), then the network goes.
  const page = await phone('rater');
  const context = people.rater.context;
  const keys = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && /\/(messages|rating|cosign)$/.test(new URL(req.url()).pathname)) keys.push(`${new URL(req.url()).pathname.split('/').pop()} ${req.headers()['idempotency-key']}`);
  });
  await signIn(page, w.logins.rater);
  await page.goto(`/#/s/${id}`);
  await page.getByRole('heading', { name: title }).waitFor();
  await context.setOffline(true);
  await page.getByLabel('满意', { exact: true }).check();
  await page.getByRole('button', { name: '提交评价' }).click();
  await page.getByText('现在没有网络：已保存在本机').waitFor();
  await page.getByText(/^离线：下面是 .* 看到的内容。/).waitFor();
  await page.getByLabel('给承办人留言').fill('谢谢，修好后我再看看。');
  await page.getByRole('button', { name: '发送留言' }).click();
  await page.getByText('现在没有网络：已保存在本机').waitFor();
  await page.getByRole('link', { name: '2 项操作等待发送' }).waitFor();
  // Each waits on the page with its state.
  const waiting = page.getByRole('region', { name: '本机待发送' }).getByRole('listitem');
  assert.deepEqual((await waiting.allInnerTexts()).map((t) => t.split('\n')[0]), [`评价：${title}`, `留言：${title}`]);
  await accessible(page, 'suggestion offline with steps waiting');
  await screenshot(page, '17b-offline-steps-waiting');
  await page.waitForTimeout(1500);
  assert.equal(await count('ratings'), 0);
  assert.equal(await messages(), 0);
  await context.setOffline(false);
  await page.getByRole('link', { name: '2 项操作等待发送' }).waitFor({ state: 'detached', timeout: 20000 });
  // Delivered: the page shows the message from the service itself.
  await page.locator('.thread').getByText('谢谢，修好后我再看看。').waitFor({ timeout: 10000 });
  await page.goto('/#/outbox');
  const delivered = page.getByRole('list', { name: '操作发送记录' }).getByRole('listitem');
  assert.deepEqual((await delivered.locator('.badge').allInnerTexts()), ['已送达', '已送达']);
  await accessible(page, 'outbox with steps');

  // 李明 may not read it but may co-sign it: offline too.
  const member = people.member;
  await member.page.goto(`/#/s/${id}`);
  await member.page.getByRole('button', { name: '实名附议' }).waitFor();
  await member.context.setOffline(true);
  try {
    await member.page.getByRole('button', { name: '实名附议' }).click();
    await member.page.getByText('现在没有网络：已保存在本机').first().waitFor();
    await member.page.getByRole('link', { name: '1 项操作等待发送' }).waitFor();
    await member.page.waitForTimeout(1000);
    assert.equal(await count('cosigns'), 0);
  } finally {
    await member.context.setOffline(false);
  }
  await member.page.getByRole('link', { name: '1 项操作等待发送' }).waitFor({ state: 'detached', timeout: 20000 });

  // A message whose answer is lost after the service stored it is sent
  // again with its key, and stored once.
  let cut = true;
  await page.route('**/messages', async (route) => {
    if (!cut) return route.continue();
    cut = false;
    await route.fetch();
    await route.abort('connectionreset');
  });
  await page.goto(`/#/s/${id}`);
  await page.getByLabel('给承办人留言').fill('灯已经修好了。');
  await page.getByRole('button', { name: '发送留言' }).click();
  await page.locator('.thread').getByText('灯已经修好了。').waitFor({ timeout: 20000 });
  await page.unroute('**/messages');
  await page.waitForTimeout(1500);
  assert.equal(await count('ratings'), 1, 'rated once');
  assert.equal(await messages(), 2, 'each message once');
  assert.equal(await count('cosigns'), 1, 'co-signed once');
  const lastTwo = keys.filter((k) => k.startsWith('messages')).slice(-2);
  assert.equal(lastTwo.length, 2);
  assert.equal(lastTwo[0], lastTwo[1], 'the retry carried the same key');
  assert.ok(keys.every((k) => /^\w+ [0-9a-f-]{36}$/.test(k)), `every step carried a key: ${keys}`);
});

// ---- layout for thumbs and older eyes ------------------------------------------------

test('the_tab_bar_large_text_and_dark_mode_fit_a_320_px_phone', async () => {
  const context = await browser.newContext({ ...PHONE, viewport: { width: 320, height: 640 }, baseURL: ctx.svc.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`small: ${e.message}`));
  // The phone's own text size at 200% (what the browser's setting does).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Page.enable');
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32, fixed: 26 } });
  await signIn(page, w.logins.com);
  const bodyPx = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  assert.ok(bodyPx >= 36, `the body follows the system text size (${bodyPx}px)`);
  const tabs = page.getByRole('navigation', { name: '主菜单' });
  assert.deepEqual((await tabs.getByRole('link').allInnerTexts()).map((t) => t.replace(/（\d+）$/, '')), ['我的', '写意见', '待办', '通知', '公开栏'], 'the tab bar, 待办 for a committee member');
  for (const box of await tabs.getByRole('link').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()))) {
    assert.ok(box.height >= 48 && box.bottom <= 641, `a tab is a big target at the bottom (${JSON.stringify(box)})`);
  }
  for (const hash of ['#/', '#/write', '#/inbox', '#/notifications', '#/board', '#/track', '#/outbox', `#/s/${run.reasonId}`]) {
    await page.goto(`/${hash}`);
    await page.locator('main h1').first().waitFor();
    await page.waitForTimeout(300);
    await fits(page, `${hash} at 320 px and 200% text`);
  }
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 16, fixed: 13 } });
  await page.goto('/#/');
  await page.locator('main h1').first().waitFor();
  assert.ok((await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize))) >= 18, 'body text at least 18 px');
  // 大字, switched on in the app, kept on this phone.
  await page.getByRole('button', { name: '大字' }).click();
  assert.equal(await page.getByRole('button', { name: '大字' }).getAttribute('aria-pressed'), 'true');
  assert.ok((await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize))) >= 22, 'large text');
  await page.reload();
  await page.locator('main h1').first().waitFor();
  assert.ok((await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize))) >= 22, 'large text stays');
  await fits(page, 'home in large text');
  await screenshot(page, '18-committee-320-large');
  await page.getByRole('button', { name: '大字' }).click();
  // The timeline of a suggestion.
  await page.goto(`/#/s/${run.reasonId}`);
  const tl = page.getByRole('region', { name: '办理进度' }).or(page.locator('section', { has: page.getByRole('heading', { name: '办理进度' }) }));
  await tl.getByText('提交').first().waitFor();
  await tl.getByText('受理').first().waitFor();
  // A whole card is the tap target.
  await page.goto('/#/inbox');
  const card = page.getByRole('list', { name: '我负责的' }).getByRole('listitem').filter({ has: page.getByRole('link') }).first();
  await card.getByRole('link').waitFor();
  const box = await card.boundingBox();
  assert.ok(box.height >= 48);
  await page.mouse.click(box.x + box.width - 8, box.y + box.height - 6);
  await page.waitForURL(/#\/s\//);
  await context.close();

  // Dark mode follows the system, and stays readable (axe: contrast).
  const dark = await browser.newContext({ ...PHONE, colorScheme: 'dark', baseURL: ctx.svc.url });
  const dp = await dark.newPage();
  await signIn(dp, w.logins.com);
  assert.notEqual(await dp.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(246, 244, 241)', 'dark background');
  for (const hash of ['#/', '#/write', `#/s/${run.reasonId}`, '#/notifications']) {
    await dp.goto(`/${hash}`);
    await dp.locator('main h1').first().waitFor();
    await dp.waitForTimeout(300);
    await accessible(dp, `${hash} in dark mode`);
  }
  await screenshot(dp, '19-committee-dark');
  await dark.close();
});

// ---- shared phones (issue 20) ------------------------------------------------------

/** Everything this browser keeps: localStorage, sessionStorage, IndexedDB, Cache Storage. */
async function kept(page) {
  return page.evaluate(async () => {
    const idb = await new Promise((resolve) => {
      const req = indexedDB.open('yijian');
      req.onsuccess = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains('kv')) return resolve({});
        const out = {};
        const st = d.transaction('kv').objectStore('kv');
        const cur = st.openCursor();
        cur.onsuccess = () => {
          const c = cur.result;
          if (!c) return resolve(out);
          out[c.key] = c.value;
          c.continue();
        };
      };
      req.onerror = () => resolve({});
    });
    const caches = [];
    for (const name of await globalThis.caches.keys()) {
      const c = await globalThis.caches.open(name);
      for (const req of await c.keys()) {
        const res = await c.match(req);
        caches.push(`${name} ${req.url} ${await res.clone().text()}`);
      }
    }
    return { local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), idb: JSON.stringify(idb), caches: caches.join('\n') };
  });
}

test('a_shared_phone_shows_the_next_member_nothing_of_the_one_before', async () => {
  await w.account('shareA', '张三', 'branch', ['member']);
  await w.account('shareB', '钱四', 'branch', ['member']);
  const page = await phone('shared');
  await signIn(page, w.logins.shareA);
  await page.locator('#token-note', { hasText: '本机有 10 张匿名凭证' }).waitFor();
  const tokensA = JSON.parse((await kept(page)).idb).tokens.map((t) => t.output);
  assert.equal(tokensA.length, 10);

  // A sends an anonymous suggestion and chooses to keep its code on this phone...
  const sentTitle = `共用手机的匿名意见 ${process.pid}`;
  await page.goto('/#/write');
  await page.getByLabel('匿名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(sentTitle);
  await page.getByLabel('内容').fill('只有张三知道的内容。');
  await page.getByRole('button', { name: '匿名提交' }).click();
  await page.getByRole('heading', { name: '匿名意见已送达' }).waitFor();
  const code = (await page.locator('#tracking-code').innerText()).replace(/\s/g, '');
  await page.getByLabel('在本机记住这个查询码').check();
  await page.getByRole('button', { name: '我已保存好查询码' }).click();
  await page.getByRole('list', { name: '本机记住的查询码' }).getByText(sentTitle).waitFor();
  // ...and leaves an anonymous draft.
  const draftTitle = `没写完的匿名草稿 ${process.pid}`;
  await page.goto('/#/write');
  await page.getByLabel('匿名', { exact: true }).check();
  await page.getByLabel('标题').fill(draftTitle);
  await page.getByLabel('内容').fill('写了一半');
  await page.goto('/#/');
  const before = await kept(page);
  assert.match(before.local, new RegExp(draftTitle), 'the draft is kept while A is signed in');
  assert.match(before.local, new RegExp(code), 'the remembered code is kept while A is signed in');

  // 退出 says what will be erased, then erases it.
  await page.getByRole('link', { name: '退出' }).click();
  await page.getByRole('heading', { name: '退出前请确认' }).waitFor();
  await accessible(page, 'sign-out confirmation');
  await page.getByRole('button', { name: '仍然退出，并从本机删除' }).click();
  await page.getByRole('heading', { name: '登录' }).waitFor();

  const traces = [sentTitle, draftTitle, code, '张三', ...tokensA.slice(0, 3)];
  const after = await kept(page);
  for (const t of traces) for (const [where, text] of Object.entries(after)) assert.ok(!text.includes(t), `after 退出, ${where} still holds ${t}`);

  // B signs in on the same browser and finds nothing of A.
  await signIn(page, w.logins.shareB);
  await page.locator('#token-note', { hasText: '本机有 10 张匿名凭证' }).waitFor();
  for (const hash of ['#/', '#/write', '#/outbox', '#/track']) {
    await page.goto(`/${hash}`);
    await page.locator('main h1').first().waitFor();
    await page.waitForTimeout(200);
    const text = await page.locator('body').innerText();
    for (const t of [sentTitle, draftTitle, code, '张三']) assert.ok(!text.includes(t), `${hash} shows B ${t}`);
  }
  await page.goto('/#/write');
  assert.equal(await page.getByLabel('标题').inputValue(), '', 'no draft of A');
  const b = await kept(page);
  for (const t of traces) for (const [where, text] of Object.entries(b)) assert.ok(!text.includes(t), `B's ${where} holds ${t}`);

  // A session that ended without 退出 (expired, revoked) and the next sign-in by another account.
  await page.goto('/#/write');
  await page.getByLabel('标题').fill(`钱四的草稿 ${process.pid}`);
  await page.goto('/#/');
  await q(`update sessions set revoked_at = now() where account_id = ${w.ids.shareB}`);
  await page.goto('/#/write');
  await page.getByRole('heading', { name: '登录' }).waitFor();
  await signIn(page, w.logins.shareA);
  await page.goto('/#/write');
  assert.equal(await page.getByLabel('标题').inputValue(), '', 'no draft of B for A');
  assert.ok(!(await kept(page)).local.includes('钱四'), 'nothing of B is kept for A');
});

test('an_anonymous_suggestion_is_sent_at_a_random_moment_before_the_window_ends', async () => {
  // The service side of release windows is built separately; here the
  // published window (GET /v1/tokens/keys, release_window_seconds) is added
  // to the real answer, and what the client does with it is checked.
  const WINDOW = 30;
  await w.account('windowA', '孙五', 'branch', ['member']);
  const page = await phone('window', { unchecked: ['/v1/tokens/keys'] });
  await page.route('**/v1/tokens/keys?*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    await route.fulfill({ response: res, json: { ...body, release_window_seconds: WINDOW } });
  });
  const posted = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/v1/suggestions') posted.push(Date.now());
  });
  await signIn(page, w.logins.windowA);
  await page.locator('#token-note', { hasText: '本机有 10 张匿名凭证' }).waitFor();
  const title = `窗口内送达 ${process.pid}`;
  await page.goto('/#/write');
  await page.getByLabel('匿名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill(title);
  await page.getByLabel('内容').fill('随机时刻送达。');
  const written = Date.now();
  await page.getByRole('button', { name: '匿名提交' }).click();
  const boundary = Math.ceil((written + 1) / (WINDOW * 1000)) * WINDOW * 1000;
  const hhmm = new Date(boundary + 8 * 3600 * 1000).toISOString().slice(11, 16);
  const held = await page.getByText(/将于 \d\d:\d\d 前匿名送达/).first().innerText({ timeout: 2000 }).catch(() => null);
  const heldInDb = posted.length === 0 ? await q(`select count(*) from suggestions where title = ${lit(title)}`) : null;
  await page.getByRole('heading', { name: '匿名意见已送达' }).waitFor({ timeout: (WINDOW + 10) * 1000 });
  // Unless the random moment fell in the first two seconds, the phone held it and said until when.
  if (posted[0] - written > 2000) {
    assert.match(held ?? '', new RegExp(`将于 ${hhmm} 前匿名送达`));
    assert.equal(heldInDb, '0', 'held on the phone meanwhile');
  }
  assert.equal(posted.length, 1);
  assert.ok(posted[0] <= boundary + 1000, `sent before the boundary (${posted[0] - boundary} ms)`);
  assert.equal(await q(`select count(*) from suggestions where title = ${lit(title)}`), '1');
});

test('offline_the_notices_and_the_inbox_show_the_last_lists_and_an_acceptance_waits_and_arrives_once', async () => {
  const title = `离线受理 ${process.pid}`;
  const id = await memberSuggestion(title);
  // 王委员's to handle (the least loaded may be someone else by now).
  if ((await q(`select assignee_id from suggestions where public_id = ${lit(id)}`)) !== String(w.ids.com)) {
    const r = await ctx.api.post(`/v1/suggestions/${id}/assign`, { token: w.tokens.sec, body: { assignee_id: w.ids.com, reason: '王委员分管' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const page = await phone('offline-committee');
  const { context } = people['offline-committee'];
  const keys = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname.endsWith(`/${id}/accept`)) keys.push(req.headers()['idempotency-key']);
  });
  await signIn(page, w.logins.com);
  // Seen online: the notices, the inbox, the suggestion.
  await page.goto('/#/notifications');
  const notices = page.locator('main ul.list li a');
  await notices.first().waitFor();
  const seenNotices = await notices.allInnerTexts();
  await page.goto('/#/inbox');
  await page.getByRole('list', { name: '我负责的' }).getByRole('link', { name: title }).waitFor();
  await page.goto(`/#/s/${id}`);
  await page.getByRole('heading', { name: title }).waitFor();
  await page.goto('/#/notifications');
  await notices.first().waitFor();
  await page.evaluate(() => navigator.serviceWorker.ready);
  for (let i = 0; i < 50 && !(await page.evaluate(() => !!navigator.serviceWorker.controller)); i++) await page.waitForTimeout(100);
  await context.setOffline(true);
  try {
    // A reload offline: the app shell, and the notices as seen last.
    await page.reload();
    await page.getByRole('heading', { name: '通知' }).waitFor();
    await page.getByText(/^离线：下面是 .* 看到的通知。$/).waitFor();
    assert.deepEqual((await notices.allInnerTexts()).map((t) => t.replace(/^未读 /, '')), seenNotices.map((t) => t.replace(/^未读 /, '')), 'the notices as seen last');
    assert.equal(await page.getByRole('button', { name: '全部标为已读' }).isVisible(), false, 'nothing to mark offline');
    await accessible(page, 'notifications offline');
    await page.goto('/#/inbox');
    await page.getByRole('list', { name: '我负责的' }).getByText(/^离线：下面是 .* 看到的内容。$/).waitFor();
    // A committee action offline waits in the outbox with its key.
    await page.getByRole('list', { name: '我负责的' }).getByRole('link', { name: title }).click();
    await page.getByRole('heading', { name: title }).waitFor();
    await page.getByRole('button', { name: '受理' }).click();
    await page.getByText('现在没有网络：已保存在本机').first().waitFor();
    await page.getByRole('link', { name: '1 项操作等待发送' }).waitFor();
    await page.getByRole('region', { name: '本机待发送' }).getByText('等待发送').waitFor();
    await page.waitForTimeout(1000);
    assert.equal(await q(`select status from suggestions where public_id = ${lit(id)}`), 'submitted');
  } finally {
    await context.setOffline(false);
  }
  await page.getByRole('link', { name: '1 项操作等待发送' }).waitFor({ state: 'detached', timeout: 20000 });
  await page.locator('.badge.s-accepted').first().waitFor({ timeout: 10000 });
  assert.equal(await q(`select status from suggestions where public_id = ${lit(id)}`), 'accepted');
  const accepted = await q(`select count(*) from audit_log where action = 'suggestion.accept' and object_id in (${lit(id)}, (select id::text from suggestions where public_id = ${lit(id)}))`);
  assert.equal(accepted, '1', 'accepted once');
  assert.ok(keys.length >= 1 && new Set(keys).size === 1 && /^[0-9a-f-]{36}$/.test(keys[0]), `one key for every attempt: ${keys}`);
  await context.close();
  delete people['offline-committee'];
});

test('the_pages_raised_no_error_and_every_answer_matched_the_contract', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(contractErrors, []);
});
