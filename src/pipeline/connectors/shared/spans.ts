// Span facts both connectors read.
import type { Span } from '../../../otlp/model.js';

/** Span duration in seconds; 0 when the end is before the start, as Tempo records it. */
export function durationSeconds(span: Span): number {
  const ns = span.endTimeUnixNano - span.startTimeUnixNano;
  return ns > 0n ? Number(ns) / 1e9 : 0;
}
