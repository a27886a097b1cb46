// The blocks' candidates for a traces fetch, newest first, reading no more blocks than the
// order needs. Blocks are opened newest first (by their latest end, which bounds every key
// they can give), and only once they may hold something newer than the best candidate of
// those already open: a search whose matches are all in the newest blocks never reads
// the older ones.
//
// How blocks are scanned depends on whether a block can judge a trace on its own rows:
//  - when one span meeting one filter is enough (a single filter, or an OR of them) and no
//    whole-trace bound is checked, it can: each block is scanned on its own;
//  - otherwise (`{ a } && { b }`, duration bounds, a range cutting through a block) a trace
//    with rows in two blocks may meet the condition only over both: blocks are scanned
//    together, in stages of 1, 4, 16 … of them, each stage resuming after the last candidate
//    given. That is exact: a trace with rows in a block the stage lacked has a key no later
//    than that block's bound, below every candidate given so far.
// With order 'none' every block is opened at once (a single stage).
import type { BlockView } from '../blocks/block-store.js';
import type { CompileOptions } from '../blocks/conditions-sql.js';
import type { DuckEngine } from '../engine/duckdb.js';
import { BlockCandidates, newerFirst, type Candidate } from '../blocks/trace-candidates.js';
import { traceConditionSql } from '../blocks/trace-sql.js';
import type { FetchTracesRequest } from './request.js';

/**
 * Candidates of a scan's first page. A page costs a scan of its blocks whatever its length
 * (the rows are grouped either way; only the top ones come back), so pages are long: a
 * filter most traces meet (`{ kind = server } | avg(duration) > 100ms`) takes hundreds.
 */
const MIN_PAGE = 256;

interface Scan {
  blocks: readonly BlockView[];
  candidates: BlockCandidates;
}

export class BlockStream {
  private readonly blocks: BlockView[];
  /** Blocks opened: the first `opened` of `blocks`. */
  private opened = 0;
  private readonly scans: Scan[] = [];
  /** The scan of the candidate peek() gave last. */
  private from: Scan | undefined;
  private readonly separately: boolean;

  constructor(
    blocks: readonly BlockView[],
    private readonly engine: DuckEngine,
    private readonly req: FetchTracesRequest,
    private readonly inspect: (bytes: number) => void,
  ) {
    this.blocks = [...blocks].sort((a, b) => (a.maxEndUnixNano > b.maxEndUnixNano ? -1 : a.maxEndUnixNano < b.maxEndUnixNano ? 1 : 0));
    const { startUnixNano, endUnixNano } = req;
    this.separately =
      req.order !== 'none' &&
      traceConditionSql(req.filter).oneSpanSuffices &&
      req.minTraceDurationNano === undefined &&
      req.maxTraceDurationNano === undefined &&
      this.blocks.every((b) => rangeImplied(b, startUnixNano, endUnixNano));
  }

  /** An upper bound of the key of every candidate not yet taken, without reading; undefined when none is left. */
  bound(): bigint | undefined {
    let bound = this.blocks[this.opened]?.maxEndUnixNano;
    for (const s of this.scans) {
      const k = nextOf(s)?.key;
      if (k !== undefined && (bound === undefined || k > bound)) bound = k;
    }
    return bound;
  }

  /** The newest candidate the blocks have left, opening blocks and reading pages as the order needs. */
  async peek(): Promise<Candidate | undefined> {
    for (;;) {
      let best: Scan | undefined;
      let next: Candidate | undefined;
      for (const s of this.scans) {
        const n = nextOf(s);
        if (n !== undefined && (next === undefined || newerFirst(n, next) < 0)) {
          best = s;
          next = n;
        }
      }
      const unopened = this.blocks[this.opened];
      if (unopened !== undefined && (next === undefined || unopened.maxEndUnixNano >= next.key)) {
        await this.openMore();
        continue;
      }
      if (best === undefined) return undefined;
      const c = best.candidates.buffered();
      if (c === undefined) {
        // Its next page may hold the newest candidate.
        await best.candidates.peek();
        continue;
      }
      this.from = best;
      return c;
    }
  }

  /** Takes the candidate peek() gave. */
  take(): Candidate | undefined {
    return this.from?.candidates.take();
  }

  private async openMore(): Promise<void> {
    if (this.separately) {
      const block = this.blocks[this.opened++]!;
      this.scans.push({ blocks: [block], candidates: await this.scan([block], undefined) });
      return;
    }
    // The stage before gives way to a larger one, resuming where it stopped.
    const before = this.scans.pop()?.candidates;
    this.opened = this.req.order === 'none' ? this.blocks.length : Math.min(this.blocks.length, Math.max(1, this.opened * 4));
    const blocks = this.blocks.slice(0, this.opened);
    this.scans.push({ blocks, candidates: await this.scan(blocks, before) });
  }

  private async scan(blocks: readonly BlockView[], before: BlockCandidates | undefined): Promise<BlockCandidates> {
    const { startUnixNano, endUnixNano, minTraceDurationNano, maxTraceDurationNano } = this.req;
    return new BlockCandidates(
      this.engine,
      {
        parts: blocks.flatMap((b) => b.parts),
        condition: traceConditionSql(this.req.filter, await compileOptions(blocks)),
        startUnixNano,
        endUnixNano,
        minDurationNano: minTraceDurationNano,
        maxDurationNano: maxTraceDurationNano,
        rangeImplied: blocks.every((b) => rangeImplied(b, startUnixNano, endUnixNano)),
        after: before?.lastTaken,
        pageSize: this.req.order === 'none' ? undefined : (before?.nextPageSize ?? Math.max(MIN_PAGE, this.req.limit * 4)),
        unconditioned: before?.refused,
      },
      this.inspect,
      this.req.pacer,
    );
  }
}

/** The scan's next candidate, or while a page must be read first, a bound of it (keyed to come before any candidate of that key). */
function nextOf(s: Scan): Candidate | undefined {
  const c = s.candidates;
  if (c.exhausted) return undefined;
  return c.buffered() ?? { traceId: '', key: c.lastTaken?.key ?? s.blocks[0]!.maxEndUnixNano };
}

/** Every span of the block lies in the range: any trace with a span in it overlaps the range. */
function rangeImplied(b: BlockView, start: bigint | undefined, end: bigint | undefined): boolean {
  return (start === undefined || b.minStartUnixNano >= start) && (end === undefined || b.maxEndUnixNano < end);
}

/** What the blocks' tag indexes say no row has: attribute lookups there are left out of the SQL. */
async function compileOptions(blocks: readonly BlockView[]): Promise<CompileOptions> {
  const indexes = await Promise.all(blocks.map((b) => b.tags()));
  if (indexes.some((t) => t === undefined)) return {};
  return { absent: (scope, name) => indexes.every((t) => !t!.mayHave(scope, name)) };
}
