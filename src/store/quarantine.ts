// The quarantine: spans a block cannot hold (isolate.ts finds them), kept so that
// they are never lost and never retried forever. Each head cut that finds some
// writes one object per tenant, beside the blocks under storage.path:
//
//   quarantine/<tenant>/<id>.otlp.pb   the spans, an OTLP TracesData with their
//                                      resources and scopes (inspect or re-send it)
//   quarantine/<tenant>/<id>.json      what happened: time, span count, error
//
// The ID is a digest of the spans, so a cut retried after a crash (the WAL
// replays the same spans) writes the same object again instead of a second one.
// Nothing deletes these files: that is the operator's call.
import { createHash } from 'node:crypto';
import { groupSpans } from '../otlp/assemble.js';
import { toHex, type StoredSpan } from '../otlp/model.js';
import { encodeTracesData } from '../otlp/protobuf.js';
import type { Logger } from '../telemetry/logger.js';
import { BackendNotFoundError, type Backend } from './backend/backend.js';
import { storeMetrics } from './metrics.js';

const DATA_SUFFIX = '.otlp.pb';
const INFO_SUFFIX = '.json';
/** Distinct error messages kept per object. */
const MAX_ERRORS = 10;
const MAX_ERROR_CHARS = 1000;

/** One quarantine object, as its .json describes it. */
export interface QuarantineEntry {
  id: string;
  tenant: string;
  /** ISO 8601 time it was written. */
  time: string;
  spans: number;
  traces: number;
  /** The error writing the spans failed with (the first, when they failed differently). */
  error: string;
  /** Every distinct error, at most MAX_ERRORS. */
  errors: string[];
  /** The spans' file, relative to the quarantine directory: `<tenant>/<id>.otlp.pb`. */
  file: string;
  bytes: number;
}

export class Quarantine {
  constructor(
    private readonly backend: Backend,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes the spans (with the error each failed with) as one object, durably, and
   * resolves once it is: the spans .otlp.pb first, its .json last. Counts and logs it.
   */
  async put(tenant: string, unwritable: ReadonlyArray<{ span: StoredSpan; error: string }>): Promise<QuarantineEntry> {
    const data = encodeTracesData(groupSpans(unwritable.map((u) => u.span)));
    const id = createHash('sha256').update(data).digest('hex').slice(0, 32);
    const errors = [...new Set(unwritable.map((u) => u.error.slice(0, MAX_ERROR_CHARS)))].slice(0, MAX_ERRORS);
    const entry: QuarantineEntry = {
      id,
      tenant,
      time: new Date().toISOString(),
      spans: unwritable.length,
      traces: new Set(unwritable.map((u) => toHex(u.span.span.traceId))).size,
      error: errors[0] ?? '',
      errors,
      file: `${tenant}/${id}${DATA_SUFFIX}`,
      bytes: data.byteLength,
    };
    const read = await this.read(tenant, id);
    const known = read !== undefined && read.time !== '' ? read : undefined;
    await this.backend.write(entry.file, data);
    await this.backend.write(`${tenant}/${id}${INFO_SUFFIX}`, Buffer.from(`${JSON.stringify(known ?? entry, null, 2)}\n`));
    // The same spans again (a cut retried after a crash): the same object, counted once.
    if (known) return known;
    storeMetrics.quarantinedSpans.inc({ tenant }, entry.spans);
    this.logger.error(
      { tenant, spans: entry.spans, traces: entry.traces, error: entry.error, path: this.backend.directPath?.(entry.file) ?? entry.file },
      'spans quarantined: no block can hold them; every other span of the cut is in a block',
    );
    return entry;
  }

  /** The tenant's quarantine objects, newest first. */
  async list(tenant: string): Promise<QuarantineEntry[]> {
    const names = await this.backend.list(tenant);
    const entries: QuarantineEntry[] = [];
    for (const name of names) {
      if (!name.endsWith(INFO_SUFFIX)) continue;
      const entry = await this.read(tenant, name.slice(0, -INFO_SUFFIX.length));
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : a.id.localeCompare(b.id)));
  }

  private async read(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    let bytes: Buffer;
    try {
      bytes = await this.backend.read(`${tenant}/${id}${INFO_SUFFIX}`);
    } catch (err) {
      if (err instanceof BackendNotFoundError) return undefined;
      throw err;
    }
    try {
      return JSON.parse(bytes.toString('utf8')) as QuarantineEntry;
    } catch (err) {
      // Listed all the same, so that an operator finds the spans next to it.
      this.logger.warn({ tenant, id, err }, 'quarantine: unreadable description');
      return { id, tenant, time: '', spans: 0, traces: 0, error: 'unreadable description', errors: [], file: `${tenant}/${id}${DATA_SUFFIX}`, bytes: 0 };
    }
  }
}
