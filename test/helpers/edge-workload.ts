// A seeded workload of the spans a block writer finds hardest to get right, for
// tests that hold two writers (or a writer and an old block) to the same output:
// every attribute value kind and its edges, empty strings and lists everywhere,
// values of megabytes, events and links with attributes, resources and scopes
// sharing or not sharing their objects, every span kind and status, a
// 10,000-span trace, ties in start time, odd trees (orphans, cycles, several
// roots) and span IDs repeated across the batches of one trace.
//
// The same options always give the same spans (no clock, no crypto randomness),
// so blocks written from it can be committed and compared with later.
import { fromHex, toHex, type AnyValue, type InstrumentationScope, type KeyValue, type Resource, type Span, type StoredSpan, type TraceSpans } from '../../src/otlp/model.js';
import { Rng } from '../../bench/prng.js';
import { basicSpan, everyValueAttributes } from '../store/blocks/fixtures.js';

export interface EdgeWorkloadOptions {
  seed?: number;
  /** Start of the first trace (unix nanoseconds). */
  startUnixNano?: bigint;
  /** Bytes (UTF-8) of the one huge string attribute. */
  hugeValueBytes?: number;
  /** Spans of the big trace. */
  bigTraceSpans?: number;
}

export const HUGE_VALUE_BYTES = 1.5 * 1024 * 1024;
export const BIG_TRACE_SPANS = 10_000;

/** The traces with a job of their own, by what they are for. */
export interface EdgeTraceIds {
  /** Every field and value kind, NUL characters, every span kind and status code. */
  every: string;
  /** Empty names, messages, trace states, keys, values, resources and scopes. */
  empty: string;
  /** The huge string attribute, a big event, a span of many attributes, a long array. */
  huge: string;
  /** bigTraceSpans spans: a deep chain, a wide fan-out, equal start times, orphans. */
  big: string;
  /** All spans starting at the same nanosecond. */
  ties: string;
  /** Delivered in three batches repeating span IDs (the first copy of an ID is what a block keeps). */
  dupes: string;
  /** Orphans, a span that is its own parent, a cycle, an all-zero parent ID, two roots. */
  oddTree: string;
  /** A 64-bit trace ID (leading zeros), as Zipkin and Jaeger clients send; a span ID `every` uses too. */
  shortId: string;
  /** Largest flags and dropped counts, event times at 0 and 2^64-1, an end before its start. */
  limits: string;
}

export interface EdgeWorkload {
  /**
   * What a writer is handed: sorted by trace ID, the spans of a trace in no particular
   * order, and a trace delivered in several batches as consecutive entries.
   */
  traces: TraceSpans[];
  ids: EdgeTraceIds;
}

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;
/** Indexes of Generator.resources and .scopes without attributes of every kind. */
const LIGHT_RESOURCES = [0, 2, 3, 4, 5];
const LIGHT_SCOPES = [0, 2, 3];

const s = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });
const int = (key: string, value: bigint): KeyValue => ({ key, value: { type: 'int', value } });

/** Words of the huge value: several UTF-8 widths, so a byte count is never a character count. */
const WORDS = [
  'select', 'from', 'where', 'order', 'id', 'name', 'value', 'null', '42', '-1', '3.14', 'true', 'é', 'ß', 'ü', 'ø', 'ñ', 'ĳ',
  'Ω', 'λ', 'я', 'ж', '✓', '→', '€', '—', '日本', '語', '中文', '한국', '🚀', '🌍', '👍🏽', '"q"', '\\', '\t', '\n', '{', '}',
  '[', ']', ',', ':', '<tag>', '&amp;', 'http://example.com/a?b=c&d=e', '0x7fffffff', 'Error:', 'at', 'node:internal', '\u0001', '\u0000',
];

