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
  pending: '待送达',
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

/** A refusal that belongs to one field: shown under it and tied to it. */
export class FieldError extends Error {
  constructor(control, message) {
    super(message);
    this.control = control;
  }
}

/** Removes the field errors shown inside root. */
function clearFieldErrors(root) {
  for (const el of root.querySelectorAll('.field-error')) el.remove();
  for (const el of root.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && !id.endsWith('-err'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
}

/** Shows text under control, as its description (aria-describedby), and marks it invalid. */
function showFieldError(control, text) {
  const id = `${control.id || (control.id = `f${++uid}`)}-err`;
  let p = document.getElementById(id);
  if (!p) {
    p = h('p', { class: 'field-error', id });
    control.insertAdjacentElement('afterend', p);
  }
  p.textContent = p.textContent ? `${p.textContent}；${text}` : text;
  control.setAttribute('aria-invalid', 'true');
  const ids = new Set((control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
  ids.add(id);
  control.setAttribute('aria-describedby', [...ids].join(' '));
}

/** The control a JSON pointer names inside root: data-pointer, else the name. */
function controlFor(root, pointer) {
  if (!root || !pointer) return null;
  return root.querySelector(`[data-pointer="${CSS.escape(pointer)}"]`) ?? root.querySelector(`[name="${CSS.escape(pointer.slice(1))}"]`);
}

/**
 * Disables the button while fn runs. When fn throws, the message goes into
 * errorBox (and each field's own refusal under that field), and focus goes
 * to the first field at fault, else to the message: never to <body>.
 */
export async function busy(button, fn, errorBox) {
  button.disabled = true;
  const old = button.textContent;
  button.textContent = `${old}…`;
  const root = button.closest('form') ?? button.closest('section') ?? errorBox?.parentElement;
  try {
    if (errorBox) errorBox.replaceChildren();
    if (root) clearFieldErrors(root);
    return await fn();
  } catch (e) {
    if (!errorBox) throw e;
    let first = null;
    if (e instanceof FieldError && e.control) {
      showFieldError(e.control, e.message);
      first = e.control;
    }
    for (const [pointer, details] of Object.entries(e.fields ?? {})) {
      const c = controlFor(root, pointer);
      if (!c) continue;
      for (const d of details) showFieldError(c, d);
      first ??= c;
    }
    const msg = notice(e instanceof FieldError ? '请按提示修改后再提交。' : e.message || String(e), 'error');
    msg.tabIndex = -1;
    errorBox.replaceChildren(msg);
    (first ?? msg).focus();
  } finally {
    button.disabled = false;
    button.textContent = old;
  }
}

/** The page's title: what the screen is, then the app. */
export function title(text) {
  document.title = text ? `${text} - 意见箱` : '意见箱';
}

/** A success message at the top of the page, focused so that it is read out. */
export function flash(text) {
  const main = document.getElementById('main');
  main.querySelector(':scope > .notice.flash')?.remove();
  const n = notice(text);
  n.classList.add('flash');
  n.tabIndex = -1;
  main.prepend(n);
  n.focus();
}

/**
 * A step that cannot be undone is confirmed in the page with a preview:
 * the first tap shows what will happen (preview: nodes, or an async
 * function giving them) with 确认 and 取消; only 确认 acts.
 */
export function confirmStep(button, question, preview, act) {
  const panel = h('div', { class: 'confirm', role: 'group', 'aria-label': question, hidden: true });
  button.addEventListener('click', async (ev) => {
    if (!panel.hidden) return;
    ev.stopImmediatePropagation();
    const err = h('div');
    const yes = h('button', { type: 'button', class: 'danger' }, '确认');
    const no = h('button', { type: 'button' }, '取消');
    panel.replaceChildren(h('p', { class: 'confirm-q' }, question), h('div', { class: 'preview' }, h('p', { class: 'muted' }, '正在加载…')), h('div', { class: 'actions' }, yes, no), err);
    panel.hidden = false;
    button.hidden = true;
    no.addEventListener('click', () => {
      panel.hidden = true;
      button.hidden = false;
      button.focus();
    });
    yes.addEventListener('click', () => busy(yes, act, err));
    try {
      const p = typeof preview === 'function' ? await preview() : preview;
      panel.querySelector('.preview').replaceChildren(...nodes(p));
    } catch (e) {
      panel.querySelector('.preview').replaceChildren(notice(e.message, 'error'));
    }
    panel.querySelector('.confirm-q').tabIndex = -1;
    panel.querySelector('.confirm-q').focus();
  }, { capture: true });
  return panel;
}

/**
 * Copies text for the person, in browsers that lack the clipboard API
 * (WeChat's in-app browser over plain http, older WebViews): the async
 * clipboard where it exists, else the old copy command on a selection,
 * else a read-only field with the text selected, for a long press. status
 * gets what happened. Resolves to 'copied' or 'select'.
 */
export async function copyText(text, status, where) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = '已复制，可以粘贴了。';
    return 'copied';
  } catch {
    /* no clipboard API, or refused: fall back */
  }
  const box = h('input', { type: 'text', readonly: true, value: text, class: 'copybox', 'aria-label': '要复制的内容' });
  where.replaceChildren(box);
  box.focus();
  box.select();
  box.setSelectionRange(0, text.length);
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  status.textContent = copied ? '已复制，可以粘贴了。' : '请长按上面选中的内容，选“复制”。';
  return copied ? 'copied' : 'select';
}

/**
 * Shares a link through the phone's share sheet where there is one
 * (navigator.share); elsewhere (WeChat's in-app browser has none) copies
 * it with copyText. A share the person cancels is no error.
 */
export async function shareLink(titleText, url, status, where) {
  if (typeof navigator.share === 'function') {
    try {
      await navigator.share({ title: titleText, text: titleText, url });
      status.textContent = '已分享。';
      return 'shared';
    } catch (e) {
      if (e?.name === 'AbortError') {
        status.textContent = '';
        return 'cancelled';
      }
    }
  }
  return copyText(`${titleText} ${url}`, status, where);
}
