// The secretary's console (issue 25): for a unit the caller manages, import
// a roster (preview and Chinese line errors before anything is written),
// print activation slips, the members with a new activation code for one,
// the approval rule, sub-units, the unit's name and retiring it,
// portfolios and categories (add, retire), the
// unit's WeCom webhook, the outbox with its dead letters, the ledger (台账)
// export, and the unit's audit trail in plain Chinese. Files the service
// makes (XLSX, CSV, the printable ledger, the slips) are downloaded: a page
// opened from this client would run under its CSP and lose its own style.
import { ApiError, NetworkError, api, session } from './api.js';
import { state } from './main.js';
import { busy, confirmStep, field, flash, h, mount, notice, title } from './ui.js';

/** Units the caller may run: secretary of, or every unit for an admin. */
async function managedUnits() {
  if (state.me?.is_admin) {
    const r = await api('GET', '/v1/org-units');
    const out = [];
    const walk = (list, depth) => list.forEach((u) => { out.push({ id: u.id, name: `${'　'.repeat(depth)}${u.name}`, retired_at: u.retired_at, requires_approval: u.requires_approval }); walk(u.children ?? [], depth + 1); });
    walk(r.units, 0);
    return out;
  }
  const mine = (state.me?.memberships ?? []).filter((m) => m.roles.includes('secretary'));
  if (!mine.length) return [];
  // The tree says which are retired.
  const node = new Map();
  const walk = (list) => list.forEach((u) => { node.set(u.id, u); walk(u.children ?? []); });
  walk((await api('GET', '/v1/org-units')).units);
  return mine.map((m) => ({ id: m.unit_id, name: m.unit_name, retired_at: node.get(m.unit_id)?.retired_at ?? null, requires_approval: node.get(m.unit_id)?.requires_approval }));
}

/** A request whose body or answer is not JSON; resolves to the Response. */
async function raw(method, path, { body, type } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { 'Accept-Language': 'zh-CN', Authorization: `Bearer ${session.get()?.token}`, ...(type ? { 'Content-Type': type } : {}) },
      body,
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new NetworkError();
  }
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch { /* not JSON */ }
    throw new ApiError(res.status, problem);
  }
  return res;
}

/** Saves what the service answered as a file named name. */
async function save(res, name) {
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const section = (id, heading, ...children) => h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, heading), ...children);

// ---- roster -----------------------------------------------------------------------------

function rosterPart(unit) {
  const file = field('名册文件（CSV UTF-8）', h('input', { type: 'file', name: 'roster', accept: '.csv,text/csv' }), '表头：login,display_name,unit_path,role,portfolios；单位路径以本单位名称开头，多个分工用“；”隔开。');
  const previewBtn = h('button', { type: 'button', class: 'primary' }, '检查名册');
  const err = h('div');
  const out = h('div', { class: 'roster-preview', role: 'status' });
  let text = null;
  previewBtn.addEventListener('click', () => busy(previewBtn, async () => {
    const f = file.control.files?.[0];
    if (!f) throw new Error('请先选择名册文件');
    text = await f.arrayBuffer();
    const p = await (await raw('POST', `/v1/org-units/${unit.id}/roster/preview`, { body: text, type: 'text/csv' })).json();
    if (!p.valid) {
      out.replaceChildren(
        notice(`名册有 ${p.errors_total} 处错误，改正后再检查；现在什么也没有导入。`, 'error'),
        h('ul', { class: 'roster-errors' }, p.errors.map((e) => h('li', {}, e.line ? `第 ${e.line} 行：${e.message}` : e.message))),
      );
      return;
    }
    const go = h('button', { type: 'button', class: 'primary' }, '确认导入');
    const panel = confirmStep(go, '确认按这份名册导入吗？', [h('p', {}, `共 ${p.rows} 行。`)], async () => {
      const r = await (await raw('POST', `/v1/org-units/${unit.id}/roster`, { body: text, type: 'text/csv' })).json();
      showCreated(out, r);
    });
    out.replaceChildren(
      h('p', {}, `名册没有错误：共 ${p.rows} 行，将新建 ${p.units_new.length} 个单位、${p.accounts_new.length} 个账号。`),
      p.units_new.length ? h('p', {}, `新单位：${p.units_new.map((u) => u.path).join('、')}`) : null,
      p.accounts_new.length ? h('ul', { class: 'roster-new' }, p.accounts_new.map((a) => h('li', {}, `${a.display_name}（${a.login}）`))) : null,
      p.accounts_name_kept.length ? h('p', { class: 'muted' }, `已有账号的姓名不改：${p.accounts_name_kept.map((a) => a.login).join('、')}`) : null,
      go, panel,
    );
  }, err));
  return section(`roster-${unit.id}`, '导入名册', file, h('div', { class: 'actions' }, previewBtn), err, out);
}

