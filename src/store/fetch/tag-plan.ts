// Which heads and blocks a tag request must scan. Each has a tag index
// (blocks/tag-index.ts) that answers names and values without reading spans when all
// of its spans are in the range and no condition narrows; with conditions it can still
// rule a head or block out, when an equality cannot hold on any of its spans. The rest
// is scanned: heads in JS, blocks in DuckDB.
import type { BlockView } from '../blocks/block-store.js';
import type { IndexScope, ProbeValue, TagIndex } from '../blocks/tag-index.js';
import type { Head } from '../head/head.js';
import type { Condition, FetchRange } from './request.js';
import type { Val } from './values.js';

/** The range and conditions of a tag request. */
export interface TagSelection extends FetchRange {
  conditions: readonly Condition[];
}

/** Answers what the heads' indexes can (via `take`); returns the heads still to scan and the index bytes read. */
export function chooseHeads<T>(
  heads: readonly Head[],
  sel: TagSelection,
  fromIndex: (index: TagIndex) => T | undefined,
  take: (answer: T) => void,
): { scan: Head[]; indexBytes: number } {
  const scan: Head[] = [];
  let indexBytes = 0;
  for (const head of heads) {
    const bounds = head.timeRange;
    if (bounds === undefined) continue;
    if (sel.startUnixNano !== undefined && bounds.endUnixNano < sel.startUnixNano) continue;
    if (sel.endUnixNano !== undefined && bounds.startUnixNano >= sel.endUnixNano) continue;
    const d = decide(head.tags, { start: bounds.startUnixNano, end: bounds.endUnixNano }, sel, fromIndex);
    if (d === 'scan') {
      scan.push(head);
      continue;
    }
    indexBytes += head.tags.sizeBytes;
    if (d !== 'skip') take(d.answer);
  }
  return { scan, indexBytes };
}

/** Answers what the blocks' indexes can (via `take`); returns the blocks still to scan and the index bytes read. */
export async function chooseBlocks<T>(
  blocks: readonly BlockView[],
  sel: TagSelection,
  fromIndex: (index: TagIndex) => T | undefined,
  take: (answer: T) => void,
): Promise<{ scan: BlockView[]; indexBytes: number }> {
  const indexes = await Promise.all(blocks.map((b) => b.tags()));
  const scan: BlockView[] = [];
  let indexBytes = 0;
  blocks.forEach((b, i) => {
    const d = decide(indexes[i], { start: b.minStartUnixNano, end: b.maxEndUnixNano }, sel, fromIndex);
    if (d === 'scan') {
      scan.push(b);
      return;
    }
    indexBytes += b.tagsBytes;
    if (d !== 'skip') take(d.answer);
  });
  return { scan, indexBytes };
}

/**
 * What to do with a block or head: take its index's answer (all of its spans are in the
 * range and nothing narrows), skip it (a condition cannot hold on any of its spans), or scan it.
 */
function decide<T>(
  index: TagIndex | undefined,
  bounds: { start: bigint; end: bigint },
  sel: TagSelection,
  fromIndex: (index: TagIndex) => T | undefined,
): { answer: T } | 'skip' | 'scan' {
  if (index === undefined) return 'scan';
  if (sel.conditions.length > 0) return mayMatch(index, sel.conditions) ? 'scan' : 'skip';
  if (!covers(sel, bounds)) return 'scan';
  const answer = fromIndex(index);
  return answer === undefined ? 'scan' : { answer };
}

/** Every span between `start` and `end` is in the range (a span is when it overlaps [start, end)). */
function covers(sel: TagSelection, bounds: { start: bigint; end: bigint }): boolean {
  return (sel.startUnixNano === undefined || bounds.start >= sel.startUnixNano) && (sel.endUnixNano === undefined || bounds.end < sel.endUnixNano);
}

/**
 * False when some condition cannot hold on any span the index covers (true when unsure).
 * Conditions mean what the engine's `compare` means: every comparison but `!= nil` needs
 * the attribute, an equality needs its value (numbers of any kind compare by value).
 */
export function mayMatch(index: TagIndex, conditions: readonly Condition[]): boolean {
  for (const { field, op, value } of conditions) {
    if (field.type === 'attribute') {
      // Scopes of the tag index; `none` is the span's attribute, else the resource's.
      const scopes: IndexScope[] = field.scope === 'none' ? ['span', 'resource'] : [field.scope];
      const probe = op === '=' ? probeOf(value) : undefined;
      if (!scopes.some((s) => index.mayHave(s, field.name, probe))) return false;
      continue;
    }
    if (op !== '=') continue;
    switch (field.name) {
      case 'name':
      case 'statusMessage':
      case 'instrumentation:name':
      case 'instrumentation:version':
      case 'event:name':
        if (value.t === 'string' && !index.mayHaveIntrinsic(field.name, value.v)) return false;
        break;
      case 'status':
        if (value.t === 'status' && !index.mayHaveIntrinsic('status', value.v)) return false;
        break;
      case 'kind':
        if (value.t === 'kind' && !index.mayHaveIntrinsic('kind', value.v)) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

/** What an equality with `v` asks of the index: the value, or only the name when the index cannot look values up. */
function probeOf(v: Val): ProbeValue | undefined {
  switch (v.t) {
    case 'string':
      return { type: 'string', value: v.v };
    case 'bool':
      return { type: 'bool', value: v.v };
    case 'int':
    case 'duration':
    case 'float':
      return { type: 'number', value: Number(v.v) };
    default:
      return undefined;
  }
}
