// `skein grafana provision --out DIR`: the files that point an existing
// Grafana at Skein. Grafana reads them from its provisioning directory
// (/etc/grafana/provisioning by default): data sources from datasources/*.yaml,
// dashboard providers from dashboards/*.yaml, which name the folder of the
// dashboard JSON. docs/deploy.md walks through it.
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { CredentialError, datasourceAuth, literal, type CredentialFlags, type DatasourceAuth } from './grafana-credentials.js';
import { LOCAL_API_HELP, localSkein } from './local-server.js';

/** The Tempo data source's defaults; --datasource-name and --datasource-uid change them. */
export const TEMPO_NAME = 'Skein';
export const TEMPO_UID = 'skein-tempo';
export const LOKI_UID = 'skein-loki';
export const PROMETHEUS_UID = 'skein-prometheus';
export const DASHBOARD_UID = 'skein-service-map';
/** The reference service's hot paths (examples/reference-service). */
export const DEFAULT_HOT_PATHS = ['auth.login', 'track.upload.initiate', 'payment.webhook', 'search.query'];
/**
 * The trace ID in a log line, as the only group (Grafana links the first): JSON with any
 * spacing around the colon (`"trace_id":"…"` as @skein/instrument and pino write it,
 * `"trace_id": "…"` as Python's json.dumps does, `"trace_id" : "…"`) and logfmt
 * (`trace_id=…`, `trace_id="…"`). Only a key that is exactly trace_id (not parent_trace_id),
 * and only hex up to a word boundary, so the group is the ID and nothing around it. Grafana
 * runs it as a JavaScript regular expression; it is RE2-compatible too (no lookbehind).
 */
export const TRACE_ID_MATCHER = '(?:"trace_id"\\s*:\\s*"|\\btrace_id="?)([0-9a-fA-F]+)\\b';

export interface ProvisionOptions {
  /** Skein's query API as Grafana reaches it. */
  skeinUrl: string;
  /** The Tempo data source Skein is, as dashboards and links name it. */
  datasourceName: string;
  datasourceUid: string;
  lokiUrl: string;
  prometheusUrl: string;
  /** Link to an existing Loki data source by UID instead of provisioning one. */
  lokiUid?: string;
  /** Link to an existing Prometheus data source by UID instead of provisioning one. */
  prometheusUid?: string;
  /** Where Grafana will find the dashboard JSON (absolute, on Grafana's host). */
  dashboardsPath: string;
  hotPaths: string[];
  /** The Loki label holding a log line's service name. */
  lokiServiceLabel: string;
  /** How the Tempo data source authenticates to Skein; none by default. */
  auth?: DatasourceAuth;
}

export interface ProvisionFile {
  /** Relative to the output directory. */
  path: string;
  content: string;
}

export class ProvisionError extends Error {}

const DATASOURCES_FILE = 'datasources/skein.yaml';

function httpUrl(flag: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ProvisionError(`${flag} ${JSON.stringify(value)} is not a URL: expected e.g. http://127.0.0.1:3200`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ProvisionError(`${flag} ${JSON.stringify(value)} is not an http:// or https:// URL`);
  return value.replace(/\/+$/, '');
}

/** Grafana's limit on data source and dashboard UIDs. */
function uid(flag: string, value: string): string {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(value)) throw new ProvisionError(`${flag} ${JSON.stringify(value)} is not a Grafana UID (1–40 letters, digits, - or _)`);
  return value;
}

