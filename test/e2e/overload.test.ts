// Overload on both protocols at once, end to end: real OTLP/HTTP and OTLP/gRPC
// clients push more than a Skein with a small memory_limiter can take. Every
// refusal is retryable as OTLP defines it (HTTP 429/503 with Retry-After, gRPC
// RESOURCE_EXHAUSTED with RetryInfo or UNAVAILABLE), no call runs out its
// deadline, and every acknowledged span reads back. Over the limit, a request
// is refused from its headers alone, before its body is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { rawTraceService } from '../../src/otlp/grpc-service.js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { decodeRpcStatus } from '../../src/pipeline/exporters/otlp/responses.js';
import { startSkein } from '../helpers/skein-process.js';
import { nonRetryable, overload } from '../helpers/overload.js';

const MiB = 1024 * 1024;
const linuxOnly = process.platform !== 'linux' && 'reads /proc';

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

test('over the memory limit, a request is refused retryably from its headers, before its body is read, on both protocols', async () => {
  // A limit below what an idle Skein takes: the limiter refuses everything.
  const skein = await startSkein({ configYaml: 'processors:\n  memory_limiter: {limit_mib: 32, spike_limit_mib: 8}\nlimits:\n  max_request_bytes: 64KiB\n' });
  try {
    // Bodies over limits.max_request_bytes: read to the end, they would be refused as too large (413,
    // or gRPC's own RESOURCE_EXHAUSTED without RetryInfo); refused from the headers, they are 429s.
    const big = Buffer.alloc(256 * 1024, 0x0a);
    const res = await fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: big });
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 429, `HTTP: ${res.status} ${body.toString('utf8')}`);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(decodeRpcStatus(body)?.message ?? '', /memory usage \d+ MiB is over the soft limit of 24 MiB \(processors\.memory_limiter\)/);

    const Client = grpc.makeGenericClientConstructor(rawTraceService, 'TraceService');
    const client = new Client(skein.grpcAddr, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
        (client['Export'] as (req: Buffer, cb: (e: grpc.ServiceError | null) => void) => void).call(client, big, (e) =>
          e ? resolve(e) : reject(new Error('the call was accepted')),
        ),
      );
      assert.equal(grpc.status[err.code], 'RESOURCE_EXHAUSTED', err.details);
      assert.match(err.details, /over the soft limit of 24 MiB/);
      const details = err.metadata.get('grpc-status-details-bin')[0];
      assert.ok(Buffer.isBuffer(details), 'grpc-status-details-bin carries the Status');
      assert.equal(decodeRpcStatus(details)?.retryDelayMs, 1000, 'RetryInfo says when to retry');
    } finally {
      client.close();
    }
  } finally {
    await skein.stop();
  }
});

test('gRPC and HTTP clients overloading a small memory_limiter get only successes and retryable refusals, and every acknowledged span reads back', { skip: linuxOnly }, async () => {
  const probe = await startSkein();
  const idle = rssBytes(probe.child.pid!);
  await probe.stop();
  const limitMib = Math.ceil(idle / MiB) + 120;
  const skein = await startSkein({ configYaml: `processors:\n  memory_limiter: {limit_mib: ${limitMib}, spike_limit_mib: 40, check_interval: 100ms}\n` });
  try {
    const spansPerRequest = 500;
    const load = await overload({
      otlpHttpUrl: skein.otlpHttpUrl,
      grpcAddr: skein.grpcAddr,
      httpClients: 16,
      grpcClients: 16,
      spansPerRequest,
      durationMs: 10_000,
      maxRequestsPerClient: 8,
      // A short gRPC deadline, as exporters configure: refusals must come before it, not a DEADLINE_EXCEEDED.
      grpcDeadlineMs: 1_000,
    });
    const summary = JSON.stringify(load.answers);
    assert.deepEqual(nonRetryable(load), [], `every refusal retryable: ${summary}`);
    assert.ok((load.answers['grpc OK']?.count ?? 0) > 0 && (load.answers['http OK']?.count ?? 0) > 0, `both protocols get through: ${summary}`);
    assert.equal(load.partiallyRejected, 0);

    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    const missing: string[] = [];
    for (const traceId of load.acknowledged) {
      const res = await fetch(`${skein.url}/api/traces/${traceId}`);
      const spans = res.status === 200 ? flattenBatch(decodeOtlpJson(await res.text(), { ids: 'base64' })).length : 0;
      if (spans !== spansPerRequest) missing.push(`${traceId}: ${spans} of ${spansPerRequest} spans (HTTP ${res.status})`);
    }
    assert.deepEqual(missing, [], `acknowledged traces read back whole (${load.acknowledged.length} acknowledged)`);
  } finally {
    await skein.stop();
  }
});
