// The yijian web client: hash routes, one page each. Phone first.
import { ApiError, NetworkError, api, session } from './api.js';
import * as outbox from './outbox.js';
import { pages as committeePages } from './committee.js';
import { renderSuggestion } from './suggestion.js';
import { learnWindow, refreshTokens, takeToken, tokenCount } from './tokens.js';
import { FieldError, busy, field, h, mount, nodes, notice, badge, when, day, title as pageTitle } from './ui.js';
import { codeCard } from './code.js';
import { claim, forgetCode, rememberCode, rememberedCodes, wipe } from './device.js';
import { markReadFor, notificationsPage, unreadCount } from './notifications.js';
import { SCREENS } from './screens.js';

export const state = { me: null, tokens: null, tokenNote: '', unread: null, ended: false };

/**
 * The lists seen last, for offline use: kept in this account's storage
 * (yj.seen.*), erased with everything else at 退出 (device.js).
 */
export const seen = {
  put(name, items) {
    try {
      localStorage.setItem(`yj.seen.${name}`, JSON.stringify({ at: Date.now(), items }));
    } catch {
      /* storage full: offline lists are a convenience */
    }
  },
  get(name) {
    try {
      return JSON.parse(localStorage.getItem(`yj.seen.${name}`));
    } catch {
      return null;
    }
  },
};

// The app shell offline (web/src/sw.js). Only where the browser allows
// service workers (https, localhost); elsewhere the client works as before.
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {});

// ---- the account ---------------------------------------------------------

export async function loadMe() {
  if (!session.get()) {
    state.me = null;
    return null;
  }
  try {
    state.me = await api('GET', '/v1/me');
    localStorage.setItem('yj.me', JSON.stringify(state.me));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) state.me = null;
    else {
      // Offline: the account as seen last, so that drafts can be written and queued.
      let seen = null;
      try {
        seen = JSON.parse(localStorage.getItem('yj.me'));
      } catch {
        /* none */
      }
      state.me ??= seen?.id === session.get().account.id ? seen : { ...session.get().account, memberships: [] };
    }
  }
  return state.me;
}

export const roles = () => (state.me?.memberships ?? []).flatMap((m) => m.roles);
export const isHandler = () => !!state.me && (state.me.is_admin || roles().some((r) => r === 'committee' || r === 'secretary'));
export const isSecretary = () => !!state.me && (state.me.is_admin || roles().includes('secretary'));

async function afterSignIn(login) {
  // A phone shared by several people: another account's things go first.
  await claim(login.account.id);
  session.set(login);
  await loadMe();
  outbox.run();
  fetchTokensInBackground();
  refreshUnread();
}

function fetchTokensInBackground() {
  state.tokenNote = '正在领取匿名凭证…';
  renderChrome();
  refreshTokens()
    .then((n) => {
      state.tokens = n;
      state.tokenNote = '';
    })
    .catch((e) => {
      state.tokenNote = `匿名凭证领取失败：${e.message}`;
    })
    .finally(async () => {
      state.tokens = await tokenCount().catch(() => state.tokens);
      renderChrome();
      showTokenNote();
    });
}

/** The token line of the home page, from what is in the store now. */
export function showTokenNote() {
  const t = document.getElementById('token-note');
  if (t) t.textContent = state.tokenNote || (state.tokens !== null ? `本机有 ${state.tokens} 张匿名凭证` : '');
}

// ---- chrome: who, menu, network bar ----------------------------------------

// The text size the person chose on this phone: a setting of the device,
// not of any account, so 退出 leaves it (its key is outside yj.*).
const LARGE = 'yijian.large-text';
const applyTextSize = () => document.documentElement.classList.toggle('large', localStorage.getItem(LARGE) === '1');
applyTextSize();

function renderChrome() {
  const who = document.getElementById('who');
  who.textContent = state.me ? `${state.me.display_name}` : '未登录';
  // The bottom tab bar, for thumbs: the four places everyone goes, and 待办 for handlers.
  const tabs = state.me
    ? [['#/', '我的'], ['#/write', '写意见'], isHandler() && ['#/inbox', '待办'], ['#/notifications', state.unread ? `通知（${state.unread}）` : '通知'], ['#/board', '公开栏']]
    : [['#/', '登录'], ['#/activate', '激活账号'], ['#/track', '查询码'], ['#/board', '公开栏']];
  // Everything else, at the top.
  const more = state.me ? [['#/stats', '统计'], ['#/track', '查询码'], ['#/outbox', '发送记录'], ['#/consult', '征求意见'], isSecretary() && ['#/console', '支部管理'], ['#/logout', '退出']] : [];
  const here = location.hash || '#/';
  const link = ([href, text]) => h('a', { href, 'aria-current': href === here || (href !== '#/' && here.startsWith(`${href}/`)) ? 'page' : null }, text);
  document.getElementById('tabs').replaceChildren(...tabs.filter(Boolean).map(link));
  const large = localStorage.getItem(LARGE) === '1';
  const size = h('button', { type: 'button', class: 'textsize', 'aria-pressed': large ? 'true' : 'false' }, '大字');
  size.addEventListener('click', () => {
    localStorage.setItem(LARGE, large ? '0' : '1');
    applyTextSize();
    renderChrome();
    document.querySelector('#nav .textsize')?.focus();
  });
  document.getElementById('nav').replaceChildren(...more.filter(Boolean).map(link), size);
  renderNetbar();
}

