// The protobuf bytes a batch was decoded from, kept beside the batch so that
// the stages which must write it out (the store's WAL and head, tail
// sampling's WAL, the OTLP exporters) can take those bytes instead of encoding
// the batch again: encoding a span costs more than decoding it.
//
// The bytes stand for the batch only while the batch is exactly what they
// say. So they are attached only by decodeTracesDataKeepingWire, and only
// when decoding lost nothing (no field skipped, no value replaced by a later
// one: what redaction cannot see must not reach storage behind its back); a
// new array (a subset, a merge) has none; and the pipeline builder forgets
// them before every processor that may change spans unless it keeps them
// right itself (ProcessorFactory.keepsWireForm), as redaction does by
// forgetting them when it changes anything.
import type { ResourceSpans } from './model.js';

const forms = new WeakMap<readonly ResourceSpans[], Uint8Array>();

/** Records that `bytes` (a TracesData or ExportTraceServiceRequest) encode exactly `batch`. */
export function attachWireForm(batch: readonly ResourceSpans[], bytes: Uint8Array): void {
  forms.set(batch, bytes);
}

/** The bytes that encode exactly `batch`, if it still has them. */
export function wireFormOf(batch: readonly ResourceSpans[]): Uint8Array | undefined {
  return forms.get(batch);
}

/** Called by whatever changes a batch in place: its bytes no longer say what it holds. */
export function forgetWireForm(batch: readonly ResourceSpans[]): void {
  forms.delete(batch);
}
