// Privacy guards: what a careful team would do by hand on every span, done once.
import type { Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';

/**
 * `jane.doe@example.com` → `j***@example.com`: enough to tell users apart in a
 * trace (with the domain), not enough to identify one. Anything that is not an
 * address is masked whole, so a malformed value cannot leak either.
 */
export function maskEmail(email: string): string {
  const text = email.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return '***';
  const first = [...text.slice(0, at)][0]!;
  return `${first}***@${text.slice(at + 1).toLowerCase()}`;
}

/**
 * The only thing recorded of a user's query text: its length in characters
 * (code points, so an emoji counts once), under `<name>.length`.
 */
export function queryLengthAttribute(name: string, text: string): Attributes {
  return { [`${name}.length`]: [...text].length };
}

/**
 * Attribute keys never exported, compared per dot-separated segment, case- and
 * `-`/`_`-insensitively: `authorization` also drops `http.request.header.authorization`,
 * `cookie` drops `http.response.header.set-cookie` through `set_cookie`.
 */
export const DEFAULT_DENIED_ATTRIBUTE_KEYS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'password',
  'passwd',
  'pwd',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'x-api-key',
  'private_key',
];

function normalise(segment: string): string {
  return segment.trim().toLowerCase().replaceAll('-', '_');
}

/** A predicate over attribute keys for the given deny-list. */
export function attributeKeyDenier(denied: readonly string[] = DEFAULT_DENIED_ATTRIBUTE_KEYS): (key: string) => boolean {
  const set = new Set(denied.map(normalise));
  return (key) => key.split('.').some((segment) => set.has(normalise(segment)));
}

function filterAttributes(attrs: Attributes | undefined, deny: (key: string) => boolean): { attributes: Attributes; dropped: number } | undefined {
  if (attrs === undefined) return undefined;
  let dropped = 0;
  const kept: Attributes = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (deny(key)) dropped++;
    else kept[key] = value;
  }
  return dropped === 0 ? undefined : { attributes: kept, dropped };
}

/**
 * The span as exported, without denied attributes (span, event and link
 * attributes), the dropped ones counted in the dropped-attribute counts so a
 * reader of the trace can see that something was removed. The SDK's span is
 * not changed: the copy shadows the changed fields and delegates the rest.
 */
export function withoutDeniedAttributes(span: ReadableSpan, deny: (key: string) => boolean): ReadableSpan {
  const overrides: PropertyDescriptorMap = {};
  const own = filterAttributes(span.attributes, deny);
  if (own) {
    overrides['attributes'] = { value: own.attributes };
    overrides['droppedAttributesCount'] = { value: span.droppedAttributesCount + own.dropped };
  }
  let eventsChanged = false;
  const events = span.events.map((event) => {
    const f = filterAttributes(event.attributes, deny);
    if (!f) return event;
    eventsChanged = true;
    return { ...event, attributes: f.attributes, droppedAttributesCount: (event.droppedAttributesCount ?? 0) + f.dropped };
  });
  if (eventsChanged) overrides['events'] = { value: events };
  let linksChanged = false;
  const links = span.links.map((link) => {
    const f = filterAttributes(link.attributes, deny);
    if (!f) return link;
    linksChanged = true;
    return { ...link, attributes: f.attributes, droppedAttributesCount: (link.droppedAttributesCount ?? 0) + f.dropped };
  });
  if (linksChanged) overrides['links'] = { value: links };
  if (Object.keys(overrides).length === 0) return span;
  return Object.create(span, overrides) as ReadableSpan;
}

/** Wraps an exporter so that denied attribute keys never leave the process. */
export class DenyListSpanExporter implements SpanExporter {
  private readonly deny: (key: string) => boolean;

  constructor(
    private readonly inner: SpanExporter,
    denied: readonly string[] = DEFAULT_DENIED_ATTRIBUTE_KEYS,
  ) {
    this.deny = attributeKeyDenier(denied);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(
      spans.map((s) => withoutDeniedAttributes(s, this.deny)),
      resultCallback,
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
