// meta.json: what the store knows about a block without opening its Parquet files.
// It is written last, so a block exists exactly when its meta.json does.
import { BLOCK_FORMAT } from './schema.js';

/** The trace-ID range and size of one Parquet row group (rows are sorted by trace ID). */
export interface RowGroupRange {
  minTraceId: string;
  maxTraceId: string;
  spans: number;
  /** Compressed bytes of the row group's column chunks: what a lookup in it reads at most. */
  bytes: number;
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
export const BLOOM_FILE = 'bloom.bin';
export const TAGS_FILE = 'tags.json';

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
    ...(m.tags !== undefined && { tags: parseTags(m.tags) }),
  };
}

function parseTags(value: unknown): { file: typeof TAGS_FILE; bytes: number } {
  const t = value as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null || t.file !== TAGS_FILE) throw new Error(`meta.json: tags.file must be ${JSON.stringify(TAGS_FILE)}`);
  if (!Number.isSafeInteger(t.bytes) || (t.bytes as number) < 0) throw new Error('meta.json: tags.bytes must be a non-negative integer');
  return { file: TAGS_FILE, bytes: t.bytes as number };
}

const PART_FILE_RE = /^data-\d{4,}\.parquet$/;

function parseParts(value: unknown): BlockPart[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error('meta.json: parts must be a non-empty array');
  return value.map((p: Record<string, unknown>, i) => {
    if (typeof p.file !== 'string' || !PART_FILE_RE.test(p.file)) throw new Error(`meta.json: parts[${i}].file must name a data-NNNN.parquet file`);
    if (typeof p.minTraceId !== 'string' || typeof p.maxTraceId !== 'string') throw new Error(`meta.json: parts[${i}] needs minTraceId and maxTraceId`);
    return {
      file: p.file,
      minTraceId: p.minTraceId,
      maxTraceId: p.maxTraceId,
      spans: Number(p.spans),
      bytes: Number(p.bytes),
      // Without row-group ranges a part is simply read whole.
      rowGroups: (Array.isArray(p.rowGroups) ? (p.rowGroups as RowGroupRange[]) : []).map((g) => ({
        minTraceId: String(g.minTraceId),
        maxTraceId: String(g.maxTraceId),
        spans: Number(g.spans),
        bytes: Number(g.bytes),
      })),
    };
  });
}
