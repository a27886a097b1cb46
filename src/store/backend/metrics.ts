// Metrics of a remote backend (the S3 bucket) and of the local cache reads from it go
// through (declared once per process). Nothing here moves with the local backend.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../../telemetry/metrics.js';

export const backendMetrics = {
  requests: new Counter({
    name: 'skein_s3_requests_total',
    help: 'Requests to the bucket, by operation (list, get, get_range, put, upload, delete).',
    labelNames: ['operation'],
    registers: [registry],
  }),
  failures: new Counter({
    name: 'skein_s3_request_failures_total',
    help: 'Requests to the bucket that failed after the SDK retries, by operation (a missing object is not a failure).',
    labelNames: ['operation'],
    registers: [registry],
  }),
  receivedBytes: new Counter({
    name: 'skein_s3_received_bytes_total',
    help: 'Bytes of objects read from the bucket (whole objects and ranges).',
    registers: [registry],
  }),
  sentBytes: new Counter({
    name: 'skein_s3_sent_bytes_total',
    help: 'Bytes of objects written to the bucket.',
    registers: [registry],
  }),
  cacheReads: new Counter({
    name: 'skein_block_cache_reads_total',
    help: "Reads of a block part through the local cache: 'miss' when they fetched byte ranges from the bucket, 'hit' when what they need was on disk (or on its way for another read).",
    labelNames: ['result'],
    registers: [registry],
  }),
  cacheBytes: new Gauge({
    name: 'skein_block_cache_bytes',
    help: 'Bytes of block parts fetched from the bucket and kept on local disk (storage.cache.max_bytes bounds them, except what running reads hold).',
    registers: [registry],
  }),
  cacheEvictions: new Counter({
    name: 'skein_block_cache_evictions_total',
    help: 'Cached block parts removed from local disk to stay under storage.cache.max_bytes (least recently used first).',
    registers: [registry],
  }),
};
