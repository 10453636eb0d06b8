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

const PROBLEMS = {
  'invalid-credentials': '账号或密码不正确',
  'activation-failed': '激活码不正确、已用过或已过期',
  'too-many-attempts': '尝试次数太多，请稍后再试',
  unauthorized: '请先登录',
  forbidden: '您没有权限做这件事',
  'not-found': '没有找到',
  conflict: '当前状态不允许这样做',
  'token-spent': '这张匿名凭证已经用过',
  'invalid-token': '服务不认这张匿名凭证',
  'token-quota-exhausted': '本期的匿名凭证已经领完',
  'invalid-tracking-code': '查询码不正确',
  'database-unavailable': '服务暂时繁忙，请稍后重试',
  'payload-too-large': '内容太长',
};

const FIELDS = {
  '/title': '标题',
  '/body': '内容',
  '/unit_id': '单位',
  '/category_id': '类别',
  '/password': '密码',
  '/login': '账号',
  '/code': '激活码',
  '/reason': '理由',
};

/** A problem+json answer, with a message in Chinese. */
export class ApiError extends Error {
  constructor(status, problem) {
    const type = String(problem?.type ?? '').replace('/problems/', '');
    let msg = PROBLEMS[type] ?? `出错了（${status}）`;
    if (type === 'validation-failed') {
      const errs = (problem.errors ?? []).map((e) => `${FIELDS[e.pointer] ?? e.pointer ?? ''} ${e.detail}`.trim());
      msg = `填写有误：${errs.join('；')}`;
    } else if (type === 'conflict' && problem.detail) {
      msg = `${msg}（${problem.detail}）`;
    }
    super(msg);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem ?? {};
    this.type = type;
  }
}

/**
 * api(method, path, {body, auth, tracking, headers}). auth (default true)
 * sends the session; tracking sends `Authorization: Tracking CODE` instead;
 * auth false sends nothing that could name anyone.
 */
export async function api(method, path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers ?? {}) };
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
