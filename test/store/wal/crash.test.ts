// A process appending with the 'batch' policy is SIGKILLed mid-flight: every
// record it acknowledged is there after reopening, intact and in call order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openAndReplay, tempDir, writeChildScript } from './helpers.js';

// Eight appenders of records up to ~30 KB, small segments so that rollovers
// happen, and a rotation every few milliseconds; each id is printed once its
// append resolved (stdout to a pipe is synchronous on Linux: a printed id is
// in the pipe before the next line of the script runs).
const APPENDER = writeChildScript(`
const [dir, first] = process.argv.slice(2);
const wal = await Wal.open({ dir, syncPolicy: 'batch', syncIntervalMs: 0, segmentMaxBytes: 256 * 1024, logger: silentLogger }, () => {});
let next = Number(first);
const appender = async () => {
  for (;;) {
    const id = next++;
    await wal.append(payload(id, 16 + ((id * 7919) % 30000)));
    process.stdout.write(id + '\\n');
  }
};
for (let i = 0; i < 8; i++) void appender();
setInterval(() => void wal.rotate(), 5);
`);

/** Runs the appender until it has acknowledged `acks` records, SIGKILLs it, and returns the acknowledged ids. */
async function appendUntilKilled(dir: string, firstId: number, acks: number): Promise<number[]> {
  const child = spawn(process.execPath, [APPENDER, dir, String(firstId)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  let seen = 0;
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const c of s) if (c === '\n') seen++;
    if (seen >= acks) child.kill('SIGKILL');
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', `the appender died by itself:\n${stderr}`);
  // The last line may have been cut by the kill: only whole lines were acknowledged.
  return out.split('\n').slice(0, -1).map(Number);
}

test('SIGKILL during batch appends loses no acknowledged record', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const acknowledged: number[] = [];
  let firstId = 0;
  for (const round of [1, 2, 3]) {
    acknowledged.push(...(await appendUntilKilled(dir, firstId, 500 * round)));
    const { wal, ids } = await openAndReplay(dir); // payloadId() checks each record byte for byte
    await wal.close();
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `records replay in call order (round ${round}, ${ids[i - 1]} then ${ids[i]})`);
    const present = new Set(ids);
    const lost = acknowledged.filter((id) => !present.has(id));
    assert.deepEqual(lost, [], `round ${round}: acknowledged records lost`);
    firstId = ids.at(-1)! + 1;
  }
});
