// Tenant IDs name directories, so they are checked as Tempo checks X-Scope-OrgID.

export const DEFAULT_TENANT = 'single-tenant';
export const TENANT_HEADER = 'x-scope-orgid';

const TENANT_RE = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

/** The tenant of a request's X-Scope-OrgID value, or an error message naming the problem. */
export function tenantFromHeader(value: string | string[] | undefined): { tenant: string } | { error: string } {
  if (value === undefined || value === '') return { tenant: DEFAULT_TENANT };
  if (Array.isArray(value)) return { error: 'X-Scope-OrgID: only one tenant may be given' };
  if (!TENANT_RE.test(value) || value === '.' || value === '..') {
    return { error: `X-Scope-OrgID: invalid tenant ID ${JSON.stringify(value.slice(0, 160))} (1–150 characters of A-Z a-z 0-9 ! - _ . * ' ( ))` };
  }
  return { tenant: value };
}