function showCreated(out, r) {
  const slipsBtn = h('button', { type: 'button', class: 'primary' }, '下载激活条（A4 打印）');
  const err = h('div');
  slipsBtn.addEventListener('click', () => busy(slipsBtn, async () => {
    const res = await raw('POST', '/v1/accounts/activation-slips', { body: JSON.stringify({ account_ids: r.created.map((c) => c.account_id) }), type: 'application/json' });
    await save(res, '激活条.html');
    flash('激活条已下载。激活条上的激活码是新发的，上表中的激活码已作废。');
  }, err));
  out.replaceChildren(
    notice(`已导入：新建 ${r.units_created} 个单位、${r.accounts_created} 个账号。激活码只显示这一次，请打印激活条发给本人。`),
    h('table', { class: 'codes' }, h('thead', {}, h('tr', {}, h('th', {}, '姓名'), h('th', {}, '账号'), h('th', {}, '激活码'))),
      h('tbody', {}, r.created.map((c) => h('tr', {}, h('td', {}, c.display_name), h('td', {}, c.login), h('td', { class: 'code' }, c.activation_code))))),
    r.created.length ? h('div', { class: 'actions' }, slipsBtn) : null, err,
  );
}

// ---- retiring (停用: nothing is deleted) ----------------------------------------------------

/**
 * A 停用 button with its confirmation preview, or, for a retired item, the
 * date and 恢复使用. what: the path after /v1/org-units/{id}/ ('' for the
 * unit itself); item: {name, retired_at}; then: reloads what shows it.
 */
function retireControl(unit, what, item, kind, effect, then) {
  const path = `/v1/org-units/${unit.id}/${what ? `${what}/` : ''}retired`;
  const err = h('span');
  if (item.retired_at) {
    const back = h('button', { type: 'button' }, '恢复使用');
    back.addEventListener('click', () => busy(back, async () => {
      await api('PUT', path, { body: { retired: false } });
      await then();
      flash(`${kind}“${item.name}”已恢复使用`);
    }, err));
    return [h('span', { class: 'muted' }, `（${item.retired_at.slice(0, 10)} 已停用）`), ' ', back, err];
  }
  const stop = h('button', { type: 'button', class: 'danger' }, '停用');
  const panel = confirmStep(stop, `停用${kind}“${item.name}”吗？`, [h('p', {}, effect), h('p', {}, '不会删除任何记录，历史照常显示；以后可以恢复使用。')], async () => {
    await api('PUT', path, { body: { retired: true } });
    await then();
    flash(`${kind}“${item.name}”已停用`);
  });
  return [stop, panel, err];
}

// ---- members: a new activation code for one -------------------------------------------------

const ROLE = { member: '党员', committee: '支委', secretary: '书记' };

