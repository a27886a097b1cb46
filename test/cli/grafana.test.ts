// `skein grafana provision`, run as a user runs it, and its files checked the
// way Grafana reads them: the provisioning schema (apiVersion, required keys,
// UIDs), Grafana's environment-variable expansion, every data source UID a
// file refers to, the dashboard's panels, and — against a running Skein —
// every metric the dashboard plots exists on /metrics and every TraceQL query
// it runs is accepted by /api/search. The Loki derived field's regex is tried
// on a log line written by @skein/instrument's logger, on JSON with any spacing
// and on logfmt; the snippet for an existing Loki comes in both forms (provisioning
// file, escaped; Grafana's UI, not); --datasource-name/--datasource-uid and
// SKEIN_HTTP_ADDR are followed; a one-line summary says what was written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger, initTracing, withSpan } from '@skein/instrument';
import { CLI_PATH, startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { TRACE_ID_MATCHER } from '../../src/cli/grafana.js';
import { createTestPki } from '../helpers/certs.js';

const run = promisify(execFile);

async function skein(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * What Grafana does to a provisioning file's values before using them
 * (pkg/services/provisioning/values): split on `$$`, expand `$NAME` and
 * `${NAME}` from the environment in each part, join with a literal `$`.
 */
function grafanaInterpolate(value: unknown, env: Record<string, string> = {}): unknown {
  if (typeof value === 'string') {
    return value
      .split('$$')
      .map((part) => part.replace(/\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (_m, a?: string, b?: string) => env[a ?? b ?? ''] ?? ''))
      .join('$');
  }
  if (Array.isArray(value)) return value.map((v) => grafanaInterpolate(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, grafanaInterpolate(v, env)]));
  return value;
}

// Parsed YAML and JSON of unknown shape, checked key by key below.
type Obj = Record<string, any>;

const UID = /^[A-Za-z0-9_-]{1,40}$/;
const DATASOURCE_TYPES = new Set(['tempo', 'loki', 'prometheus']);
const PANEL_TYPES = new Set(['row', 'nodeGraph', 'table', 'timeseries']);

/** A data source provisioning file as Grafana validates it; returns the data sources by UID. */
function checkDatasources(file: Obj, external: Record<string, string> = {}): Map<string, Obj> {
  assert.equal(file['apiVersion'], 1);
  const list = file['datasources'] as Obj[];
  assert.ok(Array.isArray(list) && list.length > 0);
  const byUid = new Map<string, Obj>();
  const names = new Set<string>();
  for (const ds of list) {
    assert.equal(typeof ds['name'], 'string', 'a data source needs a name');
    assert.ok(!names.has(ds['name']), `unique name ${ds['name']}`);
    names.add(ds['name']);
    assert.ok(DATASOURCE_TYPES.has(ds['type']), `type ${ds['type']}`);
    assert.match(ds['uid'], UID);
    assert.ok(!byUid.has(ds['uid']), `unique uid ${ds['uid']}`);
    assert.equal(ds['access'], 'proxy');
    assert.match(new URL(ds['url']).protocol, /^https?:$/);
    assert.equal(typeof ds['jsonData'], 'object');
    byUid.set(ds['uid'], ds);
  }
  assert.ok(list.filter((ds) => ds['isDefault'] === true).length <= 1);
  // Every datasourceUid anywhere in jsonData names a provisioned data source or one the user said exists.
  const refs: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === 'datasourceUid' ? refs.push(String(x)) : walk(x);
  };
  list.forEach((ds) => walk(ds['jsonData']));
  for (const r of refs) assert.ok(byUid.has(r) || r in external, `datasourceUid ${r} refers to a data source`);
  return byUid;
}

interface Dashboard {
  json: Obj;
  panels: Obj[];
}

