// Which tenants a request acts for: X-Scope-OrgID (Tempo's `a|b` federation for reads),
// checked against what the credential allows.
import { DEFAULT_TENANT, tenantFromHeader } from '../lib/tenant.js';
import { mayActFor, type Principal } from './principal.js';

export type TenantsOutcome =
  | { tenants: string[] }
  /** 400: the header is malformed or ambiguous; 403: it names a tenant the credential does not allow. */
  | { status: 400 | 403; message: string };

/**
 * `several`: whether the route reads several tenants at once (reads do; writes, flushes and
 * the UI's per-tenant views act for exactly one).
 */
export function resolveTenants(header: string | string[] | undefined, principal: Principal, several: boolean): TenantsOutcome {
  if (header === undefined || header === '') {
    if (principal.tenants === '*') return { tenants: [DEFAULT_TENANT] };
    if (principal.tenants.length === 1) return { tenants: [principal.tenants[0]!] };
    return {
      status: 400,
      message: `X-Scope-OrgID: this credential acts for several tenants (${principal.tenants.join(', ')}): name one${several ? ', or several as a|b' : ''}`,
    };
  }
  if (Array.isArray(header)) return { status: 400, message: 'X-Scope-OrgID: send the header once (several tenants are written a|b)' };
  const names = header.split('|');
  if (names.length > 1 && !several) {
    return { status: 400, message: `X-Scope-OrgID: ${JSON.stringify(header.slice(0, 160))} names several tenants; this route acts for one` };
  }
  const tenants: string[] = [];
  for (const name of names) {
    const t = tenantFromHeader(name);
    if ('error' in t) return { status: 400, message: t.error };
    if (!mayActFor(principal, t.tenant)) {
      return { status: 403, message: `X-Scope-OrgID: this credential does not allow tenant ${JSON.stringify(t.tenant)}` };
    }
    if (!tenants.includes(t.tenant)) tenants.push(t.tenant);
  }
  return { tenants };
}
