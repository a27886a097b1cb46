// Every pipeline component type Skein knows, by the collector's type name. The
// configuration schema validates sections against these and the pipeline
// builder creates components from them: one list, so the two never disagree.
import { z } from 'zod';
import type { ProcessorFactory } from './component.js';
import { batchFactory } from './processors/batch/batch.js';
import { memoryLimiterFactory } from './processors/memory-limiter/memory-limiter.js';
import { redactionFactory } from './processors/redaction/index.js';
import { tailSamplingFactory } from './processors/tail-sampling/index.js';
import { otlpExporterFactory, otlpHttpExporterFactory, type ExporterFactory } from './exporters/otlp/index.js';
import { serviceGraphFactory } from './connectors/servicegraph/index.js';
import { spanMetricsFactory } from './connectors/spanmetrics/index.js';

export const PROCESSORS: ReadonlyMap<string, ProcessorFactory<unknown>> = new Map(
  [memoryLimiterFactory, redactionFactory, tailSamplingFactory, batchFactory].map((f) => [f.type, f as ProcessorFactory<unknown>]),
);

/** Exporters that forward spans; `store` (keep them in this Skein) is not a factory: the store is built by the target. */
export const FORWARDING_EXPORTERS: ReadonlyMap<string, ExporterFactory<unknown>> = new Map(
  [otlpExporterFactory, otlpHttpExporterFactory].map((f) => [f.type, f as ExporterFactory<unknown>]),
);
export const STORE_EXPORTER = 'store';

export const CONNECTORS = { servicegraph: serviceGraphFactory, spanmetrics: spanMetricsFactory } as const;

function schemasOf(entries: Iterable<[string, { schema: z.ZodType<unknown, unknown> }]>): Map<string, z.ZodType<unknown, unknown>> {
  return new Map([...entries].map(([type, f]) => [type, f.schema]));
}

export const processorSchemas = { kind: 'processor', schemas: schemasOf(PROCESSORS) };
export const exporterSchemas = {
  kind: 'exporter',
  schemas: new Map([...schemasOf(FORWARDING_EXPORTERS), [STORE_EXPORTER, z.strictObject({}) as z.ZodType<unknown, unknown>]]),
};
export const connectorSchemas = {
  kind: 'connector',
  schemas: schemasOf(Object.entries(CONNECTORS) as Array<[string, { schema: z.ZodType<unknown, unknown> }]>),
};
