// Retention deletes whole blocks, for one of three reasons:
//   age   a block goes once its newest span ended before the cutoff, so no span younger
//         than the retention period is ever deleted, and a block lives at most one
//         compaction window longer than its oldest span needs;
//   size  a tenant's blocks take more bytes than its limit: its oldest blocks go first;
//   disk  the data disk is past its watermark: the oldest blocks of any tenant go first,
//         never one whose newest span ended after a floor (storage.disk.min_retention),
//         so a watermark set too low cannot delete everything a loop at a time.
// "Oldest" is by the end of a block's time range (what age retention goes by), then by
// when the block was written.
import type { BlockMeta } from './meta.js';

export type RetentionReason = 'age' | 'size' | 'disk';

/** A block and the bytes it takes in the backend: its parts, bloom filter, indexes and meta.json. */
export interface SizedBlock {
  meta: BlockMeta;
  bytes: number;
}

/** Blocks whose every span ended before `cutoffUnixNano`. */
export function expiredBlocks(blocks: readonly BlockMeta[], cutoffUnixNano: bigint): BlockMeta[] {
  return blocks.filter((b) => BigInt(b.maxEndUnixNano) < cutoffUnixNano);
}

/** Orders blocks oldest first: by their newest span's end, then by when they were written. */
export function byAge(a: BlockMeta, b: BlockMeta): number {
  const endA = BigInt(a.maxEndUnixNano);
  const endB = BigInt(b.maxEndUnixNano);
  if (endA !== endB) return endA < endB ? -1 : 1;
  return Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.blockId < b.blockId ? -1 : a.blockId > b.blockId ? 1 : 0);
}

/** The oldest blocks to delete, oldest first, so that the rest take at most `maxBytes`; none when it is 0 (no limit). */
export function blocksOverSize(blocks: readonly SizedBlock[], maxBytes: number): SizedBlock[] {
  if (maxBytes <= 0) return [];
  return blocksToFree(blocks, blocks.reduce((n, b) => n + b.bytes, 0) - maxBytes);
}

/**
 * The oldest blocks, oldest first, whose bytes together cover `needBytes`, among those
 * whose newest span ended before `floorUnixNano` (any, without one): fewer (all of those)
 * when they cannot.
 */
export function blocksToFree(blocks: readonly SizedBlock[], needBytes: number, floorUnixNano?: bigint): SizedBlock[] {
  const out: SizedBlock[] = [];
  let freed = 0;
  for (const b of [...blocks].sort((x, y) => byAge(x.meta, y.meta))) {
    if (freed >= needBytes || (floorUnixNano !== undefined && BigInt(b.meta.maxEndUnixNano) >= floorUnixNano)) break;
    out.push(b);
    freed += b.bytes;
  }
  return out;
}
