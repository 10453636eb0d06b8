// Tests of the contract checker itself, on made-up responses: no service or
// database needed. A checker that accepts everything would make every other
// black-box test meaningless.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import { API_CSP, ContractError, api, cacheableInSpec, checkResponse, checkSecurityHeaders, methodsOf, spec, templateFor } from './lib/contract.mjs';

const RID = 'test-1';

function res(status, headers = {}) {
  return { status, headers: new Headers({ 'X-Request-Id': RID, ...headers }) };
}
const problem = (kind, status, extra = {}) => ({
  type: `/problems/${kind}`,
  title: 'Something',
  status,
  request_id: RID,
  ...extra,
});
const JSON_CT = { 'Content-Type': 'application/json' };
const PROBLEM_CT = { 'Content-Type': 'application/problem+json' };
const account = { id: 1, login: 'admin', display_name: 'Admin', is_admin: true };

test('spec_is_openapi_3_1', () => {
  assert.equal(spec.openapi, '3.1.0');
  assert.equal(spec.info.title, 'yijian');
});

test('every_operation_has_operation_id_summary_and_x_request_id_on_every_response', () => {
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const m of methodsOf(p)) {
      const op = item[m.toLowerCase()];
      assert.ok(op.operationId, `${m} ${p} operationId`);
      assert.ok(op.summary, `${m} ${p} summary`);
      for (const [status, r] of Object.entries(op.responses)) {
        const resp = r.$ref ? spec.components.responses[r.$ref.split('/').pop()] : r;
        assert.ok(resp.headers?.['X-Request-Id'], `${m} ${p} ${status} documents X-Request-Id`);
      }
    }
  }
});

test('documented_response_passes', () => {
  checkResponse('GET', '/healthz', res(200, JSON_CT), { status: 'ok' });
  checkResponse('GET', '/v1/me', res(200, { 'Content-Type': 'application/json; charset=utf-8' }), {
    ...account,
    memberships: [{ unit_id: 3, unit_name: 'Branch 1', roles: ['member', 'committee'], portfolios: ['youth'] }],
  });
  checkResponse('POST', '/v1/auth/login', res(200, JSON_CT), {
    token: 'a'.repeat(43),
    expires_at: '2030-01-01T00:00:00Z',
    account,
  });
  checkResponse('POST', '/v1/auth/logout', res(204), '');
  checkResponse('GET', '/metrics', res(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }), '# x\n');
});

test('undocumented_status_throws', () => {
  assert.throws(() => checkResponse('GET', '/healthz', res(418, PROBLEM_CT), problem('internal-error', 418)), ContractError);
  assert.throws(() => checkResponse('GET', '/healthz', res(503, PROBLEM_CT), problem('database-unavailable', 503)), /not documented/);
});

test('body_not_matching_schema_throws', () => {
  assert.throws(() => checkResponse('GET', '/healthz', res(200, JSON_CT), { status: 'bad' }), /does not match/);
  assert.throws(() => checkResponse('GET', '/healthz', res(200, JSON_CT), { status: 'ok', extra: 1 }), /does not match/);
  assert.throws(() => checkResponse('GET', '/readyz', res(200, JSON_CT), { status: 'ready', schema_version: '3' }), /does not match/);
  // An account must never carry more than documented (a leaked hash, say).
  assert.throws(
    () => checkResponse('GET', '/v1/me', res(200, JSON_CT), { ...account, memberships: [], password_hash: 'x' }),
    /does not match/,
  );
  assert.throws(
    () => checkResponse('POST', '/v1/auth/login', res(200, JSON_CT), { token: 'short', expires_at: '2030-01-01T00:00:00Z', account }),
    /does not match/,
  );
  assert.throws(
    () => checkResponse('POST', '/v1/auth/login', res(200, JSON_CT), { token: 'a'.repeat(43), expires_at: 'tomorrow', account }),
    /does not match/,
  );
});

test('body_that_is_not_json_throws', () => {
  assert.throws(() => checkResponse('GET', '/healthz', res(200, JSON_CT), '{"status":'), /not JSON/);
});

test('problem_with_wrong_type_for_its_status_throws', () => {
  const ok = problem('invalid-credentials', 401);
  checkResponse('POST', '/v1/auth/login', res(401, PROBLEM_CT), ok);
  assert.throws(() => checkResponse('POST', '/v1/auth/login', res(401, PROBLEM_CT), problem('unauthorized', 401)), /does not match/);
  assert.throws(() => checkResponse('POST', '/v1/auth/login', res(401, PROBLEM_CT), { ...ok, status: 400 }), /does not match/);
  assert.throws(() => checkResponse('POST', '/v1/auth/login', res(401, PROBLEM_CT), { ...ok, request_id: undefined }), /does not match/);
});

