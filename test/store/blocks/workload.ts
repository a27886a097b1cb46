// A realistic, seeded span workload for block tests and measurements: a small
// shop of 8 services, ~15 spans per trace (HTTP in, RPC between services, DB and
// cache calls), semantic-convention attributes with high-cardinality values where
// real ones have them (paths with IDs, client addresses, SQL), a few errors with
// exception events. Its spans weigh about 240 bytes each as OTLP protobuf.
import { fromHex, type AnyValue, type KeyValue, type Resource, type InstrumentationScope, type Span, type StoredSpan, type TraceSpans } from '../../../src/otlp/model.js';
import { Rng } from '../../../bench/prng.js';

/** Random bytes that are never all zeros (OTLP treats zero IDs as invalid). */
function randomId(rng: Rng, n: number): Uint8Array {
  return fromHex(rng.hex(n))!;
}

const s = (key: string, value: string): KeyValue => ({ key, value: { type: 'string', value } });
const i = (key: string, value: number): KeyValue => ({ key, value: { type: 'int', value: BigInt(value) } });

interface Service {
  name: string;
  resource: Resource;
  scopes: { http: InstrumentationScope; rpc: InstrumentationScope; db: InstrumentationScope; app: InstrumentationScope };
}

const SERVICES = ['frontend', 'cart', 'checkout', 'payment', 'shipping', 'email', 'currency', 'product-catalog'];

function makeService(name: string, idx: number): Service {
  const language = idx % 3 === 0 ? 'nodejs' : idx % 3 === 1 ? 'go' : 'java';
  const scope = (n: string, v: string): InstrumentationScope => ({ name: n, version: v, attributes: [], droppedAttributesCount: 0 });
  return {
    name,
    resource: {
      attributes: [
        s('service.name', name),
        s('service.version', `1.${idx}.${idx * 3 + 1}`),
        s('service.namespace', 'shop'),
        s('deployment.environment.name', 'production'),
        s('host.name', `ip-10-0-${idx}-${17 + idx}`),
        s('k8s.pod.name', `${name}-7d9f8b6c5-x${idx}kqz`),
        s('k8s.namespace.name', 'shop'),
        s('telemetry.sdk.name', 'opentelemetry'),
        s('telemetry.sdk.language', language),
        s('telemetry.sdk.version', '1.26.0'),
      ],
      droppedAttributesCount: 0,
    },
    scopes: {
      http: scope(language === 'go' ? 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp' : '@opentelemetry/instrumentation-http', '0.52.1'),
      rpc: scope(language === 'go' ? 'go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc' : '@opentelemetry/instrumentation-grpc', '0.52.1'),
      db: scope(language === 'go' ? 'github.com/XSAM/otelsql' : '@opentelemetry/instrumentation-pg', '0.43.0'),
      app: scope(name, '1.0.0'),
    },
  };
}

const ROUTES = [
  { method: 'GET', route: '/api/products/{id}', path: (r: Rng) => `/api/products/${r.int(1000, 99999)}` },
  { method: 'GET', route: '/api/cart', path: () => '/api/cart' },
  { method: 'POST', route: '/api/cart/items', path: () => '/api/cart/items' },
  { method: 'POST', route: '/api/checkout', path: () => '/api/checkout' },
  { method: 'GET', route: '/api/recommendations', path: (r: Rng) => `/api/recommendations?productIds=${r.int(1000, 99999)}` },
];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'python-requests/2.32.3',
];
const SQL = [
  { op: 'SELECT', table: 'products', text: 'SELECT id, name, price_units, categories FROM products WHERE id = $1' },
  { op: 'SELECT', table: 'inventory', text: 'SELECT quantity FROM inventory WHERE product_id = $1' },
  { op: 'INSERT', table: 'orders', text: 'INSERT INTO orders (id, user_id, total, currency) VALUES ($1, $2, $3, $4)' },
  { op: 'UPDATE', table: 'carts', text: 'UPDATE carts SET item_count = item_count + 1 WHERE user_id = $1' },
];
const RPC_METHODS: Record<string, string[]> = {
  cart: ['GetCart', 'AddItem', 'EmptyCart'],
  checkout: ['PlaceOrder'],
  payment: ['Charge'],
  shipping: ['GetQuote', 'ShipOrder'],
  email: ['SendOrderConfirmation'],
  currency: ['Convert', 'GetSupportedCurrencies'],
  'product-catalog': ['GetProduct', 'ListProducts', 'SearchProducts'],
};

