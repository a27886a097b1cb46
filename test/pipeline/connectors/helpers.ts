// Shared by the connector tests: spans built in the model, a clock the test
// moves, a logger that keeps its lines, and the registry read back as
// `series → value`.
import type { KeyValue, ResourceSpans, Span, SpanKind, StatusCode } from '../../../src/otlp/model.js';
import { SpanKind as Kind, StatusCode as Status } from '../../../src/otlp/model.js';
import { createLogger, type Logger } from '../../../src/telemetry/logger.js';
import { registry } from '../../../src/telemetry/metrics.js';

/** Epoch of the tests' clock: 2024-01-01T00:00:00Z, on a minute boundary. */
export const T0 = Date.UTC(2024, 0, 1);

export class FakeClock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

let nextId = 1;

/** A fresh 16-byte trace ID. */
export function traceId(): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(12, nextId++);
  return id;
}

/** A fresh 8-byte span ID. */
export function spanId(): Uint8Array {
  const id = new Uint8Array(8);
  new DataView(id.buffer).setUint32(4, nextId++);
  return id;
}

export function attrs(values: Record<string, string | number | boolean>): KeyValue[] {
  return Object.entries(values).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { type: 'string', value: v }
        : typeof v === 'boolean'
          ? { type: 'bool', value: v }
          : Number.isInteger(v)
            ? { type: 'int', value: BigInt(v) }
            : { type: 'double', value: v },
  }));
}

export interface SpanSpec {
  trace: Uint8Array;
  id?: Uint8Array;
  parent?: Uint8Array;
  name?: string;
  kind: SpanKind;
  status?: StatusCode;
  /** Duration in milliseconds (default 10). */
  ms?: number;
  attributes?: Record<string, string | number | boolean>;
}

export function span(spec: SpanSpec): Span {
  const start = BigInt(T0) * 1_000_000n;
  return {
    traceId: spec.trace,
    spanId: spec.id ?? spanId(),
    traceState: '',
    parentSpanId: spec.parent ?? new Uint8Array(0),
    flags: 0,
    name: spec.name ?? 'op',
    kind: spec.kind,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round((spec.ms ?? 10) * 1_000_000)),
    attributes: attrs(spec.attributes ?? {}),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: spec.status ?? Status.UNSET, message: '' },
  };
}

/** One resource (`service.name` plus `resource`) holding `spans`. */
export function resource(service: string | undefined, spans: Span[], resourceAttrs: Record<string, string> = {}): ResourceSpans {
  return {
    resource: { attributes: attrs({ ...(service === undefined ? {} : { 'service.name': service }), ...resourceAttrs }), droppedAttributesCount: 0 },
    schemaUrl: '',
    scopeSpans: [{ scope: { name: 'test', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }],
  };
}

/**
 * A CLIENT span in `client` and the SERVER span it called in `server`, as two
 * resources (their own batches when `split`).
 */
export function call(
  client: string,
  server: string,
  opts: { trace?: Uint8Array; clientStatus?: StatusCode; serverStatus?: StatusCode; clientMs?: number; serverMs?: number; kinds?: 'rpc' | 'messaging' } = {},
): { client: ResourceSpans; server: ResourceSpans } {
  const trace = opts.trace ?? traceId();
  const clientId = spanId();
  const messaging = opts.kinds === 'messaging';
  return {
    client: resource(client, [span({ trace, id: clientId, kind: messaging ? Kind.PRODUCER : Kind.CLIENT, status: opts.clientStatus, ms: opts.clientMs ?? 12 })]),
    server: resource(server, [span({ trace, parent: clientId, kind: messaging ? Kind.CONSUMER : Kind.SERVER, status: opts.serverStatus, ms: opts.serverMs ?? 10 })]),
  };
}

/** A logger whose JSON lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void out.push(line) });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Every sample of a metric family as `name{labels}` → value, straight from the registry's exposition. */
export async function samples(name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (registry.getSingleMetric(name) === undefined) return out;
  const text = await registry.getSingleMetricAsString(name);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The samples as a plain object (for deepEqual with a readable diff). */
export async function sampleObject(name: string): Promise<Record<string, number>> {
  return Object.fromEntries(await samples(name));
}

export { Kind, Status };