function renderNetbar() {
  const bar = document.getElementById('netbar');
  const list = outbox.entries();
  const count = (state, kind) => list.filter((e) => (e.kind === 'step') === (kind === 'step') && state.includes(e.state)).length;
  const codes = list.filter((e) => e.state === 'delivered' && e.kind === 'anonymous').length;
  const parts = [];
  if (!navigator.onLine) parts.push('离线：写好的意见和做的操作会保存在本机，联网后自动发送。');
  if (count(['waiting', 'sending'])) parts.push(h('a', { href: '#/outbox' }, `${count(['waiting', 'sending'])} 条意见等待发送`));
  if (count(['waiting', 'sending'], 'step')) parts.push(h('a', { href: '#/outbox' }, `${count(['waiting', 'sending'], 'step')} 项操作等待发送`));
  if (count(['failed'])) parts.push(h('a', { href: '#/outbox' }, `${count(['failed'])} 条意见未能发送，请查看`));
  if (count(['failed'], 'step')) parts.push(h('a', { href: '#/outbox' }, `${count(['failed'], 'step')} 项操作未能发送，请查看`));
  if (codes) parts.push(h('a', { href: '#/outbox' }, `有 ${codes} 个查询码还没有保存`));
  bar.replaceChildren(...parts.flatMap((p, i) => (i ? [' ', p] : [p])));
  bar.hidden = parts.length === 0;
}
let stepsDelivered = new Set(outbox.entries().filter((e) => e.kind === 'step' && e.state === 'delivered').map((e) => e.id));
let trackedWaiting = new Set(outbox.entries().filter((e) => e.tracking).map((e) => e.id));
outbox.onChange((list) => {
  renderNetbar();
  // A step taken with a tracking code has arrived (its entry is gone): the code's page shows it held.
  const nowTracked = new Set(list.filter((e) => e.tracking).map((e) => e.id));
  const gone = [...trackedWaiting].some((id) => !nowTracked.has(id));
  trackedWaiting = nowTracked;
  if (gone && /^#\/track/.test(location.hash)) route();
  if (/^#\/(outbox|sent)/.test(location.hash)) route();
  // A step queued offline has arrived: the suggestion's page shows it done.
  const now = list.filter((e) => e.kind === 'step' && e.state === 'delivered');
  const fresh = now.filter((e) => e.background && !stepsDelivered.has(e.id));
  stepsDelivered = new Set(now.map((e) => e.id));
  const m = /^#\/(?:s|suggestions)\/(.+)$/.exec(location.hash);
  if (m && fresh.some((e) => e.sid === decodeURIComponent(m[1]))) route();
});
window.addEventListener('online', renderNetbar);
window.addEventListener('offline', renderNetbar);
// The service ended the session (expired, or signed out elsewhere): say so
// on the sign-in page instead of dropping the person there without a word.
window.addEventListener('yj-signedout', () => {
  if (state.me) state.ended = true;
  state.me = null;
  route();
});

// ---- sign-in and activation ---------------------------------------------------

function signInPage() {
  const login = field('账号（手机号或用户名）', h('input', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'off' }));
  const password = field('密码', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }));
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '登录');
  const ended = state.ended ? notice('登录已过期或已在别处退出，请重新登录。写了一半的内容还保存在本机。', 'error') : null;
  const form = h('form', { class: 'card', 'aria-labelledby': 'signin-h', novalidate: true }, h('h1', { id: 'signin-h' }, '登录'), ended, login, password, err, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const r = await api('POST', '/v1/auth/login', { auth: false, body: { login: login.control.value.trim(), password: password.control.value } });
      state.ended = false;
      await afterSignIn(r);
      location.hash = '#/';
      route();
    }, err);
  });
  mount(
    form,
    h('p', {}, '第一次使用？', h('a', { href: '#/activate' }, '用激活码激活账号')),
    h('p', {}, '有匿名意见的查询码？', h('a', { href: '#/track' }, '用查询码查看答复')),
  );
}

