// The decode ceiling: the ingest payloads only decoded, in this process, on
// one core, by the fastest decoder we have. Ingest has to do at least this
// much work per span, so it is the limit ingest throughput is held against.
// Counted per CPU-second of this process (all its threads, as the server's
// CPU is counted), so that the ratio holds on a machine others share; the
// wall-clock rate is kept beside it.
import { makeFigure, type BenchContext } from '../figure.js';
import { countPbSpans, decodeWithProtobufjs } from '../otlp-proto.js';
import { loadSkeinDecoder } from '../skein-decoder.js';
import { median } from '../stats.js';
import { referenceRequests } from '../workload-cache.js';

export interface Ceiling {
  spansPerCpuSecond: number;
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

interface DecodeRate {
  perCpuSecond: number;
  perWallSecond: number;
}

/** Spans per CPU-second and per wall second over `passes` passes through all the bodies. */
function timeDecode(decoder: Decoder, bodies: readonly Uint8Array[], expectedSpans: number, passes = 1): DecodeRate {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let spans = 0;
  for (let p = 0; p < passes; p++) for (const body of bodies) spans += decoder.decode(body);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  if (spans !== expectedSpans * passes) throw new Error(`${decoder.name} decoded ${spans / passes} spans, expected ${expectedSpans}`);
  return { perCpuSecond: spans / ((cpu.user + cpu.system) / 1e6), perWallSecond: spans / seconds };
}

/** Warms the decoder up (JIT, lazily built types) and returns how many passes make a run of about a second. */
function warmUp(decoder: Decoder, bodies: readonly Uint8Array[], expectedSpans: number): number {
  timeDecode(decoder, bodies, expectedSpans);
  const rate = timeDecode(decoder, bodies, expectedSpans).perCpuSecond;
  return Math.max(1, Math.ceil((MIN_RUN_SECONDS * rate) / expectedSpans));
}

export async function runDecodeCeiling(ctx: BenchContext, spans: number): Promise<Ceiling> {
  const w = referenceRequests(spans, 'protobuf', ctx.log);
  let best: Ceiling | undefined;
  for (const decoder of await decoders(ctx)) {
    const passes = warmUp(decoder, w.bodies, w.spanCount);
    const rates: DecodeRate[] = [];
    for (let run = 0; run < ctx.runs; run++) rates.push(timeDecode(decoder, w.bodies, w.spanCount, passes));
    const values = rates.map((r) => r.perCpuSecond);
    ctx.log(`decode ceiling (${decoder.name}): ${values.map((v) => Math.round(v)).join(', ')} spans/CPU-s`);
    ctx.emit(
      makeFigure(ctx, `ceiling.decode.${decoder.name}`, 'spans/CPU-s', values, {
        decoder: decoder.name === 'skein' ? 'decodeTracesData (src/otlp/protobuf.ts)' : 'protobufjs, minimal OTLP schema (comparison)',
        spans: w.spanCount,
        requests: w.bodies.length,
        passesPerRun: passes,
        threads: 1,
        spansPerWallSecond: rates.map((r) => Math.round(r.perWallSecond)),
      }),
    );
    const m = median(values);
    if (best === undefined || m > best.spansPerCpuSecond) best = { spansPerCpuSecond: m, decoder: decoder.name };
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