async function membersPart(unit) {
  const list = h('ul', { class: 'members' });
  try {
    const r = await api('GET', `/v1/org-units/${unit.id}/members?limit=500`);
    list.replaceChildren(...(r.members.length ? r.members.map((m) => {
      const again = h('button', { type: 'button' }, '重发激活码');
      const shown = h('div', { role: 'status' });
      const panel = confirmStep(again, `给“${m.display_name}”重发激活码吗？`, [
        h('p', {}, `${m.display_name}（${m.login}）的旧激活码和密码立即作废，已登录的手机会退出；本人须用新激活码重新激活并设置密码。`),
      ], async () => {
        const c = await api('POST', `/v1/accounts/${m.account_id}/activation-code`);
        shown.replaceChildren(notice(`${m.display_name}的新激活码：${c.activation_code}（只显示这一次）`));
      });
      const roles = m.roles.map((x) => ROLE[x] ?? x).join('、');
      const ports = m.portfolios.length ? `，分管${m.portfolios.join('、')}` : '';
      return h('li', {}, `${m.display_name}（${m.login}）${roles}${ports} `, again, panel, shown);
    }) : [h('li', { class: 'muted' }, '还没有成员。')]));
  } catch (e) {
    list.replaceChildren(h('li', {}, notice(e.message, 'error')));
  }
  return section(`members-${unit.id}`, '成员', list, h('p', { class: 'muted' }, '忘记密码或激活码丢失时，可以给本人重发激活码。'));
}

// ---- the approval rule ------------------------------------------------------------------------

function approvalPart(unit) {
  const on = unit.requires_approval !== false;
  const now = h('p', {}, on ? '现在：答复须经另一位书记审核后才发给提出人。' : '现在：答复不经审核，直接发给提出人。');
  const change = h('button', { type: 'button', class: on ? 'danger' : 'primary' }, on ? '取消审核' : '恢复审核');
  const err = h('div');
  const panel = confirmStep(change, on ? '取消答复审核吗？' : '恢复答复审核吗？', [
    h('p', {}, on ? '取消后，承办人的答复直接发给提出人，不再由另一位书记把关。这一操作会记下是谁做的；您本人起草的答复仍须他人审核。'
      : '恢复后，每条答复须经起草人以外的书记审核，才发给提出人。'),
  ], async () => {
    await api('PATCH', `/v1/org-units/${unit.id}`, { body: { requires_approval: !on } });
    location.hash = `#/console/${unit.id}`;
    flash(on ? '已取消答复审核' : '已恢复答复审核');
  });
  return section(`approval-${unit.id}`, '答复审核', now, h('div', { class: 'actions' }, change), panel, err);
}

// ---- portfolios (分工) ----------------------------------------------------------------------

async function portfoliosPart(unit) {
  const list = h('ul');
  const load = async () => {
    const r = await api('GET', `/v1/org-units/${unit.id}/portfolios`);
    list.replaceChildren(...(r.portfolios.length ? r.portfolios.map((p) => h('li', {}, p.name, ' ',
      ...retireControl(unit, `portfolios/${p.id}`, p, '分工', '停用后，不再分给支委，新意见也不再按它分派（改由书记接收）。', load))) : [h('li', { class: 'muted' }, '还没有分工。')]));
  };
  const name = field('分工名称', h('input', { name: 'portfolio_name', required: true, maxlength: 50 }), '例如：组织、宣传、纪检');
  const add = h('button', { type: 'submit' }, '添加分工');
  const err = h('div');
  const form = h('form', {}, name, h('div', { class: 'actions' }, add), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      await api('POST', `/v1/org-units/${unit.id}/portfolios`, { body: { name: name.control.value } });
      name.control.value = '';
      await load();
      flash('分工已添加');
    }, err);
  });
  await load().catch((e) => list.replaceChildren(h('li', {}, notice(e.message, 'error'))));
  return section(`port-${unit.id}`, '支委分工', list, form);
}

// ---- categories -------------------------------------------------------------------------

