// Schema pieces for TLS, authentication and per-tenant overrides (docs/security.md).
import { z } from 'zod';
import { byteSize as bytes, durationMs as duration } from './zod-units.js';

/**
 * TLS on a listener, in the collector's shape. Absent: plain text. With `client_ca_file`,
 * clients must present a certificate that CA signed (mTLS). The files are read again every
 * `reload_interval` and a changed certificate is used for new connections, without a restart.
 */
export const tlsSchema = z
  .strictObject({
    cert_file: z.string().min(1, 'name the PEM certificate (chain) file'),
    key_file: z.string().min(1, 'name the PEM private key file'),
    client_ca_file: z.string().default(''),
    min_version: z.enum(['1.2', '1.3']).default('1.2'),
    reload_interval: duration.prefault('1m'),
  })
  .optional();
export type TlsConfig = NonNullable<z.output<typeof tlsSchema>>;

export const RIGHTS = ['write', 'read', 'admin'] as const;
export type Right = (typeof RIGHTS)[number];
const rights = z.array(z.enum(RIGHTS)).min(1, 'give at least one right: write, read or admin');

const TENANT_RE = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;
export const tenantId = z.string().regex(TENANT_RE, "a tenant ID is 1–150 characters of A-Z a-z 0-9 ! - _ . * ' ( )");

/** One bearer token, mapped to the tenants it acts for and what it may do there. */
export const bearerTokenSchema = z
  .strictObject({
    /** Any non-empty string; one shorter than SHORT_TOKEN characters is accepted with a warning at start. */
    token: z.string().min(1, 'a token must not be empty').refine((v) => !/\s/.test(v), 'a token holds no whitespace (it travels in an Authorization header)'),
    /** A name for logs and metrics; the token itself is never logged. Default: `token-<n>`. */
    name: z.string().default(''),
    tenant: tenantId.optional(),
    /** Several tenants (read them together with X-Scope-OrgID: a|b). */
    tenants: z.array(tenantId).optional(),
    rights: rights.default(['write', 'read']),
  })
  .refine((t) => (t.tenant === undefined) !== (t.tenants === undefined), 'give tenant or tenants (not both)');
export type BearerTokenConfig = z.output<typeof bearerTokenSchema>;

/** Bearer tokens shorter than this are easy to guess: accepted (examples use them), with a warning. */
export const SHORT_TOKEN = 16;

