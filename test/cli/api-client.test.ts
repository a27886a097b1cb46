// What the commands that ask a server say when it goes wrong, each naming the server they
// asked: "cannot reach" when nothing answered there (refused at once, a name that does not
// resolve) apart from what a server answered (a trace not found on a real Skein; a 404, a page
// that is not JSON, or no answer in time from something that is not Skein). With no --server,
// the address is the one `skein serve` would listen on in the same environment.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { runCli } from '../helpers/cli.js';
import { reservePorts } from '../helpers/ports.js';

const TRACE_ID = 'ab'.repeat(16);

/** Every command that asks the API, with the path it asks. */
const COMMANDS: Array<[args: string[], path: string]> = [
  [['query', TRACE_ID], `/api/traces/${TRACE_ID}`],
  [['search', '{ }'], '/api/search'],
  [['tags'], '/api/v2/search/tags'],
  [['tags', '--values', 'name'], '/api/v2/search/tag/name/values'],
  [['quarantine', 'list'], '/api/skein/quarantine'],
];

/** A loopback HTTP server that is not Skein, answering every request with `answer` (or never). */
async function notSkein(answer: ((res: ServerResponse) => void) | 'never'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    if (answer !== 'never') answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('skein commands: which server, and what went wrong there', () => {
  let skein: SkeinProcess;
  before(async () => {
    skein = await startSkein();
  });
  after(async () => {
    await skein?.stop();
  });

  test('nothing listening: every command says it cannot reach the server, connection refused', async () => {
    const [port] = await reservePorts(1);
    const server = `http://127.0.0.1:${port}`;
    const results = await Promise.all(COMMANDS.map(([args]) => runCli([...args, '--server', server])));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, COMMANDS[i]![0].join(' '));
      assert.equal(r.stderr.trim(), `skein: cannot reach ${server}: connection refused: nothing listens on 127.0.0.1:${port}; is Skein running there?`);
      assert.equal(r.stdout, '');
    });
  });

  test('a host name that does not resolve: cannot reach, naming the name', async () => {
    const r = await runCli(['query', TRACE_ID, '--server', 'http://skein.invalid:3200']);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trim(), /^skein: cannot reach http:\/\/skein\.invalid:3200: the host name skein\.invalid (does not resolve \(DNS\)|could not be resolved now \(DNS: EAI_AGAIN\))$/);
  });

  test('an ID Skein does not hold: not found, on the server asked', async () => {
    const r = await runCli(['query', TRACE_ID, '--server', skein.url]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `skein: trace ${TRACE_ID} not found on ${skein.url}`);
  });

  test('a server that is not Skein: its 404 is not taken for "trace not found", and a page that is not JSON is named as such', async () => {
    const empty404 = await notSkein((res) => res.writeHead(404).end());
    const html = await notSkein((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>It works!</body></html>'));
    try {
      const missing = await Promise.all(COMMANDS.map(([args]) => runCli([...args, '--server', empty404.url])));
      missing.forEach((r, i) => {
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr.trim(),
          `skein: ${empty404.url} answered 404 to GET ${COMMANDS[i]![1]}: an empty body; is it Skein's query API? pass --server or set SKEIN_HTTP_ADDR`,
        );
      });
      const pages = await Promise.all(COMMANDS.map(([args]) => runCli([...args, '--server', html.url])));
      pages.forEach((r, i) => {
        assert.equal(r.code, 1, COMMANDS[i]![0].join(' '));
        assert.ok(r.stderr.startsWith(`skein: ${html.url} answered GET ${COMMANDS[i]![1]} with something that is not `), r.stderr);
        assert.ok(r.stderr.trim().endsWith("is it Skein's query API? pass --server or set SKEIN_HTTP_ADDR"), r.stderr);
      });
    } finally {
      await Promise.all([stop(empty404.server), stop(html.server)]);
    }
  });

  test('a server that accepts the connection and never answers: given up after --timeout, saying it did not answer', async () => {
    const silent = await notSkein('never');
    // Headers and half a body, then nothing.
    const stalled = await notSkein((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"traces": [');
    });
    try {
      const r = await runCli(['search', '{ }', '--server', silent.url, '--timeout', '200ms']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), `skein: ${silent.url} did not answer GET /api/search within 200ms; pass a longer --timeout if it is busy`);
      const half = await runCli(['search', '{ }', '--server', stalled.url, '--timeout', '300ms']);
      assert.equal(half.stderr.trim(), `skein: ${stalled.url} did not answer GET /api/search within 300ms; pass a longer --timeout if it is busy`);
      const bad = await runCli(['tags', '--server', silent.url, '--timeout', 'soon']);
      assert.equal(bad.stderr.trim(), 'skein: invalid --timeout "soon": expected a duration such as 30s or 2m');
    } finally {
      await Promise.all([stop(silent.server), stop(stalled.server)]);
    }
  });

  test('without --server: the address SKEIN_HTTP_ADDR or the SKEIN_CONFIG file gives, a wildcard host dialled on loopback', async () => {
    const port = new URL(skein.url).port;
    const byAddr = await runCli(['query', TRACE_ID], { SKEIN_HTTP_ADDR: `0.0.0.0:${port}`, SKEIN_CONFIG: undefined });
    assert.equal(byAddr.stderr.trim(), `skein: trace ${TRACE_ID} not found on http://127.0.0.1:${port}`);

    const file = join(tempDir('skein-cli-'), 'skein.yaml');
    writeFileSync(file, `server:\n  http_listen_address: 127.0.0.1:${port}\n`);
    const byFile = await runCli(['tags', '--json'], { SKEIN_CONFIG: file, SKEIN_HTTP_ADDR: undefined });
    assert.equal(byFile.code, 0, byFile.stderr);
    assert.ok(Array.isArray((JSON.parse(byFile.stdout) as { scopes: unknown[] }).scopes));

    const [free] = await reservePorts(1);
    const both = await runCli(['tags'], { SKEIN_CONFIG: file, SKEIN_HTTP_ADDR: `127.0.0.1:${free}` });
    assert.match(both.stderr, new RegExp(`^skein: cannot reach http://127\\.0\\.0\\.1:${free}: connection refused`), 'the variable wins over the file, as for skein serve');

    writeFileSync(file, 'server:\n  http_listen_adress: 127.0.0.1:3200\n');
    const broken = await runCli(['tags'], { SKEIN_CONFIG: file, SKEIN_HTTP_ADDR: undefined });
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^skein: cannot tell where the local Skein listens \(config .*skein\.yaml is invalid:\n {2}server\.http_listen_adress: unknown key\); pass its URL instead/);
  });
});