async function categoriesPart(unit) {
  const list = h('ul');
  const load = async () => {
    const r = await api('GET', `/v1/org-units/${unit.id}/categories`);
    const items = r.items ?? r.categories ?? r;
    list.replaceChildren(...(items.length ? items.map((c) => {
      const text = `${c.name}（分管：${c.portfolio}，${c.answer_days} 天内答复）`;
      if (c.unit_id !== unit.id) return h('li', {}, text, h('span', { class: 'muted' }, ' 上级单位的类别'));
      return h('li', {}, text, ' ', ...retireControl(unit, `categories/${c.id}`, c, '类别', '停用后，已有意见仍归在这个类别下，但不能再选它提新意见。', load));
    }) : [h('li', { class: 'muted' }, '还没有类别。')]));
  };
  const name = field('类别名称', h('input', { name: 'name', required: true, maxlength: 50 }));
  const portfolio = field('由哪项分工办理', h('input', { name: 'portfolio', required: true, maxlength: 50 }), '例如：组织、宣传');
  const add = h('button', { type: 'submit' }, '添加类别');
  const err = h('div');
  const form = h('form', {}, name, portfolio, h('div', { class: 'actions' }, add), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      await api('POST', `/v1/org-units/${unit.id}/categories`, { body: { name: name.control.value, portfolio: portfolio.control.value } });
      name.control.value = '';
      await load();
      flash('类别已添加');
    }, err);
  });
  await load().catch((e) => list.replaceChildren(h('li', {}, notice(e.message, 'error'))));
  return section(`cat-${unit.id}`, '意见类别', list, form);
}

// ---- webhooks and the outbox ---------------------------------------------------------------

async function webhooksPart(unit) {
  const list = h('ul');
  const load = async () => {
    const r = await api('GET', `/v1/org-units/${unit.id}/webhooks`);
    list.replaceChildren(...(r.items.length ? r.items.map((w) => {
      const del = h('button', { type: 'button', class: 'danger' }, '删除');
      const panel = confirmStep(del, '删除这个群机器人吗？', [h('p', {}, `删除后不再向 ${w.url.replace(/key=.*/, 'key=…')} 发通知。`)], async () => {
        await api('DELETE', `/v1/org-units/${unit.id}/webhooks/${w.id}`);
        await load();
      });
      const test = h('button', { type: 'button' }, '发送测试消息');
      const said = h('span', { role: 'status' });
      test.addEventListener('click', () => busy(test, async () => {
        await api('POST', `/v1/org-units/${unit.id}/webhooks/${w.id}/test`);
        said.replaceChildren(notice('测试消息已发出，请到群里查看；一直没收到的话，请核对机器人地址，多次发送失败后会列在下面“发送失败的通知”里。'));
      }, said));
      return h('li', {}, `${w.kind === 'wecom' ? '企业微信群' : w.kind}：${w.url.replace(/key=.*/, 'key=…')} `, test, ' ', del, panel, said);
    }) : [h('li', { class: 'muted' }, '还没有群机器人。')]));
  };
  const url = field('企业微信群机器人地址', h('input', { name: 'url', type: 'url', required: true }), '在群里“添加群机器人”后复制的 Webhook 地址');
  const add = h('button', { type: 'submit' }, '添加');
  const err = h('div');
  const form = h('form', {}, url, h('div', { class: 'actions' }, add), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      await api('POST', `/v1/org-units/${unit.id}/webhooks`, { body: { kind: 'wecom', url: url.control.value.trim() } });
      url.control.value = '';
      await load();
      flash('群机器人已添加');
    }, err);
  });
  await load().catch((e) => list.replaceChildren(h('li', {}, notice(e.message, 'error'))));
  return section(`hook-${unit.id}`, '群通知', list, form);
}

const EVENT = {
  assigned: '新意见待处理', reassigned: '意见转交', unassigned: '意见改派', submitter_message: '提出人留言',
  approval_needed: '答复待审核', due_soon: '即将到期', overdue: '已逾期', escalated: '逾期上报',
  answered: '已答复', merged: '意见合并', published: '公开栏发布',
};

