// Bytes the server keeps on disk, by the layout of its data directory:
// blocks/<tenant>/<blockId>/{data-NNNN.parquet,bloom.bin,meta.json} and wal/<tenant>/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** How the figures group a block's files: every Parquet part counts as data. */
export const BLOCK_FILES = ['data.parquet', 'bloom.bin', 'meta.json'] as const;

function fileKind(name: string): (typeof BLOCK_FILES)[number] | undefined {
  if (/^data-\d+\.parquet$/.test(name)) return 'data.parquet';
  return name === 'bloom.bin' || name === 'meta.json' ? name : undefined;
}

/** Total size of every file under `dir` (0 when it does not exist). */
export function treeBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

export interface BlockUsage {
  blocks: number;
  /** Sum of the block files the storage figure counts (parts, bloom, meta). */
  blockFileBytes: number;
  byFile: Record<(typeof BLOCK_FILES)[number], number>;
  /** Everything under blocks/, in case the layout grows other files. */
  allBytes: number;
}

export function blockUsage(dataDir: string): BlockUsage {
  const root = join(dataDir, 'blocks');
  const usage: BlockUsage = { blocks: 0, blockFileBytes: 0, byFile: { 'data.parquet': 0, 'bloom.bin': 0, 'meta.json': 0 }, allBytes: treeBytes(root) };
  if (!existsSync(root)) return usage;
  for (const tenant of readdirSync(root, { withFileTypes: true })) {
    if (!tenant.isDirectory()) continue;
    for (const block of readdirSync(join(root, tenant.name), { withFileTypes: true })) {
      if (!block.isDirectory()) continue;
      usage.blocks++;
      for (const name of readdirSync(join(root, tenant.name, block.name))) {
        const file = fileKind(name);
        if (!file) continue;
        const size = statSync(join(root, tenant.name, block.name, name)).size;
        usage.byFile[file] += size;
        usage.blockFileBytes += size;
      }
    }
  }
  return usage;
}

export function walBytes(dataDir: string): number {
  return treeBytes(join(dataDir, 'wal'));
}
