// Run as a child process by the persistent-queue crash test: an otlp exporter
// with a persistent queue takes batches while its downstream is down, prints
// the trace ID of each batch consume() acknowledged, then keeps retrying
// until it is killed.
// Usage: node crash-child.js <grpc endpoint> <data dir> <exporter name> <batches>
import { toHex } from '../../../../src/otlp/model.js';
import { otlpExporterFactory } from '../../../../src/pipeline/exporters/otlp/index.js';
import { silentLogger } from '../../../../src/telemetry/logger.js';
import { simpleTrace } from '../../../helpers/spans.js';

const [endpoint, dataDir, name, batches] = process.argv.slice(2);
const config = otlpExporterFactory.schema.parse({
  endpoint,
  sending_queue: { persistent: true },
  retry_on_failure: { initial_interval: '20ms', max_interval: '100ms', max_elapsed_time: 0 },
});
const exporter = otlpExporterFactory.create(config, { name: name!, logger: silentLogger, dataDir: dataDir! });
await exporter.start();
for (let i = 0; i < Number(batches); i++) {
  const { traceId, batch } = simpleTrace(4);
  await exporter.consume('team-a', batch);
  process.stdout.write(`${toHex(traceId)}\n`);
}
process.stdout.write('done\n');
setInterval(() => undefined, 60_000);
