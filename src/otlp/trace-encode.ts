// Canonical proto3 encoders for the span model (field numbers are listed in
// trace-decode.ts): fields in field-number order, default and empty fields
// omitted, repeated elements always written, an AnyValue's oneof written even
// when it holds a default (so "" and 0 survive the round trip).
//
// Encoding is two passes over the tree. The size pass computes the size of
// every nested message and the UTF-8 length of every string, recording them in
// `lens` in the order the write pass will need them; the write pass then fills
// one buffer allocated at the exact size. No intermediate buffers, no copies.
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink } from './model.js';
import { WireType, WireWriter, delimitedSize, int64Size, utf8Length, varintSize } from './wire.js';
import { T1_LEN, T2_LEN, T3_LEN, T4_LEN, T5_LEN, T6_LEN, T7_LEN, T9_LEN, T11_LEN, T13_LEN, T15_LEN, T1_I64, T4_I64, T7_I64, T8_I64, T6_I32, T2_VARINT, T3_VARINT, T4_VARINT, T5_VARINT, T6_VARINT, T10_VARINT, T12_VARINT, T14_VARINT } from './trace-tags.js';

const { VARINT, I64, LEN, I32 } = WireType;

/**
 * Sizes recorded by the size pass, in write order. Module-level and reused:
 * encoding is synchronous and never re-entered, and reuse keeps the hot path
 * free of a fresh array per call.
 */
const lens: number[] = [];
let lensCount = 0;
let lensRead = 0;

function startSizing(): void {
  lensCount = 0;
  lensRead = 0;
}

function finishWriting(): void {
  // Do not hold on to the memory of one exceptionally large batch.
  if (lens.length > 1 << 20) lens.length = 0;
}

function record(n: number): void {
  lens[lensCount++] = n;
}

function reserve(): number {
  lens[lensCount] = 0;
  return lensCount++;
}

function next(): number {
  return lens[lensRead++]!;
}

// ---- size pass ---------------------------------------------------------------

/** Size of a non-empty string field with a one-byte tag; records its UTF-8 length. */
function sizeString(s: string): number {
  const n = utf8Length(s);
  record(n);
  return delimitedSize(n);
}

