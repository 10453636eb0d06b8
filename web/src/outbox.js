// Submissions and workflow steps (co-sign, message, rating, accept, answer,
// approve, assign, merge, withdraw, reopen) that must arrive exactly once
// over a bad network. Each one is
// written to localStorage with its Idempotency-Key before the first attempt,
// then sent, and sent again with the same key after a network failure, a
// 5xx or a 429, with growing pauses, also after the page is closed and
// opened again, until the service answers. The service turns a repeat of a
// key into the first answer, so a retry after a lost answer creates
// nothing (a step's key likewise; an anonymous co-sign is made once by its
// token, so a refusal as spent after a lost answer means it arrived). An
// anonymous entry carries its token, sends no session, and keeps the
// tracking code until the member says it is saved.
//
// Every anonymous act (a submission, a co-sign, and a step taken with a
// tracking code: message, rating, withdrawal, reopening) waits here for a
// random moment before the next boundary of the release window, so that
// its arrival says nothing about when it was made. A tracked step keeps
// its code only until it arrives (then the entry goes: the service's
// `held` shows it from there), and everything here is erased at 退出 and
// at another account's sign-in (device.js).
import { ApiError, NetworkError, api, session } from './api.js';
import { nextBoundary, releaseMoment, returnToken, trackingCodeOf } from './tokens.js';

const KEY = 'yj.outbox';
const listeners = new Set();
let running = false;
let timer = null;

export function entries() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) ?? [];
  } catch {
    return [];
  }
}
function save(list) {
  // An empty outbox leaves no key behind (a follower of a code signed out).
  if (list.length) localStorage.setItem(KEY, JSON.stringify(list));
  else localStorage.removeItem(KEY);
  for (const fn of listeners) fn(list);
}
function update(id, patch) {
  save(entries().map((e) => (e.id === id ? { ...e, ...patch } : e)));
}
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
export function remove(id) {
  save(entries().filter((e) => e.id !== id));
}

/** Discards an entry that will not be sent; an unsent token goes back. */
export async function discard(id) {
  const e = entries().find((x) => x.id === id);
  if (e?.token && e.state === 'failed' && e.tokenUnused) await returnToken(e.token);
  // A step's token never sent goes back; one sent may have been spent.
  if (e?.kind === 'step' && e.token && e.tries === 0) await returnToken(e.token);
  remove(id);
}

/**
 * Queues a submission: kind 'named' (sent with the session) or 'anonymous'
 * (token, sent with nothing else). Resolves to the entry id; the sending
 * goes on in the background (run()).
 */
/**
 * A random UUID (v4). crypto.randomUUID exists only in secure contexts
 * (https, localhost): over plain http with a host name, and in some
 * in-app browsers, it is missing, while crypto.getRandomValues is there.
 */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function enqueue(kind, body, token) {
  const id = uuid();
  // A named entry belongs to the account that wrote it: it is never sent
  // under anyone else's session on a shared phone.
  const account = kind === 'named' ? session.get()?.account ?? null : null;
  // An anonymous one waits for its random moment before the window's end.
  const notBefore = kind === 'anonymous' ? releaseMoment() : 0;
  const e = { id, kind, key: uuid(), body, token: token ?? null, account: account && { id: account.id, name: account.display_name }, state: 'waiting', tries: 0, error: null, result: null, created: new Date().toISOString(), next: 0, notBefore, deadline: notBefore ? nextBoundary() : 0 };
  save([...entries(), e]);
  run();
  return id;
}

/** The refusal of each step that failed, for the page that is waiting on it. */
const refusals = new Map();

/**
 * Queues a workflow step: {method, path, body, sid, label, tracking,
 * href, keep} (label: what it is, in Chinese, for the outbox; sid: its
 * suggestion; tracking: the code a step of the anonymous author is taken
 * with, sent as `Authorization: Tracking`; href: its page when that is
 * not the suggestion's; keep: keep the service's answer in
 * result.answer), with token for an anonymous co-sign
 * (sent with nothing else). A named step belongs to the account that
 * made it, like a named submission.
 */
export function enqueueStep(step, token) {
  const anonymous = !!token || !!step.tracking;
  const account = anonymous ? null : session.get()?.account ?? null;
  // An anonymous step waits for its random moment, as a submission does.
  const notBefore = anonymous ? releaseMoment() : 0;
  const e = { notBefore, deadline: notBefore ? nextBoundary() : 0, id: uuid(), kind: 'step', key: uuid(), method: step.method, path: step.path, body: step.body ?? null, sid: step.sid, href: step.href ?? null, keep: !!step.keep, label: step.label, token: token ?? null, tracking: step.tracking ?? null, account: account && { id: account.id, name: account.display_name }, state: 'waiting', tries: 0, error: null, result: null, created: new Date().toISOString(), next: 0 };
  save([...entries(), e]);
  return e.id;
}

