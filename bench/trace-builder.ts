// Builds one trace of the reference workload as ReadableSpans, the shape the
// OpenTelemetry JS SDK hands to its exporters, so that encoding goes through
// the SDK's own serializer exactly as a real exporter's would.
//
// A trace is first laid out as a call tree (which service calls which, what
// each one queries), then timed bottom-up (a parent lasts as long as its
// children plus its own work), then given start times top-down.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { Rng } from './prng.js';
import {
  BACKEND_SERVICES,
  FAILURES,
  ROUTES,
  SCOPES,
  SERVICES,
  USER_AGENTS,
  serviceSpec,
  stacktrace,
  type ServiceName,
  type ServiceSpec,
} from './workload-catalog.js';

export const ERROR_RATE = 0.02;
export const SLOW_RATE = 0.05;
export const SLOW_ROOT_MIN_MS = 500;
/** Share of traces that are large (1k–10k spans) when large traces are on. */
export const LARGE_RATE = 0.001;
export const GIANT_SPANS = 50_000;
const REPLICAS_PER_SERVICE = 2;
const SESSION_POOL = 2_000;

export interface GeneratedTrace {
  traceId: string;
  spans: ReadableSpan[];
  error: boolean;
  slow: boolean;
  /** 'normal', or one of the large-trace tail shapes. */
  size: 'normal' | 'large' | 'giant';
  rootDurationMs: number;
}

type NodeKind = 'http-server' | 'rpc-client' | 'rpc-server' | 'db';

interface Node {
  kind: NodeKind;
  spec: ServiceSpec;
  replica: number;
  name: string;
  attributes: Attributes;
  children: Node[];
  /** Own work in ns, spread in the gaps around the children. */
  selfNs: number;
  durationNs: number;
  startNs: number;
  spanId: string;
  error: boolean;
  events: TimedEvent[];
}

interface Instance {
  resource: Resource;
  httpScope: InstrumentationScope;
  grpcScope: InstrumentationScope;
  dbScope: InstrumentationScope;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEXCHARS = '0123456789abcdef';

export interface TraceBuilderOptions {
  seed: number;
  /** Wall-clock start of the first trace. */
  startUnixMs: number;
  /** Spacing between trace starts (a steady arrival rate keeps time-range queries meaningful). */
  traceSpacingMs?: number;
}

/**
 * Produces traces one after the other from a seeded PRNG. Resources and
 * scopes are shared objects, as in a real process: the serializer groups
 * spans by their identity.
 */
export class TraceBuilder {
  private readonly rng: Rng;
  private readonly instances = new Map<ServiceName, Instance[]>();
  private readonly sessions: Array<{ id: string; address: string; userAgent: string }> = [];
  private readonly baseSec: number;
  private readonly baseNs: number;
  private readonly spacingNs: number;
  private traceIndex = 0;

  constructor(opts: TraceBuilderOptions) {
    this.rng = new Rng(opts.seed);
    this.baseSec = Math.floor(opts.startUnixMs / 1000);
    this.baseNs = Math.round((opts.startUnixMs - this.baseSec * 1000) * 1e6);
    this.spacingNs = Math.round((opts.traceSpacingMs ?? 0.5) * 1e6);
    for (const spec of SERVICES) {
      const list: Instance[] = [];
      for (let r = 0; r < REPLICAS_PER_SERVICE; r++) list.push(this.makeInstance(spec));
      this.instances.set(spec.name, list);
    }
    for (let i = 0; i < SESSION_POOL; i++) {
      this.sessions.push({
        id: `${this.rng.chars(8, HEXCHARS)}-${this.rng.chars(4, HEXCHARS)}-4${this.rng.chars(3, HEXCHARS)}-a${this.rng.chars(3, HEXCHARS)}-${this.rng.chars(12, HEXCHARS)}`,
        address: this.rng.chance(0.7)
          ? `${this.rng.int(1, 223)}.${this.rng.int(0, 255)}.${this.rng.int(0, 255)}.${this.rng.int(1, 254)}`
          : `2a02:${this.rng.chars(4, HEXCHARS)}:${this.rng.chars(4, HEXCHARS)}::${this.rng.chars(3, HEXCHARS)}`,
        userAgent: this.rng.pick(USER_AGENTS),
      });
    }
  }

