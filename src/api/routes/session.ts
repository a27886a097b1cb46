// The web UI's sign-in: POST /api/skein/session trades a token for a session cookie
// (HttpOnly, so the page's scripts never hold the credential), DELETE signs out, and
// GET /api/skein/whoami tells the UI who it is signed in as and for which tenants.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { cookieValue } from '../../auth/cookies.js';
import { isFailure } from '../../auth/authenticator.js';
import { countRefusal } from '../../auth/metrics.js';
import type { Principal } from '../../auth/principal.js';
import { endedSessionCookie, SESSION_COOKIE, sessionCookie } from '../../auth/sessions.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../params.js';

/** A sign-in body is one token: a JWT is a few KB at most. */
const MAX_BODY_BYTES = 16 * 1024;

export interface WhoAmI {
  subject: string;
  /** `*`: any tenant (no authentication on the API listener). */
  tenants: readonly string[] | '*';
  rights: string[];
  /** Whether the API listener authenticates; false: the UI shows no sign-in. */
  authEnabled: boolean;
}

export function registerSessionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const authenticator = ctx.auth.forListener('api');
  const sessions = ctx.auth.sessions;
  const authEnabled = authenticator.modes.length > 0;
  // The browser must send the cookie back only over the TLS it came by.
  const secure = ctx.config.server.tls !== undefined;
  const log = ctx.logger.child({ component: 'auth' });

  const whoami = (p: Principal): WhoAmI => ({ subject: p.subject, tenants: p.tenants, rights: [...p.rights].sort(), authEnabled });

  const refuse = (reply: FastifyReply, status: 401 | 403, message: string, subject?: string): FastifyReply => {
    countRefusal('api', status);
    log.info({ listener: 'api', route: '/api/skein/session', status, subject, reason: message }, 'sign-in refused');
    return reply.code(status).type('text/plain').send(message);
  };

  app.post<{ Body: unknown }>('/api/skein/session', { config: { access: 'public' }, bodyLimit: MAX_BODY_BYTES }, async (req, reply) => {
    if (!authEnabled || !sessions) {
      return badRequest(reply, 'sign-in is off: the API listener does not authenticate (see auth in the configuration)');
    }
    // JSON only: a form on another site can post text/plain without a preflight, and a
    // sign-in it forced would put the victim in the attacker's account.
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
      return reply.code(415).type('text/plain').send('send the token as JSON: {"token": "…"} with Content-Type: application/json');
    }
    const body = req.body as { token?: unknown } | null;
    const token = typeof body?.token === 'string' ? body.token.trim() : '';
    if (token === '') return badRequest(reply, 'give a token: {"token": "…"}');
    const result = await authenticator.authenticate({ authorization: `Bearer ${token}` });
    if (isFailure(result)) return refuse(reply, 401, result.status === 401 ? 'this token is not valid here' : result.message);
    if (result.peer) return refuse(reply, 403, "the cluster's peer token cannot sign in to the web UI", result.subject);
    // A new sign-in replaces the browser's previous session rather than leaving it behind.
    const previous = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (previous !== undefined) sessions.end(previous);
    const id = sessions.create(result);
    log.info({ subject: result.subject }, 'signed in to the web UI');
    reply.header('set-cookie', sessionCookie(id, { maxAgeSeconds: sessions.ttlSeconds, secure }));
    reply.header('cache-control', 'no-store');
    return whoami(result);
  });

  app.delete('/api/skein/session', { config: { access: 'public' } }, async (req, reply) => {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const principal = id === undefined ? undefined : sessions?.principalOf(id);
    if (id !== undefined) sessions?.end(id);
    if (principal) log.info({ subject: principal.subject }, 'signed out of the web UI');
    return reply.header('set-cookie', endedSessionCookie({ secure })).code(204).send();
  });

  app.get('/api/skein/whoami', { config: { access: 'signed-in' } }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return whoami(req.principal);
  });
}
