// package.json's `engines.node`, read with the semver package npm itself uses: the range, its
// floor (the lowest Node release Skein says it runs on) and the floor of each release line the
// range allows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

interface SemVer {
  version: string;
  major: number;
  minor: number;
}

/** The part of semver's API used here (the package ships no typings). */
export interface Semver {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): SemVer | null;
}

export const semver = createRequire(import.meta.url)('semver') as Semver;

export function enginesNode(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const range = pkg.engines?.node;
  if (range === undefined) throw new Error('package.json has no engines.node');
  return range;
}

/** The lowest version of each `||` alternative, lowest first: `^20.20.0 || >=22.12.0` → 20.20.0, 22.12.0. */
export function lineFloors(range: string): SemVer[] {
  return range
    .split('||')
    .map((part) => {
      const floor = semver.minVersion(part.trim());
      if (floor === null) throw new Error(`engines.node alternative "${part.trim()}" allows no version`);
      return floor;
    })
    .sort((a, b) => a.major - b.major || a.minor - b.minor);
}
