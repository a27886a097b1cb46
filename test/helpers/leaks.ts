// Leak searches for the redaction tests: the texts a secret could survive as
// (whole, in distinctive pieces, JSON-escaped once or twice) and every file
// under a data directory, Parquet blocks also decoded (they are zstd-compressed).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckEngine } from '../../src/store/engine/duckdb.js';
import type { Secret } from '../pipeline/processors/redaction/corpus.js';

/** One text to search for, with the secret it belongs to (for the failure message). */
export interface Needle {
  label: string;
  text: string;
}

/**
 * Each secret whole and its distinctive pieces. Pieces too short to be
 * distinctive are left out: an 8-digit slice of a card number could turn up in a
 * nanosecond timestamp by chance, which would make the test flaky, not stricter.
 */
export function needlesOf(corpus: readonly Secret[], labelOf: (i: number) => string = (i) => `secret ${i}`): Needle[] {
  const needles: Needle[] = [];
  corpus.forEach((s, i) => {
    const pieces = new Set([s.value, ...s.fragments.filter((f) => f.length >= 8 && !(/^[0-9 -]+$/.test(f) && f.replace(/\D/g, '').length < 13))]);
    for (const text of pieces) {
      // As written, as JSON escapes it (PEM newlines, quotes), and as JSON inside JSON.
      const once = JSON.stringify(text).slice(1, -1);
      const twice = JSON.stringify(once).slice(1, -1);
      for (const form of new Set([text, once, twice])) needles.push({ label: `${labelOf(i)} (${s.rule}): ${form.slice(0, 48)}`, text: form });
    }
  });
  return needles;
}

export function findLeaks(haystack: string | Buffer, needles: readonly Needle[], where: string): string[] {
  const leaks: string[] = [];
  for (const n of needles) if (haystack.includes(n.text)) leaks.push(`${where}: ${n.label}`);
  return leaks;
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Every file under the data directory byte for byte; Parquet files (zstd) also decoded to text. */
export async function dataDirContents(dataDir: string): Promise<Array<{ file: string; content: Buffer }>> {
  const out: Array<{ file: string; content: Buffer }> = [];
  let engine: DuckEngine | undefined;
  try {
    for (const file of filesUnder(dataDir)) {
      out.push({ file, content: readFileSync(file) });
      if (!file.endsWith('.parquet')) continue;
      engine ??= await DuckEngine.open({ threads: 1, connections: 1 });
      const rows = await engine.all<{ j: string }>(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${file.replaceAll("'", "''")}') t`);
      out.push({ file: `${file} (decoded)`, content: Buffer.from(rows.map((r) => r.j).join('\n')) });
    }
  } finally {
    await engine?.close();
  }
  return out;
}
