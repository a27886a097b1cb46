// Attribute values as metric label values. Tempo's metrics-generator reads a
// dimension from the resource first and the span second, and renders any
// value type as text; the connectors do the same so a dashboard built on
// Tempo's metrics reads Skein's unchanged.
import type { AnyValue, KeyValue } from '../../../otlp/model.js';

/** The attribute under `key` as label text, or undefined when absent. */
export function attributeText(attrs: readonly KeyValue[], key: string): string | undefined {
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    if (kv.key === key) return valueText(kv.value);
  }
  return undefined;
}

/** True when `attrs` holds `key`, whatever its value. */
export function hasAttribute(attrs: readonly KeyValue[], key: string): boolean {
  for (let i = 0; i < attrs.length; i++) if (attrs[i]!.key === key) return true;
  return false;
}

/** Text of any value: strings as they are, numbers and booleans as literals, arrays and maps as JSON. */
export function valueText(v: AnyValue): string {
  switch (v.type) {
    case 'string':
      return v.value;
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return v.value.toString();
    case 'double':
      return String(v.value);
    case 'bytes':
      return Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64');
    case 'array':
    case 'kvlist':
      return JSON.stringify(toJson(v));
    case 'empty':
      return '';
  }
}

function toJson(v: AnyValue): unknown {
  switch (v.type) {
    case 'array':
      return v.value.map(toJson);
    case 'kvlist':
      return Object.fromEntries(v.value.map((kv) => [kv.key, toJson(kv.value)]));
    case 'int':
      return v.value.toString();
    default:
      return valueText(v);
  }
}
