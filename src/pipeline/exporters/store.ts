// The `store` exporter: the end of the pipeline when Skein keeps the spans itself. What the
// store refuses under a tenant's limits goes back up the pipeline to the receiver.
import type { ResourceSpans } from '../../otlp/model.js';
import type { Store } from '../../store/store.js';
import type { TracesConsumer } from '../consumer.js';

export function createStoreExporter(store: Store): TracesConsumer {
  return {
    consume: (tenant: string, batch: ResourceSpans[]) => store.append(tenant, batch),
  };
}
