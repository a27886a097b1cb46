// What every sampling policy sees and says, after the collector's
// samplingpolicy.Evaluator.
import type { Resource, Span } from '../../../../otlp/model.js';

/**
 * A policy's vote. The inverted votes come from `invert_match` on attribute
 * policies (deprecated in the collector but still honoured): "inverted not
 * sampled" vetoes every "sampled"; "inverted sampled" samples only if no
 * policy said "not sampled". `dropped` comes from a drop policy and beats all.
 */
export type Decision = 'sampled' | 'not_sampled' | 'inverted_sampled' | 'inverted_not_sampled' | 'dropped';

/**
 * One buffered trace as the policies see it. The figures most policies need are
 * kept while spans arrive; attributes and trace state need the spans decoded,
 * which happens on the first call to spans() or resources() and only then.
 */
export interface TraceView {
  readonly traceId: Uint8Array;
  readonly spanCount: number;
  /** Earliest start and latest end over all spans (nanoseconds since the epoch). */
  readonly earliestStartNs: bigint;
  readonly latestEndNs: bigint;
  /** Bit (1 << code) set for each OTLP status code (UNSET 0, OK 1, ERROR 2) some span has. */
  readonly statusCodes: number;
  /** The distinct resources the trace's spans were reported under. */
  resources(): readonly Resource[];
  spans(): readonly Span[];
}

export interface PolicyEvaluator {
  evaluate(trace: TraceView): Decision;
}

/** Milliseconds since the epoch; injectable so tests control rate windows. */
export type Clock = () => number;
