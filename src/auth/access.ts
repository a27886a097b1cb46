// Every HTTP route says who may call it (`config.access`), and one hook enforces it:
// a route that says nothing is refused at start-up, so none can be added without a check.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TENANT_HEADER } from '../lib/tenant.js';
import { isFailure, type Authenticator } from './authenticator.js';
import { NOBODY, OPEN_ACCESS, type Principal } from './principal.js';
import { resolveTenants } from './tenancy.js';
import type { Right } from '../config/security-schema.js';
import type { Logger } from '../telemetry/logger.js';
import { countRefusal } from './metrics.js';
import { cookieValue } from './cookies.js';
import { OverloadError } from '../lib/errors.js';

/**
 * `public`: anyone (health, the UI's static files, the sign-in routes). `signed-in`: any valid
 * credential, whatever its rights (the UI asking who it is signed in as); it acts for no tenant.
 * `write` / `read` / `admin`: a credential with that right. `peer`: a cluster peer only.
 * `metrics`: as auth.metrics says.
 */
export type Access = 'public' | 'signed-in' | Right | 'peer' | 'metrics';

/**
 * The header the web UI sends on every call. A state-changing request signed in by the session
 * cookie alone must carry it: a page on another site cannot add it without a CORS preflight,
 * which Skein never grants (belt and braces over the cookie's SameSite=Strict).
 */
export const UI_REQUEST_HEADER = 'x-skein-ui';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * How a route takes its tenants from X-Scope-OrgID. `one` (the default): exactly one, the
 * credential's own when there is no header. `several`: `a|b` allowed. `any`: `a|b` allowed,
 * and without a header every tenant the credential allows (`*` for an unrestricted one).
 */
export type TenantScope = 'one' | 'several' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    tenants?: TenantScope;
  }
  interface FastifyRequest {
    /** Who sent the request; OPEN_ACCESS on a listener that does not authenticate. */
    principal: Principal;
    /** The tenants the request acts for, checked against the principal (see TenantScope). */
    tenants: readonly string[] | '*';
  }
}

/** 400 malformed tenant header, 401 no valid credential, 403 not allowed, 503 the credential cannot be checked now. */
export type RefusalStatus = 400 | 401 | 403 | 503;

/** The reason a receiver counts a request refused by access control under (skein_receiver_refused_requests_total). */
export const REFUSAL_REASON: Readonly<Record<RefusalStatus, string>> = { 400: 'invalid_tenant', 401: 'unauthorized', 403: 'unauthorized', 503: 'auth_unavailable' };

export interface AccessOptions {
  authenticator: Authenticator;
  /** Who may read /metrics when the listener authenticates. */
  metricsAccess: 'open' | 'read' | 'admin';
  logger: Logger;
  listener: string;
  /** The session cookie's name, on the API listener. */
  sessionCookie?: string;
  /** Sends a refusal in the listener's own error format (OTLP's Status body); default plain text. 503 is retryable (Retry-After is set). */
  respond?: (req: FastifyRequest, reply: FastifyReply, status: RefusalStatus, message: string) => FastifyReply;
}

export function installAccessControl(app: FastifyInstance, opts: AccessOptions): void {
  const { authenticator } = opts;
  // Fastify wants reference-typed decorations set per request: the hook sets both on every one.
  app.decorateRequest('principal', null as unknown as Principal);
  app.decorateRequest('tenants', null as unknown as readonly string[]);
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) {
      const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
      throw new Error(`route ${methods} ${route.url} declares no access (config.access): say who may call it`);
    }
  });
  app.addHook('onRequest', async (req, reply) => {
    const open = authenticator.modes.length === 0;
    req.principal = open ? OPEN_ACCESS : NOBODY;
    req.tenants = open ? '*' : [];
    const config = req.routeOptions.config;
    const declared = config.access;
    // An unmatched URL has no route: the not-found handler answers it.
    if (declared === undefined || declared === 'public') return;
    const access = declared === 'metrics' ? (opts.metricsAccess === 'open' ? 'public' : opts.metricsAccess) : declared;
    if (access === 'public') return;

    let principal = OPEN_ACCESS;
    if (!open) {
      const authorization = req.headers.authorization;
      const session = opts.sessionCookie ? cookieValue(req.headers.cookie, opts.sessionCookie) : undefined;
      let result;
      try {
        result = await authenticator.authenticate({ authorization, session });
      } catch (err) {
        if (!(err instanceof OverloadError)) throw err;
        reply.header('retry-after', String(err.retryAfterSeconds));
        return refuse(req, reply, opts, 503, err.message, undefined);
      }
      if (isFailure(result)) return refuse(req, reply, opts, result.status, result.message, undefined);
      principal = result;
      const bySession = (authorization === undefined || authorization === '') && session !== undefined;
      if (bySession && !SAFE_METHODS.has(req.method) && req.headers[UI_REQUEST_HEADER] !== '1') {
        return refuse(req, reply, opts, 403, `a ${req.method} signed in by the web UI's session cookie must carry the header ${UI_REQUEST_HEADER}: 1`, principal);
      }
    }
    if (access === 'signed-in') {
      req.principal = principal;
      req.tenants = [];
      return;
    }
    if (access === 'peer' ? !principal.peer : !principal.rights.has(access)) {
      const message = access === 'peer' ? 'this route answers cluster peers only' : `this credential lacks the ${access} right`;
      return refuse(req, reply, opts, 403, message, principal);
    }
    req.principal = principal;
    const scope = config.tenants ?? 'one';
    const header = req.headers[TENANT_HEADER];
    if (scope === 'any' && (header === undefined || header === '')) {
      req.tenants = principal.tenants;
      return;
    }
    const resolved = resolveTenants(header, principal, scope !== 'one');
    if ('status' in resolved) return refuse(req, reply, opts, resolved.status, resolved.message, principal);
    req.tenants = resolved.tenants;
  });
}

function refuse(req: FastifyRequest, reply: FastifyReply, opts: AccessOptions, status: RefusalStatus, message: string, principal: Principal | undefined): FastifyReply {
  countRefusal(opts.listener, status);
  // The subject names who was refused; the credential itself is never logged.
  opts.logger.info({ listener: opts.listener, route: req.routeOptions.url, status, subject: principal?.subject, reason: message }, 'request refused');
  // One header line per scheme (reply.header with one value at a time would keep only the last). None
  // for the web UI, which shows its own sign-in page: a Basic challenge would pop up the browser's dialog.
  const challenges = status === 401 && req.headers[UI_REQUEST_HEADER] !== '1' ? opts.authenticator.challenges() : [];
  if (challenges.length > 0) reply.header('www-authenticate', challenges);
  if (opts.respond) return opts.respond(req, reply, status, message);
  return reply.code(status).type('text/plain').send(message);
}

/** The tenant of a request to a route whose TenantScope is `one` (the hook has checked there is exactly one). */
export function singleTenant(req: FastifyRequest): string {
  const t = req.tenants;
  if (t === '*' || t.length !== 1) throw new Error(`route ${req.routeOptions.url} acts for one tenant, but the request resolved to ${t === '*' ? 'every tenant' : t.join('|')}`);
  return t[0]!;
}

/** The tenants of a request to a route whose TenantScope is `one` or `several`: always named (only `any` may mean every tenant). */
export function namedTenants(req: FastifyRequest): readonly string[] {
  const t = req.tenants;
  if (t === '*' || t.length === 0) throw new Error(`route ${req.routeOptions.url} acts for named tenants, but the request resolved to ${t === '*' ? 'every tenant' : 'none'}`);
  return t;
}