/**
 * Takes a step through the outbox and waits for its first attempt:
 * {queued: false} when it arrived, {queued: true} when it waits for the
 * network (sent later, once), with deadline when it is an anonymous act
 * waiting for its moment before the release window's end; a refusal is thrown as the service gave it
 * and the entry removed (nothing waits that will never go).
 */
export function perform(step, token) {
  const id = enqueueStep(step, token);
  return new Promise((resolve, reject) => {
    let off = () => {};
    const settle = (fn) => {
      off();
      clearTimeout(limit);
      fn();
    };
    const check = () => {
      const e = entries().find((x) => x.id === id);
      if (!e) return settle(() => resolve({ queued: false }));
      if (e.state === 'delivered') {
        // Arrived at once: nothing was queued, nothing to keep (but an answer kept on purpose).
        return settle(() => {
          if (!e.keep) remove(id);
          resolve({ queued: false });
        });
      }
      if (e.state === 'failed') {
        const err = refusals.get(id) ?? new Error(e.error);
        refusals.delete(id);
        return settle(() => {
          remove(id);
          reject(err);
        });
      }
      // Left to go on in the background: its page is refreshed when it arrives.
      const later = (r) => settle(() => {
        update(id, { background: true });
        resolve(r);
      });
      if (e.state === 'waiting' && e.notBefore > Date.now()) return later({ queued: true, deadline: e.deadline });
      if (e.state === 'waiting' && (e.tries > 0 || !navigator.onLine)) return later({ queued: true });
      return undefined;
    };
    const limit = setTimeout(() => settle(() => {
      update(id, { background: true });
      resolve({ queued: true });
    }), 35000);
    off = onChange(check);
    check();
    run();
  });
}

/** Delivered steps are shown for a day, then forgotten. */
export function prune() {
  const old = Date.now() - 86400000;
  const list = entries();
  const kept = list.filter((e) => !(e.kind === 'step' && e.state === 'delivered' && Date.parse(e.delivered) < old));
  if (kept.length !== list.length) save(kept);
}

/** A named entry may go out only with its writer's session. */
const mine = (e) => !!session.get() && session.get().account?.id === e.account?.id;

/** Why an anonymous token was refused: spent by an earlier attempt of ours? */
async function recoverSpent(e) {
  const code = await trackingCodeOf(e.token.output);
  try {
    const s = await api('GET', '/v1/tracked', { tracking: code });
    if (s.title === e.body.title && s.body === e.body.body) return { id: s.id, tracking_code: code };
  } catch {
    /* not ours */
  }
  return null;
}

/** Why a step's anonymous token was refused as spent: by our own earlier attempt. */
const STEP_DONE = (e, err) => !!e.token && err.type === 'token-spent';

/**
 * Whether an earlier attempt of a tracked step whose answer was lost did
 * arrive: the code's view shows it held (or, released, in the thread or
 * the ratings). A message has no key of its own, so this is what keeps a
 * retry from writing it twice; the other steps are refused as done (409).
 */
async function trackedArrived(e) {
  try {
    const s = await api('GET', '/v1/tracked', { tracking: e.tracking });
    const what = e.path.split('/').pop();
    const held = s.held ?? [];
    if (what === 'messages') {
      return held.some((x) => x.kind === 'message' && x.body === e.body?.body)
        || (s.messages ?? []).some((m) => m.author_kind === 'submitter' && m.body === e.body?.body);
    }
    if (what === 'rating') return held.some((x) => x.kind === 'rate' && x.rating === e.body?.rating);
    return held.some((x) => x.kind === what);
  } catch {
    return false;
  }
}

/** A tracked step has arrived: its code is not kept a moment longer. */
function arrived(e, answer) {
  if (e.tracking) {
    remove(e.id);
    return;
  }
  // keep: the answer matters to the person (an anonymous consultation
  // answer's tracking code), kept like a submission's until saved.
  update(e.id, { state: 'delivered', error: null, result: { id: e.sid, ...(e.keep && answer ? { answer } : {}) }, delivered: new Date().toISOString() });
}

