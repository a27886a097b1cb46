// docs/security.md's authentication and cluster examples are valid Skein configurations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlText, validateConfig } from '../../src/config/load.js';
import { configuredAuthModes } from '../../src/config/security-schema.js';

// dist/test/auth → repository root
const DOC = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'security.md'), 'utf8');

/** The lines from a heading to the next heading of the same level or above (lines in code blocks are not headings). */
function section(heading: string): string {
  const lines = DOC.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `docs/security.md has "${heading}"`);
  const level = heading.indexOf(' ');
  let fenced = false;
  let end = start + 1;
  for (; end < lines.length; end++) {
    if (lines[end]!.startsWith('```')) fenced = !fenced;
    const m = /^(#+) /.exec(lines[end]!);
    if (!fenced && m && m[1]!.length <= level) break;
  }
  return lines.slice(start, end).join('\n');
}

test('every configuration example of the Authentication section and of peer_token validates, and turns authentication on', () => {
  const blocks = [section('## Authentication'), section('### Peers authenticate with `auth.peer_token`')].flatMap((text) =>
    [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!),
  );
  assert.ok(blocks.length >= 5, `found ${blocks.length} examples`);
  for (const [i, text] of blocks.entries()) {
    const config = validateConfig(parseYamlText(text, `docs/security.md example ${i + 1}`), `docs/security.md example ${i + 1}`);
    assert.ok(configuredAuthModes(config.auth).length > 0, `example ${i + 1} configures a mode`);
  }
});
