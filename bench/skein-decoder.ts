// Loads Skein's own OTLP decoder (src/otlp/protobuf.ts) when the build has
// one. It is imported by a computed specifier on purpose: the bench must
// still compile and measure commits where the module is missing or renamed,
// and report the figure as unavailable rather than fail as a whole.
import type { ResourceSpans } from '../src/otlp/model.js';

export type DecodeTracesData = (buf: Uint8Array) => ResourceSpans[];

export async function loadSkeinDecoder(): Promise<DecodeTracesData | { unavailable: string }> {
  const specifier = '../src/otlp/protobuf.js';
  try {
    const mod = (await import(specifier)) as { decodeTracesData?: unknown };
    if (typeof mod.decodeTracesData !== 'function') return { unavailable: `${specifier} has no decodeTracesData export` };
    return mod.decodeTracesData as DecodeTracesData;
  } catch (err) {
    return { unavailable: `${specifier}: ${(err as Error).message.split('\n')[0]}` };
  }
}
