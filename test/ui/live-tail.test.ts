// Live tail on the search page in headless Chromium: turned on for a TraceQL
// query, it lists a matching trace the OpenTelemetry SDK sends afterwards (and
// not one that does not match, nor one sent before), and turning it off closes
// the stream on the server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { eventually } from '../helpers/poll.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { emitCheckout, emitHealth, sdkFor, type Sdk } from './fixtures.js';

let skein: SkeinProcess;
let browser: Browser;
let sdk: Sdk;

/** Waits until the server counts no open tail: it learns of closed streams asynchronously. */
async function waitForFreePlace(what: string, browserSide?: () => string): Promise<void> {
  await eventually(
    async () => {
      const s = (await (await fetch(`${skein.url}/api/skein/ingest-stats`)).json()) as { liveTails: { open: number } };
      return s.liveTails.open === 0 ? { done: true, value: undefined } : { done: false, seen: s.liveTails.open };
    },
    (open) => `${what}: the server still counts ${String(open)} open tail(s)${browserSide ? `; ${browserSide()}` : ''}`,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

/** Counts the page's tail requests the browser opened and ended, for a failure message that says which side kept one. */
function watchTails(page: Page): () => string {
  let opened = 0;
  let ended = 0;
  page.on('request', (r) => void (r.url().includes('/api/skein/tail') && opened++));
  page.on('requestfailed', (r) => void (r.url().includes('/api/skein/tail') && ended++));
  page.on('requestfinished', (r) => void (r.url().includes('/api/skein/tail') && ended++));
  return () => `the browser opened ${opened} tail request(s) and saw ${ended} end`;
}

const searchId = (hex: string): string => hex.replace(/^0+/, '');

before(async () => {
  // One tail at a time: turning the toggle off must free the place for the next.
  skein = await startSkein({ configYaml: 'ui:\n  live_tail:\n    max_clients: 1\n    poll_interval: 250ms\n' });
  sdk = sdkFor(skein.otlpHttpUrl);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sdk?.shutdown();
  await skein?.stop();
});

describe('live tail', () => {
  test('shows a matching trace that arrives after the tail started, and stops when turned off', async () => {
    const before = emitHealth(sdk, Date.now() - 1000);
    await sdk.flush();
    const { page, errors, foreignRequests, close } = await openPage(browser, skein.url);
    const browserSide = watchTails(page);
    try {
      const q = '{ resource.service.name = "inventory" }';
      await page.goto(`/search?mode=traceql&q=${encodeURIComponent(q)}`);
      // The page's own search finds the earlier trace; the tail must not repeat it.
      await page.locator(`[data-testid=results-table] tr[data-trace-id="${searchId(before)}"]`).waitFor();

      await page.getByTestId('live-tail-toggle').click();
      await page.locator('[data-testid=live-tail-state][data-state=live]').waitFor();

      const fresh = emitHealth(sdk, Date.now());
      const other = emitCheckout(sdk, { startMs: Date.now(), orderId: 'ord-live' });
      await sdk.flush();
      const row = page.locator(`[data-testid=live-tail-table] tr[data-trace-id="${searchId(fresh)}"]`);
      await row.waitFor();
      assert.match(await row.innerText(), /inventory: GET \/health/);
      assert.match(await row.innerText(), /2 spans/);
      await screenshot(page, 'live-tail');

      // A few more polls: still only the new inventory trace.
      await new Promise((r) => setTimeout(r, 1000));
      const listed = await page.getByTestId('live-tail-table').locator('tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-trace-id')));
      assert.deepEqual(listed, [searchId(fresh)]);
      assert.ok(!listed.includes(searchId(other.traceId)) && !listed.includes(searchId(before)));

      // The row opens its trace.
      await row.getByRole('link').click();
      await page.waitForURL(new RegExp(`/trace/${searchId(fresh)}`));
      await page.goBack();
      await page.waitForURL(/\/search\?/);

      // Leaving the search page closed the stream: with max_clients 1, another tail is accepted again.
      await waitForFreePlace('the tail of a page left behind still holds its place', browserSide);
      await page.getByTestId('live-tail-toggle').click();
      await page.locator('[data-testid=live-tail-state][data-state=live]').waitFor();
      // And so does turning it off.
      await page.getByTestId('live-tail-toggle').click();
      await page.getByTestId('live-tail-state').waitFor({ state: 'detached' });
      await waitForFreePlace('the tail turned off in the page still holds its place', browserSide);

      assert.deepEqual(foreignRequests, [], 'the UI asks no host but Skein');
      assert.deepEqual(errors, [], 'no errors in the page');
    } finally {
      await close();
    }
  });

  test('a refused tail shows the server\'s reason', async () => {
    // Hold the only place, then ask for another from the page.
    await waitForFreePlace('no tail place came free');
    const ac = new AbortController();
    const held = await fetch(`${skein.url}/api/skein/tail`, { signal: ac.signal });
    assert.equal(held.status, 200);
    const { page, close } = await openPage(browser, skein.url);
    try {
      await page.goto('/search');
      await page.getByTestId('live-tail-toggle').click();
      await page.locator('[data-testid=live-tail-state][data-state=stopped]').waitFor();
      await page.getByTestId('live-tail').getByText(/too many live tails open \(ui\.live_tail\.max_clients=1\)/).waitFor();
    } finally {
      ac.abort();
      await close();
    }
  });
});