function datasources(o: ProvisionOptions): unknown {
  const lokiUid = o.lokiUid ?? LOKI_UID;
  const promUid = o.prometheusUid ?? PROMETHEUS_UID;
  const list: unknown[] = [
    {
      name: o.datasourceName,
      type: 'tempo',
      uid: o.datasourceUid,
      access: 'proxy',
      url: o.skeinUrl,
      editable: false,
      ...o.auth?.fields,
      jsonData: {
        ...o.auth?.jsonData,
        tracesToLogsV2: {
          datasourceUid: lokiUid,
          // Log lines may be written a little before the span starts or after it ends.
          spanStartTimeShift: '-5m',
          spanEndTimeShift: '5m',
          tags: [{ key: 'service.name', value: o.lokiServiceLabel }],
          filterByTraceId: true,
          filterBySpanId: false,
          customQuery: true,
          query: literal(`{\${__tags}} |= "\${__trace.traceId}"`),
        },
        serviceMap: { datasourceUid: promUid },
        tracesToMetrics: {
          datasourceUid: promUid,
          spanStartTimeShift: '-5m',
          spanEndTimeShift: '5m',
          tags: [{ key: 'service.name', value: 'service' }],
          queries: [
            {
              name: 'Span rate',
              query: literal('sum(rate(traces_spanmetrics_calls_total{$__tags, span_name="${__span.name}"}[5m]))'),
            },
          ],
        },
        nodeGraph: { enabled: true },
        search: { hide: false },
        lokiSearch: { datasourceUid: lokiUid },
        traceQuery: { timeShiftEnabled: true, spanStartTimeShift: '-30m', spanEndTimeShift: '30m' },
        // Skein answers search and metrics over HTTP only (it reports Tempo 2.1.0, before streaming).
        streamingEnabled: { search: false, metrics: false },
      },
      ...(o.auth && Object.keys(o.auth.secureJsonData).length > 0 ? { secureJsonData: o.auth.secureJsonData } : {}),
    },
  ];
  if (o.lokiUid === undefined) {
    list.push({
      name: 'Skein Loki',
      type: 'loki',
      uid: LOKI_UID,
      access: 'proxy',
      url: o.lokiUrl,
      editable: false,
      jsonData: { maxLines: 1000, derivedFields: [derivedField(o, literal)] },
    });
  }
  if (o.prometheusUid === undefined) {
    list.push({
      name: 'Skein Prometheus',
      type: 'prometheus',
      uid: PROMETHEUS_UID,
      access: 'proxy',
      url: o.prometheusUrl,
      editable: false,
      jsonData: { httpMethod: 'POST', timeInterval: '15s' },
    });
  }
  return { apiVersion: 1, datasources: list };
}

/**
 * The Loki derived field that turns a log line's trace_id into a link to the trace in Skein.
 * `escape` is `literal` for a provisioning file, where Grafana expands `$`, and the identity
 * for what is typed into Grafana's UI, where it does not.
 */
function derivedField(o: ProvisionOptions, escape: (text: string) => string): Record<string, unknown> {
  return {
    name: 'TraceID',
    matcherType: 'regex',
    matcherRegex: escape(TRACE_ID_MATCHER),
    datasourceUid: o.datasourceUid,
    url: escape('${__value.raw}'),
    urlDisplayLabel: `Open trace in ${o.datasourceName}`,
  };
}

function dashboardProviders(o: ProvisionOptions): unknown {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'skein',
        orgId: 1,
        folder: 'Skein',
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: o.dashboardsPath, foldersFromFilesStructure: false },
      },
    ],
  };
}

type Panel = Record<string, unknown>;

