// The cheap memory readings agree with what process.memoryUsage() reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { residentSetBytes, v8LiveBytes } from '../../src/telemetry/memory.js';

const MiB = 1024 * 1024;

test('residentSetBytes reads what process.memoryUsage calls rss', () => {
  const before = process.memoryUsage.rss();
  const rss = residentSetBytes();
  const after = process.memoryUsage.rss();
  // Read a moment apart: within a few MiB of either reading.
  assert.ok(rss > Math.min(before, after) - 8 * MiB && rss < Math.max(before, after) + 8 * MiB, `${rss} against ${before}..${after}`);
});

test('v8LiveBytes is the used heap plus external memory', () => {
  const m = process.memoryUsage();
  const live = v8LiveBytes();
  assert.ok(Math.abs(live - (m.heapUsed + m.external)) < 8 * MiB, `${live} against ${m.heapUsed + m.external}`);
});
