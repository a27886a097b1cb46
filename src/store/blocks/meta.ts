// meta.json: what the store knows about a block without opening its Parquet files.
// It is written last, so a block exists exactly when its meta.json does.
import type { ByteRange, ReadableWant } from '../backend/backend.js';
import { BLOCK_FORMAT } from './schema.js';

/** The trace-ID range and size of one Parquet row group (rows are sorted by trace ID). */
export interface RowGroupRange {
  minTraceId: string;
  maxTraceId: string;
  spans: number;
  /** Compressed bytes of the row group's column chunks: what a lookup in it reads at most. */
  bytes: number;
  /**
   * Where its column chunks (dictionary pages included) start in the file, and how many
   * bytes they span: the range a reader of a remote part fetches for it. Absent in
   * blocks written before they were recorded (their parts are fetched whole).
   */
  offset?: number;
  length?: number;
}

/** One Parquet file of a block: a contiguous, sorted trace-ID range (a trace is never split across parts). */
export interface BlockPart {
  /** File name inside the block directory, e.g. data-0000.parquet. */
  file: string;
  minTraceId: string;
  maxTraceId: string;
  spans: number;
  /** Bytes of the file. */
  bytes: number;
  rowGroups: RowGroupRange[];
  /**
   * Where what follows the last row group starts (Parquet bloom filters, page indexes,
   * footer): every read needs [footerOffset, bytes). Absent in older blocks.
   */
  footerOffset?: number;
}

export interface BlockMeta {
  format: typeof BLOCK_FORMAT;
  blockId: string;
  tenant: string;
  /** Earliest span start (unix nanoseconds, decimal string: JSON numbers cannot hold it exactly). */
  minStartUnixNano: string;
  /** Latest span end (unix nanoseconds, decimal string). */
  maxEndUnixNano: string;
  spanCount: number;
  traceCount: number;
  /** Bytes of all parts. */
  sizeBytes: number;
  minTraceId: string;
  maxTraceId: string;
  /** 0 for a block cut from the head; max(inputs) + 1 for a compaction's output. */
  compactionLevel: number;
  /** ISO 8601. */
  createdAt: string;
  /** In trace-ID order. */
  parts: BlockPart[];
  /** The tag index file (tags.json) and its size; absent in blocks written before it existed. */
  tags?: { file: typeof TAGS_FILE; bytes: number };
  /** The trace index file (trace-index.bin) and its size; absent in blocks written before it existed. */
  traceIndex?: { file: typeof TRACE_INDEX_FILE; bytes: number };
}

export const META_FILE = 'meta.json';

const BLOCK_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a block ID (a UUID): other names beside blocks (`~index.json`, a stray file) are not blocks. */
export function isBlockId(name: string): boolean {
  return BLOCK_ID_RE.test(name);
}
/** Name of a block's n-th Parquet part. */
export function partFileName(n: number): string {
  return `data-${String(n).padStart(4, '0')}.parquet`;
}
/**
 * What a read of some of a part's row groups needs of its file: the region after the
 * last row group (bloom filters, footer) and those groups; all of it when the meta
 * predates their offsets.
 */
export function partWant(part: BlockPart, groups: readonly number[] | 'all'): ReadableWant {
  if (groups === 'all' || part.footerOffset === undefined || part.rowGroups.length === 0) return { size: part.bytes, all: true };
  const ranges: ByteRange[] = [[part.footerOffset, part.bytes - part.footerOffset]];
  for (const j of groups) {
    const g = part.rowGroups[j]!;
    if (g.offset === undefined || g.length === undefined) return { size: part.bytes, all: true };
    ranges.push([g.offset, g.length]);
  }
  return { size: part.bytes, ranges };
}

/**
 * The row groups of a part whose trace-ID range admits one of `sortedIds`: those DuckDB
 * may read for `trace_id IN (…)` over them (it checks each value against each row
 * group's statistics).
 */
export function groupsAdmitting(part: BlockPart, sortedIds: readonly string[]): number[] {
  const out: number[] = [];
  for (const [j, g] of part.rowGroups.entries()) {
    // The first ID not below the group's minimum; the group admits one iff that is within its maximum.
    let lo = 0;
    let hi = sortedIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedIds[mid]! < g.minTraceId) lo = mid + 1;
      else hi = mid;
    }
    if (lo < sortedIds.length && sortedIds[lo]! <= g.maxTraceId) out.push(j);
  }
  return out;
}

export const BLOOM_FILE = 'bloom.bin';
export const TAGS_FILE = 'tags.json';
export const TRACE_INDEX_FILE = 'trace-index.bin';

export function serializeBlockMeta(meta: BlockMeta): Uint8Array {
  return Buffer.from(`${JSON.stringify(meta, null, 2)}\n`);
}

