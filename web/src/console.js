// The secretary's console (issue 25): for a unit the caller manages, import
// a roster (preview and Chinese line errors before anything is written),
// print activation slips, the members (add one, roles and portfolios, take
// one out after a preview of where their open suggestions go, a new
// activation code, each member's record), the approval rule, sub-units, the
// unit's name, moving it in the tree and retiring it, portfolios and
// categories (add, retire), the bulletin schedule, the unit's WeCom
// webhook, the outbox with its dead letters, the ledger (台账) export, and
// the audit trail of the unit or of one suggestion in plain Chinese. Files the service
// makes (XLSX, CSV, the printable ledger, the slips) are downloaded: a page
// opened from this client would run under its CSP and lose its own style.
import { ApiError, NetworkError, api, session } from './api.js';
import { route, state } from './main.js';
import { STATUS, busy, confirmStep, field, flash, h, mount, notice, title, when } from './ui.js';

/** Units the caller may run: secretary of, or every unit for an admin. */
async function managedUnits() {
  if (state.me?.is_admin) {
    const r = await api('GET', '/v1/org-units');
    const out = [];
    const walk = (list, depth) => list.forEach((u) => { out.push({ id: u.id, name: `${'　'.repeat(depth)}${u.name}`, retired_at: u.retired_at, requires_approval: u.requires_approval }); walk(u.children ?? [], depth + 1); });
    walk(r.units, 0);
    return out;
  }
  const mine = new Set((state.me?.memberships ?? []).filter((m) => m.roles.includes('secretary')).map((m) => m.unit_id));
  if (!mine.size) return [];
  // A secretary runs their units and the units below them.
  const out = [];
  const walk = (list, depth, inside) => list.forEach((u) => {
    const ok = inside || mine.has(u.id);
    if (ok) out.push({ id: u.id, name: `${'　'.repeat(depth)}${u.name}`, retired_at: u.retired_at, requires_approval: u.requires_approval });
    walk(u.children ?? [], ok ? depth + 1 : depth, ok);
  });
  walk((await api('GET', '/v1/org-units')).units, 0, false);
  return out;
}

/** The whole tree, and the units the caller is secretary of (admin: all). */
async function treeOf() {
  const r = await api('GET', '/v1/org-units');
  const managed = new Set((state.me?.memberships ?? []).filter((m) => m.roles.includes('secretary')).map((m) => m.unit_id));
  return { roots: r.units, managed, admin: !!state.me?.is_admin };
}

/** Shows unit id's console again (after a change the page shows in several places). */
async function reshow(id) {
  const to = `#/console/${id}`;
  if (location.hash === to) await route();
  else location.hash = to;
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
  const file = field('名册文件（CSV UTF-8）', h('input', { type: 'file', name: 'roster', accept: '.csv,text/csv' }), ['表头（照抄）：', h('code', {}, 'login,display_name,unit_path,role,portfolios'), '；单位路径以本单位名称开头，多个分工用“；”隔开。']);
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

// ---- members: add one, roles and portfolios, take one out, a new code ------------------------

const ROLE = { member: '党员', committee: '支委', secretary: '书记' };
const ROLE_ORDER = Object.keys(ROLE);
const roleText = (roles, ports) => `${roles.length ? [...roles].sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b)).map((x) => ROLE[x] ?? x).join('、') : '无角色'}${ports.length ? `，分管${ports.join('、')}` : ''}`;

/** Checkboxes for the roles and the unit's portfolios in use; read() gives {roles, portfolios}. */
function rolePicker(portfolios, m) {
  const box = (name, value, text, checked) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value, checked }), ` ${text}`);
  const roles = h('fieldset', {}, h('legend', {}, '角色'), ...Object.entries(ROLE).map(([v, t]) => box('pick_role', v, t, m ? m.roles.includes(v) : v === 'member')));
  const ports = h('fieldset', {}, h('legend', {}, '分管工作（支委）'), ...(portfolios.length ? portfolios.map((p) => box('pick_portfolio', p, p, m?.portfolios.includes(p))) : [h('p', { class: 'muted' }, '本单位还没有分工。')]));
  const wrap = h('div', { class: 'role-picker' }, roles, ports);
  wrap.read = () => {
    const on = (name) => [...wrap.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const r = on('pick_role');
    return { roles: r, portfolios: r.includes('committee') ? on('pick_portfolio') : [] };
  };
  return wrap;
}

