// Shared pieces of the redaction tests: the next stage (a real consumer that
// keeps what it receives), batch builders and a serializer for leak searches.
import type { AnyValue, KeyValue, ResourceSpans, Span } from '../../../../src/otlp/model.js';
import type { TracesConsumer } from '../../../../src/pipeline/consumer.js';
import type { Processor } from '../../../../src/pipeline/component.js';
import { redactionFactory } from '../../../../src/pipeline/processors/redaction/index.js';
import { createLogger, silentLogger, type Logger } from '../../../../src/telemetry/logger.js';

/** The stage after redaction: keeps every batch it is handed. */
export class CollectingConsumer implements TracesConsumer {
  readonly received: Array<{ tenant: string; batch: ResourceSpans[] }> = [];
  async consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    this.received.push({ tenant, batch });
  }
  get last(): ResourceSpans[] {
    const entry = this.received.at(-1);
    if (!entry) throw new Error('nothing received');
    return entry.batch;
  }
}

let processorSeq = 0;

/** A redaction processor from YAML-shaped options, in front of a collecting consumer. */
export function redaction(
  options: Record<string, unknown> = {},
  opts: { name?: string; logger?: Logger } = {},
): { processor: Processor; next: CollectingConsumer; name: string } {
  const next = new CollectingConsumer();
  const name = opts.name ?? `redaction/test${++processorSeq}`;
  const config = redactionFactory.schema.parse(options);
  const processor = redactionFactory.create(config, next, { name, logger: opts.logger ?? silentLogger, dataDir: '/nonexistent' });
  return { processor, next, name };
}

/** A logger whose JSON lines land in `lines`. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('info', { write: (line: string) => void lines.push(line) }), lines };
}

export function str(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

export function int(key: string, value: number | bigint): KeyValue {
  return { key, value: { type: 'int', value: BigInt(value) } };
}

export function arr(key: string, values: AnyValue[]): KeyValue {
  return { key, value: { type: 'array', value: values } };
}

export function kvlist(key: string, entries: KeyValue[]): KeyValue {
  return { key, value: { type: 'kvlist', value: entries } };
}

export function sv(value: string): AnyValue {
  return { type: 'string', value };
}

export function spanWith(attributes: KeyValue[], extra: Partial<Span> = {}): Span {
  return {
    traceId: Uint8Array.from(Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex')),
    spanId: Uint8Array.from(Buffer.from('00f067aa0ba902b7', 'hex')),
    traceState: '',
    parentSpanId: new Uint8Array(0),
    flags: 1,
    name: 'GET /users/{id}',
    kind: 2,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_250_000_000n,
    attributes,
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    ...extra,
  };
}

/** One resource, one scope, the given spans. */
export function batchOf(spans: Span[], resource: KeyValue[] = [str('service.name', 'users')], scope: KeyValue[] = []): ResourceSpans[] {
  return [
    {
      resource: { attributes: resource, droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'test', version: '1.0.0', attributes: scope, droppedAttributesCount: 0 }, schemaUrl: '', spans }],
    },
  ];
}

/** The batch as text, IDs as hex and 64-bit integers as decimals: what a leak search reads. */
export function serialize(batch: unknown): string {
  return JSON.stringify(batch, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
    return value;
  });
}

/** Attribute value by key (first match), for assertions. */
export function attr(attrs: readonly KeyValue[], key: string): AnyValue | undefined {
  return attrs.find((kv) => kv.key === key)?.value;
}

/** The string value of an attribute, failing loudly when it is missing or not a string. */
export function strAttr(attrs: readonly KeyValue[], key: string): string {
  const value = attr(attrs, key);
  if (value?.type !== 'string') throw new Error(`attribute ${key} is ${JSON.stringify(serialize(value))}, not a string`);
  return value.value;
}

export function firstSpan(batch: ResourceSpans[]): Span {
  const span = batch[0]?.scopeSpans[0]?.spans[0];
  if (!span) throw new Error('no span');
  return span;
}