export function edgeWorkload(opts: EdgeWorkloadOptions = {}): EdgeWorkload {
  const rng = new Rng(opts.seed ?? 15);
  const start = opts.startUnixNano ?? 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
  const gen = new Generator(rng, start);
  const ids: EdgeTraceIds = {
    every: gen.everyTrace(),
    empty: gen.emptyTrace(),
    huge: gen.hugeTrace(opts.hugeValueBytes ?? HUGE_VALUE_BYTES),
    big: gen.bigTrace(opts.bigTraceSpans ?? BIG_TRACE_SPANS),
    ties: gen.tiesTrace(),
    dupes: gen.dupesTrace(),
    oddTree: gen.oddTreeTrace(),
    shortId: gen.shortIdTrace(),
    limits: gen.limitsTrace(),
  };
  for (let i = 0; i < 40; i++) gen.plainTrace(i);
  return { traces: gen.sorted(), ids };
}

/**
 * The spans of each trace as a block keeps them, by trace ID: a trace's batches merged,
 * the first span of each span ID kept, and a span ending before it starts lasting 0 ns
 * (a block stores a start and an unsigned duration). What every writer must keep.
 */
export function asWritten(traces: readonly TraceSpans[]): Map<string, StoredSpan[]> {
  const out = new Map<string, StoredSpan[]>();
  const seen = new Map<string, Set<string>>();
  for (const t of traces) {
    let list = out.get(t.traceId);
    let ids = seen.get(t.traceId);
    if (!list || !ids) {
      out.set(t.traceId, (list = []));
      seen.set(t.traceId, (ids = new Set()));
    }
    for (const st of t.spans) {
      const id = toHex(st.span.spanId);
      if (ids.has(id)) continue;
      ids.add(id);
      const sp = st.span;
      list.push(sp.endTimeUnixNano >= sp.startTimeUnixNano ? st : { ...st, span: { ...sp, endTimeUnixNano: sp.startTimeUnixNano } });
    }
  }
  return out;
}

class Generator {
  /** Entries in the order made; sorted() orders them by trace ID, keeping a trace's batches in order. */
  private readonly entries: TraceSpans[] = [];
  private traceCount = 0;
  /** A span ID that a later trace uses again: IDs are unique within a trace only. */
  private sharedSpanId: Uint8Array | undefined;
  /** text()'s lines, made at its first call. */
  private readonly lines: string[] = [];
  private readonly resources: Resource[];
  private readonly scopes: InstrumentationScope[];

