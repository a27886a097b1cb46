// The cookies of sign-in: read from a request's Cookie header and written as
// Set-Cookie values, HttpOnly always, so no script of a page can read them.

export interface CookieOptions {
  /** Seconds the browser keeps it; 0 deletes it. */
  maxAgeSeconds: number;
  /**
   * `Strict` for the session (never sent on a request another site started); `Lax` for the
   * sign-in's own state, which must come back on the identity provider's redirect (a
   * top-level GET from another site).
   */
  sameSite: 'Strict' | 'Lax';
  /** Only over HTTPS: set when the listener speaks TLS. */
  secure: boolean;
  path: string;
}

/** A cookie's value in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A Set-Cookie header value. */
export function setCookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path}`, `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`, 'HttpOnly', `SameSite=${opts.sameSite}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
