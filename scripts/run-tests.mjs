#!/usr/bin/env node
// Runs every compiled test file with Node's test runner, prints the spec
// report, and ends with the line CI reads: `N passed, N failed`.
// Usage: node scripts/run-tests.mjs [substring filter...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = findTests('dist/test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
const tap = join(mkdtempSync(join(tmpdir(), 'skein-tests-')), 'report.tap');
const child = spawn(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${process.env.SKEIN_TEST_CONCURRENCY ?? 2}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
child.on('exit', (code) => {
  const report = readFileSync(tap, 'utf8');
  const count = (key) => Number(report.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0);
  const passed = count('pass');
  const failed = count('fail') + count('cancelled');
  const skipped = count('skipped');
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? 1);
});
