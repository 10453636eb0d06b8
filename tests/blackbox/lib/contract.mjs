// The contract checker: every response a black-box test sees is compared
// with api-spec/openapi.yaml (status documented, headers, content type, body
// schema), so that the spec and the service cannot drift apart unnoticed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

import { harvest } from './secrets.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SPEC_PATH = path.join(REPO_ROOT, 'api-spec/openapi.yaml');
export const specText = fs.readFileSync(SPEC_PATH, 'utf8');
export const spec = YAML.parse(specText);

const SPEC_ID = 'https://yijian.invalid/openapi.yaml';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const JSON_MEDIA = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

/** A response that does not match the contract. */
export class ContractError extends Error {
  constructor(message, details) {
    super(details === undefined ? message : `${message}\n${inspect(details)}`);
    this.name = 'ContractError';
  }
}

function inspect(v) {
  try {
    const s = typeof v === 'string' ? v : JSON.stringify(v, null, 2);
    return s.length > 4000 ? `${s.slice(0, 4000)}…` : s;
  } catch {
    return String(v);
  }
}

// ---- schema compilation -------------------------------------------------

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// OpenAPI's numeric formats; unknown to ajv-formats.
ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isSafeInteger(n) });
// The whole document is one schema resource, so that a `$ref` such as
// '#/components/schemas/Account' inside any schema resolves against it.
ajv.addSchema({ ...spec, $id: SPEC_ID });

const validators = new Map();
function validatorAt(pointer) {
  let v = validators.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: `${SPEC_ID}${pointer}` });
    validators.set(pointer, v);
  }
  return v;
}

// ---- JSON pointers and OpenAPI-level $refs --------------------------------

const escapeToken = (t) => String(t).replaceAll('~', '~0').replaceAll('/', '~1');
const unescapeToken = (t) => t.replaceAll('~1', '/').replaceAll('~0', '~');

function get(pointer) {
  if (!pointer.startsWith('#')) throw new ContractError(`only local $refs are supported: ${pointer}`);
  let node = spec;
  for (const token of pointer.slice(1).split('/').slice(1)) {
    if (node === null || typeof node !== 'object' || !(unescapeToken(token) in node)) {
      throw new ContractError(`dangling reference in the spec: ${pointer}`);
    }
    node = node[unescapeToken(token)];
  }
  return node;
}

/** Follows `$ref` chains (Response, Header objects); returns the node and where it lives. */
function deref(node, pointer) {
  for (let hops = 0; node && typeof node === 'object' && typeof node.$ref === 'string'; hops++) {
    if (hops > 16) throw new ContractError(`$ref loop at ${pointer}`);
    pointer = node.$ref;
    node = get(pointer);
  }
  return { node, pointer };
}

const child = (pointer, ...tokens) => [pointer, ...tokens.map(escapeToken)].join('/');

// ---- paths ----------------------------------------------------------------

const templates = Object.keys(spec.paths ?? {}).map((template) => ({
  template,
  regex: new RegExp(
    `^${template
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  ),
}));

/**
 * The path template of the spec that a concrete path (query string allowed)
 * falls under, or null when none does. Literal templates win over ones with
 * parameters, as they do in the router.
 */
export function templateFor(urlPath) {
  const p = urlPath.split('?')[0];
  const hits = templates.filter((t) => t.regex.test(p));
  hits.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  return hits.length ? hits[0].template : null;
}

/** Methods (upper case) the spec documents for a path template. */
export function methodsOf(template) {
  const item = spec.paths?.[template];
  if (!item) throw new ContractError(`path ${template} is not in the spec`);
  return HTTP_METHODS.filter((m) => m in item).map((m) => m.toUpperCase());
}

// ---- response access --------------------------------------------------------

/** Header of a fetch Response, a node:http IncomingMessage or a plain {headers} object. */
export function headerOf(res, name) {
  const h = res.headers;
  if (!h) return null;
  if (typeof h.get === 'function') return h.get(name);
  const v = h[name.toLowerCase()];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

function statusOf(res) {
  return res.status ?? res.statusCode;
}

/** Splits `type/subtype; a=b` into its lower-case essence and parameters. */
export function parseMediaType(value) {
  const [essence, ...params] = String(value).split(';');
  const map = new Map();
  for (const p of params) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    map.set(p.slice(0, i).trim().toLowerCase(), p.slice(i + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return { essence: essence.trim().toLowerCase(), params: map };
}

// ---- the check ------------------------------------------------------------

function validate(pointer, value, what) {
  const v = validatorAt(pointer);
  if (!v(value)) {
    throw new ContractError(`${what} does not match the schema at ${pointer}`, {
      errors: v.errors.map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`),
      value,
    });
  }
}

