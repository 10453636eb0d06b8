// The service's JSON API. The session (bearer token) and the account are
// kept in localStorage; anonymous requests are made with no credentials.

const SESSION = 'yj.session';

export const session = {
  get() {
    try {
      return JSON.parse(localStorage.getItem(SESSION));
    } catch {
      return null;
    }
  },
  set(s) {
    localStorage.setItem(SESSION, JSON.stringify(s));
  },
  clear() {
    localStorage.removeItem(SESSION);
  },
};

/** The request never reached the service, or its answer never came back. */
export class NetworkError extends Error {
  constructor() {
    super('网络不通，请检查网络后重试');
    this.name = 'NetworkError';
  }
}

// The service answers in Chinese (the client sends Accept-Language: zh-CN):
// the problem's title, its detail and each field's detail are whole
// sentences. Only what never reaches the service is worded here.
const FALLBACK = '出错了，请稍后重试';

/** A problem+json answer, with its Chinese message; field errors by pointer in .fields. */
export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem ?? {};
    const type = String(p.type ?? '').replace('/problems/', '');
    const fields = {};
    const general = [];
    for (const e of p.errors ?? []) {
      if (e.pointer && e.pointer !== '') (fields[e.pointer] ??= []).push(e.detail);
      else general.push(e.detail);
    }
    const chinese = (s) => typeof s === 'string' && /[\u4e00-\u9fff]/.test(s);
    let msg = chinese(p.title) ? p.title : FALLBACK;
    if (chinese(p.detail)) msg = p.detail;
    if (general.length) msg = general.filter(chinese).join('；') || msg;
    super(msg);
    this.name = 'ApiError';
    this.status = status;
    this.problem = p;
    this.type = type;
    this.fields = fields;
  }
}

/**
 * api(method, path, {body, auth, tracking, headers}). auth (default true)
 * sends the session; tracking sends `Authorization: Tracking CODE` instead;
 * auth false sends nothing that could name anyone.
 */
export async function api(method, path, opts = {}) {
  const headers = { Accept: 'application/json', 'Accept-Language': 'zh-CN', ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.tracking) headers.Authorization = `Tracking ${opts.tracking}`;
  else if (opts.auth !== false && session.get()) headers.Authorization = `Bearer ${session.get().token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      signal: opts.signal ?? AbortSignal.timeout?.(opts.timeoutMs ?? 30000),
    });
  } catch {
    throw new NetworkError();
  }
  let body = null;
  const text = await res.text().catch(() => {
    throw new NetworkError();
  });
  if (text && /json/.test(res.headers.get('content-type') ?? '')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, body);
    if (res.status === 401 && err.type === 'unauthorized' && headers.Authorization?.startsWith('Bearer')) {
      session.clear();
      window.dispatchEvent(new Event('yj-signedout'));
    }
    throw err;
  }
  return body;
}