function serviceMapDashboard(o: ProvisionOptions): unknown {
  const tempoRef = { type: 'tempo', uid: o.datasourceUid };
  const promRef = { type: 'prometheus', uid: o.prometheusUid ?? PROMETHEUS_UID };
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  const prom = (title: string, x: number, w: number, exprs: Array<[string, string]>, unit: string): Panel => ({
    id: id++,
    type: 'timeseries',
    title,
    datasource: promRef,
    gridPos: { x, y, w, h: 8 },
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets: exprs.map(([expr, legend], i) => ({ refId: String.fromCharCode(65 + i), datasource: promRef, expr, legendFormat: legend })),
  });
  const row = (title: string): Panel => ({ id: id++, type: 'row', title, collapsed: false, gridPos: { x: 0, y: y++, w: 24, h: 1 }, panels: [] });

  panels.push(row('Services'));
  panels.push({
    id: id++,
    type: 'nodeGraph',
    title: 'Service map',
    description: 'From the service-graph metrics Skein computes from the spans it receives (Prometheus scrapes them from /metrics).',
    datasource: tempoRef,
    gridPos: { x: 0, y, w: 24, h: 12 },
    targets: [{ refId: 'A', datasource: tempoRef, queryType: 'serviceMap' }],
  });
  y += 12;

  const names = o.hotPaths.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  panels.push(row('Hot paths'));
  panels.push(
    prom('Hot paths: requests per second', 0, 8, [[`sum by (span_name) (rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", span_name=~"${names}"}[$__rate_interval]))`, '{{span_name}}']], 'reqps'),
    prom('Hot paths: errors per second', 8, 8, [[`sum by (span_name) (rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", status_code="STATUS_CODE_ERROR", span_name=~"${names}"}[$__rate_interval]))`, '{{span_name}}']], 'reqps'),
    prom('Hot paths: p95 latency', 16, 8, [[`histogram_quantile(0.95, sum by (span_name, le) (rate(traces_spanmetrics_latency_bucket{span_kind="SPAN_KIND_SERVER", span_name=~"${names}"}[$__rate_interval])))`, '{{span_name}}']], 's'),
  );
  y += 8;
  // One table of recent traces per hot path, two per row.
  o.hotPaths.forEach((name, i) => {
    const x = (i % 2) * 12;
    panels.push({
      id: id++,
      type: 'table',
      title: `${name}: recent traces`,
      datasource: tempoRef,
      gridPos: { x, y, w: 12, h: 8 },
      options: { showHeader: true, cellHeight: 'sm' },
      targets: [{ refId: 'A', datasource: tempoRef, queryType: 'traceql', query: `{ name = ${JSON.stringify(name)} }`, limit: 20, tableType: 'traces' }],
    });
    if (i % 2 === 1 || i === o.hotPaths.length - 1) y += 8;
  });

  panels.push(row('Skein: ingest and queues'));
  panels.push(
    prom(
      'Spans received per second',
      0,
      12,
      [
        ['sum by (transport) (rate(skein_receiver_accepted_spans_total[$__rate_interval]))', 'accepted {{transport}}'],
        ['sum by (transport, reason) (rate(skein_receiver_refused_spans_total[$__rate_interval]))', 'refused {{transport}} {{reason}}'],
        ['sum(rate(skein_spans_stored_total[$__rate_interval]))', 'stored'],
      ],
      'short',
    ),
    prom(
      'Refused requests per second',
      12,
      12,
      [
        ['sum by (transport, reason) (rate(skein_receiver_refused_requests_total[$__rate_interval]))', '{{transport}} {{reason}}'],
        ['sum(rate(skein_memory_limiter_refused_batches_total[$__rate_interval]))', 'memory limiter'],
      ],
      'short',
    ),
  );
  y += 8;
  panels.push(
    prom(
      'Queues: spans waiting',
      0,
      12,
      [
        ['sum(skein_head_spans)', 'head (not yet in a block)'],
        ['sum(skein_tail_sampling_buffered_spans)', 'tail sampling: waiting for a decision'],
        ['sum by (exporter) (skein_exporter_queue_size)', 'exporter {{exporter}}: batches queued'],
      ],
      'short',
    ),
    prom(
      'Memory and disk',
      12,
      12,
      [
        ['max(skein_memory_limiter_usage_bytes)', 'memory limiter usage'],
        ['sum(skein_head_bytes)', 'head'],
        ['sum(skein_wal_disk_bytes)', 'WAL on disk'],
        ['sum(skein_block_bytes)', 'blocks on disk'],
      ],
      'bytes',
    ),
  );

  return {
    uid: DASHBOARD_UID,
    title: 'Skein: service map and hot paths',
    description: 'Written by `skein grafana provision`; regenerate it rather than editing it here.',
    tags: ['skein', 'tracing'],
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    templating: { list: [] },
    annotations: { list: [] },
    links: [],
    panels,
  };
}

