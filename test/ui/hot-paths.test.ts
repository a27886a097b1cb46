// The hot paths page in headless Chromium: the span names pinned in ui.hot_paths
// show the rate, error rate, p50/p99 and recent spans of what the OpenTelemetry
// SDK sent, a pinned name with no spans says so, and Skein's own ingest panels
// show spans arriving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Browser } from 'playwright-core';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { sdkFor, type Sdk } from './fixtures.js';
import { eventually } from '../helpers/poll.js';

const N = 4;
let skein: SkeinProcess;
let browser: Browser;
let sdk: Sdk;
const sent: string[] = [];

/** `N` auth.login spans of 120 ms, the first one failing. */
function logins(t0: number): void {
  const auth = sdk.tracer('auth');
  for (let i = 0; i < N; i++) {
    const s = auth.startSpan('auth.login', { kind: SpanKind.SERVER, startTime: t0 + i * 200, attributes: { 'user.id': `u${i}` } }, ROOT_CONTEXT);
    if (i === 0) s.setStatus({ code: SpanStatusCode.ERROR, message: 'bad password' });
    s.end(t0 + i * 200 + 120);
    sent.push(s.spanContext().traceId);
  }
}

before(async () => {
  skein = await startSkein({ configYaml: 'ui:\n  hot_paths: [auth.login, payment.webhook]\n' });
  sdk = sdkFor(skein.otlpHttpUrl);
  logins(Date.now() - 3000);
  await sdk.flush();
  await eventually(
    async () => {
      const r = (await (await fetch(`${skein.url}/api/skein/operations`)).json()) as { operations: Array<{ spanName: string; calls: number }> };
      return r.operations.some((o) => o.spanName === 'auth.login' && o.calls === N) ? { done: true, value: r } : { done: false, seen: r.operations };
    },
    (seen) => `operations incomplete: ${JSON.stringify(seen)}`,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sdk?.shutdown();
  await skein?.stop();
});

describe('hot paths page', () => {
  test('a pinned span name shows its rate, error rate, p50/p99 and recent spans; ingest panels show spans arriving', async () => {
    const { page, errors, foreignRequests, close } = await openPage(browser, skein.url);
    try {
      await page.goto('/');
      await page.getByRole('link', { name: 'Hot paths' }).click();
      await page.waitForURL(/\/hot-paths$/);
      const cards = page.getByTestId('hot-path');
      await cards.first().waitFor();
      assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))), ['auth.login', 'payment.webhook'], 'in the configured order');

      const login = page.locator('[data-testid=hot-path][data-name="auth.login"]');
      await login.getByTestId('hot-calls').filter({ hasText: String(N) }).waitFor();
      assert.equal(await login.getByTestId('hot-errors').innerText(), '25%');
      assert.match(await login.getByTestId('hot-rate').innerText(), /\/(s|min)$/);
      // Histogram estimates: near 120 ms, whatever the bucket layout.
      for (const id of ['hot-p50', 'hot-p99']) {
        const text = await login.getByTestId(id).innerText();
        const m = /^([\d.]+)ms$/.exec(text);
        assert.ok(m && Number(m[1]) > 60 && Number(m[1]) < 250, `${id} ${text}`);
      }
      const recent = login.getByTestId('hot-recent').locator('tr');
      await recent.nth(N - 1).waitFor();
      const ids = await recent.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-trace-id')));
      assert.deepEqual(new Set(ids), new Set(sent.map((id) => id.replace(/^0+/, ''))));
      const rows = await recent.allInnerTexts();
      assert.equal(rows.filter((r) => /\berror\b/.test(r)).length, 1, 'the failed login is marked');
      assert.ok(rows.every((r) => /auth/.test(r) && /120ms/.test(r)), rows.join('\n'));

      await page.locator('[data-testid=hot-path][data-name="payment.webhook"]').getByTestId('hot-empty').waitFor();

      // The ingest panels: rates need two reads, so wait for a figure, then send more and see it count.
      const received = page.getByTestId('ingest-received');
      await received.locator('.value').filter({ hasText: /\/s$/ }).waitFor();
      assert.match(await received.innerText(), new RegExp(`${N} since start`));
      logins(Date.now());
      await sdk.flush();
      await received.filter({ hasText: new RegExp(`${2 * N} since start`) }).waitFor();
      assert.match(await page.getByTestId('ingest-stored').innerText(), /since start/);
      assert.notEqual(await page.getByTestId('ingest-wal').locator('.value').innerText(), '0 B');
      assert.match(await page.getByTestId('ingest-sampled').innerText(), /off/, 'no tail sampling in the default pipeline');
      await screenshot(page, 'hot-paths');

      // A recent span opens its trace at that span.
      await login.getByTestId('hot-recent').locator('a').first().click();
      await page.waitForURL(/\/trace\/[0-9a-f]+\?span=[0-9a-f]+/);

      assert.deepEqual(foreignRequests, [], 'the UI asks no host but Skein');
      assert.deepEqual(errors, [], 'no errors in the page');
    } finally {
      await close();
    }
  });
});
