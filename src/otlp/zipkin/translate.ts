// Zipkin v2 spans to OTLP, as the OpenTelemetry Collector's zipkin translator
// maps them (pkg/translator/zipkin/zipkinv2): spans are grouped into one
// ResourceSpans per local service (and per set of resource tags), then one
// ScopeSpans per instrumentation scope named in the tags.
import type { InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span } from '../model.js';
import { ENDPOINT_ATTRIBUTE, RESOURCE_TAGS, SERVICE_NAME, START_TIME_ABSENT_ATTRIBUTE, TAG } from './conventions.js';
import { decodeAnnotationValue } from './encoded.js';
import { spanIdsFor, type SpanIds } from './shared-spans.js';
import type { ZipkinSpan } from './span.js';
import { tagAttributes, takeDroppedCount, takeKind, takeLinks, takeStatus, takeTraceState } from './tag-fields.js';

export interface ZipkinTranslateOptions {
  /**
   * Tags that read as numbers or booleans become int, double or bool
   * attributes (the collector's `parse_string_tags`). Default false: Zipkin
   * tags are strings, and stay strings.
   */
  parseStringTags?: boolean;
}

interface ResourceGroup {
  rs: ResourceSpans;
  scopes: Map<string, ScopeSpans>;
}

export function zipkinToOtlp(spans: readonly ZipkinSpan[], opts: ZipkinTranslateOptions = {}): ResourceSpans[] {
  const idsOf = spanIdsFor(spans);
  const groups = new Map<string, ResourceGroup>();
  for (const z of spans) {
    // Fields are taken out of this copy; the tags left over become attributes.
    const tags = new Map(z.tags);
    const resource = takeResource(z, tags);
    const scope = takeScope(tags);
    const span = toSpan(z, tags, idsOf(z), opts.parseStringTags ?? false);

    const resourceKey = groupKey(resource.attributes);
    let group = groups.get(resourceKey);
    if (!group) {
      group = { rs: { resource, schemaUrl: '', scopeSpans: [] }, scopes: new Map() };
      groups.set(resourceKey, group);
    }
    const scopeKey = `${scope.name}\u0000${scope.version}`;
    let ss = group.scopes.get(scopeKey);
    if (!ss) {
      ss = { scope, schemaUrl: '', spans: [] };
      group.scopes.set(scopeKey, ss);
      group.rs.scopeSpans.push(ss);
    }
    ss.spans.push(span);
  }
  return [...groups.values()].map((g) => g.rs);
}

/**
 * The local endpoint's service name, plus the tags exporters flattened the
 * resource into. The endpoint's name wins over a service.name tag: it is the
 * field Zipkin itself indexes by.
 */
function takeResource(z: ZipkinSpan, tags: Map<string, string>): Resource {
  const attributes: KeyValue[] = [];
  const serviceName = z.localEndpoint?.serviceName ?? '';
  const serviceKey = tags.get(TAG.serviceNameSource) || SERVICE_NAME;
  tags.delete(TAG.serviceNameSource);
  if (serviceName !== '') attributes.push(stringAttribute(serviceKey, serviceName));
  for (const [key, value] of tags) {
    if (!RESOURCE_TAGS.has(key)) continue;
    tags.delete(key);
    if (serviceName === '' || key !== serviceKey) attributes.push(stringAttribute(key, value));
  }
  return { attributes, droppedAttributesCount: 0 };
}

/** Spans from the same resource may list its tags in any order; values are all strings here. */
function groupKey(attributes: readonly KeyValue[]): string {
  const pairs = attributes.map((kv) => [kv.key, kv.value.type === 'string' ? kv.value.value : ''] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(pairs);
}

/** otel.scope.* as current exporters write it, otel.library.* as older ones did; a version alone names no scope. */
function takeScope(tags: Map<string, string>): InstrumentationScope {
  const name = tags.get(TAG.scopeName) ?? tags.get(TAG.libraryName) ?? '';
  const version = tags.get(TAG.scopeVersion) ?? tags.get(TAG.libraryVersion) ?? '';
  for (const key of [TAG.scopeName, TAG.scopeVersion, TAG.libraryName, TAG.libraryVersion]) tags.delete(key);
  return { name, version: name === '' ? '' : version, attributes: [], droppedAttributesCount: 0 };
}

function toSpan(z: ZipkinSpan, tags: Map<string, string>, ids: SpanIds, parseStringTags: boolean): Span {
  const traceState = takeTraceState(tags);
  const kind = takeKind(z.kind, tags);
  const status = takeStatus(tags);
  const links = takeLinks(tags);
  const droppedAttributesCount = takeDroppedCount(tags, TAG.droppedAttributes);
  const droppedEventsCount = takeDroppedCount(tags, TAG.droppedEvents);
  const droppedLinksCount = takeDroppedCount(tags, TAG.droppedLinks);

  const endpoints = endpointAttributes(z);
  const attributes = tagAttributes(tags, parseStringTags).filter((kv) => !endpoints.some((e) => e.key === kv.key));
  attributes.push(...endpoints);

  // Zipkin allows a span without a timestamp; OTLP needs one. As the collector
  // does, it starts at the epoch and says so in an attribute.
  const start = z.startUnixNano ?? 0n;
  if (z.startUnixNano === undefined) attributes.push({ key: START_TIME_ABSENT_ATTRIBUTE, value: { type: 'bool', value: true } });

  return {
    traceId: z.traceId,
    spanId: ids.spanId,
    traceState,
    parentSpanId: ids.parentSpanId,
    flags: 0,
    name: z.name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: start + z.durationNano,
    attributes,
    droppedAttributesCount,
    events: z.annotations.map((a) => ({ timeUnixNano: a.timeUnixNano, ...decodeAnnotationValue(a.value) })),
    droppedEventsCount,
    links,
    droppedLinksCount,
    status,
  };
}

/**
 * Addresses and ports of both ends, and the remote service. When an endpoint
 * has both an IPv4 and an IPv6 address, IPv6 is kept, as in the collector.
 */
function endpointAttributes(z: ZipkinSpan): KeyValue[] {
  const out: KeyValue[] = [];
  const local = z.localEndpoint;
  if (local) {
    const address = local.ipv6 || local.ipv4;
    if (address !== '') out.push(stringAttribute(ENDPOINT_ATTRIBUTE.localAddress, address));
    if (local.port > 0) out.push(intAttribute(ENDPOINT_ATTRIBUTE.localPort, local.port));
  }
  const remote = z.remoteEndpoint;
  if (remote) {
    if (remote.serviceName !== '') out.push(stringAttribute(ENDPOINT_ATTRIBUTE.peerService, remote.serviceName));
    const address = remote.ipv6 || remote.ipv4;
    if (address !== '') out.push(stringAttribute(ENDPOINT_ATTRIBUTE.peerAddress, address));
    if (remote.port > 0) out.push(intAttribute(ENDPOINT_ATTRIBUTE.peerPort, remote.port));
  }
  return out;
}

function stringAttribute(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

function intAttribute(key: string, value: number): KeyValue {
  return { key, value: { type: 'int', value: BigInt(value) } };
}
