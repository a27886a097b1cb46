// The web UI's OIDC sign-in routes (src/auth/oidc-login.ts does the protocol): the login
// route sends the browser to the identity provider, the callback route turns what comes
// back into a session cookie and sends the browser home. Both are public: they are how a
// browser without a credential gets one.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cookieValue, setCookie } from '../../auth/cookies.js';
import { CALLBACK_PATH, LOGIN_COOKIE, LOGIN_COOKIE_PATH, LOGIN_PATH, LOGIN_TTL_SECONDS } from '../../auth/oidc-login.js';
import { sessionCookie } from '../../auth/sessions.js';
import { OverloadError } from '../../lib/errors.js';
import type { ApiContext } from '../context.js';

interface CallbackQuery {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
}

export function registerOidcLoginRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const notConfigured = (reply: FastifyReply) => reply.code(404).type('text/plain').send('OIDC sign-in is not configured: set auth.oidc.issuer_url and auth.oidc.client_id');

  app.get<{ Querystring: { return_to?: string } }>(LOGIN_PATH, { config: { access: 'public' } }, async (req, reply) => {
    const login = ctx.auth.oidcLogin;
    if (!login) return notConfigured(reply);
    let started;
    try {
      // The IdP sends the browser back to the origin it came from: the URI must be registered there.
      started = await login.start(`${origin(req)}${CALLBACK_PATH}`, req.query.return_to);
    } catch (err) {
      return unavailable(reply, err);
    }
    reply.header('set-cookie', setCookie(LOGIN_COOKIE, started.cookie, { maxAgeSeconds: LOGIN_TTL_SECONDS, sameSite: 'Lax', secure: secure(req), path: LOGIN_COOKIE_PATH }));
    reply.header('cache-control', 'no-store');
    return reply.redirect(started.location, 302);
  });

  app.get<{ Querystring: CallbackQuery }>(CALLBACK_PATH, { config: { access: 'public' } }, async (req, reply) => {
    const login = ctx.auth.oidcLogin;
    const sessions = ctx.auth.sessions;
    if (!login || !sessions) return notConfigured(reply);
    const q = req.query;
    // Used once, whatever the outcome: a callback cannot be replayed with it.
    const cookies = [setCookie(LOGIN_COOKIE, '', { maxAgeSeconds: 0, sameSite: 'Lax', secure: secure(req), path: LOGIN_COOKIE_PATH })];
    reply.header('cache-control', 'no-store');
    let outcome;
    try {
      outcome = await login.finish(
        { code: str(q.code), state: str(q.state), error: str(q.error), error_description: str(q.error_description) },
        cookieValue(req.headers.cookie, LOGIN_COOKIE),
      );
    } catch (err) {
      reply.header('set-cookie', cookies);
      return unavailable(reply, err);
    }
    if ('status' in outcome) {
      reply.header('set-cookie', cookies);
      ctx.logger.info({ component: 'auth', listener: 'api', route: CALLBACK_PATH, status: outcome.status, reason: outcome.message }, 'OIDC sign-in refused');
      return reply.code(outcome.status).type('text/plain').send(`sign-in failed: ${outcome.message}`);
    }
    const id = sessions.create(outcome.principal);
    cookies.push(sessionCookie(id, { maxAgeSeconds: sessions.ttlSeconds, secure: secure(req) }));
    ctx.logger.info({ component: 'auth', subject: outcome.principal.subject }, 'signed in with OIDC');
    reply.header('set-cookie', cookies);
    return reply.redirect(outcome.returnTo, 302);
  });
}

function origin(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

/** Cookies are marked Secure on a listener that speaks TLS, so a browser never sends them in clear. */
function secure(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function unavailable(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof OverloadError)) throw err;
  return reply.code(503).header('retry-after', String(err.retryAfterSeconds)).type('text/plain').send(`sign-in unavailable: ${err.message}`);
}
