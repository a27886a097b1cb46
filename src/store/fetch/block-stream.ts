// The blocks' candidates for a traces fetch, newest first, reading no more blocks than
// the order needs. Blocks are taken newest first (by their latest end, which bounds every
// key they can give) in stages of 1, 2, 4 … blocks, each stage one scan of all its blocks'
// parts together (BlockCandidates): a trace whose spans lie in several blocks is judged
// over all of them once they are in a stage. A candidate is given out only when it is
// newer than anything a block not yet in the stage could hold; otherwise the next stage
// starts, resuming after the last candidate given. That is exact: a trace with rows in a
// block the stage lacked has a key no later than that block's bound, below every
// candidate given so far.
//
// With order 'none' every block is in the first stage.
import type { BlockView } from '../blocks/block-store.js';
import type { CompileOptions } from '../blocks/conditions-sql.js';
import type { DuckEngine } from '../engine/duckdb.js';
import { BlockCandidates, type Candidate } from '../blocks/trace-candidates.js';
import { traceConditionSql } from '../blocks/trace-sql.js';
import type { FetchTracesRequest } from './request.js';

/**
 * Candidates of the first page. A page costs a scan of the stage's blocks whatever its
 * length (the rows are grouped either way; only the top ones come back), so pages are long:
 * a filter most traces meet (`{ kind = server } | avg(duration) > 100ms`) takes hundreds.
 */
const MIN_PAGE = 256;

export class BlockStream {
  private readonly blocks: BlockView[];
  /** Blocks in the current stage: the first `opened` of `blocks`. */
  private opened = 0;
  private current: BlockCandidates | undefined;
  private lastTaken: Candidate | undefined;
  private refused = false;
  private pageSize: number | undefined;

  constructor(
    blocks: readonly BlockView[],
    private readonly engine: DuckEngine,
    private readonly req: FetchTracesRequest,
    private readonly inspect: (bytes: number) => void,
  ) {
    this.blocks = [...blocks].sort((a, b) => (a.maxEndUnixNano > b.maxEndUnixNano ? -1 : a.maxEndUnixNano < b.maxEndUnixNano ? 1 : 0));
    this.pageSize = req.order === 'none' ? undefined : Math.max(MIN_PAGE, req.limit * 4);
  }

  /** An upper bound of the key of every candidate not yet taken, without reading; undefined when none is left. */
  bound(): bigint | undefined {
    const unopened = this.blocks[this.opened]?.maxEndUnixNano;
    const cur = this.current;
    let here: bigint | undefined;
    if (cur !== undefined && !cur.exhausted) here = cur.buffered()?.key ?? this.lastTaken?.key ?? this.blocks[0]?.maxEndUnixNano;
    if (here === undefined) return unopened;
    return unopened === undefined || here > unopened ? here : unopened;
  }

  /** The newest candidate the blocks have left, opening stages as the order needs. */
  async peek(): Promise<Candidate | undefined> {
    for (;;) {
      if (this.current === undefined) {
        if (this.blocks.length === 0) return undefined;
        await this.nextStage();
      }
      const c = await this.current!.peek();
      const unopened = this.blocks[this.opened]?.maxEndUnixNano;
      if (unopened === undefined || (c !== undefined && c.key > unopened)) return c;
      await this.nextStage();
    }
  }

  take(): Candidate | undefined {
    const c = this.current?.take();
    if (c) this.lastTaken = c;
    return c;
  }

  private async nextStage(): Promise<void> {
    if (this.current) {
      this.refused ||= this.current.refused;
      this.pageSize = this.current.nextPageSize;
    }
    this.opened = this.req.order === 'none' ? this.blocks.length : Math.min(this.blocks.length, Math.max(1, this.opened * 2));
    const stage = this.blocks.slice(0, this.opened);
    const { startUnixNano, endUnixNano } = this.req;
    this.current = new BlockCandidates(
      this.engine,
      {
        parts: stage.flatMap((b) => b.parts),
        condition: traceConditionSql(this.req.filter, await compileOptions(stage)),
        startUnixNano,
        endUnixNano,
        minDurationNano: this.req.minTraceDurationNano,
        maxDurationNano: this.req.maxTraceDurationNano,
        rangeImplied: stage.every(
          (b) => (startUnixNano === undefined || b.minStartUnixNano >= startUnixNano) && (endUnixNano === undefined || b.maxEndUnixNano < endUnixNano),
        ),
        after: this.lastTaken,
        pageSize: this.pageSize,
        unconditioned: this.refused,
      },
      this.inspect,
      this.req.pacer,
    );
  }
}

/** What the blocks' tag indexes say no row has: attribute lookups there are left out of the SQL. */
async function compileOptions(blocks: readonly BlockView[]): Promise<CompileOptions> {
  const indexes = await Promise.all(blocks.map((b) => b.tags()));
  if (indexes.some((t) => t === undefined)) return {};
  return { absent: (scope, name) => indexes.every((t) => !t!.mayHave(scope, name)) };
}
