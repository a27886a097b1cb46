// Finding the spans that keep a block from being written. When a head cut fails
// and the failure may be about the data (DuckDB refusing a value, say), the head
// is written again in halves, by trace (a trace never straddles two parts), then
// by span within a trace that fails on its own, so that the good spans of a trace
// are kept. A span is unwritable only when it fails on its own while other rows
// of the same store are written: a failure of the environment (full disk, I/O
// error) stops the search and the whole head waits for the next cut, as before.
import { randomBytes } from 'node:crypto';
import { emptyResource, emptyScope, toHex, type StoredSpan, type TraceSpans } from '../../otlp/model.js';
import { decodeSpan } from '../../otlp/protobuf.js';
import { isDiskFull } from '../../lib/disk-full.js';
import { BackendError } from '../backend/backend.js';

/** Failures no row is to blame for: the disk, the file system or the process ran out of something. */
const ENVIRONMENT_MESSAGES = [
  /^(IO|Out of Memory|Interrupt|FATAL|Fatal|Connection|Permission) Error/,
  /input\/output error|read-only file system|too many open files|cannot allocate memory/i,
];

/**
 * Whether a failed block write is the environment's doing, not the data's: a system
 * error (it carries an errno code such as ENOSPC or EIO), a DuckDB error of the
 * I/O, memory or interruption kind, or the backend failing a request (the bucket
 * unreachable or refusing). Those are retried with every span kept.
 */
export function isEnvironmentFailure(err: unknown): boolean {
  if (isDiskFull(err) || err instanceof BackendError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  return ENVIRONMENT_MESSAGES.some((re) => re.test(message));
}

/** The first line of an error's message (DuckDB appends hints on further lines). */
export function failureMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0]!.trim();
}

/** What isolateUnwritable found: what can go into a block, and what cannot. */
export interface Isolated {
  /**
   * Everything writable, in trace-ID order: runs of whole traces (by ID, read again
   * from the source) and traces of which only some spans are writable.
   */
  writable: Array<{ ids: string[] } | TraceSpans>;
  /** Spans that fail on their own, each with the error it failed with. */
  unwritable: Array<{ span: StoredSpan; error: string }>;
}

export interface IsolationSource {
  /** Every trace ID, sorted. */
  traceIds: readonly string[];
  /** The given traces (a sorted subset of traceIds), with all their spans. */
  traces(ids: readonly string[]): Iterable<TraceSpans>;
}

/**
 * Bisects a source whose block write failed with `failure` (not an environment
 * failure) down to the spans that cannot be written. `tryWrite` writes traces the
 * way a block is written and throws what that throws. Throws when the search hits
 * an environment failure, or when no row could be written at all and a trace made
 * up here cannot be written either (then nothing is the data's fault).
 */
export async function isolateUnwritable(
  source: IsolationSource,
  failure: unknown,
  tryWrite: (traces: Iterable<TraceSpans>) => Promise<void>,
): Promise<Isolated> {
  const found: Isolated = { writable: [], unwritable: [] };
  let written = false;

  /** Writes `traces`; undefined when that worked, the error when the data is to blame. */
  const attempt = async (traces: Iterable<TraceSpans>): Promise<unknown> => {
    try {
      await tryWrite(traces);
      written = true;
      return undefined;
    } catch (err) {
      if (isEnvironmentFailure(err)) throw err;
      return err;
    }
  };

  const keepTraces = (ids: readonly string[]): void => {
    const last = found.writable.at(-1);
    if (last && 'ids' in last) last.ids.push(...ids);
    else found.writable.push({ ids: [...ids] });
  };

  const spansOf = (id: string): StoredSpan[] => [...source.traces([id])].flatMap((t) => t.spans);

  await bisect(source.traceIds, failure, (ids) => attempt(source.traces(ids)), keepTraces, async (traceId, error) => {
    // A trace that fails on its own: the same by span, keeping the spans that can be written.
    const good: StoredSpan[] = [];
    await bisect(
      spansOf(traceId),
      error,
      (spans) => attempt([{ traceId, spans: [...spans] }]),
      (spans) => good.push(...spans),
      async (span, err) => {
        found.unwritable.push({ span, error: failureMessage(err) });
      },
    );
    if (good.length > 0) found.writable.push({ traceId, spans: good });
  });
  // Nothing was written at all: a block write that fails whatever it is given says
  // nothing about the rows. A trace made up here tells the two apart.
  if (!written && (await attempt([probeTrace()])) !== undefined) throw failure;
  return found;
}

/**
 * Splits `items`, whose write failed with `failure`, in halves until each part is
 * written whole (`keep`) or is one item that fails on its own (`alone`). When the
 * first half of a failing part is written whole, the second is taken to fail
 * without writing it (only one more write would say so), but an item is never
 * handed to `alone` without having failed by itself. `write` gives the error, or
 * undefined once written.
 */
async function bisect<T>(
  items: readonly T[],
  failure: unknown,
  write: (items: readonly T[]) => Promise<unknown>,
  keep: (items: readonly T[]) => void,
  alone: (item: T, error: unknown) => Promise<void>,
): Promise<void> {
  /** True when the whole part was written. */
  const visit = async (part: readonly T[], known: { error: unknown; observed: boolean } | undefined): Promise<boolean> => {
    let error = known?.error;
    if (known === undefined || (!known.observed && part.length === 1)) {
      error = await write(part);
      if (error === undefined) {
        keep(part);
        return true;
      }
    }
    if (part.length === 1) {
      await alone(part[0]!, error);
      return false;
    }
    const half = Math.ceil(part.length / 2);
    const firstWritten = await visit(part.slice(0, half), undefined);
    await visit(part.slice(half), firstWritten ? { error, observed: false } : undefined);
    return false;
  };
  await visit(items, { error: failure, observed: true });
}

/** A minimal well-formed trace of one span (every field of the span at its default, as decoding an empty message gives). */
function probeTrace(): TraceSpans {
  const traceId = randomBytes(16);
  const span = { ...decodeSpan(new Uint8Array(0)), traceId, spanId: randomBytes(8), name: 'probe' };
  return { traceId: toHex(traceId), spans: [{ resource: emptyResource(), resourceSchemaUrl: '', scope: emptyScope(), scopeSchemaUrl: '', span }] };
}
