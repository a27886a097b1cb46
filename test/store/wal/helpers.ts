// Shared by the WAL tests: temp dirs, recognisable payloads, a logger whose
// lines the test can read, and child processes running the compiled WAL.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, silentLogger, type Logger } from '../../../src/telemetry/logger.js';
import { Wal, type WalOptions } from '../../../src/lib/wal/wal.js';

/** dist/src/lib/wal/, found from this file's compiled location (dist/test/store/wal). */
const COMPILED_WAL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'lib', 'wal');
const COMPILED_LOGGER = join(COMPILED_WAL_DIR, '..', '..', 'telemetry', 'logger.js');

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new directory under the system's temp dir, deleted when the test process exits. */
export function tempDir(prefix = 'skein-wal-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A payload that says which record it is: [u32 id][bytes derived from id]. */
export function payload(id: number, size = 64 + (id % 7) * 100): Buffer {
  const bytes = Buffer.alloc(Math.max(size, 4));
  for (let i = 4; i < bytes.length; i++) bytes[i] = (id * 31 + i) & 0xff;
  bytes.writeUInt32LE(id, 0);
  return bytes;
}

/** Writes a file at `path` until its file system has no room left (ENOSPC). */
export function fillFileSystem(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (;;) writeSync(fd, Buffer.alloc(4096, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** The id of a payload made by payload(), after checking every byte of it. */
export function payloadId(bytes: Uint8Array): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = buffer.readUInt32LE(0);
  for (let i = 4; i < buffer.length; i++) {
    if (buffer[i] !== ((id * 31 + i) & 0xff)) throw new Error(`payload of record ${id} is damaged at byte ${i}`);
  }
  return id;
}

export interface CapturedLogs {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

export function captureLogs(): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

export function walOptions(dir: string, overrides: Partial<WalOptions> = {}): WalOptions {
  return { dir, syncPolicy: 'batch', syncIntervalMs: 0, segmentMaxBytes: 64 * 1024 * 1024, logger: silentLogger, ...overrides };
}

export interface Reopened {
  wal: Wal;
  /** Ids of the replayed records, in replay order. */
  ids: number[];
  /** Segment of each replayed record. */
  segments: number[];
}

export async function openAndReplay(dir: string, overrides: Partial<WalOptions> = {}): Promise<Reopened> {
  const ids: number[] = [];
  const segments: number[] = [];
  const wal = await Wal.open(walOptions(dir, overrides), (bytes, segment) => {
    ids.push(payloadId(bytes));
    segments.push(segment);
  });
  return { wal, ids, segments };
}

/** Replays a WAL and closes it again. */
export async function replayedIds(dir: string, overrides: Partial<WalOptions> = {}): Promise<number[]> {
  const { wal, ids } = await openAndReplay(dir, overrides);
  await wal.close();
  return ids;
}

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => join(dir, f));
}

export function filesBytes(dir: string): number {
  return segmentFiles(dir).reduce((n, f) => n + statSync(f).size, 0);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Writes an ES module to a temp dir that can use `Wal`, `WalWriteError`,
 * `createLogger`, `silentLogger`, `payload`, `payloadId` and `fillFileSystem` (the compiled ones,
 * imported by absolute URL).
 */
export function writeChildScript(body: string): string {
  const file = join(tempDir('skein-wal-child-'), 'child.mjs');
  const imports = [
    `import { Wal, WalWriteError } from ${JSON.stringify(pathToFileURL(join(COMPILED_WAL_DIR, 'wal.js')).href)};`,
    `import { createLogger, silentLogger } from ${JSON.stringify(pathToFileURL(COMPILED_LOGGER).href)};`,
    `import { fillFileSystem, payload, payloadId } from ${JSON.stringify(import.meta.url)};`,
  ];
  writeFileSync(file, `${imports.join('\n')}\n${body}\n`);
  return file;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. */
export function run(command: string, args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
