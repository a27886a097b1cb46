// Who the UI is signed in as, and for which tenant it asks. With authentication off the UI
// is open, as it always was. With it on, a 401 from any call shows the sign-in page; signing
// in trades a token for an HttpOnly session cookie, so no script ever holds the credential.
import { useEffect, useState } from 'react';
import { apiFetch, onUnauthorized, setTenant, uiConfig, type WhoAmI } from './api';

export type Session =
  | { status: 'loading' }
  /** No authentication: every page as before, no sign-in, no tenant picker. */
  | { status: 'open' }
  | { status: 'signed-out' }
  | { status: 'signed-in'; who: WhoAmI; tenant: string | undefined };

let session: Session = { status: 'loading' };
const listeners = new Set<(s: Session) => void>();
/** The tenant last picked, kept while a session that ran out is signed in again (not after signing out). */
let lastTenant: string | undefined;

function update(next: Session): void {
  session = next;
  if (next.status === 'signed-in') lastTenant = next.tenant;
  setTenant(next.status === 'signed-in' ? next.tenant : undefined);
  for (const l of [...listeners]) l(next);
}

/** The tenants a principal may pick from; empty when it may act for any (no header is sent then). */
export function tenantsOf(who: WhoAmI): string[] {
  return who.tenants === '*' ? [] : who.tenants;
}

function signedIn(who: WhoAmI): void {
  if (!who.authEnabled) return update({ status: 'open' });
  const tenants = tenantsOf(who);
  // Back to the tenant picked before the session ran out, if the new sign-in may act for it.
  update({ status: 'signed-in', who, tenant: lastTenant !== undefined && tenants.includes(lastTenant) ? lastTenant : tenants[0] });
}

let started = false;
function start(): void {
  if (started) return;
  started = true;
  onUnauthorized(() => {
    if (session.status !== 'signed-out') update({ status: 'signed-out' });
  });
  void uiConfig().then(async (config) => {
    if (!config.auth.enabled) return update({ status: 'open' });
    const res = await apiFetch('/api/skein/whoami').catch(() => undefined);
    if (res?.ok) signedIn((await res.json()) as WhoAmI);
    else update({ status: 'signed-out' });
  });
}

export function useSession(): Session {
  const [s, setS] = useState(session);
  useEffect(() => {
    listeners.add(setS);
    start();
    setS(session);
    return () => void listeners.delete(setS);
  }, []);
  return s;
}

/** Signs in with a token; resolves to an error message to show, or undefined once signed in. */
export async function signIn(token: string): Promise<string | undefined> {
  let res: Response;
  try {
    res = await apiFetch('/api/skein/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  } catch {
    return 'Skein did not answer; try again';
  }
  if (!res.ok) return (await res.text()).trim() || `sign-in failed (${res.status})`;
  signedIn((await res.json()) as WhoAmI);
  return undefined;
}

export async function signOut(): Promise<void> {
  // Signed out on screen even if the server cannot be reached: the cookie then lasts until it expires.
  await apiFetch('/api/skein/session', { method: 'DELETE' }).catch(() => undefined);
  lastTenant = undefined;
  update({ status: 'signed-out' });
}

export function pickTenant(tenant: string): void {
  if (session.status === 'signed-in' && tenantsOf(session.who).includes(tenant)) update({ ...session, tenant });
}
