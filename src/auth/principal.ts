// Who a request comes from, once its credential has been checked: the tenants it
// may act for and what it may do there. The credential itself is never kept here.
import type { Right } from '../config/security-schema.js';

export type { Right };

export interface Principal {
  /** For logs and metrics: a token's name, a user name, a JWT's `sub`. Never the credential. */
  subject: string;
  /** The tenants it may act for; `*`: any (no authentication configured, or a cluster peer). */
  tenants: readonly string[] | '*';
  rights: ReadonlySet<Right>;
  /** A cluster peer (auth.peer_token): its x-skein-forwarded mark is believed, and it may call the internal routes. */
  peer: boolean;
}

const ALL_RIGHTS: ReadonlySet<Right> = new Set(['write', 'read', 'admin']);

/** Everyone, on a listener that does not authenticate: today's trusted-network behaviour. */
export const OPEN_ACCESS: Principal = Object.freeze({ subject: 'anonymous', tenants: '*', rights: ALL_RIGHTS, peer: true });

/** Whoever calls a public route of a listener that authenticates: nobody in particular. */
export const NOBODY: Principal = Object.freeze({ subject: 'anonymous', tenants: [], rights: new Set<Right>(), peer: false });

/** A cluster peer presenting auth.peer_token. */
export const PEER: Principal = Object.freeze({ subject: 'cluster-peer', tenants: '*', rights: ALL_RIGHTS, peer: true });

export function mayActFor(p: Principal, tenant: string): boolean {
  return p.tenants === '*' || p.tenants.includes(tenant);
}
