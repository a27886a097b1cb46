// Every authentication mode on every listener of a real Skein (docs/security.md#authentication):
// static bearer tokens (list and token file, read again when it changes), basic auth from an
// htpasswd file, and OIDC JWTs from a small identity provider on loopback
// (test/helpers/oidc-provider.ts). For each mode the right credential writes through the
// OpenTelemetry SDK's OTLP/HTTP, OTLP/gRPC and Zipkin exporters and reads back on the API,
// and wrong, missing, expired, other-tenant and rightless credentials are refused with the
// status each means. Then: keys rotated at the IdP, per-listener modes, and the web UI's
// OIDC sign-in (authorization code + PKCE) end to end over HTTP. No credential is logged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { stringify } from 'yaml';
import bcrypt from 'bcryptjs';
import { toHex } from '../../src/otlp/model.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';

const GRPC = { UNAUTHENTICATED: 16, PERMISSION_DENIED: 7 } as const;
/** A trace nobody wrote: a credential that may read it gets 404. */
const NO_TRACE = `/api/traces/${toHex(simpleTrace(1).traceId)}`;
const TOKENS = { writer: 'tok-a-writer-0123456789', admin: 'tok-a-admin-0123456789' };
const PASSWORDS = { ann: 'ann-password-1', ops: 'ops-password-1' };

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string) => `Bearer ${token}`;
/** htpasswd -B's format ($2y$); cost 4 keeps the test quick. */
const htpasswdLine = (user: string, password: string) => `${user}:$2y$${bcrypt.hashSync(password, 4).slice(4)}`;

/** A mode's credentials (Authorization values) for tenant `a`. */
interface Credentials {
  /** write and read */
  writer: string;
  /** admin only */
  admin: string;
  /** looks right, is not */
  wrong: string;
  expired?: string;
}

interface Addresses {
  skein: SkeinProcess;
  zipkinUrl: string;
}

function zipkinUrlOf(skein: SkeinProcess): string {
  const ready = skein.logs.find((l) => l['msg'] === 'skein ready');
  return `http://${String(ready?.['zipkin'])}/api/v2/spans`;
}

/** One trace made by the SDK's tracer, exported by `exporter`; the export's result and the trace ID. */
async function exportWith(exporter: SpanExporter): Promise<{ code: ExportResultCode; error?: Error & { code?: number }; traceId: string }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'auth-e2e' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('auth-e2e');
  const root = tracer.startSpan('GET /checkout');
  root.end();
  const spans: ReadableSpan[] = memory.getFinishedSpans();
  try {
    const r = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
    return { code: r.code, ...(r.error && { error: r.error as Error & { code?: number } }), traceId: root.spanContext().traceId };
  } finally {
    await exporter.shutdown();
  }
}

function grpcExporter(skein: SkeinProcess, headers: Record<string, string>): GrpcExporter {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new GrpcExporter({ url: `http://${skein.grpcAddr}`, metadata, timeoutMillis: 10_000 });
}

async function api(skein: SkeinProcess, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return fetch(`${skein.url}${path}`, { method, headers });
}

/** A trace written for tenant `a` reads back with the writer's credential. */
async function assertReadable(skein: SkeinProcess, traceId: string, authorization: string): Promise<void> {
  const res = await api(skein, `/api/traces/${traceId}`, { authorization, 'x-scope-orgid': 'a' });
  assert.equal(res.status, 200, `trace ${traceId}: ${res.status} ${await res.text()}`);
}

function zipkinBody(): string {
  const traceId = toHex(simpleTrace(1).traceId);
  return JSON.stringify([{ traceId, id: traceId.slice(0, 16), name: 'GET /', timestamp: Date.now() * 1000, duration: 1000, localEndpoint: { serviceName: 'auth-e2e' } }]);
}

async function postZipkin(url: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: zipkinBody() });
}

