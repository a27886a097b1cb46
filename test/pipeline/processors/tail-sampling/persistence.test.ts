import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { samplerWalDir, SamplerWal } from '../../../../src/pipeline/processors/tail-sampling/persistence.js';
import { decodeRecord, encodeDecisionsRecord, encodeSpansRecord, spansRecordBatch, type SamplerRecord } from '../../../../src/pipeline/processors/tail-sampling/wal-records.js';
import { silentLogger } from '../../../../src/telemetry/logger.js';
import { generateTrace, prng, tempDir, waitFor } from './helpers.js';

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
const spansRecord = (tenant: string, arrivalMs: number) => encodeSpansRecord(spansRecordBatch(tenant, arrivalMs, generateTrace(prng(arrivalMs), 'plain', 1n, 2).batches.flat()));

test('records round-trip', () => {
  const trace = generateTrace(prng(1), 'plain', 1n, 3);
  const batch = spansRecordBatch('tenant-ä', 1_700_000_000_123.5, trace.batches.flat());
  const payload = encodeSpansRecord(batch);
  const spans = decodeRecord(payload);
  assert.ok(spans.kind === 'spans');
  assert.equal(spans.tenant, 'tenant-ä');
  assert.equal(spans.arrivalMs, 1_700_000_000_123.5);
  assert.equal(spans.tracesData, payload);
  assert.deepEqual(spans.batch, batch, 'the metadata ResourceSpans first, then the spans');
  assert.equal(batch[0]!.scopeSpans.length, 0);
  const decisions = [
    { tenant: 'a', traceId: new Uint8Array(16).fill(1), sampled: true },
    { tenant: 'b', traceId: new Uint8Array(16).fill(2), sampled: false },
    { tenant: 'a', traceId: new Uint8Array(16).fill(3), sampled: false },
  ];
  const decoded = decodeRecord(encodeDecisionsRecord(decisions));
  assert.equal(decoded.kind, 'decisions');
  assert.deepEqual(
    (decoded as Extract<SamplerRecord, { kind: 'decisions' }>).decisions.map((d) => `${d.tenant}:${d.traceId[0]}:${d.sampled}`).sort(),
    ['a:1:true', 'a:3:false', 'b:2:false'],
  );
  assert.throws(() => decodeRecord(Uint8Array.from([9, 1])), /format version 9/);
});

test('the WAL directory is per processor name', () => {
  assert.equal(samplerWalDir('/data', 'tail_sampling/prod'), '/data/sampler/tail_sampling_prod');
});

test('segments go once no waiting trace pins their epoch, oldest first', async () => {
  const dir = tempDir();
  const wal = new SamplerWal({ dir, logger: silentLogger });
  await wal.open(() => assert.fail('nothing to replay'));
  const first = wal.currentEpoch;
  wal.pin(first);
  await wal.append(spansRecord('t', 1));
  await wal.rotate();
  const second = wal.currentEpoch;
  assert.equal(second, first + 1);
  wal.pin(second);
  await wal.append(spansRecord('t', 2));
  await wal.rotate();
  assert.equal(segments(dir).length, 3);

  wal.unpin(second);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(segments(dir).length, 3, 'the older epoch still holds its segment, so the newer one waits');
  wal.unpin(first);
  await waitFor('decided segments to go', () => segments(dir).length === 1);
  await wal.close();

  // What is left replays nothing of the removed epochs.
  const replayed: SamplerRecord[] = [];
  const again = new SamplerWal({ dir, logger: silentLogger });
  await again.open((record) => replayed.push(record));
  assert.deepEqual(replayed, []);
  await again.close();
});

test('replay hands each record with one epoch per segment; unpinned replayed segments are removed', async () => {
  const dir = tempDir();
  const wal = new SamplerWal({ dir, logger: silentLogger });
  await wal.open(() => {});
  // Traces waiting in both epochs keep their segments until the close.
  wal.pin(wal.currentEpoch);
  await wal.append(spansRecord('t', 1));
  await wal.rotate();
  wal.pin(wal.currentEpoch);
  await wal.append(spansRecord('t', 2));
  await wal.append(spansRecord('t', 3));
  await wal.close();

  const seen: Array<[number, number]> = [];
  const again = new SamplerWal({ dir, logger: silentLogger });
  await again.open((record, epoch) => {
    if (record.kind === 'spans' && record.arrivalMs !== 1) again.pin(epoch); // a trace still waiting
    seen.push([record.kind === 'spans' ? record.arrivalMs : -1, epoch]);
  });
  assert.deepEqual(seen, [
    [1, 0],
    [2, 1],
    [3, 1],
  ]);
  await waitFor('the unpinned first segment to go', () => segments(dir).length === 2);
  await again.close();
});
