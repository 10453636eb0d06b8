// `yijian import-roster FILE.csv` from the outside: what a good file
// creates (and how its codes activate accounts), that a second run changes
// nothing, that a changed name is an audited update, and that a bad file
// is refused whole with its line numbers and nothing written.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { useService } from './lib/fixture.mjs';
import { runCli } from './lib/service.mjs';

const ctx = useService();
const PASSWORD = 'correct horse battery staple';
const HEADER = 'login,display_name,unit_path,role,portfolios';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yijian-roster-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let seq = 0;
/** A tag that keeps each test's logins and root unit apart from the others'. */
const tag = () => `t${process.pid}x${++seq}`;

/** Writes content (a string or Buffer) to a new file; returns its path. */
function csvFile(content) {
  const file = path.join(dir, `roster-${++seq}.csv`);
  fs.writeFileSync(file, content);
  return file;
}

/** Runs import-roster on content; the run must leave no sanitizer report. */
async function importRoster(content) {
  const r = await runCli(ctx.cluster, ['import-roster', csvFile(content)]);
  const reports = r.stderr.split('\n').filter((l) => /Sanitizer|runtime error:/.test(l));
  assert.deepEqual(reports, [], `sanitizer reports from import-roster:\n${r.stderr}`);
  return r;
}

/** The lines "login<TAB>code<TAB>expires_at" printed for new accounts. */
function printedCodes(stdout) {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [login, code, expiresAt, ...rest] = line.split('\t');
      assert.deepEqual(rest, [], `three fields per line: ${JSON.stringify(line)}`);
      assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      return { login, code, expiresAt };
    });
}

const SUMMARY = /^已导入 (\d+) 行：新建单位 (\d+) 个、账号 (\d+) 个；更新账号 (\d+) 个；变更成员关系 (\d+) 项$/m;

function summary(stderr) {
  const m = SUMMARY.exec(stderr);
  assert.ok(m, `no summary line in ${JSON.stringify(stderr)}`);
  const [rows, units, accounts, updated, memberships] = m.slice(1).map(Number);
  return { rows, units, accounts, updated, memberships };
}

/** Row counts of every table an import writes. */
async function counts() {
  const tables = ['org_units', 'accounts', 'activation_codes', 'memberships', 'portfolios', 'committee_portfolios', 'audit_log'];
  const out = await ctx.cluster.psql(`select ${tables.map((t) => `(select count(*) from ${t})`).join(', ')}`);
  return Object.fromEntries(out.split('|').map((n, i) => [tables[i], Number(n)]));
}

const rolesOf = (login, unit) =>
  ctx.cluster.psql(
    `select string_agg(m.role, ',' order by m.role) from memberships m
       join accounts a on a.id = m.account_id join org_units u on u.id = m.unit_id
      where a.login = '${login}' and u.name = '${unit}'`,
  );

// ---- a good file ------------------------------------------------------------

