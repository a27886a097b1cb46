import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { registry } from '../../../src/telemetry/metrics.js';
import { Wal, type SyncPolicy } from '../../../src/lib/wal/wal.js';
import { RECORD_HEADER_BYTES } from '../../../src/lib/wal/record.js';
import { filesBytes, openAndReplay, payload, range, replayedIds, segmentFiles, tempDir, walOptions } from './helpers.js';

const POLICIES: SyncPolicy[] = ['batch', 'request', 'none'];

async function metricValue(name: string, tenant: string, suffix = ''): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => v.labels['tenant'] === tenant && (suffix === '' || ('metricName' in v && v.metricName === `${name}${suffix}`)))
    .reduce((n, v) => n + v.value, 0);
}

describe('wal: append and replay', () => {
  for (const syncPolicy of POLICIES) {
    test(`${syncPolicy}: every record comes back in order, across reopens`, async () => {
      const dir = tempDir();
      const first = await openAndReplay(dir, { syncPolicy });
      assert.deepEqual(first.ids, []);
      for (const id of range(0, 40)) await first.wal.append(payload(id, id === 7 ? 300_000 : undefined));
      await first.wal.close();

      const second = await openAndReplay(dir, { syncPolicy });
      assert.deepEqual(second.ids, range(0, 40));
      for (const id of range(40, 60)) await second.wal.append(payload(id));
      await second.wal.close();

      assert.deepEqual(await replayedIds(dir, { syncPolicy }), range(0, 60));
    });

    test(`${syncPolicy}: hundreds of concurrent appends all resolve and replay intact, in call order`, async () => {
      const dir = tempDir();
      const tenant = `concurrent-${syncPolicy}`;
      const { wal } = await openAndReplay(dir, { syncPolicy, tenant });
      await Promise.all(range(0, 600).map((id) => wal.append(payload(id, 100 + (id % 13) * 700))));
      await wal.close();
      assert.deepEqual(await replayedIds(dir), range(0, 600));
      assert.equal(await metricValue('skein_wal_records_written_total', tenant), 600);
      const fsyncs = await metricValue('skein_wal_fsync_duration_seconds', tenant, '_count');
      if (syncPolicy === 'batch') assert.ok(fsyncs >= 1 && fsyncs < 600, `group commit shares fsyncs (${fsyncs} for 600 appends)`);
      if (syncPolicy === 'request') assert.equal(fsyncs, 600);
      if (syncPolicy === 'none') assert.equal(fsyncs, 0);
    });
  }

  test('batch with an interval gathers appends arriving during it into one fsync', async () => {
    const dir = tempDir();
    const tenant = 'interval';
    const { wal } = await openAndReplay(dir, { syncIntervalMs: 50, tenant });
    const started = performance.now();
    const early = wal.append(payload(0));
    await new Promise((r) => setTimeout(r, 10));
    await Promise.all([early, ...range(1, 20).map((id) => wal.append(payload(id)))]);
    assert.ok(performance.now() - started >= 45, 'the first append waited for the interval');
    assert.equal(await metricValue('skein_wal_fsync_duration_seconds', tenant, '_count'), 1);
    await wal.close();
    assert.deepEqual(await replayedIds(dir), range(0, 20));
  });

  test('close writes the appends still queued and resolves them; later calls are refused', async () => {
    const dir = tempDir();
    const { wal } = await openAndReplay(dir, { syncIntervalMs: 1000 });
    const pending = range(0, 50).map((id) => wal.append(payload(id)));
    const started = performance.now();
    await wal.close();
    assert.ok(performance.now() - started < 900, 'close does not sit out the gathering interval');
    await Promise.all(pending);
    await assert.rejects(wal.append(payload(50)), /after close/);
    await assert.rejects(wal.rotate(), /after close/);
    assert.deepEqual(await replayedIds(dir), range(0, 50));
  });

  test('an empty or oversized payload is refused', async () => {
    const { wal } = await openAndReplay(tempDir());
    await assert.rejects(wal.append(new Uint8Array(0)), RangeError);
    await assert.rejects(wal.append({ byteLength: 64 * 1024 * 1024 + 1 } as Uint8Array), RangeError);
    await wal.close();
  });
});

