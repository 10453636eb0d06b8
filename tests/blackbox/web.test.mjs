// The web client as the service serves it: types, caching, ETag and 304,
// gzip, the security headers, and that no spelling of a path reaches
// anything but the client's own files.
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { before, test } from 'node:test';

import { checkResponse, templateFor } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';

const ctx = useService();
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
let index;
let assets;

/** A raw request: the path goes out exactly as written (fetch would normalise "..");
 * the body is not decoded. Checked against the spec like every other answer. */
function raw(path, headers = {}, method = 'GET') {
  const url = new URL(ctx.svc.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: Buffer.concat(chunks), res }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  await ctx.ready;
  index = await ctx.api.get('/');
  assets = [...index.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
});

test('the_page_is_html_with_a_strict_policy_and_is_revalidated', () => {
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html; charset=utf-8$/);
  assert.equal(index.headers.get('content-security-policy'), CSP);
  assert.equal(index.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.text, /<html lang="zh-CN">/);
  // No inline script: every script names its file, and nothing is loaded from elsewhere.
  for (const tag of index.text.match(/<script[^>]*>/g)) assert.match(tag, /src="\/assets\/app-[A-Z0-9]+\.js"/);
  assert.doesNotMatch(index.text, /(src|href)="(https?:)?\/\//);
  assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), assets.join(' '));
});

test('assets_have_their_types_and_are_cached_for_a_year', async () => {
  const types = { js: /^text\/javascript; charset=utf-8$/, css: /^text\/css; charset=utf-8$/, svg: /^image\/svg\+xml$/ };
  for (const a of assets) {
    const r = await ctx.api.get(a);
    assert.equal(r.status, 200, a);
    assert.match(r.headers.get('content-type'), types[a.split('.').pop()], a);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(r.headers.get('content-security-policy'), CSP);
    assert.ok(r.bytes.length > 0);
  }
});

test('a_matching_etag_gets_304_without_a_body', async () => {
  for (const p of ['/', ...assets]) {
    const first = await ctx.api.get(p);
    const etag = first.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{20}"$/);
    const again = await ctx.api.get(p, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304, p);
    assert.equal(again.bytes.length, 0);
    assert.equal(again.headers.get('etag'), etag);
    const weak = await ctx.api.get(p, { headers: { 'If-None-Match': `"0000", W/${etag}` } });
    assert.equal(weak.status, 304, `${p} weak, in a list`);
    const other = await ctx.api.get(p, { headers: { 'If-None-Match': '"00000000000000000000"' } });
    assert.equal(other.status, 200, `${p} other etag`);
  }
});

test('gzip_goes_only_to_clients_that_accept_it', async () => {
  // The largest script: the entry itself is a few hundred bytes of
  // imports since the client loads its chunks separately, too small for
  // gzip to halve.
  let js = null;
  let plain = null;
  for (const a of assets.filter((x) => x.endsWith('.js'))) {
    const r = await raw(a, { 'Accept-Encoding': 'identity' });
    if (!plain || r.bytes.length > plain.bytes.length) [js, plain] = [a, r];
  }
  assert.ok(plain.bytes.length > 10000, `the largest script is ${plain.bytes.length} bytes`);
  assert.equal(plain.headers['content-encoding'], undefined);
  const gz = await raw(js, { 'Accept-Encoding': 'br, gzip;q=0.8' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.ok(gz.bytes.length < plain.bytes.length / 2, `${gz.bytes.length} vs ${plain.bytes.length}`);
  assert.deepEqual(zlib.gunzipSync(gz.bytes), plain.bytes);
  const refused = await raw(js, { 'Accept-Encoding': 'gzip;q=0, deflate' });
  assert.equal(refused.headers['content-encoding'], undefined);
  assert.deepEqual(refused.bytes, plain.bytes);
  for (const r of [plain, refused]) checkResponse('GET', '/assets/{file}', r.res, r.bytes);
});

test('no_path_reaches_anything_but_the_clients_files', async () => {
  const js = assets.find((a) => a.endsWith('.js')).slice('/assets/'.length);
  const attempts = [
    '/assets/../v1/openapi.yaml',
    '/assets/..%2Fv1%2Fopenapi.yaml',
    '/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/assets/..%2f..%2f..%2fetc%2fpasswd',
    `/assets/.%2F${js}`,
    `/assets/${js.toUpperCase()}`,
    '/assets/index.html',
    '/assets/.stamp',
    '/assets/',
    '/assets/nothing.js',
    '/index.html',
    '/web/src/main.js',
    '//etc/passwd',
  ];
  for (const p of attempts) {
    const r = await raw(p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers['content-type'], /^application\/problem\+json/, p);
    assert.equal(JSON.parse(r.bytes).type, '/problems/not-found', p);
    checkResponse('GET', templateFor(p), r.res, JSON.parse(r.bytes));
  }
});

test('a_nul_in_the_name_reaches_no_file', async () => {
  // A %00 in a path is refused for every route (http/server.c keeps the NUL
  // so that no route matches): nothing is served under a name that a C
  // string would cut short.
  const js = assets.find((a) => a.endsWith('.js'));
  const plain = await raw(js);
  assert.equal(plain.status, 200);
  for (const p of [`${js}%00.html`, `${js}%00`]) {
    const r = await raw(p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers['content-type'], /^application\/problem\+json/, p);
  }
});

test('the_client_is_read_only', async () => {
  const r = await ctx.api.post('/', { body: {} });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET');
});

test('the_service_worker_and_the_manifest_are_served_at_the_root_and_revalidated', async () => {
  const sw = await ctx.api.get('/sw.js');
  assert.equal(sw.status, 200);
  assert.match(sw.headers.get('content-type'), /^text\/javascript; charset=utf-8$/);
  assert.equal(sw.headers.get('cache-control'), 'no-cache');
  // It keeps this build's shell, and caches no API answer.
  for (const a of assets) assert.ok(sw.text.includes(a), `${a} in the shell`);
  assert.doesNotMatch(sw.text, /\/v1\//);
  const m = await ctx.api.get('/manifest.webmanifest');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /^application\/manifest\+json/);
  assert.equal(m.body.start_url, '/');
  assert.equal(m.body.lang, 'zh-CN');
  assert.ok(m.body.icons.every((i) => assets.includes(i.src)), 'its icon is one of the assets');
  assert.match(index.text, /<link rel="manifest" href="\/manifest.webmanifest">/);
});