async function membersPart(unit, names) {
  const list = h('ul', { class: 'members' });
  let portfolios = [];
  const load = async () => {
    const [r, p] = await Promise.all([api('GET', `/v1/org-units/${unit.id}/members?limit=500`), api('GET', `/v1/org-units/${unit.id}/portfolios`)]);
    portfolios = p.portfolios.filter((x) => !x.retired_at).map((x) => x.name);
    r.members.forEach((m) => names.set(m.account_id, m.display_name));
    list.replaceChildren(...(r.members.length ? r.members.map((m) => memberItem(unit, m, portfolios, load, names)) : [h('li', { class: 'muted' }, '还没有成员。')]));
  };
  await load().catch((e) => list.replaceChildren(h('li', {}, notice(e.message, 'error'))));
  return section(`members-${unit.id}`, '成员', list, h('p', { class: 'muted' }, '忘记密码或激活码丢失时，可以给本人重发激活码。'), addMemberForm(unit, () => portfolios, load));
}

function memberItem(unit, m, portfolios, reload, names) {
  const again = h('button', { type: 'button' }, '重发激活码');
  const shown = h('div', { role: 'status' });
  const codePanel = confirmStep(again, `给“${m.display_name}”重发激活码吗？`, [
    h('p', {}, `${m.display_name}（${m.login}）的旧激活码和密码立即作废，已登录的手机会退出；本人须用新激活码重新激活并设置密码。`),
  ], async () => {
    const c = await api('POST', `/v1/accounts/${m.account_id}/activation-code`);
    shown.replaceChildren(notice(`${m.display_name}的新激活码：${c.activation_code}（只显示这一次）`));
  });

  // Roles and portfolios: the change is shown before it is made.
  const edit = h('button', { type: 'button' }, '修改角色');
  const picker = rolePicker(portfolios, m);
  const editBox = h('div', { class: 'member-edit', hidden: true }, picker);
  const save = h('button', { type: 'button', class: 'primary' }, '保存角色');
  const savePanel = confirmStep(save, `修改“${m.display_name}”的角色吗？`, () => {
    const next = picker.read();
    if (!next.roles.length) return [notice('至少选一个角色；要把成员移出本单位，请用“移出本单位”。', 'error')];
    return [h('p', {}, `现在：${roleText(m.roles, m.portfolios)}`), h('p', {}, `改为：${roleText(next.roles, next.portfolios)}`)];
  }, async () => {
    const next = picker.read();
    if (!next.roles.length) throw new Error('至少选一个角色');
    await api('PUT', `/v1/org-units/${unit.id}/members/${m.account_id}`, { body: next });
    await reload();
    flash(`已修改“${m.display_name}”的角色`);
  });
  editBox.append(h('div', { class: 'actions' }, save), savePanel);
  edit.addEventListener('click', () => { editBox.hidden = !editBox.hidden; });

  // Taking one out: the preview is the service's own (run and rolled back).
  const out = h('button', { type: 'button', class: 'danger' }, '移出本单位');
  const outPanel = confirmStep(out, `把“${m.display_name}”移出本单位吗？`, async () => {
    const p = await api('GET', `/v1/org-units/${unit.id}/members/${m.account_id}/removal`);
    return [
      h('p', {}, `将取消：${roleText(p.roles, p.portfolios)}。账号本身保留，本人仍可登录查看自己提的意见；历史记录都保留。`),
      p.reassigned.length
        ? h('div', {}, h('p', {}, `正在办理的 ${p.reassigned.length} 条意见将改派：`),
          h('ul', { class: 'reassign' }, p.reassigned.map((x) => h('li', {}, `${x.suggestion_id}（${STATUS[x.status] ?? x.status}）${x.title} → ${x.assignee_name ?? '暂无人接收（本单位及上级都没有可接收的支委或书记）'}`))))
        : h('p', {}, '没有正在办理的意见需要改派。'),
    ];
  }, async () => {
    const p = await api('DELETE', `/v1/org-units/${unit.id}/members/${m.account_id}`);
    await reload();
    flash(`已把“${m.display_name}”移出本单位${p.reassigned.length ? `，${p.reassigned.length} 条意见已改派` : ''}`);
  });

  // The member's record in this unit.
  const trail = h('button', { type: 'button' }, '操作记录');
  const trailBox = h('div', { hidden: true });
  trail.addEventListener('click', () => busy(trail, async () => {
    if (!trailBox.hidden) { trailBox.hidden = true; return; }
    trailBox.replaceChildren(await auditList({ object_type: 'membership', object_id: `${unit.id}/${m.account_id}` }, names));
    trailBox.hidden = false;
  }, shown));

  return h('li', {}, `${m.display_name}（${m.login}）${roleText(m.roles, m.portfolios)} `,
    h('div', { class: 'actions' }, edit, again, out, trail), editBox, codePanel, outPanel, trailBox, shown);
}