function activatePage(params = new URLSearchParams()) {
  const login = field('账号（手机号或用户名）', h('input', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'off', value: params.get('login') ?? '' }));
  const code = field('激活码', h('input', { name: 'code', required: true, autocapitalize: 'characters', autocomplete: 'one-time-code', value: params.get('code') ?? '' }), '书记或管理员给您的 12 位码，例如 3KQ9-7DXA-PM2F');
  // The link of an activation slip carries the code: keep it out of the
  // phone's history once the form holds it.
  if (params.has('code')) history.replaceState(null, '', '#/activate');
  const pw = field('设置密码', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 }), '至少 10 个字符');
  const pw2 = field('再输一次密码', h('input', { name: 'password2', type: 'password', autocomplete: 'new-password', required: true }));
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '激活并登录');
  const form = h('form', { class: 'card', 'aria-labelledby': 'act-h', novalidate: true }, h('h1', { id: 'act-h' }, '激活账号'), login, code, pw, pw2, err, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      if ([...pw.control.value].length < 10) throw new FieldError(pw.control, '密码至少 10 个字符');
      if (pw.control.value !== pw2.control.value) throw new FieldError(pw2.control, '两次输入的密码不一样');
      const body = { login: login.control.value.trim(), code: code.control.value.trim(), password: pw.control.value };
      await api('POST', '/v1/auth/activate', { auth: false, body });
      const r = await api('POST', '/v1/auth/login', { auth: false, body: { login: body.login, password: body.password } });
      await afterSignIn(r);
      location.hash = '#/';
      route();
    }, err);
  });
  mount(form);
}

/** What 退出 would erase that the member may still want. */
function atStake() {
  const list = outbox.entries();
  return {
    unsent: list.filter((e) => e.state !== 'delivered' && e.kind !== 'step').length,
    steps: list.filter((e) => e.state !== 'delivered' && e.kind === 'step').length,
    codes: list.filter((e) => e.state === 'delivered' && e.kind === 'anonymous').length,
    remembered: rememberedCodes().length,
  };
}

let logoutConfirmed = false;
async function logout() {
  const s = atStake();
  if (!logoutConfirmed && state.me && (s.unsent || s.steps || s.codes || s.remembered)) {
    const go = h('button', { type: 'button', class: 'danger' }, '仍然退出，并从本机删除');
    go.addEventListener('click', () => {
      logoutConfirmed = true;
      route();
    });
    mount(
      h('h1', {}, '退出前请确认'),
      h('p', {}, '退出时，本机为您保存的一切都会删除（草稿、待发送的意见、匿名凭证、查询码），下一个在这部手机上登录的人什么也看不到。'),
      h('ul', {},
        s.unsent ? h('li', {}, `${s.unsent} 条意见还没有发出，退出后会丢失。`) : null,
        s.steps ? h('li', {}, `${s.steps} 项操作（附议、留言、评价等）还没有发出，退出后会丢失。`) : null,
        s.codes ? h('li', {}, `${s.codes} 个查询码还没有确认保存，退出后再也看不到。`) : null,
        s.remembered ? h('li', {}, `本机记住的 ${s.remembered} 个查询码会删除：请先抄下或保存成图片。`) : null),
      h('p', { class: 'actions' }, h('a', { class: 'button primary', href: '#/outbox' }, '先去处理'), go),
    );
    return;
  }
  logoutConfirmed = false;
  try {
    await api('POST', '/v1/auth/logout');
  } catch {
    /* signed out here either way */
  }
  await wipe();
  session.clear();
  state.me = null;
  state.unread = null;
  state.tokens = null;
  state.tokenNote = '';
  state.ended = false;
  trackingCode = null;
  location.hash = '#/';
  route();
}

// ---- my suggestions ---------------------------------------------------------

function suggestionItem(s) {
  return h(
    'li',
    { class: 'item' },
    h('a', { href: `#/s/${s.id}` }, h('span', { class: 'title' }, s.title)),
    h('div', { class: 'meta' }, badge(s.status, s.overdue), ` ${s.id} · ${s.unit_name} · ${s.category_name}`),
    h('div', { class: 'meta' }, s.status === 'submitted' ? `受理期限 ${day(s.ack_due)}` : s.status === 'accepted' ? `答复期限 ${day(s.answer_due)}` : `提交于 ${day(s.created_at)}`),
  );
}
export { suggestionItem };

/** The codes the member chose to keep on this phone (cleared at 退出). */
function rememberedList() {
  const codes = rememberedCodes();
  if (!codes.length) return null;
  return [
    h('h2', {}, '本机记住的查询码'),
    h('ul', { class: 'list', 'aria-label': '本机记住的查询码' }, codes.map((c) =>
      h('li', { class: 'item' },
        h('a', { href: '#/track', onclick: () => { trackingCode = c.code; } }, h('span', { class: 'title' }, c.title)),
        h('div', { class: 'meta' }, `匿名 · ${c.id}`),
        h('button', { type: 'button', onclick: () => { forgetCode(c.code); route(); } }, '从本机删除')))),
  ];
}

