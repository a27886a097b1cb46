// Attribute values that have no column of their own (arrays, key-value lists)
// are kept as text in the OTLP/JSON encoding of AnyValue, which people reading
// the Parquet files already know. It is lossless: 64-bit integers are decimal
// strings, bytes are base64, and the doubles JSON has no number for (NaN, ±Infinity,
// -0) are strings, as proto3's JSON mapping allows.
import type { AnyValue, KeyValue } from '../../otlp/model.js';

export function anyValueToJson(v: AnyValue): string {
  switch (v.type) {
    case 'string':
      return `{"stringValue":${JSON.stringify(v.value)}}`;
    case 'bool':
      return `{"boolValue":${v.value}}`;
    case 'int':
      return `{"intValue":"${v.value}"}`;
    case 'double':
      return `{"doubleValue":${doubleToJson(v.value)}}`;
    case 'bytes':
      return `{"bytesValue":"${Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64')}"}`;
    case 'array':
      return `{"arrayValue":{"values":[${v.value.map(anyValueToJson).join(',')}]}}`;
    case 'kvlist':
      return `{"kvlistValue":{"values":[${v.value.map(keyValueToJson).join(',')}]}}`;
    case 'empty':
      return '{}';
  }
}

function keyValueToJson(kv: KeyValue): string {
  return `{"key":${JSON.stringify(kv.key)},"value":${anyValueToJson(kv.value)}}`;
}

/** A double as JSON: a number when JSON has one that reads back to the same value, else a string. */
function doubleToJson(d: number): string {
  if (Number.isNaN(d) || !Number.isFinite(d)) return `"${d}"`;
  if (Object.is(d, -0)) return '"-0"';
  return String(d);
}

export function anyValueFromJson(text: string): AnyValue {
  return fromParsed(JSON.parse(text) as unknown);
}

function fromParsed(json: unknown): AnyValue {
  if (typeof json !== 'object' || json === null) throw new Error(`not an OTLP/JSON AnyValue: ${JSON.stringify(json)}`);
  const o = json as Record<string, unknown>;
  if ('stringValue' in o) return { type: 'string', value: String(o.stringValue) };
  if ('boolValue' in o) return { type: 'bool', value: o.boolValue === true };
  if ('intValue' in o) return { type: 'int', value: BigInt(o.intValue as string) };
  if ('doubleValue' in o) return { type: 'double', value: Number(o.doubleValue) };
  if ('bytesValue' in o) return { type: 'bytes', value: new Uint8Array(Buffer.from(String(o.bytesValue), 'base64')) };
  if ('arrayValue' in o) {
    const values = ((o.arrayValue as { values?: unknown[] } | null)?.values ?? []) as unknown[];
    return { type: 'array', value: values.map(fromParsed) };
  }
  if ('kvlistValue' in o) {
    const values = ((o.kvlistValue as { values?: unknown[] } | null)?.values ?? []) as Array<{ key: string; value?: unknown }>;
    return { type: 'kvlist', value: values.map((kv) => ({ key: kv.key, value: kv.value === undefined ? { type: 'empty' } : fromParsed(kv.value) })) };
  }
  return { type: 'empty' };
}
