// What a listener asks of authentication: turn a request's credential into a Principal.
import type { AuthMode, Listener } from '../config/security-schema.js';
import type { Principal } from './principal.js';
import type { Sessions } from './sessions.js';
import type { OidcLogin } from './oidc-login.js';

/** 401: no usable credential (missing, malformed, unknown, expired); 403: a valid one without the right. */
export interface AuthFailure {
  status: 401 | 403;
  /** Says what is wrong, never echoing the credential. */
  message: string;
}

export interface RequestCredentials {
  /** The Authorization header (HTTP) or metadata value (gRPC). */
  authorization: string | undefined;
  /** The web UI's session cookie, on the API listener. */
  session?: string | undefined;
}

export interface Authenticator {
  /** The modes this listener accepts; empty: it does not authenticate, and every request has OPEN_ACCESS. */
  readonly modes: readonly AuthMode[];
  /** Throws OverloadError when the credential cannot be checked now (the identity provider is unreachable): a retryable refusal. */
  authenticate(credentials: RequestCredentials): Promise<Principal | AuthFailure>;
  /** WWW-Authenticate values for a 401 (one per accepted scheme). */
  challenges(): string[];
}

/** Authentication for every listener of one process, built from the config's `auth` section. */
export interface Auth {
  forListener(listener: Listener): Authenticator;
  /** The web UI's sign-ins (API listener); undefined while nothing authenticates. */
  readonly sessions: Sessions | undefined;
  /** The web UI's OIDC sign-in (authorization code + PKCE), when auth.oidc.client_id is set. */
  readonly oidcLogin: OidcLogin | undefined;
  /** Stops watching token and htpasswd files and refreshing keys. */
  close(): Promise<void>;
}

export function isFailure(r: Principal | AuthFailure): r is AuthFailure {
  return 'status' in r;
}