function checkHeaders(response, pointer, res, where) {
  for (const [name, raw] of Object.entries(response.headers ?? {})) {
    const { node: header, pointer: hp } = deref(raw, child(pointer, 'headers', name));
    const value = headerOf(res, name);
    if (value === null) {
      if (header.required) throw new ContractError(`${where}: required header ${name} is missing`);
      continue;
    }
    if (!header.schema) continue;
    const { node: schema } = deref(header.schema, child(hp, 'schema'));
    // Header values are text; compare numbers as numbers.
    const numeric = ['integer', 'number'].includes(schema.type) && /^-?\d+(\.\d+)?$/.test(value.trim());
    validate(child(hp, 'schema'), numeric ? Number(value.trim()) : value, `${where}: header ${name}`);
  }
}

function checkContent(response, pointer, res, body, where) {
  const content = response.content ?? {};
  const documented = Object.keys(content);
  const ctHeader = headerOf(res, 'content-type');
  if (documented.length === 0) {
    const empty = body === undefined || body === null || body === '' || (body?.length === 0);
    if (!empty) throw new ContractError(`${where}: the spec documents no body, but there is one`, body);
    return;
  }
  if (!ctHeader) throw new ContractError(`${where}: no Content-Type; documented: ${documented.join(', ')}`);
  const actual = parseMediaType(ctHeader);
  const key = documented.find((k) => {
    const doc = parseMediaType(k);
    if (doc.essence !== actual.essence) return false;
    for (const [p, v] of doc.params) if (actual.params.get(p) !== v) return false;
    return true;
  });
  if (key === undefined) {
    throw new ContractError(`${where}: Content-Type ${ctHeader} is not documented; documented: ${documented.join(', ')}`);
  }
  const media = content[key];
  if (!media.schema) return;
  let value = body;
  if (JSON_MEDIA.test(actual.essence)) {
    if (typeof value === 'string' || Buffer.isBuffer(value) || value instanceof Uint8Array) {
      try {
        value = JSON.parse(Buffer.from(value).toString('utf8'));
      } catch (e) {
        throw new ContractError(`${where}: body is not JSON (${e.message})`, String(body));
      }
    }
  } else if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    value = Buffer.from(value).toString('utf8');
  }
  validate(child(pointer, 'content', key, 'schema'), value, `${where}: body`);
}

function checkAgainst(rawResponse, pointer, res, body, where) {
  const { node: response, pointer: rp } = deref(rawResponse, pointer);
  checkHeaders(response, rp, res, where);
  checkContent(response, rp, res, body, where);
}

/**
 * Throws a ContractError unless the response is one the spec documents.
 *
 * method: HTTP method; template: the spec's path template ('/v1/me'), or
 * null for a path the spec does not have (then only the router's 404 is
 * allowed). res: a fetch Response, node:http IncomingMessage or
 * {status, headers}; body: the parsed JSON, the text, or a Buffer.
 *
 * A known path asked with a method it lacks must get the router's 405,
 * with an Allow header naming exactly the documented methods (HEAD and
 * OPTIONS may be added).
 */
