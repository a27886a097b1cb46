// The `tail_sampling` processor factory (collector type name, schema, create).
import type { ProcessorFactory } from '../../component.js';
import { tailSamplingSchema, type TailSamplingConfig } from './config.js';
import { TailSamplingProcessor } from './tail-sampling.js';

export const tailSamplingFactory: ProcessorFactory<TailSamplingConfig> = {
  type: 'tail_sampling',
  schema: tailSamplingSchema,
  create: (config, next, ctx) => new TailSamplingProcessor(config, next, ctx),
  // Hands on new arrays (subsets, or spans decoded from its WAL); never changes a span.
  keepsWireForm: true,
};

export { tailSamplingSchema, type TailSamplingConfig } from './config.js';
export { TailSamplingProcessor, type TailSamplingOptions } from './tail-sampling.js';
