// Web UI sign-ins: a random session ID in an HttpOnly cookie stands for the principal a
// credential proved, so the credential never sits where a page's scripts could read it.
// Kept in memory: a restart signs everyone out, and each instance of a cluster keeps its own.
import { randomBytes } from 'node:crypto';
import type { Principal } from './principal.js';
import { setCookie } from './cookies.js';

export const SESSION_COOKIE = 'skein_session';
/** Sessions held at once; the oldest goes first beyond it, so sign-ins cannot grow memory without bound. */
const MAX_SESSIONS = 10_000;

interface Session {
  principal: Principal;
  expiresAt: number;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  /** A new session for `principal`; returns its ID (the cookie's value). */
  create(principal: Principal): string {
    const id = randomBytes(32).toString('base64url');
    if (this.byId.size >= MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value!);
    this.byId.set(id, { principal, expiresAt: this.now() + this.ttlMs });
    return id;
  }

  principalOf(id: string): Principal | undefined {
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return s.principal;
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  get ttlSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}

/**
 * The Set-Cookie value carrying a session: HttpOnly (no script reads it), SameSite=Strict (no
 * other site's page sends it), Secure when the API listener speaks TLS, gone after the session's
 * lifetime. Every route that signs someone in (token, OIDC) sets it through this.
 */
export function sessionCookie(id: string, opts: { maxAgeSeconds: number; secure: boolean }): string {
  return setCookie(SESSION_COOKIE, id, { ...opts, sameSite: 'Strict', path: '/' });
}

/** The Set-Cookie value that removes the session cookie (signing out). */
export function endedSessionCookie(opts: { secure: boolean }): string {
  return sessionCookie('', { maxAgeSeconds: 0, secure: opts.secure });
}
