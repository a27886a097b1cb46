// Crashes: a processor abandoned without shutdown, and a process SIGKILLed
// while spans arrive and decisions are handed over. After a new processor
// starts on the same data directory, every acknowledged span reaches the next
// stage: nothing waiting for a decision is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toHex } from '../../../../src/otlp/model.js';
import { DEFAULT_HASH_SALT, hashTraceId, samplingThreshold } from '../../../../src/pipeline/processors/tail-sampling/policies/probabilistic.js';
import { SEED_POLICIES, generateWorkload, requestsOf, startProcessor, tempDir, waitFor } from './helpers.js';

const TENANT = 'single-tenant';

test('a processor abandoned without shutdown: a new one on the same data dir decides every waiting trace as it would have', { timeout: 60_000 }, async () => {
  const traces = generateWorkload(31, 1000);
  // decision_wait of an hour: the abandoned processor never decides, and its timers never touch the WAL again.
  const abandoned = await startProcessor({ decision_wait: '1h', policies: SEED_POLICIES }, { options: { tickMs: 3_600_000, rotateMs: 3_600_000 } });
  for (const request of requestsOf(traces)) await abandoned.processor.consume(TENANT, request);
  assert.equal(abandoned.processor.stats().traces, 1000);
  // No shutdown: as after a crash, only the WAL remains.

  const restarted = await startProcessor({ decision_wait: '200ms', policies: SEED_POLICIES }, { dataDir: abandoned.dataDir });
  assert.equal(restarted.processor.stats().traces, 1000);
  assert.equal(restarted.processor.stats().spans, 15_000);
  await waitFor('every trace to be decided', () => restarted.processor.stats().traces === 0, 20_000);
  await restarted.processor.shutdown();

  const keeps = (kind: string, id: Uint8Array) => kind !== 'plain' || hashTraceId(DEFAULT_HASH_SALT, id) <= samplingThreshold(10);
  const expected = traces.filter((t) => keeps(t.kind, t.traceId));
  const received = restarted.next.spanIdsByTrace(TENANT);
  assert.deepEqual(new Set(received.keys()), new Set(expected.map((t) => toHex(t.traceId))));
  for (const t of expected) assert.equal(received.get(toHex(t.traceId))!.size, 15);
  assert.equal(abandoned.next.spanCount, 0);
});

/** dist/, found from this file's compiled location (dist/test/pipeline/processors/tail-sampling). */
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const moduleUrl = (...path: string[]) => pathToFileURL(join(DIST, ...path)).href;

// Ingests generated traces with eight concurrent senders into an always-sample
// processor whose next stage prints what it is handed ("D <span id>"); prints
// "A <span id>" for every span once consume() has resolved (acknowledged).
// stdout to a pipe is synchronous on Linux: a printed line is in the pipe
// before the script goes on.
const CHILD = `
import { TailSamplingProcessor } from ${JSON.stringify(moduleUrl('src', 'pipeline', 'processors', 'tail-sampling', 'tail-sampling.js'))};
import { tailSamplingSchema } from ${JSON.stringify(moduleUrl('src', 'pipeline', 'processors', 'tail-sampling', 'config.js'))};
import { silentLogger } from ${JSON.stringify(moduleUrl('src', 'telemetry', 'logger.js'))};
import { generateTrace, prng } from ${JSON.stringify(moduleUrl('test', 'pipeline', 'processors', 'tail-sampling', 'helpers.js'))};

const [dataDir, seed] = process.argv.slice(2);
const hex = (id) => Buffer.from(id).toString('hex');
const print = (tag, batch) => {
  let out = '';
  for (const rs of batch) for (const ss of rs.scopeSpans) for (const span of ss.spans) out += tag + ' ' + hex(span.spanId) + '\\n';
  process.stdout.write(out);
};
const next = { consume: async (_tenant, batch) => print('D', batch) };
const config = tailSamplingSchema.parse({ decision_wait: '100ms', num_traces: 200, policies: [{ name: 'all', type: 'always_sample' }] });
const processor = new TailSamplingProcessor(config, next, { name: 'tail_sampling', logger: silentLogger, dataDir }, { rotateMs: 20 });
await processor.start();
const random = prng(Number(seed));
const sender = async () => {
  for (;;) {
    const traces = Array.from({ length: 4 }, () => generateTrace(random, 'plain', BigInt(Date.now()) * 1000000n, 6));
    for (let round = 0; round < 3; round++) {
      const request = traces.flatMap((t) => t.batches[round] ?? []);
      if (request.length === 0) continue;
      await processor.consume('single-tenant', request);
      print('A', request);
    }
  }
};
for (let i = 0; i < 8; i++) void sender();
`;

interface ChildRun {
  acknowledged: Set<string>;
  delivered: Set<string>;
}

/** Runs the ingesting child until it has acknowledged `acks` spans, then SIGKILLs it. */
async function runUntilKilled(script: string, dataDir: string, seed: number, acks: number): Promise<ChildRun> {
  const child = spawn(process.execPath, [script, dataDir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  let acked = 0;
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    acked += s.split('\nA ').length - 1;
    if (acked >= acks) child.kill('SIGKILL');
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', `the child died by itself:\n${stderr}`);
  const run: ChildRun = { acknowledged: new Set(), delivered: new Set() };
  // The last line may have been cut by the kill: only whole lines count.
  for (const line of out.split('\n').slice(0, -1)) {
    const [tag, id] = line.split(' ');
    (tag === 'A' ? run.acknowledged : run.delivered).add(id!);
  }
  return run;
}

test('SIGKILL while spans arrive and decisions are handed over: every acknowledged span is delivered after restart', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  const script = join(dir, 'ingest-child.mjs');
  writeFileSync(script, CHILD);
  const dataDir = join(dir, 'data');

  const acknowledged = new Set<string>();
  const delivered = new Set<string>();
  for (const [round, acks] of [4000, 6000, 8000].entries()) {
    const run = await runUntilKilled(script, dataDir, 100 + round, acks);
    run.acknowledged.forEach((id) => acknowledged.add(id));
    run.delivered.forEach((id) => delivered.add(id));
    assert.ok(run.delivered.size > 0, 'the child decided and handed over traces before it was killed');
  }

  const deliveredBeforeRestart = delivered.size;
  const restarted = await startProcessor({ decision_wait: '100ms', policies: [{ name: 'all', type: 'always_sample' }] }, { dataDir });
  const recovered = restarted.processor.stats().spans;
  await waitFor('every recovered trace to be decided', () => restarted.processor.stats().traces === 0, 20_000);
  await restarted.processor.shutdown();
  for (const { span } of restarted.next.spans()) delivered.add(toHex(span.spanId));

  t.diagnostic(`${acknowledged.size} spans acknowledged; ${deliveredBeforeRestart} handed over by the killed processes, ${recovered} recovered from the WAL at the restart`);
  const lost = [...acknowledged].filter((id) => !delivered.has(id));
  assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.size} acknowledged spans were lost`);
});
