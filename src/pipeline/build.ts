// Builds the running pipeline from configuration: receivers hand spans to the
// first processor of `pipeline.processors`, each processor to the next, and the
// last to every exporter of `pipeline.exporters`. Connectors observe what the
// processors before the first tail_sampling let through (after redaction, so
// metrics never carry a credential, and before sampling, so rates are not thinned);
// when no redaction there masks span names, span metrics check each name themselves.
// A cluster's router, when one is given, stands right before the connectors.
import { ConfigError } from '../config/load.js';
import type { SkeinConfig } from '../config/schema.js';
import type { ResourceSpans } from '../otlp/model.js';
import { forgetWireForm } from '../otlp/wire-form.js';
import type { Logger } from '../telemetry/logger.js';
import type { Connector, Processor } from './component.js';
import type { TracesConsumer } from './consumer.js';
import type { OverloadError } from '../lib/errors.js';
import { mergeRefused, type RefusedSpans } from '../lib/refused.js';
import { typeOf } from './config.js';
import type { Exporter } from './exporters/otlp/index.js';
import { CONNECTORS, FORWARDING_EXPORTERS, PROCESSORS, STORE_EXPORTER } from './registry.js';
import { defaultTextMasker, masksSpanNames, type RedactionConfig } from './processors/redaction/index.js';
import type { ServiceGraphConnector } from './connectors/servicegraph/index.js';
import type { SpanMetricsConnector } from './connectors/spanmetrics/index.js';

export interface PipelineOptions {
  config: SkeinConfig;
  logger: Logger;
  /** The store exporter's consumer; absent when this process runs no store (`--target collector`). */
  store: TracesConsumer | undefined;
  /** Processor types to leave out (the store target leaves the collector's work to the collector in front). */
  skipProcessorTypes?: ReadonlySet<string>;
  /**
   * A cluster's router (src/cluster/router.ts), made around the chain it hands this
   * instance's own spans to. It stands where connectors observe, before them, so each
   * span is sampled and observed once, on the instance that owns its trace.
   */
  route?: (owned: TracesConsumer) => TracesConsumer;
}

export interface Pipeline {
  /** Where receivers hand spans. */
  readonly consumer: TracesConsumer;
  /**
   * Where receivers hand spans a cluster peer forwarded to this instance, their owner:
   * the chain after the router, so they are never routed again. Without a router, `consumer`.
   */
  readonly ownedConsumer: TracesConsumer;
  readonly serviceGraph: ServiceGraphConnector | undefined;
  readonly spanMetrics: SpanMetricsConnector | undefined;
  /** Exporters connect and replay their queues, then processors start (downstream first). */
  start(): Promise<void>;
  /** Processors flush downstream in order, then exporters drain, then connectors stop. */
  shutdown(): Promise<void>;
  /** The memory_limiter's refusal now, if one runs and refuses: receivers ask before reading a request. */
  refusal(): OverloadError | undefined;
  /** Bytes the requests in flight may hold together: the smallest spike room of the memory limiters (Infinity without one). */
  readonly inFlightBudget: number;
}

