// The `store` exporter: the end of the pipeline when Skein keeps the spans itself.
import type { ResourceSpans } from '../../otlp/model.js';
import type { Store } from '../../store/store.js';
import type { TracesConsumer } from '../consumer.js';

export function createStoreExporter(store: Store): TracesConsumer {
  return {
    consume: (tenant: string, batch: ResourceSpans[]) => store.append(tenant, batch),
  };
}
