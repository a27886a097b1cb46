// Retention deletes whole blocks: a block goes once its newest span ended before
// the cutoff, so no span younger than the retention period is ever deleted, and a
// block lives at most one compaction window longer than its oldest span needs.
import type { BlockMeta } from './meta.js';

/** Blocks whose every span ended before `cutoffUnixNano`. */
export function expiredBlocks(blocks: readonly BlockMeta[], cutoffUnixNano: bigint): BlockMeta[] {
  return blocks.filter((b) => BigInt(b.maxEndUnixNano) < cutoffUnixNano);
}
