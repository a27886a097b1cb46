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

/**
 * Where the batch's messages lie in its bytes, as the decoder met them: start and
 * end offsets, two numbers per message, in the batch's order. It spares the head
 * a second walk through the bytes to find what the decoder just read.
 */
export interface WireLayout {
  /** Per ResourceSpans: its Resource message (start = end when the bytes have none). */
  resources: number[];
  /** Per ScopeSpans, those of the first ResourceSpans first: its InstrumentationScope message (start = end when none). */
  scopes: number[];
  /** Per span: its Span message. */
  spans: number[];
}

interface WireForm {
  bytes: Uint8Array;
  layout: WireLayout | undefined;
}

const forms = new WeakMap<readonly ResourceSpans[], WireForm>();

/** Records that `bytes` (a TracesData or ExportTraceServiceRequest) encode exactly `batch`, laid out as `layout` says when given. */
export function attachWireForm(batch: readonly ResourceSpans[], bytes: Uint8Array, layout?: WireLayout): void {
  forms.set(batch, { bytes, layout });
}

/** The bytes that encode exactly `batch`, if it still has them. */
export function wireFormOf(batch: readonly ResourceSpans[]): Uint8Array | undefined {
  return forms.get(batch)?.bytes;
}

/** The bytes of `batch` with their layout, if it still has them and the decoder recorded where its messages lie. */
export function wireLayoutOf(batch: readonly ResourceSpans[]): { bytes: Uint8Array; layout: WireLayout } | undefined {
  const form = forms.get(batch);
  return form?.layout === undefined ? undefined : { bytes: form.bytes, layout: form.layout };
}

/** Called by whatever changes a batch in place: its bytes no longer say what it holds. */
export function forgetWireForm(batch: readonly ResourceSpans[]): void {
  forms.delete(batch);
}
