// @skein/instrument: tracing for a Node.js service in one call (initTracing),
// built on the OpenTelemetry JS SDK. docs/instrumentation.md explains it.
export { initTracing, OutageLoggingExporter, INSTRUMENTATION_NAME, ATTR_DEPLOYMENT_ENVIRONMENT, type Tracing, type TracingOptions } from './tracing.js';
export { type ExportTls } from './transport.js';
export { settingsFromEnv, DEFAULT_GRPC_ENDPOINT, DEFAULT_HTTP_ENDPOINT, type TracingSettings, type ExportSettings, type OtlpProtocol } from './config.js';
export {
  maskEmail,
  queryLengthAttribute,
  DEFAULT_DENIED_ATTRIBUTE_KEYS,
  attributeKeyDenier,
  withoutDeniedAttributes,
  DenyListSpanExporter,
} from './privacy.js';
export { createLogger, activeSpanFields, logFormatFromEnv, type Logger, type LoggerSettings, type LogFormat } from './logger.js';
export { injectTraceHeaders, extractTraceContext, withSpan, recordError, type SpanOptions } from './context.js';
