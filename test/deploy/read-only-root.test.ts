// Skein as the container image runs it (deploy/Dockerfile, docs/deploy.md §3b: `--read-only
// --tmpfs /tmp`): the image's own config, on a root filesystem mounted read-only in the
// server's mount namespace, with only the temporary directory writable (the data directory
// lives there too in this test). It receives, samples, writes a block (DuckDB spills under
// TMPDIR), answers a search over the block and drains on SIGTERM. A write anywhere else (a cache
// under HOME, a file beside the code) fails with EROFS and shows here. The image's HEALTHCHECK
// command, run as docker would, passes while it serves and fails once it has stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { toHex } from '../../src/otlp/model.js';
import { parseDockerfile, words } from '../helpers/dockerfile.js';
import { waitFor } from '../helpers/poll.js';
import { READ_ONLY_ROOT, readOnlyRootUnavailable } from '../helpers/namespaces.js';
import { startSkein, tempDir } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, span } from '../helpers/spans.js';

// dist/test/deploy → repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The runtime stage's `HEALTHCHECK … CMD [...]`, run with the server's API address as SKEIN_HTTP_ADDR; resolves to its exit code. */
async function healthcheck(httpAddr: string): Promise<number> {
  const runtime = parseDockerfile(readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8')).at(-1)!;
  const args = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!.args;
  const [command, ...rest] = words(args.slice(args.indexOf('CMD ') + 4));
  assert.equal(command, 'node', 'the health check runs node, which the image has');
  return promisify(execFile)(process.execPath, rest, { env: { ...process.env, SKEIN_HTTP_ADDR: httpAddr } }).then(
    () => 0,
    (err: { code: number }) => err.code,
  );
}


test('on a read-only root with only /tmp writable, the image config passes its health check, receives, stores a block, answers and drains on SIGTERM', { skip: readOnlyRootUnavailable }, async () => {
  const production = readFileSync(join(ROOT, 'examples', 'skein.production.yaml'), 'utf8');
  // Its tail sampler waits 30 s for a trace's last span; the test does not need to.
  const configYaml = production.replace('decision_wait: 30s', 'decision_wait: 1s');
  assert.notEqual(configYaml, production, 'the production config sets tail_sampling.decision_wait: 30s');
  const dataDir = tempDir();
  const skein = await startSkein({ dataDir, configYaml, wrap: READ_ONLY_ROOT });
  const httpAddr = new URL(skein.url).host;
  try {
    assert.equal(await healthcheck(httpAddr), 0, 'healthy once ready');

    // The server's view of the filesystem, through its own mount namespace. The probe goes at
    // the top of the root filesystem, not beside the code: a checkout under TMPDIR stays writable.
    const probePath = `/proc/${skein.child.pid}/root/read-only-probe`;
    try {
      assert.throws(() => writeFileSync(probePath, ''), { code: 'EROFS' }, 'the root filesystem is read-only for the server');
    } finally {
      rmSync(probePath, { force: true });
    }

    const traceId = newTraceId();
    const root = span({ traceId, name: 'GET /checkout' });
    root.status = { code: 2, message: 'kept by the errors policy' };
    const res = await postProtobuf(skein.otlpHttpUrl, batchOf('read-only-root', [root]));
    assert.equal(res.status, 200, await res.text());
    const id = toHex(traceId);
    await waitFor(`trace ${id} past tail sampling`, async () => (await fetch(`${skein.url}/api/traces/${id}`)).status === 200);

    const flush = await fetch(`${skein.url}/flush`, { method: 'POST' });
    assert.equal(flush.status, 204, await flush.text());
    const blocks = join(dataDir, 'blocks', 'single-tenant');
    assert.ok(existsSync(blocks) && readdirSync(blocks).some((b) => existsSync(join(blocks, b, 'meta.json'))), 'a block was written');
    const search = await fetch(`${skein.url}/api/search?q=${encodeURIComponent('{ resource.service.name = "read-only-root" }')}`);
    assert.equal(search.status, 200);
    assert.deepEqual(((await search.json()) as { traces: Array<{ traceID: string }> }).traces.map((t) => t.traceID), [id.replace(/^0+/, '')], 'found, under the ID as search answers it (leading zeros dropped, as Tempo does)');
  } finally {
    assert.equal(await skein.stop(), 0, 'SIGTERM drains and exits 0');
  }
  assert.ok(skein.logs.some((l) => l['msg'] === 'stopped'));
  assert.equal(await healthcheck(httpAddr), 1, 'unhealthy once stopped');
  assert.deepEqual(skein.logs.filter((l) => ['warn', 'error', 'fatal'].includes(String(l['level'])) || /EROFS|read-only/.test(JSON.stringify(l))), []);
});
