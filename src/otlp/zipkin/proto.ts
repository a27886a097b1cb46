// Zipkin v2 protobuf (openzipkin/zipkin-api zipkin.proto, `POST /api/v2/spans`
// with Content-Type application/x-protobuf). Field numbers:
//   ListOfSpans: spans = 1
//   Span: trace_id = 1 (8 or 16 bytes), parent_id = 2, id = 3, kind = 4,
//     name = 5, timestamp = 6 (fixed64, epoch µs), duration = 7 (µs),
//     local_endpoint = 8, remote_endpoint = 9, annotations = 10,
//     tags = 11 (map<string, string>), debug = 12, shared = 13
//   Span.Kind: UNSPECIFIED = 0, CLIENT = 1, SERVER = 2, PRODUCER = 3, CONSUMER = 4
//   Endpoint: service_name = 1, ipv4 = 2 (4 bytes), ipv6 = 3 (16 bytes), port = 4
//   Annotation: timestamp = 1 (fixed64, epoch µs), value = 2
import { OtlpDecodeError, WireReader, WireType, messageSchema } from '../wire.js';
import { isZeroId } from './ids.js';
import { formatIPv4, formatIPv6 } from './ip.js';
import type { ZipkinAnnotation, ZipkinEndpoint, ZipkinKind, ZipkinSpan } from './span.js';

const { VARINT, I64, LEN } = WireType;

const LIST_OF_SPANS = messageSchema('ListOfSpans', { 1: ['spans', LEN] });
const SPAN = messageSchema('Span', {
  1: ['trace_id', LEN],
  2: ['parent_id', LEN],
  3: ['id', LEN],
  4: ['kind', VARINT],
  5: ['name', LEN],
  6: ['timestamp', I64],
  7: ['duration', VARINT],
  8: ['local_endpoint', LEN],
  9: ['remote_endpoint', LEN],
  10: ['annotations', LEN],
  11: ['tags', LEN],
  12: ['debug', VARINT],
  13: ['shared', VARINT],
});
const ENDPOINT = messageSchema('Endpoint', { 1: ['service_name', LEN], 2: ['ipv4', LEN], 3: ['ipv6', LEN], 4: ['port', VARINT] });
const ANNOTATION = messageSchema('Annotation', { 1: ['timestamp', I64], 2: ['value', LEN] });
const TAG_ENTRY = messageSchema('Span.TagsEntry', { 1: ['key', LEN], 2: ['value', LEN] });

const KINDS: ReadonlyArray<ZipkinKind | undefined> = [undefined, 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];

