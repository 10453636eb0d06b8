// Anonymity tokens (RFC 9497 VOPRF, ristretto255-SHA512), fetched at every
// sign-in whatever the member means to do, so that fetching says nothing.
// Tokens are bound to a unit: some for every unit the member may address
// (their units and those above them), each under that unit's key:
// random inputs are blinded here, the service evaluates them, the batched
// DLEQ proof is checked against the published key (and that key against
// the one seen before for its epoch), and the finalized (input, output)
// pairs are kept in IndexedDB on this phone. Nothing else knows them.
//
// The elliptic-curve and hash code is most of the client's script, and no
// screen needs it to show itself: it is loaded (a separate file, kept by
// the service worker like the rest of the shell) when tokens are fetched
// after sign-in or a tracking code is derived, never for the first page.
import { ApiError, api } from './api.js';

let cryptoLoad;
const voprfCode = () => (cryptoLoad ??= Promise.all([import('@noble/curves/ed25519.js'), import('@noble/hashes/blake2.js')])
  .then(([c, hsh]) => ({ voprf: c.ristretto255_oprf.voprf, blake2b: hsh.blake2b })));
const WANT = 10;

// ---- a tiny key-value store in IndexedDB ---------------------------------

let dbp;
function db() {
  dbp ??= new Promise((resolve, reject) => {
    const req = indexedDB.open('yijian', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('kv');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbp;
}
async function idb(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction('kv', mode);
    const req = fn(tx.objectStore('kv'));
    tx.oncomplete = () => resolve(req?.result);
    tx.onerror = () => reject(tx.error);
  });
}
export const kvGet = (k) => idb('readonly', (s) => s.get(k));
/** Empties the store: the tokens and keys of whoever used this browser. */
export const clearTokens = () => idb('readwrite', (s) => s.clear());
export const kvSet = (k, v) => idb('readwrite', (s) => s.put(v, k));

// ---- encodings -------------------------------------------------------------

export function b64u(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}
export function unb64u(s) {
  const bin = atob(s.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
const rng = (n) => crypto.getRandomValues(new Uint8Array(n));

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The tracking code that belongs to a token's output (the API's TrackingCode). */
export async function trackingCodeOf(outputB64) {
  const { blake2b } = await voprfCode();
  const digest = blake2b(unb64u(outputB64), { dkLen: 16, key: new TextEncoder().encode('yijian tracking code') });
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of digest) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits) out += CROCKFORD[(acc << (5 - bits)) & 31];
  return out;
}

// ---- tokens ------------------------------------------------------------------

const redeemable = (t) => Date.parse(t.redeem_until) > Date.now();

export async function tokenCount() {
  return ((await kvGet('tokens')) ?? []).filter(redeemable).length;
}

async function issue(key, n, depth) {
  const { voprf } = await voprfCode();
  const items = Array.from({ length: n }, () => {
    const input = rng(32);
    const { blind, blinded } = voprf.blind(input, rng);
    return { input, blind, blinded };
  });
  const r = await api('POST', '/v1/tokens/issue', { body: { key_id: key.key_id, unit_id: key.unit_id, blinded: items.map((i) => b64u(i.blinded)) } });
  if (r.key_id !== key.key_id || r.unit_id !== key.unit_id || r.evaluated.length !== n) throw new Error('服务返回的凭证不完整');
  // Throws unless the proof shows every evaluation used the published key.
  const outputs = voprf.finalizeBatch(
    items.map((it, i) => ({ input: it.input, blind: it.blind, blinded: it.blinded, evaluated: unb64u(r.evaluated[i]) })),
    unb64u(key.public_key),
    unb64u(r.proof),
  );
  return items.map((it, i) => ({ key_id: key.key_id, unit_id: key.unit_id, depth, input: b64u(it.input), output: b64u(outputs[i]), redeem_until: key.redeem_until }));
}