test('validation_problem_needs_errors_with_pointers', () => {
  const p = problem('validation-failed', 422);
  checkResponse('POST', '/v1/auth/login', res(422, PROBLEM_CT), { ...p, errors: [{ pointer: '/login', detail: 'required' }] });
  assert.throws(() => checkResponse('POST', '/v1/auth/login', res(422, PROBLEM_CT), p), /does not match/);
  assert.throws(
    () => checkResponse('POST', '/v1/auth/login', res(422, PROBLEM_CT), { ...p, errors: [{ pointer: 'login', detail: 'x' }] }),
    /does not match/,
  );
});

test('wrong_content_type_throws', () => {
  assert.throws(() => checkResponse('GET', '/healthz', res(200, { 'Content-Type': 'text/html' }), { status: 'ok' }), /Content-Type/);
  assert.throws(() => checkResponse('GET', '/healthz', res(200), { status: 'ok' }), /no Content-Type/);
  // Problems must be application/problem+json, not plain JSON.
  assert.throws(
    () => checkResponse('POST', '/v1/auth/login', res(401, JSON_CT), problem('invalid-credentials', 401)),
    /Content-Type/,
  );
  // The documented version parameter of the metrics media type is required.
  assert.throws(() => checkResponse('GET', '/metrics', res(200, { 'Content-Type': 'text/plain' }), ''), /Content-Type/);
});

test('missing_required_header_throws', () => {
  const noId = { status: 200, headers: new Headers(JSON_CT) };
  assert.throws(() => checkResponse('GET', '/healthz', noId, { status: 'ok' }), /X-Request-Id/);
  const badId = { status: 200, headers: new Headers({ ...JSON_CT, 'X-Request-Id': 'has space' }) };
  assert.throws(() => checkResponse('GET', '/healthz', badId, { status: 'ok' }), /X-Request-Id/);
  // 429 needs Retry-After, in seconds.
  const p = problem('too-many-attempts', 429);
  assert.throws(() => checkResponse('POST', '/v1/auth/login', res(429, PROBLEM_CT), p), /Retry-After/);
  assert.throws(() => checkResponse('POST', '/v1/auth/login', res(429, { ...PROBLEM_CT, 'Retry-After': 'soon' }), p), /Retry-After/);
  checkResponse('POST', '/v1/auth/login', res(429, { ...PROBLEM_CT, 'Retry-After': '30' }), p);
  // 401 on a bearer route needs WWW-Authenticate.
  assert.throws(() => checkResponse('GET', '/v1/me', res(401, PROBLEM_CT), problem('unauthorized', 401)), /WWW-Authenticate/);
  checkResponse('GET', '/v1/me', res(401, { ...PROBLEM_CT, 'WWW-Authenticate': 'Bearer' }), problem('unauthorized', 401));
});

test('body_where_none_is_documented_throws', () => {
  assert.throws(() => checkResponse('POST', '/v1/auth/logout', res(204), 'x'), /no body/);
});

test('unknown_path_allows_only_the_404_problem', () => {
  assert.equal(templateFor('/v1/nothing'), null);
  checkResponse('GET', null, res(404, PROBLEM_CT), problem('not-found', 404));
  assert.throws(() => checkResponse('GET', null, res(200, JSON_CT), { status: 'ok' }), ContractError);
  assert.throws(() => checkResponse('GET', null, res(404, PROBLEM_CT), problem('method-not-allowed', 404)), /does not match/);
});

test('unknown_template_or_operation_throws', () => {
  assert.throws(() => checkResponse('GET', '/v1/nope', res(200, JSON_CT), {}), /not in the spec/);
  // A method the path lacks must be answered with 405, nothing else.
  assert.throws(() => checkResponse('GET', '/v1/auth/login', res(200, JSON_CT), {}), /405/);
});

test('method_not_allowed_needs_matching_allow_header', () => {
  const p = problem('method-not-allowed', 405);
  checkResponse('GET', '/v1/auth/login', res(405, { ...PROBLEM_CT, Allow: 'POST' }), p);
  checkResponse('DELETE', '/healthz', res(405, { ...PROBLEM_CT, Allow: 'GET, HEAD' }), p);
  assert.throws(() => checkResponse('GET', '/v1/auth/login', res(405, PROBLEM_CT), p), /Allow/);
  assert.throws(() => checkResponse('GET', '/v1/auth/login', res(405, { ...PROBLEM_CT, Allow: 'GET, POST' }), p), /Allow/);
  assert.throws(() => checkResponse('POST', '/v1/me', res(405, { ...PROBLEM_CT, Allow: 'POST' }), p), /Allow/);
});

test('template_for_maps_paths_to_spec_templates', () => {
  assert.equal(templateFor('/healthz'), '/healthz');
  assert.equal(templateFor('/healthz?verbose=1'), '/healthz');
  assert.equal(templateFor('/v1/me/'), null);
  assert.equal(templateFor('/v1/openapi.yaml'), '/v1/openapi.yaml');
  assert.equal(templateFor('/v1/openapiXyaml'), null);
});

