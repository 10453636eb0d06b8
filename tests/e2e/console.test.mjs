// The secretary's console (issue 25) in Debian's chromium, at a phone's size
// (390×844) and an office PC's (1366×768): a secretary sets up a branch from
// nothing — uploads a roster saved by Excel (BOM, CRLF, full-width spaces)
// with an error line, sees the preview and the Chinese error, fixes the
// file, imports it, downloads the activation slips and prints them (one A4
// page of PDF, every QR code read by a decoder as the slip's activation
// link), adds a category and a WeCom webhook, sends a test message that a
// fake robot receives, retires a category made by mistake (after its
// preview), adds a sub-unit, gives a member a new activation code, adds a
// member by hand and gives them a role and a portfolio, takes them out
// (the preview names the suggestion that will be reassigned), sets the
// bulletin schedule, reads a suggestion's trail, moves a sub-unit, turns
// the approval rule off (each after a preview), and exports the ledger, which the test opens
// with a spreadsheet library and finds every suggestion of the period in;
// the export then shows in the unit's audit trail. Every
// API answer the page gets is checked against the OpenAPI document;
// screenshots go to tests/e2e/out/ (docs/screens/ holds a set).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import ExcelJS from 'exceljs';
import { chromium } from 'playwright-core';

import { REPO_ROOT, checkResponse, templateFor } from '../blackbox/lib/contract.mjs';
import { useService } from '../blackbox/lib/fixture.mjs';
import { worldBuilder } from '../blackbox/lib/world.mjs';
import { decodeSlips, pdfPages } from './lib/slips.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Screenshots go to tests/e2e/out/; SCREENS_DIR=docs/screens refreshes the
// committed ones.
const SCREENS = path.resolve(REPO_ROOT, process.env.SCREENS_DIR || 'tests/e2e/out');
const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1366, height: 768 } },
};
const PUBLIC_URL = 'https://yijian.example.org';
// The fake WeCom robot listens on 127.0.0.1; the worker polls often.
const ctx = useService({ WEBHOOK_ALLOW_LOOPBACK: 'true', NOTIFY_INTERVAL_MS: '100', PUBLIC_URL: `${PUBLIC_URL}/` });
let browser;
let robot;
const heard = []; // what the fake robot received: {url, json}
let w;
const contractErrors = [];
const pageErrors = [];

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'console-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('phone', '第一党支部', 'branch', 'root');
  await w.unit('desktop', '第二党支部', 'branch', 'root');
  for (const k of ['phone', 'desktop']) {
    await w.portfolio(k, '组织');
    await w.account(`sec-${k}`, `书记${k}`, k, ['member', 'secretary']);
    await w.account(`com-${k}`, `委员${k}`, k, ['member', 'committee'], ['组织']);
    await w.account(`mem-${k}`, `党员${k}`, k);
  }
  robot = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      heard.push({ url: req.url, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"errcode":0,"errmsg":"ok"}');
    });
  });
  await new Promise((resolve) => robot.listen(0, '127.0.0.1', resolve));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--lang=zh-CN'] });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (robot ? robot.close(resolve) : resolve()));
  assert.deepEqual(contractErrors, [], 'every answer the console got is as the OpenAPI document says');
  assert.deepEqual(pageErrors, [], 'no script errors');
});

/** The secretary of unit k, signed in, on a browser of that size. */
async function secretary(k) {
  const login = await ctx.api.post('/v1/auth/login', { body: { login: w.logins[`sec-${k}`], password: 'correct horse battery staple' } });
  assert.equal(login.status, 200);
  const context = await browser.newContext({ ...SIZES[k], baseURL: ctx.svc.url, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true });
  await context.addInitScript((s) => { if (!localStorage.getItem('yj.session')) localStorage.setItem('yj.session', s); }, JSON.stringify(login.body));
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${k}: ${e.message}`));
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (url.origin !== ctx.svc.url || !url.pathname.startsWith('/v1/')) return;
    try {
      const headers = await res.allHeaders();
      const buf = await res.body();
      const ct = headers['content-type'] ?? '';
      const body = /json/.test(ct) && buf.length ? JSON.parse(buf.toString('utf8')) : buf.length && /text/.test(ct) ? buf.toString('utf8') : buf.length ? '(binary)' : '';
      checkResponse(res.request().method(), templateFor(url.pathname), { status: res.status(), headers }, body);
    } catch (e) {
      contractErrors.push(`${k}: ${e.message}`);
    }
  });
  return { page, context };
}

const shot = async (page, name) => {
  fs.mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`), fullPage: true });
};

