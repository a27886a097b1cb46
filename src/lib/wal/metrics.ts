// Metrics of the write-ahead log, shared by every tenant's WAL (told apart by
// the `tenant` label): prom-client refuses a name registered twice.
import { Counter, Gauge, Histogram } from 'prom-client';
import { LATENCY_BUCKETS, registry } from '../../telemetry/metrics.js';

export const walMetrics = {
  bytesWritten: new Counter({
    name: 'skein_wal_bytes_written_total',
    help: 'Bytes of records (headers and payloads) written to WAL segments.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  recordsWritten: new Counter({
    name: 'skein_wal_records_written_total',
    help: 'Records written to WAL segments.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  fsyncDuration: new Histogram({
    name: 'skein_wal_fsync_duration_seconds',
    help: 'Duration of each fdatasync of a WAL segment; one covers a whole group of appends.',
    labelNames: ['tenant'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  diskBytes: new Gauge({
    name: 'skein_wal_disk_bytes',
    help: 'Bytes of all WAL segment files.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  truncatedBytes: new Counter({
    name: 'skein_wal_truncated_bytes_total',
    help: 'Bytes of torn or corrupt WAL tails dropped during recovery.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  writeErrors: new Counter({
    name: 'skein_wal_write_errors_total',
    help: 'WAL writes, fsyncs or segment creations that failed; the appends they carried were refused.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
};
