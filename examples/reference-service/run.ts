#!/usr/bin/env node
// `npm run example`: the reference API on 127.0.0.1:8080 and its backend on
// 127.0.0.1:8081, exporting spans to a Skein on its default ports
// (OTLP gRPC localhost:4317) unless OTEL_EXPORTER_OTLP_ENDPOINT says otherwise.
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

const service = await launchReferenceService({ apiPort: port('API_PORT', 8080), backendPort: port('BACKEND_PORT', 8081), echo: true });
console.log(`reference API on ${service.apiUrl} (backend ${service.backendUrl}); try:
  curl -s -X POST ${service.apiUrl}/login -H 'content-type: application/json' -d '{"email":"jane@example.com","password":"correct horse"}'
  curl -s -X POST ${service.apiUrl}/tracks/uploads -H 'content-type: application/json' -d '{"filename":"take1.flac","size":12000000,"contentType":"audio/flac"}'
  curl -s -X POST ${service.apiUrl}/webhooks/payment -H 'content-type: application/json' -d '{"id":"evt_1","type":"payment.succeeded","amount":999}'
  curl -s '${service.apiUrl}/search?q=blue'
then find the traces in Skein: http://127.0.0.1:3200 or  skein search '{ name = "auth.login" }'`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void service.stop().then(() => process.exit(0));
  });
}