export const AUTH_MODES = ['bearer', 'basic', 'oidc'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const LISTENERS = ['api', 'otlp_grpc', 'otlp_http', 'zipkin'] as const;
export type Listener = (typeof LISTENERS)[number];

const listenerModes = z.array(z.enum(AUTH_MODES)).optional();

export const authSchema = z
  .strictObject({
    /** The collector's bearertokenauth: `Authorization: Bearer <token>`. */
    bearer_tokens: z.array(bearerTokenSchema).default([]),
    /** A YAML list of the same entries, read at start and again whenever it changes. */
    token_file: z.string().default(''),
    /** The collector's basicauth: users from an htpasswd file (bcrypt entries), read again when it changes. */
    basic: z
      .strictObject({
        htpasswd_file: z.string().default(''),
        /** Each user's tenant (or tenants); a user not listed here is refused. */
        tenants: z.record(z.string(), z.union([tenantId, z.array(tenantId).min(1)])).default({}),
        /** Each user's rights; a user not listed has `default_rights`. */
        rights: z.record(z.string(), rights).default({}),
        default_rights: rights.default(['write', 'read']),
      })
      .prefault({}),
    /** The collector's oidc: JWTs signed by the issuer's keys (JWKS, cached and refreshed). */
    oidc: z
      .strictObject({
        issuer_url: z.string().default('').refine((v) => v === '' || /^https?:\/\//.test(v), 'expected an http:// or https:// URL'),
        /** Expected `aud`; empty accepts any. */
        audience: z.string().default(''),
        /** Empty: `<issuer_url>/.well-known/openid-configuration`'s jwks_uri. */
        jwks_url: z.string().default('').refine((v) => v === '' || /^https?:\/\//.test(v), 'expected an http:// or https:// URL'),
        /** The claim naming the tenant (a string, or an array of strings for several). */
        tenant_claim: z.string().default('tenant'),
        /** The claim listing rights (array or space-separated string); empty: `default_rights` for everyone. */
        rights_claim: z.string().default(''),
        default_rights: rights.default(['write', 'read']),
        /** With a client ID the web UI offers "Sign in with <issuer>" (authorization code flow with PKCE). */
        client_id: z.string().default(''),
        /** For an IdP that treats Skein as a confidential client: sent to its token endpoint (HTTP Basic). Empty: a public client, PKCE alone. */
        client_secret: z.string().default(''),
      })
      .prefault({}),
    /**
     * Which modes each listener accepts. Absent: every configured mode on every listener.
     * An empty list leaves that listener open (as when no auth is configured).
     */
    listeners: z
      .strictObject({ api: listenerModes, otlp_grpc: listenerModes, otlp_http: listenerModes, zipkin: listenerModes })
      .prefault({}),
    /** Who may read /metrics when the API listener authenticates: anyone, `read` (only the caller's tenants' series), or `admin`. */
    metrics: z.enum(['open', 'read', 'admin']).default('read'),
    /**
     * Cluster peers present this token to each other (forwarded spans, head queries): it acts for
     * every tenant and is the only credential whose x-skein-forwarded mark is believed.
     */
    peer_token: z.string().default('').refine((v) => v === '' || v.length >= 16, 'a token must be at least 16 characters'),
    /** A web UI sign-in lasts this long. */
    session_ttl: duration.prefault('12h'),
  })
  .prefault({});
export type AuthConfig = z.output<typeof authSchema>;

/** The modes the `auth` section configures; none: authentication is off everywhere. */
export function configuredAuthModes(auth: AuthConfig): AuthMode[] {
  const on: Record<AuthMode, boolean> = {
    bearer: auth.bearer_tokens.length > 0 || auth.token_file !== '',
    basic: auth.basic.htpasswd_file !== '',
    oidc: auth.oidc.issuer_url !== '',
  };
  return AUTH_MODES.filter((m) => on[m]);
}

/** The modes `listener` accepts: its own list in auth.listeners, or every configured mode. */
export function listenerAuthModes(auth: AuthConfig, listener: Listener): readonly AuthMode[] {
  return auth.listeners[listener] ?? configuredAuthModes(auth);
}

/** The limits a tenant can be given its own value of, by their Tempo names. */
export const tenantLimitsSchema = z.strictObject({
  /** Bytes per second of spans accepted (a token bucket); 0: unlimited. */
  ingestion_rate_limit_bytes: bytes.optional(),
  /** The bucket's size: the largest burst above the rate. */
  ingestion_burst_size_bytes: bytes.optional(),
  /** Traces in the head (not yet in a block) at once; spans of a new trace beyond it are refused. 0: unlimited. */
  max_traces_per_user: z.number().int().min(0).optional(),
  /** Bytes one trace may hold; spans beyond it are refused at ingest, and a query returns no more. */
  max_bytes_per_trace: bytes.optional(),
  max_attributes_per_span: z.number().int().positive().optional(),
  max_attribute_value_length: z.number().int().positive().optional(),
  /** Blocks whose newest span ended longer ago are deleted. */
  block_retention: duration.optional(),
  /** Bytes of blocks the tenant keeps; beyond it its oldest blocks are deleted first. 0: no limit. */
  block_retention_bytes: bytes.optional(),
  /** Longest `end - start` a search may cover; 0: unlimited. */
  max_search_duration: duration.optional(),
  /** Largest `spss` a search may ask for. */
  max_spans_per_span_set: z.number().int().positive().optional(),
  /** Queries of this tenant running at once (a share of query.max_concurrent_queries). */
  max_concurrent_queries: z.number().int().positive().optional(),
});
export type TenantLimitsConfig = z.output<typeof tenantLimitsSchema>;

export const overridesSchema = z
  .strictObject({
    /**
     * Every tenant's limits, where they differ from the settings they default to
     * (docs/security.md lists each: limits.*, query.*, storage.retention, storage.max_bytes).
     */
    defaults: tenantLimitsSchema.prefault({}),
    /** A YAML file `overrides: { <tenant>: { <limit>: value } }`, read at start and every period. */
    per_tenant_override_config: z.string().default(''),
    per_tenant_override_period: duration.prefault('10s'),
  })
  .prefault({});
