// The server's CPU time and memory, read from /proc: measured from outside so
// that the figures include everything the process does, not what it reports.
import { readFileSync } from 'node:fs';
import { clockTicksPerSecond } from './machine.js';

/** User + system CPU seconds of a process so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicksPerSecond();
}

function statusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

export function rssBytes(pid: number): number {
  return statusKb(pid, 'VmRSS');
}

/** The kernel's own high-water mark of RSS, which catches peaks between samples. */
export function peakRssBytes(pid: number): number {
  return statusKb(pid, 'VmHWM');
}

/** Samples a process's RSS every `intervalMs` and keeps the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  peak = 0;
  samples = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    try {
      const rss = rssBytes(this.pid);
      if (rss > this.peak) this.peak = rss;
      this.samples++;
    } catch {
      // the process is gone; the peak so far stands
    }
  }
}

/**
 * Waits until the processes together use less than `maxCores` of a core over two
 * windows of `windowMs` in a row: background work (block writes, forwarding,
 * compaction) has finished. Throws after `timeoutMs`.
 */
export async function waitUntilIdle(pids: readonly number[], { windowMs = 500, maxCores = 0.05, timeoutMs = 180_000 } = {}): Promise<void> {
  const total = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let before = total();
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error(`the servers (pids ${pids.join(', ')}) were still busy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, windowMs));
    const now = total();
    quiet = now - before < (maxCores * windowMs) / 1000 ? quiet + 1 : 0;
    before = now;
  }
}