async function sendStep(e) {
  const anonymous = !!e.token || !!e.tracking;
  if (!anonymous && !mine(e)) {
    update(e.id, { state: 'waiting', error: `${e.account?.name ?? '操作人'}登录后自动发送` });
    return false;
  }
  if (e.tracking && e.tries > 0 && (await trackedArrived(e))) {
    arrived(e);
    return true;
  }
  update(e.id, { state: 'sending', tries: e.tries + 1 });
  try {
    const body = e.token ? { ...(e.body ?? {}), token: { key_id: e.token.key_id, input: e.token.input, output: e.token.output } } : e.body ?? undefined;
    const r = e.tracking
      ? await api(e.method, e.path, { body, tracking: e.tracking })
      : await api(e.method, e.path, { body, auth: !anonymous, headers: anonymous ? {} : { 'Idempotency-Key': e.key } });
    arrived(e, r);
    return true;
  } catch (err) {
    const transient = err instanceof NetworkError || (err instanceof ApiError && (err.status >= 500 || err.status === 429 || (err.status === 401 && !anonymous)));
    if (transient) {
      const delay = Math.min(30000, 1000 * 2 ** Math.min(e.tries, 5));
      update(e.id, { state: 'waiting', error: err.message, next: Date.now() + delay });
      return false;
    }
    if (STEP_DONE(e, err) || (e.tracking && e.tries > 0 && err.status === 409 && (await trackedArrived(e)))) {
      arrived(e);
      return true;
    }
    refusals.set(e.id, err);
    if (e.token && err.status !== 409) await returnToken(e.token);
    update(e.id, { state: 'failed', error: err.message, token: null });
    return false;
  }
}

async function send(e) {
  if (e.kind === 'step') return sendStep(e);
  const anonymous = e.kind === 'anonymous';
  const body = anonymous ? { ...e.body, token: { key_id: e.token.key_id, input: e.token.input, output: e.token.output } } : e.body;
  if (!anonymous && !mine(e)) {
    update(e.id, { state: 'waiting', error: `${e.account?.name ?? '提交人'}登录后自动发送` });
    return false;
  }
  update(e.id, { state: 'sending', tries: e.tries + 1 });
  try {
    const r = await api('POST', '/v1/suggestions', { body, auth: !anonymous, headers: { 'Idempotency-Key': e.key } });
    update(e.id, { state: 'delivered', error: null, result: { id: r.id, tracking_code: r.tracking_code ?? null, release_at: r.release_at ?? null }, delivered: new Date().toISOString() });
    return true;
  } catch (err) {
    const transient = err instanceof NetworkError || (err instanceof ApiError && (err.status >= 500 || err.status === 429 || err.status === 401));
    if (transient) {
      const delay = Math.min(30000, 1000 * 2 ** Math.min(e.tries, 5));
      update(e.id, { state: 'waiting', error: err.message, next: Date.now() + delay });
      return false;
    }
    if (anonymous && err.type === 'token-spent') {
      const found = await recoverSpent(e);
      if (found) {
        update(e.id, { state: 'delivered', error: null, result: found, delivered: new Date().toISOString() });
        return true;
      }
    }
    // Refused for good: kept (nothing is lost) for the member to change or discard.
    update(e.id, { state: 'failed', error: err.message, tokenUnused: anonymous && err.status === 422 && !String(err.problem.errors?.[0]?.pointer ?? '').startsWith('/token') });
    return false;
  }
}

/** Sends whatever is due, one at a time (one tab at a time where the browser can tell). */
export async function run() {
  if (running) return;
  running = true;
  try {
    const work = async () => {
      for (;;) {
        if (!navigator.onLine) {
          for (const e of entries()) if (e.state === 'sending') update(e.id, { state: 'waiting' });
          break;
        }
        const due = entries().find((e) => (e.state === 'waiting' || e.state === 'sending') && Math.max(e.next ?? 0, e.notBefore ?? 0) <= Date.now() && (e.kind === 'anonymous' || (e.kind === 'step' && (e.token || e.tracking)) || mine(e)));
        if (!due) break;
        await send(due);
      }
    };
    if (navigator.locks) await navigator.locks.request('yijian-outbox', work);
    else await work();
  } finally {
    running = false;
  }
  clearTimeout(timer);
  const pending = entries().filter((e) => (e.state === 'waiting' || e.state === 'sending') && (e.kind === 'anonymous' || (e.kind === 'step' && (e.token || e.tracking)) || mine(e)));
  if (pending.length) {
    const wait = Math.max(500, Math.min(...pending.map((e) => Math.max(e.next ?? 0, e.notBefore ?? 0) - Date.now())));
    timer = setTimeout(run, Math.min(wait, 30000));
  }
}

window.addEventListener('online', () => {
  for (const e of entries()) if (e.state === 'waiting') update(e.id, { next: 0 });
  run();
});
