// Several instances of a connector type in one pipeline (`spanmetrics` and
// `spanmetrics/prod`): each observes every span once, with its own config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYamlText, validateConfig } from '../../../src/config/load.js';
import type { ResourceSpans } from '../../../src/otlp/model.js';
import { buildPipeline } from '../../../src/pipeline/build.js';
import { Kind, call, capturingLogger, resource, sampleObject, span, traceId } from './helpers.js';

test('pipeline: every listed connector instance runs once with its own config; the UI reads the first', async (t) => {
  const config = validateConfig(
    parseYamlText(`
connectors:
  spanmetrics:
  spanmetrics/prod:
    dimensions: [deployment.environment]
  servicegraph:
  servicegraph/other:
pipeline:
  processors: []
  connectors: [servicegraph, servicegraph/other, spanmetrics, spanmetrics/prod]
`),
  );
  const delivered: ResourceSpans[][] = [];
  const pipeline = buildPipeline({
    config,
    logger: capturingLogger().logger,
    store: { consume: async (_tenant, batch) => void delivered.push(batch) },
  });
  await pipeline.start();
  t.after(() => pipeline.shutdown());

  const op = resource('web', [span({ trace: traceId(), kind: Kind.INTERNAL, name: 'GET /' })], { 'deployment.environment': 'prod' });
  const { client, server } = call('web', 'api');
  await pipeline.consumer.consume('t', [op, client, server]);
  assert.equal(delivered.length, 1);

  // One call per instance: the default instance's series and prod's, with its dimension.
  const calls = await sampleObject('traces_spanmetrics_calls_total');
  assert.deepEqual(
    Object.entries(calls)
      .filter(([series]) => series.includes('GET /'))
      .sort(),
    [
      ['traces_spanmetrics_calls_total{service="web",span_name="GET /",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET",deployment_environment="prod"}', 1],
      ['traces_spanmetrics_calls_total{service="web",span_name="GET /",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET"}', 1],
    ],
  );
  // Two service-graph instances pair the same request once each: summed on /metrics.
  assert.deepEqual(await sampleObject('traces_service_graph_request_total'), { 'traces_service_graph_request_total{client="web",server="api"}': 2 });
  assert.equal(pipeline.serviceGraph?.pendingHalfEdges, 0, 'no half-edge left behind by a second observation');
  const now = new Date();
  assert.deepEqual(
    pipeline.serviceGraph?.edges(new Date(now.getTime() - 60_000), new Date(now.getTime() + 1000)).map((e) => [e.client, e.server, e.requests]),
    [['web', 'api', 1]],
  );
});
