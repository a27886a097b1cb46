// How Skein serves the web UI: index.html at `/` and at client routes (no-cache),
// hashed assets cached for ever and gzipped, the API's routes and 404s untouched,
// and the UI config route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';

let skein: SkeinProcess;

before(async () => {
  skein = await startSkein({ configYaml: 'ui:\n  logs_url_template: "http://logs.example/search?trace=${traceId}&span=${spanId}"\n' });
});
after(async () => {
  await skein.stop();
});

describe('the web UI is served by Skein', () => {
  test('index.html at / and at client routes, never cached', async () => {
    for (const path of ['/', '/search', '/search?q=%7B%7D', '/trace/0123456789abcdef0123456789abcdef?span=0011223344556677']) {
      const res = await fetch(`${skein.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      const html = await res.text();
      assert.match(html, /<div id="root"><\/div>/, path);
    }
  });

  test('hashed assets are immutable, gzipped when asked, and reference no other host', async () => {
    const html = await (await fetch(`${skein.url}/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')), `a script in ${html}`);
    assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'index.html loads nothing from another host');
    for (const a of assets) {
      const plain = await fetch(`${skein.url}${a}`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.status, 200, a);
      assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable', a);
      assert.equal(plain.headers.get('content-encoding'), null);
      const body = await plain.text();
      assert.doesNotMatch(body, /https:\/\/fonts\.|@import url\(/, `${a} fetches no web fonts`);
      const gz = await fetch(`${skein.url}${a}`, { headers: { 'accept-encoding': 'gzip' } });
      // fetch decodes gzip itself; the header says it was compressed on the wire.
      if (body.length > 1024) assert.equal(gz.headers.get('content-encoding'), 'gzip', a);
      assert.equal(await gz.text(), body);
    }
  });

  test('a missing asset is a 404, not index.html', async () => {
    const res = await fetch(`${skein.url}/assets/nope-123.js`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /no such file: \/assets\/nope-123\.js/);
  });

  test('API routes and their 404s are not shadowed by the UI', async () => {
    assert.equal(await (await fetch(`${skein.url}/ready`)).text(), 'ready');
    assert.match(await (await fetch(`${skein.url}/metrics`)).text(), /# HELP/);
    assert.equal(await (await fetch(`${skein.url}/api/echo`)).text(), 'echo');
    const unknown = await fetch(`${skein.url}/api/does-not-exist`);
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), 'no route for GET /api/does-not-exist');
    const missing = await fetch(`${skein.url}/api/v2/traces/00000000000000000000000000000001`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'trace not found');
    const v1 = await fetch(`${skein.url}/v1/traces`);
    assert.equal(v1.status, 404);
  });

  test('/api/skein/ui-config hands the UI the logs URL template', async () => {
    const res = await fetch(`${skein.url}/api/skein/ui-config`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['logsUrlTemplate'], 'http://logs.example/search?trace=${traceId}&span=${spanId}');
    assert.equal(typeof body['version'], 'string');
  });
});