  /** The next ordinary trace (≈15 spans); `size` forces a large or giant one. */
  next(size: GeneratedTrace['size'] = 'normal'): GeneratedTrace {
    const rng = this.rng;
    const traceId = rng.hex(16);
    const route = rng.weighted(ROUTES.map((r) => [r, r.weight] as const));
    const session = rng.pick(this.sessions);
    const error = rng.chance(ERROR_RATE);
    const slow = rng.chance(SLOW_RATE);

    const frontend = serviceSpec('frontend');
    const root = this.node('http-server', frontend, rng.int(0, REPLICAS_PER_SERVICE - 1), `${route.method} ${route.route}`, {
      'http.request.method': route.method,
      'http.route': route.route,
      'url.path': route.path.replace('{id}', rng.chars(10, ALNUM)),
      'http.response.status_code': 200,
      'user_agent.original': session.userAgent,
      'client.address': session.address,
      'session.id': session.id,
    });
    this.addDbSpans(root);
    const servers: Node[] = [root];

    if (size === 'normal') {
      // Rounds go one level deeper each time: round 1 is called by the
      // frontend, round 2 by a service reached in round 1, and so on.
      const rounds = rng.weighted([[1, 0.4], [2, 0.35], [3, 0.25]] as const);
      let callers: Node[] = [root];
      for (let round = 0; round < rounds && callers.length > 0; round++) {
        const caller = rng.pick(callers);
        const calls = rng.weighted([[1, 0.4], [2, 0.3], [3, 0.2], [4, 0.1]] as const);
        const reached: Node[] = [];
        for (let c = 0; c < calls; c++) {
          const candidates = caller === root ? route.downstream : caller.spec.callees;
          const target = candidates.length > 0 && rng.chance(0.85) ? rng.pick(candidates) : this.otherBackend(caller.spec.name);
          reached.push(this.addHop(caller, target));
        }
        servers.push(...reached);
        callers = reached;
      }
    } else {
      // The large-trace tail: batch jobs and fan-outs, hops hung anywhere in the tree.
      const target = size === 'giant' ? GIANT_SPANS : rng.int(1_000, 10_000);
      let count = 1 + root.children.length;
      while (count < target) {
        const caller = rng.pick(servers);
        const hop = this.addHop(caller, this.otherBackend(caller.spec.name));
        servers.push(hop);
        count += 2 + hop.children.length;
      }
    }

    if (error) this.fail(root, servers);
    if (slow) this.slowDown(root);

    measure(root);
    const rootStart = this.traceIndex++ * this.spacingNs + rng.int(0, this.spacingNs - 1);
    place(root, rootStart);
    const spans: ReadableSpan[] = [];
    this.emit(root, traceId, undefined, spans);
    // The SDK exports spans as they end: children before their parents.
    spans.sort((a, b) => a.endTime[0] - b.endTime[0] || a.endTime[1] - b.endTime[1]);
    return { traceId, spans, error, slow, size, rootDurationMs: root.durationNs / 1e6 };
  }

  private makeInstance(spec: ServiceSpec): Instance {
    const scopes = SCOPES[spec.language];
    return {
      resource: resourceFromAttributes({
        'service.name': spec.name,
        'service.version': spec.version,
        'deployment.environment': 'production',
        'host.name': `${spec.name}-${this.rng.chars(10, '0123456789bcdfghjklmnpqrstvwxz')}-${this.rng.chars(5, 'bcdfghjklmnpqrstvwxz2456789')}`,
        'telemetry.sdk.language': spec.language,
      }),
      httpScope: { name: scopes.http, version: scopes.version },
      grpcScope: { name: scopes.grpc, version: scopes.version },
      dbScope: { name: scopes.db, version: scopes.version },
    };
  }

  private otherBackend(except: ServiceName): ServiceName {
    for (;;) {
      const s = this.rng.pick(BACKEND_SERVICES);
      if (s !== except) return s;
    }
  }

  private node(kind: NodeKind, spec: ServiceSpec, replica: number, name: string, attributes: Attributes): Node {
    const rng = this.rng;
    // Own work: a little for client spans (the network), more for servers.
    const selfMs =
      kind === 'rpc-client' ? rng.between(0.2, 1.5) : kind === 'db' ? logUniform(rng, 0.3, 8) : logUniform(rng, 0.5, 12);
    return {
      kind,
      spec,
      replica,
      name,
      attributes,
      children: [],
      selfNs: Math.round(selfMs * 1e6),
      durationNs: 0,
      startNs: 0,
      spanId: rng.hex(8),
      error: false,
      events: [],
    };
  }

  /** A CLIENT span in `caller` and the SERVER span it reaches in `target`, with the server's own queries. */
  private addHop(caller: Node, target: ServiceName): Node {
    const spec = serviceSpec(target);
    const method = this.rng.pick(spec.rpcMethods);
    const name = `${spec.rpcService}/${method}`;
    const client = this.node('rpc-client', caller.spec, caller.replica, name, {
      'rpc.system': 'grpc',
      'rpc.service': spec.rpcService,
      'rpc.method': method,
      // No server.port: it is only required when not the scheme's default.
      'server.address': target,
      'rpc.grpc.status_code': 0,
    });
    const server = this.node('rpc-server', spec, this.rng.int(0, REPLICAS_PER_SERVICE - 1), name, {
      'rpc.system': 'grpc',
      'rpc.service': spec.rpcService,
      'rpc.method': method,
      'rpc.grpc.status_code': 0,
    });
    this.addDbSpans(server);
    client.children.push(server);
    caller.children.push(client);
    return server;
  }