function addMemberForm(unit, portfolios, reload) {
  const name = field('姓名', h('input', { name: 'new_name', required: true, maxlength: 50 }));
  const login = field('登录名', h('input', { name: 'new_login', required: true, maxlength: 64, autocomplete: 'off' }), '本人登录用，例如手机号或工号');
  const picker = rolePicker(portfolios(), null);
  const add = h('button', { type: 'submit' }, '添加成员');
  const err = h('div');
  const out = h('div', { role: 'status' });
  const form = h('form', { class: 'add-member' }, h('h3', {}, '添加一名成员'), name, login, picker, h('div', { class: 'actions' }, add), err, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(add, async () => {
      const { roles, portfolios: ports } = picker.read();
      if (!roles.length) throw new Error('至少选一个角色');
      const r = await api('POST', '/v1/accounts', { body: { login: login.control.value.trim(), display_name: name.control.value, unit_id: unit.id, roles } });
      if (ports.length) await api('PUT', `/v1/org-units/${unit.id}/members/${r.account.id}`, { body: { roles, portfolios: ports } });
      name.control.value = '';
      login.control.value = '';
      await reload();
      showCreated(out, { units_created: 0, accounts_created: 1, created: [{ account_id: r.account.id, display_name: r.account.display_name, login: r.account.login, activation_code: r.activation_code }] });
    }, err);
  });
  return form;
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
    await reshow(unit.id);
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
  const url = field('企业微信群机器人地址', h('input', { name: 'url', type: 'url', required: true }), '在群里“添加群机器人”后复制的机器人地址');
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

/**
 * Moving the unit: the places offered are the units the caller manages and
 * those below them, never the unit itself or a unit under it (the service
 * refuses a cycle all the same, in Chinese).
 */
function movePart(unit, tree) {
  const under = new Set();
  const mark = (n) => { under.add(n.id); (n.children ?? []).forEach(mark); };
  const find = (list, id) => { for (const n of list) { if (n.id === id) return n; const f = find(n.children ?? [], id); if (f) return f; } return null; };
  const self = find(tree.roots, unit.id);
  if (self) mark(self);
  const places = [];
  const walk = (list, depth, inside) => list.forEach((n) => {
    const ok = inside || tree.managed.has(n.id);
    if (ok && !under.has(n.id) && !n.retired_at) places.push({ id: n.id, name: `${'　'.repeat(depth)}${n.name}` });
    walk(n.children ?? [], depth + 1, ok);
  });
  walk(tree.roots, 0, tree.admin);
  if (!places.length) return [];
  const parentName = self?.parent_id ? find(tree.roots, self.parent_id)?.name : null;
  const to = field('移到哪个单位下面', h('select', { name: 'move_to' }, places.map((p) => h('option', { value: p.id, selected: p.id === self?.parent_id }, p.name))));
  const go = h('button', { type: 'button' }, '移动');
  const err = h('div');
  const panel = confirmStep(go, `移动“${unit.name.trim()}”吗？`, () => {
    const target = places.find((p) => String(p.id) === to.control.value);
    const below = under.size - 1;
    return [h('p', {}, `“${unit.name.trim()}”${below ? `和它的 ${below} 个下级单位` : ''}将从“${parentName ?? '最上层'}”下面移到“${target?.name.trim()}”下面。成员、意见和历史记录都跟着单位走。`)];
  }, async () => {
    await api('PATCH', `/v1/org-units/${unit.id}`, { body: { parent_id: Number(to.control.value) } });
    await reshow(unit.id);
    flash('单位已移动');
  });
  return [h('h3', {}, '在组织树中移动'), to, h('div', { class: 'actions' }, go), panel, err];
}

