// The configuration the security issue gives as its example, used as written (short tokens
// included), behaves as it says: tok-a writes and reads tenant a; no credential gets 401; a
// valid one without the right gets 403; tok-b asking for tenant a's trace gets 404, as an
// unknown trace would; /flush needs admin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';

const CONFIG = `
auth:
  bearer_tokens:
    - { token: tok-a, tenant: a, rights: [write, read] }
    - { token: tok-b, tenant: b, rights: [read] }
    - { token: tok-ops, tenant: a, rights: [admin] }
`;

let skein: SkeinProcess;
const written = simpleTrace(3, { service: 'checkout-of-a' });
const traceId = toHex(written.traceId);
const get = (path: string, token?: string) => fetch(`${skein.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

before(async () => {
  skein = await startSkein({ configYaml: CONFIG });
});

after(async () => {
  await skein?.stop();
});

test('Bearer tok-a writes tenant a and reads it back', async () => {
  assert.equal((await postProtobuf(skein.otlpHttpUrl, written.batch, { authorization: 'Bearer tok-a' })).status, 200);
  await waitFor('the trace to be readable with tok-a', async () => (await get(`/api/traces/${traceId}`, 'tok-a')).status === 200);
});

test('no credential gets 401; a valid credential without the right gets 403', async () => {
  const anonymous = await get(`/api/traces/${traceId}`);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal((await postProtobuf(skein.otlpHttpUrl, simpleTrace(1).batch)).status, 401);
  // tok-b may read, not write; tok-ops may flush, not read.
  assert.equal((await postProtobuf(skein.otlpHttpUrl, simpleTrace(1).batch, { authorization: 'Bearer tok-b' })).status, 403);
  assert.equal((await get(`/api/traces/${traceId}`, 'tok-ops')).status, 403);
});

test("tok-b asking for tenant a's trace gets 404, as an unknown trace would; naming tenant a gets 403", async () => {
  await waitFor('the trace to be readable with tok-a', async () => (await get(`/api/traces/${traceId}`, 'tok-a')).status === 200);
  const asB = await get(`/api/traces/${traceId}`, 'tok-b');
  assert.equal(asB.status, 404);
  assert.doesNotMatch(await asB.text(), /checkout-of-a/);
  const naming = await fetch(`${skein.url}/api/traces/${traceId}`, { headers: { authorization: 'Bearer tok-b', 'x-scope-orgid': 'a' } });
  assert.equal(naming.status, 403);
});

test('/flush needs admin', async () => {
  assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST', headers: { authorization: 'Bearer tok-a' } })).status, 403);
  assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST', headers: { authorization: 'Bearer tok-ops' } })).status, 204);
  // Flushed into a block, the trace still reads as before.
  assert.equal((await get(`/api/traces/${traceId}`, 'tok-a')).status, 200);
});

test('a short token is accepted with a warning that names its entry, never its value', () => {
  const warnings = skein.logs.filter((l) => /shorter than 16 characters/.test(String(l['msg'])));
  assert.equal(warnings.length, 3);
  const text = JSON.stringify(skein.logs);
  for (const token of ['tok-a"', 'tok-b"', 'tok-ops"']) assert.ok(!text.includes(token), `the logs hold ${token}`);
});
