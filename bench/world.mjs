// The benchmark's world, built through the API of a running service:
//   root 机关党委 (category 其他 → portfolio 纪检, which nobody holds, so that
//   routing gives each suggestion to its unit's secretary)
//   ├─ 第1党支部 … 第N党支部, each with a secretary
//   and one member who belongs to all of them; the secretary of the first
//   branch signs in too (the committee member whose reads are measured), and
//   ANON members of the first branch are activated with BENCH_PASSWORD so
//   that `yijian member login` can fetch their anonymity tokens.
// usage: node bench/world.mjs URL ADMIN_LOGIN ACTIVATION_CODE N [ANON]
// Prints shell assignments for bench/run.sh: BENCH_TOKEN, BENCH_UNITS,
// BENCH_CATEGORY, BENCH_ROOT, BENCH_ADMIN_ID, BENCH_SECRETARY_TOKEN,
// BENCH_SECRETARY_ID, BENCH_PASSWORD, BENCH_ANON_LOGINS.
const [base, adminLogin, adminCode, count, anonCount = '0'] = process.argv.slice(2);
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
let secretary = null;
for (let i = 1; i <= Number(count); i++) {
  const unit = (await call('POST', '/v1/org-units', admin, { name: `第${i}党支部`, level: 'branch', parent_id: root })).id;
  const sec = await call('POST', '/v1/accounts', admin, {
    login: `bench-secretary-${i}`, display_name: `书记${i}`, unit_id: unit, roles: ['member', 'secretary'],
  });
  if (i === 1) secretary = sec;
  await call('PUT', `/v1/org-units/${unit}/members/${member.account.id}`, admin, { roles: ['member'] });
  units.push(unit);
}
const token = await signIn('bench-member', member.activation_code);
const anonLogins = [];
for (let i = 1; i <= Number(anonCount); i++) {
  const a = await call('POST', '/v1/accounts', admin, {
    login: `bench-anon-${i}`, display_name: `匿名党员${i}`, unit_id: units[0], roles: ['member'],
  });
  await call('POST', '/v1/auth/activate', null, { login: `bench-anon-${i}`, code: a.activation_code, password: PASSWORD });
  anonLogins.push(`bench-anon-${i}`);
}
const me = await call('GET', '/v1/me', admin);
console.log(`BENCH_TOKEN=${token}`);
console.log(`BENCH_ROOT=${root}`);
console.log(`BENCH_ADMIN_ID=${me.id ?? me.account?.id}`);
console.log(`BENCH_SECRETARY_TOKEN=${await signIn('bench-secretary-1', secretary.activation_code)}`);
console.log(`BENCH_SECRETARY_ID=${secretary.account.id}`);
console.log(`BENCH_PASSWORD='${PASSWORD}'`);
console.log(`BENCH_ANON_LOGINS='${anonLogins.join(' ')}'`);
console.log(`BENCH_UNITS=${units.join(',')}`);
console.log(`BENCH_CATEGORY=${category}`);
