// The one configuration schema. Every default lives here; `skein config
// print-defaults` prints what this schema produces from an empty file.
import { z } from 'zod';
import { byteSize, durationMs, watermark } from './zod-units.js';
import { parseWatermark } from './units.js';
import { componentSection, pipelineSchema, typeOf } from '../pipeline/config.js';
import { connectorSchemas, exporterSchemas, processorSchemas, STORE_EXPORTER } from '../pipeline/registry.js';
import { authSchema, configuredAuthModes, listenerAuthModes, overridesSchema, tlsSchema } from './security-schema.js';
import { peerTlsSchema } from '../pipeline/exporters/otlp/config.js';

const duration = durationMs;
const bytes = byteSize;

const HOST_PORT_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
/** `host:port`; port 0 asks the OS for a free port (tests use it). */
export const hostPort = z.string().refine((v) => {
  const m = HOST_PORT_RE.exec(v);
  return m !== null && Number(m[2]) <= 65535;
}, 'expected host:port, e.g. 127.0.0.1:4317');

const endpoint = (addr: string) =>
  z.strictObject({ endpoint: hostPort.default(addr), tls: tlsSchema }).prefault({});

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        /** Query API, web UI, /metrics and /ready. */
        http_listen_address: hostPort.default('127.0.0.1:3200'),
        log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /** Time allowed for in-flight work when the process is asked to stop. */
        shutdown_timeout: duration.prefault('10s'),
        /** TLS on the API/UI listener (mTLS with client_ca_file); absent: plain HTTP. */
        tls: tlsSchema,
      })
      .prefault({}),
    receivers: z
      .strictObject({
        otlp: z
          .strictObject({
            protocols: z
              .strictObject({
                grpc: endpoint('127.0.0.1:4317'),
                http: endpoint('127.0.0.1:4318'),
              })
              .prefault({}),
          })
          .prefault({}),
        /** Zipkin v2 spans (JSON or protobuf) on POST /api/v2/spans, as the collector's zipkin receiver. */
        zipkin: z
          .strictObject({
            enabled: z.boolean().default(false),
            endpoint: hostPort.default('127.0.0.1:9411'),
            /** Tags that read as numbers or booleans become typed attributes. */
            parse_string_tags: z.boolean().default(false),
            tls: tlsSchema,
          })
          .prefault({}),
      })
      .prefault({}),
    /** The collector's processors, by name (`type` or `type/instance`), in its own syntax. */
    processors: componentSection(processorSchemas, {
      memory_limiter: { limit_mib: 1024 },
      redaction: {},
    }),
    /** Where the pipeline ends: `store` keeps spans here; `otlp` / `otlphttp` forward them. */
    exporters: componentSection(exporterSchemas, { [STORE_EXPORTER]: {} }),
    /** Service graph and span metrics, served on /metrics and to the UI. */
    connectors: componentSection(connectorSchemas, { servicegraph: {}, spanmetrics: {} }),
    pipeline: pipelineSchema,
    limits: z
      .strictObject({
        /** Largest accepted export request, after decompression (OTLP's default is 4 MiB). */
        max_request_bytes: bytes.prefault('4MiB'),
        /** Longest attribute value (strings and bytes); longer spans are rejected by partial success. */
        max_attribute_value_length: z.number().int().positive().default(65536),
        /** Most attributes on one span, event or link, or one resource. */
        max_attributes_per_span: z.number().int().positive().default(256),
        /** Most events and most links on one span. */
        max_events_per_span: z.number().int().positive().default(1024),
        /**
         * How far past the server's clock a span may end (Tempo's ingestion slack); a span ending later is
         * refused by partial success rather than sorting first in every search until retention. 0 turns the check off.
         */
        max_span_end_ahead: duration.prefault('24h'),
        /** Largest trace a query returns in full (Tempo's max_bytes_per_trace). */
        max_bytes_per_trace: bytes.prefault('5MB'),
        /**
         * Ingest refuses with 429 / RESOURCE_EXHAUSTED while this many bytes of spans are waiting for
         * the head to be cut into a block (the block writer has fallen behind).
         */
        max_head_bytes_pending: bytes.prefault('512MiB'),
        /** Seconds a refused client is asked to wait (Retry-After). */
        retry_after_seconds: z.number().int().positive().default(1),
      })
      .prefault({}),
    /** Query defaults and limits (search, metrics, tags); a refused query is answered 400, 413 or 429 naming the key. */
    query: z
      .strictObject({
        /** Traces returned when the request gives no `limit`. */
        default_limit: z.number().int().positive().default(20),
        /** Largest `limit` accepted (a larger one is refused with 400). */
        max_limit: z.number().int().positive().default(1000),
        /** Spans shown per spanset when the request gives no `spss`. */
        default_spss: z.number().int().positive().default(3),
        /** Largest `spss` accepted. */
        max_spss: z.number().int().positive().default(100),
        /**
         * A query (search, TraceQL metrics, tag names and values) running longer, time spent
         * queued included, is abandoned with 429; checked inside evaluation, and DuckDB scans
         * in flight are interrupted.
         */
        timeout: duration.prefault('30s'),
        /**
         * Queries (search, TraceQL metrics, tag names and values, live-tail polls) that run at
         * once, as Tempo's max_concurrent_queries. They share one JavaScript thread with
         * ingestion: more running at once only splits it finer (see docs/configuration.md).
         */
        max_concurrent_queries: z.number().int().positive().default(2),
        /** Queries that wait for a place beyond those; one more is refused with 429 and Retry-After. */
        max_queued_queries: z.number().int().min(0).default(100),
        /** Longest `end - start` a search may cover (400 beyond it); 0 means unlimited. */
        max_search_duration: duration.prefault('7d'),
        /** Bytes of blocks and traces one search may read (413 beyond it); 0 means unlimited. */
        max_bytes_inspected: bytes.prefault('10GiB'),
        /** Most tag names (per scope) or tag values one tags request returns; a cut answer says `truncated`. */
        max_tag_values: z.number().int().positive().default(5000),
        /** Most bytes of tag names (per scope) or values one tags request returns. */
        max_tag_values_bytes: bytes.prefault('1MiB'),
        /** Most series one TraceQL metrics query may build (histogram buckets count as series); 422 beyond it, 0 means unlimited. */
        max_metrics_series: z.number().int().min(0).default(1000),
      })
      .superRefine((q, ctx) => {
        if (q.default_limit > q.max_limit) ctx.addIssue({ code: 'custom', path: ['default_limit'], message: `must not exceed max_limit (${q.max_limit})` });
        if (q.default_spss > q.max_spss) ctx.addIssue({ code: 'custom', path: ['default_spss'], message: `must not exceed max_spss (${q.max_spss})` });
      })
      .prefault({}),
    storage: z
      .strictObject({
        /** Data directory: WAL and blocks live under it, each under its tenant. */
        path: z.string().min(1).default('./data'),
        /**
         * Where blocks live: `local` under `path`, or `s3`, an S3-compatible bucket (AWS S3, MinIO,
         * Ceph RGW, R2, GCS's S3 API) that several instances can share. The WAL is always local.
         */
        backend: z.enum(['local', 's3']).default('local'),
        /** The bucket, with `backend: s3`. Credentials left empty come from the AWS SDK's chain (environment, shared files, instance roles). */
        s3: z
          .strictObject({
            bucket: z.string().default(''),
            /** Empty: AWS S3 for `region`; otherwise the service's URL, e.g. http://127.0.0.1:9000 for MinIO. */
            endpoint: z.string().default('').refine((v) => v === '' || /^https?:\/\/[^/]+/.test(v), 'expected an http:// or https:// URL'),
            region: z.string().default('us-east-1'),
            /** Keys are `<prefix>/<tenant>/<blockId>/…`; empty puts tenants at the top of the bucket. */
            prefix: z.string().default('').refine((v) => !v.startsWith('/') && !v.endsWith('/'), 'no leading or trailing /'),
            /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted stores need. */
            force_path_style: z.boolean().default(false),
            access_key_id: z.string().default(''),
            secret_access_key: z.string().default(''),
            /** Parts of a multipart upload; a block part larger than this is uploaded in several. S3 takes no part under 5MiB. */
            part_size: bytes.prefault('16MiB').refine((v) => v >= 5 * 1024 * 1024, 'S3 takes multipart upload parts of at least 5MiB'),
          })
          .prefault({}),
        /** With a remote backend: a local disk cache of footers, blooms, indexes and row groups read from the bucket. */
        cache: z
          .strictObject({
            /** Empty: `<path>/cache`. */
            path: z.string().default(''),
            /** Least recently used objects go first beyond this. */
            max_bytes: bytes.prefault('10GiB'),
          })
          .prefault({}),
        /**
         * How often the list of blocks is read again from the backend, so that blocks other
         * instances wrote become queryable: the consistency window of a cluster.
         */
        blocklist_poll_interval: duration.prefault('15s'),
        /** Blocks whose newest span ended longer ago than this are deleted. */
        retention: duration.prefault('14d'),
        /**
         * Bytes of blocks each tenant may keep (per tenant: the override block_retention_bytes);
         * beyond it the tenant's oldest blocks are deleted first. 0: no limit.
         */
        max_bytes: bytes.prefault('0'),
        /**
         * The data directory's filesystem, with the local backend: past the high watermark
         * compaction runs, then the oldest blocks of any tenant are deleted until the low
         * watermark, never one whose newest span ended within min_retention.
         */
        disk: z
          .strictObject({
            /** `95%` of the filesystem used, or a size of free space left (`10GiB`); `0` turns the watermark off. */
            high_watermark: watermark.prefault('95%'),
            /** Where deletion stops: `90%` used, or a size of free space. */
            low_watermark: watermark.prefault('90%'),
            /** The floor: blocks whose newest span ended more recently are never deleted for the disk. */
            min_retention: duration.prefault('1h'),
          })
          .superRefine((d, ctx) => {
            if (d.min_retention <= 0) ctx.addIssue({ code: 'custom', path: ['min_retention'], message: 'must be above 0: it keeps the newest data from being deleted for the disk' });
            const high = parseWatermark(d.high_watermark);
            const low = parseWatermark(d.low_watermark);
            if (high && low && 'usedPercent' in high && 'usedPercent' in low && low.usedPercent > high.usedPercent) {
              ctx.addIssue({ code: 'custom', path: ['low_watermark'], message: `must not be above high_watermark (${d.high_watermark}): deletion stops at the low watermark` });
            }
            if (high && low && 'freeBytes' in high && 'freeBytes' in low && low.freeBytes < high.freeBytes) {
              ctx.addIssue({ code: 'custom', path: ['low_watermark'], message: `must leave at least as much free space as high_watermark (${d.high_watermark}): deletion stops at the low watermark` });
            }
          })
          .prefault({}),
        wal: z
          .strictObject({
            /**
             * `batch`: a request is acknowledged after an fsync that covers it; concurrent requests
             * share one fsync (group commit). `request`: one fsync per request. `none`: acknowledged
             * once written to the OS (survives a crash of Skein, not of the machine).
             */
            sync_policy: z.enum(['batch', 'request', 'none']).default('batch'),
            /** With `batch`: wait up to this long to gather more requests into one fsync. */
            sync_interval: duration.prefault('0ms'),
            segment_max_bytes: bytes.prefault('64MiB'),
          })
          .prefault({}),
        block: z
          .strictObject({
            /** The head is cut into a block once it holds this many bytes of spans… */
            max_head_bytes: bytes.prefault('64MiB'),
            /** …or once its oldest span arrived this long ago. */
            max_head_duration: duration.prefault('5m'),
            /** Spans per Parquet row group: smaller groups make trace-by-ID read less. */
            row_group_spans: z.number().int().min(100).default(8192),
          })
          .prefault({}),
        engine: z
          .strictObject({
            /**
             * Memory the embedded query engine (DuckDB) may hold: its cache of Parquet data
             * and the working space of compactions, which spill to disk beyond it.
             */
            memory_limit: bytes.prefault('256MiB'),
            /**
             * Engine worker threads; 0 means one per CPU. One by default: a trace-by-ID lookup reads
             * one row group, and a second thread only added setup work (measured: a third more CPU
             * per lookup and per block write on 2 cores). Queries still run side by side, each on
             * its own connection.
             */
            threads: z.number().int().min(0).max(64).default(1),
          })
          .prefault({}),
        compaction: z
          .strictObject({
            /** How often compaction and retention run. */
            interval: duration.prefault('1m'),
            /** Only blocks whose spans fall in the same window are merged, so retention stays exact. */
            window: duration.prefault('1h'),
            /** Blocks larger than this are left alone, and no output grows past it. */
            max_block_bytes: bytes.prefault('512MiB'),
            /** Merge when at least this many blocks share a window. */
            min_input_blocks: z.number().int().min(2).default(4),
          })
          .prefault({}),
      })
      .prefault({}),
    /**
     * Several instances sharing one bucket (docs/scale-out.md): spans are routed by trace ID to
     * the instance that owns it, queries fan out to every peer's head. Off while no peer is listed.
     */
    cluster: z
      .strictObject({
        /** Instances that receive spans, as `{ otlp_grpc, http }` addresses; this one among them. */
        peers: z.array(z.strictObject({ otlp_grpc: hostPort, http: hostPort })).default([]),
        /** Peers from DNS as well (a Kubernetes headless service): A records, or SRV records whose port is the OTLP gRPC port. */
        dns: z
          .strictObject({
            name: z.string().default(''),
            record: z.enum(['A', 'SRV']).default('A'),
            /** With A records: the peers' OTLP gRPC port. */
            otlp_grpc_port: z.number().int().min(1).max(65535).default(4317),
            /** The peers' API port (internal head queries). */
            http_port: z.number().int().min(1).max(65535).default(3200),
          })
          .prefault({}),
        /** How often DNS is asked again. */
        resolve_interval: duration.prefault('30s'),
        /**
         * The host other instances reach this one at: with the listen ports, it names this instance in
         * the peer list. Empty: the host of receivers.otlp.protocols.grpc.endpoint.
         */
        advertise_host: z.string().default(''),
        /**
         * Which instance runs compaction and retention: `lease` (whoever holds a lease object in the
         * bucket, taken with a conditional write: AWS S3, MinIO, R2; see docs/scale-out.md), or the
         * OTLP gRPC address of one peer.
         */
        compactor: z.string().default('lease'),
        /** A lease not renewed for this long can be taken by another instance. */
        lease_duration: duration.prefault('60s'),
        /** Spans for another instance wait in an on-disk queue per peer, at most this many batches each; beyond it ingest refuses (retryable). */
        forward_queue_batches: z.number().int().positive().default(10000),
        /** A peer that has not answered a query part by then is skipped and the answer marked partial. */
        peer_query_timeout: duration.prefault('10s'),
        /**
         * How this instance connects to its peers' OTLP gRPC and API listeners when they use TLS
         * (the exporters' tls settings); peers authenticate with auth.peer_token.
         */
        tls: peerTlsSchema.prefault({ insecure: true }),
      })
      .prefault({}),
    /** Authentication and rights, per listener (docs/security.md). Off while no mode is configured. */
    auth: authSchema,
    /** Per-tenant limits, Tempo's overrides (docs/security.md). */
    overrides: overridesSchema,
    /** The web UI served at `/`. */
    ui: z
      .strictObject({
        /**
         * A link to the logs of a trace or span, shown on the trace view, e.g.
         * `http://grafana:3000/explore?left={"queries":[{"expr":"{} |= \"${traceId}\""}]}`.
         * Placeholders: ${traceId} ${spanId} ${service} ${startMs} ${endMs}. Empty: no link.
         */
        logs_url_template: z
          .string()
          .default('')
          .refine((v) => v === '' || /^https?:\/\//.test(v.replace(/\$\{\w+\}/g, 'x')), 'expected an http:// or https:// URL template')
          .refine(
            (v) => [...v.matchAll(/\$\{(\w+)\}/g)].every((m) => ['traceId', 'spanId', 'service', 'startMs', 'endMs'].includes(m[1]!)),
            'unknown placeholder: use ${traceId} ${spanId} ${service} ${startMs} ${endMs}',
          ),
        /** Span names pinned on the Hot paths page, each with its recent spans and RED figures. */
        hot_paths: z.array(z.string().min(1, 'a hot path is a span name, not empty')).default(['auth.login', 'track.upload.initiate', 'payment.webhook', 'search.query']),
        /** Live tail (GET /api/skein/tail): server-sent events of new matching traces, polled from the store. */
        live_tail: z
          .strictObject({
            /** Tails open at once across all clients; one more is refused with 429. */
            max_clients: z.number().int().min(0).default(8),
            /** Traces sent per tail per second at most; the rest are counted in a `dropped` event. */
            max_events_per_second: z.number().int().positive().default(20),
            /** How often each tail looks for new traces. */
            poll_interval: duration.prefault('1s'),
            /** A trace shows up if it ended no longer than this before it reached Skein and was polled. */
            lookback: duration.prefault('30s'),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    // Every name a pipeline list uses must be configured in its section.
    const lists = [
      ['processors', c.pipeline.processors, c.processors],
      ['exporters', c.pipeline.exporters, c.exporters],
      ['connectors', c.pipeline.connectors, c.connectors],
    ] as const;
    for (const [section, names, configured] of lists) {
      const seen = new Set<string>();
      names.forEach((name, i) => {
        if (!(name in configured)) {
          ctx.addIssue({ code: 'custom', path: ['pipeline', section, i], message: `no ${section.slice(0, -1)} "${name}" is configured under ${section}:` });
        }
        if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['pipeline', section, i], message: `"${name}" is listed twice` });
        seen.add(name);
      });
    }
    // The sampler keeps waiting spans on disk and connectors observe before it:
    // both must only ever see redacted spans.
    const procs = c.pipeline.processors;
    const firstSampler = procs.findIndex((n) => typeOf(n) === 'tail_sampling');
    const lateRedaction = procs.findIndex((n, i) => typeOf(n) === 'redaction' && firstSampler !== -1 && i > firstSampler);
    if (lateRedaction !== -1) {
      ctx.addIssue({
        code: 'custom',
        path: ['pipeline', 'processors', lateRedaction],
        message: `"${procs[lateRedaction]}" must come before "${procs[firstSampler]}": tail sampling keeps waiting spans on disk, and connectors observe them before sampling, so credentials would reach both`,
      });
    }
    if (c.storage.backend === 's3' && c.storage.s3.bucket === '') {
      ctx.addIssue({ code: 'custom', path: ['storage', 's3', 'bucket'], message: 'storage.backend is s3: name the bucket' });
    }
    if ((c.storage.s3.access_key_id === '') !== (c.storage.s3.secret_access_key === '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 's3', c.storage.s3.access_key_id === '' ? 'access_key_id' : 'secret_access_key'],
        message: 'set both access_key_id and secret_access_key, or neither (the AWS SDK then finds credentials in the environment, shared files or an instance role)',
      });
    }
    if ((c.cluster.peers.length > 0 || c.cluster.dns.name !== '') && c.storage.backend !== 's3') {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster'],
        message: 'a cluster shares its blocks through a bucket: set storage.backend: s3 (instances on local disks would each see only their own blocks)',
      });
    }
    // The forwarders and peer queries take cluster.tls as an exporter takes tls: the same contradictions, named here at load.
    const peerTls = c.cluster.tls;
    if (peerTls.insecure && (peerTls.ca_file !== undefined || peerTls.cert_file !== undefined || peerTls.key_file !== undefined || peerTls.insecure_skip_verify)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'tls', 'insecure'],
        message: 'insecure: true is plaintext, which the TLS settings beside it (ca_file, cert_file, key_file, insecure_skip_verify) contradict: set insecure: false to reach the peers over TLS',
      });
    }
    if ((peerTls.cert_file === undefined) !== (peerTls.key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cluster', 'tls', peerTls.cert_file === undefined ? 'cert_file' : 'key_file'], message: 'cert_file and key_file go together (mutual TLS needs both)' });
    }
    // A listener that names a mode nothing configures would refuse every request.
    const modes = configuredAuthModes(c.auth);
    for (const [listener, list] of Object.entries(c.auth.listeners)) {
      list?.forEach((mode, i) => {
        if (!modes.includes(mode)) {
          const key = { bearer: 'auth.bearer_tokens or auth.token_file', basic: 'auth.basic.htpasswd_file', oidc: 'auth.oidc.issuer_url' }[mode];
          ctx.addIssue({ code: 'custom', path: ['auth', 'listeners', listener, i], message: `${mode} is not configured: set ${key}, or leave it out of this list` });
        }
      });
    }
    // Peers reach each other's OTLP gRPC and API listeners; with authentication on there, only peer_token lets them in.
    const peersAuthenticate = modes.length > 0 && (['otlp_grpc', 'api'] as const).some((l) => listenerAuthModes(c.auth, l).length > 0);
    if ((c.cluster.peers.length > 0 || c.cluster.dns.name !== '') && peersAuthenticate && c.auth.peer_token === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'peer_token'],
        message: 'authentication is on in a cluster: set auth.peer_token (the same secret, at least 16 characters, on every instance), or peers could not forward spans to each other nor ask each other for their part of a query',
      });
    }
    if (c.pipeline.exporters.filter((n) => typeOf(n) === STORE_EXPORTER).length > 1) {
      ctx.addIssue({ code: 'custom', path: ['pipeline', 'exporters'], message: 'list the store exporter at most once' });
    }
  })
  .prefault({});

export type SkeinConfig = z.output<typeof configSchema>;