  private addDbSpans(server: Node): void {
    const db = server.spec.db;
    const n = this.rng.int(1, 2);
    for (let i = 0; i < n; i++) {
      const q = this.rng.pick(db.queries);
      server.children.push(
        this.node('db', server.spec, server.replica, q.name, {
          'db.system': db.system,
          'db.namespace': db.namespace,
          'db.query.text': q.text,
          'server.address': db.address,
        }),
      );
    }
  }

  /** Marks the root and one hop (its client and server spans) failed, with the exception recorded where it was thrown. */
  private fail(root: Node, servers: Node[]): void {
    root.error = true;
    root.attributes['http.response.status_code'] = 500;
    const hops = servers.filter((s) => s !== root);
    const failing = hops.length > 0 ? this.rng.pick(hops) : undefined;
    if (failing === undefined) return;
    const f = FAILURES[failing.spec.language];
    failing.error = true;
    failing.attributes['rpc.grpc.status_code'] = f.grpcCode;
    failing.events.push({
      name: 'exception',
      time: [0, 0], // set once the span is placed in time
      attributes: {
        'exception.type': f.exceptionType,
        'exception.message': f.exceptionMessage,
        'exception.stacktrace': stacktrace(failing.spec.language, f, failing.spec.name),
      },
    });
    // The client span of that hop is its parent: find it under any server.
    for (const s of servers) {
      for (const c of s.children) {
        if (c.children[0] === failing) {
          c.error = true;
          c.attributes['rpc.grpc.status_code'] = f.grpcCode;
        }
      }
    }
  }

  /** A slow trace: one query somewhere in it is slow, which makes the root exceed 500 ms. */
  private slowDown(root: Node): void {
    const dbs: Node[] = [];
    const walk = (n: Node) => {
      if (n.kind === 'db') dbs.push(n);
      for (const c of n.children) walk(c);
    };
    walk(root);
    const victim = this.rng.pick(dbs);
    victim.selfNs += Math.round(logUniform(this.rng, SLOW_ROOT_MIN_MS + 10, 4_000) * 1e6);
  }

  private hrTime(relNs: number): HrTime {
    const total = this.baseNs + relNs;
    const sec = Math.floor(total / 1e9);
    return [this.baseSec + sec, total - sec * 1e9];
  }

  private emit(n: Node, traceId: string, parent: { ctx: SpanContext; kind: NodeKind } | undefined, out: ReadableSpan[]): void {
    const inst = this.instances.get(n.spec.name)![n.replica]!;
    const ctx: SpanContext = { traceId, spanId: n.spanId, traceFlags: TraceFlags.SAMPLED };
    // A server span's parent lives in another process: the SDK marks it remote.
    const parentSpanContext =
      parent === undefined ? undefined : { ...parent.ctx, isRemote: parent.kind === 'rpc-client' };
    const endNs = n.startNs + n.durationNs;
    const events = n.events.map((e) => ({ ...e, time: this.hrTime(endNs - 50_000) }));
    const span: ReadableSpan = {
      name: n.name,
      kind: n.kind === 'rpc-client' || n.kind === 'db' ? SpanKind.CLIENT : SpanKind.SERVER,
      spanContext: () => ctx,
      parentSpanContext,
      startTime: this.hrTime(n.startNs),
      endTime: this.hrTime(endNs),
      duration: [Math.floor(n.durationNs / 1e9), n.durationNs % 1e9],
      status: n.error ? { code: SpanStatusCode.ERROR, message: statusMessage(n) } : { code: SpanStatusCode.UNSET },
      attributes: n.attributes,
      links: [],
      events,
      ended: true,
      resource: inst.resource,
      instrumentationScope: n.kind === 'http-server' ? inst.httpScope : n.kind === 'db' ? inst.dbScope : inst.grpcScope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    out.push(span);
    for (const c of n.children) this.emit(c, traceId, { ctx, kind: n.kind }, out);
  }
}

function statusMessage(n: Node): string {
  if (n.kind === 'http-server') return '';
  return FAILURES[n.spec.language].statusMessage;
}

function logUniform(rng: Rng, min: number, max: number): number {
  return Math.exp(rng.between(Math.log(min), Math.log(max)));
}

/** Bottom-up: a span lasts as long as its (sequential) children plus its own work. */
function measure(n: Node): number {
  let d = n.selfNs;
  for (const c of n.children) d += measure(c);
  n.durationNs = d;
  return d;
}

/** Top-down: children run one after the other, with the parent's own work in the gaps. */
function place(n: Node, startNs: number): void {
  n.startNs = startNs;
  const gap = Math.floor(n.selfNs / (n.children.length + 1));
  let cursor = startNs + gap;
  for (const c of n.children) {
    place(c, cursor);
    cursor += c.durationNs + gap;
  }
}