test('good_file_creates_units_accounts_memberships_and_portfolios_and_prints_codes', async () => {
  const t = tag();
  const root = `${t}机关党委`;
  // BOM, CRLF, quoting, a blank line, spaces around fields; li on two rows
  // (two units), wang with two roles in one unit.
  const csv =
    `\uFEFF${HEADER}\r\n` +
    `${t}-wang,王芳,${root}/第一党支部,secretary,\r\n` +
    `${t}-li, 李明 ,${root} / 第一党支部,committee,宣传;组织\r\n` +
    `\r\n` +
    `${t}-li,李明,${root},member,\r\n` +
    `"${t}-zhao","Zhao, ""Z""",${root}/第一党支部/第一党小组,member,\r\n` +
    `${t}-wang,王芳,${root}/第一党支部,committee,\r\n`;
  const before = await counts();
  const r = await importRoster(csv);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(summary(r.stderr), { rows: 5, units: 3, accounts: 3, updated: 0, memberships: 4 });

  const codes = printedCodes(r.stdout);
  assert.deepEqual(codes.map((c) => c.login), [`${t}-wang`, `${t}-li`, `${t}-zhao`]);
  for (const c of codes) {
    const days = (Date.parse(c.expiresAt) - Date.now()) / 86400000;
    assert.ok(days > 13 && days <= 14, `ACTIVATION_TTL is two weeks, got ${c.expiresAt}`);
  }

  // the tree, levels from the names, parents first
  assert.equal(
    await ctx.cluster.psql(
      `with recursive t(id, path, level) as (
         select id, name, level from org_units where parent_id is null and name = '${root}'
         union all select u.id, t.path || '/' || u.name, u.level from org_units u join t on u.parent_id = t.id)
       select string_agg(path || ':' || level, ' ' order by path) from t`,
    ),
    `${root}:committee ${root}/第一党支部:branch ${root}/第一党支部/第一党小组:group`,
  );
  assert.equal(
    await ctx.cluster.psql(`select string_agg(display_name || ':' || is_admin, ' ' order by login) from accounts where login like '${t}-%'`),
    '李明:false 王芳:false Zhao, "Z":false',
  );
  // committee members and secretaries are members too
  assert.equal(await rolesOf(`${t}-wang`, '第一党支部'), 'committee,member,secretary');
  assert.equal(await rolesOf(`${t}-li`, '第一党支部'), 'committee,member');
  assert.equal(await rolesOf(`${t}-li`, root), 'member');
  assert.equal(await rolesOf(`${t}-zhao`, '第一党小组'), 'member');

  const after = await counts();
  assert.equal(after.org_units - before.org_units, 3);
  assert.equal(after.accounts - before.accounts, 3);
  assert.equal(after.memberships - before.memberships, 7);
  assert.equal(after.portfolios - before.portfolios, 2);
  assert.equal(after.committee_portfolios - before.committee_portfolios, 2);
  // every change audited, by the system
  const audit = await ctx.cluster.psql(
    `select actor_kind || ' ' || action || ' ' || count(*) from audit_log
      where id > (select coalesce(max(id), 0) - ${after.audit_log - before.audit_log} from audit_log)
      group by actor_kind, action order by action`,
  );
  assert.equal(
    audit,
    ['system account.create 3', 'system membership.set 4', 'system portfolio.create 2', 'system unit.create 3'].join('\n'),
  );

  // A printed code activates its account, which can then sign in and sees
  // its memberships.
  const li = codes.find((c) => c.login === `${t}-li`);
  const act = await ctx.api.post('/v1/auth/activate', { body: { login: li.login, code: li.code, password: PASSWORD } });
  assert.equal(act.status, 200, JSON.stringify(act.body));
  assert.equal(act.body.account.display_name, '李明');
  assert.equal(act.body.account.is_admin, false);
  const login = await ctx.api.post('/v1/auth/login', { body: { login: li.login, password: PASSWORD } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const me = await ctx.api.get('/v1/me', { token: login.body.token });
  assert.equal(me.status, 200);
  const byUnit = Object.fromEntries(me.body.memberships.map((m) => [m.unit_name, m]));
  assert.deepEqual(Object.keys(byUnit).sort(), [root, '第一党支部'].sort());
  assert.deepEqual(byUnit[root].roles, ['member']);
  assert.deepEqual(byUnit[root].portfolios, []);
  assert.deepEqual(byUnit['第一党支部'].roles, ['committee', 'member']);
  assert.deepEqual(byUnit['第一党支部'].portfolios, ['宣传', '组织']);
});

test('same_file_twice_changes_nothing_the_second_time', async () => {
  const t = tag();
  const csv = [
    HEADER,
    `${t}-a,甲,${t}党委/一党支部,committee,宣传;组织`,
    `${t}-b,乙,${t}党委/一党支部,secretary,`,
    `${t}-b,乙,${t}党委,member,`,
    '',
  ].join('\n');
  const first = await importRoster(csv);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(printedCodes(first.stdout).length, 2);

  const before = await counts();
  const second = await importRoster(csv);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, '', 'no code printed: no account is new');
  assert.deepEqual(summary(second.stderr), { rows: 3, units: 0, accounts: 0, updated: 0, memberships: 0 });
  assert.deepEqual(await counts(), before, 'nothing written, not even an audit row');
});

test('changed_display_name_updates_the_account_and_is_audited', async () => {
  const t = tag();
  const row = (name) => `${HEADER}\n${t}-a,${name},${t}党委,member,\n`;
  assert.equal((await importRoster(row('张三'))).code, 0);
  const before = await counts();
  const r = await importRoster(row('张叁'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(summary(r.stderr), { rows: 1, units: 0, accounts: 0, updated: 1, memberships: 0 });
  assert.equal(await ctx.cluster.psql(`select display_name from accounts where login = '${t}-a'`), '张叁');
  const after = await counts();
  assert.equal(after.audit_log, before.audit_log + 1);
  assert.equal(
    await ctx.cluster.psql(
      `select actor_kind || ' ' || change::text from audit_log where action = 'account.update'
          and object_type = 'account' and object_id = (select id::text from accounts where login = '${t}-a')`,
    ),
    'system {"after": {"display_name": "张叁"}, "before": {"display_name": "张三"}}',
  );
});

test('import_adds_roles_and_portfolios_but_never_removes_a_role', async () => {
  const t = tag();
  const unit = `${t}党委`;
  assert.equal((await importRoster(`${HEADER}\n${t}-a,甲,${unit},secretary,\n`)).code, 0);
  // a later file that only says "member": the secretary stays
  const r = await importRoster(`${HEADER}\n${t}-a,甲,${unit},member,\n${t}-a,甲,${unit},committee,纪检\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(summary(r.stderr), { rows: 2, units: 0, accounts: 0, updated: 0, memberships: 1 });
  assert.equal(await rolesOf(`${t}-a`, unit), 'committee,member,secretary');
  assert.equal(
    await ctx.cluster.psql(
      `select string_agg(p.name, ',') from committee_portfolios cp join portfolios p on p.id = cp.portfolio_id
         join accounts a on a.id = cp.account_id where a.login = '${t}-a'`,
    ),
    '纪检',
  );
});

test('an_existing_login_matches_case_insensitively', async () => {
  const t = tag();
  assert.equal((await importRoster(`${HEADER}\n${t}-Case,甲,${t}党委,member,\n`)).code, 0);
  const r = await importRoster(`${HEADER}\n${t}-CASE,甲,${t}党委/一党支部,member,\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(summary(r.stderr), { rows: 1, units: 1, accounts: 0, updated: 0, memberships: 1 });
  assert.equal(await ctx.cluster.psql(`select count(*) from accounts where lower(login) = lower('${t}-case')`), '1');
});

// ---- refused files: nothing written ---------------------------------------------

/** Imports content, expects exit 1 with nothing written; returns stderr. */
async function refused(content) {
  const before = await counts();
  const r = await importRoster(content);
  assert.equal(r.code, 1, `exit code; stderr:\n${r.stderr}`);
  assert.equal(r.stdout, '', 'no code printed');
  assert.doesNotMatch(r.stderr, SUMMARY);
  assert.match(r.stderr, /未导入任何内容|nothing was imported/);
  assert.deepEqual(await counts(), before, 'nothing written');
  return r.stderr;
}

test('one_bad_row_refuses_the_whole_file_with_its_line', async () => {
  const t = tag();
  const stderr = await refused(
    [HEADER, `${t}-a,甲,${t}党委,member,`, `${t}-b,乙,${t}党委/一党支部,secretary,`, `${t}-c,丙,${t}党委,leader,`, ''].join('\n'),
  );
  assert.match(stderr, /^第 4 行：角色“leader”不是 member（党员）、committee（支委）或 secretary（书记）$/m);
  assert.match(stderr, /：1 处错误，未导入任何内容$/m);
});

test('several_bad_rows_are_all_reported_with_their_lines', async () => {
  const t = tag();
  const stderr = await refused(
    Buffer.concat([
      Buffer.from(
        [
          HEADER,
          `${t}-a,甲,${t}党委,member,`, // 2: fine
          `,乙,${t}党委,member,`, // 3
          `${t}-c,丙,${t}党委//一党支部,member,`, // 4
          `${t}-d,丁,${t}党委,member,宣传`, // 5
          `${t}-e,戊,${t}党委,committee,宣传;宣传`, // 6
          `${t}-f,己,${t}党委,member`, // 7
          `${t}-a,别名,${t}党委/一党支部,member,`, // 8
          `${t}-g,`,
        ].join('\n'),
      ),
      Buffer.from([0xcd, 0xf5]), // 9: GBK, not UTF-8
      Buffer.from(`,${t}党委,member,\n`),
    ]),
  );
  const lines = stderr.split('\n').filter((l) => l.startsWith('第 '));
  assert.deepEqual(lines, [
    '第 3 行：登录名为空',
    `第 4 行：单位路径“${t}党委//一党支部”中有空的一级`,
    '第 5 行：只有角色 committee（支委）才填分工，member 不填',
    '第 6 行：分工“宣传”重复',
    `第 7 行：应有 5 列（${HEADER}），实有 4 列`,
    `第 8 行：登录名“${t}-a”在此行的姓名是“别名”，在第 2 行却是“甲”`,
    '第 9 行：不是有效的 UTF-8 编码（请在 Excel 中另存为“CSV UTF-8”格式）',
  ]);
  assert.match(stderr, /：7 处错误，未导入任何内容$/m);
});

test('header_mismatch_is_refused_naming_the_expected_header', async () => {
  const t = tag();
  const stderr = await refused(`login,name,unit,role\n${t}-a,甲,${t}党委,member\n`);
  assert.match(stderr, /^第 1 行：第一行须是表头 login,display_name,unit_path,role,portfolios$/m);
});

test('unterminated_quote_is_refused_with_its_line', async () => {
  const t = tag();
  const stderr = await refused(`${HEADER}\n${t}-a,甲,${t}党委,member,\n${t}-b,"乙,${t}党委,member,\n`);
  assert.match(stderr, /^第 3 行：引号没有闭合/m);
});

test('unit_whose_level_cannot_be_told_is_refused_unless_it_exists', async () => {
  const t = tag();
  const csv = `${HEADER}\n${t}-a,甲,${t}机关/一党支部,member,\n${t}-b,乙,${t}党委/办公室,member,\n${t}-c,丙,${t}机关,member,\n`;
  const stderr = await refused(csv);
  const lines = stderr.split('\n').filter((l) => l.startsWith('第 '));
  assert.deepEqual(lines, [
    `第 2 行：无法判断单位“${t}机关”的层级（名称须以党委、党总支、党支部或党小组结尾）`,
    '第 3 行：无法判断单位“办公室”的层级（名称须以党委、党总支、党支部或党小组结尾）',
  ]);

  // Once the units exist, their names need not say anything.
  await ctx.cluster.psql(`insert into org_units (name, level) values ('${t}机关', 'committee')`);
  await ctx.cluster.psql(
    `insert into org_units (parent_id, name, level) select id, '办公室', 'branch' from org_units where name = '${t}党委'`,
  );
  await refused(csv); // 办公室 is still unknown under a 党委 that does not exist yet
  await ctx.cluster.psql(`insert into org_units (name, level) values ('${t}党委', 'committee')`);
  await ctx.cluster.psql(
    `insert into org_units (parent_id, name, level) select id, '办公室', 'branch' from org_units where name = '${t}党委'`,
  );
  const r = await importRoster(csv);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(summary(r.stderr), { rows: 3, units: 1, accounts: 3, updated: 0, memberships: 3 });
  assert.equal(await ctx.cluster.psql(`select level from org_units where name = '一党支部'
      and parent_id = (select id from org_units where name = '${t}机关')`), 'branch');
});

test('database_error_late_in_the_import_rolls_everything_back', async () => {
  const t = tag();
  // A trigger that fails the very last kind of write (a committee member's
  // portfolio), after units, accounts, roles and portfolios are written.
  await ctx.cluster.psql(`
    create function refuse_${t}() returns trigger language plpgsql as $$
    begin
      if (select name from portfolios where id = new.portfolio_id) = '${t}' then
        raise exception 'refused by the test';
      end if;
      return new;
    end $$;
    create trigger refuse_${t} before insert on committee_portfolios
      for each row execute function refuse_${t}()`);
  try {
    const stderr = await refused(
      `${HEADER}\n${t}-a,甲,${t}党委/一党支部,member,\n${t}-b,乙,${t}党委,committee,宣传;${t}\n`,
    );
    assert.match(stderr, /^yijian：导入失败，已全部撤销；未导入任何内容（.*refused by the test）$/m);
    assert.equal(await ctx.cluster.psql(`select count(*) from org_units where name = '${t}党委'`), '0');
  } finally {
    await ctx.cluster.psql(`drop trigger refuse_${t} on committee_portfolios; drop function refuse_${t}()`);
  }
});

test('files_over_10_mib_or_100000_rows_are_refused', async () => {
  const big = await refused(Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
  assert.match(big, /超过 10 MiB/);
  const rows = Array.from({ length: 100001 }, (_, i) => `r${i},R,某党委,member,`);
  const many = await refused(`${HEADER}\n${rows.join('\n')}\n`);
  assert.match(many, /^第 100002 行：超过 100000 行，请拆分文件$/m);
});

test('missing_file_and_missing_argument_are_refused', async () => {
  const missing = await runCli(ctx.cluster, ['import-roster', path.join(dir, 'no-such.csv')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /无法打开 .*no-such\.csv：没有这个文件/);
  const usage = await runCli(ctx.cluster, ['import-roster']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /import-roster 名册\.csv/);
});