export function checkResponse(method, template, res, body) {
  const status = String(statusOf(res));
  const m = method.toLowerCase();
  const router = spec['x-router-responses'] ?? {};

  // A request framed two ways is refused before routing matters: on any path.
  if (status === '400' && body?.type === '/problems/bad-framing') {
    checkAgainst(router[status], child('#', 'x-router-responses', status), res, body, `${method} ${template ?? '<any path>'} → 400 bad-framing`);
    return;
  }

  if (template === null) {
    const where = `${method} <path not in the spec> → ${status}`;
    if (!['404', '414'].includes(status)) throw new ContractError(`${where}: only 404 (or 414) is documented for unknown paths`, body);
    checkAgainst(router[status], child('#', 'x-router-responses', status), res, body, where);
    return;
  }

  const item = spec.paths?.[template];
  if (!item) throw new ContractError(`path template ${template} is not in the spec`);
  if (!(m in item) || !HTTP_METHODS.includes(m)) {
    const where = `${method} ${template} <method not in the spec> → ${status}`;
    if (!['405', '414'].includes(status)) throw new ContractError(`${where}: only 405 (or 414) is documented for a method the path lacks`, body);
    checkAgainst(router[status], child('#', 'x-router-responses', status), res, body, where);
    if (status === '405') {
      const allow = new Set((headerOf(res, 'allow') ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
      const documented = methodsOf(template);
      const missing = documented.filter((x) => !allow.has(x));
      const extra = [...allow].filter((x) => !documented.includes(x) && x !== 'HEAD' && x !== 'OPTIONS');
      if (missing.length || extra.length) {
        throw new ContractError(`${where}: Allow "${headerOf(res, 'allow')}" does not match the documented methods ${documented.join(', ')}`);
      }
    }
    return;
  }

  const where = `${method} ${template} → ${status}`;
  const responses = item[m].responses ?? {};
  const opPointer = child('#', 'paths', template, m, 'responses');
  let key = null;
  if (status in responses) key = status;
  else if (`${status[0]}XX` in responses) key = `${status[0]}XX`;
  else if ('default' in responses) key = 'default';
  if (key === null) {
    throw new ContractError(`${where}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`, body);
  }
  checkAgainst(responses[key], child(opPointer, key), res, body, where);
}

// ---- security headers -------------------------------------------------------

/** The Content-Security-Policy of every answer that is not a page. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * Whether the spec lets this answer be cached: it documents a Cache-Control
 * header for the operation's response with that status (a success). Every
 * other answer must say `no-store`.
 */
export function cacheableInSpec(method, template, status) {
  if (template === null || !(status >= 200 && status < 300) && status !== 304) return false;
  return Boolean(documentedHeader(method, template, status, 'Cache-Control'));
}

/** The spec's header object (dereferenced) for this answer, or null. */
function documentedHeader(method, template, status, name) {
  if (template === null) return null;
  const op = spec.paths?.[template]?.[method.toLowerCase()];
  const raw = op?.responses?.[String(status)];
  if (!raw) return null;
  const { node } = deref(raw, '#');
  const h = node?.headers?.[name];
  return h ? deref(h, '#').node : null;
}

/**
 * The headers every answer carries (docs/security.md, "Response headers"):
 * X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, a
 * Content-Security-Policy (the one the spec documents for the answer, if
 * it does; else exactly API_CSP unless the answer is HTML, whose own policy
 * must still forbid framing and default to nothing), and
 * Cache-Control: no-store unless the spec documents a Cache-Control for the
 * answer (public, immutable things: keys, bulletins, the feed). Each header
 * once: a repeated one reads "a, b" here and fails.
 */
export function checkSecurityHeaders(method, template, res) {
  const status = statusOf(res);
  const where = `${method} ${template ?? '<path not in the spec>'} → ${status}`;
  const want = (name, value) => {
    const got = headerOf(res, name);
    if (got !== value) throw new ContractError(`${where}: ${name} is ${JSON.stringify(got)}, must be ${JSON.stringify(value)}`);
  };
  want('X-Content-Type-Options', 'nosniff');
  want('Referrer-Policy', 'no-referrer');
  const ct = headerOf(res, 'content-type');
  const html = ct ? parseMediaType(ct).essence === 'text/html' : false;
  const csp = headerOf(res, 'content-security-policy');
  // A route may document a policy of its own (the web client's files): then
  // it is exactly that one.
  const ownCsp = documentedHeader(method, template, status, 'Content-Security-Policy')?.schema?.const;
  if (ownCsp !== undefined) {
    want('Content-Security-Policy', ownCsp);
  } else if (!html) {
    want('Content-Security-Policy', API_CSP);
  } else if (!csp || !/(^|; )default-src 'none'(;|$)/.test(csp) || !/(^|; )frame-ancestors 'none'(;|$)/.test(csp)) {
    throw new ContractError(`${where}: a page's Content-Security-Policy must say default-src 'none' and frame-ancestors 'none', got ${JSON.stringify(csp)}`);
  }
  if (!cacheableInSpec(method, template, status)) want('Cache-Control', 'no-store');
}

// ---- the HTTP helper --------------------------------------------------------

/**
 * A small client for a running service. request(method, path, opts):
 *   opts.body     a value sent as JSON (Content-Type application/json unless given)
 *   opts.raw      a string or bytes sent as they are (Content-Type only if in headers)
 *   opts.headers  request headers
 *   opts.token    sent as Authorization: Bearer
 *   opts.template the spec's path template; by default derived from the path
 *                 (a path the spec lacks is checked as an unknown path)
 *   opts.check    false to skip the contract check (default true)
 * Resolves to {status, headers, body, text, res}: body is the parsed JSON for
 * JSON media types, else the text. Every response is checked against the spec
 * unless told otherwise.
 */
/**
 * A problem answered to a caller who asked for Chinese is Chinese: the
 * title, the detail and every error's detail hold Chinese and no English
 * phrase (two English words in a row); machine words such as field names,
 * "JSON" or "base64url" may stay.
 */
export function isChineseText(s) {
  return typeof s === 'string' && /[\u4e00-\u9fff]/.test(s) && !/\b[A-Za-z]{2,} [A-Za-z]{2,}\b/.test(s);
}
/**
 * Every problem the suite provokes in English (the tests' default), one
 * entry per distinct {type, detail, errors}: at the end of each file
 * (lib/fixture.mjs) the binary says what a Chinese caller would have got
 * for each (`yijian problem-text`), and a detail without Chinese text
 * fails the file. So every error any test provokes is checked in Chinese,
 * not only those problems-zh.test.mjs asks for in both languages.
 */
export const problemsSeen = new Map();
function recordProblem(method, urlPath, body) {
  if (!body || typeof body !== 'object' || typeof body.type !== 'string') return;
  const p = { type: body.type };
  if (typeof body.detail === 'string') p.detail = body.detail;
  if (Array.isArray(body.errors)) p.errors = body.errors.map((e) => e?.detail);
  const key = JSON.stringify(p);
  if (!problemsSeen.has(key)) problemsSeen.set(key, { ...p, request: `${method} ${urlPath}` });
}

export function checkChinese(method, urlPath, body) {
  const texts = [['title', body.title]];
  if (body.detail !== undefined) texts.push(['detail', body.detail]);
  for (const [i, e] of (body.errors ?? []).entries()) texts.push([`errors[${i}] ${e.pointer}`, e.detail]);
  for (const [what, s] of texts) {
    if (!isChineseText(s)) throw new ContractError(`${method} ${urlPath}: the ${what} of ${body.type} is not Chinese although Chinese was asked for`, body);
  }
}

export function api(base) {
  async function request(method, urlPath, opts = {}) {
    const headers = { ...(opts.headers ?? {}) };
    let payload;
    if (opts.raw !== undefined) {
      payload = typeof opts.raw === 'string' ? opts.raw : Buffer.from(opts.raw);
    } else if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json';
      }
    }
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const res = await fetch(new URL(urlPath, base), {
      method,
      headers,
      body: payload,
      redirect: 'manual',
      signal: opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? 15000),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    const ct = res.headers.get('content-type');
    let body = text;
    if (ct && JSON_MEDIA.test(parseMediaType(ct).essence) && text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text; // the contract check reports it
      }
    }
    harvest(method, urlPath, headers, opts.body, res, body);
    const lang = Object.entries(headers).find(([k]) => k.toLowerCase() === 'accept-language')?.[1];
    if (res.status >= 400 && /^zh\b/i.test(lang ?? '') && body && typeof body === 'object') checkChinese(method, urlPath, body);
    else if (res.status >= 400 && /^application\/problem\+json/.test(ct ?? '')) recordProblem(method, urlPath, body);
    if (opts.check !== false) {
      const template = opts.template !== undefined ? opts.template : templateFor(urlPath);
      checkResponse(method, template, res, bytes.length === 0 ? '' : body);
      checkSecurityHeaders(method, template, res);
    }
    return { status: res.status, headers: res.headers, body, text, bytes, res };
  }
  return {
    base,
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, o) => request('POST', p, o),
  };
}
