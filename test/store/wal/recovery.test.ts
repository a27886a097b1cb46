// Recovery from what a crash or a bad disk leaves behind: every record before
// the damage comes back, the damage is cut off and logged, and the WAL goes on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wal } from '../../../src/lib/wal/wal.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../../../src/lib/wal/record.js';
import { segmentFileName } from '../../../src/lib/wal/segment.js';
import { registry } from '../../../src/telemetry/metrics.js';
import { captureLogs, openAndReplay, payload, range, replayedIds, segmentFiles, tempDir, walOptions } from './helpers.js';

const PAYLOAD_BYTES = 300;
const RECORD_BYTES = RECORD_HEADER_BYTES + PAYLOAD_BYTES;
/** Offset of record `i` in a segment of PAYLOAD_BYTES records. */
const recordAt = (i: number) => SEGMENT_HEADER_BYTES + i * RECORD_BYTES;

/** A WAL holding records `ids` (PAYLOAD_BYTES each) in one segment; returns the directory and that segment's file. */
async function walWith(ids: number[]): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  const wal = await Wal.open(walOptions(dir), () => undefined);
  for (const id of ids) await wal.append(payload(id, PAYLOAD_BYTES));
  await wal.close();
  return { dir, file: segmentFiles(dir).at(-1)! };
}

const truncations = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l['msg'] === 'wal: truncated torn tail');
const errors = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l['level'] === 'error');

/** Reopens after damage, checks what came back and what was logged, then checks the WAL still takes appends. */
async function expectRecovery(
  dir: string,
  expected: { ids: number[]; segment: number; offset: number; droppedBytes: number },
): Promise<Array<Record<string, unknown>>> {
  const { logger, lines } = captureLogs();
  const tenant = `recovery-${Math.random()}`;
  const { wal, ids } = await openAndReplay(dir, { logger, tenant });
  assert.deepEqual(ids, expected.ids);
  const [truncation, ...more] = truncations(lines);
  assert.ok(truncation, 'the truncation is logged');
  assert.equal(more.length, 0);
  assert.equal(truncation['level'], 'warn');
  assert.equal(truncation['segment'], expected.segment);
  assert.equal(truncation['offset'], expected.offset);
  assert.equal(truncation['droppedBytes'], expected.droppedBytes);
  assert.equal(statSync(join(dir, segmentFileName(expected.segment))).size, expected.offset);
  const dropped = (await registry.getSingleMetric('skein_wal_truncated_bytes_total')!.get()).values.find((v) => v.labels['tenant'] === tenant);
  assert.equal(dropped?.value, expected.droppedBytes);

  await wal.append(payload(1000, PAYLOAD_BYTES));
  await wal.close();
  const after = captureLogs();
  assert.deepEqual(await replayedIds(dir, { logger: after.logger }), [...expected.ids, 1000]);
  assert.deepEqual(truncations(after.lines), [], 'a recovered WAL needs no second truncation');
  return lines;
}

