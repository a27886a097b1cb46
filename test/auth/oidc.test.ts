// OIDC bearer tokens against a small identity provider on loopback (test/helpers/oidc-provider.ts):
// discovery, signature against the JWKS, iss / aud / exp / nbf, tenant and rights claims,
// key rotation picked up from the JWKS, verified tokens remembered, and an identity
// provider that cannot be reached refusing retryably (OverloadError), never as a bad token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { looksLikeJwt, OidcIssuer } from '../../src/auth/oidc.js';
import { isFailure, type AuthFailure } from '../../src/auth/authenticator.js';
import type { Principal } from '../../src/auth/principal.js';
import { validateConfig } from '../../src/config/load.js';
import { OverloadError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';
import { waitFor } from '../helpers/poll.js';

function issuerFor(oidc: Record<string, unknown>): OidcIssuer {
  return new OidcIssuer(validateConfig({ auth: { oidc } }).auth.oidc, silentLogger);
}

const statusOf = (r: Principal | AuthFailure): number => (isFailure(r) ? r.status : 200);

function principal(r: Principal | AuthFailure): Principal {
  assert.ok(!isFailure(r), `refused: ${JSON.stringify(r)}`);
  return r;
}

test('a JWT is three dot-separated parts, a JSON header first; anything else is a static token', () => {
  assert.ok(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'));
  const notJwts = ['static-token-of-some-length', 'a.b.c', 'eyJa.b', 'eyJa.b.c.d', 'eyJa.b.', 'eyJa..c', 'eyJ a.b.c', 'eyJa=.b.c', 'eyJ/a.b.c'];
  for (const t of notJwts) assert.ok(!looksLikeJwt(t), t);
});

describe('OIDC bearer tokens', () => {
  let idp: OidcProvider;
  let oidc: OidcIssuer;

  before(async () => {
    idp = await startOidcProvider();
    oidc = issuerFor({ issuer_url: idp.issuer, audience: 'skein', tenant_claim: 'tenant', rights_claim: 'rights', default_rights: ['read'] });
  });
  after(async () => {
    oidc.close();
    await idp.close();
  });

  test('a valid token gives the tenant of its claim and the rights it lists, or the default rights', async () => {
    const p = principal(await oidc.authenticate(await idp.sign({ sub: 'alice', tenant: 'a', rights: ['write', 'read', 'openid'] }, { audience: 'skein' })));
    assert.deepEqual([p.subject, p.tenants, [...p.rights].sort(), p.peer], ['alice', ['a'], ['read', 'write'], false]);
    const spaced = principal(await oidc.authenticate(await idp.sign({ sub: 'svc', tenant: ['a', 'b'], rights: 'admin profile' }, { audience: ['other', 'skein'] })));
    assert.deepEqual([spaced.tenants, [...spaced.rights]], [['a', 'b'], ['admin']]);
    const defaults = principal(await oidc.authenticate(await idp.sign({ sub: 'bob', tenant: 'b' }, { audience: 'skein' })));
    assert.deepEqual([...defaults.rights], ['read']);
    assert.equal(idp.served.discovery, 1, 'discovery once');
  });

  test('no tenant claim, or an invalid tenant, is a 403 naming the claim', async () => {
    assert.deepEqual(await oidc.authenticate(await idp.sign({ sub: 'x' }, { audience: 'skein' })), {
      status: 403,
      message: 'the token has no "tenant" claim naming its tenant (a string, or an array of strings)',
    });
    assert.equal(statusOf(await oidc.authenticate(await idp.sign({ sub: 'x', tenant: 'a/b' }, { audience: 'skein' }))), 403);
    assert.equal(statusOf(await oidc.authenticate(await idp.sign({ sub: 'x', tenant: [] }, { audience: 'skein' }))), 403);
  });

  test('expired, not yet valid, wrong audience, wrong issuer, no exp, unknown key, bad signature: 401 saying which', async () => {
    const claims = { sub: 'alice', tenant: 'a' };
    const unpublished = await idp.newKey();
    const good = await idp.sign(claims, { audience: 'skein' });
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
    const noExp = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: idp.current.kid }).setIssuer(idp.issuer).setAudience('skein').sign(idp.current.privateKey);
    const cases: Array<[string, string]> = [
      [await idp.sign(claims, { audience: 'skein', expiresIn: -3600 }), 'the token has expired'],
      [await idp.sign(claims, { audience: 'skein', notBefore: 3600 }), 'the token is not valid yet (nbf)'],
      [await idp.sign(claims, { audience: 'someone-else' }), 'the token has the wrong aud claim'],
      [await idp.sign(claims), 'the token has no aud claim'],
      [await idp.sign(claims, { audience: 'skein', issuer: 'http://evil.example' }), 'the token has the wrong iss claim'],
      [noExp, 'the token has no exp claim'],
      [await idp.sign(claims, { audience: 'skein', key: unpublished }), "the token is signed with a key the issuer does not publish (its kid is not in the issuer's JWKS)"],
      [forged, 'the token signature is not valid'],
    ];
    for (const [token, message] of cases) assert.deepEqual(await oidc.authenticate(token), { status: 401, message }, message);
  });

  test('after the IdP rotates its keys, tokens of the new key are accepted (the JWKS is fetched again); the old key works while published', async () => {
    const oldKey = idp.current;
    principal(await oidc.authenticate(await idp.sign({ sub: 'alice', tenant: 'a' }, { audience: 'skein' })));
    const fetched = idp.served.jwks;
    await idp.rotate();
    const rotated = await idp.sign({ sub: 'alice', tenant: 'a' }, { audience: 'skein' });
    // An unknown kid fetches the JWKS again, at most every few seconds: the first try may fall in that cooldown.
    await waitFor('a token of the new key to be accepted', async () => !isFailure(await oidc.authenticate(rotated)), 30_000, 500);
    assert.ok(idp.served.jwks > fetched, 'the JWKS was fetched again');
    principal(await oidc.authenticate(await idp.sign({ sub: 'carol', tenant: 'a' }, { audience: 'skein', key: oldKey })));
  });

  test('a verified token is remembered: still accepted while the IdP is down and no longer publishes its key', async () => {
    const fresh = issuerFor({ issuer_url: idp.issuer, tenant_claim: 'tenant' });
    try {
      const token = await idp.sign({ sub: 'alice', tenant: 'a' });
      const first = principal(await fresh.authenticate(token));
      idp.setAvailable(false);
      await idp.rotate(undefined, { dropOthers: true });
      assert.equal(await fresh.authenticate(token), first, 'the same principal, from the cache');
    } finally {
      idp.setAvailable(true);
      fresh.close();
    }
  });
});

