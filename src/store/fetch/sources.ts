// What the fetch layer reads: one tenant's heads (the live one and those being cut)
// and the blocks. Store hands this to the fetch modules; the query side never sees it.
import type { StoredSpan } from '../../otlp/model.js';
import type { BlockFilter, BlockStore, BlockView, HeldBlocks } from '../blocks/block-store.js';
import type { DuckEngine } from '../engine/duckdb.js';
import type { Head } from '../head/head.js';
import type { Pacer } from '../pacer.js';

type NanoRange = { startUnixNano?: bigint | undefined; endUnixNano?: bigint | undefined };

/** What the fetch modules read of the blocks: the BlockStore, or a view of some of its blocks (blocksWhere). */
export interface BlockReads {
  /** The blocks overlapping the range, held until released (BlockStore.acquire). */
  acquire(tenant: string, range: NanoRange): HeldBlocks;
  /** `read` over the blocks overlapping the range, held while it runs (BlockStore.withBlocks). */
  withBlocks<T>(tenant: string, range: NanoRange, read: (blocks: BlockView[], engine: DuckEngine) => Promise<T>): Promise<T>;
  /**
   * False when no block holds a span of the trace. Asked of every block, whatever the view:
   * a head trace is kept as a candidate when blocks may hold the rest of it, and it is read
   * whole from all of them (SpanSources.findTraces).
   */
  mayHoldTrace(tenant: string, traceIdHex: string): boolean;
}

export interface SpanSources {
  readonly blocks: BlockReads;
  /** The tenant's head and heads being cut into blocks (none for a tenant never written to). */
  heads(tenant: string): Promise<Head[]>;
  /**
   * Whole traces from heads and every block together, de-duplicated; `slim` reads only span
   * fields and service.name from blocks, `noEvents` all but events and links.
   */
  findTraces(
    tenant: string,
    traceIdsHex: readonly string[],
    opts: { slim?: boolean; noEvents?: boolean; pacer?: Pacer | undefined },
  ): Promise<{ traces: Map<string, StoredSpan[]>; inspectedBytes: number }>;
}

/** The store's blocks as scans see them when only those `keep` accepts may be scanned (Store.fetch's scopes). */
export function blocksWhere(blocks: BlockStore, keep: BlockFilter): BlockReads {
  const acquire = (tenant: string, range: NanoRange): HeldBlocks => blocks.acquire(tenant, range, keep);
  return {
    acquire,
    async withBlocks(tenant, range, read) {
      const held = acquire(tenant, range);
      try {
        return await read(held.blocks, held.engine);
      } finally {
        held.release();
      }
    },
    mayHoldTrace: (tenant, traceIdHex) => blocks.mayHoldTrace(tenant, traceIdHex),
  };
}