export interface WorkloadOptions {
  seed?: number;
  /** Start of the first trace (unix nanoseconds). */
  startUnixNano?: bigint;
  /** Traces are spread evenly over this many nanoseconds. */
  spreadNano?: bigint;
}

/** `traceCount` traces sorted by trace ID, ready for BlockStore.writeBlock. */
export function generateTraces(traceCount: number, opts: WorkloadOptions = {}): TraceSpans[] {
  const rng = new Rng(opts.seed ?? 42);
  const services = SERVICES.map(makeService);
  const base = opts.startUnixNano ?? 1_760_000_000_000_000_000n;
  const spread = opts.spreadNano ?? 300_000_000_000n;
  const traces: TraceSpans[] = [];
  for (let t = 0; t < traceCount; t++) {
    const start = base + (spread * BigInt(t)) / BigInt(Math.max(1, traceCount)) + BigInt(rng.int(0, 999_999));
    traces.push(generateTrace(rng, services, start));
  }
  traces.sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
  return traces;
}

function generateTrace(rng: Rng, services: Service[], start: bigint): TraceSpans {
  const traceId = randomId(rng, 16);
  const spans: StoredSpan[] = [];
  const frontend = services[0]!;
  const route = rng.pick(ROUTES);
  const error = rng.float() < 0.03;
  const rootDuration = BigInt(rng.int(5_000_000, 400_000_000));
  const root = makeSpan(rng, traceId, new Uint8Array(0), `${route.method} ${route.route}`, 2, start, rootDuration, [
    s('http.request.method', route.method),
    s('url.path', route.path(rng)),
    s('url.scheme', 'https'),
    s('http.route', route.route),
    i('http.response.status_code', error ? 500 : 200),
    s('server.address', 'shop.example.com'),
    i('server.port', 443),
    s('network.protocol.version', '1.1'),
    s('user_agent.original', rng.pick(USER_AGENTS)),
    s('client.address', `${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`),
  ]);
  if (error) {
    root.status = { code: 2, message: 'upstream request failed' };
  }
  spans.push({ resource: frontend.resource, resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scope: frontend.scopes.http, scopeSchemaUrl: '', span: root });
  const target = rng.int(5, 25) - 1;
  // Calls from the frontend to other services, each with server-side work and DB/cache calls.
  let cursor = start + 200_000n;
  while (spans.length < target + 1) {
    const callee = services[rng.int(1, services.length - 1)]!;
    const method = rng.pick(RPC_METHODS[callee.name]!);
    const callDur = BigInt(rng.int(500_000, 50_000_000));
    const rpcAttrs = (side: 'client' | 'server'): KeyValue[] => [
      s('rpc.system', 'grpc'),
      s('rpc.service', `oteldemo.${callee.name.replace('-', '')}Service`),
      s('rpc.method', method),
      i('rpc.grpc.status_code', 0),
      ...(side === 'client' ? [s('server.address', callee.name), i('server.port', 8080)] : []),
    ];
    const client = makeSpan(rng, traceId, root.spanId, `oteldemo.${callee.name}/${method}`, 3, cursor, callDur, rpcAttrs('client'));
    spans.push({ resource: frontend.resource, resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scope: frontend.scopes.rpc, scopeSchemaUrl: '', span: client });
    const server = makeSpan(rng, traceId, client.spanId, `oteldemo.${callee.name}/${method}`, 2, cursor + 100_000n, callDur - 200_000n, rpcAttrs('server'));
    spans.push({ resource: callee.resource, resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scope: callee.scopes.rpc, scopeSchemaUrl: '', span: server });
    const work = rng.int(0, 3);
    let inner = cursor + 150_000n;
    for (let w = 0; w < work && spans.length < target + 1; w++) {
      const dur = BigInt(rng.int(100_000, 5_000_000));
      if (rng.float() < 0.7) {
        const q = rng.pick(SQL);
        const db = makeSpan(rng, traceId, server.spanId, `${q.op} shop.${q.table}`, 3, inner, dur, [
          s('db.system', 'postgresql'),
          s('db.namespace', 'shop'),
          s('db.operation.name', q.op),
          s('db.query.text', q.text),
          s('server.address', 'postgres'),
          i('server.port', 5432),
        ]);
        spans.push({ resource: callee.resource, resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scope: callee.scopes.db, scopeSchemaUrl: '', span: db });
      } else {
        const fn = rng.pick(['validateCart', 'computeTotals', 'renderTemplate', 'loadConfig']);
        const internal = makeSpan(rng, traceId, server.spanId, fn, 1, inner, dur, [s('code.function', fn), i('app.items.count', rng.int(1, 12))]);
        spans.push({ resource: callee.resource, resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0', scope: callee.scopes.app, scopeSchemaUrl: '', span: internal });
      }
      inner += dur + 10_000n;
    }
    if (error && rng.float() < 0.5) {
      server.status = { code: 2, message: `${method} failed: connection reset by peer` };
      server.events.push({
        timeUnixNano: cursor + callDur / 2n,
        name: 'exception',
        attributes: [
          s('exception.type', 'Error'),
          s('exception.message', 'connection reset by peer'),
          s('exception.stacktrace', `Error: connection reset by peer\n    at Socket.onEnd (node:net:${rng.int(100, 999)})\n    at ${method} (/app/src/${callee.name}.js:${rng.int(10, 400)}:13)`),
        ],
        droppedAttributesCount: 0,
      });
    }
    cursor += callDur + 50_000n;
  }
  return { traceId: Buffer.from(traceId).toString('hex'), spans };
}

function makeSpan(rng: Rng, traceId: Uint8Array, parent: Uint8Array, name: string, kind: 1 | 2 | 3, start: bigint, duration: bigint, attributes: KeyValue[]): Span {
  // SDK clocks: sub-microsecond digits vary too.
  const jitter = BigInt(rng.int(0, 999));
  return {
    traceId,
    spanId: randomId(rng, 8),
    traceState: '',
    parentSpanId: parent,
    flags: 0x100,
    name,
    kind,
    startTimeUnixNano: start + jitter,
    endTimeUnixNano: start + jitter + (duration > 0n ? duration : 1000n),
    attributes,
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

// ── OTLP protobuf size (to calibrate the workload against what SDKs send) ─────

function varintSize(n: number | bigint): number {
  let v = BigInt.asUintN(64, BigInt(n));
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}
const lenField = (payload: number): number => 1 + varintSize(payload) + payload;
const strField = (text: string): number => (text === '' ? 0 : lenField(Buffer.byteLength(text)));

function anyValueSize(v: AnyValue): number {
  switch (v.type) {
    case 'string':
      return lenField(Buffer.byteLength(v.value));
    case 'bool':
      return 2;
    case 'int':
      return 1 + varintSize(v.value);
    case 'double':
      return 9;
    case 'bytes':
      return lenField(v.value.length);
    case 'array':
      return lenField(v.value.reduce((n, x) => n + lenField(anyValueSize(x)), 0));
    case 'kvlist':
      return lenField(v.value.reduce((n, kv) => n + lenField(keyValueSize(kv)), 0));
    case 'empty':
      return 0;
  }
}
const keyValueSize = (kv: KeyValue): number => strField(kv.key) + lenField(anyValueSize(kv.value));
const attrsSize = (attrs: readonly KeyValue[]): number => attrs.reduce((n, kv) => n + lenField(keyValueSize(kv)), 0);

/** Bytes of the Span message inside its ScopeSpans (resource and scope framing not counted). */
export function otlpSpanBytes(sp: Span): number {
  let n = lenField(sp.traceId.length) + lenField(sp.spanId.length) + strField(sp.traceState);
  if (sp.parentSpanId.length > 0) n += lenField(sp.parentSpanId.length);
  n += strField(sp.name) + (sp.kind ? 2 : 0) + 9 + 9 + attrsSize(sp.attributes);
  for (const e of sp.events) n += lenField(9 + strField(e.name) + attrsSize(e.attributes));
  for (const l of sp.links) n += lenField(lenField(16) + lenField(8) + strField(l.traceState) + attrsSize(l.attributes));
  const status = strField(sp.status.message) + (sp.status.code ? 2 : 0);
  if (status > 0) n += lenField(status);
  if (sp.flags) n += 5;
  return lenField(n);
}

/** Average OTLP protobuf bytes per span, counting each resource and scope once per 100 spans (a typical export batch). */
export function otlpBytesPerSpan(traces: readonly TraceSpans[]): number {
  let spans = 0;
  let bytes = 0;
  for (const t of traces) {
    for (const st of t.spans) {
      spans++;
      bytes += otlpSpanBytes(st.span) + (lenField(attrsSize(st.resource.attributes)) + lenField(strField(st.scope.name) + strField(st.scope.version))) / 100;
    }
  }
  return bytes / spans;
}