/** One suggestion its author shows to the member's unit. */
function shownItem(s) {
  return h('li', { class: 'item' },
    h('a', { href: `#/s/${s.id}` }, h('span', { class: 'title' }, s.title)),
    h('div', { class: 'meta' }, badge(s.status), ` ${s.author_name ?? '匿名'} · 附议 ${s.cosign_count} 人 · ${s.unit_name}`));
}

/** What the authors of the member's unit(s) show them, newest first; kept for the suggestion page. */
async function shownList(list) {
  const units = new Map((state.me.memberships ?? []).map((m) => [m.unit_id, m.unit_name]));
  try {
    const all = (await Promise.all([...units].map(async ([id, name]) =>
      (await api('GET', `/v1/org-units/${id}/shown-suggestions`)).suggestions.map((x) => ({ ...x, unit_id: id, unit_name: name })))))
      .flat().sort((a, b) => b.created_at.localeCompare(a.created_at));
    seen.put('shown', all);
    list.replaceChildren(...(all.length ? all.map(shownItem) : [h('li', { class: 'muted' }, '本支部还没有公开的意见。')]));
  } catch (e) {
    const last = e instanceof NetworkError ? seen.get('shown') : null;
    if (last) list.replaceChildren(h('li', { class: 'muted' }, `离线：下面是 ${when(new Date(last.at).toISOString())} 看到的内容。`), ...last.items.map(shownItem));
    else list.replaceChildren(h('li', {}, notice(e.message, 'error')));
  }
}

async function homePage() {
  const me = state.me;
  const list = h('ul', { class: 'list', 'aria-label': '我的意见' }, h('li', { class: 'muted' }, '正在加载…'));
  const shown = h('ul', { class: 'list', 'aria-label': '本支部公开的意见' }, h('li', { class: 'muted' }, '正在加载…'));
  const cosignId = field('意见编号', h('input', { name: 'cosign', placeholder: 'S-XXXXXX', autocapitalize: 'characters' }));
  const cosignForm = h('form', { class: 'inline' }, cosignId, h('button', { type: 'submit' }, '查看并附议'));
  cosignForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = cosignId.control.value.trim().toUpperCase();
    if (id) location.hash = `#/s/${id}`;
  });
  // Open consultations (征求意见) that ask the member, filled in by consult.js.
  const consults = h('section', { class: 'consult-home' });
  consultModule().then((m) => m.homeCard(consults)).catch(() => {});
  mount(
    h('h1', {}, `${me.display_name}，您好`),
    h('p', { class: 'actions' }, h('a', { class: 'button primary', href: '#/write' }, '写意见')),
    h('p', { id: 'token-note', class: 'muted' }),
    consults,
    h('h2', {}, '我的意见'),
    list,
    h('p', { class: 'muted' }, '匿名提交的意见不会出现在这里：请用查询码查看。'),
    rememberedList(),
    h('h2', {}, '本支部公开的意见'),
    h('p', { class: 'muted' }, '提出人愿意让本支部成员看到的意见，同意的话可以附议。'),
    shown,
    h('h2', {}, '附议'),
    h('p', {}, '群里有人分享了意见编号？输入编号查看并附议。'),
    cosignForm,
  );
  // The count after whatever was spent since sign-in.
  state.tokens = await tokenCount().catch(() => state.tokens);
  showTokenNote();
  const others = shownList(shown);
  try {
    const r = await api('GET', '/v1/suggestions?author=me&limit=100');
    const mine = r.items;
    seen.put('mine', mine);
    list.replaceChildren(...(mine.length ? mine.map(suggestionItem) : [h('li', { class: 'muted' }, '还没有意见。')]));
  } catch (e) {
    const last = e instanceof NetworkError ? seen.get('mine') : null;
    if (last) list.replaceChildren(h('li', { class: 'muted' }, `离线：下面是 ${when(new Date(last.at).toISOString())} 看到的内容。`), ...last.items.map(suggestionItem));
    else list.replaceChildren(h('li', {}, notice(e.message, 'error')));
  }
  await others;
}

// ---- writing -------------------------------------------------------------------

const DRAFT = 'yj.draft';
const loadDraft = () => {
  try {
    return JSON.parse(localStorage.getItem(DRAFT)) ?? {};
  } catch {
    return {};
  }
};

