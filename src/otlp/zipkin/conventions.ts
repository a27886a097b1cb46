// The names the Zipkin translation reads and writes. They are those of the
// OpenTelemetry Collector's zipkin translator (pkg/translator/zipkin), so spans
// look the same whether they reach Skein directly or through a collector.

/** Tags that carry OTLP fields which Zipkin has no place for (what OTLP→Zipkin exporters write). */
export const TAG = {
  statusCode: 'otel.status_code',
  statusDescription: 'otel.status_description',
  /** Zipkin's own error marker: present means failed; its value is often the message. */
  error: 'error',
  /** OpenTracing's kind tag, the only hint when a span has no Zipkin kind. */
  spanKind: 'span.kind',
  traceState: 'w3c.tracestate',
  scopeName: 'otel.scope.name',
  scopeVersion: 'otel.scope.version',
  /** The names older SDKs and collectors use for the scope. */
  libraryName: 'otel.library.name',
  libraryVersion: 'otel.library.version',
  /** Names the resource attribute that holds the local service name, when not service.name. */
  serviceNameSource: 'otlp.service.name.source',
  /** `otlp.link.0`, `otlp.link.1`, …: `traceId|spanId|traceState|{attributes}|droppedAttributesCount`. */
  linkPrefix: 'otlp.link.',
  droppedAttributes: 'otel.dropped_attributes_count',
  droppedEvents: 'otel.dropped_events_count',
  droppedLinks: 'otel.dropped_links_count',
} as const;

/** Links the collector's exporter writes at most; it reads no further. */
export const MAX_ENCODED_LINKS = 128;

/**
 * Span attributes made from the endpoints. The collector's translator emits
 * these semantic-convention names (v1.40) by default since its
 * EmitV1NetworkConventions feature gate went beta, in place of net.host.ip,
 * net.peer.ip and peer.service.
 */
export const ENDPOINT_ATTRIBUTE = {
  localAddress: 'network.local.address',
  localPort: 'network.local.port',
  peerAddress: 'network.peer.address',
  peerPort: 'network.peer.port',
  peerService: 'service.peer.name',
} as const;

/** Marks a span that had no timestamp, so that its start of 1970 is not taken at face value. */
export const START_TIME_ABSENT_ATTRIBUTE = 'otel.zipkin.absentField.startTime';

export const SERVICE_NAME = 'service.name';

/**
 * Tags that describe the process rather than the span: exporters flatten the
 * resource into every span's tags, and these go back to the resource. The
 * list is the collector's: semantic conventions v1.6.1 resource attributes
 * plus OpenCensus's.
 */
export const RESOURCE_TAGS: ReadonlySet<string> = new Set([
  'cloud.provider',
  'cloud.account.id',
  'cloud.region',
  'cloud.availability_zone',
  'cloud.platform',
  'aws.ecs.container.arn',
  'aws.ecs.cluster.arn',
  'aws.ecs.launchtype',
  'aws.ecs.task.arn',
  'aws.ecs.task.family',
  'aws.ecs.task.revision',
  'aws.eks.cluster.arn',
  'aws.log.group.names',
  'aws.log.group.arns',
  'aws.log.stream.names',
  'aws.log.stream.arns',
  'container.name',
  'container.id',
  'container.runtime',
  'container.image.name',
  'container.image.tag',
  'deployment.environment',
  'device.id',
  'device.model.identifier',
  'device.model.name',
  'faas.name',
  'faas.id',
  'faas.version',
  'faas.instance',
  'faas.max_memory',
  'host.id',
  'host.name',
  'host.type',
  'host.arch',
  'host.image.name',
  'host.image.id',
  'host.image.version',
  'k8s.cluster.name',
  'k8s.node.name',
  'k8s.node.uid',
  'k8s.namespace.name',
  'k8s.pod.uid',
  'k8s.pod.name',
  'k8s.container.name',
  'k8s.replicaset.uid',
  'k8s.replicaset.name',
  'k8s.deployment.uid',
  'k8s.deployment.name',
  'k8s.statefulset.uid',
  'k8s.statefulset.name',
  'k8s.daemonset.uid',
  'k8s.daemonset.name',
  'k8s.job.uid',
  'k8s.job.name',
  'k8s.cronjob.uid',
  'k8s.cronjob.name',
  'os.type',
  'os.description',
  'os.name',
  'os.version',
  'process.pid',
  'process.executable.name',
  'process.executable.path',
  'process.command',
  'process.command_line',
  'process.command_args',
  'process.owner',
  'process.runtime.name',
  'process.runtime.version',
  'process.runtime.description',
  'service.name',
  'service.namespace',
  'service.instance.id',
  'service.version',
  'telemetry.sdk.name',
  'telemetry.sdk.language',
  'telemetry.sdk.version',
  'telemetry.auto.version',
  'webengine.name',
  'webengine.version',
  'webengine.description',
  'opencensus.starttime',
  'opencensus.exporterversion',
  'opencensus.resourcetype',
]);