/** The units the signed-in member may address, with their depth in the tree: [{id, depth}]. */
async function addressableUnits() {
  const [me, tree] = await Promise.all([api('GET', '/v1/me'), api('GET', '/v1/org-units')]);
  const parent = new Map();
  const depth = new Map();
  const walk = (nodes, up, d) => {
    for (const n of nodes ?? []) {
      parent.set(n.id, up);
      depth.set(n.id, d);
      walk(n.children, n.id, d + 1);
    }
  };
  walk(tree.units, null, 0);
  const out = new Map();
  for (const m of me.memberships ?? []) {
    for (let u = m.unit_id; u != null && !out.has(u); u = parent.get(u)) out.set(u, depth.get(u) ?? 0);
  }
  return [...out].map(([id, d]) => ({ id, depth: d }));
}

/** Keeps the service's release window (public, the same for everyone) from a keys answer. */
function keepWindow(windowSeconds) {
  // Anonymous acts are sent at a random moment before its next boundary.
  if (Number.isInteger(windowSeconds) && windowSeconds > 0) localStorage.setItem('yj.window', String(windowSeconds));
  else localStorage.removeItem('yj.window');
}

/**
 * Learns the release window where no sign-in has (a follower of a
 * tracking code): the keys of the suggestion's unit, asked with nothing
 * that names anyone, as every client asks.
 */
export async function learnWindow(unitId) {
  const r = await api('GET', `/v1/tokens/keys?unit=${unitId}`, { auth: false });
  keepWindow(r.release_window_seconds);
}

/** Tops up the tokens of one unit to WANT under its current key. */
async function refreshUnit(unit) {
  const { keys, release_window_seconds: windowSeconds } = await api('GET', `/v1/tokens/keys?unit=${unit.id}`, { auth: false });
  keepWindow(windowSeconds);
  const key = keys[0];
  const pin = `${key.unit_id}/${key.key_id}`;
  const seen = (await kvGet('keys')) ?? {};
  if (seen[pin] && seen[pin] !== key.public_key) {
    throw new Error('匿名凭证的公钥与上次不同，已停止领取');
  }
  seen[pin] = key.public_key;
  await kvSet('keys', seen);
  const have = ((await kvGet('tokens')) ?? []).filter(redeemable);
  let n = WANT - have.filter((t) => t.key_id === key.key_id && t.unit_id === key.unit_id).length;
  let fresh = [];
  while (n > 0) {
    try {
      fresh = await issue(key, n, unit.depth);
      break;
    } catch (e) {
      if (!(e instanceof ApiError) || e.type !== 'token-quota-exhausted') throw e;
      // The detail starts with how many remain (in either language).
      const left = Number(/^(\d+)/.exec(e.problem.detail ?? '')?.[1] ?? 0);
      if (left >= n) throw e;
      n = left;
    }
  }
  await kvSet('tokens', [...((await kvGet('tokens')) ?? []).filter(redeemable), ...fresh]);
}

/**
 * Tops the store up to 10 tokens of the current key of every unit the
 * member may address (fewer when the quota says fewer remain). Resolves
 * to the number of usable tokens; rejects when a proof or a key does not
 * check out, storing nothing for that unit then.
 */
export async function refreshTokens() {
  let failure = null;
  for (const unit of await addressableUnits()) {
    await refreshUnit(unit).catch((e) => { failure ??= e; });
  }
  if (failure) throw failure;
  return tokenCount();
}

/**
 * Takes one token of the unit out of the store (the one whose key expires
 * first), or null. Without a unit (a suggestion whose unit the member
 * cannot see), one of the highest unit that has any and is not in
 * skipUnits: trying from the top down, a refusal tells the service
 * nothing that the co-sign which then succeeds does not.
 */
export async function takeToken(unit, skipUnits = []) {
  const all = ((await kvGet('tokens')) ?? []).filter(redeemable);
  let pool = unit == null ? all.filter((t) => t.unit_id != null && !skipUnits.includes(t.unit_id)) : all.filter((t) => t.unit_id === unit);
  if (unit == null && pool.length) {
    const top = Math.min(...pool.map((t) => t.depth ?? 0));
    pool = pool.filter((t) => (t.depth ?? 0) === top);
  }
  if (!pool.length) return null;
  pool.sort((a, b) => Date.parse(a.redeem_until) - Date.parse(b.redeem_until));
  const t = pool[0];
  await kvSet('tokens', all.filter((x) => x !== t));
  return t;
}

