// Segment files: their names, and the one segment a WAL appends to.
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SEGMENT_HEADER_BYTES, segmentHeader } from './record.js';

const SEGMENT_NAME = /^(\d{20})\.wal$/;

export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(20, '0')}.wal`;
}

export interface SegmentFile {
  seq: number;
  path: string;
}

/** The segment files of a WAL directory, oldest first. Other files are ignored. */
export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const found: SegmentFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const match = SEGMENT_NAME.exec(entry.name);
    if (match && entry.isFile()) found.push({ seq: Number(match[1]), path: join(dir, entry.name) });
  }
  return found.sort((a, b) => a.seq - b.seq);
}

/** Makes creations and deletions of files in `dir` survive a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The segment being appended to. Writes go at an explicit offset (the end of
 * the last complete write) so that a failed write can be cut off again and the
 * next one starts where the failed one did.
 */
export class SegmentWriter {
  /** Bytes of complete records (and the header) in the file. */
  private committed = SEGMENT_HEADER_BYTES;
  /** Set when a failed write could not be cut off: the file may end in a partial record. */
  private broken = false;

  private constructor(
    readonly seq: number,
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /**
   * Creates the file of segment `seq` (it must not exist) with its header.
   * With `durableEntry` the directory is synced so the file itself survives a
   * power loss, as its records will once they are synced.
   */
  static async create(dir: string, seq: number, durableEntry: boolean): Promise<SegmentWriter> {
    const path = join(dir, segmentFileName(seq));
    const handle = await open(path, 'wx');
    try {
      await writeFully(handle, [segmentHeader()], 0);
      if (durableEntry) await syncDirectory(dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    return new SegmentWriter(seq, path, handle);
  }

  get size(): number {
    return this.committed;
  }

  /** False once a failed write left bytes that could not be removed; append to a new segment then. */
  get usable(): boolean {
    return !this.broken;
  }

  /**
   * Writes framed records (header and payload buffers) after the last complete
   * write. If the write fails, the file is truncated back so that no partial
   * record remains, and the error is rethrown.
   */
  async append(buffers: readonly Uint8Array[]): Promise<void> {
    const start = this.committed;
    try {
      this.committed = start + (await writeFully(this.handle, buffers, start));
    } catch (err) {
      await this.truncateTo(start);
      throw err;
    }
  }

  /** fdatasync: the records written so far (and the file size) are durable. */
  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  /**
   * Cuts the file back to `size` bytes, the end of an earlier write, forgetting
   * the records written since. Marks the segment unusable if that fails.
   */
  async truncateTo(size: number): Promise<void> {
    try {
      await this.handle.truncate(size);
      this.committed = size;
    } catch {
      this.broken = true;
    }
  }

  /** Bytes the file really takes (more than `size` if a failed write could not be cut off). */
  async sizeOnDisk(): Promise<number> {
    return this.broken ? (await this.handle.stat()).size : this.committed;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * pwritev of all of `buffers` at `position`; returns the bytes written. The
 * write of several buffers can stop short without an error (libuv reports the
 * bytes it managed before e.g. ENOSPC), so the rest is written again until the
 * system reports the error.
 */
async function writeFully(handle: FileHandle, buffers: readonly Uint8Array[], position: number): Promise<number> {
  let pending = buffers;
  let remaining = pending.reduce((n, b) => n + b.byteLength, 0);
  let written = 0;
  while (remaining > 0) {
    const { bytesWritten } = await handle.writev(pending, position + written);
    if (bytesWritten === 0) throw Object.assign(new Error('write to WAL segment made no progress'), { code: 'EIO' });
    written += bytesWritten;
    remaining -= bytesWritten;
    pending = skipBytes(pending, bytesWritten);
  }
  return written;
}

function skipBytes(buffers: readonly Uint8Array[], count: number): readonly Uint8Array[] {
  let i = 0;
  let left = count;
  while (i < buffers.length && left >= buffers[i]!.byteLength) left -= buffers[i++]!.byteLength;
  if (i === buffers.length) return [];
  return [buffers[i]!.subarray(left), ...buffers.slice(i + 1)];
}
