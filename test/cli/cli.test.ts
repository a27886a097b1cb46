// The `skein` command line, run as a user would run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { toHex } from '../../src/otlp/model.js';
import { validateConfig, loadConfig } from '../../src/config/load.js';
import { CLI_PATH, startSkein, tempDir } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, span } from '../helpers/spans.js';

const run = promisify(execFile);

async function skein(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('config print-defaults prints YAML that is a valid config equal to the defaults', async () => {
  const { code, stdout } = await skein(['config', 'print-defaults']);
  assert.equal(code, 0);
  assert.match(stdout, /retention: 14d/);
  assert.deepEqual(validateConfig(parseYaml(stdout)), loadConfig({ env: {} }));
});

test('config check accepts a good file and names the bad key of a bad one', async () => {
  const dir = tempDir();
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'storage:\n  retention: 7d\n');
  const ok = await skein(['config', 'check', good]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /valid/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'storage:\n  retention: 7d\n  rentention: 3d\n');
  const res = await skein(['config', 'check', bad]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /storage\.rentention: unknown key/);
});

test('query prints a trace as a tree; an unknown ID says not found on the server asked', async () => {
  const server = await startSkein();
  try {
    const traceId = newTraceId();
    const root = span({ traceId, name: 'GET /api/cart' });
    const child = span({ traceId, name: 'SELECT cart', parentSpanId: root.spanId, startUnixNano: root.startTimeUnixNano + 1000n });
    child.status = { code: 2, message: 'deadlock' };
    await postProtobuf(server.otlpHttpUrl, batchOf('cart', [root, child]));
    const addr = server.url.replace('http://', '');
    const out = await skein(['query', toHex(traceId)], { SKEIN_HTTP_ADDR: addr });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`trace ${toHex(traceId)} · 2 spans · 1 service`));
    assert.match(out.stdout, /└─ cart {2}GET \/api\/cart/);
    assert.match(out.stdout, / {3}└─ cart {2}SELECT cart .*✗ STATUS_CODE_ERROR: deadlock/);
    const missing = await skein(['query', 'ab'.repeat(16), '--server', server.url]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `skein: trace ${'ab'.repeat(16)} not found on ${server.url}`);
  } finally {
    await server.stop();
  }
});

test('two instances run side by side with environment overrides', async () => {
  const a = await startSkein();
  const b = await startSkein();
  try {
    assert.notEqual(a.url, b.url);
    assert.equal((await fetch(`${a.url}/ready`)).status, 200);
    assert.equal((await fetch(`${b.url}/ready`)).status, 200);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
