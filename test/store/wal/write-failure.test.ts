// Real write failures, in child processes: a file-size limit (RLIMIT_FSIZE, so
// writes past it fail with EFBIG after a partial write) and a full file system
// (a tiny tmpfs mounted in a private user+mount namespace: ENOSPC). The failed
// append rejects, no partial record stays behind, later appends work and the
// WAL replays without anything to truncate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { range, run, tempDir, writeChildScript } from './helpers.js';
import { tmpfsUnavailable } from '../../helpers/namespaces.js';

interface Report {
  failure: { name: string; code: string; retryable: boolean; isWalWriteError: boolean } | undefined;
  bytesBefore: number;
  bytesAfterFailure: number;
  filesAfterFailure: number;
  ids: number[];
  warnings: unknown[];
}

// argv: WAL directory, size of the record that fails, command making it fail
// ("fill": fill the file system first), file to delete before appending again.
const FAILING_APPENDS = writeChildScript(`
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
const [dir, failingSize, fill] = process.argv.slice(2);
const options = { dir, syncPolicy: 'batch', syncIntervalMs: 0, segmentMaxBytes: 1 << 30, logger: silentLogger };
const filesBytes = () => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
const wal = await Wal.open(options, () => {});
for (let id = 0; id < 10; id++) await wal.append(payload(id, 1000));
const bytesBefore = wal.diskBytes();
const filler = join(dir, '..', 'filler');
if (fill) fillFileSystem(filler);
let failure;
try {
  await wal.append(payload(10, Number(failingSize)));
} catch (err) {
  failure = { name: err.name, code: err.code, retryable: err.retryable, isWalWriteError: err instanceof WalWriteError };
}
const bytesAfterFailure = wal.diskBytes();
const filesAfterFailure = filesBytes();
if (fill) unlinkSync(filler);
for (let id = 11; id < 14; id++) await wal.append(payload(id, fill ? 20000 : 1000));
await wal.close();
const logs = [];
const ids = [];
const logger = createLogger('info', { write: (line) => logs.push(JSON.parse(line)) });
await (await Wal.open({ ...options, logger }, (bytes) => ids.push(payloadId(bytes)))).close();
const warnings = logs.filter((l) => l.level === 'warn' || l.level === 'error');
console.log(JSON.stringify({ failure, bytesBefore, bytesAfterFailure, filesAfterFailure, ids, warnings }));
`);

function parseReport(result: { code: number | null; stdout: string; stderr: string }): Report {
  assert.equal(result.code, 0, `child failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
}

function assertCleanFailure(report: Report, code: string, retryable: boolean): void {
  assert.deepEqual(report.failure, { name: 'WalWriteError', code, retryable, isWalWriteError: true });
  assert.equal(report.bytesAfterFailure, report.bytesBefore, 'the WAL counts no bytes of the failed record');
  assert.equal(report.filesAfterFailure, report.bytesBefore, 'no partial record is left in the segment');
  assert.deepEqual(report.ids, [...range(0, 10), 11, 12, 13]);
  assert.deepEqual(report.warnings, [], 'nothing to truncate on replay');
}

test('a write cut short by the file-size limit (EFBIG) is truncated back and later appends work', async () => {
  // 128 blocks is 64 KiB (dash, 512-byte blocks) or 128 KiB (bash): room for the
  // small records, not for a 1 MiB one, which is written in part before failing.
  const result = await run('sh', ['-c', 'ulimit -f 128 && exec "$@"', 'sh', process.execPath, FAILING_APPENDS, `${tempDir()}/wal`, String(1 << 20), '']);
  assertCleanFailure(parseReport(result), 'EFBIG', false);
});


test('a full disk (ENOSPC) refuses the append as retryable, leaves no partial record, and appends work once space is back', { skip: tmpfsUnavailable }, async () => {
  // 256 KiB of tmpfs: the WAL and a filler that takes every page left. The
  // 20 KB record first fills the slack of the segment's last page, then fails.
  const mountPoint = tempDir();
  const result = await run('unshare', [
    '--user',
    '--map-root-user',
    '--mount',
    'sh',
    '-c',
    'mount -t tmpfs -o size=256k skein-wal-test "$0" && exec "$@"',
    mountPoint,
    process.execPath,
    FAILING_APPENDS,
    `${mountPoint}/wal`,
    '20000',
    'fill',
  ]);
  assertCleanFailure(parseReport(result), 'ENOSPC', true);
});
