// Consultations (征求意见, issue 23) in Debian's chromium at a phone's size
// (390×844): the secretary drafts one from the 决策前征求意见 template and
// opens it; a member finds it on the home page (未反馈), answers it in a few
// taps and sees 已反馈; the secretary follows the count (named and
// anonymous apart, never who), closes it, reads the results and groups
// the free-text answers into two themes until 未归类 is empty, on the
// phone and then on a desktop. Every screen passed is checked by axe-core
// and for English words, every API answer against the OpenAPI document;
// screenshots go to tests/e2e/out/ (SCREENS_DIR=docs/screens refreshes the
// committed ones).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { REPO_ROOT, checkChinese, checkResponse, templateFor } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SCREENS = path.resolve(REPO_ROOT, process.env.SCREENS_DIR || 'tests/e2e/out');
const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1366, height: 768 } },
};
// A short release window, so that an anonymous act arrives within seconds.
const ctx = useService({ ANON_RELEASE_WINDOW: '4', JOBS_INTERVAL: '1' });
let browser;
let w;
const contractErrors = [];
const pageErrors = [];
const MEMBERS = 6;
const run = { id: null, code: null };

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'consult-e2e-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.account('sec', '王书记', 'A', ['member', 'secretary']);
  await w.account('com', '李委员', 'A', ['member', 'committee']);
  for (let i = 1; i <= MEMBERS; i++) await w.account(`m${i}`, `党员${i}`, 'A');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
});

after(async () => {
  await browser?.close();
  assert.deepEqual(contractErrors, [], 'every answer the pages got is as the OpenAPI document says');
  assert.deepEqual(pageErrors, [], 'no script errors');
});

/**
 * Account who, signed in, on a browser of that size; every API answer is
 * checked. form: signed in through the sign-in form (the client then
 * fetches tokens and learns the release window, as at every sign-in).
 */
async function open(who, size = 'phone', { form = false } = {}) {
  const context = await browser.newContext({ ...SIZES[size], baseURL: ctx.svc.url, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ctx.svc.url });
  if (!form) {
    const me = await ctx.api.get('/v1/me', { token: w.tokens[who] });
    const login = { token: w.tokens[who], account: { id: me.body.id, display_name: me.body.display_name } };
    await context.addInitScript((s) => { if (!localStorage.getItem('yj.session')) localStorage.setItem('yj.session', s); }, JSON.stringify(login));
  }
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (url.origin !== ctx.svc.url || !url.pathname.startsWith('/v1/')) return;
    try {
      const headers = await res.allHeaders();
      const buf = await res.body();
      const body = /json/.test(headers['content-type'] ?? '') && buf.length ? JSON.parse(buf.toString('utf8')) : '';
      checkResponse(res.request().method(), templateFor(url.pathname), { status: res.status(), headers }, body);
      if (res.status() >= 400 && body) checkChinese(res.request().method(), url.pathname, body);
    } catch (e) {
      if (!/Target page, context or browser has been closed|No resource with given identifier/.test(e.message)) contractErrors.push(`${who}: ${res.request().method()} ${url.pathname}: ${e.message}`);
    }
  });
  if (form) {
    await page.goto('/');
    await page.getByLabel('账号（手机号或用户名）').fill(w.logins[who]);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: /您好/ }).waitFor();
  }
  return { page, context };
}

const shot = async (page, name) => {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`), fullPage: true });
};

/** Every input labelled, no English word shown, no axe-core violation (contrast too), no tap target under 48 px. */
async function accessible(page, what) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('main input, main select, main textarea')) {
      if (el.closest('[hidden]') || el.type === 'hidden') continue;
      if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) out.push(`unlabelled ${el.outerHTML}`);
    }
    // What a thumb taps: buttons, links styled as buttons, whole choice rows.
    for (const el of document.querySelectorAll('main button, main .button, main label.choice, main select, main input:not([type=radio]):not([type=checkbox])')) {
      if (!el.getClientRects().length) continue;
      const r = el.getBoundingClientRect();
      if (r.height < 47.5) out.push(`small target (${Math.round(r.height)} px): ${el.textContent.trim().slice(0, 20) || el.outerHTML.slice(0, 60)}`);
    }
    const shown = [document.title];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      // The tracking code is letters and digits, not words.
      if (n.parentElement?.getClientRects().length && !n.parentElement.closest('script, style, #tracking-code')) shown.push(n.textContent);
    }
    for (const t of shown) if (/\b[A-Za-z]{2,}\b/.test(t)) out.push(`English: ${t}`);
    return out;
  });
  assert.deepEqual(problems, [], what);
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${what}: axe-core`);
}

