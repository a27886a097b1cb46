// Retention for the data disk (storage.disk, local backend): when the filesystem of
// storage.path is past the high watermark, the oldest blocks of any tenant are deleted
// until the low watermark, so that the WAL finds room and ingest goes on instead of
// refusing with a full disk. Blocks are all Skein can delete: never the WAL or the heads
// (acknowledged spans not yet in a block), nor a block whose newest span ended within
// min_retention, the floor that keeps a watermark set too low from deleting everything,
// a maintenance run at a time. Compaction, which frees space too, runs first in the same
// maintenance run (Store.runMaintenance), so only what it could not save is deleted.
import { statfs } from 'node:fs/promises';
import type { SkeinConfig } from '../config/schema.js';
import { parseWatermark, type DiskWatermark } from '../config/units.js';
import type { Logger } from '../telemetry/logger.js';
import type { BlockStore } from './blocks/block-store.js';
import { blocksToFree } from './blocks/retention.js';
import { storeMetrics } from './metrics.js';

export interface DiskUsage {
  usedBytes: number;
  /** What a process without privileges may still write. */
  freeBytes: number;
  /** used + free, as df computes its Use%: the blocks reserved for root count as neither. */
  sizeBytes: number;
}

export async function diskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  const usedBytes = (s.blocks - s.bfree) * s.bsize;
  const freeBytes = s.bavail * s.bsize;
  return { usedBytes, freeBytes, sizeBytes: usedBytes + freeBytes };
}

/** Bytes to free for the disk to be within the watermark; 0 when it is. */
export function bytesOver(usage: DiskUsage, watermark: DiskWatermark): number {
  if ('usedPercent' in watermark) return Math.max(0, Math.ceil(usage.usedBytes - (usage.sizeBytes * watermark.usedPercent) / 100));
  return Math.max(0, watermark.freeBytes - usage.freeBytes);
}

function usedPercent(usage: DiskUsage): number {
  return usage.sizeBytes === 0 ? 0 : Math.round((1000 * usage.usedBytes) / usage.sizeBytes) / 10;
}

export class DiskRetention {
  private readonly high: DiskWatermark;
  private readonly low: DiskWatermark;
  /** The last check left the disk past the low watermark with nothing more to delete: warned once until it is below the high one again. */
  private stuck = false;

  constructor(
    private readonly opts: { path: string; disk: SkeinConfig['storage']['disk']; logger: Logger },
  ) {
    // The schema checked both.
    this.high = parseWatermark(opts.disk.high_watermark)!;
    this.low = parseWatermark(opts.disk.low_watermark)!;
  }

  /**
   * Bytes a compaction's output may take now: half the free space, so that compacting (which
   * writes its output before deleting its inputs) never takes the room the WAL needs.
   */
  async compactionRoom(): Promise<number> {
    return Math.floor((await diskUsage(this.opts.path)).freeBytes / 2);
  }

  /**
   * One check: past the high watermark, deletes the oldest blocks outside the floor, one at
   * a time (each under its tenant's maintenance lock), until their bytes cover what stands
   * between the disk and the low watermark; returns how many went.
   */
  async enforce(blocks: BlockStore, nowMs = Date.now()): Promise<number> {
    const { path, disk, logger } = this.opts;
    const before = await diskUsage(path);
    storeMetrics.diskFree.set(before.freeBytes);
    storeMetrics.diskSize.set(before.sizeBytes);
    if (bytesOver(before, this.high) === 0) {
      this.stuck = false;
      return 0;
    }
    const need = bytesOver(before, this.low);
    const floorUnixNano = BigInt(nowMs - disk.min_retention) * 1_000_000n;
    const chosen = blocksToFree(
      blocks.tenants().flatMap((t) => blocks.sizedBlocks(t)),
      need,
      floorUnixNano,
    );
    const why = { highWatermark: disk.high_watermark, lowWatermark: disk.low_watermark, usedPercent: usedPercent(before), freeBytes: before.freeBytes };
    let deleted = 0;
    for (const { meta } of chosen) {
      const gone = await blocks.deleteBlocks(meta.tenant, 'disk', (list) => list.filter((b) => b.meta.blockId === meta.blockId).map((b) => b.meta), why);
      deleted += gone.length;
    }
    const after = await diskUsage(path);
    storeMetrics.diskFree.set(after.freeBytes);
    storeMetrics.diskSize.set(after.sizeBytes);
    const freed = chosen.reduce((n, b) => n + b.bytes, 0);
    if (deleted > 0) {
      logger.info({ ...why, blocks: deleted, bytes: freed, usedPercentAfter: usedPercent(after), freeBytesAfter: after.freeBytes }, 'data disk past its high watermark: deleted the oldest blocks');
    }
    if (freed < need && !this.stuck) {
      this.stuck = true;
      logger.warn(
        { ...why, minRetentionMs: disk.min_retention, bytesShort: need - freed },
        'data disk still past storage.disk.low_watermark: every block left holds spans newer than storage.disk.min_retention, and the WAL and heads are never deleted; ingest is refused (retryable) once the disk is full',
      );
    }
    return deleted;
  }
}
