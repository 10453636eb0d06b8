// Small DOM helpers: elements are built with h(), text is always set as
// text (never as HTML), so nothing from the service can inject markup.

/** h('p', {class: 'x', onclick}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
/** A labelled form field: label + control (+ hint). Returns the wrapper; the control is .control. */
export function field(label, control, hint) {
  const id = control.id || `f${++uid}`;
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
  wrap.control = control;
  return wrap;
}

/** Nested arrays of nodes (and nulls) as one flat list. */
export const nodes = (...children) => children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);

export function mount(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes(children));
  return main;
}

/** A message in the page, read out by screen readers. */
export function notice(text, kind = 'info') {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

export const STATUS = {
  submitted: '已提交',
  accepted: '已受理',
  answered: '已答复',
  published: '已公开',
  withdrawn: '已撤回',
  merged: '已合并',
};
export const DECISION = { adopted: '采纳', partly_adopted: '部分采纳', not_adopted: '不采纳', noted: '已知悉' };
export const RATING = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };
export const ROLE = { member: '党员', committee: '支委', secretary: '书记' };

export function badge(status, overdue) {
  return [
    h('span', { class: `badge s-${status}` }, STATUS[status] ?? status),
    overdue ? h('span', { class: 'badge overdue' }, '已超期') : null,
  ];
}

/** "2026-11-26 09:30" in Beijing time, as members read it. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}
export const day = (iso) => when(iso).slice(0, 10);

/** Disables the button while fn runs; shows an error next to it when it throws. */
export async function busy(button, fn, errorBox) {
  button.disabled = true;
  const old = button.textContent;
  button.textContent = `${old}…`;
  try {
    if (errorBox) errorBox.replaceChildren();
    return await fn();
  } catch (e) {
    if (errorBox) errorBox.replaceChildren(notice(e.message || String(e), 'error'));
    else throw e;
  } finally {
    button.disabled = false;
    button.textContent = old;
  }
}