/** A roster as Excel saves "CSV UTF-8": a BOM and CRLF. */
const excelCsv = (lines) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join('\r\n')}\r\n`)]);

/** Polls f until it returns something truthy (5 s at most). */
async function waitUntil(f) {
  for (let i = 0; i < 100; i++) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('waited 5 s in vain');
}

async function download(page, click) {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(await dl.path()) };
}

for (const k of ['phone', 'desktop']) {
  test(`a_secretary_sets_up_a_branch_from_nothing_on_a_${k}`, async () => {
    const unitName = k === 'phone' ? '第一党支部' : '第二党支部';
    const { page, context } = await secretary(k);
    await page.goto('/#/console');
    await page.waitForSelector('h2:text("导入名册")');
    assert.ok(await page.isVisible('nav a[href="#/console"]'), 'the console is in the menu');

    // A roster with full-width spaces, a '；' and one bad line.
    const t = `${k}${process.pid}`;
    const lines = [
      'login,display_name,unit_path,role,portfolios',
      `${t}-a,\u3000王芳\u3000,${unitName}\u3000,member,`,
      `${t}-b,李明,\u3000${unitName},committee,宣传；组织`,
      `${t}-c,张伟,${unitName}/第一党小组,组长,`,
    ];
    await page.setInputFiles('input[name=roster]', { name: '名册.csv', mimeType: 'text/csv', buffer: excelCsv(lines) });
    await page.click('button:text-is("检查名册")');
    await page.waitForSelector('.roster-errors li');
    const errors = await page.$$eval('.roster-errors li', (els) => els.map((e) => e.textContent));
    assert.deepEqual(errors, ['第 4 行：角色“组长”不是 member（党员）、committee（支委）或 secretary（书记）']);
    await shot(page, `console-${k}-roster-error`);
    assert.equal(await ctx.cluster.psql(`select count(*) from accounts where login like '${t}-%'`), '0', 'nothing written');

    lines[3] = lines[3].replace(',组长,', ',member,');
    await page.setInputFiles('input[name=roster]', { name: '名册.csv', mimeType: 'text/csv', buffer: excelCsv(lines) });
    await page.click('button:text-is("检查名册")');
    await page.waitForSelector('text=名册没有错误');
    assert.ok((await page.textContent('.roster-preview')).includes(`新单位：${unitName}/第一党小组`), 'one new unit, no look-alike of the branch');
    await page.click('button:text-is("确认导入")');
    await page.click('.confirm button:text-is("确认")');
    await page.waitForSelector('table.codes tbody tr');
    assert.equal(await page.$$eval('table.codes tbody tr', (r) => r.length), 3);
    await shot(page, `console-${k}-roster-imported`);
    assert.equal(await ctx.cluster.psql(`select string_agg(p.name, ',' order by p.name) from committee_portfolios cp join portfolios p on p.id = cp.portfolio_id
      join accounts a on a.id = cp.account_id where a.login = '${t}-b'`), '宣传,组织');

    const slips = await download(page, () => page.click('button:text-is("下载激活条（A4 打印）")'));
    const html = slips.bytes.toString('utf8');
    assert.equal((html.match(/<section class="slip">/g) ?? []).length, 3);
    assert.ok(html.includes('王芳') && html.includes('<svg'));
    // Printed: one A4 page, and each QR code reads as the activation link
    // with the login and the code printed on its slip (a slip carries a
    // new code: the one on the console's table is void once printed).
    const logins = await page.$$eval('table.codes tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
    const printer = await browser.newContext({ viewport: { width: 900, height: 1200 }, locale: 'zh-CN', bypassCSP: true });
    const printed = await printer.newPage();
    await printed.route('https://slips.test/', (route) => route.fulfill({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: html }));
    await printed.goto('https://slips.test/');
    assert.equal(pdfPages(await printed.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true })), 1, 'one A4 page');
    const links = await decodeSlips(printed);
    const printedSlips = await printed.$$eval('.slip', (els) => els.map((e) => e.textContent));
    assert.equal(links.length, 3);
    for (const [i, text] of printedSlips.entries()) {
      const login = logins.find((l) => text.includes(l));
      const code = text.match(/[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}/)?.[0];
      assert.ok(login && code, `slip ${i} shows a login of the roster and a code`);
      assert.equal(links[i], `${PUBLIC_URL}/#/activate?login=${encodeURIComponent(login)}&code=${code}`, `slip ${i}'s QR code`);
    }
    assert.deepEqual(new Set(printedSlips.map((t) => logins.find((l) => t.includes(l)))), new Set(logins), 'a slip for each new account');
    await printer.close();

    // A category and the unit's WeCom group robot.
    await page.fill('input[name=name]', `意见${k}`);
    await page.fill('input[name=portfolio]', '组织');
    await page.click('button:text-is("添加类别")');
    await page.waitForSelector(`li:text("意见${k}（分管：组织")`);
    await page.fill('input[name=url]', `http://127.0.0.1:${robot.address().port}/cgi-bin/webhook/send?key=test-key-${k}`);
    await page.click('button:text-is("添加")');
    await page.waitForSelector('li:text("企业微信群")');
    assert.ok(!(await page.textContent('main')).includes('test-key'), 'the robot\'s key is not shown');
    // The test message reaches the fake robot, naming the unit.
    await page.click('button:text-is("发送测试消息")');
    await page.waitForSelector('text=测试消息已发出');
    const got = await waitUntil(() => heard.find((m) => m.url.endsWith(`key=test-key-${k}`)));
    assert.equal(got.json.msgtype, 'markdown');
    assert.ok(got.json.markdown.content.includes(`“${unitName}”的群通知已接通`), got.json.markdown.content);

    // A category made by mistake is retired after its preview; it stays listed.
    await page.fill('input[name=name]', `误建${k}`);
    await page.fill('input[name=portfolio]', '组织');
    await page.click('button:text-is("添加类别")');
    const wrong = page.locator(`li:has-text("误建${k}（分管：组织")`);
    await wrong.locator('button:text-is("停用")').click();
    await page.waitForSelector(`.confirm:has-text("停用类别“误建${k}”吗？") >> text=不会删除任何记录`);
    await shot(page, `console-${k}-retire-preview`);
    await page.click('.confirm button:text-is("确认")');
    await page.waitForSelector(`li:has-text("误建${k}（分管：组织") >> text=已停用`);
    assert.ok(await wrong.locator('button:text-is("恢复使用")').isVisible());

    // A sub-unit, from the console.
    await page.fill('input[name=child_name]', `新党小组${k}`);
    await page.click('button:text-is("新建下级单位")');
    await page.waitForSelector(`text=已新建“新党小组${k}”`);
    assert.equal(await ctx.cluster.psql(`select level from org_units where name = '新党小组${k}' and parent_id = ${w.units[k]}`), 'group');

    // Two suggestions this period, then the ledger.
    const cat = Number(await ctx.cluster.psql(`select id from categories where name = '意见${k}'`));
    const ids = [];
    for (const title of ['食堂开放时间', '学习资料']) {
      const r = await ctx.api.post('/v1/suggestions', { token: w.tokens[`mem-${k}`], body: { unit_id: w.units[k], category_id: cat, title: `${title}${k}`, body: '内容' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    await shot(page, `console-${k}`);
    const xlsx = await download(page, () => page.click('button:text-is("下载 Excel")'));
    assert.match(xlsx.name, /台账-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.xlsx$/);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.bytes);
    const sheet = book.getWorksheet('台账');
    const header = sheet.getRow(1).values.slice(1);
    const col = (name) => header.indexOf(name) + 1;
    const rows = [];
    sheet.eachRow((row, n) => { if (n > 1) rows.push({ id: row.getCell(col('编号')).value, title: row.getCell(col('标题')).value, author: row.getCell(col('提出人')).value, category: row.getCell(col('类别')).value }); });
    assert.deepEqual(rows.map((r) => r.id).sort(), [...ids].sort(), 'every suggestion of the period');
    assert.ok(rows.every((r) => r.author === `党员${k}` && r.category === `意见${k}`));

    // The export is in the unit's audit trail, in plain Chinese.
    await page.reload();
    await page.waitForSelector('ol.audit li:has-text("导出台账")');
    await shot(page, `console-${k}-audit`);

    // A member lost their code: a new one, after a preview of what it does.
    const wang = page.locator('ul.members li:has-text("王芳")');
    await wang.locator('button:text-is("重发激活码")').click();
    await page.waitForSelector('.confirm:has-text("旧激活码和密码立即作废")');
    await page.click('.confirm button:text-is("确认")');
    const said = await wang.locator('.notice:has-text("新激活码")').textContent();
    const fresh = said.match(/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/)?.[0];
    assert.ok(fresh, said);
    const act = await ctx.api.post('/v1/auth/activate', { body: { login: `${t}-a`, code: fresh, password: 'correct horse battery staple' } });
    assert.equal(act.status, 200, 'the new code activates the account');

    // One member added by hand, made committee with a portfolio (the
    // change shown before it is made).
    await page.fill('input[name=new_name]', `赵敏${k}`);
    await page.fill('input[name=new_login]', `${t}-d`);
    await page.click('button:text-is("添加成员")');
    await page.waitForSelector(`table.codes td:text-is("${t}-d")`);
    const zhao = page.locator(`ul.members li:has-text("赵敏${k}（${t}-d）")`);
    await zhao.locator('button:text-is("修改角色")').click();
    await zhao.locator('input[name=pick_role][value=committee]').check();
    await zhao.locator('input[name=pick_portfolio][value=组织]').check();
    await zhao.locator('button:text-is("保存角色")').click();
    await page.waitForSelector('.confirm:has-text("改为：党员、支委，分管组织")');
    await page.click('.confirm:has-text("改为：党员、支委，分管组织") button:text-is("确认")');
    await page.waitForSelector(`ul.members li:has-text("赵敏${k}（${t}-d）党员、支委，分管组织")`);
    assert.equal(await ctx.cluster.psql(`select string_agg(role, ',' order by role) from memberships m join accounts a on a.id = m.account_id where a.login = '${t}-d'`), 'committee,member');

    // A suggestion goes to the committee member holding 组织 with the
    // fewest open ones (then the one assigned longest ago): the new one. Taking them out shows where it goes
    // first, then moves it.
    const routed = await ctx.api.post('/v1/suggestions', { token: w.tokens[`mem-${k}`], body: { unit_id: w.units[k], category_id: cat, title: `调出前${k}`, body: '内容' } });
    assert.equal(routed.status, 201, JSON.stringify(routed.body));
    const zhaoId = await ctx.cluster.psql(`select id from accounts where login = '${t}-d'`);
    const to = await ctx.cluster.psql(`select assignee_id from suggestions where public_id = '${routed.body.id}'`);
    const leaving = page.locator(`ul.members li:has-text("赵敏${k}（${t}-d）")`);
    assert.equal(to, zhaoId, 'the new committee member has none open and none before');
    await leaving.locator('button:text-is("移出本单位")').click();
    await page.waitForSelector('.confirm:has-text("将取消：党员、支委，分管组织")');
    await page.waitForSelector(`.confirm:has-text("正在办理的 1 条意见将改派") >> text=${routed.body.id}`);
    await shot(page, `console-${k}-remove-preview`);
    assert.equal(await ctx.cluster.psql(`select count(*) from memberships m join accounts a on a.id = m.account_id where a.login = '${t}-d'`), '2', 'the preview writes nothing');
    await page.click('.confirm:has-text("移出本单位吗") button:text-is("确认")');
    await page.waitForSelector(`text=已把“赵敏${k}”移出本单位`);
    assert.equal(await ctx.cluster.psql(`select count(*) from memberships m join accounts a on a.id = m.account_id where a.login = '${t}-d'`), '0');
    assert.notEqual(await ctx.cluster.psql(`select coalesce(assignee_id, 0) from suggestions where public_id = '${routed.body.id}'`), zhaoId, 'no longer with the one who left');

    // The bulletin schedule, after its preview.
    await page.selectOption('select[name=frequency]', 'weekly');
    await page.selectOption('select[name=day_of_week]', '5');
    await page.fill('input[name=hour]', '17');
    await page.click('button:text-is("保存发布时间")');
    await page.waitForSelector('.confirm:has-text("改为：每星期五 17 点")');
    await page.click('.confirm:has-text("改为：每星期五 17 点") button:text-is("确认")');
    await page.waitForSelector('text=现在：每星期五 17 点');
    assert.equal(await ctx.cluster.psql(`select frequency || ' ' || day || ' ' || hour from bulletin_schedules where unit_id = ${w.units[k]}`), 'weekly 5 17');

    // A suggestion's own trail, in plain Chinese.
    await page.fill('input[name=suggestion_id]', routed.body.id.toLowerCase());
    await page.click('button:text-is("查看办理记录")');
    await page.waitForSelector(`h3:text("意见 ${routed.body.id} 的办理记录") + ol.audit li:has-text("提交意见")`);
    await shot(page, `console-${k}-suggestion-audit`);

    // The sub-unit made above moves under the other new group; the
    // branch itself cannot be moved under its own sub-unit (not offered).
    const moved = `新党小组${k}`;
    await page.selectOption('select[name=unit]', String(await ctx.cluster.psql(`select id from org_units where name = '${moved}'`)));
    await page.waitForFunction((n) => document.querySelector('input[name=rename]')?.value === n, moved);
    const target = await ctx.cluster.psql(`select id from org_units where name = '第一党小组' and parent_id = ${w.units[k]}`);
    const offered = await page.$$eval('select[name=move_to] option', (o) => o.map((x) => x.value));
    assert.ok(offered.includes(target), 'the other group is offered');
    assert.ok(!offered.includes(await ctx.cluster.psql(`select id from org_units where name = '${moved}'`)), 'not the unit itself');
    await page.selectOption('select[name=move_to]', target);
    await page.click('button:text-is("移动")');
    await page.waitForSelector(`.confirm:has-text("将从“${unitName}”下面移到")`);
    await shot(page, `console-${k}-move-preview`);
    await page.click('.confirm:has-text("将从“") button:text-is("确认")');
    await page.waitForSelector('text=单位已移动');
    assert.equal(await ctx.cluster.psql(`select parent_id from org_units where name = '${moved}'`), target);
    await page.goto(`/#/console/${w.units[k]}`);
    await page.waitForSelector('h2:text("导入名册")');
    // The route changes without a reload: wait for the branch's own form,
    // not the one of the unit just moved, before reading its places.
    await page.waitForFunction((n) => document.querySelector('input[name=rename]')?.value === n, unitName);
    const branchOffered = await page.$$eval('select[name=move_to] option', (o) => o.map((x) => x.value));
    assert.ok(!branchOffered.includes(target), 'a unit is never offered a place under its own sub-unit');

    // The approval rule, turned off after its preview; who did it is recorded.
    assert.equal(await ctx.cluster.psql(`select requires_approval from org_units where id = ${w.units[k]}`), 't');
    await page.click('button:text-is("取消审核")');
    await page.waitForSelector('.confirm:has-text("不再由另一位书记把关")');
    await page.click('.confirm button:text-is("确认")');
    await page.waitForSelector('text=现在：答复不经审核');
    assert.equal(await ctx.cluster.psql(`select requires_approval from org_units where id = ${w.units[k]}`), 'f');
    await context.close();
  });
}
