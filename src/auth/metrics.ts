// Refused requests on /metrics, by listener and status (never by credential).
import { Counter } from 'prom-client';
import { registry } from '../telemetry/metrics.js';

const refusals = new Counter({
  name: 'skein_auth_refused_requests_total',
  help: 'Requests refused by authentication (401), rights or tenant checks (403), or a malformed tenant header (400), by listener.',
  labelNames: ['listener', 'status_code'],
  registers: [registry],
});

export function countRefusal(listener: string, status: number): void {
  refusals.inc({ listener, status_code: String(status) });
}
