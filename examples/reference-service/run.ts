#!/usr/bin/env node
// `npm run example` (through start.mjs): the reference API on 127.0.0.1:8080 and its backend
// on 127.0.0.1:8081, exporting spans to the Skein `skein serve` would run in this shell
// (SKEIN_OTLP_GRPC_ADDR, SKEIN_CONFIG …; OTLP gRPC 127.0.0.1:4317 by default) unless
// OTEL_EXPORTER_OTLP_ENDPOINT says otherwise, and pointing at that Skein's UI and API.
import { settingsFromEnv } from '@skein/instrument';
import { localSkein } from '../../src/cli/local-server.js';
import { CliError } from '../../src/cli/cli-error.js';
import { launchReferenceService } from './launch.js';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name}=${JSON.stringify(raw)} is not a port number`);
    process.exit(2);
  }
  return n;
}

let skein;
try {
  skein = localSkein();
} catch (err) {
  if (!(err instanceof CliError)) throw err;
  console.error(err.message);
  process.exit(2);
}
// The kit's own default is Skein's default port; a Skein moved elsewhere is followed, by the protocol the kit will use.
const env: Record<string, string> = {};
const exportTo = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] || process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
if (!exportTo) {
  const { protocol } = settingsFromEnv({ serviceName: 'reference-api' }).export;
  env['OTEL_EXPORTER_OTLP_ENDPOINT'] = protocol === 'grpc' ? skein.otlpGrpc : skein.otlpHttp;
}

// A minute for each process to answer /healthz: a first start beside a busy Skein can be slow.
const service = await launchReferenceService({ apiPort: port('API_PORT', 8080), backendPort: port('BACKEND_PORT', 8081), echo: true, env, timeoutMs: 60_000 });
console.log(`reference API on ${service.apiUrl} (backend ${service.backendUrl}); try:
  curl -s -X POST ${service.apiUrl}/login -H 'content-type: application/json' -d '{"email":"jane@example.com","password":"correct horse"}'
  curl -s -X POST ${service.apiUrl}/tracks/uploads -H 'content-type: application/json' -d '{"filename":"take1.flac","size":12000000,"contentType":"audio/flac"}'
  curl -s -X POST ${service.apiUrl}/webhooks/payment -H 'content-type: application/json' -d '{"id":"evt_1","type":"payment.succeeded","amount":999}'
  curl -s '${service.apiUrl}/search?q=blue'
spans go to ${env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? exportTo}; then find the traces in Skein: ${skein.api}/ or  npx skein search '{ name = "auth.login" }'`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void service.stop().then(() => process.exit(0));
  });
}