function prometheusScrape(o: ProvisionOptions): string {
  const url = new URL(o.skeinUrl);
  const job: Record<string, unknown> = { job_name: 'skein', scrape_interval: '15s', metrics_path: '/metrics' };
  if (url.protocol === 'https:') job['scheme'] = 'https';
  // The file paths are Prometheus's, not Grafana's: the credential is not copied here.
  if (o.auth?.caFile !== undefined) job['tls_config'] = { ca_file: o.auth.caFile };
  if (o.auth?.scheme === 'bearer') job['authorization'] = { type: 'Bearer', credentials_file: '/etc/prometheus/skein-token' };
  if (o.auth?.scheme === 'basic') job['basic_auth'] = { username: 'prometheus', password_file: '/etc/prometheus/skein-password' };
  job['static_configs'] = [{ targets: [url.host] }];
  return [
    '# Add this job to prometheus.yml (scrape_configs:) so that the Prometheus data source',
    "# Grafana uses for Tempo's service map holds Skein's service-graph and span metrics.",
    ...(o.auth?.scheme
      ? [
          '# Skein asks for a credential: give Prometheus one of its own that may read /metrics',
          '# (auth.metrics, docs/security.md), in the file named below; check the names and paths.',
        ]
      : []),
    toYaml({ scrape_configs: [job] }),
  ].join('\n');
}

const LOKI_PROVISIONING_SNIPPET = 'loki-derived-fields.yaml';
const LOKI_UI_SNIPPET = 'loki-derived-fields-ui.txt';

/** The derived field to merge into an existing Loki data source's provisioning file. */
function lokiProvisioningSnippet(o: ProvisionOptions): string {
  return [
    '# FOR A PROVISIONING FILE. Your Loki data source already exists: add this entry to its',
    "# jsonData.derivedFields in its provisioning file (Grafana replaces jsonData whole, so merge",
    "# it into the existing list), so that a log line's trace_id opens the trace in Skein.",
    '# Every $ is doubled, because Grafana expands environment variables in provisioning files.',
    `# In Grafana's UI, do not paste this: type the values of ${LOKI_UI_SNIPPET} instead.`,
    toYaml({ derivedFields: [derivedField(o, literal)] }, { lineWidth: 0 }),
  ].join('\n');
}

/** The same derived field, as typed into Grafana's form: nothing escaped. */
function lokiUiSnippet(o: ProvisionOptions): string {
  const f = derivedField(o, (text) => text);
  return [
    "FOR GRAFANA'S UI. Your Loki data source already exists: in Grafana, open",
    'Connections > Data sources > (your Loki) > Derived fields > Add, and enter:',
    '',
    `  Name           ${String(f['name'])}`,
    '  Type           Regex in log line',
    `  Regex          ${String(f['matcherRegex'])}`,
    `  Query          ${String(f['url'])}`,
    `  URL Label      ${String(f['urlDisplayLabel'])}`,
    `  Internal link  on, data source "${o.datasourceName}" (uid ${o.datasourceUid})`,
    '',
    'then Save & test. A log line with a trace_id now has a button that opens the trace.',
    `These values are unescaped, as the UI takes them; for a provisioning file use ${LOKI_PROVISIONING_SNIPPET},`,
    'whose dollar signs are doubled.',
    '',
  ].join('\n');
}

/** The files, with their paths relative to the output directory. */
export function provisioningFiles(o: ProvisionOptions): ProvisionFile[] {
  const files: ProvisionFile[] = [
    {
      path: DATASOURCES_FILE,
      content: `# Written by skein grafana provision. Grafana expands environment variables in this file, so every dollar sign meant for Grafana itself is doubled.\n${toYaml(datasources(o), { lineWidth: 0 })}`,
    },
    { path: 'dashboards/skein.yaml', content: `# Written by skein grafana provision.\n${toYaml(dashboardProviders(o))}` },
    { path: 'dashboards/skein/skein-service-map.json', content: `${JSON.stringify(serviceMapDashboard(o), null, 2)}\n` },
    { path: 'prometheus/skein-scrape.yaml', content: prometheusScrape(o) },
  ];
  if (o.lokiUid !== undefined) {
    files.push({ path: LOKI_PROVISIONING_SNIPPET, content: lokiProvisioningSnippet(o) }, { path: LOKI_UI_SNIPPET, content: lokiUiSnippet(o) });
  }
  return files;
}

