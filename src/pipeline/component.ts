// The shape every pipeline component shares, after the OpenTelemetry
// Collector's: a config schema in the collector's own YAML syntax (defaults in
// the schema), and a factory that builds the component in front of the next
// consumer. A pipeline is a chain of TracesConsumer.consume calls.
import type { z } from 'zod';
import type { Logger } from '../telemetry/logger.js';
import type { ResourceSpans } from '../otlp/model.js';
import type { TracesConsumer } from './consumer.js';
import type { OverloadError } from '../lib/errors.js';

export interface ComponentContext {
  /** The configured name, e.g. `tail_sampling` or `tail_sampling/prod` (used in logs and metric labels). */
  name: string;
  logger: Logger;
  /** Skein's data directory, for components that keep state on disk. */
  dataDir: string;
}

export interface Processor extends TracesConsumer {
  /** Called once before the first consume (e.g. to replay state). */
  start?(): Promise<void>;
  /** Flushes what it holds to the next consumer where it can, and stops its timers. */
  shutdown?(): Promise<void>;
  /** A processor that sheds load (memory_limiter): the refusal a request gets now, asked by receivers before they read it. */
  refusal?(): OverloadError | undefined;
  /** With `refusal`: bytes the requests in flight may hold together (the limiter's spike room). */
  readonly spikeBytes?: number;
}

export interface ProcessorFactory<Config> {
  /** The collector's type name: `redaction`, `tail_sampling`, `batch`, `memory_limiter`. */
  type: string;
  /** Strict schema of the collector's YAML for this processor; unknown keys are errors. */
  schema: z.ZodType<Config, unknown>;
  create(config: Config, next: TracesConsumer, ctx: ComponentContext): Processor;
  /**
   * True when the processor never changes the spans of a batch it passes on,
   * or forgets the batch's wire form (src/otlp/wire-form.ts) whenever it does.
   * Without it the builder forgets the wire form before the processor runs.
   */
  keepsWireForm?: boolean;
}

/** A connector observes spans on their way through and produces metrics, without changing them. */
export interface Connector {
  observe(tenant: string, batch: readonly ResourceSpans[]): void;
  shutdown?(): Promise<void>;
}