function checkDashboard(json: Obj, uids: Map<string, string>): Dashboard {
  assert.match(json['uid'], UID);
  assert.equal(typeof json['title'], 'string');
  assert.equal(typeof json['schemaVersion'], 'number');
  assert.equal(json['id'], undefined, 'a provisioned dashboard has no database id');
  const panels = json['panels'] as Obj[];
  assert.ok(Array.isArray(panels) && panels.length > 0);
  const ids = new Set<number>();
  const cells = new Set<string>();
  for (const p of panels) {
    assert.ok(Number.isInteger(p['id']) && p['id'] > 0 && !ids.has(p['id']), `panel id ${p['id']}`);
    ids.add(p['id']);
    assert.ok(PANEL_TYPES.has(p['type']), `panel type ${p['type']}`);
    assert.equal(typeof p['title'], 'string');
    const { x, y, w, h } = p['gridPos'] as { x: number; y: number; w: number; h: number };
    assert.ok([x, y, w, h].every(Number.isInteger) && x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, `${p['title']}: gridPos ${JSON.stringify(p['gridPos'])}`);
    for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
      assert.ok(!cells.has(`${i},${j}`), `${p['title']} overlaps another panel at ${i},${j}`);
      cells.add(`${i},${j}`);
    }
    if (p['type'] === 'row') continue;
    const ds = p['datasource'] as { type: string; uid: string };
    assert.equal(uids.get(ds.uid), ds.type, `${p['title']}: data source ${JSON.stringify(ds)} is provisioned with that type`);
    const targets = p['targets'] as Obj[];
    assert.ok(Array.isArray(targets) && targets.length > 0, `${p['title']} has targets`);
    const refIds = targets.map((t) => t['refId']);
    assert.equal(new Set(refIds).size, refIds.length, `${p['title']}: refIds unique`);
    for (const t of targets) {
      assert.deepEqual(t['datasource'], ds);
      if (ds.type === 'prometheus') assert.equal(typeof t['expr'], 'string');
      if (ds.type === 'tempo') assert.ok(['serviceMap', 'traceql'].includes(t['queryType']), `queryType ${t['queryType']}`);
    }
  }
  return { json, panels };
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:skein|traces)_[a-z_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

describe('skein grafana provision', () => {
  let skeinProcess: SkeinProcess;
  let out: string;
  let summary: string;

  before(async () => {
    skeinProcess = await startSkein();
    out = join(tempDir('skein-grafana-'), 'provisioning');
    const r = await skein(['grafana', 'provision', '--out', out, '--skein-url', 'http://skein.internal:3200', '--loki-url', 'http://loki:3100', '--prometheus-url', 'http://prometheus:9090/']);
    assert.equal(r.code, 0, r.stderr);
    summary = r.stdout;
  });

  after(async () => {
    await skeinProcess?.stop();
  });

  test('writes the data sources, the dashboard provider, the dashboard and the Prometheus scrape job, and says so in one line', () => {
    const files = ['datasources/skein.yaml', 'dashboards/skein.yaml', 'dashboards/skein/skein-service-map.json', 'prometheus/skein-scrape.yaml'];
    for (const f of files) assert.ok(existsSync(join(out, f)), f);
    assert.deepEqual(readdirSync(out).sort(), ['dashboards', 'datasources', 'prometheus']);
    assert.equal(
      summary,
      `wrote 4 files to ${out} (${files.join(', ')}): data source "Skein" (type tempo, uid skein-tempo) at http://skein.internal:3200, linked to Loki http://loki:3100 (uid skein-loki) and Prometheus http://prometheus:9090 (uid skein-prometheus)\n`,
    );
  });

  test('data sources: Tempo at Skein linked to Loki (traces to logs) and Prometheus (service map); Loki links trace_id back', () => {
    const raw = parseYaml(readFileSync(join(out, 'datasources/skein.yaml'), 'utf8')) as Obj;
    // Grafana sees the values after its own variable expansion, even with variables of the same names in its environment.
    const file = grafanaInterpolate(raw, { __tags: 'WRONG', __value: 'WRONG' }) as Obj;
    const byUid = checkDatasources(file);
    const tempo = [...byUid.values()].find((d) => d['type'] === 'tempo')!;
    const loki = [...byUid.values()].find((d) => d['type'] === 'loki')!;
    const prom = [...byUid.values()].find((d) => d['type'] === 'prometheus')!;
    assert.equal(tempo['url'], 'http://skein.internal:3200');
    assert.equal(loki['url'], 'http://loki:3100');
    assert.equal(prom['url'], 'http://prometheus:9090');
    const j = tempo['jsonData'];
    assert.equal(j.tracesToLogsV2.datasourceUid, loki['uid']);
    assert.equal(j.tracesToLogsV2.query, '{${__tags}} |= "${__trace.traceId}"');
    assert.deepEqual(j.tracesToLogsV2.tags, [{ key: 'service.name', value: 'service_name' }]);
    assert.equal(j.serviceMap.datasourceUid, prom['uid']);
    assert.equal(j.tracesToMetrics.queries[0].query, 'sum(rate(traces_spanmetrics_calls_total{$__tags, span_name="${__span.name}"}[5m]))');
    assert.deepEqual(j.streamingEnabled, { search: false, metrics: false });
    const [field] = loki['jsonData'].derivedFields as Obj[];
    assert.equal(field!['datasourceUid'], tempo['uid']);
    assert.equal(field!['matcherRegex'], TRACE_ID_MATCHER);
    assert.equal(field!['url'], '${__value.raw}');
  });

  test("the derived field's regex finds the trace ID in a JSON log line of @skein/instrument", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const logger = createLogger({ name: 'grafana-test', format: 'json', destination });
    const tracing = initTracing({ serviceName: 'grafana-test', serviceVersion: '1', exporter: new InMemorySpanExporter(), logger });
    const traceId = await withSpan('log.something', {}, (span) => {
      logger.info({ user: 'j***@example.com' }, 'inside a span');
      return span.spanContext().traceId;
    });
    await tracing.shutdown();
    const raw = parseYaml(readFileSync(join(out, 'datasources/skein.yaml'), 'utf8')) as Obj;
    const loki = (raw['datasources'] as Obj[]).find((d) => d['type'] === 'loki')!;
    // Grafana compiles the matcher as a JavaScript regular expression and links the first group.
    const m = new RegExp(loki['jsonData'].derivedFields[0].matcherRegex).exec(lines.join(''));
    assert.equal(m?.[1], traceId);
  });

  test('dashboard provider: a file provider whose path holds the dashboard JSON', () => {
    const file = parseYaml(readFileSync(join(out, 'dashboards/skein.yaml'), 'utf8')) as Obj;
    assert.equal(file['apiVersion'], 1);
    const [p] = file['providers'] as Obj[];
    assert.equal(typeof p!['name'], 'string');
    assert.equal(p!['type'], 'file');
    assert.ok(isAbsolute(p!['options'].path));
    assert.ok(existsSync(join(p!['options'].path, 'skein-service-map.json')));
  });

  test('dashboard: a node graph, a table per hot path, hot-path rates and Skein ingest and queue panels, all on provisioned data sources', async () => {
    const ds = checkDatasources(parseYaml(readFileSync(join(out, 'datasources/skein.yaml'), 'utf8')) as Obj);
    const uids = new Map([...ds.values()].map((d) => [d['uid'] as string, d['type'] as string]));
    const { panels } = checkDashboard(JSON.parse(readFileSync(join(out, 'dashboards/skein/skein-service-map.json'), 'utf8')) as Obj, uids);
    const nodeGraph = panels.filter((p) => p['type'] === 'nodeGraph');
    assert.equal(nodeGraph.length, 1);
    assert.equal(nodeGraph[0]!['targets'][0].queryType, 'serviceMap');
    const tables = panels.filter((p) => p['type'] === 'table');
    assert.deepEqual(
      tables.map((t) => t['targets'][0].query),
      ['{ name = "auth.login" }', '{ name = "track.upload.initiate" }', '{ name = "payment.webhook" }', '{ name = "search.query" }'],
    );
    const exprs = panels.flatMap((p) => (p['targets'] as Obj[] | undefined) ?? []).flatMap((t) => (t['expr'] ? [t['expr'] as string] : []));
    const plotted = new Set(exprs.flatMap(metricNames));
    for (const m of ['skein_receiver_accepted_spans_total', 'skein_head_spans', 'skein_exporter_queue_size', 'skein_tail_sampling_buffered_spans', 'traces_spanmetrics_calls_total']) {
      assert.ok(plotted.has(m), `${m} is plotted`);
    }

    // Against a running Skein: each metric is exposed, each TraceQL query is accepted.
    const metrics = await (await fetch(`${skeinProcess.url}/metrics`)).text();
    for (const m of plotted) assert.match(metrics, new RegExp(`^# TYPE ${m} `, 'm'), `${m} is on Skein's /metrics`);
    for (const t of tables) {
      const res = await fetch(`${skeinProcess.url}/api/search?${new URLSearchParams({ q: t['targets'][0].query })}`);
      assert.equal(res.status, 200, `${t['targets'][0].query}: ${await res.text()}`);
    }
  });

  test('the Prometheus scrape job targets Skein as Grafana reaches it', () => {
    const file = parseYaml(readFileSync(join(out, 'prometheus/skein-scrape.yaml'), 'utf8')) as Obj;
    const [job] = file['scrape_configs'] as Obj[];
    assert.equal(job!['metrics_path'], '/metrics');
    assert.deepEqual(job!['static_configs'], [{ targets: ['skein.internal:3200'] }]);
  });

  test('with existing Loki and Prometheus data sources: links to them and writes the derived field to merge', async () => {
    const dir = tempDir('skein-grafana-');
    const r = await skein(['grafana', 'provision', '--out', dir, '--loki-uid', 'my-loki', '--prometheus-uid', 'my-prom', '--hot-path', 'checkout', '--dashboards-path', '/var/lib/grafana/dashboards/skein']);
    assert.equal(r.code, 0, r.stderr);
    const file = grafanaInterpolate(parseYaml(readFileSync(join(dir, 'datasources/skein.yaml'), 'utf8'))) as Obj;
    const byUid = checkDatasources(file, { 'my-loki': 'loki', 'my-prom': 'prometheus' });
    assert.deepEqual([...byUid.keys()], ['skein-tempo']);
    assert.equal(byUid.get('skein-tempo')!['jsonData'].tracesToLogsV2.datasourceUid, 'my-loki');
    assert.equal(byUid.get('skein-tempo')!['jsonData'].serviceMap.datasourceUid, 'my-prom');
    const field = {
      name: 'TraceID',
      matcherType: 'regex',
      matcherRegex: TRACE_ID_MATCHER,
      datasourceUid: 'skein-tempo',
      url: '${__value.raw}',
      urlDisplayLabel: 'Open trace in Skein',
    };
    // For a provisioning file: what Grafana reads after its expansion is the field; as written, the $ is doubled.
    const provisioningText = readFileSync(join(dir, 'loki-derived-fields.yaml'), 'utf8');
    assert.match(provisioningText, /^# FOR A PROVISIONING FILE\./);
    assert.deepEqual((grafanaInterpolate(parseYaml(provisioningText), { __value: 'WRONG' }) as Obj)['derivedFields'][0], field);
    assert.equal((parseYaml(provisioningText) as Obj)['derivedFields'][0].url, '$${__value.raw}');
    // For the UI: the same values, unescaped, labelled as the form labels them.
    const ui = readFileSync(join(dir, 'loki-derived-fields-ui.txt'), 'utf8');
    assert.match(ui, /^FOR GRAFANA'S UI\./);
    assert.ok(!ui.includes('$$'), ui);
    const uiField = (label: string) => new RegExp(`^ {2}${label} +(.*)$`, 'm').exec(ui)?.[1];
    assert.equal(uiField('Name'), field.name);
    assert.equal(uiField('Type'), 'Regex in log line');
    assert.equal(uiField('Regex'), field.matcherRegex);
    assert.equal(uiField('Query'), field.url);
    assert.equal(uiField('URL Label'), field.urlDisplayLabel);
    assert.equal(uiField('Internal link'), 'on, data source "Skein" (uid skein-tempo)');
    assert.match(r.stdout, /linked to your Loki \(uid my-loki, derived field to add: loki-derived-fields\.yaml or loki-derived-fields-ui\.txt\) and your Prometheus \(uid my-prom\)\n$/);
    const providers = parseYaml(readFileSync(join(dir, 'dashboards/skein.yaml'), 'utf8')) as Obj;
    assert.equal(providers['providers'][0].options.path, '/var/lib/grafana/dashboards/skein');
    const { panels } = checkDashboard(JSON.parse(readFileSync(join(dir, 'dashboards/skein/skein-service-map.json'), 'utf8')) as Obj, new Map([['skein-tempo', 'tempo'], ['my-prom', 'prometheus']]));
    assert.deepEqual(panels.filter((p) => p['type'] === 'table').map((p) => p['targets'][0].query), ['{ name = "checkout" }']);
  });

  test('credentials: the Tempo data source sends the token and the tenant as headers, trusts the CA and presents the client certificate; the secrets only in secureJsonData, the file 0600, nothing printed', async () => {
    const pki = await createTestPki();
    const dir = tempDir('skein-grafana-');
    // A `$` in a token must reach Grafana as written, not as a variable of its environment.
    const token = 'grafana-read-token-$HOME-0123456789';
    const r = await skein(
      ['grafana', 'provision', '--out', dir, '--skein-url', 'https://skein.internal:3200', '--token', token, '--tenant', 'team-a|team-b',
        '--ca-file', pki.ca.certFile, '--cert-file', pki.client.certFile, '--key-file', pki.client.keyFile],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(token) && !r.stderr.includes('0123456789'), 'the token is not printed');
    const file = join(dir, 'datasources/skein.yaml');
    assert.match(r.stderr, new RegExp(`^${file} holds a credential and is readable by its owner only`));
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const byUid = checkDatasources(grafanaInterpolate(parseYaml(readFileSync(file, 'utf8')), { HOME: 'WRONG' }) as Obj);
    const tempo = byUid.get('skein-tempo')!;
    assert.equal(tempo['url'], 'https://skein.internal:3200');
    assert.deepEqual(
      Object.fromEntries(Object.entries(tempo['jsonData'] as Obj).filter(([k]) => /^(httpHeaderName|tls)/.test(k))),
      { httpHeaderName1: 'Authorization', httpHeaderName2: 'X-Scope-OrgID', tlsAuthWithCACert: true, tlsAuth: true },
    );
    assert.deepEqual(tempo['secureJsonData'], {
      httpHeaderValue1: `Bearer ${token}`,
      httpHeaderValue2: 'team-a|team-b',
      tlsCACert: pki.ca.cert,
      tlsClientCert: pki.client.cert,
      tlsClientKey: pki.client.key,
    });
    for (const ds of byUid.values()) if (ds['uid'] !== 'skein-tempo') assert.equal(ds['secureJsonData'], undefined, `${ds['uid']} gets no credential`);
    // The token is in the data source file once, and in no other file.
    const secret = '0123456789';
    assert.equal(readFileSync(file, 'utf8').split(secret).length - 1, 1);
    const others = [join(dir, 'dashboards/skein.yaml'), join(dir, 'dashboards/skein/skein-service-map.json'), join(dir, 'prometheus/skein-scrape.yaml')];
    for (const f of others) assert.ok(!readFileSync(f, 'utf8').includes(secret), `${f} holds no token`);
    assert.deepEqual(readdirSync(join(dir, 'datasources')), ['skein.yaml']);

    // Prometheus scrapes Skein over https with the CA, and a token of its own from a file.
    const [job] = (parseYaml(readFileSync(join(dir, 'prometheus/skein-scrape.yaml'), 'utf8')) as Obj)['scrape_configs'] as Obj[];
    assert.equal(job!['scheme'], 'https');
    assert.deepEqual(job!['tls_config'], { ca_file: pki.ca.certFile });
    assert.deepEqual(job!['authorization'], { type: 'Bearer', credentials_file: '/etc/prometheus/skein-token' });
  });

  test("credentials from Grafana's environment: --token-env and --basic-auth-password-env write references Grafana expands, and no secret", async () => {
    const bearer = tempDir('skein-grafana-');
    const r = await skein(['grafana', 'provision', '--out', bearer, '--token-env', 'SKEIN_GRAFANA_TOKEN', '--tenant', 'team-a']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const file = join(bearer, 'datasources/skein.yaml');
    assert.notEqual(statSync(file).mode & 0o077, 0, 'no secret: the file keeps the usual mode');
    const tempo = checkDatasources(grafanaInterpolate(parseYaml(readFileSync(file, 'utf8')), { SKEIN_GRAFANA_TOKEN: 'from-grafana-env' }) as Obj).get('skein-tempo')!;
    assert.deepEqual(tempo['secureJsonData'], { httpHeaderValue1: 'Bearer from-grafana-env', httpHeaderValue2: 'team-a' });
    assert.equal(tempo['jsonData'].httpHeaderName1, 'Authorization');
    assert.equal(tempo['jsonData'].httpHeaderName2, 'X-Scope-OrgID');

    const basic = tempDir('skein-grafana-');
    const b = await skein(['grafana', 'provision', '--out', basic, '--basic-auth-user', 'grafana', '--basic-auth-password-env', 'SKEIN_GRAFANA_PASSWORD']);
    assert.equal(b.code, 0, b.stderr);
    const ds = checkDatasources(grafanaInterpolate(parseYaml(readFileSync(join(basic, 'datasources/skein.yaml'), 'utf8')), { SKEIN_GRAFANA_PASSWORD: 'pw' }) as Obj).get('skein-tempo')!;
    assert.equal(ds['basicAuth'], true);
    assert.equal(ds['basicAuthUser'], 'grafana');
    assert.deepEqual(ds['secureJsonData'], { basicAuthPassword: 'pw' });
    const [job] = (parseYaml(readFileSync(join(basic, 'prometheus/skein-scrape.yaml'), 'utf8')) as Obj)['scrape_configs'] as Obj[];
    assert.equal(job!['scheme'], undefined);
    assert.deepEqual(Object.keys(job!['basic_auth']), ['username', 'password_file']);
  });

  test('--datasource-name and --datasource-uid name the Tempo data source everywhere it is referred to', async () => {
    const dir = tempDir('skein-grafana-');
    const r = await skein(['grafana', 'provision', '--out', dir, '--datasource-name', 'Tempo', '--datasource-uid', 'tempo', '--loki-uid', 'my-loki']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: data source "Tempo" \(type tempo, uid tempo\) at /);
    const byUid = checkDatasources(grafanaInterpolate(parseYaml(readFileSync(join(dir, 'datasources/skein.yaml'), 'utf8'))) as Obj, { 'my-loki': 'loki' });
    assert.deepEqual([...byUid.keys()], ['tempo', 'skein-prometheus']);
    assert.equal(byUid.get('tempo')!['name'], 'Tempo');
    const uids = new Map([...byUid.values()].map((d) => [d['uid'] as string, d['type'] as string]));
    const { panels } = checkDashboard(JSON.parse(readFileSync(join(dir, 'dashboards/skein/skein-service-map.json'), 'utf8')) as Obj, uids);
    const tempoPanels = panels.filter((p) => p['datasource']?.type === 'tempo');
    assert.ok(tempoPanels.length > 0 && tempoPanels.every((p) => p['datasource'].uid === 'tempo'));
    const snippet = grafanaInterpolate(parseYaml(readFileSync(join(dir, 'loki-derived-fields.yaml'), 'utf8'))) as Obj;
    assert.equal(snippet['derivedFields'][0].datasourceUid, 'tempo');
    assert.match(readFileSync(join(dir, 'loki-derived-fields-ui.txt'), 'utf8'), /^ {2}Internal link +on, data source "Tempo" \(uid tempo\)$/m);
  });

  test('without --skein-url: the address SKEIN_HTTP_ADDR gives, as skein serve reads it (a wildcard host is this host)', async () => {
    const dir = tempDir('skein-grafana-');
    const r = await skein(['grafana', 'provision', '--out', dir], { SKEIN_HTTP_ADDR: '0.0.0.0:3300' });
    assert.equal(r.code, 0, r.stderr);
    const tempo = checkDatasources(parseYaml(readFileSync(join(dir, 'datasources/skein.yaml'), 'utf8')) as Obj).get('skein-tempo')!;
    assert.equal(tempo['url'], 'http://127.0.0.1:3300');
    assert.match(r.stdout, / at http:\/\/127\.0\.0\.1:3300, /);
    const [job] = (parseYaml(readFileSync(join(dir, 'prometheus/skein-scrape.yaml'), 'utf8')) as Obj)['scrape_configs'] as Obj[];
    assert.deepEqual(job!['static_configs'], [{ targets: ['127.0.0.1:3300'] }]);
  });

  test('bad options are refused with what is wrong, and nothing is written', async () => {
    const file = join(tempDir('skein-grafana-'), 'a-file');
    writeFileSync(file, 'x');
    const cases: Array<[string[], RegExp]> = [
      [[], /required option '--out <dir>' not specified/],
      [['--out', file], /--out .*a-file exists and is not a directory/],
      [['--out', tempDir(), '--skein-url', 'skein:3200'], /--skein-url "skein:3200" is not an http:\/\/ or https:\/\/ URL/],
      [['--out', tempDir(), '--loki-url', 'not a url'], /--loki-url "not a url" is not a URL/],
      [['--out', tempDir(), '--loki-uid', 'has spaces'], /--loki-uid "has spaces" is not a Grafana UID/],
      [['--out', tempDir(), '--dashboards-path', 'relative/dir'], /--dashboards-path "relative\/dir" must be absolute/],
      [['--out', tempDir(), '--loki-service-label', 'service.name'], /--loki-service-label "service.name" is not a Loki label name/],
      [['--out', tempDir(), '--token', 'a-token-of-16-chars', '--token-env', 'T'], /give --token or --token-env, not both/],
      [['--out', tempDir(), '--token', 'Bearer abc'], /--token must be printable ASCII without spaces/],
      [['--out', tempDir(), '--token-env', '1TOKEN'], /--token-env "1TOKEN" is not an environment variable name/],
      [['--out', tempDir(), '--token', 'a-token-of-16-chars', '--basic-auth-user', 'u', '--basic-auth-password', 'p'], /a bearer token and basic auth both use the Authorization header/],
      [['--out', tempDir(), '--basic-auth-user', 'u'], /--basic-auth-user needs one of --basic-auth-password or --basic-auth-password-env/],
      [['--out', tempDir(), '--basic-auth-password', 'p'], /--basic-auth-password needs --basic-auth-user/],
      [['--out', tempDir(), '--tenant', 'team a'], /--tenant "team a": X-Scope-OrgID: invalid tenant ID "team a"/],
      [['--out', tempDir(), '--tenant', 'a||b'], /--tenant "a\|\|b": an empty tenant ID/],
      [['--out', tempDir(), '--ca-file', '/etc/hostname'], /--ca-file is for an https:\/\/ --skein-url/],
      [['--out', tempDir(), '--skein-url', 'https://skein:3200', '--ca-file', '/nonexistent/ca.pem'], /--ca-file \/nonexistent\/ca.pem: cannot read it \(ENOENT\)/],
      [['--out', tempDir(), '--skein-url', 'https://skein:3200', '--ca-file', CLI_PATH], /--ca-file .*main\.js is not a PEM certificate/],
      [['--out', tempDir(), '--skein-url', 'https://skein:3200', '--cert-file', CLI_PATH], /--cert-file and --key-file go together/],
      [['--out', tempDir(), '--datasource-uid', 'tempo uid'], /--datasource-uid "tempo uid" is not a Grafana UID/],
      [['--out', tempDir(), '--datasource-uid', 'skein-loki'], /--datasource-uid "skein-loki" is the UID of the Loki data source: give Skein's another/],
      [['--out', tempDir(), '--prometheus-uid', 'tempo', '--datasource-uid', 'tempo'], /--datasource-uid "tempo" is the UID of the Prometheus data source/],
      [['--out', tempDir(), '--datasource-name', 'Skein Prometheus'], /--datasource-name "Skein Prometheus" is the name of the Prometheus data source provisioned beside it/],
      [['--out', tempDir(), '--datasource-name', ' '], /--datasource-name must not be empty/],
    ];
    const results = await Promise.all(cases.map(([args]) => skein(['grafana', 'provision', ...args])));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      if (args[0] === '--out' && args[1] !== file) assert.deepEqual(readdirSync(args[1]!), [], `${args.join(' ')}: nothing written`);
    }
  });
});

describe("the Loki derived field's regex", () => {
  // Grafana compiles matcherRegex as a JavaScript regular expression and links its first group.
  const id = '5b8efff798038103d269b633813fc60c';
  const match = (line: string) => new RegExp(TRACE_ID_MATCHER).exec(line)?.[1];

  test('finds exactly the trace ID in JSON with any spacing around the colon', () => {
    const lines = [
      `{"level":"info","trace_id":"${id}","span_id":"eee19b7ec3c1b174","msg":"pino, compact"}`,
      `{"level": "info", "trace_id": "${id}", "span_id": "eee19b7ec3c1b174", "msg": "Python json.dumps"}`,
      `{"level" : "info", "trace_id" : "${id}", "msg" : "a space on both sides"}`,
      `{\n  "trace_id":\t"${id}"\n}`,
      `{"trace_id":"${id}"}`,
    ];
    for (const line of lines) assert.equal(match(line), id, line);
  });

  test('finds exactly the trace ID in logfmt, quoted or not, wherever it stands', () => {
    const lines = [
      `time=2026-12-07T10:00:00Z level=info trace_id=${id} span_id=eee19b7ec3c1b174 msg="logfmt"`,
      `level=info msg="quoted" trace_id="${id}"`,
      `trace_id=${id}`,
      `level=info trace_id=${id}`,
    ];
    for (const line of lines) assert.equal(match(line), id, line);
  });

  test('takes no other key and nothing that is not the ID', () => {
    assert.equal(match(`{"parent_trace_id":"${id}","msg":"x"}`), undefined);
    assert.equal(match(`level=info parent_trace_id=${id}`), undefined);
    assert.equal(match('level=info msg="no trace here"'), undefined);
    assert.equal(match('{"trace_id":"not-hex-at-all"}'), undefined);
    assert.equal(match(`level=info trace_id=${id}xyz`), undefined, 'not a prefix of a longer word');
    // The first trace_id key wins, as Grafana takes the first match.
    assert.equal(match(`{"parent_trace_id":"ffffffffffffffffffffffffffffffff","trace_id": "${id}"}`), id);
  });
});
