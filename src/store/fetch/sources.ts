// What the fetch layer reads: one tenant's heads (the live one and those being cut)
// and the blocks. Store hands this to the fetch modules; the query side never sees it.
import type { StoredSpan } from '../../otlp/model.js';
import type { BlockStore } from '../blocks/block-store.js';
import type { Head } from '../head/head.js';
import type { Pacer } from '../pacer.js';

export interface SpanSources {
  readonly blocks: BlockStore;
  /** The tenant's head and heads being cut into blocks (none for a tenant never written to). */
  heads(tenant: string): Promise<Head[]>;
  /**
   * Whole traces from heads and blocks together, de-duplicated; `slim` reads only span fields
   * and service.name from blocks, `noEvents` all but events and links.
   */
  findTraces(
    tenant: string,
    traceIdsHex: readonly string[],
    opts: { slim?: boolean; noEvents?: boolean; pacer?: Pacer | undefined },
  ): Promise<{ traces: Map<string, StoredSpan[]>; inspectedBytes: number }>;
}