describe('the issuer, found or not', () => {
  test('an IdP that cannot be reached: OverloadError (503 / UNAVAILABLE), tried again later', async () => {
    const idp = await startOidcProvider();
    const token = await idp.sign({ sub: 'alice', tenant: 'a' });
    idp.setAvailable(false);
    const oidc = issuerFor({ issuer_url: idp.issuer });
    try {
      await assert.rejects(oidc.authenticate(token), (err: unknown) => err instanceof OverloadError && /could not be reached.*answered 503/.test(err.message));
      idp.setAvailable(true);
      await waitFor('discovery to be tried again', async () => {
        try {
          return !isFailure(await oidc.authenticate(token));
        } catch {
          return false;
        }
      }, 30_000, 500);
    } finally {
      oidc.close();
      await idp.close();
    }
  });

  test('a discovery document naming another issuer is refused, saying so', async () => {
    const idp = await startOidcProvider();
    const oidc = issuerFor({ issuer_url: `${idp.issuer.replace('127.0.0.1', 'localhost')}` });
    try {
      await assert.rejects(oidc.authenticate(await idp.sign({ tenant: 'a' })), /names issuer "http:\/\/127\.0\.0\.1:\d+", not auth\.oidc\.issuer_url "http:\/\/localhost:\d+"/);
    } finally {
      oidc.close();
      await idp.close();
    }
  });

  test('with jwks_url and no client_id there is no discovery', async () => {
    const idp = await startOidcProvider();
    const oidc = issuerFor({ issuer_url: idp.issuer, jwks_url: idp.jwksUrl });
    try {
      principal(await oidc.authenticate(await idp.sign({ sub: 'alice', tenant: 'a' })));
      assert.deepEqual([idp.served.discovery, idp.served.jwks], [0, 1]);
    } finally {
      oidc.close();
      await idp.close();
    }
  });
});
