// The benchmark's world, built through the API of a running service:
//   root 机关党委 (category 其他 → portfolio 纪检, which nobody holds, so that
//   routing gives each suggestion to its unit's secretary)
//   ├─ 第1党支部 … 第N党支部, each with a secretary
//   and one member who belongs to all of them.
// usage: node bench/world.mjs URL ADMIN_LOGIN ACTIVATION_CODE N
// Prints shell assignments for bench/submit.lua: BENCH_TOKEN, BENCH_UNITS,
// BENCH_CATEGORY.
const [base, adminLogin, adminCode, count] = process.argv.slice(2);
const PASSWORD = 'bench password, long enough';

async function call(method, path, token, body) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function signIn(login, code) {
  await call('POST', '/v1/auth/activate', null, { login, code, password: PASSWORD });
  return (await call('POST', '/v1/auth/login', null, { login, password: PASSWORD })).token;
}

const admin = await signIn(adminLogin, adminCode);
const root = (await call('POST', '/v1/org-units', admin, { name: '机关党委', level: 'committee', parent_id: null })).id;
const category = (await call('POST', `/v1/org-units/${root}/categories`, admin, { name: '其他', portfolio: '纪检' })).id;
const member = await call('POST', '/v1/accounts', admin, { login: 'bench-member', display_name: '党员' });
const units = [];
for (let i = 1; i <= Number(count); i++) {
  const unit = (await call('POST', '/v1/org-units', admin, { name: `第${i}党支部`, level: 'branch', parent_id: root })).id;
  await call('POST', '/v1/accounts', admin, {
    login: `bench-secretary-${i}`, display_name: `书记${i}`, unit_id: unit, roles: ['member', 'secretary'],
  });
  await call('PUT', `/v1/org-units/${unit}/members/${member.account.id}`, admin, { roles: ['member'] });
  units.push(unit);
}
const token = await signIn('bench-member', member.activation_code);
console.log(`BENCH_TOKEN=${token}`);
console.log(`BENCH_UNITS=${units.join(',')}`);
console.log(`BENCH_CATEGORY=${category}`);