async function writePage() {
  const draft = loadDraft();
  const units = (state.me.memberships ?? []).map((m) => ({ id: m.unit_id, name: m.unit_name, member: m.roles.includes('member') }));
  const mode = draft.mode === 'anonymous' ? 'anonymous' : 'named';
  const radio = (value, text) =>
    h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'mode', value, checked: mode === value }), text);
  const modeSet = h('fieldset', { class: 'modes' }, h('legend', {}, '提交方式'), radio('named', '实名'), radio('anonymous', '匿名'));
  const unit = field('提给哪个单位', h('select', { name: 'unit', 'data-pointer': '/unit_id' }, units.map((u) => h('option', { value: u.id }, u.name))));
  const category = field('类别', h('select', { name: 'category', required: true, 'data-pointer': '/category_id' }));
  const title = field('标题', h('input', { name: 'title', maxlength: 100, required: true }), '一句话说明是什么事，最多 100 字');
  const body = field('内容', h('textarea', { name: 'body', rows: 7, maxlength: 5000, required: true }), '具体情况和您的建议，最多 5000 字');
  const publishName = h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'publish_name', checked: !!draft.publish_name }), '公开答复时可以显示我的姓名');
  const anonInfo = h(
    'section',
    { class: 'explain', 'aria-labelledby': 'anon-h' },
    h('h2', { id: 'anon-h' }, '匿名是什么意思'),
    h('p', {}, '匿名意见不带您的登录信息，只用一张“匿名凭证”。凭证是您登录时在这部手机上生成的，服务只确认它有效，却认不出是谁的。支委、书记、管理员，哪怕查看整个数据库，也查不到是谁写的，谁也无法事后揭开。'),
    h('h3', {}, '匿名保护不了的'),
    h('ul', {},
      h('li', {}, '内容本身：只有您知道的细节、您的说话习惯，可能让人猜到是您。'),
      h('li', {}, '人很少的支部：只有几个人时，别人可能猜出来。'),
      h('li', {}, '时间：刚开完会就提，别人可能联想到。'),
      h('li', {}, '您的手机和网络：单位 Wi-Fi 能看到您打开了本网站（看不到内容）。'),
    ),
    h('p', {}, '提交后会显示一个查询码，只显示这一次。请复制或保存成图片：它是查看答复、回复和评价的唯一办法。'),
  );
  const draftNote = h('p', { class: 'muted', role: 'status' }, draft.title || draft.body ? '已恢复本机保存的草稿' : '');
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '提交');
  const form = h('form', { class: 'card', 'aria-labelledby': 'write-h', novalidate: true }, h('h1', { id: 'write-h' }, '写意见'), modeSet, anonInfo, unit, category, title, body, publishName, draftNote, err, submit);
  if (draft.unit && units.some((u) => String(u.id) === String(draft.unit))) unit.control.value = String(draft.unit);
  else {
    const own = units.find((u) => u.member);
    if (own) unit.control.value = String(own.id);
  }
  title.control.value = draft.title ?? '';
  body.control.value = draft.body ?? '';

  const currentMode = () => form.querySelector('input[name=mode]:checked')?.value ?? 'named';
  const showMode = () => {
    const anon = currentMode() === 'anonymous';
    anonInfo.hidden = !anon;
    publishName.hidden = anon;
    submit.textContent = anon ? '匿名提交' : '实名提交';
  };
  const saveDraft = () => {
    localStorage.setItem(DRAFT, JSON.stringify({ mode: currentMode(), unit: unit.control.value, category: category.control.value, title: title.control.value, body: body.control.value, publish_name: publishName.querySelector('input').checked }));
    draftNote.textContent = `草稿已保存在本机 ${new Date().toTimeString().slice(0, 5)}`;
  };
  const loadCategories = async () => {
    const id = unit.control.value;
    if (!id) return;
    try {
      const r = await api('GET', `/v1/org-units/${id}/categories`);
      r.categories = r.categories.filter((c) => !c.retired_at); // retired: kept for history only
      category.control.replaceChildren(h('option', { value: '' }, '请选择'), ...r.categories.map((c) => h('option', { value: c.id }, c.name)));
      if (draft.category && r.categories.some((c) => String(c.id) === String(draft.category))) category.control.value = String(draft.category);
      const cache = JSON.parse(localStorage.getItem('yj.categories') ?? '{}');
      cache[id] = r.categories.map((c) => [c.id, c.name]);
      localStorage.setItem('yj.categories', JSON.stringify(cache));
    } catch {
      // Offline: the categories seen last time, so that a draft can still be queued.
      const cached = JSON.parse(localStorage.getItem('yj.categories') ?? '{}')[id] ?? [];
      category.control.replaceChildren(h('option', { value: '' }, '请选择'), ...cached.map(([cid, name]) => h('option', { value: cid }, name)));
      if (draft.category) category.control.value = String(draft.category);
    }
  };
  form.addEventListener('input', saveDraft);
  form.addEventListener('change', (ev) => {
    if (ev.target === unit.control) loadCategories();
    showMode();
    saveDraft();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const anon = currentMode() === 'anonymous';
      const b = { unit_id: Number(unit.control.value), category_id: Number(category.control.value), title: title.control.value.trim(), body: body.control.value.trim() };
      if (!b.unit_id) throw new FieldError(unit.control, '请选择单位');
      if (!b.category_id) throw new FieldError(category.control, '请选择类别');
      if (!b.title) throw new FieldError(title.control, '请填写标题');
      if (!b.body) throw new FieldError(body.control, '请填写内容');
      let id;
      if (anon) {
        let token = await takeToken(b.unit_id);
        if (!token && navigator.onLine) {
          await refreshTokens().catch(() => {});
          token = await takeToken(b.unit_id);
        }
        if (!token) throw new Error('本机没有可用的匿名凭证：联网登录时会自动领取，本期领完后下个月再有。');
        id = outbox.enqueue('anonymous', b, token);
        state.tokens = await tokenCount();
      } else {
        id = outbox.enqueue('named', { ...b, publish_name: publishName.querySelector('input').checked });
      }
      localStorage.removeItem(DRAFT);
      location.hash = `#/sent/${id}`;
    }, err);
  });
  showMode();
  mount(form);
  await loadCategories();
}