/** Every way a mode's credentials are accepted and refused, on every listener. */
function modeTests(mode: string, setup: () => { at: Addresses; creds: Credentials }): void {
  describe(`${mode}: the right credential on every listener`, () => {
    test('OTLP/HTTP (SDK protobuf exporter): written to the credential\'s tenant, read back on the API', async () => {
      const { at, creds } = setup();
      const r = await exportWith(new ProtoExporter({ url: `${at.skein.otlpHttpUrl}/v1/traces`, headers: { authorization: creds.writer } }));
      assert.equal(r.code, ExportResultCode.SUCCESS, r.error?.message);
      await assertReadable(at.skein, r.traceId, creds.writer);
    });

    test('OTLP/gRPC (SDK exporter, metadata)', async () => {
      const { at, creds } = setup();
      const r = await exportWith(grpcExporter(at.skein, { authorization: creds.writer }));
      assert.equal(r.code, ExportResultCode.SUCCESS, r.error?.message);
      await assertReadable(at.skein, r.traceId, creds.writer);
    });

    test('Zipkin (SDK exporter)', async () => {
      const { at, creds } = setup();
      const r = await exportWith(new ZipkinExporter({ url: at.zipkinUrl, headers: { authorization: creds.writer } }));
      assert.equal(r.code, ExportResultCode.SUCCESS, r.error?.message);
      await assertReadable(at.skein, r.traceId, creds.writer);
    });

    test('/flush takes the admin credential, not the writer\'s', async () => {
      const { at, creds } = setup();
      assert.equal((await api(at.skein, '/flush', { authorization: creds.writer }, 'POST')).status, 403);
      const res = await api(at.skein, '/flush', { authorization: creds.admin }, 'POST');
      assert.equal(res.status, 204, await res.text());
    });
  });

  describe(`${mode}: refusals`, () => {
    /** [what, headers, HTTP status, gRPC code] */
    const refusals = (creds: Credentials): Array<[string, Record<string, string>, number, number]> => [
      ['missing', {}, 401, GRPC.UNAUTHENTICATED],
      ['wrong', { authorization: creds.wrong }, 401, GRPC.UNAUTHENTICATED],
      ...(creds.expired ? [['expired', { authorization: creds.expired }, 401, GRPC.UNAUTHENTICATED] as [string, Record<string, string>, number, number]] : []),
      ['other tenant', { authorization: creds.writer, 'x-scope-orgid': 'b' }, 403, GRPC.PERMISSION_DENIED],
      ['without the right', { authorization: creds.admin }, 403, GRPC.PERMISSION_DENIED],
    ];

    test('the API read route', async () => {
      const { at, creds } = setup();
      const id = toHex(simpleTrace(1).traceId);
      for (const [what, headers, status] of refusals(creds)) {
        const res = await api(at.skein, `/api/traces/${id}`, headers);
        assert.equal(res.status, status, `${what}: ${await res.text()}`);
        if (status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /Bearer realm="skein".*Basic realm="skein"/, what);
      }
      // The credential's own tenant: found or not, no refusal.
      assert.equal((await api(at.skein, `/api/traces/${id}`, { authorization: creds.writer })).status, 404);
    });

    test('OTLP/HTTP', async () => {
      const { at, creds } = setup();
      for (const [what, headers, status] of refusals(creds)) {
        const res = await postProtobuf(at.skein.otlpHttpUrl, simpleTrace(1).batch, headers);
        assert.equal(res.status, status, `${what}: ${await res.text()}`);
      }
    });

    test('OTLP/gRPC', async () => {
      const { at, creds } = setup();
      for (const [what, headers, , code] of refusals(creds)) {
        const r = await exportWith(grpcExporter(at.skein, headers));
        assert.equal(r.code, ExportResultCode.FAILED, what);
        assert.equal(r.error?.code, code, `${what}: ${r.error?.message}`);
      }
    });

    test('Zipkin', async () => {
      const { at, creds } = setup();
      for (const [what, headers, status] of refusals(creds)) {
        const res = await postZipkin(at.zipkinUrl, headers);
        assert.equal(res.status, status, `${what}: ${await res.text()}`);
      }
    });
  });
}

