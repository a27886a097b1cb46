// The process's own figures under the names Tempo's and the collector's dashboards read
// them by: tempo_build_info (the Tempo dashboards' cluster and namespace pickers list
// its series) and the collector's otelcol_process_*. Read when /metrics is scraped,
// from the sources prom-client's process_* metrics and the memory_limiter use.
import { getHeapStatistics } from 'node:v8';
import { SKEIN_VERSION } from '../version.js';
import { residentSetBytes } from './memory.js';
import { collectorCounter, serveCompat } from './compat-metrics.js';

serveCompat({
  name: 'tempo_build_info',
  help: "Always 1; its labels name the build (Skein's version), as Tempo's build info does.",
  type: 'gauge',
  from: { read: () => 1, labels: { version: SKEIN_VERSION } },
});
serveCompat({
  name: 'otelcol_process_uptime',
  help: 'Seconds since the process started.',
  type: 'counter',
  from: { read: () => process.uptime() },
});
serveCompat({
  name: 'otelcol_process_memory_rss',
  help: 'Resident set size of the process, in bytes (what the memory_limiter measures).',
  type: 'gauge',
  from: { read: residentSetBytes },
});
serveCompat({
  name: collectorCounter('otelcol_process_cpu_seconds'),
  help: 'User and system CPU time of the process, in seconds (as process_cpu_seconds_total).',
  type: 'counter',
  from: {
    read: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
  },
});
serveCompat({
  name: 'otelcol_process_runtime_heap_alloc_bytes',
  help: "Bytes of the JavaScript heap in use (V8's used heap size: the Go runtime's HeapAlloc has no closer equivalent).",
  type: 'gauge',
  from: { read: () => getHeapStatistics().used_heap_size },
});
