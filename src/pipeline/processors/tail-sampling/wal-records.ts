// The records of the processor's WAL (payloads of the store's Wal format):
//   spans:     an OTLP TracesData whose first ResourceSpans has no spans, only
//              the record's metadata as resource attributes (record version,
//              tenant, arrival time in ms); the spans follow in the ResourceSpans
//              after it. One encoding serves as the WAL record and as the only
//              copy of the spans in memory (see buffer.ts): no second buffer,
//              no copy. A TracesData always starts with byte 0x0a.
//   decisions: [1][2] varint group count, then per group: varint tenant length,
//              tenant, varint count, count × (16-byte trace ID, 1 byte: 1 sampled, 0 not)
// A decisions record is written once a decision is final: at once for "not
// sampled", after the next stage has the spans for "sampled". Replay drops the
// spans of every trace it finds decided, so a restart neither loses nor
// re-sends them, and refills the decision cache.
import type { ResourceSpans } from '../../../otlp/model.js';
import { decodeTracesData, encodeTracesData } from '../../../otlp/protobuf.js';

const FORMAT_VERSION = 1;
const KIND_DECISIONS = 2;
/** The first byte of every encoded TracesData (field 1, length-delimited). */
const TRACES_DATA_START = 0x0a;
const META_VERSION = 'skein.tail_sampling.record_version';
const META_TENANT = 'skein.tail_sampling.tenant';
const META_ARRIVAL = 'skein.tail_sampling.arrival_ms';
const TRACE_ID_BYTES = 16;

export interface DecisionEntry {
  tenant: string;
  traceId: Uint8Array;
  sampled: boolean;
}

export type SamplerRecord =
  /** `batch` is the decoded `tracesData`, its metadata ResourceSpans first. */
  | { kind: 'spans'; tenant: string; arrivalMs: number; batch: ResourceSpans[]; tracesData: Uint8Array }
  | { kind: 'decisions'; decisions: DecisionEntry[] };

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

class RecordWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(v: number): void {
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  text(encoded: Buffer): void {
    this.varint(encoded.length);
    this.raw(encoded);
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

class RecordReader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('tail_sampling WAL: record ends early');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  }

  raw(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('tail_sampling WAL: record ends early');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(): string {
    return this.raw(this.varint()).toString('utf8');
  }
}

/** The ResourceSpans that carries a spans record's metadata (it has no spans). */
function metadata(tenant: string, arrivalMs: number): ResourceSpans {
  return {
    resource: {
      attributes: [
        { key: META_VERSION, value: { type: 'int', value: BigInt(FORMAT_VERSION) } },
        { key: META_TENANT, value: { type: 'string', value: tenant } },
        { key: META_ARRIVAL, value: { type: 'double', value: arrivalMs } },
      ],
      droppedAttributesCount: 0,
    },
    schemaUrl: '',
    scopeSpans: [],
  };
}

/** The batch as written: its metadata ResourceSpans first, then the spans' own. */
export function spansRecordBatch(tenant: string, arrivalMs: number, batch: readonly ResourceSpans[]): ResourceSpans[] {
  return [metadata(tenant, arrivalMs), ...batch];
}

/**
 * The spans record of spansRecordBatch(tenant, arrivalMs, batch), made from the
 * batch's wire form instead of encoding it: TracesData is one repeated field,
 * so the metadata's encoding followed by the batch's is the whole record.
 */
export function spansRecordFromWire(tenant: string, arrivalMs: number, wire: Uint8Array): Uint8Array {
  const head = encodeTracesData([metadata(tenant, arrivalMs)]);
  const out = new Uint8Array(head.length + wire.length);
  out.set(head, 0);
  out.set(wire, head.length);
  return out;
}

function decodeSpansRecord(payload: Uint8Array): SamplerRecord {
  const batch = decodeTracesData(payload);
  const attributes = new Map((batch[0]?.resource.attributes ?? []).map((kv) => [kv.key, kv.value]));
  const version = attributes.get(META_VERSION);
  const tenant = attributes.get(META_TENANT);
  const arrival = attributes.get(META_ARRIVAL);
  if (version?.type !== 'int' || tenant?.type !== 'string' || arrival?.type !== 'double') throw new Error('tail_sampling WAL: a spans record without its metadata');
  if (version.value !== BigInt(FORMAT_VERSION)) throw new Error(`tail_sampling WAL: spans record version ${version.value}, this Skein reads version ${FORMAT_VERSION}`);
  return { kind: 'spans', tenant: tenant.value, arrivalMs: arrival.value, batch, tracesData: payload };
}

export function encodeDecisionsRecord(decisions: readonly DecisionEntry[]): Uint8Array {
  const byTenant = new Map<string, DecisionEntry[]>();
  for (const d of decisions) {
    const list = byTenant.get(d.tenant);
    if (list) list.push(d);
    else byTenant.set(d.tenant, [d]);
  }
  const groups = [...byTenant].map(([tenant, list]) => ({ name: Buffer.from(tenant, 'utf8'), list }));
  let size = 2 + varintSize(groups.length);
  for (const g of groups) size += varintSize(g.name.length) + g.name.length + varintSize(g.list.length) + g.list.length * (TRACE_ID_BYTES + 1);
  const w = new RecordWriter(size);
  w.byte(FORMAT_VERSION);
  w.byte(KIND_DECISIONS);
  w.varint(groups.length);
  for (const g of groups) {
    w.text(g.name);
    w.varint(g.list.length);
    for (const d of g.list) {
      w.raw(d.traceId);
      w.byte(d.sampled ? 1 : 0);
    }
  }
  return w.buf;
}

/** Encodes a spans record from the batch spansRecordBatch() made. */
export function encodeSpansRecord(recordBatch: readonly ResourceSpans[]): Uint8Array {
  return encodeTracesData(recordBatch);
}

export function decodeRecord(payload: Uint8Array): SamplerRecord {
  if (payload[0] === TRACES_DATA_START) return decodeSpansRecord(payload);
  const r = new RecordReader(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  const version = r.byte();
  if (version !== FORMAT_VERSION) throw new Error(`tail_sampling WAL: record format version ${version}, this Skein reads version ${FORMAT_VERSION}`);
  const kind = r.byte();
  if (kind === KIND_DECISIONS) {
    const decisions: DecisionEntry[] = [];
    for (let groups = r.varint(); groups > 0; groups--) {
      const tenant = r.text();
      for (let n = r.varint(); n > 0; n--) {
        const traceId = Uint8Array.from(r.raw(TRACE_ID_BYTES));
        decisions.push({ tenant, traceId, sampled: r.byte() === 1 });
      }
    }
    return { kind: 'decisions', decisions };
  }
  throw new Error(`tail_sampling WAL: unknown record kind ${kind}`);
}

