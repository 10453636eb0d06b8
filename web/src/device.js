// Shared phones: everything the client keeps on this browser (session,
// account, drafts, outbox, anonymity tokens, tracking codes, cached lists,
// the service worker's data caches) belongs to one account, its owner.
// 退出 erases all of it; so does a sign-in by any other account, for when
// the owner's session ended without 退出 (expired, revoked). Erasing is the
// choice over locking away: a lock would need a key that the next person
// on the same phone cannot reach, and WebCrypto is missing over plain http;
// what is erased cannot be found by anyone. Before 退出 the client says
// what would be lost (unsent suggestions, codes not yet saved).
import { clearTokens } from './tokens.js';

const OWNER = 'yj.owner';
/** Every localStorage key the client writes starts with this. */
const PREFIX = 'yj.';
/** Caches that hold account data (the app shell's cache holds none). */
export const DATA_CACHE_PREFIX = 'yijian-data';

export const owner = () => localStorage.getItem(OWNER);

/** Erases everything kept for any account: storage, tokens, data caches. */
export async function wipe() {
  for (const k of Object.keys(localStorage)) if (k.startsWith(PREFIX)) localStorage.removeItem(k);
  sessionStorage.clear();
  await clearTokens().catch(() => {});
  if (globalThis.caches) {
    for (const name of await caches.keys()) if (name.startsWith(DATA_CACHE_PREFIX)) await caches.delete(name);
  }
}

/** Called before a new session is stored: another account's things go first. */
export async function claim(accountId) {
  const was = owner();
  if (was !== null && was !== String(accountId)) await wipe();
  else if (was === null) {
    // Whatever is here has no known owner (an older client): not this account's.
    for (const k of Object.keys(localStorage)) if (k.startsWith(PREFIX) && k !== OWNER) localStorage.removeItem(k);
    await clearTokens().catch(() => {});
  }
  localStorage.setItem(OWNER, String(accountId));
}

// ---- tracking codes kept on the phone, only when the member chooses -------------

const CODES = 'yj.codes';

export function rememberedCodes() {
  try {
    return JSON.parse(localStorage.getItem(CODES)) ?? [];
  } catch {
    return [];
  }
}

export function rememberCode(entry) {
  const list = rememberedCodes().filter((c) => c.code !== entry.code);
  localStorage.setItem(CODES, JSON.stringify([...list, entry]));
}

export function forgetCode(code) {
  localStorage.setItem(CODES, JSON.stringify(rememberedCodes().filter((c) => c.code !== code)));
}
