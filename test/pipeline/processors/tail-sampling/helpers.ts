// Shared by the tail_sampling tests: temp dirs, a next stage that collects what
// it is given, a workload of realistic traces, and processor set-up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyValue, KeyValue, ResourceSpans, Span } from '../../../../src/otlp/model.js';
import { toHex } from '../../../../src/otlp/model.js';
import type { TracesConsumer } from '../../../../src/pipeline/consumer.js';
import { tailSamplingSchema, type TailSamplingConfig } from '../../../../src/pipeline/processors/tail-sampling/config.js';
import { TailSamplingProcessor, type TailSamplingOptions } from '../../../../src/pipeline/processors/tail-sampling/tail-sampling.js';
import { silentLogger } from '../../../../src/telemetry/logger.js';

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skein-tail-sampling-'));
  tempDirs.push(dir);
  return dir;
}

/** The errors-or-slow-or-10 % policy of the seed issue, in the collector's syntax. */
export const SEED_POLICIES = [
  { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
  { name: 'slow', type: 'latency', latency: { threshold_ms: 500 } },
  { name: 'rest', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
];

export function parseConfig(raw: Record<string, unknown>): TailSamplingConfig {
  return tailSamplingSchema.parse(raw);
}

/** A real next stage: keeps every batch it is given, by tenant, and can be told to refuse. */
export class CollectingConsumer implements TracesConsumer {
  readonly batches: Array<{ tenant: string; batch: ResourceSpans[] }> = [];
  /** While set, consume() rejects with this error (a next stage that is down). */
  failWith: Error | undefined;

  async consume(tenant: string, batch: ResourceSpans[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.batches.push({ tenant, batch });
  }

  /** Every span received, with its resource's service.name. */
  spans(tenant?: string): Array<{ tenant: string; span: Span; service: string }> {
    const out: Array<{ tenant: string; span: Span; service: string }> = [];
    for (const b of this.batches) {
      if (tenant !== undefined && b.tenant !== tenant) continue;
      for (const rs of b.batch) {
        const service = rs.resource.attributes.find((kv) => kv.key === 'service.name')?.value;
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) out.push({ tenant: b.tenant, span, service: service?.type === 'string' ? service.value : '' });
        }
      }
    }
    return out;
  }

  /** Span IDs received per trace ID (hex), for completeness checks. */
  spanIdsByTrace(tenant?: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const { span } of this.spans(tenant)) {
      const traceId = toHex(span.traceId);
      let ids = out.get(traceId);
      if (!ids) out.set(traceId, (ids = new Set()));
      ids.add(toHex(span.spanId));
    }
    return out;
  }

  get spanCount(): number {
    return this.spans().length;
  }
}

export interface StartedProcessor {
  processor: TailSamplingProcessor;
  next: CollectingConsumer;
  dataDir: string;
}

export async function startProcessor(
  raw: Record<string, unknown>,
  opts: { dataDir?: string; name?: string; next?: CollectingConsumer; options?: TailSamplingOptions } = {},
): Promise<StartedProcessor> {
  const dataDir = opts.dataDir ?? tempDir();
  const next = opts.next ?? new CollectingConsumer();
  const processor = new TailSamplingProcessor(parseConfig(raw), next, { name: opts.name ?? 'tail_sampling', logger: silentLogger, dataDir }, opts.options ?? {});
  await processor.start();
  return { processor, next, dataDir };
}

/**
 * Time under the test's control, for the processor's decisions (its timers stay
 * real and look at this clock when they fire): a trace is due only once the
 * test has advanced past its decision_wait, however slow the machine is.
 */
export class ManualClock {
  constructor(public nowMs = 1_700_000_000_000) {}

  readonly now = (): number => this.nowMs;

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export { waitFor } from '../../../helpers/poll.js';

// ---- workload ---------------------------------------------------------------

/** A small seeded PRNG (mulberry32), so every run and every instance sees the same workload. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

const str = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });
const int = (key: string, value: number): KeyValue => ({ key, value: { type: 'int', value: BigInt(value) } });
const bool = (key: string, value: boolean): KeyValue => ({ key, value: { type: 'bool', value } });

export function attr(key: string, value: AnyValue): KeyValue {
  return { key, value };
}

const SERVICES = ['frontend', 'checkout', 'payments', 'inventory', 'shipping'];
const ROUTES = ['/api/v1/cart', '/api/v1/checkout', '/api/v1/items/{id}', '/api/v1/users/{id}', '/health'];

function resourceOf(service: string) {
  return {
    attributes: [
      str('service.name', service),
      str('service.version', '1.4.2'),
      str('service.namespace', 'shop'),
      str('deployment.environment', 'production'),
      str('host.name', `${service}-7d9f8b6c4-x2k9p`),
      str('k8s.pod.name', `${service}-7d9f8b6c4-x2k9p`),
      str('telemetry.sdk.language', 'nodejs'),
      str('telemetry.sdk.version', '1.25.1'),
    ],
    droppedAttributesCount: 0,
  };
}

const SCOPE = { name: '@opentelemetry/instrumentation-http', version: '0.52.1', attributes: [], droppedAttributesCount: 0 };

export type TraceKind = 'error' | 'slow' | 'plain';

export interface GeneratedTrace {
  traceId: Uint8Array;
  kind: TraceKind;
  spans: Span[];
  /** The trace's spans as batches, one per service (how an SDK per service would send them). */
  batches: ResourceSpans[][];
}