describe('authentication modes', () => {
  let idp: OidcProvider;
  let skein: SkeinProcess;
  let at: Addresses;
  let tokenFile: string;
  let htpasswdFile: string;
  const used: string[] = [...Object.values(TOKENS), ...Object.values(PASSWORDS)];
  const creds: Record<'bearer' | 'basic' | 'oidc', Credentials> = {} as never;

  before(async () => {
    idp = await startOidcProvider({ clientId: 'skein-ui' });
    const dir = tempDir('skein-auth-');
    tokenFile = join(dir, 'tokens.yaml');
    writeFileSync(tokenFile, stringify([{ token: 'file-token-one-0123456789', name: 'from-file', tenant: 'a', rights: ['read'] }]));
    htpasswdFile = join(dir, 'htpasswd');
    writeFileSync(htpasswdFile, `${htpasswdLine('ann', PASSWORDS.ann)}\n${htpasswdLine('ops', PASSWORDS.ops)}\n`);
    skein = await startSkein({
      configYaml: stringify({
        receivers: { zipkin: { enabled: true, endpoint: '127.0.0.1:0' } },
        auth: {
          bearer_tokens: [
            { token: TOKENS.writer, name: 'writer-a', tenant: 'a', rights: ['write', 'read'] },
            { token: TOKENS.admin, name: 'ops-a', tenant: 'a', rights: ['admin'] },
          ],
          token_file: tokenFile,
          basic: { htpasswd_file: htpasswdFile, tenants: { ann: 'a', ops: 'a' }, rights: { ops: ['admin'] } },
          oidc: { issuer_url: idp.issuer, audience: 'skein', tenant_claim: 'tenant', rights_claim: 'rights', client_id: 'skein-ui' },
        },
      }),
    });
    at = { skein, zipkinUrl: zipkinUrlOf(skein) };
    const jwt = (rights: string[], o: { expiresIn?: number; key?: Awaited<ReturnType<OidcProvider['newKey']>> } = {}) =>
      idp.sign({ sub: 'alice', tenant: 'a', rights }, { audience: 'skein', ...o });
    creds.bearer = { writer: bearer(TOKENS.writer), admin: bearer(TOKENS.admin), wrong: bearer('tok-nobody-configured-0123') };
    creds.basic = { writer: basic('ann', PASSWORDS.ann), admin: basic('ops', PASSWORDS.ops), wrong: basic('ann', 'not-her-password') };
    creds.oidc = {
      writer: bearer(await jwt(['write', 'read'])),
      admin: bearer(await jwt(['admin'])),
      wrong: bearer(await jwt(['write', 'read'], { key: await idp.newKey() })),
      expired: bearer(await jwt(['write', 'read'], { expiresIn: -3600 })),
    };
    for (const c of Object.values(creds)) used.push(...Object.values(c).map((v: string) => v.slice(v.indexOf(' ') + 1)));
  });

  after(async () => {
    await skein?.stop();
    await idp?.close();
  });

  for (const mode of ['bearer', 'basic', 'oidc'] as const) modeTests(mode, () => ({ at, creds: creds[mode] }));

  test('bearer and OIDC share Authorization: Bearer; a JWT goes to OIDC, anything else to the static tokens', async () => {
    // A JWT that is not valid is refused by OIDC's check, naming it, not looked up as a static token.
    const res = await api(skein, NO_TRACE, { authorization: creds.oidc.expired! });
    assert.equal(res.status, 401);
    assert.equal(await res.text(), 'the token has expired');
  });

  test('token_file: a token added to the file is accepted once it is read again, a removed one refused', async () => {
    const path = `/api/traces/${toHex(simpleTrace(1).traceId)}`;
    const first = bearer('file-token-one-0123456789');
    const second = bearer('file-token-two-0123456789');
    used.push('file-token-two-0123456789');
    assert.equal((await api(skein, path, { authorization: first })).status, 404, 'the first file token reads (nothing there)');
    assert.equal((await api(skein, path, { authorization: second })).status, 401);
    writeFileSync(tokenFile, stringify([{ token: 'file-token-two-0123456789', tenant: 'a', rights: ['read'] }]));
    await waitFor('the new file token to be accepted', async () => (await api(skein, path, { authorization: second })).status === 404);
    assert.equal((await api(skein, path, { authorization: first })).status, 401);
  });

  test('the IdP rotates its keys: a token of the new key is accepted once the JWKS is fetched again', async () => {
    principalWorks(await api(skein, NO_TRACE, { authorization: creds.oidc.writer }));
    await idp.rotate();
    const token = await idp.sign({ sub: 'alice', tenant: 'a', rights: ['write'] }, { audience: 'skein' });
    used.push(token);
    await waitFor('the new key to be accepted on OTLP/HTTP', async () => (await postProtobuf(skein.otlpHttpUrl, simpleTrace(1).batch, { authorization: bearer(token) })).status === 200, 30_000, 500);
  });

  describe('the web UI signs in with OIDC (authorization code + PKCE)', () => {
    /** The Set-Cookie values of a response, by cookie name. */
    const setCookies = (res: Response): Map<string, string> => new Map(res.headers.getSetCookie().map((c) => [c.slice(0, c.indexOf('=')), c]));
    const valueOf = (setCookie: string | undefined) => setCookie?.slice(setCookie.indexOf('=') + 1).split(';')[0] ?? '';

    /** Follows the flow as a browser does (fetch keeps no cookies: they are carried here); returns the callback's response. */
    async function signIn(tamper: { state?: string; returnTo?: string } = {}): Promise<{ callback: Response; loginCookie: string; callbackUrl: string }> {
      const query = tamper.returnTo === undefined ? '' : `?return_to=${encodeURIComponent(tamper.returnTo)}`;
      const login = await fetch(`${skein.url}/api/skein/auth/oidc/login${query}`, { redirect: 'manual' });
      assert.equal(login.status, 302, await login.text());
      const loginCookie = setCookies(login).get('skein_oidc_login');
      assert.match(loginCookie ?? '', /HttpOnly; SameSite=Lax/);
      const authorize = new URL(login.headers.get('location')!);
      assert.equal(authorize.origin, idp.issuer);
      assert.deepEqual(
        ['response_type', 'client_id', 'code_challenge_method'].map((k) => authorize.searchParams.get(k)),
        ['code', 'skein-ui', 'S256'],
      );
      for (const k of ['state', 'nonce', 'code_challenge']) assert.ok(authorize.searchParams.get(k), k);
      const atIdp = await fetch(authorize, { redirect: 'manual' });
      assert.equal(atIdp.status, 302);
      const back = new URL(atIdp.headers.get('location')!);
      if (tamper.state !== undefined) back.searchParams.set('state', tamper.state);
      used.push(back.searchParams.get('code')!);
      const callback = await fetch(back, { redirect: 'manual', headers: { cookie: `skein_oidc_login=${valueOf(loginCookie)}` } });
      return { callback, loginCookie: valueOf(loginCookie), callbackUrl: back.href };
    }

    test('login → IdP → callback sets an HttpOnly SameSite=Strict session cookie that reads the API, and sends the browser home', async () => {
      idp.signInAs({ sub: 'alice', tenant: 'a', rights: ['read'] });
      const { callback } = await signIn();
      assert.equal(callback.status, 302, await callback.text());
      assert.equal(callback.headers.get('location'), '/');
      const cookies = setCookies(callback);
      const session = cookies.get('skein_session');
      assert.match(session ?? '', /^skein_session=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
      assert.match(cookies.get('skein_oidc_login') ?? '', /Max-Age=0/, 'the sign-in cookie is cleared');
      assert.deepEqual(idp.redirectUris.at(-1), `${skein.url}/api/skein/auth/oidc/callback`);
      used.push(valueOf(session));
      const res = await api(skein, `/api/traces/${toHex(simpleTrace(1).traceId)}`, { cookie: `skein_session=${valueOf(session)}`, 'x-scope-orgid': 'a' });
      assert.equal(res.status, 404, 'the session reads tenant a (nothing there)');
      assert.equal((await api(skein, NO_TRACE, { cookie: `skein_session=${valueOf(session)}`, 'x-scope-orgid': 'b' })).status, 403);
      assert.equal((await api(skein, NO_TRACE, { cookie: 'skein_session=made-up' })).status, 401);
    });

    test('the browser comes back to the page it started from, and only to a page of this origin', async () => {
      idp.signInAs({ sub: 'alice', tenant: 'a', rights: ['read'] });
      const there = await signIn({ returnTo: '/search?mode=traceql&q=%7B%7D' });
      assert.equal(there.callback.headers.get('location'), '/search?mode=traceql&q=%7B%7D');
      for (const elsewhere of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'search']) {
        const done = await signIn({ returnTo: elsewhere });
        assert.equal(done.callback.headers.get('location'), '/', `return_to ${elsewhere}`);
      }
    });

    test('a callback whose state differs, one without the sign-in cookie, and a replayed code are refused', async () => {
      idp.signInAs({ sub: 'alice', tenant: 'a' });
      const { callback } = await signIn({ state: 'not-the-state' });
      assert.equal(callback.status, 400);
      assert.match(await callback.text(), /state does not match/);
      assert.equal(setCookies(callback).has('skein_session'), false);

      const done = await signIn();
      assert.equal(done.callback.status, 302);
      const noCookie = await fetch(done.callbackUrl, { redirect: 'manual' });
      assert.equal(noCookie.status, 400);
      const replay = await fetch(done.callbackUrl, { redirect: 'manual', headers: { cookie: `skein_oidc_login=${done.loginCookie}` } });
      assert.equal(replay.status, 502);
      assert.match(await replay.text(), /token endpoint answered 400 \(invalid_grant/);
    });

    test('a user whose ID token names no tenant is refused (403), without a session', async () => {
      idp.signInAs({ sub: 'nobody' });
      const { callback } = await signIn();
      assert.equal(callback.status, 403);
      assert.match(await callback.text(), /no "tenant" claim/);
      assert.equal(setCookies(callback).has('skein_session'), false);
    });
  });

  test('no credential, code or session ID is in the logs', () => {
    const text = skein.logs.map((l) => JSON.stringify(l)).join('\n');
    assert.ok(text.includes('request refused'), 'refusals are logged');
    for (const secret of used) assert.ok(!text.includes(secret), `the logs show a credential (${secret.slice(0, 6)}…)`);
  });
});

function principalWorks(res: Response): void {
  assert.equal(res.status, 404, `the credential reads (nothing at that ID): ${res.status}`);
}

describe('auth.listeners: each listener its own modes', () => {
  let idp: OidcProvider;
  let skein: SkeinProcess;
  let htpasswdFile: string;

  before(async () => {
    idp = await startOidcProvider();
    htpasswdFile = join(tempDir('skein-auth-'), 'htpasswd');
    writeFileSync(htpasswdFile, `${htpasswdLine('ann', PASSWORDS.ann)}\n`);
    skein = await startSkein({
      configYaml: stringify({
        receivers: { zipkin: { enabled: true, endpoint: '127.0.0.1:0' } },
        auth: {
          bearer_tokens: [{ token: TOKENS.writer, tenant: 'a', rights: ['write', 'read'] }],
          basic: { htpasswd_file: htpasswdFile, tenants: { ann: 'a' } },
          oidc: { issuer_url: idp.issuer, tenant_claim: 'tenant' },
          listeners: { otlp_http: [], api: ['bearer'], otlp_grpc: ['oidc'], zipkin: ['basic'] },
        },
      }),
    });
  });

  after(async () => {
    await skein?.stop();
    await idp?.close();
  });

  test('an open OTLP/HTTP takes spans without a credential, for the tenant the header names', async () => {
    assert.equal((await postProtobuf(skein.otlpHttpUrl, simpleTrace(1).batch)).status, 200);
    const { traceId, batch } = simpleTrace(1);
    assert.equal((await postProtobuf(skein.otlpHttpUrl, batch, { 'x-scope-orgid': 'a' })).status, 200);
    await assertReadable(skein, toHex(traceId), bearer(TOKENS.writer));
  });

  test('the API takes only bearer tokens', async () => {
    assert.equal((await api(skein, NO_TRACE)).status, 401);
    assert.equal((await api(skein, NO_TRACE, { authorization: bearer(TOKENS.writer) })).status, 404);
    const res = await api(skein, NO_TRACE, { authorization: basic('ann', PASSWORDS.ann) });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="skein"');
  });

  test('OTLP/gRPC takes only JWTs; Zipkin only basic', async () => {
    const stat = await exportWith(grpcExporter(skein, { authorization: bearer(TOKENS.writer) }));
    assert.equal(stat.error?.code, GRPC.UNAUTHENTICATED);
    const jwt = await exportWith(grpcExporter(skein, { authorization: bearer(await idp.sign({ sub: 'svc', tenant: 'a' })) }));
    assert.equal(jwt.code, ExportResultCode.SUCCESS, jwt.error?.message);
    const zipkinUrl = zipkinUrlOf(skein);
    assert.equal((await postZipkin(zipkinUrl, { authorization: bearer(TOKENS.writer) })).status, 401);
    assert.equal((await postZipkin(zipkinUrl, { authorization: basic('ann', PASSWORDS.ann) })).status, 202);
  });

  test('no OIDC sign-in without a client ID', async () => {
    assert.equal((await fetch(`${skein.url}/api/skein/auth/oidc/login`, { redirect: 'manual' })).status, 404);
  });
});
