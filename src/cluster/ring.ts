// Which peer owns a trace: consistent hashing of trace IDs over the peers' ids,
// exactly as the OpenTelemetry Collector's loadbalancing exporter does it
// (exporter/loadbalancingexporter/consistent_hashing.go): a circle of 36 000
// positions, 100 per peer at CRC-32 (IEEE) of the id followed by the point's
// number as one byte, a trace at CRC-32 of its 16 ID bytes, owned by the first
// peer point at or after it. A position two peers hash to goes to the peer
// first in byte order (the collector's resolvers sort their endpoints).
//
// Why the collector's ring rather than a hash of our own: CRC-32 is in zlib
// (the WAL already uses it), cheap per span, and mixes well enough for the
// random IDs W3C trace context makes; and a collector's loadbalancing exporter
// in front of a cluster, given the same `host:port` endpoints, sends every
// trace straight to the instance that owns it, so no span makes a second hop.
// A peer added or removed moves only the traces of its own arcs (about 1/N).
import { crc32 } from 'node:zlib';

/** The collector's circle: 360 degrees with two decimals. */
export const RING_POSITIONS = 36_000;
/** Points per peer (the collector's defaultWeight). */
export const POINTS_PER_PEER = 100;

export class Ring {
  /** Ring positions, ascending; `owners[i]` owns the arc ending at `positions[i]`. */
  private readonly positions: Uint32Array;
  private readonly owners: string[];

  /** `peerIds` in any order (duplicates ignored): the same set always makes the same ring. */
  constructor(peerIds: Iterable<string>) {
    const ids = [...new Set(peerIds)].sort(byteOrder);
    const taken = new Map<number, string>();
    for (const id of ids) {
      for (const pos of pointsOf(id)) if (!taken.has(pos)) taken.set(pos, id);
    }
    const sorted = [...taken].sort((a, b) => a[0] - b[0]);
    this.positions = Uint32Array.from(sorted, ([pos]) => pos);
    this.owners = sorted.map(([, id]) => id);
  }

  /** The peer owning a trace; undefined only for a ring without peers. */
  owner(traceId: Uint8Array): string | undefined {
    return this.ownerAt(crc32(traceId) % RING_POSITIONS);
  }

  /** The share of the circle each peer owns (what fraction of random trace IDs it gets). */
  shares(): Map<string, number> {
    const positions = new Map<string, number>();
    const n = this.positions.length;
    for (let i = 0; i < n; i++) {
      // Point i owns the positions after the point before it, up to and including its own.
      const arc = i === 0 ? this.positions[0]! + RING_POSITIONS - this.positions[n - 1]! : this.positions[i]! - this.positions[i - 1]!;
      positions.set(this.owners[i]!, (positions.get(this.owners[i]!) ?? 0) + arc);
    }
    return new Map([...positions].map(([id, count]) => [id, count / RING_POSITIONS]));
  }

  private ownerAt(pos: number): string | undefined {
    const positions = this.positions;
    if (positions.length === 0) return undefined;
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    // Past the last point, the circle wraps to the first.
    return this.owners[lo === positions.length ? 0 : lo];
  }
}

/** A peer's points: CRC-32 of its id's UTF-8 bytes followed by the byte i. */
export function pointsOf(id: string): number[] {
  const idCrc = crc32(Buffer.from(id, 'utf8'));
  const out: number[] = [];
  for (let i = 0; i < POINTS_PER_PEER; i++) out.push(crc32(Uint8Array.of(i), idCrc) % RING_POSITIONS);
  return out;
}

/** Go's sort.Strings order for the ASCII ids peers have (UTF-16 code units agree with bytes there). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