// ---- what was sent: states, and the tracking code shown once ----------------------

const STATE = { waiting: '等待发送', sending: '正在发送', delivered: '已送达', failed: '未能发送' };

/** "22:00" in Beijing time. */
const hhmm = (ms) => when(new Date(ms).toISOString()).slice(11, 16);

function entryState(e) {
  if (e.state === 'waiting' && e.notBefore > Date.now()) return h('span', { class: 'badge o-waiting' }, `将于 ${hhmm(e.deadline)} 前匿名送达`);
  return h('span', { class: `badge o-${e.state}` }, STATE[e.state]);
}

function sentPage(id) {
  const e = outbox.entries().find((x) => x.id === id);
  if (e?.kind === 'step') {
    location.replace(e.href ?? `#/s/${e.sid}`);
    return;
  }
  if (!e) {
    mount(h('h1', {}, '已完成'), h('p', {}, h('a', { href: '#/' }, '回到我的意见')));
    return;
  }
  if (e.state === 'delivered' && e.kind === 'anonymous') {
    mount(codeCard(e, (remember) => {
      if (remember) rememberCode({ id: e.result.id, code: e.result.tracking_code, title: e.body.title });
      outbox.remove(e.id);
      location.hash = '#/';
    }));
    return;
  }
  const parts = [h('h1', {}, e.kind === 'anonymous' ? '匿名意见' : '实名意见'), h('p', { class: 'title' }, e.body.title), h('p', { class: 'state' }, '状态：', entryState(e))];
  if (e.state === 'delivered') {
    parts.push(h('p', {}, '意见已送达，编号 ', h('a', { href: `#/s/${e.result.id}` }, e.result.id), '。'));
    parts.push(h('p', {}, h('button', { type: 'button', onclick: () => { outbox.remove(e.id); location.hash = `#/s/${e.result.id}`; } }, '查看意见')));
  } else if (e.state === 'failed') {
    parts.push(notice(e.error, 'error'), failedActions(e));
  } else if (e.notBefore && e.notBefore > Date.now()) {
    parts.push(h('p', { class: 'notice' }, `将于 ${hhmm(e.deadline)} 前匿名送达。`),
      h('p', {}, '为了不让送达时间透露您是什么时候写的，匿名意见会在这之前的一个随机时刻发出。请让意见箱开着，或者之后再打开它；送达后这里会显示查询码。'));
  } else {
    parts.push(h('p', {}, navigator.onLine ? '正在发送，请稍候。网络不好时会自动重试，不会重复提交。' : '现在没有网络。意见已保存在本机，联网后会自动发送，不会重复提交。'));
    if (e.error) parts.push(h('p', { class: 'muted' }, `上次尝试：${e.error}`));
  }
  parts.push(h('p', {}, h('a', { href: '#/outbox' }, '查看所有待发送的意见')));
  mount(parts);
}

function failedActions(e) {
  return h(
    'p',
    { class: 'actions' },
    h('button', { type: 'button', onclick: async () => {
      localStorage.setItem(DRAFT, JSON.stringify({ mode: e.kind, unit: e.body.unit_id, category: e.body.category_id, title: e.body.title, body: e.body.body, publish_name: e.body.publish_name }));
      await outbox.discard(e.id);
      location.hash = '#/write';
    } }, '修改后重新提交'),
    h('button', { type: 'button', class: 'danger', onclick: async () => {
      await outbox.discard(e.id);
      route();
    } }, '放弃'),
  );
}

/** One queued step (co-sign, message, rating, a committee action) with its state. */
function stepItem(e) {
  // A step taken with a tracking code is followed with that code, not by the suggestion's id.
  const link = e.tracking
    ? h('a', { href: '#/track', onclick: () => { trackingCode = e.tracking; } }, h('span', { class: 'title' }, e.label))
    : h('a', { href: e.href ?? `#/s/${e.sid}` }, h('span', { class: 'title' }, e.label));
  return h('li', { class: 'item', 'data-step': e.id },
    link,
    h('div', { class: 'meta' }, entryState(e), ` ${when(e.created)} · 已尝试 ${e.tries} 次`),
    e.error && e.state !== 'delivered' ? h('div', { class: 'meta' }, e.error) : null,
    e.state === 'failed' || (e.state === 'waiting' && !e.tries)
      ? h('p', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: async () => {
        await outbox.discard(e.id);
        route();
      } }, e.state === 'failed' ? '知道了，删除' : '不发了'))
      : null);
}

