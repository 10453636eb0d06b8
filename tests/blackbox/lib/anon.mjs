// Anonymity tokens for black-box tests, the way a member's client gets
// them: blinded by an independent RFC 9497 implementation (@noble/curves),
// issued to a signed-in member, finalised against the published key.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';

import { ristretto255_oprf } from '@noble/curves/ed25519.js';

const voprf = ristretto255_oprf.voprf;
const rng = (n) => new Uint8Array(crypto.randomBytes(n));
export const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));

/**
 * n tokens {key_id, input, output} of unit (tokens are bound to a unit;
 * default: the unit of the member's first membership) for the member
 * signed in with bearer.
 */
export async function fetchTokens(api, bearer, n, unit) {
  if (unit === undefined) {
    const me = await api.get('/v1/me', { token: bearer });
    unit = me.body.memberships[0].unit_id;
  }
  const keys = await api.get(`/v1/tokens/keys?unit=${unit}`);
  assert.equal(keys.status, 200, JSON.stringify(keys.body));
  const now = Date.now();
  const key = keys.body.keys.find((k) => Date.parse(k.not_before) <= now && now < Date.parse(k.not_after));
  const items = Array.from({ length: n }, () => {
    const input = crypto.randomBytes(32);
    const { blind, blinded } = voprf.blind(input, rng);
    return { input, blind, blinded };
  });
  const r = await api.post('/v1/tokens/issue', { token: bearer, body: { key_id: key.key_id, unit_id: unit, blinded: items.map((i) => b64(i.blinded)) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const outputs = voprf.finalizeBatch(
    items.map((it, i) => ({ input: it.input, blind: it.blind, blinded: it.blinded, evaluated: unb64(r.body.evaluated[i]) })),
    unb64(key.public_key),
    unb64(r.body.proof),
  );
  return items.map((it, i) => ({ key_id: key.key_id, input: b64(it.input), output: b64(outputs[i]) }));
}

/**
 * Sends text as it is over a fresh connection and resolves to what came
 * back (the connection closed by the service or after ms).
 */
export function rawExchange(url, text, ms = 2000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect({ host: hostname, port: Number(port) });
    const done = () => {
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, ms);
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', () => {
      clearTimeout(timer);
      done();
    });
    sock.on('error', () => {});
    sock.write(text);
  });
}
