// The web UI's sign-in on the API listener, over HTTP against a running Skein: a token traded
// for an HttpOnly, SameSite=Strict session cookie, whoami for any signed-in credential, sign-out,
// the header a cookie-signed state change must carry, and the security headers on every answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { installSecurityHeaders } from '../../src/api/security-headers.js';
import { sessionCookie } from '../../src/auth/sessions.js';

const TOKEN_A = 'session-test-token-a-0001';
const TOKEN_AB = 'session-test-token-ab-0002';
const TOKEN_WRITER = 'session-test-token-w-00003';
const PEER_TOKEN = 'session-test-peer-token-04';

let open: SkeinProcess;
let authed: SkeinProcess;

before(async () => {
  [open, authed] = await Promise.all([
    startSkein(),
    startSkein({
      configYaml: `auth:
  session_ttl: 2h
  peer_token: ${PEER_TOKEN}
  bearer_tokens:
    - { token: ${TOKEN_A}, name: alice, tenant: a, rights: [read, write] }
    - { token: ${TOKEN_AB}, name: ops, tenants: [a, b], rights: [read] }
    - { token: ${TOKEN_WRITER}, name: shipper, tenant: a, rights: [write] }
`,
    }),
  ]);
});
after(async () => {
  await Promise.all([open?.stop(), authed?.stop()]);
});

const signIn = (token: string, init: RequestInit = {}) =>
  fetch(`${authed.url}/api/skein/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), ...init });

/** The cookie a browser would send back, from a sign-in's Set-Cookie. */
function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  assert.match(set, /^skein_session=[^;]+;/, 'a session cookie is set');
  return set.split(';')[0]!;
}

describe('without authentication', () => {
  test('the UI is told there is no sign-in, and whoami answers for anyone', async () => {
    const config = (await (await fetch(`${open.url}/api/skein/ui-config`)).json()) as { auth: { enabled: boolean; oidcIssuer: string } };
    assert.deepEqual(config.auth, { enabled: false, oidcIssuer: '' });
    const who = await fetch(`${open.url}/api/skein/whoami`);
    assert.equal(who.status, 200);
    assert.deepEqual(await who.json(), { subject: 'anonymous', tenants: '*', rights: ['admin', 'read', 'write'], authEnabled: false });
    const signin = await fetch(`${open.url}/api/skein/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":"x"}' });
    assert.equal(signin.status, 400);
    assert.match(await signin.text(), /sign-in is off/);
  });
});

