// The `redaction` processor's factory: the collector's type name, its config
// schema (Skein's deny-list defaults included) and the processor builder.
import type { ProcessorFactory } from '../../component.js';
import { redactionConfigSchema, type RedactionConfig } from './config.js';
import { createRedactionProcessor } from './redaction.js';

export { masksSpanNames, type RedactionConfig } from './config.js';
export { defaultTextMasker } from './redaction.js';

export const redactionFactory: ProcessorFactory<RedactionConfig> = {
  type: 'redaction',
  schema: redactionConfigSchema,
  create: createRedactionProcessor,
  // Forgets a batch's wire form whenever it changes something in it.
  keepsWireForm: true,
};
