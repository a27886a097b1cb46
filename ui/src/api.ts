// Calls to Skein's API (same origin only) and the shapes it answers with (API.md).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  if (!res.ok) {
    const text = (await res.text()).trim();
    throw new ApiError(res.status, text || `${res.status} ${res.statusText}`);
  }
  return (await res.json()) as T;
}

export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface UiConfig {
  version: string;
  logsUrlTemplate: string;
}

let configPromise: Promise<UiConfig> | undefined;
export function uiConfig(): Promise<UiConfig> {
  configPromise ??= getJson<UiConfig>('/api/skein/ui-config').catch(() => ({ version: '', logsUrlTemplate: '' }));
  return configPromise;
}

// ---- search ----
export interface SearchSpan {
  spanID: string;
  name?: string;
  startTimeUnixNano: string;
  durationNanos: string;
  attributes?: OtlpKeyValue[];
}
export interface SearchTrace {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano: string;
  durationMs?: number;
  spanSets?: Array<{ spans: SearchSpan[]; matched: number }>;
  serviceStats?: Record<string, { spanCount: number; errorCount?: number }>;
}
export interface SearchResponse {
  traces: SearchTrace[];
  metrics?: Record<string, unknown>;
}

// ---- tags ----
export interface TagScopes {
  scopes: Array<{ name: string; tags: string[] }>;
}
export interface TagValue {
  type: string;
  value: string;
}

export function tagValues(name: string, q?: string): Promise<TagValue[]> {
  return getJson<{ tagValues: TagValue[] }>(`/api/v2/search/tag/${encodeURIComponent(name)}/values${qs({ q })}`).then((r) => r.tagValues ?? []);
}

// ---- OTLP JSON, as /api/v2/traces returns it (base64 IDs, enum names, string nanos) ----
export interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name?: string;
  kind?: string | number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: OtlpKeyValue[];
  events?: Array<{ timeUnixNano?: string; name?: string; attributes?: OtlpKeyValue[] }>;
  links?: Array<{ traceId: string; spanId: string; attributes?: OtlpKeyValue[] }>;
  status?: { code?: string | number; message?: string };
}
export interface OtlpTrace {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }>;
  }>;
}
export interface TraceByIdResponse {
  trace: OtlpTrace;
  status?: string;
  message?: string;
}
