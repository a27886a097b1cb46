// The decode ceiling: the ingest payloads only decoded, in this process, on
// one core, by the fastest decoder we have. Ingest has to do at least this
// much work per span, so it is the limit ingest throughput is held against.
import { makeFigure, type BenchContext } from '../figure.js';
import { countPbSpans, decodeWithProtobufjs } from '../otlp-proto.js';
import { loadSkeinDecoder } from '../skein-decoder.js';
import { median } from '../stats.js';
import { referenceRequests } from '../workload-cache.js';

export interface Ceiling {
  spansPerSecond: number;
  decoder: 'skein' | 'protobufjs';
}

let measured: Ceiling | undefined;

interface Decoder {
  name: 'skein' | 'protobufjs';
  /** Decodes one body and returns its span count (so the work cannot be optimised away, and is checked). */
  decode(body: Uint8Array): number;
}

async function decoders(ctx: BenchContext): Promise<Decoder[]> {
  const list: Decoder[] = [];
  const skein = await loadSkeinDecoder();
  if (typeof skein === 'function') {
    list.push({
      name: 'skein',
      decode(body) {
        let n = 0;
        for (const rs of skein(body)) for (const ss of rs.scopeSpans) n += ss.spans.length;
        return n;
      },
    });
  } else {
    ctx.log(`decode ceiling: Skein's decoder is unavailable (${skein.unavailable}); protobufjs only`);
  }
  list.push({ name: 'protobufjs', decode: (body) => countPbSpans(decodeWithProtobufjs(body)) });
  return list;
}

/** Below this a run is dominated by when garbage collections happen to fall. */
const MIN_RUN_SECONDS = 1;

/** Spans per second over `passes` passes through all the bodies. */
function timeDecode(decoder: Decoder, bodies: readonly Uint8Array[], expectedSpans: number, passes = 1): number {
  const t0 = performance.now();
  let spans = 0;
  for (let p = 0; p < passes; p++) for (const body of bodies) spans += decoder.decode(body);
  const seconds = (performance.now() - t0) / 1000;
  if (spans !== expectedSpans * passes) throw new Error(`${decoder.name} decoded ${spans / passes} spans, expected ${expectedSpans}`);
  return spans / seconds;
}

/** Warms the decoder up (JIT, lazily built types) and returns how many passes make a run of about a second. */
function warmUp(decoder: Decoder, bodies: readonly Uint8Array[], expectedSpans: number): number {
  timeDecode(decoder, bodies, expectedSpans);
  const rate = timeDecode(decoder, bodies, expectedSpans);
  return Math.max(1, Math.ceil((MIN_RUN_SECONDS * rate) / expectedSpans));
}

export async function runDecodeCeiling(ctx: BenchContext, spans: number): Promise<Ceiling> {
  const w = referenceRequests(spans, 'protobuf', ctx.log);
  let best: Ceiling | undefined;
  for (const decoder of await decoders(ctx)) {
    const passes = warmUp(decoder, w.bodies, w.spanCount);
    const values: number[] = [];
    for (let run = 0; run < ctx.runs; run++) values.push(timeDecode(decoder, w.bodies, w.spanCount, passes));
    ctx.log(`decode ceiling (${decoder.name}): ${values.map((v) => Math.round(v)).join(', ')} spans/s`);
    ctx.emit(
      makeFigure(ctx, `ceiling.decode.${decoder.name}`, 'spans/s', values, {
        decoder: decoder.name === 'skein' ? 'decodeTracesData (src/otlp/protobuf.ts)' : 'protobufjs, minimal OTLP schema (comparison)',
        spans: w.spanCount,
        requests: w.bodies.length,
        passesPerRun: passes,
        threads: 1,
      }),
    );
    const m = median(values);
    if (best === undefined || m > best.spansPerSecond) best = { spansPerSecond: m, decoder: decoder.name };
  }
  measured = best;
  return best!;
}

/**
 * The ceiling for ratios: the one measured in this bench run, or measured (and
 * reported, so the ratio's baseline is in the results) now if the figure was not.
 */
export async function ceiling(ctx: BenchContext, spans: number): Promise<Ceiling> {
  return measured ?? runDecodeCeiling(ctx, spans);
}
