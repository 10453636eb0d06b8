// The branch walk (issue 22) in a real browser: the author of a named
// suggestion shows it to the members of their branch without their name;
// another member of the branch finds it on the home page as 匿名, opens it
// and co-signs it, and the co-sign count rises. Every API answer the pages
// get is checked against the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { checkResponse, templateFor } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { PASSWORD, worldBuilder } from '../blackbox/lib/world.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };

const ctx = useService();
let browser;
let w;
const errors = [];

async function phone(name) {
  const context = await browser.newContext({ ...PHONE, baseURL: ctx.svc.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (url.origin !== ctx.svc.url || !url.pathname.startsWith('/v1/')) return;
    try {
      const headers = await res.allHeaders();
      const body = /json/.test(headers['content-type'] ?? '') ? await res.json() : '';
      checkResponse(res.request().method(), templateFor(url.pathname), { status: res.status(), headers }, body);
    } catch (e) {
      if (!/closed|No resource with given identifier|unavailable/.test(e.message)) errors.push(`${name}: ${res.request().method()} ${url.pathname}: ${e.message}`);
    }
  });
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
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
  w = await worldBuilder(ctx, { adminLogin: 'shown-admin' });
  await w.unit('branch', '第一党支部', 'branch');
  await w.portfolio('branch', '组织');
  await w.category('life', 'branch', { name: '组织生活', portfolio: '组织' });
  await w.account('a', '周作者', 'branch', ['member']);
  await w.account('b', '吴同志', 'branch', ['member']);
});

after(async () => {
  await browser?.close();
});

test('an_author_shows_a_suggestion_without_name_and_a_member_of_the_branch_finds_and_cosigns_it', async () => {
  const title = `支部活动改到周末 ${process.pid}`;
  const r = await ctx.api.post('/v1/suggestions', { token: w.tokens.a, body: { unit_id: w.units.branch, category_id: w.categories.life, title, body: '工作日晚上很多人来不了。' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;

  // The author: the switch on their suggestion's page, name left off.
  const a = await phone('author');
  await signIn(a, w.logins.a);
  await a.goto(`/#/s/${id}`);
  await a.getByRole('heading', { name: title }).waitFor();
  const sw = a.getByRole('switch', { name: '向本支部成员公开' });
  const named = a.getByRole('checkbox', { name: '显示我的姓名' });
  assert.equal(await sw.isChecked(), false);
  assert.equal(await named.isDisabled(), true, 'no name to show while not shown');
  await sw.check();
  assert.equal(await named.isChecked(), false);
  await a.getByText('提出人显示为“匿名”').waitFor();
  await a.getByRole('button', { name: '保存' }).click();
  await a.getByText('公开设置已保存。').waitFor();
  // After the page reloads, the switch reads its state from the unit's list.
  await a.waitForFunction(() => document.querySelector('input[name="shown"]')?.checked === true);

  // A member of the branch: on the home page, as 匿名, with no co-sign yet.
  const b = await phone('member');
  await signIn(b, w.logins.b);
  const list = b.getByRole('list', { name: '本支部公开的意见' });
  const item = list.getByRole('listitem').filter({ hasText: title });
  await item.waitFor();
  const meta = await item.textContent();
  assert.match(meta, /匿名/);
  assert.match(meta, /附议 0 人/);
  assert.ok(!meta.includes('周作者'), 'the author chose not to show their name');

  await item.getByRole('link', { name: title }).click();
  await b.getByRole('heading', { name: title }).waitFor();
  await b.getByText('工作日晚上很多人来不了。').waitFor();
  assert.ok(!(await b.locator('#main').textContent()).includes('周作者'), 'the suggestion page does not name the author either');
  await b.getByRole('button', { name: '实名附议' }).click();
  await b.getByText('已附议，谢谢。').waitFor();

  // Back home: the count has risen, and the service counts the co-sign.
  await b.goto('/#/');
  await list.getByRole('listitem').filter({ hasText: title }).filter({ hasText: '附议 1 人' }).waitFor();
  const s = await ctx.api.get(`/v1/suggestions/${id}`, { token: w.tokens.a });
  assert.equal(s.body.cosign_count, 1);

  assert.deepEqual(errors, []);
});
