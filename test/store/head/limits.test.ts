// The head's per-tenant limits at ingest (src/store/head/limits.ts): max_traces_per_user and
// max_bytes_per_trace, on a real head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Head, encodeBatch } from '../../../src/store/head/head.js';
import { checkHeadLimits, type HeadLimits } from '../../../src/store/head/limits.js';
import { toHex } from '../../../src/otlp/model.js';
import { batchOf, newTraceId, span, str } from '../../helpers/spans.js';

function limits(maxTraces: number, maxBytes: number): HeadLimits {
  return {
    max_traces_per_user: maxTraces,
    max_bytes_per_trace: maxBytes,
    named: { max_traces_per_user: `max_traces_per_user=${maxTraces}`, max_bytes_per_trace: `max_bytes_per_trace=${maxBytes}` } as HeadLimits['named'],
  };
}

test('spans of new traces past max_traces_per_user are refused; spans of traces the head holds, or that came first in the batch, are not', () => {
  const head = new Head();
  const [t1, t2, t3] = [newTraceId(), newTraceId(), newTraceId()];
  head.insert(encodeBatch(batchOf('svc', [span({ traceId: t1 })])));
  const batch = encodeBatch(batchOf('svc', [span({ traceId: t2 }), span({ traceId: t3 }), span({ traceId: t1 }), span({ traceId: t2 }), span({ traceId: t3 })]));
  const verdict = checkHeadLimits(head, batch, 'a', limits(2, 0));
  assert.ok(verdict);
  assert.deepEqual(verdict.keep, [true, false, true, true, false]);
  assert.equal(verdict.refused.count, 2);
  assert.deepEqual([...verdict.refused.reasons], [['live_traces_exceeded', 2]]);
  assert.equal(verdict.refused.retryable, true);
  assert.match(verdict.refused.message, /^2 spans of 1 new trace refused for tenant "a": its head already holds 1 traces not yet cut into a block, the most max_traces_per_user=2 allows/);
  assert.equal(checkHeadLimits(head, batch, 'a', limits(3, 0)), undefined);
  assert.equal(checkHeadLimits(head, batch, 'a', limits(0, 0)), undefined, '0: no limit');
});

test('spans that would take a trace past max_bytes_per_trace are refused, counting what the head holds and what came before in the batch', () => {
  const head = new Head();
  const traceId = newTraceId();
  const big = () => span({ traceId, attributes: [str('blob', 'y'.repeat(400))] });
  head.insert(encodeBatch(batchOf('svc', [big()])));
  const held = head.traceBytes(toHex(traceId))!;
  assert.ok(held > 400 && head.largestTraceBytes === held);
  const other = newTraceId();
  const batch = encodeBatch(batchOf('svc', [big(), span({ traceId: other }), big(), big()]));
  const verdict = checkHeadLimits(head, batch, 'a', limits(0, held * 2 + 10));
  assert.ok(verdict);
  assert.deepEqual(verdict.keep, [true, true, false, false]);
  assert.deepEqual([...verdict.refused.reasons], [['trace_too_large', 2]]);
  assert.equal(verdict.refused.retryable, false);
  assert.match(verdict.refused.message, new RegExp(`^2 spans of trace ${toHex(traceId)} refused for tenant "a": they would take the trace past max_bytes_per_trace=`));
  // Nothing near the limit: the head is not asked about any trace.
  assert.equal(checkHeadLimits(head, batch, 'a', limits(0, held + batch.bytes)), undefined);
});
