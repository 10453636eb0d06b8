// The committee's and secretaries' pages: the inbox (mine, my units,
// overdue first), publishing a bulletin now, and the statistics as charts.
import { NetworkError, api } from './api.js';
import { seen, state, suggestionItem } from './main.js';
import { busy, confirmStep, field, h, mount, notice, when } from './ui.js';

const OPEN = new Set(['submitted', 'accepted']);
const urgency = (a, b) => Number(b.overdue) - Number(a.overdue) || Date.parse(a.status === 'submitted' ? a.ack_due : a.answer_due) - Date.parse(b.status === 'submitted' ? b.ack_due : b.answer_due);

function handledUnits() {
  return (state.me?.memberships ?? []).filter((m) => m.roles.includes('committee') || m.roles.includes('secretary'));
}
function managedUnits() {
  return (state.me?.memberships ?? []).filter((m) => m.roles.includes('secretary'));
}

async function listInto(ul, query, empty) {
  try {
    const r = await api('GET', `/v1/suggestions?${query}&limit=100`);
    const open = r.items.filter((s) => OPEN.has(s.status)).sort(urgency);
    seen.put(`inbox.${query}`, open);
    ul.replaceChildren(...(open.length ? open.map(suggestionItem) : [h('li', { class: 'muted' }, empty)]));
    return r.items;
  } catch (e) {
    // Offline: the list as seen last (this account's storage, erased at 退出).
    const last = e instanceof NetworkError ? seen.get(`inbox.${query}`) : null;
    if (last) ul.replaceChildren(h('li', { class: 'muted' }, `离线：下面是 ${when(new Date(last.at).toISOString())} 看到的内容。`), ...(last.items.length ? last.items.map(suggestionItem) : [h('li', { class: 'muted' }, empty)]));
    else ul.replaceChildren(h('li', {}, notice(e.message, 'error')));
    return [];
  }
}

/** Publishing now, confirmed with a preview of what the bulletin will hold. */
function publishPart(unit) {
  const out = h('div', { role: 'status' });
  const b = h('button', { type: 'button' }, `发布“${unit.unit_name}”公开栏`);
  const panel = confirmStep(b, `确定现在发布“${unit.unit_name}”公开栏吗？`, async () => {
    const r = await api('GET', `/v1/suggestions?unit=${unit.unit_id}&status=answered&limit=100`);
    const items = r.items.filter((s) => s.unit_id === undefined || s.unit_id === unit.unit_id);
    if (!items.length) return [h('p', {}, '现在没有待公开的答复，发布不会有内容。')];
    return [
      h('p', {}, `将公开这 ${items.length} 条已答复的意见（发布后不能撤回）：`),
      h('ul', {}, items.map((s) => h('li', {}, `${s.title}（${s.id}）`))),
    ];
  }, async () => {
    try {
      const r = await api('POST', '/v1/bulletins', { body: { unit_id: unit.unit_id } });
      const bl = r.bulletin;
      out.replaceChildren(notice(`已发布第${bl.seq}期，${bl.items.length} 条答复。`), h('p', {}, h('a', { href: `/bulletins/${bl.id}` }, '查看并打印这一期')));
    } catch (e) {
      if (e.status === 409) out.replaceChildren(notice('没有待公开的答复。'));
      else throw e;
    }
    panel.hidden = true;
    b.hidden = false;
    out.tabIndex = -1;
    out.focus();
  });
  return h('div', { class: 'act' }, b, panel, out);
}

async function inboxPage() {
  const mine = h('ul', { class: 'list', 'aria-label': '我负责的' }, h('li', { class: 'muted' }, '正在加载…'));
  const sections = handledUnits().map((m) => ({ m, ul: h('ul', { class: 'list', 'aria-label': m.unit_name }, h('li', { class: 'muted' }, '正在加载…')) }));
  mount(
    h('h1', {}, '待办'),
    h('p', { class: 'muted' }, '只列出还没答复的意见，超期的排在最前面。'),
    h('h2', {}, '我负责的'),
    mine,
    sections.map(({ m, ul }) => [h('h2', {}, `${m.unit_name}的全部`), ul]),
    managedUnits().length ? [h('h2', {}, '发布公开栏'), h('p', { class: 'muted' }, '把已答复的意见立即发布到公开栏（平时每月自动发布）。'), managedUnits().map(publishPart)] : null,
  );
  await Promise.all([
    listInto(mine, 'assignee=me', '没有待办的意见。'),
    ...sections.map(({ m, ul }) => listInto(ul, `unit=${m.unit_id}`, '没有待办的意见。')),
  ]);
}

