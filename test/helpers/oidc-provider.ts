// A small OpenID Connect identity provider on loopback, for tests and the auth benchmark:
// discovery, a JWKS whose keys can be rotated, JWTs signed with jose, and the
// authorization code flow with PKCE (an authorize endpoint that signs the configured
// user in at once, and a token endpoint that checks the code_verifier, the redirect URI,
// the client and, when set, its secret). Counts what it served, so tests can see a JWKS
// fetched again after a rotation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface SignOptions {
  /** Seconds from now (negative: already expired). Default 3600. */
  expiresIn?: number;
  /** `nbf`, seconds from now. */
  notBefore?: number;
  audience?: string | string[];
  /** Default: this provider's issuer. */
  issuer?: string;
  /** Sign with this key instead of the current one (e.g. one never published). */
  key?: SigningKey;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface OidcProviderOptions {
  /** The client the authorization code flow accepts. */
  clientId?: string;
  /** When set, the token endpoint requires it (HTTP Basic, RFC 6749 2.3.1). */
  clientSecret?: string;
}

export interface OidcProvider {
  /** `http://127.0.0.1:<port>`: the issuer URL and `iss` of its tokens. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The key new tokens are signed with. */
  readonly current: SigningKey;
  /** Requests served, by endpoint. */
  readonly served: { discovery: number; jwks: number; authorize: number; token: number };
  /** The redirect URIs the authorize endpoint accepted (a test checks Skein's). */
  readonly redirectUris: string[];
  /** A JWT with `claims` (sub, tenant, …), signed with the current key unless another is given. */
  sign(claims: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  /** A key pair that is not published (tokens it signs name a kid the JWKS lacks) until `publish`. */
  newKey(): Promise<SigningKey>;
  /** Makes `key` current and publishes it; the previous keys stay published unless `dropOthers`. */
  rotate(key?: SigningKey, opts?: { dropOthers?: boolean }): Promise<SigningKey>;
  /** The claims the authorize endpoint puts in the ID token of the next sign-ins. */
  signInAs(claims: Record<string, unknown>): void;
  /** While false every endpoint answers 503 (an IdP that is down). */
  setAvailable(up: boolean): void;
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
  claims: Record<string, unknown>;
}

export async function startOidcProvider(opts: OidcProviderOptions = {}): Promise<OidcProvider> {
  const clientId = opts.clientId ?? 'skein-ui';
  let published: SigningKey[] = [];
  let current = await makeKey();
  published.push(current);
  let user: Record<string, unknown> = { sub: 'alice', tenant: 'a' };
  let up = true;
  const grants = new Map<string, Grant>();
  const served = { discovery: 0, jwks: 0, authorize: 0, token: 0 };
  const redirectUris: string[] = [];

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { error: 'server_error', error_description: (err as Error).message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;

  const sign = async (claims: Record<string, unknown>, o: SignOptions = {}): Promise<string> => {
    const key = o.key ?? current;
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(o.issuer ?? issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + (o.expiresIn ?? 3600));
    if (o.audience !== undefined) jwt = jwt.setAudience(o.audience);
    if (o.notBefore !== undefined) jwt = jwt.setNotBefore(now + o.notBefore);
    return jwt.sign(key.privateKey);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (!up) return json(res, 503, { error: 'temporarily_unavailable' });
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      served.discovery++;
      return json(res, 200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      served.jwks++;
      return json(res, 200, { keys: published.map((k) => k.publicJwk) });
    }
    if (req.method === 'GET' && url.pathname === '/authorize') {
      served.authorize++;
      const q = url.searchParams;
      const redirectUri = q.get('redirect_uri') ?? '';
      if (q.get('client_id') !== clientId) return json(res, 400, { error: 'invalid_client' });
      if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !redirectUri) {
        return json(res, 400, { error: 'invalid_request', error_description: 'response_type=code, S256 code_challenge and redirect_uri are required' });
      }
      redirectUris.push(redirectUri);
      const code = randomBytes(16).toString('base64url');
      grants.set(code, { clientId, redirectUri, challenge: q.get('code_challenge')!, nonce: q.get('nonce') ?? undefined, claims: { ...user } });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      if (q.get('state') !== null) back.searchParams.set('state', q.get('state')!);
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      served.token++;
      const form = new URLSearchParams(await body(req));
      if (opts.clientSecret !== undefined) {
        const expected = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(opts.clientSecret)}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return json(res, 401, { error: 'invalid_client' });
      }
      const code = form.get('code') ?? '';
      const grant = grants.get(code);
      // A code is good once.
      grants.delete(code);
      if (form.get('grant_type') !== 'authorization_code' || grant === undefined) return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or used code' });
      if (form.get('client_id') !== grant.clientId || form.get('redirect_uri') !== grant.redirectUri) return json(res, 400, { error: 'invalid_grant', error_description: 'client or redirect_uri differ' });
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'code_verifier does not match' });
      const idToken = await sign({ ...grant.claims, ...(grant.nonce !== undefined && { nonce: grant.nonce }) }, { audience: grant.clientId, expiresIn: 300 });
      const accessToken = await sign({ ...grant.claims }, { expiresIn: 300 });
      return json(res, 200, { token_type: 'Bearer', id_token: idToken, access_token: accessToken, expires_in: 300 });
    }
    json(res, 404, { error: 'not_found' });
  }

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    get current() {
      return current;
    },
    served,
    redirectUris,
    sign,
    newKey: makeKey,
    async rotate(key, o = {}) {
      const next = key ?? (await makeKey());
      published = o.dropOthers ? [next] : [...published.filter((k) => k.kid !== next.kid), next];
      current = next;
      return next;
    },
    signInAs(claims) {
      user = { ...claims };
    },
    setAvailable(v) {
      up = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function makeKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text;
}
