// Runs Tempo's own TraceQL example corpus (kept beside the design docs) through the parser,
// the validator and the printer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseTraceQL, printTraceQL, validateTraceQL, TraceQLError } from '../../../src/query/traceql/index.js';

// dist/test/query/traceql → repository root is four levels up; the corpus sits beside the checkout.
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CORPUS = join(REPO_ROOT, '../shared/design/tempo-traceql-examples.yaml');

interface Corpus {
  valid: string[];
  parse_fails: string[];
  validate_fails: string[];
  unsupported: string[];
}

const corpus: Corpus | null = existsSync(CORPUS) ? (YAML.parse(readFileSync(CORPUS, 'utf8')) as Corpus) : null;
const skip = corpus ? false : `Tempo's example corpus not found at ${CORPUS}`;

function parseError(q: string): TraceQLError | null {
  try {
    parseTraceQL(q);
    return null;
  } catch (err) {
    if (err instanceof TraceQLError) return err;
    throw err;
  }
}

function validationError(q: string): TraceQLError | null {
  const { ast } = parseTraceQL(q);
  try {
    validateTraceQL(ast);
    return null;
  } catch (err) {
    if (err instanceof TraceQLError) return err;
    throw err;
  }
}

function assertRoundTrip(q: string): void {
  const { ast } = parseTraceQL(q);
  const text = printTraceQL(ast);
  assert.deepStrictEqual(parseTraceQL(text).ast, ast, `${q} printed as ${text} reads back differently`);
}

describe("Tempo's TraceQL example corpus", { skip }, () => {
  test('the corpus holds every section, so a truncated copy does not pass silently', () => {
    assert.ok(corpus!.valid.length > 250, `only ${corpus!.valid.length} valid queries`);
    assert.ok(corpus!.parse_fails.length > 80);
    assert.ok(corpus!.validate_fails.length >= 70);
    assert.ok(corpus!.unsupported.length > 20);
  });

  test('every valid query parses, validates and survives print → parse', () => {
    const failures: string[] = [];
    for (const q of corpus!.valid) {
      try {
        const { ast } = parseTraceQL(q);
        validateTraceQL(ast);
        assertRoundTrip(q);
      } catch (err) {
        failures.push(`${q}\n    ${(err as Error).message}`);
      }
    }
    assert.deepStrictEqual(failures, []);
  });

  test('every parse_fails query is refused by the parser with a position inside the query', () => {
    const accepted: string[] = [];
    for (const q of corpus!.parse_fails) {
      const err = parseError(q);
      if (!err) {
        accepted.push(q);
        continue;
      }
      assert.equal(err.kind, 'parse', q);
      const lines = q.split('\n');
      assert.ok(err.line >= 1 && err.line <= lines.length, `${q}: line ${err.line}`);
      assert.ok(err.col >= 1 && err.col <= lines[err.line - 1]!.length + 1, `${q}: col ${err.col}`);
      assert.match(err.message, /^parse error at line \d+, col \d+: \S/);
    }
    assert.deepStrictEqual(accepted, []);
  });

  test('every validate_fails query parses but is rejected as invalid (not merely unsupported)', () => {
    const wrong: string[] = [];
    for (const q of corpus!.validate_fails) {
      const err = validationError(q);
      // A regex RE2 refuses is invalid TraceQL of its own kind (errors.ts).
      if (err?.kind !== 'invalid' && err?.kind !== 'regex') wrong.push(`${q} → ${err ? err.message : 'accepted'}`);
      else assertRoundTrip(q);
    }
    assert.deepStrictEqual(wrong, []);
  });

  // Skein refuses these the way Tempo does: they parse, and validation reports them as unsupported.
  test('every unsupported query parses and is refused as unsupported', () => {
    const wrong: string[] = [];
    for (const q of corpus!.unsupported) {
      const err = validationError(q);
      if (err?.kind !== 'unsupported') wrong.push(`${q} → ${err ? err.message : 'accepted'}`);
      else assertRoundTrip(q);
    }
    assert.deepStrictEqual(wrong, []);
  });
});
