// The `otlp` and `otlphttp` exporter factories (collector type names, schemas, create).
import type { z } from 'zod';
import type { ComponentContext } from '../../component.js';
import type { TracesConsumer } from '../../consumer.js';
import { otlpExporterSchema, otlpHttpExporterSchema, type OtlpExporterConfig } from './config.js';
import { OtlpExporter } from './otlp-exporter.js';

/** An exporter ends a pipeline: it consumes batches and owns its connection and queue. */
export interface Exporter extends TracesConsumer {
  /** Connects and replays what a previous run left queued; before the first consume. */
  start(): Promise<void>;
  /** Stops accepting, drains what it can within its timeout, and closes. */
  shutdown(): Promise<void>;
}

export interface ExporterFactory<Config> {
  /** The collector's type name: `otlp`, `otlphttp`. */
  type: string;
  /** Strict schema of the collector's YAML for this exporter; unknown keys are errors. */
  schema: z.ZodType<Config, unknown>;
  create(config: Config, ctx: ComponentContext): Exporter;
}

/** `otlp`: OTLP/gRPC by default; `protocol: http/protobuf | http/json` sends OTLP/HTTP instead. */
export const otlpExporterFactory: ExporterFactory<OtlpExporterConfig> = {
  type: 'otlp',
  schema: otlpExporterSchema,
  create: (config, ctx) => new OtlpExporter(config, ctx),
};

/** `otlphttp`: the collector's OTLP/HTTP exporter (`encoding: proto | json`). */
export const otlpHttpExporterFactory: ExporterFactory<OtlpExporterConfig> = {
  type: 'otlphttp',
  schema: otlpHttpExporterSchema,
  create: (config, ctx) => new OtlpExporter(config, ctx),
};

export { otlpExporterSchema, otlpHttpExporterSchema, persistentQueueDir, type OtlpExporterConfig } from './config.js';
export { OtlpExporter } from './otlp-exporter.js';
