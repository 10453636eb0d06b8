// Every screen of the web client, as a visitor, a member, a committee
// member and a secretary see it (issue 24): each screen of the router's
// table (web/src/screens.js) and the bulletin page is visited in Chromium
// at 390×844 with touch, and on each one
//   - every input has a label, no English word is in sight, axe-core finds
//     nothing (light);
//   - axe-core's contrast rule finds nothing in dark mode;
//   - at 320 px with the browser's text at 200%, nothing scrolls sideways
//     and no text is cut off by its box;
//   - the page has its own title.
// A screen of the table that no role visits fails the file, and so does a
// link of a role's menus that the role does not follow: a screen added to
// the router needs a visit here. With SCREENS_DIR set, each visit also
// writes four phone-sized screenshots (normal and large text, light and
// dark) there, as docs/screens/ holds them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { REPO_ROOT } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';
import { SCREENS } from '../../web/src/screens.js';
import { accessible, axeViolations, fits, watch } from './lib/checks.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Device pixel ratio 1: the screenshots stay small; nothing checked here depends on it.
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
const SHOTS = process.env.SCREENS_DIR ? path.resolve(REPO_ROOT, process.env.SCREENS_DIR) : null;

const ctx = useService({ NOTIFY_ANONYMOUS_BATCH: '1' });
const errors = { contract: [], page: [] };
const visited = new Map(); // role -> Set of route names
const started = Date.now();
let browser;
let w;
const ids = {};
let code = null;
let bulletin = null;

const routeOf = (hash) => hash.replace(/^#\/?/, '').split(/[/?]/)[0];

/** A phone for one role; every answer it gets is checked against the spec. */
async function phone(role) {
  const context = await browser.newContext({ ...PHONE, baseURL: ctx.svc.url });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.svc.url });
  const page = await context.newPage();
  watch(page, role, { origin: ctx.svc.url, errors });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Page.enable');
  return { context, page, cdp, role };
}

/** The screen is drawn: its heading, and nothing still loading. */
async function settled(page) {
  await page.locator('h1:not([data-before])').first().waitFor();
  await page.waitForFunction(() => !/正在加载|正在读取/.test(document.body.innerText));
  await page.waitForTimeout(100);
}

/**
 * Every check of one screen as it is now (name: for messages and
 * screenshot files). The page is left as it was: 390 px, light, normal text.
 */
async function check(p, name) {
  const { page, cdp } = p;
  await settled(page);
  const title = await page.title();
  if (!name.startsWith('bulletin')) assert.match(title, /^.+ - 意见箱$/, `${name}: the page has its own title`);
  assert.doesNotMatch(title, /没有这个页面/, `${name}: a screen the router knows`);
  // Login names are data the test typed (the console lists them), not words of the client.
  await accessible(page, name, { allow: Object.values(w.logins).flatMap((l) => l.match(/[A-Za-z]{2,}/g) ?? []) });
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  await page.emulateMedia({ colorScheme: 'dark' });
  try {
    assert.deepEqual(await axeViolations(page, { runOnly: { type: 'rule', values: ['color-contrast'] } }), [], `${name}: contrast in dark mode`);
    if (SHOTS) {
      await page.screenshot({ path: path.join(SHOTS, `${name}-dark.png`) });
      await page.evaluate(() => document.documentElement.classList.add('large'));
      await page.screenshot({ path: path.join(SHOTS, `${name}-dark-large.png`) });
      await page.emulateMedia({ colorScheme: 'light' });
      await page.screenshot({ path: path.join(SHOTS, `${name}-large.png`) });
      await page.evaluate(() => document.documentElement.classList.toggle('large', localStorage.getItem('yijian.large-text') === '1'));
    }
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
  }
  // The phone's own text size at 200% (what the browser's setting does) on a 320 px screen.
  await page.setViewportSize({ width: 320, height: 640 });
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32, fixed: 26 } });
  try {
    await page.waitForTimeout(100);
    await fits(page, `${name} at 320 px and 200% text`);
  } finally {
    await cdp.send('Page.setFontSizes', { fontSizes: { standard: 16, fixed: 13 } });
    await page.setViewportSize(PHONE.viewport);
  }
}

