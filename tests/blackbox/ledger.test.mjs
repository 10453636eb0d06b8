// The ledger (台账, issue 25): every suggestion of a unit and the units below
// it in a period, as XLSX (opened here with a spreadsheet library, not by
// string search), CSV and a printable page; anonymous ones show no author;
// a member's text never becomes a formula; every export is audited.
//
// The world: root 机关党委 (category 组织工作 → 组织)
//   ├─ A 第一党支部  comA (committee: 组织), secA, memA: 4 suggestions
//   │    └─ G 第一党小组: 1 suggestion
//   └─ B 第二党支部  secB, memB: 1 suggestion (not in A's ledger)
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import ExcelJS from 'exceljs';

import { fetchTokens } from './lib/anon.mjs';
import { useService } from './lib/fixture.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService();
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const call = (method, p, who, body) => ctx.api.request(method, p, { token: who ? w.tokens[who] : undefined, body });
function ok(r, status = 200) {
  assert.equal(r.status, status, typeof r.body === 'string' ? r.body.slice(0, 300) : JSON.stringify(r.body));
  return r.body;
}
const today = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
const ledger = (who, query) => call('GET', `/v1/org-units/${w.units.A}/ledger?${query}`, who);

const made = {}; // key -> suggestion

async function named(key, unit, who, title) {
  made[key] = ok(await call('POST', '/v1/suggestions', who, { unit_id: w.units[unit], category_id: w.categories.org, title, body: `${title}的内容。`.repeat(30) }), 201);
}

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'ledger-admin' });
  await w.unit('root', '机关党委', 'committee', null);
  await w.unit('A', '第一党支部', 'branch', 'root');
  await w.unit('G', '第一党小组', 'group', 'A');
  await w.unit('B', '第二党支部', 'branch', 'root');
  await w.portfolio('A', '组织');
  await w.portfolio('B', '组织');
  await w.category('org', 'root', { name: '组织工作', portfolio: '组织' });
  await w.account('comA', '组织委员王', 'A', ['member', 'committee'], ['组织']);
  await w.account('secA', '支部书记李', 'A', ['member', 'secretary']);
  await w.account('memA', '党员张', 'A');
  await w.account('memG', '小组党员赵', 'G');
  await w.account('secB', '二支部书记', 'B', ['member', 'secretary']);
  await w.account('memB', '二支部党员', 'B');

  // A: answered, approved and rated.
  await named('answered', 'A', 'memA', `食堂${tag()}`);
  const id = made.answered.id;
  ok(await call('POST', `/v1/suggestions/${id}/accept`, 'comA'));
  ok(await call('PUT', `/v1/suggestions/${id}/answer`, 'comA', { decision: 'adopted', body: '已安排晚上开放到八点。' }));
  ok(await call('POST', `/v1/suggestions/${id}/answer/approve`, 'secA'));
  ok(await call('POST', `/v1/suggestions/${id}/rating`, 'memA', { rating: 'satisfied' }));
  // A: a title a spreadsheet would run as a formula.
  await named('formula', 'A', 'memA', `=HYPERLINK("http://example.invalid/${tag()}","点我")`);
  // A: just submitted.
  await named('open', 'A', 'memA', `学习${tag()}`);
  // A: anonymous, paid with a token.
  const [t] = await fetchTokens(ctx.api, w.tokens.memA, 1);
  made.anonymous = ok(await ctx.api.post('/v1/suggestions', { body: { unit_id: w.units.A, category_id: w.categories.org, title: `匿名${tag()}`, body: '希望多组织学习。', token: t } }), 201);
  // G, below A; B, beside it.
  await named('below', 'G', 'memG', `小组${tag()}`);
  await named('beside', 'B', 'memB', `二支部${tag()}`);
});

