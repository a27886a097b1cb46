// Seeded fuzzing of the OTLP receivers on a real server: a few thousand
// mutations of valid protobuf and JSON export requests (bit flips, byte
// insertions and deletions, widest varints, length changes, JSON values swapped
// for extreme numbers, strings and types). Every request must get a clear
// answer (200, or 400 when Skein's own decoder refuses it, never a 500), then
// /flush must cut the head into blocks, and every acknowledged span must read
// back, and nothing refused.
//
// Which spans were acknowledged, exactly: the test decodes each request with
// Skein's decoder and validates it with Skein's validateBatch under the same
// limits the server runs with. That predicts the accepted spans one by one; the
// server's answer must agree in kind (200 or 400) and in its count of rejected
// spans. After the flush, each trace must hold exactly the predicted spans: a
// span the prediction accepted but the server refused is then missing, and one
// the server stored after refusing it is an extra, so both are caught.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { credentials, makeGenericClientConstructor, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Rng } from '../../bench/prng.js';
import { toHex, type AnyValue, type KeyValue, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { OtlpDecodeError, decodeTracesData, encodeTracesData } from '../../src/otlp/protobuf.js';
import { decodeOtlpJson, encodeOtlpJson } from '../../src/otlp/json.js';
import { validateBatch, type SpanLimits } from '../../src/receivers/validate.js';
import { TRACE_EXPORT_PATH, passBytes, rawTraceService } from '../../src/otlp/grpc-service.js';
import { decodeExportResponse } from '../../src/pipeline/exporters/otlp/responses.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { asDecoded } from '../helpers/spans.js';

const SEED = 0x5eed_0009;
const PROTOBUF_MUTATIONS = 1500;
const JSON_MUTATIONS = 1500;
/** Every how-many protobuf requests goes over gRPC rather than HTTP. */
const GRPC_EVERY = 6;
const CONCURRENCY = 8;
/**
 * Spans start in the hour before this (2024-01-01), not before now, so that a seed always sends the
 * same bytes; whether a mutated end time is too far ahead is still judged against the clock.
 */
const BASE_TIME_NANO = 1_704_067_200_000n * 1_000_000n;

// Small limits, so that mutations often cross them and partial success is exercised.
const LIMITS: SpanLimits = { maxAttributeValueLength: 300, maxAttributesPerSpan: 12, maxEventsPerSpan: 4, maxSpanEndAheadMs: 24 * 3600 * 1000 };
const CONFIG = [
  'limits:',
  `  max_attribute_value_length: ${LIMITS.maxAttributeValueLength}`,
  `  max_attributes_per_span: ${LIMITS.maxAttributesPerSpan}`,
  `  max_events_per_span: ${LIMITS.maxEventsPerSpan}`,
  '  max_span_end_ahead: 24h',
  // The spans are from BASE_TIME: retention must not take their blocks before they are read back.
  'storage:',
  '  retention: 100000d',
  '',
].join('\n');

// ---- valid requests -----------------------------------------------------------

function bytesOf(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from(Buffer.from(rng.hex(n), 'hex'));
}

function anyValue(rng: Rng, depth: number): AnyValue {
  switch (rng.int(0, depth > 2 ? 5 : 7)) {
    case 0:
      return { type: 'string', value: rng.chars(rng.int(0, 20), 'abcdefé🙂 "\\/\n') };
    case 1:
      return { type: 'bool', value: rng.chance(0.5) };
    case 2:
      return { type: 'int', value: BigInt(rng.int(-1e9, 1e9)) * BigInt(rng.int(1, 1e9)) };
    case 3:
      return { type: 'double', value: rng.pick([0, -0, 1.5, -2.25e10, Number.MAX_VALUE, NaN, Infinity, rng.float()]) };
    case 4:
      return { type: 'bytes', value: bytesOf(rng, rng.int(1, 12)) };
    case 5:
      return { type: 'empty' };
    case 6:
      return { type: 'array', value: Array.from({ length: rng.int(0, 3) }, () => anyValue(rng, depth + 1)) };
    default:
      return { type: 'kvlist', value: attributes(rng, rng.int(0, 3), depth + 1) };
  }
}

function attributes(rng: Rng, n: number, depth = 0): KeyValue[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}.${rng.chars(3, 'xyz')}`, value: anyValue(rng, depth) }));
}

/** A request of 1-2 resources × 1-2 scopes × 1-3 spans, every field set; trace IDs from `pool`. */
function validRequest(rng: Rng, pool: readonly Uint8Array[]): ResourceSpans[] {
  return Array.from({ length: rng.int(1, 2) }, (_, r) => ({
    resource: { attributes: [{ key: 'service.name', value: { type: 'string', value: `svc-${r}` } }, ...attributes(rng, rng.int(0, 2))], droppedAttributesCount: rng.int(0, 2) },
    schemaUrl: rng.chance(0.5) ? 'https://opentelemetry.io/schemas/1.26.0' : '',
    scopeSpans: Array.from({ length: rng.int(1, 2) }, () => ({
      scope: { name: 'fuzz', version: '1.0', attributes: attributes(rng, rng.int(0, 1)), droppedAttributesCount: 0 },
      schemaUrl: '',
      spans: Array.from({ length: rng.int(1, 3) }, (): Span => {
        const start = BASE_TIME_NANO - BigInt(rng.int(1, 3_600_000)) * 1_000_000n;
        const traceId = rng.pick(pool).slice();
        return {
          traceId,
          spanId: bytesOf(rng, 8),
          traceState: rng.chance(0.3) ? 'vendor=1' : '',
          parentSpanId: rng.chance(0.5) ? bytesOf(rng, 8) : new Uint8Array(0),
          flags: rng.pick([0, 1, 0x301, 0xffffffff]),
          name: `op-${rng.chars(4, 'abcdef')}`,
          kind: rng.int(0, 5) as Span['kind'],
          startTimeUnixNano: start,
          endTimeUnixNano: start + BigInt(rng.int(0, 5_000_000_000)),
          attributes: attributes(rng, rng.int(0, 6)),
          droppedAttributesCount: rng.int(0, 3),
          events: Array.from({ length: rng.int(0, 2) }, () => ({ timeUnixNano: start + BigInt(rng.int(0, 1000)), name: 'ev', attributes: attributes(rng, rng.int(0, 2)), droppedAttributesCount: 0 })),
          droppedEventsCount: rng.int(0, 1),
          links: rng.chance(0.3) ? [{ traceId: bytesOf(rng, 16), spanId: bytesOf(rng, 8), traceState: '', attributes: attributes(rng, 1), droppedAttributesCount: 0, flags: 1 }] : [],
          droppedLinksCount: 0,
          status: { code: rng.int(0, 2) as Span['status']['code'], message: rng.chance(0.3) ? 'failed' : '' },
        };
      }),
    })),
  }));
}

// ---- mutations ------------------------------------------------------------------

const WIDEST_VARINT = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];

function mutateBytes(rng: Rng, input: Uint8Array): Uint8Array {
  let b = Buffer.from(input);
  for (let n = rng.int(1, 3); n > 0 && b.length > 0; n--) {
    const at = rng.int(0, b.length - 1);
    switch (rng.int(0, 6)) {
      case 0: // bit flip
        b[at] = b[at]! ^ (1 << rng.int(0, 7));
        break;
      case 1: // byte insertion
        b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.int(0, 255)]), b.subarray(at)]);
        break;
      case 2: // deletion of a few bytes
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + rng.int(1, 4))]);
        break;
      case 3: // a byte replaced by the widest varint (2^64 - 1), or a never-ending one
        b = Buffer.concat([b.subarray(0, at), Buffer.from(rng.chance(0.8) ? WIDEST_VARINT : [0x80, 0x80, 0x80]), b.subarray(at + 1)]);
        break;
      case 4: // a small change to what is often a length or a count
        b[at] = (b[at]! + rng.pick([-2, -1, 1, 2, 64, 128])) & 0xff;
        break;
      case 5: // a slice repeated (a field given twice)
        {
          const end = Math.min(b.length, at + rng.int(1, 40));
          b = Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        }
        break;
      default: // a byte set to an extreme
        b[at] = rng.pick([0x00, 0x7f, 0x80, 0xff]);
    }
  }
  return new Uint8Array(b);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const EXTREME_NUMBERS: readonly Json[] = [
  0, -1, 1, 2, 3, 5, 6, 255, 256, 300, -300, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), 1e308, -1e308, 0.5, -0.0, 1e-320,
];
const EXTREME_STRINGS: readonly Json[] = [
  '', '0', '-1', '300', '4294967295', '4294967296', '18446744073709551615', '18446744073709551616', '-9223372036854775808', '9223372036854775808', 'NaN', 'Infinity', '-Infinity', '-0', '1e400',
  'SPAN_KIND_SERVER', 'STATUS_CODE_ERROR', 'SPAN_KIND_NOPE', '00', 'zz'.repeat(8), 'ff'.repeat(16), '00'.repeat(16), 'x'.repeat(5000), '\u0000', 'a\ud800b', '🙂'.repeat(100),
];
const EXTREME_JSON: readonly Json[] = [
  ...EXTREME_NUMBERS,
  ...EXTREME_STRINGS,
  null, true, false, [], {}, [null], { stringValue: 1 }, { intValue: 'x' }, { kvlistValue: { values: [{ key: 'k', value: { arrayValue: {} } }] } },
];

/** Every value in the tree, with how to replace or remove it. */
function slots(root: Json): Array<{ get: () => Json; set: (v: Json) => void; remove: () => void; container: Json[] | { [key: string]: Json } }> {
  const out: ReturnType<typeof slots> = [];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ get: () => node[i]!, set: (x) => (node[i] = x), remove: () => node.splice(i, 1), container: node });
        stack.push(v);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        out.push({ get: () => node[key]!, set: (x) => (node[key] = x), remove: () => delete node[key], container: node });
        stack.push(node[key]!);
      }
    }
  }
  return out;
}

function mutateJson(rng: Rng, batch: ResourceSpans[]): string {
  const root = JSON.parse(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' }))) as Json;
  if (rng.chance(0.1)) {
    // Text-level damage: usually no longer JSON at all.
    return Buffer.from(mutateBytes(rng, Buffer.from(JSON.stringify(root)))).toString('utf8');
  }
  for (let n = rng.int(1, 3); n > 0; n--) {
    const all = slots(root);
    if (all.length === 0) break;
    const slot = rng.pick(all);
    const op = rng.int(0, 9);
    if (op === 0) slot.remove();
    else if (op === 1 && Array.isArray(slot.container)) slot.container.push(JSON.parse(JSON.stringify(slot.get())) as Json);
    else if (op === 2) slot.set(typeof slot.get() === 'string' ? (slot.get() as string).toUpperCase() : String(slot.get()));
    // Mostly a value of the same JSON type, which the decoder more often takes, so that extremes reach storage.
    else if (op < 7 && typeof slot.get() === 'number') slot.set(rng.pick(EXTREME_NUMBERS));
    else if (op < 7 && typeof slot.get() === 'string') slot.set(rng.pick(EXTREME_STRINGS));
    else slot.set(rng.pick(EXTREME_JSON));
  }
  return JSON.stringify(root);
}

// ---- bookkeeping ------------------------------------------------------------------

/** What the server should do with a request: refuse it (400) or store exactly these spans. */
type Expected = { kind: 'invalid'; reason: string } | { kind: 'accepted'; spans: Span[]; rejected: number };

function expectedOutcome(decode: () => ResourceSpans[], nowMs: number): Expected {
  let batch: ResourceSpans[];
  try {
    batch = decode();
  } catch (err) {
    // Anything but OtlpDecodeError is a decoder crash, which the server would answer 500.
    if (!(err instanceof OtlpDecodeError)) throw err;
    return { kind: 'invalid', reason: err.message };
  }
  const checked = validateBatch(batch, LIMITS, nowMs);
  const spans: Span[] = [];
  for (const rs of checked.accepted) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
  return { kind: 'accepted', spans, rejected: checked.rejectedSpans };
}

const spanKey = (s: Span): string => `${toHex(s.traceId)}/${toHex(s.spanId)}`;

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('fuzzed OTLP requests', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein({ configYaml: CONFIG });
  });
  after(async () => {
    await skein.stop();
  });

  test(`${PROTOBUF_MUTATIONS} protobuf and ${JSON_MUTATIONS} JSON mutations (seed ${SEED}): clear answers, /flush succeeds, every acknowledged span reads back and nothing refused`, async (t) => {
    const rng = new Rng(SEED);
    const nowMs = Date.now();
    const tracePool = Array.from({ length: 24 }, () => bytesOf(rng, 16));

    interface Request {
      i: number;
      transport: 'http_protobuf' | 'grpc' | 'http_json';
      body: Buffer;
      expected: Expected;
    }
    const requests: Request[] = [];
    for (let i = 0; i < PROTOBUF_MUTATIONS + JSON_MUTATIONS; i++) {
      const batch = validRequest(rng, tracePool);
      if (i < PROTOBUF_MUTATIONS) {
        const body = mutateBytes(rng, encodeTracesData(batch));
        const transport = i % GRPC_EVERY === 0 ? 'grpc' : 'http_protobuf';
        requests.push({ i, transport, body: Buffer.from(body), expected: expectedOutcome(() => decodeTracesData(body), nowMs) });
      } else {
        const text = mutateJson(rng, batch);
        requests.push({ i, transport: 'http_json', body: Buffer.from(text), expected: expectedOutcome(() => decodeOtlpJson(text), nowMs) });
      }
    }

    const Client = makeGenericClientConstructor(rawTraceService, 'TraceService');
    const grpc = new Client(skein.grpcAddr, credentials.createInsecure());
    const exportGrpc = (body: Buffer): Promise<{ err: ServiceError | null; response?: Buffer }> =>
      new Promise((resolve) => {
        grpc.makeUnaryRequest(TRACE_EXPORT_PATH, passBytes, passBytes, body, new Metadata(), (err: ServiceError | null, response?: Buffer) =>
          resolve({ err, ...(response && { response }) }),
        );
      });

    const accepted = new Map<string, Span[]>();
    const mismatches: string[] = [];
    let refusedRequests = 0;
    const refusedBy = new Map<string, number>();
    let rejectedSpans = 0;
    await pool(requests, CONCURRENCY, async ({ i, transport, body, expected }) => {
      let outcome: { kind: 'invalid'; message: string } | { kind: 'accepted'; rejected: number } | { kind: 'other'; what: string };
      if (transport === 'grpc') {
        const { err, response } = await exportGrpc(body);
        if (!err) outcome = { kind: 'accepted', rejected: decodeExportResponse(response ?? Buffer.alloc(0))?.rejectedSpans ?? -1 };
        else if (err.code === GrpcStatus.INVALID_ARGUMENT) outcome = { kind: 'invalid', message: err.details };
        else outcome = { kind: 'other', what: `gRPC ${err.code} ${err.details}` };
      } else {
        const json = transport === 'http_json';
        const res = await fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': json ? 'application/json' : 'application/x-protobuf' }, body });
        const reply = Buffer.from(await res.arrayBuffer());
        if (res.status === 200) {
          const rejected = json ? Number((JSON.parse(reply.toString('utf8')) as { partialSuccess?: { rejectedSpans?: string } }).partialSuccess?.rejectedSpans ?? 0) : (decodeExportResponse(reply)?.rejectedSpans ?? -1);
          outcome = { kind: 'accepted', rejected };
        } else if (res.status === 400) outcome = { kind: 'invalid', message: reply.toString('latin1') };
        else outcome = { kind: 'other', what: `HTTP ${res.status} ${reply.toString('latin1').slice(0, 300)}` };
      }
      if (expected.kind === 'invalid') {
        if (outcome.kind !== 'invalid') mismatches.push(`request ${i} (${transport}): expected 400 (${expected.reason}), got ${JSON.stringify(outcome)}`);
        else if (outcome.message.length === 0) mismatches.push(`request ${i} (${transport}): refused without a message`);
        else {
          refusedRequests++;
          refusedBy.set(transport, (refusedBy.get(transport) ?? 0) + 1);
        }
        return;
      }
      if (outcome.kind !== 'accepted' || outcome.rejected !== expected.rejected) {
        mismatches.push(`request ${i} (${transport}): expected ${expected.spans.length} spans accepted and ${expected.rejected} rejected, got ${JSON.stringify(outcome)}`);
        return;
      }
      rejectedSpans += expected.rejected;
      for (const s of expected.spans) {
        const key = spanKey(s);
        accepted.set(key, [...(accepted.get(key) ?? []), asDecoded([s])[0]!]);
      }
    });
    grpc.close();
    assert.deepEqual(mismatches, []);
    // The mutations must have reached every outcome, or the test proves little.
    assert.ok(refusedRequests > 100, `${refusedRequests} requests refused`);
    assert.ok(rejectedSpans > 10, `${rejectedSpans} spans rejected by partial success`);
    assert.ok(accepted.size > 1000, `${accepted.size} spans accepted`);

    t.diagnostic(`${refusedRequests} requests refused (${[...refusedBy].map(([k, n]) => `${k} ${n}`).join(', ')}), ${rejectedSpans} spans rejected by partial success, ${accepted.size} spans accepted`);
    const flush = await fetch(`${skein.url}/flush`, { method: 'POST' });
    assert.equal(flush.status, 204, `/flush: ${flush.status} ${await flush.text()}`);

    const byTrace = new Map<string, Set<string>>();
    for (const key of accepted.keys()) {
      const traceId = key.slice(0, 32);
      byTrace.set(traceId, (byTrace.get(traceId) ?? new Set()).add(key));
    }
    // Pool traces that got no accepted span must hold nothing either.
    for (const id of tracePool) if (!byTrace.has(toHex(id))) byTrace.set(toHex(id), new Set());

    const wrong: string[] = [];
    await pool([...byTrace], 4, async ([traceId, keys]) => {
      const res = await fetch(`${skein.url}/api/traces/${traceId}`, { headers: { accept: 'application/protobuf' } });
      if (res.status === 404 && keys.size === 0) return;
      if (res.status !== 200) {
        wrong.push(`trace ${traceId}: ${res.status} ${await res.text()}`);
        return;
      }
      const stored = new Map<string, Span[]>();
      for (const rs of decodeTracesData(new Uint8Array(await res.arrayBuffer()))) {
        for (const ss of rs.scopeSpans) for (const s of ss.spans) stored.set(spanKey(s), [...(stored.get(spanKey(s)) ?? []), s]);
      }
      for (const key of keys) {
        const got = stored.get(key);
        if (!got) wrong.push(`span ${key} was acknowledged but does not read back`);
        // The same span ID may be sent twice in one request (a mutation repeats a span): each copy must be there.
        else for (const sent of accepted.get(key)!) if (!got.some((s) => isDeepStrictEqual(s, sent))) wrong.push(`span ${key} reads back changed: ${diffOf(got[0], sent)}`);
      }
      for (const key of stored.keys()) if (!keys.has(key)) wrong.push(`span ${key} was refused but is stored`);
    });
    assert.deepEqual(wrong.slice(0, 20), []);
  });
});


function diffOf(a: unknown, b: unknown): string {
  try {
    assert.deepStrictEqual(a, b);
    return '';
  } catch (err) {
    return (err as Error).message.slice(0, 1500);
  }
}
