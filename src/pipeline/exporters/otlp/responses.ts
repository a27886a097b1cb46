// What one export attempt comes to, and the messages a downstream answers
// with: ExportTraceServiceResponse (its partial_success) on success, and
// google.rpc.Status (its RetryInfo detail) on failure, in protobuf or JSON.
import type { ResourceSpans } from '../../../otlp/model.js';
import { WireReader, WireType, messageSchema, type MessageSchema } from '../../../otlp/wire.js';

export type ExportOutcome =
  /** The downstream took the batch; it may have refused some spans of it (partial success). */
  | { kind: 'accepted'; rejectedSpans: number; message: string }
  /** Try again later; the downstream may have said when. */
  | { kind: 'retryable'; message: string; retryAfterMs: number | undefined }
  /** Sending the same batch again cannot succeed. */
  | { kind: 'permanent'; message: string };

export interface ExportRequest {
  tenant: string;
  batch: ResourceSpans[];
  /** The batch as an encoded TracesData (equally an ExportTraceServiceRequest). */
  protobuf(): Uint8Array;
}

/** One transport (gRPC or HTTP) to one downstream. */
export interface ExportClient {
  /** Makes one attempt. Never rejects: every failure is an outcome. */
  send(request: ExportRequest, signal: AbortSignal): Promise<ExportOutcome>;
  close(): void;
}

export interface PartialSuccess {
  rejectedSpans: number;
  message: string;
}

const { VARINT, LEN } = WireType;
const EXPORT_RESPONSE = messageSchema('ExportTraceServiceResponse', { 1: ['partial_success', LEN] });
const PARTIAL_SUCCESS = messageSchema('ExportTracePartialSuccess', { 1: ['rejected_spans', VARINT], 2: ['error_message', LEN] });
const STATUS = messageSchema('google.rpc.Status', { 1: ['code', VARINT], 2: ['message', LEN], 3: ['details', LEN] });
const ANY = messageSchema('google.protobuf.Any', { 1: ['type_url', LEN], 2: ['value', LEN] });
const RETRY_INFO = messageSchema('google.rpc.RetryInfo', { 1: ['retry_delay', LEN] });
const DURATION = messageSchema('google.protobuf.Duration', { 1: ['seconds', VARINT], 2: ['nanos', VARINT] });

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** The partial_success of a protobuf ExportTraceServiceResponse; undefined if the bytes are not one. */
export function decodeExportResponse(bytes: Uint8Array): PartialSuccess | undefined {
  const out: PartialSuccess = { rejectedSpans: 0, message: '' };
  try {
    const r = new WireReader(bytes);
    forEachField(r, r.length, EXPORT_RESPONSE, (tag) => {
      if (tag !== ((1 << 3) | LEN)) return false;
      const end = r.delimitedEnd(r.length, EXPORT_RESPONSE, 1);
      forEachField(r, end, PARTIAL_SUCCESS, (t) => {
        if (t === ((1 << 3) | VARINT)) out.rejectedSpans = Number(r.int64(end, PARTIAL_SUCCESS, 1));
        else if (t === ((2 << 3) | LEN)) out.message = r.string(end, PARTIAL_SUCCESS, 2);
        else return false;
        return true;
      });
      return true;
    });
  } catch {
    return undefined;
  }
  return out;
}

/** The partialSuccess of an OTLP/JSON ExportTraceServiceResponse; undefined if the text is not one. */
export function decodeExportResponseJson(text: string): PartialSuccess | undefined {
  const root = parseJsonObject(text);
  if (!root) return undefined;
  const partial = root['partialSuccess'] ?? root['partial_success'];
  if (partial === undefined || partial === null) return { rejectedSpans: 0, message: '' };
  if (typeof partial !== 'object') return undefined;
  const p = partial as Record<string, unknown>;
  const rejected = Number(p['rejectedSpans'] ?? p['rejected_spans'] ?? 0);
  const message = p['errorMessage'] ?? p['error_message'] ?? '';
  return { rejectedSpans: Number.isFinite(rejected) ? rejected : 0, message: typeof message === 'string' ? message : '' };
}