test('the_xlsx_ledger_holds_every_suggestion_of_the_unit_and_below_with_its_columns', async () => {
  const r = await ledger('secA', `from=${today()}&to=${today()}&format=xlsx`);
  ok(r);
  assert.equal(r.headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  assert.match(r.headers.get('content-disposition'), new RegExp(`^attachment; filename="ledger-${w.units.A}-${today()}-${today()}\\.xlsx"$`));
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(r.bytes);
  const sheet = book.getWorksheet('台账');
  assert.ok(sheet, 'a sheet named 台账');
  const header = sheet.getRow(1).values.slice(1);
  assert.deepEqual(header, ['序号', '编号', '提出时间', '单位', '类别', '提出人', '标题', '内容摘要', '承办人', '状态', '答复结论', '答复', '办结时间', '是否按期', '满意度', '办理过程']);
  const rows = [];
  sheet.eachRow((row, n) => {
    if (n === 1) return;
    const o = {};
    header.forEach((h, i) => { o[h] = row.getCell(i + 1); });
    rows.push(o);
  });
  const text = (cell) => (cell.value === null || cell.value === undefined ? '' : String(cell.value));
  const byId = Object.fromEntries(rows.map((o) => [text(o['编号']), o]));
  const want = ['answered', 'formula', 'open', 'anonymous', 'below'].map((k) => made[k].id);
  assert.deepEqual(Object.keys(byId).sort(), [...want].sort(), 'every suggestion of A and G, none of B');
  assert.deepEqual(rows.map((o) => o['序号'].value), [1, 2, 3, 4, 5]);

  const a = byId[made.answered.id];
  assert.equal(text(a['单位']), '第一党支部');
  assert.equal(text(a['类别']), '组织工作');
  assert.equal(text(a['提出人']), '党员张');
  assert.equal(text(a['标题']), made.answered.title);
  assert.ok(text(a['内容摘要']).endsWith('…') && [...text(a['内容摘要'])].length === 101, 'the body cut to 100 characters');
  assert.equal(text(a['承办人']), '组织委员王');
  assert.equal(text(a['状态']), '已答复');
  assert.equal(text(a['答复结论']), '采纳');
  assert.equal(text(a['答复']), '已安排晚上开放到八点。');
  assert.match(text(a['提出时间']), /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  assert.match(text(a['办结时间']), /^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  assert.equal(text(a['是否按期']), '按期');
  assert.equal(text(a['满意度']), '满意');
  const steps = text(a['办理过程']).split('\n').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d /, ''));
  assert.deepEqual(steps, ['提出', '受理', '答复', '评价']);

  const anon = byId[made.anonymous.id];
  assert.equal(text(anon['提出人']), '匿名');
  assert.match(text(anon['提出时间']), / \d\d:00$/, 'only the hour the service keeps');
  for (const h of header) assert.ok(!text(anon[h]).includes('党员张'), `no author in ${h}`);
  assert.equal(text(byId[made.open.id]['状态']), '已提交');
  assert.equal(text(byId[made.open.id]['答复']), '');
  assert.equal(text(byId[made.below.id]['单位']), '第一党小组');

  const f = byId[made.formula.id]['标题'];
  assert.equal(f.type, ExcelJS.ValueType.String, 'a member\'s title is text, never a formula');
  assert.equal(f.value, made.formula.title);
});

test('the_csv_ledger_is_utf8_with_bom_and_crlf_and_defuses_formulas', async () => {
  const res = await ledger('secA', `from=${today()}&to=${today()}&format=csv`);
  ok(res);
  assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.deepEqual([...res.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a BOM, so that Excel reads UTF-8');
  const body = res.bytes.subarray(3).toString('utf8');
  assert.ok(body.endsWith('\r\n'));
  // Records end in CRLF; a bare LF only inside a quoted field (办理过程).
  const records = body.split(/\r\n(?=(?:[^"]*"[^"]*")*[^"]*$)/).filter(Boolean);
  assert.equal(records.length, 6, 'the header and five suggestions');
  assert.ok(records[0].startsWith('"序号","编号","提出时间"'));
  const formula = records.find((l) => l.includes(made.formula.id));
  assert.ok(formula.includes(`"'=HYPERLINK(""http://example.invalid/`), 'a leading apostrophe, quotes doubled');
  const anon = records.find((l) => l.includes(made.anonymous.id));
  assert.ok(anon.includes('"匿名"'));
  assert.ok(!records.some((l) => l.includes(made.beside.id)));
});

test('the_printable_ledger_is_a_page_in_the_branches_format', async () => {
  const r = await ledger('secA', `from=${today()}&to=${today()}&format=html`);
  ok(r);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.headers.get('content-security-policy'), /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]{43}='; frame-ancestors 'none'$/);
  for (const h of ['序号', '提出时间', '提出人', '内容摘要', '承办人', '答复', '办结时间', '满意度']) assert.ok(r.text.includes(`<th>${h}</th>`), h);
  assert.ok(r.text.includes('第一党支部 意见建议台账'));
  assert.ok(r.text.includes('size:A4'));
  assert.ok(r.text.includes('=HYPERLINK(&quot;http://example.invalid/'), 'escaped');
  assert.equal((r.text.match(/<tr>/g) ?? []).length, 6);
});

test('every_export_is_audited_with_who_what_and_the_period', async () => {
  const before = Number(await ctx.cluster.psql(`select count(*) from audit_log where action = 'ledger.export' and object_id = '${w.units.A}'`));
  ok(await ledger('secA', 'from=2020-01-01&to=2020-12-31&format=csv'));
  const row = JSON.parse(await ctx.cluster.psql(`select row_to_json(a) from audit_log a where action = 'ledger.export' order by id desc limit 1`));
  assert.equal(row.actor_id, w.ids.secA);
  assert.equal(row.object_type, 'unit');
  assert.equal(row.object_id, String(w.units.A));
  assert.deepEqual(row.change, { after: { from: '2020-01-01', to: '2020-12-31', format: 'csv', rows: 0 } });
  assert.equal(Number(await ctx.cluster.psql(`select count(*) from audit_log where action = 'ledger.export' and object_id = '${w.units.A}'`)), before + 1);
});

test('only_managers_of_the_unit_export_and_a_bad_query_is_422', async () => {
  const q = `from=${today()}&to=${today()}`;
  assert.equal((await ctx.api.request('GET', `/v1/org-units/${w.units.A}/ledger?${q}`)).status, 401);
  for (const who of ['memA', 'comA', 'secB', 'memG']) {
    const r = await ledger(who, q);
    assert.equal(r.status, 403, who);
    assert.equal(r.body.type, '/problems/forbidden');
  }
  ok(await ledger('admin', q));
  for (const bad of ['', `from=${today()}`, 'from=2026-02-30&to=2026-03-01', 'from=2026-05-01&to=2026-04-01', `${q}&format=pdf`]) {
    const r = await ledger('secA', bad);
    assert.equal(r.status, 422, bad);
    assert.equal(r.body.type, '/problems/validation-failed');
  }
  assert.equal((await call('GET', `/v1/org-units/999999/ledger?${q}`, 'admin')).status, 404);
});
