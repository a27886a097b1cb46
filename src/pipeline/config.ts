// Configuration sections of the pipeline in the collector's syntax:
// `processors:`, `exporters:` and `connectors:` keyed by name (`type` or
// `type/instance`), each validated by its component's own schema, and
// `pipeline:` listing which ones run, in order.
import { z } from 'zod';

export interface ComponentSchemas {
  /** What the section is called in messages: `processor`, `exporter`, `connector`. */
  kind: string;
  schemas: ReadonlyMap<string, z.ZodType<unknown, unknown>>;
}

export function typeOf(name: string): string {
  return name.split('/')[0]!;
}

/**
 * A `name → settings` section validated per component type; issues carry the
 * full key path (`processors.tail_sampling/prod.policies.2.latency.threshold_ms`).
 * `defaults` are merged under the user's entries (a user entry of the same name wins).
 */
export function componentSection(section: ComponentSchemas, defaults: Record<string, unknown>) {
  return z
    .record(z.string(), z.unknown())
    .optional()
    .transform((given, ctx) => {
      const entries = { ...defaults, ...(given ?? {}) };
      // Each entry keeps its input's shape, so a printed config reads back the same.
      const out: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(entries)) {
        const type = typeOf(name);
        const schema = section.schemas.get(type);
        if (!schema) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `unknown ${section.kind} type "${type}" (known: ${[...section.schemas.keys()].join(', ')})`,
          });
          continue;
        }
        const parsed = schema.safeParse(value ?? {});
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            if (issue.code === 'unrecognized_keys') {
              for (const key of issue.keys) ctx.addIssue({ code: 'custom', path: [name, ...issue.path, key], message: 'unknown key' });
            } else {
              ctx.addIssue({ code: 'custom', path: [name, ...issue.path], message: issue.message });
            }
          }
          continue;
        }
        out[name] = parsed.data;
      }
      return out;
    });
}

export const pipelineSchema = z
  .strictObject({
    /** Processors in the order spans go through them. */
    processors: z.array(z.string()).default(['memory_limiter', 'redaction']),
    /** Where spans go at the end; `store` keeps them in Skein. */
    exporters: z.array(z.string()).min(1).default(['store']),
    /** Connectors see every span after the processors before the first tail_sampling (so after redaction). */
    connectors: z.array(z.string()).default(['servicegraph', 'spanmetrics']),
  })
  .prefault({});

export type PipelineConfig = z.output<typeof pipelineSchema>;