describe('wal: segments', () => {
  test('rotate + removeThrough delete exactly the older segments; replay then yields only newer records', async () => {
    const dir = tempDir();
    const { wal } = await openAndReplay(dir);
    for (const id of range(0, 5)) await wal.append(payload(id));
    const firstSeq = await wal.rotate();
    for (const id of range(5, 10)) await wal.append(payload(id));
    const secondSeq = await wal.rotate();
    for (const id of range(10, 15)) await wal.append(payload(id));
    assert.ok(secondSeq > firstSeq);
    assert.equal(segmentFiles(dir).length, 3);

    await wal.removeThrough(firstSeq);
    const left = segmentFiles(dir).map((f) => Number(basename(f, '.wal')));
    assert.deepEqual(left, [secondSeq, secondSeq + 1]);
    assert.equal(wal.diskBytes(), filesBytes(dir));
    await wal.close();

    const reopened = await openAndReplay(dir);
    assert.deepEqual(reopened.ids, range(5, 15));
    await reopened.wal.removeThrough(secondSeq);
    await reopened.wal.close();
    assert.deepEqual(await replayedIds(dir), range(10, 15));
  });

  test('rotate falls exactly between the appends called before it and those called after', async () => {
    const dir = tempDir();
    const { wal } = await openAndReplay(dir);
    const before = range(0, 200).map((id) => wal.append(payload(id)));
    const rotated = wal.rotate();
    const after = range(200, 400).map((id) => wal.append(payload(id)));
    await Promise.all([...before, ...after]);
    const seq = await rotated;
    await wal.close();

    const { wal: reopened, ids, segments } = await openAndReplay(dir);
    await reopened.close();
    assert.deepEqual(ids, range(0, 400));
    for (const [i, id] of ids.entries()) {
      if (id < 200) assert.ok(segments[i]! <= seq, `record ${id} is in a segment <= ${seq}`);
      else assert.ok(segments[i]! > seq, `record ${id} is in a segment after ${seq}`);
    }
  });

  test('a segment that passes segmentMaxBytes is followed by a new one', async () => {
    const dir = tempDir();
    const segmentMaxBytes = 4096;
    const { wal } = await openAndReplay(dir, { segmentMaxBytes });
    for (const id of range(0, 30)) await wal.append(payload(id, 1000));
    await Promise.all(range(30, 60).map((id) => wal.append(payload(id, 1000))));
    await wal.close();
    // 6 bytes of header and 5 records of 1008 bytes: the fifth passes 4096.
    const files = segmentFiles(dir);
    assert.equal(files.length, 12 + 1, 'twelve full segments and the new, empty one');
    for (const file of files.slice(0, -1)) assert.equal(statSync(file).size, 6 + 5 * (RECORD_HEADER_BYTES + 1000));
    assert.equal(wal.diskBytes(), filesBytes(dir));
    assert.deepEqual(await replayedIds(dir), range(0, 60));
  });

  test('diskBytes follows the files and every WAL reports its own metrics', async () => {
    const dirA = tempDir();
    const dirB = tempDir();
    const a = await openAndReplay(dirA, { tenant: 'tenant-a' });
    const b = await openAndReplay(dirB, { tenant: 'tenant-b' });
    await a.wal.append(payload(1, 1000));
    await b.wal.append(payload(2, 5000));
    await b.wal.append(payload(3, 5000));
    assert.equal(await metricValue('skein_wal_records_written_total', 'tenant-a'), 1);
    assert.equal(await metricValue('skein_wal_records_written_total', 'tenant-b'), 2);
    assert.equal(await metricValue('skein_wal_bytes_written_total', 'tenant-b'), 2 * (RECORD_HEADER_BYTES + 5000));
    assert.equal(a.wal.diskBytes(), filesBytes(dirA));
    assert.equal(b.wal.diskBytes(), filesBytes(dirB));
    assert.equal(await metricValue('skein_wal_disk_bytes', 'tenant-b'), filesBytes(dirB));
    await a.wal.close();
    await b.wal.close();
  });

  test('opening a WAL in a missing directory creates it', async () => {
    const dir = `${tempDir()}/tenants/t1`;
    await (await Wal.open(walOptions(dir), () => undefined)).close();
    assert.equal(segmentFiles(dir).length, 1);
  });
});