  constructor(
    private readonly rng: Rng,
    private readonly start: bigint,
  ) {
    const every = everyValueAttributes();
    this.resources = [
      { attributes: [s('service.name', 'edge-frontend'), s('service.version', '1.2.3'), s('host.name', 'edge-host-1')], droppedAttributesCount: 0 },
      { attributes: [s('service.name', 'edge-backend'), ...every], droppedAttributesCount: 7 },
      // service.name that is not a string: the block's service_name column is NULL.
      { attributes: [int('service.name', 42n), s('k8s.pod.name', 'edge-pod')], droppedAttributesCount: 0 },
      // No attributes at all.
      { attributes: [], droppedAttributesCount: 0 },
      // The same content as the first, another object (blocks key resources by content).
      { attributes: [s('service.name', 'edge-frontend'), s('service.version', '1.2.3'), s('host.name', 'edge-host-1')], droppedAttributesCount: 0 },
      { attributes: [s('service.name', ''), s('', '')], droppedAttributesCount: MAX_U32 },
    ];
    this.scopes = [
      { name: '@opentelemetry/instrumentation-http', version: '0.52.1', attributes: [], droppedAttributesCount: 0 },
      { name: 'edge.scope ✓', version: '9.9.9', attributes: every, droppedAttributesCount: 3 },
      { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
      { name: 'io.opentelemetry.jdbc', version: '', attributes: [s('scope.attr', 'x'), int('scope.n', -1n)], droppedAttributesCount: 0 },
    ];
  }

  sorted(): TraceSpans[] {
    return this.entries.map((e, i) => ({ e, i })).sort((a, b) => (a.e.traceId < b.e.traceId ? -1 : a.e.traceId > b.e.traceId ? 1 : a.i - b.i)).map(({ e }) => e);
  }

  // ── the traces ─────────────────────────────────────────────────────────

  everyTrace(): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const every = everyValueAttributes();
    const root = this.span(traceId, undefined, 'every ✓ root', t0, 5_000_000n, {
      traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      flags: 0x301,
      kind: 2,
      attributes: [...every, s('str.nul', 'nul\u0000byte'), s('key.nul\u0000', 'NUL in the key')],
      droppedAttributesCount: 3,
      events: [
        { timeUnixNano: t0 + 1n, name: 'exception', attributes: every, droppedAttributesCount: 2 },
        { timeUnixNano: t0 + 2n, name: 'annotation', attributes: [s('message', 'hello')], droppedAttributesCount: 0 },
        { timeUnixNano: t0 + 2n, name: 'annotation', attributes: [], droppedAttributesCount: 0 },
      ],
      droppedEventsCount: 4,
      links: [
        { traceId: this.id(16), spanId: this.id(8), traceState: 'a=b,c=d', attributes: every, droppedAttributesCount: 1, flags: 0x101 },
        { traceId: this.id(16), spanId: this.id(8), traceState: '', attributes: [s('link.kind', 'follows')], droppedAttributesCount: 0, flags: 0 },
        // A link into this very trace.
        { traceId: fromHex(traceId)!, spanId: this.id(8), traceState: 'x=y', attributes: [], droppedAttributesCount: 0, flags: 1 },
      ],
      droppedLinksCount: 5,
      status: { code: 2, message: 'it broke: "quoted" \\ and\nnewline' },
    });
    this.sharedSpanId = root.spanId;
    const spans: StoredSpan[] = [this.stored(root, 1, 1, 'https://opentelemetry.io/schemas/1.26.0', 'https://example.com/scope-schema')];
    // Every kind under every status, spread over the resources and scopes.
    let n = 0;
    for (let kind = 0; kind <= 5; kind++) {
      for (let code = 0; code <= 2; code++) {
        const message = code === 0 ? '' : code === 1 ? `ok message ${kind}` : `error message ${kind} ✗`;
        const sp = this.span(traceId, root.spanId, `kind ${kind} status ${code}`, t0 + BigInt(10 + n), BigInt(1000 * (n + 1)), {
          kind: kind as Span['kind'],
          status: { code: code as Span['status']['code'], message },
          attributes: [s('kind', String(kind)), int('code', BigInt(code)), { key: 'dbl', value: { type: 'double', value: n / 7 } }],
        });
        spans.push(this.stored(sp, n % this.resources.length, n % this.scopes.length, n % 2 === 0 ? '' : 'https://opentelemetry.io/schemas/1.21.0', n % 3 === 0 ? 'https://example.com/s' : ''));
        n++;
      }
    }
    spans.push(this.stored(this.span(traceId, root.spanId, 'NUL\u0000in the name', t0 + 99n, 1n, { status: { code: 2, message: 'NUL\u0000in the message' } }), 0, 0));
    // One resource object under two schema URLs.
    spans.push(this.stored(this.span(traceId, root.spanId, 'schema a', t0 + 100n, 1n), 0, 0, 'https://opentelemetry.io/schemas/1.0.0', ''));
    spans.push(this.stored(this.span(traceId, root.spanId, 'schema b', t0 + 101n, 1n), 0, 0, 'https://opentelemetry.io/schemas/2.0.0', ''));
    this.add(traceId, this.shuffled(spans));
    return traceId;
  }

