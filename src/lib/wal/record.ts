// The WAL's on-disk format (version 1).
//
// A WAL is one directory (one per tenant) of segment files, each named by its
// sequence number in 20 zero-padded digits plus ".wal", e.g.
// `00000000000000000001.wal`, so that sorting the names sorts the segments.
// Replay reads segments in sequence order and each segment from start to end;
// that is the order in which append() was called.
//
// Segment file:
//   bytes 0..4   magic "SKWAL" (ASCII)
//   byte  5      format version, 1
//   then records back to back until end of file (no index, no trailer)
//
// Record:
//   u32 little-endian   payload length in bytes, 1 to 64 MiB (67108864)
//   u32 little-endian   CRC-32 of the payload (IEEE polynomial, as zlib.crc32)
//   payload
//
// A record is valid when its length is in range, all of its bytes lie before
// end of file and the CRC matches. Replay stops a segment at its first invalid
// record and truncates the file there: what follows is a write torn by a crash
// (never acknowledged under the 'batch' and 'request' sync policies, which
// acknowledge only after fdatasync) or damage. Length 0 counts as invalid
// because a zero-filled region (what some file systems show after a crash for
// an extending write that was not synced) would otherwise read as a run of
// valid empty records: the CRC-32 of nothing is 0.
//
// A segment whose header is shorter than 6 bytes or lacks the magic is treated
// like a torn tail (the whole file is dropped); a segment with the magic but an
// unknown version is refused, so that an older Skein never truncates a newer
// Skein's WAL.
import { crc32 } from 'node:zlib';

export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from('SKWAL', 'ascii');
export const SEGMENT_HEADER_BYTES = MAGIC.length + 1;
export const RECORD_HEADER_BYTES = 8;
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

export function segmentHeader(): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[MAGIC.length] = FORMAT_VERSION;
  return header;
}

export type SegmentHeaderCheck = { kind: 'ok' } | { kind: 'damaged' } | { kind: 'unsupported'; version: number };

/** Checks the first SEGMENT_HEADER_BYTES of a segment (fewer when the file is shorter). */
export function checkSegmentHeader(bytes: Uint8Array): SegmentHeaderCheck {
  if (bytes.length < SEGMENT_HEADER_BYTES || !MAGIC.equals(bytes.subarray(0, MAGIC.length))) return { kind: 'damaged' };
  const version = bytes[MAGIC.length]!;
  return version === FORMAT_VERSION ? { kind: 'ok' } : { kind: 'unsupported', version };
}

export function isValidPayloadLength(length: number): boolean {
  return Number.isInteger(length) && length >= 1 && length <= MAX_PAYLOAD_BYTES;
}

/** Writes the 8-byte header of a record carrying `payload` into `target` at `offset`. */
export function writeRecordHeader(payload: Uint8Array, target: Buffer, offset: number): void {
  target.writeUInt32LE(payload.byteLength, offset);
  target.writeUInt32LE(crc32(payload), offset + 4);
}

export interface RecordHeader {
  length: number;
  crc: number;
}

export function readRecordHeader(bytes: Buffer, offset: number): RecordHeader {
  return { length: bytes.readUInt32LE(offset), crc: bytes.readUInt32LE(offset + 4) };
}

export function payloadMatches(payload: Uint8Array, crc: number): boolean {
  return crc32(payload) === crc;
}