export interface ProvisionFlags extends CredentialFlags {
  out: string;
  /** None: the local Skein's address (local-server.ts). */
  skeinUrl?: string;
  datasourceName: string;
  datasourceUid: string;
  lokiUrl: string;
  prometheusUrl: string;
  lokiUid?: string;
  prometheusUid?: string;
  dashboardsPath?: string;
  hotPath?: string[];
  lokiServiceLabel: string;
}

export interface Provisioned {
  /** Every file written, data sources first. */
  paths: string[];
  /** One line saying what was written and what it points at. */
  summary: string;
  /** The file holding a credential in clear (mode 0600), if any. */
  privateFile: string | undefined;
}

export function provision(flags: ProvisionFlags): Provisioned {
  const out = resolve(flags.out);
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
    if (!isDir) throw new ProvisionError(`--out ${flags.out} exists and is not a directory`);
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
  }
  const hotPaths = flags.hotPath && flags.hotPath.length > 0 ? flags.hotPath : DEFAULT_HOT_PATHS;
  for (const name of hotPaths) if (name.trim() === '') throw new ProvisionError('--hot-path must not be empty');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(flags.lokiServiceLabel)) {
    throw new ProvisionError(`--loki-service-label ${JSON.stringify(flags.lokiServiceLabel)} is not a Loki label name (letters, digits and _, not starting with a digit)`);
  }
  const dashboardsPath = flags.dashboardsPath ?? join(out, 'dashboards', 'skein');
  if (!dashboardsPath.startsWith('/')) throw new ProvisionError(`--dashboards-path ${JSON.stringify(dashboardsPath)} must be absolute: Grafana resolves it on its own host`);
  const skeinUrl = httpUrl('--skein-url', flags.skeinUrl ?? localSkein().api);
  const datasourceName = flags.datasourceName.trim();
  if (datasourceName === '') throw new ProvisionError('--datasource-name must not be empty');
  const datasourceUid = uid('--datasource-uid', flags.datasourceUid);
  const lokiUid = flags.lokiUid === undefined ? undefined : uid('--loki-uid', flags.lokiUid);
  const prometheusUid = flags.prometheusUid === undefined ? undefined : uid('--prometheus-uid', flags.prometheusUid);
  // Grafana refuses two data sources of the same name or UID.
  const others = [
    { kind: 'Loki', uid: lokiUid ?? LOKI_UID, name: lokiUid === undefined ? 'Skein Loki' : undefined },
    { kind: 'Prometheus', uid: prometheusUid ?? PROMETHEUS_UID, name: prometheusUid === undefined ? 'Skein Prometheus' : undefined },
  ];
  for (const other of others) {
    if (other.uid === datasourceUid) throw new ProvisionError(`--datasource-uid ${JSON.stringify(datasourceUid)} is the UID of the ${other.kind} data source: give Skein's another`);
    if (other.name === datasourceName) throw new ProvisionError(`--datasource-name ${JSON.stringify(datasourceName)} is the name of the ${other.kind} data source provisioned beside it: give Skein's another`);
  }
  let auth: DatasourceAuth;
  try {
    auth = datasourceAuth(flags, skeinUrl.startsWith('https:'));
  } catch (err) {
    if (err instanceof CredentialError) throw new ProvisionError(err.message);
    throw err;
  }
  const options: ProvisionOptions = {
    skeinUrl,
    datasourceName,
    datasourceUid,
    lokiUrl: httpUrl('--loki-url', flags.lokiUrl),
    prometheusUrl: httpUrl('--prometheus-url', flags.prometheusUrl),
    lokiUid,
    prometheusUid,
    dashboardsPath,
    hotPaths,
    lokiServiceLabel: flags.lokiServiceLabel,
    auth,
  };
  const files = provisioningFiles(options);
  const written: Provisioned = { paths: [], summary: summarize(out, files, options), privateFile: undefined };
  for (const f of files) {
    const path = join(out, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    if (auth.holdsSecret && f.path === DATASOURCES_FILE) {
      // A credential in clear: readable by its owner only, even when the file was there before.
      chmodSync(path, 0o600);
      written.privateFile = path;
    }
    written.paths.push(path);
  }
  return written;
}

