// A tenant's block list as one object, so that an instance learns what a shared
// bucket holds with one GET instead of listing every block and reading its meta.json:
//
//   <tenant>/~index.json               the visible blocks' metas and the compacted blocks'
//                                      IDs, written by the compactor instance only
//   <tenant>/<blockId>/compacted.json  written on each input of a compaction: the block is
//                                      no longer read and is deleted after a grace, since
//                                      other instances may still be reading it
//
// The index is a cache of what listing the bucket says: an instance that finds none, or
// one too old to trust, lists instead (BlockStore.refresh).
import { checkBlockMeta, type BlockMeta } from './meta.js';

export const INDEX_FILE = '~index.json';
export const COMPACTED_FILE = 'compacted.json';
const INDEX_FORMAT = 1;

export interface BlockIndex {
  format: typeof INDEX_FORMAT;
  /** ISO 8601: when the compactor built it. */
  builtAt: string;
  /** The visible blocks (compacted ones excluded), by blockId. */
  blocks: BlockMeta[];
  /** Blocks a compaction replaced, waiting for their deletion: never read. */
  compacted: string[];
}

export function serializeBlockIndex(index: BlockIndex): Uint8Array {
  // One line: it holds every block's meta, and nobody reads it by eye.
  return Buffer.from(`${JSON.stringify(index)}\n`);
}

/** Parses and checks an index; throws naming the first problem. */
export function parseBlockIndex(data: Uint8Array): BlockIndex {
  const v = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
  if (v.format !== INDEX_FORMAT) throw new Error(`unsupported block index format ${JSON.stringify(v.format)} (this Skein reads ${INDEX_FORMAT})`);
  if (typeof v.builtAt !== 'string' || Number.isNaN(Date.parse(v.builtAt))) throw new Error('block index: builtAt must be an ISO 8601 time');
  if (!Array.isArray(v.blocks)) throw new Error('block index: blocks must be an array');
  if (!Array.isArray(v.compacted) || v.compacted.some((id) => typeof id !== 'string')) throw new Error('block index: compacted must be an array of block IDs');
  return { format: INDEX_FORMAT, builtAt: v.builtAt, blocks: v.blocks.map(checkBlockMeta), compacted: v.compacted as string[] };
}

/** What compacted.json says: when, and into which block (for whoever looks at the bucket). */
export function serializeCompactedMark(mark: { compactedAt: Date; into: string }): Uint8Array {
  return Buffer.from(`${JSON.stringify({ compactedAt: mark.compactedAt.toISOString(), into: mark.into })}\n`);
}
