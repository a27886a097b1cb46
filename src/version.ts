// Skein's version, and the Tempo version it reports to Tempo clients.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export const SKEIN_VERSION = pkg.version;

/**
 * Grafana reads /api/status/buildinfo as a Tempo version and turns features on by it:
 * gRPC search streaming from 2.2.0, metrics streaming from 2.7.0. Skein serves neither
 * stream yet, so it reports 2.1.0 and Grafana keeps to the HTTP API Skein serves.
 */
export const TEMPO_COMPATIBLE_VERSION = '2.1.0';
