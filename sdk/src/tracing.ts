// initTracing: the one call a service makes at start-up.
import { context, propagation, ROOT_CONTEXT, trace, type Tracer } from '@opentelemetry/api';
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { settingsFromEnv, type ExportSettings, type TracingSettings } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { DEFAULT_DENIED_ATTRIBUTE_KEYS, DenyListSpanExporter } from './privacy.js';
import { exportCredentials, headerSecrets, otlpExporter, redact, type ExportTls } from './transport.js';

/** The stable semantic convention's older name, which the issue and most dashboards use. */
export const ATTR_DEPLOYMENT_ENVIRONMENT = 'deployment.environment';

export interface TracingOptions {
  serviceName: string;
  /** Set by the build (a constant your bundler defines, or package.json's version). */
  serviceVersion: string;
  /** `deployment.environment`; default DEPLOYMENT_ENVIRONMENT, else "development". */
  environment?: string;
  /** Used when OTEL_TRACES_SAMPLER_ARG is not set; default 1 (keep every trace). */
  sampleRatio?: number;
  /** More attribute keys never to export, added to DEFAULT_DENIED_ATTRIBUTE_KEYS. */
  deniedAttributeKeys?: readonly string[];
  /**
   * Sent with every export, as HTTP headers or gRPC metadata: a credential and the tenant, e.g.
   * `{ authorization: \`Bearer ${token}\`, 'x-scope-orgid': 'team-a' }`. Added to
   * OTEL_EXPORTER_OTLP_HEADERS (read by the exporter); a name given here wins. Never logged.
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * PEM files for an https:// endpoint: the CA to trust, a client certificate and key (mTLS).
   * Given here, they replace OTEL_EXPORTER_OTLP_CERTIFICATE, …_CLIENT_CERTIFICATE and
   * …_CLIENT_KEY (read by the exporter) as a whole.
   */
  tls?: ExportTls;
  /** Where the kit reports a bad variable or an unreachable collector; default a logger of its own. */
  logger?: Pick<Logger, 'warn' | 'info'>;
  /** Extra span processors (tests: an in-memory exporter), run before the batch exporter. */
  spanProcessors?: SpanProcessor[];
  /** Replaces the OTLP exporter (tests). The deny-list still applies. */
  exporter?: SpanExporter;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** False when OTEL_SDK_DISABLED=true: nothing is recorded or sent. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  readonly settings: TracingSettings;
  /** Exports every span ended so far; gives up after timeoutMs. */
  forceFlush(timeoutMs?: number): Promise<void>;
  /** Flushes pending spans and stops; resolves within timeoutMs even if the collector does not answer. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export const INSTRUMENTATION_NAME = '@skein/instrument';

/**
 * Reports the first failed export of an outage once, then stays quiet until an
 * export succeeds again (reported once too): a collector that is down must not
 * flood the service's log every five seconds.
 */
export class OutageLoggingExporter implements SpanExporter {
  private failing = false;

  /** `secrets`: header values to keep out of the warning, should an error quote one. */
  constructor(
    private readonly inner: SpanExporter,
    private readonly target: ExportSettings,
    private readonly logger: Pick<Logger, 'warn' | 'info'>,
    private readonly secrets: readonly string[] = [],
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      // The exporter calls back in whatever context the export started in: a request's span
      // when a full batch or a forceFlush ends inside one. The outage is no request's, so its
      // records carry no trace_id that would link them to an unrelated trace.
      context.with(ROOT_CONTEXT, () => this.report(result, spans.length));
      resultCallback(result);
    });
  }

  private report(result: ExportResult, spans: number): void {
    if (result.code !== ExportResultCode.SUCCESS && !this.failing) {
      this.failing = true;
      this.logger.warn(
        { event: 'otel.export.failed', endpoint: this.target.url, protocol: this.target.protocol, error: redact(result.error?.message ?? 'unknown error', this.secrets), spans },
        'cannot export spans to the collector; they are dropped until it answers again (not logged again until then)',
      );
    } else if (result.code === ExportResultCode.SUCCESS && this.failing) {
      this.failing = false;
      this.logger.info({ event: 'otel.export.recovered', endpoint: this.target.url }, 'exporting spans to the collector again');
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Resolves after `ms` or when `work` settles, whichever is first; true when work finished. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts tracing for this process: OTLP export (gRPC, or HTTP by
 * OTEL_EXPORTER_OTLP_PROTOCOL) through a batch span processor, parent-based
 * ratio sampling, W3C trace-context and baggage propagation, and the
 * deny-list applied to every exported span. Call it before the service
 * handles its first request; call shutdown() before it exits.
 */
export function initTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  const settings = settingsFromEnv({ serviceName: options.serviceName, sampleRatio: options.sampleRatio }, env);
  const logger = options.logger ?? createLogger({ name: settings.serviceName });
  for (const problem of settings.problems) logger.warn({ event: 'otel.config.invalid' }, problem);

  if (settings.disabled) {
    // Nothing registered: the API's no-op tracer costs a function call per span.
    return {
      enabled: false,
      tracer: trace.getTracer(INSTRUMENTATION_NAME),
      settings,
      forceFlush: async () => {},
      shutdown: async () => {},
    };
  }

  const environment = options.environment ?? env['DEPLOYMENT_ENVIRONMENT']?.trim() ?? 'development';
  // Precedence, lowest first: SDK defaults, the code's values, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
        [ATTR_DEPLOYMENT_ENVIRONMENT]: environment === '' ? 'development' : environment,
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }));

  const problems: string[] = [];
  const credentials = exportCredentials(settings.export, options.headers, options.tls, problems);
  for (const problem of problems) logger.warn({ event: 'otel.config.invalid' }, problem);
  const exporter = new DenyListSpanExporter(
    new OutageLoggingExporter(options.exporter ?? otlpExporter(settings.export, credentials), settings.export, logger, headerSecrets(options.headers ?? {}, [env, process.env])),
    [...DEFAULT_DENIED_ATTRIBUTE_KEYS, ...(options.deniedAttributeKeys ?? [])],
  );
  const provider = new NodeTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [
      ...(options.spanProcessors ?? []),
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: settings.scheduledDelayMillis,
        maxExportBatchSize: settings.maxExportBatchSize,
        maxQueueSize: settings.maxQueueSize,
        exportTimeoutMillis: settings.export.timeoutMillis,
      }),
    ],
  });
  provider.register({
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  });

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: trace.getTracer(INSTRUMENTATION_NAME),
    settings,
    async forceFlush(timeoutMs = 5000) {
      await within(provider.forceFlush(), timeoutMs);
    },
    shutdown(timeoutMs = 5000) {
      stopped ??= (async () => {
        const finished = await within(provider.shutdown(), timeoutMs);
        if (!finished) logger.warn({ event: 'otel.shutdown.timeout', timeoutMs }, `tracing did not finish exporting within ${timeoutMs} ms; the spans still pending are dropped`);
        trace.disable();
        propagation.disable();
      })();
      return stopped;
    },
  };
}