/**
 * A trace of about 15 spans across 2-3 services, each span with 12 attributes.
 * `error`: one span has status ERROR; `slow`: the trace lasts 600-2000 ms;
 * `plain`: no error, under 400 ms.
 */
export function generateTrace(random: () => number, kind: TraceKind, startNs: bigint, spanCount = 15): GeneratedTrace {
  const traceId = bytes(random, 16);
  const durationMs = kind === 'slow' ? 600 + Math.floor(random() * 1400) : 20 + Math.floor(random() * 380);
  const services = SERVICES.slice(0, 2 + Math.floor(random() * 2));
  const rootId = bytes(random, 8);
  const route = ROUTES[Math.floor(random() * ROUTES.length)]!;
  const errorAt = kind === 'error' ? 1 + Math.floor(random() * (spanCount - 1)) : -1;
  const spans: Span[] = [];
  const byService = new Map<string, Span[]>();
  for (let i = 0; i < spanCount; i++) {
    const service = services[i % services.length]!;
    const start = startNs + (i === 0 ? 0n : BigInt(Math.floor(random() * durationMs * 0.5)) * 1_000_000n);
    const end = i === 0 ? startNs + BigInt(durationMs) * 1_000_000n : start + BigInt(1 + Math.floor(random() * durationMs * 0.4)) * 1_000_000n;
    const span: Span = {
      traceId,
      spanId: i === 0 ? rootId : bytes(random, 8),
      traceState: '',
      parentSpanId: i === 0 ? new Uint8Array(0) : rootId,
      flags: 1,
      name: i === 0 ? `GET ${route}` : `${service} op-${i % 5}`,
      kind: i === 0 ? 2 : 3,
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      attributes: [
        str('http.request.method', 'GET'),
        str('http.route', route),
        int('http.response.status_code', i === errorAt ? 500 : 200),
        str('url.scheme', 'https'),
        str('server.address', `${service}.shop.svc.cluster.local`),
        int('server.port', 8080),
        str('network.protocol.version', '1.1'),
        str('user_agent.original', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/125.0'),
        str('db.system', 'postgresql'),
        str('db.statement', 'SELECT id, name, price FROM items WHERE id = $1'),
        int('thread.id', Math.floor(random() * 64)),
        bool('cache.hit', random() < 0.5),
      ],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: i === errorAt ? { code: 2, message: 'upstream failed' } : { code: 0, message: '' },
    };
    spans.push(span);
    const list = byService.get(service);
    if (list) list.push(span);
    else byService.set(service, [span]);
  }
  const batches = [...byService].map(([service, list]) => [
    { resource: resourceOf(service), schemaUrl: 'https://opentelemetry.io/schemas/1.25.0', scopeSpans: [{ scope: SCOPE, schemaUrl: '', spans: list }] },
  ]);
  return { traceId, kind, spans, batches };
}

/** `count` traces: 2 % with an error, 5 % slow, the rest plain, in a seeded order. */
export function generateWorkload(seed: number, count: number): GeneratedTrace[] {
  const random = prng(seed);
  const base = BigInt(Date.now()) * 1_000_000n;
  const traces: GeneratedTrace[] = [];
  for (let i = 0; i < count; i++) {
    const kind: TraceKind = i % 50 === 7 ? 'error' : i % 20 === 3 ? 'slow' : 'plain';
    traces.push(generateTrace(random, kind, base + BigInt(i) * 1_000_000n));
  }
  return traces;
}

/**
 * Requests as services' SDKs would send them: each request holds one
 * service's spans of `tracesPerRequest` traces under one resource and scope,
 * so every trace arrives in 2-3 requests.
 */
export function requestsOf(traces: readonly GeneratedTrace[], tracesPerRequest = 50): ResourceSpans[][] {
  const requests: ResourceSpans[][] = [];
  for (let i = 0; i < traces.length; i += tracesPerRequest) {
    const group = traces.slice(i, i + tracesPerRequest);
    const rounds = Math.max(...group.map((t) => t.batches.length));
    for (let round = 0; round < rounds; round++) {
      const parts = group.flatMap((t) => t.batches[round] ?? []);
      if (parts.length === 0) continue;
      // One ResourceSpans per service in the request, as an SDK's exporter sends it.
      const byService = new Map<unknown, ResourceSpans>();
      for (const rs of parts) {
        const service = rs.resource.attributes[0]!.value;
        const key = service.type === 'string' ? service.value : '';
        const merged = byService.get(key);
        if (merged) merged.scopeSpans[0]!.spans.push(...rs.scopeSpans[0]!.spans);
        else byService.set(key, { ...rs, scopeSpans: [{ ...rs.scopeSpans[0]!, spans: [...rs.scopeSpans[0]!.spans] }] });
      }
      requests.push([...byService.values()]);
    }
  }
  return requests;
}
