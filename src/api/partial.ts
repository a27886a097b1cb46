// How an answer some cluster peers were missing from says so (store/fetch/request.ts
// PartialAnswer): Tempo's `"status": "PARTIAL"` and `"message"` (TraceByIDResponse's), added
// to the JSON of trace by ID v2, search, tags and TraceQL metrics. A complete answer is
// left as it was. Each partial answer is counted.
import { Counter } from 'prom-client';
import { registry } from '../telemetry/metrics.js';
import type { PartialAnswer } from '../store/fetch/request.js';

const partialAnswers = new Counter({
  name: 'skein_query_partial_answers_total',
  help: 'Query answers marked partial because some cluster peers did not answer (spans held only there may be missing), by API.',
  labelNames: ['api'],
  registers: [registry],
});

export type PartialApi = 'trace' | 'search' | 'tags' | 'metrics';

/** The fields a partial answer adds (none for a complete one); counts it. */
export function partialFields(partial: PartialAnswer | undefined, api: PartialApi): { status?: 'PARTIAL'; message?: string } {
  if (!partial) return {};
  partialAnswers.inc({ api });
  return { status: 'PARTIAL', message: partial.message };
}
