// One supported Node range, package.json's `engines.node`, held to what it says: CI runs the
// lowest release line it allows (so the floor is tested, not hoped for), every package in the
// lockfile declares it runs on the floor of each line the range allows (so `npm ci` prints no
// EBADENGINE there), and the README and the deployment guide state the same range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enginesNode, lineFloors, semver } from '../helpers/node-engines.js';

// dist/test/deploy → repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RANGE = enginesNode(ROOT);
const FLOOR = lineFloors(RANGE)[0]!;
const RUNNING = process.versions.node;

test('the Node running the tests is one engines.node allows', () => {
  assert.ok(semver.satisfies(RUNNING, RANGE), `Node ${RUNNING} is outside engines.node "${RANGE}"`);
});

// CI (.ci/run runs with CI=true) is where the floor gets tested; a developer may run any allowed Node.
test('CI runs the lowest release line engines.node allows', { skip: process.env['CI'] ? false : 'only in CI (CI set)' }, () => {
  assert.deepEqual(
    RUNNING.split('.').slice(0, 2).map(Number),
    [FLOOR.major, FLOOR.minor],
    `CI runs Node ${RUNNING}, but the floor of engines.node "${RANGE}" is ${FLOOR.version}: raise the floor to the line CI runs, or run CI on ${FLOOR.major}.${FLOOR.minor}`,
  );
});

test('every package in the lockfile runs on the floor of each release line engines.node allows', () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: unknown }> };
  const refusals: string[] = [];
  for (const floor of lineFloors(RANGE)) {
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const wants = (pkg.engines as { node?: unknown } | undefined)?.node;
      // A few old packages give engines as an array of strings, which npm ignores.
      if (typeof wants !== 'string') continue;
      if (!semver.satisfies(floor.version, wants)) refusals.push(`${path || 'skein'}@${pkg.version} wants node "${wants}", not ${floor.version}`);
    }
  }
  assert.deepEqual(refusals, []);
});

test('the README and the deployment guide state the range', () => {
  for (const doc of ['README.md', 'docs/deploy.md']) {
    assert.ok(readFileSync(join(ROOT, doc), 'utf8').includes(`\`${RANGE}\``), `${doc} states engines.node as \`${RANGE}\``);
  }
});
