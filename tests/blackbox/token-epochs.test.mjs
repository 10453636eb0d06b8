// Token keys and their epochs over time (issue 20): a token names its key
// by id, and redemption goes by the times published for that key, not by
// what the configuration says now.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import { b64, fetchTokens } from './lib/anon.mjs';
import { api } from './lib/contract.mjs';
import { useService } from './lib/fixture.mjs';
import { startService } from './lib/service.mjs';
import { worldBuilder } from './lib/world.mjs';

const ctx = useService(); // calendar months, the default
let w;
let seq = 0;
const tag = () => `${process.pid}-${++seq}`;
const count = async (sql) => Number(await ctx.cluster.psql(sql));

before(async () => {
  await ctx.ready;
  w = await worldBuilder(ctx, { adminLogin: 'epoch-admin' });
  await w.unit('b', '凭证支部', 'branch');
  await w.portfolio('b', '组织');
  await w.category('cat', 'b', { name: '组织工作', portfolio: '组织' });
  await w.account('mem', '张三', 'b', ['member']);
});

const submit = (a, token) =>
  a.post('/v1/suggestions', { body: { unit_id: w.units.b, category_id: w.categories.cat, title: `匿名${tag()}`, body: '内容', token } });

test('a_token_naming_an_epoch_that_never_had_a_key_is_refused_and_stores_nothing', async (t) => {
  // Epochs of one day with three days' grace: yesterday's epoch is still
  // redeemable by the calendar, but no key was ever made for it.
  const svc = await startService(ctx.cluster, { TOKEN_EPOCH: '1', TOKEN_GRACE_DAYS: '3' });
  t.after(() => svc.stop());
  const a = api(svc.url);
  const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
  const tables = ['secrets', 'spent_tokens', 'suggestions', 'tracking_codes', 'audit_log'];
  const snapshot = () => Promise.all(tables.map((x) => count(`select count(*) from ${x}`)));
  const before = await snapshot();
  const r = await submit(a, { key_id: yesterday, input: b64(crypto.randomBytes(32)), output: b64(crypto.randomBytes(64)) });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.errors[0].pointer, '/token/key_id');
  assert.deepEqual(await snapshot(), before, `nothing stored (${tables.join(', ')})`);
  assert.equal(await count(`select count(*) from secrets where name = 'token-key:${yesterday}'`), 0);
});

test('changing_token_epoch_keeps_unspent_tokens_redeemable_and_listed', async (t) => {
  const [t1, t2] = await fetchTokens(ctx.api, w.tokens.mem, 2);
  const published = (await ctx.api.get(`/v1/tokens/keys?unit=${w.units.b}`)).body.keys.find((k) => k.key_id === t1.key_id);
  assert.ok(published, 'the month key is listed where it was issued');
  // The operator switches to weeks: the month's tokens stay redeemable
  // until the redeem_until published for them, and the key is still listed
  // so that a client can learn it again.
  const svc = await startService(ctx.cluster, { TOKEN_EPOCH: '7' });
  t.after(() => svc.stop());
  const a = api(svc.url);
  const keys = (await a.get(`/v1/tokens/keys?unit=${w.units.b}`)).body.keys;
  assert.match(keys[0].key_id, /^\d{4}-\d{2}-\d{2}$/, 'the current key is a week\'s');
  const old = keys.find((k) => k.key_id === t1.key_id);
  assert.deepEqual(old, published, `the month key with its published times: ${JSON.stringify(keys)}`);
  const r = await submit(a, t1);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const again = await submit(a, t1);
  assert.equal(again.status, 409, 'still spent once only');
  assert.equal((await submit(ctx.api, t2)).status, 201, 'and on the first configuration too');
});