function summarize(out: string, files: ProvisionFile[], o: ProvisionOptions): string {
  const loki = o.lokiUid === undefined ? `Loki ${o.lokiUrl} (uid ${LOKI_UID})` : `your Loki (uid ${o.lokiUid}, derived field to add: ${LOKI_PROVISIONING_SNIPPET} or ${LOKI_UI_SNIPPET})`;
  const prometheus = o.prometheusUid === undefined ? `Prometheus ${o.prometheusUrl} (uid ${PROMETHEUS_UID})` : `your Prometheus (uid ${o.prometheusUid})`;
  return `wrote ${files.length} files to ${out} (${files.map((f) => f.path).join(', ')}): data source "${o.datasourceName}" (type tempo, uid ${o.datasourceUid}) at ${o.skeinUrl}, linked to ${loki} and ${prometheus}`;
}

export function registerGrafanaCommands(program: Command, fail: (message: string) => Error): void {
  const grafana = program.command('grafana').description('connect Grafana to Skein');
  grafana
    .command('provision')
    .description('write Grafana provisioning files: Skein as a Tempo data source linked to Loki and Prometheus, and a service-map dashboard')
    .requiredOption('--out <dir>', "output directory, e.g. Grafana's /etc/grafana/provisioning")
    .option('--skein-url <url>', `Skein's query API as Grafana reaches it (default: ${LOCAL_API_HELP})`)
    .option('--datasource-name <name>', 'the name of the Tempo data source that is Skein, as your dashboards name it', TEMPO_NAME)
    .option('--datasource-uid <uid>', 'its UID, as your dashboards and links refer to it (e.g. tempo)', TEMPO_UID)
    .option('--loki-url <url>', 'Loki as Grafana reaches it', 'http://127.0.0.1:3100')
    .option('--prometheus-url <url>', "a Prometheus that scrapes Skein's /metrics, as Grafana reaches it", 'http://127.0.0.1:9090')
    .option('--loki-uid <uid>', 'use this existing Loki data source instead of provisioning one (writes the derived field to merge into it)')
    .option('--prometheus-uid <uid>', 'use this existing Prometheus data source instead of provisioning one')
    .option('--dashboards-path <dir>', "where Grafana will read the dashboard JSON (default <out>/dashboards/skein)")
    .option('--hot-path <span-name>', 'a span name to give a table of recent traces (repeatable; default the reference service\'s four)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--loki-service-label <label>', 'the Loki label holding the service name', 'service_name')
    .option('--token <token>', "a bearer token (read right) Grafana sends to Skein, written to the data source's secureJsonData")
    .option('--token-env <var>', "instead of --token: the variable of Grafana's environment holding the token, expanded by Grafana")
    .option('--tenant <id>', "the tenant Grafana reads (X-Scope-OrgID); a|b for several")
    .option('--ca-file <file>', "PEM file of the CA that signed Skein's certificate (https:// --skein-url)")
    .option('--cert-file <file>', 'PEM client certificate Grafana presents to Skein (mTLS)')
    .option('--key-file <file>', "the client certificate's PEM key")
    .option('--basic-auth-user <user>', 'basic auth instead of a token: the user')
    .option('--basic-auth-password <password>', "the user's password, written to secureJsonData")
    .option('--basic-auth-password-env <var>', "instead of --basic-auth-password: the variable of Grafana's environment holding it")
    .action((opts: ProvisionFlags) => {
      try {
        const { summary, privateFile } = provision(opts);
        console.log(summary);
        if (privateFile !== undefined) {
          console.error(
            `${privateFile} holds a credential and is readable by its owner only: make Grafana's user its owner (chown), or pass the secret through Grafana's environment (--token-env, --basic-auth-password-env)`,
          );
        }
      } catch (err) {
        if (err instanceof ProvisionError) throw fail(err.message);
        throw err;
      }
    });
}
