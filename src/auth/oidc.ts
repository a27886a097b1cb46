// The collector's oidc: `Authorization: Bearer <JWT>` signed by the operator's identity
// provider. Its keys come from the issuer's JWKS (found by OpenID discovery unless
// jwks_url names it), cached and fetched again when a token names a key not seen yet
// (the IdP rotated its keys). The tenant and rights come from claims.
//
// A client sends the same token on every request until it expires: a verified token is
// remembered by its SHA-256 until its `exp` or VERIFIED_TTL_MS, whichever comes first, so
// a repeat costs a hash and a map lookup instead of a signature check. The TTL bounds how
// long a token stays accepted after the IdP stops publishing its key.
//
// Fetching from the IdP happens at run time: discovery on the first token (not at start,
// so an IdP that is down does not keep Skein from starting), keys as jose needs them. When
// the IdP cannot be reached the request is refused retryably (OverloadError: 503 /
// UNAVAILABLE), since the client's credential may well be good.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { RIGHTS, type AuthConfig, type Right } from '../config/security-schema.js';
import { OverloadError } from '../lib/errors.js';
import { tenantFromHeader } from '../lib/tenant.js';
import type { Logger } from '../telemetry/logger.js';
import type { AuthFailure } from './authenticator.js';
import type { Principal } from './principal.js';
import { VerifiedCache } from './verified-cache.js';
import { digestKey, sha256 } from './digest.js';

const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;
/** After a failed discovery, the next token waits this long before it is tried again (the IdP is not hammered). */
const DISCOVERY_RETRY_MS = 5_000;
const FETCH_TIMEOUT_MS = 5_000;
/** An unknown `kid` fetches the JWKS again at most this often: rotation is picked up quickly, forged kids cost the IdP little. */
const JWKS_COOLDOWN_MS = 5_000;
/** Clocks of Skein and the IdP may differ by this much for `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_S = 30;
const RETRY_AFTER_SECONDS = 1;
/** Signature algorithms of public keys; a JWKS never stands for a shared secret here. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/**
 * A JWS in compact form: three non-empty parts separated by dots, the first a base64url JSON
 * header (so it begins `eyJ`, the encoding of `{"`). Anything else is a static bearer token.
 * Checked on every request, so without scanning the whole token; jose checks the rest.
 */
export function looksLikeJwt(token: string): boolean {
  if (!token.startsWith('eyJ')) return false;
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  return second > first + 1 && second < token.length - 1 && token.indexOf('.', second + 1) < 0 && !/[\s=+/]/.test(token.slice(0, first));
}

/** What discovery (or the config) says about the issuer. */
export interface IssuerMetadata {
  /** The exact `iss` its tokens carry. */
  issuer: string;
  jwksUri: string;
  authorizationEndpoint: string | undefined;
  tokenEndpoint: string | undefined;
}

interface Discovered {
  metadata: IssuerMetadata;
  keys: JWTVerifyGetKey;
}

export class OidcIssuer {
  private discovered: Promise<Discovered> | undefined;
  private failedAt = 0;
  private readonly verified = new VerifiedCache<Principal | AuthFailure>(VERIFIED_MAX);

  constructor(
    private readonly config: AuthConfig['oidc'],
    private readonly logger: Logger,
  ) {}

  /**
   * The principal of a bearer JWT (cached once verified); throws OverloadError while the IdP
   * cannot be reached. `digest`: the token's SHA-256, when the caller has it already.
   */
  async authenticate(token: string, digest: Buffer = sha256(token)): Promise<Principal | AuthFailure> {
    const hit = this.cached(digest);
    if (hit !== undefined) return hit;
    const key = digestKey(digest);
    const verified = await this.verify(token, this.config.audience || undefined);
    if ('status' in verified) return verified;
    const outcome = this.principalOf(verified.claims);
    const exp = typeof verified.claims.exp === 'number' ? verified.claims.exp * 1000 : 0;
    this.verified.set(key, outcome, Math.min(exp, Date.now() + VERIFIED_TTL_MS));
    return outcome;
  }

  /** What a token already verified stands for (by its SHA-256), without a promise: the path of a repeated token. */
  cached(digest: Buffer): Principal | AuthFailure | undefined {
    return this.verified.get(digestKey(digest));
  }

