// The base's pod run as its StatefulSet runs it, as near as a test without a cluster can:
// Skein started with the rendered ConfigMap's skein.yaml on a root file system made
// read-only (the container's readOnlyRootFilesystem), with only /tmp writable (the
// emptyDir) and the data directory under it (the persistent volume). The listeners are
// moved to loopback by the SKEIN_*_ADDR overrides, as every test server's are. The pod
// becomes ready, takes an error trace from the OpenTelemetry SDK's exporter, keeps it
// through its tail sampling (30 s decision_wait, as deployed), writes it into a block,
// answers /metrics for the ServiceMonitor, and stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startSkein } from '../helpers/skein-process.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';
import { waitFor } from '../helpers/poll.js';
import { READ_ONLY_ROOT, readOnlyRootUnavailable } from '../helpers/namespaces.js';
import { render } from './kubernetes-render.js';



test('the base pod\'s config runs on a read-only root with only /tmp and its data directory writable: ready, keeps an error trace into a block, /metrics, clean stop', { skip: readOnlyRootUnavailable }, async () => {
  const configMap = render('base').find((o) => o['kind'] === 'ConfigMap')!;
  const skein = await startSkein({ configYaml: configMap['data']['skein.yaml'] as string, wrap: READ_ONLY_ROOT });
  try {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }))],
    });
    const span = provider.getTracer('skein-k8s-test').startSpan('POST /checkout');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    const traceId = span.spanContext().traceId;

    // The `errors` policy keeps it once decision_wait has passed; it is then in the head…
    await waitFor(`trace ${traceId} kept by tail sampling`, async () => (await fetch(`${skein.url}/api/traces/${traceId}`)).status === 200, 120_000, 500);
    // …and, cut into a block (the query engine spilling to /tmp if it must), still there.
    const flush = await fetch(`${skein.url}/flush`, { method: 'POST' });
    assert.equal(flush.status, 204, await flush.text());
    assert.equal((await fetch(`${skein.url}/api/traces/${traceId}`)).status, 200);

    const metrics = await metricsText(skein);
    assert.ok(metricValue(metrics, 'skein_memory_limiter_usage_bytes', { processor: 'memory_limiter' }) > 0, 'the memory_limiter measures the process');
  } finally {
    assert.equal(await skein.stop(), 0, `a clean stop on SIGTERM:\n${skein.logs.filter((l) => l['level'] !== 'info').map((l) => JSON.stringify(l)).join('\n')}`);
  }
  assert.deepEqual(skein.logs.filter((l) => /EROFS|read-only file system/i.test(JSON.stringify(l))), [], 'nothing tried to write outside /tmp');
});
