// Encoded workloads are expensive to generate (seconds per million spans)
// and several figures send the same ones: generate each once per bench run.
import { generateRequests, type GeneratedRequests, type WireFormat } from './workload.js';

/** Seed of the reference workload; the same everywhere so figures describe the same spans. */
export const REFERENCE_SEED = 1;

const cache = new Map<string, GeneratedRequests>();
// One start time for the whole bench run, so that protobuf and JSON bodies carry identical spans.
const startUnixMs = Date.now() - 15 * 60_000;

export function referenceRequests(spans: number, format: WireFormat, log?: (m: string) => void): GeneratedRequests {
  const key = `${spans}/${format}`;
  let hit = cache.get(key);
  if (hit === undefined) {
    const t0 = performance.now();
    hit = generateRequests({ seed: REFERENCE_SEED, spans, format, startUnixMs });
    log?.(`generated ${hit.spanCount} spans as ${hit.bodies.length} ${format} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    cache.set(key, hit);
  }
  return hit;
}

/** Frees a workload no later figure needs (they are hundreds of MB). */
export function forgetRequests(spans: number, format: WireFormat): void {
  cache.delete(`${spans}/${format}`);
}
