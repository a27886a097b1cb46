// What every figure is recorded with: which code, which machine, which command.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from this file's compiled location (dist/bench). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface MachineContext {
  commit: string;
  nproc: number;
  memTotalBytes: number;
  cpuModel: string;
  node: string;
  command: string;
  startedAt: string;
}

export function machineContext(): MachineContext {
  return {
    commit: commitOf(REPO_ROOT) ?? 'unknown',
    nproc: availableParallelism(),
    memTotalBytes: totalmem(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    command: ['node', ...process.argv.slice(1).map((a, i) => (i === 0 ? relativeToRoot(a) : a))].join(' '),
    startedAt: new Date().toISOString(),
  };
}

/** The short commit checked out at `dir`, when `dir` is the top of a git checkout (not merely inside one). */
export function commitOf(dir: string): string | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(dir)) return undefined;
    return git('rev-parse', '--short', 'HEAD');
  } catch {
    return undefined;
  }
}

function relativeToRoot(path: string): string {
  return path.startsWith(REPO_ROOT + '/') ? path.slice(REPO_ROOT.length + 1) : path;
}

let clockTicks: number | undefined;

/** Linux clock ticks per second, the unit of /proc/<pid>/stat CPU times. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}