function outboxPage() {
  const list = outbox.entries();
  const steps = list.filter((e) => e.kind === 'step');
  const subs = list.filter((e) => e.kind !== 'step');
  mount(
    h('h1', {}, '发送记录'),
    h('p', { class: 'muted' }, '写好的意见和做的操作（附议、留言、评价、受理、答复……）先存在本机，再发出去；没有网络时会一直等到联网，每条只会送达一次。'),
    h('h2', {}, '意见'),
    subs.length
      ? h('ul', { class: 'list', 'aria-label': '意见发送记录' }, subs.map((e) =>
          h('li', { class: 'item' },
            h('a', { href: `#/sent/${e.id}` }, h('span', { class: 'title' }, e.body.title)),
            h('div', { class: 'meta' }, entryState(e), ` ${e.kind === 'anonymous' ? '匿名' : '实名'} · ${when(e.created)} · 已尝试 ${e.tries} 次`),
            e.error && e.state !== 'delivered' ? h('div', { class: 'meta' }, e.error) : null,
          )))
      : h('p', {}, '没有待发送的意见。'),
    h('h2', {}, '操作'),
    steps.length
      ? h('ul', { class: 'list', 'aria-label': '操作发送记录' }, steps.map(stepItem))
      : h('p', {}, '没有待发送的操作。'),
  );
}

// ---- one suggestion -----------------------------------------------------------------

async function suggestionPage(id) {
  mount(h('p', { class: 'muted' }, '正在加载…'));
  try {
    let s;
    let offline = null;
    try {
      s = await api('GET', `/v1/suggestions/${encodeURIComponent(id)}`);
      seen.put(`s.${s.id}`, s);
    } catch (e) {
      // Offline: the suggestion as seen last; what is done now waits in the outbox.
      const last = e instanceof NetworkError ? seen.get(`s.${id}`) : null;
      if (e instanceof ApiError && e.status === 404) seen.put(`s.${id}`, { cosign_only: true });
      if (!last) throw e;
      if (last.items.cosign_only) {
        mount(h('p', { class: 'notice' }, '离线：现在附议会保存在本机，联网后自动发送。'), ...nodes(renderSuggestion(null, { id, me: state.me, reload: () => suggestionPage(id) })));
        return;
      }
      s = last.items;
      offline = last.at;
    }
    pageTitle(`意见 ${s.id}`);
    const waiting = outbox.entries().filter((e) => e.kind === 'step' && e.sid === s.id && e.state !== 'delivered');
    mount(
      offline ? h('p', { class: 'notice' }, `离线：下面是 ${when(new Date(offline).toISOString())} 看到的内容。现在做的操作会保存在本机，联网后自动发送。`) : null,
      waiting.length ? h('section', { 'aria-labelledby': 'wait-h' }, h('h2', { id: 'wait-h' }, '本机待发送'), h('ul', { class: 'list' }, waiting.map(stepItem))) : null,
      ...nodes(renderSuggestion(s, { me: state.me, handler: isHandler(), secretary: isSecretary(), reload: () => suggestionPage(id) })),
    );
    if (offline) return;
    // Its notices have done their work once the suggestion is seen (or acted on).
    markReadFor(s.id).then((n) => n && refreshUnread());
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      // Members may co-sign what they may not read; what its author shows
      // the unit is as the home page's list gave it.
      const shown = seen.get('shown')?.items.find((x) => x.id === id);
      if (shown) pageTitle(`意见 ${id}`);
      mount(renderSuggestion(null, { id, me: state.me, shown, reload: () => suggestionPage(id) }));
    } else mount(notice(e.message, 'error'));
  }
}

// ---- following with a tracking code ------------------------------------------------

// In memory only; a step taken with it keeps it in the outbox until it arrives.
let trackingCode = null;

function trackPage() {
  const code = field('查询码', h('input', { name: 'code', autocapitalize: 'characters', autocomplete: 'off', spellcheck: 'false' }), '匿名提交时显示的 26 位码；大小写、空格和横线都可以');
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '查看');
  const out = h('div');
  const form = h('form', { class: 'card', 'aria-labelledby': 'track-h' }, h('h1', { id: 'track-h' }, '用查询码查看'), code, err, submit);
  const show = async () => {
    const s = await api('GET', '/v1/tracked', { tracking: trackingCode });
    // Its steps are sent at a random moment before the window's end: learn the window.
    if (s.unit_id != null) await learnWindow(s.unit_id).catch(() => {});
    const waiting = outbox.entries().filter((e) => e.kind === 'step' && e.tracking === trackingCode);
    out.replaceChildren(...nodes(
      waiting.length ? h('section', { 'aria-labelledby': 'wait-h' }, h('h2', { id: 'wait-h' }, '本机待发送'),
        state.me ? null : h('p', { class: 'muted' }, '请让意见箱开着，或者之后再打开它，直到送达；送达前如果有人在这部手机上登录，待发送的操作会从本机删除，不会发出。'),
        h('ul', { class: 'list' }, waiting.map(stepItem))) : null,
      renderSuggestion(s, { tracking: trackingCode, reload: show })));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      trackingCode = code.control.value.replace(/[\s-]/g, '').toUpperCase();
      await show();
    }, err);
  });
  mount(form, out);
  if (trackingCode) busy(submit, show, err);
}