  emptyTrace(): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, '', t0, 0n, {
      kind: 0,
      attributes: [s('', ''), { key: 'e', value: { type: 'empty' } }, { key: 'a', value: { type: 'array', value: [] } }, { key: 'k', value: { type: 'kvlist', value: [] } }],
      events: [{ timeUnixNano: t0, name: '', attributes: [], droppedAttributesCount: 0 }],
      links: [{ traceId: this.id(16), spanId: this.id(8), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 }],
      status: { code: 0, message: '' },
    });
    const child = this.span(traceId, root.spanId, '', t0, 0n, { kind: 0 });
    this.add(traceId, [this.stored(root, 3, 2, '', ''), this.stored(child, 3, 2, '', '')]);
    return traceId;
  }

  hugeTrace(hugeBytes: number): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, 'huge', t0, 50_000_000n, { attributes: [s('huge', this.text(hugeBytes)), s('after.huge', 'small')] });
    const stack = this.text(256 * 1024);
    const bigEvent = this.span(traceId, root.spanId, 'big event', t0 + 1000n, 1000n, {
      events: [
        {
          timeUnixNano: t0 + 1500n,
          name: 'exception',
          attributes: [
            s('exception.type', 'Error'),
            s('exception.stacktrace', stack),
            ...Array.from({ length: 100 }, (_, i) => s(`detail.${i}`, this.text(this.rng.int(0, 200)))),
          ],
          droppedAttributesCount: 0,
        },
        ...Array.from({ length: 100 }, (_, i) => ({ timeUnixNano: t0 + 1000n + BigInt(i), name: `log ${i}`, attributes: [int('i', BigInt(i))], droppedAttributesCount: 0 })),
      ],
    });
    const manyAttrs = this.span(traceId, root.spanId, 'many attributes', t0 + 2000n, 1000n, {
      attributes: Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? int(`attr.${i}`, BigInt(i) * 1_000_000_007n) : s(`attr.${i}`, `value ${i}`))),
    });
    const longArray = this.span(traceId, root.spanId, 'x'.repeat(64 * 1024), t0 + 3000n, 1000n, {
      attributes: [
        {
          key: 'long.array',
          value: { type: 'array', value: Array.from({ length: 1000 }, (_, i): AnyValue => (i % 2 === 0 ? { type: 'int', value: BigInt(i) } : { type: 'string', value: `v${i}` })) },
        },
      ],
      links: Array.from({ length: 100 }, () => ({ traceId: this.id(16), spanId: this.id(8), traceState: 'k=v', attributes: [s('l', 'x')], droppedAttributesCount: 0, flags: 0 })),
    });
    this.add(traceId, [this.stored(root, 0, 0), this.stored(bigEvent, 1, 1), this.stored(manyAttrs, 0, 3), this.stored(longArray, 2, 0)]);
    return traceId;
  }

  bigTrace(count: number): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    // Span IDs from a counter under a random prefix: random IDs would make this one trace
    // most of the committed fixture's bytes, and the shuffle below still hides their order.
    const prefix = this.rng.hex(4);
    let next = 0;
    const nextId = (): Uint8Array => fromHex(prefix + (next++).toString(16).padStart(8, '0'))!;
    const root = this.span(traceId, undefined, 'batch job', t0, 60_000_000_000n, { kind: 1, spanId: nextId() });
    const spans: Span[] = [root];
    // A deep chain (nested sets are numbered by a walk that must not recurse).
    let parent = root;
    for (let i = 0; i < Math.min(1000, count / 4) && spans.length < count; i++) {
      parent = this.span(traceId, parent.spanId, `depth ${i}`, t0 + BigInt(i) * 1000n, 1_000_000n, { spanId: nextId() });
      spans.push(parent);
    }
    // A wide fan-out, every fifth sibling starting at the same nanosecond.
    const fanOut = this.span(traceId, root.spanId, 'fan-out', t0 + 5n, 10_000_000n, { kind: 3, spanId: nextId() });
    spans.push(fanOut);
    const names = ['GET /items/{id}', 'SELECT items', 'cache get', 'publish', ''];
    while (spans.length < count - 10) {
      const i = spans.length;
      const p = this.rng.chance(0.5) ? fanOut : spans[this.rng.int(0, spans.length - 1)]!;
      spans.push(
        this.span(traceId, p.spanId, names[i % names.length]!, i % 5 === 0 ? t0 + 5n : t0 + BigInt(i) * 1_000n, BigInt(1000 * (i % 7)), {
          spanId: nextId(),
          kind: (i % 6) as Span['kind'],
          attributes: i % 3 === 0 ? [s('item.id', String(i % 100)), int('retry', BigInt(i % 4))] : [],
          status: i % 50 === 0 ? { code: 2, message: 'timeout' } : { code: 0, message: '' },
        }),
      );
    }
    // Orphans: their parents never arrive.
    while (spans.length < count) spans.push(this.span(traceId, this.id(8), 'orphan', t0 + BigInt(spans.length), 10n, { spanId: nextId() }));
    this.add(
      traceId,
      // Light resources and scopes: those carrying every value kind are the every trace's.
      this.shuffled(spans.map((sp, i) => this.stored(sp, LIGHT_RESOURCES[i % LIGHT_RESOURCES.length]!, LIGHT_SCOPES[i % LIGHT_SCOPES.length]!))),
    );
    return traceId;
  }

  tiesTrace(): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, 'tie root', t0, 1000n);
    const spans = [root, ...Array.from({ length: 30 }, (_, i) => this.span(traceId, i % 2 === 0 ? root.spanId : new Uint8Array(0), `tie ${i}`, t0, BigInt(i)))];
    this.add(traceId, this.shuffled(spans.map((sp) => this.stored(sp, 0, 0))));
    return traceId;
  }

  dupesTrace(): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, 'dupes root', t0, 10_000n);
    const a = this.span(traceId, root.spanId, 'a', t0 + 10n, 100n);
    const b = this.span(traceId, root.spanId, 'b', t0 + 20n, 100n);
    const c = this.span(traceId, a.spanId, 'c', t0 + 30n, 100n);
    // Batch 1 holds a twice (the second copy differs: the first is kept).
    this.add(traceId, [this.stored(root, 0, 0), this.stored(a, 0, 0), this.stored({ ...a, name: 'a, second copy in batch 1' }, 0, 0)]);
    // Batch 2 repeats a (another name, another resource) and brings b.
    this.add(traceId, [this.stored({ ...a, name: 'a, again in batch 2', startTimeUnixNano: t0 }, 1, 1), this.stored(b, 0, 0)]);
    // Batch 3 repeats root and b exactly and brings c.
    this.add(traceId, [this.stored(c, 0, 0), this.stored(root, 0, 0), this.stored(b, 0, 0)]);
    return traceId;
  }

  oddTreeTrace(): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root1 = this.span(traceId, undefined, 'root one', t0, 1000n);
    const root2 = this.span(traceId, new Uint8Array(8), 'root two (all-zero parent ID)', t0 + 1n, 1000n);
    const child = this.span(traceId, root1.spanId, 'child of root one', t0 + 2n, 10n);
    const orphan = this.span(traceId, this.id(8), 'orphan', t0 + 3n, 10n);
    const orphanChild = this.span(traceId, orphan.spanId, 'child of orphan', t0 + 4n, 10n);
    const selfId = this.id(8);
    const self = this.span(traceId, selfId, 'own parent', t0 + 5n, 10n, { spanId: selfId });
    const x = this.id(8);
    const y = this.id(8);
    const cycleX = this.span(traceId, y, 'cycle x', t0 + 6n, 10n, { spanId: x });
    const cycleY = this.span(traceId, x, 'cycle y', t0 + 7n, 10n, { spanId: y });
    this.add(traceId, this.shuffled([root1, root2, child, orphan, orphanChild, self, cycleX, cycleY].map((sp) => this.stored(sp, 0, 0))));
    return traceId;
  }

  shortIdTrace(): string {
    const traceId = `0000000000000000${this.rng.hex(8)}`;
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, 'zipkin root', t0, 1000n, { kind: 2 });
    this.add(traceId, [this.stored(root, 0, 0), this.stored(this.span(traceId, root.spanId, 'zipkin child', t0 + 1n, 10n, { kind: 3, spanId: this.sharedSpanId! }), 0, 0)]);
    return traceId;
  }

  limitsTrace(): string {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, 'limits', t0, 86_400_000_000_000n, {
      flags: MAX_U32,
      droppedAttributesCount: MAX_U32,
      droppedEventsCount: MAX_U32,
      droppedLinksCount: MAX_U32,
      events: [
        { timeUnixNano: 0n, name: 'at zero', attributes: [], droppedAttributesCount: MAX_U32 },
        { timeUnixNano: MAX_U64, name: 'at the end of time', attributes: [], droppedAttributesCount: 0 },
      ],
      links: [{ traceId: this.id(16), spanId: this.id(8), traceState: '', attributes: [], droppedAttributesCount: MAX_U32, flags: MAX_U32 }],
    });
    const backwards = this.span(traceId, root.spanId, 'ends before it starts', t0 + 1000n, 0n);
    backwards.endTimeUnixNano = t0 + 10n;
    const instant = this.span(traceId, root.spanId, 'zero duration', t0 + 2000n, 0n);
    this.add(traceId, [this.stored(root, 0, 0), this.stored(backwards, 0, 0), this.stored(instant, 0, 0)]);
    return traceId;
  }

  /** An ordinary small trace, one of many, so blocks also hold the common case. */
  plainTrace(i: number): void {
    const traceId = this.traceId();
    const t0 = this.traceStart();
    const root = this.span(traceId, undefined, `GET /api/${i % 4}`, t0, 20_000_000n, { kind: 2, attributes: [s('http.route', `/api/${i % 4}`), int('http.response.status_code', i % 9 === 0 ? 500n : 200n)] });
    const spans = [root];
    const children = this.rng.int(1, 6);
    for (let j = 0; j < children; j++) {
      spans.push(this.span(traceId, root.spanId, `SELECT t${j}`, t0 + BigInt(1000 * (j + 1)), 1_000_000n, { kind: 3, attributes: [s('db.system', 'postgresql')] }));
    }
    this.add(traceId, spans.map((sp, j) => this.stored(sp, j === 0 ? 0 : 4, j === 0 ? 0 : 3, 'https://opentelemetry.io/schemas/1.26.0', '')));
  }

  // ── building blocks ────────────────────────────────────────────────────

  private add(traceId: string, spans: StoredSpan[]): void {
    this.entries.push({ traceId, spans });
  }

  private traceId(): string {
    return this.rng.hex(16);
  }

  private id(bytes: number): Uint8Array {
    return fromHex(this.rng.hex(bytes))!;
  }

  /** Traces a millisecond apart, so all lie in one compaction window. */
  private traceStart(): bigint {
    return this.start + BigInt(this.traceCount++) * 1_000_000n;
  }

  private span(traceIdHex: string, parent: Uint8Array | undefined, name: string, startNs: bigint, durationNs: bigint, over: Partial<Span> = {}): Span {
    const base = basicSpan(fromHex(traceIdHex)!, { spanId: this.id(8), parent, name, start: startNs, durationNs });
    return { ...base, flags: 0x100, kind: 1, ...over };
  }


  private stored(span: Span, resource: number, scope: number, resourceSchemaUrl = '', scopeSchemaUrl = ''): StoredSpan {
    return { resource: this.resources[resource]!, resourceSchemaUrl, scope: this.scopes[scope]!, scopeSchemaUrl, span };
  }

  /** A copy in a seeded random order: writers must not rely on the order spans come in. */
  private shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /**
   * Seeded text of exactly `bytes` UTF-8 bytes: lines drawn from a pool of lines of
   * WORDS, so it compresses as big real values (bodies, stack traces, SQL) do.
   */
  private text(bytes: number): string {
    if (this.lines.length === 0) {
      for (let i = 0; i < 64; i++) {
        let line = '';
        while (Buffer.byteLength(line) < 40 + i * 2) line += `${this.rng.pick(WORDS)} `;
        this.lines.push(`${line}\n`);
      }
    }
    const parts: string[] = [];
    let n = 0;
    for (;;) {
      const line = this.rng.pick(this.lines);
      const len = Buffer.byteLength(line);
      if (n + len > bytes) break;
      parts.push(line);
      n += len;
    }
    return parts.join('') + 'x'.repeat(bytes - n);
  }
}