async function outboxPart(unit) {
  const list = h('ul');
  const load = async () => {
    const r = await api('GET', `/v1/org-units/${unit.id}/outbox?status=dead`);
    list.replaceChildren(...(r.items.length ? r.items.map((d) => {
      const retry = h('button', { type: 'button' }, '重新发送');
      const e = h('span');
      retry.addEventListener('click', () => busy(retry, async () => {
        await api('POST', `/v1/org-units/${unit.id}/outbox/${d.id}/retry`);
        await load();
      }, e));
      const what = d.event === 'test' ? '测试消息' : `${EVENT[d.event] ?? d.event}（${d.suggestion_id}）`;
      return h('li', {}, `${what}已试 ${d.attempts} 次未送达 `, retry, e);
    }) : [h('li', { class: 'muted' }, '没有发送失败的通知。')]));
  };
  await load().catch((e) => list.replaceChildren(h('li', {}, notice(e.message, 'error'))));
  return section(`outbox-${unit.id}`, '发送失败的通知', list);
}

// ---- the ledger -------------------------------------------------------------------------

function ledgerPart(unit) {
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const from = field('从', h('input', { type: 'date', name: 'from', required: true, value: `${today.slice(0, 4)}-01-01` }));
  const to = field('到', h('input', { type: 'date', name: 'to', required: true, value: today }));
  const err = h('div');
  const button = (format, text) => {
    const b = h('button', { type: 'button', class: format === 'xlsx' ? 'primary' : null }, text);
    b.addEventListener('click', () => busy(b, async () => {
      const q = `from=${from.control.value}&to=${to.control.value}&format=${format}`;
      const res = await raw('GET', `/v1/org-units/${unit.id}/ledger?${q}`);
      await save(res, `${unit.name.trim()}台账-${from.control.value}-${to.control.value}.${format}`);
    }, err));
    return b;
  };
  return section(`ledger-${unit.id}`, '台账导出', h('div', { class: 'row' }, from, to),
    h('div', { class: 'actions' }, button('xlsx', '下载 Excel'), button('csv', '下载 CSV'), button('html', '下载打印版（A4）')),
    h('p', { class: 'muted' }, '每次导出都记入审计记录。匿名意见只显示“匿名”。'), err);
}

// ---- the unit: sub-units, its name ---------------------------------------------------------

const LEVEL = { committee: '党委', general_branch: '党总支', branch: '党支部', group: '党小组' };

function unitPart(unit) {
  const name = field('下级单位名称', h('input', { name: 'child_name', required: true, maxlength: 100 }), '例如：第一党小组');
  const level = field('层级', h('select', { name: 'child_level' }, Object.entries(LEVEL).map(([v, t]) => h('option', { value: v, selected: v === 'group' }, t))));
  const add = h('button', { type: 'submit' }, '新建下级单位');
  const err = h('div');
  const form = h('form', {}, name, level, h('div', { class: 'actions' }, add), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      const u = await api('POST', '/v1/org-units', { body: { name: name.control.value, level: level.control.value, parent_id: unit.id } });
      name.control.value = '';
      flash(`已新建“${u.name}”`);
    }, err);
  });
  const rename = field('本单位改名为', h('input', { name: 'rename', maxlength: 100, value: unit.name.trim() }));
  const save = h('button', { type: 'button' }, '改名');
  const err2 = h('div');
  const panel = confirmStep(save, '确定给本单位改名吗？', () => [h('p', {}, `“${unit.name.trim()}”将改名为“${rename.control.value.trim()}”。历史记录保留。`)], async () => {
    await api('PATCH', `/v1/org-units/${unit.id}`, { body: { name: rename.control.value } });
    location.hash = `#/console/${unit.id}`;
    flash('已改名');
  });
  const retire = retireControl(unit, '', { name: unit.name.trim(), retired_at: unit.retired_at }, '单位',
    '停用后，这个单位不再接收新意见、新成员、下级单位、分工和类别；已有的意见、成员和记录都保留。须先停用它的全部下级单位。',
    async () => { location.hash = `#/console/${unit.id}`; });
  return section(`unit-${unit.id}`, '单位', form, rename, h('div', { class: 'actions' }, save), panel, err2,
    h('h3', {}, '停用本单位'), h('p', { class: 'muted' }, '建错了的单位可以停用（不是删除）。'), ...retire);
}

