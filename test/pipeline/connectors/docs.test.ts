import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { schema as serviceGraphSchema } from '../../../src/pipeline/connectors/servicegraph/index.js';
import { schema as spanMetricsSchema } from '../../../src/pipeline/connectors/spanmetrics/index.js';

test('every connector example in docs/metrics-generator.md is a valid configuration', () => {
  // dist/test/pipeline/connectors → repository root
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
  const doc = readFileSync(join(root, 'docs', 'metrics-generator.md'), 'utf8');
  const sections = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => parseYaml(m[1]!) as { connectors?: Record<string, unknown> })
    .flatMap((y) => Object.entries(y.connectors ?? {}));
  assert.deepEqual(sections.map(([name]) => name), ['servicegraph', 'spanmetrics']);
  for (const [name, section] of sections) {
    const schema = name.startsWith('servicegraph') ? serviceGraphSchema : spanMetricsSchema;
    const result = schema.safeParse(section);
    assert.ok(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`);
  }
});
