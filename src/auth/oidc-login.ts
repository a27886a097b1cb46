// The web UI's "Sign in with OIDC": the authorization code flow with PKCE (RFC 7636).
// `start` sends the browser to the issuer's authorization endpoint with a fresh state,
// nonce and S256 code challenge; the three travel in a short-lived HttpOnly cookie (no
// server-side state, so a flood of sign-in starts costs no memory). `finish` checks the
// state the issuer sent back against the cookie, trades the code (with the verifier) for
// tokens at the token endpoint, verifies the ID token (signature, issuer, audience =
// client_id, nonce) and returns the principal its claims give: the caller makes it a session.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthConfig } from '../config/security-schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { AuthFailure } from './authenticator.js';
import type { OidcIssuer } from './oidc.js';
import type { Principal } from './principal.js';

export const LOGIN_PATH = '/api/skein/auth/oidc/login';
export const CALLBACK_PATH = '/api/skein/auth/oidc/callback';
/** Holds state, nonce, verifier and redirect URI between the two routes; scoped to their path. */
export const LOGIN_COOKIE = 'skein_oidc_login';
export const LOGIN_COOKIE_PATH = '/api/skein/auth/oidc';
/** A sign-in must come back from the IdP within this long. */
export const LOGIN_TTL_SECONDS = 600;
const TOKEN_TIMEOUT_MS = 10_000;

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  /** The page of this origin the user started from, where the callback sends them back. */
  returnTo: string;
}

/** A path of this origin only (`/search?q=…`), never `//host` or a scheme: the sign-in must not redirect elsewhere. */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || /[\r\n]/.test(value) || value.length > 2048) return '/';
  return value;
}

/** A sign-in that could not complete: 400 (a broken or replayed callback), 401/403 as for any credential, 502/503 (the IdP). */
export interface LoginFailure {
  status: 400 | 401 | 403 | 502 | 503;
  message: string;
}

export class OidcLogin {
  constructor(
    private readonly issuer: OidcIssuer,
    private readonly config: AuthConfig['oidc'],
    private readonly logger: Logger,
  ) {}

  /** Where to send the browser, and the cookie value to set (LOGIN_COOKIE) for the callback. */
  async start(redirectUri: string, returnTo = '/'): Promise<{ location: string; cookie: string }> {
    const { metadata } = await this.issuer.discover();
    if (metadata.authorizationEndpoint === undefined) throw new Error(`the issuer's discovery document has no authorization_endpoint`);
    const pending: Pending = { state: random(), nonce: random(), verifier: random(), redirectUri, returnTo: safeReturnPath(returnTo) };
    const url = new URL(metadata.authorizationEndpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.config.client_id);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', 'openid profile email');
    url.searchParams.set('state', pending.state);
    url.searchParams.set('nonce', pending.nonce);
    url.searchParams.set('code_challenge', createHash('sha256').update(pending.verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    return { location: url.href, cookie: Buffer.from(JSON.stringify(pending)).toString('base64url') };
  }

  /** The principal of a completed sign-in and the page to return to, from the callback's query and the LOGIN_COOKIE value. */
  async finish(
    query: { code?: string | undefined; state?: string | undefined; error?: string | undefined; error_description?: string | undefined },
    cookie: string | undefined,
  ): Promise<{ principal: Principal; returnTo: string } | LoginFailure> {
    if (query.error !== undefined) {
      return { status: 401, message: `the identity provider refused the sign-in: ${query.error}${query.error_description ? ` (${query.error_description.slice(0, 200)})` : ''}` };
    }
    const pending = readPending(cookie);
    if (pending === undefined) return { status: 400, message: `no sign-in is in progress in this browser (or it took longer than ${LOGIN_TTL_SECONDS / 60} minutes): start again` };
    if (query.state === undefined || !sameText(query.state, pending.state)) return { status: 400, message: 'the sign-in state does not match: start again' };
    if (query.code === undefined || query.code === '') return { status: 400, message: 'the identity provider sent no authorization code' };

    const { metadata } = await this.issuer.discover();
    if (metadata.tokenEndpoint === undefined) return { status: 502, message: "the issuer's discovery document has no token_endpoint" };
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: query.code, redirect_uri: pending.redirectUri, client_id: this.config.client_id, code_verifier: pending.verifier });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (this.config.client_secret !== '') {
      // RFC 6749 2.3.1: each part form-encoded, then HTTP Basic.
      const pair = `${encodeURIComponent(this.config.client_id)}:${encodeURIComponent(this.config.client_secret)}`;
      headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    let tokens: Record<string, unknown>;
    try {
      const res = await fetch(metadata.tokenEndpoint, { method: 'POST', body, headers, signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS) });
      tokens = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (res.status !== 200) {
        // The IdP's error code and description name the problem; they carry no secret.
        const why = [tokens['error'], tokens['error_description']].filter((v) => typeof v === 'string').join(': ').slice(0, 300);
        return { status: 502, message: `the identity provider's token endpoint answered ${res.status}${why ? ` (${why})` : ''}` };
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'auth.oidc: the token endpoint could not be reached');
      return { status: 503, message: `the identity provider's token endpoint could not be reached: ${(err as Error).message}` };
    }
    const idToken = tokens['id_token'];
    if (typeof idToken !== 'string') return { status: 502, message: 'the identity provider returned no id_token (is the openid scope allowed for this client?)' };
    const verified = await this.issuer.verify(idToken, this.config.client_id);
    if ('status' in verified) return { status: 401, message: `the ID token was refused: ${verified.message}` };
    const nonce = verified.claims['nonce'];
    if (typeof nonce !== 'string' || !sameText(nonce, pending.nonce)) return { status: 401, message: 'the ID token does not carry the nonce of this sign-in' };
    const principal: Principal | AuthFailure = this.issuer.principalOf(verified.claims);
    if ('status' in principal) return principal;
    return { principal, returnTo: safeReturnPath(pending.returnTo) };
  }
}

function random(): string {
  return randomBytes(32).toString('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readPending(cookie: string | undefined): Pending | undefined {
  if (cookie === undefined || cookie === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8')) as Record<string, unknown>;
    const fields = ['state', 'nonce', 'verifier', 'redirectUri'] as const;
    if (!fields.every((f) => typeof v[f] === 'string' && v[f] !== '')) return undefined;
    return v as unknown as Pending;
  } catch {
    return undefined;
  }
}