// ---- the audit trail in plain Chinese -------------------------------------------------------

const ACTION = {
  'unit.create': '新建单位', 'unit.rename': '单位改名', 'unit.move': '单位移动', 'unit.update': '修改单位设置',
  'unit.bulletin_schedule': '修改公开栏发布时间', 'membership.set': '设置成员角色', 'portfolio.create': '新建分工',
  'category.create': '新建意见类别', 'category.update': '修改意见类别', 'category.retire': '停用意见类别',
  'category.restore': '恢复意见类别', 'unit.retire': '停用单位', 'unit.restore': '恢复单位', 'portfolio.retire': '停用分工',
  'portfolio.restore': '恢复分工', 'webhook.create': '添加群机器人',
  'webhook.delete': '删除群机器人', 'webhook.test': '发送群通知测试消息', 'ledger.export': '导出台账', 'bulletin.publish': '发布公开栏',
  'notification.retry': '重新发送通知', 'notification.dead': '通知发送失败',
};

async function auditPart(unit) {
  const list = h('ol', { class: 'audit' });
  try {
    const r = await api('GET', `/v1/audit?object_type=unit&object_id=${unit.id}&limit=50`);
    list.replaceChildren(...(r.items.length ? r.items.map((e) => {
      const who = e.actor_kind === 'system' ? '系统' : e.actor_kind === 'anonymous' ? '匿名' : `账号 ${e.actor_id}`;
      const after = e.change?.after ?? {};
      const what = after.format ? `（${after.from} 至 ${after.to}，${after.format}，${after.rows} 条）` : after.name ? `（${after.name}）` : '';
      return h('li', {}, `${e.at.slice(0, 16).replace('T', ' ')} ${who}：${ACTION[e.action] ?? e.action}${what}`);
    }) : [h('li', { class: 'muted' }, '还没有记录。')]));
  } catch (e) {
    list.replaceChildren(h('li', {}, notice(e.message, 'error')));
  }
  return section(`audit-${unit.id}`, '本单位的操作记录', list, h('p', { class: 'muted' }, '时间为世界标准时间（UTC）。'));
}

// ---- the page -----------------------------------------------------------------------------

async function consolePage(arg) {
  title('支部管理');
  const units = await managedUnits();
  if (!units.length) {
    mount(h('h1', {}, '支部管理'), notice('只有书记和管理员可以使用支部管理。', 'error'));
    return;
  }
  const chosen = units.find((u) => String(u.id) === arg) ?? units[0];
  const pick = field('单位', h('select', { name: 'unit' }, units.map((u) => h('option', { value: u.id, selected: u.id === chosen.id }, u.name))));
  pick.control.addEventListener('change', () => { location.hash = `#/console/${pick.control.value}`; });
  const parts = await Promise.all([membersPart(chosen), portfoliosPart(chosen), categoriesPart(chosen), webhooksPart(chosen), outboxPart(chosen)]);
  mount(h('h1', {}, '支部管理'), pick, chosen.retired_at ? notice(`本单位已于 ${chosen.retired_at.slice(0, 10)} 停用，只保留历史记录。`, 'error') : null,
    rosterPart(chosen), unitPart(chosen), approvalPart(chosen), ...parts, ledgerPart(chosen), await auditPart(chosen));
}

export const pages = { console: consolePage };