/** Puts back a token that was taken but never sent (a unit's, or a consultation's). */
export async function returnToken(t) {
  if (t.consultation_id) {
    await kvSet('ctokens', { ...((await kvGet('ctokens')) ?? {}), [t.consultation_id]: t });
    return;
  }
  await kvSet('tokens', [...((await kvGet('tokens')) ?? []), t]);
}

// ---- the one token of a consultation (征求意见) ----------------------------------
// A consultation that takes anonymous answers has a key of its own and
// gives each member exactly one token. The client fetches it the first
// time it shows such a consultation open, whatever the member means to
// do, so that having fetched says nothing; it is kept here (IndexedDB,
// erased at 退出) until it is spent on an answer, named or anonymous.

const fetchingC = new Map();

/**
 * Fetches the caller's token of consultation c (as GET
 * /v1/consultations/{id} gives it) unless it has none to fetch. The
 * proof is checked against c.token_key, which must also be the key the
 * answer names and the one seen before for this consultation; nothing is
 * kept otherwise (throws).
 */
export function fetchConsultationToken(c) {
  if (c.status !== 'open' || c.answer_mode === 'named_only' || !c.you?.asked || !c.token_key) return Promise.resolve(false);
  if (!fetchingC.has(c.id)) {
    fetchingC.set(c.id, (async () => {
      if ((await kvGet('ctokens'))?.[c.id]) return true;
      // The blinded element is kept before it is sent: an answer lost on
      // the way (the page closed, the network cut) is asked for again
      // with the same element, never with a second one.
      const pending = (await kvGet('cpending')) ?? {};
      if (c.you.token_taken && !pending[c.id]) return false;
      const { voprf } = await voprfCode();
      let p = pending[c.id];
      if (!p) {
        const input = rng(32);
        const { blind, blinded } = voprf.blind(input, rng);
        p = { input: b64u(input), blind: b64u(blind), blinded: b64u(blinded) };
        await kvSet('cpending', { ...pending, [c.id]: p });
      }
      const input = unb64u(p.input);
      const blind = unb64u(p.blind);
      const blinded = unb64u(p.blinded);
      const r = await api('POST', `/v1/consultations/${c.id}/token`, { body: { blinded: p.blinded } });
      if (r.public_key !== c.token_key) throw new Error('匿名凭证的公钥与征求意见公布的不同，已停止领取');
      const seen = (await kvGet('keys')) ?? {};
      const pin = `consultation/${c.id}`;
      if (seen[pin] && seen[pin] !== r.public_key) throw new Error('匿名凭证的公钥与上次不同，已停止领取');
      const output = voprf.finalize(input, blind, unb64u(r.evaluated), blinded, unb64u(r.public_key), unb64u(r.proof));
      await kvSet('keys', { ...seen, [pin]: r.public_key });
      await kvSet('ctokens', { ...((await kvGet('ctokens')) ?? {}), [c.id]: { consultation_id: c.id, input: b64u(input), output: b64u(output) } });
      const left = (await kvGet('cpending')) ?? {};
      delete left[c.id];
      await kvSet('cpending', left);
      return true;
    })().finally(() => fetchingC.delete(c.id)));
  }
  return fetchingC.get(c.id);
}

/** The kept token of consultation id, or null; take: out of the store. */
export async function consultationToken(id, take = false) {
  const all = (await kvGet('ctokens')) ?? {};
  const t = all[id] ?? null;
  if (t && take) {
    delete all[id];
    await kvSet('ctokens', all);
  }
  return t;
}

/**
 * When to send an anonymous act written now: a random moment before the
 * next boundary of the release window (multiples of it since
 * 1970-01-01T00:00:00Z), so that the arrival time says nothing about when
 * it was written. 0 (at once) when the service has no window.
 */
export function releaseMoment(now = Date.now()) {
  const w = Number(localStorage.getItem('yj.window')) * 1000;
  if (!w) return 0;
  const boundary = Math.ceil((now + 1) / w) * w;
  const r = crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
  return Math.floor(now + r * (boundary - now));
}
export function nextBoundary(now = Date.now()) {
  const w = Number(localStorage.getItem('yj.window')) * 1000;
  return w ? Math.ceil((now + 1) / w) * w : 0;
}
