// How a tag's values are read from a decoded span (the head) and from a tag index;
// blocks/tag-sql.ts reads the same from block rows. The three agree: scalar attribute
// values with their types, intrinsics as words or strings, empty strings only where
// the attribute holds one (never for intrinsics nor on v1).
import { stringAttribute, type AnyValue, type KeyValue, type StoredSpan } from '../../otlp/model.js';
import type { IndexedValue, TagIndex } from '../blocks/tag-index.js';
import type { TagTarget, TagValue } from './request.js';
import { KIND_BY_CODE, STATUS_BY_CODE } from './values.js';

export interface TargetReader {
  /** Values of one decoded span. */
  fromSpan: (s: StoredSpan, add: (v: TagValue) => void) => void;
  /** All values of a block or head from its tag index, or undefined when the index cannot tell. */
  fromIndex: (index: TagIndex) => IndexedValue[] | undefined;
}

export function targetReader(target: TagTarget): TargetReader {
  switch (target.type) {
    case 'attribute':
      return attributeReader(target);
    case 'legacy':
      return legacyReader(target.name);
    case 'intrinsic':
      return intrinsicReader(target.name);
  }
}

function attributeReader({ scope, name }: Extract<TagTarget, { type: 'attribute' }>): TargetReader {
  const pick = (attrs: readonly KeyValue[], add: (v: TagValue) => void) => {
    for (const kv of attrs) {
      if (kv.key !== name) continue;
      const v = typedValue(kv.value);
      if (v) add(v);
    }
  };
  return {
    fromSpan: (s, add) => {
      switch (scope) {
        case 'span':
          return pick(s.span.attributes, add);
        case 'resource':
          return pick(s.resource.attributes, add);
        case 'none':
          pick(s.span.attributes, add);
          return pick(s.resource.attributes, add);
        case 'instrumentation':
          return pick(s.scope.attributes, add);
        case 'event':
          for (const e of s.span.events) pick(e.attributes, add);
          return;
        case 'link':
          for (const l of s.span.links) pick(l.attributes, add);
          return;
      }
    },
    fromIndex: (index) => (scope === 'none' ? union(index.values('span', name), index.values('resource', name)) : index.values(scope, name)),
  };
}

/** Tempo's v1 values of a bare name: non-empty strings of span and resource attributes, plus span names for `name`. */
function legacyReader(name: string): TargetReader {
  const pick = (attrs: readonly KeyValue[], add: (v: TagValue) => void) => {
    for (const kv of attrs) if (kv.key === name && kv.value.type === 'string' && kv.value.value !== '') add({ type: 'string', value: kv.value.value });
  };
  return {
    fromSpan: (s, add) => {
      pick(s.span.attributes, add);
      pick(s.resource.attributes, add);
      if (name === 'name' && s.span.name !== '') add({ type: 'string', value: s.span.name });
    },
    fromIndex: (index) =>
      union(index.values('span', name), index.values('resource', name), name === 'name' ? index.intrinsicValues('name') : [])?.filter(
        (v) => v.type === 'string' && v.value !== '',
      ),
  };
}

function intrinsicReader(name: Extract<TagTarget, { type: 'intrinsic' }>['name']): TargetReader {
  const fromIndex = (index: TagIndex) => index.intrinsicValues(name);
  const str = (get: (s: StoredSpan) => string, rootOnly = false): TargetReader => ({
    fromIndex,
    fromSpan: (s, add) => {
      if (rootOnly && s.span.parentSpanId.length > 0) return;
      const v = get(s);
      if (v !== '') add({ type: 'string', value: v });
    },
  });
  switch (name) {
    case 'name':
      return str((s) => s.span.name);
    case 'statusMessage':
      return str((s) => s.span.status.message);
    case 'rootName':
      return str((s) => s.span.name, true);
    case 'rootServiceName':
      return str((s) => stringAttribute(s.resource.attributes, 'service.name') ?? '', true);
    case 'instrumentation:name':
      return str((s) => s.scope.name);
    case 'instrumentation:version':
      return str((s) => s.scope.version);
    case 'event:name':
      return {
        fromIndex,
        fromSpan: (s, add) => {
          for (const e of s.span.events) if (e.name !== '') add({ type: 'string', value: e.name });
        },
      };
    case 'status':
      return { fromIndex, fromSpan: (s, add) => add({ type: 'keyword', value: STATUS_BY_CODE[s.span.status.code] ?? 'unset' }) };
    case 'kind':
      return { fromIndex, fromSpan: (s, add) => add({ type: 'keyword', value: KIND_BY_CODE[s.span.kind] ?? 'unspecified' }) };
  }
}

/** Concatenated lists, or undefined when any is. */
function union(...lists: Array<IndexedValue[] | undefined>): IndexedValue[] | undefined {
  return lists.some((l) => l === undefined) ? undefined : lists.flatMap((l) => l!);
}

function typedValue(v: AnyValue): TagValue | undefined {
  switch (v.type) {
    case 'string':
      return { type: 'string', value: v.value };
    case 'int':
      return { type: 'int', value: v.value.toString() };
    case 'double':
      return { type: 'float', value: String(v.value) };
    case 'bool':
      return { type: 'bool', value: String(v.value) };
    default:
      // Arrays, maps and bytes are not offered: TraceQL cannot compare them with a literal.
      return undefined;
  }
}