test('api_helper_checks_every_response_it_gets', async (t) => {
  // A stand-in server: /healthz answers as documented, /readyz with an
  // undocumented status, /v1/me with a body the schema refuses.
  const server = http.createServer((req, res) => {
    const send = (status, type, body) => {
      const secure = req.url === '/healthz?bare' ? {} : SECURE; // defined below
      res.writeHead(status, { 'Content-Type': type, 'X-Request-Id': 'fake-1', ...secure });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/healthz') send(200, 'application/json', { status: 'ok' });
    else if (req.url === '/readyz') send(418, 'application/problem+json', problem('internal-error', 418));
    else if (req.url === '/v1/me') send(200, 'application/json', { id: 'one' });
    else if (req.url === '/healthz?bare') send(200, 'application/json', { status: 'ok' });
    else send(404, 'application/problem+json', { ...problem('not-found', 404), request_id: 'fake-1' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const client = api(`http://127.0.0.1:${server.address().port}`);

  const ok = await client.get('/healthz');
  assert.deepEqual(ok.body, { status: 'ok' });
  assert.equal((await client.get('/nowhere')).status, 404);
  await assert.rejects(client.get('/readyz'), /not documented/);
  await assert.rejects(client.get('/v1/me'), /does not match/);
  // A 404 on a documented path is not documented.
  await assert.rejects(client.get('/v1/openapi.yaml'), /not documented/);
  // An answer without the security headers is refused.
  await assert.rejects(client.get('/healthz?bare'), /X-Content-Type-Options/);
  // Opting out returns the response unchecked.
  assert.equal((await client.get('/readyz', { check: false })).status, 418);
});

// ---- the security headers checker (lib/contract.mjs checkSecurityHeaders) ----

const SECURE = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': API_CSP,
  'Cache-Control': 'no-store',
};

test('security_headers_pass_on_a_private_answer', () => {
  checkSecurityHeaders('GET', '/v1/me', res(200, { ...JSON_CT, ...SECURE }));
  checkSecurityHeaders('GET', null, res(404, { ...PROBLEM_CT, ...SECURE }));
});

test('security_headers_missing_or_wrong_fail', () => {
  for (const name of Object.keys(SECURE)) {
    const without = { ...SECURE };
    delete without[name];
    assert.throws(() => checkSecurityHeaders('GET', '/v1/me', res(200, { ...JSON_CT, ...without })), ContractError, name);
  }
  // a header sent twice reads "nosniff, nosniff"
  const twice = new Headers({ ...JSON_CT, ...SECURE, 'X-Request-Id': RID });
  twice.append('X-Content-Type-Options', 'nosniff');
  assert.throws(() => checkSecurityHeaders('GET', '/v1/me', { status: 200, headers: twice }), /X-Content-Type-Options/);
  assert.throws(() => checkSecurityHeaders('GET', '/v1/me', res(200, { ...JSON_CT, ...SECURE, 'Referrer-Policy': 'origin' })), /Referrer-Policy/);
});

test('security_headers_public_cache_only_where_the_spec_documents_it', () => {
  const pub = { ...SECURE, 'Cache-Control': 'public, max-age=60' };
  // private answers must not be cached
  assert.throws(() => checkSecurityHeaders('GET', '/v1/me', res(200, { ...JSON_CT, ...pub })), /Cache-Control/);
  assert.throws(() => checkSecurityHeaders('GET', '/v1/suggestions', res(200, { ...JSON_CT, ...pub })), /Cache-Control/);
  assert.throws(() => checkSecurityHeaders('GET', '/v1/tracked', res(200, { ...JSON_CT, ...pub })), /Cache-Control/);
  // the key list may be; its errors may not
  checkSecurityHeaders('GET', '/v1/tokens/keys', res(200, { ...JSON_CT, ...pub }));
  assert.throws(() => checkSecurityHeaders('GET', '/v1/tokens/keys', res(503, { ...PROBLEM_CT, ...pub })), /Cache-Control/);
  assert.equal(cacheableInSpec('GET', '/v1/bulletins/{id}', 200), true);
  assert.equal(cacheableInSpec('GET', '/v1/bulletins/{id}', 404), false);
  assert.equal(cacheableInSpec('POST', '/v1/tokens/issue', 200), false);
});

test('security_headers_pages_need_their_own_strict_policy', () => {
  const HTML = { 'Content-Type': 'text/html; charset=utf-8' };
  const page = "default-src 'none'; style-src 'sha256-AAAA'; frame-ancestors 'none'";
  checkSecurityHeaders('GET', '/bulletins/{id}', res(200, { ...HTML, ...SECURE, 'Content-Security-Policy': page, 'Cache-Control': 'public, max-age=86400' }));
  assert.throws(() => checkSecurityHeaders('GET', '/bulletins/{id}', res(200, { ...HTML, ...SECURE, 'Content-Security-Policy': "default-src 'self'" })), /Content-Security-Policy/);
  // JSON must carry exactly the API's policy
  assert.throws(() => checkSecurityHeaders('GET', '/v1/me', res(200, { ...JSON_CT, ...SECURE, 'Content-Security-Policy': page })), /Content-Security-Policy/);
});
