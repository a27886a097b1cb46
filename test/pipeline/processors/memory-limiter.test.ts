// The memory_limiter's decisions with a substituted memory probe: what counts
// as usage, when it refuses and accepts again, and when it forces a collection.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryLimiterConfigSchema, MemoryLimiter, type MemoryProbe } from '../../../src/pipeline/processors/memory-limiter/memory-limiter.js';
import { OverloadError } from '../../../src/lib/errors.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { simpleTrace } from '../../helpers/spans.js';

const MiB = 1024 * 1024;

/** Memory as the test sets it; a collection frees `freedByGc` of live memory, and RSS only if `gcShrinksRss`. */
class FakeMemory implements MemoryProbe {
  rss = 0;
  live = 0;
  clock = 0;
  gcs = 0;
  freedByGc = 0;
  gcShrinksRss = false;
  readRss = (): number => this.rss;
  readLive = (): number => this.live;
  now = (): number => this.clock;
  collectGarbage = (): void => {
    this.gcs++;
    this.live -= this.freedByGc;
    if (this.gcShrinksRss) this.rss -= this.freedByGc;
    this.freedByGc = 0;
  };
}

function setup(raw: Record<string, unknown>, memory: FakeMemory): { limiter: MemoryLimiter; delivered: () => number } {
  let delivered = 0;
  const config = memoryLimiterConfigSchema.parse({ check_interval: '1s', ...raw });
  const limiter = new MemoryLimiter(
    config,
    {
      consume: async () => {
        delivered++;
      },
    },
    { name: 'memory_limiter', logger: silentLogger, dataDir: '/nonexistent' },
    memory,
  );
  return { limiter, delivered: () => delivered };
}

const batch = () => simpleTrace(2).batch;

beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
afterEach(() => mock.timers.reset());

test('refuses with a retryable error over the soft limit and accepts again under it', async () => {
  const m = new FakeMemory();
  m.rss = 100 * MiB;
  m.live = 40 * MiB; // 60 MiB native baseline
  const { limiter, delivered } = setup({ limit_mib: 200, spike_limit_mib: 50 }, m);
  await limiter.start();
  await limiter.consume('t', batch());
  assert.equal(delivered(), 1);

  m.live += 100 * MiB;
  m.rss += 100 * MiB; // 200 MiB: over the soft limit of 150
  await assert.rejects(limiter.consume('t', batch()), (err: unknown) => err instanceof OverloadError && err.retryAfterSeconds === 1 && /over the soft limit of 150 MiB/.test(err.message));
  m.live -= 100 * MiB;
  m.rss -= 100 * MiB;
  await limiter.consume('t', batch());
  assert.equal(delivered(), 2);
  await limiter.shutdown();
});

test('RSS that stays high after a burst, while live memory is back down, does not keep refusing', async () => {
  const m = new FakeMemory();
  m.rss = 100 * MiB;
  m.live = 40 * MiB;
  const { limiter, delivered } = setup({ limit_mib: 200, spike_limit_mib: 50 }, m);
  await limiter.start();
  m.live += 150 * MiB;
  m.rss += 150 * MiB;
  await assert.rejects(limiter.consume('t', batch()), OverloadError);
  // The burst's garbage is collected, but the allocator keeps the pages: RSS stays at 250 MiB.
  m.live -= 150 * MiB;
  await limiter.consume('t', batch());
  assert.equal(delivered(), 1);
  await limiter.shutdown();
});

test('the live estimate never counts more than RSS, and RSS over the soft limit refuses', async () => {
  const m = new FakeMemory();
  m.rss = 100 * MiB;
  m.live = 40 * MiB; // 60 MiB native baseline
  const { limiter } = setup({ limit_mib: 200, spike_limit_mib: 50 }, m);
  await limiter.start();
  // Estimate 60 + 140 = 200 MiB, but the process only has 140 MiB resident.
  m.rss = 140 * MiB;
  m.live = 140 * MiB;
  await limiter.consume('t', batch());
  m.rss = 160 * MiB;
  await assert.rejects(limiter.consume('t', batch()), OverloadError);
  await limiter.shutdown();
});

test('forces a collection over the soft limit at most every min_gc_interval_when_soft_limited, over the hard limit at every check', async () => {
  const m = new FakeMemory();
  m.rss = 100 * MiB;
  m.live = 40 * MiB;
  const { limiter, delivered } = setup({ limit_mib: 200, spike_limit_mib: 50, min_gc_interval_when_soft_limited: '10s' }, m);
  await limiter.start();
  assert.equal(m.gcs, 0, 'no collection under the soft limit');

  m.live += 70 * MiB;
  m.rss += 70 * MiB; // 170: soft-limited
  m.clock += 1000;
  mock.timers.tick(1000);
  assert.equal(m.gcs, 1);
  for (let i = 0; i < 5; i++) {
    m.clock += 1000;
    mock.timers.tick(1000);
  }
  assert.equal(m.gcs, 1, 'soft-limited: not again within 10 s');
  m.clock += 5000;
  mock.timers.tick(1000);
  assert.equal(m.gcs, 2);

  m.live += 50 * MiB;
  m.rss += 50 * MiB; // 220: hard-limited
  for (let i = 0; i < 3; i++) {
    m.clock += 1000;
    mock.timers.tick(1000);
  }
  assert.equal(m.gcs, 5, 'hard-limited: every check (min_gc_interval_when_hard_limited 0)');
  await assert.rejects(limiter.consume('t', batch()), OverloadError);

  // A collection that frees enough ends the refusal at that very check.
  m.freedByGc = 120 * MiB;
  m.gcShrinksRss = true;
  m.clock += 1000;
  mock.timers.tick(1000);
  await limiter.consume('t', batch());
  assert.equal(delivered(), 1);
  await limiter.shutdown();
});

test('a request does not force a collection: only the periodic check does', async () => {
  const m = new FakeMemory();
  m.rss = 100 * MiB;
  m.live = 40 * MiB;
  const { limiter } = setup({ limit_mib: 200, spike_limit_mib: 50 }, m);
  await limiter.start();
  m.live += 150 * MiB;
  m.rss += 150 * MiB;
  for (let i = 0; i < 5; i++) await assert.rejects(limiter.consume('t', batch()), OverloadError);
  assert.equal(m.gcs, 0);
  await limiter.shutdown();
});
