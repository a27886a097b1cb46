// The compaction lease (cluster.compactor: lease): of several instances sharing a
// bucket, the one holding `~cluster/compactor-lease.json` runs compaction, retention
// and the sweep, and writes the block indexes. The object says who holds it and until
// when; it is taken and renewed only with conditional writes (Backend.writeIfVersion:
// create-if-absent, or replace-if-unchanged), so of two instances racing for it one
// wins. The holder renews it every third of its duration and stops compacting as soon
// as a renewal fails; another instance takes it once it has expired.
//
// A store that accepts a conditional write it should refuse (s3rver ignores
// If-None-Match) would let two instances hold the lease at once, so open() probes for
// that and refuses to start.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../telemetry/logger.js';
import type { Backend } from '../backend/backend.js';
import { blockMetrics } from './metrics.js';

export const LEASE_KEY = '~cluster/compactor-lease.json';
const PROBE_PREFIX = '~cluster/conditional-write-probe-';

export interface CompactionLeaseOptions {
  backend: Backend;
  /** This instance as the lease names its holder (its OTLP gRPC address): for people reading the object. */
  holder: string;
  /** cluster.lease_duration: how long a lease not renewed stays the holder's. */
  durationMs: number;
  logger: Logger;
  /** The clock (ms since the epoch) expiry is measured with. */
  now?: () => number;
}

interface LeaseBody {
  holder: string;
  /** Tells two processes apart that name themselves alike (a restart, a misconfiguration). */
  token: string;
  /** ISO 8601. */
  expiresAt: string;
}

type ConditionalBackend = Backend & Required<Pick<Backend, 'readWithVersion' | 'writeIfVersion'>>;

export class CompactionLease {
  private readonly token = randomUUID();
  /** The lease object's version as this instance last wrote it, while it holds it. */
  private version: string | undefined;
  /** Until when (this instance's clock) the lease is surely its own: the expiry it last wrote. */
  private heldUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<boolean> | undefined;
  private readonly now: () => number;

