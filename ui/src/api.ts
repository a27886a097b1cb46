// Calls to Skein's API (same origin only) and the shapes it answers with (API.md).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Marks a request as the UI's: the server asks it of cookie-signed requests that change state (CSRF). */
const UI_HEADER = 'x-skein-ui';
const TENANT_HEADER = 'X-Scope-OrgID';

/**
 * The tenant picked in the header (session.ts), sent with every call; undefined when the server
 * says the UI may act for any tenant (no authentication). Kept in memory only.
 */
let tenant: string | undefined;
export function setTenant(t: string | undefined): void {
  tenant = t;
}

const unauthorizedListeners = new Set<() => void>();
/** Called whenever the server answers 401: the session has ended (or never began), so the UI signs in again. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => void unauthorizedListeners.delete(listener);
}

/**
 * Every call the UI makes to Skein goes through here: it names the picked tenant, marks the
 * request as the UI's, and reports a 401. The credential is the HttpOnly session cookie, which
 * the browser adds and no script can read.
 */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set(UI_HEADER, '1');
  if (tenant !== undefined) headers.set(TENANT_HEADER, tenant);
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (res.status === 401) for (const l of [...unauthorizedListeners]) l();
  return res;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await apiFetch(path, init);
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
  auth: {
    /** Whether the API asks for a sign-in; false: the UI works as it always has, with no sign-in. */
    enabled: boolean;
    /** The OIDC issuer's host when "Sign in with <issuer>" is offered; empty otherwise. */
    oidcIssuer: string;
  };
}

let configPromise: Promise<UiConfig> | undefined;
export function uiConfig(): Promise<UiConfig> {
  configPromise ??= getJson<UiConfig>('/api/skein/ui-config').catch(() => ({ version: '', logsUrlTemplate: '', auth: { enabled: false, oidcIssuer: '' } }));
  return configPromise;
}

// ---- sign-in (POST/DELETE /api/skein/session, GET /api/skein/whoami) ----
export interface WhoAmI {
  subject: string;
  /** `*`: any tenant (no authentication). */
  tenants: string[] | '*';
  rights: string[];
  authEnabled: boolean;
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