describe('wal: recovery', () => {
  // Cut points within the last record: inside its header, right after it, inside the payload.
  for (const kept of [1, 4, 7, 8, 9, 150, RECORD_BYTES - 1]) {
    test(`torn tail: the last record cut ${kept} bytes into it`, async () => {
      const { dir, file } = await walWith(range(0, 5));
      truncateSync(file, recordAt(4) + kept);
      await expectRecovery(dir, { ids: range(0, 4), segment: 1, offset: recordAt(4), droppedBytes: kept });
    });
  }

  test('a corrupt payload byte in the last record fails its CRC', async () => {
    const { dir, file } = await walWith(range(0, 5));
    const bytes = readFileSync(file);
    bytes[recordAt(4) + RECORD_HEADER_BYTES + 100]! ^= 0x40;
    writeFileSync(file, bytes);
    await expectRecovery(dir, { ids: range(0, 4), segment: 1, offset: recordAt(4), droppedBytes: RECORD_BYTES });
  });

  test('a corrupt CRC field in the last record', async () => {
    const { dir, file } = await walWith(range(0, 5));
    const bytes = readFileSync(file);
    bytes[recordAt(4) + 5]! ^= 0x01;
    writeFileSync(file, bytes);
    await expectRecovery(dir, { ids: range(0, 4), segment: 1, offset: recordAt(4), droppedBytes: RECORD_BYTES });
  });

  test('garbage after the last record', async () => {
    const { dir, file } = await walWith(range(0, 5));
    const garbage = Buffer.from('this is not a record, it is garbage from a half-done write');
    appendFileSync(file, garbage);
    await expectRecovery(dir, { ids: range(0, 5), segment: 1, offset: recordAt(5), droppedBytes: garbage.length });
  });

  test('a header promising more bytes than follow', async () => {
    const { dir, file } = await walWith(range(0, 5));
    appendFileSync(file, Buffer.from([0x00, 0x10, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    await expectRecovery(dir, { ids: range(0, 5), segment: 1, offset: recordAt(5), droppedBytes: 11 });
  });

  test('a zero-filled tail (an unsynced extending write after a power loss) is not read as empty records', async () => {
    const { dir, file } = await walWith(range(0, 5));
    appendFileSync(file, Buffer.alloc(4096));
    await expectRecovery(dir, { ids: range(0, 5), segment: 1, offset: recordAt(5), droppedBytes: 4096 });
  });

  test('a length over 64 MiB is corruption, not a reason to read on', async () => {
    const { dir, file } = await walWith(range(0, 5));
    const header = Buffer.alloc(RECORD_HEADER_BYTES + 16);
    header.writeUInt32LE(64 * 1024 * 1024 + 1, 0);
    appendFileSync(file, header);
    await expectRecovery(dir, { ids: range(0, 5), segment: 1, offset: recordAt(5), droppedBytes: header.length });
  });

  test('a zero-length segment left by a crash is fine', async () => {
    const { dir } = await walWith(range(0, 5));
    writeFileSync(join(dir, segmentFileName(2)), '');
    const { logger, lines } = captureLogs();
    const { wal, ids } = await openAndReplay(dir, { logger });
    assert.deepEqual(ids, range(0, 5));
    assert.deepEqual(lines.filter((l) => l['level'] !== 'info' && l['level'] !== 'debug'), []);
    await wal.append(payload(5, PAYLOAD_BYTES));
    await wal.close();
    assert.deepEqual(await replayedIds(dir), range(0, 6));
  });

  test('a segment whose header was torn is dropped whole', async () => {
    const { dir } = await walWith(range(0, 5));
    writeFileSync(join(dir, segmentFileName(2)), 'SKW');
    await expectRecovery(dir, { ids: range(0, 5), segment: 2, offset: 0, droppedBytes: 3 });
  });

  test('damage in a segment that is not the last: its rest is dropped, logged as an error, and later segments still replay', async () => {
    const { dir, file } = await walWith(range(0, 5));
    const wal = await Wal.open(walOptions(dir), () => undefined);
    for (const id of range(5, 10)) await wal.append(payload(id, PAYLOAD_BYTES));
    await wal.close();
    const bytes = readFileSync(file);
    bytes[recordAt(2) + RECORD_HEADER_BYTES + 7]! ^= 0xff;
    writeFileSync(file, bytes);

    const lines = await expectRecovery(dir, { ids: [0, 1, ...range(5, 10)], segment: 1, offset: recordAt(2), droppedBytes: 3 * RECORD_BYTES });
    const [error] = errors(lines);
    assert.ok(error, 'damage before the last segment is an error');
    assert.equal(error['segment'], 1);
    assert.equal(error['droppedBytes'], 3 * RECORD_BYTES);
  });

  test('a segment from a newer format version is refused, not truncated', async () => {
    const { dir } = await walWith(range(0, 5));
    const future = join(dir, segmentFileName(2));
    writeFileSync(future, Buffer.concat([Buffer.from('SKWAL'), Buffer.from([2]), Buffer.alloc(100, 7)]));
    await assert.rejects(Wal.open(walOptions(dir), () => undefined), /format version 2/);
    assert.equal(statSync(future).size, 106);
  });

  test('replay awaits an asynchronous onRecord before reading on', async () => {
    const { dir } = await walWith(range(0, 20));
    const seen: number[] = [];
    let busy = false;
    const wal = await Wal.open(walOptions(dir), async (bytes) => {
      assert.equal(busy, false);
      busy = true;
      await new Promise((r) => setTimeout(r, 1));
      seen.push(Buffer.from(bytes).readUInt32LE(0));
      busy = false;
    });
    await wal.close();
    assert.deepEqual(seen, range(0, 20));
  });
});