export interface RpcStatus {
  code: number;
  message: string;
  /** From a google.rpc.RetryInfo detail, when there is one. */
  retryDelayMs: number | undefined;
}

/** A protobuf google.rpc.Status (gRPC's grpc-status-details-bin, an OTLP/HTTP error body); undefined if malformed. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  const out: RpcStatus = { code: 0, message: '', retryDelayMs: undefined };
  try {
    const r = new WireReader(bytes);
    const end = r.length;
    forEachField(r, end, STATUS, (tag) => {
      if (tag === ((1 << 3) | VARINT)) out.code = r.int32(end, STATUS, 1);
      else if (tag === ((2 << 3) | LEN)) out.message = r.string(end, STATUS, 2);
      else if (tag === ((3 << 3) | LEN)) {
        const delay = readRetryInfoAny(r, r.delimitedEnd(end, STATUS, 3));
        if (delay !== undefined) out.retryDelayMs = delay;
      } else return false;
      return true;
    });
  } catch {
    return undefined;
  }
  return out;
}

/** A JSON google.rpc.Status (an OTLP/HTTP error body with Content-Type application/json); undefined if not one. */
export function decodeRpcStatusJson(text: string): RpcStatus | undefined {
  const root = parseJsonObject(text);
  if (!root) return undefined;
  const out: RpcStatus = { code: Number(root['code'] ?? 0) | 0, message: typeof root['message'] === 'string' ? root['message'] : '', retryDelayMs: undefined };
  const details = root['details'];
  if (Array.isArray(details)) {
    for (const d of details) {
      if (d && typeof d === 'object' && (d as Record<string, unknown>)['@type'] === RETRY_INFO_TYPE) {
        const delay = (d as Record<string, unknown>)['retryDelay'] ?? (d as Record<string, unknown>)['retry_delay'];
        // proto3 JSON writes a Duration as decimal seconds with an `s` suffix, e.g. "1.500s".
        const m = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
        if (m) out.retryDelayMs = Number(m[1]) * 1000;
      }
    }
  }
  return out;
}

/** Reads one google.protobuf.Any ending at `end`; the retry delay if it is a RetryInfo. */
function readRetryInfoAny(r: WireReader, end: number): number | undefined {
  let typeUrl = '';
  let value: Uint8Array | undefined;
  forEachField(r, end, ANY, (tag) => {
    if (tag === ((1 << 3) | LEN)) typeUrl = r.string(end, ANY, 1);
    else if (tag === ((2 << 3) | LEN)) value = r.bytes(end, ANY, 2);
    else return false;
    return true;
  });
  if (typeUrl !== RETRY_INFO_TYPE || !value) return undefined;
  const v = new WireReader(value);
  let delayMs: number | undefined;
  forEachField(v, v.length, RETRY_INFO, (tag) => {
    if (tag !== ((1 << 3) | LEN)) return false;
    const dEnd = v.delimitedEnd(v.length, RETRY_INFO, 1);
    let seconds = 0;
    let nanos = 0;
    forEachField(v, dEnd, DURATION, (t) => {
      if (t === ((1 << 3) | VARINT)) seconds = Number(v.int64(dEnd, DURATION, 1));
      else if (t === ((2 << 3) | VARINT)) nanos = v.int32(dEnd, DURATION, 2);
      else return false;
      return true;
    });
    delayMs = Math.max(0, seconds * 1000 + nanos / 1e6);
    return true;
  });
  return delayMs;
}

/** Calls `read` for each field tag up to `end`; a field `read` does not take (returns false) is skipped. */
function forEachField(r: WireReader, end: number, msg: MessageSchema, read: (tag: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.tag(end, msg);
    if (!read(tag)) r.skip(tag, end, msg);
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
