// Samples a percentage of traces by a hash of the trace ID, bit for bit as the
// collector does (FNV-1a 64 over salt then ID, compared with a threshold), so
// that Skein and collectors sharing a salt keep exactly the same traces.
import type { PolicyEvaluator, TraceView } from './policy.js';

/** The collector's salt when hash_salt is empty. */
export const DEFAULT_HASH_SALT = 'default-hash-seed';

const MAX_UINT64 = (1n << 64n) - 1n;
const TWO_32 = 4294967296;
/** FNV-1a 64 offset basis 0xcbf29ce484222325, as two 32-bit halves. */
const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
/** The low bits of the FNV-64 prime 2^40 + 0x1b3. */
const FNV_PRIME_LOW = 0x1b3;

/** FNV-1a 64 state as two unsigned 32-bit halves (a bigint per byte would cost ten times as much). */
interface FnvState {
  hi: number;
  lo: number;
}

function fnvUpdate(state: FnvState, bytes: Uint8Array): void {
  let { hi, lo } = state;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0;
    // (hi·2^32 + lo) · (2^40 + 0x1b3) mod 2^64: the 2^40 term only reaches the
    // high word (through lo), and every partial product stays below 2^53.
    const low = lo * FNV_PRIME_LOW;
    const carry = Math.floor(low / TWO_32);
    hi = (hi * FNV_PRIME_LOW + carry + (lo & 0xffffff) * 256) % TWO_32;
    lo = low % TWO_32;
  }
  state.hi = hi;
  state.lo = lo;
}

/** FNV-1a 64 of salt followed by the bytes, as the collector's hashTraceID computes it. */
export function hashTraceId(salt: string, traceId: Uint8Array): bigint {
  const state: FnvState = { hi: FNV_OFFSET_HI, lo: FNV_OFFSET_LO };
  fnvUpdate(state, Buffer.from(salt, 'utf8'));
  fnvUpdate(state, traceId);
  return (BigInt(state.hi) << 32n) | BigInt(state.lo);
}

/**
 * The collector's calculateThreshold: MaxUint64 × ratio computed in Go's
 * big.Float at 64 bits of precision (round half to even), then truncated to an
 * integer; negative ratios give 0 and ratios above 1 saturate.
 */
export function samplingThreshold(percentage: number): bigint {
  const ratio = percentage / 100;
  if (!(ratio > 0)) return 0n;
  if (ratio >= 1) return MAX_UINT64;
  const { mantissa, exponent } = decompose(ratio);
  const rounded = roundToBits(MAX_UINT64 * mantissa, 64);
  return exponent >= 0 ? rounded << BigInt(exponent) : rounded >> BigInt(-exponent);
}

/** An exact decomposition of a positive finite double: value = mantissa · 2^exponent. */
function decompose(value: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 }; // subnormal
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** n rounded to `bits` significant bits, half to even (the value, not the mantissa). */
function roundToBits(n: bigint, bits: number): bigint {
  const length = n.toString(2).length;
  if (length <= bits) return n;
  const shift = BigInt(length - bits);
  let kept = n >> shift;
  const rest = n & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
  return kept << shift;
}

export function probabilisticPolicy(settings: { hash_salt: string; sampling_percentage: number }): PolicyEvaluator {
  const threshold = samplingThreshold(settings.sampling_percentage);
  const thresholdHi = Number(threshold >> 32n);
  const thresholdLo = Number(threshold & 0xffffffffn);
  // The salt's part of the hash is the same for every trace: hash it once.
  const salted: FnvState = { hi: FNV_OFFSET_HI, lo: FNV_OFFSET_LO };
  fnvUpdate(salted, Buffer.from(settings.hash_salt === '' ? DEFAULT_HASH_SALT : settings.hash_salt, 'utf8'));
  const state: FnvState = { hi: 0, lo: 0 };
  return {
    evaluate(trace: TraceView) {
      state.hi = salted.hi;
      state.lo = salted.lo;
      fnvUpdate(state, trace.traceId);
      const atOrBelow = state.hi < thresholdHi || (state.hi === thresholdHi && state.lo <= thresholdLo);
      return atOrBelow ? 'sampled' : 'not_sampled';
    },
  };
}
