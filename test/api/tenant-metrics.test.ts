// /metrics for a caller restricted to some tenants: exactly the whole exposition text with the
// other tenants' samples left out, and the samples without a tenant label that mix tenants (the
// connectors', and Tempo's or the collector's names summing tenants up) too; counters, gauges and histograms rendered by prom-client as in the whole text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../src/telemetry/metrics.js';
import { sharedFamily } from '../../src/pipeline/connectors/shared/families.js';
import { metricsTextFor } from '../../src/api/tenant-metrics.js';
import { serveCompat } from '../../src/telemetry/compat-metrics.js';

const stored = new Counter({ name: 'test_stored_total', help: 'Per tenant.', labelNames: ['tenant'], registers: [registry] });
const held = new Gauge({ name: 'test_held', help: 'Per tenant and kind.', labelNames: ['tenant', 'kind'], registers: [registry] });
const latency = new Histogram({ name: 'test_latency_seconds', help: 'Per tenant.', labelNames: ['tenant'], buckets: [0.1, 1], registers: [registry] });
const shared = new Counter({ name: 'test_requests_total', help: 'Of no tenant.', labelNames: ['route'], registers: [registry] });
const mixed = sharedFamily('test_calls_total', 'A connector family without a tenant label.', 'counter');
const labelled = sharedFamily('test_labelled_calls_total', 'A connector family with a tenant label.', 'counter');
mixed.attach({ collect: (out) => out.push({ labels: { service: 'alpha-shop' }, value: 3 }, { labels: { service: 'beta-ledger' }, value: 4 }), reset: () => {} });
labelled.attach({
  collect: (out) => out.push({ labels: { tenant: 'alpha', service: 'alpha-shop' }, value: 3 }, { labels: { tenant: 'beta', service: 'beta-ledger' }, value: 4 }),
  reset: () => {},
});
serveCompat({ name: 'test_compat_stored_total', help: 'Per tenant under another name.', from: { metric: stored, labels: { tenant: 'tenant' } } });
serveCompat({ name: 'test_compat_all_stored_total', help: 'Every tenant added up.', from: { metric: stored } });

for (const t of ['alpha', 'beta', 'gamma']) {
  stored.inc({ tenant: t }, t.length);
  held.set({ tenant: t, kind: 'spans' }, 10 + t.length);
  latency.observe({ tenant: t }, 0.5);
}
shared.inc({ route: '/api/search' });

/** This test's metrics of an exposition text (the process's own change between two scrapes). */
function ours(text: string): string {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('# HELP test_'))
    .join('\n\n');
}

/** The whole text without the sample lines `drop` picks (HELP and TYPE lines stay). */
function without(text: string, drop: (line: string) => boolean): string {
  return text
    .split('\n')
    .filter((l) => l.startsWith('#') || !drop(l))
    .join('\n');
}

test("a caller's /metrics is the whole text less other tenants' samples and the connectors' unlabelled ones", async () => {
  const whole = ours(await registry.metrics());
  const visible = ours(await metricsTextFor(['beta', 'gamma']));
  assert.equal(visible.split('\n\n').length, 8, 'every metric of the test is listed');
  assert.equal(visible, without(whole, (l) => l.includes('tenant="alpha"') || l.startsWith('test_calls_total{') || l.startsWith('test_compat_all_stored_total')));
  assert.match(whole, /^test_compat_all_stored_total 14$/m, 'the sum of every tenant is served to an unrestricted scrape');
  assert.match(visible, /^test_compat_stored_total\{tenant="beta"\} 4$/m, 'a compatible name keeping the tenant label is filtered like its source');
  assert.match(visible, /^test_latency_seconds_bucket\{le="0.1",tenant="beta"\} 0$/m, 'histograms keep their buckets');
  assert.match(visible, /^test_requests_total\{route="\/api\/search"\} 1$/m, 'series of no tenant stay');
  assert.match(visible, /^test_labelled_calls_total\{tenant="beta",service="beta-ledger"\} 4$/m, "the connector's labelled series of the tenant stay");
  assert.doesNotMatch(visible, /alpha/, "nothing of alpha's");
});
