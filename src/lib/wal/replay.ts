// Recovery: reads every segment of a WAL directory in order, hands each valid
// record to the caller and truncates each segment at its first invalid record.
import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../telemetry/logger.js';
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  checkSegmentHeader,
  isValidPayloadLength,
  payloadMatches,
  readRecordHeader,
} from './record.js';
import { listSegments, type SegmentFile } from './segment.js';
import { walMetrics } from './metrics.js';

export type RecordHandler = (payload: Uint8Array, segment: number) => void | Promise<void>;

export interface ReplayedSegment {
  seq: number;
  /** Size of the segment file after recovery. */
  bytes: number;
}

interface Cut {
  offset: number;
  droppedBytes: number;
  reason: string;
}

export async function replayDirectory(
  dir: string,
  logger: Logger,
  tenant: string,
  onRecord: RecordHandler,
): Promise<ReplayedSegment[]> {
  const segments = await listSegments(dir);
  const replayed: ReplayedSegment[] = [];
  for (const [i, segment] of segments.entries()) {
    const { bytes, cut } = await replaySegment(segment, onRecord);
    if (cut) {
      const fields = { segment: segment.seq, file: segment.path, ...cut };
      logger.warn(fields, 'wal: truncated torn tail');
      walMetrics.truncatedBytes.inc({ tenant }, cut.droppedBytes);
      // A crash can only tear the segment being written, and a restart never
      // appends to an old segment, so damage before the last one is not a torn write.
      if (i < segments.length - 1) {
        logger.error(fields, 'wal: truncated a segment that is not the last one: disk corruption or a failed write that could not be undone');
      }
    }
    replayed.push({ seq: segment.seq, bytes });
  }
  return replayed;
}

async function replaySegment(segment: SegmentFile, onRecord: RecordHandler): Promise<{ bytes: number; cut?: Cut }> {
  const handle = await open(segment.path, 'r+');
  try {
    const size = (await handle.stat()).size;
    if (size === 0) return { bytes: 0 }; // created just before a crash: nothing was ever acknowledged in it
    const reader = new SequentialReader(handle, size);
    const header = checkSegmentHeader(await reader.view(0, Math.min(size, SEGMENT_HEADER_BYTES)));
    if (header.kind === 'unsupported') {
      throw new Error(`wal: segment ${segment.path} has format version ${header.version}, this Skein reads version 1`);
    }
    let offset = 0;
    let reason: string | undefined;
    if (header.kind === 'damaged') reason = 'bad segment header';
    else offset = SEGMENT_HEADER_BYTES;
    while (reason === undefined && offset < size) {
      if (size - offset < RECORD_HEADER_BYTES) {
        reason = 'short record header';
        break;
      }
      const { length, crc } = readRecordHeader(await reader.view(offset, RECORD_HEADER_BYTES), 0);
      if (!isValidPayloadLength(length)) {
        reason = `invalid record length ${length}`;
        break;
      }
      if (offset + RECORD_HEADER_BYTES + length > size) {
        reason = 'record runs past end of file';
        break;
      }
      const payload = await reader.copy(offset + RECORD_HEADER_BYTES, length);
      if (!payloadMatches(payload, crc)) {
        reason = 'crc mismatch';
        break;
      }
      const pending = onRecord(payload, segment.seq);
      if (pending) await pending;
      offset += RECORD_HEADER_BYTES + length;
    }
    if (reason === undefined) return { bytes: size };
    await handle.truncate(offset);
    await handle.sync();
    return { bytes: offset, cut: { offset, droppedBytes: size - offset, reason } };
  } finally {
    await handle.close();
  }
}

const CHUNK_BYTES = 1024 * 1024;

/** Reads a file front to back in large chunks, so small records do not cost a read each. */
class SequentialReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  /** Bytes [offset, offset + length) of the file, valid until the next call. */
  async view(offset: number, length: number): Promise<Buffer> {
    const end = offset + length;
    if (offset < this.chunkStart || end > this.chunkStart + this.chunk.length) {
      this.chunk = await this.readAt(offset, Math.max(length, Math.min(CHUNK_BYTES, this.size - offset)));
      this.chunkStart = offset;
    }
    return this.chunk.subarray(offset - this.chunkStart, end - this.chunkStart);
  }

  /** Bytes [offset, offset + length) in a buffer of their own. */
  async copy(offset: number, length: number): Promise<Buffer> {
    if (length >= CHUNK_BYTES) return this.readAt(offset, length);
    return Buffer.from(await this.view(offset, length));
  }

  private async readAt(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new Error(`wal: segment shrank while being replayed (wanted ${length} bytes at ${offset})`);
      filled += bytesRead;
    }
    return buffer;
  }
}