/** Opens hash as p's role and checks the screen. */
async function visit(p, hash, name) {
  // The screen before is not taken for this one: its headings are marked.
  await p.page.evaluate(() => document.querySelectorAll('h1').forEach((e) => e.setAttribute('data-before', '')));
  if (new URL(p.page.url()).hash === hash) await p.page.reload();
  else await p.page.goto(`/${hash}`);
  await check(p, name);
  seen(p.role, hash);
}
function seen(role, hash) {
  if (!visited.has(role)) visited.set(role, new Set());
  visited.get(role).add(routeOf(hash));
}

/** The routes a role's menus (the tab bar and the row under the header) lead to. */
async function menuRoutes(page) {
  const hrefs = await page.locator('#tabs a, #nav a').evaluateAll((els) => els.map((a) => a.getAttribute('href')));
  return [...new Set(hrefs.map(routeOf))];
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
  if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
  w = await worldBuilder(ctx, { adminLogin: 'screens-admin' });
  await w.unit('branch', '第一党支部', 'branch');
  await w.portfolio('branch', '组织');
  await w.category('life', 'branch', { name: '组织生活', portfolio: '组织' });
  await w.account('com', '王委员', 'branch', ['member', 'committee'], ['组织']);
  await w.account('sec', '赵书记', 'branch', ['member', 'secretary']);
  await w.account('mem', '李明', 'branch', ['member']);
  const api = (who, method, p, body) => ctx.api.request(method, p, { token: w.tokens[who], body });
  const suggest = async (who, title, body) => {
    const r = await api(who, 'POST', '/v1/suggestions', { unit_id: w.units.branch, category_id: w.categories.life, title, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  };
  const ok = async (...args) => {
    const r = await api(...args);
    assert.ok(r.status === 200 || r.status === 201, `${args[1]} ${args[2]}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  // The member's: one just sent, one answered and published.
  ids.open = await suggest('mem', '活动室周末开放', '希望活动室周末也开放，方便大家学习。');
  ids.done = await suggest('mem', '三楼楼道照明', '三楼楼道的灯坏了。');
  await ok('com', 'POST', `/v1/suggestions/${ids.done}/accept`);
  await ok('com', 'POST', `/v1/suggestions/${ids.done}/messages`, { body: '已报修，下周修好。', visibility: 'submitter' });
  await ok('com', 'PUT', `/v1/suggestions/${ids.done}/answer`, { decision: 'adopted', body: '已安排维修，灯已换好。' });
  await ok('sec', 'POST', `/v1/suggestions/${ids.done}/answer/approve`);
  const b = await api('sec', 'POST', '/v1/bulletins', { unit_id: w.units.branch });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  bulletin = b.body.bulletin.id;
  await ok('mem', 'PUT', `/v1/suggestions/${ids.done}/shown`, { shown: true, show_name: true });
  // The secretary's: one the member may only co-sign, one shown to the branch.
  ids.hidden = await suggest('sec', '党费收缴方式', '建议增加手机缴纳党费的方式。');
  ids.shown = await suggest('sec', '学习资料共享', '建议把学习资料放到共享盘。');
  await ok('sec', 'PUT', `/v1/suggestions/${ids.shown}/shown`, { shown: true, show_name: false });
  // One with a drafted answer, waiting for the secretary's approval.
  ids.draft = await suggest('mem', '会议室预约', '希望会议室可以在手机上预约。');
  await ok('com', 'POST', `/v1/suggestions/${ids.draft}/accept`);
  await ok('com', 'PUT', `/v1/suggestions/${ids.draft}/answer`, { decision: 'partly_adopted', body: '下月起试行网上预约。' });
  // Consultations: a draft of the committee member's, and one open to the branch.
  const at = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const consultation = async (title) => {
    const r = await api('com', 'POST', `/v1/org-units/${w.units.branch}/consultations`, { kind: 'before_decision', title, opens_at: at(-60), closes_at: at(86400) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  };
  ids.consultDraft = await consultation('明年活动安排');
  ids.consultOpen = await consultation('支部学习计划');
  await ok('sec', 'POST', `/v1/consultations/${ids.consultOpen}/open`);
  ids.consultClosed = await consultation('上半年工作评议');
  await ok('sec', 'POST', `/v1/consultations/${ids.consultClosed}/open`);
  await ok('sec', 'POST', `/v1/consultations/${ids.consultClosed}/close`);
});

after(async () => {
  await browser?.close();
});

test('the_member_sees_every_screen_checked', async () => {
  const p = await phone('member');
  const { page, context } = p;
  await signIn(page, w.logins.mem);
  await page.locator('#token-note', { hasText: '本机有 10 张匿名凭证' }).waitFor();
  const menus = await menuRoutes(page);
  await visit(p, '#/', 'member-home');
  await visit(p, '#/write', 'member-write');
  // Anonymous: the explanation, then the tracking code shown once.
  await page.getByLabel('匿名', { exact: true }).check();
  await page.getByRole('heading', { name: '匿名是什么意思' }).waitFor();
  await check(p, 'member-write-anonymous');
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill('食堂晚上开放时间');
  await page.getByLabel('内容').fill('希望食堂晚上开放到八点，方便加班的同志。');
  await page.getByRole('button', { name: '匿名提交' }).click();
  await page.getByRole('heading', { name: '匿名意见已送达' }).waitFor();
  code = (await page.locator('#tracking-code').innerText()).replace(/\s/g, '');
  await check(p, 'member-tracking-code');
  seen('member', page.url().replace(/^[^#]*/, ''));
  await page.getByLabel('在本机记住这个查询码').check();
  await page.getByRole('button', { name: '我已保存好查询码' }).click();
  await page.getByRole('heading', { name: '李明，您好' }).waitFor();
  await visit(p, `#/suggestions/${ids.done}`, 'member-suggestion-answered');
  // Offline: a named suggestion waits, with its state; what was seen opens.
  await page.goto('/#/write');
  await page.getByLabel('实名', { exact: true }).check();
  await page.getByLabel('类别').selectOption({ label: '组织生活' });
  await page.getByLabel('标题').fill('图书角增加新书');
  await context.setOffline(true);
  try {
    await page.getByLabel('内容').fill('希望图书角每季度增加一些新书。');
    await page.getByRole('button', { name: '实名提交' }).click();
    await page.locator('.badge.o-waiting').waitFor();
    await check(p, 'member-sent-waiting');
    seen('member', page.url().replace(/^[^#]*/, ''));
    await visit(p, '#/outbox', 'member-outbox-waiting');
    await visit(p, `#/s/${ids.done}`, 'member-suggestion-offline');
  } finally {
    await context.setOffline(false);
  }
  await page.getByRole('link', { name: /条意见等待发送/ }).waitFor({ state: 'detached', timeout: 20000 });
  await visit(p, '#/outbox', 'member-outbox');
  await visit(p, `#/s/${ids.open}`, 'member-suggestion-sent');
  await visit(p, `#/s/${ids.hidden}`, 'member-cosign-only');
  await visit(p, `#/s/${ids.shown}`, 'member-shown-by-another');
  await visit(p, '#/notifications', 'member-notifications');
  await visit(p, '#/stats', 'member-stats');
  await visit(p, '#/track', 'member-track');
  await visit(p, '#/board', 'member-board');
  await visit(p, '#/consult', 'member-consultations');
  await visit(p, `#/consult/${ids.consultOpen}`, 'member-consultation-answer');
  // Last: 退出 asks first, since a code is remembered on this phone.
  await visit(p, '#/logout', 'member-logout');
  for (const r of menus) assert.ok(visited.get('member').has(r), `the member's menu leads to #/${r}, not visited`);
  await context.close();
});

test('a_visitor_who_is_not_signed_in_sees_every_screen_checked', async () => {
  const p = await phone('visitor');
  const { page, context } = p;
  await page.goto('/');
  await page.getByRole('heading', { name: '登录' }).waitFor();
  const menus = await menuRoutes(page);
  await visit(p, '#/', 'visitor-sign-in');
  await visit(p, '#/activate', 'visitor-activate');
  await visit(p, '#/track', 'visitor-track');
  await page.getByLabel('查询码', { exact: true }).fill(code);
  await page.getByRole('button', { name: '查看' }).click();
  await page.getByRole('heading', { name: '食堂晚上开放时间' }).waitFor();
  await check(p, 'visitor-track-answer');
  await visit(p, '#/board', 'visitor-board');
  await page.getByRole('link', { name: /意见公开 第1期/ }).click();
  await page.getByRole('heading', { name: /意见公开 第1期/ }).waitFor();
  await check(p, 'bulletin-page');
  assert.equal(new URL(page.url()).pathname, `/bulletins/${bulletin}`);
  for (const r of menus) assert.ok(visited.get('visitor').has(r), `the visitor's menu leads to #/${r}, not visited`);
  await context.close();
});

test('the_committee_member_sees_every_screen_checked', async () => {
  const p = await phone('committee');
  const { page, context } = p;
  await signIn(page, w.logins.com);
  const menus = await menuRoutes(page);
  await visit(p, '#/', 'committee-home');
  await visit(p, '#/inbox', 'committee-inbox');
  await visit(p, `#/s/${ids.open}`, 'committee-suggestion');
  // The committee's steps, each with its form in sight.
  await page.getByRole('button', { name: '受理' }).click();
  await page.locator('.badge.s-accepted').first().waitFor();
  await check(p, 'committee-suggestion-accepted');
  await visit(p, `#/s/${ids.done}`, 'committee-suggestion-published');
  await visit(p, '#/notifications', 'committee-notifications');
  await visit(p, '#/write', 'committee-write');
  await visit(p, '#/outbox', 'committee-outbox');
  await visit(p, '#/stats', 'committee-stats');
  await visit(p, '#/track', 'committee-track');
  await visit(p, '#/board', 'committee-board');
  await visit(p, '#/consult', 'committee-consultations');
  await visit(p, `#/consult-edit/${ids.consultDraft}`, 'committee-consultation-edit');
  await visit(p, '#/logout', 'committee-signed-out');
  for (const r of menus) assert.ok(visited.get('committee').has(r), `the committee member's menu leads to #/${r}, not visited`);
  await context.close();
});

test('the_secretary_sees_every_screen_checked', async () => {
  const p = await phone('secretary');
  const { page, context } = p;
  await signIn(page, w.logins.sec);
  const menus = await menuRoutes(page);
  await visit(p, '#/', 'secretary-home');
  await visit(p, '#/inbox', 'secretary-inbox');
  await page.getByRole('button', { name: '发布“第一党支部”公开栏' }).click();
  await page.getByText(/将公开这 \d+ 条已答复的意见|现在没有待公开的答复/).waitFor();
  await check(p, 'secretary-publish-preview');
  await visit(p, `#/s/${ids.draft}`, 'secretary-approval');
  await page.getByRole('button', { name: '审批通过，发给提出人' }).waitFor();
  await visit(p, `#/s/${ids.hidden}`, 'secretary-own-suggestion');
  await page.getByRole('button', { name: '撤回这条意见' }).click();
  await page.getByText('撤回后这条意见不再办理').waitFor();
  await check(p, 'secretary-withdraw-preview');
  await visit(p, '#/console', 'secretary-console');
  await visit(p, `#/console/${w.units.branch}`, 'secretary-console-unit');
  await visit(p, '#/notifications', 'secretary-notifications');
  await visit(p, '#/write', 'secretary-write');
  await visit(p, '#/outbox', 'secretary-outbox');
  await visit(p, '#/stats', 'secretary-stats');
  await visit(p, '#/track', 'secretary-track');
  await visit(p, '#/board', 'secretary-board');
  await visit(p, '#/consult', 'secretary-consultations');
  await visit(p, '#/consult-new', 'secretary-consultation-new');
  await visit(p, `#/consult/${ids.consultOpen}`, 'secretary-consultation-count');
  await visit(p, `#/consult/${ids.consultClosed}`, 'secretary-consultation-results');
  await visit(p, `#/consult-themes/${ids.consultClosed}`, 'secretary-consultation-themes');
  await visit(p, '#/logout', 'secretary-signed-out');
  for (const r of menus) assert.ok(visited.get('secretary').has(r), `the secretary's menu leads to #/${r}, not visited`);
  await context.close();
});

test('every_screen_of_the_router_was_visited', () => {
  const all = new Set([...visited.values()].flatMap((s) => [...s]));
  const missing = Object.keys(SCREENS).filter((r) => !all.has(r));
  assert.deepEqual(missing, [], `screens of web/src/screens.js that tests/e2e/screens.test.mjs does not visit (add a visit): ${missing.map((r) => `#/${r}`).join(' ')}`);
  const count = [...visited.values()].reduce((n, s) => n + s.size, 0);
  console.log(`screens: ${Object.keys(SCREENS).length} routes, ${count} route visits by role, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('the_pages_raised_no_error_and_every_answer_matched_the_contract', () => {
  assert.deepEqual(errors.page, []);
  assert.deepEqual(errors.contract, []);
});