const answer = (who, answers) => ctx.api.request('PUT', `/v1/consultations/${run.id}/answer`, { token: w.tokens[who], body: { answers } });

test('the_secretary_drafts_from_a_template_and_opens_it', async () => {
  const { page, context } = await open('sec');
  await page.goto('/#/consult');
  await page.getByRole('link', { name: '发起征求意见' }).click();
  await page.getByRole('heading', { name: '发起征求意见' }).waitFor();
  await page.getByLabel(/决策前征求意见/).check();
  await accessible(page, 'drafting');
  await shot(page, 'consult-new');
  await page.getByRole('button', { name: '起草' }).click();
  await page.getByRole('heading', { name: '决策前征求意见' }).waitFor();
  run.id = Number(/#\/consult\/(\d+)/.exec(page.url())[1]);
  // The draft is editable: the secretary names it.
  await page.getByRole('link', { name: '修改草稿' }).click();
  await page.getByLabel('标题').fill('关于调整党费收缴方式的征求意见');
  await page.getByRole('button', { name: '保存草稿' }).click();
  await page.getByRole('heading', { name: '关于调整党费收缴方式的征求意见' }).waitFor();
  await page.getByRole('button', { name: '开始征求意见' }).click();
  await page.getByRole('button', { name: '确认' }).click();
  await page.getByText('已开始征求意见。').waitFor();
  await page.getByText(`已反馈 0 / ${MEMBERS + 2}（实名 0，匿名 0）`).waitFor();
  await accessible(page, 'opened');
  await shot(page, 'consult-opened');
  const c = await ctx.api.get(`/v1/consultations/${run.id}`, { token: w.tokens.sec });
  assert.equal(c.body.status, 'open');
  assert.equal(c.body.title, '关于调整党费收缴方式的征求意见');
  await context.close();
});

test('a_member_answers_anonymously_on_the_phone_from_the_home_page', async () => {
  const { page, context } = await open('m1', 'phone', { form: true });
  const sent = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname.startsWith(`/v1/consultations/${run.id}/`)) sent.push({ path: new URL(req.url()).pathname, method: req.method(), auth: req.headers().authorization ?? null });
  });
  // Just signed in: the home page's card (shown once the token is fetched).
  const card = page.locator('.consult-home');
  await card.getByRole('link', { name: '关于调整党费收缴方式的征求意见' }).waitFor();
  assert.match(await card.innerText(), /未反馈/);
  assert.match(await card.innerText(), /截止 \d{4}-\d\d-\d\d \d\d:\d\d（北京时间）/);
  // The home page fetched the member's one token, whatever they mean to do.
  const taken = await ctx.api.get(`/v1/consultations/${run.id}`, { token: w.tokens.m1 });
  assert.equal(taken.body.you.token_taken, true);
  await card.getByRole('link', { name: '关于调整党费收缴方式的征求意见' }).click();
  await page.getByLabel(/^匿名/).check();
  await page.getByLabel('赞成', { exact: true }).check();
  await page.getByLabel(/具体意见和建议/).fill('建议保留现金缴纳，方便年纪大的同志');
  await accessible(page, 'answering');
  await shot(page, 'consult-answer');
  await page.getByRole('button', { name: '匿名提交' }).click();
  // Sent at a random moment before the window's end, then held by the service until it.
  await page.getByRole('heading', { name: '匿名反馈已送达' }).waitFor({ timeout: 20000 });
  const code = (await page.locator('#tracking-code').innerText()).replace(/\s/g, '');
  assert.match(code, /^[0-9A-Z]{20,}$/);
  run.code = code;
  assert.match(await page.locator('main .meta').first().innerText(), /已反馈/);
  await accessible(page, 'tracking code');
  await shot(page, 'consult-anonymous-code');
  const post = sent.find((r) => r.method === 'POST' && r.path.endsWith('/anonymous-answer'));
  assert.ok(post, 'the answer went to the anonymous endpoint');
  assert.equal(post.auth, null, 'no Authorization header with an anonymous answer');
  assert.ok(!sent.some((r) => r.method === 'PUT' && r.path.endsWith('/answer')), 'no named answer');
  await page.getByRole('button', { name: '我已保存好查询码' }).click();
  await page.getByRole('button', { name: '确认' }).click();
  await page.getByRole('heading', { name: '修改匿名反馈' }).waitFor();
  assert.equal(await page.locator('#tracking-code').count(), 0, 'the code is shown once');
  assert.ok(!(await page.evaluate(() => localStorage.getItem('yj.outbox') ?? '')).includes(code), 'and not kept on the phone');
  // Changing it with the code, kept in memory only.
  await page.getByLabel('查询码').fill(code);
  await page.getByRole('button', { name: '用查询码修改匿名反馈' }).click();
  await page.getByLabel(/具体意见和建议/).fill('建议保留现金缴纳，方便年纪大的同志；也可以由小组长代收');
  await page.getByRole('button', { name: '保存修改' }).click();
  await page.getByText(/^已修改/).waitFor();
  await page.goto('/');
  await card.getByText('已反馈').waitFor();
  await context.close();
});

