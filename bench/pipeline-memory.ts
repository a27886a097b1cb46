// Child process of the tail-sampling memory figure (figures/pipeline.ts): a
// fresh process, so that the RSS it measures is the sampler's and not what an
// earlier figure left in the allocator. Reads the workload's bodies from a
// file (generating them here would leave freed memory for the sampler to
// reuse, hiding its cost), decodes them, fills a tail_sampling processor that
// decides nothing (decision_wait 1h), and prints the memory deltas between
// the empty and the filled sampler, each after full collections.
//
//   node --expose-gc dist/bench/pipeline-memory.js BODIES_FILE SPANS
import { readFileSync } from 'node:fs';
import type { ResourceSpans } from '../src/otlp/model.js';
import { decodeTracesDataKeepingWire } from '../src/otlp/protobuf.js';
import { inProcessPipeline, seedTailSampling, type MemoryChildResult } from './figures/pipeline.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function settledMemory(): NodeJS.MemoryUsage {
  // Twice: the first collection's finalizers can free more for the second.
  gc!();
  gc!();
  return process.memoryUsage();
}

/**
 * Decoded requests of at least `target` spans, each with its own copy of its
 * bytes (alive in the empty and the filled state alike). The file's buffer is
 * dead once this returns, so it is collected before the empty state is
 * measured and not in between.
 */
function readBatches(file: string, target: number): { batches: ResourceSpans[][]; spans: number } {
  const all = readFileSync(file);
  const batches: ResourceSpans[][] = [];
  let spans = 0;
  for (let pos = 0; pos < all.length && spans < target; ) {
    const len = all.readUInt32LE(pos);
    // As from the receiver: with the bytes it came in (a copy, so the file's buffer can go).
    const batch = decodeTracesDataKeepingWire(new Uint8Array(all.subarray(pos + 4, pos + 4 + len)));
    pos += 4 + len;
    for (const rs of batch) for (const ss of rs.scopeSpans) spans += ss.spans.length;
    batches.push(batch);
  }
  return { batches, spans };
}

async function main(): Promise<void> {
  const [file, spansArg] = process.argv.slice(2);
  const target = Number(spansArg);
  if (file === undefined || !Number.isInteger(target) || target <= 0) throw new Error('usage: pipeline-memory.js BODIES_FILE SPANS');
  const { batches, spans } = readBatches(file, target);
  // num_traces above the workload's trace count: no trace is decided early either.
  const p = await inProcessPipeline(['tail_sampling'], seedTailSampling('1h', 10_000_000));
  const empty = settledMemory();
  for (const batch of batches) await p.pipeline.consumer.consume('single-tenant', batch);
  const filled = settledMemory();
  const buffered = await p.buffered();
  if (buffered.spans !== spans) throw new Error(`${buffered.spans} spans buffered, ${spans} sent`);
  const result: MemoryChildResult = {
    spans,
    traces: buffered.traces,
    rss: filled.rss - empty.rss,
    heapUsed: filled.heapUsed - empty.heapUsed,
    external: filled.external - empty.external,
    arrayBuffers: filled.arrayBuffers - empty.arrayBuffers,
    heldBytes: buffered.bytes,
  };
  // The batches stay alive until here, so that their memory counts in both states alike.
  if (batches.length === 0) throw new Error('no batches');
  process.stdout.write(JSON.stringify(result) + '\n');
  await p.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
