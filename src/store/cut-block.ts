// Writing a head cut's traces as a block, with the quarantine as defence in depth:
// when the block write fails on the data (a defect no validation knows of yet),
// the spans at fault are found (blocks/isolate.ts), every other span goes into the
// block and those into the tenant's quarantine (quarantine.ts), so one span can
// never stall a tenant's cuts. A failure of the environment keeps every span.
import type { TraceSpans } from '../otlp/model.js';
import type { Logger } from '../telemetry/logger.js';
import type { BlockMeta, BlockStore } from './blocks/block-store.js';
import { isEnvironmentFailure, isolateUnwritable, type Isolated, type IsolationSource } from './blocks/isolate.js';
import type { Quarantine } from './quarantine.js';

export interface CutTarget {
  tenant: string;
  blocks: BlockStore;
  quarantine: Quarantine;
  logger: Logger;
}

/**
 * Writes every trace of `source` as one block. When that fails and the environment
 * is not to blame, writes the writable spans as the block and quarantines the rest,
 * both durable before this resolves (the caller may then let the WAL go). Throws
 * what the write threw when no span is to blame; undefined when no span was writable.
 */
export async function writeCutBlock(to: CutTarget, source: IsolationSource): Promise<BlockMeta | undefined> {
  try {
    return await to.blocks.writeBlock(to.tenant, source.traces(source.traceIds));
  } catch (failure) {
    if (isEnvironmentFailure(failure)) throw failure;
    to.logger.warn(
      { tenant: to.tenant, traces: source.traceIds.length, err: failure },
      'block write failed on the data; looking for the spans at fault to quarantine them',
    );
    const found = await isolateUnwritable(source, failure, (traces) => to.blocks.tryWrite(traces));
    // Rows that fail only together: nothing to set aside, the cut is retried as it is.
    if (found.unwritable.length === 0) throw failure;
    const meta = found.writable.length > 0 ? await to.blocks.writeBlock(to.tenant, writableTraces(source, found)) : undefined;
    await to.quarantine.put(to.tenant, found.unwritable);
    return meta;
  }
}

/** The writable traces isolateUnwritable found in a source, in trace-ID order. */
function* writableTraces(source: IsolationSource, found: Isolated): Generator<TraceSpans> {
  for (const w of found.writable) {
    if ('ids' in w) yield* source.traces(w.ids);
    else yield w;
  }
}