function tagOf(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

export function parseZipkinProto(buf: Uint8Array): ZipkinSpan[] {
  const r = new WireReader(buf);
  const out: ZipkinSpan[] = [];
  while (r.pos < r.length) {
    const tag = r.tag(r.length, LIST_OF_SPANS);
    if (tag === tagOf(1, LEN)) out.push(readSpan(r, r.delimitedEnd(r.length, LIST_OF_SPANS, 1), `[${out.length}]`));
    else r.skip(tag, r.length, LIST_OF_SPANS);
  }
  return out;
}

function readSpan(r: WireReader, end: number, at: string): ZipkinSpan {
  let traceId: Uint8Array | undefined;
  let id: Uint8Array | undefined;
  let parentId: Uint8Array = new Uint8Array(0);
  let timestamp = 0n;
  const span: Omit<ZipkinSpan, 'traceId' | 'id' | 'parentId' | 'startUnixNano'> = {
    name: '',
    kind: undefined,
    durationNano: 0n,
    localEndpoint: undefined,
    remoteEndpoint: undefined,
    annotations: [],
    tags: new Map(),
    debug: false,
    shared: false,
  };
  while (r.pos < end) {
    const tag = r.tag(end, SPAN);
    switch (tag) {
      case tagOf(1, LEN):
        traceId = r.bytes(end, SPAN, 1);
        break;
      case tagOf(2, LEN):
        parentId = r.bytes(end, SPAN, 2);
        break;
      case tagOf(3, LEN):
        id = r.bytes(end, SPAN, 3);
        break;
      case tagOf(4, VARINT):
        span.kind = KINDS[r.uint32(end, SPAN, 4)];
        break;
      case tagOf(5, LEN):
        span.name = r.string(end, SPAN, 5);
        break;
      case tagOf(6, I64):
        timestamp = microsToNanos(r.fixed64(end, SPAN, 6), `${at}.timestamp`);
        break;
      case tagOf(7, VARINT):
        span.durationNano = microsToNanos(BigInt(r.uint64Number(end, SPAN, 7)), `${at}.duration`);
        break;
      case tagOf(8, LEN):
        span.localEndpoint = readEndpoint(r, r.delimitedEnd(end, SPAN, 8), `${at}.local_endpoint`);
        break;
      case tagOf(9, LEN):
        span.remoteEndpoint = readEndpoint(r, r.delimitedEnd(end, SPAN, 9), `${at}.remote_endpoint`);
        break;
      case tagOf(10, LEN):
        span.annotations.push(readAnnotation(r, r.delimitedEnd(end, SPAN, 10), `${at}.annotations[${span.annotations.length}]`));
        break;
      case tagOf(11, LEN):
        readTag(r, r.delimitedEnd(end, SPAN, 11), span.tags);
        break;
      case tagOf(12, VARINT):
        span.debug = r.bool(end, SPAN, 12);
        break;
      case tagOf(13, VARINT):
        span.shared = r.bool(end, SPAN, 13);
        break;
      default:
        r.skip(tag, end, SPAN);
    }
  }
  return {
    ...span,
    traceId: traceIdBytes(traceId, at),
    id: spanIdBytes(id, `${at}.id`),
    parentId: parentId.length === 0 || isZeroId(parentId) ? new Uint8Array(0) : spanIdBytes(parentId, `${at}.parent_id`),
    startUnixNano: timestamp === 0n ? undefined : timestamp,
  };
}

/** Largest epoch-microseconds value accepted, as in JSON (the year 2255): nanoseconds stay within 64 bits. */
const MAX_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

function microsToNanos(micros: bigint, path: string): bigint {
  if (micros > MAX_MICROS) throw new OtlpDecodeError(`${path}: ${micros} microseconds is out of range`);
  return micros * 1000n;
}

function traceIdBytes(id: Uint8Array | undefined, at: string): Uint8Array {
  if (id?.length === 16) return id;
  if (id?.length === 8) {
    const padded = new Uint8Array(16);
    padded.set(id, 8);
    return padded;
  }
  throw new OtlpDecodeError(`${at}.trace_id: expected 8 or 16 bytes, got ${id?.length ?? 0}`);
}

function spanIdBytes(id: Uint8Array | undefined, path: string): Uint8Array {
  if (id?.length === 8) return id;
  throw new OtlpDecodeError(`${path}: expected 8 bytes, got ${id?.length ?? 0}`);
}

function readEndpoint(r: WireReader, end: number, path: string): ZipkinEndpoint {
  const e: ZipkinEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
  while (r.pos < end) {
    const tag = r.tag(end, ENDPOINT);
    switch (tag) {
      case tagOf(1, LEN):
        e.serviceName = r.string(end, ENDPOINT, 1);
        break;
      case tagOf(2, LEN): {
        const ip = r.bytes(end, ENDPOINT, 2);
        if (ip.length !== 0 && ip.length !== 4) throw new OtlpDecodeError(`${path}.ipv4: expected 4 bytes, got ${ip.length}`);
        e.ipv4 = ip.length === 0 ? '' : formatIPv4(ip);
        break;
      }
      case tagOf(3, LEN): {
        const ip = r.bytes(end, ENDPOINT, 3);
        if (ip.length !== 0 && ip.length !== 16) throw new OtlpDecodeError(`${path}.ipv6: expected 16 bytes, got ${ip.length}`);
        e.ipv6 = ip.length === 0 ? '' : formatIPv6(ip);
        break;
      }
      case tagOf(4, VARINT): {
        const port = r.int32(end, ENDPOINT, 4);
        if (port < 0 || port > 65535) throw new OtlpDecodeError(`${path}.port: expected a port number (0–65535), got ${port}`);
        e.port = port;
        break;
      }
      default:
        r.skip(tag, end, ENDPOINT);
    }
  }
  return e;
}

function readAnnotation(r: WireReader, end: number, path: string): ZipkinAnnotation {
  let time = 0n;
  let value = '';
  while (r.pos < end) {
    const tag = r.tag(end, ANNOTATION);
    if (tag === tagOf(1, I64)) time = microsToNanos(r.fixed64(end, ANNOTATION, 1), `${path}.timestamp`);
    else if (tag === tagOf(2, LEN)) value = r.string(end, ANNOTATION, 2);
    else r.skip(tag, end, ANNOTATION);
  }
  if (time === 0n) throw new OtlpDecodeError(`${path}.timestamp: required (epoch microseconds)`);
  return { timeUnixNano: time, value };
}

function readTag(r: WireReader, end: number, into: Map<string, string>): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.tag(end, TAG_ENTRY);
    if (tag === tagOf(1, LEN)) key = r.string(end, TAG_ENTRY, 1);
    else if (tag === tagOf(2, LEN)) value = r.string(end, TAG_ENTRY, 2);
    else r.skip(tag, end, TAG_ENTRY);
  }
  into.set(key, value);
}
