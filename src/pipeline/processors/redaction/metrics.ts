// Telemetry of the redaction processor. `processor` is the configured name
// (`redaction`, `redaction/pii`); `rule` is a built-in rule name, a user rule's
// name, `blocked_values[i]`, `blocked_key_patterns[i]`, or, in dry-run counts
// only, `allowed_keys` for keys the allow-list would delete.
import { Counter } from 'prom-client';
import { registry } from '../../../telemetry/metrics.js';

export const redactionMetrics = {
  valuesMasked: new Counter({
    name: 'skein_redaction_values_masked_total',
    help: 'Matches masked or hashed, by rule: in attribute values and in text fields (span and event names, status messages, scope names, attribute keys).',
    labelNames: ['processor', 'rule'],
    registers: [registry],
  }),
  keysDeleted: new Counter({
    name: 'skein_redaction_keys_deleted_total',
    help: 'Attributes deleted because their key is not in allowed_keys.',
    labelNames: ['processor'],
    registers: [registry],
  }),
  dryRunMatches: new Counter({
    name: 'skein_redaction_dry_run_matches_total',
    help: 'Matches a dry-run redaction processor would have masked (or keys it would have deleted), by rule.',
    labelNames: ['processor', 'rule'],
    registers: [registry],
  }),
};