function unitPart(unit, tree) {
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
    await reshow(unit.id);
    flash('已改名');
  });
  const move = movePart(unit, tree);
  const retire = retireControl(unit, '', { name: unit.name.trim(), retired_at: unit.retired_at }, '单位',
    '停用后，这个单位不再接收新意见、新成员、下级单位、分工和类别；已有的意见、成员和记录都保留。须先停用它的全部下级单位。',
    async () => { await reshow(unit.id); });
  return section(`unit-${unit.id}`, '单位', form, rename, h('div', { class: 'actions' }, save), panel, err2, ...move,
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
  'suggestion.submit': '提交意见', 'suggestion.accept': '受理', 'suggestion.assign': '改派承办人', 'suggestion.draft_answer': '起草答复',
  'suggestion.answer': '答复', 'suggestion.publish': '公开', 'suggestion.rate': '评价', 'suggestion.reopen': '重新办理',
  'suggestion.withdraw': '撤回', 'suggestion.merge': '合并', 'suggestion.message': '留言', 'suggestion.escalate': '逾期上报',
  'suggestion.cosign': '附议', 'suggestion.show': '设置向本单位展示', 'account.new_activation_code': '重发激活码',
};

/** What an entry changed, in a few words. */
function changeText(e) {
  const before = e.change?.before ?? {};
  const after = e.change?.after ?? {};
  if (after.format) return `（${after.from} 至 ${after.to}，${after.format}，${after.rows} 条）`;
  if (e.action === 'membership.set') {
    if (!(after.roles ?? []).length) return `（移出本单位；原为${roleText(before.roles ?? [], before.portfolios ?? [])}）`;
    return `（${roleText(before.roles ?? [], before.portfolios ?? [])} → ${roleText(after.roles, after.portfolios ?? [])}）`;
  }
  if (e.action === 'unit.move') return '（移到新的上级单位下）';
  if (e.action === 'suggestion.assign') return after.assignee_id ? '（改由新的承办人办理）' : '（暂无人接收）';
  if (before.status && after.status) return `（${STATUS[before.status] ?? before.status} → ${STATUS[after.status] ?? after.status}）`;
  return after.name ? `（${after.name}）` : '';
}

/** The entries about one object, oldest first, as a list; names: account id → name. */
async function auditList(query, names) {
  const list = h('ol', { class: 'audit' });
  try {
    const q = new URLSearchParams({ ...query, limit: '50' });
    const r = await api('GET', `/v1/audit?${q}`);
    list.replaceChildren(...(r.items.length ? r.items.map((e) => {
      const who = e.actor_kind === 'system' ? '系统' : e.actor_kind === 'anonymous' ? '匿名' : names.get(e.actor_id) ?? `账号 ${e.actor_id}`;
      return h('li', {}, `${when(e.at)} ${who}：${ACTION[e.action] ?? e.action}${changeText(e)}`);
    }) : [h('li', { class: 'muted' }, '还没有记录。')]));
  } catch (e) {
    list.replaceChildren(h('li', {}, notice(e.message, 'error')));
  }
  return list;
}

async function auditPart(unit, names) {
  const list = await auditList({ object_type: 'unit', object_id: String(unit.id) }, names);
  const id = field('意见编号', h('input', { name: 'suggestion_id', placeholder: 'S-', maxlength: 8, autocomplete: 'off' }), '查看一条意见的办理记录，例如 S-7K3Q9D');
  const show = h('button', { type: 'submit' }, '查看办理记录');
  const err = h('div');
  const out = h('div');
  const form = h('form', {}, id, h('div', { class: 'actions' }, show), err, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(show, async () => {
      const v = id.control.value.trim().toUpperCase();
      if (!/^S-[0-9A-HJKMNP-TV-Z]{6}$/.test(v)) throw new Error('意见编号是 S- 加 6 个字母或数字，例如 S-7K3Q9D');
      out.replaceChildren(h('h3', {}, `意见 ${v} 的办理记录`), await auditList({ object_type: 'suggestion', object_id: v }, names));
    }, err);
  });
  return section(`audit-${unit.id}`, '操作记录', h('h3', {}, '本单位'), list, form, h('p', { class: 'muted' }, '时间为北京时间。'));
}