test('the_secretary_follows_the_count_closes_and_groups_answers_into_two_themes', async () => {
  const texts = ['线上缴纳要有操作说明', '希望每季度公布党费收支', '微信缴纳很方便', '老同志可以分批缴纳', '收支公开要到每个党员'];
  for (let i = 2; i <= MEMBERS; i++) {
    const r = await answer(`m${i}`, { 1: i % 2 ? '基本赞成' : '赞成', 2: texts[i - 2] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // The anonymous answer (and its change) counts once its window is released: a few seconds here.
  for (let i = 0; ; i++) {
    const mine = await ctx.api.request('GET', `/v1/consultations/${run.id}/anonymous-answer/mine`, { headers: { authorization: `Tracking ${run.code}` } });
    if (mine.status === 200 && mine.body.answers && !mine.body.held.length) break;
    assert.ok(i < 100, `the anonymous answer was never released: ${JSON.stringify(mine.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const { page, context } = await open('sec');
  await page.goto(`/#/consult/${run.id}`);
  await page.getByText(`已反馈 ${MEMBERS} / ${MEMBERS + 2}（实名 ${MEMBERS - 1}，匿名 1）`).waitFor();
  assert.doesNotMatch(await page.locator('main').innerText(), /党员\d/, 'no name of who answered');
  await page.getByRole('button', { name: '提前结束征求' }).click();
  await page.getByRole('button', { name: '确认' }).click();
  await page.getByText('已结束征求。').waitFor();
  // Shown once the last window after the close is released (the page waits for it by itself).
  await page.getByRole('heading', { name: '结果' }).waitFor({ timeout: 20000 });
  assert.match(await page.locator('main').innerText(), /6 人作答/);
  await accessible(page, 'results');
  await shot(page, 'consult-results');

  await page.getByRole('link', { name: '归类意见' }).click();
  await page.getByRole('heading', { name: '未归类（6）' }).waitFor();
  await accessible(page, 'grouping');
  const pick = (t) => page.locator('label.choice', { hasText: t }).locator('input').check();
  // Two themes: how to pay, and openness about the accounts.
  for (const t of ['现金缴纳', '线上缴纳', '微信缴纳', '分批缴纳']) await pick(t);
  await page.getByLabel('新主题的名称').fill('缴纳方式');
  await page.getByRole('button', { name: '放入主题' }).click();
  await page.getByRole('heading', { name: '缴纳方式（4）' }).waitFor();
  await page.getByRole('heading', { name: '未归类（2）' }).waitFor();
  for (const t of ['每季度公布', '到每个党员']) await pick(t);
  await page.getByLabel('放入哪个主题').selectOption({ label: '新建主题…' });
  await page.getByLabel('新主题的名称').fill('收支公开');
  await page.getByRole('button', { name: '放入主题' }).click();
  await page.getByRole('heading', { name: '收支公开（2）' }).waitFor();
  await page.getByRole('heading', { name: '未归类（0）' }).waitFor();
  await accessible(page, 'grouped');
  await shot(page, 'consult-themes-phone');
  const g = await ctx.api.get(`/v1/consultations/${run.id}/themes`, { token: w.tokens.sec });
  assert.deepEqual(g.body.themes.map((t) => [t.title, t.items.length]), [['缴纳方式', 4], ['收支公开', 2]]);
  assert.equal(g.body.ungrouped.length, 0);
  await context.close();
});

test('the_committee_member_regroups_on_a_desktop', async () => {
  const { page, context } = await open('com', 'desktop');
  await page.goto(`/#/consult-themes/${run.id}`);
  await page.getByRole('heading', { name: '缴纳方式（4）' }).waitFor();
  // One answer belongs with openness after all; another goes back to 未归类.
  await page.locator('label.choice', { hasText: '分批缴纳' }).locator('input').check();
  await page.getByLabel('放入哪个主题').selectOption({ label: '收支公开' });
  await page.getByRole('button', { name: '放入主题' }).click();
  await page.getByRole('heading', { name: '收支公开（3）' }).waitFor();
  await page.locator('label.choice', { hasText: '微信缴纳' }).locator('input').check();
  await page.getByRole('button', { name: '移回未归类' }).click();
  await page.getByRole('heading', { name: '未归类（1）' }).waitFor();
  await page.getByRole('heading', { name: '缴纳方式（2）' }).waitFor();
  await accessible(page, 'grouping on a desktop');
  await shot(page, 'consult-themes-desktop');
  const g = await ctx.api.get(`/v1/consultations/${run.id}/themes`, { token: w.tokens.com });
  const all = [...g.body.ungrouped, ...g.body.themes.flatMap((t) => t.items)].map((i) => i.item);
  assert.equal(all.length, MEMBERS, 'every text answer is in exactly one theme or in 未归类');
  assert.equal(new Set(all).size, MEMBERS);
  await context.close();
});

test('opinions_on_a_committee_member_are_handed_over_answered_and_approved', async () => {
  // A 组织生活会 consultation, drafted, opened, answered and closed through the API.
  const iso = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const d = await ctx.api.post(`/v1/org-units/${w.units.A}/consultations`, { token: w.tokens.com, body: { kind: 'life_meeting', answer_mode: 'named_only', opens_at: iso(-60), closes_at: iso(3600) } });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const id = d.body.id;
  assert.equal((await ctx.api.post(`/v1/consultations/${id}/open`, { token: w.tokens.sec })).status, 200);
  const words = ['开会前多听听大家的想法', '工作很细致', '通知可以早一点发'];
  for (const [i, text] of words.entries()) {
    const r = await ctx.api.request('PUT', `/v1/consultations/${id}/answer`, { token: w.tokens[`m${i + 1}`], body: { answers: { 1: 4, 3: { [w.ids.com]: text } } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  assert.equal((await ctx.api.post(`/v1/consultations/${id}/close`, { token: w.tokens.sec })).status, 200);

  const sec = await open('sec');
  await sec.page.goto(`/#/consult/${id}`);
  await sec.page.getByRole('heading', { name: '对支委的意见' }).waitFor();
  assert.match(await sec.page.locator('main').innerText(), /李委员\s+3 条意见 · 尚未转交/);
  assert.doesNotMatch(await sec.page.locator('main').innerText(), /工作很细致/, 'the secretary does not read the words');
  await sec.page.getByRole('button', { name: '把意见转交李委员' }).click();
  await sec.page.getByRole('button', { name: '确认' }).click();
  await sec.page.getByText('已转交李委员。').waitFor();

  const com = await open('com');
  await com.page.goto(`/#/consult/${id}`);
  await com.page.getByRole('heading', { name: '大家对我的意见' }).waitFor();
  for (const t of words) await com.page.getByText(t).waitFor();
  await com.page.getByLabel('我的整改措施').fill('会前一周发通知，会上先请大家发言');
  await accessible(com.page, 'the opinions on me');
  await com.page.getByRole('button', { name: '提交整改措施' }).click();
  await com.page.getByText('整改措施已提交，等待批准。').waitFor();
  await shot(com.page, 'consult-my-opinions');
  assert.equal(await com.page.getByRole('button', { name: /批准/ }).count(), 0, 'nobody approves their own response');

  await sec.page.reload();
  await sec.page.getByRole('button', { name: '批准李委员的整改措施' }).click();
  await sec.page.getByText('已批准李委员的整改措施。').waitFor();
  await accessible(sec.page, 'hand-over and approval');
  await shot(sec.page, 'consult-handover');
  const r = await ctx.api.get(`/v1/consultations/${id}/results`, { token: w.tokens.sec });
  const s = r.body.questions.find((q) => q.subjects).subjects.find((x) => x.account_id === w.ids.com);
  assert.ok(s.handed_at && s.approved_at);
  assert.equal(s.response, '会前一周发通知，会上先请大家发言');
  await sec.context.close();
  await com.context.close();
});