describe('signing in with a token', () => {
  test('the UI is told to sign in; whoami without a session is a 401', async () => {
    const config = (await (await fetch(`${authed.url}/api/skein/ui-config`)).json()) as { auth: { enabled: boolean } };
    assert.equal(config.auth.enabled, true);
    const who = await fetch(`${authed.url}/api/skein/whoami`);
    assert.equal(who.status, 401);
    assert.equal(who.headers.get('www-authenticate'), 'Bearer realm="skein"');
    // The UI draws its own sign-in page: no challenge that would open the browser's login dialog.
    const fromUi = await fetch(`${authed.url}/api/skein/whoami`, { headers: { 'x-skein-ui': '1' } });
    assert.equal(fromUi.status, 401);
    assert.equal(fromUi.headers.get('www-authenticate'), null);
  });

  test('a valid token sets an HttpOnly, SameSite=Strict cookie for the session\'s lifetime, and whoami names the principal', async () => {
    const res = await signIn(TOKEN_AB);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { subject: 'ops', tenants: ['a', 'b'], rights: ['read'], authEnabled: true });
    const set = res.headers.get('set-cookie') ?? '';
    assert.match(set, /; Path=\/(;|$)/);
    assert.match(set, /; HttpOnly(;|$)/);
    assert.match(set, /; SameSite=Strict(;|$)/);
    assert.match(set, /; Max-Age=7200(;|$)/);
    assert.doesNotMatch(set, /Secure/, 'plain HTTP: a Secure cookie would never be sent back');
    assert.ok(!set.includes(TOKEN_AB), 'the cookie is a session ID, not the token');
    const cookie = cookieOf(res);
    const who = await fetch(`${authed.url}/api/skein/whoami`, { headers: { cookie } });
    assert.equal(who.status, 200);
    assert.deepEqual(await who.json(), { subject: 'ops', tenants: ['a', 'b'], rights: ['read'], authEnabled: true });
    // The session reads as the token would: tenant b named, and only tenants it allows.
    const b = await fetch(`${authed.url}/api/search?q=%7B%7D`, { headers: { cookie, 'x-scope-orgid': 'b' } });
    assert.equal(b.status, 200);
    const c = await fetch(`${authed.url}/api/search?q=%7B%7D`, { headers: { cookie, 'x-scope-orgid': 'c' } });
    assert.equal(c.status, 403);
  });

  test('whoami answers any signed-in credential, even one without the read right', async () => {
    const res = await signIn(TOKEN_WRITER);
    assert.equal(res.status, 200);
    const cookie = cookieOf(res);
    const who = await fetch(`${authed.url}/api/skein/whoami`, { headers: { cookie } });
    assert.equal(who.status, 200);
    assert.deepEqual(((await who.json()) as { rights: string[] }).rights, ['write']);
    assert.equal((await fetch(`${authed.url}/api/search?q=%7B%7D`, { headers: { cookie } })).status, 403);
  });

  test('a wrong token, the peer token, a form post, an empty or oversized body are refused, and set no cookie', async () => {
    const wrong = await signIn('not-a-token-anyone-configured');
    assert.equal(wrong.status, 401);
    assert.equal(await wrong.text(), 'this token is not valid here');
    const peer = await signIn(PEER_TOKEN);
    assert.equal(peer.status, 403);
    assert.match(await peer.text(), /peer token cannot sign in/);
    const form = await fetch(`${authed.url}/api/skein/session`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ token: TOKEN_A }) });
    assert.equal(form.status, 415);
    assert.equal((await signIn('')).status, 400);
    const big = await signIn('x'.repeat(64 * 1024));
    assert.equal(big.status, 413);
    for (const r of [wrong, peer, form, big]) assert.equal(r.headers.get('set-cookie'), null);
  });

  test('a state change signed in by the cookie alone must carry x-skein-ui; a bearer token need not', async () => {
    const cookie = cookieOf(await signIn(TOKEN_A));
    const bare = await fetch(`${authed.url}/api/skein/tail/0123456789abcdef0123`, { method: 'DELETE', headers: { cookie } });
    assert.equal(bare.status, 403);
    assert.match(await bare.text(), /x-skein-ui: 1/);
    // Past the access check: the route itself answers (no such tail).
    const marked = await fetch(`${authed.url}/api/skein/tail/0123456789abcdef0123`, { method: 'DELETE', headers: { cookie, 'x-skein-ui': '1' } });
    assert.equal(marked.status, 404);
    const bearer = await fetch(`${authed.url}/api/skein/tail/0123456789abcdef0123`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN_A}` } });
    assert.equal(bearer.status, 404);
  });

  test('signing out ends the session on the server and clears the cookie', async () => {
    const cookie = cookieOf(await signIn(TOKEN_A));
    assert.equal((await fetch(`${authed.url}/api/skein/whoami`, { headers: { cookie } })).status, 200);
    const out = await fetch(`${authed.url}/api/skein/session`, { method: 'DELETE', headers: { cookie } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^skein_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    // The old cookie, replayed, no longer signs anyone in.
    const after = await fetch(`${authed.url}/api/skein/whoami`, { headers: { cookie } });
    assert.equal(after.status, 401);
    assert.match(await after.text(), /sign in again/);
  });

  test('a new sign-in replaces the browser\'s previous session', async () => {
    const first = cookieOf(await signIn(TOKEN_A));
    const second = cookieOf(await signIn(TOKEN_AB, { headers: { 'content-type': 'application/json', cookie: first } }));
    assert.notEqual(first, second);
    assert.equal((await fetch(`${authed.url}/api/skein/whoami`, { headers: { cookie: first } })).status, 401);
    assert.equal((await fetch(`${authed.url}/api/skein/whoami`, { headers: { cookie: second } })).status, 200);
  });
});

describe('security headers', () => {
  const expectHeaders = (res: Response, what: string): void => {
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'", "object-src 'none'"]) {
      assert.ok(csp.split(';').includes(directive), `${what}: CSP has ${directive} (${csp})`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|upgrade-insecure-requests/, what);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', what);
    assert.equal(res.headers.get('strict-transport-security'), null, `${what}: no HSTS over plain HTTP`);
  };

  test('on pages, assets, API answers, refusals and 404s alike', async () => {
    const html = await (await fetch(`${authed.url}/`)).text();
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    assert.ok(asset, 'index.html loads a script');
    const cases: Array<[string, string, number]> = [
      [authed.url, '/', 200],
      [authed.url, '/trace/0123', 200],
      [authed.url, asset, 200],
      [authed.url, '/theme-init.js', 200],
      [authed.url, '/api/skein/ui-config', 200],
      [authed.url, '/api/search', 401],
      [authed.url, '/api/does-not-exist', 404],
      [authed.url, '/ready', 200],
      [open.url, '/', 200],
      [open.url, '/api/search?q=%7B%7D', 200],
    ];
    for (const [base, path, status] of cases) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, status, path);
      expectHeaders(res, `${base === open.url ? 'open' : 'authed'} ${path}`);
    }
  });

  test('the page has no inline script for the policy to allow', async () => {
    const html = await (await fetch(`${authed.url}/`)).text();
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1]!, /\bsrc="\//, `every script is a file: ${m[0]}`);
      assert.equal(m[2]!.trim(), '', `no inline code: ${m[0]}`);
    }
    assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline style either');
  });

  test('HSTS and a Secure cookie when the listener speaks TLS', async () => {
    const app = Fastify();
    installSecurityHeaders(app, { tls: true });
    app.get('/', async () => 'ok');
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
    await app.close();
    assert.match(sessionCookie('id', { maxAgeSeconds: 60, secure: true }), /; Secure$/);
  });
});