/** Parses and checks a meta.json; throws naming the first problem. */
export function parseBlockMeta(data: Uint8Array): BlockMeta {
  return checkBlockMeta(JSON.parse(Buffer.from(data).toString('utf8')));
}

/** Checks a parsed meta.json (or a block index's entry); throws naming the first problem. */
export function checkBlockMeta(value: unknown): BlockMeta {
  if (typeof value !== 'object' || value === null) throw new Error('meta.json: expected an object');
  const m = value as Record<string, unknown>;
  if (m.format !== BLOCK_FORMAT) throw new Error(`unsupported block format ${JSON.stringify(m.format)} (this Skein reads ${BLOCK_FORMAT})`);
  const str = (k: string): string => {
    if (typeof m[k] !== 'string') throw new Error(`meta.json: ${k} must be a string`);
    return m[k];
  };
  const int = (k: string): number => {
    if (!Number.isSafeInteger(m[k]) || (m[k] as number) < 0) throw new Error(`meta.json: ${k} must be a non-negative integer`);
    return m[k] as number;
  };
  const nanos = (k: string): string => {
    const v = str(k);
    if (!/^\d+$/.test(v)) throw new Error(`meta.json: ${k} must be a decimal string`);
    return v;
  };
  return {
    format: BLOCK_FORMAT,
    blockId: str('blockId'),
    tenant: str('tenant'),
    minStartUnixNano: nanos('minStartUnixNano'),
    maxEndUnixNano: nanos('maxEndUnixNano'),
    spanCount: int('spanCount'),
    traceCount: int('traceCount'),
    sizeBytes: int('sizeBytes'),
    minTraceId: str('minTraceId'),
    maxTraceId: str('maxTraceId'),
    compactionLevel: int('compactionLevel'),
    createdAt: str('createdAt'),
    parts: parseParts(m.parts),
    ...(m.tags !== undefined && { tags: parseFileRef(m.tags, 'tags', TAGS_FILE) }),
    ...(m.traceIndex !== undefined && { traceIndex: parseFileRef(m.traceIndex, 'traceIndex', TRACE_INDEX_FILE) }),
  };
}

/** `{ file, bytes }` of a file of the block beside its parts, whose name is always `file`. */
function parseFileRef<F extends string>(value: unknown, key: string, file: F): { file: F; bytes: number } {
  const t = value as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null || t.file !== file) throw new Error(`meta.json: ${key}.file must be ${JSON.stringify(file)}`);
  if (!Number.isSafeInteger(t.bytes) || (t.bytes as number) < 0) throw new Error(`meta.json: ${key}.bytes must be a non-negative integer`);
  return { file, bytes: t.bytes as number };
}

const PART_FILE_RE = /^data-\d{4,}\.parquet$/;

function parseParts(value: unknown): BlockPart[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error('meta.json: parts must be a non-empty array');
  return value.map((p: Record<string, unknown>, i) => {
    if (typeof p.file !== 'string' || !PART_FILE_RE.test(p.file)) throw new Error(`meta.json: parts[${i}].file must name a data-NNNN.parquet file`);
    if (typeof p.minTraceId !== 'string' || typeof p.maxTraceId !== 'string') throw new Error(`meta.json: parts[${i}] needs minTraceId and maxTraceId`);
    const bytes = Number(p.bytes);
    const rowGroups = (Array.isArray(p.rowGroups) ? (p.rowGroups as Array<Record<string, unknown>>) : []).map((g, j) => ({
      minTraceId: String(g.minTraceId),
      maxTraceId: String(g.maxTraceId),
      spans: Number(g.spans),
      bytes: Number(g.bytes),
      ...byteSpan(g, bytes, `parts[${i}].rowGroups[${j}]`),
    }));
    const footerOffset = optionalOffset(p.footerOffset, bytes, `parts[${i}].footerOffset`);
    return {
      file: p.file,
      minTraceId: p.minTraceId,
      maxTraceId: p.maxTraceId,
      spans: Number(p.spans),
      bytes,
      // Without row-group ranges a part is simply read whole.
      rowGroups,
      ...(footerOffset !== undefined && { footerOffset }),
    };
  });
}

/** A row group's offset and length, both or neither, inside the part's `bytes`. */
function byteSpan(g: Record<string, unknown>, partBytes: number, where: string): { offset: number; length: number } | Record<string, never> {
  if (g.offset === undefined && g.length === undefined) return {};
  const offset = optionalOffset(g.offset, partBytes, `${where}.offset`);
  const length = optionalOffset(g.length, partBytes, `${where}.length`);
  if (offset === undefined || length === undefined || offset + length > partBytes) throw new Error(`meta.json: ${where} needs offset and length within the part's bytes`);
  return { offset, length };
}

function optionalOffset(value: unknown, partBytes: number, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > partBytes) throw new Error(`meta.json: ${where} must be a byte offset within the part`);
  return value as number;
}
