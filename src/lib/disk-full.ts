// Telling a full disk from other storage failures, wherever the write failed:
// Node's fs (the ENOSPC / EDQUOT codes) or DuckDB writing a Parquet file (its
// message carries the system's text). A full disk is retryable: space can be
// freed, and the spans wait in the WAL meanwhile.
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const FULL_TEXT = /no space left on device|disk quota exceeded/i;

export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return (typeof e?.code === 'string' && FULL_CODES.has(e.code)) || (typeof e?.message === 'string' && FULL_TEXT.test(e.message));
}
