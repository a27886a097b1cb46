// The web UI: the files Vite built into dist/ui, served at `/`, plus the small
// JSON the UI reads at start (/api/skein/ui-config). Client routes (/search,
// /trace/{id}, …) all get index.html; the API's own prefixes never do, so an
// unknown API path still answers the API's plain-text 404.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SKEIN_VERSION } from '../../version.js';
import type { ApiContext } from '../context.js';

/** dist/ui, found from this file's compiled location (dist/src/api/routes). */
export const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'ui');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Paths that belong to the API (or to receivers sharing a port in some setups):
// a miss there is an API 404, never the UI's index.html.
const API_PREFIXES = ['/api/', '/v1/', '/metrics', '/ready', '/flush', '/otlp', '/debug'];

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  /** Vite puts content-hashed files under assets/: they never change. */
  immutable: boolean;
}

/** Every built file, read once: the bundle is a few hundred KB, and serving from memory needs no path checks. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        walk(p);
        continue;
      }
      const urlPath = '/' + relative(dir, p).split(sep).join('/');
      const body = readFileSync(p);
      const type = TYPES[extname(p)] ?? 'application/octet-stream';
      const compressible = /text|javascript|json|svg/.test(type) && body.length > 1024;
      assets.set(urlPath, { body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, type, immutable: urlPath.startsWith('/assets/') });
    }
  };
  walk(dir);
  return assets;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Skein</title>
<p>The Skein web UI has not been built. Run <code>npm run build</code> (or <code>npm start</code>, which builds it) and reload.</p>`;

export function registerUiRoutes(app: FastifyInstance, ctx: ApiContext, dir: string = UI_DIR): void {
  const assets = loadAssets(dir);

  const authEnabled = ctx.auth.forListener('api').modes.length > 0;
  const oidc = ctx.config.auth.oidc;
  app.get('/api/skein/ui-config', { config: { access: 'public' } }, async () => ({
    version: SKEIN_VERSION,
    logsUrlTemplate: ctx.config.ui.logs_url_template,
    hotPaths: ctx.config.ui.hot_paths,
    auth: {
      enabled: authEnabled,
      // The "Sign in with <issuer>" button (authorization code flow, GET /api/skein/auth/oidc/login).
      oidcIssuer: authEnabled && oidc.client_id !== '' && oidc.issuer_url !== '' ? new URL(oidc.issuer_url).host : '',
    },
  }));

  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply => {
    reply.type(asset.type).header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (asset.gzip) {
      reply.header('vary', 'accept-encoding');
      if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        return reply.header('content-encoding', 'gzip').send(asset.gzip);
      }
    }
    return reply.send(asset.body);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0] ?? '/');
    } catch {
      return reply.code(400).type('text/plain').send('malformed percent-encoding in the path');
    }
    if (API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) {
      return reply.code(404).type('text/plain').send(`no route for ${req.method} ${path}`);
    }
    const file = assets.get(path);
    if (file && path !== '/index.html') return send(req, reply, file);
    // A missing hashed asset is a real 404: answering index.html would be parsed as a script.
    if (path.startsWith('/assets/') || extname(path) !== '') {
      return reply.code(404).type('text/plain').send(`no such file: ${path}`);
    }
    const index = assets.get('/index.html');
    if (!index) return reply.code(200).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT);
    return send(req, reply, index);
  };

  // find-my-way prefers static and parametric routes over a wildcard, so this
  // only sees paths no API route claims.
  app.get('/', { config: { access: 'public' } }, handler);
  app.get('/*', { config: { access: 'public' } }, handler);
}
