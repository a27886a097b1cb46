// Builds the process's authentication from the config's `auth` section: which credentials
// each listener accepts, and the principal each one stands for.
//
// `Authorization: Bearer` carries three kinds of token: the cluster's peer_token (checked
// first, in constant time), a JWT (compact form: three dot-separated parts, a JSON header
// first) for OIDC when the listener accepts it, and otherwise a static token
// (bearer_tokens, token_file).
import { timingSafeEqual } from 'node:crypto';
import type { SkeinConfig } from '../config/schema.js';
import { configuredAuthModes, listenerAuthModes, type Listener } from '../config/security-schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Auth, AuthFailure, Authenticator, RequestCredentials } from './authenticator.js';
import { OPEN_ACCESS, PEER, type Principal } from './principal.js';
import { BearerTokens } from './bearer.js';
import { BasicUsers } from './basic.js';
import { looksLikeJwt, OidcIssuer } from './oidc.js';
import { OidcLogin } from './oidc-login.js';
import { Sessions } from './sessions.js';
import { sha256 } from './digest.js';

/** A listener that does not authenticate: every request may do anything, for any tenant it names. */
export const OPEN_AUTHENTICATOR: Authenticator = Object.freeze({
  modes: [],
  authenticate: async () => OPEN_ACCESS,
  challenges: () => [],
});

/** No authentication configured anywhere (the default: listeners bind to loopback). */
export const OPEN_AUTH: Auth = Object.freeze({ forListener: () => OPEN_AUTHENTICATOR, sessions: undefined, oidcLogin: undefined, close: async () => {} });

export async function createAuth(config: SkeinConfig, logger: Logger): Promise<Auth> {
  const auth = config.auth;
  const modes = configuredAuthModes(auth);
  if (modes.length === 0) return OPEN_AUTH;
  const log = logger.child({ component: 'auth' });
  const bearer = modes.includes('bearer') ? new BearerTokens(auth.bearer_tokens, auth.token_file, log) : undefined;
  let basic: BasicUsers | undefined;
  try {
    basic = modes.includes('basic') ? new BasicUsers(auth.basic, log) : undefined;
  } catch (err) {
    bearer?.close();
    throw err;
  }
  const oidc = modes.includes('oidc') ? new OidcIssuer(auth.oidc, log) : undefined;
  const oidcLogin = oidc && auth.oidc.client_id !== '' ? new OidcLogin(oidc, auth.oidc, log) : undefined;
  const peerDigest = auth.peer_token === '' ? undefined : sha256(auth.peer_token);
  const sessions = new Sessions(auth.session_ttl);

  const forListener = (listener: Listener): Authenticator => {
    const accepted = listenerAuthModes(auth, listener);
    if (accepted.length === 0) return OPEN_AUTHENTICATOR;
    const schemes = accepted.includes('basic') ? (accepted.length > 1 ? ['Bearer', 'Basic'] : ['Basic']) : ['Bearer'];
    const acceptsJwt = oidc !== undefined && accepted.includes('oidc');
    const acceptsStatic = bearer !== undefined && accepted.includes('bearer');
    return {
      modes: accepted,
      challenges: () => schemes.map((s) => (s === 'Basic' ? 'Basic realm="skein", charset="UTF-8"' : 'Bearer realm="skein"')),
      authenticate: async (creds: RequestCredentials): Promise<Principal | AuthFailure> => {
        const header = creds.authorization;
        if ((header === undefined || header === '') && creds.session !== undefined && listener === 'api') {
          return sessions.principalOf(creds.session) ?? { status: 401, message: 'the sign-in has expired: sign in again' };
        }
        if (header === undefined || header === '') return { status: 401, message: `authentication required: send Authorization: ${schemes.join(' or ')}` };
        const space = header.indexOf(' ');
        const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
        const value = space < 0 ? '' : header.slice(space + 1).trim();
        if (scheme === 'bearer' && value !== '') {
          // One hash per request: the peer token, static tokens and OIDC's cache are all looked up by it.
          const digest = sha256(value);
          // Peers reach every listener their cluster uses, whatever modes it accepts.
          if (peerDigest !== undefined && timingSafeEqual(digest, peerDigest)) return PEER;
          if (acceptsJwt && looksLikeJwt(value)) return oidc.cached(digest) ?? oidc.authenticate(value, digest);
          if (acceptsStatic) return bearer.principalOfDigest(digest) ?? { status: 401, message: 'the bearer token is not valid here' };
          return { status: 401, message: acceptsJwt ? 'the bearer token is not a JWT, and this listener takes only OIDC tokens' : 'this listener does not take bearer tokens: use Basic' };
        }
        if (scheme === 'basic' && value !== '' && basic !== undefined && accepted.includes('basic')) return basic.authenticate(value);
        return { status: 401, message: `unsupported Authorization scheme ${JSON.stringify(scheme.slice(0, 20))}: use ${schemes.join(' or ')}` };
      },
    };
  };
  return {
    forListener,
    sessions,
    oidcLogin,
    close: async () => {
      bearer?.close();
      basic?.close();
      oidc?.close();
    },
  };
}