// ---- the bulletin schedule ----------------------------------------------------------------

const WEEKDAY = ['', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六', '星期日'];

async function schedulePart(unit) {
  const now = h('p');
  const freq = field('发布方式', h('select', { name: 'frequency' }, h('option', { value: 'monthly' }, '每月一次'), h('option', { value: 'weekly' }, '每周一次'), h('option', { value: 'off' }, '不自动发布（书记手动发布）')));
  const dom = field('每月几号', h('input', { type: 'number', name: 'day_of_month', min: 1, max: 31, value: 1 }), '某月没有这一天时，在当月最后一天发布');
  const dow = field('星期几', h('select', { name: 'day_of_week' }, WEEKDAY.slice(1).map((t, i) => h('option', { value: i + 1 }, t))));
  const hour = field('几点（北京时间）', h('input', { type: 'number', name: 'hour', min: 0, max: 23, value: 9 }));
  const showFor = () => {
    dom.hidden = freq.control.value !== 'monthly';
    dow.hidden = freq.control.value !== 'weekly';
    hour.hidden = freq.control.value === 'off';
  };
  const describe = (s) => (s.frequency === 'off' ? '不自动发布' : s.frequency === 'monthly' ? `每月 ${s.day_of_month} 日 ${s.hour} 点` : `每${WEEKDAY[s.day_of_week]} ${s.hour} 点`);
  const load = async () => {
    const s = await api('GET', `/v1/org-units/${unit.id}/bulletin-schedule`);
    now.textContent = `现在：${describe(s)}${s.default ? '（全局默认）' : ''}${s.next_slot ? `；下次发布：${new Date(s.next_slot).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false })}` : ''}`;
    freq.control.value = s.frequency;
    if (s.day_of_month) dom.control.value = s.day_of_month;
    if (s.day_of_week) dow.control.value = s.day_of_week;
    if (s.hour !== undefined) hour.control.value = s.hour;
    showFor();
  };
  freq.control.addEventListener('change', showFor);
  const wanted = () => {
    const f = freq.control.value;
    const b = { frequency: f };
    if (f === 'monthly') b.day_of_month = Number(dom.control.value);
    if (f === 'weekly') b.day_of_week = Number(dow.control.value);
    if (f !== 'off') b.hour = Number(hour.control.value);
    return b;
  };
  const save = h('button', { type: 'button' }, '保存发布时间');
  const err = h('div');
  const panel = confirmStep(save, '修改公开栏的发布时间吗？', () => [h('p', {}, `改为：${describe(wanted())}。已发布的公开栏不受影响。`)], async () => {
    await api('PUT', `/v1/org-units/${unit.id}/bulletin-schedule`, { body: wanted() });
    await load();
    flash('公开栏发布时间已保存');
  });
  await load().catch((e) => err.replaceChildren(notice(e.message, 'error')));
  return section(`schedule-${unit.id}`, '公开栏发布时间', now, freq, dom, dow, hour, h('div', { class: 'actions' }, save), panel, err);
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
  const names = new Map(); // account id → display name, for the audit trails
  const [tree, ...parts] = await Promise.all([treeOf(), membersPart(chosen, names), portfoliosPart(chosen), categoriesPart(chosen), schedulePart(chosen), webhooksPart(chosen), outboxPart(chosen)]);
  mount(h('h1', {}, '支部管理'), pick, chosen.retired_at ? notice(`本单位已于 ${chosen.retired_at.slice(0, 10)} 停用，只保留历史记录。`, 'error') : null,
    rosterPart(chosen), unitPart(chosen, tree), approvalPart(chosen), ...parts, ledgerPart(chosen), await auditPart(chosen, names));
}

export const pages = { console: consolePage };