export function buildPipeline(opts: PipelineOptions): Pipeline {
  const { config, logger } = opts;
  const ctxFor = (name: string) => ({ name, logger: logger.child({ component: name }), dataDir: config.storage.path });

  const exporters: Exporter[] = [];
  const sinks: TracesConsumer[] = [];
  for (const name of config.pipeline.exporters) {
    const type = typeOf(name);
    if (type === STORE_EXPORTER) {
      if (!opts.store) {
        throw new ConfigError(
          `pipeline.exporters: "${name}" keeps spans in this instance, but --target collector runs no store; forward with an otlp or otlphttp exporter instead`,
        );
      }
      sinks.push(opts.store);
      continue;
    }
    const exporter = FORWARDING_EXPORTERS.get(type)!.create(config.exporters[name], ctxFor(name));
    exporters.push(exporter);
    sinks.push(exporter);
  }
  let next: TracesConsumer = sinks.length === 1 ? sinks[0]! : fanOut(sinks);

  const names = config.pipeline.processors.filter((name) => {
    const skip = opts.skipProcessorTypes?.has(typeOf(name)) ?? false;
    if (skip) logger.info({ processor: name }, 'processor not run by this target');
    return !skip;
  });
  const firstSampler = names.findIndex((n) => typeOf(n) === 'tail_sampling');
  const observeAt = firstSampler === -1 ? names.length : firstSampler;
  // Span names label span metrics and the UI's operations: unless a redaction before the
  // connectors masks secrets in them, span metrics make the default redaction's check.
  const namesMasked = names
    .slice(0, observeAt)
    .some((n) => typeOf(n) === 'redaction' && masksSpanNames(config.processors[n] as RedactionConfig));
  const spanName = namesMasked || !config.pipeline.connectors.some((n) => typeOf(n) === 'spanmetrics') ? undefined : defaultTextMasker();
  if (spanName !== undefined) {
    logger.info('no redaction processor masks span names before the connectors: span metrics mask the built-in rules\' matches in them');
  }

  const connectors: Connector[] = [];
  let serviceGraph: ServiceGraphConnector | undefined;
  let spanMetrics: SpanMetricsConnector | undefined;
  for (const name of config.pipeline.connectors) {
    const type = typeOf(name);
    // Every listed instance runs with its own config (their series are summed
    // per label set on /metrics); the UI routes read the first of each type.
    if (type === 'servicegraph') {
      const connector = CONNECTORS.servicegraph.create(config.connectors[name] as never, ctxFor(name));
      serviceGraph ??= connector;
      connectors.push(connector);
    } else if (type === 'spanmetrics') {
      const connector = CONNECTORS.spanmetrics.create(config.connectors[name] as never, ctxFor(name), spanName && { spanName });
      spanMetrics ??= connector;
      connectors.push(connector);
    }
  }

  const processors: Processor[] = [];
  let owned: TracesConsumer | undefined;
  for (let i = names.length; i >= 0; i--) {
    if (i === observeAt) {
      if (connectors.length > 0) next = observing(connectors, next);
      if (opts.route) {
        owned = next;
        next = opts.route(owned);
      }
    }
    if (i === 0) break;
    const name = names[i - 1]!;
    const factory = PROCESSORS.get(typeOf(name))!;
    const processor = factory.create(config.processors[name], next, ctxFor(name));
    processors.unshift(processor);
    next = factory.keepsWireForm === true ? processor : forgettingWireForm(processor);
  }
  const consumer = next;
  const limiters = processors.filter((p) => p.refusal !== undefined);

  return {
    consumer,
    ownedConsumer: owned ?? consumer,
    serviceGraph,
    spanMetrics,
    inFlightBudget: Math.min(Infinity, ...limiters.map((p) => p.spikeBytes ?? Infinity)),
    refusal() {
      for (const p of limiters) {
        const refused = p.refusal!();
        if (refused) return refused;
      }
      return undefined;
    },
    async start() {
      for (const e of exporters) await e.start();
      for (const p of [...processors].reverse()) await p.start?.();
    },
    async shutdown() {
      for (const p of processors) {
        await p.shutdown?.().catch((err: unknown) => logger.error({ err }, 'processor shutdown failed'));
      }
      await Promise.all(exporters.map((e) => e.shutdown().catch((err: unknown) => logger.error({ err }, 'exporter shutdown failed'))));
      await Promise.all(connectors.map((c) => c.shutdown?.()));
    },
  };
}

/** A processor that may change spans sees batches whose wire form is forgotten, so no stage after it writes stale bytes. */
function forgettingWireForm(processor: TracesConsumer): TracesConsumer {
  return {
    consume: (tenant: string, batch: ResourceSpans[]) => {
      forgetWireForm(batch);
      return processor.consume(tenant, batch);
    },
  };
}

/** Every sink gets every batch; the call resolves once all have it, and fails if one fails (the client retries). */
function fanOut(sinks: readonly TracesConsumer[]): TracesConsumer {
  return {
    consume: async (tenant: string, batch: ResourceSpans[]) => {
      const refused = await Promise.all(sinks.map((s) => s.consume(tenant, batch)));
      return refused.reduce<RefusedSpans | undefined>((all, r) => mergeRefused(all, r), undefined);
    },
  };
}

/**
 * Connectors count a batch once the stage after them has accepted it, so a refused and retried batch counts once.
 * Spans the store refused under a tenant's limit are counted with the rest, as Tempo's metrics-generator counts what its ingesters refuse.
 */
function observing(connectors: readonly Connector[], next: TracesConsumer): TracesConsumer {
  return {
    consume: async (tenant: string, batch: ResourceSpans[]) => {
      const refused = await next.consume(tenant, batch);
      for (const c of connectors) c.observe(tenant, batch);
      return refused;
    },
  };
}