  /**
   * Checks a JWT's signature against the issuer's keys and its `iss`, `aud` (when given),
   * `exp` (required) and `nbf`; returns its claims, or a 401 naming what is wrong (throws
   * OverloadError when the issuer cannot be reached).
   */
  async verify(token: string, audience: string | undefined): Promise<{ claims: JWTPayload } | AuthFailure> {
    const { metadata, keys } = await this.discover();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: metadata.issuer,
        ...(audience !== undefined && { audience }),
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      return { claims: payload };
    } catch (err) {
      return refusalOf(err);
    }
  }

  /** The tenants (tenant_claim) and rights (rights_claim, else default_rights) a verified token's claims give; 403 without a tenant. */
  principalOf(claims: JWTPayload): Principal | AuthFailure {
    const { tenant_claim: tenantClaim, rights_claim: rightsClaim } = this.config;
    const raw = claimOf(claims, tenantClaim);
    const names = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((t) => typeof t === 'string') ? (raw as string[]) : undefined;
    if (names === undefined || names.length === 0) {
      return { status: 403, message: `the token has no ${JSON.stringify(tenantClaim)} claim naming its tenant (a string, or an array of strings)` };
    }
    const tenants: string[] = [];
    for (const name of names) {
      const t = tenantFromHeader(name);
      if ('error' in t || name === '') return { status: 403, message: `the token's ${JSON.stringify(tenantClaim)} claim names an invalid tenant ID` };
      if (!tenants.includes(t.tenant)) tenants.push(t.tenant);
    }
    let rights: Right[] = this.config.default_rights;
    const listed = rightsClaim === '' ? undefined : claimOf(claims, rightsClaim);
    if (listed !== undefined) {
      // Other values (OAuth scopes such as `openid`) are not rights and are left out.
      const values = typeof listed === 'string' ? listed.split(' ') : Array.isArray(listed) ? listed : [];
      rights = RIGHTS.filter((r) => values.includes(r));
    }
    const subject = [claims.sub, claims['azp'], claims['client_id']].find((s): s is string => typeof s === 'string' && s !== '') ?? 'oidc';
    return Object.freeze({ subject, tenants: Object.freeze(tenants), rights: new Set(rights), peer: false });
  }

  /** The issuer's endpoints and keys: discovery once, again after a failure once DISCOVERY_RETRY_MS have passed. */
  discover(): Promise<Discovered> {
    if (this.discovered === undefined || (this.failedAt !== 0 && Date.now() - this.failedAt >= DISCOVERY_RETRY_MS)) {
      this.failedAt = 0;
      const attempt = this.fetchMetadata().then((metadata) => ({
        metadata,
        keys: createRemoteJWKSet(new URL(metadata.jwksUri), { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: JWKS_COOLDOWN_MS }),
      }));
      attempt.catch((err: unknown) => {
        this.failedAt = Date.now();
        this.logger.warn({ issuer: this.config.issuer_url, err: (err as Error).message }, 'auth.oidc: the issuer could not be discovered; tokens are refused retryably until it can');
      });
      this.discovered = attempt;
    }
    return this.discovered.catch((err: unknown) => {
      throw new OverloadError(`the identity provider could not be reached to check the token: ${(err as Error).message}`, RETRY_AFTER_SECONDS);
    });
  }

  close(): void {
    this.verified.clear();
  }

  private async fetchMetadata(): Promise<IssuerMetadata> {
    const configured = this.config.issuer_url;
    // Without a client ID only keys are needed, and jwks_url names them: no discovery.
    if (this.config.jwks_url !== '' && this.config.client_id === '') {
      return { issuer: configured, jwksUri: this.config.jwks_url, authorizationEndpoint: undefined, tokenEndpoint: undefined };
    }
    const url = `${configured.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    const doc = (await res.json()) as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof doc[k] === 'string' && doc[k] !== '' ? (doc[k] as string) : undefined);
    const issuer = str('issuer');
    // OpenID Connect Discovery: the document must name the issuer it was fetched for.
    if (issuer === undefined || issuer.replace(/\/+$/, '') !== configured.replace(/\/+$/, '')) {
      throw new Error(`${url} names issuer ${JSON.stringify(issuer)}, not auth.oidc.issuer_url ${JSON.stringify(configured)}`);
    }
    const jwksUri = this.config.jwks_url || str('jwks_uri');
    if (jwksUri === undefined) throw new Error(`${url} has no jwks_uri: set auth.oidc.jwks_url`);
    return { issuer, jwksUri, authorizationEndpoint: str('authorization_endpoint'), tokenEndpoint: str('token_endpoint') };
  }
}

/** A claim by its name, or, for a name with dots that is not a claim itself, by its path (`realm_access.roles`). */
function claimOf(claims: JWTPayload, name: string): unknown {
  if (name in claims) return claims[name];
  let v: unknown = claims;
  for (const part of name.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** What a failed verification tells the client; the IdP being unreachable is no fault of the token. */
function refusalOf(err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) return { status: 401, message: 'the token has expired' };
  if (err instanceof errors.JWTClaimValidationFailed) {
    const why = err.claim === 'nbf' ? 'is not valid yet (nbf)' : err.reason === 'missing' ? `has no ${err.claim} claim` : `has the wrong ${err.claim} claim`;
    return { status: 401, message: `the token ${why}` };
  }
  if (err instanceof errors.JWKSNoMatchingKey) return { status: 401, message: "the token is signed with a key the issuer does not publish (its kid is not in the issuer's JWKS)" };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { status: 401, message: 'the token signature is not valid' };
  if (err instanceof errors.JOSEAlgNotAllowed) return { status: 401, message: 'the token is signed with an algorithm not accepted here (public-key signatures only)' };
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC') || !(err instanceof errors.JOSEError)) {
    throw new OverloadError(`the identity provider's keys could not be fetched to check the token: ${(err as Error).message}`, RETRY_AFTER_SECONDS);
  }
  return { status: 401, message: `the token is not a valid JWT (${err.code})` };
}
