// Builds the process's authentication from the config's `auth` section: which credentials
// each listener accepts, and the principal each one stands for.
import type { SkeinConfig } from '../config/schema.js';
import { AUTH_MODES, type AuthMode, type Listener } from '../config/security-schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Auth, AuthFailure, Authenticator, RequestCredentials } from './authenticator.js';
import { OPEN_ACCESS, PEER, type Principal } from './principal.js';
import { BearerTokens } from './bearer.js';
import { Sessions } from './sessions.js';

/** A listener that does not authenticate: every request may do anything, for any tenant it names. */
export const OPEN_AUTHENTICATOR: Authenticator = Object.freeze({
  modes: [],
  authenticate: async () => OPEN_ACCESS,
  challenges: () => [],
});

/** No authentication configured anywhere (the default: listeners bind to loopback). */
export const OPEN_AUTH: Auth = Object.freeze({ forListener: () => OPEN_AUTHENTICATOR, sessions: undefined, close: async () => {} });

/** The modes the `auth` section configures. */
export function configuredModes(auth: SkeinConfig['auth']): AuthMode[] {
  const on: Record<AuthMode, boolean> = {
    bearer: auth.bearer_tokens.length > 0 || auth.token_file !== '',
    basic: auth.basic.htpasswd_file !== '',
    oidc: auth.oidc.issuer_url !== '',
  };
  return AUTH_MODES.filter((m) => on[m]);
}

export async function createAuth(config: SkeinConfig, logger: Logger): Promise<Auth> {
  const auth = config.auth;
  const modes = configuredModes(auth);
  if (modes.length === 0) return OPEN_AUTH;
  const log = logger.child({ component: 'auth' });
  const bearer = modes.includes('bearer') ? new BearerTokens(auth.bearer_tokens, auth.token_file, log) : undefined;
  const peerToken = auth.peer_token;
  const sessions = new Sessions(auth.session_ttl);

  const forListener = (listener: Listener): Authenticator => {
    const accepted = auth.listeners[listener] ?? modes;
    if (accepted.length === 0) return OPEN_AUTHENTICATOR;
    const schemes = new Set(accepted.map((m) => (m === 'basic' ? 'basic' : 'bearer')));
    return {
      modes: accepted,
      challenges: () => [...schemes].map((s) => (s === 'basic' ? 'Basic realm="skein", charset="UTF-8"' : 'Bearer realm="skein"')),
      authenticate: async (creds: RequestCredentials): Promise<Principal | AuthFailure> => {
        const header = creds.authorization;
        if ((header === undefined || header === '') && creds.session !== undefined && listener === 'api') {
          return sessions.principalOf(creds.session) ?? { status: 401, message: 'the sign-in has expired: sign in again' };
        }
        if (header === undefined || header === '') return { status: 401, message: 'authentication required: send Authorization: Bearer <token>' };
        const space = header.indexOf(' ');
        const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
        const value = space < 0 ? '' : header.slice(space + 1).trim();
        if (scheme === 'bearer' && value !== '') {
          if (peerToken !== '' && value === peerToken) return PEER;
          if (accepted.includes('bearer')) {
            const p = bearer?.principalOf(value);
            if (p) return p;
          }
          return { status: 401, message: 'the bearer token is not valid here' };
        }
        return { status: 401, message: `unsupported Authorization scheme ${JSON.stringify(scheme.slice(0, 20))}: use ${[...schemes].map((s) => (s === 'basic' ? 'Basic' : 'Bearer')).join(' or ')}` };
      },
    };
  };
  return {
    forListener,
    sessions,
    close: async () => {
      bearer?.close();
    },
  };
}
