// @skein/instrument: tracing for a Node.js service in one call (initTracing),
// built on the OpenTelemetry JS SDK.
export {};