/** Enum fields are int32: a negative value is sign-extended to 10 bytes. */
function enumSize(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

function sizeAttributes(attrs: readonly KeyValue[], tagBytes: number): number {
  let size = 0;
  for (let i = 0; i < attrs.length; i++) {
    const slot = reserve();
    const n = sizeKeyValue(attrs[i]!);
    lens[slot] = n;
    size += tagBytes + varintSize(n) + n;
  }
  return size;
}

function sizeKeyValue(kv: KeyValue): number {
  let size = kv.key.length > 0 ? sizeString(kv.key) : 0;
  const slot = reserve();
  const n = sizeAnyValue(kv.value);
  lens[slot] = n;
  if (n > 0) size += delimitedSize(n);
  return size;
}

function sizeAnyValue(v: AnyValue): number {
  switch (v.type) {
    case 'string':
      return sizeString(v.value);
    case 'bool':
      return 2;
    case 'int':
      return 1 + int64Size(v.value);
    case 'double':
      return 9;
    case 'bytes':
      return delimitedSize(v.value.length);
    case 'array': {
      const slot = reserve();
      let n = 0;
      for (let i = 0; i < v.value.length; i++) {
        const inner = reserve();
        const m = sizeAnyValue(v.value[i]!);
        lens[inner] = m;
        n += delimitedSize(m);
      }
      lens[slot] = n;
      return delimitedSize(n);
    }
    case 'kvlist': {
      const slot = reserve();
      const n = sizeAttributes(v.value, 1);
      lens[slot] = n;
      return delimitedSize(n);
    }
    case 'empty':
      return 0;
  }
}

function sizeResource(r: Resource): number {
  let size = sizeAttributes(r.attributes, 1);
  if (r.droppedAttributesCount !== 0) size += 1 + varintSize(r.droppedAttributesCount);
  return size;
}

function sizeScope(s: InstrumentationScope): number {
  let size = 0;
  if (s.name.length > 0) size += sizeString(s.name);
  if (s.version.length > 0) size += sizeString(s.version);
  size += sizeAttributes(s.attributes, 1);
  if (s.droppedAttributesCount !== 0) size += 1 + varintSize(s.droppedAttributesCount);
  return size;
}

function sizeSpan(s: Span): number {
  let size = 0;
  if (s.traceId.length > 0) size += delimitedSize(s.traceId.length);
  if (s.spanId.length > 0) size += delimitedSize(s.spanId.length);
  if (s.traceState.length > 0) size += sizeString(s.traceState);
  if (s.parentSpanId.length > 0) size += delimitedSize(s.parentSpanId.length);
  if (s.name.length > 0) size += sizeString(s.name);
  if (s.kind !== 0) size += 1 + enumSize(s.kind);
  if (s.startTimeUnixNano !== 0n) size += 9;
  if (s.endTimeUnixNano !== 0n) size += 9;
  size += sizeAttributes(s.attributes, 1);
  if (s.droppedAttributesCount !== 0) size += 1 + varintSize(s.droppedAttributesCount);
  for (let i = 0; i < s.events.length; i++) {
    const slot = reserve();
    const n = sizeEvent(s.events[i]!);
    lens[slot] = n;
    size += delimitedSize(n);
  }
  if (s.droppedEventsCount !== 0) size += 1 + varintSize(s.droppedEventsCount);
  for (let i = 0; i < s.links.length; i++) {
    const slot = reserve();
    const n = sizeLink(s.links[i]!);
    lens[slot] = n;
    size += delimitedSize(n);
  }
  if (s.droppedLinksCount !== 0) size += 1 + varintSize(s.droppedLinksCount);
  const slot = reserve();
  let n = 0;
  if (s.status.message.length > 0) n += sizeString(s.status.message);
  if (s.status.code !== 0) n += 1 + enumSize(s.status.code);
  lens[slot] = n;
  if (n > 0) size += delimitedSize(n);
  // flags is field 16: a two-byte tag.
  if (s.flags !== 0) size += 2 + 4;
  return size;
}

function sizeEvent(e: SpanEvent): number {
  let size = e.timeUnixNano !== 0n ? 9 : 0;
  if (e.name.length > 0) size += sizeString(e.name);
  size += sizeAttributes(e.attributes, 1);
  if (e.droppedAttributesCount !== 0) size += 1 + varintSize(e.droppedAttributesCount);
  return size;
}

function sizeLink(l: SpanLink): number {
  let size = 0;
  if (l.traceId.length > 0) size += delimitedSize(l.traceId.length);
  if (l.spanId.length > 0) size += delimitedSize(l.spanId.length);
  if (l.traceState.length > 0) size += sizeString(l.traceState);
  size += sizeAttributes(l.attributes, 1);
  if (l.droppedAttributesCount !== 0) size += 1 + varintSize(l.droppedAttributesCount);
  if (l.flags !== 0) size += 5;
  return size;
}

function sizeScopeSpans(ss: ScopeSpans): number {
  const slot = reserve();
  const scope = sizeScope(ss.scope);
  lens[slot] = scope;
  let size = scope > 0 ? delimitedSize(scope) : 0;
  for (let i = 0; i < ss.spans.length; i++) {
    const spanSlot = reserve();
    const n = sizeSpan(ss.spans[i]!);
    lens[spanSlot] = n;
    size += delimitedSize(n);
  }
  if (ss.schemaUrl.length > 0) size += sizeString(ss.schemaUrl);
  return size;
}

function sizeResourceSpans(rs: ResourceSpans): number {
  const slot = reserve();
  const resource = sizeResource(rs.resource);
  lens[slot] = resource;
  let size = resource > 0 ? delimitedSize(resource) : 0;
  for (let i = 0; i < rs.scopeSpans.length; i++) {
    const ssSlot = reserve();
    const n = sizeScopeSpans(rs.scopeSpans[i]!);
    lens[ssSlot] = n;
    size += delimitedSize(n);
  }
  if (rs.schemaUrl.length > 0) size += sizeString(rs.schemaUrl);
  return size;
}

function sizeTracesData(batch: readonly ResourceSpans[]): number {
  let size = 0;
  for (let i = 0; i < batch.length; i++) {
    const slot = reserve();
    const n = sizeResourceSpans(batch[i]!);
    lens[slot] = n;
    size += delimitedSize(n);
  }
  return size;
}

// ---- write pass --------------------------------------------------------------

// Field 16, wire type 5: tag 133 as a two-byte varint.
const T16_I32_BYTE0 = ((16 << 3) | I32 | 0x80) & 0xff;
const T16_I32_BYTE1 = ((16 << 3) | I32) >>> 7;

function writeString(w: WireWriter, tag: number, s: string): void {
  w.byte(tag);
  const n = next();
  w.varint(n);
  w.utf8(s, n);
}

function writeBytes(w: WireWriter, tag: number, b: Uint8Array): void {
  w.byte(tag);
  w.varint(b.length);
  w.raw(b);
}

/** Enum fields are int32: a negative value is sign-extended to 10 bytes. */
function writeEnum(w: WireWriter, tag: number, v: number): void {
  w.byte(tag);
  if (v < 0) w.int64(BigInt(v));
  else w.varint(v);
}

function writeAttributes(w: WireWriter, tag: number, attrs: readonly KeyValue[]): void {
  for (let i = 0; i < attrs.length; i++) {
    w.byte(tag);
    w.varint(next());
    writeKeyValue(w, attrs[i]!);
  }
}

function writeKeyValue(w: WireWriter, kv: KeyValue): void {
  if (kv.key.length > 0) writeString(w, T1_LEN, kv.key);
  const n = next();
  if (n > 0) {
    w.byte(T2_LEN);
    w.varint(n);
    writeAnyValue(w, kv.value);
  }
}

function writeAnyValue(w: WireWriter, v: AnyValue): void {
  switch (v.type) {
    case 'string':
      writeString(w, T1_LEN, v.value);
      return;
    case 'bool':
      w.byte(T2_VARINT);
      w.byte(v.value ? 1 : 0);
      return;
    case 'int':
      w.byte(T3_VARINT);
      w.int64(v.value);
      return;
    case 'double':
      w.byte(T4_I64);
      w.double(v.value);
      return;
    case 'bytes':
      writeBytes(w, T7_LEN, v.value);
      return;
    case 'array': {
      w.byte(T5_LEN);
      w.varint(next());
      for (let i = 0; i < v.value.length; i++) {
        w.byte(T1_LEN);
        w.varint(next());
        writeAnyValue(w, v.value[i]!);
      }
      return;
    }
    case 'kvlist':
      w.byte(T6_LEN);
      w.varint(next());
      writeAttributes(w, T1_LEN, v.value);
      return;
    case 'empty':
      return;
  }
}

function writeResource(w: WireWriter, r: Resource): void {
  writeAttributes(w, T1_LEN, r.attributes);
  if (r.droppedAttributesCount !== 0) {
    w.byte(T2_VARINT);
    w.varint(r.droppedAttributesCount);
  }
}

function writeScope(w: WireWriter, s: InstrumentationScope): void {
  if (s.name.length > 0) writeString(w, T1_LEN, s.name);
  if (s.version.length > 0) writeString(w, T2_LEN, s.version);
  writeAttributes(w, T3_LEN, s.attributes);
  if (s.droppedAttributesCount !== 0) {
    w.byte(T4_VARINT);
    w.varint(s.droppedAttributesCount);
  }
}

function writeSpan(w: WireWriter, s: Span): void {
  if (s.traceId.length > 0) writeBytes(w, T1_LEN, s.traceId);
  if (s.spanId.length > 0) writeBytes(w, T2_LEN, s.spanId);
  if (s.traceState.length > 0) writeString(w, T3_LEN, s.traceState);
  if (s.parentSpanId.length > 0) writeBytes(w, T4_LEN, s.parentSpanId);
  if (s.name.length > 0) writeString(w, T5_LEN, s.name);
  if (s.kind !== 0) writeEnum(w, T6_VARINT, s.kind);
  if (s.startTimeUnixNano !== 0n) {
    w.byte(T7_I64);
    w.fixed64(s.startTimeUnixNano);
  }
  if (s.endTimeUnixNano !== 0n) {
    w.byte(T8_I64);
    w.fixed64(s.endTimeUnixNano);
  }
  writeAttributes(w, T9_LEN, s.attributes);
  if (s.droppedAttributesCount !== 0) {
    w.byte(T10_VARINT);
    w.varint(s.droppedAttributesCount);
  }
  for (let i = 0; i < s.events.length; i++) {
    w.byte(T11_LEN);
    w.varint(next());
    writeEvent(w, s.events[i]!);
  }
  if (s.droppedEventsCount !== 0) {
    w.byte(T12_VARINT);
    w.varint(s.droppedEventsCount);
  }
  for (let i = 0; i < s.links.length; i++) {
    w.byte(T13_LEN);
    w.varint(next());
    writeLink(w, s.links[i]!);
  }
  if (s.droppedLinksCount !== 0) {
    w.byte(T14_VARINT);
    w.varint(s.droppedLinksCount);
  }
  const status = next();
  if (status > 0) {
    w.byte(T15_LEN);
    w.varint(status);
    if (s.status.message.length > 0) writeString(w, T2_LEN, s.status.message);
    if (s.status.code !== 0) writeEnum(w, T3_VARINT, s.status.code);
  }
  if (s.flags !== 0) {
    w.byte(T16_I32_BYTE0);
    w.byte(T16_I32_BYTE1);
    w.fixed32(s.flags);
  }
}

function writeEvent(w: WireWriter, e: SpanEvent): void {
  if (e.timeUnixNano !== 0n) {
    w.byte(T1_I64);
    w.fixed64(e.timeUnixNano);
  }
  if (e.name.length > 0) writeString(w, T2_LEN, e.name);
  writeAttributes(w, T3_LEN, e.attributes);
  if (e.droppedAttributesCount !== 0) {
    w.byte(T4_VARINT);
    w.varint(e.droppedAttributesCount);
  }
}

function writeLink(w: WireWriter, l: SpanLink): void {
  if (l.traceId.length > 0) writeBytes(w, T1_LEN, l.traceId);
  if (l.spanId.length > 0) writeBytes(w, T2_LEN, l.spanId);
  if (l.traceState.length > 0) writeString(w, T3_LEN, l.traceState);
  writeAttributes(w, T4_LEN, l.attributes);
  if (l.droppedAttributesCount !== 0) {
    w.byte(T5_VARINT);
    w.varint(l.droppedAttributesCount);
  }
  if (l.flags !== 0) {
    w.byte(T6_I32);
    w.fixed32(l.flags);
  }
}

function writeScopeSpans(w: WireWriter, ss: ScopeSpans): void {
  const scope = next();
  if (scope > 0) {
    w.byte(T1_LEN);
    w.varint(scope);
    writeScope(w, ss.scope);
  }
  for (let i = 0; i < ss.spans.length; i++) {
    w.byte(T2_LEN);
    w.varint(next());
    writeSpan(w, ss.spans[i]!);
  }
  if (ss.schemaUrl.length > 0) writeString(w, T3_LEN, ss.schemaUrl);
}

function writeResourceSpans(w: WireWriter, rs: ResourceSpans): void {
  const resource = next();
  if (resource > 0) {
    w.byte(T1_LEN);
    w.varint(resource);
    writeResource(w, rs.resource);
  }
  for (let i = 0; i < rs.scopeSpans.length; i++) {
    w.byte(T2_LEN);
    w.varint(next());
    writeScopeSpans(w, rs.scopeSpans[i]!);
  }
  if (rs.schemaUrl.length > 0) writeString(w, T3_LEN, rs.schemaUrl);
}

function writeTracesData(w: WireWriter, batch: readonly ResourceSpans[]): void {
  for (let i = 0; i < batch.length; i++) {
    w.byte(T1_LEN);
    w.varint(next());
    writeResourceSpans(w, batch[i]!);
  }
}

// ---- entry points ------------------------------------------------------------

function encodeWith<T>(value: T, size: (v: T) => number, write: (w: WireWriter, v: T) => void): Uint8Array {
  startSizing();
  const n = size(value);
  const w = new WireWriter(n);
  write(w, value);
  finishWriting();
  if (w.pos !== n || lensRead !== lensCount) {
    // The two passes disagree: a bug in this file, never a property of the input.
    throw new Error(`protobuf encoder size mismatch: sized ${n} bytes, wrote ${w.pos}`);
  }
  return w.buf;
}

export function encodeTracesDataMessage(batch: readonly ResourceSpans[]): Uint8Array {
  return encodeWith(batch, sizeTracesData, writeTracesData);
}

export function encodeSpanMessage(span: Span): Uint8Array {
  return encodeWith(span, sizeSpan, writeSpan);
}

export function encodeResourceMessage(resource: Resource): Uint8Array {
  return encodeWith(resource, sizeResource, writeResource);
}

export function encodeScopeMessage(scope: InstrumentationScope): Uint8Array {
  return encodeWith(scope, sizeScope, writeScope);
}

/** Encoded size of a Span message body, without encoding it. */
export function spanMessageSize(span: Span): number {
  startSizing();
  const n = sizeSpan(span);
  finishWriting();
  return n;
}
