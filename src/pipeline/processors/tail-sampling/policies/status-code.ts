// Samples traces in which some span has one of the given status codes.
import { StatusCode } from '../../../../otlp/model.js';
import type { PolicyEvaluator, TraceView } from './policy.js';

export type StatusCodeName = keyof typeof StatusCode;

export function statusCodePolicy(settings: { status_codes: readonly StatusCodeName[] }): PolicyEvaluator {
  let wanted = 0;
  for (const name of settings.status_codes) wanted |= 1 << StatusCode[name];
  return {
    evaluate: (trace: TraceView) => ((trace.statusCodes & wanted) !== 0 ? 'sampled' : 'not_sampled'),
  };
}
