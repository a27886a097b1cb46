// The sustained ingest measurement of BENCHMARK.md: a trace store pays for every
// span's block write sooner or later, so the CPU that counts runs from the first
// request until the spans are stored, flushed into blocks with POST /flush, and
// every server process is idle again (block writes, forwarding, any compaction
// that starts meanwhile). The receive window alone (first request to last
// answer) is read on the way, so both come from the same servers and spans.
import { cpuSeconds, waitUntilIdle } from './proc-stats.js';
import { postAll, type Batch, type SendResult } from './senders.js';
import { scrapeSum } from './server-metrics.js';
import type { ServerUnderTest } from './server-under-test.js';
import { CONNECTIONS } from './figures/ingest.js';

const STORED_SPANS_METRIC = 'skein_spans_stored_total';

export interface SustainedIngest {
  send: SendResult;
  /** Server CPU from the first request until the last one was answered. */
  receiveCpuSeconds: number;
  /** Server CPU from the first request until the spans were stored, flushed into blocks, and the servers idle. */
  serverCpuSeconds: number;
  storedSpans: number;
  /** How long POST /flush took to answer (the slowest server's). */
  flushMs: number;
}

/**
 * Sends the bodies over OTLP/HTTP protobuf on CONNECTIONS connections (round-robin
 * over the servers, or body i to server `targetOf[i]`), waits until every accepted
 * span is stored at some server (a receiver may forward it to its owner), flushes
 * each server, and waits until all are idle.
 */
export async function measureSustainedIngest(servers: readonly ServerUnderTest[], bodies: Batch, targetOf?: readonly number[]): Promise<SustainedIngest> {
  const pids = servers.map((s) => s.pid);
  const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpu0 = cpu();
  const send = await postAll(servers.map((s) => `${s.proc.otlpHttpUrl}/v1/traces`), bodies, 'protobuf', CONNECTIONS, { targetOf });
  const receiveCpuSeconds = cpu() - cpu0;
  if (send.acceptedSpans === 0) throw new Error(`the servers accepted no spans: ${send.refusalSamples.join('; ')}`);
  const storedSpans = await waitForStored(servers, send.acceptedSpans);
  const t0 = performance.now();
  await Promise.all(
    servers.map(async (s) => {
      const res = await fetch(`${s.proc.url}/flush`, { method: 'POST' });
      if (!res.ok) throw new Error(`POST /flush on ${s.proc.url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }),
  );
  const flushMs = performance.now() - t0;
  await waitUntilIdle(pids);
  return { send, receiveCpuSeconds, serverCpuSeconds: cpu() - cpu0, storedSpans, flushMs };
}

async function waitForStored(servers: readonly ServerUnderTest[], accepted: number, timeoutMs = 180_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(servers.map((s) => scrapeSum(s.proc.url, STORED_SPANS_METRIC)));
    const stored = counts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
    if (stored >= accepted) return stored;
    if (Date.now() > deadline) throw new Error(`only ${stored} of ${accepted} accepted spans were stored (${STORED_SPANS_METRIC} summed over the servers) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
