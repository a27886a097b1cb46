// The collector's basicauth: `Authorization: Basic base64(user:password)`, users from an
// htpasswd file of bcrypt entries (read again when it changes), each user's tenants and
// rights from the config. bcrypt costs tens of milliseconds on purpose, so a proven
// (user, password) is remembered for a while (VerifiedCache, keyed with the stored hash, so
// a changed password in the file is checked again), and only so many checks run at once:
// beyond that a request is refused retryably rather than queued behind a flood of guesses.
import bcrypt from 'bcryptjs';
import type { AuthConfig } from '../config/security-schema.js';
import { OverloadError } from '../lib/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { AuthFailure } from './authenticator.js';
import type { Principal } from './principal.js';
import { credentialKey, VerifiedCache } from './verified-cache.js';
import { watchedFile, type WatchedFile } from '../lib/watched-file.js';

/** How long a proven password is believed without bcrypt again. */
const VERIFIED_TTL_MS = 5 * 60_000;
const VERIFIED_MAX = 10_000;
/** bcrypt checks running at once (each takes a share of the one JavaScript thread); more are refused with 503. */
const MAX_CHECKS_IN_FLIGHT = 8;
const RETRY_AFTER_SECONDS = 1;
/** htpasswd -B writes $2y$; other bcrypt implementations $2a$ or $2b$: the same algorithm. */
const BCRYPT_RE = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

export type Htpasswd = ReadonlyMap<string, string>;

/** A bcrypt htpasswd file's users and hashes; any other kind of entry is refused, naming its line. */
export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`line ${i + 1}: expected user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT_RE.test(hash)) {
      throw new Error(`line ${i + 1} (user ${JSON.stringify(user)}): ${hashKind(hash)} is not accepted; only bcrypt entries ($2y$, $2a$, $2b$): create them with htpasswd -B`);
    }
    if (users.has(user)) throw new Error(`line ${i + 1}: user ${JSON.stringify(user)} is listed twice`);
    users.set(user, hash);
  });
  return users;
}

function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'an MD5 entry ($apr1$, htpasswd -m)';
  if (hash.startsWith('{SHA}')) return 'a SHA-1 entry ({SHA}, htpasswd -s)';
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return 'a SHA-crypt entry ($5$/$6$)';
  if (hash.startsWith('$2')) return 'a malformed bcrypt entry';
  return 'a crypt or plain-text entry';
}

export class BasicUsers {
  private readonly file: WatchedFile<Htpasswd>;
  private readonly principals = new Map<string, Principal>();
  private readonly verified = new VerifiedCache<true>(VERIFIED_MAX);
  private checking = 0;

  constructor(config: AuthConfig['basic'], logger: Logger) {
    this.file = watchedFile(
      config.htpasswd_file,
      (text) => {
        const users = parseHtpasswd(text);
        const unassigned = [...users.keys()].filter((u) => config.tenants[u] === undefined);
        // User names are no secret; their passwords never leave this module.
        if (unassigned.length > 0) logger.warn({ users: unassigned }, 'auth.basic: these users have no tenant in auth.basic.tenants; their requests are refused (403)');
        return users;
      },
      { intervalMs: 2000, logger, what: 'auth.basic.htpasswd_file' },
    );
    for (const [user, tenants] of Object.entries(config.tenants)) {
      this.principals.set(
        user,
        Object.freeze({
          subject: user,
          tenants: Object.freeze(typeof tenants === 'string' ? [tenants] : [...tenants]),
          rights: new Set(config.rights[user] ?? config.default_rights),
          peer: false,
        }),
      );
    }
  }

  /** The principal of a Basic credential's base64 part. */
  async authenticate(encoded: string): Promise<Principal | AuthFailure> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { status: 401, message: 'the Basic credential is not base64 of user:password' };
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.file.current().get(user);
    // An unknown user and a wrong password get the same answer, so names cannot be probed.
    const wrong: AuthFailure = { status: 401, message: 'the user name or password is not valid' };
    if (hash === undefined) return wrong;
    const key = credentialKey(user, password, hash);
    if (this.verified.get(key) === undefined) {
      if (this.checking >= MAX_CHECKS_IN_FLIGHT) throw new OverloadError('too many password checks at once; retry later', RETRY_AFTER_SECONDS);
      this.checking++;
      let ok: boolean;
      try {
        ok = await bcrypt.compare(password, hash);
      } finally {
        this.checking--;
      }
      if (!ok) return wrong;
      this.verified.set(key, true, Date.now() + VERIFIED_TTL_MS);
    }
    return this.principals.get(user) ?? { status: 403, message: `user ${JSON.stringify(user)} has no tenant: list it under auth.basic.tenants` };
  }

  close(): void {
    this.file.close();
    this.verified.clear();
  }
}