// ---- the board -------------------------------------------------------------------------

async function boardPage() {
  const list = h('ul', { class: 'list', 'aria-label': '公开栏' }, h('li', { class: 'muted' }, '正在加载…'));
  mount(h('h1', {}, '公开栏'), h('p', { class: 'muted' }, '各单位公开的意见答复，每期都有电子签名，可直接打印。'), list, h('p', {}, h('a', { href: '/feed.atom' }, '订阅（Atom）')));
  try {
    const r = await api('GET', '/v1/bulletins', { auth: false });
    list.replaceChildren(...(r.items.length
      ? r.items.map((b) => h('li', { class: 'item' },
          h('a', { href: `/bulletins/${b.id}` }, h('span', { class: 'title' }, `${b.unit_name} 意见公开 第${b.seq}期`)),
          h('div', { class: 'meta' }, `${b.items} 条 · ${day(b.period_from)} 至 ${day(b.period_to)} · 发布于 ${day(b.created_at)}`)))
      : [h('li', { class: 'muted' }, '还没有公开的答复。')]));
  } catch (e) {
    list.replaceChildren(h('li', {}, notice(e.message, 'error')));
  }
}


// ---- routing ---------------------------------------------------------------------------

/** The console's screens (web/src/console.js), loaded when a secretary first opens one. */
const consolePages = () => import('./console.js').then((m) => m.pages);
/** Consultations (web/src/consult.js): loaded by the home page's card or a #/consult… route. */
const consultModule = () => import('./consult.js');

export async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [where, query = ''] = hash.split('?');
  const [, page, arg] = where.split('/');
  renderChrome();
  const signedIn = !!state.me;
  const main = document.getElementById('main');
  // Only the screens of the table (screens.js) open: the browser test visits each.
  const known = Object.hasOwn(SCREENS, page ?? '');
  pageTitle(known ? SCREENS[page ?? ''] : '没有这个页面');
  if (!signedIn && known && !['activate', 'track', 'board'].includes(page)) pageTitle('登录');
  try {
    if (!known) mount(h('h1', {}, '没有这个页面'), h('p', {}, h('a', { href: '#/' }, '回到首页')));
    else if (page === 'activate') activatePage(new URLSearchParams(query));
    else if (page === 'track') trackPage();
    else if (page === 'board') await boardPage();
    else if (page === 'logout') await logout();
    else if (!signedIn) signInPage();
    else if (page === '' || page === undefined) await homePage();
    else if (page === 'write') await writePage();
    else if (page === 'sent') sentPage(arg);
    else if (page === 'outbox') outboxPage();
    else if (page === 's' || page === 'suggestions') await suggestionPage(decodeURIComponent(arg ?? ''));
    else if (page === 'notifications') await notificationsPage(refreshUnread);
    else if (committeePages[page]) await committeePages[page](arg);
    else if (page?.startsWith('consult') && (await consultModule()).pages[page]) await (await consultModule()).pages[page](arg);
    else if (page?.startsWith('console') && isSecretary() && (await consolePages())[page]) await (await consolePages())[page](arg);
    else mount(h('h1', {}, '没有这个页面'), h('p', {}, h('a', { href: '#/' }, '回到首页')));
  } catch (e) {
    // Still a screen with its heading (the screen's name), the refusal under it.
    mount(h('h1', {}, known ? SCREENS[page ?? ''] : '出错了'), notice(e.message || String(e), 'error'));
  }
  if (document.activeElement === document.body || !main.contains(document.activeElement)) {
    if (route.moved) main.focus({ preventScroll: true });
  }
  route.moved = true;
}

// The unread count in the menu: at start, on each visit of the page, and
// every two minutes while the page is open.
async function refreshUnread() {
  if (!state.me) return;
  const n = await unreadCount();
  if (n !== null && n !== state.unread) {
    state.unread = n;
    renderChrome();
  }
}
setInterval(refreshUnread, 120000);

window.addEventListener('hashchange', route);
(async () => {
  await loadMe();
  if (state.me) {
    state.tokens = await tokenCount().catch(() => null);
    outbox.prune();
    await refreshUnread();
  }
  // Anonymous entries go out whoever is signed in (a follower of a code may not be).
  outbox.run();
  await route();
})();
