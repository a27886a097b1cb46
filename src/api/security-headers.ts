// Security headers on every response of the API listener, pages and API alike: the web UI
// loads nothing but its own files, so its Content-Security-Policy can allow nothing else,
// and an injected script could neither run nor send what it read anywhere.
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The UI's policy. Vite builds every script and stylesheet into files under /assets, and React
 * sets `style` props through the DOM (which CSP does not govern), so nothing inline is needed:
 * no 'unsafe-inline' anywhere. `data:` images: the favicon is an inline SVG.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
} as const;

/** Registers the headers; call before the access hook, so that its refusals carry them too. */
export function installSecurityHeaders(app: FastifyInstance, opts: { tls: boolean }): void {
  void app.register(helmet, {
    // Our list only: helmet's defaults would add upgrade-insecure-requests, which breaks a plain-HTTP deployment.
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    // Only a listener that speaks TLS may tell browsers to insist on it.
    strictTransportSecurity: opts.tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  });
}
