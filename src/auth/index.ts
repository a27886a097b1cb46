// Builds the process's authentication from the config's `auth` section.
import type { SkeinConfig } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { Auth, Authenticator } from './authenticator.js';
import { OPEN_ACCESS } from './principal.js';

/** A listener that does not authenticate: every request may do anything, for any tenant it names. */
export const OPEN_AUTHENTICATOR: Authenticator = Object.freeze({
  modes: [],
  authenticate: async () => OPEN_ACCESS,
  challenges: () => [],
});

/** No authentication configured anywhere (the default: listeners bind to loopback). */
export const OPEN_AUTH: Auth = Object.freeze({ forListener: () => OPEN_AUTHENTICATOR, close: async () => {} });

// SKELETON (issue 12): the bearer, basic and OIDC authenticators replace this.
export async function createAuth(_config: SkeinConfig, _logger: Logger): Promise<Auth> {
  return OPEN_AUTH;
}
