// The caller's notifications (GET /v1/notifications): newest first, unread
// ones marked, each opening its suggestion and marking itself read; "all
// read" for the rest. The count of unread ones goes into the menu. The list
// seen last is kept (this account's storage) and shown offline.
import { NetworkError, api } from './api.js';
import { seen } from './main.js';
import { busy, flash, h, mount, notice, when } from './ui.js';

/** How many are unread (at most 100 counted; null when it cannot be asked). */
export async function unreadCount() {
  try {
    const r = await api('GET', '/v1/notifications?unread=true&limit=100');
    return r.items.length;
  } catch {
    return null;
  }
}

/** Marks read the unread notices about one suggestion; resolves to how many. */
export async function markReadFor(suggestionId) {
  try {
    const r = await api('GET', '/v1/notifications?unread=true&limit=100');
    const mine = r.items.filter((n) => n.suggestion_id === suggestionId);
    await Promise.all(mine.map((n) => api('POST', `/v1/notifications/${n.id}/read`)));
    return mine.length;
  } catch {
    return 0;
  }
}

function item(n, onRead) {
  const open = async (ev) => {
    ev.preventDefault();
    if (!n.read_at) {
      await api('POST', `/v1/notifications/${n.id}/read`).catch(() => {});
      onRead();
    }
    location.hash = `#/suggestions/${encodeURIComponent(n.suggestion_id)}`;
  };
  return h('li', { class: `item ${n.read_at ? 'read' : 'unread'}` },
    h('a', { href: `#/suggestions/${encodeURIComponent(n.suggestion_id)}`, onclick: open },
      h('span', { class: 'title' }, n.read_at ? '' : h('span', { class: 'badge' }, '未读'), ' ', n.subject)),
    h('div', { class: 'text' }, n.body),
    h('div', { class: 'meta' }, when(n.created_at)));
}

export async function notificationsPage(onChange) {
  const list = h('ul', { class: 'list', 'aria-live': 'polite' }, h('li', { class: 'muted' }, '正在读取……'));
  const all = h('button', { type: 'button' }, '全部标为已读');
  const load = async () => {
    try {
      const r = await api('GET', '/v1/notifications?limit=50');
      seen.put('notifications', r.items);
      list.replaceChildren(...(r.items.length ? r.items.map((n) => item(n, onChange)) : [h('li', { class: 'muted' }, '没有通知。')]));
      all.hidden = !r.items.some((n) => !n.read_at);
    } catch (e) {
      // Offline: the notices as seen last; marking them read waits for the network.
      const last = e instanceof NetworkError ? seen.get('notifications') : null;
      all.hidden = true;
      if (last) list.replaceChildren(h('li', { class: 'muted' }, `离线：下面是 ${when(new Date(last.at).toISOString())} 看到的通知。`), ...last.items.map((n) => item(n, onChange)));
      else list.replaceChildren(h('li', {}, notice(e.message, 'error')));
    }
  };
  const err = h('div');
  all.addEventListener('click', () => busy(all, async () => {
    await api('POST', '/v1/notifications/read-all');
    await load();
    onChange();
    flash('已全部标为已读。');
  }, err));
  mount(h('h1', {}, '通知'), h('p', { class: 'actions' }, all), err, list);
  await load();
}