  private constructor(
    private readonly opts: CompactionLeaseOptions,
    private readonly backend: ConditionalBackend,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Checks that the backend honours conditional writes (see probeConditionalWrites); does not take the lease yet. */
  static async open(opts: CompactionLeaseOptions): Promise<CompactionLease> {
    const backend = await probeConditionalWrites(opts.backend, opts.holder);
    return new CompactionLease(opts, backend);
  }

  /** True while this instance holds the lease: its last take or renewal succeeded and has not expired. */
  held(): boolean {
    return this.version !== undefined && this.now() < this.heldUntil;
  }

  /** Takes or renews the lease now, then every third of its duration, until close(). */
  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(1, Math.floor(this.opts.durationMs / 3)));
    this.timer.unref();
  }

  /**
   * One attempt: renews the lease this instance holds, takes one that is free or expired,
   * or leaves another holder's alone. Resolves to held(). A failure of any kind (refused,
   * unreachable) ends this instance's hold.
   */
  tick(): Promise<boolean> {
    this.ticking ??= this.attempt().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  /** Stops renewing, and gives the lease up (an expired lease) so that another instance takes it at its next attempt. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    const version = this.version;
    if (version === undefined) return;
    this.lose();
    await this.backend
      .writeIfVersion(LEASE_KEY, this.body(this.now()), version)
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'compaction lease not given up; it expires by itself'));
  }

  private async attempt(): Promise<boolean> {
    const wasHeld = this.held();
    const startedAt = this.now();
    try {
      const current = await this.backend.readWithVersion(LEASE_KEY);
      let expected: string | null;
      if (current === undefined) {
        expected = null;
      } else {
        const body = parseLease(current.data);
        const mine = body?.token === this.token;
        // Someone else's lease that has not expired is theirs. An expired one, or one this
        // version cannot read, is replaced on condition of its version: one taker wins.
        if (!mine && body !== undefined && Date.parse(body.expiresAt) > startedAt) {
          if (wasHeld) this.opts.logger.warn({ holder: body.holder }, 'compaction lease taken over by another instance; compaction stops here');
          this.lose();
          return false;
        }
        expected = current.version;
      }
      const version = await this.backend.writeIfVersion(LEASE_KEY, this.body(startedAt + this.opts.durationMs), expected);
      if (version === undefined) {
        if (wasHeld) this.opts.logger.warn('compaction lease renewal refused (another instance wrote it); compaction stops here');
        this.lose();
        return false;
      }
      this.version = version;
      // Measured from before the write: the others see the expiry written, never a later one.
      this.heldUntil = startedAt + this.opts.durationMs;
      blockMetrics.compactor.set(1);
      if (!wasHeld) this.opts.logger.info({ holder: this.opts.holder, durationMs: this.opts.durationMs }, 'compaction lease taken: this instance compacts');
      return true;
    } catch (err) {
      this.opts.logger.warn({ err }, 'compaction lease could not be renewed; compaction stops here until it is taken again');
      this.lose();
      return false;
    }
  }

  private lose(): void {
    this.version = undefined;
    this.heldUntil = 0;
    blockMetrics.compactor.set(0);
  }

  private body(expiresAtMs: number): Uint8Array {
    const body: LeaseBody = { holder: this.opts.holder, token: this.token, expiresAt: new Date(expiresAtMs).toISOString() };
    return Buffer.from(`${JSON.stringify(body)}\n`);
  }
}

function parseLease(data: Uint8Array): LeaseBody | undefined {
  try {
    const v = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<LeaseBody>;
    if (typeof v.holder === 'string' && typeof v.token === 'string' && typeof v.expiresAt === 'string' && !Number.isNaN(Date.parse(v.expiresAt))) return v as LeaseBody;
  } catch {
    // not a lease this version wrote
  }
  return undefined;
}

/**
 * Checks that the backend refuses the conditional writes it must: a second create of a
 * probe object (If-None-Match: *), and a replace naming a version the object does not
 * have (If-Match). Throws a start-up error naming cluster.compactor otherwise.
 */
export async function probeConditionalWrites(backend: Backend, self: string): Promise<ConditionalBackend> {
  const advice =
    `so cluster.compactor: lease cannot make sure only one instance compacts. Name one instance instead, by its OTLP gRPC address ` +
    `(cluster.compactor: ${JSON.stringify(self === '' ? 'host:4317' : self)} makes this one the compactor); every instance must name the same one`;
  if (backend.readWithVersion === undefined || backend.writeIfVersion === undefined) {
    throw new Error(`the storage backend offers no conditional writes, ${advice}`);
  }
  const conditional = backend as ConditionalBackend;
  const key = `${PROBE_PREFIX}${randomUUID()}.json`;
  const probe = (n: number): Uint8Array => Buffer.from(`{"probe":${n}}\n`);
  try {
    const first = await conditional.writeIfVersion(key, probe(1), null);
    if (first === undefined) throw new Error(`the storage backend refused to create ${key}, which did not exist (If-None-Match: *), ${advice}`);
    if ((await conditional.writeIfVersion(key, probe(2), null)) !== undefined) {
      throw new Error(`the storage backend does not honour conditional writes: it let ${key} be created twice (If-None-Match: * ignored, as s3rver does), ${advice}`);
    }
    const second = await conditional.writeIfVersion(key, probe(3), first);
    if (second === undefined) throw new Error(`the storage backend refused to replace ${key} at the version it gave (If-Match), ${advice}`);
    if ((await conditional.writeIfVersion(key, probe(4), first)) !== undefined) {
      throw new Error(`the storage backend does not honour conditional writes: it replaced ${key} at a version it no longer had (If-Match ignored), ${advice}`);
    }
    return conditional;
  } finally {
    await backend.delete(key).catch(() => undefined);
  }
}