// ---- statistics ----------------------------------------------------------------

function flatten(nodes, depth = 0, out = []) {
  for (const n of nodes) {
    out.push({ id: n.id, name: n.name, depth });
    flatten(n.children ?? [], depth + 1, out);
  }
  return out;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Horizontal bars: rows [{label, value, text}], values 0..max (also consult.js). */
export function bars(title, rows, max) {
  const rowH = 28;
  const w = 340;
  const labelW = 120;
  const chart = svg('svg', { viewBox: `0 0 ${w} ${rows.length * rowH + 4}`, width: '100%', role: 'img', 'aria-label': title },
    ...rows.map((r, i) => {
      const y = i * rowH + 2;
      const len = r.value === null || !max ? 0 : ((w - labelW - 60) * r.value) / max;
      return svg('g', {},
        svg('text', { x: 0, y: y + 18, class: 'lbl' }, r.label),
        svg('rect', { x: labelW, y: y + 4, width: Math.max(len, r.value ? 2 : 0), height: rowH - 10, rx: 3, class: r.cls ?? 'bar' }),
        svg('text', { x: labelW + len + 6, y: y + 18, class: 'val' }, r.text));
    }));
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), chart);
}

const pct = (x) => (x === null || x === undefined ? '人数太少，不显示' : `${Math.round(x * 1000) / 10}%`);

async function statsPage() {
  const tree = await api('GET', '/v1/org-units');
  const units = flatten(tree.units);
  const own = state.me.memberships[0]?.unit_id;
  const unit = field('单位', h('select', { name: 'stats_unit' }, units.map((u) => h('option', { value: u.id }, `${'　'.repeat(u.depth)}${u.name}`))));
  const from = field('从（可不填）', h('input', { type: 'date', name: 'from' }));
  const to = field('到（可不填）', h('input', { type: 'date', name: 'to' }));
  if (own) unit.control.value = String(own);
  const out = h('div');
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '查看');
  const form = h('form', { class: 'card' }, unit, from, to, err, submit);
  const show = async () => {
    const q = new URLSearchParams({ unit: unit.control.value });
    if (from.control.value) q.set('from', from.control.value);
    if (to.control.value) q.set('to', to.control.value);
    const r = await api('GET', `/v1/stats?${q}`);
    const top = r.units[0];
    const max = Math.max(1, ...r.units.map((u) => u.received ?? 0));
    const count = (x) => (x === null ? '少于5，不显示' : String(x));
    const parts = [
      bars('收到、已答复、超期（条）', [
        { label: '收到', value: top.received, text: count(top.received) },
        { label: '已答复', value: top.answered, text: count(top.answered), cls: 'bar ok' },
        { label: '超期', value: top.overdue, text: count(top.overdue), cls: 'bar warn' },
      ], Math.max(1, top.received ?? 0)),
      h('p', {}, `答复平均用时（中位数）：${top.median_days_to_answer === null ? '人数太少，不显示' : `${top.median_days_to_answer} 天`}；满意率：${pct(top.satisfaction_rate)}`),
    ];
    if (top.decision_rates) {
      const d = top.decision_rates;
      parts.push(bars('答复结果（占已答复）', [
        { label: '采纳', value: d.adopted, text: pct(d.adopted), cls: 'bar ok' },
        { label: '部分采纳', value: d.partly_adopted, text: pct(d.partly_adopted) },
        { label: '不采纳', value: d.not_adopted, text: pct(d.not_adopted), cls: 'bar warn' },
        { label: '已知悉', value: d.noted, text: pct(d.noted) },
      ], 1));
    }
    if (r.units.length > 1) {
      parts.push(bars('下级单位收到的意见（条）', r.units.slice(1).map((u) => ({ label: u.unit_name.slice(0, 8), value: u.received, text: count(u.received) })), max));
    }
    parts.push(h('p', { class: 'muted' }, '少于 5 条的数字不显示，以免小支部里能猜出是谁提的。'));
    out.replaceChildren(h('h2', {}, top.unit_name), ...parts);
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, show, err);
  });
  mount(h('h1', {}, '统计'), form, out);
  await busy(submit, show, err);
}

export const pages = {
  inbox: inboxPage,
  stats: statsPage,
};
