// A small seeded PRNG so that every benchmark run sends byte-for-byte the same
// workload (given the same start time): figures from different commits are then
// comparable, and a surprising result can be replayed.

/** mulberry32: 32-bit state, fast, good enough for synthetic data (not crypto). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = '0123456789abcdef';

export class Rng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Picks by weight; weights need not sum to 1. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of choices) total += w;
    let r = this.next() * total;
    for (const [value, w] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  /** Lowercase hex of `bytes` random bytes; never all zeros (OTLP treats zero IDs as invalid). */
  hex(bytes: number): string {
    for (;;) {
      let out = '';
      let zero = true;
      for (let i = 0; i < bytes; i++) {
        const b = Math.floor(this.next() * 256);
        if (b !== 0) zero = false;
        out += HEX[b >> 4]! + HEX[b & 15]!;
      }
      if (!zero) return out;
    }
  }

  /** Random string over an alphabet (for IDs embedded in paths, session IDs …). */
  chars(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)]!;
    return out;
  }
}
